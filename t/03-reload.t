#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Reload (SIGHUP): new store domains become issued and served, a replaced
# certificate is served, unchanged entries keep their zone data.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;

my $t = LinkCert::Test->new;
my $fallback = $t->fallback_fingerprint;

my ($a_old) = $t->store_domain('a.example.test');
$t->store_domain('keep.example.test');
$t->store_domain('broken.example.test', corrupt => 1);

$t->write_config($t->standard_config);
$t->run;

my $master = $t->master_pid;
my $a_old_fp = $t->fingerprint_of_file($a_old);

is($t->handshake('a.example.test'), $a_old_fp, 'before: a is served');
is($t->handshake('new.example.test'), $fallback, 'before: new is not');

my $new_before = $t->status_of('new.example.test')->{json} // {};
is($new_before->{status}, 'unknown', 'before: new is unknown');
is($new_before->{stage}, 'none', 'before: new was never seen');

my $a_before = $t->status_of('a.example.test')->{json} // {};
my $keep_before = $t->status_of('keep.example.test')->{json};

# a second passes, so that a re-created entry would get another updated_at
sleep 1.1;

my ($new) = $t->store_domain('new.example.test');
my ($a_new) = $t->store_domain('a.example.test');
my $new_fp = $t->fingerprint_of_file($new);
my $a_new_fp = $t->fingerprint_of_file($a_new);

$t->reload;

is($t->master_pid, $master, 'the same master: a reload, not a restart');
ok($t->running, 'nginx still runs');

subtest 'new domain after reload' => sub {
    my $j = $t->status_of('new.example.test')->{json} // {};
    is($j->{status}, 'issued', 'issued');
    is($j->{stage}, 'issued', 'stage issued');
    is($j->{certificate} && $j->{certificate}{sha256}, $new_fp, 'sha256');
    is($t->handshake('new.example.test', version => 'TLSv1_3'), $new_fp,
       'served (TLS 1.3)');
    is($t->handshake('new.example.test', version => 'TLSv1_2'), $new_fp,
       'served (TLS 1.2)');
};

subtest 'replaced certificate after reload' => sub {
    my $j = $t->status_of('a.example.test')->{json} // {};
    is($j->{status}, 'issued', 'still issued');
    is($j->{certificate} && $j->{certificate}{sha256}, $a_new_fp,
       'the API shows the new certificate');
    ok(($j->{updated_at} // '') gt ($a_before->{updated_at} // '~'),
       'updated_at advanced')
        or diag("before $a_before->{updated_at}, after $j->{updated_at}");

    my @fps = map { $t->handshake('a.example.test') } 1 .. 4;
    is_deeply(\@fps, [ ($a_new_fp) x 4 ],
              'every worker serves the new certificate');
};

is_deeply($t->status_of('keep.example.test')->{json}, $keep_before,
          'an unchanged domain keeps its zone entry (same updated_at)');

my $list = $t->http(GET => '/.well-known/ssl-status/domains', key => 1);
is_deeply([ map { $_->{domain} } @{ $list->{json}{domains} // [] } ],
          [ qw(a.example.test broken.example.test keep.example.test
               new.example.test) ],
          'the list has every domain exactly once');

# reload again without changes

$t->reload;

is($t->handshake('a.example.test'), $a_new_fp,
   'second reload: the new certificate is still served');
is_deeply($t->status_of('keep.example.test')->{json}, $keep_before,
          'second reload: the unchanged entry is still the same');
is($t->status_of('broken.example.test')->{json}{last_error}{type},
   'store_corrupt', 'second reload: the broken domain is still reported');

done_testing;
