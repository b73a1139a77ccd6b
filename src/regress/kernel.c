/* kernel.c: kernel matrices (RBF, Laplace, polynomial, arc-cosine, and the depth-L NNGP and
 * NTK of fully connected nets on the unit sphere by the dual-activation recursion of P078,
 * "Wide and deep neural networks achieve consistency for classification"), and kernel ridge
 * regression fitted once (Cholesky, or minimum-norm gelsd when ridgeless) and predicting
 * many. The fast kernel matrix takes the inner products from one GEMM; the plain-loop
 * reference (apx__kernel_matrix_ref) is its test oracle. */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "apx/la.h"
#include "regress/kernel_internal.h"
#include "solve/solve_internal.h"

#define PI 3.14159265358979323846

static const char *const kernel_names[] = {"rbf", "laplace", "poly", "arccos", "nngp", "ntk",
                                           NULL};
static const char *const dual_names[] = {"relu", "erf",  "sine", "opt2", "opt3",
                                         "opt5", "opt9", "hermite", NULL};

APX__KR_NAMED_ENUM(apx_kernel_kind, apx_kernel_name, apx_kernel_parse, "kernel", kernel_names)
APX__KR_NAMED_ENUM(apx_dual_act, apx_dual_act_name, apx_dual_act_parse, "dual activation",
                   dual_names)

apx_kernel apx_kernel_default(apx_kernel_kind kind) {
    apx_kernel k;
    memset(&k, 0, sizeof k);
    k.kind = kind;
    k.gamma = 0;
    k.coef0 = 1;
    k.degree = kind == APX_KERNEL_ARCCOS ? 1 : 3;
    k.depth = 1;
    k.act = APX_DUAL_RELU;
    k.act_param = 1;
    return k;
}

/* ---------------------------------------------------------------- dual activations */

static double clip1(double x) { return x > 1 ? 1 : (x < -1 ? -1 : x); }

// r(rho), r'(rho) for a valid act (rho already in [-1,1])
static void dual_eval(apx_dual_act a, double p, int deg, double x, double *r, double *dr) {
    switch (a) {
    case APX_DUAL_RELU: {
        double t = acos(x);
        *r = (sqrt((1 - x) * (1 + x)) + (PI - t) * x) / PI;
        *dr = (PI - t) / PI;
        return;
    }
    case APX_DUAL_ERF: {
        double c = asin(2.0 / 3.0);
        *r = asin(2 * x / 3) / c;
        *dr = (2.0 / 3.0) / (sqrt(1 - 4 * x * x / 9) * c);
        return;
    }
    case APX_DUAL_SINE:
        *r = sinh(p * x) / sinh(p);
        *dr = p * cosh(p * x) / sinh(p);
        return;
    case APX_DUAL_OPT2: {
        double x6 = x * x * x * x * x * x;
        *r = x6 * x / 2 + x / 2;
        *dr = 7 * x6 / 2 + 0.5;
        return;
    }
    case APX_DUAL_OPT3:
        *r = x * x * x / 2 + x / 2;
        *dr = 1.5 * x * x + 0.5;
        return;
    case APX_DUAL_OPT5:
        *r = x * x * x / 4 + x * x / 2 + x / 4;
        *dr = 0.75 * x * x + x + 0.25;
        return;
    case APX_DUAL_OPT9:
        *r = x * x * x / 16 + 7 * x * x / 8 + x / 16;
        *dr = 3 * x * x / 16 + 7 * x / 4 + 1.0 / 16;
        return;
    case APX_DUAL_HERMITE:
        *r = pow(x, deg);
        *dr = deg * pow(x, deg - 1);
        return;
    }
    *r = *dr = NAN;
}

