/* sophia.c: Sophia (Liu et al. 2023, P076), as the authors' SophiaG (the sophia-opt
 * package): a clipped, diagonally preconditioned momentum step.
 *
 * With a fresh Hessian-diagonal estimate hhat (apx_optim_step_hess; every k-th step in the
 * paper, k = 10): h = b2 h + (1 - b2) hhat. Every step:
 *   p = p (1 - lr wd);  m = b1 m + (1 - b1) g;
 *   p = p - lr sign(m) min(|m| / (rho * hess_scale * max(h, 0) + eps), 1).
 * So |update| <= lr per coordinate. Estimators (the caller computes them; helpers below):
 *   Sophia-H: hhat = u . (H u), u ~ N(0, I) (Hutchinson, apx_sophia_hutchinson);
 *   Sophia-G: hhat = B ghat . ghat, ghat the mini-batch gradient of the loss on labels sampled
 *             from the model (Gauss-Newton-Bartlett, apx_sophia_gnb + apx_sample_labels).
 * sophia-opt's SophiaG stores the EMA of ghat^2 and divides by rho * bs * h: pass
 * hhat = ghat^2 with hess_scale = bs, or hhat = B ghat^2 with hess_scale = 1. The max(h, 0)
 * (relu) matters only for Hutchinson estimates, which can be negative. */
#include "optim_internal.h"

enum { LR, BETA1, BETA2, RHO, WEIGHT_DECAY, EPS, HESS_SCALE, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-4, 0, HUGE_VAL, 0, "learning rate: the largest move of a coordinate"},
    {"beta1", 0.965, 0, 1, APX_OPTIM_SET_MAX_OPEN, "decay of the gradient momentum"},
    {"beta2", 0.99, 0, 1, APX_OPTIM_SET_MAX_OPEN, "decay of the Hessian-diagonal average "
                                                  "(per estimate)"},
    {"rho", 0.04, 0, HUGE_VAL, APX_OPTIM_SET_MIN_OPEN, "clipping scale gamma: m / (rho h)"},
    {"weight_decay", 0.1, 0, HUGE_VAL, 0, "decoupled weight decay: p *= 1 - lr wd"},
    {"eps", 1e-15, 0, HUGE_VAL, APX_OPTIM_SET_MIN_OPEN, "added to rho h"},
    {"hess_scale", 1, 0, HUGE_VAL, APX_OPTIM_SET_MIN_OPEN, "multiplies h in the denominator "
                                                           "(sophia-opt's bs for ghat^2)"},
};

typedef struct {
    float lr, wd, b1, b1c, b2, b2c, rs, eps; /* rs = rho * hess_scale */
    const float *hess;                       /* NULL: keep h */
} sophia_coef;

static apx_status sophia_init(apx_optim *o) {
    APX__TRY(apx__optim_add_buf(o, "exp_avg", NULL));
    return apx__optim_add_buf(o, "hessian", NULL);
}

// p, g, m, h[, hhat] (len): h EMA; p = p(1 - lr wd) - lr sign(m) min(|m|/(rs max(h,0) + eps), 1)
APX__EW_CLONES
static float sophia_block(apx_optim *o, const void *cv, int64_t off, int64_t len, float ls,
                          float ws) {
    const sophia_coef *c = cv;
    float *restrict p = apx_params_data(o->p) + off;
    const float *restrict g = apx_params_grad(o->p) + off;
    float *restrict m = o->buf[0] + off, *restrict h = o->buf[1] + off;
    float lr = c->lr * ls, decay = 1.0f - lr * c->wd * ws, chk = 0;
    float b1 = c->b1, b1c = c->b1c, rs = c->rs, eps = c->eps;
    if (c->hess) {
        const float *restrict hh = c->hess + off;
        float b2 = c->b2, b2c = c->b2c;
#pragma omp simd
        for (int64_t i = 0; i < len; i++) h[i] = b2 * h[i] + b2c * hh[i];
    }
#pragma omp simd reduction(+ : chk)
    for (int64_t i = 0; i < len; i++) {
        float gi = g[i];
        chk += gi - gi;
        float mi = b1 * m[i] + b1c * gi;
        m[i] = mi;
        float hi = h[i] > 0 ? h[i] : 0.0f;
        float r = fabsf(mi) / (rs * hi + eps);
        r = r < 1.0f ? r : 1.0f;
        p[i] = p[i] * decay - lr * copysignf(r, mi);
    }
    return chk;
}

