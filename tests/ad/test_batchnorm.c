/* tests/ad/test_batchnorm.c: BatchNorm over batch and time (P012's baseline): the exact
 * gradient of the training mode (through the batch mean and variance) and of the eval mode
 * against central differences of a double reference, the running statistics against
 * PyTorch's update rule computed in double, bad input. */
#include <stdlib.h>

#include "test_ad_check.h"

typedef struct {
    apx_batchnorm_opts o;
    const float *rmean, *rvar; /* eval mode */
    int affine;
} bn_args;

/* (x - mean) / sqrt(var + eps) * gamma + beta per channel, statistics over the N rows. */
static void ref_batchnorm(const adc_case *c, double *const *x, double *y) {
    const bn_args *a = c->ctx;
    int64_t C = c->shape[0][c->ndim[0] - 1], N = adc_size(c, 0) / C;
    for (int64_t j = 0; j < C; j++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < N; i++) m += x[0][i * C + j] / N;
        for (int64_t i = 0; i < N; i++) v += (x[0][i * C + j] - m) * (x[0][i * C + j] - m) / N;
        if (a->o.mode == APX_BATCHNORM_EVAL) m = a->rmean[j], v = a->rvar[j];
        for (int64_t i = 0; i < N; i++) {
            double h = (x[0][i * C + j] - m) / sqrt(v + a->o.eps);
            y[i * C + j] = a->affine ? x[1][j] * h + x[2][j] : h;
        }
    }
}
static apx_status build_batchnorm(const adc_case *c, apx_graph *g, apx_tensor **in,
                                  apx_tensor **out) {
    const bn_args *a = c->ctx;
    apx_batchnorm_state st = {(float *)a->rmean, (float *)a->rvar, 0};
    return apx_ad_batchnorm(g, in[0], a->affine ? in[1] : NULL, a->affine ? in[2] : NULL,
                            &a->o, a->rmean ? &st : NULL, out);
}

TEST(ad_batchnorm_grad) {
    static const float rmean[6] = {0.1f, -0.3f, 0.5f, 0.0f, 1.0f, -1.0f};
    static const float rvar[6] = {0.5f, 1.5f, 2.0f, 0.8f, 1.0f, 3.0f};
    bn_args a = {apx_batchnorm_opts_default(), NULL, NULL, 1};
    adc_case c = {.name = "batchnorm train (B,T,C)", .n_in = 3, .ndim = {3, 1, 1},
                  .shape = {{2, 4, 6}, {6}, {6}}, .grad = {1, 1, 1}, .scale = {1.5, 1, 1},
                  .shift = {0.3, 1, 0}, .ref = ref_batchnorm, .build = build_batchnorm,
                  .ctx = &a, .seed = 240};
    ADC_RUN(&c);
    ADC_HVP(&c);
    bn_args ap = {apx_batchnorm_opts_default(), NULL, NULL, 0};
    ap.o.eps = 1e-3f;
    adc_case c2 = {.name = "batchnorm train plain (N,C)", .n_in = 1, .ndim = {2},
                   .shape = {{9, 5}}, .grad = {1}, .ref = ref_batchnorm,
                   .build = build_batchnorm, .ctx = &ap, .seed = 241};
    ADC_RUN(&c2);
    ADC_HVP(&c2);
    bn_args ae = {apx_batchnorm_opts_default(), rmean, rvar, 1};
    ae.o.mode = APX_BATCHNORM_EVAL;
    c.name = "batchnorm eval";
    c.ctx = &ae;
    ADC_RUN(&c);
    ADC_HVP(&c);
}

/* Two training steps update the running statistics as PyTorch's BatchNorm1d
 * (momentum 0.1, unbiased variance); eval then normalises with them. */
