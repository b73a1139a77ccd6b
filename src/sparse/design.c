/* design.c: the design formats of the elastic-net engine, as a table of properties
 * (sparse_internal.h: apx__design_kind). Each format says how to compute the centring
 * statistics, how to gather centred columns into a dense block (or, for CSC, the raw column
 * operations used in place), and how to form the full gradient Xc^T R. The solver (enet.c,
 * path.c) only calls through the table.
 *
 * Dense: the caller's row-major X, read in place.
 * CSC: a column-major copy of the caller's CSR X, built once per fit (rows ascending in
 * each column, duplicates summed). The centring is never materialized: with
 * xc_j = x_j - mu_j 1,
 *   xc_j^T r = x_j^T r - mu_j sum(r),   ||xc_j||^2 = sum_{i in S_j} (x_ij - mu_j)^2
 *                                                    + (n - |S_j|) mu_j^2,
 * so the statistics and the gradient cost O(nnz + p) (as scikit-learn does for sparse X).
 * The solver works on the CSC columns in place (no dense copy of any column): sparse dots
 * and axpys on the raw columns, the centring kept as a scalar shift of the residual, and
 * a sparse-sparse Gram for the working set (enet.c). */
#include <limits.h>
#include <string.h>

#include "sparse/sparse_internal.h"

/* ---------------------------------------------------------------- dense */

/* Gather the centred columns F[0..k) of X into XT (k,n): XT[c,i] = X[i,F[c]] - mean.
 * Fixed blocks of 64 rows, in parallel; each row is read left to right (F is sorted). */
static void dense_gather(const apx__enet_prob *P, const int64_t *F, int64_t k, double *XT) {
    int64_t n = P->n, nblk = (n + 63) / 64;
    const double *mu = P->xmean;
#pragma omp parallel for schedule(static) if (nblk > 1 && k * n > 50000)
    for (int64_t bk = 0; bk < nblk; bk++) {
        int64_t i1 = APX__MIN(n, (bk + 1) * 64);
        for (int64_t i = bk * 64; i < i1; i++) {
            const double *row = P->X.data + i * P->X.ld;
            for (int64_t c = 0; c < k; c++) XT[c * n + i] = row[F[c]] - mu[F[c]];
        }
    }
}

/* Subtract the centring from GT (T,p): GT[t,j] -= sum(R_t) mean_j (a rank-1 correction). */
static void center_gradient(const apx__enet_prob *P, const double *RT, double *GT) {
    int64_t n = P->n, p = P->p;
    if (!P->fit_intercept) return;
    for (int64_t t = 0; t < P->T; t++) {
        double sr = 0;
        for (int64_t i = 0; i < n; i++) sr += RT[t * n + i];
        if (sr == 0) continue;
        for (int64_t j = 0; j < p; j++) GT[t * p + j] -= sr * P->xmean[j];
    }
}

/* GT (T,p) = RT (T,n) x Xc (n,p), Xc = X - 1 xmean^T (rank-1 correction). */
static void dense_gradient(const apx__enet_prob *P, const double *RT, double *GT) {
    int64_t n = P->n, p = P->p, T = P->T;
    if (T == 1)
        apx__blas.cblas_dgemv(APX__ROW, APX__TRANS, (int)n, (int)p, 1.0, P->X.data,
                              (int)P->X.ld, RT, 1, 0.0, GT, 1);
    else
        apx__blas.cblas_dgemm(APX__ROW, APX__NOTRANS, APX__NOTRANS, (int)T, (int)p, (int)n,
                              1.0, RT, (int)n, P->X.data, (int)P->X.ld, 0.0, GT, (int)p);
    center_gradient(P, RT, GT);
}

const apx__design_kind apx__design_dense = {"dense", apx__enet_dense_stats, dense_gather,
                                            dense_gradient, NULL, NULL, NULL};

/* ---------------------------------------------------------------- CSC */

/* Sparse products go parallel only above this many non-zeros: below, one pass takes about
 * a millisecond and a parallel region costs more than it saves on a loaded machine
 * (measured on the Lasso benchmark: 2 threads on 2 busy cores were 2x slower). */
enum { CSC_PAR_NNZ = 1 << 22 };

static apx_status csc_stats(const char *fn, apx__enet_prob *P) {
    int64_t n = P->n;
    for (int64_t j = 0; j < P->p; j++) {
        int64_t a = P->cptr[j], e = P->cptr[j + 1];
        double s = 0;
        for (int64_t q = a; q < e; q++) s += P->cval[q];
        double mu = P->fit_intercept ? s / (double)n : 0.0, v = 0;
        for (int64_t q = a; q < e; q++) v += (P->cval[q] - mu) * (P->cval[q] - mu);
        v += (double)(n - (e - a)) * mu * mu;
        if (!isfinite(v))
            return apx__err(APX_EINVAL, "%s: X column %lld is too large: its sum of squares "
                                        "overflows", fn, (long long)j);
        P->xmean[j] = mu;
        P->nrm2[j] = v;
    }
    return APX_OK;
}

