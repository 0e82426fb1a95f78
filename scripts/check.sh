#!/usr/bin/env bash
# 'make check': series checks, the tooling's own tests, the build if needed,
# then the KVM selftests of the test list on each leg, with each guest's log
# scanned.  The legs (lib.sh, ALL_LEGS) run one after the other: amd (QEMU,
# nested SVM + NPT), amd-debug (the same with the DEBUG=1 kernel: KASAN,
# lockdep, PROVE_RCU), intel (Bochs, VMX + EPT), intel-eptad0 (EPT
# without A/D bits) and intel-debug (Bochs with the debug kernel, for the
# TDX tests); LEG="amd intel" runs only those.  The last line is "N
# passed, N failed, N skipped" for the selftests of all legs (each leg's log
# scan counts as one); the exit code is non-zero on any failure in any phase.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: $0"
	echo "Environment: LEG=\"LEG...\" (default: $ALL_LEGS), KCONFIG=path,"
	echo "TEST_LIST=file, ACCEL=kvm|tcg (the amd legs)."
	exit 2
}
[ $# -eq 0 ] || usage
t0=$SECONDS
legs=${LEG:-$ALL_LEGS}
for leg in $legs; do
	leg_emulator "$leg" >/dev/null
done
[ "${DEBUG:-0}" != 1 ] || die "DEBUG=1: the amd-debug leg is the debug kernel; use LEG=amd-debug"

"$TOP/scripts/deps.sh"
"$TOP/scripts/tree.sh" ensure
"$TOP/scripts/lint.sh"
step "testing the tooling"
"$TOP/tests/tooling/run.sh"
"$TOP/scripts/build.sh" all
for leg in $legs; do
	if leg_debug "$leg"; then
		DEBUG=1 OBJ=$BUILD/obj-debug "$TOP/scripts/build.sh" kernel
		break
	fi
done

# One leg after the other, each with its results in $RESULTS/LEG; the
# closing line counts them all.
summaries=()
for leg in $legs; do
	t=$SECONDS
	obj=$OBJ
	! leg_debug "$leg" || obj=$BUILD/obj-debug
	set +e
	# The selftests are the same binaries on every leg: those of $OBJ.
	# (KSELFTEST is set first: a prefix assignment sees the ones before it.)
	KSELFTEST=$OBJ/kselftest LEG=$leg OBJ=$obj RESULTS=$RESULTS/$leg "$TOP/scripts/run-vm.sh"
	vm_rc=$?
	set -e
	[ "$vm_rc" = 0 ] || warn "the $leg leg's emulator exited with $vm_rc"
	step "$leg results ($((SECONDS - t))s)"
	set +e
	out=$("$TOP/scripts/report.sh" "$RESULTS/$leg" "$leg")
	report_rc=$?
	set -e
	printf '%s\n' "$out" | sed '$d'
	summary=$(printf '%s\n' "$out" | tail -n 1 | leg_summary "$leg" "$report_rc")
	summaries+=("$leg: $summary ($((SECONDS - t))s)")
done
step "results ($((SECONDS - t0))s in all)"
for line in "${summaries[@]}"; do
	info "$line"
done
total=$(printf '%s\n' "${summaries[@]}" | sum_legs)
echo "$total"
[[ $total == *" 0 failed,"* ]]
