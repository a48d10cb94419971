#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A reissue's POST meets the fleet's order budget: on demand, with
# linkcert_redis and linkcert_order_rate 3/h, a POST reissue=1 on edge B
# takes its share of the fleet's budget (linkcert:budget:orders) at the
# POST, once (its order takes none again); when orders on edge A have
# spent the rest, a reissue POSTed on B is refused at the POST with the
# error one edge gives (429 order_budget, its detail, Retry-After), the
# domain left as it was and no order placed.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $R = 'reissued.alpha.test';              # issued, then reissued on B
my $X = 'other.beta.test';                  # spends the rest, on A
my $BUDGET = 'linkcert:budget:orders';
my $INTERVAL = 3600 * 1000 / 3;             # ms: 3 an hour

my $fleet = LinkCert::Fleet->new(2, domains => [ $R, $X ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1));

$fleet->start($pebble, order => 'ab', redis => 'timeout=2s lease=20s',
              http => <<'EOF');
    linkcert_on_demand dns;
    linkcert_hold 0;
    linkcert_order_rate 3/h;
EOF

sub done_on {
    my ($t, $d, $timeout) = @_;
    my ($j) = $t->wait_status($d, sub {
        ($_->{stage} // '') =~ /^(?:issued|failed)$/ }, $timeout // 30);
    return $j // {};
}

# the fleet's theoretical arrival time (ms), 0 if none
sub budget { my $v = $redis->cli(GET => $BUDGET); $v =~ /^\d+$/ ? $v : 0 }


###########################################################################
# R issued on A, served by B

is($a->verify($R)->{status}, 202, "POST $R on A: 202");
my $j = done_on($a, $R);
is($j->{status}, 'issued', "$R issued on A") or diag(explain $j);
my $serial = $j->{certificate}{serial} // '';
my ($hs) = $pebble->wait_serial($b, $R, $serial, 10);
ok($hs->{ok} && $hs->{serial} eq uc $serial, "B serves it (from the fleet)");
my $k = done_on($b, $R, 5);
is("$k->{status}/$k->{stage}", 'issued/issued', "B: $R issued/issued");


###########################################################################
# a reissue on B within the budget: its share taken at the POST, once

subtest 'a reissue on B within the budget takes its share at the POST' =>
sub {
    my $before = budget();
    cmp_ok($before, '>', 0, "the order of $R took a share (A's POST)");
    my $r = $b->verify_again($R, query => 'reissue=1');
    is($r->{status}, 202, "POST $R reissue=1 on B: 202") or diag($r->{raw});
    is(budget() - $before, $INTERVAL,
       "its share of the fleet's budget taken at the POST");
    my ($n) = $b->wait_status($R, sub {
        my $s = $_->{certificate}{serial} // $serial;
        $s ne $serial || ($_->{stage} // '') eq 'failed' }, 30);
    isnt($n->{certificate}{serial} // $serial, $serial,
         'a new certificate') or diag(explain $n);
    $serial = $n->{certificate}{serial} // $serial;
    is(budget() - $before, $INTERVAL, 'its order took none again');
};


###########################################################################
# A spends the rest; a reissue on B is refused at the POST

is($a->verify($X)->{status}, 202, "POST $X on A: 202");
my $x = done_on($a, $X);
is($x->{status}, 'issued', "$X issued on A: the fleet's budget is spent")
    or diag(explain $x);

subtest 'a reissue on B over the fleet budget: refused at the POST' => sub {
    my $orders = $pebble->order_count;
    my $before = budget();
    my $r = $b->verify_again($R, query => 'reissue=1');
    is($r->{status}, 429, 'answered 429') or diag($r->{raw});
    is($r->{json}{error}, 'order_budget', 'error order_budget');
    is($r->{json}{detail},
       'the budget of 3 new orders per hour is spent (linkcert_order_rate)',
       "the detail one edge gives");
    my $after = $r->{headers}{'retry-after'} // 0;
    cmp_ok($after, '>', 0, "Retry-After: $after s");
    cmp_ok($after, '<=', $INTERVAL / 1000, 'at most one share away');
    is(budget(), $before, 'no share taken');
    my $k = $b->status_of($R)->{json} // {};
    is("$k->{status}/$k->{stage}", 'issued/issued', 'the domain as it was');
    is($k->{certificate}{serial}, $serial, 'with its certificate');
    sleep 1;
    is($pebble->order_count, $orders, 'no order placed');
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