static apx_status check_dual(const char *fn, apx_dual_act a, double p, int deg) {
    if (a < APX_DUAL_RELU || a > APX_DUAL_HERMITE)
        return apx__err(APX_EINVAL, "%s: unknown dual activation %d", fn, (int)a);
    if (a == APX_DUAL_SINE && !(p > 0 && p <= 700))
        return apx__err(APX_EINVAL, "%s: the sine activation needs 0 < act_param <= 700, got "
                        "%g", fn, p);
    if (a == APX_DUAL_HERMITE && !(deg >= 1 && deg <= 64))
        return apx__err(APX_EINVAL, "%s: the hermite activation needs 1 <= degree <= 64, got "
                        "%d", fn, deg);
    return APX_OK;
}

apx_status apx_kernel_dual(apx_dual_act act, double param, int degree, double rho, double *r,
                           double *dr) {
    APX__TRY(check_dual("kernel_dual", act, param, degree));
    if (isnan(rho)) return apx__err(APX_EINVAL, "kernel_dual: rho is NaN");
    double a = 0, b = 0;
    dual_eval(act, param, degree, clip1(rho), &a, &b);
    if (r) *r = a;
    if (dr) *dr = b;
    return APX_OK;
}

// Sigma^(L) (ntk = 0) or Theta^(L) (ntk = 1) at rho: Sigma^(0) = Theta^(0) = rho,
// Theta^(l) = Theta^(l-1) r'(Sigma^(l-1)) + Sigma^(l), Sigma^(l) = clip(r(Sigma^(l-1)))
static double deep_kernel(const apx_kernel *k, double rho, int ntk) {
    double s = clip1(rho), t = s, r, dr;
    for (int l = 0; l < k->depth; l++) {
        dual_eval(k->act, k->act_param, k->degree, s, &r, &dr);
        t = t * dr + r;
        s = clip1(r);
    }
    return ntk ? t : s;
}

/* ---------------------------------------------------------------- one entry */

// k(x, z) from the inner product g, the squared norms xx, zz and (RBF) the squared
// distance d2, (LAPLACE) the l1 distance d1
static double entry(const apx_kernel *k, double g, double xx, double zz, double d2, double d1) {
    switch (k->kind) {
    case APX_KERNEL_RBF: return exp(-k->gamma * d2);
    case APX_KERNEL_LAPLACE: return exp(-k->gamma * d1);
    case APX_KERNEL_POLY: return pow(k->gamma * g + k->coef0, k->degree);
    case APX_KERNEL_ARCCOS: {
        double nn = sqrt(xx * zz);
        double t = nn > 0 ? acos(clip1(g / nn)) : PI / 2;
        if (k->degree == 0) return 1 - t / PI;
        return nn * (sin(t) + (PI - t) * cos(t)) / PI;
    }
    case APX_KERNEL_NNGP:
    case APX_KERNEL_NTK: {
        // rho = 1 - |x/|x| - z/|z||^2 / 2 from d2 (accurate near 1) when given
        double rho = d2 >= 0 ? 1 - d2 / 2 : g / sqrt(xx * zz);
        return deep_kernel(k, rho, k->kind == APX_KERNEL_NTK);
    }
    }
    return NAN;
}

// squared distance of the unit vectors x/|x|, z/|z| (NNGP/NTK), or of x and z
static double dist2(const double *x, const double *z, int64_t d, double sx, double sz) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        double t = x[j] * sx - z[j] * sz;
        s += t * t;
    }
    return s;
}

static double dist1(const double *x, const double *z, int64_t d) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += fabs(x[j] - z[j]);
    return s;
}

static double dot(const double *x, const double *z, int64_t d) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += x[j] * z[j];
    return s;
}

static int is_deep(const apx_kernel *k) {
    return k->kind == APX_KERNEL_NNGP || k->kind == APX_KERNEL_NTK;
}

