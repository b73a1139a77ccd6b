#!/usr/bin/env python3
"""bench/bench_sampling.py: row sampling against uniform sampling at equal sample size (P007).

Matrices (N x d, b = A x0 + noise):
  coherent    Gaussian rows, the last column non-zero only in two heavy rows (x0 = 20 there),
              and three more rows scaled by 30: a sample that misses the heavy rows cannot
              fit the last coefficient;
  incoherent  plain Gaussian rows (uniform sampling is near optimal).
l_2 regression: uniform vs exact and approximate leverage-score sampling (weights 1/q); the
error is the relative excess cost (|A x - b|^2 - OPT) / OPT, OPT by numpy.linalg.lstsq.
l_1 regression: uniform vs exact l_1 sensitivity, l_1 Lewis-weight and root-leverage
sampling of [A b] (weights 1/q), solved exactly on the sample by apx's certified simplex;
cost ratio |A x - b|_1 / OPT, OPT by apx on all rows (checked against
scipy.optimize.linprog when SciPy is present). Several m, the median over --trials seeds;
"ratio" columns: uniform's error (or cost ratio) / the method's at equal m.
The score computations (sensitivities, Lewis weights, leverage) are timed once per matrix.

Environment: numpy runs with OPENBLAS_CORETYPE unset (see bench_common.py) unless
--keep-env. Output: bench/results/sampling.json and markdown tables on stdout; --quick: small
sizes into $TMPDIR/apx-bench-quick/ (bench/results is left alone).

Usage: python bench/bench_sampling.py [--quick] [--trials 11] [--threads 2] [--keep-env]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_common import HERE, REPO, environment, limit_threads, reexec_without_coretype

sys.path.insert(0, str(REPO / "python"))


def make(kind, N, d, seed=0):
    g = np.random.default_rng(seed)
    A = g.standard_normal((N, d))
    x0 = np.ones(d)
    if kind == "coherent":
        A[:, -1] = 0
        A[:2, -1] = 50 + g.standard_normal(2)
        A[2:5] *= 30
        x0[-1] = 20
    return A, A @ x0 + g.laplace(size=N)


def timed(f, *a, **k):
    t = time.perf_counter()
    r = f(*a, **k)
    return r, time.perf_counter() - t


def medians(sk, scores, ms, trials, measure):
    """For each m and each score vector: the median over seeds of measure(idx, weights) of
    the independent sample (q = min(1, m s / sum s), weights 1/q)."""
    rows = []
    for m in ms:
        row = {"m": m}
        for name, sc in scores.items():
            vals = [measure(*sk.sample_rows(sc, m, seed=t)) for t in range(trials)]
            row[name] = float(np.median(vals))
        rows.append(row)
    return rows


def l2_case(sk, A, b, ms, trials):
    N = A.shape[0]
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    opt = np.sum((A @ x - b) ** 2)
    scores = {"uniform": np.ones(N)}
    scores["leverage"], t_lev = timed(sk.leverage_scores, A)
    scores["approx-leverage"], t_alev = timed(sk.leverage_scores, A, method="approx")
    def err(idx, wt):
        sw = np.sqrt(wt)
        xs = np.linalg.lstsq(A[idx] * sw[:, None], b[idx] * sw, rcond=None)[0]
        return np.sum((A @ xs - b) ** 2) / opt - 1

    rows = medians(sk, scores, ms, trials, err)
    for row in rows:
        for name in ("leverage", "approx-leverage"):
            row[f"ratio_{name}"] = row["uniform"] / max(row[name], 1e-300)
    return {"seconds_scores": {"leverage": t_lev, "approx-leverage": t_alev}, "rows": rows}


def l1_case(sk, A, b, ms, trials):
    N = A.shape[0]
    C = np.c_[A, b]
    (x_all, inf), t_opt = timed(sk.sampled_lp_regression, A, b, 1.0, m=N, method="uniform")
    opt = inf["cost"]
    out = {"opt": opt, "seconds_opt_apx": t_opt}
    try:
        from scipy.optimize import linprog
        from scipy.sparse import bmat, eye, csr_matrix
        d = A.shape[1]
        Ab = csr_matrix(A)
        Aub = bmat([[Ab, -eye(N)], [-Ab, -eye(N)]], format="csr")
        r, t_lp = timed(linprog, np.r_[np.zeros(d), np.ones(N)], A_ub=Aub,
                          b_ub=np.r_[b, -b], bounds=[(None, None)] * d + [(0, None)] * N,
                          method="highs")
        out.update({"opt_linprog": float(r.fun), "seconds_opt_linprog": t_lp,
                    "opt_rel_diff": abs(r.fun - opt) / opt})
    except ImportError:
        pass
    scores = {"uniform": np.ones(N)}
    (scores["sensitivity"], sinfo), t_s = timed(sk.lp_sensitivities, C, 1.0, return_info=True)
    scores["lewis"], t_l = timed(sk.lewis_weights, C, 1.0)
    scores["root-leverage"], t_r = timed(sk.sensitivity_bounds, C, 1.0, "root-leverage")
    out["total_sensitivity"] = sinfo["total"]
    out["seconds_scores"] = {"sensitivity": t_s, "lewis": t_l, "root-leverage": t_r}
    def cost(idx, wt):
        xs, _ = sk.sampled_lp_regression(A[idx] * wt[:, None], b[idx] * wt, 1.0, m=len(idx),
                                         method="uniform")
        return np.abs(A @ xs - b).sum() / opt

    rows = medians(sk, scores, ms, trials, cost)
    for row in rows:
        for name in ("sensitivity", "lewis", "root-leverage"):
            row[f"ratio_{name}"] = (row["uniform"] - 1) / max(row[name] - 1, 1e-300)
    out["rows"] = rows
    return out


def table_l2(kind, res):
    out = [f"### l2 regression, {kind}: median relative excess cost (uniform / method)", "",
           "| m | uniform | leverage | approx-leverage | ratio lev | ratio approx |",
           "|---|---|---|---|---|---|"]
    for r in res["rows"]:
        out.append(f"| {r['m']} | {r['uniform']:.3g} | {r['leverage']:.3g} | "
                   f"{r['approx-leverage']:.3g} | {r['ratio_leverage']:.2f} | "
                   f"{r['ratio_approx-leverage']:.2f} |")
    return "\n".join(out) + "\n"


def table_l1(kind, res):
    out = [f"### l1 regression, {kind}: median cost / OPT (S = {res['total_sensitivity']:.2f}; "
           f"ratio = uniform excess / method excess)", "",
           "| m | uniform | sensitivity | lewis | root-leverage | ratio sens | ratio lewis | "
           "ratio root |", "|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        out.append(f"| {r['m']} | {r['uniform']:.4f} | {r['sensitivity']:.4f} | "
                   f"{r['lewis']:.4f} | {r['root-leverage']:.4f} | "
                   f"{r['ratio_sensitivity']:.2f} | {r['ratio_lewis']:.2f} | "
                   f"{r['ratio_root-leverage']:.2f} |")
    return "\n".join(out) + "\n"


def markdown(res):
    """The tables of a result (also used by bench/run.py for bench/RESULTS.md)."""
    head = (f"Row sampling against uniform sampling at equal sample sizes: A {res['N']} x "
            f"{res['d']}, medians over {res['trials']} trials, {res['threads']} threads.\n")
    parts = [head]
    for kind, c in res["cases"].items():
        parts += [table_l2(kind, c["l2"]), table_l1(kind, c["l1"])]
    return "\n".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--trials", type=int, default=11)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep-env", action="store_true")
    args = ap.parse_args()
    reexec_without_coretype(args.keep_env)
    limit_threads(args.threads, "apx")
    from apx import sketching as sk
    if args.quick:
        N, d, ms2, ms1, trials = 1000, 5, [50, 100], [40, 80], 3
        out_dir = Path(tempfile.gettempdir()) / "apx-bench-quick"
    else:
        N, d, ms2, ms1, trials = 4000, 10, [100, 200, 400, 800], [100, 200, 400], args.trials
        out_dir = HERE / "results"
    res = {"N": N, "d": d, "trials": trials, "threads": args.threads, "cases": {}}
    for kind in ("coherent", "incoherent"):
        A, b = make(kind, N, d)
        res["cases"][kind] = {"l2": l2_case(sk, A, b, ms2, trials),
                              "l1": l1_case(sk, A, b, ms1, trials)}
        print(table_l2(kind, res["cases"][kind]["l2"]))
        print(table_l1(kind, res["cases"][kind]["l1"]))
    res["environment"] = environment({})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "sampling.json"
    path.write_text(json.dumps(res, indent=1))
    print(f"\nwrote {path} (load average {os.getloadavg()})")


if __name__ == "__main__":
    main()
