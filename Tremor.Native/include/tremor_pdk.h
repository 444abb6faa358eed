/*
 * tremor_pdk.h - the C ABI between Tremor.NET and native connector plugins.
 *
 * This header is the single source of truth for the ABI. The host's C# mirrors
 * (Tremor.Native/Abi.cs) are checked against it by a test that compiles this header.
 * Compiles as C99 and as C++17 with -Wall -Wextra -Werror.
 *
 * ---------------------------------------------------------------------------------
 * 1. How a plugin is found and checked
 * ---------------------------------------------------------------------------------
 * A plugin is a shared object that exports ONE data symbol, `tremor_pdk_plugin_v1`, a
 * const `tremor_plugin_descriptor`. The host reads the file (ELF shared object, not
 * truncated, same architecture), dlopens it, then checks the descriptor field by field
 * BEFORE it calls any plugin function: magic, ABI major (must equal), ABI minor (must
 * not be newer than the host's), descriptor and struct sizes (not below the minimum for
 * the plugin's minor), the layout table (offset and size of every member of every ABI
 * struct as the plugin's compiler saw them), name, semver, and the vtable entries the
 * plugin's kinds require.
 *
 * dlopen runs the library's static constructors: plugins MUST NOT do work in them (no
 * threads, no I/O, no allocation that matters). All work starts in `create`.
 *
 * ---------------------------------------------------------------------------------
 * 2. Versioning
 * ---------------------------------------------------------------------------------
 * - Major: any incompatible change. The host refuses another major.
 * - Minor: structs that start with `uint32_t size` (descriptor, vtable, host API, create
 *   args, sink batch, pull) only ever grow AT THE END. A plugin built against an older
 *   minor (smaller structs) still loads and works; the host reads only `size` bytes of
 *   what the plugin gives it, and a plugin must check `size` before reading a field of a
 *   host struct that is newer than the minor it was built against.
 * - Array element structs (tremor_sink_slice, tremor_source_slice, tremor_layout_entry)
 *   and tremor_err are frozen for a major: they never change within major 1.
 * - A plugin may build against an older minor of this header by defining
 *   TREMOR_PDK_TARGET_MINOR before including it; fields added later disappear.
 *
 *   1.0  first layout.
 *   1.1  descriptor.description, vtable.lifecycle.
 *   1.2  sink_batch may answer TREMOR_FULL; host_api.sink_has_room.
 *
 * A host refuses a plugin of a newer minor when it loads it, so a plugin may use what its
 * minor has; a plugin that also runs on older hosts checks host->abi_minor (or uses the
 * helpers below, which do) before it uses anything newer than 1.0.
 *
 * ---------------------------------------------------------------------------------
 * 3. Ownership
 * ---------------------------------------------------------------------------------
 * - What the host lends (config bytes, alias, sink batches and their bytes, the error
 *   buffer, the pull struct) is valid for the duration of the call only. The plugin never
 *   frees it and keeps no pointer into it after returning.
 * - What the plugin returns (source slice data and meta) stays owned by the plugin; it
 *   must stay valid and unchanged until the host calls `release` for that pull (the host
 *   always calls `release` before the next `pull` when the pull produced slices).
 * - The descriptor, the layout table, the vtable and every string the descriptor points
 *   to are static and live as long as the library is loaded.
 * - The host API table is valid from `create` until `destroy` returns.
 *
 * ---------------------------------------------------------------------------------
 * 4. Errors - no unwinding across the boundary
 * ---------------------------------------------------------------------------------
 * Every call returns a tremor_status. On a status < 0 the plugin writes a UTF-8 message
 * into the host's `tremor_err` buffer (at most `cap` bytes, sets `len`; no terminating
 * NUL needed). Nothing may unwind across the boundary: Rust plugins catch panics
 * (std::panic::catch_unwind) and return TREMOR_ERROR_PANIC, C++ plugins catch every
 * exception. An error status (< 0) means the instance is broken: the host destroys it
 * and its supervisor creates a new one.
 *
 * ---------------------------------------------------------------------------------
 * 5. Threading
 * ---------------------------------------------------------------------------------
 * - One instance is called by one thread at a time, not always the same thread.
 * - Calls never re-enter: while a plugin function runs, the host calls no other function
 *   of that instance. Different instances may be called concurrently from different
 *   threads, so global mutable state in a plugin needs its own locking.
 * - The plugin may call every host API function (log, monotonic_ns, wall_ns, ack, fail,
 *   request_shutdown) from any thread, including threads it started and including during
 *   a call from the host, from `create` returning until `destroy` returns.
 * - Host API functions never call back into the plugin.
 * - `destroy` joins every thread the plugin started and releases everything; after it
 *   returns the host may unload the library, so no plugin code may still be running.
 *   (A host API call that still arrives after `destroy` returned is ignored: the table
 *   stays readable and its `ctx` no longer names a live instance. That protects the
 *   runtime from the call, not the plugin from being unloaded under its thread.)
 *
 * ---------------------------------------------------------------------------------
 * 6. Lifecycle of an instance
 * ---------------------------------------------------------------------------------
 *   create -> connect (retried while it returns TREMOR_FAILED) -> pull / release and/or
 *   sink_batch, lifecycle events (1.1) -> destroy.
 *
 * ---------------------------------------------------------------------------------
 * 7. The config JSON (tremor_create_args.config_json)
 * ---------------------------------------------------------------------------------
 * The connector's HOCON `config { }` as one JSON object. Before `create`, the host
 * enforces `descriptor.config_schema`: `required`, `type` (a name or a list of names),
 * `properties`, `additionalProperties` (false, or a schema for the other keys), `items`
 * and `enum` (other keywords are ignored). A refused config never reaches `create`; the
 * error names the key path. HOCON's parser does not keep quotes, so a key's schema
 * `type` also decides what arrives:
 *
 *   HOCON value          no type in the schema        type in the schema
 *   text, "text"         "text"                       string: "text"
 *   true, "true"         true                         string: "true"; boolean: true
 *   on yes / off no      "on" (a string)              boolean: true / false
 *   42                   42                           string: "42"; integer, number: 42
 *   12345678901234567890 exact (i64, else u64)        string: the digits; integer: exact
 *   digits beyond u64    the digits as a string       integer: refused (out of range)
 *   1.5                  1.5 (shortest round trip)    string: "1.5"; integer: refused
 *   10s, 250ms, 1.5m     the text, "10s"              integer + "format":"duration":
 *                                                     nanoseconds, 10000000000
 *   64MiB, 4096, 1G      the text, "64MiB"            integer + "format":"size": bytes,
 *                                                     K/M/G/T = 1024^n, 67108864
 *   null                 null                         null
 *   [..] / { .. }        array / object               checked item by item (items,
 *                                                     properties)
 * Durations without a unit are milliseconds, as in HOCON. Integers are never routed
 * through a double: a plugin may parse them as int64_t / uint64_t exactly.
 */
