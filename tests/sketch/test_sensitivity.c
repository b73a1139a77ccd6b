/* tests/sketch/test_sensitivity.c: exact l_p sensitivities (P007) against a brute force over
 * every vertex of each row's LP, random-direction lower bounds, the leverage scores (p = 2)
 * and the Lewis / root-leverage upper bounds; row sampling by method; l_1 regression on
 * sensitivity samples against uniform samples on a coherent matrix (the catalog check,
 * scaled down for the test budget: the full n = 2000, d = 8 run is in
 * python/tests/test_sampling.py and bench/bench_sampling.py). */
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "apx/regress.h"
#include "apx/sketch.h"

static double l1_cost(apx_dmat A, const double *x) {
    double s = 0;
    for (int64_t j = 0; j < A.rows; j++) {
        double v = 0;
        for (int64_t t = 0; t < A.cols; t++) v += A.data[j * A.ld + t] * x[t];
        s += fabs(v);
    }
    return s;
}

// solve the 3x3 system M x = e_0 by Cramer's rule; 0 when singular
static int solve3(const double M[3][3], double x[3]) {
    double det = M[0][0] * (M[1][1] * M[2][2] - M[1][2] * M[2][1]) -
                 M[0][1] * (M[1][0] * M[2][2] - M[1][2] * M[2][0]) +
                 M[0][2] * (M[1][0] * M[2][1] - M[1][1] * M[2][0]);
    if (fabs(det) < 1e-12) return 0;
    x[0] = (M[1][1] * M[2][2] - M[1][2] * M[2][1]) / det;
    x[1] = -(M[1][0] * M[2][2] - M[1][2] * M[2][0]) / det;
    x[2] = (M[1][0] * M[2][1] - M[1][1] * M[2][0]) / det;
    return 1;
}

// exact 1 / min{||A x||_1 : a_i x = 1} for d = 3: the LP optimum is at a vertex where two
// other rows vanish; try every pair
static double brute_l1_sensitivity(apx_dmat A, int64_t i) {
    double best = INFINITY;
    for (int64_t j = 0; j < A.rows; j++)
        for (int64_t k = j + 1; k < A.rows; k++) {
            if (j == i || k == i) continue;
            double M[3][3], x[3];
            for (int t = 0; t < 3; t++)
                M[0][t] = A.data[i * A.ld + t], M[1][t] = A.data[j * A.ld + t],
                M[2][t] = A.data[k * A.ld + t];
            if (solve3(M, x)) best = fmin(best, l1_cost(A, x));
        }
    return 1.0 / best;
}

static apx_status coherent(int64_t N, int64_t d, uint64_t seed, apx_dmat *A) {
    apx_status st = apx_dmat_alloc(N, d, A);
    if (st != APX_OK) return st;
    apx_rng_fill_normal(seed, 0, A->data, N * d);
    for (int64_t i = 0; i < 3; i++)
        for (int64_t t = 0; t < d; t++) A->data[i * d + t] *= 30.0;
    return APX_OK;
}

TEST(sensitivity_l1_exact_vertex_enumeration) {
    apx_dmat A;
    REQUIRE_OK(coherent(14, 3, 11, &A));
    double s[14];
    apx_sensitivity_info info;
    REQUIRE_OK(apx_sketch_lp_sensitivities(A, 1.0, NULL, s, &info));
    double tot = 0;
    for (int64_t i = 0; i < 14; i++) {
        CHECK_NEAR(s[i], brute_l1_sensitivity(A, i), 0, 1e-12);
        tot += s[i];
    }
    CHECK_NEAR(info.total, tot, 0, 1e-14);
    CHECK(info.uncertified == 0 && info.max_gap < 1e-12);
    CHECK(tot <= 3.0 + 1e-12); // total sensitivity <= d for p <= 2 (s_i <= Lewis weights)
    apx_dmat_free(&A);
}

