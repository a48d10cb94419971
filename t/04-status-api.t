#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The status API: the public (Host) and full (?domain=, key) objects,
# authentication, methods, unknown paths, domain validation, and the key
# never reaching the error log.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;

my $t = LinkCert::Test->new;
my $RFC3339 = LinkCert::Test::rfc3339_re();
my $STATUS = '/.well-known/ssl-status';

my ($chain) = $t->store_domain('links.example.test');
my $fp = $t->fingerprint_of_file($chain);
my ($not_before, $not_after) = $t->dates_of_file($chain);

$t->write_config($t->standard_config);
$t->run;


subtest 'public object' => sub {
    my $r = $t->http(GET => $STATUS, host => 'links.example.test');
    is($r->{status}, 200, 'status 200');
    like($r->{headers}{'content-type'} // '', qr{^application/json\b},
         'content-type application/json');
    like($r->{headers}{'cache-control'} // '', qr/\bno-store\b/,
         'Cache-Control: no-store');
    is_deeply($r->{json},
              { domain => 'links.example.test', status => 'issued',
                certificate => { not_before => $not_before,
                                 not_after => $not_after } },
              'exactly domain, status, certificate{not_before,not_after}')
        or diag($r->{body});
};

subtest 'public object: Host variants' => sub {
    my $r = $t->http(GET => $STATUS, host => 'links.example.test:8080');
    is($r->{status}, 200, 'Host with a port: 200');
    is($r->{json}{domain}, 'links.example.test', 'the port is dropped');

    $r = $t->http(GET => $STATUS, host => 'LINKS.Example.test');
    is($r->{json}{domain}, 'links.example.test', 'Host is lowercased');
    is($r->{json}{status}, 'issued', 'and finds the domain');

    $r = $t->http(GET => $STATUS, host => 'nobody.example.test');
    is_deeply($r->{json}, { domain => 'nobody.example.test',
                            status => 'unknown', certificate => undef },
              'unknown domain: status unknown, certificate null');

    $r = $t->http(GET => $STATUS, host => '127.0.0.1');
    is($r->{status}, 400, 'Host 127.0.0.1: 400');
    is($r->{json}{error}, 'invalid_domain', 'error invalid_domain');
    like($r->{json}{detail} // '', qr/\S/, 'with a detail');

    $r = $t->http(GET => $STATUS, host => 'links.example.test', https => 1);
    is($r->{status}, 200, 'over https: 200');
    is($r->{json}{status}, 'issued', 'over https: issued');
};

subtest 'full object' => sub {
    my $r = $t->status_of('links.example.test');
    is($r->{status}, 200, 'status 200');
    like($r->{headers}{'content-type'} // '', qr{^application/json\b},
         'content-type application/json');
    like($r->{headers}{'cache-control'} // '', qr/\bno-store\b/,
         'Cache-Control: no-store');

    my $j = $r->{json} // {};
    is_deeply([ sort keys %$j ],
              [ qw(ca certificate dns domain last_error next_attempt_at
                   renew_at stage status updated_at) ], 'keys') or diag($r->{body});
    is($j->{domain}, 'links.example.test', 'domain');
    is($j->{status}, 'issued', 'status');
    is($j->{stage}, 'issued', 'stage');
    is($j->{dns}, undef, 'dns null');
    is($j->{last_error}, undef, 'last_error null');
    is($j->{next_attempt_at}, undef, 'next_attempt_at null');
    like($j->{updated_at} // '', $RFC3339, 'updated_at is RFC 3339 UTC');

    my $c = $j->{certificate} // {};
    is_deeply([ sort keys %$c ],
              [ qw(issuer not_after not_before serial sha256) ],
              'certificate keys');
    is($c->{not_before}, $not_before, 'not_before');
    is($c->{not_after}, $not_after, 'not_after');
    is($c->{serial}, $t->serial_of_file($chain), 'serial, uppercase hex');
    is($c->{sha256}, $fp, 'sha256 of the store leaf');

    # linkcert_renew_at 67% of the lifetime (no ARI here)
    my ($nb, $na) = map { $t->parse_time($_) } $not_before, $not_after;
    is($t->parse_time($j->{renew_at} // ''),
       $nb + int(($na - $nb) * 67 / 100),
       'renew_at: 67% of the lifetime after not_before');
    is($c->{sha256}, $t->handshake('links.example.test'),
       'sha256 of the served leaf');
    like($c->{issuer} // '', qr/LinkCert Test CA/, 'issuer');

    $r = $t->status_of('links.example.test', https => 1,
                       host => 'links.example.test');
    is($r->{json}{status}, 'issued', 'over https too');
};

subtest 'never-seen domain' => sub {
    my $r = $t->status_of('never.example.test');
    is($r->{status}, 200, 'status 200');
    is_deeply($r->{json},
              { domain => 'never.example.test', status => 'unknown',
                stage => 'none', certificate => undef, dns => undef,
                last_error => undef, next_attempt_at => undef,
                renew_at => undef, updated_at => undef, ca => undef },
              'unknown, stage none, everything else null')
        or diag($r->{body});
};

subtest 'authentication' => sub {
    my $path = "$STATUS?domain=links.example.test";

    for my $case ([ 'no key', key => undef ],
                  [ 'wrong key', key => 'wrong' ],
                  [ 'key with a suffix', key => $t->api_key . 'x' ],
                  [ 'Basic scheme',
                    headers => [ Authorization => 'Basic czNjcmV0LWtleQ==' ] ])
    {
        my ($name, %opts) = @$case;
        my $r = $t->http(GET => $path, %opts);
        is($r->{status}, 401, "$name: 401");
        like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/,
             "$name: WWW-Authenticate: Bearer");
        is($r->{json}{error}, 'unauthorized', "$name: error unauthorized");
        unlike($r->{body}, qr/issued|sha256/, "$name: nothing leaks");
    }

    my $r = $t->http(GET => "$STATUS/domains");
    is($r->{status}, 401, 'the list needs the key too');
};

subtest 'invalid domains' => sub {
    my @bad = ('..', 'a_b.com', join('.', ('a' x 50) x 6), '1.2.3.4',
               "a\0b.com", ('a' x 64) . '.com', 'com', '*.a.com');

    for my $domain (@bad) {
        my $name = length $domain > 40
            ? length($domain) . ' characters' : $domain =~ s/\0/\\0/r;
        my $r = $t->status_of($domain);
        is($r->{status}, 400, "$name: 400");
        is($r->{json}{error}, 'invalid_domain', "$name: invalid_domain");
        like($r->{json}{detail} // '', qr/\S/, "$name: with a detail");
    }

    my $r = $t->http(GET => "$STATUS?domain=a%00b.com", key => 1);
    is($r->{status}, 400, 'a%00b.com as sent: 400');

    # a bad escape is refused, never dropped: "a.test%zz" is not
    # "a.testzz", whatever the method
    for my $method (qw(GET POST DELETE)) {
        for my $arg ('links.example.test%zz', 'links.example.test%',
                     'links.example.test%4', 'links%2xample.test')
        {
            $r = $t->http($method => "$STATUS?domain=$arg", key => 1);
            is($r->{status}, 400, "$method $arg: 400");
            is($r->{json}{error}, 'invalid_domain',
               "$method $arg: invalid_domain");
            is($r->{json}{detail}, 'invalid percent-escape',
               "$method $arg: says why");
        }
    }

    $r = $t->http(GET => "$STATUS?domain=links%2Eexample%2etest", key => 1);
    is($r->{status}, 200, 'a good escape is decoded: 200');
    is($r->{json}{domain}, 'links.example.test', 'to the name');

    $r = $t->status_of('LINKS.Example.TEST.');
    is($r->{status}, 200, 'LINKS.Example.TEST.: 200');
    is($r->{json}{domain}, 'links.example.test', 'normalised');
    is($r->{json}{status}, 'issued', 'and found');
};

subtest 'methods and paths' => sub {
    # POST and DELETE on the status itself are "Verify domain" and the
    # removal of a domain (t/11-verify-api.t, t/3*.t)
    for my $method (qw(PUT PATCH POST DELETE)) {
        for my $path ("$STATUS?domain=links.example.test", "$STATUS/domains")
        {
            next if $method =~ /^(POST|DELETE)$/ && $path !~ m{/domains$};
            my $r = $t->http($method => $path, key => 1, body => '{}',
                             headers => [ 'Content-Type' => 'application/json' ]);
            is($r->{status}, 405, "$method $path: 405");
            like($r->{headers}{allow} // '', qr/\bGET\b/, 'Allow: GET');
            is($r->{json}{error}, 'method_not_allowed',
               'error method_not_allowed');
        }
    }

    my $r = $t->http(GET => "$STATUS/nope", key => 1);
    is($r->{status}, 404, 'unknown subpath: 404');
    like($r->{headers}{'content-type'} // '', qr{^application/json\b},
         'as JSON');
    ok(defined $r->{json}{error}, 'with an error');

    for my $path ('/', '/.well-known/other', "${STATUS}x", '/ssl-status') {
        $r = $t->http(GET => $path, host => 'links.example.test');
        is($r->{body}, "tracker\n", "$path goes to the location");
    }
};

subtest 'the key never reaches the error log' => sub {
    my $secret = $t->api_key;
    my $log = $t->error_log;

    like($log, qr/\[debug\]/, 'the log is at debug level');
    like($log, qr/ssl-status/, 'and saw the API requests');

    # nginx itself dumps every request header at debug level; those
    # lines are not the module's doing
    my @core = grep { /http header: "Authorization: / } split /\n/, $log;
    my @leaks = grep { /\Q$secret\E/ && !/http header: "Authorization: / }
                split /\n/, $log;

    is(scalar @leaks, 0, 'no line of the module contains the key')
        or diag(join "\n", @leaks[0 .. ($#leaks < 4 ? $#leaks : 4)]);
    note(scalar(@core) . ' core "http header" lines carry the header');
};

done_testing;
