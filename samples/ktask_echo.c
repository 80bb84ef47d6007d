// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_echo: a TCP echo server whose every connection is a ktask task.
 *
 * On load it creates a runtime "echo", a listening socket on @port (on
 * 127.0.0.1 unless @any_addr), and a listener task that waits on the
 * listening socket's wait queue and accepts with O_NONBLOCK.  Each
 * accepted connection gets a pollable task in the server's task group: it
 * reads with MSG_DONTWAIT into a buffer, writes the bytes back with
 * MSG_DONTWAIT, and parks on the socket's wait queue (ktask_wait_event())
 * when there is nothing to read or no room to write.  Every chunk it
 * moves costs a unit of the coop budget, and one more per @bytes_per_unit
 * written, so that a connection that floods the server yields to the
 * others after at most 128 such units; @budget_off lifts the budget from the
 * connection tasks (for the fairness comparison of
 * Documentation/ktask/echo.rst).
 *
 * Connections beyond @max_conns are closed as soon as they are accepted.
 * The listener also joins the connection tasks that ended, so that the
 * group does not grow with the server's history.  Unloading aborts the
 * listener, then every connection task (the group's destroy), whose drop
 * closes its socket, and destroys the runtime.
 *
 * debugfs: /sys/kernel/debug/ktask_echo/stats (counters) and conns (one
 * line per open connection: its task id, as in ktask's "tasks" file, and
 * its peer address).  In ktask's own tasks file, the listener is named
 * "echo listener" and each connection task "echo <peer address>".
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/in.h>
#include <linux/inet.h>
#include <linux/ktask.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

static unsigned short port = 7007;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "TCP port to listen on (default 7007)");

static bool any_addr;
module_param(any_addr, bool, 0444);
MODULE_PARM_DESC(any_addr, "listen on every address, not only 127.0.0.1 (default no)");

static unsigned int max_conns = 1024;
module_param(max_conns, uint, 0444);
MODULE_PARM_DESC(max_conns, "open connections at most; more are closed at once (default 1024)");

static unsigned int backlog = 4096;
module_param(backlog, uint, 0444);
MODULE_PARM_DESC(backlog, "listen backlog (default 4096, capped by net.core.somaxconn)");

static unsigned int bufsize = 16384;
module_param(bufsize, uint, 0444);
MODULE_PARM_DESC(bufsize, "bytes each connection reads at a time, 64..1048576 (default 16384)");

static unsigned int bytes_per_unit = 4096;
module_param(bytes_per_unit, uint, 0644);
MODULE_PARM_DESC(bytes_per_unit, "a unit of coop budget per chunk written, and one more per this many bytes of it; 0: one per chunk (default 4096)");

static bool highpri = true;
module_param(highpri, bool, 0444);
MODULE_PARM_DESC(highpri, "poll the connections at high priority, KTASK_RT_HIGHPRI, as nvmet-tcp's WQ_HIGHPRI workqueue runs its I/O (default yes)");

static bool budget_off;
module_param(budget_off, bool, 0644);
MODULE_PARM_DESC(budget_off, "run connection tasks unconstrained by the coop budget (default no)");

/*
 * Even unconstrained, a poll gives its worker back after this long: an
 * unconstrained flooder would otherwise hold it for as long as the peer
 * keeps up, which the soft-lockup detector reports after 20 s.
 */
#define ECHO_UNCONSTRAINED_NS	(1000 * NSEC_PER_MSEC)

/*
 * The socket wakes its wait queue with a poll key: data in, space out,
 * errors (state changes carry no key and always wake).  A connection
 * waiting to read is not polled for the write space its peer's reads
 * make, nor one waiting to write for data coming in.
 */
#define ECHO_READ_EVENTS	(EPOLLIN | EPOLLRDNORM | EPOLLRDHUP)
#define ECHO_WRITE_EVENTS	(EPOLLOUT | EPOLLWRNORM)

struct echo_conn;

struct echo_server {
	struct ktask_rt *rt;
	struct ktask_group *conns;
	struct socket *lsock;
	struct ktask_handle *listener;
	struct ktask_wait lwait;
	struct dentry *dir;
	spinlock_t lock;		/* protects @list */
	struct list_head list;
	atomic_t open;
	atomic64_t accepted;
	atomic64_t refused;
	atomic64_t closed;
	atomic64_t reaped;
	atomic64_t bytes;
	atomic64_t accept_errors;
};

