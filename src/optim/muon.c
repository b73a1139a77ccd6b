/* muon.c: Muon (momentum orthogonalized by Newton-Schulz), with torch.optim.Muon's
 * semantics, and LANTON's noise-adaptive layerwise learning rates (P010) as an option.
 *
 * Per matrix group W (m, n) (a group of ndim >= 2 is viewed as (shape[0], size/shape[0])),
 * step t:
 *   B = mu B + (1 - mu) G;  U = (1 - mu) G + mu B (nesterov) or B;
 *   O = NS_k(U): X = U / max(|U|_F, eps) (transposed when m > n), then k times
 *       A = X X^T;  X = a X + (b A + c A A) X   (quintic, (a, b, c) = (3.4445, -4.7750, 2.0315));
 *   W = W (1 - lr wd) - lr_adj O,  lr_adj = lr * adjust(m, n):
 *       0 "original" sqrt(max(1, m/n)), 1 "match_rms_adamw" 0.2 sqrt(max(m, n)),
 *       2 "spectral_unclamped" sqrt(m/n), 3 none.
 * torch runs NS in bfloat16; here it runs in double (dgemm), so the result is the exact
 * value of the iteration.
 *
 * LANTON (lanton = 1): per group a noise level H = b2 H + (1 - b2) |G - B_prev|_*^2 (the
 * nuclear norm, dual of the spectral norm whose LMO Muon's update is, of the gradient's
 * deviation from the momentum before this step; |.|_* by an SVD), and lr_l = lr *
 * sqrt(min_j H_j + eps) / sqrt(H_l + eps): the least noisy matrix takes the base rate and
 * noisier ones proportionally less. The catalog gives the structure (eta_l ∝ eta /
 * sqrt(H_l + eps), normalized within the group) but not the paper's exact normalization;
 * this one keeps every rate <= the base rate.
 *
 * Groups with ndim < 2: an error at creation (APX_EINVAL naming the group), unless
 * adamw_others = 1: they then take AdamW steps (betas 0.9, 0.95, eps 1e-8, the same decay)
 * with lr * adamw_lr_ratio. */
#include <stdio.h>
#include <string.h>

#include "apx/la.h"
#include "optim_internal.h"

enum { LR, WEIGHT_DECAY, MOMENTUM, NESTEROV, NS_STEPS, NS_A, NS_B, NS_C, EPS, ADJUST_LR,
       LANTON, LANTON_BETA2, LANTON_EPS, LANTON_NORM, ADAMW_OTHERS, ADAMW_LR_RATIO, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-3, 0, HUGE_VAL, 0, "learning rate (the peak of the schedule)"},
    {"weight_decay", 0.1, 0, HUGE_VAL, 0, "decoupled weight decay: W *= 1 - lr wd"},
    {"momentum", 0.95, 0, 1, APX_OPTIM_SET_MAX_OPEN, "momentum mu"},
    {"nesterov", 1, 0, 1, APX_OPTIM_SET_BOOL, "Nesterov momentum"},
    {"ns_steps", 5, 0, 99, APX_OPTIM_SET_INT, "Newton-Schulz iterations"},
    {"ns_a", 3.4445, -HUGE_VAL, HUGE_VAL, 0, "quintic coefficient a (of X)"},
    {"ns_b", -4.7750, -HUGE_VAL, HUGE_VAL, 0, "quintic coefficient b (of X X^T X)"},
    {"ns_c", 2.0315, -HUGE_VAL, HUGE_VAL, 0, "quintic coefficient c (of (X X^T)^2 X)"},
    {"eps", 1e-7, 0, HUGE_VAL, 0, "floor of the Frobenius norm in the normalization"},
    {"adjust_lr", 0, 0, 3, APX_OPTIM_SET_INT, "0 sqrt(max(1,m/n)), 1 0.2 sqrt(max(m,n)) "
                                              "(match AdamW RMS), 2 sqrt(m/n), 3 none"},
    {"lanton", 0, 0, 1, APX_OPTIM_SET_BOOL, "noise-adaptive layerwise rates (LANTON, P010)"},
    {"lanton_beta2", 0.95, 0, 1, APX_OPTIM_SET_MAX_OPEN, "decay of LANTON's noise estimate"},
    {"lanton_eps", 1e-8, 0, HUGE_VAL, APX_OPTIM_SET_MIN_OPEN, "added to the noise estimate"},
    {"lanton_norm", 0, 0, 2, APX_OPTIM_SET_INT, "LANTON rates: 0 the least noisy matrix takes lr, "
                                                "1 the noisiest does, 2 their mean is lr"},
    {"adamw_others", 0, 0, 1, APX_OPTIM_SET_BOOL, "AdamW for groups with ndim < 2 (else they "
                                                  "are an error)"},
    {"adamw_lr_ratio", 1, 0, HUGE_VAL, 0, "AdamW's lr = lr * this ratio"},
};

