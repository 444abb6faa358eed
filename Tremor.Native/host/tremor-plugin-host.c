/*
 * tremor-plugin-host: runs ONE native plugin instance in its own process (isolation = process).
 *
 *   tremor-plugin-host <plugin.so> <shared-region-file> <address-space-limit-bytes, 0 = none> [max-region-bytes]
 *
 * Started by Tremor.Native (Isolation/PluginHostProcess.cs) with a scrubbed environment. Control messages travel
 * over stdin (requests) and stdout (replies, logs); both are moved to private descriptors at start and the plugin's
 * stdout goes to stderr, so a plugin's printf cannot corrupt the protocol. Batches travel through the shared region
 * (a memfd the parent sealed against shrinking, opened here through /proc/<parent>/fd/<n>; or a /dev/shm file the
 * parent unlinks after the handshake): the parent copies a sink batch into it once, the host copies a pull's slices
 * into it once.
 *
 * Handshake: the host checks the plugin exactly like the in-process loader (magic, abi major/minor, sizes, layout
 * table, name, version, kinds, vtable) before calling any plugin function, then writes READY or REFUSED with the
 * one-line refusal. On a fatal signal it writes a DIED frame (signal, address-space size) before dying, so the
 * parent can tell an exhausted memory-limit from a plain crash.
 *
 * The host leads its own process group (setpgid at start, before any plugin code runs): the parent watches the
 * host process itself (pidfd), not the pipe, so a child the plugin forked and that keeps the pipe open cannot hide
 * the host's death, and the parent kills the whole group on restart and stop.
 *
 * Every frame: a fixed header (see the structs below, mirrored in PluginHostProtocol.cs), then `len` payload bytes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "tremor_pdk.h"

#define PROTOCOL_VERSION 1u

/* Requests (parent -> host). */
#define OP_CREATE 1u    /* arg = kinds; payload = u32 config_len, config, alias */
#define OP_CONNECT 2u   /* arg = attempt */
#define OP_SINK 3u      /* arg = count; a = bytes offset, b = bytes_len, c = batch id; slices at region offset 0 */
#define OP_PULL 4u      /* arg = capacity; a = max_wait_ns */
#define OP_LIFECYCLE 5u /* arg = event */
#define OP_DESTROY 6u

/* Frames (host -> parent). */
#define FRAME_READY 1u
#define FRAME_REFUSED 2u
#define FRAME_REPLY 3u    /* status, count; x = region size; payload = error message */
#define FRAME_LOG 4u      /* status = level; payload = message */
#define FRAME_DIED 5u     /* status = signal; x = address-space size in bytes */
#define FRAME_ACK 6u      /* payload = ids */
#define FRAME_FAIL 7u     /* count = ids; payload = ids, reason */
#define FRAME_SHUTDOWN 8u /* status = exit code; payload = reason */
#define FRAME_ROOM 9u     /* host->sink_has_room (1.2): the sink takes batches again */

typedef struct request {
    uint32_t op;
    uint32_t arg;
    uint32_t len;
    uint32_t reserved;
    uint64_t region_size;
    uint64_t a;
    uint64_t b;
    uint64_t c;
} request;

typedef struct frame {
    uint32_t type;
    int32_t status;
    uint32_t count;
    uint32_t len;
    uint64_t x;
} frame;

/* A pulled slice as stored in the region: offsets instead of pointers. */
typedef struct region_slice {
    uint64_t offset;
    uint64_t len;
    uint64_t stream_id;
    uint64_t ingest_ns;
    uint64_t meta_offset;
    uint64_t meta_len;
    uint32_t flags;
    uint32_t reserved;
} region_slice;

#define ERR_CAP 4096

static int g_in = -1;
static int g_out = -1;
static pthread_mutex_t g_out_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_region_fd = -1;
static uint8_t *g_region;
static size_t g_region_size;
static uint64_t g_region_max = (uint64_t)1 << 30; /* max-region-size: this side never grows the region beyond it */
static const char *g_path;
static char g_err_buffer[ERR_CAP];

