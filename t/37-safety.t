#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Orders survive what happens to worker 0.  Pebble's HTTP-01 validations
# are held 4 s (LinkCert::Pebble::Delay), so that each event below lands
# while the domain's order is in flight at Pebble.
#
# 1. nginx -s reload mid-order: the reload goes through cleanly and fast,
#    the domain ends issued with exactly one certificate, Pebble saw at
#    most two orders (the reload may start it over) and never two in
#    flight at once: the first order is not finalized once the second one
#    exists, and the old worker 0 was gone when the second one was made.
# 2. SIGKILL of worker 0 mid-order (worker 0 is the process that logged
#    the domain's pending/verifying -> pending/ordering): the master starts
#    a new one, which takes the domain back ("domains taken back from a
#    worker that died") and orders it; it ends issued within 40 s and no
#    domain is left pending.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);
use Time::Local qw(timelocal);

my $t = LinkCert::Test->new;
my $delay = LinkCert::Pebble::Delay->new($t, delay => 4);
my $pebble = LinkCert::Pebble->new($t, http_port => $delay->port,
    env => { PEBBLE_AUTHZREUSE => 0 });

my $TARGET = 'edge.crm.test';
my $RL = 'reload.customer.test';
my $KL = 'kill.customer.test';

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for $RL, $KL;

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

# the account is set up by worker 0 at its start: let it finish
$t->wait_status($RL, sub {
    $t->error_log =~ /linkcert: ACME account ready/ }, 5);

