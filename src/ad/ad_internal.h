/* src/ad/ad_internal.h: private parts of the autodiff engine: the graph (arena + tape),
 * tape nodes, and helpers every op uses. See docs/ad.md "Adding an op". */
#ifndef APX_AD_INTERNAL_H
#define APX_AD_INTERNAL_H

#include <string.h>

#include "apx/ad.h"
#include "core/internal.h"

/* ---------------------------------------------------------------- arena */

typedef struct apx__chunk {
    struct apx__chunk *next;
    size_t cap;  /* usable bytes after the header */
    char *base;  /* 64-byte aligned start of the usable bytes */
} apx__chunk;

/* A position in the arena: apx__arena_release(g, m) frees everything allocated after it. */
typedef struct {
    apx__chunk *chunk;
    size_t off, used_before;
} apx__mark;

/* ---------------------------------------------------------------- tape */

typedef struct apx__node apx__node;
/* Add the node's contribution to the gradients of its inputs. For each input t with
 * t->requires_grad, t->grad is allocated (and zeroed before its first use in this backward)
 * by the engine before the call; the function ADDS to it. n->out->grad holds d/d(out). */
typedef apx_status (*apx__backward_fn)(apx_graph *g, apx__node *n);

struct apx__node {
    apx__backward_fn backward;
    /* Forward-over-reverse (exact Hessian-vector products, rop.c), NULL where the op has
     * none: jvp sets out->tan_ = d(out) along the inputs' tan_ (allocated by the op);
     * rback adds to each input's gtan_ the tangent of what backward adds to its grad, from
     * out->grad, out->gtan_ and the inputs' data and tan_. Both see every input's tan_ set
     * (zeros for leaves) and, in rback, every gradient-requiring input's gtan_. */
    apx__backward_fn jvp, rback;
    const char *op;     /* op name, for messages */
    apx_tensor *out;
    apx_tensor **in;    /* n_in inputs (NULL entries allowed: optional inputs) */
    int n_in;
    void *saved;        /* op-specific saved state (arena memory) */
    apx__node *prev;    /* the node recorded before this one */
};

struct apx_graph {
    apx__chunk *head, *cur; /* chunk list; cur is where allocation happens */
    size_t off;             /* bytes used in cur */
    size_t used_before;     /* bytes used in the chunks before cur (this pass) */
    size_t high_water, capacity, chunk_bytes;
    int n_chunks;
    apx__node *tape;        /* last recorded node */
    int64_t n_nodes, n_tensors;
    uint64_t gen;           /* incremented by every reset */
    uint64_t epoch;         /* incremented by every backward */
    int grad_enabled;
    int rmode;              /* the backward sweep also propagates gtan_ (exact HVP)  */
};

/* Tensor flags_. */
enum { APX__T_PARAM = 1, APX__T_ALIAS = 2 };

/* Arena allocation (64-byte aligned, uninitialised / zeroed). NULL + APX_ENOMEM message. */
void *apx__arena_alloc(apx_graph *g, const char *op, size_t bytes);
void *apx__arena_zalloc(apx_graph *g, const char *op, size_t bytes);
apx__mark apx__arena_mark(const apx_graph *g);
void apx__arena_release(apx_graph *g, apx__mark m);

/* ---------------------------------------------------------------- tensors */

/* Check a shape: ndim in [lo_ndim, 4], dims >= 1, size fits; *size gets the product. */
apx_status apx__check_shape(const char *op, const char *arg, int ndim, const int64_t *shape,
                            int64_t *size);
/* A new tensor with uninitialised data (requires_grad 0). */
apx_status apx__tensor_new(apx_graph *g, const char *op, int ndim, const int64_t *shape,
                           apx_tensor **out);
/* A new tensor whose data is `data` (not copied; flags_ APX__T_ALIAS). */
apx_status apx__tensor_alias(apx_graph *g, const char *op, int ndim, const int64_t *shape,
                             float *data, apx_tensor **out);
/* `t` is a valid tensor of g (NULL, other graph, stale -> APX_EINVAL naming op and arg). */
apx_status apx__check_tensor(const apx_graph *g, const char *op, const char *arg,
                             const apx_tensor *t);
/* Write "(2,3,4)" into buf (>= 96 bytes) and return it. */
const char *apx__shape_str(const apx_tensor *t, char *buf);
/* Common check of the graph argument and output pointer. */
apx_status apx__check_op(const apx_graph *g, const char *op, apx_tensor **out);

/* The gradient to write for an input, or NULL when none is wanted. */
static inline float *apx__gin(const apx_tensor *t) {
    return t && t->requires_grad ? t->grad : NULL;
}

/* ---------------------------------------------------------------- recording */

/* Would an op with these inputs be recorded (recording on and an input requires grad)? */
int apx__wants_grad(const apx_graph *g, int n_in, apx_tensor *const *in);
/* The reverse sweep (tape.c): apx__reach gives t its zeroed grad (and gtan_ in R mode) the
 * first time this backward reaches it; apx__sweep runs the reached nodes in reverse. */
