/* tests/regress/test_features.c: random-feature regression (P068): the features against
 * plain loops, the ridge readout against a dense solve of the normal equations, the
 * minimum-norm readout's optimality, the band-limited error floor of the catalog, and bad
 * input. */
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "apx/la.h"
#include "apx/regress.h"

static apx_dmat rf_randn(int64_t r, int64_t c, uint64_t seed) {
    apx_dmat A = {0};
    if (apx_dmat_alloc(r, c, &A) == APX_OK) apx_rng_fill_normal(seed, 7, A.data, r * c);
    return A;
}

static double act_ref(apx_act a, double t) {
    switch (a) {
    case APX_ACT_TANH: return tanh(t);
    case APX_ACT_RELU: return t > 0 ? t : 0;
    case APX_ACT_SIGMOID: return 1 / (1 + exp(-t));
    case APX_ACT_COS: return cos(t);
    }
    return NAN;
}

TEST(rf_transform_matches_loops) {
    apx_dmat X = rf_randn(37, 4, 1), Phi = {0}, W = {0};
    double b[50];
    REQUIRE_OK(apx_dmat_alloc(37, 50, &Phi));
    REQUIRE_OK(apx_dmat_alloc(50, 4, &W));
    for (int a = APX_ACT_TANH; a <= APX_ACT_COS; a++) {
        apx_rf_opts o = apx_rf_opts_default();
        o.act = (apx_act)a;
        o.band = 2.5;
        o.bias_band = 0.5;
        o.seed = 3;
        apx_rf *p = NULL;
        REQUIRE_OK(apx_rf_create(4, 50, &o, &p));
        int64_t d = 0, N = 0;
        REQUIRE_OK(apx_rf_weights(p, &d, &N, &W, b));
        CHECK(d == 4 && N == 50);
        int in_band = 1;
        for (int i = 0; i < 200; i++) in_band &= fabs(W.data[i]) <= 2.5;
        for (int j = 0; j < 50; j++) in_band &= fabs(b[j]) <= 0.5;
        CHECK(in_band);
        REQUIRE_OK(apx_rf_transform(p, X, Phi));
        double err = 0;
        for (int i = 0; i < 37; i++)
            for (int j = 0; j < 50; j++) {
                double t = -b[j];
                for (int k = 0; k < 4; k++) t += W.data[j * 4 + k] * X.data[i * 4 + k];
                double r = act_ref((apx_act)a, t);
                err = fmax(err, fabs(Phi.data[i * 50 + j] - r) / (1 + fabs(r)));
            }
        CHECK(err < 1e-13);
        apx_rf_free(p);
    }
    apx_dmat_free(&X);
    apx_dmat_free(&Phi);
    apx_dmat_free(&W);
}

TEST(rf_same_seed_same_weights) {
    apx_rf_opts o = apx_rf_opts_default();
    o.kind = APX_RF_GAUSSIAN;
    o.seed = 11;
    apx_rf *p = NULL, *q = NULL;
    REQUIRE_OK(apx_rf_create(3, 20, &o, &p));
    REQUIRE_OK(apx_rf_create(3, 20, &o, &q));
    apx_dmat A = {0}, B = {0};
    double a[20], b[20];
    REQUIRE_OK(apx_dmat_alloc(20, 3, &A));
    REQUIRE_OK(apx_dmat_alloc(20, 3, &B));
    REQUIRE_OK(apx_rf_weights(p, NULL, NULL, &A, a));
    REQUIRE_OK(apx_rf_weights(q, NULL, NULL, &B, b));
    CHECK(memcmp(A.data, B.data, sizeof(double) * 60) == 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    apx_rf_free(p);
    apx_rf_free(q);
    apx_dmat_free(&A);
    apx_dmat_free(&B);
}

// random Fourier features: Phi Phi^T -> exp(-gamma |x - z|^2) (error ~ 1/sqrt(N))
TEST(rf_fourier_approximates_rbf) {
    apx_dmat X = rf_randn(6, 3, 2), Phi = {0}, G = {0};
    for (int i = 0; i < 18; i++) X.data[i] *= 0.5;
    REQUIRE_OK(apx_dmat_alloc(6, 20000, &Phi));
    REQUIRE_OK(apx_dmat_alloc(6, 6, &G));
    apx_rf_opts o = apx_rf_opts_default();
    o.kind = APX_RF_FOURIER;
    o.band = 0.7; // gamma
    apx_rf *p = NULL;
    REQUIRE_OK(apx_rf_create(3, 20000, &o, &p));
    REQUIRE_OK(apx_rf_transform(p, X, Phi));
    double err = 0;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            double s = 0, d2 = 0;
            for (int k = 0; k < 20000; k++) s += Phi.data[i * 20000 + k] * Phi.data[j * 20000 + k];
            for (int k = 0; k < 3; k++) d2 += pow(X.data[i * 3 + k] - X.data[j * 3 + k], 2);
            err = fmax(err, fabs(s - exp(-0.7 * d2)));
        }
    CHECK(err < 0.05); // 5 standard deviations of sqrt(2/N)-scaled noise is about 0.05
    apx_rf_free(p);
    apx_dmat_free(&X);
    apx_dmat_free(&Phi);
    apx_dmat_free(&G);
}

