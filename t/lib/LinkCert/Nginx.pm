# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::Nginx;

# The nginx side of a LinkCert::Test: its config (written with
# %%PLACEHOLDERS%% filled in), the master started as a child (daemon off),
# reloads and stops, nginx -t, the error log, worker crashes, and the
# workers' processes and sockets.  A mixin: LinkCert::Test inherits these
# methods, which use its prefix and ports.
#
# Environment: LINKCERT_NGINX (nginx binary), LINKCERT_MODULE (the .so),
# LINKCERT_ASAN=1 (use build/asan/, the module built by "scripts/build
# --asan", with libasan preloaded into nginx; any AddressSanitizer or UBSan
# report fails the test), LINKCERT_LOG_LEVEL (error_log level of
# standard_config, default debug).

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);

use LinkCert::Util qw(read_file write_file capture port_open stop_child
                      wait_until);

my $TOP = abs_path(dirname(__FILE__) . '/../../..');

sub module_path {
    return $ENV{LINKCERT_MODULE}
           // ($ENV{LINKCERT_ASAN} ? "$TOP/build/asan" : "$TOP/build")
              . '/ngx_http_linkcert_module.so';
}
sub nginx_path  { $ENV{LINKCERT_NGINX} // '/usr/sbin/nginx' }


###########################################################################
# configuration

# Writes conf/nginx.conf: $text with its placeholders filled in.  The
# harness's own: %%PORT_n%% ($t->port(n)), %%PREFIX%%, %%STORE%%,
# %%MODULE%%, %%DNS%% (challtestsrv), %%SILENT%%, %%REFUSED%%; those set
# with $t->placeholder(NAME => value) (LinkCert::Pebble sets
# %%ACME_DIRECTORY%% and %%ACME_CA%%); and %vars, this config's own
# (NAME => value, the value may hold other placeholders).
sub write_config {
    my ($self, $text, %vars) = @_;

    my %own = (%{ $self->{placeholders} // {} }, %vars);
    $text =~ s/%%([A-Z][A-Z0-9_]*)%%/exists $own{$1} ? $own{$1} : "%%$1%%"/ge;

    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%PREFIX%%/$self->{prefix}/g;
    $text =~ s/%%STORE%%/$self->{store}/g;
    $text =~ s/%%MODULE%%/module_path()/ge;
    $text =~ s/%%DNS%%/$self->dns_port/ge;
    $text =~ s/%%SILENT%%/$self->silent_udp/ge;
    $text =~ s/%%REFUSED%%/$self->refusing_udp/ge;

    croak "unknown placeholder in config: $1" if $text =~ /(%%\w+%%)/;

    write_file("$self->{prefix}/conf/nginx.conf", $text);
    $self->{config} = $text;

    return $text;
}

# A working configuration.  Each linkcert directive's argument can be
# changed, or the directive left out by passing undef:
#   zone => 'linkcert:4m', store => '%%STORE%%', linkcert => 'on',
#   api_key => '%%PREFIX%%/api.key', cache_size => undef (left out)
# and: workers => 2, user => 'root' (of the workers), log_level => 'debug',
# main => extra main-context lines, http => extra http-level lines,
# server => extra lines in the main server, servers => extra server blocks.
sub standard_config {
    my ($self, %opts) = @_;

    my %d = (
        zone       => 'linkcert:4m',
        store      => '%%STORE%%',
        api_key    => '%%PREFIX%%/api.key',
        linkcert   => 'on',
        cache_size => undef,
        %opts,
    );

    my $workers = $opts{workers} // 2;
    my $user = $opts{user} // 'root';
    my $main = $opts{main} // '';
    my $level = $opts{log_level} // $ENV{LINKCERT_LOG_LEVEL} // 'debug';
    my $http = $opts{http} // '';
    my $server = $opts{server} // '';
    my $servers = $opts{servers} // '';

    my $directive = sub {
        my ($name, $key) = @_;
        return defined $d{$key} ? "$name $d{$key};" : '';
    };

    my $zone = $directive->('linkcert_zone', 'zone');
    my $store = $directive->('linkcert_store', 'store');
    my $api_key = $directive->('linkcert_api_key', 'api_key');
    my $cache = $directive->('linkcert_cache_size', 'cache_size');
    my $linkcert = $directive->('linkcert', 'linkcert');

    return <<"EOF";
load_module %%MODULE%%;

daemon off;
master_process on;
worker_processes $workers;
user $user;
$main

error_log logs/error.log $level;
pid logs/nginx.pid;

events {
    worker_connections 1024;
}

http {
    access_log off;

    client_body_temp_path %%PREFIX%%/tmp/body;
    proxy_temp_path %%PREFIX%%/tmp/proxy;
    fastcgi_temp_path %%PREFIX%%/tmp/fastcgi;
    uwsgi_temp_path %%PREFIX%%/tmp/uwsgi;
    scgi_temp_path %%PREFIX%%/tmp/scgi;

    $zone
    $store
    $api_key
    $cache
$http

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        listen 127.0.0.1:%%PORT_1%%;
        server_name _;

        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate fallback.crt;
        ssl_certificate_key fallback.key;

        $linkcert
$server

        location / {
            return 200 "tracker\\n";
        }
    }
$servers
}
EOF
}

# Placeholders for write_config: $t->placeholder(NAME => value, ...) sets
# them; $t->placeholder('NAME') is the value of one (undef: not set).
sub placeholder {
    my ($self, @args) = @_;
    return $self->{placeholders}{ $args[0] } if @args == 1;
    my %vars = @args;
    $self->{placeholders}{$_} = $vars{$_} for keys %vars;
    return $self;
}


###########################################################################
# the nginx process

sub run {
    my ($self) = @_;

    croak 'nginx is already running' if $self->{pid};
    croak 'write_config first' unless defined $self->{config};

    $self->{log_offset_at_run} = -s $self->error_log_path // 0;
    # a new master, a new zone: no POST limit to wait for (LinkCert::API)
    delete $self->{posted};

    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        open STDOUT, '>>', "$self->{prefix}/logs/stderr.log";
        open STDERR, '>&', \*STDOUT;
        $self->_asan_env;
        exec(nginx_path(), '-p', "$self->{prefix}/", '-c', 'conf/nginx.conf')
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;

    my @ports = $self->{config} =~ /listen\s+127\.0\.0\.1:(\d+)/g;
    my $workers = $self->_workers_wanted;
    # a deadline for a failure only: a busy machine (prove -j) and a large
    # store (t/08: 2,100 domains) take more than the usual second
    my $deadline = time + 30;

    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            my $status = $?;
            delete $self->{pid};
            croak "nginx exited at start (wait status $status)\n"
                . $self->log_excerpt;
        }

        last if !grep { !port_open($_) } @ports
                and $self->_worker_count >= $workers;

        if (time > $deadline) {
            my $log = $self->log_excerpt;
            $self->stop;
            croak "nginx did not start in 30 s\n$log";
        }

        sleep 0.05;
    }

    $self->_wait_store_check($self->{log_offset_at_run});

    return $self;
}

