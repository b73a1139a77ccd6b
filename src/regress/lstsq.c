/* lstsq.c: least squares min ||A X - B||_F by
 *   QR:     Householder QR of A (LAPACK dgeqrf on a column-major copy), Q^T B by the stored
 *           reflectors, then R^-1 (back substitution) or, when R is numerically rank
 *           deficient, the minimum-norm solution V_r S_r^-1 U_r^T (Q^T B) from the SVD of R;
 *   SKETCH: sketch-and-precondition (Rokhlin-Tygert 2008, Blendenpik 2010, LSRN 2014):
 *           S A (s,n) = U S V^T, N = V_r S_r^-1, start from the sketch-and-solve solution,
 *           LSQR on the well-conditioned A N with one fused pass over A per step;
 *   SKETCH_SOLVE: the sketched problem only (P026's setting);
 *   SVD:    LAPACK gelsd (apx_la_lstsq).
 * Weighted least squares scales the rows by sqrt(w). */
#include <float.h>
#include <limits.h>
#include <string.h>

#include "apx/la.h"
#include "apx/regress.h"
#include "regress/lstsq_internal.h"
#include "sketch/sketch_internal.h"
#include "solve/solve_internal.h"

apx_lstsq_opts apx_lstsq_opts_default(void) {
    apx_lstsq_opts o;
    memset(&o, 0, sizeof o);
    o.method = APX_LSTSQ_SKETCH;
    o.sketch = APX_EMBED_SPARSE_SIGN;
    o.oversample = 10.0;
    o.tol = 1e-14;
    o.max_iters = 0;
    o.rcond = -1.0;
    o.seed = 0;
    return o;
}

/* ---------------------------------------------------------------- helpers */

// T (col-major m x n, ld m) = A (row-major m x n), in 32 x 32 tiles
static void to_colmajor(apx_dmat A, double *T) {
    int64_t m = A.rows, n = A.cols;
#pragma omp parallel for schedule(static) if (m * n >= (1 << 19))
    for (int64_t i0 = 0; i0 < m; i0 += 32)
        for (int64_t j0 = 0; j0 < n; j0 += 32)
            for (int64_t i = i0; i < APX__MIN(m, i0 + 32); i++)
                for (int64_t j = j0; j < APX__MIN(n, j0 + 32); j++) T[j * m + i] = A.data[i * A.ld + j];
}

// ||A X - B||_F, one pass over A; row sums added in order (thread-count independent);
// NaN if the scratch cannot be allocated
static double resid_fro(apx_dmat A, apx_dmat B, apx_dmat X) {
    double *rs = apx_malloc(sizeof(double) * (size_t)A.rows);
    if (!rs) return NAN;
#pragma omp parallel for schedule(static) if (A.rows * A.cols >= (1 << 19))
    for (int64_t i = 0; i < A.rows; i++) {
        const double *a = A.data + i * A.ld;
        double s = 0;
        for (int64_t k = 0; k < B.cols; k++) {
            double t = -B.data[i * B.ld + k];
            for (int64_t j = 0; j < A.cols; j++) t += a[j] * X.data[j * X.ld + k];
            s += t * t;
        }
        rs[i] = s;
    }
    double s = 0;
    for (int64_t i = 0; i < A.rows; i++) s += rs[i];
    apx_free(rs);
    return sqrt(s);
}

/* ---------------------------------------------------------------- QR */

static apx_status geqrf(const char *fn, int64_t m, int64_t n, double *T, double *tau) {
    apx__bint fm = (apx__bint)m, fnn = (apx__bint)n, lda = (apx__bint)m, lwork = -1, info = 0;
    double q = 0;
    apx__blas.dgeqrf_(&fm, &fnn, T, &lda, tau, &q, &lwork, &info);
    if (info != 0 || !(q < (double)INT_MAX))
        return apx__err(APX_EINVAL, "%s: LAPACK dgeqrf workspace query failed (info %d)", fn,
                        (int)info);
    lwork = (apx__bint)APX__MAX(1.0, q);
    double *work = apx__alloc(fn, (size_t)lwork, sizeof(double));
    if (!work) return APX_ENOMEM;
    apx__blas.dgeqrf_(&fm, &fnn, T, &lda, tau, work, &lwork, &info);
    apx_free(work);
    if (info != 0) return apx__err(APX_EINVAL, "%s: LAPACK dgeqrf failed (info %d)", fn, (int)info);
    return APX_OK;
}

