/* common.c: the prepared elastic-net problem (centring statistics in one pass over X),
 * option checks, the duality gap, and small helpers shared by the sparse module. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apx/la.h"
#include "sparse/sparse_internal.h"

/* ---------------------------------------------------------------- checks */

apx_status apx__enet_check_reg(const char *fn, double alpha, double l1_ratio) {
    if (!isfinite(alpha) || alpha < 0)
        return apx__err(APX_EINVAL, "%s: alpha must be finite and >= 0, got %g", fn, alpha);
    if (!isfinite(l1_ratio) || l1_ratio < 0 || l1_ratio > 1)
        return apx__err(APX_EINVAL, "%s: l1_ratio must be in [0, 1], got %g", fn, l1_ratio);
    return APX_OK;
}

static apx_status check_flag(const char *fn, const char *name, int v) {
    if (v != 0 && v != 1)
        return apx__err(APX_EINVAL, "%s: opts.%s must be 0 or 1, got %d", fn, name, v);
    return APX_OK;
}

apx_status apx__enet_check_opts(const char *fn, const apx_enet_opts *o, int64_t T) {
    APX__TRY(check_flag(fn, "fit_intercept", o->fit_intercept));
    APX__TRY(check_flag(fn, "positive", o->positive));
    APX__TRY(check_flag(fn, "screening", o->screening));
    APX__TRY(check_flag(fn, "working_set", o->working_set));
    APX__TRY(check_flag(fn, "warm_start", o->warm_start));
    if (!isfinite(o->tol) || o->tol < 0)
        return apx__err(APX_EINVAL, "%s: opts.tol must be finite and >= 0, got %g", fn, o->tol);
    if (o->max_epochs < 1)
        return apx__err(APX_EINVAL, "%s: opts.max_epochs must be >= 1, got %d", fn,
                        o->max_epochs);
    if (o->solver != APX_ENET_AUTO && o->solver != APX_ENET_GRAM &&
        o->solver != APX_ENET_RESIDUAL)
        return apx__err(APX_EINVAL, "%s: opts.solver must be 0 (auto), 1 (gram) or 2 "
                                    "(residual), got %d", fn, (int)o->solver);
    if (o->positive && T > 1)
        return apx__err(APX_EINVAL, "%s: opts.positive is only for a single task (got %lld "
                                    "tasks)", fn, (long long)T);
    return APX_OK;
}

apx_status apx__sparse_rewrap(apx_status st, const char *fn, const char *what) {
    char msg[512]; /* apx__err formats into the buffer apx_last_error() points to */
    snprintf(msg, sizeof msg, "%s", apx_last_error());
    return apx__err(st, "%s: %s: %s", fn, what, msg);
}

/* ---------------------------------------------------------------- statistics */

/* Number of fixed row blocks for the statistics pass: independent of the thread count
 * so the sums are the same bits for any number of threads. */
static int64_t stat_blocks(int64_t n, int64_t p) {
    int64_t nb = n < 16 ? n : 16;
    while (nb > 1 && nb * p > ((int64_t)1 << 23)) nb /= 2;
    return nb < 1 ? 1 : nb;
}

/* Column sums s1 and sums of squares s2 of X - shift (shift (p) may be NULL = 0), per
 * fixed row block, then summed in block order. part: (nb, 2p) scratch. */
static void column_sums(apx_dmat X, const double *shift, int64_t nb, double *part,
                        double *s1, double *s2) {
    int64_t n = X.rows, p = X.cols;
    memset(part, 0, sizeof(double) * (size_t)(nb * 2 * p));
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < nb; b++) {
        double *a1 = part + b * 2 * p, *a2 = a1 + p;
        int64_t i0 = b * n / nb, i1 = (b + 1) * n / nb;
        for (int64_t i = i0; i < i1; i++) {
            const double *r = X.data + i * X.ld;
            if (shift) {
                for (int64_t j = 0; j < p; j++) {
                    double d = r[j] - shift[j];
                    a1[j] += d;
                    a2[j] += d * d;
                }
            } else {
                for (int64_t j = 0; j < p; j++) {
                    a1[j] += r[j];
                    a2[j] += r[j] * r[j];
                }
            }
        }
    }
    memset(s1, 0, sizeof(double) * (size_t)p);
    memset(s2, 0, sizeof(double) * (size_t)p);
    for (int64_t b = 0; b < nb; b++)
        for (int64_t j = 0; j < p; j++) {
            s1[j] += part[b * 2 * p + j];
            s2[j] += part[b * 2 * p + p + j];
        }
}

