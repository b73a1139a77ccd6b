/* leverage.c: leverage scores (exact by QR + SVD of R; approximate by a sketch and a
 * Johnson-Lindenstrauss projection, Drineas-Magdon-Ismail-Mahoney-Woodruff 2012), l_p Lewis
 * weights by the Cohen-Peng fixed point, and the independent row sampling of P007. */
#include <float.h>
#include <string.h>

#include "apx/la.h"
#include "sketch/sketch_internal.h"

double apx__rcond_default(double rcond, int64_t m, int64_t n) {
    return rcond < 0 ? (double)APX__MAX(m, n) * DBL_EPSILON : rcond;
}

int64_t apx__rank_from_sv(const double *s, int64_t k, double rcond) {
    if (k < 1 || !(s[0] > 0)) return 0;
    int64_t r = 0;
    while (r < k && s[r] > rcond * s[0]) r++;
    return r;
}

apx_status apx__sketch_svd(const char *fn, apx_dmat SA, double rcond, apx_dmat *U,
                           apx_dmat *Vt, double **sv, int64_t *rank) {
    int64_t n = SA.cols;
    APX__TRY(apx_dmat_alloc(SA.rows, n, U));
    APX__TRY(apx_dmat_alloc(n, n, Vt));
    if (!(*sv = apx__alloc(fn, (size_t)n, sizeof(double)))) return APX_ENOMEM;
    int nt = apx__sk_serial_begin();
    apx_status st = apx_la_svd(SA, *sv, U, Vt);
    apx__sk_serial_end(nt);
    APX__TRY(st);
    *rank = apx__rank_from_sv(*sv, n, rcond);
    return APX_OK;
}

// lev_i = sum_{k<r} W[i][k]^2 for W (m, >= r)
static void row_sq_norms(apx_dmat W, int64_t r, double *lev) {
#pragma omp parallel for schedule(static) if (W.rows * r >= (1 << 19))
    for (int64_t i = 0; i < W.rows; i++) {
        const double *w = W.data + i * W.ld;
        double t = 0;
        for (int64_t k = 0; k < r; k++) t += w[k] * w[k];
        lev[i] = t;
    }
}

/* ---------------------------------------------------------------- exact */

// m < n: the left singular vectors of A itself
static apx_status leverage_wide(const char *fn, apx_dmat A, double rcond, double *lev,
                                int64_t *rank) {
    int64_t m = A.rows, n = A.cols;
    apx_dmat U = {0}, Vt = {0};
    double *s = apx__alloc(fn, (size_t)m, sizeof(double));
    apx_status st = s ? apx_dmat_alloc(m, m, &U) : APX_ENOMEM;
    if (st == APX_OK) st = apx_dmat_alloc(m, n, &Vt);
    if (st == APX_OK) st = apx_la_svd(A, s, &U, &Vt);
    if (st == APX_OK) {
        int64_t r = apx__rank_from_sv(s, m, rcond);
        row_sq_norms(U, r, lev);
        if (rank) *rank = r;
    }
    apx_dmat_free(&U);
    apx_dmat_free(&Vt);
    apx_free(s);
    return st;
}

