/* apx/ad.h: a small reverse-mode automatic differentiation engine in float32.
 *
 * Tensors. An apx_tensor holds float32 values, up to 4 dimensions, contiguous and
 * row-major (C order, as NumPy): element (i,j,k) of a (A,B,C) tensor is data[(i*B+j)*C+k].
 * Every tensor lives in the arena of an apx_graph and is freed, all at once and in O(1),
 * by apx_graph_reset or apx_graph_free. A tensor with ndim 0 is a scalar (size 1).
 *
 * Tape. Each op (apx_ad_add, apx_ad_matmul, ...) computes its output and, when one of its
 * inputs requires a gradient and recording is enabled, pushes a node {backward function,
 * inputs, output, small saved state} on the tape of the graph. apx_ad_backward(g, loss) walks
 * the tape in reverse order and fills the `grad` of every tensor the loss depends on.
 *
 * Parameters. Trainable values live in one contiguous float buffer and their gradients in
 * another, described by a table of named, shaped groups (apx_params). apx_ad_param puts a
 * group in a graph as a leaf tensor that views its slice of the buffer; backward ADDS into
 * its slice of the gradient buffer (call apx_params_zero_grad before each step). Optimizers,
 * checkpoints and all-reduce work on the table (name, shape, offset of every group).
 *
 * Errors. Every function that can fail returns apx_status; apx_last_error() names the op,
 * the argument and the values ("matmul: a (2,3) and b (4,5): inner dims 3 and 4 differ").
 * Ops check their arguments (NULL, tensors of another graph or from before a reset, shapes,
 * ranges); values from the caller are checked for NaN/Inf where they enter (apx_ad_tensor_from,
 * apx_ad_backward_seed), op outputs are not rescanned. Nothing prints, exits or aborts.
 *
 * Threads. A graph and its tensors are used by one thread at a time; kernels use OpenMP
 * (and the BLAS) inside. Results do not depend on the thread count.
 *
 * Adding an op: see docs/ad.md.
 */
#ifndef APX_AD_H
#define APX_AD_H

#include <stddef.h>
#include <stdint.h>

#include "apx/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define APX_AD_MAX_DIMS 4

typedef struct apx_graph apx_graph;   /* opaque: arena + tape */
typedef struct apx_params apx_params; /* opaque: parameter table and buffers */

/* A float32 tensor in a graph. Read data/grad/shape freely; do not change the fields.
 * The values may be written between ops only for leaves you created (apx_ad_tensor*). */
typedef struct apx_tensor {
    float *data;                      /* `size` values, row-major                            */
    float *grad;                      /* d(loss)/d(data) after a backward that reached it,
                                         else NULL; a parameter's slice of the grad buffer  */
    int64_t shape[APX_AD_MAX_DIMS];   /* shape[0..ndim), unused entries are 1                */
    int64_t size;                     /* product of the shape (1 for a scalar)               */
    int ndim;                         /* 0..4                                                */
    int requires_grad;                /* a gradient flows to this tensor                     */
    /* private to the engine */
    apx_graph *graph_;
    uint64_t gen_, mark_;
    int flags_;
    float *tan_, *gtan_;              /* tangents of data and grad (exact HVP), or NULL      */
} apx_tensor;

/* ---------------------------------------------------------------- graphs */

typedef struct {
    size_t chunk_bytes; /* size of each arena chunk (default 4 MiB); larger requests get a
                           chunk of their own. After a reset the chunks are merged into one
                           big enough for the previous step, so a steady loop allocates once. */
} apx_graph_opts;
apx_graph_opts apx_graph_opts_default(void);

/* Create an empty graph (gradient recording enabled). Errors: APX_EINVAL, APX_ENOMEM. */
apx_status apx_graph_create(const apx_graph_opts *opts, apx_graph **out);
/* Free the graph and every tensor in it. NULL is ignored. */
void apx_graph_free(apx_graph *g);
/* Forget every tensor and tape node in O(1), keeping the memory for the next step. Tensors
 * of the graph become invalid (ops reject them with APX_EINVAL). NULL is ignored. */
void apx_graph_reset(apx_graph *g);
/* Enable (1, the default) or disable (0) recording: with recording off, ops compute their
 * output and record nothing (inference; no saved state is kept). */
void apx_graph_set_grad(apx_graph *g, int enabled);
int apx_graph_grad_enabled(const apx_graph *g);

