/* classify.c: the limits of infinitely deep kernel classifiers (P078): 1-nearest
 * neighbour, majority vote and the Hilbert estimate sign(sum_i y_i ||x - x_i||^-alpha)
 * (Devroye, Gyorfi & Krzyzak 1998). Labels are -1/+1; plain loops over the pairs (the
 * distances are taken directly, not through a GEMM, so close points keep their digits). */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "regress/kernel_internal.h"

static apx_status check_labels(const char *fn, const double *y, int64_t n) {
    if (!y) return apx__err(APX_EINVAL, "%s: y is NULL", fn);
    for (int64_t i = 0; i < n; i++)
        if (y[i] != 1.0 && y[i] != -1.0)
            return apx__err(APX_EINVAL, "%s: labels must be -1 or +1, y[%lld] = %g", fn,
                            (long long)i, y[i]);
    return APX_OK;
}

static apx_status check_train_test(const char *fn, apx_dmat X, const double *y, apx_dmat Xt,
                                   const double *out) {
    APX__TRY(apx__check_dmat_nonempty(fn, "X", X));
    APX__TRY(apx__check_dmat_nonempty(fn, "Xt", Xt));
    if (X.cols != Xt.cols)
        return apx__err(APX_ESHAPE, "%s: X has %lld columns but Xt has %lld", fn,
                        (long long)X.cols, (long long)Xt.cols);
    if (!out) return apx__err(APX_EINVAL, "%s: out is NULL", fn);
    APX__TRY(check_labels(fn, y, X.rows));
    APX__TRY(apx__check_finite(fn, "X", X));
    return apx__check_finite(fn, "Xt", Xt);
}

static double sq_dist(const double *x, const double *z, int64_t d) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        double t = x[j] - z[j];
        s += t * t;
    }
    return s;
}

static double sign_of(double v) { return v < 0 ? -1.0 : 1.0; }

apx_status apx_classify_nn(apx_dmat X, const double *y, apx_dmat Xt, double *out) {
    APX__TRY(check_train_test("classify_nn", X, y, Xt, out));
#pragma omp parallel for schedule(static) if (X.rows * Xt.rows * X.cols >= 100000)
    for (int64_t t = 0; t < Xt.rows; t++) {
        int64_t best = 0;
        double bd = INFINITY;
        for (int64_t i = 0; i < X.rows; i++) {
            double dd = sq_dist(Xt.data + t * Xt.ld, X.data + i * X.ld, X.cols);
            if (dd < bd) bd = dd, best = i;
        }
        out[t] = y[best];
    }
    return APX_OK;
}

apx_status apx_classify_majority(const double *y, int64_t n, int64_t m, double *out) {
    if (n < 1 || m < 0)
        return apx__err(APX_ESHAPE, "classify_majority: need n >= 1 labels and m >= 0 outputs, "
                        "got n = %lld, m = %lld", (long long)n, (long long)m);
    if (!out && m > 0) return apx__err(APX_EINVAL, "classify_majority: out is NULL");
    APX__TRY(check_labels("classify_majority", y, n));
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += y[i];
    for (int64_t t = 0; t < m; t++) out[t] = sign_of(s);
    return APX_OK;
}

// sign(sum_i y_i (d_min / d_i)^alpha) for the test row x; d2 (n) scratch of squared distances
static double hilbert_one(apx_dmat X, const double *y, const double *x, double alpha,
                          double *d2) {
    double dmin = INFINITY, zero = 0;
    int has_zero = 0;
    for (int64_t i = 0; i < X.rows; i++) {
        d2[i] = sq_dist(x, X.data + i * X.ld, X.cols);
        if (d2[i] == 0) has_zero = 1, zero += y[i];
        else if (d2[i] < dmin) dmin = d2[i];
    }
    if (has_zero) return sign_of(zero);
    double s = 0, h = alpha / 2; // (dmin / d)^alpha = (dmin^2 / d^2)^(alpha / 2)
    for (int64_t i = 0; i < X.rows; i++) s += y[i] * pow(dmin / d2[i], h);
    return sign_of(s);
}

apx_status apx_classify_hilbert(apx_dmat X, const double *y, apx_dmat Xt, double alpha,
                                double *out) {
    const char *fn = "classify_hilbert";
    APX__TRY(check_train_test(fn, X, y, Xt, out));
    if (!(alpha > 0) || !isfinite(alpha))
        return apx__err(APX_EINVAL, "%s: alpha must be finite and > 0, got %g", fn, alpha);
    int nt = apx_get_threads();
    double *d2 = apx__alloc(fn, (size_t)nt * (size_t)X.rows, sizeof(double));
    if (!d2) return APX_ENOMEM;
#pragma omp parallel for num_threads(nt) schedule(static) if (X.rows * Xt.rows * X.cols >= 100000)
    for (int64_t t = 0; t < Xt.rows; t++) {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#endif
        out[t] = hilbert_one(X, y, Xt.data + t * Xt.ld, alpha, d2 + (size_t)me * X.rows);
    }
    apx_free(d2);
    return APX_OK;
}
