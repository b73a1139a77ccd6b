/* tests/regress/test_kernel.c: kernel matrices (fast GEMM path against the plain-loop
 * reference, closed forms), the NTK recursion against the Monte-Carlo NTK of a width-10^4
 * ReLU net, kernel ridge against a dense solve, the P078 checks (deep ReLU NTK -> majority
 * vote, the paper's activation ~ Hilbert estimate on Dirichlet data), the classifiers
 * against brute force, and bad input. */
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "apx/la.h"
#include "apx/regress.h"
#include "regress/kernel_internal.h"

#define PI 3.14159265358979323846

static apx_dmat kt_randn(int64_t r, int64_t c, uint64_t seed) {
    apx_dmat A = {0};
    if (apx_dmat_alloc(r, c, &A) == APX_OK) apx_rng_fill_normal(seed, 9, A.data, r * c);
    return A;
}

static void normalize_rows(apx_dmat X) {
    for (int64_t i = 0; i < X.rows; i++) {
        double s = 0;
        for (int64_t j = 0; j < X.cols; j++) s += X.data[i * X.ld + j] * X.data[i * X.ld + j];
        for (int64_t j = 0; j < X.cols; j++) X.data[i * X.ld + j] /= sqrt(s);
    }
}

TEST(kernel_fast_matches_reference) {
    apx_dmat X = kt_randn(23, 5, 1), Z = kt_randn(17, 5, 2), K = {0}, R = {0};
    REQUIRE_OK(apx_dmat_alloc(23, 17, &K));
    REQUIRE_OK(apx_dmat_alloc(23, 17, &R));
    for (int j = 0; j < 5; j++) Z.data[3 * 5 + j] = X.data[4 * 5 + j]; // an identical pair
    apx_kernel ks[16];
    int nk = 0;
    for (int kind = APX_KERNEL_RBF; kind <= APX_KERNEL_ARCCOS; kind++)
        ks[nk++] = apx_kernel_default((apx_kernel_kind)kind);
    ks[nk] = apx_kernel_default(APX_KERNEL_ARCCOS), ks[nk++].degree = 0;
    ks[nk] = apx_kernel_default(APX_KERNEL_POLY), ks[nk].gamma = 0.3, ks[nk++].coef0 = 0.5;
    for (int a = APX_DUAL_RELU; a <= APX_DUAL_HERMITE; a++) {
        ks[nk] = apx_kernel_default(a % 2 ? APX_KERNEL_NNGP : APX_KERNEL_NTK);
        ks[nk].act = (apx_dual_act)a, ks[nk].depth = 4, ks[nk].act_param = 2.5;
        ks[nk++].degree = 3;
    }
    ks[nk] = apx_kernel_default(APX_KERNEL_NTK), ks[nk++].depth = 300; // deep ReLU
    for (int i = 0; i < nk; i++) {
        REQUIRE_OK(apx_kernel_matrix(&ks[i], X, Z, K));
        apx_kernel kr = ks[i];
        if (kr.gamma <= 0) kr.gamma = 1.0 / 5;
        apx__kernel_matrix_ref(&kr, X, Z, R);
        double scale = 0;
        for (int64_t t = 0; t < 23 * 17; t++) scale = fmax(scale, fabs(R.data[t]));
        double d = tu_max_abs_diff(K, R);
        if (!(d <= 1e-12 * scale))
            printf("  kernel %s act %s: diff %.3g (scale %.3g)\n", apx_kernel_name(ks[i].kind),
                   apx_dual_act_name(ks[i].act), d, scale);
        CHECK(d <= 1e-12 * scale);
    }
    apx_dmat_free(&X);
    apx_dmat_free(&Z);
    apx_dmat_free(&K);
    apx_dmat_free(&R);
}