#ifndef TREMOR_PDK_H
#define TREMOR_PDK_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TREMOR_PDK_ABI_MAJOR 1
#define TREMOR_PDK_ABI_MINOR 2

/* "TRMRPDK1" read as a little-endian uint64_t. */
#define TREMOR_PDK_MAGIC UINT64_C(0x314B4450524D5254)

/* The ABI minor this plugin is built against; defaults to the header's. */
#ifndef TREMOR_PDK_TARGET_MINOR
#define TREMOR_PDK_TARGET_MINOR TREMOR_PDK_ABI_MINOR
#endif
#if TREMOR_PDK_TARGET_MINOR > TREMOR_PDK_ABI_MINOR
#error "TREMOR_PDK_TARGET_MINOR is newer than this header"
#endif

#ifdef __cplusplus
#define TREMOR_PDK_EXTERN_C extern "C"
#else
#define TREMOR_PDK_EXTERN_C
#endif

#if defined(_WIN32)
#define TREMOR_PDK_EXPORT __declspec(dllexport)
#define TREMOR_PDK_CALL __cdecl
#else
#define TREMOR_PDK_EXPORT __attribute__((visibility("default")))
#define TREMOR_PDK_CALL
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------
 * Status codes. >= 0: the call did its job (the value says how); < 0: the instance
 * is broken, a message is in the error buffer.
 * --------------------------------------------------------------------------------- */
