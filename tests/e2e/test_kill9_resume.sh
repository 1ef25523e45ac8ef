#!/usr/bin/env bash
# kill -9 torture: kill trainctl at many random moments of a sweep, resume
# each time, and check afterwards that every trial ran exactly once and is
# recorded exactly once.  Trials outlive trainctl under their supervisors,
# so no trial may be started twice: a restarted trainctl must adopt it.
set -euo pipefail
TRAINCTL=${TRAINCTL:-$(cd "$(dirname "$0")/../.." && pwd)/build/trainctl}
work=$(mktemp -d)
trap 'pkill -9 -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

cat > trial.sh <<'T'
#!/bin/sh
# one start marker per process start, one end marker per finish
echo "$TRAINCTL_TRIAL" >> "$1/starts"
sleep "$2"
echo "loss=$2 acc=$3"
echo "$TRAINCTL_TRIAL" >> "$1/ends"
T
chmod +x trial.sh
# TC_DURS and TC_NACC make the sweep longer or its trials shorter (short
# trials are handed to the supervisor ahead: killing trainctl then leaves
# trials waiting for a slot in it)
nacc=${TC_NACC:-10}
accs=$(seq -s ', ' 1 "$nacc")
cat > exp.yaml <<EOF
version: 1
name: torture
command: [./trial.sh, "$work", "{{dur}}", "{{acc}}"]
parameters:
  dur: {values: [${TC_DURS:-0.05, 0.1, 0.2, 0.3}]}
  acc: {values: [$accs]}
metric: {name: acc}
run: {parallel: 4}
EOF
ntrials=$((4 * nacc))
kills=0
RANDOM=${TC_SEED:-42}
for round in $(seq 1 200); do
  # until the experiment exists (a kill can land before its creation
  # commits) `run --resume`; then, in turn, `resume` and `run --resume`
  if [ $((round % 2)) -eq 1 ] || ! "$TRAINCTL" ls 2>/dev/null | grep -q '^torture '; then
    "$TRAINCTL" run --resume -q exp.yaml > "run.$round.log" 2>&1 &
  else
    "$TRAINCTL" resume -q torture > "run.$round.log" 2>&1 &
  fi
  pid=$!
  # a random moment: 0 to 150 ms (TC_MAXDELAY_MS) into this round (timing injection, not
  # synchronisation: the checks below do not depend on it)
  ms=$((RANDOM % ${TC_MAXDELAY_MS:-150}))
  delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
  sleep "$delay"
  # only while it is still our unreaped child: bash reaps on its own,
  # and a stale pid may name another test's process
  st=$(cat "/proc/$pid/stat" 2>/dev/null || true)
  st=${st##*) }
  if [ "$(echo "$st" | awk '{print $2}')" = "$$" ] && kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
    continue
  fi
  rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "round $round: trainctl exited $rc"; cat "run.$round.log"; exit 1
  fi
  break
done
echo "killed trainctl $kills times"
[ "$kills" -ge 5 ] || { echo "too few kills ($kills) to mean anything"; exit 1; }

# The journal: every trial succeeded, exactly one succeeded event each.
db=.trainctl/journal.db
state=$(sqlite3 "$db" "select count(*) from trials where exp='torture' and state='succeeded'")
[ "$state" -eq "$ntrials" ] || { echo "succeeded: $state of $ntrials"; sqlite3 "$db" "select id,state from trials"; exit 1; }
dups=$(sqlite3 "$db" "select count(*) from (select trial from events where exp='torture' and state='succeeded' group by trial having count(*) != 1)")
[ "$dups" -eq 0 ] || { echo "trials recorded succeeded more than once: $dups"; exit 1; }
rows=$(sqlite3 "$db" "select count(*) from trials where exp='torture'")
[ "$rows" -eq "$ntrials" ] || { echo "trial rows: $rows"; exit 1; }

# The trials themselves: each started once and finished once.
[ "$(sort starts | uniq | wc -l)" -eq "$ntrials" ] || { echo "distinct starts"; exit 1; }
[ "$(sort starts | uniq -d | wc -l)" -eq 0 ] || { echo "trials started twice:"; sort starts | uniq -d; exit 1; }
[ "$(sort ends | uniq -d | wc -l)" -eq 0 ] || { echo "trials finished twice"; exit 1; }
[ "$(wc -l < ends)" -eq "$ntrials" ] || { echo "ends: $(wc -l < ends)"; exit 1; }

# Metrics survived: every trial's final acc equals its parameter.
bad=$(sqlite3 "$db" "select count(*) from trials t left join final f on f.exp=t.exp and f.trial=t.id and f.name='acc' where t.exp='torture' and (f.value is null or f.value != json_extract(t.params, '\$.acc'))")
[ "$bad" -eq 0 ] || { echo "trials with a wrong or missing final metric: $bad"; exit 1; }
"$TRAINCTL" best torture | grep -q "acc = $nacc" || { echo "best is not acc=$nacc"; exit 1; }
echo "1 passed, 0 failed"
