/* cli/cmd_lasso.c: apx lasso and apx enet: X (n,p), y (n) or Y (n,T) -> coefficients by
 * coordinate descent with gap-safe screening and working sets (include/apx/sparse.h).
 * A 2-D Y with T > 1 columns fits the multi-task model (rows of W share their support).
 * --path K fits the warm-started path over scikit-learn's grid of K alphas instead.
 * A Matrix Market coordinate X (.mtx) is fitted as a CSR matrix, never densified. */
#include <string.h>

#include "apx/io.h"
#include "apx/sparse.h"
#include "cli.h"

/* The design: dense, or CSR arrays (owned) from a coordinate .mtx file. */
typedef struct {
    apx_dmat D;
    apx_csr S;
    int sparse;
    int64_t rows, cols;
} design;

static void design_free(design *x) {
    apx_dmat_free(&x->D);
    apx_free((void *)x->S.indptr);
    apx_free((void *)x->S.indices);
    apx_free((void *)x->S.data);
}

static apx_status csr_of_mtx(const apx_mtx *m, design *x) {
    int64_t *ip = apx_malloc(sizeof(int64_t) * (size_t)(m->rows + 1));
    int64_t *ix = apx_malloc(sizeof(int64_t) * (size_t)(m->nnz + 1));
    double *v = apx_malloc(sizeof(double) * (size_t)(m->nnz + 1));
    apx_csr S = {m->rows, m->cols, m->nnz, ip, ix, v};
    x->S = S;
    if (!ip || !ix || !v)
        return cli_set_error(APX_ENOMEM, 0, "out of memory for a %lld-entry CSR matrix",
                             (long long)m->nnz);
    x->sparse = 1;
    return apx_csr_from_coo(m->rows, m->cols, m->nnz, m->row_idx, m->col_idx, m->values, ip,
                            ix, v);
}

static apx_status read_design(const char *path, const char *key, design *x) {
    memset(x, 0, sizeof *x);
    size_t len = strlen(path);
    if (len > 4 && !strcmp(path + len - 4, ".mtx")) {
        apx_mtx m;
        apx_status s = apx_mtx_read(path, &m);
        if (s != APX_OK) return s;
        if (m.format == APX_MTX_COORDINATE) {
            s = csr_of_mtx(&m, x);
            x->rows = m.rows, x->cols = m.cols;
            apx_mtx_free(&m);
            return s;
        }
        apx_mtx_free(&m);
    }
    apx_status s = cli_read_matrix(path, key, &x->D);
    x->rows = x->D.rows, x->cols = x->D.cols;
    return s;
}

typedef struct {
    const char *cmd;
    double alpha, l1_ratio, eps;
    int64_t path;
    int no_intercept, no_screening, no_ws;
    const char *solver, *out, *key, *ykey;
    apx_enet_opts eo;
} lasso_args;

static const char *solver_names[] = {"auto", "gram", "residual"};

static int parse_solver(lasso_args *a) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(a->solver, solver_names[i])) {
            a->eo.solver = (apx_enet_solver)i;
            return 0;
        }
    return cli_error(a->cmd, CLI_EXIT_USAGE, "--solver: '%s' is not auto, gram or residual",
                     a->solver);
}

/* y as (n,T): a 1-D .npy reads as one row, which is transposed when X has n rows. */
static apx_status read_targets(const lasso_args *a, const char *path, int64_t n, apx_dmat *Y) {
    apx_status s = cli_read_matrix(path, a->ykey, Y);
    if (s != APX_OK) return s;
    if (Y->rows == 1 && Y->cols == n && n != 1) {
        Y->rows = n;
        Y->cols = 1;
        Y->ld = 1;
    }
    if (Y->rows != n)
        return cli_set_error(APX_ESHAPE, CLI_EXIT_INPUT, "X has %lld rows but %s has %lld",
                             (long long)n, path, (long long)Y->rows);
    return APX_OK;
}