// m >= n: A = Q R, R = U_R S V^T; the left singular vectors are Q U_R
static apx_status leverage_tall(const char *fn, apx_dmat A, double rcond, double *lev,
                                int64_t *rank) {
    int64_t m = A.rows, n = A.cols;
    apx_dmat Q = {0}, R = {0}, UR = {0}, Vt = {0}, W = {0};
    double *s = apx__alloc(fn, (size_t)n, sizeof(double));
    apx_status st = s ? APX_OK : APX_ENOMEM;
    if (st == APX_OK) st = apx_dmat_alloc(m, n, &Q);
    if (st == APX_OK) st = apx_dmat_alloc(n, n, &R);
    if (st == APX_OK) st = apx_dmat_alloc(n, n, &UR);
    if (st == APX_OK) st = apx_dmat_alloc(n, n, &Vt);
    if (st == APX_OK) st = apx_la_qr(A, Q, R);
    if (st == APX_OK) st = apx_la_svd(R, s, &UR, &Vt);
    if (st != APX_OK) goto done;
    int64_t r = apx__rank_from_sv(s, n, rcond);
    if (rank) *rank = r;
    if (r == n) {
        row_sq_norms(Q, n, lev);
        goto done;
    }
    if ((st = apx_dmat_alloc(m, APX__MAX(r, 1), &W)) != APX_OK) goto done;
    if (r > 0) {
        // (m,r) = (m,n) x (n,r)
        apx_dmat URr = {UR.data, n, r, UR.ld};
        apx__sk_gemm(0, 0, 1.0, Q, URr, 0.0, apx_dmat_view(W.data, m, r));
    }
    row_sq_norms(W, r, lev);
done:
    apx_dmat_free(&Q);
    apx_dmat_free(&R);
    apx_dmat_free(&UR);
    apx_dmat_free(&Vt);
    apx_dmat_free(&W);
    apx_free(s);
    return st;
}

apx_status apx__leverage_exact(const char *fn, apx_dmat A, double rcond, double *lev,
                               int64_t *rank) {
    rcond = apx__rcond_default(rcond, A.rows, A.cols);
    if (A.rows < A.cols) return leverage_wide(fn, A, rcond, lev, rank);
    return leverage_tall(fn, A, rcond, lev, rank);
}

/* ---------------------------------------------------------------- approximate */

typedef struct {
    apx_dmat SA, U, Vt, N, G, NG, W;
    double *sv;
    apx_sketch_plan *plan;
} approx_work;

static void approx_free(approx_work *w) {
    apx_dmat_free(&w->SA);
    apx_dmat_free(&w->U);
    apx_dmat_free(&w->Vt);
    apx_dmat_free(&w->N);
    apx_dmat_free(&w->G);
    apx_dmat_free(&w->NG);
    apx_dmat_free(&w->W);
    apx_free(w->sv);
    apx_sketch_plan_free(w->plan);
}

static int64_t default_jl(int64_t m, int64_t r) {
    int64_t jl = (int64_t)ceil(8.0 * log((double)APX__MAX(m, 2)));
    if (jl < 16) jl = 16;
    return APX__MIN(jl, r);
}

// sketch S A (s,n) and its SVD: N = V_r Sigma_r^-1 (n,r), r the numerical rank
static apx_status approx_precond(const char *fn, apx_dmat A, const apx_leverage_opts *o,
                                 int64_t srows, approx_work *w, int64_t *r) {
    int64_t n = A.cols;
    APX__TRY(apx_sketch_plan_create(o->sketch, srows, A.rows, o->seed, NULL, &w->plan));
    APX__TRY(apx_dmat_alloc(srows, n, &w->SA));
    APX__TRY(apx__sketch_apply(fn, w->plan, A, w->SA));
    APX__TRY(apx__sketch_svd(fn, w->SA, apx__rcond_default(o->rcond, A.rows, n), &w->U,
                             &w->Vt, &w->sv, r));
    if (*r == 0) return APX_OK;
    APX__TRY(apx_dmat_alloc(n, *r, &w->N));
    for (int64_t j = 0; j < n; j++)
        for (int64_t k = 0; k < *r; k++)
            w->N.data[j * w->N.ld + k] = w->Vt.data[k * w->Vt.ld + j] / w->sv[k];
    return APX_OK;
}

