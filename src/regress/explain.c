/* explain.c: local function approximation explainers (Han, Srinivas, Lakkaraju 2022; P042)
 * over a black box f given by a batch callback: C-LIME, LIME (binary masks, exponential
 * kernel), continuous LIME, KernelSHAP (Shapley kernel, constrained least squares; exact
 * enumeration for small d), SmoothGrad, vanilla gradient, gradient x input, integrated
 * gradients (midpoint Riemann sum), occlusion; and the LFA loss of an explanation on a
 * fresh sample of a neighbourhood. The fits are (weighted) least squares by Householder QR.
 * Random streams: the fit draws from streams 0..2 of opts->seed, the LFA loss from streams
 * 16..18 of its own seed, so the two samples are independent even for equal seeds. */
#include <float.h>
#include <string.h>

#include "regress/nonlinear_internal.h"

static const char *const method_names[] = {"clime", "lime", "lime-gauss", "kernelshap",
                                           "smoothgrad", "vg", "gxi", "ig", "occlusion"};
enum { N_METHODS = (int)(sizeof method_names / sizeof method_names[0]) };

apx_status apx_explain_parse(const char *name, apx_explain_method *m) {
    for (int i = 0; name && i < N_METHODS; i++)
        if (!strcmp(name, method_names[i])) {
            if (m) *m = (apx_explain_method)i;
            return APX_OK;
        }
    return apx__err(APX_EINVAL, "explain: unknown method '%s' (clime, lime, lime-gauss, "
                    "kernelshap, smoothgrad, vg, gxi, ig, occlusion)", name ? name : "(null)");
}

const char *apx_explain_name(apx_explain_method m) {
    return (int)m >= 0 && (int)m < N_METHODS ? method_names[m] : NULL;
}

apx_explain_opts apx_explain_opts_default(void) {
    apx_explain_opts o;
    memset(&o, 0, sizeof o);
    o.n_samples = 2000;
    o.sigma = 0.1;
    o.width = 0;
    o.ig_steps = 64;
    o.baseline = NULL;
    o.seed = 0;
    o.batch = 1024;
    return o;
}

/* ---------------------------------------------------------------- context and callbacks */

typedef struct {
    const char *fn;
    apx_explain_model M;
    const double *x0, *base; /* (d), (d) */
    int64_t d;
    apx_explain_opts o;
    double width;
    int64_t fcalls, gcalls;
} ex_ctx;

// y (k) = f(X (k,d)) in batches of o.batch rows
static apx_status eval_f(ex_ctx *c, const double *X, int64_t k, double *y) {
    for (int64_t i0 = 0; i0 < k; i0 += c->o.batch) {
        int64_t b = APX__MIN(c->o.batch, k - i0);
        apx_dmat V = {(double *)X + i0 * c->d, b, c->d, c->d};
        apx_clear_error();
        int rc = c->M.f(c->M.ctx, V, y + i0);
        c->fcalls++;
        if (rc) return apx__callback_fail(c->fn, "the model callback f", rc, c->fcalls);
        int64_t bad = apx__first_nonfinite(y + i0, b);
        if (bad >= 0)
            return apx__err(APX_EINVAL, "%s: the model callback f returned %g for row %lld "
                            "(call %lld)", c->fn, y[i0 + bad], (long long)(i0 + bad),
                            (long long)c->fcalls);
    }
    return APX_OK;
}

// G (k,d) = grad f at the rows of X by central differences, h = cbrt(eps) max(|x_j|, 1)
static apx_status fd_grad(ex_ctx *c, const double *X, int64_t k, double *G) {
    int64_t d = c->d;
    double *P = apx__alloc(c->fn, (size_t)(2 * d * d + 2 * d), sizeof(double));
    if (!P) return APX_ENOMEM;
    double *fy = P + 2 * d * d;
    apx_status st = APX_OK;
    for (int64_t i = 0; i < k && st == APX_OK; i++) {
        const double *x = X + i * d;
        for (int64_t j = 0; j < d; j++) {
            double h = cbrt(DBL_EPSILON) * fmax(fabs(x[j]), 1.0);
            memcpy(P + 2 * j * d, x, sizeof(double) * (size_t)d);
            memcpy(P + (2 * j + 1) * d, x, sizeof(double) * (size_t)d);
            P[2 * j * d + j] = x[j] + h;
            P[(2 * j + 1) * d + j] = x[j] - h;
        }
        st = eval_f(c, P, 2 * d, fy);
        for (int64_t j = 0; j < d && st == APX_OK; j++) {
            double step = (x[j] + cbrt(DBL_EPSILON) * fmax(fabs(x[j]), 1.0)) -
                          (x[j] - cbrt(DBL_EPSILON) * fmax(fabs(x[j]), 1.0)); // as rounded
            G[i * d + j] = (fy[2 * j] - fy[2 * j + 1]) / step;
        }
    }
    apx_free(P);
    return st;
}

