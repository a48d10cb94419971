#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# DELETE on one edge removes a domain that another edge is ordering.
# Edge A orders a domain (the CRM POSTed it there only) and its order is
# held at the CA's validation; edge B, which never held the domain, gets
# the DELETE.  B answers 200 with the fleet's status of the domain (as
# its GET ?domain= does), not 404, and writes the removal; the order A
# finishes afterwards does not bring the domain back: nothing is issued
# into Redis, neither edge serves a certificate for it, both say it is
# unknown.  A DELETE on B of a name the fleet does not know is 404.
# Before, B answered 404 not_found and A issued and served the domain
# the CRM had deleted.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;

my $D = 'ordering.customer.test';
my $STATUS = '/.well-known/ssl-status';

my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
my ($a, $b) = $fleet->edges;                # A orders, B deletes
my $redis = $fleet->redis;
my $delay = LinkCert::Pebble::Delay->new($a);
my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port);

$fleet->start($pebble, redis => 'timeout=2s lease=20s');

sub del {
    my ($t, $domain) = @_;
    return $t->http(DELETE => "$STATUS?domain=$domain", key => 1);
}

$delay->hold;
is($a->verify($D)->{status}, 202, "POST $D on A: 202");
ok($delay->wait_request($D, 20), 'A\'s order is being validated (held)');
like($redis->cli(GET => "linkcert:lease:$D") // '', qr/^edge-a /,
     'A holds the lease');

my $g = $b->status_of($D)->{json} // {};
is($g->{status}, 'pending', "GET ?domain=$D on B: the fleet's status");

my $r = del($b, $D);
is($r->{status}, 200, "DELETE $D on B (it never held it): 200")
    or diag($r->{body});
is(($r->{json} // {})->{domain}, $D, 'answered with the domain\'s status');

ok($a->wait_until(sub {
       ($a->status_of($D)->{json}{status} // '') eq 'unknown' }, 5, 0.05),
   'A: the domain is removed');

$delay->release;

# A's held order goes on at the CA: give it the time to end
$a->wait_until(sub { $pebble->issued_count > 0 }, 10, 0.1);
$a->wait_until(sub { $a->log_lines(qr/"\Q$D\E".*(order failed|issued)/) },
               5, 0.1);
sleep 1;

is($redis->cli(HEXISTS => "linkcert:cert:$D", 'leaf'), '0',
   'no certificate of it in Redis');
is($a->status_of($D)->{json}{status}, 'unknown', 'A: still unknown');
is($b->status_of($D)->{json}{status}, 'unknown', 'B: unknown');
is($a->handshake($D), $a->fallback_fingerprint, 'A serves the fallback');
is($b->handshake($D), $b->fallback_fingerprint, 'B serves the fallback');
ok(!-e $a->store . "/domains/$D/fullchain.pem", 'nothing in A\'s store');

ok($a->wait_until(sub { $redis->cli(EXISTS => "linkcert:lease:$D") eq '0' },
                  5, 0.05),
   'A\'s order ended: its lease is released');
is($redis->cli(EXISTS => "linkcert:order:$D"), '0',
   'and its order is no longer kept in Redis');

$r = del($b, 'never.customer.test');
is($r->{status}, 404, 'DELETE of a name the fleet does not know: 404');

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
