// SPDX-License-Identifier: GPL-2.0
/*
 * echo_client: a load client and bad-client generator for TCP echo
 * servers (samples/ktask_echo.c, bench/echo/ktask_echo_wq.c, the Tokio
 * server in bench/echo/tokio).  Static, for the test VM's busybox
 * initramfs; see Documentation/ktask/echo.rst.
 *
 *   echo_client [-a ADDR] [-p PORT] [-m MODE] [-c CONNS] [-n ROUNDS]
 *               [-s SIZE] [-t THREADS] [-d SECONDS] [-H SECONDS]
 *               [-T TIMEOUT] [-l LABEL] [-N NICE]
 *
 * -N runs the client at that nice value (setpriority()), e.g. a flooder
 * at 19 so that on a guest with as few CPUs as clients it takes no CPU
 * time from the clients it floods beside, as if it ran on another host.
 *
 * Modes:
 *   echo     (default) CONNS connections, each doing ROUNDS round trips of
 *            a SIZE-byte message (one in flight per connection); every
 *            echoed byte is compared with what was sent.  Prints one line
 *            "result server=LABEL conns=C size=S rounds=N requests=R
 *            secs=X rps=Y p50_us=.. p99_us=.. max_us=.." on success.
 *            With -H, the connections stay open that many seconds after
 *            their round trips (to hold a server at its limit).
 *   flood    CONNS connections that send a byte stream as fast as the
 *            server takes it, for -d seconds or until SIGTERM, verifying
 *            the echo; prints "flood ... mbytes_per_s=.."
 *   half     each connection sends half of a SIZE message and closes
 *   rst      each connection sends a SIZE message, reads part of the echo
 *            and resets (SO_LINGER 0)
 *   noread   one connection sends until the server cannot take more (no
 *            progress for a second), prints "noread: blocked after N
 *            bytes", then keeps the connection, never reading, for -d
 *            seconds
 *   refused  each connection must be closed by the server (EOF or a
 *            reset) without a byte of data, within the timeout
 *
 * Every mode exits 0 on success, 1 on a failed check (a wrong byte, an
 * unexpected close, a refused connection that was served) and 2 when
 * TIMEOUT (default 60 s) passes first: no run can hang.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_ECHO, M_FLOOD, M_HALF, M_RST, M_NOREAD, M_REFUSED };

static const char *addr = "127.0.0.1";
static int port = 7007;
static enum mode mode = M_ECHO;
static int nconns = 1;
static int rounds = 100;
static size_t size = 64;
static int nthreads = 1;
static int duration = 5;
static int hold;
static int timeout_s = 60;
static const char *label = "server";

struct conn {
	int fd;
	int id;
	int round;
	size_t sent;
	size_t rcvd;
	unsigned long long t0;
	unsigned char *tx;
	unsigned char *rx;
	int done;
};

struct worker {
	pthread_t thread;
	struct conn *conns;
	int n;
	unsigned long long *lat;		/* round-trip times, ns */
	size_t nlat;
	unsigned long long bytes;		/* flood: bytes verified */
	int failed;
};

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* SIGTERM ends a flood early, with its summary, as -d would (lock-free). */
static atomic_bool flood_stop;

static void on_term(int sig)
{
	(void)sig;
	atomic_store(&flood_stop, true);
}

static void on_alarm(int sig)
{
	static const char msg[] = "echo_client: timeout\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(2);
}

/* The message of round @round of connection @id: xorshift bytes. */
static void fill(unsigned char *buf, size_t len, int id, int round)
{
	unsigned int x = 2463534242u ^ ((unsigned int)id * 2654435761u) ^
		     ((unsigned int)round * 40503u);
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

/*
 * A flood connection's stream repeats connection @id's xorshift bytes with
 * a prime period, so that a lost, repeated or reordered piece shows (unless
 * it is a multiple of the period long).  The pattern is kept with a send's
 * worth of it again after its end: any send or check is one contiguous
 * copy or memcmp(), so that the flooder spends its CPU time moving bytes,
 * not computing them, and can push a server harder than it pushes itself.
 */
#define FLOOD_PERIOD	131071
#define FLOOD_CHUNK	65536

static unsigned char *flood_pattern(int id)
{
	unsigned char *pat = malloc(FLOOD_PERIOD + FLOOD_CHUNK);

	if (!pat)
		return NULL;
	fill(pat, FLOOD_PERIOD, id, 0);
	memcpy(pat + FLOOD_PERIOD, pat, FLOOD_CHUNK);
	return pat;
}

static int connect_one(int nonblock)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "echo_client: bad address %s\n", addr);
		exit(1);
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("echo_client: socket");
		exit(1);
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "echo_client: connect %s:%d: %s\n", addr, port,
			strerror(errno));
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		perror("echo_client: O_NONBLOCK");
		exit(1);
	}
	return fd;
}

