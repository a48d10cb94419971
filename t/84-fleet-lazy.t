#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A new edge catches up lazily: Redis holds what edges write for 200
# issued domains (scripts/bench-fleet-fill, as scripts/bench-fleet fills
# it), and a new edge C with an empty store joins.  Once it says it caught
# up, its store holds none of their files yet, and GET ?domain= answers
# issued with the right serial for every one of them; the first
# handshake for one of them is held while its worker fetches the record
# from Redis and writes the pair, and presents that certificate (the right
# serial); the files are then in C's store.  Redis goes away before the
# filler (worker 0 writes the others' files from 5 s after the catch-up):
# a name already fetched is still served, one that was not is answered
# with the fallback at once (not held), and the public probe says issued
# with "stale":true for both.  A reload and a restart before the filler
# (no redis.seq yet: the store holds no change in full) catch up again,
# and a first handshake still gets its certificate.  Then the filler
# writes the rest, redis.seq says 200 and every name is served.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Redis;
use LinkCert::Util qw(read_file capture);
use Time::HiRes qw(time sleep);
use Net::SSLeay;

my $N = 200;
my $top = "$FindBin::Bin/..";

my $c = LinkCert::Test->new;
my $redis = LinkCert::Redis->new($c);
$redis->start;

my $fleet = $redis->fleet_lines($c, 'edge-c', 'timeout=2s');
my $keyfile = $c->prefix . '/fleet.key';

# --- 200 issued domains in Redis, as the edges write them -----------------

my $src = $c->prefix . '/src';
my ($rc, $out) = capture("$top/scripts/mkstore", '-n', $N, '-p', 'd',
                         '-s', 'lazy.test', $src);
is($rc, 0, "$N certificates made (scripts/mkstore)") or diag($out);

my $fill = $c->prefix . '/bench-fleet-fill';
($rc, $out) = capture('cc', "-I$top/src", '-o', $fill,
                      "$top/scripts/bench-fleet-fill.c", "$top/src/lc_seal.c",
                      "$top/src/lc_fleet_info.c", "$top/src/lc_cert.c",
                      "$top/src/lc_cert_peek.c",
                      "$top/src/lc_chain.c", "$top/src/lc_error.c",
                      '-lcrypto');
is($rc, 0, 'bench-fleet-fill built') or diag($out);

($rc, $out) = capture('sh', '-c', "'$fill' '$src' '$keyfile' linkcert: edge-a"
                      . " 2>/dev/null | " . LinkCert::Redis::cli_binary()
                      . ' -h 127.0.0.1 -p ' . $redis->port . ' --pipe');
is($rc, 0, 'the records written into Redis') or diag($out);
is($redis->cli(GET => 'linkcert:seq'), $N, "the fleet's sequence is at $N");

my @names = sort { ($a =~ /(\d+)/)[0] <=> ($b =~ /(\d+)/)[0] }
            map { m{/([^/]+)$} } glob("$src/domains/*");
is(scalar @names, $N, "$N names");

# the leaf's serial as the status API gives it (hex), without an openssl
# process per name
sub serial {
    my $bio = Net::SSLeay::BIO_new_file("$src/domains/$_[0]/fullchain.pem",
                                        'r') or return '';
    my $x509 = Net::SSLeay::PEM_read_bio_X509($bio);
    Net::SSLeay::BIO_free($bio);
    return '' unless $x509;
    my $hex = Net::SSLeay::P_ASN1_INTEGER_get_hex(
                  Net::SSLeay::X509_get_serialNumber($x509));
    Net::SSLeay::X509_free($x509);
    return uc $hex;
}
sub files  { -e $c->store . "/domains/$_[0]/fullchain.pem" }

# --- C joins ---------------------------------------------------------------

$c->write_config($c->standard_config(log_level => 'info', workers => 2,
    http => $fleet));
$c->run;

ok($c->wait_until(sub {
       scalar $c->log_lines(qr/caught up with the fleet at change $N\b/)
   }, 30), 'C caught up with the fleet');
my $caught = time;

my $D = $names[-1];                 # the last change: the filler's last
my $E = $names[-2];

ok(!files($D) && !files($E), 'C\'s store has none of their files yet');
ok(!scalar(grep { files($_) } @names), 'nor any of the others\'');
ok(scalar $c->log_lines(
       qr/"\Q$D\E" certificate from the fleet .*its files written later/),
   'the catch-up put them into the zone without their files');

# the first handshake of $D, held while its files are fetched
my $t0 = time;
my $hs = $c->handshake_info($D);
my $took = time - $t0;
ok($hs, "a handshake for $D") or diag($c->{handshake_error});
is($hs && $hs->{fingerprint},
   $c->fingerprint_of_file("$src/domains/$D/fullchain.pem"),
   'the first handshake gets its certificate, not the fallback');
