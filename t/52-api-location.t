#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# linkcert_api: the keyed API in a location of an internal listener,
# answered in the content phase, so that the location's access rules
# apply: allow/deny (403 from nginx, before the key is looked at),
# limit_req (the second request within the minute refused), auth_request
# (the subrequest decides).  The resources below the location's name
# (?domain=D GET/POST/DELETE, domains, metrics), the key still required,
# no public Host answer there, unknown resources and methods; the
# configuration errors ([emerg] without linkcert_api_key, without a
# "linkcert on" server, in a regex location, twice).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;

my $t = LinkCert::Test->new;

my $D = 'links.example.test';
my $GONE = 'gone.example.test';
$t->store_domain($D);
$t->store_domain($GONE);

my $internal = <<'EOF';
    server {
        listen 127.0.0.1:%%PORT_2%%;
        server_name internal;

        location /linkcert/ {
            allow 127.0.0.1;
            deny all;
            linkcert_api;
        }

        location /elsewhere/ {
            allow 127.0.0.2;
            deny all;
            linkcert_api;
        }

        location /limited/ {
            limit_req zone=api nodelay;
            limit_req_status 429;
            linkcert_api;
        }

        location /authed {
            auth_request /auth;
            linkcert_api;
        }

        location = /auth {
            internal;
            if ($http_x_let_in) {
                return 204;
            }
            return 403;
        }

        location / {
            return 200 "internal\n";
        }
    }
EOF

my $limit = 'limit_req_zone $binary_remote_addr zone=api:1m rate=1r/m;';


###########################################################################
# configuration errors (nginx -t, before anything runs)

sub emerg_of {
    my (%opts) = @_;
    $t->write_config($t->standard_config(http => $limit, %opts));
    my ($rc, $out) = $t->test_config;
    return $rc ? $out : "nginx -t passed:\n$out";
}

subtest 'configuration errors' => sub {
    my $out = emerg_of(api_key => undef, servers => $internal);
    like($out, qr/\[emerg\].*"linkcert_api" in \S+nginx\.conf:\d+ requires the "linkcert_api_key"/,
         'without linkcert_api_key: [emerg] naming linkcert_api and where');

    $out = emerg_of(linkcert => undef, servers => $internal);
    like($out, qr/\[emerg\].*"linkcert_api" in \S+nginx\.conf:\d+ requires a server with "linkcert on"/,
         'without a "linkcert on" server: [emerg]');

    $out = emerg_of(servers => <<'EOF');
    server {
        listen 127.0.0.1:%%PORT_2%%;
        location ~ ^/api { linkcert_api; }
    }
EOF
    like($out, qr/\[emerg\].*"linkcert_api" cannot be used in location "\^\/api"/,
         'in a regex location: [emerg] with the location');

    $out = emerg_of(servers => <<'EOF');
    server {
        listen 127.0.0.1:%%PORT_2%%;
        location /api/ { linkcert_api; linkcert_api; }
    }
EOF
    like($out, qr/\[emerg\].*"linkcert_api" directive is duplicate/, 'twice: [emerg]');

    $out = emerg_of(servers => <<'EOF');
    server {
        listen 127.0.0.1:%%PORT_2%%;
        linkcert_api;
    }
EOF
    like($out, qr/\[emerg\].*"linkcert_api" directive is not allowed here/,
         'in a server block: [emerg]');

    $out = emerg_of(servers => $internal);
    like($out, qr/^nginx -t passed/, 'the good configuration passes') or diag($out);
};


###########################################################################

$t->write_config($t->standard_config(http => $limit, servers => $internal));
$t->run;

my %in = (port => 2, host => 'internal');

