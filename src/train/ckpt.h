/* src/train/ckpt.h: private interface of checkpoint.c and loop.c: the run's position as
 * stored in a checkpoint, and the file names inside a run folder. */
#ifndef APX_TRAIN_CKPT_H
#define APX_TRAIN_CKPT_H

#include <stdarg.h>

#include "train_internal.h"

#define CKPT_FILE "checkpoint.safetensors"
#define MODEL_FILE "model.safetensors"
#define LOG_FILE "log.jsonl"
#define SVG_FILE "loss.svg"
#define SUMMARY_FILE "summary.json"

enum { CKPT_MAX_META = 48, CKPT_VAL_LEN = 4200 };

/* Where a run is: everything besides the model, the optimizer and the options. */
typedef struct {
    int64_t step;        /* optimizer steps done                               */
    int64_t position;    /* micro-batches drawn                                 */
    int64_t tokens;      /* training tokens seen                               */
    int budget_done;     /* plans of `steps` made for the time budget (0..5)    */
    int64_t log_bytes;   /* length of log.jsonl at this checkpoint             */
    double elapsed;      /* training seconds so far (evaluation excluded)       */
    double val_loss;     /* last validation loss (NaN before the first)         */
    double win_loss;     /* sum of the step losses since the last log line      */
    int64_t win_n;       /* and their count                                     */
    int64_t accum;       /* micro-batches of the next step (AdAdaGrad grows it; 0: the
                            options' accum)                                     */
    char corpus_path[4096];
    int64_t corpus_size;
    uint32_t corpus_crc;
} apx__ckpt_state;

/* Write model + optimizer state + options + state to `path`, atomically. */
apx_status apx__ckpt_write(const char *path, apx_gpt *m, apx_optim *opt,
                           const apx_train_opts *o, const apx__ckpt_state *s);
/* Read the options / the state from a loaded checkpoint (APX_EFORMAT naming `path`). */
apx_status apx__ckpt_read_opts(const apx_safetensors *st, const char *path, apx_train_opts *o);
apx_status apx__ckpt_read_state(const apx_safetensors *st, const char *path,
                                apx__ckpt_state *s);
/* apx_safetensors_read, with a malformed file reported as a truncated or malformed
 * checkpoint naming `path`. */
apx_status apx__ckpt_read_file(const char *path, apx_safetensors *st);
/* Remove temp files of interrupted atomic writes in a run folder. */
void apx__ckpt_remove_stale(const char *dir);

#endif
