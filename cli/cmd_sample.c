/* cli/cmd_sample.c: apx sample A.npy --method M --rows R [--p P] --out DIR: row sampling of
 * A by uniform, leverage, approximate leverage, Lewis-weight, l_p sensitivity, root-leverage,
 * projection-DPP, volume or (p > 2) leverage + sensitivity mixture sampling; writes
 * DIR/indices.npy (int64) and DIR/weights.npy.
 * --wls S: the weighted least-squares samplers of P001, on [-1,1] with the Legendre basis
 * (--dim M, no input: points.npy, weights.npy) or on the points of a basis matrix Phi.npy
 * (indices.npy, weights.npy; with --values y.npy also the fit coef.npy). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apx/sketch.h"
#include "cli.h"

typedef struct {
    const char *method, *out, *key, *wls, *values;
    double rows, p;
    int64_t dim, n, repeats;
} sample_args;

static apx_status write_indices(const char *dir, const int64_t *idx, int64_t n) {
    apx_array a;
    int64_t shape[1] = {n};
    apx_status st = apx_array_alloc(APX_DT_I64, 1, shape, &a);
    if (st != APX_OK) return st;
    if (n > 0) memcpy(a.data, idx, sizeof(int64_t) * (size_t)n);
    char path[4096];
    snprintf(path, sizeof path, "%s/indices.npy", dir);
    st = apx_npy_write(path, &a);
    apx_array_free(&a);
    return st;
}

static void print_json(const char *path, apx_dmat A, const sample_args *a, int64_t kept,
                       const double *wt, double secs, uint64_t seed) {
    double wsum = 0;
    for (int64_t t = 0; t < kept; t++) wsum += wt[t];
    cli_json j;
    cli_json_open(&j, stdout);
    cli_json_str(&j, "command", "sample");
    cli_json_str(&j, "input", path);
    cli_json_int(&j, "rows", A.rows);
    cli_json_int(&j, "cols", A.cols);
    cli_json_str(&j, "method", a->method);
    cli_json_num(&j, "target", a->rows);
    cli_json_num(&j, "p", a->p);
    cli_json_int(&j, "kept", kept);
    cli_json_num(&j, "weight_sum", wsum);
    cli_json_int(&j, "seed", (int64_t)seed);
    cli_json_int(&j, "threads", apx_get_threads());
    cli_json_num(&j, "seconds", secs);
    if (a->out) cli_json_str(&j, "out", a->out);
    cli_json_close(&j);
}

static void print_text(const char *path, apx_dmat A, const sample_args *a, const int64_t *idx,
                       const double *wt, int64_t kept, double secs, int quiet) {
    if (!quiet)
        printf("sample: %s sampling of %s (%lld x %lld): %lld rows kept (target %g), %.3f s\n",
               a->method, path, (long long)A.rows, (long long)A.cols, (long long)kept, a->rows,
               secs);
    if (a->out) {
        if (!quiet) printf("wrote %s/indices.npy and %s/weights.npy\n", a->out, a->out);
        return;
    }
    for (int64_t t = 0; t < kept; t++) printf("%lld %.17g\n", (long long)idx[t], wt[t]);
}

// the exact sensitivities with a progress bar (the long case), then the sampling
static apx_status sensitivity_sample(apx_dmat A, const sample_args *a, const cli_common *c,
                                     int64_t *idx, double *wt, int64_t *kept) {
    double *sc = malloc(sizeof(double) * (size_t)A.rows);
    if (!sc) return APX_ENOMEM;
    cli_progress bar;
    apx_sensitivity_opts o = apx_sensitivity_opts_default();
    o.progress = cli_progress_start(&bar, "sample", c->quiet);
    apx_status s = apx_sketch_lp_sensitivities(A, a->p, &o, sc, NULL);
    cli_progress_end(&bar);
    if (s == APX_OK) s = apx_sketch_sample_rows(sc, A.rows, a->rows, c->seed, idx, wt, kept);
    free(sc);
    return s;
}

static int run(const char *path, apx_dmat A, apx_sample_method meth, const sample_args *a,
               const cli_common *c) {
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)A.rows), kept = 0;
    double *wt = malloc(sizeof(double) * (size_t)A.rows);
    if (!idx || !wt) {
        free(idx), free(wt);
        return cli_fail("sample", APX_ENOMEM);
    }
    double t0 = cli_now();
    apx_status s = meth == APX_SAMPLE_SENSITIVITY ? sensitivity_sample(A, a, c, idx, wt, &kept)
                                                  : apx_sketch_sample(A, meth, a->rows, a->p,
                                                                      c->seed, idx, wt, &kept);
    double secs = cli_now() - t0;
    if (s == APX_OK && a->out) s = cli_mkdirs(a->out);
    if (s == APX_OK && a->out) s = write_indices(a->out, idx, kept);
    if (s == APX_OK && a->out) s = cli_write_vec(a->out, "weights", wt, kept);
    int r = CLI_EXIT_OK;
    if (s != APX_OK) r = cli_fail("sample", s);
    else if (c->json) print_json(path, A, a, kept, wt, secs, c->seed);
    else print_text(path, A, a, idx, wt, kept, secs, c->quiet);
    free(idx);
    free(wt);
    return r;
}

/* ---------------------------------------------------------------- --wls (P001) */

