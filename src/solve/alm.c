/* alm.c: equality-constrained optimization min f(x) s.t. c(x) = 0 by Newton steps on the KKT
 * system, solved inexactly by randomized Kaczmarz or sketch-and-project, with an Armijo line
 * search on the exact augmented Lagrangian (P073, AdaSketch-Newton: Na, Anitescu, Kolar).
 * The built-in equality-constrained logistic regression lives at the end. */
#include <string.h>

#include "apx/la.h"
#include "solve/solve_internal.h"

apx_alm_opts apx_alm_opts_default(void) {
    apx_alm_opts o;
    memset(&o, 0, sizeof o);
    o.tol = 1e-8;
    o.max_iters = 200;
    o.inner = APX_ALM_SKETCH_ROWS;
    o.delta0 = 0.1;
    o.mu0 = 1.0;
    o.nu0 = 0.1;
    o.rho = 1.5;
    o.beta = 0.1;
    o.xi_B = 0.1;
    return o;
}

/* ---------------------------------------------------------------- evaluation */

/* One primal-dual point with what the method needs there. */
typedef struct {
    double *x, *lam, *g, *c, *J, *gL; // (n), (m), (n), (m), (m,n), (n)
    double f, kkt;
} apoint;

typedef struct {
    const char *fn;
    const apx_alm_problem *P;
    apx_alm_opts o;
    int64_t n, m, N;
    apoint cur, trial;
    double *H, *K, *Ke, *ev, *rhs, *d, *Hg, *tmp; // (n,n) (N,N) (N,N) (N) (N) (N) (n) (n)
    double mu, nu, dcap;
    apx_alm_info info;
} arun;

static apx_status cb_status(const arun *R, apx_status st, const char *what) {
    if (st == APX_OK) return APX_OK;
    return apx__err(st, "%s: the %s callback failed (status %d): %s", R->fn, what, (int)st,
                    apx_last_error());
}

static apx_status finite_out(const arun *R, const char *what, const double *v, int64_t len) {
    for (int64_t i = 0; i < len; i++)
        if (!isfinite(v[i]))
            return apx__err(APX_ENUMERIC, "%s: the %s callback returned a non-finite value "
                            "at entry %lld", R->fn, what, (long long)i);
    return APX_OK;
}

// f, g, c, J, gL = g + J^T lam and ||(gL, c)|| at (p->x, p->lam)
static apx_status eval_point(arun *R, apoint *p) {
    const apx_alm_problem *P = R->P;
    int64_t n = R->n, m = R->m;
    APX__TRY(cb_status(R, P->fun(P->ctx, p->x, &p->f, p->g), "fun"));
    APX__TRY(finite_out(R, "fun", &p->f, 1));
    APX__TRY(finite_out(R, "fun (gradient)", p->g, n));
    APX__TRY(cb_status(R, P->cons(P->ctx, p->x, p->c, p->J), "cons"));
    APX__TRY(finite_out(R, "cons", p->c, m));
    APX__TRY(finite_out(R, "cons (Jacobian)", p->J, m * n));
    R->info.fun_evals++;
    double s = 0;
    for (int64_t j = 0; j < n; j++) {
        double v = p->g[j];
        for (int64_t i = 0; i < m; i++) v += p->J[i * n + j] * p->lam[i];
        p->gL[j] = v;
        s += v * v;
    }
    for (int64_t i = 0; i < m; i++) s += p->c[i] * p->c[i];
    p->kkt = sqrt(s);
    return APX_OK;
}

// H (n,n): the Hessian of the Lagrangian, or n products H e_j, symmetrized
static apx_status hessian(arun *R, const apoint *p) {
    const apx_alm_problem *P = R->P;
    int64_t n = R->n;
    if (P->hess) {
        APX__TRY(cb_status(R, P->hess(P->ctx, p->x, p->lam, R->H), "hess"));
    } else {
        for (int64_t j = 0; j < n; j++) {
            memset(R->tmp, 0, sizeof(double) * (size_t)n);
            R->tmp[j] = 1.0;
            APX__TRY(cb_status(R, P->hessp(P->ctx, p->x, p->lam, R->tmp, R->Hg), "hessp"));
            for (int64_t i = 0; i < n; i++) R->H[i * n + j] = R->Hg[i];
        }
    }
    APX__TRY(finite_out(R, "hess", R->H, n * n));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) {
            double v = 0.5 * (R->H[i * n + j] + R->H[j * n + i]);
            R->H[i * n + j] = R->H[j * n + i] = v;
        }
    return APX_OK;
}

