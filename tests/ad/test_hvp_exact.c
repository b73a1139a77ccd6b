/* tests/ad/test_hvp_exact.c: the forward-over-reverse Hessian-vector product through every
 * op that has a rule, in one small model (embedding, layernorm, matmul_bt, bias, gelu,
 * dropout, silu, concat, transpose, rmsnorm, slice, reshape, matmul, cross-entropy,
 * softmax, log_softmax, mul, mean, tanh, scale, sum, add, sub, sigmoid), against H v of a
 * double re-implementation by mixed central second differences (accurate to ~1e-8); the
 * AUTO fallback and the EXACT error on an op without a rule (PowerNorm's training mode). */
#include <stdio.h>
#include <stdlib.h>

#include "test_ad_check.h"

enum { HV = 5, HC = 4, HH = 6, HB = 2, HT = 3, HO = 3 };
enum { O_E = 0, O_G1 = O_E + HV * HC, O_B1 = O_G1 + HC, O_W1 = O_B1 + HC, O_C1 = O_W1 + HH * HC,
       O_G2 = O_C1 + HH, O_W2 = O_G2 + 2 * HH, HNP = O_W2 + 2 * HH * HO };

typedef struct {
    int32_t ids[HB * HT], tg[HB * 2];
    float mask[HB * HT * HH]; /* the dropout's keep / (1 - p), read from the engine */
    int unsupported;          /* use PowerNorm in training mode (no rule) instead of gelu */
} hmodel;

static apx_status hmodel_loss(void *ctx, apx_graph *g, apx_params *p, apx_tensor **loss) {
    const hmodel *m = ctx;
    apx_tensor *P[7], *x, *a, *c2[2], *c, *t, *r, *s, *lg, *ce, *sm, *ls, *q, *e, *u;
    for (int i = 0; i < 7; i++) ADC_TRY(apx_ad_param(g, p, i, &P[i]));
    ADC_TRY(apx_ad_embedding(g, P[0], m->ids, 2, (int64_t[]){HB, HT}, &x));  // (B,T,C)
    ADC_TRY(apx_ad_layernorm(g, x, P[1], P[2], 1e-5f, &x));
    ADC_TRY(apx_ad_matmul_bt(g, x, P[3], &a));                              // (B,T,H)
    ADC_TRY(apx_ad_bias(g, a, P[4], &a));
    if (m->unsupported) { /* PowerNorm's training mode: an approximate backward, no rule */
        static float phi[HH], ema[HH];
        apx_powernorm_state st = {phi, ema, 0};
        apx_powernorm_opts o = apx_powernorm_opts_default();
        for (int i = 0; i < HH; i++) phi[i] = 1, ema[i] = 0;
        ADC_TRY(apx_ad_powernorm(g, a, NULL, NULL, &o, &st, &a));
    } else {
        ADC_TRY(apx_ad_gelu(g, a, APX_GELU_ERF, &a));
    }
    ADC_TRY(apx_ad_dropout(g, a, 0.25f, 11, 3, &a));
    c2[0] = a;
    ADC_TRY(apx_ad_silu(g, a, &c2[1]));
    ADC_TRY(apx_ad_concat(g, 2, c2, -1, &c));                               // (B,T,2H)
    ADC_TRY(apx_ad_transpose(g, c, &t));                                    // (B,2H,T)
    ADC_TRY(apx_ad_transpose(g, t, &t));
    ADC_TRY(apx_ad_rmsnorm(g, t, P[5], 1e-5f, &r));
    ADC_TRY(apx_ad_slice(g, r, 1, 1, 2, &s));                               // (B,2,2H)
    ADC_TRY(apx_ad_reshape(g, s, 2, (int64_t[]){HB * 2, 2 * HH}, &s));
    ADC_TRY(apx_ad_matmul(g, s, P[6], &lg));                                // (4,O)
    ADC_TRY(apx_ad_cross_entropy(g, lg, m->tg, &ce));
    ADC_TRY(apx_ad_softmax(g, lg, &sm));
    ADC_TRY(apx_ad_log_softmax(g, lg, &ls));
    ADC_TRY(apx_ad_mul(g, sm, ls, &q));
    ADC_TRY(apx_ad_mean(g, q, &q));                                         // -entropy
    ADC_TRY(apx_ad_scale(g, lg, 0.3f, &e));
    ADC_TRY(apx_ad_tanh(g, e, &e));
    ADC_TRY(apx_ad_sigmoid(g, e, &u));
    ADC_TRY(apx_ad_sub(g, e, u, &e));
    ADC_TRY(apx_ad_sum(g, e, &e));
    ADC_TRY(apx_ad_scale(g, e, 0.1f, &e));
    ADC_TRY(apx_ad_add(g, ce, q, &ce));
    return apx_ad_add(g, ce, e, loss);
}

