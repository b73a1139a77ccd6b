/* ops_norm.c: LayerNorm, RMSNorm, PolyNorm (PolyCom, P044), PowerNorm (P012) and BatchNorm
 * (P012's baseline).
 * x is viewed as (N, C): N rows of the last dim C. Row statistics in double. */
#include <math.h>

#include "ad_internal.h"

/* Check x and an optional per-channel (C) vector. */
static apx_status check_vec(apx_graph *g, const char *op, const char *arg, apx_tensor *v,
                            const apx_tensor *x) {
    if (!v) return APX_OK;
    APX__TRY(apx__check_tensor(g, op, arg, v));
    int64_t C = x->shape[x->ndim - 1];
    if (v->ndim != 1 || v->shape[0] != C) {
        char sx[96], sv[96];
        return apx__err(APX_ESHAPE, "%s: x %s needs %s of shape (%lld), got %s", op,
                        apx__shape_str(x, sx), arg, (long long)C, apx__shape_str(v, sv));
    }
    return APX_OK;
}

/* gamma and beta (C) of x, each optional. */
static apx_status check_affine(apx_graph *g, const char *op, apx_tensor *x, apx_tensor *gamma,
                               apx_tensor *beta) {
    APX__TRY(check_vec(g, op, "gamma", gamma, x));
    return check_vec(g, op, "beta", beta, x);
}

static apx_status check_x(apx_graph *g, const char *op, apx_tensor *x, float eps) {
    APX__TRY(apx__check_tensor(g, op, "x", x));
    if (x->ndim < 1)
        return apx__err(APX_ESHAPE, "%s: x must have ndim >= 1 (a scalar was given)", op);
    if (!(eps > 0) || !isfinite(eps))
        return apx__err(APX_EINVAL, "%s: eps must be finite and > 0, got %g", op, (double)eps);
    return APX_OK;
}

/* Column sums in double for gamma/beta gradients: gv[c] += acc[c]. */
static void add_acc(int64_t C, const double *acc, float *gv) {
    if (gv)
        for (int64_t c = 0; c < C; c++) gv[c] += (float)acc[c];
}

/* Forward-over-reverse rules of LayerNorm and RMSNorm (below PolyNorm's section). */
static apx_status ln_jvp(apx_graph *g, apx__node *n);
static apx_status ln_rback(apx_graph *g, apx__node *n);
static apx_status rms_jvp(apx_graph *g, apx__node *n);
static apx_status rms_rback(apx_graph *g, apx__node *n);

/* ================================================================ LayerNorm */

typedef struct {
    float *mean, *rstd; /* (N) */
} ln_saved;

// y (N,C) = (x - mean) * rstd * gamma + beta; mean, rstd (N)
static void layernorm_forward(int64_t N, int64_t C, const float *x, const float *gamma,
                              const float *beta, float eps, float *y, float *mean, float *rstd) {
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * C;
        float *yr = y + i * C;
        double m = 0, v = 0;
        for (int64_t c = 0; c < C; c++) m += xr[c];
        m /= (double)C;
        for (int64_t c = 0; c < C; c++) v += (xr[c] - m) * (xr[c] - m);
        float rs = (float)(1.0 / sqrt(v / (double)C + eps)), mf = (float)m;
        for (int64_t c = 0; c < C; c++) {
            float h = (xr[c] - mf) * rs;
            yr[c] = (gamma ? h * gamma[c] : h) + (beta ? beta[c] : 0.0f);
        }
        if (mean) mean[i] = mf;
        if (rstd) rstd[i] = rs;
    }
}

// gx (N,C) += rstd (dh - mean(dh) - h mean(dh h)), dh = dy gamma; ggamma += dy h; gbeta += dy
static void layernorm_grads(int64_t N, int64_t C, const float *x, const float *gamma,
                            const float *dy, const ln_saved *s, float *gx, double *gg,
                            double *gb) {
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * C, *d = dy + i * C;
        float m = s->mean[i], rs = s->rstd[i];
        double m1 = 0, m2 = 0;
        for (int64_t c = 0; c < C; c++) {
            float h = (xr[c] - m) * rs, dh = gamma ? d[c] * gamma[c] : d[c];
            m1 += dh;
            m2 += (double)dh * h;
            if (gg) gg[c] += (double)d[c] * h;
            if (gb) gb[c] += d[c];
        }
        float a = (float)(m1 / (double)C), b = (float)(m2 / (double)C);
        if (gx)
            for (int64_t c = 0; c < C; c++) {
                float h = (xr[c] - m) * rs, dh = gamma ? d[c] * gamma[c] : d[c];
                gx[i * C + c] += rs * (dh - a - h * b);
            }
    }
}

static apx_status layernorm_backward(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0], *gm = n->in[1], *bt = n->in[2];
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    apx__mark mk = apx__arena_mark(g);
    double *acc = apx__arena_zalloc(g, "layernorm", 2 * (size_t)C * sizeof(double));
    if (!acc) return APX_ENOMEM;
    layernorm_grads(N, C, x->data, gm ? gm->data : NULL, n->out->grad, n->saved, apx__gin(x),
                    apx__gin(gm) ? acc : NULL, apx__gin(bt) ? acc + C : NULL);
    add_acc(C, acc, apx__gin(gm));
    add_acc(C, acc + C, apx__gin(bt));
    apx__arena_release(g, mk);
    return APX_OK;
}

apx_status apx_ad_layernorm(apx_graph *g, apx_tensor *x, apx_tensor *gamma, apx_tensor *beta,
                            float eps, apx_tensor **out) {
    APX__TRY(apx__check_op(g, "layernorm", out));
    APX__TRY(check_x(g, "layernorm", x, eps));
    APX__TRY(check_affine(g, "layernorm", x, gamma, beta));
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    apx_tensor *in[3] = {x, gamma, beta}, *y;
    ln_saved *s = NULL;
    if (apx__wants_grad(g, 3, in)) {
        s = apx__arena_alloc(g, "layernorm", sizeof *s);
        if (s) s->mean = apx__arena_alloc(g, "layernorm", 2 * (size_t)N * sizeof(float));
        if (!s || !s->mean) return APX_ENOMEM;
        s->rstd = s->mean + N;
    }
    APX__TRY(apx__tensor_new(g, "layernorm", x->ndim, x->shape, &y));
    layernorm_forward(N, C, x->data, gamma ? gamma->data : NULL, beta ? beta->data : NULL,
                      eps, y->data, s ? s->mean : NULL, s ? s->rstd : NULL);
    APX__TRY(apx__record(g, "layernorm", layernorm_backward, y, 3, in, s));
    apx__set_rop(g, y, ln_jvp, ln_rback);
    *out = y;
    return APX_OK;
}

