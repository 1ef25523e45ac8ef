#!/usr/bin/env bash
# The README's five-minute tutorial, run as written: its shell block is
# taken from README.md and run from an empty directory, with trainctl on
# PATH as after installing.  A tutorial that no longer works fails here.
. "$(dirname "$0")/lib.sh"

readme="$TC_SOURCE_DIR/README.md"
python3 - "$readme" >tutorial.sh <<'PY'
import sys
text = open(sys.argv[1]).read()
sec = text.split("## Five minutes with a Python trainer", 1)[1]
block = sec.split("```sh\n", 1)[1].split("\n```", 1)[0]
print("set -e")
print(block)
PY
if [ ! -s tutorial.sh ] || ! grep -q 'trainctl run sweep.yaml' tutorial.sh; then
	fail "the tutorial's shell block was not found in README.md"
	tc_done
fi
mkdir bin
ln -s "$TRAINCTL" bin/trainctl
OUT=$(PATH="$TC_WORK/bin:$PATH" timeout 300 bash tutorial.sh 2>&1)
RC=$?
expect_rc 0 "the tutorial runs as written"
expect_match "$OUT" "first-sweep': 9 trials" "run says 9 trials"
expect_match "$OUT" "^best trial of first-sweep by val_loss \(minimize\)" "best names the winner"
expect_match "$OUT" "^epoch=1 loss=" "logs shows trial 0's output"
n=$(sqlite3 first/.trainctl/journal.db "select count(*) from trials where exp='first-sweep' and state='succeeded'")
expect_eq "$n" 9 "all 9 trials succeeded"
tc_done
