/* cli/cmd_mtrl.c: apx mtrl: active multi-task representation learning via the Lasso (P074)
 * on the synthetic model of include/apx/sparse.h: for each seed, a fresh model, then the
 * three stages with the chosen source-allocation rule(s) at the same total budget; reports
 * the mean target excess risk of each rule and how often the Lasso found the relevant
 * sources. */
#include <math.h>
#include <string.h>

#include "apx/sparse.h"
#include "cli.h"

typedef struct {
    int64_t d, M, relevant, seeds;
    const char *rule;
    double noise;
    apx_mtrl_opts o;
} mtrl_args;

static const char *rule_names[] = {"nu1", "nu2", "uniform"};

typedef struct {
    double mean[3], se[3]; /* excess risk per rule: mean and standard error over seeds */
    int64_t recovered;     /* seeds whose stage-2 support is the relevant set */
    int use[3];
} mtrl_result;

/* One seed: the model, then each rule in use; risks into r (3). */
static apx_status one_seed(const mtrl_args *a, uint64_t seed, const mtrl_result *res,
                           double *r, int *recovered) {
    apx_mtrl_synth s;
    apx_status st = apx_sparse_mtrl_synth_create(a->d, a->o.k, a->M, a->relevant, a->noise,
                                                 seed, &s);
    if (st != APX_OK) return st;
    double *buf = apx_malloc(sizeof(double) * (size_t)(2 * a->M + a->d));
    st = buf ? APX_OK : APX_ENOMEM;
    double *nu = buf, *beta0 = buf ? buf + a->M : NULL;
    apx_mtrl_out out;
    memset(&out, 0, sizeof out);
    out.nu = nu;
    out.beta0 = beta0;
    for (int rule = 0; rule < 3 && st == APX_OK; rule++) {
        if (!res->use[rule]) continue;
        apx_mtrl_opts o = a->o;
        o.rule = (apx_mtrl_rule)rule;
        st = apx_sparse_mtrl(a->d, a->M, apx_sparse_mtrl_synth_sample, &s, &o, &out, NULL);
        if (st != APX_OK) break;
        r[rule] = apx_sparse_mtrl_synth_risk(&s, beta0);
        int ok = 1;
        for (int64_t m = 0; m < a->M; m++) ok &= (nu[m] != 0) == (s.nu[m] != 0);
        *recovered = ok;
    }
    apx_free(buf);
    apx_sparse_mtrl_synth_free(&s);
    return st;
}

static apx_status run_seeds(const mtrl_args *a, uint64_t seed0, mtrl_result *res,
                            const cli_common *c) {
    double s1[3] = {0}, s2[3] = {0};
    cli_progress bar;
    apx_progress pg = cli_progress_start(&bar, "mtrl", c->quiet);
    apx_status st = APX_OK;
    for (int64_t k = 0; k < a->seeds && st == APX_OK; k++) {
        if (pg.fn && pg.fn(pg.ctx, (double)k / (double)a->seeds, "seeds")) {
            st = cli_set_error(APX_ECANCELED, 0, "canceled");
            break;
        }
        double r[3] = {0};
        int ok = 0;
        st = one_seed(a, seed0 + (uint64_t)k, res, r, &ok);
        res->recovered += ok;
        for (int q = 0; q < 3; q++) {
            s1[q] += r[q];
            s2[q] += r[q] * r[q];
        }
    }
    cli_progress_end(&bar);
    double S = (double)a->seeds;
    for (int q = 0; q < 3; q++) {
        res->mean[q] = s1[q] / S;
        double v = S > 1 ? (s2[q] - S * res->mean[q] * res->mean[q]) / (S - 1) : 0.0;
        res->se[q] = v > 0 ? sqrt(v / S) : 0.0;
    }
    return st;
}

