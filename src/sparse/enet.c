/* enet.c: elastic net, Lasso and multi-task elastic net by coordinate descent with
 * gap-safe screening and working sets (the approach of Celer / skglm, written afresh).
 *
 * One solve, in the unnormalized scaling of sparse_internal.h (a = n alpha l1_ratio,
 * b = n alpha (1 - l1_ratio)), W (p,T):
 *   outer loop (each iteration reads X once):
 *     1. full gradient G = Xc^T R   // (p,T) = (n,p)^T x (n,T), BLAS gemv/gemm on the
 *        caller's row-major X, the centring applied as a rank-1 correction
 *     2. duality gap for the dual point theta = s R (s rescales into the dual-feasible
 *        set); stop when gap <= tol ||Yc||^2
 *     3. gap-safe screening: feature j is zero at the optimum when
 *          s ||X_j^T R - b W_j|| + sqrt(2 gap) sqrt(||x_j||^2 + b) < a
 *        and is dropped for good
 *     4. working set: the current support plus the features closest to violating their
 *        dual constraint, d_j = (a - s ||X_j^T R - b W_j||) / sqrt(||x_j||^2 + b),
 *        size max(previous, 2 nnz, 100), doubled when the gap stalls
 *     5. gather the working set's centred columns into a contiguous block, one column per
 *        row of XwT (|W|, n), and solve the subproblem to a gap of max(tol/2, rho gap):
 *          covariance updates: Gram Gw = XwT XwT^T (BLAS-3 syrk), gradient Q = C - Gw Ww
 *            kept up to date with an O(|W|) axpy per changed coordinate;
 *          naive updates: residual R kept up to date with an O(n) axpy on the contiguous
 *            column, gradient by an O(n) dot.
 *     6. residual R = Yc - Xw Ww   // (n,T) = (n,|W|) x (|W|,T)
 * CSC designs (no gather in their design table) skip the dense block: step 5 runs on the
 * sparse columns in place (sparse Gram, O(nnz_j) residual updates with the centring kept as a
 * scalar shift; the "in-place formats" section below).
 */
#include <string.h>
#include <time.h>

#include "sparse/sparse_internal.h"

enum {
    WS_MIN = 100,        /* smallest working set */
    GRAM_MAX = 4096,     /* largest working set solved with covariance updates */
    GAP_EVERY_GRAM = 5,  /* epochs between subproblem gap checks */
    GAP_EVERY_RES = 10
};
static const double RHO_GRAM = 1e-2, RHO_RES = 0.1; /* inner gap target / outer gap */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

apx_enet_opts apx_enet_opts_default(void) {
    apx_enet_opts o;
    memset(&o, 0, sizeof o);
    o.fit_intercept = 1;
    o.positive = 0;
    o.tol = 1e-6;
    o.max_epochs = 100000;
    o.screening = 1;
    o.working_set = 1;
    o.solver = APX_ENET_AUTO;
    o.warm_start = 0;
    return o;
}

/* ---------------------------------------------------------------- working memory */

typedef struct {
    const apx__enet_prob *P;
    double a, b;
    int positive;
    int64_t n, p, T;
    /* full-size */
    double *GT;          /* (T,p) Xc^T R, task-major */
    double *XtA;         /* (p,T) */
    double *RT;          /* (T,n) residual */
    double *score;       /* (p) */
    int64_t *W, *idx;    /* (p) working set (first nw), scratch */
    int64_t *slot;       /* (p) cache slot of each feature, -1 if none */
    unsigned char *excl; /* (p) 0 alive, 1 zero column, 2 screened out */
    int64_t nw;
    /* column cache: the centred columns of every feature seen in a working set */
    int64_t m, cap, gm;  /* cached, capacity, slots [0,gm) have their Gram computed */
    int64_t *feat;       /* (cap) feature of each slot */
    double *XcT;         /* (cap,n) one centred column per row */
    double *Gc;          /* (cap,cap) Gram of the cached columns (ld cap), or NULL */
    double *Cc, *wc;     /* (cap,T) XcT Yc^T, and the coefficients by slot */
    /* the block of one round (nw features) */
    int64_t bcap;
    int64_t *sl;         /* (bcap) slots of the block */
    double *Gw;          /* (bcap,bcap) when covariance updates are used */
    double *Cw, *Qw, *ww, *cn; /* (bcap,T) x 3, (bcap) */
    double *z, *nz, *d, *g;    /* (T) each: step scratch */
    double *sh, *sr;           /* (T) each: in-place formats' residual shift and sum */
} enet_ws;

static void ws_free(enet_ws *w) {
    apx_free(w->GT);
    apx_free(w->W);
    apx_free(w->excl);
    apx_free(w->XcT);
    apx_free(w->Gc);
    apx_free(w->Cc);
    apx_free(w->feat);
    apx_free(w->sl);
    apx_free(w->Gw);
    apx_free(w->Cw);
}

static apx_status ws_alloc(const char *fn, enet_ws *w) {
    int64_t p = w->p, n = w->n, T = w->T;
    w->GT = apx__alloc(fn, (size_t)(2 * p * T + n * T + p), sizeof(double));
    w->W = apx__alloc(fn, (size_t)(3 * p), sizeof(int64_t));
    w->excl = apx__alloc(fn, (size_t)p, 1);
    if (!w->GT || !w->W || !w->excl) return APX_ENOMEM;
    w->XtA = w->GT + p * T;
    w->RT = w->XtA + p * T;
    w->score = w->RT + n * T;
    w->idx = w->W + p;
    w->slot = w->idx + p;
    for (int64_t j = 0; j < p; j++) w->slot[j] = -1;
    return APX_OK;
}

