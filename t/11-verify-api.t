#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# POST /.well-known/ssl-status?domain=D ("Verify domain"): the API key,
# bad names, no target configured (409), the 202 answer, single flight
# while a lookup is in flight, the 10 s rate limit (429 + Retry-After),
# the ignored body and its 4 KB limit (413), other methods (405), an
# issued domain that stays issued, and GET never starting a verification.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $RFC3339 = LinkCert::Test::rfc3339_re();
my $STATUS = '/.well-known/ssl-status';
my $TARGET = 'edge.crm.test';

my @FULL_KEYS = qw(ca certificate dns domain last_error next_attempt_at
                   renew_at stage status updated_at);

$t->challtestsrv;

sub never_seen {
    my ($domain, $what) = @_;
    my $j = $t->status_of($domain)->{json} // {};
    is($j->{stage}, 'none', "$what: $domain still has stage none")
        or diag(explain $j);
    is($j->{updated_at}, undef, "$what: and was never updated");
}


###########################################################################
# neither linkcert_cname_target nor linkcert_target_address: 409

$t->write_config($t->standard_config(http => <<'EOF'));
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;
EOF
$t->run;
sleep 0.3;
$t->no_crash_ok("workers run without crashing");

subtest 'no target configured: 409 no_target' => sub {
    my $r = $t->verify('notarget.v.test');
    is($r->{status}, 409, 'status 409') or diag($r->{raw});
    like($r->{headers}{'content-type'} // '', qr{^application/json\b},
         'as JSON');
    is($r->{json}{error}, 'no_target', 'error no_target');
    like($r->{json}{detail} // '', qr/\S/, 'with a detail');
    never_seen('notarget.v.test', '409');

    $r = $t->verify('notarget.v.test', key => undef);
    is($r->{status}, 401, 'without the key it is still 401');
};

$t->stop;


###########################################################################
# single flight, with a DNS server that never answers

$t->silent_udp;
$t->write_config($t->standard_config(workers => 1, http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%SILENT%% timeout=1s attempts=2;
EOF
$t->run;
sleep 0.3;
$t->no_crash_ok("workers run without crashing");

subtest 'single flight while the lookup is in flight' => sub {
    my $once = $t->verify('once.sf.test');
    my $first = $t->verify('twice.sf.test');
    my $second = $t->verify('twice.sf.test');
    my $third = $t->verify('twice.sf.test');

    is($once->{status}, 202, 'POST once.sf.test: 202');
    is($first->{status}, 202, 'first POST twice.sf.test: 202');
    is($second->{status}, 202, 'second POST, lookup in flight: 202, not 429')
        or diag($second->{body});
    is($third->{status}, 202, 'third POST, lookup in flight: 202');

    my $j = $second->{json} // {};
    is($j->{domain}, 'twice.sf.test', 'the second answer: domain');
    is($j->{status}, 'pending', 'the second answer: status pending');
    is($j->{stage}, 'verifying', 'the second answer: stage verifying');
    ok(defined $j->{message}, 'the second answer has a message');

    # (other queries may come first: wait for this one)
    my @queries;
    my $deadline = time + 3;
    until (grep { $_->{name} =~ /^twice\.sf\.test(?:\.|$)/ } @queries) {
        last if time > $deadline;
        @queries = $t->silent_queries(0.2);
    }
    ok(scalar(grep { $_->{name} =~ /^twice\.sf\.test(?:\.|$)/ } @queries),
       'the silent server got a query for twice.sf.test')
        or diag(explain \@queries);

    my ($ja) = $t->wait_status('once.sf.test',
        sub { ($_->{last_error}{type} // '') eq 'dns_timeout' }, 15);
    my ($jb) = $t->wait_status('twice.sf.test',
        sub { ($_->{last_error}{type} // '') eq 'dns_timeout' }, 15);

    is($ja->{last_error}{type}, 'dns_timeout', 'once.sf.test: dns_timeout')
        or diag(explain $ja);
    is($jb->{last_error}{type}, 'dns_timeout', 'twice.sf.test: dns_timeout')
        or diag(explain $jb);

    # c-ares might still send a retry after the state was written
    sleep 0.5;
    @queries = $t->silent_queries(0.2);
    my $n1 = grep { $_->{name} =~ /^once\.sf\.test(?:\.|$)/ } @queries;
    my $n2 = grep { $_->{name} =~ /^twice\.sf\.test(?:\.|$)/ } @queries;
    note("queries: once.sf.test $n1, twice.sf.test $n2");
    ok($n1 >= 1, "a single POST: $n1 queries");
    is($n2, $n1, 'three POSTs in flight: as many queries as for one POST '
                 . '(one verification)');
};

$t->stop;


###########################################################################
# the rest, against the mock DNS server

$t->set_cname($_, $TARGET)
    for qw(api.v.test again.v.test body.v.test big.v.test
           issued.v.test get.v.test auth.v.test);

my ($chain) = $t->store_domain('issued.v.test');
my $issued_fp = $t->fingerprint_of_file($chain);

$t->write_config($t->standard_config(http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;
EOF
$t->run;
sleep 0.3;
$t->no_crash_ok("workers run without crashing");

# the first POST for the issued domain; the second one comes at the end,
# after the 10 s limit
my $issued_first = $t->status_of('issued.v.test')->{json} // {};
my $issued_post1 = $t->verify('issued.v.test');
my $issued_post1_at = time;

subtest 'authentication' => sub {
    for my $case ([ 'no key', key => undef ],
                  [ 'wrong key', key => 'wrong' ],
                  [ 'Basic scheme', key => undef,
                    headers => [ Authorization => 'Basic czNjcmV0LWtleQ==' ] ])
    {
        my ($name, %opts) = @$case;
        my $r = $t->verify('auth.v.test', %opts);
        is($r->{status}, 401, "$name: 401");
        like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/,
             "$name: WWW-Authenticate: Bearer");
        is($r->{json}{error}, 'unauthorized', "$name: error unauthorized");
    }
    sleep 0.3;
    never_seen('auth.v.test', 'after 401s');
};

subtest 'invalid domains: 400' => sub {
    for my $domain ('a_b.com', '1.2.3.4', 'com', '*.a.com', '..',
                    ('a' x 64) . '.com') {
        my $name = length $domain > 40 ? length($domain) . ' characters'
                                       : $domain;
        my $r = $t->verify($domain);
        is($r->{status}, 400, "$name: 400");
        is($r->{json}{error}, 'invalid_domain', "$name: invalid_domain");
        like($r->{json}{detail} // '', qr/\S/, "$name: with a detail");
    }
};

subtest '202: the full object and a message' => sub {
    my $r = $t->verify('API.v.test.');
    is($r->{status}, 202, 'status 202') or diag($r->{raw});
    like($r->{headers}{'content-type'} // '', qr{^application/json\b},
         'content-type application/json');
    like($r->{headers}{'cache-control'} // '', qr/\bno-store\b/,
         'Cache-Control: no-store');

    my $j = $r->{json} // {};
    is_deeply([ sort keys %$j ], [ sort @FULL_KEYS, 'message' ],
              'the full object\'s keys and "message"') or diag($r->{body});
    is($j->{domain}, 'api.v.test', 'domain, normalised');
    is($j->{status}, 'pending', 'status pending');
    is($j->{stage}, 'verifying', 'stage verifying');
    like($j->{message} // '', qr/^\S.*\s\S/, 'message is a sentence');
    like($j->{updated_at} // '', $RFC3339, 'updated_at is set');
    is($j->{certificate}, undef, 'certificate null');

    my ($done, $ok) = $t->wait_verified('api.v.test', 10);
    ok($ok, 'the verification finishes');
    is($done->{status}, 'pending', 'then: status pending');
    is($done->{stage}, 'ordering', 'then: stage ordering');
    is($done->{dns}{verified}, JSON::PP::true, 'then: dns.verified');
};

subtest 'rate limit: 429 within 10 s of a finished verification' => sub {
    my $r = $t->verify('again.v.test');
    is($r->{status}, 202, 'first POST: 202');
    my ($j, $ok) = $t->wait_verified('again.v.test', 10);
    ok($ok, 'the verification finished');
    is($j->{stage}, 'ordering', 'stage ordering') or diag(explain $j);

    my $checked = $j->{dns}{checked_at};

    $r = $t->verify('again.v.test');
    is($r->{status}, 429, 'second POST: 429') or diag($r->{raw});
    is($r->{json}{error}, 'too_many_requests', 'error too_many_requests');
    like($r->{json}{detail} // '', qr/\S/, 'with a detail');
    my $retry = $r->{headers}{'retry-after'} // '';
    like($retry, qr/^\d+$/, 'Retry-After in seconds');
    ok($retry =~ /^\d+$/ && $retry >= 1 && $retry <= 10,
       "Retry-After between 1 and 10 ($retry)");

    $r = $t->verify('again.v.test');
    is($r->{status}, 429, 'third POST: 429 too');

    sleep 1.2;
    $j = $t->status_of('again.v.test')->{json} // {};
    is($j->{stage}, 'ordering', 'a 429 changes nothing: stage ordering');
    is($j->{dns}{checked_at}, $checked, 'and dns.checked_at is unchanged');

    $r = $t->verify('fresh.v.test');
    is($r->{status}, 202, 'the limit is per domain: another one, 202');
};

# the answer to a new "Verify domain" is about the new check: the error of
# the last one is not shown as if it were current
subtest '202 carries no stale error' => sub {
    $t->set_cname('stale.v.test', 'elsewhere.crm.test');
    is($t->verify('stale.v.test')->{status}, 202, 'first POST: 202');
    my ($j, $ok) = $t->wait_verified('stale.v.test', 10);
    is(($j->{last_error} // {})->{type}, 'dns_mismatch',
       'the CNAME points elsewhere: dns_mismatch') or diag(explain $j);

    $t->set_cname('stale.v.test', $TARGET);
    my $r = $t->verify_again('stale.v.test');
    is($r->{status}, 202, 'POST after the fix: 202') or diag($r->{raw});
    is($r->{json}{stage}, 'verifying', 'stage verifying');
    is($r->{json}{last_error}, undef, 'last_error null, not dns_mismatch')
        or diag(explain $r->{json});

    ($j, $ok) = $t->wait_verified('stale.v.test', 10);
    is($j->{stage}, 'ordering', 'then verified: ordering') or diag(explain $j);
};

subtest 'the body is ignored; over 4 KB: 413' => sub {
    my $r = $t->verify('body.v.test', body => '{"domain":"other.v.test"}',
                       headers => [ 'Content-Type' => 'application/json' ]);
    is($r->{status}, 202, 'a JSON body: 202');
    is($r->{json}{domain}, 'body.v.test', 'for the domain of the query');
    never_seen('other.v.test', 'the body');

    $r = $t->verify('body4k.v.test', body => 'x' x 4000);
    is($r->{status}, 202, 'a 4000-byte body: 202');

    $r = $t->verify('big.v.test', body => 'x' x 5000);
    is($r->{status}, 413, 'a 5000-byte body: 413') or diag($r->{raw});
    like($r->{headers}{'content-type'} // '', qr{^application/json\b},
         'as JSON');
    is($r->{json}{error}, 'body_too_large', 'error body_too_large');
    never_seen('big.v.test', '413');

    # the same limit whatever the framing
    $r = $t->verify('chunk.v.test', body => 'x' x 3000, chunked => 1);
    is($r->{status}, 202, 'a chunked 3000-byte body: 202');
    is($r->{json}{domain}, 'chunk.v.test', 'for the domain of the query');

    $r = $t->verify('bigchunk.v.test', body => 'x' x 5000, chunked => 1);
    is($r->{status}, 413, 'a chunked 5000-byte body: 413') or diag($r->{raw});
    is($r->{json}{error}, 'body_too_large', 'error body_too_large');
    never_seen('bigchunk.v.test', 'the chunked 413');

    $r = $t->http(GET => "$STATUS/domains", key => 1, body => 'x' x 9000,
                  chunked => 1);
    is($r->{status}, 413, 'a chunked body on GET too: 413');
};

subtest 'other methods: 405' => sub {
    for my $method (qw(PUT PATCH)) {
        my $r = $t->http($method => "$STATUS?domain=api.v.test", key => 1,
                         body => '{}');
        is($r->{status}, 405, "$method: 405");
        is($r->{json}{error}, 'method_not_allowed',
           "$method: method_not_allowed");
        my $allow = $r->{headers}{allow} // '';
        like($allow, qr/\bGET\b/, "$method: Allow has GET");
        like($allow, qr/\bHEAD\b/, "$method: Allow has HEAD");
        like($allow, qr/\bPOST\b/, "$method: Allow has POST");
    }
};

subtest 'GET never starts a verification' => sub {
    my $r = $t->status_of('get.v.test');
    is($r->{json}{stage}, 'none', 'GET ?domain=: stage none');
    $r = $t->http(GET => $STATUS, host => 'get.v.test');
    is($r->{json}{status}, 'unknown', 'public GET: unknown');
    $r = $t->http(HEAD => "$STATUS?domain=get.v.test", key => 1);
    is($r->{status}, 200, 'HEAD: 200');

    sleep 1.5;    # 15 polls of the table by worker 0

    my $j = $t->status_of('get.v.test')->{json} // {};
    is($j->{status}, 'unknown', 'later: status unknown');
    is($j->{stage}, 'none', 'later: stage none');
    is($j->{dns}, undef, 'later: dns null');
    is($j->{updated_at}, undef, 'later: updated_at null');
};

subtest 'an issued domain stays issued' => sub {
    is($issued_first->{status}, 'issued', 'before: issued (store import)');
    is($issued_first->{dns}, undef, 'before: dns null');

    my $r = $issued_post1;
    is($r->{status}, 202, 'POST: 202') or diag($r->{raw});
    is($r->{json}{status}, 'issued', 'POST answer: status issued');
    like($r->{json}{message} // '', qr/issued/i,
         'the message says it is issued');

    my ($j, $ok) = $t->wait_status('issued.v.test',
        sub { ref $_->{dns} eq 'HASH' && $_->{stage} ne 'verifying' }, 10);
    ok($ok, 'the DNS was checked');
    is($j->{status}, 'issued', 'status issued');
    is($j->{stage}, 'issued', 'stage back to issued');
    is($j->{dns}{verified}, JSON::PP::true, 'dns.verified');
    is($j->{certificate}{sha256}, $issued_fp, 'the same certificate');
    is($t->handshake('issued.v.test'), $issued_fp, 'and it is served');

    my $checked = $j->{dns}{checked_at};
    like($checked // '', $RFC3339, 'dns.checked_at');

    # past the 10 s limit of the first POST
    my $wait = $issued_post1_at + 10.5 - time;
    sleep $wait if $wait > 0;

    $r = $t->verify('issued.v.test');
    is($r->{status}, 202, 'POST again after 10 s: 202') or diag($r->{raw});
    is($r->{json}{status}, 'issued', 'status issued');
    like($r->{json}{message} // '', qr/issued/i, 'message says issued');

    ($j, $ok) = $t->wait_status('issued.v.test',
        sub { ($_->{dns}{checked_at} // '') ne ($checked // '')
              && $_->{stage} ne 'verifying' }, 10);
    ok($ok, 'dns.checked_at moves') or diag(explain $j);
    is($j->{status}, 'issued', 'still issued');
    is($j->{stage}, 'issued', 'stage issued');
    is($j->{certificate}{sha256}, $issued_fp, 'the same certificate');
    ok(($t->parse_time($j->{dns}{checked_at}) // 0)
       >= ($t->parse_time($checked) // 9e9) + 9,
       'checked_at moved on by the time between the POSTs');
};

$t->no_crash_ok("no worker crashed");

done_testing;
