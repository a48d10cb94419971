#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Sentinel (linkcert_redis ... sentinel=mymaster): a master, two replicas
# (with a password) and one redis-sentinel (quorum 1, down after 1 s) on
# loopback, and two edges whose linkcert_redis names a Sentinel that is
# not there first, then the real one.  The edges pass over the missing
# Sentinel, connect to the master the real one names (AUTH, then ROLE),
# and a certificate issued on A is served on B.  SENTINEL FAILOVER (the
# old master still up): within seconds of the switch every worker of
# both edges is connected to the new master and subscribed there, a POST
# on A works again and its certificate reaches B.  SIGKILL of that
# master: the Sentinel promotes the other replica, and the edges follow
# again.  A name the Sentinel does not know: no connection, POST 503.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use LinkCert::Redis;
use LinkCert::Util qw(write_file);
use Time::HiRes qw(time sleep);

my $a = LinkCert::Test->new;                # orders
my $b = LinkCert::Test->new;                # serves
my $master = LinkCert::Redis->new($a, password => 'fleet-pass');
my @replicas = map { LinkCert::Redis->new($a, name => "replica$_",
                                          password => 'fleet-pass',
                                          replicaof => $master) } 1, 2;
my $sentinel = LinkCert::Redis->new($a, name => 'sentinel',
                                    sentinel => $master);
my $pebble = LinkCert::Pebble->new($a);
my %servers = map { $_->port => $_ } $master, @replicas;

my @D = qw(links.customer.test go.other-customer.test t.third-customer.test);

$a->challtestsrv;
$a->set_cname($_, 'edge.crm.test') for @D;
$a->add_a('edge.crm.test', ['127.0.0.1']);

$_->start for $master, @replicas;

# a replica is in step with its master
sub replica_of {
    my ($replica, $of) = @_;
    my $info = $replica->cli(INFO => 'replication');
    return $info =~ /^master_port:(\d+)\r?$/m && $1 == $of->port
           && $info =~ /^master_link_status:up\r?$/m;
}

ok($a->wait_until(sub { !grep { !replica_of($_, $master) } @replicas }, 10),
   'both replicas are in step with the master');

$sentinel->start;