// G (k,d) = grad f(X (k,d)) through the callback (batches) or central differences
static apx_status eval_grad(ex_ctx *c, const double *X, int64_t k, double *G) {
    if (!c->M.grad) return fd_grad(c, X, k, G);
    for (int64_t i0 = 0; i0 < k; i0 += c->o.batch) {
        int64_t b = APX__MIN(c->o.batch, k - i0);
        apx_dmat V = {(double *)X + i0 * c->d, b, c->d, c->d}, W = {G + i0 * c->d, b, c->d, c->d};
        apx_clear_error();
        int rc = c->M.grad(c->M.ctx, V, W);
        c->gcalls++;
        if (rc) return apx__callback_fail(c->fn, "the gradient callback", rc, c->gcalls);
        int64_t bad = apx__first_nonfinite(W.data, b * c->d);
        if (bad >= 0)
            return apx__err(APX_EINVAL, "%s: the gradient callback returned %g at row %lld "
                            "(call %lld)", c->fn, W.data[bad], (long long)(i0 + bad / c->d),
                            (long long)c->gcalls);
    }
    return APX_OK;
}

/* ---------------------------------------------------------------- neighbourhoods */

typedef struct {
    double *V;   /* (N,d) coordinates of the local model: xi or z */
    double *X;   /* (N,d) the points f is evaluated at */
    double *w;   /* (N) kernel weights, or NULL (uniform) */
    double *y;   /* (N) f(X) */
    int64_t N;
} sample;

static void sample_free(sample *s) { apx_free(s->V); }

static apx_status sample_alloc(ex_ctx *c, int64_t N, int weighted, sample *s) {
    memset(s, 0, sizeof *s);
    s->N = N;
    s->V = apx__alloc(c->fn, (size_t)(2 * N * c->d + 2 * N), sizeof(double));
    if (!s->V) return APX_ENOMEM;
    s->X = s->V + N * c->d;
    s->y = s->X + N * c->d;
    s->w = weighted ? s->y + N : NULL;
    return APX_OK;
}

// xi ~ N(0, sigma^2 I), X = x0 + xi; continuous LIME weights exp(-|xi|^2 / width^2)
static void gauss_points(ex_ctx *c, uint64_t seed, uint64_t stream, sample *s) {
    int64_t d = c->d;
    apx_rng_fill_normal(seed, stream, s->V, s->N * d);
    for (int64_t i = 0; i < s->N; i++) {
        double r2 = 0;
        for (int64_t j = 0; j < d; j++) {
            double v = (s->V[i * d + j] *= c->o.sigma);
            s->X[i * d + j] = c->x0[j] + v;
            r2 += v * v;
        }
        if (s->w) s->w[i] = exp(-r2 / (c->width * c->width));
    }
}

// X = z x0 + (1 - z) baseline for the masks z in V; LIME weights exp(-|1 - z|^2 / width^2)
static void mask_points(ex_ctx *c, sample *s, int lime_weights) {
    int64_t d = c->d;
    for (int64_t i = 0; i < s->N; i++) {
        double off = 0;
        for (int64_t j = 0; j < d; j++) {
            double z = s->V[i * d + j];
            s->X[i * d + j] = z * c->x0[j] + (1 - z) * c->base[j];
            off += 1 - z;
        }
        if (lime_weights && s->w) s->w[i] = exp(-off / (c->width * c->width));
    }
}

static void uniform_masks(ex_ctx *c, uint64_t seed, uint64_t stream, sample *s) {
    apx_rng_fill_uniform(seed, stream, s->V, s->N * c->d);
    for (int64_t i = 0; i < s->N * c->d; i++) s->V[i] = s->V[i] < 0.5 ? 1.0 : 0.0;
    mask_points(c, s, 1);
}

