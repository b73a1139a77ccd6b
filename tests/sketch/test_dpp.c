/* tests/sketch/test_dpp.c: projection DPP and volume sampling against their exact
 * distributions on small ground sets (chi-square over every subset), the Legendre basis, the
 * weighted least-squares fit, and the four catalog checks of P001 (Legendre m = 10,
 * f = 1/(1+25x^2), 200 Monte-Carlo trials each, fixed seeds). */
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "apx/la.h"
#include "apx/sketch.h"

/* Chi-square critical values at p = 0.001 for the degrees of freedom used below. */
#define CHI2_14 36.123
#define CHI2_19 43.820

/* Gauss-Legendre nodes and weights on [-1,1] (weights sum to 2) by Newton's method on P_n. */
static void gauss_legendre(int n, double *x, double *w) {
    for (int i = 0; i < n; i++) {
        double z = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = z;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
                p0 = p1, p1 = p2;
            }
            dp = n * (z * p1 - p0) / (z * z - 1);
            double dz = p1 / dp;
            z -= dz;
            if (fabs(dz) < 1e-16) break;
        }
        x[i] = z;
        w[i] = 2 / ((1 - z * z) * dp * dp);
    }
}

/* n Gauss-Legendre nodes x, weights w and the basis Phi (n,m) there (allocated). */
static apx_status legendre_at_gauss(int n, int64_t m, double *x, double *w, apx_dmat *Phi) {
    gauss_legendre(n, x, w);
    apx_status st = apx_dmat_alloc(n, m, Phi);
    return st == APX_OK ? apx_sketch_legendre(x, n, *Phi) : st;
}

static double chi_square(const double *count, const double *expect, int k) {
    double c = 0;
    for (int i = 0; i < k; i++) c += (count[i] - expect[i]) * (count[i] - expect[i]) / expect[i];
    return c;
}

/* ---------------------------------------------------------------- finite DPP and volume */

static double det2(const double *a, const double *b) { return a[0] * b[1] - a[1] * b[0]; }

TEST(dpp_finite_matches_det_squared) {
    apx_dmat G, U, R;
    REQUIRE_OK(apx_dmat_alloc(6, 2, &G));
    REQUIRE_OK(apx_dmat_alloc(6, 2, &U));
    REQUIRE_OK(apx_dmat_alloc(2, 2, &R));
    apx_rng_fill_normal(3, 0, G.data, 12);
    REQUIRE_OK(apx_la_qr(G, U, R));
    double expect[15], count[15] = {0};
    int pair[6][6], k = 0;
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++) {
            double d = det2(U.data + 2 * i, U.data + 2 * j);
            pair[i][j] = pair[j][i] = k;
            expect[k++] = d * d; // P(S) = det(U_S)^2, summing to 1 (Cauchy-Binet)
        }
    double tot = 0;
    for (int q = 0; q < 15; q++) tot += expect[q];
    CHECK_NEAR(tot, 1.0, 1e-14, 0);
    const int draws = 20000;
    for (int t = 0; t < draws; t++) {
        int64_t idx[2];
        REQUIRE_OK(apx_sketch_dpp_sample(U, (uint64_t)t, idx));
        REQUIRE(idx[0] != idx[1] && idx[0] >= 0 && idx[0] < 6 && idx[1] >= 0 && idx[1] < 6);
        count[pair[idx[0]][idx[1]]] += 1;
    }
    for (int q = 0; q < 15; q++) expect[q] *= draws;
    double c = chi_square(count, expect, 15);
    CHECK(c < CHI2_14);
    printf("  dpp (6 rows, m = 2): chi-square %.2f over 15 subsets (critical %.2f)\n", c,
           CHI2_14);
    apx_dmat_free(&G);
    apx_dmat_free(&U);
    apx_dmat_free(&R);
}

static double det_gram(apx_dmat A, const int *S, int k) { // det(A_S^T A_S), 2 columns
    double g00 = 0, g01 = 0, g11 = 0;
    for (int t = 0; t < k; t++) {
        const double *a = A.data + S[t] * A.ld;
        g00 += a[0] * a[0], g01 += a[0] * a[1], g11 += a[1] * a[1];
    }
    return g00 * g11 - g01 * g01;
}

