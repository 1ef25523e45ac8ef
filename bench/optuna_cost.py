"""optuna_cost.py — what one suggestion of Optuna's TPESampler costs with N
observations, on the space of bench/tpe_cost.c (bench/suggest_cost.sh).

    python optuna_cost.py N K

prints "ask MICROSECONDS": the median of K study.ask() calls (each samples
every parameter, as a trial's suggest_* calls do), the study holding N
completed trials (random points scored by the same quadratic), with the
sampler's defaults (n_startup_trials=10, univariate) and a seed.
"""
import random
import statistics
import sys
import time

import optuna
from optuna.distributions import (CategoricalDistribution,
                                  FloatDistribution, IntDistribution)

optuna.logging.set_verbosity(optuna.logging.WARNING)
n, k = int(sys.argv[1]), int(sys.argv[2])
space = {
    "x": FloatDistribution(-2, 2),
    "y": FloatDistribution(-2, 2),
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "n": IntDistribution(1, 20),
    "opt": CategoricalDistribution(["sgd", "adam", "lamb"]),
}
rng = random.Random(1)
study = optuna.create_study(direction="minimize",
                            sampler=optuna.samplers.TPESampler(seed=1))
trials = []
for _ in range(n):
    p = {"x": rng.uniform(-2, 2), "y": rng.uniform(-2, 2),
         "lr": 10 ** rng.uniform(-5, -1), "n": rng.randint(1, 20),
         "opt": rng.choice(["sgd", "adam", "lamb"])}
    trials.append(optuna.trial.create_trial(
        params=p, distributions=space,
        value=(p["x"] - 0.3) ** 2 + (p["y"] + 0.2) ** 2))
study.add_trials(trials)
dt = []
for _ in range(k):
    t0 = time.perf_counter()
    t = study.ask(space)
    dt.append(time.perf_counter() - t0)
    study.tell(t, (t.params["x"] - 0.3) ** 2 + (t.params["y"] + 0.2) ** 2)
print("ask %.1f" % (statistics.median(dt) * 1e6))
