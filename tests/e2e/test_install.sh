#!/usr/bin/env bash
# cmake --install into a fresh prefix gives a trainctl that works from any
# directory with only the prefix on PATH (no source or build tree): it runs
# a sweep of the installed fmnist-train on Fashion-MNIST; `man trainctl`
# finds the page and renders it without warnings; the bash completion
# (loaded as bash-completion would, driven through COMP_WORDS) completes
# verbs, run's flags, --format values, experiment names from the state
# directory and trial ids; the zsh completion parses and does the same
# through stand-ins for zsh's completion builtins.
. "$(dirname "$0")/lib.sh"

BUILD=${TC_BUILD_DIR:-$TC_SOURCE_DIR/build}
P=$TC_WORK/prefix
if ! cmake --install "$BUILD" --prefix "$P" >install.log 2>&1; then
	fail "cmake --install $BUILD --prefix $P"
	sed 's/^/     | /' install.log
	tc_done
fi
for f in bin/trainctl bin/fmnist-train share/man/man1/trainctl.1 \
	share/bash-completion/completions/trainctl share/zsh/site-functions/_trainctl; do
	expect_file "$P/$f" "installed $f"
done

# everything from here runs with the prefix alone on PATH, elsewhere
mkdir -p elsewhere/configs
cd elsewhere || exit 1
export PATH=$P/bin:/usr/bin:/bin
unset MANPATH TRAINCTL_HOME
TRAINCTL=$P/bin/trainctl
expect_eq "$(command -v trainctl)" "$P/bin/trainctl" "trainctl is found on PATH in the prefix"

# ---- a sweep with the installed binaries --------------------------------
cat >configs/fm.yaml <<'EOF'
version: 1
name: fm-tiny
command: [fmnist-train, --hidden, "16", --epochs, "1", --lr, "{{lr}}",
          --train-limit, "300", --test-limit, "100", --out, "{{trial_dir}}"]
parameters:
  lr: {values: [0.01, 0.001]}
metric: {name: test_acc, goal: maximize}
run: {parallel: 2}
EOF
if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
	tc_run run configs/fm.yaml --state-dir state -q
	expect_rc 0 "installed trainctl runs the installed fmnist-train on Fashion-MNIST"
	tc_run results fm-tiny --state-dir state --format csv
	expect_match "$OUT" '^[0-9a-f]{12},succeeded,.*,0\.[0-9]+' "results of the installed run have test_acc"
else
	fail "Fashion-MNIST is missing (dataset-fashion-mnist; scripts/install.sh installs it)"
fi
ids=$(trainctl plan configs/fm.yaml --format csv | awk -F, 'NR > 1 { print $2 }')
id0=$(echo "$ids" | head -n 1)

# ---- the manual page ------------------------------------------------------
expect_eq "$(man -w trainctl 2>&1)" "$P/share/man/man1/trainctl.1" "man finds the page through PATH"
MANWIDTH=80 man --warnings -l "$P/share/man/man1/trainctl.1" >man.txt 2>man.err
expect_eq "$?:$(cat man.err)" "0:" "man -l renders the installed page without warnings"
expect_match "$(cat man.txt)" '^ +trainctl completion bash\|zsh' "the page documents completion"

# ---- bash completion --------------------------------------------------------
# complete WORDS...: the candidates bash would offer for the last word
complete_bash() {
	bash --norc --noprofile -c '
		. "$1/share/bash-completion/completions/trainctl" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		_trainctl trainctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' complete_bash "$P" "$@" 2>&1
}
got=$(complete_bash trainctl "")
expect_match "$got" '^run$' "bash: verbs complete (run)"
expect_match "$got" '^completion$' "bash: verbs complete (completion)"
expect_eq "$(complete_bash trainctl re | tr '\n' ' ')" "resume results report retry " \
	"bash: a verb prefix completes to the verbs it starts"
got=$(complete_bash trainctl run configs/fm.yaml --)
for f in --parallel --detach --resume --state-dir --help; do
	expect_match "$got" "^$f\$" "bash: run's flag $f completes"
done
expect_no_match "$got" '^--top$' "bash: another verb's flag does not"
expect_eq "$(complete_bash trainctl results fm-tiny --format "" | tr '\n' ' ')" \
	"table csv json markdown " "bash: --format completes to its formats"
expect_eq "$(complete_bash trainctl results fm-tiny --format = j | tr '\n' ' ')" \
	"json " "bash: --format=j completes (bash splits at =)"
expect_eq "$(complete_bash trainctl run configs/)" "configs/fm.yaml" "bash: run completes experiment files"
expect_eq "$(complete_bash trainctl status --state-dir state f)" "fm-tiny" \
	"bash: an experiment name from the state directory given"
expect_eq "$(complete_bash trainctl results --state-dir none "")" "" \
	"bash: no experiment names (and no error) where there is no state directory"
expect_no_file none "completion creates no state directory"
expect_eq "$(complete_bash trainctl logs --state-dir = state fm-tiny "${id0:0:3}")" "$id0" \
	"bash: a trial id prefix completes to the id (after --state-dir=DIR, split at = as bash does)"
expect_eq "$(TRAINCTL_HOME=state complete_bash trainctl cancel fm-tiny "$id0" "" | sort)" \
	"$(echo "$ids" | sort)" "bash: repeated TRIAL arguments complete (state from \$TRAINCTL_HOME)"

# ---- zsh completion ------------------------------------------------------------
if command -v zsh >/dev/null; then
	zsh -n "$P/share/zsh/site-functions/_trainctl"
	expect_eq "$?" 0 "zsh -n: the zsh completion parses"
	# stand-ins for the completion system's functions, printing what they offer
	complete_zsh() {
		zsh -f -c '
			compdef() { :; }
			_describe() { local n=${@[-1]}; print -rl -- ${(@)${(@P)n}%%:*}; }
			compadd() { [[ $1 == -a ]] && print -rl -- ${(@P)2} || print -rl -- ${@:2}; }
			_files() { print -r -- "files $*"; }
			_call_program() { shift; "$@"; }
			compset() { :; }
			source "$1/share/zsh/site-functions/_trainctl"
			shift
			words=("$@")
			CURRENT=$#words
			_trainctl
		' complete_zsh "$P" "$@" 2>&1
	}
	expect_match "$(complete_zsh trainctl "")" '^results$' "zsh: verbs complete"
	expect_match "$(complete_zsh trainctl run x.yaml --)" '^--parallel$' "zsh: run's flags complete"
	expect_eq "$(complete_zsh trainctl run "")" "files -g *.(yaml|yml)" "zsh: run completes experiment files"
	expect_eq "$(complete_zsh trainctl results --state-dir state "")" "fm-tiny" "zsh: experiment names"
	expect_eq "$(complete_zsh trainctl logs --state-dir state fm-tiny "" | sort)" "$(echo "$ids" | sort)" \
		"zsh: trial ids of the experiment"
else
	fail "zsh is missing (scripts/install.sh installs it)"
fi

tc_done
