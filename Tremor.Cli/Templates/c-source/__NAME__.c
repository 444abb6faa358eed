/*
 * __NAME__: a Tremor.NET native source in C that emits {"n":0} .. {"n":count-1}, then finishes.
 * Config: count (default 10), read from the config JSON in create.
 * Build: gcc -std=c99 -O2 -Wall -Wextra -Werror -shared -fPIC -I. -o __NAME__.so __NAME__.c
 * It includes nothing but tremor_pdk.h (and libc). Read the header's top comment for the rules:
 * no work in static constructors, what the host lends is valid for the call only, no unwinding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tremor_pdk.h"

#define EVENT_MAX 32 /* {"n":18446744073709551615} fits */

typedef struct source {
    uint64_t count;
    uint64_t next;
    int ended;
    uint8_t *buf; /* capacity * EVENT_MAX bytes: what the last pull's slices point into, until release */
    uint32_t slots;
} source;

/* The config arrives as a JSON object (args->config_json, not NUL-terminated). This tiny reader finds a top-level
 * "key" with a non-negative integer value: 1 found, 0 absent, -1 not such an integer. Not a JSON parser; a real
 * plugin would use one (e.g. a vendored cJSON). */
static int config_uint(const uint8_t *json, size_t len, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);
    size_t i;
    for (i = 0; i + klen + 2 < len; i++) {
        if (json[i] == '"' && memcmp(json + i + 1, key, klen) == 0 && json[i + klen + 1] == '"') {
            size_t j = i + klen + 2;
            uint64_t n = 0;
            int digits = 0;
            while (j < len && (json[j] == ' ' || json[j] == ':')) j++;
            while (j < len && json[j] >= '0' && json[j] <= '9') { n = n * 10 + (uint64_t)(json[j] - '0'); j++; digits++; }
            if (digits == 0) return -1;
            *out = n;
            return 1;
        }
    }
    return 0;
}

static tremor_status TREMOR_PDK_CALL source_create(const tremor_create_args *args, void **out, tremor_err *err)
{
    source *s = (source *)calloc(1, sizeof(source));
    int found;
    if (s == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    /* A bad value is a config error: the flow does not start, and the message names the key. */
    found = config_uint(args->config_json, args->config_len, "count", &s->count);
    if (found < 0) {
        free(s);
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "count: expected a non-negative integer");
    }
    if (found == 0) s->count = 10;
    *out = s;
    return TREMOR_OK;
}

static void TREMOR_PDK_CALL source_destroy(void *instance)
{
    source *s = (source *)instance;
    free(s->buf);
    free(s);
}

/* Fills up to pull->capacity slices; the bytes stay valid until the host calls release. */
static tremor_status TREMOR_PDK_CALL source_pull(void *instance, tremor_pull *pull, tremor_err *err)
{
    source *s = (source *)instance;
    uint32_t n = 0;
    if (s->ended) {
        pull->count = 0;
        return TREMOR_FINISHED;
    }
    if (s->slots < pull->capacity) {
        uint8_t *b = (uint8_t *)realloc(s->buf, (size_t)pull->capacity * EVENT_MAX);
        if (b == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
        s->buf = b;
        s->slots = pull->capacity;
    }
    while (n < pull->capacity && s->next < s->count) {
        uint8_t *slot = s->buf + (size_t)n * EVENT_MAX;
        tremor_source_slice *slice = &pull->slices[n++];
        memset(slice, 0, sizeof *slice);
        slice->data = slot;
        slice->len = (size_t)snprintf((char *)slot, EVENT_MAX, "{\"n\":%llu}", (unsigned long long)s->next++);
    }
    if (s->next >= s->count && n < pull->capacity) {
        /* The end of stream 0: the runtime flushes its preprocessors for it. */
        tremor_source_slice *slice = &pull->slices[n++];
        memset(slice, 0, sizeof *slice);
        slice->flags = TREMOR_SLICE_STREAM_END;
        s->ended = 1;
    }
    pull->count = n;
    return s->ended ? TREMOR_FINISHED : TREMOR_OK;
}

static tremor_status TREMOR_PDK_CALL source_release(void *instance, tremor_err *err)
{
    (void)instance; /* the buffer is simply overwritten by the next pull */
    (void)err;
    return TREMOR_OK;
}

static const tremor_layout_entry source_layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};
static const tremor_plugin_vtable source_vtable =
    TREMOR_PDK_VTABLE_INIT(source_create, source_destroy, NULL, source_pull, source_release, NULL, NULL);

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = TREMOR_PDK_DESCRIPTOR_INIT(
    source_layout, TREMOR_KIND_SOURCE, 0u, "__NAME__", "0.1.0",
    "{\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\",\"minimum\":0}},\"additionalProperties\":false}",
    "json", &source_vtable, "__NAME__: emits {\"n\":0} .. {\"n\":count-1} (native C source)");
