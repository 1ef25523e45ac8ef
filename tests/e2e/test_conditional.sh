#!/usr/bin/env bash
# test_conditional.sh — conditional parameters (when:) and {{args}} in a
# real sweep whose trial program records its argv:
#   - a grid has the points of the parameters each trial has (adam: no
#     momentum, so 2 + 2x2x2 trials, not 3x2x2);
#   - {{args}} is one --name=value element per parameter the trial has,
#     in spec order; {{momentum?}} renders nothing, and an element that
#     is only it is dropped;
#   - an absent parameter is not in params.json, TRAINCTL_PARAMS, the
#     trial's environment (script:), results, nor its id;
#   - a script's {{args_no_hyphens}} arrives as its positional parameters;
#   - random search draws a conditional parameter only where present;
#   - each kind of bad input: file:line:col, exit 2.
. "$(dirname "$0")/lib.sh"

cat >dump.py <<'EOF'
import json, os, sys
print("argv:", json.dumps(sys.argv[1:]))
d = os.environ["TRAINCTL_TRIAL_DIR"]
with open(os.path.join(d, "argv.json"), "w") as f:
    json.dump({"argv": sys.argv[1:], "env": dict(os.environ)}, f)
EOF

cat >cond.yaml <<'EOF'
version: 1
name: cond
command: [python3, dump.py, "{{args}}", "--m={{momentum?}}", "{{momentum?}}",
          "{{ momentum? }}", "last"]
env: {MOM: "[{{momentum?}}]"}
parameters:
  optimizer: {values: [adam, sgd, momentum]}
  momentum: {values: [0.9, 0.99], when: {optimizer: [sgd, momentum]}}
  lr: {values: [0.1, 0.01]}
  beta1: {value: 0.9, when: {optimizer: adam}}
  nesterov: {from: optimizer, map: {adam: "no", sgd: "yes", momentum: "no"}, when: {momentum: 0.99}}
run: {parallel: 2}
EOF

tc_run validate cond.yaml
expect_rc 0 "validate: a spec with when:"
expect_contains "$OUT" "10 trials" "10 trials: adam has no momentum to multiply by"

tc_run plan cond.yaml
expect_rc 0 "plan"
expect_match "$OUT" "planned  adam       -         0\.1   0\.9    -" \
	"plan shows an absent parameter as -"
ids1=$(trial_ids cond.yaml)

tc_run run cond.yaml -q
expect_rc 0 "run: every trial succeeded"

pycheck "each trial got the arguments of the parameters it has" .trainctl <<'PY'
root = os.path.join(sys.argv[1], "trials")
trials = os.listdir(root)
check(len(trials) == 10, "%d trial directories" % len(trials))
got = set()
for tid in trials:
    info = load(os.path.join(root, tid, "argv.json"))
    params = load(os.path.join(root, tid, "params.json"))
    opt = params["optimizer"]
    has = opt in ("sgd", "momentum")
    check(("momentum" in params) == has, "%s: params.json %r" % (tid, params))
    check(json.loads(info["env"]["TRAINCTL_PARAMS"]) == params, "%s: TRAINCTL_PARAMS" % tid)
    want = ["--optimizer=" + opt]
    if has:
        want.append("--momentum=%s" % params["momentum"])
    want.append("--lr=%s" % params["lr"])
    if opt == "adam":
        want.append("--beta1=0.9")
    if has and params["momentum"] == 0.99:
        want.append("--nesterov=%s" % ("yes" if opt == "sgd" else "no"))
        check(params["nesterov"] == ("yes" if opt == "sgd" else "no"), "%s: nesterov" % tid)
    else:
        check("nesterov" not in params, "%s: no nesterov without momentum 0.99" % tid)
    m = str(params["momentum"]) if has else ""
    want += ["--m=" + m] + ([m, m] if has else []) + ["last"]
    check(info["argv"] == want, "%s: argv %r, want %r" % (tid, info["argv"], want))
    check(info["env"]["MOM"] == "[%s]" % m, "%s: env MOM %r" % (tid, info["env"]["MOM"]))
    got.add((opt, params.get("momentum"), params["lr"]))
check(len(got) == 10, "10 distinct points: %r" % sorted(got, key=str))
PY

expect_eq "$(trial_ids cond.yaml)" "$ids1" "the plan gives the same ids again"

