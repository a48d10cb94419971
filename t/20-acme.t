#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# ACME issuance against Pebble, the happy path: "Verify domain" (POST) ->
# DNS verified -> account -> order -> HTTP-01 answered by nginx -> finalize
# -> certificate in the store -> issued, presented at the next handshake
# without a reload.  Then the store's files and modes, the account key, the
# full status object against the handshake, the challenge location for an
# unknown token, a restart (no new order, same account), and a second
# domain with linkcert_key_type rsa2048 on the same account.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use LinkCert::Util qw(read_file);
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);
my $RFC3339 = LinkCert::Test::rfc3339_re();

my $TARGET = 'edge.crm.test';
my $D = 'links.customer.test';
my $D2 = 'rsa.customer.test';

$t->challtestsrv;
$t->set_cname($D, $TARGET);
$t->set_cname($D2, $TARGET);
$t->add_a($TARGET, ['127.0.0.1']);

$pebble->start;

# nginx.conf's linkcert directives (standard_config adds the zone, the
# store, the key and "linkcert on"): DNS verification against
# challtestsrv, Pebble as the CA, and linkcert_key_type when given
my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
    linkcert_acme_contact mailto:ops@crm.test;
    %%KEY_TYPE%%
EOF

sub config {
    my ($key_type) = @_;
    return ($t->standard_config(workers => 2, log_level => 'info',
                                http => $HTTP),
            KEY_TYPE => defined $key_type ? "linkcert_key_type $key_type;"
                                          : '');
}

$t->write_config(config());
$t->run;

my $store = $t->store;
my $chain_file = "$store/domains/$D/fullchain.pem";
my $key_file = "$store/domains/$D/privkey.pem";
my $account_key = "$store/account/account.key";

sub mode_of { my @s = stat $_[0]; return @s ? sprintf('%04o', $s[2] & 07777) : 'missing' }

sub leaf_text {
    my ($file) = @_;
    return scalar `openssl x509 -in '$file' -noout -text 2>&1`;
}


###########################################################################

my ($before) = $t->status_of($D)->{json};
is($before->{stage}, 'none', "$D: never seen before the POST");

my $posted_at = time;
my $r = $t->verify($D);
is($r->{status}, 202, 'POST: 202') or diag($r->{raw});

my ($j, $ok) = $pebble->wait_issued($D, 20);
my $took = time - $posted_at;
ok($ok, sprintf('issued/issued (after %.1f s)', $took))
    or diag(explain $j), diag($pebble->notices);
cmp_ok($took, '<', 15, 'issued within 15 s of the POST');

# the handshake, verified against Pebble's root
my $hs = $pebble->verified_handshake($D);

