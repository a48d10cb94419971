#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Sentinels with a password of their own (requirepass), besides the
# master's: "linkcert_redis ... sentinel=name password=file
# sentinel_password=file".  With the right one, every worker AUTHs to the
# Sentinel, finds the master (its own password= for the ROLE probe) and
# connects; the Sentinel holds the workers' subscriptions.  With a wrong
# one, or none, no worker connects and each logs the Sentinel's refusal
# (WRONGPASS, NOAUTH); no password appears in the log.  Config mistakes
# (a missing, empty or directory file, the parameter without sentinel=,
# twice, empty) are an [emerg] naming the parameter and the file.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Redis;
use LinkCert::Config qw(config_ok config_fails);
use LinkCert::Util qw(write_file);

my $t = LinkCert::Test->new;
my $prefix = $t->prefix;
my $master = LinkCert::Redis->new($t, password => 'fleet-pass');
my $sentinel = LinkCert::Redis->new($t, name => 'sentinel',
                                    sentinel => $master,
                                    password => 'sentinel-pass');

write_file("$prefix/redis.pass", "fleet-pass\n", 0600);
write_file("$prefix/sentinel.pass", "sentinel-pass\n", 0600);
write_file("$prefix/wrong.pass", "not-the-sentinels\n", 0600);
write_file("$prefix/empty.pass", " \n", 0600);
write_file("$prefix/fleet.key", ('5c' x 32) . "\n", 0600);

my $KEY = "linkcert_redis_key $prefix/fleet.key;";
my $SENTINELS = '127.0.0.1:26379 127.0.0.2 sentinel=crm';
my @SECRETS = ('fleet-pass', 'sentinel-pass', 'not-the-sentinels');


###########################################################################
# the configuration

config_ok($t, 'sentinel_password= with Sentinels',
          "linkcert_redis $SENTINELS password=$prefix/redis.pass "
          . "sentinel_password=$prefix/sentinel.pass; $KEY");
config_ok($t, 'sentinel_password= first, without password=',
          "linkcert_redis sentinel_password=$prefix/sentinel.pass "
          . "$SENTINELS; $KEY");

my $P = qr/linkcert_redis sentinel_password=/;

my @cases = (
    [ 'a file that does not exist',
      "linkcert_redis $SENTINELS sentinel_password=$prefix/nope.pass; $KEY",
      [ $P, qr/\Q$prefix\E\/nope\.pass/ ] ],
    [ 'a file that is empty (white space only)',
      "linkcert_redis $SENTINELS sentinel_password=$prefix/empty.pass; $KEY",
      [ $P, qr/\Q$prefix\E\/empty\.pass/, qr/empty/ ] ],
    [ 'a directory',
      "linkcert_redis $SENTINELS sentinel_password=$prefix/store; $KEY",
      [ $P, qr/\Q$prefix\E\/store/ ] ],
    [ 'without sentinel=',
      "linkcert_redis 127.0.0.1 sentinel_password=$prefix/sentinel.pass; "
      . $KEY,
      [ qr/linkcert_redis/, qr/"sentinel_password=" needs "sentinel=name"/ ] ],
    [ 'an empty value',
      "linkcert_redis $SENTINELS sentinel_password=; $KEY",
      [ qr/invalid parameter "sentinel_password=" in "linkcert_redis"/ ] ],
    [ 'twice',
      "linkcert_redis $SENTINELS sentinel_password=$prefix/sentinel.pass "
      . "sentinel_password=$prefix/redis.pass; $KEY",
      [ qr/invalid parameter "sentinel_password=\Q$prefix\E\/redis\.pass"/ ] ],
);

for my $c (@cases) {
    config_fails($t, @$c[0, 1], @{ $c->[2] });
}

subtest 'the password is never printed by nginx -t' => sub {
    $t->write_config($t->standard_config(http => "linkcert_redis 127.0.0.1 "
        . "sentinel_password=$prefix/sentinel.pass; $KEY"));
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, 'nginx -t fails (no sentinel=)');
    unlike($out, qr/\Q$_\E/, "no \"$_\" in the output") for @SECRETS;
};


