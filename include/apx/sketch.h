/* apx/sketch.h: random embeddings as reusable plans (Gaussian, Rademacher, SRHT over a fast
 * Walsh-Hadamard transform, CountSketch, sparse sign), leverage scores (exact and
 * approximate), Lewis weights and l_p row sampling. Double precision.
 *
 * A sketching plan is built once for a shape (s rows out, n rows in) and a seed, like an
 * FFTW plan, and applied to any number of matrices with n rows: apply(A (n,d)) = S A (s,d),
 * always with the same S. Every embedding has E[S^T S] = I, so ||S A x|| ~ ||A x||.
 *
 * Conventions (shared/DESIGN.md): row-major views, caller-owned outputs of the documented
 * shape (APX_ESHAPE otherwise), inputs never modified, NaN/Inf inputs are APX_EINVAL.
 * Randomized results depend only on the seed, never on the thread count.
 * Threads: OpenMP (over column chunks) and the BLAS, apx_set_threads(). A plan is read-only
 * once built: several threads may apply the same plan at once.
 */
#ifndef APX_SKETCH_H
#define APX_SKETCH_H

#include "apx/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ embeddings */

/* The kinds of embedding S (s,n). (la.h's apx_sketch_kind is the test-matrix choice of the
 * randomized SVD; this is the separate, richer set of plans.) */
typedef enum {
    APX_EMBED_GAUSSIAN = 0,    /* dense, i.i.d. N(0, 1/s) entries. Apply: O(s n d) (GEMM) */
    APX_EMBED_RADEMACHER = 1,  /* dense, i.i.d. +-1/sqrt(s). Apply: O(s n d) (GEMM) */
    APX_EMBED_SRHT = 2,        /* subsampled randomized Hadamard transform
                                  S = sqrt(1/s) P H D: D (n,n) random signs, A zero-padded to
                                  N = next power of two >= n rows, H the N x N Walsh-Hadamard
                                  matrix (+-1 entries, Sylvester order), P picks s of the N
                                  rows uniformly without replacement (s <= N).
                                  Apply: O(N d log N) */
    APX_EMBED_COUNTSKETCH = 3, /* one +-1 per column of S, at a uniform row. Apply: O(n d) */
    APX_EMBED_SPARSE_SIGN = 4, /* zeta = min(opts->nnz_per_col, s) entries +-1/sqrt(zeta) per
                                  column of S, at distinct uniform rows. Apply: O(zeta n d) */
    APX_EMBED_COUNT
} apx_embed_kind;

/* Name as the CLI and Python spell it ("gaussian", "rademacher", "srht", "countsketch",
 * "sparse-sign"); NULL when out of range. */
const char *apx_embed_name(apx_embed_kind kind);
/* Parse a name (also "sparse_sign", "count"); APX_EINVAL naming the text otherwise. */
apx_status apx_embed_parse(const char *text, apx_embed_kind *kind);

typedef struct {
    int64_t nnz_per_col;  /* zeta of APX_EMBED_SPARSE_SIGN (default 8) */
    int64_t cache_limit;  /* dense kinds: keep S in memory when s*n <= cache_limit doubles,
                             else regenerate its column blocks on each apply (same numbers
                             either way; default 4194304, 32 MiB) */
} apx_sketch_opts;

apx_sketch_opts apx_sketch_opts_default(void);

typedef struct apx_sketch_plan apx_sketch_plan;

/* Build a plan for S (s,n) of the given kind from `seed`; opts may be NULL. The plan holds
 * O(n) numbers (O(zeta n) for sparse sign; s*n for a cached dense S).
 * Errors: APX_EINVAL (unknown kind, s < 1, n < 1, SRHT with s > N, nnz_per_col < 1, out
 * NULL), APX_ENOMEM. *out is NULL on failure. */
apx_status apx_sketch_plan_create(apx_embed_kind kind, int64_t s, int64_t n, uint64_t seed,
                                  const apx_sketch_opts *opts, apx_sketch_plan **out);

/* SA (s,d) = S A for A (n,d), d >= 1. SA must not overlap A.
 * Errors: APX_EINVAL (NULL plan, NaN/Inf in A), APX_ESHAPE (A.rows != n, SA not (s,d)),
 * APX_ENOMEM. */
apx_status apx_sketch_apply(const apx_sketch_plan *plan, apx_dmat A, apx_dmat SA);