TEST(volume_sampling_matches_det_gram) {
    apx_dmat A;
    REQUIRE_OK(apx_dmat_alloc(6, 2, &A));
    apx_rng_fill_normal(5, 0, A.data, 12);
    A.data[0] *= 4, A.data[1] *= 4; // one heavy row
    double expect[20], count[20] = {0}, incl[6] = {0}, pi[6] = {0};
    int code[64], k = 0;
    for (int mask = 0; mask < 64; mask++) {
        if (__builtin_popcount(mask) != 3) continue;
        int S[3], s = 0;
        for (int i = 0; i < 6; i++)
            if (mask >> i & 1) S[s++] = i;
        expect[k] = det_gram(A, S, 3);
        code[mask] = k++;
    }
    double tot = 0;
    for (int q = 0; q < 20; q++) tot += expect[q];
    const int draws = 20000;
    double wsum[6] = {0};
    for (int t = 0; t < draws; t++) {
        int64_t idx[3];
        double wt[3];
        REQUIRE_OK(apx_sketch_volume_sample(A, 3, (uint64_t)t, idx, wt));
        int mask = (1 << idx[0]) | (1 << idx[1]) | (1 << idx[2]);
        REQUIRE(__builtin_popcount(mask) == 3);
        count[code[mask]] += 1;
        for (int q = 0; q < 3; q++) incl[idx[q]] += 1, wsum[idx[q]] = wt[q];
    }
    for (int q = 0; q < 20; q++) expect[q] *= draws / tot;
    double c = chi_square(count, expect, 20);
    CHECK(c < CHI2_19);
    // inclusion probabilities: exact sums over the subsets, and the weights are 1/pi
    for (int mask = 0; mask < 64; mask++)
        if (__builtin_popcount(mask) == 3)
            for (int i = 0; i < 6; i++)
                if (mask >> i & 1) pi[i] += expect[code[mask]] / draws;
    for (int i = 0; i < 6; i++) {
        CHECK_NEAR(wsum[i], 1.0 / pi[i], 0, 1e-10);
        double sd = sqrt(pi[i] * (1 - pi[i]) / draws);
        CHECK(fabs(incl[i] / draws - pi[i]) < 5 * sd);
    }
    printf("  volume (6 rows, m = 2, k = 3): chi-square %.2f over 20 subsets (critical %.2f)\n",
           c, CHI2_19);
    apx_dmat_free(&A);
}

TEST(dpp_volume_bad_input) {
    apx_dmat A;
    REQUIRE_OK(apx_dmat_alloc(6, 2, &A));
    apx_rng_fill_normal(5, 0, A.data, 12);
    int64_t idx[6];
    double wt[6];
    CHECK_STATUS(apx_sketch_dpp_sample(A, 0, idx), APX_EINVAL); // not orthonormal
    CHECK_STATUS(apx_sketch_dpp_sample(A, 0, NULL), APX_EINVAL);
    apx_dmat wide = {A.data, 2, 3, 3};
    CHECK_STATUS(apx_sketch_dpp_sample(wide, 0, idx), APX_ESHAPE);
    CHECK_STATUS(apx_sketch_volume_sample(A, 1, 0, idx, wt), APX_EINVAL);
    CHECK_STATUS(apx_sketch_volume_sample(A, 7, 0, idx, wt), APX_EINVAL);
    CHECK_STATUS(apx_sketch_volume_sample(wide, 2, 0, idx, wt), APX_ESHAPE);
    for (int i = 0; i < 6; i++) A.data[2 * i + 1] = 3 * A.data[2 * i];
    CHECK_STATUS(apx_sketch_volume_sample(A, 3, 0, idx, wt), APX_ENUMERIC);
    A.data[3] = NAN;
    CHECK_STATUS(apx_sketch_volume_sample(A, 3, 0, idx, wt), APX_EINVAL);
    apx_dmat_free(&A);
}

/* ---------------------------------------------------------------- Legendre and the fit */

