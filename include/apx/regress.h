/* apx/regress.h: regression. This first section: least squares by QR and by
 * sketch-and-precondition (LSQR on a preconditioner from a sketch, as Blendenpik and LSRN),
 * sketch-and-solve (the dense-sketch l_inf-guarantee setting of P026), weighted least
 * squares, l_p regression by IRLS (1 <= p < inf) and l_inf (Chebyshev) regression.
 * Double precision.
 *
 * Shapes: A (m,n), B (m,r), X (n,r): each column of B is a right-hand side. Outputs are
 * caller-allocated (APX_ESHAPE if not of the documented shape); inputs are never modified.
 * NaN/Inf is APX_EINVAL; empty inputs are APX_ESHAPE. Threads: OpenMP and the BLAS.
 * Randomized methods depend only on opts->seed, not on the thread count.
 */
#ifndef APX_REGRESS_H
#define APX_REGRESS_H

#include "apx/core.h"
#include "apx/sketch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ least squares */

typedef enum {
    APX_LSTSQ_QR = 0,          /* Householder QR of A (m >= n), x = R^-1 Q^T b; when R is
                                  numerically rank deficient (singular values of R below
                                  rcond * s_max), x = the minimum-norm solution from the SVD
                                  of R. m < n: the minimum-norm solution by LAPACK gelsd */
    APX_LSTSQ_SKETCH = 1,      /* sketch-and-precondition (Blendenpik / LSRN): S A with
                                  s = oversample * n rows, its SVD S A = U Sigma V^T at the
                                  numerical rank r, preconditioner N = V_r Sigma_r^-1, start
                                  from the sketch-and-solve solution, then LSQR on A N to
                                  tol. Rank deficient A: the minimum-norm solution (within
                                  the LSQR tolerance). m < 2n: falls back to QR. */
    APX_LSTSQ_SKETCH_SOLVE = 2,/* sketch-and-solve only: x = argmin ||S A x - S b|| (one
                                  sketch, no iterations): a (1 + eps) approximation, for
                                  the l_inf error bound of P026 use a dense kind (Gaussian,
                                  Rademacher or SRHT) */
    APX_LSTSQ_SVD = 3          /* LAPACK gelsd (the reference; minimum norm) */
} apx_lstsq_method;

typedef struct {
    apx_lstsq_method method; /* default APX_LSTSQ_SKETCH */
    apx_embed_kind sketch;   /* default APX_EMBED_SPARSE_SIGN */
    double oversample;       /* sketch rows s = ceil(oversample * n), capped at m
                                (default 10) */
    double tol;              /* LSQR tolerance (default 1e-14) */
    int64_t max_iters;       /* LSQR steps per right-hand side (<= 0, default: 200) */
    double rcond;            /* rank cut-off (< 0, default: max(m,n) * machine epsilon) */
    uint64_t seed;           /* default 0 */
    apx_progress progress;
} apx_lstsq_opts;

apx_lstsq_opts apx_lstsq_opts_default(void);

typedef struct {
    apx_lstsq_method method; /* the method that produced X (after any fallback) */
    int64_t rank;            /* numerical rank found (of R, S A or A) */
    int64_t sketch_rows;     /* s (0 if no sketch) */
    int64_t iterations;      /* LSQR steps, summed over the right-hand sides */
    int converged;           /* every LSQR run reached tol (1 for direct methods) */
    double residual_norm;    /* ||A X - B||_F */
    double cond_precond;     /* sketch: LSQR's estimate of the Frobenius-norm condition
                                number |AN|_F |(AN)^+|_F of the preconditioned operator
                                (about the rank when N is perfect; else 0) */
    double seconds;
} apx_lstsq_info;

/* Least squares min ||A X - B||_F. B (m,r), X (n,r). APX_ENOCONV when LSQR did not reach
 * tol within max_iters (X holds the last iterate). */
apx_status apx_regress_lstsq(apx_dmat A, apx_dmat B, apx_dmat X, const apx_lstsq_opts *opts,
                             apx_lstsq_info *info);

/* Weighted least squares min sum_i w_i (a_i^T x - b_i)^2 with w (m) >= 0, finite: the rows
 * scaled by sqrt(w_i), then apx_regress_lstsq. */
apx_status apx_regress_wlstsq(apx_dmat A, apx_dmat B, const double *w, apx_dmat X,
                              const apx_lstsq_opts *opts, apx_lstsq_info *info);

/* ================================================================ l_p and l_inf regression */

