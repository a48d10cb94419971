#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Configuration of DNS verification: linkcert_cname_target,
# linkcert_target_address, linkcert_resolver and linkcert_caa_identity.
# Valid forms pass nginx -t; each broken config differs from a working one
# by one directive and fails with an [emerg] line naming the directive and
# the offending value.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Config qw(config_ok config_fails);

my $t = LinkCert::Test->new;

# extra http lines => what the [emerg] line must contain
my @cases = (
    [ 'linkcert_resolver 300.1.1.1',
      'linkcert_resolver 300.1.1.1;',
      [ qr/linkcert_resolver/, qr/300\.1\.1\.1/ ] ],
    [ 'linkcert_resolver with a port out of range',
      'linkcert_resolver 127.0.0.1:70000;',
      [ qr/linkcert_resolver/, qr/127\.0\.0\.1:70000/ ] ],
    [ 'linkcert_resolver given a name',
      'linkcert_resolver dns.example.test;',
      [ qr/linkcert_resolver/, qr/dns\.example\.test/,
        qr/an IP address is required/ ] ],
    [ 'linkcert_resolver timeout=abc',
      'linkcert_resolver 127.0.0.1 timeout=abc;',
      [ qr/linkcert_resolver/, qr/timeout=abc/ ] ],
    [ 'linkcert_resolver attempts=0',
      'linkcert_resolver 127.0.0.1 attempts=0;',
      [ qr/linkcert_resolver/, qr/attempts=0/ ] ],
    [ 'linkcert_resolver attempts=x',
      'linkcert_resolver 127.0.0.1 attempts=x;',
      [ qr/linkcert_resolver/, qr/attempts=x/ ] ],
    [ 'linkcert_resolver without an address',
      'linkcert_resolver timeout=1s;',
      [ qr/linkcert_resolver/ ] ],
    [ 'linkcert_cname_target bad_name',
      'linkcert_cname_target bad_name;',
      [ qr/linkcert_cname_target/, qr/bad_name/ ] ],
    [ 'linkcert_cname_target with a bad second name',
      'linkcert_cname_target edge.crm.test -edge.crm.test;',
      [ qr/linkcert_cname_target/, qr/-edge\.crm\.test/ ] ],
    [ 'linkcert_target_address 1.2.3',
      'linkcert_target_address 1.2.3;',
      [ qr/linkcert_target_address/, qr/1\.2\.3/ ] ],
    [ 'linkcert_target_address a name',
      'linkcert_target_address edge.crm.test;',
      [ qr/linkcert_target_address/, qr/edge\.crm\.test/ ] ],
    [ 'linkcert_target_address with a bad IPv6 address',
      'linkcert_target_address 127.0.0.1 2001:db8:::1;',
      [ qr/linkcert_target_address/, qr/2001:db8:::1/ ] ],
    [ 'linkcert_caa_identity bad_ca',
      'linkcert_caa_identity bad_ca;',
      [ qr/linkcert_caa_identity/, qr/bad_ca/ ] ],
    [ 'linkcert_caa_identity with a leading hyphen',
      'linkcert_caa_identity -letsencrypt.org;',
      [ qr/linkcert_caa_identity/, qr/-letsencrypt\.org/ ] ],
    [ 'linkcert_renew_at 100%',
      'linkcert_renew_at 100%;',
      [ qr/linkcert_renew_at/, qr/100%/, qr/0% to 99%/ ] ],
    [ 'linkcert_renew_at 67',
      'linkcert_renew_at 67;',
      [ qr/linkcert_renew_at/, qr/"67"/ ] ],
    [ 'linkcert_order_rate 0/h',
      "linkcert_cname_target edge.crm.test;\nlinkcert_order_rate 0/h;",
      [ qr/linkcert_order_rate/, qr{0/h}, qr{100/h} ] ],
    [ 'linkcert_order_rate 100',
      "linkcert_cname_target edge.crm.test;\nlinkcert_order_rate 100;",
      [ qr/linkcert_order_rate/, qr/"100"/ ] ],
    [ 'linkcert_on_demand yes',
      "linkcert_cname_target edge.crm.test;\nlinkcert_on_demand yes;",
      [ qr/linkcert_on_demand/, qr/yes/, qr/expected "off" or "dns"/ ] ],
    [ 'linkcert_key_type rsa4096',
      "linkcert_key_type rsa4096;",
      [ qr/linkcert_key_type/, qr/"rsa4096"/,
        qr/expected "ec256" or "rsa2048"/ ] ],
    [ 'linkcert_ask ftp://',
      "linkcert_ask ftp://ask.crm.test/;",
      [ qr/linkcert_ask/, qr{ftp://ask\.crm\.test/} ] ],
    [ 'linkcert_on_demand dns without targets',
      "linkcert_on_demand dns;",
      [ qr/linkcert_on_demand dns/, qr/linkcert_cname_target/,
        qr/linkcert_target_address/ ] ],
    [ 'linkcert_on_demand dns without linkcert_acme_directory',
      "linkcert_cname_target edge.crm.test;\nlinkcert_on_demand dns;",
      [ qr/linkcert_on_demand dns/, qr/requires "linkcert_acme_directory"/ ] ],
    [ 'linkcert_on_demand dns without ACME',
      "linkcert_cname_target edge.crm.test;\nlinkcert_on_demand dns;\n"
      . "linkcert_acme_directory off;",
      [ qr/linkcert_on_demand dns/, qr/linkcert_acme_directory off/ ] ],
    [ 'linkcert_hold -1',
      "linkcert_hold -1;",
      [ qr/linkcert_hold/, qr/-1/ ] ],
    [ 'linkcert_negative_ttl 0',
      "linkcert_negative_ttl 0;",
      [ qr/linkcert_negative_ttl/ ] ],
    [ 'linkcert_registered_domain_limit x',
      "linkcert_registered_domain_limit x;",
      [ qr/linkcert_registered_domain_limit/, qr/"x"/ ] ],
);

config_ok($t, 'all four directives',
          "linkcert_cname_target edge.crm.test EDGE2.crm.test.;\n"
          . "linkcert_target_address 127.0.0.1 192.0.2.1 ::1 2001:db8::1;\n"
          . "linkcert_resolver 127.0.0.1:5353 127.0.0.2 timeout=1s attempts=2;\n"
          . "linkcert_caa_identity pki.goog;\n");
config_ok($t, 'linkcert_resolver with defaults',
          "linkcert_cname_target edge.crm.test;\n"
          . "linkcert_resolver 127.0.0.1;\n");
config_ok($t, 'linkcert_resolver timeout=500ms attempts=5',
          "linkcert_cname_target edge.crm.test;\n"
          . "linkcert_resolver 127.0.0.1:53 timeout=500ms attempts=5;\n");
config_ok($t, 'linkcert_resolver with an IPv6 address and port',
          "linkcert_cname_target edge.crm.test;\n"
          . "linkcert_resolver [::1]:5353 timeout=2s;\n");
config_ok($t, 'only linkcert_target_address',
          "linkcert_target_address 127.0.0.1;\n");
config_ok($t, 'no DNS directives at all (default resolver)', '');
config_ok($t, 'the on-demand directives',
          "linkcert_cname_target edge.crm.test;\n"
          . "linkcert_on_demand dns;\n"
          . "linkcert_acme_directory https://127.0.0.1:9/dir;\n"
          . "linkcert_ask http://127.0.0.1:9/ask?key=1;\n"
          . "linkcert_hold 0;\n"
          . "linkcert_order_rate 300/h;\n"
          . "linkcert_registered_domain_limit 0;\n"
          . "linkcert_negative_ttl 1m;\n"
          . "linkcert_redirect_https on;\n"
          . "linkcert_renew_at 0%;\n");

for my $case (@cases) {
    my ($name, $http, $patterns) = @$case;
    config_fails($t, $name, $http, @$patterns);
}

# HTTP-01 comes on port 80: a "linkcert on" server only on TLS listeners
# is told about at nginx -t
subtest 'issuance without a plain-HTTP listener: a warning' => sub {
    my $acme = "linkcert_cname_target edge.crm.test;\n"
             . "linkcert_acme_directory https://127.0.0.1:9/dir;\n";
    my $conf = $t->standard_config(http => $acme);
    $conf =~ s/^\s*listen 127\.0\.0\.1:%%PORT_1%%;\n//m or die 'no listen';
    $t->write_config($conf);
    my ($rc, $out) = $t->test_config;
    is($rc, 0, 'nginx -t succeeds') or diag($out);
    like($out, qr/\[warn\].*no "linkcert on" server listens without "ssl".*HTTP-01/,
         'it warns that HTTP-01 cannot reach the edge') or diag($out);

    $t->write_config($t->standard_config(http => $acme));
    ($rc, $out) = $t->test_config;
    unlike($out, qr/listens without "ssl"/,
           'with a plain-HTTP listener: no warning') or diag($out);
};

# the fallback certificate must be one certificate, not a variable
subtest 'error: ssl_certificate with variables in a linkcert on server' => sub {
    my $conf = $t->standard_config;
    $conf =~ s/ssl_certificate fallback\.crt;/ssl_certificate \$ssl_server_name.crt;/
        or die 'no ssl_certificate';
    $t->write_config($conf);
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, 'nginx -t fails');
    like($out, qr/\[emerg\].*"linkcert on" in \S+:\d+ needs a static "ssl_certificate"/,
         'naming the server\'s file and line') or diag($out);
};

# no CA unless one is named: nginx -t says how to name one
subtest 'no linkcert_acme_directory: a warning, not a production CA' => sub {
    $t->write_config($t->standard_config(
        http => "linkcert_cname_target edge.crm.test;\n"));
    my ($rc, $out) = $t->test_config;
    is($rc, 0, 'nginx -t succeeds') or diag($out);
    like($out, qr/\[warn\].*no "linkcert_acme_directory".*no certificate is ordered.*acme-staging-v02\.api\.letsencrypt\.org.*acme-v02\.api\.letsencrypt\.org/,
         'it warns, naming the staging then the production directory')
        or diag($out);

    $t->write_config($t->standard_config(http => ''));
    ($rc, $out) = $t->test_config;
    unlike($out, qr/linkcert_acme_directory/,
           'without DNS verification (an import-only edge): no warning')
        or diag($out);
};

subtest 'error: linkcert_resolver in a server block' => sub {
    $t->write_config($t->standard_config(
        server => "        linkcert_resolver 127.0.0.1;\n"));
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, 'nginx -t fails');
    like($out, qr/\[emerg\].*"linkcert_resolver" directive is not allowed here/,
         'not allowed here') or diag($out);
};

subtest 'a broken directive does not stop a running nginx' => sub {
    # a resolver on loopback that never answers: nothing leaves the host
    $t->write_config($t->standard_config(
        http => "linkcert_cname_target edge.crm.test;\n"
                . "linkcert_resolver 127.0.0.1:%%SILENT%%;\n"));
    ok(eval { $t->run; 1 }, 'nginx runs with a valid config')
        or return diag($@);

    $t->write_config($t->standard_config(
        http => "linkcert_cname_target bad_name;\n"
                . "linkcert_resolver 127.0.0.1:%%SILENT%%;\n"));
    my $offset = length $t->error_log;
    kill 'HUP', $t->master_pid;

    my $deadline = time + 10;
    my $new = '';
    until ($new =~ /\[emerg\]/ || time > $deadline) {
        select undef, undef, undef, 0.1;
        $new = substr $t->error_log, $offset;
    }
    my ($emerg) = $new =~ /^(.*\[emerg\].*)$/m;
    like($emerg // '', qr/linkcert_cname_target/,
         'the reload is refused with an [emerg] naming the directive');
    like($emerg // '', qr/bad_name/, 'and the value');
    ok($t->running, 'nginx still runs');
    is($t->http(GET => '/')->{body}, "tracker\n", 'and answers');
    $t->stop;
};

done_testing;
