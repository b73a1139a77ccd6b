/* lp.c: l_p regression by iteratively reweighted least squares and l_inf (Chebyshev)
 * regression by Lawson's algorithm. Every weighted solve is a QR least squares on the rows
 * scaled by sqrt(w) (rank-deficient weighted problems get the minimum-norm step).
 *   1 <= p < 2: majorization-minimization of F_e(x) = sum (r_i^2 + e^2)^(p/2) (each step
 *               decreases F_e); e starts at ||r||_inf of the least-squares fit and drops by
 *               10 whenever F_e stalls (relative decrease < 1e-3), down to eps ||b||_inf;
 *               for p = 1, every 10 steps, a crossover to the LP vertex through the n rows of
 *               smallest residual, accepted when its dual certificate holds (exact optimum);
 *   p > 2:      Newton on sum |r_i|^p: the IRLS step (weights |r_i|^(p-2)) divided by p - 1,
 *               with step halving until the cost decreases;
 *   l_inf:      Lawson: w <- w |r| / sum w |r|; each weighted fit gives the lower bound
 *               sqrt(sum w r^2) <= OPT (sum w = 1), each iterate the upper bound max |r|. */
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apx/la.h"
#include "regress/lstsq_internal.h"

apx_lp_opts apx_lp_opts_default(void) {
    apx_lp_opts o;
    memset(&o, 0, sizeof o);
    o.max_iters = 0; /* 200 (l_p) or 2000 (l_inf) */
    o.tol = -1;      /* 1e-10 (l_p) or 1e-6 (l_inf) */
    o.eps = 1e-10;
    return o;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    const char *fn;
    apx_dmat A;
    const double *b;
    int64_t m, n;
    apx_dmat Aw; /* (m,n) scratch */
    double *bw, *w, *r, *xt; /* m, m, m, n */
} lp_work;

// r = b - A x
static void residual(const lp_work *L, const double *x, double *r) {
    for (int64_t i = 0; i < L->m; i++) {
        const double *a = L->A.data + i * L->A.ld;
        double s = L->b[i];
        for (int64_t j = 0; j < L->n; j++) s -= a[j] * x[j];
        r[i] = s;
    }
}

// x (n) = argmin sum w_i (a_i x - b_i)^2
static apx_status wls(lp_work *L, const double *w, double *x) {
    for (int64_t i = 0; i < L->m; i++) {
        double sq = sqrt(w[i]);
        const double *a = L->A.data + i * L->A.ld;
        double *o = L->Aw.data + i * L->Aw.ld;
        for (int64_t j = 0; j < L->n; j++) o[j] = sq * a[j];
        L->bw[i] = sq * L->b[i];
    }
    int64_t rank;
    double rc = (double)APX__MAX(L->m, L->n) * DBL_EPSILON;
    return apx__lstsq_qr(L->fn, L->Aw, apx_dmat_view(L->bw, L->m, 1), apx_dmat_view(x, L->n, 1),
                         rc, &rank);
}

static double lp_cost(const double *r, int64_t m, double p) {
    double s = 0;
    for (int64_t i = 0; i < m; i++) s += pow(fabs(r[i]), p);
    return s;
}

static double smooth_cost(const double *r, int64_t m, double p, double e) {
    double s = 0;
    for (int64_t i = 0; i < m; i++) s += pow(r[i] * r[i] + e * e, 0.5 * p);
    return s;
}

static double inf_norm(const double *v, int64_t m) {
    double s = 0;
    for (int64_t i = 0; i < m; i++) s = APX__MAX(s, fabs(v[i]));
    return s;
}

static apx_status prog(const apx_lp_opts *o, const char *fn, int it, int maxit) {
    if (!o->progress.fn || it % 8) return APX_OK;
    return apx__progress(&o->progress, fn, (double)it / maxit, fn);
}

/* ---------------------------------------------------------------- p = 1 crossover */

typedef struct {
    double v;
    int64_t i;
} vi_pair;

static int cmp_vi(const void *a, const void *b) {
    double x = ((const vi_pair *)a)->v, y = ((const vi_pair *)b)->v;
    return (x > y) - (x < y);
}

