/* nav.c: the NAV light-curve model of eclipsing binaries (Andronov 2012; P085), its analytic
 * Jacobian and its Levenberg-Marquardt fit (10 parameters with period and epoch fixed, 12
 * with them fitted), and trigonometric-polynomial (TP) fits by linear least squares with the
 * order chosen by BIC or Fisher tests.
 *   u = (t - T0) / P, phi1 = u - round(u), phi2 = (u - 1/2) - round(u - 1/2)
 *   m = C1 + C2 cos 2pi u + C3 sin 2pi u + C4 cos 4pi u + C5 sin 4pi u
 *     + C6 H(phi1 / C8, C9) + C7 H(phi2 / C8, C10),  H(z, b) = (1 - |z|^b)^(3/2), |z| < 1.
 * Starting values: a grid over the half-width and a shared beta, C1..C7 by linear least
 * squares at each grid point (variable projection), the best point starts LM. */
#include <float.h>
#include <string.h>

#include "regress/nonlinear_internal.h"

enum { NP = APX_NAV_NPARAM, NLIN = 7 };

apx_nav_opts apx_nav_opts_default(void) {
    apx_nav_opts o;
    memset(&o, 0, sizeof o);
    o.fit_period = 0;
    o.width0 = 0;
    o.lm = apx_lm_opts_default();
    return o;
}

/* ---------------------------------------------------------------- the model */

// H(z, b) and its derivatives in z and b (0 outside |z| < 1; at z = 0 the z-derivative is 0)
static double eclipse(double z, double b, double *dz, double *db) {
    double a = fabs(z);
    *dz = *db = 0;
    if (a >= 1) return 0;
    if (a == 0) return 1;
    double pb = pow(a, b), base = 1 - pb, sq = sqrt(base);
    *dz = -1.5 * sq * b * pb / a * (z > 0 ? 1 : -1);
    *db = -1.5 * sq * pb * log(a);
    return base * sq;
}

// m (n) and, when J != NULL, J (n,12) = d m / d p at the 12 parameters p
static void nav_eval(const double *t, int64_t n, const double *p, double *m, double *J) {
    const double w = p[7], P = p[10], T0 = p[11], tau = 2 * M_PI;
    for (int64_t i = 0; i < n; i++) {
        double u = (t[i] - T0) / P, f1 = u - nearbyint(u), f2 = (u - 0.5) - nearbyint(u - 0.5);
        double c1 = cos(tau * u), s1 = sin(tau * u), c2 = cos(2 * tau * u), s2 = sin(2 * tau * u);
        double z1 = f1 / w, z2 = f2 / w, h1z, h1b, h2z, h2b;
        double h1 = eclipse(z1, p[8], &h1z, &h1b), h2 = eclipse(z2, p[9], &h2z, &h2b);
        m[i] = p[0] + p[1] * c1 + p[2] * s1 + p[3] * c2 + p[4] * s2 + p[5] * h1 + p[6] * h2;
        if (!J) continue;
        double *g = J + i * NP;
        g[0] = 1, g[1] = c1, g[2] = s1, g[3] = c2, g[4] = s2, g[5] = h1, g[6] = h2;
        g[7] = -(p[5] * h1z * z1 + p[6] * h2z * z2) / w;
        g[8] = p[5] * h1b;
        g[9] = p[6] * h2b;
        double du = tau * (-p[1] * s1 + p[2] * c1) + 2 * tau * (-p[3] * s2 + p[4] * c2) +
                    (p[5] * h1z + p[6] * h2z) / w;
        g[10] = du * (-u / P);
        g[11] = du * (-1 / P);
    }
}

static apx_status check_params(const char *fn, const double *p) {
    if (!p) return apx__err(APX_EINVAL, "%s: p is NULL", fn);
    APX__TRY(apx__check_finite_vec(fn, "p", p, NP));
    if (!(p[7] > 0) || !(p[8] > 0) || !(p[9] > 0) || !(p[10] > 0))
        return apx__err(APX_EINVAL, "%s: need width C8 > 0, beta1 C9 > 0, beta2 C10 > 0 and "
                        "period P > 0, got %g, %g, %g, %g", fn, p[7], p[8], p[9], p[10]);
    return APX_OK;
}