struct echo_conn {
	struct list_head node;		/* on echo_server.list */
	struct echo_server *srv;
	struct socket *sock;
	struct ktask_wait wait;
	struct sockaddr_storage peer;
	u64 id;				/* the task's id, from its first poll */
	u64 bytes;			/* echoed */
	unsigned int head;		/* first byte of @buf still to send */
	unsigned int len;		/* bytes of @buf still to send */
	int err;			/* how it ended: 0 for the peer's FIN */
	u8 buf[];
};

static struct echo_server echo_srv;

/* What the socket is ready for, as poll(2) would say (no file, no table). */
static __poll_t echo_sock_events(struct socket *sock)
{
	return sock->ops->poll(NULL, sock, NULL);
}

static bool echo_readable(struct socket *sock)
{
	return echo_sock_events(sock) & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
}

static bool echo_writable(struct socket *sock)
{
	return echo_sock_events(sock) & (EPOLLOUT | EPOLLHUP | EPOLLERR);
}

static int echo_recv(struct echo_conn *c)
{
	struct kvec iov = { .iov_base = c->buf, .iov_len = bufsize };
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };

	return kernel_recvmsg(c->sock, &msg, &iov, 1, bufsize, MSG_DONTWAIT);
}

static int echo_send(struct echo_conn *c)
{
	struct kvec iov = { .iov_base = c->buf + c->head, .iov_len = c->len };
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };

	return kernel_sendmsg(c->sock, &msg, &iov, 1, c->len);
}

/* The units beyond the chunk's own for @n bytes written. */
static enum ktask_poll echo_charge(struct ktask_cx *cx, int n)
{
	unsigned int per = READ_ONCE(bytes_per_unit);

	return ktask_consume_budget_n(cx, per ? n / per : 0);
}

/*
 * Echo until the socket has nothing to read or no room to write (then
 * park on its wait queue), the budget runs out, or the connection ends.
 * Return: KTASK_READY when it ended (c->err says how), else KTASK_PENDING.
 */
static enum ktask_poll echo_conn_run(struct ktask_cx *cx, struct echo_conn *c,
				     u64 stop_ns)
{
	wait_queue_head_t *wq = sk_sleep(c->sock->sk);
	int n;

	for (;;) {
		if (c->len) {
			n = echo_send(c);
			if (n == -EAGAIN) {
				if (ktask_wait_event_poll(cx, &c->wait, wq,
							  ECHO_WRITE_EVENTS,
							  echo_writable(c->sock)) ==
				    KTASK_PENDING)
					return KTASK_PENDING;
				continue;
			}
			if (n < 0)
				goto end;
			c->head += n;
			c->len -= n;
			WRITE_ONCE(c->bytes, c->bytes + n);
			atomic64_add(n, &c->srv->bytes);
			/* Large chunks cost more: what a flooder gets per poll. */
			if (echo_charge(cx, n) == KTASK_PENDING)
				return KTASK_PENDING;
		} else {
			n = echo_recv(c);
			if (n == -EAGAIN) {
				if (ktask_wait_event_poll(cx, &c->wait, wq,
							  ECHO_READ_EVENTS,
							  echo_readable(c->sock)) ==
				    KTASK_PENDING)
					return KTASK_PENDING;
				continue;
			}
			if (n <= 0)
				goto end;
			c->head = 0;
			c->len = n;
		}
		/* One unit per chunk moved: a flooder yields to the others. */
		if (ktask_consume_budget(cx) == KTASK_PENDING)
			return KTASK_PENDING;
		if (stop_ns && ktime_get_ns() > stop_ns) {
			ktask_wake_by_ref(ktask_cx_waker(cx));
			return KTASK_PENDING;
		}
	}
end:
	c->err = n;
	return KTASK_READY;
}

static enum ktask_poll echo_conn_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct echo_conn *c = arg;
	enum ktask_poll ret;
	u64 stop_ns = 0;
	bool was = false;

	if (!c->id)
		WRITE_ONCE(c->id, ktask_current_id());
	if (READ_ONCE(budget_off)) {
		was = ktask_coop_set_unconstrained(cx, true);
		stop_ns = ktime_get_ns() + ECHO_UNCONSTRAINED_NS;
	}
	ret = echo_conn_run(cx, c, stop_ns);
	if (stop_ns)
		ktask_coop_set_unconstrained(cx, was);
	if (ret == KTASK_READY)
		*out = c->err;
	return ret;
}

/* The task ended or was aborted: the socket and the state go. */
static void echo_conn_drop(void *arg)
{
	struct echo_conn *c = arg;
	struct echo_server *srv = c->srv;

	ktask_wait_cancel(&c->wait);
	spin_lock(&srv->lock);
	list_del(&c->node);
	spin_unlock(&srv->lock);
	sock_release(c->sock);
	kfree(c);
	atomic64_inc(&srv->closed);
	atomic_dec(&srv->open);
}

