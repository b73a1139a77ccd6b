/* sensitivity.c: l_p sensitivities (P007): exact values (p = 1 by a simplex on each row's
 * LP with a dual certificate, p = 2 the leverage scores, other p by l_p regression on the
 * complement of the row), their Lewis-weight and root-leverage upper bounds. Row sampling
 * by method and l_p regression on a sample are in sample.c. */
#include <float.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "apx/la.h"
#include "apx/regress.h"
#include "sketch/sketch_internal.h"
#include "sparse/sparse_internal.h"

apx_sensitivity_opts apx_sensitivity_opts_default(void) {
    apx_sensitivity_opts o = {0, -1.0, {NULL, NULL}};
    return o;
}

/* ---------------------------------------------------------------- p = 1: one row's LP */

/* min ||A x||_1 subject to c^T x = 1 (c = a_i). A vertex interpolates d - 1 rows Z
 * (a_z^T x = 0) besides the constraint: M x = e_0 with M = [c; a_Z] (d,d). Its dual
 * y = M^-T h, h = sum_{j not in Z} sign(r_j) a_j, gives u (u_j = sign(r_j) off Z, -y_k on
 * Z) with A^T u = y_0 c, so y_0 / max(1, max_k |y_k|) is a lower bound on the optimum and
 * the vertex is optimal iff max_k |y_k| <= 1 (then y_0 = the cost). Otherwise the edge
 * x + t s M^-1 e_k (s = -sign(y_k)) descends: the cost is convex piecewise linear in t
 * and its minimum is where the slope, starting at 1 - |y_k|, turns non-negative as the
 * breakpoints t_j = -r_j / g_j > 0 are crossed (slope += 2 |g_j| each); that row enters. */
typedef struct {
    int64_t d, N;
    int64_t *Z;        /* d - 1 rows */
    char *inZ;         /* N flags */
    double *M, *W, *v; /* d*d, d*d scratch, d */
    double *x, *dir;   /* d, d */
    double *h;         /* d: sum_{j not in Z} sign(r_j) a_j */
    double *r, *g;     /* N, N */
    double *ht;        /* heap of (t, j) pairs: N + N */
    int64_t *hj, *flip;/* N, N: rows whose residual changed sign in a pivot */
} lp1_work;

// v (d) = M^-1 rhs (trans: M^-T rhs); -1 when singular
static int m_solve(lp1_work *L, const double *rhs, int trans) {
    int64_t d = L->d;
    for (int64_t a = 0; a < d; a++)
        for (int64_t b = 0; b < d; b++) L->W[a * d + b] = trans ? L->M[b * d + a] : L->M[a * d + b];
    memcpy(L->v, rhs, sizeof(double) * (size_t)d);
    return apx__small_solve(L->W, L->v, d);
}

enum { IRLS_WARM = 3 }; /* reweighted steps before the simplex (measured: 25% fewer pivots) */

static double sgn(double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); }

// h += f a_j
static void h_add(lp1_work *L, apx_dmat A, int64_t j, double f) {
    const double *a = A.data + j * A.ld;
    for (int64_t t = 0; t < L->d; t++) L->h[t] += f * a[t];
}

// M = [c; a_Z]; x = M^-1 e_0; r = A x (0 on Z); h from scratch. -1 when singular.
static int refresh(lp1_work *L, apx_dmat A, const double *c) {
    int64_t d = L->d;
    memcpy(L->M, c, sizeof(double) * (size_t)d);
    for (int64_t k = 1; k < d; k++)
        memcpy(L->M + k * d, A.data + L->Z[k - 1] * A.ld, sizeof(double) * (size_t)d);
    memset(L->dir, 0, sizeof(double) * (size_t)d);
    L->dir[0] = 1;
    if (m_solve(L, L->dir, 0)) return -1;
    memcpy(L->x, L->v, sizeof(double) * (size_t)d);
    memset(L->h, 0, sizeof(double) * (size_t)d);
    // (N) = (N,d) x (d)
    for (int64_t j = 0; j < L->N; j++) {
        const double *a = A.data + j * A.ld;
        double s = 0;
        for (int64_t t = 0; t < d; t++) s += a[t] * L->x[t];
        L->r[j] = L->inZ[j] ? 0.0 : s;
        if (!L->inZ[j] && s != 0) h_add(L, A, j, sgn(s));
    }
    return 0;
}

