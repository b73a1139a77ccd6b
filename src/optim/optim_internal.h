/* src/optim/optim_internal.h: private to src/optim. The kind table's private half (the
 * functions of each kind), the optimizer struct, and the helpers every kind uses: state
 * buffers, the element-wise driver and a vectorized square root. */
#ifndef APX_OPTIM_INTERNAL_H
#define APX_OPTIM_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "apx/optim.h"
#include "core/internal.h"

#include <string.h>

#define APX__OPTIM_MAX_BUFS 8
/* Floats per block of the element-wise driver: a block's scratch stays in L1. */
#define APX__OPTIM_BLOCK 2048

typedef struct apx__optim_impl apx__optim_impl;

/* A run of consecutive groups with the same per-group scales: the element-wise driver
 * makes one parallel pass per segment (one in all when no group has its own scale). */
typedef struct {
    int64_t off, len;
    float lr_scale, wd_scale;
} apx__optim_seg;

struct apx_optim {
    const apx__optim_impl *impl;
    apx_optim_settings set;
    apx_params *p;
    int64_t n;                    /* apx_params_size(p)                                  */
    int64_t ngroups;
    apx_param_info *groups;       /* ngroups                                             */
    double *lr_scale, *wd_scale;  /* ngroups, default 1                                  */
    apx__optim_seg *segs;         /* ngroups at most                                     */
    int64_t nsegs;
    int nbufs;
    float *buf[APX__OPTIM_MAX_BUFS]; /* n floats each, zero at creation                 */
    int64_t step;                 /* steps taken                                         */
    double loss;                  /* apx_optim_set_loss (NAN until set)                  */
    int has_loss;
    apx_optim_state *states;      /* registered state arrays (names apx_malloc'd)        */
    int64_t nstates, capstates;
    void *priv;                   /* kind-specific, freed by impl->destroy               */
};

/* The private half of a kind. Conventions: settings[0] is "lr" for every kind. */
struct apx__optim_impl {
    apx_optim_kind kind;
    /* Check settings beyond their ranges (combinations). NULL: none. */
    apx_status (*check)(const apx_optim_settings *s);
    /* Check the table against the kind's needs and allocate the state (apx__optim_add_buf,
     * apx__optim_add_state, o->priv). */
    apx_status (*init)(apx_optim *o);
    /* One step with learning rate lr (checked); hess is NULL or n finite floats. Sets *chk
     * to a value that is NaN iff a gradient entry was not finite. */
    apx_status (*step)(apx_optim *o, double lr, const float *hess, float *chk);
    /* Free o->priv (NULL: apx_free(o->priv)). */
    void (*destroy)(apx_optim *o);
    /* Kinds with APX_OPTIM_STATS: keep the layer statistics of group k (checked: a matrix
     * group, a (in) and g (out) finite). NULL for other kinds. */
    apx_status (*stats)(apx_optim *o, int64_t k, const float *a, const float *g);
};

extern const apx__optim_impl apx__optim_sgd;
extern const apx__optim_impl apx__optim_adamw;
extern const apx__optim_impl apx__optim_lion;
extern const apx__optim_impl apx__optim_adagrad;
extern const apx__optim_impl apx__optim_adagrad_norm;
extern const apx__optim_impl apx__optim_adadagrad;
extern const apx__optim_impl apx__optim_muon;
extern const apx__optim_impl apx__optim_sophia;
extern const apx__optim_impl apx__optim_nlrgd;
extern const apx__optim_impl apx__optim_galore;
extern const apx__optim_impl apx__optim_fira;
extern const apx__optim_impl apx__optim_mfac;
extern const apx__optim_impl apx__optim_mkor;
extern const apx__optim_impl apx__optim_gradnormlorp;

/* The kind table (kinds.c). */
int apx__optim_impl_count(void);
const apx__optim_impl *apx__optim_impl_at(int i);
/* The impl whose public half is k (NULL if k is not in the table). */
const apx__optim_impl *apx__optim_impl_of(const apx_optim_kind *k);

/* Muon's orthogonalization of U (rows, cols) into O (same shape), with the default quintic
 * and `steps` iterations (muon.c; for tests). */
apx_status apx__muon_newton_schulz(const double *U, int64_t rows, int64_t cols, int steps,
                                   double *O);

/* GaLore's projector of a matrix (m, n) (galore.c): r columns of U (m, r) when m < n
 * ("left", R = P^T G is (r, n)), else r rows of V^T (r, n) (R = G P^T is (m, r)). */
typedef struct {
    int left;
    int64_t m, n, r;
    float *P; /* (m, r) or (r, n), owned by the caller */
} apx__galore_proj;
/* Doubles of scratch that apx__galore_refresh needs for an (m, n) matrix. */
int64_t apx__galore_scratch(int64_t m, int64_t n);
/* P from the SVD of G (m, n) (signs fixed: each vector's largest entry positive). */
apx_status apx__galore_refresh(apx__galore_proj *pj, const double *G, double *scratch);
/* P as doubles in Pd ((m + n) r doubles), returned as a view. */
apx_dmat apx__galore_pview(const apx__galore_proj *pj, double *Pd);

/* Adam's moments in float on X (sz) (galore.c; for kinds whose settings 1, 2, 3 are beta1,
 * beta2, eps): m = b1 m + (1-b1) x, v = b2 v + (1-b2) x^2, N = m / (sqrt(v) + eps). */