/* ---------------------------------------------------------------- I/O */

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *data, size_t len)
{
    uint8_t *p = (uint8_t *)data;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Frames may come from plugin threads (log, ack) while a reply is written: one lock for whole frames. */
static void send_frame2(uint32_t type, int32_t status, uint32_t count, uint64_t x, const void *p1, size_t l1, const void *p2, size_t l2)
{
    frame f;
    f.type = type;
    f.status = status;
    f.count = count;
    f.len = (uint32_t)(l1 + l2);
    f.x = x;
    pthread_mutex_lock(&g_out_lock);
    if (write_all(g_out, &f, sizeof f) != 0 || (l1 > 0 && write_all(g_out, p1, l1) != 0) || (l2 > 0 && write_all(g_out, p2, l2) != 0)) {
        /* The parent is gone: nothing left to serve. */
        _exit(3);
    }
    pthread_mutex_unlock(&g_out_lock);
}

static void send_frame(uint32_t type, int32_t status, uint32_t count, uint64_t x, const void *payload, size_t len)
{
    send_frame2(type, status, count, x, payload, len, NULL, 0);
}

/* ---------------------------------------------------------------- fatal signals */

static char g_signal_stack[64 * 1024];

/* The address-space size from /proc/self/status, with syscalls only (async-signal-safe). */
static uint64_t vm_size_bytes(void)
{
    static char text[4096];
    uint64_t kb = 0;
    ssize_t n;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    char *p;
    if (fd < 0) return 0;
    n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return 0;
    text[n] = '\0';
    p = strstr(text, "VmSize:");
    if (p == NULL) return 0;
    p += 7;
    while (*p == ' ' || *p == '\t') p++;
    while (*p >= '0' && *p <= '9') kb = kb * 10 + (uint64_t)(*p++ - '0');
    return kb * 1024;
}

static void on_fatal_signal(int sig)
{
    /* No lock: the thread that crashed may hold it. A torn frame only costs the parent the memory hint. */
    frame f;
    memset(&f, 0, sizeof f);
    f.type = FRAME_DIED;
    f.status = sig;
    f.x = vm_size_bytes();
    if (write(g_out, &f, sizeof f) < 0) {
        /* nothing to do: we are dying anyway */
    }
    /* SA_RESETHAND restored the default action: returning re-runs the fault (or abort raises again). */
}

static void install_signal_handlers(void)
{
    static const int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    stack_t ss;
    struct sigaction sa;
    size_t i;
    ss.ss_sp = g_signal_stack;
    ss.ss_size = sizeof g_signal_stack;
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof signals / sizeof signals[0]; i++) sigaction(signals[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---------------------------------------------------------------- orphan guard */

static pid_t g_parent;

/* A plugin stuck in a call never reads the closed channel: if the runtime dies, leave anyway. (Not
 * PR_SET_PDEATHSIG: it fires when the forking *thread* exits, and .NET forks from pool threads that retire.) */
static void *orphan_guard(void *arg)
{
    struct timespec second;
    (void)arg;
    second.tv_sec = 1;
    second.tv_nsec = 0;
    for (;;) {
        nanosleep(&second, NULL);
        if (getppid() != g_parent) {
            kill(0, SIGKILL); /* the whole group: what the plugin forked goes too */
            _exit(9);
        }
    }
    return NULL;
}

static void start_orphan_guard(void)
{
    pthread_attr_t attr;
    pthread_t thread;
    g_parent = getppid();
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024); /* counts against memory-limit: keep it small */
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&thread, &attr, orphan_guard, NULL);
    pthread_attr_destroy(&attr);
}

/* ---------------------------------------------------------------- descriptors */

/* Closes everything the host did not open itself, then moves the control channel off stdin/stdout. */
static void setup_descriptors(void)
{
    struct rlimit rl;
    int max = 1024, fd, devnull;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) max = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
    for (fd = 3; fd < max; fd++) close(fd);
    g_in = fcntl(0, F_DUPFD_CLOEXEC, 3);
    g_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
    devnull = open("/dev/null", O_RDONLY);
    if (g_in < 0 || g_out < 0 || devnull < 0) _exit(4);
    dup2(devnull, 0);
    close(devnull);
    dup2(2, 1);
}

/* ---------------------------------------------------------------- the shared region */

static int map_region(size_t size)
{
    void *p;
    if (size == g_region_size && g_region != NULL) return 0;
    if (g_region != NULL) munmap(g_region, g_region_size);
    g_region = NULL;
    g_region_size = 0;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g_region_fd, 0);
    if (p == MAP_FAILED) return -1;
    g_region = (uint8_t *)p;
    g_region_size = size;
    return 0;
}

