#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# An edge that comes back with an empty store under the name it had (a
# server rebuilt or replaced, linkcert_edge defaulting to the host name)
# catches up on the certificates it issued itself before, as a new edge
# does on the others': edge A issues a domain, is stopped, its store is
# emptied, and it is started again; it serves the certificate from
# Redis, with the serial it issued.  A domain A DELETEd stays deleted (its
# removal is its own change too).  Before the fix an edge skipped every
# change made under its own name, so A served the fallback.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use File::Path qw(remove_tree);

my $D = 'mine.customer.test';
my $GONE = 'gone.customer.test';

my $fleet = LinkCert::Fleet->new(2, domains => [ $D, $GONE ]);
my ($a, $b) = $fleet->edges;                # A orders, B serves
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a);

$fleet->start($pebble);

my %serial;
for my $d ($D, $GONE) {
    is($a->verify($d)->{status}, 202, "POST $d on A: 202");
    my ($j, $ok) = $pebble->wait_issued($d, 30);
    ok($ok, "$d issued on A") or diag(explain $j);
    $serial{$d} = uc($j->{certificate}{serial} // '');
}
my $r = $a->http(DELETE => "/.well-known/ssl-status?domain=$GONE", key => 1);
is($r->{status}, 200, "DELETE $GONE on A: 200");
my ($hs) = $pebble->wait_serial($b, $D, $serial{$D}, 5);
is($hs->{serial}, $serial{$D}, "B serves A's certificate of $D");
is($redis->cli(HGET => "linkcert:cert:$D", 'edge'), 'edge-a',
   'the fleet\'s record is A\'s');

# A rebuilt: the same name, an empty store
$a->stop;
remove_tree($a->store, { keep_root => 1 });
ok(!-e $a->store . "/domains/$D", 'A\'s store is empty');
$a->run;
ok($redis->wait_connected($a), 'A is connected again');

($hs) = $pebble->wait_serial($a, $D, $serial{$D}, 10);
is($hs->{serial}, $serial{$D},
   "A serves the certificate of $D it issued before, from Redis");
ok(-s $a->store . "/domains/$D/fullchain.pem",
   "A's store has its pair again");

is($a->handshake($GONE), $a->fallback_fingerprint,
   "A serves the fallback for $GONE, which it DELETEd");
is(($a->status_of($GONE)->{json} // {})->{status}, 'unknown',
   "$GONE is unknown on A");

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