typedef struct {
    size_t bytes_in_use; /* arena bytes handed out since the last reset                     */
    size_t high_water;   /* largest bytes_in_use since creation or apx_graph_reset_high_water
                            (includes the scratch memory of kernels)                        */
    size_t capacity;     /* bytes held by the arena's chunks                                */
    int64_t n_nodes;     /* tape nodes recorded since the last reset                         */
    int64_t n_tensors;   /* tensors created since the last reset                             */
    int n_chunks;
} apx_graph_stats;
void apx_graph_get_stats(const apx_graph *g, apx_graph_stats *st);
void apx_graph_reset_high_water(apx_graph *g);

/* ---------------------------------------------------------------- tensors */

/* A new zero-filled leaf tensor of the given shape (ndim 0..4, every dim >= 1). Errors:
 * APX_EINVAL (NULL, ndim out of range), APX_ESHAPE (a dim < 1 or the size overflows),
 * APX_ENOMEM. */
apx_status apx_ad_tensor(apx_graph *g, int ndim, const int64_t *shape, int requires_grad,
                         apx_tensor **out);
/* A new leaf tensor holding a copy of data[0..size). Errors as above, and APX_EINVAL when
 * data is NULL or holds NaN/Inf (the message gives the first bad index). */
apx_status apx_ad_tensor_from(apx_graph *g, int ndim, const int64_t *shape, const float *data,
                              int requires_grad, apx_tensor **out);
/* Parameter group `index` of a finalized table as a leaf tensor viewing its slice of the
 * buffer (no copy); its grad is the slice of the gradient buffer, which backward adds to.
 * Errors: APX_EINVAL (NULL, not finalized, index out of range or name not found). */
apx_status apx_ad_param(apx_graph *g, apx_params *p, int64_t index, apx_tensor **out);
apx_status apx_ad_param_by_name(apx_graph *g, apx_params *p, const char *name,
                                apx_tensor **out);

/* ---------------------------------------------------------------- backward */

/* Fill gradients of everything `loss` depends on, seeding d(loss)/d(loss) = 1. `loss` must
 * have size 1 and require grad. Gradients of graph tensors are overwritten; parameter
 * gradients are added to. Calling it again (same or another output) recomputes the graph
 * tensors' gradients and adds again to the parameters'. Errors: APX_EINVAL (NULL, stale,
 * size != 1, no gradient path), APX_ENUMERIC (loss is NaN or Inf), APX_ENOMEM. */
apx_status apx_ad_backward(apx_graph *g, apx_tensor *loss);
/* Vector-Jacobian product: backward from y with d(.)/dy = dy[0..y->size) (finite). */
apx_status apx_ad_backward_seed(apx_graph *g, apx_tensor *y, const float *dy);

/* ---------------------------------------------------------------- parameters */

/* Table lifecycle: create, add groups, finalize (allocates the zero-filled value and
 * gradient buffers, 64-byte aligned, groups packed in the order added), use, free. */
apx_status apx_params_create(apx_params **out);
void apx_params_free(apx_params *p);
/* Add a group `name` (unique, non-empty, < 256 chars) of the given shape (ndim 1..4, dims
 * >= 1); its index (0, 1, ...) goes to *index (may be NULL). Errors: APX_EINVAL (NULL,
 * duplicate or bad name, table already finalized), APX_ESHAPE (bad shape), APX_ENOMEM. */
apx_status apx_params_add(apx_params *p, const char *name, int ndim, const int64_t *shape,
                          int64_t *index);
/* Allocate the buffers. Errors: APX_EINVAL (NULL, already finalized, no groups), APX_ENOMEM. */
apx_status apx_params_finalize(apx_params *p);
int apx_params_finalized(const apx_params *p);
int64_t apx_params_count(const apx_params *p); /* number of groups (0 for NULL)          */
int64_t apx_params_size(const apx_params *p);  /* total floats of all groups              */
float *apx_params_data(apx_params *p);         /* the value buffer; NULL before finalize  */
float *apx_params_grad(apx_params *p);         /* the gradient buffer; NULL before        */