/* ================================================================ RMSNorm */

/* rstd of each row: 1/sqrt(mean(v^2) + eps). */
static float row_rstd(int64_t C, const float *v, float eps) {
    double s = 0;
    for (int64_t c = 0; c < C; c++) s += (double)v[c] * v[c];
    return (float)(1.0 / sqrt(s / (double)C + eps));
}

// y (N,C) = x * rstd * gamma; rstd (N)
static void rmsnorm_forward(int64_t N, int64_t C, const float *x, const float *gamma,
                            float eps, float *y, float *rstd) {
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * C;
        float rs = row_rstd(C, xr, eps);
        for (int64_t c = 0; c < C; c++) y[i * C + c] = xr[c] * rs * (gamma ? gamma[c] : 1.0f);
        if (rstd) rstd[i] = rs;
    }
}

// gx (N,C) += rstd (dh - h mean(dh h)), h = x rstd, dh = dy gamma; ggamma += dy h
static void rmsnorm_grads(int64_t N, int64_t C, const float *x, const float *gamma,
                          const float *dy, const float *rstd, float *gx, double *gg) {
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * C, *d = dy + i * C;
        float rs = rstd[i];
        double m2 = 0;
        for (int64_t c = 0; c < C; c++) {
            float h = xr[c] * rs;
            m2 += (double)(gamma ? d[c] * gamma[c] : d[c]) * h;
            if (gg) gg[c] += (double)d[c] * h;
        }
        float b = (float)(m2 / (double)C);
        if (gx)
            for (int64_t c = 0; c < C; c++) {
                float h = xr[c] * rs, dh = gamma ? d[c] * gamma[c] : d[c];
                gx[i * C + c] += rs * (dh - h * b);
            }
    }
}

static apx_status rmsnorm_backward(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0], *gm = n->in[1];
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    apx__mark mk = apx__arena_mark(g);
    double *acc = apx__arena_zalloc(g, "rmsnorm", (size_t)C * sizeof(double));
    if (!acc) return APX_ENOMEM;
    rmsnorm_grads(N, C, x->data, gm ? gm->data : NULL, n->out->grad, n->saved, apx__gin(x),
                  apx__gin(gm) ? acc : NULL);
    add_acc(C, acc, apx__gin(gm));
    apx__arena_release(g, mk);
    return APX_OK;
}

apx_status apx_ad_rmsnorm(apx_graph *g, apx_tensor *x, apx_tensor *gamma, float eps,
                          apx_tensor **out) {
    APX__TRY(apx__check_op(g, "rmsnorm", out));
    APX__TRY(check_x(g, "rmsnorm", x, eps));
    APX__TRY(check_vec(g, "rmsnorm", "gamma", gamma, x));
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    apx_tensor *in[2] = {x, gamma}, *y;
    float *rstd = NULL;
    if (apx__wants_grad(g, 2, in) &&
        !(rstd = apx__arena_alloc(g, "rmsnorm", (size_t)N * sizeof(float))))
        return APX_ENOMEM;
    APX__TRY(apx__tensor_new(g, "rmsnorm", x->ndim, x->shape, &y));
    rmsnorm_forward(N, C, x->data, gamma ? gamma->data : NULL, eps, y->data, rstd);
    APX__TRY(apx__record(g, "rmsnorm", rmsnorm_backward, y, 2, in, rstd));
    apx__set_rop(g, y, rms_jvp, rms_rback);
    *out = y;
    return APX_OK;
}

/* ================================================================ tangents of the norms
 * Forward-over-reverse for LayerNorm (center = 1) and RMSNorm (center = 0), per row of C:
 * h = (x - m) r, th = r (txc - h mean(h txc)) with txc = tx - [center] mean(tx);
 * jvp: ty = th gamma + h tgamma + tbeta; R-backward of gx = r (g - [c] mean g - h mean(g h)),
 * g = dy gamma: tg = tdy gamma + dy tgamma, tr = -r^2 mean(h txc),
 * tgx += tr (g - [c] mean g - h mean(g h)) + r (tg - [c] mean tg - th mean(g h)
 *        - h (mean(tg h) + mean(g th))); tgamma += sum tdy h + dy th; tbeta += sum tdy.
 * The per-channel norms (BatchNorm, PowerNorm) are the same algebra on the columns: a
 * "row" is channel i, its C "elements" the N tokens (strides rs, es), gamma indexed by the
 * row; with fixed statistics (EVAL modes) m and r are constants: th = r tx, gx = r g. */

typedef struct {
    int64_t N, C;   /* rows, elements per row */
    int64_t rs, es; /* element c of row i at [i rs + c es] */
    int center, gam_row, fixed;
    const float *x, *tx, *gam, *tgam, *mean, *rstd; /* gam, tgam may be NULL, mean if center */
} nr_args;

static inline float nr_gam(const float *gam, const nr_args *a, int64_t i, int64_t c) {
    return gam ? gam[a->gam_row ? i : c] : 1.0f;
}

/* h and th of row i (C each); returns mean(h txc). */
static double nr_row(const nr_args *a, int64_t i, float *h, float *th) {
    const float *x = a->x + i * a->rs, *tx = a->tx + i * a->rs;
    int64_t es = a->es;
    float r = a->rstd[i], m = a->center ? a->mean[i] : 0.0f;
    double mtx = 0, mht = 0;
    for (int64_t c = 0; a->center && !a->fixed && c < a->C; c++) mtx += tx[c * es];
    mtx /= (double)a->C;
    for (int64_t c = 0; c < a->C; c++) {
        h[c] = (x[c * es] - m) * r;
        mht += (double)h[c] * (tx[c * es] - mtx);
    }
    mht = a->fixed ? 0.0 : mht / (double)a->C;
    for (int64_t c = 0; c < a->C; c++) th[c] = r * ((float)(tx[c * es] - mtx) - h[c] * (float)mht);
    return mht;
}

