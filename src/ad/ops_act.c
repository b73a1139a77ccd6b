/* ops_act.c: activations (GELU exact and tanh, ReLU, SiLU, tanh, sigmoid) and PolyReLU
 * (PolyCom, P044); forward and backward of each together. One loop per kind, no
 * per-element function pointers. */
#include <math.h>

#include "ad_internal.h"
#include "simd_internal.h"

enum { ACT_GELU_ERF, ACT_GELU_TANH, ACT_RELU, ACT_SILU, ACT_TANH, ACT_SIGMOID };
static const char *const act_name[] = {"gelu", "gelu", "relu", "silu", "tanh", "sigmoid"};

#define K_SQRT_2_PI 0.7978845608028654f   /* sqrt(2/pi) */
#define K_INV_SQRT_2 0.7071067811865476f  /* 1/sqrt(2) */
#define K_INV_SQRT_2PI 0.3989422804014327f /* 1/sqrt(2 pi) */
#define K_GELU_C 0.044715f

static inline float sigmoidf(float x) {
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* ================================================================ exact GELU
 * Reference kernels (erff, the oracle) and an AVX-512 path. The fast path writes
 * Phi(x) = 1 - q (x >= 0) or q (x < 0), q = erfc(|x|/sqrt2)/2 = exp(-x^2/2) f(t)/2,
 * t = |x|/sqrt2, f = erfcx(t) = erfc(t) exp(t^2) ~ u sum_{k<9} c_k u^k with u = 1/(1 + 0.3 t):
 * c fitted here (weighted least squares on the relative error over t in [0, 9.5], then
 * rounded to float; max relative error of f 3.7e-8). exp(-x^2/2) uses x^2 split exactly
 * by an FMA (hi + lo), so the tail (x -> -13, Phi ~ 1e-38) keeps full relative accuracy,
 * unlike 1 + erff(x/sqrt2), which cancels; for |x| < 1, Phi = 1/2 + erf(x/sqrt2)/2 by its
 * Taylor series instead (1 - q loses a few ulp there). Measured error: docs/ad.md. */

// y (n) = x Phi(x), with erff
void apx__gelu_forward_ref(int64_t n, const float *restrict x, float *restrict y) {
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * K_INV_SQRT_2));
}

// gx (n) += dy (n) * (Phi(x) + x phi(x)), with erff
void apx__gelu_backward_ref(int64_t n, const float *restrict x, const float *restrict dy,
                            float *restrict gx) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float d = 0.5f * (1.0f + erff(v * K_INV_SQRT_2)) + v * K_INV_SQRT_2PI * expf(-0.5f * v * v);
        gx[i] += dy[i] * d;
    }
}

#if APX_FAST_AD
static const float gelu_c[9] = {1.691895723e-01f, 1.706928760e-01f,  1.484741867e-01f,
                                2.144735605e-01f, -9.372877330e-02f, 5.465486050e-01f,
                                -5.113701224e-01f, 4.851700068e-01f, -1.294499487e-01f};

/* erf(z) = z sum_n a_n z^(2n), a_n = (2/sqrt(pi)) (-1)^n / (n! (2n+1)) (n < 9: truncation
 * < 1e-8 relative for |z| < 0.71). */
static const float gelu_erf_series[9] = {
    1.1283791671e+00f, -3.7612638903e-01f, 1.1283791671e-01f, -2.6866170645e-02f,
    5.2239776254e-03f, -8.5483270234e-04f, 1.2055332981e-04f, -1.4925650358e-05f,
    1.6462114365e-06f};

/* Phi(x) and phi(x) (the normal pdf) of 16 lanes. |x| is clamped at 20 (Phi is 0 or 1 in
 * float beyond 13.5), so x^2 stays finite; NaN lanes give finite garbage that the caller's
 * product with x turns back into NaN. */