// coalition sizes 1..d-1 drawn with p(s) ~ (d-1) / (s (d - s)), then a uniform subset
static apx_status shapley_masks(ex_ctx *c, uint64_t seed, uint64_t stream, sample *s) {
    int64_t d = c->d;
    double *p = apx__alloc(c->fn, (size_t)d, sizeof(double));
    int64_t *idx = apx__alloc(c->fn, (size_t)d, sizeof(int64_t));
    apx_status st = (p && idx) ? APX_OK : APX_ENOMEM;
    apx_rng r;
    apx_rng_init(&r, seed, stream);
    for (int64_t k = 1; st == APX_OK && k < d; k++)
        p[k - 1] = (double)(d - 1) / ((double)k * (double)(d - k));
    memset(s->V, 0, sizeof(double) * (size_t)(s->N * d));
    for (int64_t i = 0; i < s->N && st == APX_OK; i++) {
        int64_t size = 0;
        st = apx_rng_categorical(&r, p, d - 1, 1, &size);
        if (st == APX_OK) st = apx_rng_sample(&r, d, size + 1, idx);
        for (int64_t j = 0; j <= size && st == APX_OK; j++) s->V[i * d + idx[j]] = 1;
    }
    apx_free(p);
    apx_free(idx);
    if (st == APX_OK) mask_points(c, s, 0);
    return st;
}

// every coalition 0 < |z| < d, with the Shapley kernel weight (d-1) / (C(d,|z|) |z| (d-|z|))
static void all_masks(ex_ctx *c, sample *s) {
    int64_t d = c->d;
    for (int64_t i = 0; i < s->N; i++) {
        uint64_t bits = (uint64_t)i + 1;
        int64_t size = 0;
        for (int64_t j = 0; j < d; j++) {
            s->V[i * d + j] = (double)((bits >> j) & 1);
            size += (int64_t)((bits >> j) & 1);
        }
        double binom = 1;
        for (int64_t k = 1; k <= size; k++) binom = binom * (double)(d - size + k) / (double)k;
        s->w[i] = (double)(d - 1) / (binom * (double)size * (double)(d - size));
    }
    mask_points(c, s, 0);
}

/* ---------------------------------------------------------------- fits */

// y ~ b + w^T v by (weighted) least squares over the sample; design (N, d+1)
static apx_status affine_fit(ex_ctx *c, const sample *s, double *w, double *b) {
    int64_t d = c->d, N = s->N;
    double *A = apx__alloc(c->fn, (size_t)(N * (d + 1) + d + 1), sizeof(double));
    if (!A) return APX_ENOMEM;
    double *coef = A + N * (d + 1);
    for (int64_t i = 0; i < N; i++) {
        A[i * (d + 1)] = 1;
        memcpy(A + i * (d + 1) + 1, s->V + i * d, sizeof(double) * (size_t)d);
    }
    apx_status st = apx__wls_solve(c->fn, apx_dmat_view(A, N, d + 1), s->y, s->w, coef, NULL);
    if (st == APX_OK) {
        *b = coef[0];
        memcpy(w, coef + 1, sizeof(double) * (size_t)d);
    }
    apx_free(A);
    return st;
}

// min sum pi (y - f0 - w^T z)^2 subject to sum w = f1 - f0: eliminate w_{d-1}
static apx_status shap_fit(ex_ctx *c, const sample *s, double f0, double f1, double *w) {
    int64_t d = c->d, N = s->N, q = d - 1;
    double delta = f1 - f0;
    if (d == 1) {
        w[0] = delta;
        return APX_OK;
    }
    double *A = apx__alloc(c->fn, (size_t)(N * q + N), sizeof(double));
    if (!A) return APX_ENOMEM;
    double *t = A + N * q;
    for (int64_t i = 0; i < N; i++) {
        const double *z = s->V + i * d;
        for (int64_t j = 0; j < q; j++) A[i * q + j] = z[j] - z[q];
        t[i] = s->y[i] - f0 - z[q] * delta;
    }
    apx_status st = apx__wls_solve(c->fn, apx_dmat_view(A, N, q), t, s->w, w, NULL);
    if (st == APX_OK) {
        double sum = 0;
        for (int64_t j = 0; j < q; j++) sum += w[j];
        w[q] = delta - sum;
    }
    apx_free(A);
    return st;
}