# "YYYY/mm/dd HH:MM:SS" (nginx, Pebble: local time) to a Unix time
sub log_time {
    my ($s) = @_;
    my ($y, $mo, $d, $h, $mi, $sec) =
        ($s // '') =~ m{(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)} or return undef;
    return timelocal($sec, $mi, $h, $d, $mo - 1, $y);
}

# The pid of the worker that logged $domain's verification -> ordering.
sub worker0_of {
    my ($domain, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (1) {
        my ($pid) = $t->error_log =~ m{\[notice\] (\d+)#\d+: linkcert: "\Q$domain\E" pending/verifying -> pending/ordering};
        return $pid if $pid;
        return undef if time > $deadline;
        sleep 0.05;
    }
}

# Polls the full status (without wait_status, which stops at a crashed
# worker: one is killed here on purpose).
sub poll_issued {
    my ($domain, $timeout) = @_;
    my $deadline = time + $timeout;
    my $j;
    while (time < $deadline) {
        $j = $t->status_of($domain)->{json} // {};
        return ($j, 1) if ($j->{stage} // '') eq 'issued'
                          && ($j->{status} // '') eq 'issued';
        return ($j, 0) if ($j->{stage} // '') eq 'failed';
        sleep 0.1;
    }
    return ($j, 0);
}

# Pebble's orders ("Added order") and finalizations since $offset of its
# log: ([ id, line index ], ...) each.
sub pebble_events {
    my ($offset) = @_;
    my @lines = split /\n/, substr($pebble->log, $offset);
    my (@added, @final);
    for my $i (0 .. $#lines) {
        push @added, [ $1, $i, $lines[$i] ]
            if $lines[$i] =~ /Added order "([^"]+)" to the db/;
        push @final, [ $1, $i, $lines[$i] ]
            if $lines[$i] =~ /Order (\S+) is fully authorized\. Processing finalization/;
    }
    return (\@added, \@final);
}

sub pending_domains {
    my $r = $t->http(GET => '/.well-known/ssl-status/domains?status=pending',
                     key => 1);
    return undef unless $r->{status} == 200;
    return [ map { $_->{domain} } @{ $r->{json}{domains} // [] } ];
}


###########################################################################
# 1. a reload mid-order

my $pebble_offset = length $pebble->log;
my $issued0 = $pebble->issued_count;

my $r = $t->verify($RL);
is($r->{status}, 202, "POST $RL: 202") or diag($r->{raw});

my $w0 = worker0_of($RL);
ok($w0, "worker 0 is $w0 (it logged the ordering)") or diag($pebble->notices);
ok($delay->wait_request($RL, 15), 'the order is in flight: Pebble is '
   . 'validating (held 4 s)') or diag($pebble->notices);
my $mid = $t->status_of($RL)->{json} // {};
is($mid->{stage}, 'ordering', 'stage ordering at the reload');

my $log_offset = length $t->error_log;
my $reload_at = time;
my $reloaded = eval { $t->reload; 1 };
my $reload_took = time - $reload_at;
ok($reloaded, 'the reload goes through (no alert)') or diag($@);
cmp_ok($reload_took, '<', 3, sprintf('and is done in %.1f s: the old worker 0 '
       . 'is not held up by the order', $reload_took));
ok(!kill(0, $w0), 'the old worker 0 is gone');

my ($j, $ok) = poll_issued($RL, 25);

subtest 'after the reload: issued once' => sub {
    ok($ok, sprintf('issued / issued (%.1f s after the reload)',
       time - $reload_at)) or diag(explain $j), diag($pebble->notices);
    my $hs = $pebble->verified_handshake($RL);
    ok($hs->{ok}, 'the certificate verifies') or diag($hs->{error});
    is($hs->{fingerprint}, $j->{certificate}{sha256}, 'and is the status one');
    is($pebble->issued_count - $issued0, 1,
       'Pebble issued exactly one certificate');
    my @serials = map { s/^0+//r } $pebble->issued_serials;
    is($serials[-1], lc(($j->{certificate}{serial} // '') =~ s/^0+//r),
       'the served one');

    my ($added, $final) = pebble_events($pebble_offset);
    my $orders = scalar @$added;
    cmp_ok($orders, '>=', 1, "Pebble saw $orders order(s)");
    cmp_ok($orders, '<=', 2, 'at most two');
    is(scalar @$final, 1, 'one order was finalized');
    if ($orders == 2) {
        my ($first, $second) = @$added;
        my @late = grep { $_->[0] eq $first->[0] && $_->[1] > $second->[1] }
                   @$final;
        is(scalar @late, 0, 'the first order was not finalized after the '
           . 'second one was made') or diag(map { "$_->[2]\n" } @late);
        is($final->[0][0], $second->[0], 'the second order is the one issued');
        my ($exited) = $t->error_log =~ /^(\S+ \S+) \[notice\] \d+#\d+: worker process $w0 exited/m;
        my $exit_at = log_time($exited);
        ok(defined $exit_at, 'the old worker 0\'s exit is logged');
        cmp_ok($exit_at // 9e9, '<=', log_time($second->[2]) // 0,
               'the old worker 0 was gone when the second order was made');
    }
    my $new = substr($t->error_log, $log_offset);
    unlike($new, qr/\[(?:alert|crit|emerg)\]/, 'no alert since the reload');
    is_deeply(pending_domains(), [], 'no domain left pending');
};


###########################################################################
# 2. SIGKILL of worker 0 mid-order

$pebble_offset = length $pebble->log;
$issued0 = $pebble->issued_count;

$r = $t->verify($KL);
is($r->{status}, 202, "POST $KL: 202") or diag($r->{raw});

my $k0 = worker0_of($KL);
ok($k0, "worker 0 is $k0") or diag($pebble->notices);
ok($delay->wait_request($KL, 15), 'the order is in flight')
    or diag($pebble->notices);
is(($t->status_of($KL)->{json} // {})->{stage}, 'ordering', 'stage ordering');

my $kill_at = time;
ok(kill('KILL', $k0), "SIGKILL to $k0");

my $deadline = time + 5;
my @workers;
while (time < $deadline) {
    @workers = $t->worker_pids;
    last if @workers == 2 && !grep { $_ == $k0 } @workers;
    sleep 0.05;
}

subtest 'the master starts a new worker' => sub {
    is(scalar @workers, 2, 'two workers again');
    ok(!(grep { $_ == $k0 } @workers), 'the killed one is not among them');
    my @crashes = $t->crash_lines;
    is(scalar @crashes, 1, 'one worker exited on a signal') or diag("@crashes");
    like($crashes[0] // '', qr/worker process $k0 exited on signal 9\b/,
         'the killed one, on SIGKILL');
};

my $taken_re = qr/^(\S+ \S+) \[notice\] (\d+)#\d+: linkcert: (\d+) domains taken back from a worker that died/m;
$deadline = $kill_at + 15;
my ($taken_at, $taken_by, $taken_n);
while (time < $deadline) {
    last if (($taken_at, $taken_by, $taken_n) = $t->error_log =~ $taken_re);
    sleep 0.1;
}

subtest 'the domain is taken back' => sub {
    ok($taken_at, 'logged: domains taken back from a worker that died')
        or diag($pebble->notices);
    isnt($taken_by // $k0, $k0, "by the new worker 0 ($taken_by)");
    ok((grep { $_ == ($taken_by // 0) } @workers), 'one of the live workers');
    cmp_ok($taken_n // 0, '>=', 1, "$taken_n domain(s)");
};

($j, $ok) = poll_issued($KL, 40 - (time - $kill_at));

subtest 'after the kill: issued' => sub {
    ok($ok, sprintf('issued / issued (%.1f s after the kill)',
       time - $kill_at)) or diag(explain $j), diag($pebble->notices);
    my $hs = $pebble->verified_handshake($KL);
    ok($hs->{ok}, 'the certificate verifies') or diag($hs->{error});
    is($hs->{fingerprint}, $j->{certificate}{sha256}, 'and is the status one');
    is($pebble->issued_count - $issued0, 1, 'one certificate issued');
    my ($added) = pebble_events($pebble_offset);
    cmp_ok(scalar @$added, '<=', 2, 'at most two orders at Pebble');
    is_deeply(pending_domains(), [], 'no domain left pending');
    is(($t->status_of($RL)->{json} // {})->{status}, 'issued',
       "$RL still issued");
    is($t->handshake($RL), ($t->status_of($RL)->{json} // {})->{certificate}{sha256},
       "$RL still served");
    my @crashes = $t->crash_lines;
    is(scalar @crashes, 1, 'no other worker died') or diag("@crashes");
};

done_testing;
