/* tape.c: recording op nodes and the reverse sweep (apx_ad_backward). */
#include <math.h>

#include "ad_internal.h"

int apx__wants_grad(const apx_graph *g, int n_in, apx_tensor *const *in) {
    if (!g->grad_enabled) return 0;
    for (int i = 0; i < n_in; i++)
        if (in[i] && in[i]->requires_grad) return 1;
    return 0;
}

apx_status apx__record(apx_graph *g, const char *op, apx__backward_fn fn, apx_tensor *out,
                       int n_in, apx_tensor *const *in, void *saved) {
    out->requires_grad = 0;
    if (!apx__wants_grad(g, n_in, in)) return APX_OK;
    apx__node *n = apx__arena_alloc(g, op, sizeof *n);
    apx_tensor **ins = n ? apx__arena_alloc(g, op, sizeof(*ins) * (size_t)n_in) : NULL;
    if (!ins) return APX_ENOMEM;
    memcpy(ins, in, sizeof(*ins) * (size_t)n_in);
    n->backward = fn;
    n->jvp = n->rback = NULL;
    n->op = op;
    n->out = out;
    n->in = ins;
    n->n_in = n_in;
    n->saved = saved;
    n->prev = g->tape;
    g->tape = n;
    g->n_nodes++;
    out->requires_grad = 1;
    return APX_OK;
}

/* A zeroed buffer *buf of t->size floats, allocated when NULL. */
static apx_status zero_buf(apx_graph *g, const apx_tensor *t, float **buf) {
    if (!*buf && !(*buf = apx__arena_alloc(g, "backward", (size_t)t->size * sizeof(float))))
        return APX_ENOMEM;
    memset(*buf, 0, (size_t)t->size * sizeof(float));
    return APX_OK;
}

/* First time `t` is reached in this backward: give it a zeroed gradient, and in R mode a
 * zeroed gradient tangent (parameters keep theirs: they accumulate across calls). */
apx_status apx__reach(apx_graph *g, apx_tensor *t) {
    if (t->mark_ == g->epoch) return APX_OK;
    t->mark_ = g->epoch;
    if (t->flags_ & APX__T_PARAM) return APX_OK;
    APX__TRY(zero_buf(g, t, &t->grad));
    return g->rmode ? zero_buf(g, t, &t->gtan_) : APX_OK;
}

apx_status apx__sweep(apx_graph *g) {
    for (apx__node *n = g->tape; n; n = n->prev) {
        if (n->out->mark_ != g->epoch) continue; /* the output does not lead to y */
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] && n->in[i]->requires_grad) APX__TRY(apx__reach(g, n->in[i]));
        APX__TRY(n->backward(g, n));
        if (g->rmode) APX__TRY(n->rback(g, n));
    }
    return APX_OK;
}

static apx_status check_y(apx_graph *g, const char *fn, apx_tensor *y) {
    if (!g) return apx__err(APX_EINVAL, "%s: graph is NULL", fn);
    APX__TRY(apx__check_tensor(g, fn, "y", y));
    if (!y->requires_grad)
        return apx__err(APX_EINVAL,
                        "%s: y does not depend on any tensor that requires grad (or was "
                        "computed with recording off)", fn);
    return APX_OK;
}

apx_status apx_ad_backward_seed(apx_graph *g, apx_tensor *y, const float *dy) {
    APX__TRY(check_y(g, "backward_seed", y));
    if (!dy) return apx__err(APX_EINVAL, "backward_seed: dy is NULL");
    for (int64_t i = 0; i < y->size; i++)
        if (!isfinite(dy[i]))
            return apx__err(APX_EINVAL, "backward_seed: dy[%lld] is %g", (long long)i,
                            (double)dy[i]);
    g->epoch++;
    APX__TRY(apx__reach(g, y));
    apx__axpy1(y->size, dy, y->grad);
    return apx__sweep(g);
}

apx_status apx_ad_backward(apx_graph *g, apx_tensor *loss) {
    APX__TRY(check_y(g, "backward", loss));
    if (loss->size != 1)
        return apx__err(APX_EINVAL, "backward: loss must have size 1, got %lld elements",
                        (long long)loss->size);
    if (!isfinite(loss->data[0]))
        return apx__err(APX_ENUMERIC, "backward: the loss is %g", (double)loss->data[0]);
    g->epoch++;
    APX__TRY(apx__reach(g, loss));
    loss->grad[0] += 1.0f;
    return apx__sweep(g);
}