// x_j^T r   // (1) = (1,n) x (n), over the non-zeros of column j
static double csc_col_dot(const apx__enet_prob *P, int64_t j, const double *r) {
    double s = 0;
    for (int64_t q = P->cptr[j]; q < P->cptr[j + 1]; q++) s += P->cval[q] * r[P->crow[q]];
    return s;
}

// r += a x_j   // (n) += (1) x (n), over the non-zeros of column j
static void csc_col_axpy(const apx__enet_prob *P, int64_t j, double a, double *r) {
    for (int64_t q = P->cptr[j]; q < P->cptr[j + 1]; q++) r[P->crow[q]] += a * P->cval[q];
}

/* Raw Gram rows of the columns F[0..m): G[i*ld + c] = x_F[i]^T x_F[c] for i in [gm,m),
 * c in [0,m)   // (m-gm, m) = (m-gm, n) x (n, m)
 * by rows: the m columns are transposed into row lists (slots ascending in each row), then
 * each row adds the products of its new entries (slot >= gm) with all of its entries.
 * Cost O(n + nnz(F) + sum_rows r_i r_i^new); sequential, so deterministic. */
static apx_status csc_gram(const char *fn, const apx__enet_prob *P, const int64_t *F, int64_t m,
                           int64_t gm, double *G, int64_t ld) {
    int64_t n = P->n, nnz = 0;
    for (int64_t c = 0; c < m; c++) nnz += P->cptr[F[c] + 1] - P->cptr[F[c]];
    int64_t *rp = apx__alloc(fn, (size_t)(n + 1 + nnz + 1), sizeof(int64_t));
    double *rv = apx__alloc(fn, (size_t)(nnz + 1), sizeof(double));
    if (!rp || !rv) {
        apx_free(rp);
        apx_free(rv);
        return APX_ENOMEM;
    }
    int64_t *rs = rp + n + 1;
    memset(rp, 0, sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t c = 0; c < m; c++)
        for (int64_t q = P->cptr[F[c]]; q < P->cptr[F[c] + 1]; q++) rp[P->crow[q] + 1]++;
    for (int64_t i = 0; i < n; i++) rp[i + 1] += rp[i];
    for (int64_t c = 0; c < m; c++) /* slot order: each row's entries come out ascending */
        for (int64_t q = P->cptr[F[c]]; q < P->cptr[F[c] + 1]; q++) {
            int64_t at = rp[P->crow[q]]++;
            rs[at] = c;
            rv[at] = P->cval[q];
        }
    for (int64_t i = n; i > 0; i--) rp[i] = rp[i - 1]; /* the cursors ended at the row ends */
    rp[0] = 0;
    for (int64_t i = gm; i < m; i++) memset(G + i * ld, 0, sizeof(double) * (size_t)m);
    for (int64_t i = 0; i < n; i++) {
        int64_t a0 = rp[i], e = rp[i + 1], a = e;
        while (a > a0 && rs[a - 1] >= gm) a--; /* [a, e): the row's new entries */
        for (int64_t u = a; u < e; u++) {
            double *g = G + rs[u] * ld, vu = rv[u];
            for (int64_t v = a0; v < e; v++) g[rs[v]] += vu * rv[v];
        }
    }
    apx_free(rp);
    apx_free(rv);
    return APX_OK;
}

// GT (T,p) = Xc^T R: a sparse dot per column, then the centring
static void csc_gradient(const apx__enet_prob *P, const double *RT, double *GT) {
    int64_t n = P->n, p = P->p;
    for (int64_t t = 0; t < P->T; t++) {
        const double *r = RT + t * n;
        double *g = GT + t * p;
#pragma omp parallel for schedule(static) if (P->cptr[p] > CSC_PAR_NNZ)
        for (int64_t j = 0; j < p; j++) {
            double s = 0;
            for (int64_t q = P->cptr[j]; q < P->cptr[j + 1]; q++) s += P->cval[q] * r[P->crow[q]];
            g[j] = s;
        }
    }
    center_gradient(P, RT, GT);
}

const apx__design_kind apx__design_csc = {"csc",        csc_stats,    NULL,    csc_gradient,
                                          csc_col_dot, csc_col_axpy, csc_gram};

/* CSC copy of the valid CSR X: a counting sort by column, scanning the rows in order so
 * that each column's rows come out ascending; repeated (row, column) entries are then
 * adjacent and are summed. */
