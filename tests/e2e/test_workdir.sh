#!/usr/bin/env bash
# Where things are: the state directory is found as git finds .git
# (--state-dir, else $TRAINCTL_HOME, else the nearest .trainctl here or
# above, else ./.trainctl is created), so the hints a run prints work from
# where it printed them; `workdir:` sets where trials run (default: the
# spec's directory).
. "$(dirname "$0")/lib.sh"

# A repository: the trainer at the root, the experiment files in configs/.
mkdir -p repo/configs repo/src/deep
cat >repo/train.py <<'EOF'
import os
with open("ran_here", "a") as f:
    f.write(os.getcwd() + "\n")
print("acc=0.5")
EOF
printf '#!/bin/sh\necho acc=0.5\n' >repo/tool.sh
chmod +x repo/tool.sh
spec() { # NAME [EXTRA LINE]: an experiment file in repo/configs
	cat >"$TC_WORK/repo/configs/$1.yaml" <<EOF
version: 1
name: $1
command: [python3, train.py]
${2:-workdir: ..}
parameters: {x: {values: [1, 2]}}
metric: {name: acc, regex: "acc=(?<acc>[0-9.]+)"}
EOF
}
spec x
cd repo || exit 1

tc_run run configs/x.yaml
expect_rc 0 "run configs/x.yaml from the repository root"
expect_file .trainctl/journal.db "the state is created where run was run"
expect_no_file configs/.trainctl "not next to the spec"
expect_file ran_here "workdir: .. runs the trials at the repository root"
expect_no_file configs/ran_here "not in the spec's directory"
expect_eq "$(sort -u ran_here)" "$PWD" "every trial's working directory is the root"
hint=$(printf '%s\n' "$OUT" | sed -n 's/^see: \(trainctl results [^ ]*\) .*/\1/p')
expect_eq "$hint" "trainctl results x" "the hint needs no --state-dir here"
tc_run ${hint#trainctl }
expect_rc 0 "the printed hint works from where it was printed"
tc_run results x
expect_rc 0 "results from the root"
(cd src/deep && tc_run results x && echo "$RC" >"$TC_WORK/rc.deep")
expect_eq "$(cat "$TC_WORK/rc.deep")" 0 "results from a subdirectory finds the root's .trainctl"

# run from a subdirectory uses the nearest .trainctl above, not a new one
spec sub
(cd configs && tc_run run sub.yaml -q && echo "$RC" >"$TC_WORK/rc.sub")
expect_eq "$(cat "$TC_WORK/rc.sub")" 0 "run from configs/"
expect_no_file configs/.trainctl "it made no configs/.trainctl"
tc_run status sub
expect_rc 0 "its experiment is in the root's state directory"

# the command check looks in the working directory
spec tool 'workdir: ..'
sed -i 's/\[python3, train.py\]/[.\/tool.sh]/' configs/tool.yaml
tc_run validate configs/tool.yaml
expect_rc 0 "command [./tool.sh] is found in workdir:"
spec notool '# no workdir'
sed -i 's/\[python3, train.py\]/[.\/tool.sh]/' configs/notool.yaml
tc_run validate configs/notool.yaml
expect_rc 2 "without workdir: it is looked for next to the spec"
spec abs "workdir: $PWD"
tc_run validate configs/abs.yaml
expect_rc 0 "an absolute workdir: is allowed"

# a workdir that is not there is an error at its position
spec gone 'workdir: nope'
tc_run validate configs/gone.yaml
expect_rc 2 "validate: a missing workdir"
expect_match "$ERR" "^configs/gone.yaml:4:10: workdir 'nope' does not exist" "file:line:col says which"
tc_run run configs/gone.yaml -q
expect_rc 2 "run refuses it too"
expect_match "$ERR" "^configs/gone.yaml:4:10: workdir 'nope' does not exist" "with the same message"
spec file 'workdir: ../train.py'
tc_run validate configs/file.yaml
expect_rc 2 "a workdir that is a file"
expect_match "$ERR" "^configs/file.yaml:4:10: workdir '../train.py' is not a directory" "says so"

# on Kubernetes workdir: is the container's workingDir: absolute only
cat >configs/kube.yaml <<'EOF'
version: 1
name: kube
command: [python3, train.py]
workdir: ..
backend: kubernetes
kubernetes: {image: busybox}
EOF
tc_run validate configs/kube.yaml
expect_rc 2 "validate: a relative workdir on the kubernetes backend"
expect_match "$ERR" "^configs/kube.yaml:4:10: workdir '..' is relative" "is refused at its position"
sed -i 's|^workdir: \.\.$|workdir: /srv/app|' configs/kube.yaml
tc_run validate configs/kube.yaml
expect_rc 0 "an absolute one passes (it need not exist here)"

# $TRAINCTL_HOME beats the nearest .trainctl
spec homed
TRAINCTL_HOME=$TC_WORK/home tc_run run configs/homed.yaml -q
expect_rc 0 "run with TRAINCTL_HOME"
expect_file "$TC_WORK/home/journal.db" "the state is in TRAINCTL_HOME"
(cd / && TRAINCTL_HOME=$TC_WORK/home tc_run results homed && echo "$RC" >"$TC_WORK/rc.home")
expect_eq "$(cat "$TC_WORK/rc.home")" 0 "results with TRAINCTL_HOME works from anywhere"
tc_run results homed
expect_rc 2 "and the root's .trainctl does not have it"

# --state-dir beats both, and the hints then say --state-dir
spec flagged
TRAINCTL_HOME=$TC_WORK/home tc_run run configs/flagged.yaml --state-dir "$TC_WORK/my state"
expect_rc 0 "run with --state-dir"
expect_file "$TC_WORK/my state/journal.db" "--state-dir wins over TRAINCTL_HOME"
hint=$(printf '%s\n' "$OUT" | sed -n 's/^see: \(trainctl results .*\)   trainctl best.*/\1/p')
expect_eq "$hint" "trainctl results --state-dir '$TC_WORK/my state' flagged" "the hint names the state directory, quoted"
eval "tc_run ${hint#trainctl }"
expect_rc 0 "and works from where it was printed"
tc_run run configs/flagged.yaml --state-dir "$TC_WORK/my state"
expect_rc 2 "a second run of it is refused"
expect_contains "$ERR" "trainctl resume --state-dir '$TC_WORK/my state' flagged" "its hint names the state directory too"

# so do the hints in error messages
tc_run logs flagged '#99' --state-dir "$TC_WORK/my state"
expect_rc 2 "logs of a trial that is not there"
hint=$(printf '%s\n' "$ERR" | sed -n 's/.*see `trainctl \([^`]*\)`.*/\1/p')
expect_eq "$hint" "status --state-dir '$TC_WORK/my state' flagged" "its hint names the state directory"
eval "tc_run $hint"
expect_rc 0 "and works"
tc_run logs nosuch 1 --state-dir "$TC_WORK/my state"
expect_contains "$ERR" "(see \`trainctl ls --state-dir '$TC_WORK/my state'\`)" "no such experiment: the hint too"
tc_run logs x '#99'
expect_contains "$ERR" "(see \`trainctl status x\`)" "found from here: no --state-dir"

# run --detach: its "follow it with" hint works from here too
spec detached
tc_run run configs/detached.yaml --detach --state-dir "$TC_WORK/my state"
expect_rc 0 "run --detach with --state-dir"
hint=$(printf '%s\n' "$OUT" | sed -n 's/^follow it with: trainctl //p')
expect_eq "$hint" "status --state-dir '$TC_WORK/my state' detached --watch" \
	"the detach hint names the state directory"
done_detached() {
	"$TRAINCTL" status detached --state-dir "$TC_WORK/my state" --format json |
		jget - "d['counts'].get('succeeded', 0)" | grep -qx 2
}
wait_for 30 "the detached run to finish" done_detached
eval "tc_run ${hint% --watch}"
expect_rc 0 "and works from where it was printed"

tc_done
