/* ops_basic.c: elementwise arithmetic with bias-like broadcasting, scale, bias, sum, mean,
 * reshape, transpose, slice, concat and dropout; each op's forward and backward together. */
#include <math.h>
#include <stdio.h>

#include "ad_internal.h"

/* ================================================================ add, sub, mul */

enum { OP_ADD, OP_SUB, OP_MUL };
static const char *const binop_name[] = {"add", "sub", "mul"};

typedef struct {
    int kind;
    int a_big; /* a has the output shape (else b has it) */
} binop_saved;

/* small's shape equals the trailing dims of big's. */
static int trailing_match(const apx_tensor *big, const apx_tensor *small) {
    if (small->ndim > big->ndim) return 0;
    for (int i = 1; i <= small->ndim; i++)
        if (small->shape[small->ndim - i] != big->shape[big->ndim - i]) return 0;
    return 1;
}

// y (R,S) = a op b, the smaller operand (S) repeated over the R leading rows
static void binop_forward(int kind, int a_big, int64_t R, int64_t S, const float *a,
                          const float *b, float *y) {
    for (int64_t r = 0; r < R; r++) {
        const float *ar = a_big ? a + r * S : a, *br = a_big ? b : b + r * S;
        float *yr = y + r * S;
        if (kind == OP_ADD)
#pragma omp simd
            for (int64_t j = 0; j < S; j++) yr[j] = ar[j] + br[j];
        else if (kind == OP_SUB)
#pragma omp simd
            for (int64_t j = 0; j < S; j++) yr[j] = ar[j] - br[j];
        else
#pragma omp simd
            for (int64_t j = 0; j < S; j++) yr[j] = ar[j] * br[j];
    }
}

// d(self) += dy (R,S) * other * sign; self/other each either (R,S) or (S)
static void binop_grad(int64_t R, int64_t S, const float *dy, const float *other,
                       int other_big, float sign, float *gself, int self_big) {
    for (int64_t r = 0; r < R; r++) {
        const float *d = dy + r * S;
        float *gs = self_big ? gself + r * S : gself;
        if (!other) {
            for (int64_t j = 0; j < S; j++) gs[j] += sign * d[j];
        } else {
            const float *o = other_big ? other + r * S : other;
            for (int64_t j = 0; j < S; j++) gs[j] += d[j] * o[j];
        }
    }
}

// ga (+)= dy, gb (+)= sign dy in one pass over dy (R,S); ga, gb each (R,S) (big) or (S),
// or NULL (not wanted): add/sub backward reads the upstream gradient once
static void addsub_grads(int64_t R, int64_t S, const float *dy, float *ga, int a_big,
                         float *gb, int b_big, float sign) {
    for (int64_t r = 0; r < R; r++) {
        const float *d = dy + r * S;
        float *pa = ga && a_big ? ga + r * S : ga, *pb = gb && b_big ? gb + r * S : gb;
        if (pa && pa == pb) /* add(x, x): one buffer */
#pragma omp simd
            for (int64_t j = 0; j < S; j++) pa[j] += (1.0f + sign) * d[j];
        else if (pa && pb)
#pragma omp simd
            for (int64_t j = 0; j < S; j++) {
                pa[j] += d[j];
                pb[j] += sign * d[j];
            }
        else if (pa)
            apx__axpy1(S, d, pa);
        else
#pragma omp simd
            for (int64_t j = 0; j < S; j++) pb[j] += sign * d[j];
    }
}

