#!/usr/bin/env bash
# examples/geo-pipeline's stage programs on rasters geo-gen writes:
# deterministic generation, percentile normalisation (recomputed here from
# the raster's pixels), label checks, chip positions, overlap and the
# coverage rule, the split by raster into CIFAR-10 records (labels and
# pixels recomputed from the chips), fmnist-train on the result, and
# malformed input: exit 2 with a message, never a crash.  The rasters are
# read back with a small TIFF reader in Python (tiff.py below), so the
# checks do not trust the programs' own reading.
. "$(dirname "$0")/lib.sh"

for p in geo-gen geo-normalise geo-label geo-chip geo-split; do
	if [ ! -x "$TC_BUILD_DIR/$p" ]; then
		echo "FAIL no $p in $TC_BUILD_DIR (install libtiff-dev and build)"
		exit 1
	fi
done
PATH="$TC_BUILD_DIR:$PATH"

# run PROG ARGS...: sets RC, OUT, ERR like tc_run, for any program
run() {
	timeout -k 5 60 "$@" >"$TC_WORK/.out" 2>"$TC_WORK/.err"
	RC=$?
	OUT=$(cat "$TC_WORK/.out")
	ERR=$(cat "$TC_WORK/.err")
}

# expect_bad PROG WHAT REGEX ARGS...: exit 2, stderr "PROG: error: ..."
# matching REGEX, and no signal
expect_bad() {
	local prog=$1 what=$2 re=$3
	shift 3
	run "$prog" "$@"
	expect_rc 2 "$prog: $what"
	expect_match "$ERR" "^$prog: error: .*$re" "$prog: $what: says so"
}

# A TIFF reader and writer of just what these tests need: baseline
# strips or tiles, uncompressed or deflate, 8/16-bit unsigned, contiguous.
cat >tiff.py <<'PY'
import struct, zlib

def read(path):
    """(width, height, bands, bits, pixels): pixels[y][x*bands + b]."""
    d = open(path, "rb").read()
    bo = {b"II": "<", b"MM": ">"}[d[:2]]
    assert struct.unpack(bo + "H", d[2:4])[0] == 42, "not a classic TIFF"
    off = struct.unpack(bo + "I", d[4:8])[0]
    n = struct.unpack(bo + "H", d[off:off + 2])[0]
    sizes = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 12: 8, 16: 8}
    codes = {1: "B", 2: "c", 3: "H", 4: "I", 5: "II", 12: "d", 16: "Q"}
    tags = {}
    for i in range(n):
        e = off + 2 + 12 * i
        tag, typ, cnt = struct.unpack(bo + "HHI", d[e:e + 8])
        size = sizes[typ] * cnt
        p = e + 8 if size <= 4 else struct.unpack(bo + "I", d[e + 8:e + 12])[0]
        tags[tag] = struct.unpack(bo + codes[typ] * cnt, d[p:p + size])
    w, h = tags[256][0], tags[257][0]
    bands = tags.get(277, (1,))[0]
    bits = tags.get(258, (1,))[0]
    comp = tags.get(259, (1,))[0]
    assert comp in (1, 8, 32946), comp
    bpp = bands * bits // 8
    fmt = bo + ("B" if bits == 8 else "H")
    def decode(raw):
        return zlib.decompress(raw) if comp != 1 else raw
    px = [None] * h
    if 322 in tags:
        tw, th = tags[322][0], tags[323][0]
        across = (w + tw - 1) // tw
        rows = [bytearray(w * bpp) for _ in range(h)]
        for k, (o, c) in enumerate(zip(tags[324], tags[325])):
            t = decode(d[o:o + c])
            x0, y0 = (k % across) * tw, (k // across) * th
            cols = min(tw, w - x0)
            for i in range(min(th, h - y0)):
                rows[y0 + i][x0 * bpp:(x0 + cols) * bpp] = \
                    t[i * tw * bpp:(i * tw + cols) * bpp]
        raw = b"".join(rows)
    else:
        raw = b"".join(decode(d[o:o + c]) for o, c in zip(tags[273], tags[279]))
    vals = struct.unpack(fmt[0] + fmt[1] * (w * h * bands), raw[:w * h * bpp])
    for y in range(h):
        px[y] = vals[y * w * bands:(y + 1) * w * bands]
    return w, h, bands, bits, px

def write(path, w, h, rows):
    """An uncompressed one-band 8-bit striped TIFF of rows[y][x]."""
    data = b"".join(bytes(r) for r in rows)
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1),
               (278, 4, 1, h), (279, 4, 1, len(data))]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, cnt, val in entries:
        v = struct.pack("<H", val) + b"\0\0" if typ == 3 else struct.pack("<I", val)
        ifd += struct.pack("<HHI", tag, typ, cnt) + v
    ifd += struct.pack("<I", 0)
    hdr = b"II" + struct.pack("<HI", 42, 8 + len(data))
    open(path, "wb").write(hdr + data + ifd)
