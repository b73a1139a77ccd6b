/* apx/solve.h: iterative solvers for linear systems: conjugate gradients (plain, Jacobi or
 * user-preconditioned), MINRES, LSQR, randomized Kaczmarz, sketch-and-project (randomized
 * block Kaczmarz / Gaussian sketches), SOR and SSOR, and bandit-tuned SOR over a sequence of
 * systems (P128), Halpern and variance-reduced Halpern iteration for finite-sum monotone
 * inclusions (P011), and the exact augmented-Lagrangian Newton method with sketched KKT
 * solves for equality-constrained problems (P073). Double precision.
 *
 * Operators (apx_op): a dense row-major apx_dmat, a CSR view (apx/sparse_mat.h), or a
 * symmetric callback apx_linop (apx/la.h; CG and MINRES only). Methods that need rows or
 * entries (Kaczmarz, sketch-and-project, SOR, SSOR, Jacobi) or a transpose (LSQR) take
 * dense or CSR operators and report APX_EINVAL for a callback.
 *
 * Every method takes apx_solve_opts (NULL: defaults) and fills an apx_solve_info (may be
 * NULL). x (n) is the output; it is also the starting point when opts->warm_start is set,
 * else the start is x = 0. Stopping: ||b - A x|| <= max(tol * ||b||, atol) (LSQR: see
 * apx_solve_lsqr). A method that does not reach its tolerance within max_iters returns
 * APX_ENOCONV, leaves its last iterate in x and says so in info (converged = 0, residual =
 * the relative residual reached). A progress callback is called every few iterations with
 * iterations / max_iters; cancelling returns APX_ECANCELED with the last iterate in x.
 *
 * Errors: APX_EINVAL (NULL, NaN/Inf in A, b or a warm start, a bad option, a callback that
 * fails or returns non-finite values), APX_ESHAPE (shapes disagree, empty), APX_ENUMERIC
 * (breakdown: CG on a matrix that is not positive definite, SOR with a zero diagonal),
 * APX_ENOCONV, APX_ECANCELED, APX_ENOMEM. Threads: OpenMP in the products and the BLAS.
 * Randomized methods depend only on opts->seed, not on the thread count.
 */
#ifndef APX_SOLVE_H
#define APX_SOLVE_H

#include "apx/core.h"
#include "apx/la.h"
#include "apx/sparse_mat.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ operators */

typedef enum { APX_OP_DENSE = 0, APX_OP_CSR = 1, APX_OP_LINOP = 2 } apx_op_kind;

/* A linear operator: exactly one of the members is used, as `kind` says. The views must
 * outlive the call. */
typedef struct {
    apx_op_kind kind;
    apx_dmat dense;   /* APX_OP_DENSE: (m,n) */
    apx_csr csr;      /* APX_OP_CSR: (m,n) */
    apx_linop linop;  /* APX_OP_LINOP: symmetric (n,n), y = A x by callback */
} apx_op;

static inline apx_op apx_op_dense(apx_dmat A) {
    apx_op o = {APX_OP_DENSE, A, {0, 0, 0, 0, 0, 0}, {0, 0, 0}};
    return o;
}
static inline apx_op apx_op_csr(apx_csr A) {
    apx_op o = {APX_OP_CSR, {0, 0, 0, 0}, A, {0, 0, 0}};
    return o;
}
static inline apx_op apx_op_linop(apx_linop L) {
    apx_op o = {APX_OP_LINOP, {0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}, L};
    return o;
}

/* ================================================================ options and results */

typedef enum {
    APX_PRECOND_NONE = 0,
    APX_PRECOND_JACOBI = 1,   /* z = r / diag(A) (dense or CSR; APX_ENUMERIC for a diagonal
                                 entry <= 0) */
    APX_PRECOND_SSOR = 2,     /* symmetric SOR sweep with opts->omega (dense or CSR) */
    APX_PRECOND_CALLBACK = 3  /* z = M^-1 r by opts->precond_fn (M symmetric positive
                                 definite) */
} apx_precond_kind;

/* z (n) = M^-1 r (n). Returns APX_OK or an error status (which the solver returns). */
typedef apx_status (*apx_precond_fn)(void *ctx, const double *r, double *z);