typedef struct {
    int64_t maxel, maxr; /* largest group size and smaller side                         */
    double *X, *T, *A, *A2; /* scratch: X, T (maxel), A, A2 (maxr^2)                    */
    double *sv;             /* singular values (maxr), LANTON                            */
    double *noise;          /* (ngroups) LANTON's H per group                            */
} muon_priv;

static void muon_destroy(apx_optim *o) {
    muon_priv *m = o->priv;
    if (!m) return;
    apx_free(m->X);
    apx_free(m->T);
    apx_free(m->A);
    apx_free(m->A2);
    apx_free(m->sv);
    apx_free(m->noise);
    apx_free(m);
}

static int is_matrix(const apx_param_info *in) { return in->ndim >= 2; }

static apx_status muon_init(apx_optim *o) {
    int others = apx__set(o, ADAMW_OTHERS) != 0;
    muon_priv *m = apx__alloc("optim_create", 1, sizeof *m);
    if (!m) return APX_ENOMEM;
    o->priv = m;
    for (int64_t k = 0; k < o->ngroups; k++) {
        const apx_param_info *in = &o->groups[k];
        if (!is_matrix(in) && !others)
            return apx__err(APX_EINVAL, "optim muon: parameter '%s' has %d dim(s) (shape "
                            "(%lld%s)); Muon needs matrices (ndim >= 2), or set "
                            "adamw_others=1", in->name, in->ndim, (long long)in->shape[0],
                            in->ndim > 1 ? ", ..." : "");
        if (!is_matrix(in)) continue;
        int64_t rows = in->shape[0], cols = in->size / rows;
        m->maxel = APX__MAX(m->maxel, in->size);
        m->maxr = APX__MAX(m->maxr, APX__MIN(rows, cols));
    }
    APX__TRY(apx__optim_add_buf(o, "momentum_buffer", NULL));
    if (others) { /* AdamW's second moment; its first moment is the momentum buffer */
        APX__TRY(apx__optim_add_buf(o, "exp_avg_sq", NULL));
    }
    size_t el = (size_t)APX__MAX(m->maxel, 1), r2 = (size_t)APX__MAX(m->maxr * m->maxr, 1);
    m->X = apx_malloc(el * sizeof(double));
    m->T = apx_malloc(el * sizeof(double));
    m->A = apx_malloc(r2 * sizeof(double));
    m->A2 = apx_malloc(r2 * sizeof(double));
    m->sv = apx_malloc((size_t)APX__MAX(m->maxr, 1) * sizeof(double));
    m->noise = apx_calloc((size_t)o->ngroups, sizeof(double));
    if (!m->X || !m->T || !m->A || !m->A2 || !m->sv || !m->noise)
        return apx__err(APX_ENOMEM, "optim_create: muon scratch (%lld doubles)",
                        (long long)el);
    if (apx__set(o, LANTON) != 0)
        APX__TRY(apx__optim_add_state(o, "lanton_noise", APX_DT_F64, 1, &o->ngroups,
                                      m->noise));
    return APX_OK;
}

/* ---------------------------------------------------------------- Newton-Schulz */

// X (r, c), r <= c, in place: k quintic steps X = a X + (b A + c A^2) X, A = X X^T (r, r).
static void ns_iterate(double *X, int64_t r, int64_t c, int k, double a, double b, double cc,
                       double *T, double *A, double *A2) {
    apx_dmat Xv = apx_dmat_view(X, r, c), Tv = apx_dmat_view(T, r, c);
    apx_dmat Av = apx_dmat_view(A, r, r), A2v = apx_dmat_view(A2, r, r);
    for (int it = 0; it < k; it++) {
        apx__dgemm(0, 1, 1.0, Xv, Xv, 0.0, Av);      // (r,r) = (r,c) x (c,r)
        for (int64_t i = 0; i < r * r; i++) A2[i] = b * A[i];
        apx__dgemm(0, 0, cc, Av, Av, 1.0, A2v);      // (r,r) += c (r,r) x (r,r)
        memcpy(T, X, sizeof(double) * (size_t)(r * c));
        apx__dgemm(0, 0, 1.0, A2v, Tv, a, Xv);       // (r,c) = a X + (r,r) x (r,c)
    }
}