// closed forms: rbf/laplace/poly on explicit vectors; arccos of degree 0 = 1 - t/pi; depth-1
// ReLU NTK = rho r'(rho) + r(rho); depth 0 = rho; NNGP depth 2 = r(r(rho))
TEST(kernel_closed_forms) {
    double xd[3] = {1, 2, -1}, zd[3] = {0.5, -1, 2};
    apx_dmat X = {xd, 1, 3, 3}, Z = {zd, 1, 3, 3};
    double k = 0;
    apx_dmat K = {&k, 1, 1, 1};
    apx_kernel kr = apx_kernel_default(APX_KERNEL_RBF);
    kr.gamma = 0.1;
    REQUIRE_OK(apx_kernel_matrix(&kr, X, Z, K));
    CHECK_NEAR(k, exp(-0.1 * (0.25 + 9 + 9)), 0, 1e-15);
    kr.kind = APX_KERNEL_LAPLACE;
    REQUIRE_OK(apx_kernel_matrix(&kr, X, Z, K));
    CHECK_NEAR(k, exp(-0.1 * (0.5 + 3 + 3)), 0, 1e-15);
    kr = apx_kernel_default(APX_KERNEL_POLY); // gamma 1/3, coef0 1, degree 3
    REQUIRE_OK(apx_kernel_matrix(&kr, X, Z, K));
    CHECK_NEAR(k, pow((0.5 - 2 - 2) / 3.0 + 1, 3), 0, 1e-14);
    double rho = (0.5 - 2 - 2) / (sqrt(6.0) * sqrt(5.25)), t = acos(rho);
    kr = apx_kernel_default(APX_KERNEL_ARCCOS);
    kr.degree = 0;
    REQUIRE_OK(apx_kernel_matrix(&kr, X, Z, K));
    CHECK_NEAR(k, 1 - t / PI, 0, 1e-14);
    kr.degree = 1;
    REQUIRE_OK(apx_kernel_matrix(&kr, X, Z, K));
    CHECK_NEAR(k, sqrt(6.0 * 5.25) * (sin(t) + (PI - t) * cos(t)) / PI, 0, 1e-14);
    double r = (sqrt(1 - rho * rho) + (PI - t) * rho) / PI, dr = (PI - t) / PI;
    kr = apx_kernel_default(APX_KERNEL_NTK);
    REQUIRE_OK(apx_kernel_matrix(&kr, X, Z, K));
    CHECK_NEAR(k, rho * dr + r, 0, 1e-14);
    kr.depth = 0;
    REQUIRE_OK(apx_kernel_matrix(&kr, X, Z, K));
    CHECK_NEAR(k, rho, 0, 1e-14);
    kr = apx_kernel_default(APX_KERNEL_NNGP);
    kr.depth = 2;
    kr.act = APX_DUAL_OPT3;
    REQUIRE_OK(apx_kernel_matrix(&kr, X, Z, K));
    double r1 = rho * rho * rho / 2 + rho / 2;
    CHECK_NEAR(k, r1 * r1 * r1 / 2 + r1 / 2, 0, 1e-14);
    // the diagonal of the depth-L ReLU NTK is L + 1 exactly (rho = 1 at every layer)
    kr = apx_kernel_default(APX_KERNEL_NTK);
    kr.depth = 1000;
    REQUIRE_OK(apx_kernel_matrix(&kr, X, X, K));
    CHECK_NEAR(k, 1001, 0, 1e-13);
}

// r(1) = 1 and r' against central differences, for every dual activation
TEST(kernel_dual_derivatives) {
    for (int a = APX_DUAL_RELU; a <= APX_DUAL_HERMITE; a++) {
        double r1 = 0;
        REQUIRE_OK(apx_kernel_dual((apx_dual_act)a, 1.7, 4, 1.0, &r1, NULL));
        CHECK_NEAR(r1, 1.0, 1e-15, 1e-14);
        for (double x = -0.9; x < 0.95; x += 0.3) {
            double rp, rm, dr, h = 1e-6;
            REQUIRE_OK(apx_kernel_dual((apx_dual_act)a, 1.7, 4, x + h, &rp, NULL));
            REQUIRE_OK(apx_kernel_dual((apx_dual_act)a, 1.7, 4, x - h, &rm, NULL));
            REQUIRE_OK(apx_kernel_dual((apx_dual_act)a, 1.7, 4, x, NULL, &dr));
            CHECK_NEAR(dr, (rp - rm) / (2 * h), 1e-8, 1e-7);
        }
    }
}