static double sigm(double z) { return 1 / (1 + exp(-z)); }

/* The same loss in double. */
static double hmodel_ref(const hmodel *m, const double *th) {
    double a[HB * HT][HH], c[HB * HT][2 * HH], lg[HB * 2][HO], tot = 0;
    for (int n = 0; n < HB * HT; n++) {
        const double *e = th + O_E + m->ids[n] * HC;
        double mu = 0, v = 0, x[HC];
        for (int k = 0; k < HC; k++) mu += e[k] / HC;
        for (int k = 0; k < HC; k++) v += (e[k] - mu) * (e[k] - mu) / HC;
        for (int k = 0; k < HC; k++) x[k] = (e[k] - mu) / sqrt(v + 1e-5) * th[O_G1 + k] + th[O_B1 + k];
        for (int j = 0; j < HH; j++) {
            double z = th[O_C1 + j];
            for (int k = 0; k < HC; k++) z += x[k] * th[O_W1 + j * HC + k];
            a[n][j] = 0.5 * z * (1 + erf(z / sqrt(2.0))) * m->mask[n * HH + j];
            c[n][j] = a[n][j];
            c[n][HH + j] = a[n][j] * sigm(a[n][j]);
        }
        double ms = 0;
        for (int k = 0; k < 2 * HH; k++) ms += c[n][k] * c[n][k] / (2 * HH);
        for (int k = 0; k < 2 * HH; k++) c[n][k] = c[n][k] / sqrt(ms + 1e-5) * th[O_G2 + k];
    }
    for (int b = 0; b < HB; b++)
        for (int i = 0; i < 2; i++)
            for (int o = 0; o < HO; o++) {
                double z = 0;
                for (int k = 0; k < 2 * HH; k++) z += c[b * HT + 1 + i][k] * th[O_W2 + k * HO + o];
                lg[b * 2 + i][o] = z;
            }
    double ce = 0, ent = 0;
    for (int r = 0; r < HB * 2; r++) {
        double mx = -INFINITY, s = 0;
        for (int o = 0; o < HO; o++) mx = fmax(mx, lg[r][o]);
        for (int o = 0; o < HO; o++) s += exp(lg[r][o] - mx);
        double lse = mx + log(s);
        ce += (lse - lg[r][m->tg[r]]) / (HB * 2);
        for (int o = 0; o < HO; o++) {
            double t = tanh(0.3 * lg[r][o]);
            ent += exp(lg[r][o] - lse) * (lg[r][o] - lse) / (HB * 2 * HO);
            tot += 0.1 * (t - sigm(t));
        }
    }
    return ce + ent + tot;
}

/* H v by mixed central second differences of the double loss (h = 1e-4: ~1e-8 error). */
static void ref_hv(const hmodel *m, const float *theta, const double *v, double *hv) {
    double th[HNP], h = 1e-4;
    for (int i = 0; i < HNP; i++) {
        double f[4];
        for (int s = 0; s < 4; s++) {
            double si = s < 2 ? h : -h, sv = s % 2 ? -h : h;
            for (int j = 0; j < HNP; j++) th[j] = theta[j] + sv * v[j] + (j == i ? si : 0);
            f[s] = hmodel_ref(m, th);
        }
        hv[i] = (f[0] - f[1] - f[2] + f[3]) / (4 * h * h);
    }
}

static apx_params *hmodel_params(void) {
    apx_params *p = NULL;
    int64_t s[7][2] = {{HV, HC}, {HC, 1}, {HC, 1}, {HH, HC}, {HH, 1}, {2 * HH, 1}, {2 * HH, HO}};
    int nd[7] = {2, 1, 1, 2, 1, 1, 2};
    const char *names[7] = {"E", "g1", "b1", "W1", "c1", "g2", "W2"};
    if (apx_params_create(&p)) return NULL;
    for (int i = 0; i < 7; i++)
        if (apx_params_add(p, names[i], nd[i], s[i], NULL)) goto fail;
    if (apx_params_finalize(p)) goto fail;
    for (int i = 0; i < 7; i++)
        if (apx_params_fill_normal(p, i, 31, i == 1 || i == 5 ? 1.0f : 0.0f, 0.6f)) goto fail;
    return p;
fail:
    apx_params_free(p);
    return NULL;
}

