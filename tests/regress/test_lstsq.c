/* tests/regress/test_lstsq.c: least squares (QR, sketch-and-precondition, sketch-and-solve,
 * SVD), weighted least squares, l_p and l_inf regression, and the P026 check.
 * References: consistent systems with a planted solution (exact answer); LAPACK gelsd
 * (apx_la_lstsq) on the same data; brute-force l_1 and l_inf optima on small problems (an
 * l_1 optimum interpolates n rows; the Chebyshev optimum is the largest minimax value over
 * the (n+1)-row subsets, each in closed form |c^T b_J| / ||c||_1 with A_J^T c = 0). */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "apx/regress.h"

static apx_dmat mat(int64_t r, int64_t c) {
    apx_dmat A;
    if (apx_dmat_alloc(r, c, &A) != APX_OK) A = (apx_dmat){0};
    return A;
}

static apx_dmat randn(int64_t r, int64_t c, uint64_t seed) {
    apx_dmat A = mat(r, c);
    if (A.data) apx_rng_fill_normal(seed, 19, A.data, r * c);
    return A;
}

// A (m,n) with singular values logspaced from 1 to 1/cond
static apx_dmat conditioned(int64_t m, int64_t n, double cond, uint64_t seed) {
    apx_dmat A = mat(m, n);
    double *s = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) s[i] = pow(cond, -(double)i / (double)(n - 1));
    tu_matrix_with_spectrum(m, n, s, seed, A);
    free(s);
    return A;
}

static void matmul(apx_dmat A, apx_dmat X, apx_dmat Y) {
    for (int64_t i = 0; i < A.rows; i++)
        for (int64_t k = 0; k < X.cols; k++) {
            double s = 0;
            for (int64_t j = 0; j < A.cols; j++) s += A.data[i * A.ld + j] * X.data[j * X.ld + k];
            Y.data[i * Y.ld + k] = s;
        }
}

static double resid(apx_dmat A, apx_dmat B, apx_dmat X) {
    apx_dmat Y = mat(B.rows, B.cols);
    matmul(A, X, Y);
    double r = tu_fro_diff(Y, B);
    apx_dmat_free(&Y);
    return r;
}

TEST(lstsq_exact_consistent) {
    // consistent: B = A X*, every method recovers X* (cond 1e3 -> error <= cond * eps-level)
    int64_t m = 500, n = 20, r = 3;
    apx_dmat A = conditioned(m, n, 1e3, 1), Xs = randn(n, r, 2), B = mat(m, r), X = mat(n, r);
    matmul(A, Xs, B);
    apx_lstsq_method meth[4] = {APX_LSTSQ_QR, APX_LSTSQ_SKETCH, APX_LSTSQ_SVD,
                                APX_LSTSQ_SKETCH_SOLVE};
    for (int k = 0; k < 4; k++) {
        apx_lstsq_opts o = apx_lstsq_opts_default();
        o.method = meth[k];
        apx_lstsq_info info;
        REQUIRE_OK(apx_regress_lstsq(A, B, X, &o, &info));
        CHECK(info.method == meth[k] && info.rank == n);
        CHECK(tu_max_abs_diff(X, Xs) <= 1e3 * 1e-12 * 100);
        CHECK(info.residual_norm <= 1e-10);
    }
    apx_dmat_free(&A);
    apx_dmat_free(&Xs);
    apx_dmat_free(&B);
    apx_dmat_free(&X);
}

