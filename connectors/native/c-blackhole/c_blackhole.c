/*
 * c-blackhole: a native sink that counts events and bytes, and optionally appends every
 * event (one per line) to a file.
 *
 * config: path (optional file to append to),
 *         fail-every N (every Nth batch returns an error status; for supervision tests),
 *         reject-every N (every Nth batch answers TREMOR_FAILED: the batch failed, the instance is fine),
 *         latency-after N (records each event's latency, arrival minus ingest time, after the first N events:
 *         a benchmark's view of a native sink, in process or isolated; absent: not recorded).
 * On destroy it logs its totals through the host, and with latency-after the percentiles in a second line.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
    int64_t latency_after; /* -1: latency not recorded */
    uint64_t *latency;     /* LATENCY_BUCKETS counts (see latency_bucket) */
    uint64_t latency_count;
} blackhole;

/* 1 µs buckets below 1 ms, 100 µs buckets up to 1 s, one bucket beyond: percentiles of a bench run without
 * allocating per event. */
#define LATENCY_FINE 1000u
#define LATENCY_COARSE 9990u
#define LATENCY_BUCKETS (LATENCY_FINE + LATENCY_COARSE + 1u)

static uint32_t latency_bucket(uint64_t us)
{
    if (us < LATENCY_FINE) return (uint32_t)us;
    if (us < 1000000u) return LATENCY_FINE + (uint32_t)((us - LATENCY_FINE) / 100u);
    return LATENCY_BUCKETS - 1u;
}

/* The upper bound of a bucket, in µs. */
static double latency_upper(uint32_t b)
{
    if (b < LATENCY_FINE) return b + 1.0;
    if (b < LATENCY_BUCKETS - 1u) return LATENCY_FINE + (b - LATENCY_FINE + 1.0) * 100.0;
    return 1e6;
}

static double latency_percentile(const blackhole *b, double p)
{
    uint64_t rank = (uint64_t)(p / 100.0 * (double)b->latency_count), seen = 0;
    uint32_t i;
    for (i = 0; i < LATENCY_BUCKETS; i++) {
        seen += b->latency[i];
        if (seen > rank) return latency_upper(i);
    }
    return latency_upper(LATENCY_BUCKETS - 1u);
}

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
    b->latency_after = -1;
    if ((r = tjc_int(args->config_json, args->config_len, "latency-after", &b->latency_after)) < 0 || (r > 0 && b->latency_after < 0)) {
        free(b->path);
        free(b);
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "latency-after: expected a non-negative integer");
    }
    if (r == 0) b->latency_after = -1;
    if (b->latency_after >= 0 && (b->latency = (uint64_t *)calloc(LATENCY_BUCKETS, sizeof(uint64_t))) == NULL) {
        free(b->path);
        free(b);
        return tremor_err_set(err, TREMOR_ERROR, "out of memory");
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
    if (b->latency != NULL && b->latency_count > 0) {
        snprintf(line, sizeof line, "c-blackhole: latency p50 %.0f us, p99 %.0f us, p99.9 %.0f us over %llu events",
                 latency_percentile(b, 50), latency_percentile(b, 99), latency_percentile(b, 99.9),
                 (unsigned long long)b->latency_count);
        tremor_log(b->host, TREMOR_LOG_INFO, line);
    }
    free(b->latency);
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
    if (b->latency != NULL) {
        struct timespec now;
        uint64_t now_ns;
        clock_gettime(CLOCK_REALTIME, &now);
        now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
        for (i = 0; i < batch->count; i++) {
            uint64_t ingest = batch->slices[i].ingest_ns;
            if (b->events + i < (uint64_t)b->latency_after) continue;
            b->latency[latency_bucket(now_ns > ingest ? (now_ns - ingest) / 1000u : 0)]++;
            b->latency_count++;
        }
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
    "\"reject-every\":{\"type\":\"integer\",\"minimum\":0},\"latency-after\":{\"type\":\"integer\",\"minimum\":0}},"
    "\"additionalProperties\":false}",
    "json", &blackhole_vtable, "counts events and bytes, optionally appends them to a file (native C sink)");