// ridge readout (primal n >= N and dual n < N) against the dense solve of
// (Phi^T Phi + lambda I) C = Phi^T Y by LU
static void check_ridge(int64_t n, int64_t N) {
    apx_dmat X = rf_randn(n, 3, 5), Y = rf_randn(n, 2, 6), Phi = {0}, G = {0}, R = {0}, C = {0},
             C0 = {0};
    REQUIRE_OK(apx_dmat_alloc(n, N, &Phi));
    REQUIRE_OK(apx_dmat_alloc(N, N, &G));
    REQUIRE_OK(apx_dmat_alloc(N, 2, &R));
    REQUIRE_OK(apx_dmat_alloc(N, 2, &C));
    REQUIRE_OK(apx_dmat_alloc(N, 2, &C0));
    apx_rf_opts o = apx_rf_opts_default();
    o.band = 2;
    apx_rf *p = NULL;
    REQUIRE_OK(apx_rf_create(3, N, &o, &p));
    double lam = 0.3;
    apx_rf_info info;
    REQUIRE_OK(apx_rf_fit(p, X, Y, lam, -1, C, &info));
    CHECK(info.method == (n >= N ? 0 : 1));
    REQUIRE_OK(apx_rf_transform(p, X, Phi));
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = i == j ? lam : 0;
            for (int64_t k = 0; k < n; k++) s += Phi.data[k * N + i] * Phi.data[k * N + j];
            G.data[i * N + j] = s;
        }
    for (int64_t i = 0; i < N; i++)
        for (int64_t r = 0; r < 2; r++) {
            double s = 0;
            for (int64_t k = 0; k < n; k++) s += Phi.data[k * N + i] * Y.data[k * 2 + r];
            R.data[i * 2 + r] = s;
        }
    REQUIRE_OK(apx_la_solve(G, R, C0));
    double scale = 0;
    for (int64_t i = 0; i < 2 * N; i++) scale = fmax(scale, fabs(C0.data[i]));
    CHECK(tu_max_abs_diff(C, C0) <= 1e-9 * scale);
    // predict = Phi C
    apx_dmat P = {0}, P0 = {0};
    REQUIRE_OK(apx_dmat_alloc(n, 2, &P));
    REQUIRE_OK(apx_dmat_alloc(n, 2, &P0));
    REQUIRE_OK(apx_rf_predict(p, X, C, P));
    for (int64_t i = 0; i < n; i++)
        for (int64_t r = 0; r < 2; r++) {
            double s = 0;
            for (int64_t k = 0; k < N; k++) s += Phi.data[i * N + k] * C.data[k * 2 + r];
            P0.data[i * 2 + r] = s;
        }
    CHECK(tu_max_abs_diff(P, P0) <= 1e-12 * (1 + scale * N));
    apx_rf_free(p);
    apx_dmat *m[] = {&X, &Y, &Phi, &G, &R, &C, &C0, &P, &P0};
    for (int i = 0; i < 9; i++) apx_dmat_free(m[i]);
}

TEST(rf_ridge_primal_matches_dense_solve) { check_ridge(300, 40); }
TEST(rf_ridge_dual_matches_dense_solve) { check_ridge(30, 90); }

