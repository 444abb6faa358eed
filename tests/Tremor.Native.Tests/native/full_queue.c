/*
 * c-full-queue: a bounded queue that is a sink and a source, as a durable queue (wal) is: its sink
 * takes a batch only when the whole batch fits, else answers TREMOR_FULL and takes nothing; its
 * source emits what the queue holds, and the room that frees is announced through
 * host->sink_has_room during that pull (so an isolated plugin's signal arrives with the call).
 *
 * config: capacity (events the queue holds, default 64).
 *
 * Built with -DTREMOR_PDK_TARGET_MINOR=1 -DFULL_QUEUE_OLD_MINOR it is "c-full-queue-1-1": a plugin of
 * ABI 1.1 that answers 5 anyway, which a host must take for a broken instance, not for FULL.
 */
#include <stdlib.h>
#include <string.h>

#include "tremor_pdk.h"
#include "tremor_json_config.h"

#ifdef FULL_QUEUE_OLD_MINOR
#define FULL_QUEUE_NAME "c-full-queue-1-1"
#else
#define FULL_QUEUE_NAME "c-full-queue"
#endif

typedef struct entry {
    uint8_t *data;
    size_t len;
    uint64_t ingest_ns;
} entry;

typedef struct queue {
    const tremor_host_api *host;
    entry *ring;
    uint32_t capacity;
    uint32_t head;  /* first entry held */
    uint32_t held;  /* entries held, not yet pulled */
    uint32_t out;   /* entries handed to the host by the last pull, freed at release */
    int full;       /* the last batch was answered TREMOR_FULL */
} queue;

static tremor_status TREMOR_PDK_CALL queue_create(const tremor_create_args *args, void **out, tremor_err *err)
{
    int64_t capacity = 64;
    queue *q;
    if (tjc_int(args->config_json, args->config_len, "capacity", &capacity) < 0 || capacity < 1 || capacity > 1000000) {
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "capacity: expected an integer from 1 to 1000000");
    }
    q = (queue *)calloc(1, sizeof(queue));
    if (q == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    q->ring = (entry *)calloc((size_t)capacity, sizeof(entry));
    if (q->ring == NULL) {
        free(q);
        return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    }
    q->host = args->host;
    q->capacity = (uint32_t)capacity;
    *out = q;
    return TREMOR_OK;
}

static void free_out(queue *q)
{
    uint32_t i;
    /* The pulled entries are the `out` ones just before head. */
    for (i = 0; i < q->out; i++) {
        entry *e = &q->ring[(q->head + q->capacity - q->out + i) % q->capacity];
        free(e->data);
        e->data = NULL;
    }
    q->out = 0;
}

static void TREMOR_PDK_CALL queue_destroy(void *instance)
{
    queue *q = (queue *)instance;
    uint32_t i;
    free_out(q);
    for (i = 0; i < q->held; i++) free(q->ring[(q->head + i) % q->capacity].data);
    free(q->ring);
    free(q);
}

static tremor_status TREMOR_PDK_CALL queue_sink_batch(void *instance, const tremor_sink_batch *batch, tremor_err *err)
{
    queue *q = (queue *)instance;
    uint32_t i;
    /* Slots of pulled entries are free only after release. */
    if (batch->count > q->capacity - q->held - q->out) {
        q->full = 1;
#ifdef FULL_QUEUE_OLD_MINOR
        return tremor_err_set(err, 5, "full (answered by a plugin of ABI 1.1)");
#else
        return tremor_err_set(err, TREMOR_FULL, "the queue holds %u of %u events; the batch needs %u", q->held + q->out,
                              q->capacity, batch->count);
#endif
    }
    for (i = 0; i < batch->count; i++) {
        const tremor_sink_slice *s = &batch->slices[i];
        entry *e = &q->ring[(q->head + q->held) % q->capacity];
        e->data = (uint8_t *)malloc(s->len == 0 ? 1 : s->len);
        if (e->data == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
        memcpy(e->data, s->data, s->len);
        e->len = s->len;
        e->ingest_ns = s->ingest_ns;
        q->held++;
    }
    return TREMOR_OK;
}

static tremor_status TREMOR_PDK_CALL queue_pull(void *instance, tremor_pull *pull, tremor_err *err)
{
    queue *q = (queue *)instance;
    uint32_t n = 0;
    (void)err;
    free_out(q); /* a host that pulls again has copied the last pull */
    while (n < pull->capacity && q->held > 0) {
        entry *e = &q->ring[q->head];
        tremor_source_slice *s = &pull->slices[n++];
        memset(s, 0, sizeof *s);
        s->data = e->data;
        s->len = e->len;
        s->ingest_ns = e->ingest_ns;
        q->head = (q->head + 1) % q->capacity;
        q->held--;
        q->out++;
    }
    pull->count = n;
#ifndef FULL_QUEUE_OLD_MINOR
    if (n > 0 && q->full) {
        /* What this pull took leaves at release, before the next call: the kept batch may come again. */
        q->full = 0;
        tremor_sink_has_room(q->host);
    }
#endif
    return n > 0 ? TREMOR_OK : TREMOR_EMPTY;
}

static tremor_status TREMOR_PDK_CALL queue_release(void *instance, tremor_err *err)
{
    (void)err;
    free_out((queue *)instance);
    return TREMOR_OK;
}

static const tremor_layout_entry queue_layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};
static const tremor_plugin_vtable queue_vtable =
    TREMOR_PDK_VTABLE_INIT(queue_create, queue_destroy, NULL, queue_pull, queue_release, queue_sink_batch, NULL);

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = TREMOR_PDK_DESCRIPTOR_INIT(
    queue_layout, TREMOR_KIND_SOURCE | TREMOR_KIND_SINK, 0u, FULL_QUEUE_NAME, "0.1.0",
    "{\"type\":\"object\",\"properties\":{\"capacity\":{\"type\":\"integer\"}},\"additionalProperties\":false}", NULL,
    &queue_vtable, "test: a bounded queue whose sink answers TREMOR_FULL");