/* The dense S (s,n) of the plan (for tests and small problems; O(s n) memory and time for
 * every kind). Errors: APX_ESHAPE (S not (s,n)). */
apx_status apx_sketch_plan_matrix(const apx_sketch_plan *plan, apx_dmat S);

/* Shape and kind of a plan (any pointer may be NULL). */
void apx_sketch_plan_shape(const apx_sketch_plan *plan, apx_embed_kind *kind, int64_t *s,
                           int64_t *n);

void apx_sketch_plan_free(apx_sketch_plan *plan);

/* One-shot: build a plan, apply it to A (n,d), free it. */
apx_status apx_sketch(apx_embed_kind kind, apx_dmat A, uint64_t seed,
                      const apx_sketch_opts *opts, apx_dmat SA);

/* In-place fast Walsh-Hadamard transform of each column of X (N,c): X <- H X with H the
 * unnormalized N x N Sylvester-Hadamard matrix (H[i][j] = (-1)^popcount(i & j)), N a power
 * of two. Cache-blocked: the low stages run inside blocks of rows that fit the L2 cache, the
 * high ones in a second pass over row tiles. O(N c log N), no allocation.
 * Errors: APX_ESHAPE (N not a power of two or X empty), APX_EINVAL (bad view). */
apx_status apx_sketch_fwht(apx_dmat X);

/* ================================================================ leverage scores */

typedef enum {
    APX_LEVERAGE_EXACT = 0, /* QR of A, then the SVD of R for the rank: lev_i = ||U_r[i,:]||^2 */
    APX_LEVERAGE_APPROX = 1 /* Drineas-Magdon-Ismail-Mahoney-Woodruff 2012: sketch S A
                               (sketch_rows x n), its SVD gives N = V_r Sigma_r^-1 with
                               A N ~ orthonormal; a Gaussian JL matrix G (r, jl_dim) gives
                               lev_i ~ ||A N G / sqrt(jl_dim)||^2. O(nnz(A) jl_dim + sketch) */
} apx_leverage_method;

typedef struct {
    double rcond;             /* singular values <= rcond * s_max count as zero (< 0, the
                                 default: max(m,n) * machine epsilon) */
    apx_embed_kind sketch;    /* approx: the embedding of A (default APX_EMBED_SPARSE_SIGN) */
    int64_t sketch_rows;      /* approx: rows of S A (<= 0, the default: 20 n; when it is >= m
                                 the exact scores are returned) */
    int64_t jl_dim;           /* approx: columns of G (<= 0, the default:
                                 ceil(8 ln(m)) clamped to [16, rank]; jl_dim >= rank skips G
                                 and returns the row norms of A N exactly) */
    uint64_t seed;            /* default 0 */
} apx_leverage_opts;

apx_leverage_opts apx_leverage_opts_default(void);

/* Leverage scores lev (m) of the rows of A (m,n): lev_i = ||U_r[i,:]||^2 for the thin left
 * singular vectors of the numerical rank r (so 0 <= lev_i <= 1 and sum lev = r); rank may
 * be NULL. The approximate method returns each score within a factor (1 +- eps) with high
 * probability, eps ~ sqrt(n / sketch_rows) + sqrt(8 ln(m) / jl_dim).
 * Errors: APX_EINVAL (NaN/Inf, bad method), APX_ESHAPE (empty A), APX_ENOMEM,
 * APX_EUNSUPPORTED (no LAPACK). */
apx_status apx_sketch_leverage_scores(apx_dmat A, apx_leverage_method method,
                                      const apx_leverage_opts *opts, double *lev,
                                      int64_t *rank);

/* ================================================================ l_p weights and sampling (P007) */

typedef struct {
    int max_iters; /* default 100 */
    double tol;    /* stop when max_i |w_new - w| / w <= tol (default 1e-10) */
} apx_lewis_opts;

apx_lewis_opts apx_lewis_opts_default(void);

/* l_p Lewis weights w (m) of A (m,n) of full column rank, 0 < p < 4: the fixed point
 * w_i = (a_i^T (A^T W^(1-2/p) A)^-1 a_i)^(p/2) by the Cohen-Peng iteration (a contraction
 * for p < 4). sum w = n at the fixed point; p = 2 gives the leverage scores.
 * Errors: APX_EINVAL (p outside (0,4), NaN/Inf), APX_ESHAPE (empty or m < n),
 * APX_ENUMERIC (rank deficient), APX_ENOCONV (w holds the last iterate). */
