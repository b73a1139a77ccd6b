/* apx/nn.h: models built on the autodiff engine (apx/ad.h). So far: a GPT-style byte-level
 * decoder (apx_gpt).
 *
 * The model. Tokens are bytes (vocab 256 by default). x = wte[ids] + wpe[0..T); then
 * n_layer pre-norm blocks
 *     x = x + Dropout(Wo Attention(split(Wqkv Norm1(x) + bqkv)) + bo)
 *     x = x + Dropout(W2 Act(W1 Norm2(x) + b1) + b2)
 * (causal multi-head softmax attention, apx_ad_attention), a final norm and the language
 * model head: logits = NormF(x) lm_head^T, with lm_head = wte when the embeddings are tied.
 * The loss is the mean cross-entropy of the logits against the targets.
 *
 * Parameters live in one apx_params table (apx/ad.h), groups named as in GPT-2 / nanoGPT:
 *   wte (V,C)  wpe (T,C)
 *   h.<i>.ln1.weight (C)  h.<i>.ln1.bias (C)        (norm parameters, by kind, see below)
 *   h.<i>.attn.wqkv (3C,C)  h.<i>.attn.bqkv (3C)    rows [0,C) q, [C,2C) k, [2C,3C) v
 *   h.<i>.attn.wo (C,C)     h.<i>.attn.bo (C)
 *   h.<i>.ln2.weight ...
 *   h.<i>.mlp.w1 (F,C)  h.<i>.mlp.b1 (F)  h.<i>.mlp.w2 (C,F)  h.<i>.mlp.b2 (C)
 *   h.<i>.mlp.act.weight (3) h.<i>.mlp.act.bias (1) (PolyReLU coefficients)
 *   lnf.weight (C) ...       lm_head (V,C)          (only when not tied)
 * Linear weights have PyTorch's (out, in) layout; biases exist only with config.bias.
 * Norm parameters by kind: layernorm weight + bias (C); rmsnorm weight (C); powernorm
 * weight + bias (C) plus the non-trainable buffers running_phi and ema_gz (C) and an
 * iteration count (P012); polynorm weight (3) + bias (1) (P044: RMS-normalised powers
 * x^3, x^2, x, no per-channel gain); batchnorm weight + bias (C) plus the buffers
 * running_var and running_mean (C) and an iteration count.
 *
 * Initialisation (reproducible from a seed, the same on any thread count): weights and
 * embeddings N(0, init_std^2) drawn from Philox stream (seed, group index) (apx_params_fill
 * _normal); the residual projections attn.wo and mlp.w2 N(0, (init_std / sqrt(2 n_layer))^2)
 * as GPT-2; biases 0; norm gains 1; PolyReLU/PolyNorm coefficients 1/3 and bias 0 (the
 * official values); PowerNorm running_phi 1, ema_gz 0.
 *
 * Errors: apx_status with a message naming the function, the argument and the values.
 * Threads: a model is used by one thread at a time (kernels are OpenMP-parallel inside).
 */
#ifndef APX_NN_H
#define APX_NN_H

#include <stdint.h>

#include "apx/ad.h"
#include "apx/core.h"
#include "apx/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- kinds */

typedef enum {
    APX_NN_LAYERNORM = 0, /* (x - mean) / sqrt(var + eps) * weight + bias (PyTorch)        */
    APX_NN_RMSNORM = 1,   /* x / sqrt(mean(x^2) + eps) * weight                            */
    APX_NN_POWERNORM = 2, /* P012 (apx_ad_powernorm): TRAIN mode in training, EVAL after   */
    APX_NN_POLYNORM = 3,  /* P044 (apx_ad_polynorm), r = 3, eps = norm_eps                  */
    APX_NN_BATCHNORM = 4, /* P012's baseline (apx_ad_batchnorm): batch statistics over batch
                             and time in training, running statistics after               */
    APX_NN_NORM_COUNT
} apx_nn_norm;

typedef enum {
    APX_NN_GELU = 0,     /* exact (erf) GELU, = torch nn.GELU()                              */
    APX_NN_RELU = 1,
    APX_NN_SILU = 2,
    APX_NN_POLYRELU = 3, /* P044: sum_j a_j relu(x)^(3-j) + b, learnable a (3), b (1)        */
    APX_NN_ACT_COUNT
} apx_nn_act;

/* Names ("layernorm", "rmsnorm", "powernorm", "polynorm"; "gelu", "relu", "silu",
 * "polyrelu"); NULL when out of range. */
const char *apx_nn_norm_name(apx_nn_norm k);
const char *apx_nn_act_name(apx_nn_act k);
/* And back. Errors: APX_EINVAL (NULL or unknown name; the message lists the names). */
apx_status apx_nn_norm_parse(const char *name, apx_nn_norm *out);
apx_status apx_nn_act_parse(const char *name, apx_nn_act *out);

