#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# A stand-in for msgguardd's control socket (HACKING.md, "Control socket"), for
# tests/ctl-client.test: fake-control.pl SOCKET DIR
# Listens on SOCKET (SOCK_SEQPACKET) and answers each connection from the file
# DIR/REQUEST.answer, one message per line, then closes it; a request without a
# file gets "ERROR EINVAL unknown request". Special lines: "@sleep N", "@close"
# (hang up at once), "@hex HEX" (these bytes as one message), "@empty" (an
# empty message). Every request is appended to DIR/requests.log.
use strict;
use warnings;
use IO::Socket::UNIX;
use Socket qw(SOCK_SEQPACKET);

my ($path, $dir) = @ARGV;
die "usage: fake-control.pl SOCKET DIR\n" unless defined $dir;
unlink $path;
my $srv = IO::Socket::UNIX->new(Type => SOCK_SEQPACKET, Local => $path, Listen => 16)
	or die "fake-control: $path: $!\n";
$SIG{TERM} = sub { unlink $path; exit 0 };

sub answer {
	my ($c, $req) = @_;
	my $file = "$dir/$req.answer";
	if ($req !~ /^[a-z]+$/ || !-e $file) {
		$c->send("ERROR EINVAL unknown request");
		return;
	}
	open(my $fh, '<', $file) or die "fake-control: $file: $!\n";
	while (my $line = <$fh>) {
		chomp $line;
		if ($line =~ /^\@sleep (\d+)$/) { sleep $1; }
		elsif ($line eq '@close') { return; }
		elsif ($line =~ /^\@hex ([0-9a-f]+)$/) { $c->send(pack('H*', $1)); }
		elsif ($line eq '@empty') { $c->send(''); }
		else { $c->send($line); }
	}
}

while (my $c = $srv->accept) {
	my $req = '';
	$c->recv($req, 64);
	open(my $log, '>>', "$dir/requests.log") or die "fake-control: log: $!\n";
	print $log "$req\n";
	close $log;
	answer($c, $req);
	close $c;
}
