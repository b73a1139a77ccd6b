/* tests/nn/test_gpt.c: the GPT model: configuration checks and parameter count, the named
 * parameter table, reproducible initialisation, the forward pass and loss against a double
 * re-implementation (tests/nn/gpt_ref.h), every gradient against central differences of that
 * reference, causality, dropout, PowerNorm buffers, model files and bad input. */
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "apx/nn.h"
#include "gpt_ref.h"

static apx_gpt_config tiny(void) {
    apx_gpt_config c = apx_gpt_config_default();
    c.n_layer = 2, c.d_model = 8, c.n_head = 2, c.context = 6, c.vocab = 11;
    c.init_std = 0.3f; /* large weights: every term matters in the comparisons */
    return c;
}

static void random_tokens(uint64_t seed, int64_t n, int64_t V, int32_t *t) {
    apx_rng r;
    apx_rng_init(&r, seed, 0);
    for (int64_t i = 0; i < n; i++) t[i] = (int32_t)apx_rng_below(&r, (uint64_t)V);
}

/* Random non-trivial norm gains and biases too (init sets them to 1 and 0). */
static void perturb_all(apx_gpt *m, uint64_t seed) {
    apx_params *p = apx_gpt_params(m);
    float *d = apx_params_data(p);
    double *z = malloc(sizeof(double) * (size_t)apx_params_size(p));
    apx_rng_fill_normal(seed, 77, z, apx_params_size(p));
    for (int64_t i = 0; i < apx_params_size(p); i++) d[i] += 0.1f * (float)z[i];
    free(z);
}

/* ================================================================ configuration */

TEST(gpt_config_checks_and_names) {
    apx_gpt_config c = apx_gpt_config_default();
    CHECK_OK(apx_gpt_config_check(&c));
    c.n_head = 3; /* does not divide 128 */
    CHECK_STATUS(apx_gpt_config_check(&c), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "n_head") != NULL);
    c = apx_gpt_config_default(), c.n_layer = 0;
    CHECK_STATUS(apx_gpt_config_check(&c), APX_EINVAL);
    c = apx_gpt_config_default(), c.dropout = 1.0f;
    CHECK_STATUS(apx_gpt_config_check(&c), APX_EINVAL);
    c = apx_gpt_config_default(), c.norm_eps = 0;
    CHECK_STATUS(apx_gpt_config_check(&c), APX_EINVAL);
    c = apx_gpt_config_default(), c.norm = (apx_nn_norm)9;
    CHECK_STATUS(apx_gpt_config_check(&c), APX_EINVAL);
    c = apx_gpt_config_default(), c.init_std = NAN;
    CHECK_STATUS(apx_gpt_config_check(&c), APX_EINVAL);
    CHECK_STATUS(apx_gpt_config_check(NULL), APX_EINVAL);
    CHECK(apx_gpt_config_param_count(&c) == 0);
    apx_nn_norm nk;
    apx_nn_act ak;
    for (int k = 0; k < APX_NN_NORM_COUNT; k++) {
        REQUIRE_OK(apx_nn_norm_parse(apx_nn_norm_name((apx_nn_norm)k), &nk));
        CHECK((int)nk == k);
    }
    for (int k = 0; k < APX_NN_ACT_COUNT; k++) {
        REQUIRE_OK(apx_nn_act_parse(apx_nn_act_name((apx_nn_act)k), &ak));
        CHECK((int)ak == k);
    }
    CHECK_STATUS(apx_nn_norm_parse("groupnorm", &nk), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "layernorm") != NULL); /* lists the known kinds */
    CHECK_STATUS(apx_nn_act_parse(NULL, &ak), APX_EINVAL);
    CHECK(apx_nn_norm_name((apx_nn_norm)7) == NULL);
    apx_gpt_config a = apx_gpt_config_default(), b = a;
    char msg[256];
    CHECK(apx_gpt_config_equal(&a, &b, msg, sizeof msg));
    b.n_layer = 6, b.norm = APX_NN_RMSNORM;
    CHECK(!apx_gpt_config_equal(&a, &b, msg, sizeof msg));
    CHECK(strstr(msg, "n_layer 4 vs 6") && strstr(msg, "norm layernorm vs rmsnorm"));
}

