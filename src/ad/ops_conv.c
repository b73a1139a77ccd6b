/* ops_conv.c: conv1d and conv2d (PyTorch semantics: cross-correlation, zero padding,
 * stride, dilation, groups) by im2col + sgemm; conv1d is conv2d with height 1. The backward
 * recomputes the columns instead of storing them. Exact HVPs: conv_jvp (bilinear). */
#include <limits.h>
#include <stdio.h>

#include "ad_internal.h"

apx_conv_opts apx_conv_opts_default(void) {
    apx_conv_opts o = {{1, 1}, {0, 0}, {1, 1}, 1};
    return o;
}

typedef struct {
    int64_t B, Cin, H, W, Cout, KH, KW, Ho, Wo; /* x (B,Cin,H,W), w (Cout,Cin/G,KH,KW) */
    int64_t sh, sw, ph, pw, dh, dw, G;
} conv_geom;

/* Rows of the column matrix (Cin/G * KH * KW) and its columns (Ho * Wo). */
static int64_t geom_ckk(const conv_geom *c) { return c->Cin / c->G * c->KH * c->KW; }
static int64_t geom_hw(const conv_geom *c) { return c->Ho * c->Wo; }

// cols (Cg*KH*KW, Ho*Wo) = patches of x (Cg, H, W) (zero outside)
static void im2col(const conv_geom *c, const float *x, float *cols) {
    int64_t Cg = c->Cin / c->G, hw = geom_hw(c);
    for (int64_t ch = 0; ch < Cg; ch++)
        for (int64_t kh = 0; kh < c->KH; kh++)
            for (int64_t kw = 0; kw < c->KW; kw++) {
                float *row = cols + ((ch * c->KH + kh) * c->KW + kw) * hw;
                for (int64_t oh = 0; oh < c->Ho; oh++) {
                    int64_t ih = oh * c->sh - c->ph + kh * c->dh;
                    for (int64_t ow = 0; ow < c->Wo; ow++) {
                        int64_t iw = ow * c->sw - c->pw + kw * c->dw;
                        int in = ih >= 0 && ih < c->H && iw >= 0 && iw < c->W;
                        row[oh * c->Wo + ow] = in ? x[(ch * c->H + ih) * c->W + iw] : 0.0f;
                    }
                }
            }
}

// gx (Cg, H, W) += cols (Cg*KH*KW, Ho*Wo) scattered back to their input positions
static void col2im_add(const conv_geom *c, const float *cols, float *gx) {
    int64_t Cg = c->Cin / c->G, hw = geom_hw(c);
    for (int64_t ch = 0; ch < Cg; ch++)
        for (int64_t kh = 0; kh < c->KH; kh++)
            for (int64_t kw = 0; kw < c->KW; kw++) {
                const float *row = cols + ((ch * c->KH + kh) * c->KW + kw) * hw;
                for (int64_t oh = 0; oh < c->Ho; oh++) {
                    int64_t ih = oh * c->sh - c->ph + kh * c->dh;
                    if (ih < 0 || ih >= c->H) continue;
                    for (int64_t ow = 0; ow < c->Wo; ow++) {
                        int64_t iw = ow * c->sw - c->pw + kw * c->dw;
                        if (iw >= 0 && iw < c->W)
                            gx[(ch * c->H + ih) * c->W + iw] += row[oh * c->Wo + ow];
                    }
                }
            }
}

// y (B, Cout, Ho*Wo) = w_g (Cout/G, CKK) x cols_g (CKK, Ho*Wo) + bias, per batch and group
static void conv_forward(const conv_geom *c, const float *x, const float *w, const float *bias,
                         float *cols, float *y) {
    int64_t ckk = geom_ckk(c), hw = geom_hw(c), Cg = c->Cin / c->G, Og = c->Cout / c->G;
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t gi = 0; gi < c->G; gi++) {
            im2col(c, x + (b * c->Cin + gi * Cg) * c->H * c->W, cols);
            float *yg = y + (b * c->Cout + gi * Og) * hw;
            apx__ad_sgemm(0, 0, Og, hw, ckk, 1.0f, w + gi * Og * ckk, ckk, cols, hw, 0.0f, yg, hw);
            if (bias)
                for (int64_t o = 0; o < Og; o++)
                    for (int64_t p = 0; p < hw; p++) yg[o * hw + p] += bias[gi * Og + o];
        }
}

