#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# One status everywhere, for GET ?domain=: edge B answers for a domain
# only edge A holds (POSTed on A, its DNS not pointing here: failed on A)
# with A's status object, from Redis (<prefix>status:<domain>, written at
# each change of the domain on A).  A name no edge holds is unknown on
# both; once A DELETEs the domain, B says unknown too.  With Redis paused
# beyond the timeout, B answers from its own zone (unknown) at the
# timeout.  Without the fleet's status, B says unknown at once.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(time);

my $F = 'elsewhere.customer.test';         # its DNS points elsewhere
my $STATUS = '/.well-known/ssl-status';

my $fleet = LinkCert::Fleet->new(2);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a);

$a->add_a($F, ['192.0.2.7']);

$fleet->start($pebble, redis => 'timeout=1s', b => { workers => 2 });

is($a->verify($F)->{status}, 202, "POST $F on edge A: 202");
my $ja = $a->wait_verified($F);
is($ja->{stage}, 'failed', "A: $F failed its DNS check")
    or diag(explain $ja);
ok($ja->{last_error}{type}, "A: with an error ($ja->{last_error}{type})");

my $jb;
ok($b->wait_until(sub {
       $jb = $b->status_of($F)->{json} // {};
       ($jb->{stage} // '') eq ($ja->{stage} // '');
   }, 5), "B answers for $F");
is($jb->{status}, $ja->{status}, 'B: the same status');
is($jb->{stage}, $ja->{stage}, 'B: the same stage');
is($jb->{last_error}{type}, $ja->{last_error}{type}, 'B: the same error');
is_deeply($jb->{dns}, $ja->{dns}, 'B: the same DNS answer');
is($b->http(GET => "$STATUS/domains", key => 1)->{json}{domains}[0]{stage},
   'failed', 'B lists it with A\'s status (the fleet\'s list, t/75)');

my $u = $b->status_of('nobody.customer.test');
is($u->{status}, 200, 'a name no edge holds: 200');
is($u->{json}{status}, 'unknown', 'unknown on B');
is($u->{json}{stage}, 'none', 'stage none');

subtest 'Redis paused: B answers from its own zone at the timeout' => sub {
    $redis->pause(3000);
    my $start = time;
    my $r = $b->status_of($F);
    my $took = time - $start;
    is($r->{status}, 200, 'answered');
    is($r->{json}{status}, 'unknown', 'unknown');
    cmp_ok($took, '>=', 0.9, sprintf('after the timeout (%.2f s)', $took));
    cmp_ok($took, '<', 2.5, 'not after Redis came back');
    ok($b->wait_until(sub {
           ($b->status_of($F)->{json}{stage} // '') eq 'failed' }, 10),
       'A\'s status again once Redis answers');
};

is($a->http(DELETE => "$STATUS?domain=$F", key => 1)->{status}, 200,
   "DELETE $F on A");
ok($b->wait_until(sub {
       ($b->status_of($F)->{json}{stage} // '') eq 'none' }, 5),
   'B: unknown once A deleted it');
is($redis->cli(EXISTS => "linkcert:status:$F"), '0',
   'its status is gone from Redis');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