// the dual y = M^-T h (in L->v); returns max_k |y_k| with its k in *kmax
static double vertex_dual(lp1_work *L, int64_t *kmax, int *bad) {
    *bad = m_solve(L, L->h, 1);
    double gmax = 0;
    *kmax = 1;
    for (int64_t k = 1; k < L->d; k++)
        if (fabs(L->v[k]) > gmax) gmax = fabs(L->v[k]), *kmax = k;
    return gmax;
}

/* ---- a binary min-heap of breakpoints (t, j) */

static void heap_down(double *t, int64_t *j, int64_t n, int64_t p) {
    for (;;) {
        int64_t c = 2 * p + 1;
        if (c >= n) return;
        if (c + 1 < n && t[c + 1] < t[c]) c++;
        if (!(t[c] < t[p])) return;
        double tt = t[p];
        int64_t tj = j[p];
        t[p] = t[c], j[p] = j[c], t[c] = tt, j[c] = tj;
        p = c;
    }
}

static void heap_build(double *t, int64_t *j, int64_t n) {
    for (int64_t p = n / 2 - 1; p >= 0; p--) heap_down(t, j, n, p);
}

// pop the smallest into (*t0, *j0)
static void heap_pop(double *t, int64_t *j, int64_t *n, double *t0, int64_t *j0) {
    *t0 = t[0], *j0 = j[0];
    (*n)--;
    t[0] = t[*n], j[0] = j[*n];
    heap_down(t, j, *n, 0);
}

// g = A delta (N) with delta = M^-1 (s e_k) in L->dir, s = -sign(y_k); the slope of the
// cost at t = 0+ and the positive breakpoints in the heap (*nh)
static double edge_slope(lp1_work *L, apx_dmat A, int64_t k, int64_t *nh) {
    int64_t d = L->d;
    double slope = 0;
    *nh = 0;
    for (int64_t j = 0; j < L->N; j++) {
        const double *a = A.data + j * A.ld;
        double s = 0;
        for (int64_t t = 0; t < d; t++) s += a[t] * L->dir[t];
        L->g[j] = s;
        if (j == L->Z[k - 1]) slope += fabs(s);
        else if (L->inZ[j]) L->g[j] = 0;
        else if (L->r[j] == 0) slope += fabs(s);
        else {
            slope += L->r[j] > 0 ? s : -s;
            if (L->r[j] * s < 0) L->ht[*nh] = -L->r[j] / s, L->hj[(*nh)++] = j;
        }
    }
    return slope;
}

// one pivot along edge k: x += t delta to the minimum of the cost on the edge, where row
// jin enters Z in place of Z[k-1]; r and h updated. 0 when done, 1 when the edge does not
// descend (or M is singular)
static int lp1_pivot(lp1_work *L, apx_dmat A, int64_t k, double yk) {
    int64_t d = L->d, nh = 0, nflip = 0, jin = -1;
    memset(L->dir, 0, sizeof(double) * (size_t)d);
    L->dir[k] = yk > 0 ? -1.0 : 1.0;
    if (m_solve(L, L->dir, 0)) return 1;
    memcpy(L->dir, L->v, sizeof(double) * (size_t)d);
    double slope = edge_slope(L, A, k, &nh), t = 0;
    if (!(slope < 0)) return 1;
    heap_build(L->ht, L->hj, nh);
    while (nh > 0 && slope < 0) {
        heap_pop(L->ht, L->hj, &nh, &t, &jin);
        slope += 2 * fabs(L->g[jin]);
        L->flip[nflip++] = jin;
    }
    if (jin < 0 || slope < 0) return 1;
    for (int64_t q = 0; q < nflip - 1; q++) // crossed: the sign flips
        h_add(L, A, L->flip[q], -2.0 * sgn(L->r[L->flip[q]]));
    h_add(L, A, jin, -sgn(L->r[jin]));      // enters Z
    int64_t out = L->Z[k - 1];
    for (int64_t j = 0; j < L->N; j++) {
        if (!L->inZ[j] && L->r[j] == 0 && j != jin && L->g[j] != 0) h_add(L, A, j, sgn(L->g[j]));
        L->r[j] += t * L->g[j];
    }
    h_add(L, A, out, sgn(L->r[out]));       // leaves Z
    for (int64_t q = 0; q < d; q++) L->x[q] += t * L->dir[q];
    L->inZ[out] = 0;
    L->Z[k - 1] = jin;
    L->inZ[jin] = 1;
    L->r[jin] = 0;
    memcpy(L->M + k * d, A.data + jin * A.ld, sizeof(double) * (size_t)d);
    return 0;
}

