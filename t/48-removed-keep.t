#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# linkcert_removed_keep: what DELETE moved to <store>/removed/ is deleted
# (private keys included) once it is older than that; worker 0 looks at
# start and then every hour, or every linkcert_removed_keep if shorter.
# Entries of another shape are left alone.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use POSIX qw(strftime);
use File::Path qw(make_path);
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $store = $t->store;
my $GONE = 'gone.keep.test';

$t->store_domain($GONE);

my $now = strftime('%Y%m%dT%H%M%SZ', gmtime);
my %entry = (
    old    => "old.keep.test.20200101T000000Z",
    again  => "old.keep.test.20200101T000000Z.1",
    fresh  => "fresh.keep.test.$now",
    other  => "notes",
);
for my $e (values %entry) {
    make_path("$store/removed/$e");
    for my $f (qw(fullchain.pem privkey.pem)) {
        open my $fh, '>', "$store/removed/$e/$f" or die "$e/$f: $!";
        print $fh "x\n";
        close $fh;
    }
}

$t->write_config($t->standard_config(log_level => 'info',
    http => "    linkcert_removed_keep 3s;\n"));
$t->run;

sub wait_gone {
    my ($path, $timeout) = @_;
    my $deadline = time + $timeout;
    while (-e $path) {
        return 0 if time > $deadline;
        sleep 0.1;
    }
    return 1;
}

ok(wait_gone("$store/removed/$entry{old}", 5),
   'an entry of 2020 is deleted at start');
ok(wait_gone("$store/removed/$entry{again}", 1),
   'and its second copy (".1")');
ok(-f "$store/removed/$entry{fresh}/privkey.pem",
   'an entry of now is kept');
ok(-f "$store/removed/$entry{other}/privkey.pem",
   'a directory of another name is left alone');
like($t->error_log, qr/linkcert: 2 removed domains older than linkcert_removed_keep deleted/,
     'logged');

my $r = $t->http(DELETE => "/.well-known/ssl-status?domain=$GONE", key => 1);
is($r->{status}, 200, "DELETE $GONE: 200");
my ($moved) = glob("$store/removed/$GONE.*");
ok($moved && -f "$moved/privkey.pem", 'its files are in removed/');
ok(wait_gone($moved // 'none', 10),
   'and deleted linkcert_removed_keep (3 s) later, at the next look');
ok(wait_gone("$store/removed/$entry{fresh}", 5),
   'the entry of the start too, once old enough');
ok(-d "$store/removed/$entry{other}", 'the other directory stays');

$t->no_crash_ok;
done_testing;