apx_status apx__enet_dense_stats(const char *fn, apx__enet_prob *P) {
    apx_dmat X = P->X;
    int64_t n = P->n, p = P->p, nb = stat_blocks(n, p);
    double *part = apx__alloc(fn, (size_t)(nb * 2 * p + p), sizeof(double));
    if (!part) return APX_ENOMEM;
    double *s1 = part + nb * 2 * p, *s2 = P->nrm2;
    const double *shift = P->fit_intercept ? X.data : NULL; /* the first row */
    column_sums(X, shift, nb, part, s1, s2);
    apx_status st = APX_OK;
    for (int64_t j = 0; j < p && st == APX_OK; j++) {
        if (!isfinite(s1[j]) || !isfinite(s2[j])) {
            st = apx__check_finite(fn, "X", X);
            if (st == APX_OK)
                st = apx__err(APX_EINVAL, "%s: X column %lld is too large: its sum of squares "
                                          "overflows", fn, (long long)j);
            break;
        }
        if (P->fit_intercept) {
            P->xmean[j] = X.data[j] + s1[j] / (double)n;
            double v = s2[j] - s1[j] * s1[j] / (double)n;
            P->nrm2[j] = v > 0 ? v : 0.0;
        }
    }
    apx_free(part);
    return st;
}

static void y_stats(apx_dmat Y, apx__enet_prob *P) {
    int64_t n = P->n, T = P->T;
    P->yy = 0;
    for (int64_t t = 0; t < T; t++) {
        double mean = 0;
        if (P->fit_intercept) {
            for (int64_t i = 0; i < n; i++) mean += Y.data[i * Y.ld + t];
            mean /= (double)n;
        }
        P->ymean[t] = mean;
        double *yc = P->YcT + t * n;
        for (int64_t i = 0; i < n; i++) {
            yc[i] = Y.data[i * Y.ld + t] - mean;
            P->yy += yc[i] * yc[i];
        }
    }
}

apx_status apx__enet_setup_targets(const char *fn, apx_dmat Y, int fit_intercept,
                                   apx__enet_prob *P) {
    const char *yname = Y.cols == 1 && Y.ld == 1 ? "y" : "Y";
    APX__TRY(apx__check_dmat(fn, yname, Y));
    if (Y.rows != P->n)
        return apx__err(APX_ESHAPE, "%s: X has %lld rows but %s has %lld", fn,
                        (long long)P->n, yname, (long long)Y.rows);
    if (Y.cols < 1) return apx__err(APX_ESHAPE, "%s: %s has no columns (tasks)", fn, yname);
    APX__TRY(apx__check_blas_size(fn, Y));
    APX__TRY(apx__check_finite(fn, yname, Y));
    APX__TRY(apx__blas_ensure(fn));
    P->T = Y.cols;
    P->fit_intercept = fit_intercept;
    size_t total = (size_t)(2 * P->p + P->T + P->T * P->n);
    double *buf = apx__alloc(fn, total, sizeof(double));
    if (!buf) return APX_ENOMEM;
    P->xmean = buf;
    P->nrm2 = buf + P->p;
    P->ymean = P->nrm2 + P->p;
    P->YcT = P->ymean + P->T;
    y_stats(Y, P);
    return APX_OK;
}

