/* tests/optim/test_optim_train.c: the optimizers inside the training pipeline: the GPT's
 * linear-layer statistics that MKOR takes (against quantities computed from the forward's
 * own logits), every kind of the table training a tiny model through apx_train, and the
 * adaptive batch size of AdAdaGrad. */
#include <float.h>
#include <string.h>

#include "apx/nn.h"
#include "apx/train.h"
#include "optim_test.h"

static apx_gpt_config tiny_config(void) {
    apx_gpt_config c = apx_gpt_config_default();
    c.n_layer = 1, c.d_model = 16, c.n_head = 2, c.context = 8;
    return c;
}

TEST(optim_train_gpt_linear_stats) {
    enum { B = 2, T = 8, R = B * T };
    apx_gpt_config cfg = tiny_config();
    apx_gpt *m = NULL;
    apx_graph *g = NULL;
    REQUIRE_OK(apx_gpt_create(&cfg, 3, &m));
    REQUIRE_OK(apx_graph_create(NULL, &g));
    int32_t ids[R], tg[R];
    for (int i = 0; i < R; i++) ids[i] = (i * 37) % 256, tg[i] = (i * 11 + 5) % 256;
    CHECK(apx_gpt_linear_count(m) == 5);
    CHECK_STATUS(apx_gpt_stats_accumulate(m, 1.0), APX_EINVAL); /* nothing recorded */
    apx_gpt_forward_opts fo = apx_gpt_forward_opts_default();
    fo.record_stats = 1;
    apx_tensor *logits, *loss;
    REQUIRE_OK(apx_gpt_forward(m, g, ids, tg, B, T, &fo, &logits, &loss));
    REQUIRE_OK(apx_ad_backward(g, loss));
    apx_gpt_stats_zero(m);
    REQUIRE_OK(apx_gpt_stats_accumulate(m, 1.0));
    apx_gpt_linear_stat hs;
    REQUIRE_OK(apx_gpt_linear_stat_get(m, 4, &hs)); /* the head: wte (256, 16), tied */
    CHECK(hs.in == 16 && hs.out == 256);
    const float *W = apx_params_data(apx_gpt_params(m)); /* wte is group 0, offset 0 */
    double worst_a = 0, worst_g = 0;
    for (int v = 0; v < 256; v++) {
        double mean_logit = 0, aw = 0, gsum = 0;
        for (int r = 0; r < R; r++) { // softmax of row r, its entry v
            const float *l = logits->data + r * 256;
            double mx = l[0], z = 0;
            for (int j = 1; j < 256; j++) mx = fmax(mx, l[j]);
            for (int j = 0; j < 256; j++) z += exp(l[j] - mx);
            gsum += (exp(l[v] - mx) / z - (tg[r] == v)) / R; /* dLoss/dlogit of the mean */
            mean_logit += l[v] / (double)R;
        }
        for (int c = 0; c < 16; c++) aw += (double)hs.a[c] * W[v * 16 + c];
        worst_a = fmax(worst_a, fabs(aw - mean_logit) / (1e-6 + fabs(mean_logit)));
        worst_g = fmax(worst_g, fabs(hs.g[v] - gsum) / (1e-7 + fabs(gsum)));
    }
    CHECK(worst_a < 1e-4); /* mean(x) W^T = mean of the logits (float sums) */
    CHECK(worst_g < 1e-4); /* g = sum over rows of the logit gradient */
    CHECK_STATUS(apx_gpt_stats_accumulate(m, 1.0), APX_EINVAL); /* consumed */
    CHECK_STATUS(apx_gpt_linear_stat_get(m, 5, &hs), APX_EINVAL);
    CHECK_STATUS(apx_gpt_linear_stat_get(NULL, 0, &hs), APX_EINVAL);
    CHECK_STATUS(apx_gpt_stats_accumulate(NULL, 1.0), APX_EINVAL);
    apx_graph_free(g);
    apx_gpt_free(m);
}

static apx_corpus *tiny_corpus(void) {
    char text[2400];
    for (int i = 0; i < 2400; i++) text[i] = "the quick brown fox jumps over the dog. "[i % 40];
    apx_corpus *c = NULL;
    apx_corpus_from_bytes((const uint8_t *)text, 2400, "tiny", 0.1, 8, &c);
    return c;
}

TEST(optim_train_every_kind) {
    apx_corpus *c = tiny_corpus();
    REQUIRE(c);
    apx_gpt_config cfg = tiny_config();
    for (int i = 0; i < apx_optim_kind_count(); i++) {
        apx_gpt *m = NULL;
        REQUIRE_OK(apx_gpt_create(&cfg, 1, &m));
        apx_train_opts o = apx_train_opts_default();
        o.steps = 2, o.batch = 2, o.eval_every = 0, o.eval_tokens = 64, o.log_every = 1;
        o.optimizer = apx_optim_kind_at(i)->name;
        apx_train_result res;
        apx_status s = apx_train(m, c, &o, &res);
        if (s != APX_OK) printf("  %s: %s\n", o.optimizer, apx_last_error());
        CHECK(s == APX_OK && res.steps == 2 && isfinite(res.val_loss));
        apx_gpt_free(m);
    }
    apx_corpus_free(c);
}

/* A tiny model (seed 1) and a trainer of `kind` with batch 2 and no weight decay; the
 * corpus too. Returns 0 on failure (everything freed). */
static int tiny_trainer(const char *kind, apx_corpus **c, apx_gpt **m, apx_trainer **t) {
    apx_gpt_config cfg = tiny_config();
    apx_train_opts o = apx_train_opts_default();
    o.optimizer = kind, o.batch = 2, o.weight_decay = 0;
    *c = tiny_corpus();
    *m = NULL, *t = NULL;
    if (*c && apx_gpt_create(&cfg, 1, m) == APX_OK && apx_trainer_create(*m, &o, t) == APX_OK)
        return 1;
    apx_gpt_free(*m), apx_corpus_free(*c);
    return 0;
}

