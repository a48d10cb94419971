#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# On demand, the main path: with "linkcert_on_demand dns", the very first
# TLS handshake for a new name CNAMEd to the edge waits while the name is
# verified and issued by Pebble, and that same handshake presents the
# Pebble certificate (the client connects once, no retry); one order; the
# name is then issued in the status API and in the store.  A later
# handshake is not held.  A name pointing elsewhere is refused: its first
# handshake gets the fallback as soon as DNS says so, it leaves the table,
# and the next handshake gets the fallback at once (negative cache, 30 s
# for a DNS refusal).  No
# SNI, invalid names, and names of a server without "linkcert on" on the
# same listener admit nothing.  After a reload, the listeners are
# wrapped again: a new name is held and issued as before.  The metrics
# count all of it.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t, env => { PEBBLE_AUTHZREUSE => 0 });

my $TARGET = 'edge.crm.test';
my $D = 'links.first.test';
my $D2 = 'links.after-reload.test';
my $BAD = 'links.elsewhere.test';
my $OWN = 'own.edge.test';              # a server of its own, linkcert off
my $METRICS = '/.well-known/ssl-status/metrics';

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($D, $TARGET);
$t->set_cname($D2, $TARGET);
$t->set_cname($OWN, $TARGET);
$t->set_cname($BAD, 'cdn.example.test');
$t->add_a('cdn.example.test', ['127.0.0.9']);

$pebble->start;

$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF', servers => <<"EOF"));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;

    linkcert_on_demand dns;
EOF
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        server_name $OWN;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate fallback.crt;
        ssl_certificate_key fallback.key;
        location / { return 200 "own\n"; }
    }
EOF
$t->run;

sub metrics { $t->metric_values }

my $NEGATIVE = 'linkcert_on_demand_total{result="refused_negative"}';
my $REFUSED_DNS = 'linkcert_on_demand_total{result="refused_dns"}';

