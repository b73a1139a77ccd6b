/* tests/train/test_train.c: the corpus and its batches, evaluation (a closed form: a zero
 * model predicts 8 bits per byte), generation, the trainer step (accumulation equals one
 * big batch, clipping), bit-identical resume (straight vs stopped + resumed, with dropout
 * and with PowerNorm buffers; a stale temp file; a cancelled run), the files of a run
 * (log, SVG, summary), and bad input: missing, empty and short corpora, truncated
 * checkpoints, another corpus on resume. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "apx/train.h"
#include "train/train_internal.h"

static apx_gpt_config tiny(void) {
    apx_gpt_config c = apx_gpt_config_default();
    c.n_layer = 2, c.d_model = 16, c.n_head = 2, c.context = 16;
    return c;
}

/* A text of n bytes (repetitive English-like, deterministic) written to `name`. */
static void write_text(const char *name, int64_t n, char *path, size_t np) {
    static const char *words[] = {"the ", "cat ", "sat ", "on ", "a ", "mat. ", "Dogs ",
                                  "bark; ", "birds ", "sing\n"};
    tu_path(path, np, name);
    FILE *f = fopen(path, "wb");
    apx_rng r;
    apx_rng_init(&r, 7, 0);
    int64_t w = 0;
    while (w < n) {
        const char *s = words[apx_rng_below(&r, 10)];
        for (; *s && w < n; s++, w++) fputc(*s, f);
    }
    fclose(f);
}

static apx_train_opts small_opts(const char *dir) {
    apx_train_opts o = apx_train_opts_default();
    o.steps = 12, o.batch = 3, o.eval_every = 5, o.eval_tokens = 256, o.log_every = 2;
    o.lr = 3e-3, o.out_dir = dir;
    return o;
}

static void run_dir(const char *name, char *buf, size_t n) { tu_path(buf, n, name); }

/* Tiny models run faster on one thread (the per-op parallel overhead dominates, and is
 * large on a loaded machine); results do not depend on the thread count. */
static int one_thread(void) {
    int keep = apx_get_threads();
    apx_set_threads(1);
    return keep;
}

static int params_equal(apx_gpt *a, apx_gpt *b) {
    return apx_params_size(apx_gpt_params(a)) == apx_params_size(apx_gpt_params(b)) &&
           !memcmp(apx_params_data(apx_gpt_params(a)), apx_params_data(apx_gpt_params(b)),
                   (size_t)apx_params_size(apx_gpt_params(a)) * sizeof(float));
}

/* ================================================================ corpus */

TEST(train_corpus_split_and_batches) {
    char path[512];
    write_text("corpus_a.txt", 5000, path, sizeof path);
    apx_corpus *c;
    REQUIRE_OK(apx_corpus_load(path, 0.1, 16, &c));
    apx_corpus_info ci;
    apx_corpus_get_info(c, &ci);
    CHECK(ci.size == 5000 && ci.val_size == 500 && ci.train_size == 4500);
    int32_t ids[4 * 16], tgt[4 * 16], ids2[4 * 16], tgt2[4 * 16];
    REQUIRE_OK(apx_corpus_batch(c, 1, 7, 4, 16, ids, tgt));
    REQUIRE_OK(apx_corpus_batch(c, 1, 7, 4, 16, ids2, tgt2));
    CHECK(!memcmp(ids, ids2, sizeof ids) && !memcmp(tgt, tgt2, sizeof tgt));
    REQUIRE_OK(apx_corpus_batch(c, 1, 8, 4, 16, ids2, tgt2));
    CHECK(memcmp(ids, ids2, sizeof ids));
    /* each row is a window of the training part: targets are the ids shifted by one */
    for (int b = 0; b < 4; b++) {
        for (int t = 0; t + 1 < 16; t++) CHECK(tgt[b * 16 + t] == ids[b * 16 + t + 1]);
        int found = 0;
        for (int64_t s = 0; s + 16 < ci.train_size && !found; s++) {
            int ok = 1;
            for (int t = 0; t < 16 && ok; t++)
                ok = ci.data[s + t] == ids[b * 16 + t] && ci.data[s + t + 1] == tgt[b * 16 + t];
            found = ok;
        }
        CHECK(found);
    }
    CHECK_STATUS(apx_corpus_batch(c, 1, 0, 0, 16, ids, tgt), APX_EINVAL);
    CHECK_STATUS(apx_corpus_batch(c, 1, 0, 1, 5000, ids, tgt), APX_EINVAL);
    apx_corpus_free(c);
}