typedef struct {
    int max_iters;  /* IRLS or Lawson steps (<= 0, the default: 200; l_inf: 2000) */
    double tol;     /* IRLS: relative decrease of the cost below tol; l_inf: relative gap
                       (upper - lower) / upper <= tol (< 0, the default: 1e-10; l_inf 1e-6) */
    double eps;     /* p < 2: smallest smoothing of |r| (weights (r^2 + e^2)^((p-2)/2),
                       e decreased by 10 from ||r||_inf down to eps * ||b||_inf;
                       default 1e-10) */
    apx_progress progress;
} apx_lp_opts;

apx_lp_opts apx_lp_opts_default(void);

typedef struct {
    int iterations;
    int converged;
    double cost;        /* ||A x - b||_p (l_inf: max |A x - b|) */
    double lower_bound; /* l_inf: a certified lower bound on the optimal cost (Lawson's
                           weighted least squares); l_p: 0 */
    double seconds;
} apx_lp_info;

/* min ||A x - b||_p, A (m,n) full column rank (m >= n), b (m), x (n), 1 <= p < inf, by
 * iteratively reweighted least squares started from the least-squares solution: for p < 2
 * majorization-minimization with weights (r^2 + e^2)^((p-2)/2) and a smoothing e that
 * decreases to opts->eps; for p > 2 Newton steps (the IRLS step scaled by 1/(p-1)) with
 * backtracking; p = 2 is one QR solve. APX_ENOCONV if tol is not reached. */
apx_status apx_regress_lp(apx_dmat A, const double *b, double p, double *x,
                          const apx_lp_opts *opts, apx_lp_info *info);

/* min max_i |a_i^T x - b_i| (Chebyshev regression) by Lawson's algorithm: weighted least
 * squares with w_i <- w_i |r_i| / sum_j w_j |r_j|; stops when the relative gap between the
 * best max |r| seen (x is that iterate) and Lawson's lower bound sqrt(sum w_i r_i^2) falls
 * below tol. APX_ENOCONV otherwise (x the best iterate, info has both bounds). */
apx_status apx_regress_linf(apx_dmat A, const double *b, double *x, const apx_lp_opts *opts,
                            apx_lp_info *info);

/* ================================================================ nonlinear least squares
 * (Levenberg-Marquardt), the NAV light-curve model of P085, local linear explanations (P042) */

/* ---------------------------------------------------------------- Levenberg-Marquardt
 * min_x 0.5 ||r(x)||^2 for r: R^n -> R^m (m >= 1, n >= 1) given by callbacks. Moré's
 * trust-region Levenberg-Marquardt (as MINPACK lmder, which scipy.optimize.least_squares
 * (method="lm") wraps): diagonal scaling D from the column norms of J (kept at their running
 * maximum), radius delta, damping lambda chosen so that ||D p|| ~ delta. Each damped step
 * min ||J p + r||^2 + lambda ||D p||^2 is solved through the SVD of J D^-1, which
 * diagonalizes the augmented system [J D^-1; sqrt(lambda) I] for every lambda (no normal
 * equations); for m >= n that SVD comes from the Householder QR of [J D^-1 | r] and the SVD
 * of the small triangular factor. Callbacks return 0 on success; a non-zero return aborts the fit with that
 * status when it is an apx_status (1..9), else APX_EINVAL, and a message naming the
 * callback and the evaluation (the callback's own apx message, if it set one, is kept).
 * A non-finite residual at the start is APX_EINVAL; at a trial point the step is rejected
 * (the radius shrinks). */

/* r (m) = r(x (n)). */
typedef int (*apx_lm_fun)(void *ctx, const double *x, double *r);
/* J (m,n) row-major, J[i*n + j] = d r_i / d x_j at x (n). */
typedef int (*apx_lm_jac)(void *ctx, const double *x, double *J);

typedef struct {
    int64_t m, n;   /* residuals, parameters */
    apx_lm_fun fun; /* required */
    apx_lm_jac jac; /* NULL: forward differences, step h_j = sqrt(eps) max(|x_j|, 1), one
                       residual evaluation per column (counted in nfev) */
    void *ctx;
} apx_lm_problem;

typedef struct {
    int64_t max_nfev; /* residual evaluations, those of the differences included (<= 0, the
                         default: 100 n with a Jacobian callback, 100 n (n + 1) without,
                         as scipy's lm) */
    double ftol;      /* relative reduction of the cost (actual and predicted) below ftol
                         (default 1e-8; 0 disables) */
    double xtol;      /* trust radius below xtol ||D x|| (default 1e-8; 0 disables) */
    double gtol;      /* max_j |cos(J_j, r)| below gtol (default 1e-8; 0 disables) */
    double factor;    /* initial radius factor * ||D x0|| (factor if 0; default 100) */
    int scale_diag;   /* 1 (default): Moré's scaling D = running max of the column norms
                         of J; 0: D = I */
    apx_progress progress; /* once per iteration; fraction = nfev / max_nfev */
} apx_lm_opts;

