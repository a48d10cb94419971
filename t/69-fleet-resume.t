#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# An edge killed mid-order loses nothing: edge A orders a domain under
# its lease (lease=2s) and keeps the order in Redis (linkcert:order:<D>,
# sealed) before each request; Pebble's HTTP-01 validation is held (a
# LinkCert::Pebble::Delay in front of edge B, where the CA's validation
# lands) so the order is in progress, and A, master and workers, is
# SIGKILLed.  B, which the domain was POSTed to as well and found it
# held, takes the lease when A's expires, reads the order, resumes it
# (same order URL, under the account A placed it with, finalized with
# the key A made: an RSA key, made before the order is placed, so that
# it is in the order from the start) and serves the certificate: one
# order and one certificate at Pebble.  Redis never holds a private key
# in clear, and the record is gone once the order ends.  A, started
# again with the order it was killed with on its disk, does not resume
# that order (B finished it): Redis has no order of the domain, so its
# copy goes, and a reissue places a new order.  A stopped (SIGSTOP) past
# its lease mid-order: B resumes the order, and A, continued, has its
# next write of the order refused (B holds the lease) and stops before
# it finalizes: one order, one certificate.  A's reissue, stopped the
# same way and claimed and resumed by B: B's certificate, applied on A,
# is A's reissue, and A orders none (before, A ordered a second one).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use LinkCert::Util qw(read_file);
use Time::HiRes qw(sleep time);

my $D = 'resume.customer.test';
my $ORDER = "linkcert:order:$D";
my $LEASE = "linkcert:lease:$D";

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;    # A orders, then is killed; B takes over
my $redis = $fleet->redis;
# B orders with A's DNS server and CA
my ($delay, $pebble) = $fleet->start_takeover(order => 'ab', lease => '2s');

$redis->monitor;

