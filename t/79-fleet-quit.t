#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# An edge that quits (nginx -s quit) mid-order lets its leases go: edge A
# orders a domain under a lease of a minute (the CA's validation held)
# and is told to quit; the lease is gone from Redis at once, not a minute
# later, while the order stays kept there.  Edge B, POSTed the domain,
# takes the lease at once (fencing token 2) and resumes A's order: one
# order at the CA, issued on B.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(time);

my $D = 'quit.customer.test';
my $LEASE = "linkcert:lease:$D";

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;            # A quits mid-order, B takes over
my $redis = $fleet->redis;
my $delay = LinkCert::Pebble::Delay->new($a, to => $b->port(1));
my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port);

# B orders from the same CA with the same DNS; the CA validates on B
$fleet->start($pebble, order => 'ab', redis => 'lease=60s timeout=1s');

$delay->hold;
is($a->verify($D)->{status}, 202, "POST $D on A: 202");
ok($delay->wait_request($D, 20), 'its validation reached the relay (held)');
like($redis->cli(GET => $LEASE) // '', qr/^edge-a \d+ \S+ 1$/,
     'A holds the lease, fencing token 1');

my $t0 = time;
$a->stop;                                   # QUIT, as nginx -s quit

ok(LinkCert::Util::wait_until(sub { $redis->cli(EXISTS => $LEASE) eq '0' },
                              5, 0.05),
   sprintf('the lease is gone once A quit (%.2f s), not after its minute',
           time - $t0));
is($redis->cli(EXISTS => "linkcert:order:$D"), '1',
   'the order is still kept in Redis');

$delay->release;
is($b->verify($D)->{status}, 202, "POST $D on B: 202");
my ($j) = $b->wait_status($D, sub { ($_->{stage} // '') eq 'issued' }, 20);
is($j->{status}, 'issued', 'issued on B') or diag(explain $j);
ok($b->log_lines(qr/"\Q$D\E" leased for 60000 ms, fencing token 2/),
   'B took the lease at once: fencing token 2');
is($pebble->order_count, 1, 'one order at the CA: A\'s, resumed by B');

$b->no_crash_ok('edge B: no worker crashed');

done_testing;