void apx__kernel_matrix_ref(const apx_kernel *k, apx_dmat X, apx_dmat Z, apx_dmat K) {
    int64_t d = X.cols;
    for (int64_t i = 0; i < X.rows; i++)
        for (int64_t j = 0; j < Z.rows; j++) {
            const double *x = X.data + i * X.ld, *z = Z.data + j * Z.ld;
            double xx = dot(x, x, d), zz = dot(z, z, d), g = dot(x, z, d);
            double d2 = is_deep(k) ? dist2(x, z, d, 1 / sqrt(xx), 1 / sqrt(zz))
                                   : dist2(x, z, d, 1, 1);
            K.data[i * K.ld + j] = entry(k, g, xx, zz, d2, dist1(x, z, d));
        }
}

/* ---------------------------------------------------------------- checks */

static apx_status check_kernel(const char *fn, const apx_kernel *k) {
    if (!k) return apx__err(APX_EINVAL, "%s: kernel is NULL", fn);
    if (k->kind < APX_KERNEL_RBF || k->kind > APX_KERNEL_NTK)
        return apx__err(APX_EINVAL, "%s: unknown kernel kind %d", fn, (int)k->kind);
    if (!isfinite(k->gamma))
        return apx__err(APX_EINVAL, "%s: gamma must be finite, got %g", fn, k->gamma);
    if (k->kind == APX_KERNEL_POLY && (!isfinite(k->coef0) || k->degree < 1 || k->degree > 64))
        return apx__err(APX_EINVAL, "%s: poly kernel needs a finite coef0 and 1 <= degree <= "
                        "64, got coef0 = %g, degree = %d", fn, k->coef0, k->degree);
    if (k->kind == APX_KERNEL_ARCCOS && k->degree != 0 && k->degree != 1)
        return apx__err(APX_EINVAL, "%s: arccos kernel degree must be 0 or 1, got %d", fn,
                        k->degree);
    if (!is_deep(k)) return APX_OK;
    if (k->depth < 0 || k->depth > 10000000)
        return apx__err(APX_EINVAL, "%s: depth must be in [0, 1e7], got %d", fn, k->depth);
    return check_dual(fn, k->act, k->act_param, k->degree);
}

// every row of X non-zero (NNGP/NTK project onto the sphere)
static apx_status check_rows(const char *fn, const char *name, apx_dmat X) {
    for (int64_t i = 0; i < X.rows; i++)
        if (dot(X.data + i * X.ld, X.data + i * X.ld, X.cols) == 0)
            return apx__err(APX_EINVAL, "%s: row %lld of %s is zero: the %s kernels project "
                            "rows onto the unit sphere", fn, (long long)i, name, "nngp/ntk");
    return APX_OK;
}

static apx_status check_pair(const char *fn, const apx_kernel *k, apx_dmat X, apx_dmat Z) {
    APX__TRY(check_kernel(fn, k));
    APX__TRY(apx__check_dmat_nonempty(fn, "X", X));
    APX__TRY(apx__check_dmat_nonempty(fn, "Z", Z));
    if (X.cols != Z.cols)
        return apx__err(APX_ESHAPE, "%s: X has %lld columns but Z has %lld", fn,
                        (long long)X.cols, (long long)Z.cols);
    APX__TRY(apx__check_finite(fn, "X", X));
    APX__TRY(apx__check_finite(fn, "Z", Z));
    if (is_deep(k)) {
        APX__TRY(check_rows(fn, "X", X));
        APX__TRY(check_rows(fn, "Z", Z));
    }
    return APX_OK;
}

/* ---------------------------------------------------------------- fast matrix */

static apx_status sq_norms(const char *fn, apx_dmat X, double **out) {
    double *s = apx__alloc(fn, (size_t)X.rows, sizeof(double));
    if (!s) return APX_ENOMEM;
    for (int64_t i = 0; i < X.rows; i++) s[i] = dot(X.data + i * X.ld, X.data + i * X.ld, X.cols);
    *out = s;
    return APX_OK;
}

