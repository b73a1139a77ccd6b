/* tests/regress/test_explain.c: local function approximation explainers (P042).
 * References: a linear f, for which every method has a closed form (C-LIME, continuous LIME,
 * SmoothGrad, VG return a; LIME masks, occlusion and KernelSHAP return a * (x0 - baseline);
 * GxI a * x0; IG is complete); exact Shapley values by enumerating the subsets; central
 * differences against the analytic gradient; the catalog checks (a), (b), (c). */
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "apx/regress.h"

enum { DMAX = 8 };

typedef struct {
    int64_t d;
    double a[DMAX], c;            /* linear part */
    double Q[DMAX * DMAX];        /* quadratic (logistic model) */
    int logistic, fail_at, calls, nan_out;
} model_ctx;

static double fval(const model_ctx *m, const double *x, double *g) {
    double q = m->c;
    for (int64_t j = 0; j < m->d; j++) q += m->a[j] * x[j];
    if (!m->logistic) {
        for (int64_t j = 0; g && j < m->d; j++) g[j] = m->a[j];
        return q;
    }
    double Qx[DMAX];
    for (int64_t i = 0; i < m->d; i++) {
        Qx[i] = 0;
        for (int64_t j = 0; j < m->d; j++) Qx[i] += m->Q[i * m->d + j] * x[j];
        q += 0.5 * x[i] * Qx[i];
    }
    double s = 1 / (1 + exp(-q));
    for (int64_t j = 0; g && j < m->d; j++) g[j] = s * (1 - s) * (Qx[j] + m->a[j]);
    return s;
}

static int f_cb(void *ctx, apx_dmat X, double *y) {
    model_ctx *m = ctx;
    if (m->fail_at && ++m->calls == m->fail_at) return APX_EIO;
    for (int64_t i = 0; i < X.rows; i++) y[i] = fval(m, X.data + i * X.ld, NULL);
    if (m->nan_out) y[0] = NAN;
    return 0;
}

static int g_cb(void *ctx, apx_dmat X, apx_dmat G) {
    model_ctx *m = ctx;
    for (int64_t i = 0; i < X.rows; i++) fval(m, X.data + i * X.ld, G.data + i * G.ld);
    return 0;
}

static model_ctx make_model(int64_t d, int logistic, uint64_t seed) {
    model_ctx m;
    memset(&m, 0, sizeof m);
    m.d = d, m.logistic = logistic, m.c = 0.3;
    apx_rng_fill_normal(seed, 0, m.a, d);
    double B[DMAX * DMAX];
    apx_rng_fill_normal(seed, 1, B, d * d);
    for (int64_t i = 0; i < d; i++) // symmetric, indefinite
        for (int64_t j = 0; j < d; j++) m.Q[i * d + j] = 0.5 * (B[i * d + j] + B[j * d + i]);
    return m;
}

static apx_explain_model wrap(model_ctx *m, int with_grad) {
    apx_explain_model M = {m->d, f_cb, with_grad ? g_cb : NULL, m};
    return M;
}

// x0 (d) = scale * N(0, I) from stream `seed`
static void start_point(uint64_t seed, double scale, double *x0, int64_t d) {
    apx_rng_fill_normal(seed, 0, x0, d);
    for (int64_t j = 0; j < d; j++) x0[j] *= scale;
}

// the model (seed ms), x0 = scale * N(0, I) (seed xs) and default options
typedef struct {
    model_ctx m;
    double x0[DMAX];
    apx_explain_opts o;
} setup;

static setup make_setup(int64_t d, uint64_t ms, uint64_t xs, double scale) {
    setup S;
    S.m = make_model(d, 1, ms);
    start_point(xs, scale, S.x0, d);
    S.o = apx_explain_opts_default();
    return S;
}

static double rel_diff(const double *u, const double *v, int64_t d) {
    double s = 0, n = 0;
    for (int64_t j = 0; j < d; j++) s += (u[j] - v[j]) * (u[j] - v[j]), n += v[j] * v[j];
    return sqrt(s / n);
}