// P078: the recursion against the empirical NTK of f(x) = v^T s(W x) / sqrt(m), one hidden
// layer of width m = 10^4, s = sqrt(2) relu, W, v standard normal, x on the sphere:
// NTK = (1/m) sum_j [s(w_j.x) s(w_j.z) + v_j^2 s'(w_j.x) s'(w_j.z) x.z], averaged over 8
// independent nets (one net's entries have a standard deviation of about 1.6% at this width,
// the catalog's 2% bound is for the expected empirical NTK)
TEST(kernel_ntk_matches_monte_carlo) {
    const int64_t m = 80000, d = 4, p = 6; // 8 nets of width 10^4, one after the other
    apx_dmat X = kt_randn(p, d, 3), W = kt_randn(m, d, 4), K = {0};
    double *v = malloc(sizeof(double) * m), mc[36] = {0};
    REQUIRE(v && W.data);
    apx_rng_fill_normal(5, 0, v, m);
    normalize_rows(X);
    REQUIRE_OK(apx_dmat_alloc(p, p, &K));
    apx_kernel kr = apx_kernel_default(APX_KERNEL_NTK);
    REQUIRE_OK(apx_kernel_matrix(&kr, X, X, K));
    for (int64_t j = 0; j < m; j++) {
        double h[6];
        for (int64_t i = 0; i < p; i++) {
            h[i] = 0;
            for (int64_t k = 0; k < d; k++) h[i] += W.data[j * d + k] * X.data[i * d + k];
        }
        for (int64_t a = 0; a < p; a++)
            for (int64_t b = 0; b < p; b++) {
                double xz = 0;
                for (int64_t k = 0; k < d; k++) xz += X.data[a * d + k] * X.data[b * d + k];
                double sa = h[a] > 0 ? sqrt(2) * h[a] : 0, sb = h[b] > 0 ? sqrt(2) * h[b] : 0;
                double da = h[a] > 0 ? sqrt(2) : 0, db = h[b] > 0 ? sqrt(2) : 0;
                mc[a * p + b] += (sa * sb + v[j] * v[j] * da * db * xz) / (double)m;
            }
    }
    double num = 0, den = 0;
    for (int64_t t = 0; t < p * p; t++) {
        num += pow(mc[t] - K.data[t], 2);
        den += K.data[t] * K.data[t];
    }
    printf("  NTK (depth 1) vs Monte-Carlo width 1e4 (8 nets): relative Frobenius error %.4f\n",
           sqrt(num / den));
    CHECK(sqrt(num / den) < 0.02);
    free(v);
    apx_dmat_free(&X);
    apx_dmat_free(&W);
    apx_dmat_free(&K);
}