static void hmodel_data(hmodel *m, apx_graph *g) {
    for (int n = 0; n < HB * HT; n++) m->ids[n] = (n * 3 + 1) % HV;
    for (int r = 0; r < HB * 2; r++) m->tg[r] = (r * 2 + 1) % HO;
    m->unsupported = 0;
    apx_tensor *one, *d;
    float ones[HB * HT * HH];
    for (int i = 0; i < HB * HT * HH; i++) ones[i] = 1;
    apx_graph_reset(g);
    if (apx_ad_tensor_from(g, 3, (int64_t[]){HB, HT, HH}, ones, 0, &one) ||
        apx_ad_dropout(g, one, 0.25f, 11, 3, &d))
        return;
    memcpy(m->mask, d->data, sizeof m->mask);
}

/* The model's parameters, a graph and the data; 0 on failure. */
static int hmodel_setup(hmodel *m, apx_params **p, apx_graph **g) {
    *g = NULL;
    if (!(*p = hmodel_params()) || apx_params_size(*p) != HNP || apx_graph_create(NULL, g)) {
        apx_params_free(*p);
        return 0;
    }
    hmodel_data(m, *g);
    return 1;
}

TEST(ad_hvp_exact_all_ops) {
    hmodel m;
    apx_params *p;
    apx_graph *g;
    REQUIRE(hmodel_setup(&m, &p, &g));
    double loss, th[HNP];
    REQUIRE_OK(apx_ad_value_and_grad(g, p, hmodel_loss, &m, &loss));
    for (int i = 0; i < HNP; i++) th[i] = apx_params_data(p)[i];
    CHECK_NEAR(loss, hmodel_ref(&m, th), 1e-5, 1e-5); /* the reference is the same model */
    double worst = 0;
    for (int r = 0; r < 2; r++) {
        double vd[HNP], ref[HNP], scale = 0, err = 0;
        float v[HNP], hv[HNP];
        apx_rng_fill_normal(40 + r, 0, vd, HNP);
        for (int i = 0; i < HNP; i++) v[i] = (float)vd[i], vd[i] = v[i];
        apx_hvp_info info = {0, NULL, 0};
        apx_hvp_opts o = apx_hvp_opts_default();
        o.info = &info;
        REQUIRE_OK(apx_ad_hvp(g, p, hmodel_loss, &m, v, hv, &o));
        CHECK(info.exact == 1 && info.gradients == 1);
        ref_hv(&m, apx_params_data(p), vd, ref);
        for (int i = 0; i < HNP; i++) scale = fmax(scale, fabs(ref[i]));
        for (int i = 0; i < HNP; i++) err = fmax(err, fabs(hv[i] - ref[i]));
        worst = fmax(worst, err / scale);
    }
    /* hv may be v itself */
    float v2[HNP], hv2[HNP];
    for (int i = 0; i < HNP; i++) v2[i] = (float)((i % 5) - 2) * 0.3f;
    REQUIRE_OK(apx_ad_hvp(g, p, hmodel_loss, &m, v2, hv2, NULL));
    REQUIRE_OK(apx_ad_hvp(g, p, hmodel_loss, &m, v2, v2, NULL));
    CHECK(!memcmp(v2, hv2, sizeof v2));
    if (getenv("APX_TEST_VERBOSE"))
        printf("    exact hvp through all ops (%d parameters): relative error %.2e\n", HNP,
               worst);
    CHECK(worst < 1e-5);
    apx_graph_free(g);
    apx_params_free(p);
}

TEST(ad_hvp_exact_fallback) {
    hmodel m;
    apx_params *p;
    apx_graph *g;
    REQUIRE(hmodel_setup(&m, &p, &g));
    m.unsupported = 1;
    float v[HNP], hv[HNP];
    for (int i = 0; i < HNP; i++) v[i] = (float)((i % 7) - 3) * 0.1f;
    ADC_HVP_FALLBACK(g, p, hmodel_loss, &m, v, hv, "powernorm");
    apx_graph_free(g);
    apx_params_free(p);
}
