/* galore.c: GaLore low-rank gradient projection with Adam (P031's projection) and Fira
 * (P024: GaLore plus the norm-scaled full-rank residual and the norm-growth limiter), as the
 * authors' galore_adamw.py / fira_adamw.py (proj_type "std").
 *
 * Per matrix group G (m, n), r = min(rank, m, n), every update_proj_gap steps (from step 0)
 * the projector P is refreshed from the SVD of G: P = U[:, :r] (m, r) when m < n ("left"),
 * else P = V^T[:r, :] (r, n) ("right"). Then
 *   R = P^T G (r, n) or G P^T (m, r);  Adam on R (its state has R's shape):
 *   m = b1 m + (1 - b1) R;  v = b2 v + (1 - b2) R^2;  N = m / (sqrt(v) + eps);
 *   step = lr sqrt(1 - b2^t) / (1 - b1^t);  back(X) = alpha P X or alpha X P;
 *   GaLore: W = W - step back(N);
 *   Fira:   S = (G - back(R)) . phi, phi = |N|/(|R| + 1e-8) per column (left) or per row
 *           (right) of the smaller side's norms; limiter: if |S| > 1.01 |S_prev| then
 *           S *= 1.01 |S_prev| / |S| (|S_prev| the previous limited norm);
 *           W = W - step (back(N) + S);
 * and then the decoupled decay W = W - lr wd W. Groups with ndim < 2 take the same Adam on
 * the full gradient (no projection). The projector is kept in float as the reference keeps
 * it; the SVD runs in double (LAPACK). Each singular vector's sign is fixed (its largest
 * entry positive): the reference takes LAPACK's arbitrary signs, which the Adam moments
 * carried across a refresh depend on; fixed signs make a run the same on any LAPACK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apx/la.h"
#include "optim_internal.h"

enum { LR, BETA1, BETA2, EPS, WEIGHT_DECAY, RANK, GAP, ALPHA, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-3, 0, HUGE_VAL, 0, "learning rate (the peak of the schedule)"},
    {"beta1", 0.9, 0, 1, APX_OPTIM_SET_MAX_OPEN, "decay of the first moment (projected)"},
    {"beta2", 0.999, 0, 1, APX_OPTIM_SET_MAX_OPEN, "decay of the second moment (projected)"},
    {"eps", 1e-6, 0, HUGE_VAL, 0, "added to sqrt(v)"},
    {"weight_decay", 0, 0, HUGE_VAL, 0, "decoupled decay after the step: W -= lr wd W"},
    {"rank", 8, 1, 1 << 20, APX_OPTIM_SET_INT, "rank r of the gradient projection"},
    {"update_proj_gap", 200, 1, 1e9, APX_OPTIM_SET_INT, "steps between projector refreshes "
                                                        "(SVD of the gradient)"},
    {"alpha", 0.25, 0, HUGE_VAL, 0, "scale of the projected-back update"},
};

typedef struct {
    int matrix;         /* projected                                            */
    apx__galore_proj pj;
    float *ma, *va;     /* Adam moments of R (or of G for non-matrix groups)    */
    double snorm;       /* Fira: the previous limited |S| (0: none yet)         */
} gl_group;

typedef struct {
    int fira;
    gl_group *g;          /* ngroups                                            */
    double *G, *R, *N, *B, *T; /* scratch (doubles)                             */
} gl_priv;

static void gl_destroy(apx_optim *o) {
    gl_priv *q = o->priv;
    if (!q) return;
    for (int64_t k = 0; q->g && k < o->ngroups; k++) {
        apx_free(q->g[k].pj.P);
        apx_free(q->g[k].ma);
        apx_free(q->g[k].va);
    }
    free(q->g);
    apx_free(q->G); apx_free(q->R); apx_free(q->N); apx_free(q->B); apx_free(q->T);
    apx_free(q);
}

/* Register a float state array named "<what>.<group>" of the given shape. */
static apx_status reg(apx_optim *o, const char *what, const char *group, int ndim,
                      const int64_t *shape, void *data, apx_dtype dt) {
    char name[320];
    snprintf(name, sizeof name, "%s.%s", what, group);
    return apx__optim_add_state(o, name, dt, ndim, shape, data);
}

