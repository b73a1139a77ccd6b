/* lm.c: Levenberg-Marquardt nonlinear least squares min 0.5 ||r(x)||^2 (Moré 1978, the
 * algorithm of MINPACK lmder): a trust region of radius delta in the norm ||D p||, D the
 * running maximum of the column norms of J; the damped step
 *   p(lambda) = argmin ||J p + r||^2 + lambda ||D p||^2
 * from the SVD J D^-1 = U S V^T: D p = -V diag(s / (s^2 + lambda)) U^T r, so one SVD per
 * Jacobian serves every lambda (for m >= n the SVD comes from the Householder QR of the
 * augmented [J D^-1 | r] = Q [R, Q^T r] and the SVD of the small R = U_R S V^T, U^T r =
 * U_R^T (Q^T r)[0..n); the direct SVD of J D^-1 is the reference path) of the secular equation ||D p(lambda)|| = delta (solved by
 * Hebden-Moré Newton steps on 1/||D p||, safeguarded in [l, u]). Radius update, acceptance
 * (ratio >= 1e-4) and the ftol / xtol / gtol tests as MINPACK.
 * Also the shared helpers of nonlinear_internal.h (callback failures, weighted LS). */
#include <float.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "la/la_internal.h"
#include "regress/lstsq_internal.h"
#include "regress/nonlinear_internal.h"
#include "sketch/sketch_internal.h"

apx_lm_opts apx_lm_opts_default(void) {
    apx_lm_opts o;
    memset(&o, 0, sizeof o);
    o.max_nfev = 0;
    o.ftol = o.xtol = o.gtol = 1e-8;
    o.factor = 100.0;
    o.scale_diag = 1;
    return o;
}

/* ---------------------------------------------------------------- shared helpers */

apx_status apx__callback_fail(const char *fn, const char *what, int rc, int64_t count) {
    char own[384];
    snprintf(own, sizeof own, "%s", apx_last_error());
    apx_status s = (rc >= 1 && rc <= 9) ? (apx_status)rc : APX_EINVAL;
    if (own[0])
        return apx__err(s, "%s: %s failed (returned %d) on call %lld: %s", fn, what, rc,
                        (long long)count, own);
    return apx__err(s, "%s: %s failed (returned %d) on call %lld", fn, what, rc,
                    (long long)count);
}

