#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A DELETE fences out an order under way: an edge that finishes the order
# of a domain DELETEd meanwhile on another edge cannot store it again.
# Edge A orders a domain (the CRM POSTed it to A and B: B waits, the
# lease is A's, fencing token 1); Redis is killed while the CA validates,
# A finishes the order and keeps the change it could not write (its mark
# holds the token).  A is stopped, Redis comes back from its AOF, and the
# CRM DELETEs the domain on B.  A goes on: its late write is refused
# (the removal grew the domain's fencing token), the fleet's record stays
# "removed", A applies it, and neither edge serves the domain.  Before,
# the removal left the fencing token as it was, A's change was taken
# and published over the removal, and B served the deleted domain again.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;

my $D = 'deleted.customer.test';
my $FENCE = "linkcert:fence:$D";
my $STATUS = '/.well-known/ssl-status';

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;                # A orders, B deletes
my $redis = $fleet->redis;
my $delay = LinkCert::Pebble::Delay->new($a);
my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port);

$fleet->start($pebble, order => 'ab', redis => 'timeout=300ms lease=20s');

my $mark = $a->store . "/redis-pending/$D";
my @a_pids = ($a->master_pid, $a->worker_pids);

$delay->hold;
is($a->verify($D)->{status}, 202, "POST $D on A: 202");
ok($delay->wait_request($D, 20), 'A\'s validation reached the relay');
is($redis->cli(GET => $FENCE), '1', 'A leased it: fencing token 1');
is($b->verify($D)->{status}, 202, "POST $D on B too: 202");
ok($b->wait_until(sub {
       (($b->status_of($D)->{json} // {})->{last_error}{type} // '')
       eq 'fleet_busy' }, 10, 0.05),
   'B waits for A\'s lease (fleet_busy)');

$redis->kill;
$delay->release;

my ($j, $ok) = $pebble->wait_issued($D, 30);
ok($ok, "$D issued on A while Redis is down") or diag(explain $j);
ok($a->wait_until(sub { -s $mark }, 5),
   'A keeps the change it could not write');

# A waits; Redis comes back and the CRM deletes the domain on B
kill 'STOP', @a_pids;
$redis->start;
ok($b->wait_until(sub {
       my %again = map { /\] (\d+)#\d+: / ? ($1 => 1) : () }
                   $b->log_lines(qr/linkcert: redis \S+ connected .* again/);
       !grep { !$again{$_} } $b->worker_pids }, 10),
   'every worker of B connected again');
my $r = $b->http(DELETE => "$STATUS?domain=$D", key => 1);
is($r->{status}, 200, "DELETE $D on B: 200") or diag($r->{body});
ok($b->wait_until(sub {
       ($redis->cli(HGET => "linkcert:cert:$D", 'removed') // '') eq '1' },
       5, 0.05),
   'the fleet\'s record says removed');
my $from = length $a->error_log;
kill 'CONT', @a_pids;

my $refused = qr/"\Q$D\E": this edge's late write was rejected/;
ok($a->wait_until(sub { $a->log_since($from, $refused)
                        || $a->log_since($from, qr/"\Q$D\E" sent to redis/) },
                  20),
   'A\'s kept change was sent')
    or diag(join "\n", $a->log_since($from, qr/\Q$D\E|redis/));
ok(scalar $a->log_since($from, $refused), 'A\'s late write is refused')
    or diag(join "\n", $a->log_since($from, qr/\Q$D\E/));

ok($a->wait_until(sub { !-e $mark }, 5), '... its mark is gone');
is($redis->cli(HGET => "linkcert:cert:$D", 'removed') // '', '1',
   'the fleet\'s record still says removed');
is($redis->cli(HEXISTS => "linkcert:cert:$D", 'leaf'), '0',
   'no certificate of it in Redis');

ok($a->wait_until(sub {
       ($a->status_of($D)->{json}{status} // '') eq 'unknown' }, 5, 0.05),
   'A: unknown');
is($a->handshake($D), $a->fallback_fingerprint, 'A serves the fallback');
sleep 1;
is($b->status_of($D)->{json}{status}, 'unknown', 'B: unknown');
is($b->handshake($D), $b->fallback_fingerprint, 'B serves the fallback');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
