/* optim.c: the optimizer object: create and free, per-group scales, the step entry points,
 * the element-wise driver, and the named state arrays (save/load). */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

/* ---------------------------------------------------------------- state registration */

static apx_status grow_states(apx_optim *o) {
    if (o->nstates < o->capstates) return APX_OK;
    int64_t cap = o->capstates ? 2 * o->capstates : 16;
    apx_optim_state *s = realloc(o->states, (size_t)cap * sizeof *s);
    if (!s) return apx__err(APX_ENOMEM, "optim_create: cannot grow the state list");
    o->states = s;
    o->capstates = cap;
    return APX_OK;
}

/* Register a state array named "optim.<kind>.<a>[.<b>]". */
static apx_status add_state(apx_optim *o, const char *a, const char *b, apx_dtype dtype,
                            int ndim, const int64_t *shape, void *data) {
    APX__TRY(grow_states(o));
    size_t len = strlen(o->impl->kind.name) + strlen(a) + (b ? strlen(b) : 0) + 16;
    char *name = malloc(len);
    if (!name) return apx__err(APX_ENOMEM, "optim_create: cannot name state '%s'", a);
    snprintf(name, len, "optim.%s.%s%s%s", o->impl->kind.name, a, b ? "." : "", b ? b : "");
    apx_optim_state *s = &o->states[o->nstates++];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->dtype = dtype;
    s->ndim = ndim;
    s->size = 1;
    for (int d = 0; d < APX_AD_MAX_DIMS; d++) {
        s->shape[d] = d < ndim ? shape[d] : 1;
        s->size *= s->shape[d];
    }
    s->data = data;
    return APX_OK;
}

apx_status apx__optim_add_state(apx_optim *o, const char *name, apx_dtype dtype, int ndim,
                                const int64_t *shape, void *data) {
    return add_state(o, name, NULL, dtype, ndim, shape, data);
}

apx_status apx__optim_add_buf(apx_optim *o, const char *name, int *index) {
    if (o->nbufs >= APX__OPTIM_MAX_BUFS)
        return apx__err(APX_EINVAL, "optim_create: more than %d state buffers",
                        APX__OPTIM_MAX_BUFS);
    float *b = apx_calloc((size_t)o->n, sizeof(float));
    if (!b)
        return apx__err(APX_ENOMEM, "optim_create: cannot allocate state '%s' (%lld floats)",
                        name, (long long)o->n);
    o->buf[o->nbufs] = b;
    if (index) *index = o->nbufs;
    o->nbufs++;
    for (int64_t g = 0; g < o->ngroups; g++)
        APX__TRY(add_state(o, name, o->groups[g].name, APX_DT_F32, o->groups[g].ndim,
                           o->groups[g].shape, b + o->groups[g].offset));
    return APX_OK;
}

/* ---------------------------------------------------------------- create and free */

/* Merge consecutive groups with equal scales into segments. */
static void build_segments(apx_optim *o) {
    o->nsegs = 0;
    for (int64_t g = 0; g < o->ngroups; g++) {
        apx__optim_seg *last = o->nsegs ? &o->segs[o->nsegs - 1] : NULL;
        float ls = (float)o->lr_scale[g], ws = (float)o->wd_scale[g];
        if (last && last->lr_scale == ls && last->wd_scale == ws &&
            last->off + last->len == o->groups[g].offset) {
            last->len += o->groups[g].size;
            continue;
        }
        o->segs[o->nsegs++] = (apx__optim_seg){o->groups[g].offset, o->groups[g].size, ls, ws};
    }
}

