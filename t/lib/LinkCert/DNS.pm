# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::DNS;

# DNS for a LinkCert::Test: pebble-challtestsrv as the authoritative
# server the module's resolver asks (records set through its management
# API), a UDP socket that never answers, a child that answers REFUSED, and
# the linkcert_* verification directives of the config.  A mixin of
# LinkCert::Test.
#
# Environment: LINKCERT_CHALLTESTSRV (the pebble-challtestsrv binary).

use strict;
use warnings;

use Carp qw(croak);
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use LinkCert::Util qw(read_file port_open die_with_parent stop_child);


###########################################################################
# pebble-challtestsrv

# Starts pebble-challtestsrv (once) with its DNS server on a free loopback
# port (%%DNS%% in the config, $t->dns_port) and its management API on
# another; everything else it can serve is disabled, and unknown names get
# no default A/AAAA record.  Its output goes to logs/challtestsrv.log.  It
# is stopped at the end of the test (END), with nginx.
sub challtestsrv {
    my ($self) = @_;

    return $self if $self->{dns_pid};

    my $bin = $ENV{LINKCERT_CHALLTESTSRV} // 'pebble-challtestsrv';
    my $dns = $self->_free_udp_tcp_port('dns');
    my $mgmt = $self->port('dns_mgmt');
    my $log = "$self->{prefix}/logs/challtestsrv.log";

    my $parent = $$;
    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        die_with_parent($parent);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        exec($bin, '-dns01', "127.0.0.1:$dns", '-http01', '',
             '-https01', '', '-tlsalpn01', '',
             '-management', "127.0.0.1:$mgmt",
             '-defaultIPv4', '', '-defaultIPv6', '')
            or POSIX::_exit(127);
    }

    $self->{dns_pid} = $pid;
    $self->{dns_owner} = $$;

    my $deadline = time + 30;    # a failure's only (a busy machine)

    # the management port, and the DNS server's TCP side (it binds UDP
    # and TCP on the same address)
    until (port_open($mgmt) && port_open($dns)) {
        if (waitpid($pid, WNOHANG) == $pid) {
            my $status = $?;
            delete $self->{dns_pid};
            croak "$bin exited at start (wait status $status):\n"
                . (read_file($log) // '');
        }
        if (time > $deadline) {
            $self->stop_dns;
            croak "$bin did not start in 30 s:\n" . (read_file($log) // '');
        }
        sleep 0.05;
    }

    return $self;
}

sub start_dns { my $self = shift; return $self->challtestsrv(@_) }

sub dns_port {
    my ($self) = @_;
    croak 'call $t->challtestsrv first (%%DNS%% / dns_port)'
        unless $self->{dns_pid};
    return $self->{ports}{dns};
}

sub dns_mgmt_port {
    my ($self) = @_;
    croak 'call $t->challtestsrv first' unless $self->{dns_pid};
    return $self->{ports}{dns_mgmt};
}

sub stop_dns {
    my ($self) = @_;

    my $pid = delete $self->{dns_pid} or return;
    return if ($self->{dns_owner} // 0) != $$;

    stop_child($pid, undef, ['TERM', 5], ['KILL', 5]);

    return $self;
}

sub challtestsrv_log {
    my ($self) = @_;
    return read_file("$self->{prefix}/logs/challtestsrv.log") // '';
}

# POST $path with a JSON body to the management API; croaks unless 200.
sub dns_manage {
    my ($self, $path, $body) = @_;

    require HTTP::Tiny;
    my $url = 'http://127.0.0.1:' . $self->dns_mgmt_port . $path;
    my $r = HTTP::Tiny->new(timeout => 5)->post($url, {
        headers => { 'Content-Type' => 'application/json' },
        content => JSON::PP->new->canonical->encode($body) });

    croak "challtestsrv $path: $r->{status} $r->{reason} $r->{content}"
        unless $r->{status} == 200;

    return $self;
}

# Names are given without a trailing dot.
sub set_cname   { $_[0]->dns_manage('/set-cname',
                                    { host => $_[1], target => $_[2] }) }

sub clear_cname { $_[0]->dns_manage('/clear-cname', { host => $_[1] }) }

sub add_a       { $_[0]->dns_manage('/add-a',
                                    { host => $_[1], addresses => $_[2] }) }

sub clear_a     { $_[0]->dns_manage('/clear-a', { host => $_[1] }) }

sub add_aaaa    { $_[0]->dns_manage('/add-aaaa',
                                    { host => $_[1], addresses => $_[2] }) }

sub clear_aaaa  { $_[0]->dns_manage('/clear-aaaa', { host => $_[1] }) }

sub clear_caa   { $_[0]->dns_manage('/clear-caa', { host => $_[1] }) }

sub set_servfail   { $_[0]->dns_manage('/set-servfail', { host => $_[1] }) }

sub clear_servfail { $_[0]->dns_manage('/clear-servfail', { host => $_[1] }) }

# add_caa($host, [ { tag => 'issue', value => 'letsencrypt.org' }, ... ])
sub add_caa {
    my ($self, $host, $policies) = @_;
    return $self->dns_manage('/add-caa', { host => $host,
        policies => [ map { { tag => $_->{tag}, value => $_->{value} } }
                      @$policies ] });
}


###########################################################################
# a silent DNS server and a refusing one

# A UDP socket on 127.0.0.1 that receives DNS queries and never answers
# (%%SILENT%% in the config).  Bound in the test process, open until the
# end.  Returns its port.
sub silent_udp {
    my ($self) = @_;

    return $self->{silent}->sockport if $self->{silent};

    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'udp')
        or croak "cannot bind a loopback UDP port: $!";

    $self->{silent} = $s;
    $self->{silent_queries} = [];
    $self->{ports}{silent} = $s->sockport;

    return $s->sockport;
}

# A forked child answering every DNS query on 127.0.0.1:<port> with
# REFUSED (%%REFUSED%% in the config).  Returns the port.  Stopped at the
# end of the test.
sub refusing_udp {
    my ($self) = @_;

    return $self->{ports}{refusing} if $self->{refusing_pid};

    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'udp')
        or croak "cannot bind a loopback UDP port: $!";
    my $port = $s->sockport;

    my $parent = $$;
    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        die_with_parent($parent);
        while (1) {
            my $peer = $s->recv(my $pkt, 65535);
            next unless defined $peer && length $pkt >= 12;
            my $end = _dns_question_end($pkt) or next;
            my ($id, $flags) = unpack 'n n', $pkt;
            # QR, the query's opcode and RD, RA, RCODE 5 (REFUSED)
            my $rflags = 0x8000 | ($flags & 0x7900) | 0x0080 | 5;
            my $reply = pack('n6', $id, $rflags, 1, 0, 0, 0)
                      . substr($pkt, 12, $end - 12);
            $s->send($reply, 0, $peer);
        }
        POSIX::_exit(0);
    }

    close $s;
    $self->{refusing_pid} = $pid;
    $self->{refusing_owner} = $$;
    $self->{ports}{refusing} = $port;

    return $port;
}

