/* tests/core/test_core.c: status strings, errors, matrices, threads, the BLAS shim
 * (against the reference kernel) and build information. */
#include <stdlib.h>

#include "../test.h"
#include <stdio.h>
#include "core/internal.h"

TEST(core_status_strings) {
    CHECK(!strcmp(apx_strerror(APX_OK), "success"));
    CHECK(!strcmp(apx_strerror(APX_EFORMAT), "malformed input"));
    CHECK(!strcmp(apx_strerror((apx_status)999), "unknown status"));
    CHECK(!strcmp(apx_strerror((apx_status)-1), "unknown status"));
    CHECK(apx__err(APX_EINVAL, "x: %d", 3) == APX_EINVAL);
    CHECK(!strcmp(apx_last_error(), "x: 3"));
    /* a message may wrap the current one (the argument aliases the message buffer) */
    CHECK(apx__err(APX_EINVAL, "outer: %s (%d)", apx_last_error(), 4) == APX_EINVAL);
    CHECK(!strcmp(apx_last_error(), "outer: x: 3 (4)"));
    apx_clear_error();
    CHECK(apx_last_error()[0] == 0);
}

TEST(core_dmat_alloc_and_checks) {
    apx_dmat A;
    REQUIRE_OK(apx_dmat_alloc(3, 4, &A));
    CHECK(A.rows == 3 && A.cols == 4 && A.ld == 4 && A.data[11] == 0);
    CHECK_OK(apx__check_dmat_shape("t", "A", A, 3, 4));
    CHECK_STATUS(apx__check_dmat_shape("t", "A", A, 4, 3), APX_ESHAPE);
    CHECK_STATUS(apx__check_square("t", "A", A), APX_ESHAPE);
    A.data[5] = NAN;
    CHECK_STATUS(apx__check_finite("t", "A", A), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "A[1,1]") != NULL);
    apx_dmat bad = {NULL, 2, 2, 2};
    CHECK_STATUS(apx__check_dmat("t", "B", bad), APX_EINVAL);
    apx_dmat badld = {A.data, 2, 4, 3};
    CHECK_STATUS(apx__check_dmat("t", "B", badld), APX_EINVAL);
    apx_dmat empty = {NULL, 0, 5, 5};
    CHECK_OK(apx__check_dmat("t", "E", empty));
    CHECK_STATUS(apx__check_dmat_nonempty("t", "E", empty), APX_ESHAPE);
    apx_dmat_free(&A);
    CHECK(A.data == NULL);
    apx_dmat_free(&A);
    CHECK_STATUS(apx_dmat_alloc(-1, 2, &A), APX_EINVAL);
    CHECK_STATUS(apx_dmat_alloc(INT64_MAX / 2, INT64_MAX / 2, &A), APX_ENOMEM);
}

TEST(core_blas_loads_fast_kernels) {
    const char *before = getenv("OPENBLAS_CORETYPE");
    char saved[64] = "";
    if (before) snprintf(saved, sizeof saved, "%s", before);
    REQUIRE_OK(apx__blas_ensure("test"));
    apx_build_info bi;
    apx_get_build_info(&bi);
    CHECK(bi.blas_loaded);
    CHECK(bi.openmp);
    /* on an AVX-512 CPU the AVX-512 kernels are used, whatever OPENBLAS_CORETYPE says */
    if (bi.cpu_avx512 && !getenv("APX_BLAS_CORETYPE"))
        CHECK(!strcmp(bi.blas_core, "SkylakeX") || !strcmp(bi.blas_core, "Cooperlake"));
    /* and the environment is left as it was */
    const char *after = getenv("OPENBLAS_CORETYPE");
    CHECK((before == NULL) == (after == NULL));
    if (before && after) CHECK(!strcmp(saved, after));
}

TEST(core_dgemm_matches_reference) {
    int64_t shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {64, 33, 17}, {5, 0, 4}, {0, 3, 3}};
    for (int s = 0; s < 5; s++) {
        int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                double *a = malloc(sizeof(double) * (m * k + 1));
                double *b = malloc(sizeof(double) * (k * n + 1));
                double *c1 = malloc(sizeof(double) * (m * n + 1));
                double *c2 = malloc(sizeof(double) * (m * n + 1));
                apx_rng_fill_normal(1, 0, a, m * k);
                apx_rng_fill_normal(2, 0, b, k * n);
                apx_rng_fill_normal(3, 0, c1, m * n);
                memcpy(c2, c1, sizeof(double) * m * n);
                apx_dmat A = ta ? (apx_dmat){a, k, m, m > 0 ? m : 1} : (apx_dmat){a, m, k, k > 0 ? k : 1};
                apx_dmat B = tb ? (apx_dmat){b, n, k, k > 0 ? k : 1} : (apx_dmat){b, k, n, n > 0 ? n : 1};
                apx_dmat C1 = {c1, m, n, n > 0 ? n : 1}, C2 = {c2, m, n, n > 0 ? n : 1};
                apx__dgemm(ta, tb, 1.5, A, B, -0.5, C1);
                apx__ref_dgemm(ta, tb, 1.5, A, B, -0.5, C2);
                CHECK(tu_max_abs_diff(C1, C2) <= 1e-12 * (1 + k));
                free(a); free(b); free(c1); free(c2);
            }
    }
}

TEST(core_threads_setting) {
    int saved = apx_get_threads();
    apx_set_threads(1);
    CHECK(apx_get_threads() == 1);
    apx_set_threads(3);
    CHECK(apx_get_threads() == 3);
    apx_set_threads(0);
    CHECK(apx_get_threads() >= 1);
    apx_set_threads(saved);
}

static int cancel_at_half(void *ctx, double f, const char *msg) {
    (*(int *)ctx)++;
    return f >= 0.5;
}

TEST(core_progress_cancel) {
    int calls = 0;
    apx_progress p = {cancel_at_half, &calls};
    CHECK_OK(apx__progress(&p, "t", 0.25, "a"));
    CHECK_STATUS(apx__progress(&p, "t", 0.5, "b"), APX_ECANCELED);
    CHECK(calls == 2);
    CHECK_OK(apx__progress(NULL, "t", 0.9, "c"));
}

TEST(core_malloc_alignment) {
    void *p = apx_malloc(100);
    REQUIRE(p != NULL);
    CHECK(((uintptr_t)p & 63) == 0);
    apx_free(p);
    CHECK(apx_calloc(SIZE_MAX / 2, 4) == NULL);
    p = apx_malloc(0);
    CHECK(p != NULL);
    apx_free(p);
}
