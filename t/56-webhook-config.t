#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# linkcert_webhook's configuration, and what t/55 does not cover:
#
#   nginx -t: each mistake is an [emerg] naming the directive and the
#   value (a bad URL, an unreadable or empty secret file, a bad timeout, an
#   unknown parameter, a duplicate, an unreadable
#   linkcert_webhook_trusted_certificate for an https:// URL)
#   no secret=                  -> events without Linkcert-Signature
#   a new last_error.type alone -> an event whose status did not change
#   receiver down, a reload, receiver up
#                               -> the events from before the reload are
#                                  delivered once (the new worker 0 takes
#                                  over the queue)
#   events older than 24 h      -> dropped at their next failure, [error]
#   10,000 events stored        -> a new one drops the oldest, [error]
#   without linkcert_webhook    -> no webhook series in /metrics

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Webhook;
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);
use LinkCert::Util qw(port_open wait_until);

my $t = LinkCert::Test->new;

my $TARGET = 'edge.crm.test';
my $D = 'links.customer.test';
my $FLAP = 'flap.customer.test';

my $secret = $t->prefix . '/secret.txt';
my $empty = $t->prefix . '/empty.txt';
open my $fh, '>', $secret or die $!; print $fh "s3cret\n"; close $fh;
open $fh, '>', $empty or die $!; print $fh " \n"; close $fh;

sub config_fails {
    my ($name, $line, @patterns) = @_;

    subtest "error: $name" => sub {
        $t->write_config($t->standard_config(http => "    $line\n"));
        my ($rc, $out) = $t->test_config;
        isnt($rc, 0, 'nginx -t fails');
        my $emerg = join "\n", grep { /\[emerg\]/ } split /\n/, $out;
        isnt($emerg, '', 'with an [emerg] line') or diag($out);
        like($emerg, $_, "the [emerg] line matches $_") for @patterns;
        unlike($out, qr/s3cret/, 'the secret is not in the output');
    };
}

sub config_ok {
    my ($name, $line) = @_;

    subtest "ok: $name" => sub {
        $t->write_config($t->standard_config(http => "    $line\n"));
        my ($rc, $out) = $t->test_config;
        is($rc, 0, 'nginx -t succeeds') or diag($out);
        unlike($out, qr/\[(?:emerg|alert|crit)\]/, 'no errors');
    };
}

config_fails('not a URL', 'linkcert_webhook crm.test/hooks;',
             qr/invalid URL "crm\.test\/hooks" in "linkcert_webhook"/);
config_fails('another scheme', 'linkcert_webhook ftp://crm.test/;',
             qr/invalid URL "ftp:\/\/crm\.test\/" in "linkcert_webhook"/);
config_fails('an unreadable secret',
             'linkcert_webhook http://127.0.0.1:9/ secret=/nonexistent/s;',
             qr/"linkcert_webhook"/, qr{"/nonexistent/s"});
config_fails('an empty secret',
             "linkcert_webhook http://127.0.0.1:9/ secret=$empty;",
             qr/"linkcert_webhook": "\Q$empty\E" is empty/);
# a parameter that is not one: its value is named
for my $bad ('secret=', 'timeout=soon', 'timeout=0', 'retries=3') {
    config_fails("the parameter $bad",
                 "linkcert_webhook http://127.0.0.1:9/ $bad;",
                 qr/invalid parameter "\Q$bad\E" in "linkcert_webhook"/);
}

config_fails('twice',
             "linkcert_webhook http://127.0.0.1:9/;\n"
             . "    linkcert_webhook http://127.0.0.1:10/;",
             qr/"linkcert_webhook" directive is duplicate/);
config_fails('https:// with an unreadable trust list',
             "linkcert_webhook https://crm.test/hooks;\n"
             . "    linkcert_webhook_trusted_certificate /nonexistent/ca.pem;",
             qr{/nonexistent/ca\.pem});

config_ok('http:// without a secret', 'linkcert_webhook http://127.0.0.1:9/;');
config_ok('all parameters',
          "linkcert_webhook http://127.0.0.1:9/h secret=$secret timeout=5s;");
config_ok('https:// against the system trust store',
          'linkcert_webhook https://crm.test/hooks;');



###########################################################################
# running: no secret, a new error type, a reload

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($D, 'cdn.example.test');
$t->set_cname($FLAP, 'cdn.example.test');

my $wh = LinkCert::Webhook->new($t, secret => undef);