// the exact augmented Lagrangian at p: f + c^T lam + (mu/2)||c||^2 + (nu/2)||gL||^2
static double merit(const arun *R, const apoint *p) {
    double cl = 0, cc = 0, gg = 0;
    for (int64_t i = 0; i < R->m; i++) cl += p->c[i] * p->lam[i], cc += p->c[i] * p->c[i];
    for (int64_t j = 0; j < R->n; j++) gg += p->gL[j] * p->gL[j];
    return p->f + cl + 0.5 * R->mu * cc + 0.5 * R->nu * gg;
}

// grad L_{mu,nu}^T d, d = (dx (n), dl (m)): (gL + mu J^T c + nu H gL)^T dx + (c + nu J gL)^T dl
static double merit_slope(const arun *R, const apoint *p, const double *d) {
    int64_t n = R->n, m = R->m;
    double s = 0;
    for (int64_t i = 0; i < n; i++) { // Hg = H gL
        double v = 0;
        for (int64_t j = 0; j < n; j++) v += R->H[i * n + j] * p->gL[j];
        R->Hg[i] = v;
    }
    for (int64_t j = 0; j < n; j++) s += (p->gL[j] + R->nu * R->Hg[j]) * d[j];
    for (int64_t i = 0; i < m; i++) {
        double Jd = 0, Jg = 0;
        for (int64_t j = 0; j < n; j++) Jd += p->J[i * n + j] * d[j], Jg += p->J[i * n + j] * p->gL[j];
        s += R->mu * p->c[i] * Jd + (p->c[i] + R->nu * Jg) * d[n + i];
    }
    return s;
}

/* ---------------------------------------------------------------- the KKT system */

// K (N,N) = [[H + shift I, J^T], [J, 0]]
static void build_kkt(arun *R, const apoint *p, double shift) {
    int64_t n = R->n, m = R->m, N = R->N;
    memset(R->K, 0, sizeof(double) * (size_t)(N * N));
    for (int64_t i = 0; i < n; i++) {
        memcpy(R->K + i * N, R->H + i * n, sizeof(double) * (size_t)n);
        R->K[i * N + i] += shift;
        for (int64_t k = 0; k < m; k++) R->K[i * N + n + k] = p->J[k * n + i];
    }
    for (int64_t k = 0; k < m; k++) memcpy(R->K + (n + k) * N, p->J + k * n, sizeof(double) * (size_t)n);
}

// inertia of K: 1 when it is (n, m, 0) (reduced Hessian positive definite, J full rank)
static apx_status inertia_ok(arun *R, int *ok) {
    int64_t N = R->N, pos = 0, neg = 0;
    memcpy(R->Ke, R->K, sizeof(double) * (size_t)(N * N));
    APX__TRY(apx_la_eigh(apx_dmat_view(R->Ke, N, N), R->ev, NULL));
    double big = 0;
    for (int64_t i = 0; i < N; i++) big = APX__MAX(big, fabs(R->ev[i]));
    for (int64_t i = 0; i < N; i++) {
        if (R->ev[i] > 1e-12 * big) pos++;
        else if (R->ev[i] < -1e-12 * big) neg++;
    }
    *ok = pos == R->n && neg == R->m;
    return APX_OK;
}

// the KKT matrix with a Hessian modified until the inertia is right
static apx_status kkt_matrix(arun *R, const apoint *p) {
    int ok;
    build_kkt(R, p, 0.0);
    APX__TRY(inertia_ok(R, &ok));
    if (ok) return APX_OK;
    double hf = 0;
    for (int64_t i = 0; i < R->n * R->n; i++) hf += R->H[i] * R->H[i];
    build_kkt(R, p, R->o.xi_B + sqrt(hf));
    R->info.hess_mods++;
    APX__TRY(inertia_ok(R, &ok));
    if (!ok)
        return apx__err(APX_ENUMERIC, "%s: the KKT matrix is singular at iteration %lld (the "
                        "constraint Jacobian is rank-deficient)", R->fn,
                        (long long)R->info.iterations);
    return APX_OK;
}