static apx_status sophia_step(apx_optim *o, double lr, const float *hess, float *chk) {
    double b1 = apx__set(o, BETA1), b2 = apx__set(o, BETA2);
    sophia_coef c = {(float)lr, (float)apx__set(o, WEIGHT_DECAY), (float)b1, (float)(1 - b1),
                     (float)b2, (float)(1 - b2),
                     (float)(apx__set(o, RHO) * apx__set(o, HESS_SCALE)),
                     (float)apx__set(o, EPS), hess};
    *chk = apx__optim_ew_run(o, sophia_block, &c);
    return APX_OK;
}

const apx__optim_impl apx__optim_sophia = {
    {"sophia", "Sophia: clipped diagonal-Hessian preconditioned momentum, Hutchinson or "
               "Gauss-Newton-Bartlett estimates (P076)",
     APX_OPTIM_ELEMENTWISE | APX_OPTIM_HESSIAN, N_SET, settings},
    NULL, sophia_init, sophia_step, NULL, NULL};

/* ---------------------------------------------------------------- estimators */

apx_status apx_sophia_hutchinson(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx,
                                 uint64_t seed, uint64_t stream, const apx_hvp_opts *opts,
                                 float *hdiag) {
    if (!g || !p || !f || !hdiag)
        return apx__err(APX_EINVAL, "sophia_hutchinson: %s is NULL",
                        !g ? "graph" : !p ? "params" : !f ? "loss function" : "hdiag");
    if (!apx_params_finalized(p))
        return apx__err(APX_EINVAL, "sophia_hutchinson: the parameter table is not finalized");
    int64_t n = apx_params_size(p);
    float *u = apx_malloc(sizeof(float) * (size_t)n);
    if (!u) return apx__err(APX_ENOMEM, "sophia_hutchinson: probe of %lld floats",
                            (long long)n);
    apx_rng_fill_normal_f(seed, stream, u, n);
    apx_status st = apx_ad_hvp(g, p, f, ctx, u, hdiag, opts);
    if (st == APX_OK)
#pragma omp simd
        for (int64_t i = 0; i < n; i++) hdiag[i] *= u[i];
    apx_free(u);
    return st;
}

apx_status apx_sophia_gnb(const float *grad_sampled, int64_t n, int64_t batch, float *hdiag) {
    if (!grad_sampled || !hdiag)
        return apx__err(APX_EINVAL, "sophia_gnb: %s is NULL",
                        grad_sampled ? "hdiag" : "grad_sampled");
    if (n < 1 || batch < 1)
        return apx__err(APX_EINVAL, "sophia_gnb: n = %lld and batch = %lld must be >= 1",
                        (long long)n, (long long)batch);
    float b = (float)batch;
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) hdiag[i] = b * grad_sampled[i] * grad_sampled[i];
    return APX_OK;
}

apx_status apx_sample_labels(const float *logits, int64_t rows, int64_t V, uint64_t seed,
                             uint64_t stream, int32_t *labels) {
    if (!logits || !labels)
        return apx__err(APX_EINVAL, "sample_labels: %s is NULL", logits ? "labels" : "logits");
    if (rows < 1 || V < 1 || V > INT32_MAX)
        return apx__err(APX_EINVAL, "sample_labels: rows = %lld, V = %lld out of range",
                        (long long)rows, (long long)V);
    for (int64_t r = 0; r < rows; r++) { /* row r uses block r of the stream: any order */
        const float *x = logits + r * V;
        double mx = -HUGE_VAL, tot = 0;
        for (int64_t j = 0; j < V; j++) {
            if (!isfinite(x[j]))
                return apx__err(APX_EINVAL, "sample_labels: logits[%lld, %lld] is %g",
                                (long long)r, (long long)j, (double)x[j]);
            mx = fmax(mx, x[j]);
        }
        for (int64_t j = 0; j < V; j++) tot += exp(x[j] - mx);
        apx_rng rng;
        apx_rng_init(&rng, seed, stream);
        apx_rng_seek(&rng, (uint64_t)r);
        double u = apx_rng_uniform(&rng) * tot, acc = 0;
        int64_t pick = V - 1;
        for (int64_t j = 0; j < V; j++) {
            acc += exp(x[j] - mx);
            if (u < acc) { pick = j; break; }
        }
        labels[r] = (int32_t)pick;
    }
    return APX_OK;
}
