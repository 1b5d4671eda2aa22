/* qk_threadpool internals. A NULL pool means the caller's thread. */
#ifndef QK_KERNELS_THREADPOOL_H
#define QK_KERNELS_THREADPOOL_H

#include "kernels/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Calls fn(context, t) for t in [0, tasks), task t on thread t mod T (the caller is thread 0;
 * all on the caller's thread if pool is NULL), and returns when all are done. Runs on one pool
 * are serialized. */
QK_INTERNAL void qk_threadpool_run(qk_threadpool* pool, void (*fn)(void*, size_t), void* context,
                                   size_t tasks);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_KERNELS_THREADPOOL_H */
