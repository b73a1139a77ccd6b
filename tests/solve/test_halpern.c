/* tests/solve/test_halpern.c: Halpern and variance-reduced Halpern iteration (P011): exact
 * answers for separable problems (box, l1 resolvent), the catalog's checks on a finite-sum
 * least-squares (cocoercive) and a bilinear saddle (monotone) problem, bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "apx/la.h"
#include "apx/solve.h"

/* ---------------------------------------------------------------- helpers */

// ||F(x)|| recomputed from the data: F = (1/n) sum_i F_i
static double op_norm(apx_halpern_problem *P, const double *x) {
    double F[64], s = 0;
    if (P->comp(P->comp_ctx, NULL, P->n, x, F) != APX_OK) return INFINITY;
    for (int64_t j = 0; j < P->d; j++) s += (F[j] / (double)P->n) * (F[j] / (double)P->n);
    return sqrt(s);
}

// least-squares slope of log(res) against log(k + 1) over the history points with k >= k0
static double loglog_slope(const double *h, const int64_t *it, int64_t len, int64_t k0) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int64_t c = 0;
    for (int64_t t = 0; t < len; t++) {
        if (it[t] < k0) continue;
        double X = log((double)it[t] + 1.0), Y = log(h[t]);
        sx += X, sy += Y, sxx += X * X, sxy += X * Y, c++;
    }
    return c < 3 ? 0.0 : ((double)c * sxy - sx * sy) / ((double)c * sxx - sx * sx);
}

// rows a_i = mix g_i + u (a shared direction: the components are alike), b Gaussian
static void ls_data(int64_t N, int64_t d, double mix, double *A, double *b) {
    double u[64];
    apx_rng_fill_normal(5, 1, u, d);
    apx_rng_fill_normal(5, 0, A, N * d);
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < d; j++) A[i * d + j] = mix * A[i * d + j] + u[j];
    apx_rng_fill_normal(5, 2, b, N);
}

// B_i = B0 + mix E_i (n stacked (p,q) blocks), a (n p), c (n q) Gaussian
static void bl_data(int64_t n, int64_t p, int64_t q, double mix, double *B, double *a,
                    double *c) {
    double B0[256];
    apx_rng_fill_normal(7, 0, B, n * p * q);
    apx_rng_fill_normal(7, 1, B0, p * q);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < p * q; k++) B[i * p * q + k] = B0[k] + mix * B[i * p * q + k];
    apx_rng_fill_normal(7, 2, a, n * p);
    apx_rng_fill_normal(7, 3, c, n * q);
}

/* ---------------------------------------------------------------- exact answers */

// diagonal least squares: component j is a_j^2 x_j - a_j b_j on coordinate j (n = d rows)
TEST(halpern_box_exact) {
    enum { D = 6 };
    double A[D * D] = {0}, b[D], x[D], lo[D], hi[D];
    for (int j = 0; j < D; j++) {
        A[j * D + j] = 1.0 + 0.5 * j;
        b[j] = (j % 2 ? 0.2 : -0.15) * (1 + j);
        lo[j] = -0.1, hi[j] = 0.1 + 0.025 * j;
    }
    apx_fsum_data data;
    apx_halpern_problem P;
    REQUIRE_OK(apx_fsum_lstsq(apx_dmat_view(A, D, D), b, D, &data, &P));
    P.lo = lo, P.hi = hi;
    for (int vr = 0; vr < 2; vr++) {
        apx_halpern_opts o = apx_halpern_opts_default();
        o.variance_reduced = vr;
        o.tol = 1e-5; // Halpern is O(1/k): high accuracy is costly
        o.max_evals = 10000000;
        apx_halpern_info info;
        REQUIRE_OK(apx_halpern(&P, NULL, x, &o, &info));
        CHECK(info.converged && info.residual <= 1e-5);
        for (int j = 0; j < D; j++) {
            double xs = b[j] / A[j * D + j]; // unconstrained optimum, then the box
            xs = xs < lo[j] ? lo[j] : xs > hi[j] ? hi[j] : xs;
            // the residual r bounds the error by r / mu, mu = min a_j^2 / n = 1 / D
            CHECK_NEAR(x[j], xs, 1e-5 * D, 0);
        }
    }
}

typedef struct {
    double lam;
    int calls, fail;
} l1_ctx;

