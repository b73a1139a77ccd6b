/* src/nn/nn_internal.h: the GPT model's private layout: parameter group indices per layer
 * and the PowerNorm buffers. */
#ifndef APX_NN_INTERNAL_H
#define APX_NN_INTERNAL_H

#include "apx/nn.h"
#include "core/internal.h"

/* One norm layer: its parameter groups (-1 when absent) and PowerNorm state. */
typedef struct {
    int64_t w, b;
    apx_powernorm_state pn; /* running_phi / ema_gz point into the model's buffer store */
    float *iters_f;         /* the buffer entry mirroring pn.iters (PowerNorm only)    */
} gpt_norm;

typedef struct {
    gpt_norm ln1, ln2;
    int64_t wqkv, bqkv, wo, bo, w1, b1, w2, b2, act_w, act_b; /* group indices or -1 */
} gpt_layer;

typedef struct {
    char name[64];
    int64_t offset, size; /* in the buffer store */
} gpt_buf;

struct apx_gpt {
    apx_gpt_config cfg;
    apx_params *p;
    int64_t wte, wpe, head; /* head = wte when tied */
    gpt_layer *layers;      /* n_layer */
    gpt_norm lnf;
    gpt_buf *bufs;          /* PowerNorm buffers (3 per norm layer) */
    int64_t n_buf;
    float *buf_store;
    int64_t buf_floats;
    /* linear-layer statistics (gpt_stats.c): n_lin layers, slot 4 i + {0,1,2,3} for block
     * i's wqkv, wo, w1, w2 and 4 n_layer for the head */
    int64_t n_lin;
    apx_gpt_linear_stat *lin; /* n_lin: group, sizes and pointers into stat_store */
    float *stat_store;
    apx_tensor **rec;         /* 2 n_lin: recorded input and output (NULL: none)  */
    int recorded;
};

/* Effective MLP width (d_ff, or 4 d_model). */
static inline int64_t apx__gpt_dff(const apx_gpt_config *c) {
    return c->d_ff > 0 ? c->d_ff : 4 * c->d_model;
}

/* Allocate the statistics of the linear layers (after the parameters are registered). */
apx_status apx__gpt_stats_create(apx_gpt *m);
void apx__gpt_stats_free(apx_gpt *m);
/* Remember linear layer `slot`'s input x and output y (forward with record_stats). */
void apx__gpt_record(apx_gpt *m, int64_t slot, apx_tensor *x, apx_tensor *y);
/* forget the recorded tensors (start of a recording forward, after accumulating) */
void apx__gpt_record_clear(apx_gpt *m);

/* Copy the int64 PowerNorm iteration counts into their float buffer entries, and back. */
void apx__gpt_buffers_pull(apx_gpt *m);
void apx__gpt_buffers_push(apx_gpt *m);

#endif