// ty (N,C) = th gamma + h tgamma + tbeta
static void nr_jvp(const nr_args *a, const float *tbeta, float *h, float *th, float *ty) {
    for (int64_t i = 0; i < a->N; i++) {
        nr_row(a, i, h, th);
        for (int64_t c = 0; c < a->C; c++)
            ty[i * a->rs + c * a->es] = th[c] * nr_gam(a->gam, a, i, c) +
                                        (a->tgam ? h[c] * nr_gam(a->tgam, a, i, c) : 0.0f) +
                                        (tbeta ? nr_gam(tbeta, a, i, c) : 0.0f);
    }
}

/* The row means of the R-backward: mg, mgh, mtg, mtgh, mgth (zero where they do not apply);
 * adds row i's tgamma and tbeta sums to acc (2 C, or 2 per row with gam_row). */
static void nr_means(const nr_args *a, int64_t i, const float *d, const float *td,
                     const float *h, const float *th, double *acc, double mu[5]) {
    int64_t C = a->C, es = a->es, na = a->gam_row ? a->N : C;
    for (int k = 0; k < 5; k++) mu[k] = 0;
    for (int64_t c = 0; c < C; c++) {
        double g = d[c * es] * nr_gam(a->gam, a, i, c);
        double tg = td[c * es] * nr_gam(a->gam, a, i, c) +
                    (a->tgam ? d[c * es] * nr_gam(a->tgam, a, i, c) : 0.0);
        mu[0] += g, mu[1] += g * h[c], mu[2] += tg, mu[3] += tg * h[c], mu[4] += g * th[c];
        int64_t k = a->gam_row ? i : c;
        acc[k] += (double)td[c * es] * h[c] + (double)d[c * es] * th[c];
        acc[na + k] += td[c * es];
    }
    for (int k = 0; k < 5; k++) mu[k] = a->fixed ? 0.0 : mu[k] / (double)C;
    if (!a->center) mu[0] = mu[2] = 0;
}

// tgx (N,C) += the R-backward above; acc: tgamma, tbeta sums (per element, or per row)
static void nr_rback(const nr_args *a, const float *dy, const float *tdy, float *h, float *th,
                     float *tgx, double *acc) {
    for (int64_t i = 0; i < a->N; i++) {
        double mht = nr_row(a, i, h, th), mu[5];
        const float *d = dy + i * a->rs, *td = tdy + i * a->rs;
        nr_means(a, i, d, td, h, th, acc, mu);
        float r = a->rstd[i], tr = (float)(-(double)r * r * mht);
        if (tgx)
            for (int64_t c = 0; c < a->C; c++) {
                float gm = nr_gam(a->gam, a, i, c), g = d[c * a->es] * gm;
                float tg = td[c * a->es] * gm +
                           (a->tgam ? d[c * a->es] * nr_gam(a->tgam, a, i, c) : 0.0f);
                tgx[i * a->rs + c * a->es] +=
                    tr * (g - (float)mu[0] - h[c] * (float)mu[1]) +
                    r * (tg - (float)mu[2] - th[c] * (float)mu[1] - h[c] * (float)(mu[3] + mu[4]));
            }
    }
}

/* The nr_args of a LayerNorm (center) or RMSNorm node. */
static nr_args nr_of(const apx__node *n, int center) {
    const apx_tensor *x = n->in[0], *gm = n->in[1];
    int64_t C = x->shape[x->ndim - 1];
    const ln_saved *ls = n->saved;
    nr_args a = {x->size / C, C, C, 1, center, 0, 0, x->data, x->tan_, gm ? gm->data : NULL,
                 gm ? gm->tan_ : NULL, center ? ls->mean : NULL,
                 center ? ls->rstd : (const float *)n->saved};
    return a;
}

/* The tangent of a norm node's output; bt the beta input or NULL. */
static apx_status nr_jvp_run(apx_graph *g, apx__node *n, const nr_args *a, apx_tensor *bt) {
    float *ty = apx__out_tan(g, n);
    apx__mark mk = apx__arena_mark(g);
    float *h = apx__arena_alloc(g, n->op, 2 * (size_t)a->C * sizeof(float));
    if (!ty || !h) return APX_ENOMEM;
    nr_jvp(a, bt ? bt->tan_ : NULL, h, h + a->C, ty);
    apx__arena_release(g, mk);
    return APX_OK;
}

/* The R-backward of a norm node; gm, bt its gamma and beta inputs or NULL. */
static apx_status nr_rback_run(apx_graph *g, apx__node *n, const nr_args *a, apx_tensor *gm,
                               apx_tensor *bt) {
    int64_t na = a->gam_row ? a->N : a->C;
    apx__mark mk = apx__arena_mark(g);
    float *h = apx__arena_alloc(g, n->op, 2 * (size_t)a->C * sizeof(float));
    double *acc = apx__arena_zalloc(g, n->op, 2 * (size_t)na * sizeof(double));
    if (!h || !acc) return APX_ENOMEM;
    nr_rback(a, n->out->grad, n->out->gtan_, h, h + a->C,
             apx__gin(n->in[0]) ? n->in[0]->gtan_ : NULL, acc);
    if (apx__gin(gm)) add_acc(na, acc, gm->gtan_);
    if (apx__gin(bt)) add_acc(na, acc + na, bt->gtan_);
    apx__arena_release(g, mk);
    return APX_OK;
}

static apx_status ln_jvp(apx_graph *g, apx__node *n) {
    nr_args a = nr_of(n, 1);
    return nr_jvp_run(g, n, &a, n->in[2]);
}
static apx_status ln_rback(apx_graph *g, apx__node *n) {
    nr_args a = nr_of(n, 1);
    return nr_rback_run(g, n, &a, n->in[1], n->in[2]);
}
static apx_status rms_jvp(apx_graph *g, apx__node *n) {
    nr_args a = nr_of(n, 0);
    return nr_jvp_run(g, n, &a, NULL);
}
static apx_status rms_rback(apx_graph *g, apx__node *n) {
    nr_args a = nr_of(n, 0);
    return nr_rback_run(g, n, &a, n->in[1], NULL);
}

