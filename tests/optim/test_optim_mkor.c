/* tests/optim/test_optim_mkor.c: MKOR (P098) and GradNormLoRP (P031): the Sherman-Morrison
 * inverse against an explicit inverse (catalog check (a)), the layer-statistics entry point
 * and its bad input, the weight-normalization chain rule against finite differences in
 * double, the 8-bit block quantization error, exactness at creation and the state sizes.
 * (Step-for-step comparisons with the references run in python/tests/test_optim.py.) */
#include <string.h>

#include "apx/la.h"
#include "optim/optim_internal.h"
#include "optim_test.h"

// M (n,n) = gamma M + (1-gamma) v v^T
static void ema_rank1(double *M, int64_t n, const double *v, double gamma) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) M[i * n + j] = gamma * M[i * n + j] + (1 - gamma) * v[i] * v[j];
}

TEST(optim_mkor_sherman_morrison_vs_inverse) {
    enum { N = 24, UPD = 100 };
    double *M = calloc(N * N, sizeof(double)), *Li = calloc(N * N, sizeof(double));
    double *X = calloc(N * N, sizeof(double)), *I = calloc(N * N, sizeof(double));
    double *A = calloc(N * N, sizeof(double)), v[N], u[N];
    REQUIRE(M && Li && X && I && A);
    for (int i = 0; i < N; i++) M[i * N + i] = Li[i * N + i] = 1;
    for (int t = 0; t < UPD; t++) {
        apx_rng_fill_normal(21, (uint64_t)t, v, N);
        ema_rank1(M, N, v, 0.95);
        apx__mkor_sm_update(Li, N, v, 0.95, u);
    }
    // explicit inverse by LAPACK: X = M^-1 from M X = I
    for (int i = 0; i < N; i++) I[i * N + i] = 1;
    memcpy(A, M, sizeof(double) * N * N);
    REQUIRE_OK(apx_la_solve(apx_dmat_view(A, N, N), apx_dmat_view(I, N, N),
                            apx_dmat_view(X, N, N)));
    double num = 0, den = 0;
    for (int i = 0; i < N * N; i++) {
        num += (Li[i] - X[i]) * (Li[i] - X[i]);
        den += X[i] * X[i];
    }
    if (getenv("APX_TEST_VERBOSE")) printf("  SM vs inverse after %d updates: %.3g\n", UPD,
                                           sqrt(num / den));
    CHECK(sqrt(num / den) <= 1e-8);
    free(M), free(Li), free(X), free(I), free(A);
}

/* A table (4,3) (5) (2,2,3) and an optimizer of `kind`. */
static apx_params *mk_table(void) {
    static const int nd[3] = {2, 1, 3};
    static const int64_t sh[6] = {4, 3, 5, 2, 2, 3};
    return ot_table(3, nd, sh, 3);
}

TEST(optim_mkor_layer_stats_and_bad_input) {
    apx_params *p = mk_table();
    REQUIRE(p);
    apx_optim *o = NULL, *adam = NULL;
    REQUIRE_OK(apx_optim_create_str(p, "mkor", 0, NULL, &o));
    REQUIRE_OK(apx_optim_create_str(p, "adamw", 0, NULL, &adam));
    float a[6] = {1, 2, 3, 4, 5, 6}, g[4] = {1, -1, 2, 0.5f}, bad[4] = {1, NAN, 0, 0};
    CHECK_OK(apx_optim_set_layer_stats(o, 0, a, 3, g, 4));
    CHECK_OK(apx_optim_set_layer_stats(o, 2, a, 6, g, 2)); /* (2,2,3) viewed as (2, 6) */
    CHECK_STATUS(apx_optim_set_layer_stats(NULL, 0, a, 3, g, 4), APX_EINVAL);
    CHECK_STATUS(apx_optim_set_layer_stats(adam, 0, a, 3, g, 4), APX_EINVAL);
    CHECK_STATUS(apx_optim_set_layer_stats(o, 3, a, 3, g, 4), APX_EINVAL);
    CHECK_STATUS(apx_optim_set_layer_stats(o, 1, a, 5, g, 5), APX_EINVAL); /* a vector */
    CHECK_STATUS(apx_optim_set_layer_stats(o, 0, a, 4, g, 4), APX_EINVAL);
    CHECK_STATUS(apx_optim_set_layer_stats(o, 0, a, 3, g, 3), APX_EINVAL);
    CHECK_STATUS(apx_optim_set_layer_stats(o, 0, NULL, 3, g, 4), APX_EINVAL);
    CHECK_STATUS(apx_optim_set_layer_stats(o, 0, a, 3, bad, 4), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "g[1]") != NULL);
    apx_optim_settings s;
    REQUIRE_OK(apx_optim_settings_init("mkor", &s));
    CHECK_STATUS(apx_optim_settings_set(&s, "stat_decay", 1.0), APX_EINVAL);
    CHECK_STATUS(apx_optim_settings_set(&s, "inv_freq", 0.5), APX_EINVAL);
    CHECK_STATUS(apx_optim_settings_set(&s, "lr", -1), APX_EINVAL);
    /* a step with statistics changes the factors: the state holds them */
    ot_grads(apx_params_grad(p), apx_params_size(p), 4, 0, 1.0f);
    CHECK_OK(apx_optim_step(o, 0.01));
    int found = 0;
    for (int64_t i = 0; i < apx_optim_state_count(o); i++) {
        apx_optim_state st;
        REQUIRE_OK(apx_optim_state_get(o, i, &st));
        if (!strcmp(st.name, "optim.mkor.linv.g0")) {
            found = 1;
            CHECK(st.dtype == APX_DT_F64 && st.shape[0] == 4 && st.shape[1] == 4);
            CHECK(((double *)st.data)[1] != 0); /* no longer the identity */
        }
    }
    CHECK(found);
    apx_optim_free(o);
    apx_optim_free(adam);
    apx_params_free(p);
}