static INLINE_AVX512 void gelu_phi16(__m512 x, __m512 *Phi, __m512 *pdf) {
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-20.0f)), _mm512_set1_ps(20.0f));
    __m512 t = _mm512_mul_ps(_mm512_abs_ps(xc), _mm512_set1_ps(K_INV_SQRT_2));
    __m512 u = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3f), t,
                                                                     _mm512_set1_ps(1.0f)));
    __m512 f = _mm512_set1_ps(gelu_c[8]);
    for (int k = 7; k >= 0; k--) f = _mm512_fmadd_ps(f, u, _mm512_set1_ps(gelu_c[k]));
    f = _mm512_mul_ps(f, u);
    __m512 sq = _mm512_mul_ps(xc, xc), lo = _mm512_fmsub_ps(xc, xc, sq); /* x^2 = sq + lo */
    __m512 e = apx__exp512(_mm512_mul_ps(sq, _mm512_set1_ps(-0.5f)));
    e = _mm512_fnmadd_ps(e, _mm512_mul_ps(lo, _mm512_set1_ps(0.5f)), e); /* exp(-x^2/2) */
    __m512 q = _mm512_mul_ps(_mm512_mul_ps(e, f), _mm512_set1_ps(0.5f));
    __mmask16 neg = _mm512_cmp_ps_mask(xc, _mm512_setzero_ps(), _CMP_LT_OQ);
    *Phi = _mm512_mask_mov_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), q), neg, q);
    /* |x| < 1: Phi = 1/2 + erf(z)/2 by the Taylor series, more accurate than 1 - q there */
    __m512 z = _mm512_mul_ps(xc, _mm512_set1_ps(K_INV_SQRT_2)), z2 = _mm512_mul_ps(z, z);
    __m512 s = _mm512_set1_ps(gelu_erf_series[8]);
    for (int k = 7; k >= 0; k--) s = _mm512_fmadd_ps(s, z2, _mm512_set1_ps(gelu_erf_series[k]));
    __mmask16 small = _mm512_cmp_ps_mask(_mm512_abs_ps(xc), _mm512_set1_ps(1.0f), _CMP_LT_OQ);
    *Phi = _mm512_mask_mov_ps(*Phi, small, _mm512_fmadd_ps(_mm512_mul_ps(z, s),
                                                           _mm512_set1_ps(0.5f),
                                                           _mm512_set1_ps(0.5f)));
    *pdf = _mm512_mul_ps(e, _mm512_set1_ps(K_INV_SQRT_2PI));
}

// y (n) = x Phi(x)
static AVX512 void gelu_forward_avx512(int64_t n, const float *x, float *y) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i), Phi, pdf;
        gelu_phi16(v, &Phi, &pdf);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, Phi));
    }
}

// gx (n) += dy * (Phi(x) + x phi(x))
static AVX512 void gelu_backward_avx512(int64_t n, const float *x, const float *dy, float *gx) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i), Phi, pdf;
        gelu_phi16(v, &Phi, &pdf);
        __m512 d = _mm512_fmadd_ps(v, pdf, Phi);
        __m512 g = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, dy + i), d,
                                   _mm512_maskz_loadu_ps(m, gx + i));
        _mm512_mask_storeu_ps(gx + i, m, g);
    }
}
#endif

/* ================================================================ tanh GELU
 * y = 0.5 x (1 + tanh(u)) = x s, s = sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3);
 * dy/dx = s + 2 x u'(x) s (1 - s), u' = sqrt(2/pi) (1 + 3 0.044715 x^2). The reference is the
 * definition with tanhf (the oracle; its 1 + tanh(u) cancels for x < 0, and it returns 0
 * below x ~ -9); where sech^2(u) is 0 in float the derivative's second term is 0 (not
 * 0 * inf for |x| > 1.8e19). The AVX-512 path evaluates s and 1 - s from e = exp(-2|u|)
 * (s = 1/(1+e) for u >= 0, e/(1+e) for u < 0, and 1 - s the other one) so neither
 * overflows nor cancels: the negative tail keeps its relative accuracy down to the
 * denormals (limited by the float rounding of u: ~|u| ulp). */

// y (n) = 0.5 x (1 + tanh(u)), with tanhf
void apx__gelu_tanh_forward_ref(int64_t n, const float *restrict x, float *restrict y) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], u = K_SQRT_2_PI * (v + K_GELU_C * v * v * v);
        y[i] = 0.5f * v * (1.0f + tanhf(u));
    }
}

// gx (n) += dy (n) * (0.5 (1 + t) + 0.5 x sech^2(u) u'(x)), t = tanhf(u)
void apx__gelu_tanh_backward_ref(int64_t n, const float *restrict x, const float *restrict dy,
                                 float *restrict gx) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], t = tanhf(K_SQRT_2_PI * (v + K_GELU_C * v * v * v)), sech2 = 1.0f - t * t;
        float d = 0.5f * (1.0f + t);
        if (sech2 > 0) d += 0.5f * v * sech2 * K_SQRT_2_PI * (1.0f + 3.0f * K_GELU_C * v * v);
        gx[i] += dy[i] * d;
    }
}