sub status { my ($t, $d) = @_; return $t->status_of($d)->{json} // {} }


###########################################################################
# A orders, its validation held

$delay->hold;

is($a->verify($D)->{status}, 202, "POST $D on A: 202");
ok($a->wait_until(sub { $redis->cli(GET => $LEASE) =~ /^edge-a / }, 15,
                  0.01),
   'A took the lease');

is($b->verify($D)->{status}, 202, "POST $D on B: 202");
my ($busy) = $b->wait_status($D, sub {
    ($_->{last_error}{type} // '') eq 'fleet_busy' }, 10);
like($busy->{last_error}{detail} // '', qr/edge-a /,
     'B found the domain held by A') or diag(explain $busy);

ok($delay->wait_request($D, 15), "the CA's validation is under way (held)")
    or diag($pebble->notices);

subtest 'the order is kept in Redis, sealed' => sub {
    is($redis->cli(HGET => $ORDER, 'edge'), 'edge-a', 'by edge-a');
    like($redis->cli(HGET => $ORDER, 'account'), qr{^https://localhost:\d+/},
         "with the account's URL");
    cmp_ok($redis->cli(HSTRLEN => $ORDER, 'order'), '>', 100,
           'the order (sealed)');
    cmp_ok($redis->cli(HSTRLEN => $ORDER, 'account_key'), '>', 100,
           "the account's key (sealed)");
    unlike($redis->cli(HGETALL => $ORDER), qr/PRIVATE KEY|"order"\s*:/,
           'no private key, no order text in clear');
    my $ttl = $redis->cli(PTTL => $ORDER);
    cmp_ok($ttl, '>', 6 * 86400 * 1000, "it expires in 7 days ($ttl ms)");
};

is($pebble->order_count, 1, 'one order at Pebble so far');

# the order as A saved it on its own disk: the key it made
my $a_key = $fleet->saved_key($a, $D);


###########################################################################
# A killed, B takes over

my @a_pids = ($a->master_pid, $a->worker_pids);
is(kill('KILL', @a_pids), scalar @a_pids,
   'edge A killed, master and workers (' . scalar(@a_pids) . ')');
$a->stop;                                   # reaped
my $killed = time;

ok($b->wait_until(sub {
       scalar $b->log_lines(qr/"\Q$D\E" resumes its order/) }, 15),
   sprintf('B resumed the order (%.1f s after the kill)', time - $killed))
    or diag($pebble->notices);
my $j = $fleet->resumed_ok(edge => $b, name => 'B', domain => $D,
                            pebble => $pebble, delay => $delay,
                            a_key => $a_key);
ok(!-e $b->store . "/domains/$D/order.json", "and from B's store");
ok($b->wait_until(sub { $redis->cli(EXISTS => $LEASE) eq '0' }, 5),
   'the lease is released');

unlike($redis->monitor_log, qr/PRIVATE KEY/,
       'no command to Redis carried a private key in clear');
unlike($redis->monitor_log, qr/"(?:KEYS|SCAN)"/, 'no KEYS or SCAN');



###########################################################################
# A back, with the order it was killed with still on its disk

subtest "A restarted: its saved order, finished by B, is not resumed" => sub {
    ok(-f $a->store . "/domains/$D/order.json",
       "A's store still has the order it was killed with");
    $a->run;
    ok($redis->wait_connected($a), 'A is connected to Redis again');
    my $serial = $j->{certificate}{serial} // '';
    # its own zone, not the status B left in Redis
    my ($hs) = $pebble->wait_serial($a, $D, $serial, 10);
    ok($hs->{ok} && $hs->{serial} eq uc $serial,
       "A serves B's certificate, from the fleet");

    my $offset = -s $a->error_log_path;
    is($a->verify($D, query => 'reissue=1')->{status}, 202,
       'POST reissue=1 on A: 202');
    my ($n) = $a->wait_status($D, sub {
        my $s = $_->{certificate}{serial} // $serial;
        $s ne $serial || ($_->{stage} // '') eq 'failed' }, 20);
    isnt($n->{certificate}{serial} // $serial, $serial,
         'a new certificate') or diag(explain $n);
    is($pebble->order_count, 2, 'from a new order');
    ok(!$a->log_since($offset, qr/"\Q$D\E" resumes its order/),
       'not the old one resumed');
};



###########################################################################
# A stopped past its lease: B resumes, A's late write is refused

# A (every process) stopped until B resumes the order of $d, said as
# $what; then A goes on, and the CA's validation is released
sub a_stopped_b_resumes {
    my ($d, $what) = @_;
    my @pids = ($a->master_pid, $a->worker_pids);
    kill 'STOP', @pids;
    ok($b->wait_until(sub {
           scalar $b->log_lines(qr/"\Q$d\E" resumes its order/) }, 15),
       $what);
    kill 'CONT', @pids;
    $delay->release;
}

subtest 'A stopped past its lease: B resumes the order, A stops' => sub {
    my $D2 = 'paused.customer.test';
    $a->set_cname($D2, 'edge.crm.test');
    my ($orders, $issued) = ($pebble->order_count, $pebble->issued_count);

    $delay->hold;
    is($a->verify($D2)->{status}, 202, "POST $D2 on A: 202");
    ok($a->wait_until(sub {
           $redis->cli(GET => "linkcert:lease:$D2") =~ /^edge-a / }, 15,
           0.01), 'A took the lease');
    is($b->verify($D2)->{status}, 202, "POST $D2 on B: 202");
    ok($delay->wait_request($D2, 15), "the CA's validation is held");

    a_stopped_b_resumes($D2, 'B took the lease and resumed the order');

    my ($k) = $b->wait_status($D2, sub {
        ($_->{stage} // '') =~ /^(?:issued|failed)$/ }, 30);
    is($k->{status}, 'issued', "$D2 issued on B") or diag(explain $k);
    ok($a->wait_until(sub {
           scalar $a->log_lines(qr/"\Q$D2\E" .* this edge's lease ran out \(fleet_busy\)/)
       }, 10), 'A stopped once it knew its lease lost');
    is(scalar $a->log_lines(qr/"\Q$D2\E" .*\((?!fleet_busy)[a-z_:]+\)$/), 0,
       'no order failure counted on A');
    is($pebble->order_count - $orders, 1, 'one order');
    is($pebble->issued_count - $issued, 1, 'one certificate');
};



###########################################################################
# A's reissue taken over by B: the certificate B issued is A's reissue

subtest 'A\'s reissue, resumed by B, is not ordered again on A' => sub {
    my $D3 = 'rekeyed.customer.test';
    $a->set_cname($D3, 'edge.crm.test');

    is($a->verify($D3)->{status}, 202, "POST $D3 on A: 202");
    my ($j) = $a->wait_status($D3, sub {
        ($_->{stage} // '') =~ /^(?:issued|failed)$/ }, 30);
    is($j->{status}, 'issued', "$D3 issued on A") or diag(explain $j);
    my $first = $j->{certificate}{serial} // '';
    ok($b->wait_until(sub {
           ($b->status_of($D3)->{json}{certificate}{serial} // '') eq $first
       }, 10), 'B has it');

    my $orders = $pebble->order_count;
    my $seen = grep { $_->{host} eq $D3 } $delay->requests;
    $delay->hold;
    is($a->verify_again($D3, query => 'reissue=1')->{status}, 202,
       "POST $D3 reissue=1 on A: 202");
    ok($a->wait_until(sub {
           (grep { $_->{host} eq $D3 } $delay->requests) > $seen }, 15),
       "A's order: the CA's validation held");
    is($redis->cli(HGET => "linkcert:order:$D3", 'edge'), 'edge-a',
       'A keeps it in Redis');

    a_stopped_b_resumes($D3, 'B claimed A\'s order and resumed it');

    my ($k) = $b->wait_status($D3, sub {
        ($_->{stage} // '') eq 'issued'
        && ($_->{certificate}{serial} // $first) ne $first }, 30);
    my $second = $k->{certificate}{serial} // '';
    ok($second && $second ne $first, "B issued $D3 anew") or diag(explain $k);

    my ($hs) = $pebble->wait_serial($a, $D3, $second, 10);
    ok($hs->{ok}, 'A serves B\'s certificate');
    my ($ja) = $a->wait_status($D3, sub {
        ($_->{stage} // '') eq 'issued'
        && ($_->{certificate}{serial} // '') eq $second }, 10);
    is($ja->{certificate}{serial}, $second, 'A says issued, with its serial')
        or diag(explain $ja);

    # a second order, if A placed one, reaches the CA within a few seconds
    $a->wait_until(sub { $pebble->order_count - $orders > 1 }, 5, 0.1);
    is($pebble->order_count - $orders, 1, 'one order for the reissue')
        or diag(join "\n", $a->log_lines(qr/\Q$D3\E/));
};

$a->no_crash_ok('edge A: no worker crashed (but the one killed)');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
