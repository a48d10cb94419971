# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::TLS;

# Certificates and TLS clients of a LinkCert::Test: a test CA of its own
# (openssl ca in certs/ of the prefix), certificates it issues, domains
# put in the store, fingerprints and dates of PEM files, and handshakes
# with nginx's TLS listener: one at a time, many at once, or with a
# ClientHello sent by hand.  A mixin of LinkCert::Test.

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use IO::Socket::INET;
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

use LinkCert::Util qw(read_file write_file capture openssl strip_algo);


###########################################################################
# certificates

sub ca {
    my ($self) = @_;

    return $self->{ca} if $self->{ca};

    my $dir = $self->{certs};
    $self->_genkey("$dir/ca.key", 'ec');
    openssl('req', '-new', '-config', "$dir/openssl.cnf",
            '-key', "$dir/ca.key", '-subj', '/CN=LinkCert Test CA',
            '-out', "$dir/ca.csr");
    openssl('ca', '-batch', '-config', "$dir/openssl.cnf", '-selfsign',
            '-keyfile', "$dir/ca.key", '-in', "$dir/ca.csr",
            '-out', "$dir/ca.crt", '-extensions', 'v3_ca', '-notext',
            '-rand_serial', _dates(time - 365 * 86400, time + 3650 * 86400));

    return $self->{ca} = "$dir/ca.crt";
}

