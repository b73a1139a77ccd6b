/* features.c: random-feature regression (P068, "How powerful are shallow neural networks
 * with bandlimited random weights?"): a plan of N frozen hidden units a_j (d), b_j drawn
 * from a seed in a band |a| <= A (or Gaussian, or random Fourier features), features
 * Phi = s act(X W^T - 1 b^T), a ridge readout C by Cholesky on the smaller normal-equation
 * form (or minimum-norm least squares by gelsd for lambda = 0).
 * Also the small solvers the kernel code shares (Cholesky solve, argument checks, names). */
#include <stdio.h>
#include <string.h>

#include "apx/la.h"
#include "regress/kernel_internal.h"
#include "solve/solve_internal.h"

struct apx_rf {
    int64_t d, N;
    apx_rf_opts o;
    double scale; /* s */
    apx_dmat W;   /* (N,d) */
    double *b;    /* (N) */
};

apx_rf_opts apx_rf_opts_default(void) {
    apx_rf_opts o;
    memset(&o, 0, sizeof o);
    o.kind = APX_RF_UNIFORM;
    o.act = APX_ACT_TANH;
    o.band = 1.0;
    o.bias_band = -1.0;
    o.seed = 0;
    return o;
}

/* ---------------------------------------------------------------- names */

static const char *const rf_kind_names[] = {"uniform", "gaussian", "fourier", NULL};
static const char *const act_names[] = {"tanh", "relu", "sigmoid", "cos", NULL};

apx_status apx__kr_parse_name(const char *fn, const char *what, const char *const *names,
                              const char *name, int *out) {
    if (!name || !out) return apx__err(APX_EINVAL, "%s: NULL %s name or output", fn, what);
    char list[256] = "";
    for (int i = 0; names[i]; i++) {
        if (!strcmp(names[i], name)) {
            *out = i;
            return APX_OK;
        }
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
    }
    return apx__err(APX_EINVAL, "%s: unknown %s '%s' (known: %s)", fn, what, name, list);
}

const char *apx__kr_name(const char *const *names, int i) {
    for (int j = 0; names[j]; j++)
        if (j == i) return names[j];
    return "?";
}

APX__KR_NAMED_ENUM(apx_rf_kind, apx_rf_kind_name, apx_rf_kind_parse, "random-feature kind",
                   rf_kind_names)
APX__KR_NAMED_ENUM(apx_act, apx_act_name, apx_act_parse, "activation", act_names)

/* ---------------------------------------------------------------- shared solvers */

void apx__kr_add_diag(apx_dmat A, double lambda) {
    for (int64_t i = 0; i < A.rows; i++) A.data[i * A.ld + i] += lambda;
}

// A (n,n) = U^T U (potrf on the Fortran view: its 'L' factor is U^T), then
// B (n,r) <- U^-1 U^-T B by two triangular solves
apx_status apx__kr_spd_solve(const char *fn, apx_dmat A, apx_dmat B) {
    APX__TRY(apx__blas_ensure(fn));
    APX__TRY(apx__check_blas_size(fn, A));
    APX__TRY(apx__check_blas_size(fn, B));
    apx__bint n = (apx__bint)A.rows, lda = (apx__bint)A.ld, info = 0;
    apx__blas.dpotrf_("L", &n, A.data, &lda, &info, 1);
    if (info != 0)
        return apx__err(APX_ENUMERIC, "%s: the %lld x %lld system matrix is not positive "
                        "definite in double (Cholesky stopped at column %d); raise lambda",
                        fn, (long long)A.rows, (long long)A.rows, (int)info);
    apx__blas.cblas_dtrsm(APX__ROW, APX__LEFT, APX__UPPER, APX__TRANS, APX__NONUNIT, n,
                          (apx__bint)B.cols, 1.0, A.data, lda, B.data, (apx__bint)B.ld);
    apx__blas.cblas_dtrsm(APX__ROW, APX__LEFT, APX__UPPER, APX__NOTRANS, APX__NONUNIT, n,
                          (apx__bint)B.cols, 1.0, A.data, lda, B.data, (apx__bint)B.ld);
    return APX_OK;
}