TEST(legendre_basis_closed_forms_and_orthonormality) {
    double x[40], w[40];
    apx_dmat Phi;
    REQUIRE_OK(legendre_at_gauss(40, 12, x, w, &Phi));
    for (int i = 0; i < 40; i++) {
        double t = x[i], *p = Phi.data + i * 12;
        CHECK_NEAR(p[0], 1.0, 0, 0);
        CHECK_NEAR(p[2], sqrt(5.0) * (3 * t * t - 1) / 2, 1e-14, 1e-14);
        CHECK_NEAR(p[3], sqrt(7.0) * (5 * t * t * t - 3 * t) / 2, 1e-14, 1e-14);
    }
    for (int a = 0; a < 12; a++) // Gauss-Legendre with 40 nodes is exact to degree 79
        for (int b = 0; b < 12; b++) {
            double s = 0;
            for (int i = 0; i < 40; i++) s += 0.5 * w[i] * Phi.data[i * 12 + a] * Phi.data[i * 12 + b];
            CHECK_NEAR(s, a == b, 1e-13, 0);
        }
    double bad = 1.5;
    CHECK_STATUS(apx_sketch_legendre(&bad, 1, apx_dmat_view(Phi.data, 1, 12)), APX_EINVAL);
    CHECK_STATUS(apx_sketch_legendre(NULL, 1, apx_dmat_view(Phi.data, 1, 12)), APX_EINVAL);
    CHECK_STATUS(apx_sketch_legendre(x, 2, apx_dmat_view(Phi.data, 1, 12)), APX_ESHAPE);
    apx_dmat_free(&Phi);
}

static double poly_in_vm(void *ctx, double x) { // degree 5 < m: WLS reproduces it exactly
    (void)ctx;
    return 1 - 2 * x + 0.5 * x * x * x - x * x * x * x * x;
}

TEST(wls_fit_reproduces_v_m_every_sampler) {
    double c[8], x[64], w[64], ref[8];
    // reference coefficients by Gauss-Legendre quadrature (exact for degree 5 + 7)
    double gx[20], gw[20];
    apx_dmat G;
    REQUIRE_OK(legendre_at_gauss(20, 8, gx, gw, &G));
    for (int j = 0; j < 8; j++) {
        ref[j] = 0;
        for (int i = 0; i < 20; i++) ref[j] += 0.5 * gw[i] * poly_in_vm(NULL, gx[i]) * G.data[i * 8 + j];
    }
    for (int s = 0; s < APX_WLS_COUNT; s++) {
        apx_wls_opts o = apx_wls_opts_default();
        o.sampler = (apx_wls_sampler)s, o.seed = 4;
        apx_wls_info info;
        REQUIRE_OK(apx_sketch_wls_legendre(8, poly_in_vm, NULL, &o, c, &info));
        CHECK(info.points == apx_wls_count(8, &o) && isfinite(info.gram_cond));
        for (int j = 0; j < 8; j++) CHECK_NEAR(c[j], ref[j], 1e-9, 1e-9);
        REQUIRE_OK(apx_sketch_wls_points(8, &o, x, w, NULL));
        for (int i = 0; i < info.points; i++) {
            double K = 0;
            REQUIRE_OK(apx_sketch_legendre(&x[i], 1, apx_dmat_view(c, 1, 8)));
            for (int j = 0; j < 8; j++) K += c[j] * c[j];
            CHECK_NEAR(w[i], 8.0 / K, 0, 1e-14);
        }
    }
    apx_dmat_free(&G);
}

