/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wrap UNIT: write the drop-in that starts an existing service under
 * msgguard-shim. The unit's effective configuration comes from
 * `systemctl cat UNIT` (the unit file and its drop-ins, in the order systemd
 * applies them); its one ExecStart= command is repeated after the shim's "--"
 * exactly as written (quoting, specifiers and $VARIABLES keep their meaning),
 * with its prefixes moved in front of the shim. Anything that cannot be carried
 * over faithfully is refused with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "util.h"

#ifndef BINDIR
#define BINDIR "/usr/local/bin"
#endif

#define DEFAULT_SHIM  BINDIR "/msgguard-shim"
#define DROPIN_DIR    "/etc/systemd/system"
#define DROPIN_NAME   "msgguard.conf"
#define CAT_MAX	      (4 * 1024 * 1024) /* bytes of `systemctl cat` output */
#define UNIT_NAME_MAX 255
#define EXEC_PREFIXES "-@:+!"
#define WHERE_MAX     (PATH_MAX + 16)

struct wrap_opts {
	char unit[UNIT_NAME_MAX + 1];
	const char *profile, *output, *shim;
	bool dry_run;
	char path[PATH_MAX]; /* where the drop-in goes */
};

/* What the unit's files say, in systemd's order of application. */
struct unit_conf {
	char *exec;		    /* the last ExecStart= value (continuations joined) */
	char exec_where[WHERE_MAX]; /* FILE:LINE of it */
	unsigned n_exec;	    /* ExecStart= commands in effect */
	char late[WHERE_MAX];	    /* FILE:LINE of an ExecStart= applied after our drop-in */
	bool syslog_identifier;	    /* SyslogIdentifier= set */
	int syscall_filter;	    /* 0 none, 1 allow-list, -1 deny-list */
	bool filter_denies_ipc;	    /* a deny-list naming @ipc or msgctl */
};

/* The parser's position in `systemctl cat` output. */
struct cat_state {
	char file[PATH_MAX];
	unsigned line;
	bool in_service, skip, late, file_started;
	char *cont; /* a line continued with a backslash */
	unsigned cont_line;
};

/* ---- options ------------------------------------------------------------------ */

static bool only_chars(const char *s, const char *allowed)
{
	return strspn(s, allowed) == strlen(s);
}

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* "app" means app.service, as for systemctl; only services have an ExecStart=. */
static int unit_name(const char *arg, char *buf, size_t size)
{
	const char *dot = strrchr(arg, '.');
	int n;

	if (!*arg || arg[0] == '.' || arg[0] == '-' || !only_chars(arg, NAME_CHARS ":_.@\\-"))
		return usage_error("wrap: invalid unit name '%s'", arg);
	n = snprintf(buf, size, "%s%s", arg, dot ? "" : ".service");
	if (n < 0 || (size_t)n >= size)
		return usage_error("wrap: unit name too long");
	dot = strrchr(buf, '.');
	if (strcmp(dot, ".service") != 0)
		return usage_error("wrap: %s is not a service: only services have an ExecStart=",
				   buf);
	return 0;
}

static int wrap_parse(int argc, char **argv, struct wrap_opts *o)
{
	static const struct option longopts[] = {
	    {"profile", required_argument, NULL, 'p'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"output", required_argument, NULL, 'o'},
	    {"shim", required_argument, NULL, 's'},
	    {},
	};
	int c, r, n;

	*o = (struct wrap_opts){.shim = DEFAULT_SHIM};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (c == 'p')
			o->profile = optarg;
		else if (c == 'n')
			o->dry_run = true;
		else if (c == 'o')
			o->output = optarg;
		else if (c == 's')
			o->shim = optarg;
		else
			return option_error("wrap", c, argv);
	}
	if (optind >= argc)
		return usage_error("wrap: which unit? (msgguardctl wrap UNIT)");
	if (optind + 1 < argc)
		return usage_error("wrap: unexpected argument '%s'", argv[optind + 1]);
	r = unit_name(argv[optind], o->unit, sizeof(o->unit));
	if (r != 0)
		return r;
	if (o->profile && (strlen(o->profile) > POLICY_NAME_MAX || !*o->profile ||
			   !only_chars(o->profile, NAME_CHARS "_.@-")))
		return usage_error("wrap: invalid profile name '%s'", o->profile);
	if (o->shim[0] != '/' || strpbrk(o->shim, "\"'\\$%") ||
	    !only_chars(o->shim, NAME_CHARS "/_.+,=:@- "))
		return usage_error("wrap: --shim needs an absolute path without quotes, "
				   "backslashes, '$' or '%%'");
	if (o->output)
		n = snprintf(o->path, sizeof(o->path), "%s", o->output);
	else
		n = snprintf(o->path, sizeof(o->path), DROPIN_DIR "/%s.d/" DROPIN_NAME, o->unit);
	if (n < 0 || (size_t)n >= sizeof(o->path))
		return usage_error("wrap: path too long");
	return 0;
}