int64_t apx__first_nonfinite(const double *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

apx_status apx__wls_solve(const char *fn, apx_dmat A, const double *y, const double *w,
                          double *x, double *rss) {
    int64_t m = A.rows, n = A.cols, rank = 0;
    APX__TRY(apx__blas_ensure(fn));
    double *Aw = apx__alloc(fn, (size_t)(m * n + m), sizeof(double));
    if (!Aw) return APX_ENOMEM;
    double *yw = Aw + m * n;
    // (m,n) = diag(sqrt w) (m,n); (m) = diag(sqrt w) (m)
    for (int64_t i = 0; i < m; i++) {
        double sq = w ? sqrt(w[i]) : 1.0;
        for (int64_t j = 0; j < n; j++) Aw[i * n + j] = sq * A.data[i * A.ld + j];
        yw[i] = sq * y[i];
    }
    apx_status st = apx__lstsq_qr(fn, apx_dmat_view(Aw, m, n), apx_dmat_view(yw, m, 1),
                                  apx_dmat_view(x, n, 1),
                                  (double)APX__MAX(m, n) * DBL_EPSILON, &rank);
    if (st == APX_OK && rss) {
        double s = 0;
        for (int64_t i = 0; i < m; i++) {
            double t = -yw[i];
            for (int64_t j = 0; j < n; j++) t += Aw[i * n + j] * x[j];
            s += t * t;
        }
        *rss = s;
    }
    apx_free(Aw);
    return st;
}

/* ---------------------------------------------------------------- workspace */

typedef struct {
    const char *fn;
    apx_lm_problem P;
    int64_t m, n, k;    /* k = min(m, n) singular values */
    int64_t nfev, njev, max_nfev;
    double *r, *rt;     /* residuals at x and at the trial point (m) */
    double *J;          /* (m,n) */
    double *A;          /* (m,n+1) scratch: J D^-1 (and r), destroyed by the QR or SVD */
    double *U, *Vt;     /* (m,k), (k,n); the QR path (m >= n) uses U as (n,n) */
    double *R, *qtr, *tau; /* QR path: R (n,n), (Q^T r)[0..n) (n), reflectors (n+1) */
    double *work;       /* dgeqrf workspace (lwork) */
    apx__bint lwork;
    int direct;         /* 1: always the direct SVD of J D^-1 (the reference path) */
    double *s, *g, *c;  /* (k): singular values, -U^T r, coefficients of D p in V */
    double *D, *xt, *q; /* (n): scaling, trial point, D p */
} lm_ws;

static void ws_free(lm_ws *w) {
    apx_free(w->r);
    apx_free(w->J);
    apx_free(w->D);
    apx_free(w->R);
    apx_free(w->work);
}

// the QR path's buffers and dgeqrf's workspace for the (m, n+1) augmented matrix
static apx_status ws_alloc_qr(lm_ws *w) {
    int64_t m = w->m, n = w->n;
    APX__TRY(apx__blas_ensure(w->fn));
    if (!(w->R = apx__alloc(w->fn, (size_t)(n * n + 2 * n + 1), sizeof(double))))
        return APX_ENOMEM;
    w->qtr = w->R + n * n;
    w->tau = w->qtr + n;
    apx__bint fm = (apx__bint)m, fn1 = (apx__bint)(n + 1), lda = (apx__bint)m, lw = -1, info = 0;
    double q = 0;
    apx__blas.dgeqrf_(&fm, &fn1, w->A, &lda, w->tau, &q, &lw, &info);
    if (info != 0 || !(q < 2e9))
        return apx__err(APX_ENUMERIC, "%s: LAPACK dgeqrf workspace query failed (info %d)",
                        w->fn, (int)info);
    w->lwork = (apx__bint)fmax(1.0, q);
    w->work = apx__alloc(w->fn, (size_t)w->lwork, sizeof(double));
    return w->work ? APX_OK : APX_ENOMEM;
}

static apx_status ws_alloc(lm_ws *w) {
    int64_t m = w->m, n = w->n, k = w->k;
    w->r = apx__alloc(w->fn, (size_t)(2 * m), sizeof(double));
    w->J = apx__alloc(w->fn, (size_t)(2 * m * n + m + m * k + k * n + 3 * k), sizeof(double));
    w->D = apx__alloc(w->fn, (size_t)(3 * n), sizeof(double));
    if (!w->r || !w->J || !w->D) return APX_ENOMEM;
    w->rt = w->r + m;
    w->A = w->J + m * n;
    w->U = w->A + m * (n + 1);
    w->Vt = w->U + m * k;
    w->s = w->Vt + k * n;
    w->g = w->s + k;
    w->c = w->g + k;
    w->xt = w->D + n;
    w->q = w->xt + n;
    return m >= n && !w->direct ? ws_alloc_qr(w) : APX_OK;
}

static double nrm2(const double *x, int64_t n) { return apx__la_nrm2(x, n, 1); }

/* ---------------------------------------------------------------- evaluations */

// r (m) = r(x (n)); *finite = 0 if an entry is NaN/Inf
static apx_status eval_fun(lm_ws *w, const double *x, double *r, int *finite) {
    apx_clear_error();
    w->nfev++;
    int rc = w->P.fun(w->P.ctx, x, r);
    if (rc) return apx__callback_fail(w->fn, "the residual callback", rc, w->nfev);
    *finite = apx__first_nonfinite(r, w->m) < 0;
    return APX_OK;
}

// J (m,n) at x by forward differences: J_:j = (r(x + h e_j) - r(x)) / h
static apx_status fd_jacobian(lm_ws *w, const double *x, const double *r) {
    int64_t m = w->m, n = w->n;
    memcpy(w->xt, x, sizeof(double) * (size_t)n);
    for (int64_t j = 0; j < n; j++) {
        double h = sqrt(DBL_EPSILON) * fmax(fabs(x[j]), 1.0);
        w->xt[j] = x[j] + h;
        h = w->xt[j] - x[j];
        int fin = 1;
        APX__TRY(eval_fun(w, w->xt, w->rt, &fin));
        if (!fin)
            return apx__err(APX_EINVAL, "%s: the residual is not finite at x + h e_%lld "
                            "(forward difference, h = %g)", w->fn, (long long)j, h);
        for (int64_t i = 0; i < m; i++) w->J[i * n + j] = (w->rt[i] - r[i]) / h;
        w->xt[j] = x[j];
    }
    return APX_OK;
}

static apx_status eval_jac(lm_ws *w, const double *x, const double *r) {
    w->njev++;
    if (!w->P.jac) return fd_jacobian(w, x, r);
    apx_clear_error();
    int rc = w->P.jac(w->P.ctx, x, w->J);
    if (rc) return apx__callback_fail(w->fn, "the Jacobian callback", rc, w->njev);
    int64_t bad = apx__first_nonfinite(w->J, w->m * w->n);
    if (bad >= 0)
        return apx__err(APX_EINVAL, "%s: the Jacobian callback returned %g at J[%lld][%lld] "
                        "(call %lld)", w->fn, w->J[bad], (long long)(bad / w->n),
                        (long long)(bad % w->n), (long long)w->njev);
    return APX_OK;
}

/* ---------------------------------------------------------------- the damped step */

// column norms of J (m,n) into cn (n)
static void col_norms(const lm_ws *w, double *cn) {
    for (int64_t j = 0; j < w->n; j++) cn[j] = apx__la_nrm2(w->J + j, w->m, w->n);
}

// QR path (m >= n): [J diag(scale)^-1 | r] (m, n+1) = Q [R qtr; 0 *] (Householder, LAPACK
// dgeqrf on a column-major copy); R (n,n) row-major and qtr = (Q^T r)[0..n) out
static apx_status qr_aug(lm_ws *w, const double *scale) {
    int64_t m = w->m, n = w->n;
    double *T = w->A;
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) T[j * m + i] = w->J[i * n + j] / (scale ? scale[j] : 1.0);
        T[n * m + i] = w->r[i];
    }
    apx__bint fm = (apx__bint)m, fn1 = (apx__bint)(n + 1), lda = (apx__bint)m, info = 0;
    apx__blas.dgeqrf_(&fm, &fn1, T, &lda, w->tau, w->work, &w->lwork, &info);
    if (info != 0) return apx__err(APX_ENUMERIC, "%s: LAPACK dgeqrf failed (info %d)", w->fn, (int)info);
    for (int64_t a = 0; a < n; a++) {
        for (int64_t b = 0; b < n; b++) w->R[a * n + b] = b >= a ? T[b * m + a] : 0;
        w->qtr[a] = T[n * m + a];
    }
    return APX_OK;
}

