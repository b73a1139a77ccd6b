/* tests/cli/test_cli_lightcurve.c: apx lightcurve and apx explain run as programs ($APX_BIN)
 * on files written here; results against the library called directly on the same data;
 * usage errors exit 2, unreadable or malformed input 3; --help names every option. */
#include "apx/regress.h"
#include "test_cli_lstsq.h"

#define run_bin(...) lq_run(__VA_ARGS__)
#define json_num(key) lq_json_num(lq_out, key)

static const double truth[12] = {10.0, 0.02, 0.005, 0.012, -0.003, 0.8,
                                 0.15, 0.05, 1.6,   1.3,   2.5,    1000.3};

// (n, 2) light curve [t, mag] with noise 0.01, and its path
static void write_curve(int64_t n, double *t, double *y, char *path, size_t len) {
    double *D = malloc(sizeof(double) * (size_t)(2 * n)), *e = malloc(sizeof(double) * (size_t)n);
    apx_rng_fill_uniform(77, 0, t, n);
    apx_rng_fill_normal(77, 1, e, n);
    for (int64_t i = 0; i < n; i++) t[i] = 1000 + 100 * t[i];
    apx_nav_model(t, n, truth, y, NULL);
    for (int64_t i = 0; i < n; i++) {
        y[i] += 0.01 * e[i];
        D[2 * i] = t[i], D[2 * i + 1] = y[i];
    }
    tu_path(path, len, "lightcurve.npy");
    apx_npy_write_dmat(path, apx_dmat_view(D, n, 2));
    free(D);
    free(e);
}

TEST(cli_lightcurve_matches_library) {
    TU_NEED_BIN();
    enum { N = 300 };
    double t[N], y[N], p[12], e[12], coef[61];
    char path[512];
    write_curve(N, t, y, path, sizeof path);
    REQUIRE(run_bin("lightcurve '%s' --period 2.5 --epoch 1000.3 --tp-max 30 --json", path) == 0);
    apx_nav_info nav;
    apx_tp_info tp;
    REQUIRE_OK(apx_nav_fit(t, y, NULL, N, 2.5, 1000.3, NULL, p, e, &nav));
    REQUIRE_OK(apx_tp_select(t, y, NULL, N, 2.5, 1000.3, 30, APX_TP_BIC, 0.01, coef, &tp));
    CHECK_NEAR(json_num("C6"), p[5], 1e-12, 1e-9);
    CHECK_NEAR(json_num("width"), p[7], 1e-12, 1e-9);
    CHECK_NEAR(json_num("beta1"), p[8], 1e-12, 1e-9);
    CHECK_NEAR(json_num("order"), tp.order, 0, 0);
    CHECK(strstr(lq_out, "\"preferred\": \"nav\"") != NULL);
    const char *navp = strstr(lq_out, "\"nav\"");
    REQUIRE(navp != NULL);
    CHECK_NEAR(strtod(strstr(navp, "\"bic\": ") + 7, NULL), nav.bic, 1e-9, 1e-12);
    // the text summary and --fit-period
    REQUIRE(run_bin("lightcurve '%s' -P 2.5 --epoch 1000.3 --fit-period", path) == 0);
    CHECK(strstr(lq_out, "NAV (12 parameters)") != NULL && strstr(lq_out, "preferred by BIC: NAV"));
    // -q prints the 10 NAV parameters only, one per line
    REQUIRE(run_bin("lightcurve '%s' --period 2.5 --epoch 1000.3 --tp-max 30 -q", path) == 0);
    char *end = lq_out;
    for (int k = 0; k < 10; k++) CHECK_NEAR(strtod(end, &end), p[k], 1e-12, 1e-9);
    while (*end == '\n') end++;
    CHECK(*end == 0);
}

