#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Renewals spread over the fleet: three edges on one Redis, each able to
# verify and order, all with "linkcert_renew_at 0%" (every certificate
# is due for renewal at its next check).  A domain issued on A reaches B
# and C, and none of them renews it on its own schedule: the fleet's due
# time (<prefix>due, written by A with the certificate) is an hour ahead.
# When that due time comes (set to now here), exactly one edge claims the
# domain, checks its DNS and renews it: one more order at Pebble, and the
# three edges serve the new certificate; the due time is then in the
# future again.  Without the fleet's due set, B and C renew what they
# receive (more orders than that).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $D = 'spread.customer.test';

my $fleet = LinkCert::Fleet->new(3, domains => [ $D ]);
my ($a, $b, $c) = $fleet->edges;
my %edge = ('edge-a' => $a, 'edge-b' => $b, 'edge-c' => $c);
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1));

$fleet->start($pebble, order => 'abc', redis => 'timeout=2s lease=60s',
              http => "    linkcert_renew_at 0%;\n");

sub serial_of {
    my ($t) = @_;
    return uc($t->status_of($D)->{json}{certificate}{serial} // '');
}

sub renewed_on {
    my ($t) = @_;
    return scalar $t->log_lines(qr/"\Q$D\E" \S+ -> issued\/renewing/);
}

is($a->verify($D)->{status}, 202, "POST $D on A: 202");
my ($j, $ok) = $pebble->wait_issued($D, 30);
ok($ok, 'issued on A') or diag(explain $j);
my $first = serial_of($a);

for my $t ($b, $c) {
    my ($hs) = $pebble->wait_serial($t, $D, $first, 10);
    ok($hs->{ok} && $hs->{serial} eq $first, 'another edge serves it')
        or diag(explain $hs);
}

my $due = $redis->cli(ZSCORE => 'linkcert:due', $D) || 0;
like($due, qr/^\d+$/, "the fleet's due time is written ($due)");
cmp_ok($due, '>', time + 3000, 'an hour ahead (a new certificate)');

# B and C received it: without the fleet's due time they would check it
# (and renew it, at 0%) within 5 s
sleep 6;

is($pebble->order_count, 1, 'no edge renewed it on its own schedule');
is(renewed_on($_), 0, 'no renewal logged') for $a, $b, $c;
is(serial_of($_), $first, 'the same certificate everywhere') for $b, $c;

# its time comes
$redis->cli(ZADD => 'linkcert:due', int(time), $D);

my $second;
ok($a->wait_until(sub {
       $second = '';
       for my $t ($a, $b, $c) {
           my $s = serial_of($t);
           return 0 if $s eq '' || $s eq $first;
           return 0 if $second ne '' && $s ne $second;
           $second = $s;
       }
       1;
   }, 30), 'renewed: the three edges report the same new certificate')
    or diag(explain [ map { serial_of($_) } $a, $b, $c ]);

for my $t ($a, $b, $c) {
    my ($hs) = $pebble->wait_serial($t, $D, $second, 5);
    ok($hs->{ok} && $hs->{serial} eq $second, 'and serve it')
        or diag(explain $hs);
}

my @claimed = grep { scalar $edge{$_}->log_lines(
                         qr/"\Q$D\E" claimed from the fleet/) }
              sort keys %edge;
is(scalar @claimed, 1, "one edge claimed it (@claimed)");
my @renewing = grep { renewed_on($edge{$_}) } sort keys %edge;
is_deeply(\@renewing, \@claimed, 'the same edge renewed it');
diag("claimed and renewed by @claimed");

$due = $redis->cli(ZSCORE => 'linkcert:due', $D) || 0;
cmp_ok($due, '>', time + 3000, 'the due time is an hour ahead again');

sleep 6;
is($pebble->order_count, 2, 'two orders at Pebble in all: one renewal');
is(renewed_on($_), 0, 'no renewal on another edge')
    for grep { $_ ne $edge{$claimed[0] // 'edge-a'} } $a, $b, $c;

$_->no_crash_ok('no worker crashed') for $a, $b, $c;

done_testing;
