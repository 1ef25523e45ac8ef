#!/usr/bin/env python3
"""A stand-in trainer for the W&B import tests: takes its parameters as
W&B's ${args} passes them (--name=value), or as a JSON argument or file,
and reports val_loss per epoch as name=value lines, plus what it got."""
import json
import sys

args = {}
for a in sys.argv[1:]:
    if a.startswith("--") and "=" in a:
        k, v = a[2:].split("=", 1)
        args[k] = v
    elif a.startswith("{"):
        args.update({k: str(v) for k, v in json.loads(a).items()})
    elif a.endswith(".json"):
        with open(a) as f:
            args.update({"file." + k: str(v) for k, v in json.load(f).items()})
    elif "=" in a:
        k, v = a.split("=", 1)
        args["nh." + k] = v

lr = float(args.get("learning_rate", args.get("nh.lr", "0.01")))
epochs = int(args.get("epochs", "2"))
for e in range(1, epochs + 1):
    print("epoch=%d val_loss=%.6f" % (e, abs(lr - 0.01) + 1.0 / e))
print("seen_lr=%s nargs=%d" % (args.get("learning_rate", "nan"), len(args)))
with open("seen-%s.json" % args.get("tag", "x"), "w") as f:
    json.dump(args, f)
