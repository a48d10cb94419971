# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::Pebble;

# Pebble (the ACME test server of Let's Encrypt, Debian package "pebble")
# for the ACME integration tests, next to a LinkCert::Test instance:
#
#   my $t = LinkCert::Test->new;
#   my $pebble = LinkCert::Pebble->new($t);   # skips the file without pebble
#   $t->challtestsrv;                         # Pebble's DNS
#   $pebble->start;
#   $t->write_config($t->dns_config(http => $pebble->acme_http_lines));
#
# or, in a config of the test's own (a heredoc), the placeholders (of the
# test's first Pebble)
#   linkcert_acme_directory %%ACME_DIRECTORY%%;
#   linkcert_acme_trusted_certificate %%ACME_CA%%;
#
# Pebble listens on 127.0.0.1 with a certificate for "localhost" and
# 127.0.0.1 issued by a test CA of our own (the Debian package ships none);
# linkcert trusts that CA (linkcert_acme_trusted_certificate).  Pebble's
# HTTP-01 validations go to port $t->port(1), nginx's plain listener, of
# the address challtestsrv gives for the domain.  Its output goes to
# logs/pebble.log in the test's prefix; it is stopped at the end (END).
#
# Options of new():
#   env => { PEBBLE_WFE_NONCEREJECT => 90, ... }  extra environment
#   http_port => port Pebble validates HTTP-01 on (default $t->port(1))
#   name => 'pebble2'   a second Pebble beside the first: its own ports,
#                       directory and log (default 'pebble')
#   listener_of => $first   serve the first one's listener certificate, so
#                       that one linkcert_acme_trusted_certificate trusts
#                       both (each Pebble still issues from its own root)
#   eab => { kid => 'base64url HMAC key', ... }   External Account Binding
#                       required, with these keys
#
# Environment: LINKCERT_PEBBLE (the pebble binary).

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use IO::Socket::INET;
use IO::Socket::SSL qw(SSL_VERIFY_PEER);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);

use LinkCert::Test ();
use LinkCert::Util ();

my @INSTANCES;

