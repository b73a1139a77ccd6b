/* cli/cmd_kernel.c: apx kernel-ridge X.npy y.npy [--kernel K ...] and apx random-features
 * X.npy y.npy [--features N --band A ...]: kernel ridge regression (RBF, Laplace,
 * polynomial, arc-cosine, deep NNGP/NTK; ridgeless with --lambda 0) and random-feature ridge
 * regression with band-limited weights; predictions for --predict Xt.npy go to --out (or
 * stdout); --classify turns them into -1/+1 labels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apx/regress.h"
#include "cli.h"

/* ---------------------------------------------------------------- shared */

typedef struct {
    const char *predict, *out, *key;
    int classify;
} pred_args;

typedef struct {
    apx_dmat X, Y, Xt, P;
} kr_data;

static void data_free(kr_data *d) {
    apx_dmat_free(&d->X);
    apx_dmat_free(&d->Y);
    apx_dmat_free(&d->Xt);
    apx_dmat_free(&d->P);
}

// X, y and (with --predict) Xt; P (rows of Xt or X, y's columns)
static apx_status read_data(const char *const *pos, const pred_args *pa, kr_data *d) {
    apx_status s = cli_read_matrix(pos[0], pa->key, &d->X);
    if (s == APX_OK) s = cli_read_matrix(pos[1], pa->key, &d->Y);
    if (s == APX_OK && pa->predict) s = cli_read_matrix(pa->predict, pa->key, &d->Xt);
    if (s == APX_OK && d->Y.rows != d->X.rows)
        return cli_set_error(APX_ESHAPE, CLI_EXIT_INPUT, "%s has %lld rows but %s has %lld",
                             pos[0], (long long)d->X.rows, pos[1], (long long)d->Y.rows);
    if (s == APX_OK) s = apx_dmat_alloc(pa->predict ? d->Xt.rows : d->X.rows, d->Y.cols, &d->P);
    return s;
}

typedef int (*run_fn)(const char *const *pos, void *args, kr_data *d, const cli_common *c);

// read the inputs, run, free: the common tail of both commands
static int with_data(const char *cmd, const char *const *pos, const pred_args *pa, run_fn run,
                     void *args, const cli_common *c) {
    kr_data d;
    memset(&d, 0, sizeof d);
    apx_status s = read_data(pos, pa, &d);
    int r = s != APX_OK ? cli_fail(cmd, s) : run(pos, args, &d, c);
    data_free(&d);
    return r;
}

// RMSE of P against Y (the training fit when there is no --predict)
static double rmse(apx_dmat P, apx_dmat Y) {
    double s = 0;
    for (int64_t i = 0; i < P.rows; i++)
        for (int64_t j = 0; j < P.cols; j++) s += pow(P.data[i * P.ld + j] - Y.data[i * Y.ld + j], 2);
    return sqrt(s / (double)(P.rows * P.cols));
}

// the predictions (or labels) to --out or stdout (only with --predict)
static int emit(const char *cmd, const pred_args *pa, apx_dmat P, const cli_common *c) {
    if (pa->classify)
        for (int64_t i = 0; i < P.rows * P.cols; i++) P.data[i] = P.data[i] < 0 ? -1 : 1;
    if (!pa->predict) return CLI_EXIT_OK;
    if (pa->out) {
        apx_status s = P.cols == 1 ? apx_npy_write_vec(pa->out, P.data, P.rows)
                                   : apx_npy_write_dmat(pa->out, P);
        return s == APX_OK ? CLI_EXIT_OK : cli_fail(cmd, s);
    }
    for (int64_t i = 0; !c->json && i < P.rows; i++) {
        for (int64_t k = 0; k < P.cols; k++) printf(k ? " %.17g" : "%.17g", P.data[i * P.ld + k]);
        printf("\n");
    }
    return CLI_EXIT_OK;
}

