# Copyright (C) 2026 the linkcert authors; BSD 2-Clause, see LICENSE.
package LinkCert::Util;

# Small functions the harness's modules (and tests) share: files written
# atomically, commands run with their output captured, loopback ports,
# helper children that die with the test, and polling.
#
#   use LinkCert::Util qw(read_file write_file wait_until);

use strict;
use warnings;

use Carp qw(croak);
use Exporter qw(import);
use IO::Socket::INET;
use POSIX ();
use Test::More ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(read_file write_file capture openssl port_open
                    die_with_parent stop_child strip_algo wait_until
                    public_key);

# The contents of a file (raw bytes), or undef if it cannot be read.
sub read_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    return scalar <$fh>;
}

# Written via a temporary name and rename(), so a reader never sees half.
sub write_file {
    my ($path, $content, $mode) = @_;
    my $tmp = "$path.tmp$$";
    open my $fh, '>:raw', $tmp or croak "$tmp: $!";
    print $fh $content;
    close $fh or croak "$tmp: $!";
    chmod $mode, $tmp if defined $mode;
    rename $tmp, $path or croak "rename $tmp: $!";
}

# Runs a command; (exit code, stdout and stderr).
sub capture {
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

sub openssl {
    my (@args) = @_;
    my ($rc, $out) = capture('openssl', @args);
    croak "openssl @args failed:\n$out" if $rc != 0;
    return $out;
}

# The public key (PEM) of a PEM private key ($what 'key') or certificate,
# through a file of dir's.
sub public_key {
    my ($dir, $pem, $what) = @_;
    my $file = "$dir/pub.in";
    write_file($file, $pem, 0600);
    my (undef, $out) = $what eq 'key'
                       ? capture('openssl', 'pkey', '-in', $file, '-pubout')
                       : capture('openssl', 'x509', '-in', $file, '-noout',
                                 '-pubkey');
    unlink $file;
    return $out;
}

sub port_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1)
        or return 0;
    close $s;
    return 1;
}

# In a helper child: SIGKILL when the test process goes away without its
# END block (killed, SIGPIPE), so that no helper outlives it.  Linux
# x86_64 prctl(PR_SET_PDEATHSIG); elsewhere nothing.
sub die_with_parent {
    my ($parent) = @_;
    require Config;
    return unless $Config::Config{archname} =~ /^x86_64-linux/;
    syscall(157, 1, 9);
    # the parent may have gone before prctl()
    POSIX::_exit(1) if getppid() != $parent;
}

sub strip_algo {
    my ($fp) = @_;
    return undef unless defined $fp;
    return lc($fp =~ s/^sha256\$//r);
}

# Ends the child $pid: each [signal, seconds] of @steps in turn (default
# SIGKILL, 5 s) until it has exited and been reaped; with $name, says so
# (diag) each time one was not enough.  Returns whether it exited.
sub stop_child {
    my ($pid, $name, @steps) = @_;

    local $?;

    for my $step (@steps ? @steps : (['KILL', 5])) {
        my ($signal, $wait) = @$step;
        kill $signal, $pid;
        my $deadline = time + $wait;
        while (time < $deadline) {
            return 1 if waitpid($pid, POSIX::WNOHANG()) != 0;
            sleep 0.05;
        }
        Test::More::diag("$name did not exit after SIG$signal")
            if defined $name;
    }

    return 0;
}

# Calls $cond every $step seconds (default 0.05) until it returns true or
# $timeout seconds have passed; returns whether it did.
sub wait_until {
    my ($cond, $timeout, $step) = @_;
    my $deadline = time + $timeout;
    while (1) {
        return 1 if $cond->();
        return 0 if time > $deadline;
        sleep($step // 0.05);
    }
}

1;
