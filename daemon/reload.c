/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy reload: parse the file again and swap it in whole, or keep the old
 * one whole. The daemon is single-threaded and swaps between two events, so
 * no call is ever answered by a half-loaded policy; services keep their
 * profile by name and are judged by the new rules from their next call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "ids.h"
#include "log.h"
#include "server.h"

static void audit_reload(struct server *s, const struct policy_errors *errs, int r)
{
	struct audit_record rec;

	audit_record_init(&rec);
	if (r < 0)
		audit_add(&rec, "MESSAGE",
			  "policy %s rejected (%zu errors, first: %s), still "
			  "enforcing the previous one",
			  s->policy_path, errs->n, errs->n ? errs->lines[0] : strerror(-r));
	else
		audit_add(&rec, "MESSAGE", "reloaded %s (%zu profiles, %zu rules)", s->policy_path,
			  s->policy->n_profiles, s->policy->n_rules);
	audit_add(&rec, "MESSAGE_ID", "%s", MG_MSGID_POLICY);
	audit_add(&rec, "PRIORITY", "%d", r < 0 ? LOG_ERR : LOG_INFO);
	audit_add(&rec, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(&rec, "MSGGUARD_EVENT", "policy");
	audit_add(&rec, "MSGGUARD_POLICY", "%s", s->policy_path);
	for (size_t i = 0; r < 0 && i < errs->n && i < 8; i++)
		audit_add(&rec, "MSGGUARD_POLICY_ERROR", "%s", errs->lines[i]);
	if (audit_emit(s->audit, &rec) < 0)
		log_warning("audit: cannot record the reload");
}

static void warn_daemon_settings(const struct server *s, const struct policy *p)
{
	const struct policy_daemon *old = &s->policy->daemon, *new = &p->daemon;

	if ((old->socket || new->socket) &&
	    (!old->socket || !new->socket || strcmp(old->socket, new->socket) != 0))
		log_warning("[daemon] socket changed: takes effect at the next restart");
	if ((old->audit || new->audit) &&
	    (!old->audit || !new->audit || strcmp(old->audit, new->audit) != 0))
		log_warning("[daemon] audit changed: takes effect at the next restart");
	if (old->audit_queue != new->audit_queue)
		log_warning("[daemon] audit_queue changed: takes effect at the next restart");
}

int server_reload(struct server *s, struct policy_errors *errs)
{
	struct policy_errors local = {0};
	struct policy_errors *e = errs ?: &local;
	struct policy *p = NULL;
	int r;

	sd_notify(0, "RELOADING=1\nSTATUS=Reloading the policy");
	r = policy_parse_file(s->policy_path, 0, &p, e);
	if (r < 0) {
		for (size_t i = 0; i < e->n; i++)
			log_error("%s", e->lines[i]);
		log_error("policy %s rejected, still enforcing the previous one", s->policy_path);
		free(s->reload_error);
		s->reload_error = strdup(e->n ? e->lines[0] : strerror(-r));
		sd_notifyf(0,
			   "READY=1\nSTATUS=Reload failed: %s; still enforcing the previous policy",
			   e->n ? e->lines[0] : strerror(-r));
	} else {
		warn_daemon_settings(s, p);
		policy_free(s->policy);
		s->policy = p;
		s->policy_gen++;
		free(s->reload_error);
		s->reload_error = NULL;
		s->policy_loaded_at = time(NULL);
		/* New caps apply to new registrations; existing ones are kept. */
		if (p->daemon.max_listeners)
			s->max_listeners = p->daemon.max_listeners;
		if (p->daemon.max_listeners_per_uid)
			s->max_listeners_per_uid = p->daemon.max_listeners_per_uid;
		log_info("reloaded %s (%zu profiles, %zu rules)", s->policy_path, p->n_profiles,
			 p->n_rules);
		sd_notify(0, "READY=1");
		server_status(s, true);
	}
	audit_reload(s, e, r);
	policy_errors_clear(&local);
	return r;
}