static void json_head(cli_json *j, const char *cmd, const char *path, const kr_data *d) {
    cli_json_open(j, stdout);
    cli_json_str(j, "command", cmd);
    cli_json_str(j, "input", path);
    cli_json_int(j, "rows", d->X.rows);
    cli_json_int(j, "cols", d->X.cols);
    cli_json_int(j, "targets", d->Y.cols);
}

static void json_tail(cli_json *j, const pred_args *pa, const kr_data *d, double fit_rmse,
                      double secs, const cli_common *c) {
    if (!pa->predict) cli_json_num(j, "train_rmse", fit_rmse);
    else cli_json_int(j, "predicted", d->P.rows);
    if (pa->out) cli_json_str(j, "out", pa->out);
    cli_json_int(j, "seed", (int64_t)c->seed);
    cli_json_int(j, "threads", apx_get_threads());
    cli_json_num(j, "seconds", secs);
    cli_json_close(j);
}

#define PRED_OPTS(pa)                                                                        \
    {"--predict", "-p", CLI_STR, &(pa).predict, "Xt.npy", "predict at the rows of Xt (else "  \
     "report the training fit)", 0, 0, 0},                                                   \
    {"--out", "-o", CLI_STR, &(pa).out, "FILE", "write the predictions to FILE (.npy); "     \
     "without it they are printed", 0, 0, 0},                                                \
    {"--classify", NULL, CLI_FLAG, &(pa).classify, NULL, "output sign(f) as -1/+1 labels",   \
     0, 0, 0},                                                                               \
    {"--key", NULL, CLI_STR, &(pa).key, "NAME", "member of .npz inputs", 0, 0, 0}

/* ---------------------------------------------------------------- kernel-ridge */

typedef struct {
    const char *kernel, *act;
    apx_kernel k;
    apx_kridge_opts o;
    pred_args pa;
} kridge_args;

static int kridge_run(const char *const *pos, void *args, kr_data *d, const cli_common *c) {
    kridge_args *a = args;
    cli_progress bar;
    a->o.progress = cli_progress_start(&bar, "kernel-ridge", c->quiet);
    double t0 = cli_now();
    apx_kridge *m = NULL;
    apx_kridge_info info;
    apx_status s = apx_kridge_fit(&a->k, d->X, d->Y, &a->o, &m, &info);
    if (s == APX_OK) s = apx_kridge_predict(m, a->pa.predict ? d->Xt : d->X, d->P);
    double secs = cli_now() - t0;
    cli_progress_end(&bar);
    apx_kridge_free(m);
    if (s != APX_OK) return cli_fail("kernel-ridge", s);
    double fit = a->pa.predict ? NAN : rmse(d->P, d->Y);
    int rc = emit("kernel-ridge", &a->pa, d->P, c);
    if (c->json) {
        cli_json j;
        json_head(&j, "kernel-ridge", pos[0], d);
        cli_json_str(&j, "kernel", apx_kernel_name(a->k.kind));
        if (a->k.kind == APX_KERNEL_NTK || a->k.kind == APX_KERNEL_NNGP) {
            cli_json_int(&j, "depth", a->k.depth);
            cli_json_str(&j, "activation", apx_dual_act_name(a->k.act));
        }
        cli_json_num(&j, "lambda", a->o.lambda);
        cli_json_str(&j, "method", info.method ? "gelsd" : "cholesky");
        cli_json_int(&j, "rank", info.rank);
        json_tail(&j, &a->pa, d, fit, secs, c);
    } else if (!c->quiet) {
        fprintf(stderr, "kernel-ridge: %s kernel on %lld x %lld, lambda %g, %s (rank %lld), "
                "%.3f s", apx_kernel_name(a->k.kind), (long long)d->X.rows, (long long)d->X.cols,
                a->o.lambda, info.method ? "gelsd" : "cholesky", (long long)info.rank, secs);
        if (!a->pa.predict) fprintf(stderr, ", training RMSE %.6g", fit);
        fprintf(stderr, "\n");
    }
    return rc;
}

