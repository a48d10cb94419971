#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Many verifications: 1000 POSTs are all accepted and every domain reaches
# its final state (odd ones CNAME to the target and are verified, even ones
# have no record and fail); then 200 lookups that all time out against a
# silent DNS server.  Each time the worker's file descriptors come back to
# what they were (no leaked sockets).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $LIST = '/.well-known/ssl-status/domains';
my $TARGET = 'edge.crm.test';
my $N = 1000;
my $N_SLOW = 200;

$t->challtestsrv;

my @names = map { "d$_.load.test" } 1 .. $N;
my %verified_expected = map { ("d$_.load.test" => 1) } grep { $_ % 2 } 1 .. $N;

$t->set_cname($_, $TARGET) for sort keys %verified_expected;
$t->set_cname('warmup.load.test', $TARGET);


# --- helpers ------------------------------------------------------------

# Counts of the listed domains (all pages), but $skip:
#   total, "status/stage", "last_error TYPE", final (where $final->($d)),
# and the names for which $wrong->($d) is true.
sub census {
    my ($skip, $final, $wrong) = @_;
    my (%count, @bad);
    my $after;
    for (1 .. 10) {
        my $q = 'limit=1000'
            . (defined $after ? '&after=' . LinkCert::Test::uri_escape($after)
                              : '');
        my $r = $t->http(GET => "$LIST?$q", key => 1);
        return ({ error => "status $r->{status}" }, [])
            if $r->{status} != 200;
        for my $d (@{ $r->{json}{domains} // [] }) {
            next if $d->{domain} eq $skip;
            $count{total}++;
            $count{"$d->{status}/$d->{stage}"}++;
            $count{"last_error $d->{last_error}{type}"}++
                if ref $d->{last_error} eq 'HASH';
            $count{final}++ if $final->($d);
            push @bad, "$d->{domain}: $d->{status}/$d->{stage}"
                if $wrong->($d);
        }
        $after = $r->{json}{next};
        last unless defined $after;
    }
    return (\%count, \@bad);
}

# POSTs every name; (number of 202 answers, the first other answers).
sub post_all {
    my (@list) = @_;
    my ($ok, @not_202) = (0);
    for my $d (@list) {
        my $r = $t->verify($d);
        if ($r->{status} == 202) {
            $ok++;
        } elsif (@not_202 < 10) {
            push @not_202, "$d: $r->{status} $r->{body}";
        }
    }
    return ($ok, @not_202);
}

# Waits for one verification, then notes the worker's descriptors.
sub warm_up {
    my ($domain, $cond) = @_;
    is($t->verify($domain)->{status}, 202, "warm-up POST $domain: 202");
    my ($j, $ok) = $t->wait_status($domain, $cond, 10);
    ok($ok, 'the warm-up verification finishes') or diag(explain $j);
    sleep 0.3;
    my ($worker) = $t->worker_pids;
    my $fds = $t->fd_count($worker);
    ok(defined $fds, "worker $worker: $fds open file descriptors before");
    return ($worker, $fds, $t->fd_targets($worker));
}

# The lookups' sockets are closed again (give the event loop a moment).
sub fds_ok {
    my ($worker, $before, $targets_before) = @_;
    my $after;
    my $deadline = time + 3;
    while (1) {
        $after = $t->fd_count($worker);
        last if !defined $after || $after <= $before + 5 || time > $deadline;
        sleep 0.2;
    }
    ok(defined $after && $after <= $before + 5,
       'open file descriptors after: ' . ($after // 'n/a')
       . " (before: $before)")
        or do {
            my $now = $t->fd_targets($worker);
            my %kinds;
            $kinds{ $now->{$_} =~ s/\[\d+\]//r }++
                for grep { !exists $targets_before->{$_} } keys %$now;
            diag('new descriptors: ' . explain(\%kinds));
        };

    my @workers = $t->worker_pids;
    is_deeply(\@workers, [ $worker ], 'still the same single worker');
}


# --- 1000 verifications against the mock DNS server ---------------------

$t->write_config($t->standard_config(workers => 1, zone => 'linkcert:16m', http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;
EOF
$t->run;
sleep 0.3;
$t->no_crash_ok('workers run without crashing');

subtest "$N verifications" => sub {
    my ($worker, $fds_before, $targets_before) = warm_up('warmup.load.test',
        sub { $_->{stage} eq 'ordering' });

    my $start = time;
    my ($ok, @not_202) = post_all(@names);
    is($ok, $N, sprintf "all %d POSTs answer 202 (%.1f s)", $N, time - $start)
        or diag(join "\n", @not_202);

    my $want = sub {
        $verified_expected{ $_[0]{domain} } ? 'pending/ordering'
                                            : 'unknown/failed' };
    my $final = sub { "$_[0]{status}/$_[0]{stage}" eq $want->($_[0]) };
    my $wrong = sub { !$final->($_[0]) && $_[0]{stage} ne 'verifying' };

    my ($count, $bad);
    my $deadline = $start + 45;
    while (1) {
        ($count, $bad) = census('warmup.load.test', $final, $wrong);
        last if ($count->{final} // 0) == $N || @$bad || time > $deadline;
        sleep 1;
    }
    my $took = time - $start;

    note(explain $count);
    is($count->{total}, $N, "$N domains in the table");
    is($count->{final} // 0, $N,
       sprintf 'all reach their final state (%.1f s after the first POST)',
       $took) or diag(explain $count);
    is_deeply($bad, [], 'none ends in a wrong state')
        or diag(join "\n", grep { defined } @$bad[0 .. 9]);
    is($count->{'pending/ordering'} // 0, $N / 2, 'half of them verified');
    is($count->{'unknown/failed'} // 0, $N / 2, 'half of them failed');

    my $sample = $t->status_of('d2.load.test')->{json} // {};
    is($sample->{last_error}{type}, 'dns_missing', 'd2.load.test: dns_missing');
    $sample = $t->status_of('d999.load.test')->{json} // {};
    is($sample->{dns}{verified}, JSON::PP::true, 'd999.load.test: verified');

    fds_ok($worker, $fds_before, $targets_before);
};

$t->stop;


# --- 200 lookups that time out ------------------------------------------

$t->silent_udp;
$t->write_config($t->standard_config(workers => 1, zone => 'linkcert:16m', http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%SILENT%% timeout=1s attempts=1;
EOF
$t->run;

subtest "$N_SLOW lookups that time out" => sub {
    my $timed_out = sub {
        ($_[0]{last_error}{type} // '') eq 'dns_timeout' };

    my ($worker, $fds_before, $targets_before) = warm_up('warmup.slow.test',
        sub { $timed_out->($_) });

    my @slow = map { "s$_.slow.test" } 1 .. $N_SLOW;
    my $start = time;
    my ($ok, @not_202) = post_all(@slow);
    is($ok, $N_SLOW, "all $N_SLOW POSTs answer 202")
        or diag(join "\n", @not_202);

    my $wrong = sub { $_[0]{stage} ne 'verifying' };
    my ($count, $bad);
    my $deadline = $start + 30;
    while (1) {
        ($count, $bad) = census('warmup.slow.test', $timed_out, $wrong);
        last if ($count->{final} // 0) == $N_SLOW || @$bad
                || time > $deadline;
        sleep 1;
    }

    note(explain $count);
    is($count->{final} // 0, $N_SLOW,
       sprintf 'all time out (%.1f s after the first POST)', time - $start)
        or diag(explain $count);
    is_deeply($bad, [], 'all stay pending/verifying');

    fds_ok($worker, $fds_before, $targets_before);
};

$t->no_crash_ok('no worker crashed');

done_testing;