/* O = NS(U) for U (rows, cols) given in X (row-major); returns O in X (same layout). */
static void newton_schulz(const apx_optim *o, muon_priv *m, int64_t rows, int64_t cols) {
    int64_t n = rows * cols;
    double nrm = 0;
    for (int64_t i = 0; i < n; i++) nrm += m->X[i] * m->X[i];
    nrm = fmax(sqrt(nrm), apx__set(o, EPS));
    int tr = rows > cols;
    double *src = m->X, *dst = tr ? m->T : m->X;
    for (int64_t i = 0; i < rows; i++) /* normalize (and transpose when tall) */
        for (int64_t j = 0; j < cols; j++)
            dst[tr ? j * rows + i : i * cols + j] = src[i * cols + j] / nrm;
    if (tr) memcpy(m->X, m->T, sizeof(double) * (size_t)n);
    int64_t r = tr ? cols : rows, c = tr ? rows : cols;
    ns_iterate(m->X, r, c, (int)apx__set(o, NS_STEPS), apx__set(o, NS_A), apx__set(o, NS_B),
               apx__set(o, NS_C), m->T, m->A, m->A2);
    if (tr) { /* back to (rows, cols) */
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < c; j++) m->T[j * r + i] = m->X[i * c + j];
        memcpy(m->X, m->T, sizeof(double) * (size_t)n);
    }
}

static double adjust(int mode, double rows, double cols) {
    static const int ORIGINAL = 0, MATCH_RMS = 1, SPECTRAL = 2;
    if (mode == ORIGINAL) return sqrt(fmax(1.0, rows / cols));
    if (mode == MATCH_RMS) return 0.2 * sqrt(fmax(rows, cols));
    if (mode == SPECTRAL) return sqrt(rows / cols);
    return 1.0;
}

/* ---------------------------------------------------------------- steps */

/* LANTON: H_k = b2 H_k + (1 - b2) |G - B_prev|_*^2 for matrix group k (before B moves). */
static apx_status lanton_update(apx_optim *o, muon_priv *m, int64_t k, const float *g,
                                const float *b) {
    const apx_param_info *in = &o->groups[k];
    int64_t rows = in->shape[0], cols = in->size / rows;
    for (int64_t i = 0; i < in->size; i++) m->X[i] = (double)g[i] - b[i];
    APX__TRY(apx_la_svd(apx_dmat_view(m->X, rows, cols), m->sv, NULL, NULL));
    double nuc = 0;
    for (int64_t i = 0; i < APX__MIN(rows, cols); i++) nuc += m->sv[i];
    double b2 = apx__set(o, LANTON_BETA2);
    m->noise[k] = b2 * m->noise[k] + (1 - b2) * nuc * nuc;
    return APX_OK;
}

/* The LANTON multiplier of group k: r_k / R with r = 1 / sqrt(H + eps) and R the largest
 * r (lanton_norm 0), the smallest (1) or the mean (2) over the matrix groups. */
static double lanton_scale(const apx_optim *o, const muon_priv *m, int64_t k) {
    double eps = apx__set(o, LANTON_EPS), rmax = 0, rmin = HUGE_VAL, rsum = 0;
    int64_t nm = 0;
    for (int64_t j = 0; j < o->ngroups; j++)
        if (is_matrix(&o->groups[j])) {
            double r = 1 / sqrt(m->noise[j] + eps);
            rmax = fmax(rmax, r);
            rmin = fmin(rmin, r);
            rsum += r;
            nm++;
        }
    int mode = (int)apx__set(o, LANTON_NORM);
    double R = mode == 0 ? rmax : mode == 1 ? rmin : rsum / (double)nm;
    return 1 / sqrt(m->noise[k] + eps) / R;
}

