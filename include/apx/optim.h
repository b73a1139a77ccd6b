/* apx/optim.h: training optimizers over the autodiff engine's parameter table, and
 * learning-rate schedules.
 *
 * Kinds. Every optimizer is a *kind* in one table ("sgd", "adamw", "lion", ...): a name, a
 * help line, a list of settings (name, default, valid range, help text) and, privately, its
 * create/step/state functions. apx_optim_kind_count/_kind_at enumerate the table (the CLI's
 * `apx optim --list` prints it); nothing else switches on the kind.
 *
 * Settings. apx_optim_settings holds a kind and one double per setting of that kind (in the
 * order of the kind's table). Fill it with apx_optim_settings_init (the defaults), then
 * change values by name (apx_optim_settings_set) or from "key=value" strings
 * (apx_optim_settings_parse, as the CLI's `--opt-set beta1=0.95` passes them). Every value
 * is checked against the setting's range when set: a negative learning rate or a beta
 * outside [0,1) is APX_EINVAL with a message naming the kind, the setting and the value.
 *
 * Optimizer. apx_optim_create(params, settings) binds an optimizer to a finalized
 * apx_params table (apx/ad.h) and allocates its state (zero-filled, as PyTorch starts it).
 * apx_optim_step(opt, lr) then updates the parameter buffer from the gradient buffer, in
 * place, with learning rate lr (the caller applies the schedule: lr = apx_sched_lr(...)).
 * The table must outlive the optimizer. The element-wise kinds update the whole buffer in
 * one fused OpenMP pass; matrix-aware kinds read the shapes of the groups.
 *
 * State. The optimizer's state is a list of named arrays (apx_optim_state_count/_get): one
 * array per (state buffer, parameter group), with the group's shape, named
 * "optim.<kind>.<buffer>.<group name>" (e.g. "optim.adamw.exp_avg.fc1.weight"), plus
 * "optim.<kind>.step" (I64, shape (1)) and any kind-specific arrays. Checkpoints write them
 * next to the parameters (apx_optim_state_save writes a safetensors file, or pass the arrays
 * to apx_safetensors_write yourself) and apx_optim_state_load restores them: a state of
 * another kind is APX_EINVAL, of other shapes APX_ESHAPE, with a message.
 *
 * Errors: APX_EINVAL (NULL, unknown kind or setting, value out of range, a kind's
 * requirement unmet, e.g. Muon on a parameter without a matrix shape), APX_ENOMEM,
 * APX_ENUMERIC (a non-finite gradient met by a step: see apx_optim_step).
 * Threads: an optimizer is used by one thread at a time; kernels are OpenMP-parallel and
 * their results do not depend on the thread count.
 */
#ifndef APX_OPTIM_H
#define APX_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "apx/ad.h"
#include "apx/core.h"
#include "apx/io.h"
#include "apx/la.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- kinds and settings */

#define APX_OPTIM_MAX_SETTINGS 24

/* Flags of a setting. */
enum {
    APX_OPTIM_SET_INT = 1,      /* an integer value                                      */
    APX_OPTIM_SET_BOOL = 2,     /* 0 or 1 (parsed from 0/1/true/false/yes/no/on/off)     */
    APX_OPTIM_SET_MIN_OPEN = 4, /* the range excludes its minimum (value > min)          */
    APX_OPTIM_SET_MAX_OPEN = 8  /* the range excludes its maximum (value < max)          */
};

/* One setting of a kind: valid values are min <= v <= max (open ends per flags). */
typedef struct {
    const char *name; /* "beta1"                                       */
    double def;       /* default value                                 */
    double min, max;  /* range (+-HUGE_VAL for none)                   */
    unsigned flags;   /* APX_OPTIM_SET_*                               */
    const char *help; /* one line                                      */
} apx_optim_setting;

