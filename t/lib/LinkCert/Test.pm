package LinkCert::Test;

# Integration test harness for the linkcert nginx module, in the spirit of
# nginx-tests: a throw-away prefix, a config with %%PLACEHOLDERS%%, a real
# nginx master (daemon off) started as a child, and small clients for TLS
# handshakes and HTTP requests.
#
#   use Test::More;
#   use FindBin;
#   use lib "$FindBin::Bin/lib";
#   use LinkCert::Test;
#
#   my $t = LinkCert::Test->new;      # skips the file if the module is absent
#   $t->store_domain('a.example.test');
#   $t->write_config($t->standard_config);
#   $t->run;
#   is($t->handshake('a.example.test'), $t->fingerprint_of_file(...));
#
# Environment: LINKCERT_NGINX (nginx binary), LINKCERT_MODULE (the .so),
# LINKCERT_KEEP=1 (keep the temporary prefix and print where it is),
# LINKCERT_ASAN=1 (use build/asan/, the module built by "scripts/build
# --asan", with libasan preloaded into nginx; any AddressSanitizer or UBSan
# report fails the test),
# LINKCERT_LOG_LEVEL (error_log level of standard_config, default debug),
# LINKCERT_CHALLTESTSRV (the pebble-challtestsrv binary).

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Find qw(find);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use JSON::PP;
use POSIX qw(WNOHANG strftime);
use Test::More ();
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

my $TOP = abs_path(dirname(__FILE__) . '/../../..');

my $API_KEY = 's3cret-key';
my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

# Strong references: a test's file-scoped "my $t" is already freed when END
# blocks run, and END must still print the log and stop nginx.
my @INSTANCES;

sub module_path {
    return $ENV{LINKCERT_MODULE}
           // ($ENV{LINKCERT_ASAN} ? "$TOP/build/asan" : "$TOP/build")
              . '/ngx_http_linkcert_module.so';
}
sub nginx_path  { $ENV{LINKCERT_NGINX} // '/usr/sbin/nginx' }
sub rfc3339_re  { $RFC3339 }


###########################################################################
# construction

sub new {
    my ($class) = @_;

    my $module = module_path();
    Test::More::plan(skip_all => "linkcert module not built ($module)")
        unless -f $module;

    my $keep = $ENV{LINKCERT_KEEP};
    my $prefix = tempdir('linkcert-test-XXXXXX', TMPDIR => 1,
                         CLEANUP => !$keep);

    my $self = bless {
        prefix => $prefix,
        store  => "$prefix/store",
        certs  => "$prefix/certs",
        ports  => {},
        serial => 0,
    }, $class;

    make_path(map { "$prefix/$_" }
              qw(conf logs store store/domains certs certs/issued tmp));

    _write_file("$prefix/api.key", "$API_KEY\n", 0600);
    $self->_write_openssl_config;
    $self->_make_fallback;

    Test::More::diag("LINKCERT_KEEP: prefix is $prefix") if $keep;

    push @INSTANCES, $self;

    return $self;
}

sub prefix   { $_[0]{prefix} }
sub store    { $_[0]{store} }
sub api_key  { $API_KEY }
sub error_log_path { "$_[0]{prefix}/logs/error.log" }

# A free loopback TCP port, the same one for the same index in this test.
sub port {
    my ($self, $n) = @_;

    return $self->{ports}{$n} if defined $self->{ports}{$n};

    my %taken = map { $_ => 1 } values %{ $self->{ports} };

    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 0)
            or croak "cannot bind a loopback port: $!";
        my $port = $s->sockport;
        close $s;
        next if $taken{$port};
        return $self->{ports}{$n} = $port;
    }

    croak 'no free port found';
}


###########################################################################
# configuration

sub write_config {
    my ($self, $text) = @_;

    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%PREFIX%%/$self->{prefix}/g;
    $text =~ s/%%STORE%%/$self->{store}/g;
    $text =~ s/%%MODULE%%/module_path()/ge;
    $text =~ s/%%DNS%%/$self->dns_port/ge;
    $text =~ s/%%SILENT%%/$self->silent_udp/ge;
    $text =~ s/%%REFUSED%%/$self->refusing_udp/ge;

    croak "unknown placeholder in config: $1" if $text =~ /(%%\w+%%)/;

    _write_file("$self->{prefix}/conf/nginx.conf", $text);
    $self->{config} = $text;

    return $text;
}

