#!/usr/bin/env bash
# Boot the built kernel with a busybox initramfs holding the static KVM
# selftests named in the test list, and run them, on one leg (see ALL_LEGS
# in lib.sh):
#   LEG=amd           QEMU's emulator (or KVM), nested SVM with NPT (default)
#   LEG=amd-debug     the same with the kernel of $OBJ built with DEBUG=1
#   LEG=intel         Bochs, VMX with EPT, two CPUs on one host thread
#   LEG=intel-eptad0  the same with kvm_intel.eptad=0
# The selftests come from $KSELFTEST (default $OBJ/kselftest), so that a
# debug kernel runs the same test binaries.
# Writes, in $RESULTS:
#   console.log   the guest's serial console (kernel log and test output)
#   results.tap   TAP from the guest, one line per test
# and prints each test's result as it arrives.  The exit code is the
# emulator's (0 for Bochs, which the runner stops itself); the verdict is
# report.sh's and scan-log.sh's.
#
# GUEST_CMDLINE adds to the guest kernel's command line.
# REQUIRES overrides what the tests are told the kernel has (lib.sh,
# leg_requires); REQUIRES= tells them nothing, for a kernel without the series.
# ACCEL=kvm|tcg forces QEMU's accelerator on the amd leg; by default KVM is
# used when /dev/kvm is usable and the host CPU has SVM or VMX to expose,
# else QEMU's emulator with nested SVM and NPT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LEG=${LEG:-amd}
KSELFTEST=${KSELFTEST:-$OBJ/kselftest}
leg_emulator "$LEG" >/dev/null
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
# For one leg.  Bochs's guest clock follows its instruction count, which
# runs slower than the wall clock when the host is busy: its legs get twice
# as long.
if [ "$(leg_emulator "$LEG")" = bochs ]; then
	RUN_TIMEOUT=${RUN_TIMEOUT:-3600}
else
	RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
fi
# QEMU only; Bochs gets BOCHS_MEM (MiB).
VM_MEM=${VM_MEM:-4G}
VM_CPUS=${VM_CPUS:-2}
# QEMU's multi-threaded TCG (Debian 12's QEMU 7.2) corrupts nested SVM state
# when two guest CPUs run nested guests with several vCPUs that exit often: an
# L2 vCPU resumed with its L1's registers, hangs and L1 crashes, on the
# unpatched base too.  One TCG thread runs those cleanly, but some other tests
# (memslot_perf_test) stall with it; 'make bench' uses it for the multi-vCPU
# stress, 'make check' keeps the multi-threaded default.
TCG_THREAD=${TCG_THREAD:-multi}
# Bochs: the CPU model and topology that boot the guest kernel without a
# warning (corei7_icelake_u's CPUID gives an XSAVE size that does not match
# its AVX-512 state, and "count=2" a topology that the kernel warns about),
# and the guest's speed in instructions per second, which with
# "clock: sync=none" is what the guest's clock follows.
# reset_on_triple_fault=0: a triple fault of the guest stops Bochs, instead
# of a reset that would boot the guest and run the list a second time.
BOCHS_CPU=${BOCHS_CPU:-model=corei7_haswell_4770, count=1:2:1, ips=40000000, reset_on_triple_fault=0}

usage() {
	echo "usage: $0"
	echo "Runs the tests of ${TEST_LIST#"$TOP"/} on $OBJ/arch/x86/boot/bzImage."
	echo "Environment: LEG=${ALL_LEGS// /|} ($LEG), KSELFTEST ($KSELFTEST), TEST_LIST, TEST_TIMEOUT ($TEST_TIMEOUT s), RUN_TIMEOUT ($RUN_TIMEOUT s),"
	echo "REQUIRES, ACCEL, VM_MEM, VM_CPUS, TCG_THREAD ($TCG_THREAD), BOCHS_CPU ($BOCHS_CPU)."
	exit 2
}

find_test() {
	local name=$1 dir=$KSELFTEST/kvm
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
	grep -v -e '^#' -e '^$' "$KUNIT_LIST" >"$RESULTS/kunit.list" || true
	cp "$RESULTS/tests.list" "$root/tests.list"
	# REQUIRES= (empty) runs a kernel that lacks them, e.g. the base.
	echo "${REQUIRES-$(leg_requires "$LEG")}" >"$root/requires"
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
			echo "kcm: no test result for ${limit}s; the guest is stuck, killing the emulator" >>"$RESULTS/console.log"
			warn "no test result for ${limit}s; the guest is stuck (see console.log), killing the emulator"
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

# boot_qemu: start QEMU in the background (amd leg); sets vm_pid.
boot_qemu() {
	local accel accel_args
	accel=$(choose_accel)
	case $accel in
	kvm) accel_args=(-accel kvm -cpu host) ;;
	tcg) accel_args=(-accel "tcg,thread=$TCG_THREAD" -cpu EPYC,+svm,+npt) ;;
	*) die "ACCEL=$accel: use kvm or tcg" ;;
	esac
	echo "$accel" >"$RESULTS/accel"
	step "booting $(basename "$kernel") with QEMU ($accel), running $ntests tests (console: ${RESULTS#"$TOP"/}/console.log)"
	timeout -k 10 "$RUN_TIMEOUT" qemu-system-x86_64 "${accel_args[@]}" \
		-smp "$VM_CPUS" -m "$VM_MEM" -kernel "$kernel" \
		-initrd "$RESULTS/initramfs.cpio.gz" -append "$cmdline" \
		-display none -monitor none -no-reboot \
		-serial "file:$RESULTS/console.log" \
		-chardev "file,id=tap,path=$RESULTS/results.raw" -serial chardev:tap \
		</dev/null 2>"$RESULTS/qemu.log" &
	vm_pid=$!
}

