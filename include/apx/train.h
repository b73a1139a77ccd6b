/* apx/train.h: training, evaluating and sampling the byte-level GPT of apx/nn.h.
 *
 * Data. A corpus is a file of bytes (any text) split into a training part (the first
 * 1 - val_fraction of the bytes) and a validation part (the rest). A training micro-batch
 * is B windows of T + 1 bytes of the training part (inputs bytes [s, s+T), targets
 * [s+1, s+T]); its window starts are drawn from Philox stream (data key, position) (data
 * key = seed ^ 0xD1B54A32D192ED03, dropout key = seed ^ 0x9E3779B97F4A7C15), where
 * the position counts the micro-batches drawn so far: the data order is a pure function of
 * (seed, position), so a run resumed at position p sees exactly the batches it would have.
 * Validation tiles the part with windows of stride T (every byte but the first is predicted
 * once) and reports the mean loss in nats and bits per byte (= loss / ln 2: a token is a
 * byte).
 *
 * Training. apx_train runs `steps` optimizer steps (AdamW by default, through apx/optim.h)
 * with warm-up and cosine decay (apx_sched), gradient clipping by global norm (PyTorch's
 * clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1) and gradient
 * accumulation over `accum` micro-batches (the gradient is the mean of theirs). Weight decay
 * applies to the matrices (ndim >= 2: Linear weights and embeddings), not to biases, norm
 * parameters or PolyReLU coefficients. Every `eval_every` steps and at the end it measures
 * the validation loss. Any optimizer kind works: the options' lr, beta1, beta2 and
 * weight_decay set the kind's settings of those names (the others keep their defaults);
 * Muon takes AdamW steps for the vectors (adamw_others = 1); kinds with APX_OPTIM_LOSS get
 * the step's mean loss; kinds with APX_OPTIM_STATS (MKOR) get every linear layer's
 * statistics (apx_gpt_stats_accumulate over the micro-batches); kinds with
 * APX_OPTIM_HESSIAN (Sophia) get a Gauss-Newton-Bartlett estimate every 10 steps (from
 * step 0): on the step's first micro-batch, labels sampled from the model's logits (no
 * dropout; Philox key seed ^ 0x5851F42D4C957F2D, stream = step), hdiag = B T ghat^2 with
 * ghat the gradient of the mean loss on them (apx_sophia_gnb; the paper's Sophia-G);
 * GradNormLoRP keeps its reparameterization (W = g V/|V|) in its state.
 *
 * Files (when out_dir is set): DIR/checkpoint.safetensors (every ckpt_every steps, after
 * each evaluation and at the end: the parameters and buffers (apx_gpt_save), the optimizer
 * state (apx_optim_state_*), and in the metadata the training options, the step, the data
 * position, the random seeds, the corpus size and CRC-32 and the log's length), written
 * atomically (temp file, fsync, rename: a run killed at any moment leaves the previous
 * checkpoint intact; stale temp files are removed on resume); DIR/model.safetensors (the
 * final model); DIR/log.jsonl (one JSON object per line: {"step", "loss", "lr",
 * "grad_norm", "tokens_per_s", "elapsed"} every log_every steps and {"step", "val_loss",
 * "val_bpb"} at each evaluation); DIR/loss.svg (training and validation loss against the
 * step, rewritten at each evaluation); DIR/summary.json (the final figures).
 *
 * Resume. apx_train_resume(dir) restores everything from DIR/checkpoint.safetensors and
 * continues: the result is bit-identical to a run that was not interrupted (same build and
 * thread count), and log.jsonl is cut back to its length at the checkpoint.
 *
 * Adaptive batch sizes (AdAdaGrad, P061: an optimizer kind with APX_OPTIM_BATCH, e.g.
 * "adadagrad"). A step runs `accum` micro-batches (at least 2) and tests their gradients
 * g_j (j = 1..a, each the mean over B sequences) with the norm test: with gbar their mean
 * and V = sum_j |g_j - gbar|^2 / (a - 1), the next step uses
 * a' = min(max_accum, max(a, ceil(V / (eta^2 |gbar|^2)))) micro-batches, so the variance
 * of the step's gradient, V / a', stays below eta^2 |gbar|^2 (the batch never shrinks;
 * eta and max_accum are the kind's settings). The log lines record "batch" (sequences per
 * step) and checkpoints keep the current value, so a resumed run continues exactly.
 *
 * Errors: apx_status with a message naming the function or file and the problem
 * (APX_EIO: a missing file; APX_EFORMAT: an empty corpus, a corpus shorter than the context,
 * a truncated or malformed checkpoint; APX_EINVAL: bad options, a checkpoint of another
 * configuration; APX_ECANCELED: the progress callback stopped the run, after writing a
 * checkpoint). Threads: one thread drives a run; kernels use OpenMP inside.
 */
#ifndef APX_TRAIN_H
#define APX_TRAIN_H

#include <stdint.h>

#include "apx/core.h"
#include "apx/nn.h"
#include "apx/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- corpus */

