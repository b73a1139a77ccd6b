/* tests/regress/test_nav.c: the NAV light-curve model and fits of P085, and trigonometric
 * polynomial fits. References: the analytic Jacobian against central differences; noise-free
 * NAV and TP data (the fit must return the generating parameters); the catalog check on a
 * synthetic Algol light curve (400 points, half-width 0.05, Gaussian noise, fixed seeds). */
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "apx/regress.h"

// an Algol: deep primary, shallow secondary, small reflection/ellipsoidal terms (magnitudes)
static const double truth[12] = {10.0, 0.02,  0.005, 0.012, -0.003, 0.8,
                                 0.15, 0.05,  1.6,   1.3,   2.5,    1000.3};

// n times uniform in [1000, 1100) and magnitudes with noise sigma (stream `seed`)
static void algol(int64_t n, double sigma, uint64_t seed, double *t, double *y) {
    apx_rng_fill_uniform(seed, 0, t, n);
    for (int64_t i = 0; i < n; i++) t[i] = 1000 + 100 * t[i];
    apx_nav_model(t, n, truth, y, NULL);
    double *e = malloc(sizeof(double) * (size_t)n);
    apx_rng_fill_normal(seed, 1, e, n);
    for (int64_t i = 0; i < n; i++) y[i] += sigma * e[i];
    free(e);
}

TEST(nav_jacobian_vs_differences) {
    enum { N = 200 };
    double t[N], J[N * 12], mp[N], mm[N], m0[N], p[12];
    apx_rng_fill_uniform(3, 0, t, N);
    for (int i = 0; i < N; i++) t[i] = 1000 + 10 * t[i];
    memcpy(p, truth, sizeof p);
    p[7] = 0.12; // wider eclipses: more points inside them
    REQUIRE_OK(apx_nav_model(t, N, p, m0, J));
    for (int k = 0; k < 12; k++) {
        // T0's natural scale is the period, not its magnitude
        double q[12], h = 1e-6 * (k == 11 ? p[10] : fmax(fabs(p[k]), 1e-2));
        memcpy(q, p, sizeof q);
        q[k] = p[k] + h;
        REQUIRE_OK(apx_nav_model(t, N, q, mp, NULL));
        q[k] = p[k] - h;
        REQUIRE_OK(apx_nav_model(t, N, q, mm, NULL));
        double worst = 0, scale = 0;
        for (int i = 0; i < N; i++) {
            worst = fmax(worst, fabs((mp[i] - mm[i]) / (2 * h) - J[i * 12 + k]));
            scale = fmax(scale, fabs(J[i * 12 + k]));
        }
        // central differences: O(h^2) truncation plus eps/h rounding on |m| ~ 10
        if (worst > 1e-6 * fmax(scale, 1)) printf("  parameter %d: %g (scale %g)\n", k, worst, scale);
        CHECK(worst <= 1e-6 * fmax(scale, 1));
    }
}

TEST(nav_fit_noise_free_exact) {
    enum { N = 300 };
    double t[N], y[N], p[12], err[12];
    algol(N, 0, 5, t, y);
    apx_nav_opts o = apx_nav_opts_default();
    o.lm.ftol = o.lm.xtol = o.lm.gtol = 1e-14;
    apx_nav_info info;
    REQUIRE_OK(apx_nav_fit(t, y, NULL, N, truth[10], truth[11], &o, p, err, &info));
    for (int k = 0; k < 10; k++) CHECK_NEAR(p[k], truth[k], 1e-7, 1e-7);
    CHECK(p[10] == truth[10] && p[11] == truth[11] && err[10] == 0 && err[11] == 0);
    CHECK(info.nparams == 10 && info.rms < 1e-9);
}

