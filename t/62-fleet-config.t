#!/usr/bin/perl
# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.

# The fleet's directives: linkcert_redis, linkcert_redis_key and
# linkcert_edge.  Working forms pass nginx -t; each mistake is an [emerg]
# naming the directive and the value; the key file's content is never
# printed.  With sentinel=name the addresses are Sentinels (port 26379 by
# default); several addresses without it are refused, saying why.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use LinkCert::Test;
use LinkCert::Config qw(config_ok config_fails);
use LinkCert::Util qw(write_file);

my $t = LinkCert::Test->new;
my $prefix = $t->prefix;

my $HEX = 'a1b2c3d4e5f60718' x 4;
my $SHORT = 'deadbeef' x 7 . 'dead';          # 60 characters
my $NOTHEX = 'zz' . ('c0ffee42' x 8 =~ s/^..//r);

write_file("$prefix/fleet.key", "$HEX\n", 0600);
write_file("$prefix/short.key", "$SHORT\n", 0600);
write_file("$prefix/nothex.key", "$NOTHEX\n", 0600);
write_file("$prefix/empty.key", "", 0600);
write_file("$prefix/redis.pass", "s3cret\n", 0600);

my $KEY = "linkcert_redis_key $prefix/fleet.key;";

config_ok($t, 'one Redis, the key', "linkcert_redis 127.0.0.1; $KEY");
config_ok($t, 'every implemented parameter, an edge name',
          "linkcert_redis 127.0.0.1:6390 password=$prefix/redis.pass db=3 "
          . "prefix=crm:edge: timeout=250ms lease=2m; $KEY "
          . "linkcert_edge edge-a.dc1;");
config_ok($t, 'a unix: path',
          "linkcert_redis unix:/run/redis/redis.sock; $KEY");
config_ok($t, 'the key before linkcert_redis',
          "$KEY linkcert_redis 127.0.0.1:6379;");
config_ok($t, 'three Sentinels',
          "linkcert_redis 127.0.0.1:26379 127.0.0.2 [::1]:26380 "
          . "sentinel=crm-redis.1 password=$prefix/redis.pass; $KEY");
config_ok($t, 'sentinel= first, a Sentinel on a unix: path',
          "linkcert_redis sentinel=crm unix:/run/redis/sentinel.sock; $KEY");

my @cases = (
    [ 'linkcert_redis without linkcert_redis_key',
      'linkcert_redis 127.0.0.1:6379;',
      [ qr/"linkcert_redis" requires the "linkcert_redis_key"/,
        qr/nginx\.conf:\d+/ ] ],
    [ 'linkcert_redis_key without linkcert_redis',
      $KEY, [ qr/"linkcert_redis_key" requires the "linkcert_redis"/ ] ],
    [ 'linkcert_edge without linkcert_redis',
      'linkcert_edge a;', [ qr/"linkcert_edge" requires the "linkcert_redis"/ ] ],
    [ 'a key file that does not exist',
      "linkcert_redis 127.0.0.1; linkcert_redis_key $prefix/missing.key;",
      [ qr/linkcert_redis_key/, qr/\Q$prefix\E\/missing\.key/ ] ],
    [ 'a key file that is empty',
      "linkcert_redis 127.0.0.1; linkcert_redis_key $prefix/empty.key;",
      [ qr/linkcert_redis_key/, qr/\Q$prefix\E\/empty\.key/, qr/empty/ ] ],
    [ 'a key file that is a directory',
      "linkcert_redis 127.0.0.1; linkcert_redis_key $prefix/store;",
      [ qr/linkcert_redis_key/, qr/\Q$prefix\E\/store/ ] ],
    [ 'a key of 60 characters',
      "linkcert_redis 127.0.0.1; linkcert_redis_key $prefix/short.key;",
      [ qr/linkcert_redis_key/, qr/\Q$prefix\E\/short\.key/,
        qr/64 hexadecimal characters/ ] ],
    [ 'a key that is not hexadecimal',
      "linkcert_redis 127.0.0.1; linkcert_redis_key $prefix/nothex.key;",
      [ qr/linkcert_redis_key/, qr/\Q$prefix\E\/nothex\.key/,
        qr/64 hexadecimal characters/ ] ],
    [ 'a name instead of an address',
      "linkcert_redis redis.crm.test:6379; $KEY",
      [ qr/linkcert_redis/, qr/redis\.crm\.test:6379/, qr/not a name/ ] ],
    [ 'port 0', "linkcert_redis 127.0.0.1:0; $KEY",
      [ qr/linkcert_redis/, qr/127\.0\.0\.1:0/ ] ],
    [ 'no address', "linkcert_redis db=1; $KEY",
      [ qr/linkcert_redis/, qr/address/ ] ],
    [ 'two addresses without sentinel=',
      "linkcert_redis 127.0.0.1:6379 127.0.0.2:6379; $KEY",
      [ qr/linkcert_redis/, qr/127\.0\.0\.2:6379/, qr/needs "sentinel=name"/,
        qr/the addresses are then Sentinels/ ] ],
    [ 'sentinel= without a Sentinel',
      "linkcert_redis sentinel=crm; $KEY",
      [ qr/linkcert_redis/, qr/address of the Sentinels/ ] ],
    [ 'sentinel= empty',
      "linkcert_redis 127.0.0.1:26379 sentinel=; $KEY",
      [ qr/linkcert_redis/, qr/"sentinel="/ ] ],
    [ 'sentinel= twice',
      "linkcert_redis 127.0.0.1:26379 sentinel=a sentinel=b; $KEY",
      [ qr/linkcert_redis/, qr/"sentinel=b"/ ] ],
    [ 'sentinel= of 65 characters',
      "linkcert_redis 127.0.0.1:26379 sentinel=" . ('m' x 65) . "; $KEY",
      [ qr/linkcert_redis/, qr/sentinel=m{65}/ ] ],
    [ 'a Sentinel by its name',
      "linkcert_redis 127.0.0.1:26379 sentinel.crm.test sentinel=crm; $KEY",
      [ qr/linkcert_redis/, qr/sentinel\.crm\.test/, qr/not a name/ ] ],
    [ 'a Sentinel on port 0',
      "linkcert_redis 127.0.0.1:0 sentinel=crm; $KEY",
      [ qr/linkcert_redis/, qr/127\.0\.0\.1:0/ ] ],
    [ 'lease= under a second',
      "linkcert_redis 127.0.0.1 lease=500ms; $KEY",
      [ qr/linkcert_redis/, qr/lease=500ms/ ] ],
    [ 'lease=x', "linkcert_redis 127.0.0.1 lease=x; $KEY",
      [ qr/linkcert_redis/, qr/lease=x/ ] ],
    [ 'db=x', "linkcert_redis 127.0.0.1 db=x; $KEY",
      [ qr/linkcert_redis/, qr/db=x/ ] ],
    [ 'timeout=0', "linkcert_redis 127.0.0.1 timeout=0; $KEY",
      [ qr/linkcert_redis/, qr/timeout=0/ ] ],
    [ 'prefix= empty', "linkcert_redis 127.0.0.1 prefix=; $KEY",
      [ qr/linkcert_redis/, qr/"prefix="/ ] ],
    [ 'an unknown parameter', "linkcert_redis 127.0.0.1 pool=4; $KEY",
      [ qr/linkcert_redis/, qr/pool=4/ ] ],
    [ 'a password file that does not exist',
      "linkcert_redis 127.0.0.1 password=$prefix/nope.pass; $KEY",
      [ qr/linkcert_redis password=/, qr/\Q$prefix\E\/nope\.pass/ ] ],
    [ 'linkcert_redis twice',
      "linkcert_redis 127.0.0.1; linkcert_redis 127.0.0.2; $KEY",
      [ qr/"linkcert_redis" directive is duplicate/ ] ],
    [ 'an edge name with a space',
      "linkcert_redis 127.0.0.1; $KEY linkcert_edge 'edge a';",
      [ qr/linkcert_edge/, qr/edge a/ ] ],
    [ 'an edge name of 65 characters',
      "linkcert_redis 127.0.0.1; $KEY linkcert_edge " . ('e' x 65) . ';',
      [ qr/linkcert_edge/, qr/e{65}/ ] ],
);

for my $c (@cases) {
    config_fails($t, @$c[0, 1], @{ $c->[2] });
}

subtest 'the key is never printed' => sub {
    for my $file ('short.key', 'nothex.key', 'fleet.key') {
        my $conf = $file eq 'fleet.key'
                   ? "linkcert_redis 127.0.0.1 sentinel=; $KEY"
                   : "linkcert_redis 127.0.0.1; "
                     . "linkcert_redis_key $prefix/$file;";
        $t->write_config($t->standard_config(http => $conf));
        my ($rc, $out) = $t->test_config;
        isnt($rc, 0, "$file: nginx -t fails");
        for my $secret ($HEX, $SHORT, $NOTHEX, substr($HEX, 0, 16),
                        substr($SHORT, 0, 16), substr($NOTHEX, 2, 16)) {
            unlike($out, qr/\Q$secret\E/, "$file: no key material in the "
                                          . 'output');
        }
    }
};

done_testing;