#if APX_FAST_AD
/* s = sigmoid(2u), sc = 1 - s and e = exp(-2|u|) of 16 lanes (see above). */
static INLINE_AVX512 void gelu_tanh_s16(__m512 x, __m512 *s, __m512 *sc, __m512 *e) {
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 u = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(K_SQRT_2_PI), x),
                             _mm512_fmadd_ps(_mm512_set1_ps(K_GELU_C), x2, _mm512_set1_ps(1.0f)));
    __m512 e1 = apx__exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(u)));
    *e = _mm512_mul_ps(e1, e1); /* exp(-|u|)^2: reaches the denormals (exp512 stops at -87) */
    __m512 r = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), *e));
    __m512 er = _mm512_mul_ps(*e, r);
    __mmask16 neg = _mm512_cmp_ps_mask(u, _mm512_setzero_ps(), _CMP_LT_OQ);
    *s = _mm512_mask_mov_ps(r, neg, er);
    *sc = _mm512_mask_mov_ps(er, neg, r);
}

// y (n) = x s
static AVX512 void gelu_tanh_forward_avx512(int64_t n, const float *x, float *y) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i), s, sc, e;
        gelu_tanh_s16(v, &s, &sc, &e);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, s));
    }
}

// gx (n) += dy * (s + 2 x u'(x) s (1 - s)), the second term 0 where e = 0
static AVX512 void gelu_tanh_backward_avx512(int64_t n, const float *x, const float *dy,
                                             float *gx) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i), s, sc, e;
        gelu_tanh_s16(v, &s, &sc, &e);
        __m512 up = _mm512_fmadd_ps(_mm512_set1_ps(3.0f * K_GELU_C * 2.0f * K_SQRT_2_PI),
                                    _mm512_mul_ps(v, v), _mm512_set1_ps(2.0f * K_SQRT_2_PI));
        __m512 t = _mm512_mul_ps(_mm512_mul_ps(v, up), _mm512_mul_ps(s, sc));
        __mmask16 live = _mm512_cmp_ps_mask(e, _mm512_setzero_ps(), _CMP_GT_OQ);
        __m512 d = _mm512_mask_add_ps(s, live, s, t);
        d = _mm512_mask_mov_ps(d, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v); /* NaN in, NaN out */
        __m512 g = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, dy + i), d,
                                   _mm512_maskz_loadu_ps(m, gx + i));
        _mm512_mask_storeu_ps(gx + i, m, g);
    }
}
#endif

/* Blocks of ACT_BLOCK elements are shared by the threads above ACT_PAR elements. */
enum { ACT_BLOCK = 4096, ACT_PAR = 1 << 15 };

/* Run a vector kernel over blocks (threads share them above ACT_PAR elements) when the CPU
 * has AVX-512, else the reference; 1 when the vector kernel ran. */
typedef void (*act_fwd_fn)(int64_t n, const float *x, float *y);
typedef void (*act_bwd_fn)(int64_t n, const float *x, const float *dy, float *gx);

static int run_fwd(act_fwd_fn vec, act_fwd_fn ref, int64_t n, const float *x, float *y) {
    if (vec && apx__have_avx512()) {
#pragma omp parallel for schedule(static) if (n > ACT_PAR)
        for (int64_t b = 0; b < n; b += ACT_BLOCK) vec(APX__MIN(ACT_BLOCK, n - b), x + b, y + b);
        return 1;
    }
    ref(n, x, y);
    return 0;
}

static int run_bwd(act_bwd_fn vec, act_bwd_fn ref, int64_t n, const float *x, const float *dy,
                   float *gx) {
    if (vec && apx__have_avx512()) {
#pragma omp parallel for schedule(static) if (n > ACT_PAR)
        for (int64_t b = 0; b < n; b += ACT_BLOCK)
            vec(APX__MIN(ACT_BLOCK, n - b), x + b, dy + b, gx + b);
        return 1;
    }
    ref(n, x, dy, gx);
    return 0;
}

#if APX_FAST_AD
#define VEC(f) f
#else
#define VEC(f) NULL
#endif