static const struct ktask_ops echo_conn_ops = {
	.poll = echo_conn_poll,
	.drop = echo_conn_drop,
};

/* Called by the listener task: give @sock a task, or close it. */
static void echo_serve(struct echo_server *srv, struct socket *sock)
{
	/* Named after the peer, for ktask's debugfs tasks file. */
	char name[KTASK_NAME_LEN];
	struct ktask_spawn_opts opts = { .name = name };
	struct echo_conn *c;
	int ret;

	if (atomic_inc_return(&srv->open) > max_conns)
		goto refuse;
	/* The listener's poll must not sleep: no reclaim here. */
	c = kzalloc(struct_size(c, buf, bufsize), GFP_NOWAIT | __GFP_NOWARN);
	if (!c)
		goto refuse;
	c->srv = srv;
	c->sock = sock;
	ktask_wait_init(&c->wait);
	if (kernel_getpeername(sock, (struct sockaddr *)&c->peer) < 0)
		c->peer.ss_family = AF_UNSPEC;
	tcp_sock_set_nodelay(sock->sk);
	/* Listed first: once spawned, the task may end (and unlist) at once. */
	spin_lock(&srv->lock);
	list_add_tail(&c->node, &srv->list);
	spin_unlock(&srv->lock);
	if (c->peer.ss_family == AF_UNSPEC)
		strscpy(name, "echo -", sizeof(name));
	else
		snprintf(name, sizeof(name), "echo %pISpc", &c->peer);
	ret = ktask_group_spawn_with(srv->conns, &opts, KTASK_SPAWN_POLL,
				     &echo_conn_ops, NULL, c, GFP_NOWAIT, NULL);
	if (!ret) {
		atomic64_inc(&srv->accepted);
		return;
	}
	spin_lock(&srv->lock);
	list_del(&c->node);
	spin_unlock(&srv->lock);
	kfree(c);
refuse:
	atomic_dec(&srv->open);
	atomic64_inc(&srv->refused);
	sock_release(sock);
}

/* Join the connection tasks that ended; never waits. */
static enum ktask_poll echo_reap(struct ktask_cx *cx, struct echo_server *srv)
{
	long out;
	int err;

	for (;;) {
		if (ktask_group_join_next_poll(srv->conns, cx, NULL, &out,
					       &err) == KTASK_PENDING)
			return KTASK_PENDING;
		if (err == -ENOENT)
			return KTASK_READY;
		atomic64_inc(&srv->reaped);
	}
}

static enum ktask_poll echo_listen_poll(struct ktask_cx *cx, void *arg,
					long *out)
{
	struct echo_server *srv = arg;
	wait_queue_head_t *wq = sk_sleep(srv->lsock->sk);
	struct socket *sock;
	int ret;

	for (;;) {
		ret = kernel_accept(srv->lsock, &sock, O_NONBLOCK);
		if (ret == -EAGAIN) {
			/*
			 * Before parking: join what ended, and park on the
			 * group too while a connection task runs, so that its
			 * end wakes the listener to join it.  A budget that
			 * runs out here leaves the task woken, to come back.
			 */
			if (echo_reap(cx, srv) == KTASK_PENDING &&
			    !ktask_has_budget_remaining(cx))
				return KTASK_PENDING;
			if (ktask_wait_event(cx, &srv->lwait, wq,
					     echo_readable(srv->lsock)) ==
			    KTASK_PENDING)
				return KTASK_PENDING;
			continue;
		}
		if (ret < 0)
			atomic64_inc(&srv->accept_errors);
		else
			echo_serve(srv, sock);
		if (ktask_consume_budget(cx) == KTASK_PENDING)
			return KTASK_PENDING;
	}
}

static void echo_listen_drop(void *arg)
{
	struct echo_server *srv = arg;

	ktask_wait_cancel(&srv->lwait);
}

static const struct ktask_ops echo_listen_ops = {
	.poll = echo_listen_poll,
	.drop = echo_listen_drop,
};

