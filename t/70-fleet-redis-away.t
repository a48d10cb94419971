#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Redis unreachable or hanging: two edges share one Redis; it hangs, first
# paused (CLIENT PAUSE ALL), then stopped (SIGSTOP) with its connections
# open.  Each worker finds out within a second and the timeout (an idle
# connection is PINGed), and meanwhile every edge keeps serving every
# certificate it has, answers GET ?domain= and the public probe from its
# own state marked "stale": true, answers POST with 503
# engine_unreachable, gives a new on-demand name the fallback at once
# (well under linkcert_hold) without admitting it, and places no order.
# A DELETE made on one edge while Redis is stopped answers 503
# engine_unreachable and removes nothing (as POST; t/39); made again once
# Redis is back, it reaches the other edge.  When Redis answers again,
# the edges connect again and the answers are no longer stale.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(time sleep);

my $D = 'links.customer.test';          # on both edges
my $GONE = 'go.customer.test';          # DELETEd on A when Redis is back
my @NEW = ('new1.customer.test', 'new2.customer.test');   # on demand

my $fleet = LinkCert::Fleet->new(2, domains => [ $D, $GONE, @NEW,
                                                 'posted.customer.test' ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a);

my ($chain, $key) = $a->make_cert($D);
my ($chain2, $key2) = $a->make_cert($GONE);
for my $t ($a, $b) {
    $t->store_domain($D, cert => [$chain, $key]);
    $t->store_domain($GONE, cert => [$chain2, $key2]);
}

my $HOLD = 10;

$fleet->start($pebble, order => 'ab', workers => 2, redis => 'timeout=300ms',
              http => "    linkcert_on_demand dns;\n"
                      . "    linkcert_hold ${HOLD}s;\n");

my $FP = $a->fingerprint_of_file($chain);

# the error log's lines since $offset of a worker losing its connection
# for commands, by pid
sub lost_since {
    my ($t, $offset) = @_;
    my %pids;
    for ($t->log_since($offset,
                       qr/linkcert: redis \S+: (?!subscription: )\S/)) {
        $pids{$1} = 1 if /\] (\d+)#\d+: /;
    }
    return \%pids;
}

sub every_worker_lost {
    my ($t, $offset) = @_;
    return $t->wait_until(sub {
        my $lost = lost_since($t, $offset);
        !grep { !$lost->{$_} } $t->worker_pids;
    }, 10);
}

sub connected_again {
    my ($t, $offset) = @_;
    return $t->wait_until(sub {
        my %seen = map { /\] (\d+)#\d+: / ? ($1 => 1) : () }
                   $t->log_since($offset, qr/linkcert: redis \S+ connected/);
        !grep { !$seen{$_} } $t->worker_pids;
    }, 15);
}

sub admitted {
    my ($t) = @_;
    return $t->metric_values->{'linkcert_on_demand_total{result="admitted"}'}
           // 0;
}

# what each edge answers while Redis hangs ($new: a name never seen)
sub away_checks {
    my ($how, $new) = @_;

    for my $e ([$a, 'A'], [$b, 'B']) {
        my ($t, $n) = @$e;

        subtest "$how: edge $n" => sub {
            for my $i (1 .. 4) {    # both workers, most likely
                is($t->handshake($D), $FP, "handshake $i: $D served");
            }

            my $s = $t->status_of($D);
            is($s->{status}, 200, 'GET ?domain=: 200');
            is($s->{json}{status}, 'issued', '... issued');
            ok($s->{json}{stale}, '... marked "stale": true')
                or diag($s->{body});

            my $p = $t->http(GET => '/.well-known/ssl-status', host => $D);
            is($p->{status}, 200, 'the public probe: 200');
            is($p->{json}{status}, 'issued', '... issued');
            ok($p->{json}{stale}, '... marked "stale": true')
                or diag($p->{body});

            my $post = $t->verify('posted.customer.test');
            is($post->{status}, 503, 'POST: 503');
            is($post->{json}{error}, 'engine_unreachable',
               '... engine_unreachable');

            my $before = admitted($t);
            my $start = time;
            my $fp = $t->handshake($new);
            my $took = time - $start;
            is($fp, $t->fallback_fingerprint,
               "on demand: $new gets the fallback");
            cmp_ok($took, '<', 1, sprintf('at once (%.3f s, linkcert_hold '
                                          . '%d s)', $took, $HOLD));
            is(admitted($t), $before, '... not admitted');
            is($t->status_of($new)->{json}{status}, 'unknown',
               '... unknown');
        };
    }

    is($pebble->order_count, 0, "$how: no order placed");
}

