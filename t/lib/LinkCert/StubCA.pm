# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::StubCA;

# An ACME server of the test's own, for what Pebble does not do (problem
# documents it never sends, renewalInfo, a CA that fails on demand): HTTPS
# on a loopback port with Pebble's listener certificate (so linkcert
# trusts it through the same linkcert_acme_trusted_certificate), in a
# forked child that answers each request with what the test's handler
# returns, and notes every request.
#
#   my $stub = LinkCert::StubCA->new($pebble, name => 'stub', answer => sub {
#       my ($req, $stub) = @_;    # { method, path, headers, body, payload,
#                                 #   identifier }, the stub itself
#       return (200, { 'Content-Type' => 'application/json' }, $json)
#           if $req->{path} eq '/dir';
#       return;               # the default: 404 malformed
#   });
#   ... linkcert_acme_directory $stub->url('/dir') ...
#   my @r = $stub->requests;  # ({ at, method, path, identifier }, ...)
#
# In front of Pebble: with front => sub { my ($dir, $stub) = @_; ... },
# GET /dir that the handler leaves (returns nothing for) is Pebble's own
# directory, changed by that sub (every other URL in it stays Pebble's:
# nonces, accounts, orders); the handler answers the URLs the sub adds.
#
# The handler runs in the child, forked inside new(): it sees the test's
# variables as they were then (not the stub: it gets it as an argument),
# so what changes later (an answer to give) goes through a file (see
# control).  Its headers are a hash or a
# list of pairs; a status without a body gets a problem document.  With
# nonces => 1 every answer carries a fresh Replay-Nonce (a stub that
# plays the whole CA; one in front of Pebble must not hand out nonces
# Pebble never issued).  Stopped at the end of the test.
#
# A CA that fails on demand, in front of Pebble (see failing below):
#
#   my $ca = LinkCert::StubCA->failing($pebble, fail_orders => 1);
#   $pebble->acme_http_lines(directory => $ca->url('/dir'));
#   $ca->set('ratelimit');      # newOrder: 429 rateLimited, Retry-After: 1
#   $ca->new_orders;            # how many newOrder requests it got

use strict;
use warnings;

use Carp qw(croak);
use HTTP::Tiny;
use IO::Socket::SSL;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX ();
use Time::HiRes qw(time);

use LinkCert::Util qw(read_file write_file die_with_parent stop_child
                      wait_until);

my @STUBS;

my %REASON = (200 => 'OK', 201 => 'Created', 204 => 'No Content',
              400 => 'Bad Request', 403 => 'Forbidden', 404 => 'Not Found',
              429 => 'Too Many Requests', 500 => 'Internal Server Error',
              502 => 'Bad Gateway', 503 => 'Service Unavailable');

sub new {
    my ($class, $pebble, %opts) = @_;

    my $t = $pebble->t;
    my $name = $opts{name} // 'stub';

    my $self = bless {
        t       => $t,
        name    => $name,
        port    => $t->port($name),
        log     => $t->prefix . "/logs/$name-requests.log",
        control => $t->prefix . "/$name.json",
        answer  => $opts{answer} // croak('answer => sub { ... } is needed'),
        nonces  => $opts{nonces},
        front   => $opts{front},
        pebble  => 'https://localhost:' . $pebble->port,
        pebble_ca => $pebble->ca_file,
    }, $class;

    $self->control($opts{control} // {});

    my $srv = IO::Socket::SSL->new(
        LocalAddr => '127.0.0.1', LocalPort => $self->{port}, Listen => 64,
        ReuseAddr => 1, SSL_server => 1,
        SSL_cert_file => $pebble->listener_cert,
        SSL_key_file => $pebble->listener_key,
        SSL_startHandshake => 0,
    ) or croak "$name: cannot listen: $! $IO::Socket::SSL::SSL_ERROR";

    my $parent = $$;
    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        # never the test's END blocks in this child: they stop nginx
        die_with_parent($parent);
        eval { $self->_serve($srv) };
        print STDERR "$name: $@";
        POSIX::_exit(1);
    }

    close $srv;
    $self->{pid} = $pid;
    $self->{owner} = $$;
    push @STUBS, $self;

    return $self;
}

sub port { $_[0]{port} }

