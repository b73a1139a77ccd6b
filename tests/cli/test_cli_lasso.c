/* tests/cli/test_cli_lasso.c: apx lasso, apx enet and apx sparse-code run as programs
 * ($APX_BIN) on small inputs written here; results are checked against the library called
 * directly on the same data; usage errors exit 2, unreadable or mismatched input 3, and
 * each --help names every option. Skipped when APX_BIN is unset. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "../test.h"
#include "apx/sparse.h"

static char out_buf[1 << 16];
#define NEED_BIN() TU_NEED_BIN()
#define bin() tu_apx_bin()
/* Run "$APX_BIN <args>" with stderr discarded; stdout into out_buf; the exit status. */
#define run_bin(...) tu_run_apx(out_buf, sizeof out_buf, NULL, 0, __VA_ARGS__)




static double json_number(const char *key) {
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *s = strstr(out_buf, pat);
    return s ? strtod(s + strlen(pat), NULL) : NAN;
}

/* X (n,p), y (n), Y (n,2) and a dictionary D (K,p) written to the temporary folder. */
static void write_inputs(int64_t n, int64_t p, double *X, double *y, double *Y) {
    char path[512];
    apx_rng_fill_normal(300, 0, X, n * p);
    apx_rng_fill_normal(300, 1, y, n);
    for (int64_t i = 0; i < n; i++) {
        y[i] = 1.0 + 2 * X[i * p] - X[i * p + 3] + 0.1 * y[i];
        Y[2 * i] = y[i];
        Y[2 * i + 1] = -y[i] + X[i * p + 1];
    }
    tu_path(path, sizeof path, "lasso_X.npy");
    apx_npy_write_dmat(path, apx_dmat_view(X, n, p));
    tu_path(path, sizeof path, "lasso_y.npy");
    apx_npy_write_vec(path, y, n);
    tu_path(path, sizeof path, "lasso_Y.npy");
    apx_npy_write_dmat(path, apx_dmat_view(Y, n, 2));
}

TEST(cli_lasso_matches_library) {
    NEED_BIN();
    int64_t n = 60, p = 12;
    double X[720], y[60], Y[120], w[12], b;
    write_inputs(n, p, X, y, Y);
    char xp[512], yp[512], dir[512], f[700];
    tu_path(xp, sizeof xp, "lasso_X.npy");
    tu_path(yp, sizeof yp, "lasso_y.npy");
    tu_path(dir, sizeof dir, "lasso_out");
    REQUIRE(run_bin("lasso '%s' '%s' --alpha 0.05 --tol 1e-10 --json -o '%s'", xp, yp, dir) == 0);
    apx_enet_opts o = apx_enet_opts_default();
    o.tol = 1e-10;
    apx_enet_info info;
    REQUIRE_OK(apx_sparse_lasso(apx_dmat_view(X, n, p), y, 0.05, &o, w, &b, &info));
    CHECK_NEAR(json_number("gap"), info.gap, 1e-300, 1e-6);
    CHECK(json_number("nnz") == (double)info.nnz);
    snprintf(f, sizeof f, "%s/coef.npy", dir);
    apx_dmat C;
    REQUIRE_OK(apx_npy_read_dmat(f, &C));
    REQUIRE(C.rows * C.cols == p);
    for (int64_t j = 0; j < p; j++) CHECK(C.data[j] == w[j]);
    apx_dmat_free(&C);
    /* enet, multi-task (2-D y), path */
    char Yp[512];
    tu_path(Yp, sizeof Yp, "lasso_Y.npy");
    CHECK(run_bin("enet '%s' '%s' --alpha 0.05 --l1-ratio 0.5 --json", xp, Yp) == 0);
    CHECK(json_number("tasks") == 2);
    CHECK(strstr(out_buf, "\"converged\": true") != NULL);
    CHECK(run_bin("lasso '%s' '%s' --path 4 --json", xp, yp) == 0);
    CHECK(strstr(out_buf, "\"alphas\": [") != NULL);
}

