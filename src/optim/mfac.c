/* mfac.c: M-FAC (Frantar et al., P048): inverse-Hessian-vector products with the empirical
 * Fisher of a window of gradients, F = lambda I + (1/m) sum_i g_i g_i^T, without forming F.
 *
 * With the k <= m stored gradients as the rows of G (k, d) and their Gram matrix
 * K = G G^T (k, k), Woodbury gives
 *   F^-1 x = (x - G^T (m lambda I + K)^-1 G x) / lambda,
 *   diag(F^-1)_j = (1 - |L^-1 G[:, j]|^2) / lambda,  L L^T = m lambda I + K (Cholesky).
 * Adding a gradient updates one row and column of K (O(d k)); the factorization is O(k^3)
 * and an IHVP O(d k + k^2). The static use (push m gradients, then query) and the sliding
 * window (keep pushing: the oldest is replaced) are the same object. The kind "mfac" is
 * SGD preconditioned by it over the whole table: push g + wd p, step along F^-1 (g + wd p),
 * optionally with momentum. It stores m full gradients in double: for small models. */
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

struct apx_mfac {
    int64_t d, m, count, pos; /* count rows in use; pos the next row to (over)write */
    double lambda;
    double *G, *K, *L;        /* (m, d), (m, m), (m, m)                              */
    double *u, *z;            /* (m) scratch                                         */
    int dirty;                /* L must be recomputed                                */
};

apx_status apx_mfac_create(int64_t d, int64_t m, double lambda, apx_mfac **out) {
    if (!out) return apx__err(APX_EINVAL, "mfac_create: out is NULL");
    *out = NULL;
    if (d < 1 || m < 1 || m > 65536)
        return apx__err(APX_EINVAL, "mfac_create: d = %lld must be >= 1 and m = %lld in "
                        "[1, 65536]", (long long)d, (long long)m);
    if (!(lambda > 0 && lambda < HUGE_VAL))
        return apx__err(APX_EINVAL, "mfac_create: lambda = %g must be finite and > 0", lambda);
    if ((double)d * (double)m > 1e10)
        return apx__err(APX_EINVAL, "mfac_create: d m = %g doubles is too large", (double)d * m);
    apx_mfac *f = apx__alloc("mfac_create", 1, sizeof *f);
    if (!f) return APX_ENOMEM;
    f->d = d; f->m = m; f->lambda = lambda; f->dirty = 1;
    f->G = apx_calloc((size_t)(d * m), sizeof(double));
    f->K = apx_calloc((size_t)(m * m), sizeof(double));
    f->L = apx_calloc((size_t)(m * m), sizeof(double));
    f->u = apx_calloc((size_t)m, sizeof(double));
    f->z = apx_calloc((size_t)m, sizeof(double));
    if (!f->G || !f->K || !f->L || !f->u || !f->z) {
        apx_mfac_free(f);
        return apx__err(APX_ENOMEM, "mfac_create: %lld x %lld doubles", (long long)m,
                        (long long)d);
    }
    *out = f;
    return APX_OK;
}

void apx_mfac_free(apx_mfac *f) {
    if (!f) return;
    apx_free(f->G); apx_free(f->K); apx_free(f->L); apx_free(f->u); apx_free(f->z);
    apx_free(f);
}

int64_t apx_mfac_count(const apx_mfac *f) { return f ? f->count : 0; }

// K[row, j] = K[j, row] = <G[row], G[j]> for the rows in use
static void gram_row(apx_mfac *f, int64_t row) {
    const double *a = f->G + row * f->d;
    for (int64_t j = 0; j < f->count; j++) {
        const double *b = f->G + j * f->d;
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < f->d; i++) s += a[i] * b[i];
        f->K[row * f->m + j] = f->K[j * f->m + row] = s;
    }
}

apx_status apx_mfac_push(apx_mfac *f, const double *g) {
    if (!f || !g) return apx__err(APX_EINVAL, "mfac_push: %s is NULL", f ? "g" : "mfac");
    for (int64_t i = 0; i < f->d; i++)
        if (!isfinite(g[i]))
            return apx__err(APX_EINVAL, "mfac_push: g[%lld] is %g", (long long)i, g[i]);
    int64_t row = f->pos;
    memcpy(f->G + row * f->d, g, sizeof(double) * (size_t)f->d);
    if (f->count < f->m) f->count++;
    f->pos = (f->pos + 1) % f->m;
    gram_row(f, row);
    f->dirty = 1;
    return APX_OK;
}

