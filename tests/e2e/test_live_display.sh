#!/usr/bin/env bash
# The live display, read off a real terminal (tmux) as a person sees it:
# every line fits the terminal's width (80, 200, and after a resize to 60),
# the status block is redrawn in place (one status line on the screen, no
# stale copies), the running trials are listed (as many as the screen
# holds), the counter never passes its total, the ETA only counts down
# while nothing changes, colour only on a terminal without NO_COLOR, and
# piped output keeps its line per event with no escape codes.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || { fail "tmux is needed (scripts/install.sh)"; tc_done; }

SOCK=$TC_WORK/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
trap 'tmux -S "$SOCK" kill-server 2>/dev/null; tc_cleanup' EXIT

# Each trial reports epoch 1 of 2 (in "wide", once go/wide-e1 exists), then waits for go/EXPERIMENT (or
# go/TRIAL) before its second epoch.  k=1 of experiment "wide" fails its
# first attempt: the retry must not push the counter past the total.
mkdir go
cat >block.sh <<'EOF'
#!/bin/sh
if [ "$TRAINCTL_EXPERIMENT" = wide ] && [ "$2" = 1 ] && [ "$TRAINCTL_ATTEMPT" = 1 ]; then
	echo "flaky first attempt" >&2
	exit 3
fi
if [ "$TRAINCTL_EXPERIMENT" = wide ]; then
	while [ ! -e go/wide-e1 ]; do sleep 0.05; done
fi
echo "epoch=1 acc=0.$2"
while [ ! -e "go/$TRAINCTL_EXPERIMENT" ] && [ ! -e "go/$TRAINCTL_TRIAL" ]; do
	sleep 0.05
done
echo "epoch=2 acc=0.9$2"
EOF
chmod +x block.sh
TAG=a-long-parameter-value-so-that-each-line-is-wider-than-80-z
spec() { # NAME PARALLEL NTRIALS
	cat >"$1.yaml" <<EOF
version: 1
name: $1
command: [./block.sh, "{{epochs}}", "{{k}}", "{{tag}}"]
parameters:
  epochs: {values: [2]}
  k: {values: [$(seq -s ', ' 1 "$3")]}
  tag: {values: [$TAG]}
metric: {name: acc, goal: maximize}
run: {parallel: $2, retries: 1, backoff: 0s}
EOF
}

# start NAME COLS ROWS [ENV...]: trainctl run NAME.yaml in a tmux session
# of that size; the pane stays open after it (showing "[exit N]").
start() {
	local name=$1 cols=$2 rows=$3
	shift 3
	tm new-session -d -s "$name" -x "$cols" -y "$rows" -c "$TC_WORK" \
		env -u NO_COLOR "$@" sh -c '"$0" run "$1.yaml"; echo "[exit $?]"; exec cat' \
		"$TRAINCTL" "$name"
}
screen() { tm capture-pane -p -t "$1"; }
# the screen must show what the shell function $2 looks for
screen_shows() { S=$(screen "$1") && "$2" "$S"; }

status_re='^\[[0-9]+/[0-9]+\] running [0-9]+'
longest() { printf '%s\n' "$1" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }
count() { printf '%s\n' "$1" | grep -Ec -- "$2"; }

# every [done/total] on the screen has done <= total
counters_ok() {
	printf '%s\n' "$1" | grep -oE '^\[ *[0-9]+/[0-9]+\]' | tr -d '[] ' |
		awk -F/ '$1 > $2 { bad = 1 } END { exit bad }'
}

# ---- 80 columns -------------------------------------------------------------
spec wide 3 6
start wide 80 30
# no trial has finished or reported a step: no ETA rather than a guess
no_step_yet() {
	printf '%s\n' "$1" | grep -Eq '^\[0/6\] running 3  waiting 3$' &&
		[ "$(count "$1" '^  [0-9a-f]{12} +[0-9.hms]+  acc=-  epochs=2')" = 3 ] &&
		printf '%s\n' "$1" | grep -Eq '^  [0-9a-f]{12} +[2-9]\.[0-9]s '
}
if wait_for 30 "three running trials, 2 s old, without a step" screen_shows wide no_step_yet; then
	pass "80 columns: no ETA while nothing is known, the running trials listed"
else
	screen wide | sed 's/^/     | /'
fi
touch go/wide-e1
three_running() {
	printf '%s\n' "$1" | grep -Eq '^\[0/6\] running 3  waiting 3  ETA' &&
		[ "$(count "$1" '^  [0-9a-f]{12} +[0-9.hms]+  step 1/2  acc=0\.')" = 3 ]
}
if wait_for 30 "three running trials at step 1 on the 80-column screen" screen_shows wide three_running; then
	pass "80 columns: an ETA from the running trials' steps, 3 running trials with step and metric"
fi
S=$(screen wide)
expect_eq "$(count "$S" "$status_re")" 1 "80 columns: one status line on the screen (redrawn in place)"
[ "$(longest "$S")" -le 80 ] && pass "80 columns: no line longer than 80" ||
	{ fail "80 columns: a line of $(longest "$S") columns"; printf '%s\n' "$S" | sed 's/^/     | /'; }
expect_match "$S" '^\[0/6\] retrying  [0-9a-f]+ ' "80 columns: the failed first attempt scrolled above as retrying"
counters_ok "$S" && pass "80 columns: no counter past its total" || fail "80 columns: a counter past its total"

