#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Expiry without a successor: a certificate imported through the store
# that is valid for a few more seconds only.  Its renewal is due (it is
# past renew_at of its lifetime) but cannot happen; when not_after
# passes, within about 2 s the domain is unknown / failed with
# last_error.type "expired", the notice is logged, and handshakes get the
# fallback (never the expired certificate).
#
#   gone.customer.test     no DNS record: the renewal stops at the DNS check,
#                          the domain is unknown (dns_missing) and its
#                          certificate still served until it expires
#   cadown.customer.test   DNS fine, the ACME server refuses connections
#   acmeoff.customer.test  DNS fine, linkcert_acme_directory off
#
# With issuance off, the due renewal must not turn into DNS checks over and
# over until the certificate expires.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use IO::Socket::INET;
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $RFC3339 = LinkCert::Test::rfc3339_re();

my $TARGET = 'edge.crm.test';
my $GONE = 'gone.customer.test';
my $CADOWN = 'cadown.customer.test';
my $ACMEOFF = 'acmeoff.customer.test';
my $FALLBACK = $t->fallback_fingerprint;

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($CADOWN, $TARGET);
$t->set_cname($ACMEOFF, $TARGET);

# a loopback port where nothing listens
my $closed = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1);
    my $p = $s->sockport;
    close $s;
    $p;
};

# A certificate of the harness's test CA for $name, valid from $from to $to
# (Unix times); returns [fullchain, key] for store_domain(cert => ...).
sub short_cert {
    my ($name, $from, $to) = @_;
    return [ $t->make_cert($name, not_before => $from, not_after => $to) ];
}

sub config {
    my ($directory) = @_;
    return ($t->standard_config(workers => 2, log_level => 'info',
                                http => <<'EOF'), DIRECTORY => $directory);
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%DIRECTORY%%;
EOF
}