sub in_table {
    my ($name) = @_;
    my $s = $t->status_of($name)->{json} // {};
    return ($s->{stage} // 'none') ne 'none';
}

###########################################################################

my $m0 = metrics();
is($m0->{'linkcert_on_demand_total{result="admitted"}'}, 0,
   'metrics: nothing admitted yet');

my $hs = $pebble->verified_handshake($D, timeout => 15);

subtest 'the first handshake presents the new certificate' => sub {
    ok($hs->{ok}, 'verified against Pebble\'s root for ' . $D)
        or diag($hs->{error}), diag($pebble->notices);
    isnt($hs->{fingerprint} // '', $t->fallback_fingerprint,
         'not the fallback');
    cmp_ok($hs->{elapsed}, '<', 8, sprintf('within linkcert_hold (%.2f s)',
                                           $hs->{elapsed}));
    cmp_ok($hs->{elapsed}, '>', 0.05, 'it did wait for the issuance');
    is($pebble->order_count, 1, 'exactly one order');
};

subtest 'the status and the store' => sub {
    my $s = $t->status_of($D)->{json} // {};
    is($s->{status}, 'issued', 'issued');
    is($s->{certificate}{sha256}, $hs->{fingerprint},
       'the status names the presented certificate');
    ok(-f $t->store . "/domains/$D/fullchain.pem", 'fullchain.pem stored');
    my @seen = grep { /"\Q$D\E" unknown\/none -> pending\/verifying: first seen/ }
               split /\n/, $t->error_log;
    is(scalar @seen, 1, 'one "first seen" notice');
};

subtest 'a later handshake is not held' => sub {
    my $held = metrics()->{'linkcert_handshakes_total{outcome="held"}'};
    my $t0 = time;
    my $again = $pebble->verified_handshake($D);
    my $took = time - $t0;
    ok($again->{ok}, 'verified') or diag($again->{error});
    is($again->{fingerprint}, $hs->{fingerprint}, 'the same certificate');
    is(metrics()->{'linkcert_handshakes_total{outcome="held"}'}, $held,
       'held count unchanged');
    # seconds, not milliseconds: a busy machine (prove -j) is slow too
    cmp_ok($took, '<', 2, sprintf('at once (%.3f s)', $took));
};

subtest 'a name pointing elsewhere is refused and forgotten' => sub {
    my $t0 = time;
    my $fp = $t->handshake($BAD);
    my $took = time - $t0;
    is($fp, $t->fallback_fingerprint, 'the fallback');
    cmp_ok($took, '<', 3, sprintf('released when DNS said no (%.2f s)',
                                  $took));

    my $gone = 0;
    for (1 .. 40) { last if ($gone = !in_table($BAD)); sleep 0.05 }
    ok($gone, 'not in the table');

    my $m = metrics();
    $t0 = time;
    $fp = $t->handshake($BAD);
    $took = time - $t0;
    is($fp, $t->fallback_fingerprint, 'again the fallback');
    my $m2 = metrics();
    is(($m2->{$NEGATIVE} // 0) - ($m->{$NEGATIVE} // 0), 1,
       'from the negative cache (refused_negative + 1)');
    is($m2->{$REFUSED_DNS} // 0, $m->{$REFUSED_DNS} // 0,
       'DNS not asked again');
    cmp_ok($took, '<', 2, sprintf('at once (%.3f s)', $took));
    ok(!in_table($BAD), 'still not in the table');
    is($pebble->order_count, 1, 'no order for it');
    ok((grep { /"\Q$BAD\E" refused on demand, not tried again for 30 s/ }
        split /\n/, $t->error_log), 'logged with the DNS refusal\'s 30 s')
        or diag($pebble->notices);
};

subtest 'no SNI, invalid names, other servers: nothing admitted' => sub {
    my $before = metrics();
    is($t->handshake(undef), $t->fallback_fingerprint, 'no SNI: fallback');
    is($t->handshake('localhost'), $t->fallback_fingerprint,
       'one label: fallback');
    is($t->handshake('bad_name.test'), $t->fallback_fingerprint,
       'an underscore: fallback');
    is($t->handshake($OWN), $t->fallback_fingerprint,
       'a server of its own (linkcert off): its certificate, at once');
    ok(!in_table($OWN), 'that name is not in the table');
    my $after = metrics();
    is($after->{'linkcert_on_demand_total{result="admitted"}'},
       $before->{'linkcert_on_demand_total{result="admitted"}'},
       'admitted unchanged');
    is($after->{'linkcert_domains{status="pending"}'}, 0, 'nothing pending');
};

subtest 'after a reload, new names are held again' => sub {
    $t->reload;
    my $h2 = $pebble->verified_handshake($D2, timeout => 15);
    ok($h2->{ok}, 'the first handshake for a new name is verified')
        or diag($h2->{error}), diag($pebble->notices);
    is($pebble->order_count, 2, 'its one order');
    my $again = $pebble->verified_handshake($D);
    is($again->{fingerprint}, $hs->{fingerprint},
       'the first name keeps its certificate');
};

subtest 'metrics' => sub {
    my $m = metrics();
    is($m->{'linkcert_on_demand_total{result="admitted"}'}, 3,
       'admitted: the two names issued and the refused one');
    is($m->{'linkcert_on_demand_total{result="refused_dns"}'}, 1,
       'refused_dns: 1');
    cmp_ok($m->{'linkcert_on_demand_total{result="refused_negative"}'},
           '>=', 1, 'refused_negative');
    is($m->{'linkcert_handshakes_total{outcome="held"}'}, 3,
       'held: the three first handshakes');
    is($m->{'linkcert_hold_seconds_count'}, 3, 'hold histogram count');
    is($m->{'linkcert_hold_seconds_bucket{le="+Inf"}'}, 3, '+Inf bucket');
    cmp_ok($m->{'linkcert_hold_seconds_sum'}, '>', 0, 'hold sum');
    cmp_ok($m->{'linkcert_hold_seconds_bucket{le="10.000"}'}, '==', 3,
           'all within 10 s');
    is($m->{'linkcert_domains{status="issued"}'}, 2, 'two issued domains');
};

$t->no_crash_ok;

done_testing;
