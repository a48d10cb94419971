#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Reverification: the DNS rule of an issued domain is run again every
# linkcert_reverify_interval and before every renewal.
#
# 1. An imported certificate (not due for renewal), linkcert_reverify_interval
#    2s: its DNS is checked again and again; when the domain points
#    elsewhere the check fails (dns_mismatch, then dns_missing): the
#    domain is unknown / failed (the public probe too) with its
#    certificate still served, dns.verified=false, and a next check
#    within the hour; nothing is ordered.  DNS back + "Verify domain" ->
#    issued again, still nothing ordered (the certificate is not due).
# 2. A certificate issued by Pebble, its DNS moved away, then a renewal pass
#    (renew_at 0% and a reload): no renewal, the reason shown, the
#    certificate still served.  DNS back + POST -> renewed.

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
my $R = 'imported.customer.test';     # case 1
my $D = 'moved.customer.test';        # case 2
my $ELSEWHERE = 'other-cdn.example.test';

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($R, $TARGET);
$t->set_cname($D, $TARGET);

my ($r_chain) = $t->store_domain($R);
my $r_fp = $t->fingerprint_of_file($r_chain);

$pebble->start;

# nginx.conf's linkcert directives (standard_config adds the zone, the
# store, the key and "linkcert on"), and linkcert_renew_at when given
my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;

    linkcert_reverify_interval 2s;
    %%RENEW_AT%%
EOF

sub config {
    my ($renew_at) = @_;
    return ($t->standard_config(workers => 2, log_level => 'info',
                                http => $HTTP),
            RENEW_AT => defined $renew_at ? "linkcert_renew_at $renew_at;"
                                          : '');
}

$t->write_config(config());
$t->run;

sub checked_at { $t->parse_time($_[0]{dns} && $_[0]{dns}{checked_at}) }

