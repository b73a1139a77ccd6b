/* sample.c: row sampling of a matrix by method (uniform, leverage, approximate leverage,
 * Lewis weights, l_p sensitivities, root leverage, projection DPP, volume, the leverage +
 * sensitivity mixture for p > 2) and l_p regression on such a sample (P007). */
#include <string.h>
#include <time.h>

#include "apx/regress.h"
#include "sketch/sketch_internal.h"

static const char *method_names[APX_SAMPLE_COUNT] = {
    "uniform", "leverage", "approx-leverage", "lewis", "sensitivity", "root-leverage", "dpp",
    "volume", "mixed"};

const char *apx_sample_method_name(apx_sample_method m) {
    return (m >= 0 && m < APX_SAMPLE_COUNT) ? method_names[m] : NULL;
}

apx_status apx_sample_method_parse(const char *text, apx_sample_method *m) {
    if (!text || !m) return apx__err(APX_EINVAL, "sample_method_parse: NULL argument");
    char buf[32];
    size_t n = strlen(text);
    if (n < sizeof buf) {
        for (size_t i = 0; i <= n; i++) buf[i] = text[i] == '_' ? '-' : text[i];
        for (int k = 0; k < APX_SAMPLE_COUNT; k++)
            if (!strcmp(buf, method_names[k])) return *m = (apx_sample_method)k, APX_OK;
    }
    return apx__err(APX_EINVAL, "sample_method_parse: unknown method '%s' (uniform, leverage, "
                    "approx-leverage, lewis, sensitivity, root-leverage, dpp, volume, mixed)",
                    text);
}

/* P007's mixture for p > 2: sc (N) = tau / sum tau + s / sum s, the sum of the normalized
 * leverage-score and l_p sensitivity distributions (each sums to 1, so sc sums to 2). */
static apx_status mixed_scores(apx_dmat A, double p, double *sc) {
    int64_t N = A.rows;
    double *tau = apx__alloc("sample", (size_t)N, sizeof(double)), st_tau = 0, st_s = 0;
    if (!tau) return APX_ENOMEM;
    apx_status st = apx_sketch_leverage_scores(A, APX_LEVERAGE_EXACT, NULL, tau, NULL);
    if (st == APX_OK) st = apx_sketch_lp_sensitivities(A, p, NULL, sc, NULL);
    for (int64_t i = 0; st == APX_OK && i < N; i++) st_tau += tau[i], st_s += sc[i];
    if (st == APX_OK && !(st_tau > 0 && st_s > 0))
        st = apx__err(APX_ENUMERIC, "sample: mixed scores: the leverage scores (sum %g) or "
                      "the sensitivities (sum %g) vanish", st_tau, st_s);
    for (int64_t i = 0; st == APX_OK && i < N; i++) sc[i] = tau[i] / st_tau + sc[i] / st_s;
    apx_free(tau);
    return st;
}

// the sampling scores (N) of a score method
static apx_status method_scores(apx_dmat A, apx_sample_method method, double p, double *sc) {
    int64_t N = A.rows;
    switch (method) {
    case APX_SAMPLE_UNIFORM:
        for (int64_t i = 0; i < N; i++) sc[i] = 1.0;
        return APX_OK;
    case APX_SAMPLE_LEVERAGE:
        return apx_sketch_leverage_scores(A, APX_LEVERAGE_EXACT, NULL, sc, NULL);
    case APX_SAMPLE_APPROX_LEVERAGE:
        return apx_sketch_leverage_scores(A, APX_LEVERAGE_APPROX, NULL, sc, NULL);
    case APX_SAMPLE_LEWIS:
        return apx_sketch_lewis_weights(A, p, NULL, sc);
    case APX_SAMPLE_SENSITIVITY:
        return apx_sketch_lp_sensitivities(A, p, NULL, sc, NULL);
    case APX_SAMPLE_MIXED:
        return mixed_scores(A, p, sc);
    default:
        return apx_sketch_sensitivity_bounds(A, p, APX_SENS_BOUND_ROOT_LEVERAGE, sc);
    }
}