# Offset just past the (first) question of a DNS message, or undef.
sub _dns_question_end {
    my ($pkt) = @_;
    my $pos = 12;
    while (1) {
        return undef if $pos >= length $pkt;
        my $len = ord substr $pkt, $pos, 1;
        $pos++;
        last if $len == 0;
        return undef if $len > 63;
        $pos += $len;
    }
    $pos += 4;
    return $pos <= length $pkt ? $pos : undef;
}

# Stops what challtestsrv, refusing_udp started (END does it).
sub stop_helpers {
    my ($self) = @_;

    $self->stop_dns;

    if (my $pid = delete $self->{refusing_pid}) {
        stop_child($pid) if ($self->{refusing_owner} // 0) == $$;
    }

    return $self;
}

# Every query the silent socket has received so far (waiting up to $wait
# seconds for the first new one): [ { name (lowercase, no trailing dot),
# type (number), id, at (time received) } ... ], oldest first.
sub silent_queries {
    my ($self, $wait) = @_;

    my $s = $self->{silent} or croak 'call $t->silent_udp first';
    my $deadline = time + ($wait // 0);
    my $got = 0;

    while (1) {
        my $left = $got ? 0 : $deadline - time;
        $left = 0 if $left < 0;
        my $rin = '';
        vec($rin, fileno $s, 1) = 1;
        last unless select(my $rout = $rin, undef, undef, $left) > 0;
        defined $s->recv(my $pkt, 65535) or last;
        my $q = _parse_dns_query($pkt) or next;
        $q->{at} = time;
        push @{ $self->{silent_queries} }, $q;
        $got++;
    }

    return @{ $self->{silent_queries} };
}

sub _parse_dns_query {
    my ($pkt) = @_;

    return undef if length $pkt < 17;

    my $id = unpack 'n', $pkt;
    my ($pos, @labels) = (12);

    while (1) {
        return undef if $pos >= length $pkt;
        my $len = ord substr $pkt, $pos, 1;
        $pos++;
        last if $len == 0;
        return undef if $len > 63 || $pos + $len > length $pkt;
        push @labels, substr $pkt, $pos, $len;
        $pos += $len;
    }

    return undef if $pos + 4 > length $pkt;

    return { id => $id, name => lc join('.', @labels),
             type => unpack('n', substr $pkt, $pos, 2) };
}

# A free loopback port both for UDP and TCP (a DNS server binds both).
sub _free_udp_tcp_port {
    my ($self, $n) = @_;

    return $self->{ports}{$n} //= LinkCert::Test::reserve_port(sub {
        my $u = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $_[0], Proto => 'udp');
        $u && IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                    LocalPort => $_[0], Proto => 'tcp',
                                    Listen => 1, ReuseAddr => 0)
    });
}


###########################################################################
# the verification directives

# http-level lines for the verification directives:
#   cname_target => 'edge.crm.test' (undef: left out),
#   target_address => '127.0.0.1' (undef: left out),
#   resolver => '127.0.0.1:%%DNS%% timeout=1s attempts=2' (undef: left out),
#   caa_identity => undef (left out)
sub dns_http_lines {
    my ($self, %opts) = @_;

    my %d = (
        cname_target   => 'edge.crm.test',
        target_address => '127.0.0.1',
        resolver       => '127.0.0.1:%%DNS%% timeout=1s attempts=2',
        caa_identity   => undef,
        %opts,
    );

    my @lines;
    for my $key (qw(cname_target target_address resolver caa_identity)) {
        push @lines, "    linkcert_$key $d{$key};" if defined $d{$key};
    }

    return join "\n", @lines, '';
}

# standard_config with dns_http_lines: the dns_http_lines options
# (cname_target, target_address, resolver, caa_identity) go there, any
# others to standard_config; "http" lines are added after them.
sub dns_config {
    my ($self, %opts) = @_;

    my %dns;
    for my $key (qw(cname_target target_address resolver caa_identity)) {
        $dns{$key} = delete $opts{$key} if exists $opts{$key};
    }

    my $http = $self->dns_http_lines(%dns) . ($opts{http} // '');

    return $self->standard_config(%opts, http => $http);
}

1;
