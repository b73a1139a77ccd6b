/* halpern.c: Halpern iteration and variance-reduced Halpern iteration for finite-sum
 * monotone inclusions 0 in F(x) + G(x), F = (1/n) sum_i F_i (P011, Cai-Alacaoglu-
 * Diakonikolas). Cocoercive F: anchored forward-backward steps with the exact F or the PAGE
 * estimator. Monotone Lipschitz F: inexact Halpern on the resolvent J_{eta(F+G)}, computed
 * by Tseng's forward-backward-forward (deterministic) or loopless SVRG-FBF (Alacaoglu-
 * Malitsky). The built-in component families live in fsum.c. */
#include <string.h>

#include "solve/solve_internal.h"

apx_halpern_opts apx_halpern_opts_default(void) {
    apx_halpern_opts o;
    memset(&o, 0, sizeof o);
    o.setting = APX_HALPERN_COCOERCIVE;
    o.variance_reduced = 1;
    o.tol = 1e-6;
    return o;
}

/* ---------------------------------------------------------------- the run state */

typedef struct {
    const char *fn;
    const apx_halpern_problem *P;
    apx_halpern_opts o;
    int64_t n, d, b, max_evals, max_iters, inner_max;
    double eta, p, L, Lavg;
    apx_rng rng;
    int64_t *idx;        // (b) batch indices
    double *tmp, *tmp2;  // (d) scratch
    int64_t evals, full, iters, inner, hist;
    double t0;
} hrun;

// out (d) = sum over idx of F_i(x) (idx NULL: all n), counted; checks finiteness
static apx_status comp_sum(hrun *R, const int64_t *idx, int64_t count, const double *x,
                           double *out) {
    apx_status st = R->P->comp(R->P->comp_ctx, idx, count, x, out);
    if (st != APX_OK)
        return apx__err(st, "%s: the component callback failed (status %d): %s", R->fn, (int)st,
                        apx_last_error());
    R->evals += count;
    for (int64_t j = 0; j < R->d; j++)
        if (!isfinite(out[j]))
            return apx__err(APX_ENUMERIC, "%s: the component callback returned a non-finite "
                            "value at entry %lld (diverging iterates: a step too large for "
                            "the operator?)", R->fn, (long long)j);
    return APX_OK;
}

// F (d) = (1/n) sum_i F_i(x)
static apx_status full_F(hrun *R, const double *x, double *F) {
    APX__TRY(comp_sum(R, NULL, R->n, x, F));
    for (int64_t j = 0; j < R->d; j++) F[j] /= (double)R->n;
    R->full++;
    return APX_OK;
}

// D (d) = (1/b) sum_{i in batch} (F_i(u) - F_i(w)), a fresh uniform batch (with replacement)
static apx_status batch_diff(hrun *R, const double *u, const double *w, double *D) {
    for (int64_t t = 0; t < R->b; t++) R->idx[t] = (int64_t)apx_rng_below(&R->rng, (uint64_t)R->n);
    APX__TRY(comp_sum(R, R->idx, R->b, u, D));
    APX__TRY(comp_sum(R, R->idx, R->b, w, R->tmp2));
    for (int64_t j = 0; j < R->d; j++) D[j] = (D[j] - R->tmp2[j]) / (double)R->b;
    return APX_OK;
}

// out (d) = J_{eta G}(z): the callback, the box projection or the identity
static apx_status resolvent(hrun *R, double eta, const double *z, double *out) {
    const apx_halpern_problem *P = R->P;
    if (P->resolvent) {
        apx_status st = P->resolvent(P->resolvent_ctx, eta, z, out);
        if (st != APX_OK)
            return apx__err(st, "%s: the resolvent callback failed (status %d): %s", R->fn,
                            (int)st, apx_last_error());
        APX__TRY(apx__check_finite_vec(R->fn, "resolvent output", out, R->d));
        return APX_OK;
    }
    for (int64_t j = 0; j < R->d; j++) {
        double v = z[j];
        if (P->lo && v < P->lo[j]) v = P->lo[j];
        if (P->hi && v > P->hi[j]) v = P->hi[j];
        out[j] = v;
    }
    return APX_OK;
}

