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

# The ports given in this process, to every instance (t/60 runs two nginx
# side by side): the kernel may give a port it has just freed again.
# _taken($port): whether $port was given already; it is from now on.
my %TAKEN;

sub _taken { return $TAKEN{ $_[-1] }++ }

# A free loopback TCP port, the same one for the same index in this test,
# never one given before in this process.
sub port {
    my ($self, $n) = @_;

    return $self->{ports}{$n} if defined $self->{ports}{$n};

    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 0)
            or croak "cannot bind a loopback port: $!";
        my $port = $s->sockport;
        close $s;
        next if _taken($port);
        return $self->{ports}{$n} = $port;
    }

    croak 'no free port found';
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
