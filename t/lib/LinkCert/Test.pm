# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
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
#   $t->write_config(<<'EOF');        # or $t->standard_config(...)
#   ...
#   EOF
#   $t->run;
#   is($t->handshake('a.example.test'), $t->fingerprint_of_file(...));
#
# A test's one object; its methods come from small modules:
#   LinkCert::Nginx   the config, the nginx process, its logs and workers
#   LinkCert::API     HTTP requests, the status API, waits on a status
#   LinkCert::TLS     the test CA, certificates, the store, handshakes
#   LinkCert::DNS     pebble-challtestsrv, silent and refusing DNS servers
# and, beside it, LinkCert::Pebble (the ACME server), LinkCert::StubCA
# (an ACME server of the test's own, for what Pebble does not do) and
# LinkCert::Config (nginx -t of one config); LinkCert::Util holds the
# plain functions they share.
#
# Environment: LINKCERT_KEEP=1 (keep the temporary prefix and print where
# it is); see LinkCert::Nginx and LinkCert::DNS for the others.

use strict;
use warnings;

use Carp qw(croak);
use Fcntl qw(:flock);
use File::Find qw(find);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Test::More ();
use Time::HiRes qw(sleep time);

use LinkCert::Util qw(read_file write_file);
use LinkCert::Nginx;
use LinkCert::API;
use LinkCert::TLS;
use LinkCert::DNS;

our @ISA = qw(LinkCert::Nginx LinkCert::API LinkCert::TLS LinkCert::DNS);

my $API_KEY = 's3cret-key';

# Strong references: a test's file-scoped "my $t" is already freed when END
# blocks run, and END must still print the log and stop nginx.
my @INSTANCES;

# The functions of the former single module, by their old names, for
# tests that call them as LinkCert::Test::name(...).
{
    no strict 'refs';
    *{"LinkCert::Test::$_"} = \&{"LinkCert::Nginx::$_"}
        for qw(module_path nginx_path);
    *{"LinkCert::Test::$_"} = \&{"LinkCert::API::$_"}
        for qw(rfc3339_re uri_escape _parse_response);
    *{"LinkCert::Test::_$_"} = \&{"LinkCert::Util::$_"}
        for qw(read_file write_file capture openssl port_open
               die_with_parent strip_algo);
}


###########################################################################
# construction

sub new {
    my ($class) = @_;

    my $module = LinkCert::Nginx::module_path();
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

    write_file("$prefix/api.key", "$API_KEY\n", 0600);
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

# Ports.  A port found free and closed again is given to a server a moment
# later; meanwhile, if it is in the kernel's ephemeral range, any outgoing
# connection may take it as its source port, and another test running at
# the same time (prove -j) may find it free too: both happened ("bind()
# failed (98: Address already in use)").  So ports are picked at random
# below the ephemeral range, where no outgoing connection goes, and each
# is held by an flock on a file for the life of this process: no other
# test process picks it, nor this one twice (t/60 runs two nginx side by
# side).  reserve_port($free): a port for which $free->($port) is true.
my $PORT_LOCKS = '/tmp/linkcert-test-ports';
my %PORT_LOCK;

sub _ephemeral_low {
    my $range = read_file('/proc/sys/net/ipv4/ip_local_port_range') // '';
    my ($low) = $range =~ /^\s*(\d+)/;
    return $low // 32768;
}

sub reserve_port {
    my ($free) = @_;

    my $high = _ephemeral_low() - 1;
    my $low = $high > 12000 ? 10000 : 1024;

    mkdir $PORT_LOCKS;

    for (1 .. 500) {
        my $port = $low + int rand($high - $low + 1);
        next if $PORT_LOCK{$port};
        open my $fh, '>', "$PORT_LOCKS/$port" or next;
        next unless flock $fh, LOCK_EX | LOCK_NB;
        next unless $free->($port);
        $PORT_LOCK{$port} = $fh;
        return $port;
    }

    croak 'no free port found';
}

# A free loopback TCP port, the same one for the same index in this test.
sub port {
    my ($self, $n) = @_;

    return $self->{ports}{$n} //= reserve_port(sub {
        IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $_[0],
                              Proto => 'tcp', Listen => 1, ReuseAddr => 0)
    });
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


###########################################################################
# files and waiting

# { relative path => "mode content" } of every file under $dir.
sub snapshot {
    my ($self, $dir) = @_;
    my %files;
    find({ no_chdir => 1, wanted => sub {
        return unless -f $_;
        my $mode = sprintf '%04o', (stat $_)[2] & 07777;
        $files{ substr($_, length($dir) + 1) } = "$mode " . read_file($_);
    } }, $dir);
    return \%files;
}

# $t->wait_until(sub { ... }, $timeout, $step): LinkCert::Util::wait_until.
sub wait_until {
    my ($self, @args) = @_;
    return LinkCert::Util::wait_until(@args);
}

1;
