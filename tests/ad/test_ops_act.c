/* tests/ad/test_ops_act.c: GELU (exact erf and tanh), ReLU, SiLU, tanh, sigmoid and
 * PolyReLU against double references (the formulas of PyTorch and of the official PolyCom
 * code), gradients by central differences, bad input. */
#include "test_ad_check.h"

enum { K_GELU, K_GELU_TANH, K_RELU, K_SILU, K_TANH, K_SIGMOID };

static double ref_act1(int kind, double x) {
    switch (kind) {
    case K_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case K_GELU_TANH: return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case K_RELU: return x > 0 ? x : 0;
    case K_SILU: return x / (1 + exp(-x));
    case K_TANH: return tanh(x);
    default: return 1 / (1 + exp(-x));
    }
}

static void ref_act(const adc_case *c, double *const *x, double *y) {
    int kind = *(const int *)c->ctx;
    for (int64_t i = 0; i < adc_size(c, 0); i++) y[i] = ref_act1(kind, x[0][i]);
}

static apx_status build_act(const adc_case *c, apx_graph *g, apx_tensor **in, apx_tensor **out) {
    switch (*(const int *)c->ctx) {
    case K_GELU: return apx_ad_gelu(g, in[0], APX_GELU_ERF, out);
    case K_GELU_TANH: return apx_ad_gelu(g, in[0], APX_GELU_TANH, out);
    case K_RELU: return apx_ad_relu(g, in[0], out);
    case K_SILU: return apx_ad_silu(g, in[0], out);
    case K_TANH: return apx_ad_tanh(g, in[0], out);
    default: return apx_ad_sigmoid(g, in[0], out);
    }
}

TEST(ad_activations_grad) {
    static const int kinds[6] = {K_GELU, K_GELU_TANH, K_RELU, K_SILU, K_TANH, K_SIGMOID};
    static const char *names[6] = {"gelu erf", "gelu tanh", "relu", "silu", "tanh", "sigmoid"};
    for (int k = 0; k < 6; k++) {
        /* inputs of scale 3 reach both tails; kept 1e-3 away from the ReLU kink */
        adc_case c = {.name = names[k], .n_in = 1, .ndim = {2}, .shape = {{5, 8}}, .grad = {1},
                      .scale = {3.0}, .away = 1e-3, .ref = ref_act, .build = build_act,
                      .ctx = &kinds[k], .seed = (uint64_t)(100 + k)};
        ADC_RUN(&c);
    }
}

/* The default GELU is the exact one, and the two differ by about 1e-3 somewhere. */
TEST(ad_gelu_default_is_erf) {
    CHECK(APX_GELU_ERF == 0);
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    int64_t n = 61;
    apx_tensor *x, *ye, *yt;
    REQUIRE_OK(apx_ad_tensor(g, 1, &n, 0, &x));
    for (int i = 0; i < n; i++) x->data[i] = -3.0f + 0.1f * (float)i;
    REQUIRE_OK(apx_ad_gelu(g, x, (apx_gelu_kind)0, &ye));
    REQUIRE_OK(apx_ad_gelu(g, x, APX_GELU_TANH, &yt));
    double maxdiff = 0;
    for (int i = 0; i < n; i++) {
        CHECK_NEAR(ye->data[i], ref_act1(K_GELU, x->data[i]), 1e-7, 1e-6);
        maxdiff = fmax(maxdiff, fabs(ye->data[i] - yt->data[i]));
    }
    CHECK(maxdiff > 1e-4);
    CHECK_STATUS(apx_ad_gelu(g, x, (apx_gelu_kind)2, &ye), APX_EINVAL);
    apx_graph_free(g);
}

/* ---------------------------------------------------------------- PolyReLU */

/* Official: weight[0] relu^3 + weight[1] relu^2 + weight[2] relu + bias (general r). */
static void ref_polyrelu(const adc_case *c, double *const *x, double *y) {
    int r = (int)adc_size(c, 1);
    for (int64_t i = 0; i < adc_size(c, 0); i++) {
        double rho = x[0][i] > 0 ? x[0][i] : 0, s = c->n_in > 2 ? x[2][0] : 0;
        for (int j = 0; j < r; j++) s += x[1][j] * pow(rho, r - j);
        y[i] = s;
    }
}
static apx_status build_polyrelu(const adc_case *c, apx_graph *g, apx_tensor **in,
                                 apx_tensor **out) {
    return apx_ad_polyrelu(g, in[0], in[1], c->n_in > 2 ? in[2] : NULL, out);
}

