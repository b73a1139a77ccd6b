/* gpt.c: the GPT-style decoder: parameter registration, initialisation, PowerNorm buffers
 * and the forward pass on the autodiff engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

/* ================================================================ registration */

/* Add group "<prefix><name>" of the given shape; *index gets its index. */
static apx_status add_group(apx_params *p, const char *prefix, const char *name, int ndim,
                            int64_t d0, int64_t d1, int64_t *index) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    int64_t shape[2] = {d0, d1};
    return apx_params_add(p, full, ndim, shape, index);
}

/* The parameters of a norm layer called `prefix` ("h.0.ln1"). */
static apx_status add_norm(apx_gpt *m, const char *prefix, gpt_norm *n) {
    const apx_gpt_config *c = &m->cfg;
    char pre[64];
    snprintf(pre, sizeof pre, "%s.", prefix);
    n->w = n->b = -1;
    switch (c->norm) {
    case APX_NN_RMSNORM: return add_group(m->p, pre, "weight", 1, c->d_model, 1, &n->w);
    case APX_NN_POLYNORM:
        APX__TRY(add_group(m->p, pre, "weight", 1, 3, 1, &n->w));
        return add_group(m->p, pre, "bias", 1, 1, 1, &n->b);
    default: /* layernorm, powernorm */
        APX__TRY(add_group(m->p, pre, "weight", 1, c->d_model, 1, &n->w));
        return add_group(m->p, pre, "bias", 1, c->d_model, 1, &n->b);
    }
}

static apx_status add_layer(apx_gpt *m, int64_t i, gpt_layer *L) {
    const apx_gpt_config *c = &m->cfg;
    int64_t C = c->d_model, F = apx__gpt_dff(c);
    char pre[64], ln[64];
    snprintf(pre, sizeof pre, "h.%lld.", (long long)i);
    snprintf(ln, sizeof ln, "h.%lld.ln1", (long long)i);
    APX__TRY(add_norm(m, ln, &L->ln1));
    L->bqkv = L->bo = L->b1 = L->b2 = L->act_w = L->act_b = -1;
    APX__TRY(add_group(m->p, pre, "attn.wqkv", 2, 3 * C, C, &L->wqkv));
    if (c->bias) APX__TRY(add_group(m->p, pre, "attn.bqkv", 1, 3 * C, 1, &L->bqkv));
    APX__TRY(add_group(m->p, pre, "attn.wo", 2, C, C, &L->wo));
    if (c->bias) APX__TRY(add_group(m->p, pre, "attn.bo", 1, C, 1, &L->bo));
    snprintf(ln, sizeof ln, "h.%lld.ln2", (long long)i);
    APX__TRY(add_norm(m, ln, &L->ln2));
    APX__TRY(add_group(m->p, pre, "mlp.w1", 2, F, C, &L->w1));
    if (c->bias) APX__TRY(add_group(m->p, pre, "mlp.b1", 1, F, 1, &L->b1));
    APX__TRY(add_group(m->p, pre, "mlp.w2", 2, C, F, &L->w2));
    if (c->bias) APX__TRY(add_group(m->p, pre, "mlp.b2", 1, C, 1, &L->b2));
    if (c->act == APX_NN_POLYRELU) {
        APX__TRY(add_group(m->p, pre, "mlp.act.weight", 1, 3, 1, &L->act_w));
        APX__TRY(add_group(m->p, pre, "mlp.act.bias", 1, 1, 1, &L->act_b));
    }
    return APX_OK;
}

static apx_status register_params(apx_gpt *m) {
    const apx_gpt_config *c = &m->cfg;
    APX__TRY(apx_params_create(&m->p));
    APX__TRY(add_group(m->p, "", "wte", 2, c->vocab, c->d_model, &m->wte));
    APX__TRY(add_group(m->p, "", "wpe", 2, c->context, c->d_model, &m->wpe));
    for (int64_t i = 0; i < c->n_layer; i++) APX__TRY(add_layer(m, i, &m->layers[i]));
    APX__TRY(add_norm(m, "lnf", &m->lnf));
    m->head = m->wte;
    if (!c->tied) APX__TRY(add_group(m->p, "", "lm_head", 2, c->vocab, c->d_model, &m->head));
    return apx_params_finalize(m->p);
}

/* ================================================================ PowerNorm buffers */

