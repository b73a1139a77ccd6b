/* tests/solve/test_alm.c: the augmented-Lagrangian Newton method with sketched KKT solves
 * (P073) on Hock-Schittkowski problems with known solutions (HS6, HS7, HS28, HS48) and on
 * equality-constrained logistic regression (against the exact Newton-KKT baseline); bad
 * input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "apx/la.h"
#include "apx/solve.h"

/* ---------------------------------------------------------------- HS problems */

typedef struct {
    int id, fail;
} hs_ctx;

static apx_status hs_fun(void *ctx, const double *x, double *f, double *g) {
    hs_ctx *h = ctx;
    if (h->fail) return APX_EIO;
    switch (h->id) {
    case 6:
        *f = (1 - x[0]) * (1 - x[0]);
        if (g) g[0] = -2 * (1 - x[0]), g[1] = 0;
        break;
    case 7:
        *f = log(1 + x[0] * x[0]) - x[1];
        if (g) g[0] = 2 * x[0] / (1 + x[0] * x[0]), g[1] = -1;
        break;
    case 28:
        *f = (x[0] + x[1]) * (x[0] + x[1]) + (x[1] + x[2]) * (x[1] + x[2]);
        if (g) g[0] = 2 * (x[0] + x[1]), g[1] = 2 * (x[0] + x[1]) + 2 * (x[1] + x[2]),
               g[2] = 2 * (x[1] + x[2]);
        break;
    default: // 48
        *f = (x[0] - 1) * (x[0] - 1) + (x[1] - x[2]) * (x[1] - x[2]) + (x[3] - x[4]) * (x[3] - x[4]);
        if (g) g[0] = 2 * (x[0] - 1), g[1] = 2 * (x[1] - x[2]), g[2] = -g[1],
               g[3] = 2 * (x[3] - x[4]), g[4] = -g[3];
    }
    return APX_OK;
}

static apx_status hs_cons(void *ctx, const double *x, double *c, double *J) {
    hs_ctx *h = ctx;
    switch (h->id) {
    case 6:
        c[0] = 10 * (x[1] - x[0] * x[0]);
        if (J) J[0] = -20 * x[0], J[1] = 10;
        break;
    case 7: {
        double t = 1 + x[0] * x[0];
        c[0] = t * t + x[1] * x[1] - 4;
        if (J) J[0] = 4 * x[0] * t, J[1] = 2 * x[1];
        break;
    }
    case 28:
        c[0] = x[0] + 2 * x[1] + 3 * x[2] - 1;
        if (J) J[0] = 1, J[1] = 2, J[2] = 3;
        break;
    default:
        c[0] = x[0] + x[1] + x[2] + x[3] + x[4] - 5;
        c[1] = x[2] - 2 * (x[3] + x[4]) + 3;
        if (J) {
            double Jv[10] = {1, 1, 1, 1, 1, 0, 0, 1, -2, -2};
            memcpy(J, Jv, sizeof Jv);
        }
    }
    return APX_OK;
}

// the Hessian of the Lagrangian, written out by hand
static apx_status hs_hess(void *ctx, const double *x, const double *lam, double *H) {
    hs_ctx *h = ctx;
    switch (h->id) {
    case 6:
        H[0] = 2 - 20 * lam[0], H[1] = H[2] = H[3] = 0;
        break;
    case 7: {
        double t = 1 + x[0] * x[0];
        H[0] = 2 * (1 - x[0] * x[0]) / (t * t) + lam[0] * (4 + 12 * x[0] * x[0]);
        H[1] = H[2] = 0, H[3] = 2 * lam[0];
        break;
    }
    case 28: {
        double Hv[9] = {2, 2, 0, 2, 4, 2, 0, 2, 2};
        memcpy(H, Hv, sizeof Hv);
        break;
    }
    default: {
        double Hv[25] = {2, 0, 0, 0, 0, 0, 2, -2, 0, 0, 0, -2, 2, 0, 0,
                         0, 0, 0, 2, -2, 0, 0, 0, -2, 2};
        memcpy(H, Hv, sizeof Hv);
    }
    }
    return APX_OK;
}