static apx_status build_csc(const char *fn, apx_csr X, apx__enet_prob *P) {
    int64_t p = X.cols, nnz = X.nnz;
    P->cptr = apx__alloc(fn, (size_t)(2 * (p + 1) + nnz + 1), sizeof(int64_t));
    P->cval = apx__alloc(fn, (size_t)(nnz + 1), sizeof(double));
    if (!P->cptr || !P->cval) {
        apx_free(P->cval);
        P->cval = NULL;
        return APX_ENOMEM;
    }
    int64_t *next = P->cptr + p + 1, dups = 0;
    P->crow = next + p + 1;
    memset(P->cptr, 0, sizeof(int64_t) * (size_t)(p + 1));
    for (int64_t q = 0; q < nnz; q++) P->cptr[X.indices[q] + 1]++;
    for (int64_t j = 0; j < p; j++) P->cptr[j + 1] += P->cptr[j];
    memcpy(next, P->cptr, sizeof(int64_t) * (size_t)(p + 1));
    for (int64_t i = 0; i < X.rows; i++)
        for (int64_t q = X.indptr[i]; q < X.indptr[i + 1]; q++) {
            int64_t j = X.indices[q], at = next[j];
            if (at > P->cptr[j] && P->crow[at - 1] == i) {
                P->cval[at - 1] += X.data[q]; /* a duplicate of (i, j) */
                dups++;
                continue;
            }
            P->crow[at] = i;
            P->cval[at] = X.data[q];
            next[j] = at + 1;
        }
    if (dups == 0) return APX_OK;
    /* compact the columns that lost slots to duplicates */
    int64_t w = 0;
    for (int64_t j = 0; j < p; j++) {
        int64_t a = P->cptr[j], e = next[j];
        P->cptr[j] = w;
        memmove(P->crow + w, P->crow + a, sizeof(int64_t) * (size_t)(e - a));
        memmove(P->cval + w, P->cval + a, sizeof(double) * (size_t)(e - a));
        w += e - a;
    }
    P->cptr[p] = w;
    return APX_OK;
}

apx_status apx__enet_csr_check(const char *fn, apx_csr X) {
    apx_status st = apx_csr_validate(X);
    if (st != APX_OK) return apx__sparse_rewrap(st, fn, "X");
    if (X.rows < 1 || X.cols < 1)
        return apx__err(APX_ESHAPE, "%s: X is empty (%lld x %lld)", fn, (long long)X.rows,
                        (long long)X.cols);
    if (X.rows > INT_MAX || X.cols > INT_MAX)
        return apx__err(APX_EINVAL, "%s: X (%lld x %lld) exceeds the BLAS's 32-bit sizes", fn,
                        (long long)X.rows, (long long)X.cols);
    return APX_OK;
}

apx_status apx__enet_setup_csr(const char *fn, apx_csr X, apx_dmat Y, int fit_intercept,
                               apx__enet_prob *P) {
    memset(P, 0, sizeof *P);
    APX__TRY(apx__enet_csr_check(fn, X));
    P->kind = &apx__design_csc;
    P->n = X.rows, P->p = X.cols;
    apx_status st = apx__enet_setup_targets(fn, Y, fit_intercept, P);
    if (st == APX_OK) st = build_csc(fn, X, P);
    if (st == APX_OK) st = P->kind->stats(fn, P);
    if (st != APX_OK) apx__enet_prob_free(P);
    return st;
}

/* ---------------------------------------------------------------- COO to CSR */

apx_status apx_csr_from_coo(int64_t rows, int64_t cols, int64_t nnz, const int64_t *row_idx,
                            const int64_t *col_idx, const double *values, int64_t *indptr,
                            int64_t *indices, double *data) {
    const char *fn = "csr_from_coo";
    if (rows < 0 || cols < 0 || nnz < 0)
        return apx__err(APX_EINVAL, "%s: negative size rows = %lld, cols = %lld, nnz = %lld", fn,
                        (long long)rows, (long long)cols, (long long)nnz);
    if (!indptr || (nnz > 0 && (!row_idx || !col_idx || !values || !indices || !data)))
        return apx__err(APX_EINVAL, "%s: NULL array", fn);
    for (int64_t t = 0; t < nnz; t++)
        if (row_idx[t] < 0 || row_idx[t] >= rows || col_idx[t] < 0 || col_idx[t] >= cols)
            return apx__err(APX_EINVAL, "%s: triplet %lld at (%lld, %lld) is outside the "
                            "%lld x %lld matrix", fn, (long long)t, (long long)row_idx[t],
                            (long long)col_idx[t], (long long)rows, (long long)cols);
    /* counts of row r at indptr[r+1]; the exclusive prefix sum shifted by one puts the
     * start of row r at indptr[r+1], used as its cursor: after the placement indptr[r+1]
     * is the end of row r, which is CSR */
    memset(indptr, 0, sizeof(int64_t) * (size_t)(rows + 1));
    for (int64_t t = 0; t < nnz; t++) indptr[row_idx[t] + 1]++;
    int64_t run = 0;
    for (int64_t i = 0; i <= rows; i++) {
        int64_t c = indptr[i];
        indptr[i] = run;
        run += c;
    }
    for (int64_t t = 0; t < nnz; t++) {
        int64_t at = indptr[row_idx[t] + 1]++;
        indices[at] = col_idx[t];
        data[at] = values[t];
    }
    return APX_OK;
}
