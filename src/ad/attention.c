/* attention.c: causal multi-head softmax attention in tiles with an online softmax,
 * forward and backward, FlashAttention-2 style (P107: Saha and Ye, "The I/O complexity of
 * attention"; Dao, FlashAttention-2). The Tq x Tk score matrix is never stored: the forward
 * keeps only O and the row logsumexp L; the backward recomputes P = exp(S - L) tile by tile.
 *
 * Layout: q (B,Tq,H*Dk), k (B,Tk,H*Dk), v (B,Tk,H*Dv), o (B,Tq,H*Dv); head h uses columns
 * [h*D, (h+1)*D). One task per (batch, head), OpenMP-parallel; each task owns its rows of
 * o/L and its columns of dq/dk/dv, so results do not depend on the thread count.
 * Tile kernels are written in axpy form (contiguous inner loops that vectorize). */
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ad_internal.h"
#include "simd_internal.h"

apx_attention_opts apx_attention_opts_default(void) {
    apx_attention_opts o = {1, 1, 0.0f, 0, 0, 0, NULL};
    return o;
}

double apx_attention_io_model(int64_t n, int64_t d, int64_t m) {
    if (n < 1 || d < 1 || m < 1) return 0;
    return (double)n * (double)n * (double)d * (double)d / (double)m;
}

typedef struct {
    int64_t B, Tq, Tk, H, Dk, Dv;
    int causal;
    float scale;
    int64_t bq, bk;   /* forward tiles: Q rows, K/V rows */
    int64_t bbq, bbk; /* backward tiles */
    float *lse;       /* (B, H, Tq) */
    apx_attention_io *io;
    float *mu;        /* (B, H, Tq) rowsum(P tS), set by the jvp (exact HVP) */
} attn_geom;

/* Pointers of one (b, h) task. */
typedef struct {
    const float *q, *k, *v, *o, *dO;
    float *out, *lse, *gq, *gk, *gv;
    const float *L, *D;
} attn_task;

static inline int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
static inline int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* ================================================================ tile kernels */

// T (br,D) = rows [r0, r0+br) of a strided (., ld) matrix, times s
static void load_rows(int64_t br, int64_t D, const float *src, int64_t ld, float s,
                      float *restrict T) {
    for (int64_t r = 0; r < br; r++)
        for (int64_t d = 0; d < D; d++) T[r * D + d] = src[r * ld + d] * s;
}

// Tt (D,bc) = rows of a strided (., ld) matrix, transposed
static void load_rows_t(int64_t bc, int64_t D, const float *src, int64_t ld, float *restrict Tt) {
    for (int64_t c = 0; c < bc; c++)
        for (int64_t d = 0; d < D; d++) Tt[d * bc + c] = src[c * ld + d];
}

// S (br,bc) = A (br,D) x Bt (D,bc)   (the portable reference kernel)
static void tile_ab_ref(int64_t br, int64_t bc, int64_t D, const float *restrict A,
                    const float *restrict Bt, float *restrict S) {
    for (int64_t r = 0; r < br; r++) {
        float *s = S + r * bc;
        for (int64_t c = 0; c < bc; c++) s[c] = 0;
        for (int64_t d = 0; d < D; d++) {
            float a = A[r * D + d];
            const float *b = Bt + d * bc;
#pragma omp simd
            for (int64_t c = 0; c < bc; c++) s[c] += a * b[c];
        }
    }
}

// Y (br,D) += s * P (br,bc) x X (bc,D)   (rows of Y may be strided by ldy; reference)
static void tile_pv_ref(int64_t br, int64_t bc, int64_t D, float s, const float *restrict P,
                    const float *restrict X, float *restrict Y, int64_t ldy) {
    for (int64_t r = 0; r < br; r++) {
        float *y = Y + r * ldy;
        for (int64_t c = 0; c < bc; c++) {
            float p = s * P[r * bc + c];
            if (p == 0.0f) continue;
            const float *x = X + c * D;
#pragma omp simd
            for (int64_t d = 0; d < D; d++) y[d] += p * x[d];
        }
    }
}

// Y (bc,D) += s * P^T (bc,br) x X (br,D)   (reference)
static void tile_ptx_ref(int64_t br, int64_t bc, int64_t D, float s, const float *restrict P,
                     const float *restrict X, float *restrict Y) {
    for (int64_t r = 0; r < br; r++) {
        const float *x = X + r * D;
        for (int64_t c = 0; c < bc; c++) {
            float p = s * P[r * bc + c];
            if (p == 0.0f) continue;
            float *y = Y + c * D;
#pragma omp simd
            for (int64_t d = 0; d < D; d++) y[d] += p * x[d];
        }
    }
}

/* ================================================================ AVX-512 kernels
 * The same three products, register-blocked (up to 4 rows x 64 columns of accumulators)
 * with FMA, and a vectorized exp; compiled for AVX-512 with a target attribute and chosen
 * at run time when the CPU has it and the tile fits (16-float multiples). The reference
 * kernels above remain the fallback and the oracle (tests/nn/test_attention_fast.c). */
#if APX_FAST_AD
#define FAST_ATTN 1
static int have_avx512(void) { return apx__have_avx512(); }

