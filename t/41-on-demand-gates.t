#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# On demand: the gates a new name passes before it costs an order, with a
# real nginx, pebble-challtestsrv and Pebble (no mocks).
#
#   1. linkcert_ask (served by nginx itself on a second server): a 2xx
#      allows (issued, the first handshake is held and verifies with
#      Pebble's root); 403 and a 302 (not followed) refuse for
#      linkcert_negative_ttl; no answer within 5 s refuses for 60 s.  A
#      refused name never reaches the CA, leaves the table ("none", but
#      GET ?domain= shows the refusal: ask_refused or ask_failed, source
#      ask, and next_attempt_at), and its next handshake gets the
#      fallback at once (refused_negative).
#      The ask server received ?domain=<name>.  A plain-HTTP Host passes
#      the same gates without waiting.  An ask URL where nothing listens
#      refuses for min(60 s, negative_ttl).
#   2. A flood of 1000 random names that are not in DNS, from one client,
#      then 1000 more from 8 at once: 0 orders, every handshake gets the
#      fallback and none is held long, the table is unchanged afterwards,
#      and the DNS work is bounded by the admission rate (10/s, burst 20):
#      admitted, DNS checks, and the names challtestsrv was asked about (its
#      request history).  A name refused for the rate is not remembered.
#      With a DNS server that never answers (and linkcert_hold 0), at most
#      64 names are in the DNS gate at once.
#   3. linkcert_order_rate 1/h: the second new name waits at
#      pending/ordering with last_error order_budget and next_attempt_at
#      about an hour away; no order at Pebble; its handshake is not held.
#      The CRM's "Verify domain" (POST) of a new name, and of the waiting
#      one, orders at once all the same.
#      (The ask URL there has a query: "&domain=" is appended.)
#   4. linkcert_registered_domain_limit 1: a.reg.test issued, b.reg.test
#      waits with registered_domain_limit naming reg.test; a name under
#      another registered domain is still issued.
#   5. (run first) Configuration errors of the new directives: nginx -t
#      fails with an [emerg] line naming the directive and the value.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use IO::Socket::INET;
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $pebble = LinkCert::Pebble->new($t);
my $T0 = time;

my $TARGET = 'edge.crm.test';
my $METRICS = '/.well-known/ssl-status/metrics';
my $FALLBACK = $t->fallback_fingerprint;

# IO::Socket::SSL makes (and loads) a new SSL_CTX for every connection
# unless one is reused: 25 ms a handshake instead of 1.5 ms
my $CLIENT_CTX = IO::Socket::SSL::SSL_Context->new(
    SSL_verify_mode => SSL_VERIFY_NONE)
    or die "SSL_Context: $IO::Socket::SSL::SSL_ERROR";
my $HOLD = 8;                            # the default linkcert_hold, s


###########################################################################
# helpers