TEST(lstsq_vs_gelsd_ill_conditioned) {
    // inconsistent, cond 1e6: the optimum's residual is reached to 1e-10 relative by every
    // method (the residual is flat at the optimum: quadratic in the error of x), and x agrees
    // with gelsd to cond^2 eps |r| / |A||x| + cond eps
    int64_t m = 3000, n = 50;
    apx_dmat A = conditioned(m, n, 1e6, 3), B = randn(m, 2, 4), X = mat(n, 2), R = mat(n, 2);
    REQUIRE_OK(apx_la_lstsq(A, B, -1, R, NULL));
    double r0 = resid(A, B, R);
    apx_lstsq_method meth[2] = {APX_LSTSQ_QR, APX_LSTSQ_SKETCH};
    apx_embed_kind kinds[3] = {APX_EMBED_SPARSE_SIGN, APX_EMBED_SRHT, APX_EMBED_COUNTSKETCH};
    for (int k = 0; k < 4; k++) {
        apx_lstsq_opts o = apx_lstsq_opts_default();
        o.method = meth[k > 0];
        if (k > 0) o.sketch = kinds[k - 1];
        apx_lstsq_info info;
        REQUIRE_OK(apx_regress_lstsq(A, B, X, &o, &info));
        CHECK(info.residual_norm <= r0 * (1 + 1e-10));
        CHECK_NEAR(resid(A, B, X), r0, 0, 1e-10);
        double xr = 0, xn = 0;
        for (int64_t t = 0; t < n * 2; t++) xr = fmax(xr, fabs(X.data[t] - R.data[t])), xn = fmax(xn, fabs(R.data[t]));
        // |A| = 1, |r| ~ 1, |x| ~ 1e6: error bound ~ (cond eps + cond^2 eps |r|/|x|) |x|
        CHECK(xr <= 1e3 * (1e6 * DBL_EPSILON + 1e12 * DBL_EPSILON / xn) * xn);
        if (k > 0) {
            CHECK(info.converged == 1 && info.sketch_rows == 500);
            // the preconditioned operator is well conditioned whatever cond(A) is: its 2-norm
            // condition number is <= (1 + e)/(1 - e) for an e-embedding (e ~ sqrt(1/10) at
            // s = 10n; bounded here with e = 0.6); LSQR's estimate is the Frobenius one,
            // |AN|_F |(AN)^+|_F <= n cond_2(AN), whereas cond(A) = 1e6
            CHECK(info.cond_precond < (double)n * 1.6 / 0.4);
            printf("  sketch %-12s: %lld LSQR steps for 2 rhs, cond(A N) ~ %.2f, x err %.2g\n",
                   apx_embed_name(o.sketch), (long long)info.iterations, info.cond_precond, xr / xn);
        }
    }
    apx_dmat_free(&A);
    apx_dmat_free(&B);
    apx_dmat_free(&X);
    apx_dmat_free(&R);
}

TEST(lstsq_rank_deficient_min_norm) {
    // rank 8 of 12 columns: QR (via the SVD of R) and sketch give gelsd's minimum-norm x
    int64_t m = 400, n = 12;
    apx_dmat A = randn(m, n, 5), B = randn(m, 1, 6), X = mat(n, 1), R = mat(n, 1);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 8; j < n; j++) A.data[i * n + j] = A.data[i * n + j - 8] - 2 * A.data[i * n + j - 7];
    int64_t rank = 0;
    REQUIRE_OK(apx_la_lstsq(A, B, -1, R, &rank));
    REQUIRE(rank == 8);
    for (int k = 0; k < 2; k++) {
        apx_lstsq_opts o = apx_lstsq_opts_default();
        o.method = k ? APX_LSTSQ_SKETCH : APX_LSTSQ_QR;
        apx_lstsq_info info;
        REQUIRE_OK(apx_regress_lstsq(A, B, X, &o, &info));
        CHECK(info.rank == 8);
        CHECK(tu_max_abs_diff(X, R) <= 1e-10);
    }
    // A = 0: X = 0, rank 0
    apx_dmat Z = mat(50, 3), Bz = randn(50, 1, 7), Xz = mat(3, 1);
    apx_lstsq_info info;
    REQUIRE_OK(apx_regress_lstsq(Z, Bz, Xz, NULL, &info));
    CHECK(info.rank == 0 && Xz.data[0] == 0 && Xz.data[2] == 0);
    apx_dmat_free(&A);
    apx_dmat_free(&B);
    apx_dmat_free(&X);
    apx_dmat_free(&R);
    apx_dmat_free(&Z);
    apx_dmat_free(&Bz);
    apx_dmat_free(&Xz);
}