# the ETA counts down while nothing changes (all blocked at step 1): read
# it until it has shown 5 values or reached 0
etas=()
eta_poll() {
	local e
	e=$(screen wide | grep -E "$status_re" | sed -nE 's/.*ETA ([^ ]+).*/\1/p')
	[ -n "$e" ] && [ "$e" != "${etas[${#etas[@]}-1]:-}" ] && etas+=("$e")
	[ "${#etas[@]}" -ge 5 ] || [ "$e" = "0.0s" ]
}
wait_for 30 "the ETA to count down" eta_poll
python3 - "${etas[@]}" <<'PY' && pass "the ETA counts down while nothing changes (${etas[*]})" || fail "the ETA grew or stood still: ${etas[*]}"
import re, sys
def secs(s):
    m = re.fullmatch(r'(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?', s)
    h, mi, se = (float(x) if x else 0 for x in m.groups())
    return h * 3600 + mi * 60 + se
v = [secs(s) for s in sys.argv[1:]]
sys.exit(0 if len(v) >= 3 and all(a > b for a, b in zip(v, v[1:])) else 1)
PY

# colour on a terminal: the screen has SGR colours
expect_match "$(tm capture-pane -e -p -t wide)" $'\033\\[[0-9;]*3[0-9]m|\033\\[1m' "colour on a terminal"

# ---- a resize re-fits -----------------------------------------------------
tm resize-window -t wide -x 60
# the block cut to 59 columns by trainctl, and nothing left of the block
# drawn at 80 columns (the terminal rewraps what is on the screen: a stale
# trial line would leave a second row with "step 1/2" in it)
refit() {
	[ "$(longest "$1")" -le 60 ] && [ "$(count "$1" "$status_re")" = 1 ] &&
		[ "$(count "$1" 'waiting')" = 1 ] && [ "$(count "$1" 'step 1/2')" = 3 ] &&
		[ "$(printf '%s\n' "$1" | grep -E '^  [0-9a-f]{12} .*step 1/2' |
			awk 'length($0) == 59' | wc -l)" = 3 ]
}
if wait_for 30 "the block re-fitted to 60 columns" screen_shows wide refit; then
	pass "60 columns after a resize: one status line, 3 trial lines cut to 59 columns, nothing stale"
else
	screen wide | sed 's/^/     | /'
fi

# release them all: the final lines
touch go/wide
ended() { printf '%s\n' "$1" | grep -q '^\[exit '; }
wait_for 60 "the run to end" screen_shows wide ended
S=$(screen wide)
expect_match "$S" '^\[exit 0\]' "the run succeeded (the retry too)"
expect_match "$S" '^done: 6 succeeded, 0 failed' "the summary line"
expect_eq "$(count "$S" '^\[[1-6]/6\] succeeded')" 6 "six succeeded lines"
expect_match "$S" '^\[6/6\] succeeded' "the counter ends at 6/6"
expect_eq "$(count "$S" "$status_re")" 0 "no status block left after the run"
counters_ok "$S" && pass "no counter past its total after the retry" || { fail "a counter past its total"; printf '%s\n' "$S" | sed 's/^/     | /'; }
[ "$(longest "$S")" -le 60 ] && pass "no line longer than 60 after the run" || fail "a line of $(longest "$S") columns"

# ---- 200 columns, 8 rows: full lines, as many trials as fit -----------------
spec big 6 6
start big 200 8
six_running() {
	printf '%s\n' "$1" | grep -Eq '^\[0/6\] running 6' &&
		[ "$(count "$1" "^  [0-9a-f]{4,} .*step 1/2  acc=0\\.[0-9]  epochs=2 k=[0-9] tag=$TAG\$")" = 4 ] &&
		printf '%s\n' "$1" | grep -q '^  \.\.\. 2 more running$'
}
if wait_for 30 "six running trials on the 200x8 screen" screen_shows big six_running; then
	pass "200x8: the full trial lines, 4 of 6 trials and '... 2 more running'"
else
	screen big | sed 's/^/     | /'
fi
S=$(screen big)
L=$(longest "$S")
[ "$L" -gt 100 ] && [ "$L" -le 200 ] && pass "200 columns: lines use the width ($L) and fit it" ||
	fail "200 columns: the longest line has $L columns"
expect_eq "$(count "$S" "$status_re")" 1 "200 columns: one status line"
touch go/big
wait_for 60 "the 200-column run to end" screen_shows big ended
S=$(screen big)
expect_match "$S" '^\[6/6\] succeeded .{100}' "200 columns: the final lines uncut"
expect_match "$S" '^\[exit 0\]' "200 columns: the run succeeded"

# ---- NO_COLOR on a terminal: no colour ----------------------------------------
spec nc 2 2
tm new-session -d -s nc -x 80 -y 30 -c "$TC_WORK" \
	env NO_COLOR=1 sh -c '"$0" run nc.yaml; echo "[exit $?]"; exec cat' "$TRAINCTL"
two_running() { printf '%s\n' "$1" | grep -Eq '^\[0/2\] running 2'; }
wait_for 30 "the NO_COLOR run's block" screen_shows nc two_running
expect_no_match "$(tm capture-pane -e -p -t nc)" $'\033\\[[0-9;]*m' "NO_COLOR: no colour on the screen"
touch go/nc
wait_for 60 "the NO_COLOR run to end" screen_shows nc ended
expect_match "$(screen nc)" '^\[exit 0\]' "NO_COLOR: the run succeeded"

# ---- piped: a line per event, no escape codes -------------------------------
spec piped 2 3
touch go/piped
tc_run run piped.yaml
expect_rc 0 "piped run"
expect_no_match "$OUT" $'\033' "piped: no escape codes"
expect_eq "$(count "$OUT" "^\\[[1-3]/3\\] succeeded [0-9a-f]+ +[0-9.hms]+  acc=0\\.9[1-3]  epochs=2 k=[1-3] tag=$TAG\$")" 3 \
	"piped: one uncut line per trial, as before"
expect_match "$OUT" '^done: 3 succeeded' "piped: the summary"

tc_done
