/* tests/ad/test_attention.c: the tiled FlashAttention-style kernel against naive softmax
 * attention in double (causal and not, several heads, T not a multiple of the tiles),
 * gradients by central differences, exact Hessian-vector products against double second
 * differences, memory linear in T (arena high-water mark), the counted
 * memory traffic against the Theta(N^2 d^2 / M) model of P107, and bad input. */
#include <stdio.h>
#include <stdlib.h>

#include "test_ad_check.h"

/* Naive attention in double: scores, softmax and the weighted sum of v, row by row. */
static void ref_attention(const adc_case *c, double *const *x, double *y) {
    const apx_attention_opts *o = c->ctx;
    int64_t B = c->shape[0][0], Tq = c->shape[0][1], Tk = c->shape[1][1], H = o->n_head;
    int64_t Dk = c->shape[0][2] / H, Dv = c->shape[2][2] / H;
    double scale = o->scale > 0 ? o->scale : 1 / sqrt((double)Dk);
    double *s = malloc(sizeof(double) * (size_t)Tk);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Tq; i++) {
                int64_t jn = o->causal ? i + 1 : Tk;
                double m = -INFINITY, z = 0;
                const double *q = x[0] + (b * Tq + i) * H * Dk + h * Dk;
                for (int64_t j = 0; j < jn; j++) {
                    const double *k = x[1] + (b * Tk + j) * H * Dk + h * Dk;
                    s[j] = 0;
                    for (int64_t d = 0; d < Dk; d++) s[j] += scale * q[d] * k[d];
                    m = fmax(m, s[j]);
                }
                for (int64_t j = 0; j < jn; j++) z += exp(s[j] - m);
                double *out = y + (b * Tq + i) * H * Dv + h * Dv;
                for (int64_t e = 0; e < Dv; e++) out[e] = 0;
                for (int64_t j = 0; j < jn; j++) {
                    const double *v = x[2] + (b * Tk + j) * H * Dv + h * Dv;
                    for (int64_t e = 0; e < Dv; e++) out[e] += exp(s[j] - m) / z * v[e];
                }
            }
    free(s);
}

static apx_status build_attention(const adc_case *c, apx_graph *g, apx_tensor **in,
                                  apx_tensor **out) {
    return apx_ad_attention(g, in[0], in[1], in[2], c->ctx, out);
}

static adc_case attn_case(const char *name, const apx_attention_opts *o, int64_t B, int64_t Tq,
                          int64_t Tk, int64_t Dk, int64_t Dv, uint64_t seed) {
    adc_case c = {.name = name, .n_in = 3, .ndim = {3, 3, 3}, .grad = {1, 1, 1},
                  .scale = {1.5, 1.5, 1}, .ref = ref_attention, .build = build_attention,
                  .ctx = o, .seed = seed};
    int64_t H = o->n_head;
    int64_t s[3][3] = {{B, Tq, H * Dk}, {B, Tk, H * Dk}, {B, Tk, H * Dv}};
    for (int i = 0; i < 3; i++) memcpy(c.shape[i], s[i], sizeof s[i]);
    return c;
}

TEST(ad_attention_grad_small_tiles) {
    apx_attention_opts o = apx_attention_opts_default();
    o.n_head = 2;
    o.block_q = 8;
    o.block_k = 4; /* T = 19: partial tiles on both axes, diagonal tiles of both shapes */
    adc_case c = attn_case("attention causal", &o, 1, 19, 19, 4, 4, 600);
    ADC_RUN(&c);
    ADC_HVP(&c);
    apx_attention_opts o2 = o;
    o2.causal = 0;
    o2.block_q = 5;
    o2.block_k = 7;
    o2.scale = 0.3f;
    adc_case c2 = attn_case("attention cross", &o2, 2, 13, 11, 3, 5, 601);
    ADC_RUN(&c2);
    ADC_HVP(&c2);
    apx_attention_opts o3 = apx_attention_opts_default();
    o3.n_head = 3;
    o3.block_q = 3;
    o3.block_k = 6; /* query tiles smaller than key tiles */
    adc_case c3 = attn_case("attention causal 3 heads", &o3, 2, 10, 10, 2, 3, 602);
    ADC_RUN(&c3);
    ADC_HVP(&c3);
}