static apx_status binop_backward(apx_graph *g, apx__node *n) {
    const binop_saved *s = n->saved;
    apx_tensor *a = n->in[0], *b = n->in[1];
    int64_t S = s->a_big ? b->size : a->size, R = n->out->size / S;
    const float *dy = n->out->grad;
    int mul = s->kind == OP_MUL;
    if (!mul && (apx__gin(a) || apx__gin(b))) {
        addsub_grads(R, S, dy, apx__gin(a), s->a_big, apx__gin(b), !s->a_big,
                     s->kind == OP_SUB ? -1.0f : 1.0f);
        return APX_OK;
    }
    if (apx__gin(a))
        binop_grad(R, S, dy, mul ? b->data : NULL, !s->a_big, 1.0f, a->grad, s->a_big);
    if (apx__gin(b))
        binop_grad(R, S, dy, mul ? a->data : NULL, s->a_big, s->kind == OP_SUB ? -1.0f : 1.0f,
                   b->grad, !s->a_big);
    return APX_OK;
}

// jvp: ty = ta op tb (add, sub); ta b + a tb (mul)
static apx_status binop_jvp(apx_graph *g, apx__node *n) {
    const binop_saved *s = n->saved;
    apx_tensor *a = n->in[0], *b = n->in[1];
    int64_t S = s->a_big ? b->size : a->size, R = n->out->size / S;
    float *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    if (s->kind != OP_MUL) {
        binop_forward(s->kind, s->a_big, R, S, a->tan_, b->tan_, ty);
        return APX_OK;
    }
    float *t2 = apx__arena_alloc(g, "mul", (size_t)n->out->size * sizeof(float));
    if (!t2) return APX_ENOMEM;
    binop_forward(OP_MUL, s->a_big, R, S, a->tan_, b->data, ty);
    binop_forward(OP_MUL, s->a_big, R, S, a->data, b->tan_, t2);
    apx__axpy1(n->out->size, t2, ty);
    return APX_OK;
}

static apx_status binop(apx_graph *g, int kind, apx_tensor *a, apx_tensor *b,
                        apx_tensor **out) {
    const char *op = binop_name[kind];
    APX__TRY(apx__check_op(g, op, out));
    APX__TRY(apx__check_tensor(g, op, "a", a));
    APX__TRY(apx__check_tensor(g, op, "b", b));
    int a_big;
    if (trailing_match(a, b)) a_big = 1;
    else if (trailing_match(b, a)) a_big = 0;
    else {
        char sa[96], sb[96];
        return apx__err(APX_ESHAPE, "%s: shapes %s and %s do not broadcast (the smaller must "
                        "equal the trailing dims of the larger)", op, apx__shape_str(a, sa),
                        apx__shape_str(b, sb));
    }
    apx_tensor *big = a_big ? a : b, *y;
    int64_t S = a_big ? b->size : a->size;
    APX__TRY(apx__tensor_new(g, op, big->ndim, big->shape, &y));
    binop_forward(kind, a_big, big->size / S, S, a->data, b->data, y->data);
    apx_tensor *in[2] = {a, b};
    binop_saved *s = NULL;
    if (apx__wants_grad(g, 2, in)) {
        s = apx__arena_alloc(g, op, sizeof *s);
        if (!s) return APX_ENOMEM;
        s->kind = kind;
        s->a_big = a_big;
    }
    APX__TRY(apx__record(g, op, binop_backward, y, 2, in, s));
    apx__set_rop(g, y, binop_jvp, kind == OP_MUL ? apx__rback_bilinear : apx__rback_linear);
    *out = y;
    return APX_OK;
}

apx_status apx_ad_add(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out) {
    return binop(g, OP_ADD, a, b, out);
}
apx_status apx_ad_sub(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out) {
    return binop(g, OP_SUB, a, b, out);
}
apx_status apx_ad_mul(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out) {
    return binop(g, OP_MUL, a, b, out);
}

apx_status apx_ad_bias(apx_graph *g, apx_tensor *x, apx_tensor *b, apx_tensor **out) {
    APX__TRY(apx__check_op(g, "bias", out));
    APX__TRY(apx__check_tensor(g, "bias", "x", x));
    APX__TRY(apx__check_tensor(g, "bias", "b", b));
    int64_t C = x->ndim ? x->shape[x->ndim - 1] : 1;
    if (b->ndim != 1 || b->shape[0] != C || x->ndim < 1) {
        char sx[96], sb[96];
        return apx__err(APX_ESHAPE, "bias: x %s needs b of shape (%lld), got %s",
                        apx__shape_str(x, sx), (long long)C, apx__shape_str(b, sb));
    }
    return binop(g, OP_ADD, x, b, out);
}

