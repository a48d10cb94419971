#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A Sentinel failover that loses the last writes loses nothing the edges
# hold.  A master, one replica that replicates through a small TCP proxy
# of the test's (which the test stalls), one redis-sentinel (quorum 1,
# down after 1 s); edge A orders, edge B serves.  With the proxy stalled,
# A issues $D1 (the master has it, B applies it, the replica never gets
# it) and DELETEs $D0 (B applies that too): B has applied two changes
# the replica lacks.  B is stopped (SIGSTOP), the master SIGKILLed; the
# Sentinel promotes the replica.  A follows the failover and uploads $D1,
# the one certificate the new master lacks, within seconds.  A then
# issues $D2: its change is numbered past every number the old master
# gave (the sequence jumps on a new server), so B, let go again, applies
# it (with the same numbers B would take it for one of the changes it had
# applied, and never serve it), without reading every change again.  A
# new edge C serves $D1 and $D2 as A issued them; a reissue of $D1 on A
# is one order, served on B and C, under a lease whose fencing token is
# past the one A's first lease got from the old master (lost with it:
# the same token again would let the lost lease's late write through).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use LinkCert::Redis;
use LinkCert::Util qw(read_file);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my $STATUS = '/.well-known/ssl-status';
my ($D0, $D1, $D2) = qw(gone.customer.test lost.customer.test
                        after.customer.test);

my $a = LinkCert::Test->new;                # orders
my $b = LinkCert::Test->new;                # serves, stopped at the failover
my $c = LinkCert::Test->new;                # new after the failover
my $master = LinkCert::Redis->new($a);
my $proxy = ReplProxy->new($a, $master);
my $replica = LinkCert::Redis->new($a, name => 'replica',
                                   replicaof => $proxy);
my $sentinel = LinkCert::Redis->new($a, name => 'sentinel',
                                    sentinel => $master);
my $pebble = LinkCert::Pebble->new($a);

$a->challtestsrv;
$a->set_cname($_, 'edge.crm.test') for $D0, $D1, $D2;
$a->add_a('edge.crm.test', ['127.0.0.1']);

$master->start;
$proxy->start;
$replica->start;

ok($a->wait_until(sub {
       my $info = $replica->cli(INFO => 'replication');
       $info =~ /^master_link_status:up\r?$/m }, 10),
   'the replica is in step with the master, through the proxy');

$sentinel->start;

ok($a->wait_until(sub {
       $sentinel->cli(SENTINEL => 'replicas', 'mymaster')
           =~ /^\Q@{[ $replica->port ]}\E$/m }, 15),
   'the Sentinel knows the replica');

sub named {
    my (undef, $port) = split /\n/,
        $sentinel->cli(SENTINEL => 'get-master-addr-by-name', 'mymaster');
    return $port // 0;
}

sub lines {
    my ($t, $edge) = @_;
    return $sentinel->fleet_lines($t, $edge,
                                  'sentinel=mymaster timeout=500ms');
}

$a->write_config($a->standard_config(log_level => 'info',
    http => $sentinel->ordering_lines . lines($a, 'edge-a')));
$b->write_config($b->standard_config(log_level => 'info', workers => 2,
    http => lines($b, 'edge-b')));
$c->write_config($c->standard_config(log_level => 'info',
    http => lines($c, 'edge-c')));

$pebble->start;
$a->run;
$b->run;

ok($master->wait_connected($a) && $master->wait_connected($b)
   && $master->wait_subscribed($a, $b), 'both edges are on the master');

