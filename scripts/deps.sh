#!/usr/bin/env bash
# Install the Debian packages that building and testing need, if any are
# missing.  Needs root for the install; says what to run otherwise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PACKAGES=(
	build-essential bc bison flex libelf-dev libssl-dev kmod cpio xz-utils
	ccache git perl python3 python3-git python3-ply quilt busybox-static qemu-system-x86
	bochs bochsbios vgabios isolinux syslinux-common genisoimage
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ]; then
	die "missing packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}"
fi
step "installing ${missing[*]}"
run "$BUILD/logs/apt.log" apt-get update -q
DEBIAN_FRONTEND=noninteractive run "$BUILD/logs/apt.log" \
	apt-get install -q -y --no-install-recommends "${missing[@]}"