// one row of a deep kernel: s (Sigma) and t (Theta) in place over m entries, all layers
// (layer-major over the row: the activation switch leaves the inner loops, OPT3 vectorizes);
// the other activations go through dual_eval
static void deep_row(const apx_kernel *k, double *s, double *t, int64_t m) {
    for (int l = 0; l < k->depth; l++) {
        if (k->act == APX_DUAL_RELU) {
            for (int64_t j = 0; j < m; j++) { // libm acos: the cost of the deep ReLU kernel
                double x = s[j], th = acos(x);
                double r = (sqrt((1 - x) * (1 + x)) + (PI - th) * x) / PI; // x in [-1,1]
                t[j] = t[j] * (PI - th) / PI + r;
                s[j] = clip1(r);
            }
        } else if (k->act == APX_DUAL_OPT3) {
#pragma omp simd
            for (int64_t j = 0; j < m; j++) {
                double x = s[j], r = x * x * x / 2 + x / 2;
                t[j] = t[j] * (1.5 * x * x + 0.5) + r;
                s[j] = clip1(r);
            }
        } else {
            for (int64_t j = 0; j < m; j++) {
                double r, dr;
                dual_eval(k->act, k->act_param, k->degree, s[j], &r, &dr);
                t[j] = t[j] * dr + r;
                s[j] = clip1(r);
            }
        }
    }
}

// rho (m) for row i of K = X Z^T: g / (|x| |z|), recomputed directly as 1 - |x/|x| - z/|z||^2/2
// where it is within 1e-4 of 1 (the GEMM form loses digits there)
static void rho_row(apx_dmat X, apx_dmat Z, const double *xx, const double *zz, int64_t i,
                    const double *g, double *rho) {
    for (int64_t j = 0; j < Z.rows; j++) {
        double nn = sqrt(xx[i] * zz[j]);
        rho[j] = clip1(g[j] / nn);
        if (g[j] > (1 - 1e-4) * nn)
            rho[j] = 1 - dist2(X.data + i * X.ld, Z.data + j * Z.ld, X.cols, 1 / sqrt(xx[i]),
                               1 / sqrt(zz[j])) / 2;
    }
}

// deep kernels after K = X Z^T: rows in parallel, each with scratch s (m) and t in K's row
static apx_status deep_transform(const char *fn, const apx_kernel *k, apx_dmat X, apx_dmat Z,
                                 const double *xx, const double *zz, apx_dmat K) {
    int nt = apx_get_threads();
    double *scratch = apx__alloc(fn, (size_t)nt * (size_t)K.cols, sizeof(double));
    if (!scratch) return APX_ENOMEM;
    int ntk = k->kind == APX_KERNEL_NTK;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) if (K.rows * K.cols * (k->depth + 1) >= 20000)
    for (int64_t i = 0; i < K.rows; i++) {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#endif
        double *s = scratch + (size_t)me * K.cols, *t = K.data + i * K.ld;
        rho_row(X, Z, xx, zz, i, t, s);
        memcpy(t, s, sizeof(double) * (size_t)K.cols);
        deep_row(k, s, t, K.cols);
        if (!ntk) memcpy(t, s, sizeof(double) * (size_t)K.cols);
    }
    apx_free(scratch);
    return APX_OK;
}

// K (n,m) after K = X Z^T for the shallow kernels: each entry from its inner product
static void transform(const apx_kernel *k, const double *xx, const double *zz, apx_dmat K) {
#pragma omp parallel for schedule(static) if (K.rows * K.cols >= 20000)
    for (int64_t i = 0; i < K.rows; i++) {
        for (int64_t j = 0; j < K.cols; j++) {
            double g = K.data[i * K.ld + j], d2 = -1;
            if (k->kind == APX_KERNEL_RBF) d2 = fmax(xx[i] + zz[j] - 2 * g, 0);
            K.data[i * K.ld + j] = entry(k, g, xx[i], zz[j], d2, 0);
        }
    }
}