static apx_status gl_group_init(apx_optim *o, gl_priv *q, int64_t k, int64_t rank) {
    const apx_param_info *in = &o->groups[k];
    gl_group *g = &q->g[k];
    g->matrix = in->ndim >= 2;
    int64_t rs[2], sz = in->size;
    if (g->matrix) {
        g->pj.m = in->shape[0];
        g->pj.n = in->size / g->pj.m;
        g->pj.r = APX__MIN(rank, APX__MIN(g->pj.m, g->pj.n));
        g->pj.left = g->pj.m < g->pj.n;
        rs[0] = g->pj.left ? g->pj.r : g->pj.m; /* R's shape */
        rs[1] = g->pj.left ? g->pj.n : g->pj.r;
        sz = rs[0] * rs[1];
        int64_t ps[2] = {g->pj.left ? g->pj.m : g->pj.r, g->pj.left ? g->pj.r : g->pj.n};
        g->pj.P = apx_calloc((size_t)(g->pj.m + g->pj.n) * (size_t)g->pj.r, sizeof(float));
        if (!g->pj.P) return apx__err(APX_ENOMEM, "optim_create: projector of '%s'", in->name);
        APX__TRY(reg(o, "proj", in->name, 2, ps, g->pj.P, APX_DT_F32));
    }
    g->ma = apx_calloc((size_t)sz, sizeof(float));
    g->va = apx_calloc((size_t)sz, sizeof(float));
    if (!g->ma || !g->va) return apx__err(APX_ENOMEM, "optim_create: moments of '%s'", in->name);
    int nd = g->matrix ? 2 : in->ndim;
    const int64_t *sh = g->matrix ? rs : in->shape;
    APX__TRY(reg(o, "exp_avg", in->name, nd, sh, g->ma, APX_DT_F32));
    APX__TRY(reg(o, "exp_avg_sq", in->name, nd, sh, g->va, APX_DT_F32));
    if (q->fira && g->matrix) {
        int64_t one = 1;
        APX__TRY(reg(o, "scaling_norm", in->name, 1, &one, &g->snorm, APX_DT_F64));
    }
    return APX_OK;
}

static apx_status gl_init(apx_optim *o) {
    gl_priv *q = apx__alloc("optim_create", 1, sizeof *q);
    if (!q) return APX_ENOMEM;
    o->priv = q;
    q->fira = !strcmp(o->impl->kind.name, "fira");
    q->g = apx__alloc("optim_create", (size_t)o->ngroups, sizeof *q->g);
    if (!q->g) return APX_ENOMEM;
    int64_t maxel = 1, maxmn = 1, maxsc = 1;
    for (int64_t k = 0; k < o->ngroups; k++) {
        APX__TRY(gl_group_init(o, q, k, (int64_t)apx__set(o, RANK)));
        maxel = APX__MAX(maxel, o->groups[k].size);
        if (q->g[k].matrix) {
            maxmn = APX__MAX(maxmn, APX__MAX(q->g[k].pj.m, q->g[k].pj.n));
            maxsc = APX__MAX(maxsc, apx__galore_scratch(q->g[k].pj.m, q->g[k].pj.n));
        }
    }
    size_t el = (size_t)maxel;
    q->G = apx_malloc(el * sizeof(double));
    q->R = apx_malloc(el * sizeof(double));
    q->N = apx_malloc(el * sizeof(double));
    q->B = apx_malloc((size_t)APX__MAX(maxel, maxsc) * sizeof(double));
    q->T = apx_malloc((el + (size_t)(maxmn * maxmn)) * sizeof(double));
    if (!q->G || !q->R || !q->N || !q->B || !q->T)
        return apx__err(APX_ENOMEM, "optim_create: %s scratch", o->impl->kind.name);
    return APX_OK;
}

/* P from the SVD of G (m, n): U[:, :r] or V^T[:r, :]; scratch: apx__galore_scratch
 * doubles. */
int64_t apx__galore_scratch(int64_t m, int64_t n) {
    int64_t k = APX__MIN(m, n);
    return m * n + k * (m + n) + k;
}

