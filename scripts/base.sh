#!/usr/bin/env bash
# Fetch the pinned base (Debian's linux-source package), verify its sha256,
# and turn it into a git repository in the cache whose only commit is the
# base, tagged "base".  Idempotent: a verified download and an existing cache
# repository are reused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: $0 [--verify-only]"
	echo "Fetches $BASE_PACKAGE $BASE_VERSION into $CACHE."
	exit 2
}

list_versions() {
	apt-cache madison "$BASE_PACKAGE" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print "    " $2}'
}

fetch_deb() {
	local tmp
	[ -f "$BASE_DEB" ] && return 0
	step "downloading $BASE_PACKAGE $BASE_VERSION"
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/download.XXXXXX")
	# apt's sandbox user cannot write into root's home; download as root.
	if ! (cd "$tmp" && apt-get -q -o APT::Sandbox::User=root download \
		"$BASE_PACKAGE=$BASE_VERSION") >"$tmp/log" 2>&1; then
		cat "$tmp/log" >&2
		rm -rf "$tmp"
		echo "The archive has these versions of $BASE_PACKAGE:" >&2
		list_versions >&2
		die "$BASE_PACKAGE $BASE_VERSION is not in the archive (run 'apt-get update' if the list above is stale). The pin is in base.env; to build on another version set BASE_VERSION and BASE_SHA256 in the environment."
	fi
	mv "$tmp"/*.deb "$BASE_DEB"
	rm -rf "$tmp"
}

verify_deb() {
	local sum
	sum=$(sha256sum "$BASE_DEB" | cut -d' ' -f1)
	if [ "$sum" != "$BASE_SHA256" ]; then
		mv "$BASE_DEB" "$BASE_DEB.bad"
		die "sha256 mismatch for $BASE_DEB: got $sum, pinned $BASE_SHA256 (moved aside to $BASE_DEB.bad). Check base.env, or set BASE_SHA256 if you changed BASE_VERSION."
	fi
	info "verified sha256 $sum"
}

# The cache repository is bare; the source is unpacked into a scratch
# directory that is used as its work tree once and then removed.
make_repo() {
	local tmp src
	if git --git-dir="$BASE_REPO" rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null 2>&1; then
		return 0
	fi
	step "unpacking $BASE_PACKAGE $BASE_VERSION into $BASE_REPO"
	rm -rf "$BASE_REPO" "$BASE_REPO.tmp"
	tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
	dpkg-deb --fsys-tarfile "$BASE_DEB" | tar -x -C "$tmp" --wildcards './usr/src/*.tar.xz'
	xz -T0 -dc "$tmp"/usr/src/*.tar.xz | tar -x -C "$tmp"
	src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'linux-*' | head -n 1)
	[ -f "$src/Makefile" ] || die "no kernel source found in $BASE_DEB"
	git init -q --bare "$BASE_REPO.tmp"
	git --git-dir="$BASE_REPO.tmp" config core.compression 1
	(
		export GIT_DIR="$BASE_REPO.tmp" GIT_WORK_TREE="$src"
		export "${BASE_GIT_ENV[@]}"
		# The base must not be shaped by a global excludes file.
		git -c core.excludesFile=/dev/null add -A -f .
		git commit -q --no-verify -m "$BASE_PACKAGE $BASE_VERSION" \
			-m "Unpacked from ${BASE_DEB##*/}" \
			-m "sha256: $BASE_SHA256"
		git tag "$BASE_TAG"
	)
	mv "$BASE_REPO.tmp" "$BASE_REPO"
	rm -rf "$tmp"
}

[ $# -le 1 ] || usage
case ${1:-} in
--verify-only) fetch_deb && verify_deb && exit 0 ;;
'') ;;
*) usage ;;
esac
fetch_deb
verify_deb
make_repo
info "base: $BASE_REPO ($(git --git-dir="$BASE_REPO" rev-parse --short "$BASE_TAG"))"
