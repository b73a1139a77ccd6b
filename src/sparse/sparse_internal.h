/* src/sparse/sparse_internal.h: private pieces of the sparse module (not installed).
 *
 * The elastic-net engine works in the unnormalized scaling of scikit-learn's Cython code:
 *   P(W) = 1/2 ||Yc - Xc W||_F^2 + a sum_j ||W_j||_2 + b/2 ||W||_F^2,
 *   a = n alpha l1_ratio, b = n alpha (1 - l1_ratio),
 * with Xc, Yc the centred data (no centring without an intercept) and W (p,T) row-major
 * (T = 1: the single-task elastic net, ||W_j||_2 = |w_j|). Gaps are divided by n only when
 * reported. */
#ifndef APX_SPARSE_INTERNAL_H
#define APX_SPARSE_INTERNAL_H

#include <stdint.h>

#include "apx/sparse.h"
#include "apx/sparse_mat.h"
#include "core/internal.h"

/* ---------------------------------------------------------------- the prepared problem */

typedef struct apx__enet_prob apx__enet_prob;

/* A design format: a table of the three things the engine asks of X, so that the solver
 * never switches on the format (dense row-major and CSC are the two rows of the table). */
typedef struct {
    const char *name;
    /* P->xmean (zeros without an intercept) and P->nrm2 (squared centred column norms);
     * checks that the values are finite */
    apx_status (*stats)(const char *fn, apx__enet_prob *P);
    /* XT (k,n): row c is the centred column F[c] (F sorted); NULL for a format whose
     * columns are used in place (the three raw operations below instead) */
    void (*gather)(const apx__enet_prob *P, const int64_t *F, int64_t k, double *XT);
    /* GT (T,p) = Xc^T R for R task-major (T,n)   // (T,p) = (T,n) x (n,p) */
    void (*gradient)(const apx__enet_prob *P, const double *RT, double *GT);
    /* In-place formats only (NULL with gather): operations on the raw, uncentred columns
     * x_j; the solver applies the centring itself (xc_j = x_j - mu_j 1):
     *   x_j^T r (n)   // O(nnz of column j) */
    double (*col_dot)(const apx__enet_prob *P, int64_t j, const double *r);
    /*   r (n) += a x_j   // O(nnz of column j) */
    void (*col_axpy)(const apx__enet_prob *P, int64_t j, double a, double *r);
    /*   raw Gram rows G[i*ld + c] = x_F[i]^T x_F[c], i in [gm,m), c in [0,m)
     *   // (m-gm, m) = (m-gm, n) x (n, m); F need not be sorted */
    apx_status (*gram)(const char *fn, const apx__enet_prob *P, const int64_t *F, int64_t m,
                       int64_t gm, double *G, int64_t ld);
} apx__design_kind;

extern const apx__design_kind apx__design_dense, apx__design_csc;

struct apx__enet_prob {
    const apx__design_kind *kind;
    apx_dmat X;      /* dense: (n,p) the caller's design, row-major, never copied whole */
    int64_t *cptr;   /* CSC: (p+1) column pointers (owned; the copy built once per fit) */
    int64_t *crow;   /* CSC: (nnz) row indices, ascending in each column, no duplicates */
    double *cval;    /* CSC: (nnz) values */
    int64_t n, p, T;
    int fit_intercept;
    double *xmean;   /* (p) column means (zeros without an intercept) */
    double *ymean;   /* (T) target means (zeros without an intercept) */
    double *YcT;     /* (T,n) centred targets, task-major */
    double *nrm2;    /* (p) squared norms of the centred columns */
    double yy;       /* ||Yc||_F^2 */
};

/* Check X (n,p) and Y (n,T) (finite, shapes, 32-bit BLAS sizes) and compute the statistics
 * in one deterministic pass over X (fixed row blocks, summed in block order). */
apx_status apx__enet_setup(const char *fn, apx_dmat X, apx_dmat Y, int fit_intercept,
                           apx__enet_prob *P);
/* The same for a CSR X (validated; duplicates summed): builds the CSC copy. */
apx_status apx__enet_setup_csr(const char *fn, apx_csr X, apx_dmat Y, int fit_intercept,
                               apx__enet_prob *P);
/* Validate a CSR design (apx_csr_validate, non-empty, 32-bit BLAS sizes). */
apx_status apx__enet_csr_check(const char *fn, apx_csr X);
/* Shared part of the two: checks Y (n,T) against n rows, allocates the statistics and
 * centres Y (P->n, P->p set by the caller). */
apx_status apx__enet_setup_targets(const char *fn, apx_dmat Y, int fit_intercept,
                                   apx__enet_prob *P);
/* The dense row of the table's stats (common.c). */
apx_status apx__enet_dense_stats(const char *fn, apx__enet_prob *P);
void apx__enet_prob_free(apx__enet_prob *P);

