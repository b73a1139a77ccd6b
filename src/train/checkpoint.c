/* checkpoint.c: training checkpoints: the model (apx_gpt_save), the optimizer state and,
 * in the metadata, the options and the position of the run; and reading them back. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"

#define TP "apx.train."

/* ================================================================ writing */

typedef struct {
    int n;
    char keys[CKPT_MAX_META][40];
    char vals[CKPT_MAX_META][CKPT_VAL_LEN];
} meta_list;

static void put(meta_list *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put(meta_list *l, const char *key, const char *fmt, ...) {
    if (l->n >= CKPT_MAX_META) return;
    snprintf(l->keys[l->n], sizeof l->keys[0], TP "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->vals[l->n], sizeof l->vals[0], fmt, ap);
    va_end(ap);
    l->n++;
}

static void opts_meta(meta_list *l, const apx_train_opts *o) {
    put(l, "steps", "%lld", (long long)o->steps);
    put(l, "batch", "%lld", (long long)o->batch);
    put(l, "accum", "%lld", (long long)o->accum);
    put(l, "lr", "%.17g", o->lr);
    put(l, "min_lr", "%.17g", o->min_lr);
    put(l, "warmup", "%lld", (long long)o->warmup);
    put(l, "schedule", "%s", apx_sched_kind_name(o->schedule));
    put(l, "optimizer", "%s", o->optimizer);
    put(l, "weight_decay", "%.17g", o->weight_decay);
    put(l, "beta1", "%.17g", o->beta1);
    put(l, "beta2", "%.17g", o->beta2);
    put(l, "grad_clip", "%.17g", o->grad_clip);
    put(l, "val_fraction", "%.17g", o->val_fraction);
    put(l, "eval_every", "%lld", (long long)o->eval_every);
    put(l, "eval_tokens", "%lld", (long long)o->eval_tokens);
    put(l, "ckpt_every", "%lld", (long long)o->ckpt_every);
    put(l, "log_every", "%lld", (long long)o->log_every);
    put(l, "time_budget", "%.17g", o->time_budget);
    put(l, "opt_settings", "%s", o->opt_settings);
    put(l, "max_tokens", "%lld", (long long)o->max_tokens);
    put(l, "seed", "%llu", (unsigned long long)o->seed);
}

static void state_meta(meta_list *l, const apx__ckpt_state *s) {
    put(l, "format", "1");
    put(l, "step", "%lld", (long long)s->step);
    put(l, "position", "%lld", (long long)s->position);
    put(l, "tokens", "%lld", (long long)s->tokens);
    put(l, "budget_done", "%d", s->budget_done);
    put(l, "log_bytes", "%lld", (long long)s->log_bytes);
    put(l, "elapsed", "%.17g", s->elapsed);
    put(l, "val_loss", "%.17g", s->val_loss);
    put(l, "win_loss", "%.17g", s->win_loss);
    put(l, "win_n", "%lld", (long long)s->win_n);
    put(l, "accum_now", "%lld", (long long)s->accum);
    put(l, "corpus_path", "%s", s->corpus_path);
    put(l, "corpus_size", "%lld", (long long)s->corpus_size);
    put(l, "corpus_crc32", "%lu", (unsigned long)s->corpus_crc);
}

apx_status apx__ckpt_write(const char *path, apx_gpt *m, apx_optim *opt,
                           const apx_train_opts *o, const apx__ckpt_state *s) {
    meta_list *l = calloc(1, sizeof *l);
    int64_t ns = apx_optim_state_count(opt);
    const char **names = calloc((size_t)ns + 1, sizeof(char *));
    apx_array *arr = calloc((size_t)ns + 1, sizeof(apx_array));
    const char *keys[CKPT_MAX_META], *vals[CKPT_MAX_META];
    apx_status st = l && names && arr ? APX_OK
                                      : apx__err(APX_ENOMEM, "checkpoint '%s': out of memory", path);
    for (int64_t i = 0; st == APX_OK && i < ns; i++) {
        apx_optim_state os;
        st = apx_optim_state_get(opt, i, &os);
        names[i] = os.name;
        arr[i].dtype = os.dtype;
        arr[i].ndim = os.ndim;
        for (int d = 0; d < os.ndim; d++) arr[i].shape[d] = os.shape[d];
        arr[i].data = os.data;
    }
    if (st == APX_OK) {
        opts_meta(l, o);
        state_meta(l, s);
        for (int i = 0; i < l->n; i++) keys[i] = l->keys[i], vals[i] = l->vals[i];
        st = apx_gpt_save(m, path, (int)ns, names, arr, l->n, keys, vals);
    }
    free(l);
    free(names);
    free(arr);
    return st;
}

/* ================================================================ reading */

static const char *get(const apx_safetensors *st, const char *key) {
    char full[64];
    snprintf(full, sizeof full, TP "%s", key);
    for (int i = 0; i < st->meta_count; i++)
        if (!strcmp(st->meta_keys[i], full)) return st->meta_values[i];
    return NULL;
}

static apx_status missing(const char *path, const char *key) {
    return apx__err(APX_EFORMAT, "%s: not a training checkpoint: metadata " TP "%s is missing "
                    "or malformed", path, key);
}

static apx_status get_i(const apx_safetensors *st, const char *path, const char *key,
                        int64_t *out) {
    const char *v = get(st, key);
    char *end;
    if (!v) return missing(path, key);
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end) return missing(path, key);
    *out = x;
    return APX_OK;
}

static apx_status get_u(const apx_safetensors *st, const char *path, const char *key,
                        uint64_t *out) {
    const char *v = get(st, key);
    char *end;
    if (!v || *v == '-') return missing(path, key);
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end) return missing(path, key);
    *out = x;
    return APX_OK;
}

