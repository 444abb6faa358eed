/*
 * __NAME__: a Tremor.NET native sink in C that counts events and bytes.
 * Build: gcc -std=c99 -O2 -Wall -Wextra -Werror -shared -fPIC -I. -o __NAME__.so __NAME__.c
 * It includes nothing but tremor_pdk.h (and libc). Read the header's top comment for the rules:
 * no work in static constructors, what the host lends is valid for the call only, no unwinding.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tremor_pdk.h"

typedef struct counter {
    const tremor_host_api *host;
    uint64_t events;
    uint64_t bytes;
} counter;

static tremor_status TREMOR_PDK_CALL counter_create(const tremor_create_args *args, void **out, tremor_err *err)
{
    counter *c = (counter *)calloc(1, sizeof(counter));
    if (c == NULL) return tremor_err_set(err, TREMOR_ERROR, "out of memory");
    c->host = args->host;
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
    for (i = 0; i < batch->count; i++) c->bytes += batch->slices[i].len;
    c->events += batch->count;
    return TREMOR_OK;
}

static const tremor_layout_entry counter_layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};
static const tremor_plugin_vtable counter_vtable =
    TREMOR_PDK_VTABLE_INIT(counter_create, counter_destroy, NULL, NULL, NULL, counter_sink_batch, NULL);

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 = TREMOR_PDK_DESCRIPTOR_INIT(
    counter_layout, TREMOR_KIND_SINK, 0u, "__NAME__", "0.1.0",
    "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}", "json", &counter_vtable,
    "__NAME__: counts events and bytes (native C sink)");
