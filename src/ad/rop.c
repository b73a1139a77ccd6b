/* rop.c: forward-over-reverse (Pearlmutter's R-operator) for exact Hessian-vector products.
 * After the loss is built (forward, recorded), a tangent pass walks the tape in recording
 * order and gives every tensor out->tan_ = d(out)[v] (parameters: their slice of v, other
 * leaves: zero); then the reverse sweep runs each node's backward and its rback, which adds
 * the tangent of the backward's contribution to the inputs' gtan_. A parameter's gtan_ is
 * its slice of hv, so at the end hv = R{grad} = H v, exact up to float rounding. Ops give
 * their nodes jvp/rback with apx__set_rop; the helpers below cover the linear, bilinear and
 * symmetric-Jacobian cases by running the op's own backward on substituted buffers. */
#include <math.h>

#include "ad_internal.h"

void apx__set_rop(apx_graph *g, apx_tensor *y, apx__backward_fn jvp, apx__backward_fn rback) {
    if (g->tape && g->tape->out == y) {
        g->tape->jvp = jvp;
        g->tape->rback = rback;
    }
}

float *apx__out_tan(apx_graph *g, apx__node *n) {
    apx_tensor *y = n->out;
    y->tan_ = apx__arena_zalloc(g, n->op, (size_t)y->size * sizeof(float));
    return y->tan_;
}

static int bit(unsigned mask, int i) { return (mask >> (i < 31 ? i : 31)) & 1u; }

apx_status apx__backward_on(apx_graph *g, apx__node *n, unsigned dmask, unsigned gmask,
                            int dy_tan) {
    apx__mark mk = apx__arena_mark(g);
    apx_tensor *sh = apx__arena_alloc(g, n->op, sizeof(apx_tensor) * (size_t)(n->n_in + 1));
    apx_tensor **ins = apx__arena_alloc(g, n->op, sizeof(apx_tensor *) * (size_t)n->n_in);
    if (!sh || !ins) return APX_ENOMEM;
    for (int i = 0; i < n->n_in; i++) {
        ins[i] = NULL;
        if (!n->in[i]) continue;
        sh[i] = *n->in[i];
        if (bit(dmask, i)) sh[i].data = n->in[i]->tan_;
        sh[i].requires_grad = n->in[i]->requires_grad && bit(gmask, i);
        sh[i].grad = n->in[i]->gtan_;
        ins[i] = &sh[i];
    }
    apx_tensor *out = &sh[n->n_in];
    *out = *n->out;
    if (dy_tan) out->grad = n->out->gtan_;
    apx__node s = *n;
    s.in = ins;
    s.out = out;
    apx_status st = n->backward(g, &s);
    apx__arena_release(g, mk);
    return st;
}

apx_status apx__rback_linear(apx_graph *g, apx__node *n) {
    return apx__backward_on(g, n, 0, ~0u, 1);
}

apx_status apx__rback_bilinear(apx_graph *g, apx__node *n) {
    APX__TRY(apx__backward_on(g, n, 0, ~0u, 1)); /* the backward on d(dy)           */
    APX__TRY(apx__backward_on(g, n, 2u, 1u, 0)); /* d(grad a) from b's tangent        */
    return apx__backward_on(g, n, 1u, 2u, 0);    /* d(grad b) from a's tangent        */
}

apx_status apx__jvp_symmetric(apx_graph *g, apx__node *n) {
    float *ty = apx__out_tan(g, n);
    apx_tensor *sh = apx__arena_alloc(g, n->op, 2 * sizeof(apx_tensor));
    apx_tensor **ins = apx__arena_alloc(g, n->op, sizeof(apx_tensor *) * (size_t)n->n_in);
    if (!ty || !sh || !ins) return APX_ENOMEM;
    sh[0] = *n->in[0];
    sh[0].requires_grad = 1;
    sh[0].grad = ty; /* the backward adds J^T tx = J tx here */
    ins[0] = &sh[0];
    for (int i = 1; i < n->n_in; i++) ins[i] = NULL;
    sh[1] = *n->out;
    sh[1].grad = n->in[0]->tan_;
    apx__node s = *n;
    s.in = ins;
    s.out = &sh[1];
    return n->backward(g, &s);
}

/* ---------------------------------------------------------------- the exact HVP */

/* Every node of the tape has a jvp and an rback; else *op names the first that lacks one. */
static int tape_supported(const apx_graph *g, const char **op) {
    for (const apx__node *n = g->tape; n; n = n->prev)
        if (!n->jvp || !n->rback) {
            *op = n->op;
            return 0;
        }
    return 1;
}

/* Leaves' tangents: parameters view their slice of v, other leaves get zeros. */
static apx_status leaf_tangents(apx_graph *g, apx_params *p, const float *v) {
    const float *base = apx_params_data(p);
    for (apx__node *n = g->tape; n; n = n->prev)
        for (int i = 0; i < n->n_in; i++) {
            apx_tensor *t = n->in[i];
            if (!t || t->tan_) continue;
            if (t->flags_ & APX__T_PARAM) t->tan_ = (float *)v + (t->data - base);
            else if (!(t->tan_ = apx__arena_zalloc(g, "hvp", (size_t)t->size * sizeof(float))))
                return APX_ENOMEM;
        }
    return APX_OK;
}

/* Run every node's jvp in recording order (the tape is linked newest first). */
static apx_status tangent_pass(apx_graph *g) {
    int64_t k = g->n_nodes;
    apx__node **order = apx__arena_alloc(g, "hvp", sizeof(apx__node *) * (size_t)(k ? k : 1));
    if (!order) return APX_ENOMEM;
    for (apx__node *n = g->tape; n; n = n->prev) order[--k] = n;
    for (int64_t i = k; i < g->n_nodes; i++) APX__TRY(order[i]->jvp(g, order[i]));
    return APX_OK;
}

/* Parameters' gradient tangents: their slice of hv (zeroed first), shared by every leaf
 * that views the same group, like their gradients. */
static void param_gtangents(apx_graph *g, apx_params *p, float *hv) {
    const float *base = apx_params_data(p);
    memset(hv, 0, (size_t)apx_params_size(p) * sizeof(float));
    for (apx__node *n = g->tape; n; n = n->prev)
        for (int i = 0; i < n->n_in; i++) {
            apx_tensor *t = n->in[i];
            if (t && (t->flags_ & APX__T_PARAM)) t->gtan_ = hv + (t->data - base);
        }
}

/* hv = H v by forward-over-reverse, for a tape built by the caller with `loss` its output.
 * Returns APX_OK and sets *done = 1, or *done = 0 and *op to the first unsupported op. */
apx_status apx__hvp_rop(apx_graph *g, apx_params *p, apx_tensor *loss, const float *v,
                        float *hv, int *done, const char **op) {
    *done = 0;
    if (!tape_supported(g, op)) return APX_OK;
    int64_t np = apx_params_size(p);
    if (hv < v + np && v < hv + np) { /* hv overwrites v: tangents read a copy */
        float *vc = apx__arena_alloc(g, "hvp", (size_t)np * sizeof(float));
        if (!vc) return APX_ENOMEM;
        memcpy(vc, v, (size_t)np * sizeof(float));
        v = vc;
    }
    APX__TRY(leaf_tangents(g, p, v));
    APX__TRY(tangent_pass(g));
    param_gtangents(g, p, hv);
    g->epoch++;
    g->rmode = 1;
    apx_status st = apx__reach(g, loss);
    if (st == APX_OK) {
        loss->grad[0] += 1.0f;
        st = apx__sweep(g);
    }
    g->rmode = 0;
    *done = st == APX_OK;
    return st;
}