/* Flags of a kind. */
enum {
    APX_OPTIM_ELEMENTWISE = 1, /* one fused pass over the flat buffers                   */
    APX_OPTIM_MATRIX = 2,      /* reads group shapes (matrix-aware)                        */
    APX_OPTIM_HESSIAN = 4,     /* its step takes a Hessian-diagonal estimate              */
    APX_OPTIM_LOSS = 8,        /* its step uses the loss value (apx_optim_set_loss)       */
    APX_OPTIM_STATS = 16,      /* its step uses per-layer statistics (apx_optim_set_layer_stats) */
    APX_OPTIM_BATCH = 32       /* the training loop adapts its batch size (AdAdaGrad's norm
                                  test on micro-batch gradients; settings "eta" and
                                  "max_accum", see apx/train.h)                            */
};

/* Public description of a kind (the table's entries are static). */
typedef struct {
    const char *name;                    /* "adamw"                                     */
    const char *help;                    /* one line, with the paper id where there is one */
    unsigned flags;                      /* APX_OPTIM_ELEMENTWISE | ...                  */
    int n_settings;
    const apx_optim_setting *settings;   /* n_settings entries                          */
} apx_optim_kind;

/* Number of kinds, and kind i (NULL when out of range). */
int apx_optim_kind_count(void);
const apx_optim_kind *apx_optim_kind_at(int i);
/* The kind called `name`. Errors: APX_EINVAL (NULL or unknown name; the message lists the
 * kinds). */
apx_status apx_optim_kind_find(const char *name, const apx_optim_kind **out);

/* A kind and the value of each of its settings (v[i] for kind->settings[i]). */
typedef struct {
    const apx_optim_kind *kind;
    double v[APX_OPTIM_MAX_SETTINGS];
} apx_optim_settings;

/* The defaults of kind `name`. Errors: APX_EINVAL (NULL, unknown kind). */
apx_status apx_optim_settings_init(const char *kind, apx_optim_settings *s);
/* Set setting `key` to `value`, checked against its range (and integrality). Errors:
 * APX_EINVAL (unknown key: the message lists the kind's settings; out of range; NaN). */
apx_status apx_optim_settings_set(apx_optim_settings *s, const char *key, double value);
/* The value of setting `key`. Errors: APX_EINVAL (unknown key). */
apx_status apx_optim_settings_get(const apx_optim_settings *s, const char *key, double *value);
/* Set from text: key and value strings ("beta1", "0.95"; booleans also true/false). */
apx_status apx_optim_settings_set_str(apx_optim_settings *s, const char *key,
                                      const char *value);
/* Set from "key=value" (spaces around either are ignored). Errors: APX_EINVAL (no '=',
 * an unparsable number, and as apx_optim_settings_set). */
apx_status apx_optim_settings_parse(apx_optim_settings *s, const char *key_value);
/* Check every value (a settings struct filled by hand). Errors: APX_EINVAL. */
apx_status apx_optim_settings_check(const apx_optim_settings *s);

/* ---------------------------------------------------------------- optimizers */

typedef struct apx_optim apx_optim; /* opaque */

/* Create an optimizer of s->kind over the finalized table p (NULL settings is an error:
 * the kind is needed). The state starts at zero (step 0). Kind requirements are checked
 * here: Muon needs every group it updates to be a matrix (ndim >= 2). Errors: APX_EINVAL
 * (NULL, table not finalized, settings invalid, requirement unmet), APX_ENOMEM. */
apx_status apx_optim_create(apx_params *p, const apx_optim_settings *s, apx_optim **out);
/* Create from a kind name and n "key=value" strings (NULL when n == 0): what the CLI's
 * `--optimizer KIND --opt-set k=v ...` calls. Errors as above. */
apx_status apx_optim_create_str(apx_params *p, const char *kind, int n,
                                const char *const *key_values, apx_optim **out);
void apx_optim_free(apx_optim *o); /* NULL is ignored */

const apx_optim_kind *apx_optim_get_kind(const apx_optim *o);
/* The settings the optimizer was created with (its "lr" is the base learning rate). */
const apx_optim_settings *apx_optim_get_settings(const apx_optim *o);
/* The "lr" setting (the peak of a schedule); 0 for NULL. */
double apx_optim_base_lr(const apx_optim *o);
/* Number of steps taken (restored by apx_optim_state_load). */
int64_t apx_optim_steps(const apx_optim *o);

