#!/usr/bin/env bash
# examples/geo-pipeline/pipeline.yaml through the real binary on four
# small generated scenes: normalise, label and chip per scene (item-wise
# over one glob), split (a gather), a 2×2 sweep of fmnist-train, one
# --eval-only test per trained model, and the summary table: one row per
# model, whose scores are the ones its training run ended with, and no
# scene on both sides of the split.  Then the cache: a second experiment
# of the same stages runs nothing, and a changed scene reruns its own
# three jobs and everything from the split on, nothing else.
. "$(dirname "$0")/lib.sh"

for p in geo-gen geo-normalise geo-label geo-chip geo-split fmnist-train; do
	if [ ! -x "$TC_BUILD_DIR/$p" ]; then
		echo "FAIL no $p in $TC_BUILD_DIR (build first)"
		exit 1
	fi
done
command -v jq >/dev/null || { echo "FAIL jq is needed (scripts/install.sh)"; exit 1; }
PATH="$TC_BUILD_DIR:$PATH"
ex="$TC_SOURCE_DIR/examples/geo-pipeline"

mkdir p && cp "$ex/pipeline.yaml" "$ex/summary.sh" p/
for s in 1 2 3 4; do
	mkdir -p p/scenes/scene$s
	geo-gen --seed $s --classes 3 p/scenes/scene$s/image.tif p/scenes/scene$s/mask.tif >/dev/null ||
		fail "geo-gen scene$s"
done

tc_run validate p/pipeline.yaml
expect_rc 0 "pipeline.yaml validates"
tc_run plan p/pipeline.yaml
expect_contains "$OUT" "7 stages, 22 jobs" "plan: 4 scenes × 3 stages, split, 4 models × 2, summary"
expect_match "$OUT" "^test +4 +trials of train" "plan: one test job per trained model"

TC_TIMEOUT=300 tc_run run p/pipeline.yaml --state-dir st -q
expect_rc 0 "the pipeline runs to the end"
J=st/journal.db
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'geo' AND state = 'succeeded'")" 22 "every job succeeded"
sum=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'geo' AND stage = 'summary'")
split=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'geo' AND stage = 'split'")
expect_file "st/trials/$sum/summary.tsv" "the summary table exists"
sqlite3 $J "SELECT id FROM trials WHERE exp = 'geo' AND stage = 'train'" >train.ids
pycheck "one summary row per trained model, with the scores its training ended with" st "$sum" <<'PY'
import json, re, sys
st, sid = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t") for l in open("%s/trials/%s/summary.tsv" % (st, sid))]
check(rows[0] == ["test_acc", "test_loss", "lr", "hidden", "job"], "header %s" % rows[0])
rows = rows[1:]
train = [l.strip() for l in open("train.ids") if l.strip()]
check(len(rows) == len(train) == 4, "%d rows for %d models" % (len(rows), len(train)))
want = {}
for t in train:
    p = json.load(open("%s/trials/%s/params.json" % (st, t)))
    fin = [l for l in open("%s/trials/%s/stdout.log" % (st, t)) if l.startswith("final ")][-1]
    m = dict(kv.split("=") for kv in fin.split()[1:])
    want[(str(p["lr"]), str(p["hidden"]))] = (m["test_acc"], m["test_loss"])
got = {(r[2], r[3]): (r[0], r[1]) for r in rows}
check(got == want, "summary %s, training runs %s" % (got, want))
accs = [float(r[0]) for r in rows]
check(accs == sorted(accs, reverse=True), "rows are not best first: %s" % accs)
PY
pycheck "the split keeps every scene on one side, and all four are used" "st/trials/$split/data/split.txt" <<'PY'
import sys
lines = [l.split() for l in open(sys.argv[1])]
scenes = [s for _, s, _ in lines]
check(sorted(scenes) == ["scene1", "scene2", "scene3", "scene4"], "scenes %s" % scenes)
check(len(set(scenes)) == len(scenes), "a scene listed twice: %s" % lines)
check(sorted(set(side for side, _, _ in lines)) == ["test", "train"], "sides %s" % lines)
PY
for f in data_batch_1.bin test_batch.bin; do
	n=$(stat -c %s "st/trials/$split/data/$f")
	[ "$n" -gt 0 ] && [ $((n % 3073)) -eq 0 ] && pass "$f: $n bytes, whole CIFAR-10 records" ||
		fail "$f: $n bytes"
done
tc_run status geo --state-dir st
expect_match "$OUT" "^test +4 .*4 succeeded" "status: four test jobs"

# ---- the cache ------------------------------------------------------------
sed 's/^name: geo$/name: geo2/' p/pipeline.yaml >p/pipeline2.yaml
tc_run run p/pipeline2.yaml --state-dir st -q
expect_rc 0 "a second experiment of the same stages"
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'geo2' AND state = 'succeeded' AND reason LIKE 'cached: geo/%'")" 22 \
	"every job of it is cached from the first"
sum2=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'geo2' AND stage = 'summary'")
cmp -s "st/trials/$sum/summary.tsv" "st/trials/$sum2/summary.tsv" &&
	pass "the cached summary job has the summary table" || fail "cached summary.tsv"
split2=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'geo2' AND stage = 'split'")
cmp -s "st/trials/$split/data/test_batch.bin" "st/trials/$split2/data/test_batch.bin" &&
	pass "the cached split job has the data directory" || fail "cached split data"
geo-gen --seed 9 --classes 3 p/scenes/scene2/image.tif p/scenes/scene2/mask.tif >/dev/null
TC_TIMEOUT=300 tc_run resume geo2 --state-dir st -q
expect_rc 0 "resume after scene2 changed"
ran() { sqlite3 $J "SELECT stage || coalesce('[' || replace(item, 'scenes/', '') || ']', '') FROM trials WHERE exp = 'geo2' AND stage $1 AND state = 'succeeded' AND coalesce(reason, '') NOT LIKE 'cached:%' ORDER BY idx" | tr '\n' ' '; }
expect_eq "$(ran "IN ('normalise', 'label', 'chip')")" "normalise[scene2] label[scene2] chip[scene2] " \
	"only scene2's normalise, label and chip ran again"
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'geo2' AND stage IN ('split', 'train', 'test', 'summary') AND state = 'succeeded' AND coalesce(reason, '') = ''")" 10 \
	"split, the 4 trainings, the 4 tests and the summary ran again"

tc_done