apx_lm_opts apx_lm_opts_default(void);

/* Why the fit stopped (the numbers are scipy's least_squares `status`). */
typedef enum {
    APX_LM_MAXFEV = 0, /* the budget ran out (the call returns APX_ENOCONV) */
    APX_LM_GTOL = 1,
    APX_LM_FTOL = 2,
    APX_LM_XTOL = 3,
    APX_LM_FTOL_XTOL = 4
} apx_lm_stop;

typedef struct {
    int64_t iterations; /* Jacobians factored (outer iterations) */
    int64_t nfev;       /* residual evaluations (differences included) */
    int64_t njev;       /* Jacobian evaluations (callback or differences), the final one
                           for the covariance included */
    double cost;        /* 0.5 ||r(x)||^2 at the returned x */
    double grad_norm;   /* ||J^T r||_inf at x */
    apx_lm_stop stop;
    double s2;          /* residual variance 2 cost / (m - n); NaN when m <= n */
    int64_t rank;       /* numerical rank of J at x (SVD, cut-off max(m,n) eps s_max) */
    double seconds;
} apx_lm_info;

/* Minimize 0.5 ||r(x)||^2 from x (n) (in: the start, out: the solution, or the best point
 * when the budget ran out: APX_ENOCONV). cov (n,n) row-major, may be NULL: the parameter
 * covariance s2 (J^T J)^+ at x (pseudo-inverse at the numerical rank; NaN everywhere when
 * m <= n); its diagonal's square roots are the standard errors. Single-threaded apart from
 * the BLAS; the callbacks run in the calling thread. */
apx_status apx_regress_lm(apx_lm_problem prob, double *x, const apx_lm_opts *opts,
                          apx_lm_info *info, double *cov);

/* ---------------------------------------------------------------- NAV light curves (P085)
 * Andronov's NAV ("New Algol Variable") model of an eclipsing binary's light curve, phase
 * u = (t - T0) / P, phi1 = u - round(u), phi2 = (u - 1/2) - round(u - 1/2) (both in
 * [-1/2, 1/2], 0 at the primary and the secondary minimum):
 *   m(t) = C1 + C2 cos 2 pi u + C3 sin 2 pi u + C4 cos 4 pi u + C5 sin 4 pi u
 *        + C6 H(phi1 / C8, C9) + C7 H(phi2 / C8, C10),
 *   H(z, beta) = (1 - |z|^beta)^(3/2) for |z| < 1, else 0.
 * One half-width C8 shared by both eclipses (Andronov 2012: 10 parameters with P and T0
 * fixed, 12 with them fitted). Parameter vectors hold 12 numbers:
 *   p = [C1..C7, C8 (width), C9 (beta1), C10 (beta2), P, T0]. */
enum { APX_NAV_NPARAM = 12 };

/* Model values mag (n) at times t (n) for the 12 parameters p (C8 > 0, C9, C10 > 0, P > 0).
 * With J (n,12) non-NULL (row-major), also the Jacobian d mag / d p. Errors: APX_ESHAPE
 * (n < 1), APX_EINVAL (NULL t, p or mag, NaN/Inf, a parameter out of range). */
apx_status apx_nav_model(const double *t, int64_t n, const double *p, double *mag,
                         double *J);

typedef struct {
    int fit_period;   /* 0 (default): P and T0 fixed (10 parameters); 1: fitted (12),
                         starting from the 10-parameter fit */
    double width0;    /* starting half-width (> 0), or 0 (default): from the data (below) */
    apx_lm_opts lm;   /* Levenberg-Marquardt settings (default apx_lm_opts_default()) */
} apx_nav_opts;

apx_nav_opts apx_nav_opts_default(void);

typedef struct {
    int nparams;       /* 10 or 12 */
    double rms;        /* sqrt(mean (y - m)^2) (unweighted) */
    double chi2;       /* sum ((y - m) / sigma)^2 (sigma = 1 when not given) */
    double bic;        /* n ln(chi2 / n) + nparams ln n */
    apx_lm_info lm;    /* the final Levenberg-Marquardt run */
} apx_nav_info;