// c (m) <- Q^T c with the reflectors of geqrf: H_j = I - tau_j v v^T, v = [1; T[j+1:m, j]]
static void apply_qt(const double *T, const double *tau, int64_t m, int64_t n, double *c) {
    for (int64_t j = 0; j < n; j++) {
        const double *v = T + j * m;
        double s = c[j];
#pragma omp simd reduction(+ : s)
        for (int64_t i = j + 1; i < m; i++) s += v[i] * c[i];
        s *= tau[j];
        c[j] -= s;
#pragma omp simd
        for (int64_t i = j + 1; i < m; i++) c[i] -= s * v[i];
    }
}

// x (n) = R^-1 c for the upper triangle R of T (column-major, ld m)
static void back_subst(const double *T, int64_t m, int64_t n, const double *c, double *x) {
    for (int64_t i = n - 1; i >= 0; i--) {
        double s = c[i];
        for (int64_t j = i + 1; j < n; j++) s -= T[j * m + i] * x[j];
        x[i] = s / T[i * m + i];
    }
}

typedef struct {
    double *T, *tau, *c, *sv, *y;
    apx_dmat R, U, Vt;
} qr_work;

static void qr_free(qr_work *w) {
    apx_free(w->T);
    apx_free(w->tau);
    apx_free(w->c);
    apx_free(w->sv);
    apx_free(w->y);
    apx_dmat_free(&w->R);
    apx_dmat_free(&w->U);
    apx_dmat_free(&w->Vt);
}

// SVD of R (n,n) for the rank; returns it in *rank
static apx_status qr_rank(const char *fn, qr_work *w, int64_t m, int64_t n, double rcond,
                          int64_t *rank) {
    APX__TRY(apx_dmat_alloc(n, n, &w->R));
    APX__TRY(apx_dmat_alloc(n, n, &w->U));
    APX__TRY(apx_dmat_alloc(n, n, &w->Vt));
    if (!(w->sv = apx__alloc(fn, (size_t)n, sizeof(double)))) return APX_ENOMEM;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i; j < n; j++) w->R.data[i * n + j] = w->T[j * m + i];
    APX__TRY(apx_la_svd(w->R, w->sv, &w->U, &w->Vt));
    *rank = apx__rank_from_sv(w->sv, n, rcond);
    return APX_OK;
}

// x = V_r S_r^-1 U_r^T c (n); t (r) scratch
static void svd_solve(const qr_work *w, int64_t n, int64_t r, const double *c, double *t,
                      double *x) {
    for (int64_t k = 0; k < r; k++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += w->U.data[i * n + k] * c[i];
        t[k] = s / w->sv[k];
    }
    for (int64_t j = 0; j < n; j++) {
        double s = 0;
        for (int64_t k = 0; k < r; k++) s += w->Vt.data[k * n + j] * t[k];
        x[j] = s;
    }
}

apx_status apx__lstsq_qr(const char *fn, apx_dmat A, apx_dmat B, apx_dmat X, double rcond,
                         int64_t *rank) {
    int64_t m = A.rows, n = A.cols;
    qr_work w;
    memset(&w, 0, sizeof w);
    apx_status st = APX_OK;
    w.T = apx__alloc(fn, (size_t)(m * n), sizeof(double));
    w.tau = apx__alloc(fn, (size_t)n, sizeof(double));
    w.c = apx__alloc(fn, (size_t)m, sizeof(double));
    w.y = apx__alloc(fn, (size_t)(2 * n), sizeof(double));
    if (!w.T || !w.tau || !w.c || !w.y) st = APX_ENOMEM;
    if (st == APX_OK) {
        to_colmajor(A, w.T);
        st = geqrf(fn, m, n, w.T, w.tau);
    }
    int64_t r = 0;
    if (st == APX_OK) st = qr_rank(fn, &w, m, n, rcond, &r);
    for (int64_t k = 0; st == APX_OK && k < B.cols; k++) {
        for (int64_t i = 0; i < m; i++) w.c[i] = B.data[i * B.ld + k];
        apply_qt(w.T, w.tau, m, n, w.c);
        if (r == n) back_subst(w.T, m, n, w.c, w.y);
        else svd_solve(&w, n, r, w.c, w.y + n, w.y);
        for (int64_t j = 0; j < n; j++) X.data[j * X.ld + k] = w.y[j];
    }
    if (rank) *rank = r;
    qr_free(&w);
    return st;
}