# A working configuration.  Each linkcert directive's argument can be
# changed, or the directive left out by passing undef:
#   zone => 'linkcert:4m', store => '%%STORE%%', linkcert => 'on',
#   api_key => '%%PREFIX%%/api.key', cache_size => undef (left out)
# and: workers => 2, user => 'root' (of the workers), log_level => 'debug',
# http => extra http-level lines,
# server => extra lines in the main server, servers => extra server blocks.
sub standard_config {
    my ($self, %opts) = @_;

    my %d = (
        zone       => 'linkcert:4m',
        store      => '%%STORE%%',
        api_key    => '%%PREFIX%%/api.key',
        linkcert   => 'on',
        cache_size => undef,
        %opts,
    );

    my $workers = $opts{workers} // 2;
    my $user = $opts{user} // 'root';
    my $level = $opts{log_level} // $ENV{LINKCERT_LOG_LEVEL} // 'debug';
    my $http = $opts{http} // '';
    my $server = $opts{server} // '';
    my $servers = $opts{servers} // '';

    my $directive = sub {
        my ($name, $key) = @_;
        return defined $d{$key} ? "$name $d{$key};" : '';
    };

    my $zone = $directive->('linkcert_zone', 'zone');
    my $store = $directive->('linkcert_store', 'store');
    my $api_key = $directive->('linkcert_api_key', 'api_key');
    my $cache = $directive->('linkcert_cache_size', 'cache_size');
    my $linkcert = $directive->('linkcert', 'linkcert');

    return <<"EOF";
load_module %%MODULE%%;

daemon off;
master_process on;
worker_processes $workers;
user $user;

error_log logs/error.log $level;
pid logs/nginx.pid;

events {
    worker_connections 1024;
}

http {
    access_log off;

    client_body_temp_path %%PREFIX%%/tmp/body;
    proxy_temp_path %%PREFIX%%/tmp/proxy;
    fastcgi_temp_path %%PREFIX%%/tmp/fastcgi;
    uwsgi_temp_path %%PREFIX%%/tmp/uwsgi;
    scgi_temp_path %%PREFIX%%/tmp/scgi;

    $zone
    $store
    $api_key
    $cache
$http

    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        listen 127.0.0.1:%%PORT_1%%;
        server_name _;

        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate fallback.crt;
        ssl_certificate_key fallback.key;

        $linkcert
$server

        location / {
            return 200 "tracker\\n";
        }
    }
$servers
}
EOF
}


###########################################################################
# the nginx process

sub run {
    my ($self) = @_;

    croak 'nginx is already running' if $self->{pid};
    croak 'write_config first' unless defined $self->{config};

    $self->{log_offset_at_run} = -s $self->error_log_path // 0;

    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        open STDOUT, '>>', "$self->{prefix}/logs/stderr.log";
        open STDERR, '>&', \*STDOUT;
        $self->_asan_env;
        exec(nginx_path(), '-p', "$self->{prefix}/", '-c', 'conf/nginx.conf')
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;

    my @ports = $self->{config} =~ /listen\s+127\.0\.0\.1:(\d+)/g;
    my $workers = $self->_workers_wanted;
    my $deadline = time + 10;

    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            my $status = $?;
            delete $self->{pid};
            croak "nginx exited at start (wait status $status)\n"
                . $self->log_excerpt;
        }

        last if !grep { !_port_open($_) } @ports
                and $self->_worker_count >= $workers;

        if (time > $deadline) {
            my $log = $self->log_excerpt;
            $self->stop;
            croak "nginx did not start in 10 s\n$log";
        }

        sleep 0.05;
    }

    return $self;
}

sub master_pid { $_[0]{pid} }

sub running {
    my ($self) = @_;
    return 0 unless $self->{pid};
    return waitpid($self->{pid}, WNOHANG) == 0 ? 1 : 0;
}