// a few reweighted steps toward the l_1 optimum from the residuals r: w_j = 1 / max(|r_j|,
// floor), x = G^-1 c / (c^T G^-1 c) with G = A^T W A (d,d), r = A x. Their small residuals
// pick a starting vertex near the optimum (fewer pivots than the l_2 start).
static void irls_warm(lp1_work *L, apx_dmat A, const double *c, int steps) {
    int64_t d = L->d, N = L->N;
    for (int s = 0; s < steps; s++) {
        double mean = 0;
        for (int64_t j = 0; j < N; j++) mean += fabs(L->r[j]);
        double floor_ = 1e-6 * mean / (double)N + DBL_MIN;
        memset(L->M, 0, sizeof(double) * (size_t)(d * d));
        // (d,d) += w_j a_j a_j^T, lower triangle
        for (int64_t j = 0; j < N; j++) {
            const double *a = A.data + j * A.ld;
            double w = 1.0 / APX__MAX(fabs(L->r[j]), floor_);
            for (int64_t p = 0; p < d; p++)
                for (int64_t q = 0; q <= p; q++) L->M[p * d + q] += w * a[p] * a[q];
        }
        for (int64_t p = 0; p < d; p++)
            for (int64_t q = p + 1; q < d; q++) L->M[p * d + q] = L->M[q * d + p];
        if (m_solve(L, c, 0)) return;
        double ct = 0;
        for (int64_t t = 0; t < d; t++) ct += c[t] * L->v[t];
        for (int64_t j = 0; j < N; j++) {
            const double *a = A.data + j * A.ld;
            double v = 0;
            for (int64_t t = 0; t < d; t++) v += a[t] * L->v[t];
            L->r[j] = v / ct;
        }
    }
}

// the d - 1 rows of Z: smallest |r| first among those independent of c and the rows taken
static int lp1_start(lp1_work *L, apx_dmat A, const double *c) {
    int64_t d = L->d, N = L->N, got = 0;
    double *F = L->W; // orthonormal rows spanning c and a_Z so far (d x d)
    memcpy(F, c, sizeof(double) * (size_t)d);
    double nc = sqrt(apx__project_off(F, 0, d, F));
    for (int64_t t = 0; t < d; t++) F[t] /= nc;
    for (int64_t j = 0; j < N; j++) L->inZ[j] = 0, L->ht[j] = fabs(L->r[j]), L->hj[j] = j;
    int64_t nh = N;
    heap_build(L->ht, L->hj, nh);
    while (got < d - 1 && nh > 0) {
        double t0;
        int64_t j;
        heap_pop(L->ht, L->hj, &nh, &t0, &j);
        const double *a = A.data + j * A.ld;
        double *f = F + (got + 1) * d, na = 0;
        for (int64_t t = 0; t < d; t++) f[t] = a[t], na += a[t] * a[t];
        double res = apx__project_off(F, got + 1, d, f);
        if (!(res > 1e-16 * na)) continue;
        for (int64_t t = 0; t < d; t++) f[t] /= sqrt(res);
        L->Z[got++] = j;
        L->inZ[j] = 1;
    }
    return got == d - 1 ? 0 : -1;
}

