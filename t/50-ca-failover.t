#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# CA failover with two Pebbles: the primary (linkcert_acme_directory URL)
# and a backup that requires External Account Binding
# (linkcert_acme_directory URL backup eab_kid= eab_key=).  Each Pebble
# issues from a root of its own, so the root a handshake verifies against
# says which CA issued the certificate.
#
#   1. both up: the backup's account is set up with EAB at start, in a key
#      of its own; a domain is issued by the primary, nothing is ordered
#      from the backup
#   2. the primary stopped (connection refused): the next domain's order
#      at the primary gets no answer and goes to the backup at once; the
#      status's "ca" says which CA, the log says why
#   3. the primary back, a renewal pass: the backup's certificate is
#      renewed by the primary (a success sends the next order there)

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $primary = LinkCert::Pebble->new($t);
my $KID = 'kid-backup';
my $HMAC = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
my $backup = LinkCert::Pebble->new($t, name => 'pebble2',
                                   listener_of => $primary,
                                   eab => { $KID => $HMAC });

my $TARGET = 'edge.crm.test';
my $UP = 'up.customer.test';
my $DOWN = 'down.customer.test';
my $store = $t->store;

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for $UP, $DOWN;

$primary->start;
$backup->start;

my $eab_file = $t->prefix . '/backup-eab.key';
open my $fh, '>', $eab_file or die "$eab_file: $!";
print $fh "$HMAC\n";
close $fh;

my $P_URL = $primary->directory_url;
my $B_URL = $backup->directory_url;

# nginx.conf's linkcert directives (standard_config adds the zone, the
# store, the key and "linkcert on"): the primary (the first Pebble), the
# backup with EAB, and $more
$t->placeholder(BACKUP => $B_URL, KID => $KID, EAB_KEY => $eab_file);
my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
    linkcert_acme_directory %%BACKUP%% backup
                            eab_kid=%%KID%% eab_key=%%EAB_KEY%%;
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

sub issued_by {
    my ($pebble, $d) = @_;
    my $hs = $pebble->verified_handshake($d);
    return $hs->{ok} ? 1 : 0;
}


###########################################################################
# 1. both up: the primary issues

my $r = $t->verify($UP);
is($r->{status}, 202, "POST $UP: 202") or diag($r->{raw});

my ($j, $ok) = $primary->wait_issued($UP, 25);
ok($ok, "$UP issued") or diag(explain $j), diag($primary->notices);
is($j->{ca}, $P_URL, "$UP: status \"ca\" is the primary's directory");
ok(issued_by($primary, $UP), "$UP: the handshake verifies against the "
   . "primary's root");
ok(!issued_by($backup, $UP), "$UP: ... not against the backup's");
is($primary->order_count, 1, 'one order at the primary');
is($backup->order_count, 0, 'none at the backup');

ok($backup->wait_log(qr/There are now \d+ accounts in memory/, 5),
   'the backup account was registered at start, with EAB')
    or diag($backup->log_since_start), diag($primary->notices);

my $bkey = "$store/account/backup-localhost-" . $backup->port . '.key';
ok(-f "$store/account/account.key", 'the primary\'s account.key');
ok(-f $bkey, "the backup's key: account/backup-localhost-<port>.key")
    or diag(`ls -l $store/account`);
is(sprintf('%04o', (stat $bkey)[2] & 07777), '0600', '... mode 0600');
isnt(LinkCert::Test::_read_file($bkey) // '',
     LinkCert::Test::_read_file("$store/account/account.key") // 'x',
     'the two accounts have different keys');


###########################################################################
# 2. the primary stopped: the backup issues at once

$primary->stop;
my $mark = length $t->error_log;
my $t0 = time;

$r = $t->verify($DOWN);
is($r->{status}, 202, "POST $DOWN: 202") or diag($r->{raw});

($j, $ok) = $backup->wait_issued($DOWN, 30);
ok($ok, sprintf("$DOWN issued with the primary down (%.1f s)", time - $t0))
    or diag(explain $j), diag($backup->notices);
is($j->{ca}, $B_URL, "$DOWN: status \"ca\" is the backup's directory");
is($j->{last_error}, undef, "$DOWN: last_error null");
ok(issued_by($backup, $DOWN),
   "$DOWN: the handshake verifies against the backup's root");
ok(!issued_by($primary, $DOWN), "$DOWN: ... not against the primary's");
my ($vok, $out) = $backup->openssl_verify("$store/domains/$DOWN/fullchain.pem");
ok($vok, "$DOWN: fullchain.pem verifies with the backup's root") or diag($out);
is($backup->order_count, 1, 'one order at the backup');

my $log = substr($t->error_log, $mark);
like($log, qr/linkcert: "\Q$DOWN\E": no answer at "\Q$P_URL\E", the next order goes to "\Q$B_URL\E", now/,
     'the log says why the backup was asked');
like($log, qr/linkcert: "\Q$DOWN\E" is ordered from the backup CA "\Q$B_URL\E"/,
     'and that the order went to the backup');

is($t->status_of($UP)->{json}{ca}, $P_URL,
   "$UP: still shows the primary, which issued it");


###########################################################################
# 3. the primary back: the renewal goes to the primary first

$primary->start;
my $issued_before = $primary->issued_count;
my $serial = $j->{certificate}{serial};

$t->write_config(config("    linkcert_renew_at 0%;\n"));
$t->reload;

($j, $ok) = $t->wait_status($DOWN, sub {
    ($_[0]{certificate}{serial} // '') ne $serial
        && $_[0]{stage} eq 'issued'
}, 30);
ok($ok, "$DOWN renewed") or diag(explain $j), diag($primary->notices);
is($j->{ca}, $P_URL, "$DOWN: renewed by the primary");
ok(issued_by($primary, $DOWN),
   "$DOWN: the handshake now verifies against the primary's root");
cmp_ok($primary->issued_count, '>', $issued_before,
       'the primary issued again');
is($backup->order_count, 1, 'still one order at the backup');

$t->no_crash_ok;

done_testing;
