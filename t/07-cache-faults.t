#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# What a worker's certificate cache remembers of a miss that failed:
#
#   - files that could not be read (the worker out of file descriptors,
#     worker_rlimit_nofile): the fallback for that handshake only; the
#     next handshake, with descriptors free again, gets the certificate
#     (it used to be the fallback until the next renewal or restart);
#   - files read but unusable (a key that does not match the chain): the
#     fallback, remembered for 5 s (one log line, not one per handshake),
#     and served again without a reload once the files are repaired.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;

my $FD = 'fd.example.test';
my $BROKEN = 'broken.example.test';

my ($fd_chain) = $t->store_domain($FD);
my ($broken_chain, $broken_key) = $t->store_domain($BROKEN);
my $fd_fp = $t->fingerprint_of_file($fd_chain);
my $broken_fp = $t->fingerprint_of_file($broken_chain);
my $FALLBACK = $t->fallback_fingerprint;

# one worker with 64 descriptors: a few idle connections use them up
$t->write_config($t->standard_config(workers => 1, log_level => 'info',
                                     main => 'worker_rlimit_nofile 64;'));
$t->run;

subtest 'out of file descriptors at the first handshake' => sub {
    my $from = length $t->error_log;
    my @idle;

    # idle plain connections until nginx can accept no more
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $t->port(1),
                                      Proto => 'tcp', Timeout => 5)
            or last;
        push @idle, $s;
        sleep 0.02;
        last if $t->log_since($from) =~ /accept4?\(\) failed \(24:/;
    }
    like($t->log_since($from), qr/accept4?\(\) failed \(24:/,
         'nginx ran out of descriptors') or return;

    # the last one waits in the backlog: it and one other go, so that
    # nginx (accepting again after 500 ms) has one descriptor left, for
    # the handshake's connection, none for the files
    close pop @idle for 1 .. 2;
    sleep 1.5;

    my $hs = $t->handshake($FD) // 'none';
    is($hs, $FALLBACK, 'the handshake gets the fallback');
    like($t->log_since($from),
         qr/cannot serve "\Q$FD\E": fullchain\.pem: Too many open files/,
         'logged: the file could not be opened');

    close $_ for @idle;
    sleep 0.5;

    my @fps = map { $t->handshake($FD) // 'none' } 1 .. 3;
    is_deeply(\@fps, [ ($fd_fp) x 3 ],
              'descriptors free again: the certificate at once');
};

subtest 'a key that does not match: remembered for 5 s' => sub {
    my $good_key = do { local (@ARGV, $/) = $broken_key; <> };
    my ($other_chain, $other_key) = $t->make_cert('other.example.test');
    my $bad_key = do { local (@ARGV, $/) = $other_key; <> };

    open my $fh, '>', $broken_key or die "$broken_key: $!";
    print $fh $bad_key;
    close $fh;

    my $from = length $t->error_log;
    my @fps = map { $t->handshake($BROKEN) // 'none' } 1 .. 3;
    is_deeply(\@fps, [ ($FALLBACK) x 3 ], 'the fallback');
    my @lines = $t->log_since($from) =~ /cannot serve "\Q$BROKEN\E"/g;
    is(scalar @lines, 1, 'one log line for three handshakes');

    open $fh, '>', $broken_key or die "$broken_key: $!";
    print $fh $good_key;
    close $fh;

    my $repaired = time;
    my $served;
    while (time - $repaired < 8) {
        $served = $t->handshake($BROKEN) // 'none';
        last if $served eq $broken_fp;
        sleep 0.25;
    }
    is($served, $broken_fp, 'repaired files are served without a reload');
    cmp_ok(time - $repaired, '<', 6, 'within 5 s');
};

$t->no_crash_ok;
done_testing;