/* The count formula (gpt_config.c) against the table actually built, for every kind. */
TEST(gpt_param_count_matches_table) {
    for (int nk = 0; nk < APX_NN_NORM_COUNT; nk++)
        for (int ak = 0; ak < APX_NN_ACT_COUNT; ak++)
            for (int tb = 0; tb < 4; tb++) {
                apx_gpt_config c = tiny();
                c.norm = (apx_nn_norm)nk, c.act = (apx_nn_act)ak;
                c.tied = tb & 1, c.bias = tb >> 1, c.d_ff = tb == 3 ? 12 : 0;
                apx_gpt *m;
                REQUIRE_OK(apx_gpt_create(&c, 1, &m));
                CHECK(apx_params_size(apx_gpt_params(m)) == apx_gpt_config_param_count(&c));
                int bufs = nk == APX_NN_POWERNORM || nk == APX_NN_BATCHNORM; /* 3 per norm */
                CHECK(apx_gpt_buffer_count(m) == (bufs ? 3 * 5 : 0));
                apx_gpt_free(m);
            }
}

TEST(gpt_param_names_and_shapes) {
    apx_gpt_config c = tiny();
    apx_gpt *m;
    REQUIRE_OK(apx_gpt_create(&c, 1, &m));
    apx_params *p = apx_gpt_params(m);
    struct { const char *name; int64_t d0, d1; } want[] = {
        {"wte", 11, 8}, {"wpe", 6, 8}, {"h.0.ln1.weight", 8, 1}, {"h.0.attn.wqkv", 24, 8},
        {"h.0.attn.bqkv", 24, 1}, {"h.1.attn.wo", 8, 8}, {"h.1.mlp.w1", 32, 8},
        {"h.1.mlp.w2", 8, 32}, {"h.1.mlp.b2", 8, 1}, {"lnf.bias", 8, 1}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        int64_t idx;
        apx_param_info pi;
        REQUIRE_OK(apx_params_find(p, want[i].name, &idx));
        REQUIRE_OK(apx_params_info(p, idx, &pi));
        CHECK(pi.shape[0] == want[i].d0 && pi.shape[1] == want[i].d1);
    }
    int64_t idx;
    CHECK_STATUS(apx_params_find(p, "lm_head", &idx), APX_EINVAL); /* tied */
    apx_gpt_free(m);
}

/* ================================================================ initialisation */

static double group_std(apx_gpt *m, const char *name, double *mean) {
    int64_t idx;
    apx_param_info pi;
    apx_params_find(apx_gpt_params(m), name, &idx);
    apx_params_info(apx_gpt_params(m), idx, &pi);
    const float *x = apx_params_data(apx_gpt_params(m)) + pi.offset;
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < pi.size; i++) s += x[i], s2 += (double)x[i] * x[i];
    *mean = s / (double)pi.size;
    return sqrt(s2 / (double)pi.size - *mean * *mean);
}

TEST(gpt_init_reproducible_and_scaled) {
    apx_gpt_config c = apx_gpt_config_default();
    c.n_layer = 2, c.d_model = 64, c.n_head = 2, c.context = 16;
    apx_gpt *a, *b, *d;
    REQUIRE_OK(apx_gpt_create(&c, 42, &a));
    REQUIRE_OK(apx_gpt_create(&c, 42, &b));
    REQUIRE_OK(apx_gpt_create(&c, 43, &d));
    size_t bytes = (size_t)apx_params_size(apx_gpt_params(a)) * sizeof(float);
    CHECK(!memcmp(apx_params_data(apx_gpt_params(a)), apx_params_data(apx_gpt_params(b)), bytes));
    CHECK(memcmp(apx_params_data(apx_gpt_params(a)), apx_params_data(apx_gpt_params(d)), bytes));
    double mean, sd = group_std(a, "h.0.mlp.w1", &mean); /* 16384 draws: sd within ~1% */
    CHECK_NEAR(sd, 0.02, 0, 0.03);
    CHECK_NEAR(mean, 0, 0.02 * 4 / 128.0, 0);
    sd = group_std(a, "h.1.attn.wo", &mean); /* residual: 0.02 / sqrt(2 n_layer) */
    CHECK_NEAR(sd, 0.02 / 2.0, 0, 0.05);
    sd = group_std(a, "h.0.ln1.weight", &mean);
    CHECK(sd == 0 && mean == 1);
    sd = group_std(a, "h.0.attn.bqkv", &mean);
    CHECK(sd == 0 && mean == 0);
    /* re-initialising with the first seed gives the first model back */
    REQUIRE_OK(apx_gpt_init(d, 42));
    CHECK(!memcmp(apx_params_data(apx_gpt_params(a)), apx_params_data(apx_gpt_params(d)), bytes));
    apx_gpt_free(a), apx_gpt_free(b), apx_gpt_free(d);
}

