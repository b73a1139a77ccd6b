/* cli/cmd_explain.c: apx explain MODEL --x0 x0.npy [--method M]: local linear explanations
 * (P042: C-LIME, LIME, KernelSHAP, SmoothGrad, gradients, integrated gradients, occlusion)
 * of a model given by files: a linear or logistic model w.npy (+ --bias), or a one-hidden-
 * layer MLP in an .npz (W1 (h,d), b1 (h), w2 (h) or W2 (1,h), optional b2), with its
 * analytic gradient; optionally the LFA loss (faithfulness) on a held-out neighbourhood. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apx/regress.h"
#include "cli.h"

typedef struct {
    apx_dmat w;          /* linear: (d,1); MLP: W1 (h,d) */
    apx_dmat b1, w2, b2; /* MLP: (h,1), (h,1) or (1,h), scalar or empty */
    int mlp, logistic, relu;
    double bias;
    int64_t d, h;
} ex_model;

static double act(const ex_model *m, double a, double *da) {
    if (m->relu) {
        *da = a > 0;
        return a > 0 ? a : 0;
    }
    double t = tanh(a);
    *da = 1 - t * t;
    return t;
}

// f(x) and, when g != NULL, grad f(x) (d)
static double model_eval(const ex_model *m, const double *x, double *g) {
    double out = m->bias;
    if (!m->mlp) {
        for (int64_t j = 0; j < m->d; j++) out += m->w.data[j] * x[j];
        for (int64_t j = 0; g && j < m->d; j++) g[j] = m->w.data[j];
    } else {
        for (int64_t j = 0; g && j < m->d; j++) g[j] = 0;
        for (int64_t k = 0; k < m->h; k++) {
            const double *row = m->w.data + k * m->w.ld;
            double a = m->b1.data[k], da, v2 = m->w2.data[k];
            for (int64_t j = 0; j < m->d; j++) a += row[j] * x[j];
            out += v2 * act(m, a, &da);
            for (int64_t j = 0; g && j < m->d; j++) g[j] += v2 * da * row[j];
        }
    }
    if (!m->logistic) return out;
    double s = 1 / (1 + exp(-out));
    for (int64_t j = 0; g && j < m->d; j++) g[j] *= s * (1 - s);
    return s;
}

static int model_f(void *ctx, apx_dmat X, double *y) {
    for (int64_t i = 0; i < X.rows; i++) y[i] = model_eval(ctx, X.data + i * X.ld, NULL);
    return 0;
}

static int model_grad(void *ctx, apx_dmat X, apx_dmat G) {
    for (int64_t i = 0; i < X.rows; i++) model_eval(ctx, X.data + i * X.ld, G.data + i * G.ld);
    return 0;
}