/* ---- systemctl cat --------------------------------------------------------------- */

/* Reads fd to the end, at most size - 1 bytes (else -EFBIG); NUL-terminates. */
static int read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size - 1)
			return -EFBIG;
	}
	buf[len] = '\0';
	return 0;
}

/* Runs `systemctl --no-pager cat -- UNIT`; its stderr goes to ours. */
static int systemctl_cat(const char *unit, char **ret)
{
	_cleanup_free_ char *out = malloc(CAT_MAX + 1);
	int pipefd[2], status, r;
	pid_t pid;

	if (!out)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return negative_errno();
	pid = fork();
	if (pid < 0) {
		r = negative_errno();
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		setenv("SYSTEMD_COLORS", "0", 1);
		execlp("systemctl", "systemctl", "--no-pager", "cat", "--", unit, (char *)NULL);
		fprintf(stderr, "msgguardctl: wrap: cannot run systemctl: %m\n");
		_exit(127);
	}
	close(pipefd[1]);
	r = read_all(pipefd[0], out, CAT_MAX + 1);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		fprintf(stderr,
			"msgguardctl: wrap: 'systemctl cat %s' failed; is the unit installed?\n",
			unit);
		return -ENOENT;
	}
	if (r < 0) {
		fprintf(stderr, "msgguardctl: wrap: reading 'systemctl cat %s': %s\n", unit,
			strerror(-r));
		return r;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* ---- the unit's configuration ---------------------------------------------------- */

static char *strip(char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* `systemctl cat` starts each file with "# /PATH" (after a blank line but the first). */
static bool file_header(const char *line, bool after_blank, char *path, size_t size)
{
	struct stat st;

	if (!after_blank || strncmp(line, "# /", 3) != 0 || strlen(line + 2) >= size)
		return false;
	if (stat(line + 2, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	strcpy(path, line + 2);
	return true;
}

/* Drop-ins apply in the order of their file names; ours is "msgguard.conf". */
static void start_file(struct cat_state *s, const char *path, const struct wrap_opts *o)
{
	const char *base = strrchr(path, '/') + 1;
	size_t n = strlen(path);

	snprintf(s->file, sizeof(s->file), "%s", path);
	s->line = 0;
	s->in_service = false;
	s->file_started = true;
	s->skip = strcmp(path, o->path) == 0;
	s->late = n > 5 && strcmp(path + n - 5, ".conf") == 0 && strstr(path, ".d/") &&
		  strcmp(base, DROPIN_NAME) > 0;
}

static void syscall_filter(struct unit_conf *u, const char *value)
{
	if (!*value) {
		u->syscall_filter = 0;
		u->filter_denies_ipc = false;
		return;
	}
	if (u->syscall_filter == 0)
		u->syscall_filter = value[0] == '~' ? -1 : 1;
	if (u->syscall_filter < 0 && (strstr(value, "@ipc") || strstr(value, "msgctl")))
		u->filter_denies_ipc = true;
}

static int assignment(struct unit_conf *u, const struct cat_state *s, unsigned line, char *key,
		      char *value)
{
	key = strip(key);
	value = strip(value);
	if (strcmp(key, "SyslogIdentifier") == 0) {
		u->syslog_identifier = *value != '\0';
	} else if (strcmp(key, "SystemCallFilter") == 0) {
		syscall_filter(u, value);
	} else if (strcmp(key, "ExecStart") == 0) {
		if (s->late && !u->late[0])
			snprintf(u->late, sizeof(u->late), "%s:%u", s->file, line);
		free(u->exec);
		u->exec = NULL;
		u->n_exec = *value ? u->n_exec + 1 : 0;
		if (*value && !(u->exec = strdup(value)))
			return -ENOMEM;
		snprintf(u->exec_where, sizeof(u->exec_where), "%s:%u", s->file, line);
	}
	return 0;
}

/* A complete logical line (systemd's conf-parser: comments, sections, KEY=VALUE). */
static int logical_line(struct unit_conf *u, struct cat_state *s, unsigned line, char *l)
{
	char *eq;

	l = strip(l);
	if (!*l)
		return 0;
	if (*l == '[') {
		s->in_service = strcmp(l, "[Service]") == 0;
		return 0;
	}
	eq = strchr(l, '=');
	if (!eq || !s->in_service || s->skip)
		return 0;
	*eq = '\0';
	return assignment(u, s, line, l, eq + 1);
}

/* A line ends in an unescaped backslash: it continues on the next one. */
static bool continues(const char *l)
{
	bool escaped = false;

	for (; *l; l++)
		escaped = !escaped && *l == '\\';
	return escaped;
}

static int physical_line(struct unit_conf *u, struct cat_state *s, char *l)
{
	const char *t = l + strspn(l, " \t");
	_cleanup_free_ char *joined = NULL;
	unsigned line;

	s->line++;
	if (*t == '#' || *t == ';')
		return 0; /* comments, even inside a continuation */
	if (s->cont) {
		if (asprintf(&joined, "%s%s", s->cont, l) < 0)
			return -ENOMEM;
		free(s->cont);
		s->cont = NULL;
		l = joined;
	}
	line = joined ? s->cont_line : s->line;
	if (continues(l)) {
		l[strlen(l) - 1] = ' ';
		s->cont = strdup(l);
		s->cont_line = line;
		return s->cont ? 0 : -ENOMEM;
	}
	return logical_line(u, s, line, l);
}

static int parse_cat(char *text, const struct wrap_opts *o, struct unit_conf *u)
{
	struct cat_state s = {0};
	bool after_blank = true;
	char *l, *next;
	int r = 0;

	for (l = text; *l && r >= 0; l = next) {
		char path[PATH_MAX];

		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		else
			next = l + strlen(l);
		if (file_header(l, after_blank, path, sizeof(path))) {
			if (s.cont)
				r = logical_line(u, &s, s.cont_line, s.cont);
			free(s.cont);
			s.cont = NULL;
			start_file(&s, path, o);
		} else if (s.file_started) {
			r = physical_line(u, &s, l);
		}
		after_blank = *l == '\0';
	}
	if (r >= 0 && s.cont)
		r = logical_line(u, &s, s.cont_line, s.cont);
	free(s.cont);
	if (r >= 0 && !s.file_started) {
		fprintf(stderr,
			"msgguardctl: wrap: no unit file in the output of 'systemctl cat %s'\n",
			o->unit);
		return -EBADMSG;
	}
	return r;
}

/* ---- the command line --------------------------------------------------------- */

/* The parts of the ExecStart= value, as written. */
struct exec_parts {
	char prefix[8];		/* "-", ":", "+", "!", "!!" (any order), without "@" */
	char *exe;		/* the program's word, as written */
	const char *rest;	/* the arguments, as written */
	char program[PATH_MAX]; /* the program's word without quotes and escapes (approximate) */
};

/* Length of the word at s as systemd splits it (quotes, backslash escapes); -1 if unbalanced. */
static ssize_t word_length(const char *s)
{
	char quote = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] == '\\') {
			if (!s[i + 1])
				return -1;
			i++;
		} else if (quote) {
			if (s[i] == quote)
				quote = 0;
		} else if (s[i] == '\'' || s[i] == '"') {
			quote = s[i];
		} else if (s[i] == ' ' || s[i] == '\t') {
			break;
		}
	}
	return quote ? -1 : (ssize_t)i;
}

static bool words_balanced(const char *s)
{
	while (*(s += strspn(s, " \t"))) {
		ssize_t n = word_length(s);

		if (n < 0)
			return false;
		s += n;
	}
	return true;
}

static void unquote(const char *s, size_t n, char *buf, size_t size)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < size; i++) {
		if (s[i] == '\'' || s[i] == '"')
			continue;
		if (s[i] == '\\' && i + 1 < n)
			i++;
		buf[j++] = s[i];
	}
	buf[j] = '\0';
}

