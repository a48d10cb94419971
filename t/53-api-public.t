#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# /.well-known/ssl-status answers after the access phase of the location
# it falls in, and the keyed forms can be turned off on the public
# servers (linkcert_api_public off):
#
#   - "deny all" on the public server: every form of the path is refused
#     (403 from nginx), the public Host GET too, over HTTP and HTTPS; the
#     CRM goes through a linkcert_api location on an internal listener,
#     and the CA's HTTP-01 validation still reaches the edge (the
#     challenge answers before the access phase): a domain is issued and
#     served by SNI;
#   - "location /.well-known/ssl-status { deny ...; }": the same, the other
#     locations untouched;
#   - linkcert_api_public off: the public Host GET answers, the keyed forms
#     are 404 (not 401: the key is not looked at) and POST/DELETE 405;
#   - a server-level "return" and a location's "return" still do not take
#     the path (as before: the rewrite phases are skipped for it).

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
my $D = 'links.customer.test';
my $IMP = 'imported.customer.test';
my $STATUS = '/.well-known/ssl-status';

$t->challtestsrv;
$t->set_cname($_, $TARGET) for $D, $IMP;    # a re-check keeps $IMP issued
$t->add_a($TARGET, ['127.0.0.1']);
$t->store_domain($IMP);

$pebble->start;

my $servers = <<'EOF';
    server {
        listen 127.0.0.1:%%PORT_2%%;
        server_name internal;

        location /linkcert/ {
            allow 127.0.0.1;
            deny all;
            linkcert_api;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_3%%;
        server_name _;
        linkcert on;
        linkcert_api_public off;

        location / {
            return 200 "tracker\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT_4%%;
        server_name _;
        linkcert on;

        location /.well-known/ssl-status {
            allow 127.0.0.2;
            deny all;
        }

        location / {
            return 200 "tracker\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT_5%%;
        server_name _;
        linkcert on;
        return 301 https://elsewhere.test/;
    }
EOF

$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    server => '        deny all;',
    servers => $servers,
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

my %in = (port => 2, host => 'internal');


###########################################################################

subtest '"deny all" on the public server' => sub {
    for my $https (0, 1) {
        my $over = $https ? 'HTTPS' : 'HTTP';
        my @h = (host => $IMP, ($https ? (https => 1) : ()));
        my $r = $t->http(GET => $STATUS, @h);
        is($r->{status}, 403, "$over: the public Host GET: 403");
        is($r->{json}, undef, "nginx's page, not the API");
        for my $path ("$STATUS?domain=$IMP", "$STATUS/domains",
                      "$STATUS/metrics")
        {
            $r = $t->http(GET => $path, key => 1, @h);
            is($r->{status}, 403, "$over: GET $path with the key: 403");
            unlike($r->{body}, qr/issued|linkcert_/, 'nothing of the API');
        }
        $r = $t->http(POST => "$STATUS?domain=$D", key => 1, @h);
        is($r->{status}, 403, "$over: POST with the key: 403");
        $r = $t->http(DELETE => "$STATUS?domain=$IMP", key => 1, @h);
        is($r->{status}, 403, "$over: DELETE with the key: 403");
    }

    my $r = $t->http(GET => "/linkcert/?domain=$IMP", key => 1, %in);
    is($r->{json}{status}, 'issued', "$IMP is still there (the DELETEs were refused)");
};

subtest 'the CRM on the internal listener; HTTP-01 through "deny all"' => sub {
    my $r = $t->http(POST => "/linkcert/?domain=$D", key => 1, %in);
    is($r->{status}, 202, 'POST /linkcert/?domain=: 202') or diag($r->{raw});

    my ($j, $deadline) = (undef, time + 20);
    while (time < $deadline) {
        $r = $t->http(GET => "/linkcert/?domain=$D", key => 1, %in);
        $j = $r->{json};
        last if ($j->{stage} // '') =~ /^(?:issued|failed)$/;
        sleep 0.1;
    }
    is($j->{status}, 'issued', 'issued: the CA validated HTTP-01 on the '
       . '"deny all" server') or diag(explain $j), diag($pebble->notices);
    is($t->handshake($D), $j->{certificate}{sha256},
       'the handshake presents it') if $j->{certificate};
};

subtest 'a location /.well-known/ssl-status with deny' => sub {
    my $r = $t->http(GET => $STATUS, host => $IMP, port => 4);
    is($r->{status}, 403, 'the public Host GET: 403');
    $r = $t->http(GET => "$STATUS?domain=$IMP", key => 1, port => 4);
    is($r->{status}, 403, 'GET ?domain= with the key: 403');
    $r = $t->http(GET => "$STATUS/metrics", key => 1, port => 4);
    is($r->{status}, 403, 'metrics with the key: 403');
    $r = $t->http(GET => '/', host => $IMP, port => 4);
    is($r->{body}, "tracker\n", 'the other locations: untouched');
};

subtest 'linkcert_api_public off' => sub {
    my %p = (port => 3);
    my $r = $t->http(GET => $STATUS, host => $IMP, %p);
    is($r->{status}, 200, 'the public Host GET: 200');
    is_deeply([ sort keys %{ $r->{json} // {} } ],
              [ qw(certificate domain status) ], 'the public object');
    is($r->{json}{status}, 'issued', 'issued');
    $r = $t->http(HEAD => $STATUS, host => $IMP, %p);
    is($r->{status}, 200, 'HEAD: 200');

    for my $path ("$STATUS?domain=$IMP", "$STATUS/domains", "$STATUS/metrics") {
        for my $key (1, undef) {
            $r = $t->http(GET => $path, host => $IMP, key => $key, %p);
            is($r->{status}, 404, "GET $path " . ($key ? 'with' : 'without')
               . ' the key: 404');
            is($r->{json}{error}, 'not_found', 'not_found');
            like($r->{json}{detail} // '', qr/linkcert_api_public off/,
                 'the detail names linkcert_api_public off');
            ok(!exists $r->{headers}{'www-authenticate'}, 'no WWW-Authenticate');
            unlike($r->{body}, qr/linkcert_domains|"stage"/, 'nothing of the API');
        }
    }

    $r = $t->http(POST => "$STATUS?domain=$D", key => 1, %p);
    is($r->{status}, 404, 'POST ?domain= with the key: 404');
    $r = $t->http(DELETE => "$STATUS?domain=$IMP", key => 1, %p);
    is($r->{status}, 404, 'DELETE ?domain= with the key: 404');
    $r = $t->http(POST => $STATUS, key => 1, %p);
    is($r->{status}, 405, 'POST without ?domain=: 405');
    is($r->{headers}{allow}, 'GET, HEAD', 'Allow: GET, HEAD');
    $r = $t->http(GET => "/linkcert/?domain=$IMP", key => 1, %in);
    is($r->{json}{status}, 'issued', "$IMP is still there");
};

subtest '"return" does not take the path' => sub {
    my $r = $t->http(GET => $STATUS, host => $IMP, port => 5);
    is($r->{status}, 200, 'a server-level return: the public GET still 200');
    is($r->{json}{status}, 'issued', 'the API answers');
    $r = $t->http(GET => "$STATUS/metrics", key => 1, port => 5);
    is($r->{status}, 200, 'and the keyed forms');
    $r = $t->http(GET => '/other', port => 5);
    is($r->{status}, 301, 'other paths: the return');

    $r = $t->http(GET => $STATUS, host => $IMP, port => 3);
    is($r->{json}{status}, 'issued', 'a location\'s return: the API answers');
};

$t->no_crash_ok;

done_testing;