/* Per-group multipliers (default 1): the step uses lr * lr_scale for group `index` and
 * weight_decay * wd_scale (e.g. 0 to exempt biases and norms from decay; muP's per-layer
 * learning rates, apx_mup_lr_scales). Errors: APX_EINVAL (bad index, negative or non-finite
 * scale). */
apx_status apx_optim_set_group_scale(apx_optim *o, int64_t index, double lr_scale,
                                     double wd_scale);

/* One step: params -= update(grads, state) with learning rate lr (finite, >= 0), then
 * step count += 1. The gradient buffer is read, never written. A kind with
 * APX_OPTIM_HESSIAN takes its estimate through apx_optim_step_hess (this call then keeps the
 * previous estimate). Errors: APX_EINVAL (NULL, bad lr), APX_ENUMERIC when the gradient
 * holds NaN or Inf: the check is fused into the update pass (no extra memory traffic), so
 * the step has then already been applied and the parameters are no longer usable; the
 * message names the first bad group. */
apx_status apx_optim_step(apx_optim *o, double lr);
/* As apx_optim_step, with a fresh Hessian-diagonal estimate hdiag (apx_params_size
 * floats, finite; NULL: keep the previous estimate) for kinds with APX_OPTIM_HESSIAN.
 * Errors: as apx_optim_step, and APX_EINVAL for a non-NULL hdiag to a kind without
 * APX_OPTIM_HESSIAN or with NaN/Inf. */
apx_status apx_optim_step_hess(apx_optim *o, double lr, const float *hdiag);

/* Give the step the current loss value (finite, > 0 where the kind divides by it), for
 * kinds with APX_OPTIM_LOSS (Normalized LR+GD); other kinds ignore it. Used by the next
 * step only. Errors: APX_EINVAL (NULL, non-finite). */
apx_status apx_optim_set_loss(apx_optim *o, double loss);

/* Give the next step the statistics of the linear layer whose weight is group `group`
 * (a matrix (out, in); groups of more dims are viewed as (shape[0], rest)), for kinds with
 * APX_OPTIM_STATS (MKOR): a (in) the mean over the batch's rows (tokens) of the layer's
 * input, g (out) the mean over the rows of the gradient of the per-row loss with respect
 * to the layer's output (for a loss that is the mean over R rows: R times the mean of the
 * output gradient, i.e. its sum over the rows). The values are copied; a kind uses them at
 * its next statistics refresh and then forgets them; groups given none keep their
 * factors. Other kinds: APX_EINVAL. Errors: APX_EINVAL (NULL, group out of range or not a
 * matrix, n_in or n_out not the group's in / out, NaN/Inf). */
apx_status apx_optim_set_layer_stats(apx_optim *o, int64_t group, const float *a, int64_t n_in,
                                     const float *g, int64_t n_out);

/* ---------------------------------------------------------------- Sophia's estimators
 * (P076; the optimizer is the kind "sophia": pass the estimate to apx_optim_step_hess on the
 * steps that refresh it, e.g. every 10th). */

/* Sophia-H: the Hutchinson estimate hdiag = u . (H u) of diag(H) at the current parameters,
 * u ~ N(0, I) from Philox stream (seed, stream) (apx_rng_fill_normal_f), H u by apx_ad_hvp
 * (opts may be NULL). hdiag: apx_params_size(p) floats. E[u . Hu] = diag(H). Errors: as
 * apx_ad_hvp, APX_ENOMEM. */
apx_status apx_sophia_hutchinson(apx_graph *g, apx_params *p, apx_ad_loss_fn f, void *ctx,
                                 uint64_t seed, uint64_t stream, const apx_hvp_opts *opts,
                                 float *hdiag);
/* Sophia-G: the Gauss-Newton-Bartlett estimate hdiag = batch * ghat . ghat, ghat (n) the
 * mini-batch mean gradient of the loss on labels sampled from the model's own predictions
 * (apx_sample_labels). Errors: APX_EINVAL (NULL, n or batch < 1). */
