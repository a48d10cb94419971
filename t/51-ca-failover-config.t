#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# CA failover: the configuration, a primary that is down when nginx starts,
# and an order of the backup resumed at the backup.
#
#   1. linkcert_acme_directory URL backup [max_fails=N] [eab_kid= eab_key=]:
#      what nginx -t accepts, and an [emerg] naming the directive and the
#      value for each mistake; the single-CA configuration is unchanged
#   2. the primary down from the start (its account cannot be set up):
#      orders go to the backup
#   3. an order of the backup (slowed validation) interrupted by a reload
#      once the primary is up again: order.json names the backup's
#      directory, and the next worker 0 resumes the order there, although
#      the domain's next order would go to the primary, and although the
#      backup's account is set up 3 s later than the primary's (its
#      directory slowed by a LinkCert::StubCA->failing in front of it)
#   4. a primary that answers newOrder rateLimited (a StubCA->failing in
#      front of it), max_fails=2: the first failed order stays at the
#      primary, the second sends the domain's next order to the backup
#      (each order started by a "Verify domain"); a newOrder answered 500
#      goes to the backup at once

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Config qw(config_ok config_fails);
use LinkCert::Pebble;
use LinkCert::StubCA;
use LinkCert::Util qw(write_file);
use JSON::PP;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $prefix = $t->prefix;
my $delay = LinkCert::Pebble::Delay->new($t);
my $primary = LinkCert::Pebble->new($t, http_port => $delay->port,
    env => { PEBBLE_AUTHZREUSE => 0 });
my $backup = LinkCert::Pebble->new($t, name => 'pebble2',
    listener_of => $primary, http_port => $delay->port,
    env => { PEBBLE_AUTHZREUSE => 0 });

my $bproxy = LinkCert::StubCA->failing($backup, name => 'backup_proxy');
my $P_URL = $primary->directory_url;
my $B_URL = $bproxy->url('/dir');