// J_{eta lam |.|_1}(z): soft thresholding
static apx_status soft(void *ctx, double eta, const double *z, double *out) {
    l1_ctx *c = ctx;
    c->calls++;
    if (c->fail) return APX_EINVAL;
    for (int j = 0; j < 6; j++) {
        double t = eta * c->lam, v = z[j];
        out[j] = v > t ? v - t : v < -t ? v + t : 0.0;
    }
    return APX_OK;
}

// 0 in F(x) + lam d|x|_1 with F separable: x_j = S(a_j b_j, n lam) / a_j^2 (monotone setting)
TEST(halpern_l1_resolvent_exact) {
    enum { D = 6 };
    double A[D * D] = {0}, b[D], x[D];
    for (int j = 0; j < D; j++) A[j * D + j] = 1.0 + 0.3 * j, b[j] = (j % 3 - 1) * 0.09 + 0.005 * j;
    apx_fsum_data data;
    apx_halpern_problem P;
    REQUIRE_OK(apx_fsum_lstsq(apx_dmat_view(A, D, D), b, D, &data, &P));
    l1_ctx c = {0.002, 0, 0};
    P.resolvent = soft, P.resolvent_ctx = &c;
    for (int setting = 0; setting < 2; setting++)
        for (int vr = 0; vr < 2; vr++) {
            apx_halpern_opts o = apx_halpern_opts_default();
            o.setting = setting, o.variance_reduced = vr, o.tol = 1e-5;
            o.max_evals = 10000000;
            REQUIRE_OK(apx_halpern(&P, NULL, x, &o, NULL));
            for (int j = 0; j < D; j++) {
                double a = A[j * D + j], v = a * b[j], t = D * c.lam;
                double xs = (v > t ? v - t : v < -t ? v + t : 0.0) / (a * a);
                CHECK_NEAR(x[j], xs, 1e-5 * D, 0); // r / mu, mu = 1 / D
            }
        }
    CHECK(c.calls > 0);
}

/* ---------------------------------------------------------------- catalog checks (P011) */

typedef struct {
    int64_t evals, len;
    double res, slope;
    int conv;
} run_out;

static run_out run_one(apx_halpern_problem *P, apx_halpern_opts o, int vr, double *x) {
    static double h[1 << 16];
    static int64_t it[1 << 16], ev[1 << 16];
    o.variance_reduced = vr;
    o.history = h, o.history_iters = it, o.history_evals = ev, o.history_cap = 1 << 16;
    apx_halpern_info info;
    memset(&info, 0, sizeof info);
    apx_status st = apx_halpern(P, NULL, x, &o, &info);
    run_out r = {info.evaluations, info.history_len, info.residual, 0, st == APX_OK};
    int64_t kmax = info.history_len ? it[info.history_len - 1] : 0;
    r.slope = loglog_slope(h, it, info.history_len, kmax / 8 + 1);
    return r;
}

// the catalog's assertions: deterministic and variance-reduced runs reach o.tol (checked on
// the data), the VR run with >= 3x fewer component evaluations, log-log slopes <= -0.8;
// x ends as the VR solution
static void p011_compare(apx_halpern_problem *P, apx_halpern_opts o, const char *label,
                         double *x) {
    run_out det = run_one(P, o, 0, x);
    CHECK(det.conv && op_norm(P, x) <= o.tol * (1 + 1e-9));
    run_out vr = run_one(P, o, 1, x);
    CHECK(vr.conv && op_norm(P, x) <= o.tol * (1 + 1e-9));
    printf("  [P011 %s] evaluations: deterministic %lld, VR %lld (ratio %.2f); slopes %.3f "
           "%.3f\n", label, (long long)det.evals, (long long)vr.evals,
           (double)det.evals / (double)vr.evals, det.slope, vr.slope);
    CHECK((double)det.evals >= 3.0 * (double)vr.evals);
    CHECK(vr.slope <= -0.8 && det.slope <= -0.8);
}

