#!/usr/bin/env bash
# Boot the built kernel in QEMU with a busybox initramfs holding the static
# KVM selftests named in the test list, and run them.  Writes, in $RESULTS:
#   console.log   the guest's serial console (kernel log and test output)
#   results.tap   TAP from the guest, one line per test
# and prints each test's result as it arrives.  The exit code is QEMU's; the
# verdict is summary.sh's and scan-log.sh's.
#
# ACCEL=kvm|tcg forces an accelerator; by default KVM is used when /dev/kvm
# is usable and the host CPU has SVM or VMX to expose, else QEMU's emulator
# with nested SVM and NPT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TEST_TIMEOUT=${TEST_TIMEOUT:-300}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
VM_MEM=${VM_MEM:-4G}
VM_CPUS=${VM_CPUS:-2}
# QEMU's multi-threaded TCG (Debian 12's QEMU 7.2) corrupts nested SVM state
# when two guest CPUs run nested guests with several vCPUs that exit often: an
# L2 vCPU resumed with its L1's registers, hangs and L1 crashes, on the
# unpatched base too.  One TCG thread runs those cleanly, but some other tests
# (memslot_perf_test) stall with it; 'make bench' uses it for the multi-vCPU
# stress, 'make check' keeps the multi-threaded default.
TCG_THREAD=${TCG_THREAD:-multi}

usage() {
	echo "usage: $0"
	echo "Runs the tests of ${TEST_LIST#"$TOP"/} on $OBJ/arch/x86/boot/bzImage."
	echo "Environment: TEST_LIST, TEST_TIMEOUT ($TEST_TIMEOUT s), RUN_TIMEOUT ($RUN_TIMEOUT s), ACCEL, VM_MEM, VM_CPUS, TCG_THREAD ($TCG_THREAD)."
	exit 2
}

# The test list as the guest reads it: "TIMEOUT NAME ARGS..." per line.  The
# numbers of the tests marked "noskip" go to $RESULTS/noskip.
guest_test_list() {
	local line timeout n=0
	: >"$RESULTS/noskip"
	while IFS= read -r line; do
		line=${line%%#*}
		set -- $line
		[ $# -gt 0 ] || continue
		n=$((n + 1))
		timeout=$TEST_TIMEOUT
		while [ $# -gt 0 ]; do
			case $1 in
			timeout=*) timeout=${1#timeout=} ;;
			noskip) echo "$n" >>"$RESULTS/noskip" ;;
			*) break ;;
			esac
			shift
		done
		echo "$timeout $*"
	done <"$TEST_LIST"
}

find_test() {
	local name=$1 dir=$OBJ/kselftest/kvm
	for f in "$dir/$name" "$dir/x86_64/$name"; do
		[ -x "$f" ] && echo "$f" && return 0
	done
	die "selftest '$name' (from ${TEST_LIST#"$TOP"/}) was not built; see $OBJ/logs/selftests.log"
}

make_initramfs() {
	local root=$RESULTS/initramfs name applet bin
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,kvm}
	cp /bin/busybox "$root/bin/busybox"
	for applet in $("$root/bin/busybox" --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
	done
	cp "$TOP/scripts/guest/init" "$root/init"
	chmod +x "$root/init"
	guest_test_list >"$RESULTS/tests.list"
	cp "$RESULTS/tests.list" "$root/tests.list"
	while read -r _ name _; do
		bin=$(find_test "$name") || exit 1
		cp "$bin" "$root/kvm/$name"
	done <"$root/tests.list"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$RESULTS/initramfs.cpio.gz"
}

choose_accel() {
	if [ -n "${ACCEL:-}" ]; then
		echo "$ACCEL"
	elif [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'svm|vmx' /proc/cpuinfo; then
		echo kvm
	else
		echo tcg
	fi
}

# watchdog QEMU_PID LIMIT: a guest whose kernel is stuck cannot run its own
# per-test timeout, so kill QEMU when no test has reported for LIMIT seconds.
watchdog() {
	local pid=$1 limit=$2 last now
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		last=$(stat -c %Y "$RESULTS/results.raw" 2>/dev/null || echo "$start_time")
		now=$(date +%s)
		if [ $((now - last)) -gt "$limit" ]; then
			echo "kcm: no test result for ${limit}s; the guest is stuck, killing QEMU" >>"$RESULTS/console.log"
			warn "no test result for ${limit}s; the guest is stuck (see console.log), killing QEMU"
			kill "$pid" 2>/dev/null
			return
		fi
	done
}

# Prints each TAP result line as it arrives, for people.
show_progress() {
	local line
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$RESULTS/results.tap"
		case $line in
		ok* | "not ok"*) printf '    %s\n' "$line" ;;
		esac
	done
}

[ $# -eq 0 ] || usage
kernel=$OBJ/arch/x86/boot/bzImage
[ -f "$kernel" ] || die "no kernel at $kernel; run 'make' first"
mkdir -p "$RESULTS"
rm -f "$RESULTS/qemu.log" "$RESULTS/console.log" "$RESULTS/results.tap" \
	"$RESULTS/results.ktap" "$RESULTS/results.raw"
make_initramfs
accel=$(choose_accel)
case $accel in
kvm) accel_args=(-accel kvm -cpu host) ;;
tcg) accel_args=(-accel "tcg,thread=$TCG_THREAD" -cpu EPYC,+svm,+npt) ;;
*) die "ACCEL=$accel: use kvm or tcg" ;;
esac
echo "$accel" >"$RESULTS/accel"
ntests=$(grep -c . "$RESULTS/initramfs/tests.list" || true)
step "booting $(basename "$kernel") with $accel, running $ntests tests (console: ${RESULTS#"$TOP"/}/console.log)"
# The longest per-test timeout, plus time to boot and to start the next test.
stall_limit=$(($(awk '{ print $1 }' "$RESULTS/tests.list" | sort -n | tail -n 1) + 120))
start_time=$(date +%s)
: >"$RESULTS/results.raw"
set +e
timeout -k 10 "$RUN_TIMEOUT" qemu-system-x86_64 "${accel_args[@]}" \
	-smp "$VM_CPUS" -m "$VM_MEM" -kernel "$kernel" \
	-initrd "$RESULTS/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 oops=panic loglevel=7" \
	-display none -monitor none -no-reboot \
	-serial "file:$RESULTS/console.log" \
	-chardev "file,id=tap,path=$RESULTS/results.raw" -serial chardev:tap \
	</dev/null 2>"$RESULTS/qemu.log" &
qemu_pid=$!
tail -n +1 -F --pid="$qemu_pid" "$RESULTS/results.raw" 2>/dev/null | show_progress &
progress_pid=$!
watchdog "$qemu_pid" "$stall_limit" &
watchdog_pid=$!
wait "$qemu_pid"
rc=$?
wait "$progress_pid"
kill "$watchdog_pid" 2>/dev/null
set -e
if [ "$rc" = 124 ]; then
	warn "the guest did not finish within RUN_TIMEOUT=${RUN_TIMEOUT}s; killed it"
fi
exit "$rc"
