#!/usr/bin/env bash
# ddp.sh — the data-parallel fmnist-train ($FMNIST_TRAIN) end to end:
# ranks started as background processes with the variables torchrun sets.
#  (a) 2 ranks × batch B end where 1 rank × batch 2B ends (final metrics
#      and every weight, to float tolerance) for the MLP (with dropout)
#      and the CNN, on Fashion-MNIST and the CIFAR-10 format, with a last
#      partial batch that leaves rank 1 nothing to do;
#  (b) --ddp-check passes (every rank's weights identical each epoch);
#  (c) a rank that never connects: rank 0 fails after --rendezvous-timeout
#      naming it;
#  (d) a rank killed mid-run: the other exits non-zero with a clear error
#      within a bound;
#  (e) resume from rank 0's checkpoint, by 2 ranks and by 1 rank;
#  plus bad environments and ranks started with different options.
# Exits 77 (skipped) without the Fashion-MNIST files.
set -u

BIN=${FMNIST_TRAIN:?set FMNIST_TRAIN to the fmnist-train binary}
DATA=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}
T=$(mktemp -d /tmp/fm_ddp.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
show() { for f in "$@"; do echo "    --- $f"; sed 's/^/    /' "$f"; done; }

if [ ! -e "$DATA/train-images-idx3-ubyte.gz" ]; then
	echo "SKIP: no Fashion-MNIST in $DATA (install dataset-fashion-mnist)"
	exit 77
fi
export FMNIST_DATA=$DATA
"$BIN" --make-cifar-sample "$T/cifar" >/dev/null || { echo "cannot make cifar sample"; exit 1; }
export FMNIST_CIFAR_DIR=$T/cifar

# a port nobody listens on right now (the kernel's pick for port 0)
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start N NAME ARGS...: start ranks 0..N-1 in the background, rank r's
# output in $T/NAME.r.out/.err; their pids in RANKPIDS.  STARTRANKS (a
# list) starts only those ranks.
start() {
	local n=$1 name=$2 port r
	shift 2
	port=$(free_port)
	RANKPIDS=()
	for r in ${STARTRANKS:-$(seq 0 $((n - 1)))}; do
		WORLD_SIZE=$n RANK=$r LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 \
			MASTER_PORT=$port "$BIN" "$@" \
			>"$T/$name.$r.out" 2>"$T/$name.$r.err" &
		RANKPIDS+=($!)
		PIDS+=($!)
	done
}
# finish: wait for every started rank; RCS holds their exit codes
finish() {
	local p
	RCS=()
	for p in "${RANKPIDS[@]}"; do
		wait "$p"
		RCS+=($?)
	done
}
# run_ranks N NAME ARGS...: start and finish; 0 if every rank exited 0
run_ranks() {
	local c
	start "$@"
	finish
	for c in "${RCS[@]}"; do [ "$c" -eq 0 ] || return 1; done
}

# same_run A.out A_CKPT B.out B_CKPT: final lines and weights agree to
# float tolerance
same_run() {
	python3 - "$@" <<'PY'
import re, struct, sys
def final(p):
    line = [l for l in open(p) if l.startswith("final ")][-1]
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.e+-]+)", line)}
def params(p):
    b = open(p, "rb").read()
    n = struct.unpack_from("<Q", b, 72)[0]
    return struct.unpack_from("<%df" % n, b, 128)
a, b = final(sys.argv[1]), final(sys.argv[3])
for k in ("test_acc", "best_test_acc"):
    assert abs(a[k] - b[k]) <= 0.0051, (k, a[k], b[k])
assert abs(a["test_loss"] - b["test_loss"]) <= 2e-4, (a, b)
assert a["epochs"] == b["epochs"]
pa, pb = params(sys.argv[2]), params(sys.argv[4])
assert len(pa) == len(pb)
d = max(abs(x - y) for x, y in zip(pa, pb))
scale = max(abs(x) for x in pa)
assert d <= 1e-4 * max(1.0, scale), ("max weight difference", d)
print("    max weight difference %.3g over %d weights" % (d, len(pa)))
PY
}
untimed() { sed -E 's/ (train_|total_)?seconds=[0-9.]+//g'; }

