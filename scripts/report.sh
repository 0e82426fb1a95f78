#!/usr/bin/env bash
# Turn a run's raw results into its verdict.  Reads, in RESULTS_DIR:
#   tests.list     what the guest was asked to run ("TIMEOUT NAME ARGS")
#   results.tap    what the guest reported
#   console.log    the guest's console, for the log scan
#   skipok         numbers of the tests whose skip the test list expects
#   kunit.list     the KUnit suites that the kernel must have run at boot
#                  (optional: without it, the suites found are counted)
# writes results.ktap (every listed test, plus the log scan as a last test),
# prints the failures and a closing line "N passed, N failed, N skipped", and
# exits 1 on any failure.  Besides a test's own failure, these fail it: no
# result (the guest stopped before it), a skip that the test list does not
# expect on this leg, and usage text in the test's output (a bad argument in
# the test list: most selftests print their help and exit 0).  Each KUnit
# suite that the kernel ran at boot is one more result ("kunit: SUITE"),
# and so is each suite of kunit.list that it did not run.
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

# kunit_results: the KUnit suites that the kernel ran at boot, before its
# init printed anything, from their top-level KTAP lines, as "RESULT SUITE
# CASES" (RESULT one of ok, fail, skip); then "missing SUITE 0" for each
# suite of kunit.list that is not among them.
kunit_results() {
	# Every line is read: a reader that stopped early would kill the
	# pipeline's writer (SIGPIPE) on a long console.
	{ tr -d '\r' <"$dir/console.log"; } 2>/dev/null |
		awk 'done { next } /^kcm: / { done = 1; next } { print }' |
		sed -E 's/^(\[[^]]*\] ?)+//' |
		awk -v list="$dir/kunit.list" '
		/^# [^ ]+: pass:[0-9]+ fail:[0-9]+ skip:[0-9]+ total:[0-9]+/ {
			s = $2; sub(/:$/, "", s); split($NF, t, ":"); total[s] = t[2]
		}
		/^(not )?ok [0-9]+ [^ ]+/ {
			r = ($1 == "not") ? "fail" : "ok"
			s = ($1 == "not") ? $4 : $3
			if (r == "ok" && / # SKIP/) r = "skip"
			res[s] = r; order[++n] = s
		}
		END {
			for (i = 1; i <= n; i++) print res[order[i]], order[i], total[order[i]] + 0
			while ((getline s < list) > 0)
				if (s !~ /^(#|$)/ && !(s in res)) print "missing", s, 0
		}'
}

expected=$(grep -c . "$dir/tests.list" || true)
# No console.log at all: no suites, and those of kunit.list are missing.
kunit=$(kunit_results || true)
suites=$(grep -c . <<<"$kunit" || true)
pass=0 fail=0 skip=0
out=$dir/results.ktap
{
	echo "KTAP version 1"
	echo "1..$((expected + suites + 1))"
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
	elif [ "$(test_output "$n" | grep -ciE '^[[:space:]]*usage:' || true)" -gt 0 ]; then
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

# A KUnit suite that failed, was skipped or did not run fails.
while read -r result suite cases; do
	[ -n "$suite" ] || continue
	n=$((n + 1))
	case $result in
	ok) line="ok $n ${leg}kunit: $suite # $cases cases" ;;
	missing) line="not ok $n ${leg}kunit: $suite # the kernel did not run this KUnit suite" ;;
	skip) line="not ok $n ${leg}kunit: $suite # the KUnit suite was skipped" ;;
	*) line="not ok $n ${leg}kunit: $suite # KUnit failures, see console.log" ;;
	esac
	echo "$line" >>"$out"
	case $line in
	"not ok"*) fail=$((fail + 1)) && echo "FAIL: ${line#not ok $n }" ;;
	*) pass=$((pass + 1)) ;;
	esac
done <<<"$kunit"

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
