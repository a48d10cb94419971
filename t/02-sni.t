#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Certificate selection by SNI: issued domains get their own leaf (TLS 1.3
# and 1.2, EC and RSA, any letter case), everything else the fallback.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;

my $t = LinkCert::Test->new;

my %fp;
for my $spec (['a.example.test'], ['b.example.test', key => 'rsa'],
              ['links.example.test'])
{
    my ($name, %opts) = @$spec;
    my ($chain) = $t->store_domain($name, %opts);
    $fp{$name} = $t->fingerprint_of_file($chain);
}

$t->store_domain('expired.example.test', expired => 1);
$t->store_domain('mismatch.example.test', mismatched_key => 1);

my $fallback = $t->fallback_fingerprint;
my $ca = $t->fingerprint_of_file($t->ca);

# a second server on PORT_2 without "linkcert on"
my $plain_server = <<'EOF';
    server {
        listen 127.0.0.1:%%PORT_2%% ssl;
        server_name plain;
        ssl_certificate fallback.crt;
        ssl_certificate_key fallback.key;
        return 200 "plain\n";
    }
EOF

$t->write_config($t->standard_config(servers => $plain_server));
$t->run;

for my $version (qw(TLSv1_3 TLSv1_2)) {
    subtest $version => sub {
        for my $name (sort keys %fp) {
            my $info = $t->handshake_info($name, version => $version);
            is($info && $info->{version}, $version, "$name: $version used")
                or diag($t->{handshake_error});
            is($info && $info->{fingerprint}, $fp{$name}, "$name: its leaf");
        }

        is($t->handshake('LINKS.Example.TEST', version => $version),
           $fp{'links.example.test'}, 'uppercase SNI selects the domain');

        is($t->handshake('nobody.example.test', version => $version),
           $fallback, 'unknown SNI: fallback');
        is($t->handshake(undef, version => $version), $fallback,
           'no SNI: fallback');
        is($t->handshake('bad_name.example.test', version => $version),
           $fallback, 'invalid SNI: fallback');
        is($t->handshake('expired.example.test', version => $version),
           $fallback, 'expired store certificate: fallback');
        is($t->handshake('mismatch.example.test', version => $version),
           $fallback, 'mismatched store key: fallback');
    };
}

my $info = $t->handshake_info('a.example.test');
is_deeply($info && $info->{chain}, [ $fp{'a.example.test'}, $ca ],
          'the full chain is sent: leaf, then the intermediate');

is($t->handshake('a.example.test', port => 2), $fallback,
   'a server without "linkcert on" keeps its own certificate');

my @seen = map { $t->handshake($_) }
           ('a.example.test', 'b.example.test') x 4;
is_deeply(\@seen, [ ($fp{'a.example.test'}, $fp{'b.example.test'}) x 4 ],
          'repeated handshakes (both workers) stay correct');

my $r = $t->http(GET => '/', https => 1, host => 'a.example.test');
is($r->{body}, "tracker\n", 'a request over the selected certificate works');

# The same with a one-entry per-worker cache: every switch evicts.

$t->stop;
$t->write_config($t->standard_config(cache_size => 1, workers => 1));
$t->run;

my @names = ('a.example.test', 'b.example.test', 'links.example.test',
             'a.example.test', 'nobody.example.test', 'b.example.test');
is_deeply([ map { $t->handshake($_) } @names ],
          [ map { $fp{$_} // $fallback } @names ],
          'linkcert_cache_size 1: the right certificate every time');

done_testing;
