/* SPDX-License-Identifier: GPL-2.0-or-later */
/* msgguardd: decide every msgctl(2) of the services wrapped by msgguard-shim. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "caller.h"
#include "fold.h"
#include "ids.h"
#include "log.h"
#include "privs.h"
#include "server.h"
#include "util.h"

#define DEFAULT_POLICY SYSCONFDIR "/msgguard/policy.ini"
#define DEFAULT_SOCKET "/run/msgguard/msgguard.sock"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

struct options {
	const char *policy;
	const char *socket;
	const char *control;
	const char *audit;
};

static void usage(FILE *f)
{
	fputs("Usage: msgguardd [--policy FILE] [--socket PATH] [--control PATH]\n"
	      "                 [--audit journal|stderr|jsonl:PATH] [--debug]\n"
	      "Decide every msgctl(2) of services started under msgguard-shim.\n"
	      "  --policy FILE  policy (default " DEFAULT_POLICY ")\n"
	      "  --socket PATH  registration socket (default " DEFAULT_SOCKET ")\n"
	      "  --control PATH control socket (default control.sock beside the socket)\n"
	      "  --audit SINK   journal (default when journald runs), stderr, or jsonl:/path\n"
	      "  --debug        log every event\n",
	      f);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"socket", required_argument, NULL, 's'},
	    {"control", required_argument, NULL, 'c'},
	    {"audit", required_argument, NULL, 'a'},
	    {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	o->policy = DEFAULT_POLICY;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->policy = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'c':
			o->control = optarg;
			break;
		case 'a':
			o->audit = optarg;
			break;
		case 'd':
			log_max_level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "msgguardd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->audit && audit_spec_valid(o->audit) < 0) {
		fprintf(stderr,
			"msgguardd: invalid --audit '%s' (journal, stderr or jsonl:/path)\n",
			o->audit);
		return -EINVAL;
	}
	return 0;
}

static int load_policy(const char *path, struct policy **ret)
{
	struct policy_errors errs = {0};
	int r = policy_parse_file(path, 0, ret, &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	if (r < 0 && errs.n == 0)
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
	if (r < 0) {
		sd_notifyf(0, "STATUS=Invalid policy %s: %s", path,
			   errs.n ? errs.lines[0] : strerror(-r));
	}
	policy_errors_clear(&errs);
	return r;
}

/* Command line, then the policy's [daemon] section, then the built-in default. */
static const char *audit_choice(const struct options *o, const struct policy *p)
{
	if (o->audit)
		return o->audit;
	if (p->daemon.audit)
		return p->daemon.audit;
	return access(JOURNAL_SOCKET, F_OK) == 0 ? "journal" : "stderr";
}

static void audit_policy_loaded(struct server *s)
{
	struct audit_record r;
	size_t rules = s->policy->n_rules, profiles = s->policy->n_profiles;

	audit_record_init(&r);
	audit_add(&r, "MESSAGE", "enforcing %s (%zu profiles, %zu rules)", s->policy->path,
		  profiles, rules);
	audit_add(&r, "MESSAGE_ID", "%s", MG_MSGID_POLICY);
	audit_add(&r, "PRIORITY", "%d", LOG_INFO);
	audit_add(&r, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(&r, "MSGGUARD_EVENT", "policy");
	audit_add(&r, "MSGGUARD_POLICY", "%s", s->policy->path);
	if (audit_emit(s->audit, &r) < 0)
		log_warning("audit: cannot record the policy load");
}

/* --control, else [daemon] control, else control.sock in the socket's folder. */
static char *control_choice(const struct options *o, const struct policy *p, const char *sock)
{
	const char *slash = strrchr(sock, '/');
	char *path;

	if (o->control || p->daemon.control)
		return strdup(o->control ?: p->daemon.control);
	if (asprintf(&path, "%.*s/control.sock", (int)(slash ? slash - sock : 0), sock) < 0)
		return NULL;
	return path;
}

/*
 * Every listener is an fd, and so are the caller cache's handles (3 per slot)
 * and pending connections: take the hard limit (systemd's default soft limit
 * is 1024, below max_listeners' default), and say so when even that is short.
 */
static void raise_nofile(unsigned max_listeners)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)max_listeners + 3 * 64 + 2 * PENDING_MAX + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		log_warning("the file descriptor limit (%llu) is below what %u listeners may "
			    "need (%llu): raise LimitNOFILE= or lower max_listeners",
			    (unsigned long long)rl.rlim_cur, max_listeners,
			    (unsigned long long)want);
}

