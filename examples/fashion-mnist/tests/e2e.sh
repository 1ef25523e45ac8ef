#!/usr/bin/env bash
# e2e.sh — end-to-end tests of the fmnist-train binary ($FMNIST_TRAIN):
# exit codes and messages for bad options, missing and corrupt data, a
# one-epoch run's output and files, resume after an interruption (also
# after kill -9 mid-run) giving the same result as an uninterrupted run, a
# corrupt checkpoint, NaN loss, pretrained init, evaluation of a saved
# model (--eval-only), and the CIFAR-10-format path.  Uses the first few
# thousand Fashion-MNIST images (from the dataset-fashion-mnist package);
# exits 77 (skipped) without them.
set -u

BIN=${FMNIST_TRAIN:?set FMNIST_TRAIN to the fmnist-train binary}
DATA=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}
T=$(mktemp -d /tmp/fm_e2e.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }

# expect_exit CODE NAME PATTERN -- ARGS: run, check the exit code, and
# that stderr contains PATTERN (a grep -E expression).
expect_exit() {
	local want=$1 name=$2 pat=$3 rc
	shift 4
	"$BIN" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		bad "$name: exit $rc, want $want"; sed 's/^/    /' "$T/err"; return
	fi
	if ! grep -Eq -- "$pat" "$T/err"; then
		bad "$name: stderr lacks /$pat/"; sed 's/^/    /' "$T/err"; return
	fi
	ok "$name"
}

# strip the timing fields, which differ from run to run
untimed() { sed -E 's/ (train_)?seconds=[0-9.]+//g; s/ total_seconds=[0-9.]+//'; }

if [ ! -e "$DATA/train-images-idx3-ubyte.gz" ]; then
	echo "SKIP: no Fashion-MNIST in $DATA (install dataset-fashion-mnist)"
	exit 77
fi
SMALL=(--train-limit 500 --test-limit 200 --threads 1)

# --- usage errors: exit 2 with a message ---------------------------------
expect_exit 2 "not a number" "--lr: 'abc' is not a finite number" -- --lr abc
expect_exit 2 "trailing junk" "is not a finite number" -- --lr 0.1x
expect_exit 2 "unknown option" "unknown option '--bogus'" -- --bogus
expect_exit 2 "missing value" "--epochs: needs a value" -- --epochs
expect_exit 2 "out of range" "--batch-size: 0 is out of range" -- --batch-size 0
expect_exit 2 "bad optimizer" "'rmsprop' is not sgd" -- --optimizer rmsprop
expect_exit 2 "bad init" "is not he, xavier or pretrained" -- --init zeros
expect_exit 2 "dropout 1" "out of range" -- --dropout 1
expect_exit 2 "stray argument" "unexpected argument 'foo'" -- foo
"$BIN" --help >"$T/help" 2>&1 && grep -q -- "--make-cifar-sample" "$T/help" \
	&& ok "--help" || bad "--help"

# --- data errors: exit 2 ------------------------------------------------
expect_exit 2 "missing data" "no such file" -- --data "$T/nowhere"
mkdir -p "$T/junk"
head -c 5000 /dev/urandom >"$T/junk/train-images-idx3-ubyte"
expect_exit 2 "corrupt data" "junk/train-images-idx3-ubyte: (not an IDX|file is truncated)" -- --data "$T/junk"
printf '\x00\x00\x08\x03\x00\x00\x00\x64\x00\x00\x00\x1c\x00\x00\x00\x1c' \
	| gzip >"$T/junk/train-images-idx3-ubyte.gz"
expect_exit 2 "truncated data" "truncated" -- --data "$T/junk"
expect_exit 2 "no cifar dir" "FMNIST_CIFAR_DIR" -- --dataset cifar10

# --- one epoch: the epoch line, the final line, the files ---------------
"$BIN" "${SMALL[@]}" --epochs 1 --out "$T/one" >"$T/one.out" 2>"$T/one.err"
rc=$?
if [ $rc -eq 0 ] &&
   grep -Eq '^epoch=1 train_loss=[0-9.]+ train_acc=[0-9.]+ test_loss=[0-9.]+ test_acc=[0-9.]+ seconds=[0-9.]+' "$T/one.out" &&
   grep -Eq '^final test_acc=[0-9.]+ .*best_epoch=1' "$T/one.out"; then
	ok "one epoch prints its lines"
else
	bad "one epoch (exit $rc)"; cat "$T/one.out" "$T/one.err"