static void model_free(ex_model *m) {
    apx_dmat_free(&m->w);
    apx_dmat_free(&m->b1);
    apx_dmat_free(&m->w2);
    apx_dmat_free(&m->b2);
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static apx_status load_mlp(const char *path, ex_model *m) {
    m->mlp = 1;
    apx_status s = cli_read_matrix(path, "W1", &m->w);
    if (s == APX_OK) s = cli_read_matrix(path, "b1", &m->b1);
    if (s == APX_OK && cli_read_matrix(path, "w2", &m->w2) != APX_OK)
        s = cli_read_matrix(path, "W2", &m->w2);
    if (s != APX_OK) return s;
    m->d = m->w.cols, m->h = m->w.rows;
    if (m->b1.rows * m->b1.cols != m->h || m->w2.rows * m->w2.cols != m->h)
        return cli_set_error(APX_EFORMAT, CLI_EXIT_INPUT, "%s: W1 is %lld x %lld, so b1 and w2 "
                             "need %lld entries (got %lld and %lld)", path, (long long)m->h,
                             (long long)m->d, (long long)m->h,
                             (long long)(m->b1.rows * m->b1.cols),
                             (long long)(m->w2.rows * m->w2.cols));
    if (cli_read_matrix(path, "b2", &m->b2) == APX_OK && m->b2.rows * m->b2.cols == 1)
        m->bias += m->b2.data[0];
    apx_clear_error();
    return APX_OK;
}

static apx_status load_model(const char *path, ex_model *m) {
    if (ends_with(path, ".npz")) return load_mlp(path, m);
    apx_status s = cli_read_matrix(path, NULL, &m->w);
    if (s != APX_OK) return s;
    if (m->w.cols != 1 && m->w.rows != 1)
        return cli_set_error(APX_EFORMAT, CLI_EXIT_INPUT, "%s: a linear model needs a weight "
                             "vector, got %lld x %lld", path, (long long)m->w.rows,
                             (long long)m->w.cols);
    m->d = m->w.rows * m->w.cols;
    return APX_OK;
}

typedef struct {
    const char *x0, *method, *baseline, *activation;
    int64_t lfa;
    uint64_t lfa_seed;
    apx_explain_opts o;
} ex_args;

static apx_status read_vec(const char *path, int64_t d, const char *what, apx_dmat *v) {
    apx_status s = cli_read_matrix(path, NULL, v);
    if (s == APX_OK && v->rows * v->cols != d)
        s = cli_set_error(APX_ESHAPE, CLI_EXIT_INPUT, "%s (%s) has %lld entries, the model "
                          "takes d = %lld", path, what, (long long)(v->rows * v->cols),
                          (long long)d);
    return s;
}

typedef struct {
    double *w, b, fx, loss, secs;
} ex_result;

static void print_json(const char *path, const ex_model *m, const ex_args *a,
                       apx_explain_method meth, const ex_result *r) {
    cli_json j;
    cli_json_open(&j, stdout);
    cli_json_str(&j, "command", "explain");
    cli_json_str(&j, "model", path);
    cli_json_str(&j, "kind", m->mlp ? "mlp" : "linear");
    cli_json_bool(&j, "logistic", m->logistic);
    cli_json_int(&j, "d", m->d);
    cli_json_str(&j, "method", apx_explain_name(meth));
    cli_json_num(&j, "f_x0", r->fx);
    cli_json_num_arr(&j, "w", r->w, m->d);
    cli_json_num(&j, "b", r->b);
    if (a->lfa > 0) cli_json_num(&j, "lfa_loss", r->loss);
    cli_json_int(&j, "samples", a->o.n_samples);
    cli_json_num(&j, "sigma", a->o.sigma);
    cli_json_int(&j, "seed", (int64_t)a->o.seed);
    cli_json_num(&j, "seconds", r->secs);
    cli_json_close(&j);
}

static void print_summary(const char *path, const ex_model *m, const ex_args *a,
                          apx_explain_method meth, const ex_result *r) {
    printf("explain: %s (%s%s, d = %lld), method %s, f(x0) = %.10g\n", path,
           m->mlp ? "MLP" : "linear", m->logistic ? ", logistic" : "", (long long)m->d,
           apx_explain_name(meth), r->fx);
    for (int64_t j = 0; j < m->d; j++) printf("  w[%lld] = %.10g\n", (long long)j, r->w[j]);
    printf("  b = %.10g\n", r->b);
    if (a->lfa > 0) printf("LFA loss on %lld held-out draws: %.6g\n", (long long)a->lfa, r->loss);
}

// -q: the results only, w[0..d) then b, one per line
static void print_values(const ex_model *m, const ex_result *r) {
    for (int64_t j = 0; j < m->d; j++) printf("%.17g\n", r->w[j]);
    printf("%.17g\n", r->b);
}

static apx_status run(ex_model *m, ex_args *a, apx_explain_method meth, ex_result *r) {
    apx_dmat x0 = {0}, base = {0};
    apx_status s = read_vec(a->x0, m->d, "--x0", &x0);
    if (s == APX_OK && a->baseline) s = read_vec(a->baseline, m->d, "--baseline", &base);
    if (s == APX_OK && !(r->w = calloc((size_t)m->d, sizeof(double))))
        s = cli_set_error(APX_ENOMEM, 0, "out of memory");
    apx_explain_model M = {m->d, model_f, model_grad, m};
    a->o.baseline = base.data;
    double t0 = cli_now();
    if (s == APX_OK) s = apx_explain(M, x0.data, meth, &a->o, r->w, &r->b);
    if (s == APX_OK && a->lfa > 0)
        s = apx_explain_lfa_loss(M, x0.data, meth, &a->o, r->w, r->b, a->lfa, a->lfa_seed,
                                 &r->loss);
    r->secs = cli_now() - t0;
    if (s == APX_OK) r->fx = model_eval(m, x0.data, NULL);
    apx_dmat_free(&x0);
    apx_dmat_free(&base);
    return s;
}

int cmd_explain(int argc, char **argv) {
    ex_args a = {NULL, "clime", NULL, "tanh", 0, 1, apx_explain_opts_default()};
    ex_model m;
    memset(&m, 0, sizeof m);
    const cli_opt opts[] = {
        {"--x0", NULL, CLI_STR, &a.x0, "FILE", "the point to explain (d values)", 1, 0, 0},
        {"--method", "-m", CLI_STR, &a.method, "M", "clime, lime, lime-gauss, kernelshap, "
         "smoothgrad, vg, gxi, ig or occlusion", 0, 0, 0},
        {"--bias", NULL, CLI_DOUBLE, &m.bias, "B", "intercept added to the model's output", 0,
         0, 0},
        {"--logistic", NULL, CLI_FLAG, &m.logistic, NULL, "apply the logistic function to the "
         "output", 0, 0, 0},
        {"--activation", NULL, CLI_STR, &a.activation, "A", "MLP hidden activation: tanh or "
         "relu", 0, 0, 0},
        {"--samples", "-n", CLI_I64, &a.o.n_samples, "N", "perturbations (C-LIME, LIME, "
         "KernelSHAP, SmoothGrad)", 0, 1, 1},
        {"--sigma", NULL, CLI_DOUBLE, &a.o.sigma, "S", "Gaussian neighbourhood scale", 0, 0, 0},
        {"--width", NULL, CLI_DOUBLE, &a.o.width, "W", "LIME kernel width (0: 0.75 sqrt(d))",
         0, 1, 0},
        {"--ig-steps", NULL, CLI_INT, &a.o.ig_steps, "K", "integrated-gradients midpoints", 0,
         1, 1},
        {"--baseline", NULL, CLI_STR, &a.baseline, "FILE", "baseline (d values; default "
         "zeros) for LIME masks, KernelSHAP, IG, occlusion", 0, 0, 0},
        {"--lfa", NULL, CLI_I64, &a.lfa, "N", "also the LFA loss on N held-out draws of the "
         "method's neighbourhood (0: no)", 0, 1, 0},
        {"--lfa-seed", NULL, CLI_U64, &a.lfa_seed, "S", "seed of the held-out draws", 0, 0, 0},
    };
    cli_spec spec = {"explain", "MODEL --x0 x0.npy [options]",
                     "Local linear explanations of a model (LIME, KernelSHAP, SmoothGrad, IG, ...).",
                     "MODEL: w.npy (linear f = w.x + bias, logistic with --logistic) or an .npz\n"
                     "with W1 (h,d), b1 (h), w2 (h) [b2]: f = w2.act(W1 x + b1) + b2. The model's\n"
                     "gradient is analytic. Prints the weights w and intercept b of the local\n"
                     "model (see docs/nonlinear.md for each method's definition).",
                     "seed of the perturbations", opts, (int)(sizeof opts / sizeof opts[0]), 1, 1};
    cli_common c;
    const char *pos[1];
    int npos, rc = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (rc != CLI_PARSE_OK) return rc;
    a.o.seed = c.seed;
    apx_explain_method meth;
    if (apx_explain_parse(a.method, &meth) != APX_OK)
        return cli_error("explain", CLI_EXIT_USAGE, "--method: %s", apx_last_error());
    if (strcmp(a.activation, "tanh") && strcmp(a.activation, "relu"))
        return cli_error("explain", CLI_EXIT_USAGE, "--activation expects tanh or relu, got "
                         "'%s'", a.activation);
    m.relu = !strcmp(a.activation, "relu");
    ex_result r;
    memset(&r, 0, sizeof r);
    apx_status s = load_model(pos[0], &m);
    if (s == APX_OK) s = run(&m, &a, meth, &r);
    rc = CLI_EXIT_OK;
    if (s != APX_OK) rc = cli_fail("explain", s);
    else if (c.json) print_json(pos[0], &m, &a, meth, &r);
    else if (!c.quiet) print_summary(pos[0], &m, &a, meth, &r);
    else print_values(&m, &r);
    free(r.w);
    model_free(&m);
    return rc;
}