void apx__adam_moments(const apx_optim *o, float *ma, float *va, const double *X, int64_t sz,
                       double *N);
/* The sum of (g - g) over the whole gradient buffer: NaN iff an entry is not finite (the
 * check of the kinds that do not run the element-wise driver). */
float apx__optim_grad_chk(const apx_optim *o);

/* The per-group loop of the Adam-type matrix kinds (galore.c; settings 1..4 are beta1,
 * beta2, eps, weight_decay): after the gradient check, fn(o, k, w, g, step, d) for each
 * group k with step = lr_k sqrt(1 - b2^t) / (1 - b1^t) and d = lr_k wd wd_scale_k. */
typedef apx_status (*apx__adam_group_fn)(apx_optim *o, int64_t k, float *w, const float *g,
                                         double step, double d);
apx_status apx__adam_group_loop(apx_optim *o, double lr, float *chk, apx__adam_group_fn fn);

/* GradNormLoRP's 8-bit blocks (gradnormlorp.c): x (n) -> codes (n) and one scale per block
 * of `block` values (the block's largest |x|); square-root companding,
 * x = scale (q / top)^2 with q = round(top sqrt(|x| / scale)), top 127 for signed values
 * (code 128 + q) and 255 for unsigned ones; a nonzero value keeps a nonzero code. */
void apx__q8_encode(const float *x, int64_t n, int64_t block, int sign, uint8_t *codes,
                    float *scales);
void apx__q8_decode(const uint8_t *codes, const float *scales, int64_t n, int64_t block,
                    int sign, float *x);

/* GradNormLoRP's chain rule (gradnormlorp.c): for W_i = g_i V_i / s_i (s_i = |V_i|, rows
 * of (m, n)) and G = dL/dW: dg_i = <G_i, V_i / s_i>, dV_i = g_i / s_i (G_i - V_i / s_i dg_i);
 * rows with s_i = 0 get zeros. */
void apx__wn_grads(const double *V, const double *s, const double *g, const double *G,
                   int64_t m, int64_t n, double *dV, double *dg);

/* MKOR's Sherman-Morrison EMA update of an inverse factor (mkor.c; for tests): with
 * M = Linv^-1, M' = gamma M + (1 - gamma) v v^T, so
 *   Linv' = (Linv - (1 - gamma) u u^T / (gamma + (1 - gamma) v^T u)) / gamma,  u = Linv v,
 * for a symmetric Linv (n, n) in place; u: n doubles of scratch. */
void apx__mkor_sm_update(double *Linv, int64_t n, const double *v, double gamma, double *u);

/* Setting value by index (the kind's own enum). */
static inline double apx__set(const apx_optim *o, int i) { return o->set.v[i]; }

/* Allocate one zero-filled buffer of n floats as o->buf[o->nbufs] and register one state
 * array per group, "optim.<kind>.<name>.<group>". *index gets its buffer index. */
apx_status apx__optim_add_buf(apx_optim *o, const char *name, int *index);
/* Register an extra state array "optim.<kind>.<name>" viewing `data` (owned by the kind). */
apx_status apx__optim_add_state(apx_optim *o, const char *name, apx_dtype dtype, int ndim,
                                const int64_t *shape, void *data);

/* Element-wise driver. fn updates elements [off, off+len) (len <= APX__OPTIM_BLOCK) with
 * the segment's scales and returns the sum of (g - g) over its gradients (0, or NaN when one
 * is not finite). The driver runs it over every block of every segment, OpenMP-parallel
 * over blocks (a block's result never depends on the thread count). */
typedef float (*apx__ew_block_fn)(apx_optim *o, const void *coef, int64_t off, int64_t len,
                                  float lr_scale, float wd_scale);
float apx__optim_ew_run(apx_optim *o, apx__ew_block_fn fn, const void *coef);

/* sqrt(x) for x >= 0 by plain arithmetic, so that it vectorizes inside `omp simd` loops
 * (sqrtf's errno branch keeps GCC from vectorizing it at -O2): the inverse square root from
 * the exponent-halving bit trick, three Newton steps, times x. Within 2.1e-7 relative of the
 * correctly rounded root for every normal float (tests/optim: optim_sqrt_nr_accuracy);
 * exactly 0 at 0; subnormal inputs lose accuracy (irrelevant where it is used: beside an
 * eps >= 1e-10 added to the root). */
static inline float apx__sqrtf_nr(float x) {
    uint32_t i;
    memcpy(&i, &x, sizeof i);
    i = 0x5f375a86u - (i >> 1);
    float y;
    memcpy(&y, &i, sizeof y);
    float hx = 0.5f * x;
    y = y * (1.5f - hx * y * y);
    y = y * (1.5f - hx * y * y);
    y = y * (1.5f - hx * y * y);
    return x * y;
}

/* Element-wise block kernels are compiled for AVX-512, AVX2 and the baseline and chosen at
 * load time (GCC function multiversioning), so the build stays portable (-O2, no -march)
 * while the kernels use the machine's vector width. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(APX_NO_CLONES)
#define APX__EW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define APX__EW_CLONES
#endif

#endif /* APX_OPTIM_INTERNAL_H */
