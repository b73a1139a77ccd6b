"""Halpern iteration (P011) and the augmented-Lagrangian Newton method (P073): apx against its
baselines and SciPy on the same data, in one run.

Cases:
  halpern-lstsq     finite-sum least squares (rows a_i = g_i + u, n components, d = 20), tol
                    = ||F(0)|| / 300: variance-reduced (PAGE) against deterministic Halpern:
                    component evaluations and seconds (the built-in C operator);
  halpern-bilinear  bilinear finite-sum saddle (B_i = B_0 + 0.3 E_i, p = q = 10), tol =
                    ||F(0)|| / 100: SVRG-FBF against deterministic FBF resolvents;
  alm-logreg        equality-constrained logistic regression (N samples, d = 20, m = 5,
                    reg 0.1): apx ALM Newton (sketch-and-project, Kaczmarz, LU inner solves,
                    built-in C problem) against scipy.optimize.minimize SLSQP and trust-constr
                    with NumPy callbacks; KKT residual and distance to the LU solution.
Single-threaded on both sides. Output: bench/results/solve.json and a markdown table.
Usage: python bench/bench_solve.py [--quick]
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "python"))

from bench_common import environment, limit_threads, reexec_without_coretype  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def halpern_cases(n, rows):
    import numpy as np
    from apx import solvers
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, 20)) + rng.standard_normal(20)
    b = rng.standard_normal(n)
    b *= 0.03 / (np.linalg.norm(A.T @ b) / n)
    for vr in (False, True):
        t, (x, info) = timed(lambda: solvers.halpern(lstsq=(A, b, n), tol=1e-4,
                                                     variance_reduced=vr, max_evals=10 ** 9))
        rows.append({"case": f"halpern-lstsq n={n}", "impl": "apx PAGE" if vr else
                     "apx deterministic", "seconds": t, "evaluations": info["evaluations"],
                     "residual": info["residual"]})
    B = rng.standard_normal((10, 10)) + 0.3 * rng.standard_normal((n, 10, 10))
    a, c = rng.standard_normal((n, 10)), rng.standard_normal((n, 10))
    F0 = np.linalg.norm(np.concatenate([a.mean(0), c.mean(0)]))
    a, c = a * 0.01 / F0, c * 0.01 / F0
    for vr in (False, True):
        t, (x, info) = timed(lambda: solvers.halpern(bilinear=(B, a, c), setting="monotone",
                                                     tol=1e-4, variance_reduced=vr,
                                                     max_evals=10 ** 9))
        rows.append({"case": f"halpern-bilinear n={n}", "impl": "apx SVRG-FBF" if vr else
                     "apx deterministic FBF", "seconds": t, "evaluations": info["evaluations"],
                     "residual": info["residual"]})


def alm_case(N, rows):
    import numpy as np
    import scipy.optimize as opt
    from apx import solvers
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, 20))
    w0 = rng.standard_normal(20)
    y = np.where(X @ w0 + rng.standard_normal(N) >= 0, 1.0, -1.0)
    C = rng.standard_normal((5, 20))
    e = 0.5 * C @ w0
    reg = 0.1

    def f(w):
        return np.mean(np.logaddexp(0, -y * (X @ w))) + 0.5 * reg * w @ w

    def g(w):
        return -(X.T @ (y / (1 + np.exp(y * (X @ w))))) / N + reg * w

    def H(w):
        s = 1 / (1 + np.exp(-(X @ w)))
        return (X.T * (s * (1 - s))) @ X / N + reg * np.eye(20)

    def kkt(w):
        lam = np.linalg.lstsq(C.T, -g(w), rcond=None)[0]
        return np.linalg.norm(np.concatenate([g(w) + C.T @ lam, C @ w - e]))

    _, (ref, _, _) = timed(lambda: solvers.alm_logreg(X, y, C, e, reg=reg, inner="direct"))
    for inner in ("sketch", "kaczmarz", "direct"):
        t, (w, lam, info) = timed(lambda: solvers.alm_logreg(X, y, C, e, reg=reg, inner=inner))
        rows.append({"case": f"alm-logreg N={N}", "impl": f"apx ALM ({inner})", "seconds": t,
                     "iterations": info["iterations"], "kkt": kkt(w),
                     "dist_lu": float(np.linalg.norm(w - ref))})
    con = {"type": "eq", "fun": lambda w: C @ w - e, "jac": lambda w: C}
    t, r = timed(lambda: opt.minimize(f, np.zeros(20), jac=g, constraints=[con], method="SLSQP",
                                      options={"ftol": 1e-15, "maxiter": 1000}))
    rows.append({"case": f"alm-logreg N={N}", "impl": "scipy SLSQP", "seconds": t,
                 "iterations": int(r.nit), "kkt": kkt(r.x), "dist_lu": float(np.linalg.norm(r.x - ref))})
    t, r = timed(lambda: opt.minimize(f, np.zeros(20), jac=g, hess=H,
                                      constraints=[opt.LinearConstraint(C, e, e)],
                                      method="trust-constr",
                                      options={"gtol": 1e-10, "xtol": 1e-15, "maxiter": 5000}))
    rows.append({"case": f"alm-logreg N={N}", "impl": "scipy trust-constr", "seconds": t,
                 "iterations": int(r.nit), "kkt": kkt(r.x), "dist_lu": float(np.linalg.norm(r.x - ref))})


def table(rows):
    out = ["| case | implementation | seconds | evaluations / iterations | residual / KKT | "
           "dist to LU |", "|---|---|---|---|---|---|"]
    for r in rows:
        work = r.get("evaluations", r.get("iterations"))
        acc = r.get("residual", r.get("kkt"))
        dist = f"{r['dist_lu']:.1e}" if "dist_lu" in r else ""
        out.append(f"| {r['case']} | {r['impl']} | {r['seconds']:.3f} | {work} | {acc:.2e} | "
                   f"{dist} |")
    return "\n".join(out)


def markdown(res):
    """The table of a result (used by bench/run.py for bench/RESULTS.md)."""
    return table(res["rows"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--keep-env", action="store_true", help="keep OPENBLAS_CORETYPE")
    args = ap.parse_args()
    reexec_without_coretype(args.keep_env)
    limit_threads(1, "apx")
    import scipy
    rows = []
    for n in ((1000,) if args.quick else (1000, 4000)):
        halpern_cases(n, rows)
    for N in ((200,) if args.quick else (200, 5000)):
        alm_case(N, rows)
    res = {"environment": environment({"scipy": scipy}), "rows": rows}
    out = HERE / "results" / "solve.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(table(rows))
    print(f"\nload average {os.getloadavg()}; results in {out}")


if __name__ == "__main__":
    main()