apx_status apx_sophia_gnb(const float *grad_sampled, int64_t n, int64_t batch, float *hdiag);
/* Labels drawn from softmax(logits[r, :]) for each row r of logits (rows, V): row r uses
 * block r of Philox stream (seed, stream), so the draw does not depend on threads. Errors:
 * APX_EINVAL (NULL, sizes, NaN/Inf logits). */
apx_status apx_sample_labels(const float *logits, int64_t rows, int64_t V, uint64_t seed,
                             uint64_t stream, int32_t *labels);

/* ---------------------------------------------------------------- state */

/* One named state array. `data` is the live state: read it to save, write it to restore. */
typedef struct {
    const char *name;                /* owned by the optimizer                           */
    apx_dtype dtype;                 /* APX_DT_F32 (buffers), APX_DT_F64 or APX_DT_I64   */
    int ndim;                        /* 1..4                                             */
    int64_t shape[APX_AD_MAX_DIMS];  /* unused entries are 1                             */
    int64_t size;                    /* number of elements                               */
    void *data;
} apx_optim_state;

int64_t apx_optim_state_count(const apx_optim *o); /* 0 for NULL */
/* Describe state array i. Errors: APX_EINVAL (NULL, index out of range). */
apx_status apx_optim_state_get(const apx_optim *o, int64_t i, apx_optim_state *out);
/* Write every state array to a safetensors file (atomically), with metadata
 * "optim.kind" = the kind's name and one "optim.setting.<name>" per setting. */
apx_status apx_optim_state_save(const apx_optim *o, const char *path);
/* Restore every state array from `st` (e.g. a checkpoint read by apx_safetensors_read,
 * which may hold other tensors too). Names are matched exactly. Errors: APX_EINVAL (a
 * state of another kind: the message names both kinds; a missing array), APX_ESHAPE (an
 * array of another shape or dtype). On error the optimizer is unchanged. */
apx_status apx_optim_state_load(apx_optim *o, const apx_safetensors *st);

/* ---------------------------------------------------------------- muP (P063)
 * The maximal-update parametrization: how the initialization and the learning rate of each
 * weight scale with the width n of a network, so that hyper-parameters tuned on a narrow
 * base model (width n0) transfer. m = n / n0 is the width multiplier. Relative to the
 * standard parametrization at the base width (init std 1/sqrt(fan_in), one lr):
 *
 *   role      init std           SGD lr multiplier   Adam lr multiplier
 *   input     1/sqrt(fan_in)     m                   1
 *   hidden    1/sqrt(fan_in)     1                   1/m
 *   output    1/sqrt(m fan_in)   1/m                 1/m
 *   vector    (biases, gains)    m                   1
 *
 * (Yang & Hu, Tensor Programs IV, SGD: a = -1/2, 0, +1/2 for input, hidden, output with
 * b = 1/2, c = 0, so the output weights have variance 1/n^2 = 1/(m n0 fan_in) for fan_in = n;
 * the Adam column is Tensor Programs V's table.) "input" weights map the
 * fixed-size input to the width, "output" weights map the width to a fixed-size output,
 * "hidden" ones map width to width. */
typedef enum {
    APX_MUP_INPUT = 0,
    APX_MUP_HIDDEN = 1,
    APX_MUP_OUTPUT = 2,
    APX_MUP_VECTOR = 3
} apx_mup_role;
typedef enum { APX_MUP_SGD = 0, APX_MUP_ADAM = 1 } apx_mup_rule;
typedef struct {
    double init_std; /* standard deviation to initialize the weight with               */
    double lr_mult;  /* multiplier of the base learning rate (apx_optim_set_group_scale) */
} apx_mup_scale;
/* The muP scales of a weight of `role` with fan_in inputs at width multiplier width_mult
 * (> 0). Errors: APX_EINVAL (role or rule out of range, width_mult <= 0 or not finite,
 * fan_in < 1). */
apx_status apx_mup_scales(apx_mup_role role, apx_mup_rule rule, double width_mult,
                          int64_t fan_in, apx_mup_scale *out);
