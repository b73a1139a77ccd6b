/* hvp.c: value-and-gradient of a model, and Hessian-vector products: exact by
 * forward-over-reverse (rop.c) when every op of the model supports it, else by central
 * differences of reverse-mode gradients along v (error model in include/apx/ad.h and
 * docs/ad.md). */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "ad_internal.h"

static apx_status check_model(const char *fn, apx_graph *g, apx_params *p, apx_ad_loss_fn f) {
    if (!g) return apx__err(APX_EINVAL, "%s: graph is NULL", fn);
    if (!p) return apx__err(APX_EINVAL, "%s: params is NULL", fn);
    if (!apx_params_finalized(p)) return apx__err(APX_EINVAL, "%s: params are not finalized", fn);
    if (!f) return apx__err(APX_EINVAL, "%s: the loss function is NULL", fn);
    return APX_OK;
}

/* Reset g, zero p's gradients and build the loss (checked: set, size 1, finite). */
static apx_status build_loss(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx,
                             apx_tensor **loss) {
    apx_graph_reset(g);
    apx_params_zero_grad(p);
    *loss = NULL;
    apx_clear_error();
    apx_status s = f(ctx, g, p, loss);
    if (s != APX_OK) {
        if (!apx_last_error()[0]) apx__err(s, "value_and_grad: the loss function failed");
        return s;
    }
    if (!*loss) return apx__err(APX_EINVAL, "value_and_grad: the loss function set no loss");
    if ((*loss)->size != 1 || !(*loss)->requires_grad)
        return apx__err(APX_EINVAL, "value_and_grad: the loss must have size 1 and depend on "
                        "the parameters");
    if (!isfinite((*loss)->data[0]))
        return apx__err(APX_ENUMERIC, "value_and_grad: the loss is %g", (double)(*loss)->data[0]);
    return APX_OK;
}

static apx_status eval_grad(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx,
                            double *loss_value) {
    apx_tensor *loss;
    APX__TRY(build_loss(g, p, f, ctx, &loss));
    APX__TRY(apx_ad_backward(g, loss));
    if (loss_value) *loss_value = loss->data[0];
    return APX_OK;
}

apx_status apx_ad_value_and_grad(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx,
                                 double *loss_value) {
    APX__TRY(check_model("value_and_grad", g, p, f));
    return eval_grad(g, p, f, ctx, loss_value);
}

apx_hvp_opts apx_hvp_opts_default(void) {
    apx_hvp_opts o = {2, 0.0, APX_HVP_AUTO, NULL};
    return o;
}

static apx_status check_hvp(const apx_params *p, const float *v, const float *hv,
                            const apx_hvp_opts *o, float *vmax) {
    if (!v || !hv) return apx__err(APX_EINVAL, "hvp: v and hv must not be NULL");
    if (o->order != 2 && o->order != 4)
        return apx__err(APX_EINVAL, "hvp: order must be 2 or 4, got %d", o->order);
    if (!(o->step >= 0) || !isfinite(o->step))
        return apx__err(APX_EINVAL, "hvp: step must be finite and >= 0, got %g", o->step);
    if (o->method != APX_HVP_AUTO && o->method != APX_HVP_EXACT && o->method != APX_HVP_DIFF)
        return apx__err(APX_EINVAL, "hvp: method must be APX_HVP_AUTO (0), _EXACT (1) or "
                        "_DIFF (2), got %d", (int)o->method);
    *vmax = 0;
    for (int64_t i = 0; i < apx_params_size(p); i++) {
        if (!isfinite(v[i]))
            return apx__err(APX_EINVAL, "hvp: v[%lld] is %g", (long long)i, (double)v[i]);
        *vmax = fmaxf(*vmax, fabsf(v[i]));
    }
    if (*vmax == 0) return apx__err(APX_EINVAL, "hvp: v is zero");
    return APX_OK;
}

/* The automatic step h = c R, R = (1 + max|theta|) / |v|_2 the length scale of the model
 * along v. For a function analytic within radius R (k-th derivative ~ k!/R^k) the error
 * terms balance at c = (eps/2)^(1/3) ~ 3.9e-3 (order 2) and c ~ 0.6 eps^(1/5) ~ 2.5e-2
 * (order 4: truncation 4 h^4 / R^5 against rounding 1.5 eps / h). */