static int cmp_u64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static void start_round(struct conn *c)
{
	fill(c->tx, size, c->id, c->round);
	c->sent = 0;
	c->rcvd = 0;
	c->t0 = now_ns();
}

static int mismatch(struct conn *c)
{
	size_t i = 0;

	while (c->rx[i] == c->tx[i])
		i++;
	fprintf(stderr, "echo_client: conn %d: round %d: byte %zu is %02x, not %02x\n",
		c->id, c->round, i, c->rx[i], c->tx[i]);
	return -1;
}

/* Echo mode: make what progress the socket allows; -1 on a failure. */
static int echo_progress(struct worker *w, struct conn *c)
{
	ssize_t n;

	for (;;) {
		int moved = 0;

		if (c->sent < size) {
			n = send(c->fd, c->tx + c->sent, size - c->sent, MSG_NOSIGNAL);
			if (n > 0) {
				c->sent += n;
				moved = 1;
			} else if (n < 0 && errno != EAGAIN) {
				fprintf(stderr, "echo_client: conn %d: send: %s\n",
					c->id, strerror(errno));
				return -1;
			}
		}
		n = recv(c->fd, c->rx + c->rcvd, size - c->rcvd, 0);
		if (n == 0) {
			fprintf(stderr, "echo_client: conn %d: EOF in round %d, %zu of %zu bytes\n",
				c->id, c->round, c->rcvd, size);
			return -1;
		}
		if (n < 0 && errno != EAGAIN) {
			fprintf(stderr, "echo_client: conn %d: recv: %s\n", c->id,
				strerror(errno));
			return -1;
		}
		if (n > 0) {
			c->rcvd += n;
			moved = 1;
		}
		if (c->rcvd == size) {
			if (memcmp(c->rx, c->tx, size))
				return mismatch(c);
			w->lat[w->nlat++] = now_ns() - c->t0;
			if (++c->round == rounds) {
				c->done = 1;
				return 0;
			}
			start_round(c);
			continue;
		}
		if (!moved)
			return 0;
	}
}

/* Flood mode: send and verify the stream while it moves. */
static int flood_progress(struct worker *w, struct conn *c, unsigned long long stop)
{
	unsigned char buf[FLOOD_CHUNK];
	ssize_t n;

	for (;;) {
		int moved = 0;

		if (!atomic_load(&flood_stop) && now_ns() < stop) {
			n = send(c->fd, c->tx + c->sent % FLOOD_PERIOD,
				 FLOOD_CHUNK, MSG_NOSIGNAL);
			if (n > 0) {
				c->sent += n;
				moved = 1;
			} else if (n < 0 && errno != EAGAIN) {
				perror("echo_client: flood: send");
				return -1;
			}
		} else if (!c->done) {
			c->done = 1;
			shutdown(c->fd, SHUT_WR);
		}
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n == 0) {
			if (c->rcvd != c->sent) {
				fprintf(stderr, "echo_client: flood: EOF after %zu of %zu bytes\n",
					c->rcvd, c->sent);
				return -1;
			}
			return 1;
		}
		if (n < 0 && errno != EAGAIN) {
			perror("echo_client: flood: recv");
			return -1;
		}
		if (n > 0) {
			if (memcmp(buf, c->tx + c->rcvd % FLOOD_PERIOD, n)) {
				fprintf(stderr, "echo_client: flood: bytes %zu to %zu wrong\n",
					c->rcvd, c->rcvd + n - 1);
				return -1;
			}
			c->rcvd += n;
			w->bytes += n;
			moved = 1;
		}
		if (!moved)
			return 0;
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev, evs[256];
	unsigned long long stop = now_ns() + (unsigned long long)duration * 1000000000ull;
	int ep, i, left = w->n;

	ep = epoll_create1(0);
	if (ep < 0) {
		perror("echo_client: epoll_create1");
		w->failed = 1;
		return NULL;
	}
	for (i = 0; i < w->n; i++) {
		struct conn *c = &w->conns[i];

		ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			perror("echo_client: epoll_ctl");
			w->failed = 1;
			return NULL;
		}
		if (mode == M_ECHO)
			start_round(c);
	}
	while (left > 0) {
		int n = epoll_wait(ep, evs, 256, mode == M_FLOOD ? 100 : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("echo_client: epoll_wait");
			w->failed = 1;
			break;
		}
		if (mode == M_FLOOD && n == 0) {
			/* The deadline passed while the socket was quiet. */
			for (i = 0; i < w->n && n < 256; i++) {
				evs[n].data.ptr = &w->conns[i];
				n++;
			}
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int r;

			if (c->fd < 0)
				continue;
			if (mode == M_ECHO)
				r = echo_progress(w, c);
			else
				r = flood_progress(w, c, stop);
			if (r < 0) {
				w->failed = 1;
				return NULL;
			}
			if ((mode == M_ECHO && c->done) || r > 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				if (!hold) {
					close(c->fd);
					c->fd = -1;
				}
				left--;
			}
		}
	}
	close(ep);
	return NULL;
}