static void wls_json(const sample_args *a, const char *path, int64_t count,
                     const apx_wls_info *inf, double cond, double secs, uint64_t seed) {
    cli_json j;
    cli_json_open(&j, stdout);
    cli_json_str(&j, "command", "sample");
    cli_json_str(&j, "wls", a->wls);
    cli_json_str(&j, "basis", path ? path : "legendre");
    cli_json_int(&j, "dim", a->dim);
    cli_json_int(&j, "points", count);
    cli_json_int(&j, "proposals", inf->proposals);
    if (!isnan(cond)) cli_json_num(&j, "gram_cond", cond);
    cli_json_int(&j, "seed", (int64_t)seed);
    cli_json_num(&j, "seconds", secs);
    if (a->out) cli_json_str(&j, "out", a->out);
    cli_json_close(&j);
}

// the fit coef.npy from y.npy (values at the G points of Phi) on the sampled rows
static apx_status wls_fit_values(const sample_args *a, apx_dmat Phi, const int64_t *idx,
                                 const double *w, int64_t count, double *cond) {
    apx_dmat Y = {0}, P = {0};
    double *y = malloc(sizeof(double) * (size_t)count), coef[4096];
    apx_status st = y ? cli_read_matrix(a->values, NULL, &Y) : APX_ENOMEM;
    if (st == APX_OK && Y.rows * Y.cols != Phi.rows)
        st = cli_set_error(APX_ESHAPE, CLI_EXIT_INPUT, "--values: %lld numbers for %lld points",
                           (long long)(Y.rows * Y.cols), (long long)Phi.rows);
    if (st == APX_OK && Phi.cols > 4096)
        st = cli_set_error(APX_EINVAL, 0, "--values: at most 4096 basis functions");
    if (st == APX_OK) st = apx_dmat_alloc(count, Phi.cols, &P);
    for (int64_t t = 0; st == APX_OK && t < count; t++) {
        memcpy(P.data + t * P.ld, Phi.data + idx[t] * Phi.ld, sizeof(double) * (size_t)Phi.cols);
        y[t] = Y.data[idx[t]];
    }
    if (st == APX_OK) st = apx_sketch_wls_fit(P, y, w, coef, cond);
    if (st == APX_OK) st = cli_write_vec(a->out, "coef", coef, Phi.cols);
    free(y);
    apx_dmat_free(&Y);
    apx_dmat_free(&P);
    return st;
}

static int run_wls(const char *path, const sample_args *a, const cli_common *c) {
    apx_wls_opts o = apx_wls_opts_default();
    if (apx_wls_sampler_parse(a->wls, &o.sampler) != APX_OK)
        return cli_error("sample", CLI_EXIT_USAGE, "--wls: %s", apx_last_error());
    if (!a->out) return cli_error("sample", CLI_EXIT_USAGE, "--wls needs --out DIR");
    if (!path && a->dim < 1)
        return cli_error("sample", CLI_EXIT_USAGE, "--wls needs --dim M (Legendre on [-1,1]) "
                         "or a basis file Phi.npy");
    o.n = a->n, o.repeats = a->repeats, o.seed = c->seed;
    apx_dmat Phi = {0};
    apx_status s = path ? cli_read_matrix(path, a->key, &Phi) : APX_OK;
    if (s != APX_OK) return cli_fail("sample", s);
    sample_args b = *a;
    if (path) b.dim = Phi.cols;
    int64_t count = apx_wls_count(b.dim, &o);
    if (count > (INT64_C(1) << 40)) {
        apx_dmat_free(&Phi);
        return cli_error("sample", CLI_EXIT_FAIL, "--wls %s for dimension %lld gives %lld "
                         "points: too many", a->wls, (long long)b.dim, (long long)count);
    }
    double *w = malloc(sizeof(double) * (size_t)(count + 1) * 2), t0 = cli_now(), cond = NAN;
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)(count + 1));
    apx_wls_info inf = {0};
    s = w && idx ? APX_OK : APX_ENOMEM;
    if (s == APX_OK && path) s = apx_sketch_wls_grid_points(Phi, NULL, &o, idx, w, &inf);
    else if (s == APX_OK) s = apx_sketch_wls_points(b.dim, &o, w + count + 1, w, &inf);
    if (s == APX_OK) s = cli_mkdirs(a->out);
    if (s == APX_OK && path) s = write_indices(a->out, idx, count);
    if (s == APX_OK && !path) s = cli_write_vec(a->out, "points", w + count + 1, count);
    if (s == APX_OK) s = cli_write_vec(a->out, "weights", w, count);
    if (s == APX_OK && path && a->values) s = wls_fit_values(&b, Phi, idx, w, count, &cond);
    double secs = cli_now() - t0;
    int r = CLI_EXIT_OK;
    if (s != APX_OK) r = cli_fail("sample", s);
    else if (c->json) wls_json(&b, path, count, &inf, cond, secs, c->seed);
    else if (!c->quiet)
        printf("sample: %s points for dimension %lld (%s): %lld points, %.3f s; wrote %s\n",
               a->wls, (long long)b.dim, path ? path : "Legendre on [-1,1]", (long long)count,
               secs, a->out);
    free(w);
    free(idx);
    apx_dmat_free(&Phi);
    return r;
}