typedef int32_t tremor_status;

/** Done. */
#define TREMOR_OK 0
/** pull: nothing right now (the host pulls again after a short pause). */
#define TREMOR_EMPTY 1
/** pull: the source is exhausted; the slices returned with it are the last. */
#define TREMOR_FINISHED 2
/** sink_batch: the plugin acks or fails every event id later through host->ack / host->fail. */
#define TREMOR_PENDING 3
/** sink_batch: delivery of the whole batch failed (message = reason; the instance is fine).
 *  connect: not connected yet, the host retries with backoff (message = reason). */
#define TREMOR_FAILED 4
/** sink_batch (1.2): the plugin took NOTHING of the batch because a bound of its own is
 *  reached (a queue at its size limit) and will have room again (message = why). The host
 *  keeps the batch, opens the circuit breaker upstream (sources stop pulling, the plugin's
 *  own source side keeps being pulled), and offers the same batch again once the plugin
 *  calls host->sink_has_room, or after a backoff; the breaker closes when a batch is taken.
 *  Nothing is failed or dropped. Answer it only when host->abi_minor >= 2: an older host
 *  takes it for an unknown status (the instance is broken), and a plugin built for 1.0 or
 *  1.1 that answers it is broken on every host. */
#define TREMOR_FULL 5
/** The instance is broken; the host destroys and re-creates it. */
#define TREMOR_ERROR (-1)
/** create: the configuration is invalid (message names the key and what was expected). */
#define TREMOR_ERROR_CONFIG (-2)
/** A Rust panic or a C++ exception was caught at the boundary; the instance is poisoned. */
#define TREMOR_ERROR_PANIC (-3)

/* Connector kinds (descriptor.kinds, create_args.kinds). */
#define TREMOR_KIND_SOURCE 1u
#define TREMOR_KIND_SINK 2u

/* Descriptor flags. */
/** The sink answers TREMOR_PENDING and acks/fails event ids later through the host. */
#define TREMOR_FLAG_ASYNC_SINK 1u

/* Log levels (host->log). */
#define TREMOR_LOG_DEBUG 0
#define TREMOR_LOG_INFO 1
#define TREMOR_LOG_WARNING 2
#define TREMOR_LOG_ERROR 3

/* Source slice flags. */
/** The stream `stream_id` ended (connection closed, file done); data/len are ignored. */
#define TREMOR_SLICE_STREAM_END 1u

/* Lifecycle events (vtable.lifecycle, 1.1). */
#define TREMOR_LIFECYCLE_PAUSE 1u  /* the source should stop producing for now */
#define TREMOR_LIFECYCLE_RESUME 2u /* producing may go on */
#define TREMOR_LIFECYCLE_DRAIN 3u  /* no more pulls will come: flush what is buffered */
#define TREMOR_LIFECYCLE_STOP 4u   /* destroy follows */
#define TREMOR_LIFECYCLE_END 5u    /* the sink's upstream has no more events: flush */

/* ---------------------------------------------------------------------------------
 * Frozen structs (never change within a major)
 * --------------------------------------------------------------------------------- */

/** One row of the layout table: `member_id` 0 is the struct's sizeof (offset 0). */
typedef struct tremor_layout_entry {
    uint32_t struct_id;
    uint32_t member_id;
    uint32_t offset;
    uint32_t size;
} tremor_layout_entry;

/** The host's error buffer, lent for one call. The plugin writes at most `cap` bytes of UTF-8 to
 *  `ptr` and sets `len`. Use tremor_err_set. */
typedef struct tremor_err {
    char *ptr;
    size_t cap;
    size_t len;
} tremor_err;

/** One event handed to a sink: points INTO the batch's bytes, lent for the call only. */
typedef struct tremor_sink_slice {
    const uint8_t *data;
    size_t len;
    /** The id to name in host->ack / host->fail (asynchronous sinks): unique within this
     *  instance for its lifetime (not the event's sequence, which repeats across sources). */
    uint64_t event_id;
    /** Ingest time, ns since the Unix epoch. */
    uint64_t ingest_ns;
} tremor_sink_slice;

/** One chunk a source returns, in a host-provided array. `data` and `meta` point into plugin
 *  memory that stays valid until the host calls `release` for this pull. */