# (fullchain path, key path) for a new certificate issued by the test CA.
#   san => [names] (default [$name]), expired => 1, key => 'ec'|'rsa',
#   not_before => t, not_after => t (Unix times; default an hour ago and
#   90 days ahead), serial => 'HEX' (default random),
#   aki => 1 (with subject and authority key identifiers)
sub make_cert {
    my ($self, $name, %opts) = @_;

    my $ca = $self->ca;
    my $dir = $self->{certs};
    my $n = ++$self->{serial};
    my $base = "$dir/$n-" . ($name =~ s/[^\w.-]/_/gr);
    my @san = @{ $opts{san} // [$name] };

    $self->_genkey("$base.key", $opts{key} // 'ec');

    my $cn = length $san[0] <= 64 ? $san[0] : 'linkcert test';
    openssl('req', '-new', '-config', "$dir/openssl.cnf",
            '-key', "$base.key", '-subj', "/CN=$cn", '-out', "$base.csr");

    write_file("$base.ext", join "\n",
        'basicConstraints = CA:FALSE',
        'keyUsage = critical, digitalSignature, keyEncipherment',
        'extendedKeyUsage = serverAuth',
        'subjectAltName = ' . join(', ', map { "DNS:$_" } @san),
        ($opts{aki} ? ('subjectKeyIdentifier = hash',
                       'authorityKeyIdentifier = keyid:always') : ()), '');

    my @dates = $opts{expired}
        ? _dates(time - 60 * 86400, time - 30 * 86400)
        : _dates($opts{not_before} // time - 3600,
                 $opts{not_after} // time + 90 * 86400);

    # openssl ca takes a chosen serial from its serial file
    write_file("$dir/serial", "$opts{serial}\n") if defined $opts{serial};

    openssl('ca', '-batch', '-config', "$dir/openssl.cnf",
            '-in', "$base.csr", '-out', "$base.crt", '-extfile', "$base.ext",
            '-notext', (defined $opts{serial} ? () : '-rand_serial'), @dates);

    write_file("$base.fullchain.pem",
               read_file("$base.crt") . read_file($ca));

    return ("$base.fullchain.pem", "$base.key");
}

# Writes store/domains/$name/{fullchain,privkey}.pem.  Options:
#   cert => [$fullchain, $key]    use these files (default: a new cert)
#   key, expired, san, not_before, not_after, serial, aki
#                        passed to make_cert
#   wrong_name => 1      the certificate is for another name
#   mismatched_key => 1  privkey.pem does not belong to the certificate
#   corrupt => 1|'key'   fullchain.pem (or privkey.pem) is garbage
#   missing_key => 1, missing_chain => 1
# Returns the two paths in the store.
sub store_domain {
    my ($self, $name, %opts) = @_;

    my ($chain, $key);

    if ($opts{cert}) {
        ($chain, $key) = @{ $opts{cert} };
    } else {
        my %cert = map { $_ => $opts{$_} }
                   grep { exists $opts{$_} }
                   qw(key expired san not_before not_after serial aki);
        $cert{san} = ["not-$name"] if $opts{wrong_name};
        ($chain, $key) = $self->make_cert($name, %cert);
    }

    if ($opts{mismatched_key}) {
        $key = "$self->{certs}/" . ++$self->{serial} . '-other.key';
        $self->_genkey($key, $opts{key} // 'ec');
    }

    my $chain_pem = read_file($chain);
    my $key_pem = read_file($key);

    my $garbage = "this is not PEM\n-----BEGIN CERTIFICATE-----\n"
                . "bm90IGEgY2VydGlmaWNhdGU=!!garbage!!\n"
                . "-----END CERTIFICATE-----\n";

    if ($opts{corrupt}) {
        if ($opts{corrupt} eq 'key') {
            $key_pem = $garbage =~ s/CERTIFICATE/PRIVATE KEY/gr;
        } else {
            $chain_pem = $garbage;
        }
    }

    my $dir = "$self->{store}/domains/$name";
    make_path($dir);

    write_file("$dir/fullchain.pem", $chain_pem, 0644)
        unless $opts{missing_chain};
    write_file("$dir/privkey.pem", $key_pem, 0600)
        unless $opts{missing_key};

    return ("$dir/fullchain.pem", "$dir/privkey.pem");
}

# sha256 of the first certificate's DER, lowercase hex.
sub fingerprint_of_file {
    my ($self, $pem) = @_;
    my $out = openssl('x509', '-in', $pem, '-noout', '-fingerprint',
                      '-sha256');
    my ($fp) = $out =~ /=([0-9A-F:]+)/i or croak "no fingerprint: $out";
    return lc($fp =~ s/://gr);
}

# The public key (PEM) of a private key file, or of the first certificate
# of a PEM file; openssl's message if the file is not one.
sub pubkey_of_key {
    my ($self, $file) = @_;
    return (capture('openssl', 'pkey', '-in', $file, '-pubout'))[1];
}

sub pubkey_of_cert {
    my ($self, $file) = @_;
    return (capture('openssl', 'x509', '-in', $file, '-noout',
                    '-pubkey'))[1];
}

# Serial of the first certificate as openssl prints it (uppercase hex).
sub serial_of_file {
    my ($self, $pem) = @_;
    my $out = openssl('x509', '-in', $pem, '-noout', '-serial');
    my ($serial) = $out =~ /^serial=([0-9A-F]+)$/m
        or croak "no serial: $out";
    return $serial;
}

# (not_before, not_after) of the first certificate, RFC 3339 UTC.
sub dates_of_file {
    my ($self, $pem) = @_;

    my $out = openssl('x509', '-in', $pem, '-noout', '-startdate',
                      '-enddate');
    my %month;
    @month{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = (0 .. 11);

    my @dates;
    for my $field (qw(notBefore notAfter)) {
        my ($mon, $day, $h, $m, $s, $y) = $out =~
            /^$field=(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) (\d{4}) GMT$/m
            or croak "no $field: $out";
        push @dates, strftime('%Y-%m-%dT%H:%M:%SZ',
            gmtime(timegm($s, $m, $h, $day, $month{$mon}, $y)));
    }

    return @dates;
}

sub fallback_fingerprint {
    my ($self) = @_;
    return $self->{fallback_fp}
        //= $self->fingerprint_of_file("$self->{prefix}/conf/fallback.crt");
}

sub _make_fallback {
    my ($self) = @_;
    my $conf = "$self->{prefix}/conf";
    openssl('req', '-x509', '-config', "$self->{certs}/openssl.cnf",
            '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
            '-nodes', '-keyout', "$conf/fallback.key",
            '-out', "$conf/fallback.crt", '-days', '30',
            '-subj', '/CN=fallback.invalid',
            '-addext', 'subjectAltName=DNS:fallback.invalid');
}

sub _genkey {
    my ($self, $path, $type) = @_;

    my @alg = $type eq 'rsa'
        ? ('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048')
        : $type eq 'ec'
        ? ('-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256')
        : croak "unknown key type $type";

    openssl('genpkey', @alg, '-out', $path);
    chmod 0600, $path;
}

sub _write_openssl_config {
    my ($self) = @_;
    my $dir = $self->{certs};

    write_file("$dir/index.txt", '');
    write_file("$dir/serial", "1000\n");
    write_file("$dir/openssl.cnf", <<"EOF");
[ ca ]
default_ca = test_ca

[ test_ca ]
dir = $dir
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir/issued
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none

[ policy_any ]
commonName = supplied

[ req ]
distinguished_name = req_dn

[ req_dn ]

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
}

sub _dates {
    my ($from, $to) = @_;
    return ('-startdate', strftime('%y%m%d%H%M%SZ', gmtime $from),
            '-enddate', strftime('%y%m%d%H%M%SZ', gmtime $to));
}


###########################################################################
# handshakes

# Fingerprint (sha256, lowercase hex) of the leaf the server presents for
# $sni (undef: no SNI), or undef if the handshake fails.
#   version => 'TLSv1_2'|'TLSv1_3', port => index (default 0)
sub handshake {
    my ($self, $sni, %opts) = @_;
    my $info = $self->handshake_info($sni, %opts) or return undef;
    return $info->{fingerprint};
}

# { fingerprint, version, chain => [fingerprints, leaf first] } or undef.
sub handshake_info {
    my ($self, $sni, %opts) = @_;

    my $sock = IO::Socket::SSL->new(
        PeerAddr        => '127.0.0.1',
        PeerPort        => $self->port($opts{port} // 0),
        Timeout         => 5,
        SSL_hostname    => $sni // '',
        SSL_verify_mode => SSL_VERIFY_NONE,
        ($opts{version} ? (SSL_version => $opts{version}) : ()),
    );

    unless ($sock) {
        $self->{handshake_error} = $IO::Socket::SSL::SSL_ERROR;
        return undef;
    }

    my %info = (
        fingerprint => strip_algo($sock->get_fingerprint('sha256')),
        version     => $sock->get_sslversion,
        chain       => [ map { strip_algo($sock->get_fingerprint('sha256', $_)) }
                         $sock->peer_certificates ],
    );

    $sock->close(SSL_fast_shutdown => 1);

    return \%info;
}

# $n TLS handshakes for $sni started at once from this process: all the
# TCP connections are opened first (non-blocking), then each handshake is
# driven by select() (IO::Socket::SSL start_SSL + connect_SSL, following
# SSL_WANT_READ / SSL_WANT_WRITE), so that every ClientHello is on its way
# before the first answer.  Returns one hash per connection, in the order
# they were opened:
#   { ok, fingerprint (sha256, lowercase hex), version, start (epoch s of
#     its connect()), elapsed (s, from its connect() to the end of its
#     handshake), hello (s, from its connect() to its ClientHello being
#     written), error }
# Options: port => index (default 0); root_file => PEM: the chain and the
# name $sni are verified against it (ok only if they verify; without it
# nothing is verified); timeout => s for all of them (default 20);
# version => 'TLSv1_2' | 'TLSv1_3'.
sub concurrent_handshakes {
    my ($self, $sni, $n, %opts) = @_;

    require Socket;

    my $port = $self->port($opts{port} // 0);
    my $deadline = time + ($opts{timeout} // 20);

    # one context for all: a context of its own per connection would load
    # the CA store each time, and the ClientHellos would trickle out
    my $ctx = IO::Socket::SSL::SSL_Context->new(
        ($opts{root_file}
            ? (SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_PEER(),
               SSL_ca_file => $opts{root_file},
               SSL_verifycn_scheme => 'http')
            : (SSL_verify_mode => SSL_VERIFY_NONE)),
        ($opts{version} ? (SSL_version => $opts{version}) : ()),
    ) or croak "SSL context: $IO::Socket::SSL::SSL_ERROR";
    my @verify = (SSL_reuse_ctx => $ctx,
                  ($opts{root_file} ? (SSL_verifycn_name => $sni) : ()));

    my @c;
    for (1 .. $n) {
        my $start = time;
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp',
                                      Blocking => 0);
        push @c, { sock => $s, start => $start, ok => 0,
                   state => $s ? 'connecting' : 'done', want => 'write',
                   ($s ? () : (error => "socket: $!", elapsed => 0)) };
    }

    my $finish = sub {
        my ($c, $error) = @_;
        $c->{elapsed} = time - $c->{start};
        if (defined $error) {
            $c->{error} = $error;
        } else {
            $c->{ok} = 1;
            $c->{fingerprint} = strip_algo($c->{sock}->get_fingerprint('sha256'));
            $c->{version} = $c->{sock}->get_sslversion;
        }
        $c->{state} = 'done';
        if ($c->{sock}) {
            if (ref $c->{sock} eq 'IO::Socket::SSL') {
                $c->{sock}->close(SSL_no_shutdown => 1);
            } else {
                close $c->{sock};
            }
        }
        delete $c->{sock};
    };

    my $step = sub {
        my ($c) = @_;

        if ($c->{state} eq 'connecting') {
            my $err = unpack 'i', getsockopt($c->{sock}, Socket::SOL_SOCKET(),
                                             Socket::SO_ERROR()) // pack 'i', 0;
            return $finish->($c, 'connect: ' . ($! = $err)) if $err;
            IO::Socket::SSL->start_SSL($c->{sock},
                SSL_startHandshake => 0, SSL_hostname => $sni, @verify)
                or return $finish->($c, "start_SSL: $IO::Socket::SSL::SSL_ERROR");
            $c->{state} = 'handshaking';
            $c->{hello} = time - $c->{start};
        }

        return $finish->($c) if $c->{sock}->connect_SSL;

        my $e = $IO::Socket::SSL::SSL_ERROR;
        if (defined $e && $e == IO::Socket::SSL::SSL_WANT_READ()) {
            $c->{want} = 'read';
        } elsif (defined $e && $e == IO::Socket::SSL::SSL_WANT_WRITE()) {
            $c->{want} = 'write';
        } else {
            $finish->($c, 'handshake: ' . ($e // $!));
        }
    };

    while (my @open = grep { $_->{state} ne 'done' } @c) {
        my $left = $deadline - time;
        if ($left <= 0) {
            $finish->($_, "timeout ($_->{state}, waiting to $_->{want})")
                for @open;
            last;
        }

        my ($rin, $win) = ('', '');
        for (@open) {
            vec($_->{want} eq 'read' ? $rin : $win, fileno $_->{sock}, 1) = 1;
        }

        my $got = select(my $rout = $rin, my $wout = $win, undef,
                         $left > 1 ? 1 : $left);
        next if $got <= 0;

        for (@open) {
            my $fd = fileno $_->{sock};
            $step->($_) if $_->{want} eq 'read' ? vec($rout, $fd, 1)
                                                : vec($wout, $fd, 1);
        }
    }

    return map { { %$_{qw(ok fingerprint version start elapsed hello error)} } }
           @c;
}

# The bytes of the first flight of an OpenSSL client for $sni (undef: no
# server_name extension): a ClientHello in one TLS record, made with
# Net::SSLeay on memory BIOs.  In list context also the SSL object, its
# context and the two BIOs, to go on with the handshake (see
# trickle_handshake).  Options: root_file => PEM (the chain and $sni are
# verified: get_verify_result), version => 'TLSv1_2' | 'TLSv1_3' (the
# highest version offered).
sub client_hello_bytes {
    my ($self, $sni, %opts) = @_;

    require Net::SSLeay;

    my $ctx = Net::SSLeay::CTX_new_with_method(Net::SSLeay::TLS_client_method())
        or croak 'CTX_new failed';
    Net::SSLeay::CTX_set_verify($ctx, Net::SSLeay::VERIFY_NONE(), undef);
    if ($opts{version}) {
        my %v = (TLSv1_2 => Net::SSLeay::TLS1_2_VERSION(),
                 TLSv1_3 => Net::SSLeay::TLS1_3_VERSION());
        Net::SSLeay::CTX_set_max_proto_version($ctx, $v{ $opts{version} }
            // croak "unknown version $opts{version}");
    }
    if ($opts{root_file}) {
        Net::SSLeay::CTX_load_verify_locations($ctx, $opts{root_file}, '')
            or croak "cannot load $opts{root_file}";
    }

    my $ssl = Net::SSLeay::new($ctx) or croak 'SSL_new failed';
    my $rbio = Net::SSLeay::BIO_new(Net::SSLeay::BIO_s_mem());
    my $wbio = Net::SSLeay::BIO_new(Net::SSLeay::BIO_s_mem());
    Net::SSLeay::set_bio($ssl, $rbio, $wbio);
    Net::SSLeay::set_connect_state($ssl);
    Net::SSLeay::set_tlsext_host_name($ssl, $sni) if defined $sni;
    if ($opts{root_file} && defined $sni) {
        Net::SSLeay::X509_VERIFY_PARAM_set1_host(Net::SSLeay::get0_param($ssl),
                                                 $sni);
    }

    my $rv = Net::SSLeay::connect($ssl);
    my $err = Net::SSLeay::get_error($ssl, $rv);
    croak "SSL_connect: $rv, error $err" unless $err == Net::SSLeay::ERROR_WANT_READ();

    my $hello = '';
    while (Net::SSLeay::BIO_pending($wbio)) {
        $hello .= Net::SSLeay::BIO_read($wbio);
    }

    unless (wantarray) {
        Net::SSLeay::free($ssl);
        Net::SSLeay::CTX_free($ctx);
        return $hello;
    }

    return ($hello, { ssl => $ssl, ctx => $ctx, rbio => $rbio,
                      wbio => $wbio });
}

# A TLS handshake for $sni over a plain socket (TCP_NODELAY) whose
# ClientHello is sent $opts{chunk} bytes (default 1) per send(), with
# $opts{gap} seconds (default 0.003) between sends; the rest of the
# handshake is driven normally (Net::SSLeay on memory BIOs).  Returns
#   { ok, fingerprint, verified (with root_file), elapsed (s, from the
#     connect), sent (seconds the ClientHello took to send), sends,
#     hello_len, error }
# Options: port => index (default 0), root_file => PEM (verify chain and
# name; ok stays the handshake's result, verified says the rest),
# timeout => s (default 15), version => as client_hello_bytes.
sub trickle_handshake {
    my ($self, $sni, %opts) = @_;

    require Net::SSLeay;
    require Socket;

    my $chunk = $opts{chunk} // 1;
    my $gap = $opts{gap} // 0.003;
    my $deadline = time + ($opts{timeout} // 15);
    my $t0 = time;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->port($opts{port} // 0),
                                  Proto => 'tcp', Timeout => 5)
        or return { ok => 0, error => "connect: $!", elapsed => time - $t0 };
    setsockopt($s, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1);

    my ($hello, $h) = $self->client_hello_bytes($sni, %opts);
    my %res = (ok => 0, hello_len => length $hello, sends => 0);
    my $ssl = $h->{ssl};

    my $out = sub {
        my ($bytes) = @_;
        my $off = 0;
        while ($off < length $bytes) {
            my $n = syswrite($s, $bytes, length($bytes) - $off, $off);
            die "write: $!\n" unless defined $n;
            $off += $n;
        }
    };

    my $ok = eval {
        my $t1 = time;
        for (my $off = 0; $off < length $hello; $off += $chunk) {
            sleep $gap if $off;
            $out->(substr $hello, $off, $chunk);
            $res{sends}++;
        }
        $res{sent} = time - $t1;

        while (1) {
            my $left = $deadline - time;
            die "timeout\n" if $left <= 0;
            my $rin = '';
            vec($rin, fileno $s, 1) = 1;
            next unless select(my $rout = $rin, undef, undef, $left) > 0;
            my $n = sysread($s, my $buf, 65536);
            die "read: $!\n" unless defined $n;
            die "the server closed the connection\n" if $n == 0;
            Net::SSLeay::BIO_write($h->{rbio}, $buf);

            my $rv = Net::SSLeay::connect($ssl);
            my $pending = '';
            while (Net::SSLeay::BIO_pending($h->{wbio})) {
                $pending .= Net::SSLeay::BIO_read($h->{wbio});
            }
            $out->($pending) if length $pending;

            last if $rv == 1;
            my $err = Net::SSLeay::get_error($ssl, $rv);
            die 'handshake: ' . Net::SSLeay::ERR_error_string(
                    Net::SSLeay::ERR_get_error()) . " ($err)\n"
                unless $err == Net::SSLeay::ERROR_WANT_READ();
        }
        1;
    };

    $res{elapsed} = time - $t0;

    if ($ok) {
        $res{ok} = 1;
        my $cert = Net::SSLeay::get_peer_certificate($ssl);
        $res{fingerprint} = lc(Net::SSLeay::X509_get_fingerprint($cert,
                                                                'sha256')
                               =~ s/://gr) if $cert;
        $res{verified} = Net::SSLeay::get_verify_result($ssl)
                         == Net::SSLeay::X509_V_OK() ? 1 : 0
            if $opts{root_file};
    } else {
        $res{error} = $@;
        chomp $res{error};
    }

    close $s;
    Net::SSLeay::free($ssl);
    Net::SSLeay::CTX_free($h->{ctx});

    return \%res;
}

1;
