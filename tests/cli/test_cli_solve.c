/* tests/cli/test_cli_solve.c: apx solve on a Matrix Market Laplacian (CSR) and a dense .npy,
 * against the library; no convergence exits 1 but still writes x. apx halpern (P011) and apx
 * constrained (P073) against the library on the same files, usage and input errors. */
#include <math.h>

#include "apx/la.h"
#include "apx/regress.h"
#include "apx/solve.h"
#include "test_cli_lstsq.h"

// 1-D Laplacian tridiag(-1, 2, -1) of size n as triplets
static int64_t lap1d(int64_t n, int64_t *ri, int64_t *ci, double *v) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i > 0) ri[k] = i, ci[k] = i - 1, v[k++] = -1;
        ri[k] = i, ci[k] = i, v[k++] = 2;
        if (i + 1 < n) ri[k] = i, ci[k] = i + 1, v[k++] = -1;
    }
    return k;
}

TEST(cli_solve_matches_library) {
    LQ_NEED_BIN();
    enum { N = 50 };
    int64_t ri[3 * N], ci[3 * N], ip[N + 1] = {0}, ix[3 * N];
    double v[3 * N], vv[3 * N], b[N], x[N];
    int64_t nnz = lap1d(N, ri, ci, v);
    char m[512], bp[512], o[512];
    tu_path(m, sizeof m, "sv_L.mtx");
    tu_path(bp, sizeof bp, "sv_b.npy");
    tu_path(o, sizeof o, "sv_x.npy");
    REQUIRE_OK(apx_mtx_write_coo(m, N, N, nnz, ri, ci, v));
    apx_rng_fill_normal(3, 0, b, N);
    REQUIRE_OK(apx_npy_write_vec(bp, b, N));
    for (int64_t t = 0; t < nnz; t++) ip[ri[t] + 1]++;
    for (int i = 0; i < N; i++) ip[i + 1] += ip[i];
    for (int64_t t = 0; t < nnz; t++) ix[t] = ci[t], vv[t] = v[t]; // triplets are row-sorted
    apx_csr A = {N, N, nnz, ip, ix, vv};
    const char *methods[] = {"cg", "minres", "lsqr", "ssor"};
    for (int k = 0; k < 4; k++) {
        CHECK(lq_run("solve '%s' '%s' -m %s --tol 1e-10 --max-iters 20000 -o '%s' --json", m, bp,
                     methods[k], o) == 0);
        CHECK(strstr(lq_out, "\"format\": \"csr\"") != NULL);
        apx_solve_opts so = apx_solve_opts_default();
        so.tol = 1e-10;
        so.max_iters = 20000;
        apx_solve_info info;
        if (k == 0) REQUIRE_OK(apx_solve_cg(apx_op_csr(A), b, x, &so, &info));
        if (k == 1) REQUIRE_OK(apx_solve_minres(apx_op_csr(A), b, x, &so, &info));
        if (k == 2) REQUIRE_OK(apx_solve_lsqr(apx_op_csr(A), b, x, &so, &info));
        if (k == 3) REQUIRE_OK(apx_solve_ssor(apx_op_csr(A), b, x, &so, &info));
        CHECK(lq_json_num(lq_out, "iterations") == (double)info.iterations);
        apx_dmat X;
        REQUIRE_OK(apx_npy_read_dmat(o, &X));
        for (int i = 0; i < N; i++) CHECK(X.data[i] == x[i]);
        apx_dmat_free(&X);
    }
    // too few iterations: exit 1, x still written, converged false
    remove(o);
    CHECK(lq_run("solve '%s' '%s' --max-iters 2 -o '%s' --json", m, bp, o) == 1);
    CHECK(strstr(lq_out, "\"converged\": false") != NULL);
    apx_dmat X;
    CHECK_OK(apx_npy_read_dmat(o, &X));
    apx_dmat_free(&X);
    // usage and input errors
    CHECK(lq_run("solve '%s' '%s' -m gmres", m, bp) == 2);
    CHECK(lq_run("solve '%s' '%s' --precond ilu", m, bp) == 2);
    CHECK(lq_run("solve '%s' '%s' -m sor --omega 2.5", m, bp) == 1);
    char bad[512];
    tu_path(bad, sizeof bad, "sv_bad.mtx");
    FILE *f = fopen(bad, "w");
    REQUIRE(f);
    fputs("%%MatrixMarket matrix coordinate real general\n3 3 5\n1 1 1\n", f);
    fclose(f);
    CHECK(lq_run("solve '%s' '%s'", bad, bp) == 3);
    CHECK(lq_run("solve '%s' '%s'", m, m) == 3 || lq_run("solve '%s' '%s'", m, m) == 1);
    CHECK(lq_run("solve --help") == 0);
    const char *opts[] = {"--method", "--tol", "--atol", "--max-iters", "--precond", "--omega",
                          "--block", "--sp-sketch", "--x0", "--out", "--key"};
    for (int i = 0; i < 11; i++) CHECK(strstr(lq_out, opts[i]) != NULL);
}

