/* cli/cmd_train.c: apx train --corpus FILE --out DIR [model and training options], or
 * apx train --resume DIR: train the byte-level GPT of apx/nn.h with apx/train.h. */
#include <math.h>
#include <string.h>

#include "apx/nn.h"
#include "apx/train.h"
#include "cli.h"

typedef struct {
    const char *corpus, *out, *resume, *norm, *act, *schedule, *optimizer, *opt_set;
    int64_t layers, d_model, heads, context, d_ff;
    double dropout;
    int untied, no_bias;
    int64_t batch, accum, steps, warmup, eval_every, eval_tokens, ckpt_every, log_every, stop_at;
    int64_t max_tokens;
    double lr, min_lr, weight_decay, beta1, beta2, clip, val_fraction, minutes;
} train_args;

/* Options that define the model, and the training options: neither may be given with
 * --resume except the ones the checkpoint agrees with (model) or none (training). */
static const char *const model_flags[] = {"--layers", "--d-model", "--heads", "--context",
                                          "--d-ff", "--norm", "--act", "--dropout", "--untied",
                                          "--no-bias"};
static const char *const train_flags[] = {
    "--out", "--batch", "--accum", "--steps", "--lr", "--min-lr", "--warmup", "--schedule",
    "--optimizer", "--opt-set", "--weight-decay", "--beta1", "--beta2", "--clip", "--val-fraction",
    "--eval-every", "--eval-tokens", "--ckpt-every", "--log-every", "--stop-at", "--minutes",
    "--max-tokens", "--seed"};

static int given(int argc, char **argv, const char *flag) {
    size_t n = strlen(flag);
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], flag, n) && (argv[i][n] == 0 || argv[i][n] == '=')) return 1;
    return 0;
}

static int build_config(const train_args *a, apx_gpt_config *c) {
    *c = apx_gpt_config_default();
    c->n_layer = a->layers;
    c->d_model = a->d_model;
    c->n_head = a->heads;
    c->context = a->context;
    c->d_ff = a->d_ff;
    c->dropout = (float)a->dropout;
    c->tied = !a->untied;
    c->bias = !a->no_bias;
    if (apx_nn_norm_parse(a->norm, &c->norm) != APX_OK ||
        apx_nn_act_parse(a->act, &c->act) != APX_OK || apx_gpt_config_check(c) != APX_OK)
        return cli_error("train", CLI_EXIT_USAGE, "%s", apx_last_error());
    return CLI_PARSE_OK;
}

static int build_opts(const train_args *a, const cli_common *cc, apx_train_opts *o) {
    *o = apx_train_opts_default();
    o->steps = a->steps;
    o->batch = a->batch;
    o->accum = a->accum;
    o->lr = a->lr;
    o->min_lr = a->min_lr;
    o->warmup = a->warmup;
    o->optimizer = a->optimizer;
    o->weight_decay = a->weight_decay;
    o->beta1 = a->beta1;
    o->beta2 = a->beta2;
    o->grad_clip = a->clip;
    o->val_fraction = a->val_fraction;
    o->eval_every = a->eval_every;
    o->eval_tokens = a->eval_tokens;
    o->ckpt_every = a->ckpt_every;
    o->log_every = a->log_every;
    o->stop_at = a->stop_at;
    o->time_budget = a->minutes * 60;
    o->max_tokens = a->max_tokens;
    o->seed = cc->seed;
    o->out_dir = a->out;
    if (a->opt_set && strlen(a->opt_set) >= sizeof o->opt_settings)
        return cli_error("train", CLI_EXIT_USAGE, "--opt-set: %zu characters, at most %zu",
                         strlen(a->opt_set), sizeof o->opt_settings - 1);
    if (a->opt_set) snprintf(o->opt_settings, sizeof o->opt_settings, "%s", a->opt_set);
    const apx_optim_kind *k;
    if (apx_sched_kind_parse(a->schedule, &o->schedule) != APX_OK ||
        apx_optim_kind_find(a->optimizer, &k) != APX_OK || apx_train_opts_check(o) != APX_OK)
        return cli_error("train", CLI_EXIT_USAGE, "%s", apx_last_error());
    return CLI_PARSE_OK;
}

/* ================================================================ output */

