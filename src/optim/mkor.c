/* mkor.c: MKOR (Mozaffari et al., P098): Kronecker-factored preconditioning whose inverse
 * factors are updated by Sherman-Morrison rank-1 steps, then SGD with momentum.
 *
 * Per matrix group W (out, in) (ndim > 2 viewed as (shape[0], rest)) the optimizer keeps
 * Linv (out, out) and Rinv (in, in), both starting at the identity. The caller passes the
 * layer's statistics with apx_optim_set_layer_stats: g (out), the batch mean of the per-row
 * output gradient, and a (in), the batch mean of the input. On the steps t with
 * t % inv_freq == 0 that have statistics, each factor takes one EMA rank-1 update of the
 * factor it inverts, M' = gamma M + (1 - gamma) v v^T, applied to the inverse directly:
 *   Minv' = (Minv - (1 - gamma) u u^T / (gamma + (1 - gamma) v^T u)) / gamma,  u = Minv v
 * (O(d^2), no factorization); the reference code's safeguard follows: when an entry of
 * either factor exceeds reset_threshold in magnitude, the next refresh blends both towards
 * the identity instead, Minv = (1 - zeta) Minv + zeta I (zeta = stabilization).
 * The step: D = Linv G Rinv, rescaled to the norm of G (D |G|_F / |D|_F, the reference's
 * norm-based stabilization), then torch.optim.SGD's update on D: d = D + wd W,
 * B = d (first step) or mu B + d, W -= lr B. Groups with fewer than 2 dims take the same SGD
 * update on their plain gradient. The factors run in double. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

enum { LR, MOMENTUM, WEIGHT_DECAY, STAT_DECAY, INV_FREQ, STAB, RESET, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-2, 0, HUGE_VAL, 0, "learning rate (the peak of the schedule)"},
    {"momentum", 0.9, 0, 1, APX_OPTIM_SET_MAX_OPEN, "momentum of the SGD step on the "
                                                    "preconditioned gradient"},
    {"weight_decay", 0, 0, HUGE_VAL, 0, "L2 penalty added to the preconditioned gradient"},
    {"stat_decay", 0.95, 0, 1, APX_OPTIM_SET_MIN_OPEN | APX_OPTIM_SET_MAX_OPEN,
     "gamma: EMA decay of the factors (M = gamma M + (1 - gamma) v v^T)"},
    {"inv_freq", 10, 1, 1e9, APX_OPTIM_SET_INT, "steps between factor updates"},
    {"stabilization", 0.1, 0, 1, 0, "zeta: a reset blends the factors as (1-zeta) Minv + "
                                    "zeta I"},
    {"reset_threshold", 2, 0, HUGE_VAL, 0, "reset the factors when an entry exceeds this in "
                                           "magnitude (0: never)"},
};

typedef struct {
    int matrix, has_stats;
    int64_t m, n;      /* out, in */
    double *L, *R;     /* (m, m), (n, n) inverse factors */
    double *a, *g;     /* (n), (m) the statistics of the next refresh */
    double reset;      /* 1: blend towards I at the next refresh (a state array) */
} mk_group;

typedef struct {
    mk_group *g;
    double *G, *T, *u; /* scratch: (m n) twice, max(m, n) */
} mk_priv;

void apx__mkor_sm_update(double *Linv, int64_t n, const double *v, double gamma, double *u) {
    // u (n) = Linv (n,n) v (n)
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < n; j++) s += Linv[i * n + j] * v[j];
        u[i] = s;
    }
    double vu = 0;
    for (int64_t i = 0; i < n; i++) vu += v[i] * u[i];
    double c = (1 - gamma) / (gamma + (1 - gamma) * vu), ig = 1 / gamma;
    // Linv (n,n) = (Linv - c u u^T) / gamma
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            Linv[i * n + j] = (Linv[i * n + j] - c * u[i] * u[j]) * ig;
}