fi
[ -s "$T/one/model.bin" ] && ok "model.bin written" || bad "model.bin missing"
if python3 - "$T/one/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["model"] == "mlp" and m["optimizer"] == "adam"
assert [e["epoch"] for e in m["epochs"]] == [1]
assert 0.0 <= m["final"]["test_acc"] <= 1.0 and m["final"]["best_epoch"] == 1
PY
then ok "metrics.json is valid"; else bad "metrics.json"; fi
ls "$T/one" | grep -q tmp && bad "temporary files left" || ok "no temporary files"
acc=$(sed -nE 's/^final test_acc=([0-9.]+).*/\1/p' "$T/one.out")
python3 -c "import sys; sys.exit(0 if float('$acc') > 0.5 else 1)" \
	&& ok "learns something in one epoch (test_acc=$acc)" \
	|| bad "test_acc=$acc after one epoch"

# --- determinism and resume ----------------------------------------------
# A: three epochs straight.  B: two epochs, then the same command with
# --epochs 3 resumes and must end exactly where A ended.
ARGS=("${SMALL[@]}" --dropout 0.2 --optimizer lamb --lr 0.005 --seed 7)
"$BIN" "${ARGS[@]}" --epochs 3 --out "$T/a" >"$T/a.out" 2>/dev/null
"$BIN" "${ARGS[@]}" --epochs 2 --out "$T/b" >"$T/b1.out" 2>/dev/null
"$BIN" "${ARGS[@]}" --epochs 3 --out "$T/b" >"$T/b2.out" 2>"$T/b2.err"
if grep -q "resuming .* after epoch 2" "$T/b2.err" &&
   [ "$(grep -c '^epoch=' "$T/b2.out")" -eq 1 ] &&
   diff <(grep '^epoch=3' "$T/a.out" | untimed) <(grep '^epoch=3' "$T/b2.out" | untimed) >/dev/null &&
   diff <(grep '^final' "$T/a.out" | untimed) <(grep '^final' "$T/b2.out" | untimed) >/dev/null &&
   diff <(grep -E '^epoch=[12] ' "$T/a.out" | untimed) <(untimed <"$T/b1.out" | grep '^epoch') >/dev/null; then
	ok "resume continues at epoch 3 with the uninterrupted result"
else
	bad "resume"; cat "$T/a.out" "$T/b1.out" "$T/b2.out" "$T/b2.err"
fi
if python3 - "$T/b/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert [e["epoch"] for e in m["epochs"]] == [1, 2, 3], m["epochs"]
PY
then ok "metrics.json keeps the whole history after resume"; else bad "history after resume"; fi
# running a finished run again trains nothing and repeats the result
"$BIN" "${ARGS[@]}" --epochs 3 --out "$T/b" >"$T/b3.out" 2>/dev/null
if ! grep -q '^epoch=' "$T/b3.out" &&
   diff <(untimed <"$T/b3.out") <(grep '^final' "$T/a.out" | untimed) >/dev/null; then
	ok "a finished run is not retrained"
else
	bad "finished run"; cat "$T/b3.out"
fi
# the checkpoint belongs to these options
expect_exit 2 "checkpoint of other options" "other options" -- \
	"${SMALL[@]}" --lr 0.01 --epochs 3 --out "$T/b"

# killed with SIGKILL once its first checkpoint exists, then run again: it
# ends exactly where an uninterrupted run ends (whichever epoch the
# checkpoint held, since checkpoints are replaced atomically)
KARGS=(--train-limit 12000 --test-limit 200 --threads 1 --epochs 4 --seed 3)
"$BIN" "${KARGS[@]}" --out "$T/k-ref" >"$T/k-ref.out" 2>/dev/null
"$BIN" "${KARGS[@]}" --out "$T/k" >/dev/null 2>&1 &
kpid=$!
for _ in $(seq 1 500); do
	[ -e "$T/k/model.bin" ] && break
	sleep 0.01
done
kill -9 "$kpid" 2>/dev/null
wait "$kpid" 2>/dev/null
"$BIN" "${KARGS[@]}" --out "$T/k" >"$T/k.out" 2>/dev/null
if [ -e "$T/k/model.bin" ] &&
   diff <(grep '^final' "$T/k-ref.out" | untimed) <(grep '^final' "$T/k.out" | untimed) >/dev/null; then
	ok "killed run resumes to the uninterrupted result"
else
	bad "kill -9 and resume"; cat "$T/k-ref.out" "$T/k.out"
fi

# --- evaluation only -----------------------------------------------------
# a saved model, evaluated on the data it was trained with, scores what
# its run's final line says, and nothing is trained or written
accloss() { sed -nE 's/^final (test_acc=[0-9.]+ test_loss=[0-9.]+).*/\1/p' "$1"; }
"$BIN" "${SMALL[@]}" --eval-only --load "$T/a/model.bin" >"$T/ev.out" 2>"$T/ev.err"
rc=$?
if [ $rc -eq 0 ] && [ -n "$(accloss "$T/ev.out")" ] &&
   [ "$(accloss "$T/ev.out")" = "$(accloss "$T/a.out")" ] &&
   grep -Eq '^final .* test_images=200 model_epochs=3$' "$T/ev.out" &&
   ! grep -q '^epoch=' "$T/ev.out"; then
	ok "--eval-only reproduces the run's final test_acc and test_loss"
