# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::Fleet;

# The setup the fleet tests (t/60-t/79) share: edges A, B, ... (each a
# LinkCert::Test of its own: its own prefix and ports on 127.0.0.1), one
# Redis (a LinkCert::Redis on A's prefix), the DNS of A's challtestsrv
# (edge.crm.test -> 127.0.0.1, the test's domains CNAMEs to it) and the
# test's Pebble:
#
#   my $fleet = LinkCert::Fleet->new(2, domains => [ $D ]);
#   my ($a, $b) = $fleet->edges;
#   my $redis = $fleet->redis;
#   my $pebble = LinkCert::Pebble->new($a, http_port => $b->port(1));
#   $fleet->start($pebble, order => 'a', redis => 'timeout=5s',
#                 b => { log_level => 'debug' });
#
# new() starts challtestsrv (records of the test's own can be added on A
# before start); start() starts Redis and Pebble, writes every edge's
# config and runs the edges one by one, each checked to have every worker
# connected to Redis, then checks that they all follow the fleet's changes.
#
# Options of start(), for every edge, or in a hash under an edge's letter
# (b => { ... }) for that edge only:
#   order => 'ab'       the edges that verify and order (default 'a'):
#                       LinkCert::Redis::ordering_lines, with A's DNS and
#                       Pebble
#   http => "..."       more http{} lines of the edges that order
#   redis => '...'      linkcert_redis parameters ('timeout=2s lease=20s')
#   log_level => 'info' (the default), workers => N
#   run => 'ab'         the edges started (default all; the others get
#                       their config only)
#   monitor => 1        redis MONITOR from before the first edge starts
#   started => sub { my ($t, $edge) = @_; ... }  after each edge started
#                       (before the next one starts)

use strict;
use warnings;

use Test::More ();

use LinkCert::Test;
use LinkCert::Redis;
use LinkCert::Pebble;
use LinkCert::Util qw(read_file public_key);