/* ---------------------------------------------------------------- configuration */

typedef struct {
    int64_t n_layer;  /* blocks, >= 1 (4)                                                   */
    int64_t d_model;  /* C, >= 1 and divisible by n_head (128)                              */
    int64_t n_head;   /* H >= 1 (4)                                                         */
    int64_t context;  /* T, the longest sequence (128)                                      */
    int64_t vocab;    /* V (256: bytes)                                                     */
    int64_t d_ff;     /* F, the MLP width; 0 means 4 C (0)                                  */
    apx_nn_norm norm; /* APX_NN_LAYERNORM                                                   */
    apx_nn_act act;   /* APX_NN_GELU                                                        */
    float dropout;    /* 0 <= p < 1, after the attention and MLP projections (0)            */
    int tied;         /* 1: lm_head is wte (1)                                              */
    int bias;         /* 1: Linear layers have biases (1)                                   */
    float norm_eps;   /* > 0 (1e-5)                                                         */
    float init_std;   /* >= 0 (0.02)                                                        */
} apx_gpt_config;
apx_gpt_config apx_gpt_config_default(void);
/* Check every field. Errors: APX_EINVAL naming the field and the value. Sizes are bounded
 * (d_model, d_ff, context, vocab <= 2^20, n_layer <= 1024, parameters <= 2^34). */
apx_status apx_gpt_config_check(const apx_gpt_config *c);
/* The number of trainable floats of the configuration (0 when it is invalid). */
int64_t apx_gpt_config_param_count(const apx_gpt_config *c);
/* Compare two configurations. Returns 1 when equal; else 0 and, when msg is not NULL,
 * writes "n_layer 4 vs 6, d_model ..." (every field that differs) to msg[0..n). */
int apx_gpt_config_equal(const apx_gpt_config *a, const apx_gpt_config *b, char *msg,
                         size_t n);

/* ---------------------------------------------------------------- model */

typedef struct apx_gpt apx_gpt; /* opaque: configuration, parameter table, buffers */

/* Create a model and initialise it from `seed` (see the top of this file).
 * Errors: APX_EINVAL (NULL, bad configuration), APX_ENOMEM. */
apx_status apx_gpt_create(const apx_gpt_config *cfg, uint64_t seed, apx_gpt **out);
void apx_gpt_free(apx_gpt *m); /* NULL is ignored */
/* Re-initialise every parameter and buffer from `seed`. Errors: APX_EINVAL. */
apx_status apx_gpt_init(apx_gpt *m, uint64_t seed);

const apx_gpt_config *apx_gpt_get_config(const apx_gpt *m);
/* The parameter table (owned by the model; finalized). */
apx_params *apx_gpt_params(apx_gpt *m);

/* Non-trainable state that a checkpoint must keep (PowerNorm's running_phi, ema_gz and
 * iteration count, one entry each per PowerNorm layer, named "h.0.ln1.running_phi",
 * "h.0.ln1.ema_gz", "h.0.ln1.iters", ...; the count is stored as one float, exact up to
 * 2^24). apx_gpt_buffer_get returns the live, current values; to restore them use
 * apx_gpt_restore. Other norms have none (count 0). */
typedef struct {
    const char *name; /* owned by the model */
    int64_t size;
    float *data;
} apx_gpt_buffer;
int64_t apx_gpt_buffer_count(const apx_gpt *m);
/* Errors: APX_EINVAL (NULL, index out of range). */
apx_status apx_gpt_buffer_get(apx_gpt *m, int64_t i, apx_gpt_buffer *out);

/* ---------------------------------------------------------------- forward */

typedef struct {
    int training;            /* 1: dropout on, PowerNorm in TRAIN mode (updates its state);
                                0 (default): no dropout, PowerNorm in EVAL mode           */
    uint64_t dropout_seed;   /* Philox key of the dropout masks (0)                       */
    uint64_t dropout_stream; /* first stream; layer i uses stream + 2i and + 2i + 1 (0)   */
    int last_only;           /* 1: logits of the last position only, (B,1,V) (0)          */
    int record_stats;        /* 1: remember each linear layer's input and output tensors, so
                                that after the backward apx_gpt_stats_accumulate can read
                                them (valid until the graph is reset) (0)                 */
} apx_gpt_forward_opts;
apx_gpt_forward_opts apx_gpt_forward_opts_default(void);