static apx_status get_d(const apx_safetensors *st, const char *path, const char *key,
                        double *out) {
    const char *v = get(st, key);
    char *end;
    if (!v) return missing(path, key);
    double x = strtod(v, &end);
    if (end == v || *end) return missing(path, key);
    *out = x;
    return APX_OK;
}

static apx_status read_kinds(const apx_safetensors *st, const char *path, apx_train_opts *o) {
    const char *sch = get(st, "schedule"), *opt = get(st, "optimizer");
    if (!sch || apx_sched_kind_parse(sch, &o->schedule) != APX_OK) return missing(path, "schedule");
    const apx_optim_kind *k;
    if (!opt || apx_optim_kind_find(opt, &k) != APX_OK) return missing(path, "optimizer");
    o->optimizer = k->name; /* static */
    return APX_OK;
}

apx_status apx__ckpt_read_opts(const apx_safetensors *st, const char *path, apx_train_opts *o) {
    *o = apx_train_opts_default();
    APX__TRY(get_i(st, path, "steps", &o->steps));
    APX__TRY(get_i(st, path, "batch", &o->batch));
    APX__TRY(get_i(st, path, "accum", &o->accum));
    APX__TRY(get_d(st, path, "lr", &o->lr));
    APX__TRY(get_d(st, path, "min_lr", &o->min_lr));
    APX__TRY(get_i(st, path, "warmup", &o->warmup));
    APX__TRY(read_kinds(st, path, o));
    APX__TRY(get_d(st, path, "weight_decay", &o->weight_decay));
    APX__TRY(get_d(st, path, "beta1", &o->beta1));
    APX__TRY(get_d(st, path, "beta2", &o->beta2));
    APX__TRY(get_d(st, path, "grad_clip", &o->grad_clip));
    APX__TRY(get_d(st, path, "val_fraction", &o->val_fraction));
    APX__TRY(get_i(st, path, "eval_every", &o->eval_every));
    APX__TRY(get_i(st, path, "eval_tokens", &o->eval_tokens));
    APX__TRY(get_i(st, path, "ckpt_every", &o->ckpt_every));
    APX__TRY(get_i(st, path, "log_every", &o->log_every));
    APX__TRY(get_d(st, path, "time_budget", &o->time_budget));
    APX__TRY(get_u(st, path, "seed", &o->seed));
    const char *os = get(st, "opt_settings"); /* absent in checkpoints of earlier builds */
    snprintf(o->opt_settings, sizeof o->opt_settings, "%s", os ? os : "");
    if (get(st, "max_tokens")) /* absent in checkpoints of earlier builds: no budget */
        APX__TRY(get_i(st, path, "max_tokens", &o->max_tokens));
    if (apx_train_opts_check(o) != APX_OK)
        return apx__err(APX_EFORMAT, "%s: invalid training options in the metadata (%s)", path,
                        apx_last_error());
    return APX_OK;
}