static void mk_destroy(apx_optim *o) {
    mk_priv *q = o->priv;
    if (!q) return;
    for (int64_t k = 0; q->g && k < o->ngroups; k++) {
        apx_free(q->g[k].L);
        apx_free(q->g[k].R);
        apx_free(q->g[k].a);
        apx_free(q->g[k].g);
    }
    free(q->g);
    apx_free(q->G);
    apx_free(q->T);
    apx_free(q->u);
    apx_free(q);
}

static void eye(double *M, int64_t n) {
    memset(M, 0, sizeof(double) * (size_t)(n * n));
    for (int64_t i = 0; i < n; i++) M[i * n + i] = 1;
}

static apx_status mk_group_init(apx_optim *o, mk_group *g, const apx_param_info *in) {
    g->matrix = in->ndim >= 2;
    if (!g->matrix) return APX_OK;
    g->m = in->shape[0];
    g->n = in->size / g->m;
    g->L = apx_malloc(sizeof(double) * (size_t)(g->m * g->m));
    g->R = apx_malloc(sizeof(double) * (size_t)(g->n * g->n));
    g->a = apx_malloc(sizeof(double) * (size_t)g->n);
    g->g = apx_malloc(sizeof(double) * (size_t)g->m);
    if (!g->L || !g->R || !g->a || !g->g)
        return apx__err(APX_ENOMEM, "optim_create: mkor factors of '%s' (%lld x %lld)",
                        in->name, (long long)g->m, (long long)g->n);
    eye(g->L, g->m);
    eye(g->R, g->n);
    char name[320];
    int64_t ls[2] = {g->m, g->m}, rs[2] = {g->n, g->n}, one = 1;
    snprintf(name, sizeof name, "linv.%s", in->name);
    APX__TRY(apx__optim_add_state(o, name, APX_DT_F64, 2, ls, g->L));
    snprintf(name, sizeof name, "rinv.%s", in->name);
    APX__TRY(apx__optim_add_state(o, name, APX_DT_F64, 2, rs, g->R));
    snprintf(name, sizeof name, "reset.%s", in->name);
    return apx__optim_add_state(o, name, APX_DT_F64, 1, &one, &g->reset);
}

static apx_status mk_init(apx_optim *o) {
    mk_priv *q = apx__alloc("optim_create", 1, sizeof *q);
    if (!q) return APX_ENOMEM;
    o->priv = q;
    q->g = apx__alloc("optim_create", (size_t)o->ngroups, sizeof *q->g);
    if (!q->g) return APX_ENOMEM;
    APX__TRY(apx__optim_add_buf(o, "momentum_buffer", NULL));
    int64_t el = 1, mx = 1;
    for (int64_t k = 0; k < o->ngroups; k++) {
        APX__TRY(mk_group_init(o, &q->g[k], &o->groups[k]));
        el = APX__MAX(el, o->groups[k].size);
        mx = APX__MAX(mx, APX__MAX(q->g[k].m, q->g[k].n));
    }
    q->G = apx_malloc(sizeof(double) * (size_t)el);
    q->T = apx_malloc(sizeof(double) * (size_t)el);
    q->u = apx_malloc(sizeof(double) * (size_t)mx);
    if (!q->G || !q->T || !q->u) return apx__err(APX_ENOMEM, "optim_create: mkor scratch");
    return APX_OK;
}

static apx_status mk_stats(apx_optim *o, int64_t k, const float *a, const float *g) {
    mk_group *x = &((mk_priv *)o->priv)->g[k];
    for (int64_t i = 0; i < x->n; i++) x->a[i] = a[i];
    for (int64_t i = 0; i < x->m; i++) x->g[i] = g[i];
    x->has_stats = 1;
    return APX_OK;
}