// alpha = (K + lambda I)^-1 Y against LU on the explicit K; ridgeless interpolates
TEST(kridge_matches_dense_solve) {
    int64_t n = 40, m = 15;
    apx_dmat X = kt_randn(n, 3, 6), Y = kt_randn(n, 2, 7), Xt = kt_randn(m, 3, 8), K = {0},
             A0 = {0}, A = {0}, P = {0}, Kt = {0};
    REQUIRE_OK(apx_dmat_alloc(n, n, &K));
    REQUIRE_OK(apx_dmat_alloc(n, 2, &A0));
    REQUIRE_OK(apx_dmat_alloc(n, 2, &A));
    REQUIRE_OK(apx_dmat_alloc(m, 2, &P));
    REQUIRE_OK(apx_dmat_alloc(m, n, &Kt));
    apx_kernel kr = apx_kernel_default(APX_KERNEL_RBF);
    kr.gamma = 0.4;
    apx_kridge_opts o = apx_kridge_opts_default();
    o.lambda = 0.1;
    apx_kridge *model = NULL;
    apx_kridge_info info;
    REQUIRE_OK(apx_kridge_fit(&kr, X, Y, &o, &model, &info));
    CHECK(info.method == 0 && info.rank == n);
    REQUIRE_OK(apx_kernel_matrix(&kr, X, X, K));
    for (int64_t i = 0; i < n; i++) K.data[i * n + i] += 0.1;
    REQUIRE_OK(apx_la_solve(K, Y, A0));
    int64_t nn, dd, rr;
    REQUIRE_OK(apx_kridge_coef(model, &nn, &dd, &rr, &A));
    CHECK(nn == n && dd == 3 && rr == 2);
    CHECK(tu_max_abs_diff(A, A0) <= 1e-10 * (1 + fabs(A0.data[0])) * 10);
    REQUIRE_OK(apx_kridge_predict(model, Xt, P));
    REQUIRE_OK(apx_kernel_matrix(&kr, Xt, X, Kt));
    double err = 0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t r = 0; r < 2; r++) {
            double s = 0;
            for (int64_t k = 0; k < n; k++) s += Kt.data[i * n + k] * A0.data[k * 2 + r];
            err = fmax(err, fabs(P.data[i * 2 + r] - s) / (1 + fabs(s)));
        }
    CHECK(err < 1e-10);
    apx_kridge_free(model);
    // ridgeless: the fit interpolates the training targets
    o.lambda = 0;
    REQUIRE_OK(apx_kridge_fit(&kr, X, Y, &o, &model, &info));
    CHECK(info.method == 1 && info.rank == n);
    apx_dmat Pn = {0};
    REQUIRE_OK(apx_dmat_alloc(n, 2, &Pn));
    REQUIRE_OK(apx_kridge_predict(model, X, Pn));
    CHECK(tu_max_abs_diff(Pn, Y) < 1e-7);
    apx_kridge_free(model);
    apx_dmat *mm[] = {&X, &Y, &Xt, &K, &A0, &A, &P, &Kt, &Pn};
    for (int i = 0; i < 9; i++) apx_dmat_free(mm[i]);
}

static double agreement(const double *a, const double *b, int64_t n) {
    int64_t s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] == b[i];
    return (double)s / (double)n;
}

// sign of the ridgeless kernel regression (labels y) at the rows of Xt
static apx_status kernel_classify(const apx_kernel *k, apx_dmat X, const double *y, apx_dmat Xt,
                                  double *out) {
    apx_kridge_opts o = apx_kridge_opts_default();
    o.lambda = 0;
    apx_kridge *model = NULL;
    apx_dmat Y = {(double *)y, X.rows, 1, 1}, P = {out, Xt.rows, 1, 1};
    APX__TRY(apx_kridge_fit(k, X, Y, &o, &model, NULL));
    apx_status st = apx_kridge_predict(model, Xt, P);
    for (int64_t i = 0; i < Xt.rows; i++) out[i] = out[i] < 0 ? -1 : 1;
    apx_kridge_free(model);
    return st;
}

// P078: ReLU NTK classifiers approach the majority vote as the depth grows
TEST(kernel_p078_relu_majority_vote) {
    int64_t n = 20, m = 200;
    apx_dmat X = kt_randn(n, 3, 10), Xt = kt_randn(m, 3, 11);
    normalize_rows(X);
    normalize_rows(Xt);
    double y[20], u[20], mv[200], c[200];
    apx_rng_fill_uniform(12, 0, u, n);
    for (int i = 0; i < n; i++) y[i] = u[i] < 0.35 ? 1 : -1;
    REQUIRE_OK(apx_classify_majority(y, n, m, mv));
    apx_kernel kr = apx_kernel_default(APX_KERNEL_NTK);
    int depths[3] = {10, 100, 1000};
    double ag[3];
    for (int i = 0; i < 3; i++) {
        kr.depth = depths[i];
        REQUIRE_OK(kernel_classify(&kr, X, y, Xt, c));
        ag[i] = agreement(c, mv, m);
    }
    printf("  ReLU NTK vs majority vote: agreement %.3f (L=10), %.3f (L=100), %.3f (L=1000)\n",
           ag[0], ag[1], ag[2]);
    CHECK(ag[0] < 0.9);
    CHECK(ag[2] >= 0.98 && ag[2] > ag[0]);
    apx_dmat_free(&X);
    apx_dmat_free(&Xt);
}