/* Room for a block of nw features (and its Gram when gram). */
static apx_status block_reserve(const char *fn, enet_ws *w, int64_t nw, int gram) {
    int64_t T = w->T;
    if (nw > w->bcap || (gram && !w->Gw)) {
        int64_t c = APX__MAX(nw, w->bcap);
        apx_free(w->sl);
        apx_free(w->Cw);
        apx_free(w->Gw);
        w->Gw = NULL;
        w->sl = apx__alloc(fn, (size_t)APX__MAX(c, 1), sizeof(int64_t));
        w->Cw = apx__alloc(fn, (size_t)(3 * c * T + c + 6 * T), sizeof(double));
        if (gram) w->Gw = apx__alloc(fn, (size_t)APX__MAX(c * c, 1), sizeof(double));
        if (!w->sl || !w->Cw || (gram && !w->Gw)) {
            w->bcap = 0;
            return APX_ENOMEM;
        }
        w->bcap = c;
        w->Qw = w->Cw + c * T;
        w->ww = w->Qw + c * T;
        w->cn = w->ww + c * T;
        w->z = w->cn + c;
        w->nz = w->z + T;
        w->d = w->nz + T;
        w->g = w->d + T;
        w->sh = w->g + T;
        w->sr = w->sh + T;
    }
    return APX_OK;
}

/* ---------------------------------------------------------------- kernels */

/* Out (k,T) = XT (k,n) x RT^T (n,T)   // rows of XT are columns of Xc */
static void cols_times(const double *XT, int64_t k, int64_t n, int64_t T, const double *RT,
                       double *out) {
    if (k == 0) return;
    if (T == 1)
        apx__blas.cblas_dgemv(APX__ROW, APX__NOTRANS, (int)k, (int)n, 1.0, XT, (int)n, RT, 1,
                              0.0, out, 1);
    else
        apx__blas.cblas_dgemm(APX__ROW, APX__NOTRANS, APX__TRANS, (int)k, (int)T, (int)n, 1.0,
                              XT, (int)n, RT, (int)n, 0.0, out, (int)T);
}

/* ---------------------------------------------------------------- in-place formats
 * (CSC): the raw columns x_j are used where they are, the centring xc_j = x_j - mu_j 1
 * applied as scalars (scikit-learn's trick for sparse X):
 *   xc_j^T r = x_j^T r - mu_j sum(r);   r -= d xc_j  is  r -= d x_j and a shift sh += d mu_j
 *   of the whole residual, folded in (O(n)) only before the residual is read in full;
 *   xc_a^T xc_b = x_a^T x_b - n mu_a mu_b (sum(x_a) = n mu_a with an intercept, mu = 0
 *   without one). */

static int in_place(const enet_ws *w) { return w->P->kind->gather == NULL; }

/* Out (k,T) = Xc[:,F]^T RT^T   // (k,T) = (k,n) x (n,T), by sparse dots */
static void raw_cols_times(const enet_ws *w, const int64_t *F, int64_t k, const double *RT,
                           double *out) {
    const apx__enet_prob *P = w->P;
    for (int64_t t = 0; t < w->T; t++) {
        const double *r = RT + t * w->n;
        double sr = 0;
        for (int64_t i = 0; i < w->n; i++) sr += r[i];
        for (int64_t c = 0; c < k; c++)
            out[c * w->T + t] = P->kind->col_dot(P, F[c], r) - P->xmean[F[c]] * sr;
    }
}

/* Gram rows [gm, m) of the cached columns, centred: G = Xraw^T Xraw - n mu mu^T */
static apx_status raw_gram_rows(const char *fn, enet_ws *w, int64_t gm) {
    int64_t m = w->m, cap = w->cap;
    const double *mu = w->P->xmean;
    APX__TRY(w->P->kind->gram(fn, w->P, w->feat, m, gm, w->Gc, cap));
    if (!w->P->fit_intercept) return APX_OK;
    for (int64_t i = gm; i < m; i++) {
        double f = (double)w->n * mu[w->feat[i]];
        for (int64_t c = 0; c < m; c++) w->Gc[i * cap + c] -= f * mu[w->feat[c]];
    }
    return APX_OK;
}

/* Fold the shifts into RT (T,n) (R_t += sh_t 1) and recompute the sums sr_t = sum(R_t). */
static void raw_flush(const enet_ws *w) {
    for (int64_t t = 0; t < w->T; t++) {
        double *r = w->RT + t * w->n, c = w->sh[t], s = 0;
        for (int64_t i = 0; i < w->n; i++) {
            r[i] += c;
            s += r[i];
        }
        w->sh[t] = 0;
        w->sr[t] = s;
    }
}

/* RT (T,n) -= wc^T Xc over the cache   // (T,n) = (T,m) x (m,n), sparse axpys + shifts */
static void raw_subtract(const enet_ws *w) {
    const apx__enet_prob *P = w->P;
    for (int64_t t = 0; t < w->T; t++) {
        double *r = w->RT + t * w->n, c = 0;
        for (int64_t s = 0; s < w->m; s++) {
            double a = w->wc[s * w->T + t];
            if (a == 0) continue;
            P->kind->col_axpy(P, w->feat[s], -a, r);
            c += a * P->xmean[w->feat[s]];
        }
        if (c != 0)
            for (int64_t i = 0; i < w->n; i++) r[i] += c;
    }
}