int apx__gelu_forward_fast(int64_t n, const float *x, float *y) {
    return run_fwd(VEC(gelu_forward_avx512), apx__gelu_forward_ref, n, x, y);
}
int apx__gelu_backward_fast(int64_t n, const float *x, const float *dy, float *gx) {
    return run_bwd(VEC(gelu_backward_avx512), apx__gelu_backward_ref, n, x, dy, gx);
}
int apx__gelu_tanh_forward_fast(int64_t n, const float *x, float *y) {
    return run_fwd(VEC(gelu_tanh_forward_avx512), apx__gelu_tanh_forward_ref, n, x, y);
}
int apx__gelu_tanh_backward_fast(int64_t n, const float *x, const float *dy, float *gx) {
    return run_bwd(VEC(gelu_tanh_backward_avx512), apx__gelu_tanh_backward_ref, n, x, dy, gx);
}

// y (n) = act(x (n))
static void act_forward(int kind, int64_t n, const float *restrict x, float *restrict y) {
    switch (kind) {
    case ACT_GELU_ERF: apx__gelu_forward_fast(n, x, y); break;
    case ACT_GELU_TANH: apx__gelu_tanh_forward_fast(n, x, y); break;
    case ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
        break;
    case ACT_SILU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * sigmoidf(x[i]);
        break;
    case ACT_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = sigmoidf(x[i]);
    }
}

// gx (n) += dy (n) * act'(x); tanh and sigmoid use their output y
static void act_backward_kernel(int kind, int64_t n, const float *restrict x,
                                const float *restrict y, const float *restrict dy,
                                float *restrict gx) {
    switch (kind) {
    case ACT_GELU_ERF: apx__gelu_backward_fast(n, x, dy, gx); break;
    case ACT_GELU_TANH: apx__gelu_tanh_backward_fast(n, x, dy, gx); break;
    case ACT_RELU:
        for (int64_t i = 0; i < n; i++) gx[i] += x[i] > 0 ? dy[i] : 0.0f;
        break;
    case ACT_SILU:
        for (int64_t i = 0; i < n; i++) {
            float s = sigmoidf(x[i]);
            gx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
        }
        break;
    case ACT_TANH:
        for (int64_t i = 0; i < n; i++) gx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++) gx[i] += dy[i] * y[i] * (1.0f - y[i]);
    }
}

static apx_status act_backward(apx_graph *g, apx__node *n) {
    float *gx = apx__gin(n->in[0]);
    if (gx)
        act_backward_kernel(*(const int *)n->saved, n->out->size, n->in[0]->data,
                            n->out->data, n->out->grad, gx);
    return APX_OK;
}

// gtx (n) += dy * act''(x) * tx, the second-order term of the R-backward
static void act_second(int kind, int64_t n, const float *restrict x, const float *restrict y,
                       const float *restrict tx, const float *restrict dy,
                       float *restrict gtx) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], d2;
        switch (kind) {
        case ACT_GELU_ERF: d2 = K_INV_SQRT_2PI * expf(-0.5f * v * v) * (2.0f - v * v); break;
        case ACT_GELU_TANH: {
            float u1 = K_SQRT_2_PI * (1.0f + 3.0f * K_GELU_C * v * v);
            float t = tanhf(K_SQRT_2_PI * (v + K_GELU_C * v * v * v));
            d2 = t * t < 1.0f ? (1.0f - t * t) * (u1 - v * t * u1 * u1 +
                                                  3.0f * K_SQRT_2_PI * K_GELU_C * v * v)
                              : 0.0f;
            break;
        }
        case ACT_RELU: d2 = 0.0f; break;
        case ACT_SILU: {
            float sg = sigmoidf(v);
            d2 = sg * (1.0f - sg) * (2.0f + v * (1.0f - 2.0f * sg));
            break;
        }
        case ACT_TANH: d2 = -2.0f * y[i] * (1.0f - y[i] * y[i]); break;
        default: d2 = y[i] * (1.0f - y[i]) * (1.0f - 2.0f * y[i]);
        }
        gtx[i] += dy[i] * d2 * tx[i];
    }
}

