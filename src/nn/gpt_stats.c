/* gpt_stats.c: the statistics of the GPT's linear layers for optimizers that precondition
 * with them (MKOR): the mean input and the mean per-token output gradient of each layer,
 * accumulated over micro-batches from tensors recorded by the forward. */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

/* The weight group of linear slot s. */
static int64_t slot_group(const apx_gpt *m, int64_t s) {
    if (s == 4 * m->cfg.n_layer) return m->head;
    const gpt_layer *L = &m->layers[s / 4];
    const int64_t idx[4] = {L->wqkv, L->wo, L->w1, L->w2};
    return idx[s % 4];
}

apx_status apx__gpt_stats_create(apx_gpt *m) {
    m->n_lin = 4 * m->cfg.n_layer + 1;
    m->lin = apx__alloc("gpt_create", (size_t)m->n_lin, sizeof *m->lin);
    m->rec = apx__alloc("gpt_create", (size_t)(2 * m->n_lin), sizeof *m->rec);
    if (!m->lin || !m->rec) return APX_ENOMEM;
    int64_t total = 0;
    for (int64_t s = 0; s < m->n_lin; s++) {
        apx_param_info in;
        APX__TRY(apx_params_info(m->p, slot_group(m, s), &in));
        m->lin[s] = (apx_gpt_linear_stat){slot_group(m, s), in.shape[1], in.shape[0], NULL, NULL};
        total += in.shape[0] + in.shape[1];
    }
    m->stat_store = apx__alloc("gpt_create", (size_t)total, sizeof(float));
    if (!m->stat_store) return APX_ENOMEM;
    float *p = m->stat_store;
    for (int64_t s = 0; s < m->n_lin; s++) {
        m->lin[s].a = p;
        m->lin[s].g = p + m->lin[s].in;
        p += m->lin[s].in + m->lin[s].out;
    }
    return APX_OK;
}

void apx__gpt_stats_free(apx_gpt *m) {
    free(m->lin);
    free(m->rec);
    free(m->stat_store);
}

void apx__gpt_record(apx_gpt *m, int64_t slot, apx_tensor *x, apx_tensor *y) {
    m->rec[2 * slot] = x;
    m->rec[2 * slot + 1] = y;
    m->recorded = 1;
}

void apx__gpt_record_clear(apx_gpt *m) {
    memset(m->rec, 0, (size_t)(2 * m->n_lin) * sizeof *m->rec);
    m->recorded = 0;
}

int64_t apx_gpt_linear_count(const apx_gpt *m) { return m ? m->n_lin : 0; }

void apx_gpt_stats_zero(apx_gpt *m) {
    if (!m || !m->stat_store) return;
    int64_t total = 0;
    for (int64_t s = 0; s < m->n_lin; s++) total += m->lin[s].in + m->lin[s].out;
    memset(m->stat_store, 0, (size_t)total * sizeof(float));
}

// acc (cols) += scale * (sum over the rows of x (rows, cols))
static int add_rows(float *acc, const float *x, int64_t rows, int64_t cols, double scale) {
    int ok = 1;
    for (int64_t j = 0; j < cols; j++) {
        double s = 0;
        for (int64_t r = 0; r < rows; r++) s += x[r * cols + j];
        acc[j] += (float)(scale * s);
        ok &= isfinite(acc[j]);
    }
    return ok;
}

apx_status apx_gpt_stats_accumulate(apx_gpt *m, double scale) {
    if (!m) return apx__err(APX_EINVAL, "gpt_stats_accumulate: model is NULL");
    if (!isfinite(scale))
        return apx__err(APX_EINVAL, "gpt_stats_accumulate: scale %g is not finite", scale);
    if (!m->recorded)
        return apx__err(APX_EINVAL, "gpt_stats_accumulate: no forward with record_stats since "
                        "the last call");
    for (int64_t s = 0; s < m->n_lin; s++) {
        apx_tensor *x = m->rec[2 * s], *y = m->rec[2 * s + 1];
        apx_gpt_linear_stat *l = &m->lin[s];
        if (!x || !y || !y->grad)
            return apx__err(APX_EINVAL, "gpt_stats_accumulate: linear layer %lld (group %lld) "
                            "has no recorded %s", (long long)s, (long long)l->group,
                            !x || !y ? "tensors" : "output gradient (run the backward)");
        int64_t rows = x->size / l->in;
        int ok = add_rows((float *)l->a, x->data, rows, l->in, scale / (double)rows);
        ok &= add_rows((float *)l->g, y->grad, rows, l->out, scale);
        if (!ok)
            return apx__err(APX_ENUMERIC, "gpt_stats_accumulate: a non-finite statistic in "
                            "linear layer %lld (group %lld)", (long long)s, (long long)l->group);
    }
    apx__gpt_record_clear(m);
    return APX_OK;
}

apx_status apx_gpt_linear_stat_get(const apx_gpt *m, int64_t i, apx_gpt_linear_stat *out) {
    if (!m || !out) return apx__err(APX_EINVAL, "gpt_linear_stat_get: model or out is NULL");
    if (i < 0 || i >= m->n_lin)
        return apx__err(APX_EINVAL, "gpt_linear_stat_get: index %lld is outside [0, %lld)",
                        (long long)i, (long long)m->n_lin);
    *out = m->lin[i];
    return APX_OK;
}
