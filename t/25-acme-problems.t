#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# ACME problem documents Pebble never sends, from a stub ACME server
# (LinkCert::StubCA: HTTPS on loopback with the Pebble listener's test CA):
# the directory, nonces and newAccount work; newOrder answers, by the
# domain in its payload,
#
#   rate.customer.test      429 rateLimited, Retry-After: 120 (seconds)
#   ratedate.customer.test  429 rateLimited, Retry-After: <HTTP date +300 s>
#   busy.customer.test      503 serverInternal, no Retry-After
#   html.customer.test      502 with an HTML body (a proxy in the way)
#   reject.customer.test    400 rejectedIdentifier
#   caa.customer.test       403 caa
#
# Transient ones leave the domain pending / ordering with the problem type
# (or a type of linkcert's own, acme_server, without a problem document) and
# next_attempt_at honouring Retry-After, else a backoff of at least 54 s;
# the others make it unknown / failed with the type and detail.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use LinkCert::StubCA;
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);    # the listener CA and cert
my $RFC3339 = LinkCert::Test::rfc3339_re();
my $URN = 'urn:ietf:params:acme:error:';

my %ANSWER = (
    'rate.customer.test'     => [ 429, "${URN}rateLimited",
                                  'too many new orders recently',
                                  'Retry-After' => 120 ],
    'ratedate.customer.test' => [ 429, "${URN}rateLimited",
                                  'too many certificates for this name',
                                  'Retry-After' => 'DATE+300' ],
    'busy.customer.test'     => [ 503, "${URN}serverInternal",
                                  'the CA is busy' ],
    'html.customer.test'     => [ 502, undef,
                                  '<html><body>Bad Gateway</body></html>' ],
    'reject.customer.test'   => [ 400, "${URN}rejectedIdentifier",
                                  'policy forbids issuing for this name' ],
    'caa.customer.test'      => [ 403, "${URN}caa",
                                  'CAA record for customer.test prevents issuance' ],
);
my @D = sort keys %ANSWER;

my $stub = LinkCert::StubCA->new($pebble, nonces => 1, answer => \&answer);

$t->challtestsrv;
$t->add_a('edge.crm.test', ['127.0.0.1']);
$t->set_cname($_, 'edge.crm.test') for @D;

$t->placeholder(STUB => $stub->url('/dir'));
$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%STUB%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

my %posted;
for my $d (@D) {
    my $r = $t->verify($d);
    is($r->{status}, 202, "POST $d: 202") or diag($r->{raw});
    $posted{$d} = time;
}

my %j;
for my $d (@D) {
    ($j{$d}) = $t->wait_status($d, sub { defined $_[0]{last_error} }, 15);
}

sub transient_ok {
    my ($d, $type, $min, $max) = @_;
    my $j = $j{$d} // {};
    subtest "$d: transient" => sub {
        is($j->{status}, 'pending', 'status pending') or diag(explain $j);
        is($j->{stage}, 'ordering', 'stage ordering');
        if (ref $type) {
            like($j->{last_error}{type} // '', $type, "last_error.type like $type");
        } else {
            is($j->{last_error}{type}, $type, "last_error.type $type");
        }
        like($j->{last_error}{at} // '', $RFC3339, 'last_error.at');
        my $next = $t->parse_time($j->{next_attempt_at}) // 0;
        my $at = $t->parse_time($j->{last_error}{at}) // 9e9;
        cmp_ok($next - $at, '>=', $min, "next_attempt_at at least $min s later");
        cmp_ok($next - $at, '<=', $max, "and at most $max s later")
            if defined $max;
        is($j->{certificate}, undef, 'no certificate');
    };
}

sub failed_ok {
    my ($d, $type, $detail) = @_;
    my $j = $j{$d} // {};
    subtest "$d: failed" => sub {
        is($j->{status}, 'unknown', 'status unknown') or diag(explain $j);
        is($j->{stage}, 'failed', 'stage failed');
        is($j->{last_error}{type}, $type, "last_error.type $type");
        like($j->{last_error}{detail} // '', qr/\Q$detail\E/,
             'the CA\'s detail');
    };
}

transient_ok('rate.customer.test', "${URN}rateLimited", 118, 150);
transient_ok('ratedate.customer.test', "${URN}rateLimited", 295, 340);
transient_ok('busy.customer.test', "${URN}serverInternal", 54);
# no problem document: a type of linkcert's own (it says "acme_server")
transient_ok('html.customer.test', qr/^acme_(?:server|transport|protocol)$/, 54);
failed_ok('reject.customer.test', "${URN}rejectedIdentifier",
          'policy forbids issuing for this name');
failed_ok('caa.customer.test', "${URN}caa",
          'CAA record for customer.test prevents issuance');

like($j{'rate.customer.test'}{last_error}{detail} // '',
     qr/too many new orders recently/, 'rateLimited: the CA\'s detail');
unlike($j{'html.customer.test'}{last_error}{detail} // '', qr/<html/i,
       'an HTML body is not copied into the detail');

# nothing is retried before next_attempt_at: one newOrder per domain
sleep 2;
my %orders;
$orders{ $_->{identifier} }++
    for grep { ($_->{path} // '') eq '/new-order' } $stub->requests;
for my $d (@D) {
    is($orders{$d} // 0, 1, "$d: exactly one newOrder request")
        or diag($stub->log_text);
}

my @alerts = $pebble->error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
is(scalar @alerts, 0, 'no alert, crit or emerg') or diag(join "\n", @alerts);

done_testing;


###########################################################################
# the stub ACME server's answers

sub answer {
    my ($req, $ca) = @_;
    my $base = $ca->url;
    my $path = $req->{path};
    my $json = { 'Content-Type' => 'application/json' };

    return (200, $json, encode_json({
        newNonce => "$base/nonce", newAccount => "$base/new-acct",
        newOrder => "$base/new-order", revokeCert => "$base/revoke",
        keyChange => "$base/key-change" }))
        if $path eq '/dir';

    return ($req->{method} eq 'HEAD' ? 200 : 204, {}, '')
        if $path eq '/nonce';

    return (201, [ %$json, Location => "$base/acct/1" ],
            encode_json({ status => 'valid', orders => "$base/acct/1/orders" }))
        if $path eq '/new-acct';

    my $answer = $path eq '/new-order' && $ANSWER{ $req->{identifier} }
        or return;    # 404

    my ($status, $type, $detail, @extra) = @$answer;
    my @h = defined $type ? ('Content-Type' => 'application/problem+json')
                          : ('Content-Type' => 'text/html');
    while (my ($k, $v) = splice @extra, 0, 2) {
        $v = strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime(time + $1))
            if $v =~ /^DATE\+(\d+)$/;
        push @h, $k => $v;
    }

    return ($status, \@h, defined $type
        ? encode_json({ type => $type, detail => $detail, status => $status })
        : $detail);
}
