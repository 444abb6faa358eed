/*
 * libtremor-crash-shim: names the plugin and call when the runtime dies inside an in-process native plugin call.
 *
 * Tremor.Native (Connectors/CrashBreadcrumb.cs) keeps, per thread, a pointer to a prepared line in this library's
 * thread-local slot while a plugin function runs (one store before the call, one after: nothing else on the hot
 * path). On a fatal signal the handler installed here writes that line to stderr with write(2) alone
 *
 *   tremor: crashed inside plugin NAME (PATH) in CALL
 *
 * and hands the signal on to the handler that was installed before (the .NET runtime's), which decides what
 * happens next; a thread outside a plugin call prints nothing. The slot is initial-exec TLS so the handler reads it
 * without calling into the dynamic loader.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

static __thread const char *t_current __attribute__((tls_model("initial-exec")));

static const int g_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define SIGNAL_COUNT (sizeof g_signals / sizeof g_signals[0])
static struct sigaction g_previous[SIGNAL_COUNT];
static int g_installed;

static void on_fatal(int sig, siginfo_t *info, void *context)
{
    const char *line = t_current;
    size_t i, len = 0;
    struct sigaction *previous = NULL;
    if (line != NULL) {
        t_current = NULL; /* once: the runtime's own handler may abort next */
        while (line[len] != '\0') len++;
        if (write(2, line, len) < 0) {
            /* nothing to do: we are dying */
        }
    }
    for (i = 0; i < SIGNAL_COUNT; i++)
        if (g_signals[i] == sig) previous = &g_previous[i];
    if (previous == NULL) return;
    if ((previous->sa_flags & SA_SIGINFO) != 0 && previous->sa_sigaction != NULL) {
        previous->sa_sigaction(sig, info, context);
        return;
    }
    if (previous->sa_handler == SIG_IGN) return;
    if (previous->sa_handler == SIG_DFL || previous->sa_handler == NULL) {
        /* Default action: restore it; returning re-runs the fault, a raised signal is delivered on return. */
        signal(sig, SIG_DFL);
        if (sig == SIGABRT || info == NULL || info->si_code <= 0) raise(sig);
        return;
    }
    previous->sa_handler(sig);
}

/** This thread's slot: the caller stores a NUL-terminated line in it for the duration of a plugin call. */
SHIM_EXPORT const char **tremor_crash_slot(void) { return &t_current; }

/** Installs the handlers once (later calls do nothing); 0 on success. */
SHIM_EXPORT int tremor_crash_install(void)
{
    struct sigaction sa;
    size_t i;
    if (g_installed) return 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < SIGNAL_COUNT; i++)
        if (sigaction(g_signals[i], &sa, &g_previous[i]) != 0) return -1;
    g_installed = 1;
    return 0;
}
