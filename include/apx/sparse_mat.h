/* apx/sparse_mat.h: a compressed sparse row (CSR) matrix view, as scipy.sparse.csr_matrix
 * stores it, with validation and the two products the solvers need.
 *
 * The view does not own its arrays: the caller keeps indptr, indices and data alive while
 * an apx function uses the view. Row i holds the entries data[p] at columns indices[p] for
 * p in [indptr[i], indptr[i+1]). Column indices need not be sorted; duplicates are summed
 * by the products (as scipy does). Threads: the products are OpenMP-parallel over rows
 * (y = A x) or deterministic and serial (y = A^T x). Reentrant.
 */
#ifndef APX_SPARSE_MAT_H
#define APX_SPARSE_MAT_H

#include "apx/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CSR view of a double matrix (rows, cols) with nnz stored entries:
 * indptr (rows + 1), indices (nnz), data (nnz). */
typedef struct {
    int64_t rows, cols, nnz;
    const int64_t *indptr;
    const int64_t *indices;
    const double *data;
} apx_csr;

/* Check that A is a well-formed CSR view: rows, cols, nnz >= 0; arrays non-NULL where
 * needed; indptr[0] = 0, indptr non-decreasing, indptr[rows] = nnz; every column index in
 * [0, cols); every value finite. Errors: APX_EINVAL (naming the first bad entry). O(nnz). */
apx_status apx_csr_validate(apx_csr A);

/* y (rows) = A x, x (cols). A is assumed valid (apx_csr_validate). */
apx_status apx_csr_matvec(apx_csr A, const double *x, double *y);

/* y (cols) = A^T x, x (rows). A is assumed valid. */
apx_status apx_csr_rmatvec(apx_csr A, const double *x, double *y);

/* CSR arrays of a (rows, cols) matrix given as nnz COO triplets (0-based, any order), as
 * a Matrix Market coordinate file holds it: indptr (rows + 1), indices (nnz), data (nnz),
 * caller-allocated. Each row keeps its entries in input order; duplicates are kept (the
 * products and the sparse solvers sum them). Errors: APX_EINVAL for a negative size, a NULL
 * array or an index out of range (naming the triplet). O(rows + nnz). */
apx_status apx_csr_from_coo(int64_t rows, int64_t cols, int64_t nnz, const int64_t *row_idx,
                            const int64_t *col_idx, const double *values, int64_t *indptr,
                            int64_t *indices, double *data);

#ifdef __cplusplus
}
#endif
#endif /* APX_SPARSE_MAT_H */