/* ================================================================ PolyNorm (P044) */

typedef struct {
    float eps;
    float *rstd; /* (N, r): rstd of x^(r-j) for row i at [i*r + j] */
} pn_saved;

static inline float ipowf(float x, int k) {
    float p = 1.0f;
    for (int i = 0; i < k; i++) p *= x;
    return p;
}

// y (N,C) = sum_{j<r} w[j] N(x^(r-j)) + b; rstd (N,r)
static void polynorm_forward(int64_t N, int64_t C, int r, const float *x, const float *w,
                             float b, float eps, float *y, float *rstd) {
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * C;
        float *yr = y + i * C;
        for (int64_t c = 0; c < C; c++) yr[c] = b;
        for (int j = 0; j < r; j++) {
            int k = r - j;
            double s = 0;
            for (int64_t c = 0; c < C; c++) {
                double v = ipowf(xr[c], k);
                s += v * v;
            }
            float rs = (float)(1.0 / sqrt(s / (double)C + eps)), a = w[j] * rs;
            for (int64_t c = 0; c < C; c++) yr[c] += a * ipowf(xr[c], k);
            if (rstd) rstd[i * r + j] = rs;
        }
    }
}

// per term k = r-j: n = x^k rstd_k, dn = w[j] dy, gx += rstd_k (dn - n mean(dn n)) k x^(k-1);
// gw[j] += sum dy n; gb += sum dy
static void polynorm_grads(int64_t N, int64_t C, int r, const float *x, const float *w,
                           const float *dy, const float *rstd, float *gx, double *gw,
                           double *gb) {
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * C, *d = dy + i * C;
        for (int64_t c = 0; c < C; c++) *gb += d[c];
        for (int j = 0; j < r; j++) {
            int k = r - j;
            float rs = rstd[i * r + j];
            double m = 0, sw = 0;
            for (int64_t c = 0; c < C; c++) {
                float nv = ipowf(xr[c], k) * rs;
                sw += (double)d[c] * nv;
                m += (double)w[j] * d[c] * nv;
            }
            gw[j] += sw;
            float mf = (float)(m / (double)C);
            if (gx)
                for (int64_t c = 0; c < C; c++) {
                    float nv = ipowf(xr[c], k) * rs, dv = rs * (w[j] * d[c] - nv * mf);
                    gx[i * C + c] += dv * (float)k * ipowf(xr[c], k - 1);
                }
        }
    }
}

static apx_status polynorm_backward(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    const pn_saved *s = n->saved;
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    int r = (int)w->size;
    double gw[16] = {0}, gb = 0;
    polynorm_grads(N, C, r, x->data, w->data, n->out->grad, s->rstd, apx__gin(x), gw, &gb);
    if (apx__gin(w))
        for (int j = 0; j < r; j++) w->grad[j] += (float)gw[j];
    if (apx__gin(b)) b->grad[0] += (float)gb;
    return APX_OK;
}

/* PolyNorm's R-op, per row and term k = r - j: u = x^k, tu = k x^(k-1) tx, n = u r_k,
 * tn = r_k (tu - n mean(n tu)); jvp: ty = sum_j (w_j tn + tw_j n) + tb. R-backward with
 * dn = w_j dy, tdn = tw_j dy + w_j tdy, du = r_k (dn - n mean(dn n)), tr = -r_k^2 mean(n tu):
 * tdu = tr (dn - n mean(dn n)) + r_k (tdn - tn mean(dn n) - n (mean(tdn n) + mean(dn tn))),
 * tgx += tdu k x^(k-1) + du k (k-1) x^(k-2) tx; tgw_j += sum tdy n + dy tn; tgb += sum tdy. */

// nv, tn (C) of term k of one row (normaliser rs); returns mean(n tu)
static double pn_term(int64_t C, int k, float rs, const float *x, const float *tx, float *nv,
                      float *tn) {
    double m = 0;
    for (int64_t c = 0; c < C; c++) {
        float tu = (float)k * ipowf(x[c], k - 1) * tx[c];
        nv[c] = ipowf(x[c], k) * rs;
        tn[c] = tu;
        m += (double)nv[c] * tu;
    }
    m /= (double)C;
    for (int64_t c = 0; c < C; c++) tn[c] = rs * (tn[c] - nv[c] * (float)m);
    return m;
}

static apx_status polynorm_jvp(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    const pn_saved *s = n->saved;
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    int r = (int)w->size;
    float *ty = apx__out_tan(g, n);
    apx__mark mk = apx__arena_mark(g);
    float *nv = apx__arena_alloc(g, n->op, 2 * (size_t)C * sizeof(float)), *tn = nv + C;
    if (!ty || !nv) return APX_ENOMEM;
    for (int64_t i = 0; i < N; i++) { // ty (N,C) = sum_j w_j tn + tw_j n + tb
        float *t = ty + i * C;
        for (int64_t c = 0; c < C; c++) t[c] = b ? b->tan_[0] : 0.0f;
        for (int j = 0; j < r; j++) {
            pn_term(C, r - j, s->rstd[i * r + j], x->data + i * C, x->tan_ + i * C, nv, tn);
            for (int64_t c = 0; c < C; c++) t[c] += w->data[j] * tn[c] + w->tan_[j] * nv[c];
        }
    }
    apx__arena_release(g, mk);
    return APX_OK;
}

