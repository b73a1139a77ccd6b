/* cli/cmd_halpern.c: apx halpern: Halpern and variance-reduced Halpern iteration (P011) on
 * the built-in finite-sum families: least squares A.npy b.npy split into --blocks components,
 * or the bilinear saddle B.npy [a.npy c.npy] with B (n p, q) holding n stacked (p, q) blocks;
 * an optional box --lo/--hi. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apx/solve.h"
#include "cli.h"

typedef struct {
    const char *problem, *setting, *out;
    int64_t blocks;
    int deterministic;
    double lo, hi;
    double rtol, r0; // --rtol; r0: the residual at x0 = 0 (NaN: not measured)
    apx_halpern_opts ho;
} halpern_args;

typedef struct {
    apx_dmat M, a, c; // least squares: M = A, a = b; bilinear: M = B, a, c
    double *lo, *hi;
} halpern_in;

static void halpern_in_free(halpern_in *in) {
    apx_dmat_free(&in->M);
    apx_dmat_free(&in->a);
    apx_dmat_free(&in->c);
    free(in->lo);
    free(in->hi);
}

static apx_status read_inputs(const char *const *pos, int npos, int bil, halpern_in *in) {
    memset(in, 0, sizeof *in);
    apx_status s = cli_read_matrix(pos[0], NULL, &in->M);
    if (s == APX_OK && npos > 1) s = cli_read_matrix(pos[1], NULL, &in->a);
    if (s == APX_OK && npos > 2) s = cli_read_matrix(pos[2], NULL, &in->c);
    if (s != APX_OK) return s;
    if (!bil && in->a.rows * in->a.cols != in->M.rows)
        return cli_set_error(APX_ESHAPE, CLI_EXIT_INPUT, "%s holds %lld values, A has %lld rows",
                             pos[1], (long long)(in->a.rows * in->a.cols), (long long)in->M.rows);
    return APX_OK;
}

// the problem from the inputs; box bounds when --lo / --hi are finite
static apx_status setup(const halpern_args *a, halpern_in *in, int64_t nblk, apx_fsum_data *D,
                        apx_halpern_problem *P) {
    int bil = !strcmp(a->problem, "bilinear");
    apx_status s;
    if (bil) {
        int64_t n = nblk, p = n > 0 ? in->M.rows / n : 0, q = in->M.cols;
        if (in->a.data && in->a.rows * in->a.cols != n * p)
            return cli_set_error(APX_ESHAPE, CLI_EXIT_INPUT, "a holds %lld values, expected "
                                 "n p = %lld", (long long)(in->a.rows * in->a.cols),
                                 (long long)(n * p));
        if (in->c.data && in->c.rows * in->c.cols != n * q)
            return cli_set_error(APX_ESHAPE, CLI_EXIT_INPUT, "c holds %lld values, expected "
                                 "n q = %lld", (long long)(in->c.rows * in->c.cols),
                                 (long long)(n * q));
        s = apx_fsum_bilinear(in->M, n, in->a.data, in->c.data, D, P);
    } else {
        s = apx_fsum_lstsq(in->M, in->a.data, nblk, D, P);
    }
    if (s != APX_OK) return s;
    if (isfinite(a->lo) || isfinite(a->hi)) {
        in->lo = malloc(sizeof(double) * (size_t)P->d);
        in->hi = malloc(sizeof(double) * (size_t)P->d);
        if (!in->lo || !in->hi) return cli_set_error(APX_ENOMEM, 0, "out of memory");
        for (int64_t j = 0; j < P->d; j++) in->lo[j] = a->lo, in->hi[j] = a->hi;
        P->lo = in->lo, P->hi = in->hi;
    }
    return APX_OK;
}

static void print_json(const halpern_args *a, const apx_halpern_problem *P,
                       const apx_halpern_info *info, const double *x, double secs) {
    cli_json j;
    cli_json_open(&j, stdout);
    cli_json_str(&j, "command", "halpern");
    cli_json_str(&j, "problem", a->problem);
    cli_json_str(&j, "setting", a->setting);
    cli_json_bool(&j, "variance_reduced", a->ho.variance_reduced);
    cli_json_int(&j, "components", P->n);
    cli_json_int(&j, "dim", P->d);
    cli_json_num(&j, "lipschitz", P->lipschitz);
    cli_json_num(&j, "lipschitz_avg", P->lipschitz_avg);
    cli_json_num(&j, "eta", info->eta);
    cli_json_num(&j, "tol", a->ho.tol);
    cli_json_num(&j, "rtol", isnan(a->r0) ? 0.0 : a->rtol);
    cli_json_num(&j, "start_residual", a->r0);
    cli_json_int(&j, "iterations", info->iterations);
    cli_json_int(&j, "inner_iterations", info->inner_iterations);
    cli_json_int(&j, "evaluations", info->evaluations);
    cli_json_int(&j, "full_passes", info->full_passes);
    cli_json_num(&j, "residual", info->residual);
    cli_json_bool(&j, "converged", info->converged);
    cli_json_int(&j, "seed", (int64_t)a->ho.seed);
    cli_json_num(&j, "seconds", secs);
    if (a->out) cli_json_str(&j, "out", a->out);
    else cli_json_num_arr(&j, "x", x, P->d);
    cli_json_close(&j);
}

/* --tol 0: the tolerance is rtol times the residual r0 of x0 = 0, measured by the solver
 * itself (one step, history[0]; its eta and box). Halpern's residual falls as O(1/k), so a
 * fixed absolute tolerance is out of reach when it is far below r0. */