# --- (a)+(b) 2 ranks x B == 1 rank x 2B -----------------------------------
# 300 images in global batches of 48: the last batch has 12 images, all
# rank 0's, so rank 1 contributes an empty share there.
BASE=(--train-limit 300 --test-limit 100 --threads 1 --epochs 2 --seed 5)
cases=(
	"mlp-fmnist|--model mlp --hidden 32 --layers 2 --dropout 0.3 --optimizer adam --lr 0.003"
	"cnn-fmnist|--model cnn --channels 4,8 --dropout 0.2 --optimizer lamb --lr 0.01 --schedule cosine"
	"mlp-cifar|--dataset cifar10 --model mlp --hidden 32 --optimizer momentum --lr 0.01 --weight-decay 0.001"
	"cnn-cifar|--dataset cifar10 --model cnn --channels 4,8 --optimizer sgd --lr 0.05"
)
for c in "${cases[@]}"; do
	name=${c%%|*}
	read -r -a extra <<<"${c#*|}"
	"$BIN" "${BASE[@]}" "${extra[@]}" --batch-size 48 --out "$T/$name-1" \
		>"$T/$name-1.out" 2>"$T/$name-1.err"
	rc1=$?
	if run_ranks 2 "$name-2" "${BASE[@]}" "${extra[@]}" --batch-size 24 \
		--ddp-check --out "$T/$name-2" &&
	   [ $rc1 -eq 0 ] &&
	   same_run "$T/$name-1.out" "$T/$name-1/model.bin" \
		"$T/$name-2.0.out" "$T/$name-2/model.bin"; then
		ok "$name: 2 ranks x 24 = 1 rank x 48 (and --ddp-check passes)"
	else
		bad "$name: 2 ranks x 24 vs 1 rank x 48 (rc1=$rc1 ranks: ${RCS[*]})"
		show "$T/$name-1.out" "$T/$name-1.err" "$T/$name-2".*
	fi
	[ ! -s "$T/$name-2.1.out" ] && ok "$name: only rank 0 prints metrics" \
		|| bad "$name: rank 1 printed metrics"
done

# 3 ranks (odd world, a gradient length no multiple of 3) with the env
# switch for the check
if FMNIST_DDP_CHECK=1 run_ranks 3 three "${BASE[@]}" --model mlp --hidden 20 \
	--batch-size 16 --out "$T/three" &&
   "$BIN" "${BASE[@]}" --model mlp --hidden 20 --batch-size 48 --out "$T/three-1" \
	>"$T/three-1.out" 2>/dev/null &&
   same_run "$T/three-1.out" "$T/three-1/model.bin" "$T/three.0.out" "$T/three/model.bin"; then
	ok "3 ranks x 16 = 1 rank x 48"
else
	bad "3 ranks (${RCS[*]})"; show "$T"/three.*
fi

# --- (e) resume from rank 0's checkpoint ---------------------------------
R=(--train-limit 300 --test-limit 100 --threads 1 --seed 9 --model mlp --hidden 32
   --dropout 0.2 --batch-size 24)
run_ranks 2 full "${R[@]}" --epochs 3 --out "$T/full"
run_ranks 2 part1 "${R[@]}" --epochs 2 --out "$T/part"
if run_ranks 2 part2 "${R[@]}" --epochs 3 --out "$T/part" &&
   grep -q "resuming .* after epoch 2" "$T/part2.0.err" &&
   [ "$(grep -c '^epoch=' "$T/part2.0.out")" -eq 1 ] &&
   diff <(grep '^final' "$T/full.0.out" | untimed) <(grep '^final' "$T/part2.0.out" | untimed) >/dev/null; then
	ok "2 ranks resume rank 0's checkpoint to the uninterrupted result"
else
	bad "2-rank resume (${RCS[*]})"; show "$T"/full.0.* "$T"/part2.*
