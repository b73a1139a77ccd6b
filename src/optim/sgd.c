/* sgd.c: stochastic gradient descent with momentum, dampening, Nesterov momentum and
 * (coupled, L2) weight decay, with PyTorch's torch.optim.SGD semantics:
 *   d = g + wd p;  b = d on the first step, else b = mu b + (1 - dampening) d;
 *   d = d + mu b (Nesterov) or d = b;  p = p - lr d. */
#include "optim_internal.h"

enum { LR, MOMENTUM, DAMPENING, NESTEROV, WEIGHT_DECAY, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-3, 0, HUGE_VAL, 0, "learning rate (the peak of the schedule)"},
    {"momentum", 0, 0, 1, 0, "momentum factor mu (0: plain SGD, no state)"},
    {"dampening", 0, 0, 1, 0, "dampening of the gradient in the momentum buffer"},
    {"nesterov", 0, 0, 1, APX_OPTIM_SET_BOOL, "Nesterov momentum (needs momentum > 0 and "
                                              "dampening = 0)"},
    {"weight_decay", 0, 0, HUGE_VAL, 0, "L2 penalty added to the gradient (coupled)"},
};

typedef struct {
    float lr, mu, damp1, wd; /* damp1 = 1 - dampening */
    int nesterov, first, buf;
} sgd_coef;

static apx_status sgd_check(const apx_optim_settings *s) {
    if (s->v[NESTEROV] != 0 && (s->v[MOMENTUM] <= 0 || s->v[DAMPENING] != 0))
        return apx__err(APX_EINVAL, "optim sgd: nesterov = 1 needs momentum > 0 and "
                        "dampening = 0, got momentum %g, dampening %g", s->v[MOMENTUM],
                        s->v[DAMPENING]);
    return APX_OK;
}

static apx_status sgd_init(apx_optim *o) {
    if (apx__set(o, MOMENTUM) == 0) return APX_OK; /* no state */
    return apx__optim_add_buf(o, "momentum_buffer", NULL);
}

// p, g (len): p = p - lr (g + wd p)
APX__EW_CLONES
static float sgd_plain(apx_optim *o, const void *cv, int64_t off, int64_t len, float ls,
                       float ws) {
    const sgd_coef *c = cv;
    float *restrict p = apx_params_data(o->p) + off;
    const float *restrict g = apx_params_grad(o->p) + off;
    float lr = c->lr * ls, wd = c->wd * ws, chk = 0;
#pragma omp simd reduction(+ : chk)
    for (int64_t i = 0; i < len; i++) {
        float gi = g[i];
        chk += gi - gi;
        p[i] -= lr * (gi + wd * p[i]);
    }
    return chk;
}

// p, g, b (len): b = mu b + (1-damp) d (or d on the first step), p -= lr (d + mu b | b)
APX__EW_CLONES
static float sgd_momentum(apx_optim *o, const void *cv, int64_t off, int64_t len, float ls,
                          float ws) {
    const sgd_coef *c = cv;
    float *restrict p = apx_params_data(o->p) + off;
    const float *restrict g = apx_params_grad(o->p) + off;
    float *restrict b = o->buf[c->buf] + off;
    float lr = c->lr * ls, wd = c->wd * ws, mu = c->mu, chk = 0;
    float keep = c->first ? 0.0f : mu, add = c->first ? 1.0f : c->damp1;
    float ca = c->nesterov ? 1.0f : 0.0f, cb = c->nesterov ? mu : 1.0f; /* u = ca d + cb b */
#pragma omp simd reduction(+ : chk)
    for (int64_t i = 0; i < len; i++) {
        float gi = g[i];
        chk += gi - gi;
        float d = gi + wd * p[i];
        float bi = keep * b[i] + add * d;
        b[i] = bi;
        p[i] -= lr * (ca * d + cb * bi);
    }
    return chk;
}

static apx_status sgd_step(apx_optim *o, double lr, const float *hess, float *chk) {
    sgd_coef c = {(float)lr, (float)apx__set(o, MOMENTUM),
                  (float)(1 - apx__set(o, DAMPENING)), (float)apx__set(o, WEIGHT_DECAY),
                  apx__set(o, NESTEROV) != 0, o->step == 0, 0};
    *chk = apx__optim_ew_run(o, c.mu == 0 ? sgd_plain : sgd_momentum, &c);
    return APX_OK;
}

const apx__optim_impl apx__optim_sgd = {
    {"sgd", "SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD)",
     APX_OPTIM_ELEMENTWISE, N_SET, settings},
    sgd_check, sgd_init, sgd_step, NULL, NULL};
