#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Re-issue: POST /.well-known/ssl-status?domain=D&reissue=1 ("you may need
# to re-issue the SSL certificate"), against challtestsrv and Pebble.
#
# 1. An issued domain, reissue=1: 202, the DNS is checked, then a new
#    order with a new key; the old certificate is served while the CA
#    validates (HTTP-01 held until the test has looked) and the new one
#    from the moment it is stored; one new order at Pebble; the status
#    stays issued throughout.
# 2. reissue=1 while the DNS points elsewhere: the check comes first, the
#    domain is unknown with dns_mismatch and nothing is ordered; DNS back
#    and reissue=1: issued with a new key.
# 3. The duplicate-certificate limit: the 4th certificate of the name
#    within 7 days was the last; reissue=1 answers 429 duplicate_limit,
#    with the reason and Retry-After; nothing changes.
# 4. reissue=2: 400 invalid_argument.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $delay = LinkCert::Pebble::Delay->new($t);
my $pebble = LinkCert::Pebble->new($t, http_port => $delay->port,
    env => { PEBBLE_AUTHZREUSE => 0 });    # every order is validated
my $RFC3339 = LinkCert::Test::rfc3339_re();

my $TARGET = 'edge.crm.test';
my $D = 'links.reissue.test';
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

my $key_file = $t->store . "/domains/$D/privkey.pem";

# "Verify domain", with reissue=1 unless $plain, 10 s after the last one
sub post {
    my ($plain) = @_;
    return $t->verify_again($D, $plain ? () : (query => 'reissue=1'));
}

sub new_certificate {
    my ($old_fp, $timeout) = @_;
    return $t->wait_status($D, sub {
        ($_[0]{certificate}{sha256} // $old_fp) ne $old_fp
        && ($_[0]{stage} // '') eq 'issued' }, $timeout);
}


###########################################################################
# issued

my $r = post(1);
is($r->{status}, 202, 'POST: 202') or diag($r->{raw});
my ($j, $ok) = $pebble->wait_issued($D, 20);
ok($ok, "$D issued") or diag(explain $j), diag($pebble->notices);
my $fp1 = $j->{certificate}{sha256} // '';
my $pub1 = $t->pubkey_of_key($key_file);
my $orders = $pebble->order_count;


###########################################################################
# 1. reissue=1

$delay->hold;
$r = post();
my $posted = time;

subtest 'reissue=1: 202, a new key ordered, the old certificate meanwhile' => sub {
    is($r->{status}, 202, 'answered 202') or diag($r->{raw});
    is($r->{json}{status}, 'issued', 'the answer: issued');
    is($r->{json}{stage}, 'verifying', 'stage verifying: the DNS first');
    like($r->{json}{message} // '', qr/new key/, 'the message says so');

    my ($k, $got) = $t->wait_status($D, sub {
        ($_[0]{stage} // '') eq 'renewing' }, 5);
    ok($got, 'then renewing') or diag(explain $k);
    is($k->{status}, 'issued', 'still issued');
    ok($delay->wait_request($D, 10), 'the CA validates (held)');
    my $during = $pebble->verified_handshake($D);
    is($during->{fingerprint}, $fp1, 'meanwhile the old certificate is served');
    is($t->status_of($D)->{json}{certificate}{sha256}, $fp1,
       'and listed');
};
$delay->release;

($j, $ok) = new_certificate($fp1, 20);
my $fp2 = $j->{certificate}{sha256} // '';

subtest 'the new certificate' => sub {
    ok($ok, sprintf('stored (%.1f s after the POST)', time - $posted))
        or diag(explain $j), diag($pebble->notices);
    is($j->{status}, 'issued', 'issued');
    is($j->{last_error}, undef, 'last_error null');
    like($j->{renew_at} // '', $RFC3339, 'renew_at');
    isnt($t->pubkey_of_key($key_file), $pub1, 'a new key');
    is($pebble->order_count, $orders + 1, 'one new order at Pebble');
    my $hs = $pebble->verified_handshake($D);
    ok($hs->{ok}, 'it verifies') or diag($hs->{error});
    is($hs->{fingerprint}, $fp2, 'and is served, without a reload');
};


###########################################################################
# 2. reissue=1 while the DNS points elsewhere

$orders = $pebble->order_count;
$t->set_cname($D, $ELSEWHERE);
$r = post();
is($r->{status}, 202, 'reissue=1, DNS elsewhere: 202') or diag($r->{raw});
($j, $ok) = $t->wait_status($D, sub { ($_[0]{stage} // '') eq 'failed' }, 8);

subtest 'the DNS is checked first: unknown, nothing ordered' => sub {
    ok($ok, 'checked') or diag(explain $j);
    is($j->{status}, 'unknown', 'unknown');
    is($j->{last_error}{type}, 'dns_mismatch', 'dns_mismatch');
    is($j->{last_error}{source}, 'dns', 'source dns');
    sleep 1;
    is($pebble->order_count, $orders, 'no order');
    is($t->handshake($D), $fp2, 'the certificate is still served');
};

$t->set_cname($D, $TARGET);
my $pub2 = $t->pubkey_of_key($key_file);
$r = post();
is($r->{status}, 202, 'DNS back, reissue=1: 202') or diag($r->{raw});
is($r->{json}{status}, 'pending', 'the answer: pending');
($j, $ok) = new_certificate($fp2, 20);

subtest 'DNS back: issued with a new key' => sub {
    ok($ok, 'a new certificate') or diag(explain $j), diag($pebble->notices);
    is($j->{status}, 'issued', 'issued');
    isnt($t->pubkey_of_key($key_file), $pub2, 'a new key');
    is($pebble->order_count, $orders + 1, 'one order');
};
my $fp3 = $j->{certificate}{sha256} // '';


###########################################################################
# 3. the duplicate-certificate limit: 4 within 7 days

$r = post();
is($r->{status}, 202, 'a third reissue: 202') or diag($r->{raw});
($j, $ok) = new_certificate($fp3, 20);
ok($ok, 'the fourth certificate of the name') or diag(explain $j);
my $fp4 = $j->{certificate}{sha256} // '';
$orders = $pebble->order_count;

$r = post();

subtest 'a fifth: refused, with the reason' => sub {
    is($r->{status}, 429, 'answered 429') or diag($r->{raw});
    is($r->{json}{error}, 'duplicate_limit', 'error duplicate_limit');
    like($r->{json}{detail} // '', qr/4 certificates .* within 7 days/,
         'the detail says why');
    like($r->{json}{detail} // '', qr/no reissue before \d{4}-/,
         'and until when');
    my $after = $r->{headers}{'retry-after'} // 0;
    cmp_ok($after, '>', 6 * 86400, 'Retry-After: about a week');
    cmp_ok($after, '<=', 7 * 86400, 'not more');
    my $k = $t->status_of($D)->{json} // {};
    is("$k->{status}/$k->{stage}", 'issued/issued', 'the domain as it was');
    is($k->{certificate}{sha256}, $fp4, 'with its certificate');
    sleep 1;
    is($pebble->order_count, $orders, 'no order');
};

$r = post(1);
is($r->{status}, 202, 'a plain "Verify domain" is still taken') or diag($r->{raw});
like($r->{json}{message} // '', qr/no new certificate is ordered/,
     'a re-check');


###########################################################################
# 4. a bad value

$r = $t->http(POST => "/.well-known/ssl-status?domain=$D&reissue=2", key => 1);
is($r->{status}, 400, 'reissue=2: 400');
is($r->{json}{error}, 'invalid_argument', 'invalid_argument');

$t->no_crash_ok;

done_testing;