subtest 'connected: the answers are not stale' => sub {
    ok(!exists $a->status_of($D)->{json}{stale}, 'GET ?domain=');
    ok(!exists $a->http(GET => '/.well-known/ssl-status',
                        host => $D)->{json}{stale}, 'the public probe');
};

subtest 'Redis paused (CLIENT PAUSE ALL)' => sub {
    my ($oa, $ob) = (length $a->error_log, length $b->error_log);
    my $until = time + 10;
    $redis->pause(10000);       # CLIENT UNPAUSE would wait for it too
    ok(every_worker_lost($a, $oa) && every_worker_lost($b, $ob),
       'every worker of both edges found Redis hanging')
        or diag(join "\n", $a->log_since($oa, qr/redis/));
    diag(sprintf('every worker knew %.2f s after the pause (timeout=300ms)',
                 time - ($until - 10)));

    away_checks('paused', $NEW[0]);

    cmp_ok(time, '<', $until, 'the checks were made while it was paused');
    ok(connected_again($a, $oa) && connected_again($b, $ob),
       'every worker connected again');
    ok($a->wait_until(sub { !exists $a->status_of($D)->{json}{stale} }, 5),
       'GET ?domain= is not stale any more');
};

subtest 'Redis stopped (SIGSTOP); a DELETE meanwhile, and after' => sub {
    my ($oa, $ob) = (length $a->error_log, length $b->error_log);
    $redis->freeze;
    ok(every_worker_lost($a, $oa) && every_worker_lost($b, $ob),
       'every worker of both edges found Redis hanging');

    away_checks('stopped', $NEW[1]);

    my $del = $a->http(DELETE => "/.well-known/ssl-status?domain=$GONE",
                       key => 1);
    is($del->{status}, 503, "DELETE $GONE on A: 503");
    like($del->{body} // '', qr/"error":\s*"engine_unreachable"/,
         '... engine_unreachable');
    ok(!-e $a->store . "/redis-pending/$GONE", 'A keeps nothing for later');
    is($a->handshake($GONE), $a->fingerprint_of_file($chain2),
       'A still serves it');
    is($b->handshake($GONE), $a->fingerprint_of_file($chain2),
       'B serves it meanwhile');

    $redis->thaw;
    ok(connected_again($a, $oa) && connected_again($b, $ob),
       'every worker connected again');
    $del = $a->http(DELETE => "/.well-known/ssl-status?domain=$GONE",
                    key => 1);
    is($del->{status}, 200, "DELETE $GONE on A again, Redis back: 200");
    # no handshake for it: on demand, B would admit it again
    ok($b->wait_until(sub {
           ($b->status_of($GONE)->{json}{status} // '') eq 'unknown' }, 10),
       "B removed $GONE: unknown");
    ok(scalar $b->log_lines(qr/"\Q$GONE\E" \S+ -> removed by edge "edge-a"/),
       '... by edge A\'s change');
    ok(!-e $b->store . "/domains/$GONE", '... its files moved aside');
    is($b->handshake($D), $FP, "B still serves $D");
};

subtest 'Redis back: on demand admits again' => sub {
    my $before = admitted($a);
    $a->handshake($NEW[0]);
    cmp_ok(admitted($a), '>', $before, "$NEW[0] is admitted now");
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
