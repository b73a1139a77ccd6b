/* src/regress/nonlinear_internal.h: private helpers shared by lm.c, nav.c and explain.c. */
#ifndef APX_NONLINEAR_INTERNAL_H
#define APX_NONLINEAR_INTERNAL_H

#include "apx/regress.h"
#include "core/internal.h"

/* A user callback returned rc != 0 on its call number `count`: the status (rc itself when
 * it is an apx_status 1..9, else APX_EINVAL) with a message naming `fn` and `what` ("the
 * residual callback"), keeping the callback's own apx message when it set one (the caller
 * clears the message before each callback call). */
apx_status apx__callback_fail(const char *fn, const char *what, int rc, int64_t count);

/* Index of the first non-finite entry of x (n), or -1. */
int64_t apx__first_nonfinite(const double *x, int64_t n);

/* Least squares on a design with row weights: x (n) = argmin sum_i w_i (A_i x - y_i)^2
 * (w NULL: unweighted), A (m,n) m >= n, minimum norm when rank deficient. Copies A.
 * The residual sum of squares sum_i w_i (A_i x - y_i)^2 in *rss when rss is non-NULL. */
apx_status apx__wls_solve(const char *fn, apx_dmat A, const double *y, const double *w,
                          double *x, double *rss);

/* apx_regress_lm with the reference step: the direct SVD of J D^-1 (m,n) on every Jacobian
 * instead of the QR of [J D^-1 | r] and the SVD of R (tests compare the two). */
apx_status apx__regress_lm_direct(apx_lm_problem prob, double *x, const apx_lm_opts *opts,
                                  apx_lm_info *info, double *cov);

#endif /* APX_NONLINEAR_INTERNAL_H */
