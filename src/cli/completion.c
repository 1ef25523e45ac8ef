/*
 * completion.c — `trainctl completion bash|zsh`: the shell completion
 * scripts, generated from the verb table and from what each verb declares
 * to tc_parse_args (its option table and usage line, through
 * tc_describe_verb), so a new verb or flag is completed with no edit here.
 *
 * What cannot be known when the script is written (experiment names, trial
 * ids) the script asks for at completion time through two helpers of this
 * verb, --list-experiments and --list-trials NAME, which only read the
 * journal and print nothing (exit 0) where there is no state directory.
 *
 * The scripts complete:
 *   word 1                  the verbs
 *   -...                    the verb's options (its own, then the common)
 *   an option's value       DIR: directories; FILE: files; the values an
 *                           option's help names (see option_values)
 *   a positional argument   by its name in the usage line: SPEC an
 *                           experiment file, NAME an experiment, TRIAL a
 *                           trial id of the experiment before it
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "exec/backend.h"
#include "store/trials.h"

static const struct tc_opt completion_opts[] = {
	{"list-experiments", 0, 0, NULL,
	 "print the experiments of the state directory, one a line"},
	{"list-trials", 0, 1, "NAME",
	 "print the trial ids of experiment NAME, one a line"},
	{NULL, 0, 0, NULL, NULL},
};

/* Values an option takes, offered when its help names them (so `--format`
 * offers what that verb's help advertises, no more); --backend offers
 * every name in the table of backends. */
static const struct {
	const char *option;
	const char *values[5];
} option_values[] = {
	{"format", {"table", "csv", "json", "markdown", NULL}},
	{"goal", {"maximize", "minimize", NULL}},
	{"policy", {"nrp", "strict", NULL}},
};
#define NVALUES (sizeof(option_values) / sizeof(option_values[0]))

enum shell { SH_BASH, SH_ZSH };

/* Does text contain word, not as part of a longer word? */
static int mentions(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; (p = strstr(p, word)); p += n) {
		int before = p > text && (p[-1] == '-' || p[-1] == '_' ||
					  (p[-1] >= 'a' && p[-1] <= 'z'));
		char c = p[n];

		if (!before && !(c == '-' || c == '_' || (c >= 'a' && c <= 'z')))
			return 1;
	}
	return 0;
}

/* Print s inside single quotes for either shell. */
static void put_quoted(const char *s)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else if (*s == '\n')
			putchar(' ');
		else
			putchar(*s);
	}
	putchar('\'');
}

/* The options of d in order, as one array (own ones, then common). */
static size_t all_opts(const struct tc_verb_desc *d, const struct tc_opt **out,
		       size_t max)
{
	size_t n = 0;

	for (size_t i = 0; d->opts && d->opts[i].name && n < max; i++)
		out[n++] = &d->opts[i];
	for (size_t i = 0; i < d->ncommon && n < max; i++)
		out[n++] = &d->common[i];
	return n;
}

/* The option of o[0..n) that word (len bytes, "-x" or "--name") names. */
static const struct tc_opt *find(const struct tc_opt *const *o, size_t n,
				 const char *word, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (len == 2 && word[0] == '-' && word[1] == o[i]->short_name)
			return o[i];
		if (len > 2 && word[1] == '-' && strlen(o[i]->name) == len - 2 &&
		    !strncmp(word + 2, o[i]->name, len - 2))
			return o[i];
	}
	return NULL;
}

/* The kind of one positional word of a usage line: SPEC an experiment
 * file, NAME an experiment, TRIAL a trial, another capital word a file. */
static const char *word_kind(const char *w, size_t n)
{
	if (n == 4 && !strncmp(w, "SPEC", 4))
		return "spec";
	if (n == 4 && !strncmp(w, "NAME", 4))
		return "name";
	if (n == 5 && !strncmp(w, "TRIAL", 5))
		return "trial";
	return "file";
}

/* The positional arguments of a usage line ("logs NAME TRIAL [-f]") as
 * completion kinds, space-separated ("name trial"); a repeated one ends
 * in "...", literal choices are "words:bash|zsh".  A word after an option
 * that takes a value is that value. */
