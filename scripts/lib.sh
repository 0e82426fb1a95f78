# shellcheck shell=bash
# Common definitions for the kvm-coco-mmu scripts: paths, the base pin,
# logging.  Sourced, never run.  Every path and version is defined here or in
# base.env, and nowhere else.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The base pin: base.env, unless the environment already sets a variable.
while IFS='=' read -r key value; do
	case $key in '' | \#*) continue ;; esac
	if [ -z "${!key:-}" ]; then
		printf -v "$key" '%s' "$value"
	fi
	export "${key?}"
done <"$TOP/base.env"

# Where things live.  The cache is outside the checkout so that re-runs and
# CI on the same machine do not fetch or unpack the base again.
CACHE=${KCM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvm-coco-mmu}
BUILD=${KCM_BUILD:-$TOP/build}
TREE=${TREE:-$BUILD/linux}
SERIES=${SERIES:-$TOP/series}
BASE_TAG=base
BASE_DEB="$CACHE/${BASE_PACKAGE}_${BASE_VERSION}_all.deb"
BASE_REPO=${KCM_BASE_REPO:-$CACHE/base-${BASE_VERSION}.git}
CONFIG_DIR=$TOP/config
TEST_LIST=${TEST_LIST:-$TOP/tests/selftests.list}
KUNIT_LIST=${KUNIT_LIST:-$TOP/tests/kunit.list}

# One object directory per configuration, so that switching between the
# minimal, debug and user configs does not rebuild from scratch.
if [ -n "${KCONFIG:-}" ]; then
	OBJ=${OBJ:-$BUILD/obj-custom}
elif [ "${DEBUG:-0}" = 1 ]; then
	OBJ=${OBJ:-$BUILD/obj-debug}
else
	OBJ=${OBJ:-$BUILD/obj}
fi
# kmake runs make -C the tree: a relative O= would land inside it.
OBJ=$(realpath -m "$OBJ")
RESULTS=${RESULTS:-$OBJ/results}

# Reproducible kernel builds that ccache can share between checkouts.
export KBUILD_BUILD_USER=kvm-coco-mmu KBUILD_BUILD_HOST=build
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026'
export CCACHE_BASEDIR=$TOP CCACHE_NOHASHDIR=1 CCACHE_COMPILERCHECK=content
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}

JOBS=${JOBS:-$(($(nproc) + 1))}

# Fixed identity and dates for the commits that tooling makes itself (the
# base commit), so that the base commit is the same on every machine.
BASE_GIT_ENV=(
	GIT_AUTHOR_NAME="Debian $BASE_PACKAGE" GIT_AUTHOR_EMAIL=""
	GIT_COMMITTER_NAME="Debian $BASE_PACKAGE" GIT_COMMITTER_EMAIL=""
	GIT_AUTHOR_DATE="2026-01-01T00:00:00Z"
	GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
)

step() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# run LOG CMD...: run a command with its output in LOG; on failure print the
# log's tail and its path.
run() {
	local log=$1
	shift
	mkdir -p "$(dirname "$log")"
	if ! "$@" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "'$*' failed; full log: $log"
	fi
}

kmake() {
	make -C "$TREE" O="$OBJ" ARCH=x86_64 CC="ccache gcc" HOSTCC="ccache gcc" \
		-j"$JOBS" "$@"
}

# series_digest DIR: a digest of the patch set in DIR (the quilt series file
# and the patches it lists, in order; the cover letter is not part of it).
series_digest() {
	local dir=$1 p
	{
		if [ -f "$dir/series" ]; then
			cat "$dir/series"
			while read -r p; do
				[ -z "$p" ] || cat "$dir/$p"
			done <"$dir/series"
		fi
	} | sha256sum | cut -d' ' -f1
}

# The legs of 'make check', in the order it runs them:
#   amd           QEMU (emulator or KVM), nested SVM with NPT
#   amd-debug     the same, with the debug kernel (config/debug.config:
#                 KASAN, lockdep, PROVE_RCU) of build/obj-debug
#   intel         Bochs, VMX with EPT (A/D bits on), two CPUs
#   intel-eptad0  the same with kvm_intel.eptad=0 (EPT without A/D bits)
#   intel-debug   intel with the debug kernel, for the TDX tests (the
#                 only lockdep and KASAN run of the TDX code)
ALL_LEGS="amd amd-debug intel intel-eptad0 intel-debug"
# The legs that a test-list line without leg= runs on.
DEFAULT_LEGS="amd,intel"

# leg_emulator LEG / leg_cmdline LEG / leg_debug LEG: how a leg boots.
leg_emulator() {
	case $1 in
	amd | amd-debug) echo qemu ;;
	intel | intel-eptad0 | intel-debug) echo bochs ;;
	*) die "unknown leg '$1'; the legs are: $ALL_LEGS" ;;
	esac
}
# Both intel legs ask for TDX on the software TDX module (Bochs's CPUs have
# no TDX); on intel-eptad0 kvm_intel refuses it (TDX needs EPT A/D bits) and
# loads without it.
leg_cmdline() {
	case $1 in
	intel | intel-debug) echo tdx_sw_module kvm_intel.tdx=1 ;;
	intel-eptad0) echo kvm_intel.eptad=0 tdx_sw_module kvm_intel.tdx=1 ;;
	esac
}
leg_debug() {
	[ "$1" = amd-debug ] || [ "$1" = intel-debug ]
}

