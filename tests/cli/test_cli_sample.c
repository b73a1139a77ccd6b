/* tests/cli/test_cli_sample.c: apx sample against apx_sketch_sample on the same data and
 * seed (indices.npy as int64, weights.npy), its --json summary, and its usage and input
 * errors. */
#include "apx/sketch.h"
#include "test_cli_lstsq.h"

TEST(cli_sample_matches_library) {
    LQ_NEED_BIN();
    apx_dmat A;
    REQUIRE_OK(apx_dmat_alloc(200, 3, &A));
    apx_rng_fill_normal(4, 0, A.data, 600);
    for (int t = 0; t < 3; t++) A.data[t] *= 20;
    char a[512], dir[512], ip[700], wp[700];
    REQUIRE_OK(lq_write(A, "smp_A.npy", a, sizeof a));
    tu_path(dir, sizeof dir, "smp_out");
    snprintf(ip, sizeof ip, "%s/indices.npy", dir);
    snprintf(wp, sizeof wp, "%s/weights.npy", dir);
    int64_t idx[200], kept;
    double wt[200];
    const char *methods[] = {"uniform", "leverage", "approx-leverage", "lewis", "sensitivity",
                             "root-leverage", "dpp", "volume"};
    for (int m = 0; m < 8; m++) {
        double rows = m == 6 ? 3 : 40;
        CHECK(lq_run("sample '%s' --method %s --rows %g --p 1 --seed 5 --out '%s' -q", a,
                     methods[m], rows, dir) == 0);
        apx_sample_method meth;
        REQUIRE_OK(apx_sample_method_parse(methods[m], &meth));
        REQUIRE_OK(apx_sketch_sample(A, meth, rows, 1.0, 5, idx, wt, &kept));
        apx_array ia;
        apx_dmat W;
        REQUIRE_OK(apx_npy_read(ip, &ia));
        REQUIRE_OK(apx_npy_read_dmat(wp, &W));
        CHECK(ia.dtype == APX_DT_I64 && ia.ndim == 1 && ia.shape[0] == kept);
        CHECK(W.rows * W.cols == kept);
        if (ia.shape[0] == kept && W.rows * W.cols == kept)
            for (int64_t t = 0; t < kept; t++)
                CHECK(((int64_t *)ia.data)[t] == idx[t] && W.data[t] == wt[t]);
        apx_array_free(&ia);
        apx_dmat_free(&W);
    }
    CHECK(lq_run("sample '%s' --method volume --rows 10 --json", a) == 0);
    CHECK(lq_json_num(lq_out, "kept") == 10);
    CHECK(strstr(lq_out, "\"method\": \"volume\"") != NULL);
    // usage: unknown method, missing rows; failures: dpp with rows != n, Lewis p >= 4
    CHECK(lq_run("sample '%s' --method gaussian --rows 5", a) == 2);
    CHECK(lq_run("sample '%s' --method leverage", a) == 2);
    CHECK(lq_run("sample '%s' --method dpp --rows 5", a) == 1);
    CHECK(lq_run("sample '%s' --method lewis --rows 5 --p 4", a) == 1);
    CHECK(lq_run("sample '%s' --method volume --rows 500", a) == 1);
    // mixed (leverage + sensitivity, p > 2): the library's sample; p <= 2 is refused
    CHECK(lq_run("sample '%s' --method mixed --rows 40 --p 3 --seed 5 --out '%s' -q", a, dir) ==
          0);
    REQUIRE_OK(apx_sketch_sample(A, APX_SAMPLE_MIXED, 40, 3.0, 5, idx, wt, &kept));
    apx_array im;
    REQUIRE_OK(apx_npy_read(ip, &im));
    CHECK(im.dtype == APX_DT_I64 && im.ndim == 1 && im.shape[0] == kept);
    for (int64_t t = 0; t < kept && im.shape[0] == kept; t++)
        CHECK(((int64_t *)im.data)[t] == idx[t]);
    apx_array_free(&im);
    CHECK(lq_run("sample '%s' --method mixed --rows 40 --p 2", a) == 1);
    CHECK(strstr(lq_err, "p > 2") != NULL);
    CHECK(lq_run("sample /nonexistent/A.npy --method uniform --rows 5") == 3);
    CHECK(lq_run("sample --help") == 0);
    const char *opts[] = {"--method", "--rows", "--p", "--out", "--key", "--seed", "--json",
                          "--wls", "--dim", "--n", "--repeats", "--values"};
    for (int i = 0; i < 12; i++) CHECK(strstr(lq_out, opts[i]) != NULL);
    apx_dmat_free(&A);
}

