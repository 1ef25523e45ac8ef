#!/usr/bin/env bash
# logs: by id, unique id prefix and index; -f follows a running (or still
# queued) trial to its end with nothing lost; --stderr; byte-exact output;
# errors for unknown or ambiguous trials.
. "$(dirname "$0")/lib.sh"

cat >exp.yaml <<'EOF'
version: 1
name: lg
command:
  - sh
  - -c
  - |
    case "$0" in
    slow) i=1; while [ $i -le 10 ]; do echo "line $i"; echo "err $i" >&2; i=$((i + 1)); sleep 0.1; done;;
    big) seq 1 200000; printf 'no newline at the end';;
    quiet) ;;
    *) echo "$0";;
    esac
  - "{{v}}"
parameters:
  v: {values: [slow, big, quiet, f01, f02, f03, f04, f05, f06, f07, f08, f09, f10, f11, f12, f13, f14, f15, f16, f17]}
run: {parallel: 1}
EOF
ids=$(trial_ids exp.yaml)
id() { echo "$ids" | sed -n "$(($1 + 1))p"; }

tc_bg run.out run exp.yaml -q
run_pid=$BG_PID
if wait_for 15 "trial 0 running" trial_is lg 0 running; then
	# trial 1 is still queued (parallel 1): -f waits for it, then follows it
	tc_bg big.out logs lg 1 -f
	big_pid=$BG_PID
	tc_bg err.out logs lg "$(id 0)" -f --stderr
	err_pid=$BG_PID
	tc_run logs lg 0 -f
	expect_rc 0 "logs -f on a running trial ends when the trial ends"
	expect_eq "$OUT" "$(seq 1 10 | sed 's/^/line /')" "logs -f: every line, in order, nothing repeated"
	expect_eq "$(trial_state lg 0)" succeeded "logs -f returned only after the trial ended"
	tc_wait_bg "$err_pid"
	expect_eq "$RC" 0 "logs -f --stderr: exit 0"
	expect_eq "$(cat err.out)" "$(seq 1 10 | sed 's/^/err /')" "logs -f --stderr: the whole stderr"
	tc_wait_bg "$big_pid"
	expect_eq "$RC" 0 "logs -f on a queued trial: exit 0"
	expect_eq "$(cmp big.out ".trainctl/trials/$(id 1)/stdout.log" && echo same)" same \
		"logs -f on a then-queued trial: byte-identical to stdout.log (1.3 MB, no final newline)"
fi
tc_wait_bg "$run_pid"
expect_eq "$RC" 0 "the run succeeded"

# ---- selecting the trial -------------------------------------------------
{ seq 1 200000; printf 'no newline at the end'; } >big.want
tc logs lg 1 >big.got
expect_eq "$(cmp big.got big.want && echo same)" same "logs by index: byte-exact"
tc logs lg "$(id 1)" >big.got
expect_eq "$(cmp big.got big.want && echo same)" same "logs by full id"
tc logs lg "$(id 1)" -f >big.got
expect_eq "$(cmp big.got big.want && echo same)" same "logs -f of a finished trial prints it all and returns"

# the shortest unique prefix of each id that is not all digits (an
# all-digit TRIAL is an index)
pycheck "logs by the shortest unique id prefix, for every trial" <<'PY'
rc, out, err = run("status", "lg", "--format", "json")
trials = loads(out)["trials"]
ids = [t["trial"] for t in trials]
for t in trials:
    i = t["trial"]
    n = next(n for n in range(1, 13) if sum(x.startswith(i[:n]) for x in ids) == 1
             and not i[:n].isdigit() or n == 12)
    rc, out, err = run("logs", "lg", i[:n])
    want = {"slow": "".join("line %d\n" % k for k in range(1, 11)), "quiet": ""}.get(t["v"], t["v"] + "\n")
    if t["v"] == "big":
        want = open("big.want").read()
    check(rc == 0 and out == want, "logs lg %s (prefix of %s, %s): rc %d, %r" % (i[:n], i, t["v"], rc, out[:40]))
PY
amb=$(echo "$ids" | python3 -c '
import sys
ids = sys.stdin.read().split()
amb = [p for n in (1, 2, 3) for p in sorted(set(i[:n] for i in ids))
       if not p.isdigit() and sum(i.startswith(p) for i in ids) > 1]
print(amb[0] if amb else "")')
if [ -n "$amb" ]; then
	tc_run logs lg "$amb"
	expect_rc 2 "an ambiguous prefix '$amb' is an error"
	expect_match "$ERR" "$amb" "the error names the prefix"
else
	pass "no ambiguous id prefix among these ids (not checked)"
fi

tc_run logs lg 2
expect_rc 0 "logs of a trial that printed nothing"
expect_eq "$OUT" "" "and it prints nothing"
tc_run logs lg 19
expect_eq "$OUT" "f17" "logs by the last index"
tc_run logs lg 0 --stderr
expect_eq "$OUT" "$(seq 1 10 | sed 's/^/err /')" "logs --stderr"

tc_run logs lg 20
expect_rc 2 "index past the end"
expect_match "$ERR" "no trial '20'" "no trial '20'"
tc_run logs lg zzzz
expect_rc 2 "unknown id"
tc_run logs nope 0
expect_rc 2 "unknown experiment"
expect_match "$ERR" "no experiment 'nope'" "unknown experiment: message"
tc_run logs lg
expect_rc 2 "logs without a trial is bad usage"

tc_done