/* forward (fwd = 1): K <- S K S, rhs <- S rhs, d <- S^-1 d (or 0 when !warm); back: the
 * inverse, d <- S d. */
static void scale_kkt(arun *R, const double *sc, int warm, int fwd) {
    int64_t N = R->N;
    for (int64_t i = 0; i < N; i++) {
        double si = fwd ? sc[i] : 1.0 / sc[i];
        for (int64_t j = 0; j < N; j++) R->K[i * N + j] *= si * (fwd ? sc[j] : 1.0 / sc[j]);
        R->rhs[i] *= si;
        R->d[i] = !warm ? 0.0 : fwd ? R->d[i] / sc[i] : R->d[i] * sc[i];
    }
}

/* d (N) ~ K^-1 rhs to the relative residual delta (warm: from d as it is). A sketching
 * solve that hits its iteration limit still gives its last iterate. */
static apx_status kkt_solve(arun *R, double delta, int warm) {
    int64_t N = R->N;
    apx_dmat K = apx_dmat_view(R->K, N, N);
    if (R->o.inner == APX_ALM_DIRECT) {
        memcpy(R->Ke, R->K, sizeof(double) * (size_t)(N * N));
        return apx_la_solve(apx_dmat_view(R->Ke, N, N), apx_dmat_view(R->rhs, N, 1),
                            apx_dmat_view(R->d, N, 1));
    }
    // the constraint rows and columns scaled to unit-norm Jacobian rows: K' = S K S,
    // S = diag(1 (n), 1/||J_i|| (m)); solve K' y = S rhs, d = S y
    int64_t n = R->n;
    double *sc = R->ev; // (N) scale, reusing the eigenvalue buffer
    for (int64_t i = 0; i < N; i++) {
        double t = 0;
        for (int64_t j = 0; i >= n && j < n; j++) t += R->K[i * N + j] * R->K[i * N + j];
        sc[i] = i < n || !(t > 0) ? 1.0 : 1.0 / sqrt(t);
    }
    scale_kkt(R, sc, warm, 1);
    apx_solve_opts so = apx_solve_opts_default();
    so.tol = delta;
    so.warm_start = 1; // from d = 0 or the previous direction (scaled)
    so.seed = R->o.seed + 0x9E3779B97F4A7C15ull * (uint64_t)(R->info.iterations + 1) +
              (uint64_t)R->info.mu_increases;
    so.block = R->o.block;
    so.sp_sketch = R->o.inner == APX_ALM_SKETCH_GAUSSIAN ? APX_SP_GAUSSIAN : APX_SP_ROWS;
    int kz = R->o.inner == APX_ALM_KACZMARZ;
    int64_t q = R->o.block > 0 ? R->o.block : APX__MAX(2, (int64_t)ceil(sqrt((double)N)));
    so.max_iters = R->o.inner_max_iters > 0 ? R->o.inner_max_iters
                   : kz ? 50000 * N : 50000 * N / APX__MIN(q, N) + 1; // the same row budget
    apx_solve_info si;
    apx_status st = kz ? apx_solve_kaczmarz(apx_op_dense(K), R->rhs, R->d, &so, &si)
                       : apx_solve_sketch_project(apx_op_dense(K), R->rhs, R->d, &so, &si);
    scale_kkt(R, sc, 1, 0);
    if (st != APX_OK && st != APX_ENOCONV) return st;
    R->info.inner_iterations += si.iterations;
    return APX_OK;
}

/* A direction that descends on the augmented Lagrangian: while grad^T d > -(nu/2)||KKT||^2,
 * mu *= rho^2, nu /= rho, the inner accuracy cap /= rho^4, and solve again (warm). */