/* ================================================================ forward and gradients */

/* Forward (float) vs the double reference; every gradient entry of a sample of each group
 * vs a central difference of the reference loss. */
static void check_model(apx_gpt_config c, uint64_t seed) {
    apx_gpt *m;
    REQUIRE_OK(apx_gpt_create(&c, seed, &m));
    perturb_all(m, seed);
    enum { B = 2, T = 5 };
    int32_t ids[B * T], tgt[B * T];
    random_tokens(seed, B * T, c.vocab, ids);
    random_tokens(seed + 1, B * T, c.vocab, tgt);
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    apx_tensor *logits, *loss;
    apx_params *p = apx_gpt_params(m);
    apx_params_zero_grad(p);
    REQUIRE_OK(apx_gpt_forward(m, g, ids, tgt, B, T, NULL, &logits, &loss));
    REQUIRE(logits->ndim == 3 && logits->shape[2] == c.vocab && loss->ndim == 0);
    REQUIRE_OK(apx_ad_backward(g, loss));
    gref r;
    REQUIRE(gref_init(&r, m));
    double *ref = malloc(sizeof(double) * B * T * (size_t)c.vocab);
    double rl = gref_forward(&r, ids, tgt, B, T, ref), worst = 0;
    for (int64_t i = 0; i < B * T * c.vocab; i++)
        worst = fmax(worst, fabs(logits->data[i] - ref[i]) / (1 + fabs(ref[i])));
    CHECK(worst < 2e-6);
    CHECK_NEAR(loss->data[0], rl, 1e-6, 1e-6);
    /* gradients: h = 1e-4 balances truncation (h^2) and the reference's rounding */
    double gworst = 0;
    for (int64_t gi = 0; gi < apx_params_count(p); gi++) {
        apx_param_info pi;
        apx_params_info(p, gi, &pi);
        for (int64_t k = 0; k < pi.size; k += 1 + pi.size / 7) {
            int64_t at = pi.offset + k;
            double keep = r.p[at], h = 1e-4;
            r.p[at] = keep + h;
            double lp = gref_forward(&r, ids, tgt, B, T, NULL);
            r.p[at] = keep - h;
            double lm = gref_forward(&r, ids, tgt, B, T, NULL);
            r.p[at] = keep;
            double fd = (lp - lm) / (2 * h), got = apx_params_grad(p)[at];
            double err = fabs(got - fd) / (1e-4 + fabs(fd));
            if (err > gworst) gworst = err;
            if (err > 2e-3)
                apx_test_fail(__FILE__, __LINE__, "%s[%lld]: grad %.8g vs finite difference %.8g",
                              pi.name, (long long)k, got, fd);
        }
    }
    if (getenv("APX_TEST_VERBOSE"))
        printf("  %s/%s: logits rel err %.2e, loss %.9g vs %.9g, worst grad rel err %.2e\n",
               apx_nn_norm_name(c.norm), apx_nn_act_name(c.act), worst, loss->data[0], rl, gworst);
    free(ref);
    gref_free(&r);
    apx_graph_free(g);
    apx_gpt_free(m);
}

TEST(gpt_forward_and_grads_vs_reference) {
    apx_gpt_config c = tiny();
    check_model(c, 5);
    c.norm = APX_NN_RMSNORM, c.act = APX_NN_SILU, c.tied = 0, c.bias = 0, c.d_ff = 12;
    check_model(c, 6);
    c = tiny(), c.act = APX_NN_RELU, c.n_layer = 1;
    check_model(c, 7);
}

