#!/usr/bin/env bash
# early_stop.sh — what early stopping saves on a real search: a random
# search of fmnist-train (MLP; lr, weight decay, hidden width, batch size,
# optimizer; 10 epochs on the first 10,000 training images) run three
# ways at the same budget and parallelism, per seed:
#   trainctl, no early stopping;
#   trainctl, early_stop: asha (min_step 1, max_step 10, reduction 3);
#   Optuna (random sampler), SuccessiveHalvingPruner (min_resource 1,
#   reduction_factor 3), the trainer run as a subprocess per trial.
# For each: the best test_acc (a trial's last reported value, pruned
# trials included) and the trainer-seconds spent (CPU seconds, user +
# system, of every trainer process: --threads 1, so that is its compute
# even when other work shares the machine).  Optuna comes from PyPI into
# the tests' virtualenv (scripts/install.sh --tests).
#
#   bench/early_stop.sh [--trials 40] [--seeds "1 2 3"] [--parallel 2]
. "$(dirname "$0")/common.sh"
TRIALS=40 SEEDS="1 2 3" PARALLEL=2 EPOCHS=10 LIMIT=10000
while [ $# -gt 0 ]; do
	case $1 in
	--trials) TRIALS=$2; shift 2 ;;
	--seeds) SEEDS=$2; shift 2 ;;
	--parallel) PARALLEL=$2; shift 2 ;;
	*) echo "early_stop.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
# Optuna: in the virtualenv `scripts/install.sh --tests` fills (as for
# bench/suggest_cost.sh)
venv=${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-mlflow
"$venv/bin/python" -c "import optuna" 2>/dev/null || bash "$BENCH_ROOT/scripts/install.sh" --tests
cmake --build "$BENCH_ROOT/build-bench" -j "$(nproc)" --target fmnist-train >/dev/null
TRAINER="$BENCH_ROOT/build-bench/fmnist-train"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

spec() { # NAME SEED EARLY_STOP-LINE
	cat <<Y
version: 1
name: $1
command: [$TRAINER, --lr, "{{lr}}", --weight-decay, "{{weight_decay}}",
          --hidden, "{{hidden}}", --batch-size, "{{batch_size}}",
          --optimizer, "{{optimizer}}", --epochs, "$EPOCHS",
          --train-limit, "$LIMIT", --test-limit, "2000", --threads, "1"]
parameters:
  lr: {distribution: log_uniform, min: 1.0e-4, max: 3.0e-1}
  weight_decay: {distribution: log_uniform, min: 1.0e-6, max: 1.0e-2}
  hidden: {values: [64, 128, 256]}
  batch_size: {values: [32, 64, 128]}
  optimizer: {values: [sgd, momentum, adam]}
search: {method: random, trials: $TRIALS, seed: $2}
metric: {name: test_acc, goal: maximize}
run: {parallel: $PARALLEL}
$3
Y
}

# trainctl's best test_acc (pruned trials too) and trainer-seconds
tc_measure() { # NAME SPEC
	"$TRAINCTL" run "$2" --state-dir "$work/st" --quiet >/dev/null || true
	python3 - "$("$TRAINCTL" results "$1" --state-dir "$work/st" --format json)" \
		"$("$TRAINCTL" report "$1" --state-dir "$work/st" --format json)" <<'PY'
import json, sys
res, rep = json.loads(sys.argv[1]), json.loads(sys.argv[2])
vals = [t["test_acc"] for t in res["trials"] if isinstance(t.get("test_acc"), (int, float))]
pruned = sum(t["state"] == "pruned" for t in rep["trials"])
print(json.dumps({"best": max(vals), "seconds": rep["total"]["cpu_seconds"], "pruned": pruned}))
PY
}

printf '%-5s %-26s %9s %10s %7s\n' seed run best_acc trainer_s pruned
for seed in $SEEDS; do
	spec "es-none-$seed" "$seed" "" >"$work/none.yaml"
	spec "es-asha-$seed" "$seed" "early_stop: {method: asha, min_step: 1, max_step: $EPOCHS, reduction_factor: 3}" >"$work/asha.yaml"
	none=$(tc_measure "es-none-$seed" "$work/none.yaml")
	asha=$(tc_measure "es-asha-$seed" "$work/asha.yaml")
	opt=$("$venv/bin/python" "$BENCH_ROOT/bench/optuna_es.py" "$TRIALS" "$PARALLEL" "$seed" "$EPOCHS" "$LIMIT" prune "$TRAINER")
	python3 - "$seed" "$none" "$asha" "$opt" <<'PY'
import json, sys
seed = sys.argv[1]
rows = [("trainctl, no early stop", json.loads(sys.argv[2])),
        ("trainctl, asha", json.loads(sys.argv[3])),
        ("optuna, successive halving", json.loads(sys.argv[4]))]
for name, r in rows:
    print("%-5s %-26s %9.4f %10.1f %7d" % (seed, name, r["best"], r["seconds"], r["pruned"]))
n, a, o = rows[0][1], rows[1][1], rows[2][1]
print("%-5s saving: asha %.2fx fewer trainer-seconds than none (best %+.2f pp); optuna %.2fx (best %+.2f pp)"
      % (seed, n["seconds"] / a["seconds"], 100 * (a["best"] - n["best"]),
         n["seconds"] / o["seconds"], 100 * (o["best"] - n["best"])))
PY
done
