/*
 * tremor-plugin-inspect: reads a native plugin's descriptor in a throwaway process, so that nothing of the plugin
 * (its static constructors, a bad pointer in its descriptor) ever runs in the runtime before it is needed and checked.
 *
 *     tremor-plugin-inspect PLUGIN.so
 *
 * It dlopens the file, finds tremor_pdk_plugin_v1 and copies out what the descriptor points to: the descriptor's
 * bytes, the layout table, the strings (length-bounded) and the vtable. Every read is guarded: a pointer into
 * unmapped memory becomes a `fault` line instead of a crash. It interprets nothing beyond following pointers; the
 * runtime applies every check (Tremor.Native/Loading/DescriptorChecks.cs) to what it prints.
 *
 * Protocol on stdout, one record a line, bytes as lower-case hex (so names with newlines or escapes cannot break it):
 *     tremor-plugin-inspect 1
 *     loading                                  (written before dlopen: a death after it is the constructors')
 *     loaded
 *     dlopen-error HEX                         (and exit 0: the library did not load)
 *     no-symbol                                (no tremor_pdk_plugin_v1)
 *     mem FIELD HEX                            (descriptor, layout, vtable: their bytes)
 *     str FIELD HEX                            (a NUL-terminated string without its NUL)
 *     null FIELD | fault FIELD 0xADDRESS | long FIELD MAX
 *     end
 * The plugin's own writes to stdout during dlopen go to stderr: the protocol has a descriptor of its own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include "tremor_pdk.h"

#define MAX_DESCRIPTOR 4096u
#define MAX_LAYOUT_ROWS 4096u
#define MAX_VTABLE 4096u
#define MAX_NAME 4096u
#define MAX_SCHEMA (1024u * 1024u)
#define MAX_TEXT (64u * 1024u)

static sigjmp_buf g_jump;
static volatile sig_atomic_t g_guarding;
static FILE *g_out;

static void on_fault(int sig)
{
    if (g_guarding) siglongjmp(g_jump, sig);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_faults(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* Copies n bytes from src; 0 when every byte was readable, -1 when a read faulted. */
static int guarded_copy(unsigned char *dst, const void *src, size_t n)
{
    const volatile unsigned char *from = (const volatile unsigned char *)src;
    volatile size_t i = 0;
    if (sigsetjmp(g_jump, 1) != 0) {
        g_guarding = 0;
        return -1;
    }
    g_guarding = 1;
    for (i = 0; i < n; i++) dst[i] = from[i];
    g_guarding = 0;
    return 0;
}

/* Length of a NUL-terminated string of at most max bytes: >= 0, -1 on a fault, -2 when longer than max. */
static long guarded_strlen(const char *s, size_t max)
{
    const volatile char *p = (const volatile char *)s;
    volatile size_t i = 0;
    if (sigsetjmp(g_jump, 1) != 0) {
        g_guarding = 0;
        return -1;
    }
    g_guarding = 1;
    while (i <= max && p[i] != '\0') i++;
    g_guarding = 0;
    return i > max ? -2 : (long)i;
}

static void hex_line(const char *tag, const char *field, const unsigned char *bytes, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    fprintf(g_out, "%s %s ", tag, field);
    for (i = 0; i < n; i++) {
        fputc(digits[bytes[i] >> 4], g_out);
        fputc(digits[bytes[i] & 15], g_out);
    }
    fputc('\n', g_out);
}

static void fault_line(const char *field, const void *address)
{
    fprintf(g_out, "fault %s 0x%llx\n", field, (unsigned long long)(uintptr_t)address);
}

/* Copies a block the plugin points to; prints mem/null/fault. */
static void dump_block(const char *field, const void *src, size_t n)
{
    unsigned char *copy;
    if (src == NULL) {
        fprintf(g_out, "null %s\n", field);
        return;
    }
    copy = (unsigned char *)malloc(n == 0 ? 1 : n);
    if (copy == NULL) {
        fprintf(stderr, "tremor-plugin-inspect: out of memory\n");
        exit(70);
    }
    if (guarded_copy(copy, src, n) != 0) fault_line(field, src);
    else hex_line("mem", field, copy, n);
    free(copy);
}

static void dump_string(const char *field, const char *s, size_t max)
{
    long len;
    if (s == NULL) {
        fprintf(g_out, "null %s\n", field);
        return;
    }
    len = guarded_strlen(s, max);
    if (len == -1) fault_line(field, s);
    else if (len == -2) fprintf(g_out, "long %s %zu\n", field, max);
    else hex_line("str", field, (const unsigned char *)s, (size_t)len);
}

