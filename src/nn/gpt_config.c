/* gpt_config.c: the GPT configuration: defaults, checks, kind names, parameter count and
 * comparison. */
#include <stdio.h>
#include <string.h>

#include "nn_internal.h"

static const char *const norm_names[APX_NN_NORM_COUNT] = {"layernorm", "rmsnorm", "powernorm",
                                                          "polynorm", "batchnorm"};
static const char *const act_names[APX_NN_ACT_COUNT] = {"gelu", "relu", "silu", "polyrelu"};

const char *apx_nn_norm_name(apx_nn_norm k) {
    return (int)k >= 0 && k < APX_NN_NORM_COUNT ? norm_names[k] : NULL;
}
const char *apx_nn_act_name(apx_nn_act k) {
    return (int)k >= 0 && k < APX_NN_ACT_COUNT ? act_names[k] : NULL;
}

/* Index of `name` in names[0..n), or -1. */
static int find_name(const char *const *names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

static apx_status parse_kind(const char *fn, const char *const *names, int n, const char *name,
                             int *out) {
    if (!name || !out) return apx__err(APX_EINVAL, "%s: name or out is NULL", fn);
    int k = find_name(names, n, name);
    if (k < 0) {
        char list[256] = "";
        for (int i = 0; i < n; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     names[i]);
        return apx__err(APX_EINVAL, "%s: unknown kind '%s' (known: %s)", fn, name, list);
    }
    *out = k;
    return APX_OK;
}

apx_status apx_nn_norm_parse(const char *name, apx_nn_norm *out) {
    int k = 0;
    APX__TRY(parse_kind("nn_norm_parse", norm_names, APX_NN_NORM_COUNT, name, &k));
    *out = (apx_nn_norm)k;
    return APX_OK;
}

apx_status apx_nn_act_parse(const char *name, apx_nn_act *out) {
    int k = 0;
    APX__TRY(parse_kind("nn_act_parse", act_names, APX_NN_ACT_COUNT, name, &k));
    *out = (apx_nn_act)k;
    return APX_OK;
}

apx_gpt_config apx_gpt_config_default(void) {
    apx_gpt_config c = {4, 128, 4, 128, 256, 0, APX_NN_LAYERNORM, APX_NN_GELU,
                        0.0f, 1, 1, 1e-5f, 0.02f};
    return c;
}

#define SIZE_MAX_DIM ((int64_t)1 << 20)

static apx_status check_range(const char *field, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
        return apx__err(APX_EINVAL, "gpt_config: %s = %lld must be in [%lld, %lld]", field,
                        (long long)v, (long long)lo, (long long)hi);
    return APX_OK;
}

/* Trainable floats of one norm layer of width C. */
static int64_t norm_params(const apx_gpt_config *c) {
    switch (c->norm) {
    case APX_NN_RMSNORM: return c->d_model;
    case APX_NN_POLYNORM: return 4;
    default: return 2 * c->d_model; /* layernorm, powernorm: weight + bias */
    }
}

static int64_t count_params(const apx_gpt_config *c) {
    int64_t C = c->d_model, F = apx__gpt_dff(c), V = c->vocab;
    int64_t layer = 2 * norm_params(c) + 3 * C * C + C * C + F * C + C * F;
    if (c->bias) layer += 3 * C + C + F + C;
    if (c->act == APX_NN_POLYRELU) layer += 4;
    int64_t total = V * C + c->context * C + norm_params(c) + c->n_layer * layer;
    return c->tied ? total : total + V * C;
}

apx_status apx_gpt_config_check(const apx_gpt_config *c) {
    if (!c) return apx__err(APX_EINVAL, "gpt_config: config is NULL");
    APX__TRY(check_range("n_layer", c->n_layer, 1, 1024));
    APX__TRY(check_range("d_model", c->d_model, 1, SIZE_MAX_DIM));
    APX__TRY(check_range("n_head", c->n_head, 1, c->d_model));
    if (c->d_model % c->n_head)
        return apx__err(APX_EINVAL, "gpt_config: n_head = %lld must divide d_model = %lld",
                        (long long)c->n_head, (long long)c->d_model);
    APX__TRY(check_range("context", c->context, 1, SIZE_MAX_DIM));
    APX__TRY(check_range("vocab", c->vocab, 1, SIZE_MAX_DIM));
    APX__TRY(check_range("d_ff", c->d_ff, 0, SIZE_MAX_DIM));
    if ((int)c->norm < 0 || c->norm >= APX_NN_NORM_COUNT)
        return apx__err(APX_EINVAL, "gpt_config: norm = %d is not a known kind", (int)c->norm);
    if ((int)c->act < 0 || c->act >= APX_NN_ACT_COUNT)
        return apx__err(APX_EINVAL, "gpt_config: act = %d is not a known kind", (int)c->act);
    if (!(c->dropout >= 0 && c->dropout < 1))
        return apx__err(APX_EINVAL, "gpt_config: dropout = %g must be in [0, 1)",
                        (double)c->dropout);
    if (!(c->norm_eps > 0 && isfinite(c->norm_eps)))
        return apx__err(APX_EINVAL, "gpt_config: norm_eps = %g must be > 0 and finite",
                        (double)c->norm_eps);
    if (!(c->init_std >= 0 && isfinite(c->init_std)))
        return apx__err(APX_EINVAL, "gpt_config: init_std = %g must be >= 0 and finite",
                        (double)c->init_std);
    if ((c->tied != 0 && c->tied != 1) || (c->bias != 0 && c->bias != 1))
        return apx__err(APX_EINVAL, "gpt_config: tied = %d and bias = %d must be 0 or 1",
                        c->tied, c->bias);
    if (count_params(c) > ((int64_t)1 << 34))
        return apx__err(APX_EINVAL, "gpt_config: %lld parameters exceed the limit 2^34",
                        (long long)count_params(c));
    return APX_OK;
}

int64_t apx_gpt_config_param_count(const apx_gpt_config *c) {
    apx_status s = apx_gpt_config_check(c);
    if (s != APX_OK) {
        apx_clear_error();
        return 0;
    }
    return count_params(c);
}

/* Append "name a vs b" to msg when they differ; returns whether they were equal. */
static int cmp_i(const char *name, int64_t a, int64_t b, char *msg, size_t n) {
    if (a == b) return 1;
    if (msg && n) {
        size_t len = strlen(msg);
        snprintf(msg + len, n - len, "%s%s %lld vs %lld", len ? ", " : "", name, (long long)a,
                 (long long)b);
    }
    return 0;
}

static int cmp_s(const char *name, const char *a, const char *b, char *msg, size_t n) {
    if (a && b && !strcmp(a, b)) return 1;
    if (msg && n) {
        size_t len = strlen(msg);
        snprintf(msg + len, n - len, "%s%s %s vs %s", len ? ", " : "", name, a ? a : "?",
                 b ? b : "?");
    }
    return 0;
}

static int cmp_f(const char *name, float a, float b, char *msg, size_t n) {
    if (a == b) return 1;
    if (msg && n) {
        size_t len = strlen(msg);
        snprintf(msg + len, n - len, "%s%s %g vs %g", len ? ", " : "", name, (double)a,
                 (double)b);
    }
    return 0;
}

int apx_gpt_config_equal(const apx_gpt_config *a, const apx_gpt_config *b, char *msg,
                         size_t n) {
    if (msg && n) msg[0] = 0;
    if (!a || !b) {
        if (msg && n) snprintf(msg, n, "a configuration is NULL");
        return 0;
    }
    int eq = cmp_i("n_layer", a->n_layer, b->n_layer, msg, n);
    eq &= cmp_i("d_model", a->d_model, b->d_model, msg, n);
    eq &= cmp_i("n_head", a->n_head, b->n_head, msg, n);
    eq &= cmp_i("context", a->context, b->context, msg, n);
    eq &= cmp_i("vocab", a->vocab, b->vocab, msg, n);
    eq &= cmp_i("d_ff", apx__gpt_dff(a), apx__gpt_dff(b), msg, n);
    eq &= cmp_s("norm", apx_nn_norm_name(a->norm), apx_nn_norm_name(b->norm), msg, n);
    eq &= cmp_s("act", apx_nn_act_name(a->act), apx_nn_act_name(b->act), msg, n);
    eq &= cmp_f("dropout", a->dropout, b->dropout, msg, n);
    eq &= cmp_i("tied", a->tied, b->tied, msg, n);
    eq &= cmp_i("bias", a->bias, b->bias, msg, n);
    eq &= cmp_f("norm_eps", a->norm_eps, b->norm_eps, msg, n);
    eq &= cmp_f("init_std", a->init_std, b->init_std, msg, n);
    return eq;
}