typedef enum {
    APX_SP_ROWS = 0,     /* sketch-and-project with S = `block` rows drawn with probability
                            proportional to ||a_i||^2 (randomized block Kaczmarz) */
    APX_SP_GAUSSIAN = 1  /* S (m, block) Gaussian */
} apx_sp_sketch;

typedef struct {
    double tol;                /* relative tolerance (default 1e-8) */
    double atol;               /* absolute tolerance on ||b - A x|| (default 0) */
    int64_t max_iters;         /* <= 0 (default): CG, MINRES, LSQR 10 n; SOR, SSOR 10000
                                  sweeps; Kaczmarz 1000 m row steps; sketch-and-project
                                  100 m / block steps */
    int warm_start;            /* 0 (default): start from x = 0; 1: from x as passed in */
    apx_precond_kind precond;  /* CG and MINRES (default APX_PRECOND_NONE) */
    apx_precond_fn precond_fn; /* APX_PRECOND_CALLBACK */
    void *precond_ctx;
    double omega;              /* SOR, SSOR, SSOR preconditioner: in (0,2) (default 1) */
    uint64_t seed;             /* Kaczmarz, sketch-and-project (default 0) */
    int64_t block;             /* sketch-and-project block size (<= 0, default:
                                  min(m, max(2, ceil(sqrt(n))))) */
    apx_sp_sketch sp_sketch;   /* sketch-and-project sketch (default APX_SP_ROWS) */
    apx_progress progress;
} apx_solve_opts;

apx_solve_opts apx_solve_opts_default(void);

typedef struct {
    int64_t iterations; /* CG/MINRES/LSQR steps, SOR/SSOR sweeps, Kaczmarz row steps,
                           sketch-and-project block steps */
    int converged;      /* 1 when the tolerance was reached */
    double residual;    /* relative residual reached, ||b - A x|| / ||b|| (0 when b = 0);
                           LSQR: ||A^T r|| / (||A||_F ||r||) when that stopped it */
    double residual_norm; /* ||b - A x|| of the returned x, recomputed from A */
    int64_t matvecs;    /* products with A or A^T (Kaczmarz: row steps / m) */
    double seconds;
} apx_solve_info;

/* ================================================================ Krylov */

/* Conjugate gradients for a symmetric positive definite A (n,n), b (n), x (n), with the
 * preconditioner of opts->precond. APX_ENUMERIC on a non-positive curvature p^T A p <= 0
 * (A not positive definite) or a preconditioner with r^T M^-1 r <= 0. */
apx_status apx_solve_cg(apx_op A, const double *b, double *x, const apx_solve_opts *opts,
                        apx_solve_info *info);

/* MINRES (Paige-Saunders) for a symmetric, possibly indefinite or singular A (n,n): x
 * minimizes ||b - A x|| over the Krylov space; with opts->precond (positive definite M) the
 * preconditioned variant. Stops on the recurrence's residual estimate, then reports the
 * true residual. */
apx_status apx_solve_minres(apx_op A, const double *b, double *x, const apx_solve_opts *opts,
                            apx_solve_info *info);

/* LSQR (Paige-Saunders 1982) for min ||A x - b||, A (m,n) dense or CSR, b (m), x (n):
 * stops as SciPy's lsqr with atol = btol = opts->tol: when ||r|| <= tol (||b|| + ||A|| ||x||)
 * or ||A^T r|| <= tol ||A|| ||r|| (norms of A estimated by the bidiagonalization).
 * opts->atol is unused. From x = 0 it converges to the minimum-norm solution. */
apx_status apx_solve_lsqr(apx_op A, const double *b, double *x, const apx_solve_opts *opts,
                          apx_solve_info *info);

/* ================================================================ row-action methods */

/* Randomized Kaczmarz (Strohmer-Vershynin): row i with probability ||a_i||^2 / ||A||_F^2,
 * x <- x + (b_i - a_i x) / ||a_i||^2 a_i. A (m,n) dense or CSR, b (m), x (n). Converges
 * linearly for a consistent system (to the minimum-norm solution from x = 0); for an
 * inconsistent one it stalls at a horizon and returns APX_ENOCONV. The residual is checked
 * every m steps. Zero rows are never drawn (APX_EINVAL if A is zero). */
