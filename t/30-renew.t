#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Renewal, forced with "linkcert_renew_at 0%": a domain issued by Pebble
# is not renewed again at once (no loop), but the next reload is a renewal
# pass: the DNS rule is checked, the stage goes verifying -> renewing ->
# issued while the status stays issued, the old certificate is served
# until the new one is stored, and then the next handshakes present the
# new one (new serial, a later generation) without another reload.  The
# metrics count the renewal.  Back at the default 67%, a reload does not
# renew a fresh certificate.
#
# Pebble's HTTP-01 validations go through LinkCert::Pebble::Delay, so
# that the renewal takes a known few seconds.

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
    env => { PEBBLE_AUTHZREUSE => 0 });    # every order is validated
my $RFC3339 = LinkCert::Test::rfc3339_re();

my $TARGET = 'edge.crm.test';
my $D = 'renew.customer.test';

$t->challtestsrv;
$t->set_cname($D, $TARGET);
$t->add_a($TARGET, ['127.0.0.1']);

$pebble->start;

# nginx.conf's linkcert directives (standard_config adds the zone, the
# store, the key and "linkcert on"): DNS verification against
# challtestsrv, Pebble as the CA (or $directory), and linkcert_renew_at
# when given (else the default, 67%)
my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
    %%RENEW_AT%%
EOF

sub config {
    my ($renew_at, $directory) = @_;
    return ($t->standard_config(workers => 2, log_level => 'info',
                                http => $HTTP),
            RENEW_AT => defined $renew_at ? "linkcert_renew_at $renew_at;"
                                          : '',
            (defined $directory ? (ACME_DIRECTORY => $directory) : ()));
}

# { 'name{labels}' => value } of the metrics (a plain reading; the format
# itself is checked by 35-metrics.t)
sub metrics { $t->metric_values }

my $RENEWALS = 'linkcert_renewals_total';
my $LAST = 'linkcert_last_renewal_timestamp_seconds';
my $ISSUED = 'linkcert_orders_total{result="issued"}';

$t->write_config(config('0%'));
$t->run;

my $store = $t->store;
my $chain_file = "$store/domains/$D/fullchain.pem";
my $key_file = "$store/domains/$D/privkey.pem";


###########################################################################
# the first certificate

my $r = $t->verify($D);
is($r->{status}, 202, 'POST: 202') or diag($r->{raw});

my ($first, $ok) = $pebble->wait_issued($D, 20);
ok($ok, 'issued / issued') or diag(explain $first), diag($pebble->notices);
$first //= {};
my $old = $first->{certificate} // {};
my $old_hs = $pebble->verified_handshake($D);
ok($old_hs->{ok}, 'the first certificate is served and verifies')
    or diag($old_hs->{error});
is($old_hs->{fingerprint}, $old->{sha256}, 'the served leaf is the status one');

my ($gen1) = map { /generation (\d+)$/ } $pebble->error_log_lines(
    qr{linkcert: "\Q$D\E" pending/ordering -> issued/issued: .*generation \d+$});
ok(defined $gen1, "the issuance is logged with its generation ($gen1)")
    or diag($pebble->notices);
$gen1 //= -1;

# 0%: the fresh certificate is due at once, but not renewed within the hour
sleep 4;

subtest 'a fresh certificate is not renewed again (no loop at 0%)' => sub {
    is($pebble->order_count, 1, 'still one order at Pebble');
    my $j = $t->status_of($D)->{json} // {};
    is($j->{stage}, 'issued', 'stage issued');
    is($j->{certificate}{sha256}, $old->{sha256}, 'the same certificate');
    my @renewing = $pebble->error_log_lines(qr{"\Q$D\E" \S+ -> issued/renewing});
    is(scalar @renewing, 0, 'no renewal logged') or diag(join "\n", @renewing);
};

my $m0 = metrics();
is($m0->{$RENEWALS}, 0, 'metrics: no renewal yet');
is($m0->{$LAST}, 0, 'metrics: last renewal 0 (never)');


###########################################################################
# the reload is a renewal pass

$delay->set(4);

my $reload_at = time;
$t->reload;
my @workers = $t->worker_pids;
my $master = $t->master_pid;

my (%stages, %statuses, @violations);
my ($served_old_while_renewing, $last, $changed_at) = (0);
my $deadline = time + 30;

