#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# One ACME account for the fleet: with linkcert_redis, each edge offers
# its account key to Redis, sealed under linkcert_redis_key, before it
# sets its account up; the first offer is kept (SET NX) and every edge
# uses the key Redis holds.  Two edges ordering at once at one Pebble
# register one account (Pebble counts one) with one URL, and no private
# key reaches Redis in the clear.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Digest::SHA qw(sha256_hex);

my ($DA, $DB) = ('a.account.test', 'b.account.test');

my $fleet = LinkCert::Fleet->new(2, domains => [ $DA, $DB ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1));

$fleet->start($pebble, order => 'ab', redis => 'timeout=2s lease=20s',
              monitor => 1);

# each edge made its own key at start, as one edge does
my %local = map { $_->[1] => LinkCert::Util::read_file(
                                 $_->[0]->store . '/account/account.key') }
            [ $a, 'a' ], [ $b, 'b' ];
isnt($local{a}, $local{b}, 'each edge has a key of its own in its store');

# both edges order at once: both set their account up
is($a->verify($DA)->{status}, 202, "POST $DA on A");
is($b->verify($DB)->{status}, 202, "POST $DB on B");

for my $d ($DA, $DB) {
    my ($j, $ok) = $pebble->wait_issued($d, 30);
    ok($ok, "$d issued") or diag(explain $j);
}

sub kid {
    my ($t) = @_;
    my ($line) = $t->log_lines(qr/linkcert: ACME account ready: /);
    return $line && $line =~ /ACME account ready: (\S+)/ ? $1 : undef;
}

my ($ka, $kb) = (kid($a), kid($b));
like($ka // '', qr{/my-account/}, "A's account: $ka");
is($kb, $ka, 'B set up the same account');
is($pebble->account_count, 1, 'Pebble registered one account');

my $key = 'linkcert:account:' . sha256_hex($pebble->directory_url);
my $sealed = $redis->cli(GET => $key);
cmp_ok(length($sealed // ''), '>', 100, "the key in Redis ($key)");
unlike($sealed // '', qr/PRIVATE KEY|BEGIN/, '... sealed, not PEM');

my @lines = map { $_->log_lines(qr/ACME account key for .* is the fleet's/) }
            $a, $b;
is(scalar @lines, 2, 'each edge says whose key the fleet uses');
is(scalar(grep { /this edge's/ } @lines), 1, '... one its own');

unlike($redis->monitor_log, qr/PRIVATE KEY/,
       'no private key in the clear went to Redis');
unlike($redis->monitor_log, qr/"(?:KEYS|SCAN)"/, 'no KEYS or SCAN');
like($redis->monitor_log,
     qr/"EVALSHA" "[0-9a-f]{40}" "1" "\Q$key\E" /,
     'offered with EVALSHA');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
