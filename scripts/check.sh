#!/usr/bin/env bash
# 'make check': series checks, the tooling's own tests, the build if needed,
# then the KVM selftests of the test list in a QEMU guest, with the guest's
# log scanned.  The last line is "N passed, N failed, N skipped" for the
# selftests (the log scan counts as one); the exit code is non-zero on any
# failure in any phase.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: $0"
	echo "Environment: DEBUG=1 (debug kernel), KCONFIG=path, TEST_LIST=file, ACCEL=kvm|tcg."
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
set +e
"$TOP/scripts/run-vm.sh"
vm_rc=$?
set -e
[ "$vm_rc" = 0 ] || warn "QEMU exited with $vm_rc"
step "results ($((SECONDS - t0))s in all)"
"$TOP/scripts/report.sh" "$RESULTS"
