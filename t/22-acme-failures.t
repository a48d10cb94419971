#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# ACME failures against Pebble.
#
# 1. A validation failure: the domain resolves (and is verified, by
#    linkcert_target_address) to 127.0.0.2, where nginx does not listen;
#    Pebble's HTTP-01 connection is refused -> unknown / failed with the
#    ACME problem type and detail.  A second POST gives a second failed
#    validation; a third one within the hour must not order again (at most
#    2 failed validations per domain per hour).
# 2. Pebble down before the POST -> pending / ordering, acme_transport,
#    next_attempt_at in the future; handshakes for an imported domain stay
#    fast meanwhile; Pebble back (it forgot the account), POST again after
#    the 10 s limit -> issued.
# 3. Pebble stopped in the middle of an order (its VA is stuck on a DNS
#    server that never answers, so the authorization stays pending) ->
#    pending / ordering, acme_transport; Pebble back, POST again -> issued.
#    (nginx is restarted with each new Pebble here, so that this case does
#    not depend on case 2's forgotten account.)

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
my $RFC3339 = LinkCert::Test::rfc3339_re();
my $URN = 'urn:ietf:params:acme:error:';

my $TARGET = 'edge.crm.test';
my $BAD = 'bad-apex.test';                 # A 127.0.0.2
my $IMPORTED = 'imported.customer.test';   # from the store
my $DOWN = 'down.customer.test';           # Pebble down before the POST
my $MID = 'mid.customer.test';             # Pebble stopped mid-order

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->add_a($BAD, ['127.0.0.2']);
$t->set_cname($_, $TARGET) for $DOWN, $MID;

my ($imported_chain) = $t->store_domain($IMPORTED);
my $imported_fp = $t->fingerprint_of_file($imported_chain);

$pebble->start;

$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.2;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

