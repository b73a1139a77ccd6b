/* tests/regress/test_lm.c: Levenberg-Marquardt (apx_regress_lm).
 * Exact answers: zero-residual problems of Moré-Garbow-Hillstrom (Rosenbrock, helical valley,
 * Powell singular, Brown badly scaled, Box 3-D) and noise-free exponential decays, whose
 * minimizers are known in closed form; a linear residual, whose minimizer and covariance
 * s^2 (A^T A)^-1 come from a dense QR solve; forward differences against the analytic
 * Jacobian; the budget (ENOCONV), callback failures and bad arguments. The comparison with
 * scipy.optimize.least_squares(method="lm") is in python/tests/test_nonlinear.py. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "apx/la.h"
#include "apx/regress.h"
#include "regress/nonlinear_internal.h"

/* ---------------------------------------------------------------- problems */

typedef struct {
    int calls, fail_at, fail_code, nan_at;
    const double *t, *y;
    int64_t m;
    const double *A, *b; // linear residual A x - b
    int64_t n;
} prob_ctx;

static int rosen_f(void *ctx, const double *x, double *r) {
    (void)ctx;
    r[0] = 10 * (x[1] - x[0] * x[0]);
    r[1] = 1 - x[0];
    return 0;
}
static int rosen_j(void *ctx, const double *x, double *J) {
    (void)ctx;
    J[0] = -20 * x[0], J[1] = 10, J[2] = -1, J[3] = 0;
    return 0;
}

static int helical_f(void *ctx, const double *x, double *r) {
    (void)ctx;
    // MGH: theta = atan(x2/x1)/(2 pi), plus 1/2 when x1 < 0
    double th = x[0] == 0 ? (x[1] >= 0 ? 0.25 : -0.25)
                          : atan(x[1] / x[0]) / (2 * M_PI) + (x[0] < 0 ? 0.5 : 0);
    r[0] = 10 * (x[2] - 10 * th);
    r[1] = 10 * (sqrt(x[0] * x[0] + x[1] * x[1]) - 1);
    r[2] = x[2];
    return 0;
}

static int powell_f(void *ctx, const double *x, double *r) {
    (void)ctx;
    r[0] = x[0] + 10 * x[1];
    r[1] = sqrt(5.0) * (x[2] - x[3]);
    r[2] = (x[1] - 2 * x[2]) * (x[1] - 2 * x[2]);
    r[3] = sqrt(10.0) * (x[0] - x[3]) * (x[0] - x[3]);
    return 0;
}

static int brown_f(void *ctx, const double *x, double *r) {
    (void)ctx;
    r[0] = x[0] - 1e6;
    r[1] = x[1] - 2e-6;
    r[2] = x[0] * x[1] - 2;
    return 0;
}

static int box3_f(void *ctx, const double *x, double *r) {
    (void)ctx;
    for (int i = 0; i < 10; i++) {
        double t = 0.1 * (i + 1);
        r[i] = exp(-t * x[0]) - exp(-t * x[1]) - x[2] * (exp(-t) - exp(-10 * t));
    }
    return 0;
}

// y_i - (a exp(-k t_i) + c)
static int decay_f(void *ctx, const double *x, double *r) {
    prob_ctx *c = ctx;
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at) return c->fail_code;
    for (int64_t i = 0; i < c->m; i++) r[i] = x[0] * exp(-x[1] * c->t[i]) + x[2] - c->y[i];
    if (c->nan_at && c->calls == c->nan_at) r[0] = NAN;
    return 0;
}
static int decay_j(void *ctx, const double *x, double *J) {
    prob_ctx *c = ctx;
    for (int64_t i = 0; i < c->m; i++) {
        double e = exp(-x[1] * c->t[i]);
        J[3 * i] = e, J[3 * i + 1] = -x[0] * c->t[i] * e, J[3 * i + 2] = 1;
    }
    return 0;
}

static int linear_f(void *ctx, const double *x, double *r) {
    prob_ctx *c = ctx;
    for (int64_t i = 0; i < c->m; i++) {
        double s = -c->b[i];
        for (int64_t j = 0; j < c->n; j++) s += c->A[i * c->n + j] * x[j];
        r[i] = s;
    }
    return 0;
}

static apx_lm_problem problem(int64_t m, int64_t n, apx_lm_fun f, apx_lm_jac j, void *ctx) {
    apx_lm_problem p = {m, n, f, j, ctx};
    return p;
}

static prob_ctx data_ctx(const double *t, const double *y, int64_t m) {
    prob_ctx c;
    memset(&c, 0, sizeof c);
    c.t = t, c.y = y, c.m = m;
    return c;
}