static void add_buf(apx_gpt *m, const char *prefix, const char *what, int64_t size) {
    gpt_buf *b = &m->bufs[m->n_buf++];
    snprintf(b->name, sizeof b->name, "%s.%s", prefix, what);
    b->offset = m->buf_floats;
    b->size = size;
    m->buf_floats += size;
}

/* Every norm layer of the model, in a fixed order (ln1, ln2 of each block, lnf). */
static gpt_norm *norm_at(apx_gpt *m, int64_t i) {
    if (i == 2 * m->cfg.n_layer) return &m->lnf;
    return i % 2 == 0 ? &m->layers[i / 2].ln1 : &m->layers[i / 2].ln2;
}

/* The name of norm layer i ("h.3.ln2", "lnf"). */
static void norm_name(const apx_gpt *m, int64_t i, char *buf, size_t n) {
    if (i == 2 * m->cfg.n_layer) snprintf(buf, n, "lnf");
    else snprintf(buf, n, "h.%lld.ln%d", (long long)(i / 2), (int)(i % 2) + 1);
}

/* Lay out running_phi (C), ema_gz (C), iters (1) for each norm layer, then bind them. */
static apx_status make_buffers(apx_gpt *m) {
    int bn = m->cfg.norm == APX_NN_BATCHNORM; /* BatchNorm: running_var, running_mean */
    if (m->cfg.norm != APX_NN_POWERNORM && !bn) return APX_OK;
    int64_t n_norm = 2 * m->cfg.n_layer + 1, C = m->cfg.d_model;
    m->bufs = apx__alloc("gpt_create", (size_t)(3 * n_norm), sizeof(gpt_buf));
    if (!m->bufs) return APX_ENOMEM;
    for (int64_t i = 0; i < n_norm; i++) {
        char name[32];
        norm_name(m, i, name, sizeof name);
        add_buf(m, name, bn ? "running_var" : "running_phi", C);
        add_buf(m, name, bn ? "running_mean" : "ema_gz", C);
        add_buf(m, name, "iters", 1);
    }
    m->buf_store = apx__alloc("gpt_create", (size_t)m->buf_floats, sizeof(float));
    if (!m->buf_store) return APX_ENOMEM;
    for (int64_t i = 0; i < n_norm; i++) {
        gpt_norm *n = norm_at(m, i);
        float *base = m->buf_store + m->bufs[3 * i].offset;
        n->pn.running_phi = base;
        n->pn.ema_gz = base + C;
        n->iters_f = base + 2 * C;
        n->pn.iters = 0;
    }
    return APX_OK;
}

void apx__gpt_buffers_pull(apx_gpt *m) {
    if (!m || !m->buf_store) return;
    for (int64_t i = 0; i <= 2 * m->cfg.n_layer; i++) {
        gpt_norm *n = norm_at(m, i);
        *n->iters_f = (float)n->pn.iters;
    }
}

void apx__gpt_buffers_push(apx_gpt *m) {
    if (!m || !m->buf_store) return;
    for (int64_t i = 0; i <= 2 * m->cfg.n_layer; i++) {
        gpt_norm *n = norm_at(m, i);
        n->pn.iters = (int64_t)*n->iters_f;
    }
}

int64_t apx_gpt_buffer_count(const apx_gpt *m) { return m ? m->n_buf : 0; }

apx_status apx_gpt_buffer_get(apx_gpt *m, int64_t i, apx_gpt_buffer *out) {
    if (!m || !out) return apx__err(APX_EINVAL, "gpt_buffer_get: model or out is NULL");
    if (i < 0 || i >= m->n_buf)
        return apx__err(APX_EINVAL, "gpt_buffer_get: index %lld out of range [0, %lld)",
                        (long long)i, (long long)m->n_buf);
    apx__gpt_buffers_pull(m);
    out->name = m->bufs[i].name;
    out->size = m->bufs[i].size;
    out->data = m->buf_store + m->bufs[i].offset;
    return APX_OK;
}

/* ================================================================ create, init */

static apx_status init_norm(apx_gpt *m, const gpt_norm *n) {
    float w = m->cfg.norm == APX_NN_POLYNORM ? 1.0f / 3.0f : 1.0f;
    APX__TRY(apx_params_fill(m->p, n->w, w));
    if (n->b >= 0) APX__TRY(apx_params_fill(m->p, n->b, 0.0f));
    return APX_OK;
}

