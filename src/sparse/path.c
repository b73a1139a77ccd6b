/* path.c: scikit-learn's alpha grid and the warm-started elastic-net path.
 * The centring statistics are computed once for the whole path; each alpha starts from
 * the previous solution, so its first gap is small and the gap-safe rules drop most
 * features at once (the sequential use of the rules). */
#include <string.h>

#include "sparse/sparse_internal.h"

/* alpha_max = max_j ||Xc_j^T Yc|| / (n l1_ratio)   // (p,T) = (n,p)^T x (n,T) */
static apx_status alpha_max(const char *fn, const apx__enet_prob *P, double l1_ratio,
                            double *out) {
    int64_t n = P->n, p = P->p, T = P->T;
    double *G = apx__alloc(fn, (size_t)(p * T), sizeof(double));
    if (!G) return APX_ENOMEM;
    P->kind->gradient(P, P->YcT, G); /* the centring term is sum(Yc) = 0 up to rounding */
    double best = 0;
    for (int64_t j = 0; j < p; j++) {
        double s = 0;
        for (int64_t t = 0; t < T; t++) s += G[t * p + j] * G[t * p + j];
        if (P->nrm2[j] > 0 && sqrt(s) > best) best = sqrt(s);
    }
    apx_free(G);
    *out = best / ((double)n * l1_ratio);
    return APX_OK;
}

static apx_status grid_check(const char *fn, double l1_ratio, int fit_intercept, double eps,
                             int64_t n_alphas, const double *alphas) {
    if (!isfinite(l1_ratio) || l1_ratio <= 0 || l1_ratio > 1)
        return apx__err(APX_EINVAL, "%s: l1_ratio must be in (0, 1], got %g", fn, l1_ratio);
    if (!isfinite(eps) || eps <= 0 || eps > 1)
        return apx__err(APX_EINVAL, "%s: eps must be in (0, 1], got %g", fn, eps);
    if (n_alphas < 1)
        return apx__err(APX_EINVAL, "%s: n_alphas must be >= 1, got %lld", fn,
                        (long long)n_alphas);
    if (fit_intercept != 0 && fit_intercept != 1)
        return apx__err(APX_EINVAL, "%s: fit_intercept must be 0 or 1, got %d", fn,
                        fit_intercept);
    if (!alphas) return apx__err(APX_EINVAL, "%s: alphas is NULL", fn);
    return APX_OK;
}

/* The grid of the prepared problem P (freed here). */
static apx_status grid_prob(const char *fn, apx__enet_prob *P, double l1_ratio, double eps,
                            int64_t n_alphas, double *alphas) {
    double amax = 0;
    apx_status st = alpha_max(fn, P, l1_ratio, &amax);
    apx__enet_prob_free(P);
    if (st != APX_OK) return st;
    if (!(amax > 0))
        return apx__err(APX_EINVAL, "%s: alpha_max is 0 (y is constant or orthogonal to every "
                                    "column of X): there is no path", fn);
    /* logspace(log10(eps amax), log10(amax), n)[::-1] */
    double lo = log10(eps * amax), hi = log10(amax);
    for (int64_t k = 0; k < n_alphas; k++) {
        double t = n_alphas == 1 ? 0.0 : (double)k / (double)(n_alphas - 1);
        alphas[k] = pow(10.0, hi + t * (lo - hi));
    }
    alphas[0] = amax;
    return APX_OK;
}

apx_status apx_sparse_alpha_grid(apx_dmat X, apx_dmat Y, double l1_ratio, int fit_intercept,
                                 double eps, int64_t n_alphas, double *alphas) {
    const char *fn = "alpha_grid";
    APX__TRY(grid_check(fn, l1_ratio, fit_intercept, eps, n_alphas, alphas));
    apx__enet_prob P;
    APX__TRY(apx__enet_setup(fn, X, Y, fit_intercept, &P));
    return grid_prob(fn, &P, l1_ratio, eps, n_alphas, alphas);
}

apx_status apx_sparse_alpha_grid_csr(apx_csr X, const double *y, double l1_ratio,
                                     int fit_intercept, double eps, int64_t n_alphas,
                                     double *alphas) {
    const char *fn = "alpha_grid_csr";
    APX__TRY(grid_check(fn, l1_ratio, fit_intercept, eps, n_alphas, alphas));
    if (!y) return apx__err(APX_EINVAL, "%s: y is NULL", fn);
    apx_dmat Y = {(double *)y, X.rows, 1, 1};
    apx__enet_prob P;
    APX__TRY(apx__enet_setup_csr(fn, X, Y, fit_intercept, &P));
    return grid_prob(fn, &P, l1_ratio, eps, n_alphas, alphas);
}