static int setup(struct server *s, const struct options *o)
{
	_cleanup_free_ char *control = NULL;
	const char *audit, *sock;
	int r;

	/* No core dumps and no ptrace by same-uid processes: we hold every listener. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return log_error_errno(negative_errno(), "PR_SET_DUMPABLE: %m");
	r = load_policy(o->policy, &s->policy);
	if (r < 0)
		return r;
	s->policy_gen = 1;
	s->policy_path = strdup(o->policy);
	s->policy_loaded_at = time(NULL);
	if (!s->policy_path)
		return -ENOMEM;
	s->max_listeners = s->policy->daemon.max_listeners ?: DEFAULT_MAX_LISTENERS;
	s->max_listeners_per_uid =
	    s->policy->daemon.max_listeners_per_uid ?: DEFAULT_MAX_LISTENERS_PER_UID;
	audit = audit_choice(o, s->policy);
	r = audit_open(audit, &s->audit);
	if (r < 0)
		return log_error_errno(r, "cannot open audit sink %s: %m", audit);
	notify_audit_formats(s->audit);
	raise_nofile(s->max_listeners);
	r = caller_ns_init();
	if (r < 0)
		return log_error_errno(r, "cannot open our IPC namespace: %m");
	sock = o->socket ?: s->policy->daemon.socket ?: DEFAULT_SOCKET;
	control = control_choice(o, s->policy, sock);
	if (!control)
		return -ENOMEM;
	r = server_init(s, sock, control);
	if (r < 0)
		return r;
	/* Before the restore: its records (services gone meanwhile) are queued, not written. */
	r = fold_new(FOLD_SLOTS, server_take_stored_fold(s), &s->fold);
	if (r < 0)
		return log_error_errno(r, "cannot allocate the audit fold table: %m");
	r = audit_queue_open(s->audit,
			     s->policy->daemon.audit_queue > 0
				 ? (unsigned)s->policy->daemon.audit_queue
				 : AUDIT_QUEUE_DEFAULT,
			     server_take_stored_audit(s));
	if (r < 0)
		return log_error_errno(r, "cannot create the audit queue: %m");
	r = server_restore(s);
	if (r < 0)
		return r;
	/* Everything privileged to set up is done; nothing untrusted has been read yet. */
	r = privs_drop();
	if (r < 0)
		return r;
	/* After the drop: the writer thread inherits this thread's reduced credentials. */
	r = audit_start(s->audit, server_audit_stalled, s);
	if (r < 0)
		return log_error_errno(r, "cannot start the audit writer: %m");
	audit_policy_loaded(s);
	notify_fold_flush(s, true); /* counts the previous daemon left unsummarized */
	server_recover_inflight(s);
	return 0;
}

int main(int argc, char **argv)
{
	struct server s = {.epoll_fd = -1, .listen_fd = -1, .signal_fd = -1};
	struct options o = {0};
	int r;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	r = setup(&s, &o);
	if (r >= 0) {
		log_info("ready, listening on %s, policy %s (%zu profiles, %zu rules)",
			 s.socket_path ?: "the socket from systemd", s.policy->path,
			 s.policy->n_profiles, s.policy->n_rules);
		sd_notify(0, "READY=1");
		server_status(&s, true);
		r = server_run(&s);
		sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
	}
	server_done(&s);
	audit_close(s.audit);
	policy_free(s.policy);
	free(s.policy_path);
	return r < 0 ? 1 : 0;
}
