#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A reissue asked on edge B while edge A's newer certificate is still on
# its way to B: D is issued on A and served by B; A then stores a new
# certificate of D (A's own reissue) while B's worker 0, which applies
# the fleet's changes and runs B's jobs, is held with SIGSTOP, and the
# CRM's POST reissue=1 of D reaches B's other worker before B applied
# A's change.  When B's worker 0 runs again, A's certificate (a new key)
# is the reissue B was asked for: B serves it, says issued/issued with
# its serial, and orders nothing, whether it applies A's change before
# its job's DNS check ends or after its job decided to order (the
# lease's answer names a change applied since: not ordered); the CA
# sees no order after B's POST, and the fleet's certificate stays A's.
# Before, applying the fleet's certificate kept the reissue asked for,
# and B ordered a third certificate (a duplicate, burning one of the
# CA's 5 a week).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $D = 'again.customer.test';

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $a->port(1));

$fleet->start($pebble, order => 'ab', redis => 'timeout=2s lease=20s',
              b => { workers => 2 });

sub done_on {
    my ($t, $timeout) = @_;
    my ($j) = $t->wait_status($D, sub {
        ($_->{stage} // '') =~ /^(?:issued|failed)$/ }, $timeout // 30);
    return $j // {};
}

sub fleet_seq { $redis->cli(HGET => "linkcert:cert:$D", 'seq') // 0 }

# the serial B's status shows, once it is not $old
sub serial_on {
    my ($t, $old, $timeout) = @_;
    my ($j) = $t->wait_status($D, sub {
        ($_->{stage} // '') eq 'issued'
        && ($_->{certificate}{serial} // $old) ne $old }, $timeout);
    return $j->{certificate}{serial} // '';
}


###########################################################################
# D issued on A, served by B

is($a->verify($D)->{status}, 202, "POST $D on A: 202");
my $j = done_on($a);
is("$j->{status}/$j->{stage}", 'issued/issued', "$D issued on A")
    or diag(explain $j);
my $first = $j->{certificate}{serial} // '';
my ($hs) = $pebble->wait_serial($b, $D, $first, 10);
ok($hs->{ok}, 'B serves it');
is(serial_on($b, '', 5), $first, 'B\'s status shows it');


###########################################################################
# A stores a new certificate while B's worker 0 is held; the CRM's
# reissue reaches B's other worker

my ($w0) = $b->worker_pids;
my $seq = fleet_seq();
kill 'STOP', $w0;

is($a->verify_again($D, query => 'reissue=1')->{status}, 202,
   "POST $D reissue=1 on A: 202");
my $second = serial_on($a, $first, 30);
ok($second && $second ne $first, 'A stored a new certificate')
    or diag(join "\n", $a->log_lines(qr/\Q$D\E/));
ok($a->wait_until(sub { fleet_seq() > $seq }, 5, 0.05),
   'A\'s certificate is the fleet\'s');

my $orders = $pebble->order_count;

my $r = $b->verify($D, query => 'reissue=1', timeout => 5);
is($r->{status}, 202, "POST $D reissue=1 on B (before B applied A's): 202")
    or diag(explain $r);

kill 'CONT', $w0;


###########################################################################
# A's certificate is the reissue: served everywhere, nothing ordered

($hs) = $pebble->wait_serial($b, $D, $second, 10);
ok($hs->{ok}, 'B serves A\'s new certificate')
    or diag(join "\n", $b->log_lines(qr/\Q$D\E/));
my $k = done_on($b, 10);
is("$k->{status}/$k->{stage}", 'issued/issued', 'B: issued/issued')
    or diag(explain $k);
is($k->{certificate}{serial}, $second, '... with A\'s serial');

# an order, if B placed one, reaches the CA within a few seconds
$b->wait_until(sub { $pebble->order_count > $orders }, 6, 0.1);
is($pebble->order_count - $orders, 0, 'the CA saw no order after B\'s POST')
    or diag(join "\n", $b->log_lines(qr/\Q$D\E/));
is(serial_on($b, '', 2), $second, 'B still says A\'s serial');
($hs) = $pebble->wait_serial($a, $D, $second, 5);
ok($hs->{ok}, 'A serves it');
is($redis->cli(HGET => "linkcert:cert:$D", 'edge'), 'edge-a',
   'the fleet\'s certificate is still A\'s');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
