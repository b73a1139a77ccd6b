"""Nonlinear least squares and explainers: apx against scipy.optimize.least_squares(method="lm")
and Captum on the same data, in one run.

Cases:
  lm-callbacks  the same Python residual and Jacobian callables (double-exponential decay,
                m points, 5 parameters) given to apx.least_squares and scipy's lm: the
                optimizer's own cost (both call back into Python for every evaluation);
  nav           the NAV light-curve fit of P085 (synthetic Algol, n points): apx.nav_fit
                end to end (C model, analytic Jacobian, grid start) against scipy's lm on a
                NumPy model with forward differences from a generic start read off the data;
  ig            integrated gradients (256 midpoints) of a small tanh MLP in PyTorch: apx
                with a batched gradient callback against Captum (when installed).
Single-threaded on both sides. Output: bench/results/nonlinear.json and a markdown table.
Usage: python bench/bench_nonlinear.py [--quick]
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


def best_of(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def lm_case(m, repeats):
    import numpy as np
    from scipy.optimize import least_squares as sp_ls

    import apx.nonlinear as nl
    sys.path.insert(0, str(HERE.parent / "python" / "tests"))
    from test_nonlinear import decay_problem  # the problem the tests check against scipy
    _, fun, jac, x0 = decay_problem(m)
    ta, (xa, ia) = best_of(lambda: nl.least_squares(fun, x0, jac=jac), repeats)
    ts, rs = best_of(lambda: sp_ls(fun, x0, jac=jac, method="lm"), repeats)
    return {"case": f"lm-callbacks m={m}", "apx_s": ta, "peer_s": ts, "peer": "scipy lm",
            "apx_cost": ia["cost"], "peer_cost": float(rs.cost), "apx_nfev": ia["nfev"],
            "peer_nfev": int(rs.nfev), "max_rel_x_diff": float(np.max(np.abs(xa - rs.x) /
                                                                    np.abs(rs.x)))}


def nav_case(n, repeats):
    import numpy as np
    from scipy.optimize import least_squares as sp_ls

    import apx.nonlinear as nl
    truth = np.array([10.0, 0.02, 0.005, 0.012, -0.003, 0.8, 0.15, 0.05, 1.6, 1.3, 2.5, 1000.3])
    rng = np.random.default_rng(1)
    t = np.sort(1000 + 100 * rng.random(n))
    y = nl.nav_model(t, truth) + 0.01 * rng.standard_normal(n)

    def resid(q):
        full = truth.copy()
        full[:10] = q
        u = (t - full[11]) / full[10]
        f1, f2 = u - np.round(u), (u - 0.5) - np.round(u - 0.5)

        def H(z, b):
            a = np.abs(z)
            return np.where(a < 1, np.clip(1 - a ** b, 0, None) ** 1.5, 0.0)

        w = 2 * np.pi * u
        return (q[0] + q[1] * np.cos(w) + q[2] * np.sin(w) + q[3] * np.cos(2 * w)
                + q[4] * np.sin(2 * w) + q[5] * H(f1 / q[7], q[8]) + q[6] * H(f2 / q[7], q[9])
                - y)

    med = np.median(y)
    q0 = np.array([med, 0, 0, 0, 0, y.max() - med, 0.2 * (y.max() - med), 0.08, 2.0, 2.0])
    ta, (p, err, info) = best_of(lambda: nl.nav_fit(t, y, 2.5, 1000.3), repeats)
    ts, rs = best_of(lambda: sp_ls(resid, q0, method="lm"), repeats)
    return {"case": f"nav n={n}", "apx_s": ta, "peer_s": ts, "peer": "scipy lm (2-point)",
            "apx_cost": info["chi2"] / 2, "peer_cost": float(rs.cost),
            "apx_nfev": info["lm"]["nfev"], "peer_nfev": int(rs.nfev),
            "max_rel_x_diff": float(np.max(np.abs(p[:10] - rs.x) / np.abs(rs.x)))}


def ig_case(repeats):
    import numpy as np
    try:
        import torch
        from captum.attr import IntegratedGradients
    except ImportError:
        return None
    import apx.nonlinear as nl
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    W1 = torch.randn(64, 32, generator=g, dtype=torch.float64)
    w2 = torch.randn(64, generator=g, dtype=torch.float64)

    def net(X):
        return torch.tanh(X @ W1.T) @ w2

    f, grad = nl.torch_callbacks(net)
    x0 = np.linspace(-1, 1, 32)
    ig = IntegratedGradients(net)
    ta, (w, _) = best_of(lambda: nl.explain(f, x0, "ig", grad=grad, ig_steps=256), repeats)
    ts, ref = best_of(lambda: ig.attribute(torch.tensor(x0[None]), n_steps=256,
                                           method="riemann_middle").numpy()[0], repeats)
    return {"case": "ig d=32 steps=256", "apx_s": ta, "peer_s": ts, "peer": "captum",
            "max_rel_x_diff": float(np.max(np.abs(w - ref)) / np.max(np.abs(ref)))}


def markdown(rows):
    """A table of the rows (a list), or of a whole result {"results": rows, ...} (as
    bench/run.py passes it for bench/RESULTS.md)."""
    if isinstance(rows, dict):
        rows = rows["results"]
    lines = ["| case | apx s | peer | peer s | speed-up | apx cost | peer cost | nfev apx/peer | max rel diff |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['apx_s']:.4f} | {r['peer']} | {r['peer_s']:.4f} | "
                     f"{r['peer_s'] / r['apx_s']:.1f}x | {r.get('apx_cost', float('nan')):.6g} | "
                     f"{r.get('peer_cost', float('nan')):.6g} | {r.get('apx_nfev', '-')}/"
                     f"{r.get('peer_nfev', '-')} | {r['max_rel_x_diff']:.1e} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    ap.add_argument("--keep-env", action="store_true", help="keep OPENBLAS_CORETYPE")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    reexec_without_coretype(args.keep_env)
    limit_threads(1, "apx")
    repeats = 1 if args.quick else 5
    rows = [lm_case(2000 if args.quick else 20000, repeats),
            nav_case(400, repeats), nav_case(4000 if args.quick else 40000, repeats)]
    r = ig_case(repeats)
    if r:
        rows.append(r)
    import scipy
    env = environment({"scipy": scipy})
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "nonlinear.json").write_text(json.dumps({"env": env, "threads": 1,
                                                        "results": rows}, indent=1))
    print(markdown(rows))
    print(f"\nload average {os.getloadavg()}; wrote {outdir / 'nonlinear.json'}")


if __name__ == "__main__":
    main()