/* RT (T,n) = YcT - wc^T XcT   // (T,n) = (T,m) x (m,n), over the whole cache */
static void residual(const enet_ws *w) {
    int64_t n = w->n, T = w->T, m = w->m;
    memcpy(w->RT, w->P->YcT, sizeof(double) * (size_t)(n * T));
    if (m == 0) return;
    if (in_place(w)) {
        raw_subtract(w);
        return;
    }
    if (T == 1)
        apx__blas.cblas_dgemv(APX__ROW, APX__TRANS, (int)m, (int)n, -1.0, w->XcT, (int)n,
                              w->wc, 1, 1.0, w->RT, 1);
    else
        apx__blas.cblas_dgemm(APX__ROW, APX__TRANS, APX__NOTRANS, (int)T, (int)n, (int)m,
                              -1.0, w->wc, (int)T, w->XcT, (int)n, 1.0, w->RT, (int)n);
}

static double dotv(int64_t n, const double *x, const double *y) {
    if (n >= 256) return apx__blas.cblas_ddot((int)n, x, 1, y, 1);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

static void axpyv(int64_t n, double a, const double *x, double *y) {
    if (n >= 256) {
        apx__blas.cblas_daxpy((int)n, a, x, 1, y, 1);
        return;
    }
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* sum_j ||W_j|| and ||W||_F^2 over the m rows of W (.,T). */
static void w_norms(const double *W, int64_t m, int64_t T, double *l1, double *l2) {
    double s1 = 0, s2 = 0;
    for (int64_t k = 0; k < m; k++) {
        const double *r = W + k * T;
        double q = 0;
        for (int64_t t = 0; t < T; t++) q += r[t] * r[t];
        s2 += q;
        s1 += T == 1 ? fabs(r[0]) : sqrt(q);
    }
    *l1 = s1;
    *l2 = s2;
}

static int row_nonzero(const double *W, int64_t j, int64_t T) {
    for (int64_t t = 0; t < T; t++)
        if (W[j * T + t] != 0) return 1;
    return 0;
}

/* ---------------------------------------------------------------- the column cache */

static void cache_reset(enet_ws *w) {
    for (int64_t s = 0; s < w->m; s++) w->slot[w->feat[s]] = -1;
    w->m = 0;
    w->gm = 0;
}

/* Grow the cache's capacity to at least need slots (keeping its contents). */
static apx_status cache_grow(const char *fn, enet_ws *w, int64_t need) {
    if (need <= w->cap) return APX_OK;
    int64_t cap = APX__MIN(w->p, APX__MAX(need, 2 * w->cap)), n = w->n, T = w->T;
    int dense = in_place(w) ? 0 : 1; /* in-place formats keep no column copies */
    double *X2 = dense ? apx__alloc(fn, (size_t)(cap * n), sizeof(double)) : NULL;
    double *C2 = apx__alloc(fn, (size_t)(2 * cap * T), sizeof(double));
    int64_t *f2 = apx__alloc(fn, (size_t)cap, sizeof(int64_t));
    if ((dense && !X2) || !C2 || !f2) {
        apx_free(X2);
        apx_free(C2);
        apx_free(f2);
        return APX_ENOMEM;
    }
    if (w->m) {
        if (dense) memcpy(X2, w->XcT, sizeof(double) * (size_t)(w->m * n));
        memcpy(C2, w->Cc, sizeof(double) * (size_t)(w->m * T));
        memcpy(f2, w->feat, sizeof(int64_t) * (size_t)w->m);
    }
    apx_free(w->XcT);
    apx_free(w->Cc);
    apx_free(w->feat);
    w->XcT = X2, w->Cc = C2, w->wc = C2 + cap * T, w->feat = f2;
    if (w->Gc) { /* re-lay the computed Gram block with the new leading dimension */
        double *G2 = apx__alloc(fn, (size_t)(cap * cap), sizeof(double));
        if (!G2) return APX_ENOMEM;
        for (int64_t i = 0; i < w->gm; i++)
            memcpy(G2 + i * cap, w->Gc + i * w->cap, sizeof(double) * (size_t)w->gm);
        apx_free(w->Gc);
        w->Gc = G2;
    }
    w->cap = cap;
    return APX_OK;
}

/* Put the features F[0..k) (sorted) into the cache: gather the missing columns and their
 * products with Yc. When the cache would exceed `limit` slots it is rebuilt from F. */
static apx_status cache_add(const char *fn, enet_ws *w, const int64_t *F, int64_t k,
                            int64_t limit) {
    int64_t miss = 0;
    for (int64_t c = 0; c < k; c++) miss += w->slot[F[c]] < 0;
    if (miss == 0) return APX_OK;
    if (w->m + miss > limit) {
        cache_reset(w);
        miss = k;
    }
    APX__TRY(cache_grow(fn, w, w->m + miss));
    int64_t m0 = w->m, *nf = w->feat + m0;
    for (int64_t c = 0, e = 0; c < k; c++)
        if (w->slot[F[c]] < 0) {
            nf[e] = F[c];
            w->slot[F[c]] = m0 + e++;
        }
    if (in_place(w)) raw_cols_times(w, nf, miss, w->P->YcT, w->Cc + m0 * w->T);
    else {
        w->P->kind->gather(w->P, nf, miss, w->XcT + m0 * w->n);
        cols_times(w->XcT + m0 * w->n, miss, w->n, w->T, w->P->YcT, w->Cc + m0 * w->T);
    }
    w->m = m0 + miss;
    return APX_OK;
}

/* Gram rows of the slots [gm, m) against all cached columns:
 *   G[gm:m, 0:m] = XcT[gm:m] XcT[0:m]^T   // (m-gm, m) = (m-gm, n) x (n, m)
 * (syrk when nothing was computed yet), mirrored into the columns. */
static apx_status cache_gram(const char *fn, enet_ws *w) {
    int64_t m = w->m, gm = w->gm, cap = w->cap, n = w->n;
    if (gm == m) return APX_OK;
    if (!w->Gc) {
        w->Gc = apx__alloc(fn, (size_t)(cap * cap), sizeof(double));
        if (!w->Gc) return APX_ENOMEM;
        gm = w->gm = 0;
    }
    double *G = w->Gc;
    if (in_place(w)) {
        APX__TRY(raw_gram_rows(fn, w, gm));
        for (int64_t i = gm; i < m; i++)
            for (int64_t j = 0; j < gm; j++) G[j * cap + i] = G[i * cap + j];
    } else if (gm == 0) {
        apx__blas.cblas_dsyrk(APX__ROW, APX__LOWER, APX__NOTRANS, (int)m, (int)n, 1.0, w->XcT,
                              (int)n, 0.0, G, (int)cap);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = i + 1; j < m; j++) G[i * cap + j] = G[j * cap + i];
    } else {
        apx__blas.cblas_dgemm(APX__ROW, APX__NOTRANS, APX__TRANS, (int)(m - gm), (int)m, (int)n,
                              1.0, w->XcT + gm * n, (int)n, w->XcT, (int)n, 0.0, G + gm * cap,
                              (int)cap);
        for (int64_t i = gm; i < m; i++)
            for (int64_t j = 0; j < gm; j++) G[j * cap + i] = G[i * cap + j];
    }
    w->gm = m;
    return APX_OK;
}

/* ---------------------------------------------------------------- subproblem solvers */

/* Gap of the subproblem on the block from Q = Xw^T R (nw,T) and the sufficient
 * statistics Rn2 = ||R||^2, Ry = <R, Yc>; tmp (nw,T) receives XtA. */
static double sub_gap(const enet_ws *w, const double *Q, double Rn2, double Ry, double *tmp) {
    int64_t nw = w->nw, T = w->T;
    double bb = w->a > 0 ? w->b : 0.0;
    for (int64_t k = 0; k < nw * T; k++) tmp[k] = Q[k] - bb * w->ww[k];
    double l1, l2, s, primal;
    w_norms(w->ww, nw, T, &l1, &l2);
    return apx__enet_gap(w->a, w->b, w->positive, tmp, nw, T, Rn2, Ry, l2, l1, &s, &primal);
}

/* One coordinate (block) step on block entry k with grad (T) = X_k^T R and squared norm
 * ckk: the change goes to delta (T); returns whether anything changed. */
static int cd_step(const enet_ws *w, int64_t k, const double *grad, double ckk, double *delta) {
    int64_t T = w->T;
    double *wk = w->ww + k * T, *z = w->z;
    for (int64_t t = 0; t < T; t++) z[t] = grad[t] + ckk * wk[t];
    apx__group_shrink(z, T, w->a, ckk + w->b, w->positive, w->nz);
    int changed = 0;
    for (int64_t t = 0; t < T; t++) {
        delta[t] = w->nz[t] - wk[t];
        if (delta[t] != 0) changed = 1;
        wk[t] = w->nz[t];
    }
    return changed;
}

/* Q = C - G ww   // (nw,T) = (nw,T) - (nw,nw) x (nw,T) */
static void gram_refresh(const enet_ws *w) {
    int64_t nw = w->nw, T = w->T;
    memcpy(w->Qw, w->Cw, sizeof(double) * (size_t)(nw * T));
    if (T == 1)
        apx__blas.cblas_dgemv(APX__ROW, APX__NOTRANS, (int)nw, (int)nw, -1.0, w->Gw, (int)nw,
                              w->ww, 1, 1.0, w->Qw, 1);
    else
        apx__blas.cblas_dgemm(APX__ROW, APX__NOTRANS, APX__NOTRANS, (int)nw, (int)T, (int)nw,
                              -1.0, w->Gw, (int)nw, w->ww, (int)T, 1.0, w->Qw, (int)T);
}

/* Covariance updates: the block's Gram Gw and C from the cache, then cyclic (block)
 * coordinate descent keeping Q = C - Gw ww up to date. Returns the epochs done. */
static int solve_gram(enet_ws *w, double inner_tol, int max_ep, double *tmp) {
    int64_t nw = w->nw, T = w->T, cap = w->cap;
    double *G = w->Gw, *Q = w->Qw, *d = w->d;
    for (int64_t k = 0; k < nw; k++) {
        const double *src = w->Gc + w->sl[k] * cap;
        for (int64_t l = 0; l < nw; l++) G[k * nw + l] = src[w->sl[l]];
        memcpy(w->Cw + k * T, w->Cc + w->sl[k] * T, sizeof(double) * (size_t)T);
    }
    gram_refresh(w);
    double yy = w->P->yy;
    int ep = 0;
    while (ep < max_ep) {
        ep++;
        for (int64_t k = 0; k < nw; k++) {
            double gkk = G[k * nw + k];
            if (gkk <= 0 || !cd_step(w, k, Q + k * T, gkk, d)) continue;
            const double *gk = G + k * nw; /* row k = column k */
            if (T == 1) axpyv(nw, -d[0], gk, Q);
            else
                for (int64_t i = 0; i < nw; i++)
                    for (int64_t t = 0; t < T; t++) Q[i * T + t] -= gk[i] * d[t];
        }
        if (ep == 1 || ep % GAP_EVERY_GRAM == 0 || ep == max_ep) {
            gram_refresh(w); /* drops the drift of the updates */
            double wc = 0, wq = 0;
            for (int64_t k = 0; k < nw * T; k++) {
                wc += w->ww[k] * w->Cw[k];
                wq += w->ww[k] * Q[k];
            }
            /* ||R||^2 = ||Yc||^2 - 2 w.C + w.G w and G w = C - Q */
            if (sub_gap(w, Q, yy - wc - wq, yy - wc, tmp) <= inner_tol) break;
        }
    }
    return ep;
}

/* xc_j^T R_t for the in-place formats: x_j^T R_t - mu_j sr_t (the shift's share cancels
 * with an intercept, and mu_j = 0 without one) */
static double raw_grad(const enet_ws *w, int64_t j, int64_t t) {
    return w->P->kind->col_dot(w->P, j, w->RT + t * w->n) - w->P->xmean[j] * w->sr[t];
}

/* Naive updates on an in-place format: R (T,n) kept with O(nnz of the column) sparse axpys
 * and a scalar shift per task (sr tracks sum(R_t) with an intercept: sum(x_j) = n mu_j);
 * gradients by sparse dots. Returns the epochs done; R is exact (flushed) on return. */
static int solve_residual_raw(enet_ws *w, double inner_tol, int max_ep, double *tmp) {
    const apx__enet_prob *P = w->P;
    int64_t nw = w->nw, n = w->n, T = w->T;
    double *Q = w->Qw, *d = w->d, *g = w->g;
    for (int64_t k = 0; k < nw; k++) w->cn[k] = P->nrm2[w->W[k]];
    for (int64_t t = 0; t < T; t++) w->sh[t] = 0;
    raw_flush(w);
    int ep = 0;
    while (ep < max_ep) {
        ep++;
        for (int64_t k = 0; k < nw; k++) {
            int64_t j = w->W[k];
            if (w->cn[k] <= 0) continue;
            for (int64_t t = 0; t < T; t++) g[t] = raw_grad(w, j, t);
            if (!cd_step(w, k, g, w->cn[k], d)) continue;
            for (int64_t t = 0; t < T; t++) {
                if (d[t] == 0) continue;
                P->kind->col_axpy(P, j, -d[t], w->RT + t * n);
                w->sh[t] += d[t] * P->xmean[j];
                w->sr[t] -= d[t] * (double)n * P->xmean[j];
            }
        }
        if (ep == 1 || ep % GAP_EVERY_RES == 0 || ep == max_ep) {
            raw_flush(w);
            for (int64_t k = 0; k < nw; k++)
                for (int64_t t = 0; t < T; t++) Q[k * T + t] = raw_grad(w, w->W[k], t);
            double Rn2 = 0, Ry = 0;
            for (int64_t k = 0; k < n * T; k++) {
                Rn2 += w->RT[k] * w->RT[k];
                Ry += w->RT[k] * P->YcT[k];
            }
            if (sub_gap(w, Q, Rn2, Ry, tmp) <= inner_tol) break;
        }
    }
    raw_flush(w);
    return ep;
}

/* Naive updates: the residual R (T,n) is maintained with axpys on the cached contiguous
 * columns; gradients by dot products. Returns the epochs done. */
static int solve_residual(enet_ws *w, double inner_tol, int max_ep, double *tmp) {
    if (in_place(w)) return solve_residual_raw(w, inner_tol, max_ep, tmp);
    int64_t nw = w->nw, n = w->n, T = w->T;
    double *R = w->RT, *Q = w->Qw, *d = w->d, *g = w->g;
    for (int64_t k = 0; k < nw; k++) {
        const double *x = w->XcT + w->sl[k] * n;
        w->cn[k] = dotv(n, x, x);
    }
    int ep = 0;
    while (ep < max_ep) {
        ep++;
        for (int64_t k = 0; k < nw; k++) {
            double ckk = w->cn[k];
            if (ckk <= 0) continue;
            const double *x = w->XcT + w->sl[k] * n;
            for (int64_t t = 0; t < T; t++) g[t] = dotv(n, x, R + t * n);
            if (!cd_step(w, k, g, ckk, d)) continue;
            for (int64_t t = 0; t < T; t++)
                if (d[t] != 0) axpyv(n, -d[t], x, R + t * n);
        }
        if (ep == 1 || ep % GAP_EVERY_RES == 0 || ep == max_ep) {
            for (int64_t k = 0; k < nw; k++)
                for (int64_t t = 0; t < T; t++)
                    Q[k * T + t] = dotv(n, w->XcT + w->sl[k] * n, R + t * n);
            double Rn2 = 0, Ry = 0;
            for (int64_t k = 0; k < n * T; k++) {
                Rn2 += R[k] * R[k];
                Ry += R[k] * w->P->YcT[k];
            }
            if (sub_gap(w, Q, Rn2, Ry, tmp) <= inner_tol) break;
        }
    }
    return ep;
}

/* ---------------------------------------------------------------- the outer loop */

typedef struct {
    double gap, primal, scale;
} gap_state;

/* Full gradient, XtA and the true duality gap at the current W (R in w->RT). */
static gap_state global_gap(enet_ws *w, const double *W) {
    const apx__enet_prob *P = w->P;
    int64_t p = w->p, T = w->T, n = w->n;
    P->kind->gradient(P, w->RT, w->GT);
    double bb = w->a > 0 ? w->b : 0.0;
    for (int64_t j = 0; j < p; j++)
        for (int64_t t = 0; t < T; t++)
            w->XtA[j * T + t] = w->GT[t * p + j] - bb * W[j * T + t];
    double Rn2 = 0, Ry = 0, l1, l2;
    for (int64_t k = 0; k < n * T; k++) {
        Rn2 += w->RT[k] * w->RT[k];
        Ry += w->RT[k] * P->YcT[k];
    }
    w_norms(W, p, T, &l1, &l2);
    gap_state g;
    g.gap = apx__enet_gap(w->a, w->b, w->positive, w->XtA, p, T, Rn2, Ry, l2, l1, &g.scale,
                          &g.primal);
    return g;
}

/* Norm (or positive part for the positive Lasso) of XtA row j. */
static double xta_norm(const enet_ws *w, int64_t j) {
    const double *g = w->XtA + j * w->T;
    if (w->T == 1) return w->positive ? g[0] : fabs(g[0]);
    double s = 0;
    for (int64_t t = 0; t < w->T; t++) s += g[t] * g[t];
    return sqrt(s);
}

/* Gap-safe screening; zeroes the rows of the features it drops. Returns how many. */
static int64_t screen(enet_ws *w, double *W, gap_state g) {
    double r = sqrt(2.0 * (g.gap > 0 ? g.gap : 0.0));
    int64_t dropped = 0;
    for (int64_t j = 0; j < w->p; j++) {
        if (w->excl[j]) continue;
        double bound = g.scale * xta_norm(w, j) + r * sqrt(w->P->nrm2[j] + w->b);
        if (bound < w->a) {
            w->excl[j] = 2;
            for (int64_t t = 0; t < w->T; t++) W[j * w->T + t] = 0;
            dropped++;
        }
    }
    return dropped;
}

/* Choose the working set: every alive feature when target >= alive, else the support plus
 * the features with the smallest d_j. Sorted by index. */
static void choose_ws(enet_ws *w, const double *W, gap_state g, int64_t target) {
    int64_t m = 0;
    for (int64_t j = 0; j < w->p; j++) {
        if (w->excl[j]) continue;
        w->idx[m++] = j;
        if (row_nonzero(W, j, w->T)) w->score[j] = -1.0;
        else
            w->score[j] = (w->a - g.scale * xta_norm(w, j)) / sqrt(w->P->nrm2[j] + w->b);
    }
    if (target < m) apx__select_smallest(w->idx, m, target, w->score);
    else target = m;
    memcpy(w->W, w->idx, sizeof(int64_t) * (size_t)target);
    apx__sort_index(w->W, target);
    w->nw = target;
}

static int use_gram(const apx_enet_opts *o, int64_t nw, int64_t n) {
    if (o->solver == APX_ENET_GRAM) return 1;
    if (o->solver == APX_ENET_RESIDUAL) return 0;
    return 2 * nw <= n && nw <= GRAM_MAX;
}

/* Block coefficients from W, and the cache's coefficient vector after a round. */
static void load_block(enet_ws *w, const double *W) {
    for (int64_t k = 0; k < w->nw; k++) {
        w->sl[k] = w->slot[w->W[k]];
        memcpy(w->ww + k * w->T, W + w->W[k] * w->T, sizeof(double) * (size_t)w->T);
    }
}

/* wc (by slot) = W on the cached features; then R = Yc - Xc W. Every non-zero row of W
 * must be cached (the working set always holds the support). */
static void sync_residual(enet_ws *w, const double *W) {
    int64_t T = w->T;
    for (int64_t s = 0; s < w->m; s++)
        memcpy(w->wc + s * T, W + w->feat[s] * T, sizeof(double) * (size_t)T);
    residual(w);
}

static double progress_fraction(double gap0, double gap, double tol) {
    if (!(gap0 > tol) || gap <= tol) return 1.0;
    double f = log(gap0 / gap) / log(gap0 / tol);
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

typedef struct {
    const char *fn;
    const apx_enet_opts *o;
    double tol_abs;
    int64_t target, alive;
    int epochs;
    double *tmp; /* (p*T) scratch for subproblem gaps */
} outer_ctx;

/* Start: R = Yc - Xc W from the support of W (cached). */
static apx_status initial_residual(outer_ctx *c, enet_ws *w, const double *W) {
    int64_t k = 0;
    for (int64_t j = 0; j < w->p; j++)
        if (!w->excl[j] && row_nonzero(W, j, w->T)) w->idx[k++] = j;
    APX__TRY(cache_add(c->fn, w, w->idx, k, w->p));
    sync_residual(w, W);
    return APX_OK;
}

/* One working-set round: screen, choose, cache, solve, write back, residual. */
static apx_status ws_round(outer_ctx *c, enet_ws *w, double *W, gap_state g, double prev_gap,
                           apx_enet_info *info) {
    const apx_enet_opts *o = c->o;
    int active = w->a > 0;
    if (o->screening && active) c->alive -= screen(w, W, g);
    if (!(o->working_set && active)) c->target = c->alive;
    else {
        int64_t nnz = 0;
        for (int64_t j = 0; j < w->p; j++) nnz += !w->excl[j] && row_nonzero(W, j, w->T);
        if (prev_gap > 0 && g.gap > 0.5 * prev_gap) c->target *= 2; /* stalled: grow */
        c->target = APX__MAX(c->target, APX__MAX(2 * nnz, (int64_t)WS_MIN));
        c->target = APX__MIN(c->target, c->alive);
    }
    choose_ws(w, W, g, c->target);
    int gram = use_gram(o, w->nw, w->n);
    /* the cache may hold stale features: bounded by the Gram work (covariance updates)
     * or by memory (2^25 doubles) */
    int64_t limit = gram ? APX__MIN(2 * w->nw + WS_MIN, (int64_t)GRAM_MAX)
                         : APX__MIN(w->p, ((int64_t)1 << 25) / w->n);
    limit = APX__MAX(limit, w->nw);
    APX__TRY(cache_add(c->fn, w, w->W, w->nw, limit));
    APX__TRY(block_reserve(c->fn, w, w->nw, gram));
    if (gram) APX__TRY(cache_gram(c->fn, w));
    load_block(w, W);
    /* a partial solve (rho gap) leaves rounds in which the screening rules can drop
     * features, also when the working set is every alive feature */
    double rho = gram ? RHO_GRAM : RHO_RES;
    double inner_tol = APX__MAX(0.5 * c->tol_abs, rho * g.gap);
    int budget = o->max_epochs - c->epochs;
    if (!gram) sync_residual(w, W); /* screening may have zeroed coefficients */
    int ep = budget < 1 || w->nw == 0 ? 1
             : gram ? solve_gram(w, inner_tol, budget, c->tmp)
                    : solve_residual(w, inner_tol, budget, c->tmp);
    c->epochs += ep;
    for (int64_t k = 0; k < w->nw; k++)
        memcpy(W + w->W[k] * w->T, w->ww + k * w->T, sizeof(double) * (size_t)w->T);
    sync_residual(w, W);
    info->ws_size = w->nw;
    info->gram = gram;
    return APX_OK;
}

static apx_status outer_loop(outer_ctx *c, enet_ws *w, double *W, apx_enet_info *info) {
    const apx_enet_opts *o = c->o;
    double gap0 = -1, prev_gap = -1;
    for (int outer = 0;; outer++) {
        gap_state g = global_gap(w, W);
        info->outer = outer + 1;
        info->gap = g.gap / (double)w->n;
        info->primal = g.primal / (double)w->n;
        info->epochs = c->epochs;
        if (gap0 < 0) gap0 = g.gap;
        if (g.gap <= c->tol_abs) {
            info->converged = 1;
            return APX_OK;
        }
        if (c->epochs >= o->max_epochs)
            return apx__err(APX_ENOCONV, "%s: no convergence after %d epochs: duality gap "
                                         "%.3e > tolerance %.3e", c->fn, c->epochs,
                            info->gap, info->gap_tol);
        APX__TRY(apx__progress(&o->progress, c->fn,
                               progress_fraction(gap0, g.gap, c->tol_abs), "coordinate descent"));
        APX__TRY(ws_round(c, w, W, g, prev_gap, info));
        prev_gap = g.gap;
    }
}

apx_status apx__enet_solve(const char *fn, const apx__enet_prob *P, double alpha,
                           double l1_ratio, const apx_enet_opts *o, double *W,
                           apx_enet_info *info) {
    double t0 = now_s();
    memset(info, 0, sizeof *info);
    enet_ws w;
    memset(&w, 0, sizeof w);
    w.P = P;
    w.n = P->n, w.p = P->p, w.T = P->T;
    w.a = (double)P->n * alpha * l1_ratio;
    w.b = (double)P->n * alpha * (1.0 - l1_ratio);
    w.positive = o->positive;
    outer_ctx c = {fn, o, o->tol * P->yy, WS_MIN, 0, 0, NULL};
    info->gap_tol = c.tol_abs / (double)P->n;
    apx_status st = ws_alloc(fn, &w);
    if (st == APX_OK) {
        c.tmp = apx__alloc(fn, (size_t)(P->p * P->T + 64), sizeof(double));
        if (!c.tmp) st = APX_ENOMEM;
    }
    if (st == APX_OK) {
        for (int64_t j = 0; j < P->p; j++) {
            w.excl[j] = P->nrm2[j] <= 0;
            if (w.excl[j])
                for (int64_t t = 0; t < P->T; t++) W[j * P->T + t] = 0;
            c.alive += !w.excl[j];
        }
        st = initial_residual(&c, &w, W);
    }
    if (st == APX_OK) st = outer_loop(&c, &w, W, info);
    int64_t nnz = 0, scr = 0;
    for (int64_t j = 0; j < P->p; j++) {
        nnz += row_nonzero(W, j, P->T);
        scr += w.excl && w.excl[j] == 2;
    }
    info->nnz = nnz;
    info->screened = scr;
    info->epochs = c.epochs;
    info->seconds = now_s() - t0;
    apx_free(c.tmp);
    ws_free(&w);
    return st;
}

/* ---------------------------------------------------------------- public entry points */

static apx_status check_args(const char *fn, const apx_enet_opts *o, int64_t T, double alpha,
                              double l1_ratio, const double *W, const double *intercept) {
    APX__TRY(apx__enet_check_opts(fn, o, T));
    APX__TRY(apx__enet_check_reg(fn, alpha, l1_ratio));
    if (!W) return apx__err(APX_EINVAL, "%s: coef is NULL", fn);
    if (o->fit_intercept && !intercept)
        return apx__err(APX_EINVAL, "%s: intercept is NULL but opts.fit_intercept = 1", fn);
    return APX_OK;
}

/* Solve the prepared problem P (freed here) from the start opts asks for. */
static apx_status run_prob(const char *fn, apx__enet_prob *P, double alpha, double l1_ratio,
                           const apx_enet_opts *o, double *W, double *intercept,
                           apx_enet_info *info) {
    apx_status st = APX_OK;
    if (o->warm_start) st = apx__check_finite_vec(fn, "coef (warm start)", W, P->p * P->T);
    else memset(W, 0, sizeof(double) * (size_t)(P->p * P->T));
    apx_enet_info local;
    if (st == APX_OK) st = apx__enet_solve(fn, P, alpha, l1_ratio, o, W, info ? info : &local);
    if (intercept && (st == APX_OK || st == APX_ENOCONV || st == APX_ECANCELED))
        apx__enet_intercept(P, W, intercept);
    apx__enet_prob_free(P);
    return st;
}

static apx_status run(const char *fn, apx_dmat X, apx_dmat Y, double alpha, double l1_ratio,
                      const apx_enet_opts *opts, double *W, double *intercept,
                      apx_enet_info *info) {
    apx_enet_opts o = opts ? *opts : apx_enet_opts_default();
    APX__TRY(check_args(fn, &o, Y.cols, alpha, l1_ratio, W, intercept));
    apx__enet_prob P;
    APX__TRY(apx__enet_setup(fn, X, Y, o.fit_intercept, &P));
    return run_prob(fn, &P, alpha, l1_ratio, &o, W, intercept, info);
}

apx_status apx_sparse_enet(apx_dmat X, const double *y, double alpha, double l1_ratio,
                           const apx_enet_opts *opts, double *coef, double *intercept,
                           apx_enet_info *info) {
    const char *fn = l1_ratio == 1.0 ? "lasso" : "enet";
    if (!y) return apx__err(APX_EINVAL, "%s: y is NULL", fn);
    apx_dmat Y = {(double *)y, X.rows, 1, 1};
    return run(fn, X, Y, alpha, l1_ratio, opts, coef, intercept, info);
}

apx_status apx_sparse_lasso(apx_dmat X, const double *y, double alpha,
                            const apx_enet_opts *opts, double *coef, double *intercept,
                            apx_enet_info *info) {
    return apx_sparse_enet(X, y, alpha, 1.0, opts, coef, intercept, info);
}

apx_status apx_sparse_multitask_enet(apx_dmat X, apx_dmat Y, double alpha, double l1_ratio,
                                     const apx_enet_opts *opts, apx_dmat W,
                                     double *intercept, apx_enet_info *info) {
    const char *fn = "multitask_enet";
    APX__TRY(apx__check_dmat(fn, "Y", Y));
    APX__TRY(apx__check_dmat_shape(fn, "W", W, X.cols, Y.cols));
    if (W.ld != W.cols)
        return apx__err(APX_EINVAL, "%s: W must be contiguous (ld = %lld, cols = %lld)", fn,
                        (long long)W.ld, (long long)W.cols);
    return run(fn, X, Y, alpha, l1_ratio, opts, W.data, intercept, info);
}

apx_status apx_sparse_enet_csr(apx_csr X, const double *y, double alpha, double l1_ratio,
                               const apx_enet_opts *opts, double *coef, double *intercept,
                               apx_enet_info *info) {
    const char *fn = l1_ratio == 1.0 ? "lasso_csr" : "enet_csr";
    apx_enet_opts o = opts ? *opts : apx_enet_opts_default();
    if (!y) return apx__err(APX_EINVAL, "%s: y is NULL", fn);
    APX__TRY(check_args(fn, &o, 1, alpha, l1_ratio, coef, intercept));
    apx_dmat Y = {(double *)y, X.rows, 1, 1};
    apx__enet_prob P;
    APX__TRY(apx__enet_setup_csr(fn, X, Y, o.fit_intercept, &P));
    return run_prob(fn, &P, alpha, l1_ratio, &o, coef, intercept, info);
}

apx_status apx_sparse_lasso_csr(apx_csr X, const double *y, double alpha,
                                const apx_enet_opts *opts, double *coef, double *intercept,
                                apx_enet_info *info) {
    return apx_sparse_enet_csr(X, y, alpha, 1.0, opts, coef, intercept, info);
}