apx_status apx__kr_check_fit(const char *fn, apx_dmat X, apx_dmat Y, double lambda) {
    APX__TRY(apx__check_dmat_nonempty(fn, "X", X));
    APX__TRY(apx__check_dmat_nonempty(fn, "Y", Y));
    if (Y.rows != X.rows)
        return apx__err(APX_ESHAPE, "%s: X has %lld rows but Y has %lld", fn,
                        (long long)X.rows, (long long)Y.rows);
    if (!(lambda >= 0) || !isfinite(lambda))
        return apx__err(APX_EINVAL, "%s: lambda must be finite and >= 0, got %g", fn, lambda);
    APX__TRY(apx__check_finite(fn, "X", X));
    return apx__check_finite(fn, "Y", Y);
}

/* ---------------------------------------------------------------- plan */

static apx_status check_opts(const apx_rf_opts *o) {
    if (o->kind < APX_RF_UNIFORM || o->kind > APX_RF_FOURIER)
        return apx__err(APX_EINVAL, "rf_create: unknown kind %d", (int)o->kind);
    if (o->act < APX_ACT_TANH || o->act > APX_ACT_COS)
        return apx__err(APX_EINVAL, "rf_create: unknown activation %d", (int)o->act);
    if (!(o->band > 0) || !isfinite(o->band))
        return apx__err(APX_EINVAL, "rf_create: band must be finite and > 0, got %g", o->band);
    if (!isfinite(o->bias_band))
        return apx__err(APX_EINVAL, "rf_create: bias_band must be finite, got %g", o->bias_band);
    return APX_OK;
}

// W (N,d) and b (N) from streams 0 and 1 of the seed; u in [0,1) mapped to the band
static void draw_weights(apx_rf *p) {
    int64_t nw = p->N * p->d;
    double A = p->o.band, B = p->o.bias_band < 0 ? A : p->o.bias_band;
    const double two_pi = 6.283185307179586;
    switch (p->o.kind) {
    case APX_RF_UNIFORM:
        apx_rng_fill_uniform(p->o.seed, 0, p->W.data, nw);
        apx_rng_fill_uniform(p->o.seed, 1, p->b, p->N);
        for (int64_t i = 0; i < nw; i++) p->W.data[i] = A * (2 * p->W.data[i] - 1);
        for (int64_t j = 0; j < p->N; j++) p->b[j] = B * (2 * p->b[j] - 1);
        break;
    case APX_RF_GAUSSIAN:
        apx_rng_fill_normal(p->o.seed, 0, p->W.data, nw);
        apx_rng_fill_normal(p->o.seed, 1, p->b, p->N);
        for (int64_t i = 0; i < nw; i++) p->W.data[i] *= A;
        for (int64_t j = 0; j < p->N; j++) p->b[j] *= B;
        break;
    case APX_RF_FOURIER:
        apx_rng_fill_normal(p->o.seed, 0, p->W.data, nw);
        apx_rng_fill_uniform(p->o.seed, 1, p->b, p->N);
        for (int64_t i = 0; i < nw; i++) p->W.data[i] *= sqrt(2 * A);
        for (int64_t j = 0; j < p->N; j++) p->b[j] *= -two_pi; /* act(t - b) = cos(t + 2 pi u) */
        p->o.act = APX_ACT_COS;
        p->scale = sqrt(2.0 / (double)p->N);
        break;
    }
}

apx_status apx_rf_create(int64_t d, int64_t N, const apx_rf_opts *opts, apx_rf **plan) {
    if (!plan) return apx__err(APX_EINVAL, "rf_create: plan (the output) is NULL");
    *plan = NULL;
    if (d < 1 || N < 1 || d > INT32_MAX || N > INT32_MAX || (double)d * (double)N > 1e12)
        return apx__err(APX_ESHAPE, "rf_create: need d >= 1 and N >= 1 (and d N <= 1e12), got "
                        "d = %lld, N = %lld", (long long)d, (long long)N);
    apx_rf_opts o = opts ? *opts : apx_rf_opts_default();
    APX__TRY(check_opts(&o));
    apx_rf *p = apx__alloc("rf_create", 1, sizeof *p);
    if (!p) return APX_ENOMEM;
    p->d = d, p->N = N, p->o = o, p->scale = 1.0;
    p->b = apx__alloc("rf_create", (size_t)N, sizeof(double));
    if (!p->b || apx_dmat_alloc(N, d, &p->W) != APX_OK) {
        apx_rf_free(p);
        return apx__err(APX_ENOMEM, "rf_create: out of memory for %lld x %lld weights",
                        (long long)N, (long long)d);
    }
    draw_weights(p);
    *plan = p;
    return APX_OK;
}