static apx_status fill_w(apx_gpt *m, int64_t idx, uint64_t seed, float std) {
    return idx < 0 ? APX_OK : apx_params_fill_normal(m->p, idx, seed, 0.0f, std);
}
static apx_status fill_0(apx_gpt *m, int64_t idx) {
    return idx < 0 ? APX_OK : apx_params_fill(m->p, idx, 0.0f);
}

static apx_status init_layer(apx_gpt *m, const gpt_layer *L, uint64_t seed) {
    float std = m->cfg.init_std;
    float std_res = (float)(std / sqrt(2.0 * (double)m->cfg.n_layer));
    APX__TRY(init_norm(m, &L->ln1));
    APX__TRY(init_norm(m, &L->ln2));
    APX__TRY(fill_w(m, L->wqkv, seed, std));
    APX__TRY(fill_w(m, L->wo, seed, std_res));
    APX__TRY(fill_w(m, L->w1, seed, std));
    APX__TRY(fill_w(m, L->w2, seed, std_res));
    APX__TRY(fill_0(m, L->bqkv));
    APX__TRY(fill_0(m, L->bo));
    APX__TRY(fill_0(m, L->b1));
    APX__TRY(fill_0(m, L->b2));
    if (L->act_w >= 0) APX__TRY(apx_params_fill(m->p, L->act_w, 1.0f / 3.0f));
    return fill_0(m, L->act_b);
}

apx_status apx_gpt_init(apx_gpt *m, uint64_t seed) {
    if (!m) return apx__err(APX_EINVAL, "gpt_init: model is NULL");
    APX__TRY(fill_w(m, m->wte, seed, m->cfg.init_std));
    APX__TRY(fill_w(m, m->wpe, seed, m->cfg.init_std));
    if (m->head != m->wte) APX__TRY(fill_w(m, m->head, seed, m->cfg.init_std));
    for (int64_t i = 0; i < m->cfg.n_layer; i++) APX__TRY(init_layer(m, &m->layers[i], seed));
    APX__TRY(init_norm(m, &m->lnf));
    for (int64_t i = 0; m->buf_store && i <= 2 * m->cfg.n_layer; i++) {
        gpt_norm *n = norm_at(m, i);
        for (int64_t c = 0; c < m->cfg.d_model; c++) n->pn.running_phi[c] = 1, n->pn.ema_gz[c] = 0;
        n->pn.iters = 0;
        *n->iters_f = 0;
    }
    return APX_OK;
}

apx_status apx_gpt_create(const apx_gpt_config *cfg, uint64_t seed, apx_gpt **out) {
    if (!out) return apx__err(APX_EINVAL, "gpt_create: out is NULL");
    *out = NULL;
    APX__TRY(apx_gpt_config_check(cfg));
    apx_gpt *m = apx__alloc("gpt_create", 1, sizeof *m);
    if (!m) return APX_ENOMEM;
    m->cfg = *cfg;
    apx_status s = APX_OK;
    m->layers = apx__alloc("gpt_create", (size_t)cfg->n_layer, sizeof(gpt_layer));
    if (!m->layers) s = APX_ENOMEM;
    if (s == APX_OK) s = register_params(m);
    if (s == APX_OK) s = make_buffers(m);
    if (s == APX_OK) s = apx__gpt_stats_create(m);
    if (s == APX_OK) s = apx_gpt_init(m, seed);
    if (s != APX_OK) {
        apx_gpt_free(m);
        return s;
    }
    *out = m;
    return APX_OK;
}

void apx_gpt_free(apx_gpt *m) {
    if (!m) return;
    apx_params_free(m->p);
    free(m->layers);
    free(m->bufs);
    free(m->buf_store);
    apx__gpt_stats_free(m);
    free(m);
}

const apx_gpt_config *apx_gpt_get_config(const apx_gpt *m) { return m ? &m->cfg : NULL; }
apx_params *apx_gpt_params(apx_gpt *m) { return m ? m->p : NULL; }

/* ================================================================ forward */

apx_gpt_forward_opts apx_gpt_forward_opts_default(void) {
    apx_gpt_forward_opts o = {0, 0, 0, 0, 0};
    return o;
}

/* Parameter group `idx` as a tensor, or NULL for -1. */
static apx_status par(apx_graph *g, apx_gpt *m, int64_t idx, apx_tensor **t) {
    *t = NULL;
    return idx < 0 ? APX_OK : apx_ad_param(g, m->p, idx, t);
}

