/*
 * c-crasher: a native sink that misbehaves on purpose, for isolation = process tests and demos.
 *
 * config: mode   = "none" | "segfault" | "abort" | "hang" | "oom" | "fork-segfault" | "fork-forever" | "fork-hang"
 *                  (default "none")
 *         marker = a string (default "POISON"): the sink misbehaves on the first event whose payload contains it,
 *                  so the same event kills every new instance again (what crash quarantine has to isolate)
 *         path   = optional file; every event of a batch that got through is appended, one per line
 *
 * "fork-segfault" forks a child that exits after 30 s and "fork-forever" one that never exits, then the plugin
 * segfaults: the child holds the plugin host's control pipe open, the runtime must notice the death anyway.
 * "fork-hang" forks a child that never exits, then hangs: call-timeout must fire all the same.
 *
 * "oom" allocates and touches 1 MiB blocks until malloc fails, then aborts, as most C programs do on an
 * allocation failure: run it only under a memory-limit (it stops on its own after 8 GiB).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tremor_pdk.h"
#include "tremor_json_config.h"

enum crasher_mode { MODE_NONE, MODE_SEGFAULT, MODE_ABORT, MODE_HANG, MODE_OOM, MODE_FORK_SEGFAULT, MODE_FORK_FOREVER, MODE_FORK_HANG };

typedef struct crasher {
    const tremor_host_api *host;
    enum crasher_mode mode;
    char *marker;
    size_t marker_len;
    char *path;
    FILE *file;
} crasher;

static tremor_status TREMOR_PDK_CALL crasher_create(const tremor_create_args *args, void **out, tremor_err *err)
{
    crasher *c = (crasher *)calloc(1, sizeof(crasher));
    char *mode = NULL;
    if (c == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    c->host = args->host;
    if (tjc_string(args->config_json, args->config_len, "mode", &mode) < 0) {
        free(c);
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "mode: expected one of none, segfault, abort, hang, oom, fork-segfault, fork-forever, fork-hang");
    }
    if (mode == NULL || strcmp(mode, "none") == 0) c->mode = MODE_NONE;
    else if (strcmp(mode, "segfault") == 0) c->mode = MODE_SEGFAULT;
    else if (strcmp(mode, "abort") == 0) c->mode = MODE_ABORT;
    else if (strcmp(mode, "hang") == 0) c->mode = MODE_HANG;
    else if (strcmp(mode, "oom") == 0) c->mode = MODE_OOM;
    else if (strcmp(mode, "fork-segfault") == 0) c->mode = MODE_FORK_SEGFAULT;
    else if (strcmp(mode, "fork-forever") == 0) c->mode = MODE_FORK_FOREVER;
    else if (strcmp(mode, "fork-hang") == 0) c->mode = MODE_FORK_HANG;
    else {
        tremor_status s = tremor_err_set(err, TREMOR_ERROR_CONFIG, "mode: expected one of none, segfault, abort, hang, oom, fork-segfault, fork-forever, fork-hang, found \"%s\"", mode);
        free(mode);
        free(c);
        return s;
    }
    free(mode);
    if (tjc_string(args->config_json, args->config_len, "marker", &c->marker) < 0 ||
        tjc_string(args->config_json, args->config_len, "path", &c->path) < 0) {
        free(c->marker);
        free(c);
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "marker and path: expected strings");
    }
    if (c->marker == NULL) {
        c->marker = (char *)malloc(7);
        if (c->marker == NULL) {
            free(c->path);
            free(c);
            return tremor_err_set(err, TREMOR_ERROR, "out of memory");
        }
        memcpy(c->marker, "POISON", 7);
    }
    c->marker_len = strlen(c->marker);
    *out = c;
    return TREMOR_OK;
}

static void TREMOR_PDK_CALL crasher_destroy(void *instance)
{
    crasher *c = (crasher *)instance;
    if (c->file != NULL) fclose(c->file);
    free(c->marker);
    free(c->path);
    free(c);
}

static tremor_status TREMOR_PDK_CALL crasher_connect(void *instance, uint32_t attempt, tremor_err *err)
{
    crasher *c = (crasher *)instance;
    (void)attempt;
    if (c->path != NULL && c->file == NULL) {
        c->file = fopen(c->path, "ab");
        if (c->file == NULL) return tremor_err_set(err, TREMOR_FAILED, "cannot open %s for appending", c->path);
    }
    return TREMOR_OK;
}

static int contains(const uint8_t *data, size_t len, const char *marker, size_t marker_len)
{
    size_t i;
    if (marker_len == 0 || len < marker_len) return 0;
    for (i = 0; i + marker_len <= len; i++)
        if (memcmp(data + i, marker, marker_len) == 0) return 1;
    return 0;
}

static void misbehave(enum crasher_mode mode)
{
    switch (mode) {
    case MODE_FORK_SEGFAULT:
    case MODE_FORK_FOREVER:
    case MODE_FORK_HANG:
        if (fork() == 0) {
            /* The child inherits every descriptor of the plugin host, its control pipe included. */
            if (mode == MODE_FORK_SEGFAULT) {
                sleep(30);
                _exit(0);
            }
            for (;;) pause();
        }
        misbehave(mode == MODE_FORK_HANG ? MODE_HANG : MODE_SEGFAULT);
        break;
    case MODE_SEGFAULT: {
        volatile int *volatile nowhere = NULL;
        *nowhere = 42;
        break;
    }
    case MODE_ABORT:
        abort();
    case MODE_HANG:
        for (;;) pause();
    case MODE_OOM: {
        size_t total = 0;
        for (;;) {
            char *block = (char *)malloc((size_t)1 << 20);
            if (block == NULL) abort();
            memset(block, 0x5a, (size_t)1 << 20);
            total += (size_t)1 << 20;
            if (total >= ((size_t)8 << 30)) return; /* no limit applied: give up rather than eat the machine */
        }
    }
    case MODE_NONE:
        break;
    }
}

