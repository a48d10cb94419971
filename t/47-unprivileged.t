#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Workers as an unprivileged user (www-data, as Debian runs nginx): the
# master (root) creates the store and gives it to that user, the workers
# verify, order, write the certificate and key, and serve them; every file
# of the store belongs to www-data, the private keys mode 0600.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;

plan skip_all => 'needs root (the master starts as root)' if $> != 0;

my $uid = getpwnam('www-data');
plan skip_all => 'no www-data user' unless defined $uid;

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);

my $TARGET = 'edge.crm.test';
my $D = 'links.www.test';
my $store = $t->prefix . '/wstore';

# the workers go through the prefix to the store, nothing more
chmod 0711, $t->prefix or die "chmod: $!";

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($D, $TARGET);
$pebble->start;

$t->write_config($t->standard_config(user => 'www-data', log_level => 'info',
    store => $store, http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

sub owner { (stat $_[0])[4] // -1 }
sub mode  { (stat $_[0])[2] & 07777 }

subtest 'the workers are www-data' => sub {
    my @workers = $t->worker_pids;
    is(scalar @workers, 2, 'two workers');
    # a worker just forked is root until it has called setuid()
    my $real_uid = sub {
        open my $fh, '<', "/proc/$_[0]/status" or return -1;
        my ($real) = map { /^Uid:\s+(\d+)/ ? $1 : () } <$fh>;
        return $real // -1;
    };
    for my $pid (@workers) {
        $t->wait_until(sub { $real_uid->($pid) == $uid }, 5);
        is($real_uid->($pid), $uid, "worker $pid runs as www-data");
    }
};

is(owner($store), $uid, 'the master made the store for www-data');
is(mode($store), 0700, 'mode 0700');

is($t->verify($D)->{status}, 202, 'POST: 202');
my ($j, $ok) = $pebble->wait_issued($D, 20);
ok($ok, 'issued') or diag(explain $j), diag($pebble->notices);

my $hs = $pebble->verified_handshake($D);
ok($hs->{ok}, 'its certificate is served and verifies') or diag($hs->{error});

subtest 'everything in the store belongs to www-data' => sub {
    my @files = split /\n/, `find $store`;
    ok(@files >= 6, scalar(@files) . ' entries') or diag("@files");
    my @other = grep { owner($_) != $uid } @files;
    is_deeply(\@other, [], 'none owned by anyone else');
    is(mode("$store/domains/$D/privkey.pem"), 0600, 'privkey.pem 0600');
    is(mode("$store/account/account.key"), 0600, 'account.key 0600');
};

$t->no_crash_ok;
done_testing;