/* ---------------------------------------------------------------- apx halpern (P011) */

TEST(cli_halpern_matches_library) {
    LQ_NEED_BIN();
    enum { N = 60, D = 4 };
    double A[N * D], b[N], x[D];
    apx_rng_fill_normal(8, 0, A, N * D);
    apx_rng_fill_normal(8, 1, b, N);
    char pa[512], pb[512], o[512];
    REQUIRE_OK(lq_write(apx_dmat_view(A, N, D), "hp_A.npy", pa, sizeof pa));
    REQUIRE_OK(lq_write(apx_dmat_view(b, N, 1), "hp_b.npy", pb, sizeof pb));
    tu_path(o, sizeof o, "hp_x.npy");
    CHECK(lq_run("halpern '%s' '%s' -n 20 --tol 1e-3 --seed 4 -o '%s' --json", pa, pb, o) == 0);
    apx_fsum_data data;
    apx_halpern_problem P;
    REQUIRE_OK(apx_fsum_lstsq(apx_dmat_view(A, N, D), b, 20, &data, &P));
    apx_halpern_opts ho = apx_halpern_opts_default();
    ho.tol = 1e-3, ho.seed = 4;
    apx_halpern_info info;
    REQUIRE_OK(apx_halpern(&P, NULL, x, &ho, &info));
    CHECK(lq_json_num(lq_out, "evaluations") == (double)info.evaluations);
    apx_dmat X;
    REQUIRE_OK(apx_npy_read_dmat(o, &X));
    for (int j = 0; j < D; j++) CHECK(X.data[j] == x[j]);
    apx_dmat_free(&X);
    // a box, the deterministic method, the monotone setting
    CHECK(lq_run("halpern '%s' '%s' --lo -0.01 --hi 0.01 --deterministic --setting monotone "
                 "--tol 1e-4 --json", pa, pb) == 0);
    CHECK(strstr(lq_out, "\"converged\": true") != NULL);
    // budget: exit 1, still a summary
    CHECK(lq_run("halpern '%s' '%s' --tol 1e-12 --max-evals 100 --json", pa, pb) == 1);
    CHECK(strstr(lq_out, "\"converged\": false") != NULL);
    // bilinear: B (n p, q) with n = 3 blocks of (2, 2)
    double B[12], av[6], cv[6];
    apx_rng_fill_normal(9, 0, B, 12);
    for (int i = 0; i < 12; i++) B[i] = 0.2 * B[i] + (i % 4 == 0 || i % 4 == 3 ? 1.0 : 0.0);
    apx_rng_fill_normal(9, 1, av, 6);
    apx_rng_fill_normal(9, 2, cv, 6);
    char pB[512], pa2[512], pc2[512];
    REQUIRE_OK(lq_write(apx_dmat_view(B, 6, 2), "hp_B.npy", pB, sizeof pB));
    REQUIRE_OK(lq_write(apx_dmat_view(av, 6, 1), "hp_a.npy", pa2, sizeof pa2));
    REQUIRE_OK(lq_write(apx_dmat_view(cv, 6, 1), "hp_c.npy", pc2, sizeof pc2));
    CHECK(lq_run("halpern -p bilinear '%s' '%s' '%s' -n 3 --setting monotone --tol 1e-3 --json",
                 pB, pa2, pc2) == 0);
    CHECK(lq_json_num(lq_out, "dim") == 4);
    // usage and input errors
    CHECK(lq_run("halpern -p bilinear '%s'", pB) == 2);             // no --blocks
    CHECK(lq_run("halpern -p cubic '%s' '%s'", pa, pb) == 2);
    CHECK(lq_run("halpern '%s' '%s' --setting strong", pa, pb) == 2);
    CHECK(lq_run("halpern '%s' '%s' --lo abc", pa, pb) == 2);
    CHECK(lq_run("halpern '%s' '%s'", pa, pB) == 3);                 // b of the wrong length
    CHECK(lq_run("halpern '%s' '%s' -n 1000", pa, pb) == 1);         // more blocks than rows
    CHECK(lq_run("halpern '%s' /nonexistent/b.npy", pa) == 3);
    CHECK(lq_run("halpern --help") == 0);
    const char *opts[] = {"--problem", "--blocks", "--setting", "--deterministic", "--tol",
                          "--eta", "--prob", "--batch", "--inner-step", "--max-evals",
                          "--max-iters", "--lo", "--hi", "--out"};
    for (int i = 0; i < 14; i++) CHECK(strstr(lq_out, opts[i]) != NULL);
}