// tgx (C) += the R-backward of term j of one row; tgw[j] += its sum
static void pn_rback_term(int64_t C, int r, int j, float rs, const float *x, const float *tx,
                          const float *w, const float *tw, const float *dy, const float *tdy,
                          float *nv, float *tn, float *tgx, double *tgw) {
    int k = r - j;
    double mnt = pn_term(C, k, rs, x, tx, nv, tn), sdn = 0, stdn = 0, sdtn = 0;
    for (int64_t c = 0; c < C; c++) {
        sdn += (double)dy[c] * nv[c];
        stdn += (double)tdy[c] * nv[c];
        sdtn += (double)dy[c] * tn[c];
    }
    tgw[j] += stdn + sdtn;
    if (!tgx) return;
    float m1 = (float)(w[j] * sdn / (double)C);
    float m23 = (float)((tw[j] * sdn + w[j] * stdn + w[j] * sdtn) / (double)C);
    float tr = (float)(-(double)rs * rs * mnt);
    for (int64_t c = 0; c < C; c++) {
        float dn = w[j] * dy[c], tdn = tw[j] * dy[c] + w[j] * tdy[c];
        float du = rs * (dn - nv[c] * m1);
        float tdu = tr * (dn - nv[c] * m1) + rs * (tdn - tn[c] * m1 - nv[c] * m23);
        tgx[c] += tdu * (float)k * ipowf(x[c], k - 1) +
                  (k > 1 ? du * (float)(k * (k - 1)) * ipowf(x[c], k - 2) * tx[c] : 0.0f);
    }
}

static apx_status polynorm_rback(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    const pn_saved *s = n->saved;
    const float *dy = n->out->grad, *tdy = n->out->gtan_;
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    int r = (int)w->size;
    double tgw[16] = {0}, tgb = 0;
    apx__mark mk = apx__arena_mark(g);
    float *nv = apx__arena_alloc(g, n->op, 2 * (size_t)C * sizeof(float));
    if (!nv) return APX_ENOMEM;
    for (int64_t i = 0; i < N; i++) {
        for (int64_t c = 0; c < C; c++) tgb += tdy[i * C + c];
        for (int j = 0; j < r; j++)
            pn_rback_term(C, r, j, s->rstd[i * r + j], x->data + i * C, x->tan_ + i * C,
                          w->data, w->tan_, dy + i * C, tdy + i * C, nv, nv + C,
                          apx__gin(x) ? x->gtan_ + i * C : NULL, tgw);
    }
    if (apx__gin(w))
        for (int j = 0; j < r; j++) w->gtan_[j] += (float)tgw[j];
    if (apx__gin(b)) b->gtan_[0] += (float)tgb;
    apx__arena_release(g, mk);
    return APX_OK;
}

apx_status apx_ad_polynorm(apx_graph *g, apx_tensor *x, apx_tensor *weight, apx_tensor *bias,
                           float eps, apx_tensor **out) {
    APX__TRY(apx__check_op(g, "polynorm", out));
    APX__TRY(check_x(g, "polynorm", x, eps));
    APX__TRY(apx__check_poly_coefs(g, "polynorm", weight, bias));
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    int r = (int)weight->size;
    apx_tensor *in[3] = {x, weight, bias}, *y;
    pn_saved *s = NULL;
    if (apx__wants_grad(g, 3, in)) {
        s = apx__arena_alloc(g, "polynorm", sizeof *s);
        if (s) s->rstd = apx__arena_alloc(g, "polynorm", (size_t)(N * r) * sizeof(float));
        if (!s || !s->rstd) return APX_ENOMEM;
        s->eps = eps;
    }
    APX__TRY(apx__tensor_new(g, "polynorm", x->ndim, x->shape, &y));
    polynorm_forward(N, C, r, x->data, weight->data, bias ? bias->data[0] : 0.0f, eps, y->data,
                     s ? s->rstd : NULL);
    APX__TRY(apx__record(g, "polynorm", polynorm_backward, y, 3, in, s));
    apx__set_rop(g, y, polynorm_jvp, polynorm_rback);
    *out = y;
    return APX_OK;
}

/* ================================================================ PowerNorm (P012) */

apx_powernorm_opts apx_powernorm_opts_default(void) {
    apx_powernorm_opts o = {APX_POWERNORM_TRAIN, 1e-5f, 0.9f, 0.9f, 10000, 1};
    return o;
}

typedef struct {
    int mode;
    float alpha_bkw;
    float *rf; /* (C) 1/sqrt(phi + eps): the forward's normaliser      */
    float *rb; /* (C) 1/sqrt(psi2 + eps): the batch one (approx. backward) */
    apx_powernorm_state *state;
} pw_saved;

// psi2 (C) = mean over the N rows of x (N,C)^2
static void column_meansq(int64_t N, int64_t C, const float *x, double *psi2) {
    for (int64_t c = 0; c < C; c++) psi2[c] = 0;
    for (int64_t i = 0; i < N; i++)
        for (int64_t c = 0; c < C; c++) psi2[c] += (double)x[i * C + c] * x[i * C + c];
    for (int64_t c = 0; c < C; c++) psi2[c] /= (double)N;
}

/* The normalisers of the forward (rf) and of the batch (rb); TRAIN updates the state. */
static void powernorm_stats(const apx_powernorm_opts *o, apx_powernorm_state *st, int64_t C,
                            const double *psi2, float *rf, float *rb) {
    int64_t it = 0;
    if (o->mode == APX_POWERNORM_TRAIN) it = ++st->iters;
    for (int64_t c = 0; c < C; c++) {
        rb[c] = (float)(1.0 / sqrt(psi2[c] + o->eps));
        int batch = o->mode == APX_POWERNORM_BATCH ||
                    (o->mode == APX_POWERNORM_TRAIN && it <= o->warmup_iters);
        rf[c] = batch ? rb[c] : (float)(1.0 / sqrt((double)st->running_phi[c] + o->eps));
        if (o->mode != APX_POWERNORM_TRAIN) continue;
        double run = st->running_phi[c];
        if (it < o->warmup_iters) run = run * (double)(it - 1) / (double)it + psi2[c] / (double)it;
        run = o->alpha_fwd * run + (1.0 - o->alpha_fwd) * psi2[c];
        st->running_phi[c] = (float)run;
    }
}

// y (N,C) = gamma * x * rf + beta
static void powernorm_forward(int64_t N, int64_t C, const float *x, const float *rf,
                              const float *gamma, const float *beta, float *y) {
    for (int64_t i = 0; i < N; i++)
        for (int64_t c = 0; c < C; c++) {
            float z = x[i * C + c] * rf[c];
            y[i * C + c] = (gamma ? gamma[c] * z : z) + (beta ? beta[c] : 0.0f);
        }
}

/* Column sums (C) of g z, z^2, dy z and dy, g = dy gamma, z = (x - mu) rf (mu NULL: 0).
 * acc: 4C doubles. Shared by PowerNorm and BatchNorm. */