/* Forward only (no gradient check): bigger shapes, default 64-row tiles, T = 150. */
TEST(ad_attention_forward_matches_naive) {
    apx_attention_opts o = apx_attention_opts_default();
    o.n_head = 4;
    adc_case c = attn_case("attention T=150", &o, 2, 150, 150, 16, 16, 610);
    c.grad[0] = c.grad[1] = c.grad[2] = 0;
    ADC_RUN(&c);
    apx_attention_opts o2 = o;
    o2.block_q = 48;
    o2.block_k = 20;
    adc_case c2 = attn_case("attention T=150 tiles 48/20", &o2, 1, 150, 150, 16, 8, 611);
    c2.grad[0] = c2.grad[1] = c2.grad[2] = 0;
    ADC_RUN(&c2);
}

/* Arena high-water mark of forward + backward for T, 2T, 4T: linear growth. */
static size_t attention_peak(int64_t T) {
    apx_graph *g;
    if (apx_graph_create(NULL, &g) != APX_OK) return 0;
    int64_t C = 32, s[3] = {1, T, C};
    apx_attention_opts o = apx_attention_opts_default();
    o.n_head = 2;
    apx_tensor *q, *k, *v, *y, *l;
    size_t peak = 0;
    if (apx_ad_tensor(g, 3, s, 1, &q) || apx_ad_tensor(g, 3, s, 1, &k) ||
        apx_ad_tensor(g, 3, s, 1, &v))
        goto done;
    apx_rng_fill_normal_f(1, 0, q->data, T * C);
    apx_rng_fill_normal_f(2, 0, k->data, T * C);
    apx_rng_fill_normal_f(3, 0, v->data, T * C);
    if (apx_ad_attention(g, q, k, v, &o, &y) || apx_ad_sum(g, y, &l) || apx_ad_backward(g, l))
        goto done;
    apx_graph_stats st;
    apx_graph_get_stats(g, &st);
    peak = st.high_water;
done:
    apx_graph_free(g);
    return peak;
}

TEST(ad_attention_memory_linear_in_T) {
    size_t p1 = attention_peak(128), p2 = attention_peak(256), p3 = attention_peak(512);
    REQUIRE(p1 && p2 && p3);
    double d1 = (double)p2 - (double)p1, d2 = (double)p3 - (double)p2;
    if (getenv("APX_TEST_VERBOSE"))
        printf("    attention peak bytes T=128: %zu, 256: %zu, 512: %zu (increments ratio %.3f)\n",
               p1, p2, p3, d2 / d1);
    CHECK(d1 > 0 && d2 / d1 < 2.2); /* linear: 2; a T x T buffer would make it >= 4 */
    CHECK(d2 < 4.0 * (512.0 * 512 - 256.0 * 256)); /* less than one T x T float matrix grows */
}

/* Counted traffic (floats) of forward and backward for one fast-memory size M. */
static int attention_io(int64_t N, int64_t d, int64_t M, double *fwd, double *bwd) {
    apx_graph *g;
    if (apx_graph_create(NULL, &g) != APX_OK) return 0;
    int64_t s[3] = {1, N, d};
    apx_attention_io io;
    memset(&io, 0, sizeof io);
    apx_attention_opts o = apx_attention_opts_default();
    o.on_chip_floats = M;
    o.io = &io;
    apx_tensor *q, *k, *v, *y, *l;
    int ok = !apx_ad_tensor(g, 3, s, 1, &q) && !apx_ad_tensor(g, 3, s, 1, &k) &&
             !apx_ad_tensor(g, 3, s, 1, &v);
    if (ok) {
        apx_rng_fill_normal_f(1, 0, q->data, N * d);
        apx_rng_fill_normal_f(2, 0, k->data, N * d);
        apx_rng_fill_normal_f(3, 0, v->data, N * d);
        ok = !apx_ad_attention(g, q, k, v, &o, &y) && !apx_ad_sum(g, y, &l) &&
             !apx_ad_backward(g, l);
    }
    *fwd = (double)(io.fwd_read + io.fwd_write) / 4;
    *bwd = (double)(io.bwd_read + io.bwd_write) / 4;
    if (getenv("APX_TEST_VERBOSE"))
        printf("    N=%lld d=%lld M=%6lld tiles fwd %lld/%lld bwd %lld/%lld: fwd %.0f bwd %.0f "
               "floats, model N^2d^2/M %.0f (ratios %.2f, %.2f)\n", (long long)N, (long long)d,
               (long long)M, (long long)io.block_q, (long long)io.block_k,
               (long long)io.bwd_block_q, (long long)io.bwd_block_k, *fwd, *bwd,
               apx_attention_io_model(N, d, M), *fwd / apx_attention_io_model(N, d, M),
               *bwd / apx_attention_io_model(N, d, M));
    apx_graph_free(g);
    return ok;
}