// Hv = H v from hs_hess (the product interface)
static apx_status hs_hessp(void *ctx, const double *x, const double *lam, const double *v,
                           double *Hv) {
    double H[25];
    hs_hess(ctx, x, lam, H);
    int n = ((hs_ctx *)ctx)->id == 6 || ((hs_ctx *)ctx)->id == 7 ? 2 : ((hs_ctx *)ctx)->id == 28 ? 3 : 5;
    for (int i = 0; i < n; i++) {
        Hv[i] = 0;
        for (int j = 0; j < n; j++) Hv[i] += H[i * n + j] * v[j];
    }
    return APX_OK;
}

typedef struct {
    int id, n, m;
    double x0[5], xs[5];
} hs_case;

static const hs_case HS[] = {
    {6, 2, 1, {-1.2, 1}, {1, 1}},
    {7, 2, 1, {2, 2}, {0, 1.7320508075688772}},
    {28, 3, 1, {-4, 1, 1}, {0.5, -0.5, 0.5}},
    {48, 5, 2, {3, 5, -3, 2, -2}, {1, 1, 1, 1, 1}},
};

static apx_alm_problem hs_problem(hs_ctx *c, const hs_case *h, int use_hessp) {
    apx_alm_problem P = {h->n, h->m, hs_fun, hs_cons, use_hessp ? NULL : hs_hess,
                         use_hessp ? hs_hessp : NULL, c};
    return P;
}

TEST(alm_hock_schittkowski) {
    for (int inner = 0; inner < 4; inner++)
        for (int k = 0; k < 4; k++) {
            const hs_case *h = &HS[k];
            hs_ctx c = {h->id, 0};
            apx_alm_problem P = hs_problem(&c, h, k == 2);
            apx_alm_opts o = apx_alm_opts_default();
            double hist[256], x[5], lam[2];
            o.inner = inner, o.kkt_history = hist, o.history_cap = 256, o.seed = 1;
            apx_alm_info info;
            apx_status st = apx_alm_newton(&P, h->x0, NULL, x, lam, &o, &info);
            CHECK_OK(st);
            if (st != APX_OK) {
                printf("  HS%d inner %d: %s\n", h->id, inner, apx_last_error());
                continue;
            }
            CHECK(info.converged && info.kkt <= 1e-8);
            for (int j = 0; j < h->n; j++) CHECK_NEAR(x[j], h->xs[j], 1e-6, 0);
            CHECK(info.last_unit_step); // alpha = 1 near the solution
            // superlinear: the last ratio of successive KKT residuals is small
            int64_t L = info.history_len;
            REQUIRE(L >= 2);
            double last = hist[L - 1] / hist[L - 2];
            if (inner == 1 && k == 0) {
                printf("  HS6 KKT residuals:");
                for (int64_t t = 0; t < L; t++) printf(" %.2e", hist[t]);
                printf("\n");
            }
            if (!(last < 1e-2)) printf("  HS%d inner %d: last ratio %.3g (%.3g -> %.3g)\n", h->id, inner, last, hist[L - 2], hist[L - 1]);
            CHECK(last < 1e-2);
        }
}

/* ---------------------------------------------------------------- logistic regression */

// X (N,D) Gaussian, y = sign(X w0 + noise), C (M,D) Gaussian, e = C w0 / 2
static void lr_data(int64_t N, int64_t D, int64_t M, double *X, double *y, double *C, double *e) {
    double w0[64], z[4096];
    apx_rng_fill_normal(11, 0, X, N * D);
    apx_rng_fill_normal(11, 1, w0, D);
    apx_rng_fill_normal(11, 2, z, N);
    apx_rng_fill_normal(11, 3, C, M * D);
    for (int64_t r = 0; r < N; r++) {
        double s = z[r];
        for (int64_t j = 0; j < D; j++) s += X[r * D + j] * w0[j];
        y[r] = s >= 0 ? 1.0 : -1.0;
    }
    for (int64_t i = 0; i < M; i++) {
        e[i] = 0;
        for (int64_t j = 0; j < D; j++) e[i] += 0.5 * C[i * D + j] * w0[j];
    }
}

