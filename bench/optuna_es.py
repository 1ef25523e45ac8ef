"""Optuna's side of bench/early_stop.sh: the same random search of
fmnist-train as trainctl's, each trial the trainer as a subprocess whose
per-epoch test_acc lines are reported to Optuna (a trial's value is its
last test_acc, as trainctl ranks by a metric's last value), pruned by its
SuccessiveHalvingPruner (min_resource 1, reduction_factor 3) when it says
so (the process is killed).  Prints one JSON line: best test_acc, the
trainer-seconds spent (CPU seconds, user + system, of every trainer
process: single-threaded, so its compute whatever else the machine
runs), trials pruned.
"""
import json
import os
import subprocess
import sys

import optuna

trials, parallel, seed, epochs, limit, pruner_on = (
    int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
    int(sys.argv[5]), sys.argv[6] == "prune")
trainer = sys.argv[7]
spent = []


def objective(trial):
    lr = trial.suggest_float("lr", 1e-4, 3e-1, log=True)
    wd = trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True)
    hidden = trial.suggest_categorical("hidden", [64, 128, 256])
    batch = trial.suggest_categorical("batch_size", [32, 64, 128])
    opt = trial.suggest_categorical("optimizer", ["sgd", "momentum", "adam"])
    argv = [trainer, "--lr", repr(lr), "--weight-decay", repr(wd),
            "--hidden", str(hidden), "--batch-size", str(batch),
            "--optimizer", opt, "--epochs", str(epochs),
            "--train-limit", str(limit), "--test-limit", "2000",
            "--threads", "1"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    last = 0.0
    try:
        for line in p.stdout:
            kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
            if "epoch" not in kv or "test_acc" not in kv:
                continue
            last, epoch = float(kv["test_acc"]), int(kv["epoch"])
            trial.report(last, epoch)
            if pruner_on and trial.should_prune():
                p.kill()
                raise optuna.TrialPruned()
    finally:
        # reaped here, not by Popen, for the process's own rusage
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = status
        spent.append(ru.ru_utime + ru.ru_stime)
    return last


optuna.logging.set_verbosity(optuna.logging.WARNING)
pruner = (optuna.pruners.SuccessiveHalvingPruner(
    min_resource=1, reduction_factor=3) if pruner_on
    else optuna.pruners.NopPruner())
study = optuna.create_study(direction="maximize",
                            sampler=optuna.samplers.RandomSampler(seed=seed),
                            pruner=pruner)
study.optimize(objective, n_trials=trials, n_jobs=parallel)
done = [t for t in study.trials if t.value is not None]
pruned = [t for t in study.trials
          if t.state == optuna.trial.TrialState.PRUNED]
# a pruned trial's last value counts, as trainctl's results count it
vals = [t.value for t in done] + [
    t.intermediate_values[max(t.intermediate_values)]
    for t in pruned if t.intermediate_values]
print(json.dumps({"best": max(vals), "seconds": sum(spent),
                  "pruned": len(pruned), "trials": len(study.trials)}))