# boot_bochs: start Bochs in the background (intel leg), from an ISO that
# isolinux boots; sets vm_pid.  The guest cannot power Bochs off, so its
# init waits (kcm_stop=wait) and stop_when_done ends Bochs.
boot_bochs() {
	local iso=$RESULTS/iso
	rm -rf "$iso"
	mkdir -p "$iso/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
	cp "$kernel" "$iso/bzImage"
	cp "$RESULTS/initramfs.cpio.gz" "$iso/initrd.gz"
	printf 'default linux\nprompt 0\ntimeout 0\nlabel linux\n  kernel /bzImage\n  append initrd=/initrd.gz %s kcm_stop=wait\n' \
		"$cmdline" >"$iso/isolinux/isolinux.cfg"
	genisoimage -quiet -o "$RESULTS/boot.iso" -b isolinux/isolinux.bin \
		-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$iso"
	cat >"$RESULTS/bochsrc" <<-EOF
		cpu: $BOCHS_CPU
		memory: guest=$BOCHS_MEM, host=$BOCHS_MEM
		clock: sync=none, time0=1767225600
		romimage: file=/usr/share/bochs/BIOS-bochs-latest
		vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
		ata0-master: type=cdrom, path=$RESULTS/boot.iso, status=inserted
		boot: cdrom
		com1: enabled=1, mode=file, dev=$RESULTS/console.log
		com2: enabled=1, mode=file, dev=$RESULTS/results.raw
		display_library: rfb, options="timeout=0"
		sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
		speaker: enabled=0
		log: $RESULTS/bochs.log
		panic: action=fatal
		error: action=report
		info: action=ignore
		debug: action=ignore
	EOF
	# Bochs starts in its debugger; "c" lets the machine run.
	echo c >"$RESULTS/bochs.rc"
	step "booting $(basename "$kernel") with Bochs (${BOCHS_CPU%%,*}), running $ntests tests (console: ${RESULTS#"$TOP"/}/console.log)"
	timeout -k 10 "$RUN_TIMEOUT" bochs -q -f "$RESULTS/bochsrc" -rc "$RESULTS/bochs.rc" \
		</dev/null >"$RESULTS/bochs.out" 2>&1 &
	vm_pid=$!
	stop_when_done "$vm_pid" &
}

# stop_when_done PID: end the emulator once the guest reported its last
# result ("# done"), or panicked (panic=-1 reboots it, and Bochs has no
# -no-reboot), leaving it a moment to flush the console.
stop_when_done() {
	local pid=$1
	while kill -0 "$pid" 2>/dev/null; do
		if grep -q '^# done' "$RESULTS/results.raw" 2>/dev/null ||
			grep -q 'Kernel panic' "$RESULTS/console.log" 2>/dev/null; then
			sleep 3
			touch "$RESULTS/stopped"
			kill "$pid" 2>/dev/null
			return
		fi
		sleep 2
	done
}

[ $# -eq 0 ] || usage
# Nothing of an earlier run may survive into this one's report, even if
# this run stops before the guest boots.
mkdir -p "$RESULTS"
rm -rf "$RESULTS/qemu.log" "$RESULTS/console.log" "$RESULTS/results.tap" \
	"$RESULTS/results.ktap" "$RESULTS/results.raw" "$RESULTS/stopped" \
	"$RESULTS/bochs.log" "$RESULTS/bochs.out" "$RESULTS/tests.list" \
	"$RESULTS/skipok"
kernel=$OBJ/arch/x86/boot/bzImage
[ -f "$kernel" ] || die "no kernel at $kernel; run 'make' first"
if leg_debug "$LEG" && ! grep -qx 'CONFIG_KASAN=y' "$OBJ/.config"; then
	die "the $LEG leg boots the debug kernel, and $OBJ is not one: OBJ=build/obj-debug (make DEBUG=1)"
fi
BOCHS_MEM=${BOCHS_MEM:-2048}
# One space between words, and no globbing of the user's GUEST_CMDLINE.
read -ra words <<<"console=ttyS0 panic=-1 oops=panic loglevel=7 $(leg_cmdline "$LEG") ${GUEST_CMDLINE:-}"
cmdline="${words[*]}"
make_initramfs
ntests=$(grep -c . "$RESULTS/initramfs/tests.list" || true)
[ "$ntests" -gt 0 ] || die "the test list has no test for the $LEG leg"
# The longest per-test timeout, plus time to boot and to start the next test;
# twice that on Bochs (see RUN_TIMEOUT).
stall_limit=$(($(awk '{ print $1 }' "$RESULTS/tests.list" | sort -n | tail -n 1) + 120))
[ "$(leg_emulator "$LEG")" != bochs ] || stall_limit=$((stall_limit * 2))
start_time=$(date +%s)
: >"$RESULTS/results.raw"
case $(leg_emulator "$LEG") in
qemu) boot_qemu ;;
bochs) boot_bochs ;;
esac
set +e
tail -n +1 -F --pid="$vm_pid" "$RESULTS/results.raw" 2>/dev/null | show_progress &
progress_pid=$!
watchdog "$vm_pid" "$stall_limit" &
watchdog_pid=$!
wait "$vm_pid"
rc=$?
wait "$progress_pid"
kill "$watchdog_pid" 2>/dev/null
set -e
[ ! -f "$RESULTS/stopped" ] || rc=0
if [ "$rc" = 124 ]; then
	warn "the guest did not finish within RUN_TIMEOUT=${RUN_TIMEOUT}s; killed it"
fi
exit "$rc"
