#!/usr/bin/env bash
# Turn a run's raw results into its verdict.  Reads, in RESULTS_DIR:
#   tests.list     what the guest was asked to run ("TIMEOUT NAME ARGS")
#   results.tap    what the guest reported
#   console.log    the guest's console, for the log scan
#   skipok         numbers of the tests whose skip the test list expects
# writes results.ktap (every listed test, plus the log scan as a last test),
# prints the failures and a closing line "N passed, N failed, N skipped", and
# exits 1 on any failure.  Besides a test's own failure, these fail it: no
# result (the guest stopped before it), a skip that the test list does not
# expect on this leg, and usage text in the test's output (a bad argument in
# the test list: most selftests print their help and exit 0).
set -euo pipefail
here=$(dirname "$0")

usage() {
	echo "usage: $0 RESULTS_DIR [LEG]"
	echo "With LEG, every test's description starts with 'LEG: '."
	exit 2
}
[ $# -eq 1 ] || [ $# -eq 2 ] || usage
dir=$1
leg=${2:+$2: }
touch "$dir/results.tap"

# test_output N: what test N printed on the console, between the guest
# init's RUN and END lines.
test_output() {
	tr -d '\r' <"$dir/console.log" 2>/dev/null |
		sed -n "/^kcm: === RUN $1 /,/^kcm: === END $1 /p" | sed '1d;$d'
}

expected=$(grep -c . "$dir/tests.list" || true)
pass=0 fail=0 skip=0
out=$dir/results.ktap
{
	echo "KTAP version 1"
	echo "1..$((expected + 1))"
} >"$out"

n=0
while read -r _ name args; do
	[ -n "$name" ] || continue
	n=$((n + 1))
	line=$(grep -E "^(not )?ok $n " "$dir/results.tap" | head -n 1 || true)
	if [ -z "$line" ]; then
		line="not ok $n $name${args:+ $args} # no result: the guest stopped before it finished"
	elif [[ $line == *"# SKIP"* ]] && ! grep -qx "$n" "$dir/skipok" 2>/dev/null; then
		line="not ok $n $name${args:+ $args} # skipped, and the test list does not expect a skip here (${line#*# SKIP })"
	elif test_output "$n" | grep -qiE '^[[:space:]]*usage:'; then
		line="not ok $n $name${args:+ $args} # printed its usage text: bad arguments in the test list?"
	fi
	if [ -n "$leg" ]; then
		line=$(sed -E "s/^((not )?ok $n )/\1$leg/" <<<"$line")
	fi
	echo "$line" >>"$out"
	case $line in
	"not ok"*) fail=$((fail + 1)) && echo "FAIL: ${line#not ok $n }" ;;
	*"# SKIP"*) skip=$((skip + 1)) ;;
	*) pass=$((pass + 1)) ;;
	esac
done <"$dir/tests.list"

n=$((n + 1))
if scan=$("$here/scan-log.sh" "$dir/console.log"); then
	echo "ok $n ${leg}guest-log-scan" >>"$out"
	pass=$((pass + 1))
else
	printf '%s\n' "$scan"
	echo "not ok $n ${leg}guest-log-scan # kernel reports in console.log" >>"$out"
	echo "FAIL: ${leg}guest-log-scan (kernel reports in $dir/console.log)"
	fail=$((fail + 1))
fi

echo "results: $out"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