# After a start or a reload, worker 0 checks the store in the background
# (a pair changed by hand is seen then): wait for it to end, as the
# master's load of the store was waited for before (a few ms for a test's
# store; at most 10 s).
sub _wait_store_check {
    my ($self, $offset) = @_;
    return unless $self->{config} =~ /^\s*linkcert\s+on\s*;/m;
    $self->wait_log_since($offset,
        qr/linkcert_store "[^"]*": (?:checked|the check of the store stopped)/,
        10);
}

sub master_pid { $_[0]{pid} }

sub running {
    my ($self) = @_;
    return 0 unless $self->{pid};
    return waitpid($self->{pid}, WNOHANG) == 0 ? 1 : 0;
}

# SIGHUP, then wait until the old workers are gone and new ones run.
sub reload {
    my ($self) = @_;

    croak 'nginx is not running' unless $self->{pid};

    my $offset = -s $self->error_log_path // 0;
    my %old = map { $_ => 1 } $self->_children;
    my $workers = $self->_workers_wanted;

    kill 'HUP', $self->{pid} or croak "kill HUP: $!";

    my $deadline = time + 30;

    while (1) {
        my $new = $self->_log_since($offset);

        croak "reload failed:\n$new" if $new =~ /\[(?:emerg|alert)\]/;
        croak "nginx exited during reload\n" . $self->log_excerpt
            unless $self->running;

        my @now = $self->_children;
        my @fresh = grep { !$old{$_} } @now;

        last if @fresh >= $workers && @fresh == @now;

        croak "reload did not finish in 30 s\n" . $self->log_excerpt
            if time > $deadline;

        sleep 0.05;
    }

    $self->_wait_store_check($offset);

    return $self;
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return;

    stop_child($pid, 'nginx', ['QUIT', 10], ['TERM', 5], ['KILL', 5]);

    return $self;
}

# nginx -t on the written config: (exit code, combined output).
sub test_config {
    my ($self) = @_;
    local %ENV = %ENV;
    $self->_asan_env;
    return capture(nginx_path(), '-t', '-p', "$self->{prefix}/",
                   '-c', 'conf/nginx.conf');
}