static void laplace(const apx_kernel *k, apx_dmat X, apx_dmat Z, apx_dmat K) {
#pragma omp parallel for schedule(static) if (K.rows * K.cols * X.cols >= 100000)
    for (int64_t i = 0; i < K.rows; i++)
        for (int64_t j = 0; j < K.cols; j++)
            K.data[i * K.ld + j] =
                exp(-k->gamma * dist1(X.data + i * X.ld, Z.data + j * Z.ld, X.cols));
}

// K = k(X, Z) for a kernel with gamma resolved, arguments checked
static apx_status kernel_fast(const char *fn, const apx_kernel *k, apx_dmat X, apx_dmat Z,
                              apx_dmat K) {
    if (k->kind == APX_KERNEL_LAPLACE) {
        laplace(k, X, Z, K);
        return APX_OK;
    }
    double *xx = NULL, *zz = NULL;
    apx_status st = sq_norms(fn, X, &xx);
    if (st == APX_OK) st = sq_norms(fn, Z, &zz);
    if (st == APX_OK) {
        apx__dgemm(0, 1, 1.0, X, Z, 0.0, K); // (n,m) = (n,d) x (d,m)
        if (is_deep(k)) st = deep_transform(fn, k, X, Z, xx, zz, K);
        else transform(k, xx, zz, K);
    }
    apx_free(xx);
    apx_free(zz);
    return st;
}

static apx_kernel resolved(const apx_kernel *k, int64_t d) {
    apx_kernel r = *k;
    if (r.gamma <= 0) r.gamma = 1.0 / (double)d;
    return r;
}

apx_status apx_kernel_matrix(const apx_kernel *k, apx_dmat X, apx_dmat Z, apx_dmat K) {
    const char *fn = "kernel_matrix";
    APX__TRY(check_pair(fn, k, X, Z));
    APX__TRY(apx__check_dmat_shape(fn, "K", K, X.rows, Z.rows));
    apx_kernel kr = resolved(k, X.cols);
    return kernel_fast(fn, &kr, X, Z, K);
}

/* ---------------------------------------------------------------- kernel ridge */

struct apx_kridge {
    apx_kernel k;   /* gamma resolved */
    apx_dmat X;     /* (n,d) copy */
    apx_dmat alpha; /* (n,r) */
};

apx_kridge_opts apx_kridge_opts_default(void) {
    apx_kridge_opts o;
    memset(&o, 0, sizeof o);
    o.lambda = 1.0;
    o.rcond = -1.0;
    return o;
}

void apx_kridge_free(apx_kridge *m) {
    if (!m) return;
    apx_dmat_free(&m->X);
    apx_dmat_free(&m->alpha);
    apx_free(m);
}

// alpha = (K + lambda I)^-1 Y: Cholesky, else (ridgeless or indefinite) gelsd
static apx_status kridge_solve(apx_kridge *m, apx_dmat Y, const apx_kridge_opts *o,
                               apx_kridge_info *inf) {
    const char *fn = "kridge_fit";
    apx_dmat K = {0};
    APX__TRY(apx_dmat_alloc(m->X.rows, m->X.rows, &K));
    apx_status st = kernel_fast(fn, &m->k, m->X, m->X, K);
    if (st == APX_OK) st = apx__progress(&o->progress, fn, 0.5, "kernel matrix");
    apx__kr_add_diag(K, o->lambda);
    if (st == APX_OK && o->lambda > 0) {
        apx__dmat_copy(Y, m->alpha);
        st = apx__kr_spd_solve(fn, K, m->alpha);
        inf->rank = m->X.rows;
        if (st == APX_ENUMERIC) { // not positive definite: rebuild K, use gelsd
            apx_clear_error();
            st = kernel_fast(fn, &m->k, m->X, m->X, K);
            apx__kr_add_diag(K, o->lambda);
            inf->method = 1;
        }
    } else if (st == APX_OK) {
        inf->method = 1;
    }
    if (st == APX_OK && inf->method == 1) st = apx_la_lstsq(K, Y, o->rcond, m->alpha, &inf->rank);
    apx_dmat_free(&K);
    if (st == APX_OK) st = apx__progress(&o->progress, fn, 1.0, "solved");
    return st;
}