typedef struct tremor_source_slice {
    const uint8_t *data;
    size_t len;
    uint64_t stream_id;
    /** 0: the host stamps the ingest time. */
    uint64_t ingest_ns;
    /** Optional metadata bytes (NULL/0: none); the host attaches them to the event as bytes. */
    const uint8_t *meta;
    size_t meta_len;
    /** TREMOR_SLICE_* */
    uint32_t flags;
    uint32_t reserved;
} tremor_source_slice;

/* ---------------------------------------------------------------------------------
 * Size-prefixed structs (grow only at the end; `size` = sizeof as the writer saw it)
 * --------------------------------------------------------------------------------- */

/** The host's services for one instance, passed at create; valid until destroy returns. Every
 *  function takes `ctx` first and may be called from any thread (see Threading). */
typedef struct tremor_host_api {
    uint32_t size;
    /** The ABI minor the host implements. */
    uint32_t abi_minor;
    void *ctx;
    void(TREMOR_PDK_CALL *log)(void *ctx, int32_t level, const char *msg, size_t len);
    /** Monotonic clock, ns (for intervals). */
    uint64_t(TREMOR_PDK_CALL *monotonic_ns)(void *ctx);
    /** Wall clock, ns since the Unix epoch (what ingest times are measured in). */
    uint64_t(TREMOR_PDK_CALL *wall_ns)(void *ctx);
    /** Acknowledges event ids of batches answered with TREMOR_PENDING. */
    void(TREMOR_PDK_CALL *ack)(void *ctx, const uint64_t *ids, size_t count);
    /** Fails event ids of batches answered with TREMOR_PENDING, with a reason. */
    void(TREMOR_PDK_CALL *fail)(void *ctx, const uint64_t *ids, size_t count, const char *reason, size_t reason_len);
    /** Asks the runtime to drain every flow and exit with `exit_code`. */
    void(TREMOR_PDK_CALL *request_shutdown)(void *ctx, int32_t exit_code, const char *reason, size_t reason_len);
    /** 1.2: the sink has room again after it answered TREMOR_FULL: the host offers it the batch
     *  it kept. Call it from any thread (in a call such as pull, or from a thread of the
     *  plugin's); a call while nothing is kept does nothing. Present only when abi_minor >= 2
     *  (use tremor_sink_has_room). With isolation = process it is read with the next call the
     *  host makes into the instance (a pull, or the backoff's offer). */
#if TREMOR_PDK_TARGET_MINOR >= 2
    void(TREMOR_PDK_CALL *sink_has_room)(void *ctx);
#endif
} tremor_host_api;

/** What create gets; lent for the call (except `host`, see tremor_host_api). */
typedef struct tremor_create_args {
    uint32_t size;
    /** The sides the host wants (TREMOR_KIND_*), a subset of descriptor.kinds. */
    uint32_t kinds;
    const tremor_host_api *host;
    /** The connector's config section as a UTF-8 JSON object (not NUL-terminated). */
    const uint8_t *config_json;
    size_t config_len;
    /** The instance's name in its flow, e.g. "main::out" (UTF-8, not NUL-terminated). */
    const uint8_t *alias;
    size_t alias_len;
} tremor_create_args;

/** A batch for a sink: `count` slices pointing into `bytes` (all payloads back to back, in
 *  order). Everything is lent for the call only: copy what you keep. */
typedef struct tremor_sink_batch {
    uint32_t size;
    uint32_t count;
    const tremor_sink_slice *slices;
    const uint8_t *bytes;
    size_t bytes_len;
    /** Increases with every batch of an instance. */
    uint64_t batch_id;
} tremor_sink_batch;

/** One pull: the host lends `slices` (room for `capacity`), the plugin fills `count` of them. */
typedef struct tremor_pull {
    uint32_t size;
    uint32_t capacity;
    tremor_source_slice *slices;
    /** Written by the plugin: how many slices it filled (0..capacity). */
    uint32_t count;
    uint32_t reserved;
    /** The longest the plugin may block waiting for data before returning TREMOR_EMPTY. */
    uint64_t max_wait_ns;
} tremor_pull;

