#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The metrics an operator alerts on, each with HELP and TYPE:
#
#   the zone   a 32k zone too small for the store: linkcert_zone_entries =
#              the domains in the table, linkcert_zone_used_bytes near
#              linkcert_zone_size_bytes (at most it), linkcert_zone_full_total
#              counting the domains that found no room, +1 for a POST that
#              gets 507;
#   the CA     (Pebble, no nonce rejected) an issuance after a POST:
#              linkcert_acme_requests_total rises, no error counted, and
#              linkcert_orders_by_origin_total{origin="post",result="issued"}
#              +1; on demand with linkcert_hold 50ms: the first handshake
#              is released by the timer (linkcert_hold_timeouts_total +1),
#              and {origin="on_demand",result="issued"} +1 once issued; a
#              renewal (0% and a reload): {origin="renewal"} +2; Pebble
#              gone: {type="acme_transport"} rises and the order fails
#              ({origin="post"} transient or failed +1); Pebble rejecting
#              every nonce: {type="...:badNonce"} rises, the order fails.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $URN = 'urn:ietf:params:acme:error:';
my @ORIGINS = qw(post on_demand renewal);
my @RESULTS = qw(issued failed transient);

# { name => { type, help } } and the raw text of one scrape
sub families {
    my ($t) = @_;
    my $r = $t->http(GET => '/.well-known/ssl-status/metrics', key => 1);
    my %f;
    for (split /\n/, $r->{body} // '') {
        $f{$1}{help} = $2 if /^# HELP (\S+) (.+)$/;
        $f{$1}{type} = $2 if /^# TYPE (\S+) (\S+)$/;
    }
    return \%f;
}

sub origin { "linkcert_orders_by_origin_total{origin=\"$_[0]\",result=\"$_[1]\"}" }
sub error_of { "linkcert_acme_errors_total{type=\"$_[0]\"}" }


###########################################################################
# the zone