PY
export PYTHONPATH=$TC_WORK

# ---- geo-gen -------------------------------------------------------------
run geo-gen --seed 7 --width 512 --height 512 --classes 3 a.tif am.tif
expect_rc 0 "geo-gen writes a scene and its mask"
expect_match "$OUT" '^water=0\.[0-9]+ forest=0\.[0-9]+ field=0\.[0-9]+$' "geo-gen prints class fractions"
run geo-gen --seed 7 --width 512 --height 512 --classes 3 a2.tif am2.tif
cmp -s a.tif a2.tif && cmp -s am.tif am2.tif && pass "same seed, same bytes" || fail "geo-gen is not deterministic"
run geo-gen --seed 8 --width 512 --height 512 --classes 3 b.tif bm.tif
cmp -s a.tif b.tif && fail "another seed gave the same scene" || pass "another seed, another scene"
run geo-gen --seed 7 --width 512 --height 512 --classes 3 --tile 64 at.tif amt.tif
expect_rc 0 "geo-gen writes tiles"
pycheck "tiled and striped scenes hold the same pixels; 4 bands of uint16, a 1-band uint8 mask" <<'PY'
import tiff
w, h, b, bits, s = tiff.read("a.tif")
_, _, _, _, t = tiff.read("at.tif")
check((w, h, b, bits) == (512, 512, 4, 16), "scene is %dx%d, %d bands of %d bits" % (w, h, b, bits))
check(s == t, "tiled pixels differ from striped")
mw, mh, mb, mbits, m = tiff.read("am.tif")
check((mw, mh, mb, mbits) == (512, 512, 1, 8), "mask shape")
codes = set(v for r in m for v in r)
check(codes == {80, 10, 40}, "mask codes %s" % sorted(codes))
PY
expect_bad geo-gen "bad --tile" "--tile: 40 is not a multiple of 16" --tile 40 x.tif y.tif
expect_bad geo-gen "bad --width" "--width: 'wide' is not an integer" --width wide x.tif y.tif
expect_bad geo-gen "missing MASK" "want IMAGE and MASK" x.tif
expect_bad geo-gen "an option without its value" "--seed: needs a value" x.tif y.tif --seed
expect_bad geo-gen "an unknown option" "bad option '--bogus'" --bogus x.tif y.tif

# ---- geo-normalise ---------------------------------------------------------
run geo-normalise a.tif an.tif
expect_rc 0 "geo-normalise"
printf '%s\n' "$OUT" >an.percentiles
pycheck "1st/99th percentiles recomputed from the pixels; values map linearly and clip at 0 and 255" <<'PY'
import math, tiff
w, h, b, _, s = tiff.read("a.tif")
_, _, nb, nbits, n = tiff.read("an.tif")
check((nb, nbits) == (b, 8), "normalised: %d bands of %d bits" % (nb, nbits))
printed = dict(kv.split("=") for kv in open("an.percentiles").read().split())
N = w * h
for k in range(b):
    vals = sorted(r[x * b + k] for r in s for x in range(w))
    lo = vals[math.ceil(0.01 * N) - 1]
    hi = vals[math.ceil(0.99 * N) - 1]
    check(int(printed["b%d_low" % (k + 1)]) == lo, "band %d low %s != %d" % (k + 1, printed["b%d_low" % (k + 1)], lo))
    check(int(printed["b%d_high" % (k + 1)]) == hi, "band %d high %s != %d" % (k + 1, printed["b%d_high" % (k + 1)], hi))
    out = [r[x * b + k] for r in n for x in range(w)]
    src = [r[x * b + k] for r in s for x in range(w)]
    zeros, full = out.count(0), out.count(255)
    # at least the pixels at or beyond the percentiles clip; about 1% each
    check(zeros >= sum(v <= lo for v in src), "band %d: %d zeros" % (k + 1, zeros))
    check(full >= sum(v >= hi for v in src), "band %d: %d at 255" % (k + 1, full))
    check(0.005 * N < zeros < 0.03 * N and 0.005 * N < full < 0.03 * N,
          "band %d: %d zeros and %d full of %d: not about 1%% each" % (k + 1, zeros, full, N))
    bad = sum(1 for v, o in zip(src, out)
              if abs(o - 255 * min(1, max(0, (v - lo) / (hi - lo)))) > 0.51)
    check(bad == 0, "band %d: %d pixels off the linear map" % (k + 1, bad))