apx_status apx__reach(apx_graph *g, apx_tensor *t);
apx_status apx__sweep(apx_graph *g);
/* Record a node (when apx__wants_grad) and set out->requires_grad. */
apx_status apx__record(apx_graph *g, const char *op, apx__backward_fn fn, apx_tensor *out,
                       int n_in, apx_tensor *const *in, void *saved);

/* ---------------------------------------------------------------- forward-over-reverse
 * (rop.c) Helpers ops use to give their node a jvp and an rback. */

/* Set the jvp and rback of the node that produced y (no-op when y was not recorded). */
void apx__set_rop(apx_graph *g, apx_tensor *y, apx__backward_fn jvp, apx__backward_fn rback);
/* A zeroed tangent buffer for n->out (n->out->tan_), NULL + APX_ENOMEM message. */
float *apx__out_tan(apx_graph *g, apx__node *n);
/* Run n->backward on substituted buffers: input i reads tan_ as its data when bit i of
 * dmask is set; it receives into gtan_ when bit i of gmask is set and requires grad (else
 * nothing); the upstream gradient is out->gtan_ when dy_tan, else out->grad. Bit 31 stands
 * for every input from the 31st on. */
apx_status apx__backward_on(apx_graph *g, apx__node *n, unsigned dmask, unsigned gmask,
                            int dy_tan);
/* rback of an op linear in every input: its backward applied to out->gtan_. */
apx_status apx__rback_linear(apx_graph *g, apx__node *n);
/* rback of an op bilinear in its first two inputs and linear in the others (matmul, mul,
 * conv with its bias): the backward applied to out->gtan_, plus the backward with one of
 * the first two inputs' data replaced by its tangent, feeding the other's. */
apx_status apx__rback_bilinear(apx_graph *g, apx__node *n);
/* jvp of a one-input op with a symmetric Jacobian (element-wise activations, softmax):
 * its backward with out->grad := in->tan_, writing into out->tan_. */
apx_status apx__jvp_symmetric(apx_graph *g, apx__node *n);

/* hv = H v by forward-over-reverse on the tape whose output is `loss` (rop.c); *done = 0
 * and *op = the first op without jvp/rback when the tape does not support it. */
apx_status apx__hvp_rop(apx_graph *g, apx_params *p, apx_tensor *loss, const float *v,
                        float *hv, int *done, const char **op);

/* Attention's forward-over-reverse rule, the plain reference (attention_ref.c; the tiled
 * kernels of attention.c are tested against it). Inputs in apx_ad_attention's layouts:
 * q, k, v and their tangents tq, tk, tv, the output gradient dO and its tangent tdO. Writes
 * tO (B,Tq,H*Dv), the output's tangent, and tgq, tgk, tgv, the tangents of the gradients
 * of q, k, v (the backward's outputs, not added to). Errors: APX_ENOMEM. */
typedef struct {
    int64_t B, Tq, Tk, H, Dk, Dv;
    int causal;
    float scale; /* > 0 */
    const float *q, *k, *v, *tq, *tk, *tv, *dO, *tdO;
} apx__attn_rop_in;
apx_status apx__attention_rop_ref(const apx__attn_rop_in *a, float *tO, float *tgq, float *tgk,
                                  float *tgv);

/* ---------------------------------------------------------------- kernels shared by ops */

/* Row-major C (m,n) = alpha * op(A) op(B) + beta * C, float; op(A) (m,k), op(B) (k,n).
 * Through the BLAS when it is loaded, else apx__ad_ref_sgemm. Sizes fit 32-bit ints. */
void apx__ad_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                   float *C, int64_t ldc);
/* The reference: plain loops, double accumulation. */
void apx__ad_ref_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc);

/* PolyReLU/PolyNorm coefficients: weight (r), 1 <= r <= 16; bias NULL or of size 1. */
apx_status apx__check_poly_coefs(apx_graph *g, const char *op, apx_tensor *w, apx_tensor *b);

/* Exact GELU kernels (ops_act.c), exposed for the tests: the reference (erff) and the fast
 * one (AVX-512 when the CPU has it, else the reference; returns 1 when the vector path ran).
 * forward: y (n) = x Phi(x); backward: gx (n) += dy (Phi(x) + x phi(x)). */
void apx__gelu_forward_ref(int64_t n, const float *x, float *y);
void apx__gelu_backward_ref(int64_t n, const float *x, const float *dy, float *gx);
int apx__gelu_forward_fast(int64_t n, const float *x, float *y);
int apx__gelu_backward_fast(int64_t n, const float *x, const float *dy, float *gx);
/* The tanh-approximation GELU's kernels, the same way: y (n) = 0.5 x (1 + tanh(u)),
 * u = sqrt(2/pi) (x + 0.044715 x^3); gx (n) += dy y'(x). */
void apx__gelu_tanh_forward_ref(int64_t n, const float *x, float *y);
void apx__gelu_tanh_backward_ref(int64_t n, const float *x, const float *dy, float *gx);
int apx__gelu_tanh_forward_fast(int64_t n, const float *x, float *y);
int apx__gelu_tanh_backward_fast(int64_t n, const float *x, const float *dy, float *gx);

/* y[i] += x[i] for i < n. */
static inline void apx__axpy1(int64_t n, const float *restrict x, float *restrict y) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

#endif /* APX_AD_INTERNAL_H */