/* Least-squares slope of log y against log x. */
static double loglog_slope(int n, const double *x, const double *y) {
    double mx = 0, my = 0, sxy = 0, sxx = 0;
    for (int i = 0; i < n; i++) mx += log(x[i]) / n, my += log(y[i]) / n;
    for (int i = 0; i < n; i++) {
        sxy += (log(x[i]) - mx) * (log(y[i]) - my);
        sxx += (log(x[i]) - mx) * (log(x[i]) - mx);
    }
    return sxy / sxx;
}

/* P107: with tiles sized for a fast memory of M floats (M >= d^2), the traffic is
 * Theta(N^2 d^2 / M). Counted for N = 512, d = 16 and M = d^2 .. 8 d^2: the causal forward
 * reads K and V N/(2 Br) times with Br = M/(4d), i.e. 4 N^2 d^2 / M floats, plus about 3 N d
 * once (Q, O, L): ratio to the model 4 + 3M/(Nd) (4.09 .. 4.75), log-log slope in M about
 * -0.93. The backward streams Q, dO, L, D and dQ (read and written), 4d + 2 floats a row,
 * past each K/V tile of Bc = M/(4d) rows: (8 + 4/d) N^2 d^2 / M plus about N (8d + 1) once
 * (ratio 8.5 .. 10.3), slope about -0.91. */
TEST(ad_attention_io_follows_model) {
    enum { NM = 4 };
    int64_t N = 512, d = 16;
    double M[NM], fw[NM], bw[NM], model[NM];
    for (int i = 0; i < NM; i++) {
        M[i] = (double)(d * d << i);
        REQUIRE(attention_io(N, d, (int64_t)M[i], &fw[i], &bw[i]));
        model[i] = apx_attention_io_model(N, d, (int64_t)M[i]);
        CHECK(fw[i] / model[i] > 3.5 && fw[i] / model[i] < 5.5);
        CHECK(bw[i] / model[i] > 7.0 && bw[i] / model[i] < 11.0);
    }
    double sf = loglog_slope(NM, M, fw), sb = loglog_slope(NM, M, bw);
    if (getenv("APX_TEST_VERBOSE")) printf("    slopes: forward %.3f, backward %.3f\n", sf, sb);
    CHECK(sf > -1.05 && sf < -0.85);
    CHECK(sb > -1.05 && sb < -0.85);
    if (getenv("APX_TEST_VERBOSE")) /* the d = 64 table, for the record */
        for (int i = 0; i < 3; i++) {
            double f, b;
            attention_io(N, 64, (int64_t)(64 * 64) << i, &f, &b);
        }
}

/* The on-chip tile sizing gives the same output as the naive reference. */
TEST(ad_attention_on_chip_tiles_exact) {
    apx_attention_opts o = apx_attention_opts_default();
    o.n_head = 2;
    o.on_chip_floats = 300; /* tiles 9 and 8 rows for Dk = 8 */
    adc_case c = attn_case("attention M=300", &o, 1, 40, 40, 8, 8, 620);
    c.grad[1] = 0;
    ADC_RUN(&c);
}