# SIGHUP, then wait until the old workers are gone and new ones run.
sub reload {
    my ($self) = @_;

    croak 'nginx is not running' unless $self->{pid};

    my $offset = -s $self->error_log_path // 0;
    my %old = map { $_ => 1 } $self->_children;
    my $workers = $self->_workers_wanted;

    kill 'HUP', $self->{pid} or croak "kill HUP: $!";

    my $deadline = time + 10;

    while (1) {
        my $new = $self->_log_since($offset);

        croak "reload failed:\n$new" if $new =~ /\[(?:emerg|alert)\]/;
        croak "nginx exited during reload\n" . $self->log_excerpt
            unless $self->running;

        my @now = $self->_children;
        my @fresh = grep { !$old{$_} } @now;

        last if @fresh >= $workers && @fresh == @now;

        croak "reload did not finish in 10 s\n" . $self->log_excerpt
            if time > $deadline;

        sleep 0.05;
    }

    return $self;
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return;

    local $?;

    for my $step (['QUIT', 10], ['TERM', 5], ['KILL', 5]) {
        my ($signal, $wait) = @$step;
        kill $signal, $pid;
        my $deadline = time + $wait;
        while (time < $deadline) {
            return $self if waitpid($pid, WNOHANG) != 0;
            sleep 0.05;
        }
        Test::More::diag("nginx did not exit after SIG$signal");
    }

    return $self;
}

# nginx -t on the written config: (exit code, combined output).
sub test_config {
    my ($self) = @_;
    local %ENV = %ENV;
    $self->_asan_env;
    return _capture(nginx_path(), '-t', '-p', "$self->{prefix}/",
                    '-c', 'conf/nginx.conf');
}

sub DESTROY {
    my ($self) = @_;
    $self->stop if $self->{pid};
    $self->stop_helpers if $self->{dns_pid} || $self->{refusing_pid};
}

END {
    my $failed = $? != 0 || !Test::More->builder->is_passing;

    for my $t (@INSTANCES) {
        Test::More::diag($t->log_excerpt) if $failed;
        $t->stop;
        $t->stop_helpers;
        $? = 1 if $t->_asan_reports;
    }
}

# With LINKCERT_ASAN, the reports AddressSanitizer wrote, and UBSan's
# "runtime error" lines (it writes them to stderr, which nginx sends to
# the error log), printed.
sub _asan_reports {
    my ($self) = @_;

    return 0 unless $ENV{LINKCERT_ASAN};

    my @reports = glob("$self->{prefix}/logs/asan.*");
    Test::More::diag("AddressSanitizer:\n" . _read_file($_)) for @reports;

    my @ub = grep { /: runtime error: |ERROR: AddressSanitizer/ }
             split /\n/, $self->error_log . "\n" . $self->stderr_log;
    Test::More::diag("UBSan:\n" . join("\n", @ub)) if @ub;

    return @reports + @ub;
}

sub _asan_env {
    my ($self) = @_;

    return unless $ENV{LINKCERT_ASAN};

    chomp(my $lib = `gcc -print-file-name=libasan.so`);
    $ENV{LD_PRELOAD} = $lib;
    $ENV{ASAN_OPTIONS} = 'verify_asan_link_order=0:detect_leaks=0'
                         . ":log_path=$self->{prefix}/logs/asan";
    $ENV{UBSAN_OPTIONS} = 'print_stacktrace=1';
}


###########################################################################
# logs

sub error_log {
    my ($self) = @_;
    return _read_file($self->error_log_path) // '';
}

# What nginx wrote to stderr (at start, before the error log is open).
sub stderr_log {
    my ($self) = @_;
    return _read_file("$self->{prefix}/logs/stderr.log") // '';
}

# The error log without debug lines (at most the last 300 lines), and
# whatever nginx wrote to stderr.
sub log_excerpt {
    my ($self) = @_;

    # an entry may span lines (debug dumps of headers): keep them together
    my @entries;
    for my $line (split /\n/, $self->error_log) {
        if (@entries && $line !~ m{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d }) {
            $entries[-1] .= "\n$line";
        } else {
            push @entries, $line;
        }
    }

    my @lines = grep { !/^\S+ \S+ \[debug\]/ } @entries;
    splice @lines, 0, @lines - 300 if @lines > 300;

    return join "\n", "--- error.log (without debug lines) ---", @lines,
        "--- stderr ---", $self->stderr_log;
}

sub _log_since {
    my ($self, $offset) = @_;
    my $log = $self->error_log;
    return length $log > $offset ? substr($log, $offset) : '';
}


###########################################################################
# certificates