TEST(gpt_causal_and_last_only) {
    apx_gpt_config c = tiny();
    apx_gpt *m;
    REQUIRE_OK(apx_gpt_create(&c, 3, &m));
    int32_t ids[6] = {1, 2, 3, 4, 5, 6}, ids2[6] = {1, 2, 3, 4, 9, 0};
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    apx_graph_set_grad(g, 0);
    apx_tensor *a, *b, *last;
    REQUIRE_OK(apx_gpt_forward(m, g, ids, NULL, 1, 6, NULL, &a, NULL));
    REQUIRE_OK(apx_gpt_forward(m, g, ids2, NULL, 1, 6, NULL, &b, NULL));
    /* positions 0..3 see the same prefix: identical logits; position 4 differs */
    CHECK(!memcmp(a->data, b->data, sizeof(float) * 4 * 11));
    CHECK(memcmp(a->data + 4 * 11, b->data + 4 * 11, sizeof(float) * 11));
    apx_gpt_forward_opts fo = apx_gpt_forward_opts_default();
    fo.last_only = 1;
    REQUIRE_OK(apx_gpt_forward(m, g, ids, NULL, 1, 6, &fo, &last, NULL));
    CHECK(last->shape[1] == 1);
    for (int v = 0; v < 11; v++) CHECK_NEAR(last->data[v], a->data[5 * 11 + v], 1e-6, 1e-6);
    /* a shorter sequence: the first T positions of wpe */
    apx_tensor *s;
    REQUIRE_OK(apx_gpt_forward(m, g, ids, NULL, 1, 3, NULL, &s, NULL));
    for (int v = 0; v < 3 * 11; v++) CHECK_NEAR(s->data[v], a->data[v], 1e-6, 1e-6);
    apx_graph_free(g);
    apx_gpt_free(m);
}

TEST(gpt_dropout_deterministic) {
    apx_gpt_config c = tiny();
    c.dropout = 0.3f;
    apx_gpt *m;
    REQUIRE_OK(apx_gpt_create(&c, 3, &m));
    int32_t ids[6] = {1, 2, 3, 4, 5, 6};
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    apx_tensor *e, *t1, *t2, *t3;
    apx_gpt_forward_opts fo = apx_gpt_forward_opts_default();
    REQUIRE_OK(apx_gpt_forward(m, g, ids, NULL, 1, 6, &fo, &e, NULL)); /* eval: no dropout */
    fo.training = 1, fo.dropout_seed = 9;
    REQUIRE_OK(apx_gpt_forward(m, g, ids, NULL, 1, 6, &fo, &t1, NULL));
    REQUIRE_OK(apx_gpt_forward(m, g, ids, NULL, 1, 6, &fo, &t2, NULL));
    fo.dropout_stream = 100;
    REQUIRE_OK(apx_gpt_forward(m, g, ids, NULL, 1, 6, &fo, &t3, NULL));
    size_t n = sizeof(float) * 66;
    CHECK(memcmp(e->data, t1->data, n) && !memcmp(t1->data, t2->data, n));
    CHECK(memcmp(t1->data, t3->data, n));
    apx_gpt_config c0 = c;
    c0.dropout = 0;
    apx_gpt *m0;
    REQUIRE_OK(apx_gpt_create(&c0, 3, &m0));
    apx_tensor *z;
    REQUIRE_OK(apx_gpt_forward(m0, g, ids, NULL, 1, 6, NULL, &z, NULL));
    CHECK(!memcmp(e->data, z->data, n));
    apx_graph_free(g);
    apx_gpt_free(m), apx_gpt_free(m0);
}

/* PowerNorm: the buffers follow training steps; PolyNorm and PolyReLU models run and
 * differentiate (their ops are checked in tests/ad; the model against PyTorch in Python). */
