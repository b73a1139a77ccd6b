/* adagrad.c: AdaGrad (Duchi et al.) with torch.optim.Adagrad semantics, and AdaGrad-Norm
 * (one adaptive scalar step size, Ward et al.; the base method of AdAdaGrad, P061).
 *
 * AdaGrad, step t = 1, 2, ...:  d = g + wd p;  s = s + d^2;
 *   p = p - lr / (1 + (t-1) lr_decay) d / (sqrt(s) + eps),  s starting at
 *   initial_accumulator_value.
 * AdaGrad-Norm:  d = g + wd p;  B^2 = B^2 + |d|^2;  p = p - lr d / (sqrt(B^2) + eps), with
 *   B^2 starting at initial_accumulator_value (> 0), one B for the whole table or one per
 *   group (per_group = 1). */
#include "optim_internal.h"

enum { LR, LR_DECAY, WEIGHT_DECAY, INIT_ACC, EPS, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-2, 0, HUGE_VAL, 0, "learning rate (the peak of the schedule)"},
    {"lr_decay", 0, 0, HUGE_VAL, 0, "lr / (1 + (t - 1) lr_decay) at step t"},
    {"weight_decay", 0, 0, HUGE_VAL, 0, "L2 penalty added to the gradient (coupled)"},
    {"initial_accumulator_value", 0, 0, HUGE_VAL, 0, "starting value of the sum of squares"},
    {"eps", 1e-10, 0, HUGE_VAL, 0, "added to the root of the sum"},
};

typedef struct {
    float lr, wd, eps;
} adagrad_coef;

static apx_status adagrad_init(apx_optim *o) {
    APX__TRY(apx__optim_add_buf(o, "sum", NULL));
    float v = (float)apx__set(o, INIT_ACC);
    for (int64_t i = 0; i < o->n; i++) o->buf[0][i] = v;
    return APX_OK;
}

// p, g, s (len): d = g + wd p; s += d^2; p -= lr d / (sqrt(s) + eps)
APX__EW_CLONES
static float adagrad_block(apx_optim *o, const void *cv, int64_t off, int64_t len, float ls,
                           float ws) {
    const adagrad_coef *c = cv;
    float *restrict p = apx_params_data(o->p) + off;
    const float *restrict g = apx_params_grad(o->p) + off;
    float *restrict s = o->buf[0] + off;
    float lr = c->lr * ls, wd = c->wd * ws, eps = c->eps, chk = 0;
#pragma omp simd reduction(+ : chk)
    for (int64_t i = 0; i < len; i++) {
        float gi = g[i];
        chk += gi - gi;
        float d = gi + wd * p[i];
        float si = s[i] + d * d;
        s[i] = si;
        p[i] -= lr * d / (apx__sqrtf_nr(si) + eps);
    }
    return chk;
}

static apx_status adagrad_step(apx_optim *o, double lr, const float *hess, float *chk) {
    double clr = lr / (1 + (double)o->step * apx__set(o, LR_DECAY));
    adagrad_coef c = {(float)clr, (float)apx__set(o, WEIGHT_DECAY), (float)apx__set(o, EPS)};
    *chk = apx__optim_ew_run(o, adagrad_block, &c);
    return APX_OK;
}

const apx__optim_impl apx__optim_adagrad = {
    {"adagrad", "AdaGrad: per-coordinate sum of squared gradients (torch.optim.Adagrad)",
     APX_OPTIM_ELEMENTWISE, N_SET, settings},
    NULL, adagrad_init, adagrad_step, NULL, NULL};

/* ---------------------------------------------------------------- AdaGrad-Norm */

enum { N_LR, N_WEIGHT_DECAY, N_INIT_ACC, N_EPS, N_PER_GROUP, N_NSET };

#define NORM_SETTINGS                                                                        \
    {"lr", 1e-1, 0, HUGE_VAL, 0, "learning rate eta (the peak of the schedule)"},              \
    {"weight_decay", 0, 0, HUGE_VAL, 0, "L2 penalty added to the gradient (coupled)"},         \
    {"initial_accumulator_value", 1e-2, 0, HUGE_VAL, APX_OPTIM_SET_MIN_OPEN,                  \
     "starting value b0^2 of the sum of squared norms"},                                      \
    {"eps", 1e-10, 0, HUGE_VAL, 0, "added to the root of the sum"},                          \
    {"per_group", 0, 0, 1, APX_OPTIM_SET_BOOL, "one step size per parameter group instead of " \
                                               "one for the whole table"}