// ||A^T (A x - b)|| / n: the residual ||F(x)|| of the least-squares family, A (n,d)
static double ls_res(const double *A, const double *b, const double *x, int n, int d) {
    double g[16] = {0}, s = 0;
    for (int i = 0; i < n; i++) {
        double r = -b[i];
        for (int j = 0; j < d; j++) r += A[i * d + j] * x[j];
        for (int j = 0; j < d; j++) g[j] += A[i * d + j] * r;
    }
    for (int j = 0; j < d; j++) s += g[j] * g[j];
    return sqrt(s) / n;
}

/* The default command (no --tol) on a plain Gaussian least-squares problem converges: the
 * tolerance is --rtol 1e-4 times the residual of x0 = 0 (an absolute 1e-6 spent the 10^7
 * budget and exited 1). x is checked against the exact least-squares solution:
 * ||x - x*|| <= ||F(x)|| / mu, mu = sigma_min(A)^2 / n. */
TEST(cli_halpern_default_converges) {
    LQ_NEED_BIN();
    enum { N = 50, D = 5 };
    double A[N * D], xt[D], e[N], b[N], xs[D], s[D], zero[D] = {0};
    apx_rng_fill_normal(21, 0, A, N * D);
    apx_rng_fill_normal(21, 1, xt, D);
    apx_rng_fill_normal(21, 2, e, N);
    for (int i = 0; i < N; i++) {
        b[i] = 0.1 * e[i];
        for (int j = 0; j < D; j++) b[i] += A[i * D + j] * xt[j];
    }
    char pa[512], pb[512], o[512];
    REQUIRE_OK(lq_write(apx_dmat_view(A, N, D), "hpd_A.npy", pa, sizeof pa));
    REQUIRE_OK(lq_write(apx_dmat_view(b, N, 1), "hpd_b.npy", pb, sizeof pb));
    tu_path(o, sizeof o, "hpd_x.npy");
    REQUIRE(lq_run("halpern '%s' '%s' -o '%s' --json", pa, pb, o) == 0);
    CHECK(strstr(lq_out, "\"converged\": true") != NULL);
    double r0 = ls_res(A, b, zero, N, D), tol = lq_json_num(lq_out, "tol");
    CHECK_NEAR(lq_json_num(lq_out, "start_residual"), r0, 0, 1e-12);
    CHECK_NEAR(tol, 1e-4 * r0, 0, 1e-12);
    apx_dmat X;
    REQUIRE_OK(apx_npy_read_dmat(o, &X));
    REQUIRE(X.rows * X.cols == D);
    double res = ls_res(A, b, X.data, N, D);
    CHECK(res <= tol * (1 + 1e-9));
    CHECK_NEAR(lq_json_num(lq_out, "residual"), res, 0, 1e-9);
    REQUIRE_OK(apx_regress_lstsq(apx_dmat_view(A, N, D), apx_dmat_view(b, N, 1),
                                 apx_dmat_view(xs, D, 1), NULL, NULL));
    REQUIRE_OK(apx_la_svd(apx_dmat_view(A, N, D), s, NULL, NULL));
    double mu = s[D - 1] * s[D - 1] / N, err = 0;
    for (int j = 0; j < D; j++) err += (X.data[j] - xs[j]) * (X.data[j] - xs[j]);
    CHECK(sqrt(err) <= tol / mu * (1 + 1e-9) + 1e-12);
    apx_dmat_free(&X);
    // the deterministic method too; an explicit --tol stays absolute; both 0: usage error
    CHECK(lq_run("halpern '%s' '%s' --deterministic --json", pa, pb) == 0);
    CHECK(lq_json_num(lq_out, "residual") <= 1e-4 * r0 * (1 + 1e-9));
    CHECK(lq_run("halpern '%s' '%s' --tol 1e-3 --json", pa, pb) == 0);
    CHECK(lq_json_num(lq_out, "tol") == 1e-3);
    CHECK(lq_run("halpern '%s' '%s' --tol 0 --rtol 0", pa, pb) == 2);
    CHECK(lq_run("halpern --help") == 0);
    CHECK(strstr(lq_out, "--rtol") != NULL);
}

/* ---------------------------------------------------------------- apx constrained (P073) */