static void json_info(cli_json *j, const apx_enet_info *info) {
    cli_json_bool(j, "converged", info->converged);
    cli_json_num(j, "gap", info->gap);
    cli_json_num(j, "gap_tol", info->gap_tol);
    cli_json_num(j, "objective", info->primal);
    cli_json_int(j, "nnz", info->nnz);
    cli_json_int(j, "epochs", info->epochs);
    cli_json_int(j, "outer", info->outer);
    cli_json_int(j, "screened", info->screened);
    cli_json_int(j, "ws_size", info->ws_size);
    cli_json_str(j, "updates", info->gram ? "covariance" : "naive");
}

static void print_fit(const lasso_args *a, const char *xp, const design *X, int64_t T,
                      const apx_enet_info *info, const double *b, double secs, int json) {
    if (json) {
        cli_json j;
        cli_json_open(&j, stdout);
        cli_json_str(&j, "command", a->cmd);
        cli_json_str(&j, "input", xp);
        cli_json_int(&j, "rows", X->rows);
        cli_json_int(&j, "cols", X->cols);
        cli_json_str(&j, "format", X->sparse ? "csr" : "dense");
        if (X->sparse) cli_json_int(&j, "x_nnz", X->S.nnz);
        cli_json_int(&j, "tasks", T);
        cli_json_num(&j, "alpha", a->alpha);
        cli_json_num(&j, "l1_ratio", a->l1_ratio);
        cli_json_bool(&j, "fit_intercept", a->eo.fit_intercept);
        cli_json_num_arr(&j, "intercept", b, T);
        json_info(&j, info);
        cli_json_num(&j, "tol", a->eo.tol);
        cli_json_int(&j, "threads", apx_get_threads());
        cli_json_num(&j, "seconds", secs);
        if (a->out) cli_json_str(&j, "out", a->out);
        cli_json_close(&j);
        return;
    }
    printf("%s: %s (%lld x %lld%s%s), alpha = %g, l1_ratio = %g\n", a->cmd, xp,
           (long long)X->rows, (long long)X->cols, X->sparse ? ", CSR" : "",
           T > 1 ? ", multi-task" : "", a->alpha,
           a->l1_ratio);
    printf("%lld non-zero %s, duality gap %.3e (tolerance %.3e, %s), %d epochs, %d working "
           "sets (last %lld, %s updates), %lld screened, %.3f s\n",
           (long long)info->nnz, T > 1 ? "rows" : "coefficients", info->gap, info->gap_tol,
           info->converged ? "converged" : "NOT converged", info->epochs, info->outer,
           (long long)info->ws_size, info->gram ? "covariance" : "naive",
           (long long)info->screened, secs);
    if (a->out) printf("wrote %s/coef.npy and %s/intercept.npy\n", a->out, a->out);
}

static apx_status write_fit(const lasso_args *a, apx_dmat W, const double *b) {
    apx_status s = cli_mkdirs(a->out);
    if (s == APX_OK) s = W.cols == 1 ? cli_write_vec(a->out, "coef", W.data, W.rows)
                                     : cli_write_mat(a->out, "coef", W);
    if (s == APX_OK) s = cli_write_vec(a->out, "intercept", b, W.cols);
    return s;
}