static void print_result(const char *dir, const apx_gpt_config *c, int64_t params,
                         const apx_train_result *r, const cli_common *cc) {
    if (cc->json) {
        cli_json j;
        cli_json_open(&j, stdout);
        cli_json_str(&j, "command", "train");
        cli_json_str(&j, "out", dir);
        cli_json_int(&j, "params", params);
        cli_json_int(&j, "n_layer", c->n_layer);
        cli_json_int(&j, "d_model", c->d_model);
        cli_json_int(&j, "n_head", c->n_head);
        cli_json_int(&j, "context", c->context);
        cli_json_int(&j, "steps", r->steps);
        cli_json_int(&j, "steps_planned", r->steps_planned);
        cli_json_int(&j, "tokens", r->tokens);
        cli_json_num(&j, "train_loss", r->train_loss);
        cli_json_num(&j, "val_loss", r->val_loss);
        cli_json_num(&j, "val_bpb", r->val_bpb);
        cli_json_num(&j, "tokens_per_s", r->tokens_per_s);
        cli_json_num(&j, "seconds", r->seconds);
        cli_json_bool(&j, "stopped", r->stopped);
        cli_json_bool(&j, "budget_reached", r->budget_reached);
        cli_json_close(&j);
        return;
    }
    if (cc->quiet) return;
    if (r->stopped)
        printf("stopped at step %lld of %lld (--stop-at); continue with: apx train --resume "
               "%s\n", (long long)r->steps, (long long)r->steps_planned, dir);
    else
        printf("trained %lld steps (%lld tokens, %lld parameters) in %.1f s: train loss "
               "%.4f, validation loss %.4f nats/byte = %.4f bits/byte, %.0f tokens/s\n"
               "wrote %s/model.safetensors, checkpoint.safetensors, log.jsonl, loss.svg, "
               "summary.json\n", (long long)r->steps, (long long)r->tokens, (long long)params,
               r->seconds, r->train_loss, r->val_loss, r->val_bpb, r->tokens_per_s, dir);
}

/* ================================================================ runs */

static int run_new(const train_args *a, const cli_common *cc) {
    apx_gpt_config cfg;
    apx_train_opts o;
    int r = build_config(a, &cfg);
    if (r == CLI_PARSE_OK) r = build_opts(a, cc, &o);
    if (r != CLI_PARSE_OK) return r;
    if (!a->corpus) return cli_error("train", CLI_EXIT_USAGE, "--corpus FILE is required");
    apx_corpus *c = NULL;
    apx_gpt *m = NULL;
    apx_status s = apx_corpus_load(a->corpus, o.val_fraction, cfg.context, &c);
    if (s == APX_OK) s = apx_gpt_create(&cfg, cc->seed, &m);
    cli_progress pb;
    o.progress = cli_progress_start(&pb, "train", cc->quiet || cc->json);
    apx_train_result res;
    if (s == APX_OK) s = apx_train(m, c, &o, &res);
    cli_progress_end(&pb);
    if (s == APX_OK) print_result(a->out, &cfg, apx_params_size(apx_gpt_params(m)), &res, cc);
    r = s == APX_OK ? CLI_EXIT_OK : cli_fail("train", s);
    apx_gpt_free(m);
    apx_corpus_free(c);
    return r;
}

/* The checkpoint must agree with every model flag given. */
static int check_resume_flags(int argc, char **argv, const train_args *a, const char *path,
                              const apx_gpt_config *file_cfg) {
    for (size_t i = 0; i < sizeof train_flags / sizeof *train_flags; i++)
        if (given(argc, argv, train_flags[i]))
            return cli_error("train", CLI_EXIT_USAGE, "%s cannot be given with --resume: the "
                             "run continues with the options stored in %s", train_flags[i],
                             path);
    apx_gpt_config want = *file_cfg;
    apx_gpt_config flags;
    if (build_config(a, &flags) != CLI_PARSE_OK) return CLI_EXIT_USAGE;
    for (size_t i = 0; i < sizeof model_flags / sizeof *model_flags; i++) {
        if (!given(argc, argv, model_flags[i])) continue;
        switch (i) {
        case 0: want.n_layer = flags.n_layer; break;
        case 1: want.d_model = flags.d_model; break;
        case 2: want.n_head = flags.n_head; break;
        case 3: want.context = flags.context; break;
        case 4: want.d_ff = flags.d_ff; break;
        case 5: want.norm = flags.norm; break;
        case 6: want.act = flags.act; break;
        case 7: want.dropout = flags.dropout; break;
        case 8: want.tied = flags.tied; break;
        default: want.bias = flags.bias; break;
        }
    }
    char diff[512];
    if (!apx_gpt_config_equal(file_cfg, &want, diff, sizeof diff))
        return cli_error("train", CLI_EXIT_USAGE, "%s: checkpoint of another configuration: %s "
                         "(checkpoint vs command line)", path, diff);
    return CLI_PARSE_OK;
}

