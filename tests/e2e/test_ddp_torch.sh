#!/usr/bin/env bash
# The rendezvous contract checked against the real thing: a PyTorch DDP
# script (gloo, init_process_group from the environment, an all_reduce and
# one step of a tiny model under DistributedDataParallel) run by `nodes: 2`
# on the local backend.  PyTorch is Debian's python3-torch, run with
# /usr/bin/python3 (scripts/install.sh --tests installs it); the test is
# skipped (exit 77) only when that python cannot import torch.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! "$PY" -c 'import torch, torch.distributed as d; assert d.is_gloo_available()' 2>/dev/null; then
	echo "skip: $PY cannot import torch with gloo (scripts/install.sh --tests installs python3-torch)"
	exit 77
fi

cat > ddp.py <<'PY'
import json, os
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")  # env://: RANK, WORLD_SIZE, MASTER_*
rank, world = dist.get_rank(), dist.get_world_size()
assert rank == int(os.environ["RANK"]) and world == int(os.environ["WORLD_SIZE"])

t = torch.tensor([float(rank + 1)])
dist.all_reduce(t)  # sum: 1 + 2 + ... + world
print("allreduce=%g" % t.item(), flush=True)

def data(r):
    g = torch.Generator().manual_seed(100 + r)  # each rank its own batch
    return torch.randn(8, 4, generator=g), torch.randn(8, 1, generator=g)

torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
init = [p.detach().clone() for p in model.parameters()]
ddp = DDP(model)
opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
x, y = data(rank)
loss = ((ddp(x) - y) ** 2).mean()
loss.backward()  # gradients averaged over the ranks
opt.step()
after = torch.cat([p.detach().flatten() for p in model.parameters()])

# what one process computes with the mean of every rank's gradient
ref = torch.nn.Linear(4, 1)
with torch.no_grad():
    for p, q in zip(ref.parameters(), init):
        p.copy_(q)
grads = [torch.zeros_like(p) for p in ref.parameters()]
for r in range(world):
    ref.zero_grad()
    xr, yr = data(r)
    ((ref(xr) - yr) ** 2).mean().backward()
    for g, p in zip(grads, ref.parameters()):
        g += p.grad / world
expect = torch.cat([(q - 0.1 * g).flatten() for q, g in zip(init, grads)])
print("match=%d" % int(torch.allclose(after, expect, atol=1e-6)), flush=True)

with open(os.path.join(os.environ["TRAINCTL_TRIAL_DIR"], "params.%d.json" % rank), "w") as f:
    json.dump({"after": after.tolist(),
               "init": torch.cat([q.flatten() for q in init]).tolist()}, f)
dist.barrier()
dist.destroy_process_group()
PY

cat > ddp.yaml <<EOF
version: 1
name: ddp
command: [$PY, ddp.py]
nodes: 2
metric: {name: allreduce}
parameters:
  x: {values: [1]}
EOF

tc_run run ddp.yaml
expect_rc 0 "a DDP script runs with nodes: 2 on the local backend"
tc_run metrics ddp 0
expect_match "$OUT" ",allreduce,3," "all_reduce over 2 ranks: 1 + 2 = 3 (rank 0's value)"
expect_match "$OUT" ",match,1," "the step equals one over the mean of both ranks' gradients"
tc_run logs ddp 0 --rank 1
expect_contains "$OUT" "allreduce=3" "rank 1 got the same sum"
expect_contains "$OUT" "match=1" "rank 1's step matches too"
dir=.trainctl/trials/$(trial_ids ddp.yaml | head -n 1)
pycheck "both ranks' parameters agree after the step, and it moved them" \
	"$dir/params.0.json" "$dir/params.1.json" <<'PY'
a, b = load(sys.argv[1]), load(sys.argv[2])
check(a["init"] == b["init"], "DDP broadcast rank 0's initial weights")
check(all(abs(p - q) < 1e-7 for p, q in zip(a["after"], b["after"])),
      "ranks disagree: %s vs %s" % (a["after"], b["after"]))
check(any(abs(p - q) > 1e-6 for p, q in zip(a["after"], a["init"])),
      "the step changed nothing")
PY

tc_done