sub issue {
    my ($d, %opts) = @_;
    is($a->verify($d, %opts)->{status}, 202, "POST $d on A: 202");
    my ($j, $ok) = $pebble->wait_issued($d, 30);
    ok($ok, "$d issued on A") or diag(explain $j);
    return uc($j->{certificate}{serial} // '');
}

sub serves {
    my ($t, $name, $d, $serial, $timeout) = @_;
    my ($hs, $at) = $pebble->wait_serial($t, $d, $serial, $timeout // 5);
    ok($hs->{ok} && $hs->{serial} eq $serial,
       "$name serves $d as A issued it") or diag(explain $hs);
    return $at;
}

my $serial0 = issue($D0);
serves($b, 'B', $D0, $serial0);
ok($a->wait_until(sub { $replica->cli(HEXISTS => "linkcert:cert:$D0",
                                      'leaf') eq '1' }, 5),
   "the replica has $D0");

# the replica falls behind: what follows reaches the master only

my ($serial1, $seq, $fence1);

subtest 'the replica misses the last writes' => sub {
    $proxy->stall;
    $serial1 = issue($D1);
    serves($b, 'B', $D1, $serial1);
    is($a->http(DELETE => "$STATUS?domain=$D0", key => 1)->{status}, 200,
       "DELETE $D0 on A: 200");
    ok($b->wait_until(sub { ($b->status_of($D0)->{json}{status} // '')
                            ne 'issued' }, 5),
       "B removed $D0");
    $seq = $master->cli(GET => 'linkcert:seq');
    $fence1 = $master->cli(GET => "linkcert:fence:$D1");
    is($replica->cli(EXISTS => "linkcert:fence:$D1"), '0',
       "the replica lacks the fencing token of A's lease of $D1 ($fence1)");
    ok($b->wait_until(sub {
           (read_file($b->store . '/redis.seq') // '') eq "$seq\n" }, 5),
       "B applied every change of the master ($seq)");
    is($replica->cli(HEXISTS => "linkcert:cert:$D1", 'leaf'), '0',
       "the replica lacks $D1");
    is($replica->cli(HGET => "linkcert:cert:$D0", 'removed'), '',
       "... and the removal of $D0");
    cmp_ok($replica->cli(GET => 'linkcert:seq'), '<', $seq,
           '... its sequence is behind the master\'s');
};

# B sleeps through the failover: it wakes up having applied changes
# that the new master never had

my @b_pids = ($b->master_pid, $b->worker_pids);
kill 'STOP', @b_pids;

my %offset = map { $_ => length $_->error_log } $a, $b;
my $killed = time;
$master->kill;
$proxy->stop;

my $switched;

subtest 'the failover: A uploads what the new master lacks' => sub {
    ok($a->wait_until(sub { named() == $replica->port }, 20),
       'the Sentinel promoted the replica');
    $switched = time;
    ok($a->wait_until(sub { $replica->cli(HGET => "linkcert:cert:$D1",
                                          'serial') ne '' }, 10),
       "the record of $D1 is back in Redis");
    my $took = time - $switched;
    cmp_ok($took, '<', 5, sprintf('within 5 s of the switch (%.2f s)',
                                  $took));
    diag(sprintf('the Sentinel switched %.1f s after the SIGKILL; the '
                 . 'record was back %.2f s later', $switched - $killed,
                 $took));
    # the record's serial: lowercase, without leading zeros
    is(uc $replica->cli(HGET => "linkcert:cert:$D1", 'serial'),
       $serial1 =~ s/^0+(?=.)//r, '... A\'s certificate (its serial)');
    is($replica->cli(HGET => "linkcert:cert:$D1", 'edge'), 'edge-a',
       '... uploaded by A');
    ok($a->wait_until(sub { scalar $a->log_since($offset{$a},
           qr/the fleet has what this edge holds \(a failover\): 1 domains looked at, 1 certificates uploaded/) }, 5),
       'A\'s log: the failover\'s pass, one certificate uploaded')
        or diag(join "\n", $a->log_since($offset{$a}, qr/redis|fleet/));
    is($replica->cli(GET => "linkcert:status:$D1") =~ /"issued"/ ? 1 : 0, 1,
       '... with its status');
};

my $serial2;

subtest 'the sequence jumps: B, stopped through it, applies what follows'
    => sub {
    $serial2 = issue($D2);
    my $score = $replica->cli(ZSCORE => 'linkcert:changes', $D2);
    cmp_ok($score, '>', $seq,
           "the change of $D2 is numbered past every number the old master "
           . "gave ($score > $seq)");
    like($replica->cli(GET => 'linkcert:seq:server'), qr/^[0-9a-f]{40}$/,
         'the server that numbers the changes is kept');

    kill 'CONT', @b_pids;
    serves($b, 'B', $D2, $serial2, 10);
    serves($b, 'B', $D1, $serial1);
    ok(!$b->log_since($offset{$b}, qr/read again from the first/),
       'B did not read every change again');
};

subtest 'a new edge gets everything A holds' => sub {
    $c->run;
    ok($replica->wait_connected($c), 'C is on the new master');
    serves($c, 'C', $D1, $serial1, 10);
    serves($c, 'C', $D2, $serial2);
};

subtest 'a reissue after the failover: one order, served everywhere' => sub {
    my $orders = $pebble->order_count;
    $a->wait_post_limit($D1);
    my $serial = issue($D1, query => 'reissue=1');
    isnt($serial, $serial1, 'a new certificate');
    my $fence = $replica->cli(GET => "linkcert:fence:$D1");
    cmp_ok($fence, '>', $fence1, "its lease's fencing token ($fence) is "
           . 'past the one the old master gave and lost');
    serves($b, 'B', $D1, $serial);
    serves($c, 'C', $D1, $serial);
    is($pebble->order_count - $orders, 1, 'one order');
};

$_->no_crash_ok for $a, $b, $c;

done_testing;


# The replica's link to the master, through the test: stall() stops it
# (nothing more is forwarded either way, the connections stay open).

package ReplProxy;

sub new {
    my ($class, $t, $to) = @_;
    return bless { t => $t, to => $to }, $class;
}

sub port { $_[0]{t}->port('replproxy') }

sub start {
    my ($self) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => $self->port,
                                       Listen => 5, ReuseAddr => 1)
        or die "proxy: listen: $!";
    my $flag = $self->{flag} = $self->{t}->prefix . '/proxy.stalled';
    my $to = $self->{to}->port;
    my $parent = $$;
    my $pid = fork // die "fork: $!";

    if ($pid) {
        close $listen;
        $self->{pid} = $pid;
        return $self;
    }

    LinkCert::Util::die_with_parent($parent);

    my $stalled = 0;
    local $SIG{USR1} = sub { $stalled = 1 };
    my $sel = IO::Select->new($listen);
    my %peer;

    while (1) {
        my @ready = $sel->can_read(0.05);
        if ($stalled) {
            open my $fh, '>', $flag;
            close $fh;
            sleep 1 while 1;
        }
        for my $s (@ready) {
            if ($s == $listen) {
                my $in = $listen->accept or next;
                my $out = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                                PeerPort => $to)
                    or do { close $in; next };
                @peer{$in, $out} = ($out, $in);
                $sel->add($in, $out);
                next;
            }
            my $n = sysread $s, my $buf, 65536;
            my $other = $peer{$s};
            if (!$n) {
                $sel->remove($s, $other);
                delete @peer{$s, $other};
                close $s;
                close $other;
                next;
            }
            while (length $buf) {
                my $w = syswrite $other, $buf;
                last unless defined $w;
                substr($buf, 0, $w) = '';
            }
        }
    }
}

sub stall {
    my ($self) = @_;
    kill 'USR1', $self->{pid};
    LinkCert::Util::wait_until(sub { -e $self->{flag} }, 5)
        or die 'the proxy did not stall';
    return $self;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return $self;
    LinkCert::Util::stop_child($pid, 'the proxy', ['KILL', 5]);
    return $self;
}

sub DESTROY { $_[0]->stop }
