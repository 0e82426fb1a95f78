#!/usr/bin/env bash
# Tests of the project's own scripts, on a small fake kernel tree so that
# they run in seconds: the export round trip and its reproducibility, the
# refusal to clobber unexported work, the config check, the result summary
# and the guest log scan.  Prints TAP and a closing "N passed, N failed".
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
S=$TOP/scripts

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
n=0 pass=0 fail=0

# check NAME CMD...: one TAP line per check; on failure the command's output.
check() {
	local name=$1
	shift
	n=$((n + 1))
	# Not in an 'if': errexit must stay in force inside the test.
	set +e
	(
		set -eE
		trap 'echo "failed: line $LINENO: $BASH_COMMAND"' ERR
		"$@"
	) >"$WORK/out" 2>&1
	local rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1))
		echo "    ok $n $name"
	else
		fail=$((fail + 1))
		echo "    not ok $n $name"
		sed 's/^/        # /' "$WORK/out" | tail -n 20
	fi
}

# fails CMD...: CMD must exit non-zero.  ('! CMD' would not stop a test
# under errexit.)
fails() {
	if "$@"; then
		echo "expected to fail: $*"
		return 1
	fi
}

# A fake base repository and a fresh checkout environment around it.
setup() {
	local base=$WORK/base
	rm -rf "$WORK/env"
	mkdir -p "$WORK/env"
	export KCM_BASE_REPO=$WORK/base.git TREE=$WORK/env/tree SERIES=$WORK/env/series
	if [ ! -d "$KCM_BASE_REPO" ]; then
		mkdir -p "$base"
		printf 'VERSION = 6\nPATCHLEVEL = 12\n' >"$base/Makefile"
		printf 'int kvm_mmu(void)\n{\n\treturn 0;\n}\n' >"$base/mmu.c"
		# Like Debian's linux-source: everything at the top is ignored.
		printf '/*\n' >"$base/.gitignore"
		git init -q --bare "$KCM_BASE_REPO"
		GIT_DIR=$KCM_BASE_REPO GIT_WORK_TREE=$base git add -A -f
		GIT_DIR=$KCM_BASE_REPO GIT_WORK_TREE=$base git -c user.name=base -c user.email= \
			commit -q -m base
		GIT_DIR=$KCM_BASE_REPO git tag base
	fi
	mkdir -p "$SERIES"
	"$S/tree.sh" create
}

# commit FILE TEXT SUBJECT: a commit in the fake tree.
commit() {
	printf '%s\n' "$2" >>"$TREE/$1"
	git -C "$TREE" add -f "$1"
	git -C "$TREE" -c user.name="Test Author" -c user.email=author@example.org \
		commit -q -s -m "$3" -m "Body of: $3"
}

test_export_round_trip() {
	setup
	commit mmu.c "/* one */" "KVM: x86/mmu: First change"
	commit new.c "int two;" "KVM: x86/mmu: Second change"
	git -C "$TREE" log --format='%an%n%ae%n%s%n%b' -p base..HEAD >"$WORK/before"
	"$S/export.sh"
	[ "$(cat "$SERIES/series")" = "$(printf '0001-KVM-x86-mmu-First-change.patch\n0002-KVM-x86-mmu-Second-change.patch')" ]
	grep -q '^Subject: \[PATCH 0/2\]' "$SERIES/0000-cover-letter.patch"
	grep -q 'KVM: x86/mmu: Second change' "$SERIES/0000-cover-letter.patch"
	FORCE=1 "$S/tree.sh" create
	git -C "$TREE" log --format='%an%n%ae%n%s%n%b' -p base..HEAD >"$WORK/after"
	diff -u "$WORK/before" "$WORK/after"
	[ "$("$S/tree.sh" status)" = synced ]
}

test_export_reproducible() {
	setup
	commit mmu.c "/* one */" "KVM: x86/mmu: First change"
	"$S/export.sh"
	sed -i 's/^This series gives.*/Edited prose that export must keep./' "$SERIES/0000-cover-letter.patch"
	cp -a "$SERIES" "$WORK/first"
	"$S/export.sh"
	diff -r "$WORK/first" "$SERIES"
	grep -q 'Edited prose that export must keep' "$SERIES/0000-cover-letter.patch"
	# A recreated tree (new commit ids, new committer dates) exports the same.
	FORCE=1 "$S/tree.sh" create
	"$S/export.sh"
	diff -r "$WORK/first" "$SERIES"
}