static int run_resume(int argc, char **argv, const train_args *a, const cli_common *cc) {
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", a->resume);
    apx_gpt_config cfg;
    apx_status s = apx_train_checkpoint_info(path, &cfg, NULL, NULL, NULL, 0);
    if (s != APX_OK) return cli_fail("train", s);
    int r = check_resume_flags(argc, argv, a, path, &cfg);
    if (r != CLI_PARSE_OK) return r;
    apx_corpus *c = NULL;
    if (a->corpus) {
        apx_train_opts o;
        s = apx_train_checkpoint_info(path, NULL, &o, NULL, NULL, 0);
        if (s == APX_OK) s = apx_corpus_load(a->corpus, o.val_fraction, cfg.context, &c);
        if (s != APX_OK) return cli_fail("train", s);
    }
    cli_progress pb;
    apx_progress prog = cli_progress_start(&pb, "train", cc->quiet || cc->json);
    apx_train_result res;
    apx_gpt *m = NULL;
    s = apx_train_resume(a->resume, c, &prog, &m, &res);
    cli_progress_end(&pb);
    if (s == APX_OK) print_result(a->resume, &cfg, apx_params_size(apx_gpt_params(m)), &res, cc);
    r = s == APX_OK ? CLI_EXIT_OK : cli_fail("train", s);
    apx_gpt_free(m);
    apx_corpus_free(c);
    return r;
}