apx_status apx_sketch_lewis_weights(apx_dmat A, double p, const apx_lewis_opts *opts,
                                    double *w);

/* Independent row sampling of P007: row i is kept with probability
 * q_i = min(1, m_target * score_i / sum score), and gets the weight 1/q_i for l_p costs,
 * so sum_{kept} |a_i^T x|^p / q_i is unbiased for ||A x||_p^p. Outputs the kept row
 * indices idx (ascending) and weights wt (1/q_i), both of capacity m (rows of A), and
 * *kept. Scores must be >= 0 and finite with a positive sum.
 * Errors: APX_EINVAL (bad scores, m_target < 1). */
apx_status apx_sketch_sample_rows(const double *score, int64_t m, double m_target,
                                  uint64_t seed, int64_t *idx, double *wt, int64_t *kept);

/* ================================================================ DPP and volume sampling (P001)
 * Code: src/sketch/dpp.c. Randomized functions depend only on the seed. */

/* Projection DPP over the N rows of U (N,m) with orthonormal columns (U^T U = I within
 * 1e-8, checked): exactly m distinct rows S with P(S) = det(U_S)^2, by the sequential chain
 * rule (Hough-Krishnapur-Peres-Virag): step k takes row i with probability
 * ||P_k u_i||^2 / (m - k), P_k the projector off the rows taken so far. O(N m^2) time,
 * O(N + m^2) memory. idx (m) gets the rows in the order drawn.
 * Errors: APX_EINVAL (NULL idx, NaN/Inf, columns not orthonormal), APX_ESHAPE (empty U or
 * N < m), APX_ENOMEM. */
apx_status apx_sketch_dpp_sample(apx_dmat U, uint64_t seed, int64_t *idx);

/* Volume sampling of k rows of A (N,m) of full column rank, m <= k <= N:
 * P(S) proportional to det(A_S^T A_S), built as the projection DPP of Q (A = Q R) plus k - m
 * rows drawn uniformly without replacement from the others (Derezinski-Warmuth). idx (k):
 * the DPP rows first, then the uniform ones. wt (k, may be NULL): the inverse inclusion
 * probabilities 1/pi_i, pi_i = tau_i + (1 - tau_i)(k - m)/(N - m) (tau the leverage
 * scores), so sum_S wt_i |a_i^T x|^2 is unbiased for ||A x||^2.
 * Errors: APX_EINVAL (NaN/Inf, NULL idx, k outside [m, N]), APX_ESHAPE (empty A or N < m),
 * APX_ENUMERIC (A rank deficient), APX_ENOMEM. */
apx_status apx_sketch_volume_sample(apx_dmat A, int64_t k, uint64_t seed, int64_t *idx,
                                    double *wt);

/* Weighted least-squares approximation in an m-dimensional space V_m = span(phi_1..phi_m),
 * orthonormal in L2(mu), from n point values (P001). K(x,x) = sum_j phi_j(x)^2, the optimal
 * density rho = K(x,x) dmu / m, the weights w(x) = m / K(x,x). The samplers: */
typedef enum {
    APX_WLS_IID = 0,      /* (a) n i.i.d. points from rho (Cohen-Migliorati) */
    APX_WLS_DPP = 1,      /* (b) the m points of the projection DPP of kernel K */
    APX_WLS_VOLUME = 2,   /* (c) volume-rescaled: m DPP points plus n - m i.i.d. points
                             from rho, shuffled (n >= m) */
    APX_WLS_REPEATED = 3, /* (d) the union of r independent DPP draws: r m points */
    APX_WLS_COUNT
} apx_wls_sampler;

/* "iid", "dpp", "volume", "repeated-dpp"; NULL when out of range. */
const char *apx_wls_sampler_name(apx_wls_sampler s);
/* Parse a name (also "repeated"); APX_EINVAL naming the text otherwise. */
apx_status apx_wls_sampler_parse(const char *text, apx_wls_sampler *s);

typedef struct {
    apx_wls_sampler sampler; /* default APX_WLS_IID */
    int64_t n;               /* points of IID and VOLUME (<= 0, the default: ceil(m ln m),
                                at least m) */
    int64_t repeats;         /* r of APX_WLS_REPEATED (default 2) */
    uint64_t seed;           /* default 0 */
    int64_t max_proposals;   /* Legendre: cap on the rejection proposals of one call
                                (default 100000000; APX_ENOCONV past it) */
} apx_wls_opts;

