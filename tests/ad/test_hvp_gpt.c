/* tests/ad/test_hvp_gpt.c: exact Hessian-vector products of the whole GPT (apx/nn.h) by
 * forward-over-reverse, for every norm and activation of the model configuration, against
 * a double re-implementation of the model (written here from the description in nn.h):
 * projections u^T (H v) against mixed central second differences of the double loss along
 * u and v (step 1e-4 on unit directions: error ~1e-8). The AUTO method takes the exact
 * path for every configuration; PowerNorm's training mode (an approximate backward, not a
 * gradient) makes it fall back to differences, naming the op. */
#include <stdio.h>
#include <stdlib.h>

#include "apx/nn.h"
#include "test_ad_check.h"

enum { GL = 2, GC = 16, GH = 2, GT = 8, GV = 16, GF = 4 * GC, GB = 2, GN = GB * GT };

typedef struct {
    apx_gpt *m;
    int32_t ids[GN], tg[GN];
    int training;
} gctx;

static apx_status gpt_loss(void *ctx, apx_graph *g, apx_params *p, apx_tensor **loss) {
    gctx *c = ctx;
    apx_gpt_forward_opts o = apx_gpt_forward_opts_default();
    o.training = c->training;
    (void)p;
    return apx_gpt_forward(c->m, g, c->ids, c->tg, GB, GT, &o, NULL, loss);
}

/* ---------------------------------------------------------------- the double model */

typedef struct {
    const gctx *c;
    const apx_gpt_config *cfg;
    apx_params *p;
    const double *th; /* the parameters, in the table's layout */
} gref;

/* Group `name` of the parameters (or of the live buffers with buf = 1). */
static const double *par(const gref *r, const char *name) {
    int64_t idx;
    apx_param_info info;
    if (apx_params_find(r->p, name, &idx) || apx_params_info(r->p, idx, &info)) return NULL;
    return r->th + info.offset;
}
static const float *buf(const gref *r, const char *name) {
    apx_gpt_buffer b;
    for (int64_t i = 0; i < apx_gpt_buffer_count(r->c->m); i++)
        if (!apx_gpt_buffer_get(r->c->m, i, &b) && !strcmp(b.name, name)) return b.data;
    return NULL;
}
static const double *parf(const gref *r, const char *pre, const char *what) {
    char name[64];
    snprintf(name, sizeof name, "%s.%s", pre, what);
    return par(r, name);
}

/* Row norms of x (n, C): layernorm, rmsnorm, polynorm, and PowerNorm's GroupScaling. */
static void row_norm(const gref *r, const char *pre, int64_t n, double *x) {
    const double *w = parf(r, pre, "weight"), *b = parf(r, pre, "bias");
    double eps = r->cfg->norm_eps;
    for (int64_t i = 0; i < n; i++) {
        double *v = x + i * GC, m = 0, s = 0, y[GC];
        for (int k = 0; k < GC; k++) m += v[k] / GC;
        for (int k = 0; k < GC; k++) s += v[k] * v[k] / GC;
        switch (r->cfg->norm) {
        case APX_NN_LAYERNORM: {
            double var = s - m * m;
            for (int k = 0; k < GC; k++) y[k] = (v[k] - m) / sqrt(var + eps) * w[k] + b[k];
            break;
        }
        case APX_NN_RMSNORM:
            for (int k = 0; k < GC; k++) y[k] = v[k] / sqrt(s + eps) * w[k];
            break;
        case APX_NN_POLYNORM:
            for (int k = 0; k < GC; k++) y[k] = b[0];
            for (int j = 0; j < 3; j++) {
                double q = 0;
                for (int k = 0; k < GC; k++) q += pow(v[k], 2 * (3 - j)) / GC;
                for (int k = 0; k < GC; k++) y[k] += w[j] * pow(v[k], 3 - j) / sqrt(q + eps);
            }
            break;
        default: /* PowerNorm's GroupScaling, one group */
            for (int k = 0; k < GC; k++) y[k] = v[k] / sqrt(s + 1e-5);
        }
        memcpy(v, y, sizeof y);
    }
}

