#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The Redis client of the fleet (linkcert_redis) in each worker: it
# connects with AUTH, SELECT and CLIENT SETNAME, says so in the log and
# the metrics; a Redis killed and restarted is connected again; a wrong
# password is logged, and tried again with a backoff; a key authorization
# put in Redis by another edge is answered on HTTP-01 (only for its
# domain and token); a Redis that hangs (CLIENT PAUSE) costs a challenge
# request at most the timeout, then the locations answer; while Redis is
# away a POST answers 503 engine_unreachable.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Redis;
use LinkCert::Util qw(write_file);
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $redis = LinkCert::Redis->new($t, password => 'fleet-pass',
                                 unixsocket => 1);
my $prefix = $t->prefix;

write_file("$prefix/fleet.key", ('0f1e2d3c4b5a6978' x 4) . "\n", 0600);
write_file("$prefix/redis.pass", "fleet-pass\n", 0600);
write_file("$prefix/wrong.pass", "not-the-pass\n", 0600);

$redis->start;

sub config {
    my ($pass, $address) = @_;
    $address //= '%%REDIS%%';
    return $t->standard_config(workers => 2, log_level => 'info',
                               http => <<"EOF");
    linkcert_redis $address password=$prefix/$pass db=2 prefix=crm: timeout=300ms;
    linkcert_redis_key $prefix/fleet.key;
    linkcert_edge edge-a;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%REFUSED%% timeout=1s attempts=1;
EOF
}

my $CONNECTED = 'linkcert_redis_connected{edge="edge-a"}';

