#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# One order per domain fleet-wide: an edge takes the domain's lease in
# Redis before it places an order.  A lease another edge holds (written
# here with redis-cli) stops the order: the domain says why (fleet_busy,
# naming the holder) and is tried again when that lease runs out, then
# ordered.  The same domains POSTed on two edges at once (the CA stopped
# meanwhile, so that no order ends before both edges tried) give one
# order each at the CA, and the edge that found the lease taken serves
# the other's certificate (t/65).  Each lease taken carries a fencing token that only
# grows, and is released when its order ends.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $HELD = 'held.customer.test';
my $WARM = 'warm.customer.test';
my @D = map { "d$_.customer.test" } 1 .. 3;

my $fleet = LinkCert::Fleet->new(2, domains => [ $HELD, $WARM, @D ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1));

$fleet->start($pebble, order => 'ab', redis => 'timeout=2s lease=20s');

$redis->monitor;

sub status { my ($t, $d) = @_; return $t->status_of($d)->{json} // {} }


###########################################################################
# a lease held by another edge

subtest 'a domain another edge holds is not ordered until its lease ends' => sub {
    $redis->cli(SET => "linkcert:lease:$HELD", 'edge-z 4242 00ff 41',
                PX => 4000);
    my $posted = time;
    is($a->verify($HELD)->{status}, 202, "POST $HELD on A: 202");

    my ($j) = $a->wait_status($HELD, sub {
        ($_->{last_error}{type} // '') eq 'fleet_busy' }, 10);
    is($j->{status}, 'pending', 'pending');
    is($j->{stage}, 'ordering', 'ordering');
    like($j->{last_error}{detail} // '', qr/another edge .*edge-z 4242/,
         'last_error names the holder') or diag(explain $j);
    ok(defined $j->{next_attempt_at}, 'with a next attempt');
    is($pebble->order_count, 0, 'no order placed');

    my ($k, $ok) = $pebble->wait_issued($HELD, 15);
    ok($ok, sprintf('issued once the lease ran out (%.1f s after the POST)',
                    time - $posted)) or diag(explain $k);
    cmp_ok(time - $posted, '>=', 3.5, '... not before');
    is($pebble->order_count, 1, 'one order');
    is($redis->cli(GET => "linkcert:fence:$HELD"), '1',
       'the fencing token of the lease taken: 1');
    ok($a->wait_until(sub {
           $redis->cli(EXISTS => "linkcert:lease:$HELD") eq '0' }, 5),
       'the lease is released when the order ends');
};

# both edges' ACME accounts are set up before the race
is($b->verify($WARM)->{status}, 202, "POST $WARM on B: 202");
my ($w) = $b->wait_status($WARM, sub {
    ($_->{stage} // '') =~ /^(?:issued|failed)$/ }, 20);
is($w->{status}, 'issued', "$WARM issued on B") or diag(explain $w);


###########################################################################
# the same domains on two edges at once

subtest 'the same domains POSTed on two edges at once: one order each' => sub {
    my $orders = $pebble->order_count;

    # the CA stopped: whoever takes a lease first holds it until it is back
    kill 'STOP', $pebble->{pid};

    for my $d (@D) {
        is($a->verify($d)->{status}, 202, "POST $d on A");
        is($b->verify($d)->{status}, 202, "POST $d on B");
    }

    my %busy;                   # domain: [the edge that found it held,
                                #          the other, the error's detail]
    ok($a->wait_until(sub {
        for my $d (@D) {
            for my $e ([ $a, 'a', 'b' ], [ $b, 'b', 'a' ]) {
                my $j = status($e->[0], $d);
                $busy{$d} //= [ $e->[1], $e->[2], $j->{last_error}{detail} ]
                    if ($j->{last_error}{type} // '') eq 'fleet_busy';
            }
        }
        3 == keys %busy }, 10),
       'for each domain, one edge found the lease taken');
    kill 'CONT', $pebble->{pid};

    my %by;
    ok($a->wait_until(sub {
        %by = ();
        for my $d (@D) {
            for my $e ([ $a, 'a' ], [ $b, 'b' ]) {
                $by{$d}{ $e->[1] } = status($e->[0], $d);
            }
        }
        3 == grep { ($by{$_}{a}{status} // '') eq 'issued'
                    || ($by{$_}{b}{status} // '') eq 'issued' } @D
    }, 20), 'each domain issued on one of the edges') or diag(explain \%by);

    is($pebble->order_count - $orders, 3, 'three orders at the CA, not six');

    for my $d (@D) {
        my ($lost, $won, $detail) = @{ $busy{$d} };
        like($detail // '', qr/edge-$won /,
             "$d: edge $lost said edge $won held it");
        # and then served edge $won's certificate, from the fleet
        ok($a->wait_until(sub {
               (status($a, $d)->{certificate}{serial} // 'a')
               eq (status($b, $d)->{certificate}{serial} // 'b') }, 5),
           "$d: both edges serve the one certificate");
        is($redis->cli(GET => "linkcert:fence:$d"), '1',
           "$d: one lease taken (fencing token 1)");
    }

    ok($a->wait_until(sub {
           !grep { $redis->cli(EXISTS => "linkcert:lease:$_") ne '0' } @D
       }, 5), 'every lease released');
};

subtest 'in Redis' => sub {
    my $mon = $redis->monitor_log;
    like($mon, qr/"EVALSHA" "[0-9a-f]{40}" "4" "linkcert:lease:/,
         'leases taken with EVALSHA');
    like($mon, qr/"EVALSHA" "[0-9a-f]{40}" "1" "linkcert:lease:\S+" "edge-a \d+ [0-9a-f]{16} \d+"/,
         'released comparing the holder');
    unlike($mon, qr/"(?:KEYS|SCAN)"/, 'no KEYS or SCAN');
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
