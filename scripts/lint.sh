#!/usr/bin/env bash
# Series checks: every patch listed in series/series exists, applies in
# order on the base, and passes checkpatch.pl --strict.  The cover letter is
# not checked.  Prints one line per patch and a closing summary line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: $0"
	echo "Checks the patches of ${SERIES#"$TOP"/}/ against $BASE_PACKAGE $BASE_VERSION."
	exit 2
}
[ $# -eq 0 ] || usage

[ -f "$SERIES/series" ] || die "no $SERIES/series; run 'make export'"
[ -x "$TREE/scripts/checkpatch.pl" ] || die "no kernel tree at $TREE for checkpatch.pl; run 'make tree'"
git --git-dir="$BASE_REPO" rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null ||
	"$TOP/scripts/base.sh" >/dev/null

# Apply into a scratch index on top of the cached base; new objects go to a
# scratch object directory, so the cache is not touched.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scratch_git() {
	GIT_DIR=$BASE_REPO GIT_INDEX_FILE=$tmp/index GIT_OBJECT_DIRECTORY=$tmp/objects \
		GIT_ALTERNATE_OBJECT_DIRECTORIES=$BASE_REPO/objects git "$@"
}
mkdir -p "$tmp/objects"
scratch_git read-tree "$BASE_TAG"

pass=0 fail=0 applies=1
step "checking ${SERIES#"$TOP"/}/ (checkpatch --strict, applies in order)"
while read -r p; do
	case $p in '' | \#*) continue ;; esac
	problems=()
	if [ ! -f "$SERIES/$p" ]; then
		problems+=("listed in series/series but missing")
	else
		if [ "$applies" = 1 ] && ! scratch_git apply --cached "$SERIES/$p" 2>"$tmp/apply.log"; then
			problems+=("does not apply: $(head -n 1 "$tmp/apply.log")")
			applies=0
		elif [ "$applies" = 0 ]; then
			problems+=("not applied: an earlier patch failed")
		fi
		# A changelog that kept git's editor template (a rebase's reword).
		if grep -qE "interactive rebase in progress|with '#' will be ignored" "$SERIES/$p"; then
			problems+=("git's editor template is in the changelog")
		fi
		# Debian's python3 has the ply module that spdxcheck.py needs.
		if ! (cd "$TREE" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --quiet --no-summary \
			--show-types "$SERIES/$p") >"$tmp/checkpatch.log" 2>&1; then
			problems+=("checkpatch --strict:")
		fi
	fi
	if [ ${#problems[@]} -eq 0 ]; then
		pass=$((pass + 1))
		echo "    ok   $p"
	else
		fail=$((fail + 1))
		echo "    FAIL $p: ${problems[*]}"
		[ ! -s "$tmp/checkpatch.log" ] || sed 's/^/        /' "$tmp/checkpatch.log"
	fi
	: >"$tmp/checkpatch.log"
done <"$SERIES/series"
[ -f "$SERIES/0000-cover-letter.patch" ] || {
	echo "    FAIL 0000-cover-letter.patch: missing; run 'make export'"
	fail=$((fail + 1))
}
echo "lint: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
