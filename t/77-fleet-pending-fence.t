#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A change kept while Redis was away is fenced when it is written later.
# Edge A orders a domain under its lease (fencing token 1); Redis is
# killed while the CA validates, A finishes the order and keeps the change
# it could not write (<store>/redis-pending/<domain>, holding the token).
# A is stopped, Redis comes back from its AOF, and the domain's fencing
# token grows (another edge's lease, made here with redis-cli) before A
# goes on: A's late write is refused (nothing published, no record in
# Redis) and edge B does not serve A's certificate.  Before the marks held
# the token, the change was written unfenced and B served it.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;

my $D = 'late.customer.test';
my $FENCE = "linkcert:fence:$D";

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;                # A orders, B serves
my $redis = $fleet->redis;
my $delay = LinkCert::Pebble::Delay->new($a);
my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port);

$fleet->start($pebble, redis => 'timeout=300ms');

my $mark = $a->store . "/redis-pending/$D";
my @a_pids = ($a->master_pid, $a->worker_pids);

$delay->hold;
is($a->verify($D)->{status}, 202, "POST $D on A: 202");
ok($delay->wait_request($D, 20), 'its validation reached the relay');
is($redis->cli(GET => $FENCE), '1', 'A leased it: fencing token 1');

$redis->kill;
$delay->release;

my ($j, $ok) = $pebble->wait_issued($D, 30);
ok($ok, "$D issued on A while Redis is down") or diag(explain $j);
ok($a->wait_until(sub { -s $mark }, 5),
   'A keeps the change it could not write')
    or diag(join "\n", $a->log_since(0, qr/\Q$D\E|redis/));
is(LinkCert::Util::read_file($mark), '1',
   '... with the fencing token it was made under');

# A waits; Redis comes back and another lease is taken meanwhile
kill 'STOP', @a_pids;
$redis->start;
is($redis->cli(INCR => $FENCE), '2', 'another lease: fencing token 2');
my $seq = $redis->cli(GET => 'linkcert:seq') // '';
my $from = length $a->error_log;
kill 'CONT', @a_pids;

my $refused = qr/"\Q$D\E": this edge's late write was rejected/
              . qr/.*\(stale fence 1, now 2\)/;
ok($a->wait_until(sub { $a->log_since($from, $refused) }, 20),
   'A\'s late write is refused (stale fence 1, now 2)')
    or diag(join "\n", $a->log_since($from, qr/\Q$D\E|redis/));
ok($a->wait_until(sub { !-e $mark }, 5), '... its mark is gone');

is($redis->cli(EXISTS => "linkcert:cert:$D"), '0', 'no record in Redis');
is($redis->cli(GET => 'linkcert:seq') // '', $seq,
   'no change in the sequence');
my $a_fp = $a->fingerprint_of_file($a->store . "/domains/$D/fullchain.pem");
isnt($b->handshake($D) // '', $a_fp, 'B does not serve A\'s certificate');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