TEST(explain_linear_check_a) {
    // P042 (a): C-LIME, continuous LIME, SmoothGrad and VG return a to 1e-10; IG (baseline
    // 0, 256 steps) is complete to 1e-6; the mask methods return a * (x0 - baseline)
    enum { D = 6 };
    model_ctx m = make_model(D, 0, 1);
    double x0[D], base[D], w[D], b, f0, fx;
    apx_rng_fill_normal(2, 0, x0, D);
    apx_rng_fill_normal(2, 1, base, D);
    apx_explain_opts o = apx_explain_opts_default();
    apx_explain_method ls[4] = {APX_EXPLAIN_CLIME, APX_EXPLAIN_LIME_GAUSS,
                                APX_EXPLAIN_SMOOTHGRAD, APX_EXPLAIN_VG};
    for (int k = 0; k < 4; k++) {
        REQUIRE_OK(apx_explain(wrap(&m, 1), x0, ls[k], &o, w, &b));
        for (int j = 0; j < D; j++) CHECK_NEAR(w[j], m.a[j], 1e-10, 0);
    }
    o.ig_steps = 256;
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_IG, &o, w, &b));
    double zero[D] = {0}, sum = 0;
    f0 = fval(&m, zero, NULL), fx = fval(&m, x0, NULL);
    for (int j = 0; j < D; j++) sum += w[j];
    CHECK_NEAR(sum, fx - f0, 1e-6, 0);
    CHECK_NEAR(b, f0, 1e-14, 0);
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_GXI, &o, w, &b));
    for (int j = 0; j < D; j++) CHECK_NEAR(w[j], m.a[j] * x0[j], 1e-13, 0);
    o.baseline = base;
    apx_explain_method masks[3] = {APX_EXPLAIN_LIME, APX_EXPLAIN_OCCLUSION,
                                   APX_EXPLAIN_KERNELSHAP};
    for (int k = 0; k < 4; k++) {
        if (k == 3) o.n_samples = 40; // < 2^6 - 2: sampled coalitions
        REQUIRE_OK(apx_explain(wrap(&m, 1), x0, masks[k < 3 ? k : 2], &o, w, &b));
        for (int j = 0; j < D; j++) CHECK_NEAR(w[j], m.a[j] * (x0[j] - base[j]), 1e-10, 0);
    }
}

// exact Shapley values of the game v(S) = f(x0 on S, baseline elsewhere)
static void shapley_brute(model_ctx *m, const double *x0, const double *base, double *phi) {
    int64_t d = m->d;
    double fact[DMAX + 1] = {1};
    for (int k = 1; k <= d; k++) fact[k] = fact[k - 1] * k;
    for (int64_t j = 0; j < d; j++) {
        phi[j] = 0;
        for (uint32_t S = 0; S < (1u << d); S++) {
            if (S & (1u << j)) continue;
            double xs[DMAX], xj[DMAX];
            int size = 0;
            for (int64_t i = 0; i < d; i++) {
                xs[i] = (S >> i) & 1 ? x0[i] : base[i];
                size += (S >> i) & 1;
                xj[i] = xs[i];
            }
            xj[j] = x0[j];
            double wgt = fact[size] * fact[d - size - 1] / fact[d];
            phi[j] += wgt * (fval(m, xj, NULL) - fval(m, xs, NULL));
        }
    }
}

TEST(explain_kernelshap_exact_shapley) {
    enum { D = 5 };
    model_ctx m = make_model(D, 1, 3);
    double x0[D], base[D], w[D], phi[D], b;
    apx_rng_fill_normal(4, 0, x0, D);
    apx_rng_fill_normal(4, 1, base, D);
    apx_explain_opts o = apx_explain_opts_default();
    o.baseline = base;
    REQUIRE_OK(apx_explain(wrap(&m, 0), x0, APX_EXPLAIN_KERNELSHAP, &o, w, &b));
    shapley_brute(&m, x0, base, phi);
    for (int j = 0; j < D; j++) CHECK_NEAR(w[j], phi[j], 1e-12, 1e-10);
    CHECK_NEAR(b, fval(&m, base, NULL), 1e-15, 0);
    // sampled coalitions: an estimate, still exactly efficient (sum = f(x0) - f(baseline))
    o.n_samples = 25;
    REQUIRE_OK(apx_explain(wrap(&m, 0), x0, APX_EXPLAIN_KERNELSHAP, &o, w, &b));
    double sum = 0;
    for (int j = 0; j < D; j++) sum += w[j];
    CHECK_NEAR(sum, fval(&m, x0, NULL) - fval(&m, base, NULL), 1e-12, 0);
}

