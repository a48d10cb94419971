#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The ACME account's setup after a passing fault of the CA: every order
# waits for it, and every new worker 0 (each reload) sets it up again, so
# one directory answered 500 must not stop orders for a minute (it did:
# the first retry came after 60 s, the next after 600 s; found by the
# soak, scripts/bench --soak).  A fault retried soon: 1 s, doubling.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use LinkCert::StubCA;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);
my $proxy = LinkCert::StubCA->failing($pebble);

my $TARGET = 'edge.crm.test';
my $D = 'first.customer.test';
my $E = 'after-reload.customer.test';

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for $D, $E;
$pebble->start;

$t->placeholder(FAILING_CA => $proxy->url('/dir'));
$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%FAILING_CA%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF

sub setup_failures {
    return grep { /ACME account setup at .* failed: .*retrying in (\d+) s/ }
           split /\n/, $t->error_log;
}

# 1. the CA's directory fails when the first order comes
$proxy->set('dir500');
$t->run;

is($t->verify($D)->{status}, 202, "POST $D: 202");
my $deadline = time + 10;
sleep 0.1 until setup_failures() || time > $deadline;
my @failed = setup_failures();
ok(@failed, 'the account setup failed') or diag($pebble->notices);
like($failed[0] // '', qr/retrying in 1 s/, 'and is retried in 1 s')
    or diag($failed[0]);

$proxy->set('pass');
my $t0 = time;
my ($j, $ok) = $pebble->wait_issued($D, 20);
ok($ok, "$D issued once the directory answers") or diag(explain $j),
    diag($pebble->notices);
cmp_ok(time - $t0, '<', 20, sprintf('within %.1f s, not after a minute',
                                    time - $t0));

# 2. the same fault at a reload: the new worker 0's setup
my $before = () = setup_failures();
$proxy->set('dir500');
$t->reload;
is($t->verify($E)->{status}, 202, "POST $E: 202");
$deadline = time + 10;
sleep 0.1 until setup_failures() > $before || time > $deadline;
ok(setup_failures() > $before, 'the new worker 0\'s setup failed');
$proxy->set('pass');

$t0 = time;
($j, $ok) = $pebble->wait_issued($E, 20);
ok($ok, "$E issued after the reload") or diag(explain $j),
    diag($pebble->notices);
cmp_ok(time - $t0, '<', 20, sprintf('within %.1f s', time - $t0));

$t->no_crash_ok;
done_testing;
