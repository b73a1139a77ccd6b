/* ops_loss.c: softmax, log-softmax and the mean cross-entropy over integer targets, over
 * the last dim of x (..., V) viewed as (N, V). Max-shifted, so no overflow. */
#include <math.h>

#include "ad_internal.h"

/* log sum_j exp(x_j) of one row, shifted by its max. */
static float row_logsumexp(int64_t V, const float *x) {
    float m = x[0];
    for (int64_t j = 1; j < V; j++) m = x[j] > m ? x[j] : m;
    double s = 0;
    for (int64_t j = 0; j < V; j++) s += expf(x[j] - m);
    return m + (float)log(s);
}

static apx_status check_rows(apx_graph *g, const char *op, apx_tensor *x) {
    APX__TRY(apx__check_tensor(g, op, "x", x));
    if (x->ndim < 1)
        return apx__err(APX_ESHAPE, "%s: x must have ndim >= 1 (a scalar was given)", op);
    return APX_OK;
}

/* ================================================================ softmax, log-softmax */

// y (N,V) = softmax(x) or log_softmax(x) row by row
static void softmax_forward(int64_t N, int64_t V, const float *x, float *y, int log_out) {
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * V;
        float lse = row_logsumexp(V, xr);
        for (int64_t j = 0; j < V; j++)
            y[i * V + j] = log_out ? xr[j] - lse : expf(xr[j] - lse);
    }
}

// softmax: gx += y (dy - sum(dy y)); log_softmax: gx += dy - exp(y) sum(dy)
static void softmax_grads(int64_t N, int64_t V, const float *y, const float *dy, float *gx,
                          int log_out) {
    for (int64_t i = 0; i < N; i++) {
        const float *yr = y + i * V, *d = dy + i * V;
        float *gr = gx + i * V;
        double s = 0;
        for (int64_t j = 0; j < V; j++) s += log_out ? (double)d[j] : (double)d[j] * yr[j];
        float sf = (float)s;
        if (log_out)
            for (int64_t j = 0; j < V; j++) gr[j] += d[j] - expf(yr[j]) * sf;
        else
            for (int64_t j = 0; j < V; j++) gr[j] += yr[j] * (d[j] - sf);
    }
}

static void softmax_backward_rows(apx__node *n, int log_out) {
    apx_tensor *x = n->in[0];
    int64_t V = x->shape[x->ndim - 1];
    if (apx__gin(x)) softmax_grads(x->size / V, V, n->out->data, n->out->grad, x->grad, log_out);
}
static apx_status softmax_backward(apx_graph *g, apx__node *n) {
    softmax_backward_rows(n, 0);
    return APX_OK;
}
static apx_status log_softmax_backward(apx_graph *g, apx__node *n) {
    softmax_backward_rows(n, 1);
    return APX_OK;
}

/* Tangents (forward-over-reverse). p = softmax row, ty = out->tan_. */

// log_softmax jvp: ty (N,V) = tx - sum_j p_j tx_j per row
static apx_status log_softmax_jvp(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0];
    int64_t V = x->shape[x->ndim - 1];
    const float *y = n->out->data, *tx = x->tan_;
    float *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    for (int64_t r = 0; r < x->size; r += V) {
        double s = 0;
        for (int64_t j = 0; j < V; j++) s += (double)expf(y[r + j]) * tx[r + j];
        for (int64_t j = 0; j < V; j++) ty[r + j] = tx[r + j] - (float)s;
    }
    return APX_OK;
}

/* Second-order terms of the R-backward, per row:
 *  softmax:     gtx += ty (dy - sum dy y) - y sum(dy ty)
 *  log_softmax: gtx -= p ty sum(dy) */
