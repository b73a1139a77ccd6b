/* src/sketch/sketch_internal.h: private helpers of the sketch module (not installed), also
 * used by src/regress (least squares) and src/solve. */
#ifndef APX_SKETCH_INTERNAL_H
#define APX_SKETCH_INTERNAL_H

#include "apx/sketch.h"
#include "core/internal.h"

/* In-place unnormalized Walsh-Hadamard transform of the columns of X (N,c), row stride ld,
 * N a power of two (no checks). */
void apx__fwht_block(double *X, int64_t N, int64_t c, int64_t ld);
int apx__is_pow2(int64_t v);
int64_t apx__next_pow2(int64_t v);

/* Deterministic products: while the BLAS is single-threaded (serial_begin/end), C (M,N) =
 * alpha op(A) op(B) + beta C in fixed blocks of 256 rows of C computed in parallel by
 * OpenMP, so the result does not depend on the thread count (OpenBLAS's own threading
 * partitions, and so rounds, by the thread count). apx__sk_gemm brackets itself. */
int apx__sk_serial_begin(void);
void apx__sk_serial_end(int nt);
void apx__sk_gemm(int ta, int tb, double alpha, apx_dmat A, apx_dmat B, double beta,
                  apx_dmat C);

/* apx_sketch_apply without the finiteness check of A (the caller has checked it); fn names
 * the public caller in messages. */
apx_status apx__sketch_apply(const char *fn, const apx_sketch_plan *plan, apx_dmat A,
                             apx_dmat SA);

/* Exact leverage scores (QR + SVD of R) of A (m,n), finite (not checked), rank cut-off
 * rcond (< 0: max(m,n) eps). */
apx_status apx__leverage_exact(const char *fn, apx_dmat A, double rcond, double *lev,
                               int64_t *rank);

/* Default rank cut-off: max(m,n) * machine epsilon when rcond < 0. */
double apx__rcond_default(double rcond, int64_t m, int64_t n);

/* The numerical rank of descending singular values s (k): #{s_i > rcond * s_0}. */
int64_t apx__rank_from_sv(const double *s, int64_t k, double rcond);

/* Thin SVD SA = U diag(sv) Vt of a sketch SA (s,n) with single-threaded LAPACK (the result
 * does not depend on the thread count), and its numerical rank at cut-off rcond. Allocates
 * U (s,n), Vt (n,n) and sv (n) into the caller's pointers (freed by the caller, also on
 * error). */
apx_status apx__sketch_svd(const char *fn, apx_dmat SA, double rcond, apx_dmat *U,
                           apx_dmat *Vt, double **sv, int64_t *rank);

/* v (m) <- v - sum_{l<k} (e_l . v) e_l for the orthonormal rows e_l of E (k,m), twice
 * (classical Gram-Schmidt with reorthogonalization); returns ||v||^2 after. */
double apx__project_off(const double *E, int64_t k, int64_t m, double *v);

/* min ||A x - b||_1 exactly (A (N,n), N >= n, checked by the caller): the simplex of
 * sensitivity.c on [A b] with the last coordinate fixed to -1, certified by its dual. A
 * rank-deficient A: on a maximal independent set of its columns (the others x_j = 0); b in
 * the range of A: least squares (cost 0). *cost = ||A x - b||_1. APX_ENOCONV when the
 * pivot cap stops the simplex uncertified (x the best vertex). */
apx_status apx__l1_regress_exact(const char *fn, apx_dmat A, const double *b, double *x,
                                 double *cost);

#endif /* APX_SKETCH_INTERNAL_H */
