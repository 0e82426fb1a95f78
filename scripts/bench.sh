#!/usr/bin/env bash
# 'make bench': build if needed, run the benchmarks of tests/bench.list in the
# QEMU guest, and print the tables they report ("bench: " lines of the
# guest's console), which are also kept in $RESULTS/bench.md.  Exits non-zero
# when a benchmark fails its own checks or the guest log has kernel reports.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: $0"
	echo "Environment: as for 'make check'; BENCH_LIST=file (default tests/bench.list)."
	exit 2
}
[ $# -eq 0 ] || usage

export TEST_LIST=${BENCH_LIST:-$TOP/tests/bench.list}
export RESULTS=$OBJ/bench
export RUN_TIMEOUT=${RUN_TIMEOUT:-7200}
# memslot_delete_perf_test maps up to 4GiB in its VM: the guest needs more.
export VM_MEM=${VM_MEM:-12G}
# The multi-vCPU stress needs single-threaded TCG, see run-vm.sh.
export TCG_THREAD=${TCG_THREAD:-single}

"$TOP/scripts/deps.sh"
"$TOP/scripts/tree.sh" ensure
"$TOP/scripts/build.sh" all
set +e
"$TOP/scripts/run-vm.sh"
set -e
step "benchmark results (${RESULTS#"$TOP"/}/bench.md)"
{
	echo "Kernel: $(sed -n 's/.*kcm: running .* on \([^,]*\),.*/\1/p' "$RESULTS/console.log" | head -n 1)"
	echo "Accelerator: $(cat "$RESULTS/accel" 2>/dev/null || echo unknown), $(date -u +%Y-%m-%d)"
	echo
	sed -n 's/\r$//; s/^bench: //p' "$RESULTS/console.log"
} >"$RESULTS/bench.md"
cat "$RESULTS/bench.md"
"$TOP/scripts/bench-plot.py" "$RESULTS/bench.md" "$RESULTS/memslot-delete.svg"
[ ! -f "$RESULTS/memslot-delete.svg" ] || info "plot: ${RESULTS#"$TOP"/}/memslot-delete.svg"
"$TOP/scripts/report.sh" "$RESULTS"
