/* cli/cli.h: shared pieces of the apx command-line tool: exit codes, a table-driven option
 * parser that also writes each command's --help, a small JSON writer, the progress bar,
 * timers, and reading/writing matrices by file extension.
 *
 * The CLI calls only public headers (include/apx.h). Each subcommand lives in its own
 * cli/cmd_<name>.c and is listed in the command table of cli/main.c. */
#ifndef APX_CLI_H
#define APX_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "apx.h"

/* ---------------------------------------------------------------- exit codes */
enum {
    CLI_EXIT_OK = 0,    /* success */
    CLI_EXIT_FAIL = 1,  /* failure while running (a library error other than input) */
    CLI_EXIT_USAGE = 2, /* unknown flag, missing or extra argument, bad number */
    CLI_EXIT_INPUT = 3  /* unreadable or malformed input (APX_EIO / APX_EFORMAT) */
};

/* Exit code for a failed library status: 3 for APX_EIO and APX_EFORMAT, else 1. */
int cli_exit_for(apx_status s);
/* Print "apx <cmd>: <message>" on stderr and return the exit code for `s`. The message is
 * the one a cli_* helper set with cli_set_error (which may also choose the exit code, e.g.
 * 2 for a missing --key), else apx_last_error(), else apx_strerror(s). */
int cli_fail(const char *cmd, apx_status s);
/* For cli_* helpers: record a message (and an exit code, 0 = by status) for cli_fail and
 * return `s`. */
