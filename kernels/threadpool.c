/* Thread pool: T - 1 worker threads plus the caller, each running a fixed share of the tasks.
 *
 * Why not Debian's pthreadpool: its libpthreadpool0 is not multi-arch co-installable, so the arm64
 * cross build (libpthreadpool0:arm64) and PyTorch / XNNPACK on the host (libpthreadpool0:amd64,
 * used for golden data and benchmarks) exclude each other. qk's parallel loops are static (task t
 * on thread t mod T, see conv2d.c), which needs no work stealing.
 *
 * Small layers run in tens of microseconds, about what waking a sleeping thread costs, so both
 * sides spin for a short while before sleeping: workers on the run counter after finishing a run,
 * the caller on the count of busy workers. The condition variables are the fallback. */
#include "kernels/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define QK_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define QK_CPU_RELAX() __asm__ volatile("yield")
#else
#define QK_CPU_RELAX() ((void)0)
#endif

/* Polls before sleeping: a few tens of microseconds, enough to bridge back-to-back layers. */
#define QK_SPIN_ITERATIONS 20000

struct qk_threadpool {
  size_t threads; /* workers + the caller */
  pthread_t* workers;
  pthread_mutex_t run_lock; /* one run at a time */
  pthread_mutex_t lock;     /* for the sleeping paths only */
  pthread_cond_t start, done;
  _Atomic uint64_t generation; /* bumped by each run; workers wait for a new value */
  _Atomic size_t busy;         /* workers still running the current generation */
  _Atomic bool stop;
  /* The current run, written before generation is bumped (release) and read after (acquire). */
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

/* Waits until the generation differs from `seen` or the pool stops; returns the generation. */
static uint64_t wait_for_run(qk_threadpool* p, uint64_t seen) {
  for (int i = 0; i < QK_SPIN_ITERATIONS; i++) {
    const uint64_t g = atomic_load_explicit(&p->generation, memory_order_acquire);
    if (g != seen || atomic_load_explicit(&p->stop, memory_order_acquire)) return g;
    QK_CPU_RELAX();
  }
  pthread_mutex_lock(&p->lock);
  uint64_t g;
  while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
         !atomic_load_explicit(&p->stop, memory_order_acquire)) {
    pthread_cond_wait(&p->start, &p->lock);
  }
  pthread_mutex_unlock(&p->lock);
  return g;
}

static void* worker_main(void* arg_) {
  worker_arg arg = *(worker_arg*)arg_;
  free(arg_);
  qk_threadpool* p = arg.pool;
  uint64_t seen = 0;
  for (;;) {
    seen = wait_for_run(p, seen);
    if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
    run_share(p, arg.id);
    if (atomic_fetch_sub_explicit(&p->busy, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&p->lock); /* the caller may be asleep on `done` */
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->lock);
    }
  }
  return NULL;
}

static void stop_workers(qk_threadpool* p, size_t started) {
  pthread_mutex_lock(&p->lock);
  atomic_store_explicit(&p->stop, true, memory_order_release);
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

/* Waits until every worker has finished the current run. */
static void wait_for_workers(qk_threadpool* p) {
  for (int i = 0; i < QK_SPIN_ITERATIONS; i++) {
    if (atomic_load_explicit(&p->busy, memory_order_acquire) == 0) return;
    QK_CPU_RELAX();
  }
  pthread_mutex_lock(&p->lock);
  while (atomic_load_explicit(&p->busy, memory_order_acquire) != 0) {
    pthread_cond_wait(&p->done, &p->lock);
  }
  pthread_mutex_unlock(&p->lock);
}

void qk_threadpool_run(qk_threadpool* pool, void (*fn)(void*, size_t), void* context,
                       size_t tasks) {
  if (pool == NULL || pool->threads == 1 || tasks <= 1) {
    for (size_t t = 0; t < tasks; t++) fn(context, t);
    return;
  }
  pthread_mutex_lock(&pool->run_lock);
  pool->fn = fn;
  pool->context = context;
  pool->tasks = tasks;
  atomic_store_explicit(&pool->busy, pool->threads - 1, memory_order_relaxed);
  pthread_mutex_lock(&pool->lock); /* workers asleep on `start` check the generation under it */
  atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
  pthread_cond_broadcast(&pool->start);
  pthread_mutex_unlock(&pool->lock);
  run_share(pool, 0);
  wait_for_workers(pool);
  pthread_mutex_unlock(&pool->run_lock);
}