/** The plugin's entry points. Required: create, destroy; pull and release for sources;
 *  sink_batch for sinks. Optional (may be NULL): connect (NULL = connected at once),
 *  lifecycle. `instance` is what create wrote to *instance_out. */
typedef struct tremor_plugin_vtable {
    uint32_t size;
    uint32_t reserved;
    /** Validates the config and allocates an instance. No I/O here (that is connect's job). */
    tremor_status(TREMOR_PDK_CALL *create)(const tremor_create_args *args, void **instance_out, tremor_err *err);
    /** Joins every thread the instance started and frees it. Cannot fail. */
    void(TREMOR_PDK_CALL *destroy)(void *instance);
    /** TREMOR_OK: connected; TREMOR_FAILED: retry later. `attempt` counts from 1. */
    tremor_status(TREMOR_PDK_CALL *connect)(void *instance, uint32_t attempt, tremor_err *err);
    /** Fills pull->slices[0..count). TREMOR_OK, TREMOR_EMPTY or TREMOR_FINISHED. */
    tremor_status(TREMOR_PDK_CALL *pull)(void *instance, tremor_pull *pull, tremor_err *err);
    /** The host copied the slices of the last pull: their memory may be reused. */
    tremor_status(TREMOR_PDK_CALL *release)(void *instance, tremor_err *err);
    /** Delivers a batch. TREMOR_OK (all delivered), TREMOR_FAILED (all failed) or TREMOR_PENDING. */
    tremor_status(TREMOR_PDK_CALL *sink_batch)(void *instance, const tremor_sink_batch *batch, tremor_err *err);
#if TREMOR_PDK_TARGET_MINOR >= 1
    /** 1.1: a TREMOR_LIFECYCLE_* event. */
    tremor_status(TREMOR_PDK_CALL *lifecycle)(void *instance, uint32_t event, tremor_err *err);
#endif
} tremor_plugin_vtable;

/** The exported descriptor. Fields up to and including abi_minor are frozen forever. */
typedef struct tremor_plugin_descriptor {
    /** TREMOR_PDK_MAGIC */
    uint64_t magic;
    /** sizeof(tremor_plugin_descriptor) as the plugin saw it. */
    uint32_t size;
    uint16_t abi_major;
    uint16_t abi_minor;
    /** Offset and size of every member of every ABI struct; fill with TREMOR_PDK_LAYOUT_ENTRIES. */
    const tremor_layout_entry *layout;
    uint32_t layout_count;
    /** TREMOR_KIND_* bits. */
    uint32_t kinds;
    /** TREMOR_FLAG_* bits. */
    uint32_t flags;
    uint32_t reserved;
    /** The connector type as written in a flow, e.g. "c-counter". Non-empty, NUL-terminated UTF-8. */
    const char *name;
    /** The plugin's semantic version, e.g. "0.1.0". */
    const char *version;
    /** A JSON schema of the config section (may be "{}"), enforced before create; see 7. */
    const char *config_schema;
    /** The codec used when a flow names none (NULL: "json"). */
    const char *default_codec;
    const tremor_plugin_vtable *vtable;
#if TREMOR_PDK_TARGET_MINOR >= 1
    /** 1.1: one line for `tremor plugins list` (NULL: none). */
    const char *description;
#endif
} tremor_plugin_descriptor;

/* ---------------------------------------------------------------------------------
 * The layout table: ids and the list of every (struct, member) with the minor that
 * introduced it. A plugin writes
 *     static const tremor_layout_entry my_layout[] = { TREMOR_PDK_LAYOUT_ENTRIES };
 * --------------------------------------------------------------------------------- */
#define TREMOR_STRUCT_LAYOUT_ENTRY 1u
#define TREMOR_STRUCT_ERR 2u
#define TREMOR_STRUCT_SINK_SLICE 3u
#define TREMOR_STRUCT_SOURCE_SLICE 4u
#define TREMOR_STRUCT_HOST_API 5u
#define TREMOR_STRUCT_CREATE_ARGS 6u
#define TREMOR_STRUCT_SINK_BATCH 7u
#define TREMOR_STRUCT_PULL 8u
#define TREMOR_STRUCT_VTABLE 9u
#define TREMOR_STRUCT_DESCRIPTOR 10u