sub is_done { my $s = $_[0]{stage} // ''; $s eq 'failed' || $s eq 'issued' }

sub transient_ok {
    my ($name, $j, $since) = @_;
    is($j->{status}, 'pending', "$name: status pending") or diag(explain $j);
    is($j->{stage}, 'ordering', "$name: stage ordering");
    is($j->{last_error}{type}, 'acme_transport',
       "$name: last_error.type acme_transport")
        or diag(explain $j->{last_error});
    like($j->{last_error}{detail} // '', qr/\S/, "$name: with a detail");
    like($j->{last_error}{at} // '', $RFC3339, "$name: last_error.at");
    like($j->{next_attempt_at} // '', $RFC3339, "$name: next_attempt_at set");
    my $next = $t->parse_time($j->{next_attempt_at}) // 0;
    my $at = $t->parse_time($j->{last_error}{at}) // 9e9;   # none: fails
    cmp_ok($next, '>', time, "$name: next_attempt_at is in the future");
    cmp_ok($next - $at, '>=', 54, "$name: the backoff is at least 54 s "
           . '(1 min - 10%)');
    cmp_ok($at, '>=', int($since), "$name: the error is from this attempt");
    is($j->{certificate}, undef, "$name: no certificate");
}


###########################################################################
# 1. validation failure

my $bad_post = time;
my $r = $t->verify($BAD);
is($r->{status}, 202, "POST $BAD: 202") or diag($r->{raw});

my ($j) = $t->wait_status($BAD, \&is_done, 20);

subtest 'validation failure: unknown / failed with the ACME problem' => sub {
    is($j->{status}, 'unknown', 'status unknown') or diag(explain $j);
    is($j->{stage}, 'failed', 'stage failed');
    my $type = $j->{last_error}{type} // '';
    like($type, qr/^\Q$URN\E\w+$/, "last_error.type is an ACME problem ($type)");
    is($type, "${URN}connection", 'Pebble reports urn:...:connection');
    like($j->{last_error}{detail} // '', qr/\S/, 'last_error.detail is set');
    like($j->{last_error}{detail} // '', qr/127\.0\.0\.2|refused|connect/i,
         'the detail says what went wrong');
    like($j->{last_error}{at} // '', $RFC3339, 'last_error.at');
    is($j->{certificate}, undef, 'no certificate');
    is($j->{dns}{verified}, JSON::PP::true, 'the DNS check itself passed');
    ok(!-e $t->store . "/domains/$BAD/fullchain.pem", 'nothing in the store');
    is($t->handshake($BAD), $t->fallback_fingerprint,
       'the handshake presents the fallback');
    is($pebble->order_count, 1, 'Pebble saw one order');
    is($pebble->issued_count, 0, 'and issued nothing');
    my @lines = $pebble->error_log_lines(
        qr{\[notice\].*linkcert: "\Q$BAD\E" pending/ordering -> unknown/failed});
    is(scalar @lines, 1, 'one notice for pending/ordering -> unknown/failed')
        or diag($pebble->notices);
};

# a second POST: a second failed validation is allowed within the hour
$t->wait_post_limit($BAD);
$bad_post = time;
$r = $t->verify($BAD);
is($r->{status}, 202, "second POST $BAD: 202") or diag($r->{raw});

($j) = $t->wait_status($BAD, sub {
    is_done($_[0]) && $t->parse_time($_[0]{last_error}{at} // '')
                      && $t->parse_time($_[0]{last_error}{at}) >= int($bad_post)
}, 20);

subtest 'the second failed validation' => sub {
    is($j->{stage}, 'failed', 'stage failed') or diag(explain $j);
    like($j->{last_error}{type} // '', qr/^\Q$URN\E/, 'an ACME problem again');
    is($pebble->order_count, 2, 'Pebble saw a second order');
};

# a third POST within the hour: no third validation
$t->wait_post_limit($BAD);
$bad_post = time;
$r = $t->verify($BAD);
is($r->{status}, 202, "third POST $BAD: 202 (the DNS is checked)")
    or diag($r->{raw});
# the DNS is checked, then the order is put off until the hour is over
($j) = $t->wait_status($BAD, sub {
    ($_[0]{last_error}{type} // '') eq 'validation_limit' }, 10);

subtest 'a third validation within the hour is not attempted' => sub {
    is($j->{last_error}{type}, 'validation_limit', 'last_error validation_limit')
        or diag(explain $j);
    cmp_ok($t->parse_time($j->{next_attempt_at} // '') // 0, '>',
           time + 3000, 'the next attempt when the hour is over');
    is($pebble->order_count, 2, 'no third order at Pebble');
    isnt($j->{status}, 'issued', 'not issued');
};


###########################################################################
# 2. Pebble down before the POST

$pebble->stop;
ok(!LinkCert::Pebble::_port_open($pebble->port), 'Pebble is down');

my $down_post = time;
$r = $t->verify($DOWN);
is($r->{status}, 202, "POST $DOWN: 202") or diag($r->{raw});

# handshakes for the imported domain while linkcert tries to reach Pebble
my (@times, @fps);
my ($jd, $got) = $t->wait_status($DOWN, sub {
    my $t0 = time;
    push @fps, $t->handshake($IMPORTED);
    push @times, time - $t0;
    defined $_[0]{last_error}
}, 20);

# and a few after the failure
for (1 .. 5) {
    my $t0 = time;
    push @fps, $t->handshake($IMPORTED);
    push @times, time - $t0;
}

subtest 'Pebble down: pending / ordering, acme_transport' => sub {
    ok($got, 'an error is recorded') or diag(explain $jd);
    transient_ok($DOWN, $jd, $down_post);
};

subtest 'handshakes meanwhile' => sub {
    my ($max) = sort { $b <=> $a } @times;
    is(scalar(grep { ($_ // '') eq $imported_fp } @fps), scalar @fps,
       scalar(@fps) . " handshakes for $IMPORTED present its certificate");
    # seconds at most: not waiting for the CA (a busy machine, prove -j
    # beside other work, stretches a handshake's milliseconds to a second)
    cmp_ok($max, '<', 3, sprintf('the slowest took %.0f ms', $max * 1000));
};

sleep 1;
is($t->status_of($DOWN)->{json}{stage}, 'ordering',
   'still ordering a second later (no busy loop into failed)');

$pebble->start;    # a new Pebble: new root, no accounts

$t->wait_post_limit($DOWN);
my $orders = $pebble->order_count;
$r = $t->verify($DOWN);
is($r->{status}, 202, "POST $DOWN again after 10 s: 202") or diag($r->{raw});

my ($jd2, $ok) = $pebble->wait_issued($DOWN, 20);

subtest 'Pebble back: issued' => sub {
    ok($ok, 'issued / issued') or diag(explain $jd2), diag($pebble->notices);
    is($jd2->{last_error}, undef, 'last_error cleared')
        or diag(explain $jd2->{last_error});
    is($jd2->{next_attempt_at}, undef, 'next_attempt_at cleared');
    my $hs = $pebble->verified_handshake($DOWN);
    ok($hs->{ok}, 'the chain verifies against the new Pebble\'s root')
        or diag($hs->{error});
    is($hs->{fingerprint}, $jd2->{certificate}{sha256}, 'sha256 = leaf');
    is($pebble->order_count, $orders + 1, 'one new order');
    is($t->handshake($IMPORTED), $imported_fp, "$IMPORTED still served");
};


###########################################################################
# 3. Pebble stopped in the middle of an order

# Each start of Pebble forgets the accounts; nginx is restarted with it so
# that this case does not depend on the client noticing that (case 2).
$pebble->stop;
$pebble->start(dns => $t->silent_udp);   # its VA's DNS never answers
$t->stop;
$t->run;

my $mid_post = time;
$r = $t->verify($MID);
is($r->{status}, 202, "POST $MID: 202") or diag($r->{raw});

ok($pebble->wait_log(qr/^Pebble \S+ \S+ Added order/m, 15),
   'the order reached Pebble') or diag($pebble->notices);
# the module is now at the authorization / challenge, which cannot be
# validated (Pebble waits for its DNS)
sleep 0.3;
my $mid_log = $pebble->log_since_start;
$pebble->stop;
unlike($mid_log, qr/Issued certificate/, 'nothing was issued before the stop');

my ($jm, $gotm) = $t->wait_status($MID, sub { defined $_[0]{last_error} }, 20);

subtest 'Pebble stopped mid-order: pending / ordering, acme_transport' => sub {
    ok($gotm, 'an error is recorded') or diag(explain $jm);
    transient_ok($MID, $jm, $mid_post);
};

$pebble->start;
$t->stop;
$t->run;

$t->wait_post_limit($MID);
$r = $t->verify($MID);
is($r->{status}, 202, "POST $MID again: 202") or diag($r->{raw});

my ($jm2, $okm) = $pebble->wait_issued($MID, 20);

subtest 'Pebble back again: issued' => sub {
    ok($okm, 'issued / issued') or diag(explain $jm2), diag($pebble->notices);
    my $hs = $pebble->verified_handshake($MID);
    ok($hs->{ok}, 'the chain verifies') or diag($hs->{error});
    is_deeply($hs->{san}, [ $MID ], 'SAN');
    is($t->handshake($IMPORTED), $imported_fp, "$IMPORTED still served");
};

my @alerts = $pebble->error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
is(scalar @alerts, 0, 'no alert, crit or emerg in the error log')
    or diag(join "\n", @alerts);

done_testing;