static int fit_one(lasso_args *a, const char *xp, const design *X, apx_dmat Y,
                   const cli_common *c) {
    apx_dmat W = {0};
    double *b = apx_malloc(sizeof(double) * (size_t)Y.cols);
    apx_enet_info info;
    memset(&info, 0, sizeof info);
    cli_progress bar;
    a->eo.progress = cli_progress_start(&bar, a->cmd, c->quiet);
    apx_status s = b ? apx_dmat_alloc(X->cols, Y.cols, &W) : APX_ENOMEM;
    double t0 = cli_now();
    if (s == APX_OK && Y.cols == 1) {
        double *y = apx_malloc(sizeof(double) * (size_t)Y.rows);
        s = y ? APX_OK : APX_ENOMEM;
        for (int64_t i = 0; y && i < Y.rows; i++) y[i] = Y.data[i * Y.ld];
        if (s == APX_OK && X->sparse)
            s = apx_sparse_enet_csr(X->S, y, a->alpha, a->l1_ratio, &a->eo, W.data, b, &info);
        else if (s == APX_OK)
            s = apx_sparse_enet(X->D, y, a->alpha, a->l1_ratio, &a->eo, W.data, b, &info);
        apx_free(y);
    } else if (s == APX_OK && X->sparse)
        s = cli_set_error(APX_EINVAL, CLI_EXIT_USAGE, "the multi-task model needs a dense X "
                          "(got a CSR .mtx)");
    else if (s == APX_OK)
        s = apx_sparse_multitask_enet(X->D, Y, a->alpha, a->l1_ratio, &a->eo, W, b, &info);
    double secs = cli_now() - t0;
    cli_progress_end(&bar);
    if (s == APX_ENOCONV) { /* the iterate is still a result; the summary says so */
        if (!c->quiet && !c->json) fprintf(stderr, "apx %s: note: %s\n", a->cmd, apx_last_error());
        s = APX_OK;
    }
    if (s == APX_OK && a->out) s = write_fit(a, W, b);
    int rc = CLI_EXIT_OK;
    if (s != APX_OK) rc = cli_fail(a->cmd, s);
    else if (c->json || !c->quiet) print_fit(a, xp, X, Y.cols, &info, b, secs, c->json);
    apx_dmat_free(&W);
    apx_free(b);
    return rc;
}

static void print_path(const lasso_args *a, const char *xp, const design *X, const double *al,
                       const double *gaps, apx_dmat C, double secs, int json) {
    int64_t K = a->path;
    double *nnz = apx_malloc(sizeof(double) * (size_t)K);
    for (int64_t k = 0; nnz && k < K; k++) {
        nnz[k] = 0;
        for (int64_t j = 0; j < C.cols; j++) nnz[k] += C.data[k * C.ld + j] != 0;
    }
    if (json) {
        cli_json j;
        cli_json_open(&j, stdout);
        cli_json_str(&j, "command", a->cmd);
        cli_json_str(&j, "input", xp);
        cli_json_int(&j, "rows", X->rows);
        cli_json_int(&j, "cols", X->cols);
        cli_json_str(&j, "format", X->sparse ? "csr" : "dense");
        cli_json_num(&j, "l1_ratio", a->l1_ratio);
        cli_json_num_arr(&j, "alphas", al, K);
        cli_json_num_arr(&j, "gaps", gaps, K);
        if (nnz) cli_json_num_arr(&j, "nnz", nnz, K);
        cli_json_num(&j, "seconds", secs);
        if (a->out) cli_json_str(&j, "out", a->out);
        cli_json_close(&j);
    } else {
        printf("%s path: %s (%lld x %lld), %lld alphas from %g to %g, %.3f s\n", a->cmd, xp,
               (long long)X->rows, (long long)X->cols, (long long)K, al[0], al[K - 1], secs);
        for (int64_t k = 0; nnz && k < K; k++)
            printf("  alpha %-12.6g nnz %-6.0f gap %.3e\n", al[k], nnz[k], gaps[k]);
        if (a->out) printf("wrote %s/alphas.npy, coefs.npy, intercepts.npy, gaps.npy\n", a->out);
    }
    apx_free(nnz);
}