PY
run geo-normalise --low 5 --high 95 a.tif an5.tif
expect_match "$OUT" '^b1_low=' "--low/--high accepted"
expect_bad geo-normalise "--low above --high" "--low 60 is not below --high 40" --low 60 --high 40 a.tif x.tif
expect_bad geo-normalise "missing input" "nothere.tif: cannot open" nothere.tif x.tif

# ---- geo-label ---------------------------------------------------------
run geo-label an.tif am.tif al.tif
expect_rc 0 "geo-label"
pycheck "labels are the mask's codes mapped to 0 (water), 1 (forest), 2 (field)" <<'PY'
import tiff
_, _, _, _, m = tiff.read("am.tif")
_, _, lb, lbits, l = tiff.read("al.tif")
check((lb, lbits) == (1, 8), "label raster: %d bands of %d bits" % (lb, lbits))
ids = {80: 0, 10: 1, 40: 2}
check(all(l[y][x] == ids[m[y][x]] for y in range(len(m)) for x in range(len(m[0]))), "labels differ from the mask")
PY
run geo-gen --seed 7 --width 512 --height 480 --classes 3 small.tif smallm.tif
expect_bad geo-label "mask of another size" "smallm.tif: 512×480 pixels but the image an.tif has 512×512" an.tif smallm.tif x.tif
expect_no_file x.tif "no output after an error"
expect_bad geo-label "a mask value not in --map" "value [0-9]+ at x=0 y=0 is not in --map" --map 1:0 an.tif am.tif x.tif
expect_bad geo-label "a multi-band mask" "a.tif: 4 bands; a mask has one" an.tif a.tif x.tif

# ---- geo-chip: positions and overlap ------------------------------------
# 512 pixels, 256-pixel chips every 192: x, y in {0, 192} (384 + 256 > 512)
run geo-chip --min-frac 0 an.tif al.tif all
expect_rc 0 "geo-chip with no coverage rule"
expect_eq "$OUT" "kept=4 dropped=0" "512×512 gives 2×2 chips"
expect_eq "$(cd all && ls *_label.tif | tr '\n' ' ')" \
	"an_y00000_x00000_label.tif an_y00000_x00192_label.tif an_y00192_x00000_label.tif an_y00192_x00192_label.tif " \
	"chips at 0 and 192 both ways"
run geo-gen --seed 3 --width 700 --height 460 --classes 3 c.tif cm.tif
geo-normalise c.tif cn.tif >/dev/null && geo-label cn.tif cm.tif cl.tif >/dev/null
run geo-chip --min-frac 0 cn.tif cl.tif call
# x in {0, 192, 384} (576 + 256 > 700), y in {0, 192} (384 + 256 > 460)
expect_eq "$OUT" "kept=6 dropped=0" "700×460 gives 3×2 chips"
pycheck "chips are 256×256 windows of the scene; neighbours share 64 pixels (25%)" <<'PY'
import tiff
_, _, b, _, s = tiff.read("cn.tif")
for y0 in (0, 192):
    for x0 in (0, 192, 384):
        cw, ch, cb, _, c = tiff.read("call/cn_y%05d_x%05d.tif" % (y0, x0))
        check((cw, ch, cb) == (256, 256, b), "chip shape %s" % ((cw, ch, cb),))
        check(all(c[i] == s[y0 + i][x0 * b:(x0 + 256) * b] for i in range(256)),
              "chip at %d,%d is not the scene's window" % (x0, y0))
_, _, _, _, l = tiff.read("call/cn_y00000_x00000.tif")
_, _, _, _, r = tiff.read("call/cn_y00000_x00192.tif")
check(all(l[i][192 * b:] == r[i][:64 * b] for i in range(256)), "horizontal overlap is not 64 columns")
_, _, _, _, d = tiff.read("call/cn_y00192_x00000.tif")
check(l[192:] == d[:64], "vertical overlap is not 64 rows")
PY
head -1 call/chips.txt | grep -q '^scene=cn size=256 stride=192 .*kept=6 dropped=0' \
	&& pass "chips.txt says how the scene was cut" || fail "chips.txt header: $(head -1 call/chips.txt)"

