#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A full disk while certificates are written, with the store on a small
# tmpfs mounted in a private mount namespace (the test runs itself again
# under "unshare -m"; root only):
#
#   - renewal with room for one file but not two, three attempts (one
#     per restart, as a failed renewal waits a minute): the
#     published pair (fullchain.pem and the key that matches it) is kept
#     untouched every time (a renewal used to write the new key, fail on
#     the chain, and at the next attempt replace privkey.pem.old, the
#     only matching key, with it); once space is back and nginx reloaded,
#     the domain is issued and its certificate is served;
#   - a first issuance that cannot write its files: pending with
#     last_error store_write and a next_attempt_at, also after a reload
#     (it used to become unknown/failed store_unreadable).

use strict;
use warnings;

BEGIN {
    if (!$ENV{LINKCERT_UNSHARED}) {
        require Test::More;
        Test::More::plan(skip_all => 'needs root (unshare -m, mount)')
            if $> != 0;
        $ENV{LINKCERT_UNSHARED} = 1;
        exec('unshare', '-m', '--propagation', 'private', $^X, $0, @ARGV)
            or Test::More::plan(skip_all => "unshare: $!");
    }
}

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use LinkCert::Util qw(wait_until);
use Fcntl qw(SEEK_END);
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t, env => { PEBBLE_AUTHZREUSE => 0 });

my $TARGET = 'edge.crm.test';
my $R = 'renew.full.test';              # imported, renewed on a full disk
my $F = 'first.full.test';              # first issued on a full disk
my $store = $t->store;
my $PAGE = 4096;

system('mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'linkcert-full',
       $store) == 0 or BAIL_OUT("mount tmpfs on $store failed");
mkdir "$store/domains" or die "mkdir: $!";

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for $R, $F;

my ($chain_file, $key_file) = $t->store_domain($R);
my $imported = $t->fingerprint_of_file($chain_file);

$pebble->start;

# nginx.conf's linkcert directives (standard_config adds the zone, the
# store, the key and "linkcert on"): DNS verification against
# challtestsrv, Pebble as the CA, and linkcert_renew_at when given (else
# the default, 67%)
my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
    %%RENEW_AT%%
EOF

sub config {
    my ($renew_at) = @_;
    return ($t->standard_config(workers => 1, log_level => 'info',
                                http => $HTTP),
            RENEW_AT => defined $renew_at ? "linkcert_renew_at $renew_at;"
                                          : '');
}

sub failed_writes {
    my ($name) = @_;
    return scalar(my @l = $pebble->error_log_lines(
        qr/writing "[^"]*\Q$name\E[^"]*" failed/));
}

$t->write_config(config());
$t->run;
ok(wait_until(sub { $t->error_log =~ /ACME account ready/ }, 10),
   'the ACME account is ready (written while there is room)')
    or diag($pebble->notices);

# fill the tmpfs, then leave one page: room for one file, not two
open my $fill, '>', "$store/filler" or die "filler: $!";
my $block = "\0" x 65536;
1 while syswrite($fill, $block);
close $fill;
truncate("$store/filler", (-s "$store/filler") - $PAGE) or die "truncate: $!";

###########################################################################

subtest 'renewal on a full disk keeps the published pair' => sub {
    $t->write_config(config('0%'));

    # a failed renewal is retried after a minute: a restart (a new zone,
    # the start's renewal pass) makes the next attempt at once
    for my $attempt (1 .. 3) {
        my $before = failed_writes($R);
        $t->stop;
        $t->run;
        ok(wait_until(sub { failed_writes($R) > $before }, 20),
           "attempt $attempt: the write failed") or diag($pebble->notices);
        sleep 0.2;
    }

    is($t->pubkey_of_key($key_file), $t->pubkey_of_cert($chain_file),
       'privkey.pem is still the key of fullchain.pem');
    is($t->fingerprint_of_file($chain_file), $imported,
       'fullchain.pem is the published certificate');
    ok(!-e "$key_file.old", 'no privkey.pem.old left');
    my @tmp = glob("$store/domains/$R/.*.??????");
    is(scalar @tmp, 0, 'no temporary file left') or diag("@tmp");

    is($t->handshake($R), $imported, 'the published certificate is served');
};

subtest 'a first issuance on a full disk stays pending' => sub {
    my $before = failed_writes($F);
    is($t->verify($F)->{status}, 202, 'POST: 202');
    ok(wait_until(sub { failed_writes($F) > $before }, 20), 'the write failed')
        or diag($pebble->notices);

    my ($j, $ok) = $t->wait_status($F, sub {
        ($_->{last_error}{type} // '') eq 'store_write'
    }, 5);
    ok($ok, 'last_error store_write') or diag(explain $j);
    is($j->{status}, 'pending', 'pending');
    ok(defined $j->{next_attempt_at}, 'with a next_attempt_at');

    $t->write_config(config());
    $t->reload;
    sleep 0.5;
    $j = $t->status_of($F)->{json} // {};
    is($j->{status}, 'pending', 'after a reload: still pending')
        or diag(explain $j);
    is($j->{last_error}{type}, 'store_write', 'with the reason');
    ok(defined $j->{next_attempt_at}, 'and the next attempt');
};

###########################################################################

unlink "$store/filler" or die "unlink: $!";
$t->write_config(config());
$t->reload;

subtest 'space is back' => sub {
    my ($j, $ok) = $t->wait_status($R, sub {
        ($_->{status} // '') eq 'issued'
    }, 5);
    ok($ok, "$R is issued") or diag(explain $j);
    is($t->handshake($R), $j->{certificate}{sha256},
       'and its certificate is served');

    # its retry is a minute away ("Verify domain" is limited to one a
    # minute): it is waiting for it
    $j = $t->status_of($F)->{json} // {};
    is($j->{status}, 'pending', "$F is still pending") or diag(explain $j);
    ok(defined $j->{next_attempt_at}, 'with its next attempt');
};

$t->no_crash_ok;
$t->stop;
$pebble->stop;
system('umount', $store);

done_testing;
