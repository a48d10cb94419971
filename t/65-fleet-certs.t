#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# A certificate issued anywhere is served everywhere within 1 s: two
# edges share one Redis; a domain POSTed on edge A is issued on A, and
# edge B, which never ordered it, serves the same certificate (same
# serial, verified by SNI against Pebble's root) within 1 s of A's status
# saying issued, reports it issued, and has the pair in its own store.
# In Redis the private key is sealed: no value holds a PEM key or the
# key's DER.  B stopped while A issues a second domain catches up when it
# starts again (by sequence, from the last change it applied), and a new
# edge C with an empty store catches up on both: from the info A's
# record carries (sealed), without parsing the pair, with A's status
# (serial, not_after, sha256, issuer); a record whose info is not its own
# (another domain's, put there with redis-cli) is reported and applied
# by parsing and checking the pair, as an older edge's.  A Redis that lost its
# data (FLUSHALL) has a sequence behind the edges': they read the changes
# again from the first.  Without the fleet's
# certificates, B never serves them.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Fleet;
use LinkCert::Pebble;
use LinkCert::Util qw(read_file capture);
use Time::HiRes qw(time sleep);

my $D = 'links.customer.test';
my $D2 = 'go.other-customer.test';

# A orders, B serves, C joins late with an empty store
my $fleet = LinkCert::Fleet->new(3, domains => [ $D, $D2 ]);
my ($a, $b, $c) = $fleet->edges;
my $redis = $fleet->redis;
my $pebble = LinkCert::Pebble->new($a);

$fleet->start($pebble, run => 'ab', b => { workers => 2 });

$redis->monitor;

sub served_on { $pebble->wait_serial(@_) }