apx_status apx__galore_refresh(apx__galore_proj *pj, const double *G, double *scratch) {
    int64_t m = pj->m, n = pj->n, k = APX__MIN(m, n);
    double *B = scratch, *U = B + m * n, *Vt = U + m * k, *sv = Vt + k * n;
    memcpy(B, G, sizeof(double) * (size_t)(m * n)); /* the SVD overwrites its input */
    apx_dmat Um = apx_dmat_view(U, m, k), Vm = apx_dmat_view(Vt, k, n);
    APX__TRY(apx_la_svd(apx_dmat_view(B, m, n), sv, &Um, &Vm));
    int64_t len = pj->left ? m : n;
    for (int64_t j = 0; j < pj->r; j++) { /* vector j: U[:, j] or Vt[j, :] */
        double big = 0, sign = 1;
        for (int64_t i = 0; i < len; i++) {
            double x = pj->left ? U[i * k + j] : Vt[j * n + i];
            if (fabs(x) > big) { big = fabs(x); sign = x < 0 ? -1 : 1; }
        }
        for (int64_t i = 0; i < len; i++) {
            double x = sign * (pj->left ? U[i * k + j] : Vt[j * n + i]);
            if (pj->left) pj->P[i * pj->r + j] = (float)x;
            else pj->P[j * n + i] = (float)x;
        }
    }
    return APX_OK;
}

static apx_status refresh(gl_priv *q, gl_group *g) { return apx__galore_refresh(&g->pj, q->G, q->B); }

/* Pd <- P in double; returns its view. */
apx_dmat apx__galore_pview(const apx__galore_proj *pj, double *Pd) {
    int64_t pr = pj->left ? pj->m : pj->r, pc = pj->left ? pj->r : pj->n;
    for (int64_t i = 0; i < pr * pc; i++) Pd[i] = pj->P[i];
    return apx_dmat_view(Pd, pr, pc);
}

static apx_dmat pview(gl_priv *q, const gl_group *g) { return apx__galore_pview(&g->pj, q->T); }

void apx__adam_moments(const apx_optim *o, float *ma, float *va, const double *X, int64_t sz,
                       double *N) {
    float b1 = (float)apx__set(o, BETA1), b2 = (float)apx__set(o, BETA2);
    float eps = (float)apx__set(o, EPS);
    for (int64_t i = 0; i < sz; i++) {
        float x = (float)X[i];
        ma[i] = b1 * ma[i] + (1 - b1) * x;
        va[i] = b2 * va[i] + (1 - b2) * x * x;
        N[i] = (double)ma[i] / ((double)sqrtf(va[i]) + eps);
    }
}

static void adam_moments(const apx_optim *o, gl_group *g, const double *X, int64_t sz,
                         double *N) {
    apx__adam_moments(o, g->ma, g->va, X, sz, N);
}

float apx__optim_grad_chk(const apx_optim *o) {
    const float *grad = apx_params_grad(o->p);
    float c = 0;
    for (int64_t i = 0; i < o->n; i++) c += grad[i] - grad[i];
    return c;
}

/* Fira's residual S = (G - back(R)) . phi into q->B (m, n), then the limiter. */
static void fira_residual(gl_priv *q, gl_group *g, apx_dmat P, double alpha) {
    int64_t m = g->pj.m, n = g->pj.n, r = g->pj.r;
    apx_dmat Rv = apx_dmat_view(q->R, g->pj.left ? r : m, g->pj.left ? n : r);
    apx_dmat Bv = apx_dmat_view(q->B, m, n);
    if (g->pj.left) apx__dgemm(0, 0, alpha, P, Rv, 0.0, Bv);   // (m,n) = (m,r) x (r,n)
    else apx__dgemm(0, 0, alpha, Rv, P, 0.0, Bv);           // (m,n) = (m,r) x (r,n)
    int64_t L = g->pj.left ? n : m;                            // one factor per column / row
    for (int64_t a = 0; a < L; a++) {
        double nn = 0, nr = 0;
        for (int64_t b = 0; b < r; b++) {
            double x = g->pj.left ? q->N[b * n + a] : q->N[a * r + b];
            double y = g->pj.left ? q->R[b * n + a] : q->R[a * r + b];
            nn += x * x;
            nr += y * y;
        }
        double phi = sqrt(nn) / (sqrt(nr) + 1e-8);
        for (int64_t b = 0; b < (g->pj.left ? m : n); b++) {
            int64_t idx = g->pj.left ? b * n + a : a * n + b;
            q->B[idx] = (q->G[idx] - q->B[idx]) * phi;
        }
    }
    double s = 0;
    for (int64_t i = 0; i < m * n; i++) s += q->B[i] * q->B[i];
    s = sqrt(s);
    if (g->snorm > 0) {
        double lim = fmax(s / (g->snorm + 1e-8), 1.01) / 1.01;
        for (int64_t i = 0; i < m * n; i++) q->B[i] /= lim;
        g->snorm = s / lim;
    } else {
        g->snorm = s;
    }
}