/* Set the learning-rate scale of every group of o from roles[0..groups) (one per group of
 * its table) for the rule and width multiplier; the weight-decay scales are left as they
 * are. Errors: as apx_mup_scales, APX_EINVAL for NULL. */
apx_status apx_mup_apply(apx_optim *o, const apx_mup_role *roles, apx_mup_rule rule,
                         double width_mult);

/* ---------------------------------------------------------------- schedules */

typedef enum {
    APX_SCHED_CONSTANT = 0, /* lr (after the warm-up)                                      */
    APX_SCHED_COSINE = 1,   /* warm-up, then min_lr + (lr-min_lr)(1+cos(pi t))/2           */
    APX_SCHED_LINEAR = 2,   /* warm-up, then lr + (min_lr - lr) t                          */
    APX_SCHED_TABLE = 3,    /* lr * table[min(step, table_len - 1)] (no warm-up): a schedule
                               computed elsewhere, e.g. by apx_sched_refine                */
    APX_SCHED_COUNT
} apx_sched_kind;

/* t = (step - warmup_steps) / (total_steps - warmup_steps) clamped to [0,1]. During the
 * warm-up (step < warmup_steps) lr_step = lr * (step + 1) / warmup_steps for every kind. */
typedef struct {
    apx_sched_kind kind;  /* APX_SCHED_COSINE                                         */
    double lr;            /* peak learning rate, >= 0 (1e-3)                          */
    double min_lr;        /* final learning rate, 0 <= min_lr <= lr (0)               */
    int64_t warmup_steps; /* >= 0 (0)                                                 */
    int64_t total_steps;  /* > warmup_steps for cosine and linear (1000)              */
    const double *table;  /* APX_SCHED_TABLE: table_len >= 1 finite multipliers >= 0,
                             owned by the caller (NULL)                              */
    int64_t table_len;    /* (0)                                                      */
} apx_sched;
apx_sched apx_sched_default(void);
/* Name of a kind ("constant", "cosine", "linear", "table"), NULL when out of range; and
 * back. */
const char *apx_sched_kind_name(apx_sched_kind k);
apx_status apx_sched_kind_parse(const char *name, apx_sched_kind *out);
/* Check a schedule. Errors: APX_EINVAL naming the field and the value. */
apx_status apx_sched_check(const apx_sched *s);
/* Learning rate at 0-based `step` (>= 0; steps past total_steps give min_lr).
 * Errors: APX_EINVAL (NULL, bad schedule, negative step). */
apx_status apx_sched_lr(const apx_sched *s, int64_t step, double *lr);

/* Schedule refinement (P069, Defazio et al., "When, why and how much?"): from the gradient
 * norms g[0..T) recorded in a previous run with the same budget, the multipliers
 *   w_t = h_t^(-power) * sum_{p > t} h_p^(-power),  out[t] = w_t / max_s w_s,
 * where h is g median-filtered over a centered window of max(1, round(tau T)) steps (tau in
 * [0, 1]; 0 = no filter). power = 2 for SGD-type methods with l2 norms, 1 for Adam-type
 * methods with l1 norms. Constant norms give linear decay to 0 at step T - 1; rising norms
 * give a warm-up and falling ones a fast final annealing. Use the result as an
 * APX_SCHED_TABLE. out: T doubles. Errors: APX_EINVAL (NULL, T < 2, a norm not finite or
 * <= 0, tau outside [0, 1], power not 1 or 2), APX_ENOMEM. */
apx_status apx_sched_refine(const double *grad_norms, int64_t T, double tau, int power,
                            double *out);

/* ---------------------------------------------------------------- adaptive batch sizes
 * AdAdaGrad (P061): tests on the per-sample gradients of a mini-batch that say how large the
 * next batch must be for the mini-batch gradient to be a good enough descent direction; use
 * with adagrad or adagrad-norm (the batch never shrinks). With gbar the batch mean and
 * Var the sample variance (n - 1 denominator):
 *   NORM:      b' = sum_j Var(g_ij) / (eta^2 |gbar|^2)
 *   INNER:     b' = Var_i(<g_i, gbar>) / (theta^2 |gbar|^4)
 *   AUGMENTED: b' = max(INNER, sum_j Var(o_ij) / (nu^2 |gbar|^2)), o_i = g_i - <g_i, gbar>
 *              gbar / |gbar|^2 (the part orthogonal to gbar)
 * and the next batch is min(max_batch, max(b, ceil(b'))). */