// Tx (d) = J_{eta G}(x - eta F) and its residual ||x - Tx|| / eta
static apx_status fb_step(hrun *R, const double *x, const double *F, double *Tx, double *res) {
    for (int64_t j = 0; j < R->d; j++) R->tmp[j] = x[j] - R->eta * F[j];
    APX__TRY(resolvent(R, R->eta, R->tmp, Tx));
    double s = 0;
    for (int64_t j = 0; j < R->d; j++) s += (x[j] - Tx[j]) * (x[j] - Tx[j]);
    *res = sqrt(s) / R->eta;
    return APX_OK;
}

static void record(hrun *R, double res) {
    if (R->o.history && R->hist < R->o.history_cap) {
        R->o.history[R->hist] = res;
        if (R->o.history_iters) R->o.history_iters[R->hist] = R->iters;
        if (R->o.history_evals) R->o.history_evals[R->hist] = R->evals;
        R->hist++;
    }
}

// the budget is spent (or cancelled)
static apx_status budget(hrun *R, int *stop) {
    *stop = R->evals >= R->max_evals ? 1 + APX_HALPERN_MAX_EVALS
            : R->iters >= R->max_iters ? 1 + APX_HALPERN_MAX_ITERS : 0;
    if (R->o.progress.fn && (R->iters & 63) == 0)
        APX__TRY(apx__progress(&R->o.progress, R->fn, (double)R->evals / (double)R->max_evals,
                               "halpern"));
    return APX_OK;
}

// x (d) = lambda_k x0 + (1 - lambda_k) T, lambda_k = 1/(k+2)
static void anchor(int64_t k, const double *x0, const double *T, double *x, int64_t d) {
    double lam = 1.0 / (double)(k + 2);
    for (int64_t j = 0; j < d; j++) x[j] = lam * x0[j] + (1 - lam) * T[j];
}

/* ---------------------------------------------------------------- cocoercive case */

/* Halpern with forward-backward steps; F~ exact (deterministic) or PAGE. Buffers: xp (d)
 * the previous iterate, Ft (d) the estimate, T (d), D (d). On return *conv = 1 when x holds
 * an iterate with residual <= tol; *stop the budget code otherwise. */
static apx_status cocoercive(hrun *R, const double *x0, double *x, double *w, int *conv,
                             int *stop, double *res_out) {
    int64_t d = R->d;
    double *xp = w, *Ft = w + d, *T = w + 2 * d, *D = w + 3 * d;
    memcpy(x, x0, sizeof(double) * (size_t)d);
    for (;;) {
        APX__TRY(budget(R, stop));
        if (*stop) return APX_OK;
        int64_t k = R->iters;
        int fresh = k == 0 || !R->o.variance_reduced || apx_rng_uniform(&R->rng) < R->p;
        double res = INFINITY;
        if (fresh) {
            APX__TRY(full_F(R, x, Ft));
        } else {
            APX__TRY(batch_diff(R, x, xp, D));
            for (int64_t j = 0; j < d; j++) Ft[j] += D[j];
        }
        APX__TRY(fb_step(R, x, Ft, T, &res));
        if (fresh) {
            record(R, res);
            *res_out = res;
            if (res <= R->o.tol) {
                *conv = 1;
                return APX_OK;
            }
        }
        memcpy(xp, x, sizeof(double) * (size_t)d);
        anchor(k, x0, T, x, d);
        R->iters++;
    }
}

/* ---------------------------------------------------------------- monotone case */

/* The resolvent subproblem at z: find u with 0 in Phi(u) + eta G(u), Phi(u) = u - z +
 * eta F(u) (1-strongly monotone, (1 + eta L)-Lipschitz). Its residual at u with Phi(u):
 * ||u - J_{tau eta G}(u - tau Phi(u))|| / tau. */
typedef struct {
    const double *z;
    double tau;
    double *Phi_w, *ubar, *u, *w, *D, *Fw; // (d) each
} sub;

// Phi (d) = u - z + eta F
static void phi(const hrun *R, const double *z, const double *u, const double *F, double *Phi) {
    for (int64_t j = 0; j < R->d; j++) Phi[j] = u[j] - z[j] + R->eta * F[j];
}