# no CA: a verified domain waits at pending with last_error
# no_acme_directory
$t->write_config($t->dns_config(workers => 2, log_level => 'info',
                                http => $wh->directive));
$t->run;

subtest 'without secret=: no signature header' => sub {
    is($t->verify($D)->{status}, 202, 'POST: 202');
    my ($ev, $ok) = $wh->wait_delivered(sub {
        grep { $_->{domain} eq $D && $_->{status} eq 'unknown' } @_ }, 10);
    ok($ok, 'pending -> unknown delivered') or diag(explain $ev);
    my @req = $wh->requests;
    ok(@req >= 2, 'requests arrived');
    ok(!(grep { exists $_->{headers}{'linkcert-signature'} } @req),
       'none has Linkcert-Signature');
    is($req[0]{headers}{'content-type'}, 'application/json', 'JSON');
};

subtest 'a new error type alone is an event' => sub {

    # unknown/dns_mismatch -> pending (POST) -> the DNS is right now: no
    # CA, so pending with no_acme_directory: pending -> pending
    $t->set_cname($D, $TARGET);
    sleep 10.5;    # the next "Verify domain" is allowed 10 s after the last
    is($t->verify($D)->{status}, 202, 'POST again: 202');

    my ($ev, $ok) = $wh->wait_delivered(sub {
        grep { $_->{domain} eq $D
               && ($_->{object}{last_error}{type} // '') eq
                  'no_acme_directory' } @_ }, 10);
    ok($ok, 'the no_acme_directory event arrived') or diag(explain $ev);
    my @ev = grep { $_->{domain} eq $D } @$ev;
    is(join(' ', map { "$_->{previous_status}->$_->{status}" } @ev),
       'unknown->pending pending->unknown unknown->pending pending->pending',
       'the last one: status unchanged, a new error type');
};

subtest 'receiver down, a reload, receiver up: delivered once' => sub {
    $wh->stop;
    my $offset = () = $wh->requests;

    is($t->verify($FLAP)->{status}, 202, 'POST: 202');
    my $deadline = time + 10;
    sleep 0.1 while time < $deadline
        && $wh->stored < 2;
    is($wh->stored, 2,
       'two events stored');

    $t->reload;
    $wh->start;

    my ($ev, $ok) = $wh->wait_delivered(sub {
        grep { $_->{domain} eq $FLAP && $_->{status} eq 'unknown' } @_ },
        20);
    ok($ok, 'delivered after the reload') or diag(explain $ev);
    my @ev = grep { $_->{domain} eq $FLAP } @$ev;
    is(join(' ', map { "$_->{previous_status}->$_->{status}" } @ev),
       'unknown->pending pending->unknown', 'each once, in order');

    $deadline = time + 5;
    sleep 0.1 while time < $deadline
        && $wh->stored;
    is($wh->stored, 0,
       'the store\'s queue is empty');
    is($t->metric_values->{linkcert_webhook_queue}, 0, 'so is the metric');
};

subtest 'the README\'s receiver, against the module' => sub {
    plan skip_all => 'no python3' unless `python3 -c 'print(1)' 2>/dev/null`;

    open my $rd, '<', "$FindBin::Bin/../README.md" or die $!;
    my ($code) = do { local $/; <$rd> } =~ /^```python\n(.*?)^```$/ms;
    ok($code, 'the README has the receiver');

    my $port = $t->port('python');
    $code =~ s{"/etc/crm/linkcert-webhook.secret"}{"$secret"} or fail('path');
    $code =~ s/8081/$port/ or fail('port');

    my $out = $t->prefix . '/logs/receiver.out';
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $out or die $!;
        open STDERR, '>', "$out.err" or die $!;
        exec 'python3', '-c', $code or POSIX::_exit(127);
    }

    # the receiver listens before the first event (python3's start takes
    # seconds on a busy machine)
    ok(wait_until(sub { port_open($port) }, 30), 'the receiver listens')
        or diag(LinkCert::Test::_read_file("$out.err"));

    # linkcert signs with the secret file's content, whitespace stripped
    $t->write_config($t->dns_config(workers => 2, log_level => 'info',
        http => "    linkcert_webhook http://127.0.0.1:$port/ "
                . "secret=$secret;\n"));
    $t->reload;

    $t->set_cname('py.customer.test', 'cdn.example.test');
    is($t->verify('py.customer.test')->{status}, 202, 'POST: 202');

    my $deadline = time + 30;    # a failure's only
    my $printed = '';
    while (time < $deadline) {
        $printed = LinkCert::Test::_read_file($out) // '';
        last if $printed =~ /py\.customer\.test pending -> unknown/;
        sleep 0.1;
    }
    like($printed, qr/^[0-9a-f]{32} py\.customer\.test unknown -> pending\n[0-9a-f]{32} py\.customer\.test pending -> unknown$/m,
         'it accepted both events (the signature checks out)')
        or diag(LinkCert::Test::_read_file("$out.err"));

    my $bad = HTTP::Tiny->new->post("http://127.0.0.1:$port/", {
        headers => { 'Linkcert-Signature' => 't=' . time . ',v1=' . ('0' x 64),
                     'Content-Type' => 'application/json' },
        content => '{}' });
    is($bad->{status}, 401, 'and refuses a bad signature');

    kill 'TERM', $pid;
    waitpid $pid, 0;
};

