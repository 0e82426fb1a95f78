#!/usr/bin/env bash
# 'make check': series checks, the tooling's own tests, the build if needed,
# then the KVM selftests of the test list on each leg (LEG=amd: QEMU, nested
# SVM + NPT, the default; LEG=intel: Bochs, VMX + EPT; LEG="amd intel"
# runs both, one after the other), with each guest's log scanned.  The last line is "N passed,
# N failed, N skipped" for the selftests of all legs (each leg's log scan
# counts as one); the exit code is non-zero on any failure in any phase.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: $0"
	echo "Environment: LEG=amd|intel|\"amd intel\" (default amd), DEBUG=1 (debug kernel), KCONFIG=path,"
	echo "TEST_LIST=file, ACCEL=kvm|tcg (amd leg)."
	exit 2
}
[ $# -eq 0 ] || usage
t0=$SECONDS

"$TOP/scripts/deps.sh"
"$TOP/scripts/tree.sh" ensure
"$TOP/scripts/lint.sh"
step "testing the tooling"
"$TOP/tests/tooling/run.sh"
"$TOP/scripts/build.sh" all

# One leg after the other, each with its results in $RESULTS/LEG; the
# closing line counts them all.  The intel leg (Bochs) is not in the
# default yet: two of its tests end in RCU stalls there (see
# tests/selftests.list); 'make check LEG=intel' runs it.
legs=${LEG:-amd}
total_pass=0 total_fail=0 total_skip=0
summaries=()
for leg in $legs; do
	set +e
	LEG=$leg RESULTS=$RESULTS/$leg "$TOP/scripts/run-vm.sh"
	vm_rc=$?
	set -e
	[ "$vm_rc" = 0 ] || warn "the $leg leg's emulator exited with $vm_rc"
	step "$leg results"
	set +e
	out=$("$TOP/scripts/report.sh" "$RESULTS/$leg" "$leg")
	set -e
	printf '%s\n' "$out" | sed '$d'
	read -r p _ f _ k _ <<<"$(printf '%s\n' "$out" | tail -n 1)"
	summaries+=("$leg: $p passed, $f failed, $k skipped")
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + k))
done
step "results ($((SECONDS - t0))s in all)"
for line in "${summaries[@]}"; do
	info "$line"
done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
