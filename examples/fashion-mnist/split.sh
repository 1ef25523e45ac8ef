#!/bin/sh
# split.sh SRC OUT NTRAIN NVAL — the prepare stage of pipeline.yaml: split
# Fashion-MNIST's 60,000 training images into a training set (the first
# NTRAIN) and a validation set (the NVAL after them), held out from
# training and used to choose the model, and write two data directories
# fmnist-train reads (--data):
#   OUT/fit/   train-* = the training set, t10k-* = the validation set
#   OUT/test/  train-* = the same training set (the inputs are normalised
#              by its statistics), t10k-* = the official test set
# as IDX files (big-endian headers: magic, count, rows, cols).  SRC holds
# the four .gz files of the data set.
set -eu
[ $# -eq 4 ] || { echo "usage: split.sh SRC OUT NTRAIN NVAL" >&2; exit 2; }
src=$1 out=$2 ntrain=$3 nval=$4
case "$ntrain$nval" in *[!0-9]*|'') echo "split.sh: NTRAIN and NVAL are counts" >&2; exit 2;; esac
[ $((ntrain + nval)) -le 60000 ] && [ "$ntrain" -gt 0 ] && [ "$nval" -gt 0 ] ||
	{ echo "split.sh: need 0 < NTRAIN, 0 < NVAL, NTRAIN + NVAL <= 60000" >&2; exit 2; }
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
	[ -r "$src/$f.gz" ] || { echo "split.sh: no $src/$f.gz" >&2; exit 2; }
done

be32() { # N: four bytes, big-endian
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 >> 24 & 255)) \
		$(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)))"
}
# part GZ HEADER_BYTES RECORD_BYTES FIRST COUNT: records FIRST.. of a file
part() {
	gzip -dc "$1" | tail -c +$(($2 + $3 * $4 + 1)) | head -c $(($3 * $5))
}
images() { # GZ FIRST COUNT > IDX
	be32 2051; be32 "$3"; be32 28; be32 28
	part "$1" 16 784 "$2" "$3"
}
labels() { # GZ FIRST COUNT > IDX
	be32 2049; be32 "$3"
	part "$1" 8 1 "$2" "$3"
}

mkdir -p "$out/fit" "$out/test"
tmp=$(mktemp -d "$out/.split.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
images "$src/train-images-idx3-ubyte.gz" 0 "$ntrain" >"$tmp/train-images-idx3-ubyte"
labels "$src/train-labels-idx1-ubyte.gz" 0 "$ntrain" >"$tmp/train-labels-idx1-ubyte"
images "$src/train-images-idx3-ubyte.gz" "$ntrain" "$nval" >"$tmp/val-images"
labels "$src/train-labels-idx1-ubyte.gz" "$ntrain" "$nval" >"$tmp/val-labels"
# the sizes say whether the source was whole
[ "$(wc -c <"$tmp/train-images-idx3-ubyte")" -eq $((16 + 784 * ntrain)) ] &&
	[ "$(wc -c <"$tmp/val-labels")" -eq $((8 + nval)) ] ||
	{ echo "split.sh: $src holds fewer images than asked for" >&2; exit 1; }
for d in fit test; do
	cp "$tmp/train-images-idx3-ubyte" "$tmp/train-labels-idx1-ubyte" "$out/$d/"
done
mv "$tmp/val-images" "$out/fit/t10k-images-idx3-ubyte"
mv "$tmp/val-labels" "$out/fit/t10k-labels-idx1-ubyte"
cp "$src/t10k-images-idx3-ubyte.gz" "$src/t10k-labels-idx1-ubyte.gz" "$out/test/"
echo "training set: $ntrain images"
echo "validation set: $nval images"