pycheck "results: the parameter is absent, not null, where a trial lacks it" <<'PY'
rc, out, err = run("results", "cond", "--format", "json")
check(rc == 0, "results rc %d %s" % (rc, err))
rows = loads(out)["trials"]
check(len(rows) == 10, "10 rows")
for r in rows:
    check(("momentum" in r) == (r["optimizer"] != "adam"), "row %r" % r)
rc, out, err = run("results", "cond")
lines = [l.split() for l in out.splitlines() if " adam " in l]
check(len(lines) == 2, "two adam rows in the table: %r" % out)
hdr = out.splitlines()[0].split()
for l in lines:
    check(l[hdr.index("momentum")] == "-", "adam row shows - for momentum: %r" % l)
PY

# an absent trial has the id the same values have without the parameter
cat >plain.yaml <<'EOF'
version: 1
name: cond
command: [python3, dump.py]
parameters:
  optimizer: {values: [adam]}
  lr: {values: [0.1, 0.01]}
  beta1: {value: 0.9}
EOF
expect_eq "$(trial_ids plain.yaml)" "$(trial_ids cond.yaml | head -2)" \
	"an absent parameter is not part of the trial id"

# ---- a script: {{args_no_hyphens}} as "$@", absent parameters unset -----
cat >script.yaml <<'EOF'
version: 1
name: cond-script
script: |
  set -e
  python3 dump.py {{args_no_hyphens}} end
parameters:
  optimizer: {values: [adam, sgd]}
  momentum: {values: ["0.9; touch pwned"], when: {optimizer: sgd}}
EOF
tc_run run script.yaml -q --state-dir st2
expect_rc 0 "run: a script with {{args_no_hyphens}}"
pycheck "the script got name=value arguments and only its parameters' variables" st2 <<'PY'
root = os.path.join(sys.argv[1], "trials")
check(len(os.listdir(root)) == 2, "two trials")
for tid in os.listdir(root):
    info = load(os.path.join(root, tid, "argv.json"))
    env = info["env"]
    if env["optimizer"] == "sgd":
        check(info["argv"] == ["optimizer=sgd", "momentum=0.9; touch pwned", "end"],
              "sgd argv %r" % info["argv"])
        check(env.get("momentum") == "0.9; touch pwned", "sgd: $momentum")
        check(env.get("TRAINCTL_PARAM_MOMENTUM") == "0.9; touch pwned", "sgd: TRAINCTL_PARAM_MOMENTUM")
    else:
        check(info["argv"] == ["optimizer=adam", "end"], "adam argv %r" % info["argv"])
        check("TRAINCTL_PARAM_MOMENTUM" not in env, "adam: no TRAINCTL_PARAM_MOMENTUM")
PY
expect_eq "$(find . -name pwned | wc -l)" 0 "no value was parsed by the shell"

# ---- random search: drawn only where present ----------------------------
cat >rand.yaml <<'EOF'
version: 1
name: cond-rand
command: [python3, dump.py, "{{args}}"]
parameters:
  momentum: {distribution: uniform, min: 0.5, max: 0.99, when: {optimizer: sgd}}
  optimizer: {values: [adam, sgd]}
  wd: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-2, when: {optimizer: adam}}
search: {method: random, trials: 30, seed: 4}
EOF
pycheck "random: momentum only with sgd, wd only with adam" <<'PY'
rc, out, err = run("plan", "rand.yaml", "--format", "json")
check(rc == 0, "plan rc %d %s" % (rc, err))
rows = loads(out)
check(len(rows) == 30, "30 trials")
for r in rows:
    sgd = r["optimizer"] == "sgd"
    check(("momentum" in r) == sgd and ("wd" in r) != sgd, "row %r" % r)
    if sgd:
        check(0.5 <= r["momentum"] <= 0.99, "momentum in range %r" % r)
check(0 < sum(r["optimizer"] == "sgd" for r in rows) < 30, "both optimizers drawn")
PY

# ---- bad input: file:line:col, exit 2 -------------------------------------
bad() { # FILE WANT-REGEX WHAT (the spec is on stdin)
	cat >"$1"
	tc_run validate "$1"
	expect_rc 2 "$3: exit 2"
	expect_match "$ERR" "$2" "$3: position and message"
}
H='version: 1
name: bad
command: [python3, dump.py]'
bad b1.yaml "^b1.yaml:5:27: parameters.m.when: unknown parameter 'optimiser' \(did you mean 'optimizer'\?\)" \
	"when: naming an unknown parameter" <<EOF