static void print_result(const mtrl_args *a, const mtrl_result *res, double secs, int json) {
    if (json) {
        cli_json j;
        cli_json_open(&j, stdout);
        cli_json_str(&j, "command", "mtrl");
        cli_json_int(&j, "d", a->d);
        cli_json_int(&j, "k", a->o.k);
        cli_json_int(&j, "sources", a->M);
        cli_json_int(&j, "relevant", a->relevant);
        cli_json_int(&j, "stage1", a->o.n_stage1);
        cli_json_int(&j, "budget", a->o.budget);
        cli_json_int(&j, "target", a->o.n_target);
        cli_json_num(&j, "alpha", a->o.alpha);
        cli_json_num(&j, "noise", a->noise);
        cli_json_int(&j, "seeds", a->seeds);
        cli_json_int(&j, "support_recovered", res->recovered);
        cli_json_begin_obj(&j, "risk");
        for (int q = 0; q < 3; q++)
            if (res->use[q]) {
                cli_json_begin_obj(&j, rule_names[q]);
                cli_json_num(&j, "mean", res->mean[q]);
                cli_json_num(&j, "se", res->se[q]);
                cli_json_end_obj(&j);
            }
        cli_json_end_obj(&j);
        cli_json_num(&j, "seconds", secs);
        cli_json_close(&j);
        return;
    }
    printf("mtrl: d = %lld, k = %lld, %lld sources (%lld relevant), stage 1 %lld per source, "
           "budget %lld, target %lld, %lld seeds\n", (long long)a->d, (long long)a->o.k,
           (long long)a->M, (long long)a->relevant, (long long)a->o.n_stage1,
           (long long)a->o.budget, (long long)a->o.n_target, (long long)a->seeds);
    for (int q = 0; q < 3; q++)
        if (res->use[q])
            printf("  %-8s target excess risk %.4e +- %.1e\n", rule_names[q], res->mean[q],
                   res->se[q]);
    printf("  Lasso support = the relevant sources in %lld of %lld seeds; %.2f s\n",
           (long long)res->recovered, (long long)a->seeds, secs);
}

int cmd_mtrl(int argc, char **argv) {
    mtrl_args a;
    memset(&a, 0, sizeof a);
    a.d = 50, a.M = 20, a.relevant = 3, a.seeds = 20, a.rule = "all", a.noise = 0.3;
    a.o = apx_mtrl_opts_default();
    const cli_opt opts[] = {
        {"--sources", "-M", CLI_I64, &a.M, "M", "number of source tasks", 0, 1, 1},
        {"--relevant", NULL, CLI_I64, &a.relevant, "R", "sources the target uses (<= k)", 0, 1, 1},
        {"--dim", "-d", CLI_I64, &a.d, "D", "input dimension d", 0, 1, 1},
        {"--rank", "-k", CLI_I64, &a.o.k, "K", "representation dimension k", 0, 1, 1},
        {"--budget", "-n", CLI_I64, &a.o.budget, "N", "stage-3 source samples in total", 0, 1, 0},
        {"--stage1", NULL, CLI_I64, &a.o.n_stage1, "N1", "stage-1 samples per source (>= d)", 0,
         1, 1},
        {"--target", NULL, CLI_I64, &a.o.n_target, "N0", "target samples (>= k)", 0, 1, 1},
        {"--alpha", "-a", CLI_DOUBLE, &a.o.alpha, "A", "stage-2 Lasso strength (sklearn scaling)",
         0, 1, 0},
        {"--noise", NULL, CLI_DOUBLE, &a.noise, "S", "label noise standard deviation", 0, 1, 0},
        {"--rule", NULL, CLI_STR, &a.rule, "RULE", "nu1, nu2, uniform or all", 0, 0, 0},
        {"--seeds", NULL, CLI_I64, &a.seeds, "S", "models (seeds --seed, --seed + 1, ...)", 0, 1,
         1},
    };
    cli_spec spec = {"mtrl", "[--sources M] [--relevant R] [--budget N] [--rule RULE] [options]",
                     "Active multi-task representation learning via the Lasso (P074), synthetic.",
                     "Stage 1 samples every source uniformly and estimates the shared "
                     "representation; stage 2 finds\nthe target's source weights nu by the Lasso; "
                     "stage 3 spends the budget in proportion to |nu| (nu1),\nnu^2 of the "
                     "minimum-norm weights (nu2, Chen et al. 2022) or uniformly, then refits. "
                     "The report is\nthe target excess risk ||beta0 - B w0||^2 per rule (mean and "
                     "standard error over the seeds).",
                     "first model's seed", opts, (int)(sizeof opts / sizeof opts[0]), 0, 0};
    cli_common c;
    const char *pos[1];
    int npos, r = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (r != CLI_PARSE_OK) return r;
    mtrl_result res;
    memset(&res, 0, sizeof res);
    int all = !strcmp(a.rule, "all"), known = all;
    for (int q = 0; q < 3; q++) {
        res.use[q] = all || !strcmp(a.rule, rule_names[q]);
        known |= res.use[q];
    }
    if (!known)
        return cli_error("mtrl", CLI_EXIT_USAGE, "--rule: '%s' is not nu1, nu2, uniform or all",
                         a.rule);
    if (a.relevant > a.o.k)
        return cli_error("mtrl", CLI_EXIT_USAGE, "--relevant %lld must be <= --rank %lld",
                         (long long)a.relevant, (long long)a.o.k);
    double t0 = cli_now();
    apx_status s = run_seeds(&a, c.seed, &res, &c);
    if (s != APX_OK) return cli_fail("mtrl", s);
    if (c.json || !c.quiet) print_result(&a, &res, cli_now() - t0, c.json);
    return CLI_EXIT_OK;
}
