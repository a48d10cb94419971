#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A start with the store's index trusts it: the master fills the table
# from the index without looking at the store (its log says so, with the
# counts), and worker 0 checks the store after the start, off its event
# loop: a pair replaced, added or removed by hand while nginx was
# stopped, and a corrupt one (reported, its files untouched), are seen
# then, and the index is written again.  A domain this edge removed
# (DELETE) after the index was written is in the index's journal: the
# next start reads it again instead of trusting its line.  A reload keeps
# the table (the master reads no store) and the check after it sees what
# was changed by hand before it.  "nginx -t" reads the store and reports
# a corrupt pair.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Util qw(read_file);

my $t = LinkCert::Test->new;
my $store = $t->store;
my $index = "$store/linkcert.index";
my $journal = "$store/linkcert.index.changed";
my $STATUS = '/.well-known/ssl-status';

my %fp;
for my $d (qw(a b c d e)) {
    my ($chain) = $t->store_domain("$d.idx.test");
    $fp{"$d.idx.test"} = $t->fingerprint_of_file($chain);
}

$t->write_config($t->standard_config);
$t->run;

ok(-s $index, 'the first start (no index) wrote the index');
is($t->handshake('a.idx.test'), $fp{'a.idx.test'}, 'a is served');

sub status { $t->status_of($_[0])->{json} // {} }

sub index_names {
    return sort map { (split / /)[0] } split /\n/, read_file($index) // '';
}

subtest 'changed by hand while stopped: seen by the check after the start'
    => sub {
    $t->stop;

    my ($chain) = $t->store_domain('a.idx.test');         # replaced
    $fp{'a.idx.test'} = $t->fingerprint_of_file($chain);
    ($chain) = $t->store_domain('new.idx.test');          # added
    $fp{'new.idx.test'} = $t->fingerprint_of_file($chain);
    system('rm', '-rf', "$store/domains/b.idx.test") == 0 or die;
    $t->store_domain('c.idx.test', corrupt => 1);         # corrupt
    my $corrupt = read_file("$store/domains/c.idx.test/fullchain.pem");

    my $offset = length $t->error_log;
    $t->run;

    my ($start) = $t->log_since($offset, qr/from the index/);
    like($start // '', qr/: 5 domains in the table from the index, 0 read again as this edge changed them \(the index's journal\), 0 damaged lines, 0 without room in the zone, in \d+ ms; worker 0 checks the store after the start/,
         'the start trusts the index: 5 domains, no stat of the store');

    my ($check) = $t->log_since($offset, qr/linkcert_store .*: checked/);
    like($check // '', qr/checked, 5 domains with files listed in \d+ ms, 3 read again \(1 of them not served: corrupt or expired\), 0 without room in the zone, 1 gone from the store, index written/,
         'the check: a, new and c read again, b gone, the index written');

    is($t->handshake('a.idx.test'), $fp{'a.idx.test'},
       'a: its new certificate served');
    is(status('a.idx.test')->{certificate}{sha256}, $fp{'a.idx.test'},
       'a: the API shows it');
    is(status('new.idx.test')->{status}, 'issued', 'new: issued');
    is($t->handshake('new.idx.test'), $fp{'new.idx.test'}, 'new: served');
    is(status('b.idx.test')->{last_error}{type}, 'store_unreadable',
       'b: gone from the store, store_unreadable');
    isnt($t->handshake('b.idx.test') // '', $fp{'b.idx.test'},
         'b: no longer served');
    my $c = status('c.idx.test');
    is($c->{status}, 'unknown', 'c: corrupt, unknown');
    like($c->{last_error}{type} // '', qr/^store_/, 'c: a store error');
    ok(grep({ /c\.idx\.test.*the domain is unknown/ }
            $t->log_since($offset)),
       'c: reported in the error log');
    is(read_file("$store/domains/c.idx.test/fullchain.pem"), $corrupt,
       'c: its files untouched');
    is(status('d.idx.test')->{status}, 'issued', 'd: unchanged, issued');

    is_deeply([ index_names() ],
              [ map { "$_.idx.test" } qw(a c d e new) ],
              'the new index: b left out, new in');
};

subtest 'removed by this edge: the journal, read again at the next start'
    => sub {
    my $r = $t->http(DELETE => "$STATUS?domain=d.idx.test", key => 1);
    is($r->{status}, 200, 'DELETE d');
    like(read_file($journal) // '', qr/^d\.idx\.test$/m,
         'the index\'s journal names d');

    $t->stop;
    my $offset = length $t->error_log;
    $t->run;

    my ($start) = $t->log_since($offset, qr/from the index/);
    like($start // '', qr/: 4 domains in the table from the index, 1 read again as this edge changed them/,
         'the start reads d again, not its line of the index');
    is(status('d.idx.test')->{stage}, 'none', 'd: not in the table');
    ok(!-e $journal && !-e "$journal.old",
       'the check after the start wrote the index and dropped the journal');
    is_deeply([ index_names() ],
              [ map { "$_.idx.test" } qw(a c e new) ],
              'the index: d left out');
};

subtest 'a reload keeps the table; the check after it sees the store'
    => sub {
    my ($chain) = $t->store_domain('r.idx.test');
    $fp{'r.idx.test'} = $t->fingerprint_of_file($chain);
    system('rm', '-rf', "$store/domains/e.idx.test") == 0 or die;

    my $offset = length $t->error_log;
    $t->reload;

    my ($kept) = $t->log_since($offset, qr/the table kept/);
    like($kept // '', qr/: the table kept, 4 domains with files passed for renewal in \d+ ms; worker 0 checks the store after the reload/,
         'the master did not read the store');

    my ($check) = $t->log_since($offset, qr/linkcert_store .*: checked/);
    like($check // '', qr/checked, 4 domains with files listed in \d+ ms, 1 read again \(0 of them not served: corrupt or expired\), 0 without room in the zone, 1 gone from the store, index written/,
         'the check: r read, e gone');
    is($t->handshake('r.idx.test'), $fp{'r.idx.test'}, 'r: served');
    is(status('e.idx.test')->{last_error}{type}, 'store_unreadable',
       'e: gone');
    is(status('a.idx.test')->{status}, 'issued', 'a: still issued');
};

subtest 'nginx -t reads the store and reports a corrupt pair' => sub {
    my ($rc, $out) = $t->test_config;
    is($rc, 0, 'the configuration is valid') or diag($out);
    like($out, qr/c\.idx\.test.*the domain is unknown/,
         'the corrupt pair is reported');
    my @loads = ($out . $t->error_log) =~ /(\d+ domains in the table, \d+ gone.*)/g;
    like($loads[-1] // '', qr/^4 domains in the table, 0 gone from the store, loaded in \d+ ms \(4 from the index, 0 read without their keys, 0 parsed\)/,
         'every pair\'s files looked at (stat), against the index');
};

$t->no_crash_ok;
done_testing;
