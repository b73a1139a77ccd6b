/* fsum.c: the built-in finite-sum operator families of apx_halpern (P011): block least
 * squares F_i(x) = A_i^T (A_i x - b_i) and the bilinear saddle F_i(u, v) = (B_i v + a_i,
 * c_i - B_i^T u), with their Lipschitz constants from singular values. */
#include <string.h>

#include "apx/la.h"
#include "solve/solve_internal.h"

// first row of block i of N rows split into n blocks
static int64_t block_start(int64_t i, int64_t N, int64_t n) { return (i * N) / n; }

// out (d) += A_i^T (A_i x - b_i) for the rows [r0, r1)
static void ls_block(const apx_fsum_data *D, int64_t r0, int64_t r1, const double *x,
                     double *out) {
    int64_t d = D->A.cols;
    for (int64_t r = r0; r < r1; r++) {
        const double *a = D->A.data + r * D->A.ld;
        double s = -D->b[r];
        for (int64_t j = 0; j < d; j++) s += a[j] * x[j];
        for (int64_t j = 0; j < d; j++) out[j] += s * a[j];
    }
}

// out (p+q) += (B_i v + a_i, c_i - B_i^T u), x = (u (p), v (q))
static void bl_block(const apx_fsum_data *D, int64_t i, const double *x, double *out) {
    int64_t p = D->p, q = D->q;
    const double *u = x, *v = x + p;
    for (int64_t r = 0; r < p; r++) {
        const double *Br = D->A.data + (i * p + r) * D->A.ld;
        double s = D->a ? D->a[i * p + r] : 0.0;
        for (int64_t j = 0; j < q; j++) {
            s += Br[j] * v[j];
            out[p + j] -= Br[j] * u[r];
        }
        out[r] += s;
    }
    if (D->c)
        for (int64_t j = 0; j < q; j++) out[p + j] += D->c[i * q + j];
}

static apx_status fsum_comp(void *ctx, const int64_t *idx, int64_t count, const double *x,
                            double *out) {
    const apx_fsum_data *D = ctx;
    int64_t d = D->kind == 0 ? D->A.cols : D->p + D->q;
    memset(out, 0, sizeof(double) * (size_t)d);
    for (int64_t t = 0; t < count; t++) {
        int64_t i = idx ? idx[t] : t;
        if (i < 0 || i >= D->n)
            return apx__err(APX_EINVAL, "fsum: component index %lld not in [0, %lld)",
                            (long long)i, (long long)D->n);
        if (D->kind == 0)
            ls_block(D, block_start(i, D->A.rows, D->n), block_start(i + 1, D->A.rows, D->n), x,
                     out);
        else bl_block(D, i, x, out);
    }
    return APX_OK;
}

// largest singular value of M
static apx_status top_sv(const char *fn, apx_dmat M, double *s0) {
    int64_t k = APX__MIN(M.rows, M.cols);
    double *s = apx__alloc(fn, (size_t)k, sizeof(double));
    if (!s) return APX_ENOMEM;
    apx_status st = apx_la_svd(M, s, NULL, NULL);
    *s0 = s[0];
    apx_free(s);
    return st;
}

// Lavg = sqrt(mean_i ||M_i||^(2 pw)), M_i the n row blocks given by starts
static apx_status avg_lip(const char *fn, apx_dmat M, int64_t n, int64_t rows_per, int pw,
                          double *Lavg) {
    double acc = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r0 = rows_per > 0 ? i * rows_per : block_start(i, M.rows, n);
        int64_t r1 = rows_per > 0 ? r0 + rows_per : block_start(i + 1, M.rows, n);
        double s0;
        apx_dmat Mi = {M.data + r0 * M.ld, r1 - r0, M.cols, M.ld}; // block i, parent's ld
        APX__TRY(top_sv(fn, Mi, &s0));
        double li = pw == 2 ? s0 * s0 : s0;
        acc += li * li;
    }
    *Lavg = sqrt(acc / (double)n);
    return APX_OK;
}

static void fill_problem(apx_fsum_data *D, int64_t d, apx_halpern_problem *P) {
    memset(P, 0, sizeof *P);
    P->n = D->n;
    P->d = d;
    P->comp = fsum_comp;
    P->comp_ctx = D;
}

apx_status apx_fsum_lstsq(apx_dmat A, const double *b, int64_t n, apx_fsum_data *data,
                          apx_halpern_problem *problem) {
    const char *fn = "fsum_lstsq";
    if (!data || !problem) return apx__err(APX_EINVAL, "%s: data or problem is NULL", fn);
    APX__TRY(apx__check_dmat_nonempty(fn, "A", A));
    APX__TRY(apx__check_finite(fn, "A", A));
    if (!b) return apx__err(APX_EINVAL, "%s: b is NULL", fn);
    APX__TRY(apx__check_finite_vec(fn, "b", b, A.rows));
    if (n < 1 || n > A.rows)
        return apx__err(APX_EINVAL, "%s: n = %lld blocks must be in [1, %lld] (the rows of A)",
                        fn, (long long)n, (long long)A.rows);
    memset(data, 0, sizeof *data);
    data->kind = 0, data->A = A, data->b = b, data->n = n;
    fill_problem(data, A.cols, problem);
    double s0;
    APX__TRY(top_sv(fn, A, &s0));
    problem->lipschitz = s0 * s0 / (double)n;
    return avg_lip(fn, A, n, 0, 2, &problem->lipschitz_avg);
}

apx_status apx_fsum_bilinear(apx_dmat B, int64_t n, const double *a, const double *c,
                             apx_fsum_data *data, apx_halpern_problem *problem) {
    const char *fn = "fsum_bilinear";
    if (!data || !problem) return apx__err(APX_EINVAL, "%s: data or problem is NULL", fn);
    APX__TRY(apx__check_dmat_nonempty(fn, "B", B));
    APX__TRY(apx__check_finite(fn, "B", B));
    if (n < 1 || B.rows % n)
        return apx__err(APX_EINVAL, "%s: B has %lld rows, not n = %lld stacked blocks", fn,
                        (long long)B.rows, (long long)n);
    int64_t p = B.rows / n, q = B.cols;
    if (a) APX__TRY(apx__check_finite_vec(fn, "a", a, n * p));
    if (c) APX__TRY(apx__check_finite_vec(fn, "c", c, n * q));
    memset(data, 0, sizeof *data);
    data->kind = 1, data->A = B, data->a = a, data->c = c, data->n = n, data->p = p, data->q = q;
    fill_problem(data, p + q, problem);
    apx_dmat M;
    APX__TRY(apx_dmat_alloc(p, q, &M));
    for (int64_t i = 0; i < n; i++) // mean block
        for (int64_t r = 0; r < p; r++)
            for (int64_t j = 0; j < q; j++)
                M.data[r * M.ld + j] += B.data[(i * p + r) * B.ld + j] / (double)n;
    apx_status st = top_sv(fn, M, &problem->lipschitz);
    apx_dmat_free(&M);
    if (st != APX_OK) return st;
    if (!(problem->lipschitz > 0))
        return apx__err(APX_EINVAL, "%s: the mean block of B is zero (F is constant)", fn);
    return avg_lip(fn, B, n, p, 1, &problem->lipschitz_avg);
}