static int fit_path(lasso_args *a, const char *xp, const design *X, apx_dmat Y,
                    const cli_common *c) {
    int64_t K = a->path;
    if (Y.cols != 1)
        return cli_error(a->cmd, CLI_EXIT_USAGE, "--path needs a single target y (got %lld "
                         "columns)", (long long)Y.cols);
    double *buf = apx_malloc(sizeof(double) * (size_t)(4 * K + Y.rows));
    apx_dmat C = {0};
    apx_status s = buf ? apx_dmat_alloc(K, X->cols, &C) : APX_ENOMEM;
    double *al = buf, *b = buf + K, *g = buf + 2 * K, *y = buf + 4 * K;
    for (int64_t i = 0; buf && i < Y.rows; i++) y[i] = Y.data[i * Y.ld];
    apx_dmat Yv = {y, Y.rows, 1, 1};
    double t0 = cli_now();
    if (s == APX_OK && X->sparse)
        s = apx_sparse_alpha_grid_csr(X->S, y, a->l1_ratio, a->eo.fit_intercept, a->eps, K, al);
    else if (s == APX_OK)
        s = apx_sparse_alpha_grid(X->D, Yv, a->l1_ratio, a->eo.fit_intercept, a->eps, K, al);
    cli_progress bar;
    a->eo.progress = cli_progress_start(&bar, a->cmd, c->quiet);
    if (s == APX_OK && X->sparse)
        s = apx_sparse_enet_path_csr(X->S, y, a->l1_ratio, al, K, &a->eo, C, b, g, NULL);
    else if (s == APX_OK)
        s = apx_sparse_enet_path(X->D, y, a->l1_ratio, al, K, &a->eo, C, b, g, NULL);
    cli_progress_end(&bar);
    double secs = cli_now() - t0;
    if (s == APX_ENOCONV) {
        if (!c->quiet && !c->json) fprintf(stderr, "apx %s: note: %s\n", a->cmd, apx_last_error());
        s = APX_OK;
    }
    if (s == APX_OK && a->out) {
        s = cli_mkdirs(a->out);
        if (s == APX_OK) s = cli_write_vec(a->out, "alphas", al, K);
        if (s == APX_OK) s = cli_write_mat(a->out, "coefs", C);
        if (s == APX_OK) s = cli_write_vec(a->out, "intercepts", b, K);
        if (s == APX_OK) s = cli_write_vec(a->out, "gaps", g, K);
    }
    int rc = CLI_EXIT_OK;
    if (s != APX_OK) rc = cli_fail(a->cmd, s);
    else if (c->json || !c->quiet) print_path(a, xp, X, al, g, C, secs, c->json);
    apx_dmat_free(&C);
    apx_free(buf);
    return rc;
}

