#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# GET /.well-known/ssl-status/domains: sorting, paging with after/next,
# the status filter and argument validation.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;

my $t = LinkCert::Test->new;
my $LIST = '/.well-known/ssl-status/domains';

# Names with shared prefixes longer than a tree key and with '-' and '.'
# next to letters, so that the order is byte order, not key order.
my @issued = map { "$_.list.test" } qw(
    a aa ab a-b b zz 0a abcdefghijklmnop1 abcdefghijklmnop2
    abcdefghijklmnopq abcdefghijklmno x-y-z);
my @unknown = map { "$_.list.test" } qw(
    broken1 broken2 abcdefghijklmnop0 m q9);

my $cert = [ $t->make_cert('list', san => \@issued) ];
$t->store_domain($_, cert => $cert) for @issued;
$t->store_domain($_, corrupt => 1) for @unknown;

my @all = sort(@issued, @unknown);

$t->write_config($t->standard_config);
$t->run;

sub list {
    my ($query) = @_;
    my $r = $t->http(GET => $LIST . (defined $query ? "?$query" : ''),
                     key => 1);
    return $r;
}

sub names { [ map { $_->{domain} } @{ $_[0]{json}{domains} // [] } ] }

# Follows "next" from page to page; (names in order, page sizes, error).
sub walk {
    my ($query, $limit) = @_;
    my (@names, @sizes);
    my $after;

    for (1 .. 50) {
        my $q = join '&', grep { defined }
            $query, "limit=$limit",
            defined $after ? 'after=' . LinkCert::Test::uri_escape($after)
                           : undef;
        my $r = list($q);
        return (\@names, \@sizes, "status $r->{status}: $r->{body}")
            if $r->{status} != 200;

        my $page = names($r);
        push @names, @$page;
        push @sizes, scalar @$page;

        my $next = $r->{json}{next};
        return (\@names, \@sizes, 'next is not the last domain of the page')
            if defined $next && (!@$page || $next ne $page->[-1]);
        return (\@names, \@sizes, undef) unless defined $next;
        $after = $next;
    }

    return (\@names, \@sizes, 'no end after 50 pages');
}


subtest 'everything, default limit' => sub {
    my $r = list();
    is($r->{status}, 200, 'status 200');
    is_deeply(names($r), \@all, 'every domain, sorted by domain');
    ok(exists $r->{json}{next}, 'has "next"');
    is($r->{json}{next}, undef, 'next is null');

    my %by_name = map { $_->{domain} => $_ } @{ $r->{json}{domains} // [] };
    my $one = $by_name{'aa.list.test'} // {};
    is_deeply([ sort keys %$one ],
              [ qw(ca certificate dns domain last_error next_attempt_at
                   renew_at stage status updated_at) ], 'entries are full objects');
    is($one->{certificate} && $one->{certificate}{sha256},
       $t->fingerprint_of_file($cert->[0]), 'with the certificate');
    is($by_name{'broken1.list.test'} && $by_name{'broken1.list.test'}{last_error}{type},
       'store_corrupt', 'and the last error');
    is_deeply([ sort keys %{ $by_name{'broken1.list.test'}{last_error} // {} } ],
              [ qw(at detail source type) ],
              'last_error: at, type, detail, source');
    is($by_name{'broken1.list.test'}{last_error}{source}, 'store',
       'source: store');
};

subtest 'paging' => sub {
    my ($names, $sizes, $error) = walk(undef, 5);
    is($error, undef, 'the walk ends with next null');
    is_deeply($names, \@all, 'every domain exactly once, in order');
    is_deeply($sizes, [ 5, 5, 5, 2 ], 'pages of 5');

    ($names, $sizes, $error) = walk(undef, 1);
    is_deeply($names, \@all, 'limit=1: every domain exactly once');

    my $r = list('limit=' . scalar @all);
    is($r->{json}{next}, undef, 'an exactly full last page: next null');

    $r = list('limit=' . (@all - 1));
    is($r->{json}{next}, $all[-2], 'one short: next is the last listed');

    $r = list('after=abcdefghijklmnop1.list.test');
    is_deeply(names($r), [ grep { $_ gt 'abcdefghijklmnop1.list.test' } @all ],
              'after= starts right after that domain');

    $r = list('after=ac.list.test');
    is_deeply(names($r), [ grep { $_ gt 'ac.list.test' } @all ],
              'after= a domain not in the table');

    $r = list('after=' . $all[-1]);
    is_deeply(names($r), [], 'after the last one: empty');
    is($r->{json}{next}, undef, 'and next null');
};

subtest 'status filter' => sub {
    my $r = list('status=issued');
    is($r->{status}, 200, 'status 200');
    is_deeply(names($r), [ sort @issued ], 'status=issued: only issued');
    is_deeply([ grep { $_->{status} ne 'issued' }
                @{ $r->{json}{domains} // [] } ], [], 'all say issued');

    $r = list('status=unknown');
    is_deeply(names($r), [ sort @unknown ], 'status=unknown: only unknown');

    $r = list('status=pending');
    is($r->{status}, 200, 'status=pending: 200');
    is_deeply(names($r), [], 'status=pending: none');

    my ($names, $sizes, $error) = walk('status=issued', 5);
    is($error, undef, 'filtered walk ends with next null');
    is_deeply($names, [ sort @issued ], 'filtered walk: every issued once');
    is_deeply($sizes, [ 5, 5, 2 ], 'filtered pages of 5');
};

subtest 'limits' => sub {
    is(list('limit=1')->{status}, 200, 'limit=1: 200');
    is(list('limit=1000')->{status}, 200, 'limit=1000: 200');

    for my $q (qw(limit=0 limit=1001 limit=-1 limit=abc limit=
                  status=bogus status=ISSUEDX))
    {
        my $r = list($q);
        is($r->{status}, 400, "$q: 400");
        is($r->{json}{error}, 'invalid_argument', "$q: invalid_argument");
    }
};

done_testing;