// the SVD J diag(scale)^-1 = U S V^T (s, Vt) and g = -U^T r (k): for m >= n through the QR
// of the augmented matrix and the SVD of R (n,n), else directly
static apx_status factor_scaled(lm_ws *w, const double *scale) {
    int64_t m = w->m, n = w->n, k = w->k;
    APX__TRY(apx__blas_ensure(w->fn));
    apx_dmat Vt = {w->Vt, k, n, n};
    if (m >= n && !w->direct) {
        APX__TRY(qr_aug(w, scale));
        apx_dmat U = {w->U, n, n, n};
        APX__TRY(apx__la_svd_inplace(w->fn, apx_dmat_view(w->R, n, n), w->s, &U, &Vt));
        // (n) = -(n,n)^T x (n)
        for (int64_t l = 0; l < n; l++) {
            double t = 0;
            for (int64_t a = 0; a < n; a++) t += w->U[a * n + l] * w->qtr[a];
            w->g[l] = -t;
        }
        return APX_OK;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) w->A[i * n + j] = w->J[i * n + j] / (scale ? scale[j] : 1.0);
    apx_dmat U = {w->U, m, k, k};
    APX__TRY(apx__la_svd_inplace(w->fn, apx_dmat_view(w->A, m, n), w->s, &U, &Vt));
    // (k) = -(k,m) x (m)
    for (int64_t l = 0; l < k; l++) {
        double t = 0;
        for (int64_t i = 0; i < m; i++) t += w->U[i * k + l] * w->r[i];
        w->g[l] = -t;
    }
    return APX_OK;
}

