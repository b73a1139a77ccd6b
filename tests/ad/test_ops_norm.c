/* tests/ad/test_ops_norm.c: LayerNorm, RMSNorm, PolyNorm (P044, the official formula) and
 * PowerNorm (P012: batch mode with the exact gradient by finite differences, eval mode, and
 * the training mode's running statistics and approximate backward against a double
 * re-implementation of the authors' PowerFunction over several steps), bad input. */
#include <stdlib.h>

#include "test_ad_check.h"

static int64_t last_dim(const adc_case *c) { return c->shape[0][c->ndim[0] - 1]; }

/* ---------------------------------------------------------------- LayerNorm, RMSNorm */

typedef struct { float eps; int affine; } norm_args;

static void ref_layernorm(const adc_case *c, double *const *x, double *y) {
    const norm_args *a = c->ctx;
    int64_t C = last_dim(c), N = adc_size(c, 0) / C;
    for (int64_t i = 0; i < N; i++) {
        const double *r = x[0] + i * C;
        double m = 0, v = 0;
        for (int64_t j = 0; j < C; j++) m += r[j] / C;
        for (int64_t j = 0; j < C; j++) v += (r[j] - m) * (r[j] - m) / C;
        for (int64_t j = 0; j < C; j++) {
            double h = (r[j] - m) / sqrt(v + a->eps);
            y[i * C + j] = a->affine ? h * x[1][j] + x[2][j] : h;
        }
    }
}
static apx_status build_layernorm(const adc_case *c, apx_graph *g, apx_tensor **in,
                                  apx_tensor **out) {
    const norm_args *a = c->ctx;
    return apx_ad_layernorm(g, in[0], a->affine ? in[1] : NULL, a->affine ? in[2] : NULL,
                            a->eps, out);
}

static void ref_rmsnorm(const adc_case *c, double *const *x, double *y) {
    const norm_args *a = c->ctx;
    int64_t C = last_dim(c), N = adc_size(c, 0) / C;
    for (int64_t i = 0; i < N; i++) {
        double s = 0;
        for (int64_t j = 0; j < C; j++) s += x[0][i * C + j] * x[0][i * C + j] / C;
        for (int64_t j = 0; j < C; j++)
            y[i * C + j] = x[0][i * C + j] / sqrt(s + a->eps) * (a->affine ? x[1][j] : 1.0);
    }
}
static apx_status build_rmsnorm(const adc_case *c, apx_graph *g, apx_tensor **in,
                                apx_tensor **out) {
    const norm_args *a = c->ctx;
    return apx_ad_rmsnorm(g, in[0], a->affine ? in[1] : NULL, a->eps, out);
}

TEST(ad_layernorm_rmsnorm_grad) {
    static const norm_args aff = {1e-5f, 1}, plain = {1e-3f, 0};
    adc_case ln = {.name = "layernorm", .n_in = 3, .ndim = {3, 1, 1},
                   .shape = {{2, 3, 7}, {7}, {7}}, .grad = {1, 1, 1}, .scale = {2, 1, 1},
                   .shift = {0.5, 1, 0}, .ref = ref_layernorm, .build = build_layernorm,
                   .ctx = &aff, .seed = 200};
    ADC_RUN(&ln);
    ADC_HVP(&ln);
    adc_case ln2 = {.name = "layernorm plain", .n_in = 1, .ndim = {2}, .shape = {{5, 16}},
                    .grad = {1}, .ref = ref_layernorm, .build = build_layernorm, .ctx = &plain,
                    .seed = 201};
    ADC_RUN(&ln2);
    ADC_HVP(&ln2);
    adc_case rn = {.name = "rmsnorm", .n_in = 2, .ndim = {3, 1}, .shape = {{2, 3, 7}, {7}},
                   .grad = {1, 1}, .shift = {0.3, 1}, .ref = ref_rmsnorm, .build = build_rmsnorm,
                   .ctx = &aff, .seed = 202};
    ADC_RUN(&rn);
    ADC_HVP(&rn);
    adc_case rn2 = ln2;
    rn2.name = "rmsnorm plain";
    rn2.ref = ref_rmsnorm;
    rn2.build = build_rmsnorm;
    ADC_RUN(&rn2);
    ADC_HVP(&rn2);
}

/* ---------------------------------------------------------------- PolyNorm (P044) */

