/* apx/sparse.h: sparse recovery. Lasso, elastic net and multi-task Lasso by coordinate
 * descent with gap-safe screening and working sets, their regularization paths; orthogonal
 * matching pursuit; iterative hard thresholding; sparse coding with the l1, l0, lq (0<q<1)
 * and CEL0 penalties (P032); exact best-subset selection by enumeration (P030's ground
 * truth); non-negative and fully constrained (non-negative, sum-to-one) least squares; the
 * l_{2,1}-robust spectral unmixing of P004. Double precision throughout.
 *
 * Shapes: a design X is (n,p) row-major (n samples, p features), y (n). Coefficients are
 * caller-allocated arrays of the documented length (p, or p x T for T tasks). Inputs are
 * never modified. Inputs with NaN or Inf get APX_EINVAL; mismatched or empty shapes get
 * APX_ESHAPE; negative alpha, l1_ratio outside [0,1] and bad options get APX_EINVAL, each
 * with a message naming the function, the argument and the value.
 * Threads: the BLAS (full gradients X^T R, Gram blocks) and OpenMP (column statistics,
 * batched sparse coding); apx_set_threads(). Every function is reentrant and deterministic
 * (same input, same threads setting, same build: same bits). Iterative methods that stop
 * before their tolerance return APX_ENOCONV with the last iterate written and
 * info.converged = 0.
 */
#ifndef APX_SPARSE_H
#define APX_SPARSE_H

