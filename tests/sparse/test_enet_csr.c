/* tests/sparse/test_enet_csr.c: the elastic net, Lasso, alpha grid and path on CSR designs
 * against the dense solvers on the densified matrix (the reference: the dense engine is
 * itself tested against plain coordinate descent in test_enet.c), with and without an
 * intercept, both update kinds; duplicates and unsorted columns; bad CSR input. */
#include <stdlib.h>

#include "../test.h"
#include "apx/sparse.h"

typedef struct {
    int64_t n, p, nnz;
    int64_t *ip, *ix;
    double *v, *D, *y; /* D (n,p): the densified matrix (duplicates summed) */
} csr_case;

/* Random CSR X (n,p) with about density n p entries, columns in descending order inside
 * each row (unsorted), and one duplicated entry every 7th row; y = X w0 + noise + 2. */
static void make_csr(int64_t n, int64_t p, double density, uint64_t seed, csr_case *c) {
    c->n = n, c->p = p;
    c->ip = calloc((size_t)(n + 1), sizeof(int64_t));
    c->ix = malloc(sizeof(int64_t) * (size_t)(n * p + n));
    c->v = malloc(sizeof(double) * (size_t)(n * p + n));
    c->D = calloc((size_t)(n * p), sizeof(double));
    c->y = malloc(sizeof(double) * (size_t)n);
    double *u = malloc(sizeof(double) * (size_t)(2 * n * p + n));
    apx_rng_fill_uniform(seed, 0, u, n * p);
    apx_rng_fill_normal(seed, 1, u + n * p, n * p + n);
    int64_t q = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = p - 1; j >= 0; j--)
            if (u[i * p + j] < density) {
                c->ix[q] = j;
                c->v[q++] = u[n * p + i * p + j];
            }
        if (i % 7 == 3 && q > c->ip[i]) { /* repeat the row's first entry */
            c->ix[q] = c->ix[c->ip[i]];
            c->v[q++] = 0.5;
        }
        c->ip[i + 1] = q;
        for (int64_t t = c->ip[i]; t < q; t++) c->D[i * p + c->ix[t]] += c->v[t];
    }
    c->nnz = q;
    for (int64_t i = 0; i < n; i++) {
        double s = 2.0 + 0.1 * u[2 * n * p + i];
        for (int64_t j = 0; j < p; j += 9) s += (1.0 + (double)(j % 4)) * c->D[i * p + j];
        c->y[i] = s;
    }
    free(u);
}

static void free_csr(csr_case *c) {
    free(c->ip);
    free(c->ix);
    free(c->v);
    free(c->D);
    free(c->y);
}

static apx_csr view(const csr_case *c) {
    apx_csr A = {c->n, c->p, c->nnz, c->ip, c->ix, c->v};
    return A;
}

/* Same coefficients (to the tolerance the gap allows), support, objective and intercept as
 * the dense solver on the densified matrix. The CSR fit's working-set size goes to
 * *ws_size when not NULL. */
static void compare_fit(const csr_case *c, double alpha, double l1, int intercept, int solver,
                        int64_t *ws_size) {
    apx_enet_opts o = apx_enet_opts_default();
    o.tol = 1e-12;
    o.fit_intercept = intercept;
    o.solver = (apx_enet_solver)solver;
    double *ws = calloc((size_t)(2 * c->p), sizeof(double)), *wd = ws + c->p, bs = 0, bd = 0;
    apx_enet_info is, id;
    REQUIRE_OK(apx_sparse_enet_csr(view(c), c->y, alpha, l1, &o, ws, &bs, &is));
    REQUIRE_OK(apx_sparse_enet(apx_dmat_view(c->D, c->n, c->p), c->y, alpha, l1, &o, wd, &bd,
                               &id));
    CHECK(is.converged && is.gap <= is.gap_tol);
    CHECK_NEAR(is.gap_tol, id.gap_tol, 0, 1e-12);
    CHECK_NEAR(is.primal, id.primal, 1e-13, 1e-9);
    CHECK(is.nnz == id.nnz && is.nnz > 0 && is.nnz < c->p);
    /* n > p, full column rank: the objective is strongly convex, and gaps of 1e-12 relative
     * bound the coefficient error by about 1e-6 of the scale; the iterates agree far better */
    for (int64_t j = 0; j < c->p; j++) {
        CHECK_NEAR(ws[j], wd[j], 1e-8, 1e-7);
        CHECK((ws[j] != 0) == (wd[j] != 0));
    }
    CHECK_NEAR(bs, bd, 1e-8, 1e-7);
    if (!intercept) CHECK(bs == 0.0);
    free(ws);
    if (ws_size) *ws_size = is.ws_size;
}