// min ||A x||_1 subject to c^T x = 1 from the l_2-optimal start, given q = R^-T c for
// A = Q R (so the l_2 residuals are Q q / |q|^2): x in L->x, the optimum in *f, the relative
// gap of the final vertex in *gap. Returns 1 when certified, 0 when stopped uncertified,
// -1 when no vertex could be built.
static int lp1_solve(lp1_work *L, apx_dmat A, apx_dmat Q, const double *c, const double *q,
                     int maxit, double *f, double *gap, int64_t *pivots) {
    int64_t d = L->d, N = L->N;
    double qq = 0;
    for (int64_t t = 0; t < d; t++) qq += q[t] * q[t];
    for (int64_t j = 0; j < N; j++) {
        const double *qj = Q.data + j * Q.ld;
        double v = 0;
        for (int64_t t = 0; t < d; t++) v += qj[t] * q[t];
        L->r[j] = v / qq;
    }
    irls_warm(L, A, c, IRLS_WARM);
    if (lp1_start(L, A, c) || refresh(L, A, c)) return -1;
    int cert = 0;
    double lb = 0;
    for (int it = 0;; it++) {
        int64_t k;
        int bad;
        double gmax = vertex_dual(L, &k, &bad);
        *f = 0;
        for (int64_t j = 0; j < N; j++) *f += fabs(L->r[j]);
        if (bad) break;
        lb = L->v[0] / APX__MAX(1.0, gmax);
        if (gmax <= 1 + 1e-9) {
            cert = 1;
            break;
        }
        if (it >= maxit || lp1_pivot(L, A, k, L->v[k])) break;
        (*pivots)++;
        if (it % 32 == 31 && refresh(L, A, c)) return -1; // drop accumulated rounding
    }
    *gap = APX__MAX(0.0, (*f - lb) / *f);
    return cert;
}

// s = 1 / OPT of row i (0 for a zero row): c = a_i, and R^-T a_i = q_i
static int lp1_row(lp1_work *L, apx_dmat A, apx_dmat Q, int64_t i, int maxit, double *s,
                   double *gap, int64_t *pivots) {
    const double *c = A.data + i * A.ld, *qi = Q.data + i * Q.ld;
    double tau = 0, f = 0;
    for (int64_t t = 0; t < L->d; t++) tau += qi[t] * qi[t];
    if (!(tau > 0)) return *s = 0, *gap = 0, 1;
    int cert = lp1_solve(L, A, Q, c, qi, maxit, &f, gap, pivots);
    *s = 1.0 / f;
    return cert;
}

static void lp1_free(lp1_work *L) {
    apx_free(L->Z);
    apx_free(L->inZ);
    apx_free(L->M);
    apx_free(L->r);
    apx_free(L->hj);
    apx_free(L->flip);
}

static int lp1_alloc(lp1_work *L, int64_t N, int64_t d) {
    memset(L, 0, sizeof *L);
    L->N = N, L->d = d;
    L->Z = apx_malloc(sizeof(int64_t) * (size_t)d);
    L->inZ = apx_malloc((size_t)N);
    L->M = apx_malloc(sizeof(double) * (size_t)(2 * d * d + 4 * d));
    L->r = apx_malloc(sizeof(double) * (size_t)(4 * N));
    L->hj = apx_malloc(sizeof(int64_t) * (size_t)N);
    L->flip = apx_malloc(sizeof(int64_t) * (size_t)N);
    if (!L->Z || !L->inZ || !L->M || !L->r || !L->hj || !L->flip) return lp1_free(L), -1;
    L->W = L->M + d * d, L->v = L->W + d * d, L->x = L->v + d, L->dir = L->x + d;
    L->h = L->dir + d;
    L->g = L->r + N, L->ht = L->g + N;
    return 0;
}

typedef struct {
    int failed_alloc;
    int64_t failed_row; /* -1, or a row without a vertex */
    int64_t pivots, uncert;
    double max_gap;
    const apx_progress *progress;
    int64_t done;       /* rows finished (atomic) */
    int canceled;       /* set by thread 0 when the callback asks to stop */
} lp1_summary;

// thread 0 reports the rows done after each of its rows (the callback is never called from
// two threads); a cancel stops the other threads
static void lp1_report(lp1_summary *S, int64_t N) {
    int64_t done;
#pragma omp atomic capture
    done = ++S->done;
    if (!S->progress || !S->progress->fn) return;
#ifdef _OPENMP
    if (omp_get_thread_num() != 0) return;
#endif
    if (S->progress->fn(S->progress->ctx, (double)done / (double)N, "sensitivities")) {
#pragma omp atomic write
        S->canceled = 1;
    }
}

