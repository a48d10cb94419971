# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::Redis;

# A redis-server of the test's own (Debian package "redis-server") for the
# fleet tests, next to a LinkCert::Test instance:
#
#   my $t = LinkCert::Test->new;
#   my $redis = LinkCert::Redis->new($t);    # skips the file without it
#   $redis->start;
#   ... linkcert_redis %%REDIS%%; (the placeholder: 127.0.0.1:port)
#   is($redis->cli(GET => 'linkcert:x'), 'y');
#   $t->standard_config(http => $redis->fleet_lines($t, 'edge-a'));
#
# It listens on 127.0.0.1:$t->port('redis') only, keeps its files in
# redis/ of the test's prefix (appendonly, fsync always, no RDB
# snapshots), runs with KEYS renamed away (any KEYS fails: the fleet must
# never scan the keyspace) and logs to logs/redis.log.  It is stopped at
# the end (END).
#
# Options of new(): password => 'secret' (requirepass, and masterauth:
# servers that replicate one another share it), name => 'redis2'
# (a second one: its own port, directory and log), unixsocket => 1 (it
# listens on redis/redis.sock too: socket()), replicaof => $other (a
# replica of that one), sentinel => $master (a redis-sentinel, not a
# server: it monitors $master as "mymaster", or master_name =>, with a
# quorum of 1, down after 1 s: one Sentinel is enough for a failover; it
# uses $master's password, if any, with the servers; its own password =>
# is its requirepass, which cli() then gives).
#
# Environment: LINKCERT_REDIS_SERVER, LINKCERT_REDIS_SENTINEL,
# LINKCERT_REDIS_CLI (the binaries).

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);

use LinkCert::Util qw(read_file capture stop_child die_with_parent);

my @INSTANCES;

