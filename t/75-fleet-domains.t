#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# One status everywhere, for /domains and the public probe: two edges on
# one Redis, each holding domains the other does not (failed on A, failed
# on B, held pending on A by another edge's lease) and one both hold
# (issued on A, received by B).  GET /domains answers the same on both
# edges, page by page (limit=, after=) and with status=, from the fleet's
# list (<prefix>domains, ZRANGEBYLEX, never KEYS); the public probe about
# a domain only A holds answers A's status on B.  With Redis paused
# beyond the timeout, B answers from its own zone at the timeout.  A
# DELETE takes the domain out of the list.  Without the fleet's list,
# each edge lists only its own domains.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $STATUS = '/.well-known/ssl-status';
my $I = 'issued.customer.test';         # issued on A, served on B
my $FA = 'fa.customer.test';            # its DNS points elsewhere: on A
my $FB = 'fb.customer.test';            # the same, on B
my $P = 'pending.customer.test';        # held by another edge's lease

my $fleet = LinkCert::Fleet->new(2, domains => [ $I, $P ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $a->port(1));

$a->add_a($_, ['192.0.2.7']) for $FA, $FB;

$fleet->start($pebble, order => 'ab', workers => 2,
              redis => 'timeout=1s lease=60s');

$redis->monitor;

is($a->verify($I)->{status}, 202, "POST $I on A");
my ($j, $ok) = $pebble->wait_issued($I, 30);
ok($ok, "$I issued on A") or diag(explain $j);

is($a->verify($FA)->{status}, 202, "POST $FA on A");
is($a->wait_verified($FA)->{stage}, 'failed', "$FA failed on A");
is($b->verify($FB)->{status}, 202, "POST $FB on B");
is($b->wait_verified($FB)->{stage}, 'failed', "$FB failed on B");

$redis->cli(SET => "linkcert:lease:$P", 'edge-z 4242 00ff 41', PX => 60000);
is($a->verify($P)->{status}, 202, "POST $P on A");
ok($a->wait_status($P, sub {
       ($_->{last_error}{type} // '') eq 'fleet_busy' }, 10),
   "$P pending on A, held by another edge");

ok($b->wait_until(sub {
       ($b->status_of($I)->{json}{status} // '') eq 'issued' }, 10),
   "B received $I");

sub page {
    my ($t, $query) = @_;
    my $r = $t->http(GET => "$STATUS/domains$query", key => 1);
    return $r->{status} == 200 ? $r->{json} : { error => $r->{status} };
}

sub names { [ map { $_->{domain} } @{ $_[0]{domains} // [] } ] }

my @all = sort $FA, $FB, $I, $P;
my $pa;

ok($a->wait_until(sub {
       $pa = page($a, '');
       "@{ names($pa) }" eq "@all";
   }, 5), 'A lists the four domains, in order')
    or diag(explain $pa);
is_deeply(page($b, ''), $pa, 'B answers the same');
is($pa->{next}, undef, 'one page');

my %st = map { $_->{domain} => $_ } @{ $pa->{domains} };
is($st{$FB}{stage}, 'failed', "$FB as B has it");
is($st{$P}{status}, 'pending', "$P as A has it");

subtest 'paging with limit and after' => sub {
    my $after = '';
    my @seen;
    for my $i (1 .. 5) {
        my $q = '?limit=1' . ($after ne '' ? "&after=$after" : '');
        my $pa1 = page($a, $q);
        is_deeply(page($b, $q), $pa1, "page $i: the same on both edges");
        push @seen, @{ names($pa1) };
        last unless defined $pa1->{next};
        is($pa1->{next}, $seen[-1], 'next is the page\'s last domain');
        $after = $pa1->{next};
    }
    is_deeply(\@seen, \@all, 'the pages hold every domain once');
};

subtest 'status=' => sub {
    for my $s (qw(issued pending unknown)) {
        my $pa2 = page($a, "?status=$s");
        is_deeply(page($b, "?status=$s"), $pa2, "status=$s: the same");
        is_deeply(names($pa2),
                  [ grep { $st{$_}{status} eq $s } @all ],
                  "status=$s: the right domains");
    }
    is_deeply(names(page($b, '?status=unknown&limit=1')), [ $FA ],
              'with a limit');
};

subtest 'the public probe' => sub {
    my $r = $b->http(GET => $STATUS, host => $P);
    is($r->{status}, 200, "B: the probe about $P");
    is_deeply($r->{json}, { domain => $P, status => 'pending',
                            certificate => undef },
              'A\'s status, the public fields only');
    my $ri = $b->http(GET => $STATUS, host => $I)->{json};
    is_deeply($ri, $a->http(GET => $STATUS, host => $I)->{json},
              "$I: the same on both");
    is($b->http(GET => $STATUS, host => 'nobody.customer.test')
           ->{json}{status}, 'unknown', 'a name nobody holds: unknown');
};

unlike($redis->monitor_log, qr/"(?:KEYS|SCAN)"/, 'no KEYS or SCAN');
like($redis->monitor_log, qr/"ZRANGEBYLEX" "linkcert:domains"/,
     'the list read with ZRANGEBYLEX');

subtest 'Redis paused: B answers from its own zone at the timeout' => sub {
    $redis->pause(3000);
    my $start = time;
    my $pb = page($b, '');
    my $took = time - $start;
    is_deeply(names($pb), [ sort $FB, $I ], 'B\'s own domains');
    cmp_ok($took, '>=', 0.9, sprintf('after the timeout (%.2f s)', $took));
    cmp_ok($took, '<', 2.5, 'not after Redis came back');
    my $r = $b->http(GET => $STATUS, host => $P);
    is($r->{json}{status}, 'unknown', 'the probe: B\'s own answer');
    ok($b->wait_until(sub { "@{ names(page($b, '')) }" eq "@all" }, 10),
       'the fleet\'s list again once Redis answers');
};

# a worker of A may still be reconnecting after the pause: its DELETE
# is answered 503 engine_unreachable, and the CRM asks again
my $del;
$a->wait_until(sub {
    $del = $a->http(DELETE => "$STATUS?domain=$FA", key => 1);
    $del->{status} != 503;
}, 10);
is($del->{status}, 200, "DELETE $FA on A");
ok($b->wait_until(sub {
       "@{ names(page($b, '')) }" eq join ' ', grep { $_ ne $FA } @all
   }, 5), 'B no longer lists it');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