/* ---------------------------------------------------------------- sketch */

typedef struct {
    apx_dmat A;
    int64_t n, r;   /* A's columns, preconditioned columns */
    const double *Nm; /* N (n,r) */
    double *w, *zA; /* scratch (n) */
} pre_ctx;

// LSQR step on M = A N: w = N v; u <- A w - alpha u; zA = A^T u; z = N^T zA
static apx_status pre_step(void *ctx, const double *v, double alpha, double *u, double *z) {
    pre_ctx *c = ctx;
    for (int64_t j = 0; j < c->n; j++) {
        double s = 0;
        for (int64_t k = 0; k < c->r; k++) s += c->Nm[j * c->r + k] * v[k];
        c->w[j] = s;
    }
    APX__TRY(apx__op_fused("lstsq", apx_op_dense(c->A), c->w, alpha, u, c->zA));
    for (int64_t k = 0; k < c->r; k++) z[k] = 0;
    for (int64_t j = 0; j < c->n; j++) {
        const double *nr = c->Nm + j * c->r;
        for (int64_t k = 0; k < c->r; k++) z[k] += nr[k] * c->zA[j];
    }
    return APX_OK;
}

typedef struct {
    apx_sketch_plan *plan;
    apx_dmat SA, SB, U, Vt, Nm;
    double *sv, *y, *b, *buf;
} sk_work;

static void sk_free(sk_work *w) {
    apx_sketch_plan_free(w->plan);
    apx_dmat_free(&w->SA);
    apx_dmat_free(&w->SB);
    apx_dmat_free(&w->U);
    apx_dmat_free(&w->Vt);
    apx_dmat_free(&w->Nm);
    apx_free(w->sv);
    apx_free(w->y);
    apx_free(w->b);
    apx_free(w->buf);
}

// S A, S B, the SVD of S A, N = V_r S_r^-1 (n, r)
static apx_status sk_setup(const char *fn, apx_dmat A, apx_dmat B, const apx_lstsq_opts *o,
                           int64_t s, sk_work *w, int64_t *rank) {
    int64_t m = A.rows, n = A.cols;
    APX__TRY(apx_sketch_plan_create(o->sketch, s, m, o->seed, NULL, &w->plan));
    APX__TRY(apx_dmat_alloc(s, n, &w->SA));
    APX__TRY(apx_dmat_alloc(s, B.cols, &w->SB));
    APX__TRY(apx__sketch_apply(fn, w->plan, A, w->SA));
    APX__TRY(apx__sketch_apply(fn, w->plan, B, w->SB));
    APX__TRY(apx__sketch_svd(fn, w->SA, apx__rcond_default(o->rcond, m, n), &w->U, &w->Vt,
                             &w->sv, rank));
    int64_t r = *rank;
    APX__TRY(apx_dmat_alloc(n, APX__MAX(r, 1), &w->Nm));
    for (int64_t j = 0; j < n; j++)
        for (int64_t k = 0; k < r; k++) w->Nm.data[j * w->Nm.ld + k] = w->Vt.data[k * n + j] / w->sv[k];
    return APX_OK;
}

// y0 (r) = U_r^T (S b_k): the sketch-and-solve solution in the preconditioned coordinates
static void sk_start(const sk_work *w, int64_t r, int64_t k, double *y) {
    for (int64_t q = 0; q < r; q++) {
        double s = 0;
        for (int64_t i = 0; i < w->SB.rows; i++)
            s += w->U.data[i * w->U.ld + q] * w->SB.data[i * w->SB.ld + k];
        y[q] = s;
    }
}

// X[:,k] = N y
static void sk_store(const sk_work *w, int64_t n, int64_t r, const double *y, apx_dmat X,
                     int64_t k) {
    for (int64_t j = 0; j < n; j++) {
        double s = 0;
        for (int64_t q = 0; q < r; q++) s += w->Nm.data[j * w->Nm.ld + q] * y[q];
        X.data[j * X.ld + k] = s;
    }
}

