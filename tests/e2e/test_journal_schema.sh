#!/usr/bin/env bash
# test_journal_schema.sh — the journal's schema is a public interface:
# every table and column a fresh journal has is documented in the README,
# its version is meta.schema, and a journal of a newer version is refused
# (exit 2, saying so) and left untouched.
. "$(dirname "$0")/lib.sh"
cat >t.sh <<'EOF2'
echo "acc=0.5"
EOF2
cat >s.yaml <<'EOF2'
version: 1
name: s
command: [bash, t.sh, "{{x}}"]
parameters:
  x: {values: [1]}
metric: {name: acc, goal: maximize}
EOF2
tc_run run s.yaml
expect_rc 0 "a run"
expect_eq "$(sqlite3 .trainctl/journal.db "SELECT value FROM meta WHERE key = 'schema'")" 2 \
	"meta.schema is 2"
pycheck "every table and column is in the README's schema table" \
	.trainctl/journal.db "$TC_SOURCE_DIR/README.md" <<'PY'
import re, sqlite3
db = sqlite3.connect(sys.argv[1])
readme = open(sys.argv[2]).read()
sec = readme.split("### The journal's schema", 1)[1].split("\n### ", 1)[0]
rows = [l for l in sec.splitlines() if l.startswith("| ")]
table, documented = None, {}
for l in rows:
    cells = [c.strip() for c in l.strip("|").split("|")]
    if cells[0].startswith("`"):
        table = cells[0].strip("`")
    documented.setdefault(table, set()).update(re.findall(r"`([a-z_]+)`", cells[1]))
tables = [r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
for t in tables:
    cols = [r[1] for r in db.execute("PRAGMA table_info(%s)" % t)]
    missing = [c for c in cols if c not in documented.get(t, set())]
    check(not missing, "table %s: undocumented columns %r" % (t, missing))
check(set(documented) - {None} <= set(tables), "documented tables that do not exist: %r" % (set(documented) - set(tables)))
PY

cp -r .trainctl newer
sqlite3 newer/journal.db "UPDATE meta SET value = '9' WHERE key = 'schema'"
sum_before=$(sha256sum newer/journal.db)
tc_run status s --state-dir newer
expect_rc 2 "a reading command refuses a newer journal"
expect_contains "$ERR" "has schema version 9; this trainctl" "and says why"
tc_run cancel s --state-dir newer
expect_rc 2 "so does a writing command"
expect_eq "$(sha256sum newer/journal.db)" "$sum_before" "the newer journal is left as it was"

# a journal of schema 1 (before pipelines) is migrated by a writing command
cp -r .trainctl older
sqlite3 older/journal.db "ALTER TABLE trials DROP COLUMN stage; ALTER TABLE trials DROP COLUMN item; DROP INDEX trials_by_key; ALTER TABLE trials DROP COLUMN inputs; ALTER TABLE trials DROP COLUMN cache_key; DROP TABLE needs; UPDATE meta SET value = '1' WHERE key = 'schema'"
tc_run status s --state-dir older
expect_rc 0 "a reading command reads a schema 1 journal"
tc_run retry s --failed --state-dir older
expect_rc 0 "a writing command on a schema 1 journal"
expect_eq "$(sqlite3 older/journal.db "SELECT value FROM meta WHERE key = 'schema'")" 2 "it is migrated to 2"
expect_eq "$(sqlite3 older/journal.db "SELECT count(*) FROM pragma_table_info('trials') WHERE name IN ('stage', 'item', 'inputs', 'cache_key')")" 4 \
	"trials has the new columns"
tc_run resume s --state-dir older -q
expect_rc 0 "and runs after the migration"
tc_done
