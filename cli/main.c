/* cli/main.c: the apx command. `apx <command> [options] [files]`; the commands are the
 * table below, each implemented in cli/cmd_<name>.c. Global flags: --help, --version. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help; /* one line for apx --help */
} command;

static const command commands[] = {
    {"info", cmd_info, "build features, BLAS library and kernels in use, threads"},
    {"rsvd", cmd_rsvd, "randomized SVD at rank k: writes U.npy, S.npy, Vt.npy"},
    {"svd", cmd_svd, "exact SVD (LAPACK): singular values, optionally U and Vt"},
    {"eig", cmd_eig, "symmetric eigendecomposition (LAPACK): eigenvalues and vectors"},
    {"norm", cmd_norm, "matrix norms: Frobenius, spectral, nuclear, Schatten, Ky Fan, ..."},
    {"complete", cmd_complete, "low-rank matrix completion by alternating minimization"},
    {"demo", cmd_demo, "exact vs randomized SVD and norms on a generated matrix"},
    {"optim", cmd_optim, "optimizer kinds with their settings and defaults (--list)"},
    {"train", cmd_train, "train a byte-level GPT on a text file (checkpoints, log, loss plot)"},
    {"eval", cmd_eval, "validation loss and bits per byte of a trained model on a text"},
    {"generate", cmd_generate, "sample text from a trained model (temperature, top-k)"},
    {"lstsq", cmd_lstsq, "least squares by QR or sketch-and-precondition; weighted, l_p, l_inf"},
    {"sketch", cmd_sketch, "random embeddings S A (Gaussian, SRHT, CountSketch, ...), leverage scores"},
    {"sample", cmd_sample, "row sampling: leverage, Lewis, l_p sensitivity, DPP, volume, uniform"},
    {"solve", cmd_solve, "iterative solvers: CG, MINRES, LSQR, Kaczmarz, sketch-and-project, SOR"},
    {"halpern", cmd_halpern, "variance-reduced Halpern iteration for finite-sum monotone inclusions"},
    {"constrained", cmd_constrained, "equality-constrained optimization: ALM Newton with sketched KKT solves"},
    {"lasso", cmd_lasso, "Lasso (and multi-task, path) by screened coordinate descent"},
    {"enet", cmd_enet, "elastic net by screened coordinate descent, duality-gap stop"},
    {"mtrl", cmd_mtrl, "active multi-task representation learning via the Lasso (P074)"},
    {"sparse-code", cmd_sparse_code, "sparse codes on a dictionary: l1, l0, lq, CEL0 penalties"},
    {"lightcurve", cmd_lightcurve, "eclipsing-binary light curve: NAV model fit (LM) vs trigonometric polynomial"},
    {"explain", cmd_explain, "local linear explanations: C-LIME, LIME, KernelSHAP, SmoothGrad, IG, ..."},
    {"kernel-ridge", cmd_kernel_ridge, "kernel ridge regression and classifiers (rbf, ..., deep NTK)"},
    {"random-features", cmd_random_features, "random-feature regression with band-limited weights"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void print_usage(FILE *f) {
    fprintf(f, "apx %s: fast approximate computing for machine learning\n\n", APX_VERSION_STRING);
    fprintf(f, "usage: apx <command> [options] [files]\n"
               "       apx <command> --help     every option of a command, with its default\n"
               "       apx help <command>       the same\n"
               "       apx --help | --version\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\ncommon options (every command):\n"
               "  --seed S      random seed (default 0)\n"
               "  --threads N   threads for OpenMP and the BLAS (default 0: $APX_THREADS or all "
               "cores)\n"
               "  --json        print a machine-readable summary (one JSON object) on stdout\n"
               "  -q, --quiet   no progress bar, notes or summary\n"
               "  -h, --help    help for the command\n");
    fprintf(f, "\ninput files: %s, chosen by extension\n", cli_input_formats());
    fprintf(f, "exit codes: 0 success, 1 failure while running, 2 usage error, "
               "3 unreadable or malformed input\n");
}

static const command *find_command(const char *name) {
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name)) return &commands[i];
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *a = argv[1];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
        printf("apx %s\n", APX_VERSION_STRING);
        return CLI_EXIT_OK;
    }
    if (!strcmp(a, "help")) { /* apx help [command] */
        if (argc < 3) {
            print_usage(stdout);
            return CLI_EXIT_OK;
        }
        const command *c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "apx: unknown command '%s' (see apx --help)\n", argv[2]);
            return CLI_EXIT_USAGE;
        }
        char *hargv[] = {argv[2], "--help", NULL};
        return c->fn(2, hargv);
    }
    const command *c = find_command(a);
    if (!c) {
        fprintf(stderr, "apx: unknown %s '%s' (see apx --help)\n",
                a[0] == '-' ? "option" : "command", a);
        return CLI_EXIT_USAGE;
    }
    return c->fn(argc - 1, argv + 1);
}