static const apx_optim_setting norm_settings[N_NSET] = {NORM_SETTINGS};

/* AdAdaGrad (P061): AdaGrad-Norm whose training loop grows the batch (apx/train.h). */
enum { A_ETA = N_NSET, A_MAX_ACCUM, A_NSET };
static const apx_optim_setting adad_settings[A_NSET] = {
    NORM_SETTINGS,
    {"eta", 0.1, 0, 1, APX_OPTIM_SET_MIN_OPEN | APX_OPTIM_SET_MAX_OPEN,
     "norm test: the batch grows when Var / b > eta^2 |g|^2"},
    {"max_accum", 64, 2, 1 << 20, APX_OPTIM_SET_INT, "largest number of micro-batches per "
                                                     "step the loop grows to"},
};

static apx_status norm_init(apx_optim *o) {
    int64_t nacc = apx__set(o, N_PER_GROUP) != 0 ? o->ngroups : 1;
    double *acc = apx_malloc(sizeof(double) * (size_t)nacc);
    if (!acc) return apx__err(APX_ENOMEM, "optim_create: adagrad-norm accumulators");
    o->priv = acc;
    for (int64_t i = 0; i < nacc; i++) acc[i] = apx__set(o, N_INIT_ACC);
    return apx__optim_add_state(o, "sum", APX_DT_F64, 1, &nacc, acc);
}

// |g + wd p|^2 over (n) in double, in 64 fixed chunks (the same on any thread count)
static double sumsq_decayed(const float *g, const float *p, float wd, int64_t n) {
    double part[64];
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int c = 0; c < 64; c++) {
        int64_t lo = n * c / 64, hi = n * (c + 1) / 64;
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = lo; i < hi; i++) {
            double d = (double)g[i] + (double)wd * p[i];
            s += d * d;
        }
        part[c] = s;
    }
    double s = 0;
    for (int c = 0; c < 64; c++) s += part[c];
    return s;
}

// p (n) -= step (g + wd p)
static float norm_update(float *restrict p, const float *restrict g, int64_t n, float step,
                         float wd) {
    float chk = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : chk) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        chk += gi - gi;
        p[i] -= step * (gi + wd * p[i]);
    }
    return chk;
}

static apx_status norm_step(apx_optim *o, double lr, const float *hess, float *chk) {
    double *acc = o->priv, eps = apx__set(o, N_EPS), wd = apx__set(o, N_WEIGHT_DECAY);
    float *p = apx_params_data(o->p);
    const float *g = apx_params_grad(o->p);
    int per_group = apx__set(o, N_PER_GROUP) != 0;
    if (!per_group) {
        double s = 0;
        for (int64_t k = 0; k < o->ngroups; k++) {
            const apx_param_info *in = &o->groups[k];
            s += sumsq_decayed(g + in->offset, p + in->offset,
                               (float)(wd * o->wd_scale[k]), in->size);
        }
        acc[0] += s;
    }
    *chk = 0;
    for (int64_t k = 0; k < o->ngroups; k++) {
        const apx_param_info *in = &o->groups[k];
        float wdk = (float)(wd * o->wd_scale[k]);
        if (per_group) acc[k] += sumsq_decayed(g + in->offset, p + in->offset, wdk, in->size);
        double b = sqrt(acc[per_group ? k : 0]) + eps;
        *chk += norm_update(p + in->offset, g + in->offset, in->size,
                            (float)(lr * o->lr_scale[k] / b), wdk);
    }
    return APX_OK;
}

const apx__optim_impl apx__optim_adagrad_norm = {
    {"adagrad-norm", "AdaGrad-Norm: one adaptive step size from the sum of squared "
                     "gradient norms (P061)",
     0, N_NSET, norm_settings},
    NULL, norm_init, norm_step, NULL, NULL};

const apx__optim_impl apx__optim_adadagrad = {
    {"adadagrad", "AdAdaGrad: AdaGrad-Norm steps with the batch grown by the norm test in the "
                  "training loop (P061; apx train)",
     APX_OPTIM_BATCH, A_NSET, adad_settings},
    NULL, norm_init, norm_step, NULL, NULL};