// DPP (exactly n rows) or volume sampling (k rows) with inverse-inclusion weights
static apx_status structured(const char *fn, apx_dmat A, apx_sample_method method, double mt,
                             uint64_t seed, int64_t *idx, double *wt, int64_t *kept) {
    int64_t n = A.cols;
    if (method == APX_SAMPLE_DPP && mt != 0 && mt != (double)n)
        return apx__err(APX_EINVAL, "%s: dpp takes exactly n = %lld rows, not m_target = %g",
                        fn, (long long)n, mt);
    double k = method == APX_SAMPLE_DPP ? (double)n : mt;
    if (k != floor(k) || k < (double)n || k > (double)A.rows)
        return apx__err(APX_EINVAL, "%s: volume sampling takes an integer m_target in [n, N] "
                        "= [%lld, %lld], got %g", fn, (long long)n, (long long)A.rows, mt);
    APX__TRY(apx_sketch_volume_sample(A, (int64_t)k, seed, idx, wt));
    *kept = (int64_t)k;
    return APX_OK;
}

apx_status apx_sketch_sample(apx_dmat A, apx_sample_method method, double m_target, double p,
                             uint64_t seed, int64_t *idx, double *wt, int64_t *kept) {
    const char *fn = "sample";
    APX__TRY(apx__check_dmat_nonempty(fn, "A", A));
    if (!idx || !wt || !kept) return apx__err(APX_EINVAL, "%s: idx, wt or kept is NULL", fn);
    if (method < 0 || method >= APX_SAMPLE_COUNT)
        return apx__err(APX_EINVAL, "%s: unknown method %d", fn, (int)method);
    if (!isfinite(m_target) || (m_target < 1 && !(method == APX_SAMPLE_DPP && m_target == 0)))
        return apx__err(APX_EINVAL, "%s: m_target = %g must be >= 1", fn, m_target);
    if (method == APX_SAMPLE_MIXED && !(p > 2 && isfinite(p)))
        return apx__err(APX_EINVAL, "%s: method mixed (leverage + l_p sensitivity) is for "
                        "p > 2, got p = %g (use sensitivity or root-leverage for p <= 2)", fn, p);
    if (method == APX_SAMPLE_DPP || method == APX_SAMPLE_VOLUME)
        return structured(fn, A, method, m_target, seed, idx, wt, kept);
    double *sc = apx__alloc(fn, (size_t)A.rows, sizeof(double));
    if (!sc) return APX_ENOMEM;
    apx_status st = method_scores(A, method, p, sc);
    if (st == APX_OK) st = apx_sketch_sample_rows(sc, A.rows, m_target, seed, idx, wt, kept);
    apx_free(sc);
    return st;
}

/* ---------------------------------------------------------------- regression on a sample */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ||A x - b||_p over all rows
static double full_cost(apx_dmat A, const double *b, const double *x, double p) {
    double s = 0;
    for (int64_t i = 0; i < A.rows; i++) {
        const double *a = A.data + i * A.ld;
        double r = -b[i];
        for (int64_t j = 0; j < A.cols; j++) r += a[j] * x[j];
        s += pow(fabs(r), p);
    }
    return pow(s, 1.0 / p);
}

// the kept rows of A scaled by wt^(1/p) into S (kept, n) and b into sb
static void gather_scaled(apx_dmat A, const double *b, const int64_t *idx, const double *wt,
                          int64_t kept, double p, apx_dmat S, double *sb) {
    for (int64_t t = 0; t < kept; t++) {
        const double *a = A.data + idx[t] * A.ld;
        double f = pow(wt[t], 1.0 / p);
        for (int64_t j = 0; j < A.cols; j++) S.data[t * S.ld + j] = f * a[j];
        sb[t] = f * b[idx[t]];
    }
}

static apx_status check_regress(const char *fn, apx_dmat A, const double *b, double p,
                                const double *x) {
    APX__TRY(apx__check_dmat_nonempty(fn, "A", A));
    if (!b || !x) return apx__err(APX_EINVAL, "%s: b or x is NULL", fn);
    if (!(p >= 1) || !isfinite(p))
        return apx__err(APX_EINVAL, "%s: p = %g must be a finite number >= 1", fn, p);
    APX__TRY(apx__check_finite(fn, "A", A));
    return apx__check_finite_vec(fn, "b", b, A.rows);
}