static void positionals(const char *usage, const struct tc_opt *const *o,
			size_t nopt, char *out, size_t len)
{
	const char *p = strchr(usage, ' ');
	int value_next = 0;
	char lit[128];

	out[0] = '\0';
	while (p && *p) {
		size_t n, k;

		p += strspn(p, " []");
		n = strcspn(p, " []");
		if (!n)
			break;
		lit[0] = '\0';
		for (const char *w = p; w < p + n; w += k + (w[k] == '|')) {
			int dots = 0, upper = 1;

			k = strcspn(w, " []|");
			if (w[0] == '-') {
				const struct tc_opt *opt = find(o, nopt, w, k);

				value_next = opt && opt->has_arg;
				continue;
			}
			if (value_next) {
				value_next = 0;
				continue;
			}
			if (k > 3 && !strncmp(w + k - 3, "...", 3))
				dots = 3;
			for (size_t i = 0; i < k - dots; i++)
				upper &= w[i] >= 'A' && w[i] <= 'Z';
			if (upper)
				snprintf(out + strlen(out), len - strlen(out),
					 "%s%s%s", out[0] ? " " : "",
					 word_kind(w, k - dots), dots ? "..." : "");
			else
				snprintf(lit + strlen(lit), sizeof(lit) - strlen(lit),
					 "%s%.*s", lit[0] ? "|" : "", (int)k, w);
		}
		if (lit[0])
			snprintf(out + strlen(out), len - strlen(out), "%swords:%s",
				 out[0] ? " " : "", lit);
		p += n;
	}
}

/* How an option's value is completed, as shell assignments (" kind=dir",
 * " vals='a b'"); "" when it is not. */
static void value_rule(enum shell sh, const struct tc_opt *o, char *out,
		       size_t len)
{
	const char *backends[TC_BACKEND_COUNT + 1] = {NULL};
	size_t n = 0;

	out[0] = '\0';
	if (!o->has_arg)
		return;
	for (int i = 0; i < TC_BACKEND_COUNT; i++)
		backends[i] = tc_backend_get((enum tc_backend_id)i)->name;
	if (!strcmp(o->arg_name, "DIR") || !strcmp(o->arg_name, "FILE")) {
		snprintf(out, len, " kind=%s",
			 !strcmp(o->arg_name, "DIR") ? "dir" : "file");
		return;
	}
	for (size_t i = 0; i <= NVALUES; i++) {
		const char *const *vals =
			i < NVALUES ? option_values[i].values : backends;

		if (strcmp(i < NVALUES ? option_values[i].option : "backend",
			   o->name))
			continue;
		for (const char *const *v = vals; *v; v++)
			if ((vals == backends || mentions(o->help, *v)) &&
			    n < len)
				n += snprintf(out + n, len - n, "%s%s",
					      n ? " " : sh == SH_BASH ? " vals='" : " vals=(",
					      *v);
	}
	if (n && n < len)
		snprintf(out + n, len - n, sh == SH_BASH ? "'" : ")");
}

/* One verb's entry in the script's _trainctl_verb: sets opts, valopts and
 * pos; with an option as $2, also how its value completes. */
static void verb_case(enum shell sh, const struct tc_verb *v,
		      const struct tc_verb_desc *d)
{
	const struct tc_opt *o[64];
	size_t n = all_opts(d, o, 64);
	char pos[256];

	positionals(d->usage, o, n, pos, sizeof(pos));
	printf("\t%s)\n", v->name);
	if (sh == SH_BASH) {
		printf("\t\topts='");
		for (size_t i = 0; i < n; i++) {
			printf("%s--%s", i ? " " : "", o[i]->name);
			if (o[i]->short_name)
				printf(" -%c", o[i]->short_name);
		}
		printf("'\n\t\tvalopts='");
	} else {
		printf("\t\topts=(");
		for (size_t i = 0; i < n; i++) {
			char item[512];

			snprintf(item, sizeof(item), "--%s:%s", o[i]->name, o[i]->help);
			printf("%s", i ? "\n\t\t\t" : "");
			put_quoted(item);
			if (o[i]->short_name) {
				snprintf(item, sizeof(item), "-%c:%s", o[i]->short_name,
					 o[i]->help);
				putchar(' ');
				put_quoted(item);
			}
		}
		printf(")\n\t\tvalopts=(");
	}
	for (size_t i = 0, first = 1; i < n; i++) {
		if (!o[i]->has_arg)
			continue;
		printf("%s--%s", first ? "" : " ", o[i]->name);
		if (o[i]->short_name)
			printf(" -%c", o[i]->short_name);
		first = 0;
	}
	if (sh == SH_BASH) {
		printf("'\n\t\tpos='%s'\n", pos);
	} else {
		printf(")\n\t\tpos=(");
		for (char *sv, *w = strtok_r(pos, " ", &sv); w;
		     w = strtok_r(NULL, " ", &sv)) {
			printf("%s", w == pos ? "" : " ");
			put_quoted(w);
		}
		printf(")\n");
	}
	printf("\t\tcase $2 in\n");
	for (size_t i = 0; i < n; i++) {
		char rule[128];

		value_rule(sh, o[i], rule, sizeof(rule));
		if (!rule[0])
			continue;
		printf("\t\t--%s", o[i]->name);
		if (o[i]->short_name)
			printf(" | -%c", o[i]->short_name);
		printf(")%s ;;\n", rule);
	}
	printf("\t\tesac ;;\n");
}