is($a->verify($D)->{status}, 202, "POST $D on edge A: 202");
my ($j, $ok) = $pebble->wait_issued($D, 30);
ok($ok, "issued on A") or diag(explain $j);
my $serial = uc($j->{certificate}{serial} // '');

my ($hs, $took) = served_on($b, $D, $serial, 5);
ok($hs->{ok}, 'B: the handshake by SNI verifies against the CA\'s root')
    or diag($hs->{error});
is($hs->{serial}, $serial, 'B serves the same certificate (serial)');
cmp_ok($took, '<', 1, sprintf('within 1 s of A\'s status (%.3f s)', $took));
diag(sprintf('served on B for a handshake begun %.3f s after A said '
             . 'issued', $took));

my $sb = $b->status_of($D)->{json} // {};
is($sb->{status}, 'issued', 'B reports it issued');
is(uc($sb->{certificate}{serial} // ''), $serial, 'B reports its serial');

is(read_file($b->store . "/domains/$D/fullchain.pem"),
   read_file($a->store . "/domains/$D/fullchain.pem"),
   'B\'s store has the chain');
is(read_file($b->store . "/domains/$D/privkey.pem"),
   read_file($a->store . "/domains/$D/privkey.pem"),
   'B\'s store has the key');
is($pebble->order_count, 1, 'one order at Pebble: B ordered nothing');

subtest 'changes by sequence, no KEYS or SCAN' => sub {
    my $mon = $redis->monitor_log;
    my $keys = qr/"linkcert:seq" "linkcert:cert:\Q$D\E" "linkcert:changes"/;
    like($mon, qr/"EVAL" .* $keys/,
         'A wrote the change in one script');
    like($mon, qr/"ZRANGEBYSCORE" "linkcert:changes" "\(\d+" "\+inf"/,
         'B read the changes after the last it applied');
    like($mon, qr/"EVALSHA" "\w+" "1" "linkcert:cert:\Q$D\E"/,
         'and the record (with its intermediates, in a script)');
    like($mon, qr/\[0 lua\] "HGETALL" "linkcert:cert:\Q$D\E"/,
         '... HGETALL in the script');
    unlike($mon, qr/"(?:KEYS|SCAN)"/, 'no KEYS or SCAN');
    is($redis->cli(ZSCORE => 'linkcert:changes', $D),
       $redis->cli(GET => 'linkcert:seq'), 'the domain\'s change is the last');
};

subtest 'the key in Redis is sealed' => sub {
    my $pem = read_file($a->store . "/domains/$D/privkey.pem");
    my ($rc, $der) = capture('openssl', 'pkey', '-in',
                             $a->store . "/domains/$D/privkey.pem",
                             '-outform', 'DER');
    is($rc, 0, 'the key\'s DER');
    cmp_ok(length $der, '>', 100, 'a DER of some length');
    my ($body) = $pem =~ /-----\n(\S{40})/;

    # the test may scan the keyspace, the module never does
    my @keys = split /\n/, $redis->cli('--scan', '--pattern', 'linkcert:*');
    ok((grep { $_ eq "linkcert:cert:$D" } @keys), 'the domain\'s record');
    ok((grep { $_ eq 'linkcert:changes' } @keys), 'the changes');
    my @values;
    for my $k (@keys) {
        my $type = $redis->cli(TYPE => $k);
        push @values, $type eq 'hash'   ? $redis->cli('--raw', HGETALL => $k)
                    : $type eq 'zset'   ? $redis->cli('--raw', ZRANGE => $k,
                                                      0, -1, 'WITHSCORES')
                    : $type eq 'string' ? $redis->cli('--raw', GET => $k)
                    : ();
    }
    my $all = join "\n", @values;
    like($all, qr/BEGIN CERTIFICATE/, 'the chain is there');
    unlike($all, qr/PRIVATE KEY|BEGIN (?!CERTIFICATE)/, 'no PEM key');
    ok(index($all, $der) < 0, 'not the key\'s DER');
    ok(index($all, $body) < 0, 'not the PEM key\'s base64');
    my $sealed = $redis->cli('--raw', HGET => "linkcert:cert:$D", 'key');
    cmp_ok(length $sealed, '>', 100, 'a sealed key is there');
    is($redis->cli(HGET => "linkcert:cert:$D", 'edge'), 'edge-a',
       'the record names the edge');
};

subtest 'B restarted catches up from the last change it applied' => sub {
    $b->stop;
    is(read_file($b->store . '/redis.seq'), "1\n",
       'B kept the number of the last change it applied');
    is($a->verify($D2)->{status}, 202, "POST $D2 on edge A: 202");
    my ($j2, $ok2) = $pebble->wait_issued($D2, 30);
    ok($ok2, "$D2 issued on A") or diag(explain $j2);
    my $offset = length $redis->monitor_log;
    $b->run;
    my ($hs2) = served_on($b, $D2, uc($j2->{certificate}{serial} // ''), 10);
    ok($hs2->{ok} && $hs2->{serial} eq uc $j2->{certificate}{serial},
       "B serves $D2 after its restart") or diag(explain $hs2);
    ok(scalar $b->log_lines(qr/"\Q$D2\E" certificate from the fleet/),
       'from the fleet');
    my %b = map { $_->{addr} => 1 }
            grep { ($_->{name} // '') =~ /^linkcert-edge-b-\d+$/ }
            $redis->clients;
    my @asked = grep { /\[0 (\S+)\]/ && $b{$1} }
                split /\n/, substr($redis->monitor_log, $offset);
    ok((grep { /"ZRANGEBYSCORE" "linkcert:changes" "\(1" / } @asked),
       'B asked for the changes after 1, the last it applied')
        or diag(join "\n", @asked);
    ok((grep { /"EVALSHA" "\w+" "1" "linkcert:cert:\Q$D2\E"/ } @asked),
       "B fetched $D2") or diag(join "\n", @asked);
    ok(!(grep { /"(?:HGETALL|EVALSHA)" .*"linkcert:cert:\Q$D\E"/ } @asked),
       "B did not fetch $D again");
};

subtest 'a new edge with an empty store catches up' => sub {
    my $info = $redis->cli('--raw', HGET => "linkcert:cert:$D", 'info');
    cmp_ok(length $info, '>', 100, "A's record of $D carries its info");
    unlike($info, qr/BEGIN|\Q$serial\E/i, 'sealed');

    # D2's record gets D's info, sealed for D: it does not apply to D2
    $redis->cli(EVAL => "redis.call('HSET', KEYS[2], 'info', "
                        . "redis.call('HGET', KEYS[1], 'info'))", 2,
                "linkcert:cert:$D", "linkcert:cert:$D2");
    is($redis->cli('--raw', HGET => "linkcert:cert:$D2", 'info'), $info,
       "${D2}'s record holds ${D}'s info");

    $c->run;
    for my $d ($D, $D2) {
        my $s = uc($a->status_of($d)->{json}{certificate}{serial} // '');
        my ($hs3) = served_on($c, $d, $s, 10);
        ok($hs3->{ok} && $hs3->{serial} eq $s, "C serves $d")
            or diag(explain $hs3);
    }
    is($pebble->order_count, 2, 'two orders at Pebble in all');

    ok(scalar $c->log_lines(
           qr/"\Q$D\E" certificate from the fleet .*\(its info carried\)/),
       "C applied $D from its record's info, without parsing it");
    my $sa = $a->status_of($D)->{json}{certificate} // {};
    my $sc = $c->status_of($D)->{json}{certificate} // {};
    is($sc->{$_}, $sa->{$_}, "C's $_ of $D is A's")
        for qw(serial not_before not_after sha256 issuer);
    ok(scalar $c->log_lines(qr/the fleet's info of "\Q$D2\E" .*not used: /
                            . qr/does not open/),
       "C reported ${D2}'s info that is not its own");
    ok(scalar $c->log_lines(
           qr/"\Q$D2\E" certificate from the fleet .*\(parsed\)/),
       "C applied $D2 by parsing and checking the pair");
    my $s2a = $a->status_of($D2)->{json}{certificate} // {};
    my $s2c = $c->status_of($D2)->{json}{certificate} // {};
    is($s2c->{$_}, $s2a->{$_}, "C's $_ of $D2 is A's")
        for qw(serial not_after sha256);
};

subtest 'Redis lost its data: the changes are read again from the first'
    => sub {
    my $D3 = 'new.customer.test';
    $a->set_cname($D3, 'edge.crm.test');
    $redis->cli('FLUSHALL');
    is($a->verify($D3)->{status}, 202, "POST $D3 on edge A: 202");
    my ($j3, $ok3) = $pebble->wait_issued($D3, 30);
    ok($ok3, "$D3 issued on A") or diag(explain $j3);
    # A uploads what it holds (t/81) before or after D3's change
    cmp_ok($redis->cli(GET => 'linkcert:seq'), '<=', 3,
           'the sequence began again');
    my ($hs3) = served_on($b, $D3, uc($j3->{certificate}{serial} // ''), 10);
    ok($hs3->{ok} && $hs3->{serial} eq uc $j3->{certificate}{serial},
       "B serves $D3") or diag(explain $hs3);
    ok($b->wait_until(sub { $b->log_lines(qr/redis lost its data/) }, 10),
       'B said why');
    ok($b->wait_until(sub {
           my $seq = $redis->cli(GET => 'linkcert:seq');
           (read_file($b->store . '/redis.seq') // '') eq "$seq\n" }, 10),
       'B\'s last change applied is the new sequence\'s');
};

$a->no_crash_ok('edge A: no worker crashed');
$b->no_crash_ok('edge B: no worker crashed');
$c->no_crash_ok('edge C: no worker crashed');

done_testing;