// Dirichlet(alpha) on the simplex for integer alpha (Gamma(k) = sum of k exponentials),
// normalized onto the unit sphere
static void dirichlet_rows(apx_rng *g, const int *alpha, apx_dmat X, int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
        double s = 0;
        for (int j = 0; j < 3; j++) {
            double gj = 0;
            for (int t = 0; t < alpha[j]; t++) gj -= log(1 - apx_rng_uniform(g));
            X.data[i * 3 + j] = gj;
            s += gj;
        }
        for (int j = 0; j < 3; j++) X.data[i * 3 + j] /= s;
    }
    apx_dmat V = {X.data + i0 * 3, i1 - i0, 3, 3};
    normalize_rows(V);
}

// P078: the paper's activation for 3-D data (r = rho^3/2 + rho/2): the deep kernel classifier
// agrees with the Hilbert estimate (alpha = d - 1 = 2) on >= 95% of Dirichlet test points
TEST(kernel_p078_opt3_hilbert) {
    int64_t n = 300, m = 400;
    const int a1[3] = {1, 1, 3}, a2[3] = {3, 2, 1};
    apx_dmat X = {0}, Xt = {0};
    REQUIRE_OK(apx_dmat_alloc(n, 3, &X));
    REQUIRE_OK(apx_dmat_alloc(m, 3, &Xt));
    double *y = malloc(sizeof(double) * (n + m)), *h = malloc(sizeof(double) * m),
           *c = malloc(sizeof(double) * m);
    REQUIRE(y && h && c);
    apx_rng g;
    apx_rng_init(&g, 13, 0);
    for (int64_t i = 0; i < n + m; i++) y[i] = apx_rng_uniform(&g) < 0.4 ? 1 : -1;
    for (int64_t i = 0; i < n + m; i++) {
        apx_dmat T = i < n ? X : Xt;
        int64_t r = i < n ? i : i - n;
        dirichlet_rows(&g, y[i] > 0 ? a1 : a2, T, r, r + 1);
    }
    REQUIRE_OK(apx_classify_hilbert(X, y, Xt, 2.0, h));
    apx_kernel kinds[2] = {apx_kernel_default(APX_KERNEL_NNGP), apx_kernel_default(APX_KERNEL_NTK)};
    for (int i = 0; i < 2; i++) {
        kinds[i].act = APX_DUAL_OPT3;
        kinds[i].depth = 50;
        REQUIRE_OK(kernel_classify(&kinds[i], X, y, Xt, c));
        double ag = agreement(c, h, m), acc = agreement(c, y + n, m);
        printf("  %s opt3 depth 50 vs Hilbert estimate: agreement %.3f, accuracy %.3f "
               "(Hilbert %.3f)\n", apx_kernel_name(kinds[i].kind), ag, acc,
               agreement(h, y + n, m));
        CHECK(ag >= 0.95);
    }
    free(y);
    free(h);
    free(c);
    apx_dmat_free(&X);
    apx_dmat_free(&Xt);
}