void apx_rf_free(apx_rf *p) {
    if (!p) return;
    apx_dmat_free(&p->W);
    apx_free(p->b);
    apx_free(p);
}

apx_status apx_rf_weights(const apx_rf *p, int64_t *d, int64_t *N, apx_dmat *W, double *b) {
    if (!p) return apx__err(APX_EINVAL, "rf_weights: plan is NULL");
    if (d) *d = p->d;
    if (N) *N = p->N;
    if (W) {
        APX__TRY(apx__check_dmat_shape("rf_weights", "W", *W, p->N, p->d));
        apx__dmat_copy(p->W, *W);
    }
    if (b) memcpy(b, p->b, sizeof(double) * (size_t)p->N);
    return APX_OK;
}

/* ---------------------------------------------------------------- features */

static inline double act_eval(apx_act a, double t) {
    switch (a) {
    case APX_ACT_TANH: return tanh(t);
    case APX_ACT_RELU: return t > 0 ? t : 0;
    case APX_ACT_SIGMOID: return 1.0 / (1.0 + exp(-t));
    case APX_ACT_COS: return cos(t);
    }
    return NAN;
}

// Phi (n,N) = s act(X W^T - 1 b^T): (n,N) = (n,d) x (d,N), then the activation in place
static void features(const apx_rf *p, apx_dmat X, apx_dmat Phi) {
    apx__dgemm(0, 1, 1.0, X, p->W, 0.0, Phi);
    const apx_act a = p->o.act;
    const double s = p->scale;
#pragma omp parallel for schedule(static) if (Phi.rows * Phi.cols >= (1 << 16))
    for (int64_t i = 0; i < Phi.rows; i++) {
        double *r = Phi.data + i * Phi.ld;
        for (int64_t j = 0; j < Phi.cols; j++) r[j] = s * act_eval(a, r[j] - p->b[j]);
    }
}

static apx_status check_x(const char *fn, const apx_rf *p, apx_dmat X) {
    if (!p) return apx__err(APX_EINVAL, "%s: plan is NULL", fn);
    APX__TRY(apx__check_dmat_nonempty(fn, "X", X));
    if (X.cols != p->d)
        return apx__err(APX_ESHAPE, "%s: X has %lld columns but the plan was made for d = %lld",
                        fn, (long long)X.cols, (long long)p->d);
    APX__TRY(apx__check_blas_size(fn, X));
    return apx__check_finite(fn, "X", X);
}

apx_status apx_rf_transform(const apx_rf *p, apx_dmat X, apx_dmat Phi) {
    APX__TRY(check_x("rf_transform", p, X));
    APX__TRY(apx__check_dmat_shape("rf_transform", "Phi", Phi, X.rows, p->N));
    APX__TRY(apx__check_blas_size("rf_transform", Phi));
    features(p, X, Phi);
    return APX_OK;
}

/* ---------------------------------------------------------------- ridge readout */

// upper triangle of G = Phi^T Phi (trans) or Phi Phi^T: half a GEMM (BLAS syrk); the
// Cholesky solve reads only that triangle
static void gram_upper(apx_dmat Phi, int trans, apx_dmat G) {
    apx__bint k = (apx__bint)(trans ? Phi.rows : Phi.cols);
    apx__blas.cblas_dsyrk(APX__ROW, APX__UPPER, trans ? APX__TRANS : APX__NOTRANS,
                          (apx__bint)G.rows, k, 1.0, Phi.data, (apx__bint)Phi.ld, 0.0, G.data,
                          (apx__bint)G.ld);
}

// lambda > 0, n >= N: (Phi^T Phi + lambda I) C = Phi^T Y; (N,N) = (N,n) x (n,N)
static apx_status ridge_primal(apx_dmat Phi, apx_dmat Y, double lambda, apx_dmat C) {
    apx_dmat G = {0};
    APX__TRY(apx_dmat_alloc(Phi.cols, Phi.cols, &G));
    gram_upper(Phi, 1, G);
    apx__kr_add_diag(G, lambda);
    apx__dgemm(1, 0, 1.0, Phi, Y, 0.0, C); // (N,r) = (N,n) x (n,r)
    apx_status st = apx__kr_spd_solve("rf_fit", G, C);
    apx_dmat_free(&G);
    return st;
}

