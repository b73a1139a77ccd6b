/* lion.c: Lion (Chen et al. 2023, P072), as google/automl's lion_pytorch.py:
 *   p = p (1 - lr wd);  c = b1 m + (1 - b1) g;  p = p - lr sign(c);
 *   m = b2 m + (1 - b2) g.
 * One state buffer; every coordinate moves by exactly lr (before decay) unless c = 0. */
#include "optim_internal.h"

enum { LR, BETA1, BETA2, WEIGHT_DECAY, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-4, 0, HUGE_VAL, 0, "learning rate (3-10x smaller than AdamW's)"},
    {"beta1", 0.9, 0, 1, 0, "interpolation of momentum and gradient for the sign"},
    {"beta2", 0.99, 0, 1, 0, "decay of the momentum"},
    {"weight_decay", 0, 0, HUGE_VAL, 0, "decoupled weight decay: p *= 1 - lr wd "
                                        "(3-10x larger than AdamW's)"},
};

typedef struct {
    float lr, wd, b1, b1c, b2, b2c;
} lion_coef;

static apx_status lion_init(apx_optim *o) { return apx__optim_add_buf(o, "exp_avg", NULL); }

// p, g, m (len): p = p (1 - lr wd) - lr sign(b1 m + (1-b1) g); m = b2 m + (1-b2) g
APX__EW_CLONES
static float lion_block(apx_optim *o, const void *cv, int64_t off, int64_t len, float ls,
                        float ws) {
    const lion_coef *c = cv;
    float *restrict p = apx_params_data(o->p) + off;
    const float *restrict g = apx_params_grad(o->p) + off;
    float *restrict m = o->buf[0] + off;
    float lr = c->lr * ls, decay = 1.0f - lr * c->wd * ws, chk = 0;
    float b1 = c->b1, b1c = c->b1c, b2 = c->b2, b2c = c->b2c;
#pragma omp simd reduction(+ : chk)
    for (int64_t i = 0; i < len; i++) {
        float gi = g[i], mi = m[i];
        chk += gi - gi;
        float u = b1 * mi + b1c * gi;
        float s = copysignf(u != 0.0f ? 1.0f : 0.0f, u); /* sign(u), 0 at 0 */
        p[i] = p[i] * decay - lr * s;
        m[i] = b2 * mi + b2c * gi;
    }
    return chk;
}

static apx_status lion_step(apx_optim *o, double lr, const float *hess, float *chk) {
    double b1 = apx__set(o, BETA1), b2 = apx__set(o, BETA2);
    lion_coef c = {(float)lr, (float)apx__set(o, WEIGHT_DECAY), (float)b1, (float)(1 - b1),
                   (float)b2, (float)(1 - b2)};
    *chk = apx__optim_ew_run(o, lion_block, &c);
    return APX_OK;
}

const apx__optim_impl apx__optim_lion = {
    {"lion", "Lion: sign of interpolated momentum, decoupled decay (P072)",
     APX_OPTIM_ELEMENTWISE, N_SET, settings},
    NULL, lion_init, lion_step, NULL, NULL};