static tremor_status TREMOR_PDK_CALL crasher_sink_batch(void *instance, const tremor_sink_batch *batch, tremor_err *err)
{
    crasher *c = (crasher *)instance;
    uint32_t i;
    for (i = 0; i < batch->count; i++) {
        const tremor_sink_slice *s = &batch->slices[i];
        if (c->mode != MODE_NONE && contains(s->data, s->len, c->marker, c->marker_len)) misbehave(c->mode);
    }
    if (c->file != NULL) {
        for (i = 0; i < batch->count; i++) {
            const tremor_sink_slice *s = &batch->slices[i];
            if (fwrite(s->data, 1, s->len, c->file) != s->len || fputc('\n', c->file) == EOF) {
                return tremor_err_set(err, TREMOR_ERROR, "write to %s failed", c->path);
            }
        }
        if (fflush(c->file) != 0) return tremor_err_set(err, TREMOR_ERROR, "flush of %s failed", c->path);
    }
    return TREMOR_OK;
}

static const tremor_layout_entry crasher_layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};
static const tremor_plugin_vtable crasher_vtable =
    TREMOR_PDK_VTABLE_INIT(crasher_create, crasher_destroy, crasher_connect, NULL, NULL, crasher_sink_batch, NULL);

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = TREMOR_PDK_DESCRIPTOR_INIT(
    crasher_layout, TREMOR_KIND_SINK, 0u, "c-crasher", "0.1.0",
    "{\"type\":\"object\",\"properties\":{\"mode\":{\"enum\":[\"none\",\"segfault\",\"abort\",\"hang\",\"oom\",\"fork-segfault\",\"fork-forever\",\"fork-hang\"]},"
    "\"marker\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"}},\"additionalProperties\":false}",
    "json", &crasher_vtable, "a sink that crashes, aborts, hangs or exhausts memory on marked events (isolation tests)");