sub ca {
    my ($self) = @_;

    return $self->{ca} if $self->{ca};

    my $dir = $self->{certs};
    $self->_genkey("$dir/ca.key", 'ec');
    _openssl('req', '-new', '-config', "$dir/openssl.cnf",
             '-key', "$dir/ca.key", '-subj', '/CN=LinkCert Test CA',
             '-out', "$dir/ca.csr");
    _openssl('ca', '-batch', '-config', "$dir/openssl.cnf", '-selfsign',
             '-keyfile', "$dir/ca.key", '-in', "$dir/ca.csr",
             '-out', "$dir/ca.crt", '-extensions', 'v3_ca', '-notext',
             '-rand_serial', _dates(time - 365 * 86400, time + 3650 * 86400));

    return $self->{ca} = "$dir/ca.crt";
}

# (fullchain path, key path) for a new certificate issued by the test CA.
#   san => [names] (default [$name]), expired => 1, key => 'ec'|'rsa'
sub make_cert {
    my ($self, $name, %opts) = @_;

    my $ca = $self->ca;
    my $dir = $self->{certs};
    my $n = ++$self->{serial};
    my $base = "$dir/$n-" . ($name =~ s/[^\w.-]/_/gr);
    my @san = @{ $opts{san} // [$name] };

    $self->_genkey("$base.key", $opts{key} // 'ec');

    my $cn = length $san[0] <= 64 ? $san[0] : 'linkcert test';
    _openssl('req', '-new', '-config', "$dir/openssl.cnf",
             '-key', "$base.key", '-subj', "/CN=$cn", '-out', "$base.csr");

    _write_file("$base.ext", join "\n",
        'basicConstraints = CA:FALSE',
        'keyUsage = critical, digitalSignature, keyEncipherment',
        'extendedKeyUsage = serverAuth',
        'subjectAltName = ' . join(', ', map { "DNS:$_" } @san), '');

    my @dates = $opts{expired}
        ? _dates(time - 60 * 86400, time - 30 * 86400)
        : _dates(time - 3600, time + 90 * 86400);

    _openssl('ca', '-batch', '-config', "$dir/openssl.cnf",
             '-in', "$base.csr", '-out', "$base.crt", '-extfile', "$base.ext",
             '-notext', '-rand_serial', @dates);

    _write_file("$base.fullchain.pem",
                _read_file("$base.crt") . _read_file($ca));

    return ("$base.fullchain.pem", "$base.key");
}

# Writes store/domains/$name/{fullchain,privkey}.pem.  Options:
#   cert => [$fullchain, $key]    use these files (default: a new cert)
#   key => 'rsa', expired => 1, san => [...]    passed to make_cert
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
        my %cert = (key => $opts{key}, expired => $opts{expired},
                    san => $opts{san});
        $cert{san} = ["not-$name"] if $opts{wrong_name};
        ($chain, $key) = $self->make_cert($name, %cert);
    }

    if ($opts{mismatched_key}) {
        $key = "$self->{certs}/" . ++$self->{serial} . '-other.key';
        $self->_genkey($key, $opts{key} // 'ec');
    }

    my $chain_pem = _read_file($chain);
    my $key_pem = _read_file($key);

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

    _write_file("$dir/fullchain.pem", $chain_pem, 0644)
        unless $opts{missing_chain};
    _write_file("$dir/privkey.pem", $key_pem, 0600)
        unless $opts{missing_key};

    return ("$dir/fullchain.pem", "$dir/privkey.pem");
}

# sha256 of the first certificate's DER, lowercase hex.
sub fingerprint_of_file {
    my ($self, $pem) = @_;
    my $out = _openssl('x509', '-in', $pem, '-noout', '-fingerprint',
                       '-sha256');
    my ($fp) = $out =~ /=([0-9A-F:]+)/i or croak "no fingerprint: $out";
    return lc($fp =~ s/://gr);
}

# The public key (PEM) of a private key file, or of the first certificate
# of a PEM file; openssl's message if the file is not one.
sub pubkey_of_key {
    my ($self, $file) = @_;
    return (_capture('openssl', 'pkey', '-in', $file, '-pubout'))[1];
}

sub pubkey_of_cert {
    my ($self, $file) = @_;
    return (_capture('openssl', 'x509', '-in', $file, '-noout',
                     '-pubkey'))[1];
}

# Serial of the first certificate as openssl prints it (uppercase hex).
sub serial_of_file {
    my ($self, $pem) = @_;
    my $out = _openssl('x509', '-in', $pem, '-noout', '-serial');
    my ($serial) = $out =~ /^serial=([0-9A-F]+)$/m
        or croak "no serial: $out";
    return $serial;
}

# (not_before, not_after) of the first certificate, RFC 3339 UTC.
sub dates_of_file {
    my ($self, $pem) = @_;

    my $out = _openssl('x509', '-in', $pem, '-noout', '-startdate',
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
    _openssl('req', '-x509', '-config', "$self->{certs}/openssl.cnf",
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

    _openssl('genpkey', @alg, '-out', $path);
    chmod 0600, $path;
}

sub _write_openssl_config {
    my ($self) = @_;
    my $dir = $self->{certs};

    _write_file("$dir/index.txt", '');
    _write_file("$dir/serial", "1000\n");
    _write_file("$dir/openssl.cnf", <<"EOF");
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
# clients

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
        fingerprint => _strip_algo($sock->get_fingerprint('sha256')),
        version     => $sock->get_sslversion,
        chain       => [ map { _strip_algo($sock->get_fingerprint('sha256', $_)) }
                         $sock->peer_certificates ],
    );

    $sock->close(SSL_fast_shutdown => 1);

    return \%info;
}

sub _strip_algo {
    my ($fp) = @_;
    return undef unless defined $fp;
    return lc($fp =~ s/^sha256\$//r);
}

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
        $key = $key eq '1' ? $API_KEY : $key eq 'wrong' ? 'wrong-key' : $key;
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

sub uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~*])/sprintf '%%%02X', ord $1/ge;
    return $s;
}


###########################################################################
# files

# { relative path => "mode content" } of every file under $dir.
sub snapshot {
    my ($self, $dir) = @_;
    my %files;
    find({ no_chdir => 1, wanted => sub {
        return unless -f $_;
        my $mode = sprintf '%04o', (stat $_)[2] & 07777;
        $files{ substr($_, length($dir) + 1) } = "$mode " . _read_file($_);
    } }, $dir);
    return \%files;
}

sub _read_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    return scalar <$fh>;
}