static void softmax_second(int64_t N, int64_t V, const float *y, const float *ty,
                           const float *dy, float *gtx, int log_out) {
    for (int64_t i = 0; i < N; i++) {
        const float *yr = y + i * V, *t = ty + i * V, *d = dy + i * V;
        float *gr = gtx + i * V;
        double s1 = 0, s2 = 0;
        for (int64_t j = 0; j < V; j++) {
            s1 += log_out ? (double)d[j] : (double)d[j] * yr[j];
            s2 += (double)d[j] * t[j];
        }
        for (int64_t j = 0; j < V; j++)
            gr[j] += log_out ? -expf(yr[j]) * t[j] * (float)s1
                             : t[j] * (d[j] - (float)s1) - yr[j] * (float)s2;
    }
}

static apx_status softmax_rback(apx_graph *g, apx__node *n) {
    APX__TRY(apx__backward_on(g, n, 0, ~0u, 1));
    apx_tensor *x = n->in[0];
    int64_t V = x->shape[x->ndim - 1];
    if (apx__gin(x))
        softmax_second(x->size / V, V, n->out->data, n->out->tan_, n->out->grad, x->gtan_,
                       n->backward == log_softmax_backward);
    return APX_OK;
}

static apx_status softmax_op(apx_graph *g, const char *op, apx_tensor *x, int log_out,
                             apx_tensor **out) {
    APX__TRY(apx__check_op(g, op, out));
    APX__TRY(check_rows(g, op, x));
    int64_t V = x->shape[x->ndim - 1];
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, op, x->ndim, x->shape, &y));
    softmax_forward(x->size / V, V, x->data, y->data, log_out);
    APX__TRY(apx__record(g, op, log_out ? log_softmax_backward : softmax_backward, y, 1, &x,
                         NULL));
    apx__set_rop(g, y, log_out ? log_softmax_jvp : apx__jvp_symmetric, softmax_rback);
    *out = y;
    return APX_OK;
}

apx_status apx_ad_softmax(apx_graph *g, apx_tensor *x, apx_tensor **out) {
    return softmax_op(g, "softmax", x, 0, out);
}
apx_status apx_ad_log_softmax(apx_graph *g, apx_tensor *x, apx_tensor **out) {
    return softmax_op(g, "log_softmax", x, 1, out);
}

/* ================================================================ cross-entropy */

typedef struct {
    int32_t *targets; /* (N) copy */
    float *lse;       /* (N) logsumexp of each row */
    int64_t n_valid;
} ce_saved;

// loss () = mean over valid rows of lse(x_i) - x_i[t_i]; lse (N)
static double ce_forward(int64_t N, int64_t V, const float *x, const int32_t *t, float *lse) {
    double s = 0;
    for (int64_t i = 0; i < N; i++) {
        if (t[i] < 0) continue;
        float l = row_logsumexp(V, x + i * V);
        if (lse) lse[i] = l;
        s += (double)l - x[i * V + t[i]];
    }
    return s;
}

// gx (N,V) += dloss / n_valid * (softmax(x_i) - onehot(t_i)) for valid rows
static void ce_grads(int64_t N, int64_t V, const float *x, const ce_saved *s, float dloss,
                     float *gx) {
    float c = dloss / (float)s->n_valid;
    for (int64_t i = 0; i < N; i++) {
        if (s->targets[i] < 0) continue;
        const float *xr = x + i * V;
        float *gr = gx + i * V, l = s->lse[i];
        for (int64_t j = 0; j < V; j++) gr[j] += c * expf(xr[j] - l);
        gr[s->targets[i]] -= c;
    }
}

static apx_status ce_backward(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0];
    const ce_saved *s = n->saved;
    int64_t V = x->shape[x->ndim - 1];
    if (apx__gin(x) && s->n_valid > 0)
        ce_grads(x->size / V, V, x->data, s, n->out->grad[0], x->grad);
    return APX_OK;
}