TEST(cli_constrained_matches_library) {
    LQ_NEED_BIN();
    enum { N = 40, D = 5, M = 2 };
    double X[N * D], y[N], C[M * D], e[M], x[D], lam[M], w0[D] = {0};
    apx_rng_fill_normal(12, 0, X, N * D);
    apx_rng_fill_normal(12, 1, y, N);
    for (int i = 0; i < N; i++) y[i] = y[i] >= 0 ? 1 : -1;
    apx_rng_fill_normal(12, 2, C, M * D);
    e[0] = 0.3, e[1] = -0.2;
    char px[512], py[512], pc[512], pe[512], o[512];
    REQUIRE_OK(lq_write(apx_dmat_view(X, N, D), "cn_X.npy", px, sizeof px));
    REQUIRE_OK(lq_write(apx_dmat_view(y, N, 1), "cn_y.npy", py, sizeof py));
    REQUIRE_OK(lq_write(apx_dmat_view(C, M, D), "cn_C.npy", pc, sizeof pc));
    REQUIRE_OK(lq_write(apx_dmat_view(e, M, 1), "cn_e.npy", pe, sizeof pe));
    tu_path(o, sizeof o, "cn_x.npy");
    CHECK(lq_run("constrained '%s' '%s' '%s' '%s' --reg 0.1 --seed 3 -o '%s' --json", px, py, pc,
                 pe, o) == 0);
    apx_alm_logreg lr;
    apx_alm_problem P;
    REQUIRE_OK(apx_alm_logreg_setup(apx_dmat_view(X, N, D), y, apx_dmat_view(C, M, D), e, 0.1,
                                    &lr, &P));
    apx_alm_opts ao = apx_alm_opts_default();
    ao.seed = 3;
    apx_alm_info info;
    REQUIRE_OK(apx_alm_newton(&P, w0, NULL, x, lam, &ao, &info));
    apx_alm_logreg_free(&lr);
    CHECK(lq_json_num(lq_out, "iterations") == (double)info.iterations);
    CHECK(lq_json_num(lq_out, "kkt") <= 1e-8);
    apx_dmat W;
    REQUIRE_OK(apx_npy_read_dmat(o, &W));
    for (int j = 0; j < D; j++) CHECK(W.data[j] == x[j]);
    apx_dmat_free(&W);
    // a QP with a known answer: min (1/2)||x||^2 s.t. sum x = 1 -> x = 1/D
    double Q[D * D] = {0}, q[D] = {0}, ones[D], one[1] = {1};
    for (int j = 0; j < D; j++) Q[j * D + j] = 1, ones[j] = 1;
    char pQ[512], pq[512], p1[512], pe1[512];
    REQUIRE_OK(lq_write(apx_dmat_view(Q, D, D), "cn_Q.npy", pQ, sizeof pQ));
    REQUIRE_OK(lq_write(apx_dmat_view(q, D, 1), "cn_q.npy", pq, sizeof pq));
    REQUIRE_OK(lq_write(apx_dmat_view(ones, 1, D), "cn_1.npy", p1, sizeof p1));
    REQUIRE_OK(lq_write(apx_dmat_view(one, 1, 1), "cn_e1.npy", pe1, sizeof pe1));
    for (int k = 0; k < 4; k++) {
        const char *inner[] = {"kaczmarz", "sketch", "gaussian", "direct"};
        CHECK(lq_run("constrained -p qp '%s' '%s' '%s' '%s' --inner %s -o '%s'", pQ, pq, p1, pe1,
                     inner[k], o) == 0);
        REQUIRE_OK(apx_npy_read_dmat(o, &W));
        for (int j = 0; j < D; j++) CHECK_NEAR(W.data[j], 1.0 / D, 1e-9, 0);
        apx_dmat_free(&W);
    }
    // errors
    CHECK(lq_run("constrained '%s' '%s' '%s' '%s' --inner lu", px, py, pc, pe) == 2);
    CHECK(lq_run("constrained -p lp '%s' '%s' '%s' '%s'", px, py, pc, pe) == 2);
    CHECK(lq_run("constrained '%s' '%s' '%s'", px, py, pc) == 2);
    CHECK(lq_run("constrained '%s' '%s' '%s' '%s'", px, pe, pc, pe) == 3); // y too short
    CHECK(lq_run("constrained '%s' '%s' '%s' '%s'", px, px, pc, pe) == 3);
    CHECK(lq_run("constrained -p qp '%s' '%s' '%s' '%s'", pQ, pq, pc, pe1) == 3);
    CHECK(lq_run("constrained '%s' '%s' '%s' '%s' --max-iters 1 --json", px, py, pc, pe) == 1);
    CHECK(lq_run("constrained --help") == 0);
    const char *opts[] = {"--problem", "--reg", "--inner", "--block", "--tol", "--max-iters",
                          "--inner-max-iters", "--delta0", "--out"};
    for (int i = 0; i < 9; i++) CHECK(strstr(lq_out, opts[i]) != NULL);
}
