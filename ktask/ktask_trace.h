/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktask tracepoints: a task's life for ftrace and perf, free when disabled.
 *
 *   ktask_spawn  ktask_poll_start  ktask_poll_end  ktask_wake
 *   ktask_forced_yield  ktask_complete  ktask_cancel  ktask_dealloc
 *
 * Every event carries the task id.  All but ktask_dealloc carry the
 * runtime's name; a cell may outlive its runtime (a handle or waker kept
 * it), so at dealloc the runtime is known only from the earlier events.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ktask

#if !defined(_KTASK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KTASK_TRACE_H

#include <linux/tracepoint.h>

#include "runtime.h"

DECLARE_EVENT_CLASS(ktask_task,
		    TP_PROTO(const struct ktask_cell *cell),
		    TP_ARGS(cell),
		    TP_STRUCT__entry(__field(u64, id)
				     __array(char, rt, 32)),
		    TP_fast_assign(__entry->id = cell->id;
				   memcpy(__entry->rt, cell->rt->name,
					  sizeof(__entry->rt));),
		    TP_printk("id=%llu rt=%s", __entry->id, __entry->rt)
);

TRACE_EVENT(ktask_spawn,
	    TP_PROTO(const struct ktask_cell *cell),
	    TP_ARGS(cell),
	    TP_STRUCT__entry(__field(u64, id)
			     __array(char, rt, 32)
			     __field(unsigned long, site)
			     __array(char, name, KTASK_NAME_LEN)),
	    TP_fast_assign(__entry->id = cell->id;
			   memcpy(__entry->rt, cell->rt->name,
				  sizeof(__entry->rt));
			   __entry->site = cell->spawn_site;
			   strscpy_pad(__entry->name, ktask_cell_name(cell),
				       sizeof(__entry->name));),
	    TP_printk("id=%llu rt=%s site=%pS name=%s", __entry->id,
		      __entry->rt, (void *)__entry->site, __entry->name)
);

DEFINE_EVENT(ktask_task, ktask_poll_start,
	     TP_PROTO(const struct ktask_cell *cell),
	     TP_ARGS(cell));

TRACE_EVENT(ktask_poll_end,
	    TP_PROTO(const struct ktask_cell *cell, int result),
	    TP_ARGS(cell, result),
	    TP_STRUCT__entry(__field(u64, id)
			     __array(char, rt, 32)
			     __field(int, result)),
	    TP_fast_assign(__entry->id = cell->id;
			   memcpy(__entry->rt, cell->rt->name,
				  sizeof(__entry->rt));
			   __entry->result = result;),
	    TP_printk("id=%llu rt=%s result=%s", __entry->id, __entry->rt,
		      __entry->result == KTASK_READY ? "ready" :
		      __entry->result == KTASK_PENDING ? "pending" : "invalid")
);

DEFINE_EVENT(ktask_task, ktask_wake,
	     TP_PROTO(const struct ktask_cell *cell),
	     TP_ARGS(cell));

DEFINE_EVENT(ktask_task, ktask_forced_yield,
	     TP_PROTO(const struct ktask_cell *cell),
	     TP_ARGS(cell));

DEFINE_EVENT(ktask_task, ktask_complete,
	     TP_PROTO(const struct ktask_cell *cell),
	     TP_ARGS(cell));

DEFINE_EVENT(ktask_task, ktask_cancel,
	     TP_PROTO(const struct ktask_cell *cell),
	     TP_ARGS(cell));

TRACE_EVENT(ktask_dealloc,
	    TP_PROTO(u64 id),
	    TP_ARGS(id),
	    TP_STRUCT__entry(__field(u64, id)),
	    TP_fast_assign(__entry->id = id;),
	    TP_printk("id=%llu", __entry->id)
);

#endif /* _KTASK_TRACE_H */

/* This part must be outside the header guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ktask_trace
#include <trace/define_trace.h>
