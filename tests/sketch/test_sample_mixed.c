/* tests/sketch/test_sample_mixed.c: P007's leverage + sensitivity mixture for p > 2
 * (APX_SAMPLE_MIXED): its scores are the sum of the normalized leverage and l_3 sensitivity
 * distributions (rebuilt here from the two public score functions), and l_3 regression on a
 * mixed sample reaches (1 + 0.2) OPT on a coherent matrix where a uniform sample of the
 * same size does not; p <= 2 is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "apx/regress.h"
#include "apx/sketch.h"

enum { MN = 600, MD = 4, SEEDS = 7 };

/* C = [A b] (MN, MD+1): Gaussian A whose last column is non-zero only in rows 0 and 1 (weight
 * 40), b = A (1, .., 1, 15) + uniform noise in [-1, 1]. A sample without rows 0 and 1 cannot
 * fit the last coefficient. */
static apx_status mixed_problem(apx_dmat *C) {
    apx_status st = apx_dmat_alloc(MN, MD + 1, C);
    if (st != APX_OK) return st;
    double *g = malloc(sizeof(double) * (size_t)(MN * (MD + 1)));
    if (!g) return APX_ENOMEM;
    apx_rng_fill_normal(31, 0, g, MN * MD);
    apx_rng_fill_uniform(31, 1, g + MN * MD, MN);
    for (int64_t i = 0; i < MN; i++) {
        double *c = C->data + i * (MD + 1), y = 0;
        for (int64_t t = 0; t < MD; t++) c[t] = g[i * MD + t];
        c[MD - 1] = i < 2 ? 40.0 + c[MD - 1] : 0.0;
        for (int64_t t = 0; t < MD; t++) y += c[t] * (t == MD - 1 ? 15.0 : 1.0);
        c[MD] = y + 2.0 * g[MN * MD + i] - 1.0;
    }
    free(g);
    return APX_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The l_3 cost ratio to opt of the regression on a sample drawn from the scores sc. */
static double ratio_of(apx_dmat A, const double *b, const double *sc, double m, uint64_t seed,
                       double opt, int64_t *idx, double *wt) {
    int64_t kept = 0;
    double x[MD];
    apx_sampled_lp_info inf;
    if (apx_sketch_sample_rows(sc, MN, m, seed, idx, wt, &kept) != APX_OK || kept < MD)
        return INFINITY;
    apx_status st = apx_sketch_lp_regress_sample(A, b, 3.0, idx, wt, kept, x, &inf);
    return st == APX_OK || st == APX_ENOCONV ? inf.cost / opt : INFINITY;
}

TEST(sample_mixed_p3_regression_beats_uniform) {
    apx_dmat C;
    REQUIRE_OK(mixed_problem(&C));
    apx_dmat A = {C.data, MN, MD, MD + 1};
    double *b = malloc(sizeof(double) * MN * 6), *tau = b + MN, *s = tau + MN, *sc = s + MN,
           *wt = sc + MN, *wt2 = wt + MN, x[MD];
    int64_t *idx = malloc(sizeof(int64_t) * MN * 2), *idx2 = idx + MN, kept, kept2;
    REQUIRE(b && idx);
    for (int64_t i = 0; i < MN; i++) b[i] = C.data[i * (MD + 1) + MD];
    /* OPT: all rows with weight 1 */
    for (int64_t i = 0; i < MN; i++) idx[i] = i, wt[i] = 1.0;
    apx_sampled_lp_info full;
    REQUIRE_OK(apx_sketch_lp_regress_sample(A, b, 3.0, idx, wt, MN, x, &full));
    /* the mixture from its two parts, on [A b] as apx_sketch_sampled_lp_regress samples */
    double st = 0, ss = 0;
    REQUIRE_OK(apx_sketch_leverage_scores(C, APX_LEVERAGE_EXACT, NULL, tau, NULL));
    apx_sensitivity_info si;
    REQUIRE_OK(apx_sketch_lp_sensitivities(C, 3.0, NULL, s, &si));
    for (int64_t i = 0; i < MN; i++) st += tau[i], ss += s[i];
    for (int64_t i = 0; i < MN; i++) sc[i] = tau[i] / st + s[i] / ss;
    const double m = 60;
    REQUIRE_OK(apx_sketch_sample(C, APX_SAMPLE_MIXED, m, 3.0, 5, idx, wt, &kept));
    REQUIRE_OK(apx_sketch_sample_rows(sc, MN, m, 5, idx2, wt2, &kept2));
    REQUIRE(kept == kept2);
    for (int64_t t = 0; t < kept; t++) {
        CHECK(idx[t] == idx2[t]);
        CHECK_NEAR(wt[t], wt2[t], 0, 1e-12);
    }
    double rm[SEEDS], ru[SEEDS];
    for (int64_t i = 0; i < MN; i++) s[i] = 1.0; /* uniform scores */
    for (int t = 0; t < SEEDS; t++) {
        rm[t] = ratio_of(A, b, sc, m, (uint64_t)t, full.cost, idx, wt);
        ru[t] = ratio_of(A, b, s, m, (uint64_t)t, full.cost, idx, wt);
    }
    qsort(rm, SEEDS, sizeof(double), cmp_double);
    qsort(ru, SEEDS, sizeof(double), cmp_double);
    CHECK(rm[SEEDS - 1] <= 1.2);  /* every mixed sample: cost <= (1 + 0.2) OPT */
    CHECK(ru[SEEDS / 2] > 1.5);   /* the median uniform sample of the same size misses rows 0, 1 */
    /* the same pipeline in one call */
    apx_sampled_lp_info one;
    REQUIRE_OK(apx_sketch_sampled_lp_regress(A, b, 3.0, APX_SAMPLE_MIXED, m, 2, x, &one));
    CHECK(one.cost <= 1.2 * full.cost && one.kept >= MD);
    printf("  l3 regression N=%d d=%d: S = %.3f, m = %.0f, mixed cost ratio max %.4f, uniform "
           "median %.3f\n", MN, MD + 1, si.total, m, rm[SEEDS - 1], ru[SEEDS / 2]);
    free(b);
    free(idx);
    apx_dmat_free(&C);
}

TEST(sample_mixed_bad_input) {
    apx_dmat C;
    REQUIRE_OK(mixed_problem(&C));
    int64_t idx[MN], kept;
    double wt[MN], x[MD], b[MN] = {0};
    apx_dmat A = {C.data, MN, MD, MD + 1};
    CHECK_STATUS(apx_sketch_sample(C, APX_SAMPLE_MIXED, 50, 2.0, 1, idx, wt, &kept), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "mixed") && strstr(apx_last_error(), "p > 2"));
    CHECK_STATUS(apx_sketch_sample(C, APX_SAMPLE_MIXED, 50, 1.0, 1, idx, wt, &kept), APX_EINVAL);
    CHECK_STATUS(apx_sketch_sample(C, APX_SAMPLE_MIXED, 50, INFINITY, 1, idx, wt, &kept),
                 APX_EINVAL);
    CHECK_STATUS(apx_sketch_sample(C, APX_SAMPLE_MIXED, 0.5, 3.0, 1, idx, wt, &kept), APX_EINVAL);
    CHECK_STATUS(apx_sketch_sampled_lp_regress(A, b, 1.5, APX_SAMPLE_MIXED, 50, 1, x, NULL),
                 APX_EINVAL);
    apx_sample_method meth;
    REQUIRE_OK(apx_sample_method_parse("mixed", &meth));
    CHECK(meth == APX_SAMPLE_MIXED && !strcmp(apx_sample_method_name(meth), "mixed"));
    apx_dmat_free(&C);
}