subtest 'the handshake presents a chain to Pebble\'s root for D' => sub {
    ok($hs->{ok}, 'the chain verifies against Pebble\'s root, name ' . $D)
        or diag($hs->{error});
    is_deeply($hs->{san}, [ $D ], 'SAN is exactly D');
    cmp_ok(scalar @{ $hs->{chain} // [] }, '>=', 2,
           'leaf and intermediate are sent');
    isnt($hs->{fingerprint}, $t->fallback_fingerprint, 'not the fallback');
    is($t->handshake($D), $hs->{fingerprint},
       'another handshake (other worker, maybe) presents the same leaf');
    is($t->handshake(undef), $t->fallback_fingerprint,
       'without SNI: still the fallback');
};

subtest 'the store' => sub {
    ok(-f $chain_file, 'fullchain.pem written');
    ok(-f $key_file, 'privkey.pem written');
    is(mode_of($key_file), '0600', 'privkey.pem is 0600');
    my ($vok, $out) = $pebble->openssl_verify($chain_file);
    ok($vok, 'fullchain.pem verifies (openssl verify) against Pebble\'s root')
        or diag($out);
    is($t->fingerprint_of_file($chain_file), $hs->{fingerprint},
       'fullchain.pem\'s leaf is the presented one');
    my $text = leaf_text($chain_file);
    like($text, qr/ASN1 OID: prime256v1/, 'default key type: EC P-256');
    like($text, qr/DNS:\Q$D\E\b/, 'SAN in the file');
    my $dir_mode = mode_of("$store/domains/$D");
    like($dir_mode, qr/^0[0-7]00$/, "the domain directory is not open to others ($dir_mode)");
};

my $account_bytes = read_file($account_key);

subtest 'the account key' => sub {
    ok(defined $account_bytes, 'account/account.key exists');
    is(mode_of($account_key), '0600', 'account.key is 0600');
    like($account_bytes // '', qr/-----BEGIN [A-Z ]*PRIVATE KEY-----/,
         'account.key is a PEM private key');
    my $apub = $t->pubkey_of_key($account_key);
    my $cpub = $t->pubkey_of_key($key_file);
    like($apub, qr/BEGIN PUBLIC KEY/, 'account key readable by openssl');
    isnt($apub, $cpub, 'the certificate key is not the account key');
    is($pebble->account_count, 1, 'Pebble has exactly one account');
};

subtest 'the full status object' => sub {
    my $s = $t->status_of($D)->{json} // {};
    is($s->{status}, 'issued', 'status issued');
    is($s->{stage}, 'issued', 'stage issued');
    is($s->{last_error}, undef, 'last_error null')
        or diag(explain $s->{last_error});
    is($s->{next_attempt_at}, undef, 'next_attempt_at null');
    like($s->{updated_at} // '', $RFC3339, 'updated_at');
    my $c = $s->{certificate} // {};
    is($c->{sha256}, $hs->{fingerprint}, 'sha256 = the handshake\'s leaf');
    is($c->{serial}, $t->serial_of_file($chain_file),
       'serial = the leaf\'s serial (uppercase hex)');
    is($c->{serial}, $hs->{serial}, 'serial = the presented leaf\'s');
    my @pebble_serials = map { s/^0+//r } $pebble->issued_serials;
    ok((grep { $_ eq lc(($c->{serial} // '') =~ s/^0+//r) } @pebble_serials),
       'Pebble logged issuing that serial')
        or diag("pebble: @pebble_serials");
    my ($issuer_cn) = ($hs->{issuer} // '') =~ /CN=([^\/,]+)/;
    is($c->{issuer}, $issuer_cn, 'issuer = the leaf issuer\'s CN');
    like($c->{issuer} // '', qr/^Pebble Intermediate CA/, 'Pebble\'s intermediate');
    my ($nb, $na) = $t->dates_of_file($chain_file);
    is($c->{not_before}, $nb, 'not_before');
    is($c->{not_after}, $na, 'not_after');
    cmp_ok($t->parse_time($c->{not_after}) // 0, '>', time + 86400,
           'not_after is in the future');
    is($s->{dns}{verified}, JSON::PP::true, 'dns.verified still true');

    my $pub = $t->http(GET => '/.well-known/ssl-status', host => $D,
                       https => 1);
    is($pub->{json}{status}, 'issued', 'the public object over HTTPS: issued');
    is($pub->{json}{certificate}{not_after}, $na, '... with not_after');
};

subtest 'the log' => sub {
    my @ready = $pebble->error_log_lines(qr/ACME account ready: \S+/);
    is(scalar @ready, 1, 'one "ACME account ready" line') or diag("@ready");
    my $port = $pebble->port;
    like($ready[0] // '', qr{ACME account ready: https://localhost:$port/\S+},
         'with the account URL');
    my @issued = $pebble->error_log_lines(
        qr{\[notice\].*linkcert: "\Q$D\E" pending/ordering -> issued/issued});
    is(scalar @issued, 1, 'one notice for pending/ordering -> issued/issued')
        or diag($pebble->notices);
    my @alerts = $pebble->error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
    is(scalar @alerts, 0, 'no alert, crit or emerg') or diag(join "\n", @alerts);
};

is($pebble->order_count, 1, 'Pebble saw exactly one order');
is($pebble->issued_count, 1, 'Pebble issued exactly one certificate');

subtest 'an unknown challenge token falls through to the location' => sub {
    my $token = join '', map { ('a' .. 'z', 'A' .. 'Z', 0 .. 9, '-', '_')[rand 64] } 1 .. 43;
    my $r = $t->http(GET => "/.well-known/acme-challenge/$token", host => $D);
    is($r->{status}, 200, 'answered by the location: 200');
    is($r->{body}, "tracker\n", 'the location\'s body, not a key authorization');
    unlike($r->{body} // '', qr/^\Q$token\E\./, 'not "token.thumbprint"');

    $r = $t->http(GET => "/.well-known/acme-challenge/$token",
                  host => 'other.customer.test');
    is($r->{body}, "tracker\n", 'for another Host too');
};


###########################################################################
# restart: the certificate and the account survive, nothing is ordered

my $orders = $pebble->order_count;
my $accounts = $pebble->account_count;
my $chain_bytes = read_file($chain_file);

$t->stop;
$t->run;

subtest 'after a restart' => sub {
    my $s = $t->status_of($D)->{json} // {};
    is($s->{status}, 'issued', 'status issued');
    is($s->{stage}, 'issued', 'stage issued');
    is($s->{certificate}{sha256}, $hs->{fingerprint}, 'the same certificate');

    my $again = $pebble->verified_handshake($D);
    ok($again->{ok}, 'the handshake verifies') or diag($again->{error});
    is($again->{fingerprint}, $hs->{fingerprint}, 'the same leaf is served');

    sleep 2;    # a worker that wrongly ordered again would do it by now
    is($pebble->order_count, $orders, 'no new order at Pebble');
    is(read_file($chain_file), $chain_bytes, 'fullchain.pem unchanged');
    is(read_file($account_key), $account_bytes,
       'account.key unchanged (same bytes)');
    is(mode_of($account_key), '0600', 'account.key still 0600');
};


###########################################################################
# linkcert_key_type rsa2048, a second domain, the same account

$t->stop;
$t->write_config(config('rsa2048'));
$t->run;

subtest 'rsa2048, after another restart, on the same account' => sub {
    my $r = $t->verify($D2);
    is($r->{status}, 202, "POST $D2: 202");
    my ($j2, $ok2) = $pebble->wait_issued($D2, 20);
    ok($ok2, "$D2 issued") or diag(explain $j2), diag($pebble->notices);

    my $hs2 = $pebble->verified_handshake($D2);
    ok($hs2->{ok}, "$D2: the chain verifies") or diag($hs2->{error});
    is_deeply($hs2->{san}, [ $D2 ], "$D2: SAN");

    my $file2 = "$store/domains/$D2/fullchain.pem";
    my $text = leaf_text($file2);
    like($text, qr/Public-Key: \(2048 bit\)/, 'an RSA 2048 key');
    like($text, qr/rsaEncryption/, 'rsaEncryption');
    is(mode_of("$store/domains/$D2/privkey.pem"), '0600', 'privkey.pem 0600');
    ok($pebble->error_log_lines(qr/"\Q$D2\E": key made in a thread: ok/),
       'the RSA key was made in the thread pool, off the event loop');

    is($pebble->account_count, $accounts, 'no new account at Pebble');
    my @ready = $pebble->error_log_lines(qr/ACME account ready: \S+/);
    my %urls = map { /ACME account ready: (\S+)/; $1 => 1 } @ready;
    is(scalar keys %urls, 1, 'every "account ready" names the same URL')
        or diag(join "\n", @ready);
    is(read_file($account_key), $account_bytes, 'account.key unchanged');
    is($pebble->order_count, $orders + 1, 'exactly one new order');

    is($pebble->verified_handshake($D)->{fingerprint}, $hs->{fingerprint},
       "$D is still served with its certificate");
};

done_testing;
