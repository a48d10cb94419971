#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Fleet-wide budgets: with linkcert_redis, the order budget
# (linkcert_order_rate) and the registered-domain limit count the orders
# of every edge, in Redis, checked by the edge that holds the domain's
# lease before it places the order.  With a budget of 2 an hour, one
# name POSTed on A and one on B spend it: a first click on A waits
# (order_budget), where one edge alone would still have had one.  With a
# limit of 1 certificate per registered domain, an order running on B
# (the CA stopped) stops a first click on A for another name of that
# registered domain (registered_domain_limit), which A's own table
# cannot know.  Two failed validations of a name counted in Redis (by
# other edges) stop its next order on A (validation_limit).  New names
# on demand are admitted at 10 a second, bursts of 20, by the fleet: 40
# random names on each of two edges at once cost about 20 DNS checks in
# all, not 20 on each.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

$SIG{PIPE} = 'IGNORE';

my @POSTED = ('p1.alpha.test', 'p2.beta.test');
my $CLICK = 'click.gamma.test';
my $RUNNING = 'one.shop.test';
my $SECOND = 'two.shop.test';
my $FAILING = 'failing.delta.test';

my $fleet = LinkCert::Fleet->new(2, domains => [ @POSTED, $CLICK, $RUNNING,
                                                 $SECOND, $FAILING ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1));

$fleet->start($pebble, order => 'ab', redis => 'timeout=2s lease=20s',
              http => <<'EOF');
    linkcert_on_demand dns;
    linkcert_hold 0;
    linkcert_order_rate 2/h;
    linkcert_registered_domain_limit 1;
EOF

$redis->monitor;

# an on-demand counter of both edges
sub od {
    my ($what) = @_;
    my $n = 0;
    for my $t ($a, $b) {
        $n += $t->metric_values
                ->{qq{linkcert_on_demand_total{result="$what"}}} // 0;
    }
    return $n;
}


###########################################################################