# ---- geo-chip: the coverage rule ---------------------------------------
# Two 256×256 chips side by side (--stride 256).  Left: classes 0/1/2 on
# 102/102/52 columns (40/40/20%).  Right: 128/115/13 columns: class 2
# covers 5.1%, under 10%, so the chip is dropped; at --min-frac 0.05 it
# stays.
python3 - <<'PY'
import tiff
rows = []
for y in range(256):
    left = [0] * 102 + [1] * 102 + [2] * 52
    right = [0] * 128 + [1] * 115 + [2] * 13
    rows.append(left + right)
tiff.write("rule_label.tif", 512, 256, rows)
tiff.write("rule_img.tif", 512, 256, [[(x + y) % 256 for x in range(512)] for y in range(256)])
PY
run geo-chip --stride 256 rule_img.tif rule_label.tif rule
expect_eq "$OUT" "kept=1 dropped=1" "a chip with a class under 10% is dropped"
expect_eq "$(tail -n +2 rule/chips.txt)" "rule_img_y00000_x00000.tif rule_img_y00000_x00000_label.tif" \
	"the chip kept is the left one"
run geo-chip --stride 256 --min-frac 0.05 rule_img.tif rule_label.tif rule5
expect_eq "$OUT" "kept=2 dropped=0" "at --min-frac 0.05 both are kept"
run geo-chip --stride 256 --classes 0,1 rule_img.tif rule_label.tif rule01
expect_eq "$OUT" "kept=2 dropped=0" "--classes 0,1 ignores class 2"
expect_bad geo-chip "label of another size" "smallm.tif: 512×480 pixels but the image an.tif has 512×512" an.tif smallm.tif x
expect_bad geo-chip "a mask, not labels" "a.tif: 4 bands of 16 bits; a label raster has one 8-bit band" an.tif a.tif x
mkdir notchips && touch notchips/keep
expect_bad geo-chip "OUTDIR that is not a chip output" "notchips: exists and is not a geo-chip output" an.tif al.tif notchips
expect_file notchips/keep "a foreign OUTDIR is left alone"

# ---- geo-split -------------------------------------------------------------
# four scenes, 576×576: 2×2 chips each
for s in 11 12 13 14; do
	geo-gen --seed $s --width 576 --height 576 --classes 3 s$s.tif s${s}m.tif >/dev/null &&
		geo-normalise s$s.tif s${s}n.tif >/dev/null &&
		geo-label s${s}n.tif s${s}m.tif s${s}l.tif >/dev/null &&
		geo-chip --scene scene$s s${s}n.tif s${s}l.tif chips$s >/dev/null ||
		fail "preparing scene $s"
done
run geo-split --seed 3 ds chips11 chips12 chips13 chips14
expect_rc 0 "geo-split"
expect_match "$OUT" '^train_scenes=3 test_scenes=1 train_chips=[0-9]+ test_chips=[0-9]+$' "a quarter of the scenes tested on"
pycheck "no raster in both sets; CIFAR-10 records of the scenes' chips, labels their majority class" <<'PY'
import os, tiff
split = [l.split() for l in open("ds/split.txt")]
sides = {}
for side, scene, n in split:
    sides.setdefault(scene, set()).add(side)
check(sorted(sides) == ["scene11", "scene12", "scene13", "scene14"], "scenes %s" % sorted(sides))
check(all(len(v) == 1 for v in sides.values()), "a scene on both sides: %s" % sides)
test = [s for s in sides if "test" in sides[s]]
train = [s for s in sides if "train" in sides[s]]
check(len(test) == 1 and len(train) == 3, "sides %s / %s" % (train, test))
def chips(scene):
    lines = open("chips%s/chips.txt" % scene[5:]).read().splitlines()[1:]
    return [l.split() for l in lines]
