#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The public answer (GET /.well-known/ssl-status for the Host) is rendered
# once per change of what it shows, in each worker, and kept: it must
# never be a kept answer that the domain's state no longer says.  Two
# workers, a listener with reuseport so that new connections reach both
# (each answer says which worker it came from: X-Worker).  Each worker
# first answers D as it is, then, right after:
#
#   1. "Verify domain" (POST): not unknown any more (pending, or issued);
#   2. the issuance: issued, with the certificate's dates;
#   3. a reissue (issued all along): the new certificate's dates;
#   4. DELETE: unknown, certificate null;
#
# every body byte for byte as rendered from the full status of D.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);

my $TARGET = 'edge.crm.test';
my $D = 'links.cache.test';
my $STATUS = '/.well-known/ssl-status';

$t->challtestsrv;
$t->set_cname($D, $TARGET);
$t->add_a($TARGET, ['127.0.0.1']);

$pebble->start;

$t->write_config($t->dns_config(workers => 2, log_level => 'info',
    http => $pebble->acme_http_lines, servers => <<'EOF'));
    server {
        listen 127.0.0.1:%%PORT_2%% reuseport;
        server_name _;
        linkcert on;
        add_header X-Worker $pid always;

        location / {
            return 200 "tracker\n";
        }
    }
EOF
$t->run;

# The public answers of D from new connections until each of the two
# workers has answered at least twice: { pid => [ bodies ] }.
sub from_both {
    my %by;

    for (1 .. 400) {
        my $r = $t->http(GET => $STATUS, host => $D, port => 2);
        push @{ $by{ $r->{headers}{'x-worker'} // "status $r->{status}" } },
             $r->{body};
        last if keys %by == 2 && !grep { @$_ < 2 } values %by;
    }

    return \%by;
}

# The public body as the full status object $s says it is.
sub expected {
    my ($s) = @_;
    my $c = $s->{certificate};
    my $cert = $c ? qq({"not_before":"$c->{not_before}",)
                    . qq("not_after":"$c->{not_after}"})
                  : 'null';

    return qq({"domain":"$D","status":"$s->{status}","certificate":$cert}\n);
}

# Every answer of both workers is $want (a string, or a code that says
# whether a body is right).
sub both_answer {
    my ($want, $name) = @_;
    my $by = from_both();
    my @workers = grep { /^\d+$/ } keys %$by;
    my $ok = ref $want ? $want : sub { $_[0] eq $want };
    my @wrong = grep { !$ok->($_) } map { @$_ } values %$by;

    subtest $name => sub {
        is(scalar @workers, 2, 'both workers answered')
            or diag(explain [ keys %$by ]);
        is(scalar @wrong, 0, 'every answer is the current one')
            or diag(explain { got => $wrong[0],
                              want => ref $want ? 'see the test' : $want });
    };
}

both_answer(expected({ status => 'unknown' }), 'before: unknown');

# 1. and 2.
is($t->verify($D)->{status}, 202, 'POST: 202');
both_answer(sub { $_[0] =~ /"status":"(?:pending|issued)"/ },
            'right after the POST: not unknown any more');

my ($j, $ok) = $pebble->wait_issued($D, 20);
ok($ok, 'issued') or diag(explain $j);
both_answer(expected($j), 'right after the issuance: issued, its dates');

# 3. issued all along, only the dates change
my $first = $j->{certificate} // {};
is($t->verify_again($D, query => 'reissue=1')->{status}, 202,
   'POST reissue=1: 202');
($j, $ok) = $t->wait_status($D, sub {
    ($_->{stage} // '') eq 'issued'
        && ($_->{certificate}{sha256} // '') ne ($first->{sha256} // '')
}, 20);
ok($ok, 'issued again, another certificate') or diag(explain $j);
isnt($j->{certificate}{not_before}, $first->{not_before},
     'with other dates');
both_answer(expected($j), 'right after the new issuance: its dates');

# 4.
is($t->http(DELETE => "$STATUS?domain=$D", key => 1)->{status}, 200,
   'DELETE: 200');
both_answer(expected({ status => 'unknown' }),
            'right after the DELETE: unknown, no certificate');

done_testing;
