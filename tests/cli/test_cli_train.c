/* tests/cli/test_cli_train.c: apx train, apx eval and apx generate run as programs ($APX_BIN):
 * a small run with --json (and its files), --stop-at + --resume giving the same model file
 * byte for byte, eval and generate on the result (eval's figures against the library on the
 * same model and text), and bad input: missing, empty and short corpora (exit 3), a truncated
 * checkpoint (3), a checkpoint of another configuration and training flags with --resume
 * (2), unknown kinds (2). Skipped when APX_BIN is unset. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../test.h"
#include "apx/train.h"

static char out_buf[1 << 16], err_buf[1 << 14];
#define NEED_BIN() TU_NEED_BIN()
#define bin() tu_apx_bin()
#define run(...) tu_run_apx(out_buf, sizeof out_buf, err_buf, sizeof err_buf, __VA_ARGS__)




static double jnum(const char *key) {
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(out_buf, pat);
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}

static void text_file(const char *name, int64_t n, char *path, size_t np) {
    tu_path(path, np, name);
    FILE *f = fopen(path, "wb");
    const char *s = "It was a dark and stormy night; the rain fell in torrents.\n";
    for (int64_t i = 0; i < n; i++) fputc(s[i % (int64_t)strlen(s)], f);
    fclose(f);
}

static int same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

#define SMALL "--layers 1 --d-model 16 --heads 2 --context 16 --batch 4 --steps 10 " \
              "--eval-every 5 --eval-tokens 200 --log-every 2 --threads 2 -q"

TEST(cli_train_eval_generate_resume) {
    NEED_BIN();
    char corpus[512], d1[512], d2[512], f1[600], f2[600];
    text_file("cli_corpus.txt", 4000, corpus, sizeof corpus);
    tu_path(d1, sizeof d1, "cli_run1");
    tu_path(d2, sizeof d2, "cli_run2");
    REQUIRE(run("train --corpus '%s' --out '%s' " SMALL " --json", corpus, d1) == 0);
    CHECK(strstr(out_buf, "\"command\": \"train\"") != NULL);
    double bpb = jnum("val_bpb"), tps = jnum("tokens_per_s");
    CHECK(isfinite(bpb) && bpb > 0 && bpb < 8.5 && tps > 0 && jnum("steps") == 10);
    CHECK_NEAR(bpb, jnum("val_loss") / log(2.0), 1e-9, 1e-9);
    /* stop at 4, resume: the final model file is the same, byte for byte */
    REQUIRE(run("train --corpus '%s' --out '%s' " SMALL " --stop-at 4", corpus, d2) == 0);
    REQUIRE(run("train --resume '%s' --threads 2 -q", d2) == 0);
    snprintf(f1, sizeof f1, "%s/model.safetensors", d1);
    snprintf(f2, sizeof f2, "%s/model.safetensors", d2);
    CHECK(same_file(f1, f2));
    /* eval: the library on the same model and bytes gives the same figures */
    REQUIRE(run("eval --model '%s' --corpus '%s' --split all --json", d1, corpus) == 0);
    double loss = jnum("loss");
    apx_gpt *m;
    REQUIRE_OK(apx_gpt_load(d1, &m));
    apx_corpus *c;
    REQUIRE_OK(apx_corpus_load(corpus, 0.1, 1, &c));
    apx_corpus_info ci;
    apx_corpus_get_info(c, &ci);
    apx_eval_result e;
    REQUIRE_OK(apx_gpt_evaluate(m, ci.data, ci.size, 16, 0, NULL, &e));
    CHECK_NEAR(loss, e.loss, 1e-9, 1e-9);
    CHECK(jnum("tokens") == 3999);
    REQUIRE(run("eval --model '%s' --corpus '%s' -q", d1, corpus) == 0); /* val part: bpb */
    CHECK(atof(out_buf) > 0);
    /* generate: deterministic per seed */
    REQUIRE(run("generate --model '%s' --prompt 'It was' -n 40 --seed 3 -q", d1) == 0);
    static char first[1 << 16];
    memcpy(first, out_buf, sizeof first);
    CHECK(strlen(first) == 41); /* 40 bytes and a newline */
    REQUIRE(run("generate --model '%s' --prompt 'It was' -n 40 --seed 3 -q", d1) == 0);
    CHECK(!strcmp(first, out_buf));
    REQUIRE(run("generate --model '%s' --prompt 'It was' -n 20 --json", d1) == 0);
    CHECK(strstr(out_buf, "\"text\": ") && jnum("bytes") == 20);
    apx_gpt_free(m);
    apx_corpus_free(c);
}