static apx_status sk_lsqr(const char *fn, apx_dmat A, apx_dmat B, apx_dmat X,
                          const apx_lstsq_opts *o, sk_work *w, int64_t r, apx_lstsq_info *inf) {
    int64_t m = A.rows, n = A.cols;
    int64_t maxit = o->max_iters > 0 ? o->max_iters : 200;
    if (!(w->b = apx__alloc(fn, (size_t)m, sizeof(double)))) return APX_ENOMEM;
    if (!(w->buf = apx__alloc(fn, (size_t)(2 * n), sizeof(double)))) return APX_ENOMEM;
    pre_ctx c = {A, n, r, w->Nm.data, w->buf, w->buf + n};
    for (int64_t k = 0; k < B.cols; k++) {
        for (int64_t i = 0; i < m; i++) w->b[i] = B.data[i * B.ld + k];
        apx__lsqr_result res;
        APX__TRY(apx__lsqr(fn, m, r, pre_step, &c, w->b, w->y, o->tol, maxit, &o->progress, &res));
        inf->iterations += res.iterations;
        if (res.istop == 7) inf->converged = 0;
        inf->cond_precond = APX__MAX(inf->cond_precond, res.acond);
        sk_store(w, n, r, w->y, X, k);
        if (k + 1 < B.cols) sk_start(w, r, k + 1, w->y);
    }
    return APX_OK;
}

static apx_status lstsq_sketch(const char *fn, apx_dmat A, apx_dmat B, apx_dmat X,
                               const apx_lstsq_opts *o, int iterate, apx_lstsq_info *inf) {
    int64_t m = A.rows, n = A.cols, r = 0;
    int64_t s = (int64_t)ceil(o->oversample * (double)n);
    if (s > m) s = m;
    if (o->sketch == APX_EMBED_SRHT && s > apx__next_pow2(m)) s = apx__next_pow2(m);
    inf->sketch_rows = s;
    sk_work w;
    memset(&w, 0, sizeof w);
    apx_status st = sk_setup(fn, A, B, o, s, &w, &r);
    inf->rank = r;
    if (st == APX_OK && !(w.y = apx__alloc(fn, (size_t)APX__MAX(r, 1), sizeof(double))))
        st = APX_ENOMEM;
    if (st == APX_OK && r == 0) { // A = 0 (numerically): X = 0
        for (int64_t j = 0; j < n; j++)
            for (int64_t k = 0; k < B.cols; k++) X.data[j * X.ld + k] = 0;
    } else if (st == APX_OK && !iterate) {
        for (int64_t k = 0; k < B.cols; k++) {
            sk_start(&w, r, k, w.y);
            sk_store(&w, n, r, w.y, X, k);
        }
    } else if (st == APX_OK) {
        sk_start(&w, r, 0, w.y);
        st = sk_lsqr(fn, A, B, X, o, &w, r, inf);
    }
    sk_free(&w);
    return st;
}

/* ---------------------------------------------------------------- entry points */

static apx_status check_args(const char *fn, apx_dmat A, apx_dmat B, apx_dmat X,
                             const apx_lstsq_opts *o) {
    APX__TRY(apx__check_dmat_nonempty(fn, "A", A));
    APX__TRY(apx__check_dmat_nonempty(fn, "B", B));
    if (B.rows != A.rows)
        return apx__err(APX_ESHAPE, "%s: A has %lld rows but B has %lld", fn, (long long)A.rows,
                        (long long)B.rows);
    APX__TRY(apx__check_dmat_shape(fn, "X", X, A.cols, B.cols));
    if (o->method < APX_LSTSQ_QR || o->method > APX_LSTSQ_SVD)
        return apx__err(APX_EINVAL, "%s: unknown method %d", fn, (int)o->method);
    if (o->sketch < 0 || o->sketch >= APX_EMBED_COUNT)
        return apx__err(APX_EINVAL, "%s: unknown sketch kind %d", fn, (int)o->sketch);
    if (!(o->oversample >= 1) || !isfinite(o->oversample))
        return apx__err(APX_EINVAL, "%s: oversample = %g must be >= 1", fn, o->oversample);
    if (!(o->tol >= 0) || !isfinite(o->tol))
        return apx__err(APX_EINVAL, "%s: tol = %g must be finite and >= 0", fn, o->tol);
    if (!(o->rcond < 1) || isnan(o->rcond))
        return apx__err(APX_EINVAL, "%s: rcond = %g must be < 1", fn, o->rcond);
    APX__TRY(apx__check_finite(fn, "A", A));
    APX__TRY(apx__check_finite(fn, "B", B));
    APX__TRY(apx__check_blas_size(fn, A));
    return apx__blas_ensure(fn);
}

