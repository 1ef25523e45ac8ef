#!/usr/bin/env bash
# search_quality.sh — the best value found at equal budgets: trainctl's
# tpe, random and sobol search against Optuna's TPE (TPESampler, its
# defaults), on Branin, Hartmann-6 and a 10-parameter noisy function with
# categorical and conditional parameters, and the real Fashion-MNIST
# trainer (MLP, 2 epochs on the first 5,000 training images, tested on
# 2,000; lr x weight decay x hidden x batch x optimizer; the value is the
# test error) — bench/objectives.c, run as the trial program by both
# tools: Optuna through subprocess.  Per objective
# and method: the median and quartiles over the seeds of the best value
# after 25, 50 and 100 trials (all minimised).  trainctl runs one trial at
# a time, as Optuna's study.optimize does.
#
#   bench/search_quality.sh [--seeds N] [--trials T] [--objectives "branin ..."]
#                           [--methods "tpe random sobol optuna optuna-univ"]
#
# --methods runs only some rows (all by default), e.g. `--methods tpe` to
# re-measure trainctl's tpe alone on the trainer, whose runs are long:
# every row depends only on its method, objective and seed.
. "$(dirname "$0")/common.sh"
SEEDS=20 TRIALS=100 OBJECTIVES="branin hartmann6 noisy10 fmnist"
METHODS="tpe random sobol optuna optuna-univ"
while [ $# -gt 0 ]; do
	case $1 in
	--seeds) SEEDS=$2; shift 2 ;;
	--trials) TRIALS=$2; shift 2 ;;
	--objectives) OBJECTIVES=$2; shift 2 ;;
	--methods) METHODS=$2; shift 2 ;;
	*) echo "search_quality.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
venv=${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-mlflow
"$venv/bin/python" -c "import optuna" 2>/dev/null || bash "$BENCH_ROOT/scripts/install.sh" --tests
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
OBJ="$work/objectives"
cc -O2 -o "$OBJ" "$BENCH_ROOT/bench/objectives.c" -lm
cmake --build "$BENCH_ROOT/build-bench" -j "$(nproc)" --target fmnist-train >/dev/null
export FMNIST_TRAINER="$BENCH_ROOT/build-bench/fmnist-train"
export FMNIST_ARGS="--model mlp --epochs 2 --train-limit 5000 --test-limit 2000 --threads 1"

params() { # OBJECTIVE: the parameters: section
	case $1 in
	branin) printf '  x1: {distribution: uniform, min: -5, max: 10}\n  x2: {distribution: uniform, min: 0, max: 15}\n' ;;
	fmnist)
		printf '  lr: {distribution: log_uniform, min: 1.0e-4, max: 3.0e-1}\n'
		printf '  weight_decay: {distribution: log_uniform, min: 1.0e-6, max: 1.0e-2}\n'
		printf '  hidden: {values: [64, 128, 256]}\n'
		printf '  batch_size: {values: [32, 64, 128]}\n'
		printf '  optimizer: {values: [sgd, momentum, adam]}\n' ;;
	*)
		for j in 1 2 3 4 5 6; do printf '  x%d: {distribution: uniform, min: 0, max: 1}\n' "$j"; done
		if [ "$1" = noisy10 ]; then
			printf '  lr: {distribution: log_uniform, min: 1.0e-4, max: 1}\n'
			printf '  layers: {distribution: int_uniform, min: 1, max: 8}\n'
			printf '  opt: {values: [sgd, adam, lamb]}\n'
			printf '  momentum: {distribution: uniform, min: 0, max: 0.99, when: {opt: sgd}}\n'
		fi ;;
	esac
}

: >"$work/values.jsonl"
for obj in $OBJECTIVES; do
	for seed in $(seq 1 "$SEEDS"); do
		for method in tpe random sobol; do
			case " $METHODS " in *" $method "*) ;; *) continue ;; esac
			name="q-$obj-$method-$seed"
			{
				printf 'version: 1\nname: %s\n' "$name"
				printf 'command: [%s, %s, "{{args}}"]\n' "$OBJ" "$obj"
				printf 'parameters:\n'
				params "$obj"
				printf 'search: {method: %s, trials: %d, seed: %d}\n' "$method" "$TRIALS" "$seed"
				printf 'metric: {name: value, goal: minimize}\n'
			} >"$work/$name.yaml"
			"$TRAINCTL" run "$work/$name.yaml" --state-dir "$work/st" --quiet >/dev/null
			"$TRAINCTL" results "$name" --state-dir "$work/st" --format json |
				python3 -c 'import json,sys; d=json.load(sys.stdin); t=sorted(d["trials"], key=lambda r: r["index"]); print(json.dumps({"obj": sys.argv[1], "method": "trainctl " + sys.argv[2], "values": [r.get("value") for r in t]}))' "$obj" "$method" >>"$work/values.jsonl"
		done
		for method in optuna optuna-univ; do
			case " $METHODS " in *" $method "*) ;; *) continue ;; esac
			if [ "$method" = optuna ]; then row="optuna tpe" univ=; else row="optuna tpe univ." univ=univariate; fi
			# shellcheck disable=SC2086 # $univ: no argument when empty
			"$venv/bin/python" "$BENCH_ROOT/bench/optuna_quality.py" "$obj" "$seed" "$TRIALS" "$OBJ" $univ |
				python3 -c 'import json,sys; print(json.dumps({"obj": sys.argv[1], "method": sys.argv[2], "values": json.load(sys.stdin)}))' "$obj" "$row" >>"$work/values.jsonl"
		done
	done
done
python3 - "$work/values.jsonl" "$TRIALS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
trials = int(sys.argv[2])
budgets = [b for b in (25, 50, 100) if b <= trials]
groups = {}
for r in rows:
    groups.setdefault((r["obj"], r["method"]), []).append(r["values"])
print("%-10s %-17s " % ("objective", "method") +
      " ".join("%-28s" % ("best after %d: median [q1, q3]" % b) for b in budgets))
for (obj, method), runs in groups.items():
    cells = []
    for b in budgets:
        best = [min(v for v in vals[:b] if v is not None) for vals in runs]
        q = statistics.quantiles(best, n=4) if len(best) > 1 else best * 3
        cells.append("%-28s" % ("%.4g [%.4g, %.4g]" % (statistics.median(best), q[0], q[2])))
    print("%-10s %-17s " % (obj, method) + " ".join(cells))
PY
