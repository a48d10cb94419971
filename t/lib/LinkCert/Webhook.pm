# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::Webhook;

# A webhook receiver for the tests, next to a LinkCert::Test instance:
#
#   my $wh = LinkCert::Webhook->new($t);           # listens on loopback
#   $t->write_config($t->standard_config(http => $wh->directive));
#   $wh->answer(500);                              # from now on
#   $wh->stop; ... $wh->start;                     # refused, then back
#   my @ev = $wh->wait_delivered(sub { ... }, 20); # events answered 2xx
#
# A forked child accepts one connection at a time on 127.0.0.1 (the same
# port across stop and start), reads the request (Content-Length), answers
# with the status set by answer() (200 by default), and appends what it got
# to logs/webhook.log in the test's prefix: one JSON line per request with
# the time, the status answered, the request line, the headers (names in
# lower case) and the body.  The secret (new's secret => ...) is written to
# a file for the directive; signature_ok() checks a request's
# Linkcert-Signature with Digest::SHA, independently of the module.
#
# Options of new(): secret => '...' (undef: none, no secret= in the
# directive), answer => 500 (the first status), down => 1 (not started),
# path => '/hooks/linkcert', name => 'webhook' (of the port and the log,
# for a second receiver), tls => { cert => file, key => file } (https://).

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(hmac_sha256_hex);
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

use LinkCert::Test ();
use LinkCert::Pebble ();

my @RECEIVERS;

sub new {
    my ($class, $t, %opts) = @_;

    my $self = bless {
        t      => $t,
        secret => exists $opts{secret} ? $opts{secret}
                                       : 'whsec_' . join('', map { ('a'..'z')[rand 26] } 1 .. 24),
        name   => $opts{name} // 'webhook',
        path   => $opts{path} // '/hooks/linkcert',
        tls    => $opts{tls},
    }, $class;

    $self->{log} = $t->prefix . "/logs/$self->{name}.log";
    $self->{status} = $t->prefix . "/$self->{name}-status";

    if (defined $self->{secret}) {
        $self->{secret_file} = $t->prefix . "/$self->{name}.secret";
        open my $fh, '>', $self->{secret_file} or croak "secret: $!";
        # whitespace around it is not part of it
        print $fh "  $self->{secret}\n\n";
        close $fh;
    }

    $self->{port} = $t->port($self->{name});
    $self->answer($opts{answer} // 200);
    $self->start unless $opts{down};

    push @RECEIVERS, $self;

    return $self;
}

sub port        { $_[0]{port} }
sub secret      { $_[0]{secret} }
sub secret_file { $_[0]{secret_file} }
sub url {
    my ($self) = @_;
    return ($self->{tls} ? 'https' : 'http') . '://127.0.0.1:'
           . $self->{port} . $self->{path};
}

# The http-level directive: linkcert_webhook URL secret=FILE, and
# timeout => '2s' if given.
sub directive {
    my ($self, %opts) = @_;
    my $line = '    linkcert_webhook ' . $self->url;
    $line .= ' secret=' . $self->{secret_file} if $self->{secret_file};
    $line .= " timeout=$opts{timeout}" if $opts{timeout};
    return "$line;\n";
}

# The status of the answers from now on (200, 500, ...).
sub answer {
    my ($self, $status) = @_;
    open my $fh, '>', "$self->{status}.tmp" or croak "status: $!";
    print $fh "$status\n";
    close $fh;
    rename "$self->{status}.tmp", $self->{status} or croak "rename: $!";
    return $self;
}

sub start {
    my ($self) = @_;

    return $self if $self->{pid};

    my $s;
    my $deadline = time + 5;
    until ($s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $self->{port},
                                      Proto => 'tcp', Listen => 16,
                                      ReuseAddr => 1))
    {
        croak "webhook receiver: cannot listen on $self->{port}: $!"
            if time > $deadline;
        sleep 0.1;
    }

    my $parent = $$;
    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        LinkCert::Test::_die_with_parent($parent);
        # a client that gives up (a certificate it refuses) is no reason
        # to die
        $SIG{PIPE} = 'IGNORE';
        while (1) {
            my $c = $s->accept or next;
            if ($self->{tls}) {
                require IO::Socket::SSL;
                IO::Socket::SSL->start_SSL($c, SSL_server => 1,
                    SSL_cert_file => $self->{tls}{cert},
                    SSL_key_file => $self->{tls}{key}, Timeout => 5)
                    or do { close $c; next };
            }
            eval { $self->_serve($c) };
            close $c;
        }
        POSIX::_exit(0);
    }

    close $s;
    $self->{pid} = $pid;
    $self->{owner} = $$;

    return $self;
}