static apx_status path_check(const char *fn, apx_enet_opts *o, const apx_enet_opts *opts,
                             const double *y, double l1_ratio, const double *alphas,
                             int64_t n_alphas, apx_dmat coefs, int64_t p) {
    *o = opts ? *opts : apx_enet_opts_default();
    o->warm_start = 0;
    APX__TRY(apx__enet_check_opts(fn, o, 1));
    if (!y) return apx__err(APX_EINVAL, "%s: y is NULL", fn);
    if (n_alphas < 1)
        return apx__err(APX_EINVAL, "%s: n_alphas must be >= 1, got %lld", fn,
                        (long long)n_alphas);
    APX__TRY(apx__check_finite_vec(fn, "alphas", alphas, n_alphas));
    for (int64_t k = 0; k < n_alphas; k++) APX__TRY(apx__enet_check_reg(fn, alphas[k], l1_ratio));
    return apx__check_dmat_shape(fn, "coefs", coefs, n_alphas, p);
}

/* The warm-started path on the prepared problem P (freed here). */
static apx_status path_prob(const char *fn, apx__enet_prob *P, double l1_ratio,
                            const double *alphas, int64_t n_alphas, const apx_enet_opts *o,
                            apx_dmat coefs, double *intercepts, double *gaps, int *epochs) {
    double *w = apx__alloc(fn, (size_t)P->p, sizeof(double));
    apx_status st = w ? APX_OK : APX_ENOMEM, worst = APX_OK;
    int64_t bad = -1;
    apx_enet_opts inner = *o;
    memset(&inner.progress, 0, sizeof inner.progress);
    for (int64_t k = 0; k < n_alphas && st == APX_OK; k++) {
        st = apx__progress(&o->progress, fn, (double)k / (double)n_alphas, "path");
        if (st != APX_OK) break;
        apx_enet_info info;
        st = apx__enet_solve(fn, P, alphas[k], l1_ratio, &inner, w, &info);
        if (st == APX_ENOCONV) {
            worst = st;
            if (bad < 0) bad = k;
            st = APX_OK;
        }
        memcpy(coefs.data + k * coefs.ld, w, sizeof(double) * (size_t)P->p);
        if (intercepts) apx__enet_intercept(P, w, intercepts + k);
        if (gaps) gaps[k] = info.gap;
        if (epochs) epochs[k] = info.epochs;
    }
    apx_free(w);
    apx__enet_prob_free(P);
    if (st != APX_OK) return st;
    if (worst != APX_OK)
        return apx__err(worst, "%s: alpha[%lld] = %g (and maybe later ones) did not reach the "
                               "gap tolerance within opts.max_epochs", fn, (long long)bad,
                        alphas[bad]);
    return APX_OK;
}

/* Checks, setup (dense, or CSR when csr is non-NULL) and the path. */
static apx_status path_any(const char *fn, apx_dmat X, const apx_csr *csr, const double *y,
                           double l1_ratio, const double *alphas, int64_t n_alphas,
                           const apx_enet_opts *opts, apx_dmat coefs, double *intercepts,
                           double *gaps, int *epochs) {
    apx_enet_opts o;
    int64_t n = csr ? csr->rows : X.rows, p = csr ? csr->cols : X.cols;
    APX__TRY(path_check(fn, &o, opts, y, l1_ratio, alphas, n_alphas, coefs, p));
    apx_dmat Y = {(double *)y, n, 1, 1};
    apx__enet_prob P;
    APX__TRY(csr ? apx__enet_setup_csr(fn, *csr, Y, o.fit_intercept, &P)
                 : apx__enet_setup(fn, X, Y, o.fit_intercept, &P));
    return path_prob(fn, &P, l1_ratio, alphas, n_alphas, &o, coefs, intercepts, gaps, epochs);
}

apx_status apx_sparse_enet_path(apx_dmat X, const double *y, double l1_ratio,
                                const double *alphas, int64_t n_alphas,
                                const apx_enet_opts *opts, apx_dmat coefs, double *intercepts,
                                double *gaps, int *epochs) {
    return path_any("enet_path", X, NULL, y, l1_ratio, alphas, n_alphas, opts, coefs,
                    intercepts, gaps, epochs);
}

apx_status apx_sparse_enet_path_csr(apx_csr X, const double *y, double l1_ratio,
                                    const double *alphas, int64_t n_alphas,
                                    const apx_enet_opts *opts, apx_dmat coefs,
                                    double *intercepts, double *gaps, int *epochs) {
    apx_dmat none = {0};
    return path_any("enet_path_csr", none, &X, y, l1_ratio, alphas, n_alphas, opts, coefs,
                    intercepts, gaps, epochs);
}