TEST(ad_attention_bad_input) {
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    apx_tensor *q, *k, *v, *k2, *q2, *y;
    REQUIRE_OK(apx_ad_tensor(g, 3, (int64_t[]){2, 5, 8}, 1, &q));
    REQUIRE_OK(apx_ad_tensor(g, 3, (int64_t[]){2, 5, 8}, 1, &k));
    REQUIRE_OK(apx_ad_tensor(g, 3, (int64_t[]){2, 5, 6}, 1, &v));
    REQUIRE_OK(apx_ad_tensor(g, 3, (int64_t[]){2, 7, 8}, 1, &k2));
    REQUIRE_OK(apx_ad_tensor(g, 2, (int64_t[]){5, 8}, 1, &q2));
    apx_attention_opts o = apx_attention_opts_default();
    o.n_head = 2;
    CHECK_OK(apx_ad_attention(g, q, k, v, &o, &y));
    CHECK(y->shape[0] == 2 && y->shape[1] == 5 && y->shape[2] == 6);
    CHECK_OK(apx_ad_attention(g, q, k, v, NULL, &y)); /* one head */
    CHECK_STATUS(apx_ad_attention(g, q, k2, v, &o, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_attention(g, q2, k, v, &o, &y), APX_ESHAPE);
    CHECK(strstr(apx_last_error(), "(5,8)"));
    o.n_head = 3;
    CHECK_STATUS(apx_ad_attention(g, q, k, v, &o, &y), APX_ESHAPE);
    o.n_head = 0;
    CHECK_STATUS(apx_ad_attention(g, q, k, v, &o, &y), APX_EINVAL);
    o = apx_attention_opts_default();
    o.causal = 1;
    apx_tensor *v2;
    REQUIRE_OK(apx_ad_tensor(g, 3, (int64_t[]){2, 7, 8}, 1, &v2));
    CHECK_STATUS(apx_ad_attention(g, q, k2, v2, &o, &y), APX_ESHAPE); /* causal Tq != Tk */
    o.causal = 0;
    CHECK_OK(apx_ad_attention(g, q, k2, v2, &o, &y));
    o.scale = NAN;
    CHECK_STATUS(apx_ad_attention(g, q, k, v, &o, &y), APX_EINVAL);
    o = apx_attention_opts_default();
    o.block_q = -1;
    CHECK_STATUS(apx_ad_attention(g, q, k, v, &o, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_attention(g, NULL, k, v, NULL, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_attention(g, q, k, v, NULL, NULL), APX_EINVAL);
    CHECK(apx_attention_io_model(0, 1, 1) == 0);
    CHECK_NEAR(apx_attention_io_model(512, 16, 1024), 65536.0, 0, 1e-15);
    apx_graph_free(g);
}

/* Same bits for any thread count (each (batch, head) task is computed by one thread). */
static void attention_run(int threads, float *out, float *gq) {
    apx_set_threads(threads);
    apx_graph *g;
    if (apx_graph_create(NULL, &g) != APX_OK) return;
    int64_t s[3] = {3, 33, 24};
    apx_attention_opts o = apx_attention_opts_default();
    o.n_head = 3;
    o.block_q = 16;
    o.block_k = 8;
    apx_tensor *q, *k, *v, *y, *l;
    if (!apx_ad_tensor(g, 3, s, 1, &q) && !apx_ad_tensor(g, 3, s, 1, &k) &&
        !apx_ad_tensor(g, 3, s, 1, &v)) {
        apx_rng_fill_normal_f(1, 0, q->data, 3 * 33 * 24);
        apx_rng_fill_normal_f(2, 0, k->data, 3 * 33 * 24);
        apx_rng_fill_normal_f(3, 0, v->data, 3 * 33 * 24);
        if (!apx_ad_attention(g, q, k, v, &o, &y) && !apx_ad_sum(g, y, &l) &&
            !apx_ad_backward(g, l)) {
            memcpy(out, y->data, sizeof(float) * 3 * 33 * 24);
            memcpy(gq, q->grad, sizeof(float) * 3 * 33 * 24);
        }
    }
    apx_graph_free(g);
}

TEST(ad_attention_thread_count_independent) {
    static float o1[3 * 33 * 24], g1[3 * 33 * 24], o4[3 * 33 * 24], g4[3 * 33 * 24];
    int saved = apx_get_threads();
    attention_run(1, o1, g1);
    attention_run(4, o4, g4);
    apx_set_threads(saved);
    CHECK(!memcmp(o1, o4, sizeof o1) && !memcmp(g1, g4, sizeof g1));
    double s = 0;
    for (int i = 0; i < 3 * 33 * 24; i++) s += fabs(g1[i]);
    CHECK(s > 0);
}
