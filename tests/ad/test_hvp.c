/* tests/ad/test_hvp.c: value_and_grad and Hessian-vector products of a 2-layer tanh MLP
 * (quadratic loss, and softmax cross-entropy) against the exact Hessian, computed here in
 * double by central differences (step 1e-6) of the analytic gradient; bad input. */
#include <stdio.h>
#include <stdlib.h>

#include "test_ad_check.h"

enum { NS = 12, NI = 3, NH = 5, NO = 4 };
enum { OFF_W1 = 0, OFF_B1 = NH * NI, OFF_W2 = OFF_B1 + NH, OFF_B2 = OFF_W2 + NO * NH,
       NP = OFF_B2 + NO };

typedef struct {
    float X[NS * NI], Y[NS * NO];
    int32_t t[NS];
    int ce; /* cross-entropy (1) or quadratic (0) loss */
    int fail;
} mlp;

/* The model in the engine: out = tanh(X W1^T + b1) W2^T + b2, then the loss. */
static apx_status mlp_loss(void *ctx, apx_graph *g, apx_params *p, apx_tensor **loss) {
    const mlp *m = ctx;
    if (m->fail) return APX_ENUMERIC;
    apx_tensor *X, *W1, *b1, *W2, *b2, *a, *ab, *h, *o, *ob;
    ADC_TRY(apx_ad_tensor_from(g, 2, (int64_t[]){NS, NI}, m->X, 0, &X));
    ADC_TRY(apx_ad_param(g, p, 0, &W1));
    ADC_TRY(apx_ad_param(g, p, 1, &b1));
    ADC_TRY(apx_ad_param(g, p, 2, &W2));
    ADC_TRY(apx_ad_param(g, p, 3, &b2));
    ADC_TRY(apx_ad_matmul_bt(g, X, W1, &a));
    ADC_TRY(apx_ad_bias(g, a, b1, &ab));
    ADC_TRY(apx_ad_tanh(g, ab, &h));
    ADC_TRY(apx_ad_matmul_bt(g, h, W2, &o));
    ADC_TRY(apx_ad_bias(g, o, b2, &ob));
    if (m->ce) return apx_ad_cross_entropy(g, ob, m->t, loss);
    apx_tensor *Y, *d, *d2, *s;
    ADC_TRY(apx_ad_tensor_from(g, 2, (int64_t[]){NS, NO}, m->Y, 0, &Y));
    ADC_TRY(apx_ad_sub(g, ob, Y, &d));
    ADC_TRY(apx_ad_mul(g, d, d, &d2));
    ADC_TRY(apx_ad_sum(g, d2, &s));
    return apx_ad_scale(g, s, 0.5f / NS, loss);
}

/* The analytic gradient in double (same packing as the table: W1, b1, W2, b2). */
static void mlp_grad_double(const mlp *m, const double *th, double *gr) {
    double h[NS * NH], dout[NS * NO], dh[NS * NH];
    memset(gr, 0, sizeof(double) * NP);
    for (int n = 0; n < NS; n++) {
        for (int j = 0; j < NH; j++) {
            double a = th[OFF_B1 + j];
            for (int i = 0; i < NI; i++) a += m->X[n * NI + i] * th[OFF_W1 + j * NI + i];
            h[n * NH + j] = tanh(a);
        }
        double o[NO], mx = -INFINITY, z = 0;
        for (int k = 0; k < NO; k++) {
            o[k] = th[OFF_B2 + k];
            for (int j = 0; j < NH; j++) o[k] += h[n * NH + j] * th[OFF_W2 + k * NH + j];
            mx = fmax(mx, o[k]);
        }
        for (int k = 0; k < NO; k++) z += exp(o[k] - mx);
        for (int k = 0; k < NO; k++)
            dout[n * NO + k] = m->ce ? (exp(o[k] - mx) / z - (k == m->t[n])) / NS
                                     : (o[k] - m->Y[n * NO + k]) / NS;
    }
    for (int n = 0; n < NS; n++) {
        for (int k = 0; k < NO; k++) {
            gr[OFF_B2 + k] += dout[n * NO + k];
            for (int j = 0; j < NH; j++) gr[OFF_W2 + k * NH + j] += dout[n * NO + k] * h[n * NH + j];
        }
        for (int j = 0; j < NH; j++) {
            double s = 0;
            for (int k = 0; k < NO; k++) s += dout[n * NO + k] * th[OFF_W2 + k * NH + j];
            dh[n * NH + j] = s * (1 - h[n * NH + j] * h[n * NH + j]);
            gr[OFF_B1 + j] += dh[n * NH + j];
            for (int i = 0; i < NI; i++) gr[OFF_W1 + j * NI + i] += dh[n * NH + j] * m->X[n * NI + i];
        }
    }
}