static apx_lm_opts tight(void) {
    apx_lm_opts o = apx_lm_opts_default();
    o.ftol = o.xtol = o.gtol = 1e-15;
    return o;
}

/* ---------------------------------------------------------------- exact answers */

TEST(lm_rosenbrock_exact) {
    double x[2] = {-1.2, 1}, x2[2] = {-1.2, 1};
    apx_lm_opts o = tight();
    apx_lm_info info;
    REQUIRE_OK(apx_regress_lm(problem(2, 2, rosen_f, rosen_j, NULL), x, &o, &info, NULL));
    CHECK_NEAR(x[0], 1, 1e-12, 0);
    CHECK_NEAR(x[1], 1, 1e-12, 0);
    CHECK(info.cost < 1e-25);
    CHECK(info.nfev > 1 && info.njev >= info.iterations && info.iterations > 1);
    CHECK(info.stop != APX_LM_MAXFEV);
    CHECK(isnan(info.s2)); // m = n
    // forward differences: the same minimizer, more evaluations
    apx_lm_info i2;
    REQUIRE_OK(apx_regress_lm(problem(2, 2, rosen_f, NULL, NULL), x2, &o, &i2, NULL));
    CHECK_NEAR(x2[0], 1, 1e-9, 0);
    CHECK_NEAR(x2[1], 1, 1e-9, 0);
    CHECK(i2.nfev > info.nfev);
}

TEST(lm_mgh_zero_residual) {
    // helical valley (1,0,0), Powell singular (0,0,0,0), Brown badly scaled (1e6, 2e-6),
    // Box 3-D (1,10,1): the standard starts of Moré-Garbow-Hillstrom 1981
    apx_lm_opts o = tight();
    apx_lm_info info;
    double h[3] = {-1, 0, 0};
    REQUIRE_OK(apx_regress_lm(problem(3, 3, helical_f, NULL, NULL), h, &o, &info, NULL));
    CHECK_NEAR(h[0], 1, 1e-8, 0);
    CHECK_NEAR(h[1], 0, 1e-8, 0);
    CHECK_NEAR(h[2], 0, 1e-8, 0);
    double p[4] = {3, -1, 0, 1};
    apx_status st = apx_regress_lm(problem(4, 4, powell_f, NULL, NULL), p, &o, &info, NULL);
    CHECK(st == APX_OK || st == APX_ENOCONV); // singular at the solution: slow convergence
    for (int j = 0; j < 4; j++) CHECK_NEAR(p[j], 0, 1e-3, 0);
    CHECK(info.cost < 1e-12);
    double b[2] = {1, 1};
    REQUIRE_OK(apx_regress_lm(problem(3, 2, brown_f, NULL, NULL), b, &o, &info, NULL));
    CHECK_NEAR(b[0], 1e6, 0, 1e-10);
    CHECK_NEAR(b[1], 2e-6, 0, 1e-8);
    double x3[3] = {0, 10, 20};
    REQUIRE_OK(apx_regress_lm(problem(10, 3, box3_f, NULL, NULL), x3, &o, &info, NULL));
    CHECK(info.cost < 1e-20);
    CHECK_NEAR(x3[0], 1, 1e-6, 0);
    CHECK_NEAR(x3[1], 10, 1e-5, 0);
    CHECK_NEAR(x3[2], 1, 1e-6, 0);
}

TEST(lm_exponential_decay_noise_free) {
    double t[40], y[40];
    for (int i = 0; i < 40; i++) t[i] = 0.25 * i, y[i] = 2.5 * exp(-0.7 * t[i]) + 0.3;
    prob_ctx c = data_ctx(t, y, 40);
    double x[3] = {1, 0.1, 0}, xf[3] = {1, 0.1, 0};
    apx_lm_opts o = tight();
    apx_lm_info info;
    REQUIRE_OK(apx_regress_lm(problem(40, 3, decay_f, decay_j, &c), x, &o, &info, NULL));
    CHECK_NEAR(x[0], 2.5, 1e-10, 0);
    CHECK_NEAR(x[1], 0.7, 1e-10, 0);
    CHECK_NEAR(x[2], 0.3, 1e-10, 0);
    CHECK(info.rank == 3);
    REQUIRE_OK(apx_regress_lm(problem(40, 3, decay_f, NULL, &c), xf, &o, &info, NULL));
    for (int j = 0; j < 3; j++) CHECK_NEAR(xf[j], x[j], 1e-7, 0);
}