static apx_status direction(arun *R, double *slope) {
    const apoint *p = &R->cur;
    int64_t n = R->n;
    for (int64_t j = 0; j < n; j++) R->rhs[j] = -p->gL[j];
    for (int64_t i = 0; i < R->m; i++) R->rhs[n + i] = -p->c[i];
    double delta = APX__MAX(1e-12, APX__MIN(R->dcap, p->kkt));
    APX__TRY(kkt_solve(R, delta, 0));
    for (;;) {
        *slope = merit_slope(R, p, R->d);
        if (*slope <= -0.5 * R->nu * p->kkt * p->kkt || R->mu > 1e8 || R->nu < 1e-8)
            return APX_OK;
        double r2 = R->o.rho * R->o.rho;
        R->mu *= r2, R->nu /= R->o.rho, R->dcap = APX__MAX(1e-12, R->dcap / (r2 * r2));
        R->info.mu_increases++;
        delta = APX__MAX(1e-12, APX__MIN(R->dcap, p->kkt));
        APX__TRY(kkt_solve(R, delta, 1));
    }
}

// Armijo backtracking on the augmented Lagrangian; accepted point in R->trial
static apx_status line_search(arun *R, double slope) {
    int64_t n = R->n, m = R->m;
    double phi0 = merit(R, &R->cur), alpha = 1.0;
    for (int t = 0; t < 60; t++, alpha *= 0.5) {
        for (int64_t j = 0; j < n; j++) R->trial.x[j] = R->cur.x[j] + alpha * R->d[j];
        for (int64_t i = 0; i < m; i++) R->trial.lam[i] = R->cur.lam[i] + alpha * R->d[n + i];
        apx_status st = eval_point(R, &R->trial);
        if (st == APX_ENUMERIC) { // a non-finite value at the trial point: shrink the step
            apx_clear_error();
            continue;
        }
        if (st != APX_OK) return st;
        if (merit(R, &R->trial) <= phi0 + R->o.beta * alpha * slope) {
            if (t == 0) R->info.unit_steps++;
            R->info.last_unit_step = t == 0;
            return APX_OK;
        }
    }
    return apx__err(APX_ENUMERIC, "%s: the line search failed at iteration %lld (KKT residual "
                    "%.3g): no decrease of the augmented Lagrangian", R->fn,
                    (long long)R->info.iterations, R->cur.kkt);
}

/* ---------------------------------------------------------------- driver */

static apx_status check_args(const char *fn, const apx_alm_problem *P, const double *x0,
                             const double *lam0, const double *x, const double *lam,
                             const apx_alm_opts *o) {
    if (!P || !P->fun || !P->cons)
        return apx__err(APX_EINVAL, "%s: problem, problem->fun and problem->cons must be "
                        "non-NULL", fn);
    if (!P->hess && !P->hessp)
        return apx__err(APX_EINVAL, "%s: give problem->hess or problem->hessp", fn);
    if (!x0 || !x || !lam) return apx__err(APX_EINVAL, "%s: x0, x and lam must be non-NULL", fn);
    if (P->n < 1 || P->m < 1 || P->m > P->n || P->n > (INT64_C(1) << 29))
        return apx__err(APX_EINVAL, "%s: n = %lld variables and m = %lld constraints need 1 <= "
                        "m <= n <= 2^29 (the dense (n+m)^2 KKT matrix)", fn, (long long)P->n,
                        (long long)P->m);
    APX__TRY(apx__check_finite_vec(fn, "x0", x0, P->n));
    if (lam0) APX__TRY(apx__check_finite_vec(fn, "lam0", lam0, P->m));
    if (!(o->tol > 0) || !(o->delta0 > 0) || !(o->mu0 > 0) || !(o->nu0 > 0) || !(o->rho > 1) ||
        !(o->beta > 0 && o->beta < 0.5) || !(o->xi_B > 0) || !isfinite(o->mu0) ||
        !isfinite(o->nu0) || !isfinite(o->rho) || !isfinite(o->xi_B))
        return apx__err(APX_EINVAL, "%s: options out of range: tol = %g, delta0 = %g, mu0 = %g "
                        "and nu0 = %g, xi_B = %g must be > 0, rho = %g > 1, beta = %g in (0, "
                        "0.5)", fn, o->tol, o->delta0, o->mu0, o->nu0, o->xi_B, o->rho, o->beta);
    if (o->inner < APX_ALM_KACZMARZ || o->inner > APX_ALM_DIRECT || o->max_iters < 1)
        return apx__err(APX_EINVAL, "%s: inner = %d unknown or max_iters = %lld < 1", fn,
                        (int)o->inner, (long long)o->max_iters);
    if (o->history_cap < 0 || (o->history_cap > 0 && !o->kkt_history))
        return apx__err(APX_EINVAL, "%s: history_cap = %lld needs kkt_history", fn,
                        (long long)o->history_cap);
    return APX_OK;
}

