#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# ACME Renewal Information (RFC 9773).  Pebble 2.4 has no renewalInfo, so
# a stub (LinkCert::StubCA: HTTPS on loopback, the Pebble listener's test
# CA) stands in front of it: GET /dir is Pebble's own directory plus
#
#   "renewalInfo": "https://localhost:<stub>/renewal-info"
#
# (every other URL still Pebble's: accounts, orders and challenges go to
# Pebble), and GET /renewal-info/<certID> answers what the test wrote in
# its control file for that ID (404 for an ID it does not know).  The stub
# notes every request it gets.
#
# With linkcert_renew_at 99% (Pebble's certificates live 5 years) renew_at
# never decides by itself, and linkcert_reverify_interval is left at 24h;
# renewal information is asked an hour after issuance, at a start, then
# every 12 hours, so only a restart of nginx asks it here.  Three issued
# domains:
#
#   pass 1 (restart)
#     later.customer.test  window 30 days ahead -> asked, not renewed
#     down.customer.test   renewalInfo 503       -> "not available", not renewed
#     due.customer.test    404 (unknown ID)      -> "not available", not renewed
#   pass 2 (restart)
#     due.customer.test    window in the past    -> "renewal is due, replacing
#                                                   <ID>", a new certificate
#   pass 3 (restart)       due's new certificate's ID is the one asked about
#   pass 4 (reload to linkcert_reverify_interval 2s): the periodic DNS
#     re-check keeps coming after an ARI answer that says "not yet", and
#     renewal information is not asked at those checks, nor at the
#     reload's pass: it was asked less than 12 hours ago (its own schedule,
#     twice a day); a certificate new in the store at the reload is asked
#     about at once
#
# The ID the module asks about is compared with the one computed here from
# the certificate with openssl (base64url(AKI keyid) "." base64url(serial
# DER content)).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use LinkCert::StubCA;
use LinkCert::Util qw(wait_until);
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);

my $TARGET = 'edge.crm.test';
my $DUE = 'due.customer.test';
my $LATER = 'later.customer.test';
my $DOWN = 'down.customer.test';
my $HIGH = 'high.customer.test';
my $ca_aki = '';    # the test CA's key ID, base64url
my @D = ($DUE, $LATER, $DOWN);

my $store = $t->store;

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for @D;

$pebble->start;

my $stub = LinkCert::StubCA->new($pebble, name => 'ari-stub',
    front => sub { $_[0]{renewalInfo} = $_[1]->url('/renewal-info') },
    answer => \&renewal_info);

# nginx.conf's linkcert directives (standard_config adds the zone, the
# store, the key and "linkcert on"): the stub's directory, renew_at 99%,
# and $more
$t->placeholder(STUB => $stub->url('/dir'));
my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%STUB%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
    linkcert_renew_at 99%;
%%MORE%%
EOF