typedef enum {
    APX_BATCH_NORM = 0,
    APX_BATCH_INNER = 1,
    APX_BATCH_AUGMENTED = 2
} apx_batch_test;
typedef struct {
    apx_batch_test test; /* APX_BATCH_NORM                                               */
    double eta;          /* norm test, in (0, 1) (0.1)                                    */
    double theta, nu;    /* inner-product and orthogonality tests, > 0 (0.1, 0.5)          */
    int64_t max_batch;   /* cap on the result (0: none)                                   */
} apx_batch_test_opts;
apx_batch_test_opts apx_batch_test_opts_default(void);
typedef struct {
    int64_t next_batch;  /* the batch size for the next step                              */
    double grad_norm_sq; /* |gbar|^2                                                      */
    double variance;     /* the test's variance (sum over coordinates, or of the inner products) */
    double ortho_variance; /* AUGMENTED: the orthogonal part's                            */
} apx_batch_test_info;
/* G: b per-sample gradients of n floats each (row-major (b, n)), b >= 2. A zero mean
 * gradient asks for max_batch (or b * 2 when uncapped). Errors: APX_EINVAL (NULL, b < 2,
 * n < 1, NaN/Inf, options out of range), APX_ENOMEM. */
apx_status apx_batch_size_test(const float *G, int64_t b, int64_t n,
                               const apx_batch_test_opts *opts, apx_batch_test_info *info);

/* ---------------------------------------------------------------- M-FAC (P048)
 * Inverse-Hessian-vector products with the empirical Fisher of a window of m gradients,
 * F = lambda I + (1/m) sum_i g_i g_i^T (d, d), never formed: with the k <= m stored
 * gradients as rows of G and K = G G^T, F^-1 x = (x - G^T (m lambda I + K)^-1 G x) / lambda.
 * Push costs O(d k), an IHVP O(d k + k^2) after an O(k^3) factorization, one diagonal entry
 * of F^-1 O(k^2). Static use: push m gradients, then query; sliding window: keep pushing
 * (the oldest is replaced). The optimizer kind "mfac" uses it over the whole table. Before
 * the window is full the sum runs over the k gradients pushed, still divided by m. */
typedef struct apx_mfac apx_mfac;
/* Errors: APX_EINVAL (d < 1, m outside [1, 65536], lambda not finite or <= 0, d m > 1e10),
 * APX_ENOMEM. */
apx_status apx_mfac_create(int64_t d, int64_t m, double lambda, apx_mfac **out);
void apx_mfac_free(apx_mfac *f);
/* Add gradient g (d, finite), replacing the oldest when m are stored. */
apx_status apx_mfac_push(apx_mfac *f, const double *g);
/* y (d) = F^-1 x (d). Errors: APX_EINVAL (NULL), APX_ENUMERIC (not positive definite). */
apx_status apx_mfac_ihvp(apx_mfac *f, const double *x, double *y);
/* diag (d) = the diagonal of F^-1 (for OBS-style pruning scores w_i^2 / [F^-1]_ii). */
apx_status apx_mfac_diag(apx_mfac *f, double *diag);
int64_t apx_mfac_count(const apx_mfac *f); /* gradients stored */

/* ---------------------------------------------------------------- TrAct (P051)
 * First-layer training on the pre-activations: for a first layer Z = W X with inputs X
 * (b samples of `in` features, row-major (b, in)) and weight gradient dW (out, in), the
 * TrAct gradient is dW (X^T X / b + lambda I)^-1: the step W - lr dW_tract is the ridge
 * solution of min |W' X^T - (Z - lr b dZ)|^2 + lambda b |W' - W|^2 that moves the
 * pre-activations along their own gradient, so the step no longer scales with the square of
 * the input scale. dW_out may be dW. Errors: APX_EINVAL (NULL, sizes < 1, lambda <= 0 or
 * not finite, NaN/Inf), APX_ENOMEM, APX_ENUMERIC. */
