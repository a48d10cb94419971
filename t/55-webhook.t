#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# linkcert_webhook against a receiver in the test (t/lib/LinkCert/
# Webhook.pm), with Pebble:
#
#   a domain POSTed and issued     -> unknown->pending, pending->issued,
#                                     each signed (HMAC checked here with
#                                     Digest::SHA), JSON, the object of
#                                     GET ?domain= at that moment
#   a domain pointing elsewhere    -> pending->unknown with dns_mismatch
#   the receiver answers 500       -> retried with backoff, nothing lost;
#                                     the queue length in /metrics
#   then 200 again                 -> every event delivered, once, in order
#                                     per domain (each previous_status is
#                                     the status of the event before)
#   receiver down (refused), nginx stopped and started again, receiver up
#                                  -> the events from before the restart
#                                     are delivered (kept in the store)

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use LinkCert::Webhook;
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);
my $RFC3339 = LinkCert::Test::rfc3339_re();
my $METRICS = '/.well-known/ssl-status/metrics';

my $TARGET = 'edge.crm.test';
my $D = 'links.customer.test';          # issued while the receiver is up
my $BAD = 'elsewhere.customer.test';    # points elsewhere
my $D2 = 'second.customer.test';        # issued while it answers 500
my $D3 = 'third.customer.test';         # issued across a restart

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for $D, $D2, $D3;
$t->set_cname($BAD, 'cdn.example.test');

$pebble->start;

my $wh = LinkCert::Webhook->new($t);

$t->write_config($t->dns_config(workers => 2, log_level => 'info',
    http => $pebble->acme_http_lines . $wh->directive(timeout => '2s')));
$t->run;