TEST(cli_train_bad_input) {
    NEED_BIN();
    char corpus[512], empty[512], shrt[512], d[512], ck[600];
    text_file("cli_corpus.txt", 4000, corpus, sizeof corpus);
    tu_path(empty, sizeof empty, "cli_empty.txt");
    fclose(fopen(empty, "wb"));
    text_file("cli_short.txt", 60, shrt, sizeof shrt);
    tu_path(d, sizeof d, "cli_bad_run");
    CHECK(run("train --corpus /nonexistent/c.txt --out '%s' " SMALL, d) == 3);
    CHECK(strstr(err_buf, "/nonexistent/c.txt") != NULL);
    CHECK(run("train --corpus '%s' --out '%s' " SMALL, empty, d) == 3);
    CHECK(strstr(err_buf, "is empty") != NULL);
    CHECK(run("train --corpus '%s' --out '%s' " SMALL, shrt, d) == 3);
    CHECK(strstr(err_buf, "context + 1") != NULL);
    CHECK(run("train --out '%s' " SMALL, d) == 2); /* no corpus */
    CHECK(run("train --corpus '%s' --norm groupnorm " SMALL, corpus) == 2);
    CHECK(run("train --corpus '%s' " SMALL " --heads 3", corpus) == 2);
    CHECK(run("train --corpus '%s' " SMALL " --optimizer mkor --opt-set inv_freq=0", corpus) == 2);
    CHECK(strstr(err_buf, "inv_freq") != NULL);
    CHECK(run("train --corpus '%s' " SMALL " --opt-set nope=1", corpus) == 2);
    CHECK(strstr(err_buf, "unknown setting 'nope'") != NULL);
    CHECK(run("train --corpus '%s' --optimizer nosuch " SMALL, corpus) == 2);
    REQUIRE(run("train --corpus '%s' --out '%s' " SMALL " --stop-at 3", corpus, d) == 0);
    CHECK(run("train --resume '%s' --layers 3", d) == 2); /* another configuration */
    CHECK(strstr(err_buf, "another configuration") && strstr(err_buf, "n_layer 1 vs 3"));
    CHECK(run("train --resume '%s' --steps 50", d) == 2);
    CHECK(strstr(err_buf, "--steps cannot be given with --resume") != NULL);
    CHECK(run("train --resume '%s' --corpus '%s'", d, shrt) == 3); /* short: not loadable */
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", d);
    FILE *f = fopen(ck, "rb");
    REQUIRE(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    REQUIRE(truncate(ck, size - 1000) == 0);
    CHECK(run("train --resume '%s'", d) == 3);
    CHECK(strstr(err_buf, ck) && strstr(err_buf, "truncated"));
    CHECK(run("eval --model '%s' --corpus '%s'", d, corpus) == 3); /* no model, cut checkpoint */
    CHECK(run("eval --model /nonexistent --corpus '%s'", corpus) == 3);
    CHECK(run("generate --model /nonexistent -n 5") == 3);
    CHECK(run("eval --corpus '%s'", corpus) == 2); /* --model is required */
    CHECK(run("train --help") == 0 && strstr(out_buf, "--resume") && strstr(out_buf, "--minutes"));
    CHECK(run("eval --help") == 0 && strstr(out_buf, "--split"));
    CHECK(run("generate --help") == 0 && strstr(out_buf, "--top-k"));
}

/* --opt-set reaches the optimizer and is kept by the checkpoint: a resumed run of MKOR with
 * inv_freq=2 gives the same model file as a straight one, and another inv_freq another. */
TEST(cli_train_opt_set_resume) {
    NEED_BIN();
    char corpus[512], d1[512], d2[512], d3[512], f1[600], f2[600], f3[600];
    text_file("cli_optset_corpus.txt", 4000, corpus, sizeof corpus);
    tu_path(d1, sizeof d1, "cli_optset_a");
    tu_path(d2, sizeof d2, "cli_optset_b");
    tu_path(d3, sizeof d3, "cli_optset_c");
    const char *m = "--layers 1 --d-model 16 --heads 2 --context 16 --batch 2 --steps 4 "
                    "--eval-every 0 --eval-tokens 64 --optimizer mkor --threads 1 -q";
    REQUIRE(run("train --corpus '%s' --out '%s' %s --opt-set inv_freq=2,stat_decay=0.9",
                corpus, d1, m) == 0);
    REQUIRE(run("train --corpus '%s' --out '%s' %s --opt-set inv_freq=2,stat_decay=0.9 "
                "--stop-at 2", corpus, d2, m) == 0);
    REQUIRE(run("train --resume '%s' -q --threads 1", d2) == 0);
    REQUIRE(run("train --corpus '%s' --out '%s' %s --opt-set inv_freq=3", corpus, d3, m) == 0);
    snprintf(f1, sizeof f1, "%s/model.safetensors", d1);
    snprintf(f2, sizeof f2, "%s/model.safetensors", d2);
    snprintf(f3, sizeof f3, "%s/model.safetensors", d3);
    CHECK(same_file(f1, f2));
    CHECK(!same_file(f1, f3));
}
