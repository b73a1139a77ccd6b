/* tests/ad/test_ad_check.c: the generic gradient checker (see test_ad_check.h). */
#include <stdio.h>
#include <stdlib.h>

#include "test_ad_check.h"

int64_t adc_size(const adc_case *c, int i) {
    int64_t n = 1;
    for (int d = 0; d < c->ndim[i]; d++) n *= c->shape[i][d];
    return n;
}

/* Inputs: scale * N(0,1) + shift, rounded to float, kept away from 0 by c->away. */
static void draw_inputs(const adc_case *c, double **xd, float **xf) {
    for (int i = 0; i < c->n_in; i++) {
        int64_t n = adc_size(c, i);
        double sc = c->scale[i] != 0 ? c->scale[i] : 1.0;
        apx_rng_fill_normal(c->seed + 1000, (uint64_t)i, xd[i], n);
        for (int64_t j = 0; j < n; j++) {
            double v = sc * xd[i][j] + c->shift[i];
            if (fabs(v) < c->away) v = v < 0 ? -c->away : c->away;
            xf[i][j] = (float)v;
            xd[i][j] = xf[i][j];
        }
    }
}

static double max_abs(const double *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* <w, ref(x)> in double. */
static double weighted(const adc_case *c, double **xd, const double *w, double *y, int64_t ny) {
    c->ref(c, xd, y);
    double s = 0;
    for (int64_t i = 0; i < ny; i++) s += w[i] * y[i];
    return s;
}

static void check_forward(const char *file, int line, adc_case *c, const apx_tensor *out,
                          double *y) {
    double tol = c->fwd_tol > 0 ? c->fwd_tol : 1e-5, ymax = max_abs(y, out->size), worst = 0;
    int64_t bad = -1;
    for (int64_t i = 0; i < out->size; i++) {
        double e = fabs(out->data[i] - y[i]) / (ymax + fabs(y[i]) + 1e-30);
        if (!(e <= worst)) worst = e, bad = i;
    }
    c->fwd_err = worst;
    if (!(worst <= tol))
        apx_test_fail(file, line, "%s: forward[%lld] = %.9g, reference %.9g (rel err %.3g > %.1g)",
                      c->name, (long long)bad, (double)out->data[bad], y[bad], worst, tol);
}

/* Central difference of <w, ref> in x[i][j] against the analytic gradient. */
static void check_grad(const char *file, int line, adc_case *c, double **xd, int i,
                       const float *g, const double *w, double *y, int64_t ny) {
    int64_t n = adc_size(c, i);
    double *num = malloc(sizeof(double) * (size_t)n), tol = c->grad_tol > 0 ? c->grad_tol : 1e-4;
    for (int64_t j = 0; j < n; j++) {
        double x0 = xd[i][j], h = 1e-5 * fmax(1.0, fabs(x0));
        xd[i][j] = x0 + h;
        double fp = weighted(c, xd, w, y, ny);
        xd[i][j] = x0 - h;
        double fm = weighted(c, xd, w, y, ny);
        xd[i][j] = x0;
        num[j] = (fp - fm) / (2 * h);
    }
    double gmax = max_abs(num, n), worst = 0;
    int64_t bad = -1;
    for (int64_t j = 0; j < n; j++) {
        double e = fabs(g[j] - num[j]) / (gmax + fabs(num[j]) + 1e-30);
        if (!(e <= worst)) worst = e, bad = j;
    }
    c->grad_err = fmax(c->grad_err, worst);
    if (!(worst <= tol))
        apx_test_fail(file, line, "%s: d/dx%d[%lld] = %.9g, finite difference %.9g (rel err "
                      "%.3g > %.1g)", c->name, i, (long long)bad, (double)g[bad], num[bad],
                      worst, tol);
    free(num);
}

static void run_checks(const char *file, int line, adc_case *c, apx_graph *g, double **xd,
                       apx_tensor **in, apx_tensor *out) {
    int64_t ny = out->size;
    double *y = malloc(sizeof(double) * (size_t)ny), *w = malloc(sizeof(double) * (size_t)ny);
    float *wf = malloc(sizeof(float) * (size_t)ny);
    c->ref(c, xd, y);
    check_forward(file, line, c, out, y);
    apx_rng_fill_normal(c->seed + 2000, 0, w, ny);
    for (int64_t i = 0; i < ny; i++) wf[i] = (float)w[i], w[i] = wf[i];
    int any = 0;
    for (int i = 0; i < c->n_in; i++) any |= c->grad[i];
    apx_status s = any ? apx_ad_backward_seed(g, out, wf) : APX_OK;
    if (s != APX_OK)
        apx_test_fail(file, line, "%s: backward: %s", c->name, apx_last_error());
    for (int i = 0; s == APX_OK && i < c->n_in; i++) {
        if (!c->grad[i]) {
            if (in[i]->grad) apx_test_fail(file, line, "%s: constant input %d got a gradient", c->name, i);
            continue;
        }
        if (!in[i]->grad) {
            apx_test_fail(file, line, "%s: input %d has no gradient", c->name, i);
            continue;
        }
        check_grad(file, line, c, xd, i, in[i]->grad, w, y, ny);
    }
    free(y);
    free(w);
    free(wf);
}

void adc_run_at(const char *file, int line, adc_case *c) {
    double *xd[ADC_MAX_IN] = {0};
    float *xf[ADC_MAX_IN] = {0};
    apx_tensor *in[ADC_MAX_IN] = {0}, *out = NULL;
    apx_graph *g = NULL;
    c->fwd_err = c->grad_err = 0;
    for (int i = 0; i < c->n_in; i++) {
        xd[i] = malloc(sizeof(double) * (size_t)adc_size(c, i));
        xf[i] = malloc(sizeof(float) * (size_t)adc_size(c, i));
    }
    draw_inputs(c, xd, xf);
    apx_status s = apx_graph_create(NULL, &g);
    for (int i = 0; s == APX_OK && i < c->n_in; i++)
        s = apx_ad_tensor_from(g, c->ndim[i], c->shape[i], xf[i], c->grad[i], &in[i]);
    if (s == APX_OK) s = c->build(c, g, in, &out);
    if (s != APX_OK)
        apx_test_fail(file, line, "%s: %s: %s", c->name, apx_strerror(s), apx_last_error());
    else
        run_checks(file, line, c, g, xd, in, out);
    if (getenv("APX_TEST_VERBOSE"))
        printf("    %-28s forward rel err %.2e, gradient rel err %.2e\n", c->name, c->fwd_err,
               c->grad_err);
    apx_graph_free(g);
    for (int i = 0; i < c->n_in; i++) free(xd[i]), free(xf[i]);
}

/* ---------------------------------------------------------------- exact HVP check */

typedef struct {
    adc_case *c;
    float **xf;      /* the inputs (constant ones are read from here) */
    const float *wf; /* (ny) */
    int64_t ny;
} hvp_ctx;

static apx_status hvp_loss(void *vctx, apx_graph *g, apx_params *p, apx_tensor **loss) {
    const hvp_ctx *h = vctx;
    const adc_case *c = h->c;
    apx_tensor *in[ADC_MAX_IN], *y, *w, *q, *r;
    for (int i = 0, k = 0; i < c->n_in; i++)
        ADC_TRY(c->grad[i] ? apx_ad_param(g, p, k++, &in[i])
                           : apx_ad_tensor_from(g, c->ndim[i], c->shape[i], h->xf[i], 0, &in[i]));
    ADC_TRY(c->build(c, g, in, &y));
    if (y->size != h->ny) return APX_ESHAPE;
    ADC_TRY(apx_ad_tensor_from(g, y->ndim, y->shape, h->wf, 0, &w));
    ADC_TRY(apx_ad_mul(g, y, y, &q));
    ADC_TRY(apx_ad_scale(g, q, 0.5f, &q));
    ADC_TRY(apx_ad_mul(g, y, w, &r));
    ADC_TRY(apx_ad_add(g, q, r, &q));
    return apx_ad_sum(g, q, loss);
}

/* L(theta) = sum(w y + y^2/2) on the double reference; theta fills the grad inputs. */
static double hvp_ref_loss(const adc_case *c, double **xd, const double *th, const double *w,
                           double *y, int64_t ny) {
    for (int i = 0; i < c->n_in; i++)
        if (c->grad[i])
            for (int64_t j = 0, n = adc_size(c, i); j < n; j++) xd[i][j] = *th++;
    c->ref(c, xd, y);
    double s = 0;
    for (int64_t i = 0; i < ny; i++) s += w[i] * y[i] + 0.5 * y[i] * y[i];
    return s;
}

/* ref (np) = H v by mixed central second differences of the double loss. */
static void hvp_ref(const adc_case *c, double **xd, const float *theta, const float *v,
                    int64_t np, const double *w, double *y, int64_t ny, double *ref) {
    double *th = malloc(sizeof(double) * (size_t)np), h = 1e-4;
    for (int64_t i = 0; i < np; i++) {
        double f[4];
        for (int s = 0; s < 4; s++) {
            double si = s < 2 ? h : -h, sv = s % 2 ? -h : h;
            for (int64_t j = 0; j < np; j++) th[j] = theta[j] + sv * v[j] + (j == i ? si : 0);
            f[s] = hvp_ref_loss(c, xd, th, w, y, ny);
        }
        ref[i] = (f[0] - f[1] - f[2] + f[3]) / (4 * h * h);
    }
    free(th);
}

/* The table of the grad inputs (one group each), filled from xf; NULL on failure. */
static apx_params *hvp_params(const adc_case *c, float **xf) {
    apx_params *p = NULL;
    char name[16];
    if (apx_params_create(&p)) return NULL;
    for (int i = 0; i < c->n_in; i++) {
        snprintf(name, sizeof name, "x%d", i);
        int64_t one = 1; /* a scalar input becomes a group of shape (1) */
        if (c->grad[i] && apx_params_add(p, name, c->ndim[i] ? c->ndim[i] : 1,
                                         c->ndim[i] ? c->shape[i] : &one, NULL))
            goto fail;
    }
    if (apx_params_finalize(p)) goto fail;
    float *d = apx_params_data(p);
    for (int i = 0; i < c->n_in; i++)
        if (c->grad[i]) {
            memcpy(d, xf[i], sizeof(float) * (size_t)adc_size(c, i));
            d += adc_size(c, i);
        }
    return p;
fail:
    apx_params_free(p);
    return NULL;
}

/* Output size of the op (one build), or -1. */
static int64_t hvp_out_size(adc_case *c, float **xf) {
    apx_graph *g = NULL;
    apx_tensor *in[ADC_MAX_IN], *y = NULL;
    int64_t ny = -1;
    apx_status s = apx_graph_create(NULL, &g);
    for (int i = 0; s == APX_OK && i < c->n_in; i++)
        s = apx_ad_tensor_from(g, c->ndim[i], c->shape[i], xf[i], 0, &in[i]);
    if (s == APX_OK && c->build(c, g, in, &y) == APX_OK) ny = y->size;
    apx_graph_free(g);
    return ny;
}

static void hvp_compare(const char *file, int line, adc_case *c, const float *hv,
                        const double *ref, int64_t np) {
    double scale = 0, worst = 0, tol = c->hvp_tol > 0 ? c->hvp_tol : 3e-5;
    int64_t bad = 0;
    for (int64_t i = 0; i < np; i++) scale = fmax(scale, fabs(ref[i]));
    for (int64_t i = 0; i < np; i++)
        if (!(fabs(hv[i] - ref[i]) <= worst)) worst = fabs(hv[i] - ref[i]), bad = i;
    c->hvp_err = worst / scale;
    if (!(c->hvp_err <= tol) || !(scale > 0))
        apx_test_fail(file, line, "%s: exact hvp[%lld] = %.9g, second differences %.9g (rel "
                      "err %.3g > %.1g, scale %.3g)", c->name, (long long)bad, (double)hv[bad],
                      ref[bad], c->hvp_err, tol, scale);
    if (getenv("APX_TEST_VERBOSE"))
        printf("    %-28s exact hvp rel err %.2e (%lld parameters)\n", c->name, c->hvp_err,
               (long long)np);
}

void adc_hvp_run_at(const char *file, int line, adc_case *c) {
    double *xd[ADC_MAX_IN] = {0};
    float *xf[ADC_MAX_IN] = {0};
    for (int i = 0; i < c->n_in; i++) {
        xd[i] = malloc(sizeof(double) * (size_t)adc_size(c, i));
        xf[i] = malloc(sizeof(float) * (size_t)adc_size(c, i));
    }
    draw_inputs(c, xd, xf);
    int64_t ny = hvp_out_size(c, xf);
    apx_params *p = hvp_params(c, xf);
    apx_graph *g = NULL;
    if (ny < 1 || !p || apx_graph_create(NULL, &g)) {
        apx_test_fail(file, line, "%s: hvp setup failed: %s", c->name, apx_last_error());
    } else {
        int64_t np = apx_params_size(p);
        double *w = malloc(sizeof(double) * (size_t)ny), *y = malloc(sizeof(double) * (size_t)ny);
        double *ref = malloc(sizeof(double) * (size_t)np), *vd = malloc(sizeof(double) * (size_t)np);
        float *wf = malloc(sizeof(float) * (size_t)ny), *v = malloc(sizeof(float) * (size_t)np);
        float *hv = malloc(sizeof(float) * (size_t)np);
        apx_rng_fill_normal(c->seed + 3000, 0, w, ny);
        for (int64_t i = 0; i < ny; i++) wf[i] = (float)w[i], w[i] = wf[i];
        apx_rng_fill_normal(c->seed + 3000, 1, vd, np);
        for (int64_t i = 0; i < np; i++) v[i] = (float)vd[i];
        hvp_ctx h = {c, xf, wf, ny};
        apx_hvp_info info = {0, NULL, 0};
        apx_hvp_opts o = apx_hvp_opts_default();
        o.method = APX_HVP_EXACT;
        o.info = &info;
        apx_status s = apx_ad_hvp(g, p, hvp_loss, &h, v, hv, &o);
        if (s != APX_OK || !info.exact) {
            apx_test_fail(file, line, "%s: exact hvp: %s: %s", c->name, apx_strerror(s),
                          apx_last_error());
        } else {
            hvp_ref(c, xd, apx_params_data(p), v, np, w, y, ny, ref);
            hvp_compare(file, line, c, hv, ref, np);
        }
        free(w), free(y), free(ref), free(vd), free(wf), free(v), free(hv);
    }
    apx_graph_free(g);
    apx_params_free(p);
    for (int i = 0; i < c->n_in; i++) free(xd[i]), free(xf[i]);
}

void adc_hvp_fallback_at(const char *file, int line, apx_graph *g, apx_params *p,
                         apx_ad_loss_fn f, void *ctx, const float *v, float *hv, const char *op) {
    apx_hvp_info info = {1, NULL, 0};
    apx_hvp_opts o = apx_hvp_opts_default();
    o.info = &info;
    apx_status s = apx_ad_hvp(g, p, f, ctx, v, hv, &o);
    if (s != APX_OK || info.exact || !info.fallback_op || strcmp(info.fallback_op, op) ||
        info.gradients != o.order + 1)
        apx_test_fail(file, line, "hvp AUTO: status %d, exact %d, fallback_op %s, gradients %d "
                      "(expected a fallback at %s, %d gradients)", (int)s, info.exact,
                      info.fallback_op ? info.fallback_op : "NULL", info.gradients, op,
                      o.order + 1);
    o.method = APX_HVP_EXACT;
    s = apx_ad_hvp(g, p, f, ctx, v, hv, &o);
    if (s != APX_EINVAL || !strstr(apx_last_error(), op))
        apx_test_fail(file, line, "hvp EXACT: status %d, message '%s' (expected invalid "
                      "argument naming %s)", (int)s, apx_last_error(), op);
}