static apx_status relative_tol(halpern_args *a, const apx_halpern_problem *P, double *x) {
    apx_halpern_opts po = a->ho;
    apx_halpern_info info;
    double r0 = NAN;
    po.tol = DBL_MIN, po.max_iters = 1, po.max_evals = 1, po.progress.fn = NULL;
    po.history = &r0, po.history_iters = NULL, po.history_evals = NULL, po.history_cap = 1;
    apx_status s = apx_halpern(P, NULL, x, &po, &info);
    if (s != APX_OK && s != APX_ENOCONV) return s;
    a->r0 = r0;
    a->ho.tol = r0 > 0 ? a->rtol * r0 : DBL_MIN; // r0 = 0: x0 solves it
    return APX_OK;
}

static int run(halpern_args *a, const apx_halpern_problem *P, const cli_common *c) {
    double *x = calloc((size_t)P->d, sizeof(double));
    if (!x) return cli_error("halpern", CLI_EXIT_FAIL, "out of memory");
    apx_halpern_info info;
    memset(&info, 0, sizeof info);
    apx_status s0 = a->ho.tol > 0 ? APX_OK : relative_tol(a, P, x);
    if (s0 != APX_OK) {
        free(x);
        return cli_fail("halpern", s0);
    }
    cli_progress bar;
    a->ho.progress = cli_progress_start(&bar, "halpern", c->quiet);
    double t0 = cli_now();
    apx_status s = apx_halpern(P, NULL, x, &a->ho, &info);
    double secs = cli_now() - t0;
    cli_progress_end(&bar);
    int rc = CLI_EXIT_OK;
    if (s != APX_OK && s != APX_ENOCONV) rc = cli_fail("halpern", s);
    else {
        if (s == APX_ENOCONV) rc = cli_fail("halpern", s); // still report and write x
        apx_status ws = a->out ? apx_npy_write_vec(a->out, x, P->d) : APX_OK;
        if (ws != APX_OK) rc = cli_fail("halpern", ws);
        if (c->json) print_json(a, P, &info, x, secs);
        else if (!c->quiet)
            printf("halpern: %s, %s%s, n = %lld components, d = %lld: %lld iterations, %lld "
                   "component evaluations, residual %.3e (%s), %.3f s\n", a->problem,
                   a->ho.variance_reduced ? "variance-reduced " : "deterministic ", a->setting,
                   (long long)P->n, (long long)P->d, (long long)info.iterations,
                   (long long)info.evaluations, info.residual,
                   info.converged ? "converged" : "not converged", secs);
        for (int64_t i = 0; !c->json && !a->out && i < P->d; i++) printf("%.17g\n", x[i]);
    }
    free(x);
    return rc;
}