static apx_status factor(lm_ws *w) { return factor_scaled(w, w->D); }

// ||D p(lambda)|| and, in *dphi, sum s^2 g^2 / (s^2 + lambda)^3; rank r terms at lambda 0
static double qnorm(const lm_ws *w, int64_t r, double lam, double *dphi) {
    double s2 = 0, d = 0;
    for (int64_t l = 0; l < r; l++) {
        double den = w->s[l] * w->s[l] + lam, t = w->s[l] * w->g[l] / den;
        s2 += t * t;
        d += t * t / den;
    }
    if (dphi) *dphi = d;
    return sqrt(s2);
}

// lambda >= 0 with ||D p|| within 10% of delta, or 0 when the Gauss-Newton step fits
static double solve_lambda(const lm_ws *w, int64_t rank, double delta) {
    double dphi, qn = qnorm(w, rank, 0, &dphi);
    if (qn <= 1.1 * delta) return 0;
    double sg = 0;
    for (int64_t l = 0; l < w->k; l++) sg += (w->s[l] * w->g[l]) * (w->s[l] * w->g[l]);
    double lo = 0, hi = sqrt(sg) / delta, lam = 0;
    // full rank: phi(lambda) = ||D p|| - delta is convex and decreasing, so its tangent
    // step from 0 is a lower bound (Moré 1978)
    if (rank == w->n && dphi > 0) lo = (qn - delta) * qn / dphi;
    for (int it = 0; it < 30; it++) {
        if (!(lam > lo && lam < hi)) lam = fmax(0.001 * hi, sqrt(lo * hi));
        qn = qnorm(w, w->k, lam, &dphi);
        if (fabs(qn - delta) <= 0.1 * delta) break;
        if (qn > delta) lo = fmax(lo, lam);
        else hi = fmin(hi, lam);
        if (!(dphi > 0)) break;
        lam += (qn - delta) * qn * qn / (delta * dphi);
    }
    return lam;
}

// c (k) and q = D p = V c (n) for lambda; rank terms at lambda = 0 (pseudo-inverse)
static void make_step(lm_ws *w, int64_t rank, double lam) {
    int64_t n = w->n, k = w->k, r = lam > 0 ? k : rank;
    for (int64_t l = 0; l < k; l++)
        w->c[l] = l < r ? w->s[l] * w->g[l] / (w->s[l] * w->s[l] + lam) : 0;
    // (n) = (n,k) x (k)
    for (int64_t j = 0; j < n; j++) {
        double t = 0;
        for (int64_t l = 0; l < k; l++) t += w->Vt[l * n + j] * w->c[l];
        w->q[j] = t;
    }
}

/* ---------------------------------------------------------------- the iteration */

typedef struct {
    double fnorm, delta, xnorm, gnorm;
    int stop;  /* apx_lm_stop + 1 when set, 0 while running */
    int first; /* no Jacobian factored yet */
} lm_state;