apx_status apx_solve_kaczmarz(apx_op A, const double *b, double *x, const apx_solve_opts *opts,
                              apx_solve_info *info);

/* Sketch-and-project (Gower-Richtarik 2015): x <- x + A^T S (S^T A A^T S)^+ S^T (b - A x)
 * with the sketch of opts->sp_sketch and opts->block columns, the pseudo-inverse by a
 * minimum-norm least-squares solve. Same setting and stopping as Kaczmarz (checked every
 * ceil(m / block) steps). */
apx_status apx_solve_sketch_project(apx_op A, const double *b, double *x,
                                    const apx_solve_opts *opts, apx_solve_info *info);

/* ================================================================ stationary methods */

/* Successive over-relaxation, one forward sweep per iteration with omega = opts->omega:
 * x_i <- (1 - omega) x_i + omega (b_i - sum_{j != i} a_ij x_j) / a_ii. A (n,n) dense or
 * CSR with a non-zero diagonal (APX_ENUMERIC otherwise). Converges for symmetric positive
 * definite A and 0 < omega < 2. omega = 1 is Gauss-Seidel. */
apx_status apx_solve_sor(apx_op A, const double *b, double *x, const apx_solve_opts *opts,
                         apx_solve_info *info);

/* Symmetric SOR: a forward then a backward sweep per iteration. */
apx_status apx_solve_ssor(apx_op A, const double *b, double *x, const apx_solve_opts *opts,
                          apx_solve_info *info);

/* ================================================================ bandit-tuned SOR (P128) */

/* Tsallis-INF (1/2-Tsallis entropy, Zimmert-Seldin 2021, learning rate 2/sqrt(t),
 * importance-weighted losses) over a grid of relaxation parameters, for a sequence of
 * systems A_t x = b_t: each solve picks omega_t from the grid, runs SOR to the tolerance of
 * its opts, and feeds back the cost (iterations - 1) / scale as the arm's loss. The scale is
 * cost_scale when > 0 (the loss then capped at 1; P128's text uses 100), else the running
 * mean cost (as P128's reference code does, so typical losses are ~1 whatever the system). */
typedef struct apx_sor_bandit apx_sor_bandit;

typedef struct {
    int64_t arms;      /* grid size (<= 0, the default: floor((2 T)^(1/3)), at least 2) */
    double omega_lo;   /* grid start (default 1.0) */
    double omega_hi;   /* grid end (default 1.9) */
    int64_t horizon;   /* T, the expected number of systems (default 500) */
    double cost_scale; /* > 0: fixed scale; <= 0 (the default 0): the running mean cost */
    uint64_t seed;     /* default 0 */
} apx_sor_bandit_opts;

apx_sor_bandit_opts apx_sor_bandit_opts_default(void);

apx_status apx_sor_bandit_create(const apx_sor_bandit_opts *opts, apx_sor_bandit **out);
/* Solve one system with the omega the bandit picks (opts->omega is ignored; SOR's other
 * options apply), update the bandit with the iteration count, and report the omega used.
 * A system that does not converge within max_iters costs the full loss 1 and returns
 * APX_ENOCONV (the bandit is still updated). */
apx_status apx_sor_bandit_solve(apx_sor_bandit *bandit, apx_op A, const double *b, double *x,
                                const apx_solve_opts *opts, double *omega_used,
                                apx_solve_info *info);
/* The grid (arms values) and the cumulative iterations spent per arm and pulls per arm
 * (any pointer may be NULL; arrays of the grid's size). */
apx_status apx_sor_bandit_stats(const apx_sor_bandit *bandit, int64_t *arms, double *grid,
                                int64_t *iterations, int64_t *pulls);
void apx_sor_bandit_free(apx_sor_bandit *bandit);

/* ================================================================ Halpern iteration (P011) */

