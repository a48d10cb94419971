#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# 20 domains verified at once (20 POSTs in a row): all 20 issued within
# 60 s, each handshake presents the domain's own certificate, and Pebble
# saw exactly 20 orders and issued exactly 20 certificates.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);

my $TARGET = 'edge.crm.test';
my @D = map { sprintf 'links%02d.customer%02d.test', $_, $_ } 1 .. 20;

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for @D;

$pebble->start;

$t->write_config($t->standard_config(workers => 4, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

my $start = time;
my %post = map { $_ => $t->verify($_)->{status} } @D;
is(scalar(grep { $_ == 202 } values %post), 20, '20 POSTs answered 202')
    or diag(explain \%post);

my %state;
my $deadline = time + 60;
while (time < $deadline) {
    for my $d (@D) {
        next if ($state{$d}{stage} // '') =~ /^(?:issued|failed)$/;
        $state{$d} = $t->status_of($d)->{json} // {};
    }
    last unless grep { ($state{$_}{stage} // '') !~ /^(?:issued|failed)$/ } @D;
    sleep 0.25;
}
my $took = time - $start;

my @issued = grep { ($state{$_}{status} // '') eq 'issued'
                    && ($state{$_}{stage} // '') eq 'issued' } @D;
is(scalar @issued, 20, sprintf('20 of 20 issued (%.1f s)', $took))
    or diag(explain { map { $_ => [ $state{$_}{status}, $state{$_}{stage},
                                    $state{$_}{last_error} ] }
                      grep { my $d = $_; !grep { $_ eq $d } @issued } @D }),
       diag($pebble->notices);
cmp_ok($took, '<', 60, 'within 60 s');

my (%seen_fp, @bad);
for my $d (@D) {
    my $hs = $pebble->verified_handshake($d);
    my $why = !$hs->{ok} ? "does not verify: $hs->{error}"
            : "@{ $hs->{san} }" ne $d ? "SAN is @{ $hs->{san} }"
            : ($state{$d}{certificate}{sha256} // '') ne $hs->{fingerprint}
              ? 'sha256 differs from the status'
            : $seen_fp{ $hs->{fingerprint} }++ ? 'a leaf presented twice'
            : undef;
    push @bad, "$d: $why" if $why;
}
is(scalar @bad, 0, 'each of the 20 handshakes presents its own certificate, '
                   . 'verified against Pebble\'s root') or diag(join "\n", @bad);
is(scalar keys %seen_fp, 20, '20 different leaves');

my %serials = map { ($state{$_}{certificate}{serial} // '') => 1 } @D;
is(scalar keys %serials, 20, '20 different serials in the status');

sleep 1;
is($pebble->order_count, 20, 'Pebble saw exactly 20 orders');
is($pebble->issued_count, 20, 'Pebble issued exactly 20 certificates');
is($pebble->account_count, 1, 'on one account');

my @ready = $pebble->error_log_lines(qr/ACME account ready:/);
is(scalar @ready, 1, 'the account was set up once') or diag(join "\n", @ready);

my @alerts = $pebble->error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
is(scalar @alerts, 0, 'no alert, crit or emerg') or diag(join "\n", @alerts);

done_testing;
