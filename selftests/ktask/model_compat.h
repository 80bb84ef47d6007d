/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-ins for what ktask/state.c uses from the kernel, so the
 * state machine is tested and model-checked from the very same source.
 * Atomics map to the compiler's __atomic builtins with the kernel's
 * orderings; a WARN is counted in model_warnings instead of printed.
 */
#ifndef _KTASK_MODEL_COMPAT_H
#define _KTASK_MODEL_COMPAT_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct {
	long counter;
} atomic_long_t;

#define BITS_PER_LONG	((int)(sizeof(long) * CHAR_BIT))
#define BIT(n)		(1UL << (n))
#define unlikely(x)	__builtin_expect(!!(x), 0)

extern int model_warnings;

#define WARN_ONCE(cond, ...) ({						\
	bool __w = !!(cond);						\
									\
	if (__w)							\
		model_warnings++;					\
	if (0)	/* type-checks the format and uses the arguments */	\
		printf(__VA_ARGS__);					\
	__w;								\
})

static inline long atomic_long_read(const atomic_long_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline long atomic_long_read_acquire(const atomic_long_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_ACQUIRE);
}

static inline void atomic_long_set(atomic_long_t *v, long i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline bool atomic_long_try_cmpxchg(atomic_long_t *v, long *old, long new)
{
	return __atomic_compare_exchange_n(&v->counter, old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline long atomic_long_fetch_xor(long i, atomic_long_t *v)
{
	return __atomic_fetch_xor(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline long atomic_long_fetch_andnot(long i, atomic_long_t *v)
{
	return __atomic_fetch_and(&v->counter, ~i, __ATOMIC_SEQ_CST);
}

static inline long atomic_long_fetch_sub_release(long i, atomic_long_t *v)
{
	return __atomic_fetch_sub(&v->counter, i, __ATOMIC_RELEASE);
}

static inline long atomic_long_fetch_add_relaxed(long i, atomic_long_t *v)
{
	return __atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

#define smp_acquire__after_ctrl_dep()	__atomic_thread_fence(__ATOMIC_ACQUIRE)

#endif /* _KTASK_MODEL_COMPAT_H */
