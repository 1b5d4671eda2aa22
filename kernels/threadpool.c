/* Thread pool: T - 1 worker threads plus the caller, each running a fixed share of the tasks.
 *
 * Why not Debian's pthreadpool: its libpthreadpool0 is not multi-arch co-installable, so the arm64
 * cross build (libpthreadpool0:arm64) and PyTorch / XNNPACK on the host (libpthreadpool0:amd64,
 * used for golden data and benchmarks) exclude each other. qk's parallel loops are static (task t
 * on thread t mod T, see conv2d.c), which needs no work stealing: a generation counter and two
 * condition variables do it. */
#include "kernels/threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct qk_threadpool {
  size_t threads; /* workers + the caller */
  pthread_t* workers;
  pthread_mutex_t run_lock; /* one run at a time */
  pthread_mutex_t lock;
  pthread_cond_t start, done;
  uint64_t generation; /* bumped by each run; workers wait for a new value */
  size_t busy;         /* workers still running the current generation */
  bool stop;
  void (*fn)(void*, size_t);
  void* context;
  size_t tasks;
};

typedef struct worker_arg {
  qk_threadpool* pool;
  size_t id; /* 1 .. threads - 1; the caller is 0 */
} worker_arg;

static void run_share(qk_threadpool* p, size_t id) {
  for (size_t t = id; t < p->tasks; t += p->threads) p->fn(p->context, t);
}

static void* worker_main(void* arg_) {
  worker_arg arg = *(worker_arg*)arg_;
  free(arg_);
  qk_threadpool* p = arg.pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (p->generation == seen && !p->stop) pthread_cond_wait(&p->start, &p->lock);
    if (p->stop) break;
    seen = p->generation;
    pthread_mutex_unlock(&p->lock);
    run_share(p, arg.id);
    pthread_mutex_lock(&p->lock);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

static void stop_workers(qk_threadpool* p, size_t started) {
  pthread_mutex_lock(&p->lock);
  p->stop = true;
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->lock);
  for (size_t i = 0; i < started; i++) pthread_join(p->workers[i], NULL);
}

static size_t logical_processors(void) {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (size_t)n : 1;
}

qk_status qk_threadpool_create(size_t threads, qk_threadpool** pool) {
  if (pool == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_threadpool_create: pool is NULL");
  *pool = NULL;
  if (threads == 0) threads = logical_processors();
  if (threads > 1024) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_threadpool_create: %zu threads (at most 1024)",
                   threads);
  }
  qk_threadpool* p = calloc(1, sizeof(*p));
  if (p == NULL || (threads > 1 && (p->workers = calloc(threads - 1, sizeof(pthread_t))) == NULL)) {
    free(p);
    return qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_threadpool_create: out of memory");
  }
  p->threads = threads;
  pthread_mutex_init(&p->run_lock, NULL);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->start, NULL);
  pthread_cond_init(&p->done, NULL);
  for (size_t i = 0; i + 1 < threads; i++) {
    worker_arg* arg = malloc(sizeof(*arg));
    if (arg != NULL) *arg = (worker_arg){p, i + 1};
    if (arg == NULL || pthread_create(&p->workers[i], NULL, worker_main, arg) != 0) {
      free(arg);
      stop_workers(p, i);
      p->threads = 1; /* nothing left to join in delete */
      qk_threadpool_delete(p);
      return qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_threadpool_create: cannot start thread %zu of %zu",
                     i + 2, threads);
    }
  }
  *pool = p;
  return QK_SUCCESS;
}

size_t qk_threadpool_threads(const qk_threadpool* pool) { return pool ? pool->threads : 1; }

void qk_threadpool_delete(qk_threadpool* pool) {
  if (pool == NULL) return;
  if (pool->threads > 1) stop_workers(pool, pool->threads - 1);
  pthread_cond_destroy(&pool->start);
  pthread_cond_destroy(&pool->done);
  pthread_mutex_destroy(&pool->lock);
  pthread_mutex_destroy(&pool->run_lock);
  free(pool->workers);
  free(pool);
}

void qk_threadpool_run(qk_threadpool* pool, void (*fn)(void*, size_t), void* context,
                       size_t tasks) {
  if (pool == NULL || pool->threads == 1 || tasks <= 1) {
    for (size_t t = 0; t < tasks; t++) fn(context, t);
    return;
  }
  pthread_mutex_lock(&pool->run_lock);
  pthread_mutex_lock(&pool->lock);
  pool->fn = fn;
  pool->context = context;
  pool->tasks = tasks;
  pool->busy = pool->threads - 1;
  pool->generation++;
  pthread_cond_broadcast(&pool->start);
  pthread_mutex_unlock(&pool->lock);
  run_share(pool, 0);
  pthread_mutex_lock(&pool->lock);
  while (pool->busy != 0) pthread_cond_wait(&pool->done, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
  pthread_mutex_unlock(&pool->run_lock);
}