static void channel_sums(int64_t N, int64_t C, const float *x, const float *mu, const float *rf,
                         const float *gamma, const float *dy, double *acc) {
    for (int64_t i = 0; i < N; i++)
        for (int64_t c = 0; c < C; c++) {
            double z = (x[i * C + c] - (mu ? mu[c] : 0.0f)) * rf[c], d = dy[i * C + c];
            acc[c] += d * (gamma ? gamma[c] : 1.0f) * z;
            acc[C + c] += z * z;
            acc[2 * C + c] += d * z;
            acc[3 * C + c] += d;
        }
}

// gx (N,C) += ca[c] g + cb[c] z + cc[c], g = dy gamma, z = (x - mu) rf (mu, cc NULL: 0)
static void channel_gx(int64_t N, int64_t C, const float *x, const float *mu, const float *rf,
                       const float *gamma, const float *dy, const float *ca, const float *cb,
                       const float *cc, float *gx) {
    for (int64_t i = 0; i < N; i++)
        for (int64_t c = 0; c < C; c++) {
            float z = (x[i * C + c] - (mu ? mu[c] : 0.0f)) * rf[c];
            float gv = dy[i * C + c] * (gamma ? gamma[c] : 1.0f);
            gx[i * C + c] += ca[c] * gv + cb[c] * z + (cc ? cc[c] : 0.0f);
        }
}

/* Per-channel dx = ca g + cb z for each mode; TRAIN also updates ema_gz. */
static void powernorm_coefs(const void *saved, const float *gam, int64_t N, int64_t C,
                            const double *acc, float *ca, float *cb, float *cc) {
    const pw_saved *s = saved;
    (void)gam, (void)cc; /* no constant term */
    for (int64_t c = 0; c < C; c++) {
        double mgz = acc[c] / (double)N, mzz = acc[C + c] / (double)N;
        if (s->mode == APX_POWERNORM_BATCH) { /* rf (g - z mean(g z)) */
            ca[c] = s->rf[c];
            cb[c] = (float)(-s->rf[c] * mgz);
        } else if (s->mode == APX_POWERNORM_EVAL) {
            ca[c] = s->rf[c];
            cb[c] = 0;
        } else { /* gt = g - (1-ab) ema z; ema += mean(gt z); dx = gt rb */
            double k = (1.0 - s->alpha_bkw) * s->state->ema_gz[c];
            ca[c] = s->rb[c];
            cb[c] = (float)(-k * s->rb[c]);
            s->state->ema_gz[c] = (float)(s->state->ema_gz[c] + mgz - k * mzz);
        }
    }
}

/* Per-channel coefficients of dx = ca g + cb z + cc from the sums (gam NULL: 1). */
typedef void (*chan_coefs_fn)(const void *saved, const float *gam, int64_t N, int64_t C,
                              const double *acc, float *ca, float *cb, float *cc);

/* The backward shared by the per-channel norms (PowerNorm, BatchNorm): z = (x - mu) rf,
 * the channel sums, coefs, gx, and the gamma / beta gradients. */
static apx_status channel_backward(apx_graph *g, apx__node *n, const float *mu, const float *rf,
                                   chan_coefs_fn coefs) {
    apx_tensor *x = n->in[0], *gm = n->in[1], *bt = n->in[2];
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    const float *gam = gm ? gm->data : NULL;
    apx__mark mk = apx__arena_mark(g);
    double *acc = apx__arena_zalloc(g, n->op, 4 * (size_t)C * sizeof(double));
    float *ca = apx__arena_alloc(g, n->op, 3 * (size_t)C * sizeof(float));
    if (!acc || !ca) return APX_ENOMEM;
    channel_sums(N, C, x->data, mu, rf, gam, n->out->grad, acc);
    memset(ca + 2 * C, 0, (size_t)C * sizeof(float));
    coefs(n->saved, gam, N, C, acc, ca, ca + C, ca + 2 * C);
    if (apx__gin(x))
        channel_gx(N, C, x->data, mu, rf, gam, n->out->grad, ca, ca + C, ca + 2 * C, x->grad);
    add_acc(C, acc + 2 * C, apx__gin(gm));
    add_acc(C, acc + 3 * C, apx__gin(bt));
    apx__arena_release(g, mk);
    return APX_OK;
}

/* The nr_args of a per-channel norm node (rows = channels, strided over the tokens). */
static nr_args channel_args(const apx__node *n, int center, int fixed, const float *mean,
                            const float *rstd) {
    const apx_tensor *x = n->in[0], *gm = n->in[1];
    int64_t C = x->shape[x->ndim - 1];
    nr_args a = {C, x->size / C, 1, C, center, 1, fixed, x->data, x->tan_,
                 gm ? gm->data : NULL, gm ? gm->tan_ : NULL, mean, rstd};
    return a;
}

/* PowerNorm's R-op (BATCH: an RMS norm of each column; EVAL: fixed phi). TRAIN mode's
 * backward is the paper's approximation, not a gradient: it has no R-op. */
static apx_status pw_jvp(apx_graph *g, apx__node *n) {
    const pw_saved *s = n->saved;
    nr_args a = channel_args(n, 0, s->mode == APX_POWERNORM_EVAL, NULL, s->rf);
    return nr_jvp_run(g, n, &a, n->in[2]);
}
static apx_status pw_rback(apx_graph *g, apx__node *n) {
    const pw_saved *s = n->saved;
    nr_args a = channel_args(n, 0, s->mode == APX_POWERNORM_EVAL, NULL, s->rf);
    return nr_rback_run(g, n, &a, n->in[1], n->in[2]);
}

static apx_status powernorm_backward(apx_graph *g, apx__node *n) {
    const pw_saved *s = n->saved;
    return channel_backward(g, n, NULL, s->rf, powernorm_coefs);
}

