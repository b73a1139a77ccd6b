/* ops_matmul.c: float GEMM (BLAS sgemm, with a reference loop kernel as the oracle),
 * matmul / matmul_bt with shared or batched right operands, and embedding lookup. */
#include <limits.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ad_internal.h"

int apx__blas_loaded(void); /* core/blas.c */

/* ================================================================ GEMM kernels */

// C (m,n) = alpha op(A) (m,k) op(B) (k,n) + beta C, plain loops, double accumulation
void apx__ad_ref_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++) {
                double a = ta ? A[p * lda + i] : A[i * lda + p];
                double b = tb ? B[j * ldb + p] : B[p * ldb + j];
                s += a * b;
            }
            float *c = &C[i * ldc + j];
            *c = (float)(alpha * s + (beta == 0 ? 0.0 : (double)beta * *c));
        }
}

// C (m,n) = alpha op(A) (m,k) op(B) (k,n) + beta C: one BLAS call
static void blas_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc) {
    apx__blas.cblas_sgemm(APX__ROW, ta ? APX__TRANS : APX__NOTRANS,
                          tb ? APX__TRANS : APX__NOTRANS, (apx__bint)m, (apx__bint)n,
                          (apx__bint)k, alpha, A, (apx__bint)lda, B, (apx__bint)ldb, beta, C,
                          (apx__bint)ldc);
}

/* Threads share a GEMM by blocks of C rows (or columns, when C is wide), each calling the
 * BLAS single-threaded: the BLAS's own thread pool stays idle, so it never spins against
 * the OpenMP threads of the element-wise ops around it (two pools on the same cores cost
 * up to half the step time on two cores). Blocks are multiples of 16 rows/columns. */
enum { SPLIT_MIN_FLOPS = 1 << 21, SPLIT_ALIGN = 16 };

static int in_parallel(void) {
#ifdef _OPENMP
    return omp_in_parallel();
#else
    return 0;
#endif
}

static int gemm_threads(int64_t m, int64_t n, int64_t k) {
#ifdef _OPENMP
    int nt = apx_get_threads();
    int64_t span = APX__MAX(m, n) / SPLIT_ALIGN;
    if (nt < 2 || omp_in_parallel() || 2.0 * (double)m * (double)n * (double)k < SPLIT_MIN_FLOPS ||
        span < 2 || !apx__blas.openblas_set_num_threads)
        return 1;
    return (int)APX__MIN((int64_t)nt, span);
#else
    (void)m, (void)n, (void)k;
    return 1;
#endif
}

// C (m,n) = alpha op(A) op(B) + beta C, rows (or columns) of C split over nt threads
static void split_sgemm(int nt, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                        float *C, int64_t ldc) {
    int rows = m >= n;
    int64_t span = rows ? m : n, blk = (span / SPLIT_ALIGN + nt - 1) / nt * SPLIT_ALIGN;
    apx__blas.openblas_set_num_threads(1);
#pragma omp parallel num_threads(nt)
    {
        int64_t t = omp_get_thread_num(), s0 = t * blk, s1 = APX__MIN(span, s0 + blk);
        if (t == nt - 1) s1 = span;
        if (s0 < s1 && rows) // rows s0..s1 of C: rows of op(A)
            blas_sgemm(ta, tb, s1 - s0, n, k, alpha, ta ? A + s0 : A + s0 * lda, lda, B, ldb,
                       beta, C + s0 * ldc, ldc);
        else if (s0 < s1) // columns s0..s1 of C: columns of op(B)
            blas_sgemm(ta, tb, m, s1 - s0, k, alpha, A, lda, tb ? B + s0 * ldb : B + s0, ldb,
                       beta, C + s0, ldc);
    }
    apx__blas.openblas_set_num_threads(apx_get_threads());
}