TEST(lstsq_fallbacks_and_wlstsq) {
    // m < 2n: the sketch method falls back to QR; m < n: to gelsd (minimum norm)
    apx_dmat A = randn(30, 20, 8), B = randn(30, 1, 9), X = mat(20, 1), R = mat(20, 1);
    apx_lstsq_info info;
    REQUIRE_OK(apx_regress_lstsq(A, B, X, NULL, &info));
    CHECK(info.method == APX_LSTSQ_QR);
    REQUIRE_OK(apx_la_lstsq(A, B, -1, R, NULL));
    CHECK(tu_max_abs_diff(X, R) <= 1e-10);
    apx_dmat W = randn(5, 9, 10), Bw = randn(5, 1, 11), Xw = mat(9, 1), Rw = mat(9, 1);
    REQUIRE_OK(apx_regress_lstsq(W, Bw, Xw, NULL, &info));
    CHECK(info.method == APX_LSTSQ_SVD);
    REQUIRE_OK(apx_la_lstsq(W, Bw, -1, Rw, NULL));
    CHECK(tu_max_abs_diff(Xw, Rw) <= 1e-12);
    // weighted: the same as scaling rows by sqrt(w) by hand; zero weights drop rows
    apx_dmat C = randn(200, 5, 12), Bc = randn(200, 1, 13), Xc = mat(5, 1), Rc = mat(5, 1);
    double w[200];
    apx_dmat Cs = mat(200, 5), Bs = mat(200, 1);
    for (int i = 0; i < 200; i++) {
        w[i] = i % 7 == 0 ? 0.0 : 0.5 + (i % 5);
        for (int j = 0; j < 5; j++) Cs.data[i * 5 + j] = sqrt(w[i]) * C.data[i * 5 + j];
        Bs.data[i] = sqrt(w[i]) * Bc.data[i];
    }
    REQUIRE_OK(apx_regress_wlstsq(C, Bc, w, Xc, NULL, &info));
    REQUIRE_OK(apx_la_lstsq(Cs, Bs, -1, Rc, NULL));
    CHECK(tu_max_abs_diff(Xc, Rc) <= 1e-12);
    w[3] = -1;
    CHECK_STATUS(apx_regress_wlstsq(C, Bc, w, Xc, NULL, &info), APX_EINVAL);
    w[3] = NAN;
    CHECK_STATUS(apx_regress_wlstsq(C, Bc, w, Xc, NULL, &info), APX_EINVAL);
    apx_dmat ms[] = {A, B, X, R, W, Bw, Xw, Rw, C, Bc, Xc, Rc, Cs, Bs};
    for (int i = 0; i < 14; i++) apx_dmat_free(&ms[i]);
}