/* Per-channel norms over the n tokens: PowerNorm (eval) and BatchNorm (train or eval). */
static void channel_norm(const gref *r, const char *pre, int64_t n, double *x) {
    const double *w = parf(r, pre, "weight"), *b = parf(r, pre, "bias");
    double eps = r->cfg->norm_eps;
    char nv[64], nm[64];
    int bn = r->cfg->norm == APX_NN_BATCHNORM;
    snprintf(nv, sizeof nv, "%s.%s", pre, bn ? "running_var" : "running_phi");
    snprintf(nm, sizeof nm, "%s.running_mean", pre);
    const float *rv = buf(r, nv), *rm = bn ? buf(r, nm) : NULL;
    for (int k = 0; k < GC; k++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < n; i++) m += x[i * GC + k] / n;
        for (int64_t i = 0; i < n; i++) v += (x[i * GC + k] - m) * (x[i * GC + k] - m) / n;
        if (!bn || !r->c->training) m = bn ? rm[k] : 0, v = rv[k];
        for (int64_t i = 0; i < n; i++)
            x[i * GC + k] = (x[i * GC + k] - m) / sqrt(v + eps) * w[k] + b[k];
    }
}

static void norm(const gref *r, const char *pre, double *x) {
    int nn = r->cfg->norm;
    if (nn == APX_NN_POWERNORM) row_norm(r, pre, GN, x);
    if (nn == APX_NN_POWERNORM || nn == APX_NN_BATCHNORM) channel_norm(r, pre, GN, x);
    else row_norm(r, pre, GN, x);
}

// y (GN, out) = x (GN, in) W^T + b
static void linear(const double *x, int64_t in, const double *W, const double *b, int64_t out,
                   double *y) {
    for (int64_t i = 0; i < GN; i++)
        for (int64_t o = 0; o < out; o++) {
            double s = b ? b[o] : 0;
            for (int64_t k = 0; k < in; k++) s += x[i * in + k] * W[o * in + k];
            y[i * out + o] = s;
        }
}

static double act(const gref *r, int layer, double z) {
    double rl = z > 0 ? z : 0;
    switch (r->cfg->act) {
    case APX_NN_RELU: return rl;
    case APX_NN_SILU: return z / (1 + exp(-z));
    case APX_NN_POLYRELU: {
        char pre[32];
        snprintf(pre, sizeof pre, "h.%d.mlp.act", layer);
        const double *w = parf(r, pre, "weight"), *b = parf(r, pre, "bias");
        return w[0] * rl * rl * rl + w[1] * rl * rl + w[2] * rl + b[0];
    }
    default: return 0.5 * z * (1 + erf(z / sqrt(2.0)));
    }
}

// a (GN, C) = causal softmax attention of qkv (GN, 3C), GH heads
static void attention(const double *qkv, double *a) {
    int D = GC / GH;
    for (int b = 0; b < GB; b++)
        for (int h = 0; h < GH; h++)
            for (int i = 0; i < GT; i++) {
                const double *q = qkv + (b * GT + i) * 3 * GC + h * D;
                double s[GT], mx = -INFINITY, z = 0;
                for (int j = 0; j <= i; j++) {
                    const double *k = qkv + (b * GT + j) * 3 * GC + GC + h * D;
                    s[j] = 0;
                    for (int d = 0; d < D; d++) s[j] += q[d] * k[d] / sqrt((double)D);
                    mx = fmax(mx, s[j]);
                }
                for (int j = 0; j <= i; j++) z += (s[j] = exp(s[j] - mx));
                for (int d = 0; d < D; d++) {
                    double o = 0;
                    for (int j = 0; j <= i; j++) o += s[j] / z * qkv[(b * GT + j) * 3 * GC + 2 * GC + h * D + d];
                    a[(b * GT + i) * GC + h * D + d] = o;
                }
            }
}

static void block(const gref *r, int l, double *x) {
    static double h[GN * GC], qkv[GN * 3 * GC], a[GN * GC], u[GN * GF];
    char pre[32], n1[32], n2[32];
    snprintf(pre, sizeof pre, "h.%d", l);
    snprintf(n1, sizeof n1, "h.%d.ln1", l);
    snprintf(n2, sizeof n2, "h.%d.ln2", l);
    memcpy(h, x, sizeof h);
    norm(r, n1, h);
    linear(h, GC, parf(r, pre, "attn.wqkv"), parf(r, pre, "attn.bqkv"), 3 * GC, qkv);
    attention(qkv, a);
    linear(a, GC, parf(r, pre, "attn.wo"), parf(r, pre, "attn.bo"), GC, h);
    for (int i = 0; i < GN * GC; i++) x[i] += h[i];
    memcpy(h, x, sizeof h);
    norm(r, n2, h);
    linear(h, GC, parf(r, pre, "mlp.w1"), parf(r, pre, "mlp.b1"), GF, u);
    for (int i = 0; i < GN * GF; i++) u[i] = act(r, l, u[i]);
    linear(u, GF, parf(r, pre, "mlp.w2"), parf(r, pre, "mlp.b2"), GC, h);
    for (int i = 0; i < GN * GC; i++) x[i] += h[i];
}

