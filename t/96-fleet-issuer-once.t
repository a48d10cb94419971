#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Redis keeps a CA's intermediates once: two domains of one CA (Pebble)
# issued on edge A are written to Redis as their leaves, each record
# naming the one key of the intermediates (issuer:<SHA-256 of their
# PEM>), and no record holds the whole chain.  Edge B serves each domain
# with the full chain (a client that trusts only Pebble's root verifies
# it) and read the intermediates from Redis once.  A record of the older
# layout (the whole chain in its field chain), written by hand, is still
# applied: a new edge C with an empty store serves it, and the new
# layout's record beside it.  A store kept by an older edge (no
# redis.layout) reads the fleet's changes again from the first, once.
# Redis restarted without its data gets the intermediates back with the
# records the edges upload, and C, its store emptied, serves both domains
# again from them.  A record whose intermediates Redis lacks (deleted by
# hand) is not applied: the fallback is served, never the leaf alone.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(sha256_hex);
use File::Path qw(remove_tree);
use LinkCert::Fleet;
use LinkCert::Pebble;
use LinkCert::Util qw(read_file);

my $D1 = 'links.customer.test';
my $D2 = 'go.other-customer.test';
my $P = 'linkcert:';

# A orders, B serves, C joins late with an empty store
my $fleet = LinkCert::Fleet->new(3, domains => [ $D1, $D2 ]);
my ($a, $b, $c) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a);

$fleet->start($pebble, run => 'ab', b => { workers => 1 },
              c => { workers => 1 });