/* f(g, V) = sum C . W(g, V), W_i = g_i V_i / |V_i| (m, n) */
static double wn_f(const double *g, const double *V, const double *C, int m, int n) {
    double f = 0;
    for (int i = 0; i < m; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) s += V[i * n + j] * V[i * n + j];
        for (int j = 0; j < n; j++) f += C[i * n + j] * g[i] * V[i * n + j] / sqrt(s);
    }
    return f;
}

TEST(optim_gradnormlorp_chain_rule_finite_differences) {
    enum { M = 5, N = 7 };
    double V[M * N], C[M * N], g[M], s[M], dV[M * N], dg[M], h = 1e-6;
    apx_rng_fill_normal(31, 0, V, M * N);
    apx_rng_fill_normal(31, 1, C, M * N);
    apx_rng_fill_normal(31, 2, g, M);
    for (int i = 0; i < M; i++) {
        s[i] = 0;
        for (int j = 0; j < N; j++) s[i] += V[i * N + j] * V[i * N + j];
        s[i] = sqrt(s[i]);
    }
    apx__wn_grads(V, s, g, C, M, N, dV, dg); /* dL/dW = C for f */
    double worst = 0;
    for (int i = 0; i < M; i++) {
        double gp[M], gm[M];
        memcpy(gp, g, sizeof g), memcpy(gm, g, sizeof g);
        gp[i] += h, gm[i] -= h;
        double fd = (wn_f(gp, V, C, M, N) - wn_f(gm, V, C, M, N)) / (2 * h);
        worst = fmax(worst, fabs(fd - dg[i]) / (1e-6 + fabs(fd)));
    }
    for (int k = 0; k < M * N; k++) {
        double Vp[M * N], Vm[M * N];
        memcpy(Vp, V, sizeof V), memcpy(Vm, V, sizeof V);
        Vp[k] += h, Vm[k] -= h;
        double fd = (wn_f(g, Vp, C, M, N) - wn_f(g, Vm, C, M, N)) / (2 * h);
        worst = fmax(worst, fabs(fd - dV[k]) / (1e-6 + fabs(fd)));
    }
    if (getenv("APX_TEST_VERBOSE")) printf("  chain rule vs FD: %.3g\n", worst);
    CHECK(worst <= 1e-6);
}

/* |Q(x) - x| / |x| for n values of x. */
static double q8_err(const float *x, int64_t n, int sign) {
    uint8_t *c = malloc((size_t)n);
    float *sc = malloc((size_t)(n / 256 + 1) * sizeof(float)), *y = malloc((size_t)n * 4);
    if (!c || !sc || !y) return HUGE_VAL;
    apx__q8_encode(x, n, 256, sign, c, sc);
    apx__q8_decode(c, sc, n, 256, sign, y);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        den += (double)x[i] * x[i];
    }
    free(c), free(sc), free(y);
    return sqrt(num / den);
}