// out (d) = J_{tau eta G}(v - tau Phi) and the subproblem residual at v, ||v - out|| / tau
static apx_status sub_fb(hrun *R, double tau, const double *v, const double *Phi, double *out,
                         double *res) {
    for (int64_t j = 0; j < R->d; j++) R->tmp[j] = v[j] - tau * Phi[j];
    APX__TRY(resolvent(R, tau * R->eta, R->tmp, out));
    double s = 0;
    for (int64_t j = 0; j < R->d; j++) s += (v[j] - out[j]) * (v[j] - out[j]);
    *res = sqrt(s) / tau;
    return APX_OK;
}

/* Deterministic FBF from u = S->w = z with F(z) in S->Fw: ubar = J(u - tau Phi(u)),
 * u <- ubar - tau (Phi(ubar) - Phi(u)); stops when the residual at u is <= eps. Result in
 * S->u. */
static apx_status fbf_det(hrun *R, sub *S, double eps) {
    int64_t d = R->d;
    memcpy(S->u, S->w, sizeof(double) * (size_t)d);
    double *Fu = S->Fw, *Pu = S->Phi_w, *Fb = S->D, res;
    phi(R, S->z, S->u, Fu, Pu);
    for (int64_t t = 0; t < R->inner_max; t++) {
        APX__TRY(sub_fb(R, S->tau, S->u, Pu, S->ubar, &res));
        if (res <= eps || R->evals >= R->max_evals) return APX_OK;
        APX__TRY(full_F(R, S->ubar, Fb));
        for (int64_t j = 0; j < d; j++) // Phi(ubar) - Phi(u) = (ubar - u) + eta (Fb - Fu)
            S->u[j] = S->ubar[j] - S->tau * ((S->ubar[j] - S->u[j]) + R->eta * (Fb[j] - Fu[j]));
        APX__TRY(full_F(R, S->u, Fu));
        phi(R, S->z, S->u, Fu, Pu);
        R->inner++;
    }
    return APX_OK;
}

/* Loopless SVRG-FBF from u = w = z (F(w) in S->Fw): ubar = J(alpha u + (1-alpha) w - tau
 * Phi(w)), u <- ubar - tau (Phi_i(ubar) - Phi_i(w)) with a batch, w <- u with probability p
 * (a full F(w), where the residual is checked). alpha = 1 - p. Result in S->u. */
static apx_status fbf_vr(hrun *R, sub *S, double eps) {
    int64_t d = R->d;
    double alpha = 1 - R->p, res;
    memcpy(S->u, S->w, sizeof(double) * (size_t)d);
    phi(R, S->z, S->w, S->Fw, S->Phi_w);
    APX__TRY(sub_fb(R, S->tau, S->w, S->Phi_w, S->ubar, &res));
    if (res <= eps) return APX_OK;
    for (int64_t t = 0; t < R->inner_max && R->evals < R->max_evals; t++) {
        for (int64_t j = 0; j < d; j++) S->ubar[j] = alpha * S->u[j] + (1 - alpha) * S->w[j];
        APX__TRY(sub_fb(R, S->tau, S->ubar, S->Phi_w, S->ubar, &res));
        APX__TRY(batch_diff(R, S->ubar, S->w, S->D));
        for (int64_t j = 0; j < d; j++)
            S->u[j] = S->ubar[j] - S->tau * ((S->ubar[j] - S->w[j]) + R->eta * S->D[j]);
        R->inner++;
        if (apx_rng_uniform(&R->rng) < R->p) {
            memcpy(S->w, S->u, sizeof(double) * (size_t)d);
            APX__TRY(full_F(R, S->w, S->Fw));
            phi(R, S->z, S->w, S->Fw, S->Phi_w);
            APX__TRY(sub_fb(R, S->tau, S->w, S->Phi_w, S->ubar, &res));
            if (res <= eps) return APX_OK;
        }
    }
    memcpy(S->u, S->w, sizeof(double) * (size_t)d); // the last checked point
    return APX_OK;
}

/* Inexact Halpern: x_{k+1} = lambda_k x0 + (1 - lambda_k) u_k, u_k ~ J_{eta(F+G)}(x_k) to
 * eps_k = r0 / (k+2)^2 (r0: the first residual times eta). The full F(x_k) each resolvent
 * starts from gives the exact residual of x_k. */