# With LINKCERT_ASAN, the reports AddressSanitizer wrote, and UBSan's
# "runtime error" lines (it writes them to stderr, which nginx sends to
# the error log), printed.
sub _asan_reports {
    my ($self) = @_;

    return 0 unless $ENV{LINKCERT_ASAN};

    my @reports = glob("$self->{prefix}/logs/asan.*");
    Test::More::diag("AddressSanitizer:\n" . read_file($_)) for @reports;

    my @ub = grep { /: runtime error: |ERROR: AddressSanitizer/ }
             split /\n/, $self->error_log . "\n" . $self->stderr_log;
    Test::More::diag("UBSan:\n" . join("\n", @ub)) if @ub;

    return @reports + @ub;
}

sub _asan_env {
    my ($self) = @_;

    return unless $ENV{LINKCERT_ASAN};

    chomp(my $lib = `gcc -print-file-name=libasan.so`);
    $ENV{LD_PRELOAD} = $lib;
    $ENV{ASAN_OPTIONS} = 'verify_asan_link_order=0:detect_leaks=0'
                         . ":log_path=$self->{prefix}/logs/asan";
    $ENV{UBSAN_OPTIONS} = 'print_stacktrace=1';
}


###########################################################################
# logs

sub error_log {
    my ($self) = @_;
    return read_file($self->error_log_path) // '';
}

# What nginx wrote to stderr (at start, before the error log is open).
sub stderr_log {
    my ($self) = @_;
    return read_file("$self->{prefix}/logs/stderr.log") // '';
}

# The error log without debug lines (at most the last 300 lines), and
# whatever nginx wrote to stderr.
sub log_excerpt {
    my ($self) = @_;

    # an entry may span lines (debug dumps of headers): keep them together
    my @entries;
    for my $line (split /\n/, $self->error_log) {
        if (@entries && $line !~ m{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d }) {
            $entries[-1] .= "\n$line";
        } else {
            push @entries, $line;
        }
    }

    my @lines = grep { !/^\S+ \S+ \[debug\]/ } @entries;
    splice @lines, 0, @lines - 300 if @lines > 300;

    return join "\n", "--- error.log (without debug lines) ---", @lines,
        "--- stderr ---", $self->stderr_log;
}

sub _log_since {
    my ($self, $offset) = @_;
    my $log = $self->error_log;
    return length $log > $offset ? substr($log, $offset) : '';
}

# The lines of the error log (any level) that match $re.
sub log_lines {
    my ($self, $re) = @_;
    return grep { /$re/ } split /\n/, $self->error_log;
}

# What the error log gained after byte $offset (e.g. a length taken
# earlier); with $re, the lines of it that match.
sub log_since {
    my ($self, $offset, $re) = @_;
    my $text = $self->_log_since($offset);
    return $text unless defined $re;
    return grep { /$re/ } split /\n/, $text;
}

