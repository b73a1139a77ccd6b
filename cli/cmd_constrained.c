/* cli/cmd_constrained.c: apx constrained: equality-constrained optimization by the exact
 * augmented-Lagrangian Newton method with sketched KKT solves (P073) on two problem families
 * read from files: logistic regression (X.npy y.npy C.npy e.npy: min mean log(1 + exp(-y x^T
 * w)) + (reg/2)||w||^2 s.t. C w = e) and quadratic programs (Q.npy q.npy C.npy e.npy: min
 * (1/2) x^T Q x + q^T x s.t. C x = e). */
#include <stdlib.h>
#include <string.h>

#include "apx/solve.h"
#include "cli.h"

typedef struct {
    const char *problem, *inner, *out;
    double reg;
    apx_alm_opts ao;
} con_args;

/* ---------------------------------------------------------------- setup and run */

// the QP from Q q C e, after the shape checks the command reports as input errors
static apx_status qp_setup(apx_dmat *M, apx_alm_qp *D, apx_alm_problem *P) {
    int64_t n = M[0].rows;
    if (M[0].cols != n || M[1].rows * M[1].cols != n || M[2].cols != n ||
        M[3].rows * M[3].cols != M[2].rows)
        return cli_set_error(APX_ESHAPE, CLI_EXIT_INPUT, "qp: Q must be (n,n), q (n), C (m,n) "
                             "and e (m); got Q (%lld,%lld), q %lld values, C (%lld,%lld), e "
                             "%lld values", (long long)M[0].rows, (long long)M[0].cols,
                             (long long)(M[1].rows * M[1].cols), (long long)M[2].rows,
                             (long long)M[2].cols, (long long)(M[3].rows * M[3].cols));
    return apx_alm_qp_setup(M[0], M[1].data, M[2], M[3].data, D, P);
}

static void print_json(const con_args *a, const apx_alm_problem *P, const apx_alm_info *info,
                       const double *x, const double *lam, double secs) {
    cli_json j;
    cli_json_open(&j, stdout);
    cli_json_str(&j, "command", "constrained");
    cli_json_str(&j, "problem", a->problem);
    cli_json_str(&j, "inner", a->inner);
    cli_json_int(&j, "n", P->n);
    cli_json_int(&j, "m", P->m);
    cli_json_num(&j, "tol", a->ao.tol);
    cli_json_int(&j, "iterations", info->iterations);
    cli_json_int(&j, "inner_iterations", info->inner_iterations);
    cli_json_int(&j, "unit_steps", info->unit_steps);
    cli_json_int(&j, "hess_mods", info->hess_mods);
    cli_json_int(&j, "mu_increases", info->mu_increases);
    cli_json_num(&j, "kkt", info->kkt);
    cli_json_num(&j, "f", info->f);
    cli_json_bool(&j, "converged", info->converged);
    cli_json_int(&j, "seed", (int64_t)a->ao.seed);
    cli_json_num(&j, "seconds", secs);
    if (a->out) cli_json_str(&j, "out", a->out);
    else cli_json_num_arr(&j, "x", x, P->n);
    cli_json_num_arr(&j, "lam", lam, P->m);
    cli_json_close(&j);
}

static int run(con_args *a, const apx_alm_problem *P, const cli_common *c) {
    double *buf = calloc((size_t)(2 * P->n + P->m), sizeof(double));
    if (!buf) return cli_error("constrained", CLI_EXIT_FAIL, "out of memory");
    double *x0 = buf, *x = buf + P->n, *lam = buf + 2 * P->n;
    apx_alm_info info;
    memset(&info, 0, sizeof info);
    cli_progress bar;
    a->ao.progress = cli_progress_start(&bar, "constrained", c->quiet);
    double t0 = cli_now();
    apx_status s = apx_alm_newton(P, x0, NULL, x, lam, &a->ao, &info);
    double secs = cli_now() - t0;
    cli_progress_end(&bar);
    int rc = CLI_EXIT_OK;
    if (s != APX_OK && s != APX_ENOCONV) rc = cli_fail("constrained", s);
    else {
        if (s == APX_ENOCONV) rc = cli_fail("constrained", s); // still report and write x
        apx_status ws = a->out ? apx_npy_write_vec(a->out, x, P->n) : APX_OK;
        if (ws != APX_OK) rc = cli_fail("constrained", ws);
        if (c->json) print_json(a, P, &info, x, lam, secs);
        else if (!c->quiet)
            printf("constrained: %s, n = %lld, m = %lld, inner %s: %lld iterations (%lld unit "
                   "steps), KKT residual %.3e (%s), f = %.10g, %.3f s\n", a->problem,
                   (long long)P->n, (long long)P->m, a->inner, (long long)info.iterations,
                   (long long)info.unit_steps, info.kkt,
                   info.converged ? "converged" : "not converged", info.f, secs);
        for (int64_t i = 0; !c->json && !a->out && i < P->n; i++) printf("%.17g\n", x[i]);
    }
    free(buf);
    return rc;
}