/* ---------------------------------------------------------------- the methods */

// C-LIME, LIME, continuous LIME: sample, evaluate, fit
static apx_status lfa_fit(ex_ctx *c, apx_explain_method m, double *w, double *b) {
    sample s;
    APX__TRY(sample_alloc(c, c->o.n_samples, m != APX_EXPLAIN_CLIME, &s));
    if (m == APX_EXPLAIN_LIME) uniform_masks(c, c->o.seed, 0, &s);
    else gauss_points(c, c->o.seed, 0, &s);
    apx_status st = eval_f(c, s.X, s.N, s.y);
    if (st == APX_OK) st = affine_fit(c, &s, w, b);
    sample_free(&s);
    return st;
}

static apx_status kernelshap(ex_ctx *c, double *w, double *b) {
    int64_t d = c->d;
    int exact = d < 31 && ((int64_t)1 << d) - 2 <= c->o.n_samples;
    int64_t N = exact ? ((int64_t)1 << d) - 2 : c->o.n_samples;
    double ends[2];
    double *E = apx__alloc(c->fn, (size_t)(2 * d), sizeof(double));
    if (!E) return APX_ENOMEM;
    memcpy(E, c->base, sizeof(double) * (size_t)d);
    memcpy(E + d, c->x0, sizeof(double) * (size_t)d);
    apx_status st = eval_f(c, E, 2, ends);
    apx_free(E);
    if (st != APX_OK) return st;
    *b = ends[0];
    if (N == 0) return shap_fit(c, &(sample){0}, ends[0], ends[1], w); // d = 1
    sample s;
    APX__TRY(sample_alloc(c, N, exact, &s));
    if (exact) all_masks(c, &s);
    else st = shapley_masks(c, c->o.seed, 1, &s);
    if (st == APX_OK) st = eval_f(c, s.X, s.N, s.y);
    if (st == APX_OK) st = shap_fit(c, &s, ends[0], ends[1], w);
    sample_free(&s);
    return st;
}

// w = mean of the gradient rows G (k,d)
static void mean_rows(const double *G, int64_t k, int64_t d, double *w) {
    for (int64_t j = 0; j < d; j++) w[j] = 0;
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < d; j++) w[j] += G[i * d + j];
    for (int64_t j = 0; j < d; j++) w[j] /= (double)k;
}

// SmoothGrad, VG, GxI, IG: gradients at k points X, averaged
static apx_status gradient_method(ex_ctx *c, apx_explain_method m, double *w, double *b) {
    int64_t d = c->d, k = m == APX_EXPLAIN_SMOOTHGRAD ? c->o.n_samples
                            : m == APX_EXPLAIN_IG ? c->o.ig_steps : 1;
    double *X = apx__alloc(c->fn, (size_t)(2 * k * d), sizeof(double));
    if (!X) return APX_ENOMEM;
    double *G = X + k * d;
    if (m == APX_EXPLAIN_SMOOTHGRAD) {
        apx_rng_fill_normal(c->o.seed, 2, X, k * d);
        for (int64_t i = 0; i < k * d; i++) X[i] = c->x0[i % d] + c->o.sigma * X[i];
    } else if (m == APX_EXPLAIN_IG) {
        for (int64_t i = 0; i < k; i++) {
            double a = ((double)i + 0.5) / (double)k; // midpoint Riemann sum
            for (int64_t j = 0; j < d; j++) X[i * d + j] = c->base[j] + a * (c->x0[j] - c->base[j]);
        }
    } else {
        memcpy(X, c->x0, sizeof(double) * (size_t)d);
    }
    apx_status st = eval_grad(c, X, k, G);
    if (st == APX_OK) {
        mean_rows(G, k, d, w);
        for (int64_t j = 0; m == APX_EXPLAIN_GXI && j < d; j++) w[j] *= c->x0[j];
        for (int64_t j = 0; m == APX_EXPLAIN_IG && j < d; j++) w[j] *= c->x0[j] - c->base[j];
        memcpy(X, m == APX_EXPLAIN_IG ? c->base : c->x0, sizeof(double) * (size_t)d);
        st = eval_f(c, X, 1, b);
    }
    apx_free(X);
    return st;
}