// gw_g += dy_g (Og, hw) cols^T; dcols = w_g^T dy_g -> gx; gbias += row sums of dy
static void conv_grads(const conv_geom *c, const float *x, const float *w, const float *dy,
                       float *cols, float *dcols, float *gx, float *gw, float *gb) {
    int64_t ckk = geom_ckk(c), hw = geom_hw(c), Cg = c->Cin / c->G, Og = c->Cout / c->G;
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t gi = 0; gi < c->G; gi++) {
            const float *dyg = dy + (b * c->Cout + gi * Og) * hw;
            if (gb)
                for (int64_t o = 0; o < Og; o++) {
                    double s = 0;
                    for (int64_t p = 0; p < hw; p++) s += dyg[o * hw + p];
                    gb[gi * Og + o] += (float)s;
                }
            if (gw) {
                im2col(c, x + (b * c->Cin + gi * Cg) * c->H * c->W, cols);
                apx__ad_sgemm(0, 1, Og, ckk, hw, 1.0f, dyg, hw, cols, hw, 1.0f,
                              gw + gi * Og * ckk, ckk);
            }
            if (gx) {
                apx__ad_sgemm(1, 0, ckk, hw, Og, 1.0f, w + gi * Og * ckk, ckk, dyg, hw, 0.0f,
                              dcols, hw);
                col2im_add(c, dcols, gx + (b * c->Cin + gi * Cg) * c->H * c->W);
            }
        }
}

static apx_status conv_backward(apx_graph *g, apx__node *n) {
    const conv_geom *c = n->saved;
    apx_tensor *x = n->in[0], *w = n->in[1], *bias = n->in[2];
    size_t sz = (size_t)(geom_ckk(c) * geom_hw(c)) * sizeof(float);
    apx__mark mk = apx__arena_mark(g);
    float *cols = apx__arena_alloc(g, "conv", sz), *dcols = apx__arena_alloc(g, "conv", sz);
    if (!cols || !dcols) return APX_ENOMEM;
    conv_grads(c, x->data, w->data, n->out->grad, cols, dcols, apx__gin(x), apx__gin(w),
               apx__gin(bias));
    apx__arena_release(g, mk);
    return APX_OK;
}

/* Forward-over-reverse: y is bilinear in (x, w) and linear in bias, so
 * ty = conv(tx, w) + tbias + conv(x, tw), and the R-backward is apx__rback_bilinear. */
static apx_status conv_jvp(apx_graph *g, apx__node *n) {
    const conv_geom *c = n->saved;
    apx_tensor *x = n->in[0], *w = n->in[1], *bias = n->in[2];
    float *ty = apx__out_tan(g, n);
    apx__mark mk = apx__arena_mark(g);
    float *cols = apx__arena_alloc(g, n->op, (size_t)(geom_ckk(c) * geom_hw(c)) * sizeof(float));
    float *tmp = apx__arena_alloc(g, n->op, (size_t)n->out->size * sizeof(float));
    if (!ty || !cols || !tmp) return APX_ENOMEM;
    conv_forward(c, x->tan_, w->data, bias ? bias->tan_ : NULL, cols, ty);
    conv_forward(c, x->data, w->tan_, NULL, cols, tmp);
    apx__axpy1(n->out->size, tmp, ty);
    apx__arena_release(g, mk);
    return APX_OK;
}

static apx_status out_len(const char *op, const char *what, int64_t in, int64_t k, int64_t s,
                          int64_t p, int64_t d, int64_t *res) {
    if (s < 1 || p < 0 || d < 1 || p > (INT32_MAX >> 2) || d > (INT32_MAX >> 2) ||
        s > INT32_MAX)
        return apx__err(APX_EINVAL, "%s: %s stride %lld, padding %lld, dilation %lld: need "
                        "stride >= 1, padding >= 0, dilation >= 1", op, what, (long long)s,
                        (long long)p, (long long)d);
    int64_t span = d * (k - 1) + 1;
    if (in + 2 * p < span)
        return apx__err(APX_ESHAPE, "%s: %s input %lld (+2*%lld padding) is shorter than the "
                        "dilated kernel %lld", op, what, (long long)in, (long long)p,
                        (long long)span);
    *res = (in + 2 * p - span) / s + 1;
    return APX_OK;
}