// gnorm = max_j |J_j . r| / (||J_j|| ||r||); also updates the scaling D
static void scale_and_gnorm(lm_ws *w, lm_state *S, const apx_lm_opts *o, double *cn) {
    col_norms(w, cn);
    for (int64_t j = 0; j < w->n; j++) {
        double dj = o->scale_diag ? cn[j] : 1.0;
        if (S->first) w->D[j] = dj > 0 ? dj : 1.0;
        else w->D[j] = fmax(w->D[j], dj);
    }
    S->gnorm = 0;
    if (S->fnorm == 0) return;
    for (int64_t j = 0; j < w->n; j++) {
        if (cn[j] == 0) continue;
        double t = 0;
        for (int64_t i = 0; i < w->m; i++) t += w->J[i * w->n + j] * w->r[i];
        S->gnorm = fmax(S->gnorm, fabs(t / (cn[j] * S->fnorm)));
    }
}

static double dnorm(const lm_ws *w, const double *x) {
    double s = 0;
    for (int64_t j = 0; j < w->n; j++) s += (w->D[j] * x[j]) * (w->D[j] * x[j]);
    return sqrt(s);
}

// MINPACK's radius update after a trial with the given reductions
static void update_radius(lm_state *S, double ratio, double actred, double dirder,
                          double fnorm1, double pnorm, double lam) {
    if (ratio <= 0.25) {
        double t = actred >= 0 ? 0.5 : 0.5 * dirder / (dirder + 0.5 * actred);
        if (0.1 * fnorm1 >= S->fnorm || t < 0.1) t = 0.1;
        S->delta = t * fmin(S->delta, pnorm / 0.1);
    } else if (lam == 0 || ratio >= 0.75) {
        S->delta = pnorm / 0.5;
    }
}

static int converged(const lm_state *S, const apx_lm_opts *o, double actred, double prered,
                     double ratio) {
    int f = (fabs(actred) <= o->ftol && prered <= o->ftol && 0.5 * ratio <= 1) ||
            (fabs(actred) <= DBL_EPSILON && prered <= DBL_EPSILON && 0.5 * ratio <= 1);
    int x = S->delta <= o->xtol * S->xnorm || S->delta <= DBL_EPSILON * S->xnorm;
    if (f && x) return APX_LM_FTOL_XTOL + 1;
    if (f) return APX_LM_FTOL + 1;
    if (x) return APX_LM_XTOL + 1;
    return 0;
}

// trial steps on the current factorization until one is accepted or the fit stops
static apx_status inner(lm_ws *w, lm_state *S, const apx_lm_opts *o, int64_t rank,
                        double *x) {
    for (;;) {
        double lam = solve_lambda(w, rank, S->delta);
        make_step(w, rank, lam);
        double pnorm = nrm2(w->q, w->n);
        if (S->first) S->delta = fmin(S->delta, pnorm);
        for (int64_t j = 0; j < w->n; j++) w->xt[j] = x[j] + w->q[j] / w->D[j];
        int fin = 1;
        APX__TRY(eval_fun(w, w->xt, w->rt, &fin));
        double fnorm1 = fin ? nrm2(w->rt, w->m) : INFINITY;
        double actred = 0.1 * fnorm1 < S->fnorm ? 1 - (fnorm1 / S->fnorm) * (fnorm1 / S->fnorm)
                                                 : -1;
        double jp = 0; // ||J p|| = ||S c||
        for (int64_t l = 0; l < w->k; l++) jp += (w->s[l] * w->c[l]) * (w->s[l] * w->c[l]);
        double t1 = sqrt(jp) / S->fnorm, t2 = sqrt(lam) * pnorm / S->fnorm;
        double prered = t1 * t1 + t2 * t2 / 0.5, dirder = -(t1 * t1 + t2 * t2);
        double ratio = prered != 0 ? actred / prered : 0;
        update_radius(S, ratio, actred, dirder, fnorm1, pnorm, lam);
        if (ratio >= 1e-4) {
            memcpy(x, w->xt, sizeof(double) * (size_t)w->n);
            memcpy(w->r, w->rt, sizeof(double) * (size_t)w->m);
            S->fnorm = fnorm1;
            S->xnorm = dnorm(w, x);
        }
        S->stop = converged(S, o, actred, prered, ratio);
        if (S->stop) return APX_OK;
        if (w->nfev >= w->max_nfev) {
            S->stop = APX_LM_MAXFEV + 1;
            return APX_OK;
        }
        if (ratio >= 1e-4) return APX_OK;
    }
}