TEST(alm_p073_constrained_logreg) {
    enum { N = 200, D = 20, M = 5 };
    double *X = malloc(sizeof(double) * N * D), y[N], C[M * D], e[M], w0[D] = {0};
    REQUIRE(X);
    lr_data(N, D, M, X, y, C, e);
    apx_alm_logreg data;
    apx_alm_problem P;
    REQUIRE_OK(apx_alm_logreg_setup(apx_dmat_view(X, N, D), y, apx_dmat_view(C, M, D), e, 0.1,
                                    &data, &P));
    double xd[D], ld[M], x[D], lam[M], hist[256];
    apx_alm_opts o = apx_alm_opts_default();
    o.inner = APX_ALM_DIRECT;
    apx_alm_info info;
    REQUIRE_OK(apx_alm_newton(&P, w0, NULL, xd, ld, &o, &info));
    for (int inner = 0; inner < 3; inner++) {
        o = apx_alm_opts_default();
        o.inner = inner, o.kkt_history = hist, o.history_cap = 256, o.seed = 2;
        REQUIRE_OK(apx_alm_newton(&P, w0, NULL, x, lam, &o, &info));
        CHECK(info.kkt <= 1e-8 && info.last_unit_step);
        for (int j = 0; j < D; j++) CHECK_NEAR(x[j], xd[j], 1e-6, 0);
        for (int i = 0; i < M; i++) CHECK_NEAR(lam[i], ld[i], 1e-6, 0);
        int64_t L = info.history_len;
        CHECK(L >= 3 && hist[L - 1] / hist[L - 2] < hist[L - 2] / hist[L - 3]);
        printf("  [P073 logreg] inner %d: %lld iterations, %lld inner steps, unit steps %lld, "
               "KKT %.2e, ratios %.2e %.2e\n", inner, (long long)info.iterations,
               (long long)info.inner_iterations, (long long)info.unit_steps, info.kkt,
               hist[L - 2] / hist[L - 3], hist[L - 1] / hist[L - 2]);
    }
    // the KKT conditions recomputed here: grad f + C^T lam = 0, C w = e
    double f, g[D];
    REQUIRE_OK(P.fun(P.ctx, x, &f, g));
    double r = 0;
    for (int j = 0; j < D; j++) {
        double v = g[j];
        for (int i = 0; i < M; i++) v += C[i * D + j] * lam[i];
        r += v * v;
    }
    for (int i = 0; i < M; i++) {
        double v = -e[i];
        for (int j = 0; j < D; j++) v += C[i * D + j] * x[j];
        r += v * v;
    }
    CHECK(sqrt(r) <= 1e-8);
    apx_alm_logreg_free(&data);
    free(X);
}

/* ---------------------------------------------------------------- errors */

static int stop_cb(void *ctx, double f, const char *m) { return 1; }

// c(x) = (x0 + x1 - 1, 2 x0 + 2 x1 - 2): a rank-deficient Jacobian
static apx_status dup_cons(void *ctx, const double *x, double *c, double *J) {
    c[0] = x[0] + x[1] - 1, c[1] = 2 * c[0];
    if (J) J[0] = 1, J[1] = 1, J[2] = 2, J[3] = 2;
    return APX_OK;
}

static apx_status quad_fun(void *ctx, const double *x, double *f, double *g) {
    *f = x[0] * x[0] + x[1] * x[1];
    if (g) g[0] = 2 * x[0], g[1] = 2 * x[1];
    return APX_OK;
}

static apx_status quad_hess(void *ctx, const double *x, const double *l, double *H) {
    H[0] = H[3] = 2, H[1] = H[2] = 0;
    return APX_OK;
}

