#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The help page's "What if I change my DNS settings after the SSL
# certificate is issued?", against challtestsrv and Pebble.
#
# 1. Issued by Pebble; the customer moves the CNAME away and presses
#    "Verify domain": the domain is unknown / failed with last_error
#    dns_mismatch (source dns) whose detail names the edge to CNAME to,
#    the public probe says unknown, the certificate is still listed and
#    still served by SNI (and verifies), nothing is renewed or ordered.
# 2. A restart (the zone is new, the store's index is read): the
#    certificate is served at once, and the start's re-check finds the
#    record gone: unknown, dns_missing.
# 3. The CNAME points back; "Verify domain": issued again with the same
#    certificate, no new order at Pebble, last_error null.

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
my $D = 'links.moving.test';
my $ELSEWHERE = 'cdn.other-vendor.test';

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($D, $TARGET);

$pebble->start;

$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

sub public_status {
    return $t->http(GET => '/.well-known/ssl-status', host => $D)->{json}
           // {};
}

# "Verify domain", at least 10 s after the previous one of this run
sub post {
    my $r = $t->verify_again($D);
    is($r->{status}, 202, 'POST: 202') or diag($r->{raw});
    return $r->{json} // {};
}

sub moved_ok {
    my ($j, $type, $fp, $since) = @_;
    is($j->{status}, 'unknown', 'status unknown') or diag(explain $j);
    is($j->{stage}, 'failed', 'stage failed');
    is($j->{last_error}{type}, $type, "last_error.type $type");
    is($j->{last_error}{source}, 'dns', 'last_error.source dns');
    like($j->{last_error}{detail} // '',
         qr/expected (?:a CNAME to )?\Q$TARGET\E/,
         'the detail names the fix: a CNAME to the edge');
    cmp_ok($t->parse_time($j->{last_error}{at}) // 0, '>=', int($since),
           'last_error.at: this check');
    is($j->{dns}{verified}, JSON::PP::false, 'dns.verified false');
    is($j->{certificate}{sha256}, $fp, 'the certificate is still listed');
    is($j->{renew_at}, undef, 'renew_at null: it is not renewed');
    my $next = $t->parse_time($j->{next_attempt_at}) // 0;
    cmp_ok($next, '>', time, 'next_attempt_at: a re-check is planned');
    cmp_ok($next, '<=', time + 3600 + 5, 'within the hour');
    is(public_status()->{status}, 'unknown', 'the public probe: unknown');
    my $hs = $pebble->verified_handshake($D);
    ok($hs->{ok}, 'the certificate is still served, and verifies')
        or diag($hs->{error});
    is($hs->{fingerprint}, $fp, 'the same certificate');
}


###########################################################################
# issued

my $j = post();
my ($issued, $ok) = $pebble->wait_issued($D, 20);
ok($ok, "$D issued") or diag(explain $issued), diag($pebble->notices);
my $fp = $issued->{certificate}{sha256} // '';
my $serial = $issued->{certificate}{serial} // '';
my $orders = $pebble->order_count;
my $certs = $pebble->issued_count;
is(public_status()->{status}, 'issued', 'the public probe: issued');


###########################################################################
# 1. the CNAME moves away; "Verify domain"

$t->set_cname($D, $ELSEWHERE);
my $moved_at = time;
$j = post();
is($j->{status}, 'issued', 'the answer: issued, the DNS being re-checked');
is($j->{stage}, 'verifying', 'stage verifying');
($j, $ok) = $t->wait_status($D, sub { ($_[0]{stage} // '') eq 'failed' }, 8);
ok($ok, 'checked') or diag(explain $j);

subtest 'moved away: unknown, dns_mismatch, still served' => sub {
    moved_ok($j, 'dns_mismatch', $fp, $moved_at);
    like($j->{last_error}{detail} // '', qr/\Q$ELSEWHERE\E/,
         'the detail says where it points now');
    my $m = $t->metric_values;
    is($m->{'linkcert_domains{status="unknown"}'}, 1, 'metrics: one unknown');
    is($m->{'linkcert_domains{status="issued"}'}, 0, 'metrics: none issued');
    my $list = $t->http(GET => '/.well-known/ssl-status/domains?status=unknown',
                        key => 1)->{json}{domains} // [];
    is_deeply([ map { $_->{domain} } @$list ], [ $D ],
              'listed among the unknown domains');
    my @lines = $pebble->error_log_lines(
        qr{\[notice\].*"\Q$D\E" issued/verifying -> unknown/failed: DNS failed});
    is(scalar @lines, 1, 'one notice line') or diag($pebble->notices);
};

sleep 1;
is($pebble->order_count, $orders, 'nothing ordered');


###########################################################################
# 2. a restart, the record removed meanwhile

$t->clear_cname($D);
$t->stop;
$t->run;
my $restart_at = time;

is($t->handshake($D), $fp, 'after a restart: served at once (from the index)');
($j, $ok) = $t->wait_status($D, sub {
    ($_[0]{last_error}{type} // '') eq 'dns_missing' }, 8);
ok($ok, 'the start\'s re-check found the record gone') or diag(explain $j);

subtest 'after the restart: unknown, dns_missing, still served' => sub {
    moved_ok($j, 'dns_missing', $fp, $restart_at);
};


###########################################################################
# 3. the CNAME points back; "Verify domain"

$t->set_cname($D, $TARGET);
$j = post();                            # a new zone: at once
is($j->{status}, 'pending', 'the answer: pending, the DNS being re-checked');
like($j->{message} // '', qr/still valid.*issued again without a new order/,
     'the message: the certificate is kept, no new order');
($j, $ok) = $t->wait_status($D, sub {
    ($_[0]{status} // '') eq 'issued' && ($_[0]{stage} // '') eq 'issued' },
    8);
ok($ok, 'issued again') or diag(explain $j), diag($pebble->notices);

subtest 'back: issued, the same certificate, no new order' => sub {
    is($j->{last_error}, undef, 'last_error null');
    is($j->{dns}{verified}, JSON::PP::true, 'dns.verified');
    is($j->{certificate}{sha256}, $fp, 'the same certificate');
    is($j->{certificate}{serial}, $serial, 'the same serial');
    like($j->{renew_at} // '', $RFC3339, 'renew_at set again');
    is(public_status()->{status}, 'issued', 'the public probe: issued');
    sleep 1;
    is($pebble->order_count, $orders, 'no new order at Pebble');
    is($pebble->issued_count, $certs, 'no new certificate');
    my $hs = $pebble->verified_handshake($D);
    is($hs->{fingerprint}, $fp, 'served');
    my @lines = $pebble->error_log_lines(
        qr{\[notice\].*"\Q$D\E" pending/verifying -> issued/issued: DNS verified});
    is(scalar @lines, 1, 'pending/verifying -> issued/issued logged');
};

$t->no_crash_ok;

done_testing;