static const char bash_main[] =
	"_trainctl() {\n"
	"\tlocal IFS=$' \\t\\n' tc=${COMP_WORDS[0]} verb=${COMP_WORDS[1]-}\n"
	"\tlocal cur=${COMP_WORDS[COMP_CWORD]} opts valopts pos vals kind\n"
	"\tlocal opt= w i n=0 exp= k\n"
	"\tlocal -a state=() words=()\n"
	"\tCOMPREPLY=()\n"
	"\t[[ $tc == \\~/* ]] && tc=$HOME/${tc#\\~/}\n"
	"\tif ((COMP_CWORD == 1)); then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$_trainctl_verbs\" -- \"$cur\"))\n"
	"\t\treturn 0\n"
	"\tfi\n"
	"\t_trainctl_verb \"$verb\" || return 0\n"
	"\t# bash splits --opt=value into --opt, = and value\n"
	"\tfor ((i = 2; i < COMP_CWORD; i++)); do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tif [[ $w == --state-dir=* ]]; then\n"
	"\t\t\tstate=(--state-dir \"${w#*=}\")\n"
	"\t\telif [[ $w == -?* ]]; then\n"
	"\t\t\t[[ \" $valopts \" == *\" $w \"* ]] || continue\n"
	"\t\t\t((i++))\n"
	"\t\t\t[[ ${COMP_WORDS[i]-} == = ]] && ((i++))\n"
	"\t\t\tif ((i >= COMP_CWORD)); then\n"
	"\t\t\t\topt=$w\n"
	"\t\t\t\tbreak\n"
	"\t\t\tfi\n"
	"\t\t\t[[ $w == --state-dir ]] && state=(--state-dir \"${COMP_WORDS[i]}\")\n"
	"\t\telif ((n++ == 0)); then\n"
	"\t\t\texp=$w\n"
	"\t\tfi\n"
	"\tdone\n"
	"\t[[ $cur == = ]] && cur=\n"
	"\tif [[ -n $opt ]]; then\n"
	"\t\t_trainctl_verb \"$verb\" \"$opt\"\n"
	"\t\tcase $kind in\n"
	"\t\tdir) mapfile -t COMPREPLY < <(compgen -d -- \"$cur\") ;;\n"
	"\t\tfile) mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
	"\t\t*) COMPREPLY=($(compgen -W \"$vals\" -- \"$cur\")) ;;\n"
	"\t\tesac\n"
	"\t\treturn 0\n"
	"\tfi\n"
	"\tif [[ $cur == -* ]]; then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	"\t\treturn 0\n"
	"\tfi\n"
	"\tread -ra words <<<\"$pos\"\n"
	"\tk=${words[n]-}\n"
	"\tif [[ -z $k && ${words[-1]-} == *... ]]; then k=${words[-1]}; fi\n"
	"\tcase $k in\n"
	"\tspec*)\n"
	"\t\tmapfile -t COMPREPLY < <(compgen -d -- \"$cur\"\n"
	"\t\t\tcompgen -f -X '!*.yaml' -- \"$cur\"\n"
	"\t\t\tcompgen -f -X '!*.yml' -- \"$cur\") ;;\n"
	"\tname*)\n"
	"\t\tCOMPREPLY=($(compgen -W \"$(\"$tc\" completion --list-experiments \\\n"
	"\t\t\t\"${state[@]}\" 2>/dev/null)\" -- \"$cur\")) ;;\n"
	"\ttrial*)\n"
	"\t\tCOMPREPLY=($(compgen -W \"$(\"$tc\" completion --list-trials \"$exp\" \\\n"
	"\t\t\t\"${state[@]}\" 2>/dev/null)\" -- \"$cur\")) ;;\n"
	"\tfile*) mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
	"\twords:*) k=${k#words:}\n"
	"\t\tCOMPREPLY=($(compgen -W \"${k//|/ }\" -- \"$cur\")) ;;\n"
	"\tesac\n"
	"\treturn 0\n"
	"}\n"
	"complete -F _trainctl trainctl\n";

