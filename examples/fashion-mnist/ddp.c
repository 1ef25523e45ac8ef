/*
 * ddp.c — rendezvous, ring all-reduce and broadcast over TCP (see ddp.h).
 *
 * Wire format (all integers big-endian u32):
 *   hello    rank r → rank 0:  MAGIC, r, world, ring listener port
 *   welcome  rank 0 → rank r:  MAGIC, right neighbour's port, then 64
 *            bytes of its numeric address ("" = MASTER_ADDR)
 *   link     rank r → rank r+1 on the ring connection: MAGIC, r
 * after which the ring connections carry raw vectors.  Every socket is
 * non-blocking and every wait is a poll() with the peer timeout, so a
 * rank that sends and receives at once (each ring step) can never
 * deadlock on full socket buffers, and a silent peer is an error, not a
 * hang.
 */
#include "ddp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x464d4450u	/* "FMDP" */
#define ADDR_LEN 64
#define IO_MAX (1u << 20)	/* bytes per send/recv call */

struct fm_ddp {
	int rank, world;
	double timeout;
	int left, right;	/* receive from rank-1, send to rank+1 */
	char left_addr[256], right_addr[256];
	char *scratch;		/* one received chunk */
	size_t scratch_len;
};

int fm_ddp_rank(const struct fm_ddp *d)
{
	return d ? d->rank : 0;
}

int fm_ddp_world(const struct fm_ddp *d)
{
	return d ? d->world : 1;
}

static int env_int(const char *name, long min, long max, int *out,
		   struct fm_error *err)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return fm_error_set(err, FM_EINVAL, "%s is not set (WORLD_SIZE "
				    "> 1 needs RANK, MASTER_ADDR and "
				    "MASTER_PORT)", name);
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < min || v > max)
		return fm_error_set(err, FM_EINVAL, "%s='%s' is not an integer "
				    "in %ld..%ld", name, s, min, max);
	*out = (int)v;
	return FM_OK;
}

int fm_ddp_config_from_env(struct fm_ddp_config *cfg, struct fm_error *err)
{
	const char *addr;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->world = 1;
	cfg->timeout = FM_DDP_DEFAULT_TIMEOUT;
	cfg->listen_fd = -1;
	if (!getenv("WORLD_SIZE"))
		return FM_OK;
	rc = env_int("WORLD_SIZE", 1, FM_DDP_MAX_WORLD, &cfg->world, err);
	if (rc || cfg->world == 1)
		return rc;
	rc = env_int("RANK", 0, cfg->world - 1, &cfg->rank, err);
	if (!rc)
		rc = env_int("MASTER_PORT", 1, 65535, &cfg->master_port, err);
	if (rc)
		return rc;
	addr = getenv("MASTER_ADDR");
	if (!addr || !*addr)
		return fm_error_set(err, FM_EINVAL, "MASTER_ADDR is not set "
				    "(WORLD_SIZE > 1 needs RANK, MASTER_ADDR "
				    "and MASTER_PORT)");
	if (strlen(addr) >= sizeof(cfg->master_addr))
		return fm_error_set(err, FM_EINVAL, "MASTER_ADDR is too long");
	strcpy(cfg->master_addr, addr);
	return FM_OK;
}