/* Exact Hessian (NP x NP) by central differences of the double gradient. */
static void mlp_hessian(const mlp *m, const float *theta, double *Hm) {
    double th[NP], gp[NP], gm[NP];
    for (int i = 0; i < NP; i++) th[i] = theta[i];
    for (int i = 0; i < NP; i++) {
        double t0 = th[i], h = 1e-6;
        th[i] = t0 + h;
        mlp_grad_double(m, th, gp);
        th[i] = t0 - h;
        mlp_grad_double(m, th, gm);
        th[i] = t0;
        for (int j = 0; j < NP; j++) Hm[j * NP + i] = (gp[j] - gm[j]) / (2 * h);
    }
}

static apx_params *mlp_params(void) {
    apx_params *p = NULL;
    int64_t s[4][2] = {{NH, NI}, {NH, 1}, {NO, NH}, {NO, 1}};
    const char *names[4] = {"W1", "b1", "W2", "b2"};
    if (apx_params_create(&p)) return NULL;
    for (int i = 0; i < 4; i++)
        if (apx_params_add(p, names[i], i % 2 ? 1 : 2, s[i], NULL)) goto fail;
    if (apx_params_finalize(p)) goto fail;
    for (int i = 0; i < 4; i++)
        if (apx_params_fill_normal(p, i, 77, 0.0f, 0.7f)) goto fail;
    return p;
fail:
    apx_params_free(p);
    return NULL;
}

static void mlp_data(mlp *m, int ce) {
    double buf[NS * (NI + NO)];
    apx_rng_fill_normal(5, 0, buf, NS * (NI + NO));
    for (int i = 0; i < NS * NI; i++) m->X[i] = (float)buf[i];
    for (int i = 0; i < NS * NO; i++) m->Y[i] = (float)buf[NS * NI + i];
    for (int n = 0; n < NS; n++) m->t[n] = (n * 7 + 3) % NO;
    m->ce = ce;
    m->fail = 0;
}

/* max_i |hv - H v|_i / max_i |H v|_i over three random directions. */
static double hvp_error_m(apx_graph *g, apx_params *p, mlp *m, const double *Hm,
                          apx_hvp_method method, int order, double step, apx_hvp_info *info) {
    double worst = 0;
    for (int r = 0; r < 3; r++) {
        float v[NP], hv[NP];
        double vd[NP], ref[NP], scale = 0, err = 0;
        apx_rng_fill_normal(900 + r, 0, vd, NP);
        for (int i = 0; i < NP; i++) v[i] = (float)vd[i];
        apx_hvp_opts o = apx_hvp_opts_default();
        o.order = order;
        o.step = step;
        o.method = method;
        o.info = info;
        if (apx_ad_hvp(g, p, mlp_loss, m, v, hv, &o) != APX_OK) return INFINITY;
        for (int i = 0; i < NP; i++) {
            ref[i] = 0;
            for (int j = 0; j < NP; j++) ref[i] += Hm[i * NP + j] * v[j];
            scale = fmax(scale, fabs(ref[i]));
        }
        for (int i = 0; i < NP; i++) err = fmax(err, fabs(hv[i] - ref[i]));
        worst = fmax(worst, err / scale);
    }
    return worst;
}

/* The difference method. */
static double hvp_error(apx_graph *g, apx_params *p, mlp *m, const double *Hm, int order,
                        double step) {
    return hvp_error_m(g, p, m, Hm, APX_HVP_DIFF, order, step, NULL);
}

/* Documented accuracy with the automatic step: ~1e-4 relative (apx/ad.h); the checks allow
 * 1e-3, against O(1) errors for a wrong Hessian. */
