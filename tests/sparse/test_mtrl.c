/* tests/sparse/test_mtrl.c: active multi-task representation learning via the Lasso
 * (P074): the synthetic model's nu is the exact minimum-l1 representation (brute force over
 * all k-subsets); the stage-2 estimate is the Lasso on the stage-1 heads; the budget
 * allocation; the catalog check (d=50, k=3, M=20, 3 relevant, 20 seeds: support recovered,
 * target excess risk nu1 < nu2 <= uniform at equal budget); determinism; bad input. */
#include <stdlib.h>

#include "../test.h"
#include "apx/sparse.h"

enum { D = 50, K = 3, M = 20 };

/* min ||nu||_1 s.t. W nu = w0 over the basic solutions (k columns at a time), W (3,M):
 * the LP's optimum is attained at one of them. Returns the l1 value, the support in sup. */
static double l1_min_bruteforce(const double *W, const double *w0, int sup[3]) {
    double best = INFINITY;
    for (int a = 0; a < M; a++)
        for (int b = a + 1; b < M; b++)
            for (int c = b + 1; c < M; c++) {
                int S[3] = {a, b, c};
                double A[9], x[3], det;
                for (int r = 0; r < 3; r++)
                    for (int q = 0; q < 3; q++) A[r * 3 + q] = W[r * M + S[q]];
                det = A[0] * (A[4] * A[8] - A[5] * A[7]) - A[1] * (A[3] * A[8] - A[5] * A[6]) +
                      A[2] * (A[3] * A[7] - A[4] * A[6]);
                if (fabs(det) < 1e-12) continue;
                for (int q = 0; q < 3; q++) { /* Cramer's rule */
                    double B[9];
                    memcpy(B, A, sizeof B);
                    for (int r = 0; r < 3; r++) B[r * 3 + q] = w0[r];
                    x[q] = (B[0] * (B[4] * B[8] - B[5] * B[7]) - B[1] * (B[3] * B[8] - B[5] * B[6]) +
                            B[2] * (B[3] * B[7] - B[4] * B[6])) / det;
                }
                double l1 = fabs(x[0]) + fabs(x[1]) + fabs(x[2]);
                if (l1 < best) {
                    best = l1;
                    memcpy(sup, S, sizeof S);
                }
            }
    return best;
}

TEST(mtrl_synth_nu_is_the_l1_minimal_representation) {
    for (uint64_t seed = 1; seed <= 5; seed++) {
        apx_mtrl_synth s;
        REQUIRE_OK(apx_sparse_mtrl_synth_create(D, K, M, 3, 0.3, seed, &s));
        int sup[3];
        double l1 = l1_min_bruteforce(s.W, s.w0, sup), mine = 0;
        for (int m = 0; m < M; m++) mine += fabs(s.nu[m]);
        CHECK_NEAR(l1, mine, 1e-12, 1e-10);
        for (int q = 0; q < 3; q++) CHECK(s.nu[sup[q]] != 0);
        apx_sparse_mtrl_synth_free(&s);
    }
}

typedef struct {
    double nu[M], nu_l2[M], W1[K * M], w0[K], B[D * K], beta0[D];
    int64_t alloc[M];
    apx_mtrl_out out;
} run_out;

static apx_status run(const apx_mtrl_synth *s, apx_mtrl_rule rule, run_out *r,
                      apx_mtrl_info *info) {
    apx_mtrl_opts o = apx_mtrl_opts_default();
    o.rule = rule;
    apx_mtrl_out out = {r->nu, r->nu_l2, r->W1, r->w0, r->alloc, r->B, r->beta0};
    return apx_sparse_mtrl(D, M, apx_sparse_mtrl_synth_sample, (void *)s, &o, &out, info);
}

