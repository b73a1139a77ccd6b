/* tests/ad/test_attention_rop.c: attention's forward-over-reverse rule (exact HVPs): the
 * tiled jvp and R-backward of attention.c against the plain reference of attention_ref.c
 * (row by row in double) on shapes with partial and diagonal tiles, causal and not, several
 * heads, and 16-multiple tiles that take the AVX-512 kernels where the CPU has them. The
 * whole rule against double second differences is in test_attention.c (ADC_HVP). */
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "ad/ad_internal.h"

typedef struct {
    int64_t B, T, H, Dk, Dv, bq, bk;
    int causal;
} rop_shape;

static float *rand_buf(int64_t n, uint64_t seed, uint64_t stream) {
    double *d = malloc(sizeof(double) * (size_t)n);
    float *f = malloc(sizeof(float) * (size_t)n);
    apx_rng_fill_normal(seed, stream, d, n);
    for (int64_t i = 0; i < n; i++) f[i] = (float)d[i];
    free(d);
    return f;
}

static double rel_diff(const float *a, const float *r, int64_t n) {
    double m = 0, e = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(r[i]));
    for (int64_t i = 0; i < n; i++) e = fmax(e, fabs((double)a[i] - r[i]));
    return m > 0 ? e / m : e;
}

/* Runs the node's jvp and rback on random tangents and compares with the reference;
 * returns the worst relative difference of tO, tgq, tgk, tgv (or 1 on failure). */
static double rop_vs_ref(const rop_shape *sh, uint64_t seed) {
    int64_t nq = sh->B * sh->T * sh->H * sh->Dk, nv = sh->B * sh->T * sh->H * sh->Dv;
    int64_t n[4] = {nq, nq, nv, nv}; /* q, k, v, out */
    float *x[4], *tx[4], *gt[4], *ref[4];
    for (int i = 0; i < 4; i++) {
        x[i] = rand_buf(n[i], seed, (uint64_t)i);  /* q, k, v; dO */
        tx[i] = rand_buf(n[i], seed, 10u + i);     /* tq, tk, tv; tdO */
        gt[i] = calloc((size_t)n[i], sizeof(float));
        ref[i] = calloc((size_t)n[i], sizeof(float));
    }
    apx_graph *g = NULL;
    apx_tensor *in[3], *y = NULL;
    apx_attention_opts o = apx_attention_opts_default();
    o.n_head = sh->H, o.causal = sh->causal, o.block_q = sh->bq, o.block_k = sh->bk;
    double worst = 1;
    int64_t s3[3][3] = {{sh->B, sh->T, sh->H * sh->Dk}, {sh->B, sh->T, sh->H * sh->Dk},
                        {sh->B, sh->T, sh->H * sh->Dv}};
    apx_status st = apx_graph_create(NULL, &g);
    for (int i = 0; st == APX_OK && i < 3; i++) st = apx_ad_tensor_from(g, 3, s3[i], x[i], 1, &in[i]);
    if (st == APX_OK) st = apx_ad_attention(g, in[0], in[1], in[2], &o, &y);
    if (st == APX_OK && g->tape && g->tape->jvp) {
        apx__node *nd = g->tape;
        for (int i = 0; i < 3; i++) in[i]->tan_ = tx[i], in[i]->gtan_ = gt[i];
        y->grad = x[3], y->gtan_ = tx[3];
        for (int i = 0; i < 3; i++) in[i]->grad = NULL; /* the rback reads gtan_ only */
        st = nd->jvp(g, nd);
        if (st == APX_OK) memcpy(gt[3], y->tan_, sizeof(float) * (size_t)nv);
        if (st == APX_OK) st = nd->rback(g, nd);
        float scale = (float)(1.0 / sqrt((double)sh->Dk));
        apx__attn_rop_in a = {sh->B, sh->T, sh->T, sh->H, sh->Dk, sh->Dv, sh->causal, scale,
                              x[0], x[1], x[2], tx[0], tx[1], tx[2], x[3], tx[3]};
        if (st == APX_OK) st = apx__attention_rop_ref(&a, ref[3], ref[0], ref[1], ref[2]);
        if (st == APX_OK) {
            worst = 0;
            for (int i = 0; i < 4; i++) worst = fmax(worst, rel_diff(gt[i], ref[i], n[i]));
        }
    }
    apx_graph_free(g);
    for (int i = 0; i < 4; i++) free(x[i]), free(tx[i]), free(gt[i]), free(ref[i]);
    return worst;
}

TEST(ad_attention_rop_tiled_matches_reference) {
    static const rop_shape shapes[] = {
        {1, 19, 2, 4, 4, 8, 4, 1},   /* partial tiles, diagonal tiles of both shapes */
        {2, 13, 3, 3, 5, 5, 7, 0},   /* not causal, Dk != Dv */
        {2, 10, 3, 2, 3, 3, 6, 1},   /* query tiles smaller than key tiles */
        {1, 40, 2, 16, 16, 16, 16, 1}, /* 16-multiples: the AVX-512 tile kernels */
        {1, 37, 1, 32, 16, 0, 0, 0}, /* default tiles (one partial tile) */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        double e = rop_vs_ref(&shapes[s], 700 + s);
        if (getenv("APX_TEST_VERBOSE"))
            printf("    attention R-op shape %zu: tiled vs reference rel err %.2e\n", s, e);
        CHECK(e < 1e-5);
    }
}
