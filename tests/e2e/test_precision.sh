#!/usr/bin/env bash
# Numbers as they are: CSV and JSON carry metrics at full precision, in the
# shortest text that reads back exactly; tables round to 6 significant
# digits.
. "$(dirname "$0")/lib.sh"

cat >exp.yaml <<'EOF'
version: 1
name: prec
command: [sh, -c, 'echo "acc=0.123456789012345678 loss=0.1 big=123456789.125 tiny=1.5e-300"']
metric: {name: acc}
EOF
tc run exp.yaml -q >/dev/null

tc_run results prec --format csv
expect_rc 0 "results csv"
expect_contains "$OUT" "0.12345678901234568" "csv: a metric with 17 significant digits is exact"
expect_match "$OUT" '(^|,)0\.1(,|$)' "csv: 0.1 is written 0.1"
expect_contains "$OUT" "123456789.125" "csv: a large value keeps its fraction"
expect_contains "$OUT" "1.5e-300" "csv: a tiny value"
tc_run status prec --format csv
expect_contains "$OUT" "0.12345678901234568" "status csv: exact"

tc_run results prec --format json
expect_rc 0 "results json"
expect_contains "$OUT" '"acc": 0.12345678901234568' "json: the metric is exact"
expect_contains "$OUT" '"loss": 0.1' "json: 0.1 is written 0.1"
expect_no_match "$OUT" '0\.1000000000000000' "json: no 17-digit noise"
pycheck "json: every metric reads back as the same double" <<'PY'
rc, out, err = run("results", "prec", "--format", "json")
t = loads(out)["trials"][0]
check(t["acc"] == 0.123456789012345678, "acc reads back as the same double: %r" % t["acc"])
check(t["big"] == 123456789.125, "big reads back: %r" % t["big"])
check(t["tiny"] == 1.5e-300, "tiny reads back: %r" % t["tiny"])
PY
tc_run best prec --format json
expect_contains "$OUT" '0.12345678901234568' "best json: exact"

tc_run results prec
expect_match "$OUT" ' 0\.123457( |$)' "table: rounded to 6 significant digits"
tc_done
