#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Graceful shutdown is not held up by linkcert's background work, and
# leaves nothing behind: nginx -s quit (SIGQUIT to the master, $t->stop)
# while worker 0 waits for something exits within 3 s, without an
# "[alert] open socket ... left in connection" (a socket that nobody
# closed), and no worker stays behind.
#
# 1. a DNS verification waiting on a DNS server that never answers
# 2. an order waiting on a slow Pebble (its HTTP-01 validation held 10 s)
# 3. an ACME request that hangs (a server that accepts and never answers):
#    a reload first, then the quit

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $delay = LinkCert::Pebble::Delay->new($t, delay => 10);
my $pebble = LinkCert::Pebble->new($t, http_port => $delay->port,
    env => { PEBBLE_AUTHZREUSE => 0 });

my $TARGET = 'edge.crm.test';
my $SLOW_DNS = 'slowdns.customer.test';
my $SLOW_CA = 'slowca.customer.test';

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($SLOW_CA, $TARGET);

sub quit_ok {
    my ($name) = @_;
    my @workers = $t->worker_pids;
    my $offset = length $t->error_log;
    my $t0 = time;
    $t->stop;
    my $took = time - $t0;
    subtest "quit: $name" => sub {
        cmp_ok($took, '<', 3, sprintf('nginx exited in %.1f s', $took));
        ok(!$t->running, 'the master is gone');
        my @left = grep { kill 0, $_ } @workers;
        is_deeply(\@left, [], 'no worker is left');
        my $log = substr($t->error_log, $offset);
        my @alerts = $log =~ /^(.*\[(?:alert|crit|emerg)\].*)$/mg;
        is_deeply(\@alerts, [], 'no alert at the exit')
            or diag(join "\n", @alerts);
    };
}


###########################################################################
# 1. a verification waiting on a silent DNS server

$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%SILENT%% timeout=5s attempts=2;

    linkcert_acme_directory off;
EOF
$t->run;

my $r = $t->verify($SLOW_DNS);
is($r->{status}, 202, "POST $SLOW_DNS: 202") or diag($r->{raw});
my @q = grep { $_->{name} eq $SLOW_DNS } $t->silent_queries(5);
ok(scalar @q, 'the silent DNS server got its query');
my $j = $t->status_of($SLOW_DNS)->{json} // {};
is($j->{stage}, 'verifying', 'stage verifying, waiting for the answer');
is($j->{last_error}, undef, 'no error yet');

quit_ok('a verification waits on DNS');


###########################################################################
# 2. an order waiting on a slow Pebble

$pebble->start;
$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

$t->wait_status($SLOW_CA, sub {
    $t->error_log =~ /linkcert: ACME account ready/ }, 5);

$r = $t->verify($SLOW_CA);
is($r->{status}, 202, "POST $SLOW_CA: 202") or diag($r->{raw});
ok($delay->wait_request($SLOW_CA, 15), 'Pebble is validating (held 10 s)')
    or diag($pebble->notices);
sleep 0.5;
$j = $t->status_of($SLOW_CA)->{json} // {};
is($j->{stage}, 'ordering', 'stage ordering');

quit_ok('an order waits on Pebble');
$pebble->stop;


###########################################################################
# 3. an ACME request that hangs

my $silent = LinkCert::Pebble::Silent->new;
my $port = $silent->port;

$t->placeholder(SILENT_CA => $port);
$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory https://localhost:%%SILENT_CA%%/dir;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

# worker 0 sets the account up at its start (or at the first order)
$t->verify($SLOW_CA);
my $deadline = time + 10;
sleep 0.05 until $silent->accepted >= 1 || time > $deadline;
is(scalar(my @c = $silent->poll), 1, 'worker 0 connected to the silent '
   . 'ACME server and waits for its answer');

my $reload_at = time;
my $reloaded = eval { $t->reload; 1 };
ok($reloaded, 'a reload meanwhile goes through (no alert)') or diag($@);
cmp_ok(time - $reload_at, '<', 3, 'and is quick');

$deadline = time + 5;
sleep 0.1 until defined(($silent->poll)[0]{closed_at}) || time > $deadline;
ok(defined(($silent->poll)[0]{closed_at}),
   'the old worker 0\'s connection was closed');

$deadline = time + 10;
sleep 0.05 until $silent->open_connections >= 1 || time > $deadline;
is($silent->open_connections, 1, 'the new worker 0 connected again');

quit_ok('an ACME request hangs');

$deadline = time + 2;
sleep 0.1 until $silent->open_connections == 0 || time > $deadline;
is($silent->open_connections, 0, 'every connection to it is closed');

done_testing;