/* ---- sockets ----------------------------------------------------------- */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Milliseconds until deadline for poll(), at least 0. */
static int ms_left(double deadline)
{
	double ms = (deadline - fm_now()) * 1e3;

	if (ms <= 0.0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms + 1;
}

static int resolve(const char *host, int port, int passive,
		   struct addrinfo **res, struct fm_error *err)
{
	struct addrinfo hints;
	char ps[16];
	int g;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	snprintf(ps, sizeof(ps), "%d", port);
	g = getaddrinfo(host, ps, &hints, res);
	if (g)
		return fm_error_set(err, FM_ENET, "cannot resolve '%s': %s",
				    host ? host : "*", gai_strerror(g));
	return FM_OK;
}

/* A non-blocking listening socket on host:port (host NULL: any address
 * of the given family, port 0: an ephemeral one).  A host that does not
 * resolve or is not an address of this machine falls back to any
 * address, as the others only need to reach the port. */
static int listen_on(const char *host, int port, int family,
		     struct fm_error *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char ps[16];
	int fd = -1, e = 0, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0) {
		/* rank 0's own name may not resolve yet (a Kubernetes
		 * headless Service publishes it late): listen everywhere */
		if (host)
			return listen_on(NULL, port, family, err);
		return fm_error_set(err, FM_ENET, "cannot resolve the wildcard "
				    "address");
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, FM_DDP_MAX_WORLD) == 0 && set_nonblock(fd) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (e == EADDRNOTAVAIL && host)	/* not an address of ours */
			return listen_on(NULL, port, family, err);
		return fm_error_set(err, FM_ENET, "cannot listen on %s:%d: %s",
				    host ? host : "*", port, strerror(e));
	}
	return fd;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int sock_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return AF_INET;
	return ss.ss_family;
}

static void peer_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, buf, (socklen_t)len, NULL,
			0, NI_NUMERICHOST) != 0)
		snprintf(buf, len, "?");
}

/*
 * Connect to host:port, retrying refused or unreachable attempts until
 * the deadline (the listener may not exist yet).  Returns a non-blocking
 * connected socket, or FM_ENET with `who` in the message.
 */
static int connect_until(const char *host, int port, double deadline,
			 const char *who, struct fm_error *err)
{
	double pause = 0.01;
	int e = 0;

	for (;;) {
		struct addrinfo *res = NULL, *ai;
		int rc = resolve(host, port, 0, &res, err);

		if (rc && fm_now() >= deadline)
			return rc;
		for (ai = rc ? NULL : res; ai; ai = ai->ai_next) {
			struct pollfd p;
			socklen_t el = sizeof(e);
			int fd = socket(ai->ai_family,
					ai->ai_socktype | SOCK_CLOEXEC,
					ai->ai_protocol);

			if (fd < 0 || set_nonblock(fd) != 0) {
				e = errno;
				if (fd >= 0)
					close(fd);
				continue;
			}
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
				if (errno != EINPROGRESS) {
					e = errno;
					close(fd);
					continue;
				}
				p.fd = fd;
				p.events = POLLOUT;
				while (poll(&p, 1, ms_left(deadline)) < 0 &&
				       errno == EINTR)
					;
				e = ETIMEDOUT;
				if (!(p.revents & (POLLOUT | POLLERR | POLLHUP)) ||
				    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
					       &el) != 0 || e != 0) {
					close(fd);
					continue;
				}
			}
			freeaddrinfo(res);
			tune(fd);
			return fd;
		}
		if (res)
			freeaddrinfo(res);
		if (fm_now() >= deadline)
			break;
		/* back off before the next attempt, never past the deadline */
		poll(NULL, 0, ms_left(fm_now() + pause) < ms_left(deadline) ?
			      ms_left(fm_now() + pause) : ms_left(deadline));
		if (pause < 0.25)
			pause *= 2;
	}
	return fm_error_set(err, FM_ENET, "could not reach %s at %s:%d "
			    "before the rendezvous timeout: %s", who, host,
			    port, strerror(e ? e : ETIMEDOUT));
}

/*
 * Move bytes in both directions at once: send slen bytes of sbuf on
 * d->right and receive rlen bytes into rbuf from d->left (either may be
 * 0).  With add (element size es) each completed received element is
 * added into acc as it arrives, so summing overlaps the transfer.
 */
typedef void (*add_fn)(void *acc, const void *in, size_t count);

static int net_fail(struct fm_ddp *d, int toward_right, int e,
		    struct fm_error *err)
{
	int peer = toward_right ? (d->rank + 1) % d->world :
				  (d->rank + d->world - 1) % d->world;
	const char *addr = toward_right ? d->right_addr : d->left_addr;

