#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# badNonce: Pebble rejects 90% of good nonces (PEBBLE_WFE_NONCEREJECT=90).
# Every rejection carries a fresh nonce; the client retries with it, and the
# domain is still issued.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t,
    env => { PEBBLE_WFE_NONCEREJECT => 90 });

my $D = 'nonce.customer.test';

$t->challtestsrv;
$t->set_cname($D, 'edge.crm.test');
$t->add_a('edge.crm.test', ['127.0.0.1']);

$pebble->start;
like($pebble->log_since_start, qr/Configured to reject 90% of good nonces/,
     'Pebble rejects 90% of good nonces');

$t->write_config($t->standard_config(log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

my $r = $t->verify($D);
is($r->{status}, 202, 'POST: 202');

my ($j, $ok) = $pebble->wait_issued($D, 30);
ok($ok, 'issued/issued despite the rejected nonces')
    or diag(explain $j), diag($pebble->notices);
is($j->{last_error}, undef, 'no last_error') or diag(explain $j->{last_error})
    if $ok;

my $hs = $pebble->verified_handshake($D);
ok($hs->{ok}, 'the presented chain verifies against Pebble\'s root')
    or diag($hs->{error});
is_deeply($hs->{san}, [ $D ], 'SAN is D');
is($hs->{fingerprint} // 'no handshake', $j->{certificate}{sha256} // 'none',
   'the status\'s sha256 is the presented leaf\'s');

# Pebble answers a rejected nonce with 400 badNonce before the handler
# runs; count the POSTs it logged against the one order's needs
my @posts = grep { /^POST / } $pebble->requests;
note(scalar(@posts) . " POSTs logged by Pebble");
# about 8 POSTs are needed; with 9 in 10 rejected, about 80 are sent
cmp_ok(scalar @posts, '>=', 20,
       'far more POSTs than a run without rejections needs (retries happened)');
is($pebble->order_count, 1, 'exactly one order');
is($pebble->issued_count, 1, 'exactly one certificate');

done_testing;
