// Compile-only check: the ABI header is valid C++17 (-Wall -Wextra -Werror) and a C++ plugin can define its
// descriptor with the positional initializer macros.
#include "tremor_pdk.h"

#include <type_traits>

static_assert(std::is_standard_layout<tremor_plugin_descriptor>::value, "descriptor must be standard-layout");
static_assert(sizeof(tremor_sink_slice) == 4 * 8, "tremor_sink_slice is frozen at 32 bytes on 64-bit targets");

namespace {
const tremor_layout_entry layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};

tremor_status TREMOR_PDK_CALL create(const tremor_create_args *, void **, tremor_err *err) noexcept
{
    try {
        throw 1;
    } catch (...) {
        // A C++ plugin catches every exception at the boundary.
        return tremor_err_set(err, TREMOR_ERROR_PANIC, "%s", "caught");
    }
}

void TREMOR_PDK_CALL destroy(void *) noexcept {}

tremor_status TREMOR_PDK_CALL sink_batch(void *, const tremor_sink_batch *, tremor_err *) noexcept { return TREMOR_OK; }

const tremor_plugin_vtable vtable = TREMOR_PDK_VTABLE_INIT(create, destroy, nullptr, nullptr, nullptr, sink_batch, nullptr);
} // namespace

TREMOR_PDK_PLUGIN const tremor_plugin_descriptor tremor_pdk_plugin_v1 =
    TREMOR_PDK_DESCRIPTOR_INIT(layout, TREMOR_KIND_SINK, 0u, "cxx-check", "0.1.0", "{}", "json", &vtable, "C++17 header check");
