#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# An ACME server that accepts the connection and never answers:
# linkcert_acme_directory points at a loopback TCP listener of the test
# that accepts and stays silent.  After the client's read timeout (30 s)
# the connection is closed (no socket left in the worker) and the domain
# is pending / ordering with a transport error.  It was the account's
# setup that timed out: it is tried again after 1 s (doubling), never
# two connections at a time, and the domain's next attempt is that try,
# not a backoff of its own.  Handshakes for another domain are served
# meanwhile.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);    # its CA only; Pebble never runs
my $RFC3339 = LinkCert::Test::rfc3339_re();

my $D = 'hang.customer.test';
my $OTHER = 'imported.customer.test';

my $silent = LinkCert::Pebble::Silent->new;
my $port = $silent->port;

$t->challtestsrv;
$t->set_cname($D, 'edge.crm.test');
$t->add_a('edge.crm.test', ['127.0.0.1']);
my ($chain) = $t->store_domain($OTHER);
my $other_fp = $t->fingerprint_of_file($chain);

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

sub worker_connections {
    return map { LinkCert::Pebble->connections_to($_, $port) }
           $t->worker_pids;
}

# worker 0 sets the account up when it starts: its first connection may
# come before the POST (on a busy machine it often does)
cmp_ok(scalar(worker_connections()), '<=', 1,
       'at most one connection to the port at start');

my $r = $t->verify($D);
is($r->{status}, 202, 'POST: 202') or diag($r->{raw});

# the first connection arrives
my $deadline = time + 10;
sleep 0.05 until $silent->accepted > 0 || time > $deadline;
my ($first) = $silent->poll;
ok($first, 'linkcert connected to the silent server')
    or diag($pebble->notices);
$first //= { peer_port => -1, accepted_at => time };

my @held = worker_connections();
is(scalar @held, 1, 'a worker holds one connection to it meanwhile')
    or diag(explain \@held);
is($held[0]{local} // 0, $first->{peer_port}, 'the accepted one');

# $first is the poller's own record: read what arrived since it was taken
sleep 1;
$silent->poll;
cmp_ok($first->{bytes}, '>', 0, 'linkcert sent something (its ClientHello)');

my $mid = $t->status_of($D)->{json} // {};
is($mid->{stage}, 'ordering', 'stage ordering while waiting') or diag(explain $mid);
is($mid->{last_error}, undef, 'no error yet');

my $t0 = time;
is($t->handshake($OTHER), $other_fp,
   'handshakes for another domain are served meanwhile');
# fast: a worker that waited for the silent CA would take up to 30 s;
# a busy machine (prove -j beside other work) may take a few seconds
cmp_ok(time - $t0, '<', 5, 'and fast');

# the first connection is given up: linkcert closes it
$deadline = $first->{accepted_at} + 45;
until (defined $first->{closed_at} || time > $deadline) {
    sleep 0.1;
    $silent->poll;    # notes closed_at in $first
}
my $closed_after = defined $first->{closed_at}
    ? $first->{closed_at} - $first->{accepted_at} : undef;

subtest 'the read timeout closes the connection' => sub {
    ok(defined $closed_after, sprintf('linkcert closed it (%s s after the '
       . 'connection)', defined $closed_after
       ? sprintf('%.1f', $closed_after) : 'not within 45')) or diag($pebble->notices);
    cmp_ok($closed_after // 0, '>=', 28, 'not before the 30 s timeout');
    cmp_ok($closed_after // 99, '<=', 35, 'not much after it');
    my @left = grep { $_->{local} == $first->{peer_port} } worker_connections();
    is(scalar @left, 0, 'no worker has that socket any more')
        or diag(explain \@left);
    # that connection only: its two ends (another test's nginx, run in
    # parallel, may have one of those port numbers by now)
    my @ss = grep { /127\.0\.0\.1:$first->{peer_port}\s+127\.0\.0\.1:$port\b/
                    && /nginx/ } `ss -tnp 2>/dev/null`;
    is(scalar @ss, 0, 'ss -tnp agrees') or diag(@ss);
};

# the status: give the worker a moment to write it
my ($j) = $t->wait_status($D, sub { defined $_[0]{last_error} }, 2);

subtest 'the domain: pending / ordering with a transport error' => sub {
    is($j->{status}, 'pending', 'status pending') or diag(explain $j);
    is($j->{stage}, 'ordering', 'stage ordering');
    is($j->{last_error}{type}, 'acme_transport', 'last_error.type acme_transport')
        or diag(explain $j), diag($pebble->notices);
    like($j->{last_error}{detail} // '', qr/time/i, 'the detail says timed out');
    like($j->{next_attempt_at} // '', $RFC3339, 'next_attempt_at is set');
    my $next = $t->parse_time($j->{next_attempt_at}) // 0;
    my $at = $t->parse_time($j->{last_error}{at}) // 9e9;   # none: fails
    cmp_ok($next - $at, '>=', 0, 'next_attempt_at: not before the error');
    cmp_ok($next - $at, '<=', 5,
           'next_attempt_at: the account\'s next try, not a backoff');
    is($j->{certificate}, undef, 'no certificate');
};

# the account's setup is tried again soon, once the first try is over
my $watch_until = time + 12;
sleep 0.2 while time < $watch_until && $silent->accepted == 1;
my @conns = $silent->poll;

subtest 'afterwards' => sub {
    is(scalar @conns, 2, 'one new connection within 12 s of the failure')
        or diag(join "\n", map { sprintf 'connection from port %d at +%.1f s',
                $_->{peer_port}, $_->{accepted_at} - $first->{accepted_at} }
                @conns);
    cmp_ok($conns[1]{accepted_at} // 0, '>=', $first->{closed_at} // 9e9,
           'after the first one was closed: one at a time');
    my @open_ours = grep { !defined $_->{closed_at} } @conns;
    my @theirs = worker_connections();
    is(scalar @theirs, scalar @open_ours,
       'every worker socket to the port is one still in use (no leak)')
        or diag(explain \@theirs);
    is($t->status_of($D)->{json}{stage}, 'ordering', 'still ordering');
};

my @alerts = $pebble->error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
is(scalar @alerts, 0, 'no alert, crit or emerg') or diag(join "\n", @alerts);

done_testing;