// max over random x of |a_i x|^p / ||A x||_p^p: a lower bound on s_i for every row
static void random_lower_bounds(apx_dmat A, double p, int trials, double *lb) {
    int64_t N = A.rows, d = A.cols;
    double *x = malloc(sizeof(double) * (size_t)(d + N));
    double *y = x + d;
    for (int64_t i = 0; i < N; i++) lb[i] = 0;
    for (int t = 0; t < trials; t++) {
        apx_rng_fill_normal(99, (uint64_t)t, x, d);
        double tot = 0;
        for (int64_t j = 0; j < N; j++) {
            double v = 0;
            for (int64_t q = 0; q < d; q++) v += A.data[j * A.ld + q] * x[q];
            y[j] = pow(fabs(v), p), tot += y[j];
        }
        for (int64_t j = 0; j < N; j++) lb[j] = fmax(lb[j], y[j] / tot);
    }
    free(x);
}

TEST(sensitivity_bounds_bracket_exact) {
    apx_dmat A;
    REQUIRE_OK(coherent(300, 5, 3, &A));
    double s[300], lb[300], ub[300];
    const double ps[] = {1.0, 1.5, 3.0};
    for (int k = 0; k < 3; k++) {
        double p = ps[k];
        REQUIRE_OK(apx_sketch_lp_sensitivities(A, p, NULL, s, NULL));
        random_lower_bounds(A, p, 400, lb);
        int below = 0, above_lewis = 0, above_root = 0;
        double tot = 0;
        for (int i = 0; i < 300; i++) below += s[i] < lb[i] * (1 - 1e-9), tot += s[i];
        REQUIRE_OK(apx_sketch_sensitivity_bounds(A, p, APX_SENS_BOUND_LEWIS, ub));
        for (int i = 0; i < 300; i++) above_lewis += s[i] > ub[i] * (1 + 1e-8);
        REQUIRE_OK(apx_sketch_sensitivity_bounds(A, p, APX_SENS_BOUND_ROOT_LEVERAGE, ub));
        for (int i = 0; i < 300; i++) above_root += s[i] > ub[i] * (1 + 1e-8);
        CHECK(below == 0 && above_lewis == 0 && above_root == 0);
        if (p < 2) CHECK(tot <= 5.0 + 1e-9);
        CHECK(s[0] > 0.1); // the heavy rows are the sensitive ones
    }
    apx_dmat_free(&A);
}

TEST(sensitivity_p2_is_leverage_and_irls_path_agrees) {
    apx_dmat A;
    REQUIRE_OK(coherent(120, 4, 5, &A));
    double s[120], lev[120], s2[120];
    REQUIRE_OK(apx_sketch_lp_sensitivities(A, 2.0, NULL, s, NULL));
    REQUIRE_OK(apx_sketch_leverage_scores(A, APX_LEVERAGE_EXACT, NULL, lev, NULL));
    for (int i = 0; i < 120; i++) CHECK(s[i] == lev[i]);
    // the l_p regression path at p = 2 + 1e-7 against the closed form at p = 2: the
    // sensitivity moves by O(1e-7) relative (|log|a_i x|| terms bounded on this A)
    REQUIRE_OK(apx_sketch_lp_sensitivities(A, 2.0 + 1e-7, NULL, s2, NULL));
    for (int i = 0; i < 120; i++) CHECK_NEAR(s2[i], lev[i], 0, 1e-5);
    // d = 1: |a_i|^p / sum |a_j|^p
    double s1[120], t = 0;
    apx_dmat a1 = {A.data, 120, 1, A.ld};
    REQUIRE_OK(apx_sketch_lp_sensitivities(a1, 1.0, NULL, s1, NULL));
    for (int i = 0; i < 120; i++) t += fabs(A.data[i * A.ld]);
    CHECK_NEAR(s1[7], fabs(A.data[7 * A.ld]) / t, 0, 1e-14);
    apx_dmat_free(&A);
}

TEST(sensitivity_thread_count_independent) {
    apx_dmat A;
    REQUIRE_OK(coherent(400, 6, 8, &A));
    double s1[400], s2[400];
    int nt = apx_get_threads();
    apx_set_threads(1);
    apx_status a = apx_sketch_lp_sensitivities(A, 1.0, NULL, s1, NULL);
    apx_set_threads(2);
    apx_status b = apx_sketch_lp_sensitivities(A, 1.0, NULL, s2, NULL);
    apx_set_threads(nt);
    CHECK_OK(a);
    CHECK_OK(b);
    CHECK(memcmp(s1, s2, sizeof s1) == 0);
    apx_dmat_free(&A);
}