// W, G, B (rows, cols): B = mu B + (1-mu) G; U = lerp(G, B, mu) | B; W = W(1 - lr wd) - lr_adj NS(U)
static float muon_matrix(apx_optim *o, muon_priv *m, int64_t k, double lr) {
    const apx_param_info *in = &o->groups[k];
    int64_t rows = in->shape[0], cols = in->size / rows, n = in->size;
    float *w = apx_params_data(o->p) + in->offset, *b = o->buf[0] + in->offset;
    const float *g = apx_params_grad(o->p) + in->offset;
    float mu = (float)apx__set(o, MOMENTUM), chk = 0;
    int nes = apx__set(o, NESTEROV) != 0;
    for (int64_t i = 0; i < n; i++) {
        chk += g[i] - g[i];
        b[i] += (1.0f - mu) * (g[i] - b[i]);
        m->X[i] = nes ? (double)g[i] + (double)mu * ((double)b[i] - g[i]) : (double)b[i];
    }
    newton_schulz(o, m, rows, cols);
    double lrk = lr * o->lr_scale[k];
    double decay = 1 - lrk * apx__set(o, WEIGHT_DECAY) * o->wd_scale[k];
    double step = lrk * adjust((int)apx__set(o, ADJUST_LR), (double)rows, (double)cols);
    if (apx__set(o, LANTON) != 0) step *= lanton_scale(o, m, k);
    for (int64_t i = 0; i < n; i++) w[i] = (float)(w[i] * decay - step * m->X[i]);
    return chk;
}

// p, g, m, v (n): AdamW (0.9, 0.95, 1e-8) for a non-matrix group under adamw_others
static float muon_adamw(apx_optim *o, int64_t k, double lr) {
    const apx_param_info *in = &o->groups[k];
    float *p = apx_params_data(o->p) + in->offset, *mm = o->buf[0] + in->offset;
    float *v = o->buf[1] + in->offset;
    const float *g = apx_params_grad(o->p) + in->offset;
    double t = (double)(o->step + 1), lrk = lr * apx__set(o, ADAMW_LR_RATIO) * o->lr_scale[k];
    double ss = lrk / (1 - pow(0.9, t)), ibc = 1 / sqrt(1 - pow(0.95, t));
    float decay = (float)(1 - lrk * apx__set(o, WEIGHT_DECAY) * o->wd_scale[k]), chk = 0;
    for (int64_t i = 0; i < in->size; i++) {
        chk += g[i] - g[i];
        mm[i] += 0.1f * (g[i] - mm[i]);
        v[i] = 0.95f * v[i] + 0.05f * g[i] * g[i];
        p[i] = p[i] * decay - (float)ss * mm[i] / (sqrtf(v[i]) * (float)ibc + 1e-8f);
    }
    return chk;
}

static apx_status muon_step(apx_optim *o, double lr, const float *hess, float *chk) {
    muon_priv *m = o->priv;
    *chk = 0;
    if (apx__set(o, LANTON) != 0) /* every noise estimate first: the rates compare them */
        for (int64_t k = 0; k < o->ngroups; k++)
            if (is_matrix(&o->groups[k]))
                APX__TRY(lanton_update(o, m, k, apx_params_grad(o->p) + o->groups[k].offset,
                                       o->buf[0] + o->groups[k].offset));
    for (int64_t k = 0; k < o->ngroups; k++)
        *chk += is_matrix(&o->groups[k]) ? muon_matrix(o, m, k, lr) : muon_adamw(o, k, lr);
    return APX_OK;
}

const apx__optim_impl apx__optim_muon = {
    {"muon", "Muon: momentum orthogonalized by Newton-Schulz (torch.optim.Muon); LANTON "
             "layerwise rates (P010)",
     APX_OPTIM_MATRIX, N_SET, settings},
    NULL, muon_init, muon_step, muon_destroy, NULL};

/* ---------------------------------------------------------------- exposed for tests */

apx_status apx__muon_newton_schulz(const double *U, int64_t rows, int64_t cols, int steps,
                                   double *O) {
    apx_optim_settings s;
    APX__TRY(apx_optim_settings_init("muon", &s));
    s.v[NS_STEPS] = steps;
    apx_optim o;
    memset(&o, 0, sizeof o);
    o.set = s;
    muon_priv m;
    memset(&m, 0, sizeof m);
    int64_t r = APX__MIN(rows, cols), n = rows * cols;
    m.X = O;
    m.T = apx_malloc(sizeof(double) * (size_t)n);
    m.A = apx_malloc(sizeof(double) * (size_t)(r * r));
    m.A2 = apx_malloc(sizeof(double) * (size_t)(r * r));
    apx_status st = (m.T && m.A && m.A2) ? APX_OK : apx__err(APX_ENOMEM, "muon ns");
    if (st == APX_OK) {
        memcpy(O, U, sizeof(double) * (size_t)n);
        newton_schulz(&o, &m, rows, cols);
    }
    apx_free(m.T);
    apx_free(m.A);
    apx_free(m.A2);
    return st;
}
