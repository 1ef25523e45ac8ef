#!/usr/bin/env bash
# Every verb's --help lists only what it accepts: each --format a verb's
# help names is accepted (exit 0 on a real experiment), and each format it
# does not name is refused with exit 2 (best once advertised csv and
# markdown and refused both); every option its usage line or description
# names is one of its options.
. "$(dirname "$0")/lib.sh"

cat >exp.yaml <<'EOF'
version: 1
name: fmt
command: [sh, -c, 'echo "acc=0.$0"', "{{v}}"]
parameters:
  v: {values: [1, 2]}
metric: {name: acc, goal: maximize}
EOF
tc_run run exp.yaml -q
expect_rc 0 "the experiment ran"
id0=$(trial_ids exp.yaml | head -n 1)

tc --help >help.txt
verbs=$(awk '/^verbs:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' help.txt)
nverbs=0
for v in $verbs; do
	tc "$v" --help >help.v
	# every option the usage line and description name is one it takes
	listed=$(sed -n '/^options:/,$p' help.v | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+$')
	for o in $(sed '/^options:/,$d' help.v | grep -oE -- '(^|[ [(|/`])--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+' | sort -u); do
		printf '%s\n' "$listed" | grep -qx -- "$o" ||
			fail "$v --help names $o, which is not among its options"
	done
	line=$(grep -E '^ +(-o, )?--format ' help.v) || continue
	nverbs=$((nverbs + 1))
	# the verb's positional arguments, from its usage line
	args=()
	for w in $(sed -n '1s/^usage: trainctl [a-z]* //p' help.v | tr -d '[]'); do
		case $w in
		SPEC) args+=(exp.yaml) ;;
		NAME) args+=(fmt) ;;
		TRIAL*) args+=("$id0") ;;
		esac
	done
	for f in table csv json markdown; do
		tc_run "$v" "${args[@]}" --format "$f"
		if printf '%s\n' "$line" | grep -qw -- "$f"; then
			expect_rc 0 "$v --format $f: its help lists it, so it is accepted"
		else
			expect_rc 2 "$v --format $f: its help does not list it, so it is refused"
		fi
	done
done
expect_eq "$((nverbs >= 6))" 1 "verbs with --format were found ($nverbs)"

tc_done