# https://localhost:<port><path>
sub url { 'https://localhost:' . $_[0]{port} . ($_[1] // '') }

# The control file: what the handler reads for answers the test changes
# while the stub runs.  control($data) writes it (JSON, atomically);
# control() reads it back.
sub control_file { $_[0]{control} }

sub control {
    my ($self, @data) = @_;
    if (@data) {
        write_file($self->{control}, encode_json($data[0]));
        return $self;
    }
    return eval { decode_json(read_file($self->{control}) // '{}') } // {};
}

# Every request so far, oldest first: ({ at, method, path, identifier
# (the first identifier of the JWS payload, or '') }, ...); one that
# failed (unreadable, or the handler died) is { at, method => 'ERROR',
# path => '', identifier => '', error }.
sub requests {
    my ($self) = @_;
    my @r;
    for (split /\n/, read_file($self->{log}) // '') {
        my ($at, $method, $rest) = split / /, $_, 3;
        if ($method eq 'ERROR') {
            push @r, { at => $at, method => 'ERROR', path => '',
                       identifier => '', error => $rest // '' };
            next;
        }
        my ($path, $identifier) = split / /, $rest // '', 2;
        push @r, { at => $at, method => $method, path => $path // '',
                   identifier => $identifier // '' };
    }
    return @r;
}

# The request log as text, for diagnostics.
sub log_text {
    my ($self) = @_;
    return "$self->{name} requests:\n" . (read_file($self->{log}) // '(none)');
}

###########################################################################
# a CA that fails on demand

# LinkCert::StubCA->failing($pebble, %opts): a stub in front of $pebble
# whose directory is Pebble's, failing as its mode says ($ca->set(mode),
# any time):
#   pass        the default
#   dir500      the directory answered 500 serverInternal
#   slowdir     the directory answered after 3 s
# and with fail_orders => 1, the directory's newOrder is the stub's and
# every order fails (Pebble checks the URL a request was signed for, so an
# order cannot be passed on):
#   ratelimit   newOrder: 429 rateLimited, Retry-After: 1
#   reject      newOrder: 400 rejectedIdentifier
#   500         newOrder: 500 serverInternal (so in every other mode too)
# Without fail_orders, newOrder stays Pebble's.  name => default
# 'ca_proxy'.
sub failing {
    my ($class, $pebble, %opts) = @_;

    my $fail = delete $opts{fail_orders};

    return $class->new($pebble, name => 'ca_proxy', %opts,
        control => { mode => 'pass' },
        front => sub {
            my ($dir, $ca) = @_;
            $dir->{newOrder} = $ca->url('/new-order') if $fail;
        },
        answer => \&_failing_answer);
}

sub set {
    my ($self, $mode) = @_;
    return $self->control({ mode => $mode });
}

# How many newOrder requests it got; wait_new_orders($n, $timeout) waits
# until it got $n (false if it did not in $timeout s).
sub new_orders {
    my ($self) = @_;
    return scalar grep { $_->{method} eq 'POST' && $_->{path} eq '/new-order' }
                  $self->requests;
}

sub wait_new_orders {
    my ($self, $n, $timeout) = @_;
    return wait_until(sub { $self->new_orders >= $n }, $timeout);
}

sub _failing_answer {
    my ($req, $ca) = @_;
    my $mode = $ca->control->{mode} // 'pass';
    my $problem = { 'Content-Type' => 'application/problem+json' };
    my $error = sub {
        my ($status, $type, $detail, @h) = @_;
        return ($status, [ %$problem, @h ], encode_json({
            type => "urn:ietf:params:acme:error:$type", detail => $detail }));
    };

    if ($req->{path} eq '/dir') {
        return $error->(500, 'serverInternal', 'the directory is failing')
            if $mode eq 'dir500';
        sleep 3 if $mode eq 'slowdir';
        return;                                      # Pebble's, changed
    }

    return unless $req->{path} eq '/new-order';      # 404

    return $error->(400, 'rejectedIdentifier',
                    'this CA does not issue for that name today')
        if $mode eq 'reject';
    return $error->(429, 'rateLimited', 'too many new orders, come back later',
                    'Retry-After' => 1)
        if $mode eq 'ratelimit';
    return $error->(500, 'serverInternal', 'the CA is failing')
        if $mode eq '500';
    return $error->(500, 'serverInternal',
                    "the stub passes no order on (mode $mode)");
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return $self;
    stop_child($pid) if ($self->{owner} // 0) == $$;
    return $self;
}

sub DESTROY { $_[0]->stop if $_[0]{pid} }

END { $_->stop for @STUBS }


###########################################################################
# the child

sub _serve {
    my ($self, $srv) = @_;

    open my $log, '>>', $self->{log} or die "$self->{log}: $!";
    $log->autoflush(1);
    my $n = 0;

    while (1) {
        my $c = $srv->accept or next;
        eval {
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm 10;
            my $req = _read_request($c);
            printf $log "%.3f %s %s %s\n", time, $req->{method}, $req->{path},
                $req->{identifier};
            my ($status, $headers, $body) = $self->{answer}->($req, $self);
            ($status, $headers, $body) = $self->_front($req)
                if !defined $status && $self->{front};
            $c->syswrite($self->_response($req, ++$n, $status, $headers,
                                          $body));
            alarm 0;
            1;
        } or do {
            alarm 0;
            (my $error = $@) =~ s/\s+/ /g;
            printf $log "%.3f ERROR %s\n", time, $error;
        };
        $c->close(SSL_fast_shutdown => 1);
    }
}

# GET /dir in front of Pebble: Pebble's directory as the front sub
# changes it (502 if Pebble does not answer); nothing for another URL.
sub _front {
    my ($self, $req) = @_;

    return unless $req->{path} eq '/dir';

    my $http = HTTP::Tiny->new(timeout => 5, verify_SSL => 1,
        SSL_options => { SSL_ca_file => $self->{pebble_ca} });
    my $r = $http->get("$self->{pebble}/dir");

    return (502, { 'Content-Type' => 'application/problem+json' },
            encode_json({ type => 'urn:ietf:params:acme:error:serverInternal',
                          detail => "pebble: $r->{status} $r->{reason}" }))
        unless $r->{success};

    my $dir = decode_json($r->{content});
    $self->{front}->($dir, $self) if ref $self->{front} eq 'CODE';

    return (200, { 'Content-Type' => 'application/json' }, encode_json($dir));
}

# { method, path, headers => { lowercase name => value }, body, payload
# (the decoded JWS payload, or undef), identifier } of one request.
sub _read_request {
    my ($c) = @_;

    $c->accept_SSL or die "handshake: $IO::Socket::SSL::SSL_ERROR\n";

    my $head = '';
    while ($head !~ /\r\n\r\n/) {
        my $got = $c->sysread(my $buf, 16384);
        die "eof\n" unless $got;
        $head .= $buf;
    }

    my ($hdr, $body) = split /\r\n\r\n/, $head, 2;
    my ($line, @lines) = split /\r\n/, $hdr;
    my ($method, $path) = $line =~ m{^(\S+) (\S+)} or die "bad request\n";
    my %headers = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } @lines;

    my $len = $headers{'content-length'};
    while (defined $len && length $body < $len) {
        my $got = $c->sysread(my $buf, 16384);
        die "eof\n" unless $got;
        $body .= $buf;
    }

    my $payload;
    if (length $body) {
        my $jws = eval { decode_json($body) } // {};
        my $p = ref $jws eq 'HASH' ? $jws->{payload} // '' : '';
        $p =~ tr{-_}{+/};
        $p .= '=' x ((4 - length($p) % 4) % 4);
        $payload = eval { decode_json(decode_base64($p)) };
    }

    my $identifier = ref $payload eq 'HASH'
                     && ref $payload->{identifiers} eq 'ARRAY'
                     ? $payload->{identifiers}[0]{value} // '' : '';

    return { method => $method, path => $path, headers => \%headers,
             body => $body, payload => $payload, identifier => $identifier };
}

sub _response {
    my ($self, $req, $n, $status, $headers, $body) = @_;

    my @h = ref $headers eq 'HASH' ? %$headers : @{ $headers // [] };

    unless (defined $status) {
        ($status, $body) = (404, undef);
    }
    unless (defined $body) {
        $body = encode_json({ type => 'urn:ietf:params:acme:error:'
                                      . ($status == 404 ? 'malformed'
                                                        : 'serverInternal'),
                              detail => $status == 404 ? 'no such resource'
                                                       : "stub: $status" });
        push @h, 'Content-Type' => 'application/problem+json';
    }

    my @lines = ("HTTP/1.1 $status " . ($REASON{$status} // 'X'));
    push @lines, 'Replay-Nonce: stub' . $n . 'x' . int(rand 1e9)
        if $self->{nonces};
    push @lines, 'Cache-Control: no-store', 'Connection: close';
    while (my ($k, $v) = splice @h, 0, 2) { push @lines, "$k: $v" }
    push @lines, 'Content-Length: ' . length $body;

    return join("\r\n", @lines, '', '')
           . ($req->{method} eq 'HEAD' ? '' : $body);
}

1;
