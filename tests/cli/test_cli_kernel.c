/* tests/cli/test_cli_kernel.c: apx kernel-ridge and apx random-features against the library
 * called directly on the same data; usage errors exit 2, unreadable input 3, bad values 1. */
#include "apx/regress.h"
#include "test_cli_lstsq.h"

static apx_dmat kc_randn(int64_t r, int64_t c, uint64_t seed) {
    apx_dmat A = {0};
    if (apx_dmat_alloc(r, c, &A) == APX_OK) apx_rng_fill_normal(seed, 4, A.data, r * c);
    return A;
}

// X (n,d), y (n,1), Xt (m,d) written as <tag>X.npy, <tag>y.npy, <tag>Xt.npy; out path too
typedef struct {
    apx_dmat X, Y, Xt;
    char x[512], y[512], xt[512], o[512];
} kc_files;

static apx_status kc_setup(kc_files *f, const char *tag, int64_t n, int64_t d, int64_t m,
                           uint64_t seed) {
    char nx[64], ny[64], nt[64], np[64];
    f->X = kc_randn(n, d, seed), f->Y = kc_randn(n, 1, seed + 1), f->Xt = kc_randn(m, d, seed + 2);
    snprintf(nx, sizeof nx, "%sX.npy", tag);
    snprintf(ny, sizeof ny, "%sy.npy", tag);
    snprintf(nt, sizeof nt, "%sXt.npy", tag);
    snprintf(np, sizeof np, "%spred.npy", tag);
    tu_path(f->o, sizeof f->o, np);
    apx_status s = lq_write(f->X, nx, f->x, sizeof f->x);
    if (s == APX_OK) s = lq_write(f->Y, ny, f->y, sizeof f->y);
    return s == APX_OK ? lq_write(f->Xt, nt, f->xt, sizeof f->xt) : s;
}

static void kc_free(kc_files *f) {
    apx_dmat_free(&f->X);
    apx_dmat_free(&f->Y);
    apx_dmat_free(&f->Xt);
}

TEST(cli_kernel_ridge_matches_library) {
    LQ_NEED_BIN();
    kc_files f;
    REQUIRE_OK(kc_setup(&f, "kc_", 60, 3, 9, 1));
    apx_dmat P = {0}, Pt = {0}, F = {0};
    REQUIRE_OK(apx_dmat_alloc(60, 1, &P));
    REQUIRE_OK(apx_dmat_alloc(9, 1, &Pt));
    apx_kernel k = apx_kernel_default(APX_KERNEL_NTK);
    k.depth = 3;
    apx_kridge_opts ko = apx_kridge_opts_default();
    ko.lambda = 0.01;
    apx_kridge *m = NULL;
    REQUIRE_OK(apx_kridge_fit(&k, f.X, f.Y, &ko, &m, NULL));
    REQUIRE_OK(apx_kridge_predict(m, f.X, P));
    REQUIRE_OK(apx_kridge_predict(m, f.Xt, Pt));
    apx_kridge_free(m);
    double s = 0;
    for (int i = 0; i < 60; i++) s += pow(P.data[i] - f.Y.data[i], 2);
    CHECK(lq_run("kernel-ridge '%s' '%s' -k ntk --depth 3 --lambda 0.01 --json", f.x, f.y) == 0);
    CHECK(strstr(lq_out, "\"method\": \"cholesky\"") != NULL);
    CHECK_NEAR(lq_json_num(lq_out, "train_rmse"), sqrt(s / 60), 0, 1e-12);
    CHECK(lq_run("kernel-ridge '%s' '%s' -k ntk -L 3 -l 0.01 -p '%s' -o '%s' -q", f.x, f.y, f.xt,
                 f.o) == 0);
    REQUIRE_OK(apx_npy_read_dmat(f.o, &F));
    REQUIRE(F.rows * F.cols == 9);
    for (int i = 0; i < 9; i++) CHECK(F.data[i] == Pt.data[i]);
    apx_dmat_free(&F);
    CHECK(lq_run("kernel-ridge '%s' '%s' -k ntk -L 3 -l 0.01 -p '%s' --classify -q", f.x, f.y,
                 f.xt) == 0);
    char *line = lq_out;
    for (int i = 0; i < 9; i++) {
        double v = strtod(line, &line);
        CHECK(v == (Pt.data[i] < 0 ? -1 : 1));
    }
    kc_free(&f);
    apx_dmat_free(&P);
    apx_dmat_free(&Pt);
}