// jvp: tloss = mean over valid rows of sum_j p_j tx_j - tx[t]
static apx_status ce_jvp(apx_graph *g, apx__node *n) {
    apx_tensor *x = n->in[0];
    const ce_saved *s = n->saved;
    int64_t V = x->shape[x->ndim - 1], N = x->size / V;
    float *ty = apx__out_tan(g, n);
    if (!ty) return APX_ENOMEM;
    double tot = 0;
    for (int64_t i = 0; i < N; i++) {
        if (s->targets[i] < 0) continue;
        const float *xr = x->data + i * V, *tr = x->tan_ + i * V;
        for (int64_t j = 0; j < V; j++) tot += (double)expf(xr[j] - s->lse[i]) * tr[j];
        tot -= tr[s->targets[i]];
    }
    ty[0] = s->n_valid ? (float)(tot / (double)s->n_valid) : 0.0f;
    return APX_OK;
}

// R-backward: the backward on tdloss, plus gtx += dloss/n_valid p (tx - p.tx) per valid row
static apx_status ce_rback(apx_graph *g, apx__node *n) {
    APX__TRY(apx__backward_on(g, n, 0, ~0u, 1));
    apx_tensor *x = n->in[0];
    const ce_saved *s = n->saved;
    int64_t V = x->shape[x->ndim - 1], N = x->size / V;
    if (!apx__gin(x) || !s->n_valid) return APX_OK;
    float c = n->out->grad[0] / (float)s->n_valid;
    for (int64_t i = 0; i < N; i++) {
        if (s->targets[i] < 0) continue;
        const float *xr = x->data + i * V, *tr = x->tan_ + i * V;
        float *gr = x->gtan_ + i * V;
        double pt = 0;
        for (int64_t j = 0; j < V; j++) pt += (double)expf(xr[j] - s->lse[i]) * tr[j];
        for (int64_t j = 0; j < V; j++) gr[j] += c * expf(xr[j] - s->lse[i]) * (tr[j] - (float)pt);
    }
    return APX_OK;
}

static apx_status check_targets(int64_t N, int64_t V, const int32_t *t, int64_t *n_valid) {
    if (!t) return apx__err(APX_EINVAL, "cross_entropy: targets is NULL");
    *n_valid = 0;
    for (int64_t i = 0; i < N; i++) {
        if (t[i] >= V)
            return apx__err(APX_EINVAL, "cross_entropy: targets[%lld] = %d is >= V = %lld",
                            (long long)i, (int)t[i], (long long)V);
        if (t[i] >= 0) (*n_valid)++;
    }
    return APX_OK;
}

apx_status apx_ad_cross_entropy(apx_graph *g, apx_tensor *logits, const int32_t *targets,
                                apx_tensor **out) {
    APX__TRY(apx__check_op(g, "cross_entropy", out));
    APX__TRY(apx__check_tensor(g, "cross_entropy", "logits", logits));
    if (logits->ndim < 1)
        return apx__err(APX_ESHAPE, "cross_entropy: logits must have ndim >= 1");
    int64_t V = logits->shape[logits->ndim - 1], N = logits->size / V, n_valid = 0;
    APX__TRY(check_targets(N, V, targets, &n_valid));
    ce_saved *s = NULL;
    if (apx__wants_grad(g, 1, &logits)) {
        s = apx__arena_alloc(g, "cross_entropy", sizeof *s);
        if (s) s->targets = apx__arena_alloc(g, "cross_entropy", (size_t)N * sizeof(int32_t));
        if (s && s->targets)
            s->lse = apx__arena_alloc(g, "cross_entropy", (size_t)N * sizeof(float));
        if (!s || !s->targets || !s->lse) return APX_ENOMEM;
        memcpy(s->targets, targets, (size_t)N * sizeof(int32_t));
        s->n_valid = n_valid;
    }
    apx_tensor *y;
    APX__TRY(apx__tensor_new(g, "cross_entropy", 0, NULL, &y));
    double tot = ce_forward(N, V, logits->data, targets, s ? s->lse : NULL);
    y->data[0] = n_valid ? (float)(tot / (double)n_valid) : 0.0f;
    APX__TRY(apx__record(g, "cross_entropy", ce_backward, y, 1, &logits, s));
    apx__set_rop(g, y, ce_jvp, ce_rback);
    *out = y;
    return APX_OK;
}