test_refuses_unexported_commit() {
	setup
	commit mmu.c "/* not exported */" "KVM: x86/mmu: Unexported"
	fails "$S/tree.sh" create
	git -C "$TREE" log -1 --format=%s | grep -q Unexported
	[ "$("$S/tree.sh" status)" = unexported ]
}

test_refuses_uncommitted_change() {
	setup
	echo "/* dirty */" >>"$TREE/mmu.c"
	fails "$S/tree.sh" create
	grep -q dirty "$TREE/mmu.c"
}

test_export_refuses_ignored_file() {
	setup
	echo "int new;" >"$TREE/new_file.c"
	git -C "$TREE" add -A
	fails "$S/export.sh" >"$WORK/msg" 2>&1
	grep -q 'new_file.c' "$WORK/msg"
}

test_tree_follows_series() {
	setup
	commit mmu.c "/* one */" "KVM: x86/mmu: First change"
	"$S/export.sh"
	cp -a "$SERIES" "$WORK/one"
	commit mmu.c "/* two */" "KVM: x86/mmu: Second change"
	"$S/export.sh"
	# series/ goes back (say, a 'git checkout' of main); the tree has no
	# work of its own, so 'ensure' follows series/.
	rm -rf "$SERIES" && cp -a "$WORK/one" "$SERIES"
	[ "$("$S/tree.sh" status)" = behind ]
	"$S/tree.sh" ensure
	[ "$(git -C "$TREE" rev-list --count base..HEAD)" = 1 ]
}

test_config_check() {
	printf 'CONFIG_KVM=y\n# CONFIG_FOO is not set\n' >"$WORK/frag"
	printf 'CONFIG_KVM=y\n' >"$WORK/good"
	printf '# CONFIG_KVM is not set\n' >"$WORK/bad"
	fails "$S/build.sh" check-config "$WORK/good" "$WORK/frag"
	printf 'CONFIG_KVM=y\n# CONFIG_FOO is not set\n' >"$WORK/good"
	"$S/build.sh" check-config "$WORK/good" "$WORK/frag"
	fails "$S/build.sh" check-config "$WORK/bad" "$WORK/frag" >"$WORK/msg" 2>&1
	grep -q 'CONFIG_KVM=y' "$WORK/msg"
}

# fake_results DIR: three tests, one passing, one skipped (expected), one
# without result.
fake_results() {
	local dir=$1
	mkdir -p "$dir"
	echo 2 >"$dir/skipok"
	printf '300 a_test\n300 b_test -x 1\n300 c_test\n' >"$dir/tests.list"
	printf 'TAP version 13\n1..3\nok 1 a_test # time=1.0s\nok 2 b_test -x 1 # SKIP exit code 4\n' >"$dir/results.tap"
	printf '[    1.0] Linux version 6.12\nkcm: running 3 tests on 6.12, 2 cpus\nkcm: === RUN 1 a_test\nall good\nkcm: === END 1 a_test rc=0\nkcm: all tests done\n' >"$dir/console.log"
}

test_summary() {
	local dir=$WORK/results
	fake_results "$dir"
	fails "$S/report.sh" "$dir" >"$WORK/msg"
	tail -n 1 "$WORK/msg" | grep -qx '2 passed, 1 failed, 1 skipped'
	grep -q 'FAIL: c_test' "$WORK/msg"
	grep -q '^not ok 3 c_test # no result' "$dir/results.ktap"
	echo 'ok 3 c_test' >>"$dir/results.tap"
	"$S/report.sh" "$dir" >"$WORK/msg"
	tail -n 1 "$WORK/msg" | grep -qx '3 passed, 0 failed, 1 skipped'
}

# A skip that the test list does not expect on the leg fails.
test_unexpected_skip() {
	local dir=$WORK/results
	fake_results "$dir"
	echo 'ok 3 c_test' >>"$dir/results.tap"
	: >"$dir/skipok"
	fails "$S/report.sh" "$dir" >"$WORK/msg"
	tail -n 1 "$WORK/msg" | grep -qx '3 passed, 1 failed, 0 skipped'
	grep -q '^not ok 2 b_test -x 1 # skipped, and the test list does not expect a skip here (exit code 4)' "$dir/results.ktap"
}