else
	bad "--eval-only (exit $rc)"; cat "$T/ev.out" "$T/ev.err" "$T/a.out"
fi
"$BIN" "${SMALL[@]}" --eval-only --load "$T/a" >"$T/evd.out" 2>/dev/null
[ "$(accloss "$T/evd.out")" = "$(accloss "$T/a.out")" ] \
	&& ok "--load DIR reads DIR/model.bin" || { bad "--load DIR"; cat "$T/evd.out"; }
expect_exit 2 "--eval-only without --load" "--eval-only: needs --load" -- --eval-only
expect_exit 2 "--load without --eval-only" "--load: only with --eval-only" -- \
	--load "$T/a/model.bin"
expect_exit 2 "--eval-only with --out" "--out: not with --eval-only" -- \
	--eval-only --load "$T/a/model.bin" --out "$T/x"
expect_exit 2 "--load of a missing model" "--load $T/none.bin: no such file" -- \
	"${SMALL[@]}" --eval-only --load "$T/none.bin"

# --- corrupt checkpoint --------------------------------------------------
cp -r "$T/one" "$T/broken"
printf '\xff\xff\xff\xff' | dd of="$T/broken/model.bin" bs=1 seek=1000 conv=notrunc 2>/dev/null
expect_exit 2 "corrupt checkpoint" "checksum mismatch" -- "${SMALL[@]}" --epochs 2 --out "$T/broken"

# --- NaN ----------------------------------------------------------------
expect_exit 3 "NaN loss" "^error: loss is NaN at epoch [0-9]+" -- \
	"${SMALL[@]}" --optimizer sgd --lr 100 --epochs 5 --out "$T/nan"

# --- pretrained init -------------------------------------------------------
"$BIN" "${SMALL[@]}" --epochs 1 --init "pretrained:$T/a/model.bin" >"$T/pre.out" 2>&1
pre=$(sed -nE 's/^epoch=1 .*train_acc=([0-9.]+).*/\1/p' "$T/pre.out")
scratch=$(sed -nE 's/^epoch=1 .*train_acc=([0-9.]+).*/\1/p' "$T/one.out")
python3 -c "import sys; sys.exit(0 if float('$pre') > float('$scratch') else 1)" \
	&& ok "pretrained start beats a random one ($pre > $scratch)" \
	|| bad "pretrained: $pre vs $scratch"
expect_exit 2 "missing pretrained file" "pretrained:.*no such file" -- \
	"${SMALL[@]}" --init "pretrained:$T/none.bin"
expect_exit 2 "pretrained of another shape" "hidden layer" -- \
	"${SMALL[@]}" --hidden 32 --init "pretrained:$T/a/model.bin"

# --- CIFAR-10 format -----------------------------------------------------
"$BIN" --make-cifar-sample "$T/cifar" >/dev/null 2>&1 &&
	[ "$(stat -c %s "$T/cifar/data_batch_1.bin")" -eq $((2000 * 3073)) ] &&
	[ "$(stat -c %s "$T/cifar/test_batch.bin")" -eq $((500 * 3073)) ] \
	&& ok "--make-cifar-sample" || bad "--make-cifar-sample"
if FMNIST_CIFAR_DIR="$T/cifar" "$BIN" --dataset cifar10 --model cnn --channels 8,16 \
	--train-limit 400 --test-limit 100 --threads 1 --epochs 1 --out "$T/c" >"$T/c.out" 2>"$T/c.err" &&
   grep -q '^epoch=1 ' "$T/c.out" && [ -s "$T/c/model.bin" ]; then
	ok "cnn on the CIFAR-10 format"
else
	bad "cnn on cifar10"; cat "$T/c.out" "$T/c.err"
fi
CARGS=(--dataset cifar10 --data "$T/cifar" --train-limit 400 --test-limit 100 --threads 1)
"$BIN" "${CARGS[@]}" --eval-only --load "$T/c" >"$T/cev.out" 2>/dev/null
[ -n "$(accloss "$T/c.out")" ] && [ "$(accloss "$T/cev.out")" = "$(accloss "$T/c.out")" ] \
	&& ok "--eval-only of a cnn on the CIFAR-10 format" \
	|| { bad "--eval-only cnn"; cat "$T/c.out" "$T/cev.out"; }
expect_exit 2 "--eval-only of a model of other data" "a model of 1x28x28 images" -- \
	"${CARGS[@]}" --eval-only --load "$T/a/model.bin"
expect_exit 2 "--eval-only of a corrupt model" "checksum mismatch" -- \
	"${SMALL[@]}" --eval-only --load "$T/broken/model.bin"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
