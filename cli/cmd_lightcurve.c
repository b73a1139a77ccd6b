/* cli/cmd_lightcurve.c: apx lightcurve FILE --period P [--epoch T0] [--fit-period]
 * [--tp-max S]: the NAV model fit of an eclipsing binary's light curve (P085) by
 * Levenberg-Marquardt, with parameter errors, against the best trigonometric polynomial
 * (order chosen by BIC or Fisher tests); reports RMS, chi2 and BIC of both. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apx/regress.h"
#include "cli.h"

static const char *const nav_names[APX_NAV_NPARAM] = {
    "C1", "C2", "C3", "C4", "C5", "C6", "C7", "width", "beta1", "beta2", "P", "T0"};

typedef struct {
    double period, epoch;
    const char *epoch_s, *crit, *key;
    int fit_period, tp_max;
    double alpha;
    apx_nav_opts no;
} lc_args;

typedef struct {
    double p[APX_NAV_NPARAM], err[APX_NAV_NPARAM];
    apx_nav_info nav;
    apx_tp_info tp;
    double *coef;
    double T0, secs;
    int64_t n;
} lc_result;

static void print_json(const char *path, const lc_args *a, const lc_result *r, int sigma) {
    cli_json j;
    cli_json_open(&j, stdout);
    cli_json_str(&j, "command", "lightcurve");
    cli_json_str(&j, "input", path);
    cli_json_int(&j, "points", r->n);
    cli_json_bool(&j, "weighted", sigma);
    cli_json_num(&j, "period", a->period);
    cli_json_num(&j, "epoch", r->T0);
    cli_json_begin_obj(&j, "nav");
    cli_json_int(&j, "nparams", r->nav.nparams);
    cli_json_begin_obj(&j, "params");
    for (int k = 0; k < APX_NAV_NPARAM; k++) cli_json_num(&j, nav_names[k], r->p[k]);
    cli_json_end_obj(&j);
    cli_json_begin_obj(&j, "errors");
    for (int k = 0; k < APX_NAV_NPARAM; k++) cli_json_num(&j, nav_names[k], r->err[k]);
    cli_json_end_obj(&j);
    cli_json_num(&j, "rms", r->nav.rms);
    cli_json_num(&j, "chi2", r->nav.chi2);
    cli_json_num(&j, "bic", r->nav.bic);
    cli_json_int(&j, "iterations", r->nav.lm.iterations);
    cli_json_int(&j, "nfev", r->nav.lm.nfev);
    cli_json_end_obj(&j);
    cli_json_begin_obj(&j, "tp");
    cli_json_str(&j, "criterion", a->crit);
    cli_json_int(&j, "order", r->tp.order);
    cli_json_int(&j, "nparams", 2 * r->tp.order + 1);
    cli_json_num(&j, "rms", r->tp.rms);
    cli_json_num(&j, "chi2", r->tp.chi2);
    cli_json_num(&j, "bic", r->tp.bic);
    cli_json_num_arr(&j, "coef", r->coef, 2 * r->tp.order + 1);
    cli_json_end_obj(&j);
    cli_json_str(&j, "preferred", r->nav.bic < r->tp.bic ? "nav" : "tp");
    cli_json_num(&j, "seconds", r->secs);
    cli_json_close(&j);
}

static void print_summary(const char *path, const lc_args *a, const lc_result *r) {
    printf("lightcurve: %s, %lld points, P = %.10g, T0 = %.10g%s\n", path, (long long)r->n,
           a->period, r->T0, a->fit_period ? " (fitted)" : "");
    printf("NAV (%d parameters):\n", r->nav.nparams);
    for (int k = 0; k < r->nav.nparams; k++)
        printf("  %-6s %16.10g +- %.3g\n", nav_names[k], r->p[k], r->err[k]);
    printf("  rms %.6g, chi2 %.6g, BIC %.2f (%lld LM iterations)\n", r->nav.rms, r->nav.chi2,
           r->nav.bic, (long long)r->nav.lm.iterations);
    printf("TP order %d (%d parameters, %s): rms %.6g, chi2 %.6g, BIC %.2f\n", r->tp.order,
           2 * r->tp.order + 1, a->crit, r->tp.rms, r->tp.chi2, r->tp.bic);
    printf("preferred by BIC: %s (%.3f s)\n", r->nav.bic < r->tp.bic ? "NAV" : "TP", r->secs);
}

// columns t, mag[, sigma] of D (n, 2 or 3) into contiguous vectors (3n)
static apx_status split_columns(apx_dmat D, double *buf) {
    if (D.cols < 2 || D.cols > 3)
        return cli_set_error(APX_EFORMAT, CLI_EXIT_INPUT, "the input needs 2 or 3 columns "
                             "(time, magnitude[, error]), got %lld", (long long)D.cols);
    for (int64_t i = 0; i < D.rows; i++)
        for (int64_t c = 0; c < D.cols; c++) buf[c * D.rows + i] = D.data[i * D.ld + c];
    return APX_OK;
}

// the rough epoch without --epoch: the time of the largest magnitude (the faintest point)
static double default_epoch(const double *t, const double *y, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (y[i] > y[b]) b = i;
    return t[b];
}

static apx_status fit(apx_dmat D, lc_args *a, lc_result *r) {
    int64_t n = D.rows;
    double *buf = malloc(sizeof(double) * (size_t)(3 * n));
    if (!buf) return cli_set_error(APX_ENOMEM, 0, "out of memory for %lld points", (long long)n);
    apx_status s = split_columns(D, buf);
    const double *t = buf, *y = buf + n, *sg = D.cols == 3 ? buf + 2 * n : NULL;
    r->n = n;
    if (s == APX_OK) {
        double t0 = cli_now();
        r->T0 = a->epoch_s ? a->epoch : default_epoch(t, y, n);
        if (!a->epoch_s) { // refine the epoch by a 12-parameter fit, keep its T0
            a->no.fit_period = 1;
            s = apx_nav_fit(t, y, sg, n, a->period, r->T0, &a->no, r->p, r->err, &r->nav);
            if (s == APX_OK) r->T0 = r->p[11];
        }
        a->no.fit_period = a->fit_period;
        if (s == APX_OK)
            s = apx_nav_fit(t, y, sg, n, a->period, r->T0, &a->no, r->p, r->err, &r->nav);
        int smax = a->tp_max;
        if (s == APX_OK && 2 * (int64_t)smax + 2 > n) smax = (int)((n - 2) / 2);
        apx_tp_criterion c = strcmp(a->crit, "fisher") ? APX_TP_BIC : APX_TP_FISHER;
        if (s == APX_OK && !(r->coef = calloc((size_t)(2 * smax + 1), sizeof(double))))
            s = cli_set_error(APX_ENOMEM, 0, "out of memory");
        if (s == APX_OK)
            s = apx_tp_select(t, y, sg, n, a->period, r->T0, smax, c, a->alpha, r->coef, &r->tp);
        r->secs = cli_now() - t0;
    }
    free(buf);
    return s;
}

int cmd_lightcurve(int argc, char **argv) {
    lc_args a;
    memset(&a, 0, sizeof a);
    a.period = 0, a.tp_max = 40, a.alpha = 0.01, a.crit = "bic";
    a.no = apx_nav_opts_default();
    const cli_opt opts[] = {
        {"--period", "-P", CLI_DOUBLE, &a.period, "P", "orbital period (time units of the "
         "file)", 1, 0, 0},
        {"--epoch", NULL, CLI_STR, &a.epoch_s, "T0", "epoch of a primary minimum (default: "
         "estimated: the time of the largest magnitude, refined by a 12-parameter fit)", 0, 0, 0},
        {"--fit-period", NULL, CLI_FLAG, &a.fit_period, NULL, "fit P and T0 too (12 NAV "
         "parameters instead of 10)", 0, 0, 0},
        {"--tp-max", NULL, CLI_INT, &a.tp_max, "S", "largest trigonometric-polynomial order "
         "tried", 0, 1, 0},
        {"--criterion", NULL, CLI_STR, &a.crit, "C", "TP order selection: bic or fisher", 0,
         0, 0},
        {"--alpha", NULL, CLI_DOUBLE, &a.alpha, "A", "Fisher-test significance level", 0, 0, 0},
        {"--width", NULL, CLI_DOUBLE, &a.no.width0, "W", "starting eclipse half-width in "
         "phase (0: a grid search)", 0, 1, 0},
        {"--max-nfev", NULL, CLI_I64, &a.no.lm.max_nfev, "N", "Levenberg-Marquardt "
         "evaluations (0: 100 x parameters)", 0, 1, 0},
        {"--key", NULL, CLI_STR, &a.key, "NAME", "member of .npz inputs", 0, 0, 0},
    };
    char details[600];
    snprintf(details, sizeof details,
             "Input (%s): columns time, magnitude and optionally the magnitude error\n"
             "(then chi2 and BIC are weighted). NAV (Andronov 2012): second-order trigonometric\n"
             "polynomial plus two eclipses C H(phase / width, beta), H(z,b) = (1-|z|^b)^1.5,\n"
             "fitted by Levenberg-Marquardt from a grid start; errors from s^2 (J^T J)^-1.\n"
             "BIC = n ln(chi2 / n) + k ln n.", cli_input_formats());
    cli_spec spec = {"lightcurve", "FILE --period P [options]",
                     "Eclipsing-binary light curve: NAV model fit vs trigonometric polynomial.",
                     details, NULL, opts, (int)(sizeof opts / sizeof opts[0]), 1, 1};
    cli_common c;
    const char *pos[1];
    int npos, rc = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (rc != CLI_PARSE_OK) return rc;
    if (!(a.period > 0)) return cli_error("lightcurve", CLI_EXIT_USAGE, "--period must be > 0");
    if (strcmp(a.crit, "bic") && strcmp(a.crit, "fisher"))
        return cli_error("lightcurve", CLI_EXIT_USAGE, "--criterion expects bic or fisher, got "
                         "'%s'", a.crit);
    if (a.epoch_s) {
        char *end;
        a.epoch = strtod(a.epoch_s, &end);
        if (*end || end == a.epoch_s || !isfinite(a.epoch))
            return cli_error("lightcurve", CLI_EXIT_USAGE, "--epoch expects a number, got '%s'",
                             a.epoch_s);
    }
    apx_dmat D = {0};
    lc_result r;
    memset(&r, 0, sizeof r);
    apx_status s = cli_read_matrix(pos[0], a.key, &D);
    if (s == APX_OK) s = fit(D, &a, &r);
    rc = CLI_EXIT_OK;
    if (s != APX_OK) rc = cli_fail("lightcurve", s);
    else if (c.json) print_json(pos[0], &a, &r, D.cols == 3);
    else if (!c.quiet) print_summary(pos[0], &a, &r);
    else // -q: the NAV parameters only, one per line (as the summary lists them)
        for (int k = 0; k < r.nav.nparams; k++) printf("%.17g\n", r.p[k]);
    free(r.coef);
    apx_dmat_free(&D);
    return rc;
}