typedef struct {
    const char *name;                /* owned by the table                     */
    int ndim;
    int64_t shape[APX_AD_MAX_DIMS];  /* unused entries are 1                   */
    int64_t offset;                  /* first float of the group in the buffers */
    int64_t size;                    /* number of floats                       */
} apx_param_info;
/* Describe group `index` (works before finalize too). Errors: APX_EINVAL. */
apx_status apx_params_info(const apx_params *p, int64_t index, apx_param_info *info);
/* Index of the group called `name`. Errors: APX_EINVAL (NULL, or no such group). */
apx_status apx_params_find(const apx_params *p, const char *name, int64_t *index);
/* Set every gradient to zero (no-op before finalize or for NULL). */
void apx_params_zero_grad(apx_params *p);
/* Fill group `index` with a constant, or with mean + std * N(0,1) drawn from Philox
 * stream (seed, index). Errors: APX_EINVAL (not finalized, bad index, NaN/Inf, std < 0). */
apx_status apx_params_fill(apx_params *p, int64_t index, float value);
apx_status apx_params_fill_normal(apx_params *p, int64_t index, uint64_t seed, float mean,
                                  float std);

/* ---------------------------------------------------------------- elementwise and shape ops
 * All ops: apx_status apx_ad_<op>(apx_graph *g, inputs..., apx_tensor **out). Inputs must
 * belong to g and be created since its last reset. */

/* out = a + b, a - b, a * b (elementwise). The two shapes are equal, or the smaller one
 * equals the trailing dims of the larger (bias-like broadcasting: (B,T,C) + (C) or (T,C)).
 * The output has the larger shape. Errors: APX_ESHAPE when neither rule holds. */
apx_status apx_ad_add(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out);
apx_status apx_ad_sub(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out);
apx_status apx_ad_mul(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out);
/* out = alpha * x (alpha finite). */
apx_status apx_ad_scale(apx_graph *g, apx_tensor *x, float alpha, apx_tensor **out);
/* out = x + b along the last dim: x (..., C), b (C). */
apx_status apx_ad_bias(apx_graph *g, apx_tensor *x, apx_tensor *b, apx_tensor **out);
/* Scalar (ndim 0) sum and mean of all elements (accumulated in double). */
apx_status apx_ad_sum(apx_graph *g, apx_tensor *x, apx_tensor **out);
apx_status apx_ad_mean(apx_graph *g, apx_tensor *x, apx_tensor **out);
/* Same values, new shape of the same size; one entry may be -1 (inferred). The output
 * shares x's values (no copy) but has its own gradient. */
apx_status apx_ad_reshape(apx_graph *g, apx_tensor *x, int ndim, const int64_t *shape,
                          apx_tensor **out);
/* Swap the last two dims: (..., M, N) -> (..., N, M) (ndim >= 2; a copy). */
apx_status apx_ad_transpose(apx_graph *g, apx_tensor *x, apx_tensor **out);
/* Entries start..start+len-1 along dim (0 <= dim < ndim; negative dim counts from the end). */
apx_status apx_ad_slice(apx_graph *g, apx_tensor *x, int dim, int64_t start, int64_t len,
                        apx_tensor **out);
/* Join n >= 1 tensors along dim; the other dims must agree. */
apx_status apx_ad_concat(apx_graph *g, int n, apx_tensor *const *xs, int dim,
                         apx_tensor **out);
/* Inverted dropout: out = x * keep / (1 - p), keep_i = (u_i >= p * 2^32) where u_i is word i
 * of the Philox stream (seed, stream) (apx_rng_u32 order). Same arguments, same mask, on any
 * thread count; backward regenerates the mask (nothing stored). 0 <= p < 1; p = 0 is the
 * identity. */
apx_status apx_ad_dropout(apx_graph *g, apx_tensor *x, float p, uint64_t seed,
                          uint64_t stream, apx_tensor **out);

/* ---------------------------------------------------------------- activations */

typedef enum {
    APX_GELU_ERF = 0, /* exact: x * Phi(x), Phi the normal CDF. Default, = torch nn.GELU() */
    APX_GELU_TANH = 1 /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
                         = nn.GELU(approximate='tanh') */
} apx_gelu_kind;
/* APX_GELU_ERF runs an AVX-512 kernel where the CPU has it (erfc-based, accurate to ~4e-7
 * relative over the whole float range, tail included; docs/ad.md), else erff.
 * APX_GELU_TANH too (sigmoid(2u) from exp(-2|u|): no overflow, no cancellation in the
 * negative tail; else tanhf). */