TEST(sensitivity_progress_and_cancel) {
    apx_dmat A;
    REQUIRE_OK(coherent(300, 4, 6, &A));
    double s[300];
    const double ps[] = {1.0, 1.5};
    for (int k = 0; k < 2; k++) {
        tu_progress_log log = {0, 0, 0, 0};
        apx_sensitivity_opts o = apx_sensitivity_opts_default();
        o.progress.fn = tu_progress_cb, o.progress.ctx = &log;
        REQUIRE_OK(apx_sketch_lp_sensitivities(A, ps[k], &o, s, NULL));
        CHECK(log.calls >= 1 && !log.bad && log.last <= 1.0);
        tu_progress_log stop = {0, 1, 0, 0};
        o.progress.ctx = &stop;
        CHECK_STATUS(apx_sketch_lp_sensitivities(A, ps[k], &o, s, NULL), APX_ECANCELED);
    }
    apx_dmat_free(&A);
}

TEST(sensitivity_bad_input) {
    apx_dmat A;
    REQUIRE_OK(coherent(20, 3, 1, &A));
    double s[20];
    CHECK_STATUS(apx_sketch_lp_sensitivities(A, 1.0, NULL, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_sketch_lp_sensitivities(A, 0.5, NULL, s, NULL), APX_EINVAL);
    CHECK_STATUS(apx_sketch_lp_sensitivities(A, INFINITY, NULL, s, NULL), APX_EINVAL);
    CHECK_STATUS(apx_sketch_lp_sensitivities(A, NAN, NULL, s, NULL), APX_EINVAL);
    apx_dmat wide = {A.data, 2, 3, 3};
    CHECK_STATUS(apx_sketch_lp_sensitivities(wide, 1.0, NULL, s, NULL), APX_ESHAPE);
    apx_dmat empty = {A.data, 0, 3, 3};
    CHECK_STATUS(apx_sketch_lp_sensitivities(empty, 1.0, NULL, s, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_sketch_sensitivity_bounds(A, 4.0, APX_SENS_BOUND_LEWIS, s), APX_EINVAL);
    CHECK_STATUS(apx_sketch_sensitivity_bounds(A, 1.0, (apx_sensitivity_bound)7, s),
                 APX_EINVAL);
    CHECK_STATUS(apx_sketch_sensitivity_bounds(A, 0.9, APX_SENS_BOUND_ROOT_LEVERAGE, s),
                 APX_EINVAL);
    for (int i = 0; i < 20; i++) A.data[i * 3 + 2] = 2 * A.data[i * 3 + 1]; // rank 2
    CHECK_STATUS(apx_sketch_lp_sensitivities(A, 1.0, NULL, s, NULL), APX_ENUMERIC);
    CHECK_STATUS(apx_sketch_sensitivity_bounds(A, 1.0, APX_SENS_BOUND_ROOT_LEVERAGE, s),
                 APX_ENUMERIC);
    A.data[4] = NAN;
    CHECK_STATUS(apx_sketch_lp_sensitivities(A, 1.0, NULL, s, NULL), APX_EINVAL);
    apx_dmat_free(&A);
}

/* A large finite p: |a|^p and m^(p/2 - 1) overflow double; the results stay finite. */
TEST(sensitivity_large_p_no_overflow) {
    double a[3] = {1, 2, 4}, s[3], p = 2000;
    REQUIRE_OK(apx_sketch_lp_sensitivities(apx_dmat_view(a, 3, 1), p, NULL, s, NULL));
    // s_i = |a_i|^p / sum_j |a_j|^p = (a_i / 4)^p / (1 + 2^-p + 4^-p)
    for (int i = 0; i < 3; i++) CHECK_NEAR(s[i], pow(a[i] / 4, p), 0, 1e-15);
    apx_dmat A;
    REQUIRE_OK(coherent(20, 3, 1, &A));
    double ub[20], lev[20];
    REQUIRE_OK(apx_sketch_sensitivity_bounds(A, p, APX_SENS_BOUND_ROOT_LEVERAGE, ub));
    REQUIRE_OK(apx_sketch_leverage_scores(A, APX_LEVERAGE_EXACT, NULL, lev, NULL));
    for (int i = 0; i < 20; i++) { // min(1, m^(p/2-1) tau_i^(p/2)), in logs
        double ref = fmin(1.0, exp((p / 2 - 1) * log(20.0) + (p / 2) * log(lev[i])));
        CHECK(isfinite(ub[i]));
        CHECK_NEAR(ub[i], ref, 0, 1e-9);
    }
    apx_dmat_free(&A);
}

/* ---------------------------------------------------------------- sampling by method */

TEST(sample_methods_sizes_and_weights) {
    apx_dmat A;
    REQUIRE_OK(coherent(400, 4, 2, &A));
    int64_t idx[400], kept;
    double wt[400];
    for (int m = 0; m < APX_SAMPLE_COUNT; m++) {
        apx_sample_method meth;
        REQUIRE_OK(apx_sample_method_parse(apx_sample_method_name((apx_sample_method)m), &meth));
        CHECK((int)meth == m);
        double target = meth == APX_SAMPLE_DPP ? 4 : 60;
        double pm = meth == APX_SAMPLE_MIXED ? 3.0 : 1.0; /* mixed is for p > 2 */
        REQUIRE_OK(apx_sketch_sample(A, meth, target, pm, 7, idx, wt, &kept));
        if (meth == APX_SAMPLE_DPP) CHECK(kept == 4);
        else if (meth == APX_SAMPLE_VOLUME) CHECK(kept == 60);
        else CHECK(kept >= 20 && kept <= 100); // E[kept] <= 60, sd < 8
        for (int64_t t = 0; t < kept; t++) CHECK(wt[t] >= 1.0 && idx[t] >= 0 && idx[t] < 400);
        if (meth >= APX_SAMPLE_LEVERAGE && meth <= APX_SAMPLE_SENSITIVITY) // heavy rows kept
            CHECK(idx[0] == 0 && idx[1] == 1 && idx[2] == 2);
    }
    // uniform: every weight N / m
    REQUIRE_OK(apx_sketch_sample(A, APX_SAMPLE_UNIFORM, 50, 1.0, 1, idx, wt, &kept));
    CHECK_NEAR(wt[0], 8.0, 0, 1e-15);
    apx_sample_method meth;
    REQUIRE_OK(apx_sample_method_parse("root_leverage", &meth));
    CHECK(meth == APX_SAMPLE_ROOT_LEVERAGE);
    CHECK_STATUS(apx_sample_method_parse("gaussian", &meth), APX_EINVAL);
    CHECK_STATUS(apx_sketch_sample(A, APX_SAMPLE_DPP, 5, 1.0, 0, idx, wt, &kept), APX_EINVAL);
    CHECK_STATUS(apx_sketch_sample(A, APX_SAMPLE_VOLUME, 3, 1.0, 0, idx, wt, &kept),
                 APX_EINVAL);
    CHECK_STATUS(apx_sketch_sample(A, APX_SAMPLE_VOLUME, 5.5, 1.0, 0, idx, wt, &kept),
                 APX_EINVAL);
    CHECK_STATUS(apx_sketch_sample(A, APX_SAMPLE_LEVERAGE, 0.5, 1.0, 0, idx, wt, &kept),
                 APX_EINVAL);
    CHECK_STATUS(apx_sketch_sample(A, (apx_sample_method)42, 10, 1.0, 0, idx, wt, &kept),
                 APX_EINVAL);
    CHECK_STATUS(apx_sketch_sample(A, APX_SAMPLE_LEWIS, 10, 5.0, 0, idx, wt, &kept),
                 APX_EINVAL);
    CHECK_STATUS(apx_sketch_sample(A, APX_SAMPLE_UNIFORM, 10, 1.0, 0, NULL, wt, &kept),
                 APX_EINVAL);
    apx_dmat_free(&A);
}

/* ---------------------------------------------------------------- the catalog check, scaled */

// N rows, d columns: Gaussian, except the last column, non-zero only in two heavy rows; b =
// A x* + Laplace noise. A sample that misses both heavy rows cannot fit x*_{d-1}.
static apx_status coherent_regression(int64_t N, int64_t d, apx_dmat *A, double *b) {
    apx_status st = apx_dmat_alloc(N, d, A);
    if (st != APX_OK) return st;
    apx_rng_fill_normal(21, 0, A->data, N * d);
    double *u = malloc(sizeof(double) * (size_t)N);
    apx_rng_fill_uniform(21, 1, u, N);
    for (int64_t i = 0; i < N; i++) {
        double *a = A->data + i * d;
        a[d - 1] = i < 2 ? 50.0 + a[d - 1] : 0.0;
        double y = 0;
        for (int64_t t = 0; t < d; t++) y += a[t] * (t == d - 1 ? 20.0 : 1.0);
        double e = u[i] < 0.5 ? log(2 * u[i] + 1e-300) : -log(2 - 2 * u[i] + 1e-300);
        b[i] = y + e;
    }
    free(u);
    return APX_OK;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// the cost ratio of l_1 regression on a sample of [A b] drawn from scores sc, to opt
static double sample_ratio(apx_dmat A, const double *b, const double *sc, double m,
                           uint64_t seed, double opt) {
    int64_t N = A.rows, kept = 0, *idx = malloc(sizeof(int64_t) * (size_t)N);
    double *wt = malloc(sizeof(double) * (size_t)N), x[8], ratio = NAN;
    apx_sampled_lp_info inf;
    if (apx_sketch_sample_rows(sc, N, m, seed, idx, wt, &kept) == APX_OK &&
        apx_sketch_lp_regress_sample(A, b, 1.0, idx, wt, kept, x, &inf) == APX_OK)
        ratio = inf.cost / opt;
    free(idx);
    free(wt);
    return ratio;
}

TEST(sensitivity_sampling_l1_regression_catalog_scaled) {
    const int64_t N = 1000, d = 4;
    apx_dmat A, C;
    double b[1000], x[4], s[1000], u[1000], rs[7], ru[7];
    REQUIRE_OK(coherent_regression(N, d, &A, b));
    // OPT: every row kept with weight 1, by the certified l_1 simplex; no worse than IRLS
    // (which may stop short on this coherent A)
    int64_t all[1000];
    for (int64_t i = 0; i < N; i++) all[i] = i, u[i] = 1.0;
    apx_sampled_lp_info full;
    REQUIRE_OK(apx_sketch_lp_regress_sample(A, b, 1.0, all, u, N, x, &full));
    apx_lp_info li;
    apx_status irls = apx_regress_lp(A, b, 1.0, x, NULL, &li);
    CHECK(irls == APX_OK || irls == APX_ENOCONV);
    CHECK(full.cost <= li.cost * (1 + 1e-12));
    // the sensitivities of [A b] (total S <= d + 1), m = 8 S^2 rows
    REQUIRE_OK(apx_dmat_alloc(N, d + 1, &C));
    for (int64_t i = 0; i < N; i++) {
        memcpy(C.data + i * (d + 1), A.data + i * d, sizeof(double) * (size_t)d);
        C.data[i * (d + 1) + d] = b[i];
    }
    apx_sensitivity_info si;
    REQUIRE_OK(apx_sketch_lp_sensitivities(C, 1.0, NULL, s, &si));
    double m = ceil(8 * si.total * si.total);
    CHECK(si.total <= d + 1 + 1e-9 && m < N / 4);
    for (int t = 0; t < 7; t++) {
        rs[t] = sample_ratio(A, b, s, m, (uint64_t)t, full.cost);
        ru[t] = sample_ratio(A, b, u, m, (uint64_t)t, full.cost);
    }
    qsort(rs, 7, sizeof(double), cmp_d);
    qsort(ru, 7, sizeof(double), cmp_d);
    CHECK(rs[6] <= 1.2); // every sensitivity sample: cost <= (1 + 0.2) OPT
    CHECK(ru[3] > 1.5);  // the median uniform sample misses the heavy rows
    printf("  l1 regression N=%lld d=%lld: S = %.3f, m = %.0f, sensitivity cost ratio max "
           "%.4f, uniform median %.3f\n", (long long)N, (long long)d, si.total, m, rs[6],
           ru[3]);
    apx_dmat_free(&C);
    apx_dmat_free(&A);
}
