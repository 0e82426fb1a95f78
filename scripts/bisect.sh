#!/usr/bin/env bash
# Build every patch of series/ on its own: apply the patches one at a time
# in a scratch worktree of the kernel tree and, after each, build
# arch/x86/kvm/ (which includes virt/kvm/), arch/x86/virt/ (the TDX host
# code) and, when the patch touches them, the KVM selftests.  Incremental
# and ccache'd, so a second run is quick.
# Separate from 'make check' because its cost grows with the series.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: $0"
	echo "Builds each patch of ${SERIES#"$TOP"/}/ in $BUILD/bisect (objects in $BUILD/obj-bisect)."
	exit 2
}
[ $# -eq 0 ] || usage
[ -d "$TREE/.git" ] || die "no kernel tree at $TREE; run 'make tree'"

WT=$BUILD/bisect
BOBJ=$BUILD/obj-bisect
t0=$SECONDS

if [ ! -e "$WT/.git" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$WT" "$BASE_TAG"
fi
git -C "$WT" am --abort >/dev/null 2>&1 || true
git -C "$WT" checkout -q -f --detach "$BASE_TAG"

# The configuration of 'make' plus SEV, so that every patch also compiles
# the SEV code; only arch/x86/kvm/ is built, so SEV's dependencies cost
# nothing here.
bisect_config() {
	CONFIG_CHECK=0 FORCE_CONFIG=1 CONFIG_EXTRA=sev.config TREE=$WT OBJ=$BOBJ \
		"$TOP/scripts/build.sh" config >/dev/null
}
bisect_config
step "preparing the base build in ${BOBJ#"$TOP"/}"
TREE=$WT OBJ=$BOBJ run "$BOBJ/logs/bisect-base.log" kmake prepare arch/x86/kvm/

pass=0 fail=0 i=0
mapfile -t patches < <(grep -v -e '^#' -e '^$' "$SERIES/series" || true)
for p in "${patches[@]}"; do
	i=$((i + 1))
	log=$BOBJ/logs/bisect-$(printf '%04d' "$i").log
	if ! git -C "$WT" am -q --committer-date-is-author-date "$SERIES/$p" >"$log" 2>&1; then
		echo "    FAIL $p: does not apply (log: $log)"
		fail=$((fail + 1))
		break
	fi
	# Options that the patch adds are in the fragments; configure again.
	if ! git -C "$WT" diff --quiet HEAD~1 HEAD -- '*Kconfig*'; then
		bisect_config
	fi
	targets=(arch/x86/kvm/ arch/x86/virt/)
	if ! TREE=$WT OBJ=$BOBJ kmake "${targets[@]}" >>"$log" 2>&1; then
		echo "    FAIL $p: ${targets[*]} do not build (log: $log)"
		fail=$((fail + 1))
		continue
	fi
	if git -C "$WT" diff --quiet HEAD~1 HEAD -- tools/testing/selftests/kvm include/uapi arch/x86/include/uapi; then
		:
	elif ! TREE=$WT OBJ=$BOBJ kmake headers >>"$log" 2>&1 ||
		! env -u CCACHE_BASEDIR make -C "$WT/tools/testing/selftests/kvm" -j"$JOBS" ARCH=x86_64 \
			CC="ccache gcc" OUTPUT="$BOBJ/kselftest/kvm" \
			KHDR_INCLUDES="-isystem $BOBJ/usr/include" >>"$log" 2>&1; then
		echo "    FAIL $p: the KVM selftests do not build (log: $log)"
		fail=$((fail + 1))
		continue
	fi
	echo "    ok   $p"
	pass=$((pass + 1))
done
echo "bisect: $pass passed, $fail failed ($((SECONDS - t0))s)"
[ "$fail" -eq 0 ]