# Written via a temporary name and rename(), so a reader never sees half.
sub _write_file {
    my ($path, $content, $mode) = @_;
    my $tmp = "$path.tmp$$";
    open my $fh, '>:raw', $tmp or croak "$tmp: $!";
    print $fh $content;
    close $fh or croak "$tmp: $!";
    chmod $mode, $tmp if defined $mode;
    rename $tmp, $path or croak "rename $tmp: $!";
}


###########################################################################
# processes

# Runs a command; (exit code, stdout and stderr).
sub _capture {
    my (@cmd) = @_;

    pipe my $r, my $w or croak "pipe: $!";
    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        close $r;
        open STDOUT, '>&', $w;
        open STDERR, '>&', $w;
        open STDIN, '<', '/dev/null';
        exec(@cmd) or do {
            print STDERR "exec $cmd[0]: $!\n";
            POSIX::_exit(127);
        };
    }

    close $w;
    my $out = do { local $/; <$r> } // '';
    close $r;
    waitpid $pid, 0;

    return ($? >> 8, $out);
}

sub _openssl {
    my (@args) = @_;
    my ($rc, $out) = _capture('openssl', @args);
    croak "openssl @args failed:\n$out" if $rc != 0;
    return $out;
}

sub _port_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1)
        or return 0;
    close $s;
    return 1;
}

# Live (not zombie) child processes of the master: the workers.
sub _children {
    my ($self) = @_;
    my $master = $self->{pid} or return ();
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my $line = _read_file($stat) // next;
        my ($pid, $state, $ppid) = $line =~ /^(\d+) \(.*\) (\S) (\d+)/s
            or next;
        push @pids, $pid if $ppid == $master && $state ne 'Z';
    }
    return @pids;
}

sub _worker_count {
    my ($self) = @_;
    my @pids = $self->_children;
    return scalar @pids;
}

sub _workers_wanted {
    my ($self) = @_;
    return 0 if $self->{config} =~ /^\s*master_process\s+off/m;
    my ($n) = $self->{config} =~ /^\s*worker_processes\s+(\d+)/m;
    return $n // 1;
}