/* ================================================================ scale */

static apx_status scale_backward(apx_graph *g, apx__node *n) {
    float alpha = *(const float *)n->saved, *gx = apx__gin(n->in[0]);
    const float *dy = n->out->grad;
    if (gx)
        for (int64_t i = 0; i < n->out->size; i++) gx[i] += alpha * dy[i];
    return APX_OK;
}

static apx_status scale_jvp(apx_graph *g, apx__node *n) {
    float alpha = *(const float *)n->saved, *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    for (int64_t i = 0; i < n->out->size; i++) ty[i] = alpha * n->in[0]->tan_[i];
    return APX_OK;
}

apx_status apx_ad_scale(apx_graph *g, apx_tensor *x, float alpha, apx_tensor **out) {
    APX__TRY(apx__check_op(g, "scale", out));
    APX__TRY(apx__check_tensor(g, "scale", "x", x));
    if (!isfinite(alpha)) return apx__err(APX_EINVAL, "scale: alpha is %g", (double)alpha);
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, "scale", x->ndim, x->shape, &y));
    for (int64_t i = 0; i < x->size; i++) y->data[i] = alpha * x->data[i];
    float *s = NULL;
    if (apx__wants_grad(g, 1, &x)) {
        if (!(s = apx__arena_alloc(g, "scale", sizeof *s))) return APX_ENOMEM;
        *s = alpha;
    }
    APX__TRY(apx__record(g, "scale", scale_backward, y, 1, &x, s));
    apx__set_rop(g, y, scale_jvp, apx__rback_linear);
    *out = y;
    return APX_OK;
}

/* ================================================================ sum, mean */

static apx_status reduce_backward(apx_graph *g, apx__node *n) {
    float *gx = apx__gin(n->in[0]);
    float c = *(const float *)n->saved * n->out->grad[0];
    if (gx)
        for (int64_t i = 0; i < n->in[0]->size; i++) gx[i] += c;
    return APX_OK;
}

static apx_status reduce_jvp(apx_graph *g, apx__node *n) {
    float *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    double s = 0;
    for (int64_t i = 0; i < n->in[0]->size; i++) s += n->in[0]->tan_[i];
    ty[0] = (float)(*(const float *)n->saved * s);
    return APX_OK;
}

static apx_status reduce(apx_graph *g, const char *op, apx_tensor *x, int mean,
                         apx_tensor **out) {
    APX__TRY(apx__check_op(g, op, out));
    APX__TRY(apx__check_tensor(g, op, "x", x));
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, op, 0, NULL, &y));
    double s = 0; // () = sum of x (n)
    for (int64_t i = 0; i < x->size; i++) s += x->data[i];
    float c = mean ? (float)(1.0 / (double)x->size) : 1.0f;
    y->data[0] = (float)(mean ? s / (double)x->size : s);
    float *sv = NULL;
    if (apx__wants_grad(g, 1, &x)) {
        if (!(sv = apx__arena_alloc(g, op, sizeof *sv))) return APX_ENOMEM;
        *sv = c;
    }
    APX__TRY(apx__record(g, op, reduce_backward, y, 1, &x, sv));
    apx__set_rop(g, y, reduce_jvp, apx__rback_linear);
    *out = y;
    return APX_OK;
}

apx_status apx_ad_sum(apx_graph *g, apx_tensor *x, apx_tensor **out) {
    return reduce(g, "sum", x, 0, out);
}
apx_status apx_ad_mean(apx_graph *g, apx_tensor *x, apx_tensor **out) {
    return reduce(g, "mean", x, 1, out);
}