TEST(classify_against_brute_force) {
    int64_t n = 50, m = 30;
    apx_dmat X = kt_randn(n, 4, 20), Xt = kt_randn(m, 4, 21);
    for (int j = 0; j < 4; j++) Xt.data[5 * 4 + j] = X.data[7 * 4 + j]; // an exact match
    double y[50], nn[30], hb[30], mv[30];
    for (int i = 0; i < n; i++) y[i] = (i * 7) % 3 ? 1 : -1;
    REQUIRE_OK(apx_classify_nn(X, y, Xt, nn));
    REQUIRE_OK(apx_classify_hilbert(X, y, Xt, 3.0, hb));
    REQUIRE_OK(apx_classify_majority(y, n, m, mv));
    double sy = 0;
    for (int i = 0; i < n; i++) sy += y[i];
    int ok_nn = 1, ok_h = 1, ok_mv = 1;
    for (int64_t t = 0; t < m; t++) {
        double best = INFINITY, s = 0;
        int64_t bi = -1;
        for (int64_t i = 0; i < n; i++) {
            double d2 = 0;
            for (int j = 0; j < 4; j++) d2 += pow(Xt.data[t * 4 + j] - X.data[i * 4 + j], 2);
            if (d2 < best) best = d2, bi = i;
            s += d2 > 0 ? y[i] * pow(d2, -1.5) : 0;
        }
        double want_h = best == 0 ? y[bi] : (s < 0 ? -1 : 1);
        ok_nn &= nn[t] == y[bi];
        ok_h &= hb[t] == want_h;
        ok_mv &= mv[t] == (sy < 0 ? -1 : 1);
    }
    CHECK(ok_nn && ok_h && ok_mv);
    CHECK(hb[5] == y[7] && nn[5] == y[7]);
    apx_dmat_free(&X);
    apx_dmat_free(&Xt);
}