TEST(train_corpus_bad_input) {
    apx_corpus *c = NULL;
    CHECK_STATUS(apx_corpus_load("/nonexistent/text.txt", 0.1, 16, &c), APX_EIO);
    CHECK(strstr(apx_last_error(), "/nonexistent/text.txt") != NULL);
    char empty[512], shrt[512];
    tu_path(empty, sizeof empty, "corpus_empty.txt");
    fclose(fopen(empty, "wb"));
    CHECK_STATUS(apx_corpus_load(empty, 0.1, 16, &c), APX_EFORMAT);
    CHECK(strstr(apx_last_error(), "is empty") && strstr(apx_last_error(), empty));
    write_text("corpus_short.txt", 100, shrt, sizeof shrt);
    CHECK_STATUS(apx_corpus_load(shrt, 0.1, 16, &c), APX_EFORMAT); /* 10 validation bytes */
    CHECK(strstr(apx_last_error(), "context + 1 = 17") && strstr(apx_last_error(), shrt));
    CHECK_STATUS(apx_corpus_load(shrt, 0.1, 128, &c), APX_EFORMAT);
    CHECK(strstr(apx_last_error(), "training part") != NULL);
    CHECK_STATUS(apx_corpus_load(shrt, 0.7, 4, &c), APX_EINVAL);
    CHECK_STATUS(apx_corpus_load(shrt, 0.1, 0, &c), APX_EINVAL);
    CHECK_STATUS(apx_corpus_load(NULL, 0.1, 4, &c), APX_EINVAL);
    CHECK_STATUS(apx_corpus_from_bytes(NULL, 5, "x", 0.1, 4, &c), APX_EINVAL);
    CHECK(c == NULL);
}

/* ================================================================ evaluation, generation */

TEST(train_evaluate_exact_cases) {
    apx_gpt_config cfg = tiny();
    cfg.init_std = 0; /* zero weights: every logit is 0, the loss is ln 256 */
    apx_gpt *m;
    REQUIRE_OK(apx_gpt_create(&cfg, 1, &m));
    uint8_t text[100];
    for (int i = 0; i < 100; i++) text[i] = (uint8_t)(i * 37);
    apx_eval_result e;
    REQUIRE_OK(apx_gpt_evaluate(m, text, 100, 2, 0, NULL, &e));
    CHECK(e.tokens == 99);
    CHECK_NEAR(e.loss, log(256.0), 1e-6, 0);
    CHECK_NEAR(e.bpb, 8.0, 1e-6, 0);
    apx_gpt_free(m);
    /* a trained-like model: batching and the token limit */
    cfg = tiny();
    REQUIRE_OK(apx_gpt_create(&cfg, 1, &m));
    apx_eval_result a, b, l;
    REQUIRE_OK(apx_gpt_evaluate(m, text, 100, 1, 0, NULL, &a));
    REQUIRE_OK(apx_gpt_evaluate(m, text, 100, 4, 0, NULL, &b));
    CHECK_NEAR(a.loss, b.loss, 1e-6, 1e-6);
    CHECK_NEAR(a.bpb * log(2.0), a.loss, 1e-12, 1e-12);
    REQUIRE_OK(apx_gpt_evaluate(m, text, 100, 4, 40, NULL, &l));
    CHECK(l.tokens == 40);
    /* the first 32 predictions are two full windows: their mean equals a direct forward */
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    int32_t ids[32], tgt[32];
    for (int i = 0; i < 32; i++) ids[i] = text[(i / 16) * 16 + i % 16], tgt[i] = text[(i / 16) * 16 + i % 16 + 1];
    apx_tensor *loss;
    REQUIRE_OK(apx_gpt_forward(m, g, ids, tgt, 2, 16, NULL, NULL, &loss));
    REQUIRE_OK(apx_gpt_evaluate(m, text, 100, 4, 32, NULL, &l));
    CHECK_NEAR(l.loss, loss->data[0], 1e-6, 1e-6);
    CHECK_STATUS(apx_gpt_evaluate(m, text, 1, 4, 0, NULL, &l), APX_EINVAL);
    CHECK_STATUS(apx_gpt_evaluate(m, text, 100, 0, 0, NULL, &l), APX_EINVAL);
    CHECK_STATUS(apx_gpt_evaluate(NULL, text, 100, 1, 0, NULL, &l), APX_EINVAL);
    apx_graph_free(g);
    apx_gpt_free(m);
}