/* Write the intercept b_t = ymean_t - xmean^T W[:,t] (0 without an intercept) into b (T). */
void apx__enet_intercept(const apx__enet_prob *P, const double *W, double *b);

/* Prefix the current error message with "fn: what: " (returns st). */
apx_status apx__sparse_rewrap(apx_status st, const char *fn, const char *what);

/* Check opts (flags 0/1, tol >= 0, max_epochs >= 1, solver known). */
apx_status apx__enet_check_opts(const char *fn, const apx_enet_opts *o, int64_t T);
/* Check alpha >= 0 finite and l1_ratio in [0,1]. */
apx_status apx__enet_check_reg(const char *fn, double alpha, double l1_ratio);

/* Solve for one (alpha, l1_ratio): W (p,T) row-major holds the start on entry (zeros for a
 * cold start) and the solution on return. info is filled (not NULL). Status APX_OK,
 * APX_ENOCONV, APX_ECANCELED, APX_ENOMEM, APX_EUNSUPPORTED. */
apx_status apx__enet_solve(const char *fn, const apx__enet_prob *P, double alpha,
                           double l1_ratio, const apx_enet_opts *o, double *W,
                           apx_enet_info *info);

/* The plain reference: cyclic coordinate descent over all features with residual updates
 * on the row-major X (plain loops, no BLAS, no screening, no working set), the duality gap
 * after every epoch, same objective, same stopping rule. The oracle the fast engine is
 * tested against. Returns APX_OK or APX_ENOCONV. */
apx_status apx__enet_ref(const apx__enet_prob *P, double alpha, double l1_ratio, int positive,
                         double tol, int max_epochs, double *W, apx_enet_info *info);

/* Duality gap (unnormalized) from the sufficient statistics:
 *   XtA (np,T): X_j^T R - b W_j for the np features considered (all p for the true gap),
 *   Rn2 = ||R||^2, Ry = <R, Yc>, Wn2 = ||W||_F^2, l1 = sum_j ||W_j||_2.
 * *scale receives the dual rescaling s (1 when a = 0); *primal the primal value.
 * With a = 0 the gap is formulation B (b > 0, XtA is then X^T R) or ||X^T R||^2. */
double apx__enet_gap(double a, double b, int positive, const double *XtA, int64_t np,
                     int64_t T, double Rn2, double Ry, double Wn2, double l1, double *scale,
                     double *primal);

/* Group soft threshold of z (T): out = max(0, 1 - a/||z||) z / den (T = 1: the soft
 * threshold; positive: max(z - a, 0) / den). Returns whether out is non-zero. */
static inline int apx__group_shrink(const double *z, int64_t T, double a, double den,
                                    int positive, double *out) {
    if (T == 1) {
        double v = z[0];
        double r = positive ? (v > a ? (v - a) / den : 0.0)
                            : (v > a ? (v - a) / den : v < -a ? (v + a) / den : 0.0);
        out[0] = r;
        return r != 0.0;
    }
    double s = 0;
    for (int64_t t = 0; t < T; t++) s += z[t] * z[t];
    double nz = sqrt(s);
    if (nz <= a) {
        for (int64_t t = 0; t < T; t++) out[t] = 0;
        return 0;
    }
    double f = (1.0 - a / nz) / den;
    for (int64_t t = 0; t < T; t++) out[t] = f * z[t];
    return 1;
}

/* ---------------------------------------------------------------- small helpers */

/* Reorder idx[0..n) so that its k smallest keys (key[idx[i]]) come first (quickselect,
 * deterministic median-of-three pivots); 0 <= k <= n. */
void apx__select_smallest(int64_t *idx, int64_t n, int64_t k, const double *key);
/* Sort idx[0..n) ascending (integers). */
void apx__sort_index(int64_t *idx, int64_t n);

/* Least squares on the columns S (s of them) of X (n,p) (centred by xmean when non-NULL):
 * coef_S (s) = argmin ||y - X_S c||, by LAPACK gelsd on a gathered copy (minimum norm if
 * rank deficient). Returns the residual sum of squares in *rss (may be NULL). */
apx_status apx__lstsq_cols(const char *fn, apx_dmat X, const double *xmean, const double *y,
                           const int64_t *S, int64_t s, double *coef_S, double *rss);

/* Solve the small dense system A x = b (k,k) by Gaussian elimination with partial
 * pivoting, in place (A and b are destroyed; x in b). Returns 0, or -1 if singular. */
int apx__small_solve(double *A, double *b, int64_t k);

/* Largest eigenvalue of the symmetric PSD G (k,k) by power iteration (then a safety
 * factor is the caller's business). */
double apx__sym_lmax(const double *G, int64_t k);

#endif /* APX_SPARSE_INTERNAL_H */
