#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# On demand in a fleet: the first click for a new name reaches edge A,
# while the name's DNS leads the CA to edge B (Pebble validates on B's
# plain port).  A holds that first handshake, verifies the name, takes its
# lease and orders; B, which has never heard of the name, answers the
# CA's HTTP-01 validation from Redis; the held handshake on A gets the new
# certificate, and B serves the same one within a second.  One order.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;

my $D = 'click.customer.test';

# A gets the first click, the CA's validation lands on B
my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1),
                                   env => { PEBBLE_AUTHZREUSE => 0 });

$fleet->start($pebble, redis => 'timeout=5s',
              http => "    linkcert_on_demand dns;\n",
              b => { log_level => 'debug' });

my $hs = $pebble->verified_handshake($D, timeout => 15);

ok($hs->{ok}, "the first handshake on A is verified for $D")
    or diag($hs->{error}), diag($pebble->notices);
isnt($hs->{fingerprint} // '', $a->fallback_fingerprint,
     '... not the fallback');
cmp_ok($hs->{elapsed} // 0, '>', 0.05, '... it waited for the issuance');

my @found = $b->log_lines(qr/challenge from redis for "\Q$D\E": found/);
cmp_ok(scalar @found, '>=', 1, 'B answered the validation from Redis')
    or diag(join "\n", $b->log_lines(qr/redis|acme-challenge/));

is($pebble->order_count, 1, 'one order');
is($pebble->issued_count, 1, 'one certificate');

my $serial = uc($a->status_of($D)->{json}{certificate}{serial} // '');
isnt($serial, '', "A: $D issued");
my ($hb) = $pebble->wait_serial($b, $D, $serial, 5);
is($hb->{serial}, $serial, 'B serves the same certificate');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