static apx_status check_series(const char *fn, const double *t, const double *y,
                               const double *sigma, int64_t n, int64_t min_n) {
    if (n < min_n)
        return apx__err(APX_ESHAPE, "%s: need at least %lld points, got n = %lld", fn,
                        (long long)min_n, (long long)n);
    if (!t || !y) return apx__err(APX_EINVAL, "%s: t or y is NULL", fn);
    APX__TRY(apx__check_finite_vec(fn, "t", t, n));
    APX__TRY(apx__check_finite_vec(fn, "y", y, n));
    for (int64_t i = 0; sigma && i < n; i++)
        if (!(sigma[i] > 0) || !isfinite(sigma[i]))
            return apx__err(APX_EINVAL, "%s: sigma[%lld] = %g must be > 0 and finite", fn,
                            (long long)i, sigma[i]);
    return APX_OK;
}

// P > 0, T0 finite, and every t within 2^40 periods of T0 (farther, the phase (t - T0) / P
// mod 1 keeps fewer than 12 bits, and the fits would be of noise)
static apx_status check_ephemeris(const char *fn, double P, double T0, const double *t,
                                  int64_t n) {
    if (!(P > 0) || !isfinite(P) || !isfinite(T0))
        return apx__err(APX_EINVAL, "%s: need a period P > 0 and a finite epoch T0, got P = "
                        "%g, T0 = %g", fn, P, T0);
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(t[i] - T0) / P < 0x1p40))
            return apx__err(APX_EINVAL, "%s: t[%lld] = %g is %g periods (P = %g) from the epoch "
                            "T0 = %g: its phase is lost to rounding", fn, (long long)i, t[i],
                            fabs(t[i] - T0) / P, P, T0);
    return APX_OK;
}

apx_status apx_nav_model(const double *t, int64_t n, const double *p, double *mag,
                         double *J) {
    const char *fn = "nav_model";
    if (n < 1) return apx__err(APX_ESHAPE, "%s: n must be >= 1, got %lld", fn, (long long)n);
    if (!t || !mag) return apx__err(APX_EINVAL, "%s: t or mag is NULL", fn);
    APX__TRY(apx__check_finite_vec(fn, "t", t, n));
    APX__TRY(check_params(fn, p));
    nav_eval(t, n, p, mag, J);
    return APX_OK;
}

/* ---------------------------------------------------------------- the fit */

typedef struct {
    const double *t, *y, *sigma;
    int64_t n;
    int nfit;        /* 10 or 12 */
    double full[NP]; /* the fixed values (P, T0) and scratch */
    double *m, *J;   /* (n), (n,12) */
} nav_ctx;

static void unpack(nav_ctx *c, const double *x) { memcpy(c->full, x, sizeof(double) * (size_t)c->nfit); }

static int valid(const double *p) { return p[7] > 0 && p[8] > 0 && p[9] > 0 && p[10] > 0; }

// r (n) = (m(t) - y) / sigma; NaN outside the domain (LM rejects the step)
static int nav_fun(void *ctx, const double *x, double *r) {
    nav_ctx *c = ctx;
    unpack(c, x);
    if (!valid(c->full)) {
        for (int64_t i = 0; i < c->n; i++) r[i] = NAN;
        return 0;
    }
    nav_eval(c->t, c->n, c->full, c->m, NULL);
    for (int64_t i = 0; i < c->n; i++)
        r[i] = (c->m[i] - c->y[i]) / (c->sigma ? c->sigma[i] : 1.0);
    return 0;
}

// J (n, nfit) = the first nfit columns of d m / d p, rows over sigma
static int nav_jac(void *ctx, const double *x, double *J) {
    nav_ctx *c = ctx;
    unpack(c, x);
    nav_eval(c->t, c->n, c->full, c->m, c->J);
    for (int64_t i = 0; i < c->n; i++) {
        double s = c->sigma ? c->sigma[i] : 1.0;
        for (int k = 0; k < c->nfit; k++) J[i * c->nfit + k] = c->J[i * NP + k] / s;
    }
    return 0;
}