static double auto_step(const float *theta, const float *v, int64_t n, int order) {
    float tmax = 0;
    double vn = 0;
    for (int64_t i = 0; i < n; i++) {
        tmax = fmaxf(tmax, fabsf(theta[i]));
        vn += (double)v[i] * v[i];
    }
    double c = order == 2 ? cbrt(FLT_EPSILON / 2.0) : 0.6 * pow(FLT_EPSILON, 0.2);
    return c * (1.0 + tmax) / sqrt(vn);
}

/* acc += w * grad(theta0 + o h v) for each stencil point. */
static apx_status stencil(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx,
                          const float *theta0, const float *v, double h, int order, double *acc) {
    static const double off2[] = {1, -1}, w2[] = {0.5, -0.5};
    static const double off4[] = {2, 1, -1, -2}, w4[] = {-1.0 / 12, 8.0 / 12, -8.0 / 12, 1.0 / 12};
    const double *off = order == 2 ? off2 : off4, *w = order == 2 ? w2 : w4;
    int64_t n = apx_params_size(p);
    float *theta = apx_params_data(p), *grad = apx_params_grad(p);
    for (int s = 0; s < order; s++) {
        for (int64_t i = 0; i < n; i++) theta[i] = (float)(theta0[i] + off[s] * h * v[i]);
        APX__TRY(eval_grad(g, p, f, ctx, NULL));
        for (int64_t i = 0; i < n; i++) acc[i] += w[s] / h * grad[i];
    }
    return APX_OK;
}

/* The exact product when the tape supports it (*done = 1). EXACT without support fails. */
static apx_status try_exact(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx,
                            const float *v, float *hv, const apx_hvp_opts *o, int *done) {
    apx_tensor *loss;
    const char *op = NULL;
    *done = 0;
    APX__TRY(build_loss(g, p, f, ctx, &loss));
    APX__TRY(apx__hvp_rop(g, p, loss, v, hv, done, &op));
    if (!*done && o->method == APX_HVP_EXACT)
        return apx__err(APX_EINVAL, "hvp: method EXACT, but op '%s' of the model has no "
                        "forward-over-reverse rule (use APX_HVP_AUTO or _DIFF)", op);
    if (o->info) *o->info = (apx_hvp_info){*done, *done ? NULL : op, 1};
    return APX_OK;
}

apx_status apx_ad_hvp(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx, const float *v,
                      float *hv, const apx_hvp_opts *opts) {
    apx_hvp_opts o = opts ? *opts : apx_hvp_opts_default();
    APX__TRY(check_model("hvp", g, p, f));
    float vmax = 0;
    APX__TRY(check_hvp(p, v, hv, &o, &vmax));
    int64_t n = apx_params_size(p);
    float *theta = apx_params_data(p), *grad = apx_params_grad(p);
    float *save = malloc(2 * (size_t)n * sizeof(float));
    double *acc = calloc((size_t)n, sizeof(double));
    apx_status st = APX_OK;
    int done = 0;
    if (!save || !acc) {
        st = apx__err(APX_ENOMEM, "hvp: cannot allocate work space for %lld parameters",
                      (long long)n);
        goto done;
    }
    memcpy(save, theta, (size_t)n * sizeof(float));
    memcpy(save + n, grad, (size_t)n * sizeof(float));
    if (o.method != APX_HVP_DIFF) st = try_exact(g, p, f, ctx, v, hv, &o, &done);
    if (st == APX_OK && !done) {
        double h = o.step > 0 ? o.step : auto_step(theta, v, n, o.order);
        st = stencil(g, p, f, ctx, save, v, h, o.order, acc);
        if (st == APX_OK)
            for (int64_t i = 0; i < n; i++) hv[i] = (float)acc[i];
        if (o.info) {
            o.info->exact = 0;
            if (o.method == APX_HVP_DIFF) o.info->fallback_op = NULL;
            o.info->gradients = o.order + (o.method != APX_HVP_DIFF);
        }
    }
    memcpy(theta, save, (size_t)n * sizeof(float));
    memcpy(grad, save + n, (size_t)n * sizeof(float));
    apx_graph_reset(g);
done:
    free(save);
    free(acc);
    return st;
}