// S rows r..r+R, columns c..c+16 NV = A (R,D) x Bt (D, 16 NV)
static INLINE_AVX512 void ab_block(const int R, const int NV, int64_t D, const float *A,
                                   const float *Bt, int64_t bc, float *S) {
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    for (int64_t d = 0; d < D; d++) {
        __m512 b[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_ps(Bt + d * bc + 16 * v);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            __m512 a = _mm512_set1_ps(A[i * D + d]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(S + i * bc + 16 * v, acc[i][v]);
}

// S (br,bc) = A (br,D) x Bt (D,bc), bc a multiple of 16
static AVX512 void tile_ab_avx512(int64_t br, int64_t bc, int64_t D, const float *A,
                                  const float *Bt, float *S) {
    for (int64_t c = 0; c < bc; c += 64) {
        int nv = (int)APX__MIN(4, (bc - c) / 16);
        int64_t r = 0;
        for (; r + 4 <= br; r += 4)
            switch (nv) {
            case 4: ab_block(4, 4, D, A + r * D, Bt + c, bc, S + r * bc + c); break;
            case 3: ab_block(4, 3, D, A + r * D, Bt + c, bc, S + r * bc + c); break;
            case 2: ab_block(4, 2, D, A + r * D, Bt + c, bc, S + r * bc + c); break;
            default: ab_block(4, 1, D, A + r * D, Bt + c, bc, S + r * bc + c); break;
            }
        for (; r < br; r++)
            switch (nv) {
            case 4: ab_block(1, 4, D, A + r * D, Bt + c, bc, S + r * bc + c); break;
            case 3: ab_block(1, 3, D, A + r * D, Bt + c, bc, S + r * bc + c); break;
            case 2: ab_block(1, 2, D, A + r * D, Bt + c, bc, S + r * bc + c); break;
            default: ab_block(1, 1, D, A + r * D, Bt + c, bc, S + r * bc + c); break;
            }
    }
}

// Y rows (R, 16 NV) += sum_c s P(i,c) X (c, 16 NV), P(i,c) = P[i pi + c pc]
static INLINE_AVX512 void px_block(const int R, const int NV, int64_t n, float s,
                                   const float *P, int64_t pi, int64_t pc, const float *X,
                                   int64_t ldx, float *Y, int64_t ldy) {
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_loadu_ps(Y + i * ldy + 16 * v);
    for (int64_t c = 0; c < n; c++) {
        __m512 x[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) x[v] = _mm512_loadu_ps(X + c * ldx + 16 * v);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            __m512 p = _mm512_set1_ps(s * P[i * pi + c * pc]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(p, x[v], acc[i][v]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(Y + i * ldy + 16 * v, acc[i][v]);
}

#define PX_CASES(R)                                                                       \
    switch (nv) {                                                                         \
    case 4: px_block(R, 4, n, s, P + r * pi, pi, pc, X + d, ldx, Y + r * ldy + d, ldy); break; \
    case 3: px_block(R, 3, n, s, P + r * pi, pi, pc, X + d, ldx, Y + r * ldy + d, ldy); break; \
    case 2: px_block(R, 2, n, s, P + r * pi, pi, pc, X + d, ldx, Y + r * ldy + d, ldy); break; \
    default: px_block(R, 1, n, s, P + r * pi, pi, pc, X + d, ldx, Y + r * ldy + d, ldy); break; \
    }

// Y (rows,D) += s sum_c P(r,c) X (c,D) for c < n, D a multiple of 16
static AVX512 void tile_px_avx512(int64_t rows, int64_t n, int64_t D, float s, const float *P,
                                  int64_t pi, int64_t pc, const float *X, int64_t ldx, float *Y,
                                  int64_t ldy) {
    for (int64_t d = 0; d < D; d += 64) {
        int nv = (int)APX__MIN(4, (D - d) / 16);
        int64_t r = 0;
        for (; r + 4 <= rows; r += 4) PX_CASES(4)
        for (; r < rows; r++) PX_CASES(1)
    }
}

// y[c] = exp(a x[c] - b) for c < n (n a multiple of 16); returns sum_c y[c]
static AVX512 float exp_row_avx512(int64_t n, float a, const float *x, float b, float *y) {
    __m512 acc = _mm512_setzero_ps(), va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    for (int64_t c = 0; c < n; c += 16) {
        __m512 e = apx__exp512(_mm512_fmsub_ps(va, _mm512_loadu_ps(x + c), vb));
        _mm512_storeu_ps(y + c, e);
        acc = _mm512_add_ps(acc, e);
    }
    return _mm512_reduce_add_ps(acc);
}
#else
#define FAST_ATTN 0
static int have_avx512(void) { return 0; }
#endif

/* ================================================================ dispatch */

// S (br,bc) = A (br,D) x Bt (D,bc)
static void tile_ab(int64_t br, int64_t bc, int64_t D, const float *restrict A,
                    const float *restrict Bt, float *restrict S) {
#if FAST_ATTN
    if (bc % 16 == 0 && have_avx512()) {
        tile_ab_avx512(br, bc, D, A, Bt, S);
        return;
    }
#endif
    tile_ab_ref(br, bc, D, A, Bt, S);
}

// Y (br,D) += s * P (br,bc) x X (bc,D)   (rows of Y may be strided by ldy)
static void tile_pv(int64_t br, int64_t bc, int64_t D, float s, const float *restrict P,
                    const float *restrict X, float *restrict Y, int64_t ldy) {
#if FAST_ATTN
    if (D % 16 == 0 && have_avx512()) {
        tile_px_avx512(br, bc, D, s, P, bc, 1, X, D, Y, ldy);
        return;
    }
#endif
    tile_pv_ref(br, bc, D, s, P, X, Y, ldy);
}

// Y (bc,D) += s * P^T (bc,br) x X (br,D)
static void tile_ptx(int64_t br, int64_t bc, int64_t D, float s, const float *restrict P,
                     const float *restrict X, float *restrict Y) {
#if FAST_ATTN
    if (D % 16 == 0 && have_avx512()) {
        tile_px_avx512(bc, br, D, s, P, 1, bc, X, D, Y, D);
        return;
    }
#endif
    tile_ptx_ref(br, bc, D, s, P, X, Y);
}

// y[c] = exp(a x[c] - b) for c < n; returns the sum (y may alias x)
static float exp_row(int64_t n, float a, const float *x, float b, float *y) {
#if FAST_ATTN
    if (n % 16 == 0 && have_avx512()) return exp_row_avx512(n, a, x, b, y);
#endif
    float sum = 0;
    for (int64_t c = 0; c < n; c++) {
        y[c] = expf(a * x[c] - b);
        sum += y[c];
    }
    return sum;
}

/* Causal mask of a tile: key j0+c is hidden from query i0+r when j0+c > i0+r. */
static void mask_tile(int64_t br, int64_t bc, int64_t i0, int64_t j0, float fill, float *S) {
    if (j0 + bc - 1 <= i0) return; /* the whole tile is visible */
    for (int64_t r = 0; r < br; r++)
        for (int64_t c = (i0 + r + 1 > j0 ? i0 + r + 1 - j0 : 0); c < bc; c++) S[r * bc + c] = fill;
}

/* ================================================================ forward */

/* Online-softmax update of rows with a score tile S (br,bc) -> P in place; O (br,Dv). */
static void online_update(int64_t br, int64_t bc, int64_t Dv, float *S, const float *V,
                          float *m, float *l, float *O) {
    for (int64_t r = 0; r < br; r++) {
        float *s = S + r * bc, mx = m[r];
        for (int64_t c = 0; c < bc; c++) mx = s[c] > mx ? s[c] : mx;
        float alpha = expf(m[r] - mx); /* m = -inf first: alpha = 0 */
        float sum = exp_row(bc, 1.0f, s, mx, s);
        l[r] = alpha * l[r] + sum;
        m[r] = mx;
        for (int64_t d = 0; d < Dv; d++) O[r * Dv + d] *= alpha;
    }
    tile_pv(br, bc, Dv, 1.0f, S, V, O, Dv);
}

// o (Tq,Dv) = softmax(scale q k^T + mask) v for one (b,h); L (Tq) = row logsumexp
static void attn_fwd_task(const attn_geom *a, const attn_task *t, float *ws, int64_t io[2]) {
    int64_t Dk = a->Dk, Dv = a->Dv, ck = a->H * Dk, cv = a->H * Dv;
    float *Q = ws, *Kt = Q + a->bq * Dk, *V = Kt + Dk * a->bk, *S = V + a->bk * Dv;
    float *O = S + a->bq * a->bk, *m = O + a->bq * Dv, *l = m + a->bq;
    for (int64_t i0 = 0; i0 < a->Tq; i0 += a->bq) {
        int64_t br = APX__MIN(a->bq, a->Tq - i0);
        int64_t jend = a->causal ? APX__MIN(a->Tk, i0 + br) : a->Tk;
        load_rows(br, Dk, t->q + i0 * ck, ck, a->scale, Q);
        io[0] += br * Dk;
        for (int64_t r = 0; r < br; r++) m[r] = -INFINITY, l[r] = 0;
        memset(O, 0, (size_t)(br * Dv) * sizeof(float));
        for (int64_t j0 = 0; j0 < jend; j0 += a->bk) {
            int64_t bc = APX__MIN(a->bk, jend - j0);
            load_rows_t(bc, Dk, t->k + j0 * ck, ck, Kt);
            load_rows(bc, Dv, t->v + j0 * cv, cv, 1.0f, V);
            io[0] += bc * (Dk + Dv);
            tile_ab(br, bc, Dk, Q, Kt, S);
            if (a->causal) mask_tile(br, bc, i0, j0, -INFINITY, S);
            online_update(br, bc, Dv, S, V, m, l, O);
        }
        for (int64_t r = 0; r < br; r++) {
            float inv = 1.0f / l[r];
            for (int64_t d = 0; d < Dv; d++) t->out[(i0 + r) * cv + d] = O[r * Dv + d] * inv;
            t->lse[i0 + r] = m[r] + logf(l[r]);
        }
        io[1] += br * (Dv + 1);
    }
}

static int64_t fwd_ws_floats(const attn_geom *a) {
    return a->bq * a->Dk + a->Dk * a->bk + a->bk * a->Dv + a->bq * a->bk + a->bq * a->Dv +
           2 * a->bq;
}

static attn_task task_of(const attn_geom *a, int64_t b, int64_t h, const float *q,
                         const float *k, const float *v) {
    attn_task t;
    memset(&t, 0, sizeof t);
    t.q = q + b * a->Tq * a->H * a->Dk + h * a->Dk;
    t.k = k + b * a->Tk * a->H * a->Dk + h * a->Dk;
    t.v = v + b * a->Tk * a->H * a->Dv + h * a->Dv;
    return t;
}

static void attn_forward(const attn_geom *a, const float *q, const float *k, const float *v,
                         float *o, float *ws) {
    int64_t nt = a->B * a->H, wsz = fwd_ws_floats(a), rd = 0, wr = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : rd, wr)
    for (int64_t task = 0; task < nt; task++) {
        int64_t b = task / a->H, h = task % a->H, io[2] = {0, 0};
        attn_task t = task_of(a, b, h, q, k, v);
        t.out = o + b * a->Tq * a->H * a->Dv + h * a->Dv;
        t.lse = a->lse + task * a->Tq;
        attn_fwd_task(a, &t, ws + thread_id() * wsz, io);
        rd += io[0];
        wr += io[1];
    }
    if (a->io) {
        a->io->fwd_read = 4 * rd;
        a->io->fwd_write = 4 * wr;
        a->io->block_q = a->bq;
        a->io->block_k = a->bk;
    }
}

/* ================================================================ backward */

typedef struct {
    float *K, *Kt, *Vt, *dK, *dV, *Q, *dO, *P, *dS;
} bwd_ws;

static int64_t bwd_ws_floats(const attn_geom *a) {
    int64_t bk = a->bbk, bq = a->bbq;
    return 2 * bk * a->Dk + a->Dv * bk + bk * a->Dk + bk * a->Dv + bq * a->Dk + bq * a->Dv +
           2 * bq * bk;
}

static bwd_ws split_bwd_ws(const attn_geom *a, float *w) {
    bwd_ws s;
    int64_t bk = a->bbk, bq = a->bbq;
    s.K = w;
    s.Kt = s.K + bk * a->Dk;
    s.Vt = s.Kt + a->Dk * bk;
    s.dK = s.Vt + a->Dv * bk;
    s.dV = s.dK + bk * a->Dk;
    s.Q = s.dV + bk * a->Dv;
    s.dO = s.Q + bq * a->Dk;
    s.P = s.dO + bq * a->Dv;
    s.dS = s.P + bq * bk;
    return s;
}

/* One (query tile, key tile) pair: P = exp(scale Q K^T - L), dV += P^T dO,
 * dS = P (dO V^T - D), dQ += scale dS K, dK += scale dS^T Q. */
static void bwd_pair(const attn_geom *a, const attn_task *t, const bwd_ws *w, int64_t i0,
                     int64_t br, int64_t j0, int64_t bc, int64_t io[2]) {
    int64_t Dk = a->Dk, Dv = a->Dv, ck = a->H * Dk, cv = a->H * Dv;
    load_rows(br, Dk, t->q + i0 * ck, ck, 1.0f, w->Q);
    load_rows(br, Dv, t->dO + i0 * cv, cv, 1.0f, w->dO);
    io[0] += br * (Dk + Dv + 2);
    tile_ab(br, bc, Dk, w->Q, w->Kt, w->P); // P (br,bc) = Q K^T
    for (int64_t r = 0; r < br; r++) exp_row(bc, a->scale, w->P + r * bc, t->L[i0 + r], w->P + r * bc);
    if (a->causal) mask_tile(br, bc, i0, j0, 0.0f, w->P);
    tile_ptx(br, bc, Dv, 1.0f, w->P, w->dO, w->dV);
    tile_ab(br, bc, Dv, w->dO, w->Vt, w->dS); // dP (br,bc) = dO V^T
    for (int64_t r = 0; r < br; r++) {
        float Dr = t->D[i0 + r];
        float *ds = w->dS + r * bc;
        const float *p = w->P + r * bc;
        for (int64_t c = 0; c < bc; c++) ds[c] = p[c] * (ds[c] - Dr);
    }
    if (t->gq) {
        tile_pv(br, bc, Dk, a->scale, w->dS, w->K, t->gq + i0 * ck, ck);
        io[0] += br * Dk;
        io[1] += br * Dk;
    }
    tile_ptx(br, bc, Dk, a->scale, w->dS, w->Q, w->dK);
}

// K (bc,Dk), Kt (Dk,bc), Vt (Dv,bc) = a key tile's rows of k (., ck) and v (., cv)
static void load_key_tile(int64_t bc, int64_t Dk, int64_t Dv, const float *k, int64_t ck,
                          const float *v, int64_t cv, float *K, float *Kt, float *Vt) {
    load_rows(bc, Dk, k, ck, 1.0f, K);
    load_rows_t(bc, Dk, k, ck, Kt);
    load_rows_t(bc, Dv, v, cv, Vt);
}

// dq, dk, dv of one (b,h), key tiles outer (dK, dV stay in the tile), query tiles inner
static void attn_bwd_task(const attn_geom *a, const attn_task *t, float *ws, int64_t io[2]) {
    int64_t Dk = a->Dk, Dv = a->Dv, ck = a->H * Dk, cv = a->H * Dv;
    bwd_ws w = split_bwd_ws(a, ws);
    for (int64_t j0 = 0; j0 < a->Tk; j0 += a->bbk) {
        int64_t bc = APX__MIN(a->bbk, a->Tk - j0);
        load_key_tile(bc, Dk, Dv, t->k + j0 * ck, ck, t->v + j0 * cv, cv, w.K, w.Kt, w.Vt);
        io[0] += bc * (Dk + Dv);
        memset(w.dK, 0, (size_t)(bc * Dk) * sizeof(float));
        memset(w.dV, 0, (size_t)(bc * Dv) * sizeof(float));
        int64_t istart = a->causal ? j0 / a->bbq * a->bbq : 0;
        for (int64_t i0 = istart; i0 < a->Tq; i0 += a->bbq)
            bwd_pair(a, t, &w, i0, APX__MIN(a->bbq, a->Tq - i0), j0, bc, io);
        for (int64_t c = 0; c < bc; c++) {
            if (t->gk) apx__axpy1(Dk, w.dK + c * Dk, t->gk + (j0 + c) * ck);
            if (t->gv) apx__axpy1(Dv, w.dV + c * Dv, t->gv + (j0 + c) * cv);
        }
        io[1] += bc * ((t->gk ? Dk : 0) + (t->gv ? Dv : 0));
    }
}

// D (Tq) = rowsum(dO * O) of one (b,h)
static void attn_rowdot(const attn_geom *a, const float *dO, const float *O, float *D) {
    int64_t cv = a->H * a->Dv;
    for (int64_t i = 0; i < a->Tq; i++) {
        double s = 0;
        for (int64_t d = 0; d < a->Dv; d++) s += (double)dO[i * cv + d] * O[i * cv + d];
        D[i] = (float)s;
    }
}

static void attn_backward_all(const attn_geom *a, apx_tensor *q, apx_tensor *k, apx_tensor *v,
                              apx_tensor *o, float *D, float *ws) {
    int64_t nt = a->B * a->H, wsz = bwd_ws_floats(a), rd = 0, wr = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : rd, wr)
    for (int64_t task = 0; task < nt; task++) {
        int64_t b = task / a->H, h = task % a->H, io[2] = {0, 0};
        int64_t oq = b * a->Tq * a->H * a->Dk + h * a->Dk;
        int64_t ok = b * a->Tk * a->H * a->Dk + h * a->Dk;
        int64_t ov = b * a->Tk * a->H * a->Dv + h * a->Dv;
        int64_t oo = b * a->Tq * a->H * a->Dv + h * a->Dv;
        attn_task t = task_of(a, b, h, q->data, k->data, v->data);
        t.dO = o->grad + oo;
        t.L = a->lse + task * a->Tq;
        t.D = D + task * a->Tq;
        t.gq = apx__gin(q) ? q->grad + oq : NULL;
        t.gk = apx__gin(k) ? k->grad + ok : NULL;
        t.gv = apx__gin(v) ? v->grad + ov : NULL;
        attn_rowdot(a, t.dO, o->data + oo, D + task * a->Tq);
        io[0] += 2 * a->Tq * a->Dv;
        attn_bwd_task(a, &t, ws + thread_id() * wsz, io);
        rd += io[0];
        wr += io[1];
    }
    if (a->io) {
        a->io->bwd_read = 4 * rd;
        a->io->bwd_write = 4 * wr;
        a->io->bwd_block_q = a->bbq;
        a->io->bwd_block_k = a->bbk;
    }
}

static apx_status attn_backward(apx_graph *g, apx__node *n) {
    const attn_geom *a = n->saved;
    apx__mark mk = apx__arena_mark(g);
    float *D = apx__arena_alloc(g, "attention", (size_t)(a->B * a->H * a->Tq) * sizeof(float));
    float *ws = apx__arena_alloc(g, "attention",
                                 (size_t)(bwd_ws_floats(a) * max_threads()) * sizeof(float));
    if (!D || !ws) return APX_ENOMEM;
    attn_backward_all(a, n->in[0], n->in[1], n->in[2], n->out, D, ws);
    apx__arena_release(g, mk);
    return APX_OK;
}

/* ================================================================ forward-over-reverse
 * Exact Hessian-vector products (rop.c), tile by tile like the forward and the backward:
 * nothing of size Tq x Tk is stored. With P = exp(scale S - L) recomputed from the saved
 * logsumexp, tS = scale (tQ K^T + Q tK^T) and mu = rowsum(P tS):
 *   jvp:   tO = (P tS) V - mu O + P tV                       (one pass, query tiles outer)
 *   rback: tP = P (tS - mu), dP = dO V^T, tdP = tdO V^T + dO tV^T, D = rowsum(dO O),
 *          tD = rowsum(tdO O + dO tO), dS = P (dP - D), tdS = tP (dP - D) + P (tdP - tD),
 *          tdV += tP^T dO + P^T tdO, tdQ += scale (tdS K + dS tK),
 *          tdK += scale (tdS^T Q + dS^T tQ)               (key tiles outer, as the backward)
 * The plain reference is attention_ref.c. */

// P (br,bc) = exp(scale Q Kt - L) with the causal mask; Q (br,Dk), Kt (Dk,bc)
static void tile_probs(const attn_geom *a, int64_t br, int64_t bc, int64_t i0, int64_t j0,
                       const float *Q, const float *Kt, const float *L, float *P) {
    tile_ab(br, bc, a->Dk, Q, Kt, P);
    for (int64_t r = 0; r < br; r++) exp_row(bc, a->scale, P + r * bc, L[i0 + r], P + r * bc);
    if (a->causal) mask_tile(br, bc, i0, j0, 0.0f, P);
}

// tS (br,bc) = scale (tQ Kt + Q tKt), W (br,bc) scratch
static void tile_tscores(const attn_geom *a, int64_t br, int64_t bc, const float *Q,
                         const float *tQ, const float *Kt, const float *tKt, float *W,
                         float *tS) {
    tile_ab(br, bc, a->Dk, tQ, Kt, tS);
    tile_ab(br, bc, a->Dk, Q, tKt, W);
    for (int64_t e = 0; e < br * bc; e++) tS[e] = a->scale * (tS[e] + W[e]);
}

typedef struct {
    const float *tq, *tk, *tv, *tdO, *tO;
    float *ty, *mu, *tgq, *tgk, *tgv;
    const float *tD;
} attn_ttask;

static int64_t jvp_ws_floats(const attn_geom *a) {
    return 2 * a->bq * a->Dk + 2 * a->Dk * a->bk + 2 * a->bk * a->Dv + 3 * a->bq * a->bk +
           a->bq * a->Dv;
}

// one (b,h): ty (Tq,Dv) = (P tS) V - mu O + P tV, mu (Tq) = rowsum(P tS)
static void attn_jvp_task(const attn_geom *a, const attn_task *t, const attn_ttask *u,
                          float *ws) {
    int64_t Dk = a->Dk, Dv = a->Dv, ck = a->H * Dk, cv = a->H * Dv, bq = a->bq, bk = a->bk;
    float *Q = ws, *tQ = Q + bq * Dk, *Kt = tQ + bq * Dk, *tKt = Kt + Dk * bk;
    float *V = tKt + Dk * bk, *tV = V + bk * Dv, *P = tV + bk * Dv, *tS = P + bq * bk;
    float *W = tS + bq * bk, *A = W + bq * bk;
    for (int64_t i0 = 0; i0 < a->Tq; i0 += bq) {
        int64_t br = APX__MIN(bq, a->Tq - i0);
        int64_t jend = a->causal ? APX__MIN(a->Tk, i0 + br) : a->Tk;
        load_rows(br, Dk, t->q + i0 * ck, ck, 1.0f, Q);
        load_rows(br, Dk, u->tq + i0 * ck, ck, 1.0f, tQ);
        memset(A, 0, (size_t)(br * Dv) * sizeof(float));
        for (int64_t r = 0; r < br; r++) u->mu[i0 + r] = 0;
        for (int64_t j0 = 0; j0 < jend; j0 += bk) {
            int64_t bc = APX__MIN(bk, jend - j0);
            load_rows_t(bc, Dk, t->k + j0 * ck, ck, Kt);
            load_rows_t(bc, Dk, u->tk + j0 * ck, ck, tKt);
            load_rows(bc, Dv, t->v + j0 * cv, cv, 1.0f, V);
            load_rows(bc, Dv, u->tv + j0 * cv, cv, 1.0f, tV);
            tile_probs(a, br, bc, i0, j0, Q, Kt, t->L, P);
            tile_tscores(a, br, bc, Q, tQ, Kt, tKt, W, tS);
            for (int64_t r = 0; r < br; r++) {
                double m = 0;
                for (int64_t c = 0; c < bc; c++) m += (double)(W[r * bc + c] = P[r * bc + c] * tS[r * bc + c]);
                u->mu[i0 + r] += (float)m;
            }
            tile_pv(br, bc, Dv, 1.0f, W, V, A, Dv);
            tile_pv(br, bc, Dv, 1.0f, P, tV, A, Dv);
        }
        for (int64_t r = 0; r < br; r++)
            for (int64_t d = 0; d < Dv; d++)
                u->ty[(i0 + r) * cv + d] = A[r * Dv + d] - u->mu[i0 + r] * t->o[(i0 + r) * cv + d];
    }
}

/* Offsets of head h of batch b in q/k (Dk columns) or v/o (Dv columns) tensors. */
static int64_t head_off(const attn_geom *a, int64_t b, int64_t h, int64_t T, int64_t D) {
    return b * T * a->H * D + h * D;
}

static float *gtan_of(apx_tensor *t, int64_t off) {
    return t->requires_grad && t->gtan_ ? t->gtan_ + off : NULL;
}

/* The pointers of task (b, h) for the R-op passes: values, tangents, mu, and those of what
 * exists so far of dO, tdO, tO (= ty) and the inputs' gradient tangents. */
static void rop_task_of(const attn_geom *a, apx__node *n, int64_t task, attn_task *t,
                        attn_ttask *u) {
    apx_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2], *y = n->out;
    int64_t b = task / a->H, h = task % a->H;
    int64_t oq = head_off(a, b, h, a->Tq, a->Dk), ok = head_off(a, b, h, a->Tk, a->Dk);
    int64_t ov = head_off(a, b, h, a->Tk, a->Dv), oo = head_off(a, b, h, a->Tq, a->Dv);
    *t = task_of(a, b, h, q->data, k->data, v->data);
    t->o = y->data + oo, t->L = a->lse + task * a->Tq;
    t->dO = y->grad ? y->grad + oo : NULL;
    *u = (attn_ttask){q->tan_ + oq, k->tan_ + ok, v->tan_ + ov,
                      y->gtan_ ? y->gtan_ + oo : NULL, y->tan_ + oo, y->tan_ + oo,
                      a->mu + task * a->Tq, gtan_of(q, oq), gtan_of(k, ok), gtan_of(v, ov),
                      NULL};
}

static apx_status attn_jvp(apx_graph *g, apx__node *n) {
    attn_geom *a = n->saved;
    float *ty = apx__out_tan(g, n);
    a->mu = apx__arena_alloc(g, "attention", (size_t)(a->B * a->H * a->Tq) * sizeof(float));
    apx__mark mk = apx__arena_mark(g);
    int64_t wsz = jvp_ws_floats(a), nt = a->B * a->H;
    float *ws = apx__arena_alloc(g, "attention", (size_t)(wsz * max_threads()) * sizeof(float));
    if (!ty || !a->mu || !ws) return APX_ENOMEM;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < nt; task++) {
        attn_task t;
        attn_ttask u;
        rop_task_of(a, n, task, &t, &u);
        attn_jvp_task(a, &t, &u, ws + thread_id() * wsz);
    }
    apx__arena_release(g, mk);
    return APX_OK;
}

typedef struct {
    float *K, *Kt, *tK, *tKt, *Vt, *tVt, *tdK, *tdV, *Q, *tQ, *dO, *tdO, *P, *tP, *dP, *tdP, *W;
} rb_ws;

static int64_t rback_ws_floats(const attn_geom *a) {
    int64_t bk = a->bbk, bq = a->bbq;
    return 5 * bk * a->Dk + 3 * bk * a->Dv + 2 * bq * a->Dk + 2 * bq * a->Dv + 5 * bq * bk;
}

static rb_ws split_rback_ws(const attn_geom *a, float *w) {
    int64_t bk = a->bbk, bq = a->bbq, Dk = a->Dk, Dv = a->Dv;
    rb_ws s;
    s.K = w, s.Kt = s.K + bk * Dk, s.tK = s.Kt + Dk * bk, s.tKt = s.tK + bk * Dk;
    s.Vt = s.tKt + Dk * bk, s.tVt = s.Vt + Dv * bk, s.tdK = s.tVt + Dv * bk;
    s.tdV = s.tdK + bk * Dk, s.Q = s.tdV + bk * Dv, s.tQ = s.Q + bq * Dk, s.dO = s.tQ + bq * Dk;
    s.tdO = s.dO + bq * Dv, s.P = s.tdO + bq * Dv, s.tP = s.P + bq * bk, s.dP = s.tP + bq * bk;
    s.tdP = s.dP + bq * bk, s.W = s.tdP + bq * bk;
    return s;
}

// dS -> w->dP and tdS -> w->tdP of one (br,bc) pair, from P, tP, dP, tdP, D, tD
static void tile_dscores(int64_t br, int64_t bc, const float *D, const float *tD,
                         const rb_ws *w) {
    for (int64_t r = 0; r < br; r++)
        for (int64_t c = 0; c < bc; c++) {
            int64_t e = r * bc + c;
            float dd = w->dP[e] - D[r];
            w->tdP[e] = w->tP[e] * dd + w->P[e] * (w->tdP[e] - tD[r]);
            w->dP[e] = w->P[e] * dd;
        }
}

/* One (query tile, key tile) pair of the R-backward (see the section comment). */
static void rback_pair(const attn_geom *a, const attn_task *t, const attn_ttask *u,
                       const rb_ws *w, int64_t i0, int64_t br, int64_t j0, int64_t bc) {
    int64_t Dk = a->Dk, Dv = a->Dv, ck = a->H * Dk, cv = a->H * Dv;
    load_rows(br, Dk, t->q + i0 * ck, ck, 1.0f, w->Q);
    load_rows(br, Dk, u->tq + i0 * ck, ck, 1.0f, w->tQ);
    load_rows(br, Dv, t->dO + i0 * cv, cv, 1.0f, w->dO);
    load_rows(br, Dv, u->tdO + i0 * cv, cv, 1.0f, w->tdO);
    tile_probs(a, br, bc, i0, j0, w->Q, w->Kt, t->L, w->P);
    tile_tscores(a, br, bc, w->Q, w->tQ, w->Kt, w->tKt, w->W, w->tP);
    for (int64_t r = 0; r < br; r++)
        for (int64_t c = 0; c < bc; c++)
            w->tP[r * bc + c] = w->P[r * bc + c] * (w->tP[r * bc + c] - u->mu[i0 + r]);
    tile_ab(br, bc, Dv, w->dO, w->Vt, w->dP);   // dP (br,bc) = dO V^T
    tile_ab(br, bc, Dv, w->tdO, w->Vt, w->tdP); // tdP = tdO V^T + dO tV^T
    tile_ab(br, bc, Dv, w->dO, w->tVt, w->W);
    apx__axpy1(br * bc, w->W, w->tdP);
    tile_dscores(br, bc, t->D + i0, u->tD + i0, w);
    tile_ptx(br, bc, Dv, 1.0f, w->tP, w->dO, w->tdV); // tdV (bc,Dv) += tP^T dO + P^T tdO
    tile_ptx(br, bc, Dv, 1.0f, w->P, w->tdO, w->tdV);
    if (u->tgq) { // tdQ (br,Dk) += scale (tdS K + dS tK)
        tile_pv(br, bc, Dk, a->scale, w->tdP, w->K, u->tgq + i0 * ck, ck);
        tile_pv(br, bc, Dk, a->scale, w->dP, w->tK, u->tgq + i0 * ck, ck);
    }
    tile_ptx(br, bc, Dk, a->scale, w->tdP, w->Q, w->tdK); // tdK (bc,Dk) += scale (tdS^T Q
    tile_ptx(br, bc, Dk, a->scale, w->dP, w->tQ, w->tdK); //   + dS^T tQ)
}

// the R-backward of one (b,h): key tiles outer (tdK, tdV stay in the tile), queries inner
static void attn_rback_task(const attn_geom *a, const attn_task *t, const attn_ttask *u,
                            float *ws) {
    int64_t Dk = a->Dk, Dv = a->Dv, ck = a->H * Dk, cv = a->H * Dv;
    rb_ws w = split_rback_ws(a, ws);
    for (int64_t j0 = 0; j0 < a->Tk; j0 += a->bbk) {
        int64_t bc = APX__MIN(a->bbk, a->Tk - j0);
        load_key_tile(bc, Dk, Dv, t->k + j0 * ck, ck, t->v + j0 * cv, cv, w.K, w.Kt, w.Vt);
        load_key_tile(bc, Dk, Dv, u->tk + j0 * ck, ck, u->tv + j0 * cv, cv, w.tK, w.tKt, w.tVt);
        memset(w.tdK, 0, (size_t)(bc * Dk) * sizeof(float));
        memset(w.tdV, 0, (size_t)(bc * Dv) * sizeof(float));
        int64_t istart = a->causal ? j0 / a->bbq * a->bbq : 0;
        for (int64_t i0 = istart; i0 < a->Tq; i0 += a->bbq)
            rback_pair(a, t, u, &w, i0, APX__MIN(a->bbq, a->Tq - i0), j0, bc);
        for (int64_t c = 0; c < bc; c++) {
            if (u->tgk) apx__axpy1(Dk, w.tdK + c * Dk, u->tgk + (j0 + c) * ck);
            if (u->tgv) apx__axpy1(Dv, w.tdV + c * Dv, u->tgv + (j0 + c) * cv);
        }
    }
}

// D (Tq) = rowsum(dO O), tD (Tq) = rowsum(tdO O + dO tO) of one (b,h)
static void attn_trowdot(const attn_geom *a, const attn_task *t, const attn_ttask *u, float *D,
                         float *tD) {
    int64_t cv = a->H * a->Dv;
    for (int64_t i = 0; i < a->Tq; i++) {
        double s = 0, ts = 0;
        for (int64_t d = 0; d < a->Dv; d++) {
            int64_t e = i * cv + d;
            s += (double)t->dO[e] * t->o[e];
            ts += (double)u->tdO[e] * t->o[e] + (double)t->dO[e] * u->tO[e];
        }
        D[i] = (float)s;
        tD[i] = (float)ts;
    }
}

static void attn_rback_all(const attn_geom *a, apx__node *n, float *D, float *ws) {
    int64_t nt = a->B * a->H, wsz = rback_ws_floats(a);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < nt; task++) {
        attn_task t;
        attn_ttask u;
        rop_task_of(a, n, task, &t, &u);
        t.D = D + 2 * task * a->Tq;
        u.tD = t.D + a->Tq;
        attn_trowdot(a, &t, &u, D + 2 * task * a->Tq, D + (2 * task + 1) * a->Tq);
        attn_rback_task(a, &t, &u, ws + thread_id() * wsz);
    }
}

static apx_status attn_rback(apx_graph *g, apx__node *n) {
    const attn_geom *a = n->saved;
    apx__mark mk = apx__arena_mark(g);
    float *D = apx__arena_alloc(g, "attention", (size_t)(2 * a->B * a->H * a->Tq) * sizeof(float));
    float *ws = apx__arena_alloc(g, "attention",
                                 (size_t)(rback_ws_floats(a) * max_threads()) * sizeof(float));
    if (!D || !ws) return APX_ENOMEM;
    attn_rback_all(a, n, D, ws);
    apx__arena_release(g, mk);
    return APX_OK;
}

/* ================================================================ the op */

static apx_status attn_check(apx_graph *g, apx_tensor *q, apx_tensor *k, apx_tensor *v,
                             const apx_attention_opts *o) {
    APX__TRY(apx__check_tensor(g, "attention", "q", q));
    APX__TRY(apx__check_tensor(g, "attention", "k", k));
    APX__TRY(apx__check_tensor(g, "attention", "v", v));
    char sq[96], sk[96], sv[96];
    apx__shape_str(q, sq);
    apx__shape_str(k, sk);
    apx__shape_str(v, sv);
    if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3)
        return apx__err(APX_ESHAPE, "attention: q %s, k %s, v %s must be (B, T, H*D)", sq, sk, sv);
    if (o->n_head < 1) return apx__err(APX_EINVAL, "attention: n_head must be >= 1, got %lld",
                                       (long long)o->n_head);
    if (q->shape[2] % o->n_head || v->shape[2] % o->n_head)
        return apx__err(APX_ESHAPE, "attention: n_head %lld must divide q's %lld and v's %lld "
                        "columns", (long long)o->n_head, (long long)q->shape[2],
                        (long long)v->shape[2]);
    if (k->shape[0] != q->shape[0] || v->shape[0] != q->shape[0] || k->shape[2] != q->shape[2] ||
        v->shape[1] != k->shape[1])
        return apx__err(APX_ESHAPE, "attention: q %s, k %s, v %s: need the same B, k with q's "
                        "columns and v with k's length", sq, sk, sv);
    if (o->causal && q->shape[1] != k->shape[1])
        return apx__err(APX_ESHAPE, "attention: causal needs Tq == Tk, got q %s and k %s", sq, sk);
    if (!isfinite(o->scale) || o->scale < 0 || o->block_q < 0 || o->block_k < 0 ||
        o->on_chip_floats < 0)
        return apx__err(APX_EINVAL, "attention: scale %g, block_q %lld, block_k %lld and "
                        "on_chip_floats %lld must be >= 0 and finite", (double)o->scale,
                        (long long)o->block_q, (long long)o->block_k, (long long)o->on_chip_floats);
    return APX_OK;
}

