#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# Transient DNS failures: SERVFAIL leaves the domain pending with a retry
# in about a minute and a POST after the rate limit recovers it; a DNS
# server that never answers times out within the configured bounds, and
# while the lookup waits the (single) worker keeps answering other
# requests at once; REFUSED is transient too.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $RFC3339 = LinkCert::Test::rfc3339_re();
my $STATUS = '/.well-known/ssl-status';
my $TARGET = 'edge.crm.test';

$t->challtestsrv;

# next_attempt_at should be about 60 s (+-10%) after the failure
sub retry_in_a_minute {
    my ($j, $what) = @_;

    my $next = $t->parse_time($j->{next_attempt_at});
    my $at = $t->parse_time($j->{last_error}{at});

    like($j->{next_attempt_at} // '', $RFC3339,
         "$what: next_attempt_at is set");
    ok(defined $next && defined $at
       && $next - $at >= 54 - 1 && $next - $at <= 66 + 1,
       "$what: next_attempt_at is 54..66 s after last_error.at ("
       . (defined $next && defined $at ? $next - $at : 'n/a') . ' s)');
    ok(defined $next && $next - time >= 54 - 15 && $next - time <= 66 + 1,
       "$what: next_attempt_at is about a minute from now");
}


###########################################################################
# SERVFAIL, then recovery

$t->set_cname('sf.t12.test', $TARGET);
$t->set_servfail('sf.t12.test');