/* S(struct_id, type) emits the sizeof row; M(struct_id, type, member_id, member) a member row. */
#define TREMOR_PDK_LAYOUT_V1_0(S, M)                                                       \
    S(TREMOR_STRUCT_LAYOUT_ENTRY, tremor_layout_entry)                                     \
    M(TREMOR_STRUCT_LAYOUT_ENTRY, tremor_layout_entry, 1u, struct_id)                      \
    M(TREMOR_STRUCT_LAYOUT_ENTRY, tremor_layout_entry, 2u, member_id)                      \
    M(TREMOR_STRUCT_LAYOUT_ENTRY, tremor_layout_entry, 3u, offset)                         \
    M(TREMOR_STRUCT_LAYOUT_ENTRY, tremor_layout_entry, 4u, size)                           \
    S(TREMOR_STRUCT_ERR, tremor_err)                                                       \
    M(TREMOR_STRUCT_ERR, tremor_err, 1u, ptr)                                              \
    M(TREMOR_STRUCT_ERR, tremor_err, 2u, cap)                                              \
    M(TREMOR_STRUCT_ERR, tremor_err, 3u, len)                                              \
    S(TREMOR_STRUCT_SINK_SLICE, tremor_sink_slice)                                         \
    M(TREMOR_STRUCT_SINK_SLICE, tremor_sink_slice, 1u, data)                               \
    M(TREMOR_STRUCT_SINK_SLICE, tremor_sink_slice, 2u, len)                                \
    M(TREMOR_STRUCT_SINK_SLICE, tremor_sink_slice, 3u, event_id)                           \
    M(TREMOR_STRUCT_SINK_SLICE, tremor_sink_slice, 4u, ingest_ns)                          \
    S(TREMOR_STRUCT_SOURCE_SLICE, tremor_source_slice)                                     \
    M(TREMOR_STRUCT_SOURCE_SLICE, tremor_source_slice, 1u, data)                           \
    M(TREMOR_STRUCT_SOURCE_SLICE, tremor_source_slice, 2u, len)                            \
    M(TREMOR_STRUCT_SOURCE_SLICE, tremor_source_slice, 3u, stream_id)                      \
    M(TREMOR_STRUCT_SOURCE_SLICE, tremor_source_slice, 4u, ingest_ns)                      \
    M(TREMOR_STRUCT_SOURCE_SLICE, tremor_source_slice, 5u, meta)                           \
    M(TREMOR_STRUCT_SOURCE_SLICE, tremor_source_slice, 6u, meta_len)                       \
    M(TREMOR_STRUCT_SOURCE_SLICE, tremor_source_slice, 7u, flags)                          \
    M(TREMOR_STRUCT_SOURCE_SLICE, tremor_source_slice, 8u, reserved)                       \
    S(TREMOR_STRUCT_HOST_API, tremor_host_api)                                             \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 1u, size)                                   \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 2u, abi_minor)                              \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 3u, ctx)                                    \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 4u, log)                                    \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 5u, monotonic_ns)                           \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 6u, wall_ns)                                \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 7u, ack)                                    \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 8u, fail)                                   \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 9u, request_shutdown)                       \
    S(TREMOR_STRUCT_CREATE_ARGS, tremor_create_args)                                       \
    M(TREMOR_STRUCT_CREATE_ARGS, tremor_create_args, 1u, size)                             \
    M(TREMOR_STRUCT_CREATE_ARGS, tremor_create_args, 2u, kinds)                            \
    M(TREMOR_STRUCT_CREATE_ARGS, tremor_create_args, 3u, host)                             \
    M(TREMOR_STRUCT_CREATE_ARGS, tremor_create_args, 4u, config_json)                      \
    M(TREMOR_STRUCT_CREATE_ARGS, tremor_create_args, 5u, config_len)                       \
    M(TREMOR_STRUCT_CREATE_ARGS, tremor_create_args, 6u, alias)                            \
    M(TREMOR_STRUCT_CREATE_ARGS, tremor_create_args, 7u, alias_len)                        \
    S(TREMOR_STRUCT_SINK_BATCH, tremor_sink_batch)                                         \
    M(TREMOR_STRUCT_SINK_BATCH, tremor_sink_batch, 1u, size)                               \
    M(TREMOR_STRUCT_SINK_BATCH, tremor_sink_batch, 2u, count)                              \
    M(TREMOR_STRUCT_SINK_BATCH, tremor_sink_batch, 3u, slices)                             \
    M(TREMOR_STRUCT_SINK_BATCH, tremor_sink_batch, 4u, bytes)                              \
    M(TREMOR_STRUCT_SINK_BATCH, tremor_sink_batch, 5u, bytes_len)                          \
    M(TREMOR_STRUCT_SINK_BATCH, tremor_sink_batch, 6u, batch_id)                           \
    S(TREMOR_STRUCT_PULL, tremor_pull)                                                     \
    M(TREMOR_STRUCT_PULL, tremor_pull, 1u, size)                                           \
    M(TREMOR_STRUCT_PULL, tremor_pull, 2u, capacity)                                       \
    M(TREMOR_STRUCT_PULL, tremor_pull, 3u, slices)                                         \
    M(TREMOR_STRUCT_PULL, tremor_pull, 4u, count)                                          \
    M(TREMOR_STRUCT_PULL, tremor_pull, 5u, reserved)                                       \
    M(TREMOR_STRUCT_PULL, tremor_pull, 6u, max_wait_ns)                                    \
    S(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable)                                          \
    M(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable, 1u, size)                                \
    M(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable, 2u, reserved)                            \
    M(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable, 3u, create)                              \
    M(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable, 4u, destroy)                             \
    M(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable, 5u, connect)                             \
    M(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable, 6u, pull)                                \
    M(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable, 7u, release)                             \
    M(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable, 8u, sink_batch)                          \
    S(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor)                                  \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 1u, magic)                       \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 2u, size)                        \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 3u, abi_major)                   \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 4u, abi_minor)                   \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 5u, layout)                      \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 6u, layout_count)                \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 7u, kinds)                       \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 8u, flags)                       \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 9u, reserved)                    \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 10u, name)                       \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 11u, version)                    \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 12u, config_schema)              \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 13u, default_codec)              \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 14u, vtable)