TEST(nav_catalog_check_p085) {
    // P085: synthetic Algol, 400 points, half-width 0.05, noise sigma: the NAV fit recovers
    // the parameters within 3 estimated sigmas with residual RMS within 5% of sigma; a TP
    // with <= 12 parameters has RMS > 1.5 sigma; BIC prefers NAV over the best TP
    enum { N = 400, SMAX = 60 };
    const double sigma = 0.01;
    double t[N], y[N], p[12], err[12], coef[2 * SMAX + 1];
    algol(N, sigma, 2024, t, y);
    apx_nav_info nav;
    REQUIRE_OK(apx_nav_fit(t, y, NULL, N, truth[10], truth[11], NULL, p, err, &nav));
    for (int k = 0; k < 10; k++) {
        if (!(fabs(p[k] - truth[k]) <= 3 * err[k]))
            printf("  C%d = %.6g, true %.6g, error %.3g\n", k + 1, p[k], truth[k], err[k]);
        CHECK(fabs(p[k] - truth[k]) <= 3 * err[k]);
    }
    printf("  NAV: rms/sigma = %.4f, BIC %.1f\n", nav.rms / sigma, nav.bic);
    CHECK(fabs(nav.rms - sigma) <= 0.05 * sigma);
    apx_tp_info tp;
    REQUIRE_OK(apx_tp_fit(t, y, NULL, N, truth[10], truth[11], 5, coef, &tp)); // 11 params
    printf("  TP order 5: rms/sigma = %.2f\n", tp.rms / sigma);
    CHECK(tp.rms > 1.5 * sigma);
    REQUIRE_OK(apx_tp_select(t, y, NULL, N, truth[10], truth[11], SMAX, APX_TP_BIC, 0, coef,
                             &tp));
    printf("  best TP by BIC: order %d (%d params), rms/sigma = %.3f, BIC %.1f\n", tp.order,
           2 * tp.order + 1, tp.rms / sigma, tp.bic);
    CHECK(nav.bic < tp.bic);
    // period and epoch fitted too (12 parameters): within 3 sigma as well
    apx_nav_opts o = apx_nav_opts_default();
    o.fit_period = 1;
    REQUIRE_OK(apx_nav_fit(t, y, NULL, N, truth[10] * (1 + 2e-5), truth[11] + 0.002, &o, p,
                           err, &nav));
    CHECK(nav.nparams == 12);
    for (int k = 0; k < 12; k++) CHECK(fabs(p[k] - truth[k]) <= 3 * err[k]);
}

TEST(nav_fit_weighted_equals_scaled) {
    // constant sigma weights do not change the minimizer; the BIC is that of chi2
    enum { N = 200 };
    double t[N], y[N], s[N], p1[12], p2[12];
    algol(N, 0.01, 9, t, y);
    for (int i = 0; i < N; i++) s[i] = 0.01;
    apx_nav_info i1, i2;
    REQUIRE_OK(apx_nav_fit(t, y, NULL, N, truth[10], truth[11], NULL, p1, NULL, &i1));
    REQUIRE_OK(apx_nav_fit(t, y, s, N, truth[10], truth[11], NULL, p2, NULL, &i2));
    for (int k = 0; k < 10; k++) CHECK_NEAR(p2[k], p1[k], 1e-6, 1e-6);
    CHECK_NEAR(i2.chi2, i1.chi2 / 1e-4, 0, 1e-6);
}

TEST(tp_fit_exact_and_selection) {
    enum { N = 150 };
    double t[N], y[N], e[N], coef[41];
    const double c3[7] = {1.0, 0.5, -0.25, 0.2, 0.1, -0.3, 0.05};
    apx_rng_fill_uniform(4, 0, t, N);
    apx_rng_fill_normal(4, 1, e, N);
    for (int i = 0; i < N; i++) {
        t[i] = 30 * t[i];
        double u = (t[i] - 0.4) / 1.7, v = c3[0];
        for (int j = 1; j <= 3; j++)
            v += c3[2 * j - 1] * cos(2 * M_PI * j * u) + c3[2 * j] * sin(2 * M_PI * j * u);
        y[i] = v;
    }
    apx_tp_info info;
    REQUIRE_OK(apx_tp_fit(t, y, NULL, N, 1.7, 0.4, 3, coef, &info));
    for (int j = 0; j < 7; j++) CHECK_NEAR(coef[j], c3[j], 1e-12, 0);
    CHECK(info.rms < 1e-12 && info.order == 3);
    for (int i = 0; i < N; i++) y[i] += 0.02 * e[i];
    REQUIRE_OK(apx_tp_select(t, y, NULL, N, 1.7, 0.4, 20, APX_TP_BIC, 0, coef, &info));
    CHECK(info.order == 3);
    REQUIRE_OK(apx_tp_select(t, y, NULL, N, 1.7, 0.4, 20, APX_TP_FISHER, 0.01, coef, &info));
    CHECK(info.order == 3);
    for (int j = 7; j < 41; j++) CHECK(coef[j] == 0);
}

