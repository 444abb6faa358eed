/*
 * c-counter: a native source that produces `{"count":N}` events, N = 0..iterations-1,
 * then ends its stream and finishes.
 *
 * config: iterations (default 10), stream-id (default 0),
 *         fail-connects N (the first N connect attempts fail; for tests),
 *         fail-after-batches N (pull returns an error status after N pulls; for tests).
 */
#include <stdlib.h>
#include <string.h>

#include "tremor_pdk.h"
#include "tremor_json_config.h"

#define EVENT_MAX 32 /* {"count":18446744073709551615} fits */

typedef struct counter {
    const tremor_host_api *host;
    int64_t iterations;
    int64_t next;
    int64_t fail_connects;
    int64_t fail_after_batches;
    int64_t pulls;
    uint64_t stream_id;
    int ended;
    uint8_t *buf; /* capacity * EVENT_MAX, reused after release */
    uint32_t buf_slots;
} counter;

static tremor_status read_int(const tremor_create_args *args, const char *key, int64_t def, int64_t *out, tremor_err *err)
{
    int r = tjc_int(args->config_json, args->config_len, key, out);
    if (r == 0) { *out = def; return TREMOR_OK; }
    if (r < 0 || *out < 0) return tremor_err_set(err, TREMOR_ERROR_CONFIG, "%s: expected a non-negative integer", key);
    return TREMOR_OK;
}

static tremor_status TREMOR_PDK_CALL counter_create(const tremor_create_args *args, void **out, tremor_err *err)
{
    counter *c = (counter *)calloc(1, sizeof(counter));
    int64_t stream = 0;
    tremor_status s;
    if (c == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    c->host = args->host;
    if ((s = read_int(args, "iterations", 10, &c->iterations, err)) != TREMOR_OK ||
        (s = read_int(args, "fail-connects", 0, &c->fail_connects, err)) != TREMOR_OK ||
        (s = read_int(args, "fail-after-batches", -1, &c->fail_after_batches, err)) != TREMOR_OK ||
        (s = read_int(args, "stream-id", 0, &stream, err)) != TREMOR_OK) {
        free(c);
        return s;
    }
    c->stream_id = (uint64_t)stream;
    *out = c;
    return TREMOR_OK;
}

static void TREMOR_PDK_CALL counter_destroy(void *instance)
{
    counter *c = (counter *)instance;
    free(c->buf);
    free(c);
}

static tremor_status TREMOR_PDK_CALL counter_connect(void *instance, uint32_t attempt, tremor_err *err)
{
    counter *c = (counter *)instance;
    if ((int64_t)attempt <= c->fail_connects) {
        return tremor_err_set(err, TREMOR_FAILED, "connect attempt %u fails on purpose (fail-connects = %lld)", attempt,
                              (long long)c->fail_connects);
    }
    return TREMOR_OK;
}

static tremor_status TREMOR_PDK_CALL counter_pull(void *instance, tremor_pull *pull, tremor_err *err)
{
    counter *c = (counter *)instance;
    uint32_t n = 0;
    if (c->fail_after_batches >= 0 && c->pulls >= c->fail_after_batches) {
        return tremor_err_set(err, TREMOR_ERROR, "pull %lld fails on purpose (fail-after-batches = %lld)",
                              (long long)c->pulls + 1, (long long)c->fail_after_batches);
    }
    c->pulls++;
    if (c->ended) { pull->count = 0; return TREMOR_FINISHED; }
    if (c->buf_slots < pull->capacity) {
        uint8_t *b = (uint8_t *)realloc(c->buf, (size_t)pull->capacity * EVENT_MAX);
        if (b == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
        c->buf = b;
        c->buf_slots = pull->capacity;
    }
    while (n < pull->capacity && c->next < c->iterations) {
        uint8_t *slot = c->buf + (size_t)n * EVENT_MAX;
        int len = snprintf((char *)slot, EVENT_MAX, "{\"count\":%lld}", (long long)c->next);
        tremor_source_slice *s = &pull->slices[n++];
        memset(s, 0, sizeof *s);
        s->data = slot;
        s->len = (size_t)len;
        s->stream_id = c->stream_id;
        c->next++;
    }
    if (c->next >= c->iterations && n < pull->capacity) {
        tremor_source_slice *s = &pull->slices[n++];
        memset(s, 0, sizeof *s);
        s->stream_id = c->stream_id;
        s->flags = TREMOR_SLICE_STREAM_END;
        c->ended = 1;
    }
    pull->count = n;
    return c->ended ? TREMOR_FINISHED : TREMOR_OK;
}

static tremor_status TREMOR_PDK_CALL counter_release(void *instance, tremor_err *err)
{
    (void)instance; /* the buffer is simply overwritten by the next pull */
    (void)err;
    return TREMOR_OK;
}

static tremor_status TREMOR_PDK_CALL counter_lifecycle(void *instance, uint32_t event, tremor_err *err)
{
    (void)instance;
    (void)event;
    (void)err;
    return TREMOR_OK;
}

static const tremor_layout_entry counter_layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};
static const tremor_plugin_vtable counter_vtable = TREMOR_PDK_VTABLE_INIT(
    counter_create, counter_destroy, counter_connect, counter_pull, counter_release, NULL, counter_lifecycle);

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = TREMOR_PDK_DESCRIPTOR_INIT(
    counter_layout, TREMOR_KIND_SOURCE, 0u, "c-counter", "0.1.0",
    "{\"type\":\"object\",\"properties\":{\"iterations\":{\"type\":\"integer\",\"minimum\":0},"
    "\"stream-id\":{\"type\":\"integer\",\"minimum\":0},\"fail-connects\":{\"type\":\"integer\",\"minimum\":0},"
    "\"fail-after-batches\":{\"type\":\"integer\",\"minimum\":0}},\"additionalProperties\":false}",
    "json", &counter_vtable, "counts: emits {\"count\":N} events (native C source)");