/* Solve the monotone inclusion 0 in F(x) + G(x), x (d), with F = (1/n) sum_i F_i a finite
 * sum of n component operators and G maximal monotone with a cheap resolvent (Cai,
 * Alacaoglu, Diakonikolas 2024). Halpern anchoring x_{k+1} = lambda_k x_0 + (1 - lambda_k)
 * T(x_k), lambda_k = 1/(k+2):
 *  - APX_HALPERN_COCOERCIVE (F 1/L-cocoercive): T(x) = J_{eta G}(x - eta F~(x)), with F~ the
 *    exact F (deterministic) or the PAGE estimator (variance-reduced): with probability p a
 *    full F(x_k), else F~_k = F~_{k-1} + (1/b) sum_{i in batch} (F_i(x_k) - F_i(x_{k-1})).
 *  - APX_HALPERN_MONOTONE (F monotone and L-Lipschitz): inexact Halpern with T the resolvent
 *    J_{eta (F+G)}, computed to an accuracy eps_k ~ 1/(k+2)^2 by forward-backward-forward
 *    (Tseng; deterministic) or loopless SVRG-FBF (Alacaoglu-Malitsky; variance-reduced).
 * The residual is the norm of the forward-backward map, ||x - J_{eta G}(x - eta F(x))|| / eta
 * (= ||F(x)|| when G = 0), computed exactly whenever a full F(x_k) is evaluated (every step
 * of the deterministic methods, the PAGE full steps, each resolvent's start); the method
 * stops at the first such x_k with residual <= tol and returns that x_k.
 *
 * Component evaluations are counted: one per F_i(x) computed (a full F costs n). */

/* out (d) = sum_{t < count} F_{idx[t]}(x), idx[t] in [0, n) (repeats allowed); idx = NULL
 * means all n components (count = n): out = n F(x). Returns APX_OK or an error status
 * (which the solver returns). */
typedef apx_status (*apx_fsum_fn)(void *ctx, const int64_t *idx, int64_t count,
                                  const double *x, double *out);
/* out (d) = J_{eta G}(z) = (I + eta G)^{-1} z for eta > 0. */
typedef apx_status (*apx_resolvent_fn)(void *ctx, double eta, const double *z, double *out);

typedef struct {
    int64_t n;               /* components (>= 1) */
    int64_t d;               /* dimension (1 <= d <= 2^56) */
    apx_fsum_fn comp;        /* required */
    void *comp_ctx;
    apx_resolvent_fn resolvent; /* NULL: G = 0, or the box below */
    void *resolvent_ctx;
    const double *lo, *hi;   /* resolvent NULL and lo or hi non-NULL: G = normal cone of the
                                box lo <= x <= hi (d each; NULL = unbounded on that side),
                                J = projection */
    double lipschitz;        /* L of F (cocoercivity 1/L, or Lipschitz L); required > 0 */
    double lipschitz_avg;    /* mean-square L of the components, sqrt((1/n) sum L_i^2), used
                                by the variance-reduced steps (<= 0: lipschitz) */
} apx_halpern_problem;

typedef enum { APX_HALPERN_COCOERCIVE = 0, APX_HALPERN_MONOTONE = 1 } apx_halpern_setting;

typedef enum {
    APX_HALPERN_CONVERGED = 0,  /* residual <= tol */
    APX_HALPERN_MAX_EVALS = 1,  /* component evaluation budget spent */
    APX_HALPERN_MAX_ITERS = 2   /* outer iteration limit */
} apx_halpern_stop;

typedef struct {
    apx_halpern_setting setting; /* default APX_HALPERN_COCOERCIVE */
    int variance_reduced;        /* 1 (default): PAGE / SVRG-FBF; 0: deterministic */
    double eta;                  /* step (<= 0, default: cocoercive 1/L deterministic and
                                    1/L_avg variance-reduced; monotone 4/L, measured better
                                    than 1/L for both variants, docs/solve.md) */
    double prob;                 /* PAGE full-step / snapshot probability (<= 0: 1/sqrt(n)) */
    int64_t batch;               /* PAGE / SVRG batch (<= 0: cocoercive ceil(sqrt(n)),
                                    monotone ceil(sqrt(n)/4)) */
    double inner_step;           /* monotone: FBF step factor gamma: tau = gamma / (1 + eta L)
                                    deterministic (theory: gamma < 1; <= 0: 0.9), gamma
                                    sqrt(p) / (1 + eta L_avg) variance-reduced (<= 0: 2) */
    double tol;                  /* residual tolerance, absolute (default 1e-6) */
    int64_t max_evals;           /* component evaluation budget (<= 0: max(10^4 n, 10^7)) */
    int64_t max_iters;           /* outer iterations (<= 0: 10^6) */
    int64_t inner_max_iters;     /* monotone: per resolvent (<= 0: 10^4) */
    uint64_t seed;               /* default 0 */
    /* optional residual history (caller-owned, history_cap entries each; NULL to skip): the
       residual of every x_k where it was computed, the outer iteration k and the component
       evaluations spent so far. */
    double *history;
    int64_t *history_iters;
    int64_t *history_evals;
    int64_t history_cap;
    apx_progress progress;       /* fraction: evaluations / max_evals */
} apx_halpern_opts;

