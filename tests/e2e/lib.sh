# shellcheck shell=bash
# Shared helpers for the end-to-end tests: source it first thing,
#   . "$(dirname "$0")/lib.sh"
# It makes a private work directory ($TC_WORK, the current directory on
# return), removes it on exit together with every process still running in
# it, and provides assertions that count failures instead of stopping at the
# first one.  End every test with `tc_done`.
#
# ctest passes TRAINCTL (the binary), TC_SOURCE_DIR and TC_BUILD_DIR; run by
# hand, the binary defaults to build/trainctl of this source tree.

set -u
export LC_ALL=C
unset TRAINCTL_HOME

TC_SOURCE_DIR=${TC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TRAINCTL=${TRAINCTL:-$TC_SOURCE_DIR/build/trainctl}
if [ ! -x "$TRAINCTL" ]; then
	echo "FAIL no trainctl binary at $TRAINCTL (run make)"
	exit 1
fi
command -v python3 >/dev/null || { echo "FAIL python3 is needed"; exit 1; }
# the example trainer on PATH, as the README's demo puts it (validate
# checks that a spec's program is there)
TC_BUILD_DIR=${TC_BUILD_DIR:-$TC_SOURCE_DIR/build}
[ -x "$TC_BUILD_DIR/fmnist-train" ] && PATH="$TC_BUILD_DIR:$PATH"

TC_NAME=$(basename "$0" .sh)
TC_WORK=$(mktemp -d "${TMPDIR:-/tmp}/$TC_NAME.XXXXXX")
TC_WORK=$(cd "$TC_WORK" && pwd -P)
# GPU leases are machine-wide (the user's runtime directory): each test
# gets a runtime directory of its own, so tests that run at once never
# wait for each other's GPUs
export XDG_RUNTIME_DIR="$TC_WORK/.run"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
TC_FAILS=0
TC_PASSES=0
TC_START=$(date +%s.%N)

# Every process whose working directory is inside $TC_WORK was started by
# this test (trials run in their spec's directory; trainctl and its per-trial
# supervisors run where we started them).  Kill each by pid, then remove the
# directory.
tc_cleanup() {
	local p cwd
	cd /
	for p in /proc/[0-9]*; do
		cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
		case "$cwd" in
		"$TC_WORK" | "$TC_WORK"/*) kill -9 "${p#/proc/}" 2>/dev/null ;;
		esac
	done
	if [ -n "${TC_KEEP:-}" ]; then
		echo "kept $TC_WORK"
	else
		rm -rf "$TC_WORK"
	fi
}
trap tc_cleanup EXIT
trap 'exit 130' INT TERM
cd "$TC_WORK" || exit 1

# ---- reporting ----------------------------------------------------------

pass() {
	TC_PASSES=$((TC_PASSES + 1))
	printf 'ok   %s\n' "$*"
}

fail() {
	TC_FAILS=$((TC_FAILS + 1))
	printf 'FAIL %s\n' "$*"
}

# Print the last command's output after a failed check, indented.
tc_show() {
	printf '     exit %s\n' "${RC:-?}"
	[ -n "${OUT:-}" ] && printf '%s\n' "$OUT" | head -n 40 | sed 's/^/     stdout| /'
	[ -n "${ERR:-}" ] && printf '%s\n' "$ERR" | head -n 20 | sed 's/^/     stderr| /'
	return 0
}

tc_done() {
	local secs
	secs=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
		"$TC_START" "$(date +%s.%N)")
	echo "$TC_NAME: $TC_PASSES passed, $TC_FAILS failed (${secs}s)"
	[ "$TC_FAILS" -eq 0 ]
	exit $?
}

# ---- running trainctl ---------------------------------------------------

# tc ARGS...: trainctl with a time limit, output straight through.
tc() {
	timeout -k 5 "${TC_TIMEOUT:-60}" "$TRAINCTL" "$@"
}

# tc_run ARGS...: run trainctl; sets RC, OUT and ERR (stdout, stderr).
tc_run() {
	local o="$TC_WORK/.tc_out" e="$TC_WORK/.tc_err"
	timeout -k 5 "${TC_TIMEOUT:-60}" "$TRAINCTL" "$@" >"$o" 2>"$e"
	RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	if [ "$RC" -ge 124 ]; then
		echo "     trainctl $* ended with $RC (timeout or signal)"
	fi
	return 0
}

# tc_bg OUTFILE ARGS...: start trainctl in the background; sets BG_PID.
tc_bg() {
	local out=$1
	shift
	"$TRAINCTL" "$@" >"$out" 2>&1 &
	BG_PID=$!
}

# tc_wait_bg PID: wait for a background trainctl (at most TC_TIMEOUT s); sets RC.
tc_wait_bg() {
	local pid=$1 i
	for ((i = 0; i < ${TC_TIMEOUT:-60} * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "trainctl (pid $pid) still running after ${TC_TIMEOUT:-60}s"
		kill -9 "$pid" 2>/dev/null
	fi
	wait "$pid"
	RC=$?
}

# tc_mine PID: PID is a live child of this shell, not yet reaped (bash
# reaps background children on its own: a pid kept in a variable may
# since name another test's process).  Check before signalling.
tc_mine() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	# shellcheck disable=SC2086
	set -- $st
	[ "$2" = "$$" ] && [ "$1" != Z ]
}

# ---- assertions ---------------------------------------------------------

# expect_rc WANT WHAT: the last tc_run's exit code.
expect_rc() {
	if [ "$RC" = "$1" ]; then
		pass "$2 (exit $1)"
	else
		fail "$2: exit $RC, want $1"
		tc_show
	fi
}

# expect_eq GOT WANT WHAT
expect_eq() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3: got '$1', want '$2'"
	fi
}

# expect_match TEXT ERE WHAT: some line of TEXT matches the extended regex.
expect_match() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		pass "$3"
	else
		fail "$3: no line matches /$2/ in:"
		printf '%s\n' "$1" | head -n 20 | sed 's/^/     | /'
	fi
}

# expect_no_match TEXT ERE WHAT
expect_no_match() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		fail "$3: a line matches /$2/:"
		printf '%s\n' "$1" | grep -E -- "$2" | head -n 5 | sed 's/^/     | /'
	else
		pass "$3"
	fi
}

# expect_contains TEXT FIXED WHAT
expect_contains() {
	if printf '%s\n' "$1" | grep -Fq -- "$2"; then
		pass "$3"
	else
		fail "$3: '$2' not found in:"
		printf '%s\n' "$1" | head -n 20 | sed 's/^/     | /'
	fi
}

# expect_file PATH WHAT / expect_no_file PATH WHAT
expect_file() {
	if [ -e "$1" ]; then pass "$2"; else fail "$2: $1 does not exist"; fi
}
expect_no_file() {
	if [ -e "$1" ]; then fail "$2: $1 exists"; else pass "$2"; fi
}

# wait_for SECONDS WHAT CMD...: poll CMD (every 50 ms) until it succeeds;
# a bounded wait on a condition, never a fixed sleep.  Returns 1 (and
# records a failure) on timeout.
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 20; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	fail "timed out after ${secs}s waiting for: $what"
	return 1
}

# ---- JSON (python3; jq may be absent) -----------------------------------

# jget FILE EXPR: evaluate a Python expression over the JSON document `d`
# in FILE ('-' for stdin) and print it (lists and dicts as JSON).
jget() {
	python3 -c '
import json, sys
src, expr = sys.argv[1], sys.argv[2]
d = json.load(sys.stdin if src == "-" else open(src))
v = eval(expr)
print(json.dumps(v) if isinstance(v, (list, dict)) else v)
' "$1" "$2"
}

# pycheck WHAT ARGS... <<'PY' ... PY
# Run a Python snippet with helpers: check(cond, msg) records a failure,
# load(path) reads JSON, loads(text) parses JSON rejecting duplicate keys,
# run(*args) runs trainctl and returns (rc, stdout, stderr).  sys.argv[1:]
# are ARGS.  The check passes if no check failed and nothing raised.
pycheck() {
	local what=$1 snippet
	shift
	snippet=$(cat)
	if TRAINCTL="$TRAINCTL" python3 -c "
import json, os, subprocess, sys
FAILS = []
def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print('     ' + str(msg))
    return cond
def _nodup(pairs):
    keys = [k for k, _ in pairs]
    dup = sorted(set(k for k in keys if keys.count(k) > 1))
    if dup:
        raise ValueError('duplicate JSON keys: %s' % dup)
    return dict(pairs)
def loads(text):
    return json.loads(text, object_pairs_hook=_nodup)
def load(path):
    with open(path) as f:
        return loads(f.read())
def run(*args):
    p = subprocess.run([os.environ['TRAINCTL']] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr
$snippet
sys.exit(1 if FAILS else 0)
" "$@"; then
		pass "$what"
	else
		fail "$what"
	fi
}

# trial_ids SPEC: the ids of SPEC's trials in index order, one a line.
trial_ids() {
	"$TRAINCTL" plan "$1" --format csv | awk -F, 'NR > 1 { print $2 }'
}

# trial_state NAME INDEX [ARGS...]: the state of trial INDEX of NAME (ARGS,
# e.g. --state-dir DIR, go to `status`).
trial_state() {
	local name=$1 idx=$2
	shift 2
	"$TRAINCTL" status "$name" --format json "$@" 2>/dev/null |
		jget - "[t['state'] for t in d['trials'] if t['index'] == $idx][0]"
}

# trial_is NAME INDEX STATE: for wait_for.
trial_is() {
	[ "$(trial_state "$1" "$2")" = "$3" ]
}