// the method after fallbacks: m < n needs gelsd; sketching needs m >= 2n
static apx_lstsq_method effective_method(apx_dmat A, apx_lstsq_method m) {
    if (A.rows < A.cols) return APX_LSTSQ_SVD;
    if ((m == APX_LSTSQ_SKETCH || m == APX_LSTSQ_SKETCH_SOLVE) && A.rows < 2 * A.cols)
        return APX_LSTSQ_QR;
    return m;
}

apx_status apx__lstsq_run(const char *fn, apx_dmat A, apx_dmat B, apx_dmat X,
                          const apx_lstsq_opts *o, apx_lstsq_info *inf) {
    double t0 = apx__solve_now();
    memset(inf, 0, sizeof *inf);
    inf->converged = 1;
    inf->method = effective_method(A, o->method);
    double rcond = apx__rcond_default(o->rcond, A.rows, A.cols);
    apx_status st;
    switch (inf->method) {
    case APX_LSTSQ_QR: st = apx__lstsq_qr(fn, A, B, X, rcond, &inf->rank); break;
    case APX_LSTSQ_SVD: st = apx_la_lstsq(A, B, rcond, X, &inf->rank); break;
    default: st = lstsq_sketch(fn, A, B, X, o, inf->method == APX_LSTSQ_SKETCH, inf); break;
    }
    inf->residual_norm = st == APX_OK ? resid_fro(A, B, X) : NAN;
    inf->seconds = apx__solve_now() - t0;
    if (st == APX_OK && !inf->converged)
        st = apx__err(APX_ENOCONV, "%s: LSQR did not reach tol = %g within %lld steps per "
                      "right-hand side (residual %.6g)", fn, o->tol,
                      (long long)(o->max_iters > 0 ? o->max_iters : 200), inf->residual_norm);
    return st;
}

apx_status apx_regress_lstsq(apx_dmat A, apx_dmat B, apx_dmat X, const apx_lstsq_opts *opts,
                             apx_lstsq_info *info) {
    const char *fn = "lstsq";
    apx_lstsq_opts o = opts ? *opts : apx_lstsq_opts_default();
    APX__TRY(check_args(fn, A, B, X, &o));
    apx_lstsq_info inf;
    apx_status st = apx__lstsq_run(fn, A, B, X, &o, &inf);
    if (info) *info = inf;
    return st;
}

apx_status apx_regress_wlstsq(apx_dmat A, apx_dmat B, const double *w, apx_dmat X,
                              const apx_lstsq_opts *opts, apx_lstsq_info *info) {
    const char *fn = "wlstsq";
    apx_lstsq_opts o = opts ? *opts : apx_lstsq_opts_default();
    APX__TRY(check_args(fn, A, B, X, &o));
    APX__TRY(apx__check_finite_vec(fn, "w", w, A.rows));
    for (int64_t i = 0; i < A.rows; i++)
        if (w[i] < 0)
            return apx__err(APX_EINVAL, "%s: w[%lld] = %g; weights must be >= 0", fn,
                            (long long)i, w[i]);
    apx_dmat Aw = {0}, Bw = {0};
    apx_status st = apx_dmat_alloc(A.rows, A.cols, &Aw);
    if (st == APX_OK) st = apx_dmat_alloc(B.rows, B.cols, &Bw);
    if (st == APX_OK) {
        for (int64_t i = 0; i < A.rows; i++) {
            double sq = sqrt(w[i]);
            for (int64_t j = 0; j < A.cols; j++) Aw.data[i * Aw.ld + j] = sq * A.data[i * A.ld + j];
            for (int64_t k = 0; k < B.cols; k++) Bw.data[i * Bw.ld + k] = sq * B.data[i * B.ld + k];
        }
        apx_lstsq_info inf;
        st = apx__lstsq_run(fn, Aw, Bw, X, &o, &inf);
        if (info) *info = inf;
    }
    apx_dmat_free(&Aw);
    apx_dmat_free(&Bw);
    return st;
}