static apx_status read_table(apx_optim *o) {
    o->ngroups = apx_params_count(o->p);
    o->n = apx_params_size(o->p);
    size_t ng = (size_t)o->ngroups;
    o->groups = apx__alloc("optim_create", ng, sizeof *o->groups);
    o->lr_scale = apx__alloc("optim_create", ng, sizeof(double));
    o->wd_scale = apx__alloc("optim_create", ng, sizeof(double));
    o->segs = apx__alloc("optim_create", ng, sizeof *o->segs);
    if (!o->groups || !o->lr_scale || !o->wd_scale || !o->segs) return APX_ENOMEM;
    for (int64_t g = 0; g < o->ngroups; g++) {
        APX__TRY(apx_params_info(o->p, g, &o->groups[g]));
        o->lr_scale[g] = o->wd_scale[g] = 1;
    }
    build_segments(o);
    int64_t one = 1;
    return add_state(o, "step", NULL, APX_DT_I64, 1, &one, &o->step);
}

apx_status apx_optim_create(apx_params *p, const apx_optim_settings *s, apx_optim **out) {
    if (!out) return apx__err(APX_EINVAL, "optim_create: out is NULL");
    *out = NULL;
    if (!p) return apx__err(APX_EINVAL, "optim_create: params is NULL");
    if (!apx_params_finalized(p))
        return apx__err(APX_EINVAL, "optim_create: the parameter table is not finalized");
    APX__TRY(apx_optim_settings_check(s));
    apx_optim *o = apx__alloc("optim_create", 1, sizeof *o);
    if (!o) return APX_ENOMEM;
    o->impl = apx__optim_impl_of(s->kind);
    o->set = *s;
    o->p = p;
    apx_status st = read_table(o);
    if (st == APX_OK) st = o->impl->init(o);
    if (st != APX_OK) {
        apx_optim_free(o);
        return st;
    }
    *out = o;
    return APX_OK;
}

apx_status apx_optim_create_str(apx_params *p, const char *kind, int n,
                                const char *const *key_values, apx_optim **out) {
    if (!out) return apx__err(APX_EINVAL, "optim_create_str: out is NULL");
    *out = NULL;
    if (n < 0 || (n > 0 && !key_values))
        return apx__err(APX_EINVAL, "optim_create_str: %d settings but key_values is %s", n,
                        key_values ? "given" : "NULL");
    apx_optim_settings s;
    APX__TRY(apx_optim_settings_init(kind, &s));
    for (int i = 0; i < n; i++) APX__TRY(apx_optim_settings_parse(&s, key_values[i]));
    return apx_optim_create(p, &s, out);
}

void apx_optim_free(apx_optim *o) {
    if (!o) return;
    if (o->impl && o->impl->destroy)
        o->impl->destroy(o);
    else
        apx_free(o->priv);
    for (int i = 0; i < o->nbufs; i++) apx_free(o->buf[i]);
    for (int64_t i = 0; i < o->nstates; i++) free((char *)o->states[i].name);
    free(o->states);
    free(o->groups);
    free(o->lr_scale);
    free(o->wd_scale);
    free(o->segs);
    free(o);
}

const apx_optim_kind *apx_optim_get_kind(const apx_optim *o) {
    return o ? &o->impl->kind : NULL;
}
const apx_optim_settings *apx_optim_get_settings(const apx_optim *o) {
    return o ? &o->set : NULL;
}
double apx_optim_base_lr(const apx_optim *o) { return o ? o->set.v[0] : 0; }
int64_t apx_optim_steps(const apx_optim *o) { return o ? o->step : 0; }

apx_status apx_optim_set_group_scale(apx_optim *o, int64_t index, double lr_scale,
                                     double wd_scale) {
    if (!o) return apx__err(APX_EINVAL, "optim_set_group_scale: optimizer is NULL");
    if (index < 0 || index >= o->ngroups)
        return apx__err(APX_EINVAL, "optim_set_group_scale: index %lld is outside [0, %lld)",
                        (long long)index, (long long)o->ngroups);
    if (!(lr_scale >= 0 && lr_scale < HUGE_VAL) || !(wd_scale >= 0 && wd_scale < HUGE_VAL))
        return apx__err(APX_EINVAL, "optim_set_group_scale: scales must be finite and >= 0, "
                        "got lr_scale %g, wd_scale %g", lr_scale, wd_scale);
    o->lr_scale[index] = lr_scale;
    o->wd_scale[index] = wd_scale;
    build_segments(o);
    return APX_OK;
}

