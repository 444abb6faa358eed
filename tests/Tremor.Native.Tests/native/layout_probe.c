/* Prints every layout row of the header as this compiler sees it: "sid mid name offset size". */
#include <stdio.h>
#include "tremor_pdk.h"

#define PROBE_SIZE(sid, T) printf("%u 0 sizeof(%s) 0 %u\n", (unsigned)(sid), #T, (unsigned)sizeof(T));
#define PROBE_MEMBER(sid, T, mid, m) \
    printf("%u %u %s.%s %u %u\n", (unsigned)(sid), (unsigned)(mid), #T, #m, (unsigned)offsetof(T, m), (unsigned)sizeof(((T *)0)->m));

int main(void)
{
    TREMOR_PDK_LAYOUT_ALL(PROBE_SIZE, PROBE_MEMBER)
    return 0;
}