TEST(wls_grid_weights_are_basis_independent) {
    // a grid of 2001 points with mu = 1/G, the space of polynomials of degree < 6 given by
    // monomials: the weights must be m mu / (sum_j psi_j(x)^2 mu) for the discrete
    // orthonormal basis psi, i.e. m / K_G(x,x), the same whatever basis spans the space
    enum { G = 2001, M = 6 };
    apx_dmat Phi, Leg, Q, R;
    REQUIRE_OK(apx_dmat_alloc(G, M, &Phi));
    REQUIRE_OK(apx_dmat_alloc(G, M, &Leg));
    REQUIRE_OK(apx_dmat_alloc(G, M, &Q));
    REQUIRE_OK(apx_dmat_alloc(M, M, &R));
    double *xs = malloc(sizeof(double) * G);
    for (int g = 0; g < G; g++) {
        xs[g] = -1 + 2.0 * g / (G - 1);
        for (int j = 0; j < M; j++) Phi.data[g * M + j] = pow(xs[g], j);
    }
    REQUIRE_OK(apx_sketch_legendre(xs, G, Leg));
    REQUIRE_OK(apx_la_qr(Leg, Q, R)); // discrete orthonormal basis of the same space
    for (int s = 0; s < APX_WLS_COUNT; s++) {
        apx_wls_opts o = apx_wls_opts_default();
        o.sampler = (apx_wls_sampler)s, o.seed = 9, o.n = 20;
        int64_t idx[20];
        double w[20];
        REQUIRE_OK(apx_sketch_wls_grid_points(Phi, NULL, &o, idx, w, NULL));
        for (int i = 0; i < apx_wls_count(M, &o); i++) {
            double q2 = 0;
            for (int j = 0; j < M; j++) q2 += Q.data[idx[i] * M + j] * Q.data[idx[i] * M + j];
            CHECK_NEAR(w[i], (double)M / G / q2, 0, 1e-9);
        }
        if (s == APX_WLS_DPP) // distinct points
            for (int i = 0; i < M; i++)
                for (int j = i + 1; j < M; j++) CHECK(idx[i] != idx[j]);
    }
    double mu[3] = {0.5, 0.5, 0.5};
    int64_t idx[64];
    double w[64];
    CHECK_STATUS(apx_sketch_wls_grid_points(apx_dmat_view(Phi.data, 3, 2), mu, NULL, idx, w, NULL),
                 APX_EINVAL);
    CHECK_STATUS(apx_sketch_wls_grid_points(apx_dmat_view(Phi.data, 3, 6), NULL, NULL, idx, w, NULL),
                 APX_ESHAPE);
    free(xs);
    apx_dmat_free(&Phi);
    apx_dmat_free(&Leg);
    apx_dmat_free(&Q);
    apx_dmat_free(&R);
}

static double wls_const(void *ctx, double x) {
    (void)ctx, (void)x;
    return 1.0;
}

TEST(wls_bad_input) {
    double x[64], w[64], c[8], y[4] = {1, 2, 3, 4}, ww[4] = {1, 1, -1, 1};
    apx_wls_opts o = apx_wls_opts_default();
    CHECK_STATUS(apx_sketch_wls_points(0, NULL, x, w, NULL), APX_EINVAL);
    CHECK_STATUS(apx_sketch_wls_points(4, NULL, NULL, w, NULL), APX_EINVAL);
    o.sampler = APX_WLS_VOLUME, o.n = 3;
    CHECK_STATUS(apx_sketch_wls_points(4, &o, x, w, NULL), APX_EINVAL);
    o.sampler = APX_WLS_REPEATED, o.repeats = 0;
    CHECK_STATUS(apx_sketch_wls_points(4, &o, x, w, NULL), APX_EINVAL);
    o = apx_wls_opts_default();
    o.sampler = (apx_wls_sampler)9;
    CHECK_STATUS(apx_sketch_wls_points(4, &o, x, w, NULL), APX_EINVAL);
    o = apx_wls_opts_default();
    o.max_proposals = 5; // far too few for m = 8 (acceptance 1/8 per proposal)
    o.n = 40;
    CHECK_STATUS(apx_sketch_wls_points(8, &o, x, w, NULL), APX_ENOCONV);
    CHECK_STATUS(apx_sketch_wls_legendre(4, NULL, NULL, NULL, c, NULL), APX_EINVAL);
    // n = ceil(2^64 / 3) points: 3 n and n m wrap around int64; refused, not overrun
    o = apx_wls_opts_default();
    o.n = INT64_C(6148914691236517206);
    CHECK_STATUS(apx_sketch_wls_legendre(3, wls_const, NULL, &o, c, NULL), APX_ENOMEM);
    double P[8] = {1, 0, 1, 1, 1, 2, 1, 3};
    CHECK_STATUS(apx_sketch_wls_fit(apx_dmat_view(P, 4, 2), y, ww, c, NULL), APX_EINVAL);
    ww[2] = NAN;
    CHECK_STATUS(apx_sketch_wls_fit(apx_dmat_view(P, 4, 2), y, ww, c, NULL), APX_EINVAL);
    CHECK_STATUS(apx_sketch_wls_fit(apx_dmat_view(P, 0, 2), y, ww, c, NULL), APX_ESHAPE);
    apx_wls_sampler s;
    CHECK_STATUS(apx_wls_sampler_parse("christoffel", &s), APX_EINVAL);
    REQUIRE_OK(apx_wls_sampler_parse("repeated", &s));
    CHECK(s == APX_WLS_REPEATED && !strcmp(apx_wls_sampler_name(APX_WLS_VOLUME), "volume"));
}

