"""Benchmark: apx kernels and random features against scikit-learn / NumPy on the same data,
plus the P068 and P078 catalog figures. Writes bench/results/kernels.json, prints markdown.

    python bench/bench_kernels.py [--quick] [--threads N] [--keep-env]

Rows (time of apx, time of the peer, ratio, max relative difference of the outputs):
  kernel matrix RBF (n x n)         vs sklearn.metrics.pairwise.rbf_kernel
  kernel ridge RBF fit + predict    vs sklearn.kernel_ridge.KernelRidge
  random features fit + predict     vs NumPy features + sklearn Ridge(solver="cholesky")
  ReLU NTK depth 10 matrix          vs the same recursion in NumPy
Catalog: P068 test RMSE of sin(30 x) by band A and features N; P078 Dirichlet errors.
"""
import argparse
import json
import sys
import time

sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__)))
from bench_common import HERE, REPO, environment, limit_threads, reexec_without_coretype  # noqa: E402

sys.path.insert(0, str(REPO / "python"))


def best(fn, reps):
    t, out = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def rel(a, b):
    import numpy as np
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def numpy_ntk(X, Z, L):
    import numpy as np
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    V = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    s = np.clip(U @ V.T, -1, 1)
    t = s.copy()
    for _ in range(L):
        th = np.arccos(s)
        r = (np.sqrt((1 - s) * (1 + s)) + (np.pi - th) * s) / np.pi
        t = t * (np.pi - th) / np.pi + r
        s = np.clip(r, -1, 1)
    return t


def speed_rows(q, reps):
    import numpy as np
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import Ridge
    from sklearn.metrics.pairwise import rbf_kernel

    from apx import kernels
    rng = np.random.default_rng(0)
    n, d, m = (1500, 20, 500) if q else (4000, 20, 2000)
    X, Xt = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=n)
    rows = []

    def add(name, fa, fp):
        ta, a = best(fa, reps)
        tp, p = best(fp, reps)
        rows.append({"task": name, "apx_s": ta, "peer_s": tp, "speedup": tp / ta,
                     "max_rel_diff": rel(a, p)})

    add(f"RBF kernel matrix {n}x{n}x{d}", lambda: kernels.kernel_matrix(X, kernel="rbf", gamma=0.05),
        lambda: rbf_kernel(X, gamma=0.05))
    add(f"kernel ridge RBF n={n}, predict {m}",
        lambda: kernels.KernelRidge("rbf", alpha=0.1, gamma=0.05).fit(X, y).predict(Xt),
        lambda: KernelRidge(alpha=0.1, kernel="rbf", gamma=0.05).fit(X, y).predict(Xt))
    N = 1000 if q else 2000
    rfm = kernels.RandomFeatures(N, band=1.0, lam=1e-3, seed=1)

    def peer_rf():
        W, b = rfm.weights_
        return Ridge(alpha=1e-3, fit_intercept=False, solver="cholesky").fit(
            np.tanh(X @ W.T - b), y).predict(np.tanh(Xt @ W.T - b))
    rfm.fit(X[:10], y[:10])  # draws the weights for d
    add(f"random features N={N}, n={n}, predict {m}", lambda: rfm.fit(X, y).predict(Xt), peer_rf)
    L = 10
    add(f"ReLU NTK depth {L}, {n}x{m}", lambda: kernels.ntk_kernel(X, Xt, depth=L),
        lambda: numpy_ntk(X, Xt, L))
    return rows


def p068_rows(q):
    import numpy as np

    from apx import kernels
    omega = 30.0
    x = np.linspace(-1, 1, 1000)[:, None]
    xt = np.random.default_rng(4).uniform(-1, 1, size=(500, 1))
    rows = []
    for kind, bands in (("uniform", (1, 2, 5, 10, 20, 30, 60)), ("gaussian", (10, 30))):
        for A in bands:
            row = {"kind": kind, "band": A}
            for N in ((500,) if q else (500, 2000)):
                rf = kernels.RandomFeatures(N, band=A, kind=kind, lam=1e-6, seed=21)
                rf.fit(x, np.sin(omega * x[:, 0]))
                row[f"rmse_N{N}"] = float(np.sqrt(np.mean((rf.predict(xt) -
                                                           np.sin(omega * xt[:, 0])) ** 2)))
            rows.append(row)
    return rows


def p078_rows(q):
    import numpy as np
    from scipy import stats

    from apx import kernels
    rng = np.random.default_rng(6)
    a1, a2 = np.array([0.5, 0.5, 2.5]), np.array([2.5, 0.1, 0.5])

    def sample(n):
        lab = np.where(rng.uniform(size=n) < 0.4, 1.0, -1.0)
        S = np.where(lab[:, None] > 0, rng.dirichlet(a1, n), rng.dirichlet(a2, n))
        return S / np.linalg.norm(S, axis=1, keepdims=True), lab, S

    Xt, yt, St = sample(3000)
    bayes = np.where(stats.dirichlet.pdf(St.T, a1) * 0.4 > stats.dirichlet.pdf(St.T, a2) * 0.6,
                     1.0, -1.0)
    rows = []
    for n in ((20, 200) if q else (20, 100, 400, 1600)):
        X, y, _ = sample(n)
        h = kernels.hilbert_estimate(X, y, Xt, 2.0)
        row = {"n": n, "bayes_err": float(np.mean(bayes != yt)), "hilbert_err": float(np.mean(h != yt)),
               "nn_err": float(np.mean(kernels.nearest_neighbor(X, y, Xt) != yt))}
        for kind in ("nngp", "ntk"):
            c = kernels.KernelRidge(kind, alpha=0.0, depth=50, activation="opt3").fit(X, y).classify(Xt)
            row[f"{kind}_opt3_err"] = float(np.mean(c != yt))
            row[f"{kind}_opt3_agree_hilbert"] = float(np.mean(c == h))
        rows.append(row)
    return rows


def markdown(res):
    """The tables of a result (also used by bench/run.py for bench/RESULTS.md)."""
    out = [f"load {res['environment'].get('loadavg')}, threads {res['threads']}", "",
           "| task | apx s | peer s | speed-up | max rel diff |", "|---|---|---|---|---|"]
    for r in res["speed"]:
        out.append(f"| {r['task']} | {r['apx_s']:.3f} | {r['peer_s']:.3f} | "
                   f"{r['speedup']:.2f}x | {r['max_rel_diff']:.1e} |")
    rk = [k for k in res["p068"][0] if k.startswith("rmse")]
    out += ["", "P068, sin(30 x): test RMSE", "", "| kind | band A | " + " | ".join(rk) + " |",
            "|---|---|" + "---|" * len(rk)]
    for r in res["p068"]:
        out.append(f"| {r['kind']} | {r['band']} | " +
                   " | ".join(f"{r[k]:.2e}" for k in rk) + " |")
    keys = [k for k in res["p078"][0] if k != "n"]
    out += ["", "P078, Dirichlet data on S^2, opt3 activation, depth 50, ridgeless", "",
            "| n | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for r in res["p078"]:
        out.append(f"| {r['n']} | " + " | ".join(f"{r[k]:.4f}" for k in keys) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep-env", action="store_true")
    a = ap.parse_args()
    reexec_without_coretype(a.keep_env)
    limit_threads(a.threads, "apx")
    import sklearn
    reps = 1 if a.quick else 3
    res = {"environment": environment({"sklearn": sklearn}), "threads": a.threads,
           "speed": speed_rows(a.quick, reps), "p068": p068_rows(a.quick), "p078": p078_rows(a.quick)}
    out = HERE / "results" / "kernels.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(markdown(res))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