static int run_load(void)
{
	struct worker *ws = calloc(nthreads, sizeof(*ws));
	struct conn *conns = calloc(nconns, sizeof(*conns));
	unsigned long long *all, t0, t1, bytes = 0;
	size_t total = 0, k;
	int i, failed = 0;
	double secs;

	if (!ws || !conns) {
		fprintf(stderr, "echo_client: out of memory\n");
		return 1;
	}
	for (i = 0; i < nconns; i++) {
		conns[i].id = i;
		conns[i].fd = connect_one(1);
		if (mode == M_FLOOD) {
			conns[i].tx = flood_pattern(i);
			if (!conns[i].tx) {
				fprintf(stderr, "echo_client: out of memory\n");
				return 1;
			}
		}
		if (mode == M_ECHO) {
			conns[i].tx = malloc(size);
			conns[i].rx = malloc(size);
			if (!conns[i].tx || !conns[i].rx) {
				fprintf(stderr, "echo_client: out of memory\n");
				return 1;
			}
		}
	}
	/* Connections are dealt to the threads in contiguous slices. */
	for (i = 0; i < nthreads; i++) {
		int lo = (int)((long)nconns * i / nthreads);
		int hi = (int)((long)nconns * (i + 1) / nthreads);

		ws[i].conns = conns + lo;
		ws[i].n = hi - lo;
		ws[i].lat = malloc(sizeof(unsigned long long) * (size_t)(hi - lo) * rounds + 1);
		if (!ws[i].lat) {
			fprintf(stderr, "echo_client: out of memory\n");
			return 1;
		}
	}
	t0 = now_ns();
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&ws[i].thread, NULL, worker_run, &ws[i])) {
			fprintf(stderr, "echo_client: pthread_create failed\n");
			return 1;
		}
	for (i = 0; i < nthreads; i++) {
		pthread_join(ws[i].thread, NULL);
		failed |= ws[i].failed;
		total += ws[i].nlat;
		bytes += ws[i].bytes;
	}
	t1 = now_ns();
	if (failed)
		return 1;
	secs = (double)(t1 - t0) / 1e9;
	if (mode == M_FLOOD) {
		printf("flood server=%s conns=%d secs=%.3f bytes=%llu mbytes_per_s=%.1f\n",
		       label, nconns, secs, (unsigned long long)bytes,
		       bytes / secs / 1e6);
		return 0;
	}
	all = malloc(sizeof(*all) * (total + 1));
	if (!all) {
		fprintf(stderr, "echo_client: out of memory\n");
		return 1;
	}
	for (k = 0, i = 0; i < nthreads; i++) {
		memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
		k += ws[i].nlat;
	}
	if (total != (size_t)nconns * rounds) {
		fprintf(stderr, "echo_client: %zu round trips, expected %zu\n",
			total, (size_t)nconns * rounds);
		return 1;
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	printf("result server=%s conns=%d size=%zu rounds=%d threads=%d requests=%zu",
	       label, nconns, size, rounds, nthreads, total);
	printf(" secs=%.3f rps=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f\n", secs,
	       total / secs, all[total / 2] / 1e3,
	       all[total * 99 / 100 < total ? total * 99 / 100 : total - 1] / 1e3,
	       all[total - 1] / 1e3);
	fflush(stdout);
	if (hold)
		sleep(hold);
	return 0;
}

