#!/usr/bin/env bash
# test_export_mlflow.sh — `trainctl export NAME --mlflow URI` against a real
# MLflow tracking server (PyPI's mlflow, installed by `scripts/install.sh
# --tests` into its own virtualenv, started here on a loopback port): every
# param, tag, state and metric step read back through MLflow's API equals
# the journal's; a second export changes nothing; bad URIs and a server
# that is not there get their exit codes.
. "$(dirname "$0")/lib.sh"
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-mlflow
if [ ! -x "$VENV/bin/mlflow" ]; then
	fail "no mlflow in $VENV (bash scripts/install.sh --tests installs it)"
	tc_done
fi
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URI=http://127.0.0.1:$PORT
mkdir ml
(cd ml && exec "$VENV/bin/mlflow" server --host 127.0.0.1 --port "$PORT" \
	--backend-store-uri "sqlite:///$TC_WORK/ml/db.sqlite" \
	--default-artifact-root "$TC_WORK/ml/art" --workers 1 >server.log 2>&1) &
up() { curl -fsS "$URI/health" >/dev/null; }

# three trials: x=2 fails once and is retried (its first attempt's values
# are not exported), x=3 also prints a value MLflow cannot hold (nan)
cat >train.sh <<'EOF'
x=$1
if [ "$x" = 2 ] && [ "$TRAINCTL_ATTEMPT" = 1 ]; then
	echo "step=1 loss=99"
	exit 1
fi
for s in 1 2 3; do
	echo "step=$s loss=0.$((9 - s))$x acc=0.$x$s"
done
[ "$x" = 3 ] && echo "step=4 loss=nan"
exit 0
EOF
cat >m.yaml <<'EOF'
version: 1
name: mlx
command: [bash, train.sh, "{{x}}"]
parameters:
  x: {values: [1, 2, 3]}
  lr: {values: [0.001]}
  opt: {values: ["adam w"]}
metric: {name: acc, goal: maximize}
run: {retries: 1, backoff: 0.1s}
EOF
tc_run run m.yaml
expect_rc 0 "the sweep"

if ! wait_for 300 "the MLflow server up" up; then
	sed 's/^/     server| /' ml/server.log | tail -20
	tc_done
fi
TC_TIMEOUT=300
tc_run export mlx --mlflow "$URI"
expect_rc 0 "export --mlflow"
expect_contains "$OUT" "3 runs created, 0 updated" "three runs created"
expect_contains "$OUT" "(1 not finite" "the nan is said to be left out"

# what the server holds, through its own API
dump() {
	python3 - "$URI" <<'PY'
import json, sys, urllib.request
base = sys.argv[1] + "/api/2.0/mlflow/"
def call(path, body=None):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
e = call("experiments/get-by-name?experiment_name=mlx")["experiment"]
runs = call("runs/search", {"experiment_ids": [e["experiment_id"]], "max_results": 1000}).get("runs", [])
out = {"experiment": e["name"], "tags": sorted((t["key"], t["value"]) for t in e.get("tags", [])), "runs": {}}
for r in runs:
    tags = {t["key"]: t["value"] for t in r["data"].get("tags", [])}
    tid = tags["trainctl.trial_id"]
    hist = {}
    for m in r["data"].get("metrics", []):
        h = call("metrics/get-history?run_id=%s&metric_key=%s" % (r["info"]["run_id"], m["key"]))["metrics"]
        hist[m["key"]] = sorted((x["step"], x["value"], x["timestamp"]) for x in h)
    out["runs"][tid] = {"status": r["info"]["status"], "name": r["info"].get("run_name"),
                        "params": {p["key"]: p["value"] for p in r["data"].get("params", [])},
                        "tags": {k: v for k, v in tags.items() if not k.startswith("mlflow.")},
                        "metrics": hist}
print(json.dumps(out, sort_keys=True))
PY
}
dump >first.json
tc metrics mlx --format jsonl >values.jsonl
tc results mlx --format json >results.json
pycheck "params, tags, states and every metric step as the journal has them" \
	first.json values.jsonl results.json <<'PY'
d = load(sys.argv[1])
vals = [loads(l) for l in open(sys.argv[2])]
res = load(sys.argv[3])
check(d["experiment"] == "mlx", "experiment %r" % d["experiment"])
check(["trainctl.spec_sha256", res["provenance"]["spec_sha256"]] in d["tags"], "experiment tags %r" % d["tags"])
check(len(d["runs"]) == 3, "runs: %d" % len(d["runs"]))
for t in res["trials"]:
    r = d["runs"].get(t["trial"])
    if not check(r, "no run for %s" % t["trial"]):
        continue
    check(r["status"] == "FINISHED", "%s: status %r" % (t["trial"], r["status"]))
    check(r["params"] == {"x": str(t["x"]), "lr": "0.001", "opt": "adam w"}, "params %r" % r["params"])
    check(r["tags"]["trainctl.state"] == "succeeded" and r["tags"]["trainctl.attempt"] == str(t["attempts"])
          and r["tags"]["trainctl.index"] == str(t["index"]) and r["tags"]["trainctl.experiment"] == "mlx",
          "tags %r" % r["tags"])
    want = {}
    for v in vals:
        if v["trial"] == t["trial"] and v["attempt"] == t["attempts"] and isinstance(v["value"], float | int):
            want.setdefault(v["name"], []).append((v["step"], float(v["value"])))
    got = {k: [(s, val) for s, val, _ in h] for k, h in r["metrics"].items()}
    check(got == {k: sorted(x) for k, x in want.items()}, "%s: metrics %r, want %r" % (t["trial"], got, want))
    for k, h in r["metrics"].items():
        check(all(ts > 1.7e12 for _, _, ts in h), "timestamps in ms: %r" % h)
x2 = [t for t in res["trials"] if t["x"] == 2][0]
check(x2["attempts"] == 2 and (1, 99.0) not in [(s, v) for s, v, _ in d["runs"][x2["trial"]]["metrics"]["loss"]],
      "the failed first attempt's values are not exported")
PY

tc_run export mlx --mlflow "$URI/"
expect_rc 0 "a second export"
expect_contains "$OUT" "0 runs created, 3 updated" "the same runs, updated"
dump >second.json
expect_eq "$(cmp first.json second.json && echo same)" "same" "a second export changes nothing on the server"

tc_run export mlx --mlflow "ftp://127.0.0.1:$PORT"
expect_rc 2 "a URI that is not http(s)"
expect_contains "$ERR" "ftp://" "the message names it"
tc_run export mlx
expect_rc 2 "no --mlflow"
CLOSED=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tc_run export mlx --mlflow "http://127.0.0.1:$CLOSED"
expect_rc 3 "no server there"
expect_contains "$ERR" "cannot reach the MLflow server at http://127.0.0.1:$CLOSED" "the message names the server"
tc_run export nosuch --mlflow "$URI"
expect_rc 2 "an unknown experiment"
tc_done