apx_halpern_opts apx_halpern_opts_default(void);

typedef struct {
    int64_t iterations;       /* outer Halpern steps taken */
    int64_t inner_iterations; /* monotone: FBF steps, all resolvents together */
    int64_t evaluations;      /* component evaluations F_i(x) */
    int64_t full_passes;      /* full F evaluations (n components each) */
    double residual;          /* residual of the returned x (exact) */
    double eta;               /* the step used */
    int converged;
    apx_halpern_stop stop;
    int64_t history_len;      /* entries written to the history buffers */
    double seconds;
} apx_halpern_info;

/* Solve 0 in F(x) + G(x) from x0 (d; NULL: 0; it is the Halpern anchor), x (d) the result.
 * Not reaching tol returns APX_ENOCONV with the last iterate in x, its exact residual in
 * info (one more full pass) and info->stop saying why. Errors: APX_EINVAL (NULL problem,
 * comp or x, n or d < 1, lipschitz not > 0 or not finite, lo > hi, NaN/Inf in x0 or a bound,
 * a bad option, a callback error), APX_ENUMERIC (a non-finite operator value: diverging
 * iterates, a step too large), APX_ENOCONV,
 * APX_ECANCELED, APX_ENOMEM. Single-threaded apart from the callbacks; deterministic for
 * a given seed. */
apx_status apx_halpern(const apx_halpern_problem *problem, const double *x0, double *x,
                       const apx_halpern_opts *opts, apx_halpern_info *info);

/* Built-in component families (ctx for apx_halpern_problem.comp, views must outlive the
 * solve), with their constants filled by the setup functions:
 *  - finite-sum least squares: A (N,d), b (N), split into n blocks of consecutive rows
 *    (sizes differ by at most one), F_i(x) = A_i^T (A_i x - b_i). L = lambda_max(A^T A)/n,
 *    L_i = ||A_i||_2^2 (exact, by eigenvalue decompositions).
 *  - bilinear saddle: min_u max_v (1/n) sum_i (u^T B_i v + a_i^T u - c_i^T v), B (n,p,q)
 *    stored as n row-major (p,q) blocks in one (n p, q) matrix, a (n,p), c (n,q); x = (u, v)
 *    (d = p + q), F_i(x) = (B_i v + a_i, c_i - B_i^T u), monotone, L = ||mean B_i||_2,
 *    L_i = ||B_i||_2. */
typedef struct {
    int kind;          /* 0 least squares, 1 bilinear */
    apx_dmat A;        /* least squares: A (N,d); bilinear: B (n p, q) */
    const double *b;   /* least squares: b (N) */
    const double *a;   /* bilinear: a (n,p) */
    const double *c;   /* bilinear: c (n,q) */
    int64_t n, p, q;
} apx_fsum_data;

/* Fill *data and *problem (comp = the built-in callback, ctx = data; resolvent NULL) for
 * the least-squares family with n blocks (1 <= n <= N). Errors: APX_EINVAL (NULL, NaN/Inf,
 * n out of range), APX_ESHAPE (empty A), APX_ENOMEM, APX_ENUMERIC (SVD failed). */
apx_status apx_fsum_lstsq(apx_dmat A, const double *b, int64_t n, apx_fsum_data *data,
                          apx_halpern_problem *problem);