int cmd_sample(int argc, char **argv) {
    sample_args a = {"leverage", NULL, NULL, NULL, NULL, 0, 1.0, 0, 0, 2};
    const cli_opt opts[] = {
        {"--method", "-m", CLI_STR, &a.method, "M", "uniform, leverage, approx-leverage, lewis, "
         "sensitivity, root-leverage, dpp, volume or mixed (leverage + sensitivity, P > 2)", 0,
         0, 0},
        {"--rows", "-r", CLI_DOUBLE, &a.rows, "R", "rows to sample: the expected count for the "
         "score methods, exactly R for volume, n (or 0) for dpp", 0, 1, 0},
        {"--p", NULL, CLI_DOUBLE, &a.p, "P", "the l_p of lewis (0 < P < 4), sensitivity and "
         "root-leverage (P >= 1) and mixed (P > 2)", 0, 1, 0},
        {"--out", "-o", CLI_STR, &a.out, "DIR", "write DIR/indices.npy (int64) and "
         "DIR/weights.npy; without it the pairs are printed", 0, 0, 0},
        {"--key", NULL, CLI_STR, &a.key, "NAME", "member of an .npz input", 0, 0, 0},
        {"--wls", NULL, CLI_STR, &a.wls, "S", "P001 points instead: iid, dpp, volume or "
         "repeated-dpp (Legendre with --dim, or the rows of a basis file)", 0, 0, 0},
        {"--dim", NULL, CLI_I64, &a.dim, "M", "--wls without a file: the Legendre dimension", 0,
         1, 0},
        {"--n", NULL, CLI_I64, &a.n, "N", "--wls iid/volume: points (0: ceil(M ln M))", 0, 1, 0},
        {"--repeats", NULL, CLI_I64, &a.repeats, "R", "--wls repeated-dpp: DPP draws", 0, 1, 1},
        {"--values", NULL, CLI_STR, &a.values, "Y", "--wls on a basis file: function values at "
         "its points; writes the fit coef.npy", 0, 0, 0},
    };
    char details[640];
    snprintf(details, sizeof details,
             "Input: A (N,n) in %s.\nScore methods keep row i with q_i = min(1, R s_i / sum s) "
             "and weight 1/q_i,\nso sum_kept w_i |a_i x|^p estimates ||A x||_p^p without bias. "
             "dpp and volume\nweights are the inverse inclusion probabilities (p = 2).",
             cli_input_formats());
    cli_spec spec = {"sample", "A.npy --method M --rows R [--p P] [--out DIR] [options]\n"
                     "       apx sample [Phi.npy] --wls S [--dim M] --out DIR [options]",
                     "Row sampling: leverage, Lewis, l_p sensitivity, root-leverage, DPP, "
                     "volume, uniform, leverage + sensitivity mixture.",
                     details, "seed of the sample", opts, (int)(sizeof opts / sizeof opts[0]),
                     0, 1};
    cli_common c;
    const char *pos[1];
    int npos, r = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (r != CLI_PARSE_OK) return r;
    if (a.wls) return run_wls(npos ? pos[0] : NULL, &a, &c);
    if (npos != 1) return cli_error("sample", CLI_EXIT_USAGE, "missing the input file A.npy");
    apx_sample_method meth;
    if (apx_sample_method_parse(a.method, &meth) != APX_OK)
        return cli_error("sample", CLI_EXIT_USAGE, "--method: %s", apx_last_error());
    if (a.rows < 1 && meth != APX_SAMPLE_DPP)
        return cli_error("sample", CLI_EXIT_USAGE, "--rows R (>= 1) is required for --method "
                         "%s", a.method);
    apx_dmat A;
    apx_status s = cli_read_matrix(pos[0], a.key, &A);
    if (s != APX_OK) return cli_fail("sample", s);
    r = run(pos[0], A, meth, &a, &c);
    apx_dmat_free(&A);
    return r;
}