# A test that printed its usage text (a bad argument in the list) fails,
# even with exit code 0; the same word elsewhere in the log does not count.
test_usage_text() {
	local dir=$WORK/results
	fake_results "$dir"
	printf 'ok 3 c_test\n' >>"$dir/results.tap"
	printf 'kcm: === RUN 3 c_test\r\nusage: c_test [-x N]\r\nkcm: === END 3 c_test rc=0\r\n' >>"$dir/console.log"
	fails "$S/report.sh" "$dir" >"$WORK/msg"
	grep -q '^not ok 3 c_test # printed its usage text' "$dir/results.ktap"
	fake_results "$dir"
	printf 'ok 3 c_test\n' >>"$dir/results.tap"
	printf 'usage: not in a test\nkcm: === RUN 3 c_test\n  the usage: fine\nkcm: === END 3 c_test rc=0\n' >>"$dir/console.log"
	"$S/report.sh" "$dir" >"$WORK/msg"
}

# The test list per leg: leg= lines only on their legs, a line without
# leg= on amd and intel, skip= numbered after the filter, the default
# timeout; lines it cannot read stop it.
test_leg_list() {
	local dir=$WORK/legs bad
	mkdir -p "$dir"
	printf '# a comment\nboth_test -a\nleg=amd svm_test\nleg=intel,intel-eptad0 skip=intel timeout=60 vmx_test # Bochs: no foo\nleg=amd,intel,amd-debug skip=amd,intel two_test # why\n' >"$dir/list"
	(
		. "$S/lib.sh"
		TEST_LIST=$dir/list TEST_TIMEOUT=300 RESULTS=$dir
		LEG=amd guest_test_list >"$dir/amd"
		cp "$dir/skipok" "$dir/amd.skipok"
		LEG=intel-eptad0 guest_test_list >"$dir/eptad0"
		cp "$dir/skipok" "$dir/eptad0.skipok"
		LEG=amd-debug guest_test_list >"$dir/debug"
		LEG=intel guest_test_list >"$dir/intel"
	)
	printf '300 both_test -a\n300 svm_test\n300 two_test\n' | cmp - "$dir/amd"
	printf '3\n' | cmp - "$dir/amd.skipok"
	printf '60 vmx_test\n' | cmp - "$dir/eptad0"
	cmp /dev/null "$dir/eptad0.skipok"
	printf '300 two_test\n' | cmp - "$dir/debug"
	printf '300 both_test -a\n60 vmx_test\n300 two_test\n' | cmp - "$dir/intel"
	printf '2\n3\n' | cmp - "$dir/skipok"
	# Arguments are words, never globbed against the current directory.
	printf 'glob_test -p *\n' >"$dir/list"
	(cd "$dir" && . "$S/lib.sh" && TEST_LIST=list TEST_TIMEOUT=1 RESULTS=. LEG=amd guest_test_list) >"$WORK/msg"
	printf '1 glob_test -p *\n' | cmp - "$WORK/msg"
	for bad in 'skip=amd a_test' 'noskip a_test' 'leg=arm a_test' 'tmeout=5 a_test' 'leg=amd' \
		'leg=amd skip=intel a_test # not on intel'; do
		printf '%s\n' "$bad" >"$dir/list"
		fails env -C "$dir" bash -c ". '$S/lib.sh'; TEST_LIST=list TEST_TIMEOUT=1 RESULTS=. LEG=amd guest_test_list" \
			>"$WORK/msg" 2>&1
		grep -q '^error: list:1: ' "$WORK/msg" || { cat "$WORK/msg"; return 1; }
	done
}

# Each leg tells its tests what its kernel has, and the guest's init exports
# it: the soft VM's type everywhere, VMX only on the intel legs, none of a
# vendor's features on the other's legs.
test_leg_requires() {
	local leg
	(
		. "$S/lib.sh"
		for leg in $ALL_LEGS; do
			leg_requires "$leg" | tr ' ' '\n' | grep -qx 'vm_type:30'
			leg_requires "$leg" | tr ' ' '\n' | grep -qx 'page_idle'
		done
		leg_requires intel | tr ' ' '\n' | grep -qx X86_FEATURE_VMX
		leg_requires intel-eptad0 | tr ' ' '\n' | grep -qx X86_FEATURE_VMX
		fails grep -q X86_FEATURE < <(leg_requires amd)
		fails grep -q X86_FEATURE < <(leg_requires amd-debug)
	)
	fails bash -c ". '$S/lib.sh'; leg_requires arm" 2>/dev/null
	grep -q 'KVM_SELFTESTS_REQUIRE=$(cat /requires)' "$S/guest/init"
	grep -q '^export KVM_SELFTESTS_REQUIRE$' "$S/guest/init"
	grep -q 'REQUIRES-$(leg_requires "$LEG")' "$S/run-vm.sh"
}

