#!/usr/bin/env bash
# fmnist_vs_torch.sh — seconds per training epoch of fmnist-train (C,
# OpenBLAS) against PyTorch on the CPU, for the MLP (784-256-10) and the
# CNN (conv3×3 32 → pool → conv3×3 64 → pool → linear), same data
# (Fashion-MNIST, all 60,000 training images), same batch size (64), same
# optimizer (Adam, lr 1e-3), same thread count on both sides, measured in
# the same run.  Also measures the machine's sgemm peak (bench/sgemm_peak.c)
# and reports the fraction of it the MLP's training loop reaches.
#
#   bench/fmnist_vs_torch.sh [--threads "1 2"] [--build DIR]
#                            [--mlp-epochs N] [--cnn-epochs N] [--no-cnn]
#
# PyTorch is needed only here: if `python3 -c "import torch"` fails, the
# script makes a virtualenv ($TORCH_VENV, default ~/.cache/trainctl-bench/
# torch-venv) and pip-installs torch and numpy from PyPI into it (a large
# download the first time).  Each side's per-epoch time is the fastest of
# its epochs after the first (the first pays one-time warm-up; taking the
# fastest keeps other load on the machine from biasing one side).
# OPENBLAS_CORETYPE, if set in the environment, is left alone and reported.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
THREADS="1 2"
MLP_EPOCHS=4
CNN_EPOCHS=3
CNN=1
DATA=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}

while [ $# -gt 0 ]; do
	case $1 in
	--threads) THREADS=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--mlp-epochs) MLP_EPOCHS=$2; shift 2 ;;
	--cnn-epochs) CNN_EPOCHS=$2; shift 2 ;;
	--no-cnn) CNN=0; shift ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "fmnist_vs_torch.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
for n in $MLP_EPOCHS $CNN_EPOCHS; do
	[ "$n" -ge 2 ] 2>/dev/null || { echo "fmnist_vs_torch.sh: epochs must be >= 2" >&2; exit 2; }
done

# --- the C side ---------------------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc)" --target fmnist-train sgemm-peak >/dev/null
FMT=$BUILD/fmnist-train
PEAK=$BUILD/sgemm-peak

# --- the PyTorch side -----------------------------------------------------
PY=python3
if ! "$PY" -c "import torch, numpy" 2>/dev/null; then
	VENV=${TORCH_VENV:-$HOME/.cache/trainctl-bench/torch-venv}
	if ! "$VENV/bin/python" -c "import torch, numpy" 2>/dev/null; then
		echo "fmnist_vs_torch.sh: installing PyTorch into $VENV (once)" >&2
		python3 -m venv "$VENV"
		"$VENV/bin/pip" install -q torch numpy
	fi
	PY=$VENV/bin/python
fi

T=$(mktemp -d /tmp/fmnist_bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

# fastest train_seconds over epochs 2..N of a log of epoch lines
per_epoch() {
	python3 - "$1" <<'PY'
import re, sys
v = [float(m.group(2)) for m in (re.search(r"\bepoch=(\d+) .*train_seconds=([0-9.]+)", l)
     for l in open(sys.argv[1])) if m and int(m.group(1)) >= 2]
print(f"{min(v):.3f}")
PY
}
last_acc() { grep -oE 'test_acc=[0-9.]+' "$1" | tail -1 | cut -d= -f2; }

echo "# fmnist-train vs PyTorch, $(date -u +%Y-%m-%d), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# torch $("$PY" -c 'import torch; print(torch.__version__)'), OpenBLAS core $("$PEAK" 1 | sed -nE 's/.*core=(.*)/\1/p'), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
echo
echo "| model | threads | fmnist-train s/epoch | PyTorch s/epoch | ratio (C/torch) | C test_acc | torch test_acc |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
PEAKS=""
MLP_GFLOPS=""
for t in $THREADS; do
	export OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t
	peak=$("$PEAK" "$t" | sed -nE 's/^peak_gflops=([0-9.]+).*/\1/p')
	PEAKS="$PEAKS $t:$peak"
	models="mlp"
	[ "$CNN" -eq 1 ] && models="mlp cnn"
	for m in $models; do
		e=$MLP_EPOCHS
		[ "$m" = cnn ] && e=$CNN_EPOCHS
		common=(--model "$m" --epochs "$e" --batch-size 64 --lr 0.001 --threads "$t" --data "$DATA")
		"$FMT" "${common[@]}" --optimizer adam >"$T/c.log" 2>/dev/null
		"$PY" "$ROOT/bench/torch_fmnist.py" "${common[@]}" >"$T/py.log" 2>/dev/null
		c=$(per_epoch "$T/c.log")
		p=$(per_epoch "$T/py.log")
		ratio=$(python3 -c "print(f'{$c / $p:.2f}')")
		echo "| $m | $t | $c | $p | $ratio | $(last_acc "$T/c.log") | $(last_acc "$T/py.log") |"
		if [ "$m" = mlp ]; then
			# GEMM work of one MLP epoch, 784-256-10, 60,000 images:
			# forward 2·(784·256 + 256·10), weight gradients the same,
			# input gradient of the second layer 2·256·10 (none for the
			# first): 2·256·(784+10+784+10+10) = 818,176 flop an image.
			g=$(python3 -c "print(f'{818176 * 60000 / $c / 1e9:.1f}')")
			MLP_GFLOPS="$MLP_GFLOPS $t:$g:$peak"
		fi
	done
done
echo
echo "| threads | sgemm peak GFLOP/s | MLP training loop GFLOP/s | fraction of peak |"
echo "| ---: | ---: | ---: | ---: |"
for x in $MLP_GFLOPS; do
	IFS=: read -r t g p <<<"$x"
	echo "| $t | $p | $g | $(python3 -c "print(f'{$g / $p:.0%}')") |"
done