TEST(enet_csr_matches_dense) {
    csr_case c;
    make_csr(300, 120, 0.06, 7, &c);
    for (int icpt = 0; icpt <= 1; icpt++)
        for (int solver = APX_ENET_GRAM; solver <= APX_ENET_RESIDUAL; solver++) {
            compare_fit(&c, 0.02, 1.0, icpt, solver, NULL);
            compare_fit(&c, 0.03, 0.5, icpt, solver, NULL);
        }
    free_csr(&c);
}

TEST(enet_csr_growing_working_sets_match_dense) {
    /* p = 400 > the smallest working set (100) and a small alpha: the working set and the
     * column cache grow over the rounds, so the sparse Gram is extended by rows (gm > 0) and
     * the in-place residual updates run over several rounds */
    csr_case c;
    make_csr(600, 400, 0.03, 9, &c);
    for (int icpt = 0; icpt <= 1; icpt++)
        for (int solver = APX_ENET_GRAM; solver <= APX_ENET_RESIDUAL; solver++) {
            int64_t nw = 0;
            compare_fit(&c, icpt ? 0.0005 : 0.004, 1.0, icpt, solver, &nw);
            CHECK(nw > 100);
        }
    free_csr(&c);
}

TEST(enet_csr_path_and_grid_match_dense) {
    csr_case c;
    make_csr(200, 60, 0.08, 8, &c);
    enum { K = 6 };
    double as[K], ad[K], bs[K], bd[K], gs[K];
    apx_dmat Cs, Cd;
    REQUIRE_OK(apx_dmat_alloc(K, c.p, &Cs));
    REQUIRE_OK(apx_dmat_alloc(K, c.p, &Cd));
    apx_dmat Y = {c.y, c.n, 1, 1};
    REQUIRE_OK(apx_sparse_alpha_grid_csr(view(&c), c.y, 1.0, 1, 1e-2, K, as));
    REQUIRE_OK(apx_sparse_alpha_grid(apx_dmat_view(c.D, c.n, c.p), Y, 1.0, 1, 1e-2, K, ad));
    for (int k = 0; k < K; k++) CHECK_NEAR(as[k], ad[k], 0, 1e-12);
    apx_enet_opts o = apx_enet_opts_default();
    o.tol = 1e-12;
    REQUIRE_OK(apx_sparse_enet_path_csr(view(&c), c.y, 1.0, as, K, &o, Cs, bs, gs, NULL));
    REQUIRE_OK(apx_sparse_enet_path(apx_dmat_view(c.D, c.n, c.p), c.y, 1.0, as, K, &o, Cd, bd,
                                    NULL, NULL));
    CHECK(tu_max_abs_diff(Cs, Cd) <= 1e-7);
    for (int k = 0; k < K; k++) CHECK_NEAR(bs[k], bd[k], 1e-8, 1e-7);
    for (int64_t j = 0; j < c.p; j++) CHECK(Cs.data[j] == 0.0); /* alpha_max: w = 0 */
    apx_dmat_free(&Cs);
    apx_dmat_free(&Cd);
    free_csr(&c);
}

TEST(enet_csr_empty_columns_and_rows) {
    /* column 1 has no entries and row 2 is empty: the column gets 0 */
    int64_t ip[] = {0, 2, 3, 3, 5}, ix[] = {0, 2, 0, 0, 2};
    double v[] = {1.0, 2.0, -1.0, 3.0, 1.0}, y[] = {1.0, -0.5, 0.2, 2.0}, w[3], b;
    apx_csr A = {4, 3, 5, ip, ix, v};
    apx_enet_info info;
    REQUIRE_OK(apx_sparse_lasso_csr(A, y, 0.01, NULL, w, &b, &info));
    CHECK(w[1] == 0.0);
    double D[12] = {1, 0, 2, -1, 0, 0, 0, 0, 0, 3, 0, 1}, wd[3], bd;
    REQUIRE_OK(apx_sparse_lasso(apx_dmat_view(D, 4, 3), y, 0.01, NULL, wd, &bd, NULL));
    for (int j = 0; j < 3; j++) CHECK_NEAR(w[j], wd[j], 1e-9, 1e-6);
    CHECK_NEAR(b, bd, 1e-9, 1e-6);
}