# With a leg, every description in the KTAP results starts with it; the
# legs' closing lines add up to make check's.
test_leg_report() {
	local dir=$WORK/results
	fake_results "$dir"
	echo 'ok 3 c_test' >>"$dir/results.tap"
	"$S/report.sh" "$dir" intel >"$WORK/msg"
	grep -qx 'ok 1 intel: a_test # time=1.0s' "$dir/results.ktap"
	grep -qx 'ok 4 intel: guest-log-scan' "$dir/results.ktap"
	tail -n 1 "$WORK/msg" | grep -qx '3 passed, 0 failed, 1 skipped'
	sed -i '$d' "$dir/results.tap"
	fails "$S/report.sh" "$dir" amd >"$WORK/msg"
	grep -q '^FAIL: amd: c_test' "$WORK/msg"
	printf 'amd: 21 passed, 0 failed, 0 skipped (300s)\nintel: 3 passed, 2 failed, 1 skipped (900s)\n' |
		(. "$S/lib.sh" && sum_legs) | grep -qx '24 passed, 2 failed, 1 skipped'
	# A leg's summary: report.sh's, unless it failed without one or
	# without counting a failure.
	(
		. "$S/lib.sh"
		echo '3 passed, 0 failed, 0 skipped' | leg_summary amd 0 | grep -qx '3 passed, 0 failed, 0 skipped'
		echo '3 passed, 2 failed, 0 skipped' | leg_summary amd 1 | grep -qx '3 passed, 2 failed, 0 skipped'
		echo '3 passed, 0 failed, 0 skipped' | leg_summary amd 1 2>/dev/null | grep -qx '3 passed, 1 failed, 0 skipped'
		echo 'error: no log' | leg_summary intel 2 2>"$WORK/msg" | grep -qx '0 passed, 1 failed, 0 skipped'
		grep -qx 'FAIL: intel: report.sh exited with 2 and printed no summary' "$WORK/msg"
		: | leg_summary intel 2 2>/dev/null | grep -qx '0 passed, 1 failed, 0 skipped'
	)
}

# KUnit suites that the kernel ran at boot are results; a suite of
# kunit.list that failed, was skipped or did not run fails, and KTAP-like
# lines after the init's first line (a test's output) do not count.
test_kunit_report() {
	local dir=$WORK/results kunit
	kunit='[    0.5] KTAP version 1\n[    0.5] 1..2\n[    0.5]     KTAP version 1\n[    0.5]     # Subtest: kvm_sept_model\n[    0.5]     ok 1 legal\n[    0.6] # kvm_sept_model: pass:22 fail:0 skip:0 total:22\n[    0.6] ok 1 kvm_sept_model\n[    0.6] not ok 2 other_suite\n'
	fake_results "$dir"
	echo 'ok 3 c_test' >>"$dir/results.tap"
	{ head -n 1 "$dir/console.log" && printf "$kunit" && tail -n +2 "$dir/console.log"; } >"$dir/c"
	mv "$dir/c" "$dir/console.log"
	printf 'not ok 9 late_suite\n' >>"$dir/console.log"
	printf 'kvm_sept_model\n' >"$dir/kunit.list"
	fails "$S/report.sh" "$dir" amd >"$WORK/msg"
	grep -qx '1..6' "$dir/results.ktap"
	grep -qx 'ok 4 amd: kunit: kvm_sept_model # 22 cases' "$dir/results.ktap"
	grep -q '^not ok 5 amd: kunit: other_suite # KUnit failures' "$dir/results.ktap"
	fails grep -q late_suite "$dir/results.ktap"
	tail -n 1 "$WORK/msg" | grep -qx '4 passed, 1 failed, 1 skipped'
	sed -i '/other_suite/d' "$dir/console.log"
	"$S/report.sh" "$dir" >"$WORK/msg"
	tail -n 1 "$WORK/msg" | grep -qx '4 passed, 0 failed, 1 skipped'
	printf 'kvm_sept_model\nabsent_suite\n' >"$dir/kunit.list"
	fails "$S/report.sh" "$dir" >"$WORK/msg"
	grep -q '^not ok 5 kunit: absent_suite # the kernel did not run this KUnit suite' "$dir/results.ktap"
	# A long console (the whole of it is read), CR line ends, a caller id
	# after the time stamp, a skipped suite.
	printf 'kvm_sept_model\n' >"$dir/kunit.list"
	sed -i 's/^\[    0.6\] ok 1 kvm_sept_model/[    0.6][    T1] ok 1 kvm_sept_model\r/' "$dir/console.log"
	head -c 200000 /dev/zero | tr '\0' 'x' | fold -w 100 >>"$dir/console.log"
	"$S/report.sh" "$dir" >"$WORK/msg" || { cat "$WORK/msg"; return 1; }
	grep -qx 'ok 4 kunit: kvm_sept_model # 22 cases' "$dir/results.ktap"
	sed -i 's/ok 1 kvm_sept_model\r/ok 1 kvm_sept_model # SKIP no hardware/' "$dir/console.log"
	fails "$S/report.sh" "$dir" >"$WORK/msg"
	grep -q '^not ok 4 kunit: kvm_sept_model # the KUnit suite was skipped' "$dir/results.ktap"
	rm "$dir/console.log"
	fails "$S/report.sh" "$dir" >"$WORK/msg"
	grep -q '^not ok 4 kunit: kvm_sept_model # the kernel did not run' "$dir/results.ktap"
}