/* L L^T = m lambda I + K (k, k) in place (lower triangle of L, leading dim m). */
static apx_status factor(apx_mfac *f) {
    int64_t k = f->count, m = f->m;
    double shift = (double)m * f->lambda;
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j <= i; j++) {
            double s = f->K[i * m + j] + (i == j ? shift : 0);
            for (int64_t p = 0; p < j; p++) s -= f->L[i * m + p] * f->L[j * m + p];
            if (i == j) {
                if (!(s > 0))
                    return apx__err(APX_ENUMERIC, "mfac: the %lld x %lld system is not positive "
                                    "definite (pivot %g); raise lambda", (long long)k,
                                    (long long)k, s);
                f->L[i * m + i] = sqrt(s);
            } else {
                f->L[i * m + j] = s / f->L[j * m + j];
            }
        }
    f->dirty = 0;
    return APX_OK;
}

/* z = (L L^T)^-1 u (k). */
static void chol_solve(const apx_mfac *f, const double *u, double *z) {
    int64_t k = f->count, m = f->m;
    for (int64_t i = 0; i < k; i++) {
        double s = u[i];
        for (int64_t p = 0; p < i; p++) s -= f->L[i * m + p] * z[p];
        z[i] = s / f->L[i * m + i];
    }
    for (int64_t i = k - 1; i >= 0; i--) {
        double s = z[i];
        for (int64_t p = i + 1; p < k; p++) s -= f->L[p * m + i] * z[p];
        z[i] = s / f->L[i * m + i];
    }
}

apx_status apx_mfac_ihvp(apx_mfac *f, const double *x, double *y) {
    if (!f || !x || !y) return apx__err(APX_EINVAL, "mfac_ihvp: %s is NULL",
                                        !f ? "mfac" : !x ? "x" : "y");
    if (f->dirty) APX__TRY(factor(f));
    int64_t k = f->count, d = f->d;
    for (int64_t j = 0; j < k; j++) { // u (k) = G x
        const double *r = f->G + j * d;
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < d; i++) s += r[i] * x[i];
        f->u[j] = s;
    }
    chol_solve(f, f->u, f->z);
    for (int64_t i = 0; i < d; i++) y[i] = x[i];
    for (int64_t j = 0; j < k; j++) { // y (d) = (x - G^T z) / lambda
        const double *r = f->G + j * d;
        double zj = f->z[j];
#pragma omp simd
        for (int64_t i = 0; i < d; i++) y[i] -= zj * r[i];
    }
    for (int64_t i = 0; i < d; i++) y[i] /= f->lambda;
    return APX_OK;
}

apx_status apx_mfac_diag(apx_mfac *f, double *diag) {
    if (!f || !diag) return apx__err(APX_EINVAL, "mfac_diag: %s is NULL", f ? "diag" : "mfac");
    if (f->dirty) APX__TRY(factor(f));
    int64_t k = f->count, d = f->d, m = f->m;
    double *q = apx_malloc(sizeof(double) * (size_t)APX__MAX(k, 1));
    if (!q) return apx__err(APX_ENOMEM, "mfac_diag: %lld doubles", (long long)k);
    for (int64_t i = 0; i < d; i++) { // q = L^-1 G[:, i]; diag_i = (1 - |q|^2) / lambda
        double s2 = 0;
        for (int64_t j = 0; j < k; j++) {
            double s = f->G[j * d + i];
            for (int64_t p = 0; p < j; p++) s -= f->L[j * m + p] * q[p];
            q[j] = s / f->L[j * m + j];
            s2 += q[j] * q[j];
        }
        diag[i] = (1 - s2) / f->lambda;
    }
    apx_free(q);
    return APX_OK;
}

/* ---------------------------------------------------------------- the optimizer kind */

enum { LR, NGRADS, DAMP, MOMENTUM, WEIGHT_DECAY, N_SET };

