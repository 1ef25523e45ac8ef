#!/usr/bin/env bash
# The state directory at rest and shared: journal.db alone is the whole
# journal once a run has ended (or after `gc`); the verbs that only read
# work on a state directory they cannot write; a state directory another
# user controls is refused, links planted in one are never followed, and
# trainctl's files are 0600.
. "$(dirname "$0")/lib.sh"

cat >exp.yaml <<'EOF'
version: 1
name: sd
command: [sh, -c, 'echo "acc=0.$0"; echo "to stderr" >&2', "{{v}}"]
parameters:
  v: {values: [1, 2, 3]}
metric: {name: acc, goal: maximize}
EOF
ids=$(trial_ids exp.yaml)
id0=$(echo "$ids" | sed -n 1p)

tc_run run exp.yaml -q
expect_rc 0 "the run succeeds"

# ---- journal.db alone is complete at rest --------------------------------
mkdir bare
cp .trainctl/journal.db bare/
tc_run results sd --state-dir bare --format json
expect_rc 0 "results from a copy of journal.db alone"
expect_eq "$(printf '%s' "$OUT" | jget - "sorted(t['acc'] for t in d['trials'])")" \
	"[0.1, 0.2, 0.3]" "the copy holds every trial and its metric"
expect_eq "$(stat -c %s .trainctl/journal.db-wal 2>/dev/null || echo 0)" 0 \
	"nothing is left in the write-ahead log"

# a run killed with its write-ahead log full: `gc` moves it into journal.db
cat >long.yaml <<'EOF'
version: 1
name: lg
command: [sh, -c, 'echo "acc=0.5"; exec sleep 600']
EOF
tc_bg long.out run long.yaml -q --state-dir killed
run_pid=$BG_PID
long_running() { [ "$(trial_state lg 0 --state-dir killed)" = running ]; }
if wait_for 15 "the long trial running" long_running; then
	kill -9 "$run_pid"
	wait "$run_pid" 2>/dev/null
	mkdir bare2
	cp killed/journal.db bare2/
	tc_run status lg --state-dir bare2
	if [ "$RC" -ne 0 ]; then
		pass "a killed run leaves journal.db incomplete (the test's premise)"
	else
		fail "a killed run left journal.db complete: the gc check below proves nothing"
	fi
	tc_run gc lg --state-dir killed
	expect_contains "$ERR" "local backend" "gc of a local experiment says there is nothing on a cluster"
	rm -rf bare2 && mkdir bare2 && cp killed/journal.db bare2/
	tc_run status lg --state-dir bare2 --format json
	expect_rc 0 "after gc, a copy of journal.db alone has the experiment"
	expect_eq "$(printf '%s' "$OUT" | jget - "d['trials'][0]['state']")" running \
		"and its trial as it was"
fi

# ---- read-only verbs on a state directory we cannot write ----------------
# Root ignores permission bits: as root the verbs run as nobody against a
# copy only root can write; otherwise the copy is made read-only.
cp -a .trainctl ro
chmod -R a+rX,a-w ro
as_reader() {
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}
reader_run() {
	local o="$TC_WORK/.ro_out" e="$TC_WORK/.ro_err"
	as_reader timeout -k 5 60 "$TRAINCTL" "$@" >"$o" 2>"$e"
	RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
}
chmod a+rx "$TC_WORK"
if ! as_reader test -r "$TC_WORK/ro/journal.db"; then
	echo "skip: read-only verbs (the reader cannot reach $TC_WORK)"
else
	before=$(cd ro && find . -printf '%p %s %T@\n' | sort)
	for verb in "status sd" "results sd" "best sd" "report sd" "logs sd 0" "ls"; do
		# shellcheck disable=SC2086
		reader_run $verb --state-dir "$TC_WORK/ro"
		expect_rc 0 "read-only state dir: $verb"
		expect_no_match "$ERR" "readonly|read-only|cannot" "read-only state dir: $verb complains of nothing"
	done
	reader_run results sd --state-dir "$TC_WORK/ro" --format csv
	expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | wc -l)" 3 "read-only state dir: results lists every trial"
	expect_eq "$(cd ro && find . -printf '%p %s %T@\n' | sort)" "$before" \
		"read-only state dir: nothing in it was changed"
	# the bare copy of journal.db, read-only, without its -wal and -shm
	chmod -R u+w ro && rm -f ro/journal.db-wal ro/journal.db-shm && chmod -R a-w ro
	reader_run best sd --state-dir "$TC_WORK/ro"
	expect_rc 0 "read-only journal.db without -wal and -shm: best"
	expect_contains "$OUT" "0.3" "read-only journal.db without -wal and -shm: the best trial"
	chmod -R u+w ro
fi

