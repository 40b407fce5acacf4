/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket (HACKING.md): status for anyone who can connect, reload
 * for uid 0. Trust: only SO_PEERCRED; the request must be one short message
 * naming a known verb. Answers are sent without blocking; a peer that does
 * not read them loses them. Connections get a deadline like registrations.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "msgctl.h"
#include "server.h"
#include "util.h"

#define CONTROL_TIMEOUT_MS 5000
#define REQUEST_MAX	   64

static void conn_free(struct server *s, struct pending *p)
{
	for (size_t i = 0; i < PENDING_MAX; i++)
		if (s->control_pending[i] == p) {
			s->control_pending[i] = NULL;
			s->n_control_pending--;
		}
	server_unwatch(s, p->fd);
	close(p->fd);
	free(p);
}

void control_accept(struct server *s)
{
	for (;;) {
		int fd = accept4(s->control_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct pending *p;
		size_t slot;

		if (fd < 0) {
			server_accept_failed(s, ACCEPT_CONTROL, negative_errno());
			return;
		}
		for (slot = 0; slot < PENDING_MAX && s->control_pending[slot]; slot++)
			;
		p = slot < PENDING_MAX ? calloc(1, sizeof(*p)) : NULL;
		if (!p) {
			log_warning("too many control connections, dropping one");
			close(fd);
			continue;
		}
		p->watch.kind = WATCH_CONTROL_CONN;
		p->fd = fd;
		p->deadline_ms = now_ms() + CONTROL_TIMEOUT_MS;
		if (server_watch(s, fd, &p->watch) < 0) {
			free(p);
			close(fd);
			continue;
		}
		s->control_pending[slot] = p;
		s->n_control_pending++;
	}
}

static void __attribute__((format(printf, 2, 3))) sendf(int fd, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void status_services(const struct server *s, int fd)
{
	for (size_t i = 0; i < s->registry.n; i++) {
		const struct service *v = s->registry.services[i];

		uint32_t ka = v->slot->kernel_allow;
		char kernel[160] = "unknown"; /* registered with a daemon that did not record it */

		if (ka & STATE_KERNEL_ALLOW_KNOWN)
			mg_cmd_mask_names(ka & ~STATE_KERNEL_ALLOW_KNOWN, ',', kernel,
					  sizeof(kernel));
		sendf(fd,
		      "service: pid=%d uid=%u unit=%s profile=%s calls=%llu denials=%llu "
		      "kernel_allow=%s",
		      v->pid, v->uid, v->unit[0] ? v->unit : "-", v->profile,
		      (unsigned long long)v->calls, (unsigned long long)v->denials, kernel);
		for (size_t j = 0; j < v->n_rule_denials; j++)
			sendf(fd, "denials: pid=%d profile=%s rule=%s count=%llu", v->pid,
			      v->rule_denials[j].profile, v->rule_denials[j].rule,
			      (unsigned long long)v->rule_denials[j].n);
	}
}

static void do_status(struct server *s, int fd)
{
	struct audit_stats a;

	sendf(fd, "state: running");
	sendf(fd, "policy: %s (%zu profiles, %zu rules)", s->policy->path, s->policy->n_profiles,
	      s->policy->n_rules);
	sendf(fd, "loaded: %lld", (long long)s->policy_loaded_at);
	sendf(fd, "services: %zu", s->registry.n);
	sendf(fd, "decisions: %llu", (unsigned long long)s->decisions);
	sendf(fd, "denials: %llu", (unsigned long long)s->denials);
	audit_get_stats(s->audit, &a);
	sendf(fd,
	      "audit: queued=%llu written=%llu failed=%llu depth=%u capacity=%u waits=%llu "
	      "waited_ms=%llu",
	      (unsigned long long)a.queued, (unsigned long long)a.written,
	      (unsigned long long)a.failed, a.depth, a.capacity, (unsigned long long)a.waits,
	      (unsigned long long)a.waited_ms);
	status_services(s, fd);
	sendf(fd, "OK");
}

static void do_reload(struct server *s, int fd, const struct ucred *cred)
{
	struct policy_errors errs = {0};
	int r;

	if (cred->uid != 0) {
		sendf(fd, "ERROR EPERM reload is for root only");
		return;
	}
	log_info("reload requested by pid %d", cred->pid);
	r = server_reload(s, &errs);
	for (size_t i = 0; r < 0 && i < errs.n; i++)
		sendf(fd, "%s", errs.lines[i]);
	if (r < 0)
		sendf(fd, "ERROR %s policy rejected, still enforcing %s (loaded %lld)",
		      mg_errno_name(-r) ?: "EINVAL", s->policy->path,
		      (long long)s->policy_loaded_at);
	else
		sendf(fd, "OK");
	policy_errors_clear(&errs);
}

void control_readable(struct server *s, struct pending *p)
{
	char req[REQUEST_MAX + 1];
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);
	ssize_t n = recv(p->fd, req, REQUEST_MAX, MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0 && getsockopt(p->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		req[n] = '\0';
		req[strcspn(req, "\n")] = '\0';
		if (strcmp(req, "status") == 0)
			do_status(s, p->fd);
		else if (strcmp(req, "reload") == 0)
			do_reload(s, p->fd, &cred);
		else if (strcmp(req, "ping") == 0)
			sendf(p->fd, "OK");
		else
			sendf(p->fd, "ERROR EINVAL unknown request");
	}
	conn_free(s, p);
}

void control_expire(struct server *s, uint64_t now)
{
	if (!s->n_control_pending)
		return; /* every turn of the loop: nothing to scan */
	for (size_t i = 0; i < PENDING_MAX; i++)
		if (s->control_pending[i] && s->control_pending[i]->deadline_ms <= now)
			conn_free(s, s->control_pending[i]);
}

int control_next_deadline(const struct server *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (!s->n_control_pending)
		return -1;
	for (size_t i = 0; i < PENDING_MAX; i++)
		if (s->control_pending[i] && s->control_pending[i]->deadline_ms < next)
			next = s->control_pending[i]->deadline_ms;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

void control_drop_all(struct server *s)
{
	for (size_t i = 0; i < PENDING_MAX; i++)
		if (s->control_pending[i])
			conn_free(s, s->control_pending[i]);
}