/* Fit the NAV model to (t, y) (n >= 14 points), optional errors sigma (n) > 0 (NULL:
 * unweighted), period P > 0 and epoch T0 of a primary minimum (every |t - T0| / P < 2^40,
 * else APX_EINVAL: the phases would be rounding noise). Starting values (the data
 * decide them): for each half-width on a grid 0.02 ... 0.25 (or width0) and each shared
 * beta in {1, 1.5, 2, 3}, C1..C7 by linear least squares (the model is linear in them);
 * the best grid point starts Levenberg-Marquardt. p (12) and err (12, may be NULL: the
 * standard errors sqrt(diag cov); 0 for P and T0 when fixed) are outputs. APX_ENOCONV
 * when Levenberg-Marquardt ran out of evaluations (p holds its best point). Errors also:
 * APX_ESHAPE (n < 14), APX_EINVAL (NULL, NaN/Inf, sigma <= 0, width0 outside [0, 0.5)),
 * APX_ENOMEM, those of apx_regress_lm. */
apx_status apx_nav_fit(const double *t, const double *y, const double *sigma, int64_t n,
                       double P, double T0, const apx_nav_opts *opts, double *p,
                       double *err, apx_nav_info *info);

/* Trigonometric polynomial of order s (2s + 1 coefficients):
 *   m(t) = a0 + sum_{k=1..s} (a_k cos 2 pi k u + b_k sin 2 pi k u), u = (t - T0) / P,
 * coef = [a0, a1, b1, a2, b2, ...]. */
typedef enum { APX_TP_BIC = 0, APX_TP_FISHER = 1 } apx_tp_criterion;

typedef struct {
    int order;     /* s */
    double rms;    /* sqrt(mean (y - m)^2) */
    double chi2;   /* weighted residual sum of squares */
    double bic;    /* n ln(chi2 / n) + (2s + 1) ln n */
} apx_tp_info;

/* Least-squares TP fit of order s >= 0 (2s + 1 <= n) to (t, y), sigma as apx_nav_fit;
 * coef (2s + 1). Householder QR (minimum norm if the design is rank deficient). Errors:
 * APX_ESHAPE (2s + 1 > n), APX_EINVAL (NULL, NaN/Inf, sigma <= 0, s outside [0, 2^20],
 * P <= 0, t too far from T0 as for apx_nav_fit), APX_ENOMEM. */
apx_status apx_tp_fit(const double *t, const double *y, const double *sigma, int64_t n,
                      double P, double T0, int s, double *coef, apx_tp_info *info);

/* Choose the order in 0..s_max (2 s_max + 1 <= n - 1) by BIC (the smallest) or by Fisher
 * tests (raise s while adding the order's two terms is significant at level `alpha`,
 * F(2, n - 2s - 3) has the closed-form tail (1 + 2F/d)^(-d/2)); coef (2 s_max + 1) gets the
 * chosen fit's coefficients (the rest zeroed), info the chosen fit. Errors: as apx_tp_fit,
 * and APX_EINVAL for an unknown criterion or alpha outside (0, 1) with APX_TP_FISHER. */
apx_status apx_tp_select(const double *t, const double *y, const double *sigma, int64_t n,
                         double P, double T0, int s_max, apx_tp_criterion crit,
                         double alpha, double *coef, apx_tp_info *info);

/* ---------------------------------------------------------------- local explanations (P042)
 * Local function approximation (Han, Srinivas, Lakkaraju 2022): an explanation of a black
 * box f at x0 (d) is an affine model g fitted on a neighbourhood of x0.
 *   CLIME      xi ~ N(0, sigma^2 I), least squares f(x0 + xi) ~ b + w^T xi;
 *   LIME       binary masks z uniform on {0,1}^d, x(z) = z * x0 + (1 - z) * baseline,
 *              weights exp(-|1 - z|^2 / width^2), weighted least squares f(x(z)) ~ b + w^T z;
 *   LIME_GAUSS continuous LIME: xi ~ N(0, sigma^2 I), weights exp(-|xi|^2 / width^2);
 *   KERNELSHAP masks with the Shapley kernel, constrained least squares (b = f(baseline),
 *              sum w = f(x0) - f(baseline)); all 2^d - 2 coalitions with exact weights
 *              when that is <= n_samples (then w are the exact Shapley values of the
 *              baseline game), else n_samples coalitions drawn from the kernel;
 *   SMOOTHGRAD w = mean grad f(x0 + xi), xi ~ N(0, sigma^2 I), b = f(x0);
 *   VG         w = grad f(x0), b = f(x0);  GXI: w = x0 * grad f(x0), b = f(x0);
 *   IG         w = (x0 - baseline) * mean_k grad f(baseline + (k - 1/2)/steps (x0 - baseline))
 *              (midpoint Riemann sum over ig_steps), b = f(baseline);
 *   OCCLUSION  w_j = f(x0) - f(x0 with x0_j replaced by baseline_j), b = f(x0).
 * f is evaluated in batches: y (k) = f(X (k,d)); the gradient callback G (k,d) = grad f(X).
 * Without a gradient callback the gradient methods use central differences (step
 * cbrt(eps) max(|x_j|, 1), 2d evaluations of f per point). Random draws depend only on
 * seed. Callback failures as apx_regress_lm. */

