#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A job that finds its domain's lease held by another edge asks again
# about once a second, not when the holder's whole lease runs out: a
# holder whose order ends releases its lease at once, and the waiting
# edge takes the domain within a second or two.  With lease=60s here,
# the CRM's "stuck on pending" (a DELETE then a POST of a domain whose
# order still ends on another edge): edge A's order of D is held at the
# CA's validation, D is deleted on A and POSTed on B, whose job finds
# A's lease (fleet_busy); once A's order ends and releases the lease, B
# takes it within ~2 s and issues D.  Before, B waited out A's 60 s.
# A lease written with redis-cli and deleted (as a holder's compare-and-
# delete does) is taken as soon after; meanwhile each try that finds
# the same holder writes nothing to Redis (MONITOR) and logs at info.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $D = 'stuck.customer.test';
my $E = 'held.customer.test';
my $F = 'lost.customer.test';

my $fleet = LinkCert::Fleet->new(2, domains => [ $D, $E, $F ]);
my ($a, $b) = $fleet->edges;
my $redis = $fleet->redis;
my $delay = LinkCert::Pebble::Delay->new($a);
my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port);

$fleet->start($pebble, order => 'ab', redis => 'timeout=2s lease=60s',
              monitor => 1);

sub lease { return $redis->cli(GET => "linkcert:lease:$_[0]") // '' }

sub busy {
    my ($t, $d) = @_;
    return $t->wait_status($d, sub {
        ($_->{last_error}{type} // '') eq 'fleet_busy' }, 10);
}

sub fence { return $redis->cli(GET => "linkcert:fence:$_[0]") // 0 }

# how long after the lease stops being $from's it becomes $to's: seen
# held by $to, or its fencing token grown past $fence (read before the
# release: $to may take the lease, end its order and release it between
# two looks, its order already authorized)
sub handover {
    my ($d, $from, $to, $fence, $timeout) = @_;
    my ($gone, $taken);
    $a->wait_until(sub {
        my $v = lease($d);
        my $f = fence($d);
        $gone //= time if $v !~ /^\Q$from\E /;
        $taken = time if $v =~ /^$to / || ($f > $fence && $v eq '');
        $taken }, $timeout, 0.05);
    return defined $taken ? $taken - $gone : undef;
}

# the lease of $d goes from $from to $to (a pattern) within 3 s of its
# release, said as $what; $fence its fencing token before the release
sub handover_ok {
    my ($d, $from, $to, $fence, $what) = @_;
    my $took = handover($d, $from, $to, $fence, 20);
    ok(defined $took && $took <= 3,
       sprintf("$what %s", defined $took ? sprintf('%.1f s', $took)
                                         : 'not in 20 s'))
        or diag(lease($d), "\n", join "\n", $b->log_lines(qr/\Q$d\E/));
}


subtest 'another edge\'s order ends: the waiting edge takes the lease' => sub {
    $delay->hold;
    is($a->verify($D)->{status}, 202, "POST $D on A: 202");
    ok($delay->wait_request($D, 20), 'A\'s order is being validated (held)');
    like(lease($D), qr/^edge-a /, 'A holds the lease');

    is($a->http(DELETE => "/.well-known/ssl-status?domain=$D", key => 1)
       ->{status}, 200, "DELETE $D on A");
    # the DELETE's answer does not wait for Redis: the POST on B comes
    # once the fleet has the removal (B may apply it after the POST)
    ok($b->wait_until(sub {
           ($redis->cli(HGET => "linkcert:cert:$D", 'removed') // '') eq '1'
           && ($b->status_of($D)->{json}{status} // '') eq 'unknown' },
                      5, 0.05),
       'the fleet has the removal, B says unknown');
    is($b->verify($D)->{status}, 202, "POST $D on B: 202");

    my ($j) = busy($b, $D);
    like($j->{last_error}{detail} // '', qr/edge-a /,
         'B waits: fleet_busy, naming A') or diag(explain $j);
    is($j->{status}, 'pending', 'B: pending');

    my $fence = fence($D);
    $delay->release;

    handover_ok($D, 'edge-a', 'edge-b', $fence,
                'B took the lease after A released it:');

    my ($k) = $b->wait_status($D, sub {
        ($_->{status} // '') eq 'issued' }, 20);
    is($k->{status}, 'issued', "B issued $D") or diag(explain $k);
};

subtest 'a lease deleted by its holder is taken within about a second' => sub {
    $redis->cli(SET => "linkcert:lease:$E", 'edge-z 4242 00ff 41',
                PX => 60000);
    is($b->verify($E)->{status}, 202, "POST $E on B: 202");
    my ($j) = busy($b, $E);
    like($j->{last_error}{detail} // '', qr/edge-z 4242/, 'B waits for Z');

    # B asks about once a second, not in a tight loop; the same wait
    # again writes nothing to Redis and is logged at info, not notice
    my $asked = () = $b->log_lines(qr/"\Q$E\E".*fleet_busy/);
    my $seen = length $redis->monitor_log;
    sleep 3;
    my $more = (() = $b->log_lines(qr/"\Q$E\E".*fleet_busy/)) - $asked;
    ok($more >= 1 && $more <= 5, "B asked again $more times in 3 s");

    my $sets = () = substr($redis->monitor_log, $seen)
                    =~ /"SET" "linkcert:status:\Q$E\E"/g;
    ok($sets <= 1, "B wrote E's status to Redis $sets times in 3 s");
    my @notices = $b->log_lines(qr/\[notice\].*"\Q$E\E".*fleet_busy/);
    ok(@notices <= 1, scalar(@notices) . ' notice line of the wait')
        or diag(join "\n", @notices);

    my $fence = fence($E);
    $redis->cli(DEL => "linkcert:lease:$E");
    handover_ok($E, 'edge-z', 'edge-b', $fence,
                'B took the lease after Z deleted it:');

    my ($k) = $b->wait_status($E, sub {
        ($_->{status} // '') eq 'issued' }, 20);
    is($k->{status}, 'issued', "B issued $E") or diag(explain $k);
};

subtest 'a lease taken during the edge\'s order: asked again soon' => sub {
    $delay->hold;
    is($b->verify($F)->{status}, 202, "POST $F on B: 202");
    ok($delay->wait_request($F, 20), 'B\'s order is being validated (held)');
    like(lease($F), qr/^edge-b /, 'B holds the lease');

    # Z takes the lease as an edge does (a new fencing token): B's next
    # write of its order is refused and its job stops
    $redis->cli(SET => "linkcert:lease:$F", 'edge-z 4242 00ff 99',
                PX => 60000);
    $redis->cli(INCR => "linkcert:fence:$F");
    $delay->release;
    ok($b->wait_until(sub { $b->log_lines(
           qr/"\Q$F\E" .*this edge's lease ran out \(fleet_busy\)/) }, 20),
       'B stopped its order: its lease ran out');

    # then it asks again in about a second, not after its 60 s lease
    my ($j) = $b->wait_status($F, sub {
        ($_->{last_error}{detail} // '') =~ /edge-z 4242/ }, 5);
    like($j->{last_error}{detail} // '', qr/edge-z 4242/,
         'B asked again within 5 s and found Z') or diag(explain $j);

    # B (or A: the fleet's due domains are claimed by any edge) takes
    # it, which grows the fencing token; its order, already authorized,
    # may end and release the lease before a look at the lease sees it
    my $fence = $redis->cli(GET => "linkcert:fence:$F");
    $redis->cli(DEL => "linkcert:lease:$F");
    my $deleted = time;
    my $taken = $b->wait_until(sub {
        ($redis->cli(GET => "linkcert:fence:$F") // 0) > $fence }, 20, 0.05);
    my $took = time - $deleted;
    ok($taken && $took <= 3,
       sprintf('the fleet took the lease %.1f s after Z deleted it', $took))
        or diag(join "\n", $b->log_lines(qr/\Q$F\E/));

    my ($k) = $b->wait_status($F, sub {
        ($_->{status} // '') eq 'issued' }, 20);
    is($k->{status}, 'issued', "$F issued, served by B")
        or diag(explain $k);
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');

done_testing;