// lambda > 0, n < N: C = Phi^T (Phi Phi^T + lambda I)^-1 Y; (n,n) = (n,N) x (N,n)
static apx_status ridge_dual(apx_dmat Phi, apx_dmat Y, double lambda, apx_dmat C) {
    apx_dmat G = {0}, Z = {0};
    apx_status st = apx_dmat_alloc(Phi.rows, Phi.rows, &G);
    if (st == APX_OK) st = apx_dmat_alloc(Y.rows, Y.cols, &Z);
    if (st == APX_OK) {
        gram_upper(Phi, 0, G);
        apx__kr_add_diag(G, lambda);
        apx__dmat_copy(Y, Z);
        st = apx__kr_spd_solve("rf_fit", G, Z);
    }
    if (st == APX_OK) apx__dgemm(1, 0, 1.0, Phi, Z, 0.0, C); // (N,r) = (N,n) x (n,r)
    apx_dmat_free(&G);
    apx_dmat_free(&Z);
    return st;
}

// sqrt(||Phi C - Y||_F^2 / (n r)); (n,r) = (n,N) x (N,r)
static double train_rmse(apx_dmat Phi, apx_dmat Y, apx_dmat C) {
    apx_dmat R = {0};
    if (apx_dmat_alloc(Y.rows, Y.cols, &R) != APX_OK) return NAN;
    apx__dmat_copy(Y, R);
    apx__dgemm(0, 0, 1.0, Phi, C, -1.0, R);
    double s = 0;
    for (int64_t i = 0; i < R.rows * R.cols; i++) s += R.data[i] * R.data[i];
    apx_dmat_free(&R);
    return sqrt(s / (double)(Y.rows * Y.cols));
}

apx_status apx_rf_fit(const apx_rf *p, apx_dmat X, apx_dmat Y, double lambda, double rcond,
                      apx_dmat C, apx_rf_info *info) {
    const char *fn = "rf_fit";
    double t0 = apx__solve_now();
    APX__TRY(check_x(fn, p, X));
    APX__TRY(apx__kr_check_fit(fn, X, Y, lambda));
    APX__TRY(apx__check_dmat_shape(fn, "C", C, p->N, Y.cols));
    APX__TRY(apx__blas_ensure(fn));
    apx_dmat Phi = {0};
    APX__TRY(apx_dmat_alloc(X.rows, p->N, &Phi));
    apx_status st = apx__check_blas_size(fn, Phi);
    apx_rf_info inf = {p->N, 0, 0, 0};
    if (st == APX_OK) features(p, X, Phi);
    if (st == APX_OK && lambda == 0) {
        inf.method = 2;
        st = apx_la_lstsq(Phi, Y, rcond, C, &inf.rank);
    } else if (st == APX_OK) {
        inf.method = X.rows >= p->N ? 0 : 1;
        st = inf.method == 0 ? ridge_primal(Phi, Y, lambda, C) : ridge_dual(Phi, Y, lambda, C);
    }
    if (st == APX_OK) inf.train_rmse = train_rmse(Phi, Y, C);
    apx_dmat_free(&Phi);
    inf.seconds = apx__solve_now() - t0;
    if (info) *info = inf;
    return st;
}

apx_status apx_rf_predict(const apx_rf *p, apx_dmat X, apx_dmat C, apx_dmat P) {
    const char *fn = "rf_predict";
    APX__TRY(check_x(fn, p, X));
    APX__TRY(apx__check_dmat_nonempty(fn, "C", C));
    if (C.rows != p->N)
        return apx__err(APX_ESHAPE, "%s: C has %lld rows but the plan has N = %lld features", fn,
                        (long long)C.rows, (long long)p->N);
    APX__TRY(apx__check_finite(fn, "C", C));
    APX__TRY(apx__check_dmat_shape(fn, "P", P, X.rows, C.cols));
    const int64_t bs = 256;
    apx_dmat Phi = {0};
    APX__TRY(apx_dmat_alloc(APX__MIN(bs, X.rows), p->N, &Phi));
    for (int64_t i0 = 0; i0 < X.rows; i0 += bs) {
        int64_t h = APX__MIN(bs, X.rows - i0);
        apx_dmat Xb = {X.data + i0 * X.ld, h, X.cols, X.ld};
        apx_dmat Fb = {Phi.data, h, Phi.cols, Phi.ld};
        apx_dmat Pb = {P.data + i0 * P.ld, h, P.cols, P.ld};
        features(p, Xb, Fb);
        apx__dgemm(0, 0, 1.0, Fb, C, 0.0, Pb); // (h,r) = (h,N) x (N,r)
    }
    apx_dmat_free(&Phi);
    return APX_OK;
}
