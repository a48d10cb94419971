#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# One domain, one order: an order interrupted by a reload, by worker 0
# killed with SIGKILL, or by a restart of nginx is resumed by the next
# worker 0 from <store>/domains/<name>/order.json (the order URL, and the
# certificate's key once it finalizes), not placed again.  Each time the
# interruption comes while Pebble's HTTP-01 validation is under way
# (slowed with LinkCert::Pebble::Delay); Pebble counts the orders, and
# reuses no authorization, so a second order would show.  The saved
# order is gone once the domain is issued.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $delay = LinkCert::Pebble::Delay->new($t);
my $pebble = LinkCert::Pebble->new($t, http_port => $delay->port,
    env => { PEBBLE_AUTHZREUSE => 0 });

my $TARGET = 'edge.crm.test';
my %name = (reload => 'reload.resume.test', kill => 'kill.resume.test',
            restart => 'restart.resume.test');

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for values %name;

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
$pebble->account_settled;

my $store = $t->store;

# the pid of the worker that logged the domain's ordering: worker 0
sub orderer {
    my ($name) = @_;
    my ($pid) = $t->error_log
        =~ /\] (\d+)#\d+: linkcert: "\Q$name\E" \S+ -> pending\/ordering/;
    return $pid;
}

sub interrupted_ok {
    my ($what, $interrupt) = @_;
    my $name = $name{$what};

    subtest "$what in the middle of an order: one order" => sub {
        my $orders = $pebble->order_count;
        $delay->set(4);

        is($t->verify($name)->{status}, 202, 'POST: 202');
        ok($delay->wait_request($name, 15), 'its validation is under way')
            or diag($pebble->notices);
        ok(-f "$store/domains/$name/order.json", 'the order is saved');

        $interrupt->($name);

        my ($j, $ok) = $pebble->wait_issued($name, 40);
        ok($ok, 'issued') or diag(explain $j), diag($pebble->notices);
        is($pebble->order_count - $orders, 1, 'with one order at Pebble')
            or diag($pebble->notices);
        ok(scalar($pebble->error_log_lines(
               qr/linkcert: "\Q$name\E" resumes its order/)),
           'the next worker 0 resumed it');
        ok(!-e "$store/domains/$name/order.json", 'the saved order is gone');
        my $hs = $pebble->verified_handshake($name);
        ok($hs->{ok}, 'its certificate is served and verifies')
            or diag($hs->{error});
        $delay->set(0);
    };
}

interrupted_ok(reload => sub {
    $t->reload;
});

interrupted_ok(kill => sub {
    my ($name) = @_;
    my $pid = orderer($name);
    ok($pid && kill('KILL', $pid), "worker 0 ($pid) killed");
    ok($t->killed_ok($pid), 'the master saw it exit');
});

interrupted_ok(restart => sub {
    my ($name) = @_;
    $t->stop;
    $t->run;
    $pebble->account_settled;

    # a restart forgets what was pending: the CRM asks again
    is($t->verify($name)->{status}, 202, 'POST after the restart: 202');
});

$t->no_crash_ok;
done_testing;