TEST(explain_differences_and_ig_convergence) {
    enum { D = 5 };
    setup S = make_setup(D, 5, 6, 0.5);
    model_ctx m = S.m;
    double *x0 = S.x0, w1[D], w2[D], b;
    apx_explain_opts o = S.o;
    apx_explain_method g[3] = {APX_EXPLAIN_VG, APX_EXPLAIN_GXI, APX_EXPLAIN_SMOOTHGRAD};
    for (int k = 0; k < 3; k++) {
        o.n_samples = 50;
        REQUIRE_OK(apx_explain(wrap(&m, 1), x0, g[k], &o, w1, &b));
        REQUIRE_OK(apx_explain(wrap(&m, 0), x0, g[k], &o, w2, &b)); // central differences
        CHECK(rel_diff(w2, w1, D) < 1e-8);
    }
    // IG midpoint rule: completeness error O(1/steps^2)
    double zero[D] = {0}, gap = fval(&m, x0, NULL) - fval(&m, zero, NULL), err[2];
    int steps[2] = {16, 256};
    for (int k = 0; k < 2; k++) {
        o.ig_steps = steps[k];
        REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_IG, &o, w1, &b));
        double s = 0;
        for (int j = 0; j < D; j++) s += w1[j];
        err[k] = fabs(s - gap);
    }
    CHECK(err[1] < 1e-4 * fabs(gap) + 1e-12);
    CHECK(err[1] < err[0] / 50); // (256/16)^2 = 256 in the limit
}

TEST(explain_check_b_clime_matches_smoothgrad) {
    // P042 (b): logistic of a quadratic; by Stein's lemma C-LIME's expected slope is the
    // expected gradient E grad f(x0 + xi): C-LIME (N = 2e4) within 2% of SmoothGrad
    enum { D = 5 };
    setup S = make_setup(D, 7, 8, 0.3);
    model_ctx m = S.m;
    double *x0 = S.x0, wc[D], ws[D], b;
    apx_explain_opts o = S.o;
    o.sigma = 0.3;
    o.n_samples = 20000;
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_CLIME, &o, wc, &b));
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_SMOOTHGRAD, &o, ws, &b));
    double r = rel_diff(wc, ws, D);
    printf("  C-LIME vs SmoothGrad (sigma 0.3, N 2e4): relative difference %.4f\n", r);
    CHECK(r < 0.02);
}

TEST(explain_check_c_no_free_lunch) {
    // P042 (c): on a neighbourhood, the method fitted on that same neighbourhood has the
    // smallest LFA loss on a held-out sample of it
    enum { D = 4 };
    model_ctx m = make_model(D, 1, 9);
    double x0[D], w[4][D], b[4], loss[4];
    apx_rng_fill_normal(10, 0, x0, D);
    apx_explain_opts o = apx_explain_opts_default(), big, tiny;
    o.sigma = 0.5;
    o.n_samples = 4000;
    big = o, tiny = o;
    big.sigma = 2.0, tiny.sigma = 0.02;
    // Gaussian neighbourhood sigma 0.5: C-LIME(0.5) vs C-LIME(2), C-LIME(0.02), SmoothGrad(0.5)
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_CLIME, &o, w[0], &b[0]));
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_CLIME, &big, w[1], &b[1]));
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_CLIME, &tiny, w[2], &b[2]));
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_SMOOTHGRAD, &o, w[3], &b[3]));
    for (int k = 0; k < 4; k++)
        REQUIRE_OK(apx_explain_lfa_loss(wrap(&m, 1), x0, APX_EXPLAIN_CLIME, &o, w[k], b[k],
                                        20000, 99, &loss[k]));
    printf("  Gaussian(0.5) LFA loss: clime(0.5) %.3g, clime(2) %.3g, clime(0.02) %.3g, "
           "smoothgrad %.3g\n", loss[0], loss[1], loss[2], loss[3]);
    for (int k = 1; k < 4; k++) CHECK(loss[0] < loss[k]);
    // binary-mask neighbourhood: LIME beats KernelSHAP, occlusion and C-LIME there
    apx_explain_method other[3] = {APX_EXPLAIN_KERNELSHAP, APX_EXPLAIN_OCCLUSION,
                                   APX_EXPLAIN_CLIME};
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_LIME, &o, w[0], &b[0]));
    for (int k = 0; k < 3; k++)
        REQUIRE_OK(apx_explain(wrap(&m, 1), x0, other[k], &o, w[k + 1], &b[k + 1]));
    for (int k = 0; k < 4; k++)
        REQUIRE_OK(apx_explain_lfa_loss(wrap(&m, 1), x0, APX_EXPLAIN_LIME, &o, w[k], b[k],
                                        20000, 99, &loss[k]));
    printf("  masks LFA loss: lime %.3g, kernelshap %.3g, occlusion %.3g, clime %.3g\n",
           loss[0], loss[1], loss[2], loss[3]);
    for (int k = 1; k < 4; k++) CHECK(loss[0] < loss[k]);
}