static int parse_inner(con_args *a) {
    const char *names[] = {"kaczmarz", "sketch", "gaussian", "direct"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(a->inner, names[i])) {
            a->ao.inner = (apx_alm_inner)i;
            return CLI_EXIT_OK;
        }
    return cli_error("constrained", CLI_EXIT_USAGE, "--inner expects kaczmarz, sketch, "
                     "gaussian or direct, got '%s'", a->inner);
}

int cmd_constrained(int argc, char **argv) {
    con_args a = {"logreg", "sketch", NULL, 0.0, apx_alm_opts_default()};
    const cli_opt opts[] = {
        {"--problem", "-p", CLI_STR, &a.problem, "P", "logreg (X y C e) or qp (Q q C e)", 0, 0,
         0},
        {"--reg", NULL, CLI_DOUBLE, &a.reg, "R", "logreg: ridge weight (reg/2)||w||^2", 0, 1, 0},
        {"--inner", NULL, CLI_STR, &a.inner, "S", "KKT solver: kaczmarz, sketch (row blocks), "
         "gaussian or direct (LU)", 0, 0, 0},
        {"--block", NULL, CLI_I64, &a.ao.block, "Q", "sketch-and-project block (0: its "
         "default)", 0, 1, 0},
        {"--tol", NULL, CLI_DOUBLE, &a.ao.tol, "T", "stop at KKT residual <= T", 0, 1, 0},
        {"--max-iters", NULL, CLI_I64, &a.ao.max_iters, "N", "Newton iterations", 0, 1, 1},
        {"--inner-max-iters", NULL, CLI_I64, &a.ao.inner_max_iters, "N", "per KKT solve (0: "
         "the solver's default)", 0, 1, 0},
        {"--delta0", NULL, CLI_DOUBLE, &a.ao.delta0, "D", "cap on the inner relative accuracy",
         0, 1, 0},
        {"--out", "-o", CLI_STR, &a.out, "FILE", "write x to FILE (.npy); without it x is "
         "printed", 0, 0, 0},
    };
    cli_spec spec = {"constrained", "X.npy y.npy C.npy e.npy | -p qp Q.npy q.npy C.npy e.npy "
                     "[options]",
                     "Equality-constrained optimization by the augmented-Lagrangian Newton "
                     "method with sketched KKT solves (P073).",
                     "logreg: min mean log(1 + exp(-y_j x_j^T w)) + (reg/2)||w||^2 s.t. C w = e,\n"
                     "  y in {-1, +1}. qp: min (1/2) x^T Q x + q^T x s.t. C x = e.\n"
                     "Starts from x = 0, lam = 0. Exit 1 when the tolerance is not reached.",
                     "seed of the sketches", opts, (int)(sizeof opts / sizeof opts[0]), 4, 4};
    cli_common c;
    const char *pos[4];
    int npos, r = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (r != CLI_PARSE_OK) return r;
    a.ao.seed = c.seed;
    if ((r = parse_inner(&a)) != CLI_EXIT_OK) return r;
    int qp = !strcmp(a.problem, "qp");
    if (!qp && strcmp(a.problem, "logreg"))
        return cli_error("constrained", CLI_EXIT_USAGE, "--problem expects logreg or qp, got "
                         "'%s'", a.problem);
    apx_dmat M[4] = {{0}, {0}, {0}, {0}};
    apx_status s = APX_OK;
    for (int i = 0; i < 4 && s == APX_OK; i++) s = cli_read_matrix(pos[i], NULL, &M[i]);
    apx_alm_problem P;
    apx_alm_logreg lr = {0};
    apx_alm_qp qd;
    if (s == APX_OK && qp) s = qp_setup(M, &qd, &P);
    else if (s == APX_OK) {
        if (M[1].rows * M[1].cols != M[0].rows || M[3].rows * M[3].cols != M[2].rows)
            s = cli_set_error(APX_ESHAPE, CLI_EXIT_INPUT, "logreg: y must hold %lld values "
                              "(the rows of X) and e %lld (the rows of C)", (long long)M[0].rows,
                              (long long)M[2].rows);
        else s = apx_alm_logreg_setup(M[0], M[1].data, M[2], M[3].data, a.reg, &lr, &P);
    }
    r = s != APX_OK ? cli_fail("constrained", s) : run(&a, &P, &c);
    apx_alm_logreg_free(&lr);
    for (int i = 0; i < 4; i++) apx_dmat_free(&M[i]);
    return r;
}