static int run_cmd(lasso_args *a, int argc, char **argv, int enet) {
    const cli_opt opts[] = {
        {"--alpha", "-a", CLI_DOUBLE, &a->alpha, "A", "regularization strength alpha >= 0", 0,
         1, 0},
        {"--l1-ratio", NULL, CLI_DOUBLE, &a->l1_ratio, "R",
         "mix of l1 (R) and squared l2 (1-R) penalties, 0 <= R <= 1", 0, 1, 0},
        {"--tol", NULL, CLI_DOUBLE, &a->eo.tol, "T",
         "stop when the duality gap <= T ||y - mean||^2 / n", 0, 1, 0},
        {"--max-epochs", NULL, CLI_INT, &a->eo.max_epochs, "N",
         "coordinate-descent passes over the working sets", 0, 1, 1},
        {"--solver", NULL, CLI_STR, &a->solver, "S",
         "auto, gram (covariance updates) or residual (naive updates)", 0, 0, 0},
        {"--no-intercept", NULL, CLI_FLAG, &a->no_intercept, NULL, "do not fit an intercept", 0,
         0, 0},
        {"--positive", NULL, CLI_FLAG, &a->eo.positive, NULL,
         "constrain the coefficients to be >= 0 (single task)", 0, 0, 0},
        {"--no-screening", NULL, CLI_FLAG, &a->no_screening, NULL, "turn gap-safe screening off",
         0, 0, 0},
        {"--no-working-set", NULL, CLI_FLAG, &a->no_ws, NULL,
         "solve over every feature not screened out", 0, 0, 0},
        {"--path", NULL, CLI_I64, &a->path, "K",
         "fit the path over K alphas from alpha_max down to eps alpha_max (0: one fit)", 0, 1, 0},
        {"--eps", NULL, CLI_DOUBLE, &a->eps, "E", "smallest alpha of the path / alpha_max", 0, 1,
         0},
        {"--out", "-o", CLI_STR, &a->out, "DIR",
         "write DIR/coef.npy and DIR/intercept.npy (path: alphas, coefs, intercepts, gaps)", 0,
         0, 0},
        {"--key", NULL, CLI_STR, &a->key, "NAME", "member of an .npz X", 0, 0, 0},
        {"--ykey", NULL, CLI_STR, &a->ykey, "NAME", "member of an .npz y", 0, 0, 0},
    };
    cli_opt table[sizeof opts / sizeof opts[0]]; /* apx lasso has no --l1-ratio */
    int n = 0;
    for (int i = 0; i < (int)(sizeof opts / sizeof opts[0]); i++)
        if (enet || strcmp(opts[i].lng, "--l1-ratio")) table[n++] = opts[i];
    cli_spec spec = {a->cmd, "X.npy y.npy [--alpha A] [-o DIR] [options]",
                     enet ? "Elastic net: min 1/(2n)||y - Xw - b||^2 + A (R ||w||_1 + (1-R)/2 "
                            "||w||^2) by coordinate descent."
                          : "Lasso: min 1/(2n)||y - Xw - b||^2 + A ||w||_1 by coordinate "
                            "descent.",
                     "Gap-safe screening and working sets; the duality gap is the stopping "
                     "rule (as scikit-learn's).\nA 2-D y with T > 1 columns fits the "
                     "multi-task model (||W||_{2,1} penalty, rows share their support).\n"
                     "Inputs: .npy, .npz, .mtx, .csv (a 1-D y or a column); a coordinate .mtx X "
                     "is fitted as CSR\n(never densified; single task). When the "
                     "tolerance is not reached within\n--max-epochs the iterate is still "
                     "written and reported (\"converged\": false), exit code 0.",
                     "accepted for uniformity (coordinate descent is deterministic)", table, n, 2,
                     2};
    cli_common c;
    const char *pos[2];
    int npos, r = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (r != CLI_PARSE_OK) return r;
    if (parse_solver(a)) return CLI_EXIT_USAGE;
    if (a->l1_ratio > 1)
        return cli_error(a->cmd, CLI_EXIT_USAGE, "--l1-ratio must be in [0, 1], got %g",
                         a->l1_ratio);
    a->eo.fit_intercept = !a->no_intercept;
    a->eo.screening = !a->no_screening;
    a->eo.working_set = !a->no_ws;
    design X;
    apx_dmat Y = {0};
    apx_status s = read_design(pos[0], a->key, &X);
    if (s == APX_OK) s = read_targets(a, pos[1], X.rows, &Y);
    if (s != APX_OK) {
        design_free(&X);
        apx_dmat_free(&Y);
        return cli_fail(a->cmd, s);
    }
    r = a->path > 0 ? fit_path(a, pos[0], &X, Y, &c) : fit_one(a, pos[0], &X, Y, &c);
    design_free(&X);
    apx_dmat_free(&Y);
    return r;
}

static lasso_args defaults(const char *cmd, double l1_ratio) {
    lasso_args a;
    memset(&a, 0, sizeof a);
    a.cmd = cmd;
    a.alpha = 1.0; /* scikit-learn's default */
    a.l1_ratio = l1_ratio;
    a.eps = 1e-3;
    a.solver = "auto";
    a.eo = apx_enet_opts_default();
    return a;
}

int cmd_lasso(int argc, char **argv) {
    lasso_args a = defaults("lasso", 1.0);
    return run_cmd(&a, argc, argv, 0);
}

int cmd_enet(int argc, char **argv) {
    lasso_args a = defaults("enet", 0.5);
    return run_cmd(&a, argc, argv, 1);
}
