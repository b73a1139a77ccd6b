/* trainer.c: one optimizer step of the GPT: gradient accumulation over micro-batches,
 * global-norm clipping, the optimizer update; and the training options. */
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

apx_train_opts apx_train_opts_default(void) {
    apx_train_opts o;
    memset(&o, 0, sizeof o);
    o.steps = 1000;
    o.batch = 16;
    o.accum = 1;
    o.lr = 1e-3;
    o.min_lr = -1;
    o.warmup = -1;
    o.schedule = APX_SCHED_COSINE;
    o.optimizer = "adamw";
    o.weight_decay = 0.1;
    o.beta1 = 0.9;
    o.beta2 = 0.95;
    o.grad_clip = 1.0;
    o.val_fraction = 0.1;
    o.eval_every = 100;
    o.eval_tokens = 32768;
    o.log_every = 10;
    return o;
}

static apx_status bad(const char *field, double v, const char *rule) {
    return apx__err(APX_EINVAL, "train_opts: %s = %g must be %s", field, v, rule);
}

static apx_status train_settings(const apx_train_opts *o, apx_optim_settings *s);

apx_status apx_train_opts_check(const apx_train_opts *o) {
    if (!o) return apx__err(APX_EINVAL, "train_opts: opts is NULL");
    if (o->steps < 1) return bad("steps", (double)o->steps, ">= 1");
    if (o->batch < 1) return bad("batch", (double)o->batch, ">= 1");
    if (o->accum < 1) return bad("accum", (double)o->accum, ">= 1");
    if (!(o->lr >= 0 && isfinite(o->lr))) return bad("lr", o->lr, ">= 0 and finite");
    if (!isfinite(o->min_lr) || o->min_lr > o->lr) return bad("min_lr", o->min_lr, "<= lr");
    if ((int)o->schedule < 0 || o->schedule >= APX_SCHED_COUNT)
        return bad("schedule", (double)o->schedule, "a known schedule");
    if (!o->optimizer) return apx__err(APX_EINVAL, "train_opts: optimizer is NULL");
    if (!(o->weight_decay >= 0 && isfinite(o->weight_decay)))
        return bad("weight_decay", o->weight_decay, ">= 0 and finite");
    if (!(o->beta1 >= 0 && o->beta1 < 1)) return bad("beta1", o->beta1, "in [0, 1)");
    if (!(o->beta2 >= 0 && o->beta2 < 1)) return bad("beta2", o->beta2, "in [0, 1)");
    if (!(o->grad_clip >= 0 && isfinite(o->grad_clip)))
        return bad("grad_clip", o->grad_clip, ">= 0 and finite");
    if (!(o->val_fraction > 0 && o->val_fraction <= 0.5))
        return bad("val_fraction", o->val_fraction, "in (0, 0.5]");
    if (o->eval_every < 0 || o->eval_tokens < 0 || o->ckpt_every < 0 || o->stop_at < 0)
        return apx__err(APX_EINVAL, "train_opts: eval_every %lld, eval_tokens %lld, ckpt_every "
                        "%lld and stop_at %lld must be >= 0", (long long)o->eval_every,
                        (long long)o->eval_tokens, (long long)o->ckpt_every, (long long)o->stop_at);
    if (o->log_every < 1) return bad("log_every", (double)o->log_every, ">= 1");
    if (!(o->time_budget >= 0 && isfinite(o->time_budget)))
        return bad("time_budget", o->time_budget, ">= 0 and finite");
    if (o->max_tokens < 0) return bad("max_tokens", (double)o->max_tokens, ">= 0 (0: no budget)");
    if (!memchr(o->opt_settings, 0, sizeof o->opt_settings))
        return apx__err(APX_EINVAL, "train_opts: opt_settings is not terminated within %zu "
                        "bytes", sizeof o->opt_settings);
    apx_optim_settings s; /* the kind and its settings must be valid */
    return train_settings(o, &s);
}

/* ================================================================ gradient norm */