static apx_status check_sample(const char *fn, apx_dmat A, const int64_t *idx,
                               const double *wt, int64_t kept) {
    if (!idx || !wt) return apx__err(APX_EINVAL, "%s: idx or wt is NULL", fn);
    if (kept < A.cols)
        return apx__err(APX_ESHAPE, "%s: the sample has %lld rows < n = %lld", fn,
                        (long long)kept, (long long)A.cols);
    for (int64_t t = 0; t < kept; t++)
        if (idx[t] < 0 || idx[t] >= A.rows || !(wt[t] > 0) || !isfinite(wt[t]))
            return apx__err(APX_EINVAL, "%s: sample entry %lld: row %lld (of %lld), weight %g "
                            "(must be > 0)", fn, (long long)t, (long long)idx[t],
                            (long long)A.rows, wt[t]);
    return APX_OK;
}

static apx_status regress_rows(const char *fn, apx_dmat A, const double *b, double p,
                               const int64_t *idx, const double *wt, int64_t kept, double *x,
                               apx_sampled_lp_info *info) {
    apx_dmat S = {0};
    double *sb = apx__alloc(fn, (size_t)kept, sizeof(double)), c = 0;
    apx_status st = sb ? apx_dmat_alloc(kept, A.cols, &S) : APX_ENOMEM;
    if (st == APX_OK) {
        gather_scaled(A, b, idx, wt, kept, p, S, sb);
        st = p == 1 ? apx__l1_regress_exact(fn, S, sb, x, &c)
                    : apx_regress_lp(S, sb, p, x, NULL, NULL);
    }
    if (info && (st == APX_OK || st == APX_ENOCONV))
        info->kept = kept, info->cost = full_cost(A, b, x, p);
    apx_free(sb);
    apx_dmat_free(&S);
    return st;
}

apx_status apx_sketch_lp_regress_sample(apx_dmat A, const double *b, double p,
                                        const int64_t *idx, const double *wt, int64_t kept,
                                        double *x, apx_sampled_lp_info *info) {
    const char *fn = "lp_regress_sample";
    double t0 = now_s();
    if (info) memset(info, 0, sizeof *info);
    APX__TRY(check_regress(fn, A, b, p, x));
    APX__TRY(check_sample(fn, A, idx, wt, kept));
    apx_status st = regress_rows(fn, A, b, p, idx, wt, kept, x, info);
    if (info) info->seconds = now_s() - t0;
    return st;
}

apx_status apx_sketch_sampled_lp_regress(apx_dmat A, const double *b, double p,
                                         apx_sample_method method, double m_target,
                                         uint64_t seed, double *x, apx_sampled_lp_info *info) {
    const char *fn = "sampled_lp_regress";
    double t0 = now_s();
    if (info) memset(info, 0, sizeof *info);
    APX__TRY(check_regress(fn, A, b, p, x));
    int64_t N = A.rows, n = A.cols, kept = 0;
    apx_dmat C = {0};
    int64_t *idx = apx__alloc(fn, (size_t)N, sizeof(int64_t));
    double *wt = apx__alloc(fn, (size_t)N, sizeof(double));
    apx_status st = idx && wt ? apx_dmat_alloc(N, n + 1, &C) : APX_ENOMEM;
    if (st != APX_OK) goto done;
    for (int64_t i = 0; i < N; i++) {
        memcpy(C.data + i * C.ld, A.data + i * A.ld, sizeof(double) * (size_t)n);
        C.data[i * C.ld + n] = b[i];
    }
    if ((st = apx_sketch_sample(C, method, m_target, p, seed, idx, wt, &kept)) != APX_OK)
        goto done;
    if (kept < n) {
        st = apx__err(APX_ESHAPE, "%s: the %s sample kept %lld rows < n = %lld; raise "
                      "m_target", fn, apx_sample_method_name(method), (long long)kept,
                      (long long)n);
        goto done;
    }
    st = regress_rows(fn, A, b, p, idx, wt, kept, x, info);
done:
    if (info) info->seconds = now_s() - t0;
    apx_free(idx);
    apx_free(wt);
    apx_dmat_free(&C);
    return st;
}
