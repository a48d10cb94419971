#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Imported certificates go to the fleet: two edges share one Redis.
# Pairs put into A's store by hand (as scripts/import does) and loaded by
# a reload are uploaded to Redis as an issued certificate's change (the
# record with the key sealed, the next number of the sequence, the
# message), and B serves each with the same serial within a few seconds,
# its status issued.  The fleet keeps the newest certificate of a domain
# (notAfter, then the serial): an older pair imported on B afterwards
# does not replace the fleet's (Redis keeps A's, and B serves A's again
# after its reload), a newer one does (Redis takes B's, and A serves it);
# an older one still on B, the fleet's newest being B's own, gives way too.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use Time::HiRes qw(time sleep);

my $X = 'imported.customer.test';       # imported on A only
my $Y = 'older.customer.test';          # A's, then an older one on B
my $Z = 'newer.customer.test';          # A's, then a newer one on B
my $day = 86400;

# neither orders: the certificates are imported
my $fleet = LinkCert::Fleet->new(2);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;

$fleet->start(undef, order => '', redis => 'timeout=1s',
              b => { workers => 2 });

sub chain_of { $_[0]->store . "/domains/$_[1]/fullchain.pem" }
sub fp_of { $_[0]->fingerprint_of_file(chain_of(@_)) }
sub hex_serial { lc($_[0] =~ s/^0+(?=.)//r) }

sub serves {
    my ($t, $d, $fp, $timeout) = @_;
    return $t->wait_until(sub { ($t->handshake($d) // '') eq $fp },
                          $timeout // 5);
}

my (%fp, %serial);

subtest 'imported on A, served by B' => sub {
    $a->store_domain($X, not_after => time + 90 * $day);
    $a->store_domain($Y, not_after => time + 60 * $day);
    $a->store_domain($Z, not_after => time + 30 * $day);
    for my $d ($X, $Y, $Z) {
        $fp{$d} = fp_of($a, $d);
        $serial{$d} = $a->serial_of_file(chain_of($a, $d));
    }

    my $seq = $redis->cli(GET => 'linkcert:seq') || 0;
    $a->reload;
    my $start = time;

    ok(serves($b, $X, $fp{$X}), "B serves $X, imported on A")
        or diag(join "\n", $a->log_lines(qr/upload|redis/));
    my $took = time - $start;
    diag(sprintf('served on B %.3f s after the reload of A ended', $took));
    cmp_ok($took, '<', 5, 'within a few seconds');
    ok(serves($b, $_, $fp{$_}), "B serves $_") for $Y, $Z;

    my $s = $b->status_of($X)->{json} // {};
    is($s->{status}, 'issued', "$X issued on B");
    is(uc($s->{certificate}{serial} // ''), $serial{$X},
       '... with the serial of A\'s pair');

    is($redis->cli(GET => 'linkcert:seq'), $seq + 3,
       'three changes in the sequence');
    is($redis->cli(HGET => "linkcert:cert:$X", 'edge'), 'edge-a',
       'the record is edge A\'s');
    is($redis->cli(HGET => "linkcert:cert:$X", 'serial'),
       hex_serial($serial{$X}), '... with its serial');
    unlike($redis->cli(HGET => "linkcert:cert:$X", 'key') // '',
           qr/PRIVATE KEY/, '... and its key sealed');
    ok(scalar $a->log_lines(qr/"\Q$X\E" uploaded to redis/),
       'A logged the upload');
};

subtest 'an older import does not replace the fleet\'s, a newer one does'
    => sub {
    # B's own pairs of Y and Z (it holds the fleet's) replaced by hand
    $b->store_domain($Y, not_after => time + 20 * $day);
    $b->store_domain($Z, not_after => time + 80 * $day);
    my $older = fp_of($b, $Y);
    my $newer = fp_of($b, $Z);
    my $newer_serial = $b->serial_of_file(chain_of($b, $Z));

    $b->reload;

    ok(serves($a, $Z, $newer), "A serves B's newer $Z")
        or diag(join "\n", $b->log_lines(qr/upload|redis/));
    is($redis->cli(HGET => "linkcert:cert:$Z", 'serial'),
       hex_serial($newer_serial), "Redis has B's newer $Z");

    ok(serves($b, $Y, $fp{$Y}), "B serves the fleet's $Y again, not its "
                                . 'older import')
        or diag(join "\n", $b->log_lines(qr/\Q$Y\E/));
    isnt($fp{$Y}, $older, '... (another certificate than the import)');
    is($redis->cli(HGET => "linkcert:cert:$Y", 'serial'),
       hex_serial($serial{$Y}), "Redis keeps A's $Y");
    is($redis->cli(HGET => "linkcert:cert:$Y", 'edge'), 'edge-a',
       '... written by A');
    is(uc($a->status_of($Y)->{json}{certificate}{serial} // ''), $serial{$Y},
       "A still serves its $Y");
    is($b->handshake($X), $fp{$X}, "B still serves $X");

    # B's own change is the fleet's newest Z: an older pair on B again
    $b->store_domain($Z, not_after => time + 10 * $day);
    $b->reload;
    ok(serves($b, $Z, $newer), "B serves its newer $Z again, from the "
                               . 'fleet, not the older pair');
    is($redis->cli(HGET => "linkcert:cert:$Z", 'serial'),
       hex_serial($newer_serial), "Redis keeps B's newer $Z");
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
