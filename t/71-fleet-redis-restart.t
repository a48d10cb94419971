#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Redis killed (SIGKILL) and restarted from its append-only file: two
# edges share one Redis; a domain issued on A is served by B.  A second
# domain's order is under way on A (its validation held by a relay) when
# Redis is killed; A finishes it while Redis is down, serves it, and keeps
# the change it could not write (the store's redis-pending/).  Meanwhile
# both edges serve what they have and answer GET from their own state,
# marked stale.  Redis restarted from its AOF has lost nothing (the
# sequence, the changes, the records); the edges connect again, A writes
# the change it kept, and B serves the certificate issued while Redis was
# down, by sequence.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(time sleep);

my $D = 'links.customer.test';              # issued with Redis there
my $D2 = 'go.customer.test';                # issued while Redis is down

my $fleet = LinkCert::Fleet->new(2, domains => [ $D, $D2 ]);
my ($a, $b) = $fleet->edges;                # A orders, B serves
my $redis = $fleet->redis;
my $delay = LinkCert::Pebble::Delay->new($a);
my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port);

$fleet->start($pebble, redis => 'timeout=300ms', b => { workers => 2 });

sub connected_again {
    my ($t, $offset) = @_;
    return $t->wait_until(sub {
        my %seen = map { /\] (\d+)#\d+: / ? ($1 => 1) : () }
                   $t->log_since($offset,
                                 qr/linkcert: redis \S+ connected .* again/);
        !grep { !$seen{$_} } $t->worker_pids;
    }, 15);
}

sub serial_of { uc(($_[0]->status_of($_[1])->{json} // {})
                   ->{certificate}{serial} // '') }

is($a->verify($D)->{status}, 202, "POST $D on A: 202");
my ($j, $ok) = $pebble->wait_issued($D, 30);
ok($ok, "$D issued on A") or diag(explain $j);
my $serial = uc($j->{certificate}{serial} // '');
my ($hs) = $pebble->wait_serial($b, $D, $serial, 5);
is($hs->{serial}, $serial, "B serves $D");

# what Redis acknowledged before it was killed
my %before = (
    seq     => $redis->cli(GET => 'linkcert:seq'),
    score   => $redis->cli(ZSCORE => 'linkcert:changes', $D),
    record  => $redis->cli(HMGET => "linkcert:cert:$D", qw(chain leaf issuer)),
);

my ($oa, $ob) = (length $a->error_log, length $b->error_log);
my $serial2;

subtest 'Redis killed while an order is under way on A' => sub {
    $delay->hold;
    is($a->verify($D2)->{status}, 202, "POST $D2 on A: 202");
    ok($delay->wait_request($D2, 20), 'its validation reached the relay');

    $redis->kill;

    $delay->release;
    my ($j2, $ok2) = $pebble->wait_issued($D2, 30);
    ok($ok2, "$D2 issued on A while Redis is down") or diag(explain $j2);
    $serial2 = uc($j2->{certificate}{serial} // '');
    ok($j2->{stale}, '... its status marked stale');
    ok($a->wait_until(sub { -e $a->store . "/redis-pending/$D2" }, 5),
       'A keeps the change it could not write')
        or diag(join "\n", $a->log_since($oa, qr/\Q$D2\E|redis/));

    my ($hs2) = $pebble->wait_serial($a, $D2, $serial2, 5);
    is($hs2->{serial}, $serial2, "A serves $D2");
    for my $t ($a, $b) {
        my ($h) = $pebble->wait_serial($t, $D, $serial, 5);
        is($h->{serial}, $serial, "$D still served");
        my $s = $t->status_of($D)->{json} // {};
        ok($s->{status} eq 'issued' && $s->{stale},
           '... issued, stale');
    }
    isnt($b->handshake($D2), $a->fingerprint_of_file(
             $a->store . "/domains/$D2/fullchain.pem"),
         "B does not serve $D2 yet");
};

subtest 'Redis restarted from its append-only file' => sub {
    $redis->start;
    my $back = time;

    # the edges may have written the change they kept already
    cmp_ok($redis->cli(GET => 'linkcert:seq'), '>=', $before{seq},
           "the sequence is not behind ($before{seq})");
    is($redis->cli(ZSCORE => 'linkcert:changes', $D), $before{score},
       "${D}'s change is there");
    is($redis->cli(HMGET => "linkcert:cert:$D", qw(chain leaf issuer)),
       $before{record},
       "${D}'s record is there");

    ok(connected_again($a, $oa) && connected_again($b, $ob),
       'every worker of both edges connected again');

    my ($hs2) = $pebble->wait_serial($b, $D2, $serial2, 15);
    my $took = time - $back;
    is($hs2->{serial}, $serial2,
       "B serves $D2, issued on A while Redis was down")
        or diag(join "\n", $a->log_since($oa, qr/\Q$D2\E/));
    diag(sprintf('served on B %.3f s after Redis was started again '
                 . '(reconnection backoff included)', $took));
    ok($hs2->{ok}, '... verified against the CA\'s root');
    is(serial_of($b, $D2), $serial2, '... B reports its serial');
    ok(scalar $a->log_lines(qr/"\Q$D2\E" written to redis now: its cert/),
       'A wrote the change it kept');
    ok(!-e $a->store . "/redis-pending/$D2", '... and forgot it');
    # a restarted Redis is another server (its replication ID): the
    # numbers jump ahead once, as after a failover that lost writes
    is($redis->cli(GET => 'linkcert:seq'), $before{seq} + 1048576 + 1,
       'one change more in the sequence, after its jump');
    ok(!exists $a->status_of($D)->{json}{stale}, 'A is not stale any more');
    is($pebble->order_count, 2, 'two orders in all');
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
