#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A zone too small for the store: nginx starts, says so (rarely), serves
# the domains that fit, answers "unknown" for the rest and does not crash;
# on demand, new names that find no room are counted as refused_full.

use strict;
use warnings;

use Test::More;
use File::Path qw(remove_tree);
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;

my $t = LinkCert::Test->new;
my $fallback = $t->fallback_fingerprint;

my @names = map { sprintf 'd%03d.full.test', $_ } 1 .. 300;
my $cert = [ $t->make_cert('full', san => \@names) ];
my $fp = $t->fingerprint_of_file($cert->[0]);
$t->store_domain($_, cert => $cert) for @names;

$t->write_config($t->standard_config(zone => 'linkcert:32k'));
$t->run;

ok($t->running, 'nginx starts with a zone too small for the store');

my @full = full_lines();
ok(@full >= 1, 'the error log says the zone is full')
    or diag('nginx stderr has ' . (() = $t->stderr_log =~ /is full/g)
            . ' "is full" lines instead');
ok(@full <= 2, 'but only once or twice') or diag(scalar(@full) . ' lines');

my (%status, @not_200);
for my $name (@names) {
    my $r = $t->status_of($name);
    push @not_200, "$name: $r->{status}" if $r->{status} != 200;
    $status{$name} = $r->{json}{status} // '(none)';
}

is_deeply(\@not_200, [], 'every domain answers 200');

my @issued = grep { $status{$_} eq 'issued' } @names;
my @unknown = grep { $status{$_} eq 'unknown' } @names;

ok(@issued > 0, 'some domains fit: ' . scalar(@issued) . ' issued');
ok(@unknown > 0, 'the others did not: ' . scalar(@unknown) . ' unknown');
is(@issued + @unknown, scalar @names, 'each one is issued or unknown');

my @sample_issued = grep { defined } @issued[0, -1];
my @sample_unknown = grep { defined } @unknown[0, -1];

is_deeply([ map { $t->handshake($_) } @sample_issued ],
          [ ($fp) x @sample_issued ], 'issued domains are served');
is_deeply([ map { $t->handshake($_) } @sample_unknown ],
          [ ($fallback) x @sample_unknown ],
          'the others get the fallback');

my $r = $t->http(GET => '/.well-known/ssl-status/domains?limit=1000',
                 key => 1);
is($r->{status}, 200, 'the list works');
is_deeply([ map { $_->{domain} } grep { $_->{status} eq 'issued' }
            @{ $r->{json}{domains} // [] } ],
          \@issued, 'and lists the issued ones');

$t->reload;

is($t->handshake($issued[0] // 'none'), $fp,
   'after a reload the fitting domains are still served');
@full = full_lines();
ok(@full <= 2, 'the reload did not log "is full" again within the minute')
    or diag(scalar(@full) . ' lines');

is($t->http(GET => '/')->{body}, "tracker\n", 'workers keep answering');
ok($t->running, 'nginx still runs');

my $log = $t->error_log;
unlike($log, qr/exited on signal/, 'no worker crashed');
unlike($log, qr/exited with code [1-9]/, 'no worker exited with an error');

my @slab = grep { /ngx_slab_alloc\(\) failed/ } split /\n/, $log;
ok(@slab <= 2, 'no flood of slab allocation failures')
    or diag(scalar(@slab) . ' lines like: ' . $slab[0]);

# on demand, a new name that finds no room in the zone is counted as
# such, not as refused for the rate
subtest 'on demand: a full zone refuses new names as refused_full' => sub {
    $t->stop;
    $t->challtestsrv;
    $t->write_config($t->standard_config(zone => 'linkcert:160k',
        log_level => 'info', http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory https://127.0.0.1:9/dir;
    linkcert_on_demand dns;
EOF
    $t->run;
    ok(full_lines() >= 1, 'the zone is full');

    my $od = sub { $t->metric_values->{"linkcert_on_demand_total{result=\"$_[0]\"}"} // 0 };
    my $full0 = $od->('refused_full');
    my $r = $t->http(GET => '/', host => 'new.full.test');
    is($r->{status}, 200, 'a plain-HTTP click on a new name is answered');
    is($od->('refused_full') - $full0, 1, 'refused_full: 1');
    is($od->('refused_rate'), 0, 'refused_rate: 0');
    is($od->('admitted'), 0, 'admitted: 0');
};

# an entry takes a 512-byte slot of the zone for a name of up to 80
# characters: the zone's pages in use grow by about 512 bytes a domain
# (1024 when the entry had outgrown the slot)
subtest 'an entry takes 512 bytes of the zone' => sub {
    my %used;

    for my $n (300, 100) {
        $t->stop;
        for my $name (@names[$n .. $#names]) {
            remove_tree("$t->{store}/domains/$name");
        }
        unlink glob("$t->{store}/*index*");
        $t->write_config($t->standard_config(zone => "linkcert$n:4m"));
        $t->run;
        my $m = $t->metric_values;
        is($m->{linkcert_zone_entries}, $n, "$n entries");
        $used{$n} = $m->{linkcert_zone_used_bytes};
    }

    my $per = ($used{300} - $used{100}) / 200;
    note("zone bytes per entry: $per");
    cmp_ok($per, '<', 768, 'about 512 bytes an entry');
};

done_testing;


sub full_lines {
    return grep { /is full/ && !/\[debug\]/ } split /\n/, $t->error_log;
}
