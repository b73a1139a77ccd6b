/* src/regress/kernel_internal.h: private helpers of the random-feature and kernel code
 * (features.c, kernel.c, classify.c). Not installed. */
#ifndef APX_KERNEL_INTERNAL_H
#define APX_KERNEL_INTERNAL_H

#include "apx/regress.h"
#include "core/internal.h"

/* Solve A X = B for a symmetric positive-definite A (n,n) given by its upper triangle
 * (row-major; the lower one is not read): A is overwritten by its Cholesky factor, B (n,r)
 * by X. APX_ENUMERIC (naming fn) when A is not positive definite
 * in double; APX_EUNSUPPORTED without a BLAS. */
apx_status apx__kr_spd_solve(const char *fn, apx_dmat A, apx_dmat B);

/* Add lambda to the diagonal of the square A. */
void apx__kr_add_diag(apx_dmat A, double lambda);

/* Check the common arguments of a fit: X (n,d) non-empty and finite, Y (n,r) non-empty and
 * finite with n rows, lambda >= 0 finite. */
apx_status apx__kr_check_fit(const char *fn, apx_dmat X, apx_dmat Y, double lambda);

/* Plain-loop reference kernel matrix K (n,m) (the oracle of the fast apx_kernel_matrix);
 * arguments are not checked (a valid kernel with gamma already resolved). */
void apx__kernel_matrix_ref(const apx_kernel *k, apx_dmat X, apx_dmat Z, apx_dmat K);

/* Look a name up in a NULL-terminated table of names (index = enum value); APX_EINVAL with
 * the list of known names otherwise. */
apx_status apx__kr_parse_name(const char *fn, const char *what, const char *const *names,
                              const char *name, int *out);
/* names[i] for 0 <= i < the table's length, else "?". */
const char *apx__kr_name(const char *const *names, int i);

/* Define the public name and parse functions of an enum `type` named by `table`. */
#define APX__KR_NAMED_ENUM(type, name_fn, parse_fn, what, table)                        \
    const char *name_fn(type v) { return apx__kr_name(table, (int)v); }                 \
    apx_status parse_fn(const char *name, type *out) {                                 \
        int i = 0;                                                                      \
        APX__TRY(apx__kr_parse_name(#parse_fn + 4, what, table, name, &i)); /* no apx_ */ \
        *out = (type)i;                                                                 \
        return APX_OK;                                                                  \
    }

#endif /* APX_KERNEL_INTERNAL_H */