// lambda = 0: the least-squares optimality Phi^T (Phi C - Y) = 0
TEST(rf_min_norm_least_squares) {
    int64_t n = 200, N = 30;
    apx_dmat X = rf_randn(n, 2, 8), Y = rf_randn(n, 1, 9), Phi = {0}, C = {0};
    REQUIRE_OK(apx_dmat_alloc(n, N, &Phi));
    REQUIRE_OK(apx_dmat_alloc(N, 1, &C));
    apx_rf_opts o = apx_rf_opts_default();
    o.act = APX_ACT_RELU;
    apx_rf *p = NULL;
    REQUIRE_OK(apx_rf_create(2, N, &o, &p));
    apx_rf_info info;
    REQUIRE_OK(apx_rf_fit(p, X, Y, 0, -1, C, &info));
    CHECK(info.method == 2 && info.rank >= 1 && info.rank <= N);
    REQUIRE_OK(apx_rf_transform(p, X, Phi));
    double gmax = 0, ynorm = 0;
    for (int64_t i = 0; i < n; i++) ynorm += Y.data[i] * Y.data[i];
    for (int64_t j = 0; j < N; j++) {
        double g = 0;
        for (int64_t i = 0; i < n; i++) {
            double r = -Y.data[i];
            for (int64_t k = 0; k < N; k++) r += Phi.data[i * N + k] * C.data[k];
            g += Phi.data[i * N + j] * r;
        }
        gmax = fmax(gmax, fabs(g));
    }
    CHECK(gmax <= 1e-9 * sqrt(ynorm) * 100);
    apx_rf_free(p);
    apx_dmat_free(&X);
    apx_dmat_free(&Y);
    apx_dmat_free(&Phi);
    apx_dmat_free(&C);
}

// P068: sin(omega x) on [-1,1] from N tanh features with a ~ U[-A,A]; test RMSE
static double p068_error(double A, int64_t N, double omega) {
    int64_t n = 1000, m = 500;
    apx_dmat X = {0}, Y = {0}, Xt = {0}, P = {0}, C = {0};
    double err = NAN;
    apx_rf *p = NULL;
    apx_rf_opts o = apx_rf_opts_default();
    o.band = A;
    o.seed = 21;
    if (apx_dmat_alloc(n, 1, &X) || apx_dmat_alloc(n, 1, &Y) || apx_dmat_alloc(m, 1, &Xt) ||
        apx_dmat_alloc(m, 1, &P) || apx_dmat_alloc(N, 1, &C) || apx_rf_create(1, N, &o, &p))
        goto done;
    for (int64_t i = 0; i < n; i++) {
        X.data[i] = -1 + 2.0 * (double)i / (double)(n - 1);
        Y.data[i] = sin(omega * X.data[i]);
    }
    apx_rng_fill_uniform(5, 0, Xt.data, m);
    for (int64_t i = 0; i < m; i++) Xt.data[i] = 2 * Xt.data[i] - 1;
    if (apx_rf_fit(p, X, Y, 1e-6, -1, C, NULL) || apx_rf_predict(p, Xt, C, P)) goto done;
    double s = 0;
    for (int64_t i = 0; i < m; i++) s += pow(P.data[i] - sin(omega * Xt.data[i]), 2);
    err = sqrt(s / (double)m);
done:
    apx_rf_free(p);
    apx_dmat_free(&X);
    apx_dmat_free(&Y);
    apx_dmat_free(&Xt);
    apx_dmat_free(&P);
    apx_dmat_free(&C);
    return err;
}

TEST(rf_p068_band_floor) {
    double omega = 30;
    double lo500 = p068_error(2, 500, omega), lo2000 = p068_error(2, 2000, omega);
    double hi500 = p068_error(30, 500, omega), hi2000 = p068_error(30, 2000, omega);
    printf("  P068 omega=30, RMSE: A=2: N=500 %.3g, N=2000 %.3g; A=30: N=500 %.3g, "
           "N=2000 %.3g\n", lo500, lo2000, hi500, hi2000);
    // a floor for A << omega that more features do not remove
    CHECK(lo500 > 0.3 && lo2000 > 0.3);
    CHECK(lo2000 > 0.5 * lo500);
    // orders of magnitude lower once A >~ omega
    CHECK(hi2000 < 1e-3 * lo2000);
    CHECK(hi500 < 1e-2 * lo500);
}