TEST(cli_lasso_errors_and_help) {
    NEED_BIN();
    int64_t n = 60, p = 12;
    double X[720], y[60], Y[120];
    write_inputs(n, p, X, y, Y);
    char xp[512], yp[512], bad[512];
    tu_path(xp, sizeof xp, "lasso_X.npy");
    tu_path(yp, sizeof yp, "lasso_y.npy");
    tu_path(bad, sizeof bad, "lasso_missing.npy");
    CHECK(run_bin("lasso '%s' '%s' --alpha -1", xp, yp) == 2);
    CHECK(run_bin("enet '%s' '%s' --l1-ratio 1.5", xp, yp) == 2);
    CHECK(run_bin("lasso '%s' '%s' --solver fast", xp, yp) == 2);
    CHECK(run_bin("lasso '%s'", xp) == 2);
    CHECK(run_bin("lasso '%s' '%s'", xp, bad) == 3);
    char short_y[512];
    tu_path(short_y, sizeof short_y, "lasso_short_y.npy");
    REQUIRE_OK(apx_npy_write_vec(short_y, y, n - 1));
    CHECK(run_bin("lasso '%s' '%s'", xp, short_y) == 3); /* 59 targets for 60 rows */
    const char *lopts[] = {"--alpha", "--tol", "--max-epochs", "--solver", "--no-intercept",
                           "--positive", "--no-screening", "--no-working-set", "--path", "--eps",
                           "--out", "--key", "--ykey"};
    REQUIRE(run_bin("lasso --help") == 0);
    for (int i = 0; i < 13; i++) CHECK(strstr(out_buf, lopts[i]) != NULL);
    REQUIRE(run_bin("enet --help") == 0);
    CHECK(strstr(out_buf, "--l1-ratio") != NULL);
    REQUIRE(run_bin("sparse-code --help") == 0);
    const char *sopts[] = {"--lambda", "--penalty", "--q", "--iters", "--tol", "--out", "--key",
                           "--dkey"};
    for (int i = 0; i < 8; i++) CHECK(strstr(out_buf, sopts[i]) != NULL);
}

TEST(cli_sparse_code_matches_library) {
    NEED_BIN();
    int64_t K = 15, m = 10, N = 4;
    double D[150], S[40], A[60];
    apx_rng_fill_normal(301, 0, D, K * m);
    apx_rng_fill_normal(301, 1, S, N * m);
    char dp[512], sp[512], dir[512], f[700];
    tu_path(dp, sizeof dp, "code_D.npy");
    tu_path(sp, sizeof sp, "code_S.npy");
    tu_path(dir, sizeof dir, "code_out");
    REQUIRE_OK(apx_npy_write_dmat(dp, apx_dmat_view(D, K, m)));
    REQUIRE_OK(apx_npy_write_dmat(sp, apx_dmat_view(S, N, m)));
    REQUIRE(run_bin("sparse-code '%s' '%s' --lambda 0.3 --penalty l0 --json -o '%s'", sp, dp,
                    dir) == 0);
    apx_code_opts o = apx_code_opts_default();
    o.penalty = APX_PENALTY_L0;
    apx_code_info info;
    apx_status st = apx_sparse_code(apx_dmat_view(D, K, m), apx_dmat_view(S, N, m), 0.3, &o,
                                    apx_dmat_view(A, N, K), &info);
    REQUIRE(st == APX_OK || st == APX_ENOCONV);
    CHECK_NEAR(json_number("objective"), info.objective, 0, 1e-12);
    snprintf(f, sizeof f, "%s/codes.npy", dir);
    apx_dmat C;
    REQUIRE_OK(apx_npy_read_dmat(f, &C));
    REQUIRE(C.rows == N && C.cols == K);
    for (int64_t i = 0; i < N * K; i++) CHECK(C.data[i] == A[i]);
    apx_dmat_free(&C);
    CHECK(run_bin("sparse-code '%s' '%s' --penalty l3", sp, dp) == 2);
    CHECK(run_bin("sparse-code '%s' '%s' --penalty lq --q 1.5", sp, dp) == 2);
    char xp[512];
    tu_path(xp, sizeof xp, "code_X11.npy");
    REQUIRE_OK(apx_npy_write_dmat(xp, apx_dmat_view(D, 5, 11))); /* dim 11, atoms have 10 */
    CHECK(run_bin("sparse-code '%s' '%s'", xp, dp) == 3);
}

/* A coordinate .mtx X is fitted as CSR: the same fit as the library's CSR solver on the
 * same triplets; the JSON says so; the multi-task model refuses it (usage error). */
