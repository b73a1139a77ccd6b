/* tests/ad/test_ops_conv.c: conv1d and conv2d (stride, padding, dilation, groups, bias)
 * against a direct double loop, gradients by central differences, bad input. */
#include "test_ad_check.h"

typedef struct {
    int nd, bias;
    apx_conv_opts o;
} conv_args;

/* Direct cross-correlation; conv1d is the 2-D one with height 1 and stride/pad/dil [0] on W. */
static void ref_conv(const adc_case *c, double *const *x, double *y) {
    const conv_args *a = c->ctx;
    int one = a->nd == 1;
    int64_t B = c->shape[0][0], Cin = c->shape[0][1], H = one ? 1 : c->shape[0][2];
    int64_t W = c->shape[0][one ? 2 : 3], Cout = c->shape[1][0], KH = one ? 1 : c->shape[1][2];
    int64_t KW = c->shape[1][one ? 2 : 3], G = a->o.groups, Cg = Cin / G, Og = Cout / G;
    int64_t sh = one ? 1 : a->o.stride[0], sw = a->o.stride[one ? 0 : 1];
    int64_t ph = one ? 0 : a->o.padding[0], pw = a->o.padding[one ? 0 : 1];
    int64_t dh = one ? 1 : a->o.dilation[0], dw = a->o.dilation[one ? 0 : 1];
    int64_t Ho = (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1, Wo = (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1;
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < Cout; o++)
            for (int64_t oh = 0; oh < Ho; oh++)
                for (int64_t ow = 0; ow < Wo; ow++) {
                    double s = a->bias ? x[2][o] : 0;
                    for (int64_t ci = 0; ci < Cg; ci++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                s += x[0][((b * Cin + o / Og * Cg + ci) * H + ih) * W + iw] *
                                     x[1][((o * Cg + ci) * KH + kh) * KW + kw];
                            }
                    y[((b * Cout + o) * Ho + oh) * Wo + ow] = s;
                }
}

static apx_status build_conv(const adc_case *c, apx_graph *g, apx_tensor **in, apx_tensor **out) {
    const conv_args *a = c->ctx;
    apx_tensor *bias = a->bias ? in[2] : NULL;
    return a->nd == 1 ? apx_ad_conv1d(g, in[0], in[1], bias, &a->o, out)
                      : apx_ad_conv2d(g, in[0], in[1], bias, &a->o, out);
}

TEST(ad_conv1d_grad) {
    conv_args a = {1, 1, {{2, 1}, {1, 0}, {2, 1}, 2}};
    adc_case c = {.name = "conv1d s2 p1 d2 g2", .n_in = 3, .ndim = {3, 3, 1},
                  .shape = {{2, 4, 9}, {6, 2, 3}, {6}}, .grad = {1, 1, 1}, .ref = ref_conv,
                  .build = build_conv, .ctx = &a, .seed = 500};
    ADC_RUN(&c);
    ADC_HVP(&c);
    conv_args dw = {1, 0, {{1, 1}, {3, 0}, {1, 1}, 3}}; /* depthwise, as in SSM blocks */
    adc_case c2 = {.name = "conv1d depthwise", .n_in = 2, .ndim = {3, 3},
                   .shape = {{1, 3, 7}, {3, 1, 4}}, .grad = {1, 1}, .ref = ref_conv,
                   .build = build_conv, .ctx = &dw, .seed = 501};
    ADC_RUN(&c2);
    ADC_HVP(&c2);
    conv_args plain = {1, 1, apx_conv_opts_default()};
    adc_case c3 = {.name = "conv1d plain", .n_in = 3, .ndim = {3, 3, 1},
                   .shape = {{3, 2, 6}, {4, 2, 2}, {4}}, .grad = {0, 1, 1}, .ref = ref_conv,
                   .build = build_conv, .ctx = &plain, .seed = 502};
    ADC_RUN(&c3);
    ADC_HVP(&c3);
}

TEST(ad_conv2d_grad) {
    conv_args a = {2, 1, {{2, 1}, {1, 0}, {1, 2}, 1}};
    adc_case c = {.name = "conv2d s21 p10 d12", .n_in = 3, .ndim = {4, 4, 1},
                  .shape = {{2, 3, 6, 5}, {4, 3, 3, 2}, {4}}, .grad = {1, 1, 1}, .ref = ref_conv,
                  .build = build_conv, .ctx = &a, .seed = 510};
    ADC_RUN(&c);
    ADC_HVP(&c);
    conv_args gr = {2, 0, {{1, 1}, {1, 1}, {1, 1}, 2}};
    adc_case c2 = {.name = "conv2d groups 2", .n_in = 2, .ndim = {4, 4},
                   .shape = {{1, 4, 5, 5}, {2, 2, 3, 3}}, .grad = {1, 1}, .ref = ref_conv,
                   .build = build_conv, .ctx = &gr, .seed = 511};
    ADC_RUN(&c2);
    ADC_HVP(&c2);
}

TEST(ad_conv_bad_input) {
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    apx_tensor *x, *w, *w2, *b, *x4, *w4, *y;
    REQUIRE_OK(apx_ad_tensor(g, 3, (int64_t[]){2, 4, 5}, 1, &x));
    REQUIRE_OK(apx_ad_tensor(g, 3, (int64_t[]){6, 4, 3}, 1, &w));
    REQUIRE_OK(apx_ad_tensor(g, 3, (int64_t[]){6, 3, 3}, 1, &w2));
    REQUIRE_OK(apx_ad_tensor(g, 1, (int64_t[]){5}, 1, &b));
    REQUIRE_OK(apx_ad_tensor(g, 4, (int64_t[]){1, 4, 3, 3}, 1, &x4));
    REQUIRE_OK(apx_ad_tensor(g, 4, (int64_t[]){2, 4, 4, 1}, 1, &w4));
    apx_conv_opts o = apx_conv_opts_default();
    CHECK_OK(apx_ad_conv1d(g, x, w, NULL, &o, &y));
    CHECK(y->shape[0] == 2 && y->shape[1] == 6 && y->shape[2] == 3);
    CHECK_STATUS(apx_ad_conv1d(g, x, w2, NULL, &o, &y), APX_ESHAPE); /* 3 != 4 channels */
    CHECK(strstr(apx_last_error(), "channels"));
    CHECK_STATUS(apx_ad_conv1d(g, x, w, b, &o, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_conv1d(g, x4, w, NULL, &o, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_conv2d(g, x4, w4, NULL, &o, &y), APX_ESHAPE); /* KH 4 > H 3 */
    o.padding[0] = 1;
    CHECK_OK(apx_ad_conv2d(g, x4, w4, NULL, &o, &y));
    CHECK(y->shape[2] == 2 && y->shape[3] == 3);
    o = apx_conv_opts_default();
    o.stride[0] = 0;
    CHECK_STATUS(apx_ad_conv1d(g, x, w, NULL, &o, &y), APX_EINVAL);
    o = apx_conv_opts_default();
    o.dilation[0] = 0;
    CHECK_STATUS(apx_ad_conv1d(g, x, w, NULL, &o, &y), APX_EINVAL);
    o = apx_conv_opts_default();
    o.padding[0] = -1;
    CHECK_STATUS(apx_ad_conv1d(g, x, w, NULL, &o, &y), APX_EINVAL);
    o = apx_conv_opts_default();
    o.groups = 3;
    CHECK_STATUS(apx_ad_conv1d(g, x, w, NULL, &o, &y), APX_EINVAL);
    o.groups = 0;
    CHECK_STATUS(apx_ad_conv1d(g, x, w, NULL, &o, &y), APX_EINVAL);
    o = apx_conv_opts_default();
    o.dilation[0] = 3; /* span 7 > 5 */
    CHECK_STATUS(apx_ad_conv1d(g, x, w, NULL, &o, &y), APX_ESHAPE);
    CHECK_STATUS(apx_ad_conv1d(g, NULL, w, NULL, NULL, &y), APX_EINVAL);
    CHECK_STATUS(apx_ad_conv2d(g, x4, NULL, NULL, NULL, &y), APX_EINVAL);
    apx_graph_free(g);
}