typedef int (*apx_explain_f)(void *ctx, apx_dmat X, double *y);
typedef int (*apx_explain_grad)(void *ctx, apx_dmat X, apx_dmat G);

typedef struct {
    int64_t d;             /* input dimension */
    apx_explain_f f;       /* required */
    apx_explain_grad grad; /* NULL: central differences */
    void *ctx;
} apx_explain_model;

typedef enum {
    APX_EXPLAIN_CLIME = 0,
    APX_EXPLAIN_LIME = 1,
    APX_EXPLAIN_LIME_GAUSS = 2,
    APX_EXPLAIN_KERNELSHAP = 3,
    APX_EXPLAIN_SMOOTHGRAD = 4,
    APX_EXPLAIN_VG = 5,
    APX_EXPLAIN_GXI = 6,
    APX_EXPLAIN_IG = 7,
    APX_EXPLAIN_OCCLUSION = 8
} apx_explain_method;

/* "clime", "lime", "lime-gauss", "kernelshap", "smoothgrad", "vg", "gxi", "ig",
 * "occlusion" <-> the enum. parse: APX_EINVAL for an unknown name; name: NULL if out of
 * range. */
apx_status apx_explain_parse(const char *name, apx_explain_method *m);
const char *apx_explain_name(apx_explain_method m);

typedef struct {
    int64_t n_samples;      /* perturbations (default 2000) */
    double sigma;           /* Gaussian neighbourhood scale (default 0.1) */
    double width;           /* LIME kernel width (<= 0, the default: 0.75 sqrt(d)) */
    int ig_steps;           /* IG midpoints (default 64) */
    const double *baseline; /* (d), NULL: zeros (LIME, KernelSHAP, IG, occlusion) */
    uint64_t seed;          /* default 0 */
    int64_t batch;          /* rows per f / grad call (default 1024) */
} apx_explain_opts;

apx_explain_opts apx_explain_opts_default(void);

/* The explanation (w (d), intercept *b, may be NULL) of `model` at x0 (d). Errors:
 * APX_ESHAPE (d outside [1, 2^24]), APX_EINVAL (NULL f, x0 or w, NaN/Inf in x0 or the
 * baseline, bad options, too few samples for the method, a callback that failed or returned
 * NaN/Inf: the message has the call), APX_ENOMEM. */
apx_status apx_explain(apx_explain_model model, const double *x0, apx_explain_method method,
                       const apx_explain_opts *opts, double *w, double *b);

/* LFA loss (unfaithfulness) of the affine explanation (w, b) on n_eval fresh draws (stream
 * `seed`, independent of the fit's) of the neighbourhood of `method` with `opts` (CLIME,
 * LIME, LIME_GAUSS or KERNELSHAP: the function-matching ones): the kernel-weighted mean
 * of (f(x) - b - w^T v)^2, v = xi or z as the method defines. Other methods: APX_EINVAL. */
apx_status apx_explain_lfa_loss(apx_explain_model model, const double *x0,
                                apx_explain_method method, const apx_explain_opts *opts,
                                const double *w, double b, int64_t n_eval, uint64_t seed,
                                double *loss);

/* -- end of the nonlinear section -- */

/* ================================================================ random features (P068),
 * kernel and NTK regression and classification (P078) */

/* Random features (P068): a plan holds N frozen hidden units (a_j in R^d, b_j), drawn once
 * from a seed; the features of X (n,d) are Phi (n,N), Phi_ij = s * act(a_j . x_i - b_j),
 * and a readout C (N,r) is fitted by ridge least squares, f(x) = Phi(x) C.
 * Kinds of weights:
 *   APX_RF_UNIFORM   a_j ~ U[-A, A]^d, b_j ~ U[-B, B] (the band-limited net of P068; A = band)
 *   APX_RF_GAUSSIAN  a_j ~ N(0, A^2 I), b_j ~ N(0, B^2) (the unbounded baseline; A = scale)
 *   APX_RF_FOURIER   random Fourier features of the Gaussian kernel exp(-A ||x - z||^2):
 *                    a_j ~ N(0, 2A I), b_j ~ U[0, 2 pi), act = cos, s = sqrt(2/N), so that
 *                    Phi Phi^T -> the kernel matrix as N grows (the activation is ignored)
 * s = 1 for the other kinds; B = bias_band (< 0: B = A). The plan is read-only after
 * apx_rf_create: one plan may be used by many threads at once. */