static int grow_region(size_t needed)
{
    size_t size = g_region_size;
    if (needed > g_region_max) return -1;
    while (size < needed) size *= 2;
    size = (size + 4095) & ~(size_t)4095;
    if (size > g_region_max) size = (size_t)g_region_max;
    if (ftruncate(g_region_fd, (off_t)size) != 0) return -1;
    return map_region(size);
}

/* ---------------------------------------------------------------- checks (mirror Loading/DescriptorChecks.cs) */

typedef struct host_row {
    uint32_t sid, mid, offset, size;
    int minor;
    const char *sname;
    const char *mname;
} host_row;

#define ROW_S0(sid, T) {(sid), 0u, 0u, (uint32_t)sizeof(T), 0, #T, NULL},
#define ROW_M0(sid, T, mid, m) {(sid), (mid), (uint32_t)offsetof(T, m), (uint32_t)sizeof(((T *)0)->m), 0, #T, #m},
#define ROW_S1(sid, T) {(sid), 0u, 0u, (uint32_t)sizeof(T), 1, #T, NULL},
#define ROW_M1(sid, T, mid, m) {(sid), (mid), (uint32_t)offsetof(T, m), (uint32_t)sizeof(((T *)0)->m), 1, #T, #m},
#define ROW_S2(sid, T) {(sid), 0u, 0u, (uint32_t)sizeof(T), 2, #T, NULL},
#define ROW_M2(sid, T, mid, m) {(sid), (mid), (uint32_t)offsetof(T, m), (uint32_t)sizeof(((T *)0)->m), 2, #T, #m},
static const host_row g_rows[] = {TREMOR_PDK_LAYOUT_V1_0(ROW_S0, ROW_M0) TREMOR_PDK_LAYOUT_V1_1(ROW_S1, ROW_M1)
                                      TREMOR_PDK_LAYOUT_V1_2(ROW_S2, ROW_M2)};
#define ROW_COUNT (sizeof g_rows / sizeof g_rows[0])

static const char *struct_name(uint32_t sid)
{
    size_t i;
    for (i = 0; i < ROW_COUNT; i++)
        if (g_rows[i].sid == sid) return g_rows[i].sname;
    return "unknown struct";
}

static int size_prefixed(uint32_t sid) { return sid >= TREMOR_STRUCT_HOST_API && sid <= TREMOR_STRUCT_DESCRIPTOR; }

static uint32_t minimum_size(uint32_t sid, int minor)
{
    uint32_t end = 0;
    size_t i;
    if (!size_prefixed(sid)) {
        for (i = 0; i < ROW_COUNT; i++)
            if (g_rows[i].sid == sid && g_rows[i].mid == 0) return g_rows[i].size;
    }
    for (i = 0; i < ROW_COUNT; i++) {
        const host_row *r = &g_rows[i];
        if (r->sid == sid && r->mid != 0 && r->minor <= minor && r->offset + r->size > end) end = r->offset + r->size;
    }
    return (end + 7u) & ~7u;
}

static char g_refusal[1024];

static int refuse(const char *field, const char *expected, const char *found)
{
    snprintf(g_refusal, sizeof g_refusal, "%s: %s: expected %s, found %s", g_path, field, expected, found);
    return -1;
}