static apx_status nan_hess(void *ctx, const double *x, const double *l, double *H) {
    H[0] = NAN, H[3] = 2, H[1] = H[2] = 0;
    return APX_OK;
}

TEST(alm_bad_input) {
    hs_ctx c = {28, 0};
    apx_alm_problem P = hs_problem(&c, &HS[2], 0);
    double x0[3] = {-4, 1, 1}, x[3], lam[1];
    apx_alm_opts o = apx_alm_opts_default();
    apx_alm_info info;
    CHECK_STATUS(apx_alm_newton(NULL, x0, NULL, x, lam, &o, NULL), APX_EINVAL);
    CHECK_STATUS(apx_alm_newton(&P, NULL, NULL, x, lam, &o, NULL), APX_EINVAL);
    CHECK_STATUS(apx_alm_newton(&P, x0, NULL, x, NULL, &o, NULL), APX_EINVAL);
    apx_alm_problem Q = P;
    Q.hess = NULL;
    CHECK_STATUS(apx_alm_newton(&Q, x0, NULL, x, lam, &o, NULL), APX_EINVAL);
    Q = P, Q.m = 4;
    CHECK_STATUS(apx_alm_newton(&Q, x0, NULL, x, lam, &o, NULL), APX_EINVAL);
    Q = P, Q.fun = NULL;
    CHECK_STATUS(apx_alm_newton(&Q, x0, NULL, x, lam, &o, NULL), APX_EINVAL);
    Q = P, Q.n = INT64_C(1) << 32; // (n+m)^2 would wrap int64: refused before reading x0
    CHECK_STATUS(apx_alm_newton(&Q, x0, NULL, x, lam, &o, NULL), APX_EINVAL);
    double bad0[3] = {NAN, 0, 0};
    CHECK_STATUS(apx_alm_newton(&P, bad0, NULL, x, lam, &o, NULL), APX_EINVAL);
    apx_alm_opts b = o;
    b.beta = 0.7;
    CHECK_STATUS(apx_alm_newton(&P, x0, NULL, x, lam, &b, NULL), APX_EINVAL);
    b = o, b.rho = 1;
    CHECK_STATUS(apx_alm_newton(&P, x0, NULL, x, lam, &b, NULL), APX_EINVAL);
    b = o, b.inner = 9;
    CHECK_STATUS(apx_alm_newton(&P, x0, NULL, x, lam, &b, NULL), APX_EINVAL);
    b = o, b.history_cap = 3;
    CHECK_STATUS(apx_alm_newton(&P, x0, NULL, x, lam, &b, NULL), APX_EINVAL);
    // callbacks: an error status, a NaN Hessian, a rank-deficient Jacobian
    c.fail = 1;
    CHECK_STATUS(apx_alm_newton(&P, x0, NULL, x, lam, &o, NULL), APX_EIO);
    c.fail = 0;
    apx_alm_problem R = {2, 2, quad_fun, dup_cons, quad_hess, NULL, NULL};
    double y0[2] = {3, -1}, y[2], l2[2];
    CHECK_STATUS(apx_alm_newton(&R, y0, NULL, y, l2, &o, NULL), APX_ENUMERIC);
    R.m = 1, R.hess = nan_hess;
    CHECK_STATUS(apx_alm_newton(&R, y0, NULL, y, l2, &o, NULL), APX_ENUMERIC);
    // the iteration limit and cancelling
    b = o, b.max_iters = 1;
    CHECK_STATUS(apx_alm_newton(&P, x0, NULL, x, lam, &b, &info), APX_ENOCONV);
    CHECK(!info.converged && info.iterations == 1 && info.kkt > 1e-8);
    b = o, b.progress.fn = stop_cb;
    CHECK_STATUS(apx_alm_newton(&P, x0, NULL, x, lam, &b, NULL), APX_ECANCELED);
    // the logistic-regression setup
    double X[4] = {1, 2, 3, 4}, yy[2] = {1, 0}, C[2] = {1, 1}, e[1] = {1};
    apx_alm_logreg d;
    CHECK_STATUS(apx_alm_logreg_setup(apx_dmat_view(X, 2, 2), yy, apx_dmat_view(C, 1, 2), e, 0,
                                      &d, &R), APX_EINVAL);
    yy[1] = -1;
    CHECK_STATUS(apx_alm_logreg_setup(apx_dmat_view(X, 2, 2), yy, apx_dmat_view(C, 2, 1), e, 0,
                                      &d, &R), APX_ESHAPE);
    CHECK_STATUS(apx_alm_logreg_setup(apx_dmat_view(X, 2, 2), yy, apx_dmat_view(C, 1, 2), e, -1,
                                      &d, &R), APX_EINVAL);
    REQUIRE_OK(apx_alm_logreg_setup(apx_dmat_view(X, 2, 2), yy, apx_dmat_view(C, 1, 2), e, 0.1,
                                    &d, &R));
    apx_alm_logreg_free(&d);
}

