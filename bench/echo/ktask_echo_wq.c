// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_echo_wq: the TCP echo server of samples/ktask_echo.c written the
 * way a driver author does without ktask, as a baseline for the echo
 * benchmark (Documentation/ktask/echo.rst).
 *
 * Each connection has a work item, queued from the socket's
 * sk_data_ready, sk_write_space and sk_state_change callbacks on a
 * per-CPU workqueue, on the CPU picked round-robin at accept.  The work
 * function reads with MSG_DONTWAIT and writes the bytes back with
 * MSG_DONTWAIT, at most @budget chunks per run: when it stops with work
 * left it queues itself again, behind the other work of its CPU.  The
 * listening socket's sk_data_ready queues an accept work item.  No ktask
 * anywhere.
 *
 * Connections beyond @max_conns are closed as soon as they are accepted.
 * A connection that ends hands itself to a release work item, which
 * waits for its work item and frees it.  Unloading stops the listener,
 * closes every connection and waits for all of that.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/in.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

static unsigned short port = 7008;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "TCP port to listen on (default 7008)");

static unsigned int max_conns = 1024;
module_param(max_conns, uint, 0444);
MODULE_PARM_DESC(max_conns, "open connections at most; more are closed at once (default 1024)");

static unsigned int backlog = 4096;
module_param(backlog, uint, 0444);
MODULE_PARM_DESC(backlog, "listen backlog (default 4096, capped by net.core.somaxconn)");

static unsigned int bufsize = 16384;
module_param(bufsize, uint, 0444);
MODULE_PARM_DESC(bufsize, "bytes each connection reads at a time, 64..1048576 (default 16384)");

static unsigned int budget = 64;
module_param(budget, uint, 0644);
MODULE_PARM_DESC(budget, "chunks a work item moves before it requeues itself (default 64)");

struct ewq_conn {
	struct list_head node;		/* on ewq_conns, under ewq_lock */
	struct socket *sock;
	struct work_struct io_work;
	struct work_struct release_work;
	int cpu;
	unsigned long dead;		/* bit 0: closing, callbacks restored */
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);
	unsigned int head;
	unsigned int len;
	u8 buf[];
};

static struct workqueue_struct *ewq_io_wq;
static struct workqueue_struct *ewq_release_wq;
static struct socket *ewq_lsock;
static void (*ewq_saved_listen_ready)(struct sock *sk);
static struct work_struct ewq_accept_work;
static bool ewq_stopping;		/* under ewq_lock */
static DEFINE_MUTEX(ewq_lock);
static LIST_HEAD(ewq_conns);
static atomic_t ewq_open;
static atomic64_t ewq_accepted, ewq_refused, ewq_bytes;
static atomic_t ewq_next_cpu;
static struct dentry *ewq_dir;