apx_wls_opts apx_wls_opts_default(void);

/* The number of points the sampler of opts returns for dimension m (IID, VOLUME: n or its
 * default; DPP: m; REPEATED: r m); 0 when opts or m is invalid. */
int64_t apx_wls_count(int64_t m, const apx_wls_opts *opts);

typedef struct {
    int64_t points;    /* n, the number of points */
    int64_t proposals; /* Legendre: proposals of the rejection samplers; grid: 0 */
    double gram_cond;  /* apx_sketch_wls_legendre: condition number of the Gram matrix
                          G = (1/n) sum_i w_i phi(x_i) phi(x_i)^T (inf when singular) */
} apx_wls_info;

/* The orthonormal Legendre basis of L2([-1,1], dx/2): Phi (n,m), Phi[i][j] =
 * sqrt(2j+1) P_j(x_i), x (n) in [-1,1] (three-term recurrence). K(x,x) <= m^2.
 * Errors: APX_EINVAL (NULL x, x outside [-1,1] or NaN), APX_ESHAPE (Phi not (n, >= 1)). */
apx_status apx_sketch_legendre(const double *x, int64_t n, apx_dmat Phi);

/* Points of the sampler for the Legendre space of dimension m on [-1,1] with mu = dx/2, by
 * exact rejection: rho against the uniform density (acceptance K(x,x)/m^2), and step k of
 * the DPP chain rule against rho (acceptance ||P_k phi(x)||^2 / K(x,x)). x and w (capacity
 * apx_wls_count(m, opts)) get the points and their weights m / K(x,x); info may be NULL.
 * Errors: APX_EINVAL (m < 1, NULL x or w, bad opts: VOLUME with n < m, repeats < 1),
 * APX_ENOCONV (max_proposals reached). */
apx_status apx_sketch_wls_points(int64_t m, const apx_wls_opts *opts, double *x, double *w,
                                 apx_wls_info *info);

/* Points on a finite ground set (a fine grid, or any G points): Phi (G,m) holds the values
 * of any basis of V_m at the points, mu (G) their probabilities (NULL: 1/G each). The basis
 * is orthonormalized in L2(mu) internally (QR of diag(sqrt(mu)) Phi), so K and the weights
 * do not depend on it. idx (capacity apx_wls_count) gets the chosen points, w their weights
 * m / K(x,x). Errors: APX_EINVAL (NaN/Inf, negative mu or sum(mu) != 1 within 1e-9, NULL
 * idx or w, bad opts), APX_ESHAPE (G < m), APX_ENUMERIC (Phi rank deficient on the
 * support of mu), APX_ENOMEM. */
apx_status apx_sketch_wls_grid_points(apx_dmat Phi, const double *mu,
                                      const apx_wls_opts *opts, int64_t *idx, double *w,
                                      apx_wls_info *info);

/* The weighted least-squares fit coef (m) = argmin sum_i w_i (y_i - Phi[i,:] coef)^2 from
 * the basis values Phi (n,m) at the points, y (n), w (n) >= 0, by the SVD of
 * diag(sqrt(w)) Phi (minimum-norm when rank deficient, singular values <= n eps s_max
 * dropped). gram_cond (may be NULL): s_max^2 / s_min^2, the condition number of the Gram
 * matrix (inf when rank deficient). Errors: APX_EINVAL (NaN/Inf, negative w, NULL),
 * APX_ESHAPE (empty Phi), APX_ENOMEM. */
apx_status apx_sketch_wls_fit(apx_dmat Phi, const double *y, const double *w, double *coef,
                              double *gram_cond);

/* A function oracle f(x) for apx_sketch_wls_legendre. */
typedef double (*apx_wls_func)(void *ctx, double x);

/* The whole pipeline in the Legendre space of dimension m: points by opts->sampler
 * (apx_sketch_wls_points), f at each point, the weighted fit (apx_sketch_wls_fit): the
 * approximant is sum_j coef_j sqrt(2j+1) P_j(x). info may be NULL. Errors: as the two calls,
 * and APX_EINVAL (NULL f, f returning NaN/Inf). */