TEST(gpt_powernorm_buffers_and_poly_kinds) {
    apx_gpt_config c = tiny();
    c.norm = APX_NN_POWERNORM;
    apx_gpt *m;
    REQUIRE_OK(apx_gpt_create(&c, 3, &m));
    int32_t ids[12], tgt[12];
    random_tokens(1, 12, 11, ids);
    random_tokens(2, 12, 11, tgt);
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    apx_gpt_forward_opts fo = apx_gpt_forward_opts_default();
    fo.training = 1;
    for (int step = 0; step < 3; step++) {
        apx_graph_reset(g);
        apx_tensor *loss;
        REQUIRE_OK(apx_gpt_forward(m, g, ids, tgt, 2, 6, &fo, NULL, &loss));
        REQUIRE_OK(apx_ad_backward(g, loss));
    }
    apx_gpt_buffer b;
    REQUIRE_OK(apx_gpt_buffer_get(m, 2, &b));
    CHECK(!strcmp(b.name, "h.0.ln1.iters") && b.size == 1 && b.data[0] == 3);
    REQUIRE_OK(apx_gpt_buffer_get(m, 0, &b));
    CHECK(!strcmp(b.name, "h.0.ln1.running_phi") && b.size == 8 && b.data[0] != 1);
    CHECK_STATUS(apx_gpt_buffer_get(m, 15, &b), APX_EINVAL);
    apx_gpt_free(m);
    for (int k = 0; k < 2; k++) {
        c = tiny();
        if (k == 0) c.norm = APX_NN_POLYNORM;
        else c.act = APX_NN_POLYRELU;
        REQUIRE_OK(apx_gpt_create(&c, 3, &m));
        apx_params_zero_grad(apx_gpt_params(m));
        apx_graph_reset(g);
        apx_tensor *loss;
        REQUIRE_OK(apx_gpt_forward(m, g, ids, tgt, 2, 6, NULL, NULL, &loss));
        CHECK(isfinite(loss->data[0]));
        REQUIRE_OK(apx_ad_backward(g, loss));
        int64_t idx;
        apx_param_info pi;
        REQUIRE_OK(apx_params_find(apx_gpt_params(m), k ? "h.0.mlp.act.weight" : "lnf.weight",
                                   &idx));
        apx_params_info(apx_gpt_params(m), idx, &pi);
        CHECK(pi.size == 3 && apx_params_grad(apx_gpt_params(m))[pi.offset] != 0);
        apx_gpt_free(m);
    }
    apx_graph_free(g);
}

TEST(gpt_forward_bad_input) {
    apx_gpt_config c = tiny();
    apx_gpt *m;
    REQUIRE_OK(apx_gpt_create(&c, 3, &m));
    apx_graph *g;
    REQUIRE_OK(apx_graph_create(NULL, &g));
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8}, bad[3] = {1, 11, 2}, neg[3] = {1, -1, 2};
    apx_tensor *lg, *loss;
    CHECK_STATUS(apx_gpt_forward(m, g, ids, NULL, 1, 7, NULL, &lg, NULL), APX_EINVAL); /* > ctx */
    CHECK(strstr(apx_last_error(), "context = 6") != NULL);
    CHECK_STATUS(apx_gpt_forward(m, g, bad, NULL, 1, 3, NULL, &lg, NULL), APX_EINVAL);
    CHECK(strstr(apx_last_error(), "ids[1] = 11") != NULL);
    CHECK_STATUS(apx_gpt_forward(m, g, neg, NULL, 1, 3, NULL, &lg, NULL), APX_EINVAL);
    CHECK_STATUS(apx_gpt_forward(m, g, ids, bad, 1, 3, NULL, &lg, &loss), APX_EINVAL);
    CHECK_STATUS(apx_gpt_forward(m, g, NULL, NULL, 1, 3, NULL, &lg, NULL), APX_EINVAL);
    CHECK_STATUS(apx_gpt_forward(NULL, g, ids, NULL, 1, 3, NULL, &lg, NULL), APX_EINVAL);
    CHECK_STATUS(apx_gpt_forward(m, g, ids, NULL, 0, 3, NULL, &lg, NULL), APX_EINVAL);
    apx_gpt_forward_opts fo = apx_gpt_forward_opts_default();
    fo.last_only = 1;
    CHECK_STATUS(apx_gpt_forward(m, g, ids, ids, 1, 3, &fo, &lg, &loss), APX_EINVAL);
    apx_gpt *m2;
    CHECK_STATUS(apx_gpt_create(&c, 0, NULL), APX_EINVAL);
    c.d_model = 0;
    CHECK_STATUS(apx_gpt_create(&c, 0, &m2), APX_EINVAL);
    CHECK_STATUS(apx_gpt_init(NULL, 0), APX_EINVAL);
    apx_graph_free(g);
    apx_gpt_free(m);
}