// (a) cocoercive F_i(x) = a_i (a_i^T x - b_i), n = 1000, d = 20
TEST(halpern_p011_cocoercive_lstsq) {
    enum { N = 1000, D = 20 };
    double *A = malloc(sizeof(double) * N * D), *b = malloc(sizeof(double) * N), x[D], x0[D] = {0};
    REQUIRE(A && b);
    ls_data(N, D, 1.0, A, b);
    apx_fsum_data data;
    apx_halpern_problem P;
    REQUIRE_OK(apx_fsum_lstsq(apx_dmat_view(A, N, D), b, N, &data, &P));
    double r0 = op_norm(&P, x0);
    for (int64_t i = 0; i < N; i++) b[i] *= 0.03 / r0; // ||F(0)|| = 0.03: tol 1e-4 = r0 / 300
    apx_halpern_opts o = apx_halpern_opts_default();
    o.tol = 1e-4;
    o.seed = 3;
    p011_compare(&P, o, "a", x);
    // the solution: the least-squares optimum within residual / mu
    double xs[D], s[D];
    apx_dmat Xs = apx_dmat_view(xs, D, 1);
    REQUIRE_OK(apx_la_lstsq(apx_dmat_view(A, N, D), apx_dmat_view(b, N, 1), -1, Xs, NULL));
    REQUIRE_OK(apx_la_svd(apx_dmat_view(A, N, D), s, NULL, NULL));
    double mu = s[D - 1] * s[D - 1] / N, err = 0;
    for (int j = 0; j < D; j++) err += (x[j] - xs[j]) * (x[j] - xs[j]);
    CHECK(sqrt(err) <= 1e-4 / mu * (1 + 1e-6));
    free(A);
    free(b);
}

// (b) bilinear finite-sum saddle point, monotone and Lipschitz (not cocoercive)
TEST(halpern_p011_bilinear_saddle) {
    enum { N = 1000, PP = 10, Q = 10, D = PP + Q };
    double *B = malloc(sizeof(double) * N * PP * Q), *a = malloc(sizeof(double) * N * PP),
           *c = malloc(sizeof(double) * N * Q), x[D], x0[D] = {0};
    REQUIRE(B && a && c);
    bl_data(N, PP, Q, 0.3, B, a, c);
    apx_fsum_data data;
    apx_halpern_problem P;
    REQUIRE_OK(apx_fsum_bilinear(apx_dmat_view(B, N * PP, Q), N, a, c, &data, &P));
    double r0 = op_norm(&P, x0);
    for (int64_t i = 0; i < N * PP; i++) a[i] *= 0.01 / r0; // ||F(0)|| = 0.01, tol = r0 / 100
    for (int64_t i = 0; i < N * Q; i++) c[i] *= 0.01 / r0;
    apx_halpern_opts o = apx_halpern_opts_default();
    o.setting = APX_HALPERN_MONOTONE;
    o.tol = 1e-4;
    o.seed = 5;
    p011_compare(&P, o, "b", x);
    // the saddle point solves mean(B) v = -mean(a), mean(B)^T u = mean(c)
    double M[PP * Q] = {0}, Mt[Q * PP], am[PP] = {0}, cm[Q] = {0}, u[PP], v[Q];
    for (int64_t i = 0; i < N; i++) {
        for (int k = 0; k < PP * Q; k++) M[k] += B[i * PP * Q + k] / N;
        for (int k = 0; k < PP; k++) am[k] -= a[i * PP + k] / N;
        for (int k = 0; k < Q; k++) cm[k] += c[i * Q + k] / N;
    }
    for (int r = 0; r < PP; r++)
        for (int k = 0; k < Q; k++) Mt[k * PP + r] = M[r * Q + k];
    REQUIRE_OK(apx_la_solve(apx_dmat_view(M, PP, Q), apx_dmat_view(am, PP, 1),
                            apx_dmat_view(v, Q, 1)));
    REQUIRE_OK(apx_la_solve(apx_dmat_view(Mt, Q, PP), apx_dmat_view(cm, Q, 1),
                            apx_dmat_view(u, PP, 1)));
    double s[PP], err = 0;
    REQUIRE_OK(apx_la_svd(apx_dmat_view(M, PP, Q), s, NULL, NULL));
    for (int k = 0; k < PP; k++) err += (x[k] - u[k]) * (x[k] - u[k]);
    for (int k = 0; k < Q; k++) err += (x[PP + k] - v[k]) * (x[PP + k] - v[k]);
    CHECK(sqrt(err) <= 1e-4 / s[PP - 1] * (1 + 1e-6)); // ||F(x)|| >= sigma_min ||x - x*||
    free(B);
    free(a);
    free(c);
}

/* ---------------------------------------------------------------- errors */

static int cancel_cb(void *ctx, double f, const char *msg) { return 1; }