/* ---------------------------------------------------------------- the catalog checks */

static double runge(void *ctx, double x) {
    (void)ctx;
    return 1 / (1 + 25 * x * x);
}

enum { M = 10, TRIALS = 200, QN = 200 };

typedef struct {
    double qx[QN], qw[QN], fq[QN];
    apx_dmat Phi; /* (QN, M) */
    double best;  /* ||f - P_m f||, the quadrature L2 projection */
} quad_ref;

static apx_status quad_setup(quad_ref *q) {
    apx_status st = legendre_at_gauss(QN, M, q->qx, q->qw, &q->Phi);
    if (st != APX_OK) return st;
    double c[M] = {0}, e = 0;
    for (int i = 0; i < QN; i++) q->fq[i] = runge(NULL, q->qx[i]);
    for (int j = 0; j < M; j++)
        for (int i = 0; i < QN; i++) c[j] += 0.5 * q->qw[i] * q->fq[i] * q->Phi.data[i * M + j];
    for (int i = 0; i < QN; i++) {
        double v = 0;
        for (int j = 0; j < M; j++) v += c[j] * q->Phi.data[i * M + j];
        e += 0.5 * q->qw[i] * (q->fq[i] - v) * (q->fq[i] - v);
    }
    q->best = sqrt(e);
    return st;
}

// ||f - v||_{L2(dx/2)} for v = sum coef_j phi_j
static double l2_error(const quad_ref *q, const double *coef) {
    double e = 0;
    for (int i = 0; i < QN; i++) {
        double v = 0;
        for (int j = 0; j < M; j++) v += coef[j] * q->Phi.data[i * M + j];
        e += 0.5 * q->qw[i] * (q->fq[i] - v) * (q->fq[i] - v);
    }
    return sqrt(e);
}

// mean L2 error and median Gram condition number over TRIALS fits
static apx_status mc_run(const quad_ref *q, apx_wls_sampler s, int64_t n, double *mean,
                         double *cond_med, double *cond_max) {
    static double conds[TRIALS];
    double tot = 0;
    for (int t = 0; t < TRIALS; t++) {
        apx_wls_opts o = apx_wls_opts_default();
        o.sampler = s, o.n = n, o.seed = 1000 + (uint64_t)t;
        double c[M];
        apx_wls_info info;
        apx_status st = apx_sketch_wls_legendre(M, runge, NULL, &o, c, &info);
        if (st != APX_OK) return st;
        tot += l2_error(q, c);
        conds[t] = info.gram_cond;
    }
    for (int i = 1; i < TRIALS; i++) // insertion sort
        for (int j = i; j > 0 && conds[j] < conds[j - 1]; j--) {
            double v = conds[j];
            conds[j] = conds[j - 1], conds[j - 1] = v;
        }
    *mean = tot / TRIALS;
    *cond_med = conds[TRIALS / 2], *cond_max = conds[TRIALS - 1];
    return APX_OK;
}