static apx_status leverage_approx(const char *fn, apx_dmat A, const apx_leverage_opts *o,
                                  double *lev, int64_t *rank) {
    int64_t m = A.rows, n = A.cols;
    int64_t srows = o->sketch_rows > 0 ? o->sketch_rows : APX__MAX(20 * n, n + 1);
    if (srows < n)
        return apx__err(APX_EINVAL, "%s: sketch_rows = %lld must be >= n = %lld", fn,
                        (long long)srows, (long long)n);
    if (srows >= m || m <= n) return apx__leverage_exact(fn, A, o->rcond, lev, rank);
    approx_work w = {0};
    int64_t r = 0;
    apx_status st = approx_precond(fn, A, o, srows, &w, &r);
    if (st != APX_OK || r == 0) {
        if (st == APX_OK) memset(lev, 0, sizeof(double) * (size_t)m);
        goto done;
    }
    int64_t jl = o->jl_dim > 0 ? APX__MIN(o->jl_dim, r) : default_jl(m, r);
    apx_dmat P = w.N; // (n, q) with q = r or jl
    if (jl < r) {
        if ((st = apx_dmat_alloc(r, jl, &w.G)) != APX_OK) goto done;
        if ((st = apx_dmat_alloc(n, jl, &w.NG)) != APX_OK) goto done;
        apx_rng_fill_normal(o->seed, 1, w.G.data, r * jl);
        // (n,jl) = (n,r) x (r,jl) / sqrt(jl)
        apx__sk_gemm(0, 0, 1.0 / sqrt((double)jl), w.N, w.G, 0.0, w.NG);
        P = w.NG;
    }
    if ((st = apx_dmat_alloc(m, P.cols, &w.W)) != APX_OK) goto done;
    // (m,q) = (m,n) x (n,q)
    apx__sk_gemm(0, 0, 1.0, A, P, 0.0, w.W);
    row_sq_norms(w.W, P.cols, lev);
done:
    if (rank) *rank = r;
    approx_free(&w);
    return st;
}

apx_leverage_opts apx_leverage_opts_default(void) {
    apx_leverage_opts o = {-1.0, APX_EMBED_SPARSE_SIGN, 0, 0, 0};
    return o;
}

apx_status apx_sketch_leverage_scores(apx_dmat A, apx_leverage_method method,
                                      const apx_leverage_opts *opts, double *lev,
                                      int64_t *rank) {
    const char *fn = "leverage_scores";
    apx_leverage_opts o = opts ? *opts : apx_leverage_opts_default();
    APX__TRY(apx__check_dmat_nonempty(fn, "A", A));
    if (!lev) return apx__err(APX_EINVAL, "%s: lev is NULL", fn);
    if (method != APX_LEVERAGE_EXACT && method != APX_LEVERAGE_APPROX)
        return apx__err(APX_EINVAL, "%s: unknown method %d", fn, (int)method);
    if (!(o.rcond < 1) || isnan(o.rcond))
        return apx__err(APX_EINVAL, "%s: rcond = %g must be < 1", fn, o.rcond);
    APX__TRY(apx__check_finite(fn, "A", A));
    APX__TRY(apx__blas_ensure(fn));
    if (method == APX_LEVERAGE_EXACT) return apx__leverage_exact(fn, A, o.rcond, lev, rank);
    if (o.sketch < 0 || o.sketch >= APX_EMBED_COUNT)
        return apx__err(APX_EINVAL, "%s: unknown sketch kind %d", fn, (int)o.sketch);
    return leverage_approx(fn, A, &o, lev, rank);
}

/* ---------------------------------------------------------------- Lewis weights */

apx_lewis_opts apx_lewis_opts_default(void) {
    apx_lewis_opts o = {100, 1e-10};
    return o;
}

// one Cohen-Peng step: w_new_i = (lev_i(W^(1/2-1/p) A) * w_i^(2/p-1))^(p/2); returns the
// largest relative change
static apx_status lewis_step(const char *fn, apx_dmat A, double p, apx_dmat B, double *w,
                             double *lev, double *change) {
    for (int64_t i = 0; i < A.rows; i++) {
        double sc = w[i] > 0 ? pow(w[i], 0.5 - 1.0 / p) : 0.0;
        for (int64_t j = 0; j < A.cols; j++) B.data[i * B.ld + j] = sc * A.data[i * A.ld + j];
    }
    int64_t r = 0;
    APX__TRY(apx__leverage_exact(fn, B, -1.0, lev, &r));
    if (r < A.cols)
        return apx__err(APX_ENUMERIC, "%s: A (%lld x %lld) has numerical rank %lld; Lewis "
                        "weights need full column rank", fn, (long long)A.rows,
                        (long long)A.cols, (long long)r);
    double ch = 0;
    for (int64_t i = 0; i < A.rows; i++) {
        double nw = w[i] > 0 ? pow(lev[i] * pow(w[i], 2.0 / p - 1.0), p / 2.0) : 0.0;
        double d = w[i] > 0 ? fabs(nw - w[i]) / w[i] : 0.0;
        if (d > ch) ch = d;
        w[i] = nw;
    }
    *change = ch;
    return APX_OK;
}