typedef enum { APX_RF_UNIFORM = 0, APX_RF_GAUSSIAN = 1, APX_RF_FOURIER = 2 } apx_rf_kind;

typedef enum { APX_ACT_TANH = 0, APX_ACT_RELU = 1, APX_ACT_SIGMOID = 2, APX_ACT_COS = 3 } apx_act;

typedef struct {
    apx_rf_kind kind; /* default APX_RF_UNIFORM */
    apx_act act;      /* default APX_ACT_TANH */
    double band;      /* A > 0 (default 1) */
    double bias_band; /* B >= 0 (< 0, the default: B = A) */
    uint64_t seed;    /* default 0; the weights depend only on (seed, d, N, kind, A, B) */
} apx_rf_opts;

apx_rf_opts apx_rf_opts_default(void);

typedef struct apx_rf apx_rf;

/* Draw the plan's weights for inputs of dimension d >= 1 and N >= 1 features. *plan is set
 * to NULL on failure. Errors: APX_ESHAPE (d or N < 1, or d N too large), APX_EINVAL (kind,
 * act, band not finite or <= 0, bias_band not finite), APX_ENOMEM. */
apx_status apx_rf_create(int64_t d, int64_t N, const apx_rf_opts *opts, apx_rf **plan);
void apx_rf_free(apx_rf *plan); /* NULL is a no-op */

/* The plan's sizes and weights: W (N,d) = rows a_j, b (N) (either may be NULL to skip).
 * Errors: APX_EINVAL (NULL plan), APX_ESHAPE (W's shape). */
apx_status apx_rf_weights(const apx_rf *plan, int64_t *d, int64_t *N, apx_dmat *W, double *b);

/* Phi (n,N) = s * act(X W^T - 1 b^T) for X (n,d). Threads: BLAS + OpenMP. Errors:
 * APX_EINVAL (NULL plan, NaN/Inf in X), APX_ESHAPE (X's cols != d, Phi's shape). */
apx_status apx_rf_transform(const apx_rf *plan, apx_dmat X, apx_dmat Phi);

typedef struct {
    int64_t rank;     /* lambda = 0: numerical rank of Phi found by gelsd; else N */
    int method;       /* 0: (Phi^T Phi + lambda I) C = Phi^T Y (n >= N); 1: the dual form
                         C = Phi^T (Phi Phi^T + lambda I)^-1 Y (n < N); 2: gelsd */
    double train_rmse;/* sqrt(||Phi C - Y||_F^2 / (n r)) */
    double seconds;
} apx_rf_info;

/* Ridge readout C (N,r) = argmin ||Phi(X) C - Y||_F^2 + lambda ||C||_F^2 for X (n,d),
 * Y (n,r); lambda > 0 by Cholesky on the smaller of the two normal-equation forms, lambda = 0
 * the minimum-norm least-squares solution (LAPACK gelsd, singular values below
 * rcond * s_max dropped; rcond < 0: machine epsilon). info may be NULL. Errors: APX_EINVAL
 * (lambda < 0 or not finite, NaN/Inf in X or Y), APX_ESHAPE, APX_ENUMERIC (Cholesky failed:
 * lambda too small against ||Phi||^2 in double), APX_ENOMEM. */
apx_status apx_rf_fit(const apx_rf *plan, apx_dmat X, apx_dmat Y, double lambda, double rcond,
                      apx_dmat C, apx_rf_info *info);

/* P (n,r) = Phi(X) C for X (n,d), C (N,r), in row blocks (Phi is never held whole).
 * Errors: APX_EINVAL (NULL plan, NaN/Inf in X or C), APX_ESHAPE (X's cols != d, C's rows
 * != N, P's shape, empty), APX_ENOMEM. */
apx_status apx_rf_predict(const apx_rf *plan, apx_dmat X, apx_dmat C, apx_dmat P);

/* Names for the CLI and Python: "uniform", "gaussian", "fourier"; "tanh", "relu",
 * "sigmoid", "cos". Parse: APX_EINVAL (with the known names) for an unknown name. */
