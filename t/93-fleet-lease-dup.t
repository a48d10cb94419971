#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# One order per domain fleet-wide, also when the lease passes on before
# the waiting edge has applied the holder's certificate: edge A orders D
# (held at the CA's validation) and holds its lease; edge B, POSTed D
# too, waits for the lease, asking again every second.  B's worker 0,
# which runs B's jobs and applies the fleet's changes, is held with
# SIGSTOP while A issues D, writes the certificate to Redis and releases
# the lease; when it runs again, its job's next try takes the freed
# lease before its reading of A's change has applied the certificate.
# The lease's answer says that the fleet holds a certificate of D from
# another edge, of a change B has not applied: B lets the lease go and
# applies the fleet's record instead of ordering.  The CA saw one order
# of D, and B serves A's certificate.  Before, B ordered D again (a
# duplicate certificate; Let's Encrypt allows 5 a week).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep);

my $D = 'once.customer.test';

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $delay = LinkCert::Pebble::Delay->new($a);
my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port);

$fleet->start($pebble, order => 'ab', redis => 'timeout=2s lease=60s',
              b => { workers => 2 });

my $orders = $pebble->order_count;

$delay->hold;
is($a->verify($D)->{status}, 202, "POST $D on A: 202");
ok($delay->wait_request($D, 20), 'A\'s order is being validated (held)');
like($redis->cli(GET => "linkcert:lease:$D") // '', qr/^edge-a /,
     'A holds the lease');

is($b->verify($D)->{status}, 202, "POST $D on B: 202");
my ($j) = $b->wait_status($D, sub {
    ($_->{last_error}{type} // '') eq 'fleet_busy' }, 10);
like($j->{last_error}{detail} // '', qr/edge-a /, 'B waits for A\'s lease')
    or diag(explain $j);

# B's worker 0 (the first started) runs B's jobs and applies the fleet's
# changes: held while A issues D and releases the lease, so that when it
# runs again its job's next try at the lease (its timer has expired) and
# its reading of A's change start in the same turn of its event loop
my ($w0) = $b->worker_pids;
kill 'STOP', $w0;

$delay->release;
my ($k, $ok) = $pebble->wait_issued($D, 20);
ok($ok, 'A issued D') or diag(explain $k);
ok($a->wait_until(sub {
       ($redis->cli(GET => "linkcert:lease:$D") // "") eq "" }, 5, 0.05),
   'A released the lease');
sleep 1.5;

kill 'CONT', $w0;

my ($hs) = $pebble->wait_serial($b, $D, $k->{certificate}{serial}, 10);
ok($hs->{ok}, 'B serves A\'s certificate')
    or diag(join "\n", $b->log_lines(qr/\Q$D\E/));

# a second order, if B placed one, reaches the CA within a few seconds
$b->wait_until(sub { $pebble->order_count - $orders > 1 }, 4, 0.1);
is($pebble->order_count - $orders, 1, 'the CA saw one order of D')
    or diag(join "\n", $b->log_lines(qr/\Q$D\E/));
ok(scalar $b->log_lines(qr/"\Q$D\E":\ the\ fleet\ has\ a\ certificate\ of\ it
                           \ \(change\ 1\)\ that\ this\ edge\ has\ not
                           \ applied\ yet.*applied\ instead\ of\ ordered/x),
   'B took the lease before applying A\'s change, and did not order')
    or diag(join "\n", $b->log_lines(qr/\Q$D\E/));
is($b->status_of($D)->{json}{status}, 'issued', 'B: issued');
is($redis->cli(HGET => "linkcert:cert:$D", 'edge'), 'edge-a',
   'the fleet\'s certificate is still A\'s');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
