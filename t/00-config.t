#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Configuration errors: nginx -t fails with an [emerg] line that names the
# directive and the offending value.  Each broken config differs from the
# working standard config by one thing.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Config qw(config_ok config_fails);

my $t = LinkCert::Test->new;
my $prefix = $t->prefix;

open my $fh, '>', "$prefix/empty.key" or die $!;
close $fh;
open $fh, '>', "$prefix/blank.key" or die $!;
print $fh "  \n\t\n";
close $fh;

# config options for standard_config => what the [emerg] line must contain
my @cases = (
    [ 'linkcert on without linkcert_zone',
      { zone => undef }, [ qr/linkcert_zone/ ] ],
    [ 'linkcert_zone without size',
      { zone => 'foo' }, [ qr/linkcert_zone/, qr/\bfoo\b/ ] ],
    [ 'linkcert_zone with a bad size',
      { zone => 'foo:abc' }, [ qr/linkcert_zone/, qr/foo:abc/ ] ],
    [ 'linkcert_zone too small',
      { zone => 'linkcert:8k' }, [ qr/linkcert_zone/, qr/too small/ ] ],
    [ 'linkcert on without linkcert_store',
      { store => undef }, [ qr/linkcert_store/ ] ],
    [ 'linkcert_store that cannot be created',
      { store => "$prefix/api.key/sub" },
      [ qr/linkcert_store/, qr/\Q$prefix\E\/api\.key\/sub/,
        qr/in \S+nginx\.conf:\d+/ ] ],
    [ 'linkcert_store whose parent does not exist',
      { store => "$prefix/no/such/store" },
      [ qr/linkcert_store/, qr/\Q$prefix\E\/no\/such\/store/,
        qr/parent directory/, qr/in \S+nginx\.conf:\d+/ ] ],
    [ 'linkcert_removed_keep 0',
      { http => "linkcert_removed_keep 0;" },
      [ qr/linkcert_removed_keep/, qr/"0"/ ] ],
    [ 'linkcert_store that is a file',
      { store => "$prefix/api.key" },
      [ qr/linkcert_store/, qr/not a directory/, qr/in \S+nginx\.conf:\d+/ ] ],
    [ 'linkcert_api_key file missing',
      { api_key => "$prefix/missing.key" }, [ qr/\Q$prefix\E\/missing\.key/ ] ],
    [ 'linkcert_api_key file empty',
      { api_key => "$prefix/empty.key" }, [ qr/linkcert_api_key/, qr/empty/ ] ],
    [ 'linkcert_api_key file only whitespace',
      { api_key => "$prefix/blank.key" }, [ qr/linkcert_api_key/, qr/empty/ ] ],
    [ 'linkcert maybe',
      { linkcert => 'maybe' }, [ qr/invalid value/, qr/maybe/ ] ],
    [ 'linkcert_cache_size 0',
      { cache_size => '0' }, [ qr/linkcert_cache_size/ ] ],
    [ 'linkcert_cache_size x',
      { cache_size => 'x' }, [ qr/linkcert_cache_size/ ] ],
);

config_ok($t, 'standard config', {});
config_ok($t, 'linkcert_cache_size 16', { cache_size => 16 });
config_ok($t, 'module loaded, no linkcert directives',
          { zone => undef, store => undef, api_key => undef,
            linkcert => undef });

for my $case (@cases) {
    my ($name, $opts, $patterns) = @$case;
    config_fails($t, $name, $opts, @$patterns);
}

# a store nginx -t cannot judge without making it (/proc refuses mkdir
# although access() says it is writable): the start fails and says where
# the directive is
subtest 'a store that cannot be made at start: file and line' => sub {
    $t->write_config($t->standard_config(store => '/proc/linkcert-t00'));
    ok(!eval { $t->run; 1 }, 'nginx does not start');
    my $log = $t->error_log . $t->stderr_log;
    like($log, qr/\[emerg\].*"linkcert_store" "\/proc\/linkcert-t00" cannot be used, in \S+nginx\.conf:\d+/,
         'the [emerg] names the directive\'s file and line') or diag($log);
};

# nginx -t creates nothing on disk; the master makes the store at start
subtest 'nginx -t creates no store; the start does' => sub {
    my $store = "$prefix/new-store";
    $t->write_config($t->standard_config(store => $store));
    my ($rc, $out) = $t->test_config;
    is($rc, 0, 'nginx -t succeeds') or diag($out);
    ok(!-e $store, 'the store was not created') or diag(`ls -la $store`);
    $t->run;
    ok(-d "$store/domains", 'the start created it');
    $t->stop;
};

done_testing;