/* Tile rows: default 64 (or as given), or sized for a fast memory of M floats (P107). */
static void choose_tiles(const apx_attention_opts *o, attn_geom *a) {
    if (o->on_chip_floats > 0) {
        int64_t big = APX__MAX(1, o->on_chip_floats / (4 * a->Dk));
        int64_t small = APX__MAX(1, APX__MIN(a->Dk, big));
        a->bq = big, a->bk = small, a->bbq = small, a->bbk = big;
    } else {
        a->bq = a->bbq = o->block_q > 0 ? o->block_q : 64;
        a->bk = a->bbk = o->block_k > 0 ? o->block_k : 64;
    }
    a->bq = APX__MIN(a->bq, a->Tq), a->bbq = APX__MIN(a->bbq, a->Tq);
    a->bk = APX__MIN(a->bk, a->Tk), a->bbk = APX__MIN(a->bbk, a->Tk);
}

apx_status apx_ad_attention(apx_graph *g, apx_tensor *q, apx_tensor *k, apx_tensor *v,
                            const apx_attention_opts *opts, apx_tensor **out) {
    apx_attention_opts o = opts ? *opts : apx_attention_opts_default();
    APX__TRY(apx__check_op(g, "attention", out));
    APX__TRY(attn_check(g, q, k, v, &o));
    attn_geom *a = apx__arena_alloc(g, "attention", sizeof *a);
    if (!a) return APX_ENOMEM;
    *a = (attn_geom){q->shape[0], q->shape[1], k->shape[1], o.n_head, q->shape[2] / o.n_head,
                     v->shape[2] / o.n_head, o.causal != 0, o.scale, 0, 0, 0, 0, NULL, o.io,
                     NULL};
    if (a->scale == 0) a->scale = (float)(1.0 / sqrt((double)a->Dk));
    choose_tiles(&o, a);
    int64_t shape[3] = {a->B, a->Tq, a->H * a->Dv};
    apx_tensor *y, *in[3] = {q, k, v};
    a->lse = apx__arena_alloc(g, "attention", (size_t)(a->B * a->H * a->Tq) * sizeof(float));
    if (!a->lse) return APX_ENOMEM;
    APX__TRY(apx__tensor_new(g, "attention", 3, shape, &y));
    apx__mark mk = apx__arena_mark(g);
    float *ws = apx__arena_alloc(g, "attention",
                                 (size_t)(fwd_ws_floats(a) * max_threads()) * sizeof(float));
    if (!ws) return APX_ENOMEM;
    attn_forward(a, q->data, k->data, v->data, y->data, ws);
    apx__arena_release(g, mk);
    APX__TRY(apx__record(g, "attention", attn_backward, y, 3, in, a));
    apx__set_rop(g, y, attn_jvp, attn_rback);
    *out = y;
    return APX_OK;
}
