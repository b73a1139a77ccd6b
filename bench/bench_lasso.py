#!/usr/bin/env python3
"""bench/bench_lasso.py: apx.lasso against scikit-learn's Lasso on the same data, in one run.

Data: X (20000 x 1000) double, Gaussian columns, independent ("indep") and AR(1)-correlated
with rho = 0.9 ("corr"); y = X w* + N(0,1) with 50 random non-zeros in w*. alpha is chosen
by bisection (with apx, before any timing) so the solution has about 50 non-zeros.

Both sides fit an intercept, start from zero and stop at the same duality-gap rule,
scikit-learn's: gap <= tol * ||y - mean||^2 / n with tol = 1e-6 (scikit-learn tests it only
when the largest coordinate change is below tol, so it may stop at a smaller gap). Nothing is
precomputed outside the timed call. Rows:
  apx-auto       apx.lasso, solver auto (covariance updates on the working set)
  apx-naive      apx.lasso, solver residual (naive updates on contiguous columns)
  sklearn        Lasso(precompute=False), scikit-learn's default (naive updates, screening)
  sklearn-gram   Lasso(precompute=True) (covariance updates on the full Gram)
Each row runs in its own process at --threads (default 2) threads; the median of --repeats
timed calls after one warm-up call is reported, with the duality gap reached (dual_gap_ for
scikit-learn), the non-zeros, the objective, and the support compared with sklearn's.

Environment: scikit-learn runs with OPENBLAS_CORETYPE unset (a value pinned to Haswell
slows NumPy's OpenBLAS on AVX-512 machines; apx picks its kernels itself), so the script
re-executes itself without it unless --keep-env.

Sparse case ("sparse"): X (50000 x 5000) CSR at 0.5% density (standard normal values),
y = X w* + 0.1 N(0,1) with 50 random non-zeros in w*, alpha by bisection for about 50
non-zeros; both sides get the same scipy.sparse CSR matrix (apx: apx.lasso on the CSR
arrays, the intercept by implicit centring, never densified; scikit-learn: Lasso on the
csr_matrix, which centres implicitly too), same tolerance and gap rule. Rows apx-auto,
apx-naive and sklearn (scikit-learn's precompute=True is not used for sparse input).

Output: bench/results/lasso.json and a markdown table on stdout. --quick: 4000 x 400 (sparse:
10000 x 1000 at 2%) into $TMPDIR/apx-bench-quick/ (a smoke test; bench/results is left
alone). --sparse-only runs only the sparse case and merges it into the existing JSON.

Usage: python bench/bench_lasso.py [--quick] [--sparse-only] [--threads 2] [--repeats 3]
       [--keep-env]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_common import HERE, REPO, environment as _environment, limit_threads, \
    reexec_without_coretype
TOL = 1e-6


# ====================================================================== worker side


def _objective(X, y, coef, b, alpha):
    r = y - X @ coef - b
    return float(r @ r / (2 * len(y)) + alpha * np.abs(coef).sum())


def _fit(impl, X, y, alpha):
    """One timed call; returns (seconds, coef, intercept, gap)."""
    if impl.startswith("apx"):
        from apx import sparse
        solver = "auto" if impl == "apx-auto" else "residual"
        t = time.perf_counter()
        coef, b, info = sparse.lasso(X, y, alpha, tol=TOL, solver=solver)
        return time.perf_counter() - t, coef, b, info["gap"], info
    import warnings

    from sklearn.linear_model import Lasso
    m = Lasso(alpha=alpha, tol=TOL, max_iter=100000, precompute=impl == "sklearn-gram")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        m.fit(X, y)
        dt = time.perf_counter() - t
    return dt, m.coef_, float(m.intercept_), float(m.dual_gap_), {"n_iter": int(m.n_iter_)}


def worker(args):
    limit_threads(args.threads, args.impl)
    d = np.load(args.data)
    y, alpha = d["y"], float(d["alpha"])
    if "X_data" in d:
        import scipy.sparse as sp
        X = sp.csr_matrix((d["X_data"], d["X_indices"], d["X_indptr"]), shape=tuple(d["X_shape"]))
    else:
        X = np.ascontiguousarray(d["X"])
    _fit(args.impl, X[:500, :100].copy(), y[:500], alpha)  # imports, BLAS buffers
    times = []
    for _ in range(args.repeats):
        dt, coef, b, gap, extra = _fit(args.impl, X, y, alpha)
        times.append(dt)
    out = {"impl": args.impl, "seconds": float(np.median(times)), "all_seconds": times,
           "gap": gap, "gap_tol": TOL * float(np.sum((y - y.mean()) ** 2)) / len(y),
           "nnz": int(np.count_nonzero(coef)), "objective": _objective(X, y, coef, b, alpha),
           "support": np.flatnonzero(coef).tolist(),
           "extra": {k: v if isinstance(v, (int, float, str, bool)) else str(v)
                     for k, v in extra.items()}}
    try:
        from threadpoolctl import threadpool_info
        out["pools"] = [{k: p.get(k) for k in ("internal_api", "version", "num_threads",
                                               "architecture")} for p in threadpool_info()]
    except ImportError:
        pass
    print(json.dumps(out))


# ====================================================================== driver side


def make_data(n, p, rho, k, seed):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    if rho > 0:
        X = np.empty_like(Z)
        X[:, 0] = Z[:, 0]
        c = np.sqrt(1 - rho * rho)
        for j in range(1, p):
            X[:, j] = rho * X[:, j - 1] + c * Z[:, j]
    else:
        X = Z
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.standard_normal(k)
    y = X @ w + rng.standard_normal(n)
    return X, y


def make_sparse_data(n, p, density, k, seed):
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csr", random_state=seed,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.standard_normal(k)
    y = X @ w + 0.1 * rng.standard_normal(n)
    return X, y


def pick_alpha(X, y, target):
    """alpha with about `target` non-zeros, by bisection on log(alpha) with apx (loose tol)."""
    from apx import sparse
    yc = y - y.mean()  # Xc^T yc = X^T yc since yc sums to zero (dense or sparse X)
    amax = float(np.max(np.abs(X.T @ yc)) / len(y))
    lo, hi, best = np.log(amax * 1e-4), np.log(amax), amax
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        coef, _, _ = sparse.lasso(X, y, float(np.exp(mid)), tol=1e-4)
        nnz = np.count_nonzero(coef)
        best = float(np.exp(mid))
        if nnz == target:
            break
        lo, hi = (mid, hi) if nnz > target else (lo, mid)
    return best


def run_impl(impl, data, threads, repeats, env):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", impl, "--data", str(data),
           "--threads", str(threads), "--repeats", str(repeats)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return {"impl": impl, "error": r.stderr.strip()[-2000:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def environment():
    import sklearn
    return _environment({"sklearn": sklearn})

def markdown(res):
    lines = [f"Lasso, {res['n']} x {res['p']}, ~{res['k']} non-zeros, tol {TOL} "
             f"(scikit-learn's gap rule), {res['threads']} threads", "",
             "| data | impl | seconds | speedup vs sklearn | gap | gap tol | nnz | "
             "same support as sklearn | objective - sklearn's |",
             "|---|---|---|---|---|---|---|---|---|"]
    for case in res["cases"]:
        rows = {r["impl"]: r for r in case["rows"]}
        sk = rows.get("sklearn", {})
        for impl, r in rows.items():
            if "error" in r:
                lines.append(f"| {case['name']} | {impl} | error | | | | | | |")
                continue
            sp = sk.get("seconds", float("nan")) / r["seconds"]
            same = set(r["support"]) == set(sk.get("support", []))
            name = case["name"] if "density" not in case else \
                f"sparse {case['n']}x{case['p']} @{case['density']:.1%}"
            lines.append(f"| {name} | {impl} | {r['seconds']:.3f} | {sp:.1f}x | "
                         f"{r['gap']:.2e} | {r['gap_tol']:.2e} | {r['nnz']} | {same} | "
                         f"{r['objective'] - sk.get('objective', float('nan')):.1e} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep-env", action="store_true")
    ap.add_argument("--sparse-only", action="store_true")
    ap.add_argument("--worker")
    ap.add_argument("--data")
    ap.add_argument("--impl")
    args = ap.parse_args()
    if args.worker:
        args.impl = args.worker
        return worker(args)
    reexec_without_coretype(args.keep_env)
    sys.path.insert(0, str(REPO / "python"))
    n, p, k = (4000, 400, 20) if args.quick else (20000, 1000, 50)
    outdir = Path(tempfile.gettempdir()) / "apx-bench-quick" if args.quick else HERE / "results"
    outdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "python") + os.pathsep + env.get("PYTHONPATH", "")
    res = {"benchmark": "lasso", "n": n, "p": p, "k": k, "tol": TOL, "threads": args.threads,
           "repeats": args.repeats, "environment": environment(), "cases": []}
    if args.sparse_only and (outdir / "lasso.json").exists():
        old = json.loads((outdir / "lasso.json").read_text())
        res["cases"] = [c for c in old.get("cases", []) if c["name"] != "sparse"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, rho in [] if args.sparse_only else [("indep", 0.0), ("corr", 0.9)]:
            X, y = make_data(n, p, rho, k, seed=1 if rho == 0 else 2)
            alpha = pick_alpha(X, y, k)
            data = Path(tmp) / f"{name}.npz"
            np.savez(data, X=X, y=y, alpha=alpha)
            rows = [run_impl(impl, data, args.threads, args.repeats, env)
                    for impl in ["apx-auto", "apx-naive", "sklearn", "sklearn-gram"]]
            res["cases"].append({"name": name, "rho": rho, "alpha": alpha, "rows": rows})
        sn, sp_, dens = (10000, 1000, 0.02) if args.quick else (50000, 5000, 0.005)
        X, y = make_sparse_data(sn, sp_, dens, 50, seed=3)
        alpha = pick_alpha(X, y, 50)
        data = Path(tmp) / "sparse.npz"
        np.savez(data, X_data=X.data, X_indices=X.indices, X_indptr=X.indptr,
                 X_shape=np.array(X.shape), y=y, alpha=alpha)
        rows = [run_impl(impl, data, args.threads, args.repeats, env)
                for impl in ["apx-auto", "apx-naive", "sklearn"]]
        res["cases"].append({"name": "sparse", "n": sn, "p": sp_, "density": dens,
                             "nnz_X": int(X.nnz), "alpha": alpha, "rows": rows})
    try:
        res["environment"]["loadavg_after"] = os.getloadavg()
    except OSError:
        pass
    (outdir / "lasso.json").write_text(json.dumps(res, indent=1))
    print(markdown(res))
    print(f"\nwrote {outdir / 'lasso.json'}")


if __name__ == "__main__":
    main()