/* The bilinear family: B (n p, q) as n stacked (p,q) blocks, a (n p) (NULL: 0), c (n q)
 * (NULL: 0). Errors: APX_EINVAL (NULL, NaN/Inf, n not dividing B's rows, a zero mean
 * block), APX_ESHAPE (empty B), APX_ENOMEM, APX_ENUMERIC (SVD failed). */
apx_status apx_fsum_bilinear(apx_dmat B, int64_t n, const double *a, const double *c,
                             apx_fsum_data *data, apx_halpern_problem *problem);

/* ================================================================ ALM Newton (P073) */

/* min f(x) s.t. c(x) = 0, x (n), c (m), m <= n, by the exact augmented Lagrangian Newton
 * method with randomized iterative sketching (AdaSketch-Newton, Na-Anitescu-Kolar): each
 * iteration solves the KKT system [[B, J^T], [J, 0]] [dx; dl] = -[grad_x L; c] (B = the
 * Hessian of the Lagrangian H, or H + (xi_B + ||H||_F) I when the reduced Hessian is not
 * positive definite, detected by the inertia of the KKT matrix) inexactly by randomized
 * Kaczmarz or sketch-and-project (apx_solve_kaczmarz / apx_solve_sketch_project) to the
 * relative accuracy delta_k = min(delta0, ||KKT_k||) (delta_k -> 0: superlinear local
 * convergence; floor 1e-12), then an Armijo backtracking search on the exact augmented
 * Lagrangian L_{mu,nu}(x, l) = f + c^T l + (mu/2)||c||^2 + (nu/2)||grad_x L||^2, increasing
 * mu (mu *= rho^2, nu /= rho) and tightening the inner accuracy while the direction fails
 * grad L_{mu,nu}^T d <= -(nu/2) ||KKT||^2. Stops at ||(grad_x L, c)|| <= tol. Dense KKT
 * matrices: for small to moderate n + m. */
/* The callbacks of apx_alm_problem (ctx is the problem's ctx; return APX_OK or a status). */
/* f(x) into *f and, when g != NULL, its gradient g (n). */
typedef apx_status (*apx_alm_fun_fn)(void *ctx, const double *x, double *f, double *g);
/* c(x) (m) into c and, when J != NULL, the Jacobian J (m,n) row-major. */
typedef apx_status (*apx_alm_cons_fn)(void *ctx, const double *x, double *c, double *J);
/* Hessian of the Lagrangian H (n,n) = hess f(x) + sum_i lam_i hess c_i(x), row-major. */
typedef apx_status (*apx_alm_hess_fn)(void *ctx, const double *x, const double *lam, double *H);
/* Hv (n) = H v. */
typedef apx_status (*apx_alm_hessp_fn)(void *ctx, const double *x, const double *lam,
                                       const double *v, double *Hv);

typedef struct {
    int64_t n; /* variables (1 <= n <= 2^29: the KKT matrix is dense) */
    int64_t m; /* equality constraints (1 <= m <= n) */
    apx_alm_fun_fn fun;     /* required */
    apx_alm_cons_fn cons;   /* required */
    apx_alm_hess_fn hess;   /* or NULL, and then hessp is required */
    apx_alm_hessp_fn hessp; /* used when hess is NULL (H formed column by column from n
                               products) */
    void *ctx;
} apx_alm_problem;

typedef enum {
    APX_ALM_KACZMARZ = 0,       /* randomized Kaczmarz on the KKT matrix */
    APX_ALM_SKETCH_ROWS = 1,    /* sketch-and-project, row blocks (default) */
    APX_ALM_SKETCH_GAUSSIAN = 2,/* sketch-and-project, Gaussian sketches */
    APX_ALM_DIRECT = 3          /* exact Newton-KKT by LU (the baseline) */
} apx_alm_inner;