TEST(train_generate_greedy_and_seeded) {
    apx_gpt_config cfg = tiny();
    apx_gpt *m;
    REQUIRE_OK(apx_gpt_create(&cfg, 4, &m));
    const uint8_t prompt[3] = {'a', 'b', 'c'};
    uint8_t out1[20], out2[20], out3[20], greedy[20];
    apx_generate_opts o = apx_generate_opts_default();
    o.temperature = 1.0, o.top_k = 0, o.seed = 5;
    REQUIRE_OK(apx_gpt_generate(m, prompt, 3, 20, &o, NULL, out1));
    REQUIRE_OK(apx_gpt_generate(m, prompt, 3, 20, &o, NULL, out2));
    CHECK(!memcmp(out1, out2, 20));
    o.seed = 6;
    REQUIRE_OK(apx_gpt_generate(m, prompt, 3, 20, &o, NULL, out3));
    CHECK(memcmp(out1, out3, 20)); /* near-uniform model: 20 draws from 256 bytes differ */
    /* top_k = 1 is greedy decoding: compare with the argmax of a forward pass */
    o.top_k = 1;
    REQUIRE_OK(apx_gpt_generate(m, prompt, 3, 20, &o, NULL, greedy));
    uint8_t seq[23];
    memcpy(seq, prompt, 3);
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    for (int i = 0; i < 20; i++) {
        int len = 3 + i < 16 ? 3 + i : 16, start = 3 + i - len;
        int32_t ids[16];
        for (int t = 0; t < len; t++) ids[t] = seq[start + t];
        apx_graph_reset(g);
        apx_tensor *lg;
        REQUIRE_OK(apx_gpt_forward(m, g, ids, NULL, 1, len, NULL, &lg, NULL));
        int best = 0;
        for (int v = 1; v < 256; v++)
            if (lg->data[(len - 1) * 256 + v] > lg->data[(len - 1) * 256 + best]) best = v;
        seq[3 + i] = (uint8_t)best;
    }
    CHECK(!memcmp(seq + 3, greedy, 20));
    o.temperature = 0;
    CHECK_STATUS(apx_gpt_generate(m, prompt, 3, 5, &o, NULL, out1), APX_EINVAL);
    o = apx_generate_opts_default();
    CHECK_STATUS(apx_gpt_generate(m, prompt, 0, 5, &o, NULL, out1), APX_EINVAL);
    o.top_k = -1;
    CHECK_STATUS(apx_gpt_generate(m, prompt, 3, 5, &o, NULL, out1), APX_EINVAL);
    apx_graph_free(g);
    apx_gpt_free(m);
}

/* ================================================================ trainer step */

/* Accumulating two micro-batches of B equals one batch of 2B (same mean loss, same
 * gradient up to rounding): compare the parameters after one SGD step. */