// C (m,n) = alpha op(A) (m,k) op(B) (k,n) + beta C, through the BLAS when loaded
void apx__ad_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                   float *C, int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0 || !apx__blas_loaded() || !apx__blas.cblas_sgemm) {
        apx__ad_ref_sgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int nt = gemm_threads(m, n, k);
    if (nt > 1) {
        split_sgemm(nt, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    } else if (apx_get_threads() > 1 && apx__blas.openblas_set_num_threads && !in_parallel()) {
        /* small: one thread, without waking the BLAS's pool either */
        apx__blas.openblas_set_num_threads(1);
        blas_sgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        apx__blas.openblas_set_num_threads(apx_get_threads());
    } else {
        blas_sgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    }
}

/* ================================================================ matmul */

typedef struct {
    int tb;      /* b is transposed: (.., N, K) */
    int batched; /* b has the batch dims of a (else it is 2-D and shared) */
} mm_saved;

typedef struct {
    int64_t P, M, K, N; /* batch, rows of a, inner, columns of out */
} mm_dims;

static apx_status mm_check(apx_graph *g, const char *op, apx_tensor *a, apx_tensor *b, int tb,
                           mm_dims *d) {
    APX__TRY(apx__check_tensor(g, op, "a", a));
    APX__TRY(apx__check_tensor(g, op, "b", b));
    char sa[96], sb[96];
    if (a->ndim < 2 || b->ndim < 2)
        return apx__err(APX_ESHAPE, "%s: a %s and b %s need ndim >= 2", op,
                        apx__shape_str(a, sa), apx__shape_str(b, sb));
    d->M = a->shape[a->ndim - 2];
    d->K = a->shape[a->ndim - 1];
    d->P = a->size / (d->M * d->K);
    int64_t bk = b->shape[b->ndim - (tb ? 1 : 2)];
    d->N = b->shape[b->ndim - (tb ? 2 : 1)];
    if (bk != d->K)
        return apx__err(APX_ESHAPE, "%s: a %s and b %s: inner dims %lld and %lld differ", op,
                        apx__shape_str(a, sa), apx__shape_str(b, sb), (long long)d->K,
                        (long long)bk);
    int same = b->ndim == a->ndim;
    for (int i = 0; same && i < a->ndim - 2; i++) same = a->shape[i] == b->shape[i];
    if (b->ndim != 2 && !same)
        return apx__err(APX_ESHAPE, "%s: b %s must be 2-D or have the leading dims of a %s", op,
                        apx__shape_str(b, sb), apx__shape_str(a, sa));
    if (d->P * d->M > INT_MAX || d->N > INT_MAX || d->K > INT_MAX)
        return apx__err(APX_ESHAPE, "%s: a %s and b %s exceed the 32-bit BLAS sizes", op,
                        apx__shape_str(a, sa), apx__shape_str(b, sb));
    return APX_OK;
}

// y (P,M,N) = a (P,M,K) op(b); op(b) (K,N) shared, or (P,K,N) batched
static void mm_forward(const mm_dims *d, int tb, int batched, const float *a, const float *b,
                       float *y) {
    int64_t ldb = tb ? d->K : d->N;
    if (!batched) {
        apx__ad_sgemm(0, tb, d->P * d->M, d->N, d->K, 1.0f, a, d->K, b, ldb, 0.0f, y, d->N);
        return;
    }
    for (int64_t p = 0; p < d->P; p++)
        apx__ad_sgemm(0, tb, d->M, d->N, d->K, 1.0f, a + p * d->M * d->K, d->K,
                      b + p * d->K * d->N, ldb, 0.0f, y + p * d->M * d->N, d->N);
}

// ga (m,K) += dy (m,N) op(b)^T ; gb += a^T dy (tb: gb (N,K) += dy^T a)
static void mm_grads(int64_t m, const mm_dims *d, int tb, const float *a, const float *b,
                     const float *dy, float *ga, float *gb) {
    if (ga) {
        if (tb) apx__ad_sgemm(0, 0, m, d->K, d->N, 1.0f, dy, d->N, b, d->K, 1.0f, ga, d->K);
        else apx__ad_sgemm(0, 1, m, d->K, d->N, 1.0f, dy, d->N, b, d->N, 1.0f, ga, d->K);
    }
    if (gb) {
        if (tb) apx__ad_sgemm(1, 0, d->N, d->K, m, 1.0f, dy, d->N, a, d->K, 1.0f, gb, d->K);
        else apx__ad_sgemm(1, 0, d->K, d->N, m, 1.0f, a, d->K, dy, d->N, 1.0f, gb, d->N);
    }
}

/* The dims of a recorded matmul node. */
static mm_dims node_dims(const apx__node *n) {
    const apx_tensor *a = n->in[0];
    mm_dims d = {0, 0, 0, 0};
    d.M = a->shape[a->ndim - 2];
    d.K = a->shape[a->ndim - 1];
    d.P = a->size / (d.M * d.K);
    d.N = n->out->shape[n->out->ndim - 1];
    return d;
}

// jvp: ty = ta op(b) + a op(tb)
static apx_status mm_jvp(apx_graph *g, apx__node *n) {
    const mm_saved *s = n->saved;
    mm_dims d = node_dims(n);
    apx_tensor *a = n->in[0], *b = n->in[1];
    float *ty = apx__out_tan(g, n);
    float *t2 = apx__arena_alloc(g, n->op, (size_t)n->out->size * sizeof(float));
    if (!ty || !t2) return APX_ENOMEM;
    mm_forward(&d, s->tb, s->batched, a->tan_, b->data, ty);
    mm_forward(&d, s->tb, s->batched, a->data, b->tan_, t2);
    apx__axpy1(n->out->size, t2, ty);
    return APX_OK;
}

static apx_status mm_backward(apx_graph *g, apx__node *n) {
    const mm_saved *s = n->saved;
    apx_tensor *a = n->in[0], *b = n->in[1];
    mm_dims d = node_dims(n);
    float *ga = apx__gin(a), *gb = apx__gin(b);
    if (!s->batched) {
        mm_grads(d.P * d.M, &d, s->tb, a->data, b->data, n->out->grad, ga, gb);
        return APX_OK;
    }
    int64_t sa = d.M * d.K, sb = d.K * d.N, sy = d.M * d.N;
    for (int64_t p = 0; p < d.P; p++)
        mm_grads(d.M, &d, s->tb, a->data + p * sa, b->data + p * sb, n->out->grad + p * sy,
                 ga ? ga + p * sa : NULL, gb ? gb + p * sb : NULL);
    return APX_OK;
}

static apx_status matmul_op(apx_graph *g, const char *op, apx_tensor *a, apx_tensor *b, int tb,
                            apx_tensor **out) {
    APX__TRY(apx__check_op(g, op, out));
    mm_dims d = {0, 0, 0, 0};
    APX__TRY(mm_check(g, op, a, b, tb, &d));
    int batched = b->ndim > 2;
    int64_t shape[APX_AD_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[a->ndim - 1] = d.N;
    apx_tensor *y, *in[2] = {a, b};
    APX__TRY(apx__tensor_new(g, op, a->ndim, shape, &y));
    mm_forward(&d, tb, batched, a->data, b->data, y->data);
    mm_saved *s = NULL;
    if (apx__wants_grad(g, 2, in)) {
        if (!(s = apx__arena_alloc(g, op, sizeof *s))) return APX_ENOMEM;
        s->tb = tb;
        s->batched = batched;
    }
    APX__TRY(apx__record(g, op, mm_backward, y, 2, in, s));
    apx__set_rop(g, y, mm_jvp, apx__rback_bilinear);
    *out = y;
    return APX_OK;
}

apx_status apx_ad_matmul(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out) {
    return matmul_op(g, "matmul", a, b, 0, out);
}
apx_status apx_ad_matmul_bt(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out) {
    return matmul_op(g, "matmul_bt", a, b, 1, out);
}

/* ================================================================ embedding */

typedef struct {
    int32_t *ids; /* (n) copy */
    int64_t n;
} emb_saved;

static apx_status emb_backward(apx_graph *g, apx__node *n) {
    const emb_saved *s = n->saved;
    apx_tensor *w = n->in[0];
    int64_t C = w->shape[1];
    if (apx__gin(w)) // gw (V,C): rows ids[i] += dy (n,C) row i
        for (int64_t i = 0; i < s->n; i++)
            apx__axpy1(C, n->out->grad + i * C, w->grad + (int64_t)s->ids[i] * C);
    return APX_OK;
}

static apx_status emb_jvp(apx_graph *g, apx__node *n) {
    const emb_saved *s = n->saved;
    int64_t C = n->in[0]->shape[1];
    float *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    for (int64_t i = 0; i < s->n; i++) // ty (n,C) = ttable[ids]
        memcpy(ty + i * C, n->in[0]->tan_ + (int64_t)s->ids[i] * C, (size_t)C * sizeof(float));
    return APX_OK;
}

static apx_status emb_check(apx_graph *g, apx_tensor *w, const int32_t *ids, int ids_ndim,
                            const int64_t *ids_shape, int64_t *n) {
    APX__TRY(apx__check_tensor(g, "embedding", "table", w));
    if (w->ndim != 2) {
        char sw[96];
        return apx__err(APX_ESHAPE, "embedding: table must be (V, C), got %s",
                        apx__shape_str(w, sw));
    }
    if (ids_ndim < 0 || ids_ndim > APX_AD_MAX_DIMS - 1)
        return apx__err(APX_EINVAL, "embedding: ids_ndim must be in [0, %d], got %d",
                        APX_AD_MAX_DIMS - 1, ids_ndim);
    APX__TRY(apx__check_shape("embedding", "ids", ids_ndim, ids_shape, n));
    if (!ids) return apx__err(APX_EINVAL, "embedding: ids is NULL");
    for (int64_t i = 0; i < *n; i++)
        if (ids[i] < 0 || ids[i] >= w->shape[0])
            return apx__err(APX_EINVAL, "embedding: ids[%lld] = %d is outside [0, %lld)",
                            (long long)i, (int)ids[i], (long long)w->shape[0]);
    return APX_OK;
}

apx_status apx_ad_embedding(apx_graph *g, apx_tensor *table, const int32_t *ids, int ids_ndim,
                            const int64_t *ids_shape, apx_tensor **out) {
    APX__TRY(apx__check_op(g, "embedding", out));
    int64_t n, C, shape[APX_AD_MAX_DIMS];
    APX__TRY(emb_check(g, table, ids, ids_ndim, ids_shape, &n));
    C = table->shape[1];
    for (int i = 0; i < ids_ndim; i++) shape[i] = ids_shape[i];
    shape[ids_ndim] = C;
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, "embedding", ids_ndim + 1, shape, &y));
    for (int64_t i = 0; i < n; i++) // y (n,C) = table[ids]
        memcpy(y->data + i * C, table->data + (int64_t)ids[i] * C, (size_t)C * sizeof(float));
    emb_saved *s = NULL;
    if (apx__wants_grad(g, 1, &table)) {
        s = apx__arena_alloc(g, "embedding", sizeof *s);
        if (s) s->ids = apx__arena_alloc(g, "embedding", (size_t)n * sizeof(int32_t));
        if (!s || !s->ids) return APX_ENOMEM;
        memcpy(s->ids, ids, (size_t)n * sizeof(int32_t));
        s->n = n;
    }
    APX__TRY(apx__record(g, "embedding", emb_backward, y, 1, &table, s));
    apx__set_rop(g, y, emb_jvp, apx__rback_linear);
    *out = y;
    return APX_OK;
}