apx_status apx__enet_setup(const char *fn, apx_dmat X, apx_dmat Y, int fit_intercept,
                           apx__enet_prob *P) {
    memset(P, 0, sizeof *P);
    APX__TRY(apx__check_dmat_nonempty(fn, "X", X));
    APX__TRY(apx__check_blas_size(fn, X));
    P->kind = &apx__design_dense;
    P->X = X;
    P->n = X.rows, P->p = X.cols;
    apx_status st = apx__enet_setup_targets(fn, Y, fit_intercept, P);
    if (st == APX_OK) st = P->kind->stats(fn, P);
    if (st != APX_OK) apx__enet_prob_free(P);
    return st;
}

void apx__enet_prob_free(apx__enet_prob *P) {
    apx_free(P->xmean);
    apx_free(P->cptr);
    apx_free(P->cval);
    memset(P, 0, sizeof *P);
}

void apx__enet_intercept(const apx__enet_prob *P, const double *W, double *b) {
    for (int64_t t = 0; t < P->T; t++) {
        double v = P->ymean[t];
        for (int64_t j = 0; j < P->p; j++) v -= P->xmean[j] * W[j * P->T + t];
        b[t] = P->fit_intercept ? v : 0.0;
    }
}

/* ---------------------------------------------------------------- duality gap */

double apx__enet_gap(double a, double b, int positive, const double *XtA, int64_t np,
                     int64_t T, double Rn2, double Ry, double Wn2, double l1, double *scale,
                     double *primal) {
    if (Rn2 < 0) Rn2 = 0;
    if (a == 0) {
        /* the dual of the smooth part: sum_j (X_j^T R)^2, only the positive parts for
         * w >= 0 (the conjugate of b/2 w^2 + 1{w >= 0} is max(s,0)^2 / 2b) */
        double g2 = 0;
        for (int64_t k = 0; k < np * T; k++) {
            double g = positive && XtA[k] < 0 ? 0.0 : XtA[k];
            g2 += g * g;
        }
        *scale = 1.0;
        *primal = 0.5 * (Rn2 + b * Wn2);
        if (b == 0) return g2;
        return Rn2 + 0.5 * b * Wn2 - Ry + g2 / (2 * b);
    }
    double dn = 0;
    for (int64_t k = 0; k < np; k++) {
        const double *g = XtA + k * T;
        double v;
        if (T == 1) v = positive ? g[0] : fabs(g[0]);
        else {
            double s = 0;
            for (int64_t t = 0; t < T; t++) s += g[t] * g[t];
            v = sqrt(s);
        }
        if (v > dn) dn = v;
    }
    double s = dn > a ? a / dn : 1.0;
    double q = Rn2 + b * Wn2;
    *scale = s;
    *primal = 0.5 * q + a * l1;
    double dual = -0.5 * s * s * q + s * Ry;
    return *primal - dual;
}

/* ---------------------------------------------------------------- selection and sorting */

static void swap_i(int64_t *a, int64_t *b) {
    int64_t t = *a;
    *a = *b;
    *b = t;
}