// The l_1 problem is an LP whose optima include a vertex: x interpolating n rows Z. The
// crossover starts from the n rows of smallest |r| of the IRLS iterate and runs
// Barrodale-Roberts style pivots: with the dual g_Z from A_Z^T g_Z = -A_N^T sign(r_N), the
// vertex is optimal iff |g_Z| <= 1; otherwise leave the row k of largest |g_k| along
// d = A_Z^-1 e_k, to the minimum of the convex piecewise-linear cost on that line (a
// weighted median of the breakpoints r_i / (a_i d)), where a new row enters Z.
typedef struct {
    int64_t *Z;           /* n rows of the vertex */
    double *M, *rhs, *v;  /* n x n, n, n */
    vi_pair *bp;          /* m breakpoints */
    double *c;            /* m: A d */
} l1_work;

// v = A_Z^-1 rhs (trans: A_Z^-T); APX_ENUMERIC when singular
static apx_status z_solve(lp_work *L, l1_work *W, int trans) {
    int64_t n = L->n;
    for (int64_t k = 0; k < n; k++) {
        const double *a = L->A.data + W->Z[k] * L->A.ld;
        for (int64_t j = 0; j < n; j++) {
            if (trans) W->M[j * n + k] = a[j];
            else W->M[k * n + j] = a[j];
        }
    }
    return apx_la_solve(apx_dmat_view(W->M, n, n), apx_dmat_view(W->rhs, n, 1),
                        apx_dmat_view(W->v, n, 1));
}

// max |g_k| of the dual on Z, its position in *kmax; r = b - A x
static apx_status l1_dual(lp_work *L, l1_work *W, const double *r, double *gmax, int64_t *kmax) {
    int64_t m = L->m, n = L->n;
    for (int64_t j = 0; j < n; j++) W->rhs[j] = 0;
    for (int64_t i = 0; i < m; i++) W->c[i] = 1; // mark: not in Z
    for (int64_t k = 0; k < n; k++) W->c[W->Z[k]] = 0;
    for (int64_t i = 0; i < m; i++) {
        if (W->c[i] == 0 || r[i] == 0) continue;
        const double *a = L->A.data + i * L->A.ld;
        double sg = r[i] > 0 ? 1.0 : -1.0;
        for (int64_t j = 0; j < n; j++) W->rhs[j] -= sg * a[j];
    }
    APX__TRY(z_solve(L, W, 1));
    *gmax = 0;
    for (int64_t k = 0; k < n; k++)
        if (fabs(W->v[k]) > *gmax) *gmax = fabs(W->v[k]), *kmax = k;
    return APX_OK;
}

// one pivot on row k of Z: x += t d, the entering row replaces Z[k]; *moved = 0 when no
// descent along d was found
static apx_status l1_pivot(lp_work *L, l1_work *W, double *x, double *r, int64_t k, int *moved) {
    int64_t m = L->m, n = L->n, nb = 0;
    for (int64_t j = 0; j < n; j++) W->rhs[j] = j == k;
    APX__TRY(z_solve(L, W, 0)); // d in v
    double wsum = 0;
    for (int64_t i = 0; i < m; i++) {
        const double *a = L->A.data + i * L->A.ld;
        double ci = 0;
        for (int64_t j = 0; j < n; j++) ci += a[j] * W->v[j];
        W->c[i] = ci;
        if (ci != 0) W->bp[nb].v = r[i] / ci, W->bp[nb++].i = i, wsum += fabs(ci);
    }
    qsort(W->bp, (size_t)nb, sizeof *W->bp, cmp_vi);
    double acc = 0;
    int64_t q = 0;
    while (q < nb - 1 && (acc += fabs(W->c[W->bp[q].i])) < 0.5 * wsum) q++;
    double t = W->bp[q].v, old = 0, now = 0;
    for (int64_t i = 0; i < m; i++) old += fabs(r[i]), now += fabs(r[i] - t * W->c[i]);
    *moved = now < old * (1 - 1e-15) && W->bp[q].i != W->Z[k];
    if (!*moved) return APX_OK;
    for (int64_t j = 0; j < n; j++) x[j] += t * W->v[j];
    for (int64_t i = 0; i < m; i++) r[i] -= t * W->c[i];
    W->Z[k] = W->bp[q].i;
    r[W->Z[k]] = 0;
    return APX_OK;
}