# the events of a domain delivered so far
sub events_of {
    my ($domain, @ev) = @_;
    return grep { ($_->{domain} // '') eq $domain } @ev;
}

# each event's previous_status is the status of the one before
sub chained {
    my (@ev) = @_;
    for my $i (1 .. $#ev) {
        return 0 if $ev[$i]{previous_status} ne $ev[$i - 1]{status};
    }
    return 1;
}

sub statuses { join ' ', map { "$_->{previous_status}->$_->{status}" } @_ }



###########################################################################

subtest 'a domain issued: its events, signed, with the object' => sub {
    is($t->verify($D)->{status}, 202, 'POST: 202');
    my ($j, $ok) = $pebble->wait_issued($D, 20);
    ok($ok, 'issued') or diag(explain $j);

    my ($ev, $done) = $wh->wait_delivered(sub {
        grep { $_->{status} eq 'issued' } events_of($D, @_) }, 10);
    ok($done, 'the issued event arrived') or diag(explain $ev);

    my @ev = events_of($D, @$ev);
    is(statuses(@ev), 'unknown->pending pending->issued',
       'unknown -> pending (the POST), pending -> issued')
        or diag(explain \@ev);

    my @req = grep { ($_->{json}{domain} // '') eq $D } $wh->requests;
    is(scalar @req, 2, 'two requests, each answered 200');

    for my $r (@req) {
        is($r->{line}, 'POST /hooks/linkcert HTTP/1.1', 'POST to the path');
        is($r->{headers}{'content-type'}, 'application/json',
           'Content-Type: application/json');
        like($r->{headers}{'linkcert-signature'} // '',
             qr/^t=\d+,v1=[0-9a-f]{64}$/, 'Linkcert-Signature t=,v1=');
        ok($wh->signature_ok($r), 'the HMAC-SHA256 of "<t>.<body>" checks '
                                  . 'out with the secret (whitespace of '
                                  . 'the file stripped)');
        my $e = $r->{json};
        like($e->{id} // '', qr/^[0-9a-f]{32}$/, 'id: 128-bit hex');
        is($e->{type}, 'domain.status', 'type domain.status');
        like($e->{at} // '', $RFC3339, 'at: RFC 3339');
        is_deeply([ sort keys %$e ],
                  [ sort qw(id type at domain status previous_status
                            object) ], 'the fields of the issue, no more');
        is($e->{object}{domain}, $D, 'object.domain');
        is($e->{object}{status}, $e->{status}, 'object.status = status');
    }

    isnt($req[0]{json}{id}, $req[1]{json}{id}, 'ids differ');
    is_deeply($req[1]{json}{object}, $t->status_of($D)->{json},
              'the issued event\'s object is what GET ?domain= answers');

    # a tampered body, or another secret, does not verify
    my %bad = (%{ $req[0] }, body => $req[0]{body} . ' ');
    ok(!$wh->signature_ok(\%bad), 'a changed body fails the check');

    unlike($t->error_log, qr/\Q${\ $wh->secret }\E/,
           'the secret is never logged');
};

subtest 'a domain pointing elsewhere: pending -> unknown, dns_mismatch' => sub {
    is($t->verify($BAD)->{status}, 202, 'POST: 202');
    my ($ev, $ok) = $wh->wait_delivered(sub {
        grep { $_->{status} eq 'unknown' } events_of($BAD, @_) }, 10);
    ok($ok, 'delivered') or diag(explain $ev);
    my @ev = events_of($BAD, @$ev);
    is(statuses(@ev), 'unknown->pending pending->unknown', 'the two events');
    is($ev[-1]{object}{last_error}{type}, 'dns_mismatch',
       'object.last_error.type dns_mismatch');
};

subtest 'the receiver fails, then recovers: every event, once, in order' => sub {
    my $before = scalar $wh->delivered;
    $wh->answer(500);

    is($t->verify($D2)->{status}, 202, 'POST: 202');
    my ($j, $ok) = $pebble->wait_issued($D2, 20);
    ok($ok, 'issued meanwhile') or diag(explain $j);

    # a few attempts answered 500 (1 s, 2 s, ... apart)
    my $deadline = time + 10;
    sleep 0.2 while time < $deadline
        && (grep { $_->{answered} == 500 } $wh->requests) < 3;
    my @failed = grep { $_->{answered} == 500 } $wh->requests;
    cmp_ok(scalar @failed, '>=', 3, 'retried after 500s');
    is(scalar(() = $wh->delivered), $before, 'nothing counted delivered');
    ok(!(grep { ($_->{json}{status} // '') eq 'issued' } @failed),
       'the issued event waits for the pending one: order per domain')
        or diag(statuses(map { $_->{json} } @failed));

    my $m = $t->metric_values;
    cmp_ok($m->{linkcert_webhook_queue} // -1, '>=', 2,
           'linkcert_webhook_queue: the two waiting events');
    cmp_ok($m->{'linkcert_webhook_deliveries_total{result="failed"}'} // 0,
           '>=', 3, 'deliveries_total{failed}');

    $wh->answer(200);

    my ($ev, $done) = $wh->wait_delivered(sub {
        grep { $_->{status} eq 'issued' } events_of($D2, @_) }, 20);
    ok($done, 'delivered once the receiver is back') or diag(explain $ev);

    my @ev = events_of($D2, @$ev);
    is(statuses(@ev), 'unknown->pending pending->issued',
       'each event once, in order') or diag(explain \@ev);
    my %ids;
    $ids{$_->{id}}++ for @$ev;
    is(scalar(grep { $_ > 1 } values %ids), 0, 'no event twice');

    $m = $t->metric_values;
    is($m->{linkcert_webhook_queue}, 0, 'the queue is empty');
    cmp_ok($m->{'linkcert_webhook_deliveries_total{result="delivered"}'}
           // 0, '>=', 6, 'deliveries_total{delivered}');
    is($m->{'linkcert_webhook_dropped_total{reason="full"}'}, 0,
       'nothing dropped');
};

subtest 'receiver down, nginx restarted: the events are kept' => sub {
    $wh->stop;

    is($t->verify($D3)->{status}, 202, 'POST: 202');
    my ($j, $ok) = $pebble->wait_issued($D3, 20);
    ok($ok, 'issued while nobody listens') or diag(explain $j);

    my $deadline = time + 5;
    my @files;
    while (time < $deadline) {
        @files = glob($t->store . '/webhooks/*.json');
        last if @files >= 2;
        sleep 0.1;
    }
    is(scalar @files, 2, 'the two events are files in <store>/webhooks');
    like(join(' ', @files), qr{/webhooks/\d{16}\.json}, 'named by sequence');
    like($t->error_log, qr/webhook event \d+ not delivered to "[^"]+" \(attempt \d+\): connection refused/,
         'the failed attempts are logged');

    $t->stop;
    my @kept = map { LinkCert::Test::_read_file($_) } @files;
    $t->run;

    $wh->start;

    my ($ev, $done) = $wh->wait_delivered(sub {
        grep { $_->{status} eq 'issued' } events_of($D3, @_) }, 20);
    ok($done, 'delivered after the restart') or diag(explain $ev);

    my @ev = events_of($D3, @$ev);
    is(statuses(@ev), 'unknown->pending pending->issued', 'in order, once');

    my @ids = map { (JSON::PP->new->decode($_))->{id} } @kept;
    is_deeply([ map { $_->{id} } @ev ], \@ids,
              'the very events stored before the restart');

    $deadline = time + 5;
    sleep 0.1 while time < $deadline
        && $wh->stored;
    is($wh->stored, 0,
       'their files are gone once delivered');

    ok(chained(events_of($_, $wh->delivered)), "$_: chained")
        for $D, $BAD, $D2, $D3;
};

subtest 'https://: verified against its own trusted certificates' => sub {
    my $tls = LinkCert::Webhook->new($t, name => 'webhook_tls',
        tls => { cert => $pebble->listener_cert,
                 key => $pebble->listener_key });
    my $BAD2 = 'tls.customer.test';
    $t->set_cname($BAD2, 'cdn.example.test');

    # the system's CAs do not know Pebble's listener CA
    $t->write_config($t->dns_config(workers => 2, log_level => 'info',
        http => $pebble->acme_http_lines . $tls->directive));
    $t->reload;

    is($t->verify($BAD2)->{status}, 202, 'POST: 202');
    my $deadline = time + 10;
    sleep 0.2 while time < $deadline
        && $t->error_log !~ /certificate of "127\.0\.0\.1" does not verify/;
    like($t->error_log, qr/certificate of "127\.0\.0\.1" does not verify/,
         'the receiver\'s certificate does not verify against the system '
         . 'store');
    is(scalar(() = $tls->requests), 0, 'so nothing is sent to it');

    $t->write_config($t->dns_config(workers => 2, log_level => 'info',
        http => $pebble->acme_http_lines . $tls->directive
                . "    linkcert_webhook_trusted_certificate "
                . $pebble->ca_file . ";\n"));
    $t->reload;

    my ($ev, $ok) = $tls->wait_delivered(sub {
        grep { $_->{status} eq 'unknown' } events_of($BAD2, @_) }, 20);
    ok($ok, 'with linkcert_webhook_trusted_certificate: delivered')
        or diag(explain $ev);
    is(statuses(events_of($BAD2, @$ev)), 'unknown->pending pending->unknown',
       'both events, in order, after the reload');
    ok($tls->signature_ok(($tls->requests)[0]), 'signed');
};

$t->stop;

done_testing;