/* ---------------------------------------------------------------- steps */

float apx__optim_ew_run(apx_optim *o, apx__ew_block_fn fn, const void *coef) {
    float chk = 0;
    for (int64_t s = 0; s < o->nsegs; s++) {
        const apx__optim_seg *sg = &o->segs[s];
        int64_t nb = (sg->len + APX__OPTIM_BLOCK - 1) / APX__OPTIM_BLOCK;
#pragma omp parallel for schedule(static) reduction(+ : chk) if (nb > 8)
        for (int64_t b = 0; b < nb; b++) {
            int64_t off = b * APX__OPTIM_BLOCK;
            int64_t len = APX__MIN(APX__OPTIM_BLOCK, sg->len - off);
            chk += fn(o, coef, sg->off + off, len, sg->lr_scale, sg->wd_scale);
        }
    }
    return chk;
}

/* The first group holding a non-finite gradient (for the message). */
static apx_status bad_grad(const apx_optim *o) {
    const float *g = apx_params_grad(o->p);
    for (int64_t k = 0; k < o->ngroups; k++)
        for (int64_t i = 0; i < o->groups[k].size; i++)
            if (!isfinite(g[o->groups[k].offset + i]))
                return apx__err(APX_ENUMERIC, "optim %s step %lld: gradient of '%s' [%lld] "
                                "is %g; the step was applied and the parameters are no "
                                "longer usable", o->impl->kind.name, (long long)o->step,
                                o->groups[k].name, (long long)i,
                                (double)g[o->groups[k].offset + i]);
    return apx__err(APX_ENUMERIC, "optim %s step %lld: a non-finite value met in the update",
                    o->impl->kind.name, (long long)o->step);
}

apx_status apx_optim_step_hess(apx_optim *o, double lr, const float *hdiag) {
    if (!o) return apx__err(APX_EINVAL, "optim_step: optimizer is NULL");
    const char *kn = o->impl->kind.name;
    if (!(lr >= 0 && lr < HUGE_VAL))
        return apx__err(APX_EINVAL, "optim %s: learning rate %g must be finite and >= 0", kn,
                        lr);
    if (hdiag && !(o->impl->kind.flags & APX_OPTIM_HESSIAN))
        return apx__err(APX_EINVAL, "optim %s: this kind takes no Hessian estimate", kn);
    if (hdiag)
        for (int64_t i = 0; i < o->n; i++)
            if (!isfinite(hdiag[i]))
                return apx__err(APX_EINVAL, "optim %s: hdiag[%lld] is %g", kn, (long long)i,
                                (double)hdiag[i]);
    float chk = 0;
    APX__TRY(o->impl->step(o, lr, hdiag, &chk));
    o->step++;
    return isnan(chk) ? bad_grad(o) : APX_OK;
}

apx_status apx_optim_step(apx_optim *o, double lr) { return apx_optim_step_hess(o, lr, NULL); }

apx_status apx_optim_set_loss(apx_optim *o, double loss) {
    if (!o) return apx__err(APX_EINVAL, "optim_set_loss: optimizer is NULL");
    if (!isfinite(loss))
        return apx__err(APX_EINVAL, "optim %s: loss %g is not finite", o->impl->kind.name,
                        loss);
    o->loss = loss;
    o->has_loss = 1;
    return APX_OK;
}