apx_status apx_kridge_fit(const apx_kernel *k, apx_dmat X, apx_dmat Y,
                          const apx_kridge_opts *opts, apx_kridge **model,
                          apx_kridge_info *info) {
    const char *fn = "kridge_fit";
    double t0 = apx__solve_now();
    if (!model) return apx__err(APX_EINVAL, "%s: model (the output) is NULL", fn);
    *model = NULL;
    apx_kridge_opts o = opts ? *opts : apx_kridge_opts_default();
    APX__TRY(check_pair(fn, k, X, X));
    APX__TRY(apx__kr_check_fit(fn, X, Y, o.lambda));
    if (isnan(o.rcond)) return apx__err(APX_EINVAL, "%s: rcond is NaN", fn);
    apx_kridge *m = apx__alloc(fn, 1, sizeof *m);
    if (!m) return APX_ENOMEM;
    m->k = resolved(k, X.cols);
    apx_kridge_info inf = {0, 0, 0};
    apx_status st = apx_dmat_alloc(X.rows, X.cols, &m->X);
    if (st == APX_OK) st = apx_dmat_alloc(Y.rows, Y.cols, &m->alpha);
    if (st == APX_OK) {
        apx__dmat_copy(X, m->X);
        st = kridge_solve(m, Y, &o, &inf);
    }
    inf.seconds = apx__solve_now() - t0;
    if (info) *info = inf;
    if (st != APX_OK) apx_kridge_free(m);
    else *model = m;
    return st;
}

apx_status apx_kridge_predict(const apx_kridge *m, apx_dmat Xt, apx_dmat P) {
    const char *fn = "kridge_predict";
    if (!m) return apx__err(APX_EINVAL, "%s: model is NULL", fn);
    APX__TRY(check_pair(fn, &m->k, Xt, m->X));
    APX__TRY(apx__check_dmat_shape(fn, "P", P, Xt.rows, m->alpha.cols));
    const int64_t bs = 256;
    apx_dmat Kb = {0};
    APX__TRY(apx_dmat_alloc(APX__MIN(bs, Xt.rows), m->X.rows, &Kb));
    apx_status st = APX_OK;
    for (int64_t i0 = 0; st == APX_OK && i0 < Xt.rows; i0 += bs) {
        int64_t h = APX__MIN(bs, Xt.rows - i0);
        apx_dmat Xb = {Xt.data + i0 * Xt.ld, h, Xt.cols, Xt.ld};
        apx_dmat Kh = {Kb.data, h, Kb.cols, Kb.ld};
        apx_dmat Pb = {P.data + i0 * P.ld, h, P.cols, P.ld};
        st = kernel_fast(fn, &m->k, Xb, m->X, Kh);
        if (st == APX_OK) apx__dgemm(0, 0, 1.0, Kh, m->alpha, 0.0, Pb); // (h,r) = (h,n) x (n,r)
    }
    apx_dmat_free(&Kb);
    return st;
}

apx_status apx_kridge_coef(const apx_kridge *m, int64_t *n, int64_t *d, int64_t *r,
                           apx_dmat *alpha) {
    if (!m) return apx__err(APX_EINVAL, "kridge_coef: model is NULL");
    if (n) *n = m->X.rows;
    if (d) *d = m->X.cols;
    if (r) *r = m->alpha.cols;
    if (alpha) {
        APX__TRY(apx__check_dmat_shape("kridge_coef", "alpha", *alpha, m->alpha.rows,
                                       m->alpha.cols));
        apx__dmat_copy(m->alpha, *alpha);
    }
    return APX_OK;
}