sub server_binary { $ENV{LINKCERT_REDIS_SERVER} // 'redis-server' }
sub sentinel_binary { $ENV{LINKCERT_REDIS_SENTINEL} // 'redis-sentinel' }
sub cli_binary    { $ENV{LINKCERT_REDIS_CLI} // 'redis-cli' }

sub _installed {
    my ($bin) = @_;
    return -x $bin if $bin =~ m{/};
    return scalar grep { -x "$_/$bin" } split /:/, $ENV{PATH} // '';
}

sub new {
    my ($class, $t, %opts) = @_;

    Test::More::plan(skip_all => 'redis-server is not installed')
        unless _installed(server_binary()) && _installed(cli_binary());
    Test::More::plan(skip_all => 'redis-sentinel is not installed')
        if $opts{sentinel} && !_installed(sentinel_binary());

    my $name = $opts{name} // 'redis';
    my $dir = $t->prefix . "/$name";
    make_path($dir);

    my $self = bless {
        t        => $t,
        name     => $name,
        dir      => $dir,
        password => $opts{password},
        unixsocket => $opts{unixsocket},
        replicaof => $opts{replicaof},
        sentinel => $opts{sentinel},
        master_name => $opts{master_name} // 'mymaster',
        log      => $t->prefix . "/logs/$name.log",
    }, $class;

    push @INSTANCES, $self;

    $t->placeholder(REDIS => $self->address)
        unless defined $t->placeholder('REDIS');

    return $self;
}

# http-level lines for an edge of a fleet on this Redis: linkcert_redis
# (with $params, e.g. 'timeout=2s lease=1s'), linkcert_redis_key (a key
# file written in $t's prefix, the same key for every edge) and
# linkcert_edge $edge.
sub fleet_lines {
    my ($self, $t, $edge, $params) = @_;
    my $file = $t->prefix . '/fleet.key';
    LinkCert::Util::write_file($file, ('5c' x 32) . "\n", 0600);
    return '    linkcert_redis ' . $self->address
         . (defined $params ? " $params" : '') . ";\n"
         . "    linkcert_redis_key $file;\n"
         . "    linkcert_edge $edge;\n";
}

# Waits (at most $timeout s, default 10) until every worker of $t's nginx
# has logged its connection to Redis since it started; true if they did.
sub wait_connected {
    my ($self, $t, $timeout) = @_;
    my %want = map { $_ => 1 } $t->worker_pids;
    return $t->wait_until(sub {
        my %seen = map { /\] (\d+)#\d+: / ? ($1 => 1) : () }
                   $t->log_lines(qr/linkcert: redis \S+ connected/);
        !grep { !$seen{$_} } keys %want;
    }, $timeout // 10);
}

sub port    { $_[0]{t}->port($_[0]{name}) }
sub address { '127.0.0.1:' . $_[0]->port }
sub dir     { $_[0]{dir} }
sub socket  { "$_[0]{dir}/redis.sock" }
sub pid     { $_[0]{pid} }


###########################################################################
# the process

sub start {
    my ($self) = @_;

    croak 'redis is already running' if $self->{pid};

    my @args = ('--port', $self->port, '--bind', '127.0.0.1',
                '--dir', $self->{dir}, '--logfile', $self->{log},
                '--daemonize', 'no');
    push @args, '--save', '', '--appendonly', 'yes',
                '--appendfsync', 'always', '--rename-command', 'KEYS', ''
        unless $self->{sentinel};
    push @args, '--requirepass', $self->{password}
        if $self->{password};
    push @args, '--masterauth', $self->{password}
        if $self->{password} && !$self->{sentinel};
    push @args, '--unixsocket', $self->socket, '--unixsocketperm', '700'
        if $self->{unixsocket};
    push @args, '--replicaof', '127.0.0.1', $self->{replicaof}->port
        if $self->{replicaof};
    unshift @args, $self->_sentinel_conf if $self->{sentinel};

    $self->{log_offset_at_start} = -s $self->{log} // 0;

    my $parent = $$;
    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        die_with_parent($parent);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log};
        open STDERR, '>&', \*STDOUT;
        exec($self->{sentinel} ? sentinel_binary() : server_binary(), @args)
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;
    $self->{owner} = $$;

    my $deadline = time + 30;    # a failure's only (a busy machine)

    # PONG once it listens and has loaded its append-only file
    until (($self->_cli_quiet('PING'))[1] =~ /^PONG/) {
        if (waitpid($pid, WNOHANG) == $pid) {
            my $status = $?;
            delete $self->{pid};
            croak "redis-server exited at start (wait status $status):\n"
                . $self->log_since_start;
        }
        if (time > $deadline) {
            my $log = $self->log_since_start;
            $self->kill;
            croak "redis-server did not start in 30 s:\n$log";
        }
        sleep 0.05;
    }

    return $self;
}

# A Sentinel's configuration file, which it rewrites (written once: over
# a restart it keeps what it learnt).
sub _sentinel_conf {
    my ($self) = @_;
    my $file = "$self->{dir}/sentinel.conf";
    my $m = $self->{master_name};
    my $password = $self->{sentinel}{password};
    return $file if -e $file;
    LinkCert::Util::write_file($file, <<"EOF"
sentinel monitor $m 127.0.0.1 @{[ $self->{sentinel}->port ]} 1
sentinel down-after-milliseconds $m 1000
sentinel failover-timeout $m 3000
EOF
        . ($password ? "sentinel auth-pass $m $password\n" : ''));
    return $file;
}

sub running {
    my ($self) = @_;
    return 0 unless $self->{pid};
    return waitpid($self->{pid}, WNOHANG) == 0 ? 1 : 0;
}

# SIGTERM: a clean shutdown (the append-only file is complete anyway).
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return $self;
    return $self if ($self->{owner} // 0) != $$;
    CORE::kill 'CONT', $pid;
    stop_child($pid, undef, ['TERM', 5], ['KILL', 5]);
    return $self;
}

# SIGKILL: a crash; what it acknowledged is in its append-only file.
sub kill {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return $self;
    return $self if ($self->{owner} // 0) != $$;
    stop_child($pid, undef, ['KILL', 5]);
    return $self;
}

sub restart { $_[0]->stop->start }

# SIGSTOP / SIGCONT: a server that hangs with its connections open.
sub freeze { CORE::kill 'STOP', $_[0]{pid} if $_[0]{pid}; $_[0] }
sub thaw   { CORE::kill 'CONT', $_[0]{pid} if $_[0]{pid}; $_[0] }

# CLIENT PAUSE ms ALL: every client's commands wait $ms.
sub pause {
    my ($self, $ms) = @_;
    $self->cli('CLIENT', 'PAUSE', $ms, 'ALL');
    return $self;
}

# Every command the server receives from now on, as redis-cli MONITOR
# prints them, into logs/<name>-monitor.log (monitor_log reads it).
sub monitor {
    my ($self) = @_;

    croak 'already monitoring' if $self->{monitor_pid};

    my $file = $self->{t}->prefix . "/logs/$self->{name}-monitor.log";
    my @auth = $self->{password}
               ? ('--no-auth-warning', '-a', $self->{password}) : ();
    my $parent = $$;
    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        die_with_parent($parent);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $file;
        open STDERR, '>&', \*STDOUT;
        exec(cli_binary(), '-h', '127.0.0.1', '-p', $self->port, @auth,
             'MONITOR') or POSIX::_exit(127);
    }

    $self->{monitor_pid} = $pid;
    $self->{monitor_file} = $file;

    my $deadline = time + 5;
    sleep 0.05 until (read_file($file) // '') =~ /^OK/m || time > $deadline;

    return $self;
}

sub monitor_log { read_file($_[0]{monitor_file} // '') // '' }

sub stop_monitor {
    my ($self) = @_;
    my $pid = delete $self->{monitor_pid} or return $self;
    stop_child($pid, undef, ['TERM', 5], ['KILL', 5]);
    return $self;
}

sub DESTROY { $_[0]->stop_monitor; $_[0]->stop if $_[0]{pid} }

END {
    my $failed = $? != 0 || !Test::More->builder->is_passing;
    for my $r (@INSTANCES) {
        next if ($r->{owner} // $$) != $$;
        if ($failed) {
            my @lines = split /\n/, $r->log;
            splice @lines, 0, @lines - 50 if @lines > 50;
            Test::More::diag(join "\n", "--- $r->{name}.log (the end) ---",
                             @lines);
        }
        $r->stop_monitor;
        $r->stop;
    }
}


###########################################################################
# commands

sub _cli_quiet {
    my ($self, @cmd) = @_;
    my @auth = $self->{password}
               ? ('--no-auth-warning', '-a', $self->{password}) : ();
    return capture(cli_binary(), '-h', '127.0.0.1', '-p', $self->port,
                   @auth, @cmd);
}

# One command with redis-cli; its output without the final newline (a
# nil reply is ''; a list, one element a line).  Croaks if redis-cli
# fails (no server); a Redis error is returned as its text ("ERR ...").
sub cli {
    my ($self, @cmd) = @_;
    my ($rc, $out) = $self->_cli_quiet(@cmd);
    croak "redis-cli @cmd: exit $rc: $out" if $rc != 0;
    chomp $out;
    return $out;
}

# The clients connected now: ({ name => ..., cmd => ..., ... }, ...).
# Redis's clock, ms
sub now_ms {
    my ($self) = @_;
    my ($s, $us) = split /\n/, $self->cli('TIME');
    return $s * 1000 + int($us / 1000);
}

sub clients {
    my ($self) = @_;
    return map { +{ map { split /=/, $_, 2 } split / / } }
           split /\n/, $self->cli('CLIENT', 'LIST');
}


# The http{} lines of an edge that verifies and orders: the DNS rule
# (edge.crm.test on the test's challtestsrv) and Pebble.
sub ordering_lines {
    return <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;
    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
}

# Waits (at most 10 s) until worker 0 of every edge has subscribed to the
# fleet's changes; returns whether they all did.
sub wait_subscribed {
    my ($self, @edges) = @_;
    return $edges[0]->wait_until(sub {
        !grep { !$_->log_lines(qr/subscribed to the fleet's changes/) }
              @edges
    }, 10);
}


###########################################################################
# the log

sub log { read_file($_[0]{log}) // '' }

sub log_since_start {
    my ($self) = @_;
    my $log = $self->log;
    my $offset = $self->{log_offset_at_start} // 0;
    return length $log > $offset ? substr($log, $offset) : '';
}

1;