apx_status apx_tract_grad(const float *dW, int64_t out, int64_t in, const float *X, int64_t b,
                          double lambda, float *dW_out);

/* ---------------------------------------------------------------- Step Law (P015)
 * Optimal learning rate and batch size against model and data size as power laws,
 *   lr* = a N^alpha D^beta,   B* = c N^gamma_n D^gamma_d,
 * N the non-embedding parameters, D the training tokens (B* in tokens). */
typedef struct {
    double a, alpha, beta;      /* learning-rate law                                     */
    double c, gamma_n, gamma_d; /* batch-size law                                        */
} apx_steplaw;
/* The published fit (Li et al. 2025): lr* = 1.79 N^-0.713 D^0.307, B* = 0.58 D^0.571 (as
 * the catalog quotes it; not checked against the authors' tables). */
apx_steplaw apx_steplaw_published(void);
/* lr and batch (either may be NULL) at N, D > 0. Errors: APX_EINVAL. */
apx_status apx_steplaw_predict(const apx_steplaw *law, double N, double D, double *lr,
                               double *batch);
/* Least squares in log space over count >= 3 runs (N[i], D[i], best lr[i], best batch[i]);
 * batch may be NULL (then the batch law is left 0). Errors: APX_EINVAL (NULL, count < 3,
 * a value not finite or <= 0, degenerate N and D), APX_ENOMEM. */
apx_status apx_steplaw_fit(const double *N, const double *D, const double *lr,
                           const double *batch, int64_t count, apx_steplaw *out);

/* ---------------------------------------------------------------- lr from the Hessian (P047)
 * The largest stable learning rate from the top of the (mini-batch) Hessian spectrum,
 * estimated by stochastic Lanczos quadrature: lr = c / lambda_max. Larger batches have a
 * smaller lambda_max (the batch Hessian's spectrum spreads less around the full one), hence
 * a larger stable rate. */
typedef struct {
    int probes;    /* SLQ probes (4)                                                      */
    int steps;     /* Lanczos steps per probe (30; capped at n)                          */
    uint64_t seed; /* probes from apx_la_slq (0)                                          */
    double c;      /* lr = c / lambda_max (2: the stability edge of gradient descent)     */
} apx_slq_lr_opts;
apx_slq_lr_opts apx_slq_lr_opts_default(void);
typedef struct {
    double lambda_max, lambda_min; /* extreme Ritz values over the probes               */
    double trace;                  /* n * mean of the probes' quadrature of f(x) = x     */
    double lr;                     /* c / lambda_max (0 if lambda_max <= 0)               */
} apx_slq_lr_info;
/* For a symmetric operator H (e.g. a Hessian through apx_hessian_op). Errors: as
 * apx_la_slq, APX_EINVAL for bad options, APX_ENOMEM. */
apx_status apx_lr_from_slq(apx_linop H, const apx_slq_lr_opts *opts, apx_slq_lr_info *info);

/* The Hessian of a loss at the current parameters as an apx_linop (double vectors, products
 * by apx_ad_hvp in float). Fill it with apx_hessian_op_init; it allocates two float buffers
 * of the table's size, freed by apx_hessian_op_free. g, p, f, ctx must outlive it. */
typedef struct {
    apx_graph *g;
    apx_params *p;
    apx_ad_loss_fn f;
    void *ctx;
    apx_hvp_opts opts;
    float *x, *y; /* private buffers */
} apx_hessian_op;
apx_status apx_hessian_op_init(apx_hessian_op *h, apx_graph *g, apx_params *p,
                               apx_ad_loss_fn f, void *ctx, const apx_hvp_opts *opts);
apx_linop apx_hessian_op_linop(apx_hessian_op *h);
void apx_hessian_op_free(apx_hessian_op *h);

#ifdef __cplusplus
}
#endif
#endif /* APX_OPTIM_H */