int main(int argc, char **argv)
{
    int protocol_fd;
    void *library;
    const tremor_plugin_descriptor *symbol;
    unsigned char head[16];
    unsigned char raw[MAX_DESCRIPTOR];
    tremor_plugin_descriptor d;
    uint32_t size;
    uint32_t vtable_size;
    size_t copied;

    if (argc != 2) {
        fprintf(stderr, "usage: tremor-plugin-inspect PLUGIN.so\n");
        return 64;
    }
    /* Its own process group, so that the runtime can kill whatever a constructor forks along with it. */
    (void)setpgid(0, 0);
#if defined(__linux__)
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    /* The protocol keeps stdout for itself; anything the plugin prints goes to stderr. */
    protocol_fd = dup(STDOUT_FILENO);
    if (protocol_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || (g_out = fdopen(protocol_fd, "w")) == NULL) {
        perror("tremor-plugin-inspect");
        return 71;
    }
    fprintf(g_out, "tremor-plugin-inspect 1\nloading\n");
    fflush(g_out);

    library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        hex_line("dlopen-error", "library", (const unsigned char *)(why ? why : "unknown"), strlen(why ? why : "unknown"));
        fprintf(g_out, "end\n");
        fflush(g_out);
        return 0;
    }
    /* Installed after the constructors ran: a constructor's own crash is the plugin's death, reported as such. */
    guard_faults();
    fprintf(g_out, "loaded\n");
    fflush(g_out);

    symbol = (const tremor_plugin_descriptor *)dlsym(library, "tremor_pdk_plugin_v1");
    if (symbol == NULL) {
        fprintf(g_out, "no-symbol\nend\n");
        fflush(g_out);
        return 0;
    }
    /* magic, size, abi_major, abi_minor: frozen in every version. */
    if (guarded_copy(head, symbol, sizeof head) != 0) {
        fault_line("descriptor", symbol);
        fprintf(g_out, "end\n");
        fflush(g_out);
        return 0;
    }
    memcpy(&size, head + 8, sizeof size);
    copied = size < sizeof head ? sizeof head : size;
    if (copied > MAX_DESCRIPTOR) copied = MAX_DESCRIPTOR;
    if (guarded_copy(raw, symbol, copied) != 0) {
        fault_line("descriptor", symbol);
        fprintf(g_out, "end\n");
        fflush(g_out);
        return 0;
    }
    hex_line("mem", "descriptor", raw, copied);

    /* Follow the pointers of the fields the plugin has (its size says which), as the host's struct places them. */
    memset(&d, 0, sizeof d);
    memcpy(&d, raw, copied < sizeof d ? copied : sizeof d);
    if (size >= offsetof(tremor_plugin_descriptor, layout_count) + sizeof d.layout_count) {
        uint32_t rows = d.layout_count > MAX_LAYOUT_ROWS ? MAX_LAYOUT_ROWS : d.layout_count;
        dump_block("layout", d.layout, (size_t)rows * sizeof(tremor_layout_entry));
    }
    if (size >= offsetof(tremor_plugin_descriptor, name) + sizeof d.name) dump_string("name", d.name, MAX_NAME);
    if (size >= offsetof(tremor_plugin_descriptor, version) + sizeof d.version) dump_string("version", d.version, MAX_NAME);
    if (size >= offsetof(tremor_plugin_descriptor, config_schema) + sizeof d.config_schema) dump_string("config_schema", d.config_schema, MAX_SCHEMA);
    if (size >= offsetof(tremor_plugin_descriptor, default_codec) + sizeof d.default_codec) dump_string("default_codec", d.default_codec, MAX_NAME);
    if (size >= offsetof(tremor_plugin_descriptor, vtable) + sizeof d.vtable) {
        if (d.vtable == NULL) {
            fprintf(g_out, "null vtable\n");
        } else if (guarded_copy((unsigned char *)&vtable_size, d.vtable, sizeof vtable_size) != 0) {
            fault_line("vtable", d.vtable);
        } else {
            dump_block("vtable", d.vtable, vtable_size > MAX_VTABLE ? MAX_VTABLE : (vtable_size < sizeof vtable_size ? sizeof vtable_size : vtable_size));
        }
    }
#if TREMOR_PDK_TARGET_MINOR >= 1
    if (size >= offsetof(tremor_plugin_descriptor, description) + sizeof d.description) dump_string("description", d.description, MAX_TEXT);
#endif
    fprintf(g_out, "end\n");
    fflush(g_out);
    /* No dlclose: destructors are as untrusted as constructors and there is nothing left to free. */
    _exit(0);
}
