/*
 * c-blackhole: a native sink that counts events and bytes, and optionally appends every
 * event (one per line) to a file.
 *
 * config: path (optional file to append to),
 *         fail-every N (every Nth batch returns an error status; for supervision tests),
 *         reject-every N (every Nth batch answers TREMOR_FAILED: the batch failed, the instance is fine).
 * On destroy it logs its totals through the host.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tremor_pdk.h"
#include "tremor_json_config.h"

typedef struct blackhole {
    const tremor_host_api *host;
    FILE *file;
    char *path;
    int64_t fail_every;
    int64_t reject_every;
    uint64_t batches;
    uint64_t events;
    uint64_t bytes;
} blackhole;

static tremor_status TREMOR_PDK_CALL blackhole_create(const tremor_create_args *args, void **out, tremor_err *err)
{
    blackhole *b = (blackhole *)calloc(1, sizeof(blackhole));
    int r;
    if (b == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    b->host = args->host;
    if ((r = tjc_int(args->config_json, args->config_len, "fail-every", &b->fail_every)) < 0 || b->fail_every < 0) {
        free(b);
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "fail-every: expected a non-negative integer");
    }
    if ((r = tjc_int(args->config_json, args->config_len, "reject-every", &b->reject_every)) < 0 || b->reject_every < 0) {
        free(b);
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "reject-every: expected a non-negative integer");
    }
    if (tjc_string(args->config_json, args->config_len, "path", &b->path) < 0) {
        free(b);
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "path: expected a string");
    }
    *out = b;
    return TREMOR_OK;
}

static void TREMOR_PDK_CALL blackhole_destroy(void *instance)
{
    blackhole *b = (blackhole *)instance;
    char line[160];
    snprintf(line, sizeof line, "c-blackhole: %llu events, %llu bytes in %llu batches", (unsigned long long)b->events,
             (unsigned long long)b->bytes, (unsigned long long)b->batches);
    tremor_log(b->host, TREMOR_LOG_INFO, line);
    if (b->file != NULL) fclose(b->file);
    free(b->path);
    free(b);
}

static tremor_status TREMOR_PDK_CALL blackhole_connect(void *instance, uint32_t attempt, tremor_err *err)
{
    blackhole *b = (blackhole *)instance;
    (void)attempt;
    if (b->path != NULL && b->file == NULL) {
        b->file = fopen(b->path, "ab");
        if (b->file == NULL) return tremor_err_set(err, TREMOR_FAILED, "cannot open %s for appending", b->path);
    }
    return TREMOR_OK;
}

static tremor_status TREMOR_PDK_CALL blackhole_sink_batch(void *instance, const tremor_sink_batch *batch, tremor_err *err)
{
    blackhole *b = (blackhole *)instance;
    uint32_t i;
    b->batches++;
    if (b->fail_every > 0 && b->batches % (uint64_t)b->fail_every == 0) {
        return tremor_err_set(err, TREMOR_ERROR, "batch %llu fails on purpose (fail-every = %lld)",
                              (unsigned long long)b->batches, (long long)b->fail_every);
    }
    if (b->reject_every > 0 && b->batches % (uint64_t)b->reject_every == 0) {
        return tremor_err_set(err, TREMOR_FAILED, "batch %llu rejected on purpose (reject-every = %lld)",
                              (unsigned long long)b->batches, (long long)b->reject_every);
    }
    for (i = 0; i < batch->count; i++) {
        const tremor_sink_slice *s = &batch->slices[i];
        b->bytes += s->len;
        if (b->file != NULL) {
            if (fwrite(s->data, 1, s->len, b->file) != s->len || fputc('\n', b->file) == EOF) {
                return tremor_err_set(err, TREMOR_ERROR, "write to %s failed", b->path);
            }
        }
    }
    b->events += batch->count;
    if (b->file != NULL && fflush(b->file) != 0) return tremor_err_set(err, TREMOR_ERROR, "flush of %s failed", b->path);
    return TREMOR_OK;
}

#if TREMOR_PDK_TARGET_MINOR >= 1
static tremor_status TREMOR_PDK_CALL blackhole_lifecycle(void *instance, uint32_t event, tremor_err *err)
{
    blackhole *b = (blackhole *)instance;
    if ((event == TREMOR_LIFECYCLE_END || event == TREMOR_LIFECYCLE_DRAIN) && b->file != NULL && fflush(b->file) != 0) {
        return tremor_err_set(err, TREMOR_ERROR, "flush of %s failed", b->path);
    }
    return TREMOR_OK;
}
#else
#define blackhole_lifecycle NULL
#endif

static const tremor_layout_entry blackhole_layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};
static const tremor_plugin_vtable blackhole_vtable = TREMOR_PDK_VTABLE_INIT(
    blackhole_create, blackhole_destroy, blackhole_connect, NULL, NULL, blackhole_sink_batch, blackhole_lifecycle);

/* TREMOR_BLACKHOLE_NAME lets a test build a renamed copy (e.g. an older-minor build). */
#ifndef TREMOR_BLACKHOLE_NAME
#define TREMOR_BLACKHOLE_NAME "c-blackhole"
#endif

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = TREMOR_PDK_DESCRIPTOR_INIT(
    blackhole_layout, TREMOR_KIND_SINK, 0u, TREMOR_BLACKHOLE_NAME, "0.1.0",
    "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"fail-every\":{\"type\":\"integer\",\"minimum\":0},"
    "\"reject-every\":{\"type\":\"integer\",\"minimum\":0}},\"additionalProperties\":false}",
    "json", &blackhole_vtable, "counts events and bytes, optionally appends them to a file (native C sink)");
