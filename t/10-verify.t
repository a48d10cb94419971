#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# DNS verification outcomes against a mock DNS server (pebble-challtestsrv):
# CNAME chains to a linkcert_cname_target, apex domains whose addresses are
# linkcert_target_address, records pointing elsewhere, no records, CNAME
# loops and too long chains, and CAA (RFC 8659 climbing, the CNAME target's
# CAA, linkcert_caa_identity).  Each verification is started with POST
# ?domain= and its result read from the full status object.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;

my $t = LinkCert::Test->new;
my $RFC3339 = LinkCert::Test::rfc3339_re();

my $TARGET = 'edge.crm.test';
my $TARGET2 = 'edge2.crm.test';

$t->challtestsrv;

# --- the DNS data -------------------------------------------------------

$t->set_cname('cname.v.test', $TARGET);

$t->set_cname('chain3.v.test', 'hop1.chain.test');
$t->set_cname('hop1.chain.test', 'hop2.chain.test');
$t->set_cname('hop2.chain.test', $TARGET);

# 8 hops: chain8.v.test -> c8-1 -> ... -> c8-7 -> target
$t->set_cname('chain8.v.test', 'c8-1.long.test');
$t->set_cname("c8-$_.long.test", 'c8-' . ($_ + 1) . '.long.test') for 1 .. 6;
$t->set_cname('c8-7.long.test', $TARGET);

# 9 hops: chain9.v.test -> c9-1 -> ... -> c9-8 -> target
$t->set_cname('chain9.v.test', 'c9-1.long.test');
$t->set_cname("c9-$_.long.test", 'c9-' . ($_ + 1) . '.long.test') for 1 .. 7;
$t->set_cname('c9-8.long.test', $TARGET);

$t->set_cname('elsewhere.v.test', 'other.test');

$t->add_a('apex-ok.test', ['127.0.0.1']);

$t->add_a('apex-mixed.test', ['127.0.0.1']);
$t->add_aaaa('apex-mixed.test', ['2001:db8::7']);

$t->add_a('apex-foreign.test', ['192.0.2.7']);

$t->set_cname('loop-a.v.test', 'loop-b.v.test');
$t->set_cname('loop-b.v.test', 'loop-a.v.test');

# nothing at all for nothing.v.test

$t->add_a('caa-ok.test', ['127.0.0.1']);
$t->add_caa('caa-ok.test', [ { tag => 'issue', value => 'letsencrypt.org' } ]);

$t->add_a('caa-no.test', ['127.0.0.1']);
$t->add_caa('caa-no.test', [ { tag => 'issue', value => 'other-ca.test' } ]);

$t->add_a('caa-param.test', ['127.0.0.1']);
$t->add_caa('caa-param.test',
            [ { tag => 'issue', value => 'other-ca.test' },
              { tag => 'issue',
                value => 'letsencrypt.org; validationmethods=dns-01' } ]);

$t->add_a('caa-iodef.test', ['127.0.0.1']);
$t->add_caa('caa-iodef.test',
            [ { tag => 'iodef', value => 'mailto:security@caa-iodef.test' } ]);

# inherited from the parent: nothing on links.acme.test but its CNAME
$t->set_cname('links.acme.test', $TARGET);
$t->add_caa('acme.test', [ { tag => 'issue', value => 'other-ca.test' } ]);

# the CNAME target's CAA
$t->set_cname('via2.v.test', $TARGET2);
$t->add_caa($TARGET2, [ { tag => 'issue', value => 'other-ca.test' } ]);

my @domains = qw(cname.v.test chain3.v.test chain8.v.test chain9.v.test
                 elsewhere.v.test apex-ok.test apex-mixed.test
                 apex-foreign.test loop-a.v.test nothing.v.test caa-ok.test
                 caa-no.test caa-param.test caa-iodef.test links.acme.test
                 via2.v.test);

$t->write_config($t->standard_config(workers => 2, http => <<"EOF"));
    linkcert_cname_target $TARGET $TARGET2;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;
EOF
$t->run;
sleep 0.3;
$t->no_crash_ok("workers run without crashing");

my %result = verify_all(@domains);


# --- helpers ------------------------------------------------------------

# POSTs every domain, then waits for each verification's result.
sub verify_all {
    my (@names) = @_;
    my %posted;
    for my $d (@names) {
        my $r = $t->verify($d);
        $posted{$d} = $r->{status};
    }
    my %out;
    for my $d (@names) {
        # a refused POST started nothing: no need to wait
        my ($j, $done) = $posted{$d} == 202
            ? $t->wait_verified($d, 15)
            : ($t->status_of($d)->{json}, 0);
        $out{$d} = { post => $posted{$d}, json => $j, done => $done };
    }
    return %out;
}

