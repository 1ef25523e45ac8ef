#!/usr/bin/env bash
# ddp.sh — issue 17's numbers for the data-parallel fmnist-train, each a
# ratio against a baseline measured in the same run:
#  1. the ring all-reduce over loopback against plain TCP copies of the
#     same bytes (build/ddp-bench: 256 KB — about the CNN's gradient —,
#     4 MB, 32 MB);
#  2. CNN seconds per epoch, 2 ranks × 1 thread (--batch-size 32 each)
#     against 1 rank × 1 thread (--batch-size 64): the same global batch,
#     all 60,000 Fashion-MNIST training images, Adam lr 1e-3;
#  3. the test accuracy of both after --epochs (default 3).
#
#   bench/ddp.sh [--build DIR] [--epochs N] [--train-limit N]
#                [--test-limit N] [--reps N]
#
# The two training runs go one epoch at a time, alternating (each resumes
# its checkpoint), so a change in the machine's load hits both alike;
# per-epoch time is each run's fastest epoch (the least disturbed).  The load average is printed before
# and after: run it with nothing else of yours running.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
EPOCHS=3
LIMIT=0
TLIMIT=0
REPS=20
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift 2 ;;
	--epochs) EPOCHS=$2; shift 2 ;;
	--train-limit) LIMIT=$2; shift 2 ;;
	--test-limit) TLIMIT=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	-h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "ddp.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc)" --target fmnist-train ddp-bench >/dev/null
FMT=$BUILD/fmnist-train
W=$(mktemp -d "${TMPDIR:-/tmp}/ddp_bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== all-reduce (2 ranks, loopback) against plain TCP copies, fastest of $REPS"
"$BUILD/ddp-bench" "$REPS" | column -t
echo

ARGS=(--model cnn --threads 1 --schedule constant --optimizer adam --lr 0.001
      --seed 1 --train-limit "$LIMIT" --test-limit "$TLIMIT")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# One epoch at a time, alternating the two runs (each resumes its own
# checkpoint), so a change in the machine's load hits both alike.
: >"$W/one.out"
: >"$W/two.out"
for e in $(seq 1 "$EPOCHS"); do
	"$FMT" "${ARGS[@]}" --epochs "$e" --batch-size 64 --out "$W/one" \
		2>"$W/one.err" | grep '^epoch=' >>"$W/one.out"
	pids=()
	for r in 0 1; do
		WORLD_SIZE=2 RANK=$r LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 \
			MASTER_PORT=$port "$FMT" "${ARGS[@]}" --epochs "$e" \
			--batch-size 32 --out "$W/two" \
			>"$W/two.$r.out" 2>"$W/two.$r.err" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	grep '^epoch=' "$W/two.0.out" >>"$W/two.out"
done
echo "== CNN, 1 rank x 1 thread, batch 64"
cat "$W/one.out"
echo "== CNN, 2 ranks x 1 thread, batch 32 each (global 64)"
cat "$W/two.out"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$W/one.out" "$W/two.out" <<'PY'
import re, sys
def runs(p):
    ep = [dict(re.findall(r"(\w+)=([0-9.]+)", l)) for l in open(p) if l.startswith("epoch=")]
    return ep, ep[-1]
(e1, f1), (e2, f2) = runs(sys.argv[1]), runs(sys.argv[2])
for key in ("train_seconds", "seconds"):
    a = min(float(e[key]) for e in e1)
    b = min(float(e[key]) for e in e2)
    print("fastest epoch %-13s 1 rank %.2f s, 2 ranks %.2f s: ratio %.2f (goal <= 0.6)" % (key, a, b, b / a))
a, b = float(f1["test_acc"]), float(f2["test_acc"])
print("test_acc after %s epochs: 1 rank %.4f, 2 ranks %.4f: difference %.2f points (goal <= 0.5)"
      % (f1["epoch"], a, b, 100 * abs(a - b)))
PY