TEST(train_step_accumulation_and_clipping) {
    apx_gpt_config cfg = tiny();
    apx_gpt *a, *b;
    REQUIRE_OK(apx_gpt_create(&cfg, 2, &a));
    REQUIRE_OK(apx_gpt_create(&cfg, 2, &b));
    apx_train_opts o = apx_train_opts_default();
    o.optimizer = "sgd", o.grad_clip = 0, o.weight_decay = 0;
    apx_trainer *ta, *tb;
    REQUIRE_OK(apx_trainer_create(a, &o, &ta));
    REQUIRE_OK(apx_trainer_create(b, &o, &tb));
    int32_t ids[4 * 16], tgt[4 * 16];
    for (int i = 0; i < 64; i++) ids[i] = (i * 7) % 256, tgt[i] = (i * 13 + 5) % 256;
    apx_step_info ia, ib;
    REQUIRE_OK(apx_trainer_step(ta, ids, tgt, 2, 2, 16, 0.5, 0, &ia));
    REQUIRE_OK(apx_trainer_step(tb, ids, tgt, 1, 4, 16, 0.5, 0, &ib));
    CHECK_NEAR(ia.loss, ib.loss, 1e-6, 1e-6);
    CHECK_NEAR(ia.grad_norm, ib.grad_norm, 0, 1e-5);
    const float *pa = apx_params_data(apx_gpt_params(a)), *pb = apx_params_data(apx_gpt_params(b));
    double worst = 0;
    for (int64_t i = 0; i < apx_params_size(apx_gpt_params(a)); i++)
        worst = fmax(worst, fabs(pa[i] - pb[i]));
    CHECK(worst < 1e-6);
    /* clipping: with max norm c the SGD update has norm lr * c */
    apx_trainer_free(tb);
    apx_gpt_free(b);
    REQUIRE_OK(apx_gpt_create(&cfg, 2, &b));
    o.grad_clip = 0.01;
    REQUIRE_OK(apx_trainer_create(b, &o, &tb));
    apx_params *pp = apx_gpt_params(b);
    int64_t n = apx_params_size(pp);
    float *before = malloc(sizeof(float) * (size_t)n);
    memcpy(before, apx_params_data(pp), sizeof(float) * (size_t)n);
    REQUIRE_OK(apx_trainer_step(tb, ids, tgt, 1, 4, 16, 0.5, 0, &ib));
    CHECK(ib.grad_norm > 0.01);
    double d2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)apx_params_data(pp)[i] - before[i];
        d2 += d * d;
    }
    CHECK_NEAR(sqrt(d2), 0.5 * 0.01, 0, 1e-3);
    free(before);
    CHECK_STATUS(apx_trainer_step(tb, ids, tgt, 0, 4, 16, 0.5, 0, &ib), APX_EINVAL);
    CHECK_STATUS(apx_trainer_step(tb, ids, tgt, 1, 4, 16, NAN, 0, &ib), APX_EINVAL);
    o.optimizer = "nosuch";
    apx_trainer *tc;
    CHECK_STATUS(apx_trainer_create(b, &o, &tc), APX_EINVAL);
    apx_trainer_free(ta), apx_trainer_free(tb);
    apx_gpt_free(a), apx_gpt_free(b);
}

TEST(train_opts_bad_input) {
    apx_train_opts o = apx_train_opts_default();
    CHECK_OK(apx_train_opts_check(&o));
    o.steps = 0;
    CHECK_STATUS(apx_train_opts_check(&o), APX_EINVAL);
    o = apx_train_opts_default(), o.min_lr = 1;
    CHECK_STATUS(apx_train_opts_check(&o), APX_EINVAL);
    o = apx_train_opts_default(), o.beta2 = 1;
    CHECK_STATUS(apx_train_opts_check(&o), APX_EINVAL);
    o = apx_train_opts_default(), o.val_fraction = 0;
    CHECK_STATUS(apx_train_opts_check(&o), APX_EINVAL);
    o = apx_train_opts_default(), o.grad_clip = -1;
    CHECK_STATUS(apx_train_opts_check(&o), APX_EINVAL);
    CHECK_STATUS(apx_train_opts_check(NULL), APX_EINVAL);
    apx_train_result res;
    CHECK_STATUS(apx_train(NULL, NULL, NULL, &res), APX_EINVAL);
    CHECK_STATUS(apx_train_resume(NULL, NULL, NULL, NULL, &res), APX_EINVAL);
}

/* ================================================================ runs and resume */