static apx_status monotone(hrun *R, const double *x0, double *x, double *w, int *conv,
                           int *stop, double *res_out) {
    int64_t d = R->d;
    sub S = {x, 0, w, w + d, w + 2 * d, w + 3 * d, w + 4 * d, w + 5 * d};
    double gamma = R->o.inner_step > 0 ? R->o.inner_step : R->o.variance_reduced ? 2.0 : 0.9;
    double r0 = 0;
    S.tau = R->o.variance_reduced ? gamma * sqrt(R->p) / (1 + R->eta * R->Lavg)
                                  : gamma / (1 + R->eta * R->L);
    memcpy(x, x0, sizeof(double) * (size_t)d);
    for (;;) {
        APX__TRY(budget(R, stop));
        if (*stop) return APX_OK;
        int64_t k = R->iters;
        double res;
        memcpy(S.w, x, sizeof(double) * (size_t)d);
        APX__TRY(full_F(R, S.w, S.Fw));
        APX__TRY(fb_step(R, x, S.Fw, S.ubar, &res));
        record(R, res);
        *res_out = res;
        if (res <= R->o.tol) {
            *conv = 1;
            return APX_OK;
        }
        if (k == 0) r0 = res * R->eta;
        double eps = r0 / ((double)(k + 2) * (double)(k + 2));
        if (R->o.variance_reduced) APX__TRY(fbf_vr(R, &S, eps));
        else APX__TRY(fbf_det(R, &S, eps));
        anchor(k, x0, S.u, x, d);
        R->iters++;
    }
}

/* ---------------------------------------------------------------- driver */

static apx_status check_problem(const char *fn, const apx_halpern_problem *P, const double *x0,
                                double *x) {
    if (!P) return apx__err(APX_EINVAL, "%s: problem is NULL", fn);
    if (!P->comp) return apx__err(APX_EINVAL, "%s: problem->comp is NULL", fn);
    if (!x) return apx__err(APX_EINVAL, "%s: x is NULL", fn);
    if (P->n < 1 || P->d < 1 || P->d > (INT64_C(1) << 56))
        return apx__err(APX_EINVAL, "%s: n = %lld components and d = %lld must be >= 1 (and d "
                        "<= 2^56)", fn, (long long)P->n, (long long)P->d);
    if (!(P->lipschitz > 0) || !isfinite(P->lipschitz) || !isfinite(P->lipschitz_avg))
        return apx__err(APX_EINVAL, "%s: lipschitz = %g must be finite and > 0 (lipschitz_avg "
                        "= %g finite)", fn, P->lipschitz, P->lipschitz_avg);
    if (x0) APX__TRY(apx__check_finite_vec(fn, "x0", x0, P->d));
    for (int64_t j = 0; !P->resolvent && j < P->d; j++) {
        if ((P->lo && isnan(P->lo[j])) || (P->hi && isnan(P->hi[j])))
            return apx__err(APX_EINVAL, "%s: box bound %lld is NaN", fn, (long long)j);
        if (P->lo && P->hi && P->lo[j] > P->hi[j])
            return apx__err(APX_EINVAL, "%s: box bound %lld: lo = %g > hi = %g", fn,
                            (long long)j, P->lo[j], P->hi[j]);
    }
    return APX_OK;
}

static apx_status check_opts(const char *fn, const apx_halpern_opts *o) {
    if (o->setting != APX_HALPERN_COCOERCIVE && o->setting != APX_HALPERN_MONOTONE)
        return apx__err(APX_EINVAL, "%s: unknown setting %d", fn, (int)o->setting);
    if (!(o->tol > 0) || !isfinite(o->tol))
        return apx__err(APX_EINVAL, "%s: tol = %g must be finite and > 0", fn, o->tol);
    if (!isfinite(o->eta) || !(o->prob <= 1) || isnan(o->prob) || !isfinite(o->inner_step))
        return apx__err(APX_EINVAL, "%s: eta = %g and inner_step = %g must be finite and prob = "
                        "%g <= 1", fn, o->eta, o->inner_step, o->prob);
    if (o->history_cap < 0 || (o->history_cap > 0 && !o->history))
        return apx__err(APX_EINVAL, "%s: history_cap = %lld needs a history buffer", fn,
                        (long long)o->history_cap);
    return APX_OK;
}

