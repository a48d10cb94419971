#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# An order only the killed edge knew is taken over by itself: edge A is
# POSTed a domain that no other edge was ever asked about, orders it
# under its lease (lease=2s), keeps the order in Redis and the domain in
# the sorted set linkcert:orders (scored by its lease's end); Pebble's
# HTTP-01 validation is held (a LinkCert::Pebble::Delay in front of edge
# B, where the CA's validation lands).  While A lives and renews its
# lease, its order is not claimed (the claims score it again by the
# lease's end).  A, master and workers, is SIGKILLed.  B and C are never
# asked about the domain: one of them, and only one, claims the order
# from linkcert:orders once A's lease has run out, checks the DNS, takes
# the lease, resumes the same order and issues it: one order and one
# certificate at Pebble, finalized with the key A made; the set is empty
# once the order ended, and nothing read it with KEYS or SCAN.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use LinkCert::Util qw(read_file);
use Time::HiRes qw(sleep time);

my $D = 'orphan.customer.test';
my $ORDER = "linkcert:order:$D";
my $ORDERS = 'linkcert:orders';
my $LEASE = "linkcert:lease:$D";

my $fleet = LinkCert::Fleet->new(3, domains => [ $D ]);
my ($a, $b, $c) = $fleet->edges;    # A orders, then is killed
my $redis = $fleet->redis;
# B and C order with A's DNS server and CA
my ($delay, $pebble) = $fleet->start_takeover(order => 'abc', lease => '2s');

$redis->monitor;


###########################################################################
# A orders, its validation held; B and C know nothing of the domain

$fleet->a_orders_held($delay, $pebble, $D);

my $score;
subtest 'the order is kept, and listed in linkcert:orders' => sub {
    is($redis->cli(HGET => $ORDER, 'edge'), 'edge-a', 'kept by edge-a');
    $score = $redis->cli(ZSCORE => $ORDERS, $D);
    like($score, qr/^\d+$/, "$D in $ORDERS") or return;
    my $ahead = $score - $redis->now_ms;
    cmp_ok($ahead, '<=', 2000,
           'scored by the end of its lease (at most lease= ahead)');
    cmp_ok($ahead, '>', -2000, '... not long past');
};

# the first score passes; a claim finds A's lease renewed and scores the
# order again by the lease's end, without claiming it
ok($b->wait_until(sub {
       ($redis->cli(ZSCORE => $ORDERS, $D) || 0) > ($score || 0) }, 10),
   "A alive: its order scored again by its renewed lease's end");
cmp_ok($redis->cli(ZSCORE => $ORDERS, $D) - $redis->now_ms, '>', 0,
       '... ahead of now');
like($redis->cli(GET => $LEASE), qr/^edge-a /, 'A still holds the lease');
ok(!$b->log_lines(qr/"\Q$D\E"/) && !$c->log_lines(qr/"\Q$D\E"/),
   'neither B nor C has claimed (or logged) the domain');
is($pebble->order_count, 1, 'one order at Pebble so far');

my $a_key = $fleet->saved_key($a, $D);


###########################################################################
# A killed: B or C takes the order over by itself, only one

my @a_pids = ($a->master_pid, $a->worker_pids);
is(kill('KILL', @a_pids), scalar @a_pids,
   'edge A killed, master and workers (' . scalar(@a_pids) . ')');
$a->stop;                                   # reaped
my $killed = time;

my $CLAIMED = qr/"\Q$D\E" claimed from the fleet: an order left/;
my $t;
ok($b->wait_until(sub {
       ($t) = grep { scalar $_->log_lines($CLAIMED) } $b, $c; $t }, 15),
   sprintf('an edge claimed the order A left (%.1f s after the kill)',
           time - $killed))
    or diag(join "\n", map { $_->log_lines(qr/claimed|\Q$D\E/) } $b, $c);
$t //= $b;
my $name = $t == $b ? 'B' : 'C';
my $other = $t == $b ? $c : $b;
ok($t->wait_until(sub {
       scalar $t->log_lines(qr/"\Q$D\E" resumes its order/) }, 15),
   sprintf('%s resumed the order (%.1f s after the kill)', $name,
           time - $killed))
    or diag($pebble->notices);
$fleet->resumed_ok(edge => $t, name => $name, domain => $D,
                   pebble => $pebble, delay => $delay, a_key => $a_key);
is($redis->cli(ZCARD => $ORDERS), '0', "and from $ORDERS");
is(scalar $t->log_lines($CLAIMED), 1, "claimed once by $name");
is(scalar $other->log_lines($CLAIMED), 0, 'never by the other edge');

unlike($redis->monitor_log, qr/"(?:KEYS|SCAN)"/, 'no KEYS or SCAN');

$b->no_crash_ok('edge B: no worker crashed');
$c->no_crash_ok('edge C: no worker crashed');

done_testing;