TEST(rf_bad_input) {
    apx_rf *p = NULL;
    apx_rf_opts o = apx_rf_opts_default();
    CHECK_STATUS(apx_rf_create(0, 10, &o, &p), APX_ESHAPE);
    CHECK(p == NULL);
    CHECK_STATUS(apx_rf_create(2, 0, &o, &p), APX_ESHAPE);
    CHECK_STATUS(apx_rf_create(2, 10, &o, NULL), APX_EINVAL);
    o.band = 0;
    CHECK_STATUS(apx_rf_create(2, 10, &o, &p), APX_EINVAL);
    o.band = NAN;
    CHECK_STATUS(apx_rf_create(2, 10, &o, &p), APX_EINVAL);
    o = apx_rf_opts_default();
    o.kind = (apx_rf_kind)7;
    CHECK_STATUS(apx_rf_create(2, 10, &o, &p), APX_EINVAL);
    o = apx_rf_opts_default();
    o.act = (apx_act)-1;
    CHECK_STATUS(apx_rf_create(2, 10, &o, &p), APX_EINVAL);
    o = apx_rf_opts_default();
    o.bias_band = INFINITY;
    CHECK_STATUS(apx_rf_create(2, 10, &o, &p), APX_EINVAL);
    REQUIRE_OK(apx_rf_create(2, 10, NULL, &p));
    apx_dmat X = rf_randn(8, 2, 1), X3 = rf_randn(8, 3, 1), Y = rf_randn(8, 1, 2),
             Y7 = rf_randn(7, 1, 2), C = {0}, C9 = {0}, Phi = {0}, P = {0};
    REQUIRE_OK(apx_dmat_alloc(10, 1, &C));
    REQUIRE_OK(apx_dmat_alloc(9, 1, &C9));
    REQUIRE_OK(apx_dmat_alloc(8, 10, &Phi));
    REQUIRE_OK(apx_dmat_alloc(8, 1, &P));
    CHECK_STATUS(apx_rf_transform(NULL, X, Phi), APX_EINVAL);
    CHECK_STATUS(apx_rf_transform(p, X3, Phi), APX_ESHAPE);
    CHECK_STATUS(apx_rf_transform(p, X, C), APX_ESHAPE);
    CHECK_STATUS(apx_rf_fit(p, X, Y7, 1, -1, C, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_rf_fit(p, X, Y, -1, -1, C, NULL), APX_EINVAL);
    CHECK_STATUS(apx_rf_fit(p, X, Y, NAN, -1, C, NULL), APX_EINVAL);
    CHECK_STATUS(apx_rf_fit(p, X, Y, 1, -1, C9, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_rf_fit(p, (apx_dmat){X.data, 0, 2, 2}, Y, 1, -1, C, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_rf_predict(p, X, C9, P), APX_ESHAPE);
    CHECK_STATUS(apx_rf_predict(p, X, C, Y7), APX_ESHAPE);
    X.data[3] = NAN;
    CHECK_STATUS(apx_rf_transform(p, X, Phi), APX_EINVAL);
    CHECK_STATUS(apx_rf_fit(p, X, Y, 1, -1, C, NULL), APX_EINVAL);
    X.data[3] = 0;
    Y.data[2] = INFINITY;
    CHECK_STATUS(apx_rf_fit(p, X, Y, 1, -1, C, NULL), APX_EINVAL);
    CHECK_STATUS(apx_rf_weights(NULL, NULL, NULL, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_rf_weights(p, NULL, NULL, &Phi, NULL), APX_ESHAPE);
    apx_rf_kind k;
    apx_act a;
    CHECK_STATUS(apx_rf_kind_parse("bogus", &k), APX_EINVAL);
    CHECK_STATUS(apx_act_parse("swish", &a), APX_EINVAL);
    CHECK_OK(apx_act_parse("sigmoid", &a));
    CHECK(a == APX_ACT_SIGMOID && !strcmp(apx_act_name(a), "sigmoid"));
    CHECK_OK(apx_rf_kind_parse("fourier", &k));
    CHECK(k == APX_RF_FOURIER && !strcmp(apx_rf_kind_name(k), "fourier"));
    apx_rf_free(p);
    apx_rf_free(NULL);
    apx_dmat *m[] = {&X, &X3, &Y, &Y7, &C, &C9, &Phi, &P};
    for (int i = 0; i < 8; i++) apx_dmat_free(m[i]);
}