// every row, in parallel (each row is deterministic, so the thread count does not matter)
static void lp1_all(apx_dmat A, apx_dmat Q, int maxit, double *s, lp1_summary *S) {
    int64_t N = A.rows, d = A.cols;
#pragma omp parallel if (N * N * d >= (1 << 18))
    {
        lp1_work L;
        int ok = lp1_alloc(&L, N, d) == 0, stop = 0;
        int64_t piv = 0, unc = 0, bad_row = -1;
        double g = 0;
#pragma omp for schedule(dynamic, 4)
        for (int64_t i = 0; i < N; i++) {
#pragma omp atomic read
            stop = S->canceled;
            if (!ok || stop) continue;
            double gap = 0;
            int c = lp1_row(&L, A, Q, i, maxit, &s[i], &gap, &piv);
            if (c < 0) bad_row = i;
            else if (c == 0) unc++;
            g = APX__MAX(g, gap);
            lp1_report(S, N);
        }
#pragma omp critical(apx_sens_lp1)
        {
            S->failed_alloc |= !ok;
            if (bad_row >= 0) S->failed_row = bad_row;
            S->pivots += piv, S->uncert += unc;
            S->max_gap = APX__MAX(S->max_gap, g);
        }
        if (ok) lp1_free(&L);
    }
}

static apx_status sens_p1(const char *fn, apx_dmat A, apx_dmat Q, const apx_sensitivity_opts *o,
                          double *s, apx_sensitivity_info *inf) {
    int maxit = o->max_iters > 0 ? o->max_iters : (int)APX__MIN(20 * A.cols + 100, 1 << 30);
    lp1_summary S = {0, -1, 0, 0, 0, &o->progress, 0, 0};
    lp1_all(A, Q, maxit, s, &S);
    if (S.failed_alloc) return apx__err(APX_ENOMEM, "%s: out of memory", fn);
    if (S.canceled)
        return apx__err(APX_ECANCELED, "%s: canceled by the progress callback after %lld of "
                        "%lld rows", fn, (long long)S.done, (long long)A.rows);
    APX__TRY(apx__progress(&o->progress, fn, 1.0, "sensitivities"));
    if (S.failed_row >= 0)
        return apx__err(APX_ENUMERIC, "%s: no vertex for row %lld (A numerically rank "
                        "deficient?)", fn, (long long)S.failed_row);
    inf->iterations = S.pivots, inf->uncertified = S.uncert, inf->max_gap = S.max_gap;
    return APX_OK;
}

/* ---------------------------------------------------------------- exact l_1 regression */

// q (n) solves R^T q = c for R (n,n) upper triangular
static void solve_rt(apx_dmat R, const double *c, double *q) {
    for (int64_t k = 0; k < R.rows; k++) {
        double v = c[k];
        for (int64_t j = 0; j < k; j++) v -= R.data[j * R.ld + k] * q[j];
        q[k] = v / R.data[k * R.ld + k];
    }
}

// min ||C z||_1 with z_n = -1 for C = [A b] of full column rank: the LP above with
// c = -e_n; x = z[0:n)
static apx_status l1_on_c(const char *fn, apx_dmat C, apx_dmat Q, apx_dmat R, double *x,
                          double *cost) {
    int64_t N = C.rows, n1 = C.cols;
    lp1_work L;
    double *cq = apx__alloc(fn, (size_t)(2 * n1), sizeof(double));
    if (!cq || lp1_alloc(&L, N, n1)) {
        apx_free(cq);
        return apx__err(APX_ENOMEM, "%s: out of memory", fn);
    }
    cq[n1 - 1] = -1.0;
    solve_rt(R, cq, cq + n1);
    double gap = 0;
    int64_t piv = 0;
    int cert = lp1_solve(&L, C, Q, cq, cq + n1, (int)APX__MIN(50 * n1 + 200, 1 << 30), cost,
                         &gap, &piv);
    memcpy(x, L.x, sizeof(double) * (size_t)(n1 - 1));
    lp1_free(&L);
    apx_free(cq);
    if (cert < 0)
        return apx__err(APX_ENUMERIC, "%s: no starting vertex for the l_1 LP", fn);
    if (!cert)
        return apx__err(APX_ENOCONV, "%s: the l_1 simplex stopped uncertified (relative gap "
                        "%.3g)", fn, gap);
    return APX_OK;
}

