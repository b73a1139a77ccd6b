/* gradnormlorp.c: GradNormLoRP (P031): weight normalization plus GaLore's low-rank gradient
 * projection, with Adam states in the projected space (optionally 8-bit block-quantized).
 *
 * Each matrix group W (m, n) (out, in; ndim > 2 viewed as (shape[0], rest)) is
 * reparameterized per output unit (row i): W_i = g_i V_i / |V_i| (the rows of PyTorch's
 * (out, in) layout are the columns of the paper's (in, out) notation). At creation
 * V = W and g_i = |W_i|, so W is unchanged (exact). The state keeps g (m) and the row norms
 * s = |V_i| (m), not V: V_i = s_i W_i / g_i is recovered from W exactly (rows with g_i = 0
 * stay zero), so the reparameterization costs O(m) memory. With G = dL/dW (m, n) and
 * vhat_i = V_i / s_i = W_i / g_i, the exact chain rule gives
 *   dL/dg_i = <G_i, vhat_i>,   dL/dV_i = (g_i / s_i) (G_i - vhat_i dL/dg_i).
 * dL/dV is projected as in GaLore (apx__galore_refresh every update_proj_gap steps,
 * R = P^T dV or dV P^T), Adam runs on R (moments of R's shape) and on dL/dg (moments (m)),
 * step = lr sqrt(1 - b2^t) / (1 - b1^t):
 *   V = V - step alpha back(N_R),   g = g - step N_g,   then the decoupled decay
 *   g = g - lr wd g (W is linear in g), s_i = |V_i| and W_i = g_i V_i / s_i written back.
 * Groups with fewer than 2 dims take AdamW on their plain gradient. With quant8 = 1 the
 * projected moments are kept as 8-bit codes with one float scale per block of `block`
 * values (apx__q8_encode): m signed, sqrt(v) unsigned, both square-root companded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

enum { LR, BETA1, BETA2, EPS, WEIGHT_DECAY, RANK, GAP, ALPHA, QUANT8, BLOCK, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-3, 0, HUGE_VAL, 0, "learning rate (the peak of the schedule)"},
    {"beta1", 0.9, 0, 1, APX_OPTIM_SET_MAX_OPEN, "decay of the first moment"},
    {"beta2", 0.999, 0, 1, APX_OPTIM_SET_MAX_OPEN, "decay of the second moment"},
    {"eps", 1e-6, 0, HUGE_VAL, 0, "added to sqrt(v)"},
    {"weight_decay", 0, 0, HUGE_VAL, 0, "decoupled decay of the magnitudes g (and vectors)"},
    {"rank", 8, 1, 1 << 20, APX_OPTIM_SET_INT, "rank r of the direction-gradient projection"},
    {"update_proj_gap", 200, 1, 1e9, APX_OPTIM_SET_INT, "steps between projector refreshes"},
    {"alpha", 1, 0, HUGE_VAL, 0, "scale of the projected-back direction update"},
    {"quant8", 0, 0, 1, APX_OPTIM_SET_BOOL, "keep the projected Adam moments in 8 bits"},
    {"block", 256, 8, 1 << 20, APX_OPTIM_SET_INT, "values per quantization block"},
};

/* ---------------------------------------------------------------- 8-bit blocks */

static int64_t nblocks(int64_t n, int64_t block) { return (n + block - 1) / block; }

void apx__q8_encode(const float *x, int64_t n, int64_t block, int sign, uint8_t *codes,
                    float *scales) {
    for (int64_t b = 0; b < nblocks(n, block); b++) {
        int64_t lo = b * block, hi = APX__MIN(n, lo + block);
        float amax = 0;
        for (int64_t i = lo; i < hi; i++) amax = fmaxf(amax, fabsf(x[i]));
        scales[b] = amax;
        for (int64_t i = lo; i < hi; i++) {
            if (amax == 0 || x[i] == 0) {
                codes[i] = sign ? 128 : 0;
                continue;
            }
            double u = sqrt(fabs((double)x[i]) / amax) * (sign ? 127 : 255);
            double q = fmax(1, floor(u + 0.5)); /* a nonzero value keeps a nonzero code */
            codes[i] = (uint8_t)(sign ? (x[i] < 0 ? 128 - q : 128 + q) : q);
        }
    }
}

void apx__q8_decode(const uint8_t *codes, const float *scales, int64_t n, int64_t block,
                    int sign, float *x) {
    for (int64_t i = 0; i < n; i++) {
        double amax = scales[i / block];
        double q = sign ? (double)codes[i] - 128 : (double)codes[i], top = sign ? 127 : 255;
        double u = fabs(q) / top;
        x[i] = (float)(copysign(amax * u * u, q));
    }
}

/* ---------------------------------------------------------------- state */

