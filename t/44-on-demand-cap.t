#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# On demand: parked handshakes take at most a quarter of
# worker_connections (a parked connection cannot be reused by nginx), so
# a name that stays pending does not starve the issued ones.  With
# worker_connections 64, 80 first handshakes in ten waves to a name whose DNS
# never answers: 16 are parked, the others get the fallback at once, and
# 12 handshakes of an issued domain meanwhile get its certificate at
# once.
# (With a cap above worker_connections, the parked ones took every
# connection and the issued domain waited for linkcert_hold.)

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use POSIX ();
use Time::HiRes qw(sleep time);

# connections nginx closes must not end the test
$SIG{PIPE} = 'IGNORE';

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);

my $ISSUED = 'issued.example.test';
my $SLOW = 'slow.stuck.test';
my ($chain) = $t->store_domain($ISSUED);
my $fp = $t->fingerprint_of_file($chain);

my $conf = $t->standard_config(workers => 1, log_level => 'info',
    http => <<'EOF');
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%SILENT%% timeout=10s attempts=1;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;

    linkcert_on_demand dns;
    linkcert_hold 6s;
EOF
$conf =~ s/worker_connections 1024;/worker_connections 64;/ or die;
$t->challtestsrv;
$pebble->start;
$t->write_config($conf);
$t->run;

sub held { ($_[0]{'linkcert_handshakes_total{outcome="held"}'} // 0) }

my $m0 = $t->metric_values;

# the crowd in ten waves of 8 from child processes (parked ones hold
# their connection, so that the waves add up), the issued domain from
# here meanwhile
my @pids;
for my $wave (0 .. 9) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        sleep 0.15 * $wave;
        $t->concurrent_handshakes($SLOW, 8, timeout => 15);
        POSIX::_exit(0);
    }
    push @pids, $pid;
}

sleep 1.8;
my $t0 = time;
my @r = $t->concurrent_handshakes($ISSUED, 12, timeout => 5);
my $took = time - $t0;
my @ok = grep { $_->{ok} && $_->{fingerprint} eq $fp } @r;
is(scalar @ok, 12, '12 handshakes of an issued domain meanwhile: '
                   . 'its certificate, every one')
    or diag(join "\n", map { $_->{error} // 'ok' } @r);
# at once: not after linkcert_hold (6 s) for want of a connection (a busy
# machine, prove -j, may take more than a second)
cmp_ok($took, '<', 3, sprintf('at once (%.3f s)', $took));

waitpid $_, 0 for @pids;

my $m1 = $t->metric_values;
is(held($m1) - held($m0), 16, 'a quarter of worker_connections parked');

$t->no_crash_ok;
done_testing;