double apx__grad_norm(const float *x, int64_t n) {
    enum { BLK = 1 << 14 };
    int64_t nb = (n + BLK - 1) / BLK;
    double *part = malloc((size_t)APX__MAX(nb, 1) * sizeof(double));
    double total = 0;
    if (!part) { /* serial fallback: same blocks, same order */
        for (int64_t b = 0; b < nb; b++) {
            double s = 0;
            for (int64_t i = b * BLK; i < APX__MIN(n, (b + 1) * BLK); i++) s += (double)x[i] * x[i];
            total += s;
        }
        return sqrt(total);
    }
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < nb; b++) {
        double s = 0;
        for (int64_t i = b * BLK; i < APX__MIN(n, (b + 1) * BLK); i++) s += (double)x[i] * x[i];
        part[b] = s;
    }
    for (int64_t b = 0; b < nb; b++) total += part[b];
    free(part);
    return sqrt(total);
}

static void scale_buf(float *x, int64_t n, float a) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) x[i] *= a;
}

/* ================================================================ trainer */

/* Set `key` when the kind has such a setting. */
static apx_status set_if(apx_optim_settings *s, const char *key, double v) {
    double cur;
    if (apx_optim_settings_get(s, key, &cur) != APX_OK) {
        apx_clear_error();
        return APX_OK;
    }
    return apx_optim_settings_set(s, key, v);
}

/* Apply the comma-separated "key=value" pairs of o->opt_settings to s. */
static apx_status apply_opt_settings(const apx_train_opts *o, apx_optim_settings *s) {
    char buf[sizeof o->opt_settings];
    memcpy(buf, o->opt_settings, sizeof buf);
    buf[sizeof buf - 1] = 0;
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
        APX__TRY(apx_optim_settings_parse(s, kv));
    return APX_OK;
}

/* The optimizer settings of the options: the kind's defaults, lr, betas and weight decay
 * where the kind has them, then opt_settings. */
static apx_status train_settings(const apx_train_opts *o, apx_optim_settings *s) {
    APX__TRY(apx_optim_settings_init(o->optimizer, s));
    APX__TRY(set_if(s, "lr", o->lr));
    APX__TRY(set_if(s, "beta1", o->beta1));
    APX__TRY(set_if(s, "beta2", o->beta2));
    APX__TRY(set_if(s, "weight_decay", o->weight_decay));
    APX__TRY(set_if(s, "adamw_others", 1)); /* Muon: AdamW for the vectors of the model */
    return apply_opt_settings(o, s);
}

static apx_status make_optim(apx_gpt *m, const apx_train_opts *o, apx_optim **out) {
    apx_optim_settings s;
    APX__TRY(train_settings(o, &s));
    apx_params *p = apx_gpt_params(m);
    APX__TRY(apx_optim_create(p, &s, out));
    for (int64_t i = 0; i < apx_params_count(p); i++) { /* no decay for vectors */
        apx_param_info pi;
        APX__TRY(apx_params_info(p, i, &pi));
        if (pi.ndim < 2) APX__TRY(apx_optim_set_group_scale(*out, i, 1.0, 0.0));
    }
    return APX_OK;
}

/* For a kind with APX_OPTIM_BATCH: the norm test's settings and the gradient sum. */
static apx_status batch_init(apx_trainer *t) {
    if (!(apx_optim_get_kind(t->opt)->flags & APX_OPTIM_BATCH)) return APX_OK;
    const apx_optim_settings *s = apx_optim_get_settings(t->opt);
    double ma;
    APX__TRY(apx_optim_settings_get(s, "eta", &t->eta));
    APX__TRY(apx_optim_settings_get(s, "max_accum", &ma));
    t->max_accum = (int64_t)ma;
    t->gsum = apx_malloc((size_t)apx_params_size(apx_gpt_params(t->m)) * sizeof(float));
    return t->gsum ? APX_OK : apx__err(APX_ENOMEM, "trainer_create: gradient sum");
}

apx_status apx_trainer_create(apx_gpt *m, const apx_train_opts *o, apx_trainer **out) {
    if (!m || !out) return apx__err(APX_EINVAL, "trainer_create: model or out is NULL");
    *out = NULL;
    apx_train_opts opts = o ? *o : apx_train_opts_default();
    APX__TRY(apx_train_opts_check(&opts));
    apx_trainer *t = apx__alloc("trainer_create", 1, sizeof *t);
    if (!t) return APX_ENOMEM;
    t->m = m;
    t->o = opts;
    apx_status s = make_optim(m, &opts, &t->opt);
    if (s == APX_OK) s = apx_graph_create(NULL, &t->g);
    if (s == APX_OK) s = batch_init(t);
    if (s == APX_OK && (apx_optim_get_kind(t->opt)->flags & APX_OPTIM_HESSIAN)) {
        t->hdiag = apx_malloc((size_t)apx_params_size(apx_gpt_params(m)) * sizeof(float));
        if (!t->hdiag) s = apx__err(APX_ENOMEM, "trainer_create: Hessian estimate");
    }
    if (s != APX_OK) {
        apx_trainer_free(t);
        return s;
    }
    *out = t;
    return APX_OK;
}