TEST(lm_noisy_decay_stationary_and_scaling_free) {
    // with noise: the gradient J^T r vanishes at the solution, and D = I (no scaling)
    // reaches the same minimizer
    double t[60], y[60], e[60];
    apx_rng_fill_normal(7, 0, e, 60);
    for (int i = 0; i < 60; i++) t[i] = 0.1 * i, y[i] = 3 * exp(-1.3 * t[i]) - 0.5 + 0.05 * e[i];
    prob_ctx c = data_ctx(t, y, 60);
    double x[3] = {1, 1, 0}, x2[3] = {1, 1, 0};
    apx_lm_opts o = tight();
    apx_lm_info info;
    REQUIRE_OK(apx_regress_lm(problem(60, 3, decay_f, decay_j, &c), x, &o, &info, NULL));
    // stopped by ftol = 1e-15 (relative cost decrease): the gradient is then at most about
    // sqrt(2 cost 1e-15 ||J||^2) ~ 1e-7 here (cost ~ 0.1, ||J||^2 <= 60 (1 + 9 t^2 e^-2.6t))
    CHECK(info.stop != APX_LM_MAXFEV && info.grad_norm < 1e-6);
    o.scale_diag = 0;
    REQUIRE_OK(apx_regress_lm(problem(60, 3, decay_f, decay_j, &c), x2, &o, &info, NULL));
    for (int j = 0; j < 3; j++) CHECK_NEAR(x2[j], x[j], 1e-9, 1e-9);
}

TEST(lm_linear_covariance) {
    // r = A x - b: the minimizer is the least-squares solution and cov = s^2 (A^T A)^-1
    enum { M = 30, N = 4 };
    double A[M * N], b[M], x[N] = {0}, cov[N * N], xr[N], AtA[N * N], inv[N * N], I[N * N];
    apx_rng_fill_normal(11, 0, A, M * N);
    apx_rng_fill_normal(11, 1, b, M);
    prob_ctx c = {0};
    c.A = A, c.b = b, c.m = M, c.n = N;
    apx_lm_info info;
    REQUIRE_OK(apx_regress_lm(problem(M, N, linear_f, NULL, &c), x, NULL, &info, cov));
    REQUIRE_OK(apx_la_lstsq(apx_dmat_view(A, M, N), apx_dmat_view(b, M, 1), -1,
                            apx_dmat_view(xr, N, 1), NULL));
    double rss = 0;
    for (int i = 0; i < M; i++) {
        double s = -b[i];
        for (int j = 0; j < N; j++) s += A[i * N + j] * xr[j];
        rss += s * s;
    }
    for (int j = 0; j < N; j++) CHECK_NEAR(x[j], xr[j], 1e-7, 1e-7);
    CHECK_NEAR(info.s2, rss / (M - N), 0, 1e-10);
    for (int a = 0; a < N; a++)
        for (int d = 0; d < N; d++) {
            double s = 0;
            for (int i = 0; i < M; i++) s += A[i * N + a] * A[i * N + d];
            AtA[a * N + d] = s;
            I[a * N + d] = a == d;
        }
    REQUIRE_OK(apx_la_solve(apx_dmat_view(AtA, N, N), apx_dmat_view(I, N, N),
                            apx_dmat_view(inv, N, N)));
    for (int k = 0; k < N * N; k++) CHECK_NEAR(cov[k], info.s2 * inv[k], 1e-12, 1e-6);
}

TEST(lm_qr_path_matches_direct_svd) {
    // the QR-of-[J D^-1 | r] step (m >= n) against the reference direct SVD of J D^-1:
    // the same iterates (up to rounding), evaluations and covariance
    double t[50], y[50], e[50];
    apx_rng_fill_normal(13, 0, e, 50);
    for (int i = 0; i < 50; i++) t[i] = 0.15 * i, y[i] = 1.7 * exp(-0.9 * t[i]) + 0.2 + 0.02 * e[i];
    prob_ctx c = data_ctx(t, y, 50);
    apx_lm_problem ps[3] = {problem(50, 3, decay_f, decay_j, &c), problem(10, 3, box3_f, NULL, NULL),
                            problem(2, 2, rosen_f, rosen_j, NULL)};
    double starts[3][3] = {{1, 0.1, 0}, {0, 10, 20}, {-1.2, 1, 0}};
    apx_lm_opts o = tight();
    for (int k = 0; k < 3; k++) {
        double x1[3], x2[3], c1[9], c2[9];
        memcpy(x1, starts[k], sizeof x1);
        memcpy(x2, starts[k], sizeof x2);
        apx_lm_info i1, i2;
        REQUIRE_OK(apx_regress_lm(ps[k], x1, &o, &i1, c1));
        REQUIRE_OK(apx__regress_lm_direct(ps[k], x2, &o, &i2, c2));
        for (int j = 0; j < ps[k].n; j++) CHECK_NEAR(x1[j], x2[j], 1e-10, 1e-10);
        CHECK(i1.iterations == i2.iterations && i1.rank == i2.rank);
        CHECK(labs((long)(i1.nfev - i2.nfev)) <= 1);
        for (int j = 0; k == 0 && j < 9; j++) CHECK_NEAR(c1[j], c2[j], 1e-14, 1e-8);
    }
}