TEST(mtrl_stage2_lasso_and_allocation) {
    apx_mtrl_synth s;
    REQUIRE_OK(apx_sparse_mtrl_synth_create(D, K, M, 3, 0.3, 3, &s));
    run_out r;
    apx_mtrl_info info;
    REQUIRE_OK(run(&s, APX_MTRL_NU1, &r, &info));
    /* stage 2 is the Lasso on the stage-1 heads */
    apx_enet_opts eo = apx_enet_opts_default();
    eo.fit_intercept = 0;
    eo.tol = apx_mtrl_opts_default().tol;
    double nu[M];
    REQUIRE_OK(apx_sparse_lasso(apx_dmat_view(r.W1, K, M), r.w0, apx_mtrl_opts_default().alpha,
                                &eo, nu, NULL, NULL));
    for (int m = 0; m < M; m++) CHECK(nu[m] == r.nu[m]);
    CHECK(info.samples == M * 100 + 4000 && info.nnz == 3);
    /* budget proportional to |nu| (largest remainders: each share within 1) */
    double tot = 0;
    int64_t sum = 0;
    for (int m = 0; m < M; m++) tot += fabs(r.nu[m]);
    for (int m = 0; m < M; m++) {
        CHECK(fabs((double)r.alloc[m] - 4000.0 * fabs(r.nu[m]) / tot) < 1.0);
        sum += r.alloc[m];
    }
    CHECK(sum == 4000);
    /* orthonormal representation; uniform rule: equal shares */
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            double d = 0;
            for (int i = 0; i < D; i++) d += r.B[i * K + a] * r.B[i * K + b];
            CHECK_NEAR(d, a == b ? 1.0 : 0.0, 1e-12, 0);
        }
    REQUIRE_OK(run(&s, APX_MTRL_UNIFORM, &r, NULL));
    for (int m = 0; m < M; m++) CHECK(r.alloc[m] == 200);
    /* minimum-norm estimate: W1 nu_l2 = w0 */
    REQUIRE_OK(run(&s, APX_MTRL_NU2, &r, NULL));
    for (int t = 0; t < K; t++) {
        double v = 0;
        for (int m = 0; m < M; m++) v += r.W1[t * M + m] * r.nu_l2[m];
        CHECK_NEAR(v, r.w0[t], 1e-10, 1e-10);
    }
    apx_sparse_mtrl_synth_free(&s);
}

/* The catalog's check: d=50, k=3, M=20, 3 relevant, 20 seeds, equal budgets. The orderings
 * are tested on the paired differences (common random numbers: the same stage-1 and
 * target samples for the three rules): nu2 - nu1 must exceed two standard errors;
 * uniform - nu2 must not be below minus two standard errors (<=). */
TEST(mtrl_catalog_support_and_risk_ordering) {
    enum { SEEDS = 20 };
    double risk[3][SEEDS];
    int recovered = 0;
    for (int sd = 0; sd < SEEDS; sd++) {
        apx_mtrl_synth s;
        REQUIRE_OK(apx_sparse_mtrl_synth_create(D, K, M, 3, 0.3, 100 + (uint64_t)sd, &s));
        for (int rule = 0; rule < 3; rule++) {
            run_out r;
            REQUIRE_OK(run(&s, (apx_mtrl_rule)rule, &r, NULL));
            risk[rule][sd] = apx_sparse_mtrl_synth_risk(&s, r.beta0);
            if (rule == 0) {
                int ok = 1;
                for (int m = 0; m < M; m++) ok &= (r.nu[m] != 0) == (s.nu[m] != 0);
                recovered += ok;
            }
        }
        apx_sparse_mtrl_synth_free(&s);
    }
    CHECK(recovered == SEEDS);
    for (int pair = 0; pair < 2; pair++) {
        double m = 0, v = 0;
        for (int sd = 0; sd < SEEDS; sd++) m += (risk[pair + 1][sd] - risk[pair][sd]) / SEEDS;
        for (int sd = 0; sd < SEEDS; sd++) {
            double e = risk[pair + 1][sd] - risk[pair][sd] - m;
            v += e * e / (SEEDS - 1);
        }
        double se = sqrt(v / SEEDS);
        if (pair == 0) CHECK(m > 2 * se);  /* nu1 < nu2 */
        else CHECK(m > -2 * se);           /* nu2 <= uniform */
    }
}

