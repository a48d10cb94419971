#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A domain's lease is renewed while its order runs: with lease=1s, an
# order held up for 3 s (the edge the CA validates on is stopped) keeps
# its lease the whole time, renewed every third of it comparing the
# holder, and releases it when it ends.  Meanwhile another edge cannot
# take it.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $D = 'slow.customer.test';
my $LEASE = "linkcert:lease:$D";

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;        # A orders, B is validated and stopped
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1));

$fleet->start($pebble, redis => 'timeout=2s lease=1s');

$redis->monitor;

my @b_pids = ($b->master_pid, $b->worker_pids);

# B stopped first: the CA's validation of A's order waits for it
kill 'STOP', @b_pids;
is($a->verify($D)->{status}, 202, "POST $D on A: 202");
ok($a->wait_until(sub { $redis->cli(EXISTS => $LEASE) eq '1' }, 15, 0.01),
   'A took the lease');
my $stopped = time;

my (@values, @pttl);
while (time - $stopped < 3) {
    push @values, $redis->cli(GET => $LEASE);
    push @pttl, $redis->cli(PTTL => $LEASE);
    sleep 0.1;
}
my $taken = $redis->cli(SET => $LEASE, 'edge-z 1 00 99', 'NX', PX => 60000);
kill 'CONT', @b_pids;

my %distinct = map { $_ => 1 } @values;
is(scalar keys %distinct, 1, 'the same lease for 3 s (lease=1s)')
    or diag(explain \@values);
like($values[-1], qr/^edge-a \d+ [0-9a-f]{16} 1$/,
     "held by edge-a, fencing token 1: $values[-1]");
ok(!(grep { $_ <= 0 || $_ > 1000 } @pttl),
   'its time left stayed within the lease (renewed, not lengthened)')
    or diag("@pttl");
is($taken, '', 'another edge could not take it (SET NX)');

my ($j, $ok) = $pebble->wait_issued($D, 20);
ok($ok, "issued once B answered") or diag(explain $j);
is($pebble->order_count, 1, 'one order');
ok($a->wait_until(sub { $redis->cli(EXISTS => $LEASE) eq '0' }, 5),
   'the lease is released at the end');

my @renewals = $redis->monitor_log
    =~ /"EVALSHA" "[0-9a-f]{40}" "1" "\Q$LEASE\E" "edge-a [^"]+" "1000"/g;
cmp_ok(scalar @renewals, '>=', 1 + 6,
       scalar(@renewals) . ' renewals and the release, comparing the holder');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
