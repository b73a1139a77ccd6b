/* loop.c: the training loop: batches, schedule, evaluation, the JSON-lines log, the loss
 * plot, checkpoints, the summary, and resuming a run from its checkpoint. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "io/io_internal.h"

typedef struct {
    double *x, *y;
    int64_t n, cap;
} hist;

typedef struct {
    apx_gpt *m;
    const apx_corpus *c;
    apx_train_opts o;
    apx_trainer *tr;
    apx__ckpt_state s;
    char dir[4096];      /* "" when the run writes no files */
    FILE *log;
    int32_t *ids, *tgt;  /* accum * batch * context each */
    hist th, vh;         /* training and validation loss against the step */
    double last_train, val_bpb;
    double t_train;      /* training seconds in this call */
    int64_t tok_call;    /* tokens trained in this call */
    double t_start;      /* wall clock at the start of this call */
    int64_t first_step;  /* step at the start of this call */
    int stopped;
    int budget_reached; /* max_tokens ended the run */
    int64_t max_accum;   /* micro-batches the buffers hold */
    int64_t last_batch;  /* sequences of the last step */
} run;

enum { CALIB_STEPS = 6 };

/* ================================================================ small helpers */

static void path_of(const run *r, const char *name, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", r->dir, name);
}

static apx_status hist_push(hist *h, double x, double y) {
    if (h->n == h->cap) {
        int64_t cap = h->cap ? 2 * h->cap : 256;
        double *nx = realloc(h->x, (size_t)cap * sizeof(double));
        if (nx) h->x = nx;
        double *ny = nx ? realloc(h->y, (size_t)cap * sizeof(double)) : NULL;
        if (ny) h->y = ny;
        if (!nx || !ny) return apx__err(APX_ENOMEM, "train: cannot grow the loss history");
        h->cap = cap;
    }
    h->x[h->n] = x;
    h->y[h->n++] = y;
    return APX_OK;
}

static apx_status mkdirs(const char *dir) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; ; p++) {
        char c = *p;
        if (c == '/' || c == 0) {
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return apx__err(APX_EIO, "train: cannot create the folder '%s': %s", buf,
                                strerror(errno));
            *p = c;
        }
        if (!c) break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return apx__err(APX_EIO, "train: '%s' is not a folder", dir);
    return APX_OK;
}

/* The schedule of the current options (min_lr and warm-up resolved). */
static apx_sched schedule_of(const apx_train_opts *o) {
    apx_sched s = apx_sched_default();
    s.kind = o->schedule;
    s.lr = o->lr;
    s.min_lr = o->min_lr >= 0 ? o->min_lr : o->lr / 10;
    s.warmup_steps = o->warmup >= 0 ? o->warmup : o->steps / 20;
    s.total_steps = o->steps;
    return s;
}

/* ================================================================ log, plot, summary */