static int bad_sampler(void *ctx, int64_t m, int64_t n, int64_t draw, double *X, double *y) {
    int mode = *(int *)ctx;
    if (mode == 0) return 1;
    for (int64_t i = 0; i < n * D; i++) X[i] = 1.0;
    for (int64_t i = 0; i < n; i++) y[i] = mode == 1 ? NAN : 1.0;
    return 0;
}

TEST(mtrl_deterministic_and_bad_input) {
    apx_mtrl_synth s;
    REQUIRE_OK(apx_sparse_mtrl_synth_create(D, K, M, 2, 0.3, 9, &s));
    run_out a, b;
    REQUIRE_OK(run(&s, APX_MTRL_NU1, &a, NULL));
    REQUIRE_OK(run(&s, APX_MTRL_NU1, &b, NULL));
    CHECK(memcmp(a.beta0, b.beta0, sizeof a.beta0) == 0);
    apx_mtrl_opts o = apx_mtrl_opts_default(), bad[6];
    CHECK_STATUS(apx_sparse_mtrl(D, M, NULL, &s, &o, NULL, NULL), APX_EINVAL);
    for (int i = 0; i < 6; i++) bad[i] = o;
    bad[0].k = 0;
    bad[1].n_stage1 = D - 1;
    bad[2].n_target = 2;
    bad[3].alpha = -1;
    bad[4].rule = (apx_mtrl_rule)7;
    bad[5].budget = -1;
    for (int i = 0; i < 6; i++)
        CHECK_STATUS(apx_sparse_mtrl(D, M, apx_sparse_mtrl_synth_sample, &s, &bad[i], NULL, NULL),
                     APX_EINVAL);
    CHECK_STATUS(apx_sparse_mtrl(0, M, apx_sparse_mtrl_synth_sample, &s, NULL, NULL, NULL),
                 APX_EINVAL);
    int mode = 0;
    CHECK_STATUS(apx_sparse_mtrl(D, M, bad_sampler, &mode, NULL, NULL, NULL), APX_ECANCELED);
    mode = 1;
    CHECK_STATUS(apx_sparse_mtrl(D, M, bad_sampler, &mode, NULL, NULL, NULL), APX_EINVAL);
    /* sizes whose int64 products wrap around: refused, not a short buffer overrun */
    apx_mtrl_opts huge = o;
    huge.budget = INT64_C(361700864190383366); /* budget (d + 1) = 2^64 + 50 for d = 50 */
    CHECK_STATUS(apx_sparse_mtrl(50, M, apx_sparse_mtrl_synth_sample, &s, &huge, NULL, NULL),
                 APX_ENOMEM);
    huge = o;
    huge.n_stage1 = INT64_C(4611686018427387904), huge.budget = huge.n_stage1;
    CHECK_STATUS(apx_sparse_mtrl(D, M, apx_sparse_mtrl_synth_sample, &s, &huge, NULL, NULL),
                 APX_ENOMEM);
    apx_sparse_mtrl_synth_free(&s);
    apx_mtrl_synth t;
    CHECK_STATUS(apx_sparse_mtrl_synth_create(INT64_C(4294967296), INT64_C(4294967296),
                                              INT64_C(4294967296), 1, 0.3, 1, &t), APX_ENOMEM);
    CHECK_STATUS(apx_sparse_mtrl_synth_create(D, K, M, 4, 0.3, 1, &t), APX_EINVAL);
    CHECK_STATUS(apx_sparse_mtrl_synth_create(D, 0, M, 1, 0.3, 1, &t), APX_EINVAL);
    CHECK_STATUS(apx_sparse_mtrl_synth_create(D, K, M, 3, -1.0, 1, &t), APX_EINVAL);
    CHECK_STATUS(apx_sparse_mtrl_synth_create(D, K, M, 3, 0.3, 1, NULL), APX_EINVAL);
    CHECK(isnan(apx_sparse_mtrl_synth_risk(NULL, a.beta0)));
}