// W (m, n): the GaLore / Fira step of one matrix group
static apx_status gl_matrix(apx_optim *o, gl_priv *q, gl_group *g, float *w, const float *gr,
                            double step) {
    int64_t m = g->pj.m, n = g->pj.n, r = g->pj.r;
    for (int64_t i = 0; i < m * n; i++) q->G[i] = gr[i];
    if (o->step % (int64_t)apx__set(o, GAP) == 0) APX__TRY(refresh(q, g));
    apx_dmat P = pview(q, g), Gv = apx_dmat_view(q->G, m, n);
    apx_dmat Rv = apx_dmat_view(q->R, g->pj.left ? r : m, g->pj.left ? n : r);
    if (g->pj.left) apx__dgemm(1, 0, 1.0, P, Gv, 0.0, Rv);     // (r,n) = (m,r)^T x (m,n)
    else apx__dgemm(0, 1, 1.0, Gv, P, 0.0, Rv);             // (m,r) = (m,n) x (r,n)^T
    adam_moments(o, g, q->R, r * (g->pj.left ? n : m), q->N);
    double alpha = apx__set(o, ALPHA);
    if (q->fira) fira_residual(q, g, P, alpha);
    else memset(q->B, 0, sizeof(double) * (size_t)(m * n));
    apx_dmat Nv = apx_dmat_view(q->N, g->pj.left ? r : m, g->pj.left ? n : r);
    apx_dmat Bv = apx_dmat_view(q->B, m, n);
    if (g->pj.left) apx__dgemm(0, 0, alpha, P, Nv, 1.0, Bv);  // (m,n) += a (m,r) x (r,n)
    else apx__dgemm(0, 0, alpha, Nv, P, 1.0, Bv);          // (m,n) += a (m,r) x (r,n)
    for (int64_t i = 0; i < m * n; i++) w[i] = (float)(w[i] - step * q->B[i]);
    return APX_OK;
}

apx_status apx__adam_group_loop(apx_optim *o, double lr, float *chk, apx__adam_group_fn fn) {
    double t = (double)(o->step + 1), b1 = apx__set(o, BETA1), b2 = apx__set(o, BETA2);
    double wd = apx__set(o, WEIGHT_DECAY);
    *chk = apx__optim_grad_chk(o);
    if (isnan(*chk)) return APX_OK; /* reported by the caller; no SVD of NaN */
    for (int64_t k = 0; k < o->ngroups; k++) {
        const apx_param_info *in = &o->groups[k];
        double lrk = lr * o->lr_scale[k], step = lrk * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t));
        APX__TRY(fn(o, k, apx_params_data(o->p) + in->offset,
                    apx_params_grad(o->p) + in->offset, step, lrk * wd * o->wd_scale[k]));
    }
    return APX_OK;
}

// W (group k): the GaLore / Fira step, then the decoupled decay W -= d W
static apx_status gl_group_step(apx_optim *o, int64_t k, float *w, const float *gr,
                                double step, double d) {
    gl_priv *q = o->priv;
    gl_group *g = &q->g[k];
    int64_t size = o->groups[k].size;
    if (g->matrix) {
        APX__TRY(gl_matrix(o, q, g, w, gr, step));
    } else {
        for (int64_t i = 0; i < size; i++) q->G[i] = gr[i];
        adam_moments(o, g, q->G, size, q->N);
        for (int64_t i = 0; i < size; i++) w[i] = (float)(w[i] - step * q->N[i]);
    }
    if (d != 0)
        for (int64_t i = 0; i < size; i++) w[i] = (float)(w[i] - d * w[i]);
    return APX_OK;
}

static apx_status gl_step(apx_optim *o, double lr, const float *hess, float *chk) {
    (void)hess;
    return apx__adam_group_loop(o, lr, chk, gl_group_step);
}

const apx__optim_impl apx__optim_galore = {
    {"galore", "GaLore: Adam on a rank-r projection of each matrix gradient, refreshed "
               "by SVD (P031's projection)",
     APX_OPTIM_MATRIX, N_SET, settings},
    NULL, gl_init, gl_step, gl_destroy, NULL};

const apx__optim_impl apx__optim_fira = {
    {"fira", "Fira: GaLore plus the norm-scaled full-rank residual and a norm-growth "
             "limiter (P024)",
     APX_OPTIM_MATRIX, N_SET, settings},
    NULL, gl_init, gl_step, gl_destroy, NULL};
