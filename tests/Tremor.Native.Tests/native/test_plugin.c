/*
 * One sink plugin source, built by the tests once per -D switch:
 *   (none)              a well-formed sink that logs where its bytes are (the zero-copy probe)
 *   DEFECT_NO_SYMBOL    the entry symbol has another name
 *   DEFECT_MAGIC        wrong magic
 *   DEFECT_MAJOR        ABI major 2
 *   DEFECT_MINOR        ABI minor 99
 *   DEFECT_DESC_SIZE    descriptor.size below the minimum
 *   DEFECT_STRUCT_SIZE  the layout says sizeof(tremor_plugin_vtable) is 24
 *   DEFECT_LAYOUT       the layout says tremor_sink_slice.event_id is at offset 24
 *   DEFECT_EMPTY_NAME   name ""
 *   DEFECT_BAD_VERSION  version "1.x"
 *   DEFECT_NO_SINK      a sink without sink_batch
 * Hostile builds (each must be refused or contained without hurting the runtime):
 *   HOSTILE_CTOR_ABORT  a static constructor that calls abort()
 *   HOSTILE_CTOR_SEGV   a static constructor that writes through a null pointer
 *   HOSTILE_CTOR_HANG   a static constructor that never returns
 *   HOSTILE_NAME_POINTER  descriptor.name points to unmapped memory
 *   HOSTILE_NAME_SLASH, _DOTDOT, _SHELL, _NEWLINE, _ANSI  names that break paths, shells, lines and terminals
 *   HOSTILE_TWO_FACED   a well-formed descriptor while inspected; outside the inspector its constructor rewrites
 *                       the version (and so would be another plugin than the one checked)
 * PROBE_NAME, PROBE_VERSION and PROBE_CODEC (string literals) override the name, version and default codec.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef DEFECT_NO_SYMBOL
#define tremor_pdk_plugin_v1 tremor_pdk_plugin_v0
#endif
#include "tremor_pdk.h"

#if defined(HOSTILE_CTOR_ABORT) || defined(HOSTILE_CTOR_SEGV) || defined(HOSTILE_CTOR_HANG)
#include <unistd.h>
__attribute__((constructor)) static void hostile_constructor(void)
{
#if defined(HOSTILE_CTOR_ABORT)
    fputs("hostile constructor: aborting\n", stderr);
    abort();
#elif defined(HOSTILE_CTOR_SEGV)
    *(volatile int *)(uintptr_t)8 = 1;
#else
    for (;;) pause();
#endif
}
#endif

typedef struct probe {
    const tremor_host_api *host;
} probe;

static tremor_status TREMOR_PDK_CALL probe_create(const tremor_create_args *args, void **out, tremor_err *err)
{
    probe *p = (probe *)calloc(1, sizeof(probe));
    if (p == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    p->host = args->host;
    *out = p;
    return TREMOR_OK;
}

static void TREMOR_PDK_CALL probe_destroy(void *instance) { free(instance); }

#if defined(__GNUC__)
__attribute__((unused))
#endif
static tremor_status TREMOR_PDK_CALL probe_sink_batch(void *instance, const tremor_sink_batch *batch, tremor_err *err)
{
    probe *p = (probe *)instance;
    char line[256];
    uint32_t i;
    (void)err;
    snprintf(line, sizeof line, "bytes=%llu len=%llu count=%u", (unsigned long long)(uintptr_t)batch->bytes,
             (unsigned long long)batch->bytes_len, batch->count);
    tremor_log(p->host, TREMOR_LOG_DEBUG, line);
    for (i = 0; i < batch->count; i++) {
        snprintf(line, sizeof line, "slice=%llu len=%llu id=%llu", (unsigned long long)(uintptr_t)batch->slices[i].data,
                 (unsigned long long)batch->slices[i].len, (unsigned long long)batch->slices[i].event_id);
        tremor_log(p->host, TREMOR_LOG_DEBUG, line);
    }
    return TREMOR_OK;
}

#ifdef DEFECT_LAYOUT
#define ROW_MEMBER(sid, T, mid, m)                                                                                  \
    {(sid), (mid),                                                                                                 \
     (uint32_t)offsetof(T, m) + (((sid) == TREMOR_STRUCT_SINK_SLICE && (mid) == 3u) ? 8u : 0u),                    \
     (uint32_t)sizeof(((T *)0)->m)},
#else
#define ROW_MEMBER TREMOR_PDK_LAYOUT_MEMBER_ROW
#endif
#ifdef DEFECT_STRUCT_SIZE
#define ROW_SIZE(sid, T) {(sid), 0u, 0u, (sid) == TREMOR_STRUCT_VTABLE ? 24u : (uint32_t)sizeof(T)},
#else
#define ROW_SIZE TREMOR_PDK_LAYOUT_SIZE_ROW
#endif
static const tremor_layout_entry probe_layout[] = {TREMOR_PDK_LAYOUT_ALL(ROW_SIZE, ROW_MEMBER)};

#ifdef DEFECT_NO_SINK
#define SINK_ENTRY NULL
#else
#define SINK_ENTRY probe_sink_batch
#endif
static const tremor_plugin_vtable probe_vtable =
    TREMOR_PDK_VTABLE_INIT(probe_create, probe_destroy, NULL, NULL, NULL, SINK_ENTRY, NULL);

#if defined(DEFECT_EMPTY_NAME)
#define PROBE_NAME ""
#elif defined(HOSTILE_NAME_POINTER)
#define PROBE_NAME ((const char *)(uintptr_t)0x10)
#elif defined(HOSTILE_NAME_SLASH)
#define PROBE_NAME "a/b"
#elif defined(HOSTILE_NAME_DOTDOT)
#define PROBE_NAME "../up"
#elif defined(HOSTILE_NAME_SHELL)
#define PROBE_NAME "x;$(touch pwned)"
#elif defined(HOSTILE_NAME_NEWLINE)
#define PROBE_NAME "evil\nrefused: fake"
#elif defined(HOSTILE_NAME_ANSI)
#define PROBE_NAME "\x1b[31mred"
#elif !defined(PROBE_NAME)
#define PROBE_NAME "probe-sink"
#endif
#if defined(DEFECT_BAD_VERSION)
#define PROBE_VERSION "1.x"
#elif !defined(PROBE_VERSION)
#define PROBE_VERSION "0.1.0"
#endif
#if !defined(PROBE_CODEC)
#define PROBE_CODEC "json"
#endif

#ifdef HOSTILE_TWO_FACED
#include <string.h>
#include <sys/mman.h>
/* Runs after relocation: makes the (read-only) descriptor writable and rewrites it, unless inside the inspector. */
__attribute__((constructor)) static void two_faced(void)
{
    char comm[32] = {0};
    uintptr_t page = (uintptr_t)&tremor_pdk_plugin_v1 & ~(uintptr_t)4095;
    FILE *f = fopen("/proc/self/comm", "r");
    if (f != NULL) {
        if (fgets(comm, sizeof comm, f) == NULL) comm[0] = '\0';
        fclose(f);
    }
    if (strncmp(comm, "tremor-plugin-i", 15) == 0) return;
    if (mprotect((void *)page, 8192, PROT_READ | PROT_WRITE) == 0) {
        ((tremor_plugin_descriptor *volatile)&tremor_pdk_plugin_v1)->version = "6.6.6";
    }
}
#endif

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = {
#ifdef DEFECT_MAGIC
    UINT64_C(0x0123456789ABCDEF),
#else
    TREMOR_PDK_MAGIC,
#endif
#ifdef DEFECT_DESC_SIZE
    16u,
#else
    (uint32_t)sizeof(tremor_plugin_descriptor),
#endif
#ifdef DEFECT_MAJOR
    2,
#else
    TREMOR_PDK_ABI_MAJOR,
#endif
#ifdef DEFECT_MINOR
    99,
#else
    TREMOR_PDK_TARGET_MINOR,
#endif
    probe_layout, TREMOR_PDK_COUNT_OF(probe_layout), TREMOR_KIND_SINK, 0u, 0u, PROBE_NAME, PROBE_VERSION, "{}", PROBE_CODEC,
    &probe_vtable
#if TREMOR_PDK_TARGET_MINOR >= 1
    , "test probe sink"
#endif
};