void apx_trainer_free(apx_trainer *t) {
    if (!t) return;
    apx_free(t->gsum);
    apx_free(t->hdiag);
    free(t->sampled);
    apx_optim_free(t->opt);
    apx_graph_free(t->g);
    free(t);
}

apx_optim *apx_trainer_optim(apx_trainer *t) { return t ? t->opt : NULL; }

/* 1 when the optimizer's step uses the linear layers' statistics (MKOR). */
static int wants_stats(const apx_trainer *t) {
    return (apx_optim_get_kind(t->opt)->flags & APX_OPTIM_STATS) != 0;
}

/* Hand the accumulated statistics of every linear layer to the optimizer. */
static apx_status pass_stats(apx_trainer *t) {
    for (int64_t i = 0; i < apx_gpt_linear_count(t->m); i++) {
        apx_gpt_linear_stat ls;
        APX__TRY(apx_gpt_linear_stat_get(t->m, i, &ls));
        APX__TRY(apx_optim_set_layer_stats(t->opt, ls.group, ls.a, ls.in, ls.g, ls.out));
    }
    return APX_OK;
}

// sum (n) += g (n); returns |g|^2
static double add_grad(float *sum, const float *g, int64_t n) {
    double s = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : s)
    for (int64_t i = 0; i < n; i++) {
        sum[i] += g[i];
        s += (double)g[i] * g[i];
    }
    return s;
}

/* AdAdaGrad's norm test on `accum` micro-batch gradients (their squared norms summing to
 * sumsq, their mean of norm gnorm): the micro-batches the next step needs. */
static int64_t norm_test(const apx_trainer *t, int64_t accum, double sumsq, double gnorm) {
    if (accum < 2) return APX__MIN(2, t->max_accum); /* no variance from one micro-batch */
    double g2 = gnorm * gnorm, var = fmax(0, sumsq - (double)accum * g2) / (double)(accum - 1);
    double need = g2 > 0 ? ceil(var / (t->eta * t->eta * g2)) : (double)t->max_accum;
    return APX__MIN(t->max_accum, APX__MAX(accum, (int64_t)fmin(need, 1e15)));
}

/* Sophia-G's estimate on micro-batch (ids (B,T)): labels sampled from the model's own
 * logits, the gradient of the mean loss on them (ghat), hdiag = B T ghat^2 (apx_sophia_gnb).
 * Leaves the gradient buffer zeroed. */
static apx_status gnb_estimate(apx_trainer *t, const int32_t *ids, int64_t B, int64_t T,
                               uint64_t step) {
    if (t->sampled_cap < B * T) {
        free(t->sampled);
        t->sampled = malloc((size_t)(B * T) * sizeof(int32_t));
        t->sampled_cap = t->sampled ? B * T : 0;
        if (!t->sampled) return apx__err(APX_ENOMEM, "trainer_step: sampled labels");
    }
    apx_params *p = apx_gpt_params(t->m);
    apx_gpt_forward_opts fo = apx_gpt_forward_opts_default(); /* no dropout: the model's
                                                                 own predictions */
    apx_graph_reset(t->g);
    apx_params_zero_grad(p);
    apx_tensor *lg, *l;
    APX__TRY(apx_gpt_forward(t->m, t->g, ids, NULL, B, T, &fo, &lg, NULL));
    int64_t V = apx_gpt_get_config(t->m)->vocab;
    APX__TRY(apx_sample_labels(lg->data, B * T, V, t->o.seed ^ APX__SOPHIA_KEY, step,
                               t->sampled));
    APX__TRY(apx_ad_cross_entropy(t->g, lg, t->sampled, &l));
    APX__TRY(apx_ad_backward(t->g, l));
    int64_t n = apx_params_size(p);
    APX__TRY(apx_sophia_gnb(apx_params_grad(p), n, B * T, t->hdiag));
    apx_params_zero_grad(p);
    return APX_OK;
}