static apx_status check_powernorm(apx_graph *g, apx_tensor *x, const apx_powernorm_opts *o,
                                  const apx_powernorm_state *st) {
    APX__TRY(check_x(g, "powernorm", x, o->eps));
    int64_t C = x->shape[x->ndim - 1];
    if (o->mode < APX_POWERNORM_BATCH || o->mode > APX_POWERNORM_EVAL)
        return apx__err(APX_EINVAL, "powernorm: unknown mode %d", (int)o->mode);
    if (!(o->alpha_fwd >= 0 && o->alpha_fwd <= 1 && o->alpha_bkw >= 0 && o->alpha_bkw <= 1))
        return apx__err(APX_EINVAL, "powernorm: alpha_fwd %g and alpha_bkw %g must be in [0,1]",
                        (double)o->alpha_fwd, (double)o->alpha_bkw);
    if (o->warmup_iters < 0 || o->group_num < 0 || (o->group_num > 0 && C % o->group_num))
        return apx__err(APX_EINVAL, "powernorm: warmup_iters %lld must be >= 0 and group_num %d "
                        "must be >= 0 and divide C = %lld", (long long)o->warmup_iters,
                        o->group_num, (long long)C);
    if (o->mode != APX_POWERNORM_BATCH &&
        (!st || !st->running_phi || (o->mode == APX_POWERNORM_TRAIN && !st->ema_gz)))
        return apx__err(APX_EINVAL, "powernorm: mode %d needs a state with running_phi%s",
                        (int)o->mode, o->mode == APX_POWERNORM_TRAIN ? " and ema_gz" : "");
    if (o->mode != APX_POWERNORM_BATCH)
        for (int64_t c = 0; c < C; c++)
            if (!(st->running_phi[c] >= 0) || !isfinite(st->running_phi[c]))
                return apx__err(APX_EINVAL, "powernorm: state running_phi[%lld] is %g",
                                (long long)c, (double)st->running_phi[c]);
    return APX_OK;
}

/* GroupScaling: x (..., C) -> (N, G, C/G), RMS norm over each group (eps 1e-5), back. */
static apx_status group_scaling(apx_graph *g, apx_tensor *x, int groups, apx_tensor **out) {
    int64_t C = x->shape[x->ndim - 1], shp[3] = {x->size / C, groups, C / groups};
    apx_tensor *r, *nrm;
    APX__TRY(apx_ad_reshape(g, x, 3, shp, &r));
    APX__TRY(apx_ad_rmsnorm(g, r, NULL, 1e-5f, &nrm));
    return apx_ad_reshape(g, nrm, x->ndim, x->shape, out);
}

apx_status apx_ad_powernorm(apx_graph *g, apx_tensor *x, apx_tensor *gamma, apx_tensor *beta,
                            const apx_powernorm_opts *opts, apx_powernorm_state *state,
                            apx_tensor **out) {
    apx_powernorm_opts o = opts ? *opts : apx_powernorm_opts_default();
    APX__TRY(apx__check_op(g, "powernorm", out));
    APX__TRY(check_powernorm(g, x, &o, state));
    APX__TRY(check_affine(g, "powernorm", x, gamma, beta));
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    apx_tensor *xs = x, *y;
    if (o.group_num > 0) APX__TRY(group_scaling(g, x, o.group_num, &xs));
    pw_saved *s = apx__arena_alloc(g, "powernorm", sizeof *s);
    float *r = apx__arena_alloc(g, "powernorm", 2 * (size_t)C * sizeof(float));
    apx__mark mk = apx__arena_mark(g);
    double *psi2 = apx__arena_alloc(g, "powernorm", (size_t)C * sizeof(double));
    if (!s || !r || !psi2) return APX_ENOMEM;
    *s = (pw_saved){o.mode, o.alpha_bkw, r, r + C, state};
    column_meansq(N, C, xs->data, psi2);
    powernorm_stats(&o, state, C, psi2, s->rf, s->rb);
    apx__arena_release(g, mk);
    APX__TRY(apx__tensor_new(g, "powernorm", x->ndim, x->shape, &y));
    powernorm_forward(N, C, xs->data, s->rf, gamma ? gamma->data : NULL,
                      beta ? beta->data : NULL, y->data);
    apx_tensor *in[3] = {xs, gamma, beta};
    APX__TRY(apx__record(g, "powernorm", powernorm_backward, y, 3, in, s));
    if (o.mode != APX_POWERNORM_TRAIN) apx__set_rop(g, y, pw_jvp, pw_rback);
    *out = y;
    return APX_OK;
}

/* ================================================================ BatchNorm (P012's baseline) */

apx_batchnorm_opts apx_batchnorm_opts_default(void) {
    apx_batchnorm_opts o = {APX_BATCHNORM_TRAIN, 1e-5f, 0.1f};
    return o;
}

typedef struct {
    int mode;
    float *mean, *rstd; /* (C) the statistics the forward used */
} bn_saved;

// mean (C), var (C) = per-channel mean and biased variance of x (N,C), in double
static void column_moments(int64_t N, int64_t C, const float *x, double *mean, double *var) {
    for (int64_t c = 0; c < C; c++) mean[c] = var[c] = 0;
    for (int64_t i = 0; i < N; i++)
        for (int64_t c = 0; c < C; c++) mean[c] += x[i * C + c];
    for (int64_t c = 0; c < C; c++) mean[c] /= (double)N;
    for (int64_t i = 0; i < N; i++)
        for (int64_t c = 0; c < C; c++) {
            double d = x[i * C + c] - mean[c];
            var[c] += d * d;
        }
    for (int64_t c = 0; c < C; c++) var[c] /= (double)N;
}

/* The statistics to normalise with (batch in TRAIN, running in EVAL); TRAIN updates the
 * running ones as PyTorch does (unbiased variance). mean, rstd: (C) out. */
static void batchnorm_stats(const apx_batchnorm_opts *o, apx_batchnorm_state *st, int64_t N,
                            int64_t C, const double *bm, const double *bv, float *mean,
                            float *rstd) {
    for (int64_t c = 0; c < C; c++) {
        int train = o->mode == APX_BATCHNORM_TRAIN;
        double m = train ? bm[c] : st->running_mean[c];
        double v = train ? bv[c] : st->running_var[c];
        mean[c] = (float)m;
        rstd[c] = (float)(1.0 / sqrt(v + o->eps));
        if (!train || !st) continue;
        double mo = o->momentum, unb = bv[c] * (double)N / (double)(N - 1);
        st->running_mean[c] = (float)((1 - mo) * st->running_mean[c] + mo * bm[c]);
        st->running_var[c] = (float)((1 - mo) * st->running_var[c] + mo * unb);
    }
    if (o->mode == APX_BATCHNORM_TRAIN && st) st->iters++;
}

