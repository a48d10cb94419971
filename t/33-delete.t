#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# DELETE /.well-known/ssl-status?domain=D: with the API key, 200 and D's
# last state (the full object); D leaves the table (unknown / none), the
# next handshakes get the fallback, and <store>/domains/D/ moves to
# <store>/removed/D.<YYYYmmddTHHMMSSZ>/ with its files intact.  A second
# DELETE is 404 not_found; no key 401, a bad name 400.  D does not come
# back at a reload or a restart, can be added again with "Verify domain",
# and a domain deleted while its order is in flight stays deleted.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Pebble;
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);

my $t = LinkCert::Test->new;
my $delay = LinkCert::Pebble::Delay->new($t);
my $pebble = LinkCert::Pebble->new($t, http_port => $delay->port,
    env => { PEBBLE_AUTHZREUSE => 0 });
my $RFC3339 = LinkCert::Test::rfc3339_re();

my $TARGET = 'edge.crm.test';
my $DEL = 'gone.customer.test';        # imported, deleted
my $KEEP = 'keep.customer.test';       # imported, untouched
my $MID = 'mid.customer.test';         # deleted while being ordered
my $REKEY = 'rekey.customer.test';     # deleted and issued again, live
my $AGAIN = 'again.customer.test';     # deleted mid-order, added at once
my $FALLBACK = $t->fallback_fingerprint;
my $STATUS = '/.well-known/ssl-status';

$t->challtestsrv;
$t->add_a($TARGET, ['127.0.0.1']);
$t->set_cname($_, $TARGET) for $DEL, $MID, $REKEY, $AGAIN;

my ($del_chain) = $t->store_domain($DEL);
my ($keep_chain) = $t->store_domain($KEEP);
my ($rekey_chain) = $t->store_domain($REKEY);
my $del_fp = $t->fingerprint_of_file($del_chain);
my $keep_fp = $t->fingerprint_of_file($keep_chain);

$pebble->start;
$t->write_config($t->standard_config(workers => 2, log_level => 'info',
    http => <<'EOF'));
    linkcert_cname_target edge.crm.test;
    linkcert_target_address 127.0.0.1;
    linkcert_resolver 127.0.0.1:%%DNS%% timeout=1s attempts=2;

    linkcert_acme_directory %%ACME_DIRECTORY%%;
    linkcert_acme_trusted_certificate %%ACME_CA%%;
EOF
$t->run;

my $store = $t->store;

sub del {
    my ($domain, %opts) = @_;
    my $q = defined $domain ? '?domain=' . LinkCert::Test::uri_escape($domain) : '';
    return $t->http(DELETE => "$STATUS$q", key => 1, %opts);
}