/* R-backward: gtx += tdy act'(x) (the backward on tangents) + dy act''(x) tx. */
static apx_status act_rback(apx_graph *g, apx__node *n) {
    APX__TRY(apx__backward_on(g, n, 0, ~0u, 1));
    apx_tensor *x = n->in[0];
    if (apx__gin(x))
        act_second(*(const int *)n->saved, x->size, x->data, n->out->data, x->tan_,
                   n->out->grad, x->gtan_);
    return APX_OK;
}

static apx_status act(apx_graph *g, int kind, apx_tensor *x, apx_tensor **out) {
    const char *op = act_name[kind];
    APX__TRY(apx__check_op(g, op, out));
    APX__TRY(apx__check_tensor(g, op, "x", x));
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, op, x->ndim, x->shape, &y));
    act_forward(kind, x->size, x->data, y->data);
    int *s = NULL;
    if (apx__wants_grad(g, 1, &x)) {
        if (!(s = apx__arena_alloc(g, op, sizeof *s))) return APX_ENOMEM;
        *s = kind;
    }
    APX__TRY(apx__record(g, op, act_backward, y, 1, &x, s));
    apx__set_rop(g, y, apx__jvp_symmetric, act_rback);
    *out = y;
    return APX_OK;
}

apx_status apx_ad_gelu(apx_graph *g, apx_tensor *x, apx_gelu_kind kind, apx_tensor **out) {
    if (kind != APX_GELU_ERF && kind != APX_GELU_TANH)
        return apx__err(APX_EINVAL, "gelu: kind must be APX_GELU_ERF (0) or APX_GELU_TANH (1), "
                        "got %d", (int)kind);
    return act(g, kind == APX_GELU_ERF ? ACT_GELU_ERF : ACT_GELU_TANH, x, out);
}
apx_status apx_ad_relu(apx_graph *g, apx_tensor *x, apx_tensor **out) {
    return act(g, ACT_RELU, x, out);
}
apx_status apx_ad_silu(apx_graph *g, apx_tensor *x, apx_tensor **out) {
    return act(g, ACT_SILU, x, out);
}
apx_status apx_ad_tanh(apx_graph *g, apx_tensor *x, apx_tensor **out) {
    return act(g, ACT_TANH, x, out);
}
apx_status apx_ad_sigmoid(apx_graph *g, apx_tensor *x, apx_tensor **out) {
    return act(g, ACT_SIGMOID, x, out);
}

/* ================================================================ PolyReLU (P044) */

#define POLY_MAX_R 16

// y (n) = sum_{j<r} w[j] relu(x)^(r-j) + b, by Horner
static void polyrelu_forward(int64_t n, int r, const float *x, const float *w, float b,
                             float *y) {
    for (int64_t i = 0; i < n; i++) {
        float rho = x[i] > 0 ? x[i] : 0.0f, acc = w[0];
        for (int j = 1; j < r; j++) acc = acc * rho + w[j];
        y[i] = acc * rho + b;
    }
}

// gx (n) += dy P'(relu x) [x>0]; gw[j] += sum dy relu(x)^(r-j); gb += sum dy
static void polyrelu_grads(int64_t n, int r, const float *x, const float *w, const float *dy,
                           float *gx, double *gw, double *gb) {
    for (int64_t i = 0; i < n; i++) {
        float rho = x[i] > 0 ? x[i] : 0.0f;
        if (gx && x[i] > 0) {
            float acc = (float)r * w[0];
            for (int j = 1; j < r; j++) acc = acc * rho + (float)(r - j) * w[j];
            gx[i] += dy[i] * acc;
        }
        double p = rho;
        for (int j = r - 1; j >= 0; j--) {
            gw[j] += (double)dy[i] * p;
            p *= rho;
        }
        *gb += dy[i];
    }
}

static apx_status polyrelu_backward(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    int r = (int)w->size;
    double gw[POLY_MAX_R] = {0}, gb = 0;
    polyrelu_grads(x->size, r, x->data, w->data, n->out->grad, apx__gin(x), gw, &gb);
    if (apx__gin(w))
        for (int j = 0; j < r; j++) w->grad[j] += (float)gw[j];
    if (apx__gin(b)) b->grad[0] += (float)gb;
    return APX_OK;
}

/* ---------------------------------------------------------------- PolyReLU R-op
 * y = P_w(rho) + b, P_w(rho) = sum_j w[j] rho^(r-j), rho = relu(x). jvp: ty = [x>0] P_w'(rho)
 * tx + P_tw(rho) + tb. R-backward: the backward on tdy, plus tgx += dy [x>0] (P_w''(rho) tx
 * + P_tw'(rho)) and tgw[j] += sum dy [x>0] (r-j) rho^(r-j-1) tx. */