static apx_status l1_vertex_loop(lp_work *L, l1_work *W, double *xv, int *certified) {
    int64_t m = L->m, n = L->n;
    for (int64_t k = 0; k < n; k++) W->rhs[k] = L->b[W->Z[k]];
    APX__TRY(z_solve(L, W, 0));
    memcpy(xv, W->v, sizeof(double) * (size_t)n);
    residual(L, xv, L->w);
    for (int64_t k = 0; k < n; k++) L->w[W->Z[k]] = 0;
    for (int64_t piv = 0; piv <= 10 * n + 10; piv++) {
        double gmax = 0;
        int64_t kmax = 0;
        int moved = 0;
        APX__TRY(l1_dual(L, W, L->w, &gmax, &kmax));
        if (gmax <= 1 + 1e-9) {
            *certified = 1;
            return APX_OK;
        }
        APX__TRY(l1_pivot(L, W, xv, L->w, kmax, &moved));
        if (!moved) return APX_OK;
    }
    (void)m;
    return APX_OK;
}

// Z = the first n linearly independent rows in the order of W->bp (smallest |r| first),
// by Gram-Schmidt against the rows taken so far (Q in W->M, (n,n)); a plain "n smallest"
// choice is singular when a column is non-zero in a few rows only. 0 if rank(A) < n.
static int pick_vertex(lp_work *L, l1_work *W) {
    int64_t m = L->m, n = L->n, k = 0;
    double *q = W->M, *u = W->rhs;
    for (int64_t t = 0; t < m && k < n; t++) {
        const double *a = L->A.data + W->bp[t].i * L->A.ld;
        double na = 0, nu = 0;
        for (int64_t j = 0; j < n; j++) u[j] = a[j], na += a[j] * a[j];
        for (int pass = 0; pass < 2; pass++) // twice is enough (Kahan)
            for (int64_t c = 0; c < k; c++) {
                double d = 0;
                for (int64_t j = 0; j < n; j++) d += q[c * n + j] * u[j];
                for (int64_t j = 0; j < n; j++) u[j] -= d * q[c * n + j];
            }
        for (int64_t j = 0; j < n; j++) nu += u[j] * u[j];
        if (!(nu > 1e-16 * na) || na == 0) continue;
        for (int64_t j = 0; j < n; j++) q[k * n + j] = u[j] / sqrt(nu);
        W->Z[k++] = W->bp[t].i;
    }
    return k == n;
}

static apx_status l1_crossover(lp_work *L, double *x, int *certified) {
    int64_t m = L->m, n = L->n;
    *certified = 0;
    l1_work W;
    memset(&W, 0, sizeof W);
    W.Z = apx__alloc(L->fn, (size_t)n, sizeof(int64_t));
    W.M = apx__alloc(L->fn, (size_t)(n * n + 3 * n), sizeof(double));
    W.bp = apx__alloc(L->fn, (size_t)m, sizeof(vi_pair));
    W.c = apx__alloc(L->fn, (size_t)m, sizeof(double));
    apx_status st = (W.Z && W.M && W.bp && W.c) ? APX_OK : APX_ENOMEM;
    if (st == APX_OK) {
        W.rhs = W.M + n * n, W.v = W.rhs + n;
        double *xv = W.v + n;
        for (int64_t i = 0; i < m; i++) W.bp[i].v = fabs(L->r[i]), W.bp[i].i = i;
        qsort(W.bp, (size_t)m, sizeof *W.bp, cmp_vi);
        apx_status s2 = pick_vertex(L, &W) ? l1_vertex_loop(L, &W, xv, certified) : APX_OK;
        if (s2 == APX_OK && *certified) {
            memcpy(x, xv, sizeof(double) * (size_t)n);
            residual(L, x, L->r);
        }
        if (s2 == APX_ENOMEM) st = s2;
        apx_clear_error(); // a singular vertex system is not an error: IRLS goes on
    }
    apx_free(W.Z);
    apx_free(W.M);
    apx_free(W.bp);
    apx_free(W.c);
    return st;
}

/* ---------------------------------------------------------------- p < 2 */

