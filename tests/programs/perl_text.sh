#!/bin/sh
# perl_text.sh: a perl script heavy on hashes, arrays, regexes, sorting
# and string building (Debian's perl uses the system malloc); its output
# must be identical natively and preloaded.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

cat >"$pm_tmp/text.pl" <<'PERL'
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);

my $x = 17;
my (@lines, %count, %by_len);
for my $i (1 .. 60000) {
  $x = ($x * 1103515245 + 12345) % 2147483648;
  my @words = map { join '', ('a' .. 'z')[ ($x >> $_) % 26, ($x >> ($_ + 5)) % 26, $_ % 26 ] } 0 .. ($x % 12);
  my $line = join ' ', @words, $i;
  push @lines, $line;
  $count{$_}++ for @words;
  push @{ $by_len{ length $line } }, $i;
}
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 9];
print "words ", scalar(keys %count), " top @top\n";
my $text = join "\n", @lines;
(my $upper = $text) =~ s/\b([a-m])(\w*)/\U$1\E$2/g;
my @vowels = $text =~ /[aeiou]{3,}/g;
my %nested;
for my $line (@lines[0 .. 19999]) {
  my ($first, @rest) = split / /, $line;
  $nested{ substr($first, 0, 2) }{ scalar @rest } .= reverse($first);
}
my $nested_digest = md5_hex(join ',', map { my $k = $_; map { "$k:$_:$nested{$k}{$_}" } sort keys %{ $nested{$k} } } sort keys %nested);
print "lengths ", scalar(keys %by_len), " longest ", (sort { $b <=> $a } keys %by_len)[0], "\n";
print "upper ", md5_hex($upper), "\n";
print "vowel runs ", scalar(@vowels), "\n";
print "nested ", scalar(keys %nested), " $nested_digest\n";
my @sorted = sort { length($a) <=> length($b) || $a cmp $b } @lines;
print "sorted ", md5_hex(join '', @sorted[0 .. 999]), "\n";
my $s = '';
$s .= sprintf('%05d|', $_ * 37 % 99991) for 1 .. 100000;
print "built ", length($s), " ", md5_hex($s), "\n";
PERL

tap_plan 3
tap_same_output "perl hashes, arrays, regexes" perl "$pm_tmp/text.pl"
sed 's/^/# /' "$pm_tmp/preloaded.out"
tap_stats "perl" 200000
tap_done