TEST(optim_gradnormlorp_q8_error_below_one_percent) {
    enum { N = 1 << 14 };
    float *x = malloc(N * sizeof(float)), *v = malloc(N * sizeof(float));
    REQUIRE(x && v);
    apx_rng_fill_normal_f(41, 0, x, N);
    for (int i = 0; i < N; i++) v[i] = fabsf(x[i]) * (1 + (i % 97)); /* sqrt(v)-like, spread */
    double es = q8_err(x, N, 1), eu = q8_err(v, N, 0);
    if (getenv("APX_TEST_VERBOSE")) printf("  8-bit error: signed %.4f unsigned %.4f\n", es, eu);
    CHECK(es < 0.01);
    CHECK(eu < 0.01);
    for (int i = 0; i < N; i++) x[i] *= 1e-30f; /* tiny values keep nonzero codes */
    CHECK(q8_err(x, N, 1) < 0.01);
    free(x), free(v);
}

static int64_t state_bytes(const apx_optim *o) {
    int64_t b = 0;
    for (int64_t i = 0; i < apx_optim_state_count(o); i++) {
        apx_optim_state st;
        if (apx_optim_state_get(o, i, &st) != APX_OK) return -1;
        b += st.size * (int64_t)apx_dtype_info(st.dtype)->size;
    }
    return b;
}

TEST(optim_gradnormlorp_exact_at_init_and_state_size) {
    static const int nd[2] = {2, 2};
    static const int64_t sh[4] = {64, 64, 64, 64};
    apx_params *p = ot_table(2, nd, sh, 5);
    REQUIRE(p);
    int64_t n = apx_params_size(p);
    float *w0 = malloc((size_t)n * sizeof(float));
    REQUIRE(w0);
    memcpy(w0, apx_params_data(p), (size_t)n * sizeof(float));
    const char *kv[2] = {"rank=8", "quant8=1"};
    apx_optim *gn = NULL, *q8 = NULL, *adam = NULL;
    REQUIRE_OK(apx_optim_create_str(p, "gradnormlorp", 1, kv, &gn));
    REQUIRE_OK(apx_optim_create_str(p, "gradnormlorp", 2, kv, &q8));
    REQUIRE_OK(apx_optim_create_str(p, "adamw", 0, NULL, &adam));
    CHECK(memcmp(w0, apx_params_data(p), (size_t)n * sizeof(float)) == 0);
    /* W = g V / |V| with V = W: the magnitudes are the row norms */
    apx_optim_state st;
    int64_t i = 0;
    for (; i < apx_optim_state_count(gn); i++)
        if (apx_optim_state_get(gn, i, &st) == APX_OK &&
            !strcmp(st.name, "optim.gradnormlorp.magnitude.g0")) break;
    REQUIRE(i < apx_optim_state_count(gn));
    double worst = 0;
    for (int r = 0; r < 64; r++) {
        double s = 0;
        for (int j = 0; j < 64; j++) s += (double)w0[r * 64 + j] * w0[r * 64 + j];
        double g = ((float *)st.data)[r];
        for (int j = 0; j < 64; j++)
            worst = fmax(worst, fabs(g * w0[r * 64 + j] / sqrt(s) - w0[r * 64 + j]));
    }
    CHECK(worst <= 1e-6);
    int64_t b32 = state_bytes(gn), b8 = state_bytes(q8), ba = state_bytes(adam);
    if (getenv("APX_TEST_VERBOSE"))
        printf("  state bytes / Adam's at r/d = 1/8: %.3f (float), %.3f (8-bit)\n",
               (double)b32 / (double)ba, (double)b8 / (double)ba);
    /* per d x d matrix (d = 64, r = 8): Adam 2 d^2 floats; GradNormLoRP P (d r) + moments
     * (2 r d) + g, |V| and g's moments (4 d) floats, 8-bit: moments as 2 r d bytes plus
     * 2 r d / 256 float scales; + the step count (8 bytes) each */
    CHECK(ba == 2 * (2 * 64 * 64) * 4 + 8);
    CHECK(b32 == 2 * (64 * 8 + 2 * 8 * 64 + 4 * 64) * 4 + 8);
    CHECK(b8 == 2 * ((64 * 8 + 4 * 64) * 4 + 2 * 8 * 64 + 2 * 2 * 4) + 8);
    apx_optim_free(gn), apx_optim_free(q8), apx_optim_free(adam);
    apx_params_free(p);
    free(w0);
}