sub failed_check_ok {
    my ($name, $j, $type, $fp, $since) = @_;
    is($j->{status}, 'unknown', "$name: status unknown") or diag(explain $j);
    is($j->{stage}, 'failed', "$name: stage failed");
    is($j->{last_error}{source}, 'dns', "$name: last_error.source dns");
    is($j->{dns}{verified}, JSON::PP::false, "$name: dns.verified false");
    is($j->{last_error}{type}, $type, "$name: last_error.type $type")
        or diag(explain $j->{last_error});
    like($j->{last_error}{detail} // '', qr/\S/, "$name: with a detail");
    like($j->{last_error}{at} // '', $RFC3339, "$name: last_error.at");
    cmp_ok($t->parse_time($j->{last_error}{at}) // 0, '>=', int($since),
           "$name: the error is from this check");
    is($j->{certificate}{sha256}, $fp, "$name: the certificate is kept");
    is($t->handshake($D eq $name ? $D : $R), $fp,
       "$name: and still served");
    my $next = $t->parse_time($j->{next_attempt_at});
    ok(defined $next, "$name: next_attempt_at is set")
        or diag(explain $j);
    cmp_ok($next // 0, '>', time, "$name: next check in the future");
    cmp_ok($next // 9e9, '<=', time + 3600 + 5,
           "$name: and within the hour");
}


###########################################################################
# 1. periodic reverification of an imported certificate

my $start = time;
my ($j, $got) = $t->wait_status($R, sub { defined checked_at($_[0]) }, 6);
ok($got, sprintf('the imported domain\'s DNS is checked (%.1f s after the '
   . 'start)', time - $start)) or diag(explain $j), diag($pebble->notices);
my $first_check = checked_at($j) // 0;
is($j->{dns}{verified}, JSON::PP::true, 'verified') or diag(explain $j);
is($j->{status}, 'issued', 'status issued');

($j, $got) = $t->wait_status($R, sub { (checked_at($_[0]) // 0) > $first_check }, 6);
ok($got, 'and checked again a few seconds later (linkcert_reverify_interval 2s)')
    or diag(explain $j);
is($j->{dns}{verified}, JSON::PP::true, 'still verified');
is($j->{certificate}{sha256}, $r_fp, 'the imported certificate');
is($pebble->order_count, 0, 'nothing ordered: the certificate is not due');

# the customer points the domain elsewhere
$t->set_cname($R, $ELSEWHERE);
my $moved_at = time;

($j, $got) = $t->wait_status($R, sub {
    ($_[0]{last_error}{type} // '') eq 'dns_mismatch' }, 6);
ok($got, sprintf('the next periodic check saw it (%.1f s)', time - $moved_at))
    or diag(explain $j);

# without the periodic check, "Verify domain" shows the rest
my $post_at = 0;
unless ($got) {
    $post_at = time;
    my $r = $t->verify($R);
    is($r->{status}, 202, 'POST (instead of the periodic check): 202');
    ($j) = $t->wait_status($R, sub {
        ($_[0]{last_error}{type} // '') eq 'dns_mismatch' }, 6);
}

subtest 'pointed elsewhere: unknown, dns_mismatch, certificate served' => sub {
    failed_check_ok($R, $j, 'dns_mismatch', $r_fp, $moved_at);
    like($j->{last_error}{detail} // '', qr/\Q$TARGET\E/,
         'the detail names the edge');
    is_deeply($j->{dns}{cname_chain}, [ $R, $ELSEWHERE ],
              'dns.cname_chain shows where it points');
    my $pub = $t->http(GET => '/.well-known/ssl-status', host => $R);
    is($pub->{json}{status}, 'unknown', 'public status: unknown');
    my @lines = $pebble->error_log_lines(
        qr{\[notice\].*linkcert: "\Q$R\E" issued/verifying -> unknown/failed: DNS});
    cmp_ok(scalar @lines, '>=', 1, 'the check is logged');
};

# checked again within the hour, not every 2 s: the state holds still
my $seen = checked_at($j) // 0;
sleep 4.5;
$j = $t->status_of($R)->{json} // {};
is(checked_at($j), $seen, 'after a failure the next check waits (not every 2 s)');

# no record at all; "Verify domain" re-checks at once
$t->clear_cname($R);
$t->wait_post_limit($R);
$post_at = time;
my $r = $t->verify($R);
is($r->{status}, 202, 'POST: 202') or diag($r->{raw});
is($r->{json}{status}, 'pending', 'the answer: pending, being checked');
($j, $got) = $t->wait_status($R, sub {
    ($_[0]{last_error}{type} // '') eq 'dns_missing' }, 6);

subtest 'no record: unknown, dns_missing, certificate served' => sub {
    ok($got, 'checked') or diag(explain $j);
    failed_check_ok($R, $j, 'dns_missing', $r_fp, $post_at);
};

# back: verified, nothing ordered (67%, not due)
$t->set_cname($R, $TARGET);
$t->wait_post_limit($R);
$r = $t->verify($R);
is($r->{status}, 202, 'POST after the DNS is back: 202') or diag($r->{raw});
($j, $got) = $t->wait_status($R, sub {
    ($_[0]{stage} // '') eq 'issued' && $_[0]{dns}{verified} }, 6);

subtest 'DNS back: verified, not due, nothing ordered' => sub {
    ok($got, 'verified again') or diag(explain $j);
    is($j->{status}, 'issued', 'status issued');
    is($j->{last_error}, undef, 'last_error cleared');
    is($j->{certificate}{sha256}, $r_fp, 'the same certificate');
    sleep 1;
    is($pebble->order_count, 0, 'no order');
};

# case 2 renews everything that is due: this one stays out of it
$t->clear_cname($R);


###########################################################################
# 2. a renewal pass while the DNS points elsewhere

my $d_post = time;
$r = $t->verify($D);
is($r->{status}, 202, "POST $D: 202") or diag($r->{raw});
my ($issued, $ok) = $pebble->wait_issued($D, 20);
ok($ok, "$D issued") or diag(explain $issued), diag($pebble->notices);
my $d_fp = $issued->{certificate}{sha256} // '';
my $orders = $pebble->order_count;

$t->set_cname($D, $ELSEWHERE);
$t->write_config(config('0%'));
my $reload_at = time;
$t->reload;

($j, $got) = $t->wait_status($D, sub {
    ($_[0]{last_error}{type} // '') eq 'dns_mismatch' }, 6);
sleep 3;    # a renewal that went ahead anyway would be ordered by now

subtest 'renewal pass, DNS elsewhere: no renewal, reason shown, served' => sub {
    ok($got, 'the pass checked the DNS') or diag(explain $j);
    my $now = $t->status_of($D)->{json} // {};
    failed_check_ok($D, $now, 'dns_mismatch', $d_fp, $reload_at);
    is($pebble->order_count, $orders, 'no order at Pebble');
    my $hs = $pebble->verified_handshake($D);
    ok($hs->{ok}, 'the Pebble certificate still verifies') or diag($hs->{error});
    is($hs->{fingerprint}, $d_fp, 'and is the one served');
    my @renewing = $pebble->error_log_lines(qr{"\Q$D\E" \S+ -> issued/renewing});
    is(scalar @renewing, 0, 'no renewal logged') or diag(join "\n", @renewing);
};

# the customer fixes the DNS and presses "Verify domain"
$t->set_cname($D, $TARGET);
$t->wait_post_limit($D);
my $fixed_at = time;
$r = $t->verify($D);
is($r->{status}, 202, 'POST after the fix: 202') or diag($r->{raw});
is($r->{json}{status}, 'pending', 'the answer: pending, being checked');

($j, $got) = $t->wait_status($D, sub {
    ($_[0]{certificate}{sha256} // $d_fp) ne $d_fp
        && ($_[0]{stage} // '') eq 'issued' }, 20);

subtest 'DNS back + POST: renewed' => sub {
    ok($got, sprintf('a new certificate (%.1f s after the POST)',
       time - $fixed_at)) or diag(explain $j), diag($pebble->notices);
    is($j->{status}, 'issued', 'status issued');
    is($j->{last_error}, undef, 'last_error cleared');
    is($j->{dns}{verified}, JSON::PP::true, 'dns.verified');
    is($pebble->order_count, $orders + 1, 'one new order');
    my $hs = $pebble->verified_handshake($D);
    ok($hs->{ok}, 'the new chain verifies') or diag($hs->{error});
    is($hs->{fingerprint}, $j->{certificate}{sha256}, 'the new leaf is served');
    my @lines = $pebble->error_log_lines(
        qr{\[notice\].*linkcert: "\Q$D\E" pending/verifying -> issued/renewing: DNS verified});
    is(scalar @lines, 1, 'pending/verifying -> issued/renewing logged once');
};

subtest "$R, without DNS, was checked at the pass but not renewed" => sub {
    my $jr = $t->status_of($R)->{json} // {};
    is($jr->{status}, 'unknown', 'unknown');
    is($jr->{last_error}{type}, 'dns_missing', 'dns_missing')
        or diag(explain $jr);
    is($t->handshake($R), $r_fp, 'its certificate is served');
};

$t->no_crash_ok;

done_testing;