TEST(ad_batchnorm_running_stats) {
    enum { N = 12, C = 3 };
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    float rm[C] = {0, 0, 0}, rv[C] = {1, 1, 1}, xs[N * C];
    double em[C] = {0, 0, 0}, ev[C] = {1, 1, 1};
    apx_batchnorm_state st = {rm, rv, 0};
    apx_rng r;
    apx_rng_init(&r, 7, 0);
    apx_tensor *x, *y;
    for (int step = 0; step < 2; step++) {
        for (int i = 0; i < N * C; i++) xs[i] = (float)(2 * apx_rng_normal(&r) + step + 0.5 * (i % C));
        REQUIRE_OK(apx_ad_tensor_from(g, 2, (int64_t[]){N, C}, xs, 1, &x));
        REQUIRE_OK(apx_ad_batchnorm(g, x, NULL, NULL, NULL, &st, &y));
        for (int j = 0; j < C; j++) {
            double m = 0, v = 0;
            for (int i = 0; i < N; i++) m += xs[i * C + j] / (double)N;
            for (int i = 0; i < N; i++) v += (xs[i * C + j] - m) * (xs[i * C + j] - m);
            em[j] = 0.9 * em[j] + 0.1 * m;
            ev[j] = 0.9 * ev[j] + 0.1 * v / (N - 1);
        }
    }
    CHECK(st.iters == 2);
    for (int j = 0; j < C; j++) {
        CHECK_NEAR(rm[j], em[j], 1e-6, 1e-5);
        CHECK_NEAR(rv[j], ev[j], 1e-6, 1e-5);
    }
    apx_batchnorm_opts o = apx_batchnorm_opts_default();
    o.mode = APX_BATCHNORM_EVAL;
    REQUIRE_OK(apx_ad_batchnorm(g, x, NULL, NULL, &o, &st, &y));
    CHECK(st.iters == 2);
    for (int i = 0; i < N * C; i++)
        CHECK_NEAR(y->data[i], (xs[i] - em[i % C]) / sqrt(ev[i % C] + 1e-5), 1e-5, 1e-5);
    apx_graph_free(g);
}

TEST(ad_batchnorm_bad_input) {
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    apx_tensor *x, *x1, *v4, *v5, *y;
    REQUIRE_OK(apx_ad_tensor(g, 2, (int64_t[]){3, 4}, 1, &x));
    REQUIRE_OK(apx_ad_tensor(g, 2, (int64_t[]){1, 4}, 1, &x1));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){4}, 1, &v4));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){5}, 1, &v5));
    float rm[4] = {0}, rv[4] = {1, 1, 1, 1};
    apx_batchnorm_state st = {rm, rv, 0};
    apx_batchnorm_opts o = apx_batchnorm_opts_default();
    CHECK_STATUS(apx_ad_batchnorm(NULL, x, v4, v4, &o, &st, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_batchnorm(g, NULL, v4, v4, &o, &st, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_batchnorm(g, x, v4, v4, &o, &st, NULL), APX_EINVAL);
    CHECK_STATUS(apx_ad_batchnorm(g, x, v5, v4, &o, &st, &y), APX_ESHAPE);
    CHECK(strstr(apx_last_error(), "batchnorm") && strstr(apx_last_error(), "gamma"));
    CHECK_STATUS(apx_ad_batchnorm(g, x1, v4, v4, &o, &st, &y), APX_EINVAL); /* N = 1 */
    CHECK(strstr(apx_last_error(), "N = 1"));
    o.momentum = 1.5f;
    CHECK_STATUS(apx_ad_batchnorm(g, x, v4, v4, &o, &st, &y), APX_EINVAL);
    o = apx_batchnorm_opts_default();
    o.eps = 0;
    CHECK_STATUS(apx_ad_batchnorm(g, x, v4, v4, &o, &st, &y), APX_EINVAL);
    o = apx_batchnorm_opts_default();
    o.mode = (apx_batchnorm_mode)5;
    CHECK_STATUS(apx_ad_batchnorm(g, x, v4, v4, &o, &st, &y), APX_EINVAL);
    o.mode = APX_BATCHNORM_EVAL;
    CHECK_STATUS(apx_ad_batchnorm(g, x, v4, v4, &o, NULL, &y), APX_EINVAL);
    rv[1] = -1;
    CHECK_STATUS(apx_ad_batchnorm(g, x, v4, v4, &o, &st, &y), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "running_var"));
    rv[1] = 1;
    rm[2] = NAN;
    CHECK_STATUS(apx_ad_batchnorm(g, x, v4, v4, &o, &st, &y), APX_EINVAL);
    rm[2] = 0;
    CHECK_OK(apx_ad_batchnorm(g, x1, v4, v4, &o, &st, &y)); /* eval works on one token */
    CHECK_OK(apx_ad_batchnorm(g, x, NULL, NULL, NULL, NULL, &y)); /* train, no running stats */
    apx_graph_free(g);
}