TEST(kernel_bad_input) {
    apx_dmat X = kt_randn(6, 3, 1), Z = kt_randn(5, 3, 2), Z4 = kt_randn(5, 4, 3), K = {0},
             Y = kt_randn(6, 1, 4), Y5 = kt_randn(5, 1, 5), P = {0};
    REQUIRE_OK(apx_dmat_alloc(6, 5, &K));
    REQUIRE_OK(apx_dmat_alloc(5, 1, &P));
    apx_kernel k = apx_kernel_default(APX_KERNEL_RBF);
    CHECK_STATUS(apx_kernel_matrix(NULL, X, Z, K), APX_EINVAL);
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z4, K), APX_ESHAPE);
    CHECK_STATUS(apx_kernel_matrix(&k, X, X, K), APX_ESHAPE);
    CHECK_STATUS(apx_kernel_matrix(&k, (apx_dmat){X.data, 0, 3, 3}, Z, K), APX_ESHAPE);
    k.kind = (apx_kernel_kind)9;
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z, K), APX_EINVAL);
    k = apx_kernel_default(APX_KERNEL_RBF);
    k.gamma = NAN;
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z, K), APX_EINVAL);
    k = apx_kernel_default(APX_KERNEL_ARCCOS);
    k.degree = 2;
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z, K), APX_EINVAL);
    k = apx_kernel_default(APX_KERNEL_POLY);
    k.degree = 0;
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z, K), APX_EINVAL);
    k = apx_kernel_default(APX_KERNEL_NTK);
    k.depth = -1;
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z, K), APX_EINVAL);
    k.depth = 2;
    k.act = APX_DUAL_SINE;
    k.act_param = 0;
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z, K), APX_EINVAL);
    k.act = (apx_dual_act)42;
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z, K), APX_EINVAL);
    k.act = APX_DUAL_RELU;
    double keep = Z.data[0];
    for (int j = 0; j < 3; j++) Z.data[j] = 0; // a zero row cannot be projected
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z, K), APX_EINVAL);
    Z.data[0] = keep, Z.data[1] = 1;
    X.data[2] = NAN;
    CHECK_STATUS(apx_kernel_matrix(&k, X, Z, K), APX_EINVAL);
    X.data[2] = 0.5;
    CHECK_STATUS(apx_kernel_dual(APX_DUAL_HERMITE, 1, 0, 0.5, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_kernel_dual(APX_DUAL_RELU, 1, 1, NAN, NULL, NULL), APX_EINVAL);
    // kernel ridge
    apx_kridge *m = NULL;
    apx_kridge_opts o = apx_kridge_opts_default();
    k = apx_kernel_default(APX_KERNEL_RBF);
    CHECK_STATUS(apx_kridge_fit(&k, X, Y5, &o, &m, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_kridge_fit(&k, X, Y, &o, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_kridge_fit(NULL, X, Y, &o, &m, NULL), APX_EINVAL);
    o.lambda = -1;
    CHECK_STATUS(apx_kridge_fit(&k, X, Y, &o, &m, NULL), APX_EINVAL);
    o.lambda = 1;
    o.rcond = NAN;
    CHECK_STATUS(apx_kridge_fit(&k, X, Y, &o, &m, NULL), APX_EINVAL);
    o.rcond = -1;
    Y.data[1] = INFINITY;
    CHECK_STATUS(apx_kridge_fit(&k, X, Y, &o, &m, NULL), APX_EINVAL);
    CHECK(m == NULL);
    Y.data[1] = 0;
    tu_progress_log log = {0, 1, 0, 0};
    o.progress = (apx_progress){tu_progress_cb, &log};
    CHECK_STATUS(apx_kridge_fit(&k, X, Y, &o, &m, NULL), APX_ECANCELED);
    CHECK(m == NULL);
    o.progress = (apx_progress){NULL, NULL};
    REQUIRE_OK(apx_kridge_fit(&k, X, Y, &o, &m, NULL));
    CHECK_STATUS(apx_kridge_predict(m, Z4, P), APX_ESHAPE);
    CHECK_STATUS(apx_kridge_predict(m, Z, K), APX_ESHAPE);
    CHECK_STATUS(apx_kridge_predict(NULL, Z, P), APX_EINVAL);
    CHECK_STATUS(apx_kridge_coef(NULL, NULL, NULL, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_kridge_coef(m, NULL, NULL, NULL, &P), APX_ESHAPE);
    apx_kridge_free(m);
    apx_kridge_free(NULL);
    // classifiers
    double y[6] = {1, -1, 1, 1, -1, 1}, out[5];
    CHECK_STATUS(apx_classify_nn(X, y, Z4, out), APX_ESHAPE);
    CHECK_STATUS(apx_classify_nn(X, NULL, Z, out), APX_EINVAL);
    CHECK_STATUS(apx_classify_hilbert(X, y, Z, 0, out), APX_EINVAL);
    CHECK_STATUS(apx_classify_hilbert(X, y, Z, NAN, out), APX_EINVAL);
    CHECK_STATUS(apx_classify_majority(y, 0, 5, out), APX_ESHAPE);
    CHECK_STATUS(apx_classify_majority(y, 6, 5, NULL), APX_EINVAL);
    y[3] = 0.5;
    CHECK_STATUS(apx_classify_majority(y, 6, 5, out), APX_EINVAL);
    CHECK_STATUS(apx_classify_hilbert(X, y, Z, 2, out), APX_EINVAL);
    y[3] = 1;
    Z.data[4] = -INFINITY;
    CHECK_STATUS(apx_classify_nn(X, y, Z, out), APX_EINVAL);
    apx_kernel_kind kk;
    apx_dual_act da;
    CHECK_STATUS(apx_kernel_parse("gauss", &kk), APX_EINVAL);
    CHECK_STATUS(apx_dual_act_parse("gelu", &da), APX_EINVAL);
    CHECK_OK(apx_kernel_parse("ntk", &kk));
    CHECK(kk == APX_KERNEL_NTK && !strcmp(apx_kernel_name(kk), "ntk"));
    CHECK_OK(apx_dual_act_parse("opt9", &da));
    CHECK(da == APX_DUAL_OPT9 && !strcmp(apx_dual_act_name(da), "opt9"));
    apx_dmat *mm[] = {&X, &Z, &Z4, &K, &Y, &Y5, &P};
    for (int i = 0; i < 7; i++) apx_dmat_free(mm[i]);
}