ntest = sum(len(chips(s)) for s in test)
ntrain = sum(len(chips(s)) for s in train)
st, sv = os.path.getsize("ds/data_batch_1.bin"), os.path.getsize("ds/test_batch.bin")
check(st % 3073 == 0 and sv % 3073 == 0, "sizes %d and %d are not multiples of 3073" % (st, sv))
check(st == 3073 * ntrain and sv == 3073 * ntest,
      "records %d/%d, chips %d/%d" % (st // 3073, sv // 3073, ntrain, ntest))
# the test records are the test scene's chips in order: recompute them
rec = open("ds/test_batch.bin", "rb").read()
d = "chips%s" % test[0][5:]
for k, (img, lab) in enumerate(chips(test[0])):
    r = rec[k * 3073:(k + 1) * 3073]
    _, _, _, _, l = tiff.read(os.path.join(d, lab))
    counts = [sum(row.count(c) for row in l) for c in range(3)]
    check(r[0] == counts.index(max(counts)), "chip %d: label %d, counts %s" % (k, r[0], counts))
    w, h, b, _, p = tiff.read(os.path.join(d, img))
    for ch in range(3):
        for i, j in ((0, 0), (5, 17), (31, 31)):
            box = [p[y][x * b + ch] for y in range(i * 8, i * 8 + 8) for x in range(j * 8, j * 8 + 8)]
            want = (sum(box) + 32) // 64
            got = r[1 + ch * 1024 + i * 32 + j]
            check(got == want, "chip %d band %d box %d,%d: %d, want %d" % (k, ch, i, j, got, want))
train_recs = open("ds/data_batch_1.bin", "rb").read()
check(all(train_recs[i * 3073] < 3 for i in range(ntrain)), "a training label is not 0..2")
PY
run geo-split --seed 3 ds2 chips14 chips12 chips11 chips13
cmp -s ds/data_batch_1.bin ds2/data_batch_1.bin && cmp -s ds/test_batch.bin ds2/test_batch.bin \
	&& pass "the split does not depend on the order of the chip directories" \
	|| fail "geo-split output depends on argument order"
run geo-split --seed 4 --test-frac 0.5 ds3 chips11 chips12 chips13 chips14
expect_match "$OUT" '^train_scenes=2 test_scenes=2 ' "--test-frac 0.5 tests on half"
expect_bad geo-split "one scene" "1 scene\(s\) in the chip directories" out1 chips11
expect_bad geo-split "not a chip directory" "notchips/chips.txt: cannot open" out2 chips11 notchips
expect_bad geo-split "--bands out of range" "has 4 bands, --bands asks for band 9" --bands 1,2,9 out3 chips11 chips12

# the trainer learns from it, and evaluates its saved model to the same score
if [ -x "$TC_BUILD_DIR/fmnist-train" ]; then
	OPENBLAS_NUM_THREADS=1 run fmnist-train --dataset cifar10 --data ds --epochs 2 --hidden 32 --out m
	expect_rc 0 "fmnist-train trains on geo-split's output"
	fin=$(printf '%s\n' "$OUT" | sed -nE 's/^final (test_acc=[0-9.]+ test_loss=[0-9.]+).*/\1/p')
	OPENBLAS_NUM_THREADS=1 run fmnist-train --dataset cifar10 --data ds --eval-only --load m
	expect_rc 0 "fmnist-train --eval-only on geo-split's output"
	expect_match "$OUT" "^final $fin test_images=" "the saved model scores as trained ($fin)"
fi

# ---- malformed TIFFs: exit 2 with a message, never a crash ---------------
head -c 300 a.tif >truncated.tif
printf 'not a tiff at all\n' >garbage.tif
: >empty.tif
for f in truncated.tif garbage.tif empty.tif; do
	expect_bad geo-normalise "$f" "$f: not a TIFF file \(libtiff: " "$f" x.tif
	expect_bad geo-label "$f as the mask" "$f: not a TIFF file" an.tif "$f" x.tif
	expect_bad geo-chip "$f as the image" "$f: not a TIFF file" "$f" al.tif x
done
# a sound header and directory over compressed pixels that are junk (the
# first strip starts after the 8-byte header)
for f in a am; do
	cp $f.tif bad$f.tif
	python3 -c "
f = open('bad$f.tif', 'r+b'); f.seek(16); f.write(b'\xff' * 4000)"
done
expect_bad geo-normalise "junk pixel data" "bada.tif: cannot decode rows from 0 \(libtiff: " bada.tif x.tif
expect_bad geo-label "junk pixel data in the mask" "badam.tif: cannot decode rows from 0" an.tif badam.tif x.tif
expect_bad geo-chip "junk pixel data in the image" "bada.tif: cannot decode rows from 0" bada.tif al.tif x
expect_no_file x.tif "no output from a malformed input"
expect_no_file x "no chip directory from a malformed input"
expect_bad geo-normalise "a directory" "chips11: not a file" chips11 x.tif
cp -r chips11 badchips
first=$(sed -n 2p badchips/chips.txt | cut -d' ' -f1)
head -c 200 "badchips/$first" >"badchips/$first.cut" && mv "badchips/$first.cut" "badchips/$first"
sed -i 's/^scene=scene11/scene=badscene/' badchips/chips.txt
expect_bad geo-split "a truncated chip" "badchips/$first: " out4 badchips chips12
expect_no_file out4/test_batch.bin "no batches from a bad chip"

tc_done