while (time < $deadline) {
    my $a = $t->status_of($D)->{json} // {};
    $statuses{ $a->{status} // 'none' }++;
    $stages{ $a->{stage} // 'none' }++;
    $last = $a;

    if (($a->{certificate}{sha256} // '') ne ($old->{sha256} // '')) {
        $changed_at = time;
        last;
    }

    if (($a->{stage} // '') eq 'renewing') {
        my $fp = $t->handshake($D);
        my $b = $t->status_of($D)->{json} // {};
        # the certificate did not change between the two status reads: the
        # handshake in between must have presented the old one
        if (($b->{certificate}{sha256} // '') eq $old->{sha256}) {
            if (($fp // '') eq $old->{sha256}) {
                $served_old_while_renewing++;
            } else {
                push @violations, $fp // 'handshake failed';
            }
        }
    }

    sleep 0.05;
}

my $new = $last->{certificate} // {};

subtest 'during the renewal' => sub {
    ok($changed_at, sprintf('the certificate was replaced (%.1f s after '
       . 'the reload)', ($changed_at // time) - $reload_at))
        or diag(explain $last), diag($pebble->notices);
    is_deeply([ sort keys %statuses ], [ 'issued' ],
              'the status stayed issued throughout')
        or diag(explain \%statuses);
    ok($stages{renewing}, "stage renewing was seen ($stages{renewing} polls)")
        or diag(explain \%stages);
    my @odd = grep { !/^(?:issued|verifying|renewing)$/ } keys %stages;
    is_deeply(\@odd, [], 'no stage other than issued, verifying, renewing')
        or diag(explain \%stages);
    cmp_ok($served_old_while_renewing, '>=', 3,
           "the old certificate was served while renewing "
           . "($served_old_while_renewing handshakes)");
    is_deeply(\@violations, [], 'never anything else while renewing');
    my @validations = grep { $_->{host} eq $D && $_->{at} >= $reload_at }
                      $delay->requests;
    ok(scalar @validations, 'the renewal was validated (HTTP-01, delayed '
       . '4 s)');
};

subtest 'the renewal in the log' => sub {
    my @dns = $pebble->error_log_lines(
        qr{\[notice\].*linkcert: "\Q$D\E" issued/verifying -> issued/renewing: DNS verified});
    is(scalar @dns, 1, 'one "issued/verifying -> issued/renewing: DNS verified"')
        or diag($pebble->notices);
    my @done = $pebble->error_log_lines(
        qr{\[notice\].*linkcert: "\Q$D\E" issued/renewing -> issued/issued: certificate valid until \S+, generation \d+$});
    is(scalar @done, 1, 'one "issued/renewing -> issued/issued"')
        or diag($pebble->notices);
    my ($until, $gen2) = ($done[0] // '') =~ /valid until (\S+), generation (\d+)$/;
    is($until, $new->{not_after}, 'valid until = the new not_after');
    cmp_ok($gen2 // 0, '>', $gen1, 'a later generation (zone-wide counter)');
};

subtest 'after the renewal, without another reload' => sub {
    is($last->{status}, 'issued', 'status issued');
    my $j = $pebble->wait_issued($D, 5) // {};
    is($j->{stage}, 'issued', 'stage issued') or diag(explain $j);
    is($j->{last_error}, undef, 'no last_error');
    is($j->{next_attempt_at}, undef, 'no next_attempt_at');
    is($j->{dns}{verified}, JSON::PP::true, 'dns.verified');
    cmp_ok($t->parse_time($j->{dns}{checked_at}) // 0, '>=', int($reload_at),
           'the DNS was checked by this pass');
    isnt($new->{serial}, $old->{serial}, 'a new serial');
    isnt($new->{sha256}, $old->{sha256}, 'a new leaf');
    cmp_ok($t->parse_time($new->{not_before}) // 0, '>=',
           ($t->parse_time($old->{not_before}) // 9e9),
           'not_before is not older than the old one\'s');

    my $hs = $pebble->verified_handshake($D);
    ok($hs->{ok}, 'the new chain verifies against Pebble\'s root')
        or diag($hs->{error});
    is($hs->{fingerprint}, $new->{sha256}, 'the new leaf is presented');
    is($hs->{serial}, $new->{serial}, 'with the new serial');
    is_deeply($hs->{san}, [ $D ], 'SAN D');

    my @fps = map { $t->handshake($D) } 1 .. 12;
    is(scalar(grep { ($_ // '') eq $new->{sha256} } @fps), 12,
       '12 more handshakes (both workers) all present the new leaf');

    is($t->master_pid, $master, 'the same master');
    is_deeply([ $t->worker_pids ], \@workers,
              'the same workers as right after the reload (no reload since)');
};

subtest 'the store' => sub {
    is($t->fingerprint_of_file($chain_file), $new->{sha256},
       'fullchain.pem holds the new leaf');
    is($t->pubkey_of_key($key_file), $t->pubkey_of_cert($chain_file),
       'privkey.pem is the new leaf\'s key');
    like($t->pubkey_of_key($key_file), qr/BEGIN PUBLIC KEY/, 'a readable key');
    ok(!-e "$key_file.old", 'no privkey.pem.old left');
    my @files = sort map { s{.*/}{}r } glob("$store/domains/$D/*");
    is_deeply(\@files, [ 'fullchain.pem', 'privkey.pem' ],
              'only fullchain.pem and privkey.pem in the directory');
    my ($ok, $out) = $pebble->openssl_verify($chain_file);
    ok($ok, 'fullchain.pem verifies against Pebble\'s root') or diag($out);
};

is($pebble->order_count, 2, 'Pebble saw two orders in all');
is($pebble->issued_count, 2, 'and issued two certificates');
my @serials = map { s/^0+//r } $pebble->issued_serials;
ok((grep { $_ eq lc(($new->{serial} // '') =~ s/^0+//r) } @serials),
   'Pebble logged issuing the new serial');

subtest 'metrics' => sub {
    my $m = metrics();
    is($m->{$RENEWALS}, $m0->{$RENEWALS} + 1, 'renewals_total + 1');
    my $at = $m->{$LAST} // 0;
    cmp_ok(abs($at - ($changed_at // 0)), '<=', 3,
           'last_renewal_timestamp_seconds is when the new one was stored');
    cmp_ok(abs($at - time), '<=', 15, 'a time of now, in seconds');
    is($m->{$ISSUED}, $m0->{$ISSUED} + 1, 'orders_total{result="issued"} + 1');
};

# the renewed certificate is not renewed again (0%, within the hour)
sleep 4;

subtest 'no second renewal' => sub {
    is($pebble->order_count, 2, 'no new order');
    my $j = $t->status_of($D)->{json} // {};
    is($j->{certificate}{sha256}, $new->{sha256}, 'the same certificate');
    is($j->{stage}, 'issued', 'stage issued');
};


###########################################################################
# the default 67%: a reload does not renew a fresh certificate

$t->write_config(config(undef));
my $pass_at = time;
$t->reload;

# the pass checks every issued domain within about 5 s
my ($p, $checked) = $t->wait_status($D, sub {
    ($t->parse_time($_[0]{dns}{checked_at}) // 0) >= int($pass_at) }, 8);
sleep 2;    # a renewal would be ordered by now

subtest 'renew_at 67% (default): a reload does not renew' => sub {
    ok($checked, 'the reload\'s pass checked the DNS') or diag(explain $p);
    is($pebble->order_count, 2, 'no new order');
    my $j = $t->status_of($D)->{json} // {};
    is($j->{status}, 'issued', 'status issued');
    is($j->{stage}, 'issued', 'stage issued');
    is($j->{last_error}, undef, 'no last_error');
    is($j->{certificate}{sha256}, $new->{sha256}, 'the same certificate');
    is($t->handshake($D), $new->{sha256}, 'and it is served');
    my @done = $pebble->error_log_lines(qr{"\Q$D\E" \S+ -> issued/issued: certificate valid until});
    is(scalar @done, 2, 'still two certificates in the log');
};

$t->no_crash_ok;
my @alerts = $pebble->error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
is(scalar @alerts, 0, 'no alert, crit or emerg') or diag(join "\n", @alerts);


###########################################################################
# a certificate that is not due, while the CA does not answer: its check
# is not a renewal ("renewing" means a renewal is under way)

my $X = 'notdue.customer.test';
$t->set_cname($X, $TARGET);
my ($x_chain) = $t->store_domain($X);    # 90 days: 67% is far

my $silent = LinkCert::Pebble::Silent->new;
$t->stop;
$t->write_config(config(undef,
                       'https://localhost:' . $silent->port . '/dir'));
$t->run;

my ($x, $x_checked) = $t->wait_status($X, sub { defined $_[0]{dns} }, 8);
ok($x_checked, "$X: the start's pass checked its DNS") or diag(explain $x);
sleep 0.5;
$x = $t->status_of($X)->{json} // {};
is($x->{status}, 'issued', "$X: issued");
is($t->handshake($X), $t->fingerprint_of_file($x_chain), "$X: served");

TODO: {
    local $TODO = 'a check while the ACME account is being set up shows '
                . '"renewing" for a certificate that is not due';
    is($x->{stage}, 'issued', "$X: stage issued, not renewing");
    my @renewing = $pebble->error_log_lines(qr{"\Q$X\E" \S+ -> issued/renewing});
    is(scalar @renewing, 0, "$X: no renewal logged") or diag(@renewing);
}

done_testing;
