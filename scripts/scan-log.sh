#!/usr/bin/env bash
# Scan a guest console log for reports that mean the kernel is unwell, even
# when every test passed: warnings, BUGs, KASAN/KFENCE/UBSAN reports, lockdep
# and RCU reports, stalls, hung tasks, OOM kills, oopses, panics, bugged KVM
# VMs and rules of the software TDX module broken; and a guest that stopped
# before its init printed its last line
# ("kcm: all tests done"), which means it died or hung on the way, or one
# that booted more than once (it reset and ran the list again).  Prints
# the offending lines with their line numbers; exits 1 if there are any, 0 if
# the log is clean.
set -euo pipefail

usage() {
	echo "usage: $0 CONSOLE_LOG"
	exit 2
}
[ $# -eq 1 ] || usage
log=$1
[ -f "$log" ] || { echo "error: no log at $log" >&2; exit 2; }

patterns=(
	'WARNING:'
	'BUG:'
	'kernel BUG at'
	'Oops'
	'general protection fault'
	'KASAN'
	'KFENCE'
	'UBSAN'
	'DEBUG_LOCKS_WARN_ON'
	'possible circular locking dependency'
	'possible recursive locking'
	'inconsistent lock state'
	'suspicious RCU usage'
	'rcu: INFO:'
	'detected stall'
	'soft lockup'
	'hard LOCKUP'
	'blocked for more than'
	'Out of memory'
	'invoked oom-killer'
	'Kernel panic'
	'kvm.*[Bb]ugged'
	'KVM bugged the VM'
	'Call Trace:'
	'tdx_sw: rule broken'
)
regex=$(IFS='|'; echo "${patterns[*]}")
hits=$(tr -d '\r' <"$log" | grep -nE -- "$regex" || true)
# grep -c, not -q: a grep that stopped at the match would kill tr (SIGPIPE)
# on a long log, and pipefail would take that for a missing line.
done_lines=$(tr -d '\r' <"$log" | grep -c '^kcm: all tests done$' || true)
if [ "${done_lines:-0}" -eq 0 ]; then
	hits+="${hits:+$'\n'}end: the guest stopped before its last result (no 'kcm: all tests done')"
fi
# A guest that reset (a triple fault leaves no kernel report) boots again and
# runs the list again; its second pass must not pass for the first.
boots=$(tr -d '\r' <"$log" | grep -c '^kcm: running ' || true)
if [ "$boots" -gt 1 ]; then
	hits+="${hits:+$'\n'}boot: the guest booted $boots times (a reset: panic or triple fault)"
fi
if [ -n "$hits" ]; then
	echo "guest log $log has kernel reports:"
	printf '%s\n' "$hits" | head -n 40 | sed 's/^/    /'
	n=$(printf '%s\n' "$hits" | wc -l)
	[ "$n" -le 40 ] || echo "    ... and $((n - 40)) more lines"
	exit 1
fi
exit 0