sub dns_of { my ($j) = @_; return ref $j->{dns} eq 'HASH' ? $j->{dns} : {} }

sub verified_ok {
    my ($d, %want) = @_;
    my $res = $result{$d};
    my $j = $res->{json} // {};

    is($res->{post}, 202, "POST $d: 202");
    ok($res->{done}, "$d: the verification finished") or diag(explain $j);
    is($j->{status}, 'pending', "$d: status pending");
    is($j->{stage}, 'ordering', "$d: stage ordering");
    # no linkcert_acme_directory here: nothing is ordered, and it says so
    is(($j->{last_error} // {})->{type}, 'no_acme_directory',
       "$d: last_error no_acme_directory") or diag(explain $j->{last_error});

    my $dns = dns_of($j);
    is(ref $j->{dns}, 'HASH', "$d: dns is an object") or diag(explain $j);
    is($dns->{verified}, JSON::PP::true, "$d: dns.verified true");
    like($dns->{checked_at} // '', $RFC3339, "$d: dns.checked_at");
    is($dns->{error}, undef, "$d: dns.error null");

    is_deeply($dns->{cname_chain}, $want{chain}, "$d: dns.cname_chain")
        if $want{chain};
    is_deeply([ sort @{ $dns->{addresses} // [] } ],
              [ sort @{ $want{addresses} } ], "$d: dns.addresses")
        if $want{addresses};

    return $j;
}

sub failed_ok {
    my ($d, $type, @detail) = @_;
    my $res = $result{$d};
    my $j = $res->{json} // {};

    is($res->{post}, 202, "POST $d: 202");
    ok($res->{done}, "$d: the verification finished") or diag(explain $j);
    is($j->{status}, 'unknown', "$d: status unknown");
    is($j->{stage}, 'failed', "$d: stage failed");
    is($j->{last_error}{type}, $type, "$d: last_error.type $type")
        or diag(explain $j->{last_error});
    like($j->{last_error}{at} // '', $RFC3339, "$d: last_error.at");

    my $detail = $j->{last_error}{detail} // '';
    for my $re (@detail) {
        like($detail, $re, "$d: detail matches $re");
    }

    my $dns = dns_of($j);
    is($dns->{verified}, JSON::PP::false, "$d: dns.verified false");
    is($dns->{error}{type}, $type, "$d: dns.error.type $type");

    return $j;
}


# --- the results --------------------------------------------------------

subtest 'CNAME to the target' => sub {
    my $j = verified_ok('cname.v.test',
                        chain => [ 'cname.v.test', $TARGET ]);
    is_deeply([ sort keys %{ $j->{dns} // {} } ],
              [ qw(addresses caa checked_at cname_chain error verified) ],
              'dns keys');
    is(ref $j->{dns}{caa}, 'ARRAY', 'dns.caa is an array');
    is(ref $j->{dns}{addresses}, 'ARRAY', 'dns.addresses is an array');
    is($j->{certificate}, undef, 'no certificate');
    like($j->{updated_at} // '', $RFC3339, 'updated_at');

    my $checked = $t->parse_time($j->{dns}{checked_at});
    ok(defined $checked && abs($checked - time) < 30,
       'dns.checked_at is about now');

    my $r = $t->http(GET => '/.well-known/ssl-status',
                     host => 'cname.v.test');
    is_deeply($r->{json}, { domain => 'cname.v.test', status => 'pending',
                            certificate => undef },
              'the public object says pending') or diag($r->{body});
};

subtest 'a chain of 3 CNAMEs' => sub {
    verified_ok('chain3.v.test',
                chain => [ 'chain3.v.test', 'hop1.chain.test',
                           'hop2.chain.test', $TARGET ]);
};

subtest 'a chain of 8 CNAMEs (the limit)' => sub {
    verified_ok('chain8.v.test',
                chain => [ 'chain8.v.test',
                           (map { "c8-$_.long.test" } 1 .. 7), $TARGET ]);
};

subtest 'a chain of 9 CNAMEs (too long)' => sub {
    my $j = $result{'chain9.v.test'}{json} // {};
    is($j->{status}, 'unknown', 'status unknown') or diag(explain $j);
    is($j->{stage}, 'failed', 'stage failed');
    is($j->{last_error}{type}, 'dns_mismatch', 'dns_mismatch');
    is(dns_of($j)->{verified}, JSON::PP::false, 'dns.verified false');
};

subtest 'CNAME elsewhere' => sub {
    my $j = failed_ok('elsewhere.v.test', 'dns_mismatch',
                      qr/\belsewhere\.v\.test\b/, qr/\bother\.test\b/,
                      qr/\Q$TARGET\E/);
    is_deeply(dns_of($j)->{cname_chain}, [ 'elsewhere.v.test', 'other.test' ],
              'dns.cname_chain');
};

subtest 'apex: A is the target address' => sub {
    verified_ok('apex-ok.test', chain => [ 'apex-ok.test' ],
                addresses => [ '127.0.0.1' ]);
};

subtest 'apex: the target A and a foreign AAAA' => sub {
    my $j = failed_ok('apex-mixed.test', 'dns_mismatch',
                      qr/\bapex-mixed\.test\b/, qr/2001:db8::7/);
    is_deeply([ sort @{ dns_of($j)->{addresses} // [] } ],
              [ '127.0.0.1', '2001:db8::7' ], 'dns.addresses has both');
};

subtest 'apex: a foreign A' => sub {
    failed_ok('apex-foreign.test', 'dns_mismatch',
              qr/\bapex-foreign\.test has address 192\.0\.2\.7\b/,
              qr/\Q$TARGET\E/, qr/127\.0\.0\.1/);
};

subtest 'no records' => sub {
    failed_ok('nothing.v.test', 'dns_missing',
              qr/^nothing\.v\.test has no CNAME, A or AAAA record/);
};

subtest 'CNAME loop' => sub {
    failed_ok('loop-a.v.test', 'dns_mismatch', qr/^CNAME loop/);
};

subtest 'CAA allows letsencrypt.org' => sub {
    my $j = verified_ok('caa-ok.test', addresses => [ '127.0.0.1' ]);
    is_deeply(dns_of($j)->{caa},
              [ { owner => 'caa-ok.test', flags => 0, tag => 'issue',
                  value => 'letsencrypt.org' } ], 'dns.caa');
};

subtest 'CAA issue with parameters, among others' => sub {
    my $j = verified_ok('caa-param.test');
    is(scalar @{ dns_of($j)->{caa} // [] }, 2, 'dns.caa has both records');
};

subtest 'CAA without issue tags' => sub {
    my $j = verified_ok('caa-iodef.test');
    is_deeply([ map { $_->{tag} } @{ dns_of($j)->{caa} // [] } ], [ 'iodef' ],
              'dns.caa has the iodef record');
};

subtest 'CAA forbids' => sub {
    my $j = failed_ok('caa-no.test', 'caa_forbids', qr/other-ca\.test/);
    is_deeply(dns_of($j)->{caa},
              [ { owner => 'caa-no.test', flags => 0, tag => 'issue',
                  value => 'other-ca.test' } ], 'dns.caa');
    is_deeply(dns_of($j)->{addresses}, [ '127.0.0.1' ],
              'the address check passed (dns.addresses)');
};

subtest 'CAA inherited from the parent' => sub {
    my $j = failed_ok('links.acme.test', 'caa_forbids', qr/other-ca\.test/);
    my $caa = dns_of($j)->{caa} // [];
    is($caa->[0]{owner}, 'acme.test', 'dns.caa[0].owner is acme.test')
        or diag(explain $caa);
    is($caa->[0]{value}, 'other-ca.test', 'dns.caa[0].value');
    is_deeply(dns_of($j)->{cname_chain}, [ 'links.acme.test', $TARGET ],
              'dns.cname_chain: the CNAME itself is fine');
};

subtest "the CNAME target's CAA" => sub {
    my $j = failed_ok('via2.v.test', 'caa_forbids', qr/other-ca\.test/);
    my $caa = dns_of($j)->{caa} // [];
    is($caa->[0]{owner}, $TARGET2, "dns.caa[0].owner is $TARGET2")
        or diag(explain $caa);
};

subtest 'GET without POST: the table has only what was posted' => sub {
    my $r = $t->http(GET => '/.well-known/ssl-status/domains?limit=1000',
                     key => 1);
    is_deeply([ map { $_->{domain} } @{ $r->{json}{domains} // [] } ],
              [ sort @domains ], 'the listed domains are the posted ones');
};


# --- linkcert_caa_identity ----------------------------------------------

$t->stop;
$t->write_config($t->standard_config(workers => 2, http => <<"EOF"));
    linkcert_cname_target $TARGET $TARGET2;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;
    linkcert_caa_identity other-ca.test;
EOF
$t->run;
sleep 0.3;
$t->no_crash_ok("workers run without crashing");

%result = verify_all(qw(caa-ok.test caa-no.test links.acme.test
                        caa-param.test));

subtest 'linkcert_caa_identity other-ca.test' => sub {
    verified_ok('caa-no.test');
    verified_ok('links.acme.test', chain => [ 'links.acme.test', $TARGET ]);
    verified_ok('caa-param.test');
    failed_ok('caa-ok.test', 'caa_forbids', qr/letsencrypt\.org/);
};

$t->no_crash_ok("no worker crashed");

done_testing;
