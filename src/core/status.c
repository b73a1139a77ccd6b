/* status.c: status strings and the thread-local last-error message. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local char last_error[1024];

static const char *const status_names[] = {
    [APX_OK] = "success",
    [APX_EINVAL] = "invalid argument",
    [APX_ESHAPE] = "shape mismatch",
    [APX_ENOMEM] = "out of memory",
    [APX_EIO] = "input/output error",
    [APX_EFORMAT] = "malformed input",
    [APX_ENOCONV] = "did not converge",
    [APX_ENUMERIC] = "numerical failure",
    [APX_ECANCELED] = "canceled",
    [APX_EUNSUPPORTED] = "unsupported",
};

const char *apx_strerror(apx_status s) {
    if ((int)s < 0 || (size_t)s >= sizeof status_names / sizeof status_names[0])
        return "unknown status";
    return status_names[s];
}

const char *apx_last_error(void) { return last_error; }

void apx_clear_error(void) { last_error[0] = '\0'; }

/* Formats into a scratch buffer first, so that an argument may be apx_last_error() itself
 * (wrapping a lower layer's message: apx__err(s, "solve: %s", apx_last_error())). */
apx_status apx__err(apx_status s, const char *fmt, ...) {
    char tmp[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(last_error, tmp, sizeof last_error);
    return s;
}

apx_status apx__progress(const apx_progress *p, const char *fn, double fraction,
                         const char *message) {
    if (!p || !p->fn) return APX_OK;
    if (p->fn(p->ctx, fraction, message ? message : ""))
        return apx__err(APX_ECANCELED, "%s: canceled by the progress callback at %.0f%%", fn,
                        100.0 * fraction);
    return APX_OK;
}
