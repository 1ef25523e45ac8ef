#!/usr/bin/env bash
# test_report_html.sh — `trainctl report NAME --html FILE`, opened in
# headless Chromium: the page renders (a screenshot that is not blank),
# its DOM holds one table row a trial and one curve a trial and metric,
# the numbers in the table are the journal's, clicking a column sorts the
# table, and the page logs no console error and asks for nothing from the
# network.  Also: the file appears whole or not at all.
. "$(dirname "$0")/lib.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	fail "no chromium (scripts/install.sh installs Debian's)"
	tc_done
fi
chrome() { # ARGS...: headless, without the machine's profile or sandbox
	timeout -k 5 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--no-first-run --user-data-dir="$TC_WORK/.chrome" \
		--enable-logging=stderr --v=0 "$@"
}

# six trials; one fails before printing anything (no curve, no metric)
cat >train.sh <<'EOF'
lr=$1 opt=$2
[ "$lr" = 0.3 ] && [ "$opt" = adam ] && exit 3
awk -v lr="$lr" -v opt="$opt" 'BEGIN {
	k = lr * (opt == "adam" ? 2 : 1)
	for (e = 1; e <= 5; e++)
		printf "epoch=%d loss=%.6f acc=%.6f\n", e, 2 / (1 + k * e), 1 - 1 / (1 + k * e * 3)
}'
EOF
cat >h.yaml <<'EOF'
version: 1
name: web
command: [bash, train.sh, "{{lr}}", "{{opt}}"]
parameters:
  lr: {values: [0.01, 0.1, 0.3]}
  opt: {values: [sgd, adam]}
metric: {name: acc, goal: maximize}
run: {max_failures: 0}
EOF
tc_run run h.yaml
expect_rc 1 "the sweep (one trial fails)"

mkdir out
tc_run report web --html out/web.html
expect_rc 0 "report --html"
expect_eq "$OUT" "out/web.html" "it prints the file's path"
expect_file out/web.html "the report is written"
expect_no_match "$(grep -Eo '(src|href)="[^"]*"|url\([^)]*\)|https?://[^" ]*' out/web.html)" '.' \
	"nothing in the page points elsewhere (no src, href, url() or http)"
expect_contains "$(cat out/web.html)" "Content-Security-Policy\" content=\"default-src 'none'" \
	"its Content-Security-Policy forbids every fetch"

# the DOM once its script ran, and the console meanwhile
chrome --dump-dom "file://$TC_WORK/out/web.html" >dom.html 2>console.txt
pycheck "the DOM: a row a trial, a curve a trial and metric, the journal's numbers" \
	"$(cat dom.html)" "$(tc results web --format json)" <<'PY'
import re
dom, res = sys.argv[1], loads(sys.argv[2])
rows = re.findall(r'<tr[^>]* data-trial="([0-9a-f]+)"[^>]*>(.*?)</tr>', dom, re.S)
check(len(rows) == 6, "table rows: %d, want 6" % len(rows))
curves = re.findall(r'<path class="curve"', dom)
# five trials printed loss and acc (the step counter is the x axis)
check(len(curves) == 10, "curve paths: %d, want 10" % len(curves))
best = re.findall(r'<path class="best-curve"', dom)
check(len(best) == 10, "highlighted curves: %d, want 10 (5 best x 2)" % len(best))
heads = re.findall(r'<th[^>]*>(.*?)</th>', dom.split("</thead>")[0])
col = heads.index("acc")
by_id = {r["trial"]: r for r in res["trials"]}
for tid, cells in rows:
    tds = re.findall(r'<td([^>]*)>(.*?)</td>', cells, re.S)
    want = by_id[tid].get("acc")
    attrs, text = tds[col]
    m = re.search(r'data-v="([^"]*)"', attrs)
    if want is None:
        check(m and m.group(1) == "", "%s: no acc, got %r" % (tid, attrs))
    else:
        check(m and float(m.group(1)) == want, "%s: acc %r, journal %r" % (tid, m and m.group(1), want))
        check(abs(float(text) - want) <= 5e-6 * abs(want), "%s: shown %r" % (tid, text))