int cmd_train(int argc, char **argv) {
    train_args a = {NULL, "out/train", NULL, "layernorm", "gelu", "cosine", "adamw", NULL,
                    4, 128, 4, 128, 0, 0.0, 0, 0,
                    16, 1, 1000, -1, 100, 32768, 0, 10, 0, 0,
                    1e-3, -1, 0.1, 0.9, 0.95, 1.0, 0.1, 0};
    const cli_opt opts[] = {
        {"--corpus", NULL, CLI_STR, &a.corpus, "FILE", "training text (any bytes)", 0, 0, 0},
        {"--out", "-o", CLI_STR, &a.out, "DIR", "folder for the checkpoint, model, log and plot",
         0, 0, 0},
        {"--resume", NULL, CLI_STR, &a.resume, "DIR", "continue the run saved in DIR", 0, 0, 0},
        {"--layers", NULL, CLI_I64, &a.layers, "N", "transformer blocks", 0, 1, 1},
        {"--d-model", NULL, CLI_I64, &a.d_model, "N", "model width", 0, 1, 1},
        {"--heads", NULL, CLI_I64, &a.heads, "N", "attention heads (divides --d-model)", 0, 1, 1},
        {"--context", NULL, CLI_I64, &a.context, "N", "sequence length in bytes", 0, 1, 1},
        {"--d-ff", NULL, CLI_I64, &a.d_ff, "N", "MLP width; 0: 4 x d-model", 0, 1, 0},
        {"--norm", NULL, CLI_STR, &a.norm, "KIND",
         "layernorm, rmsnorm, powernorm, polynorm, batchnorm", 0, 0, 0},
        {"--act", NULL, CLI_STR, &a.act, "KIND", "gelu, relu, silu, polyrelu", 0, 0, 0},
        {"--dropout", NULL, CLI_DOUBLE, &a.dropout, "P", "dropout after attention and MLP", 0, 1,
         0},
        {"--untied", NULL, CLI_FLAG, &a.untied, NULL, "separate output head (not wte)", 0, 0, 0},
        {"--no-bias", NULL, CLI_FLAG, &a.no_bias, NULL, "Linear layers without biases", 0, 0, 0},
        {"--batch", "-b", CLI_I64, &a.batch, "N", "sequences per micro-batch", 0, 1, 1},
        {"--accum", NULL, CLI_I64, &a.accum, "N", "micro-batches per step (gradient "
         "accumulation)", 0, 1, 1},
        {"--steps", NULL, CLI_I64, &a.steps, "N", "optimizer steps", 0, 1, 1},
        {"--lr", NULL, CLI_DOUBLE, &a.lr, "X", "peak learning rate", 0, 1, 0},
        {"--min-lr", NULL, CLI_DOUBLE, &a.min_lr, "X", "final learning rate; < 0: lr / 10", 0, 0,
         0},
        {"--warmup", NULL, CLI_I64, &a.warmup, "N", "warm-up steps; < 0: steps / 20", 0, 0, 0},
        {"--schedule", NULL, CLI_STR, &a.schedule, "KIND", "cosine, linear or constant", 0, 0, 0},
        {"--optimizer", NULL, CLI_STR, &a.optimizer, "KIND", "optimizer kind: any of `apx optim "
         "--list` (mkor: layer statistics from the model; adadagrad: the batch grows by the "
         "norm test)", 0, 0, 0},
        {"--opt-set", NULL, CLI_STR, &a.opt_set, "K=V,..", "more settings of the optimizer "
         "kind (see apx optim --list), e.g. inv_freq=5,stat_decay=0.9", 0, 0, 0},
        {"--weight-decay", NULL, CLI_DOUBLE, &a.weight_decay, "X", "decoupled weight decay of "
         "the matrices", 0, 1, 0},
        {"--beta1", NULL, CLI_DOUBLE, &a.beta1, "X", "first-moment decay", 0, 1, 0},
        {"--beta2", NULL, CLI_DOUBLE, &a.beta2, "X", "second-moment decay", 0, 1, 0},
        {"--clip", NULL, CLI_DOUBLE, &a.clip, "X", "max gradient norm; 0: no clipping", 0, 1, 0},
        {"--val-fraction", NULL, CLI_DOUBLE, &a.val_fraction, "X", "last part of the corpus "
         "kept for validation", 0, 0, 0},
        {"--eval-every", NULL, CLI_I64, &a.eval_every, "N", "steps between evaluations; 0: at "
         "the end only", 0, 1, 0},
        {"--eval-tokens", NULL, CLI_I64, &a.eval_tokens, "N", "validation bytes per "
         "evaluation; 0: all", 0, 1, 0},
        {"--ckpt-every", NULL, CLI_I64, &a.ckpt_every, "N", "steps between extra checkpoints; "
         "0: none", 0, 1, 0},
        {"--log-every", NULL, CLI_I64, &a.log_every, "N", "steps between log lines", 0, 1, 1},
        {"--stop-at", NULL, CLI_I64, &a.stop_at, "N", "stop after step N with a checkpoint, as "
         "if killed; 0: off", 0, 1, 0},
        {"--minutes", NULL, CLI_DOUBLE, &a.minutes, "X", "time budget: choose --steps from the "
         "speed of the first steps; 0: off", 0, 1, 0},
        {"--max-tokens", NULL, CLI_I64, &a.max_tokens, "N", "token budget: end after the step "
         "at which N training tokens were seen (--steps still sets the schedule); 0: off", 0, 1,
         0},
    };
    cli_spec spec = {
        "train", "--corpus FILE --out DIR [options] | --resume DIR",
        "Train a byte-level GPT on a text file with AdamW, warm-up and cosine decay, gradient "
        "clipping and accumulation; evaluate on the validation part; write a checkpoint, the "
        "model, a JSON-lines log and an SVG plot of the losses in DIR.",
        "--resume DIR continues bit-identically from DIR/checkpoint.safetensors with the "
        "options stored there (model flags, if given, must agree; --corpus may name the same "
        "text at another path). The --seed initialises the model and draws the batches. "
        "Ctrl-C stops after the current step with a checkpoint. See docs/train.md.",
        "initialises the model and orders the data and dropout", opts,
        (int)(sizeof opts / sizeof opts[0]), 0, 0};
    cli_common c;
    int npos, r = cli_parse(&spec, argc, argv, &c, NULL, &npos);
    if (r != CLI_PARSE_OK) return r;
    if (a.resume) return run_resume(argc, argv, &a, &c);
    return run_new(&a, &c);
}