apx_status apx_ad_gelu(apx_graph *g, apx_tensor *x, apx_gelu_kind kind, apx_tensor **out);
apx_status apx_ad_relu(apx_graph *g, apx_tensor *x, apx_tensor **out);
apx_status apx_ad_silu(apx_graph *g, apx_tensor *x, apx_tensor **out); /* x * sigmoid(x) */
apx_status apx_ad_tanh(apx_graph *g, apx_tensor *x, apx_tensor **out);
apx_status apx_ad_sigmoid(apx_graph *g, apx_tensor *x, apx_tensor **out);
/* PolyReLU (PolyCom, P044): out = sum_{j<r} weight[j] * relu(x)^(r-j) + bias, with
 * weight (r) (1 <= r <= 16; official layout: weight[0] multiplies the highest power; official
 * r = 3, weight = 1/3) and bias (1) or NULL. Both learnable. */
apx_status apx_ad_polyrelu(apx_graph *g, apx_tensor *x, apx_tensor *weight, apx_tensor *bias,
                           apx_tensor **out);

/* ---------------------------------------------------------------- normalization
 * Over the last dim C of x (..., C); statistics in double per row. */

/* out = (x - mean) / sqrt(var + eps) * gamma + beta (biased variance, as PyTorch);
 * gamma, beta (C) or NULL. eps > 0 (PyTorch: 1e-5). */
apx_status apx_ad_layernorm(apx_graph *g, apx_tensor *x, apx_tensor *gamma, apx_tensor *beta,
                            float eps, apx_tensor **out);
/* out = x / sqrt(mean(x^2) + eps) * gamma; gamma (C) or NULL. */
apx_status apx_ad_rmsnorm(apx_graph *g, apx_tensor *x, apx_tensor *gamma, float eps,
                          apx_tensor **out);
/* PolyNorm (PolyCom, P044): out = sum_{j<r} weight[j] * N(x^(r-j)) + bias,
 * N(v) = v / sqrt(mean_lastdim(v^2) + eps); weight (r) (1 <= r <= 16), bias (1) or NULL
 * (official: r = 3, weight = 1/3, bias = 0, eps = 1e-6; weight[0] multiplies N(x^3) as in
 * the official code). */
apx_status apx_ad_polynorm(apx_graph *g, apx_tensor *x, apx_tensor *weight, apx_tensor *bias,
                           float eps, apx_tensor **out);

/* PowerNorm (Shen et al. 2020, P012), as the authors' MaskPowerNorm without padding masks.
 * x (..., C) is a batch of N = size/C tokens. First GroupScaling (when group_num >= 1):
 * each token's channels are split in group_num groups and divided by
 * sqrt(mean over the group of x^2 + 1e-5) (an RMS norm without gain). Then, per channel c,
 * psi2_c = mean over the N tokens of x^2 (no mean subtraction), z = x / sqrt(phi_c + eps),
 * out = gamma * z + beta, where phi depends on the mode:
 *  BATCH: phi = psi2 of this batch; the backward is the exact gradient (through psi2).
 *         The state is neither read nor written (may be NULL).
 *  TRAIN: the paper's training step. state->iters += 1 (= it); phi = psi2 while it <=
 *         warmup_iters, then phi = state->running_phi. running_phi is updated as the
 *         reference does: if it < warmup_iters, running = running*(it-1)/it + psi2/it; then
 *         always running = alpha_fwd*running + (1-alpha_fwd)*psi2. The backward is the
 *         approximate one: g = dy*gamma, gt = g - (1-alpha_bkw)*ema_gz*z, then
 *         ema_gz += mean over tokens of gt*z, and dx = gt / sqrt(psi2 + eps). Not being
 *         a gradient, it has no exact Hessian-vector rule (apx_ad_hvp: differences).
 *  EVAL:  phi = state->running_phi (not updated); backward is exact for fixed phi.
 * gamma, beta: (C) tensors (learnable), or NULL for 1 and 0. */
typedef enum {
    APX_POWERNORM_BATCH = 0,
    APX_POWERNORM_TRAIN = 1,
    APX_POWERNORM_EVAL = 2
} apx_powernorm_mode;
typedef struct {
    apx_powernorm_mode mode; /* default APX_POWERNORM_TRAIN                                */
    float eps;               /* 1e-5                                                        */
    float alpha_fwd;         /* 0.9: EMA factor of running_phi                              */
    float alpha_bkw;         /* 0.9: factor of the backward correction                      */
    int64_t warmup_iters;    /* 10000: steps using batch statistics                        */
    int group_num;           /* 1: GroupScaling groups (C % group_num == 0); 0 disables it */
} apx_powernorm_opts;
apx_powernorm_opts apx_powernorm_opts_default(void);
/* Caller-owned state (one per layer): running_phi (C) starts at 1, ema_gz (C) at 0,
 * iters at 0. It must stay valid until the backward of the step has run. */
