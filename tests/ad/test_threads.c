/* tests/ad/test_threads.c: a chain of the element-wise ops of a GPT layer (layernorm, bias,
 * gelu, add, rmsnorm) on a shape where the exact GELU shares its blocks between threads
 * (above 32768 elements) gives bit-identical values and gradients on 1 and 2 threads. Their
 * results against double references are checked on small shapes by the other ad tests. */
#include <stdlib.h>

#include "test_ad_check.h"

enum { TR = 96, TC = 384 }; /* 36864 elements: above the GELU threshold */

/* Forward and backward of a chain of those ops; out: y and the three gradients. */
static void run_chain(int threads, const float *xs, const float *ws, float *out) {
    int saved = apx_get_threads();
    apx_set_threads(threads);
    apx_graph *g;
    if (apx_graph_create(NULL, &g)) return;
    apx_tensor *x, *w, *b, *h, *r, *y;
    apx_status st = apx_ad_tensor_from(g, 2, (int64_t[]){TR, TC}, xs, 1, &x);
    if (!st) st = apx_ad_tensor_from(g, 1, (int64_t[]){TC}, ws, 1, &w);
    if (!st) st = apx_ad_tensor_from(g, 1, (int64_t[]){TC}, ws + TC, 1, &b);
    if (!st) st = apx_ad_layernorm(g, x, w, b, 1e-5f, &h);
    if (!st) st = apx_ad_bias(g, h, b, &h);
    if (!st) st = apx_ad_gelu(g, h, APX_GELU_ERF, &h);
    if (!st) st = apx_ad_add(g, h, x, &r);
    if (!st) st = apx_ad_rmsnorm(g, r, w, 1e-5f, &y);
    if (!st) st = apx_ad_backward_seed(g, y, xs); /* any fixed dy */
    if (!st) {
        memcpy(out, y->data, sizeof(float) * TR * TC);
        memcpy(out + TR * TC, x->grad, sizeof(float) * TR * TC);
        memcpy(out + 2 * TR * TC, w->grad, sizeof(float) * TC);
        memcpy(out + 2 * TR * TC + TC, b->grad, sizeof(float) * TC);
    }
    apx_graph_free(g);
    apx_set_threads(saved);
}

TEST(ad_elementwise_threads_bit_identical) {
    size_t n = 2 * TR * TC + 2 * TC;
    float *xs = malloc(sizeof(float) * TR * TC), *ws = malloc(sizeof(float) * 2 * TC);
    float *o1 = calloc(n, sizeof(float)), *o2 = calloc(n, sizeof(float));
    double *buf = malloc(sizeof(double) * TR * TC);
    apx_rng_fill_normal(3, 0, buf, TR * TC);
    for (int i = 0; i < TR * TC; i++) xs[i] = (float)(2 * buf[i]);
    for (int i = 0; i < 2 * TC; i++) ws[i] = (float)(1 + 0.1 * buf[i]);
    run_chain(1, xs, ws, o1);
    run_chain(2, xs, ws, o2);
    CHECK(!memcmp(o1, o2, sizeof(float) * n));
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs(o1[i]);
    CHECK(s > 0 && isfinite(s)); /* the chain ran */
    free(xs), free(ws), free(o1), free(o2), free(buf);
}