TEST(cli_lightcurve_errors) {
    TU_NEED_BIN();
    enum { N = 40 };
    double t[N], y[N], D[4 * N] = {0};
    char path[512], bad[512];
    write_curve(N, t, y, path, sizeof path);
    CHECK(run_bin("lightcurve '%s'", path) == 2);                       // --period missing
    CHECK(run_bin("lightcurve '%s' --period -1", path) == 2);
    CHECK(run_bin("lightcurve '%s' --period 2.5 --criterion aic", path) == 2);
    CHECK(run_bin("lightcurve '%s' --period 2.5 --epoch x1", path) == 2);
    CHECK(run_bin("lightcurve /nonexistent/lc.npy --period 2.5") == 3);
    tu_path(bad, sizeof bad, "lightcurve4.npy");
    apx_npy_write_dmat(bad, apx_dmat_view(D, N, 4));
    CHECK(run_bin("lightcurve '%s' --period 2.5", bad) == 3);
    REQUIRE(run_bin("lightcurve --help") == 0);
    const char *names[] = {"--period", "--epoch", "--fit-period", "--tp-max", "--criterion",
                           "--alpha", "--width", "--max-nfev", "--json"};
    for (int i = 0; i < 9; i++) CHECK(strstr(lq_out, names[i]) != NULL);
}

TEST(cli_explain_linear_model) {
    TU_NEED_BIN();
    double w[4] = {0.5, -1.0, 2.0, 0.25}, x0[4] = {1, 2, -1, 0.5}, g[4], b;
    char wp[512], xp[512];
    tu_path(wp, sizeof wp, "explain_w.npy");
    tu_path(xp, sizeof xp, "explain_x0.npy");
    apx_npy_write_vec(wp, w, 4);
    apx_npy_write_vec(xp, x0, 4);
    // linear: vg and clime return w; gxi w * x0
    REQUIRE(run_bin("explain '%s' --x0 '%s' --method clime --bias 0.3 --json", wp, xp) == 0);
    CHECK_NEAR(json_num("f_x0"), 0.3 + 0.5 - 2 - 2 + 0.125, 1e-12, 0);
    const char *arr = strstr(lq_out, "\"w\": [");
    REQUIRE(arr != NULL);
    char *end = (char *)arr + 6;
    for (int j = 0; j < 4; j++) {
        g[j] = strtod(end, &end);
        end++; // the comma
        CHECK_NEAR(g[j], w[j], 1e-10, 0);
    }
    // logistic: the CLI's kernelshap agrees with the library's on the same model
    REQUIRE(run_bin("explain '%s' --x0 '%s' -m vg --logistic --json", wp, xp) == 0);
    double s = 1 / (1 + exp(-(0.5 - 2 - 2 + 0.125)));
    CHECK_NEAR(json_num("f_x0"), s, 1e-12, 0);
    arr = strstr(lq_out, "\"w\": [");
    REQUIRE(arr != NULL);
    CHECK_NEAR(strtod(arr + 6, NULL), w[0] * s * (1 - s), 1e-12, 1e-10);
    // -q still prints the results: w then b, one per line, as --json has them
    REQUIRE(run_bin("explain '%s' --x0 '%s' -m clime --bias 0.3 --json", wp, xp) == 0);
    arr = strstr(lq_out, "\"w\": [");
    REQUIRE(arr != NULL);
    end = (char *)arr + 6;
    for (int j = 0; j < 4; j++) {
        g[j] = strtod(end, &end);
        end++;
    }
    b = json_num("b");
    REQUIRE(run_bin("explain '%s' --x0 '%s' -m clime --bias 0.3 -q", wp, xp) == 0);
    end = lq_out;
    for (int j = 0; j < 4; j++) CHECK_NEAR(strtod(end, &end), g[j], 0, 1e-15);
    char *last = end;
    CHECK_NEAR(strtod(end, &end), b, 1e-15, 1e-15);
    CHECK(end != last);
    REQUIRE(run_bin("explain '%s' --x0 '%s' -m lime --lfa 500 --json", wp, xp) == 0);
    CHECK(json_num("lfa_loss") < 1e-20); // linear f: LIME's masks fit exactly
    CHECK(run_bin("explain '%s' --x0 '%s' -m shap", wp, xp) == 2);
    CHECK(run_bin("explain '%s'", wp) == 2); // --x0 missing
    CHECK(run_bin("explain '%s' --x0 '%s'", wp, wp) == 0);
    CHECK(run_bin("explain '%s' --x0 /nonexistent.npy", wp) == 3);
    double x5[5] = {0};
    tu_path(xp, sizeof xp, "explain_x5.npy");
    apx_npy_write_vec(xp, x5, 5);
    CHECK(run_bin("explain '%s' --x0 '%s'", wp, xp) == 3);
    REQUIRE(run_bin("explain --help") == 0);
    CHECK(strstr(lq_out, "--method") && strstr(lq_out, "--lfa") && strstr(lq_out, "--baseline"));
}