// the m-th derivative (m = 0, 1, 2) of sum_{j<r} c[j] rho^(r-j) at rho
static float poly_deriv(int r, const float *c, float rho, int m) {
    float acc = 0;
    for (int j = 0; j < r; j++) {
        int k = r - j;
        if (k < m) continue;
        float f = c[j], p = 1.0f;
        for (int i = 0; i < m; i++) f *= (float)(k - i);
        for (int i = 0; i < k - m; i++) p *= rho;
        acc += f * p;
    }
    return acc;
}

static apx_status polyrelu_jvp(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    int r = (int)w->size;
    float *ty = apx__out_tan(g, n), tb = b ? b->tan_[0] : 0.0f;
    if (!ty) return APX_ENOMEM;
    for (int64_t i = 0; i < x->size; i++) { // ty (n) = [x>0] P'(rho) tx + P_tw(rho) + tb
        float rho = x->data[i] > 0 ? x->data[i] : 0.0f;
        float d = x->data[i] > 0 ? poly_deriv(r, w->data, rho, 1) * x->tan_[i] : 0.0f;
        ty[i] = d + poly_deriv(r, w->tan_, rho, 0) + tb;
    }
    return APX_OK;
}

static apx_status polyrelu_rback(apx_graph *g, apx__node *n) {
    APX__TRY(apx__backward_on(g, n, 0, ~0u, 1));
    apx_tensor *x = n->in[0], *w = n->in[1];
    const float *dy = n->out->grad;
    int r = (int)w->size;
    double tgw[POLY_MAX_R] = {0};
    for (int64_t i = 0; i < x->size; i++) {
        if (!(x->data[i] > 0)) continue;
        float rho = x->data[i], tx = x->tan_[i];
        if (apx__gin(x))
            x->gtan_[i] += dy[i] * (poly_deriv(r, w->data, rho, 2) * tx +
                                    poly_deriv(r, w->tan_, rho, 1));
        double p = (double)dy[i] * tx; // d/dx of rho^(r-j) = (r-j) rho^(r-j-1)
        for (int j = r - 1; j >= 0; j--) {
            tgw[j] += p * (double)(r - j);
            p *= rho;
        }
    }
    if (apx__gin(w))
        for (int j = 0; j < r; j++) w->gtan_[j] += (float)tgw[j];
    return APX_OK;
}

/* weight (r), 1 <= r <= 16; bias NULL or of size 1. */
apx_status apx__check_poly_coefs(apx_graph *g, const char *op, apx_tensor *w, apx_tensor *b) {
    APX__TRY(apx__check_tensor(g, op, "weight", w));
    if (w->ndim != 1 || w->size > POLY_MAX_R) {
        char sw[96];
        return apx__err(APX_ESHAPE, "%s: weight must have shape (r) with 1 <= r <= %d, got %s",
                        op, POLY_MAX_R, apx__shape_str(w, sw));
    }
    if (b) {
        APX__TRY(apx__check_tensor(g, op, "bias", b));
        if (b->size != 1) {
            char sb[96];
            return apx__err(APX_ESHAPE, "%s: bias must have one element, got %s", op,
                            apx__shape_str(b, sb));
        }
    }
    return APX_OK;
}

apx_status apx_ad_polyrelu(apx_graph *g, apx_tensor *x, apx_tensor *weight, apx_tensor *bias,
                           apx_tensor **out) {
    APX__TRY(apx__check_op(g, "polyrelu", out));
    APX__TRY(apx__check_tensor(g, "polyrelu", "x", x));
    APX__TRY(apx__check_poly_coefs(g, "polyrelu", weight, bias));
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, "polyrelu", x->ndim, x->shape, &y));
    polyrelu_forward(x->size, (int)weight->size, x->data, weight->data,
                     bias ? bias->data[0] : 0.0f, y->data);
    apx_tensor *in[3] = {x, weight, bias};
    APX__TRY(apx__record(g, "polyrelu", polyrelu_backward, y, 3, in, NULL));
    apx__set_rop(g, y, polyrelu_jvp, polyrelu_rback);
    *out = y;
    return APX_OK;
}
