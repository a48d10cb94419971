#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Leases are fenced: an edge that lost its lease cannot write afterwards.
# Edge A orders a domain under a lease of 1 s and is stopped (SIGSTOP,
# every process) while the CA's validation of its order is held up; its
# lease runs out, edge B takes the domain's lease (a higher fencing
# token) and issues, resuming A's order (kept in Redis: one order at the
# CA).  A is continued: it knows its lease lost and stops (fleet_busy),
# nothing of it is published, and both edges go on serving B's
# certificate, A's status saying issued with B's serial.  An edge that
# does not know yet (the domain's fencing token grew past its lease's,
# its renewal not told) has its late write refused inside Redis's script
# (logged at error: "stale fence 1, now 2"): the domain waits a second
# (fleet_busy), then A orders again under a new fencing token (the
# refused order ended when its certificate was downloaded).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use LinkCert::Util qw(read_file);
use Time::HiRes qw(sleep time);

my $D = 'late.customer.test';
my $LEASE = "linkcert:lease:$D";
my $CERT = "linkcert:cert:$D";

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;    # A orders, is stopped; B takes over
my $redis = $fleet->redis;
my $delay = LinkCert::Pebble::Delay->new($a, to => $b->port(1));
my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port);

# B orders from the same CA with the same DNS; the CA validates on B
$fleet->start($pebble, order => 'ab', redis => 'timeout=2s lease=1s');

my @a_pids = ($a->master_pid, $a->worker_pids);

sub status { my ($t, $d) = @_; return $t->status_of($d // $D)->{json} // {} }


# A orders under the lease, stopped while the CA validates

$delay->hold;
is($a->verify($D)->{status}, 202, "POST $D on A: 202");
ok($delay->wait_request($D, 20), 'A\'s order is being validated (held)');
like($redis->cli(GET => $LEASE), qr/^edge-a \d+ [0-9a-f]{16} 1$/,
     'A holds the lease, fencing token 1');

kill 'STOP', @a_pids;

ok($a->wait_until(sub { $redis->cli(EXISTS => $LEASE) eq '0' }, 5, 0.05),
   'A stopped: its lease ran out');
$delay->release;


# B takes the lease and issues

is($b->verify($D)->{status}, 202, "POST $D on B: 202");
my ($jb) = $b->wait_status($D, sub { ($_->{stage} // '') eq 'issued' }, 30);
is($jb->{status}, 'issued', 'issued on B') or diag(explain $jb);
my $serial = uc($jb->{certificate}{serial} // '');
ok($b->log_lines(qr/"\Q$D\E" leased for 1000 ms, fencing token 2/),
   'B held the lease with fencing token 2');

my $seq = $redis->cli(HGET => $CERT, 'seq');
is($redis->cli(HGET => $CERT, 'edge'), 'edge-b', 'the fleet\'s record is B\'s');
my $issued_before = $pebble->issued_count;


# A goes on: it knows its lease lost and stops

kill 'CONT', @a_pids;

ok($a->wait_until(sub {
       $a->log_lines(qr/"\Q$D\E" .*order failed: another edge of the fleet is ordering it: this edge's lease ran out \(fleet_busy\)/) }, 20),
   'A stopped its order: its lease ran out (fleet_busy)')
    or diag($pebble->notices);
is($pebble->issued_count, $issued_before, 'A finalized nothing');

is($redis->cli(HGET => $CERT, 'edge'), 'edge-b',
   'Redis still has B\'s record');
is($redis->cli(HGET => $CERT, 'seq'), $seq, 'with B\'s change number');
is($redis->cli(GET => 'linkcert:seq'), $seq, 'no change was written after it');
ok(!$a->log_lines(qr/"\Q$D\E" sent to redis/), 'A published nothing');


# both edges serve B's certificate; A's status follows the fleet

my ($hs) = $pebble->wait_serial($a, $D, $serial, 5);
is($hs->{serial}, $serial, 'A serves B\'s certificate');
($hs) = $pebble->wait_serial($b, $D, $serial, 5);
is($hs->{serial}, $serial, 'B serves its certificate');

# B's certificate may come to A before or after A's stopped order ends:
# after, the error is cleared; before, it stays A's last one (the end of
# its own order: fleet_busy), the certificate served all the same
my ($ja) = $a->wait_status($D, sub {
    ($_->{status} // '') eq 'issued' && !$_->{last_error} }, 10);
is($ja->{status}, 'issued', 'A says issued') or diag(explain $ja);
is(uc($ja->{certificate}{serial} // ''), $serial, 'with B\'s serial');
ok(!$ja->{last_error} || $ja->{last_error}{type} eq 'fleet_busy',
   'and no error but the end of its own order (fleet_busy)')
    or diag(explain $ja->{last_error});
is(read_file($a->store . "/domains/$D/fullchain.pem"),
   read_file($b->store . "/domains/$D/fullchain.pem"),
   'A\'s store has B\'s chain');

is($pebble->order_count, 1, 'one order at the CA: A\'s, resumed by B');



# the fencing token grown past A's lease (another lease taken and gone
# since) while A's renewal has not told it: A's late write is refused
# all the same, and A waits a second (t/85 shows it with a long lease)

my $D2 = 'later.customer.test';
$a->set_cname($D2, 'edge.crm.test');

$delay->hold;
is($a->verify($D2)->{status}, 202, "POST $D2 on A: 202");
ok($delay->wait_request($D2, 20), "A's order of $D2 is being validated");
like($redis->cli(GET => "linkcert:lease:$D2"), qr/^edge-a .* 1$/,
     'A holds its lease, fencing token 1');

is($redis->cli(INCR => "linkcert:fence:$D2"), 2, 'another lease: token 2');
$delay->release;

ok($a->wait_until(sub { $a->log_lines(qr/"\Q$D2\E" .*order failed: another edge took the lease during this edge's order \(stale fence 1, now 2\): its certificate was not stored \(fleet_busy\)/) }, 20),
   "A's late write refused: $D2 waits, its certificate not stored");
ok(scalar $a->log_lines(qr/\[error\].*"\Q$D2\E": this edge's late write was rejected: another edge took the domain's lease since \(stale fence 1, now 2\)/),
   'logged at error, with the stale fence and the fence now');
my $j2 = status($a, $D2);
is($j2->{last_error}{type}, 'fleet_busy', "$D2 on A: fleet_busy")
    or diag(explain $j2);
is($j2->{status}, 'pending', 'pending');
ok(defined $j2->{next_attempt_at}, 'with a next attempt');
is($redis->cli(EXISTS => "linkcert:cert:$D2"), '0',
   'nothing of it in Redis');
ok(!-e $a->store . "/domains/$D2/fullchain.pem", 'nor in A\'s store');

# a second later, A orders again under a new lease
my ($j3) = $a->wait_status($D2, sub { ($_->{stage} // '') eq 'issued' }, 20);
is($j3->{status}, 'issued', 'issued on A a second later')
    or diag(explain $j3);
ok($a->log_lines(qr/"\Q$D2\E" leased for 1000 ms, fencing token 3/),
   'under fencing token 3');
is($redis->cli(HGET => "linkcert:cert:$D2", 'edge'), 'edge-a',
   'its change written');
is($pebble->order_count, 3,
   "three orders in all: $D once (resumed by B), $D2 twice by A");

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
