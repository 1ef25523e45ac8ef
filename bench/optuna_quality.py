"""Optuna's side of bench/search_quality.sh: one TPE study (TPESampler with
its defaults and a seed) of an objective of bench/objectives.c, each trial
the objective program run as a subprocess, as trainctl runs it.

    python optuna_quality.py OBJECTIVE SEED TRIALS PROGRAM [univariate]

With "univariate", TPESampler(multivariate=False): one density per
parameter, as in the original TPE (Optuna's default for one objective
is the multivariate form).

prints the trials' values, in trial order, as a JSON list.
"""
import json
import subprocess
import sys

import optuna

obj, seed, trials, program = (sys.argv[1], int(sys.argv[2]),
                              int(sys.argv[3]), sys.argv[4])
univariate = sys.argv[5:] == ["univariate"]


def space(trial):
    if obj == "fmnist":
        return {"lr": trial.suggest_float("lr", 1e-4, 3e-1, log=True),
                "weight_decay": trial.suggest_float("weight_decay", 1e-6,
                                                    1e-2, log=True),
                "hidden": trial.suggest_categorical("hidden", [64, 128, 256]),
                "batch_size": trial.suggest_categorical("batch_size",
                                                        [32, 64, 128]),
                "optimizer": trial.suggest_categorical(
                    "optimizer", ["sgd", "momentum", "adam"])}
    if obj == "branin":
        return {"x1": trial.suggest_float("x1", -5, 10),
                "x2": trial.suggest_float("x2", 0, 15)}
    p = {"x%d" % j: trial.suggest_float("x%d" % j, 0, 1) for j in range(1, 7)}
    if obj == "noisy10":
        p["lr"] = trial.suggest_float("lr", 1e-4, 1, log=True)
        p["layers"] = trial.suggest_int("layers", 1, 8)
        p["opt"] = trial.suggest_categorical("opt", ["sgd", "adam", "lamb"])
        if p["opt"] == "sgd":
            p["momentum"] = trial.suggest_float("momentum", 0, 0.99)
    return p


def objective(trial):
    argv = [program, obj] + ["--%s=%s" % (k, v) for k, v in space(trial).items()]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return float(out.split("value=")[1])


optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(direction="minimize",
                            sampler=optuna.samplers.TPESampler(
                                seed=seed,
                                multivariate=False if univariate else None))
study.optimize(objective, n_trials=trials)
print(json.dumps([t.value for t in study.trials]))
