#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# DELETE on one edge removes the domain from all: a domain issued on edge
# A and served by edge B (t/65) is DELETEd on B; within 1 s A serves the
# fallback for it, says it is unknown, and its files are in A's removed/
# as DELETE leaves them (B's too).  The change in Redis names the edge
# that made it.  An edge does not apply its own change: a domain DELETEd
# on A and POSTed again on A at once stays.  Without the fleet, A keeps
# serving the domain B deleted.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(time sleep);

my $D = 'gone.customer.test';
my $D2 = 'back.customer.test';
my $STATUS = '/.well-known/ssl-status';

my $fleet = LinkCert::Fleet->new(2, domains => [ $D, $D2 ]);
my ($a, $b) = $fleet->edges;                # A orders, B deletes
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a);

$fleet->start($pebble, b => { workers => 2 });

sub removed_dirs {
    my ($t, $name) = @_;
    opendir my $dh, $t->store . '/removed' or return ();
    return sort grep { /^\Q$name\E\./ } readdir $dh;
}

sub del {
    my ($t, $domain) = @_;
    return $t->http(DELETE => "$STATUS?domain=$domain", key => 1);
}

is($a->verify($D)->{status}, 202, "POST $D on edge A: 202");
my ($j, $ok) = $pebble->wait_issued($D, 30);
ok($ok, 'issued on A') or diag(explain $j);
my ($hs) = $pebble->wait_serial($b, $D, $j->{certificate}{serial}, 5);
ok($hs->{ok} && $hs->{serial} eq uc $j->{certificate}{serial},
   'B serves it');

$redis->monitor;

my $r = del($b, $D);
is($r->{status}, 200, "DELETE $D on edge B: 200") or diag($r->{body});
my $start = time;
my ($fp, $took);
while (time - $start < 5) {
    $took = time - $start;          # the handshake's own time not counted
    $fp = $a->handshake($D);
    last if defined $fp && $fp eq $a->fallback_fingerprint;
    sleep 0.02;
}
is($fp, $a->fallback_fingerprint, 'A serves the fallback');
cmp_ok($took, '<', 1, sprintf('within 1 s of the DELETE on B (%.3f s)',
                              $took));
diag(sprintf('fallback on A for a handshake begun %.3f s after the DELETE '
             . 'on B', $took));

is($b->handshake($D), $b->fallback_fingerprint, 'B serves the fallback');
is($a->status_of($D)->{json}{status}, 'unknown', 'A: the status is unknown');
is($b->status_of($D)->{json}{status}, 'unknown', 'B: the status is unknown');

for my $t ([A => $a], [B => $b]) {
    my ($name, $e) = @$t;
    ok(!-e $e->store . "/domains/$D", "$name: $D left domains/");
    my @dirs = removed_dirs($e, $D);
    is(scalar @dirs, 1, "$name: in removed/");
    ok(-s $e->store . "/removed/$dirs[0]/fullchain.pem",
       "$name: with its chain") if @dirs;
}

ok(scalar $a->log_lines(
       qr/"\Q$D\E" issued\/issued -> removed by edge "edge-b"/),
   'A\'s log names the edge that removed it');
is($redis->cli(HGET => "linkcert:cert:$D", 'removed'), '1',
   'the record says removed');
is($redis->cli(HGET => "linkcert:cert:$D", 'edge'), 'edge-b',
   'by edge B');
is($redis->cli(HEXISTS => "linkcert:cert:$D", 'key'), '0',
   'no key kept in the record');
is(del($a, $D)->{status}, 404, 'a second DELETE on A: 404');

subtest 'an edge does not apply its own change' => sub {
    is($a->verify($D2)->{status}, 202, "POST $D2 on edge A: 202");
    my ($j2, $ok2) = $pebble->wait_issued($D2, 30);
    ok($ok2, "$D2 issued on A") or diag(explain $j2);
    my ($hs2) = $pebble->wait_serial($b, $D2, $j2->{certificate}{serial}, 5);
    ok($hs2->{ok}, 'B serves it');

    # DELETE and POST again on A before A has heard its own change
    is(del($a, $D2)->{status}, 200, "DELETE $D2 on A");
    is($a->verify($D2)->{status}, 202, "POST $D2 on A again at once");
    ok($b->wait_until(sub {
           $b->log_lines(qr/"\Q$D2\E" \S+ -> removed by edge "edge-a"/) },
           5),
       'B removed it');
    sleep 1;
    isnt($a->status_of($D2)->{json}{status}, 'unknown',
         'A still has it a second later') or diag(explain $a->status_of($D2));
};

unlike($redis->monitor_log, qr/"(?:KEYS|SCAN)"/, 'no KEYS or SCAN');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
