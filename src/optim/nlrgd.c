/* nlrgd.c: Normalized LR+GD (P081): gradient descent on the logistic loss with the step
 * divided by the loss value, w = w - lr grad f(w) / f(w) (the loss comes from
 * apx_optim_set_loss before each step). normalize = 0 gives plain LR+GD, w = w - lr grad.
 * With a large rate LR+GD follows the batch perceptron; the normalized step keeps its
 * effective rate growing as the loss vanishes on separable data. */
#include "optim_internal.h"

enum { LR, NORMALIZE, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1, 0, HUGE_VAL, 0, "step size gamma"},
    {"normalize", 1, 0, 1, APX_OPTIM_SET_BOOL, "divide the step by the loss (Normalized "
                                               "LR+GD); 0: plain LR+GD"},
};

typedef struct {
    float step;
} nlr_coef;

static apx_status nlr_init(apx_optim *o) { return APX_OK; }

// p, g (len): p -= step g
APX__EW_CLONES
static float nlr_block(apx_optim *o, const void *cv, int64_t off, int64_t len, float ls,
                       float ws) {
    const nlr_coef *c = cv;
    float *restrict p = apx_params_data(o->p) + off;
    const float *restrict g = apx_params_grad(o->p) + off;
    float step = c->step * ls, chk = 0;
#pragma omp simd reduction(+ : chk)
    for (int64_t i = 0; i < len; i++) {
        float gi = g[i];
        chk += gi - gi;
        p[i] -= step * gi;
    }
    return chk;
}

static apx_status nlr_step(apx_optim *o, double lr, const float *hess, float *chk) {
    double step = lr;
    if (apx__set(o, NORMALIZE) != 0) {
        if (!o->has_loss)
            return apx__err(APX_EINVAL, "optim nlr-gd: no loss value: call "
                            "apx_optim_set_loss before each step");
        if (!(o->loss > 0))
            return apx__err(APX_EINVAL, "optim nlr-gd: loss %g must be > 0 to normalize by",
                            o->loss);
        step = lr / o->loss;
    }
    nlr_coef c = {(float)step};
    *chk = apx__optim_ew_run(o, nlr_block, &c);
    o->has_loss = 0; /* one loss per step */
    return APX_OK;
}

const apx__optim_impl apx__optim_nlrgd = {
    {"nlr-gd", "Normalized LR+GD: gradient step divided by the loss value (P081)",
     APX_OPTIM_ELEMENTWISE | APX_OPTIM_LOSS, N_SET, settings},
    NULL, nlr_init, nlr_step, NULL, NULL};