/* ================================================================ reshape (and identity) */

static apx_status alias_backward(apx_graph *g, apx__node *n) {
    float *gx = apx__gin(n->in[0]);
    if (gx) apx__axpy1(n->out->size, n->out->grad, gx);
    return APX_OK;
}

static apx_status alias_jvp(apx_graph *g, apx__node *n) {
    n->out->tan_ = n->in[0]->tan_;
    return APX_OK;
}

/* out shares x's values with a new shape (same size, checked by the caller). */
static apx_status alias_op(apx_graph *g, const char *op, apx_tensor *x, int ndim,
                           const int64_t *shape, apx_tensor **out) {
    apx_tensor *y;
    APX__TRY(apx__tensor_alias(g, op, ndim, shape, x->data, &y));
    APX__TRY(apx__record(g, op, alias_backward, y, 1, &x, NULL));
    apx__set_rop(g, y, alias_jvp, apx__rback_linear);
    *out = y;
    return APX_OK;
}

static apx_status infer_shape(const apx_tensor *x, int ndim, const int64_t *shape,
                              int64_t *res) {
    if (ndim < 0 || ndim > APX_AD_MAX_DIMS)
        return apx__err(APX_EINVAL, "reshape: ndim %d out of range [0, %d]", ndim,
                        APX_AD_MAX_DIMS);
    if (ndim > 0 && !shape) return apx__err(APX_EINVAL, "reshape: shape is NULL");
    int infer = -1, ok = 1;
    int64_t known = 1;
    for (int i = 0; i < ndim; i++) {
        res[i] = shape[i];
        if (shape[i] == -1 && infer < 0) infer = i;
        else if (shape[i] < 1)
            return apx__err(APX_ESHAPE, "reshape: shape[%d] = %lld (one entry may be -1, "
                            "the others >= 1)", i, (long long)shape[i]);
        else if (shape[i] > x->size / known) ok = 0;
        else known *= shape[i];
    }
    if (ok && infer >= 0 && x->size % known == 0) res[infer] = x->size / known;
    else if (infer >= 0 || known != x->size) ok = 0;
    if (!ok) {
        char sx[96];
        return apx__err(APX_ESHAPE, "reshape: x %s has %lld elements, the new shape does "
                        "not fit them", apx__shape_str(x, sx), (long long)x->size);
    }
    return APX_OK;
}

apx_status apx_ad_reshape(apx_graph *g, apx_tensor *x, int ndim, const int64_t *shape,
                          apx_tensor **out) {
    APX__TRY(apx__check_op(g, "reshape", out));
    APX__TRY(apx__check_tensor(g, "reshape", "x", x));
    int64_t res[APX_AD_MAX_DIMS];
    APX__TRY(infer_shape(x, ndim, shape, res));
    return alias_op(g, "reshape", x, ndim, res, out);
}

/* ================================================================ transpose */

// y (P,N,M) (+)= x (P,M,N) with the last two dims swapped, in 32x32 blocks
static void transpose_kernel(int64_t P, int64_t M, int64_t N, const float *x, float *y,
                             int accumulate) {
    for (int64_t p = 0; p < P; p++) {
        const float *xp = x + p * M * N;
        float *yp = y + p * M * N;
        for (int64_t i0 = 0; i0 < M; i0 += 32)
            for (int64_t j0 = 0; j0 < N; j0 += 32) {
                int64_t i1 = APX__MIN(M, i0 + 32), j1 = APX__MIN(N, j0 + 32);
                for (int64_t i = i0; i < i1; i++)
                    for (int64_t j = j0; j < j1; j++) {
                        if (accumulate) yp[j * M + i] += xp[i * N + j];
                        else yp[j * M + i] = xp[i * N + j];
                    }
            }
    }
}