sub connected_metric {
    my ($want, $timeout) = @_;
    my $m = $t->wait_metrics(sub { ($_[0]{$CONNECTED} // -1) == $want },
                             $timeout);
    return $m->{$CONNECTED};
}

$t->write_config(config('redis.pass'));
$t->run;

subtest 'without linkcert_redis, a POST does not need Redis' => sub {
    $redis->stop;
    my $plain = config('redis.pass');
    $plain =~ s/^\s*linkcert_(?:redis|redis_key|edge)\b.*\n//mg;
    $t->stop;
    $t->write_config($plain);
    $t->run;
    is($t->verify('plain.customer.test')->{status}, 202, 'POST: 202');
    $t->stop;
    $redis->start;
    $t->write_config(config('redis.pass'));
    $t->run;
};

subtest 'every worker connects, with its name and database' => sub {
    ok($redis->wait_connected($t), 'a "connected" notice from each worker')
        or diag(join "\n", $t->log_lines(qr/redis/));
    like(($t->log_lines(qr/linkcert: redis \S+ connected/))[-1],
         qr/\[notice\] .*linkcert: redis 127\.0\.0\.1:\d+ connected \(edge "edge-a"\)$/,
         '... naming the address and the edge');
    my @ours = grep { ($_->{name} // '') =~ /^linkcert-edge-a-\d+$/ }
               $redis->clients;
    is(scalar @ours, 2, 'two clients named linkcert-edge-a-<pid>');
    is_deeply([ sort map { /(\d+)$/ } map { $_->{name} } @ours ],
              [ sort map { "$_" } $t->worker_pids ], '... one per worker');
    ok(!(grep { $_->{db} != 2 } @ours), 'both in db 2');
    is(connected_metric(1, 5), 1, "metrics: $CONNECTED 1");
};

my $TOKEN = 'tok_' . join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 39;
my $D = 'links.customer.test';

subtest 'a key authorization in Redis is answered' => sub {
    $redis->cli('-n', 2, SET => "crm:http01:$TOKEN", "$D\n$TOKEN.thumb");
    for (1 .. 4) {      # both workers
        my $r = $t->http(GET => "/.well-known/acme-challenge/$TOKEN",
                         host => $D);
        is($r->{status}, 200, "GET $_: 200");
        is($r->{body}, "$TOKEN.thumb", "GET $_: the key authorization");
    }
    my $r = $t->http(GET => "/.well-known/acme-challenge/$TOKEN",
                     host => 'other.customer.test');
    is($r->{body}, "tracker\n", 'for another domain: the location');
    $r = $t->http(GET => "/.well-known/acme-challenge/${TOKEN}x", host => $D);
    is($r->{body}, "tracker\n", 'another token: the location');
    $r = $t->http(GET => "/.well-known/acme-challenge/a*b", host => $D);
    is($r->{body}, "tracker\n", 'not a token: the location');
    $redis->cli('-n', 2, DEL => "crm:http01:$TOKEN");
    $r = $t->http(GET => "/.well-known/acme-challenge/$TOKEN", host => $D);
    is($r->{body}, "tracker\n", 'deleted: the location');
};

subtest 'Redis hangs: the request waits at most the timeout' => sub {
    my $offset = length $t->error_log;
    $redis->pause(3000);
    my $start = time;
    my $r = $t->http(GET => "/.well-known/acme-challenge/$TOKEN", host => $D);
    my $took = time - $start;
    is($r->{body}, "tracker\n", 'the location answers');
    cmp_ok($took, '<', 1.5, sprintf('within 1.5 s (%.2f s)', $took));
    cmp_ok($took, '>=', 0.25, 'after the timeout (300 ms)');
    ok($t->wait_log_since($offset,
           qr/redis \S+: a request timed out, connecting again/, 3),
       'the hanging connection is closed and made again');
    sleep 3;
    is(connected_metric(1, 5), 1, 'connected again once Redis answers');
};

subtest 'Redis killed and restarted' => sub {
    my $offset = length $t->error_log;
    $redis->kill;
    ok($t->wait_log_since($offset,
           qr/\[error\].*redis \S+: connection closed, connecting again in \d+ ms/, 5),
       'the loss is logged as an error');
    is(connected_metric(0, 5), 0, "metrics: $CONNECTED 0");

    my $start = time;
    my $r = $t->http(GET => "/.well-known/acme-challenge/$TOKEN", host => $D);
    is($r->{body}, "tracker\n", 'a challenge request meanwhile: the location');
    cmp_ok(time - $start, '<', 1.5, '... after at most the timeout');

    for (1 .. 2) {      # both workers
        my $p = $t->verify($D);
        is($p->{status}, 503, "POST $_ meanwhile: 503");
        is($p->{json}{error}, 'engine_unreachable', '... engine_unreachable');
    }
    is($t->status_of($D)->{json}{stage}, 'none', 'nothing was started');

    sleep 1;
    $redis->start;
    ok($t->wait_until(sub {
        2 <= $t->log_since($offset,
                           qr/redis \S+ connected \(edge "edge-a"\) again/) },
        10), 'both workers connect again (backoff at most 5 s)');
    is(connected_metric(1, 5), 1, "metrics: $CONNECTED 1");
    $redis->cli('-n', 2, SET => "crm:http01:$TOKEN", "$D\n$TOKEN.thumb");
    $r = $t->http(GET => "/.well-known/acme-challenge/$TOKEN", host => $D);
    is($r->{body}, "$TOKEN.thumb", 'and asked again');
    is($t->verify($D)->{status}, 202, 'a POST is accepted again');
};

subtest 'a reload: the new workers connect, the old ones leave' => sub {
    my %old = map { $_ => 1 } $t->worker_pids;
    $t->reload;
    ok($redis->wait_connected($t), 'every new worker connected');
    ok($t->wait_until(sub {
        my @names = map { $_->{name} // '' } $redis->clients;
        my @ours = grep { /^linkcert-edge-a-(\d+)$/ } @names;
        @ours == 2 && !grep { /(\d+)$/ && $old{$1} } @ours }, 10),
       'two clients, none of an old worker');
};

subtest 'a unix: socket' => sub {
    $t->stop;
    my $offset = length $t->error_log;
    $t->write_config(config('redis.pass', 'unix:' . $redis->socket));
    $t->run;
    ok($redis->wait_connected($t), 'every worker connected');
    like(($t->log_since($offset, qr/connected/))[0] // '',
         qr/redis unix:\S+redis\.sock connected/, 'over the socket');
    $redis->cli('-n', 2, SET => "crm:http01:$TOKEN", "$D\n$TOKEN.unix");
    my $r = $t->http(GET => "/.well-known/acme-challenge/$TOKEN", host => $D);
    is($r->{body}, "$TOKEN.unix", 'a key authorization is asked for');
};

subtest 'a wrong password' => sub {
    $t->stop;
    my $offset = length $t->error_log;
    $t->write_config(config('wrong.pass'));
    $t->run;
    ok($t->wait_log_since($offset,
           qr/\[error\].*redis \S+ refused the connection's setup: WRONGPASS/,
           5), 'the refusal is logged with Redis\'s reason');
    unlike($t->error_log, qr/not-the-pass|fleet-pass/, 'no password logged');
    is(connected_metric(0, 3), 0, "metrics: $CONNECTED 0");
    sleep 1.5;
    my @tries = $t->log_since($offset, qr/refused the connection's setup/);
    cmp_ok(scalar @tries, '<=', 12, 'tried again with a backoff ('
                                     . scalar(@tries) . ' tries in 2 s)');
};

$t->no_crash_ok;

done_testing;
