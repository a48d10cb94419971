#!/usr/bin/perl

# ACME problem documents Pebble never sends, from a small stub ACME server
# of this test (HTTPS on loopback with the Pebble listener's test CA):
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
use IO::Socket::SSL;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX qw(WNOHANG strftime);
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

my $port = $t->port('stub');
my $requests_log = $t->prefix . '/logs/stub-requests.log';
my $stub_pid = start_stub();

END {
    local $?;    # keep the test's exit status
    if ($stub_pid) { kill 'TERM', $stub_pid; waitpid $stub_pid, 0 }
}

$t->challtestsrv;
$t->add_a('edge.crm.test', ['127.0.0.1']);
$t->set_cname($_, 'edge.crm.test') for @D;

$t->write_config($t->dns_config(workers => 2, log_level => 'info',
    http => $pebble->acme_http_lines(
        directory => "https://localhost:$port/dir")));
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
for (split /\n/, read_file($requests_log) // '') {
    $orders{$1}++ if /^POST \/new-order (\S+)/;
}
for my $d (@D) {
    is($orders{$d} // 0, 1, "$d: exactly one newOrder request");
}

my @alerts = $pebble->error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
is(scalar @alerts, 0, 'no alert, crit or emerg') or diag(join "\n", @alerts);

done_testing;


###########################################################################
# the stub ACME server

sub read_file {
    open my $fh, '<:raw', $_[0] or return undef;
    local $/;
    return scalar <$fh>;
}

sub start_stub {
    my $srv = IO::Socket::SSL->new(
        LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 64,
        ReuseAddr => 1, SSL_server => 1,
        SSL_cert_file => $pebble->{dir} . '/listener.crt',
        SSL_key_file => $pebble->{dir} . '/listener.key',
        SSL_startHandshake => 0,
    ) or die "stub: cannot listen: $! $IO::Socket::SSL::SSL_ERROR";

    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $srv;
        return $pid;
    }

    open my $log, '>>', $requests_log or die "$requests_log: $!";
    $log->autoflush(1);
    my $base = "https://localhost:$port";
    my $n = 0;

    while (1) {
        my $c = $srv->accept or next;
        eval {
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm 5;
            $c->accept_SSL or die "handshake: $IO::Socket::SSL::SSL_ERROR\n";
            my $head = '';
            while ($head !~ /\r\n\r\n/) {
                my $got = $c->sysread(my $buf, 16384);
                die "eof\n" unless $got;
                $head .= $buf;
            }
            my ($hdr, $body) = split /\r\n\r\n/, $head, 2;
            my ($method, $path) = $hdr =~ m{^(\S+) (\S+)};
            my ($len) = $hdr =~ /^Content-Length:\s*(\d+)/mi;
            while (defined $len && length $body < $len) {
                my $got = $c->sysread(my $buf, 16384);
                die "eof\n" unless $got;
                $body .= $buf;
            }

            my $domain = '';
            if ($body) {
                my $jws = eval { decode_json($body) } // {};
                my $p = $jws->{payload} // '';
                $p =~ tr{-_}{+/};
                $p .= '=' x ((4 - length($p) % 4) % 4);
                my $payload = eval { decode_json(decode_base64($p)) } // {};
                $domain = $payload->{identifiers}[0]{value} // ''
                    if ref $payload eq 'HASH';
            }
            print $log "$method $path $domain\n";

            my ($status, $ctype, $out, @h) = (404, 'application/problem+json',
                encode_json({ type => "${URN}malformed", detail => 'no such resource' }));

            if ($path eq '/dir') {
                ($status, $ctype, $out) = (200, 'application/json', encode_json({
                    newNonce => "$base/nonce", newAccount => "$base/new-acct",
                    newOrder => "$base/new-order", revokeCert => "$base/revoke",
                    keyChange => "$base/key-change" }));
            } elsif ($path eq '/nonce') {
                ($status, $ctype, $out) = ($method eq 'HEAD' ? 200 : 204, undef, '');
            } elsif ($path eq '/new-acct') {
                ($status, $ctype, $out) = (201, 'application/json',
                    encode_json({ status => 'valid', orders => "$base/acct/1/orders" }));
                push @h, Location => "$base/acct/1";
            } elsif ($path eq '/new-order' && $ANSWER{$domain}) {
                my ($st, $type, $detail, @extra) = @{ $ANSWER{$domain} };
                $status = $st;
                if (defined $type) {
                    $out = encode_json({ type => $type, detail => $detail,
                                         status => $st });
                } else {
                    ($ctype, $out) = ('text/html', $detail);
                }
                while (my ($k, $v) = splice @extra, 0, 2) {
                    $v = strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime(time + $1))
                        if $v =~ /^DATE\+(\d+)$/;
                    push @h, $k => $v;
                }
            }

            my $reason = { 200 => 'OK', 201 => 'Created', 204 => 'No Content',
                           400 => 'Bad Request', 403 => 'Forbidden',
                           404 => 'Not Found', 429 => 'Too Many Requests',
                           502 => 'Bad Gateway',
                           503 => 'Service Unavailable' }->{$status} // 'X';
            my @lines = ("HTTP/1.1 $status $reason",
                         'Replay-Nonce: stub' . (++$n) . 'x' . int(rand 1e9),
                         'Cache-Control: no-store', 'Connection: close',
                         ($ctype ? "Content-Type: $ctype" : ()),
                         'Content-Length: ' . length $out);
            while (my ($k, $v) = splice @h, 0, 2) { push @lines, "$k: $v" }
            $c->syswrite(join("\r\n", @lines, '', '')
                         . ($method eq 'HEAD' ? '' : $out));
            alarm 0;
            1;
        } or do { alarm 0; print $log "ERROR $@" };
        $c->close(SSL_fast_shutdown => 1);
    }
}