# ranked: the first row is the best by acc
accs = [by_id[t]["acc"] for t, _ in rows if by_id[t].get("acc") is not None]
check(accs == sorted(accs, reverse=True), "rows ranked by acc: %r" % accs)
check("failed" in dom, "the failed trial's state shown")
# the compute table by each parameter: a row a value, every trial once
for name, values in (("lr", 3), ("opt", 2)):
    m = re.search(r'<h3>By %s</h3><table class="compute-by">.*?<tbody>(.*?)</tbody>' % name, dom, re.S)
    if check(m, "a compute table by %s" % name):
        trs = re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S)
        check(len(trs) == values, "by %s: %d rows" % (name, len(trs)))
        counts = [int(re.findall(r"<td>(\d+)</td>", t)[0]) for t in trs]
        check(sum(counts) == 6, "by %s: trials %r" % (name, counts))
# the totals: pending hours (on Kubernetes, waits for containers) apart
# from wall hours; none for local trials
m = re.search(r'<table id="compute-table"><thead><tr>(.*?)</tr></thead><tbody><tr>(.*?)</tr>', dom, re.S)
if check(m, "the compute totals"):
    heads = re.findall(r"<th>(.*?)</th>", m.group(1))
    cells = re.findall(r"<td>(.*?)</td>", m.group(2))
    tot = dict(zip(heads, cells))
    check(tot.get("pending hours") == "0.000", "pending hours %r" % tot.get("pending hours"))
    check(heads.index("pending hours") == heads.index("GPU hours") + 1, "after GPU hours: %r" % heads)
PY
expect_no_match "$(grep -F 'CONSOLE' console.txt)" '.' "no console message (errors, refused loads)"

# clicking the acc column sorts the rows ascending (a copy of the page
# with a script that clicks, then writes the order where we can read it)
cp out/web.html click.html
cat >>click.html <<'EOF'
<script>
var t = document.getElementById('results-table');
var ths = t.tHead.rows[0].cells, col = -1;
for (var i = 0; i < ths.length; i++) if (ths[i].textContent === 'acc') col = i;
ths[col].click();
var order = [];
for (var r = 0; r < t.tBodies[0].rows.length; r++)
	order.push(t.tBodies[0].rows[r].cells[col].getAttribute('data-v'));
document.body.setAttribute('data-order', order.join(' '));
</script>
EOF
chrome --dump-dom "file://$TC_WORK/click.html" >clicked.html 2>/dev/null
pycheck "a click on a column's header sorts by it (empty last)" "$(cat clicked.html)" <<'PY'
import re
m = re.search(r'data-order="([^"]*)"', sys.argv[1])
check(m, "the clicking script ran")
vals = m.group(1).split(" ")
nums = [float(v) for v in vals if v != ""]
check(nums == sorted(nums), "ascending: %r" % vals)
check(vals[-1] == "", "the trial without acc last: %r" % vals)
PY

# what a person sees at 1280 x 800: not blank
chrome --hide-scrollbars --window-size=1280,800 --screenshot="$TC_WORK/shot.png" \
	"file://$TC_WORK/out/web.html" >/dev/null 2>&1
expect_file shot.png "a screenshot"
pycheck "the screenshot shows a page (not blank)" shot.png <<'PY'
import struct, zlib
data = open(sys.argv[1], "rb").read()
check(data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG")
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        bpp = {2: 3, 6: 4}[ctype]
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride, prev, colours, inked = w * bpp, bytearray(w * bpp), set(), 0
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        p = [0, a, b, (a + b) // 2, 0][f]
        if f == 4:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            p = a if pa <= pb and pa <= pc else b if pb <= pc else c
        line[i] = (line[i] + p) & 255
    if y % 4 == 0:
        for x in range(0, w, 4):
            px = bytes(line[x * bpp:x * bpp + 3])
            colours.add(px)
            inked += px != b"\xff\xff\xff"
    prev = line
samples = (h // 4 + 1) * (w // 4)
check(w == 1280 and h == 800, "size %dx%d" % (w, h))
check(len(colours) > 20, "colours: %d" % len(colours))
check(inked > samples * 0.03, "ink on %.1f%% of the page" % (100.0 * inked / samples))
PY

# whole or nothing: a directory that does not exist leaves no file
tc_run report web --html nodir/web.html
expect_rc 1 "report --html into a missing directory fails"
expect_contains "$ERR" "nodir/web.html" "the message names the file"
expect_no_file nodir "nothing written"
ls out >listing
expect_eq "$(cat listing)" "web.html" "no temporary file left beside the report"
tc_done