/* Socket callbacks, in softirq context under the socket's lock. */
static void ewq_sk_event(struct sock *sk)
{
	struct ewq_conn *c;

	read_lock_bh(&sk->sk_callback_lock);
	c = sk->sk_user_data;
	if (c)
		queue_work_on(c->cpu, ewq_io_wq, &c->io_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void ewq_listen_ready(struct sock *sk)
{
	read_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data)
		queue_work(ewq_io_wq, &ewq_accept_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

/* No callback reaches @c after this. */
static void ewq_restore_callbacks(struct ewq_conn *c)
{
	struct sock *sk = c->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = c->saved_data_ready;
	sk->sk_write_space = c->saved_write_space;
	sk->sk_state_change = c->saved_state_change;
	write_unlock_bh(&sk->sk_callback_lock);
}

/* Start closing @c, once: its release work frees it. */
static void ewq_close(struct ewq_conn *c)
{
	if (test_and_set_bit(0, &c->dead))
		return;
	ewq_restore_callbacks(c);
	queue_work(ewq_release_wq, &c->release_work);
}

static void ewq_release(struct work_struct *work)
{
	struct ewq_conn *c = container_of(work, struct ewq_conn, release_work);

	/* It may have queued itself again before the callbacks went. */
	cancel_work_sync(&c->io_work);
	mutex_lock(&ewq_lock);
	list_del(&c->node);
	mutex_unlock(&ewq_lock);
	sock_release(c->sock);
	kfree(c);
	atomic_dec(&ewq_open);
}

/* Echo at most @budget chunks; requeue if there may be more. */
static void ewq_io(struct work_struct *work)
{
	struct ewq_conn *c = container_of(work, struct ewq_conn, io_work);
	unsigned int ops = 0, limit = max(READ_ONCE(budget), 1U);
	int n;

	if (test_bit(0, &c->dead))
		return;
	while (ops < limit) {
		if (c->len) {
			struct kvec iov = { c->buf + c->head, c->len };
			struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };

			n = kernel_sendmsg(c->sock, &msg, &iov, 1, c->len);
			if (n == -EAGAIN)
				return;		/* sk_write_space queues us */
			if (n < 0)
				goto close;
			c->head += n;
			c->len -= n;
			atomic64_add(n, &ewq_bytes);
		} else {
			struct kvec iov = { c->buf, bufsize };
			struct msghdr msg = { .msg_flags = MSG_DONTWAIT };

			n = kernel_recvmsg(c->sock, &msg, &iov, 1, bufsize,
					   MSG_DONTWAIT);
			if (n == -EAGAIN)
				return;		/* sk_data_ready queues us */
			if (n <= 0)
				goto close;
			c->head = 0;
			c->len = n;
		}
		ops++;
	}
	/* Budget spent with work left: let the CPU's other work run. */
	queue_work_on(c->cpu, ewq_io_wq, &c->io_work);
	return;
close:
	ewq_close(c);
}

static void ewq_serve(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct ewq_conn *c;

	if (atomic_inc_return(&ewq_open) > max_conns)
		goto refuse;
	c = kzalloc(struct_size(c, buf, bufsize), GFP_KERNEL);
	if (!c)
		goto refuse;
	c->sock = sock;
	INIT_WORK(&c->io_work, ewq_io);
	INIT_WORK(&c->release_work, ewq_release);
	c->cpu = (unsigned int)atomic_inc_return(&ewq_next_cpu) % nr_cpu_ids;
	if (!cpu_online(c->cpu))
		c->cpu = WORK_CPU_UNBOUND;
	tcp_sock_set_nodelay(sk);
	mutex_lock(&ewq_lock);
	if (ewq_stopping) {
		mutex_unlock(&ewq_lock);
		kfree(c);
		goto refuse;
	}
	list_add_tail(&c->node, &ewq_conns);
	write_lock_bh(&sk->sk_callback_lock);
	/*
	 * The child inherited the listener's callback: what we restore is
	 * the one the listener had before it was ours, so that no callback
	 * of this module survives on an orphaned socket.
	 */
	c->saved_data_ready = ewq_saved_listen_ready;
	c->saved_write_space = sk->sk_write_space;
	c->saved_state_change = sk->sk_state_change;
	sk->sk_user_data = c;
	sk->sk_data_ready = ewq_sk_event;
	sk->sk_write_space = ewq_sk_event;
	sk->sk_state_change = ewq_sk_event;
	write_unlock_bh(&sk->sk_callback_lock);
	mutex_unlock(&ewq_lock);
	atomic64_inc(&ewq_accepted);
	/* Data may have come before the callbacks were ours. */
	queue_work_on(c->cpu, ewq_io_wq, &c->io_work);
	return;
refuse:
	atomic_dec(&ewq_open);
	atomic64_inc(&ewq_refused);
	sock_release(sock);
}

static void ewq_accept(struct work_struct *work)
{
	struct socket *sock;
	unsigned int n = 0;

	while (kernel_accept(ewq_lsock, &sock, O_NONBLOCK) == 0) {
		ewq_serve(sock);
		if (++n == READ_ONCE(budget)) {
			queue_work(ewq_io_wq, &ewq_accept_work);
			return;
		}
	}
}

static int ewq_stats_show(struct seq_file *m, void *v)
{
	seq_printf(m, "port %u\n", port);
	seq_printf(m, "open %d\n", atomic_read(&ewq_open));
	seq_printf(m, "accepted %lld\n", atomic64_read(&ewq_accepted));
	seq_printf(m, "refused %lld\n", atomic64_read(&ewq_refused));
	seq_printf(m, "bytes %lld\n", atomic64_read(&ewq_bytes));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ewq_stats);

static int ewq_listen(void)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct sock *sk;
	int ret;

	ret = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &ewq_lsock);
	if (ret)
		return ret;
	sk = ewq_lsock->sk;
	sock_set_reuseaddr(sk);
	ip_sock_set_freebind(sk);
	ret = kernel_bind(ewq_lsock, (struct sockaddr *)&addr, sizeof(addr));
	if (ret)
		goto err;
	write_lock_bh(&sk->sk_callback_lock);
	ewq_saved_listen_ready = sk->sk_data_ready;
	sk->sk_user_data = ewq_lsock;
	sk->sk_data_ready = ewq_listen_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	ret = kernel_listen(ewq_lsock, backlog);
	if (ret)
		goto err;
	return 0;
err:
	sock_release(ewq_lsock);
	return ret;
}

static int __init ewq_init(void)
{
	int ret;

	if (!port || !max_conns || bufsize < 64 || bufsize > SZ_1M || !backlog)
		return -EINVAL;
	/* Per-CPU, as nvmet-tcp's: the work runs where it was queued. */
	ewq_io_wq = alloc_workqueue("echo_wq", WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	if (!ewq_io_wq)
		return -ENOMEM;
	ewq_release_wq = alloc_workqueue("echo_wq_release", 0, 0);
	if (!ewq_release_wq) {
		ret = -ENOMEM;
		goto err_io;
	}
	INIT_WORK(&ewq_accept_work, ewq_accept);
	ret = ewq_listen();
	if (ret) {
		pr_err("ktask_echo_wq: cannot listen on port %u: %d\n", port, ret);
		goto err_release;
	}
	ewq_dir = debugfs_create_dir("ktask_echo_wq", NULL);
	debugfs_create_file("stats", 0444, ewq_dir, NULL, &ewq_stats_fops);
	pr_info("ktask_echo_wq: listening on 127.0.0.1:%u\n", port);
	return 0;

err_release:
	destroy_workqueue(ewq_release_wq);
err_io:
	destroy_workqueue(ewq_io_wq);
	return ret;
}

static void __exit ewq_exit(void)
{
	struct sock *sk = ewq_lsock->sk;
	struct ewq_conn *c;

	debugfs_remove_recursive(ewq_dir);
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = ewq_saved_listen_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	cancel_work_sync(&ewq_accept_work);
	mutex_lock(&ewq_lock);
	ewq_stopping = true;
	list_for_each_entry(c, &ewq_conns, node)
		ewq_close(c);
	mutex_unlock(&ewq_lock);
	/* Every release work queued above frees its connection. */
	flush_workqueue(ewq_release_wq);
	sock_release(ewq_lsock);
	destroy_workqueue(ewq_release_wq);
	destroy_workqueue(ewq_io_wq);
	pr_info("ktask_echo_wq: stopped: %lld accepted, %lld refused, %lld bytes echoed\n",
		atomic64_read(&ewq_accepted), atomic64_read(&ewq_refused),
		atomic64_read(&ewq_bytes));
}

module_init(ewq_init);
module_exit(ewq_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TCP echo server with a work item per connection (ktask's echo baseline)");