# leg_requires LEG: what the leg's kernel (config/kvm.config) and emulator
# guarantee, as the names of the selftests' subtest_skip() calls; the guest
# exports it as KVM_SELFTESTS_REQUIRE, and a sub-case that needs one of
# them fails instead of skipping.  vm_type:1 is KVM_X86_SW_PROTECTED_VM,
# vm_type:30 KVM_X86_SW_SEPT_VM; "nested" is SVM or VMX in the guest; "tdx"
# is kvm_intel.tdx=Y, "tdx_sw_module" the software TDX module, vm_type:5
# KVM_X86_TDX_VM.
leg_requires() {
	local common="vm_type:1 vm_type:30 KVM_CAP_GUEST_MEMFD KVM_CAP_PRE_FAULT_MEMORY"
	common="$common KVM_X86_QUIRK_SLOT_ZAP_ALL KVM_CAP_NESTED_STATE nested page_idle nx_huge_pages"
	case $1 in
	amd | amd-debug) echo "$common" ;;
	intel | intel-debug) echo "$common X86_FEATURE_VMX tdx tdx_sw_module cpu_hotplug vm_type:5" ;;
	intel-eptad0) echo "$common X86_FEATURE_VMX" ;;
	*) die "unknown leg '$1'; the legs are: $ALL_LEGS" ;;
	esac
}

# The test list as the guest reads it: "TIMEOUT NAME ARGS..." per line, only
# the lines for this leg ("leg=LEG[,LEG...]"; a line without leg= runs on
# DEFAULT_LEGS).  A skip fails the run unless the line says "skip=LEG[,...]"
# for this leg and gives the reason in its comment; the numbers of the tests
# whose skip is expected go to $RESULTS/skipok.  Reads TEST_LIST, LEG and
# TEST_TIMEOUT; fails on a line it cannot read.
guest_test_list() {
	local raw line comment timeout skips legs l n=0 lineno=0 words
	: >"$RESULTS/skipok"
	while IFS= read -r raw; do
		lineno=$((lineno + 1))
		line=${raw%%#*}
		comment=
		[ "$line" = "$raw" ] || comment=${raw#*#}
		read -ra words <<<"$line"
		set -- "${words[@]}"
		[ $# -gt 0 ] || continue
		timeout=$TEST_TIMEOUT skips= legs=$DEFAULT_LEGS
		while [ $# -gt 0 ]; do
			case $1 in
			timeout=*) timeout=${1#timeout=} ;;
			leg=*) legs=${1#leg=} ;;
			skip=*) skips=${1#skip=} ;;
			noskip) die "${TEST_LIST##*/}:$lineno: 'noskip' is gone: every skip fails unless skip=LEG says why" ;;
			*=*) die "${TEST_LIST##*/}:$lineno: unknown option '$1'" ;;
			*) break ;;
			esac
			shift
		done
		[ $# -gt 0 ] || die "${TEST_LIST##*/}:$lineno: no test name"
		for l in ${legs//,/ } ${skips//,/ }; do
			[[ " $ALL_LEGS " == *" $l "* ]] ||
				die "${TEST_LIST##*/}:$lineno: unknown leg '$l'; the legs are: $ALL_LEGS"
		done
		for l in ${skips//,/ }; do
			[[ ",$legs," == *",$l,"* ]] ||
				die "${TEST_LIST##*/}:$lineno: skip=$l, but the test does not run on $l (legs: $legs)"
		done
		if [ -n "$skips" ] && [ -z "${comment// /}" ]; then
			die "${TEST_LIST##*/}:$lineno: skip=$skips needs the reason in a comment on the line"
		fi
		[[ ",$legs," == *",$LEG,"* ]] || continue
		n=$((n + 1))
		[[ ",$skips," != *",$LEG,"* ]] || echo "$n" >>"$RESULTS/skipok"
		echo "$timeout $*"
	done <"$TEST_LIST"
}

# leg_summary LEG RC: reads report.sh's last line and prints the leg's
# "P passed, F failed, K skipped".  A report that exited with RC != 0 without
# a well-formed summary, or with one that counts no failure, gets one more
# failure (and a FAIL line on stderr).
leg_summary() {
	local leg=$1 rc=$2 line
	IFS= read -r line || line=
	if ! [[ $line =~ ^[0-9]+\ passed,\ ([0-9]+)\ failed,\ [0-9]+\ skipped$ ]]; then
		echo "FAIL: $leg: report.sh exited with $rc and printed no summary" >&2
		echo "0 passed, 1 failed, 0 skipped"
	elif [ "$rc" != 0 ] && [ "${BASH_REMATCH[1]}" = 0 ]; then
		echo "FAIL: $leg: report.sh exited with $rc" >&2
		echo "${line/ 0 failed,/ 1 failed,}"
	else
		echo "$line"
	fi
}

# sum_legs: reads "LEG: P passed, F failed, K skipped" lines, one per leg,
# and prints "P passed, F failed, K skipped" for all of them.
sum_legs() {
	local p f k pass=0 fail=0 skip=0
	while read -r _ p _ f _ k _; do
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + k))
	done
	echo "$pass passed, $fail failed, $skip skipped"
}
