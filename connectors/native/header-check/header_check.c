/* Compile-only check: the ABI header is valid C99 with -Wall -Wextra -Werror -pedantic. */
#include "tremor_pdk.h"

static const tremor_layout_entry layout[] = {TREMOR_PDK_LAYOUT_ENTRIES};

int tremor_header_check_rows(void);
int tremor_header_check_rows(void) { return (int)TREMOR_PDK_COUNT_OF(layout); }