TEST(lstsq_bad_input) {
    double a[20] = {0}, b[10] = {0}, x[4];
    for (int i = 0; i < 20; i++) a[i] = i % 3 + (i % 7) * 0.5;
    apx_dmat A = apx_dmat_view(a, 10, 2), B = apx_dmat_view(b, 10, 1), X = apx_dmat_view(x, 2, 1);
    CHECK_STATUS(apx_regress_lstsq(A, apx_dmat_view(b, 9, 1), X, NULL, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_regress_lstsq(A, B, apx_dmat_view(x, 3, 1), NULL, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_regress_lstsq(apx_dmat_view(a, 0, 2), B, X, NULL, NULL), APX_ESHAPE);
    apx_lstsq_opts o = apx_lstsq_opts_default();
    o.oversample = 0.5;
    CHECK_STATUS(apx_regress_lstsq(A, B, X, &o, NULL), APX_EINVAL);
    o = apx_lstsq_opts_default();
    o.method = (apx_lstsq_method)9;
    CHECK_STATUS(apx_regress_lstsq(A, B, X, &o, NULL), APX_EINVAL);
    o = apx_lstsq_opts_default();
    o.sketch = APX_EMBED_COUNT;
    CHECK_STATUS(apx_regress_lstsq(A, B, X, &o, NULL), APX_EINVAL);
    o = apx_lstsq_opts_default();
    o.tol = NAN;
    CHECK_STATUS(apx_regress_lstsq(A, B, X, &o, NULL), APX_EINVAL);
    a[4] = INFINITY;
    CHECK_STATUS(apx_regress_lstsq(A, B, X, NULL, NULL), APX_EINVAL);
    a[4] = 1;
    b[2] = NAN;
    CHECK_STATUS(apx_regress_lstsq(A, B, X, NULL, NULL), APX_EINVAL);
    b[2] = 0;
    // LSQR iteration budget too small: ENOCONV, X holds the last iterate
    apx_dmat M = conditioned(400, 10, 1e4, 14), Bm = randn(400, 1, 15), Xm = mat(10, 1);
    o = apx_lstsq_opts_default();
    o.max_iters = 1;
    o.tol = 1e-15;
    apx_lstsq_info info;
    CHECK_STATUS(apx_regress_lstsq(M, Bm, Xm, &o, &info), APX_ENOCONV);
    CHECK(info.converged == 0 && isfinite(info.residual_norm));
    apx_dmat_free(&M);
    apx_dmat_free(&Bm);
    apx_dmat_free(&Xm);
}

/* ---------------------------------------------------------------- P026 */

// P026 check: n = 4096, d = 16, a large residual, 50 trials; sketch-and-solve with a dense
// sketch of m rows; normalized l_inf error |x' - x*|_inf sqrt(d) / (|Ax* - b| |A^+|) <= 3 eps
// in >= 95% of trials, with eps = sqrt(d / m) (the paper's m = eps^-2 d log^3(n/delta) with
// the log factor, a proof artefact, dropped: at these sizes it would exceed n). Dense
// Rademacher and SRHT here; the Gaussian sketch (slower to draw: 1M normals per trial) runs
// the same check in python/tests/test_lstsq.py. CountSketch at the same m is reported (its
// tail is expected heavier).
// ratio[k][t] for the kinds k and trials t (the exact solution computed once per trial)
static void p026_ratios(const apx_embed_kind *kinds, int nk, int64_t msk, int trials,
                        apx_dmat A, double pinv_norm, double ratio[][50]) {
    int64_t n = A.rows, d = A.cols;
    apx_dmat b = mat(n, 1), xs = mat(d, 1), xp = mat(d, 1);
    for (int t = 0; t < trials; t++) {
        apx_rng_fill_normal(1000 + (uint64_t)t, 0, b.data, n); // a large residual: b ~ N(0, I)
        apx_lstsq_opts o = apx_lstsq_opts_default();
        o.method = APX_LSTSQ_QR;
        apx_lstsq_info ie;
        for (int k = 0; k < nk; k++) ratio[k][t] = NAN;
        if (apx_regress_lstsq(A, b, xs, &o, &ie) != APX_OK) continue;
        for (int k = 0; k < nk; k++) {
            o.method = APX_LSTSQ_SKETCH_SOLVE;
            o.sketch = kinds[k];
            o.oversample = (double)msk / (double)d;
            o.seed = 500 + (uint64_t)t;
            if (apx_regress_lstsq(A, b, xp, &o, NULL) != APX_OK) continue;
            double e = 0;
            for (int64_t j = 0; j < d; j++) e = fmax(e, fabs(xp.data[j] - xs.data[j]));
            ratio[k][t] = e * sqrt((double)d) / (ie.residual_norm * pinv_norm);
        }
    }
    apx_dmat_free(&b);
    apx_dmat_free(&xs);
    apx_dmat_free(&xp);
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

TEST(lstsq_p026_linf_guarantee) {
    int64_t n = 4096, d = 16, msk = 256;
    int trials = 50;
    apx_dmat A = conditioned(n, d, 10.0, 16);
    double sv[16];
    REQUIRE_OK(apx_la_svd(A, sv, NULL, NULL));
    double pinv_norm = 1 / sv[d - 1], eps = sqrt((double)d / (double)msk);
    double r[3][50];
    apx_embed_kind kinds[3] = {APX_EMBED_RADEMACHER, APX_EMBED_SRHT, APX_EMBED_COUNTSKETCH};
    p026_ratios(kinds, 3, msk, trials, A, pinv_norm, r);
    for (int k = 0; k < 3; k++) {
        int ok = 0;
        for (int t = 0; t < trials; t++) ok += r[k][t] <= 3 * eps;
        qsort(r[k], (size_t)trials, sizeof(double), cmp_d);
        printf("  P026 %-11s m=%lld: ratio median %.3f, 95th pct %.3f, max %.3f (3 eps = %.3f), "
               "%d/%d within\n", apx_embed_name(kinds[k]), (long long)msk, r[k][trials / 2],
               r[k][(95 * trials) / 100 - 1], r[k][trials - 1], 3 * eps, ok, trials);
        if (k < 2) CHECK(ok >= (95 * trials + 99) / 100);
    }
    apx_dmat_free(&A);
}

/* ---------------------------------------------------------------- l_p, l_inf */

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

TEST(lp_location_closed_forms) {
    // A = ones(m,1): l_1 -> the median, l_2 -> the mean, l_inf -> the midrange
    int m = 21;
    double a[21], b[21], c[21], x, mean = 0, lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < m; i++) {
        a[i] = 1;
        b[i] = sin(1.7 * i) * 3 + (i % 4);
        c[i] = b[i];
        mean += b[i] / m;
        lo = fmin(lo, b[i]), hi = fmax(hi, b[i]);
    }
    apx_dmat A = apx_dmat_view(a, m, 1);
    apx_lp_info info;
    REQUIRE_OK(apx_regress_lp(A, b, 1.0, &x, NULL, &info));
    CHECK_NEAR(x, median(c, m), 1e-7, 0);
    REQUIRE_OK(apx_regress_lp(A, b, 2.0, &x, NULL, &info));
    CHECK_NEAR(x, mean, 1e-13, 1e-13);
    REQUIRE_OK(apx_regress_linf(A, b, &x, NULL, &info));
    CHECK_NEAR(x, 0.5 * (lo + hi), 1e-5 * (hi - lo), 0);
    CHECK_NEAR(info.cost, 0.5 * (hi - lo), 0, 1e-6);
    CHECK(info.lower_bound <= 0.5 * (hi - lo) * (1 + 1e-12));
}

// brute-force l_1 optimum for n = 2: an optimal solution interpolates 2 rows
static double l1_brute(apx_dmat A, const double *b) {
    double best = INFINITY;
    for (int64_t i = 0; i < A.rows; i++)
        for (int64_t j = i + 1; j < A.rows; j++) {
            double *p = A.data + i * 2, *q = A.data + j * 2, det = p[0] * q[1] - p[1] * q[0];
            if (fabs(det) < 1e-12) continue;
            double x0 = (b[i] * q[1] - p[1] * b[j]) / det, x1 = (p[0] * b[j] - b[i] * q[0]) / det;
            double c = 0;
            for (int64_t k = 0; k < A.rows; k++) c += fabs(A.data[k * 2] * x0 + A.data[k * 2 + 1] * x1 - b[k]);
            best = fmin(best, c);
        }
    return best;
}

// Chebyshev optimum for n = 2: max over 3-row subsets J of |c^T b_J| / |c|_1, A_J^T c = 0
static double linf_brute(apx_dmat A, const double *b) {
    double best = 0;
    for (int64_t i = 0; i < A.rows; i++)
        for (int64_t j = i + 1; j < A.rows; j++)
            for (int64_t k = j + 1; k < A.rows; k++) {
                const double *u = A.data + i * 2, *v = A.data + j * 2, *w = A.data + k * 2;
                // c = the cross product of the two columns of A_J
                double c0 = v[0] * w[1] - w[0] * v[1], c1 = w[0] * u[1] - u[0] * w[1],
                       c2 = u[0] * v[1] - v[0] * u[1];
                double s = fabs(c0) + fabs(c1) + fabs(c2);
                if (s < 1e-12) continue;
                best = fmax(best, fabs(c0 * b[i] + c1 * b[j] + c2 * b[k]) / s);
            }
    return best;
}

TEST(lp_brute_force_and_optimality) {
    int64_t m = 25, n = 2;
    apx_dmat A = randn(m, n, 20);
    double b[25], x[2], x2[2];
    apx_rng_fill_normal(21, 0, b, m);
    b[3] += 8, b[11] -= 6; // outliers
    apx_lp_info info;
    REQUIRE_OK(apx_regress_lp(A, b, 1.0, x, NULL, &info));
    double c1 = l1_brute(A, b);
    CHECK_NEAR(info.cost, c1, 0, 1e-8);
    REQUIRE_OK(apx_regress_linf(A, b, x, NULL, &info));
    double ci = linf_brute(A, b);
    CHECK_NEAR(info.cost, ci, 0, 1e-6);
    CHECK(info.lower_bound <= ci * (1 + 1e-12));
    // p = 3 and p = 1.5: x is a minimum: no step of size 1e-2 .. 1e-6 along +-e_1, +-e_2 or
    // +-(e_1 +- e_2) lowers sum |r|^p by more than the stopping tolerance (1e-10 relative)
    double ps[2] = {3.0, 1.5};
    for (int t = 0; t < 2; t++) {
        REQUIRE_OK(apx_regress_lp(A, b, ps[t], x2, NULL, &info));
        double f0 = pow(info.cost, ps[t]), worst = 0;
        double dirs[8][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {-1, -1}, {1, -1}, {-1, 1}};
        for (int d = 0; d < 8; d++)
            for (double h = 1e-2; h >= 1e-6; h /= 10) {
                double f = 0;
                for (int64_t i = 0; i < m; i++) {
                    double r = A.data[i * 2] * (x2[0] + h * dirs[d][0]) +
                               A.data[i * 2 + 1] * (x2[1] + h * dirs[d][1]) - b[i];
                    f += pow(fabs(r), ps[t]);
                }
                worst = fmax(worst, (f0 - f) / f0);
            }
        CHECK(worst <= 1e-9);
    }
    apx_dmat_free(&A);
}

// l_1 optimum for n = 3 by brute force over the vertices (3 interpolated rows, Cramer)
static double l1_brute3(apx_dmat A, const double *b) {
    double best = INFINITY;
    for (int64_t i = 0; i < A.rows; i++)
        for (int64_t j = i + 1; j < A.rows; j++)
            for (int64_t k = j + 1; k < A.rows; k++) {
                const double *u = A.data + i * 3, *v = A.data + j * 3, *w = A.data + k * 3;
                double det = u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0]) +
                             u[2] * (v[0] * w[1] - v[1] * w[0]);
                if (fabs(det) < 1e-9) continue;
                double x[3];
                for (int c = 0; c < 3; c++) { // column c replaced by (b_i, b_j, b_k)
                    double U[3] = {u[0], u[1], u[2]}, V[3] = {v[0], v[1], v[2]},
                           W[3] = {w[0], w[1], w[2]};
                    U[c] = b[i], V[c] = b[j], W[c] = b[k];
                    x[c] = (U[0] * (V[1] * W[2] - V[2] * W[1]) - U[1] * (V[0] * W[2] - V[2] * W[0]) +
                            U[2] * (V[0] * W[1] - V[1] * W[0])) / det;
                }
                double cost = 0;
                for (int64_t t = 0; t < A.rows; t++) {
                    const double *a = A.data + t * 3;
                    cost += fabs(a[0] * x[0] + a[1] * x[1] + a[2] * x[2] - b[t]);
                }
                best = fmin(best, cost);
            }
    return best;
}