// w_j = f(x0) - f(x0 with feature j set to the baseline)
static apx_status occlusion(ex_ctx *c, double *w, double *b) {
    int64_t d = c->d;
    double *X = apx__alloc(c->fn, (size_t)((d + 1) * d + d + 1), sizeof(double));
    if (!X) return APX_ENOMEM;
    double *y = X + (d + 1) * d;
    for (int64_t i = 0; i <= d; i++) {
        memcpy(X + i * d, c->x0, sizeof(double) * (size_t)d);
        if (i > 0) X[i * d + i - 1] = c->base[i - 1];
    }
    apx_status st = eval_f(c, X, d + 1, y);
    for (int64_t j = 0; st == APX_OK && j < d; j++) w[j] = y[0] - y[j + 1];
    if (st == APX_OK) *b = y[0];
    apx_free(X);
    return st;
}

/* ---------------------------------------------------------------- entry points */

static int uses_ls(apx_explain_method m) {
    return m == APX_EXPLAIN_CLIME || m == APX_EXPLAIN_LIME || m == APX_EXPLAIN_LIME_GAUSS ||
           m == APX_EXPLAIN_KERNELSHAP;
}

static apx_status check_opts(const char *fn, const apx_explain_opts *o, int64_t d) {
    if (o->n_samples < 1 || o->n_samples > ((int64_t)1 << 40) / d)
        return apx__err(APX_EINVAL, "%s: n_samples must be in [1, 2^40 / d], got %lld", fn,
                        (long long)o->n_samples);
    if (!(o->sigma > 0) || !isfinite(o->sigma))
        return apx__err(APX_EINVAL, "%s: sigma must be > 0 and finite, got %g", fn, o->sigma);
    if (!isfinite(o->width))
        return apx__err(APX_EINVAL, "%s: width must be finite, got %g", fn, o->width);
    if (o->ig_steps < 1)
        return apx__err(APX_EINVAL, "%s: ig_steps must be >= 1, got %d", fn, o->ig_steps);
    if (o->batch < 1)
        return apx__err(APX_EINVAL, "%s: batch must be >= 1, got %lld", fn, (long long)o->batch);
    if (o->baseline) APX__TRY(apx__check_finite_vec(fn, "baseline", o->baseline, d));
    return APX_OK;
}

static apx_status begin(ex_ctx *c, const char *fn, apx_explain_model M, const double *x0,
                        apx_explain_method m, const apx_explain_opts *opts, double **zeros) {
    memset(c, 0, sizeof *c);
    c->fn = fn, c->M = M, c->x0 = x0, c->d = M.d;
    c->o = opts ? *opts : apx_explain_opts_default();
    *zeros = NULL;
    if (!M.f) return apx__err(APX_EINVAL, "%s: the model callback f is NULL", fn);
    if (M.d < 1 || M.d > (1 << 24))
        return apx__err(APX_ESHAPE, "%s: the dimension d must be in [1, 2^24], got %lld", fn,
                        (long long)M.d);
    if (!x0) return apx__err(APX_EINVAL, "%s: x0 is NULL", fn);
    APX__TRY(apx__check_finite_vec(fn, "x0", x0, M.d));
    if (!apx_explain_name(m))
        return apx__err(APX_EINVAL, "%s: unknown method %d", fn, (int)m);
    APX__TRY(check_opts(fn, &c->o, M.d));
    c->width = c->o.width > 0 ? c->o.width : 0.75 * sqrt((double)M.d);
    if (!c->o.baseline) {
        if (!(*zeros = apx__alloc(fn, (size_t)M.d, sizeof(double)))) return APX_ENOMEM;
        c->base = *zeros;
    } else {
        c->base = c->o.baseline;
    }
    return APX_OK;
}

static apx_status dispatch(ex_ctx *c, apx_explain_method m, double *w, double *b) {
    if (uses_ls(m) && m != APX_EXPLAIN_KERNELSHAP && c->o.n_samples < c->d + 1)
        return apx__err(APX_EINVAL, "%s: %s needs n_samples >= d + 1 = %lld, got %lld", c->fn,
                        apx_explain_name(m), (long long)(c->d + 1), (long long)c->o.n_samples);
    switch (m) {
    case APX_EXPLAIN_CLIME:
    case APX_EXPLAIN_LIME:
    case APX_EXPLAIN_LIME_GAUSS: return lfa_fit(c, m, w, b);
    case APX_EXPLAIN_KERNELSHAP:
        if (c->o.n_samples < c->d && !(c->d < 31 && ((int64_t)1 << c->d) - 2 <= c->o.n_samples))
            return apx__err(APX_EINVAL, "%s: kernelshap needs n_samples >= d = %lld, got %lld",
                            c->fn, (long long)c->d, (long long)c->o.n_samples);
        return kernelshap(c, w, b);
    case APX_EXPLAIN_OCCLUSION: return occlusion(c, w, b);
    default: return gradient_method(c, m, w, b);
    }
}