/* ================================================================ files */

TEST(gpt_save_load_roundtrip) {
    apx_gpt_config c = tiny();
    c.norm = APX_NN_POWERNORM;
    apx_gpt *m, *l;
    REQUIRE_OK(apx_gpt_create(&c, 8, &m));
    perturb_all(m, 1);
    apx_gpt_buffer b;
    REQUIRE_OK(apx_gpt_buffer_get(m, 1, &b));
    b.data[3] = 0.25f;
    char path[512];
    tu_path(path, sizeof path, "gpt_model.safetensors");
    const char *k[1] = {"note"}, *v[1] = {"hello"};
    REQUIRE_OK(apx_gpt_save(m, path, 0, NULL, NULL, 1, k, v));
    REQUIRE_OK(apx_gpt_load(path, &l));
    CHECK(apx_gpt_config_equal(apx_gpt_get_config(m), apx_gpt_get_config(l), NULL, 0));
    size_t bytes = (size_t)apx_params_size(apx_gpt_params(m)) * sizeof(float);
    CHECK(!memcmp(apx_params_data(apx_gpt_params(m)), apx_params_data(apx_gpt_params(l)), bytes));
    REQUIRE_OK(apx_gpt_buffer_get(l, 1, &b));
    CHECK(b.data[3] == 0.25f);
    apx_gpt_free(l);
    const char *rk[1] = {"apx.gpt.n_layer"};
    CHECK_STATUS(apx_gpt_save(m, path, 0, NULL, NULL, 1, rk, v), APX_EINVAL);
    apx_gpt_free(m);
}

TEST(gpt_load_bad_files) {
    apx_gpt_config c = tiny();
    apx_gpt *m, *o, *l = NULL;
    REQUIRE_OK(apx_gpt_create(&c, 8, &m));
    char path[512], cut[512], plain[512];
    tu_path(path, sizeof path, "gpt_bad.safetensors");
    REQUIRE_OK(apx_gpt_save(m, path, 0, NULL, NULL, 0, NULL, NULL));
    /* another configuration: restore names the file and the differences */
    c.n_layer = 3;
    REQUIRE_OK(apx_gpt_create(&c, 8, &o));
    apx_safetensors st;
    REQUIRE_OK(apx_safetensors_read(path, &st));
    CHECK_STATUS(apx_gpt_restore(o, &st, path), APX_EINVAL);
    CHECK(strstr(apx_last_error(), path) && strstr(apx_last_error(), "another configuration") &&
          strstr(apx_last_error(), "n_layer 2 vs 3"));
    apx_safetensors_free(&st);
    /* truncated */
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    tu_path(cut, sizeof cut, "gpt_cut.safetensors");
    f = fopen(cut, "wb");
    fwrite(buf, 1, n - 100, f);
    fclose(f);
    CHECK_STATUS(apx_gpt_load(cut, &l), APX_EFORMAT);
    CHECK(strstr(apx_last_error(), cut) != NULL);
    free(buf);
    /* a safetensors file that is not a model */
    tu_path(plain, sizeof plain, "gpt_plain.safetensors");
    apx_array a;
    int64_t sh[1] = {3};
    REQUIRE_OK(apx_array_alloc(APX_DT_F32, 1, sh, &a));
    const char *nm[1] = {"x"};
    REQUIRE_OK(apx_safetensors_write(plain, 1, nm, &a, 0, NULL, NULL));
    apx_array_free(&a);
    CHECK_STATUS(apx_gpt_load(plain, &l), APX_EFORMAT);
    CHECK(strstr(apx_last_error(), "not an apx model") != NULL);
    CHECK_STATUS(apx_gpt_load("/nonexistent/model.safetensors", &l), APX_EIO);
    CHECK(l == NULL);
    apx_gpt_free(m), apx_gpt_free(o);
}