# ---- file modes ----------------------------------------------------------
expect_eq "$(stat -c %a .trainctl/journal.db)" 600 "journal.db is 0600 (env values are secrets)"
expect_eq "$(stat -c %a .trainctl/locks/sd.status)" 600 "the status file is 0600"
expect_eq "$(stat -c %a ".trainctl/trials/$id0/stdout.log") $(stat -c %a ".trainctl/trials/$id0/stderr.log") $(stat -c %a ".trainctl/trials/$id0/params.json")" \
	"600 600 600" "a trial's stdout.log, stderr.log and params.json are 0600"

# ---- a state directory of someone else's, writable by others -------------
if [ "$(id -u)" = 0 ]; then
	mkdir theirs
	chown nobody theirs
	chmod 0777 theirs
	tc_run run exp.yaml -q --state-dir theirs
	expect_rc 2 "a state dir of another user, writable by others, is refused"
	expect_contains "$ERR" "belongs to another user" "and the message says why"
	expect_eq "$(ls -A theirs)" "" "nothing was written into it"
	tc_run status sd --state-dir theirs
	expect_no_match "$ERR" "readonly" "reading verbs only say there is no state"
else
	echo "skip: a state dir of another user (needs root)"
fi
# one of our own that others may write into is used (with the care below)
mkdir shared
chmod 0777 shared
tc_run run exp.yaml -q --state-dir shared
expect_rc 0 "our own state dir, writable by others, is used"

# ---- links planted where trainctl writes ---------------------------------
printf 'precious\n' >victim
mkdir victimdir
# fresh DIR PLANT...: a fresh state dir with what PLANT sets up in it
fresh() {
	local d=$1
	shift
	printf 'precious\n' >"$TC_WORK/victim"
	rm -rf "$d" && mkdir "$d" && (cd "$d" && "$@")
}
plant_link() { mkdir -p "$(dirname "$2")" && ln -s "$1" "$2"; }

fresh p1 plant_link "$TC_WORK/victim" "trials/$id0/stdout.log"
tc_run run exp.yaml -q --state-dir p1
expect_rc 1 "stdout.log planted as a link: the trial fails"
expect_eq "$(cat victim)" precious "stdout.log planted as a link: its target is untouched"
expect_eq "$(trial_state sd 0 --state-dir p1)" failed "stdout.log planted as a link: trial 0 failed"
expect_match "$("$TRAINCTL" status sd --state-dir p1)" "stdout.log: a symbolic link is in the way" \
	"stdout.log planted as a link: the reason says so"
expect_eq "$(trial_state sd 1 --state-dir p1)" succeeded "the other trials run"

fresh p2 plant_link "$TC_WORK/victim" "trials/$id0/stderr.log"
tc_run run exp.yaml -q --state-dir p2
expect_eq "$(cat victim)" precious "stderr.log planted as a link: its target is untouched"

fresh p3 plant_link "$TC_WORK/victim" "trials/$id0/params.json"
tc_run run exp.yaml -q --state-dir p3
expect_eq "$(cat victim)" precious "params.json planted as a link: its target is untouched"
expect_contains "$ERR" "params.json: a symbolic link is in the way" "params.json planted as a link: the run says so"

fresh p4 plant_link "$TC_WORK/victim" locks/sd.status
tc_run run exp.yaml -q --state-dir p4
expect_eq "$(cat victim)" precious "the status file planted as a link: its target is untouched"
expect_contains "$ERR" "a symbolic link is in the way" "the status file planted as a link: the run says so"

fresh p5 plant_link "$TC_WORK/victim" locks/sd.lock
tc_run run exp.yaml -q --state-dir p5
expect_eq "$(cat victim)" precious "the lock file planted as a link: its target is untouched"

fresh p6 plant_link "$TC_WORK/victimdir" trials
tc_run run exp.yaml -q --state-dir p6
expect_eq "$(ls -A victimdir)" "" "trials/ planted as a link: nothing is made where it points"
expect_contains "$ERR" "a symbolic link is in the way" "trials/ planted as a link: the run says so"

fresh p7 plant_link "$TC_WORK/victim" journal.db
tc_run run exp.yaml -q --state-dir p7
expect_eq "$(cat victim)" precious "journal.db planted as a link: its target is untouched"
expect_contains "$ERR" "a symbolic link is in the way" "journal.db planted as a link: the run says so"

fresh p8 plant_link "$TC_WORK/victim" journal.db-wal
tc_run run exp.yaml -q --state-dir p8
expect_eq "$(cat victim)" precious "journal.db-wal planted as a link: its target is untouched"

fresh p9 ln "$TC_WORK/victim" journal.db
tc_run run exp.yaml -q --state-dir p9
expect_eq "$(cat victim)" precious "journal.db planted as a hard link: its target is untouched"

tc_done