apx_status apx_explain(apx_explain_model model, const double *x0, apx_explain_method method,
                       const apx_explain_opts *opts, double *w, double *b) {
    ex_ctx c;
    double *zeros = NULL, bb = 0;
    apx_status st = begin(&c, "explain", model, x0, method, opts, &zeros);
    if (st == APX_OK && !w) st = apx__err(APX_EINVAL, "explain: w is NULL");
    if (st == APX_OK) st = dispatch(&c, method, w, &bb);
    if (st == APX_OK && b) *b = bb;
    apx_free(zeros);
    return st;
}

// the held-out sample of the neighbourhood of m (streams 16..18 of seed)
static apx_status eval_sample(ex_ctx *c, apx_explain_method m, uint64_t seed, sample *s) {
    switch (m) {
    case APX_EXPLAIN_CLIME:
    case APX_EXPLAIN_LIME_GAUSS: gauss_points(c, seed, 16, s); return APX_OK;
    case APX_EXPLAIN_LIME: uniform_masks(c, seed, 17, s); return APX_OK;
    default: return shapley_masks(c, seed, 18, s);
    }
}

static apx_status lfa_loss_run(ex_ctx *c, apx_explain_method m, const double *w, double b,
                               int64_t N, uint64_t seed, double *loss) {
    sample s;
    int weighted = m == APX_EXPLAIN_LIME || m == APX_EXPLAIN_LIME_GAUSS;
    APX__TRY(sample_alloc(c, N, weighted, &s));
    apx_status st = eval_sample(c, m, seed, &s);
    if (st == APX_OK) st = eval_f(c, s.X, N, s.y);
    double num = 0, den = 0;
    for (int64_t i = 0; st == APX_OK && i < N; i++) {
        double g = b, pi = s.w ? s.w[i] : 1.0;
        for (int64_t j = 0; j < c->d; j++) g += w[j] * s.V[i * c->d + j];
        num += pi * (s.y[i] - g) * (s.y[i] - g);
        den += pi;
    }
    if (st == APX_OK) *loss = den > 0 ? num / den : 0;
    sample_free(&s);
    return st;
}

apx_status apx_explain_lfa_loss(apx_explain_model model, const double *x0,
                                apx_explain_method method, const apx_explain_opts *opts,
                                const double *w, double b, int64_t n_eval, uint64_t seed,
                                double *loss) {
    const char *fn = "lfa_loss";
    ex_ctx c;
    double *zeros = NULL;
    apx_status st = begin(&c, fn, model, x0, method, opts, &zeros);
    if (st == APX_OK && !uses_ls(method))
        st = apx__err(APX_EINVAL, "%s: the neighbourhood must be that of clime, lime, "
                      "lime-gauss or kernelshap (function matching), got %s", fn,
                      apx_explain_name(method));
    if (st == APX_OK && (!w || !loss)) st = apx__err(APX_EINVAL, "%s: w or loss is NULL", fn);
    if (st == APX_OK) st = apx__check_finite_vec(fn, "w", w, model.d);
    if (st == APX_OK && !isfinite(b)) st = apx__err(APX_EINVAL, "%s: b = %g is not finite", fn, b);
    if (st == APX_OK && (n_eval < 1 || n_eval > ((int64_t)1 << 40) / model.d))
        st = apx__err(APX_EINVAL, "%s: n_eval must be in [1, 2^40 / d], got %lld", fn,
                      (long long)n_eval);
    if (st == APX_OK && method == APX_EXPLAIN_KERNELSHAP && model.d < 2)
        st = apx__err(APX_EINVAL, "%s: the kernelshap neighbourhood needs d >= 2", fn);
    if (st == APX_OK) st = lfa_loss_run(&c, method, w, b, n_eval, seed, loss);
    apx_free(zeros);
    return st;
}