// an equality-constrained QP: the KKT system solved by LU is the exact answer
TEST(alm_qp_exact) {
    enum { D = 6, M = 2, K = D + M };
    double G[D * D], Q[D * D], q[D], C[M * D], e[M] = {1.0, -0.5}, KK[K * K] = {0}, r[K], s[K];
    apx_rng_fill_normal(21, 0, G, D * D);
    apx_rng_fill_normal(21, 1, q, D);
    apx_rng_fill_normal(21, 2, C, M * D);
    for (int i = 0; i < D; i++) // Q = 0.05 G^T G + I (positive definite, well conditioned)
        for (int j = 0; j < D; j++) {
            double v = i == j;
            for (int k = 0; k < D; k++) v += 0.05 * G[k * D + i] * G[k * D + j];
            Q[i * D + j] = v;
        }
    for (int i = 0; i < D; i++) {
        for (int j = 0; j < D; j++) KK[i * K + j] = Q[i * D + j];
        for (int k = 0; k < M; k++) KK[i * K + D + k] = KK[(D + k) * K + i] = C[k * D + i];
        r[i] = -q[i];
    }
    for (int k = 0; k < M; k++) r[D + k] = e[k];
    REQUIRE_OK(apx_la_solve(apx_dmat_view(KK, K, K), apx_dmat_view(r, K, 1),
                            apx_dmat_view(s, K, 1)));
    apx_alm_qp data;
    apx_alm_problem P;
    REQUIRE_OK(apx_alm_qp_setup(apx_dmat_view(Q, D, D), q, apx_dmat_view(C, M, D), e, &data, &P));
    double x0[D] = {0}, x[D], lam[M];
    for (int inner = 0; inner < 4; inner++) {
        apx_alm_opts o = apx_alm_opts_default();
        o.inner = inner;
        apx_alm_info info;
        apx_status st = apx_alm_newton(&P, x0, NULL, x, lam, &o, &info);
        REQUIRE_OK(st);
        for (int j = 0; j < D; j++) CHECK_NEAR(x[j], s[j], 1e-8, 1e-8);
        for (int k = 0; k < M; k++) CHECK_NEAR(lam[k], s[D + k], 1e-8, 1e-8);
    }
    CHECK_STATUS(apx_alm_qp_setup(apx_dmat_view(Q, D, D - 1), q, apx_dmat_view(C, M, D), e,
                                  &data, &P), APX_ESHAPE);
    CHECK_STATUS(apx_alm_qp_setup(apx_dmat_view(Q, D, D), q, apx_dmat_view(C, M, D - 1), e,
                                  &data, &P), APX_ESHAPE);
    CHECK_STATUS(apx_alm_qp_setup(apx_dmat_view(Q, D, D), NULL, apx_dmat_view(C, M, D), e,
                                  &data, &P), APX_EINVAL);
    q[2] = NAN;
    CHECK_STATUS(apx_alm_qp_setup(apx_dmat_view(Q, D, D), q, apx_dmat_view(C, M, D), e,
                                  &data, &P), APX_EINVAL);
}