###########################################################################
# Sentinels with requirepass

$master->start;
$sentinel->start;

like($sentinel->cli(SENTINEL => 'get-master-addr-by-name', 'mymaster'),
     qr/^127\.0\.0\.1\n${\ $master->port }$/,
     'the Sentinel (with its password) names the master');
my ($rc, $out) = LinkCert::Util::capture(LinkCert::Redis::cli_binary(),
    '-h', '127.0.0.1', '-p', $sentinel->port,
    qw(SENTINEL get-master-addr-by-name mymaster));
like($out, qr/NOAUTH/, '... and refuses a client without it');

sub edge {
    my ($file) = @_;
    my $params = "sentinel=mymaster password=$prefix/redis.pass "
                 . 'timeout=500ms'
                 . (defined $file ? " sentinel_password=$prefix/$file" : '');
    $t->stop;
    $t->write_config($t->standard_config(log_level => 'info',
        http => $sentinel->fleet_lines($t, 'edge-a', $params)));
    my $from = length $t->error_log;
    $t->run;
    return $from;
}

# each worker (by pid) that logged a line matching $re since $from
sub workers_saying {
    my ($from, $re) = @_;
    my %pids = map { /\] (\d+)#\d+: / ? ($1 => 1) : () }
               $t->log_since($from, $re);
    return scalar grep { $pids{$_} } $t->worker_pids;
}

# the workers' connections for commands (not worker 0's subscriber's)
sub our_clients {
    my ($server) = @_;
    return grep { ($_->{name} // '') =~ /^linkcert-edge-a-\d+$/ }
           $server->clients;
}

my $SENTINEL = quotemeta $sentinel->address;
my $MASTER = quotemeta $master->address;
my $found = qr/redis sentinel "mymaster": the master is $MASTER /
            . qr/\(named by Sentinel $SENTINEL, ROLE master\)/;

subtest 'the right sentinel_password: the master found' => sub {
    my $from = edge('sentinel.pass');
    ok($master->wait_connected($t), 'every worker connected to the master')
        or diag($t->log_since($from, qr/redis/));
    is(workers_saying($from, $found), 2, 'each worker says which master, '
                                         . 'named by the Sentinel');
    is(scalar(our_clients($master)), 2, 'the master has both workers');
    ok($t->wait_until(sub {
           2 <= grep { ($_->{cmd} // '') eq 'subscribe' } $sentinel->clients
       }, 5), 'the Sentinel has both workers\' subscriptions');
    is(scalar $t->log_since($from, qr/refused/), 0, 'nothing refused');
};

sub refused_ok {
    my ($file, $re, $name) = @_;
    my $from = edge($file);
    ok($t->wait_until(sub { workers_saying($from, qr/\[warn\] .*$re/) == 2 },
                      10),
       "$name: each worker warns") or diag($t->log_since($from, qr/redis/));
    ok($t->wait_until(sub { workers_saying($from, qr/\[info\] .*$re/) == 2 },
                      10), '... and asks again (at info)');
    is(scalar $t->log_since($from, qr/redis \S+ connected|the master is/), 0,
       '... no worker found the master or connected');
    is(scalar(our_clients($master)), 0, '... the master has no worker');
    my $log = $t->log_since($from);
    unlike($log, qr/\Q$_\E/, "... no \"$_\" in the log") for @SECRETS;
}

refused_ok('wrong.pass',
           qr/Sentinel $SENTINEL: it refused AUTH with sentinel_password=: /
           . qr/"WRONGPASS [^"]*", asking again in \d+ ms/,
           'a wrong sentinel_password');

refused_ok(undef,
           qr/Sentinel $SENTINEL: it refused the question: /
           . qr/"NOAUTH Authentication required\.", asking again/,
           'no sentinel_password');

subtest 'the right one again: connected' => sub {
    my $from = edge('sentinel.pass');
    ok($master->wait_connected($t), 'every worker connected to the master');
    is(workers_saying($from, $found), 2, 'each worker found the master');
};

$t->no_crash_ok('no worker crashed');

done_testing;