###########################################################################
# DNS: a pebble-challtestsrv mock server and a silent UDP "server"

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
        _die_with_parent($parent);
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

    my $deadline = time + 10;

    # the management port, and the DNS server's TCP side (it binds UDP
    # and TCP on the same address)
    until (_port_open($mgmt) && _port_open($dns)) {
        if (waitpid($pid, WNOHANG) == $pid) {
            my $status = $?;
            delete $self->{dns_pid};
            croak "$bin exited at start (wait status $status):\n"
                . (_read_file($log) // '');
        }
        if (time > $deadline) {
            $self->stop_dns;
            croak "$bin did not start in 10 s:\n" . (_read_file($log) // '');
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

    local $?;

    for my $step (['TERM', 5], ['KILL', 5]) {
        my ($signal, $wait) = @$step;
        kill $signal, $pid;
        my $deadline = time + $wait;
        while (time < $deadline) {
            return $self if waitpid($pid, WNOHANG) != 0;
            sleep 0.05;
        }
    }

    return $self;
}

sub challtestsrv_log {
    my ($self) = @_;
    return _read_file("$self->{prefix}/logs/challtestsrv.log") // '';
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
        _die_with_parent($parent);
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

# In a helper child: SIGKILL when the test process goes away without its
# END block (killed, SIGPIPE), so that no helper outlives it.  Linux
# x86_64 prctl(PR_SET_PDEATHSIG); elsewhere nothing.
sub _die_with_parent {
    my ($parent) = @_;
    require Config;
    return unless $Config::Config{archname} =~ /^x86_64-linux/;
    syscall(157, 1, 9);
    # the parent may have gone before prctl()
    POSIX::_exit(1) if getppid() != $parent;
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
        if (($self->{refusing_owner} // 0) == $$) {
            local $?;
            kill 'KILL', $pid;
            waitpid $pid, 0;
        }
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

    return $self->{ports}{$n} if defined $self->{ports}{$n};

    my %taken = map { $_ => 1 } values %{ $self->{ports} };

    for (1 .. 50) {
        my $u = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'udp')
            or croak "cannot bind a loopback UDP port: $!";
        my $port = $u->sockport;
        next if $taken{$port};
        my $tcp = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                        LocalPort => $port, Proto => 'tcp',
                                        Listen => 1, ReuseAddr => 0)
            or next;
        close $tcp;
        close $u;
        return $self->{ports}{$n} = $port;
    }

    croak 'no free UDP+TCP port found';
}


###########################################################################
# DNS verification: configuration and the POST side of the status API

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

# POST /.well-known/ssl-status?domain=$domain ("Verify domain"), with the
# key unless key => ... says otherwise; other options as for http().
sub verify {
    my ($self, $domain, %opts) = @_;
    return $self->http(POST => '/.well-known/ssl-status?domain='
                       . uri_escape($domain), key => 1, %opts);
}

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

# The error log's "worker process N exited on signal S" lines since run(),
# read incrementally (cheap to call often).  A crashing worker at debug
# level writes megabytes a second: the waits below stop at the first one.
sub crash_lines {
    my ($self) = @_;

    my $path = $self->error_log_path;
    my $size = -s $path // 0;
    my $from = $self->{crash_scan_offset} //= $self->{log_offset_at_run} // 0;
    $from = 0 if $from > $size;

    if ($size > $from and open my $fh, '<:raw', $path) {
        seek $fh, $from, 0;
        my $tail = $self->{crash_scan_tail} // '';
        while (read $fh, my $buf, 1 << 20) {
            my $text = $tail . $buf;
            my $cut = rindex $text, "\n";
            $tail = $cut < 0 ? $text : substr $text, $cut + 1;
            next if $cut < 0;
            my $lines = substr $text, 0, $cut;
            push @{ $self->{crash_lines} }, $1
                while $lines =~ /^(.*exited on signal.*)$/mg;
        }
        $self->{crash_scan_tail} = length $tail > 4096 ? '' : $tail;
        $self->{crash_scan_offset} = tell $fh;
        close $fh;
    }

    return @{ $self->{crash_lines} // [] };
}

# Workers that crash are restarted by the master at once, and at debug
# level each one logs a lot: stop nginx (the test has failed anyway), so
# that the rest of the file fails fast and the log stays readable.
sub _stop_crashing {
    my ($self) = @_;
    return unless $self->{pid};
    Test::More::diag('stopping nginx: its workers crash');
    $self->stop;
}

# A test: no worker crashed since run().
# A worker the test killed itself (SIGKILL) is not a crash: waits (at most
# 5 s) for the master's "exited on signal 9" line of $pid and drops it
# from crash_lines.  Returns whether it was seen.
sub killed_ok {
    my ($self, $pid) = @_;
    my $deadline = time + 5;
    until (grep { /process $pid exited on signal 9\b/ } $self->crash_lines) {
        return 0 if time > $deadline;
        sleep 0.05;
    }
    $self->{crash_lines} = [ grep { !/process $pid exited on signal 9\b/ }
                             @{ $self->{crash_lines} } ];
    return 1;
}

sub no_crash_ok {
    my ($self, $name) = @_;
    my @lines = $self->crash_lines;
    my $ok = Test::More::ok(!@lines, $name // 'no worker crashed');
    if (@lines) {
        Test::More::diag(scalar(@lines) . " crashes, the first: $lines[0]");
        $self->_stop_crashing;
    }
    return $ok;
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

# The worker processes' pids (sorted).
sub worker_pids {
    my ($self) = @_;
    return sort { $a <=> $b } $self->_children;
}

# Number of open file descriptors of a process (entries of /proc/PID/fd);
# undef if it cannot be read.
sub fd_count {
    my ($self, $pid) = @_;
    opendir my $dh, "/proc/$pid/fd" or return undef;
    my $n = grep { !/^\.\.?$/ } readdir $dh;
    closedir $dh;
    return $n;
}

# The targets of the open file descriptors of a process (readlink of
# /proc/PID/fd/*): { fd => "socket:[123]" ... }.
sub fd_targets {
    my ($self, $pid) = @_;
    opendir my $dh, "/proc/$pid/fd" or return {};
    my %fds = map { $_ => readlink("/proc/$pid/fd/$_") // '?' }
              grep { /^\d+$/ } readdir $dh;
    closedir $dh;
    return \%fds;
}


###########################################################################
# on demand: many clients at once, ClientHellos by hand, held sockets

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

# $n TLS handshakes for $sni started at once from this process: all the
# TCP connections are opened first (non-blocking), then each handshake is
# driven by select() (IO::Socket::SSL start_SSL + connect_SSL, following
# SSL_WANT_READ / SSL_WANT_WRITE), so that every ClientHello is on its way
# before the first answer.  Returns one hash per connection, in the order
# they were opened:
#   { ok, fingerprint (sha256, lowercase hex), version, elapsed (s, from
#     its connect() to the end of its handshake), hello (s, from its
#     connect() to its ClientHello being written), error }
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
            $c->{fingerprint} = _strip_algo($c->{sock}->get_fingerprint('sha256'));
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

    return map { { %$_{qw(ok fingerprint version elapsed hello error)} } } @c;
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

# The socket of a worker for a connection we made to nginx's port
# $self->port($index) (default 0) from 127.0.0.1:$client_port:
# { pid, fd, inode, state } from /proc/net/tcp and /proc/PID/fd, or undef.
sub server_socket_of {
    my ($self, $client_port, $index) = @_;

    my $server_port = $self->port($index // 0);

    my %states = ('01' => 'ESTABLISHED', '06' => 'TIME_WAIT',
                  '07' => 'CLOSE', '08' => 'CLOSE_WAIT', '09' => 'LAST_ACK');
    my %by_inode;

    open my $fh, '<', '/proc/net/tcp' or return undef;
    <$fh>;
    while (my $line = <$fh>) {
        my @f = split ' ', $line;
        my ($lport) = $f[1] =~ /:([0-9A-F]{4})$/ or next;
        my ($rport) = $f[2] =~ /:([0-9A-F]{4})$/ or next;
        next unless hex($rport) == $client_port
                    && hex($lport) == $server_port && $f[9];
        $by_inode{ $f[9] } = $states{ $f[3] } // $f[3];
    }
    close $fh;

    for my $pid ($self->worker_pids) {
        my $fds = $self->fd_targets($pid);
        for my $fd (keys %$fds) {
            my ($inode) = $fds->{$fd} =~ /^socket:\[(\d+)\]$/ or next;
            next unless exists $by_inode{$inode};
            return { pid => $pid, fd => $fd, inode => $inode,
                     state => $by_inode{$inode} };
        }
    }

    return undef;
}

# Whether the worker still has that socket open (the fd of
# server_socket_of still names the same inode).
sub socket_still_open {
    my ($self, $sock) = @_;
    my $target = readlink "/proc/$sock->{pid}/fd/$sock->{fd}";
    return defined $target && $target eq "socket:[$sock->{inode}]" ? 1 : 0;
}

1;