/* Straight run of o.steps vs stop at `stop` + resume: bit-identical parameters. */
static void straight_vs_resumed(apx_gpt_config cfg, const char *tag, int64_t stop, int stale) {
    char text[512], d1[512], d2[512], name[64];
    write_text("corpus_run.txt", 6000, text, sizeof text);
    snprintf(name, sizeof name, "run_%s_straight", tag);
    run_dir(name, d1, sizeof d1);
    snprintf(name, sizeof name, "run_%s_resumed", tag);
    run_dir(name, d2, sizeof d2);
    apx_corpus *c;
    REQUIRE_OK(apx_corpus_load(text, 0.1, cfg.context, &c));
    apx_gpt *a, *b, *r = NULL;
    REQUIRE_OK(apx_gpt_create(&cfg, 11, &a));
    REQUIRE_OK(apx_gpt_create(&cfg, 11, &b));
    apx_train_opts o = small_opts(d1);
    apx_train_result ra, rb, rr;
    REQUIRE_OK(apx_train(a, c, &o, &ra));
    CHECK(ra.steps == 12 && !ra.stopped && isfinite(ra.val_bpb));
    o.out_dir = d2, o.stop_at = stop;
    REQUIRE_OK(apx_train(b, c, &o, &rb));
    CHECK(rb.stopped && rb.steps == stop);
    CHECK(!params_equal(a, b));
    if (stale) { /* a write interrupted at the worst moment leaves its temp file */
        char tmp[700];
        snprintf(tmp, sizeof tmp, "%s/checkpoint.safetensors.tmp.99999.99999", d2);
        FILE *f = fopen(tmp, "wb");
        fputs("half a checkpoint", f);
        fclose(f);
    }
    REQUIRE_OK(apx_train_resume(d2, NULL, NULL, &r, &rr)); /* corpus from the checkpoint */
    CHECK(rr.steps == 12 && !rr.stopped);
    CHECK(params_equal(a, r));
    CHECK(rr.val_loss == ra.val_loss && rr.train_loss == ra.train_loss);
    if (stale) {
        char tmp[700];
        snprintf(tmp, sizeof tmp, "%s/checkpoint.safetensors.tmp.99999.99999", d2);
        CHECK(access(tmp, F_OK) != 0); /* removed */
    }
    /* the logs agree (the throughput and time fields aside) */
    char l1[700], l2[700];
    snprintf(l1, sizeof l1, "%s/log.jsonl", d1);
    snprintf(l2, sizeof l2, "%s/log.jsonl", d2);
    FILE *f1 = fopen(l1, "r"), *f2 = fopen(l2, "r");
    REQUIRE(f1 && f2);
    char s1[512], s2[512];
    int lines = 0;
    while (fgets(s1, sizeof s1, f1)) {
        REQUIRE(fgets(s2, sizeof s2, f2));
        char *t1 = strstr(s1, "\"tokens_per_s\""), *t2 = strstr(s2, "\"tokens_per_s\"");
        if (t1) *t1 = 0;
        if (t2) *t2 = 0;
        CHECK(!strcmp(s1, s2));
        lines++;
    }
    CHECK(!fgets(s2, sizeof s2, f2) && lines == 6 + 3);
    fclose(f1), fclose(f2);
    apx_gpt_free(a), apx_gpt_free(b), apx_gpt_free(r);
    apx_corpus_free(c);
}

TEST(train_resume_bit_identical) {
    int threads = one_thread();
    apx_gpt_config cfg = tiny();
    straight_vs_resumed(cfg, "ln", 6, 1);
    cfg.dropout = 0.2f; /* dropout masks depend on the step: same after resume */
    straight_vs_resumed(cfg, "drop", 7, 0);
    cfg = tiny(), cfg.norm = APX_NN_POWERNORM; /* running statistics live in the checkpoint */
    straight_vs_resumed(cfg, "pn", 5, 0);
    apx_set_threads(threads);
}

static int cancel_at_4(void *ctx, double f, const char *msg) {
    (void)ctx;
    return strstr(msg, "step 4/") != NULL;
}

TEST(train_files_cancel_and_bad_checkpoints) {
    int threads = one_thread();
    char text[512], dir[512], other[512];
    write_text("corpus_run.txt", 6000, text, sizeof text);
    run_dir("run_cancel", dir, sizeof dir);
    apx_gpt_config cfg = tiny();
    apx_corpus *c;
    REQUIRE_OK(apx_corpus_load(text, 0.1, cfg.context, &c));
    apx_gpt *m, *r = NULL;
    REQUIRE_OK(apx_gpt_create(&cfg, 1, &m));
    apx_train_opts o = small_opts(dir);
    o.progress.fn = cancel_at_4;
    apx_train_result res;
    CHECK_STATUS(apx_train(m, c, &o, &res), APX_ECANCELED);
    CHECK(strstr(apx_last_error(), "checkpoint written at step 4") != NULL);
    int64_t step;
    char cp[700], corpus_path[4096];
    snprintf(cp, sizeof cp, "%s/checkpoint.safetensors", dir);
    REQUIRE_OK(apx_train_checkpoint_info(cp, NULL, NULL, &step, corpus_path, sizeof corpus_path));
    CHECK(step == 4 && strstr(corpus_path, "corpus_run.txt"));
    /* another corpus on resume */
    apx_corpus *c2;
    write_text("corpus_other.txt", 7000, other, sizeof other);
    REQUIRE_OK(apx_corpus_load(other, 0.1, cfg.context, &c2));
    CHECK_STATUS(apx_train_resume(dir, c2, NULL, &r, &res), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "is not the checkpoint's") != NULL);
    /* resume to the end, then check the run's files */
    REQUIRE_OK(apx_train_resume(dir, c, NULL, &r, &res));
    CHECK(res.steps == 12);
    const char *files[] = {"model.safetensors", "log.jsonl", "loss.svg", "summary.json"};
    for (int i = 0; i < 4; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        CHECK(access(p, R_OK) == 0);
    }
    char svg[700];
    snprintf(svg, sizeof svg, "%s/loss.svg", dir);
    FILE *f = fopen(svg, "r");
    REQUIRE(f);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    CHECK(n > 100 && !strncmp(buf, "<svg", 4) && strstr(buf, "</svg>") && strstr(buf, "validation"));
    free(buf);
    /* a truncated checkpoint: the error names the file */
    f = fopen(cp, "r+b");
    REQUIRE(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    REQUIRE(truncate(cp, size / 2) == 0);
    apx_gpt *r2 = NULL;
    CHECK_STATUS(apx_train_resume(dir, c, NULL, &r2, &res), APX_EFORMAT);
    CHECK(strstr(apx_last_error(), cp) && strstr(apx_last_error(), "truncated"));
    CHECK(r2 == NULL);
    char none[512];
    run_dir("run_none", none, sizeof none);
    CHECK_STATUS(apx_train_resume(none, c, NULL, &r2, &res), APX_EIO);
    apx_gpt_free(m), apx_gpt_free(r);
    apx_corpus_free(c), apx_corpus_free(c2);
    apx_set_threads(threads);
}

