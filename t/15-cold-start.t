#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The first start without the store's index (linkcert.index) reads each
# pair the cheap way (the leaf's fields, the key's public half compared
# with the leaf's, no key built) and parses in full only what that cannot
# confirm: a store of a few hundred ECDSA and RSA domains, their keys in
# PKCS#8 and in the traditional forms, starts and serves every name its
# own certificate (the served serial is the file's and the table's); a
# domain whose key is not its certificate's (ECDSA and RSA) is parsed in
# full, reported (status unknown, store_key_mismatch, logged) and not
# served, and its files are not touched.  A restart with the index
# trusts it; worker 0's check of the store after the start reads again
# the pairs changed on disk meanwhile (replaced, rewritten in place).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Util qw(openssl);
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use Net::SSLeay;

my $N_EC = 200;
my $t = LinkCert::Test->new;
my $store = $t->store;

my $out = `$FindBin::Bin/../scripts/mkstore -k -n $N_EC -p e -s cold.test $store 2>&1`;
is($?, 0, "mkstore: $N_EC ECDSA domains, a key each") or diag($out);

my @good = map { "e$_.cold.test" } 1 .. $N_EC;

for my $i (1 .. 4) {
    my $name = "r$i.cold.test";
    $t->store_domain($name, key => 'rsa');
    push @good, $name;
}

# keys in the traditional forms ("EC PRIVATE KEY", "RSA PRIVATE KEY")
for my $name (qw(e1.cold.test e2.cold.test r1.cold.test r2.cold.test)) {
    my $key = "$store/domains/$name/privkey.pem";
    openssl('pkey', '-in', $key, '-traditional', '-out', "$key.new");
    rename "$key.new", $key or die "rename: $!";
}

my %mismatch = ('mismatch-ec.cold.test' => 'ec',
                'mismatch-rsa.cold.test' => 'rsa');
$t->store_domain($_, key => $mismatch{$_}, mismatched_key => 1)
    for sort keys %mismatch;

ok(!-e "$store/linkcert.index", 'no index before the first start');
my $before = $t->snapshot("$store/domains");

$t->write_config($t->standard_config(log_level => 'info'));
$t->run;

my $n = @good + keys %mismatch;
like($t->error_log,
     qr/$n domains in the table, 0 gone from the store, loaded in \d+ ms \(0 from the index, ${\ scalar @good} read without their keys, 2 parsed\)/,
     'every good pair read without its key, the two broken ones parsed');
ok(-e "$store/linkcert.index", 'the index written');

# (sha256, serial) of the first certificate of a PEM file or the peer's
sub file_cert {
    my ($file) = @_;
    my $bio = Net::SSLeay::BIO_new_file($file, 'r') or die "$file: $!";
    my $x = Net::SSLeay::PEM_read_bio_X509($bio);
    Net::SSLeay::BIO_free($bio);
    my $id = cert_id($x);
    Net::SSLeay::X509_free($x);
    return $id;
}

sub cert_id {
    my ($x) = @_;
    return lc(unpack 'H*', Net::SSLeay::X509_digest($x,
                               Net::SSLeay::EVP_get_digestbyname('sha256')))
           . ' ' . uc Net::SSLeay::P_ASN1_INTEGER_get_hex(
                          Net::SSLeay::X509_get_serialNumber($x));
}

# one client context for every handshake: a context each costs more
# than the handshake
my $ctx = IO::Socket::SSL::SSL_Context->new(SSL_verify_mode => SSL_VERIFY_NONE);

sub served {
    my ($name) = @_;
    my $sock = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
                                    PeerPort => $t->port(0),
                                    Timeout => 5, SSL_hostname => $name,
                                    SSL_reuse_ctx => $ctx)
        or return 'no handshake';
    my $id = cert_id($sock->peer_certificate);
    $sock->close(SSL_fast_shutdown => 1);
    return $id;
}

