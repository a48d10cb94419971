#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# An order left behind on a domain the claiming edge cannot order backs
# off: edge A orders D (lease=1s, the CA's validation held) and is
# killed; D's CNAME has moved away meanwhile, so edge B, which claims
# the order from linkcert:orders, finds D's DNS wrong and does not take
# the lease.  Each claim scores the order twice as far ahead as the one
# before (1 s, 2 s, 4 s, ...; counted in the order's record, field
# "claims"): a DNS check each time, not one every lease=.  Once the
# customer points D back, the next claim takes the order over: B resumes
# A's order (one order at the CA, finalized with A's key).  Before, B
# claimed the order again every lease= until it expired after 7 days.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $D = 'moved.customer.test';
my $ORDER = "linkcert:order:$D";
my $ORDERS = 'linkcert:orders';
my $LEASE = "linkcert:lease:$D";

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;        # A orders, then is killed
my $redis = $fleet->redis;
my ($delay, $pebble) = $fleet->start_takeover(order => 'ab', lease => '1s');

my $CLAIMED = qr/"\Q$D\E" claimed from the fleet/;


###########################################################################
# A orders, its validation held, and is killed; D's DNS has moved

$fleet->a_orders_held($delay, $pebble, $D);

my $a_key = $fleet->saved_key($a, $D);

$a->set_cname($D, 'elsewhere.other.test');

my @a_pids = ($a->master_pid, $a->worker_pids);
is(kill('KILL', @a_pids), scalar @a_pids, 'edge A killed');
$a->stop;


###########################################################################
# B's claims back off: 1 s, 2 s, 4 s

# the order's claims so far and how far ahead of now (ms) its score is,
# read in one script (a claim may come between two commands)
my $SEEN = "local t = redis.call('time') "
         . "local now = t[1] * 1000 + math.floor(t[2] / 1000) "
         . "return {tonumber(redis.call('hget', KEYS[1], 'claims')), "
         . "        tonumber(redis.call('zscore', KEYS[2], ARGV[1])) - now}";

for my $n (1 .. 3) {
    ok($b->wait_until(sub { scalar $b->log_lines($CLAIMED) >= $n }, 15,
                      0.02),
       "B claimed the order ($n)")
        or diag(join "\n", $b->log_lines(qr/\Q$D\E/));
    my ($claims, $ahead) = split /\n/,
        $redis->cli(EVAL => $SEEN, 2, $ORDER, $ORDERS, $D);
    my $want = 1000 << (($claims || 1) - 1);
    cmp_ok($claims, '>=', $n, "... the order's record counts $claims");
    ok($ahead <= $want && $ahead > $want - 900,
       "... claim $claims scored ${ahead} ms ahead (${want} ms at its "
       . 'claim)');
}

my @lines = $b->log_lines($CLAIMED);
like($lines[$_], qr/claimed for ${\ (1000 << $_)} ms/,
     'the log says how long claim ' . ($_ + 1) . ' lasts')
    for 0 .. 2;

my ($j) = $b->wait_status($D, sub { ($_->{stage} // '') eq 'failed' }, 5);
is("$j->{status}/$j->{last_error}{type}", 'unknown/dns_mismatch',
   "B: $D unknown, its DNS does not point here")
    or diag(explain $j);
unlike($redis->cli(GET => $LEASE) // '', qr/^edge-b /,
       'B did not take the lease');
is($pebble->order_count, 1, 'one order at Pebble');


###########################################################################
# the DNS fixed: the next claim (4 s after the third) takes the order over

my $before = $b->log_lines($CLAIMED);
$a->set_cname($D, 'edge.crm.test');
my $fixed = time;

ok($b->wait_until(sub {
       scalar $b->log_lines(qr/"\Q$D\E" resumes its order/) }, 15),
   sprintf('B resumed the order (%.1f s after the DNS was fixed)',
           time - $fixed))
    or diag(join "\n", $b->log_lines(qr/\Q$D\E/));
is(scalar $b->log_lines($CLAIMED), $before + 1, 'at the next claim');

$fleet->resumed_ok(edge => $b, name => 'B', domain => $D,
                   pebble => $pebble, delay => $delay, a_key => $a_key);
is($redis->cli(ZCARD => $ORDERS), '0', "and from $ORDERS");

$b->no_crash_ok('edge B: no worker crashed');

done_testing;