static apx_status setup(hrun *R, const apx_halpern_problem *P, const apx_halpern_opts *opts) {
    R->P = P;
    R->o = opts ? *opts : apx_halpern_opts_default();
    APX__TRY(check_opts(R->fn, &R->o));
    R->n = P->n, R->d = P->d;
    R->L = P->lipschitz;
    R->Lavg = P->lipschitz_avg > 0 ? P->lipschitz_avg : P->lipschitz;
    double sn = sqrt((double)R->n);
    R->p = R->o.prob > 0 ? R->o.prob : 1.0 / sn;
    int mono = R->o.setting == APX_HALPERN_MONOTONE;
    R->b = R->o.batch > 0 ? R->o.batch : (int64_t)ceil(mono ? sn / 4 : sn);
    R->eta = R->o.eta > 0 ? R->o.eta
             : mono ? 4.0 / R->L : 1.0 / (R->o.variance_reduced ? R->Lavg : R->L);
    R->max_evals = R->o.max_evals > 0 ? R->o.max_evals : APX__MAX(10000 * R->n, 10000000);
    R->max_iters = R->o.max_iters > 0 ? R->o.max_iters : 1000000;
    R->inner_max = R->o.inner_max_iters > 0 ? R->o.inner_max_iters : 10000;
    apx_rng_init(&R->rng, R->o.seed, 11);
    R->t0 = apx__solve_now();
    return APX_OK;
}

static void fill_info(const hrun *R, int conv, int stop, double res, apx_halpern_info *info) {
    if (!info) return;
    info->iterations = R->iters;
    info->inner_iterations = R->inner;
    info->evaluations = R->evals;
    info->full_passes = R->full;
    info->residual = res;
    info->eta = R->eta;
    info->converged = conv;
    info->stop = conv ? APX_HALPERN_CONVERGED : (apx_halpern_stop)(stop - 1);
    info->history_len = R->hist;
    info->seconds = apx__solve_now() - R->t0;
}

apx_status apx_halpern(const apx_halpern_problem *problem, const double *x0, double *x,
                       const apx_halpern_opts *opts, apx_halpern_info *info) {
    hrun R;
    memset(&R, 0, sizeof R);
    R.fn = "halpern";
    APX__TRY(check_problem(R.fn, problem, x0, x));
    APX__TRY(setup(&R, problem, opts));
    int64_t d = R.d;
    double *buf = apx__alloc(R.fn, (size_t)(9 * d), sizeof(double));
    R.idx = apx__alloc(R.fn, (size_t)R.b, sizeof(int64_t));
    apx_status st = buf && R.idx ? APX_OK : APX_ENOMEM;
    int conv = 0, stop = 0;
    double res = INFINITY;
    if (st == APX_OK) {
        double *x0c = buf, *w = buf + d;
        R.tmp = buf + 7 * d, R.tmp2 = buf + 8 * d;
        if (x0) memcpy(x0c, x0, sizeof(double) * (size_t)d);
        else memset(x0c, 0, sizeof(double) * (size_t)d);
        st = R.o.setting == APX_HALPERN_COCOERCIVE ? cocoercive(&R, x0c, x, w, &conv, &stop, &res)
                                                   : monotone(&R, x0c, x, w, &conv, &stop, &res);
        if (st == APX_OK && !conv) { // the exact residual of the last iterate
            st = full_F(&R, x, w);
            if (st == APX_OK) st = fb_step(&R, x, w, w + d, &res);
        }
    }
    apx_free(buf);
    apx_free(R.idx);
    if (st != APX_OK) return st;
    fill_info(&R, conv, stop, res, info);
    if (!conv)
        return apx__err(APX_ENOCONV, "%s: residual %.3g > tol = %.3g after %lld iterations and "
                        "%lld component evaluations (%s)", R.fn, res, R.o.tol,
                        (long long)R.iters, (long long)R.evals,
                        stop - 1 == APX_HALPERN_MAX_EVALS ? "evaluation budget spent"
                                                          : "iteration limit");
    return APX_OK;
}