TEST(ad_polyrelu_grad) {
    adc_case c = {.name = "polyrelu r=3", .n_in = 3, .ndim = {2, 1, 0}, .shape = {{4, 6}, {3}},
                  .grad = {1, 1, 1}, .scale = {1.5, 0.5, 1}, .away = 1e-3, .ref = ref_polyrelu,
                  .build = build_polyrelu, .seed = 110};
    ADC_RUN(&c);
    adc_case c1 = {.name = "polyrelu r=1 nobias", .n_in = 2, .ndim = {3, 1},
                   .shape = {{2, 3, 4}, {1}}, .grad = {1, 1}, .away = 1e-3, .ref = ref_polyrelu,
                   .build = build_polyrelu, .seed = 111};
    ADC_RUN(&c1);
    adc_case c5 = c;
    c5.name = "polyrelu r=5";
    c5.shape[1][0] = 5;
    c5.grad[0] = 0;
    ADC_RUN(&c5);
    /* exact Hessian-vector products (inputs kept 0.05 from the kink, beyond the reference's
     * second-difference steps) */
    c.away = c1.away = c5.away = 0.05;
    ADC_HVP(&c);
    ADC_HVP(&c1);
    ADC_HVP(&c5);
}

TEST(ad_activation_bad_input) {
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    apx_tensor *x, *w, *w2, *wbig, *b2, *y;
    REQUIRE_OK(apx_ad_tensor(g, 2, (int64_t[]){2, 3}, 1, &x));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){3}, 1, &w));
    REQUIRE_OK(apx_ad_tensor(g, 2, (int64_t[]){3, 1}, 1, &w2));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){17}, 1, &wbig));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){2}, 1, &b2));
    CHECK_STATUS(apx_ad_relu(g, NULL, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_silu(NULL, x, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_tanh(g, x, NULL), APX_EINVAL);
    CHECK_STATUS(apx_ad_sigmoid(g, NULL, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_gelu(g, NULL, APX_GELU_ERF, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_polyrelu(g, x, NULL, NULL, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_polyrelu(g, x, w2, NULL, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_polyrelu(g, x, wbig, NULL, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_polyrelu(g, x, w, b2, &y), APX_ESHAPE);
    CHECK(strstr(apx_last_error(), "polyrelu") && strstr(apx_last_error(), "bias"));
    CHECK_OK(apx_ad_polyrelu(g, x, w, NULL, &y));
    apx_graph_free(g);
}

/* ---------------------------------------------------------------- fast exact GELU */

#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "ad/ad_internal.h"

/* Phi(x) and the GELU derivative Phi(x) + x phi(x) in double (erfc keeps the tail exact). */
static double phi_d(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }
static double dgelu_d(double x) { return phi_d(x) + x * exp(-0.5 * x * x) / sqrt(2 * M_PI); }

/* Inputs over the whole float range: every 4099th bit pattern (both signs, denormals, up
 * to FLT_MAX, Inf and NaN patterns), a dense grid on [-16, 16], and the special values. */
static float *gelu_inputs(int64_t *n) {
    int64_t cap = (int64_t)(4294967296.0 / 4099) + 40000;
    float *x = malloc(sizeof(float) * (size_t)cap);
    int64_t k = 0;
    for (uint64_t b = 0; b < 4294967296ull; b += 4099) {
        uint32_t u = (uint32_t)b;
        memcpy(&x[k++], &u, 4);
    }
    for (int i = 0; i <= 32000; i++) x[k++] = -16.0f + (float)i * 0.001f;
    const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, FLT_MAX, -FLT_MAX, FLT_MIN,
                        -FLT_MIN, 1e-40f, -1e-40f, -13.0f, -13.5f, -14.0f, 13.5f, -0.7517915f};
    for (size_t i = 0; i < sizeof sp / sizeof *sp; i++) x[k++] = sp[i];
    *n = k;
    return x;
}

/* Both kernels of one GELU on the inputs above: fast (yf, gf) and oracle (yr, gr) forward
 * outputs and backward results (dy = 1 added to 0.25). */
typedef struct {
    int64_t n;
    int vec; /* the vector path ran */
    float *x, *yf, *yr, *gf, *gr;
} gelu_run;

typedef int (*gelu_fast_fwd)(int64_t, const float *, float *);
typedef void (*gelu_ref_fwd)(int64_t, const float *, float *);
typedef int (*gelu_fast_bwd)(int64_t, const float *, const float *, float *);
typedef void (*gelu_ref_bwd)(int64_t, const float *, const float *, float *);

static gelu_run gelu_run_kernels(gelu_fast_fwd ff, gelu_ref_fwd rf, gelu_fast_bwd fb,
                                 gelu_ref_bwd rb) {
    gelu_run r;
    r.x = gelu_inputs(&r.n);
    size_t sz = sizeof(float) * (size_t)r.n;
    r.yf = malloc(sz), r.yr = malloc(sz), r.gf = malloc(sz), r.gr = malloc(sz);
    float *dy = malloc(sz);
    for (int64_t i = 0; i < r.n; i++) dy[i] = 1.0f, r.gf[i] = r.gr[i] = 0.25f;
    r.vec = ff(r.n, r.x, r.yf);
    rf(r.n, r.x, r.yr);
    fb(r.n, r.x, dy, r.gf);
    rb(r.n, r.x, dy, r.gr);
    free(dy);
    return r;
}

/* NaN/Inf input i: the fast results have the oracle's NaN-ness and value (0 or 2 misses). */
static int gelu_special_bad(const gelu_run *r, int64_t i) {
    return ((isnan(r->yf[i]) != isnan(r->yr[i])) || (!isnan(r->yr[i]) && r->yf[i] != r->yr[i])) +
           ((isnan(r->gf[i]) != isnan(r->gr[i])) || (!isnan(r->gr[i]) && r->gf[i] != r->gr[i]));
}

static void gelu_run_free(gelu_run *r) {
    free(r->x), free(r->yf), free(r->yr), free(r->gf), free(r->gr);
}

/* |fast - ref| <= rtol |ref| + atol: fast against double, and against the float oracle
 * (whose 1 + erff(x/sqrt2) loses ~6e-8 absolute to cancellation, hence atol 1.2e-7 |x|). */
TEST(ad_gelu_fast_kernel) {
    gelu_run r = gelu_run_kernels(apx__gelu_forward_fast, apx__gelu_forward_ref,
                                  apx__gelu_backward_fast, apx__gelu_backward_ref);
    int64_t n = r.n, bad = 0;
    int vec = r.vec;
    const float *x = r.x, *yf = r.yf, *yr = r.yr, *gf = r.gf;
    double ef = 0, eo = 0, eg = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (isnan(v) || isinf(v)) { /* same NaN-ness and value as the oracle */
            bad += gelu_special_bad(&r, i);
            continue;
        }
        double y = v * phi_d(v), d = fabs(v) > 20 ? (v > 0 ? 1 : 0) : dgelu_d(v);
        double e1 = fabs(yf[i] - y) / (fabs(y) + 1e-37), e2 = fabs(gf[i] - 0.25 - d);
        /* without the vector path yf is the oracle: its cancellation bound applies */
        double atol = vec ? 1e-38 : 1.2e-7 * fabs(v) + 1e-38, btol = vec ? 1e-7 : 1.1e-6;
        bad += !(fabs(yf[i] - y) <= 5e-7 * fabs(y) + atol);
        bad += !(fabs(yf[i] - yr[i]) <= 5e-7 * fabs(yr[i]) + 1.2e-7 * fabs(v) + 1e-38);
        bad += !(e2 <= 5e-7 * fabs(d) + btol);
        if (fabs(y) > 1e-30) ef = fmax(ef, e1); /* normal range: relative errors */
        eg = fmax(eg, e2); /* |d| <= 1.13 with a root near -0.75: absolute */
        eo = fmax(eo, fabs(yf[i] - yr[i]) / (fabs(yr[i]) + fabs(v) + 1e-37));
    }
    CHECK(bad == 0);
    if (bad) printf("  gelu fast: %lld values outside the tolerance\n", (long long)bad);
    if (getenv("APX_TEST_VERBOSE"))
        printf("  gelu fast (%s, %lld inputs): forward rel err %.2e vs double (|y| > 1e-30), "
               "%.2e vs erff (rel to |y|+|x|); backward abs err %.2e\n", vec ? "AVX-512" : "reference", (long long)n,
               ef, eo, eg);
    gelu_run_free(&r);
}

/* ---------------------------------------------------------------- fast tanh GELU */

/* The tanh GELU in double: y = x s, s = sigmoid(2u) from exp(-2|u|) (no cancellation in the
 * negative tail), and y' = s + 2 x u' s (1 - s). */
static void gelu_tanh_d(double x, double *y, double *d) {
    double c = 0.044715, k = sqrt(2 / M_PI), u = k * (x + c * x * x * x), e = exp(-2 * fabs(u));
    double s = u >= 0 ? 1 / (1 + e) : e / (1 + e), sc = u >= 0 ? e / (1 + e) : 1 / (1 + e);
    *y = x * s;
    *d = e > 0 ? s + 2 * x * k * (1 + 3 * c * x * x) * s * sc : s;
}

/* The AVX-512 tanh GELU against double (relative, with the float rounding of u: the tail
 * factor exp(2u) inherits ~|2u| ulp) and against the tanhf oracle (whose 1 + tanh(u)
 * cancels: atol 1.2e-7 |x|), over the same inputs as the exact GELU; NaN/Inf as the oracle. */
TEST(ad_gelu_tanh_fast_kernel) {
    gelu_run r = gelu_run_kernels(apx__gelu_tanh_forward_fast, apx__gelu_tanh_forward_ref,
                                  apx__gelu_tanh_backward_fast, apx__gelu_tanh_backward_ref);
    int64_t n = r.n, bad = 0;
    int vec = r.vec;
    const float *x = r.x, *yf = r.yf, *yr = r.yr, *gf = r.gf, *gr = r.gr;
    double ef = 0, eo = 0, eg = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i], y, d;
        if (isnan(v) || isinf(v)) {
            bad += gelu_special_bad(&r, i);
            continue;
        }
        gelu_tanh_d(v, &y, &d);
        double u = fabs(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v));
        double rtol = 5e-7 + 4.0 * FLT_EPSILON * fmin(u, 1e30);
        /* below y ~ 1e-38 s is a denormal (spacing 2^-149), scaled by |x|; without the
         * vector path the oracle's own cancellation bound applies */
        double atol = vec ? 1.5e-45 * (1 + fabs(v)) : 1.2e-7 * fabs(v) + 1e-38;
        bad += !(fabs(yf[i] - y) <= rtol * fabs(y) + atol);
        bad += !(fabs(yf[i] - yr[i]) <= 5e-7 * fabs(yr[i]) + 1.2e-7 * fabs(v) + 1e-38);
        double btol = vec ? 1e-7 : 1.1e-6;
        bad += !(fabs(gf[i] - 0.25 - d) <= 5e-7 * fabs(d) + btol);
        bad += !(fabs(gr[i] - 0.25 - d) <= 5e-7 * fabs(d) + 1.1e-6); /* the oracle too */
        if (fabs(y) > 1e-30) ef = fmax(ef, fabs(yf[i] - y) / fabs(y));
        eg = fmax(eg, fabs(gf[i] - 0.25 - d));
        eo = fmax(eo, fabs(yf[i] - yr[i]) / (fabs(yr[i]) + fabs(v) + 1e-37));
    }
    CHECK(bad == 0);
    if (bad) printf("  gelu tanh fast: %lld values outside the tolerance\n", (long long)bad);
    if (getenv("APX_TEST_VERBOSE"))
        printf("  gelu tanh fast (%s, %lld inputs): forward rel err %.2e vs double (|y| > "
               "1e-30), %.2e vs tanhf (rel to |y|+|x|); backward abs err %.2e\n",
               vec ? "AVX-512" : "reference", (long long)n, ef, eo, eg);
    gelu_run_free(&r);
}
