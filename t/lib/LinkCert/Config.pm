# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::Config;

# nginx -t on one configuration, for the configuration tests:
#
#   use LinkCert::Config qw(config_ok config_fails);
#   config_ok($t, 'name', { cache_size => 16 });      # standard_config options
#   config_ok($t, 'name', 'linkcert_... ;');          # http-level lines
#   config_fails($t, 'name', $opts_or_lines, qr/directive/, qr/value/);
#
# config_ok: nginx -t succeeds, says so, and logs no [emerg], [alert] or
# [crit].  config_fails: nginx -t fails with an [emerg] line that matches
# every pattern (the directive and the offending value).  Each is one
# subtest.

use strict;
use warnings;

use Exporter 'import';
use Test::More ();

our @EXPORT_OK = qw(config_ok config_fails);

sub _write {
    my ($t, $conf) = @_;
    $t->write_config(ref $conf eq 'HASH' ? $t->standard_config(%$conf)
                                         : $t->standard_config(http => $conf));
    return $t->test_config;
}

sub config_ok {
    my ($t, $name, $conf) = @_;

    Test::More::subtest("ok: $name" => sub {
        my ($rc, $out) = _write($t, $conf);
        Test::More::is($rc, 0, 'nginx -t succeeds') or Test::More::diag($out);
        Test::More::like($out, qr/test is successful/, 'nginx -t says so');
        Test::More::unlike($out, qr/\[(?:emerg|alert|crit)\]/, 'no errors');
    });
}

sub config_fails {
    my ($t, $name, $conf, @patterns) = @_;

    Test::More::subtest("error: $name" => sub {
        my ($rc, $out) = _write($t, $conf);
        Test::More::isnt($rc, 0, 'nginx -t fails');

        my $emerg = join "\n", grep { /\[emerg\]/ } split /\n/, $out;
        Test::More::isnt($emerg, '', 'with an [emerg] line')
            or Test::More::diag($out);

        for my $re (@patterns) {
            Test::More::like($emerg, $re, "the [emerg] line matches $re");
        }
    });
}

1;