static apx_status irls_small_p(lp_work *L, double p, double *x, const apx_lp_opts *o,
                               int maxit, double tol, apx_lp_info *inf) {
    int64_t m = L->m;
    residual(L, x, L->r);
    double emin = o->eps * APX__MAX(inf_norm(L->b, m), DBL_MIN);
    double e = APX__MAX(inf_norm(L->r, m), emin);
    double F = smooth_cost(L->r, m, p, e);
    for (int it = 1; it <= maxit; it++) {
        for (int64_t i = 0; i < m; i++) L->w[i] = pow(L->r[i] * L->r[i] + e * e, 0.5 * (p - 2));
        APX__TRY(wls(L, L->w, x));
        residual(L, x, L->r);
        double Fn = smooth_cost(L->r, m, p, e), rel = (F - Fn) / Fn;
        inf->iterations = it;
        if (p == 1 && (it % 10 == 0 || e <= emin)) { // try the exact vertex
            int cert = 0;
            APX__TRY(l1_crossover(L, x, &cert));
            if (cert) {
                inf->converged = 1;
                return APX_OK;
            }
        }
        if (e <= emin && fabs(rel) <= tol) {
            inf->converged = 1;
            return APX_OK;
        }
        if (rel <= 1e-3 && e > emin) {
            e = APX__MAX(e / 10, emin);
            Fn = smooth_cost(L->r, m, p, e);
        }
        F = Fn;
        APX__TRY(prog(o, L->fn, it, maxit));
    }
    return APX_OK;
}

/* ---------------------------------------------------------------- p > 2 */

static apx_status newton_large_p(lp_work *L, double p, double *x, const apx_lp_opts *o,
                                 int maxit, double tol, apx_lp_info *inf) {
    int64_t m = L->m, n = L->n;
    residual(L, x, L->r);
    double f = lp_cost(L->r, m, p);
    for (int it = 1; it <= maxit; it++) {
        for (int64_t i = 0; i < m; i++) L->w[i] = pow(fabs(L->r[i]), p - 2);
        APX__TRY(wls(L, L->w, L->xt));
        for (int64_t j = 0; j < n; j++) L->xt[j] = (L->xt[j] - x[j]) / (p - 1); // direction
        double t = 1, ft = f;
        for (int h = 0; h < 40; h++, t *= 0.5) {
            for (int64_t j = 0; j < n; j++) L->bw[j] = x[j] + t * L->xt[j];
            residual(L, L->bw, L->r);
            ft = lp_cost(L->r, m, p);
            if (ft <= f) break;
        }
        inf->iterations = it;
        if (!(ft <= f)) { // no decrease along the Newton direction: at the minimum
            residual(L, x, L->r);
            inf->converged = 1;
            return APX_OK;
        }
        memcpy(x, L->bw, sizeof(double) * (size_t)n);
        double rel = (f - ft) / APX__MAX(ft, DBL_MIN);
        f = ft;
        if (rel <= tol) {
            inf->converged = 1;
            return APX_OK;
        }
        APX__TRY(prog(o, L->fn, it, maxit));
    }
    return APX_OK;
}

/* ---------------------------------------------------------------- setup */

static apx_status check_lp(const char *fn, apx_dmat A, const double *b, const double *x,
                           const apx_lp_opts *o) {
    APX__TRY(apx__check_dmat_nonempty(fn, "A", A));
    if (A.rows < A.cols)
        return apx__err(APX_ESHAPE, "%s: A is %lld x %lld; needs m >= n", fn, (long long)A.rows,
                        (long long)A.cols);
    if (!b || !x) return apx__err(APX_EINVAL, "%s: b or x is NULL", fn);
    if (!(o->eps > 0) || !isfinite(o->eps) || isnan(o->tol))
        return apx__err(APX_EINVAL, "%s: eps = %g must be > 0 and tol = %g a number", fn, o->eps,
                        o->tol);
    APX__TRY(apx__check_finite(fn, "A", A));
    APX__TRY(apx__check_finite_vec(fn, "b", b, A.rows));
    APX__TRY(apx__check_blas_size(fn, A));
    return apx__blas_ensure(fn);
}

static void lp_free(lp_work *L) {
    apx_dmat_free(&L->Aw);
    apx_free(L->bw);
}

static apx_status lp_alloc(const char *fn, apx_dmat A, const double *b, lp_work *L) {
    memset(L, 0, sizeof *L);
    L->fn = fn, L->A = A, L->b = b, L->m = A.rows, L->n = A.cols;
    APX__TRY(apx_dmat_alloc(A.rows, A.cols, &L->Aw));
    int64_t m = A.rows, n = A.cols;
    if (!(L->bw = apx__alloc(fn, (size_t)(3 * m + n + APX__MAX(m, n)), sizeof(double))))
        return APX_ENOMEM;
    L->w = L->bw + APX__MAX(m, n), L->r = L->w + m, L->xt = L->r + m;
    return APX_OK;
}

