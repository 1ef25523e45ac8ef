#!/bin/sh
# summary.sh OUT TESTDIR... — the summary stage of pipeline.yaml: one row
# per tested model, written to OUT as tab-separated values with a header:
# test_acc and test_loss (the final line a test job printed to its
# stdout.log), the model's parameters (its params.json, in the spec's
# order) and the test job's id, best test_acc first; the table is also
# printed.
set -eu
[ $# -ge 2 ] || { echo "usage: summary.sh OUT TESTDIR..." >&2; exit 2; }
command -v jq >/dev/null || { echo "summary.sh: jq is needed (scripts/install.sh installs it)" >&2; exit 2; }
out=$1
shift
tab=$(printf '\t')
rows=$out.rows.$$
trap 'rm -f "$rows" "$out.tmp.$$"' EXIT
: >"$rows"
header=
for d; do
	if [ ! -r "$d/params.json" ] || [ ! -r "$d/stdout.log" ]; then
		echo "summary.sh: $d: no params.json or stdout.log (not a job's directory?)" >&2
		exit 2
	fi
	line=$(grep '^final ' "$d/stdout.log" | tail -n 1)
	acc=$(printf '%s\n' "$line" | sed -n 's/.* test_acc=\([0-9.]*\).*/\1/p')
	loss=$(printf '%s\n' "$line" | sed -n 's/.* test_loss=\([0-9.]*\).*/\1/p')
	if [ -z "$acc" ] || [ -z "$loss" ]; then
		echo "summary.sh: $d/stdout.log: no final line with test_acc and test_loss" >&2
		exit 2
	fi
	keys=$(jq -r 'keys_unsorted | @tsv' "$d/params.json")
	if [ -n "$header" ] && [ "$keys" != "$header" ]; then
		echo "summary.sh: $d/params.json: other parameters than the first job's" >&2
		exit 2
	fi
	header=$keys
	vals=$(jq -r '[.[] | tostring] | @tsv' "$d/params.json")
	printf '%s\t%s\t%s\t%s\n' "$acc" "$loss" "$vals" "${d##*/}" >>"$rows"
done
{
	printf 'test_acc\ttest_loss\t%s\tjob\n' "$header"
	sort -t "$tab" -k1,1gr -k2,2g "$rows"
} >"$out.tmp.$$"
mv "$out.tmp.$$" "$out"
cat "$out"