#include "apx/core.h"
#include "apx/sparse_mat.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ elastic net / Lasso
 *
 * Objective (scikit-learn's ElasticNet; the Lasso is l1_ratio = 1):
 *   P(w, b) = 1/(2n) ||y - X w - b||^2 + alpha * (l1_ratio ||w||_1 + (1-l1_ratio)/2 ||w||^2)
 * The intercept b is unpenalized (fit_intercept = 1: X and y are centred implicitly, X is
 * never copied whole). The stopping rule is scikit-learn's: the duality gap G of the
 * objective above, for the dual point obtained by rescaling the residual, satisfies
 *   G <= tol * ||y - mean(y)||^2 / n          (mean(y) = 0 without an intercept).
 * G >= P(w) - P(w*), so a returned solution is within G of the optimal objective. */

typedef enum {
    APX_ENET_AUTO = 0,     /* covariance updates while the working set is at most n/2
                              columns (and at most 4096), else naive residual updates */
    APX_ENET_GRAM = 1,     /* covariance updates: Gram matrix of the working set (BLAS-3),
                              each coordinate step costs O(|W|) */
    APX_ENET_RESIDUAL = 2  /* naive updates: the residual is updated with a BLAS-1 axpy on a
                              contiguous column copy, each step costs O(n) */
} apx_enet_solver;

typedef struct {
    int fit_intercept;      /* default 1 */
    int positive;           /* constrain w >= 0 (single task only; default 0) */
    double tol;             /* relative duality-gap tolerance (default 1e-6) */
    int max_epochs;         /* total coordinate-descent passes over working sets
                               (default 100000) */
    int screening;          /* gap-safe screening rules (Fercoq, Gramfort, Salmon 2015;
                               Ndiaye et al. 2017) (default 1) */
    int working_set;        /* solve growing working sets of the most violating features
                               (default 1); 0: all features not screened out */
    apx_enet_solver solver; /* default APX_ENET_AUTO */
    int warm_start;         /* 1: coef (and intercept) on entry are the starting point
                               (default 0: start from zero) */
    apx_progress progress;  /* called once per working-set iteration; may cancel */
} apx_enet_opts;

apx_enet_opts apx_enet_opts_default(void);

typedef struct {
    double gap;        /* duality gap G of the objective above at return (normalized by n,
                          as scikit-learn's dual_gap_) */
    double gap_tol;    /* the threshold tol * ||y - mean(y)||^2 / n */
    double primal;     /* P(w, b) at return */
    int converged;     /* gap <= gap_tol */
    int epochs;        /* coordinate-descent passes (over the working sets) */
    int outer;         /* working-set iterations (full gradient evaluations) */
    int64_t nnz;       /* non-zero coefficients (rows of W for multi-task) */
    int64_t screened;  /* features eliminated by the gap-safe rules */
    int64_t ws_size;   /* size of the last working set */
    int gram;          /* the last working set was solved with covariance updates */
    double seconds;    /* wall time */
} apx_enet_info;

/* Elastic net on X (n,p), y (n): coef (p), *intercept (may be NULL only when
 * fit_intercept = 0; set to 0 then), info (may be NULL). alpha >= 0 and l1_ratio in [0,1]
 * (alpha * l1_ratio = 0 gives ridge or least squares by coordinate descent, without
 * screening or working sets; the gap is then scikit-learn's formulation B, or ||X^T R||^2
 * for least squares). Columns that are constant (zero after centring) get 0.
 * Errors: as in the header; APX_ENOCONV after max_epochs (coef holds the iterate);
 * APX_ECANCELED from the progress callback (coef holds the iterate). */
apx_status apx_sparse_enet(apx_dmat X, const double *y, double alpha, double l1_ratio,
                           const apx_enet_opts *opts, double *coef, double *intercept,
                           apx_enet_info *info);

/* The Lasso: apx_sparse_enet with l1_ratio = 1. */
apx_status apx_sparse_lasso(apx_dmat X, const double *y, double alpha,
                            const apx_enet_opts *opts, double *coef, double *intercept,
                            apx_enet_info *info);

/* Multi-task elastic net (scikit-learn's MultiTaskElasticNet; MultiTaskLasso for
 * l1_ratio = 1) on X (n,p), Y (n,T):
 *   1/(2n) ||Y - X W - 1 b^T||_F^2 + alpha (l1_ratio ||W||_{2,1} + (1-l1_ratio)/2 ||W||_F^2)
 * with ||W||_{2,1} = sum_j ||W[j,:]||_2. W (p,T) row-major, intercept (T) (NULL only when
 * fit_intercept = 0). Block coordinate descent with the same screening, working sets and
 * stopping rule (tol relative to ||Y - mean||_F^2 / n). opts.positive must be 0.
 * Errors as apx_sparse_enet. */
apx_status apx_sparse_multitask_enet(apx_dmat X, apx_dmat Y, double alpha, double l1_ratio,
                                     const apx_enet_opts *opts, apx_dmat W,
                                     double *intercept, apx_enet_info *info);

/* ---------------------------------------------------------------- regularization paths */

/* scikit-learn's grid: alpha_max = max_j |x_j^T (y - mean)| / (n l1_ratio) (the smallest
 * alpha with w = 0; |.| is the row norm for T > 1), then n_alphas values log-spaced from
 * alpha_max down to eps * alpha_max, descending, into alphas (n_alphas).
 * X (n,p), Y (n,T) (T = 1 for a single task); l1_ratio in (0,1]; eps in (0,1]; n_alphas >= 1.
 * APX_EINVAL when alpha_max = 0 (y constant, or orthogonal to every column): there is
 * no path then. */
apx_status apx_sparse_alpha_grid(apx_dmat X, apx_dmat Y, double l1_ratio, int fit_intercept,
                                 double eps, int64_t n_alphas, double *alphas);

/* Elastic-net path: for each alphas[k] (any order; descending is fastest) the solution
 * coefs row k (coefs (n_alphas,p)), intercepts[k] (may be NULL), gaps[k] and epochs[k]
 * (each may be NULL), warm-started from the previous alpha. opts as apx_sparse_enet
 * (opts.warm_start is ignored; progress is called once per alpha). Stops at the first
 * alpha that fails; APX_ENOCONV (reported after the whole path) when some alpha did not
 * converge: its row still holds the iterate and its gap says by how much. */
apx_status apx_sparse_enet_path(apx_dmat X, const double *y, double l1_ratio,
                                const double *alphas, int64_t n_alphas,
                                const apx_enet_opts *opts, apx_dmat coefs, double *intercepts,
                                double *gaps, int *epochs);

/* ---------------------------------------------------------------- CSR (sparse) designs
 *
 * The same objective, options, stopping rule and info on a CSR design X (n,p)
 * (apx/sparse_mat.h; scipy.sparse.csr_matrix's layout), never densified: each call
 * validates X (APX_EINVAL naming the bad indptr entry, column index or value; duplicates
 * are summed), builds one column-major copy (O(nnz) memory), and centres implicitly for
 * the intercept (x_j^T r - mean_j sum(r), as scikit-learn does for sparse X). Only the
 * working set's columns are expanded to dense centred columns (|W| n doubles). Coefficients
 * agree with the dense functions on the densified matrix to the solver's tolerance (the
 * iterates are the same up to rounding). Single task (y (n)). */
apx_status apx_sparse_enet_csr(apx_csr X, const double *y, double alpha, double l1_ratio,
                               const apx_enet_opts *opts, double *coef, double *intercept,
                               apx_enet_info *info);
apx_status apx_sparse_lasso_csr(apx_csr X, const double *y, double alpha,
                                const apx_enet_opts *opts, double *coef, double *intercept,
                                apx_enet_info *info);
/* apx_sparse_alpha_grid for a CSR X and one target y (n). */
apx_status apx_sparse_alpha_grid_csr(apx_csr X, const double *y, double l1_ratio,
                                     int fit_intercept, double eps, int64_t n_alphas,
                                     double *alphas);
/* apx_sparse_enet_path for a CSR X; the column-major copy is built once for the path. */
apx_status apx_sparse_enet_path_csr(apx_csr X, const double *y, double l1_ratio,
                                    const double *alphas, int64_t n_alphas,
                                    const apx_enet_opts *opts, apx_dmat coefs,
                                    double *intercepts, double *gaps, int *epochs);

/* ================================================================ greedy methods */

typedef struct {
    int fit_intercept;  /* centre X and y (default 1) */
    double tol;         /* OMP: stop when ||r||^2 <= tol (tol > 0 overrides n_nonzero;
                           default 0 = use n_nonzero only) */
    int max_iters;      /* IHT iterations (default 1000) */
    double iht_tol;     /* IHT: stop when ||w_{t+1} - w_t|| <= iht_tol ||w_{t+1}|| and the
                           support is unchanged (default 1e-10) */
    int debias;         /* IHT: refit least squares on the final support (default 1) */
    int swaps;          /* IHT: sweeps of local search after the iterations: the best
                           single swap (one support index for one outside) that lowers the
                           least-squares residual, until none does (default 0: off; each
                           sweep costs k (p - k) small least squares) */
} apx_greedy_opts;

apx_greedy_opts apx_greedy_opts_default(void);

typedef struct {
    int64_t nnz;         /* atoms selected / support size */
    int iterations;
    double rss;          /* ||y - X w - b||^2 at return */
    int converged;       /* IHT: tolerance reached; OMP: the stopping rule was met (0 when
                            it stopped early on a linearly dependent atom) */
} apx_greedy_info;

/* Orthogonal matching pursuit (scikit-learn's OrthogonalMatchingPursuit): select the
 * column with the largest |x_j^T r| (columns are not rescaled: scale them to unit norm
 * for the textbook rule), re-fit least squares on the selected set (Cholesky of the
 * selected Gram, grown by one row per step), until n_nonzero atoms (1 <= n_nonzero <=
 * min(n,p)) or ||r||^2 <= opts.tol (tol > 0 overrides n_nonzero). Stops early, with
 * APX_OK and info.converged = 0, when the next atom is linearly dependent on the selected
 * ones (or tol was not reached with min(n,p) atoms). coef (p), intercept (NULL only without
 * fit_intercept). */
apx_status apx_sparse_omp(apx_dmat X, const double *y, int64_t n_nonzero,
                          const apx_greedy_opts *opts, double *coef, double *intercept,
                          apx_greedy_info *info);

/* Normalized iterative hard thresholding (Blumensath & Davies 2010) for
 * min ||y - X w||^2 s.t. ||w||_0 <= k, 1 <= k <= p: w <- H_k(w + mu X^T (y - X w)) with
 * the step mu = ||g_S||^2 / ||X_S g_S||^2 on the current support S, halved while a
 * support change does not decrease the objective enough; started from zero; then (debias)
 * least squares on the final support, then (swaps > 0) swap local search, which makes the
 * support a local minimum of the l0-constrained problem over single swaps (IHT alone
 * stalls on correlated designs; see P030 in docs/sparse.md). APX_ENOCONV after max_iters
 * (coef holds the iterate, debiased). */
apx_status apx_sparse_iht(apx_dmat X, const double *y, int64_t k, const apx_greedy_opts *opts,
                          double *coef, double *intercept, apx_greedy_info *info);

/* Exact best-subset selection by enumeration (ground truth for small p): for every size
 * s = 0..kmax, the subset S with |S| = s minimizing ||y - X_S w_S||^2 (with an intercept
 * when fit_intercept), its coefficients in row s of coefs (kmax+1, p) and its residual sum
 * of squares rss[s]. Cost sum_s C(p,s) s^2 (a depth-first walk extends Cholesky factors);
 * APX_EINVAL when that count of subsets exceeds 5e7. Subsets whose Gram is singular are
 * skipped. */
apx_status apx_sparse_best_subset(apx_dmat X, const double *y, int64_t kmax, int fit_intercept,
                                  apx_dmat coefs, double *rss);

/* ================================================================ penalties, sparse coding */

typedef enum {
    APX_PENALTY_L1 = 0,   /* lambda |a| (soft threshold) */
    APX_PENALTY_L0 = 1,   /* lambda 1{a != 0} (hard threshold at sqrt(2 step lambda)) */
    APX_PENALTY_LQ = 2,   /* lambda |a|^q, 0 < q < 1 (q = 1/2: the half-thresholding formula
                             of Xu et al. 2012; other q: the scalar equation by Newton) */
    APX_PENALTY_CEL0 = 3  /* lambda - (w^2/2)(|a| - sqrt(2 lambda)/w)^2 1{|a| <= sqrt(2
                             lambda)/w}, w = the atom's norm (Soubies et al. 2015): the
                             continuous exact l0 relaxation; firm-like threshold */
} apx_penalty;

/* Proximal operator, element-wise: out[i] = argmin_a 1/2 (a - z[i])^2 + step * R(a) with
 * R the penalty at lambda (q for APX_PENALTY_LQ, ignored otherwise; norms[i] the atom norm
 * w > 0 for CEL0, may be NULL otherwise). CEL0's closed form needs step * w^2 < 1; at
 * step * w^2 >= 1 its prox is the hard threshold at sqrt(2 step lambda), used then. Ties
 * (two minimizers) resolve to 0. out may alias z. step > 0, lambda >= 0. */
apx_status apx_sparse_prox(apx_penalty pen, double lambda, double q, double step,
                           const double *norms, const double *z, int64_t n, double *out);

/* The penalty value sum_i R(a[i]) (norms as above). */
apx_status apx_sparse_penalty(apx_penalty pen, double lambda, double q, const double *norms,
                              const double *a, int64_t n, double *value);

typedef struct {
    apx_penalty penalty;  /* default APX_PENALTY_L1 */
    double q;             /* exponent for APX_PENALTY_LQ (default 0.5) */
    int max_iters;        /* proximal-gradient iterations (default 1000) */
    double tol;           /* stop when max_i ||a_i^{t+1} - a_i^t|| <= tol max(1, ||a_i||)
                             (default 1e-8) */
    int accelerate;       /* FISTA momentum for the l1 penalty (default 1); the
                             non-convex penalties always run plain proximal-gradient steps,
                             which decrease their objective monotonically */
    int warm_start;       /* 1: codes on entry are the start (default 0: zeros) */
    apx_progress progress;
} apx_code_opts;

apx_code_opts apx_code_opts_default(void);

typedef struct {
    int iterations;
    int converged;
    double objective;    /* sum over samples of 1/2 ||x - a D||^2 + lambda R(a) */
    double rel_error;    /* ||X - A D||_F / ||X||_F */
    double nnz_mean;     /* mean non-zeros per code */
    double step;         /* step 0.99 / ||D||_2^2 used */
    double seconds;
} apx_code_info;

/* Sparse coding of the rows of X (N,m) on the dictionary D (K,m) (atoms as rows, as
 * scikit-learn's SparseCoder): codes A (N,K) minimizing, per sample,
 *   1/2 ||x - a D||^2 + lambda R(a)
 * by proximal gradient (ISTA/FISTA) on all samples at once (Gram D D^T, BLAS-3), step
 * 0.99 / ||D||_2^2. For CEL0 the per-atom norms are the rows' norms. lambda >= 0.
 * APX_ENOCONV after max_iters (A holds the iterate). */
apx_status apx_sparse_code(apx_dmat D, apx_dmat X, double lambda, const apx_code_opts *opts,
                           apx_dmat A, apx_code_info *info);

/* Exact l0-penalized coding by enumeration of all 2^K supports (K <= 24):
 * a (K) = argmin 1/2 ||x - a D||^2 + lambda ||a||_0 for one signal x (m), D (K,m);
 * *objective receives the minimum (may be NULL). The ground truth of P032's CEL0 check. */
apx_status apx_sparse_l0_exact(apx_dmat D, const double *x, double lambda, double *a,
                               double *objective);

/* ================================================================ constrained least squares */

typedef struct {
    int max_iters;  /* active-set iterations per column (default 0: 3 * number of unknowns,
                       as SciPy's nnls) */
    double tol;     /* optimality tolerance on the Lagrange multipliers, relative to
                       ||A||_F ||b|| (default 0: 10 * eps * max(m,n)) */
} apx_cls_opts;

apx_cls_opts apx_cls_opts_default(void);

typedef struct {
    int iterations;     /* active-set iterations (summed over columns) */
    int converged;      /* every column met the optimality test */
    double rnorm;       /* ||A X - B||_F */
} apx_cls_info;

/* Non-negative least squares min ||A x - b||_2 s.t. x >= 0 for each column of B (m,r),
 * into X (n,r): the Lawson-Hanson active-set method, each passive-set subproblem solved
 * by a QR-based least squares (LAPACK) on the passive columns, so the answer is exact up
 * to rounding once the active set is right. APX_ENOCONV when a column needs more than
 * max_iters iterations (X holds the iterate). */
apx_status apx_sparse_nnls(apx_dmat A, apx_dmat B, const apx_cls_opts *opts, apx_dmat X,
                           apx_cls_info *info);

/* Fully constrained least squares min ||A x - b|| s.t. x >= 0, sum(x) = 1 for each column
 * of B (m,r), into X (n,r) (spectral unmixing with endmembers in the columns of A): an
 * exact active-set method; each subproblem eliminates the sum-to-one constraint by an
 * orthonormal basis of its complement (a Householder reflection), then least squares.
 * Errors as apx_sparse_nnls. */
apx_status apx_sparse_fcls(apx_dmat A, apx_dmat B, const apx_cls_opts *opts, apx_dmat X,
                           apx_cls_info *info);

/* ================================================================ robust unmixing (P004) */

typedef struct {
    double lambda;      /* weight of the sparsity term (default 0.01) */
    double p;           /* l_p exponent in (0,1] for every pixel when p_map is NULL
                           (default 0.5) */
    int max_iters;      /* reweighting iterations (default 200) */
    double tol;         /* stop when the relative decrease of the smoothed objective is
                           <= tol (default 1e-7) */
    double eps;         /* smoothing: ||r_l|| -> sqrt(||r_l||^2 + eps^2) and
                           |a|^p -> (a^2 + eps^2)^(p/2) (default 1e-6) */
    int l21;            /* 1: the robust l_{2,1} loss over bands; 0: the squared loss
                           1/2 ||Y - M A||_F^2 (reweighted l_p FCLS, the baseline)
                           (default 1) */
} apx_unmix_opts;

apx_unmix_opts apx_unmix_opts_default(void);

typedef struct {
    int iterations;
    int converged;
    double objective;   /* the unsmoothed objective at return */
    double smoothed;    /* the smoothed objective the iterations minimize */
    int monotone;       /* the smoothed objective never increased (beyond 1e-12 relative) */
} apx_unmix_info;

/* l_{2,1}-robust sparse unmixing (P004) with known endmembers M (L,K): abundances
 * A (K,N) >= 0 with columns summing to one minimizing
 *   sum_l ||(Y - M A)_{l,:}||_2 + lambda sum_n sum_k |A_kn|^{p_n},   Y (L,N)
 * (l21 = 0: 1/2 ||Y - M A||_F^2 + the same penalty) by majorize-minimize on the smoothed
 * objective: band weights d_l = 1/(2 sqrt(||r_l||^2 + eps^2)) and l_p weights
 * (p/2)(a^2 + eps^2)^((p-2)/2) make each step, for each pixel, a weighted quadratic problem
 * with the FCLS constraints, solved exactly by the active-set method of apx_sparse_fcls;
 * the smoothed objective therefore never increases. p_map (N) gives each pixel's exponent
 * p_n in (0,1] (P004 learns it from a guidance map; NULL: opts.p). The start is the FCLS
 * solution. APX_ENOCONV after max_iters (A holds the iterate). */
apx_status apx_sparse_unmix(apx_dmat Y, apx_dmat M, const double *p_map,
                            const apx_unmix_opts *opts, apx_dmat A, apx_unmix_info *info);

/* ================================================================ active multi-task
 * representation learning via the Lasso (P074)
 *
 * Model: sources m = 0..M-1 give y = x^T B w_m + noise, x in R^d, with a shared
 * representation B (d,k) and heads w_m (k); the target gives y = x^T B w_0 + noise with
 * w_0 = W nu (W (k,M) the heads). The run has three stages, at a fixed total budget:
 *   1. uniform sampling: n_stage1 samples of every source and n_target of the target;
 *      beta_m = least squares of source m (d); B1 = the top-k left singular vectors of
 *      [sqrt(N_m) beta_m]_m (d,M) (N_m the samples of source m: the SVD estimator of the
 *      multi-task least squares min sum_m ||y_m - X_m B w_m||^2, exact when
 *      X_m^T X_m = N_m I); heads W1[:,m] = least squares of y_m on X_m B1 (k), target
 *      head w0_1 = least squares of y_0 on X_0 B1 (k).
 *   2. nu = argmin_nu 1/(2k) ||w0_1 - W1 nu||^2 + alpha ||nu||_1 (apx_sparse_lasso, no
 *      intercept: scikit-learn's Lasso on the k rows of W1, i.e. lambda = 2 k alpha in
 *      ||w0 - W nu||^2 + lambda ||nu||_1); also nu_l2 = pinv(W1) w0_1, the minimum-norm
 *      solution that the nu^2 rule of Chen et al. (2022) uses.
 *   3. the budget goes to the sources in proportion to |nu_m| (APX_MTRL_NU1), nu_l2_m^2
 *      (APX_MTRL_NU2) or equally (APX_MTRL_UNIFORM) (largest remainders; a zero nu falls
 *      back to uniform); each source draws its share, beta_m and B are re-estimated as in
 *      stage 1 on all of its samples, and the target head is refit on the target samples:
 *      the target predictor is beta0 = B w0 (d).
 * Samples come from a callback (or apx_sparse_mtrl_synth_sample for the synthetic model). */

typedef enum { APX_MTRL_NU1 = 0, APX_MTRL_NU2 = 1, APX_MTRL_UNIFORM = 2 } apx_mtrl_rule;

/* Draw n samples of task m (0..M-1 a source, M the target) into X (n,d) row-major and
 * y (n). draw counts the previous calls for this task (0, 1, ...), so that a counter-based
 * sampler returns fresh samples on each call. Return 0, or non-zero to stop the run. */
typedef int (*apx_mtrl_sampler)(void *ctx, int64_t m, int64_t n, int64_t draw, double *X,
                                double *y);

typedef struct {
    int64_t k;          /* representation dimension, 1 <= k <= min(d, M) (default 3) */
    int64_t n_stage1;   /* stage-1 samples per source, >= d (default 100) */
    int64_t budget;     /* stage-3 source samples in total, >= 0 (default 4000) */
    int64_t n_target;   /* target samples, >= k (default 100) */
    double alpha;       /* stage-2 Lasso strength (scikit-learn scaling; default 1e-2) */
    apx_mtrl_rule rule; /* default APX_MTRL_NU1 */
    double tol;         /* stage-2 Lasso relative gap tolerance (default 1e-10) */
} apx_mtrl_opts;

apx_mtrl_opts apx_mtrl_opts_default(void);

/* Caller-allocated outputs; each pointer may be NULL (not wanted). */
typedef struct {
    double *nu;       /* (M) stage-2 Lasso estimate */
    double *nu_l2;    /* (M) stage-2 minimum-norm estimate */
    double *W1;       /* (k,M) stage-1 heads, row-major */
    double *w0_1;     /* (k) stage-1 target head */
    int64_t *alloc;   /* (M) stage-3 samples per source */
    double *B;        /* (d,k) final representation (orthonormal columns), row-major */
    double *beta0;    /* (d) final target predictor */
} apx_mtrl_out;

typedef struct {
    int64_t nnz;        /* non-zeros of nu */
    double lasso_gap;   /* duality gap of the stage-2 Lasso */
    int64_t samples;    /* source samples drawn in all (M n_stage1 + budget) */
} apx_mtrl_info;

/* Run the three stages for sources of dimension d >= 1 and M >= 1 sources. out and info
 * may be NULL. Errors: APX_EINVAL (NULL sampler, bad options: k, n_stage1 < d,
 * n_target < k, alpha < 0, unknown rule), APX_ECANCELED when the sampler returns
 * non-zero, APX_EINVAL when it returns NaN or Inf, APX_ENOMEM (also when the sample
 * buffers, about (M n_stage1 + 2 budget + 2 n_target) (d + 1) doubles, exceed 2^60).
 * Deterministic for a deterministic sampler. Threads: the BLAS/LAPACK. */
apx_status apx_sparse_mtrl(int64_t d, int64_t M, apx_mtrl_sampler sample, void *ctx,
                           const apx_mtrl_opts *opts, const apx_mtrl_out *out,
                           apx_mtrl_info *info);

/* The synthetic model of the tests and of `apx mtrl`: B (d,k) orthonormal (QR of a
 * Gaussian matrix), heads W (k,M) uniform on the unit sphere (the relevant ones then
 * orthonormalized: diverse tasks), nu (M) with `relevant` non-zeros
 * (random sources, signs random, magnitudes in [1,2)), w0 = W nu; x ~ N(0, I_d), noise
 * N(0, noise^2). The irrelevant heads are adjusted so that nu is the unique minimum-l1
 * representation of w0 with a margin (|w_j^T z| <= 0.7 for the dual certificate
 * z = W_S (W_S^T W_S)^{-1} sign(nu_S) of the support S): the relevant sources are then
 * well defined. 1 <= relevant <= k <= min(d, M). All arrays owned; free with
 * apx_sparse_mtrl_synth_free. */
typedef struct {
    int64_t d, k, M;
    double noise;
    uint64_t seed;
    double *B;   /* (d,k) */
    double *W;   /* (k,M) */
    double *w0;  /* (k) */
    double *nu;  /* (M) */
} apx_mtrl_synth;

/* Errors: APX_EINVAL (NULL s, sizes out of range, noise < 0 or not finite), APX_ENOMEM
 * (also for d k + k M beyond 2^60), APX_ENUMERIC (dependent relevant heads). */
apx_status apx_sparse_mtrl_synth_create(int64_t d, int64_t k, int64_t M, int64_t relevant,
                                        double noise, uint64_t seed, apx_mtrl_synth *s);
void apx_sparse_mtrl_synth_free(apx_mtrl_synth *s);
/* An apx_mtrl_sampler for ctx = an apx_mtrl_synth: element i of task m's call `draw`
 * depends only on (seed, m, draw, i). */
int apx_sparse_mtrl_synth_sample(void *ctx, int64_t m, int64_t n, int64_t draw, double *X,
                                 double *y);
/* Target excess risk E[(x^T beta0 - x^T B w0)^2] = ||beta0 - B w0||^2 (x ~ N(0, I)). */
double apx_sparse_mtrl_synth_risk(const apx_mtrl_synth *s, const double *beta0);

#ifdef __cplusplus
}
#endif
#endif /* APX_SPARSE_H */