$H
parameters:
  m: {values: [1], when: {optimiser: sgd}}
  optimizer: {values: [sgd, adam]}
EOF
bad b2.yaml "^b2.yaml:6:38: parameters.m.when.optimizer: 'rmsprop' is not one of the values of 'optimizer' \(sgd, adam\)" \
	"when: naming a value the parameter does not have" <<EOF
$H
parameters:
  optimizer: {values: [sgd, adam]}
  m: {values: [1], when: {optimizer: rmsprop}}
EOF
bad b3.yaml "^b3.yaml:7:30: parameters.c.when: when: and from: go round in a cycle \(a -> b -> c -> a" \
	"a cycle of when:" <<EOF
$H
parameters:
  a: {values: [1, 2], when: {b: 1}}
  b: {values: [1, 2], when: {c: 1}}
  c: {values: [1, 2], when: {a: 1}}
EOF
bad b4.yaml "^b4.yaml:6:13: parameters.d.from: when: and from: go round in a cycle \(p -> d -> p" \
	"when: on the source of a derived parameter that depends on it" <<EOF
$H
parameters:
  p: {values: [x, y], when: {d: 5}}
  d: {from: p, map: {x: 5, y: 6}}
EOF
bad b5.yaml "^b5.yaml:6:27: parameters.m.when: 'lr' is drawn from a distribution" \
	"when: naming a distribution" <<EOF
$H
parameters:
  lr: {distribution: uniform, min: 0, max: 1}
  m: {values: [1], when: {lr: 0.5}}
search: {method: random, trials: 3}
EOF
bad b6.yaml "^b6.yaml:3:34: 'm' is not a parameter of every trial \(its when:, line 6\): write \{\{m\?\}\}" \
	"{{m}} of a parameter some trials lack" <<'EOF'
version: 1
name: bad
command: [python3, dump.py, "--m={{m}}"]
parameters:
  o: {values: [1, 2]}
  m: {values: [1], when: {o: 1}}
EOF
bad b7.yaml "^b7.yaml:4:11: 'm' is not a parameter of every trial" \
	"{{m}} in env: of a parameter some trials lack" <<'EOF'
version: 1
name: bad
command: [python3, dump.py]
env: {M: "{{m}}"}
parameters:
  o: {values: [1, 2]}
  m: {values: [1], when: {o: 1}}
EOF
bad b8.yaml "^b8.yaml:3:33: \{\{args\}\} stands for several arguments: write it as an element of command: of its own" \
	"{{args}} inside an element" <<'EOF'
version: 1
name: bad
command: [python3, dump.py, "-a={{args}}"]
EOF
bad b9.yaml "^b9.yaml:4:11: \{\{args\}\} stands for several arguments: it can only be an element of command: of its own, or a word of script:" \
	"{{args}} in env:" <<'EOF'
version: 1
name: bad
command: [python3, dump.py]
env: {A: "{{args}}"}
EOF
bad b10.yaml "^b10.yaml:3:26: \{\{args\}\} in a script must be a word of its own, outside quotes" \
	"{{args}} quoted in a script" <<'EOF'
version: 1
name: bad
script: python3 dump.py "{{args}}"
EOF
bad b11.yaml "^b11.yaml:7:27: search.include\[0\] sets 'm', which a trial with the entry's other values does not have" \
	"include giving a parameter its values leave out" <<EOF
$H
parameters:
  o: {values: [1, 2]}
  m: {values: [1, 2], when: {o: 1}}
search: {include: [{o: 2, m: 1}]}
EOF
bad b13.yaml "^b13.yaml:7:30: search.exclude\[0\]: a trial with o 'adam' has no 'm' \(parameters.m.when, line 6\), so this entry would never match" \
	"exclude naming a parameter with a value that leaves it out" <<EOF
$H
parameters:
  o: {values: [adam, sgd]}
  m: {values: [1, 2], when: {o: sgd}}
search: {exclude: [{o: adam, m: 1}]}
EOF
bad b12.yaml "^b12.yaml:5:3: parameter name 'args' is reserved" \
	"a parameter named args" <<EOF
$H
parameters:
  args: {values: [1]}
EOF

tc_done
