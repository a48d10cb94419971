#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Redis that comes back without its data gets it back from the edges: two
# edges share one Redis; A holds a domain issued by Pebble, a pair
# imported into its store, and a domain whose DNS points elsewhere
# (failed).  Redis is killed and started again without its append-only
# file (empty).  The edges find the fleet's epoch gone when they connect
# again, upload what they hold (each certificate once, as a change, in
# batches) and read the changes again from the first: B's /domains lists
# A's domains again, and a brand-new edge C with an empty store catches
# up and serves A's certificates (the same serial) and lists the same
# domains.  Redis never sees KEYS or SCAN (MONITOR).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(remove_tree);
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(time sleep);

my $STATUS = '/.well-known/ssl-status';
my $D = 'links.customer.test';              # issued by Pebble on A
my $I = 'imported.customer.test';           # imported into A's store
my $F = 'failed.customer.test';             # its DNS points elsewhere

# A orders, B serves, C is new after the loss
my $fleet = LinkCert::Fleet->new(3, domains => [ $D ]);
my ($a, $b, $c) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a);

$a->add_a($F, ['192.0.2.7']);
$a->store_domain($I);
my $ifp = $a->fingerprint_of_file($a->store . "/domains/$I/fullchain.pem");

$fleet->start($pebble, run => 'ab', redis => 'timeout=300ms',
              b => { workers => 2 }, monitor => 1);

sub names {
    my ($t) = @_;
    my $r = $t->http(GET => "$STATUS/domains", key => 1);
    return '' unless $r->{status} == 200;
    return join ' ', map { $_->{domain} } @{ $r->{json}{domains} // [] };
}

sub serves {
    my ($t, $d, $fp, $timeout) = @_;
    return $t->wait_until(sub { ($t->handshake($d) // '') eq $fp },
                          $timeout // 10);
}

my @all = sort $D, $F, $I;

is($a->verify($D)->{status}, 202, "POST $D on A: 202");
my ($j, $ok) = $pebble->wait_issued($D, 30);
ok($ok, "$D issued on A") or diag(explain $j);
my $serial = uc($j->{certificate}{serial} // '');
is($a->verify($F)->{status}, 202, "POST $F on A: 202");
is($a->wait_verified($F)->{stage}, 'failed', "$F failed on A");

ok($b->wait_until(sub { names($b) eq "@all" }, 10),
   "B lists A's domains") or diag(names($b));
my ($hs) = $pebble->wait_serial($b, $D, $serial, 5);
is($hs->{serial}, $serial, "B serves $D");
ok(serves($b, $I, $ifp), "B serves $I, imported on A at its start");

my ($oa, $ob) = (length $a->error_log, length $b->error_log);

subtest 'Redis restarted without its data' => sub {
    my $epoch = $redis->cli(GET => 'linkcert:epoch');
    like($epoch, qr/^[0-9a-f]{32}$/, 'the fleet has an epoch');
    $redis->stop_monitor->kill;
    remove_tree($redis->dir . '/appendonlydir');
    unlink glob($redis->dir . '/*.aof'), $redis->dir . '/dump.rdb';
    $redis->start->monitor;
    my $back = time;

    ok($a->wait_until(sub {
           my $e = $redis->cli(GET => 'linkcert:epoch');
           $e && $e ne $epoch }, 10),
       'Redis came back empty: the fleet wrote a new epoch');

    ok($b->wait_until(sub { names($b) eq "@all" }, 15),
       "B lists A's domains again") or diag(names($b));
    diag(sprintf('listed on B %.3f s after Redis was started again '
                 . '(reconnection backoff included)', time - $back));

    is($redis->cli(HGET => "linkcert:cert:$D", 'serial'),
       lc($serial =~ s/^0+(?=.)//r), "Redis has ${D}'s certificate again");
    ok(scalar $a->log_lines(qr/redis lost its data \(its epoch/),
       'A found the epoch gone');
    ok(scalar $b->log_lines(qr/redis lost its data \(its epoch/),
       'B found the epoch gone');
    my $changes = $redis->cli(ZCARD => 'linkcert:changes');
    is($changes, 2, 'a change for each certificate');
    is($redis->cli(GET => 'linkcert:seq'), 2,
       '... one each, though both edges hold both');
    ok($a->wait_until(sub {
           $a->log_since($oa, qr/the fleet has what this edge holds/) }, 10),
       'A uploaded what it holds')
        or diag(join "\n", $a->log_since($oa, qr/redis|upload/));
};

subtest 'a new edge catches up' => sub {
    $c->run;
    my $start = time;
    my ($hc) = $pebble->wait_serial($c, $D, $serial, 15);
    is($hc->{serial}, $serial, "C serves $D with A's serial");
    ok($hc->{ok}, '... verified against the CA\'s root');
    diag(sprintf('served on C %.3f s after its start', time - $start));
    ok(serves($c, $I, $ifp), "C serves $I");
    is($c->status_of($F)->{json}{stage}, 'failed',
       "C answers for $F as A has it");
    is(names($c), "@all", 'C lists the same domains');
    is(names($b), "@all", 'B too');
};

my $mon = $redis->monitor_log;
like($mon, qr/"EVAL" "local function wins\(.*for i = 3, #ARGV, 3/,
     'the edges asked which certificates the fleet lacks, by script');
unlike($mon, qr/"(?:KEYS|SCAN)"/i, 'never KEYS or SCAN');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');
$c->no_crash_ok('edge C: no worker crashed');

done_testing;