static int run_bad(void)
{
	unsigned char *buf = malloc(size > 65536 ? size : 65536);
	int i;

	if (!buf) {
		fprintf(stderr, "echo_client: out of memory\n");
		return 1;
	}
	for (i = 0; i < nconns; i++) {
		int fd = connect_one(0);
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		size_t half = size / 2 ? size / 2 : 1;

		fill(buf, size, i, 0);
		if (mode == M_HALF) {
			if (send(fd, buf, half, MSG_NOSIGNAL) != (ssize_t)half) {
				perror("echo_client: half: send");
				return 1;
			}
		} else {
			if (send(fd, buf, size, MSG_NOSIGNAL) != (ssize_t)size) {
				perror("echo_client: rst: send");
				return 1;
			}
			/* Some of the echo, not all: the rest is in flight. */
			if (recv(fd, buf, half, 0) <= 0) {
				perror("echo_client: rst: recv");
				return 1;
			}
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fd);
	}
	printf("%s: %d connections done\n", mode == M_HALF ? "half" : "rst", nconns);
	return 0;
}

static int run_noread(void)
{
	unsigned char buf[65536];
	unsigned long long total = 0;
	int fd = connect_one(1);

	memset(buf, 0x5a, sizeof(buf));
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);

		if (n > 0) {
			total += n;
			continue;
		}
		if (n < 0 && errno != EAGAIN) {
			perror("echo_client: noread: send");
			return 1;
		}
		if (poll(&p, 1, 1000) == 0)
			break;
	}
	printf("noread: blocked after %llu bytes\n", total);
	fflush(stdout);
	sleep(duration);
	close(fd);
	return 0;
}

static int run_refused(void)
{
	int i;

	for (i = 0; i < nconns; i++) {
		int fd = connect_one(0);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c;
		ssize_t n;

		if (poll(&p, 1, timeout_s * 1000) != 1) {
			fprintf(stderr, "echo_client: refused: conn %d not closed\n", i);
			return 1;
		}
		n = recv(fd, &c, 1, 0);
		if (n > 0 || (n < 0 && errno != ECONNRESET)) {
			fprintf(stderr, "echo_client: refused: conn %d: %s\n", i,
				n > 0 ? "data" : strerror(errno));
			return 1;
		}
		close(fd);
	}
	printf("refused: %d connections closed by the server\n", nconns);
	return 0;
}

static void print_usage(void)
{
	fprintf(stderr, "usage: echo_client [-a ADDR] [-p PORT]\n"
		"\t[-m echo|flood|half|rst|noread|refused]\n"
		"\t[-c CONNS] [-n ROUNDS] [-s SIZE] [-t THREADS] [-d SECONDS]\n"
		"\t[-H SECONDS] [-T TIMEOUT] [-l LABEL] [-N NICE]\n");
	exit(1);
}

int main(int argc, char **argv)
{
	static const char *const names[] = {
		"echo", "flood", "half", "rst", "noread", "refused",
	};
	struct rlimit rl;
	int opt, i;

	while ((opt = getopt(argc, argv, "a:p:m:c:n:s:t:d:H:T:l:N:")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'm':
			for (i = 0; i < 6 && strcmp(optarg, names[i]); i++)
				;
			if (i == 6)
				print_usage();
			mode = i;
			break;
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		case 't':
			nthreads = atoi(optarg);
			break;
		case 'd':
			duration = atoi(optarg);
			break;
		case 'H':
			hold = atoi(optarg);
			break;
		case 'T':
			timeout_s = atoi(optarg);
			break;
		case 'l':
			label = optarg;
			break;
		case 'N':
			/* Every thread started later inherits it. */
			if (setpriority(PRIO_PROCESS, 0, atoi(optarg))) {
				perror("echo_client: setpriority");
				return 1;
			}
			break;
		default:
			print_usage();
		}
	}
	if (nconns < 1 || rounds < 1 || size < 1 || nthreads < 1 ||
	    timeout_s < 1 || duration < 0 || hold < 0 || port < 1 || port > 65535)
		print_usage();
	if (nthreads > nconns)
		nthreads = nconns;
	/* A descriptor per connection: raise the limit if it is lower. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)nconns + 64) {
		rl.rlim_cur = nconns + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			perror("echo_client: RLIMIT_NOFILE");
	}
	signal(SIGALRM, on_alarm);
	if (mode == M_FLOOD)
		signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	alarm(timeout_s);
	switch (mode) {
	case M_ECHO:
	case M_FLOOD:
		return run_load();
	case M_HALF:
	case M_RST:
		return run_bad();
	case M_NOREAD:
		return run_noread();
	case M_REFUSED:
		return run_refused();
	}
	return 1;
}