/* ---------------------------------------------------------------- budget, failures, input */

TEST(lm_budget_enoconv) {
    double x[2] = {-1.2, 1};
    apx_lm_opts o = tight();
    o.max_nfev = 3;
    apx_lm_info info;
    CHECK_STATUS(apx_regress_lm(problem(2, 2, rosen_f, rosen_j, NULL), x, &o, &info, NULL),
                 APX_ENOCONV);
    CHECK(info.stop == APX_LM_MAXFEV && info.nfev == 3);
    CHECK(isfinite(x[0]) && isfinite(x[1]));
    CHECK(strstr(apx_last_error(), "max_nfev") != NULL);
}

TEST(lm_progress_and_cancel) {
    double x[2] = {-1.2, 1};
    apx_lm_opts o = tight();
    tu_progress_log log = {0, 0, 0, 0};
    o.progress.fn = tu_progress_cb, o.progress.ctx = &log;
    REQUIRE_OK(apx_regress_lm(problem(2, 2, rosen_f, rosen_j, NULL), x, &o, NULL, NULL));
    CHECK(log.calls > 1 && !log.bad);
    tu_progress_log stop = {0, 2, 0, 0};
    o.progress.ctx = &stop;
    x[0] = -1.2, x[1] = 1;
    CHECK_STATUS(apx_regress_lm(problem(2, 2, rosen_f, rosen_j, NULL), x, &o, NULL, NULL),
                 APX_ECANCELED);
}

TEST(lm_callback_failures) {
    double t[10], y[10];
    for (int i = 0; i < 10; i++) t[i] = i, y[i] = exp(-0.3 * i);
    prob_ctx c = data_ctx(t, y, 10);
    c.fail_at = 4, c.fail_code = APX_EIO;
    double x[3] = {1, 1, 0};
    CHECK_STATUS(apx_regress_lm(problem(10, 3, decay_f, decay_j, &c), x, NULL, NULL, NULL),
                 APX_EIO);
    CHECK(strstr(apx_last_error(), "residual callback") != NULL);
    c.calls = 0, c.fail_code = 77; // not a status: EINVAL
    CHECK_STATUS(apx_regress_lm(problem(10, 3, decay_f, decay_j, &c), x, NULL, NULL, NULL),
                 APX_EINVAL);
    c.calls = 0, c.fail_at = 0, c.nan_at = 1; // NaN at the start
    double x2[3] = {1, 1, 0};
    CHECK_STATUS(apx_regress_lm(problem(10, 3, decay_f, decay_j, &c), x2, NULL, NULL, NULL),
                 APX_EINVAL);
    c.calls = 0, c.nan_at = 3; // NaN at a trial point: rejected, the fit goes on
    double x3[3] = {1, 0.1, 0};
    apx_lm_opts o = tight();
    CHECK_OK(apx_regress_lm(problem(10, 3, decay_f, decay_j, &c), x3, &o, NULL, NULL));
    CHECK_NEAR(x3[1], 0.3, 1e-8, 0);
}

TEST(lm_bad_input) {
    double x[2] = {0, 0}, xn[2] = {NAN, 0};
    apx_lm_opts o = apx_lm_opts_default();
    CHECK_STATUS(apx_regress_lm(problem(2, 2, NULL, NULL, NULL), x, NULL, NULL, NULL),
                 APX_EINVAL);
    CHECK_STATUS(apx_regress_lm(problem(0, 2, rosen_f, NULL, NULL), x, NULL, NULL, NULL),
                 APX_ESHAPE);
    CHECK_STATUS(apx_regress_lm(problem(2, 0, rosen_f, NULL, NULL), x, NULL, NULL, NULL),
                 APX_ESHAPE);
    CHECK_STATUS(apx_regress_lm(problem(2, 2, rosen_f, NULL, NULL), NULL, NULL, NULL, NULL),
                 APX_EINVAL);
    CHECK_STATUS(apx_regress_lm(problem(2, 2, rosen_f, NULL, NULL), xn, NULL, NULL, NULL),
                 APX_EINVAL);
    o.ftol = -1;
    CHECK_STATUS(apx_regress_lm(problem(2, 2, rosen_f, NULL, NULL), x, &o, NULL, NULL),
                 APX_EINVAL);
    o = apx_lm_opts_default();
    o.factor = 0;
    CHECK_STATUS(apx_regress_lm(problem(2, 2, rosen_f, NULL, NULL), x, &o, NULL, NULL),
                 APX_EINVAL);
}
