#!/usr/bin/env bash
# Configure and build the patched kernel and the static KVM selftests.
#
#   build.sh config      write $OBJ/.config and check it
#   build.sh kernel      config + bzImage + uapi headers
#   build.sh selftests   the KVM selftests, static, against those headers
#   build.sh all         all of the above (the default)
#
# The config is tinyconfig + config/minimal.config + config/kvm.config +
# config/tdx.config (+ config/debug.config with DEBUG=1, + the fragments
# named in CONFIG_EXTRA).  With KCONFIG=path, the user's config
# + config/kvm.config (+ debug, + CONFIG_EXTRA) instead.  Every option that a fragment asks
# for must survive olddefconfig, or the build stops and names it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: $0 [config|kernel|selftests|all]"
	echo "       $0 check-config CONFIG FRAGMENT...   (is every option of the fragments in CONFIG?)"
	echo "Builds in $OBJ; DEBUG=1 adds config/debug.config; KCONFIG=path starts from your own config."
	exit 2
}

fragments() {
	[ -n "${KCONFIG:-}" ] || echo "$CONFIG_DIR/minimal.config"
	echo "$CONFIG_DIR/kvm.config"
	[ -n "${KCONFIG:-}" ] || echo "$CONFIG_DIR/tdx.config"
	[ "${DEBUG:-0}" != 1 ] || echo "$CONFIG_DIR/debug.config"
	local extra
	for extra in ${CONFIG_EXTRA:-}; do
		echo "$CONFIG_DIR/$extra"
	done
}

# check_config CONFIG FRAGMENT...: every "CONFIG_X=v" and "# CONFIG_X is not
# set" line of the fragments must be in CONFIG.  Prints what is missing.
check_config() {
	local config=$1 frag line sym bad=0
	shift
	for frag in "$@"; do
		while IFS= read -r line; do
			case $line in
			CONFIG_*=*) sym=${line%%=*} ;;
			"# CONFIG_"*" is not set") sym=${line#\# } sym=${sym%% *} ;;
			*) continue ;;
			esac
			if ! grep -qxF -- "$line" "$config"; then
				echo "  $line (from ${frag##*/}) is $(grep -E "^(# )?$sym[= ]" "$config" || echo "not offered: its dependencies are missing")"
				bad=1
			fi
		done <"$frag"
	done
	return $bad
}

config_inputs_digest() {
	{
		echo "$BASE_VERSION ${KCONFIG:-tinyconfig}"
		[ -z "${KCONFIG:-}" ] || cat "$KCONFIG"
		fragments | xargs cat
	} | sha256sum | cut -d' ' -f1
}

do_config() {
	local frags digest missing
	mapfile -t frags < <(fragments)
	digest=$(config_inputs_digest)
	# Reuse the config if its inputs are unchanged and it still has every
	# required option (a tree checked out at another commit may not).
	if [ "${FORCE_CONFIG:-0}" != 1 ] && [ -f "$OBJ/.config" ] &&
		[ "$(cat "$OBJ/.kcm-config" 2>/dev/null)" = "$digest" ] &&
		check_config "$OBJ/.config" "${frags[@]}" >/dev/null; then
		return 0
	fi
	step "configuring (${KCONFIG:-tinyconfig} + ${frags[*]##*/}) in ${OBJ#"$TOP"/}"
	mkdir -p "$OBJ"
	if [ -n "${KCONFIG:-}" ]; then
		[ -r "$KCONFIG" ] || die "KCONFIG=$KCONFIG is not a readable file"
		cp "$KCONFIG" "$OBJ/.config"
	else
		run "$OBJ/logs/config.log" kmake tinyconfig
	fi
	run "$OBJ/logs/config.log" env -C "$TREE" scripts/kconfig/merge_config.sh \
		-m -O "$OBJ" "$OBJ/.config" "${frags[@]}"
	run "$OBJ/logs/config.log" kmake olddefconfig
	# make bisect configures trees that predate some options of the series.
	if ! missing=$(check_config "$OBJ/.config" "${frags[@]}") &&
		[ "${CONFIG_CHECK:-1}" = 1 ]; then
		rm -f "$OBJ/.kcm-config"
		printf '%s\n' "$missing" >&2
		die "options that the project needs were dropped by olddefconfig (above); fix the fragment or your config"
	fi
	echo "$digest" >"$OBJ/.kcm-config"
}

do_kernel() {
	local t0=$SECONDS
	do_config
	step "building the kernel (log: ${OBJ#"$TOP"/}/logs/kernel.log)"
	run "$OBJ/logs/kernel.log" kmake bzImage
	run "$OBJ/logs/headers.log" kmake headers
	info "kernel: $OBJ/arch/x86/boot/bzImage ($((SECONDS - t0))s)"
}

do_selftests() {
	local t0=$SECONDS
	[ -d "$OBJ/usr/include/linux" ] || die "no uapi headers in $OBJ/usr/include; run '$0 kernel' first"
	step "building the KVM selftests (log: ${OBJ#"$TOP"/}/logs/selftests.log)"
	# Without CCACHE_BASEDIR: ccache would rewrite the targets of the
	# dependency files to relative paths that the selftests' Makefile,
	# which names its objects by absolute path, never matches, and a
	# changed header would not rebuild anything.
	run "$OBJ/logs/selftests.log" env -u CCACHE_BASEDIR \
		make -C "$TREE/tools/testing/selftests/kvm" \
		-j"$JOBS" ARCH=x86_64 CC="ccache gcc" OUTPUT="$OBJ/kselftest/kvm" \
		KHDR_INCLUDES="-isystem $OBJ/usr/include" \
		EXTRA_CFLAGS=-static LDFLAGS=-static
	info "selftests: $OBJ/kselftest/kvm ($((SECONDS - t0))s)"
}

if [ "${1:-}" = check-config ]; then
	[ $# -ge 3 ] || usage
	shift
	check_config "$@"
	exit
fi
[ $# -le 1 ] || usage
case ${1:-all} in
config) do_config ;;
kernel) do_kernel ;;
selftests) do_selftests ;;
all) do_kernel && do_selftests ;;
*) usage ;;
esac