// the columns of A (N,n) independent of the earlier ones (Gram-Schmidt, relative 1e-10):
// their indices in keep, their count returned; T (N,n) scratch
static int64_t independent_cols(apx_dmat A, double *T, int64_t *keep) {
    int64_t N = A.rows, n = A.cols, k = 0;
    for (int64_t j = 0; j < n; j++) {
        double *t = T + k * N, n0 = 0;
        for (int64_t i = 0; i < N; i++) t[i] = A.data[i * A.ld + j], n0 += t[i] * t[i];
        double n1 = apx__project_off(T, k, N, t); // off the kept columns (rows of T)
        if (!(n1 > 1e-20 * n0) || n0 == 0) continue;
        for (int64_t i = 0; i < N; i++) t[i] /= sqrt(n1);
        keep[k++] = j;
    }
    return k;
}

// [A b] (N, n+1) full column rank: the simplex; b in the range of A: least squares (cost 0)
static apx_status l1_full_rank(const char *fn, apx_dmat A, const double *b, double *x,
                               double *cost, apx_dmat C, apx_dmat Q, apx_dmat R) {
    int64_t N = A.rows, n = A.cols;
    for (int64_t i = 0; i < N; i++) {
        memcpy(C.data + i * C.ld, A.data + i * A.ld, sizeof(double) * (size_t)n);
        C.data[i * C.ld + n] = b[i];
    }
    APX__TRY(apx_la_qr(C, Q, R));
    double mx = 0, mn = INFINITY;
    for (int64_t k = 0; k <= n; k++) {
        double v = fabs(R.data[k * R.ld + k]);
        mx = APX__MAX(mx, v), mn = APX__MIN(mn, v);
    }
    if (mn > (double)N * DBL_EPSILON * mx) return l1_on_c(fn, C, Q, R, x, cost);
    apx_lstsq_opts lo = apx_lstsq_opts_default();
    lo.method = APX_LSTSQ_QR;
    APX__TRY(apx_regress_lstsq(A, apx_dmat_view((double *)b, N, 1), apx_dmat_view(x, n, 1),
                               &lo, NULL));
    *cost = 0;
    for (int64_t i = 0; i < N; i++) {
        double r = -b[i];
        for (int64_t j = 0; j < n; j++) r += A.data[i * A.ld + j] * x[j];
        *cost += fabs(r);
    }
    return APX_OK;
}

apx_status apx__l1_regress_exact(const char *fn, apx_dmat A, const double *b, double *x,
                                 double *cost) {
    int64_t N = A.rows, n = A.cols, k = 0;
    apx_dmat C = {0}, Q = {0}, R = {0}, AK = {0};
    double *T = apx__alloc(fn, (size_t)(N * n + n), sizeof(double));
    int64_t *keep = apx__alloc(fn, (size_t)n, sizeof(int64_t));
    apx_status st = T && keep ? APX_OK : APX_ENOMEM;
    if (st == APX_OK) k = independent_cols(A, T, keep);
    if (st == APX_OK && k == 0) { // A = 0: x = 0
        memset(x, 0, sizeof(double) * (size_t)n);
        *cost = 0;
        for (int64_t i = 0; i < N; i++) *cost += fabs(b[i]);
        goto done;
    }
    if (st == APX_OK) st = apx_dmat_alloc(N, k, &AK);
    if (st == APX_OK) st = apx_dmat_alloc(N, k + 1, &C);
    if (st == APX_OK) st = apx_dmat_alloc(N, k + 1, &Q);
    if (st == APX_OK) st = apx_dmat_alloc(k + 1, k + 1, &R);
    if (st != APX_OK) goto done;
    for (int64_t i = 0; i < N; i++)
        for (int64_t q = 0; q < k; q++) AK.data[i * AK.ld + q] = A.data[i * A.ld + keep[q]];
    st = l1_full_rank(fn, AK, b, T, cost, C, Q, R); // rank-deficient A: the other x_j = 0
    if (st == APX_OK || st == APX_ENOCONV) {
        memset(x, 0, sizeof(double) * (size_t)n);
        for (int64_t q = 0; q < k; q++) x[keep[q]] = T[q];
    }
done:
    apx_free(T);
    apx_free(keep);
    apx_dmat_free(&AK);
    apx_dmat_free(&C);
    apx_dmat_free(&Q);
    apx_dmat_free(&R);
    return st;
}

/* ---------------------------------------------------------------- other p */

