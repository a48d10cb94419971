#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A fleet's DELETE is answered once Redis has the removal.  Redis is
# paused (CLIENT PAUSE WRITE, shorter than timeout=) while the CRM DELETEs a
# domain on edge B and, once answered, POSTs it again on edge A: B
# answers only when Redis has written the removal, so A's POST comes
# after it and stands, on A and on every edge.  Before, B answered at
# once and wrote the removal when Redis went on, after A's POST: A
# removed the domain too (the CRM's last word lost).  Redis paused past
# timeout=: the DELETE answers 503 engine_unreachable and nothing is
# removed, on B, on A, or in Redis.  A DELETE on B of a domain only A
# holds (POSTed there, its DNS not pointing yet) waits for the removal
# the same way.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(time sleep);

my $D = 'readded.customer.test';        # DELETEd on B, POSTed on A
my $KEEP = 'kept.customer.test';        # DELETEd on B with Redis paused
my $ELSE = 'elsewhere.customer.test';   # POSTed on A, DELETEd on B
my $STATUS = '/.well-known/ssl-status';
my $PAUSE = 600;                        # ms, under timeout=

my $fleet = LinkCert::Fleet->new(2, domains => [ $D, $KEEP ]);
my ($a, $b) = $fleet->edges;                # A gets the POST, B the DELETE
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a);

my %fp;
for my $d ($D, $KEEP) {
    my ($chain, $key) = $a->make_cert($d);
    $_->store_domain($d, cert => [$chain, $key]) for $a, $b;
    $fp{$d} = $a->fingerprint_of_file($chain);
}

$fleet->start($pebble, order => 'a', redis => 'timeout=1500ms');

sub status { ($_[0]->status_of($_[1])->{json}{status} // '') }

subtest 'DELETE on B, then at once POST on A: the POST stands' => sub {
    my $oa = length $a->error_log;

    # writes wait (EVAL too), reads do not
    $redis->cli('CLIENT', 'PAUSE', $PAUSE, 'WRITE');
    my $t0 = time;
    my $r = $b->http(DELETE => "$STATUS?domain=$D", key => 1);
    my $took = time - $t0;
    my $post = $a->verify($D);
    my $removed = $redis->cli(HGET => "linkcert:cert:$D", 'removed');

    is($r->{status}, 200, "DELETE $D on B: 200") or diag($r->{body});
    cmp_ok($took, '>', $PAUSE / 1000 * 0.8,
           sprintf('B answered once Redis went on (%.3f s)', $took));
    is($post->{status}, 202, "POST $D on A right after: 202")
        or diag($post->{body});
    is($removed // '', '1', 'Redis had the removal by then');

    ok($a->wait_until(sub {
           $a->log_since($oa, qr/"\Q$D\E".*(removed by edge|POSTed here)/)
       }, 5, 0.05),
       'A read the removal') or diag(join "\n", $a->log_since($oa));
    sleep 0.5;

    isnt(status($a, $D), 'unknown', 'A: the POST stands (not unknown)');
    ok($a->wait_until(sub {
           ($a->handshake($D) // '') ne $a->fallback_fingerprint }, 30, 0.2),
       'A serves a certificate for it');
    ok($b->wait_until(sub {
           ($b->handshake($D) // '') ne $b->fallback_fingerprint }, 5, 0.1),
       'B serves one too');
    isnt(status($b, $D), 'unknown', 'B: not unknown');
};

subtest 'DELETE with Redis paused past timeout=: 503, nothing removed' => sub {
    my $ob = length $b->error_log;

    $redis->pause(3000);
    my $r = $b->http(DELETE => "$STATUS?domain=$KEEP", key => 1);
    is($r->{status}, 503, "DELETE $KEEP on B: 503") or diag($r->{body});
    like($r->{body} // '', qr/"error":\s*"engine_unreachable"/,
         '... engine_unreachable');
    is(status($b, $KEEP), 'issued', 'B still has it');
    is($b->handshake($KEEP), $fp{$KEEP}, '... and serves it');
    ok(!-e $b->store . "/redis-pending/$KEEP", '... nothing kept for later');

    ok($b->wait_until(sub {
           $b->log_since($ob, qr/linkcert: redis \S+ connected/) }, 10),
       'B connected to Redis again');
    sleep 1;
    isnt($redis->cli(HGET => "linkcert:cert:$KEEP", 'removed') // '', '1',
         'Redis has no removal of it');
    is(status($a, $KEEP), 'issued', 'A still has it');
    is($a->handshake($KEEP), $fp{$KEEP}, '... and serves it');

    $r = $b->http(DELETE => "$STATUS?domain=$KEEP", key => 1);
    is($r->{status}, 200, "DELETE $KEEP on B again, Redis back: 200");
    ok($a->wait_until(sub { status($a, $KEEP) eq 'unknown' }, 5, 0.05),
       'A removed it');
};

subtest 'DELETE on B of a domain only A holds: answered once removed' => sub {
    is($a->verify($ELSE)->{status}, 202, "POST $ELSE on A: 202");
    ok($b->wait_until(sub { status($b, $ELSE) ne 'unknown' }, 5, 0.05),
       'B sees its status from the fleet');

    $redis->cli('CLIENT', 'PAUSE', $PAUSE, 'WRITE');
    my $t0 = time;
    my $r = $b->http(DELETE => "$STATUS?domain=$ELSE", key => 1);
    my $took = time - $t0;
    my $removed = $redis->cli(HGET => "linkcert:cert:$ELSE", 'removed');

    is($r->{status}, 200, "DELETE $ELSE on B: 200") or diag($r->{body});
    like($r->{body} // '', qr/"domain":\s*"\Q$ELSE\E"/,
         '... with the fleet\'s object');
    cmp_ok($took, '>', $PAUSE / 1000 * 0.8,
           sprintf('B answered once Redis went on (%.3f s)', $took));
    is($removed // '', '1', 'Redis had the removal by then');
    ok($a->wait_until(sub { status($a, $ELSE) eq 'unknown' }, 5, 0.05),
       'A removed it');
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