/* AdAdaGrad in the loop: trainer steps report a non-decreasing micro-batch count that grows
 * from 2 (gradients of nearly independent micro-batches are noisy next to their mean). */
TEST(optim_train_adadagrad_norm_test) {
    apx_corpus *c;
    apx_gpt *m;
    apx_trainer *t;
    REQUIRE(tiny_trainer("adadagrad", &c, &m, &t));
    int32_t ids[64 * 16], tg[64 * 16];
    int64_t acc = 2;
    for (int step = 0; step < 3; step++) {
        REQUIRE_OK(apx_corpus_batch(c, 7, step * 64, 2 * acc, 8, ids, tg));
        apx_step_info info;
        REQUIRE_OK(apx_trainer_step(t, ids, tg, acc, 2, 8, 0.05, (uint64_t)step, &info));
        CHECK(info.next_accum >= acc && info.next_accum <= 64);
        acc = info.next_accum;
    }
    CHECK(acc > 2);
    apx_trainer_free(t);
    apx_gpt_free(m);
    apx_corpus_free(c);
}

/* Stop at step 2 and resume: the same parameters as a straight 4-step run, for the kinds
 * whose state this module added (MKOR's factors, GradNormLoRP's magnitudes and norms,
 * AdAdaGrad's grown micro-batch count in the checkpoint). */
TEST(optim_train_resume_new_kinds) {
    apx_corpus *c = tiny_corpus();
    REQUIRE(c);
    apx_gpt_config cfg = tiny_config();
    const char *kinds[3] = {"mkor", "gradnormlorp", "adadagrad"};
    for (int i = 0; i < 3; i++) {
        char d1[512], d2[512], name[96];
        snprintf(name, sizeof name, "optim_resume_%s_a", kinds[i]);
        tu_path(d1, sizeof d1, name);
        snprintf(name, sizeof name, "optim_resume_%s_b", kinds[i]);
        tu_path(d2, sizeof d2, name);
        apx_gpt *a = NULL, *b = NULL, *r = NULL;
        REQUIRE_OK(apx_gpt_create(&cfg, 2, &a));
        REQUIRE_OK(apx_gpt_create(&cfg, 2, &b));
        apx_train_opts o = apx_train_opts_default();
        o.steps = 4, o.batch = 2, o.eval_every = 0, o.eval_tokens = 64, o.log_every = 1;
        o.optimizer = kinds[i], o.lr = 0.01, o.out_dir = d1;
        apx_train_result ra, rb, rr;
        REQUIRE_OK(apx_train(a, c, &o, &ra));
        o.out_dir = d2, o.stop_at = 2;
        REQUIRE_OK(apx_train(b, c, &o, &rb));
        REQUIRE_OK(apx_train_resume(d2, c, NULL, &r, &rr));
        int64_t n = apx_params_size(apx_gpt_params(a));
        CHECK(rr.steps == 4 && rr.tokens == ra.tokens);
        CHECK(memcmp(apx_params_data(apx_gpt_params(a)), apx_params_data(apx_gpt_params(r)),
                     (size_t)n * sizeof(float)) == 0);
        apx_gpt_free(a), apx_gpt_free(b), apx_gpt_free(r);
    }
    apx_corpus_free(c);
}

/* Sophia in the trainer: step 0 refreshes the Hessian-diagonal EMA from a Gauss-Newton-
 * Bartlett estimate (labels sampled from the model), so h is nonzero, finite and >= 0, and
 * no parameter moves by more than lr. */
TEST(optim_train_sophia_gets_gnb_estimates) {
    apx_corpus *c;
    apx_gpt *m;
    apx_trainer *t;
    REQUIRE(tiny_trainer("sophia", &c, &m, &t));
    int32_t ids[16], tg[16];
    REQUIRE_OK(apx_corpus_batch(c, 7, 0, 2, 8, ids, tg));
    apx_params *p = apx_gpt_params(m);
    int64_t n = apx_params_size(p);
    float *w0 = malloc((size_t)n * sizeof(float));
    REQUIRE(w0);
    memcpy(w0, apx_params_data(p), (size_t)n * sizeof(float));
    apx_step_info info;
    REQUIRE_OK(apx_trainer_step(t, ids, tg, 1, 2, 8, 1e-3, 0, &info));
    double hmax = 0, moved = 0;
    int finite = 1;
    apx_optim *opt = apx_trainer_optim(t);
    for (int64_t i = 0; i < apx_optim_state_count(opt); i++) {
        apx_optim_state st;
        REQUIRE_OK(apx_optim_state_get(opt, i, &st));
        if (strncmp(st.name, "optim.sophia.hessian.", 21)) continue;
        for (int64_t j = 0; j < st.size; j++) {
            float h = ((float *)st.data)[j];
            finite &= isfinite(h) && h >= 0;
            hmax = fmax(hmax, h);
        }
    }
    double wmax = 0; /* the float rounding of p - u is up to half an ulp of |p| */
    for (int64_t i = 0; i < n; i++) {
        moved = fmax(moved, fabs(apx_params_data(p)[i] - w0[i]));
        wmax = fmax(wmax, fabs(w0[i]));
    }
    CHECK(finite);
    CHECK(hmax > 0);
    if (getenv("APX_TEST_VERBOSE")) printf("  sophia: h max %.3g, largest move %.6g\n", hmax, moved);
    CHECK(moved <= 1e-3 + FLT_EPSILON * wmax && moved > 0);
    free(w0);
    apx_trainer_free(t);
    apx_gpt_free(m);
    apx_corpus_free(c);
}