static const char zsh_main[] =
	"_trainctl() {\n"
	"\tlocal -a opts valopts pos vals state verbs names\n"
	"\tlocal kind opt= w exp= k cur\n"
	"\tlocal -i i n=0\n"
	"\tverbs=(\"${_trainctl_verbs[@]}\")\n"
	"\tif ((CURRENT == 2)); then\n"
	"\t\t_describe -t verbs 'trainctl verb' verbs\n"
	"\t\treturn\n"
	"\tfi\n"
	"\t_trainctl_verb \"$words[2]\" || return 1\n"
	"\tfor ((i = 3; i < CURRENT; i++)); do\n"
	"\t\tw=$words[i]\n"
	"\t\tif [[ $w == --state-dir=* ]]; then\n"
	"\t\t\tstate=(--state-dir \"${w#*=}\")\n"
	"\t\telif [[ $w == -?* ]]; then\n"
	"\t\t\t((${valopts[(Ie)$w]})) || continue\n"
	"\t\t\t((i++))\n"
	"\t\t\tif ((i >= CURRENT)); then\n"
	"\t\t\t\topt=$w\n"
	"\t\t\t\tbreak\n"
	"\t\t\tfi\n"
	"\t\t\t[[ $w == --state-dir ]] && state=(--state-dir \"$words[i]\")\n"
	"\t\telif ((n++ == 0)); then\n"
	"\t\t\texp=$w\n"
	"\t\tfi\n"
	"\tdone\n"
	"\tcur=$words[CURRENT]\n"
	"\tif [[ -z $opt && $cur == --*=* ]]; then\n"
	"\t\topt=${cur%%=*}\n"
	"\t\tcompset -P '*='\n"
	"\tfi\n"
	"\tif [[ -n $opt ]]; then\n"
	"\t\t_trainctl_verb \"$words[2]\" \"$opt\"\n"
	"\t\tcase $kind in\n"
	"\t\tdir) _files -/ ;;\n"
	"\t\tfile) _files ;;\n"
	"\t\t*) (($#vals)) && compadd -a vals ;;\n"
	"\t\tesac\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ $cur == -* ]]; then\n"
	"\t\t_describe -t options option opts\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tk=${pos[n+1]-}\n"
	"\tif [[ -z $k && ${pos[-1]-} == *... ]]; then k=$pos[-1]; fi\n"
	"\tcase $k in\n"
	"\tspec*) _files -g '*.(yaml|yml)' ;;\n"
	"\tname*)\n"
	"\t\tnames=(${(f)\"$(_call_program experiments \"${(q)words[1]}\" completion \\\n"
	"\t\t\t--list-experiments \"${(q)state[@]}\" 2>/dev/null)\"})\n"
	"\t\tcompadd -a names ;;\n"
	"\ttrial*)\n"
	"\t\tnames=(${(f)\"$(_call_program trials \"${(q)words[1]}\" completion \\\n"
	"\t\t\t--list-trials \"${(q)exp}\" \"${(q)state[@]}\" 2>/dev/null)\"})\n"
	"\t\tcompadd -a names ;;\n"
	"\tfile*) _files ;;\n"
	"\twords:*) compadd -- ${(s:|:)${k#words:}} ;;\n"
	"\tesac\n"
	"}\n"
	"\n"
	"if [[ $funcstack[1] == _trainctl ]]; then\n"
	"\t_trainctl \"$@\"\n"
	"else\n"
	"\tcompdef _trainctl trainctl\n"
	"fi\n";