	if (e == 0)
		return fm_error_set(err, FM_ENET, "rank %d (%s) closed the "
				    "connection: it exited or crashed", peer,
				    addr);
	if (e == ETIMEDOUT)
		return fm_error_set(err, FM_ENET, "rank %d (%s) sent or took "
				    "nothing for %g s (--rendezvous-timeout); "
				    "giving up", peer, addr, d->timeout);
	return fm_error_set(err, FM_ENET, "connection to rank %d (%s) "
			    "failed: %s", peer, addr, strerror(e));
}

static int exchange(struct fm_ddp *d, const void *sbuf, size_t slen,
		    void *rbuf, size_t rlen, add_fn add, size_t es, void *acc,
		    struct fm_error *err)
{
	const char *s = sbuf;
	char *r = rbuf;
	size_t sent = 0, got = 0, added = 0;
	double deadline = fm_now() + d->timeout;

	while (sent < slen || got < rlen) {
		struct pollfd p[2];
		int np = 0, si = -1, ri = -1, n;

		if (sent < slen) {
			si = np++;
			p[si].fd = d->right;
			p[si].events = POLLOUT | POLLRDHUP;
		}
		if (got < rlen) {
			ri = np++;
			p[ri].fd = d->left;
			p[ri].events = POLLIN;
		}
		n = poll(p, (nfds_t)np, ms_left(deadline));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fm_error_set(err, FM_ENET, "poll: %s",
					    strerror(errno));
		}
		if (n == 0)
			return net_fail(d, si >= 0 && ri < 0, ETIMEDOUT, err);
		if (si >= 0 && p[si].revents) {
			size_t want = slen - sent < IO_MAX ? slen - sent : IO_MAX;
			ssize_t k;

			if (p[si].revents & (POLLRDHUP | POLLHUP | POLLERR) &&
			    !(p[si].revents & POLLOUT))
				return net_fail(d, 1, 0, err);
			k = send(d->right, s + sent, want,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k > 0) {
				sent += (size_t)k;
				deadline = fm_now() + d->timeout;
			} else if (k < 0 && errno != EAGAIN &&
				   errno != EWOULDBLOCK && errno != EINTR) {
				return net_fail(d, 1, errno == EPIPE ? 0 :
						errno, err);
			} else if (p[si].revents & (POLLRDHUP | POLLHUP |
						    POLLERR)) {
				return net_fail(d, 1, 0, err);
			}
		}
		if (ri >= 0 && p[ri].revents) {
			size_t want = rlen - got < IO_MAX ? rlen - got : IO_MAX;
			ssize_t k = recv(d->left, r + got, want, MSG_DONTWAIT);

			if (k == 0)
				return net_fail(d, 0, 0, err);
			if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				return net_fail(d, 0, errno, err);
			if (k > 0) {
				got += (size_t)k;
				deadline = fm_now() + d->timeout;
				if (add && got / es > added) {
					add((char *)acc + added * es,
					    r + added * es, got / es - added);
					added = got / es;
				}
			}
		}
	}
	return FM_OK;
}