// row i as l_p regression: x = c / |c|^2 + P z with P (d, d-1) the Householder basis of
// c's complement; min_z ||A P z + A c / |c|^2||_p. B (N, d-1), b (N), z (d-1), hv (d).
static apx_status lp_row(const char *fn, apx_dmat A, int64_t i, double p,
                         const apx_lp_opts *lo, apx_dmat B, double *b, double *z, double *hv,
                         double *s, int64_t *iters) {
    int64_t N = A.rows, d = A.cols;
    const double *c = A.data + i * A.ld;
    double nc2 = 0;
    for (int64_t t = 0; t < d; t++) nc2 += c[t] * c[t];
    if (!(nc2 > 0)) return *s = 0, APX_OK;
    memcpy(hv, c, sizeof(double) * (size_t)d);
    hv[0] += (c[0] >= 0 ? 1.0 : -1.0) * sqrt(nc2);
    double hh = 0;
    for (int64_t t = 0; t < d; t++) hh += hv[t] * hv[t];
    for (int64_t j = 0; j < N; j++) { // B_j = (a_j H)[1:], b_j = -a_j c / |c|^2
        const double *a = A.data + j * A.ld;
        double av = 0, ac = 0;
        for (int64_t t = 0; t < d; t++) av += a[t] * hv[t], ac += a[t] * c[t];
        for (int64_t t = 1; t < d; t++) B.data[j * B.ld + t - 1] = a[t] - 2.0 * av / hh * hv[t];
        b[j] = -ac / nc2;
    }
    apx_lp_info li;
    apx_status st = apx_regress_lp(B, b, p, z, lo, &li);
    *iters += li.iterations;
    if (st == APX_OK || st == APX_ENOCONV) *s = 1.0 / pow(li.cost, p);
    if (st == APX_ENOCONV)
        apx__err(st, "%s: row %lld: IRLS for p = %g did not converge (cost %.6g)", fn,
                 (long long)i, p, li.cost);
    return st;
}

static apx_status sens_general(const char *fn, apx_dmat A, double p,
                               const apx_sensitivity_opts *o, double *s,
                               apx_sensitivity_info *inf) {
    int64_t N = A.rows, d = A.cols;
    apx_lp_opts lo = apx_lp_opts_default();
    lo.max_iters = o->max_iters > 0 ? o->max_iters : 200;
    lo.tol = o->tol >= 0 ? o->tol : 1e-12;
    apx_dmat B = {0};
    double *buf = apx__alloc(fn, (size_t)(N + 2 * d), sizeof(double));
    apx_status st = buf ? apx_dmat_alloc(N, d - 1, &B) : APX_ENOMEM, last = APX_OK;
    for (int64_t i = 0; st == APX_OK && i < N; i++) {
        st = lp_row(fn, A, i, p, &lo, B, buf, buf + N, buf + N + d, &s[i], &inf->iterations);
        if (st == APX_ENOCONV) last = st, st = APX_OK;
        if (st == APX_OK && (i % 16 == 15 || i == N - 1))
            st = apx__progress(&o->progress, fn, (double)(i + 1) / (double)N, "sensitivities");
    }
    apx_free(buf);
    apx_dmat_free(&B);
    return st != APX_OK ? st : last;
}

/* ---------------------------------------------------------------- entry point */

static apx_status check_sens(const char *fn, apx_dmat A, double p, const void *out) {
    APX__TRY(apx__check_dmat_nonempty(fn, "A", A));
    if (!out) return apx__err(APX_EINVAL, "%s: output is NULL", fn);
    if (!(p >= 1) || !isfinite(p))
        return apx__err(APX_EINVAL, "%s: p = %g must be a finite number >= 1", fn, p);
    if (A.rows < A.cols)
        return apx__err(APX_ESHAPE, "%s: A is %lld x %lld; needs m >= n", fn,
                        (long long)A.rows, (long long)A.cols);
    APX__TRY(apx__check_finite(fn, "A", A));
    return apx__blas_ensure(fn);
}