# the master the Sentinel names now
sub named {
    my ($ip, $port) = split /\n/,
        $sentinel->cli(SENTINEL => 'get-master-addr-by-name', 'mymaster');
    return $servers{ $port // 0 };
}

is(named(), $master, 'the Sentinel names the master');

my $dead = '127.0.0.1:' . $a->port('no_sentinel');
my $pass = $a->prefix . '/redis.pass';
write_file($pass, "fleet-pass\n", 0600);

sub lines {
    my ($t, $edge) = @_;
    my $lines = $sentinel->fleet_lines($t, $edge, 'sentinel=mymaster '
                                       . "password=$pass timeout=500ms");
    $lines =~ s/linkcert_redis /linkcert_redis $dead /;
    return $lines;
}

$a->write_config($a->standard_config(log_level => 'info',
    http => $sentinel->ordering_lines . lines($a, 'edge-a')));
$b->write_config($b->standard_config(log_level => 'info', workers => 2,
    http => lines($b, 'edge-b')));

# every worker of the edge logged its connection to $server after $offset
sub connected_to {
    my ($t, $server, $offset) = @_;
    my $addr = quotemeta $server->address;
    my %seen = map { /\] (\d+)#\d+: / ? ($1 => 1) : () }
               $t->log_since($offset, qr/linkcert: redis $addr connected/);
    return !grep { !$seen{$_} } $t->worker_pids;
}

# ... and worker 0 subscribed there (for the edges of %offset), and Redis
# lists our clients, no more
sub followed {
    my ($server, %offset) = @_;
    my $addr = quotemeta $server->address;
    for my $t (grep { defined $offset{$_} } $a, $b) {
        return 0 unless connected_to($t, $server, $offset{$t})
            && $t->log_since($offset{$t},
                   qr/redis $addr: subscribed to the fleet's changes/);
    }
    # a client a worker, and worker 0's subscription
    my @names = map { $_->{name} // '' } $server->clients;
    for my $edge ([ $a, 'edge-a' ], [ $b, 'edge-b' ]) {
        my ($t, $name) = @$edge;
        my @workers = $t->worker_pids;
        return 0 unless @workers + 1
                        == grep { /^linkcert-$name-\d+(?:-sub)?$/ } @names;
    }
    return 1;
}

sub issue_and_share {
    my ($d) = @_;
    is($a->verify($d)->{status}, 202, "POST $d on edge A: 202");
    my ($j, $ok) = $pebble->wait_issued($d, 30);
    ok($ok, "$d issued on A") or diag(explain $j);
    my ($hs) = $pebble->wait_serial($b, $d,
                                    uc($j->{certificate}{serial} // ''), 5);
    ok($hs->{ok} && $hs->{serial} eq uc($j->{certificate}{serial} // ''),
       "B serves $d, issued on A") or diag(explain $hs);
}

$pebble->start;
$a->run;
$b->run;

subtest 'the edges find the master through the Sentinel' => sub {
    ok($a->wait_until(sub { followed($master, $a => 0, $b => 0) }, 10),
       'every worker connected to the master, worker 0 subscribed')
        or diag(join "\n", $b->log_lines(qr/redis/));
    my $m = quotemeta $master->address;
    ok(scalar $b->log_lines(qr/\[notice\].*redis sentinel "mymaster": the master is $m \(named by Sentinel \S+, ROLE master\)/),
       'the log names the master and the Sentinel');
    my $d = quotemeta $dead;
    ok(scalar $b->log_lines(qr/\[warn\].*redis sentinel "mymaster": Sentinel $d: connection refused/),
       'the missing Sentinel was passed over');
    issue_and_share($D[0]);
};

# the Sentinel names another master; the edges follow within seconds
sub follow_ok {
    my ($what, %offset) = @_;
    my $start = time;
    my $new;
    ok($a->wait_until(sub { $new = named(); $new && $new != $master }, 20),
       "$what: the Sentinel names another master");
    my $switched = time;
    ok($a->wait_until(sub { followed($new, %offset) }, 10),
       "$what: every worker of both edges is on it, worker 0 subscribed")
        or diag(join "\n", $b->log_since($offset{$b}, qr/redis/));
    my $took = time - $switched;
    cmp_ok($took, '<', 5, sprintf('%s: within 5 s of the switch (%.2f s)',
                                  $what, $took));
    diag(sprintf('%s: the Sentinel switched %.1f s after it began, the '
                 . 'edges were on the new master %.2f s later', $what,
                 $switched - $start, $took));
    for my $t ($a, $b) {
        my $m = $t->wait_metrics(sub {
            grep { /^linkcert_redis_connected/ && $_[0]{$_} } keys %{$_[0]}
        }, 5);
        ok((grep { /^linkcert_redis_connected/ && $m->{$_} } keys %$m),
           "$what: linkcert_redis_connected 1");
    }
    return $new;
}

subtest 'SENTINEL FAILOVER, the old master still up' => sub {
    my %offset = map { $_ => length $_->error_log } $a, $b;
    like($sentinel->cli(SENTINEL => 'failover', 'mymaster'), qr/^OK/,
         'SENTINEL FAILOVER');
    my $new = follow_ok('failover', %offset);
    ok(scalar $b->log_since($offset{$b},
           qr/Sentinel \S+ says \+promoted-slave 127\.0\.0\.1:\d+/),
       'told by the Sentinel (+promoted-slave)');
    ok(scalar $b->log_since($offset{$b},
           qr/redis 127\.0\.0\.1:\d+: the master moved, connecting again/),
       'the connection to the old master was closed');
    $master = $new;
    issue_and_share($D[1]);
    like($master->cli(HGET => "linkcert:cert:$D[1]", 'edge'), qr/^edge-a$/,
         'the change is on the new master');
};

subtest 'SIGKILL of the master' => sub {
    # a Sentinel does not fail over a master it is still failing over to
    # (its replicas being reconfigured): it would never name another one
    ok($a->wait_until(sub {
           $sentinel->cli(SENTINEL => 'master', 'mymaster')
               !~ /failover_in_progress/ }, 20),
       'the Sentinel has ended the failover');
    my @others = grep { $_ != $master } values %servers;
    ok($a->wait_until(sub { grep { replica_of($_, $master) } @others }, 20),
       'a replica is in step with the master');
    my %offset = map { $_ => length $_->error_log } $a, $b;
    $master->kill;
    delete $servers{ $master->port };
    $master = follow_ok('SIGKILL', %offset);
    issue_and_share($D[2]);
};

subtest 'a reload: the new workers find the master, the old ones leave' => sub {
    my $offset = length $b->error_log;
    $b->reload;
    ok($b->wait_until(sub {
           connected_to($b, $master, $offset) && followed($master) }, 10),
       'every new worker on the master, one client each, none left over');
    ok(!$b->log_since($offset, qr/\[alert\]/), 'no alert (no socket left)');
};

subtest 'a name the Sentinel does not know' => sub {
    my $c = LinkCert::Test->new;
    my $lines = lines($c, 'edge-c');
    $lines =~ s/sentinel=mymaster/sentinel=nosuch/;
    $c->write_config($c->standard_config(log_level => 'info', workers => 1,
        http => "    linkcert_target_address 127.0.0.1;\n$lines"));
    $c->run;
    ok($c->wait_until(sub { scalar $c->log_lines(
           qr/redis sentinel "nosuch": Sentinel \S+: it has no master of that name, asking again/) }, 5),
       'the Sentinel\'s answer is logged');
    my $p = $c->verify($D[0]);
    is($p->{status}, 503, 'POST: 503');
    is($p->{json}{error}, 'engine_unreachable', '... engine_unreachable');
    ok(!(grep { ($_->{name} // '') =~ /^linkcert-edge-c-/ }
         $master->clients), 'no connection to the master');
    $c->no_crash_ok;
    $c->stop;
};

$_->no_crash_ok for $a, $b;

done_testing;