TEST(cli_lasso_mtx_as_csr) {
    NEED_BIN();
    enum { N = 40, P = 10, NNZ = 80 };
    int64_t ri[NNZ], ci[NNZ], ip[N + 1], ix[NNZ];
    double v[NNZ], dv[NNZ], u[2 * NNZ + N], y[N], w[P], b;
    apx_rng_fill_uniform(301, 0, u, 2 * NNZ);
    apx_rng_fill_normal(301, 1, v, NNZ);
    apx_rng_fill_normal(301, 2, y, N);
    for (int t = 0; t < NNZ; t++) {
        ri[t] = (int64_t)(u[t] * N);
        ci[t] = (int64_t)(u[NNZ + t] * P);
    }
    REQUIRE_OK(apx_csr_from_coo(N, P, NNZ, ri, ci, v, ip, ix, dv));
    char xp[512], yp[512], Yp[512];
    tu_path(xp, sizeof xp, "lasso_X.mtx");
    tu_path(yp, sizeof yp, "lasso_ymtx.npy");
    REQUIRE_OK(apx_mtx_write_coo(xp, N, P, NNZ, ri, ci, v));
    REQUIRE_OK(apx_npy_write_vec(yp, y, N));
    REQUIRE(run_bin("lasso '%s' '%s' --alpha 0.02 --tol 1e-10 --json", xp, yp) == 0);
    CHECK(strstr(out_buf, "\"format\": \"csr\"") != NULL);
    apx_csr A = {N, P, NNZ, ip, ix, dv};
    apx_enet_opts o = apx_enet_opts_default();
    o.tol = 1e-10;
    apx_enet_info info;
    REQUIRE_OK(apx_sparse_lasso_csr(A, y, 0.02, &o, w, &b, &info));
    CHECK_NEAR(json_number("gap"), info.gap, 1e-300, 1e-6);
    CHECK(json_number("nnz") == (double)info.nnz);
    CHECK_NEAR(json_number("objective"), info.primal, 0, 1e-12);
    CHECK(run_bin("enet '%s' '%s' --alpha 0.02 --path 3 --json", xp, yp) == 0);
    CHECK(strstr(out_buf, "\"format\": \"csr\"") != NULL);
    double Y[2 * N];
    for (int i = 0; i < N; i++) Y[2 * i] = y[i], Y[2 * i + 1] = -y[i];
    tu_path(Yp, sizeof Yp, "lasso_Ymtx.npy");
    REQUIRE_OK(apx_npy_write_dmat(Yp, apx_dmat_view(Y, N, 2)));
    CHECK(run_bin("lasso '%s' '%s' --alpha 0.02", xp, Yp) == 2);
}

/* apx mtrl: one seed's nu1 risk equals the library's on the same synthetic model; bad
 * options are usage errors. */
TEST(cli_mtrl_matches_library) {
    NEED_BIN();
    REQUIRE(run_bin("mtrl --seeds 1 --seed 5 --rule nu1 --dim 20 --sources 8 --stage1 30 "
                    "--budget 400 --json") == 0);
    apx_mtrl_synth s;
    REQUIRE_OK(apx_sparse_mtrl_synth_create(20, 3, 8, 3, 0.3, 5, &s));
    apx_mtrl_opts o = apx_mtrl_opts_default();
    o.n_stage1 = 30;
    o.budget = 400;
    double beta0[20], nu[8];
    apx_mtrl_out out = {0};
    out.beta0 = beta0;
    out.nu = nu;
    REQUIRE_OK(apx_sparse_mtrl(20, 8, apx_sparse_mtrl_synth_sample, &s, &o, &out, NULL));
    CHECK_NEAR(json_number("mean"), apx_sparse_mtrl_synth_risk(&s, beta0), 0, 1e-12);
    CHECK(strstr(out_buf, "\"nu2\"") == NULL);
    apx_sparse_mtrl_synth_free(&s);
    CHECK(run_bin("mtrl --rule nu3") == 2);
    CHECK(run_bin("mtrl --relevant 4") == 2);
    CHECK(run_bin("mtrl --stage1 10") == 1); /* < d: the library's EINVAL */
    CHECK(run_bin("mtrl --help") == 0 && strstr(out_buf, "--budget") && strstr(out_buf, "--rule"));
}