/* Official: weight[0] N(x^3) + weight[1] N(x^2) + weight[2] N(x) + bias, general r. */
static void ref_polynorm(const adc_case *c, double *const *x, double *y) {
    const norm_args *a = c->ctx;
    int64_t C = last_dim(c), N = adc_size(c, 0) / C;
    int r = (int)adc_size(c, 1);
    for (int64_t i = 0; i < N; i++) {
        for (int64_t j = 0; j < C; j++) y[i * C + j] = c->n_in > 2 ? x[2][0] : 0;
        for (int t = 0; t < r; t++) {
            int k = r - t;
            double s = 0;
            for (int64_t j = 0; j < C; j++) s += pow(x[0][i * C + j], 2 * k) / C;
            for (int64_t j = 0; j < C; j++)
                y[i * C + j] += x[1][t] * pow(x[0][i * C + j], k) / sqrt(s + a->eps);
        }
    }
}
static apx_status build_polynorm(const adc_case *c, apx_graph *g, apx_tensor **in,
                                 apx_tensor **out) {
    const norm_args *a = c->ctx;
    return apx_ad_polynorm(g, in[0], in[1], c->n_in > 2 ? in[2] : NULL, a->eps, out);
}

TEST(ad_polynorm_grad) {
    static const norm_args a = {1e-6f, 1};
    adc_case c = {.name = "polynorm r=3", .n_in = 3, .ndim = {3, 1, 1},
                  .shape = {{2, 3, 8}, {3}, {1}}, .grad = {1, 1, 1}, .ref = ref_polynorm,
                  .build = build_polynorm, .ctx = &a, .seed = 210};
    ADC_RUN(&c);
    ADC_HVP(&c);
    adc_case c2 = {.name = "polynorm r=2 nobias", .n_in = 2, .ndim = {2, 1},
                   .shape = {{4, 5}, {2}}, .grad = {1, 1}, .ref = ref_polynorm,
                   .build = build_polynorm, .ctx = &a, .seed = 211};
    ADC_RUN(&c2);
    ADC_HVP(&c2);
}

/* The official defaults (weight 1/3, bias 0) on a fixed input: the sum of three RMS-normed
 * powers / 3, computed here in double. */
TEST(ad_polynorm_official_defaults) {
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    float xv[6] = {0.5f, -1.25f, 2.0f, 0.1f, -0.7f, 1.5f}, wv[3] = {1 / 3.f, 1 / 3.f, 1 / 3.f};
    apx_tensor *x, *w, *b, *y;
    REQUIRE_OK(apx_ad_tensor_from(g, 2, (int64_t[]){2, 3}, xv, 0, &x));
    REQUIRE_OK(apx_ad_tensor_from(g, 1, (int64_t[]){3}, wv, 1, &w));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){1}, 1, &b));
    REQUIRE_OK(apx_ad_polynorm(g, x, w, b, 1e-6f, &y));
    for (int i = 0; i < 2; i++) {
        double s[4] = {0};
        for (int k = 1; k <= 3; k++)
            for (int j = 0; j < 3; j++) s[k] += pow(xv[i * 3 + j], 2 * k) / 3;
        for (int j = 0; j < 3; j++) {
            double e = 0;
            for (int k = 1; k <= 3; k++) e += pow(xv[i * 3 + j], k) / sqrt(s[k] + 1e-6) / 3;
            CHECK_NEAR(y->data[i * 3 + j], e, 1e-6, 1e-5);
        }
    }
    apx_graph_free(g);
}

/* ---------------------------------------------------------------- PowerNorm (P012) */

typedef struct {
    apx_powernorm_opts o;
    const float *running; /* eval mode */
} pw_args;

/* GroupScaling in double: each token's channel groups divided by sqrt(mean(x^2) + 1e-5). */
static void ref_group_scaling(int64_t N, int64_t C, int G, const double *x, double *xs) {
    int64_t Cg = C / G;
    for (int64_t i = 0; i < N; i++)
        for (int gi = 0; gi < G; gi++) {
            double s = 0;
            for (int64_t j = 0; j < Cg; j++) s += x[i * C + gi * Cg + j] * x[i * C + gi * Cg + j] / Cg;
            for (int64_t j = 0; j < Cg; j++)
                xs[i * C + gi * Cg + j] = x[i * C + gi * Cg + j] / sqrt(s + 1e-5);
        }
}