/* Blocking-with-deadline I/O on one socket during the rendezvous. */
static int io_all(int fd, void *buf, size_t len, int out, double deadline,
		  const char *who, struct fm_error *err)
{
	char *b = buf;
	size_t done = 0;

	while (done < len) {
		struct pollfd p = {fd, out ? POLLOUT : POLLIN, 0};
		ssize_t k;
		int n = poll(&p, 1, ms_left(deadline));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fm_error_set(err, FM_ENET, "rendezvous: %s did "
					    "not %s within the rendezvous "
					    "timeout", who, out ? "take our data" :
					    "answer");
		k = out ? send(fd, b + done, len - done,
			       MSG_NOSIGNAL | MSG_DONTWAIT) :
			  recv(fd, b + done, len - done, MSG_DONTWAIT);
		if (k == 0)
			return fm_error_set(err, FM_ENET, "rendezvous: %s closed "
					    "the connection (it failed or "
					    "exited: see its output)", who);
		if (k < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				continue;
			return fm_error_set(err, FM_ENET, "rendezvous: %s: %s",
					    who, strerror(errno));
		}
		done += (size_t)k;
	}
	return FM_OK;
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* ---- rendezvous --------------------------------------------------------- */

struct pending {
	int fd;
	unsigned char buf[16];
	size_t got;
};

/* Rank 0: accept every other rank's hello (or fail naming the missing
 * ones), then tell each rank where its right neighbour listens. */
static int gather_ranks(struct fm_ddp *d, int lfd, int ring_port,
			double deadline, int *right_port,
			struct fm_error *err)
{
	const int N = d->world;
	int *fd = malloc((size_t)N * sizeof(int));
	int *port = malloc((size_t)N * sizeof(int));
	char (*addr)[ADDR_LEN] = calloc((size_t)N, ADDR_LEN);
	struct pending *pend = calloc(FM_DDP_MAX_WORLD, sizeof(*pend));
	struct pollfd *p = calloc(FM_DDP_MAX_WORLD + 1, sizeof(*p));
	int have = 1, npend = 0, rc = FM_OK;

	if (!fd || !port || !addr || !pend || !p) {
		rc = fm_error_set(err, FM_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < N; i++)
		fd[i] = -1;
	port[0] = ring_port;
	while (have < N) {
		int n, np = 0;

		p[np].fd = lfd;
		p[np++].events = npend < FM_DDP_MAX_WORLD ? POLLIN : 0;
		for (int i = 0; i < npend; i++) {
			p[np].fd = pend[i].fd;
			p[np++].events = POLLIN;
		}
		n = poll(p, (nfds_t)np, ms_left(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fm_error_set(err, FM_ENET, "poll: %s",
					  strerror(errno));
			goto out;
		}
		if (n == 0) {
			char list[512];
			size_t len = 0;
			int missing = 0;

			list[0] = '\0';
			for (int i = 1; i < N; i++) {
				if (fd[i] >= 0)
					continue;
				missing++;
				if (len < sizeof(list) - 16)
					len += (size_t)snprintf(list + len,
						sizeof(list) - len, "%s%d",
						missing > 1 ? ", " : "", i);
			}
			rc = fm_error_set(err, FM_ENET, "rendezvous timeout "
					  "after %g s: rank%s %s of %d never "
					  "connected to rank 0 (port %d)",
					  d->timeout, missing > 1 ? "s" : "",
					  list, N, local_port(lfd));
			goto out;
		}
		/* read hellos first, since accepting appends to pend */
		for (int i = npend - 1; i >= 0; i--) {
			struct pending *q = &pend[i];
			ssize_t k;
			uint32_t r, w;

			if (!p[1 + i].revents)
				continue;
			k = recv(q->fd, q->buf + q->got, 16 - q->got,
				 MSG_DONTWAIT);
			if (k < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (k > 0)
				q->got += (size_t)k;
			if (k > 0 && q->got < 16)
				continue;
			r = get32(q->buf + 4);
			w = get32(q->buf + 8);
			if (k <= 0 || get32(q->buf) != MAGIC) {
				/* a stranger or a rank that died: forget it */
				close(q->fd);
			} else if (w != (uint32_t)N) {
				rc = fm_error_set(err, FM_ENET, "rank %u has "
						  "WORLD_SIZE=%u, rank 0 has %d",
						  r, w, N);
				close(q->fd);
				goto out;
			} else if (r == 0 || r >= (uint32_t)N || fd[r] >= 0) {
				rc = fm_error_set(err, FM_ENET, "two processes "
						  "claim RANK=%u", r);
				close(q->fd);
				goto out;
			} else {
				fd[r] = q->fd;
				port[r] = (int)get32(q->buf + 12);
				peer_addr(q->fd, addr[r], ADDR_LEN);
				have++;
			}
			pend[i] = pend[--npend];
		}
		if (p[0].revents & POLLIN) {
			int c = accept4(lfd, NULL, NULL,
					SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (c >= 0) {
				tune(c);
				pend[npend].fd = c;
				pend[npend++].got = 0;
			}
		}
	}
	for (int r = 1; r < N; r++) {
		unsigned char w[8 + ADDR_LEN];
		int right = (r + 1) % N;
		char who[32];

		memset(w, 0, sizeof(w));
		put32(w, MAGIC);
		put32(w + 4, (uint32_t)port[right]);
		if (right != 0)
			memcpy(w + 8, addr[right], ADDR_LEN);
		snprintf(who, sizeof(who), "rank %d", r);
		rc = io_all(fd[r], w, sizeof(w), 1, deadline, who, err);
		if (rc)
			goto out;
	}
	memcpy(d->right_addr, addr[1], ADDR_LEN);
	memcpy(d->left_addr, addr[N - 1], ADDR_LEN);
	*right_port = port[1];
out:
	for (int i = 0; i < npend; i++)
		close(pend[i].fd);
	if (fd)
		for (int i = 1; i < N; i++)
			if (fd[i] >= 0)
				close(fd[i]);
	free(fd);
	free(port);
	free(addr);
	free(pend);
	free(p);
	return rc;
}

/* Rank r ≠ 0: say hello to rank 0 and learn where the right neighbour
 * listens. */
static int join(struct fm_ddp *d, const struct fm_ddp_config *cfg,
		int star, int ring_port, double deadline, char *right_host,
		size_t hlen, int *right_port, struct fm_error *err)
{
	unsigned char hello[16], w[8 + ADDR_LEN];
	int rc;

	put32(hello, MAGIC);
	put32(hello + 4, (uint32_t)d->rank);
	put32(hello + 8, (uint32_t)d->world);
	put32(hello + 12, (uint32_t)ring_port);
	rc = io_all(star, hello, sizeof(hello), 1, deadline, "rank 0", err);
	if (!rc)
		rc = io_all(star, w, sizeof(w), 0, deadline, "rank 0", err);
	if (rc)
		return rc;
	if (get32(w) != MAGIC)
		return fm_error_set(err, FM_ENET, "rendezvous: %s:%d is not "
				    "an fmnist-train rank 0", cfg->master_addr,
				    cfg->master_port);
	*right_port = (int)get32(w + 4);
	w[8 + ADDR_LEN - 1] = '\0';
	snprintf(right_host, hlen, "%s",
		 w[8] ? (const char *)w + 8 : cfg->master_addr);
	snprintf(d->right_addr, sizeof(d->right_addr), "%s", right_host);
	return FM_OK;
}

/* Connect to the right neighbour, accept the left one, check both say
 * who they should be. */
static int link_ring(struct fm_ddp *d, int rfd, const char *right_host,
		     int right_port, double deadline, struct fm_error *err)
{
	const int right = (d->rank + 1) % d->world;
	const int left = (d->rank + d->world - 1) % d->world;
	unsigned char m[8];
	char who[32];
	int rc;

	snprintf(who, sizeof(who), "rank %d", right);
	d->right = connect_until(right_host, right_port, deadline, who, err);
	if (d->right < 0)
		return d->right;
	put32(m, MAGIC);
	put32(m + 4, (uint32_t)d->rank);
	rc = io_all(d->right, m, sizeof(m), 1, deadline, who, err);
	if (rc)
		return rc;
	snprintf(who, sizeof(who), "rank %d", left);
	for (;;) {
		struct pollfd p = {rfd, POLLIN, 0};
		int n = poll(&p, 1, ms_left(deadline));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fm_error_set(err, FM_ENET, "rendezvous timeout "
					    "after %g s: %s never connected to "
					    "rank %d", d->timeout, who,
					    d->rank);
		d->left = accept4(rfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (d->left >= 0)
			break;
	}
	tune(d->left);
	peer_addr(d->left, d->left_addr, sizeof(d->left_addr));
	rc = io_all(d->left, m, sizeof(m), 0, deadline, who, err);
	if (rc)
		return rc;
	if (get32(m) != MAGIC || get32(m + 4) != (uint32_t)left)
		return fm_error_set(err, FM_ENET, "rendezvous: expected %s on "
				    "the ring, got something else", who);
	return FM_OK;
}

int fm_ddp_init(const struct fm_ddp_config *cfg, struct fm_ddp **out,
		struct fm_error *err)
{
	struct fm_ddp *d;
	double deadline = fm_now() + cfg->timeout;
	int lfd = -1, rfd = -1, star = -1, rc, right_port = 0;
	char right_host[256];

	*out = NULL;
	if (cfg->world < 2 || cfg->rank < 0 || cfg->rank >= cfg->world)
		return fm_error_set(err, FM_EINVAL, "bad rank %d of %d",
				    cfg->rank, cfg->world);
	d = calloc(1, sizeof(*d));
	if (!d)
		return fm_error_set(err, FM_ENOMEM, "out of memory");
	d->rank = cfg->rank;
	d->world = cfg->world;
	d->timeout = cfg->timeout;
	d->left = d->right = -1;

	if (d->rank == 0) {
		if (cfg->listen_fd >= 0) {
			lfd = cfg->listen_fd;
			if (set_nonblock(lfd) != 0) {
				rc = fm_error_set(err, FM_ENET, "listen fd: %s",
						  strerror(errno));
				goto out;
			}
		} else {
			lfd = listen_on(cfg->master_addr, cfg->master_port,
					AF_UNSPEC, err);
			if (lfd < 0) {
				rc = lfd;
				goto out;
			}
		}
		rfd = listen_on(NULL, 0, sock_family(lfd), err);
		if (rfd < 0) {
			rc = rfd;
			goto out;
		}
		rc = gather_ranks(d, lfd, local_port(rfd), deadline,
				  &right_port, err);
		snprintf(right_host, sizeof(right_host), "%s", d->right_addr);
	} else {
		star = connect_until(cfg->master_addr, cfg->master_port,
				     deadline, "rank 0", err);
		if (star < 0) {
			rc = star;
			goto out;
		}
		rfd = listen_on(NULL, 0, sock_family(star), err);
		if (rfd < 0) {
			rc = rfd;
			goto out;
		}
		rc = join(d, cfg, star, local_port(rfd), deadline, right_host,
			  sizeof(right_host), &right_port, err);
	}
	if (!rc)
		rc = link_ring(d, rfd, right_host, right_port, deadline, err);
out:
	if (lfd >= 0 && lfd != cfg->listen_fd)
		close(lfd);
	if (rfd >= 0)
		close(rfd);
	if (star >= 0)
		close(star);
	if (rc) {
		fm_ddp_close(d);
		return rc;
	}
	*out = d;
	return FM_OK;
}

void fm_ddp_close(struct fm_ddp *d)
{
	if (!d)
		return;
	if (d->left >= 0)
		close(d->left);
	if (d->right >= 0)
		close(d->right);
	free(d->scratch);
	free(d);
}

/* ---- collectives -------------------------------------------------------- */

static void add_f32(void *acc, const void *in, size_t n)
{
	float *a = acc;
	const float *b = in;

	for (size_t i = 0; i < n; i++)
		a[i] += b[i];
}

static void add_f64(void *acc, const void *in, size_t n)
{
	double *a = acc;
	const double *b = in;

	for (size_t i = 0; i < n; i++)
		a[i] += b[i];
}

static void add_u64(void *acc, const void *in, size_t n)
{
	uint64_t *a = acc;
	const uint64_t *b = in;

	for (size_t i = 0; i < n; i++)
		a[i] += b[i];
}

/* Chunk c of n elements split N ways: [lo, hi). */
static size_t chunk_lo(size_t n, int N, int c)
{
	return n * (size_t)c / (size_t)N;	/* n·c fits: n < 2^40, c ≤ 1024 */
}

/*
 * Ring all-reduce.  Reduce-scatter: in step s rank r sends chunk r−s and
 * adds the received chunk r−s−1 into its own, so after N−1 steps rank r
 * holds the full sum of chunk r+1.  All-gather: in step s rank r sends
 * chunk r+1−s (complete) and stores the received chunk r−s.
 */
static int allreduce(struct fm_ddp *d, void *x, size_t n, size_t es,
		     add_fn add, struct fm_error *err)
{
	const int N = d->world, r = d->rank;
	char *b = x;
	size_t maxc = (n + (size_t)N - 1) / (size_t)N * es;
	int rc;

	if (N < 2 || n == 0)
		return FM_OK;
	if (d->scratch_len < maxc) {
		char *t = realloc(d->scratch, maxc);

		if (!t)
			return fm_error_set(err, FM_ENOMEM, "out of memory");
		d->scratch = t;
		d->scratch_len = maxc;
	}
	for (int s = 0; s < N - 1; s++) {
		int sc = ((r - s) % N + N) % N, rcv = ((r - s - 1) % N + N) % N;
		size_t slo = chunk_lo(n, N, sc), shi = chunk_lo(n, N, sc + 1);
		size_t rlo = chunk_lo(n, N, rcv), rhi = chunk_lo(n, N, rcv + 1);

		rc = exchange(d, b + slo * es, (shi - slo) * es, d->scratch,
			      (rhi - rlo) * es, add, es, b + rlo * es, err);
		if (rc)
			return rc;
	}
	for (int s = 0; s < N - 1; s++) {
		int sc = ((r + 1 - s) % N + N) % N, rcv = ((r - s) % N + N) % N;
		size_t slo = chunk_lo(n, N, sc), shi = chunk_lo(n, N, sc + 1);
		size_t rlo = chunk_lo(n, N, rcv), rhi = chunk_lo(n, N, rcv + 1);

		rc = exchange(d, b + slo * es, (shi - slo) * es, b + rlo * es,
			      (rhi - rlo) * es, NULL, es, NULL, err);
		if (rc)
			return rc;
	}
	return FM_OK;
}

int fm_ddp_allreduce_f32(struct fm_ddp *d, float *x, size_t n,
			 struct fm_error *err)
{
	return d ? allreduce(d, x, n, sizeof(*x), add_f32, err) : FM_OK;
}

int fm_ddp_allreduce_f64(struct fm_ddp *d, double *x, size_t n,
			 struct fm_error *err)
{
	return d ? allreduce(d, x, n, sizeof(*x), add_f64, err) : FM_OK;
}

int fm_ddp_allreduce_u64(struct fm_ddp *d, uint64_t *x, size_t n,
			 struct fm_error *err)
{
	return d ? allreduce(d, x, n, sizeof(*x), add_u64, err) : FM_OK;
}

/* Down the ring from rank 0 to rank N−1 in pieces, so every hop works
 * at once on a large buffer. */
int fm_ddp_broadcast(struct fm_ddp *d, void *buf, size_t len,
		     struct fm_error *err)
{
	const size_t piece = 256 * 1024;
	char *b = buf;
	int last, rc;

	if (!d || d->world < 2)
		return FM_OK;
	last = d->rank == d->world - 1;
	for (size_t off = 0; off < len; off += piece) {
		size_t k = len - off < piece ? len - off : piece;

		if (d->rank > 0) {
			rc = exchange(d, NULL, 0, b + off, k, NULL, 1, NULL,
				      err);
			if (rc)
				return rc;
		}
		if (!last) {
			rc = exchange(d, b + off, k, NULL, 0, NULL, 1, NULL,
				      err);
			if (rc)
				return rc;
		}
	}
	return FM_OK;
}

int fm_ddp_check_same(struct fm_ddp *d, uint64_t value, const char *what,
		      struct fm_error *err)
{
	uint64_t *v;
	char list[256];
	size_t len = 0;
	int bad = 0, rc;

	if (!d || d->world < 2)
		return FM_OK;
	v = calloc((size_t)d->world, sizeof(*v));
	if (!v)
		return fm_error_set(err, FM_ENOMEM, "out of memory");
	v[d->rank] = value;
	rc = fm_ddp_allreduce_u64(d, v, (size_t)d->world, err);
	if (rc) {
		free(v);
		return rc;
	}
	list[0] = '\0';
	for (int i = 1; i < d->world; i++) {
		if (v[i] == v[0])
			continue;
		bad++;
		if (len < sizeof(list) - 16)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%d", bad > 1 ? ", " : "", i);
	}
	free(v);
	if (bad)
		return fm_error_set(err, FM_ENET, "%s differs between ranks: "
				    "rank%s %s disagree%s with rank 0", what,
				    bad > 1 ? "s" : "", list,
				    bad > 1 ? "" : "s");
	return FM_OK;
}