{
    my $t = LinkCert::Test->new;
    my @names = map { sprintf 'd%03d.full.test', $_ } 1 .. 300;
    my $cert = [ $t->make_cert('full', san => \@names) ];
    $t->store_domain($_, cert => $cert) for @names;

    $t->write_config($t->standard_config(zone => 'linkcert:32k',
        http => '    linkcert_cname_target edge.crm.test;'));
    $t->run;

    my $f = families($t);
    subtest 'the families of the zone' => sub {
        for (qw(linkcert_zone_entries linkcert_zone_size_bytes
                linkcert_zone_used_bytes))
        {
            is($f->{$_}{type}, 'gauge', "$_: TYPE gauge");
            like($f->{$_}{help} // '', qr/\S/, "$_: HELP");
        }
        is($f->{linkcert_zone_full_total}{type}, 'counter',
           'linkcert_zone_full_total: TYPE counter');
        like($f->{linkcert_zone_full_total}{help} // '', qr/\S/, 'and HELP');
    };

    my $m = $t->metric_values;
    my $in = 0;
    $in += $m->{"linkcert_domains{status=\"$_\"}"} // 0 for qw(issued pending unknown);
    my ($size, $used) = map { $m->{"linkcert_zone_${_}_bytes"} // 0 } qw(size used);

    subtest 'a full zone' => sub {
        cmp_ok($in, '>', 0, "some domains fit ($in)");
        cmp_ok($in, '<', 300, 'not all');
        is($m->{linkcert_zone_entries}, $in, 'zone_entries = the domains in the table');
        cmp_ok($size, '>', 0, "size $size bytes");
        cmp_ok($size, '<=', 32768, 'at most the zone\'s size');
        cmp_ok($used, '<=', $size, "used $used bytes, at most the size");
        cmp_ok($used, '>=', 0.8 * $size, 'a full zone is at least 80% used');
        cmp_ok($m->{linkcert_zone_full_total} // 0, '>=', 300 - $in,
               'zone_full_total counts the store domains that found no room');
    };

    my $r = $t->http(POST => '/.well-known/ssl-status?domain=new.full.test',
                     key => 1);
    is($r->{status}, 507, 'POST for a new domain: 507');
    my $m2 = $t->metric_values;
    is($m2->{linkcert_zone_full_total}, $m->{linkcert_zone_full_total} + 1,
       'zone_full_total + 1');
    is($m2->{linkcert_zone_entries}, $in, 'zone_entries unchanged');

    $t->no_crash_ok;
    $t->stop;
}


###########################################################################
# the CA

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t,
    env => { PEBBLE_AUTHZREUSE => 0, PEBBLE_WFE_NONCEREJECT => 0 });

my $TARGET = 'edge.crm.test';
my $D = 'posted.customer.test';
my $OD = 'demand.customer.test';
my $D3 = 'nonce.customer.test';
my $D4 = 'down.customer.test';

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for $D, $OD, $D3, $D4;

$pebble->start;

# nginx.conf's linkcert directives (standard_config adds the zone, the
# store, the key and "linkcert on"); with $renew, every certificate is
# due for renewal
my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;

    linkcert_on_demand dns;
    linkcert_hold 50ms;
    %%RENEW_AT%%
EOF

sub config {
    my ($renew) = @_;
    return ($t->standard_config(workers => 2, log_level => 'info',
                                http => $HTTP),
            RENEW_AT => $renew ? 'linkcert_renew_at 0%;' : '');
}

$t->write_config(config());
$t->run;

my $f = families($t);
subtest 'the families of the CA and of the hold' => sub {
    for (qw(linkcert_acme_requests_total linkcert_acme_errors_total
            linkcert_orders_by_origin_total linkcert_hold_timeouts_total))
    {
        is($f->{$_}{type}, 'counter', "$_: TYPE counter");
        like($f->{$_}{help} // '', qr/\S/, "$_: HELP");
    }
    my $m = $t->metric_values;
    my @errors = grep { /^linkcert_acme_errors_total\{/ } keys %$m;
    ok((grep { $_ eq error_of("${URN}rateLimited") } @errors), 'rateLimited is a series');
    ok((grep { $_ eq error_of('acme_transport') } @errors), 'acme_transport is a series');
    is(scalar(grep { !/^linkcert_acme_errors_total\{type="(?:\Q$URN\E[a-zA-Z]+|acme_(?:server|other|transport))"\}$/ } @errors),
       0, 'every type is a problem type or acme_server/other/transport');
    is_deeply([ sort grep { /^linkcert_orders_by_origin_total/ } keys %$m ],
              [ sort map { my $o = $_; map { origin($o, $_) } @RESULTS } @ORIGINS ],
              'orders_by_origin_total: 3 origins x 3 results');
};

# the account is set up at the start
my $m0 = $t->wait_metrics(sub { ($_[0]{linkcert_acme_requests_total} // 0) > 0 }, 10);

my $r = $t->verify($D);
is($r->{status}, 202, "POST $D: 202") or diag($r->{raw});
my ($j, $ok) = $pebble->wait_issued($D, 20);
ok($ok, "$D issued") or diag(explain $j), diag($pebble->notices);
my $m1 = $t->metric_values;

subtest 'an issuance after a POST' => sub {
    cmp_ok($m1->{linkcert_acme_requests_total}, '>=',
           $m0->{linkcert_acme_requests_total} + 5,
           "acme_requests_total: $m0->{linkcert_acme_requests_total} -> "
           . "$m1->{linkcert_acme_requests_total} (an order takes 5 or more)");
    my @errors = grep { /^linkcert_acme_errors_total/ && $m1->{$_} } keys %$m1;
    is_deeply(\@errors, [], 'no error counted (Pebble rejects no nonce)');
    is($m1->{origin('post', 'issued')}, $m0->{origin('post', 'issued')} + 1,
       '{origin="post",result="issued"} + 1');
    is($m1->{'linkcert_orders_total{result="issued"}'},
       $m0->{'linkcert_orders_total{result="issued"}'} + 1,
       'orders_total{issued} + 1 too');
    for my $o (qw(on_demand renewal)) {
        is($m1->{origin($o, 'issued')}, 0, "{origin=\"$o\"}: 0");
    }
};

my $hs = $t->handshake($OD);
is($hs, $t->fallback_fingerprint, "$OD on demand: the first handshake gets "
   . 'the fallback after 50 ms');
($j, $ok) = $pebble->wait_issued($OD, 20);
ok($ok, "$OD issued on demand") or diag(explain $j), diag($pebble->notices);
my $m2 = $t->metric_values;

subtest 'on demand' => sub {
    is($m2->{linkcert_hold_timeouts_total},
       $m1->{linkcert_hold_timeouts_total} + 1, 'hold_timeouts_total + 1');
    is($m2->{'linkcert_handshakes_total{outcome="held"}'},
       $m1->{'linkcert_handshakes_total{outcome="held"}'} + 1,
       'the handshake was held');
    is($m2->{origin('on_demand', 'issued')}, 1,
       '{origin="on_demand",result="issued"} 1');
    is($m2->{origin('post', 'issued')}, $m1->{origin('post', 'issued')},
       '{origin="post"} unchanged');
};

is($t->handshake($OD), $j->{certificate}{sha256},
   'the next handshake: its certificate, not held');
is($t->metric_values->{linkcert_hold_timeouts_total},
   $m2->{linkcert_hold_timeouts_total}, 'no timeout counted for it');

$t->write_config(config(1));
$t->reload;
my $m3 = $t->wait_metrics(sub {
    ($_[0]{origin('renewal', 'issued')} // 0) >= 2 }, 30);

subtest 'renewals' => sub {
    is($m3->{origin('renewal', 'issued')}, 2,
       '{origin="renewal",result="issued"} 2: both domains renewed')
        or diag($pebble->notices);
    is($m3->{linkcert_renewals_total}, $m2->{linkcert_renewals_total} + 2,
       'renewals_total + 2 too');
    is($m3->{origin('post', 'issued')}, $m2->{origin('post', 'issued')},
       '{origin="post"} unchanged');
    is($m3->{origin('on_demand', 'issued')}, 1, '{origin="on_demand"} unchanged');
};

$t->write_config(config());
$t->reload;
# the new worker 0's account is ready before Pebble goes: it is the order
# that fails, not the account's setup (whose orders wait, not counted)
$pebble->account_settled;

$pebble->stop;
$r = $t->verify($D4);
is($r->{status}, 202, "POST $D4: 202 (Pebble is gone)");
my $m5 = $t->metric_values;
sub post_failed { ($_[0]{origin('post', 'transient')} // 0)
                  + ($_[0]{origin('post', 'failed')} // 0) }
my $m6 = $t->wait_metrics(sub {
    ($_[0]{error_of('acme_transport')} // 0)
    > ($m5->{error_of('acme_transport')} // 0)
    && post_failed($_[0]) > post_failed($m5) }, 20);
cmp_ok($m6->{error_of('acme_transport')}, '>', $m5->{error_of('acme_transport')},
       'Pebble gone: errors{acme_transport} rises');
cmp_ok($m6->{linkcert_acme_requests_total}, '>',
       $m5->{linkcert_acme_requests_total}, 'and requests_total (tried)');
is($m6->{error_of("${URN}badNonce")}, 0, 'no badNonce');
is(post_failed($m6), post_failed($m5) + 1, 'the order failed ({origin="post"})');

$pebble->start(env => { PEBBLE_WFE_NONCEREJECT => 100 });
my $m4 = $t->metric_values;
$r = $t->verify($D3);
is($r->{status}, 202, "POST $D3: 202 (Pebble rejects every nonce)");
my $m7 = $t->wait_metrics(sub {
    ($_[0]{error_of("${URN}badNonce")} // 0)
    >= ($m4->{error_of("${URN}badNonce")} // 0) + 2 }, 20);

# the restarted Pebble forgot the account: its setup fails on the nonces,
# so the POSTed order is not placed; it waits for the account (not a
# failed order)
subtest 'the CA rejects every nonce' => sub {
    cmp_ok($m7->{error_of("${URN}badNonce")}, '>=',
           $m4->{error_of("${URN}badNonce")} + 2,
           "errors{badNonce}: $m4->{error_of(\"${URN}badNonce\")} -> "
           . $m7->{error_of("${URN}badNonce")});
    my $j = $t->status_of($D3)->{json} // {};
    is($j->{status}, 'pending', "$D3: pending") or diag(explain $j);
    is(post_failed($m7), post_failed($m4),
       'no order placed, none counted as failed ({origin="post"})');
    is($m7->{origin('post', 'issued')}, $m4->{origin('post', 'issued')},
       'and not issued');
};

$t->no_crash_ok;

done_testing;