sub config {
    my ($more) = @_;
    return ($t->standard_config(workers => 2, log_level => 'info',
                                http => $HTTP),
            MORE => $more // '');
}

$t->write_config(config());
$t->run;


###########################################################################
# first issuance, through the stub's directory

for my $d (@D) {
    my $r = $t->verify($d);
    is($r->{status}, 202, "POST $d: 202") or diag($r->{raw});
}

my (%old, %id);

for my $d (@D) {
    my ($j, $ok) = $pebble->wait_issued($d, 25);
    ok($ok, "$d issued") or diag(explain $j), diag($pebble->notices);
    $old{$d} = { serial => $j->{certificate}{serial} // '',
                 sha256 => $j->{certificate}{sha256} // '' };
}

if (grep { !$old{$_}{serial} } @D) {
    fail('the domains were not issued: nothing to renew, stopping here');
    done_testing;
    exit;
}

ok((grep { $_->{path} eq '/dir' } $stub->requests),
   'the module read the directory from the stub');
is($pebble->account_count, 1, 'one account at Pebble (via the stub\'s URLs)');
is($pebble->order_count, 3, 'three orders at Pebble');

for my $d (@D) {
    $id{$d} = ari_id("$store/domains/$d/fullchain.pem");
    like($id{$d}, qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
         "$d: certificate ID computed here: $id{$d}");
    is($t->serial_of_file("$store/domains/$d/fullchain.pem"),
       $old{$d}{serial}, "$d: the stored certificate is the one in the status");
}

# A new certificate is not checked again within the hour: without a
# renewal pass nobody asks for renewal information.
sleep 1;
is(scalar(ari_requests()), 0, 'no renewalInfo request before a renewal pass')
    or diag(join "\n", map { $_->{path} } ari_requests());


###########################################################################
# renewal pass 1: the window 30 days ahead, and renewalInfo down

my $now = time;
$stub->control({
    $id{$LATER} => { start => rfc3339($now + 30 * 86400),
                     end => rfc3339($now + 31 * 86400),
                     retry_after => 21600 },
    $id{$DOWN} => { status => 503 },
    # due: not yet known to the stub (404) -> renew_at alone, not due
});

my $orders = $pebble->order_count;
my $issued = $pebble->issued_count;
my $log_mark = length $t->error_log;

restart();

# the pass asks about all three at once: one wait for the three
my $all_asked =
    wait_until(sub { !grep { !ari_requests_for($id{$_}) } @D }, 6);
my $wait_log = $all_asked ? 3 : 0.5;

ok(scalar(ari_requests_for($id{$LATER})),
   "$LATER: the restart made the stub get GET /renewal-info/<its ID>")
    or diag($stub->log_text), diag($pebble->notices);
ok(scalar(ari_requests_for($id{$DOWN})),
   "$DOWN: the stub got GET /renewal-info/<its ID>")
    or diag($stub->log_text);
ok(scalar(ari_requests_for($id{$DUE})),
   "$DUE: the stub got GET /renewal-info/<its ID> (404)")
    or diag($stub->log_text);

my $down_line = $t->wait_log_since($log_mark,
    qr/renewal information for "\Q$DOWN\E" not available/, $wait_log);
ok($down_line, "$DOWN: 'renewal information ... not available' logged")
    or diag($pebble->notices);
like($down_line // '', qr/\[(?:warn|notice|info|error)\]/,
     "$DOWN: ... at warn or below, not alert/crit");
ok($t->wait_log_since($log_mark,
       qr/renewal information for "\Q$DUE\E" not available/, $wait_log),
   "$DUE: a 404 from renewalInfo is 'not available' too");

# let any wrong order start
$t->wait_status($_, sub { $_[0]{stage} eq 'issued' }, 10) for @D;
sleep 2;

subtest "$LATER: window 30 days ahead -> not renewed" => sub {
    my $s = $t->status_of($LATER)->{json} // {};
    is($s->{status}, 'issued', 'status issued') or diag(explain $s);
    is($s->{stage}, 'issued', 'stage issued');
    is($s->{last_error}, undef, 'last_error null');
    is($s->{certificate}{serial}, $old{$LATER}{serial}, 'serial unchanged');
    my $hs = $pebble->verified_handshake($LATER);
    ok($hs->{ok}, 'the handshake verifies') or diag($hs->{error});
    is($hs->{serial}, $old{$LATER}{serial}, 'the old certificate is served');
    is($t->serial_of_file("$store/domains/$LATER/fullchain.pem"),
       $old{$LATER}{serial}, 'fullchain.pem unchanged');
    is(scalar($t->log_since($log_mark, qr/"\Q$LATER\E" renewal is due/)), 0,
       'no "renewal is due" line');
    my $renew = $t->parse_time($s->{renew_at} // '') // 0;
    ok($renew >= $now + 30 * 86400 && $renew <= $now + 31 * 86400,
       "renew_at is in the CA's window ($s->{renew_at})")
        or diag(explain $s);
};

subtest "$DOWN: renewalInfo 503 -> renew_at alone -> not renewed" => sub {
    my $s = $t->status_of($DOWN)->{json} // {};
    is($s->{status}, 'issued', 'status issued') or diag(explain $s);
    is($s->{stage}, 'issued', 'stage issued');
    is($s->{certificate}{serial}, $old{$DOWN}{serial}, 'serial unchanged');
    my $hs = $pebble->verified_handshake($DOWN);
    is($hs->{serial}, $old{$DOWN}{serial}, 'the old certificate is served');
    is(scalar($t->log_since($log_mark, qr/"\Q$DOWN\E" renewal is due/)), 0,
       'no "renewal is due" line');
};

is($t->status_of($DUE)->{json}{certificate}{serial}, $old{$DUE}{serial},
   "$DUE: renewalInfo 404 and renew_at 99% -> not renewed either");
is($pebble->order_count, $orders, 'no new order at Pebble')
    or diag($pebble->notices);
is($pebble->issued_count, $issued, 'no new certificate at Pebble');


###########################################################################
# renewal pass 2: due's window is in the past

$now = time;
$stub->control({
    $id{$DUE} => { start => rfc3339($now - 7200), end => rfc3339($now - 3600),
                   retry_after => 21600 },
    $id{$LATER} => { start => rfc3339($now + 30 * 86400),
                     end => rfc3339($now + 31 * 86400) },
    $id{$DOWN} => { status => 503 },
});

my $ari_before = () = ari_requests_for($id{$DUE});
$log_mark = length $t->error_log;
$orders = $pebble->order_count;

restart();

my ($j, $renewed) = $t->wait_status($DUE, sub {
    ($_[0]{certificate}{serial} // '') ne $old{$DUE}{serial}
        && $_[0]{stage} eq 'issued'
}, 12);

ok($renewed, "$DUE: renewed (a new serial in the status, stage issued)")
    or diag(explain $j), diag($stub->log_text), diag($pebble->notices);

my $new_serial = $j->{certificate}{serial} // '';

subtest "$DUE: window in the past -> renewed" => sub {
    is($j->{status}, 'issued', 'status issued');
    is($j->{last_error}, undef, 'last_error null') or diag(explain $j);
    isnt($new_serial, $old{$DUE}{serial}, 'a new serial');

    my @asked = ari_requests_for($id{$DUE});
    cmp_ok(scalar @asked, '>', $ari_before,
           'the stub got GET /renewal-info/<ID of the old certificate>');

    ok(scalar($t->log_since($log_mark,
           qr/linkcert: "\Q$DUE\E" issued\/verifying -> issued\/renewing/)),
       'the DNS rule ran first: issued/verifying -> issued/renewing')
        or diag($pebble->notices);
    ok(scalar($t->log_since($log_mark,
           qr/linkcert: "\Q$DUE\E" issued\/renewing -> issued\/issued: .*generation \d+$/)),
       'issued/renewing -> issued/issued, with a new generation')
        or diag($pebble->notices);

    my ($line) = $t->log_since($log_mark, qr/"\Q$DUE\E" renewal is due, replacing/);
    ok($line, '"renewal is due" logged') or diag($pebble->notices);
    like($line // '', qr/\[notice\].*linkcert: "\Q$DUE\E" renewal is due, replacing \Q$id{$DUE}\E$/,
         'at notice, naming the old certificate\'s ID');

    my $hs = $pebble->verified_handshake($DUE);
    ok($hs->{ok}, 'the next handshake verifies against Pebble\'s root')
        or diag($hs->{error});
    is($hs->{serial}, $new_serial, 'and presents the new certificate');
    isnt($hs->{fingerprint}, $old{$DUE}{sha256}, 'not the old leaf');
    is_deeply($hs->{san}, [ $DUE ], 'SAN is exactly the domain');

    my $file = "$store/domains/$DUE/fullchain.pem";
    is($t->serial_of_file($file), $new_serial, 'fullchain.pem is the new one');
    my ($vok, $out) = $pebble->openssl_verify($file);
    ok($vok, 'fullchain.pem verifies') or diag($out);
    ok(!-e "$store/domains/$DUE/privkey.pem.old",
       'no privkey.pem.old left behind');

    my @serials = map { s/^0+//r } $pebble->issued_serials;
    ok((grep { $_ eq lc($new_serial =~ s/^0+//r) } @serials),
       'Pebble issued that serial');
};

is($pebble->order_count, $orders + 1, 'exactly one new order at Pebble')
    or diag($pebble->notices);

subtest 'the others, in the same pass, are still not renewed' => sub {
    for my $d ($LATER, $DOWN) {
        my $s = $t->status_of($d)->{json} // {};
        is($s->{stage}, 'issued', "$d: stage issued");
        is($s->{certificate}{serial}, $old{$d}{serial}, "$d: serial unchanged");
    }
};


###########################################################################
# renewal pass 3: the new certificate is the one asked about

my $new_id = ari_id("$store/domains/$DUE/fullchain.pem");
isnt($new_id, $id{$DUE}, "$DUE: the new certificate has another ID");

$orders = $pebble->order_count;
$log_mark = length $t->error_log;
my $later_before = () = ari_requests_for($id{$LATER});

restart();

my $asked_new = wait_ari_request($new_id, 6);
ok($asked_new, "$DUE: the next pass asks about the new certificate's ID")
    or diag($stub->log_text);
my $n_old = () = ari_requests_for($id{$DUE});
ok($t->wait_log_since($log_mark,
       qr/renewal information for "\Q$DUE\E" not available/,
       $asked_new ? 3 : 0.5),
   "$DUE: unknown to the stub (404): not available");
sleep 1;
is(scalar(ari_requests_for($id{$DUE})), $n_old,
   'the old certificate\'s ID is not asked about again');
is($pebble->order_count, $orders, 'no new order');


###########################################################################
# the periodic DNS re-check is a renewal check too, and an ARI answer
# (window far ahead) does not stop it: with linkcert_reverify_interval 2s,
# later's DNS is checked every ~2 s; its renewal information, asked at the
# restart of pass 3, is not asked again at the reload nor at those checks
# (twice a day)

# Pebble's serials never have the high bit set (8 bytes, 63 random bits):
# a certificate of the test CA whose serial does, put in the store before
# the reload, checks that the ID carries DER's leading 0x00.
my $high_id = high_serial_cert($HIGH, '8A0B0C0D0E0F1011');
is((split /\./, $high_id)[1], 'AIoLDA0ODxAR',
   'the ID computed here for serial 8A0B...: DER 00 8A 0B ... (AIoL...)');
$t->set_cname($HIGH, $TARGET);

# every ID known, every window far ahead: nothing may be ordered here
$now = time;
$stub->control({ map { $_ => { start => rfc3339($now + 30 * 86400),
                              end => rfc3339($now + 31 * 86400) } }
                $id{$LATER}, $id{$DUE}, $new_id, $id{$DOWN}, $high_id });

# pass 3's question about later is answered before the reload (on a busy
# machine it may still be on its way: then the reload rightly asks again)
ok(wait_until(sub { ari_requests_for($id{$LATER}) > $later_before }, 6),
   "$LATER: asked about in pass 3");
$t->wait_status($LATER, sub { $_[0]{stage} eq 'issued' }, 6);

$t->write_config(config('    linkcert_reverify_interval 2s;'));
$orders = $pebble->order_count;
$log_mark = length $t->error_log;
my $ari_later = () = ari_requests_for($id{$LATER});

$t->reload;

# the first check comes within 1 s of the reload, the next every 2 s
# (+/-10%): three take about 5 s; up to 10 s for a loaded machine
my $checks_re =
    qr/linkcert: "\Q$LATER\E" issued\/verifying -> issued\/(?:renewing|issued)/;
my $reloaded = time;
wait_until(sub { $t->log_since($log_mark, $checks_re) >= 3 }, 10);
my $checked_in = time - $reloaded;

my @checks = $t->log_since($log_mark, $checks_re);
cmp_ok(scalar @checks, '>=', 3,
       sprintf("$LATER: DNS checked 3 times (in %.1f s)", $checked_in))
    or diag($pebble->notices);
is(scalar($t->log_since($log_mark,
       qr/linkcert: "\Q$LATER\E" issued\/verifying -> issued\/renewing/)),
   0, "$LATER: none went on to renewal information")
    or diag($pebble->notices);
is(scalar(ari_requests_for($id{$LATER})), $ari_later,
   "$LATER: renewalInfo not asked again (the reload, 3 DNS checks)")
    or diag($stub->log_text);
my $sl = $t->status_of($LATER)->{json} // {};
is($sl->{certificate}{serial}, $old{$LATER}{serial},
   "$LATER: still not renewed");
is($pebble->order_count, $orders, 'no new order');

subtest "$HIGH: a serial with the high bit set" => sub {
    my $s = $t->status_of($HIGH)->{json} // {};
    is($s->{status}, 'issued', 'loaded from the store: issued')
        or diag(explain $s);
    is($s->{certificate}{serial}, '8A0B0C0D0E0F1011', 'its serial');
    ok(wait_until(sub { ari_requests_for($high_id) }, 5),
       "the stub got GET /renewal-info/$high_id")
        or diag($stub->log_text), diag($pebble->notices);
    my @wrong = grep { $_->{path} =~ m{^/renewal-info/\Q$ca_aki\E\.(?!AIoLDA0ODxAR$)} }
                $stub->requests;
    is(scalar @wrong, 0, 'and no other ID for it (e.g. without the 0x00)')
        or diag($stub->log_text);
};

my @alerts = $pebble->error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
is(scalar @alerts, 0, 'no alert, crit or emerg') or diag(join "\n", @alerts);
$t->no_crash_ok;

done_testing;


###########################################################################
# helpers

# a new nginx: a new zone, every certificate's schedule afresh
sub restart {
    $t->stop;
    $t->run;
}

sub rfc3339 { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }

sub b64url {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# The ARI certificate ID (RFC 9773 section 4.1) of the first certificate
# of a PEM file, from openssl's text: the AKI keyIdentifier and the serial
# as DER INTEGER content (minimal, a 0x00 first when the high bit is set).
sub ari_id {
    my ($file) = @_;
    my $out = `openssl x509 -in '$file' -noout -ext authorityKeyIdentifier -serial 2>&1`;

    my ($aki) = $out =~ /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*)/;
    my ($serial) = $out =~ /^serial=([0-9A-Fa-f]+)$/m;
    return "(openssl: $out)" unless defined $aki && defined $serial;

    $aki =~ s/://g;
    $serial = "0$serial" if length($serial) % 2;
    my $der = pack 'H*', $serial;
    $der =~ s/^\x00+(?=.)//s;
    $der = "\x00$der" if ord($der) & 0x80;

    return b64url(pack 'H*', $aki) . '.' . b64url($der);
}

# A certificate of the test CA for $name with the given serial (hex) and an
# authorityKeyIdentifier, put in the store; returns its ID.
sub high_serial_cert {
    my ($name, $serial) = @_;
    my ($chain) = $t->store_domain($name, serial => $serial, aki => 1);
    my $cid = ari_id($chain);
    ($ca_aki) = split /\./, $cid;
    return $cid;
}

# The stub's answer to GET /renewal-info/<certID>: what the control file
# says for that ID (a window, or a failing status), 404 for an ID it does
# not name.
sub renewal_info {
    my ($req, $stub) = @_;

    my ($cid) = $req->{path} =~ m{^/renewal-info/(.+)$} or return;    # 404
    my $a = $stub->control->{$cid} or return;                         # 404

    return (200, [ 'Content-Type' => 'application/json',
                   (defined $a->{retry_after}
                       ? ('Retry-After' => $a->{retry_after}) : ()) ],
            encode_json({ suggestedWindow => {
                start => $a->{start}, end => $a->{end} } }))
        if ($a->{status} // 200) == 200;

    return ($a->{status}, [ 'Content-Type' => 'application/problem+json',
                            'Retry-After' => 60 ],
            encode_json({
                type => 'urn:ietf:params:acme:error:serverInternal',
                detail => 'renewal information is down' }));
}

sub ari_requests { grep { $_->{path} =~ m{^/renewal-info/} } $stub->requests }

sub ari_requests_for {
    my ($cid) = @_;
    return grep { $_->{method} eq 'GET' && $_->{path} eq "/renewal-info/$cid" }
           $stub->requests;
}

sub wait_ari_request {
    my ($cid, $timeout) = @_;
    my @r;
    wait_until(sub { @r = ari_requests_for($cid) }, $timeout);
    return $r[-1];
}
