/* src/ad/simd_internal.h: what the engine's AVX-512 kernels share: the target attributes,
 * the run-time CPU check and a vectorized exp. Kernels are compiled for AVX-512 with a
 * target attribute and chosen at run time (apx__have_avx512); the plain C kernels next to
 * them stay the fallback and the test oracle. APX_FAST_AD is 0 where none is built. */
#ifndef APX_AD_SIMD_INTERNAL_H
#define APX_AD_SIMD_INTERNAL_H

#if defined(__GNUC__) && defined(__x86_64__) && !defined(APX_NO_AVX512)
#include <immintrin.h>
#define APX_FAST_AD 1
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INLINE_AVX512 __attribute__((target("avx512f,avx2,fma"), always_inline)) inline

static inline int apx__have_avx512(void) { return __builtin_cpu_supports("avx512f"); }

/* exp(x) for x <= 88.3: Cody-Waite reduction x = n ln2 + t, a degree-6 polynomial for
 * exp(t) on |t| <= ln2/2 (relative error ~2e-7, a few ulp), times 2^n; exactly 0 below
 * -87.3 (so masked -inf scores give 0). NaN inputs are not preserved (callers that need
 * them handle NaN themselves). */
static INLINE_AVX512 __m512 apx__exp512(__m512 x) {
    __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33f), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33f)), _mm512_set1_ps(88.37f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504089f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 t = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    t = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), t);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, t), t, _mm512_add_ps(t, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_mov_ps((__mmask16)~tiny, _mm512_scalef_ps(p, n));
}
#else
#define APX_FAST_AD 0
static inline int apx__have_avx512(void) { return 0; }
#endif

#endif /* APX_AD_SIMD_INTERNAL_H */
