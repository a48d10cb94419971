#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A certificate write refused by the fence is tried again in a second,
# not a lease later: with lease=20s, edge A orders D (the CA's validation
# held); the domain's fencing token grows past A's lease meanwhile
# (another lease taken and gone since, INCR here, as t/68 does), so A's
# write of the certificate is refused inside Redis's script (fleet_busy,
# "stale fence 1, now 2").  A's job asks again about a second later: it
# takes the free lease (fencing token 3) within a few seconds of the
# refusal, orders again and issues; the fleet's record is that change,
# and B serves it.  Before, A waited the whole lease (20 s) first.  Two
# orders in all: the refused one and the new one, no more.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $D = 'refused.customer.test';
my $LEASE = "linkcert:lease:$D";

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $delay = LinkCert::Pebble::Delay->new($a);
my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port);

$fleet->start($pebble, order => 'a', redis => 'timeout=2s lease=20s');

my $REFUSED = qr/"\Q$D\E" .*order failed: another edge took the lease /
               . qr/during this edge's order \(stale fence 1, now 2\)/;
my $LEASED = qr/"\Q$D\E" leased for 20000 ms, fencing token 3/;

$delay->hold;
is($a->verify($D)->{status}, 202, "POST $D on A: 202");
ok($delay->wait_request($D, 20), "A's order of $D is being validated");
like($redis->cli(GET => $LEASE), qr/^edge-a .* 1$/,
     'A holds its lease, fencing token 1');

is($redis->cli(INCR => "linkcert:fence:$D"), 2, 'another lease: token 2');
$delay->release;

ok($a->wait_until(sub { scalar $a->log_lines($REFUSED) }, 20, 0.02),
   "A's late write refused (fleet_busy)")
    or diag(join "\n", $a->log_lines(qr/\Q$D\E/));
my $refused = time;
is($redis->cli(EXISTS => "linkcert:cert:$D"), '0', 'nothing of it in Redis');

ok($a->wait_until(sub { scalar $a->log_lines($LEASED) }, 10, 0.02),
   sprintf('A took the lease again (fencing token 3) %.1f s after the '
           . 'refusal', time - $refused))
    or diag(join "\n", $a->log_lines(qr/\Q$D\E/));
cmp_ok(time - $refused, '<=', 5, '... within a few seconds, not 20');

my ($j) = $a->wait_status($D, sub { ($_->{stage} // '') eq 'issued' }, 20);
is("$j->{status}/$j->{stage}", 'issued/issued', "$D issued on A")
    or diag(explain $j);
is($redis->cli(HGET => "linkcert:cert:$D", 'edge'), 'edge-a',
   'its change written to the fleet');
my ($hs) = $pebble->wait_serial($b, $D, $j->{certificate}{serial} // '', 10);
ok($hs->{ok}, 'B serves it');

$a->wait_until(sub { $pebble->order_count > 2 }, 3, 0.1);
is($pebble->order_count, 2, 'two orders in all: the refused one, the new one');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
