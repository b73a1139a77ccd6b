/* adamw.c: Adam with decoupled weight decay (Loshchilov & Hutter), with PyTorch's
 * torch.optim.AdamW semantics, step t = 1, 2, ...:
 *   p = p (1 - lr wd);  m = m + (1 - b1)(g - m);  v = b2 v + (1 - b2) g^2;
 *   (amsgrad: vmax = max(vmax, v), used for v below)
 *   p = p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
#include "optim_internal.h"

enum { LR, BETA1, BETA2, EPS, WEIGHT_DECAY, AMSGRAD, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-3, 0, HUGE_VAL, 0, "learning rate (the peak of the schedule)"},
    {"beta1", 0.9, 0, 1, APX_OPTIM_SET_MAX_OPEN, "decay of the first-moment average"},
    {"beta2", 0.999, 0, 1, APX_OPTIM_SET_MAX_OPEN, "decay of the second-moment average"},
    {"eps", 1e-8, 0, HUGE_VAL, 0, "added to the root of the second moment"},
    {"weight_decay", 1e-2, 0, HUGE_VAL, 0, "decoupled weight decay: p *= 1 - lr wd"},
    {"amsgrad", 0, 0, 1, APX_OPTIM_SET_BOOL, "use the running maximum of the second moment"},
};

typedef struct {
    float lr, wd, b1c, b2, b2c, step_size, inv_bc2s, eps; /* b1c = 1 - b1, b2c = 1 - b2 */
    int m, v, vmax;                                         /* buffer indices; vmax -1 */
} adamw_coef;

static apx_status adamw_init(apx_optim *o) {
    int m, v, vmax;
    APX__TRY(apx__optim_add_buf(o, "exp_avg", &m));
    APX__TRY(apx__optim_add_buf(o, "exp_avg_sq", &v));
    if (apx__set(o, AMSGRAD) != 0) APX__TRY(apx__optim_add_buf(o, "max_exp_avg_sq", &vmax));
    return APX_OK;
}

// p, g, m, v[, vmax] (len): the AdamW update of one block in one vectorized pass
APX__EW_CLONES
static float adamw_block(apx_optim *o, const void *cv, int64_t off, int64_t len, float ls,
                         float ws) {
    const adamw_coef *c = cv;
    float *restrict p = apx_params_data(o->p) + off;
    const float *restrict g = apx_params_grad(o->p) + off;
    float *restrict m = o->buf[c->m] + off, *restrict v = o->buf[c->v] + off;
    float b1c = c->b1c, b2 = c->b2, b2c = c->b2c, chk = 0;
    float decay = 1.0f - c->lr * ls * c->wd * ws, ss = c->step_size * ls;
    float ibc = c->inv_bc2s, eps = c->eps;
    if (c->vmax >= 0) {
        float *restrict vmax = o->buf[c->vmax] + off;
#pragma omp simd reduction(+ : chk)
        for (int64_t i = 0; i < len; i++) {
            float gi = g[i];
            chk += gi - gi;
            float mi = m[i] + b1c * (gi - m[i]);
            float vi = b2 * v[i] + b2c * gi * gi;
            float vm = vmax[i] > vi ? vmax[i] : vi;
            m[i] = mi;
            v[i] = vi;
            vmax[i] = vm;
            p[i] = p[i] * decay - ss * mi / (apx__sqrtf_nr(vm) * ibc + eps);
        }
        return chk;
    }
#pragma omp simd reduction(+ : chk)
    for (int64_t i = 0; i < len; i++) {
        float gi = g[i];
        chk += gi - gi;
        float mi = m[i] + b1c * (gi - m[i]);
        float vi = b2 * v[i] + b2c * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - ss * mi / (apx__sqrtf_nr(vi) * ibc + eps);
    }
    return chk;
}

static apx_status adamw_step(apx_optim *o, double lr, const float *hess, float *chk) {
    double t = (double)(o->step + 1), b1 = apx__set(o, BETA1), b2 = apx__set(o, BETA2);
    double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    adamw_coef c = {(float)lr, (float)apx__set(o, WEIGHT_DECAY), (float)(1 - b1), (float)b2,
                    (float)(1 - b2), (float)(lr / bc1), (float)(1 / sqrt(bc2)),
                    (float)apx__set(o, EPS), 0, 1, apx__set(o, AMSGRAD) != 0 ? 2 : -1};
    *chk = apx__optim_ew_run(o, adamw_block, &c);
    return APX_OK;
}

const apx__optim_impl apx__optim_adamw = {
    {"adamw", "Adam with decoupled weight decay (torch.optim.AdamW)", APX_OPTIM_ELEMENTWISE,
     N_SET, settings},
    NULL, adamw_init, adamw_step, NULL, NULL};