int cmd_halpern(int argc, char **argv) {
    halpern_args a = {"lstsq", "cocoercive", NULL, 0, 0, -INFINITY, INFINITY, 1e-4, NAN,
                      apx_halpern_opts_default()};
    a.ho.tol = 0; // relative by default: --rtol
    const char *lo_s = NULL, *hi_s = NULL;
    const cli_opt opts[] = {
        {"--problem", "-p", CLI_STR, &a.problem, "P", "lstsq (A.npy b.npy) or bilinear (B.npy "
         "[a.npy c.npy])", 0, 0, 0},
        {"--blocks", "-n", CLI_I64, &a.blocks, "N", "components n (lstsq: row blocks, 0: one "
         "per row; bilinear: B's row blocks, required)", 0, 1, 0},
        {"--setting", NULL, CLI_STR, &a.setting, "S", "cocoercive or monotone", 0, 0, 0},
        {"--deterministic", NULL, CLI_FLAG, &a.deterministic, NULL, "deterministic Halpern "
         "(exact F) instead of the variance-reduced method", 0, 0, 0},
        {"--tol", NULL, CLI_DOUBLE, &a.ho.tol, "T", "stop at residual <= T, absolute (0: use "
         "--rtol)", 0, 1, 0},
        {"--rtol", NULL, CLI_DOUBLE, &a.rtol, "R", "with --tol 0: stop at residual <= R times "
         "the residual of x0 = 0", 0, 1, 0},
        {"--eta", NULL, CLI_DOUBLE, &a.ho.eta, "E", "step (0: the setting's default, see "
         "docs/solve.md)", 0, 1, 0},
        {"--prob", NULL, CLI_DOUBLE, &a.ho.prob, "P", "PAGE / snapshot probability (0: "
         "1/sqrt(n))", 0, 1, 0},
        {"--batch", NULL, CLI_I64, &a.ho.batch, "B", "batch size (0: the setting's default)",
         0, 1, 0},
        {"--inner-step", NULL, CLI_DOUBLE, &a.ho.inner_step, "G", "monotone: FBF step factor "
         "(0: default)", 0, 1, 0},
        {"--max-evals", NULL, CLI_I64, &a.ho.max_evals, "N", "component evaluation budget (0: "
         "max(10^4 n, 10^7))", 0, 1, 0},
        {"--max-iters", NULL, CLI_I64, &a.ho.max_iters, "N", "outer iterations (0: 10^6)", 0, 1,
         0},
        {"--lo", NULL, CLI_STR, &lo_s, "V", "box lower bound on every coordinate (default: "
         "none)", 0, 0, 0},
        {"--hi", NULL, CLI_STR, &hi_s, "V", "box upper bound on every coordinate (default: "
         "none)", 0, 0, 0},
        {"--out", "-o", CLI_STR, &a.out, "FILE", "write x to FILE (.npy); without it x is "
         "printed", 0, 0, 0},
    };
    cli_spec spec = {"halpern", "A.npy b.npy | -p bilinear B.npy [a.npy c.npy] [options]",
                     "Halpern / variance-reduced Halpern iteration for 0 in F(x) + G(x), F a "
                     "finite sum (P011).",
                     "lstsq: F_i(x) = A_i^T (A_i x - b_i) over n row blocks (cocoercive).\n"
                     "bilinear: the saddle point of (1/n) sum_i (u^T B_i v + a_i^T u - c_i^T v),\n"
                     "  B (n p, q) stacked blocks, x = (u, v); monotone: use --setting monotone.\n"
                     "residual: ||x - J(x - eta F(x))|| / eta (= ||F(x)|| without a box).\n"
                     "Default tolerance: --rtol times the residual at x0 = 0 (Halpern's residual\n"
                     "  falls as O(1/k): each 10x of accuracy costs 10x the evaluations).\n"
                     "Exit 1 when the tolerance is not reached (x is still written).",
                     "seed of the sampled components", opts, (int)(sizeof opts / sizeof opts[0]),
                     1, 3};
    cli_common c;
    const char *pos[3];
    int npos, r = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (r != CLI_PARSE_OK) return r;
    a.ho.seed = c.seed;
    a.ho.variance_reduced = !a.deterministic;
    int bil = !strcmp(a.problem, "bilinear");
    if (!bil && strcmp(a.problem, "lstsq"))
        return cli_error("halpern", CLI_EXIT_USAGE, "--problem expects lstsq or bilinear, got "
                         "'%s'", a.problem);
    if (strcmp(a.setting, "cocoercive") && strcmp(a.setting, "monotone"))
        return cli_error("halpern", CLI_EXIT_USAGE, "--setting expects cocoercive or monotone, "
                         "got '%s'", a.setting);
    a.ho.setting = !strcmp(a.setting, "monotone") ? APX_HALPERN_MONOTONE : APX_HALPERN_COCOERCIVE;
    if ((!bil && npos != 2) || (bil && npos != 1 && npos != 3))
        return cli_error("halpern", CLI_EXIT_USAGE, "%s takes %s", a.problem,
                         bil ? "B.npy or B.npy a.npy c.npy" : "A.npy b.npy");
    if (!(a.ho.tol > 0) && !(a.rtol > 0))
        return cli_error("halpern", CLI_EXIT_USAGE, "--tol and --rtol are both 0");
    if (bil && a.blocks < 1)
        return cli_error("halpern", CLI_EXIT_USAGE, "bilinear needs --blocks N (B's row blocks)");
    char *end;
    if (lo_s && ((a.lo = strtod(lo_s, &end)), *end || isnan(a.lo)))
        return cli_error("halpern", CLI_EXIT_USAGE, "--lo expects a number, got '%s'", lo_s);
    if (hi_s && ((a.hi = strtod(hi_s, &end)), *end || isnan(a.hi)))
        return cli_error("halpern", CLI_EXIT_USAGE, "--hi expects a number, got '%s'", hi_s);
    halpern_in in;
    apx_fsum_data D;
    apx_halpern_problem P;
    apx_status s = read_inputs(pos, npos, bil, &in);
    if (s == APX_OK) s = setup(&a, &in, a.blocks > 0 ? a.blocks : in.M.rows, &D, &P);
    r = s != APX_OK ? cli_fail("halpern", s) : run(&a, &P, &c);
    halpern_in_free(&in);
    return r;
}