sub error_ok {
    my ($r, $status, $error, $name) = @_;
    is($r->{status}, $status, "$name: $status") or diag($r->{raw});
    like($r->{headers}{'content-type'} // '', qr{^application/json},
         "$name: JSON");
    is($r->{json}{error}, $error, "$name: error $error");
    like($r->{json}{detail} // '', qr/\S/, "$name: with a detail");
}

sub removed_dirs {
    my ($name) = @_;
    opendir my $dh, "$store/removed" or return ();
    return sort grep { /^\Q$name\E\./ } readdir $dh;
}

my %files_before = %{ $t->snapshot("$store/domains/$DEL") };

# Each new worker 0 registers the ACME account first; a reload or a stop
# in the middle of that is 34-quit.t's business, not this file's: wait
# until one of the current workers says the account is ready.
sub account_settled { $pebble->account_settled }

sub reload_settled  { $t->reload; account_settled() }
sub restart_settled { $t->stop; $t->run; account_settled() }

account_settled();


###########################################################################
# refused requests change nothing

subtest 'refused DELETEs' => sub {
    my $r = del($DEL, key => undef);
    error_ok($r, 401, 'unauthorized', 'no key');
    like($r->{headers}{'www-authenticate'} // '', qr/^Bearer realm="linkcert"/,
         'no key: WWW-Authenticate');
    error_ok(del($DEL, key => 'wrong'), 401, 'unauthorized', 'wrong key');
    error_ok(del('bad..name.test'), 400, 'invalid_domain', 'empty label');
    error_ok(del('*.customer.test'), 400, 'invalid_domain', 'a wildcard');
    error_ok(del('127.0.0.1'), 400, 'invalid_domain', 'an IP literal');
    error_ok(del('-x.customer.test'), 400, 'invalid_domain', 'a leading hyphen');
    error_ok(del(undef), 400, 'invalid_domain', 'no ?domain=');
    error_ok(del('never-seen.customer.test'), 404, 'not_found', 'never seen');

    my $j = $t->status_of($DEL)->{json} // {};
    is($j->{status}, 'issued', "$DEL is still issued");
    is($t->handshake($DEL), $del_fp, 'and served');
    ok(-f "$store/domains/$DEL/fullchain.pem", 'its files are in place');
    is_deeply([ removed_dirs($DEL) ], [], 'nothing moved to removed/');
};

subtest 'DELETE is an allowed method of the status only' => sub {
    my $r = $t->http(PUT => "$STATUS?domain=$DEL", key => 1);
    is($r->{status}, 405, 'PUT on the status: 405');
    like($r->{headers}{allow} // '', qr/\bDELETE\b/, 'Allow names DELETE');
    $r = $t->http(DELETE => "$STATUS/domains", key => 1);
    is($r->{status}, 405, 'DELETE on /domains: 405');
    unlike($r->{headers}{allow} // '', qr/DELETE/, 'its Allow does not name DELETE');
    is($t->status_of($DEL)->{json}{status}, 'issued', "$DEL untouched");
};


###########################################################################
# the DELETE

# served by both workers first, so that their caches hold it
$t->handshake($DEL) for 1 .. 6;
my $before = $t->status_of($DEL)->{json} // {};

my $t0 = time;
my $r = del('Gone.Customer.TEST.');    # normalised like every name
my $t1 = time;

subtest 'the answer: 200 and the last state' => sub {
    is($r->{status}, 200, "status 200") or diag($r->{raw});
    like($r->{headers}{'content-type'} // '', qr{^application/json}, 'JSON');
    like($r->{headers}{'cache-control'} // '', qr/no-store/, 'no-store');
    my $j = $r->{json} // {};
    is($j->{domain}, $DEL, 'domain, normalised');
    is($j->{status}, 'issued', 'status issued');
    is($j->{stage}, 'issued', 'stage issued');
    is($j->{certificate}{sha256}, $del_fp, 'certificate.sha256');
    is_deeply($j->{certificate}, $before->{certificate},
              'the certificate object as it was');
    is($j->{updated_at}, $before->{updated_at}, 'updated_at as it was');
    ok(exists $j->{dns} && exists $j->{last_error}
       && exists $j->{next_attempt_at}, 'the full object\'s fields');
};

subtest 'the domain is gone' => sub {
    my $j = $t->status_of($DEL)->{json} // {};
    is($j->{status}, 'unknown', 'status unknown');
    is($j->{stage}, 'none', 'stage none');
    is($j->{certificate}, undef, 'no certificate');
    is($j->{updated_at}, undef, 'updated_at null (never seen)');
    my $fps = join ' ', map { $t->handshake($DEL) // 'none' } 1 .. 8;
    is($fps, join(' ', ($FALLBACK) x 8), 'eight handshakes: the fallback');
    my $pub = $t->http(GET => $STATUS, host => $DEL);
    is($pub->{json}{status}, 'unknown', 'public status unknown');
    my $list = $t->http(GET => "$STATUS/domains", key => 1);
    my @names = map { $_->{domain} } @{ $list->{json}{domains} // [] };
    ok(!(grep { $_ eq $DEL } @names), 'not in /domains')
        or diag("@names");
    ok((grep { $_ eq $KEEP } @names), "$KEEP still is");
    is($t->handshake($KEEP), $keep_fp, "$KEEP still served");
    my @lines = grep { /\[notice\].*linkcert: "\Q$DEL\E" issued\/issued -> removed/ }
                split /\n/, $t->error_log;
    is(scalar @lines, 1, 'logged: issued/issued -> removed');
};

subtest 'the files moved to removed/' => sub {
    ok(!-e "$store/domains/$DEL", 'domains/D is gone');
    my @dirs = removed_dirs($DEL);
    is(scalar @dirs, 1, 'one removed/D.<time> directory') or diag("@dirs");
    my ($stamp) = ($dirs[0] // '') =~ /^\Q$DEL\E\.(\d{8}T\d{6}Z)$/;
    ok(defined $stamp, "named D.YYYYmmddTHHMMSSZ ($dirs[0])");
    my %ok = map { strftime('%Y%m%dT%H%M%SZ', gmtime($_)) => 1 }
             int($t0) - 1 .. int($t1) + 1;
    ok($stamp && $ok{$stamp}, 'the time of the DELETE, UTC');
    my $after = $t->snapshot("$store/removed/" . ($dirs[0] // 'none'));
    is_deeply($after, \%files_before,
              'the same files, bytes and modes (privkey.pem 0600)');
};

my $again = del($DEL);
error_ok($again, 404, 'not_found', 'a second DELETE');


###########################################################################
# it does not come back

reload_settled();
subtest 'after a reload' => sub {
    my $j = $t->status_of($DEL)->{json} // {};
    is($j->{stage}, 'none', 'still never seen');
    is($t->handshake($DEL), $FALLBACK, 'the fallback');
    is(scalar(my @d = removed_dirs($DEL)), 1, "removed/ untouched");
};

restart_settled();
subtest 'after a restart' => sub {
    my $j = $t->status_of($DEL)->{json} // {};
    is($j->{stage}, 'none', 'still never seen');
    is($t->handshake($DEL), $FALLBACK, 'the fallback');
    is($t->status_of($KEEP)->{json}{status}, 'issued', "$KEEP issued");
};


###########################################################################
# added again by the customer

$r = $t->verify($DEL);
is($r->{status}, 202, 'POST after the DELETE: 202') or diag($r->{raw});
my ($j, $ok) = $pebble->wait_issued($DEL, 20);
ok($ok, 'issued again, by Pebble') or diag(explain $j), diag($pebble->notices);
my $hs = $pebble->verified_handshake($DEL);
ok($hs->{ok}, 'the new certificate is served') or diag($hs->{error});
is(scalar(my @d = removed_dirs($DEL)), 1, "the removed copy is still there");


###########################################################################
# deleted and issued again without a reload (a key rotation): every
# worker serves the new certificate, none its cached copy of the old one

subtest 'DELETE and a new issuance reach every worker\'s cache' => sub {
    my $old_fp = $t->fingerprint_of_file($rekey_chain);
    my %seen = map { ($t->handshake($REKEY) // 'none') => 1 } 1 .. 8;
    is_deeply([ keys %seen ], [ $old_fp ], 'served by both workers first');

    is(del($REKEY)->{status}, 200, 'DELETE: 200');
    is($t->verify($REKEY)->{status}, 202, 'POST: 202');
    my ($j, $ok) = $pebble->wait_issued($REKEY, 20);
    ok($ok, 'issued again') or diag(explain $j), diag($pebble->notices);
    my $new_fp = ($j // {})->{certificate}{sha256} // '';
    isnt($new_fp, $old_fp, 'a new certificate');

    my @fps = map { $t->handshake($REKEY) // 'none' } 1 .. 8;
    is_deeply(\@fps, [ ($new_fp) x 8 ],
              'eight handshakes: the new certificate, never the deleted one');
};


###########################################################################
# deleted while its order is in flight

$delay->set(3);
my $issued_before = $pebble->issued_count;
$r = $t->verify($MID);
is($r->{status}, 202, "POST $MID: 202") or diag($r->{raw});
ok($delay->wait_request($MID, 15), 'its HTTP-01 validation has begun')
    or diag($pebble->notices);

my $mid = del($MID);
is($mid->{status}, 200, 'DELETE mid-order: 200') or diag($mid->{raw});
is($mid->{json}{status}, 'pending', 'its last state: pending');
is($mid->{json}{stage}, 'ordering', 'stage ordering');

# the validation finishes 3 s later; the order may go on at Pebble
my $done_re = qr/^Pebble \S+ \S+ (?:Issued certificate|authz \S+ set INVALID)/m;
my $done_before = () = $pebble->log =~ /$done_re/g;
my $wait_until = time + 15;
sleep 0.1 while (() = $pebble->log =~ /$done_re/g) == $done_before
                && time < $wait_until;
sleep 3;

subtest 'a domain deleted mid-order stays deleted' => sub {
    my $j = $t->status_of($MID)->{json} // {};
    is($j->{status}, 'unknown', 'unknown') or diag(explain $j);
    is($j->{stage}, 'none', 'stage none');
    ok(!-e "$store/domains/$MID/fullchain.pem",
       'no certificate written to the store for it')
        or diag(`ls -la $store/domains/$MID`);
    is($t->handshake($MID), $FALLBACK, 'the fallback');
    ok(eval { $t->reload; 1 }, 'a reload afterwards') or diag($@);
    $j = $t->status_of($MID)->{json} // {};
    is($j->{stage}, 'none', 'after a reload too');
    is($t->handshake($MID), $FALLBACK, 'the fallback after the reload');
    note('Pebble issued ' . ($pebble->issued_count - $issued_before)
         . ' certificate(s) for the abandoned order');
};

###########################################################################
# deleted while its order is in flight and added again at once: the old
# order's end does not end the new entry's job (nor write its files); the
# new entry is issued once, by its own order

subtest 'an old job does not end the new entry\'s' => sub {
    $delay->set(3);
    is($t->verify($AGAIN)->{status}, 202, "POST $AGAIN: 202");
    ok($delay->wait_request($AGAIN, 15), 'its HTTP-01 validation has begun')
        or diag($pebble->notices);

    my $from = length $t->error_log;
    is(del($AGAIN)->{status}, 200, 'DELETE mid-order: 200');
    is($t->verify($AGAIN)->{status}, 202, 'POST again at once: 202');

    my ($j, $ok) = $pebble->wait_issued($AGAIN, 30);
    ok($ok, 'issued') or diag(explain $j), diag($pebble->notices);
    sleep 1;

    my @issued = grep { /"\Q$AGAIN\E" \S+ -> issued\/issued/ }
                 split /\n/, substr($t->error_log, $from);
    is(scalar @issued, 1, 'one issuance logged, by the new order')
        or diag(join "\n", @issued);
    $j = $t->status_of($AGAIN)->{json} // {};
    is($t->handshake($AGAIN), $j->{certificate}{sha256},
       'the certificate of the status is served');
    is($t->pubkey_of_key("$store/domains/$AGAIN/privkey.pem"),
       $t->pubkey_of_cert("$store/domains/$AGAIN/fullchain.pem"),
       'the store holds a matching pair');
    $delay->set(0);
};

###########################################################################
# deleted, added again and deleted again within the same second: the
# second copy must not stay in domains/ (and come back at the next load).
# The second's removed/ name is made taken, whatever second the DELETE
# lands in: removed/D.<stamp>/ exists (a decoy) for every second from
# just before it to 10 s after, so its copy must take a numbered name.

my $TWICE = 'twice.customer.test';
$t->store_domain($TWICE);
reload_settled();
is(($t->status_of($TWICE)->{json} // {})->{status}, 'issued', "$TWICE issued");

my $d1 = del($TWICE);
is($d1->{status}, 200, 'the first DELETE: 200');
my ($again_chain) = $t->store_domain($TWICE);
my $again_fp = $t->fingerprint_of_file($again_chain);
$t->reload;

my @decoys;
for my $at (int(time) - 1 .. int(time) + 10) {
    my $dir = "$store/removed/$TWICE." . strftime('%Y%m%dT%H%M%SZ', gmtime $at);
    next if -e $dir;                   # the first DELETE's copy
    mkdir $dir or die "$dir: $!";
    open my $fh, '>', "$dir/decoy" or die "$dir/decoy: $!";
    print $fh "decoy\n";
    close $fh;
    push @decoys, $dir;
}

my $d2 = del($TWICE);
is($d2->{status}, 200, 'the second DELETE: 200') or diag($d2->{raw});

subtest 'deleted twice within a second: both copies kept' => sub {
    my @dirs = removed_dirs($TWICE);
    is(scalar @dirs, 2 + @decoys, 'two copies in removed/, and the decoys')
        or diag("@dirs");
    ok(!-e "$store/domains/$TWICE", 'nothing left in domains/')
        or diag(`ls -la $store/domains/$TWICE`);
    my @second = grep {
        -f "$store/removed/$_/fullchain.pem"
        && $t->fingerprint_of_file("$store/removed/$_/fullchain.pem")
           eq $again_fp
    } @dirs;
    is(scalar @second, 1, 'the second copy is in one of them')
        or diag("@dirs");
    like($second[0] // '', qr/^\Q$TWICE\E\.\d{8}T\d{6}Z\.\d+$/,
         'under a numbered name, its second being taken');
    is_deeply([ grep { !-f "$_/decoy" || -e "$_/fullchain.pem" } @decoys ],
              [], 'the decoys untouched');
    reload_settled();
    my $j = $t->status_of($TWICE)->{json} // {};
    is($j->{stage}, 'none', 'it does not come back at the next reload')
        or diag(explain $j);
    is($t->handshake($TWICE), $FALLBACK, 'the fallback');
};

$t->no_crash_ok;
my @alerts = $pebble->error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
is(scalar @alerts, 0, 'no alert, crit or emerg') or diag(join "\n", @alerts);

done_testing;