my %serial;
for my $d ($D1, $D2) {
    is($a->verify($d)->{status}, 202, "POST $d on A: 202");
}
for my $d ($D1, $D2) {
    my ($j, $ok) = $pebble->wait_issued($d, 30);
    ok($ok, "$d issued on A") or diag(explain $j);
    $serial{$d} = uc($j->{certificate}{serial} // '');
}

sub certs { scalar(() = ($_[0] // '') =~ /-----BEGIN CERTIFICATE-----/g) }

# each domain served by $t with A's serial, verified as a client does
sub serves_ok {
    my ($t, $name) = @_;
    for my $d ($D1, $D2) {
        my ($hs) = $pebble->wait_serial($t, $d, $serial{$d}, 10);
        ok($hs->{ok} && $hs->{serial} eq $serial{$d},
           "$name serves $d with A's serial, its chain verified against "
           . "Pebble's root") or diag(explain $hs);
    }
}

my ($issuer, $pem, $chain1);

subtest 'Redis holds the intermediates once' => sub {
    my %id;
    for my $d ($D1, $D2) {
        my $leaf = $redis->cli(HGET => "${P}cert:$d", 'leaf');
        is($redis->cli(HEXISTS => "${P}cert:$d", 'chain'), 0,
           "$d: the record has no whole chain");
        is(certs($leaf), 1, "$d: the record carries the leaf only");
        $id{$d} = $redis->cli(HGET => "${P}cert:$d", 'issuer');
        like($id{$d}, qr/^[0-9a-f]{64}$/, "$d: it names its intermediates");
    }
    is($id{$D1}, $id{$D2}, 'both name the same intermediates');
    $issuer = $id{$D1};
    $pem = $redis->cli(GET => "${P}issuer:$issuer");
    cmp_ok(certs($pem), '>=', 1, 'Redis holds them, under that name');

    $chain1 = read_file($a->store . "/domains/$D1/fullchain.pem");
    my $ilen = $redis->cli(STRLEN => "${P}issuer:$issuer");
    my $llen = $redis->cli(HSTRLEN => "${P}cert:$D1", 'leaf');
    my ($lx, $ix) = (substr($chain1, 0, $llen), substr($chain1, $llen));
    is($llen + $ilen, length $chain1,
       'the leaf and the intermediates are as long as the chain');
    is($redis->cli(HGET => "${P}cert:$D1", 'leaf'), $lx,
       '... the leaf is its beginning');
    is($pem, $ix, '... the intermediates the rest');
    is(sha256_hex($ix), $issuer, 'named by the SHA-256 of their PEM');
    cmp_ok($llen, '<', length($chain1) / 2,
           "the record's leaf ($llen B) is less than half the chain ("
           . length($chain1) . ' B)');
};

subtest 'B serves each domain with the full chain' => sub {
    serves_ok($b, 'B');
    for my $d ($D1, $D2) {
        my ($ok, $out) = $pebble->openssl_verify($b->store
                                                 . "/domains/$d/fullchain.pem");
        ok($ok, "$d: B's stored chain verifies") or diag($out);
        is(read_file($b->store . "/domains/$d/fullchain.pem"),
           read_file($a->store . "/domains/$d/fullchain.pem"),
           "$d: B's store has A's chain");
    }
    is(scalar $b->log_lines(qr/the fleet's intermediates "$issuer" .* read /
                            . qr/from redis, kept by this worker/),
       1, 'B read the intermediates from Redis once for both domains');
};

subtest 'a record of the older layout is still applied' => sub {
    my $seq = $redis->cli(INCR => "${P}seq");
    $redis->cli(HSET => "${P}cert:$D1", 'seq', $seq, 'chain', $chain1);
    $redis->cli(HDEL => "${P}cert:$D1", 'leaf', 'issuer');
    $redis->cli(ZADD => "${P}changes", $seq, $D1);

    $c->run;
    ok($redis->wait_connected($c), 'C: connected to Redis');
    serves_ok($c, 'C');
    is(read_file($c->store . "/domains/$D1/fullchain.pem"), $chain1,
       "C's store has the whole chain of the older record");
    ok(-e $c->store . '/redis.layout', 'C\'s store says its layout');
};

subtest 'a store kept by an older edge reads the changes again' => sub {
    $b->stop;
    unlink $b->store . '/redis.layout';
    ok(-e $b->store . '/redis.seq', 'B\'s store has its redis.seq');
    $b->run;
    ok($redis->wait_connected($b), 'B: connected to Redis again');
    ok($b->wait_until(sub {
           scalar $b->log_lines(qr/kept by an older edge: the fleet's /
                                . qr/changes are read again from the first/)
       }, 5), 'B reads the fleet\'s changes again from the first');
    ok($b->wait_until(sub {
           (read_file($b->store . '/redis.seq') // '') =~ /^\d+$/m }, 10),
       'and keeps its place again');
    ok(-e $b->store . '/redis.layout', 'its store says the layout now');
    serves_ok($b, 'B');
};

subtest 'Redis restarted without its data gets the intermediates back' => sub {
    $redis->kill;
    remove_tree($redis->dir . '/appendonlydir');
    unlink glob($redis->dir . '/*.aof'), $redis->dir . '/dump.rdb';
    $redis->start;

    ok($a->wait_until(sub {
           $redis->cli(EXISTS => "${P}cert:$D1")
           && $redis->cli(EXISTS => "${P}cert:$D2") }, 15),
       'the edges uploaded both certificates again');
    is($redis->cli(GET => "${P}issuer:$issuer"), $pem,
       'with the intermediates, under the same name');
    for my $d ($D1, $D2) {
        is($redis->cli(HGET => "${P}cert:$d", 'issuer'), $issuer,
           "$d: the record names them");
    }

    $c->stop;
    remove_tree($c->store, { keep_root => 1 });
    $c->run;
    ok($redis->wait_connected($c), 'C, its store emptied: connected');
    serves_ok($c, 'C');
};

subtest 'a record whose intermediates Redis lacks is not applied' => sub {
    $redis->cli(DEL => "${P}issuer:$issuer");
    $c->stop;
    remove_tree($c->store, { keep_root => 1 });
    $c->run;
    ok($redis->wait_connected($c), 'C, its store emptied again: connected');
    ok($c->wait_until(sub {
           scalar $c->log_lines(qr/the fleet's record of "\Q$D1\E" names /
                                . qr/intermediates "$issuer" that redis /
                                . qr/does not hold: not applied/) }, 10),
       'C says so');
    is($c->handshake($D1), $c->fallback_fingerprint,
       'C serves the fallback, never the leaf without its intermediates');
    ok(!-e $c->store . "/domains/$D1/fullchain.pem", 'nor stores the leaf');
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');
$c->no_crash_ok('edge C: no worker crashed');

done_testing;