void apx__select_smallest(int64_t *idx, int64_t n, int64_t k, const double *key) {
    int64_t lo = 0, hi = n - 1;
    if (k <= 0 || k >= n) return;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        /* median of three into idx[hi] as the pivot */
        if (key[idx[mid]] < key[idx[lo]]) swap_i(&idx[mid], &idx[lo]);
        if (key[idx[hi]] < key[idx[lo]]) swap_i(&idx[hi], &idx[lo]);
        if (key[idx[mid]] < key[idx[hi]]) swap_i(&idx[mid], &idx[hi]);
        double pv = key[idx[hi]];
        int64_t s = lo;
        for (int64_t i = lo; i < hi; i++)
            if (key[idx[i]] < pv || (key[idx[i]] == pv && idx[i] < idx[hi]))
                swap_i(&idx[i], &idx[s++]);
        swap_i(&idx[s], &idx[hi]);
        if (s == k - 1 || s == k) return;
        if (s < k) lo = s + 1;
        else hi = s - 1;
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void apx__sort_index(int64_t *idx, int64_t n) {
    if (n > 1) qsort(idx, (size_t)n, sizeof *idx, cmp_i64);
}

/* ---------------------------------------------------------------- small dense helpers */

int apx__small_solve(double *A, double *b, int64_t k) {
    for (int64_t c = 0; c < k; c++) {
        int64_t piv = c;
        for (int64_t r = c + 1; r < k; r++)
            if (fabs(A[r * k + c]) > fabs(A[piv * k + c])) piv = r;
        if (A[piv * k + c] == 0.0) return -1;
        if (piv != c) {
            for (int64_t j = 0; j < k; j++) {
                double t = A[c * k + j];
                A[c * k + j] = A[piv * k + j];
                A[piv * k + j] = t;
            }
            double t = b[c];
            b[c] = b[piv];
            b[piv] = t;
        }
        for (int64_t r = c + 1; r < k; r++) {
            double f = A[r * k + c] / A[c * k + c];
            if (f == 0) continue;
            for (int64_t j = c; j < k; j++) A[r * k + j] -= f * A[c * k + j];
            b[r] -= f * b[c];
        }
    }
    for (int64_t r = k - 1; r >= 0; r--) {
        double s = b[r];
        for (int64_t j = r + 1; j < k; j++) s -= A[r * k + j] * b[j];
        b[r] = s / A[r * k + r];
    }
    return 0;
}

double apx__sym_lmax(const double *G, int64_t k) {
    /* power iteration from a fixed start, 200 steps or 1e-12 relative change; the start
     * mixes all coordinates so no eigenvector is orthogonal to it by construction */
    double *v = malloc(sizeof(double) * (size_t)(2 * k));
    if (!v) { /* fall back to the trace: an upper bound */
        double tr = 0;
        for (int64_t i = 0; i < k; i++) tr += G[i * k + i];
        return tr;
    }
    double *u = v + k, lam = 0;
    for (int64_t i = 0; i < k; i++) v[i] = 1.0 + 0.1 * (double)(i % 7);
    for (int it = 0; it < 500; it++) {
        double nv = 0;
        for (int64_t i = 0; i < k; i++) nv += v[i] * v[i];
        nv = sqrt(nv);
        if (nv == 0) break;
        for (int64_t i = 0; i < k; i++) v[i] /= nv;
        double l = 0;
        for (int64_t i = 0; i < k; i++) {
            double s = 0;
            for (int64_t j = 0; j < k; j++) s += G[i * k + j] * v[j];
            u[i] = s;
            l += s * v[i];
        }
        memcpy(v, u, sizeof(double) * (size_t)k);
        if (it > 5 && fabs(l - lam) <= 1e-13 * fabs(l)) {
            lam = l;
            break;
        }
        lam = l;
    }
    free(v);
    return lam;
}

apx_status apx__lstsq_cols(const char *fn, apx_dmat X, const double *xmean, const double *y,
                           const int64_t *S, int64_t s, double *coef_S, double *rss) {
    int64_t n = X.rows;
    if (s == 0) {
        if (rss) {
            double r = 0;
            for (int64_t i = 0; i < n; i++) r += y[i] * y[i];
            *rss = r;
        }
        return APX_OK;
    }
    double *buf = apx__alloc(fn, (size_t)(n * s + n + s), sizeof(double));
    if (!buf) return APX_ENOMEM;
    double *A = buf, *b = A + n * s, *x = b + n;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t k = 0; k < s; k++)
            A[i * s + k] = X.data[i * X.ld + S[k]] - (xmean ? xmean[S[k]] : 0.0);
        b[i] = y[i];
    }
    apx_dmat Av = apx_dmat_view(A, n, s), Bv = apx_dmat_view(b, n, 1),
             Xv = apx_dmat_view(x, s, 1);
    /* apx_la_lstsq copies its inputs: A and b stay valid for the residual below */
    apx_status st = apx_la_lstsq(Av, Bv, -1.0, Xv, NULL);
    if (st == APX_OK) {
        memcpy(coef_S, x, sizeof(double) * (size_t)s);
        if (rss) {
            double t = 0;
            for (int64_t i = 0; i < n; i++) {
                double ri = b[i];
                for (int64_t k = 0; k < s; k++) ri -= A[i * s + k] * x[k];
                t += ri * ri;
            }
            *rss = t;
        }
    }
    apx_free(buf);
    return st;
}