# Polls until $name is no longer issued (and not for its DNS, which keeps
# the certificate served), or $until; (json, when it changed).
sub wait_expired {
    my ($name, $until) = @_;
    my $j;
    while (1) {
        $j = $t->status_of($name)->{json} // {};
        return ($j, time) if ($j->{status} // '') ne 'issued'
                             && ($j->{last_error}{source} // '') ne 'dns';
        return ($j, undef) if time > $until;
        sleep 0.05;
    }
}

sub dns_checks {
    my $r = $t->http(GET => '/.well-known/ssl-status/metrics', key => 1);
    my $n = 0;
    $n += $1 while ($r->{body} // '') =~
        /^linkcert_dns_checks_total\{result="\w+"\} (\d+)$/mg;
    return $n;
}

sub expired_ok {
    my ($name, $fp, $not_after, $j, $changed) = @_;

    subtest "$name: expired" => sub {
        ok(defined $changed, 'no longer issued after not_after')
            or diag(explain $j);
        cmp_ok(($changed // 9e9) - $not_after, '<=', 2.5,
               sprintf('within about 2 s of not_after (%.1f s)',
                       ($changed // 9e9) - $not_after));
        cmp_ok($changed // 0, '>=', $not_after,
               'not before not_after');
        is($j->{status}, 'unknown', 'status unknown');
        is($j->{stage}, 'failed', 'stage failed');
        is($j->{last_error}{type}, 'expired', 'last_error.type expired')
            or diag(explain $j->{last_error});
        like($j->{last_error}{detail} // '', qr/\S/, 'with a detail');
        like($j->{last_error}{at} // '', $RFC3339, 'last_error.at');
        my $fps = join ' ', map { $t->handshake($name) // 'none' } 1 .. 6;
        is($fps, join(' ', ($FALLBACK) x 6),
           'six handshakes: the fallback, never the expired certificate');
        my $pub = $t->http(GET => '/.well-known/ssl-status', host => $name);
        is($pub->{json}{status}, 'unknown', 'public status unknown');
        my $na = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $not_after);
        my @lines = grep { /\[notice\].*linkcert: "\Q$name\E" \w+\/\w+ -> unknown\/failed: the certificate expired on \Q$na\E/ }
                    split /\n/, $t->error_log;
        is(scalar @lines, 1, 'the expiry is logged once')
            or diag(join "\n", grep { /\Q$name\E/ } split /\n/, $t->error_log);
        like($lines[0] // '', qr{"\Q$name\E" (?:issued/(?:issued|verifying|renewing)|unknown/failed) -> },
             'the line starts from the stage the domain was in');
    };
}


###########################################################################
# 1. no DNS record; DNS fine but the CA is unreachable

# 15 s: the certificates, the store and nginx's start take a few on a
# busy machine (prove -j), and a few are checked before not_after
my $now = int(time);
my $na1 = $now + 15;
my $gone = short_cert($GONE, $now - 60, $na1);
my $cadown = short_cert($CADOWN, $now - 60, $na1);
$t->store_domain($GONE, cert => $gone);
$t->store_domain($CADOWN, cert => $cadown);
my $gone_fp = $t->fingerprint_of_file($gone->[0]);
my $cadown_fp = $t->fingerprint_of_file($cadown->[0]);

$t->write_config(config("https://localhost:$closed/dir"));
$t->run;

subtest 'before not_after' => sub {
    cmp_ok(time, '<', $na1 - 4, 'there are still a few seconds left');
    for ([ $GONE, $gone_fp ], [ $CADOWN, $cadown_fp ]) {
        my ($name, $fp) = @$_;
        my $j = $t->status_of($name)->{json} // {};
        is($j->{status}, 'issued', "$name: issued");
        is($t->handshake($name), $fp, "$name: its certificate is served");
    }
};

# the renewal is due at once: each gets as far as it can
my ($g) = $t->wait_status($GONE, sub { $_[0]{dns} }, 7);
is($g->{last_error}{type}, 'dns_missing', "$GONE: the DNS check failed")
    or diag(explain $g);
is($g->{status}, 'unknown', "$GONE: unknown meanwhile (its DNS points nowhere)");
is($t->handshake($GONE), $gone_fp, "$GONE: its certificate still served");

# both expire within 7 days, each for its own cause
subtest 'metrics: certificates expiring, by cause' => sub {
    my $m = $t->metric_values;
    my $by = 'linkcert_certificates_expiring_by_cause{within="7d",cause=';
    is($m->{"${by}\"dns_moved\"}"}, 1, "dns_moved: $GONE");
    is($m->{"${by}\"renewal_failing\"}"}, 1, "renewal_failing: $CADOWN");
    is($m->{'linkcert_certificates_expiring{within="7d"}'}, 2,
       'certificates_expiring: both');
};

my ($jg, $cg) = wait_expired($GONE, $na1 + 6);
my ($jc, $cc) = wait_expired($CADOWN, $na1 + 6);
expired_ok($GONE, $gone_fp, $na1, $jg, $cg);
expired_ok($CADOWN, $cadown_fp, $na1, $jc, $cc);

# a reload finds the expired files in the store: still not served
$t->reload;
subtest 'after a reload' => sub {
    for my $name ($GONE, $CADOWN) {
        my $j = $t->status_of($name)->{json} // {};
        is($j->{status}, 'unknown', "$name: unknown");
        is($t->handshake($name), $FALLBACK, "$name: the fallback");
    }
};

$t->no_crash_ok;
$t->stop;


###########################################################################
# 2. issuance off

$now = int(time);
my $na2 = $now + 15;
my $off = short_cert($ACMEOFF, $now - 60, $na2);
$t->store_domain($ACMEOFF, cert => $off);
my $off_fp = $t->fingerprint_of_file($off->[0]);

$t->write_config(config('off'));
$t->run;

is($t->handshake($ACMEOFF), $off_fp, "$ACMEOFF: served before not_after");
my $checks0 = dns_checks();
sleep 2;
my $checks1 = dns_checks();
cmp_ok($checks1 - $checks0, '<=', 1,
       "no DNS check loop while the certificate lasts ("
       . ($checks1 - $checks0) . " checks in 2 s)");

my ($jo, $co) = wait_expired($ACMEOFF, $na2 + 6);
expired_ok($ACMEOFF, $off_fp, $na2, $jo, $co);

my $checks2 = dns_checks();
cmp_ok($checks2, '<=', 3, "$checks2 DNS checks in all for one domain");

$t->no_crash_ok;

done_testing;