typedef struct {
    int matrix;
    apx__galore_proj pj;
    int64_t sz;          /* moments of R (or of the whole group when not a matrix)  */
    float *ma, *va;      /* float moments (sz), or the decoded scratch with quant8   */
    uint8_t *mq, *vq;    /* quant8: codes (sz)                                        */
    float *ms, *vs;      /* quant8: block scales                                      */
    float *gm, *gma, *gva; /* magnitudes g (m) and their Adam moments                 */
    float *sn;           /* row norms s = |V_i| (m)                                   */
} gn_group;

typedef struct {
    gn_group *g;
    double *V, *D, *R, *N, *B, *T, *S; /* scratch (doubles)                         */
} gn_priv;

static void gn_destroy(apx_optim *o) {
    gn_priv *q = o->priv;
    if (!q) return;
    for (int64_t k = 0; q->g && k < o->ngroups; k++) {
        gn_group *g = &q->g[k];
        void *all[] = {g->pj.P, g->ma, g->va, g->mq, g->vq, g->ms, g->vs, g->gm, g->gma,
                       g->gva, g->sn};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) apx_free(all[i]);
    }
    free(q->g);
    double *s[] = {q->V, q->D, q->R, q->N, q->B, q->T, q->S};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) apx_free(s[i]);
    apx_free(q);
}

static apx_status reg(apx_optim *o, const char *what, const char *group, int ndim,
                      const int64_t *shape, void *data, apx_dtype dt) {
    char name[320];
    snprintf(name, sizeof name, "%s.%s", what, group);
    return apx__optim_add_state(o, name, dt, ndim, shape, data);
}

/* The moments of one group: float, or 8-bit codes plus scales (and float scratch). */
static apx_status gn_moments(apx_optim *o, gn_group *g, const char *name, int nd,
                             const int64_t *sh) {
    size_t sz = (size_t)g->sz;
    g->ma = apx_calloc(sz, sizeof(float));
    g->va = apx_calloc(sz, sizeof(float));
    if (!g->ma || !g->va) return apx__err(APX_ENOMEM, "optim_create: moments of '%s'", name);
    if (!(g->matrix && apx__set(o, QUANT8) != 0)) {
        APX__TRY(reg(o, "exp_avg", name, nd, sh, g->ma, APX_DT_F32));
        return reg(o, "exp_avg_sq", name, nd, sh, g->va, APX_DT_F32);
    }
    int64_t nb = nblocks(g->sz, (int64_t)apx__set(o, BLOCK));
    g->mq = apx_malloc(sz);
    g->vq = apx_calloc(sz, 1);
    g->ms = apx_calloc((size_t)nb, sizeof(float));
    g->vs = apx_calloc((size_t)nb, sizeof(float));
    if (!g->mq || !g->vq || !g->ms || !g->vs)
        return apx__err(APX_ENOMEM, "optim_create: 8-bit moments of '%s'", name);
    memset(g->mq, 128, sz);
    APX__TRY(reg(o, "exp_avg_q8", name, nd, sh, g->mq, APX_DT_U8));
    APX__TRY(reg(o, "exp_avg_sq_q8", name, nd, sh, g->vq, APX_DT_U8));
    APX__TRY(reg(o, "exp_avg_scale", name, 1, &nb, g->ms, APX_DT_F32));
    return reg(o, "exp_avg_sq_scale", name, 1, &nb, g->vs, APX_DT_F32);
}

/* g_i = s_i = |W_i| for each row of the matrix w (m, n). */
static void init_magnitudes(gn_group *g, const float *w) {
    for (int64_t i = 0; i < g->pj.m; i++) {
        double s = 0;
        for (int64_t j = 0; j < g->pj.n; j++) s += (double)w[i * g->pj.n + j] * w[i * g->pj.n + j];
        g->gm[i] = g->sn[i] = (float)sqrt(s);
    }
}