apx_status cli_set_error(apx_status s, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print "apx <cmd>: <formatted message>" on stderr and return `code`. */
int cli_error(const char *cmd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- options */

typedef enum {
    CLI_FLAG,   /* int, set to 1 when present */
    CLI_INT,    /* int */
    CLI_I64,    /* int64_t */
    CLI_U64,    /* uint64_t */
    CLI_DOUBLE, /* double (finite) */
    CLI_STR     /* const char * (points into argv) */
} cli_type;

/* One option. `dest` holds the default before parsing; --help prints that value, so the
 * documented default is always the one the code uses. Numbers below `min` are usage errors
 * (set has_min). */
typedef struct {
    const char *lng;     /* "--oversample" */
    const char *shrt;    /* "-p", or NULL */
    cli_type type;
    void *dest;
    const char *metavar; /* "P" (NULL for flags) */
    const char *help;    /* one line */
    int required;        /* must be given (help shows "required" instead of a default) */
    int has_min;
    double min;
} cli_opt;

/* Options every command accepts (added to each command's table by cli_parse). */
typedef struct {
    uint64_t seed; /* --seed (default 0) */
    int threads;   /* --threads (default 0: APX_THREADS or the core count) */
    int json;      /* --json */
    int quiet;     /* --quiet */
} cli_common;

/* A command's description for the parser and its --help. */
typedef struct {
    const char *name;      /* "rsvd" */
    const char *usage;     /* "A.npy -k K [options]" */
    const char *summary;   /* one line */
    const char *details;   /* paragraph(s) printed after the options, or NULL */
    const char *seed_help; /* help for --seed, or NULL for the generic text */
    const cli_opt *opts;   /* command-specific options */
    int nopts;
    int min_pos, max_pos;  /* number of positional arguments */
} cli_spec;

#define CLI_PARSE_OK (-1)
/* Parse argv[1..argc) (argv[0] is the command name) against spec->opts plus the common
 * options; positional arguments go to pos[0..*npos). Returns CLI_PARSE_OK to continue,
 * CLI_EXIT_OK after printing --help (the caller returns it), or CLI_EXIT_USAGE after
 * printing the reason on stderr. Also applies --threads (apx_set_threads). */
int cli_parse(const cli_spec *spec, int argc, char **argv, cli_common *common,
              const char **pos, int *npos);
/* Print the command's help (usage, every option with its default) to `f`. */
void cli_print_help(const cli_spec *spec, FILE *f);

/* ---------------------------------------------------------------- JSON on stdout */

#define CLI_JSON_DEPTH 8
typedef struct {
    FILE *f;
    int depth;
    int count[CLI_JSON_DEPTH]; /* members written at each level */
} cli_json;

/* Start the top-level object "{"; cli_json_close writes "}\n". Keys are plain strings. */
void cli_json_open(cli_json *j, FILE *f);
void cli_json_close(cli_json *j);
void cli_json_str(cli_json *j, const char *key, const char *v);
void cli_json_num(cli_json *j, const char *key, double v); /* NaN/Inf -> null */
void cli_json_int(cli_json *j, const char *key, int64_t v);
void cli_json_bool(cli_json *j, const char *key, int v);
/* Nested containers: key may be NULL inside arrays. */
void cli_json_begin_obj(cli_json *j, const char *key);
void cli_json_begin_arr(cli_json *j, const char *key);
void cli_json_end_obj(cli_json *j);
void cli_json_end_arr(cli_json *j);
/* An array of numbers. */
void cli_json_num_arr(cli_json *j, const char *key, const double *v, int64_t n);

/* ---------------------------------------------------------------- progress and time */

/* A progress bar on stderr: drawn only when stderr is a terminal and not quiet. The
 * callback also cancels the work (returns 1) after SIGINT (Ctrl-C), so a long command
 * stops cleanly with APX_ECANCELED. */
typedef struct {
    int draw;         /* draw the bar */
    const char *cmd;  /* command name shown before the bar */
    int last_permil;  /* last drawn fraction, in 1/1000 */
    int drawn;        /* something is on the line */
} cli_progress;

/* Set up the bar for `cmd` and install the SIGINT handler; returns the library callback. */
apx_progress cli_progress_start(cli_progress *p, const char *cmd, int quiet);
/* Erase the bar (if drawn). */
void cli_progress_end(cli_progress *p);

double cli_now(void); /* seconds, monotonic */

/* ---------------------------------------------------------------- files */

/* Read a dense matrix from .npy, .npz (member `key`; may be NULL when the archive holds
 * one array), .mtx (coordinate files are densified with zeros) or .csv, chosen by the
 * extension through a table. Free with apx_dmat_free. APX_EFORMAT for an unknown
 * extension; APX_EINVAL when an .npz needs --key. */
apx_status cli_read_matrix(const char *path, const char *key, apx_dmat *out);

/* Observed entries for matrix completion: a Matrix Market coordinate file gives its
 * triplets; a dense input (.npy, .npz, .csv, .mtx array) gives every finite entry (NaN
 * marks a missing one; Inf is an error). Arrays are apx_malloc'd; free with
 * cli_entries_free. */
typedef struct {
    int64_t rows, cols, nnz;
    int64_t *ri, *ci;
    double *v;
} cli_entries;
apx_status cli_read_entries(const char *path, const char *key, cli_entries *out);
void cli_entries_free(cli_entries *e);

/* Extensions cli_read_matrix knows, for help texts: ".npy, .npz, .mtx, .csv". */
const char *cli_input_formats(void);

/* mkdir -p `dir`. APX_EIO with a message naming the folder on failure. */
apx_status cli_mkdirs(const char *dir);
/* Write matrix / vector `name` as DIR/name.npy (f64, atomic). */
apx_status cli_write_mat(const char *dir, const char *name, apx_dmat A);
apx_status cli_write_vec(const char *dir, const char *name, const double *x, int64_t n);

/* ---------------------------------------------------------------- small numerics */

/* ||A - U diag(s) Vt||_F for U (m,k), s (k), Vt (k,n) (row blocks, O(m n k)); also
 * ||A||_F in *normA when normA is non-NULL. Returns NaN on allocation failure. */
double cli_lowrank_error(apx_dmat A, apx_dmat U, const double *s, apx_dmat Vt,
                         double *normA);
/* Parse a comma-separated list of positive integers ("10,20,50") into out[0..max);
 * returns the count, or -1 if malformed. */
int cli_parse_int_list(const char *text, int64_t *out, int max);

/* ---------------------------------------------------------------- commands */

int cmd_info(int argc, char **argv);
int cmd_rsvd(int argc, char **argv);
int cmd_svd(int argc, char **argv);
int cmd_eig(int argc, char **argv);
int cmd_norm(int argc, char **argv);
int cmd_complete(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_optim(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_lstsq(int argc, char **argv);
int cmd_sketch(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_halpern(int argc, char **argv);
int cmd_constrained(int argc, char **argv);

int cmd_lasso(int argc, char **argv);
int cmd_enet(int argc, char **argv);
int cmd_mtrl(int argc, char **argv);
int cmd_sparse_code(int argc, char **argv);
int cmd_lightcurve(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_kernel_ridge(int argc, char **argv);
int cmd_random_features(int argc, char **argv);
#endif /* APX_CLI_H */
