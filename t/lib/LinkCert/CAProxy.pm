# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::CAProxy;

# A CA that fails on demand: an HTTPS front of a LinkCert::Pebble that
# serves its directory (everything else, nonces, accounts, orders, stays
# Pebble's: only the directory's URL is the proxy's).
#
#   my $proxy = LinkCert::CAProxy->new($t, $pebble, fail_orders => 1);
#   $pebble->acme_http_lines(directory => $proxy->directory_url);
#   $proxy->set('ratelimit');   # newOrder: 429 rateLimited, Retry-After: 1
#   $proxy->set('reject');      # newOrder: 400 rejectedIdentifier
#   $proxy->set('500');         # newOrder: 500 serverInternal
#   $proxy->set('slowdir');     # the directory answered after 3 s
#   $proxy->set('dir500');      # the directory answered 500 serverInternal
#   $proxy->set('pass');        # the default
#   $proxy->new_orders;         # how many newOrder requests it got
#
# With fail_orders, the directory's newOrder is the proxy's and every
# order fails (Pebble checks the URL a request was signed for, so an order
# cannot be passed on): as the mode says, else with a 500.  Without it,
# newOrder stays Pebble's.  Options: name => (default 'ca_proxy': the
# port $t->port(name), logs/<name>.log, where each request is noted).
#
# It serves the listener certificate of the Pebble it fronts (trusted by
# linkcert_acme_trusted_certificate) on 127.0.0.1, and is stopped at the
# end of the test.

use strict;
use warnings;

use Carp qw(croak);
use HTTP::Tiny;
use IO::Socket::SSL;
use JSON::PP;
use Time::HiRes qw(time);

use LinkCert::Test ();

my @INSTANCES;

sub new {
    my ($class, $t, $pebble, %opts) = @_;
    my $name = $opts{name} // 'ca_proxy';

    # the Pebble's port is taken before the fork: the child's copy of $t
    # would pick another one
    my $self = bless {
        t       => $t,
        pebble  => $pebble,
        base    => 'https://localhost:' . $pebble->port,
        fail    => $opts{fail_orders},
        port    => $t->port($name),
        control => $t->prefix . "/$name.mode",
        log     => $t->prefix . "/logs/$name.log",
        owner   => $$,
    }, $class;

    $self->set('pass');
    $self->_start;
    push @INSTANCES, $self;

    return $self;
}

sub directory_url { 'https://localhost:' . $_[0]{port} . '/dir' }

sub set {
    my ($self, $mode) = @_;
    LinkCert::Test::_write_file("$self->{control}.tmp", $mode);
    rename "$self->{control}.tmp", $self->{control}
        or croak "rename: $!";
}

sub new_orders {
    my ($self) = @_;
    my $log = LinkCert::Test::_read_file($self->{log}) // '';
    my $n = () = $log =~ /^\S+ POST \/new-order /mg;
    return $n;
}