fi
# the checkpoint of 2 ranks x 24 is the checkpoint of 1 rank x 48
run_ranks 2 solo1 "${R[@]}" --epochs 2 --out "$T/solo"
R1=("${R[@]}")
R1[${#R1[@]}-1]=48
if "$BIN" "${R1[@]}" --epochs 3 --out "$T/solo" >"$T/solo2.out" 2>"$T/solo2.err" &&
   grep -q "resuming" "$T/solo2.err" &&
   same_run "$T/full.0.out" "$T/full/model.bin" "$T/solo2.out" "$T/solo/model.bin"; then
	ok "1 rank x 48 resumes the checkpoint of 2 ranks x 24"
else
	bad "1-rank resume of a 2-rank checkpoint"; show "$T/solo2.out" "$T/solo2.err"
fi
# a checkpoint of other options, read by rank 0: every rank fails alike
start 2 other "${R[@]}" --lr 0.01 --epochs 3 --out "$T/part"
finish
if [ "${RCS[*]}" = "2 2" ] && grep -q "other options" "$T/other.0.err" &&
   grep -q "rank 1\].*rank 0: .*other options" "$T/other.1.err"; then
	ok "rank 0's checkpoint error is every rank's (exit 2)"
else
	bad "checkpoint mismatch (${RCS[*]})"; show "$T"/other.*.err
fi

# --- ranks that disagree, bad environments -------------------------------
port=$(free_port)
WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$BIN" "${BASE[@]}" \
	--batch-size 24 >"$T/dis.0.out" 2>"$T/dis.0.err" & p0=$!
PIDS+=($p0)
WORLD_SIZE=2 RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$BIN" "${BASE[@]}" \
	--batch-size 24 --lr 0.5 >"$T/dis.1.out" 2>"$T/dis.1.err" & p1=$!
PIDS+=($p1)
wait $p0; r0=$?; wait $p1; r1=$?
if [ $r0 -ne 0 ] && [ $r1 -ne 0 ] && grep -q "options or the data.*rank 1 disagrees" "$T/dis.0.err"; then
	ok "ranks with different options refuse to train"
else
	bad "different options ($r0 $r1)"; show "$T"/dis.*.err
fi
# rank 0's own name not resolvable (yet): it listens on every address
port=$(free_port)
WORLD_SIZE=2 RANK=0 MASTER_ADDR=no-such-host.invalid MASTER_PORT=$port "$BIN" \
	"${BASE[@]}" --batch-size 24 --epochs 1 >"$T/nores.0.out" 2>"$T/nores.0.err" & p0=$!
PIDS+=($p0)
WORLD_SIZE=2 RANK=1 MASTER_ADDR=localhost MASTER_PORT=$port "$BIN" \
	"${BASE[@]}" --batch-size 24 --epochs 1 >"$T/nores.1.out" 2>"$T/nores.1.err" & p1=$!
PIDS+=($p1)
wait $p0; r0=$?; wait $p1; r1=$?
if [ $r0 -eq 0 ] && [ $r1 -eq 0 ] && grep -q '^final ' "$T/nores.0.out"; then
	ok "rank 0 whose MASTER_ADDR does not resolve still listens"
else
	bad "unresolvable MASTER_ADDR on rank 0 ($r0 $r1)"; show "$T"/nores.*.err
fi
for env in "WORLD_SIZE=2|RANK is not set" "WORLD_SIZE=2 RANK=2 MASTER_ADDR=x MASTER_PORT=1|RANK='2' is not an integer in 0..1" \
	   "WORLD_SIZE=two|WORLD_SIZE='two'" "WORLD_SIZE=2 RANK=1 MASTER_PORT=1|MASTER_ADDR is not set"; do
	vars=${env%%|*} pat=${env#*|}
	env $vars "$BIN" "${BASE[@]}" >"$T/env.out" 2>"$T/env.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$pat" "$T/env.err"; then
		ok "bad environment '$vars': exit 2"
	else
		bad "bad environment '$vars': exit $rc"; show "$T/env.err"
	fi
done
"$BIN" --rendezvous-timeout 0 >/dev/null 2>"$T/rt.err"
[ $? -eq 2 ] && grep -q "must be positive" "$T/rt.err" && ok "--rendezvous-timeout 0 refused" \
	|| bad "--rendezvous-timeout 0"

# --- (c) a rank that never connects --------------------------------------
t0=$(date +%s.%N)
STARTRANKS="0 1" start 3 lonely "${BASE[@]}" --rendezvous-timeout 1.5
finish
t1=$(date +%s.%N)
el=$(python3 -c "print($t1 - $t0)")
if [ "${RCS[0]}" -ne 0 ] && [ "${RCS[1]}" -ne 0 ] &&
   grep -q "rendezvous timeout after 1.5 s: rank 2 of 3 never connected" "$T/lonely.0.err" &&
   python3 -c "import sys; sys.exit(0 if $el < 15 else 1)"; then
	ok "a missing rank: rank 0 names it after the timeout ($(printf %.2f "$el") s)"
else
	bad "missing rank (${RCS[*]}, $el s)"; show "$T"/lonely.*.err
fi
# no rank 0 at all: a worker gives up after the timeout too
STARTRANKS="1" start 2 norank0 "${BASE[@]}" --rendezvous-timeout 1
finish
if [ "${RCS[0]}" -eq 1 ] && grep -q "could not reach rank 0" "$T/norank0.1.err"; then
	ok "no rank 0: the worker gives up naming it"
else
	bad "no rank 0 (${RCS[*]})"; show "$T"/norank0.1.err
fi

# --- (d) a rank killed mid-run --------------------------------------------
start 2 killed --train-limit 6000 --test-limit 100 --threads 1 --epochs 100 \
	--batch-size 32 --rendezvous-timeout 60
for _ in $(seq 1 3000); do	# until rank 0 reports its first epoch
	grep -q '^epoch=1 ' "$T/killed.0.out" 2>/dev/null && break
	kill -0 "${RANKPIDS[0]}" 2>/dev/null || break
	sleep 0.01
done
kill -9 "${RANKPIDS[1]}"
t0=$(date +%s.%N)
for _ in $(seq 1 2000); do	# rank 0 must notice well before 60 s
	kill -0 "${RANKPIDS[0]}" 2>/dev/null || break
	sleep 0.01
done
t1=$(date +%s.%N)
finish
el=$(python3 -c "print($t1 - $t0)")
if grep -q '^epoch=1 ' "$T/killed.0.out" && [ "${RCS[0]}" -eq 1 ] &&
   grep -Eq "rank 1 \(.*\) (closed the connection|failed: Connection reset)" "$T/killed.0.err" &&
   python3 -c "import sys; sys.exit(0 if $el < 10 else 1)"; then
	ok "a killed rank: the other exits 1 with a clear error in $(printf %.2f "$el") s"
else
	bad "killed rank (${RCS[*]}, $el s)"; show "$T"/killed.0.*
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