/* Batch (phi = psi2 of the batch) or eval (phi = running) PowerNorm, gamma and beta given. */
static void ref_powernorm(const adc_case *c, double *const *x, double *y) {
    const pw_args *a = c->ctx;
    int64_t C = last_dim(c), N = adc_size(c, 0) / C;
    double *xs = malloc(sizeof(double) * (size_t)(N * C));
    if (a->o.group_num > 0) ref_group_scaling(N, C, a->o.group_num, x[0], xs);
    else memcpy(xs, x[0], sizeof(double) * (size_t)(N * C));
    for (int64_t j = 0; j < C; j++) {
        double phi = 0;
        for (int64_t i = 0; i < N; i++) phi += xs[i * C + j] * xs[i * C + j] / N;
        if (a->o.mode == APX_POWERNORM_EVAL) phi = a->running[j];
        for (int64_t i = 0; i < N; i++)
            y[i * C + j] = x[1][j] * xs[i * C + j] / sqrt(phi + a->o.eps) + x[2][j];
    }
    free(xs);
}
static apx_status build_powernorm(const adc_case *c, apx_graph *g, apx_tensor **in,
                                  apx_tensor **out) {
    const pw_args *a = c->ctx;
    static float ema[16];
    apx_powernorm_state st = {(float *)a->running, ema, 0};
    return apx_ad_powernorm(g, in[0], in[1], in[2], &a->o,
                            a->o.mode == APX_POWERNORM_BATCH ? NULL : &st, out);
}

TEST(ad_powernorm_batch_and_eval_grad) {
    static const float running[6] = {0.5f, 1.5f, 2.0f, 0.8f, 1.0f, 3.0f};
    pw_args a = {apx_powernorm_opts_default(), NULL};
    a.o.mode = APX_POWERNORM_BATCH;
    a.o.group_num = 2;
    adc_case c = {.name = "powernorm batch G=2", .n_in = 3, .ndim = {3, 1, 1},
                  .shape = {{2, 4, 6}, {6}, {6}}, .grad = {1, 1, 1}, .shift = {0.2, 1, 0},
                  .ref = ref_powernorm, .build = build_powernorm, .ctx = &a, .seed = 220};
    ADC_RUN(&c);
    ADC_HVP(&c);
    pw_args a0 = a;
    a0.o.group_num = 0;
    c.name = "powernorm batch G=0";
    c.ctx = &a0;
    ADC_RUN(&c);
    ADC_HVP(&c);
    pw_args ae = a;
    ae.o.mode = APX_POWERNORM_EVAL;
    ae.o.group_num = 1;
    ae.running = running;
    c.name = "powernorm eval G=1";
    c.ctx = &ae;
    ADC_RUN(&c);
    ADC_HVP(&c);
}

/* Training mode over 4 steps with warmup_iters = 2 (steps 1-2 use batch statistics, then
 * the running ones), against the authors' PowerFunction re-implemented in double. */
typedef struct {
    double run[4], ema[4];
    int64_t it;
} pw_ref_state;

static void ref_power_train_step(pw_ref_state *s, const apx_powernorm_opts *o, int64_t N,
                                 int64_t C, const double *x, const double *gam, const double *dy,
                                 double *y, double *dx, double *dgam) {
    s->it++;
    for (int64_t j = 0; j < C; j++) {
        double var = 0, mgz = 0;
        for (int64_t i = 0; i < N; i++) var += x[i * C + j] * x[i * C + j] / N;
        double phi = s->it <= o->warmup_iters ? var : s->run[j];
        if (s->it < o->warmup_iters) s->run[j] = s->run[j] * (s->it - 1) / s->it + var / s->it;
        s->run[j] = o->alpha_fwd * s->run[j] + (1 - o->alpha_fwd) * var;
        dgam[j] = 0;
        for (int64_t i = 0; i < N; i++) {
            double z = x[i * C + j] / sqrt(phi + o->eps), g = dy[i * C + j] * gam[j];
            double gt = g - (1 - o->alpha_bkw) * s->ema[j] * z;
            y[i * C + j] = gam[j] * z;
            dx[i * C + j] = gt / sqrt(var + o->eps);
            dgam[j] += dy[i * C + j] * z;
            mgz += gt * z / N;
        }
        s->ema[j] += mgz;
    }
}