diag(sprintf('the first handshake took %.3f s', $took));
ok(files($D), 'its files are in C\'s store now');
is(read_file($c->store . "/domains/$D/fullchain.pem"),
   read_file("$src/domains/$D/fullchain.pem"), 'the very chain');
ok(!files($E), "$E still without files (nothing fetched it)");
cmp_ok(time - $caught, '<', 5, 'all this before the filler began');

# --- Redis goes away before the filler wrote $E -----------------------------

subtest 'Redis away' => sub {
    my $offset = length $c->error_log;
    $redis->stop;
    ok($c->wait_until(sub {
           my %pids = map { /\] (\d+)#/ ? ($1 => 1) : () }
                      $c->log_since($offset,
                                    qr/linkcert: redis \S+: .*connecting/);
           keys %pids >= 2;
       }, 5), 'both workers saw Redis go');

    my $again = $c->handshake_info($D);
    is($again && $again->{fingerprint},
       $c->fingerprint_of_file("$src/domains/$D/fullchain.pem"),
       "$D, fetched before, is still served");

    my $t1 = time;
    my $fb = $c->handshake_info($E);
    my $waited = time - $t1;
    ok($fb, "a handshake for $E");
    is($fb && $fb->{fingerprint}, $c->fallback_fingerprint,
       "$E, never fetched, gets the fallback");
    cmp_ok($waited, '<', 1, sprintf('at once, not held (%.3f s)', $waited));

    for my $name ($D, $E) {
        my $p = $c->http(GET => '/.well-known/ssl-status', host => $name);
        is($p->{json}{status}, 'issued', "the probe of $name: issued");
        ok($p->{json}{stale}, '... marked stale (C has no Redis)');
    }
    ok(!files($E), "$E still without files");

    $redis->start;
};

# --- a reload, a restart, before the filler ---------------------------------

sub caught_up_since {
    my ($offset) = @_;
    return defined $c->wait_log_since($offset,
                        qr/caught up with the fleet at change $N\b/, 30);
}

subtest 'a reload before the filler' => sub {
    ok(!defined read_file($c->store . '/redis.seq'),
       'no redis.seq: the store holds no change in full yet');
    my $offset = length $c->error_log;
    $c->reload;
    ok(caught_up_since($offset), 'the new worker 0 caught up again');
    my $F = $names[-3];
    ok(!files($F), "$F without files");
    my $hs = $c->handshake_info($F);
    is($hs && $hs->{fingerprint},
       $c->fingerprint_of_file("$src/domains/$F/fullchain.pem"),
       "the first handshake for $F gets its certificate");
};

subtest 'a restart before the filler' => sub {
    ok(!defined read_file($c->store . '/redis.seq'), 'still no redis.seq');
    $c->stop;
    my $offset = length($c->error_log // '');
    $c->run;
    ok(caught_up_since($offset), 'C restarted caught up from the first');
    my $G = $names[0];
    ok(!files($G), "$G without files");
    my $hs = $c->handshake_info($G);
    is($hs && $hs->{fingerprint},
       $c->fingerprint_of_file("$src/domains/$G/fullchain.pem"),
       "the first handshake for $G gets its certificate");
    my $again = $c->handshake_info($D);
    is($again && $again->{fingerprint},
       $c->fingerprint_of_file("$src/domains/$D/fullchain.pem"),
       "$D, fetched before the restart, is served from the store");
};

my $bad = 0;
for my $name (@names) {
    my $j = $c->status_of($name)->{json} // {};
    $bad++ unless ($j->{status} // '') eq 'issued'
                  && uc($j->{certificate}{serial} // '') eq serial($name);
}
is($bad, 0, "GET ?domain= answers issued with its serial for all $N");


# --- the filler ------------------------------------------------------------

ok($c->wait_until(sub { (read_file($c->store . '/redis.seq') // '')
                        eq "$N\n" }, 30),
   'redis.seq says the store holds every change')
    or diag(read_file($c->store . '/redis.seq'));
is(scalar(grep { !files($_) } @names), 0, 'every pair is in C\'s store');
ok(scalar $c->log_lines(qr/the store holds the fleet's changes up to $N:/),
   'the filler said it is done');

my $hsE = $c->handshake_info($E);
is($hsE && $hsE->{fingerprint},
   $c->fingerprint_of_file("$src/domains/$E/fullchain.pem"),
   "$E is served once Redis is back");

$c->no_crash_ok;

done_testing;