static double *carve(double **at, int64_t len) {
    double *p = *at;
    *at += len;
    return p;
}

static void layout(arun *R, double *buf) {
    int64_t n = R->n, m = R->m, N = R->N;
    apoint *pts[2] = {&R->cur, &R->trial};
    for (int k = 0; k < 2; k++) {
        pts[k]->x = carve(&buf, n), pts[k]->lam = carve(&buf, m), pts[k]->g = carve(&buf, n);
        pts[k]->c = carve(&buf, m), pts[k]->J = carve(&buf, m * n), pts[k]->gL = carve(&buf, n);
    }
    R->H = carve(&buf, n * n), R->K = carve(&buf, N * N), R->Ke = carve(&buf, N * N);
    R->ev = carve(&buf, N), R->rhs = carve(&buf, N), R->d = carve(&buf, N);
    R->Hg = carve(&buf, n), R->tmp = carve(&buf, n);
}

static void record(arun *R) {
    if (R->o.kkt_history && R->info.history_len < R->o.history_cap)
        R->o.kkt_history[R->info.history_len++] = R->cur.kkt;
}

static apx_status iterate(arun *R) {
    APX__TRY(eval_point(R, &R->cur));
    record(R);
    while (R->cur.kkt > R->o.tol && R->info.iterations < R->o.max_iters) {
        if (R->o.progress.fn)
            APX__TRY(apx__progress(&R->o.progress, R->fn,
                                   (double)R->info.iterations / (double)R->o.max_iters, "alm"));
        double slope;
        APX__TRY(hessian(R, &R->cur));
        APX__TRY(kkt_matrix(R, &R->cur));
        APX__TRY(direction(R, &slope));
        APX__TRY(line_search(R, slope));
        apoint t = R->cur;
        R->cur = R->trial, R->trial = t;
        R->info.iterations++;
        record(R);
    }
    return APX_OK;
}

apx_status apx_alm_newton(const apx_alm_problem *problem, const double *x0, const double *lam0,
                          double *x, double *lam, const apx_alm_opts *opts, apx_alm_info *info) {
    arun R;
    memset(&R, 0, sizeof R);
    R.fn = "alm_newton";
    R.o = opts ? *opts : apx_alm_opts_default();
    APX__TRY(check_args(R.fn, problem, x0, lam0, x, lam, &R.o));
    double t0 = apx__solve_now();
    R.P = problem, R.n = problem->n, R.m = problem->m, R.N = R.n + R.m;
    R.mu = R.o.mu0, R.nu = R.o.nu0, R.dcap = R.o.delta0;
    int64_t n = R.n, m = R.m, N = R.N;
    double *buf = apx__alloc(R.fn, (size_t)(2 * (3 * n + 2 * m + m * n) + n * n + 2 * N * N +
                                            3 * N + 2 * n), sizeof(double));
    if (!buf) return APX_ENOMEM;
    layout(&R, buf);
    memcpy(R.cur.x, x0, sizeof(double) * (size_t)n);
    if (lam0) memcpy(R.cur.lam, lam0, sizeof(double) * (size_t)m);
    else memset(R.cur.lam, 0, sizeof(double) * (size_t)m);
    apx_status st = apx__blas_ensure(R.fn);
    if (st == APX_OK) st = iterate(&R);
    if (st == APX_OK || st == APX_ECANCELED) {
        memcpy(x, R.cur.x, sizeof(double) * (size_t)n);
        memcpy(lam, R.cur.lam, sizeof(double) * (size_t)m);
    }
    R.info.kkt = R.cur.kkt, R.info.f = R.cur.f, R.info.mu = R.mu, R.info.nu = R.nu;
    R.info.converged = st == APX_OK && R.cur.kkt <= R.o.tol;
    R.info.seconds = apx__solve_now() - t0;
    apx_free(buf);
    if (info) *info = R.info;
    if (st != APX_OK) return st;
    if (!R.info.converged)
        return apx__err(APX_ENOCONV, "%s: KKT residual %.3g > tol = %.3g after %lld iterations",
                        R.fn, R.info.kkt, R.o.tol, (long long)R.info.iterations);
    return APX_OK;
}