apx_status apx_sketch_wls_legendre(int64_t m, apx_wls_func f, void *ctx,
                                   const apx_wls_opts *opts, double *coef,
                                   apx_wls_info *info);

/* ================================================================ l_p sensitivities (P007)
 * Code: src/sketch/sensitivity.c. */

typedef struct {
    int max_iters; /* p = 1: simplex pivots per row (<= 0, the default: 20 n + 100);
                      other p != 2: IRLS steps per row (<= 0: 200) */
    double tol;    /* other p: IRLS relative decrease tolerance (< 0, the default 1e-12) */
    apx_progress progress; /* called with the fraction of rows done (from one thread);
                              non-zero cancels: APX_ECANCELED */
} apx_sensitivity_opts;

apx_sensitivity_opts apx_sensitivity_opts_default(void);

typedef struct {
    double total;      /* the total sensitivity sum_i s_i */
    double max_gap;    /* p = 1: the largest relative duality gap (ub - lb) / ub of the
                          per-row LPs (0 at certified vertices); other p: 0 */
    int64_t iterations;/* simplex pivots or IRLS steps, summed over the rows */
    int64_t uncertified; /* p = 1: rows whose LP stopped at the pivot cap (their s_i =
                            1 / the cost of the last vertex: a lower bound on s_i) */
} apx_sensitivity_info;

/* Exact l_p sensitivities s (m) of the rows of A (m,n) of full column rank, p >= 1:
 * s_i = sup_x |a_i^T x|^p / ||A x||_p^p = 1 / min{ ||A x||_p^p : a_i^T x = 1 } (0 for a zero
 * row); 0 <= s_i <= 1.
 *   p = 1: each row's LP by a simplex on the vertices (n - 1 zero residuals plus the
 *          constraint), started from the n - 1 rows of smallest l_2-optimal residual; each
 *          pivot leaves along an edge to the weighted-median minimum of the cost. A vertex
 *          is certified by its dual (|u| <= 1, A^T u = lambda a_i, lambda = the cost), so
 *          s_i is exact to rounding. Each pivot costs O(m n) (plus O(log m) per breakpoint
 *          crossed); typically 2-5 n pivots per row; rows in parallel (OpenMP).
 *   p = 2: the leverage scores (closed form).
 *   else:  each row as l_p regression over the complement of a_i (Householder basis) by
 *          apx_regress_lp (IRLS for p < 2, Newton for p > 2) to opts->tol: s_i to about
 *          the same relative accuracy.
 * Results do not depend on the thread count. info may be NULL.
 * Errors: APX_EINVAL (NaN/Inf, p < 1 or not finite, NULL s), APX_ESHAPE (empty or m < n),
 * APX_ENUMERIC (rank deficient), APX_ENOCONV (p != 1, 2: an IRLS did not converge; s holds
 * the values reached), APX_ECANCELED (by opts->progress), APX_ENOMEM. */
apx_status apx_sketch_lp_sensitivities(apx_dmat A, double p, const apx_sensitivity_opts *opts,
                                       double *s, apx_sensitivity_info *info);

typedef enum {
    APX_SENS_BOUND_LEWIS = 0,        /* p < 2: s_i <= w_i, the l_p Lewis weights (sum n);
                                        2 <= p < 4: s_i <= n^(p/2-1) w_i */
    APX_SENS_BOUND_ROOT_LEVERAGE = 1 /* p <= 2: s_i <= tau_i^(p/2) (for p = 1 the square
                                        root of the leverage score); p > 2:
                                        s_i <= m^(p/2-1) tau_i^(p/2) */
} apx_sensitivity_bound;

/* Upper bounds ub (m) >= s_i, capped at 1 (every sensitivity is <= 1), from the Lewis
 * weights or the leverage scores. Proofs in docs/sketch.md. Errors: APX_EINVAL (NaN/Inf,
 * p < 1, Lewis with p >= 4, bad kind), APX_ESHAPE (empty or m < n), APX_ENUMERIC (rank
 * deficient), APX_ENOCONV (Lewis iteration). */
apx_status apx_sketch_sensitivity_bounds(apx_dmat A, double p, apx_sensitivity_bound kind,
                                         double *ub);

/* ================================================================ row sampling by method */