typedef struct {
    float *running_phi;
    float *ema_gz;
    int64_t iters;
} apx_powernorm_state;
apx_status apx_ad_powernorm(apx_graph *g, apx_tensor *x, apx_tensor *gamma, apx_tensor *beta,
                            const apx_powernorm_opts *opts, apx_powernorm_state *state,
                            apx_tensor **out);

/* BatchNorm over batch and time (the baseline PowerNorm replaces, P012): x (..., C) is a
 * batch of N = size/C tokens; per channel c, mean_c and the biased var_c over the N tokens,
 * out = (x - mean) / sqrt(var + eps) * gamma + beta (= PyTorch BatchNorm1d on the (N, C)
 * view). In a causal model the batch statistics mix future tokens into each position.
 *  TRAIN: batch statistics (N >= 2); exact backward through mean and var. When state is
 *         not NULL the running statistics are updated as PyTorch does:
 *         running = (1 - momentum) running + momentum * stat, with the unbiased variance
 *         var N / (N - 1), and state->iters += 1.
 *  EVAL:  state's running mean and variance (state required, not updated); backward exact
 *         for fixed statistics.
 * gamma, beta: (C) tensors (learnable), or NULL for 1 and 0. Errors: APX_EINVAL (mode,
 * momentum outside [0, 1], eps <= 0, N < 2 in TRAIN, a missing or non-finite state),
 * APX_ESHAPE (gamma/beta not (C)). */
typedef enum { APX_BATCHNORM_TRAIN = 0, APX_BATCHNORM_EVAL = 1 } apx_batchnorm_mode;
typedef struct {
    apx_batchnorm_mode mode; /* default APX_BATCHNORM_TRAIN */
    float eps;               /* 1e-5                         */
    float momentum;          /* 0.1 (PyTorch's default)      */
} apx_batchnorm_opts;
apx_batchnorm_opts apx_batchnorm_opts_default(void);
/* Caller-owned state (one per layer): running_mean (C) starts at 0, running_var (C) at 1,
 * iters (PyTorch's num_batches_tracked) at 0. */
typedef struct {
    float *running_mean;
    float *running_var;
    int64_t iters;
} apx_batchnorm_state;
apx_status apx_ad_batchnorm(apx_graph *g, apx_tensor *x, apx_tensor *gamma, apx_tensor *beta,
                            const apx_batchnorm_opts *opts, apx_batchnorm_state *state,
                            apx_tensor **out);

/* ---------------------------------------------------------------- softmax and losses */

/* Softmax and log-softmax over the last dim. */
apx_status apx_ad_softmax(apx_graph *g, apx_tensor *x, apx_tensor **out);
apx_status apx_ad_log_softmax(apx_graph *g, apx_tensor *x, apx_tensor **out);
/* Mean cross-entropy of logits (..., V) against integer targets, one per row
 * (n = size/V of them): loss = mean over rows r with targets[r] >= 0 of
 * logsumexp(logits_r) - logits_r[targets[r]]. Negative targets are ignored (padding); if all
 * are ignored the loss is 0. Output: scalar. Errors: APX_EINVAL (NULL targets, a target >= V). */
apx_status apx_ad_cross_entropy(apx_graph *g, apx_tensor *logits, const int32_t *targets,
                                apx_tensor **out);

/* ---------------------------------------------------------------- matmul and embedding */

/* out = a b through the BLAS sgemm (a reference loop when no BLAS is loaded).
 * a (..., M, K) with ndim >= 2; b (K, N) shared by every leading index, or b (..., K, N)
 * with the same leading dims as a (batched). out (..., M, N). */
apx_status apx_ad_matmul(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out);
/* out = a b^T: b (N, K) or (..., N, K) (PyTorch Linear weight layout (out, in)). */
apx_status apx_ad_matmul_bt(apx_graph *g, apx_tensor *a, apx_tensor *b, apx_tensor **out);
/* out[..., :] = table[ids[...], :]: table (V, C); ids of shape ids_shape[0..ids_ndim)
 * (ids_ndim 0..3), each in [0, V). out has shape ids_shape + (C). The ids are copied. */
