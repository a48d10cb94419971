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
use LinkCert::Test;
use LinkCert::Pebble;
use LinkCert::Redis;

my $a = LinkCert::Test->new;                # gets the first click
my $b = LinkCert::Test->new;                # the CA's validation lands here
my $redis = LinkCert::Redis->new($a);
my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1),
                                   env => { PEBBLE_AUTHZREUSE => 0 });

my $D = 'click.customer.test';

$a->challtestsrv;
$a->set_cname($D, 'edge.crm.test');
$a->add_a('edge.crm.test', ['127.0.0.1']);

$redis->start;
$pebble->start;

$a->write_config($a->standard_config(log_level => 'info', http => <<'EOF'
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;
    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
    linkcert_on_demand dns;
EOF
    . $redis->fleet_lines($a, 'edge-a', 'timeout=5s')));

$b->write_config($b->standard_config(log_level => 'debug',
    http => $redis->fleet_lines($b, 'edge-b', 'timeout=5s')));

$a->run;
$b->run;

ok($redis->wait_subscribed($a, $b), 'both edges follow the fleet');

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
