/* wl_xmalloc.c: producer/consumer after the xmalloc-test in mimalloc-bench
 * (itself after Lever & Boreham's xmalloc test): producer threads allocate
 * and fill batches of objects and hand them through a mutex-protected queue
 * to consumer threads, which verify and free them. Every free is remote, so
 * this measures how an allocator returns memory across threads. */
#include "bench_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKLOAD             "xmalloc"
#define BATCH_OBJECTS        100
#define BATCHES_PER_PRODUCER 30000
#define QUEUE_LIMIT          64 /* batches in flight before producers wait */
#define MIN_SIZE             16
#define MAX_SIZE             256

typedef struct batch_s {
  struct batch_s *next;
  uint64_t first_tag;
  size_t sizes[BATCH_OBJECTS];
  unsigned char *objects[BATCH_OBJECTS];
} batch_t;

typedef struct queue_s {
  pthread_mutex_t lock;
  pthread_cond_t not_empty;
  pthread_cond_t not_full;
  batch_t *head;
  batch_t *tail;
  size_t length;
  unsigned producers_left;
} queue_t;

typedef struct producer_s {
  BENCH_THREAD_STATE queue_t *queue;
  size_t batches;
  uint64_t rng;
  uint64_t next_tag;
} producer_t;

static void queue_push(queue_t *queue, batch_t *batch) {
  pthread_mutex_lock(&queue->lock);
  while (queue->length >= QUEUE_LIMIT)
    pthread_cond_wait(&queue->not_full, &queue->lock);
  batch->next = NULL;
  if (queue->tail != NULL)
    queue->tail->next = batch;
  else
    queue->head = batch;
  queue->tail = batch;
  queue->length++;
  pthread_cond_signal(&queue->not_empty);
  pthread_mutex_unlock(&queue->lock);
}

/* Returns NULL once every producer is done and the queue is drained. */
static batch_t *queue_pop(queue_t *queue) {
  pthread_mutex_lock(&queue->lock);
  while (queue->head == NULL && queue->producers_left > 0)
    pthread_cond_wait(&queue->not_empty, &queue->lock);
  batch_t *batch = queue->head;
  if (batch != NULL) {
    queue->head = batch->next;
    if (queue->head == NULL) queue->tail = NULL;
    queue->length--;
    pthread_cond_signal(&queue->not_full);
  }
  pthread_mutex_unlock(&queue->lock);
  return batch;
}

static void queue_producer_done(queue_t *queue) {
  pthread_mutex_lock(&queue->lock);
  queue->producers_left--;
  pthread_cond_broadcast(&queue->not_empty);
  pthread_mutex_unlock(&queue->lock);
}

static void *producer_run(void *arg) {
  producer_t *producer = arg;
  for (size_t b = 0; b < producer->batches; b++) {
    batch_t *batch = bench_malloc(WORKLOAD, sizeof *batch);
    batch->first_tag = producer->next_tag;
    for (size_t i = 0; i < BATCH_OBJECTS; i++) {
      batch->sizes[i] = bench_rng_range(&producer->rng, MIN_SIZE, MAX_SIZE);
      batch->objects[i] = bench_malloc(WORKLOAD, batch->sizes[i]);
      bench_fill(batch->objects[i], batch->sizes[i], producer->next_tag++);
    }
    queue_push(producer->queue, batch);
  }
  queue_producer_done(producer->queue);
  return NULL;
}

static void *consumer_run(void *arg) {
  queue_t *queue = arg;
  batch_t *batch;
  while ((batch = queue_pop(queue)) != NULL) {
    for (size_t i = 0; i < BATCH_OBJECTS; i++) {
      bench_verify(WORKLOAD, batch->objects[i], batch->sizes[i], batch->first_tag + i);
      free(batch->objects[i]);
    }
    free(batch);
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t args = bench_parse_args(argc, argv, 2);
  unsigned producers = args.threads / 2 > 0 ? args.threads / 2 : 1;
  unsigned consumers = args.threads > producers ? args.threads - producers : 1;
  size_t batches = bench_scaled(BATCHES_PER_PRODUCER / producers, args.scale, 10);
  queue_t queue = {PTHREAD_MUTEX_INITIALIZER,
                   PTHREAD_COND_INITIALIZER,
                   PTHREAD_COND_INITIALIZER,
                   NULL,
                   NULL,
                   0,
                   producers};
  producer_t *producer_state = bench_calloc_lines(WORKLOAD, producers, sizeof *producer_state);
  pthread_t *threads = bench_calloc(WORKLOAD, producers + consumers, sizeof *threads);

  for (unsigned p = 0; p < producers; p++)
    producer_state[p] = (producer_t){&queue, batches, 7 + p, (uint64_t)p << 40};
  bench_threads_start(WORKLOAD, threads, producers, producer_run, producer_state,
                      sizeof *producer_state);
  /* Item size 0: every consumer is handed the one queue. */
  bench_threads_start(WORKLOAD, threads + producers, consumers, consumer_run, &queue, 0);
  bench_threads_join(threads, producers + consumers);
  free(producer_state);
  free(threads);
  printf("producers=%u consumers=%u objects=%zu\n", producers, consumers,
         batches * producers * BATCH_OBJECTS);
  bench_report_rss();
  return 0;
}