static int echo_stats_show(struct seq_file *m, void *v)
{
	struct echo_server *srv = m->private;

	seq_printf(m, "port %u\n", port);
	seq_printf(m, "open %d\n", atomic_read(&srv->open));
	seq_printf(m, "accepted %lld\n", atomic64_read(&srv->accepted));
	seq_printf(m, "refused %lld\n", atomic64_read(&srv->refused));
	seq_printf(m, "closed %lld\n", atomic64_read(&srv->closed));
	seq_printf(m, "reaped %lld\n", atomic64_read(&srv->reaped));
	seq_printf(m, "accept_errors %lld\n", atomic64_read(&srv->accept_errors));
	seq_printf(m, "bytes %lld\n", atomic64_read(&srv->bytes));
	seq_printf(m, "group_len %u\n", ktask_group_len(srv->conns));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(echo_stats);

static int echo_conns_show(struct seq_file *m, void *v)
{
	struct echo_server *srv = m->private;
	struct echo_conn *c;

	seq_puts(m, "id peer bytes\n");
	spin_lock(&srv->lock);
	list_for_each_entry(c, &srv->list, node) {
		if (c->peer.ss_family == AF_UNSPEC)
			seq_printf(m, "%llu - %llu\n", READ_ONCE(c->id),
				   READ_ONCE(c->bytes));
		else
			seq_printf(m, "%llu %pISpc %llu\n", READ_ONCE(c->id),
				   &c->peer, READ_ONCE(c->bytes));
	}
	spin_unlock(&srv->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(echo_conns);

static int echo_listen(struct echo_server *srv)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(any_addr ? INADDR_ANY : INADDR_LOOPBACK),
	};
	int ret;

	ret = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &srv->lsock);
	if (ret)
		return ret;
	sock_set_reuseaddr(srv->lsock->sk);
	/* Loopback may not be up yet (a VM's init): bind all the same. */
	ip_sock_set_freebind(srv->lsock->sk);
	ret = kernel_bind(srv->lsock, (struct sockaddr *)&addr, sizeof(addr));
	if (!ret)
		ret = kernel_listen(srv->lsock, backlog);
	if (ret) {
		sock_release(srv->lsock);
		srv->lsock = NULL;
	}
	return ret;
}

static int __init echo_init(void)
{
	static const struct ktask_spawn_opts listener_opts = {
		.name = "echo listener",
	};
	struct ktask_rt_opts opts = {
		.flags = highpri ? KTASK_RT_HIGHPRI : 0,
	};
	struct echo_server *srv = &echo_srv;
	int ret;

	if (!port || !max_conns || bufsize < 64 || bufsize > SZ_1M || !backlog)
		return -EINVAL;
	spin_lock_init(&srv->lock);
	INIT_LIST_HEAD(&srv->list);
	ktask_wait_init(&srv->lwait);
	srv->rt = ktask_rt_create("echo", &opts);
	if (IS_ERR(srv->rt))
		return PTR_ERR(srv->rt);
	srv->conns = ktask_group_create(srv->rt);
	if (IS_ERR(srv->conns)) {
		ret = PTR_ERR(srv->conns);
		goto err_rt;
	}
	ret = echo_listen(srv);
	if (ret) {
		pr_err("ktask_echo: cannot listen on port %u: %d\n", port, ret);
		goto err_group;
	}
	srv->listener = ktask_spawn_poll_with(srv->rt, &listener_opts,
					      &echo_listen_ops, srv, GFP_KERNEL);
	if (IS_ERR(srv->listener)) {
		ret = PTR_ERR(srv->listener);
		goto err_sock;
	}
	srv->dir = debugfs_create_dir("ktask_echo", NULL);
	debugfs_create_file("stats", 0444, srv->dir, srv, &echo_stats_fops);
	debugfs_create_file("conns", 0444, srv->dir, srv, &echo_conns_fops);
	pr_info("ktask_echo: listening on %s:%u, at most %u connections\n",
		any_addr ? "0.0.0.0" : "127.0.0.1", port, max_conns);
	return 0;

err_sock:
	sock_release(srv->lsock);
err_group:
	ktask_group_destroy(srv->conns);
err_rt:
	ktask_rt_destroy(srv->rt);
	return ret;
}

static void __exit echo_exit(void)
{
	struct echo_server *srv = &echo_srv;
	long out;

	debugfs_remove_recursive(srv->dir);
	/* No accept, hence no spawn, from here on. */
	ktask_abort(srv->listener);
	ktask_join(srv->listener, &out);
	/* Every connection task aborted and waited for; their drops close. */
	ktask_group_destroy(srv->conns);
	sock_release(srv->lsock);
	ktask_rt_destroy(srv->rt);
	pr_info("ktask_echo: stopped: %lld accepted, %lld refused, %lld closed, %lld bytes echoed\n",
		atomic64_read(&srv->accepted), atomic64_read(&srv->refused),
		atomic64_read(&srv->closed), atomic64_read(&srv->bytes));
}

module_init(echo_init);
module_exit(echo_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktask sample: a TCP echo server, one task per connection");