# The handshakes for @$names, made by $procs forked clients, each going
# through its share sequentially, as fast as it can: ({ name, fp,
# elapsed, error }, ...).
sub flood {
    my ($names, $procs) = @_;
    my $dir = $t->prefix . '/flood';
    mkdir $dir;
    my @pids;
    for my $i (0 .. $procs - 1) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open my $out, '>', "$dir/$i" or POSIX::_exit(1);
            for (my $j = $i; $j < @$names; $j += $procs) {
                my $r = hs($names->[$j], 10);
                print $out join("\t", $names->[$j], $r->{elapsed},
                                $r->{fp} // '-', $r->{error} // '-'), "\n";
            }
            close $out;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid $_, 0 for @pids;
    my @r;
    for my $i (0 .. $procs - 1) {
        open my $in, '<', "$dir/$i" or next;
        while (<$in>) {
            chomp;
            my ($name, $elapsed, $fp, $error) = split /\t/;
            push @r, { name => $name, elapsed => $elapsed,
                       fp => $fp eq '-' ? undef : $fp, error => $error };
        }
    }
    return @r;
}

# One TLS handshake to the TLS listener: { fp, elapsed, error }.  The
# client waits up to $timeout s (a held handshake can take 8 s).
sub hs {
    my ($sni, $timeout) = @_;
    my $t0 = time;
    my $sock = IO::Socket::SSL->new(
        PeerAddr => '127.0.0.1', PeerPort => $t->port(0),
        Timeout => $timeout // 15, SSL_hostname => $sni,
        SSL_verify_mode => SSL_VERIFY_NONE, SSL_reuse_ctx => $CLIENT_CTX);
    my $elapsed = time - $t0;
    return { elapsed => $elapsed,
             error => "$IO::Socket::SSL::SSL_ERROR $!" } unless $sock;
    my $fp = lc($sock->get_fingerprint('sha256') =~ s/^sha256\$//r);
    $sock->close(SSL_fast_shutdown => 1);
    return { fp => $fp, elapsed => $elapsed };
}

# The metrics as { 'name{labels}' => value } (empty if not a 200).
sub metrics { $t->metric_values }

sub od   { $_[0]{qq{linkcert_on_demand_total{result="$_[1]"}}} }
sub hsm  { $_[0]{qq{linkcert_handshakes_total{outcome="$_[1]"}}} }
sub dnsm { $_[0]{qq{linkcert_dns_checks_total{result="$_[1]"}}} }

sub domains_total {
    my ($m) = @_;
    my $n = 0;
    $n += $m->{qq{linkcert_domains{status="$_"}}} // 0
        for qw(issued pending unknown);
    return $n;
}

# The status object of a name never seen, with "domain" removed.
sub unseen_shape {
    my ($j) = @_;
    my %c = %{ $j // {} };
    delete $c{domain};
    return \%c;
}

# The number of answers challtestsrv gives to one query ($type: 1 A,
# 28 AAAA, 5 CNAME), read from the raw reply; undef without a reply.
sub dns_answers {
    my ($name, $type) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->dns_port, Proto => 'udp')
        or return undef;
    my $q = pack('n6', 0x1234, 0x0100, 1, 0, 0, 0)
          . join('', map { chr(length) . $_ } split /\./, $name)
          . "\0" . pack('n2', $type, 1);
    $s->send($q);
    my $rin = '';
    vec($rin, fileno $s, 1) = 1;
    return undef unless select(my $rout = $rin, undef, undef, 2) > 0;
    $s->recv(my $reply, 4096);
    return undef unless length $reply >= 12;
    my (undef, $flags, undef, $ancount) = unpack 'n4', $reply;
    return ($flags & 0xf) ? -($flags & 0xf) : $ancount;
}

# Queries challtestsrv received for $name (its request history).  The
# request goes out in one write (HTTP::Tiny's separate writes of head and
# body meet delayed ACKs: 40 ms a request).
sub dns_history {
    my ($name) = @_;
    my $body = qq({"host":"$name"});
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->dns_mgmt_port,
                                  Proto => 'tcp', Timeout => 5)
        or return undef;
    $s->syswrite("POST /dns-request-history HTTP/1.1\r\n"
                 . "Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 . 'Content-Length: ' . length($body)
                 . "\r\nConnection: close\r\n\r\n$body");
    my $raw = '';
    while (sysread($s, my $buf, 65536)) { $raw .= $buf }
    close $s;
    my ($status, $content) = $raw =~ m{^HTTP/1\.1 (\d+).*?\r\n\r\n(.*)}s
        or return undef;
    return undef unless $status == 200;
    my $list = eval { JSON::PP->new->decode($content) };
    return ref $list eq 'ARRAY' ? $list : undef;
}

sub config {
    my (%o) = @_;
    return $t->dns_config(workers => 2, log_level => 'info',
        servers => $o{servers},
        (exists $o{resolver} ? (resolver => $o{resolver}) : ()),
        http => $pebble->acme_http_lines
                . "    linkcert_on_demand dns;\n" . ($o{http} // ''));
}

sub phase { note(sprintf '%5.1f s: %s', time - $T0, $_[0]) }

sub restart_with {
    my ($text) = @_;
    $t->stop;
    $t->write_config($text);
    $t->run;
}


###########################################################################
# 5. configuration errors (first: no process needed)

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);

subtest 'config: a working on-demand configuration' => sub {
    $t->write_config(config(http => join '',
        "    linkcert_ask http://127.0.0.1:9/ask;\n",
        "    linkcert_hold 3s;\n",
        "    linkcert_order_rate 50/h;\n",
        "    linkcert_registered_domain_limit 5;\n",
        "    linkcert_negative_ttl 5m;\n"));
    my ($rc, $out) = $t->test_config;
    is($rc, 0, 'nginx -t succeeds') or diag($out);
    unlike($out, qr/\[(?:emerg|alert|crit)\]/, 'no errors');
};

for my $case (
    [ 'linkcert_order_rate 0/h', config(http => "    linkcert_order_rate 0/h;\n"),
      qr/linkcert_order_rate/, qr{"0/h"} ],
    [ 'linkcert_order_rate 100', config(http => "    linkcert_order_rate 100;\n"),
      qr/linkcert_order_rate/, qr/"100"/ ],
    [ 'linkcert_on_demand yes',
      config() =~ s/linkcert_on_demand dns;/linkcert_on_demand yes;/r,
      qr/linkcert_on_demand/, qr/"yes"/ ],
    [ 'linkcert_ask ftp://x', config(http => "    linkcert_ask ftp://x;\n"),
      qr/linkcert_ask/, qr{ftp://x} ],
    [ 'linkcert_on_demand dns without a target',
      $t->dns_config(workers => 2, cname_target => undef,
                     target_address => undef,
                     http => $pebble->acme_http_lines
                             . "    linkcert_on_demand dns;\n"),
      qr/linkcert_on_demand/, qr/linkcert_cname_target/,
      qr/linkcert_target_address/ ],
) {
    my ($name, $text, @patterns) = @$case;
    subtest "config error: $name" => sub {
        $t->write_config($text);
        my ($rc, $out) = $t->test_config;
        isnt($rc, 0, 'nginx -t fails');
        my @emerg = grep { /\[emerg\]/ } split /\n/, $out;
        ok(scalar @emerg, 'with an [emerg] line') or diag($out);
        my @named = @emerg;
        for my $re (@patterns) {
            @named = grep { /$re/ } @named;
        }
        ok(scalar @named, 'one [emerg] line matches all of '
                          . join(' ', @patterns)) or diag($out);
    };
}


###########################################################################
# 1. linkcert_ask

my $ALLOW = 'allow-one.ask.test';
my $DENY = 'deny-one.ask.test';
my $REDIRECT = 'redirect-one.ask.test';
my $SLOW = 'slow-one.ask.test';
my $UNSEEN = 'never-seen.ask.test';
my $PLAIN_ALLOW = 'allow-plain.ask.test';
my $PLAIN_DENY = 'deny-plain.ask.test';

phase('1. linkcert_ask');
$t->set_cname($_, $TARGET)
    for $ALLOW, $DENY, $REDIRECT, $SLOW, $PLAIN_ALLOW, $PLAIN_DENY;

subtest 'challtestsrv: the ask names are CNAMEs to the edge' => sub {
    for my $name ($ALLOW, $DENY, $REDIRECT, $SLOW) {
        is(dns_answers($name, 5), 1, "$name has a CNAME");
    }
};

$pebble->start;

# a TCP port that listens and never accepts: the "slow" ask backend
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Proto => 'tcp', Listen => 16,
                                   ReuseAddr => 1)
    or die "cannot listen on loopback: $!";
my $silent_port = $silent->sockport;

my $ASK_LOG = $t->prefix . '/logs/ask.log';
my $ask_servers = <<"EOF";
    log_format linkcert_ask '\$request_uri \$status';

    # (an "if" holding proxy_pass would not stop the "return" after it)
    map \$arg_domain \$linkcert_ask_answer {
        ~^allow     allow;
        ~^redirect  redirect;
        ~^slow      slow;
        default     deny;
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        server_name ask;
        access_log $ASK_LOG linkcert_ask;
        proxy_connect_timeout 2s;
        proxy_read_timeout 10s;

        location = /ask {
            if (\$linkcert_ask_answer = allow) { return 200 "yes\\n"; }
            if (\$linkcert_ask_answer = redirect) {
                return 302 http://127.0.0.1:%%PORT_2%%/ask?domain=allow.x;
            }
            if (\$linkcert_ask_answer = deny) { return 403; }

            # slow: a backend that accepts (the kernel does) and never answers
            proxy_pass http://127.0.0.1:$silent_port;
        }
    }
EOF

$t->write_config(config(servers => $ask_servers,
    http => "    linkcert_ask http://127.0.0.1:%%PORT_2%%/ask;\n"));
$t->run;

sub ask_log {
    open my $fh, '<', $ASK_LOG or return ();
    return map { chomp; $_ } <$fh>;
}

subtest 'the ask server answers as configured (nginx itself)' => sub {
    my $get = sub {
        my $r = HTTP::Tiny->new(timeout => 3, max_redirect => 0)
            ->get('http://127.0.0.1:' . $t->port(2) . "/ask?domain=$_[0]");
        return $r->{status};
    };
    is($get->('allow.probe.test'), 200, 'allow... -> 200');
    is($get->('deny.probe.test'), 403, 'anything else -> 403');
    is($get->('redirect.probe.test'), 302, 'redirect... -> 302');
    my $r = HTTP::Tiny->new(timeout => 1)
        ->get('http://127.0.0.1:' . $t->port(2) . '/ask?domain=slow.probe.test');
    is($r->{status}, 599, 'slow... -> no answer (the client gave up after 1 s)')
        or diag("$r->{status} $r->{content}");
};

my $orders0 = $pebble->order_count;
my $m0 = metrics();
ok($m0 && defined od($m0, 'admitted'), 'metrics: linkcert_on_demand_total is there')
    or diag(explain $m0);
ok(defined hsm($m0, 'held'), 'metrics: handshakes_total{held} is there');

subtest 'ask allows: issued, the first handshake is held and verifies' => sub {
    my $hs = $pebble->verified_handshake($ALLOW, timeout => 15);
    ok($hs->{ok}, sprintf('the first handshake verifies with Pebble\'s root '
                          . '(%.2f s)', $hs->{elapsed}))
        or diag($hs->{error}), diag($pebble->notices);
    cmp_ok($hs->{elapsed}, '<', $HOLD, 'within the hold');
    is_deeply($hs->{san}, [ $ALLOW ], 'SAN is the name');
    isnt($hs->{fingerprint} // '', $FALLBACK, 'not the fallback');

    my $s = $t->status_of($ALLOW)->{json} // {};
    is("$s->{status}/$s->{stage}", 'issued/issued', 'issued/issued')
        or diag(explain $s);
    is($s->{certificate}{sha256}, $hs->{fingerprint},
       'the status names the presented certificate');
    is($pebble->order_count, $orders0 + 1, 'exactly one order at Pebble');

    ok((grep { $_ eq "/ask?domain=$ALLOW 200" } ask_log()),
       "the ask server got GET /ask?domain=$ALLOW and answered 200")
        or diag(join "\n", ask_log());
    is(scalar(grep { /domain=\Q$ALLOW\E/ } ask_log()), 1, 'asked once');
    ok($t->log_lines(qr/\[notice\].*"\Q$ALLOW\E" unknown\/none -> pending\/verifying: first seen, verified on demand/),
       'notice: first seen, verified on demand');

    my $m = metrics();
    is(od($m, 'admitted') - od($m0, 'admitted'), 1, 'admitted +1');
    is(hsm($m, 'held') - hsm($m0, 'held'), 1, 'held +1');
    is(hsm($m, 'certificate') - hsm($m0, 'certificate'), 1,
       'handshakes_total{certificate} +1');
    is(hsm($m, 'fallback') - hsm($m0, 'fallback'), 0,
       'handshakes_total{fallback} +0');
    is($m->{'linkcert_hold_seconds_count'} - $m0->{'linkcert_hold_seconds_count'},
       1, 'hold_seconds_count +1');
};

# A name refused by linkcert_ask: the first handshake is answered with the
# fallback, soon; then the name is not in the table and the next handshake
# is refused by the negative cache without a hold.
sub refused_by_ask {
    my ($name, $code, %o) = @_;

    my $orders = $pebble->order_count;
    my $m1 = metrics();
    my $unseen = $t->status_of($UNSEEN)->{json};

    my $first = hs($name);
    is($first->{fp}, $FALLBACK,
       sprintf('first handshake: the fallback (%.2f s)', $first->{elapsed}))
        or diag($first->{error});
    if ($o{slow}) {
        cmp_ok($first->{elapsed}, '>=', 4, 'not before 4 s');
        cmp_ok($first->{elapsed}, '<', 7, 'after about 5 s, before the hold ends');
    } else {
        cmp_ok($first->{elapsed}, '<', 2, 'quickly, well under the 8 s hold');
    }

    my $line = $t->wait_log_since(0, qr/"\Q$name\E" refused on demand/, 3);
    my $ttl = $o{slow} ? 60 : 600;
    my $detail = $o{slow} ? qr/linkcert_ask did not answer within 5 s/
                          : qr/linkcert_ask answered $code\b/;
    like($line // '', qr/\[info\].*linkcert: "\Q$name\E" refused on demand, not tried again for $ttl s: $detail/,
         "info: refused, not tried again for $ttl s") or diag($pebble->notices);

    my $s = $t->status_of($name);
    is($s->{status}, 200, 'status: 200');
    is("$s->{json}{status}/$s->{json}{stage}", 'unknown/none',
       'status unknown, stage none: not in the table') or diag(explain $s->{json});
    my $why = $s->{json}{last_error} // {};
    is($why->{type}, $o{slow} ? 'ask_failed' : 'ask_refused',
       'last_error.type: why it was refused') or diag(explain $s->{json});
    is($why->{source}, 'ask', 'last_error.source ask');
    like($why->{detail} // '', $detail, 'last_error.detail');
    my $next = $t->parse_time($s->{json}{next_attempt_at}) // 0;
    cmp_ok(abs($next - (time + $ttl)), '<=', 5,
           "next_attempt_at: in $ttl s");
    my %shape = %{ unseen_shape($s->{json}) };
    delete @shape{qw(last_error next_attempt_at)};
    my %never = %{ unseen_shape($unseen) };
    delete @never{qw(last_error next_attempt_at)};
    is_deeply(\%shape, \%never,
              'otherwise the same object as a name never seen');

    my $m2 = metrics();
    is(od($m2, 'refused_ask') - od($m1, 'refused_ask'), 1, 'refused_ask +1');
    is(od($m2, 'admitted') - od($m1, 'admitted'), 1, 'admitted +1 (it was asked)');
    is(hsm($m2, 'held') - hsm($m1, 'held'), 1, 'held +1');
    my $delta = sub { ($m2->{"linkcert_hold_seconds$_[0]"} // 0)
                      - ($m1->{"linkcert_hold_seconds$_[0]"} // 0) };
    is($delta->('_count'), 1, 'hold_seconds_count +1');
    if ($o{slow}) {
        is($delta->('_bucket{le="2.500"}'), 0, 'hold_seconds: not in le=2.5');
        is($delta->('_bucket{le="10.000"}'), 1, '... but in le=10');
        cmp_ok($delta->('_sum'), '>=', 4, 'hold_seconds_sum +4 s or more');
    } else {
        is($delta->('_bucket{le="1.000"}'), 1, 'hold_seconds: in le=1');
    }

    my $second = hs($name);
    is($second->{fp}, $FALLBACK,
       sprintf('second handshake: the fallback (%.3f s)', $second->{elapsed}));
    cmp_ok($second->{elapsed}, '<', 0.5, 'not held');
    my $m3 = metrics();
    is(od($m3, 'refused_negative') - od($m2, 'refused_negative'), 1,
       'refused_negative +1');
    is(hsm($m3, 'held') - hsm($m2, 'held'), 0, 'held unchanged');
    is(hsm($m3, 'fallback') - hsm($m1, 'fallback'), 2,
       'handshakes_total{fallback} +2');
    is(hsm($m3, 'certificate') - hsm($m1, 'certificate'), 0,
       'handshakes_total{certificate} +0');
    is(od($m3, 'admitted') - od($m2, 'admitted'), 0, 'admitted unchanged');
    is(scalar(grep { /domain=\Q$name\E/ } ask_log()), $o{slow} ? 0 : 1,
       $o{slow} ? 'the ask server has not finished its one request'
                : 'the ask server was asked once, not twice');

    is($t->status_of($name)->{json}{stage}, 'none', 'still not in the table');
    is($pebble->order_count, $orders, 'no order at Pebble');
}

subtest 'ask answers 403: refused' => sub {
    refused_by_ask($DENY, 403);
    ok((grep { $_ eq "/ask?domain=$DENY 403" } ask_log()),
       "the ask server got GET /ask?domain=$DENY") or diag(join "\n", ask_log());
};

subtest 'ask answers 302: refused, the redirect is not followed' => sub {
    refused_by_ask($REDIRECT, 302);
    ok((grep { $_ eq "/ask?domain=$REDIRECT 302" } ask_log()),
       "the ask server got GET /ask?domain=$REDIRECT") or diag(join "\n", ask_log());
    is(scalar(grep { /domain=allow\.x/ } ask_log()), 0,
       'the redirect target was never requested');
};

subtest 'ask does not answer within 5 s: refused' => sub {
    refused_by_ask($SLOW, undef, slow => 1);

    # the backend goes away: the ask request ends (502) and is logged
    close $silent;
    my $deadline = time + 15;
    sleep 0.1 until (grep { /domain=\Q$SLOW\E/ } ask_log()) || time > $deadline;
    ok((grep { m{^/ask\?domain=\Q$SLOW\E \d+$} } ask_log()),
       "the ask server got GET /ask?domain=$SLOW") or diag(join "\n", ask_log());
    is($t->status_of($SLOW)->{json}{stage}, 'none',
       'the late end of the request changes nothing');
    is(scalar($t->log_lines(qr/"\Q$SLOW\E" refused on demand/)), 1,
       'refused once');
};

subtest 'plain HTTP: a new Host passes the same gates, nothing waits' => sub {
    my $m1 = metrics();
    my $orders = $pebble->order_count;

    my $t0 = time;
    my $r = $t->http(GET => '/', host => $PLAIN_ALLOW);
    my $took = time - $t0;
    is("$r->{status} $r->{body}", "200 tracker\n",
       "GET / with Host $PLAIN_ALLOW: the location answers");
    cmp_ok($took, '<', 0.5, sprintf('at once (%.3f s)', $took));
    my ($j, $ok) = $pebble->wait_issued($PLAIN_ALLOW, 15);
    ok($ok, 'issued, without any TLS handshake') or diag(explain $j);
    my $hs = $pebble->verified_handshake($PLAIN_ALLOW, timeout => 15);
    ok($hs->{ok}, 'its first handshake verifies with Pebble\'s root')
        or diag($hs->{error});
    cmp_ok($hs->{elapsed}, '<', 0.5, sprintf('and is not held (%.3f s)',
                                              $hs->{elapsed}));
    is($pebble->order_count, $orders + 1, 'one order');

    $r = $t->http(GET => '/', host => $PLAIN_DENY);
    is("$r->{status} $r->{body}", "200 tracker\n",
       "GET / with Host $PLAIN_DENY: the location answers");
    ok($t->wait_log_since(0, qr/"\Q$PLAIN_DENY\E" refused on demand, not tried again for 600 s: linkcert_ask answered 403/, 3),
       'then the name is refused by linkcert_ask');
    is($t->status_of($PLAIN_DENY)->{json}{stage}, 'none', 'and not in the table');
    my $second = hs($PLAIN_DENY);
    is($second->{fp}, $FALLBACK, 'a handshake for it: the fallback');

    my $m2 = metrics();
    is(od($m2, 'admitted') - od($m1, 'admitted'), 2, 'admitted +2');
    is(od($m2, 'refused_ask') - od($m1, 'refused_ask'), 1, 'refused_ask +1');
    is(od($m2, 'refused_negative') - od($m1, 'refused_negative'), 1,
       'refused_negative +1 (the handshake)');
    is(hsm($m2, 'held') - hsm($m1, 'held'), 0, 'held: none');
    ok((grep { $_ eq "/ask?domain=$PLAIN_ALLOW 200" } ask_log())
       && (grep { $_ eq "/ask?domain=$PLAIN_DENY 403" } ask_log()),
       'the ask server was asked about both') or diag(join "\n", ask_log());
    is($pebble->order_count, $orders + 1, 'no order for the refused one');
};

is($pebble->order_count, $orders0 + 2,
   'linkcert_ask: refused names never reached the CA (two orders in all)');
$t->no_crash_ok;


###########################################################################
# 1b. linkcert_ask cannot connect; linkcert_negative_ttl under a minute

my $NOCONN = 'allow-noconn.ask.test';
$t->set_cname($NOCONN, $TARGET);

phase('1b. ask: connection refused');
restart_with(config(http => "    linkcert_ask http://127.0.0.1:%%PORT_3%%/ask;\n"
                            . "    linkcert_negative_ttl 30s;\n"));

subtest 'ask: nothing listens: refused for min(60 s, negative_ttl)' => sub {
    my $port = $t->port(3);
    ok(!IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                              Proto => 'tcp', Timeout => 1),
       "nothing listens on 127.0.0.1:$port");
    my $orders = $pebble->order_count;
    my $m1 = metrics();
    my $first = hs($NOCONN);
    is($first->{fp}, $FALLBACK,
       sprintf('first handshake: the fallback (%.3f s)', $first->{elapsed}));
    cmp_ok($first->{elapsed}, '<', 2, 'quickly');
    my $line = $t->wait_log_since(0, qr/"\Q$NOCONN\E" refused on demand/, 3);
    like($line // '', qr/\[info\].*"\Q$NOCONN\E" refused on demand, not tried again for 30 s: linkcert_ask failed/,
         'info: refused for 30 s (the negative_ttl, under a minute): '
         . 'linkcert_ask failed');
    note($line // '');
    my $m2 = metrics();
    is(od($m2, 'refused_ask') - od($m1, 'refused_ask'), 1, 'refused_ask +1');
    is($t->status_of($NOCONN)->{json}{stage}, 'none', 'not in the table');
    my $second = hs($NOCONN);
    cmp_ok($second->{elapsed}, '<', 0.5, 'the next handshake is not held');
    is(od(metrics(), 'refused_negative') - od($m2, 'refused_negative'), 1,
       'refused_negative +1');
    is($pebble->order_count, $orders, 'no order');
};
$t->no_crash_ok;


###########################################################################
# 2. a flood of random names that are not in DNS

restart_with(config());

phase('2. flood');
# 1000 new random names under $zone: 10-letter labels, none in DNS
sub random_names {
    my ($zone) = @_;
    my (%seen, @n);
    while (@n < 1000) {
        my $label = join '', map { ('a' .. 'z')[rand 26] } 1 .. 10;
        push @n, "$label.$zone" unless $seen{$label}++;
    }
    return @n;
}

my @FLOOD = random_names('flood.test');
my @FLOOD2 = random_names('flood2.test');

# (names like them, not the flood's own: their DNS history is counted)
subtest 'challtestsrv: random names have no records' => sub {
    for my $name ((random_names('flood.test'))[0 .. 2]) {
        is(dns_answers($name, 1), 0, "$name: no A");
        is(dns_answers($name, 28), 0, "$name: no AAAA");
        is(dns_answers($name, 5), 0, "$name: no CNAME");
    }
    is(dns_answers($TARGET, 1), 1, "but $TARGET has its A record");
};

# the start is a renewal pass: the issued domain's DNS is checked again;
# that check is over before the flood
subtest 'before the flood' => sub {
    my $mb;
    my $deadline = time + 10;
    while (1) {
        $mb = metrics();
        my $issued = $mb->{'linkcert_domains{status="issued"}'} // 0;
        last if $issued >= 1 && dnsm($mb, 'verified') >= $issued;
        last if time > $deadline;
        sleep 0.1;
    }
    is($mb->{'linkcert_domains{status="issued"}'}, 2,
       "two domains in the table ($ALLOW, $PLAIN_ALLOW, from the store)");
    is(dnsm($mb, 'verified'), 2, 'their DNS re-checks are done');
};

# sequentially, then by 8 clients at once
my $last_flood_end = 0;
flood_ok(\@FLOOD, 1);
flood_ok(\@FLOOD2, 8);

sub flood_ok {
    my ($names, $clients) = @_;
    my $n = @$names;
    subtest "a flood of $n random names, $clients client(s)" => sub {
        flood_checks($names, $clients);
    };
}

sub flood_checks {
    my ($names, $clients) = @_;
    my $orders = $pebble->order_count;

    # the admission bucket (10/s, burst 20) is full again after 2 s
    my $idle = $last_flood_end + 2.2 - time;
    sleep $idle if $idle > 0;
    my $mb = metrics();
    my $log_before = length $t->error_log;
    my $domains_before = domains_total($mb);

    my $start = time;
    my @results = flood($names, $clients);
    $last_flood_end = time;
    my $elapsed = $last_flood_end - $start;
    my (@wrong, $max, $maxname);
    for my $r (@results) {
        push @wrong, "$r->{name}: " . ($r->{fp} // $r->{error})
            unless ($r->{fp} // '') eq $FALLBACK;
        ($max, $maxname) = ($r->{elapsed}, $r->{name})
            if !defined $max || $r->{elapsed} > $max;
    }
    is(scalar @results, 1000, '1000 handshakes were made');
    my $ma = metrics();

    note(sprintf '1000 handshakes by %d clients in %.2f s (%.0f/s), the '
                 . 'longest %.3f s', $clients, $elapsed, 1000 / $elapsed,
                 $max);

    is(scalar @wrong, 0, 'every handshake got the fallback')
        or diag(join "\n", @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)]);
    # far from the hold's 8 s, as the client sees it (a busy machine,
    # prove -j, makes a handshake of a few ms take a second or more); the
    # server's own measure is the hold histogram below (within 1 s)
    cmp_ok($max, '<', $HOLD / 2,
           "none was held long (the longest: $maxname)");
    cmp_ok($elapsed, '<', 30, 'the flood took a reasonable time');

    my $admitted = od($ma, 'admitted') - od($mb, 'admitted');
    my $rate = od($ma, 'refused_rate') - od($mb, 'refused_rate');
    my $negative = od($ma, 'refused_negative') - od($mb, 'refused_negative');
    note("admitted $admitted, refused_rate $rate, refused_negative $negative");

    my $bound = 20 + 10 * $elapsed + 2;
    cmp_ok($admitted, '<=', $bound,
           sprintf('admitted <= 20 + 10/s x %.1f s', $elapsed));
    cmp_ok($admitted, '>=', 20, 'the burst of 20 was admitted');
    cmp_ok($rate, '>', 0, sprintf('refused_rate > 0 (%.0f names/s)',
                                  1000 / $elapsed));
    is($admitted + $rate + $negative, 1000,
       'each name was counted once by the gates');
    is(hsm($ma, 'fallback') - hsm($mb, 'fallback'), 1000,
       'handshakes_total{fallback} +1000');
    is(hsm($ma, 'held') - hsm($mb, 'held'), $admitted,
       'held: exactly the admitted ones');

    # the DNS checks of the admitted names end, and they leave the table
    my ($m, $done);
    my $deadline = time + 10;
    while (time < $deadline) {
        $m = metrics();
        last if ($done = od($m, 'refused_dns') - od($mb, 'refused_dns')
                         >= $admitted);
        sleep 0.1;
    }
    ok($done, 'every admitted name was refused by DNS')
        or diag(explain $m);
    is(od($m, 'refused_dns') - od($mb, 'refused_dns'), $admitted,
       'refused_dns = admitted');
    is(dnsm($m, 'failed') - dnsm($mb, 'failed'), $admitted,
       'dns_checks_total{failed} = admitted');
    is(dnsm($m, 'verified') - dnsm($mb, 'verified'), 0, 'none verified');
    is(domains_total($m), $domains_before, 'the table has as many domains as before')
        or diag(explain $m);
    my $count = $m->{linkcert_hold_seconds_count} - $mb->{linkcert_hold_seconds_count};
    my $under1 = $m->{'linkcert_hold_seconds_bucket{le="1.000"}'}
               - $mb->{'linkcert_hold_seconds_bucket{le="1.000"}'};
    is($count, $admitted, 'hold_seconds_count = admitted');
    is($under1, $count, 'every hold ended within 1 s (histogram)');

    # what challtestsrv was asked
    my ($asked, $queries, $errors, %per_name, %types, @unasked) = (0, 0, 0);
    for my $name (@$names) {
        my $h = dns_history($name);
        $errors++, next unless defined $h;
        push(@unasked, $name), next unless @$h;
        $asked++;
        $queries += @$h;
        $per_name{ scalar @$h }++;
        push @{ $types{ scalar @$h } }, "$name: " . join ',', map { $_->{Question}{Qtype} } @$h;
    }
    note('queries per name: ', join ', ', map { "$_ x $per_name{$_} ($types{$_}[0])" } sort keys %per_name);
    note("challtestsrv was asked about $asked flood names, $queries queries");
    is($errors, 0, 'challtestsrv\'s request history answered for every name');
    is($asked, $admitted, 'DNS was asked about the admitted names only');
    cmp_ok($queries, '<=', 8 * $admitted, 'a handful of queries each');

    my @sample = map { $t->status_of($_)->{json}{stage} } @$names[0, 500, 999];
    is_deeply(\@sample, [qw(none none none)], 'flood names are not in the table');
    my $zone = $names->[0] =~ s/^[^.]+\.//r;
    my @refused = grep { /\[info\].*linkcert: "[a-z]{10}\.\Q$zone\E" refused on demand, not tried again for 30 s: /
                       } split /\n/, substr($t->error_log, $log_before);
    is(scalar @refused, $admitted, 'one "refused on demand" line per admitted name')
        or diag(join "\n", @refused[0 .. 4]);
    note($refused[0] // '');

    is($pebble->order_count, $orders, '0 orders at Pebble');

    # a name refused for the rate is not remembered: later, it is admitted
    my $again = $unasked[0];
    ok(defined $again, 'a name refused for the rate (no DNS query)');
    if (defined $again) {
        my $mr = metrics();
        my $r = hs($again);
        is($r->{fp}, $FALLBACK, "$again, again: the fallback");
        my $m2 = metrics();
        is(od($m2, 'admitted') - od($mr, 'admitted'), 1,
           'it is admitted now: it was not remembered');
        is(od($m2, 'refused_negative') - od($mr, 'refused_negative'), 0,
           'not refused by the negative cache');
    }
    $last_flood_end = time;
}
$t->no_crash_ok;


###########################################################################
# 2b. a DNS server that never answers: at most 64 names at once

phase('2b. 64 at once');
restart_with(config(resolver => '127.0.0.1:%%SILENT%% timeout=10s attempts=1',
                    http => "    linkcert_hold 0;\n"));

subtest 'DNS does not answer: at most 64 names in the DNS gate at once' => sub {
    my $mb = metrics();
    my ($n, $max, @wrong) = (0, 0);
    my $start = time;
    while (time - $start < 6) {
        my $name = join('', map { ('a' .. 'z')[rand 26] } 1 .. 10)
                 . '.stuck.test';
        my $r = hs($name);
        push @wrong, $name unless ($r->{fp} // '') eq $FALLBACK;
        $max = $r->{elapsed} if $r->{elapsed} > $max;
        $n++;
    }
    my $elapsed = time - $start;
    my $m = metrics();
    my $admitted = od($m, 'admitted') - od($mb, 'admitted');
    note(sprintf '%d handshakes in %.1f s, the longest %.3f s; admitted %d',
                 $n, $elapsed, $max, $admitted);

    cmp_ok(20 + 10 * $elapsed, '>', 70, 'the rate alone would admit over 64');
    is($admitted, 64, 'admitted: 64, no more');
    is($m->{'linkcert_domains{status="pending"}'}, 64,
       '64 names pending in the table');
    is(od($m, 'refused_rate') - od($mb, 'refused_rate'), $n - 64,
       'the others: refused_rate');
    is(scalar @wrong, 0, 'every handshake got the fallback');
    is(hsm($m, 'held') - hsm($mb, 'held'), 0, 'linkcert_hold 0: none held');
    cmp_ok($max, '<', 0.5, 'none waited');
    my @q = $t->silent_queries(0.5);
    cmp_ok(scalar @q, '<=', 64, scalar(@q) . ' DNS queries sent, at most 64');
};
$t->no_crash_ok;


###########################################################################
# 3. linkcert_order_rate 1/h, and a linkcert_ask URL with a query

my $B1 = 'allow-first.budget-one.test';
my $B2 = 'allow-second.budget-two.test';
my $B3 = 'crm.budget-three.test';
$t->set_cname($_, $TARGET) for $B1, $B2, $B3;

phase('3. order budget');
restart_with(config(servers => $ask_servers,
                    http => "    linkcert_order_rate 1/h;\n"
                            . "    linkcert_ask http://127.0.0.1:%%PORT_2%%/ask?via=budget;\n"));

subtest 'linkcert_order_rate 1/h: the second new name waits' => sub {
    my $orders = $pebble->order_count;

    my $hs1 = $pebble->verified_handshake($B1, timeout => 15);
    ok($hs1->{ok}, sprintf("$B1: issued, the first handshake verifies (%.2f s)",
                           $hs1->{elapsed}))
        or diag($hs1->{error}), diag($pebble->notices);
    is($pebble->order_count, $orders + 1, 'one order');
    ok((grep { $_ eq "/ask?via=budget&domain=$B1 200" } ask_log()),
       'linkcert_ask with a query: "&domain=" is added')
        or diag(join "\n", ask_log());

    my $m1 = metrics();
    my $at = time;
    my $hs2 = hs($B2);
    is($hs2->{fp}, $FALLBACK,
       sprintf("$B2: the fallback (%.2f s)", $hs2->{elapsed}));
    cmp_ok($hs2->{elapsed}, '<', 2, 'without a long hold');

    my ($s, $ok) = $t->wait_status($B2,
        sub { ($_->{last_error}{type} // '') eq 'order_budget' }, 5);
    ok($ok, 'last_error.type order_budget') or diag(explain $s);
    is("$s->{status}/$s->{stage}", 'pending/ordering', 'pending/ordering');
    like($s->{last_error}{detail} // '', qr/linkcert_order_rate/,
         'the detail names linkcert_order_rate');
    my $next = $t->parse_time($s->{next_attempt_at});
    ok(defined $next, "next_attempt_at is set ($s->{next_attempt_at})")
        or diag(explain $s);
    cmp_ok(($next // 0) - $at, '>', 3000, 'next_attempt_at about an hour away');
    cmp_ok(($next // 0) - $at, '<', 3700, '... not more');
    is($s->{dns}{verified}, JSON::PP::true(), 'its DNS was verified');

    my $again = hs($B2);
    is($again->{fp}, $FALLBACK, 'the next handshake: the fallback');
    cmp_ok($again->{elapsed}, '<', 0.5, sprintf('not held (%.3f s)',
                                                 $again->{elapsed}));
    my $m2 = metrics();
    is(hsm($m2, 'held') - hsm($m1, 'held'), 1,
       'held +1 (the first one, while its DNS was checked), not +2');

    sleep 1;
    is($pebble->order_count, $orders + 1, 'no order for it at Pebble');
    is($t->status_of($B2)->{json}{stage}, 'ordering', 'still waiting');
};

# the budget is spent by first clicks: the CRM's "Verify domain" still
# orders at once, for a new name and for one that waits for the budget
subtest 'the budget does not hold up "Verify domain"' => sub {
    my $orders = $pebble->order_count;

    my $r = $t->verify($B3);
    is($r->{status}, 202, "POST $B3: 202") or diag($r->{raw});
    my ($j, $ok) = $pebble->wait_issued($B3, 20);
    ok($ok, "$B3: issued") or diag(explain $j), diag($pebble->notices);

    $r = $t->verify($B2);
    is($r->{status}, 202, "POST $B2 (waiting for the budget): 202")
        or diag($r->{raw});
    ($j, $ok) = $pebble->wait_issued($B2, 20);
    ok($ok, "$B2: issued") or diag(explain $j), diag($pebble->notices);

    is($pebble->order_count, $orders + 2, 'two orders at Pebble');
};
$t->no_crash_ok;


###########################################################################
# 4. linkcert_registered_domain_limit 1

my $RA = 'a.reg.test';
my $RB = 'b.reg.test';
my $RC = 'c.other-reg.test';
$t->set_cname($_, $TARGET) for $RA, $RB, $RC;

phase('4. registered-domain limit');
restart_with(config(http => "    linkcert_registered_domain_limit 1;\n"
                            . "    linkcert_order_rate 1000/h;\n"));

subtest 'linkcert_registered_domain_limit 1' => sub {
    my $orders = $pebble->order_count;

    my $hsa = $pebble->verified_handshake($RA, timeout => 15);
    ok($hsa->{ok}, sprintf("$RA: issued, the first handshake verifies (%.2f s)",
                           $hsa->{elapsed}))
        or diag($hsa->{error}), diag($pebble->notices);
    my $sa = $t->status_of($RA)->{json} // {};
    is($sa->{status}, 'issued', "$RA issued");

    my $hsb = hs($RB);
    is($hsb->{fp}, $FALLBACK, sprintf("$RB: the fallback (%.2f s)",
                                      $hsb->{elapsed}));
    cmp_ok($hsb->{elapsed}, '<', 2, 'without a long hold');
    my ($s, $ok) = $t->wait_status($RB,
        sub { ($_->{last_error}{type} // '') eq 'registered_domain_limit' }, 5);
    ok($ok, 'last_error.type registered_domain_limit') or diag(explain $s);
    is("$s->{status}/$s->{stage}", 'pending/ordering', 'pending/ordering');
    like($s->{last_error}{detail} // '', qr/\breg\.test\b/,
         'the detail names reg.test');
    unlike($s->{last_error}{detail} // '', qr/\bb\.reg\.test\b/,
           '... not the name itself');
    my $next = $t->parse_time($s->{next_attempt_at});
    my $nb = $t->parse_time($sa->{certificate}{not_before});
    ok(defined $next && defined $nb, 'next_attempt_at is set') or diag(explain $s);
    cmp_ok(abs(($next // 0) - (($nb // 0) + 7 * 86400)), '<=', 1,
           "next_attempt_at: 7 days after $RA\'s notBefore");
    is($pebble->order_count, $orders + 1, "no order for $RB");

    my $hsc = $pebble->verified_handshake($RC, timeout => 15);
    ok($hsc->{ok}, sprintf("$RC (another registered domain): issued (%.2f s)",
                           $hsc->{elapsed}))
        or diag($hsc->{error}), diag($pebble->notices);
    is($pebble->order_count, $orders + 2, "one order for $RC");
    is($t->status_of($RB)->{json}{last_error}{type}, 'registered_domain_limit',
       "$RB still waits");
};
$t->no_crash_ok;

subtest 'the log has no alert, crit or emerg' => sub {
    my @bad = $t->log_lines(qr/\[(?:alert|crit|emerg)\]/);
    is(scalar @bad, 0, 'none') or diag(join "\n", @bad);
};

note(sprintf 'wall time %.1f s', time - $T0);

done_testing;
