#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The store at start: valid domains are issued, broken ones are reported
# (status unknown, stage failed, last_error.type) and logged, nginx keeps
# running and no store file is touched.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;

my $t = LinkCert::Test->new;
my $store = $t->store;
my $RFC3339 = LinkCert::Test::rfc3339_re();

my %valid = (
    'good.example.test' => {},
    'rsa.example.test'  => { key => 'rsa' },
);

# domain => [ store_domain options, expected last_error.type ]
my %broken = (
    'corrupt.example.test'   => [ { corrupt => 1 },        'store_corrupt' ],
    'badkey.example.test'    => [ { corrupt => 'key' },    'store_corrupt' ],
    'mismatch.example.test'  => [ { mismatched_key => 1 }, 'store_key_mismatch' ],
    'expired.example.test'   => [ { expired => 1 },        'store_expired' ],
    'wrongname.example.test' => [ { wrong_name => 1 },     'store_name_mismatch' ],
    'nokey.example.test'     => [ { missing_key => 1 },    'store_unreadable' ],
    'nochain.example.test'   => [ { missing_chain => 1 },  'store_unreadable' ],
);

my %chain;
for my $name (sort keys %valid) {
    ($chain{$name}) = $t->store_domain($name, %{ $valid{$name} });
}
for my $name (sort keys %broken) {
    $t->store_domain($name, %{ $broken{$name}[0] });
}

# the domains' files; the module keeps its own index beside them
my $before = $t->snapshot("$store/domains");

$t->write_config($t->standard_config);
$t->run;

ok($t->running, 'nginx runs with a partly broken store');
is($t->http(GET => '/')->{body}, "tracker\n", 'and serves requests');

for my $name (sort keys %valid) {
    subtest "valid: $name" => sub {
        my $r = $t->status_of($name);
        is($r->{status}, 200, 'status 200');

        my $j = $r->{json} // {};
        is($j->{domain}, $name, 'domain');
        is($j->{status}, 'issued', 'status issued');
        is($j->{stage}, 'issued', 'stage issued');
        is($j->{last_error}, undef, 'no last_error');
        like($j->{updated_at} // '', $RFC3339, 'updated_at');

        my $c = $j->{certificate} // {};
        my ($not_before, $not_after) = $t->dates_of_file($chain{$name});
        is($c->{sha256}, $t->fingerprint_of_file($chain{$name}), 'sha256');
        is($c->{serial}, $t->serial_of_file($chain{$name}), 'serial');
        is($c->{not_before}, $not_before, 'not_before');
        is($c->{not_after}, $not_after, 'not_after');
        like($c->{issuer} // '', qr/LinkCert Test CA/, 'issuer');

        my $p = $t->http(GET => '/.well-known/ssl-status', host => $name);
        is($p->{json}{status}, 'issued', 'public status issued');
        is($p->{json}{certificate}{not_after}, $not_after,
           'public not_after');
    };
}

my $log = $t->error_log;

for my $name (sort keys %broken) {
    my $type = $broken{$name}[1];

    subtest "broken: $name" => sub {
        my $r = $t->status_of($name);
        is($r->{status}, 200, 'status 200');

        my $j = $r->{json} // {};
        is($j->{domain}, $name, 'domain');
        is($j->{status}, 'unknown', 'status unknown');
        is($j->{stage}, 'failed', 'stage failed');

        my $e = $j->{last_error};
        is(ref $e, 'HASH', 'last_error is an object') or return;
        is($e->{type}, $type, "last_error.type $type");
        like($e->{detail} // '', qr/\S/, 'last_error.detail');
        like($e->{at} // '', $RFC3339, 'last_error.at');

        if ($name =~ /^(?:corrupt|nochain)\./) {
            is($j->{certificate}, undef, 'no certificate to describe');
        }

        my $path = "$store/domains/$name";
        my $reason = join '|', map { quotemeta } grep { length }
                     $type, $e->{detail} // '';
        my @lines = grep { /\Q$path\E/ && /$reason/ } split /\n/, $log;
        ok(@lines, 'the error log names the path and the reason')
            or diag("no line with $path and /$reason/");
    };
}

is_deeply($t->snapshot("$store/domains"), $before,
          'store files untouched after start');

$t->reload;

is_deeply($t->snapshot("$store/domains"), $before,
          'store files untouched after reload');
is($t->status_of('mismatch.example.test')->{json}{last_error}{type},
   'store_key_mismatch', 'the broken domain is still reported after reload');
is($t->status_of('good.example.test')->{json}{status}, 'issued',
   'the valid domain is still issued after reload');

done_testing;
