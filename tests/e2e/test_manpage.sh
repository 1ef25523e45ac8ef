#!/usr/bin/env bash
# doc/trainctl.1 cannot drift from the program: every verb of `trainctl
# --help` has its section, every option of `trainctl VERB --help` is in
# that verb's section (--state-dir and --help under COMMON OPTIONS), every
# key the spec loader knows (it lists them for an unknown key) is
# described, and every exit code of `trainctl --help` is under EXIT
# STATUS.  And the page renders without a warning from groff or man.
. "$(dirname "$0")/lib.sh"

MAN=$TC_SOURCE_DIR/doc/trainctl.1
if [ ! -f "$MAN" ]; then
	fail "no manual page at $MAN"
	tc_done
fi

# ---- rendering ------------------------------------------------------------
for tool in groff man; do
	command -v $tool >/dev/null || fail "$tool is missing (scripts/install.sh installs it)"
done
if command -v groff >/dev/null; then
	groff -man -ww -z "$MAN" 2>groff.err
	expect_eq "$?:$(cat groff.err)" "0:" "groff -man -ww renders the page without a warning"
fi
if command -v man >/dev/null; then
	MANWIDTH=80 man --warnings -l "$MAN" >man.txt 2>man.err
	expect_eq "$?:$(cat man.err)" "0:" "man --warnings -l renders the page without a warning"
	expect_match "$(cat man.txt)" '^EXIT STATUS' "the rendered page has its sections"
fi

# ---- what the program says it has ----------------------------------------
expect_eq "$(sed -n 's/^\.TH .* "trainctl \([^"]*\)".*/\1/p' "$MAN")" \
	"$(tc version | sed -n '1s/^trainctl //p')" "the page's .TH names this version"
tc --help >help.txt
verbs=$(awk '/^verbs:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' help.txt)
expect_match "$verbs" '^run$' "trainctl --help lists the verbs"
for v in $verbs; do
	tc "$v" --help >"help.$v" || fail "trainctl $v --help failed"
done

# the keys the loader knows, as it lists them for a key it does not know
spec_with() {
	printf 'version: 1\nname: t\ncommand: [x]\nbackend: %s\n%s\nparameters:\n  v: {values: [1]%s}\n%s\n' \
		"$1" "$2" "$3" "$4" >keys.yaml
	tc validate keys.yaml 2>&1 | sed -n 's/.*known keys: //p' | tr -d ',' | tr ' ' '\n'
}
{
	for sec in search metric resources run kubernetes; do
		spec_with local "" "" "$sec: {zzqqxx: 1}" | sed "s/^/$sec./"
	done
	spec_with local "" "" "zzqqxx: 1"
	spec_with local "" ", zzqqxx: 1" "" | sed 's/^/parameters: /'
	spec_with kubernetes \
		"kubernetes: {image: i, volumes: [{name: a, mountPath: /a, zzqqxx: 1}]}" "" "" |
		sed 's/^/volumes: /'
} >keys.txt
expect_match "$(cat keys.txt)" '^run\.parallel$' "the loader lists its keys (run.parallel among them)"
expect_match "$(cat keys.txt)" '^volumes: claim$' "the loader lists its keys (volumes' claim among them)"

# ---- are they in the page? ------------------------------------------------
pycheck "every verb, option, key and exit code is in the manual page" \
	"$MAN" help.txt keys.txt $verbs <<'PY'
import re
man, helpfile, keysfile, verbs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def plain(s):
    s = re.sub(r'\\f[BIRP]', '', s)
    s = s.replace('\\-', '-').replace('\\&', '').replace('\\c', '')
    return s

lines = [plain(l) for l in open(man).read().split('\n')]
# sections: .SH and .SS headings, each with the lines below it
sections, cur = {}, None
for l in lines:
    m = re.match(r'\.S[HS] "?(.*?)"?$', l)
    if m:
        cur = m.group(1)
        sections[cur] = []
    elif cur:
        sections[cur].append(l)

def section_of_verb(v):
    for h in sections:
        if re.match(r'trainctl %s( |$)' % re.escape(v), h):
            return '\n'.join(sections[h])
    return None

def has_option(text, opt):
    return re.search(r'(^|[\s,"(])%s($|[\s,")])' % re.escape(opt), text, re.M)

common = '\n'.join(sections.get('COMMON OPTIONS', []))
for v in verbs:
    text = section_of_verb(v)
    if not check(text is not None, 'verb %s has no section ".SS trainctl %s ..."' % (v, v)):
        continue
    opts = open('help.' + v).read().split('options:', 1)[1]
    accepted = set()
    for m in re.finditer(r'^\s+(?:-(\w), )?--([\w-]+)', opts, re.M):
        short, name = m.group(1), m.group(2)
        where = common if name in ('state-dir', 'help') else text
        for o in ['--' + name] + (['-' + short] if short else []):
            accepted.add(o)
            check(has_option(where, o), '%s: %s is not in its section' % (v, o))
    # and no option the verb refuses is documented there (a .TP tag)
    for tag in re.findall(r'^\.TP\n(.*)', text, re.M):
        for o in re.findall(r'(?:^|[\s,"])(--?[a-z][\w-]*)', tag):
            check(o in accepted, '%s: its section documents %s, which it refuses' % (v, o))

keydefs = [l.split(' ', 1)[1] for l in lines if l.startswith('.B ')]
words = set(re.findall(r'[\w.]+', '\n'.join(lines)))
for k in open(keysfile).read().split('\n'):
    if not k:
        continue
    if ': ' in k:   # a key of a parameter or a volume: named somewhere
        check(k.split(': ')[1] in words, 'key %s is not in the page' % k)
    else:           # a top-level key or section.key: a .B term of its own
        check(k in keydefs, 'key %s has no ".B %s" entry' % (k, k))

help_text = open(helpfile).read()
codes = re.findall(r'(?:Exit codes:|;)\s+(\d+) ', help_text.replace('\n', ' '))
check(len(codes) >= 4, 'trainctl --help lists the exit codes: %s' % codes)
status = '\n'.join(sections.get('EXIT STATUS', []))
for c in codes:
    check(re.search(r'^\.B %s$' % c, status, re.M), 'exit code %s is not under EXIT STATUS' % c)
PY

tc_done