int cmd_kernel_ridge(int argc, char **argv) {
    kridge_args a = {"rbf", "relu", apx_kernel_default(APX_KERNEL_RBF),
                     apx_kridge_opts_default(), {NULL, NULL, NULL, 0}};
    a.k.degree = -1;
    const cli_opt opts[] = {
        {"--kernel", "-k", CLI_STR, &a.kernel, "K", "rbf, laplace, poly, arccos, nngp or ntk",
         0, 0, 0},
        {"--lambda", "-l", CLI_DOUBLE, &a.o.lambda, "L", "ridge (0: ridgeless, min-norm by "
         "gelsd)", 0, 1, 0},
        {"--gamma", "-g", CLI_DOUBLE, &a.k.gamma, "G", "rbf/laplace/poly scale (<= 0: 1/d)",
         0, 0, 0},
        {"--degree", NULL, CLI_INT, &a.k.degree, "D", "poly degree, arccos 0 or 1, hermite k "
         "(-1: 1 for arccos, else 3)", 0, 0, 0},
        {"--coef0", NULL, CLI_DOUBLE, &a.k.coef0, "C", "poly offset", 0, 0, 0},
        {"--depth", "-L", CLI_INT, &a.k.depth, "L", "nngp/ntk hidden layers", 0, 1, 0},
        {"--activation", "-a", CLI_STR, &a.act, "ACT", "nngp/ntk dual activation: relu, erf, "
         "sine, opt2, opt3, opt5, opt9, hermite", 0, 0, 0},
        {"--act-param", NULL, CLI_DOUBLE, &a.k.act_param, "A", "sine activation's a", 0, 0, 0},
        {"--rcond", NULL, CLI_DOUBLE, &a.o.rcond, "R", "gelsd cut-off (< 0: machine epsilon)",
         0, 0, 0},
        PRED_OPTS(a.pa),
    };
    char details[512];
    snprintf(details, sizeof details,
             "Input: X (n,d) and y (n) or Y (n,r) in %s.\nFits alpha = (K + lambda I)^-1 y "
             "(Cholesky; gelsd when ridgeless or indefinite), then\npredicts K(Xt, X) alpha. "
             "nngp/ntk project the rows onto "
             "the unit sphere.", cli_input_formats());
    cli_spec spec = {"kernel-ridge", "X.npy y.npy [options]",
                     "Kernel ridge regression and kernel classifiers (deep NTK of P078).",
                     details, NULL, opts, (int)(sizeof opts / sizeof opts[0]), 2, 2};
    cli_common c;
    const char *pos[2];
    int npos, r = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (r != CLI_PARSE_OK) return r;
    if (apx_kernel_parse(a.kernel, &a.k.kind) != APX_OK ||
        apx_dual_act_parse(a.act, &a.k.act) != APX_OK)
        return cli_error("kernel-ridge", CLI_EXIT_USAGE, "%s", apx_last_error());
    if (a.k.degree < 0) a.k.degree = apx_kernel_default(a.k.kind).degree;
    return with_data("kernel-ridge", pos, &a.pa, kridge_run, &a, &c);
}

/* ---------------------------------------------------------------- random-features */

typedef struct {
    const char *kind, *act;
    int64_t features;
    double lambda, rcond;
    apx_rf_opts o;
    pred_args pa;
} rf_args;