write_file("$prefix/eab.key", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W\n");
write_file("$prefix/eab-bad.key", "not base64url!\n");

my $P = 'linkcert_acme_directory https://ca.test/dir;';
my $B = 'linkcert_acme_directory https://backup.test/dir backup';


###########################################################################
# 1. the configuration

config_ok($t, 'one CA, as before', $P);
config_ok($t, 'a backup', "$P $B;");
config_ok($t, 'a backup before the primary, with every parameter',
          "$B max_fails=5 eab_kid=kid-1 eab_key=$prefix/eab.key; $P");
config_ok($t, 'one CA with EAB, and a backup with its own',
          "$P linkcert_acme_eab kid-0 $prefix/eab.key; "
          . "$B eab_kid=kid-1 eab_key=$prefix/eab.key;");

config_fails($t, 'a backup without a primary', "$B;",
             qr/linkcert_acme_directory/, qr{https://backup\.test/dir},
             qr/requires a primary/);
config_fails($t, 'a backup with the primary off',
             "linkcert_acme_directory off; $B;",
             qr/linkcert_acme_directory/, qr{https://backup\.test/dir});
config_fails($t, 'two primaries',
             "$P linkcert_acme_directory https://other.test/dir;",
             qr/"linkcert_acme_directory" directive is duplicate/);
config_fails($t, 'two backups',
             "$P $B; linkcert_acme_directory https://b2.test/dir backup;",
             qr/linkcert_acme_directory/, qr{https://b2\.test/dir},
             qr{backup already, "https://backup\.test/dir"});
config_fails($t, 'the primary as its own backup',
             "$P linkcert_acme_directory https://ca.test/dir backup;",
             qr/linkcert_acme_directory/, qr{https://ca\.test/dir},
             qr/already the primary/);
config_fails($t, 'a backup that is not https',
             "$P linkcert_acme_directory http://backup.test/dir backup;",
             qr/linkcert_acme_directory/, qr{http://backup\.test/dir});
config_fails($t, 'a parameter that is not "backup"',
             "$P linkcert_acme_directory https://backup.test/dir spare;",
             qr/linkcert_acme_directory/, qr/"spare"/);
config_fails($t, 'an unknown parameter', "$P $B maxfails=3;",
             qr/linkcert_acme_directory/, qr/"maxfails=3"/);
config_fails($t, 'max_fails=0', "$P $B max_fails=0;",
             qr/linkcert_acme_directory/, qr/"max_fails=0"/);
config_fails($t, 'max_fails=x', "$P $B max_fails=x;",
             qr/linkcert_acme_directory/, qr/"max_fails=x"/);
config_fails($t, 'eab_kid without eab_key', "$P $B eab_kid=kid-1;",
             qr/linkcert_acme_directory/, qr{https://backup\.test/dir},
             qr/eab_kid= and eab_key=/);
config_fails($t, 'an eab_key file that does not exist',
             "$P $B eab_kid=kid-1 eab_key=$prefix/missing.key;",
             qr/linkcert_acme_directory/, qr/\Q$prefix\E\/missing\.key/);
config_fails($t, 'an eab_key file that is not base64url',
             "$P $B eab_kid=kid-1 eab_key=$prefix/eab-bad.key;",
             qr/linkcert_acme_directory/, qr/\Q$prefix\E\/eab-bad\.key/,
             qr/base64url/);


###########################################################################
# 2. the primary down from the start: the backup orders

my $TARGET = 'edge.crm.test';
my $START = 'start.customer.test';
my $RESUME = 'resume.customer.test';
my $store = $t->store;

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for $START, $RESUME;

$backup->start;     # the primary is not running: refused

$t->write_config($t->dns_config(workers => 2, log_level => 'info',
    http => $primary->acme_http_lines(extra =>
        "    linkcert_acme_directory $B_URL backup;\n")));
$t->run;

is($t->verify($START)->{status}, 202, "POST $START: 202");
my ($j, $ok) = $backup->wait_issued($START, 25);
ok($ok, "$START issued with the primary down from the start")
    or diag(explain $j), diag($backup->notices);
is($j->{ca}, $B_URL, "$START: status \"ca\" is the backup's directory");
ok($backup->verified_handshake($START)->{ok},
   "$START: verifies against the backup's root");
ok(scalar($backup->error_log_lines(
       qr/linkcert: "\Q$START\E" is ordered from "\Q$B_URL\E": the account at "\Q$P_URL\E" is not set up/)),
   'the log says the primary\'s account is not set up')
    or diag($backup->notices);
ok(scalar($backup->error_log_lines(
       qr/\[error\].*ACME account setup at "\Q$P_URL\E" failed/)),
   'and the primary\'s failed setup is an [error]');


###########################################################################
# 3. an order of the backup is resumed at the backup

$delay->set(4);
my $orders = $backup->order_count;

is($t->verify($RESUME)->{status}, 202, "POST $RESUME: 202");
ok($delay->wait_request($RESUME, 15), 'its validation is under way')
    or diag($backup->notices);

my $saved = eval {
    decode_json(LinkCert::Test::_read_file("$store/domains/$RESUME/order.json"))
} // {};
is($saved->{directory}, $B_URL, 'order.json names the backup\'s directory')
    or diag(explain $saved);
like($saved->{order} // '', qr{^https://localhost:\Q${\ $backup->port }\E/},
     'and the backup\'s order URL');

# the primary is up again before the next worker 0 starts: the domain's
# next order would go there, the saved one stays at the backup, whose
# account is ready 3 s after the primary's
$primary->start;
$bproxy->set('slowdir');
$t->reload;

($j, $ok) = $backup->wait_issued($RESUME, 40);
ok($ok, "$RESUME issued") or diag(explain $j), diag($backup->notices);
is($backup->order_count - $orders, 1, 'with one order at the backup')
    or diag($backup->notices);
is($primary->order_count, 0, 'and none at the primary');
ok(scalar($backup->error_log_lines(
       qr/linkcert: "\Q$RESUME\E" resumes its order at "\Q$B_URL\E"/)),
   'the next worker 0 resumed it at the backup') or diag($backup->notices);
is($j->{ca}, $B_URL, "$RESUME: status \"ca\" is the backup's directory");
ok($backup->verified_handshake($RESUME)->{ok},
   "$RESUME: verifies against the backup's root");
ok(!-e "$store/domains/$RESUME/order.json", 'the saved order is gone');
$delay->set(0);
$bproxy->set('pass');


###########################################################################
# 4. a primary that fails orders: max_fails=2, then the backup

my $proxy = LinkCert::StubCA->failing($primary, fail_orders => 1);
my $X_URL = $proxy->url('/dir');
my $COUNT = 'count.customer.test';
my $FIVE = 'five.customer.test';
$t->set_cname($_, $TARGET) for $COUNT, $FIVE;

$t->write_config($t->dns_config(workers => 2, log_level => 'info',
    http => $primary->acme_http_lines(directory => $X_URL, extra =>
        "    linkcert_acme_directory $B_URL backup max_fails=2;\n")));
$t->reload;
$primary->account_settled;
$proxy->set('ratelimit');
$orders = $backup->order_count;

for my $n (1, 2) {
    my $mark = length $t->error_log;
    my $r = $t->verify($COUNT);
    is($r->{status}, 202, "$COUNT: POST $n: 202") or diag($r->{raw});
    ok($proxy->wait_new_orders($n, 15), "$COUNT: newOrder $n at the primary");
    sleep 1;         # its answer is taken in
    ($j) = $t->wait_status($COUNT, sub {
        ($_[0]{last_error}{type} // '') =~ /rateLimited/
            && $_[0]{stage} eq 'ordering'
    }, 10);
    is($j->{last_error}{type}, 'urn:ietf:params:acme:error:rateLimited',
       "$COUNT: order $n refused by the primary (rateLimited)")
        or diag(explain $j);
    is($j->{ca}, $X_URL, "$COUNT: status \"ca\" is the primary's");
    my $moved = grep { /"\Q$COUNT\E": failed orders at "\Q$X_URL\E", the next order goes to "\Q$B_URL\E"$/ }
                split /\n/, substr($t->error_log, $mark);
    is($moved, $n == 2 ? 1 : 0, $n == 2
       ? "$COUNT: the second failed order sends the next one to the backup"
       : "$COUNT: one failed order does not move it");
    $t->wait_post_limit($COUNT);    # "Verify domain" again after 10 s
}
is($proxy->new_orders, 2, 'two newOrder requests at the primary');
is($backup->order_count, $orders, 'none at the backup yet');

is($t->verify($COUNT)->{status}, 202, "$COUNT: POST 3: 202");
($j, $ok) = $backup->wait_issued($COUNT, 25);
ok($ok, "$COUNT: issued by the third order") or diag(explain $j),
    diag($backup->notices);
is($j->{ca}, $B_URL, "$COUNT: status \"ca\" is the backup's");
ok($backup->verified_handshake($COUNT)->{ok},
   "$COUNT: verifies against the backup's root");
is($proxy->new_orders, 2, 'no third newOrder at the primary');

$proxy->set('500');
is($t->verify($FIVE)->{status}, 202, "POST $FIVE: 202");
($j, $ok) = $backup->wait_issued($FIVE, 25);
ok($ok, "$FIVE: newOrder answered 500 by the primary, issued by the backup")
    or diag(explain $j), diag($backup->notices);
is($j->{ca}, $B_URL, "$FIVE: status \"ca\" is the backup's");
is($proxy->new_orders, 3, 'after one newOrder at the primary');
ok(scalar($backup->error_log_lines(
       qr/linkcert: "\Q$FIVE\E": no answer at "\Q$X_URL\E", the next order goes to "\Q$B_URL\E", now/)),
   'a 5xx is "no answer": the backup at once');

$t->no_crash_ok;
done_testing;
