#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Walks over the whole table let go of the zone's lock every 128 entries
# (every 64 copied into a page) and go on after the last name seen: with
# 2,100 domains, the listing's pages, its status filter, the metrics'
# counts and the reload's search for domains gone from the store each
# cross those steps and must see every entry exactly once.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;

my $N = 2100;
my $t = LinkCert::Test->new;
my $LIST = '/.well-known/ssl-status/domains';

my $out = `$FindBin::Bin/../scripts/mkstore -n $N -p w -s walk.test @{[ $t->store ]} 2>&1`;
is($?, 0, "mkstore: $N domains") or diag($out);

my @names = sort map { "w$_.walk.test" } 1 .. $N;

$t->write_config($t->standard_config);
$t->run;

# every page of the listing, following "next"
sub pages {
    my ($query) = @_;
    my (@seen, $after, $r);

    for (1 .. 100) {
        my $q = join '&', grep { defined } $query, 'limit=1000',
            defined $after ? 'after=' . LinkCert::Test::uri_escape($after)
                           : undef;
        $r = $t->http(GET => "$LIST?$q", key => 1);
        return ([ "status $r->{status}" ]) if $r->{status} != 200;
        push @seen, map { "$_->{domain} $_->{status}" }
                    @{ $r->{json}{domains} };
        $after = $r->{json}{next};
        last if !defined $after;
    }

    return \@seen;
}

sub metric {
    my ($re) = @_;
    my $r = $t->http(GET => '/.well-known/ssl-status/metrics', key => 1);
    return $r->{body} =~ /^$re (\S+)$/m ? $1 : 'none';
}

is_deeply(pages('status=issued'), [ map { "$_ issued" } @names ],
          "status=issued: all $N, in order, once each");
is_deeply(pages('status=unknown'), [],
          'status=unknown: a walk over every entry that matches none');
is(metric('linkcert_domains\{status="issued"\}'), $N, "metrics: $N issued");
is(metric('linkcert_certificates_expiring\{within="7d"\}'), 0,
   'metrics: none expiring (a walk over all)');

# a page of 1,000 records is copied 64 at a time, letting go of the lock
# in between: it takes 16 holds more than the metrics' own between two
# reads of them
my $holds = 'linkcert_zone_lock_holds_total';
my $h0 = metric($holds);
my $h1 = metric($holds);
my $r = $t->http(GET => "$LIST?limit=1000", key => 1);
is(scalar @{ $r->{json}{domains} }, 1000, 'a page of 1,000');
my $h2 = metric($holds);
cmp_ok(($h2 - $h1) - ($h1 - $h0), '>=', 15,
       'the page let go of the lock every 64 records')
    or diag("holds: $h0, $h1, $h2");
cmp_ok($h1 - $h0, '>=', int($N / 128),
       "the metrics' counts let go of the lock every 128 entries")
    or diag("holds: $h0, $h1");

# gone from the store: one before the first step, two after it
my @gone = @names[10, 1500, $N - 1];
system('rm', '-rf', map { $t->store . "/domains/$_" } @gone) == 0
    or die "rm: $!";
$t->reload;

my %gone = map { $_ => 1 } @gone;
my $want = [ map { $gone{$_} ? "$_ unknown" : "$_ issued" } @names ];
my $seen;
for (1 .. 50) {
    $seen = pages(undef);
    last if grep { / unknown$/ } @$seen;
    select undef, undef, undef, 0.2;
}
is_deeply($seen, $want,
          'after the reload: the 3 removed are unknown, the rest issued');
is($t->status_of($gone[1])->{json}{last_error}{type}, 'store_unreadable',
   "$gone[1]: store_unreadable");

cmp_ok(metric('linkcert_zone_lock_hold_max_seconds'), '>', 0,
       'the longest hold is measured');

done_testing;