static int is_semver(const char *v)
{
    int part, digits;
    for (part = 0; part < 3; part++) {
        digits = 0;
        if (*v == '0' && v[1] >= '0' && v[1] <= '9') return 0;
        while (*v >= '0' && *v <= '9') { v++; digits++; }
        if (digits == 0) return 0;
        if (part < 2) {
            if (*v != '.') return 0;
            v++;
        }
    }
    if (*v == '-') {
        v++;
        if (*v == '\0' || *v == '+') return 0;
        while ((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || *v == '.' || *v == '-') v++;
    }
    if (*v == '+') {
        v++;
        if (*v == '\0') return 0;
        while ((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || *v == '.' || *v == '-') v++;
    }
    return *v == '\0';
}

static int check_layout(const tremor_plugin_descriptor *d, int minor)
{
    char field[160], expected[96], found[96];
    size_t i;
    uint32_t j, k;
    if (d->layout == NULL || d->layout_count == 0 || d->layout_count > 4096) {
        snprintf(found, sizeof found, d->layout == NULL ? "null" : "%u rows", d->layout_count);
        return refuse("descriptor.layout", "a layout table (TREMOR_PDK_LAYOUT_ENTRIES)", found);
    }
    for (j = 0; j < d->layout_count; j++) {
        for (k = 0; k < j; k++) {
            if (d->layout[k].struct_id == d->layout[j].struct_id && d->layout[k].member_id == d->layout[j].member_id) {
                if (d->layout[j].member_id == 0) snprintf(field, sizeof field, "layout sizeof(%s)", struct_name(d->layout[j].struct_id));
                else snprintf(field, sizeof field, "layout %s member #%u", struct_name(d->layout[j].struct_id), d->layout[j].member_id);
                return refuse(field, "one row", "two rows");
            }
        }
    }
    for (i = 0; i < ROW_COUNT; i++) {
        const host_row *r = &g_rows[i];
        const tremor_layout_entry *row = NULL;
        if (r->minor > minor) continue;
        for (j = 0; j < d->layout_count; j++) {
            if (d->layout[j].struct_id == r->sid && d->layout[j].member_id == r->mid) {
                row = &d->layout[j];
                break;
            }
        }
        if (r->mid == 0) snprintf(field, sizeof field, "layout sizeof(%s)", r->sname);
        else snprintf(field, sizeof field, "layout %s.%s", r->sname, r->mname);
        if (row == NULL) {
            if (r->mid == 0) snprintf(expected, sizeof expected, "%u", r->size);
            else snprintf(expected, sizeof expected, "offset %u size %u", r->offset, r->size);
            return refuse(field, expected, "no row");
        }
        if (r->mid == 0) {
            if (size_prefixed(r->sid)) {
                uint32_t min = minimum_size(r->sid, minor);
                if (row->size < min) {
                    snprintf(expected, sizeof expected, "at least %u (abi %d.%d)", min, TREMOR_PDK_ABI_MAJOR, minor);
                    snprintf(found, sizeof found, "%u", row->size);
                    return refuse(field, expected, found);
                }
            } else if (row->size != r->size) {
                snprintf(expected, sizeof expected, "%u", r->size);
                snprintf(found, sizeof found, "%u", row->size);
                return refuse(field, expected, found);
            }
        } else if (row->offset != r->offset || row->size != r->size) {
            snprintf(expected, sizeof expected, "offset %u size %u", r->offset, r->size);
            snprintf(found, sizeof found, "offset %u size %u", row->offset, row->size);
            return refuse(field, expected, found);
        }
    }
    return 0;
}

static tremor_plugin_vtable g_vt;
static tremor_plugin_descriptor g_desc;

static int check_plugin(void *handle)
{
    const uint8_t *symbol = (const uint8_t *)dlsym(handle, "tremor_pdk_plugin_v1");
    char expected[96], found[96];
    uint64_t magic;
    uint32_t size, min;
    uint16_t major, minor;
    if (symbol == NULL) return refuse("symbol tremor_pdk_plugin_v1", "an exported descriptor", "none");
    memcpy(&magic, symbol, 8);
    memcpy(&size, symbol + 8, 4);
    memcpy(&major, symbol + 12, 2);
    memcpy(&minor, symbol + 14, 2);
    if (magic != TREMOR_PDK_MAGIC) {
        snprintf(expected, sizeof expected, "0x%016llX", (unsigned long long)TREMOR_PDK_MAGIC);
        snprintf(found, sizeof found, "0x%016llX", (unsigned long long)magic);
        return refuse("descriptor.magic", expected, found);
    }
    if (major != TREMOR_PDK_ABI_MAJOR) {
        snprintf(expected, sizeof expected, "%d", TREMOR_PDK_ABI_MAJOR);
        snprintf(found, sizeof found, "%u", major);
        return refuse("descriptor.abi_major", expected, found);
    }
    if (minor > TREMOR_PDK_ABI_MINOR) {
        snprintf(expected, sizeof expected, "at most %d (the host's)", TREMOR_PDK_ABI_MINOR);
        snprintf(found, sizeof found, "%u", minor);
        return refuse("descriptor.abi_minor", expected, found);
    }
    min = minimum_size(TREMOR_STRUCT_DESCRIPTOR, minor);
    if (size < min) {
        snprintf(expected, sizeof expected, "at least %u (abi %d.%u)", min, TREMOR_PDK_ABI_MAJOR, minor);
        snprintf(found, sizeof found, "%u", size);
        return refuse("descriptor.size", expected, found);
    }
    memset(&g_desc, 0, sizeof g_desc);
    memcpy(&g_desc, symbol, size < sizeof g_desc ? size : sizeof g_desc);
    if (check_layout(&g_desc, minor) != 0) return -1;
    if (g_desc.name == NULL || g_desc.name[0] == '\0') {
        return refuse("descriptor.name", "a non-empty name", g_desc.name == NULL ? "null" : "an empty string");
    }
    if (g_desc.version == NULL || !is_semver(g_desc.version)) {
        if (g_desc.version == NULL) snprintf(found, sizeof found, "null");
        else snprintf(found, sizeof found, "\"%.80s\"", g_desc.version);
        return refuse("descriptor.version", "a semantic version MAJOR.MINOR.PATCH", found);
    }
    if (g_desc.kinds == 0 || (g_desc.kinds & ~(TREMOR_KIND_SOURCE | TREMOR_KIND_SINK)) != 0) {
        snprintf(found, sizeof found, "%u", g_desc.kinds);
        return refuse("descriptor.kinds", "source (1), sink (2) or both (3)", found);
    }
    if (g_desc.vtable == NULL) return refuse("descriptor.vtable", "a vtable", "null");
    min = minimum_size(TREMOR_STRUCT_VTABLE, minor);
    if (g_desc.vtable->size < min) {
        snprintf(expected, sizeof expected, "at least %u (abi %d.%u)", min, TREMOR_PDK_ABI_MAJOR, minor);
        snprintf(found, sizeof found, "%u", g_desc.vtable->size);
        return refuse("vtable.size", expected, found);
    }
    memset(&g_vt, 0, sizeof g_vt);
    memcpy(&g_vt, g_desc.vtable, g_desc.vtable->size < sizeof g_vt ? g_desc.vtable->size : sizeof g_vt);
    if (g_vt.create == NULL) return refuse("vtable.create", "a function", "null");
    if (g_vt.destroy == NULL) return refuse("vtable.destroy", "a function", "null");
    if ((g_desc.kinds & TREMOR_KIND_SOURCE) != 0) {
        if (g_vt.pull == NULL) return refuse("vtable.pull", "a function (the plugin is a source)", "null");
        if (g_vt.release == NULL) return refuse("vtable.release", "a function (the plugin is a source)", "null");
    }
    if ((g_desc.kinds & TREMOR_KIND_SINK) != 0 && g_vt.sink_batch == NULL) {
        return refuse("vtable.sink_batch", "a function (the plugin is a sink)", "null");
    }
    return 0;
}

/* ---------------------------------------------------------------- host API (forwarded to the parent) */

static void TREMOR_PDK_CALL host_log(void *ctx, int32_t level, const char *msg, size_t len)
{
    (void)ctx;
    send_frame(FRAME_LOG, level, 0, 0, msg, msg == NULL ? 0 : len);
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static uint64_t TREMOR_PDK_CALL host_monotonic_ns(void *ctx)
{
    (void)ctx;
    return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t TREMOR_PDK_CALL host_wall_ns(void *ctx)
{
    (void)ctx;
    return clock_ns(CLOCK_REALTIME);
}

static void TREMOR_PDK_CALL host_ack(void *ctx, const uint64_t *ids, size_t count)
{
    (void)ctx;
    if (ids != NULL && count > 0) send_frame(FRAME_ACK, 0, (uint32_t)count, 0, ids, count * sizeof(uint64_t));
}

static void TREMOR_PDK_CALL host_fail(void *ctx, const uint64_t *ids, size_t count, const char *reason, size_t reason_len)
{
    (void)ctx;
    if (ids != NULL && count > 0) {
        send_frame2(FRAME_FAIL, 0, (uint32_t)count, 0, ids, count * sizeof(uint64_t), reason, reason == NULL ? 0 : reason_len);
    }
}

static void TREMOR_PDK_CALL host_request_shutdown(void *ctx, int32_t code, const char *reason, size_t reason_len)
{
    (void)ctx;
    send_frame(FRAME_SHUTDOWN, code, 0, 0, reason, reason == NULL ? 0 : reason_len);
}

static void TREMOR_PDK_CALL host_sink_has_room(void *ctx)
{
    (void)ctx;
    send_frame(FRAME_ROOM, 0, 0, 0, NULL, 0);
}

static const tremor_host_api g_host_api = {(uint32_t)sizeof(tremor_host_api), TREMOR_PDK_ABI_MINOR, NULL, host_log,
                                           host_monotonic_ns, host_wall_ns, host_ack, host_fail, host_request_shutdown,
                                           host_sink_has_room};

/* ---------------------------------------------------------------- serving calls */

static void *g_instance;
static uint8_t *g_payload;
static size_t g_payload_cap;
static tremor_source_slice *g_pull_slices;
static uint32_t g_pull_cap;

static tremor_err new_err(void)
{
    tremor_err e;
    e.ptr = g_err_buffer;
    e.cap = ERR_CAP;
    e.len = 0;
    return e;
}

static void reply(tremor_status status, uint32_t count, const tremor_err *err)
{
    size_t len = err != NULL && err->len > 0 ? (err->len < ERR_CAP ? err->len : ERR_CAP) : 0;
    send_frame(FRAME_REPLY, status, count, g_region_size, g_err_buffer, len);
}

static void reply_text(tremor_status status, const char *text)
{
    send_frame(FRAME_REPLY, status, 0, g_region_size, text, strlen(text));
}

static void serve_create(const request *rq)
{
    tremor_create_args args;
    tremor_err err = new_err();
    uint32_t config_len;
    tremor_status status;
    void *instance = NULL;
    if (rq->len < 4) {
        reply_text(TREMOR_ERROR, "malformed create request");
        return;
    }
    memcpy(&config_len, g_payload, 4);
    if ((size_t)config_len + 4 > rq->len) {
        reply_text(TREMOR_ERROR, "malformed create request");
        return;
    }
    memset(&args, 0, sizeof args);
    args.size = (uint32_t)sizeof args;
    args.kinds = rq->arg;
    args.host = &g_host_api;
    args.config_json = g_payload + 4;
    args.config_len = config_len;
    args.alias = g_payload + 4 + config_len;
    args.alias_len = rq->len - 4 - config_len;
    status = g_vt.create(&args, &instance, &err);
    if (status >= 0 && instance == NULL) {
        reply_text(TREMOR_ERROR, "create: returned TREMOR_OK but no instance");
        return;
    }
    if (status >= 0) g_instance = instance;
    reply(status, 0, &err);
}

static void serve_sink(const request *rq)
{
    tremor_sink_batch batch;
    tremor_sink_slice *slices = (tremor_sink_slice *)g_region;
    tremor_err err = new_err();
    uint32_t i;
    /* Overflow-safe: no a + b that could wrap. */
    if ((uint64_t)rq->arg * sizeof(tremor_sink_slice) > g_region_size || rq->b > g_region_size || rq->a > g_region_size - rq->b) {
        reply_text(TREMOR_ERROR, "sink batch does not fit the shared region");
        return;
    }
    /* The parent wrote offsets into the region: turn them into pointers in place. */
    for (i = 0; i < rq->arg; i++) {
        uintptr_t offset = (uintptr_t)slices[i].data;
        if (slices[i].len > g_region_size || offset > g_region_size - slices[i].len) {
            snprintf(g_err_buffer, ERR_CAP, "sink batch: slice %u lies outside the shared region", i);
            reply_text(TREMOR_ERROR, g_err_buffer);
            return;
        }
        slices[i].data = g_region + offset;
    }
    batch.size = (uint32_t)sizeof batch;
    batch.count = rq->arg;
    batch.slices = slices;
    batch.bytes = g_region + rq->a;
    batch.bytes_len = (size_t)rq->b;
    batch.batch_id = rq->c;
    reply(g_vt.sink_batch(g_instance, &batch, &err), 0, &err);
}

static void serve_pull(const request *rq)
{
    tremor_pull pull;
    tremor_err err = new_err();
    tremor_status status;
    uint32_t i, count;
    size_t needed, offset;
    if (rq->arg > g_pull_cap) {
        free(g_pull_slices);
        g_pull_slices = (tremor_source_slice *)calloc(rq->arg, sizeof(tremor_source_slice));
        g_pull_cap = g_pull_slices == NULL ? 0 : rq->arg;
        if (g_pull_slices == NULL) {
            reply_text(TREMOR_ERROR, "plugin host: out of memory for pull slices");
            return;
        }
    }
    memset(&pull, 0, sizeof pull);
    pull.size = (uint32_t)sizeof pull;
    pull.capacity = rq->arg;
    pull.slices = g_pull_slices;
    pull.max_wait_ns = rq->a;
    status = g_vt.pull(g_instance, &pull, &err);
    if (status < 0) {
        reply(status, 0, &err);
        return;
    }
    count = pull.count;
    if (count > rq->arg) {
        snprintf(g_err_buffer, ERR_CAP, "pull: filled %u slices, the capacity was %u", count, rq->arg);
        reply_text(TREMOR_ERROR, g_err_buffer);
        return;
    }
    if (count == 0) {
        reply(status, 0, NULL);
        return;
    }
    needed = (size_t)count * sizeof(region_slice);
    for (i = 0; i < count; i++) {
        size_t len = (g_pull_slices[i].flags & TREMOR_SLICE_STREAM_END) == 0 ? g_pull_slices[i].len : 0;
        size_t meta = g_pull_slices[i].meta != NULL ? g_pull_slices[i].meta_len : 0;
        /* Saturate instead of wrapping: a plugin reporting absurd lengths gets the max-region-size error. */
        needed = len > SIZE_MAX - needed ? SIZE_MAX : needed + len;
        needed = meta > SIZE_MAX - needed ? SIZE_MAX : needed + meta;
    }
    if (needed > g_region_max) {
        snprintf(g_err_buffer, ERR_CAP, "pull: the slices need %zu bytes of shared region, more than max-region-size %llu (raise max-region-size or pull fewer bytes)",
                 needed, (unsigned long long)g_region_max);
        reply_text(TREMOR_ERROR, g_err_buffer);
        return;
    }
    if (needed > g_region_size && grow_region(needed) != 0) {
        reply_text(TREMOR_ERROR, "plugin host: cannot grow the shared region");
        return;
    }
    /* The one copy of a pull: plugin memory -> shared region. */
    offset = (size_t)count * sizeof(region_slice);
    for (i = 0; i < count; i++) {
        const tremor_source_slice *s = &g_pull_slices[i];
        region_slice r;
        memset(&r, 0, sizeof r);
        r.stream_id = s->stream_id;
        r.ingest_ns = s->ingest_ns;
        r.flags = s->flags;
        if ((s->flags & TREMOR_SLICE_STREAM_END) == 0) {
            if (s->len > 0 && s->data == NULL) {
                snprintf(g_err_buffer, ERR_CAP, "pull: slice %u has length %zu and no data", i, s->len);
                reply_text(TREMOR_ERROR, g_err_buffer);
                return;
            }
            r.offset = offset;
            r.len = s->len;
            if (s->len > 0) memcpy(g_region + offset, s->data, s->len);
            offset += s->len;
        }
        if (s->meta != NULL && s->meta_len > 0) {
            r.meta_offset = offset;
            r.meta_len = s->meta_len;
            memcpy(g_region + offset, s->meta, s->meta_len);
            offset += s->meta_len;
        }
        memcpy(g_region + (size_t)i * sizeof(region_slice), &r, sizeof r);
    }
    {
        tremor_err rerr = new_err();
        tremor_status released = g_vt.release(g_instance, &rerr);
        if (released < 0) {
            reply(released, 0, &rerr);
            return;
        }
    }
    reply(status, count, &err);
}

int main(int argc, char **argv)
{
    void *handle;
    unsigned long long limit;
    char ready[160];
    request rq;

    /* Its own process group before any plugin code runs: the parent kills the whole group, forks included. */
    setpgid(0, 0);
    setup_descriptors();
    install_signal_handlers();
    start_orphan_guard();
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: tremor-plugin-host <plugin.so> <shared-region-file> <address-space-limit-bytes> [max-region-bytes]\n");
        return 2;
    }
    g_path = argv[1];
    limit = strtoull(argv[3], NULL, 10);
    if (argc == 5 && strtoull(argv[4], NULL, 10) > 0) g_region_max = strtoull(argv[4], NULL, 10);
    if (limit > 0) {
        struct rlimit rl;
        rl.rlim_cur = (rlim_t)limit;
        rl.rlim_max = (rlim_t)limit;
        if (setrlimit(RLIMIT_AS, &rl) != 0) {
            snprintf(g_refusal, sizeof g_refusal, "%s: memory-limit: setrlimit(RLIMIT_AS, %llu) failed: %s", g_path, limit, strerror(errno));
            send_frame(FRAME_REFUSED, 0, 0, 0, g_refusal, strlen(g_refusal));
            return 5;
        }
    }

    g_region_fd = open(argv[2], O_RDWR | O_CLOEXEC);
    if (g_region_fd < 0) {
        snprintf(g_refusal, sizeof g_refusal, "%s: shared region %s: %s", g_path, argv[2], strerror(errno));
        send_frame(FRAME_REFUSED, 0, 0, 0, g_refusal, strlen(g_refusal));
        return 5;
    }
    {
        struct stat st;
        if (fstat(g_region_fd, &st) != 0 || st.st_size <= 0 || map_region((size_t)st.st_size) != 0) {
            snprintf(g_refusal, sizeof g_refusal, "%s: shared region %s: cannot map", g_path, argv[2]);
            send_frame(FRAME_REFUSED, 0, 0, 0, g_refusal, strlen(g_refusal));
            return 5;
        }
    }

    handle = dlopen(g_path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *e = dlerror();
        char one_line[600];
        size_t i;
        snprintf(one_line, sizeof one_line, "%s", e == NULL ? "unknown error" : e);
        for (i = 0; one_line[i] != '\0'; i++)
            if (one_line[i] == '\n') one_line[i] = ' ';
        refuse("dlopen", "a loadable library", one_line);
        send_frame(FRAME_REFUSED, 0, 0, 0, g_refusal, strlen(g_refusal));
        return 6;
    }
    if (check_plugin(handle) != 0) {
        send_frame(FRAME_REFUSED, 0, 0, 0, g_refusal, strlen(g_refusal));
        return 6;
    }
    snprintf(ready, sizeof ready, "protocol %u abi %d.%d plugin %s %s abi %u.%u checks passed", PROTOCOL_VERSION, TREMOR_PDK_ABI_MAJOR,
             TREMOR_PDK_ABI_MINOR, g_desc.name, g_desc.version, g_desc.abi_major, g_desc.abi_minor);
    send_frame(FRAME_READY, (int32_t)PROTOCOL_VERSION, 0, g_region_size, ready, strlen(ready));

    for (;;) {
        tremor_err err;
        if (read_all(g_in, &rq, sizeof rq) != 0) break; /* the parent closed the channel: destroy and leave */
        if (rq.len > g_payload_cap) {
            free(g_payload);
            g_payload = (uint8_t *)malloc(rq.len);
            g_payload_cap = g_payload == NULL ? 0 : rq.len;
            if (g_payload == NULL) _exit(7);
        }
        if (rq.len > 0 && read_all(g_in, g_payload, rq.len) != 0) break;
        if (rq.region_size != 0 && rq.region_size != g_region_size && (rq.region_size > g_region_max || map_region((size_t)rq.region_size) != 0)) {
            reply_text(TREMOR_ERROR, "plugin host: cannot map the grown shared region");
            continue;
        }
        err = new_err();
        if (rq.op != OP_CREATE && rq.op != OP_DESTROY && g_instance == NULL) {
            reply_text(TREMOR_ERROR, "plugin host: no instance (create first)");
            continue;
        }
        switch (rq.op) {
        case OP_CREATE:
            if (g_instance != NULL) reply_text(TREMOR_ERROR, "plugin host: an instance exists already");
            else serve_create(&rq);
            break;
        case OP_CONNECT:
            if (g_vt.connect == NULL) reply(TREMOR_OK, 0, NULL);
            else reply(g_vt.connect(g_instance, rq.arg, &err), 0, &err);
            break;
        case OP_SINK:
            serve_sink(&rq);
            break;
        case OP_PULL:
            serve_pull(&rq);
            break;
        case OP_LIFECYCLE:
#if TREMOR_PDK_ABI_MINOR >= 1
            if (g_desc.abi_minor >= 1 && g_vt.lifecycle != NULL) reply(g_vt.lifecycle(g_instance, rq.arg, &err), 0, &err);
            else
#endif
                reply(TREMOR_OK, 0, NULL);
            break;
        case OP_DESTROY:
            if (g_instance != NULL) g_vt.destroy(g_instance);
            g_instance = NULL;
            reply(TREMOR_OK, 0, NULL);
            return 0;
        default:
            reply_text(TREMOR_ERROR, "plugin host: unknown request");
            break;
        }
    }
    if (g_instance != NULL) g_vt.destroy(g_instance);
    return 0;
}