subtest 'kept 24 h, then dropped' => sub {
    $wh->stop;
    $t->set_cname('old.customer.test', 'cdn.example.test');
    is($t->verify('old.customer.test')->{status}, 202, 'POST: 202');
    my $deadline = time + 10;
    sleep 0.1 while time < $deadline && $wh->stored < 2;
    is($wh->stored, 2, 'two events stored');

    # a file's time is when its event was made
    $t->stop;
    my $then = time - 86400 - 60;
    utime $then, $then, glob($t->store . '/webhooks/*.json');
    $t->run;

    $deadline = time + 10;
    sleep 0.1 while time < $deadline && $wh->stored > 0;
    is($wh->stored, 0, 'both dropped after their next failed attempt');
    my @lines = $t->error_log =~ /(\[error\].*webhook event \d+ dropped: not delivered within 24 h)/g;
    is(scalar @lines, 2, 'an [error] line each');
    is($t->metric_values->{'linkcert_webhook_dropped_total{reason="expired"}'},
       2, 'dropped_total{expired}');
};

subtest 'at 10,000 events the oldest makes room' => sub {
    $t->stop;

    # 10,000 events of one domain, as if the receiver had been down long
    my $dir = $t->store . '/webhooks';
    for my $i (1 .. 10000) {
        open my $ef, '>', sprintf('%s/%016d.json', $dir, $i) or die $!;
        print $ef qq({"id":"$i","type":"domain.status","domain":"many.customer.test"}\n);
        close $ef;
    }

    $t->run;
    my $deadline = time + 10;
    sleep 0.1 while time < $deadline
        && ($t->metric_values->{linkcert_webhook_queue} // 0) < 10000;
    is($t->metric_values->{linkcert_webhook_queue}, 10000,
       'linkcert_webhook_queue: 10000 read from the store');

    # its two events (pending, then the DNS answer) drop the two oldest
    $t->set_cname('new.customer.test', 'cdn.example.test');
    is($t->verify('new.customer.test')->{status}, 202, 'POST: 202');
    $deadline = time + 10;
    sleep 0.1 while time < $deadline
        && !-e "$dir/0000000000010002.json";
    my @lines = $t->error_log =~ /\[error\].*webhook event 0*(\d+) dropped: the queue is full \(10000 events\)/g;
    # (the oldest of all may be being sent at that moment: then the next)
    is(scalar @lines, 2, 'two dropped, an [error] line each');
    ok(!(grep { $_ > 3 } @lines), "the oldest ones (@lines)");
    ok(!(grep { -e sprintf('%s/%016d.json', $dir, $_) } @lines),
       'their files are gone');
    ok(-e "$dir/0000000000010001.json" && -e "$dir/0000000000010002.json",
       'the new events are stored');

    my $m = $t->metric_values;
    is($m->{linkcert_webhook_queue}, 10000, 'still 10000 waiting');
    is($m->{'linkcert_webhook_dropped_total{reason="full"}'}, 2,
       'dropped_total{full}');
};

$t->stop;

subtest 'without linkcert_webhook: no webhook series' => sub {
    $t->write_config($t->dns_config(workers => 1));
    $t->run;
    my $m = $t->metric_values;
    ok(exists $m->{'linkcert_domains{status="issued"}'}, 'metrics answer');
    ok(!(grep { /^linkcert_webhook/ } keys %$m), 'no linkcert_webhook_*');
    $t->stop;
};

done_testing;