apx_status apx_sketch_lewis_weights(apx_dmat A, double p, const apx_lewis_opts *opts,
                                    double *w) {
    const char *fn = "lewis_weights";
    apx_lewis_opts o = opts ? *opts : apx_lewis_opts_default();
    APX__TRY(apx__check_dmat_nonempty(fn, "A", A));
    if (!w) return apx__err(APX_EINVAL, "%s: w is NULL", fn);
    if (!(p > 0 && p < 4))
        return apx__err(APX_EINVAL, "%s: p = %g must be in (0, 4) (the Cohen-Peng iteration)",
                        fn, p);
    if (o.max_iters < 1 || !(o.tol >= 0))
        return apx__err(APX_EINVAL, "%s: max_iters = %d must be >= 1 and tol = %g >= 0", fn,
                        o.max_iters, o.tol);
    if (A.rows < A.cols)
        return apx__err(APX_ESHAPE, "%s: A is %lld x %lld; Lewis weights need m >= n", fn,
                        (long long)A.rows, (long long)A.cols);
    APX__TRY(apx__check_finite(fn, "A", A));
    APX__TRY(apx__blas_ensure(fn));
    apx_dmat B = {0};
    double *lev = apx__alloc(fn, (size_t)A.rows, sizeof(double));
    apx_status st = lev ? apx_dmat_alloc(A.rows, A.cols, &B) : APX_ENOMEM;
    for (int64_t i = 0; i < A.rows; i++) w[i] = 1.0;
    double ch = INFINITY;
    for (int it = 0; st == APX_OK && it < o.max_iters && ch > o.tol; it++)
        st = lewis_step(fn, A, p, B, w, lev, &ch);
    if (st == APX_OK && ch > o.tol)
        st = apx__err(APX_ENOCONV, "%s: relative change %.3g > tol %.3g after %d iterations",
                      fn, ch, o.tol, o.max_iters);
    apx_dmat_free(&B);
    apx_free(lev);
    return st;
}

/* ---------------------------------------------------------------- row sampling */

apx_status apx_sketch_sample_rows(const double *score, int64_t m, double m_target,
                                  uint64_t seed, int64_t *idx, double *wt, int64_t *kept) {
    const char *fn = "sample_rows";
    if (!score || !idx || !wt || !kept) return apx__err(APX_EINVAL, "%s: NULL argument", fn);
    if (m < 1) return apx__err(APX_EINVAL, "%s: m = %lld must be >= 1", fn, (long long)m);
    if (!(m_target >= 1) || !isfinite(m_target))
        return apx__err(APX_EINVAL, "%s: m_target = %g must be >= 1", fn, m_target);
    double total = 0;
    for (int64_t i = 0; i < m; i++) {
        if (!(score[i] >= 0) || !isfinite(score[i]))
            return apx__err(APX_EINVAL, "%s: score[%lld] = %g must be finite and >= 0", fn,
                            (long long)i, score[i]);
        total += score[i];
    }
    if (!(total > 0)) return apx__err(APX_EINVAL, "%s: the scores sum to 0", fn);
    apx_rng r;
    apx_rng_init(&r, seed, 0);
    int64_t k = 0;
    for (int64_t i = 0; i < m; i++) {
        double q = APX__MIN(1.0, m_target * score[i] / total);
        double u = apx_rng_uniform(&r);
        if (q > 0 && u < q) {
            idx[k] = i;
            wt[k++] = 1.0 / q;
        }
    }
    *kept = k;
    return APX_OK;
}