TEST(ad_powernorm_train_matches_reference) {
    enum { N = 6, C = 4 };
    apx_powernorm_opts o = apx_powernorm_opts_default();
    o.warmup_iters = 2;
    o.group_num = 0;
    o.alpha_fwd = 0.8f;
    o.alpha_bkw = 0.7f;
    float run[C] = {1, 1, 1, 1}, ema[C] = {0}, gv[C] = {1.0f, 0.5f, 2.0f, -1.0f};
    apx_powernorm_state st = {run, ema, 0};
    pw_ref_state rs = {{1, 1, 1, 1}, {0}, 0};
    double gd[C], xd[N * C], dyd[N * C], y[N * C], dx[N * C], dgam[C];
    for (int j = 0; j < C; j++) gd[j] = gv[j];
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    for (int step = 0; step < 4; step++) {
        float xf[N * C], dyf[N * C];
        apx_rng_fill_normal(300 + step, 0, xd, N * C);
        apx_rng_fill_normal(400 + step, 0, dyd, N * C);
        for (int i = 0; i < N * C; i++) {
            xf[i] = (float)(xd[i] * (1 + step)), xd[i] = xf[i];
            dyf[i] = (float)dyd[i], dyd[i] = dyf[i];
        }
        apx_graph_reset(g);
        apx_tensor *x, *gam, *out;
        REQUIRE_OK(apx_ad_tensor_from(g, 2, (int64_t[]){N, C}, xf, 1, &x));
        REQUIRE_OK(apx_ad_tensor_from(g, 1, (int64_t[]){C}, gv, 1, &gam));
        REQUIRE_OK(apx_ad_powernorm(g, x, gam, NULL, &o, &st, &out));
        REQUIRE_OK(apx_ad_backward_seed(g, out, dyf));
        ref_power_train_step(&rs, &o, N, C, xd, gd, dyd, y, dx, dgam);
        CHECK(st.iters == step + 1);
        for (int i = 0; i < N * C; i++) {
            CHECK_NEAR(out->data[i], y[i], 1e-5, 1e-5);
            CHECK_NEAR(x->grad[i], dx[i], 1e-5, 1e-5);
        }
        for (int j = 0; j < C; j++) {
            CHECK_NEAR(gam->grad[j], dgam[j], 1e-5, 1e-5);
            CHECK_NEAR(run[j], rs.run[j], 1e-6, 1e-5);
            CHECK_NEAR(ema[j], rs.ema[j], 1e-6, 1e-5);
        }
    }
    apx_graph_free(g);
}

/* ---------------------------------------------------------------- bad input */

TEST(ad_norm_bad_input) {
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    apx_tensor *x, *v5, *v4, *w, *y, *s;
    REQUIRE_OK(apx_ad_tensor(g, 2, (int64_t[]){3, 4}, 1, &x));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){5}, 1, &v5));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){4}, 1, &v4));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){3}, 1, &w));
    REQUIRE_OK(apx_ad_tensor(g, 0, NULL, 1, &s));
    CHECK_STATUS(apx_ad_layernorm(g, x, v5, NULL, 1e-5f, &y), APX_ESHAPE);
    CHECK(strstr(apx_last_error(), "gamma") && strstr(apx_last_error(), "(3,4)"));
    CHECK_STATUS(apx_ad_layernorm(g, x, v4, v5, 1e-5f, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_layernorm(g, x, NULL, NULL, 0.0f, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_layernorm(g, x, NULL, NULL, NAN, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_layernorm(g, s, NULL, NULL, 1e-5f, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_rmsnorm(g, x, v5, 1e-5f, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_rmsnorm(g, NULL, NULL, 1e-5f, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_rmsnorm(g, x, NULL, -1.0f, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_polynorm(g, x, NULL, NULL, 1e-6f, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_polynorm(g, x, w, v4, 1e-6f, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_polynorm(g, x, w, NULL, 0.0f, &y), APX_EINVAL);
    apx_powernorm_opts o = apx_powernorm_opts_default();
    float run[4] = {1, 1, 1, 1}, ema[4] = {0};
    apx_powernorm_state st = {run, ema, 0};
    CHECK_STATUS(apx_ad_powernorm(g, x, v4, v4, &o, NULL, &y), APX_EINVAL); /* TRAIN needs state */
    CHECK(strstr(apx_last_error(), "state"));
    o.group_num = 3;
    CHECK_STATUS(apx_ad_powernorm(g, x, v4, v4, &o, &st, &y), APX_EINVAL);
    o = apx_powernorm_opts_default();
    o.alpha_fwd = 1.5f;
    CHECK_STATUS(apx_ad_powernorm(g, x, v4, v4, &o, &st, &y), APX_EINVAL);
    o = apx_powernorm_opts_default();
    o.mode = (apx_powernorm_mode)7;
    CHECK_STATUS(apx_ad_powernorm(g, x, v4, v4, &o, &st, &y), APX_EINVAL);
    o = apx_powernorm_opts_default();
    CHECK_STATUS(apx_ad_powernorm(g, x, v5, v4, &o, &st, &y), APX_ESHAPE);
    run[2] = NAN;
    o.mode = APX_POWERNORM_EVAL;
    CHECK_STATUS(apx_ad_powernorm(g, x, v4, v4, &o, &st, &y), APX_EINVAL);
    run[2] = 1;
    CHECK_OK(apx_ad_powernorm(g, x, NULL, NULL, NULL, &st, &y));
    CHECK(st.iters == 1);
    apx_graph_free(g);
}