static apx_status norm_fwd(apx_gpt *m, apx_graph *g, gpt_norm *n, int training, apx_tensor *x,
                           apx_tensor **y) {
    apx_tensor *w, *b;
    APX__TRY(par(g, m, n->w, &w));
    APX__TRY(par(g, m, n->b, &b));
    float eps = m->cfg.norm_eps;
    switch (m->cfg.norm) {
    case APX_NN_RMSNORM: return apx_ad_rmsnorm(g, x, w, eps, y);
    case APX_NN_POLYNORM: return apx_ad_polynorm(g, x, w, b, eps, y);
    case APX_NN_POWERNORM: {
        apx_powernorm_opts o = apx_powernorm_opts_default();
        o.mode = training ? APX_POWERNORM_TRAIN : APX_POWERNORM_EVAL;
        o.eps = eps;
        return apx_ad_powernorm(g, x, w, b, &o, &n->pn, y);
    }
    case APX_NN_BATCHNORM: { /* running_var, running_mean live in pn's two buffers */
        apx_batchnorm_opts o = {training ? APX_BATCHNORM_TRAIN : APX_BATCHNORM_EVAL, eps, 0.1f};
        apx_batchnorm_state st = {n->pn.ema_gz, n->pn.running_phi, n->pn.iters};
        APX__TRY(apx_ad_batchnorm(g, x, w, b, &o, &st, y));
        n->pn.iters = st.iters;
        return APX_OK;
    }
    default: return apx_ad_layernorm(g, x, w, b, eps, y);
    }
}

/* y = x W^T (+ b); with o->record_stats, x and y are recorded as linear layer `slot`. */
static apx_status linear(apx_graph *g, apx_gpt *m, const apx_gpt_forward_opts *o, int64_t slot,
                         apx_tensor *x, int64_t w, int64_t b, apx_tensor **y) {
    apx_tensor *W, *B, *h;
    APX__TRY(par(g, m, w, &W));
    APX__TRY(par(g, m, b, &B));
    APX__TRY(apx_ad_matmul_bt(g, x, W, &h));
    if (B) APX__TRY(apx_ad_bias(g, h, B, &h));
    if (o->record_stats) apx__gpt_record(m, slot, x, h);
    *y = h;
    return APX_OK;
}

static apx_status act_fwd(apx_gpt *m, apx_graph *g, const gpt_layer *L, apx_tensor *x,
                          apx_tensor **y) {
    switch (m->cfg.act) {
    case APX_NN_RELU: return apx_ad_relu(g, x, y);
    case APX_NN_SILU: return apx_ad_silu(g, x, y);
    case APX_NN_POLYRELU: {
        apx_tensor *w, *b;
        APX__TRY(par(g, m, L->act_w, &w));
        APX__TRY(par(g, m, L->act_b, &b));
        return apx_ad_polyrelu(g, x, w, b, y);
    }
    default: return apx_ad_gelu(g, x, APX_GELU_ERF, y);
    }
}

static apx_status maybe_dropout(apx_gpt *m, apx_graph *g, const apx_gpt_forward_opts *o,
                                uint64_t stream, apx_tensor *x, apx_tensor **y) {
    if (!o->training || m->cfg.dropout == 0) {
        *y = x;
        return APX_OK;
    }
    return apx_ad_dropout(g, x, m->cfg.dropout, o->dropout_seed, o->dropout_stream + stream, y);
}

// x (B,T,C) -> x + attn(norm1(x)) -> + mlp(norm2(.))
static apx_status block_fwd(apx_gpt *m, apx_graph *g, int64_t i, const apx_gpt_forward_opts *o,
                            apx_tensor *x, apx_tensor **y) {
    gpt_layer *L = &m->layers[i];
    int64_t C = m->cfg.d_model;
    apx_tensor *h, *qkv, *q, *k, *v, *a, *r;
    APX__TRY(norm_fwd(m, g, &L->ln1, o->training, x, &h));
    APX__TRY(linear(g, m, o, 4 * i, h, L->wqkv, L->bqkv, &qkv)); // (B,T,3C)
    APX__TRY(apx_ad_slice(g, qkv, 2, 0, C, &q));
    APX__TRY(apx_ad_slice(g, qkv, 2, C, C, &k));
    APX__TRY(apx_ad_slice(g, qkv, 2, 2 * C, C, &v));
    apx_attention_opts ao = apx_attention_opts_default();
    ao.n_head = m->cfg.n_head;
    APX__TRY(apx_ad_attention(g, q, k, v, &ao, &a)); // (B,T,C)
    APX__TRY(linear(g, m, o, 4 * i + 1, a, L->wo, L->bo, &h));
    APX__TRY(maybe_dropout(m, g, o, 2 * (uint64_t)i, h, &h));
    APX__TRY(apx_ad_add(g, x, h, &r));
    APX__TRY(norm_fwd(m, g, &L->ln2, o->training, r, &h));
    APX__TRY(linear(g, m, o, 4 * i + 2, h, L->w1, L->b1, &h)); // (B,T,F)
    APX__TRY(act_fwd(m, g, L, h, &h));
    APX__TRY(linear(g, m, o, 4 * i + 3, h, L->w2, L->b2, &h)); // (B,T,C)
    APX__TRY(maybe_dropout(m, g, o, 2 * (uint64_t)i + 1, h, &h));
    return apx_ad_add(g, r, h, y);
}