// A column non-zero in two rows only: the rows of smallest |r| are then linearly dependent,
// and the exact l_1 finish must pick independent rows (found by P007's coherent matrices)
TEST(lp_l1_sparse_column_exact) {
    int64_t m = 40;
    apx_dmat A = randn(m, 3, 31);
    double b[40], x[3];
    for (int64_t i = 0; i < m; i++) A.data[i * 3 + 2] = i < 2 ? 50.0 + i : 0.0;
    apx_rng_fill_normal(32, 0, b, m);
    for (int64_t i = 0; i < m; i++) b[i] += A.data[i * 3] + A.data[i * 3 + 1] + 20 * A.data[i * 3 + 2];
    apx_lp_info info;
    REQUIRE_OK(apx_regress_lp(A, b, 1.0, x, NULL, &info));
    CHECK(info.converged);
    CHECK_NEAR(info.cost, l1_brute3(A, b), 0, 1e-12);
    apx_dmat_free(&A);
}

TEST(lp_bad_input) {
    double a[8] = {1, 2, 3, 4, 5, 6, 7, 9}, b[4] = {1, 2, 3, 4}, x[2];
    apx_dmat A = apx_dmat_view(a, 4, 2);
    CHECK_STATUS(apx_regress_lp(A, b, 0.5, x, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_regress_lp(A, b, INFINITY, x, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_regress_lp(apx_dmat_view(a, 2, 4), b, 1.0, x, NULL, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_regress_linf(apx_dmat_view(a, 2, 4), b, x, NULL, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_regress_lp(A, NULL, 1.0, x, NULL, NULL), APX_EINVAL);
    apx_lp_opts o = apx_lp_opts_default();
    o.eps = 0;
    CHECK_STATUS(apx_regress_lp(A, b, 1.0, x, &o, NULL), APX_EINVAL);
    o = apx_lp_opts_default();
    o.max_iters = 1;
    o.tol = 0;
    apx_lp_info info;
    CHECK_STATUS(apx_regress_linf(A, b, x, &o, &info), APX_ENOCONV);
    CHECK(info.lower_bound <= info.cost && isfinite(info.cost));
    b[1] = NAN;
    CHECK_STATUS(apx_regress_linf(A, b, x, NULL, NULL), APX_EINVAL);
    b[1] = 2;
    a[1] = INFINITY;
    CHECK_STATUS(apx_regress_lp(A, b, 3.0, x, NULL, NULL), APX_EINVAL);
}
