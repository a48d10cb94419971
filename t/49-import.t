#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# scripts/import: certificates from certbot's live/ and Caddy's
# certificates/ trees (built here) into the store, each pair checked
# first.  A dry run writes nothing; a real one imports the good pairs
# (0600 keys), skips with a reason a key that does not match, an expired
# certificate, one that does not cover its name, a wildcard and a domain
# already in the store (kept as it was); after a reload the imported
# domains are issued and served.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use File::Copy qw(copy);
use File::Path qw(make_path);

my $t = LinkCert::Test->new;
my $store = $t->store;
my $prefix = $t->prefix;
my $import = "$FindBin::Bin/../scripts/import";

# certbot: live/<name>/ holds symlinks into archive/<name>/
my $certbot = "$prefix/letsencrypt";
my %fp;

sub certbot_pair {
    my ($name, $chain, $key) = @_;
    make_path("$certbot/archive/$name", "$certbot/live/$name");
    copy($chain, "$certbot/archive/$name/fullchain1.pem") or die $!;
    copy($key, "$certbot/archive/$name/privkey1.pem") or die $!;
    symlink("../../archive/$name/fullchain1.pem",
            "$certbot/live/$name/fullchain.pem") or die $!;
    symlink("../../archive/$name/privkey1.pem",
            "$certbot/live/$name/privkey.pem") or die $!;
}

my ($c, $k) = $t->make_cert('a.certbot.test');
certbot_pair('a.certbot.test', $c, $k);
$fp{'a.certbot.test'} = $t->fingerprint_of_file($c);

my ($c2) = $t->make_cert('mismatch.certbot.test');
my (undef, $other_key) = $t->make_cert('other.certbot.test');
certbot_pair('mismatch.certbot.test', $c2, $other_key);

certbot_pair('expired.certbot.test',
             $t->make_cert('expired.certbot.test', expired => 1));
certbot_pair('wrongname.certbot.test', $t->make_cert('someone.else.test'));

open my $fh, '>', "$certbot/live/README" or die $!;
print $fh "certbot's own README\n";
close $fh;

# Caddy: certificates/<issuer>/<name>/<name>.crt and .key
my $caddy = "$prefix/caddy";
my $issuer = "$caddy/certificates/acme-v02.api.letsencrypt.org-directory";

sub caddy_pair {
    my ($name, $chain, $key) = @_;
    make_path("$issuer/$name");
    copy($chain, "$issuer/$name/$name.crt") or die $!;
    copy($key, "$issuer/$name/$name.key") or die $!;
    open my $j, '>', "$issuer/$name/$name.json" or die $!;
    print $j "{}\n";
    close $j;
}

($c, $k) = $t->make_cert('b.caddy.test');
caddy_pair('b.caddy.test', $c, $k);
$fp{'b.caddy.test'} = $t->fingerprint_of_file($c);
caddy_pair('wildcard_.w.caddy.test', $t->make_cert('*.w.caddy.test'));

# a domain the store has already: not overwritten
my ($kept) = $t->store_domain('kept.caddy.test');
caddy_pair('kept.caddy.test', $t->make_cert('kept.caddy.test'));
my $kept_fp = $t->fingerprint_of_file($kept);

sub run_import {
    my @args = @_;
    my $out = `$import --store $store --user root @args 2>&1`;
    return ($? >> 8, $out);
}

subtest 'a dry run reports and writes nothing' => sub {
    my ($rc, $out) = run_import('--dry-run', $certbot, $caddy);
    is($rc, 0, 'exit 0') or diag($out);
    like($out, qr/^would import a\.certbot\.test$/m, 'a.certbot.test');
    like($out, qr/^would import b\.caddy\.test$/m, 'b.caddy.test');
    like($out, qr/dry run: 2 would be imported, 5 skipped/, 'the summary')
        or diag($out);
    ok(!-e "$store/domains/a.certbot.test", 'nothing written');
};

subtest 'the import' => sub {
    my ($rc, $out) = run_import($certbot, "$caddy/certificates");
    is($rc, 0, 'exit 0') or diag($out);
    like($out, qr/^imported a\.certbot\.test$/m, 'a.certbot.test');
    like($out, qr/^imported b\.caddy\.test$/m, 'b.caddy.test');
    like($out, qr/^skipped  mismatch\.certbot\.test: the key does not belong/m,
         'a key of another certificate: skipped');
    like($out, qr/^skipped  expired\.certbot\.test: the certificate has expired/m,
         'an expired certificate: skipped');
    like($out, qr/^skipped  wrongname\.certbot\.test: the certificate does not cover/m,
         'a certificate of another name: skipped');
    like($out, qr/^skipped  wildcard_\.w\.caddy\.test: not a plain domain name/m,
         'a wildcard: skipped');
    like($out, qr/^skipped  kept\.caddy\.test: already in the store/m,
         'a domain in the store: kept');
    like($out, qr/2 imported, 5 skipped/, 'the summary') or diag($out);

    for my $d ('a.certbot.test', 'b.caddy.test') {
        my $key = "$store/domains/$d/privkey.pem";
        ok(-f $key && !-l $key, "$d: privkey.pem is a file, not a link");
        is((stat $key)[2] & 07777, 0600, "$d: privkey.pem 0600");
    }
    is($t->fingerprint_of_file("$store/domains/kept.caddy.test/fullchain.pem"),
       $kept_fp, 'kept.caddy.test unchanged');

    ($rc, $out) = run_import("$prefix/conf");
    is($rc, 1, 'a directory of neither kind: exit 1');
    like($out, qr/neither certbot's/, 'and says so');
};

$t->write_config($t->standard_config);
$t->run;

subtest 'served after the start' => sub {
    for my $d (sort keys %fp) {
        is($t->status_of($d)->{json}{status}, 'issued', "$d issued");
        is($t->handshake($d), $fp{$d}, "$d: its certificate is served");
    }
    is($t->status_of('mismatch.certbot.test')->{json}{stage}, 'none',
       'a skipped one is not in the table');
};

$t->no_crash_ok;
done_testing;