static apx_status check_tokens(const char *what, const int32_t *t, int64_t n, int64_t V) {
    for (int64_t i = 0; i < n; i++)
        if (t[i] >= V || (t[i] < 0 && what[0] == 'i'))
            return apx__err(APX_EINVAL, "gpt_forward: %s[%lld] = %d is outside [0, %lld)", what,
                            (long long)i, (int)t[i], (long long)V);
    return APX_OK;
}

static apx_status forward_check(apx_gpt *m, apx_graph *g, const int32_t *ids,
                                const int32_t *targets, int64_t B, int64_t T,
                                const apx_gpt_forward_opts *o, apx_tensor **loss) {
    if (!m || !g || !ids) return apx__err(APX_EINVAL, "gpt_forward: model, graph or ids is NULL");
    if (B < 1 || T < 1 || T > m->cfg.context)
        return apx__err(APX_EINVAL, "gpt_forward: B = %lld must be >= 1 and T = %lld in [1, "
                        "context = %lld]", (long long)B, (long long)T, (long long)m->cfg.context);
    if (o->last_only && targets && loss)
        return apx__err(APX_EINVAL, "gpt_forward: last_only cannot be combined with a loss");
    APX__TRY(check_tokens("ids", ids, B * T, m->cfg.vocab));
    if (targets) APX__TRY(check_tokens("targets", targets, B * T, m->cfg.vocab));
    return APX_OK;
}

apx_status apx_gpt_forward(apx_gpt *m, apx_graph *g, const int32_t *ids, const int32_t *targets,
                           int64_t B, int64_t T, const apx_gpt_forward_opts *opts,
                           apx_tensor **logits, apx_tensor **loss) {
    apx_gpt_forward_opts o = opts ? *opts : apx_gpt_forward_opts_default();
    APX__TRY(forward_check(m, g, ids, targets, B, T, &o, loss));
    if (o.record_stats) apx__gpt_record_clear(m); // a forward failing half-way leaves none
    int64_t C = m->cfg.d_model, shape[2] = {B, T};
    apx_tensor *wte, *wpe, *x, *pos, *head, *lg;
    APX__TRY(apx_ad_param(g, m->p, m->wte, &wte));
    APX__TRY(apx_ad_param(g, m->p, m->wpe, &wpe));
    APX__TRY(apx_ad_embedding(g, wte, ids, 2, shape, &x)); // (B,T,C)
    pos = wpe;
    if (T < m->cfg.context) APX__TRY(apx_ad_slice(g, wpe, 0, 0, T, &pos)); // (T,C)
    APX__TRY(apx_ad_add(g, x, pos, &x));
    for (int64_t i = 0; i < m->cfg.n_layer; i++) APX__TRY(block_fwd(m, g, i, &o, x, &x));
    if (o.last_only && T > 1) APX__TRY(apx_ad_slice(g, x, 1, T - 1, 1, &x)); // (B,1,C)
    APX__TRY(norm_fwd(m, g, &m->lnf, o.training, x, &x));
    APX__TRY(apx_ad_param(g, m->p, m->head, &head));
    APX__TRY(apx_ad_matmul_bt(g, x, head, &lg)); // (B,T,V)
    if (o.record_stats) apx__gpt_record(m, 4 * m->cfg.n_layer, x, lg);
    (void)C;
    if (logits) *logits = lg;
    if (targets && loss) APX__TRY(apx_ad_cross_entropy(g, lg, targets, loss));
    return APX_OK;
}