typedef struct apx_corpus apx_corpus; /* opaque: the bytes and the split */

/* Read a file and split it. val_fraction in (0, 0.5]; both parts must hold at least
 * context + 1 bytes. Errors: APX_EIO ("corpus: cannot open 'x': No such file or
 * directory"), APX_EFORMAT ("corpus 'x' is empty", "corpus 'x': its validation part has
 * 12 bytes, fewer than context + 1 = 129"), APX_EINVAL, APX_ENOMEM. */
apx_status apx_corpus_load(const char *path, double val_fraction, int64_t context,
                           apx_corpus **out);
/* The same from bytes in memory (copied); `name` is used in messages. */
apx_status apx_corpus_from_bytes(const uint8_t *bytes, int64_t n, const char *name,
                                 double val_fraction, int64_t context, apx_corpus **out);
void apx_corpus_free(apx_corpus *c); /* NULL is ignored */

typedef struct {
    int64_t size, train_size, val_size; /* bytes                                   */
    uint32_t crc32;                     /* of all the bytes (zlib's CRC-32)          */
    const uint8_t *data;                /* size bytes, owned by the corpus            */
    const char *name;                   /* the path or name given                     */
} apx_corpus_info;
void apx_corpus_get_info(const apx_corpus *c, apx_corpus_info *out);

/* Training micro-batch number `position`: ids and targets (B,T) (int32, row-major).
 * Errors: APX_EINVAL (NULL, B < 1, T < 1, or the training part shorter than T + 1). */
apx_status apx_corpus_batch(const apx_corpus *c, uint64_t seed, int64_t position, int64_t B,
                            int64_t T, int32_t *ids, int32_t *targets);

/* ---------------------------------------------------------------- evaluation */

typedef struct {
    double loss;     /* mean cross-entropy in nats per byte                       */
    double bpb;      /* bits per byte: loss / ln 2                                 */
    int64_t tokens;  /* bytes predicted                                            */
    double seconds;
} apx_eval_result;

/* Mean loss of the model on bytes[0..n) (n >= 2): windows of up to context + 1 bytes with
 * stride context, `batch` windows per forward (>= 1), at most max_tokens predictions
 * (0: all). No dropout; PowerNorm in EVAL mode. Errors: APX_EINVAL, APX_ENOMEM,
 * APX_ECANCELED. */
apx_status apx_gpt_evaluate(apx_gpt *m, const uint8_t *bytes, int64_t n, int64_t batch,
                            int64_t max_tokens, const apx_progress *progress,
                            apx_eval_result *out);

/* ---------------------------------------------------------------- generation */

typedef struct {
    double temperature; /* > 0 (0.8); logits are divided by it                        */
    int64_t top_k;      /* keep the k most likely bytes (0: all) (40)                   */
    uint64_t seed;      /* sampling draws come from Philox stream (seed, position) (0) */
} apx_generate_opts;
apx_generate_opts apx_generate_opts_default(void);

/* Append n sampled bytes to prompt[0..n_prompt) (n_prompt >= 1; the model sees at most its
 * last `context` bytes). out gets the n new bytes. Same seed, same bytes. Errors:
 * APX_EINVAL (NULL, n_prompt < 1, n < 0, temperature <= 0, top_k < 0), APX_ENOMEM,
 * APX_ECANCELED. */
apx_status apx_gpt_generate(apx_gpt *m, const uint8_t *prompt, int64_t n_prompt, int64_t n,
                            const apx_generate_opts *opts, const apx_progress *progress,
                            uint8_t *out);

/* ---------------------------------------------------------------- training */

typedef struct {
    int64_t steps;          /* optimizer steps (1000)                                      */
    int64_t batch;          /* sequences per micro-batch (16)                              */
    int64_t accum;          /* micro-batches per step (1)                                  */
    double lr;              /* peak learning rate (1e-3)                                    */
    double min_lr;          /* final learning rate of the decay; < 0: lr / 10 (-1)          */
    int64_t warmup;         /* linear warm-up steps; < 0: steps / 20 (-1)                   */
    apx_sched_kind schedule;/* APX_SCHED_COSINE                                             */
    const char *optimizer;  /* kind name ("adamw")                                          */
    double weight_decay;    /* decoupled decay of the matrices (0.1)                        */
    double beta1, beta2;    /* (0.9, 0.95)                                                  */
    double grad_clip;       /* max global gradient norm; 0: off (1.0)                       */
    double val_fraction;    /* (0.1)                                                         */
    int64_t eval_every;     /* steps between evaluations; 0: only at the end (100)          */
    int64_t eval_tokens;    /* validation predictions per evaluation; 0: all (32768)       */
    int64_t ckpt_every;     /* steps between checkpoints besides evaluations; 0: none (0)   */
    int64_t log_every;      /* steps between log lines (10)                                 */
    int64_t stop_at;        /* > 0: stop after this step (a checkpoint is written), as if
                               killed there; the run can be resumed (0)                    */
    double time_budget;     /* > 0: seconds for the whole run: `steps` is set from the
                               measured speed after the first 6 steps, and again at 20,
                               40, 60 and 80% of the budget (0: off)                        */
    uint64_t seed;          /* data order and dropout (the model's init seed is separate) (0) */
    const char *out_dir;    /* folder for the files (created); NULL: no files (NULL)        */
    apx_progress progress;  /* fraction, "step 120/1000 loss 1.234 5600 tok/s 2m10s left" */
    char opt_settings[512]; /* more settings of the optimizer kind, "key=value" pairs
                               separated by commas ("inv_freq=5,stat_decay=0.9"), applied
                               after lr, betas and weight_decay; kept in checkpoints ("")  */
    int64_t max_tokens;     /* > 0: a token budget: the run ends after the step at which the
                               training tokens seen reach it (steps still sets the schedule:
                               for batch-growing optimizers, the only fixed-token stop) (0) */
} apx_train_opts;
apx_train_opts apx_train_opts_default(void);
/* Errors: APX_EINVAL naming the field and the value. */
apx_status apx_train_opts_check(const apx_train_opts *o);