# the table's serials, from the listing (one page)
my $list = $t->http(GET => '/.well-known/ssl-status/domains?limit=1000',
                    key => 1)->{json}{domains} // [];
my %table = map { $_->{domain} => $_ } @$list;

my (@wrong, @wrong_status);

for my $name (@good) {
    my $want = file_cert("$store/domains/$name/fullchain.pem");
    my $got = served($name);
    push @wrong, "$name: served $got, the file is $want" if $got ne $want;

    my $j = $table{$name} // {};
    my $serial = ($j->{certificate} // {})->{serial} // 'none';
    push @wrong_status, "$name: $serial, " . ($j->{status} // 'none')
        if ($j->{status} // '') ne 'issued' || $want !~ / \Q$serial\E$/;
}

is(scalar @wrong, 0, scalar(@good) . ' names, each served its certificate')
    or diag(join "\n", @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)]);
is(scalar @wrong_status, 0, 'each issued in the table, the file\'s serial')
    or diag(join "\n", @wrong_status[0 .. ($#wrong_status < 9
                                           ? $#wrong_status : 9)]);

my $fallback = $t->fallback_fingerprint;

for my $name (sort keys %mismatch) {
    subtest "a key not its certificate's: $name" => sub {
        my $j = $t->status_of($name)->{json} // {};
        is($j->{status}, 'unknown', 'status unknown');
        is(($j->{last_error} // {})->{type}, 'store_key_mismatch',
           'last_error store_key_mismatch');
        like($t->error_log,
             qr/"\Q$store\E\/domains\/\Q$name\E\/?": privkey\.pem does not match the certificate \(store_key_mismatch\)/,
             'logged with its path');
        is($t->handshake($name), $fallback, 'not served: the fallback');
    };
}

is_deeply($t->snapshot("$store/domains"), $before, 'store files untouched');

# A restart reads the index the first start wrote, and each pair's
# stamp (the identity of its two files) says whether the index still
# speaks for it: a pair replaced by rename, and one rewritten in place
# (the same inodes), are read again and served; the rest come from it.
subtest 'a restart with the index notices the pairs changed on disk' => sub {
    my ($renamed, $edited) = ('e3.cold.test', 'e4.cold.test');
    my %was = map { $_ => file_cert("$store/domains/$_/fullchain.pem") }
              $renamed, $edited;

    $t->stop;

    $t->store_domain($renamed);

    my ($chain, $key) = $t->make_cert($edited);
    for my $f ([$chain, 'fullchain.pem'], [$key, 'privkey.pem']) {
        my $path = "$store/domains/$edited/$f->[1]";
        my $ino = (stat $path)[1];
        open my $in, '<:raw', $f->[0] or die "$f->[0]: $!";
        my $pem = do { local $/; <$in> };
        open my $out, '+<:raw', $path or die "$path: $!";
        print $out $pem;
        truncate $out, length $pem or die "truncate: $!";
        close $out or die "$path: $!";
        is((stat $path)[1], $ino, "$edited/$f->[1] rewritten in place");
    }

    my $offset = length $t->error_log;
    $t->run;

    # the start trusts the index (the broken pairs too: their error);
    # worker 0's check of the store reads the two changed pairs again
    my ($start) = $t->log_since($offset, qr/domains in the table from the index/);
    like($start // '', qr/: $n domains in the table from the index, 0 read again/,
         'the start trusts the index');
    my $check = $t->wait_log_since($offset, qr/linkcert_store .*: checked/);
    like($check // '', qr/checked, $n domains with files listed in \d+ ms, 2 read again \(0 of them not served/,
         'the two changed pairs read again by the check after the start');

    for my $name ($renamed, $edited) {
        my $want = file_cert("$store/domains/$name/fullchain.pem");
        isnt($want, $was{$name}, "$name: a new certificate on disk");
        is(served($name), $want, "$name: served the new certificate");
    }
};

done_testing;
