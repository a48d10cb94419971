#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The workers' certificate cache with the default settings: without
# linkcert_cache_size a worker keeps as many certificates as the zone has
# room for domains (zone size / 512, at least 4,096): with a 4m zone that
# is 8,192, so a store of 4,500 names, more than the old default of 4,096,
# is all kept after one pass over the names: the first names are still
# served from the cache afterwards (the metrics count hits, no new miss;
# with 4,096 they were the first out).  linkcert_cache_size set lower
# still bounds it: 100 certificates, and passes over 150 names miss every
# time.  The passes are made by scripts/bench-handshake (one
# handshake at a time, each chain verified against the store's CA).

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use Time::HiRes qw(sleep);

my $N = 4500;
my $t = LinkCert::Test->new;
my $dir = $t->prefix;
my $top = "$FindBin::Bin/..";

my $out = `$top/scripts/mkstore -n $N -p c -s cache.test -c $dir/ca.pem @{[ $t->store ]} 2>&1`;
is($?, 0, "mkstore: $N domains") or diag($out);

my $client = "$dir/bench-handshake";
$out = `cc -O2 -o $client $top/scripts/bench-handshake.c -lssl -lcrypto 2>&1`;
is($?, 0, 'the handshake client builds') or diag($out);

open my $fh, '>', "$dir/names" or die "names: $!";
print $fh "c$_.cache.test\n" for 1 .. $N;
close $fh;

open $fh, '>', "$dir/names-500" or die "names: $!";
print $fh "c$_.cache.test\n" for 1 .. 500;
close $fh;

open $fh, '>', "$dir/names-150" or die "names: $!";
print $fh "c$_.cache.test\n" for 1 .. 150;
close $fh;

sub metrics {
    my $r = $t->http(GET => '/.well-known/ssl-status/metrics', key => 1);
    my %m;

    $m{hit} = $1 if $r->{body} =~ /^linkcert_cache_lookups_total\{result="hit"\} (\d+)$/m;
    $m{miss} = $1 if $r->{body} =~ /^linkcert_cache_lookups_total\{result="miss"\} (\d+)$/m;
    $m{entries} = $1 if $r->{body} =~ /^linkcert_cache_certificates (\d+)$/m;
    $m{size} = $1 if $r->{body} =~ /^linkcert_cache_size (\d+)$/m;
    $m{$_} //= 'none' for qw(hit miss entries size);

    return \%m;
}

# one handshake per name, in order, each verified: "ok=N failed=0"
sub handshakes {
    my ($names) = @_;
    my $res = `$client -1 -A $dir/ca.pem -n $names -p @{[ $t->port(0) ]} -T 10 2>&1`;
    my ($summary) = $res =~ /^(single names=.*)$/m;
    return $summary // "no summary: $res";
}

$t->write_config($t->standard_config(workers => 1, log_level => 'notice'));
$t->run;

is(metrics()->{size}, 8192, 'default: 8,192 certificates (a 4m zone / 512)');

like(handshakes("$dir/names"), qr/ ok=$N failed=0 /,
     "a pass over the $N names");
my $m = metrics();
is($m->{miss}, $N, "$N misses");
is($m->{entries}, $N, "all $N kept");

like(handshakes("$dir/names-500"), qr/ ok=500 failed=0 /,
     'the first 500 names again');
$m = metrics();
is($m->{hit}, 500, 'from the cache');
is($m->{miss}, $N, 'no new miss');

# linkcert_cache_size lower than the default still bounds the cache
$t->write_config($t->standard_config(workers => 1, log_level => 'notice',
                                     cache_size => 100));
$t->reload;

for (1 .. 100) {
    $m = metrics();
    last if $m->{size} eq '100' && $m->{entries} eq '0';
    sleep 0.1;
}
is_deeply([ @$m{qw(size entries)} ], [ 100, 0 ],
          'reloaded with linkcert_cache_size 100: the old worker gone');

my $miss = $m->{miss};
like(handshakes("$dir/names-150"), qr/ ok=150 failed=0 /,
     'a pass over 150 names');
like(handshakes("$dir/names-150"), qr/ ok=150 failed=0 /, 'and another one');
$m = metrics();
is($m->{miss} - $miss, 300, 'each of the 300 handshakes missed');
is($m->{entries}, 100, '100 certificates kept');

done_testing;
