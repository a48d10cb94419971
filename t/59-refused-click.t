#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The help page's "Stuck on pending" / "Unknown" after a first click on a
# new domain whose DNS is wrong, on demand, against challtestsrv and
# Pebble.
#
# 1. The first click on a name CNAMEd elsewhere gets the fallback; the
#    name is not in the table, but GET ?domain= answers unknown / none
#    with the refusal as last_error (dns_mismatch, source dns, the detail
#    naming the edge, at) and next_attempt_at, 30 s later: not the object
#    of a name never seen.  A second click meanwhile gets the fallback at
#    once, the record unchanged.
# 2. 20 random names refused for their DNS: none takes a table slot
#    (linkcert_domains and the listing stay empty), each shows its
#    dns_missing.
# 3. The customer fixes the CNAME; without any POST, a click after
#    next_attempt_at is held and gets the Pebble certificate, within a
#    minute of the fix.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);
my $RFC3339 = LinkCert::Test::rfc3339_re();

my $TARGET = 'edge.crm.test';
my $D = 'links.new-customer.test';
my $ELSEWHERE = 'cdn.other-vendor.test';
my $FALLBACK = $t->fallback_fingerprint;

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($D, $ELSEWHERE);

$pebble->start;

$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;

    linkcert_on_demand dns;
EOF
$t->run;

sub domains_in_table {
    my $m = $t->metric_values;
    my $n = 0;
    $n += $m->{"linkcert_domains{status=\"$_\"}"} // 0
        for qw(issued pending unknown);
    my $list = $t->http(GET => '/.well-known/ssl-status/domains', key => 1);
    return ($n, scalar @{ $list->{json}{domains} // [] });
}

my $never = $t->status_of('never-seen.customer.test')->{json} // {};


###########################################################################
# 1. the first click, DNS wrong

my $clicked = time;
is($t->handshake($D), $FALLBACK, 'the first click: the fallback');
my ($j, $ok) = $t->wait_status($D, sub { $_[0]{last_error} }, 5);
my $at = $j->{last_error}{at};

subtest 'GET ?domain=: unknown, with why and when it is tried again' => sub {
    ok($ok, 'a last_error') or diag(explain $j), diag($pebble->notices);
    is("$j->{status}/$j->{stage}", 'unknown/none',
       'unknown / none: not in the table');
    is($j->{last_error}{type}, 'dns_mismatch', 'last_error.type dns_mismatch');
    is($j->{last_error}{source}, 'dns', 'last_error.source dns');
    like($j->{last_error}{detail} // '',
         qr/\Q$D\E is a CNAME to \Q$ELSEWHERE\E; expected \Q$TARGET\E/,
         'the detail: where it points, and where it should');
    like($at // '', $RFC3339, 'last_error.at');
    cmp_ok(abs(($t->parse_time($at) // 0) - $clicked), '<=', 2,
           'at: the click');
    my $next = $t->parse_time($j->{next_attempt_at}) // 0;
    cmp_ok($next - ($t->parse_time($at) // 0), '==', 30,
           'next_attempt_at: 30 s after the refusal');
    is($j->{certificate}, undef, 'no certificate');
    is($j->{updated_at}, undef, 'updated_at null, as for a name not seen');
    isnt($j->{last_error}, $never->{last_error},
         'not the object of a name never seen');
    is($never->{last_error}, undef, '(whose last_error is null)');
    my ($n, $listed) = domains_in_table();
    is($n, 0, 'metrics: no domain in the table');
    is($listed, 0, 'the listing: empty');
};

my $t0 = time;
is($t->handshake($D), $FALLBACK, 'a second click: the fallback');
cmp_ok(time - $t0, '<', 0.5, 'at once (the negative cache)');
is($t->status_of($D)->{json}{last_error}{at}, $at,
   'the same refusal shown');


###########################################################################
# 2. random names

my @random = map {
    join('', map { ('a' .. 'z')[rand 26] } 1 .. 10) . '.random.test'
} 1 .. 20;

for my $name (@random) {
    $t->handshake($name);
}

my ($k) = $t->wait_status($random[-1], sub { $_[0]{last_error} }, 5);

subtest '20 random names: no table slot, each shows its refusal' => sub {
    is($k->{last_error}{type}, 'dns_missing', 'dns_missing')
        or diag(explain $k);
    like($k->{last_error}{detail} // '',
         qr/has no CNAME, A or AAAA record; expected a CNAME to \Q$TARGET\E/,
         'the detail names the record to add');
    my @shown = grep {
        ($t->status_of($_)->{json}{last_error}{type} // '') eq 'dns_missing'
    } @random;
    is(scalar @shown, 20, 'all 20 shown');
    my ($n, $listed) = domains_in_table();
    is($n, 0, 'metrics: still no domain in the table');
    is($listed, 0, 'the listing: still empty');
    is($t->metric_values->{'linkcert_on_demand_total{result="refused_dns"}'},
       21, 'refused_dns: 21');
};


###########################################################################
# 3. the customer fixes the DNS; a click, no POST

$t->set_cname($D, $TARGET);
my $fixed = time;
my $retry = $t->parse_time($j->{next_attempt_at}) // time + 30;
sleep $retry - time + 0.5 if $retry + 0.5 > time;

my $hs = $pebble->verified_handshake($D, timeout => 15);

subtest 'a click after next_attempt_at: the certificate, no POST' => sub {
    ok($hs->{ok}, 'the click gets the Pebble certificate, and it verifies')
        or diag($hs->{error}), diag($pebble->notices);
    isnt($hs->{fingerprint} // '', $FALLBACK, 'not the fallback');
    cmp_ok(time - $fixed, '<', 60,
           sprintf('%.1f s after the fix (under a minute)', time - $fixed));
    my $s = $t->status_of($D)->{json} // {};
    is("$s->{status}/$s->{stage}", 'issued/issued', 'issued');
    is($s->{last_error}, undef, 'last_error null');
    is($s->{certificate}{sha256}, $hs->{fingerprint}, 'the one served');
    my @seen = grep { /"\Q$D\E" unknown\/none -> pending\/verifying: first seen, verified on demand/ }
               split /\n/, $t->error_log;
    is(scalar @seen, 2, 'admitted on demand twice: the refused click, '
       . 'and this one');
};

$t->no_crash_ok;

done_testing;