static apx_status gn_matrix_init(apx_optim *o, gn_group *g, const apx_param_info *in) {
    int64_t m = in->shape[0], n = in->size / m, r = (int64_t)apx__set(o, RANK);
    g->pj = (apx__galore_proj){m < n, m, n, APX__MIN(r, APX__MIN(m, n)), NULL};
    r = g->pj.r;
    g->pj.P = apx_calloc((size_t)(m + n) * (size_t)r, sizeof(float));
    g->gm = apx_malloc((size_t)m * sizeof(float));
    g->sn = apx_malloc((size_t)m * sizeof(float));
    g->gma = apx_calloc((size_t)m, sizeof(float));
    g->gva = apx_calloc((size_t)m, sizeof(float));
    if (!g->pj.P || !g->gm || !g->sn || !g->gma || !g->gva)
        return apx__err(APX_ENOMEM, "optim_create: gradnormlorp state of '%s'", in->name);
    init_magnitudes(g, apx_params_data(o->p) + in->offset);
    int64_t ps[2] = {g->pj.left ? m : r, g->pj.left ? r : n};
    int64_t rs[2] = {g->pj.left ? r : m, g->pj.left ? n : r};
    g->sz = rs[0] * rs[1];
    APX__TRY(reg(o, "proj", in->name, 2, ps, g->pj.P, APX_DT_F32));
    APX__TRY(reg(o, "magnitude", in->name, 1, &m, g->gm, APX_DT_F32));
    APX__TRY(reg(o, "direction_norm", in->name, 1, &m, g->sn, APX_DT_F32));
    APX__TRY(reg(o, "magnitude_exp_avg", in->name, 1, &m, g->gma, APX_DT_F32));
    APX__TRY(reg(o, "magnitude_exp_avg_sq", in->name, 1, &m, g->gva, APX_DT_F32));
    return gn_moments(o, g, in->name, 2, rs);
}

static apx_status gn_init(apx_optim *o) {
    gn_priv *q = apx__alloc("optim_create", 1, sizeof *q);
    if (!q) return APX_ENOMEM;
    o->priv = q;
    q->g = apx__alloc("optim_create", (size_t)o->ngroups, sizeof *q->g);
    if (!q->g) return APX_ENOMEM;
    int64_t el = 1, sc = 1, pd = 1, mm = 1;
    for (int64_t k = 0; k < o->ngroups; k++) {
        const apx_param_info *in = &o->groups[k];
        gn_group *g = &q->g[k];
        g->matrix = in->ndim >= 2;
        if (g->matrix) {
            APX__TRY(gn_matrix_init(o, g, in));
            sc = APX__MAX(sc, apx__galore_scratch(g->pj.m, g->pj.n));
            pd = APX__MAX(pd, (g->pj.m + g->pj.n) * g->pj.r);
            mm = APX__MAX(mm, g->pj.m);
        } else {
            g->sz = in->size;
            APX__TRY(gn_moments(o, g, in->name, in->ndim, in->shape));
        }
        el = APX__MAX(el, in->size);
    }
    size_t e = (size_t)el;
    q->V = apx_malloc(e * sizeof(double));
    q->D = apx_malloc(e * sizeof(double));
    q->R = apx_malloc(e * sizeof(double));
    q->N = apx_malloc(e * sizeof(double));
    q->B = apx_malloc((size_t)APX__MAX(el, sc) * sizeof(double));
    q->T = apx_malloc((size_t)pd * sizeof(double));
    q->S = apx_malloc((size_t)(2 * mm) * sizeof(double));
    if (!q->V || !q->D || !q->R || !q->N || !q->B || !q->T || !q->S)
        return apx__err(APX_ENOMEM, "optim_create: gradnormlorp scratch");
    return APX_OK;
}

/* ---------------------------------------------------------------- step */

/* Adam on X (sz) with float moments (galore.c's; the settings share its indices). */
static void adam(const apx_optim *o, float *ma, float *va, const double *X, int64_t sz,
                 double *N) {
    apx__adam_moments(o, ma, va, X, sz, N);
}

/* Adam on the group's moments, through the 8-bit codes when quantized. */
static void group_adam(const apx_optim *o, gn_group *g, const double *X, double *N) {
    int64_t bl = (int64_t)apx__set(o, BLOCK);
    if (!g->mq) {
        adam(o, g->ma, g->va, X, g->sz, N);
        return;
    }
    apx__q8_decode(g->mq, g->ms, g->sz, bl, 1, g->ma);
    apx__q8_decode(g->vq, g->vs, g->sz, bl, 0, g->va); /* the codes hold sqrt(v) */
    for (int64_t i = 0; i < g->sz; i++) g->va[i] *= g->va[i];
    adam(o, g->ma, g->va, X, g->sz, N);
    for (int64_t i = 0; i < g->sz; i++) g->va[i] = sqrtf(g->va[i]);
    apx__q8_encode(g->ma, g->sz, bl, 1, g->mq, g->ms);
    apx__q8_encode(g->va, g->sz, bl, 0, g->vq, g->vs);
}

void apx__wn_grads(const double *V, const double *s, const double *g, const double *G,
                   int64_t m, int64_t n, double *dV, double *dg) {
    for (int64_t i = 0; i < m; i++) { // row i: vhat = V_i / s_i
        double d = 0;
        if (s[i] == 0) { /* a zero row: no direction */
            for (int64_t j = 0; j < n; j++) dV[i * n + j] = 0;
            dg[i] = 0;
            continue;
        }
        for (int64_t j = 0; j < n; j++) d += G[i * n + j] * V[i * n + j] / s[i];
        for (int64_t j = 0; j < n; j++)
            dV[i * n + j] = g[i] / s[i] * (G[i * n + j] - V[i * n + j] / s[i] * d);
        dg[i] = d;
    }
}