/* The mean cross-entropy of the double model at th. */
static double ref_loss(gref *r, const double *th) {
    double x[GN * GC], lg[GV], loss = 0;
    r->th = th;
    const double *wte = par(r, "wte"), *wpe = par(r, "wpe");
    for (int i = 0; i < GN; i++)
        for (int k = 0; k < GC; k++) x[i * GC + k] = wte[r->c->ids[i] * GC + k] + wpe[(i % GT) * GC + k];
    for (int l = 0; l < GL; l++) block(r, l, x);
    norm(r, "lnf", x);
    for (int i = 0; i < GN; i++) {
        double mx = -INFINITY, z = 0;
        for (int v = 0; v < GV; v++) {
            lg[v] = 0;
            for (int k = 0; k < GC; k++) lg[v] += x[i * GC + k] * wte[v * GC + k];
            mx = fmax(mx, lg[v]);
        }
        for (int v = 0; v < GV; v++) z += exp(lg[v] - mx);
        loss += (mx + log(z) - lg[r->c->tg[i]]) / GN;
    }
    return loss;
}

/* u^T H v by mixed central second differences of the double loss along unit u and v. */
static double ref_uhv(gref *r, const float *theta, const double *u, const double *v, int64_t n) {
    double *th = malloc(sizeof(double) * (size_t)n), nu = 0, nv = 0, f[4], h = 1e-4;
    for (int64_t i = 0; i < n; i++) nu += u[i] * u[i], nv += v[i] * v[i];
    nu = sqrt(nu), nv = sqrt(nv);
    for (int s = 0; s < 4; s++) {
        double su = s < 2 ? h : -h, sv = s % 2 ? -h : h;
        for (int64_t i = 0; i < n; i++) th[i] = theta[i] + su * u[i] / nu + sv * v[i] / nv;
        f[s] = ref_loss(r, th);
    }
    free(th);
    return (f[0] - f[1] - f[2] + f[3]) / (4 * h * h) * nu * nv;
}

/* ---------------------------------------------------------------- the test */

/* A tiny GPT of the given kinds with every parameter and buffer moved off its initial
 * value (so that gains, biases and running statistics all matter), and its data. */
static apx_gpt *make_gpt(apx_nn_norm nk, apx_nn_act ak, uint64_t seed, gctx *c) {
    apx_gpt_config cfg = apx_gpt_config_default();
    cfg.n_layer = GL, cfg.d_model = GC, cfg.n_head = GH, cfg.context = GT, cfg.vocab = GV;
    cfg.norm = nk, cfg.act = ak, cfg.init_std = 0.3f;
    apx_gpt *m = NULL;
    if (apx_gpt_create(&cfg, seed, &m)) return NULL;
    apx_params *p = apx_gpt_params(m);
    int64_t n = apx_params_size(p);
    double *d = malloc(sizeof(double) * (size_t)n);
    apx_rng_fill_normal(seed, 1, d, n);
    for (int64_t i = 0; i < n; i++) apx_params_data(p)[i] += (float)(0.15 * d[i]);
    for (int64_t i = 0; i < apx_gpt_buffer_count(m); i++) {
        apx_gpt_buffer b;
        if (apx_gpt_buffer_get(m, i, &b) || strstr(b.name, "iters")) continue;
        for (int64_t k = 0; k < b.size; k++) b.data[k] = 0.6f + 0.05f * (float)((k * 7 + i) % 11);
    }
    free(d);
    for (int i = 0; i < GN; i++) c->ids[i] = (i * 5 + 3) % GV, c->tg[i] = (i * 3 + 1) % GV;
    c->m = m;
    c->training = 0;
    return m;
}

