#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A start is a renewal pass: every issued domain is checked again, the
# checks spread at 500 domains a second (6 s for the 3,000 domains
# here, 200 s at 100,000).  A domain whose renewal is due when the pass
# begins does not wait behind it: its check (the DNS check a renewal
# starts with) comes in the first seconds, wherever the load met it.
# (Before, it was placed at random in the whole spread, as the others.)

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use Time::HiRes qw(time);

my $N = 3000;
my $t = LinkCert::Test->new;
my $store = $t->store;
my $TARGET = 'edge.crm.test';

my $out = `$FindBin::Bin/../scripts/mkstore -i -n $N -p s -s spread.test $store 2>&1`;
is($?, 0, "mkstore: $N domains, with the index") or diag($out);

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);

# 90-day certificates 80 days old: the default renewal point (67%) passed
my @due = map { "due$_.renew.test" } 1 .. 8;

for my $name (@due) {
    $t->set_cname($name, $TARGET);
    $t->store_domain($name, not_before => time - 80 * 86400,
                     not_after => time + 10 * 86400);
}

my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;
    linkcert_acme_directory off;
EOF

$t->write_config($t->standard_config(http => $HTTP, log_level => 'info'));
$t->run;
my $started = time;

sub checked_at { $t->parse_time($_[0]{dns} && $_[0]{dns}{checked_at}) }

for my $name (@due) {
    my ($j, $got) = $t->wait_status($name,
                                     sub { defined checked_at($_[0]) }, 20);
    my $after = (checked_at($j) // 9e9) - int($started);

    ok($got && $after <= 3,
       "$name: due, checked in the pass's first seconds ($after s)")
        or diag(explain $j);
}

# the pass goes on for the others meanwhile
my $checked = grep { defined checked_at($t->status_of($_)->{json} // {}) }
              map { "s$_.spread.test" } 1 .. 50;
cmp_ok($checked, '<', 50, "the pass is spread: $checked of 50 other "
       . 'domains checked by then');

done_testing;