TEST(ad_hvp_matches_exact_hessian) {
    for (int ce = 0; ce < 2; ce++) {
        mlp m;
        mlp_data(&m, ce);
        apx_params *p = mlp_params();
        apx_graph *g;
        REQUIRE(p);
        REQUIRE_OK(apx_graph_create(NULL, &g));
        REQUIRE(apx_params_size(p) == NP);
        /* the gradient itself first: engine (float) against the double one */
        double loss, gd[NP], th[NP];
        REQUIRE_OK(apx_ad_value_and_grad(g, p, mlp_loss, &m, &loss));
        for (int i = 0; i < NP; i++) th[i] = apx_params_data(p)[i];
        mlp_grad_double(&m, th, gd);
        for (int i = 0; i < NP; i++) CHECK_NEAR(apx_params_grad(p)[i], gd[i], 1e-6, 1e-4);
        static double Hm[NP * NP];
        mlp_hessian(&m, apx_params_data(p), Hm);
        float data0[NP], grad0[NP];
        memcpy(data0, apx_params_data(p), sizeof data0);
        memcpy(grad0, apx_params_grad(p), sizeof grad0);
        double e2 = hvp_error(g, p, &m, Hm, 2, 0), e4 = hvp_error(g, p, &m, Hm, 4, 0);
        if (getenv("APX_TEST_VERBOSE")) {
            printf("    hvp %s: relative error with the automatic step: order 2 %.2e, order 4 "
                   "%.2e\n      by step h:", ce ? "cross-entropy" : "quadratic", e2, e4);
            for (double h = 2e-4; h < 0.1; h *= 4)
                printf(" %.1e: %.1e/%.1e", h, hvp_error(g, p, &m, Hm, 2, h),
                       hvp_error(g, p, &m, Hm, 4, h));
            printf("\n");
        }
        CHECK(e2 < 1e-3);
        CHECK(e4 < 1e-3);
        /* forward-over-reverse: exact up to float rounding (the reference Hessian is good
         * to ~1e-10); EXACT and AUTO take it, in one evaluation of the model */
        apx_hvp_info info = {0, "x", 0}, info2 = {0, "x", 0};
        double ex = hvp_error_m(g, p, &m, Hm, APX_HVP_EXACT, 2, 0, &info);
        double ea = hvp_error_m(g, p, &m, Hm, APX_HVP_AUTO, 2, 0, &info2);
        if (getenv("APX_TEST_VERBOSE"))
            printf("    hvp %s: forward-over-reverse relative error %.2e\n",
                   ce ? "cross-entropy" : "quadratic", ex);
        CHECK(ex < 1e-5 && ea == ex);
        CHECK(info.exact == 1 && info.fallback_op == NULL && info.gradients == 1);
        CHECK(info2.exact == 1);
        apx_hvp_info info3;
        hvp_error_m(g, p, &m, Hm, APX_HVP_DIFF, 4, 0, &info3);
        CHECK(info3.exact == 0 && info3.gradients == 4 && info3.fallback_op == NULL);
        /* parameters and gradients restored exactly */
        CHECK(!memcmp(data0, apx_params_data(p), sizeof data0));
        CHECK(!memcmp(grad0, apx_params_grad(p), sizeof grad0));
        apx_graph_free(g);
        apx_params_free(p);
    }
}

TEST(ad_hvp_bad_input) {
    mlp m;
    mlp_data(&m, 0);
    apx_params *p = mlp_params(), *q;
    apx_graph *g;
    REQUIRE(p);
    REQUIRE_OK(apx_graph_create(NULL, &g));
    float v[NP], hv[NP];
    for (int i = 0; i < NP; i++) v[i] = 1;
    apx_hvp_opts o = apx_hvp_opts_default();
    CHECK_STATUS(apx_ad_hvp(g, p, mlp_loss, &m, NULL, hv, &o), APX_EINVAL);
    CHECK_STATUS(apx_ad_hvp(g, p, mlp_loss, &m, v, NULL, &o), APX_EINVAL);
    CHECK_STATUS(apx_ad_hvp(g, p, NULL, &m, v, hv, &o), APX_EINVAL);
    CHECK_STATUS(apx_ad_hvp(NULL, p, mlp_loss, &m, v, hv, &o), APX_EINVAL);
    CHECK_STATUS(apx_ad_hvp(g, NULL, mlp_loss, &m, v, hv, &o), APX_EINVAL);
    o.order = 3;
    CHECK_STATUS(apx_ad_hvp(g, p, mlp_loss, &m, v, hv, &o), APX_EINVAL);
    o = apx_hvp_opts_default();
    o.method = (apx_hvp_method)3;
    CHECK_STATUS(apx_ad_hvp(g, p, mlp_loss, &m, v, hv, &o), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "method"));
    o = apx_hvp_opts_default();
    o.step = -1;
    CHECK_STATUS(apx_ad_hvp(g, p, mlp_loss, &m, v, hv, &o), APX_EINVAL);
    o.step = 0;
    v[3] = NAN;
    CHECK_STATUS(apx_ad_hvp(g, p, mlp_loss, &m, v, hv, &o), APX_EINVAL);
    memset(v, 0, sizeof v);
    CHECK_STATUS(apx_ad_hvp(g, p, mlp_loss, &m, v, hv, &o), APX_EINVAL);
    v[0] = 1;
    float data0[NP];
    memcpy(data0, apx_params_data(p), sizeof data0);
    m.fail = 1; /* the model's error comes back, parameters restored */
    CHECK_STATUS(apx_ad_hvp(g, p, mlp_loss, &m, v, hv, &o), APX_ENUMERIC);
    CHECK(!memcmp(data0, apx_params_data(p), sizeof data0));
    CHECK_STATUS(apx_ad_value_and_grad(g, p, mlp_loss, &m, NULL), APX_ENUMERIC);
    m.fail = 0;
    REQUIRE_OK(apx_params_create(&q));
    CHECK_STATUS(apx_ad_value_and_grad(g, q, mlp_loss, &m, NULL), APX_EINVAL);
    apx_params_free(q);
    apx_graph_free(g);
    apx_params_free(p);
}