/* refuse(): the one-line reason a unit cannot be wrapped automatically. */
__attribute__((format(printf, 2, 3))) static int refuse(const char *unit, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "msgguardctl: wrap: cannot wrap %s: ", unit);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static int split_exec(const struct unit_conf *u, const char *unit, struct exec_parts *e)
{
	const char *v = u->exec;
	size_t np = strspn(v, EXEC_PREFIXES);
	ssize_t n;

	if (np >= sizeof(e->prefix) || memchr(v, '@', np))
		return refuse(
		    unit,
		    "its ExecStart= (%s) has the '@' prefix: the program gets an argv[0] "
		    "of its own, which msgguard-shim cannot pass on; write the drop-in by hand",
		    u->exec_where);
	memcpy(e->prefix, v, np);
	e->prefix[np] = '\0';
	v += np;
	if ((v[0] == '"' || v[0] == '\'') && v[1] && strchr(EXEC_PREFIXES, v[1]))
		return refuse(unit, "its ExecStart= (%s) has a prefix inside quotes",
			      u->exec_where);
	n = word_length(v);
	if (n <= 0 || !words_balanced(v))
		return refuse(unit, "its ExecStart= (%s) has unbalanced quotes", u->exec_where);
	e->exe = strndup(v, (size_t)n);
	if (!e->exe)
		return -ENOMEM;
	e->rest = v + n + strspn(v + n, " \t");
	unquote(v, (size_t)n, e->program, sizeof(e->program));
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Every reason the unit's configuration cannot be carried over faithfully. */
static int check_unit(const struct unit_conf *u, const struct wrap_opts *o,
		      const struct exec_parts *e)
{
	if (strcmp(base_name(e->program), "msgguard-shim") == 0)
		return refuse(o->unit,
			      "it already starts msgguard-shim (%s); edit or remove that drop-in "
			      "first",
			      u->exec_where);
	if (u->late[0])
		return refuse(
		    o->unit,
		    "%s sets ExecStart= and is applied after " DROPIN_NAME
		    " (drop-ins apply in file name order), so it would replace the wrapped "
		    "command; move that setting to the unit file or to a drop-in named "
		    "before " DROPIN_NAME,
		    u->late);
	return 0;
}

static int check_exec_count(const struct unit_conf *u, const char *unit)
{
	if (u->n_exec == 0)
		return refuse(unit, "it has no ExecStart= command");
	if (u->n_exec > 1)
		return refuse(unit,
			      "it has %u ExecStart= commands (Type=oneshot); wrap takes one: write "
			      "the drop-in by hand, with msgguard-shim -- before each command",
			      u->n_exec);
	return 0;
}

/* ---- the drop-in ---------------------------------------------------------------- */

/* The shim's path, the first word (checked by wrap_parse): quoted when it has blanks. */
static void shim_word(const char *shim, FILE *f)
{
	fprintf(f, strchr(shim, ' ') ? "\"%s\"" : "%s", shim);
}

/* The program's word, now an argument: "$" must stay literal unless ":" turns expansion off. */
static void program_word(const struct exec_parts *e, FILE *f)
{
	bool expand = !strchr(e->prefix, ':');

	for (const char *c = e->exe; *c; c++)
		fputs(*c == '$' && expand ? "$$" : (char[]){*c, '\0'}, f);
}

/* The arguments word by word as written, one blank between them (split_exec checked them). */
static void args_words(const char *s, FILE *f)
{
	while (*(s += strspn(s, " \t"))) {
		ssize_t n = word_length(s);

		fprintf(f, " %.*s", (int)n, s);
		s += n;
	}
}

/* SyslogIdentifier=: the program's name, as systemd used it before (else the unit's, %N). */
static void syslog_identifier(const struct exec_parts *e, FILE *f)
{
	const char *name = base_name(e->program);

	if (!*name || !only_chars(name, NAME_CHARS "_.+-"))
		name = "%N";
	fprintf(f, "SyslogIdentifier=%s\n", name);
}

static int dropin_text(const struct unit_conf *u, const struct wrap_opts *o,
		       const struct exec_parts *e, char **ret)
{
	size_t size = 0;
	FILE *f = open_memstream(ret, &size);

	if (!f)
		return -ENOMEM;
	fprintf(f,
		"# Written by msgguardctl wrap: %s starts under msgguard-shim, so msgguardd\n"
		"# decides its msgctl(2) calls. The unit's own command (%s):\n"
		"#   ExecStart=%s\n"
		"# Undo: remove this file, systemctl daemon-reload, restart the unit.\n\n",
		o->unit, u->exec_where, u->exec);
	fprintf(f,
		"[Unit]\nRequires=msgguardd.socket\nAfter=msgguardd.socket\n\n[Service]\n"
		"ExecStart=\nExecStart=%s",
		e->prefix);
	shim_word(o->shim, f);
	if (o->profile)
		fprintf(f, " --profile %s", o->profile);
	fputs(" -- ", f);
	program_word(e, f);
	args_words(e->rest, f);
	fputc('\n', f);
	if (!u->syslog_identifier)
		syslog_identifier(e, f);
	if (u->syscall_filter > 0)
		fprintf(f, "# The unit's SystemCallFilter= is an allow-list: msgguard-shim needs "
			   "seccomp(2).\nSystemCallFilter=seccomp\n");
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

static int write_file(const char *path, const char *text)
{
	_cleanup_free_ char *dir = strdup(path), *tmp = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);
	char *slash;

	if (!dir || asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return negative_errno();
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fchmod(fd, 0644) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		int r = negative_errno();

		unlink(tmp);
		return r;
	}
	return 0;
}

static void print_notes(const struct unit_conf *u, const struct wrap_opts *o,
			const struct exec_parts *e)
{
	struct policy *p = NULL;

	if (e->program[0] != '/' && e->program[0] != '%')
		printf("note: %s is not an absolute path: msgguard-shim looks it up in the "
		       "service's $PATH\n",
		       e->program);
	if (u->filter_denies_ipc)
		printf("warning: the unit's SystemCallFilter= denies msgctl (@ipc): systemd "
		       "refuses those calls before msgguard sees them\n");
	if (o->profile && policy_parse_file(DEFAULT_POLICY, 0, &p, NULL) == 0 &&
	    !policy_profile_by_name(p, o->profile))
		printf("warning: %s has no profile \"%s\": the service will not start\n",
		       DEFAULT_POLICY, o->profile);
	policy_free(p);
}

int verb_wrap(int argc, char **argv)
{
	_cleanup_free_ char *cat = NULL, *text = NULL;
	struct exec_parts e = {0};
	struct unit_conf u = {0};
	struct wrap_opts o;
	int r;

	r = wrap_parse(argc, argv, &o);
	if (r != 0)
		return r;
	r = systemctl_cat(o.unit, &cat);
	if (r >= 0)
		r = parse_cat(cat, &o, &u);
	if (r >= 0)
		r = check_exec_count(&u, o.unit);
	if (r >= 0)
		r = split_exec(&u, o.unit, &e);
	if (r >= 0)
		r = check_unit(&u, &o, &e);
	if (r >= 0)
		r = dropin_text(&u, &o, &e, &text);
	free(u.exec);
	free(e.exe);
	if (r < 0)
		return EXIT_FAILURE;
	if (!o.dry_run && (r = write_file(o.path, text)) < 0) {
		fprintf(stderr, "msgguardctl: wrap: cannot write %s: %s\n", o.path, strerror(-r));
		return EXIT_FAILURE;
	}
	printf("%s %s:\n%s", o.dry_run ? "Would write" : "Wrote", o.path, text);
	print_notes(&u, &o, &e);
	if (o.output)
		printf("Next: install it as " DROPIN_DIR "/%s.d/" DROPIN_NAME ", then "
		       "systemctl daemon-reload && systemctl restart %s\n",
		       o.unit, o.unit);
	else
		printf("Next: %ssystemctl daemon-reload && systemctl restart %s\n",
		       o.dry_run ? "run without --dry-run, then " : "", o.unit);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