// chi2 of the linear part: C1..C7 by weighted least squares for width w, shared beta b
static apx_status grid_point(const char *fn, nav_ctx *c, double w, double b, double *p,
                             double *chi2, double *wt) {
    p[7] = w, p[8] = p[9] = b;
    nav_eval(c->t, c->n, p, c->m, c->J);
    // design (n,7) = the first 7 columns of J (the model is linear in C1..C7)
    apx_dmat A = {c->J, c->n, NLIN, NP};
    return apx__wls_solve(fn, A, c->y, wt, p, chi2);
}

static apx_status start_values(const char *fn, nav_ctx *c, double width0, double *p) {
    static const double widths[] = {0.02, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.125, 0.15,
                                     0.2, 0.25};
    static const double betas[] = {1, 1.5, 2, 3};
    int nw = width0 > 0 ? 1 : (int)(sizeof widths / sizeof widths[0]);
    double *wt = NULL, best = INFINITY, q[NP];
    if (c->sigma) {
        if (!(wt = apx__alloc(fn, (size_t)c->n, sizeof(double)))) return APX_ENOMEM;
        for (int64_t i = 0; i < c->n; i++) wt[i] = 1 / (c->sigma[i] * c->sigma[i]);
    }
    apx_status st = APX_OK;
    memcpy(q, p, sizeof q);
    for (int a = 0; a < nw && st == APX_OK; a++)
        for (int b = 0; b < 4 && st == APX_OK; b++) {
            double chi2 = INFINITY;
            st = grid_point(fn, c, width0 > 0 ? width0 : widths[a], betas[b], q, &chi2, wt);
            if (st == APX_OK && chi2 < best) best = chi2, memcpy(p, q, sizeof q);
        }
    apx_free(wt);
    return st;
}

static apx_status lm_run(nav_ctx *c, const apx_lm_opts *o, double *p, double *cov,
                         apx_lm_info *li) {
    apx_lm_problem prob = {c->n, c->nfit, nav_fun, nav_jac, c};
    memcpy(c->full, p, sizeof c->full);
    apx_status st = apx_regress_lm(prob, p, o, li, cov);
    memcpy(p + c->nfit, c->full + c->nfit, sizeof(double) * (size_t)(NP - c->nfit));
    return st;
}

static void fit_stats(nav_ctx *c, const double *p, apx_nav_info *inf) {
    nav_eval(c->t, c->n, p, c->m, NULL);
    double ss = 0, chi2 = 0;
    for (int64_t i = 0; i < c->n; i++) {
        double d = c->y[i] - c->m[i], s = c->sigma ? c->sigma[i] : 1.0;
        ss += d * d;
        chi2 += (d / s) * (d / s);
    }
    inf->nparams = c->nfit;
    inf->rms = sqrt(ss / (double)c->n);
    inf->chi2 = chi2;
    inf->bic = (double)c->n * log(chi2 / (double)c->n) + c->nfit * log((double)c->n);
}

static apx_status nav_fit_run(nav_ctx *c, const apx_nav_opts *o, double *p, double *err,
                              apx_nav_info *inf) {
    double cov[NP * NP];
    c->nfit = 10;
    APX__TRY(start_values("nav_fit", c, o->width0, p));
    apx_status st = lm_run(c, &o->lm, p, cov, &inf->lm);
    if (st == APX_OK && o->fit_period) {
        c->nfit = 12;
        st = lm_run(c, &o->lm, p, cov, &inf->lm);
    }
    if (st != APX_OK && st != APX_ENOCONV) return st;
    fit_stats(c, p, inf);
    for (int k = 0; err && k < NP; k++)
        err[k] = k < c->nfit ? sqrt(fmax(cov[k * c->nfit + k], 0)) : 0;
    return st;
}