# Nothing listens on the port any more: connections are refused.  (The
# child is ended as the delaying relay's is.)
*stop = \&LinkCert::Pebble::Delay::stop;

sub DESTROY { $_[0]->stop if $_[0]{pid} }

END { $_->stop for @RECEIVERS }

sub _serve {
    my ($self, $c) = @_;

    my $data = '';
    my $deadline = time + 10;

    while ($data !~ /\r\n\r\n/ && time < $deadline) {
        my $n = sysread($c, my $buf, 65536) or return;
        $data .= $buf;
    }

    my ($head, $body) = split /\r\n\r\n/, $data, 2;
    my ($line, @fields) = split /\r\n/, $head;
    my %h;
    for (@fields) {
        my ($name, $value) = /^([^:]+):[ \t]*(.*?)[ \t]*$/ or next;
        $h{lc $name} = $value;
    }

    my $length = $h{'content-length'} // 0;
    while (length($body) < $length && time < $deadline) {
        my $n = sysread($c, my $buf, 65536) or last;
        $body .= $buf;
    }

    open my $sf, '<', $self->{status};
    my $status = <$sf> // 200;
    close $sf;
    $status =~ s/\s+//g;

    my $entry = JSON::PP->new->canonical->encode({
        at => time, answered => $status + 0, line => $line,
        headers => \%h, body => $body,
    });

    if (open my $fh, '>>', $self->{log}) {
        print $fh "$entry\n";
        close $fh;
    }

    syswrite($c, "HTTP/1.1 $status X\r\nContent-Length: 0\r\n"
                 . "Connection: close\r\n\r\n");
}

# Every request received so far, oldest first: { at, answered, line,
# headers => { name => value }, body, json (the body decoded, or undef) }.
sub requests {
    my ($self) = @_;
    my @r;
    open my $fh, '<', $self->{log} or return ();
    while (my $l = <$fh>) {
        my $r = eval { JSON::PP->new->decode($l) } or next;
        $r->{json} = eval { JSON::PP->new->decode($r->{body}) };
        push @r, $r;
    }
    close $fh;
    return @r;
}

# How many events wait in the store (<store>/webhooks/*.json) for their
# next attempt.
sub stored {
    my ($self) = @_;
    return scalar(() = glob($self->{t}->store . '/webhooks/*.json'));
}

# The events answered with a 2xx, in the order they arrived.
sub delivered {
    my ($self) = @_;
    return map { $_->{json} }
           grep { $_->{answered} =~ /^2/ && $_->{json} } $self->requests;
}

# Polls until $cond->(@delivered) is true or $timeout s (default 20) have
# passed; returns the events delivered, and in list context whether $cond
# was met: (\@events, $ok).
sub wait_delivered {
    my ($self, $cond, $timeout) = @_;
    my $deadline = time + ($timeout // 20);
    while (1) {
        my @ev = $self->delivered;
        return (\@ev, 1) if $cond->(@ev);
        return (\@ev, 0) if time > $deadline;
        sleep 0.1;
    }
}

# Whether a request's Linkcert-Signature is "t=<t>,v1=<hex>" with the
# HMAC-SHA256 of "<t>.<body>" under the secret, and t within $skew s
# (default 300) of the time it arrived.
sub signature_ok {
    my ($self, $r, $skew) = @_;
    my $sig = $r->{headers}{'linkcert-signature'} // return 0;
    my ($ts, $mac) = $sig =~ /^t=(\d+),v1=([0-9a-f]{64})$/ or return 0;
    return 0 if abs($ts - $r->{at}) > ($skew // 300);
    return $mac eq hmac_sha256_hex("$ts.$r->{body}", $self->{secret});
}

1;