// Q (m,n) of A = Q R; APX_ENUMERIC when rank deficient
static apx_status full_rank_q(const char *fn, apx_dmat A, apx_dmat *Q) {
    apx_dmat R = {0};
    double *lev = apx__alloc(fn, (size_t)A.rows, sizeof(double));
    int64_t rank = 0;
    apx_status st = lev ? apx__leverage_exact(fn, A, -1.0, lev, &rank) : APX_ENOMEM;
    if (st == APX_OK && rank < A.cols)
        st = apx__err(APX_ENUMERIC, "%s: A (%lld x %lld) has numerical rank %lld; "
                      "sensitivities need full column rank", fn, (long long)A.rows,
                      (long long)A.cols, (long long)rank);
    if (st == APX_OK && Q) st = apx_dmat_alloc(A.rows, A.cols, Q);
    if (st == APX_OK && Q) st = apx_dmat_alloc(A.cols, A.cols, &R);
    if (st == APX_OK && Q) st = apx_la_qr(A, *Q, R);
    apx_dmat_free(&R);
    apx_free(lev);
    return st;
}

apx_status apx_sketch_lp_sensitivities(apx_dmat A, double p, const apx_sensitivity_opts *opts,
                                       double *s, apx_sensitivity_info *info) {
    const char *fn = "lp_sensitivities";
    apx_sensitivity_opts o = opts ? *opts : apx_sensitivity_opts_default();
    APX__TRY(check_sens(fn, A, p, s));
    if (isnan(o.tol)) return apx__err(APX_EINVAL, "%s: tol is NaN", fn);
    apx_sensitivity_info inf = {0, 0, 0, 0};
    apx_dmat Q = {0};
    apx_status st = full_rank_q(fn, A, p == 1 && A.cols > 1 ? &Q : NULL);
    if (st != APX_OK) goto done;
    if (A.cols == 1) { // x is fixed by the constraint: s_i = |a_i|^p / sum |a_j|^p
        double tot = 0, amax = 0; // relative to max |a_j| (> 0: full rank), so no overflow
        for (int64_t j = 0; j < A.rows; j++) amax = fmax(amax, fabs(A.data[j * A.ld]));
        for (int64_t j = 0; j < A.rows; j++) tot += pow(fabs(A.data[j * A.ld]) / amax, p);
        for (int64_t j = 0; j < A.rows; j++) s[j] = pow(fabs(A.data[j * A.ld]) / amax, p) / tot;
    } else if (p == 2) {
        st = apx__leverage_exact(fn, A, -1.0, s, NULL);
    } else if (p == 1) {
        st = sens_p1(fn, A, Q, &o, s, &inf);
    } else {
        st = sens_general(fn, A, p, &o, s, &inf);
    }
    for (int64_t j = 0; (st == APX_OK || st == APX_ENOCONV) && j < A.rows; j++)
        inf.total += s[j];
done:
    apx_dmat_free(&Q);
    if (info) *info = inf;
    return st;
}

apx_status apx_sketch_sensitivity_bounds(apx_dmat A, double p, apx_sensitivity_bound kind,
                                         double *ub) {
    const char *fn = "sensitivity_bounds";
    APX__TRY(check_sens(fn, A, p, ub));
    int64_t m = A.rows, n = A.cols;
    if (kind == APX_SENS_BOUND_LEWIS) {
        if (!(p < 4))
            return apx__err(APX_EINVAL, "%s: Lewis-weight bounds need p < 4, got p = %g", fn,
                            p);
        APX__TRY(apx_sketch_lewis_weights(A, p, NULL, ub));
        double f = p < 2 ? 1.0 : pow((double)n, p / 2 - 1);
        for (int64_t i = 0; i < m; i++) ub[i] = APX__MIN(1.0, f * ub[i]);
        return APX_OK;
    }
    if (kind != APX_SENS_BOUND_ROOT_LEVERAGE)
        return apx__err(APX_EINVAL, "%s: unknown bound kind %d", fn, (int)kind);
    int64_t rank = 0;
    APX__TRY(apx__leverage_exact(fn, A, -1.0, ub, &rank));
    if (rank < n)
        return apx__err(APX_ENUMERIC, "%s: A (%lld x %lld) has numerical rank %lld", fn,
                        (long long)m, (long long)n, (long long)rank);
    double f = p <= 2 ? 1.0 : pow((double)m, p / 2 - 1);
    for (int64_t i = 0; i < m; i++) {
        double v = f * pow(ub[i], p / 2);
        if (isnan(v)) // inf * 0 for large p: the same product in logs
            v = exp((p / 2 - 1) * log((double)m) + (p / 2) * log(ub[i]));
        ub[i] = APX__MIN(1.0, v);
    }
    return APX_OK;
}
