#!/usr/bin/env bash
# Write the kernel tree's commits (base..HEAD) back into series/: one
# git-format-patch file per commit, a cover letter, and a quilt "series"
# file.  The output depends only on the commits, so exporting an unchanged
# tree twice gives byte-identical files.
#
# The cover letter's subject and prose are kept from the existing cover
# letter (edit them in series/0000-cover-letter.patch); everything from the
# "Based on" line down is regenerated.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

COVER=0000-cover-letter.patch
BASED_ON="Based on Debian $BASE_PACKAGE"
DEFAULT_SUBJECT="KVM: x86: mirrored private page tables for confidential VMs"

usage() {
	echo "usage: $0 [OUTDIR]"
	echo "Exports $TREE ($BASE_TAG..HEAD) into OUTDIR (default: $SERIES)."
	exit 2
}

# Pinned git settings, so that a user's configuration cannot change a byte.
tgit() {
	git -C "$TREE" -c core.abbrev=12 -c diff.algorithm=myers \
		-c diff.noprefix=false -c diff.mnemonicPrefix=false \
		-c diff.renames=true -c diff.relative=false -c format.signature= \
		-c i18n.logOutputEncoding=UTF-8 \
		"$@"
}

cover_subject() {
	local old=$1
	if [ -f "$old" ]; then
		sed -n 's/^Subject: \[PATCH[^]]*\] //p' "$old" | head -n 1
	else
		echo "$DEFAULT_SUBJECT"
	fi
}

# The prose: from the first blank line after the headers up to the
# "Based on" line, without trailing blank lines.
cover_prose() {
	local old=$1
	if [ -f "$old" ]; then
		awk -v stop="$BASED_ON" '
			body && index($0, stop) == 1 { exit }
			body { print }
			!body && $0 == "" { body = 1 }
		' "$old" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
	else
		cat <<-EOF
			This series gives confidential VMs a mirrored private page table in
			the TDP MMU and reflects it into an external page table through
			kvm_x86_ops hooks.  See the changelogs for the details.
		EOF
	fi
}

write_cover() {
	local out=$1 old=$2 n=$3 width ident date
	width=${#n}
	if [ "$n" -gt 0 ]; then
		ident=$(tgit log -1 --format='%an <%ae>' HEAD)
		date=$(tgit log -1 --format='%aD' HEAD)
	else
		ident="$(git -C "$TOP" config user.name) <$(git -C "$TOP" config user.email)>"
		date=$(tgit log -1 --format='%aD' "$BASE_TAG")
	fi
	{
		echo "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001"
		echo "From: $ident"
		echo "Date: $date"
		printf 'Subject: [PATCH %0*d/%d] %s\n' "$width" 0 "$n" "$(cover_subject "$old")"
		echo
		cover_prose "$old"
		echo
		echo "$BASED_ON $BASE_VERSION,"
		echo "sha256 $BASE_SHA256"
		echo "of ${BASE_DEB##*/}."
		if [ "$n" -gt 0 ]; then
			echo
			tgit shortlog "$BASE_TAG..HEAD"
			tgit diff --stat=72 --summary "$BASE_TAG..HEAD"
		fi
	} >"$out/$COVER"
}

# Debian's top-level .gitignore ignores everything at the top of the tree
# ("/*"), so a new file is silently left out of 'git add -A' and of the
# series.  Nothing else is ignored (builds are out of tree), so any ignored
# file is one of those.
check_ignored_files() {
	local ignored
	ignored=$(git -C "$TREE" status --porcelain --ignored --untracked-files=all |
		sed -n 's/^!! //p')
	[ -z "$ignored" ] && return 0
	printf '    %s\n' $ignored >&2
	die "the files above are new but ignored by Debian's .gitignore, so they are in no commit; 'git add -f' them and commit (or delete them), then export again"
}

export_series() {
	local out=$1 tmp n
	[ -d "$TREE/.git" ] || die "no kernel tree at $TREE; run 'make tree' first"
	check_ignored_files
	tgit rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null ||
		die "$TREE has no '$BASE_TAG' tag; recreate it with 'make tree FORCE=1'"
	mkdir -p "$out"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	n=$(tgit rev-list --count "$BASE_TAG..HEAD")
	if [ "$n" -gt 0 ]; then
		tgit format-patch -q --zero-commit --no-signature --numbered \
			--no-cover-letter --no-thread --no-to --no-cc --no-add-header --filename-max-length=64 \
			--stat=72 -o "$tmp" "$BASE_TAG..HEAD" >/dev/null
	fi
	write_cover "$tmp" "$out/$COVER" "$n"
	(cd "$tmp" && ls -1 -- [0-9]*.patch | grep -vx "$COVER" || true) >"$tmp/series"
	find "$out" -maxdepth 1 -type f \( -name '*.patch' -o -name series \) -delete
	mv "$tmp"/* "$out"/
	echo "$n"
}

[ $# -le 1 ] || usage
case ${1:-} in -h | --help) usage ;; esac
out=${1:-$SERIES}
n=$(export_series "$out")
if [ "$out" = "$SERIES" ]; then
	series_digest "$SERIES" >"$TREE/.git/kcm-synced"
	step "exported $n patches to ${SERIES#"$TOP"/}/"
fi
