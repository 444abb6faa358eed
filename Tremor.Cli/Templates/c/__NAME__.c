/*
 * __NAME__: a Tremor.NET native sink in C that counts events and bytes.
 * Config: log-every (log a line every N events; default 0 = never), read from the config JSON in create.
 * Build: gcc -std=c99 -O2 -Wall -Wextra -Werror -shared -fPIC -I. -o __NAME__.so __NAME__.c
 * It includes nothing but tremor_pdk.h (and libc). Read the header's top comment for the rules:
 * no work in static constructors, what the host lends is valid for the call only, no unwinding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tremor_pdk.h"

typedef struct counter {
    const tremor_host_api *host;
    uint64_t log_every;
    uint64_t events;
    uint64_t bytes;
} counter;

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

static tremor_status TREMOR_PDK_CALL counter_create(const tremor_create_args *args, void **out, tremor_err *err)
{
    counter *c = (counter *)calloc(1, sizeof(counter));
    if (c == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    c->host = args->host;
    /* A bad value is a config error: the flow does not start, and the message names the key. */
    if (config_uint(args->config_json, args->config_len, "log-every", &c->log_every) < 0) {
        free(c);
        return tremor_err_set(err, TREMOR_ERROR_CONFIG, "log-every: expected a non-negative integer");
    }
    *out = c;
    return TREMOR_OK;
}

static void TREMOR_PDK_CALL counter_destroy(void *instance)
{
    counter *c = (counter *)instance;
    char line[128];
    snprintf(line, sizeof line, "__NAME__: %llu events, %llu bytes", (unsigned long long)c->events, (unsigned long long)c->bytes);
    tremor_log(c->host, TREMOR_LOG_INFO, line);
    free(c);
}

static tremor_status TREMOR_PDK_CALL counter_sink_batch(void *instance, const tremor_sink_batch *batch, tremor_err *err)
{
    counter *c = (counter *)instance;
    uint32_t i;
    (void)err;
    for (i = 0; i < batch->count; i++) {
        c->bytes += batch->slices[i].len;
        c->events++;
        if (c->log_every > 0 && c->events % c->log_every == 0) {
            char line[96];
            snprintf(line, sizeof line, "%llu events, %llu bytes", (unsigned long long)c->events, (unsigned long long)c->bytes);
            tremor_log(c->host, TREMOR_LOG_INFO, line);
        }
    }
    return TREMOR_OK;
}

static const tremor_layout_entry counter_layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};
static const tremor_plugin_vtable counter_vtable =
    TREMOR_PDK_VTABLE_INIT(counter_create, counter_destroy, NULL, NULL, NULL, counter_sink_batch, NULL);

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = TREMOR_PDK_DESCRIPTOR_INIT(
    counter_layout, TREMOR_KIND_SINK, 0u, "__NAME__", "0.1.0",
    "{\"type\":\"object\",\"properties\":{\"log-every\":{\"type\":\"integer\",\"minimum\":0}},\"additionalProperties\":false}",
    "json", &counter_vtable,
    "__NAME__: counts events and bytes (native C sink)");
