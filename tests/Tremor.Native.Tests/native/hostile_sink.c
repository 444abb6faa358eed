/*
 * hostile-sink: a sink that attacks the runtime the way a malicious or broken plugin could, for the isolation and
 * callback tests. config: mode = one of
 *   "garbage"      sink_batch writes text into every pipe it can write to (the plugin host's control channel)
 *   "big-region"   sink_batch writes a forged reply frame claiming a shared region of 1 TiB
 *   "short-region" sink_batch writes a forged reply frame claiming 64 MiB while the region file is smaller
 *   "shrink-region" sink_batch truncates the shared region file to one page; answers TREMOR_FAILED "shrink
 *                  refused: ..." when the system refused, TREMOR_ERROR "shrunk" when it did
 *   "late"         destroy returns without joining a thread that then calls log and ack 200 times
 *                  (path = a file the thread writes "done" into when it finished)
 *   "config-echo"  create logs the config JSON it received, byte for byte
 * Anything else: a well-behaved sink.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tremor_pdk.h"
#include "tremor_json_config.h"

typedef struct hostile {
    const tremor_host_api *host;
    char *mode;
    char *path;
    volatile int destroyed;
    pthread_t thread;
} hostile;

/* The plugin host's reply frame (host/tremor-plugin-host.c). */
typedef struct forged_frame {
    uint32_t type;
    int32_t status;
    uint32_t count;
    uint32_t len;
    uint64_t x;
} forged_frame;

static void write_to_pipes(const void *data, size_t len)
{
    int fd;
    for (fd = 3; fd < 64; fd++) {
        struct stat st;
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || (flags & O_ACCMODE) != O_WRONLY) continue;
        if (write(fd, data, len) < 0) {
            /* nothing to do */
        }
    }
}

/* The region's descriptor: the one whose link names the region (memfd or /dev/shm file). */
static int region_fd(void)
{
    int fd;
    for (fd = 3; fd < 64; fd++) {
        char link[64], target[256];
        ssize_t n;
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (strstr(target, "tremor-plugin-") != NULL) return fd;
    }
    return -1;
}

static void *late_caller(void *arg)
{
    hostile *h = (hostile *)arg;
    const tremor_host_api *host = h->host;
    uint64_t ids[2] = {1, 2};
    int i;
    FILE *f;
    while (!h->destroyed) usleep(1000);
    for (i = 0; i < 200; i++) {
        host->log(host->ctx, 2, "late log after destroy", 22);
        host->ack(host->ctx, ids, 2);
    }
    f = h->path != NULL ? fopen(h->path, "w") : NULL;
    if (f != NULL) {
        fputs("done", f);
        fclose(f);
    }
    return NULL;
}

static tremor_status TREMOR_PDK_CALL hostile_create(const tremor_create_args *args, void **out, tremor_err *err)
{
    hostile *h = (hostile *)calloc(1, sizeof(hostile));
    if (h == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    h->host = args->host;
    if (tjc_string(args->config_json, args->config_len, "mode", &h->mode) < 0 || tjc_string(args->config_json, args->config_len, "path", &h->path) < 0) {
        free(h);
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "mode and path: expected strings");
    }
    if (h->mode != NULL && strcmp(h->mode, "config-echo") == 0) h->host->log(h->host->ctx, 1, (const char *)args->config_json, args->config_len);
    if (h->mode != NULL && strcmp(h->mode, "late") == 0 && pthread_create(&h->thread, NULL, late_caller, h) != 0) {
        free(h);
        return tremor_err_set(err, TREMOR_ERROR, "pthread_create failed");
    }
    *out = h;
    return TREMOR_OK;
}

static void TREMOR_PDK_CALL hostile_destroy(void *instance)
{
    hostile *h = (hostile *)instance;
    if (h->mode != NULL && strcmp(h->mode, "late") == 0) {
        /* Breaks the contract on purpose: the thread is not joined, and h stays allocated for it. */
        pthread_detach(h->thread);
        h->destroyed = 1;
        return;
    }
    free(h->mode);
    free(h->path);
    free(h);
}

static tremor_status TREMOR_PDK_CALL hostile_sink_batch(void *instance, const tremor_sink_batch *batch, tremor_err *err)
{
    hostile *h = (hostile *)instance;
    forged_frame f;
    (void)batch;
    (void)err;
    memset(&f, 0, sizeof f);
    f.type = 3;
    if (h->mode == NULL) return TREMOR_OK;
    if (strcmp(h->mode, "garbage") == 0) {
        static const char text[] = "hello from the plugin, this is not a frame at all\n";
        write_to_pipes(text, sizeof text - 1);
    } else if (strcmp(h->mode, "big-region") == 0) {
        f.x = (uint64_t)1 << 40;
        write_to_pipes(&f, sizeof f);
    } else if (strcmp(h->mode, "shrink-region") == 0) {
        int fd = region_fd();
        if (fd < 0) return tremor_err_set(err, TREMOR_ERROR, "no region descriptor found");
        if (ftruncate(fd, 4096) == 0) return tremor_err_set(err, TREMOR_ERROR, "shrunk");
        return tremor_err_set(err, TREMOR_FAILED, "shrink refused: %s", strerror(errno));
    } else if (strcmp(h->mode, "short-region") == 0) {
        f.x = (uint64_t)64 << 20;
        write_to_pipes(&f, sizeof f);
    }
    return TREMOR_OK;
}

static const tremor_layout_entry hostile_layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};
static const tremor_plugin_vtable hostile_vtable = TREMOR_PDK_VTABLE_INIT(hostile_create, hostile_destroy, NULL, NULL, NULL, hostile_sink_batch, NULL);

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = TREMOR_PDK_DESCRIPTOR_INIT(
    hostile_layout, TREMOR_KIND_SINK, 0u, "hostile-sink", "0.1.0", "{\"type\":\"object\"}", "json", &hostile_vtable,
    "a sink that attacks the runtime, for tests");