sub binary { $ENV{LINKCERT_PEBBLE} // 'pebble' }

sub installed {
    my $bin = binary();
    return -x $bin if $bin =~ m{/};
    return scalar grep { -x "$_/$bin" } split /:/, $ENV{PATH} // '';
}

sub challtestsrv_installed {
    my $bin = $ENV{LINKCERT_CHALLTESTSRV} // 'pebble-challtestsrv';
    return -x $bin if $bin =~ m{/};
    return scalar grep { -x "$_/$bin" } split /:/, $ENV{PATH} // '';
}

sub new {
    my ($class, $t, %opts) = @_;

    Test::More::plan(skip_all => 'pebble is not installed')
        unless installed();
    Test::More::plan(skip_all => 'pebble-challtestsrv is not installed')
        unless challtestsrv_installed();

    my $name = $opts{name} // 'pebble';
    my $dir = $t->prefix . "/$name";
    make_path($dir);

    my $self = bless {
        t         => $t,
        name      => $name,
        dir       => $dir,
        env       => { PEBBLE_VA_NOSLEEP => 1, %{ $opts{env} // {} } },
        http_port => $opts{http_port} // $t->port(1),
        log       => $t->prefix . "/logs/$name.log",
        eab       => $opts{eab},
        starts    => 0,
    }, $class;

    if (my $first = $opts{listener_of}) {
        for my $f (qw(ca.crt ca.key listener.crt listener.key)) {
            _write_file("$dir/$f", _read_file("$first->{dir}/$f"));
        }
    } else {
        $self->_make_certs;
    }
    push @INSTANCES, $self;

    # %%ACME_DIRECTORY%% and %%ACME_CA%% name the test's first Pebble
    $t->placeholder(ACME_DIRECTORY => $self->directory_url,
                    ACME_CA => $self->ca_file)
        unless defined $t->placeholder('ACME_DIRECTORY');

    return $self;
}

sub t          { $_[0]{t} }
sub port       { $_[0]{t}->port($_[0]{name}) }
sub mgmt_port  { $_[0]{t}->port("$_[0]{name}_mgmt") }
sub tls_port   { $_[0]{t}->port("$_[0]{name}_tls") }

# The CA that signed Pebble's listener certificate (for
# linkcert_acme_trusted_certificate and our own clients).
sub ca_file    { "$_[0]{dir}/ca.crt" }

# Pebble's listener certificate ("localhost", 127.0.0.1) and its key, which
# a LinkCert::StubCA serves too, so that linkcert trusts it as well.
sub listener_cert { "$_[0]{dir}/listener.crt" }
sub listener_key  { "$_[0]{dir}/listener.key" }

sub directory_url { 'https://localhost:' . $_[0]->port . '/dir' }

# http-level lines: linkcert_acme_directory and _trusted_certificate, and
#   contact => 'mailto:ops@crm.test' (default: none), key_type => 'rsa2048',
#   directory => URL (instead of Pebble's), extra => more lines
sub acme_http_lines {
    my ($self, %opts) = @_;

    my @lines = (
        '    linkcert_acme_directory '
            . ($opts{directory} // $self->directory_url) . ';',
        '    linkcert_acme_trusted_certificate ' . $self->ca_file . ';',
    );
    push @lines, "    linkcert_acme_contact $opts{contact};"
        if $opts{contact};
    push @lines, "    linkcert_key_type $opts{key_type};" if $opts{key_type};
    push @lines, $opts{extra} if defined $opts{extra};

    return join "\n", @lines, '';
}


###########################################################################
# the process

# Options: dns => port of the DNS server Pebble's VA asks (default the
# challtestsrv's, $t->dns_port), env => { more environment for this start }.
sub start {
    my ($self, %opts) = @_;

    croak 'pebble is already running' if $self->{pid};

    my $dns = $opts{dns} // $self->{t}->dns_port;   # croaks without challtestsrv
    my %env = (%{ $self->{env} }, %{ $opts{env} // {} });
    my $cfg = "$self->{dir}/pebble-config.json";

    _write_file($cfg, JSON::PP->new->canonical->pretty->encode({ pebble => {
        listenAddress => '127.0.0.1:' . $self->port,
        managementListenAddress => '127.0.0.1:' . $self->mgmt_port,
        certificate => "$self->{dir}/listener.crt",
        privateKey => "$self->{dir}/listener.key",
        httpPort => $self->{http_port} + 0,
        tlsPort => $self->tls_port + 0,
        ocspResponderURL => '',
        externalAccountBindingRequired =>
            $self->{eab} ? JSON::PP::true : JSON::PP::false,
        ($self->{eab} ? (externalAccountMACKeys => $self->{eab}) : ()),
    } }));

    $self->{log_offset_at_start} = -s $self->{log} // 0;
    delete $self->{root};

    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log};
        open STDERR, '>&', \*STDOUT;
        $ENV{$_} = $env{$_} for keys %env;
        exec(binary(), '-config', $cfg, '-dnsserver', "127.0.0.1:$dns")
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;
    $self->{owner} = $$;
    $self->{starts}++;

    my $deadline = time + 30;    # a failure's only (a busy machine)

    until (_port_open($self->port) && _port_open($self->mgmt_port)
           && $self->log_since_start =~ /Listening on:/)
    {
        if (waitpid($pid, WNOHANG) == $pid) {
            my $status = $?;
            delete $self->{pid};
            croak "pebble exited at start (wait status $status):\n"
                . $self->log_since_start;
        }
        if (time > $deadline) {
            my $log = $self->log_since_start;
            $self->stop;
            croak "pebble did not start in 30 s:\n$log";
        }
        sleep 0.05;
    }

    return $self;
}

sub running {
    my ($self) = @_;
    return 0 unless $self->{pid};
    return waitpid($self->{pid}, WNOHANG) == 0 ? 1 : 0;
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return $self;
    return $self if ($self->{owner} // 0) != $$;

    # the listening ports are closed once it is gone
    LinkCert::Util::stop_child($pid, undef, ['TERM', 5], ['KILL', 5]);

    return $self;
}

sub restart { $_[0]->stop->start }

sub DESTROY { $_[0]->stop if $_[0]{pid} }

END {
    my $failed = $? != 0 || !Test::More->builder->is_passing;
    for my $p (@INSTANCES) {
        next if ($p->{owner} // $$) != $$;
        if ($failed) {
            my @lines = split /\n/, $p->log;
            splice @lines, 0, @lines - 150 if @lines > 150;
            Test::More::diag(join "\n", "--- $p->{name}.log (the end) ---",
                             @lines);
        }
        $p->stop;
    }
}


###########################################################################
# the log

sub log {
    my ($self) = @_;
    return _read_file($self->{log}) // '';
}

# What the running (or last) Pebble logged since it started.
sub log_since_start {
    my ($self) = @_;
    my $log = $self->log;
    my $offset = $self->{log_offset_at_start} // 0;
    return length $log > $offset ? substr($log, $offset) : '';
}

# Waits until the log since the last start matches $re (up to $timeout
# seconds, default 10, polling every 20 ms); true if it did.
sub wait_log {
    my ($self, $re, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (1) {
        return 1 if $self->log_since_start =~ $re;
        return 0 if time > $deadline;
        sleep 0.02;
    }
}

# Counts over the whole log (every start of Pebble) unless since_start.
# Pebble 2.4 logs, per new order, 'Added order "<id>" to the db' and,
# per certificate, 'Issued certificate serial <hex> for order <id>'.
sub _count {
    my ($self, $re, $since_start) = @_;
    my $log = $since_start ? $self->log_since_start : $self->log;
    my $n = () = $log =~ /$re/g;
    return $n;
}

sub order_count {
    my ($self, %o) = @_;
    return $self->_count(qr/^Pebble \S+ \S+ Added order "[^"]+" to the db$/m,
                         $o{since_start});
}

sub issued_count {
    my ($self, %o) = @_;
    return $self->_count(qr/^Pebble \S+ \S+ Issued certificate serial \S+ for order/m,
                         $o{since_start});
}

sub account_count {
    my ($self, %o) = @_;
    return $self->_count(qr/^Pebble \S+ \S+ There are now \d+ accounts in memory$/m,
                         $o{since_start});
}

# Lines of the log for requests: ('POST /order-plz', ...).
sub requests {
    my ($self, %o) = @_;
    my $log = $o{since_start} ? $self->log_since_start : $self->log;
    return $log =~ /^Pebble \S+ \S+ ((?:GET|HEAD|POST) \S+) -> calling handler\(\)$/mg;
}

# The serials Pebble issued (lowercase hex, as Pebble logs them).
sub issued_serials {
    my ($self, %o) = @_;
    my $log = $o{since_start} ? $self->log_since_start : $self->log;
    return map { lc } $log =~ /^Pebble \S+ \S+ Issued certificate serial (\S+) for order/mg;
}


###########################################################################
# the management interface

# The root that signs the chains the running Pebble issues (PEM), fetched
# from https://127.0.0.1:<mgmt>/roots/0 and verified with our CA; also
# written to pebble/root-<n>.pem, whose path root_file() returns.
sub root_pem {
    my ($self) = @_;

    return $self->{root} if $self->{root};

    my $r = $self->management('/roots/0');
    croak "pebble /roots/0: $r->{status} $r->{reason} $r->{content}"
        unless $r->{status} == 200;
    croak "pebble /roots/0 is not a certificate: $r->{content}"
        unless $r->{content} =~ /-----BEGIN CERTIFICATE-----/;

    $self->{root_file} = "$self->{dir}/root-$self->{starts}.pem";
    _write_file($self->{root_file}, $r->{content});

    return $self->{root} = $r->{content};
}

sub root_file {
    my ($self) = @_;
    $self->root_pem;
    return $self->{root_file};
}

# GET on the management interface (HTTPS, verified with our CA).
sub management {
    my ($self, $path) = @_;
    my $http = HTTP::Tiny->new(timeout => 5, verify_SSL => 1,
                               SSL_options => { SSL_ca_file => $self->ca_file });
    return $http->get('https://127.0.0.1:' . $self->mgmt_port . $path);
}

# GET on the ACME listener (e.g. '/dir'), verified with our CA.
sub acme_get {
    my ($self, $path) = @_;
    my $http = HTTP::Tiny->new(timeout => 5, verify_SSL => 1,
                               SSL_options => { SSL_ca_file => $self->ca_file });
    return $http->get('https://localhost:' . $self->port . $path);
}


###########################################################################
# verified handshakes

# A TLS handshake with nginx's TLS listener ($t->port(0)) for $sni that
# verifies the presented chain with $root_file (default: the running
# Pebble's root) and the name $sni.  Returns
#   { ok => 1, fingerprint, chain => [fingerprints], san => [DNS names],
#     issuer, serial, version, elapsed }
# or { ok => 0, error => ... } when the handshake or the verification fails.
# Options: port => (index, default 0), root_file =>, timeout => (s, 5),
# edge => another LinkCert::Test (its listener instead).
sub verified_handshake {
    my ($self, $sni, %opts) = @_;

    my $root = $opts{root_file} // $self->root_file;
    my $t0 = time;

    my $sock = IO::Socket::SSL->new(
        PeerAddr            => '127.0.0.1',
        PeerPort            => ($opts{edge} // $self->{t})->port($opts{port} // 0),
        Timeout             => $opts{timeout} // 5,
        SSL_hostname        => $sni,
        SSL_verify_mode     => SSL_VERIFY_PEER,
        SSL_ca_file         => $root,
        SSL_verifycn_scheme => 'http',
        SSL_verifycn_name   => $sni,
    );

    my $elapsed = time - $t0;

    return { ok => 0, elapsed => $elapsed,
             error => "$IO::Socket::SSL::SSL_ERROR $!" }
        unless $sock;

    my @san;
    my @alt = $sock->peer_certificate('subjectAltNames');
    while (my ($type, $value) = splice @alt, 0, 2) {
        push @san, $value if $type == 2;    # GEN_DNS
    }

    my %info = (
        ok          => 1,
        elapsed     => $elapsed,
        fingerprint => _strip_algo($sock->get_fingerprint('sha256')),
        chain       => [ map { _strip_algo($sock->get_fingerprint('sha256', $_)) }
                         $sock->peer_certificates ],
        san         => \@san,
        issuer      => $sock->peer_certificate('issuer'),
        version     => $sock->get_sslversion,
    );

    my $cert = $sock->peer_certificate;
    $info{serial} = uc Net::SSLeay::P_ASN1_INTEGER_get_hex(
        Net::SSLeay::X509_get_serialNumber($cert));

    $sock->close(SSL_fast_shutdown => 1);

    return \%info;
}

# Verified handshakes with $edge (a LinkCert::Test) for $sni every 20 ms
# until it serves the certificate with $serial (hex, as the status gives
# it) or $timeout seconds pass: (the last handshake, the seconds from the
# call to the start of that handshake: a handshake's own time, long on a
# loaded machine, is not counted).
sub wait_serial {
    my ($self, $edge, $sni, $serial, $timeout) = @_;
    my $start = time;
    my ($hs, $at);
    while (time - $start < $timeout) {
        $at = time - $start;
        $hs = $self->verified_handshake($sni, edge => $edge, timeout => 2);
        last if $hs->{ok} && $hs->{serial} eq uc $serial;
        sleep 0.02;
    }
    return ($hs, $at);
}

# openssl verify of a PEM chain file (leaf first) against $root_file (default
# the running Pebble's root): (ok, output).
sub openssl_verify {
    my ($self, $chain, $root_file) = @_;

    $root_file //= $self->root_file;

    my $pem = _read_file($chain) // return (0, "cannot read $chain");
    my @certs = $pem =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?)/sg;
    return (0, "no certificate in $chain") unless @certs;

    my $leaf = "$self->{dir}/verify-leaf.pem";
    my $untrusted = "$self->{dir}/verify-untrusted.pem";
    _write_file($leaf, $certs[0]);
    _write_file($untrusted, join '', @certs[1 .. $#certs]);

    my ($rc, $out) = _capture('openssl', 'verify', '-CAfile', $root_file,
                              (@certs > 1 ? ('-untrusted', $untrusted) : ()),
                              '-purpose', 'sslserver', $leaf);
    return ($rc == 0 && $out =~ /: OK$/m ? 1 : 0, $out);
}


###########################################################################
# a TCP listener that accepts and never answers (a hung ACME server)

package LinkCert::Pebble::Silent;

use IO::Socket::INET;
use Time::HiRes qw(time);

# Listens on 127.0.0.1:<free port>; the kernel completes the handshakes
# (backlog), poll() accepts them and keeps them open and silent, and notes
# when the peer closes each one.
sub new {
    my ($class) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 64, ReuseAddr => 1)
        or die "cannot listen on loopback: $!";
    $s->blocking(0);
    return bless { sock => $s, conns => [] }, $class;
}

sub port { $_[0]{sock}->sockport }

# Accepts what is waiting and reads what arrived; returns every connection
# so far: ({ peer_port, accepted_at, closed_at (undef: open), bytes }, ...).
sub poll {
    my ($self) = @_;
    while (my $c = $self->{sock}->accept) {
        $c->blocking(0);
        push @{ $self->{conns} }, { sock => $c, peer_port => $c->peerport,
                                    accepted_at => time, bytes => 0 };
    }
    for my $conn (grep { !defined $_->{closed_at} } @{ $self->{conns} }) {
        while (1) {
            my $n = sysread($conn->{sock}, my $buf, 65536);
            last unless defined $n;              # EAGAIN: open, silent
            if ($n == 0) {                       # the peer closed it
                $conn->{closed_at} = time;
                close $conn->{sock};
                last;
            }
            $conn->{bytes} += $n;
        }
    }
    return @{ $self->{conns} };
}

sub accepted { scalar(my @c = $_[0]->poll) }

sub open_connections { scalar grep { !defined $_->{closed_at} } $_[0]->poll }

sub close_all {
    my ($self) = @_;
    for (@{ $self->{conns} }) {
        next if defined $_->{closed_at};
        close $_->{sock};
        $_->{closed_at} = time;
    }
}

package LinkCert::Pebble;


###########################################################################
# sockets of a process

# Sockets of process $pid connected (any TCP state but LISTEN) to
# 127.0.0.1:$port, from /proc/net/tcp and /proc/$pid/fd:
# ({ state => 'ESTABLISHED', local => port, inode }, ...).
sub connections_to {
    my ($class, $pid, $port) = @_;

    my %inode_of_fd;
    if (opendir my $dh, "/proc/$pid/fd") {
        for my $fd (grep { /^\d+$/ } readdir $dh) {
            my $target = readlink("/proc/$pid/fd/$fd") // next;
            $inode_of_fd{$1} = $fd if $target =~ /^socket:\[(\d+)\]$/;
        }
        closedir $dh;
    }

    my %states = ('01' => 'ESTABLISHED', '02' => 'SYN_SENT',
                  '03' => 'SYN_RECV', '04' => 'FIN_WAIT1',
                  '05' => 'FIN_WAIT2', '06' => 'TIME_WAIT', '07' => 'CLOSE',
                  '08' => 'CLOSE_WAIT', '09' => 'LAST_ACK', '0A' => 'LISTEN',
                  '0B' => 'CLOSING');

    my @found;
    for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $file or next;
        <$fh>;
        while (my $line = <$fh>) {
            my @f = split ' ', $line;
            my ($lport) = $f[1] =~ /:([0-9A-F]{4})$/;
            my ($rport) = $f[2] =~ /:([0-9A-F]{4})$/;
            next unless defined $rport && hex($rport) == $port;
            next if $f[3] eq '0A';
            next unless exists $inode_of_fd{ $f[9] };
            push @found, { state => $states{ $f[3] } // $f[3],
                           local => hex $lport, inode => $f[9],
                           fd => $inode_of_fd{ $f[9] } };
        }
        close $fh;
    }

    return @found;
}


###########################################################################
# helpers

sub _make_certs {
    my ($self) = @_;
    my $d = $self->{dir};

    _openssl('req', '-x509', '-newkey', 'ec',
             '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
             '-keyout', "$d/ca.key", '-out', "$d/ca.crt", '-days', '30',
             '-subj', '/CN=LinkCert Pebble Listener CA',
             '-addext', 'basicConstraints=critical,CA:TRUE',
             '-addext', 'keyUsage=critical,keyCertSign,cRLSign');

    _openssl('req', '-new', '-newkey', 'ec',
             '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
             '-keyout', "$d/listener.key", '-out', "$d/listener.csr",
             '-subj', '/CN=localhost');

    _write_file("$d/listener.ext", join "\n",
        'basicConstraints = CA:FALSE',
        'keyUsage = critical, digitalSignature, keyEncipherment',
        'extendedKeyUsage = serverAuth',
        'subjectAltName = DNS:localhost, IP:127.0.0.1', '');

    _openssl('x509', '-req', '-in', "$d/listener.csr", '-CA', "$d/ca.crt",
             '-CAkey', "$d/ca.key", '-CAcreateserial',
             '-CAserial', "$d/ca.srl", '-out', "$d/listener.crt",
             '-days', '30', '-extfile', "$d/listener.ext");
}

# the harness's own helpers, shared (LinkCert::Util), by the names this
# module has always used
{
    no strict 'refs';
    *{"LinkCert::Pebble::_$_"} = \&{"LinkCert::Util::$_"}
        for qw(strip_algo port_open read_file write_file capture openssl);
}


###########################################################################
# the module's side

# Polls the full status of $domain until it is issued/issued, or failed,
# or $timeout seconds (default 15) pass: (json, issued?).
sub wait_issued {
    my ($self, $domain, $timeout) = @_;
    my ($j) = $self->{t}->wait_status($domain, sub {
        ($_->{stage} // '') eq 'issued' || ($_->{stage} // '') eq 'failed'
    }, $timeout // 15);
    my $ok = ($j->{status} // '') eq 'issued'
             && ($j->{stage} // '') eq 'issued';
    return wantarray ? ($j, $ok) : $j;
}

# Waits (at most 5 s) until one of nginx's current workers says its ACME
# account is ready; returns whether one did.
sub account_settled {
    my ($self) = @_;
    my $t = $self->{t};
    my %live = map { $_ => 1 } $t->worker_pids;
    my $deadline = time + 5;
    until (time > $deadline) {
        my @ready = $t->error_log
                    =~ /\] (\d+)#\d+: linkcert: ACME account ready/g;
        return 1 if grep { $live{$_} } @ready;
        sleep 0.05;
    }
    return 0;
}

# Lines of nginx's error log matching $re.
sub error_log_lines {
    my ($self, $re) = @_;
    return $self->{t}->log_lines($re);
}

# The nginx error log without debug lines, the lines mentioning linkcert
# at notice and above, to show in diagnostics (the last $n, default 40).
sub notices {
    my ($self, $n) = @_;
    my @l = grep { /\[(?:notice|info|warn|error|crit|alert|emerg)\]/ }
            split /\n/, $self->{t}->error_log;
    splice @l, 0, @l - ($n // 40) if @l > ($n // 40);
    return join "\n", @l;
}

1;


###########################################################################
# a slow HTTP-01 path: a delaying TCP relay between Pebble's VA and nginx

package LinkCert::Pebble::Delay;

# Pebble's VA sleeps a random 0..PEBBLE_VA_SLEEPTIME-1 seconds per
# validation; this relay makes an order slow by a known amount instead:
#
#   my $delay = LinkCert::Pebble::Delay->new($t);        # to $t->port(1)
#   my $pebble = LinkCert::Pebble->new($t, http_port => $delay->port);
#   $delay->set(4);                                      # seconds, any time
#   $delay->hold; ...; $delay->release;    # until the test says so
#
# Each connection is accepted at once, its request head is read and noted
# (logs/delay.log in the test's prefix), then it waits the delay current at
# that moment (or, held, until released, at most 30 s) before the
# request is passed on to nginx (with "Connection: close") and the answer
# relayed back.  A forked child per connection, so
# Pebble's concurrent validations are delayed in parallel.  Stopped at the
# end of the test.

use Carp qw(croak);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

my @DELAYS;

sub new {
    my ($class, $t, %opts) = @_;

    my $self = bless {
        t      => $t,
        to     => $opts{to} // $t->port(1),
        file   => $t->prefix . '/pebble-delay',
        log    => $t->prefix . '/logs/delay.log',
    }, $class;

    $self->set($opts{delay} // 0);

    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 64,
                                  ReuseAddr => 1)
        or croak "cannot listen on loopback: $!";
    $self->{port} = $s->sockport;

    my $parent = $$;
    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        LinkCert::Util::die_with_parent($parent);
        $SIG{CHLD} = 'IGNORE';
        my $me = $$;
        while (1) {
            my $c = $s->accept or next;
            my $h = fork;
            if (defined $h && $h == 0) {
                close $s;
                LinkCert::Util::die_with_parent($me);
                eval { $self->_serve($c) };
                POSIX::_exit(0);
            }
            close $c;
        }
        POSIX::_exit(0);
    }

    close $s;
    $self->{pid} = $pid;
    $self->{owner} = $$;
    push @DELAYS, $self;

    return $self;
}

sub port { $_[0]{port} }

# The delay, in seconds, for the connections accepted from now on.
sub set {
    my ($self, $seconds) = @_;
    LinkCert::Pebble::_write_file($self->{file}, "$seconds\n");
    $self->{delay} = $seconds;
    return $self;
}

# Holds the connections accepted from now on (and those waiting) until
# release: a window that lasts as long as the test needs, not a guess of
# how long its checks take.
sub hold    { $_[0]->set('hold') }
sub release { $_[0]->set(0) }

# Requests seen so far: ({ at, host, path, delay }, ...), oldest first.
sub requests {
    my ($self) = @_;
    my @r;
    for (split /\n/, LinkCert::Pebble::_read_file($self->{log}) // '') {
        my ($at, $delay, $host, $path) = split / /, $_, 4;
        push @r, { at => $at, delay => $delay, host => $host, path => $path };
    }
    return @r;
}

# Waits (up to $timeout s, default 10) until a request for $host arrives;
# returns it, or undef.
sub wait_request {
    my ($self, $host, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (1) {
        my ($r) = grep { $_->{host} eq $host } $self->requests;
        return $r if $r;
        return undef if time > $deadline;
        sleep 0.02;
    }
}

sub _serve {
    my ($self, $c) = @_;

    my $head = '';
    my $deadline = time + 10;
    while ($head !~ /\r\n\r\n/ && time < $deadline) {
        my $n = sysread($c, my $buf, 65536);
        last unless $n;
        $head .= $buf;
    }
    return unless $head =~ /\r\n\r\n/;

    my ($path) = $head =~ m{^\S+ (\S+)};
    my ($host) = $head =~ /^Host:[ \t]*([^\r\n]*)/mi;
    $host = lc(($host // '-') =~ s/:\d+$//r);

    my $delay = LinkCert::Pebble::_read_file($self->{file}) // 0;
    $delay =~ s/\s+//g;

    if (open my $fh, '>>', $self->{log}) {
        printf $fh "%.3f %s %s %s\n", time, $delay, $host, $path // '-';
        close $fh;
    }

    if ($delay eq 'hold') {
        my $until = time + 30;
        sleep 0.02 while time < $until
            && (LinkCert::Pebble::_read_file($self->{file}) // '') =~ /hold/;
    } elsif ($delay > 0) {
        sleep $delay;
    }

    my $up = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                   PeerPort => $self->{to}, Proto => 'tcp',
                                   Timeout => 5)
        or return;

    $head =~ s/^Connection:[^\r\n]*\r\n//mig;
    $head =~ s/\r\n\r\n/\r\nConnection: close\r\n\r\n/;
    syswrite($up, $head);

    while (1) {
        my $n = sysread($up, my $buf, 65536);
        last unless $n;
        syswrite($c, $buf);
    }

    close $up;
    close $c;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return $self;
    LinkCert::Util::stop_child($pid) if ($self->{owner} // 0) == $$;
    return $self;
}

sub DESTROY { $_[0]->stop if $_[0]{pid} }

END { $_->stop for @DELAYS }

package LinkCert::Pebble;

1;