static const apx_optim_setting settings[N_SET] = {
    {"lr", 1e-3, 0, HUGE_VAL, 0, "learning rate of the preconditioned step"},
    {"ngrads", 32, 1, 4096, APX_OPTIM_SET_INT, "gradients in the sliding window m"},
    {"damp", 1e-4, 0, HUGE_VAL, APX_OPTIM_SET_MIN_OPEN, "damping lambda of F"},
    {"momentum", 0, 0, 1, APX_OPTIM_SET_MAX_OPEN, "momentum of the preconditioned step"},
    {"weight_decay", 0, 0, HUGE_VAL, 0, "L2 penalty added to the gradient (coupled)"},
};

typedef struct {
    apx_mfac *f;
    double *x, *y;   /* (n) */
    int64_t meta[2]; /* count, pos (saved state) */
    int mom;         /* momentum buffer index or -1 */
} mfac_priv;

static void mfac_destroy(apx_optim *o) {
    mfac_priv *q = o->priv;
    if (!q) return;
    apx_mfac_free(q->f);
    apx_free(q->x);
    apx_free(q->y);
    apx_free(q);
}

static apx_status mfac_init(apx_optim *o) {
    mfac_priv *q = apx__alloc("optim_create", 1, sizeof *q);
    if (!q) return APX_ENOMEM;
    o->priv = q;
    int64_t m = (int64_t)apx__set(o, NGRADS);
    APX__TRY(apx_mfac_create(o->n, m, apx__set(o, DAMP), &q->f));
    q->x = apx_malloc(sizeof(double) * (size_t)o->n);
    q->y = apx_malloc(sizeof(double) * (size_t)o->n);
    if (!q->x || !q->y) return apx__err(APX_ENOMEM, "optim_create: mfac vectors");
    int64_t gs[2] = {m, o->n}, ks[2] = {m, m}, two = 2;
    APX__TRY(apx__optim_add_state(o, "window", APX_DT_F64, 2, gs, q->f->G));
    APX__TRY(apx__optim_add_state(o, "gram", APX_DT_F64, 2, ks, q->f->K));
    APX__TRY(apx__optim_add_state(o, "window_meta", APX_DT_I64, 1, &two, q->meta));
    q->mom = -1;
    if (apx__set(o, MOMENTUM) > 0) APX__TRY(apx__optim_add_buf(o, "momentum_buffer", &q->mom));
    return APX_OK;
}

static apx_status mfac_step(apx_optim *o, double lr, const float *hess, float *chk) {
    mfac_priv *q = o->priv;
    float *p = apx_params_data(o->p);
    const float *g = apx_params_grad(o->p);
    if (q->meta[0] != q->f->count || q->meta[1] != q->f->pos) { /* restored from a state */
        q->f->count = APX__MIN(APX__MAX(q->meta[0], 0), q->f->m);
        q->f->pos = ((q->meta[1] % q->f->m) + q->f->m) % q->f->m;
        q->f->dirty = 1;
    }
    float c = 0;
    for (int64_t k = 0; k < o->ngroups; k++) {
        const apx_param_info *in = &o->groups[k];
        double wd = apx__set(o, WEIGHT_DECAY) * o->wd_scale[k];
        for (int64_t i = in->offset; i < in->offset + in->size; i++) {
            c += g[i] - g[i];
            q->x[i] = (double)g[i] + wd * p[i];
        }
    }
    *chk = c;
    if (isnan(c)) return APX_OK;
    APX__TRY(apx_mfac_push(q->f, q->x));
    APX__TRY(apx_mfac_ihvp(q->f, q->x, q->y));
    q->meta[0] = q->f->count;
    q->meta[1] = q->f->pos;
    float mu = (float)apx__set(o, MOMENTUM);
    for (int64_t k = 0; k < o->ngroups; k++) {
        const apx_param_info *in = &o->groups[k];
        double lrk = lr * o->lr_scale[k];
        for (int64_t i = in->offset; i < in->offset + in->size; i++) {
            double u = q->y[i];
            if (q->mom >= 0) u = o->buf[q->mom][i] = mu * o->buf[q->mom][i] + (float)u;
            p[i] = (float)(p[i] - lrk * u);
        }
    }
    return APX_OK;
}

const apx__optim_impl apx__optim_mfac = {
    {"mfac", "M-FAC: SGD preconditioned by the inverse empirical Fisher of a sliding window "
             "of gradients (P048)",
     0, N_SET, settings},
    NULL, mfac_init, mfac_step, mfac_destroy, NULL};