/* Members added in 1.1. */
#define TREMOR_PDK_LAYOUT_V1_1(S, M)                                                       \
    M(TREMOR_STRUCT_VTABLE, tremor_plugin_vtable, 9u, lifecycle)                           \
    M(TREMOR_STRUCT_DESCRIPTOR, tremor_plugin_descriptor, 15u, description)

/* Members added in 1.2. */
#define TREMOR_PDK_LAYOUT_V1_2(S, M)                                                       \
    M(TREMOR_STRUCT_HOST_API, tremor_host_api, 10u, sink_has_room)

/* Every row the target minor has. */
#if TREMOR_PDK_TARGET_MINOR >= 2
#define TREMOR_PDK_LAYOUT_ALL(S, M) \
    TREMOR_PDK_LAYOUT_V1_0(S, M) TREMOR_PDK_LAYOUT_V1_1(S, M) TREMOR_PDK_LAYOUT_V1_2(S, M)
#elif TREMOR_PDK_TARGET_MINOR >= 1
#define TREMOR_PDK_LAYOUT_ALL(S, M) TREMOR_PDK_LAYOUT_V1_0(S, M) TREMOR_PDK_LAYOUT_V1_1(S, M)
#else
#define TREMOR_PDK_LAYOUT_ALL(S, M) TREMOR_PDK_LAYOUT_V1_0(S, M)
#endif

#define TREMOR_PDK_LAYOUT_SIZE_ROW(sid, T) {(sid), 0u, 0u, (uint32_t)sizeof(T)},
#define TREMOR_PDK_LAYOUT_MEMBER_ROW(sid, T, mid, m) \
    {(sid), (mid), (uint32_t)offsetof(T, m), (uint32_t)sizeof(((T *)0)->m)},

/** The initializer list of a layout table, as this compiler lays the ABI structs out. */
#define TREMOR_PDK_LAYOUT_ENTRIES TREMOR_PDK_LAYOUT_ALL(TREMOR_PDK_LAYOUT_SIZE_ROW, TREMOR_PDK_LAYOUT_MEMBER_ROW)