static apx_status check_stat_vec(const apx_optim *o, const char *what, const float *x,
                                 int64_t n, int64_t want, const char *name) {
    const char *kn = o->impl->kind.name;
    if (!x) return apx__err(APX_EINVAL, "optim %s set_layer_stats: %s is NULL", kn, what);
    if (n != want)
        return apx__err(APX_EINVAL, "optim %s set_layer_stats: '%s' takes %s of %lld values, "
                        "got %lld", kn, name, what, (long long)want, (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return apx__err(APX_EINVAL, "optim %s set_layer_stats: %s[%lld] of '%s' is %g", kn,
                            what, (long long)i, name, (double)x[i]);
    return APX_OK;
}

apx_status apx_optim_set_layer_stats(apx_optim *o, int64_t group, const float *a, int64_t n_in,
                                     const float *g, int64_t n_out) {
    if (!o) return apx__err(APX_EINVAL, "optim_set_layer_stats: optimizer is NULL");
    const char *kn = o->impl->kind.name;
    if (!(o->impl->kind.flags & APX_OPTIM_STATS) || !o->impl->stats)
        return apx__err(APX_EINVAL, "optim %s: this kind takes no layer statistics", kn);
    if (group < 0 || group >= o->ngroups)
        return apx__err(APX_EINVAL, "optim %s set_layer_stats: group %lld is outside [0, %lld)",
                        kn, (long long)group, (long long)o->ngroups);
    const apx_param_info *in = &o->groups[group];
    if (in->ndim < 2)
        return apx__err(APX_EINVAL, "optim %s set_layer_stats: '%s' has %d dim(s), not a "
                        "matrix", kn, in->name, in->ndim);
    int64_t out = in->shape[0];
    APX__TRY(check_stat_vec(o, "a", a, n_in, in->size / out, in->name));
    APX__TRY(check_stat_vec(o, "g", g, n_out, out, in->name));
    return o->impl->stats(o, group, a, g);
}

/* ---------------------------------------------------------------- state */

int64_t apx_optim_state_count(const apx_optim *o) { return o ? o->nstates : 0; }

apx_status apx_optim_state_get(const apx_optim *o, int64_t i, apx_optim_state *out) {
    if (!o || !out) return apx__err(APX_EINVAL, "optim_state_get: %s is NULL",
                                    o ? "out" : "optimizer");
    if (i < 0 || i >= o->nstates)
        return apx__err(APX_EINVAL, "optim_state_get: index %lld is outside [0, %lld)",
                        (long long)i, (long long)o->nstates);
    *out = o->states[i];
    return APX_OK;
}

static apx_status save_meta(const apx_optim *o, char ***keys, char ***vals, int *nm) {
    int n = 1 + o->set.kind->n_settings;
    *keys = calloc((size_t)n, sizeof(char *));
    *vals = calloc((size_t)n, sizeof(char *));
    if (!*keys || !*vals) return apx__err(APX_ENOMEM, "optim_state_save: metadata");
    *nm = n;
    for (int i = 0; i < n; i++) {
        (*keys)[i] = malloc(160);
        (*vals)[i] = malloc(64);
        if (!(*keys)[i] || !(*vals)[i]) return apx__err(APX_ENOMEM, "optim_state_save: metadata");
        if (i == 0) {
            snprintf((*keys)[i], 160, "optim.kind");
            snprintf((*vals)[i], 64, "%s", o->impl->kind.name);
        } else {
            snprintf((*keys)[i], 160, "optim.setting.%s", o->set.kind->settings[i - 1].name);
            snprintf((*vals)[i], 64, "%.17g", o->set.v[i - 1]);
        }
    }
    return APX_OK;
}

apx_status apx_optim_state_save(const apx_optim *o, const char *path) {
    if (!o || !path) return apx__err(APX_EINVAL, "optim_state_save: %s is NULL",
                                     o ? "path" : "optimizer");
    int n = (int)o->nstates, nm = 0;
    const char **names = calloc((size_t)n, sizeof *names);
    apx_array *arr = calloc((size_t)n, sizeof *arr);
    char **keys = NULL, **vals = NULL;
    apx_status st = (names && arr) ? APX_OK : apx__err(APX_ENOMEM, "optim_state_save");
    if (st == APX_OK) st = save_meta(o, &keys, &vals, &nm);
    for (int i = 0; st == APX_OK && i < n; i++) {
        const apx_optim_state *s = &o->states[i];
        names[i] = s->name;
        arr[i].dtype = s->dtype;
        arr[i].ndim = s->ndim;
        for (int d = 0; d < s->ndim; d++) arr[i].shape[d] = s->shape[d];
        arr[i].data = s->data; /* borrowed: never freed here */
    }
    if (st == APX_OK)
        st = apx_safetensors_write(path, n, names, arr, nm, (const char *const *)keys,
                                   (const char *const *)vals);
    for (int i = 0; i < nm; i++) {
        if (keys) free(keys[i]);
        if (vals) free(vals[i]);
    }
    free(keys);
    free(vals);
    free(names);
    free(arr);
    return st;
}

/* The kind of a state list: X from a tensor "optim.X.step" (NULL if none); into buf. */
static const char *state_kind(const apx_safetensors *st, char *buf, size_t n) {
    for (int i = 0; i < st->count; i++) {
        const char *nm = st->names[i];
        size_t len = strlen(nm);
        if (len > 11 && !strncmp(nm, "optim.", 6) && !strcmp(nm + len - 5, ".step") &&
            len - 11 < n) {
            memcpy(buf, nm + 6, len - 11);
            buf[len - 11] = 0;
            return buf;
        }
    }
    return NULL;
}

static apx_status match_state(const apx_optim *o, const apx_optim_state *s,
                              const apx_safetensors *st) {
    int j = apx_safetensors_find(st, s->name);
    if (j < 0) {
        char other[128];
        const char *k = state_kind(st, other, sizeof other);
        if (k && strcmp(k, o->impl->kind.name))
            return apx__err(APX_EINVAL, "optim_state_load: the state is of optimizer kind "
                            "'%s', this optimizer is '%s'", k, o->impl->kind.name);
        return apx__err(APX_EINVAL, "optim_state_load: no array '%s' in the state",
                        s->name);
    }
    const apx_array *a = &st->tensors[j];
    int same = a->dtype == s->dtype && a->ndim == s->ndim;
    for (int d = 0; same && d < s->ndim; d++) same = a->shape[d] == s->shape[d];
    if (!same) {
        const apx_dtype_props *dp = apx_dtype_info(a->dtype);
        return apx__err(APX_ESHAPE, "optim_state_load: '%s' is %s with %d dims (first %lld) "
                        "in the state, expected %s with %d dims (first %lld)", s->name,
                        dp ? dp->name : "?", a->ndim, (long long)(a->ndim ? a->shape[0] : 1),
                        apx_dtype_info(s->dtype)->name, s->ndim, (long long)s->shape[0]);
    }
    return APX_OK;
}

apx_status apx_optim_state_load(apx_optim *o, const apx_safetensors *st) {
    if (!o || !st) return apx__err(APX_EINVAL, "optim_state_load: %s is NULL",
                                   o ? "state" : "optimizer");
    for (int64_t i = 0; i < o->nstates; i++) APX__TRY(match_state(o, &o->states[i], st));
    const apx_array *steps = &st->tensors[apx_safetensors_find(st, o->states[0].name)];
    if (*(const int64_t *)steps->data < 0)
        return apx__err(APX_EINVAL, "optim_state_load: '%s' is %lld, must be >= 0",
                        o->states[0].name, (long long)*(const int64_t *)steps->data);
    for (int64_t i = 0; i < o->nstates; i++) {
        const apx_optim_state *s = &o->states[i];
        const apx_array *a = &st->tensors[apx_safetensors_find(st, s->name)];
        memcpy(s->data, a->data, (size_t)s->size * apx_dtype_info(s->dtype)->size);
    }
    return APX_OK;
}
