#!/usr/bin/env bash
# The kernel git tree: the base as its first commit (tagged "base") and the
# series as the commits after it.  This is where the series is worked on;
# 'make export' writes it back into series/.
#
#   tree.sh create   (make tree)  build the tree from base + series/; an
#                    existing tree with unexported work is kept unless
#                    FORCE=1
#   tree.sh ensure   (make)       create the tree if missing, follow series/
#                    if the tree has no work of its own, else leave it be
#   tree.sh status                say which of those states the tree is in
#
# The tree records the digest of the patch set it last agreed with series/
# in .git/kcm-synced.  A tree whose own export still has that digest holds
# nothing that series/ lacks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: $0 create|ensure|status"
	exit 2
}

# Prints one of: missing, synced, behind, unexported.
tree_state() {
	local tmp digest synced
	if [ ! -d "$TREE/.git" ]; then
		echo missing
		return
	fi
	if [ -d "$TREE/.git/rebase-apply" ] || [ -d "$TREE/.git/rebase-merge" ] ||
		[ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
		! git -C "$TREE" rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null; then
		echo unexported
		return
	fi
	tmp=$(mktemp -d)
	SERIES=$SERIES "$TOP/scripts/export.sh" "$tmp" >/dev/null
	digest=$(series_digest "$tmp")
	rm -rf "$tmp"
	synced=$(cat "$TREE/.git/kcm-synced" 2>/dev/null || true)
	if [ "$digest" = "$(series_digest "$SERIES")" ] &&
		[ "$(base_of_tree)" = "$(base_of_cache)" ]; then
		echo synced
	elif [ "$digest" = "$synced" ]; then
		echo behind
	else
		echo unexported
	fi
}

base_of_tree() { git -C "$TREE" rev-parse -q --verify "$BASE_TAG^{commit}" || true; }
base_of_cache() { git --git-dir="$BASE_REPO" rev-parse -q --verify "$BASE_TAG^{commit}" || true; }

series_patches() {
	local p
	[ -f "$SERIES/series" ] || return 0
	while read -r p; do
		case $p in '' | \#*) continue ;; esac
		[ -f "$SERIES/$p" ] || die "series/series lists $p, which is missing"
		echo "$SERIES/$p"
	done <"$SERIES/series"
}

build_tree() {
	local patches n
	git --git-dir="$BASE_REPO" rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null 2>&1 ||
		"$TOP/scripts/base.sh"
	if [ -d "$TREE/.git" ] && [ "$(base_of_tree)" != "$(base_of_cache)" ]; then
		info "the tree is on another base; recreating it"
		rm -rf "$TREE"
	fi
	if [ ! -d "$TREE/.git" ]; then
		step "cloning the base into ${TREE#"$TOP"/}"
		rm -rf "$TREE"
		mkdir -p "$(dirname "$TREE")"
		git clone -q --no-checkout "$BASE_REPO" "$TREE"
		git -C "$TREE" remote remove origin
	fi
	git -C "$TREE" config user.name "$(git -C "$TOP" config user.name || echo kvm-coco-mmu)"
	git -C "$TREE" config user.email "$(git -C "$TOP" config user.email || true)"
	git -C "$TREE" am --abort >/dev/null 2>&1 || true
	git -C "$TREE" rebase --abort >/dev/null 2>&1 || true
	git -C "$TREE" checkout -q -f -B main "$BASE_TAG"
	mapfile -t patches < <(series_patches)
	n=${#patches[@]}
	if [ "$n" -gt 0 ]; then
		step "applying $n patches from series/"
		if ! git -C "$TREE" am -q --committer-date-is-author-date "${patches[@]}"; then
			git -C "$TREE" am --show-current-patch=diff >/dev/null 2>&1 || true
			die "a patch of series/ does not apply (see above); the tree is left mid-'git am' in $TREE"
		fi
	fi
	series_digest "$SERIES" >"$TREE/.git/kcm-synced"
	info "tree: ${TREE#"$TOP"/} at $(git -C "$TREE" describe --tags --always) ($n patches on $BASE_TAG)"
}

[ $# -eq 1 ] || usage
case $1 in
status)
	tree_state
	;;
create)
	state=$(tree_state)
	if [ "$state" = unexported ] && [ "${FORCE:-0}" != 1 ]; then
		die "$TREE has work that is not in series/ (uncommitted changes, or commits not exported). Run 'make export' to keep it, or 'make tree FORCE=1' to throw it away."
	fi
	if [ "$state" = synced ] && [ "${FORCE:-0}" != 1 ]; then
		info "tree: ${TREE#"$TOP"/} matches series/ (FORCE=1 recreates it)"
		exit 0
	fi
	build_tree
	;;
ensure)
	state=$(tree_state)
	case $state in
	missing | behind) build_tree ;;
	synced) info "tree: ${TREE#"$TOP"/} matches series/" ;;
	unexported) warn "$TREE has work that is not in series/; building it as it is ('make export' to keep it)" ;;
	esac
	;;
*) usage ;;
esac
