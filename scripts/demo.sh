#!/usr/bin/env bash
# demo.sh — the README's main job: install, build, and run a real grid sweep
# of the Fashion-MNIST trainer on the local backend, then print the results
# table (best first) and the compute report, and write the HTML report
# (curves and plots) next to the results.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTC_WERROR=OFF >/dev/null
cmake --build build -j "$(nproc)" --target trainctl fmnist-train
export PATH="$PWD/build:$PATH"
spec=examples/fashion-mnist/grid.yaml
state=${TRAINCTL_HOME:-$PWD/build/demo-state}
name=$(sed -n 's/^name: *\([a-z0-9-]*\).*/\1/p' "$spec")
rc=0
if trainctl ls --state-dir "$state" 2>/dev/null | grep -q "^$name "; then
  trainctl resume "$name" --state-dir "$state" || rc=$?
else
  trainctl run "$spec" --state-dir "$state" || rc=$?
fi
echo
trainctl results "$name" --state-dir "$state" --sort test_acc
echo
trainctl report "$name" --state-dir "$state"
echo
printf 'HTML report (open it in a browser): '
trainctl report "$name" --state-dir "$state" --html "$state/$name.html"
exit $rc