apx_status apx_nav_fit(const double *t, const double *y, const double *sigma, int64_t n,
                       double P, double T0, const apx_nav_opts *opts, double *p,
                       double *err, apx_nav_info *info) {
    const char *fn = "nav_fit";
    apx_nav_opts o = opts ? *opts : apx_nav_opts_default();
    APX__TRY(check_series(fn, t, y, sigma, n, NP + 2));
    APX__TRY(check_ephemeris(fn, P, T0, t, n));
    if (!p) return apx__err(APX_EINVAL, "%s: p (12 outputs) is NULL", fn);
    if (!(o.width0 >= 0) || !(o.width0 < 0.5))
        return apx__err(APX_EINVAL, "%s: width0 must be in [0, 0.5), got %g", fn, o.width0);
    nav_ctx c;
    memset(&c, 0, sizeof c);
    c.t = t, c.y = y, c.sigma = sigma, c.n = n;
    c.m = apx__alloc(fn, (size_t)(n * (NP + 1)), sizeof(double));
    if (!c.m) return APX_ENOMEM;
    c.J = c.m + n;
    memset(p, 0, sizeof(double) * NP);
    p[7] = 0.1, p[8] = p[9] = 2, p[10] = P, p[11] = T0;
    apx_nav_info inf;
    memset(&inf, 0, sizeof inf);
    apx_status st = nav_fit_run(&c, &o, p, err, &inf);
    if (info) *info = inf;
    apx_free(c.m);
    if (st == APX_ENOCONV)
        return apx__err(st, "%s: Levenberg-Marquardt stopped after %lld evaluations "
                        "(max_nfev); p holds its best point (rms %g)", fn,
                        (long long)inf.lm.nfev, inf.rms);
    return st;
}

/* ---------------------------------------------------------------- trigonometric polynomials */

// design (n, 2s+1): [1, cos 2pi u, sin 2pi u, ..., cos 2pi s u, sin 2pi s u]
static void tp_design(const double *t, int64_t n, double P, double T0, int s, double *A) {
    int64_t k = 2 * s + 1;
    for (int64_t i = 0; i < n; i++) {
        double u = (t[i] - T0) / P;
        u -= floor(u);
        A[i * k] = 1;
        for (int j = 1; j <= s; j++) {
            A[i * k + 2 * j - 1] = cos(2 * M_PI * j * u);
            A[i * k + 2 * j] = sin(2 * M_PI * j * u);
        }
    }
}

typedef struct {
    const double *t, *y, *sigma;
    int64_t n;
    double P, T0;
    double *A, *wt; /* (n, 2 s_max + 1), (n) or NULL */
} tp_ctx;

static apx_status tp_run(const char *fn, tp_ctx *c, int s, double *coef, apx_tp_info *inf) {
    int64_t k = 2 * s + 1;
    tp_design(c->t, c->n, c->P, c->T0, s, c->A);
    double chi2 = 0;
    APX__TRY(apx__wls_solve(fn, apx_dmat_view(c->A, c->n, k), c->y, c->wt, coef, &chi2));
    double ss = 0;
    for (int64_t i = 0; i < c->n; i++) {
        double d = -c->y[i];
        for (int64_t j = 0; j < k; j++) d += c->A[i * k + j] * coef[j];
        ss += d * d;
    }
    inf->order = s;
    inf->rms = sqrt(ss / (double)c->n);
    inf->chi2 = chi2;
    inf->bic = (double)c->n * log(chi2 / (double)c->n) + (double)k * log((double)c->n);
    return APX_OK;
}

static apx_status tp_begin(const char *fn, tp_ctx *c, const double *t, const double *y,
                           const double *sigma, int64_t n, double P, double T0, int s_max) {
    memset(c, 0, sizeof *c);
    c->t = t, c->y = y, c->sigma = sigma, c->n = n, c->P = P, c->T0 = T0;
    c->A = apx__alloc(fn, (size_t)(n * (2 * (int64_t)s_max + 2)), sizeof(double));
    if (!c->A) return APX_ENOMEM;
    if (sigma) {
        c->wt = c->A + n * (2 * (int64_t)s_max + 1);
        for (int64_t i = 0; i < n; i++) c->wt[i] = 1 / (sigma[i] * sigma[i]);
    }
    return APX_OK;
}