# Waits (up to $timeout s, default 10) for a line after byte $offset of
# the error log that matches $re; returns it, or undef.
sub wait_log_since {
    my ($self, $offset, $re, $timeout) = @_;
    my $line;
    wait_until(sub { ($line) = $self->log_since($offset, $re); defined $line },
               $timeout // 10);
    return $line;
}


###########################################################################
# worker crashes

# The error log's "worker process N exited on signal S" lines since run(),
# read incrementally (cheap to call often).  A crashing worker at debug
# level writes megabytes a second: wait_status (LinkCert::API) stops at
# the first one.
sub crash_lines {
    my ($self) = @_;

    my $path = $self->error_log_path;
    my $size = -s $path // 0;
    my $from = $self->{crash_scan_offset} //= $self->{log_offset_at_run} // 0;
    $from = 0 if $from > $size;

    if ($size > $from and open my $fh, '<:raw', $path) {
        seek $fh, $from, 0;
        my $tail = $self->{crash_scan_tail} // '';
        while (read $fh, my $buf, 1 << 20) {
            my $text = $tail . $buf;
            my $cut = rindex $text, "\n";
            $tail = $cut < 0 ? $text : substr $text, $cut + 1;
            next if $cut < 0;
            my $lines = substr $text, 0, $cut;
            push @{ $self->{crash_lines} }, $1
                while $lines =~ /^(.*exited on signal.*)$/mg;
        }
        $self->{crash_scan_tail} = length $tail > 4096 ? '' : $tail;
        $self->{crash_scan_offset} = tell $fh;
        close $fh;
    }

    return @{ $self->{crash_lines} // [] };
}

# Workers that crash are restarted by the master at once, and at debug
# level each one logs a lot: stop nginx (the test has failed anyway), so
# that the rest of the file fails fast and the log stays readable.
sub _stop_crashing {
    my ($self) = @_;
    return unless $self->{pid};
    Test::More::diag('stopping nginx: its workers crash');
    $self->stop;
}

# A test: no worker crashed since run().
# A worker the test killed itself (SIGKILL) is not a crash: waits (at most
# 5 s) for the master's "exited on signal 9" line of $pid and drops it
# from crash_lines.  Returns whether it was seen.
sub killed_ok {
    my ($self, $pid) = @_;
    my $deadline = time + 5;
    until (grep { /process $pid exited on signal 9\b/ } $self->crash_lines) {
        return 0 if time > $deadline;
        sleep 0.05;
    }
    $self->{crash_lines} = [ grep { !/process $pid exited on signal 9\b/ }
                             @{ $self->{crash_lines} } ];
    return 1;
}

sub no_crash_ok {
    my ($self, $name) = @_;
    my @lines = $self->crash_lines;
    my $ok = Test::More::ok(!@lines, $name // 'no worker crashed');
    if (@lines) {
        Test::More::diag(scalar(@lines) . " crashes, the first: $lines[0]");
        $self->_stop_crashing;
    }
    return $ok;
}


###########################################################################
# the workers: processes, descriptors, sockets

# The worker processes' pids (sorted).
sub worker_pids {
    my ($self) = @_;
    return sort { $a <=> $b } $self->_children;
}

# Number of open file descriptors of a process (entries of /proc/PID/fd);
# undef if it cannot be read.
sub fd_count {
    my ($self, $pid) = @_;
    opendir my $dh, "/proc/$pid/fd" or return undef;
    my $n = grep { !/^\.\.?$/ } readdir $dh;
    closedir $dh;
    return $n;
}

# The targets of the open file descriptors of a process (readlink of
# /proc/PID/fd/*): { fd => "socket:[123]" ... }.
sub fd_targets {
    my ($self, $pid) = @_;
    opendir my $dh, "/proc/$pid/fd" or return {};
    my %fds = map { $_ => readlink("/proc/$pid/fd/$_") // '?' }
              grep { /^\d+$/ } readdir $dh;
    closedir $dh;
    return \%fds;
}

# Live (not zombie) child processes of the master: the workers.
sub _children {
    my ($self) = @_;
    my $master = $self->{pid} or return ();
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my $line = read_file($stat) // next;
        my ($pid, $state, $ppid) = $line =~ /^(\d+) \(.*\) (\S) (\d+)/s
            or next;
        push @pids, $pid if $ppid == $master && $state ne 'Z';
    }
    return @pids;
}

sub _worker_count {
    my ($self) = @_;
    my @pids = $self->_children;
    return scalar @pids;
}

sub _workers_wanted {
    my ($self) = @_;
    return 0 if $self->{config} =~ /^\s*master_process\s+off/m;
    my ($n) = $self->{config} =~ /^\s*worker_processes\s+(\d+)/m;
    return $n // 1;
}

# The socket of a worker for a connection we made to nginx's port
# $self->port($index) (default 0) from 127.0.0.1:$client_port:
# { pid, fd, inode, state } from /proc/net/tcp and /proc/PID/fd, or undef.
sub server_socket_of {
    my ($self, $client_port, $index) = @_;

    my $server_port = $self->port($index // 0);

    my %states = ('01' => 'ESTABLISHED', '06' => 'TIME_WAIT',
                  '07' => 'CLOSE', '08' => 'CLOSE_WAIT', '09' => 'LAST_ACK');
    my %by_inode;

    open my $fh, '<', '/proc/net/tcp' or return undef;
    <$fh>;
    while (my $line = <$fh>) {
        my @f = split ' ', $line;
        my ($lport) = $f[1] =~ /:([0-9A-F]{4})$/ or next;
        my ($rport) = $f[2] =~ /:([0-9A-F]{4})$/ or next;
        next unless hex($rport) == $client_port
                    && hex($lport) == $server_port && $f[9];
        $by_inode{ $f[9] } = $states{ $f[3] } // $f[3];
    }
    close $fh;

    for my $pid ($self->worker_pids) {
        my $fds = $self->fd_targets($pid);
        for my $fd (keys %$fds) {
            my ($inode) = $fds->{$fd} =~ /^socket:\[(\d+)\]$/ or next;
            next unless exists $by_inode{$inode};
            return { pid => $pid, fd => $fd, inode => $inode,
                     state => $by_inode{$inode} };
        }
    }

    return undef;
}

# Whether the worker still has that socket open (the fd of
# server_socket_of still names the same inode).
sub socket_still_open {
    my ($self, $sock) = @_;
    my $target = readlink "/proc/$sock->{pid}/fd/$sock->{fd}";
    return defined $target && $target eq "socket:[$sock->{inode}]" ? 1 : 0;
}

1;