/* Worst |u^T hv - ref| / (|u| |hv|) over a few directions u (v itself and random ones). */
static double gpt_hvp_error(gctx *c, apx_graph *g, const float *v, const float *hv) {
    apx_params *p = apx_gpt_params(c->m);
    int64_t n = apx_params_size(p);
    double *u = malloc(sizeof(double) * (size_t)n), *vd = malloc(sizeof(double) * (size_t)n);
    gref r = {c, apx_gpt_get_config(c->m), p, NULL};
    double worst = 0, nh = 0;
    for (int64_t i = 0; i < n; i++) vd[i] = v[i], nh += (double)hv[i] * hv[i];
    for (int k = 0; k < 3; k++) {
        if (k == 0) memcpy(u, vd, sizeof(double) * (size_t)n);
        else apx_rng_fill_normal(77, (uint64_t)k, u, n);
        double uhv = 0, nu = 0;
        for (int64_t i = 0; i < n; i++) uhv += u[i] * hv[i], nu += u[i] * u[i];
        double ref = ref_uhv(&r, apx_params_data(p), u, vd, n);
        worst = fmax(worst, fabs(uhv - ref) / sqrt(nu * nh));
    }
    (void)g;
    free(u);
    free(vd);
    return worst;
}

/* One configuration: AUTO takes the exact path, and it agrees with the double model. */
static void check_config(apx_nn_norm nk, apx_nn_act ak, int training, uint64_t seed) {
    gctx c;
    apx_graph *g = NULL;
    apx_gpt *m = make_gpt(nk, ak, seed, &c);
    REQUIRE(m && !apx_graph_create(NULL, &g));
    c.training = training;
    apx_params *p = apx_gpt_params(m);
    int64_t n = apx_params_size(p);
    float *v = malloc(sizeof(float) * (size_t)n), *hv = malloc(sizeof(float) * (size_t)n);
    double *vd = malloc(sizeof(double) * (size_t)n);
    apx_rng_fill_normal(seed, 2, vd, n);
    for (int64_t i = 0; i < n; i++) v[i] = (float)vd[i];
    apx_hvp_info info = {0, NULL, 0};
    apx_hvp_opts o = apx_hvp_opts_default();
    o.info = &info;
    CHECK_OK(apx_ad_hvp(g, p, gpt_loss, &c, v, hv, &o));
    CHECK(info.exact == 1 && info.gradients == 1 && !info.fallback_op);
    double e = gpt_hvp_error(&c, g, v, hv);
    if (getenv("APX_TEST_VERBOSE"))
        printf("    gpt %-9s %-8s %s: exact hvp (%lld parameters) vs double model: %.2e\n",
               apx_nn_norm_name(nk), apx_nn_act_name(ak), training ? "train" : "eval ",
               (long long)n, e);
    CHECK(e < 2e-5);
    free(v), free(hv), free(vd);
    apx_graph_free(g);
    apx_gpt_free(m);
}

TEST(ad_hvp_gpt_exact_every_norm) {
    for (int nk = 0; nk < APX_NN_NORM_COUNT; nk++) check_config(nk, APX_NN_GELU, 0, 90 + nk);
    check_config(APX_NN_BATCHNORM, APX_NN_GELU, 1, 96); /* batch statistics */
}

TEST(ad_hvp_gpt_exact_every_act) {
    for (int ak = 1; ak < APX_NN_ACT_COUNT; ak++)
        check_config(ak == APX_NN_POLYRELU ? APX_NN_POLYNORM : APX_NN_LAYERNORM, ak, 0, 100 + ak);
}

/* PowerNorm in training mode has no rule: AUTO falls back (naming it), EXACT fails. */
TEST(ad_hvp_gpt_powernorm_train_falls_back) {
    gctx c;
    apx_graph *g = NULL;
    apx_gpt *m = make_gpt(APX_NN_POWERNORM, APX_NN_GELU, 110, &c);
    REQUIRE(m && !apx_graph_create(NULL, &g));
    c.training = 1;
    apx_params *p = apx_gpt_params(m);
    int64_t n = apx_params_size(p);
    float *v = malloc(sizeof(float) * (size_t)n), *hv = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = (float)((i % 7) - 3) * 0.1f;
    ADC_HVP_FALLBACK(g, p, gpt_loss, &c, v, hv, "powernorm");
    free(v), free(hv);
    apx_graph_free(g);
    apx_gpt_free(m);
}