// y (N,C) = (x - mean) rstd gamma + beta
static void batchnorm_forward(int64_t N, int64_t C, const float *x, const float *mean,
                              const float *rstd, const float *gamma, const float *beta,
                              float *y) {
    for (int64_t i = 0; i < N; i++)
        for (int64_t c = 0; c < C; c++) {
            float h = (x[i * C + c] - mean[c]) * rstd[c];
            y[i * C + c] = (gamma ? gamma[c] * h : h) + (beta ? beta[c] : 0.0f);
        }
}

/* TRAIN: dx = rstd (g - mean(g) - h mean(g h)); EVAL: dx = rstd g (g = dy gamma, h the
 * normalised x, means over the N tokens); as ca g + cb h + cc. */
static void batchnorm_coefs(const void *saved, const float *gam, int64_t N, int64_t C,
                            const double *acc, float *ca, float *cb, float *cc) {
    const bn_saved *s = saved;
    int train = s->mode == APX_BATCHNORM_TRAIN;
    for (int64_t c = 0; c < C; c++) {
        ca[c] = s->rstd[c];
        cb[c] = train ? (float)(-s->rstd[c] * acc[c] / (double)N) : 0.0f;
        double gc = gam ? gam[c] : 1.0; /* sum g = gamma sum dy */
        cc[c] = train ? (float)(-s->rstd[c] * gc * acc[3 * C + c] / (double)N) : 0.0f;
    }
}

static apx_status batchnorm_backward(apx_graph *g, apx__node *n) {
    const bn_saved *s = n->saved;
    return channel_backward(g, n, s->mean, s->rstd, batchnorm_coefs);
}

/* BatchNorm's R-op: a LayerNorm of each column (TRAIN), or fixed statistics (EVAL). */
static apx_status bn_jvp(apx_graph *g, apx__node *n) {
    const bn_saved *s = n->saved;
    nr_args a = channel_args(n, 1, s->mode == APX_BATCHNORM_EVAL, s->mean, s->rstd);
    return nr_jvp_run(g, n, &a, n->in[2]);
}
static apx_status bn_rback(apx_graph *g, apx__node *n) {
    const bn_saved *s = n->saved;
    nr_args a = channel_args(n, 1, s->mode == APX_BATCHNORM_EVAL, s->mean, s->rstd);
    return nr_rback_run(g, n, &a, n->in[1], n->in[2]);
}

static apx_status check_batchnorm(apx_graph *g, apx_tensor *x, const apx_batchnorm_opts *o,
                                  const apx_batchnorm_state *st) {
    APX__TRY(check_x(g, "batchnorm", x, o->eps));
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    if (o->mode != APX_BATCHNORM_TRAIN && o->mode != APX_BATCHNORM_EVAL)
        return apx__err(APX_EINVAL, "batchnorm: unknown mode %d", (int)o->mode);
    if (!(o->momentum >= 0 && o->momentum <= 1))
        return apx__err(APX_EINVAL, "batchnorm: momentum %g must be in [0, 1]",
                        (double)o->momentum);
    if (o->mode == APX_BATCHNORM_TRAIN && N < 2)
        return apx__err(APX_EINVAL, "batchnorm: training needs more than one token per channel, "
                        "x has N = %lld", (long long)N);
    if (st && (!st->running_mean || !st->running_var))
        return apx__err(APX_EINVAL, "batchnorm: state running_mean or running_var is NULL");
    if (o->mode == APX_BATCHNORM_EVAL && !st)
        return apx__err(APX_EINVAL, "batchnorm: EVAL mode needs a state (running statistics)");
    for (int64_t c = 0; st && c < C; c++)
        if (!isfinite(st->running_mean[c]) || !(st->running_var[c] >= 0) ||
            !isfinite(st->running_var[c]))
            return apx__err(APX_EINVAL, "batchnorm: state running_mean[%lld] = %g, "
                            "running_var = %g (finite, var >= 0)", (long long)c,
                            (double)st->running_mean[c], (double)st->running_var[c]);
    return APX_OK;
}

apx_status apx_ad_batchnorm(apx_graph *g, apx_tensor *x, apx_tensor *gamma, apx_tensor *beta,
                            const apx_batchnorm_opts *opts, apx_batchnorm_state *state,
                            apx_tensor **out) {
    apx_batchnorm_opts o = opts ? *opts : apx_batchnorm_opts_default();
    APX__TRY(apx__check_op(g, "batchnorm", out));
    APX__TRY(check_batchnorm(g, x, &o, state));
    APX__TRY(check_affine(g, "batchnorm", x, gamma, beta));
    int64_t C = x->shape[x->ndim - 1], N = x->size / C;
    bn_saved *s = apx__arena_alloc(g, "batchnorm", sizeof *s);
    float *st = apx__arena_alloc(g, "batchnorm", 2 * (size_t)C * sizeof(float));
    apx__mark mk = apx__arena_mark(g);
    double *mom = apx__arena_alloc(g, "batchnorm", 2 * (size_t)C * sizeof(double));
    if (!s || !st || !mom) return APX_ENOMEM;
    *s = (bn_saved){o.mode, st, st + C};
    if (o.mode == APX_BATCHNORM_TRAIN) column_moments(N, C, x->data, mom, mom + C);
    batchnorm_stats(&o, state, N, C, mom, mom + C, s->mean, s->rstd);
    apx__arena_release(g, mk);
    apx_tensor *y, *in[3] = {x, gamma, beta};
    APX__TRY(apx__tensor_new(g, "batchnorm", x->ndim, x->shape, &y));
    batchnorm_forward(N, C, x->data, s->mean, s->rstd, gamma ? gamma->data : NULL,
                      beta ? beta->data : NULL, y->data);
    APX__TRY(apx__record(g, "batchnorm", batchnorm_backward, y, 3, in, s));
    apx__set_rop(g, y, bn_jvp, bn_rback);
    *out = y;
    return APX_OK;
}
