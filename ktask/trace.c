// SPDX-License-Identifier: GPL-2.0
/*
 * Instantiates the tracepoints declared in ktask_trace.h.
 */
#define CREATE_TRACE_POINTS
#include "ktask_trace.h"