/* Build the model on ids (B,T) (row-major int32 bytes in [0, vocab), 1 <= T <= context) in
 * graph g (the caller resets it and runs the backward): *logits gets (B,T,V) (or (B,1,V)
 * with last_only), and when targets (B,T) is not NULL and loss is not NULL, *loss the mean
 * cross-entropy (a scalar; targets < 0 are ignored). logits may be NULL when only the loss
 * is wanted. With recording on (apx_graph_set_grad), apx_ad_backward(g, loss) adds the
 * gradients to the parameter table's gradient buffer. Errors: APX_EINVAL (NULL, an id or
 * target out of range, T > context, last_only with a loss), APX_ENOMEM, and the ops'
 * errors. */
apx_status apx_gpt_forward(apx_gpt *m, apx_graph *g, const int32_t *ids, const int32_t *targets,
                           int64_t B, int64_t T, const apx_gpt_forward_opts *opts,
                           apx_tensor **logits, apx_tensor **loss);

/* ---------------------------------------------------------------- linear-layer statistics
 * For optimizers that precondition with per-layer statistics (MKOR, apx_optim_set_layer_
 * stats). The model's linear layers, in order: for each block h.<i> attn.wqkv, attn.wo,
 * mlp.w1, mlp.w2, then the head (lm_head, or wte when tied): 4 n_layer + 1 of them. For
 * each, the model keeps two accumulators: a (in) += scale * the mean over the rows (tokens)
 * of the layer's input, and g (out) += scale * the sum over the rows of its output gradient
 * (for the mean loss over R rows: the mean over rows of the per-row loss gradient). Use:
 * apx_gpt_stats_zero, then for each micro-batch a forward with record_stats = 1, the
 * backward, and apx_gpt_stats_accumulate(m, 1 / micro-batches). */
typedef struct {
    int64_t group;  /* the weight's parameter group (out, in)                        */
    int64_t in, out;
    const float *a; /* (in), owned by the model                                      */
    const float *g; /* (out), owned by the model                                     */
} apx_gpt_linear_stat;
int64_t apx_gpt_linear_count(const apx_gpt *m); /* 4 n_layer + 1; 0 for NULL */
void apx_gpt_stats_zero(apx_gpt *m);             /* NULL is ignored */
/* Add the recorded layers' statistics times scale (finite). Errors: APX_EINVAL (NULL, no
 * forward with record_stats since the last accumulate, a layer the backward did not
 * reach), APX_ENUMERIC (a NaN/Inf mean). */
apx_status apx_gpt_stats_accumulate(apx_gpt *m, double scale);
/* Linear layer i. Errors: APX_EINVAL (NULL, i out of range). */
apx_status apx_gpt_linear_stat_get(const apx_gpt *m, int64_t i, apx_gpt_linear_stat *out);

/* ---------------------------------------------------------------- files
 * A model file is a safetensors file (apx/io.h): one F32 tensor per parameter group and per
 * buffer, under their names, and the configuration in the metadata ("apx.gpt.n_layer" =
 * "4", "apx.gpt.norm" = "layernorm", ...). Checkpoints (apx/train.h) add the optimizer
 * state and the training position to the same file. */

/* Write the model, plus n_extra more tensors (names distinct from the model's) and n_meta
 * metadata pairs (keys not starting with "apx.gpt."), atomically (temp file, fsync,
 * rename). Errors: APX_EINVAL (NULL, duplicate names), APX_EIO, APX_ENOMEM. */
apx_status apx_gpt_save(apx_gpt *m, const char *path, int n_extra,
                        const char *const *extra_names, const apx_array *extra, int n_meta,
                        const char *const *meta_keys, const char *const *meta_values);
/* The configuration in the metadata of a loaded file (`path` names it in messages).
 * Errors: APX_EFORMAT ("<path>: not an apx model: no apx.gpt.n_layer", an unparsable or
 * invalid value). */
apx_status apx_gpt_config_from_file(const apx_safetensors *st, const char *path,
                                    apx_gpt_config *out);
/* Copy the parameters and buffers of a loaded file into m. The file's configuration must
 * equal m's: else APX_EINVAL "<path>: checkpoint of another configuration: n_layer 4 vs
 * 6, ...". A missing tensor or one of another shape or dtype is APX_EFORMAT naming the
 * file and the tensor; NaN/Inf values are APX_EFORMAT too. On error m is unchanged. */
apx_status apx_gpt_restore(apx_gpt *m, const apx_safetensors *st, const char *path);
/* Read a model file (or a checkpoint) into a new model. `path` may be a run folder: then
 * its model.safetensors is read, or its checkpoint.safetensors when there is no model yet.
 * Errors: APX_EIO (cannot open),
 * APX_EFORMAT (malformed or truncated file, not an apx model), APX_ENOMEM. */
apx_status apx_gpt_load(const char *path, apx_gpt **out);

#ifdef __cplusplus
}
#endif
#endif /* APX_NN_H */