#define TREMOR_PDK_COUNT_OF(array) ((uint32_t)(sizeof(array) / sizeof((array)[0])))

/* ---------------------------------------------------------------------------------
 * Initializers that work in C99 and C++17 (positional, target-minor aware).
 * --------------------------------------------------------------------------------- */
#if TREMOR_PDK_TARGET_MINOR >= 1
#define TREMOR_PDK_VTABLE_INIT(create, destroy, connect, pull, release, sink_batch, lifecycle) \
    {(uint32_t)sizeof(tremor_plugin_vtable), 0u, create, destroy, connect, pull, release, sink_batch, lifecycle}
#define TREMOR_PDK_DESCRIPTOR_INIT(layout, kinds, flags, name, version, schema, codec, vtable, description) \
    {TREMOR_PDK_MAGIC, (uint32_t)sizeof(tremor_plugin_descriptor), TREMOR_PDK_ABI_MAJOR,                    \
     TREMOR_PDK_TARGET_MINOR, layout, TREMOR_PDK_COUNT_OF(layout), kinds, flags, 0u, name, version,        \
     schema, codec, vtable, description}
#else
#define TREMOR_PDK_VTABLE_INIT(create, destroy, connect, pull, release, sink_batch, lifecycle) \
    {(uint32_t)sizeof(tremor_plugin_vtable), 0u, create, destroy, connect, pull, release, sink_batch}
#define TREMOR_PDK_DESCRIPTOR_INIT(layout, kinds, flags, name, version, schema, codec, vtable, description) \
    {TREMOR_PDK_MAGIC, (uint32_t)sizeof(tremor_plugin_descriptor), TREMOR_PDK_ABI_MAJOR,                    \
     TREMOR_PDK_TARGET_MINOR, layout, TREMOR_PDK_COUNT_OF(layout), kinds, flags, 0u, name, version,        \
     schema, codec, vtable}
#endif

/** Defines the entry symbol:  TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = ...; */
#define TREMOR_PDK_PLUGIN TREMOR_PDK_EXTERN_C TREMOR_PDK_EXPORT

/** Writes a printf-formatted message into the host's error buffer; returns `status`. */
static inline tremor_status tremor_err_set(tremor_err *err, tremor_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static inline tremor_status tremor_err_set(tremor_err *err, tremor_status status, const char *fmt, ...)
{
    if (err != NULL && err->ptr != NULL && err->cap > 0) {
        va_list ap;
        int n;
        va_start(ap, fmt);
        n = vsnprintf(err->ptr, err->cap, fmt, ap);
        va_end(ap);
        if (n < 0) {
            n = 0;
        }
        /* vsnprintf keeps one byte for the NUL; the host reads `len` bytes. */
        err->len = (size_t)n < err->cap ? (size_t)n : err->cap - 1;
    }
    return status;
}

/** Logs a NUL-terminated message through the host (safe from any thread). */
static inline void tremor_log(const tremor_host_api *host, int32_t level, const char *msg)
{
    if (host != NULL && host->log != NULL) {
        host->log(host->ctx, level, msg, strlen(msg));
    }
}

#if TREMOR_PDK_TARGET_MINOR >= 2
/** 1 when the host can take TREMOR_FULL from sink_batch and hear host->sink_has_room (1.2). */
static inline int tremor_host_takes_full(const tremor_host_api *host)
{
    return host != NULL && host->abi_minor >= 2 &&
           host->size >= offsetof(tremor_host_api, sink_has_room) + sizeof(host->sink_has_room) &&
           host->sink_has_room != NULL;
}

/** Tells the host the sink has room again (1.2); does nothing on an older host. */
static inline void tremor_sink_has_room(const tremor_host_api *host)
{
    if (tremor_host_takes_full(host)) {
        host->sink_has_room(host->ctx);
    }
}
#endif

/** The entry symbol every plugin defines (with TREMOR_PDK_PLUGIN and TREMOR_PDK_DESCRIPTOR_INIT). */
TREMOR_PDK_EXPORT extern const tremor_plugin_descriptor tremor_pdk_plugin_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TREMOR_PDK_H */