typedef enum {
    APX_SAMPLE_UNIFORM = 0,         /* q_i = min(1, m_target / N) */
    APX_SAMPLE_LEVERAGE = 1,        /* scores: exact leverage scores */
    APX_SAMPLE_APPROX_LEVERAGE = 2, /* scores: approximate leverage scores (defaults) */
    APX_SAMPLE_LEWIS = 3,           /* scores: l_p Lewis weights (0 < p < 4) */
    APX_SAMPLE_SENSITIVITY = 4,     /* scores: exact l_p sensitivities */
    APX_SAMPLE_ROOT_LEVERAGE = 5,   /* scores: tau_i^(p/2) */
    APX_SAMPLE_DPP = 6,             /* projection DPP of Q (A = Q R): exactly n rows */
    APX_SAMPLE_VOLUME = 7,          /* volume sampling of exactly m_target rows */
    APX_SAMPLE_MIXED = 8,           /* p > 2 only: scores tau_i / sum tau + s_i / sum s, the
                                       sum of the normalized leverage and exact l_p
                                       sensitivity distributions (P007's mixture) */
    APX_SAMPLE_COUNT
} apx_sample_method;

/* "uniform", "leverage", "approx-leverage", "lewis", "sensitivity", "root-leverage", "dpp",
 * "volume", "mixed"; NULL when out of range. */
const char *apx_sample_method_name(apx_sample_method m);
/* Parse a name (also with '_' for '-'); APX_EINVAL naming the text otherwise. */
apx_status apx_sample_method_parse(const char *text, apx_sample_method *m);

/* Rows of A (N,n) by `method`: the score methods keep row i independently with
 * q_i = min(1, m_target s_i / sum s) and weight 1/q_i (apx_sketch_sample_rows, expected
 * size <= m_target); DPP takes exactly n rows (m_target must be n, or 0 for n) and VOLUME
 * exactly m_target rows, both weighted by the inverse inclusion probabilities. idx and wt
 * (capacity N) get the kept rows (ascending for the score methods, in drawn order for DPP
 * and VOLUME) and weights; *kept their number. p: the l_p of LEWIS, SENSITIVITY,
 * ROOT_LEVERAGE and MIXED (ignored otherwise).
 * Errors: those of the score's function, APX_EINVAL (m_target < 1 or not an integer in
 * [n, N] for VOLUME, MIXED with p <= 2 or not finite, bad method, NULL outputs). */
apx_status apx_sketch_sample(apx_dmat A, apx_sample_method method, double m_target, double p,
                             uint64_t seed, int64_t *idx, double *wt, int64_t *kept);

typedef struct {
    int64_t kept;     /* rows in the sample */
    double cost;      /* ||A x - b||_p on all the rows */
    double seconds;
} apx_sampled_lp_info;

/* l_p regression on a given row sample: min sum_t wt[t] |a_{idx[t]}^T x - b_{idx[t]}|^p
 * over the kept rows (idx, wt from apx_sketch_sample or apx_sketch_sample_rows; kept >= n).
 * p = 1: exactly, by the certified simplex of apx_sketch_lp_sensitivities on [A b] (a
 * sample with rank-deficient rows: on a maximal independent set of columns, the other
 * x_j = 0; b in their range: least squares); other p: apx_regress_lp on the rows scaled
 * by wt^(1/p). info->cost is ||A x - b||_p on all the rows. Errors: APX_EINVAL (NULL,
 * NaN/Inf, an index outside [0, N), a weight <= 0), APX_ESHAPE (kept < n), those of the
 * solvers (APX_ENOCONV: x the last iterate). */
apx_status apx_sketch_lp_regress_sample(apx_dmat A, const double *b, double p,
                                        const int64_t *idx, const double *wt, int64_t kept,
                                        double *x, apx_sampled_lp_info *info);

/* l_p regression on a row sample (P007): rows of [A b] (N, n+1) sampled by `method`
 * (apx_sketch_sample with the same p), then apx_sketch_lp_regress_sample. x (n). info
 * may be NULL.
 * Errors: those of apx_sketch_sample and apx_regress_lp (APX_ESHAPE when fewer than n rows
 * are kept). */
apx_status apx_sketch_sampled_lp_regress(apx_dmat A, const double *b, double p,
                                         apx_sample_method method, double m_target,
                                         uint64_t seed, double *x, apx_sampled_lp_info *info);

#ifdef __cplusplus
}
#endif
#endif /* APX_SKETCH_H */