const char *apx_rf_kind_name(apx_rf_kind k);
const char *apx_act_name(apx_act a);
apx_status apx_rf_kind_parse(const char *name, apx_rf_kind *k);
apx_status apx_act_parse(const char *name, apx_act *a);

/* ---------------------------------------------------------------- kernels (P078)
 * Kernels k(x, z) for rows x of X (n,d) and z of Z (m,d):
 *   RBF      exp(-gamma ||x - z||^2)
 *   LAPLACE  exp(-gamma ||x - z||_1)            (scikit-learn's "laplacian": the l1 distance)
 *   POLY     (gamma x.z + coef0)^degree
 *   ARCCOS   Cho & Saul's arc-cosine kernel of degree 0 or 1 (= the ReLU NNGP with He
 *            scaling): (1/pi) |x|^n |z|^n J_n(t), t = angle(x, z), J_0 = pi - t,
 *            J_1 = sin t + (pi - t) cos t
 *   NNGP     Sigma^(L)(rho), rho = x.z / (|x| |z|) (the inputs are projected onto the unit
 *            sphere): Sigma^(0) = rho, Sigma^(l) = r(Sigma^(l-1)), r the normalized dual
 *            activation of `act` (r(1) = 1)
 *   NTK      Theta^(L)(rho): Theta^(0) = rho, Theta^(l) = Theta^(l-1) r'(Sigma^(l-1)) +
 *            Sigma^(l): the neural tangent kernel of a fully connected net with L hidden
 *            layers (NTK parameterization, activations scaled so E[act(u)^2] = 1)
 * Dual activations r(rho) (Radhakrishnan, Belkin & Uhler's explicit activations, P078):
 *   RELU   (sqrt(1 - rho^2) + (pi - arccos rho) rho) / pi
 *   ERF    arcsin(2 rho / 3) / arcsin(2/3)
 *   SINE   sinh(a rho) / sinh(a), a = act_param > 0
 *   OPT2   rho^7/2 + rho/2;  OPT3 rho^3/2 + rho/2;  OPT5 rho^3/4 + rho^2/2 + rho/4;
 *   OPT9   rho^3/16 + 7 rho^2/8 + rho/16   (the activations whose infinite-depth kernel
 *          classifier is the Hilbert estimate on data of dimension 2, 3, 5, 9)
 *   HERMITE  rho^k, k = degree >= 1 */
typedef enum {
    APX_KERNEL_RBF = 0,
    APX_KERNEL_LAPLACE = 1,
    APX_KERNEL_POLY = 2,
    APX_KERNEL_ARCCOS = 3,
    APX_KERNEL_NNGP = 4,
    APX_KERNEL_NTK = 5
} apx_kernel_kind;

typedef enum {
    APX_DUAL_RELU = 0,
    APX_DUAL_ERF = 1,
    APX_DUAL_SINE = 2,
    APX_DUAL_OPT2 = 3,
    APX_DUAL_OPT3 = 4,
    APX_DUAL_OPT5 = 5,
    APX_DUAL_OPT9 = 6,
    APX_DUAL_HERMITE = 7
} apx_dual_act;

typedef struct {
    apx_kernel_kind kind;
    double gamma;     /* RBF, LAPLACE, POLY: > 0; <= 0 (the default): 1/d as scikit-learn */
    double coef0;     /* POLY (default 1) */
    int degree;       /* POLY >= 1 (default 3); ARCCOS 0 or 1 (default 1); HERMITE k >= 1
                         (default 3) */
    int depth;        /* NNGP, NTK: L >= 0 (default 1; 0 gives rho) */
    apx_dual_act act; /* NNGP, NTK (default APX_DUAL_RELU) */
    double act_param; /* SINE: a > 0 (default 1) */
} apx_kernel;

/* The defaults above for `kind` (kind is not checked here). */
apx_kernel apx_kernel_default(apx_kernel_kind kind);

/* Dual activation r(rho) and r'(rho) for rho in [-1, 1] (clipped). Errors: APX_EINVAL
 * (unknown act, bad param or degree, NaN rho). Either output may be NULL. */
apx_status apx_kernel_dual(apx_dual_act act, double param, int degree, double rho,
                           double *r, double *dr);

/* K (n,m) = k(X_i, Z_j) for X (n,d), Z (m,d). NNGP/NTK: rows of X and Z must be non-zero.
 * Threads: OpenMP over rows (and the BLAS for the inner products). Errors: APX_EINVAL (NULL
 * kernel, bad parameters, NaN/Inf, a zero row for NNGP/NTK), APX_ESHAPE (d differs, K's
 * shape, empty). */