/* ---------------------------------------------------------------- logistic regression */

// log(1 + exp(-t)), stable
static double log1pexp_neg(double t) { return t > 0 ? log1p(exp(-t)) : -t + log1p(exp(t)); }

static apx_status lr_fun(void *ctx, const double *w, double *f, double *g) {
    const apx_alm_logreg *D = ctx;
    int64_t N = D->X.rows, n = D->X.cols;
    double s = 0;
    if (g) for (int64_t j = 0; j < n; j++) g[j] = D->reg * w[j];
    for (int64_t r = 0; r < N; r++) {
        const double *xr = D->X.data + r * D->X.ld;
        double z = 0;
        for (int64_t j = 0; j < n; j++) z += xr[j] * w[j];
        double t = D->y[r] * z;
        s += log1pexp_neg(t);
        D->work[r] = 1.0 / (1.0 + exp(t)); // sigma(-t)
        if (g) for (int64_t j = 0; j < n; j++) g[j] -= D->y[r] * D->work[r] * xr[j] / (double)N;
    }
    double ww = 0;
    for (int64_t j = 0; j < n; j++) ww += w[j] * w[j];
    *f = s / (double)N + 0.5 * D->reg * ww;
    return APX_OK;
}

// c (m) = C w - e and, when J != NULL, J (m,n) = C: linear constraints
static void lin_cons(apx_dmat C, const double *e, const double *w, double *c, double *J) {
    int64_t m = C.rows, n = C.cols;
    for (int64_t i = 0; i < m; i++) {
        double s = -e[i];
        for (int64_t j = 0; j < n; j++) s += C.data[i * C.ld + j] * w[j];
        c[i] = s;
        if (J) memcpy(J + i * n, C.data + i * C.ld, sizeof(double) * (size_t)n);
    }
}

static apx_status lr_cons(void *ctx, const double *w, double *c, double *J) {
    const apx_alm_logreg *D = ctx;
    lin_cons(D->C, D->e, w, c, J);
    return APX_OK;
}

// H = (1/N) X^T diag(s (1 - s)) X + reg I (linear constraints: no curvature)
static apx_status lr_hess(void *ctx, const double *w, const double *lam, double *H) {
    const apx_alm_logreg *D = ctx;
    int64_t N = D->X.rows, n = D->X.cols;
    memset(H, 0, sizeof(double) * (size_t)(n * n));
    for (int64_t r = 0; r < N; r++) {
        const double *xr = D->X.data + r * D->X.ld;
        double z = 0;
        for (int64_t j = 0; j < n; j++) z += xr[j] * w[j];
        double s = 1.0 / (1.0 + exp(-z)), wt = s * (1 - s) / (double)N;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j <= i; j++) H[i * n + j] += wt * xr[i] * xr[j];
    }
    for (int64_t i = 0; i < n; i++) {
        H[i * n + i] += D->reg;
        for (int64_t j = 0; j < i; j++) H[j * n + i] = H[i * n + j];
    }
    return APX_OK;
}

// checks shared by the built-in problems: C (m, n) with n = cols, e (m), finite
static apx_status check_lin(const char *fn, apx_dmat C, const double *e, int64_t cols) {
    APX__TRY(apx__check_dmat_nonempty(fn, "C", C));
    APX__TRY(apx__check_finite(fn, "C", C));
    if (C.cols != cols)
        return apx__err(APX_ESHAPE, "%s: C has %lld columns but the problem has %lld variables",
                        fn, (long long)C.cols, (long long)cols);
    return apx__check_finite_vec(fn, "e", e, C.rows);
}