subtest 'the order budget counts the orders of both edges' => sub {
    is($a->verify($POSTED[0])->{status}, 202, "POST $POSTED[0] on A");
    my ($j, $ok) = $pebble->wait_issued($POSTED[0], 20);
    ok($ok, "$POSTED[0] issued") or diag(explain $j);

    is($b->verify($POSTED[1])->{status}, 202, "POST $POSTED[1] on B");
    ($j, $ok) = $pebble->wait_issued($POSTED[1], 20);
    ok($ok, "$POSTED[1] issued") or diag(explain $j);
    my $orders = $pebble->order_count;

    # a first click on A: its DNS passes, its order waits for the budget
    $a->handshake($CLICK);
    ($j) = $a->wait_status($CLICK, sub {
        ($_->{last_error}{type} // '') =~ /^order_budget$|^urn:/
        || ($_->{status} // '') eq 'issued' }, 15);
    is($j->{last_error}{type}, 'order_budget',
       "$CLICK on A: order_budget (A posted one, B the other)")
        or diag(explain $j);
    is($j->{status}, 'pending', 'pending');
    like($j->{last_error}{detail} // '', qr/budget of 2 new orders per hour/,
         'the detail names the budget');
    ok(defined $j->{next_attempt_at}, 'with a next attempt');
    sleep 1;
    is($pebble->order_count, $orders, 'no order placed for it');

    like($redis->cli(GET => 'linkcert:budget:orders'), qr/^\d+$/,
         'the budget in Redis: linkcert:budget:orders');
    cmp_ok($redis->cli(PTTL => 'linkcert:budget:orders'), '>', 0,
           '... expiring when the budget is full again');
};

subtest 'the registered-domain limit counts an order running on the other '
        . 'edge' => sub {
    kill 'STOP', $pebble->{pid};

    is($b->verify($RUNNING)->{status}, 202, "POST $RUNNING on B");
    ok($b->wait_until(sub {
           ($redis->cli(ZSCORE => 'linkcert:regdom:shop.test', $RUNNING)
            // '') =~ /^\d+$/ }, 10),
       "$RUNNING counted in linkcert:regdom:shop.test while B orders it");

    $a->handshake($SECOND);
    my ($j) = $a->wait_status($SECOND, sub {
        ($_->{last_error}{type} // '') =~ /limit|budget/ }, 15);
    is($j->{last_error}{type}, 'registered_domain_limit',
       "$SECOND on A: registered_domain_limit") or diag(explain $j);
    like($j->{last_error}{detail} // '',
         qr/^shop\.test has had its 1 certificates/,
         'the detail names the registered domain');
    is($j->{status}, 'pending', 'pending');

    kill 'CONT', $pebble->{pid};
    my ($k, $ok) = $pebble->wait_issued($RUNNING, 20);
    ok($ok, "$RUNNING issued on B once the CA is back") or diag(explain $k);
};

subtest 'failed validations on other edges count' => sub {
    # two failed validations of the name within the hour, on other edges
    $redis->cli(SET => "linkcert:failed:$FAILING", 2, EX => 3600);
    my $orders = $pebble->order_count;

    is($a->verify($FAILING)->{status}, 202, "POST $FAILING on A");
    my ($j) = $a->wait_status($FAILING, sub {
        ($_->{last_error}{type} // '') eq 'validation_limit'
        || ($_->{status} // '') eq 'issued' }, 15);
    is($j->{last_error}{type}, 'validation_limit', 'validation_limit')
        or diag(explain $j);
    is($j->{status}, 'pending', 'pending');
    ok(defined $j->{next_attempt_at}, 'with a next attempt');
    is($pebble->order_count, $orders, 'no order placed');
};

subtest "new names on demand are admitted at the fleet's rate" => sub {
    my %before = map { $_ => od($_) } qw(refused_rate refused_dns admitted);

    # 40 names nobody pointed here on each edge, at once: each edge's own
    # rate admits its burst of 20, the fleet's 20 in all
    # ClientHellos made first, then sent on raw connections at once
    my @hellos = map {
        my $t = $_ % 2 ? $a : $b;
        [ $t, $t->client_hello_bytes(($_ % 2 ? 'a' : 'b') . "$_.flood.test") ]
    } 1 .. 80;
    my $start = time;
    my @socks;
    for my $h (@hellos) {
        my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $h->[0]->port(0),
                                      Proto => 'tcp', Timeout => 5)
            or next;
        syswrite($c, $h->[1]);
        push @socks, $c;
    }
    my $elapsed = time - $start;

    my %got;
    ok($a->wait_until(sub {
        %got = map { $_ => od($_) - $before{$_} }
               qw(refused_rate refused_dns admitted);
        $got{refused_rate} + $got{refused_dns} == 80 }, 15),
       'every name was refused, by a rate or by its DNS')
        or diag(explain \%got);
    close $_ for @socks;
    note(sprintf 'admitted by the edges %d, DNS checked %d, in %.2f s',
                 $got{admitted}, $got{refused_dns}, $elapsed);
    cmp_ok($got{admitted}, '>=', 40, 'each edge admitted its burst');
    my $bound = 20 + 10 * ($elapsed + 1) + 2;
    cmp_ok($got{refused_dns}, '<=', $bound,
           sprintf('DNS checked <= 20 + 10/s x %.1f s, on both edges',
                   $elapsed + 1));
    cmp_ok($got{refused_dns}, '>=', 20, "the fleet's burst of 20 checked");
    like($redis->cli(GET => 'linkcert:budget:admit'), qr/^\d+$/,
         'the admission rate in Redis: linkcert:budget:admit');
};

subtest 'in Redis' => sub {
    my $mon = $redis->monitor_log;
    my $keys = '"linkcert:budget:orders" "linkcert:regdom:%s" '
               . '"linkcert:failed:%s"';
    my $posted = sprintf $keys, 'alpha.test', 'p1.alpha.test';
    my $clicked = sprintf $keys, 'gamma.test', 'click.gamma.test';
    like($mon, qr/"EVALSHA" "[0-9a-f]{40}" "3" \Q$posted\E "2"/,
         'budgets asked with EVALSHA, a POST taking its share ("2")');
    like($mon, qr/"EVALSHA" "[0-9a-f]{40}" "3" \Q$clicked\E "1"/,
         'a first click within the budgets ("1")');
    unlike($mon, qr/"(?:KEYS|SCAN)"/, 'no KEYS or SCAN');
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