typedef struct {
    int64_t steps;          /* steps done in total (after a resume: including earlier ones) */
    int64_t steps_planned;  /* the run's step count (time_budget may have set it)          */
    double train_loss;      /* mean loss of the last log_every steps                        */
    double val_loss, val_bpb; /* of the last evaluation                                    */
    double tokens_per_s;    /* mean training throughput of this call (evaluation excluded) */
    double seconds;         /* wall time of this call                                       */
    int64_t tokens;         /* training tokens seen in total                                */
    int stopped;            /* 1 when stop_at ended the run early                          */
    int budget_reached;     /* 1 when max_tokens ended the run before `steps`              */
} apx_train_result;

/* Train m (created by the caller, e.g. apx_gpt_create with an init seed) on corpus c.
 * The corpus's split must match o->val_fraction (load it with the same value). Errors:
 * APX_EINVAL, APX_EIO (out_dir), APX_ENOMEM, APX_ENUMERIC (a NaN/Inf loss), APX_ECANCELED. */
apx_status apx_train(apx_gpt *m, const apx_corpus *c, const apx_train_opts *o,
                     apx_train_result *res);

/* Continue the run whose checkpoint is DIR/checkpoint.safetensors, on corpus c (NULL: load
 * the path stored in the checkpoint). progress may be NULL. The model is created from the
 * checkpoint (*model gets it; the caller frees it; may be NULL). Errors: APX_EIO (no
 * checkpoint), APX_EFORMAT (a truncated or malformed one, naming the file), APX_EINVAL (a
 * corpus of another size or CRC than the checkpoint's), and as apx_train. */
apx_status apx_train_resume(const char *dir, const apx_corpus *c, const apx_progress *progress,
                            apx_gpt **model, apx_train_result *res);

/* The model configuration, training options and step stored in a checkpoint file; each
 * output may be NULL. o->optimizer points to the kind's static name and o->out_dir is NULL;
 * corpus_path gets the stored corpus path (up to n_path bytes). Errors: APX_EIO, APX_EFORMAT
 * ("checkpoint <path> is truncated or malformed (...)", or not a training checkpoint). */
apx_status apx_train_checkpoint_info(const char *path, apx_gpt_config *cfg, apx_train_opts *o,
                                     int64_t *step, char *corpus_path, size_t n_path);

/* ---------------------------------------------------------------- one step at a time */

typedef struct apx_trainer apx_trainer; /* opaque: the model, its optimizer and graph */

/* Bind an optimizer (o->optimizer with lr, betas, weight decay of o) to m. Used by
 * apx_train; also the building block to train on one's own batches. */
apx_status apx_trainer_create(apx_gpt *m, const apx_train_opts *o, apx_trainer **out);
void apx_trainer_free(apx_trainer *t);
apx_optim *apx_trainer_optim(apx_trainer *t);

typedef struct {
    double loss;      /* mean of the micro-batch losses                    */
    double grad_norm; /* global gradient norm before clipping              */
    double lr;        /* learning rate used                                 */
    int64_t next_accum; /* micro-batches the next step should use: accum, or for a kind
                           with APX_OPTIM_BATCH (AdAdaGrad) the norm test's answer        */
} apx_step_info;

/* One optimizer step at learning rate lr on `accum` micro-batches: ids and targets hold
 * accum * B rows of T tokens. The gradient is the mean of the micro-batches', clipped to
 * o->grad_clip; dropout masks come from (seed, dropout_index). Errors: as the forward,
 * APX_ENUMERIC for a NaN/Inf loss or gradient (the parameters are then unchanged). */
apx_status apx_trainer_step(apx_trainer *t, const int32_t *ids, const int32_t *targets,
                            int64_t accum, int64_t B, int64_t T, double lr,
                            uint64_t dropout_index, apx_step_info *info);

#ifdef __cplusplus
}
#endif
#endif /* APX_TRAIN_H */