apx_status apx_regress_lp(apx_dmat A, const double *b, double p, double *x,
                          const apx_lp_opts *opts, apx_lp_info *info) {
    const char *fn = "lp_regression";
    double t0 = now_s();
    apx_lp_opts o = opts ? *opts : apx_lp_opts_default();
    APX__TRY(check_lp(fn, A, b, x, &o));
    if (!(p >= 1) || !isfinite(p))
        return apx__err(APX_EINVAL, "%s: p = %g must be in [1, inf) (use linf_regression for "
                        "p = inf)", fn, p);
    int maxit = o.max_iters > 0 ? o.max_iters : 200;
    double tol = o.tol >= 0 ? o.tol : 1e-10;
    apx_lp_info inf;
    memset(&inf, 0, sizeof inf);
    lp_work L;
    apx_status st = lp_alloc(fn, A, b, &L);
    for (int64_t i = 0; st == APX_OK && i < A.rows; i++) L.w[i] = 1.0;
    if (st == APX_OK) st = wls(&L, L.w, x); // the least-squares start
    if (st == APX_OK && p == 2) inf.converged = 1;
    else if (st == APX_OK && p < 2) st = irls_small_p(&L, p, x, &o, maxit, tol, &inf);
    else if (st == APX_OK) st = newton_large_p(&L, p, x, &o, maxit, tol, &inf);
    if (st == APX_OK) {
        residual(&L, x, L.r);
        inf.cost = pow(lp_cost(L.r, A.rows, p), 1.0 / p);
    }
    lp_free(&L);
    inf.seconds = now_s() - t0;
    if (info) *info = inf;
    if (st == APX_OK && !inf.converged)
        st = apx__err(APX_ENOCONV, "%s: IRLS for p = %g did not reach tol = %g in %d steps "
                      "(cost %.6g)", fn, p, tol, maxit, inf.cost);
    return st;
}

/* ---------------------------------------------------------------- l_inf */

static apx_status lawson(lp_work *L, double *x, const apx_lp_opts *o, int maxit, double tol,
                         apx_lp_info *inf) {
    int64_t m = L->m, n = L->n;
    double ub = INFINITY, lb = 0;
    for (int64_t i = 0; i < m; i++) L->w[i] = 1.0 / (double)m;
    for (int it = 1; it <= maxit; it++) {
        APX__TRY(wls(L, L->w, L->xt));
        residual(L, L->xt, L->r);
        double u = inf_norm(L->r, m), s = 0, z = 0;
        for (int64_t i = 0; i < m; i++) s += L->w[i] * L->r[i] * L->r[i];
        lb = APX__MAX(lb, sqrt(s));
        if (u < ub) {
            ub = u;
            memcpy(x, L->xt, sizeof(double) * (size_t)n);
        }
        inf->iterations = it;
        if (ub - lb <= tol * ub) {
            inf->converged = 1;
            break;
        }
        for (int64_t i = 0; i < m; i++) z += L->w[i] * fabs(L->r[i]);
        if (!(z > 0)) { // every weighted residual is zero: the weighted fit is exact
            inf->converged = 1;
            break;
        }
        for (int64_t i = 0; i < m; i++) L->w[i] = L->w[i] * fabs(L->r[i]) / z;
        APX__TRY(prog(o, L->fn, it, maxit));
    }
    inf->cost = ub;
    inf->lower_bound = lb;
    return APX_OK;
}

apx_status apx_regress_linf(apx_dmat A, const double *b, double *x, const apx_lp_opts *opts,
                            apx_lp_info *info) {
    const char *fn = "linf_regression";
    double t0 = now_s();
    apx_lp_opts o = opts ? *opts : apx_lp_opts_default();
    APX__TRY(check_lp(fn, A, b, x, &o));
    int maxit = o.max_iters > 0 ? o.max_iters : 2000;
    double tol = o.tol >= 0 ? o.tol : 1e-6;
    apx_lp_info inf;
    memset(&inf, 0, sizeof inf);
    lp_work L;
    apx_status st = lp_alloc(fn, A, b, &L);
    if (st == APX_OK) st = lawson(&L, x, &o, maxit, tol, &inf);
    lp_free(&L);
    inf.seconds = now_s() - t0;
    if (info) *info = inf;
    if (st == APX_OK && !inf.converged)
        st = apx__err(APX_ENOCONV, "%s: Lawson's gap (%.6g - %.6g) / %.6g > tol = %g after %d "
                      "steps", fn, inf.cost, inf.lower_bound, inf.cost, tol, maxit);
    return st;
}