TEST(wls_catalog_quasi_optimality_and_conditioning) {
    quad_ref q;
    REQUIRE_OK(quad_setup(&q));
    const int64_t nlog = (int64_t)ceil(M * log((double)M)); // 24
    double e_iid, e_vol, e_rep, e_dpp, e_iid_m, cm, cx, cdm, cdx, cim, cix;
    REQUIRE_OK(mc_run(&q, APX_WLS_IID, nlog, &e_iid, &cm, &cx));
    REQUIRE_OK(mc_run(&q, APX_WLS_VOLUME, nlog, &e_vol, &cm, &cx));
    REQUIRE_OK(mc_run(&q, APX_WLS_REPEATED, 0, &e_rep, &cm, &cx));
    REQUIRE_OK(mc_run(&q, APX_WLS_DPP, 0, &e_dpp, &cdm, &cdx));
    REQUIRE_OK(mc_run(&q, APX_WLS_IID, M, &e_iid_m, &cim, &cix));
    printf("  P001 m=%d, %d trials: best %.4g; mean error / best: iid(n=%lld) %.3f, "
           "volume(n=%lld) %.3f, repeated-dpp(r=2) %.3f, dpp(n=m) %.3f, iid(n=m) %.3g\n", M,
           TRIALS, q.best, (long long)nlog, e_iid / q.best, (long long)nlog, e_vol / q.best,
           e_rep / q.best, e_dpp / q.best, e_iid_m / q.best);
    printf("  n = m Gram condition: dpp median %.3g max %.3g; iid median %.3g max %.3g\n", cdm,
           cdx, cim, cix);
    // (1) quasi-optimality at n = m ln m
    CHECK(e_iid <= 3 * q.best);
    CHECK(e_vol <= 3 * q.best);
    // (3) n = m: the DPP Gram matrix stays well conditioned, i.i.d. often does not
    CHECK(isfinite(cdx) && cdx < 1e6);
    CHECK(cim >= 10 * cdm);
    // (4) repeated DPP with r m = 20 points reaches the error of i.i.d. with 24 points
    CHECK(e_rep <= 1.25 * e_iid && e_rep <= 3 * q.best);
    apx_dmat_free(&q.Phi);
}

TEST(wls_catalog_dpp_one_point_intensity) {
    // (2) pooled DPP points over 200 draws against the intensity K(x,x) dx / 2 (m points per
    // draw): 20 equal bins, expected counts by 10-point Gauss-Legendre per bin (exact for
    // the degree-18 polynomial K)
    enum { BINS = 20 };
    double count[BINS] = {0}, expect[BINS] = {0}, gx[10], gw[10], phi[M];
    gauss_legendre(10, gx, gw);
    for (int b = 0; b < BINS; b++) {
        double lo = -1 + 2.0 * b / BINS, h = 1.0 / BINS;
        for (int i = 0; i < 10; i++) {
            double x = lo + h * (gx[i] + 1), K = 0;
            REQUIRE_OK(apx_sketch_legendre(&x, 1, apx_dmat_view(phi, 1, M)));
            for (int j = 0; j < M; j++) K += phi[j] * phi[j];
            expect[b] += h * gw[i] * K / 2 * TRIALS; // intensity K/2 per unit length
        }
    }
    double tot = 0;
    for (int b = 0; b < BINS; b++) tot += expect[b];
    CHECK_NEAR(tot, (double)M * TRIALS, 1e-9, 1e-12);
    for (int t = 0; t < TRIALS; t++) {
        apx_wls_opts o = apx_wls_opts_default();
        o.sampler = APX_WLS_DPP, o.seed = 77 + (uint64_t)t;
        double x[M], w[M];
        REQUIRE_OK(apx_sketch_wls_points(M, &o, x, w, NULL));
        for (int i = 0; i < M; i++) {
            int b = (int)((x[i] + 1) / 2 * BINS);
            count[b < BINS ? b : BINS - 1] += 1;
        }
    }
    double c = chi_square(count, expect, BINS);
    CHECK(c < CHI2_19);
    printf("  DPP one-point intensity: chi-square %.2f over %d bins (critical %.2f)\n", c, BINS,
           CHI2_19);
}
