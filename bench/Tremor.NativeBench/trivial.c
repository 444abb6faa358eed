/* The baseline for the boundary cost: a function with the sink_batch signature that does nothing but read the count. */
#include "tremor_pdk.h"

TREMOR_PDK_EXTERN_C TREMOR_PDK_EXPORT tremor_status bench_trivial(void *instance, const tremor_sink_batch *batch, tremor_err *err);

tremor_status bench_trivial(void *instance, const tremor_sink_batch *batch, tremor_err *err)
{
    (void)instance;
    (void)err;
    return batch->count == 0 ? TREMOR_FAILED : TREMOR_OK;
}
