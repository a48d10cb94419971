#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# On demand, the wait for the ClientHello (linkcert reads the SNI before
# nginx's TLS code does): it lasts the default server's
# client_header_timeout, as nginx's own wait for a request's first bytes,
# not a fixed 60 s.  A client that connects and sends nothing, or half a
# ClientHello, is closed after client_header_timeout 1s.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use IO::Socket::INET;
use Time::HiRes qw(time);

my $t = LinkCert::Test->new;

$t->challtestsrv;
$t->write_config($t->standard_config(
    server => "        client_header_timeout 1s;\n", http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory https://127.0.0.1:9/dir;
    linkcert_on_demand dns;
EOF
$t->run;

# seconds until nginx closes a connection that sent $bytes, at most 8
sub closed_after {
    my ($bytes) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $t->port(0),
                                     Proto => 'tcp', Timeout => 5)
        or die "connect: $!";
    $sock->syswrite($bytes) if length $bytes;

    my $start = time;
    my $rin = '';
    vec($rin, fileno($sock), 1) = 1;

    while (time - $start < 8) {
        my $n = select(my $rout = $rin, undef, undef, 0.1);
        next unless $n;
        my $got = $sock->sysread(my $buf, 4096);
        last if !$got;
    }

    my $elapsed = time - $start;
    close $sock;
    return $elapsed;
}

my $silent = closed_after('');
cmp_ok($silent, '>=', 0.8, 'nothing sent: not closed before 1 s')
    or diag("closed after $silent s");
cmp_ok($silent, '<', 4, 'nothing sent: closed after client_header_timeout')
    or diag("closed after $silent s");

# a TLS handshake record announcing 512 bytes, and 4 of them
my $half = closed_after("\x16\x03\x01\x02\x00\x01\x00\x01");
cmp_ok($half, '>=', 0.8, 'half a ClientHello: not closed before 1 s')
    or diag("closed after $half s");
cmp_ok($half, '<', 4, 'half a ClientHello: closed after '
                      . 'client_header_timeout')
    or diag("closed after $half s");

is($t->status_of('anything.test')->{json}{status}, 'unknown',
   'and the server still answers');

$t->stop;
done_testing;