static apx_status transpose_backward(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0];
    float *gx = apx__gin(x);
    int64_t M = x->shape[x->ndim - 2], N = x->shape[x->ndim - 1];
    if (gx) transpose_kernel(x->size / (M * N), N, M, n->out->grad, gx, 1);
    return APX_OK;
}

static apx_status transpose_jvp(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0];
    int64_t M = x->shape[x->ndim - 2], N = x->shape[x->ndim - 1];
    float *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    transpose_kernel(x->size / (M * N), M, N, x->tan_, ty, 0);
    return APX_OK;
}

apx_status apx_ad_transpose(apx_graph *g, apx_tensor *x, apx_tensor **out) {
    APX__TRY(apx__check_op(g, "transpose", out));
    APX__TRY(apx__check_tensor(g, "transpose", "x", x));
    if (x->ndim < 2) {
        char sx[96];
        return apx__err(APX_ESHAPE, "transpose: x %s needs ndim >= 2", apx__shape_str(x, sx));
    }
    int64_t shape[APX_AD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    int64_t M = x->shape[x->ndim - 2], N = x->shape[x->ndim - 1];
    shape[x->ndim - 2] = N;
    shape[x->ndim - 1] = M;
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, "transpose", x->ndim, shape, &y));
    transpose_kernel(x->size / (M * N), M, N, x->data, y->data, 0);
    APX__TRY(apx__record(g, "transpose", transpose_backward, y, 1, &x, NULL));
    apx__set_rop(g, y, transpose_jvp, apx__rback_linear);
    *out = y;
    return APX_OK;
}

/* ================================================================ slice, concat */

typedef struct {
    int dim;
    int64_t start;
} slice_saved;

/* Sizes before and after dim: x is (outer, shape[dim], inner). */
static void split_at(const apx_tensor *x, int dim, int64_t *outer, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < dim; i++) *outer *= x->shape[i];
    for (int i = dim + 1; i < x->ndim; i++) *inner *= x->shape[i];
}

// dst (outer, dn, inner) (+)= src (outer, sn, inner) rows [s0, s0+len) -> [d0, d0+len)
static void copy_rows(int64_t outer, int64_t inner, const float *src, int64_t sn, int64_t s0,
                      float *dst, int64_t dn, int64_t d0, int64_t len, int accumulate) {
    for (int64_t o = 0; o < outer; o++) {
        const float *s = src + (o * sn + s0) * inner;
        float *d = dst + (o * dn + d0) * inner;
        if (accumulate) apx__axpy1(len * inner, s, d);
        else memcpy(d, s, (size_t)(len * inner) * sizeof(float));
    }
}

static apx_status slice_backward(apx_graph *g, apx__node *n) {
    const slice_saved *s = n->saved;
    apx_tensor *x = n->in[0];
    float *gx = apx__gin(x);
    int64_t outer, inner, len = n->out->shape[s->dim];
    split_at(x, s->dim, &outer, &inner);
    if (gx) copy_rows(outer, inner, n->out->grad, len, 0, gx, x->shape[s->dim], s->start, len, 1);
    return APX_OK;
}

static apx_status slice_jvp(apx_graph *g, apx__node *n) {
    const slice_saved *s = n->saved;
    apx_tensor *x = n->in[0];
    int64_t outer, inner, len = n->out->shape[s->dim];
    float *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    split_at(x, s->dim, &outer, &inner);
    copy_rows(outer, inner, x->tan_, x->shape[s->dim], s->start, ty, len, 0, len, 0);
    return APX_OK;
}

static apx_status norm_dim(const char *op, int ndim, int dim, int *res) {
    int d = dim < 0 ? dim + ndim : dim;
    if (d < 0 || d >= ndim)
        return apx__err(APX_EINVAL, "%s: dim %d out of range for ndim %d", op, dim, ndim);
    *res = d;
    return APX_OK;
}