apx_status apx_tp_fit(const double *t, const double *y, const double *sigma, int64_t n,
                      double P, double T0, int s, double *coef, apx_tp_info *info) {
    const char *fn = "tp_fit";
    if (s < 0 || s > (1 << 20))
        return apx__err(APX_EINVAL, "%s: order s must be in [0, 2^20], got %d", fn, s);
    APX__TRY(check_series(fn, t, y, sigma, n, 2 * (int64_t)s + 1));
    APX__TRY(check_ephemeris(fn, P, T0, t, n));
    if (!coef) return apx__err(APX_EINVAL, "%s: coef is NULL", fn);
    tp_ctx c;
    APX__TRY(tp_begin(fn, &c, t, y, sigma, n, P, T0, s));
    apx_tp_info inf;
    apx_status st = tp_run(fn, &c, s, coef, &inf);
    if (st == APX_OK && info) *info = inf;
    apx_free(c.A);
    return st;
}

// Fisher: is order s + 1 (two more terms) significant against s at level alpha?
static int fisher_accepts(const apx_tp_info *lo, const apx_tp_info *hi, int64_t n,
                          double alpha) {
    double d = (double)(n - (2 * hi->order + 1));
    if (d < 1 || !(hi->chi2 > 0)) return hi->chi2 < lo->chi2;
    double F = 0.5 * (lo->chi2 - hi->chi2) / (hi->chi2 / d);
    double pval = pow(1 + 2 * F / d, -0.5 * d); // tail of F(2, d)
    return F > 0 && pval < alpha;
}

static apx_status tp_select_run(tp_ctx *c, int s_max, apx_tp_criterion crit, double alpha,
                                double *coef, double *tmp, apx_tp_info *best) {
    const char *fn = "tp_select";
    apx_tp_info cur;
    APX__TRY(tp_run(fn, c, 0, coef, best));
    for (int s = 1; s <= s_max; s++) {
        APX__TRY(tp_run(fn, c, s, tmp, &cur));
        int better = crit == APX_TP_BIC ? cur.bic < best->bic
                                        : fisher_accepts(best, &cur, c->n, alpha);
        if (better) {
            *best = cur;
            memcpy(coef, tmp, sizeof(double) * (size_t)(2 * s + 1));
        } else if (crit == APX_TP_FISHER) {
            break;
        }
    }
    return APX_OK;
}

apx_status apx_tp_select(const double *t, const double *y, const double *sigma, int64_t n,
                         double P, double T0, int s_max, apx_tp_criterion crit,
                         double alpha, double *coef, apx_tp_info *info) {
    const char *fn = "tp_select";
    if (s_max < 0 || s_max > (1 << 20))
        return apx__err(APX_EINVAL, "%s: s_max must be in [0, 2^20], got %d", fn, s_max);
    APX__TRY(check_series(fn, t, y, sigma, n, 2 * (int64_t)s_max + 2));
    APX__TRY(check_ephemeris(fn, P, T0, t, n));
    if (crit != APX_TP_BIC && crit != APX_TP_FISHER)
        return apx__err(APX_EINVAL, "%s: criterion must be APX_TP_BIC or APX_TP_FISHER, got %d",
                        fn, (int)crit);
    if (crit == APX_TP_FISHER && !(alpha > 0 && alpha < 1))
        return apx__err(APX_EINVAL, "%s: alpha must be in (0, 1), got %g", fn, alpha);
    if (!coef) return apx__err(APX_EINVAL, "%s: coef is NULL", fn);
    int64_t k = 2 * (int64_t)s_max + 1;
    tp_ctx c;
    APX__TRY(tp_begin(fn, &c, t, y, sigma, n, P, T0, s_max));
    double *tmp = apx__alloc(fn, (size_t)k, sizeof(double));
    apx_status st = tmp ? APX_OK : APX_ENOMEM;
    memset(coef, 0, sizeof(double) * (size_t)k);
    apx_tp_info best;
    if (st == APX_OK) st = tp_select_run(&c, s_max, crit, alpha, coef, tmp, &best);
    if (st == APX_OK && info) *info = best;
    apx_free(tmp);
    apx_free(c.A);
    return st;
}