# Waits (at most $timeout s) until it got $n newOrder requests.
sub wait_new_orders {
    my ($self, $n, $timeout) = @_;
    my $deadline = time + $timeout;
    until ($self->new_orders >= $n) {
        return 0 if time > $deadline;
        Time::HiRes::sleep(0.05);
    }
    return 1;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    return if $self->{owner} != $$;
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

END {
    local $?;
    $_->stop for @INSTANCES;
}

sub _start {
    my ($self) = @_;
    my $pebble = $self->{pebble};

    my $srv = IO::Socket::SSL->new(
        LocalAddr => '127.0.0.1', LocalPort => $self->{port}, Listen => 64,
        ReuseAddr => 1, SSL_server => 1,
        SSL_cert_file => "$pebble->{dir}/listener.crt",
        SSL_key_file => "$pebble->{dir}/listener.key",
        SSL_startHandshake => 0,
    ) or croak "ca proxy: cannot listen: $! $IO::Socket::SSL::SSL_ERROR";

    my $parent = $$;
    my $pid = fork // croak "fork: $!";

    if ($pid) {
        close $srv;
        $self->{pid} = $pid;
        return;
    }

    LinkCert::Test::_die_with_parent($parent);

    open my $log, '>>', $self->{log} or die "$self->{log}: $!";
    $log->autoflush(1);

    while (1) {
        my $c = $srv->accept or next;
        eval {
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm 10;
            $c->accept_SSL or die "handshake: $IO::Socket::SSL::SSL_ERROR\n";
            my ($method, $path, $body) = _read_request($c);
            my $mode = LinkCert::Test::_read_file($self->{control}) // 'pass';
            printf $log "%.3f %s %s %s\n", time, $method, $path, $mode;
            $c->syswrite($self->_answer($method, $path, $body, $mode));
            alarm 0;
            1;
        } or do { alarm 0; printf $log "%.3f ERROR %s", time, $@ };
        $c->close(SSL_fast_shutdown => 1);
    }
}

sub _read_request {
    my ($c) = @_;
    my $data = '';
    while ($data !~ /\r\n\r\n/) {
        my $got = $c->sysread(my $buf, 16384);
        die "eof\n" unless $got;
        $data .= $buf;
    }
    my ($head, $body) = split /\r\n\r\n/, $data, 2;
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    while (length $body < ($len // 0)) {
        my $got = $c->sysread(my $buf, 16384);
        die "eof\n" unless $got;
        $body .= $buf;
    }
    my ($method, $path) = $head =~ m{^(\S+) (\S+)};
    return ($method, $path, $body);
}

sub _answer {
    my ($self, $method, $path, $body, $mode) = @_;
    my $pebble = $self->{pebble};
    my $base = $self->{base};
    my $http = HTTP::Tiny->new(timeout => 5, verify_SSL => 1,
                               SSL_options => { SSL_ca_file => $pebble->ca_file });
    my $problem = 'application/problem+json';

    if ($path eq '/dir') {
        return _response(500, $problem, encode_json({
            type => 'urn:ietf:params:acme:error:serverInternal',
            detail => 'the directory is failing' }))
            if $mode eq 'dir500';
        sleep 3 if $mode eq 'slowdir';
        my $r = $http->get("$base/dir");
        return _response(502, $problem, '{"type":"urn:ietf:params:acme:error:serverInternal"}')
            unless $r->{success};
        my $dir = decode_json($r->{content});
        $dir->{newOrder} = "https://localhost:$self->{port}/new-order"
            if $self->{fail};
        return _response(200, 'application/json', encode_json($dir));
    }

    if ($path eq '/new-order' && $mode eq 'reject') {
        return _response(400, $problem, encode_json({
            type => 'urn:ietf:params:acme:error:rejectedIdentifier',
            detail => 'this CA does not issue for that name today' }));
    }

    if ($path eq '/new-order' && $mode eq 'ratelimit') {
        return _response(429, $problem, encode_json({
            type => 'urn:ietf:params:acme:error:rateLimited',
            detail => 'too many new orders, come back later' }),
            'Retry-After' => 1);
    }

    if ($path eq '/new-order' && $mode eq '500') {
        return _response(500, $problem, encode_json({
            type => 'urn:ietf:params:acme:error:serverInternal',
            detail => 'the CA is failing' }));
    }

    if ($path eq '/new-order') {
        return _response(500, $problem, encode_json({
            type => 'urn:ietf:params:acme:error:serverInternal',
            detail => "the proxy passes no order on (mode $mode)" }));
    }

    return _response(404, $problem, '{"type":"urn:ietf:params:acme:error:malformed"}');
}

sub _response {
    my ($status, $ctype, $out, @h) = @_;
    my @lines = ("HTTP/1.1 $status X", 'Cache-Control: no-store',
                 'Connection: close', "Content-Type: $ctype",
                 'Content-Length: ' . length $out);
    while (my ($k, $v) = splice @h, 0, 2) { push @lines, "$k: $v" }
    return join("\r\n", @lines, '', '') . $out;
}

1;
