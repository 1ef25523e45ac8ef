#!/usr/bin/env bash
# examples/fashion-mnist/pipeline.yaml, shortened (3,000 training and 1,000
# validation images, one epoch), run through trainctl with the real
# trainer on real Fashion-MNIST data:
#   - prepare → train (4 models) → test (one per trained model, on the
#     official test set) → summary: a line per model, best first, each
#     score the one its test job recorded;
#   - the test job of a model scores the model its train job saved (its
#     test_acc is not the train job's validation score);
#   - run again as a new experiment: nothing runs, every job cached;
#   - split.sh changed: everything runs again (it is prepare's input).
. "$(dirname "$0")/lib.sh"
ex="$TC_SOURCE_DIR/examples/fashion-mnist"
data=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}
if [ ! -r "$data/train-images-idx3-ubyte.gz" ]; then
	fail "no Fashion-MNIST in $data (scripts/install.sh installs it)"
	tc_done
fi

tc_run validate "$ex/pipeline.yaml"
expect_rc 0 "examples/fashion-mnist/pipeline.yaml validates"
expect_contains "$OUT" "10 jobs in 4 stages" "prepare, 4 x train, 4 x test, summary"

mkdir fm && cp "$ex/pipeline.yaml" "$ex/split.sh" fm/
sed -i 's/50000 10000/3000 1000/; s/--epochs, "3"/--epochs, "1"/' fm/pipeline.yaml
tc_run run fm/pipeline.yaml -q
expect_rc 0 "the pipeline runs"
J=.trainctl/journal.db
expect_eq "$(sqlite3 $J "SELECT stage || ':' || count(*) FROM trials WHERE exp = 'fmnist-pipeline' AND state = 'succeeded' GROUP BY stage ORDER BY min(idx)" | tr '\n' ' ')" \
	"prepare:1 train:4 test:4 summary:1 " "every job succeeded"
tc_run logs fmnist-pipeline summary
expect_rc 0 "logs NAME summary"
pycheck "the summary: one line per model, best first, the test jobs' scores" "$OUT" "$J" <<'PY'
import sqlite3
lines = sys.argv[1].strip().split("\n")
check(lines[0].split() == ["test_acc", "parameters"], "header %r" % lines[0])
rows = [l.split() for l in lines[1:]]
check(len(rows) == 4, "four models: %r" % rows)
accs = [float(r[0]) for r in rows]
check(accs == sorted(accs, reverse=True), "best first: %r" % accs)
db = sqlite3.connect(sys.argv[2])
got = sorted(round(v, 4) for (v,) in db.execute(
    "SELECT f.value FROM final f JOIN trials t ON t.exp = f.exp AND t.id = f.trial "
    "WHERE t.exp = 'fmnist-pipeline' AND t.stage = 'test' AND f.name = 'test_acc'"))
check(sorted(round(a, 4) for a in accs) == got, "scores %r vs the test jobs' %r" % (accs, got))
check(all(0.4 < a < 1 for a in accs), "the models learned something: %r" % accs)
# each test job scored its own model on the 10,000 test images
for tid, item, n in db.execute(
        "SELECT t.id, t.item, f.value FROM trials t JOIN final f ON f.exp = t.exp AND f.trial = t.id "
        "WHERE t.exp = 'fmnist-pipeline' AND t.stage = 'test' AND f.name = 'test_images'"):
    check(n == 10000, "test job %s: %r test images" % (tid, n))
    (params_t,), = db.execute("SELECT params FROM trials WHERE exp = 'fmnist-pipeline' AND id = ?", (tid,))
    (params_m,), = db.execute("SELECT params FROM trials WHERE exp = 'fmnist-pipeline' AND id = ?", (item,))
    check(params_t == params_m, "test job %s has its model's parameters" % tid)
PY

# ---- the same pipeline again: all cached ------------------------------------
sed 's/^name: fmnist-pipeline/name: fmnist-pipeline2/' fm/pipeline.yaml >fm/again.yaml
tc_run run fm/again.yaml -q
expect_rc 0 "a second experiment of the same pipeline"
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'fmnist-pipeline2' AND reason LIKE 'cached: fmnist-pipeline/%'")" 10 \
	"every job cached"
s2=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'fmnist-pipeline2' AND stage = 'summary'")
s1=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'fmnist-pipeline' AND stage = 'summary'")
expect_eq "$(cat .trainctl/trials/$s2/summary.txt)" "$(cat .trainctl/trials/$s1/summary.txt)" \
	"the cached summary is the first one's"

# ---- prepare's input changed: everything after it runs again -------------
echo "# changed" >>fm/split.sh
tc_run resume fmnist-pipeline -q
expect_rc 0 "resume after split.sh changed"
expect_eq "$(sqlite3 $J "SELECT count(*) FROM events e JOIN trials t ON t.exp = e.exp AND t.id = e.trial WHERE e.exp = 'fmnist-pipeline' AND e.state = 'running'")" 20 \
	"every job ran a second time (10 jobs, 2 runs each)"
tc_done