TEST(nav_tp_bad_input) {
    double t[20], y[20], p[12], c[41], s[20];
    for (int i = 0; i < 20; i++) t[i] = i, y[i] = 1, s[i] = 1;
    memcpy(p, truth, sizeof p);
    CHECK_STATUS(apx_nav_model(t, 0, p, y, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_nav_model(NULL, 20, p, y, NULL), APX_EINVAL);
    p[7] = -0.1;
    CHECK_STATUS(apx_nav_model(t, 20, p, y, NULL), APX_EINVAL);
    p[7] = NAN;
    CHECK_STATUS(apx_nav_model(t, 20, p, y, NULL), APX_EINVAL);
    CHECK_STATUS(apx_nav_fit(t, y, NULL, 13, 2.5, 0, NULL, p, NULL, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_nav_fit(t, y, NULL, 20, 0, 0, NULL, p, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_nav_fit(t, y, NULL, 20, 2.5, NAN, NULL, p, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_nav_fit(t, y, NULL, 20, 2.5, 0, NULL, NULL, NULL, NULL), APX_EINVAL);
    // an epoch or period that leaves no digits of phase: refused, not fitted to rounding
    CHECK_STATUS(apx_nav_fit(t, y, NULL, 20, 2.5, 1e300, NULL, p, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_nav_fit(t, y, NULL, 20, 1e-300, 0, NULL, p, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_tp_fit(t, y, NULL, 20, 2.5, -1e300, 2, c, NULL), APX_EINVAL);
    CHECK_STATUS(apx_tp_select(t, y, NULL, 20, 2.5, 1e300, 3, APX_TP_BIC, 0, c, NULL),
                 APX_EINVAL);
    s[3] = 0;
    CHECK_STATUS(apx_nav_fit(t, y, s, 20, 2.5, 0, NULL, p, NULL, NULL), APX_EINVAL);
    y[2] = INFINITY;
    CHECK_STATUS(apx_nav_fit(t, y, NULL, 20, 2.5, 0, NULL, p, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_tp_fit(t, y, NULL, 20, 2.5, 0, 2, c, NULL), APX_EINVAL);
    y[2] = 1;
    apx_nav_opts o = apx_nav_opts_default();
    o.width0 = 0.7;
    CHECK_STATUS(apx_nav_fit(t, y, NULL, 20, 2.5, 0, &o, p, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_tp_fit(t, y, NULL, 20, 2.5, 0, -1, c, NULL), APX_EINVAL);
    CHECK_STATUS(apx_tp_fit(t, y, NULL, 20, 2.5, 0, 10, c, NULL), APX_ESHAPE); // 21 > 20
    CHECK_STATUS(apx_tp_fit(t, y, NULL, 20, 2.5, 0, 2, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_tp_select(t, y, NULL, 20, 2.5, 0, 10, APX_TP_BIC, 0, c, NULL), APX_ESHAPE);
    CHECK_STATUS(apx_tp_select(t, y, NULL, 20, 2.5, 0, 3, APX_TP_FISHER, 1.5, c, NULL),
                 APX_EINVAL);
    CHECK_STATUS(apx_tp_select(t, y, NULL, 20, 2.5, 0, 3, (apx_tp_criterion)7, 0, c, NULL),
                 APX_EINVAL);
}