TEST(explain_seeds_reproducible) {
    enum { D = 3 };
    model_ctx m = make_model(D, 1, 11);
    double x0[D] = {0.1, -0.2, 0.3}, w1[D], w2[D], w3[D], b;
    apx_explain_opts o = apx_explain_opts_default();
    o.n_samples = 300;
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_CLIME, &o, w1, &b));
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_CLIME, &o, w2, &b));
    CHECK(memcmp(w1, w2, sizeof w1) == 0);
    o.seed = 1;
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_CLIME, &o, w3, &b));
    CHECK(memcmp(w1, w3, sizeof w1) != 0);
    o.batch = 7; // batching does not change the result
    REQUIRE_OK(apx_explain(wrap(&m, 1), x0, APX_EXPLAIN_CLIME, &o, w2, &b));
    CHECK(memcmp(w3, w2, sizeof w1) == 0);
}

TEST(explain_bad_input) {
    enum { D = 3 };
    model_ctx m = make_model(D, 0, 12);
    double x0[D] = {1, 2, 3}, w[D], b, nanv[D] = {0, NAN, 0}, loss;
    apx_explain_opts o = apx_explain_opts_default();
    apx_explain_model M = wrap(&m, 1);
    apx_explain_method e;
    CHECK_OK(apx_explain_parse("kernelshap", &e));
    CHECK(e == APX_EXPLAIN_KERNELSHAP && !strcmp(apx_explain_name(e), "kernelshap"));
    CHECK_STATUS(apx_explain_parse("shap", &e), APX_EINVAL);
    CHECK(apx_explain_name((apx_explain_method)42) == NULL);
    M.f = NULL;
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_VG, NULL, w, &b), APX_EINVAL);
    M = wrap(&m, 1), M.d = 0;
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_VG, NULL, w, &b), APX_ESHAPE);
    M = wrap(&m, 1);
    CHECK_STATUS(apx_explain(M, NULL, APX_EXPLAIN_VG, NULL, w, &b), APX_EINVAL);
    CHECK_STATUS(apx_explain(M, nanv, APX_EXPLAIN_VG, NULL, w, &b), APX_EINVAL);
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_VG, NULL, NULL, &b), APX_EINVAL);
    CHECK_STATUS(apx_explain(M, x0, (apx_explain_method)9, NULL, w, &b), APX_EINVAL);
    o.sigma = 0;
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_CLIME, &o, w, &b), APX_EINVAL);
    o = apx_explain_opts_default(), o.n_samples = 3; // < d + 1
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_CLIME, &o, w, &b), APX_EINVAL);
    o = apx_explain_opts_default(), o.ig_steps = 0;
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_IG, &o, w, &b), APX_EINVAL);
    o = apx_explain_opts_default(), o.baseline = nanv;
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_OCCLUSION, &o, w, &b), APX_EINVAL);
    o = apx_explain_opts_default(), o.batch = 0;
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_LIME, &o, w, &b), APX_EINVAL);
    m.calls = 0, m.fail_at = 1; // the callback fails: its status comes back
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_LIME, NULL, w, &b), APX_EIO);
    CHECK(strstr(apx_last_error(), "model callback") != NULL);
    m.fail_at = 0, m.nan_out = 1;
    CHECK_STATUS(apx_explain(M, x0, APX_EXPLAIN_CLIME, NULL, w, &b), APX_EINVAL);
    m.nan_out = 0;
    CHECK_STATUS(apx_explain_lfa_loss(M, x0, APX_EXPLAIN_VG, NULL, w, 0, 10, 0, &loss),
                 APX_EINVAL);
    CHECK_STATUS(apx_explain_lfa_loss(M, x0, APX_EXPLAIN_CLIME, NULL, nanv, 0, 10, 0, &loss),
                 APX_EINVAL);
    CHECK_STATUS(apx_explain_lfa_loss(M, x0, APX_EXPLAIN_CLIME, NULL, w, 0, 0, 0, &loss),
                 APX_EINVAL);
    CHECK_STATUS(apx_explain_lfa_loss(M, x0, APX_EXPLAIN_CLIME, NULL, w, NAN, 10, 0, &loss),
                 APX_EINVAL);
}