apx_status apx__ckpt_read_state(const apx_safetensors *st, const char *path,
                                apx__ckpt_state *s) {
    memset(s, 0, sizeof *s);
    int64_t fmt, budget, crc;
    APX__TRY(get_i(st, path, "format", &fmt));
    if (fmt != 1)
        return apx__err(APX_EFORMAT, "%s: checkpoint format %lld is not supported (1)", path,
                        (long long)fmt);
    APX__TRY(get_i(st, path, "step", &s->step));
    APX__TRY(get_i(st, path, "position", &s->position));
    APX__TRY(get_i(st, path, "tokens", &s->tokens));
    APX__TRY(get_i(st, path, "budget_done", &budget));
    APX__TRY(get_i(st, path, "log_bytes", &s->log_bytes));
    APX__TRY(get_d(st, path, "elapsed", &s->elapsed));
    APX__TRY(get_d(st, path, "val_loss", &s->val_loss));
    APX__TRY(get_d(st, path, "win_loss", &s->win_loss));
    APX__TRY(get_i(st, path, "win_n", &s->win_n));
    APX__TRY(get_i(st, path, "corpus_size", &s->corpus_size));
    APX__TRY(get_i(st, path, "corpus_crc32", &crc));
    const char *cp = get(st, "corpus_path");
    if (!cp) return missing(path, "corpus_path");
    snprintf(s->corpus_path, sizeof s->corpus_path, "%s", cp);
    const char *ac = get(st, "accum_now"); /* absent in checkpoints of earlier builds */
    s->accum = ac ? strtoll(ac, NULL, 10) : 0;
    s->budget_done = (int)budget;
    s->corpus_crc = (uint32_t)crc;
    if (s->step < 0 || s->position < 0 || s->tokens < 0 || s->log_bytes < 0 || s->win_n < 0 ||
        s->accum < 0)
        return apx__err(APX_EFORMAT, "%s: negative step, position, tokens or log length", path);
    return APX_OK;
}

apx_status apx__ckpt_read_file(const char *path, apx_safetensors *st) {
    apx_status s = apx_safetensors_read(path, st);
    if (s != APX_EFORMAT) return s;
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", apx_last_error());
    return apx__err(APX_EFORMAT, "checkpoint %s is truncated or malformed (%s)", path, keep);
}

apx_status apx_train_checkpoint_info(const char *path, apx_gpt_config *cfg, apx_train_opts *o,
                                     int64_t *step, char *corpus_path, size_t n_path) {
    if (!path) return apx__err(APX_EINVAL, "train_checkpoint_info: path is NULL");
    apx_safetensors st;
    memset(&st, 0, sizeof st);
    APX__TRY(apx__ckpt_read_file(path, &st));
    apx_gpt_config c;
    apx_train_opts to;
    apx__ckpt_state s;
    apx_status r = apx_gpt_config_from_file(&st, path, &c);
    if (r == APX_OK) r = apx__ckpt_read_opts(&st, path, &to);
    if (r == APX_OK) r = apx__ckpt_read_state(&st, path, &s);
    apx_safetensors_free(&st);
    if (r != APX_OK) return r;
    if (cfg) *cfg = c;
    if (o) *o = to;
    if (step) *step = s.step;
    if (corpus_path && n_path) snprintf(corpus_path, n_path, "%s", s.corpus_path);
    return APX_OK;
}

/* ================================================================ stale temp files */

void apx__ckpt_remove_stale(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    const char *prefixes[] = {CKPT_FILE ".tmp.", MODEL_FILE ".tmp.", SVG_FILE ".tmp.",
                              SUMMARY_FILE ".tmp."};
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        for (int i = 0; i < 4; i++)
            if (!strncmp(e->d_name, prefixes[i], strlen(prefixes[i]))) {
                char p[4096];
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
    closedir(d);
}