test_log_scan() {
	local dir=$WORK/results line
	fake_results "$dir"
	"$S/scan-log.sh" "$dir/console.log"
	for line in \
		'[    2.1] WARNING: CPU: 1 PID: 77 at arch/x86/kvm/mmu/tdp_mmu.c:100 foo+0x1/0x2' \
		'[    2.1] BUG: KASAN: slab-use-after-free in kvm_mmu_free_roots' \
		'[    2.1] WARNING: possible circular locking dependency detected' \
		'[    2.1] rcu: INFO: rcu_sched self-detected stall on CPU' \
		'[    2.1] Kernel panic - not syncing: Fatal exception' \
		'[    2.1] INFO: task kvm_fuzz_test:81 blocked for more than 120 seconds.' \
		'[    2.1] kvm_fuzz_test invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)' \
		'[    2.1] Out of memory: Killed process 81 (kvm_fuzz_test)' \
		'[    2.1] kvm: kvm-81: KVM bugged the VM; its ioctls fail with EIO from now on' \
		'[    2.1] Kernel panic - not syncing: Out of memory and no killable processes...'; do
		fake_results "$dir"
		echo "$line" >>"$dir/console.log"
		fails "$S/scan-log.sh" "$dir/console.log" >"$WORK/msg"
		grep -qF "$line" "$WORK/msg" || return 1
	done
	# A guest that died before its init's last line fails the scan.
	fake_results "$dir"
	sed -i '/kcm: all tests done/d' "$dir/console.log"
	fails "$S/scan-log.sh" "$dir/console.log" >"$WORK/msg"
	grep -q 'stopped before its last result' "$WORK/msg"
	# A guest that reset and ran the list again fails, however it ended.
	fake_results "$dir"
	cat "$dir/console.log" "$dir/console.log" >"$dir/twice" && mv "$dir/twice" "$dir/console.log"
	fails "$S/scan-log.sh" "$dir/console.log" >"$WORK/msg"
	grep -q 'booted 2 times' "$WORK/msg"
	# Every test passed, but the log has a warning: the run fails.
	echo 'ok 3 c_test' >>"$dir/results.tap"
	fails "$S/report.sh" "$dir" >"$WORK/msg"
	tail -n 1 "$WORK/msg" | grep -qx '2 passed, 1 failed, 1 skipped'
}

for t in export_round_trip export_reproducible refuses_unexported_commit \
	refuses_uncommitted_change export_refuses_ignored_file tree_follows_series \
	config_check summary unexpected_skip usage_text log_scan leg_list \
	leg_report kunit_report leg_requires; do
	check "$t" "test_$t"
done
echo "tooling: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