TEST(enet_csr_bad_input) {
    int64_t ip[] = {0, 2, 3}, ix[] = {0, 1, 1};
    double v[] = {1.0, 2.0, 3.0}, y[] = {1.0, 2.0}, w[2], b;
    apx_csr A = {2, 2, 3, ip, ix, v};
    CHECK_OK(apx_sparse_lasso_csr(A, y, 0.1, NULL, w, &b, NULL));
    int64_t ip_bad[] = {0, 3, 2}; /* decreasing (unsorted) indptr */
    apx_csr B = A;
    B.indptr = ip_bad;
    CHECK_STATUS(apx_sparse_lasso_csr(B, y, 0.1, NULL, w, &b, NULL), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "lasso_csr") && strstr(apx_last_error(), "indptr"));
    int64_t ix_bad[] = {0, 2, 1}; /* column 2 out of range */
    B = A;
    B.indices = ix_bad;
    CHECK_STATUS(apx_sparse_lasso_csr(B, y, 0.1, NULL, w, &b, NULL), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "outside"));
    double v_nan[] = {1.0, NAN, 3.0};
    B = A;
    B.data = v_nan;
    CHECK_STATUS(apx_sparse_enet_csr(B, y, 0.1, 0.5, NULL, w, &b, NULL), APX_EINVAL);
    double y_inf[] = {1.0, INFINITY};
    CHECK_STATUS(apx_sparse_lasso_csr(A, y_inf, 0.1, NULL, w, &b, NULL), APX_EINVAL);
    CHECK_STATUS(apx_sparse_lasso_csr(A, NULL, 0.1, NULL, w, &b, NULL), APX_EINVAL);
    CHECK_STATUS(apx_sparse_lasso_csr(A, y, -1.0, NULL, w, &b, NULL), APX_EINVAL);
    CHECK_STATUS(apx_sparse_lasso_csr(A, y, 0.1, NULL, w, NULL, NULL), APX_EINVAL);
    CHECK_STATUS(apx_sparse_lasso_csr(A, y, 0.1, NULL, NULL, &b, NULL), APX_EINVAL);
    apx_csr E = {0, 2, 0, ip, ix, v};
    CHECK_STATUS(apx_sparse_lasso_csr(E, y, 0.1, NULL, w, &b, NULL), APX_ESHAPE);
    int64_t ip_short[] = {0, 1, 2}; /* indptr[rows] != nnz */
    B = A;
    B.indptr = ip_short;
    CHECK_STATUS(apx_sparse_lasso_csr(B, y, 0.1, NULL, w, &b, NULL), APX_EINVAL);
    double al[3];
    CHECK_STATUS(apx_sparse_alpha_grid_csr(A, y, 0.0, 1, 1e-3, 3, al), APX_EINVAL);
    CHECK_STATUS(apx_sparse_alpha_grid_csr(A, NULL, 1.0, 1, 1e-3, 3, al), APX_EINVAL);
    double yc[] = {1.0, 1.0}; /* constant y: no path */
    CHECK_STATUS(apx_sparse_alpha_grid_csr(A, yc, 1.0, 1, 1e-3, 3, al), APX_EINVAL);
    apx_dmat C;
    REQUIRE_OK(apx_dmat_alloc(2, 2, &C));
    double alphas[] = {0.1, NAN};
    CHECK_STATUS(apx_sparse_enet_path_csr(A, y, 1.0, alphas, 2, NULL, C, NULL, NULL, NULL),
                 APX_EINVAL);
    alphas[1] = 0.05;
    CHECK_STATUS(apx_sparse_enet_path_csr(B, y, 1.0, alphas, 2, NULL, C, NULL, NULL, NULL),
                 APX_EINVAL);
    CHECK_OK(apx_sparse_enet_path_csr(A, y, 1.0, alphas, 2, NULL, C, NULL, NULL, NULL));
    apx_dmat_free(&C);
}

TEST(csr_from_coo_matches_dense) {
    /* triplets in scrambled order with one duplicate: the CSR matvec equals the dense one */
    int64_t ri[] = {2, 0, 1, 2, 0, 2}, ci[] = {1, 3, 0, 1, 0, 3};
    double v[] = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, D[12] = {0}, x[4] = {1, -2, 3, 0.5};
    for (int t = 0; t < 6; t++) D[ri[t] * 4 + ci[t]] += v[t];
    int64_t ip[4], ix[6];
    double dv[6], y[3];
    REQUIRE_OK(apx_csr_from_coo(3, 4, 6, ri, ci, v, ip, ix, dv));
    apx_csr A = {3, 4, 6, ip, ix, dv};
    REQUIRE_OK(apx_csr_validate(A));
    CHECK(ip[0] == 0 && ip[1] == 2 && ip[2] == 3 && ip[3] == 6);
    REQUIRE_OK(apx_csr_matvec(A, x, y));
    for (int i = 0; i < 3; i++) {
        double s = 0;
        for (int j = 0; j < 4; j++) s += D[i * 4 + j] * x[j];
        CHECK_NEAR(y[i], s, 1e-15, 1e-15);
    }
    ri[3] = 3;
    CHECK_STATUS(apx_csr_from_coo(3, 4, 6, ri, ci, v, ip, ix, dv), APX_EINVAL);
    CHECK_STATUS(apx_csr_from_coo(-1, 4, 6, ri, ci, v, ip, ix, dv), APX_EINVAL);
    CHECK_STATUS(apx_csr_from_coo(3, 4, 6, ri, ci, v, NULL, ix, dv), APX_EINVAL);
}
