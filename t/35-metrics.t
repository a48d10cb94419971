#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# GET /.well-known/ssl-status/metrics: the API key (401 without), 200
# "text/plain; version=0.0.4", the Prometheus text format checked line by
# line by a strict parser, the families and their types, no series per
# domain, and the values following what happens:
#
#   domains{status}            = the /domains listing, by status
#   certificates_expiring{7d}  = the one certificate expiring in 3 days
#   certificates_expiring_by_cause{7d,dns_moved} = the same one: its DNS
#                                points nowhere (it is unknown, still served)
#   certificate_expiration_timestamp_seconds = its not_after (the earliest)
#   an issuance                -> orders_total{issued} +1, dns verified +1
#   a domain pointing elsewhere-> dns failed +1
#   (on demand is off: handshakes_total{held}, on_demand_total and the
#   hold_seconds histogram are there, at 0; t/40-42 count them)
#   N handshakes               -> handshakes_total{certificate} +N,
#                                 {fallback} +N for an unknown name
#   a renewal (0% + reload)    -> renewals_total +1, last renewal = now,
#                                 and no counter goes back at the reload

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t, env => { PEBBLE_AUTHZREUSE => 0 });

my $TARGET = 'edge.crm.test';
my $IMP = 'imported.customer.test';    # 90 days, no DNS record
my $SOON = 'soon.customer.test';       # expires in 3 days, no DNS record
my $D = 'ordered.customer.test';       # ordered, then renewed
my $BAD = 'elsewhere.customer.test';   # points elsewhere
my $NOBODY = 'nobody.customer.test';   # never seen
my @NAMES = ($IMP, $SOON, $D, $BAD, $NOBODY);
my $METRICS = '/.well-known/ssl-status/metrics';

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($D, $TARGET);
$t->set_cname($BAD, 'cdn.example.test');

$t->store_domain($IMP);

# a certificate of the test CA valid from 87 days ago to 3 days from now
my ($soon_chain) = $t->store_domain($SOON, not_before => time - 87 * 86400,
                                    not_after => time + 3 * 86400);
my (undef, $soon_not_after) = $t->dates_of_file($soon_chain);

$pebble->start;

# nginx.conf's linkcert directives (standard_config adds the zone, the
# store, the key and "linkcert on"): DNS verification against
# challtestsrv, Pebble as the CA, and linkcert_renew_at when given (else
# the default, 67%)
my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
    %%RENEW_AT%%
EOF

sub config {
    my ($renew_at) = @_;
    return ($t->standard_config(workers => 2, log_level => 'info',
                                http => $HTTP),
            RENEW_AT => defined $renew_at ? "linkcert_renew_at $renew_at;"
                                          : '');
}

$t->write_config(config());
$t->run;


###########################################################################
# a strict parser of the Prometheus text format 0.0.4

my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $VALUE = qr/[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN)/;