apx_status apx_alm_logreg_setup(apx_dmat X, const double *y, apx_dmat C, const double *e,
                                double reg, apx_alm_logreg *data, apx_alm_problem *problem) {
    const char *fn = "alm_logreg_setup";
    if (!data || !problem || !y || !e)
        return apx__err(APX_EINVAL, "%s: data, problem, y and e must be non-NULL", fn);
    APX__TRY(apx__check_dmat_nonempty(fn, "X", X));
    APX__TRY(apx__check_finite(fn, "X", X));
    APX__TRY(check_lin(fn, C, e, X.cols));
    for (int64_t r = 0; r < X.rows; r++)
        if (y[r] != 1.0 && y[r] != -1.0)
            return apx__err(APX_EINVAL, "%s: y[%lld] = %g: labels must be -1 or +1", fn,
                            (long long)r, y[r]);
    if (!(reg >= 0) || !isfinite(reg))
        return apx__err(APX_EINVAL, "%s: reg = %g must be finite and >= 0", fn, reg);
    memset(data, 0, sizeof *data);
    data->work = apx__alloc(fn, (size_t)X.rows, sizeof(double));
    if (!data->work) return APX_ENOMEM;
    data->X = X, data->C = C, data->y = y, data->e = e, data->reg = reg;
    memset(problem, 0, sizeof *problem);
    problem->n = X.cols, problem->m = C.rows;
    problem->fun = lr_fun, problem->cons = lr_cons, problem->hess = lr_hess, problem->ctx = data;
    return APX_OK;
}

void apx_alm_logreg_free(apx_alm_logreg *data) {
    if (!data) return;
    apx_free(data->work);
    data->work = NULL;
}

/* ---------------------------------------------------------------- quadratic programs */

// f = (1/2) x^T Q x + q^T x, g = (Q + Q^T) x / 2 + q
static apx_status qp_fun(void *ctx, const double *x, double *f, double *g) {
    const apx_alm_qp *D = ctx;
    int64_t n = D->Q.rows, ld = D->Q.ld;
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = 0, rt = 0;
        for (int64_t j = 0; j < n; j++) r += D->Q.data[i * ld + j] * x[j], rt += D->Q.data[j * ld + i] * x[j];
        s += 0.5 * x[i] * r + D->q[i] * x[i];
        if (g) g[i] = 0.5 * (r + rt) + D->q[i];
    }
    *f = s;
    return APX_OK;
}

static apx_status qp_cons(void *ctx, const double *x, double *c, double *J) {
    const apx_alm_qp *D = ctx;
    lin_cons(D->C, D->e, x, c, J);
    return APX_OK;
}

// H = (Q + Q^T) / 2
static apx_status qp_hess(void *ctx, const double *x, const double *lam, double *H) {
    const apx_alm_qp *D = ctx;
    int64_t n = D->Q.rows, ld = D->Q.ld;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) H[i * n + j] = 0.5 * (D->Q.data[i * ld + j] + D->Q.data[j * ld + i]);
    return APX_OK;
}

apx_status apx_alm_qp_setup(apx_dmat Q, const double *q, apx_dmat C, const double *e,
                            apx_alm_qp *data, apx_alm_problem *problem) {
    const char *fn = "alm_qp_setup";
    if (!data || !problem || !q || !e)
        return apx__err(APX_EINVAL, "%s: data, problem, q and e must be non-NULL", fn);
    APX__TRY(apx__check_dmat_nonempty(fn, "Q", Q));
    APX__TRY(apx__check_square(fn, "Q", Q));
    APX__TRY(apx__check_finite(fn, "Q", Q));
    APX__TRY(apx__check_finite_vec(fn, "q", q, Q.rows));
    APX__TRY(check_lin(fn, C, e, Q.cols));
    *data = (apx_alm_qp){Q, C, q, e};
    memset(problem, 0, sizeof *problem);
    problem->n = Q.rows, problem->m = C.rows;
    problem->fun = qp_fun, problem->cons = qp_cons, problem->hess = qp_hess, problem->ctx = data;
    return APX_OK;
}