static int print_script(enum shell sh)
{
	struct tc_verb_desc d;

	if (sh == SH_ZSH)
		printf("#compdef trainctl\n");
	printf("# %s completion for trainctl, written by `trainctl completion "
	       "%s`\n# from the verbs' own option tables.\n",
	       sh == SH_BASH ? "bash" : "zsh", sh == SH_BASH ? "bash" : "zsh");
	if (sh == SH_BASH) {
		printf("\n_trainctl_verbs='");
		for (const struct tc_verb *v = tc_verbs; v->name; v++)
			printf("%s%s", v == tc_verbs ? "" : " ", v->name);
		printf("'\n");
	} else {
		printf("\n_trainctl_verbs=(");
		for (const struct tc_verb *v = tc_verbs; v->name; v++) {
			char item[256];

			snprintf(item, sizeof(item), "%s:%s", v->name, v->summary);
			printf("%s", v == tc_verbs ? "" : "\n\t");
			put_quoted(item);
		}
		printf(")\n");
	}
	printf("\n# sets opts, valopts (options taking a value) and pos (the "
	       "positional\n# arguments); with an option as $2, how its value "
	       "completes: kind, vals\n_trainctl_verb() {\n");
	printf(sh == SH_BASH ? "\topts= valopts= pos= vals= kind=\n"
			     : "\topts=() valopts=() pos=() vals=() kind=\n");
	printf("\tcase $1 in\n");
	for (const struct tc_verb *v = tc_verbs; v->name; v++) {
		if (tc_describe_verb(v, &d) != 0) {
			fprintf(stderr,
				"trainctl completion: verb '%s' does not describe "
				"its options\n",
				v->name);
			return TC_EXIT_FAILED;
		}
		verb_case(sh, v, &d);
	}
	printf("\t*) return 1 ;;\n\tesac\n}\n\n%s",
	       sh == SH_BASH ? bash_main : zsh_main);
	return 0;
}

static int print_id(void *ctx, const struct tc_trial_row *r)
{
	printf("%s\n", r->id);
	return 0;
}

/* Experiment names, or with exp the trial ids of exp, one a line. */
static int list(const char *state_flag, const char *exp)
{
	struct tc_journal *j = NULL;
	struct tc_trials *tr = NULL;
	struct tc_error err;
	sqlite3_stmt *st;
	int rc;

	tc_error_clear(&err);
	rc = tc_open_readonly(state_flag, &j, &err);
	if (rc == TC_ERR_NOTFOUND)
		return 0; /* no state directory: nothing to offer */
	if (rc)
		return tc_fail("completion", &err);
	if (exp) {
		if (!(tr = tc_trials_open(j, exp, &err)))
			rc = TC_ERR_NOMEM;
		else
			rc = tc_trials_scan(tr, print_id, NULL, &err);
		tc_trials_close(tr);
		tc_journal_close(j);
		return rc ? tc_fail("completion", &err) : 0;
	}
	st = tc_journal_prepare(j, "SELECT name FROM experiments ORDER BY name",
				&err);
	if (!st) {
		tc_journal_close(j);
		return tc_fail("completion", &err);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		printf("%s\n", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		tc_error_set(&err, TC_ERR_DB, "journal: %s", sqlite3_errmsg(j->db));
		tc_journal_close(j);
		return tc_fail("completion", &err);
	}
	tc_journal_close(j);
	return 0;
}

int cmd_completion(int argc, char **argv)
{
	struct tc_args a;
	const char *state = NULL, *trials;
	int rc;

	rc = tc_parse_args(argc, argv, completion_opts, "completion bash|zsh",
			   "Print the completion script for bash or zsh.  Installing "
			   "trainctl installs both\n(share/bash-completion/"
			   "completions/trainctl, share/zsh/site-functions/"
			   "_trainctl);\nwithout that, load one in ~/.bashrc or "
			   "~/.zshrc (after compinit) with\n"
			   "  source <(trainctl completion bash)\n"
			   "  source <(trainctl completion zsh)",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	state = tc_arg(&a, completion_opts, "state-dir");
	trials = tc_arg(&a, completion_opts, "list-trials");
	if (tc_arg(&a, completion_opts, "list-experiments") || trials) {
		if (a.npos)
			return tc_usage_error("completion",
					      "--list-experiments and --list-trials "
					      "take no shell");
		return list(state, trials);
	}
	if (a.npos != 1)
		return tc_usage_error("completion", "give the shell: bash or zsh");
	if (!strcmp(a.pos[0], "bash"))
		return print_script(SH_BASH);
	if (!strcmp(a.pos[0], "zsh"))
		return print_script(SH_ZSH);
	return tc_usage_error("completion",
			      "no completion for shell '%s' (bash or zsh)", a.pos[0]);
}