sub new {
    my ($class, $count, %opts) = @_;

    my @edges = map { LinkCert::Test->new } 1 .. $count;
    my $a = $edges[0];
    my $self = bless {
        edges => \@edges,
        redis => LinkCert::Redis->new($a, %{ $opts{redis} // {} }),
    }, $class;

    $a->challtestsrv;
    $a->set_cname($_, 'edge.crm.test') for @{ $opts{domains} // [] };
    $a->add_a('edge.crm.test', ['127.0.0.1']);

    return $self;
}

sub edges { @{ $_[0]{edges} } }
sub redis { $_[0]{redis} }

# 'edge-a', 'edge-b', ... of edge 0, 1, ...
sub name { 'edge-' . chr(ord('a') + $_[1]) }

sub start {
    my ($self, $pebble, %opts) = @_;
    my $redis = $self->{redis};
    my $a = $self->{edges}[0];

    $redis->start;
    $redis->monitor if $opts{monitor};
    $pebble->start if $pebble;

    my @running;
    for my $i (0 .. $#{ $self->{edges} }) {
        my $t = $self->{edges}[$i];
        my $name = $self->name($i);
        my $letter = substr $name, -1;
        my %o = (order => 'a', log_level => 'info', run => $letter,
                 %opts, %{ $opts{$letter} // {} });
        my $http = '';

        if (index($o{order}, $letter) >= 0) {
            $t->placeholder(DNS => $a->dns_port)
                unless defined $t->placeholder('DNS');
            $t->placeholder(ACME_DIRECTORY => $pebble->directory_url,
                            ACME_CA => $pebble->ca_file)
                if $pebble && !defined $t->placeholder('ACME_DIRECTORY');
            $http = $redis->ordering_lines . ($o{http} // '');
        }

        $t->write_config($t->standard_config(log_level => $o{log_level},
            (defined $o{workers} ? (workers => $o{workers}) : ()),
            http => $http . $redis->fleet_lines($t, $name, $o{redis})));

        next unless index($o{run}, $letter) >= 0;
        $t->run;
        Test::More::ok($redis->wait_connected($t),
                       "$name: every worker connected to Redis");
        $o{started}->($t, $name) if $o{started};
        push @running, $t;
    }

    Test::More::ok($redis->wait_subscribed(@running),
                   'every edge follows the fleet\'s changes');

    return $self;
}

# The start of the takeover tests (t/69, t/82, t/99): Pebble's validation
# behind a LinkCert::Pebble::Delay to edge B (no authorization reuse),
# every edge in $order ordering with rsa2048 keys (the key made before the
# order, so Redis has it) and started once its ACME account is ready;
# $lease is linkcert_redis's lease=.  Returns ($delay, $pebble).
sub start_takeover {
    my ($self, %o) = @_;
    my ($a, $b) = @{ $self->{edges} };
    my $delay = LinkCert::Pebble::Delay->new($a, to => $b->port(1));
    my $pebble = LinkCert::Pebble->new($a, http_port => $delay->port,
        env => { PEBBLE_AUTHZREUSE => 0 });

    $self->start($pebble, order => $o{order},
                 redis => "timeout=2s lease=$o{lease}",
                 http => "    linkcert_key_type rsa2048;\n",
                 started => sub {
        my ($t, $name) = @_;
        Test::More::ok($t->wait_until(sub {
            scalar $t->log_lines(qr/linkcert: ACME account ready/) }, 10),
            "$name: its ACME account is ready");
    });

    return ($delay, $pebble);
}

# Edge A orders $d alone, the CA's validation held by $delay (the
# takeover tests' first step): its POST, its lease, the validation held.
sub a_orders_held {
    my ($self, $delay, $pebble, $d) = @_;
    my $a = $self->{edges}[0];
    my $redis = $self->{redis};

    $delay->hold;
    Test::More::is($a->verify($d)->{status}, 202,
                   "POST $d on A (only A): 202");
    Test::More::ok($a->wait_until(sub {
        $redis->cli(GET => "linkcert:lease:$d") =~ /^edge-a / }, 15, 0.01),
        'A took the lease');
    Test::More::ok($delay->wait_request($d, 15),
                   "the CA's validation is under way (held)")
        or Test::More::diag($pebble->notices);
}

# The certificate's key (PEM) in the order edge $t saved of $d; a test
# that it is there.
sub saved_key {
    my ($self, $t, $d) = @_;
    my $saved = read_file($t->store . "/domains/$d/order.json") // '';
    my ($key) = $saved =~ /"key":"([^"]+)"/;
    $key =~ s/\\n/\n/g if defined $key;
    Test::More::ok(defined $key, "A's saved order has the certificate's key");
    return $key;
}

# The order edge A kept in Redis, resumed on edge $t (called $name) under
# fencing token 2: once $delay releases the CA's validation, the domain is
# issued there from that one order, served, finalized with the key A made
# ($a_key, its PEM), and the order leaves Redis.  Returns $t's status.
sub resumed_ok {
    my ($self, %o) = @_;
    my ($t, $name, $d) = @o{qw(edge name domain)};
    my ($pebble, $redis) = ($o{pebble}, $self->redis);

    Test::More::like(join("\n", $t->log_lines(qr/order kept in redis/)),
        qr/"\Q$d\E" has an order kept in redis by edge "edge-a"/,
        'the order A kept in Redis');
    Test::More::is($redis->cli(GET => "linkcert:fence:$d"), '2',
                   "under the lease of $name (fencing token 2)");

    $o{delay}->release;

    my ($j) = $t->wait_status($d, sub {
        ($_->{stage} // '') =~ /^(?:issued|failed)$/ }, 30);
    Test::More::is($j->{status}, 'issued', "$d issued on $name")
        or Test::More::diag(Test::More::explain($j));

    Test::More::is($pebble->order_count, 1, 'still one order at Pebble');
    Test::More::is($pebble->issued_count, 1, 'one certificate issued');

    my $hs = $pebble->verified_handshake($d, edge => $t);
    Test::More::ok($hs->{ok}, "$name serves it, and it verifies")
        or Test::More::diag($hs->{error});
    Test::More::is($hs->{serial}, uc($j->{certificate}{serial} // ''),
                   'the one issued');

    my $chain = read_file($t->store . "/domains/$d/fullchain.pem") // '';
    Test::More::ok(defined $o{a_key} && $chain
        && public_key($t->prefix, $chain, 'cert')
           eq public_key($t->prefix, $o{a_key}, 'key'),
        'finalized with the key A made');

    Test::More::ok($t->wait_until(sub {
        $redis->cli(EXISTS => "linkcert:order:$d") eq '0' }, 5),
        'the order is gone from Redis once it ended');

    return $j;
}

1;