static double max_abs(const double *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static void blend_eye(double *M, int64_t n, double zeta) {
    for (int64_t i = 0; i < n * n; i++) M[i] *= 1 - zeta;
    for (int64_t i = 0; i < n; i++) M[i * n + i] += zeta;
}

/* The refresh of one group's factors from its statistics. */
static void refresh(const apx_optim *o, mk_priv *q, mk_group *g) {
    if (g->reset != 0) {
        double z = apx__set(o, STAB);
        blend_eye(g->L, g->m, z);
        blend_eye(g->R, g->n, z);
        g->reset = 0;
    } else {
        double gam = apx__set(o, STAT_DECAY);
        apx__mkor_sm_update(g->L, g->m, g->g, gam, q->u);
        apx__mkor_sm_update(g->R, g->n, g->a, gam, q->u);
    }
    double thr = apx__set(o, RESET);
    if (thr > 0 && (max_abs(g->L, g->m * g->m) > thr || max_abs(g->R, g->n * g->n) > thr))
        g->reset = 1;
    g->has_stats = 0;
}

// q->G (m,n) <- Linv (m,m) x G (m,n) x Rinv (n,n), rescaled to |G|_F
static void precondition(mk_priv *q, const mk_group *g, const float *gr) {
    int64_t m = g->m, n = g->n;
    double gn = 0, dn = 0;
    for (int64_t i = 0; i < m * n; i++) {
        q->T[i] = gr[i];
        gn += q->T[i] * q->T[i];
    }
    apx_dmat Tv = apx_dmat_view(q->T, m, n), Gv = apx_dmat_view(q->G, m, n);
    apx__dgemm(0, 0, 1.0, Tv, apx_dmat_view(g->R, n, n), 0.0, Gv); // (m,n) = (m,n) x (n,n)
    apx__dgemm(0, 0, 1.0, apx_dmat_view(g->L, m, m), Gv, 0.0, Tv); // (m,n) = (m,m) x (m,n)
    for (int64_t i = 0; i < m * n; i++) dn += q->T[i] * q->T[i];
    double s = dn > 0 && isfinite(dn) ? sqrt(gn / dn) : 0;
    for (int64_t i = 0; i < m * n; i++) q->G[i] = s > 0 ? s * q->T[i] : (double)gr[i];
}

static apx_status mk_step(apx_optim *o, double lr, const float *hess, float *chk) {
    (void)hess;
    mk_priv *q = o->priv;
    const float *grad = apx_params_grad(o->p);
    float *data = apx_params_data(o->p), *buf = o->buf[0];
    *chk = apx__optim_grad_chk(o);
    if (isnan(*chk)) return APX_OK; /* reported by the caller */
    double mu = apx__set(o, MOMENTUM), wd = apx__set(o, WEIGHT_DECAY);
    int refresh_step = o->step % (int64_t)apx__set(o, INV_FREQ) == 0;
    for (int64_t k = 0; k < o->ngroups; k++) {
        const apx_param_info *in = &o->groups[k];
        mk_group *g = &q->g[k];
        const float *gr = grad + in->offset;
        if (g->matrix) {
            if (refresh_step && g->has_stats) refresh(o, q, g);
            precondition(q, g, gr);
        } else {
            for (int64_t i = 0; i < in->size; i++) q->G[i] = gr[i];
        }
        float *w = data + in->offset, *b = buf + in->offset;
        double lrk = lr * o->lr_scale[k], wdk = wd * o->wd_scale[k];
        for (int64_t i = 0; i < in->size; i++) { // torch SGD on D: d = D + wd w
            double d = q->G[i] + wdk * w[i];
            double bi = o->step == 0 ? d : mu * b[i] + d;
            b[i] = (float)bi;
            w[i] = (float)(w[i] - lrk * bi);
        }
    }
    return APX_OK;
}

const apx__optim_impl apx__optim_mkor = {
    {"mkor", "MKOR: SGD-momentum on Kronecker-preconditioned gradients, inverse factors by "
             "Sherman-Morrison rank-1 updates from layer statistics (P098)",
     APX_OPTIM_MATRIX | APX_OPTIM_STATS, N_SET, settings},
    NULL, mk_init, mk_step, mk_destroy, mk_stats};