apx_status apx_ad_embedding(apx_graph *g, apx_tensor *table, const int32_t *ids, int ids_ndim,
                            const int64_t *ids_shape, apx_tensor **out);

/* ---------------------------------------------------------------- convolution
 * PyTorch layouts and semantics (cross-correlation, zero padding). */
typedef struct {
    int64_t stride[2];   /* 1, 1 (conv1d uses element 0; conv2d: height, width) */
    int64_t padding[2];  /* 0, 0 */
    int64_t dilation[2]; /* 1, 1 */
    int64_t groups;      /* 1; Cin and Cout divisible by it (groups = Cin: depthwise) */
} apx_conv_opts;
apx_conv_opts apx_conv_opts_default(void);
/* x (B, Cin, L), w (Cout, Cin/groups, K), bias (Cout) or NULL -> (B, Cout, Lout),
 * Lout = (L + 2 pad - dil (K-1) - 1) / stride + 1 >= 1. */
apx_status apx_ad_conv1d(apx_graph *g, apx_tensor *x, apx_tensor *w, apx_tensor *bias,
                         const apx_conv_opts *opts, apx_tensor **out);
/* x (B, Cin, H, W), w (Cout, Cin/groups, KH, KW), bias (Cout) or NULL -> (B, Cout, Ho, Wo). */
apx_status apx_ad_conv2d(apx_graph *g, apx_tensor *x, apx_tensor *w, apx_tensor *bias,
                         const apx_conv_opts *opts, apx_tensor **out);

/* ---------------------------------------------------------------- attention */

/* Memory traffic of the tiled attention kernel, counted in the kernel (P107): bytes of
 * Q, K, V, O (and dO, dQ, dK, dV, the logsumexp L and D = rowsum(dO*O) in backward) moved
 * between the tensors and the per-thread tiles ("slow" and "fast" memory). */
typedef struct {
    int64_t fwd_read, fwd_write; /* bytes, set by the forward */
    int64_t bwd_read, bwd_write; /* bytes, set by the backward */
    int64_t block_q, block_k;    /* tile rows used by the forward (Q tile, K/V tile) */
    int64_t bwd_block_q, bwd_block_k; /* and by the backward */
} apx_attention_io;

typedef struct {
    int64_t n_head;          /* H >= 1 (default 1); q, k have H*Dk columns, v H*Dv      */
    int causal;              /* 1 (default): query i sees keys j <= i (needs Tq == Tk)  */
    float scale;             /* 0: 1/sqrt(Dk)                                           */
    int64_t block_q, block_k;/* tile rows; 0: 64                                         */
    int64_t on_chip_floats;  /* M > 0: size the tiles for a fast memory of M floats as in
                                the I/O analysis (Q-stationary tiles of M/(4 Dk) rows and
                                K/V tiles of min(Dk, M/(4 Dk)) rows; in backward the roles
                                swap); overrides block_q/block_k. 0: off                  */
    apx_attention_io *io;    /* optional: filled by the forward and the backward; must stay
                                valid until the backward has run                         */
} apx_attention_opts;
apx_attention_opts apx_attention_opts_default(void);

/* Multi-head softmax attention, FlashAttention-2 style (P107): q (B, Tq, H*Dk),
 * k (B, Tk, H*Dk), v (B, Tk, H*Dv) -> out (B, Tq, H*Dv), head h using columns
 * [h*D, (h+1)*D). out = softmax(scale * q k^T [+ causal mask]) v per head, computed tile by
 * tile with an online softmax; only out and the row logsumexp (B*H*Tq floats) are kept. The
 * backward recomputes the probabilities tile by tile from the saved logsumexp. No Tq x Tk
 * matrix is ever allocated: memory is linear in T. */
apx_status apx_ad_attention(apx_graph *g, apx_tensor *q, apx_tensor *k, apx_tensor *v,
                            const apx_attention_opts *opts, apx_tensor **out);
/* The I/O model of P107 for FlashAttention: n^2 d^2 / m (sequence n, head dim d, fast
 * memory m floats), to compare with apx_attention_io counts (in floats: bytes / 4). */
double apx_attention_io_model(int64_t n, int64_t d, int64_t m);

/* ---------------------------------------------------------------- gradients and Hessians */

/* A model: build the loss of the current parameters in g (already reset) from p's
 * parameters (apx_ad_param) and set *loss (size 1). It must be deterministic (a fixed
 * dropout seed), since it is evaluated several times. */