// forward + backward of micro-batch j (rows [j B, (j+1) B) of ids/targets)
static apx_status micro_step(apx_trainer *t, const int32_t *ids, const int32_t *targets,
                             int64_t B, int64_t T, uint64_t dropout_stream, double stat_scale,
                             double *loss) {
    apx_gpt_forward_opts fo = apx_gpt_forward_opts_default();
    fo.training = 1;
    fo.record_stats = wants_stats(t);
    fo.dropout_seed = t->o.seed ^ APX__DROPOUT_KEY;
    fo.dropout_stream = dropout_stream;
    apx_graph_reset(t->g);
    apx_tensor *l;
    APX__TRY(apx_gpt_forward(t->m, t->g, ids, targets, B, T, &fo, NULL, &l));
    if (!isfinite(l->data[0]))
        return apx__err(APX_ENUMERIC, "trainer_step: the loss is %g", (double)l->data[0]);
    *loss = l->data[0];
    APX__TRY(apx_ad_backward(t->g, l));
    return fo.record_stats ? apx_gpt_stats_accumulate(t->m, stat_scale) : APX_OK;
}

apx_status apx_trainer_step(apx_trainer *t, const int32_t *ids, const int32_t *targets,
                            int64_t accum, int64_t B, int64_t T, double lr,
                            uint64_t dropout_index, apx_step_info *info) {
    if (!t || !ids || !targets)
        return apx__err(APX_EINVAL, "trainer_step: trainer, ids or targets is NULL");
    if (accum < 1 || B < 1 || T < 1 || !(lr >= 0 && isfinite(lr)))
        return apx__err(APX_EINVAL, "trainer_step: accum = %lld, B = %lld, T = %lld must be >= "
                        "1 and lr = %g >= 0", (long long)accum, (long long)B, (long long)T, lr);
    apx_params *p = apx_gpt_params(t->m);
    int64_t n = apx_params_size(p), sites = 2 * apx_gpt_get_config(t->m)->n_layer;
    int refresh_h = t->hdiag && dropout_index % APX__SOPHIA_EVERY == 0;
    if (refresh_h) APX__TRY(gnb_estimate(t, ids, B, T, dropout_index));
    apx_params_zero_grad(p);
    apx_gpt_stats_zero(t->m);
    double total = 0, sumsq = 0; /* sumsq: sum of |g_j|^2 (AdAdaGrad) */
    if (t->gsum) memset(t->gsum, 0, (size_t)n * sizeof(float));
    for (int64_t j = 0; j < accum; j++) {
        double l = 0;
        uint64_t stream = (dropout_index * (uint64_t)accum + (uint64_t)j) * (uint64_t)sites;
        if (t->gsum) apx_params_zero_grad(p);
        APX__TRY(micro_step(t, ids + j * B * T, targets + j * B * T, B, T, stream,
                            1.0 / (double)accum, &l));
        if (t->gsum) sumsq += add_grad(t->gsum, apx_params_grad(p), n);
        total += l;
    }
    if (t->gsum) memcpy(apx_params_grad(p), t->gsum, (size_t)n * sizeof(float));
    if (accum > 1) scale_buf(apx_params_grad(p), n, (float)(1.0 / (double)accum));
    double norm = apx__grad_norm(apx_params_grad(p), n);
    int64_t next = t->gsum ? norm_test(t, accum, sumsq, norm) : accum;
    if (!isfinite(norm))
        return apx__err(APX_ENUMERIC, "trainer_step: the gradient norm is %g", norm);
    if (t->o.grad_clip > 0) {
        double coef = t->o.grad_clip / (norm + 1e-6);
        if (coef < 1) scale_buf(apx_params_grad(p), n, (float)coef);
    }
    if (wants_stats(t)) APX__TRY(pass_stats(t));
    if (apx_optim_get_kind(t->opt)->flags & APX_OPTIM_LOSS) /* Normalized LR+GD */
        APX__TRY(apx_optim_set_loss(t->opt, total / (double)accum));
    APX__TRY(apx_optim_step_hess(t->opt, lr, refresh_h ? t->hdiag : NULL));
    if (info) {
        info->loss = total / (double)accum;
        info->grad_norm = norm;
        info->lr = lr;
        info->next_accum = next;
    }
    return APX_OK;
}