apx_status apx_ad_slice(apx_graph *g, apx_tensor *x, int dim, int64_t start, int64_t len,
                        apx_tensor **out) {
    APX__TRY(apx__check_op(g, "slice", out));
    APX__TRY(apx__check_tensor(g, "slice", "x", x));
    int d;
    APX__TRY(norm_dim("slice", x->ndim, dim, &d));
    if (start < 0 || len < 1 || start > x->shape[d] - len)
        return apx__err(APX_EINVAL, "slice: [%lld, %lld + %lld) is not inside dim %d of size "
                        "%lld", (long long)start, (long long)start, (long long)len, d,
                        (long long)x->shape[d]);
    int64_t shape[APX_AD_MAX_DIMS], outer, inner;
    memcpy(shape, x->shape, sizeof shape);
    shape[d] = len;
    split_at(x, d, &outer, &inner);
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, "slice", x->ndim, shape, &y));
    copy_rows(outer, inner, x->data, x->shape[d], start, y->data, len, 0, len, 0);
    slice_saved *s = NULL;
    if (apx__wants_grad(g, 1, &x)) {
        if (!(s = apx__arena_alloc(g, "slice", sizeof *s))) return APX_ENOMEM;
        s->dim = d;
        s->start = start;
    }
    APX__TRY(apx__record(g, "slice", slice_backward, y, 1, &x, s));
    apx__set_rop(g, y, slice_jvp, apx__rback_linear);
    *out = y;
    return APX_OK;
}

static apx_status concat_backward(apx_graph *g, apx__node *n) {
    int d = *(const int *)n->saved;
    int64_t outer, inner, pos = 0, dn = n->out->shape[d];
    split_at(n->out, d, &outer, &inner);
    for (int i = 0; i < n->n_in; i++) {
        apx_tensor *x = n->in[i];
        int64_t len = x->shape[d];
        if (apx__gin(x)) copy_rows(outer, inner, n->out->grad, dn, pos, x->grad, len, 0, len, 1);
        pos += len;
    }
    return APX_OK;
}

static apx_status concat_jvp(apx_graph *g, apx__node *n) {
    int d = *(const int *)n->saved;
    int64_t outer, inner, pos = 0, dn = n->out->shape[d];
    float *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    split_at(n->out, d, &outer, &inner);
    for (int i = 0; i < n->n_in; i++) {
        int64_t len = n->in[i]->shape[d];
        copy_rows(outer, inner, n->in[i]->tan_, len, 0, ty, dn, pos, len, 0);
        pos += len;
    }
    return APX_OK;
}

static apx_status concat_check(apx_graph *g, int n, apx_tensor *const *xs, int d,
                               int64_t *total) {
    *total = 0;
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "xs[%d]", i);
        APX__TRY(apx__check_tensor(g, "concat", name, xs[i]));
        int same = xs[i]->ndim == xs[0]->ndim;
        for (int j = 0; same && j < xs[0]->ndim; j++)
            same = j == d || xs[i]->shape[j] == xs[0]->shape[j];
        if (!same) {
            char s0[96], si[96];
            return apx__err(APX_ESHAPE, "concat: xs[%d] %s does not match xs[0] %s outside "
                            "dim %d", i, apx__shape_str(xs[i], si), apx__shape_str(xs[0], s0), d);
        }
        *total += xs[i]->shape[d];
    }
    return APX_OK;
}