typedef struct {
    double tol;              /* KKT residual tolerance (default 1e-8) */
    int64_t max_iters;       /* Newton iterations (default 200) */
    apx_alm_inner inner;     /* default APX_ALM_SKETCH_ROWS */
    int64_t block;           /* sketch-and-project block (<= 0: its default) */
    int64_t inner_max_iters; /* per KKT solve (<= 0: 50000 (n+m) Kaczmarz row steps, or
                                50000 (n+m) / block sketch-and-project steps) */
    double delta0;           /* inner accuracy cap (default 0.1) */
    double mu0;              /* initial mu (default 1) */
    double nu0;              /* initial nu (default 0.1) */
    double rho;              /* penalty factor (default 1.5) */
    double beta;             /* Armijo constant in (0, 0.5) (default 0.1) */
    double xi_B;             /* Hessian modification shift (default 0.1) */
    uint64_t seed;           /* default 0 */
    double *kkt_history;     /* optional (caller-owned, history_cap entries): ||KKT_k||, k =
                                0, 1, ... */
    int64_t history_cap;
    apx_progress progress;   /* fraction: iterations / max_iters */
} apx_alm_opts;

apx_alm_opts apx_alm_opts_default(void);

typedef struct {
    int64_t iterations;       /* Newton iterations */
    int64_t inner_iterations; /* Kaczmarz row steps / sketch-and-project steps, all solves */
    int64_t unit_steps;       /* iterations whose line search accepted alpha = 1 */
    int last_unit_step;       /* 1 when the last iteration took alpha = 1 */
    int64_t hess_mods;        /* iterations with a modified Hessian */
    int64_t mu_increases;     /* penalty increases */
    int64_t fun_evals;        /* calls of fun (and of cons) */
    double kkt;               /* ||(grad_x L, c)|| at the returned point */
    double f;                 /* f at the returned point */
    double mu, nu;            /* final penalties */
    int converged;
    int64_t history_len;
    double seconds;
} apx_alm_info;

/* x0 (n) start, lam0 (m) (NULL: 0); x (n) and lam (m) the result. Not reaching tol:
 * APX_ENOCONV with the last iterate. Errors: APX_EINVAL (NULL problem/fun/cons/x/lam,
 * neither hess nor hessp, n < 1, m < 1 or m > n, NaN/Inf in x0 or lam0, bad options),
 * the status of a failing callback, APX_ENUMERIC (a non-finite callback value at an
 * iterate; the KKT matrix singular: the Jacobian is rank-deficient; the line search fails;
 * a non-finite value at a line-search trial point only shortens the step), APX_ENOCONV,
 * APX_ECANCELED, APX_ENOMEM. Single-threaded apart from the BLAS/LAPACK calls. */
apx_status apx_alm_newton(const apx_alm_problem *problem, const double *x0, const double *lam0,
                          double *x, double *lam, const apx_alm_opts *opts, apx_alm_info *info);

/* A built-in problem, equality-constrained logistic regression: min (1/N) sum_j
 * log(1 + exp(-y_j x_j^T w)) + (reg/2)||w||^2 s.t. C w = e, X (N,n), y (N) in {-1, +1},
 * C (m,n), e (m). Fills *problem (ctx = data; views must outlive the solve). */
typedef struct {
    apx_dmat X, C;
    const double *y, *e;
    double reg;
    double *work; /* (N) scratch, owned: apx_alm_logreg_free */
} apx_alm_logreg;

/* Errors: APX_EINVAL (NULL, NaN/Inf, labels not +-1, reg < 0 or not finite), APX_ESHAPE
 * (empty X or C, C's cols != X's), APX_ENOMEM (data->work). */
apx_status apx_alm_logreg_setup(apx_dmat X, const double *y, apx_dmat C, const double *e,
                                double reg, apx_alm_logreg *data, apx_alm_problem *problem);
void apx_alm_logreg_free(apx_alm_logreg *data);

/* A built-in equality-constrained quadratic program: min (1/2) x^T Q x + q^T x s.t. C x = e,
 * Q (n,n) (its symmetric part is used), q (n), C (m,n), e (m). Fills *problem (ctx = data;
 * the views must outlive the solve; nothing to free). */
typedef struct {
    apx_dmat Q, C;
    const double *q, *e;
} apx_alm_qp;

/* Errors: APX_EINVAL (NULL, NaN/Inf), APX_ESHAPE (Q not (n,n), C not (m,n), empty). */
apx_status apx_alm_qp_setup(apx_dmat Q, const double *q, apx_dmat C, const double *e,
                            apx_alm_qp *data, apx_alm_problem *problem);

#ifdef __cplusplus
}
#endif
#endif /* APX_SOLVE_H */