subtest 'the resources below /linkcert/' => sub {
    my $r = $t->http(GET => "/linkcert/?domain=$D", key => 1, %in);
    is($r->{status}, 200, 'GET ?domain=: 200') or diag($r->{raw});
    like($r->{headers}{'content-type'} // '', qr{^application/json\b}, 'JSON');
    like($r->{headers}{'cache-control'} // '', qr/\bno-store\b/, 'no-store');
    is($r->{json}{domain}, $D, 'the domain');
    is($r->{json}{status}, 'issued', 'issued');
    my $public = $t->status_of($D)->{json} // {};
    cmp_ok(scalar keys %$public, '>=', 10, 'the public path: a full object');
    is_deeply([ sort keys %{ $r->{json} // {} } ], [ sort keys %$public ],
              'the full object, as on the public path');

    $r = $t->http(GET => '/linkcert/domains?status=issued', key => 1, %in);
    is($r->{status}, 200, 'GET domains: 200');
    is_deeply([ map { $_->{domain} } @{ $r->{json}{domains} // [] } ],
              [ sort $GONE, $D ], 'the issued domains');

    $r = $t->http(GET => '/linkcert/metrics', key => 1, %in);
    is($r->{status}, 200, 'GET metrics: 200');
    like($r->{headers}{'content-type'} // '', qr{^text/plain; version=0\.0\.4},
         'Prometheus text');
    like($r->{body}, qr/^linkcert_domains\{status="issued"\} 2$/m,
         'linkcert_domains{status="issued"} 2');

    $r = $t->http(POST => "/linkcert/?domain=$D", key => 1, %in);
    is($r->{status}, 409, 'POST ?domain=: reaches "Verify domain" (409 no_target: '
       . 'no target configured)');
    is($r->{json}{error}, 'no_target', 'no_target');

    $r = $t->http(DELETE => "/linkcert/?domain=$GONE", key => 1, %in);
    is($r->{status}, 200, 'DELETE ?domain=: 200');
    is($r->{json}{domain}, $GONE, 'its last state');
    $r = $t->http(GET => "/linkcert/?domain=$GONE", key => 1, %in);
    is($r->{json}{status}, 'unknown', 'then unknown');

    $r = $t->http(HEAD => '/linkcert/metrics', key => 1, %in);
    is($r->{status}, 200, 'HEAD metrics: 200');
    is($r->{body}, '', 'no body');
};

subtest 'the key is still required' => sub {
    for my $path ("/linkcert/?domain=$D", '/linkcert/domains',
                  '/linkcert/metrics')
    {
        my $r = $t->http(GET => $path, %in);
        is($r->{status}, 401, "GET $path without the key: 401");
        is($r->{json}{error}, 'unauthorized', 'unauthorized');
        like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/, 'WWW-Authenticate');
        $r = $t->http(GET => $path, key => 'wrong', %in);
        is($r->{status}, 401, 'with a wrong key: 401');
    }
    my $r = $t->http(POST => "/linkcert/?domain=$D", %in);
    is($r->{status}, 401, 'POST without the key: 401');
    $r = $t->http(DELETE => "/linkcert/?domain=$D", %in);
    is($r->{status}, 401, 'DELETE without the key: 401');
    $r = $t->http(GET => "/linkcert/?domain=$D", %in);
    unlike($r->{body}, qr/issued/, 'nothing about the domain without the key');
};

subtest 'no public answer, unknown resources, methods' => sub {
    my $r = $t->http(GET => '/linkcert/', %in, host => $D);
    is($r->{status}, 401, 'GET without ?domain= nor key: 401 (no Host answer)');
    $r = $t->http(GET => '/linkcert/', key => 1, %in, host => $D);
    is($r->{status}, 400, 'GET without ?domain=, with the key: 400');
    is($r->{json}{error}, 'invalid_domain', 'invalid_domain');
    like($r->{json}{detail} // '', qr/domain=/, 'the detail says ?domain= is needed');

    $r = $t->http(GET => '/linkcert/other', key => 1, %in);
    is($r->{status}, 404, 'an unknown resource: 404');
    is($r->{json}{error}, 'not_found', 'not_found');

    $r = $t->http(PUT => "/linkcert/?domain=$D", key => 1, %in);
    is($r->{status}, 405, 'PUT: 405');
    is($r->{headers}{allow}, 'GET, HEAD, POST, DELETE', 'Allow');
    $r = $t->http(POST => '/linkcert/metrics', key => 1, %in);
    is($r->{status}, 405, 'POST metrics: 405');
    is($r->{headers}{allow}, 'GET, HEAD', 'Allow: GET, HEAD');

    $r = $t->http(GET => '/', %in);
    is($r->{body}, "internal\n", 'the other locations are untouched');
};

subtest 'allow and deny' => sub {
    for my $path ("/elsewhere/?domain=$D", '/elsewhere/metrics') {
        my $r = $t->http(GET => $path, key => 1, %in);
        is($r->{status}, 403, "GET $path (allow 127.0.0.2; deny all), with the key: 403");
        is($r->{json}, undef, "nginx's own page, not the API");
        unlike($r->{body}, qr/linkcert_|issued/, 'nothing of the API');
    }
    my $r = $t->http(POST => "/elsewhere/?domain=$D", key => 1, %in);
    is($r->{status}, 403, 'POST: 403');
    $r = $t->http(DELETE => "/elsewhere/?domain=$D", key => 1, %in);
    is($r->{status}, 403, 'DELETE: 403');
    $r = $t->http(GET => "/elsewhere/?domain=$D", %in);
    is($r->{status}, 403, 'without the key: 403 too (deny comes first)');
    $r = $t->status_of($D, port => 2);
    isnt($r->{status}, 403, 'the same listener, another location: not denied');
};

subtest 'limit_req' => sub {
    my $r = $t->http(GET => "/limited/?domain=$D", key => 1, %in);
    is($r->{status}, 200, 'the first request: 200');
    is($r->{json}{domain}, $D, 'the API answers');
    $r = $t->http(GET => '/limited/metrics', key => 1, %in);
    is($r->{status}, 429, 'the second within the minute: 429 (limit_req_status)');
    unlike($r->{body}, qr/linkcert_/, 'no metrics');
    $r = $t->http(GET => "/linkcert/?domain=$D", key => 1, %in);
    is($r->{status}, 200, 'another location without limit_req: 200');
};

subtest 'auth_request' => sub {
    my $r = $t->http(GET => "/authed/?domain=$D", key => 1, %in);
    is($r->{status}, 403, 'the subrequest says 403: 403');
    $r = $t->http(GET => "/authed/?domain=$D", key => 1, %in,
                  headers => [ 'X-Let-In' => 1 ]);
    is($r->{status}, 200, 'the subrequest says 204: 200');
    is($r->{json}{domain}, $D, 'the API answers');
    $r = $t->http(GET => '/authed/metrics', %in, headers => [ 'X-Let-In' => 1 ]);
    is($r->{status}, 401, 'let in without the key: 401');
};

subtest 'the public path keeps the keyed forms (linkcert_api_public on)' => sub {
    my $r = $t->status_of($D);
    is($r->{status}, 200, 'GET /.well-known/ssl-status?domain=: 200');
    $r = $t->http(GET => '/.well-known/ssl-status/metrics', key => 1);
    is($r->{status}, 200, 'metrics: 200');
};

$t->no_crash_ok;

done_testing;
