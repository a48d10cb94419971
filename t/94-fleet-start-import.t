#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A pair imported into an edge's store while it was stopped, with the
# store's index in place: the start trusts the index, worker 0's check of
# the store after it puts the pair into the zone and has the edge offer
# it to the fleet (its first pass over the zone may have gone already),
# so the other edge serves it within seconds.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use Time::HiRes qw(time);

my $X = 'stopped.import.test';
my $day = 86400;

my $fleet = LinkCert::Fleet->new(2);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;

$fleet->start(undef, order => '', redis => 'timeout=1s');

sub serves {
    my ($t, $d, $fp, $timeout) = @_;
    return $t->wait_until(sub { ($t->handshake($d) // '') eq $fp },
                          $timeout // 5);
}

subtest 'imported while A was stopped: in the fleet after its start' => sub {
    ok(-e $a->store . '/linkcert.index', 'A has its index');

    $a->stop;
    my ($chain) = $a->store_domain($X, not_after => time + 60 * $day);
    my $fp = $a->fingerprint_of_file($chain);

    my $offset = length $a->error_log;
    $a->run;

    my ($start) = $a->log_since($offset, qr/from the index/);
    like($start // '', qr/domains in the table from the index/,
         'A\'s start trusted its index');
    my ($check) = $a->log_since($offset, qr/: checked/);
    like($check // '', qr/1 read again \(0 of them not served/,
         'the check after it read the imported pair');

    my $t0 = time;
    ok(serves($b, $X, $fp), "B serves $X, imported on A while it was "
                            . 'stopped')
        or diag(join "\n", $a->log_since($offset, qr/fleet has|checked/));
    diag(sprintf('served on B %.3f s after A\'s start', time - $t0));
    is($redis->cli(HGET => "linkcert:cert:$X", 'edge'), 'edge-a',
       'the record is edge A\'s');
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