static apx_status iterate(lm_ws *w, lm_state *S, const apx_lm_opts *o, double *x,
                          int64_t *iters) {
    for (;;) {
        APX__TRY(eval_jac(w, x, w->r));
        scale_and_gnorm(w, S, o, w->xt); // xt: (n) scratch for the column norms
        if (S->first) {
            S->xnorm = dnorm(w, x);
            S->delta = S->xnorm > 0 ? o->factor * S->xnorm : o->factor;
        }
        if (S->gnorm <= o->gtol || S->fnorm == 0) {
            S->stop = S->fnorm == 0 ? APX_LM_FTOL + 1 : APX_LM_GTOL + 1;
            return APX_OK;
        }
        APX__TRY(factor(w));
        (*iters)++;
        int64_t rank = apx__rank_from_sv(w->s, w->k, (double)APX__MAX(w->m, w->n) * DBL_EPSILON);
        APX__TRY(inner(w, S, o, rank, x));
        S->first = 0;
        if (S->stop) return APX_OK;
        double frac = (double)w->nfev / (double)w->max_nfev;
        APX__TRY(apx__progress(&o->progress, w->fn, fmin(frac, 1.0), "Levenberg-Marquardt"));
    }
}

/* ---------------------------------------------------------------- results */

// cov (n,n) = s2 V diag(1/s^2) V^T from the SVD of J at x (rank terms); info->rank
static apx_status covariance(lm_ws *w, double s2, apx_lm_info *inf, double *cov) {
    int64_t m = w->m, n = w->n, k = w->k;
    APX__TRY(factor_scaled(w, NULL));
    int64_t r = apx__rank_from_sv(w->s, k, (double)APX__MAX(m, n) * DBL_EPSILON);
    inf->rank = r;
    if (!cov) return APX_OK;
    // (n,n) = (n,r) diag (r,n)
    for (int64_t a = 0; a < n; a++)
        for (int64_t b = 0; b < n; b++) {
            double t = 0;
            for (int64_t l = 0; l < r; l++)
                t += w->Vt[l * n + a] * w->Vt[l * n + b] / (w->s[l] * w->s[l]);
            cov[a * n + b] = isnan(s2) ? NAN : s2 * t;
        }
    return APX_OK;
}

static apx_status finish(lm_ws *w, const double *x, apx_lm_info *inf, double *cov) {
    APX__TRY(eval_jac(w, x, w->r));
    double fn2 = nrm2(w->r, w->m), gmax = 0;
    inf->cost = 0.5 * fn2 * fn2;
    for (int64_t j = 0; j < w->n; j++) {
        double t = 0;
        for (int64_t i = 0; i < w->m; i++) t += w->J[i * w->n + j] * w->r[i];
        gmax = fmax(gmax, fabs(t));
    }
    inf->grad_norm = gmax;
    inf->s2 = w->m > w->n ? 2 * inf->cost / (double)(w->m - w->n) : NAN;
    return covariance(w, inf->s2, inf, cov);
}

