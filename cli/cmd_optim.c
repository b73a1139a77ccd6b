/* cli/cmd_optim.c: apx optim --list | apx optim KIND [--set k=v,...]: the optimizer kinds
 * of the library's table (include/apx/optim.h), every setting with its default, range and
 * help; with KIND and --set, the settings after parsing and validation (what
 * `apx train --optimizer KIND` would use). */
#include <math.h>
#include <string.h>

#include "apx/optim.h"
#include "cli.h"

/* "[0, 1)" etc. into buf. */
static void range_text(const apx_optim_setting *s, char *buf, size_t n) {
    if (s->flags & APX_OPTIM_SET_BOOL) {
        snprintf(buf, n, "bool");
        return;
    }
    char lo[32], hi[32];
    if (isinf(s->min)) snprintf(lo, sizeof lo, "-inf"); else snprintf(lo, sizeof lo, "%g", s->min);
    if (isinf(s->max)) snprintf(hi, sizeof hi, "inf"); else snprintf(hi, sizeof hi, "%g", s->max);
    snprintf(buf, n, "%s%s, %s%s%s", (s->flags & APX_OPTIM_SET_MIN_OPEN) ? "(" : "[", lo, hi,
             (s->flags & APX_OPTIM_SET_MAX_OPEN) || isinf(s->max) ? ")" : "]",
             (s->flags & APX_OPTIM_SET_INT) ? " int" : "");
}

static void print_kind(const apx_optim_kind *k, const double *values) {
    printf("%s: %s%s%s%s%s\n", k->name, k->help,
           (k->flags & APX_OPTIM_MATRIX) ? " [matrix-aware]" : "",
           (k->flags & APX_OPTIM_HESSIAN) ? " [takes a Hessian estimate]" : "",
           (k->flags & APX_OPTIM_STATS) ? " [takes layer statistics]" : "",
           (k->flags & APX_OPTIM_BATCH) ? " [grows the batch in apx train]" : "");
    for (int i = 0; i < k->n_settings; i++) {
        const apx_optim_setting *s = &k->settings[i];
        char range[80];
        range_text(s, range, sizeof range);
        printf("  %-26s %-10g %-16s %s\n", s->name, values ? values[i] : s->def, range,
               s->help);
    }
}

static void json_kind(cli_json *j, const apx_optim_kind *k, const double *values) {
    cli_json_begin_obj(j, NULL);
    cli_json_str(j, "name", k->name);
    cli_json_str(j, "help", k->help);
    cli_json_bool(j, "elementwise", (k->flags & APX_OPTIM_ELEMENTWISE) != 0);
    cli_json_bool(j, "matrix", (k->flags & APX_OPTIM_MATRIX) != 0);
    cli_json_bool(j, "hessian", (k->flags & APX_OPTIM_HESSIAN) != 0);
    cli_json_begin_arr(j, "settings");
    for (int i = 0; i < k->n_settings; i++) {
        const apx_optim_setting *s = &k->settings[i];
        cli_json_begin_obj(j, NULL);
        cli_json_str(j, "name", s->name);
        cli_json_num(j, "default", s->def);
        if (values) cli_json_num(j, "value", values[i]);
        cli_json_num(j, "min", s->min);
        cli_json_num(j, "max", s->max);
        cli_json_str(j, "type", (s->flags & APX_OPTIM_SET_BOOL) ? "bool"
                                : (s->flags & APX_OPTIM_SET_INT) ? "int" : "real");
        cli_json_str(j, "help", s->help);
        cli_json_end_obj(j);
    }
    cli_json_end_arr(j);
    cli_json_end_obj(j);
}

/* Apply "k=v,k=v" to s. */
static apx_status apply_sets(apx_optim_settings *s, const char *list) {
    char item[256];
    const char *p = list;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len >= sizeof item) return cli_set_error(APX_EINVAL, CLI_EXIT_USAGE,
                                                     "--set: item too long");
        memcpy(item, p, len);
        item[len] = 0;
        apx_status st = apx_optim_settings_parse(s, item);
        if (st != APX_OK) return cli_set_error(st, CLI_EXIT_USAGE, "--set: %s", apx_last_error());
        p = comma ? comma + 1 : NULL;
    }
    apx_status st = apx_optim_settings_check(s);
    return st == APX_OK ? st : cli_set_error(st, CLI_EXIT_USAGE, "--set: %s", apx_last_error());
}

int cmd_optim(int argc, char **argv) {
    int list = 0;
    const char *sets = NULL;
    const cli_opt opts[] = {
        {"--list", NULL, CLI_FLAG, &list, NULL, "list every kind with its settings", 0, 0, 0},
        {"--set", NULL, CLI_STR, &sets, "K=V,...", "settings of KIND to parse and check", 0, 0,
         0},
    };
    cli_spec spec = {"optim", "--list | KIND [--set K=V,...] [options]",
                     "The optimizer kinds and their settings (name, default, range, help).",
                     "Columns: setting, default (or the value after --set), valid range, "
                     "help.\nThe same settings are flags of `apx train --optimizer KIND`.",
                     NULL, opts, (int)(sizeof opts / sizeof opts[0]), 0, 1};
    cli_common c;
    const char *pos[1];
    int npos, r = cli_parse(&spec, argc, argv, &c, pos, &npos);
    if (r != CLI_PARSE_OK) return r;
    if (!list && npos == 0)
        return cli_error("optim", CLI_EXIT_USAGE, "give --list or a KIND (see --help)");
    if (sets && npos == 0)
        return cli_error("optim", CLI_EXIT_USAGE, "--set needs a KIND");
    apx_optim_settings s;
    const double *values = NULL;
    if (npos == 1) {
        apx_status st = apx_optim_settings_init(pos[0], &s);
        if (st != APX_OK) return cli_error("optim", CLI_EXIT_USAGE, "%s", apx_last_error());
        if (sets && (st = apply_sets(&s, sets)) != APX_OK) return cli_fail("optim", st);
        values = s.v;
    }
    cli_json j;
    if (c.json) {
        cli_json_open(&j, stdout);
        cli_json_str(&j, "command", "optim");
        cli_json_begin_arr(&j, "kinds");
    }
    for (int i = 0; i < apx_optim_kind_count(); i++) {
        const apx_optim_kind *k = apx_optim_kind_at(i);
        if (npos == 1 && k != s.kind) continue;
        if (c.json) json_kind(&j, k, npos == 1 ? values : NULL);
        else if (c.quiet) printf("%s\n", k->name);
        else {
            print_kind(k, npos == 1 ? values : NULL);
            if (i + 1 < apx_optim_kind_count() && npos == 0) printf("\n");
        }
    }
    if (c.json) {
        cli_json_end_arr(&j);
        cli_json_close(&j);
    }
    return CLI_EXIT_OK;
}
