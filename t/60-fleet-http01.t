#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Any edge answers any HTTP-01 challenge: two edges share one Redis; edge
# A orders (POST on A) and the CA's validation reaches edge B (Pebble
# validates on B's plain port), which has never heard of the token: B
# asks Redis and answers, and the order is issued on A.  The key
# authorization is in Redis (with a TTL) while the order runs and gone
# once it is done.  Without the fleet, B answers with its locations and
# the order fails ("unauthorized").  Then a second domain while Redis
# holds every write back (CLIENT PAUSE WRITE): A tells the CA only once
# Redis has the key authorization, so B still finds it.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(time);

my $D = 'links.customer.test';
my $D2 = 'go.other-customer.test';

my $fleet = LinkCert::Fleet->new(2, domains => [ $D, $D2 ]);
my ($a, $b) = $fleet->edges;                # A orders, B is validated
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1));

$fleet->start($pebble, redis => 'timeout=5s',
              b => { log_level => 'debug' });

# what edge B's locations would answer to a challenge it does not know
my $r = $b->http(GET => '/.well-known/acme-challenge/unknown-token',
                 host => $D);
is($r->{body}, "tracker\n", 'B, an unknown token: its location answers');

# every command Redis receives from here on
$redis->monitor;

is($a->verify($D)->{status}, 202, "POST $D on edge A: 202");

my ($j, $ok) = $pebble->wait_issued($D, 20);

is($j->{status}, 'issued', 'edge A: issued') or diag(explain $j);
is($j->{stage}, 'issued', 'edge A: stage issued');
is($pebble->order_count, 1, 'one order at Pebble');
is($pebble->issued_count, 1, 'one certificate');

subtest 'edge B answered the validation from Redis' => sub {
    my @found = $b->log_lines(qr/challenge from redis for "\Q$D\E": found/);
    cmp_ok(scalar @found, '>=', 1, 'B found the token in Redis')
        or diag(join "\n", $b->log_lines(qr/redis/));
    my $hs = $pebble->verified_handshake($D);
    ok($hs->{ok}, 'A serves the certificate') or diag($hs->{error});
};

subtest 'the key authorization in Redis' => sub {
    my $mon = $redis->monitor_log;
    my ($key, $d, $keyauth, $ttl) = $mon =~
        /"SET" "(linkcert:http01:[A-Za-z0-9_-]+)" "([^"\\]+)\\n([^"]+)" "PX" "(\d+)"/;
    ok(defined $key, 'edge A wrote it (SET)') or diag($mon), return;
    is($d, $D, 'for its domain');
    like($keyauth, qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/,
         'the key authorization: token.thumbprint');
    is($ttl, 3600_000, 'with a TTL of an hour');
    like($mon, qr/"GET" "\Q$key\E"/, 'edge B asked for it (GET)');
    ok($a->wait_until(sub { $redis->monitor_log =~ /"DEL" "\Q$key\E"/ }, 5),
       'deleted once the order is done (DEL)');
    is($redis->cli(EXISTS => $key), '0', 'not in Redis any more');
    unlike($mon, qr/"(?:KEYS|SCAN)"/, 'no KEYS or SCAN');
};

subtest 'the CA is told only once Redis has the key authorization' => sub {
    my $offset = length $b->error_log;
    $redis->cli(qw(CLIENT PAUSE 3000 WRITE));
    my $start = time;
    is($a->verify($D2)->{status}, 202, "POST $D2 on edge A: 202");
    my ($j2, $ok2) = $pebble->wait_issued($D2, 20);
    my $took = time - $start;
    ok($ok2, sprintf('issued (%.1f s)', $took)) or diag(explain $j2);
    cmp_ok($took, '>', 2, 'after the pause of Redis\'s writes');
    ok(scalar $b->log_since($offset,
                            qr/challenge from redis for "\Q$D2\E": found/),
       'B found the token in Redis');
    is($pebble->order_count, 2, 'one more order at Pebble');
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