TEST(cli_random_features_matches_library) {
    LQ_NEED_BIN();
    kc_files f;
    REQUIRE_OK(kc_setup(&f, "kc_r", 80, 2, 7, 4));
    apx_dmat C = {0}, Pt = {0}, F = {0};
    REQUIRE_OK(apx_dmat_alloc(50, 1, &C));
    REQUIRE_OK(apx_dmat_alloc(7, 1, &Pt));
    apx_rf_opts ro = apx_rf_opts_default();
    ro.band = 3;
    ro.act = APX_ACT_SIGMOID;
    ro.seed = 9;
    apx_rf *p = NULL;
    apx_rf_info info;
    REQUIRE_OK(apx_rf_create(2, 50, &ro, &p));
    REQUIRE_OK(apx_rf_fit(p, f.X, f.Y, 1e-3, -1, C, &info));
    REQUIRE_OK(apx_rf_predict(p, f.Xt, C, Pt));
    apx_rf_free(p);
    CHECK(lq_run("random-features '%s' '%s' -N 50 -A 3 -a sigmoid -l 1e-3 --seed 9 --json", f.x,
                 f.y) == 0);
    CHECK(strstr(lq_out, "\"method\": \"primal\"") != NULL);
    CHECK_NEAR(lq_json_num(lq_out, "train_rmse"), info.train_rmse, 0, 1e-10);
    CHECK(lq_run("random-features '%s' '%s' -N 50 -A 3 -a sigmoid -l 1e-3 --seed 9 -p '%s' "
                 "-o '%s' -q", f.x, f.y, f.xt, f.o) == 0);
    REQUIRE_OK(apx_npy_read_dmat(f.o, &F));
    REQUIRE(F.rows * F.cols == 7);
    for (int i = 0; i < 7; i++) CHECK(F.data[i] == Pt.data[i]);
    apx_dmat_free(&F);
    kc_free(&f);
    apx_dmat_free(&C);
    apx_dmat_free(&Pt);
}

TEST(cli_kernel_errors) {
    LQ_NEED_BIN();
    apx_dmat X = kc_randn(20, 2, 7), Y = kc_randn(19, 1, 8), Yg = kc_randn(20, 1, 9);
    char x[512], y[512], yg[512], miss[512];
    REQUIRE_OK(lq_write(X, "kc_eX.npy", x, sizeof x));
    REQUIRE_OK(lq_write(Y, "kc_ey.npy", y, sizeof y));
    REQUIRE_OK(lq_write(Yg, "kc_eyg.npy", yg, sizeof yg));
    tu_path(miss, sizeof miss, "kc_missing.npy");
    CHECK(lq_run("kernel-ridge '%s' '%s' --kernel gauss", x, yg) == 2);
    CHECK(strstr(lq_err, "unknown kernel") != NULL);
    CHECK(lq_run("kernel-ridge '%s' '%s' --activation gelu", x, yg) == 2);
    CHECK(lq_run("kernel-ridge '%s' '%s' --lambda -1", x, yg) == 2);
    CHECK(lq_run("kernel-ridge '%s'", x) == 2);
    CHECK(lq_run("kernel-ridge '%s' '%s'", x, miss) == 3);
    CHECK(lq_run("kernel-ridge '%s' '%s'", x, y) == 3);
    CHECK(strstr(lq_err, "rows") != NULL);
    CHECK(lq_run("kernel-ridge '%s' '%s' -k arccos --degree 2", x, yg) == 1);
    CHECK(strstr(lq_err, "degree") != NULL);
    CHECK(lq_run("random-features '%s' '%s' --features 0", x, yg) == 2);
    CHECK(lq_run("random-features '%s' '%s' --kind cauchy", x, yg) == 2);
    CHECK(lq_run("random-features '%s' '%s' --band 0", x, yg) == 1);
    CHECK(strstr(lq_err, "band") != NULL);
    CHECK(lq_run("random-features '%s' '%s' -p '%s'", x, yg, miss) == 3);
    CHECK(lq_run("random-features --help") == 0);
    CHECK(strstr(lq_out, "--band") != NULL);
    apx_dmat_free(&X);
    apx_dmat_free(&Y);
    apx_dmat_free(&Yg);
}