# (\%families, \@errors): families{name} = { type, help, samples =>
# [ { name, labels => {..}, value } ] }
sub parse_metrics {
    my ($text) = @_;

    my (%fam, @err, %series, %closed);
    my $current;                        # the family of the previous line

    push @err, 'empty' unless length $text;
    push @err, 'does not end with a newline' unless $text =~ /\n\z/;
    push @err, 'carriage return' if $text =~ /\r/;

    my $n = 0;
    for my $line (split /\n/, $text, -1) {
        $n++;
        last if $n > 1 && $line eq '' && $text =~ /\n\z/
                && $n == (() = $text =~ /\n/g) + 1;    # after the last \n
        my $at = "line $n: '$line'";

        my $family;
        if ($line =~ /^# HELP ($NAME) (.*)$/) {
            ($family, my $help) = ($1, $2);
            push @err, "$at: bad escape in HELP"
                if $help =~ /\\(?![\\n])/;
            push @err, "$at: a second HELP" if defined $fam{$family}{help};
            push @err, "$at: HELP after the samples"
                if @{ $fam{$family}{samples} // [] };
            $fam{$family}{help} = $help;
        } elsif ($line =~ /^# TYPE ($NAME) (\S+)$/) {
            ($family, my $type) = ($1, $2);
            push @err, "$at: unknown type $type"
                unless $type =~ /^(?:counter|gauge|histogram|summary|untyped)$/;
            push @err, "$at: a second TYPE" if defined $fam{$family}{type};
            push @err, "$at: TYPE after the samples"
                if @{ $fam{$family}{samples} // [] };
            $fam{$family}{type} = $type;
        } elsif ($line =~ /^#/) {
            push @err, "$at: a comment that is neither HELP nor TYPE";
            next;
        } elsif ($line =~ /^($NAME)(?:\{(.*)\})? ($VALUE)(?: (-?\d+))?$/) {
            my ($name, $labels, $value) = ($1, $2, $3);
            my %l;
            if (defined $labels) {
                my $rest = $labels;
                while (length $rest) {
                    $rest =~ s/^($LABEL)="((?:[^"\\\n]|\\[\\"n])*)"// or do {
                        push @err, "$at: bad label syntax at '$rest'";
                        last;
                    };
                    my ($k, $v) = ($1, $2);
                    push @err, "$at: reserved label name $k" if $k =~ /^__/;
                    push @err, "$at: label $k twice" if exists $l{$k};
                    $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
                    $l{$k} = $v;
                    last unless length $rest;
                    $rest =~ s/^,// && length $rest
                        or do { push @err, "$at: bad label separator"; last };
                }
            }
            # the family a sample belongs to
            ($family) = grep { defined $fam{$_}{type} } $name,
                $name =~ /^(.*)_(?:bucket|sum|count)$/ ? $1 : ();
            if (!defined $family) {
                push @err, "$at: no TYPE declared before the sample";
                $family = $name;
            } else {
                my $type = $fam{$family}{type};
                push @err, "$at: $name does not belong to a $type $family"
                    if $name ne $family && $type !~ /^(?:histogram|summary)$/;
            }
            my $key = join ',', $name,
                map { "$_=$l{$_}" } sort keys %l;
            push @err, "$at: duplicate series" if $series{$key}++;
            push @{ $fam{$family}{samples} },
                { name => $name, labels => \%l, value => $value };
        } else {
            push @err, "$at: not HELP, TYPE or a sample";
            next;
        }

        # the lines of a family come together
        if (defined $current && $family ne $current) {
            $closed{$current} = 1;
            push @err, "$at: $family came before and was interrupted"
                if $closed{$family};
        }
        $current = $family;
    }

    return (\%fam, \@err);
}

# One scrape: (families, errors, response).
sub scrape {
    my $r = $t->http(GET => $METRICS, key => 1);
    my ($fam, $err) = parse_metrics($r->{body} // '');
    return ($fam, $err, $r);
}

# The value of one series: value($fam, 'linkcert_orders_total', result => 'issued')
sub value {
    my ($fam, $name, %labels) = @_;
    my $want = join ',', map { "$_=$labels{$_}" } sort keys %labels;
    for my $s (@{ $fam->{$name}{samples} // [] }) {
        my $got = join ',', map { "$_=$s->{labels}{$_}" } sort keys %{ $s->{labels} };
        return $s->{value} if $got eq $want && $s->{name} eq $name;
    }
    return undef;
}

# the /domains listing, counted by status
sub listed {
    my ($status) = @_;
    my ($n, $after) = (0, undef);
    for (1 .. 100) {
        my $q = "status=$status&limit=1000"
              . (defined $after ? "&after=$after" : '');
        my $r = $t->http(GET => "/.well-known/ssl-status/domains?$q", key => 1);
        return undef unless $r->{status} == 200;
        $n += @{ $r->{json}{domains} // [] };
        $after = $r->{json}{next};
        last unless defined $after;
    }
    return $n;
}

sub domains_match_listing {
    my ($fam, $name) = @_;
    subtest "domains{status} = the listing ($name)" => sub {
        for my $status (qw(issued pending unknown)) {
            my $listed = listed($status);
            is(value($fam, 'linkcert_domains', status => $status), $listed,
               "$status: $listed");
        }
    };
}


###########################################################################
# the parser itself fails on what it must (so that its passes mean something)

subtest 'the parser rejects broken text' => sub {
    my $ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n";
    my (undef, $e) = parse_metrics($ok);
    is_deeply($e, [], 'a good example passes');
    my %bad = (
        'no newline at the end'  => "# TYPE a counter\na 1",
        'no TYPE'                => "a 1\n",
        'bad type'               => "# TYPE a countr\na 1\n",
        'duplicate series'       => "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n",
        'bad label name'         => "# TYPE a gauge\na{1x=\"1\"} 1\n",
        'unescaped quote'        => "# TYPE a gauge\na{x=\"a\"b\"} 1\n",
        'bad escape'             => "# TYPE a gauge\na{x=\"a\\tb\"} 1\n",
        'bad value'              => "# TYPE a gauge\na 1,5\n",
        'interrupted family'     => "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 1\n",
        'TYPE after the samples' => "# HELP a x\na 1\n# TYPE a gauge\n",
        'two TYPEs'              => "# TYPE a gauge\n# TYPE a gauge\na 1\n",
        'other comment'          => "# hello\n# TYPE a gauge\na 1\n",
        'empty line'             => "# TYPE a gauge\n\na 1\n",
        'two spaces'             => "# TYPE a gauge\na  1\n",
        'trailing comma'         => "# TYPE a gauge\na{x=\"1\",} 1\n",
    );
    for my $name (sort keys %bad) {
        my (undef, $errors) = parse_metrics($bad{$name});
        ok(scalar @$errors, "rejected: $name");
    }
};


###########################################################################
# access

subtest 'the API key' => sub {
    my $r = $t->http(GET => $METRICS);
    is($r->{status}, 401, 'without the key: 401');
    is($r->{json}{error}, 'unauthorized', 'unauthorized');
    like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/, 'WWW-Authenticate');
    unlike($r->{body} // '', qr/linkcert_/, 'no metrics in the body');
    $r = $t->http(GET => $METRICS, key => 'wrong');
    is($r->{status}, 401, 'a wrong key: 401');
};

# The start is a renewal pass: both imported domains get a DNS check (no
# record: failed) within about 5 s; the baseline comes after them.
$t->wait_status($_, sub { defined $_[0]{dns} }, 8) for $IMP, $SOON;

# Waits (up to $timeout s) until $cond->(scrape) holds; the last scrape.
sub wait_metrics {
    my ($cond, $timeout) = @_;
    my $deadline = time + $timeout;
    my $m;
    while (1) {
        ($m) = scrape();
        return $m if $cond->($m) || time > $deadline;
        sleep 0.1;
    }
}

my ($m0, $err, $r) = scrape();

subtest 'the first scrape' => sub {
    is($r->{status}, 200, 'status 200');
    like($r->{headers}{'content-type'} // '',
         qr{^text/plain; version=0\.0\.4(?:; charset=utf-8)?$},
         'Content-Type text/plain; version=0.0.4');
    is_deeply($err, [], 'the text format is valid') or diag($r->{body});

    my %want = (
        linkcert_domains => [ gauge => 'status', qw(issued pending unknown) ],
        linkcert_certificates_expiring => [ gauge => 'within', '7d' ],
        linkcert_certificate_expiration_timestamp_seconds => [ 'gauge' ],
        linkcert_orders_total => [ counter => 'result', qw(issued failed transient) ],
        linkcert_dns_checks_total => [ counter => 'result', qw(verified failed transient) ],
        linkcert_handshakes_total => [ counter => 'outcome', qw(certificate fallback held) ],
        linkcert_on_demand_total => [ counter => 'result',
            qw(admitted refused_negative refused_rate refused_ask refused_dns
               refused_full) ],
        linkcert_renewals_total => [ 'counter' ],
        linkcert_last_renewal_timestamp_seconds => [ 'gauge' ],
        linkcert_zone_lock_holds_total => [ 'counter' ],
        linkcert_zone_lock_held_seconds_total => [ 'counter' ],
        linkcert_zone_lock_hold_max_seconds => [ 'gauge' ],
    );
    for my $name (sort keys %want) {
        my ($type, $label, @values) = @{ $want{$name} };
        my $f = $m0->{$name} // {};
        is($f->{type}, $type, "$name: TYPE $type");
        like($f->{help} // '', qr/\S/, "$name: HELP");
        my @got = sort map {
            my %l = %{ $_->{labels} };
            $label ? (join(',', sort keys %l) eq $label ? $l{$label} : 'bad labels')
                   : (%l ? 'bad labels' : 'none')
        } @{ $f->{samples} // [] };
        is_deeply(\@got, [ sort($label ? @values : 'none') ],
                  "$name: the series " . join(' ', $label ? @values : ()));
        if ($type eq 'counter') {
            my $re = $name =~ /_seconds_total$/ ? qr/^\d+\.\d+$/ : qr/^\d+$/;
            my @bad = grep { $_->{value} !~ $re } @{ $f->{samples} // [] };
            is(scalar @bad, 0, "$name: non-negative, whole unless seconds");
        }
    }

    # the hold histogram: cumulative buckets up to +Inf, _sum and _count
    my $h = $m0->{linkcert_hold_seconds} // {};
    is($h->{type}, 'histogram', 'linkcert_hold_seconds: TYPE histogram');
    like($h->{help} // '', qr/\S/, 'linkcert_hold_seconds: HELP');
    my @buckets = grep { $_->{name} eq 'linkcert_hold_seconds_bucket' }
                  @{ $h->{samples} // [] };
    is_deeply([ map { $_->{labels}{le} } @buckets ],
              [ qw(0.100 0.250 0.500 1.000 2.500 5.000 10.000 +Inf) ],
              'linkcert_hold_seconds: buckets 0.1 s to 10 s and +Inf');
    my ($count) = map { $_->{value} } grep {
        $_->{name} eq 'linkcert_hold_seconds_count' } @{ $h->{samples} // [] };
    my ($sum) = grep { $_->{name} eq 'linkcert_hold_seconds_sum' }
                @{ $h->{samples} // [] };
    is($count, 0, 'linkcert_hold_seconds_count 0 (on demand is off)');
    ok($sum, 'linkcert_hold_seconds_sum');
    is($buckets[-1]{value}, $count, '+Inf bucket = count');

    # the families of the zone, the CA and the hold's end: t/54
    my %t54 = map { $_ => 1 } qw(linkcert_zone_entries
        linkcert_zone_size_bytes linkcert_zone_used_bytes
        linkcert_zone_full_total linkcert_acme_requests_total
        linkcert_acme_errors_total linkcert_orders_by_origin_total
        linkcert_hold_timeouts_total);
    # the workers' certificate cache: t/18
    $t54{$_} = 1 for qw(linkcert_cache_lookups_total
        linkcert_cache_certificates linkcert_cache_size);
    my @other = grep {
        !$want{$_} && !$t54{$_}
        && !/^linkcert_hold_seconds(?:_bucket|_sum|_count)?$/
        && $_ ne 'linkcert_certificates_expiring_by_cause'
    } sort keys %$m0;
    is_deeply(\@other, [], 'no other family');

    my $body = $r->{body} // '';
    my @named = grep { index($body, $_) >= 0 } @NAMES, 'customer.test';
    is_deeply(\@named, [], 'no domain name anywhere (no series per domain)');

    is(value($m0, 'linkcert_certificates_expiring', within => '7d'), 1,
       "certificates_expiring{7d} = 1 ($SOON)");
    is(value($m0, 'linkcert_certificate_expiration_timestamp_seconds'),
       $t->parse_time($soon_not_after), 'expiration timestamp = its not_after');
    is(value($m0, 'linkcert_domains', status => 'issued'), 0,
       'none issued: the two imported ones point nowhere');
    is(value($m0, 'linkcert_domains', status => 'unknown'), 2,
       'two unknown (their certificates still served)');
    is(value($m0, 'linkcert_renewals_total'), 0, 'no renewal');

    # the zone's lock: taken by the start and by this scrape, briefly
    my $holds = value($m0, 'linkcert_zone_lock_holds_total');
    my $held = value($m0, 'linkcert_zone_lock_held_seconds_total');
    my $max = value($m0, 'linkcert_zone_lock_hold_max_seconds');
    cmp_ok($holds, '>', 0, 'the zone lock was taken');
    ok($max > 0 && $max <= $held, 'longest hold > 0 and <= the time held')
        or diag("max $max, held $held");
    cmp_ok($max, '<', 0.5, 'no hold of half a second with a few domains');
    is(value($m0, 'linkcert_last_renewal_timestamp_seconds'), 0,
       'last renewal 0 (never)');
};
domains_match_listing($m0, 'at the start');

# the expiring certificates by cause, in a family of their own
subtest 'certificates expiring, by cause' => sub {
    my $f = $m0->{linkcert_certificates_expiring_by_cause} // {};
    is($f->{type}, 'gauge', 'TYPE gauge');
    like($f->{help} // '', qr/\S/, 'HELP');
    is_deeply([ sort map { "$_->{labels}{within}/$_->{labels}{cause}" }
                @{ $f->{samples} // [] } ],
              [ '7d/dns_moved', '7d/renewal_failing' ], 'two series');
    is(value($m0, 'linkcert_certificates_expiring_by_cause',
             within => '7d', cause => 'dns_moved'), 1,
       "dns_moved: $SOON, whose DNS points nowhere");
    is(value($m0, 'linkcert_certificates_expiring_by_cause',
             within => '7d', cause => 'renewal_failing'), 0,
       'renewal_failing: none');
};


###########################################################################
# an issuance, a failed verification

$r = $t->verify($D);
is($r->{status}, 202, "POST $D: 202") or diag($r->{raw});
my ($j, $ok) = $pebble->wait_issued($D, 20);
ok($ok, "$D issued") or diag(explain $j), diag($pebble->notices);
my $d_fp = $j->{certificate}{sha256};

my ($m1, $err1) = scrape();
is_deeply($err1, [], 'valid text');

subtest 'after an issuance' => sub {
    is(value($m1, 'linkcert_orders_total', result => 'issued'),
       value($m0, 'linkcert_orders_total', result => 'issued') + 1,
       'orders_total{issued} + 1');
    for my $res (qw(failed transient)) {
        is(value($m1, 'linkcert_orders_total', result => $res),
           value($m0, 'linkcert_orders_total', result => $res),
           "orders_total{$res} unchanged");
    }
    is(value($m1, 'linkcert_dns_checks_total', result => 'verified'),
       value($m0, 'linkcert_dns_checks_total', result => 'verified') + 1,
       'dns_checks_total{verified} + 1');
    is(value($m1, 'linkcert_dns_checks_total', result => 'failed'),
       value($m0, 'linkcert_dns_checks_total', result => 'failed'),
       'dns_checks_total{failed} unchanged');
    is(value($m1, 'linkcert_domains', status => 'issued'), 1, 'one issued');
    is(value($m1, 'linkcert_certificate_expiration_timestamp_seconds'),
       $t->parse_time($soon_not_after), 'the earliest expiry is still the same');
};
domains_match_listing($m1, 'after the issuance');

$r = $t->verify($BAD);
is($r->{status}, 202, "POST $BAD: 202") or diag($r->{raw});
($j) = $t->wait_verified($BAD, 10);
is($j->{last_error}{type}, 'dns_mismatch', "$BAD: dns_mismatch") or diag(explain $j);

my ($m2, $err2) = scrape();
is_deeply($err2, [], 'valid text');
is(value($m2, 'linkcert_dns_checks_total', result => 'failed'),
   value($m1, 'linkcert_dns_checks_total', result => 'failed') + 1,
   'a failed verification: dns_checks_total{failed} + 1');
is(value($m2, 'linkcert_dns_checks_total', result => 'verified'),
   value($m1, 'linkcert_dns_checks_total', result => 'verified'),
   'dns_checks_total{verified} unchanged');
is(value($m2, 'linkcert_domains', status => 'unknown'),
   value($m1, 'linkcert_domains', status => 'unknown') + 1, 'one more unknown');
domains_match_listing($m2, 'after the failed verification');


###########################################################################
# handshakes

my ($m3) = scrape();
my @fps = map { $t->handshake($D) } 1 .. 5;
my @fb = map { $t->handshake($NOBODY) } 1 .. 4;
my ($m4, $err4) = scrape();
is_deeply($err4, [], 'valid text');

subtest 'handshakes' => sub {
    is(scalar(grep { ($_ // '') eq $d_fp } @fps), 5, "5 handshakes for $D: its certificate");
    is(scalar(grep { ($_ // '') eq $t->fallback_fingerprint } @fb), 4,
       "4 for $NOBODY: the fallback");
    is(value($m4, 'linkcert_handshakes_total', outcome => 'certificate'),
       value($m3, 'linkcert_handshakes_total', outcome => 'certificate') + 5,
       'handshakes_total{certificate} + 5');
    is(value($m4, 'linkcert_handshakes_total', outcome => 'fallback'),
       value($m3, 'linkcert_handshakes_total', outcome => 'fallback') + 4,
       'handshakes_total{fallback} + 4');
};


###########################################################################
# a renewal: 0% and a reload ($IMP and $SOON are checked too: no DNS)

my ($m5) = scrape();
$t->write_config(config('0%'));
my $reload_at = time;
$t->reload;
($j, my $renewed) = $t->wait_status($D, sub {
    ($_[0]{certificate}{sha256} // $d_fp) ne $d_fp
    && ($_[0]{stage} // '') eq 'issued' }, 20);
my $renewed_at = time;
ok($renewed, sprintf('%s renewed (%.1f s after the reload)', $D,
   $renewed_at - $reload_at)) or diag(explain $j), diag($pebble->notices);

# the pass checks $IMP and $SOON too (spread over about 5 s): wait for
# their two failed checks, then a moment for any extra one to show
my $failed5 = value($m5, 'linkcert_dns_checks_total', result => 'failed');
wait_metrics(sub {
    (value($_[0], 'linkcert_dns_checks_total', result => 'failed') // 0)
        >= $failed5 + 2 }, 10);
sleep 1;

my ($m6, $err6) = scrape();
is_deeply($err6, [], 'valid text');

subtest 'after the renewal' => sub {
    is(value($m6, 'linkcert_renewals_total'),
       value($m5, 'linkcert_renewals_total') + 1, 'renewals_total + 1');
    my $last = value($m6, 'linkcert_last_renewal_timestamp_seconds') // 0;
    cmp_ok($last, '>=', int($reload_at), 'last_renewal_timestamp_seconds: '
           . 'after the reload');
    cmp_ok($last, '<=', $renewed_at + 1, 'and not after it was seen');
    cmp_ok(abs($last - time), '<=', 10, 'within a few seconds of now');
    is(value($m6, 'linkcert_orders_total', result => 'issued'),
       value($m5, 'linkcert_orders_total', result => 'issued') + 1,
       'orders_total{issued} + 1');
    is(value($m6, 'linkcert_dns_checks_total', result => 'verified'),
       value($m5, 'linkcert_dns_checks_total', result => 'verified') + 1,
       "dns_checks_total{verified} + 1 ($D)");
    is(value($m6, 'linkcert_dns_checks_total', result => 'failed'),
       value($m5, 'linkcert_dns_checks_total', result => 'failed') + 2,
       "dns_checks_total{failed} + 2 ($IMP and $SOON)");
    is(value($m6, 'linkcert_domains', status => 'issued'), 1, 'still one issued');
    my @back;
    for my $name (grep { ($m5->{$_}{type} // '') eq 'counter' } keys %$m5) {
        for my $s (@{ $m5->{$name}{samples} }) {
            my $now = value($m6, $name, %{ $s->{labels} }) // -1;
            push @back, "$name @{[ %{ $s->{labels} } ]}: $s->{value} -> $now"
                if $now < $s->{value};
        }
    }
    is_deeply(\@back, [], 'no counter went back at the reload (kept in the zone)');
};
domains_match_listing($m6, 'after the renewal');


###########################################################################
# a DELETE

$r = $t->http(DELETE => "/.well-known/ssl-status?domain=$BAD", key => 1);
is($r->{status}, 200, "DELETE $BAD: 200") or diag($r->{raw});
my ($m7, $err7) = scrape();
is_deeply($err7, [], 'valid text');
is(value($m7, 'linkcert_domains', status => 'unknown'),
   value($m6, 'linkcert_domains', status => 'unknown') - 1,
   'after a DELETE: one unknown less');
domains_match_listing($m7, 'after the DELETE');

$t->no_crash_ok;

done_testing;
