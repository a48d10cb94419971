#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A DELETE and a POST of one domain crossing between edges: the CRM
# DELETEs a domain on edge A and, once answered, POSTs it again on edge B
# (the customer removed and re-added it; the CRM's load balancer picks
# any edge) before B has applied A's removal (B's worker 0, which applies
# the fleet's changes, is held with SIGSTOP meanwhile; B's other worker
# answers the POST).  When B applies the removal afterwards, it does not
# undo the POST answered after it: B keeps the domain, and writes it to
# the fleet again, so that A serves it again too.  The CRM's last action
# wins; a DELETE after that POST removes it again everywhere.  Before,
# B removed the domain: unknown on every edge (A and B served the
# fallback) although the CRM's last word was "Verify domain".

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;

my $D = 'readded.customer.test';
my $STATUS = '/.well-known/ssl-status';

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;                # A deletes, B gets the POST
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a);

$fleet->start($pebble, order => 'ab', b => { workers => 2 });

is($a->verify($D)->{status}, 202, "POST $D on A: 202");
my ($j, $ok) = $pebble->wait_issued($D, 30);
ok($ok, 'issued on A') or diag(explain $j);
my ($hs) = $pebble->wait_serial($b, $D, $j->{certificate}{serial}, 5);
ok($hs->{ok}, 'B serves it');

# B's worker 0 (the first started) applies the fleet's changes: held
my ($w0) = $b->worker_pids;
kill 'STOP', $w0;

my $r = $a->http(DELETE => "$STATUS?domain=$D", key => 1);
is($r->{status}, 200, "DELETE $D on A: 200") or diag($r->{body});
ok($a->wait_until(sub {
       ($redis->cli(HGET => "linkcert:cert:$D", 'removed') // '') eq '1' },
       5, 0.02),
   'the removal is in Redis');

$r = $b->verify($D);
is($r->{status}, 202, "POST $D on B after the DELETE's answer: 202")
    or diag($r->{body});

kill 'CONT', $w0;

ok($b->wait_until(sub {
       $b->log_lines(qr/"\Q$D\E".*(removed by edge|POSTed here after)/) },
       5, 0.05),
   'B read the removal');

isnt($b->status_of($D)->{json}{status}, 'unknown',
     'B: the POST after the DELETE stands (not unknown)');
isnt($b->handshake($D), $b->fallback_fingerprint,
     'B serves a certificate for it');
ok(scalar $b->log_lines(
       qr/"\Q$D\E"\ \S+\ kept:\ POSTed\ here\ after\ its\ removal
                           \ by\ edge\ "edge-a",\ its\ certificate
                           \ written\ to\ the\ fleet\ again/x),
   'B\'s log says why it kept it');

ok($a->wait_until(sub {
       ($a->handshake($D) // '') ne $a->fallback_fingerprint }, 10, 0.1),
   'A serves it again (B wrote it to the fleet again)');
isnt($a->status_of($D)->{json}{status}, 'unknown', 'A: not unknown');
is($redis->cli(HGET => "linkcert:cert:$D", 'edge'), 'edge-b',
   'the fleet has its certificate again, from B');
is($redis->cli(HEXISTS => "linkcert:cert:$D", 'leaf'), '1',
   'with its leaf (the chain: its CA\'s intermediates kept once)');

# a POST answered before the DELETE does not hold the DELETE back
$r = $a->http(DELETE => "$STATUS?domain=$D", key => 1);
is($r->{status}, 200, "DELETE $D on A again, after B's POST: 200");
ok($b->wait_until(sub {
       ($b->status_of($D)->{json}{status} // '') eq 'unknown' }, 5, 0.05),
   'B: unknown (the DELETE came after its POST)');
is($b->handshake($D), $b->fallback_fingerprint, 'B serves the fallback');

is(scalar $b->log_lines(qr/will be written to redis when it is back/), 0,
   'B\'s write-back is not logged as Redis being away');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