$t->write_config($t->standard_config(workers => 1, http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;
EOF
$t->run;
sleep 0.3;
$t->no_crash_ok("workers run without crashing");

my $posted_at = time;

subtest 'SERVFAIL: pending, retried in about a minute' => sub {
    my $r = $t->verify('sf.t12.test');
    is($r->{status}, 202, 'POST: 202') or diag($r->{raw});

    my ($j, $ok) = $t->wait_status('sf.t12.test',
        sub { defined $_->{last_error} }, 10);
    ok($ok, 'the verification has a result') or diag(explain $j);

    is($j->{status}, 'pending', 'status pending');
    is($j->{stage}, 'verifying', 'stage verifying');
    is($j->{last_error}{type}, 'dns_servfail', 'last_error.type dns_servfail')
        or diag(explain $j->{last_error});
    like($j->{last_error}{detail} // '', qr/\S/, 'with a detail');
    like($j->{last_error}{at} // '', $RFC3339, 'last_error.at');
    retry_in_a_minute($j, 'SERVFAIL');

    is(ref $j->{dns}, 'HASH', 'dns is an object');
    is($j->{dns}{verified}, JSON::PP::false, 'dns.verified false');
    is($j->{dns}{error}{type}, 'dns_servfail', 'dns.error.type dns_servfail');

    $r = $t->http(GET => $STATUS, host => 'sf.t12.test');
    is($r->{json}{status}, 'pending', 'the public object says pending');

    # no immediate retry loop: the state stays as it is
    sleep 1.5;
    my $later = $t->status_of('sf.t12.test')->{json} // {};
    is($later->{last_error}{at}, $j->{last_error}{at},
       'no retry within 1.5 s (last_error.at unchanged)');
    is($later->{next_attempt_at}, $j->{next_attempt_at},
       'next_attempt_at unchanged');
};

subtest 'SERVFAIL cleared, POST after the rate limit: recovers' => sub {
    $t->clear_servfail('sf.t12.test');

    my $wait = $posted_at + 10.5 - time;
    sleep $wait if $wait > 0;

    my $r = $t->verify('sf.t12.test');
    is($r->{status}, 202, 'POST: 202') or diag($r->{raw});
    is($r->{json}{stage}, 'verifying', 'stage verifying');

    my ($j, $ok) = $t->wait_status('sf.t12.test',
        sub { $_->{stage} ne 'verifying' }, 10);
    ok($ok, 'the verification finished') or diag(explain $j);
    is($j->{status}, 'pending', 'status pending');
    is($j->{stage}, 'ordering', 'stage ordering');
    is(($j->{last_error} // {})->{type}, 'no_acme_directory',
       'last_error: no CA configured, no DNS error')
        or diag(explain $j->{last_error});
    is($j->{dns}{verified}, JSON::PP::true, 'dns.verified');
    is($j->{dns}{error}, undef, 'dns.error null');
    is_deeply($j->{dns}{cname_chain}, [ 'sf.t12.test', $TARGET ],
              'dns.cname_chain');
};

$t->stop;


###########################################################################
# a DNS server that never answers

$t->silent_udp;
$t->write_config($t->standard_config(workers => 1, http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%SILENT%% timeout=1s attempts=2;
EOF
$t->run;
sleep 0.3;
$t->no_crash_ok("workers run without crashing");

subtest 'silent DNS server: the worker keeps answering' => sub {
    my $t0 = time;
    my $r = $t->verify('slow.t12.test');
    is($r->{status}, 202, 'POST: 202') or diag($r->{raw});

    my @q;
    my $deadline = time + 3;
    until (grep { $_->{name} =~ /^slow\.t12\.test(?:\.|$)/ } @q) {
        last if time > $deadline;
        @q = $t->silent_queries(0.2);
    }
    ok(scalar(grep { $_->{name} =~ /^slow\.t12\.test(?:\.|$)/ } @q),
       'the lookup reached the silent server') or diag(explain \@q);

    my (@times, @bad);
    for my $i (1 .. 20) {
        my $start = time;
        my $g = $t->http(GET => $STATUS, host => 'x.test');
        my $took = time - $start;
        push @times, $took;
        push @bad, "#$i: status $g->{status}"
            unless $g->{status} == 200
                   && ($g->{json}{status} // '') eq 'unknown';
    }

    is_deeply(\@bad, [], '20 public GETs answer 200 unknown');
    my ($max) = sort { $b <=> $a } @times;
    ok($max < 0.1, sprintf 'each answers in < 100 ms (slowest %.1f ms)',
       $max * 1000);

    my $mid = $t->status_of('slow.t12.test')->{json} // {};
    is($mid->{stage}, 'verifying', 'the lookup was still waiting meanwhile');
    is($mid->{last_error}, undef, 'no result yet at that point')
        or note(sprintf 'the lookup ended within %.1f s', time - $t0);

    my ($j, $ok) = $t->wait_status('slow.t12.test',
        sub { defined $_->{last_error} }, $t0 + 15 - time);
    my $elapsed = time - $t0;

    ok($ok, sprintf 'the verification ends within 15 s (%.1f s)', $elapsed)
        or diag(explain $j);
    ok($elapsed >= 0.9, 'but not before the 1 s timeout');
    is($j->{status}, 'pending', 'status pending');
    is($j->{stage}, 'verifying', 'stage verifying');
    is($j->{last_error}{type}, 'dns_timeout', 'last_error.type dns_timeout')
        or diag(explain $j->{last_error});
    retry_in_a_minute($j, 'timeout');

    @q = grep { $_->{name} eq 'slow.t12.test' } $t->silent_queries(0.2);
    ok(@q >= 1 && @q <= 2,
       'attempts=2: at most 2 queries for the name (' . scalar(@q) . ')');

    is($t->http(GET => '/')->{body}, "tracker\n", 'the worker still serves');
};

$t->stop;


###########################################################################
# a DNS server that answers REFUSED

$t->write_config($t->standard_config(workers => 1, http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%REFUSED%% timeout=1s attempts=2;
EOF
$t->run;

subtest 'REFUSED: pending, retried in about a minute' => sub {
    my $r = $t->verify('refused.t12.test');
    is($r->{status}, 202, 'POST: 202') or diag($r->{raw});

    my ($j, $ok) = $t->wait_status('refused.t12.test',
        sub { defined $_->{last_error} }, 10);
    ok($ok, 'the verification has a result') or diag(explain $j);
    is($j->{status}, 'pending', 'status pending');
    is($j->{stage}, 'verifying', 'stage verifying');
    is($j->{last_error}{type}, 'dns_refused', 'last_error.type dns_refused')
        or diag(explain $j->{last_error});
    retry_in_a_minute($j, 'REFUSED');
};

$t->no_crash_ok("no worker crashed");

done_testing;