apx_status apx_ad_concat(apx_graph *g, int n, apx_tensor *const *xs, int dim,
                         apx_tensor **out) {
    APX__TRY(apx__check_op(g, "concat", out));
    if (n < 1 || !xs) return apx__err(APX_EINVAL, "concat: need n >= 1 tensors, got %d%s", n,
                                      xs ? "" : " (xs is NULL)");
    APX__TRY(apx__check_tensor(g, "concat", "xs[0]", xs[0]));
    int d = 0;
    APX__TRY(norm_dim("concat", xs[0]->ndim, dim, &d));
    int64_t total, shape[APX_AD_MAX_DIMS], outer, inner, pos = 0;
    APX__TRY(concat_check(g, n, xs, d, &total));
    memcpy(shape, xs[0]->shape, sizeof shape);
    shape[d] = total;
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, "concat", xs[0]->ndim, shape, &y));
    split_at(y, d, &outer, &inner);
    for (int i = 0; i < n; i++) {
        int64_t len = xs[i]->shape[d];
        copy_rows(outer, inner, xs[i]->data, len, 0, y->data, total, pos, len, 0);
        pos += len;
    }
    int *s = NULL;
    if (apx__wants_grad(g, n, xs)) {
        if (!(s = apx__arena_alloc(g, "concat", sizeof *s))) return APX_ENOMEM;
        *s = d;
    }
    APX__TRY(apx__record(g, "concat", concat_backward, y, n, xs, s));
    apx__set_rop(g, y, concat_jvp, apx__rback_linear);
    *out = y;
    return APX_OK;
}

/* ================================================================ dropout */

typedef struct {
    uint64_t seed, stream;
    uint32_t threshold;
    float scale;
} dropout_saved;

// y (n) (+)= x (n) * keep / (1-p); keep_i from word i of the Philox stream (seed, stream)
static void dropout_kernel(const dropout_saved *s, int64_t n, const float *x, float *y,
                           int accumulate) {
    const uint32_t key[2] = {(uint32_t)s->seed, (uint32_t)(s->seed >> 32)};
    int64_t nblocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t b = 0; b < nblocks; b++) {
        uint32_t ctr[4] = {(uint32_t)b, (uint32_t)((uint64_t)b >> 32), (uint32_t)s->stream,
                           (uint32_t)(s->stream >> 32)}, u[4];
        apx_philox4x32_10(ctr, key, u);
        for (int w = 0; w < 4 && 4 * b + w < n; w++) {
            int64_t i = 4 * b + w;
            float v = u[w] >= s->threshold ? x[i] * s->scale : 0.0f;
            if (accumulate) y[i] += v;
            else y[i] = v;
        }
    }
}

static apx_status dropout_backward(apx_graph *g, apx__node *n) {
    float *gx = apx__gin(n->in[0]);
    if (gx) dropout_kernel(n->saved, n->out->size, n->out->grad, gx, 1);
    return APX_OK;
}

static apx_status dropout_jvp(apx_graph *g, apx__node *n) {
    float *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    dropout_kernel(n->saved, n->out->size, n->in[0]->tan_, ty, 0);
    return APX_OK;
}

apx_status apx_ad_dropout(apx_graph *g, apx_tensor *x, float p, uint64_t seed,
                          uint64_t stream, apx_tensor **out) {
    APX__TRY(apx__check_op(g, "dropout", out));
    APX__TRY(apx__check_tensor(g, "dropout", "x", x));
    if (!(p >= 0.0f && p < 1.0f))
        return apx__err(APX_EINVAL, "dropout: p must be in [0, 1), got %g", (double)p);
    if (p == 0.0f) return alias_op(g, "dropout", x, x->ndim, x->shape, out);
    dropout_saved *s = apx__arena_alloc(g, "dropout", sizeof *s);
    apx_tensor *y;
    if (!s) return APX_ENOMEM;
    s->seed = seed;
    s->stream = stream;
    double t = ceil((double)p * 4294967296.0);
    s->threshold = t >= 4294967295.0 ? 4294967295u : (uint32_t)t;
    s->scale = (float)(1.0 / (1.0 - (double)p));
    APX__TRY(apx__tensor_new(g, "dropout", x->ndim, x->shape, &y));
    dropout_kernel(s, x->size, x->data, y->data, 0);
    APX__TRY(apx__record(g, "dropout", dropout_backward, y, 1, &x, s));
    apx__set_rop(g, y, dropout_jvp, apx__rback_linear);
    *out = y;
    return APX_OK;
}