static int rf_run(const char *const *pos, void *args, kr_data *d, const cli_common *c) {
    rf_args *a = args;
    double t0 = cli_now();
    apx_rf *p = NULL;
    apx_dmat C = {0};
    apx_rf_info info;
    memset(&info, 0, sizeof info);
    apx_status s = apx_rf_create(d->X.cols, a->features, &a->o, &p);
    if (s == APX_OK) s = apx_dmat_alloc(a->features, d->Y.cols, &C);
    if (s == APX_OK) s = apx_rf_fit(p, d->X, d->Y, a->lambda, a->rcond, C, &info);
    if (s == APX_OK) s = apx_rf_predict(p, a->pa.predict ? d->Xt : d->X, C, d->P);
    double secs = cli_now() - t0;
    apx_rf_free(p);
    apx_dmat_free(&C);
    if (s != APX_OK) return cli_fail("random-features", s);
    double fit = a->pa.predict ? NAN : rmse(d->P, d->Y);
    int rc = emit("random-features", &a->pa, d->P, c);
    static const char *const methods[] = {"primal", "dual", "gelsd"};
    if (c->json) {
        cli_json j;
        json_head(&j, "random-features", pos[0], d);
        cli_json_int(&j, "features", a->features);
        cli_json_str(&j, "kind", apx_rf_kind_name(a->o.kind));
        cli_json_str(&j, "activation", a->o.kind == APX_RF_FOURIER ? "cos" : apx_act_name(a->o.act));
        cli_json_num(&j, "band", a->o.band);
        cli_json_num(&j, "lambda", a->lambda);
        cli_json_str(&j, "method", methods[info.method]);
        cli_json_int(&j, "rank", info.rank);
        json_tail(&j, &a->pa, d, fit, secs, c);
    } else if (!c->quiet) {
        fprintf(stderr, "random-features: %lld %s %s features (band %g) on %lld x %lld, lambda "
                "%g, %s (rank %lld), %.3f s", (long long)a->features, apx_rf_kind_name(a->o.kind),
                apx_act_name(a->o.act), a->o.band, (long long)d->X.rows, (long long)d->X.cols,
                a->lambda, methods[info.method], (long long)info.rank, secs);
        if (!a->pa.predict) fprintf(stderr, ", training RMSE %.6g", fit);
        fprintf(stderr, "\n");
    }
    return rc;
}

int cmd_random_features(int argc, char **argv) {
    rf_args a = {"uniform", "tanh", 1000, 1e-8, -1, apx_rf_opts_default(), {NULL, NULL, NULL, 0}};
    const cli_opt opts[] = {
        {"--features", "-N", CLI_I64, &a.features, "N", "number of random features", 0, 1, 1},
        {"--band", "-A", CLI_DOUBLE, &a.o.band, "A", "uniform: |a| <= A; gaussian: scale; "
         "fourier: gamma of exp(-gamma |x-z|^2)", 0, 0, 0},
        {"--bias-band", NULL, CLI_DOUBLE, &a.o.bias_band, "B", "bias range (< 0: A)", 0, 0, 0},
        {"--kind", NULL, CLI_STR, &a.kind, "KIND", "uniform, gaussian or fourier", 0, 0, 0},
        {"--activation", "-a", CLI_STR, &a.act, "ACT", "tanh, relu, sigmoid or cos", 0, 0, 0},
        {"--lambda", "-l", CLI_DOUBLE, &a.lambda, "L", "ridge (0: min-norm least squares by "
         "gelsd)", 0, 1, 0},
        {"--rcond", NULL, CLI_DOUBLE, &a.rcond, "R", "gelsd cut-off (< 0: machine epsilon)",
         0, 0, 0},
        PRED_OPTS(a.pa),
    };
    char details[512];
    snprintf(details, sizeof details,
             "Input: X (n,d) and y (n) or Y (n,r) in %s.\nf(x) = sum_j c_j act(a_j . x - b_j) "
             "with a_j, b_j drawn from --seed and frozen;\nc by ridge least squares "
             "(Cholesky on the smaller normal equations).", cli_input_formats());
    cli_spec spec = {"random-features", "X.npy y.npy [options]",
                     "Random-feature regression with band-limited weights (P068).", details,
                     "seed of the hidden weights", opts, (int)(sizeof opts / sizeof opts[0]), 2,
                     2};
    cli_common c;
    const char *pos[2];
    int npos, r = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (r != CLI_PARSE_OK) return r;
    a.o.seed = c.seed;
    if (apx_rf_kind_parse(a.kind, &a.o.kind) != APX_OK || apx_act_parse(a.act, &a.o.act) != APX_OK)
        return cli_error("random-features", CLI_EXIT_USAGE, "%s", apx_last_error());
    return with_data("random-features", pos, &a.pa, rf_run, &a, &c);
}
