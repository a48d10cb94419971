#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# On demand, the hold of first handshakes under pressure, against the real
# nginx, challtestsrv and Pebble:
#
#   - no SNI: the fallback at once, nothing admitted, no table entry;
#   - 200 connections opened at once to one new name (its validation
#     slowed to 1 s, so that all of them are first connections): one
#     order, every handshake parked, on both workers, and then presenting
#     the Pebble certificate, verified against Pebble's root;
#   - 700 connections at once to another new name: at most 256 parked per
#     worker, the others get the fallback at once;
#   - a ClientHello sent one byte per TCP segment: the SNI is still found,
#     an issued name gets its certificate, a new one is held then issued;
#   - a client that goes away while parked (FIN, and RST): nginx closes
#     its socket at once, not when linkcert_hold (20 s) runs out, and the
#     worker goes on holding and releasing;
#   - a reload while a connection is parked: released at once (with the
#     fallback), the reload is not held up, the name is issued after;
#   - plain HTTP first: the click gets the location's answer at once and
#     the name is issued in the background; with linkcert_redirect_https,
#     only issued names are redirected (301, 308), the ACME challenge and
#     status paths never are, nor HTTPS;
#   - hold expiry (linkcert_hold 1s, validations slowed to 4 s): the first
#     handshake gets the fallback after 1 s, the next one the certificate,
#     and the hold histogram counted it.
#
# Validations are slowed with LinkCert::Pebble::Delay (a known delay per
# HTTP-01 request) rather than PEBBLE_VA_SLEEPTIME, whose sleep is a
# random 0..N-1 s and may be 0.  Some checks read nginx's debug log (which
# worker held or closed what); the file sets error_log debug itself.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Util qw(wait_until);
use LinkCert::Pebble;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use List::Util qw(max min sum);
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $delay = LinkCert::Pebble::Delay->new($t);
my $pebble = LinkCert::Pebble->new($t, http_port => $delay->port,
                                   env => { PEBBLE_AUTHZREUSE => 0 });

my $TARGET = 'edge.crm.test';
my $CROWD = 'links.crowd.test';         # 200 first connections at once
my $TRICKLE = 'links.trickle.test';     # ClientHello byte by byte, new
my $LEAVER = 'links.leaver.test';       # clients leave while parked
my $PLAIN = 'links.plain.test';         # first seen over plain HTTP
my $PENDING = 'links.pending.test';     # pending during the redirect checks
my $SLOW = 'links.slow.test';           # outlives linkcert_hold 1s
my $NOWHERE = 'links.nowhere.test';     # no DNS record at all
my $RELOADED = 'links.reloaded.test';   # parked across a reload
my $LIMIT = 'links.limit.test';         # more than 256 per worker at once
my $N = 200;

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for $CROWD, $TRICKLE, $LEAVER, $PLAIN, $PENDING,
                                $SLOW, $RELOADED, $LIMIT;

$pebble->start;

# nginx.conf's linkcert directives (standard_config adds the zone, the
# store, the key and "linkcert on"), and $more (linkcert_hold, ...)
my $HTTP = <<'EOF';
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;

    linkcert_on_demand dns;
%%MORE%%
EOF

sub config {
    my ($more) = @_;
    return ($t->standard_config(workers => 2, log_level => 'debug',
                                http => $HTTP),
            MORE => $more);
}

$t->write_config(config("    linkcert_hold 20s;\n"));
$t->run;

my $root = $pebble->root_file;
my $FALLBACK = $t->fallback_fingerprint;