apx_status apx_kernel_matrix(const apx_kernel *k, apx_dmat X, apx_dmat Z, apx_dmat K);

/* Kernel ridge regression, fitted once, predicting many: dual coefficients
 * alpha (n,r) = (K(X,X) + lambda I)^-1 Y by Cholesky for lambda > 0 (as scikit-learn's
 * KernelRidge with the same kernel and alpha = lambda); lambda = 0 (ridgeless) the
 * minimum-norm alpha = K^+ Y by LAPACK gelsd (singular values below rcond * s_max dropped;
 * rcond < 0: machine epsilon). When the Cholesky factorization fails (an indefinite
 * kernel) gelsd is used too (info->method says which). Predictions K(Xt, X) alpha. */
typedef struct {
    double lambda;         /* >= 0 (default 1) */
    double rcond;          /* default -1 */
    apx_progress progress; /* called after the kernel matrix and the solve */
} apx_kridge_opts;

apx_kridge_opts apx_kridge_opts_default(void);

typedef struct {
    int method;       /* 0: Cholesky, 1: gelsd */
    int64_t rank;     /* gelsd: the numerical rank of K + lambda I; Cholesky: n */
    double seconds;
} apx_kridge_info;

typedef struct apx_kridge apx_kridge;

/* Fit on X (n,d), Y (n,r): the model copies X and holds alpha; *model is NULL on failure.
 * info may be NULL. Errors: as apx_kernel_matrix, APX_EINVAL (lambda < 0 or not finite,
 * NaN/Inf in Y), APX_ESHAPE (Y's rows != n), APX_ENUMERIC (gelsd failed), APX_ENOMEM,
 * APX_ECANCELED. */
apx_status apx_kridge_fit(const apx_kernel *k, apx_dmat X, apx_dmat Y,
                          const apx_kridge_opts *opts, apx_kridge **model,
                          apx_kridge_info *info);
/* P (m,r) = K(Xt, X) alpha for Xt (m,d) (row blocks; the model is read-only: threads may
 * share it). Errors: as apx_kernel_matrix (for Xt), APX_EINVAL (NULL model), APX_ESHAPE
 * (P's shape), APX_ENOMEM. */
apx_status apx_kridge_predict(const apx_kridge *model, apx_dmat Xt, apx_dmat P);
/* Sizes n, d, r and a copy of alpha (n,r) (NULL pointers skip). Errors: APX_EINVAL (NULL
 * model), APX_ESHAPE (alpha's shape). */
apx_status apx_kridge_coef(const apx_kridge *model, int64_t *n, int64_t *d, int64_t *r,
                           apx_dmat *alpha);
void apx_kridge_free(apx_kridge *model); /* NULL is a no-op */

/* Names: "rbf", "laplace", "poly", "arccos", "nngp", "ntk"; dual activations "relu", "erf",
 * "sine", "opt2", "opt3", "opt5", "opt9", "hermite". APX_EINVAL for an unknown name. */
const char *apx_kernel_name(apx_kernel_kind k);
const char *apx_dual_act_name(apx_dual_act a);
apx_status apx_kernel_parse(const char *name, apx_kernel_kind *k);
apx_status apx_dual_act_parse(const char *name, apx_dual_act *a);

/* ---------------------------------------------------------------- classifiers (P078)
 * Binary labels y (n) in {-1, +1} for training rows X (n,d); out (m) for test rows Xt (m,d)
 * gets labels in {-1, +1} (a zero vote gives +1). Distances are Euclidean.
 *   nearest neighbor: the label of the closest training row (the first one on ties);
 *   majority vote: sign(sum_i y_i) for every test row;
 *   Hilbert estimate: sign(sum_i y_i ||x - x_i||^-alpha), alpha > 0 (Devroye et al.; on
 *   the unit sphere S^(d-1) the consistent choice is alpha = d - 1); a test row equal to
 *   training rows gets the sign of their labels' sum. Computed with weights relative to the
 *   smallest distance, so it neither overflows nor underflows.
 * Errors: APX_EINVAL (labels not +-1, NaN/Inf, alpha <= 0), APX_ESHAPE (empty, d differs). */
apx_status apx_classify_nn(apx_dmat X, const double *y, apx_dmat Xt, double *out);
apx_status apx_classify_majority(const double *y, int64_t n, int64_t m, double *out);
apx_status apx_classify_hilbert(apx_dmat X, const double *y, apx_dmat Xt, double alpha,
                                double *out);

/* -- end of the kernel section -- */

#ifdef __cplusplus
}
#endif
#endif /* APX_REGRESS_H */