static apx_status log_line(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static apx_status log_line(run *r, const char *fmt, ...) {
    if (!r->log) return APX_OK;
    apx__cloc loc;
    apx__cloc_push(&loc);
    va_list ap;
    va_start(ap, fmt);
    int bad = vfprintf(r->log, fmt, ap) < 0 || fflush(r->log) != 0;
    va_end(ap);
    apx__cloc_pop(&loc);
    if (bad) return apx__err(APX_EIO, "train: cannot write %s/" LOG_FILE ": %s", r->dir,
                             strerror(errno));
    return APX_OK;
}

static apx_status write_plot(run *r) {
    if (!r->dir[0]) return APX_OK;
    char path[4200];
    path_of(r, SVG_FILE, path, sizeof path);
    apx__svg_plot p;
    memset(&p, 0, sizeof p);
    p.title = "apx train: loss";
    p.xlabel = "step";
    p.ylabel = "cross-entropy (nats per byte)";
    p.n_series = 2;
    p.series[0] = (apx__svg_series){"training", "#1f77b4", r->th.x, r->th.y, r->th.n};
    p.series[1] = (apx__svg_series){"validation", "#d62728", r->vh.x, r->vh.y, r->vh.n};
    return apx__svg_write(path, &p);
}

static apx_status checkpoint(run *r) {
    if (!r->dir[0]) return APX_OK;
    char path[4200];
    path_of(r, CKPT_FILE, path, sizeof path);
    r->s.log_bytes = r->log ? (int64_t)ftello(r->log) : 0;
    return apx__ckpt_write(path, r->m, apx_trainer_optim(r->tr), &r->o, &r->s);
}

static apx_status write_summary(run *r, const apx_train_result *res) {
    if (!r->dir[0]) return APX_OK;
    char path[4200];
    path_of(r, SUMMARY_FILE, path, sizeof path);
    const apx_gpt_config *c = apx_gpt_get_config(r->m);
    apx__aw w;
    APX__TRY(apx__aw_open(&w, "train", path));
    apx__cloc loc;
    apx__cloc_push(&loc);
    apx__aw_printf(&w, "{\"steps\": %lld, \"tokens\": %lld, \"train_loss\": %.6f, "
                   "\"val_loss\": %.6f, \"val_bpb\": %.6f, \"tokens_per_s\": %.1f, "
                   "\"train_seconds\": %.2f, \"params\": %lld, \"n_layer\": %lld, "
                   "\"d_model\": %lld, \"n_head\": %lld, \"context\": %lld, \"norm\": \"%s\", "
                   "\"act\": \"%s\", \"batch\": %lld, \"accum\": %lld, \"lr\": %g}\n",
                   (long long)res->steps, (long long)res->tokens, res->train_loss,
                   res->val_loss, res->val_bpb, res->tokens_per_s, r->s.elapsed,
                   (long long)apx_params_size(apx_gpt_params(r->m)), (long long)c->n_layer,
                   (long long)c->d_model, (long long)c->n_head, (long long)c->context,
                   apx_nn_norm_name(c->norm), apx_nn_act_name(c->act), (long long)r->o.batch,
                   (long long)r->o.accum, r->o.lr);
    apx__cloc_pop(&loc);
    return apx__aw_commit(&w);
}

/* ================================================================ evaluation */

static apx_status evaluate(run *r) {
    apx_eval_result e;
    const uint8_t *val = r->c->data + r->c->train_size;
    APX__TRY(apx_gpt_evaluate(r->m, val, r->c->val_size, r->o.batch, r->o.eval_tokens, NULL, &e));
    r->s.val_loss = e.loss;
    r->val_bpb = e.bpb;
    APX__TRY(hist_push(&r->vh, (double)r->s.step, e.loss));
    APX__TRY(log_line(r, "{\"step\": %lld, \"val_loss\": %.6f, \"val_bpb\": %.6f, "
                      "\"val_tokens\": %lld}\n", (long long)r->s.step, e.loss, e.bpb,
                      (long long)e.tokens));
    APX__TRY(write_plot(r));
    return checkpoint(r);
}

/* ================================================================ one step */

static apx_status train_step(run *r, apx_step_info *info) {
    int64_t B = r->o.batch, T = apx_gpt_get_config(r->m)->context, acc = r->s.accum;
    for (int64_t j = 0; j < acc; j++)
        APX__TRY(apx_corpus_batch(r->c, r->o.seed ^ APX__DATA_KEY, r->s.position + j, B, T,
                                  r->ids + j * B * T, r->tgt + j * B * T));
    apx_sched sc = schedule_of(&r->o);
    double lr;
    APX__TRY(apx_sched_lr(&sc, r->s.step, &lr));
    double t0 = apx__train_now();
    APX__TRY(apx_trainer_step(r->tr, r->ids, r->tgt, acc, B, T, lr, (uint64_t)r->s.step, info));
    double dt = apx__train_now() - t0;
    r->t_train += dt;
    r->s.elapsed += dt;
    r->s.step++;
    r->s.position += acc;
    r->s.tokens += acc * B * T;
    r->tok_call += acc * B * T;
    r->last_batch = acc * B;
    r->s.accum = info->next_accum;
    r->s.win_loss += info->loss;
    r->s.win_n++;
    return APX_OK;
}

// the token budget (max_tokens) is spent
static int budget_spent(const run *r) {
    return r->o.max_tokens > 0 && r->s.tokens >= r->o.max_tokens;
}

static apx_status after_step(run *r, const apx_step_info *info) {
    if (r->s.step % r->o.log_every && r->s.step != r->o.steps && !budget_spent(r))
        return APX_OK;
    double mean = r->s.win_loss / (double)r->s.win_n;
    r->last_train = mean;
    r->s.win_loss = 0, r->s.win_n = 0;
    APX__TRY(hist_push(&r->th, (double)r->s.step, mean));
    double tps = r->t_train > 0 ? (double)r->tok_call / r->t_train : 0;
    return log_line(r, "{\"step\": %lld, \"loss\": %.6f, \"lr\": %.6g, \"grad_norm\": %.5g, "
                    "\"tokens_per_s\": %.1f, \"elapsed\": %.3f, \"batch\": %lld}\n",
                    (long long)r->s.step, mean, info->lr, info->grad_norm, tps, r->s.elapsed,
                    (long long)r->last_batch);
}

/* With a time budget, `steps` is planned after the first CALIB_STEPS steps from their
 * speed (plus the estimated evaluation cost), then re-planned when 20, 40, 60 and 80% of the
 * budget have passed from the wall-clock rate of the run so far (evaluations and
 * checkpoints included), which follows a machine whose load changes. budget_done counts
 * the plans made (0..5); it is saved in checkpoints. */
static void plan_steps(run *r, double per_step_all, double left) {
    int64_t more = (int64_t)(left / per_step_all);
    r->o.steps = r->s.step + APX__MAX(more, 1);
    if (r->s.budget_done == 0 && r->o.warmup < 0) r->o.warmup = r->o.steps / 20; /* kept */
    r->s.budget_done++;
}

static void fix_budget(run *r, double t_calib) {
    if (r->o.time_budget <= 0 || r->s.budget_done >= 5) return;
    double wall = apx__train_now() - r->t_start;
    int64_t done = r->s.step - r->first_step;
    if (r->s.budget_done == 0 && done == CALIB_STEPS) {
        double per_step = t_calib / (CALIB_STEPS - 1); /* the first step is warming up */
        int64_t tok_step = r->s.accum * r->o.batch * apx_gpt_get_config(r->m)->context;
        double eval_tok = r->o.eval_tokens > 0 ? (double)r->o.eval_tokens : (double)r->c->val_size;
        double per_eval = per_step * eval_tok / (double)tok_step / 3.0; /* forward only */
        double evals_per_step = r->o.eval_every > 0 ? 1.0 / (double)r->o.eval_every : 0;
        plan_steps(r, per_step + per_eval * evals_per_step, r->o.time_budget - wall - per_eval);
    } else if (r->s.budget_done >= 1 && wall >= 0.2 * r->s.budget_done * r->o.time_budget &&
               done > CALIB_STEPS) {
        plan_steps(r, wall / (double)done, r->o.time_budget - wall);
    }
}

static apx_status report(run *r, const apx_step_info *info) {
    const apx_progress *p = &r->o.progress;
    if (!p->fn) return APX_OK;
    double tps = r->t_train > 0 ? (double)r->tok_call / r->t_train : 0;
    double per = r->t_train / (double)(r->s.step - r->first_step);
    double left = per * (double)(r->o.steps - r->s.step);
    char msg[160];
    snprintf(msg, sizeof msg, "step %lld/%lld loss %.4f %.0f tok/s %dm%02ds left",
             (long long)r->s.step, (long long)r->o.steps, info->loss, tps, (int)(left / 60),
             (int)fmod(left, 60));
    return apx__progress(p, "train", (double)r->s.step / (double)r->o.steps, msg);
}

/* ================================================================ the loop */

static apx_status loop(run *r) {
    double t_calib = 0;
    while (r->s.step < r->o.steps) {
        if (budget_spent(r)) { // e.g. resumed after it
            r->budget_reached = 1;
            return APX_OK;
        }
        if (r->o.stop_at > 0 && r->s.step >= r->o.stop_at) {
            r->stopped = 1;
            return checkpoint(r);
        }
        apx_step_info info;
        double t0 = apx__train_now();
        APX__TRY(train_step(r, &info));
        if (r->s.step - r->first_step > 1) t_calib += apx__train_now() - t0;
        fix_budget(r, t_calib);
        APX__TRY(after_step(r, &info));
        apx_status s = report(r, &info);
        if (s == APX_ECANCELED) {
            char keep[1024];
            snprintf(keep, sizeof keep, "%s", apx_last_error());
            checkpoint(r);
            return apx__err(APX_ECANCELED, "%s (checkpoint written at step %lld)", keep,
                            (long long)r->s.step);
        }
        APX__TRY(s);
        if (budget_spent(r) && r->s.step < r->o.steps) {
            r->budget_reached = 1;
            return APX_OK; /* finish() evaluates and writes the final files */
        }
        int last = r->s.step == r->o.steps;
        if (!last && r->o.eval_every && r->s.step % r->o.eval_every == 0) APX__TRY(evaluate(r));
        else if (!last && r->o.ckpt_every && r->s.step % r->o.ckpt_every == 0)
            APX__TRY(checkpoint(r));
    }
    return APX_OK;
}

static apx_status finish(run *r, apx_train_result *res) {
    if (!r->stopped) APX__TRY(evaluate(r)); /* also writes the final checkpoint */
    memset(res, 0, sizeof *res);
    res->steps = r->s.step;
    res->steps_planned = r->o.steps;
    res->train_loss = r->last_train;
    res->val_loss = r->s.val_loss;
    res->val_bpb = r->s.val_loss / log(2.0);
    res->tokens_per_s = r->t_train > 0 ? (double)r->tok_call / r->t_train : 0;
    res->seconds = apx__train_now() - r->t_start;
    res->tokens = r->s.tokens;
    res->stopped = r->stopped;
    res->budget_reached = r->budget_reached;
    if (r->stopped || !r->dir[0]) return APX_OK;
    char path[4200];
    path_of(r, MODEL_FILE, path, sizeof path);
    APX__TRY(apx_gpt_save(r->m, path, 0, NULL, NULL, 0, NULL, NULL));
    return write_summary(r, res);
}

/* ================================================================ set-up */

static apx_status check_corpus(const run *r) {
    const apx_gpt_config *cfg = apx_gpt_get_config(r->m);
    double want = (double)r->c->size * r->o.val_fraction;
    if (r->c->val_size != (int64_t)want)
        return apx__err(APX_EINVAL, "train: corpus '%s' was split with another val_fraction "
                        "than %g", r->c->name, r->o.val_fraction);
    if (r->c->train_size < cfg->context + 1 || r->c->val_size < cfg->context + 1)
        return apx__err(APX_EFORMAT, "train: corpus '%s' is shorter than the context: %lld "
                        "training and %lld validation bytes, need context + 1 = %lld each",
                        r->c->name, (long long)r->c->train_size, (long long)r->c->val_size,
                        (long long)cfg->context + 1);
    return APX_OK;
}

static apx_status open_files(run *r, int resume) {
    if (!r->dir[0]) return APX_OK;
    APX__TRY(mkdirs(r->dir));
    char path[4200];
    path_of(r, LOG_FILE, path, sizeof path);
    if (resume && truncate(path, (off_t)r->s.log_bytes) != 0 && errno != ENOENT)
        return apx__err(APX_EIO, "train: cannot cut %s back to %lld bytes: %s", path,
                        (long long)r->s.log_bytes, strerror(errno));
    r->log = fopen(path, resume ? "a" : "w");
    if (!r->log) return apx__err(APX_EIO, "train: cannot open %s: %s", path, strerror(errno));
    return APX_OK;
}

/* The trainer, and batch buffers for the most micro-batches a step can take (AdAdaGrad
 * kinds grow from max(2, accum) up to their max_accum). */
static apx_status alloc_run(run *r) {
    APX__TRY(apx_trainer_create(r->m, &r->o, &r->tr));
    apx_optim *opt = apx_trainer_optim(r->tr);
    r->max_accum = r->o.accum;
    if (apx_optim_get_kind(opt)->flags & APX_OPTIM_BATCH) {
        double ma;
        APX__TRY(apx_optim_settings_get(apx_optim_get_settings(opt), "max_accum", &ma));
        r->max_accum = APX__MAX(r->o.accum, (int64_t)ma);
        if (r->s.accum == 0) r->s.accum = APX__MAX(2, r->o.accum);
    }
    if (r->s.accum == 0) r->s.accum = r->o.accum;
    if (r->s.accum > r->max_accum)
        return apx__err(APX_EINVAL, "train: the checkpoint's %lld micro-batches per step exceed "
                        "the run's %lld", (long long)r->s.accum, (long long)r->max_accum);
    int64_t n = r->max_accum * r->o.batch * apx_gpt_get_config(r->m)->context;
    r->ids = malloc((size_t)n * sizeof(int32_t));
    r->tgt = malloc((size_t)n * sizeof(int32_t));
    if (!r->ids || !r->tgt) return apx__err(APX_ENOMEM, "train: cannot allocate the batches");
    return APX_OK;
}

static void free_run(run *r) {
    if (r->log) fclose(r->log);
    apx_trainer_free(r->tr);
    free(r->ids);
    free(r->tgt);
    free(r->th.x), free(r->th.y), free(r->vh.x), free(r->vh.y);
}

static void set_corpus_state(run *r) {
    char *abs = realpath(r->c->name, NULL);
    snprintf(r->s.corpus_path, sizeof r->s.corpus_path, "%s", abs ? abs : r->c->name);
    free(abs);
    r->s.corpus_size = r->c->size;
    r->s.corpus_crc = r->c->crc;
}

static apx_status run_all(run *r, int resume, apx_train_result *res) {
    APX__TRY(check_corpus(r));
    APX__TRY(alloc_run(r));
    APX__TRY(open_files(r, resume));
    r->t_start = apx__train_now();
    r->first_step = r->s.step;
    APX__TRY(loop(r));
    return finish(r, res);
}

apx_status apx_train(apx_gpt *m, const apx_corpus *c, const apx_train_opts *o,
                     apx_train_result *res) {
    if (!m || !c || !res) return apx__err(APX_EINVAL, "train: model, corpus or result is NULL");
    run r;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.c = c;
    r.o = o ? *o : apx_train_opts_default();
    APX__TRY(apx_train_opts_check(&r.o));
    if (r.o.out_dir) snprintf(r.dir, sizeof r.dir, "%s", r.o.out_dir);
    r.s.val_loss = NAN;
    set_corpus_state(&r);
    apx_status s = run_all(&r, 0, res);
    free_run(&r);
    return s;
}

/* ================================================================ resume */

/* The number after "key": on a log line, or NaN. */
static double json_field(const char *line, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}

/* Rebuild the loss history of the plot from the log (already cut to the checkpoint). */
static apx_status read_history(run *r) {
    char path[4200];
    path_of(r, LOG_FILE, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return APX_OK; /* no log: the plot restarts here */
    char line[512];
    apx_status s = APX_OK;
    while (s == APX_OK && fgets(line, sizeof line, f)) {
        double step = json_field(line, "step"), v = json_field(line, "val_loss");
        if (isfinite(v)) s = hist_push(&r->vh, step, v);
        else if (isfinite(v = json_field(line, "loss"))) s = hist_push(&r->th, step, v);
    }
    fclose(f);
    return s;
}

static apx_status resume_corpus(run *r, const apx_corpus *c, apx_corpus **owned) {
    const apx_gpt_config *cfg = apx_gpt_get_config(r->m);
    if (!c) {
        APX__TRY(apx_corpus_load(r->s.corpus_path, r->o.val_fraction, cfg->context, owned));
        c = *owned;
    }
    if (c->size != r->s.corpus_size || c->crc != r->s.corpus_crc)
        return apx__err(APX_EINVAL, "train_resume: corpus '%s' (%lld bytes, CRC-32 %08x) is not "
                        "the checkpoint's '%s' (%lld bytes, CRC-32 %08x)", c->name,
                        (long long)c->size, (unsigned)c->crc, r->s.corpus_path,
                        (long long)r->s.corpus_size, (unsigned)r->s.corpus_crc);
    r->c = c;
    return APX_OK;
}

/* Model, options, position and optimizer state from the checkpoint file. */
static apx_status resume_load(run *r, const char *path, const apx_corpus *c,
                              apx_corpus **owned) {
    apx_safetensors st;
    memset(&st, 0, sizeof st);
    APX__TRY(apx__ckpt_read_file(path, &st));
    apx_gpt_config cfg;
    apx_status s = apx_gpt_config_from_file(&st, path, &cfg);
    if (s == APX_OK) s = apx__ckpt_read_opts(&st, path, &r->o);
    if (s == APX_OK) s = apx__ckpt_read_state(&st, path, &r->s);
    if (s == APX_OK) s = apx_gpt_create(&cfg, 0, &r->m);
    if (s == APX_OK) s = apx_gpt_restore(r->m, &st, path);
    if (s == APX_OK) s = resume_corpus(r, c, owned);
    if (s == APX_OK) s = alloc_run(r);
    if (s == APX_OK && apx_optim_state_load(apx_trainer_optim(r->tr), &st) != APX_OK)
        s = apx__err(APX_EFORMAT, "%s: bad optimizer state: %s", path, apx_last_error());
    apx_safetensors_free(&st);
    return s;
}

apx_status apx_train_resume(const char *dir, const apx_corpus *c, const apx_progress *progress,
                            apx_gpt **model, apx_train_result *res) {
    if (!dir || !res) return apx__err(APX_EINVAL, "train_resume: dir or result is NULL");
    if (model) *model = NULL;
    run r;
    memset(&r, 0, sizeof r);
    snprintf(r.dir, sizeof r.dir, "%s", dir);
    char path[4200];
    path_of(&r, CKPT_FILE, path, sizeof path);
    apx__ckpt_remove_stale(dir);
    apx_corpus *owned = NULL;
    apx_status s = resume_load(&r, path, c, &owned);
    r.o.out_dir = r.dir;
    if (progress) r.o.progress = *progress;
    if (s == APX_OK) s = open_files(&r, 1); /* cuts the log back to the checkpoint */
    if (s == APX_OK) s = read_history(&r);
    if (s == APX_OK) {
        r.t_start = apx__train_now();
        r.first_step = r.s.step;
        s = loop(&r);
    }
    if (s == APX_OK) s = finish(&r, res);
    free_run(&r);
    apx_corpus_free(owned);
    if (s == APX_OK && model) *model = r.m;
    else apx_gpt_free(r.m);
    return s;
}