static apx_status check_args(const char *fn, apx_lm_problem P, const double *x,
                             const apx_lm_opts *o) {
    if (!P.fun) return apx__err(APX_EINVAL, "%s: the residual callback (fun) is NULL", fn);
    if (P.m < 1 || P.n < 1)
        return apx__err(APX_ESHAPE, "%s: need m >= 1 residuals and n >= 1 parameters, got "
                        "m = %lld, n = %lld", fn, (long long)P.m, (long long)P.n);
    if (P.m > (1LL << 30) / P.n)
        return apx__err(APX_ESHAPE, "%s: m = %lld by n = %lld Jacobian is too large", fn,
                        (long long)P.m, (long long)P.n);
    if (!x) return apx__err(APX_EINVAL, "%s: x is NULL", fn);
    APX__TRY(apx__check_finite_vec(fn, "x", x, P.n));
    if (!(o->ftol >= 0) || !(o->xtol >= 0) || !(o->gtol >= 0) || !isfinite(o->ftol) ||
        !isfinite(o->xtol) || !isfinite(o->gtol))
        return apx__err(APX_EINVAL, "%s: ftol, xtol, gtol must be finite and >= 0, got %g, "
                        "%g, %g", fn, o->ftol, o->xtol, o->gtol);
    if (!(o->factor > 0) || !isfinite(o->factor))
        return apx__err(APX_EINVAL, "%s: factor must be > 0 and finite, got %g", fn, o->factor);
    return APX_OK;
}

static apx_status run(lm_ws *w, const apx_lm_opts *o, double *x, apx_lm_info *inf,
                      double *cov) {
    APX__TRY(ws_alloc(w));
    int fin = 1;
    APX__TRY(eval_fun(w, x, w->r, &fin));
    if (!fin) {
        int64_t b = apx__first_nonfinite(w->r, w->m);
        return apx__err(APX_EINVAL, "%s: the residual at the start x is not finite (r[%lld] "
                        "= %g)", w->fn, (long long)b, w->r[b]);
    }
    lm_state S = {nrm2(w->r, w->m), 0, 0, 0, 0, 1};
    APX__TRY(iterate(w, &S, o, x, &inf->iterations));
    inf->stop = (apx_lm_stop)(S.stop - 1);
    APX__TRY(finish(w, x, inf, cov));
    if (inf->stop == APX_LM_MAXFEV)
        return apx__err(APX_ENOCONV, "%s: stopped after %lld residual evaluations (max_nfev) "
                        "at cost %g, gradient %g", w->fn, (long long)w->nfev, inf->cost,
                        inf->grad_norm);
    return APX_OK;
}

static apx_status lm_main(apx_lm_problem prob, double *x, const apx_lm_opts *opts,
                          apx_lm_info *info, double *cov, int direct) {
    const char *fn = "lm";
    apx_lm_opts o = opts ? *opts : apx_lm_opts_default();
    APX__TRY(check_args(fn, prob, x, &o));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lm_ws w;
    memset(&w, 0, sizeof w);
    w.fn = fn;
    w.P = prob;
    w.m = prob.m;
    w.n = prob.n;
    w.k = APX__MIN(prob.m, prob.n);
    w.direct = direct;
    w.max_nfev = o.max_nfev > 0 ? o.max_nfev : (prob.jac ? 100 * w.n : 100 * w.n * (w.n + 1));
    apx_lm_info inf;
    memset(&inf, 0, sizeof inf);
    apx_status st = run(&w, &o, x, &inf, cov);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    inf.nfev = w.nfev;
    inf.njev = w.njev;
    inf.seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (info) *info = inf;
    ws_free(&w);
    return st;
}

apx_status apx_regress_lm(apx_lm_problem prob, double *x, const apx_lm_opts *opts,
                          apx_lm_info *info, double *cov) {
    return lm_main(prob, x, opts, info, cov, 0);
}

apx_status apx__regress_lm_direct(apx_lm_problem prob, double *x, const apx_lm_opts *opts,
                                  apx_lm_info *info, double *cov) {
    return lm_main(prob, x, opts, info, cov, 1);
}