sub held    { $_[0]{'linkcert_handshakes_total{outcome="held"}'} // 0 }
sub admitted { $_[0]{'linkcert_on_demand_total{result="admitted"}'} // 0 }
sub entries {
    my ($m) = @_;
    return sum(map { $m->{"linkcert_domains{status=\"$_\"}"} // 0 }
               qw(issued pending unknown));
}

sub stage_of { ($t->status_of($_[0])->{json} // {})->{stage} // 'none' }

# debug lines of the error log since byte $from matching $re: pids
sub pids_logging {
    my ($from, $re) = @_;
    my $log = substr $t->error_log, $from;
    my %pids;
    $pids{$1}++ while $log =~ /^\S+ \S+ \[debug\] (\d+)#\d+: .*$re/mg;
    return \%pids;
}

# wait_until polling every 10 ms
sub wait_for { wait_until($_[0], $_[1], 0.01) }

my $started = time;
my %issued;                             # name => fingerprint


###########################################################################

subtest 'no SNI: the fallback at once, nothing admitted' => sub {
    my $m0 = $t->metric_values;
    ok(%$m0, 'metrics answer') or return;

    for my $version (qw(TLSv1_3 TLSv1_2)) {
        my $t0 = time;
        my $fp = $t->handshake(undef, version => $version);
        my $took = time - $t0;
        is($fp, $FALLBACK, "$version without SNI: the fallback");
        # not held (linkcert_hold 20s); a busy machine takes a second
        cmp_ok($took, '<', 2, sprintf('at once (%.3f s)', $took));
    }

    my $r = $t->trickle_handshake(undef, gap => 0.001);
    ok($r->{ok}, "no SNI, the ClientHello in $r->{sends} segments: "
                 . 'the handshake completes') or diag($r->{error});
    is($r->{fingerprint}, $FALLBACK, '... with the fallback');
    cmp_ok($r->{elapsed} - ($r->{sent} // 0), '<', 2,
           sprintf('... at once after the last byte (%.3f s)',
                   $r->{elapsed} - ($r->{sent} // 0)));

    my $m1 = $t->metric_values;
    is(admitted($m1), admitted($m0), 'admitted unchanged');
    is(held($m1), held($m0), 'nothing held');
    is(entries($m1), entries($m0), 'no new table entry')
        or diag(explain $m1);
    is($pebble->order_count, 0, 'no order');
};


###########################################################################

subtest "$N first connections at once to one new name" => sub {
    my $m0 = $t->metric_values;
    my $from = length $t->error_log;
    my @workers = $t->worker_pids;

    # validations take 1 s: every ClientHello arrives while it is pending
    $delay->set(1);
    my $t0 = time;
    my @r = $t->concurrent_handshakes($CROWD, $N, root_file => $root,
                                      timeout => 25);
    my $took = time - $t0;
    $delay->set(0);

    my @ok = grep { $_->{ok} } @r;
    my @el = sort { $a <=> $b } map { $_->{elapsed} // 0 } @r;
    diag(sprintf '%d handshakes in %.2f s; the last ClientHello sent '
                 . 'after %.3f s; elapsed min %.3f, median %.3f, max %.3f s',
                 scalar @r, $took, max(map { $_->{hello} // 0 } @r),
                 $el[0], $el[@el / 2], $el[-1]);

    is(scalar @ok, $N, "all $N handshakes verify against Pebble's root "
                       . "for $CROWD")
        or diag(join "\n", map { "#$_: $r[$_]{error}" }
                           grep { !$r[$_]{ok} } 0 .. $#r),
           diag($pebble->notices);

    my %fps;
    $fps{ $_->{fingerprint} // 'none' }++ for @r;
    is(scalar keys %fps, 1, 'one certificate for all of them')
        or diag(explain \%fps);
    my ($fp) = keys %fps;
    isnt($fp, $FALLBACK, 'not the fallback');

    my $s = $t->status_of($CROWD)->{json} // {};
    is($s->{status}, 'issued', 'issued');
    is($s->{certificate}{sha256}, $fp, 'the status names that certificate');
    $issued{$CROWD} = $fp;

    is($pebble->order_count, 1, 'exactly one order at Pebble');
    is($pebble->issued_count, 1, 'one certificate issued');

    cmp_ok($el[-1], '<', 15, 'the last one well within linkcert_hold 20s');
    cmp_ok($el[0], '>', 1, 'the first one waited for the issuance (the '
                           . 'validation alone takes 1 s)');

    my $m1 = $t->metric_values;
    my $held = held($m1) - held($m0);
    is($held, $N, "held: all $N");
    is($m1->{linkcert_hold_seconds_count} - $m0->{linkcert_hold_seconds_count},
       $held, 'every held one is in the hold histogram');
    is(admitted($m1) - admitted($m0), 1, 'one name admitted');

    my $pids = pids_logging($from,
                            qr/linkcert: holding the handshake for "\Q$CROWD\E"/);
    is(sum(values %$pids) // 0, $held, 'one "holding" line per held one');
    my @holding = grep { $pids->{$_} } @workers;
    is(scalar @holding, 2, 'both workers held connections')
        or diag(explain $pids);
    diag('held per worker: ' . join ', ',
         map { "$_: " . ($pids->{$_} // 0) } @workers);

    # both workers see the issuance (worker 0's, in the zone) at their next
    # poll: the holds end together
    my %ms;
    my $log = substr $t->error_log, $from;
    my $re = qr/linkcert: handshake for "\Q$CROWD\E" held (\d+) ms/;
    push @{ $ms{$1} }, $2
        while $log =~ /^\S+ \S+ \[debug\] (\d+)#\d+: .*$re/mg;
    my @all = map { @$_ } values %ms;
    is(scalar @all, $N, 'one "held N ms" line per held one');
    # held times differ by when each connection came, plus how far
    # apart the workers released them: under a second
    my $spread = (max(@all) // 0) - (min(@all) // 0);
    my $came = 1000 * (max(map { $_->{hello} // 0 } @r) // 0);
    cmp_ok($spread, '<', $came + 1000,
           "the holds ended together (within $spread ms, the connections "
           . sprintf('came within %.0f ms)', $came))
        or diag(explain { map { $_ => [ min(@{ $ms{$_} }),
                                        max(@{ $ms{$_} }) ] } keys %ms });
};


###########################################################################

subtest 'at most 256 parked per name in a worker' => sub {
    # validations take 4 s: the name is issued well after the last
    # ClientHello (which a busy machine may send 2 s after the first)
    $delay->set(4);
    my $m0 = $t->metric_values;
    my $from = length $t->error_log;
    my @workers = $t->worker_pids;

    my @r = $t->concurrent_handshakes($LIMIT, 700, root_file => $root,
                                      timeout => 20);
    my $m1 = $t->metric_values;
    $delay->set(0);

    my $pids = pids_logging($from,
                            qr/linkcert: holding the handshake for "\Q$LIMIT\E"/);
    diag(sprintf 'the last ClientHello sent after %.3f s; held per worker: %s',
         max(map { $_->{hello} // 0 } @r),
         join ', ', map { "$_: " . ($pids->{$_} // 0) } @workers);
    my $held = held($m1) - held($m0);
    is(sum(values %$pids) // 0, $held, 'one "holding" line per held one');
    cmp_ok(max(map { $pids->{$_} // 0 } @workers), '==', 256,
           'a worker that got more than 256 held 256');

    my @verified = grep { $_->{ok} } @r;
    is(scalar @verified, $held, 'the held ones get the certificate')
        or diag($pebble->notices);
    my @at_once = grep { !$_->{ok} } @r;
    is(scalar @at_once, 700 - $held, 'the others fail verification...');
    is(scalar(grep { ($_->{error} // '') =~ /certificate verify failed/ }
              @at_once), scalar @at_once, '... (the fallback)')
        or diag(join "\n", map { $_->{error} } @at_once[0 .. 4]);
    my $last_at_once = max(map { $_->{start} + $_->{elapsed} } @at_once);
    my $first_held = min(map { $_->{start} + $_->{elapsed} } @verified);
    cmp_ok($last_at_once // 9e9, '<', $first_held // 0,
           'and get it at once, not when the name is issued')
        or diag(sprintf 'the last one at %.2f s, the first held at %.2f s',
                map { ($_ // 0) - min(map { $_->{start} } @r) }
                    $last_at_once, $first_held);
    cmp_ok(min(map { $_->{elapsed} } @verified) // 0, '>', 1.5,
           'while the held ones waited for the issuance');
    is($pebble->order_count, 2, 'one more order');
};


###########################################################################

subtest 'a ClientHello one byte per TCP segment' => sub {
    my $m0 = $t->metric_values;

    my $r = $t->trickle_handshake($CROWD, root_file => $root);
    ok($r->{ok}, "an issued name, $r->{hello_len} bytes in $r->{sends} "
                 . sprintf('sends over %.2f s', $r->{sent} // 0))
        or diag($r->{error});
    is($r->{sends}, $r->{hello_len}, 'one byte per send');
    ok($r->{verified}, 'verified against Pebble\'s root');
    is($r->{fingerprint}, $issued{$CROWD}, 'its certificate');
    cmp_ok($r->{elapsed} - $r->{sent}, '<', 0.5, 'not held');

    $r = $t->trickle_handshake($TRICKLE, root_file => $root);
    ok($r->{ok}, 'a new name: the handshake completes') or diag($r->{error});
    ok($r->{verified}, 'verified against Pebble\'s root for ' . $TRICKLE)
        or diag($pebble->notices);
    isnt($r->{fingerprint} // '', $FALLBACK, 'not the fallback');
    diag(sprintf 'sent in %.2f s, handshake done %.2f s after the last byte',
                 $r->{sent} // 0, $r->{elapsed} - ($r->{sent} // 0));

    my $s = $t->status_of($TRICKLE)->{json} // {};
    is($s->{certificate}{sha256}, $r->{fingerprint},
       'the certificate the status names');
    $issued{$TRICKLE} = $r->{fingerprint};

    my $m1 = $t->metric_values;
    is(held($m1) - held($m0), 1, 'the new name\'s handshake was held');
    is(admitted($m1) - admitted($m0), 1, 'and its name admitted once');
    is($pebble->order_count, 3, 'one more order');
};


###########################################################################

subtest 'clients that leave while parked are closed at once' => sub {
    $delay->set(3);

    my $hello = $t->client_hello_bytes($LEAVER);
    my $from = length $t->error_log;
    my %left;

    my $m_before = $t->metric_values;

    for my $how ('FIN', 'RST') {
        my $m0 = $t->metric_values;

        my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $t->port(0),
                                      Proto => 'tcp', Timeout => 5);
        ok($c && syswrite($c, $hello) == length $hello,
           "$how: a ClientHello for $LEAVER sent on a raw connection")
            or diag("connect/write: $!"), next;

        ok(wait_for(sub { held($t->metric_values) > held($m0) }, 3),
           "$how: the connection is parked");
        like(stage_of($LEAVER), qr/^(?:verifying|ordering)$/,
             "$how: $LEAVER is pending");

        my $sock;
        wait_for(sub { $sock = $t->server_socket_of($c->sockport) }, 2);
        ok($sock, "$how: a worker has the socket")
            or next;
        my $fds = $t->fd_count($sock->{pid});

        setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0))
            if $how eq 'RST';
        close $c;
        my $t0 = time;

        my $closed = wait_for(sub { !$t->socket_still_open($sock) }, 3);
        my $took = time - $t0;
        ok($closed, "$how: the worker closed its socket");
        cmp_ok($took, '<', 1, sprintf("$how: within a second (%.3f s), "
                                      . 'not at the end of the hold', $took));
        diag(sprintf "$how: worker %d, fd %d; fds %d while parked, %d now",
                     $sock->{pid}, $sock->{fd}, $fds,
                     $t->fd_count($sock->{pid}) // -1);
        $left{$how} = $sock->{pid};
    }

    my $m_after = $t->metric_values;
    is($m_after->{linkcert_hold_seconds_count}
       - $m_before->{linkcert_hold_seconds_count}, 2,
       'both holds are counted in the histogram');
    is(held($m_after) - held($m_before), 2, 'and as held');

    my $pids = pids_logging($from,
        qr/linkcert: client left a held handshake for "\Q$LEAVER\E"/);
    is(sum(values %$pids) // 0, 2, 'two "client left" debug lines')
        or diag(explain $pids);

    # the workers go on: an issued name at once, and a held one released
    my $t0 = time;
    my $hs = $pebble->verified_handshake($CROWD);
    ok($hs->{ok} && $hs->{fingerprint} eq $issued{$CROWD},
       sprintf('meanwhile, an issued name gets its certificate (%.3f s)',
               time - $t0));

    like(stage_of($LEAVER), qr/^(?:verifying|ordering)$/,
         "$LEAVER still pending");
    my $from2 = length $t->error_log;
    my @r = $t->concurrent_handshakes($LEAVER, 40, root_file => $root,
                                      timeout => 15);
    my @ok = grep { $_->{ok} } @r;
    is(scalar @ok, 40, '40 new connections for it are held, then verified '
                       . 'against Pebble\'s root')
        or diag(join "\n", map { $_->{error} // 'ok' } @r),
           diag($pebble->notices);
    my %fps = map { ($_->{fingerprint} // 'none') => 1 } @r;
    is(scalar keys %fps, 1, '... one certificate');
    # before linkcert_hold (20 s) runs out: a busy machine (prove -j) may
    # take 10 s for the 3 s validation and the 40 handshakes
    cmp_ok(max(map { $_->{elapsed} // 99 } @r), '<', 15,
           sprintf('released at the issuance (%.2f s)',
                   max(map { $_->{elapsed} // 99 } @r)));
    my $released = pids_logging($from2,
        qr/linkcert: handshake for "\Q$LEAVER\E" held \d+ ms/);
    my $parked = pids_logging($from2,
        qr/linkcert: holding the handshake for "\Q$LEAVER\E"/);
    my %left_by = reverse %left;
    for my $pid (sort keys %left_by) {
        # the kernel may give all 40 to the other worker: then there is
        # nothing to release here
        is($released->{$pid} // 0, $parked->{$pid} // 0,
           "worker $pid, which the clients left, released every "
           . 'connection it held afterwards ('
           . ($parked->{$pid} // 0) . ')')
            or diag(explain { parked => $parked, released => $released });
    }
    is(sum(values %$released) // 0, 40, 'the 40 released in all')
        or diag(explain $released);
    $issued{$LEAVER} = (keys %fps)[0];
    is($pebble->order_count, 4, 'one more order');

    $delay->set(0);
};


###########################################################################

subtest 'plain HTTP first: the click goes on, the name is issued' => sub {
    my $m0 = $t->metric_values;

    my $t0 = time;
    my $r = $t->http(GET => '/', host => $PLAIN);
    my $took = time - $t0;
    is($r->{status}, 200, 'GET / with a new Host: 200');
    is($r->{body}, "tracker\n", 'the location\'s answer');
    is($r->{headers}{location}, undef, 'no Location');
    cmp_ok($took, '<', 0.5, sprintf('at once (%.3f s)', $took));
    isnt(stage_of($PLAIN), 'none', 'the name is in the table');

    my ($j, $ok) = $pebble->wait_issued($PLAIN, 15);
    ok($ok, 'issued in the background') or diag(explain $j),
        diag($pebble->notices);

    my $hs = $pebble->verified_handshake($PLAIN);
    ok($hs->{ok}, 'the first HTTPS handshake gets the certificate')
        or diag($hs->{error});
    cmp_ok($hs->{elapsed}, '<', 0.5, 'without waiting');
    $issued{$PLAIN} = $hs->{fingerprint};

    my $m1 = $t->metric_values;
    is(held($m1), held($m0), 'nothing was held');
    is(admitted($m1) - admitted($m0), 1, 'one name admitted');
    is($pebble->order_count, 5, 'one more order');

    $r = $t->http(GET => '/', host => $PLAIN);
    is($r->{status}, 200, 'issued, but linkcert_redirect_https is off by '
                          . 'default: 200');
};


###########################################################################
# linkcert_redirect_https on, linkcert_hold 1s, validations take 4 s

$delay->set(4);

subtest 'a reload releases parked connections at once' => sub {
    my $m0 = $t->metric_values;

    # the client in a child (which must not run END: it would stop
    # nginx), the reload here
    pipe my $rd, my $wr or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $rd;
        my $r = eval { $t->trickle_handshake($RELOADED, chunk => 65536,
                                             timeout => 15) }
                // { ok => 0, error => "$@" };
        print $wr JSON::PP->new->encode($r);
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;

    ok(wait_for(sub { held($t->metric_values) > held($m0) }, 5),
       'a first handshake is parked');

    $t->write_config(config("    linkcert_hold 1s;\n"
                            . "    linkcert_redirect_https on;\n"));
    my $t0 = time;
    my $reloaded = eval { $t->reload; 1 };
    my $took = time - $t0;
    ok($reloaded, 'the reload goes through') or diag($@);
    cmp_ok($took, '<', 3, sprintf('in %.2f s: not held up by the parked '
                                  . 'connection', $took));

    my $json = do { local $/; <$rd> };
    waitpid $pid, 0;
    my $r = eval { JSON::PP->new->decode($json // '') } // {};
    ok($r->{ok}, 'the parked handshake completes') or diag($r->{error});
    is($r->{fingerprint}, $FALLBACK, 'with the fallback');
    cmp_ok($r->{elapsed} // 99, '<', 5,
           sprintf('released by the reload (%.2f s after its connect), not '
                   . 'by linkcert_hold 20s', $r->{elapsed} // 99));
};

subtest 'linkcert_redirect_https: only issued names' => sub {
    my $r = $t->http(GET => '/path/to?x=1&y=%20z', host => $PLAIN);
    is($r->{status}, 301, 'GET on an issued name: 301');
    is($r->{headers}{location}, "https://$PLAIN/path/to?x=1&y=%20z",
       'to https://name/path?query');

    $r = $t->http(HEAD => '/h', host => $PLAIN);
    is($r->{status}, 301, 'HEAD: 301');

    for my $method (qw(POST PUT DELETE)) {
        $r = $t->http($method => '/click?id=7', host => $PLAIN,
                      body => 'a=b');
        is($r->{status}, 308, "$method: 308");
        is($r->{headers}{location}, "https://$PLAIN/click?id=7",
           "$method: the Location");
    }

    $r = $t->http(GET => '/', host => $PLAIN, https => 1);
    is($r->{status}, 200, 'over HTTPS: no redirect');

    $r = $t->http(GET => '/.well-known/acme-challenge/x', host => $PLAIN);
    is($r->{status}, 200, '/.well-known/acme-challenge/x: not redirected');
    is($r->{body}, "tracker\n", '... the location answers');

    for my $path ('/.well-known/acme-challenge/',
                  '/.well-known/acme-challenge')
    {
        $r = $t->http(GET => $path, host => $PLAIN);
        is($r->{status}, 200, "$path: not redirected either");
    }

    $r = $t->http(GET => '/.well-known/ssl-status', host => $PLAIN);
    is($r->{status}, 200, '/.well-known/ssl-status: not redirected');
    is(($r->{json} // {})->{status}, 'issued', '... the public status');

    $r = $t->status_of($PLAIN);
    is($r->{status}, 200, '/.well-known/ssl-status?domain= with the key: 200');

    $r = $t->http(GET => '/.well-known/ssl-status/metrics', host => $PLAIN,
                  key => 1);
    is($r->{status}, 200, '/.well-known/ssl-status/metrics: 200');

    $r = $t->http(GET => '/', host => $PENDING);
    is($r->{status}, 200, 'a new name: 200, not redirected');
    is($r->{body}, "tracker\n", '... the location answers');
    like(stage_of($PENDING), qr/^(?:verifying|ordering)$/,
         "$PENDING is now pending");
    $r = $t->http(POST => '/c', host => $PENDING, body => 'x');
    is($r->{status}, 200, 'POST while pending: 200');

    $r = $t->http(GET => '/', host => $NOWHERE);
    is($r->{status}, 200, 'a name without DNS: 200');
    is($r->{body}, "tracker\n", '... the location answers');
};


###########################################################################

subtest 'linkcert_hold 1s runs out: the fallback, then the certificate' => sub {
    my $m0 = $t->metric_values;

    my $t0 = time;
    my $info = $t->handshake_info($SLOW);
    my $took = time - $t0;
    my $stage = stage_of($SLOW);
    my $m1 = $t->metric_values;

    ok($info, 'the handshake completes')
        or diag($t->{handshake_error}), return;
    is($info->{fingerprint}, $FALLBACK, 'with the fallback');
    cmp_ok($took, '>=', 0.9, sprintf('not before the hold (%.3f s)', $took));
    cmp_ok($took, '<', 2.5, 'well before the 4 s validation');
    like($stage, qr/^(?:verifying|ordering)$/,
         "$SLOW still pending then ($stage): the hold ran out");

    is(held($m1) - held($m0), 1, 'held: +1');
    is($m1->{'linkcert_handshakes_total{outcome="fallback"}'}
       - $m0->{'linkcert_handshakes_total{outcome="fallback"}'}, 1,
       'fallback: +1');
    is($m1->{linkcert_hold_seconds_count} - $m0->{linkcert_hold_seconds_count},
       1, 'hold histogram: count +1');
    is($m1->{'linkcert_hold_seconds_bucket{le="0.500"}'}
       - $m0->{'linkcert_hold_seconds_bucket{le="0.500"}'}, 0,
       'not in le="0.500"');
    is($m1->{'linkcert_hold_seconds_bucket{le="2.500"}'}
       - $m0->{'linkcert_hold_seconds_bucket{le="2.500"}'}, 1,
       'in le="2.500"');
    my $sum = $m1->{linkcert_hold_seconds_sum}
              - $m0->{linkcert_hold_seconds_sum};
    cmp_ok($sum, '>=', 0.95, sprintf('sum +%.3f s', $sum));
    cmp_ok($sum, '<', 1.5, 'sum: about the hold');
};

subtest 'once issued, the next handshake gets the certificate' => sub {
    my ($j, $ok) = $pebble->wait_issued($SLOW, 15);
    ok($ok, "$SLOW issued") or diag(explain $j), diag($pebble->notices);
    my $hs = $pebble->verified_handshake($SLOW);
    ok($hs->{ok}, 'verified against Pebble\'s root') or diag($hs->{error});
    cmp_ok($hs->{elapsed}, '<', 0.5, 'at once');

    ($j, $ok) = $pebble->wait_issued($PENDING, 15);
    ok($ok, "$PENDING issued too");
    my $r = $t->http(GET => '/x', host => $PENDING);
    is($r->{status}, 301, "now $PENDING is redirected");
};

subtest 'the name parked across the reload is issued' => sub {
    my ($j, $ok) = $pebble->wait_issued($RELOADED, 15);
    ok($ok, "$RELOADED issued") or diag(explain $j), diag($pebble->notices);
    my $hs = $pebble->verified_handshake($RELOADED);
    ok($hs->{ok}, 'its certificate verifies') or diag($hs->{error});
};

# one order per name issued; the one in flight at the reload may have
# been started over by the new worker 0
my $orders = $pebble->order_count;
ok($orders == 8 || $orders == 9, "Pebble saw $orders orders: one per name "
   . 'issued (8), perhaps two for the one ordered across the reload')
    or diag(join "\n", $pebble->requests);
is($pebble->issued_count, 8, 'Pebble issued 8 certificates');
ok(!(grep { /\[(?:alert|crit|emerg)\]/ } split /\n/, $t->error_log),
   'no alert, crit or emerg');
$t->no_crash_ok;

diag(sprintf 'the whole file: %.1f s', time - $started);

done_testing;