TEST(cli_sample_wls_matches_library) {
    LQ_NEED_BIN();
    char dir[512], path[700];
    tu_path(dir, sizeof dir, "smp_wls");
    // Legendre on [-1,1]: the points and weights of apx_sketch_wls_points
    CHECK(lq_run("sample --wls volume --dim 6 --n 15 --seed 3 --out '%s' --json", dir) == 0);
    CHECK(lq_json_num(lq_out, "points") == 15);
    apx_wls_opts o = apx_wls_opts_default();
    o.sampler = APX_WLS_VOLUME, o.n = 15, o.seed = 3;
    double x[15], w[15];
    REQUIRE_OK(apx_sketch_wls_points(6, &o, x, w, NULL));
    apx_dmat X, W;
    snprintf(path, sizeof path, "%s/points.npy", dir);
    REQUIRE_OK(apx_npy_read_dmat(path, &X));
    snprintf(path, sizeof path, "%s/weights.npy", dir);
    REQUIRE_OK(apx_npy_read_dmat(path, &W));
    REQUIRE(X.rows * X.cols == 15 && W.rows * W.cols == 15);
    for (int i = 0; i < 15; i++) CHECK(X.data[i] == x[i] && W.data[i] == w[i]);
    apx_dmat_free(&X);
    apx_dmat_free(&W);
    // a basis file (grid of 101 points, monomials) with values: coef.npy = the library fit
    apx_dmat Phi, Y;
    REQUIRE_OK(apx_dmat_alloc(101, 4, &Phi));
    REQUIRE_OK(apx_dmat_alloc(101, 1, &Y));
    for (int g = 0; g < 101; g++) {
        double t = -1 + g / 50.0;
        for (int j = 0; j < 4; j++) Phi.data[g * 4 + j] = pow(t, j);
        Y.data[g] = exp(t);
    }
    char pf[512], yf[512];
    REQUIRE_OK(lq_write(Phi, "smp_phi.npy", pf, sizeof pf));
    REQUIRE_OK(lq_write(Y, "smp_y.npy", yf, sizeof yf));
    CHECK(lq_run("sample '%s' --wls dpp --values '%s' --seed 2 --out '%s' -q", pf, yf, dir) == 0);
    o = apx_wls_opts_default();
    o.sampler = APX_WLS_DPP, o.seed = 2;
    int64_t idx[4];
    double wt[4], y[4], coef[4];
    REQUIRE_OK(apx_sketch_wls_grid_points(Phi, NULL, &o, idx, wt, NULL));
    apx_dmat P;
    REQUIRE_OK(apx_dmat_alloc(4, 4, &P));
    for (int t = 0; t < 4; t++) {
        memcpy(P.data + 4 * t, Phi.data + 4 * idx[t], 4 * sizeof(double));
        y[t] = Y.data[idx[t]];
    }
    REQUIRE_OK(apx_sketch_wls_fit(P, y, wt, coef, NULL));
    apx_dmat C;
    snprintf(path, sizeof path, "%s/coef.npy", dir);
    REQUIRE_OK(apx_npy_read_dmat(path, &C));
    REQUIRE(C.rows * C.cols == 4);
    for (int j = 0; j < 4; j++) CHECK(C.data[j] == coef[j]);
    CHECK(lq_run("sample --wls christoffel --dim 4 --out '%s'", dir) == 2);
    CHECK(lq_run("sample --wls iid --dim 4") == 2);
    CHECK(lq_run("sample --wls iid --out '%s'", dir) == 2);
    CHECK(lq_run("sample --wls volume --dim 6 --n 3 --out '%s'", dir) == 1);
    // a point count whose buffer size wraps around size_t: refused, not overrun
    CHECK(lq_run("sample --wls volume --dim 5 --n 4611686018427387904 --out '%s'", dir) == 1);
    CHECK(lq_run("sample --wls iid --dim 5 --n 2305843009213693952 --out '%s'", dir) == 1);
    CHECK(lq_run("sample --method uniform --rows 3") == 2);
    apx_dmat_free(&C);
    apx_dmat_free(&P);
    apx_dmat_free(&Phi);
    apx_dmat_free(&Y);
}