typedef apx_status (*apx_ad_loss_fn)(void *ctx, apx_graph *g, apx_params *p,
                                     apx_tensor **loss);

/* Reset g, zero p's gradients, evaluate f and run backward: p's gradient buffer then holds
 * the gradient; *loss_value (may be NULL) the loss. */
apx_status apx_ad_value_and_grad(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx,
                                 double *loss_value);

typedef enum {
    APX_HVP_AUTO = 0,  /* exact when every op on the tape supports it, else differences  */
    APX_HVP_EXACT = 1, /* exact, or APX_EINVAL naming the first op without support       */
    APX_HVP_DIFF = 2   /* a difference of gradients (order, step)                        */
} apx_hvp_method;

typedef struct {
    int exact;               /* 1: forward-over-reverse was used; 0: differences         */
    const char *fallback_op; /* AUTO fell back: the first op without support (static
                                string); NULL otherwise                                  */
    int gradients;           /* evaluations of f: 1 (exact), order (DIFF), order + 1 (AUTO
                                fell back: the first evaluation found the unsupported op) */
} apx_hvp_info;

typedef struct {
    int order;   /* 2 (default): central difference of two gradients;
                    4: fourth-order difference of four gradients (twice the cost)   */
    double step; /* 0 (default): automatic, see apx_ad_hvp; else the step h > 0     */
    apx_hvp_method method; /* APX_HVP_AUTO (default)                                 */
    apx_hvp_info *info;    /* optional: filled by apx_ad_hvp (NULL: not reported)    */
} apx_hvp_opts;
apx_hvp_opts apx_hvp_opts_default(void);

/* Hessian-vector product hv = H(theta) v of the loss f at the current parameters theta.
 *
 * Exact (APX_HVP_EXACT, and APX_HVP_AUTO when it applies): forward-over-reverse
 * (Pearlmutter's R-operator). f is evaluated once; a tangent pass propagates
 * d(.)[v] through the tape, and the reverse sweep propagates the tangents of the gradients,
 * so hv is the exact directional derivative of the gradient, up to float rounding (measured
 * 1e-8 to 2e-6 relative against double second differences, tests/ad/test_hvp*.c and the
 * per-op checks). Every op has it, attention included (tiled like its forward and backward:
 * no Tq x Tk matrix), so the GPT of apx/nn.h is exact with every norm and activation,
 * except PowerNorm in APX_POWERNORM_TRAIN mode, whose backward is the paper's
 * approximation rather than a gradient: it makes AUTO fall back to differences
 * (info->fallback_op = "powernorm") and EXACT fail. Cost: about 3 gradients' work, one
 * evaluation of f.
 *
 * Differences (APX_HVP_DIFF, or the fallback) of exact (reverse-mode) gradients along v:
 *   order 2: hv = (grad(theta + h v) - grad(theta - h v)) / (2h),
 *            error ~ h^2/6 |d^3 f[v,v,v,.]| + eps_f |grad| / h,
 *   order 4: hv = (-grad(+2h) + 8 grad(+h) - 8 grad(-h) + grad(-2h)) / (12h),
 *            error O(h^4) + O(eps_f |grad| / h),
 * eps_f the float gradient's rounding level. With step 0, h = c R where R = (1 + max|theta|)
 * / |v|_2 is taken as the length scale of the loss along v, and c balances the two terms for
 * a loss analytic within radius R: c = (eps_f/2)^(1/3) ~ 3.9e-3 (order 2), 0.6 eps_f^(1/5)
 * ~ 2.5e-2 (order 4). Measured on a tanh MLP (tests/ad/test_hvp.c), the relative error
 * max|hv - Hv| / max|Hv| is 4e-5 to 7e-5 (order 2) and 9e-6 to 2e-5 (order 4); a loss that
 * curves faster than R assumes needs a smaller step (opts->step; with APX_TEST_VERBOSE=1 the
 * test prints the error over a range of steps). See docs/ad.md.
 *
 * theta and p's gradients are restored exactly afterwards; g is reset. v, hv: apx_params_size
 * floats (v finite, not all zero; hv may be v). Errors: APX_EINVAL (also: EXACT on an unsupported op, an
 * unknown method), APX_ENOMEM, and any error of f. */
apx_status apx_ad_hvp(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx, const float *v,
                      float *hv, const apx_hvp_opts *opts);

#ifdef __cplusplus
}
#endif
#endif /* APX_AD_H */
