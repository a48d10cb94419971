# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::API;

# The client side of a LinkCert::Test: HTTP requests to nginx's listeners
# (the status API above all: status_of, verify), waits on a domain's
# status, and the metrics.  A mixin of LinkCert::Test.

use strict;
use warnings;

use Carp qw(croak);
use IO::Socket::INET;
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use JSON::PP;
use Test::More ();
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

# A pattern of an RFC 3339 UTC time as the status gives them.
sub rfc3339_re  { $RFC3339 }


###########################################################################
# requests

# One request on a new connection to PORT_1 (plain) or PORT_0 (https).
#   port => index (instead: another plain listener, PORT_<index>)
#   host => 'x' (default 'localhost'; undef: no Host header)
#   key => 1 (the API key) | 'wrong' | any other token | undef
#   https => 1, sni => name (default: host without port), body => '...',
#   headers => [ name => value, ... ]
# Returns { status, headers (lowercase keys), body, json }; status 0 and
# error on a connection failure.
sub http {
    my ($self, $method, $path, %opts) = @_;

    my $host = exists $opts{host} ? $opts{host} : 'localhost';
    my $sock;

    if ($opts{https}) {
        my $sni = $opts{sni} // $host // '';
        $sni =~ s/:\d+$//;
        $sock = IO::Socket::SSL->new(
            PeerAddr => '127.0.0.1', PeerPort => $self->port(0),
            Timeout => 5, SSL_hostname => $sni,
            SSL_verify_mode => SSL_VERIFY_NONE);
    } else {
        $sock = IO::Socket::INET->new(
            PeerAddr => '127.0.0.1', PeerPort => $self->port($opts{port} // 1),
            Proto => 'tcp', Timeout => 5);
    }

    return { status => 0,
             error => "connect: $! " . ($IO::Socket::SSL::SSL_ERROR // q()),
             headers => {} }
        unless $sock;

    my @h;
    push @h, "Host: $host" if defined $host;

    if (defined(my $key = $opts{key})) {
        $key = $key eq '1' ? $self->api_key
             : $key eq 'wrong' ? 'wrong-key' : $key;
        push @h, "Authorization: Bearer $key";
    }

    my @extra = @{ $opts{headers} // [] };
    while (my ($k, $v) = splice @extra, 0, 2) {
        push @h, "$k: $v";
    }

    # chunked => 1 sends the body in chunks of at most 1000 bytes
    my $body = $opts{body};
    if (defined $body && $opts{chunked}) {
        push @h, 'Transfer-Encoding: chunked';
        $body = join('', map { sprintf("%x\r\n%s\r\n", length, $_) }
                         unpack('(a1000)*', $body)) . "0\r\n\r\n";
    } elsif (defined $body) {
        push @h, 'Content-Length: ' . length $body;
    }
    push @h, 'Connection: close';

    my $request = join("\r\n", "$method $path HTTP/1.1", @h, '', '')
                . ($body // '');

    my $raw = '';

    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 10;
        $sock->syswrite($request) // die "write: $!\n";
        while (1) {
            my $n = $sock->sysread(my $buf, 65536);
            die "read: $!\n" unless defined $n;
            last if $n == 0;
            $raw .= $buf;
        }
        alarm 0;
        1;
    } or do {
        alarm 0;
        return { status => 0, error => $@, headers => {}, raw => $raw };
    };

    close $sock;

    return _parse_response($raw);
}

sub _parse_response {
    my ($raw) = @_;

    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $body //= '';

    my ($status_line, @lines) = split /\r\n/, $head // '';
    my ($status) = ($status_line // '') =~ m{^HTTP/1\.[01] (\d{3})};

    my %headers;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $k = lc $k;
        $headers{$k} = exists $headers{$k} ? "$headers{$k}, $v" : $v;
    }

    if (($headers{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $len = hex $1;
            last if $len == 0;
            $out .= substr($body, 0, $len, '');
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }

    my $json;
    if (($headers{'content-type'} // '') =~ m{^application/json}i) {
        $json = eval { JSON::PP->new->decode($body) };
    }

    return { status => $status // 0, headers => \%headers, body => $body,
             json => $json, raw => $raw };
}

# GET /.well-known/ssl-status?domain=$domain with the key.
sub status_of {
    my ($self, $domain, %opts) = @_;
    return $self->http(GET => '/.well-known/ssl-status?domain='
                       . uri_escape($domain), key => 1, %opts);
}

# POST /.well-known/ssl-status?domain=$domain ("Verify domain"), with the
# key unless key => ... says otherwise; query => 'reissue=1' adds to the
# query; other options as for http().
sub verify {
    my ($self, $domain, %opts) = @_;
    my $query = delete $opts{query};
    my $r = $self->http(POST => '/.well-known/ssl-status?domain='
                        . uri_escape($domain)
                        . (defined $query ? "&$query" : ''), key => 1, %opts);
    $self->{posted}{ lc $domain } = time;
    return $r;
}

# The module takes one POST per domain every 10 s (429 otherwise):
# wait_post_limit($domain) sleeps until 10.2 s after this test's last
# verify() of $domain (not at all if there was none); verify_again is
# that wait, then verify().
sub wait_post_limit {
    my ($self, $domain) = @_;
    my $wait = ($self->{posted}{ lc $domain } // 0) + 10.2 - time;
    sleep $wait if $wait > 0;
    return $self;
}

sub verify_again {
    my ($self, $domain, %opts) = @_;
    return $self->wait_post_limit($domain)->verify($domain, %opts);
}

sub uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~*])/sprintf '%%%02X', ord $1/ge;
    return $s;
}


###########################################################################
# waiting on a domain's status

# Polls the full status of $domain every 50 ms until $cond->($json) is
# true or $timeout seconds (default 10) have passed.  Returns the last
# object seen (undef if none was a 200 JSON answer); in list context also
# whether $cond was met.
sub wait_status {
    my ($self, $domain, $cond, $timeout) = @_;

    my $deadline = time + ($timeout // 10);
    my $last;

    while (1) {
        my $r = $self->status_of($domain);
        if ($r->{status} == 200 && ref $r->{json} eq 'HASH') {
            $last = $r->{json};
            local $_ = $last;
            return wantarray ? ($last, 1) : $last if $cond->($last);
        }
        last if time > $deadline;
        if (my @crashes = $self->crash_lines) {
            Test::More::diag("wait_status($domain): a worker crashed, not "
                             . "waiting: $crashes[0]");
            $self->_stop_crashing;
            last;
        }
        sleep 0.05;
    }

    return wantarray ? ($last, 0) : $last;
}

# True when the verification of a full status object has a result: the
# stage left "verifying", or a (transient) error is recorded.
sub verification_done {
    my ($j) = @_;
    return 0 unless ref $j eq 'HASH';
    return 0 if ($j->{stage} // '') eq 'none';
    return 1 if ($j->{stage} // '') ne 'verifying';
    return defined $j->{last_error} ? 1 : 0;
}

# wait_status until verification_done.
sub wait_verified {
    my ($self, $domain, $timeout) = @_;
    return $self->wait_status($domain, \&verification_done, $timeout);
}

# RFC 3339 UTC ("2026-11-26T05:39:54Z") to a Unix time; undef otherwise.
sub parse_time {
    my ($self, $s) = @_;
    return undef unless defined $s && !ref $s;
    my ($y, $mo, $d, $h, $mi, $sec) =
        $s =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/ or return undef;
    return timegm($sec, $mi, $h, $d, $mo - 1, $y);
}

# The series of GET /.well-known/ssl-status/metrics (with the key) as
# { 'name{labels}' => value }; {} if the request fails.
sub metric_values {
    my ($self) = @_;
    my $r = $self->http(GET => '/.well-known/ssl-status/metrics', key => 1);
    return {} unless $r->{status} == 200;
    my %m;
    for (split /\n/, $r->{body} // '') {
        next if /^#/;
        $m{$1} = $2 + 0 if /^(\S+) (\S+)$/;
    }
    return \%m;
}

# Reads metric_values every 100 ms until $cond->($metrics) holds or
# $timeout seconds have passed; returns the last reading.
sub wait_metrics {
    my ($self, $cond, $timeout) = @_;
    my $deadline = time + $timeout;
    while (1) {
        my $m = $self->metric_values;
        return $m if $cond->($m) || time > $deadline;
        sleep 0.1;
    }
}

1;
