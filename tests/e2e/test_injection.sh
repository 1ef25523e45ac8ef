#!/usr/bin/env bash
# Parameter values with spaces, quotes, $(), backticks, ;, |, newlines ...
# reach the trial verbatim, each as one argv element, and never a shell;
# with script: they arrive only as environment variables.
. "$(dirname "$0")/lib.sh"

cat >dump.py <<'EOF'
import json, os, sys
with open(os.path.join(os.environ["TRAINCTL_TRIAL_DIR"], "argv.json"), "w") as f:
    json.dump({"argv": sys.argv[1:], "env": dict(os.environ),
               "params": json.load(open(os.path.join(os.environ["TRAINCTL_TRIAL_DIR"], "params.json")))}, f)
EOF

# The values, written into the YAML as JSON strings (valid YAML double-quoted
# scalars), so no shell touches them on the way into the file.
python3 - "$TC_WORK" <<'PY'
import json, sys
w = sys.argv[1]
values = [
    "a b  c",
    "it's",
    'say "hi"',
    "$(touch %s/pwned-dollar)" % w,
    "`touch %s/pwned-backtick`" % w,
    "x; touch %s/pwned-semicolon" % w,
    "x && touch %s/pwned-and" % w,
    "| touch %s/pwned-pipe" % w,
    "> %s/pwned-redirect" % w,
    "line1\nline2\n$(touch %s/pwned-newline)" % w,
    "'; touch %s/pwned-quote; '" % w,
    "\"; touch %s/pwned-dquote; \"" % w,
    "\\ back\\slash \\n",
    "{{trial_id}}",
    "*.yaml ~ $HOME ${PATH}",
    "tab\there",
    "-rf",
    "h\u00e9llo w\u00f6rld \u2713",
    "",
]
json.dump(values, open("values.json", "w"))
spec = """version: 1
name: inj
command: [python3, dump.py, "{{v}}", "pre-{{v}}-post", "{{v}}{{v}}"]
env: {P_V: "{{v}}"}
parameters:
  v:
    values:
%s
run: {parallel: 2}
""" % "".join("      - %s\n" % json.dumps(v) for v in values)
open("inj.yaml", "w").write(spec)
PY

tc_run validate inj.yaml
expect_rc 0 "the spec with hostile values validates"
expect_contains "$OUT" "19 trials" "one trial per value (19), none lost or merged"
tc_run run inj.yaml -q
expect_rc 0 "run: every trial succeeded"

pycheck "every value reached the trial verbatim, as one argv element" values.json .trainctl <<'PY'
values = load(sys.argv[1])
root = os.path.join(sys.argv[2], "trials")
seen = []
for tid in os.listdir(root):
    info = load(os.path.join(root, tid, "argv.json"))
    v = info["params"]["v"]
    seen.append(v)
    check(info["argv"] == [v, "pre-" + v + "-post", v + v],
          "%s: argv %r for value %r" % (tid, info["argv"], v))
    check(info["env"].get("P_V") == v, "%s: env P_V %r for value %r" % (tid, info["env"].get("P_V"), v))
    check(json.loads(info["env"]["TRAINCTL_PARAMS"]) == {"v": v}, "%s: TRAINCTL_PARAMS" % tid)
check(sorted(seen) == sorted(values), "params.json values %r" % sorted(seen))
PY
expect_eq "$(find . -name 'pwned-*' | wc -l)" 0 "no injected command ran (no pwned-* file)"

# the values come back unchanged through results --format json and csv
pycheck "results json and csv carry the values unchanged" values.json <<'PY'
import csv, io
values = load(sys.argv[1])
rc, out, err = run("results", "inj", "--format", "json")
check(rc == 0, "results rc %d" % rc)
check(sorted(t["v"] for t in loads(out)["trials"]) == sorted(values), "json values")
rc, out, err = run("results", "inj", "--format", "csv")
rows = list(csv.reader(io.StringIO(out, newline="")))
col = rows[0].index("v")
check(len(rows) == len(values) + 1, "csv rows %d" % len(rows))
check(sorted(r[col] for r in rows[1:]) == sorted(values), "csv values %r" % sorted(r[col] for r in rows[1:]))
PY

# ---- script: parameters only as environment variables --------------------
python3 - "$TC_WORK" <<'PY'
import json, sys
w = sys.argv[1]
values = ["$(touch %s/pwned-script-dollar)" % w, "a b; touch %s/pwned-script-semi" % w,
          "`touch %s/pwned-script-backtick`" % w, "it's \"quoted\"\nnext line"]
json.dump(values, open("script-values.json", "w"))
spec = """version: 1
name: inj-script
script: |
  python3 dump.py "$v"
  printf '%%s' "$v" > "$TRAINCTL_TRIAL_DIR/v.txt"
parameters:
  v:
    values:
%s
""" % "".join("      - %s\n" % json.dumps(v) for v in values)
open("script.yaml", "w").write(spec)
PY
tc_run run script.yaml -q
expect_rc 0 "script run: every trial succeeded"
pycheck "script: the value is in the environment, not in the command line" script-values.json .trainctl <<'PY'
values = load(sys.argv[1])
rc, out, err = run("results", "inj-script", "--format", "json")
res = loads(out)["trials"]
check(len(res) == len(values), "%d trials" % len(res))
script = open("script.yaml").read().split("script: |\n")[1].split("parameters:")[0]
script = "".join(l[2:] for l in script.splitlines(True))
for t in res:
    v = t["v"]
    d = os.path.join(sys.argv[2], "trials", t["trial"])
    info = load(os.path.join(d, "argv.json"))
    check(info["env"].get("v") == v, "env v %r, want %r" % (info["env"].get("v"), v))
    check(info["argv"] == [v], "\"$v\" in the script gives %r, want %r" % (info["argv"], v))
    check(open(os.path.join(d, "v.txt")).read() == v, "v.txt")
    check(t["command"] == ["/bin/sh", "-c", script], "the command is the script alone: %r" % t["command"])
    check(not any(v in a for a in t["command"]), "the value is nowhere in the command line")
PY
expect_eq "$(find . -name 'pwned-*' | wc -l)" 0 "script: no injected command ran"

# a {{name}} inside a script is never substituted into shell code: either
# validate rejects it, or the shell sees the literal text
cat >templ.yaml <<'EOF'
version: 1
name: templ
script: printf '%s' '{{v}}' > "$TRAINCTL_TRIAL_DIR/t.txt"
parameters:
  v: {values: ["'; touch pwned-templ; '"]}
EOF
tc_run run templ.yaml -q
if [ "$RC" = 2 ]; then
	pass "{{v}} in a script is rejected"
else
	expect_rc 0 "{{v}} in a script: run"
	expect_eq "$(cat .trainctl/trials/*/t.txt)" "{{v}}" "{{v}} in a script stays literal"
fi
expect_no_file pwned-templ "no injection through {{v}} in a script"

tc_done