TEST(halpern_bad_input) {
    enum { D = 4 };
    double A[D * D] = {1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4}, b[D] = {1, 1, 1, 1}, x[D];
    apx_fsum_data data;
    apx_halpern_problem P;
    CHECK_STATUS(apx_fsum_lstsq(apx_dmat_view(A, D, D), b, 5, &data, &P), APX_EINVAL);
    CHECK_STATUS(apx_fsum_lstsq(apx_dmat_view(A, D, D), NULL, 2, &data, &P), APX_EINVAL);
    CHECK_STATUS(apx_fsum_bilinear(apx_dmat_view(A, D, D), 3, NULL, NULL, &data, &P), APX_EINVAL);
    double Z[D * D] = {0};
    CHECK_STATUS(apx_fsum_bilinear(apx_dmat_view(Z, D, D), 2, NULL, NULL, &data, &P), APX_EINVAL);
    b[1] = NAN;
    CHECK_STATUS(apx_fsum_lstsq(apx_dmat_view(A, D, D), b, 2, &data, &P), APX_EINVAL);
    b[1] = 1;
    REQUIRE_OK(apx_fsum_lstsq(apx_dmat_view(A, D, D), b, D, &data, &P));
    apx_halpern_opts o = apx_halpern_opts_default();
    CHECK_STATUS(apx_halpern(NULL, NULL, x, &o, NULL), APX_EINVAL);
    CHECK_STATUS(apx_halpern(&P, NULL, NULL, &o, NULL), APX_EINVAL);
    apx_halpern_problem Q = P;
    Q.lipschitz = 0;
    CHECK_STATUS(apx_halpern(&Q, NULL, x, &o, NULL), APX_EINVAL);
    Q = P, Q.n = 0;
    CHECK_STATUS(apx_halpern(&Q, NULL, x, &o, NULL), APX_EINVAL);
    Q = P, Q.comp = NULL;
    CHECK_STATUS(apx_halpern(&Q, NULL, x, &o, NULL), APX_EINVAL);
    Q = P, Q.d = INT64_C(2049638230412172402); // 9 d wraps int64 to 2: refused, not overrun
    CHECK_STATUS(apx_halpern(&Q, NULL, x, &o, NULL), APX_EINVAL);
    double lo[D] = {0, 0, 2, 0}, hi[D] = {1, 1, 1, 1}, x0[D] = {0, INFINITY, 0, 0};
    Q = P, Q.lo = lo, Q.hi = hi;
    CHECK_STATUS(apx_halpern(&Q, NULL, x, &o, NULL), APX_EINVAL);
    CHECK_STATUS(apx_halpern(&P, x0, x, &o, NULL), APX_EINVAL);
    apx_halpern_opts bad = o;
    bad.tol = 0;
    CHECK_STATUS(apx_halpern(&P, NULL, x, &bad, NULL), APX_EINVAL);
    bad = o, bad.setting = 7;
    CHECK_STATUS(apx_halpern(&P, NULL, x, &bad, NULL), APX_EINVAL);
    bad = o, bad.history_cap = 4;
    CHECK_STATUS(apx_halpern(&P, NULL, x, &bad, NULL), APX_EINVAL);
    bad = o, bad.prob = 1.5;
    CHECK_STATUS(apx_halpern(&P, NULL, x, &bad, NULL), APX_EINVAL);
    // a failing resolvent, a diverging step, the budget, cancelling
    l1_ctx c = {0.1, 0, 1};
    Q = P, Q.resolvent = soft, Q.resolvent_ctx = &c;
    CHECK_STATUS(apx_halpern(&Q, NULL, x, &o, NULL), APX_EINVAL);
    bad = o, bad.eta = 1e3, bad.variance_reduced = 0;
    CHECK_STATUS(apx_halpern(&P, NULL, x, &bad, NULL), APX_ENUMERIC);
    apx_halpern_info info;
    bad = o, bad.max_evals = 40, bad.tol = 1e-12;
    CHECK_STATUS(apx_halpern(&P, NULL, x, &bad, &info), APX_ENOCONV);
    CHECK(!info.converged && info.stop == APX_HALPERN_MAX_EVALS && isfinite(info.residual));
    bad = o, bad.max_iters = 3, bad.tol = 1e-12, bad.setting = APX_HALPERN_MONOTONE;
    CHECK_STATUS(apx_halpern(&P, NULL, x, &bad, &info), APX_ENOCONV);
    CHECK(info.stop == APX_HALPERN_MAX_ITERS && info.iterations == 3);
    bad = o, bad.tol = 1e-12, bad.progress.fn = cancel_cb;
    CHECK_STATUS(apx_halpern(&P, NULL, x, &bad, NULL), APX_ECANCELED);
}