// a corpus of 6000 bytes written to `name` and a fresh tiny model for it
static int tiny_setup(const char *name, apx_corpus **c, apx_gpt **m) {
    char text[512];
    write_text(name, 6000, text, sizeof text);
    apx_gpt_config cfg = tiny();
    *c = NULL, *m = NULL;
    if (apx_corpus_load(text, 0.1, cfg.context, c) != APX_OK) return 0;
    return apx_gpt_create(&cfg, 1, m) == APX_OK;
}

TEST(train_time_budget_and_no_files) {
    int threads = one_thread();
    apx_corpus *c;
    apx_gpt *m;
    REQUIRE(tiny_setup("corpus_run.txt", &c, &m));
    apx_train_opts o = small_opts(NULL);
    o.steps = 100000, o.time_budget = 0.3, o.eval_every = 0;
    apx_train_result res;
    REQUIRE_OK(apx_train(m, c, &o, &res));
    CHECK(res.steps == res.steps_planned && res.steps > 6 && res.steps < 100000);
    CHECK(isfinite(res.val_bpb) && res.tokens == res.steps * 3 * 16);
    apx_gpt_free(m);
    apx_corpus_free(c);
    apx_set_threads(threads);
}

/* A token budget ends the run after the step that reaches it (3 x 16 tokens per step here:
 * 1000 tokens -> step 21), evaluates, and a negative budget is a clear error. */
TEST(train_token_budget) {
    int threads = one_thread();
    apx_corpus *c;
    apx_gpt *m;
    REQUIRE(tiny_setup("corpus_tok.txt", &c, &m));
    apx_train_opts o = small_opts(NULL);
    o.steps = 1000, o.max_tokens = 1000, o.eval_every = 0;
    apx_train_result res;
    REQUIRE_OK(apx_train(m, c, &o, &res));
    CHECK(res.budget_reached && !res.stopped);
    CHECK(res.steps == 21 && res.tokens == 21 * 3 * 16 && res.steps_planned == 1000);
    CHECK(isfinite(res.val_bpb) && res.train_loss > 0); // the last, partial log window
    o.max_tokens = -5;
    CHECK_STATUS(apx_train(m, c, &o, &res), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "max_tokens") != NULL);
    apx_gpt_free(m);
    apx_corpus_free(c);
    apx_set_threads(threads);
}

TEST(train_svg_ticks) {
    double t[16];
    int n = apx__svg_ticks(0.13, 0.97, 6, t);
    CHECK(n >= 3 && n <= 8);
    for (int i = 0; i < n; i++) CHECK(t[i] >= 0.13 - 1e-12 && t[i] <= 0.97 + 1e-12);
    CHECK_NEAR(t[1] - t[0], 0.2, 1e-12, 0);
    n = apx__svg_ticks(0, 1000, 8, t);
    CHECK(n == 6 && t[0] == 0 && t[5] == 1000);
}
