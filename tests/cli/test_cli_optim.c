/* tests/cli/test_cli_optim.c: apx optim --list / KIND --set: every kind of the library's
 * table with every setting and default; validation errors exit 2. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>

#include "../test.h"
#include "apx/optim.h"

static char oc_out[1 << 16];

/* Run "$APX_BIN <args>" with stderr appended to the output; the exit status, or -1. */
static int oc_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int oc_run(const char *fmt, ...) {
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", getenv("APX_BIN"), args);
    oc_out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t got = fread(oc_out, 1, sizeof oc_out - 1, p);
    oc_out[got] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(cli_optim_list_and_check) {
    if (!getenv("APX_BIN") || !*getenv("APX_BIN")) {
        printf("  (skipped: APX_BIN is unset; run through make test)\n");
        return;
    }
    REQUIRE(oc_run("optim --list") == 0);
    for (int i = 0; i < apx_optim_kind_count(); i++) {
        const apx_optim_kind *k = apx_optim_kind_at(i);
        char head[128];
        snprintf(head, sizeof head, "%s: ", k->name);
        CHECK(strstr(oc_out, head) != NULL);
        for (int j = 0; j < k->n_settings; j++) CHECK(strstr(oc_out, k->settings[j].name));
    }
    CHECK(oc_run("optim adamw --set beta1=0.95,lr=3e-4 --json") == 0);
    CHECK(strstr(oc_out, "\"name\": \"adamw\"") && strstr(oc_out, "\"value\": 0.9499999"));
    CHECK(oc_run("optim --list -q") == 0);
    CHECK(strstr(oc_out, "sgd\nadamw\n") != NULL);
    CHECK(oc_run("optim adamw --set beta1=1") == 2);
    CHECK(strstr(oc_out, "beta1 = 1") != NULL);
    CHECK(oc_run("optim sgd --set nesterov=1") == 2); /* needs momentum */
    CHECK(oc_run("optim adamw --set lr=-1") == 2);
    CHECK(oc_run("optim nope") == 2);
    CHECK(strstr(oc_out, "unknown optimizer kind") != NULL);
    CHECK(oc_run("optim") == 2);
    CHECK(oc_run("optim --set lr=1") == 2);
    CHECK(oc_run("optim --help") == 0);
    CHECK(strstr(oc_out, "--list") && strstr(oc_out, "--set"));
}

/* A short text corpus file for the training runs. */
static void oc_corpus(char *path, size_t n) {
    tu_path(path, n, "cli_optim_corpus.txt");
    FILE *f = fopen(path, "wb");
    if (!f) return;
    for (int i = 0; i < 80; i++) fputs("It was a dark and stormy night; the rain fell.\n", f);
    fclose(f);
}

/* apx train --optimizer KIND for every kind of the table, 2 steps of a tiny model. */
TEST(cli_train_every_optimizer_kind) {
    TU_NEED_BIN();
    char corpus[512], dir[512];
    oc_corpus(corpus, sizeof corpus);
    for (int i = 0; i < apx_optim_kind_count(); i++) {
        const char *k = apx_optim_kind_at(i)->name;
        char name[96];
        snprintf(name, sizeof name, "cli_optim_run_%s", k);
        tu_path(dir, sizeof dir, name);
        int rc = oc_run("train --corpus '%s' --out '%s' --layers 1 --d-model 16 --heads 2 "
                        "--context 16 --batch 2 --steps 2 --eval-every 0 --eval-tokens 64 "
                        "--optimizer %s --threads 1 --json", corpus, dir, k);
        if (rc != 0) printf("  %s: exit %d: %.300s\n", k, rc, oc_out);
        CHECK(rc == 0);
        CHECK(strstr(oc_out, "\"steps\": 2") != NULL);
    }
    CHECK(oc_run("train --corpus '%s' --out '%s' --optimizer nope --steps 2", corpus, dir) == 2);
}

/* --optimizer adadagrad: the log records a non-decreasing batch size that grows. */
TEST(cli_train_adadagrad_batch_grows) {
    TU_NEED_BIN();
    char corpus[512], dir[512], log[600], line[512];
    oc_corpus(corpus, sizeof corpus);
    tu_path(dir, sizeof dir, "cli_optim_adadagrad");
    REQUIRE(oc_run("train --corpus '%s' --out '%s' --layers 1 --d-model 16 --heads 2 "
                   "--context 16 --batch 2 --steps 5 --log-every 1 --eval-every 0 "
                   "--eval-tokens 64 --optimizer adadagrad --lr 0.05 --threads 1 -q", corpus,
                   dir) == 0);
    snprintf(log, sizeof log, "%s/log.jsonl", dir);
    FILE *f = fopen(log, "r");
    REQUIRE(f != NULL);
    long first = -1, last = -1, prev = 0;
    int n = 0, monotone = 1;
    while (fgets(line, sizeof line, f)) {
        const char *b = strstr(line, "\"batch\": ");
        if (!b) continue;
        long v = strtol(b + 9, NULL, 10);
        if (first < 0) first = v;
        monotone &= v >= prev;
        prev = last = v;
        n++;
    }
    fclose(f);
    CHECK(n == 5);
    CHECK(first == 4); /* 2 micro-batches of 2 sequences: the smallest the test can use */
    CHECK(monotone);
    CHECK(last > first);
}
