/* src/train/train_internal.h: private pieces of the training module: the corpus, the
 * trainer, checkpoint metadata and the SVG plot writer. */
#ifndef APX_TRAIN_INTERNAL_H
#define APX_TRAIN_INTERNAL_H

#include <stdio.h>
#include <time.h>

#include "apx/train.h"
#include "core/internal.h"

struct apx_corpus {
    uint8_t *data;
    int64_t size, train_size, val_size;
    uint32_t crc;
    char *name;
};

struct apx_trainer {
    apx_gpt *m;
    apx_train_opts o;
    apx_optim *opt;
    apx_graph *g;
    float *gsum;    /* APX_OPTIM_BATCH kinds: the sum of the micro-batch gradients */
    double eta;     /* and their norm test's eta and max_accum                     */
    int64_t max_accum;
    float *hdiag;   /* APX_OPTIM_HESSIAN kinds (Sophia): the Gauss-Newton-Bartlett estimate */
    int32_t *sampled; /* and the labels drawn from the model (B T)                   */
    int64_t sampled_cap;
};

/* Sophia in the loop: a Gauss-Newton-Bartlett estimate every APX__SOPHIA_EVERY steps (the
 * paper's k = 10). */
#define APX__SOPHIA_EVERY 10
#define APX__SOPHIA_KEY 0x5851F42D4C957F2Dull

/* Philox keys of a run with seed s: data order s ^ APX__DATA_KEY, dropout s ^
 * APX__DROPOUT_KEY (the model's initialisation uses s itself, streams = group index). */
#define APX__DATA_KEY 0xD1B54A32D192ED03ull
#define APX__DROPOUT_KEY 0x9E3779B97F4A7C15ull

/* Seconds on the monotonic clock. */
static inline double apx__train_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Global L2 norm of x[0..n), accumulated in double over fixed blocks (the same on any
 * thread count). */
double apx__grad_norm(const float *x, int64_t n);

/* ---------------------------------------------------------------- SVG line plots */

enum { APX__SVG_MAX_SERIES = 4 };
typedef struct {
    const char *label;   /* legend text */
    const char *color;   /* "#1f77b4" */
    const double *x, *y; /* n points (non-finite y are skipped) */
    int64_t n;
} apx__svg_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int log_y;           /* logarithmic y axis */
    int n_series;
    apx__svg_series series[APX__SVG_MAX_SERIES];
} apx__svg_plot;

/* Write the plot as an SVG file, atomically. Errors: APX_EIO, APX_EINVAL. */
apx_status apx__svg_write(const char *path, const apx__svg_plot *p);
/* "Nice" axis ticks covering [lo, hi]: up to max_ticks values in ticks[], returns count. */
int apx__svg_ticks(double lo, double hi, int max_ticks, double *ticks);

#endif