// V (m,n) = s W / g rebuilt from W; D (m,n) = dL/dV; dL/dg (m) into q->R[0..m)
static void chain_rule(gn_priv *q, const gn_group *g, const float *w, const float *gr) {
    int64_t m = g->pj.m, n = g->pj.n;
    double *gd = q->S, *sd = q->S + m;
    for (int64_t i = 0; i < m; i++) {
        gd[i] = g->gm[i];
        sd[i] = g->gm[i] == 0 ? 0 : g->sn[i]; /* g = 0: the direction is lost */
        for (int64_t j = 0; j < n; j++)
            q->V[i * n + j] = sd[i] == 0 ? 0 : sd[i] * (double)w[i * n + j] / gd[i];
    }
    for (int64_t i = 0; i < m * n; i++) q->B[i] = gr[i];
    apx__wn_grads(q->V, sd, gd, q->B, m, n, q->D, q->R);
}

// W (m,n): one GradNormLoRP step of a matrix group
static apx_status gn_matrix(apx_optim *o, gn_priv *q, gn_group *g, float *w, const float *gr,
                            double step, double decay) {
    int64_t m = g->pj.m, n = g->pj.n, r = g->pj.r;
    int left = g->pj.left;
    chain_rule(q, g, w, gr);
    adam(o, g->gma, g->gva, q->R, m, q->N); /* q->R holds dL/dg (m) here */
    for (int64_t i = 0; i < m; i++) g->gm[i] = (float)((g->gm[i] - step * q->N[i]) * decay);
    if (o->step % (int64_t)apx__set(o, GAP) == 0) APX__TRY(apx__galore_refresh(&g->pj, q->D, q->B));
    apx_dmat P = apx__galore_pview(&g->pj, q->T), Dv = apx_dmat_view(q->D, m, n);
    apx_dmat Rv = apx_dmat_view(q->R, left ? r : m, left ? n : r);
    if (left) apx__dgemm(1, 0, 1.0, P, Dv, 0.0, Rv);     // (r,n) = (m,r)^T x (m,n)
    else apx__dgemm(0, 1, 1.0, Dv, P, 0.0, Rv);          // (m,r) = (m,n) x (r,n)^T
    group_adam(o, g, q->R, q->N);
    apx_dmat Nv = apx_dmat_view(q->N, left ? r : m, left ? n : r);
    apx_dmat Vv = apx_dmat_view(q->V, m, n);
    double a = -step * apx__set(o, ALPHA);
    if (left) apx__dgemm(0, 0, a, P, Nv, 1.0, Vv);       // (m,n) -= s a (m,r) x (r,n)
    else apx__dgemm(0, 0, a, Nv, P, 1.0, Vv);            // (m,n) -= s a (m,r) x (r,n)
    for (int64_t i = 0; i < m; i++) { // s_i = |V_i|, W_i = g_i V_i / s_i
        double s = 0;
        for (int64_t j = 0; j < n; j++) s += q->V[i * n + j] * q->V[i * n + j];
        s = sqrt(s);
        g->sn[i] = (float)s;
        for (int64_t j = 0; j < n; j++)
            w[i * n + j] = s > 0 ? (float)(g->gm[i] * q->V[i * n + j] / s) : 0.0f;
    }
    return APX_OK;
}

// W (group k): one GradNormLoRP step (AdamW for vectors), decay factor 1 - d
static apx_status gn_group_step(apx_optim *o, int64_t k, float *w, const float *gr,
                                double step, double d) {
    gn_priv *q = o->priv;
    gn_group *g = &q->g[k];
    int64_t size = o->groups[k].size;
    if (g->matrix) return gn_matrix(o, q, g, w, gr, step, 1 - d);
    for (int64_t i = 0; i < size; i++) q->D[i] = gr[i];
    adam(o, g->ma, g->va, q->D, size, q->N);
    for (int64_t i = 0; i < size; i++) w[i] = (float)((w[i] - step * q->N[i]) * (1 - d));
    return APX_OK;
}

static apx_status gn_step(apx_optim *o, double lr, const float *hess, float *chk) {
    (void)hess;
    return apx__adam_group_loop(o, lr, chk, gn_group_step);
}

const apx__optim_impl apx__optim_gradnormlorp = {
    {"gradnormlorp", "GradNormLoRP: weight normalization W = g V/|V| (per output row), "
                     "GaLore projection of V's gradient, Adam in the projected space, "
                     "optional 8-bit states (P031)",
     APX_OPTIM_MATRIX, N_SET, settings},
    NULL, gn_init, gn_step, gn_destroy, NULL};