static apx_status conv_check(apx_graph *g, const char *op, apx_tensor *x, apx_tensor *w,
                             apx_tensor *bias, int nd, int64_t G) {
    APX__TRY(apx__check_tensor(g, op, "x", x));
    APX__TRY(apx__check_tensor(g, op, "w", w));
    char sx[96], sw[96], sb[96];
    if (x->ndim != nd + 2 || w->ndim != nd + 2)
        return apx__err(APX_ESHAPE, "%s: x %s and w %s must have %d dims", op,
                        apx__shape_str(x, sx), apx__shape_str(w, sw), nd + 2);
    if (G < 1 || x->shape[1] % G || w->shape[0] % G)
        return apx__err(APX_EINVAL, "%s: groups %lld must be >= 1 and divide Cin %lld and "
                        "Cout %lld", op, (long long)G, (long long)x->shape[1],
                        (long long)w->shape[0]);
    if (w->shape[1] * G != x->shape[1])
        return apx__err(APX_ESHAPE, "%s: x %s has %lld channels but w %s expects %lld * %lld "
                        "groups", op, apx__shape_str(x, sx), (long long)x->shape[1],
                        apx__shape_str(w, sw), (long long)w->shape[1], (long long)G);
    if (bias) {
        APX__TRY(apx__check_tensor(g, op, "bias", bias));
        if (bias->ndim != 1 || bias->shape[0] != w->shape[0])
            return apx__err(APX_ESHAPE, "%s: bias %s must have shape (%lld)", op,
                            apx__shape_str(bias, sb), (long long)w->shape[0]);
    }
    return APX_OK;
}

static apx_status conv_run(apx_graph *g, const char *op, apx_tensor *x, apx_tensor *w,
                           apx_tensor *bias, const conv_geom *c, int nd, apx_tensor **out) {
    if (geom_ckk(c) > INT_MAX || geom_hw(c) > INT_MAX || c->Cout > INT_MAX)
        return apx__err(APX_ESHAPE, "%s: the column matrix (%lld, %lld) exceeds 32-bit BLAS "
                        "sizes", op, (long long)geom_ckk(c), (long long)geom_hw(c));
    int64_t shape[4] = {c->B, c->Cout, nd == 1 ? c->Wo : c->Ho, c->Wo};
    apx_tensor *y, *in[3] = {x, w, bias};
    conv_geom *s = apx__arena_alloc(g, op, sizeof *s);
    if (!s) return APX_ENOMEM;
    *s = *c;
    APX__TRY(apx__tensor_new(g, op, nd + 2, shape, &y));
    apx__mark mk = apx__arena_mark(g);
    float *cols = apx__arena_alloc(g, op, (size_t)(geom_ckk(c) * geom_hw(c)) * sizeof(float));
    if (!cols) return APX_ENOMEM;
    conv_forward(c, x->data, w->data, bias ? bias->data : NULL, cols, y->data);
    apx__arena_release(g, mk);
    APX__TRY(apx__record(g, op, conv_backward, y, 3, in, s));
    apx__set_rop(g, y, conv_jvp, apx__rback_bilinear);
    *out = y;
    return APX_OK;
}

apx_status apx_ad_conv1d(apx_graph *g, apx_tensor *x, apx_tensor *w, apx_tensor *bias,
                         const apx_conv_opts *opts, apx_tensor **out) {
    apx_conv_opts o = opts ? *opts : apx_conv_opts_default();
    APX__TRY(apx__check_op(g, "conv1d", out));
    APX__TRY(conv_check(g, "conv1d", x, w, bias, 1, o.groups));
    conv_geom c = {x->shape[0], x->shape[1], 1, x->shape[2], w->shape[0], 1, w->shape[2], 1, 0,
                   1, o.stride[0], 0, o.padding[0], 1, o.dilation[0], o.groups};
    APX__TRY(out_len("conv1d", "length", c.W, c.KW, c.sw, c.pw, c.dw, &c.Wo));
    return conv_run(g, "conv1d", x, w, bias, &c, 1, out);
}

apx_status apx_ad_conv2d(apx_graph *g, apx_tensor *x, apx_tensor *w, apx_tensor *bias,
                         const apx_conv_opts *opts, apx_tensor **out) {
    apx_conv_opts o = opts ? *opts : apx_conv_opts_default();
    APX__TRY(apx__check_op(g, "conv2d", out));
    APX__TRY(conv_check(g, "conv2d", x, w, bias, 2, o.groups));
    conv_geom c = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0],
                   w->shape[2], w->shape[3], 0, 0, o.stride[0], o.stride[1], o.padding[0],
                   o.padding[1], o.dilation[0], o.dilation[1], o.groups};
    APX__TRY(out_len("conv2d", "height", c.H, c.KH, c.sh, c.ph, c.dh, &c.Ho));
    APX__TRY(out_len("conv2d", "width", c.W, c.KW, c.sw, c.pw, c.dw, &c.Wo));
    return conv_run(g, "conv2d", x, w, bias, &c, 2, out);
}
