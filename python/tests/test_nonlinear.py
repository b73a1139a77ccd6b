"""apx.nonlinear: Levenberg-Marquardt against scipy.optimize.least_squares(method="lm") on the
same problems, the NAV light-curve fit against scipy with an independent NumPy model, TP fits
against numpy.linalg.lstsq, and the explainers against exact Shapley values, autograd
gradients (PyTorch) and Captum when installed."""
import itertools
import math

import numpy as np
import pytest

from apx import nonlinear as nl
from apx._lib import Error, Status

scipy_opt = pytest.importorskip("scipy.optimize")

# ====================================================================== problems (Moré-Garbow-Hillstrom)

_BARD_Y = np.array([0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96,
                    1.34, 2.10, 4.39])
_KO_Y = np.array([0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323,
                  0.0235, 0.0246])
_KO_U = np.array([4, 2, 1, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625])
_OS_Y = np.array([0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751,
                  0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490,
                  0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406])


def rosenbrock(x):
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


def rosenbrock_jac(x):
    return np.array([[-20 * x[0], 10], [-1, 0]])


def bard(x):
    u = np.arange(1, 16)
    v, w = 16 - u, np.minimum(u, 16 - u)
    return _BARD_Y - (x[0] + u / (v * x[1] + w * x[2]))


def kowalik_osborne(x):
    u = _KO_U
    return _KO_Y - x[0] * (u ** 2 + u * x[1]) / (u ** 2 + u * x[2] + x[3])


def osborne1(x):
    t = 10.0 * np.arange(33)
    return _OS_Y - (x[0] + x[1] * np.exp(-t * x[3]) + x[2] * np.exp(-t * x[4]))


PROBLEMS = [("rosenbrock", rosenbrock, rosenbrock_jac, [-1.2, 1.0]),
            ("bard", bard, None, [1.0, 1.0, 1.0]),
            ("kowalik_osborne", kowalik_osborne, None, [0.25, 0.39, 0.415, 0.39]),
            ("osborne1", osborne1, None, [0.5, 1.5, -1.0, 0.01, 0.02])]


@pytest.mark.parametrize("name,fun,jac,x0", PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_lm_matches_scipy(name, fun, jac, x0):
    tol = dict(ftol=1e-12, xtol=1e-12, gtol=1e-12)
    ref = scipy_opt.least_squares(fun, x0, jac=jac if jac else "2-point", method="lm", **tol)
    x, info = nl.least_squares(fun, x0, jac=jac, **tol)
    assert info["cost"] == pytest.approx(ref.cost, rel=1e-9, abs=1e-20)
    np.testing.assert_allclose(x, ref.x, rtol=1e-5, atol=1e-8)
    assert info["status"] in (1, 2, 3, 4)


def decay_problem(m=80, seed=0):
    """A double-exponential decay with noise: (t, fun, jac, x0), 5 parameters (also used by
    bench/bench_nonlinear.py)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 8, m)
    y = 2.0 * np.exp(-0.6 * t) + 0.4 * np.exp(-3.0 * t) + 0.1 + 0.01 * rng.standard_normal(m)

    def fun(p):
        return p[0] * np.exp(-p[1] * t) + p[2] * np.exp(-p[3] * t) + p[4] - y

    def jac(p):
        e1, e3 = np.exp(-p[1] * t), np.exp(-p[3] * t)
        return np.column_stack([e1, -p[0] * t * e1, e3, -p[2] * t * e3, np.ones_like(t)])

    return t, fun, jac, [1.0, 0.3, 1.0, 2.0, 0.0]


def test_lm_exponential_fit_and_covariance_match_scipy():
    t, fun, jac, x0 = decay_problem()
    ref = scipy_opt.least_squares(fun, x0, jac=jac, method="lm", ftol=1e-14, xtol=1e-14,
                                  gtol=1e-14)
    x, info = nl.least_squares(fun, x0, jac=jac, ftol=1e-14, xtol=1e-14, gtol=1e-14)
    np.testing.assert_allclose(x, ref.x, rtol=1e-7)
    J = ref.jac
    s2 = 2 * ref.cost / (len(t) - 5)
    cov = s2 * np.linalg.inv(J.T @ J)
    np.testing.assert_allclose(info["cov"], cov, rtol=1e-5)
    np.testing.assert_allclose(info["stderr"], np.sqrt(np.diag(cov)), rtol=1e-5)
    assert info["s2"] == pytest.approx(s2, rel=1e-8)
    assert info["rank"] == 5


def test_lm_errors_propagate_and_budget():
    class Boom(Exception):
        pass

    def fun(x):
        if x[0] > 0.5:
            raise Boom("inside the residual")
        return rosenbrock(x)

    with pytest.raises(Boom):
        nl.least_squares(fun, [-1.2, 1.0])

    def badjac(x):
        raise ValueError("jacobian")

    with pytest.raises(ValueError, match="jacobian"):
        nl.least_squares(rosenbrock, [-1.2, 1.0], jac=badjac)
    with pytest.raises(Error) as e:
        nl.least_squares(rosenbrock, [-1.2, 1.0], max_nfev=3)
    assert e.value.status == Status.ENOCONV
    x, info = nl.least_squares(rosenbrock, [-1.2, 1.0], max_nfev=3, strict=False)
    assert info["stop"] == "max_nfev" and np.all(np.isfinite(x))
    with pytest.raises(Error) as e:
        nl.least_squares(rosenbrock, [np.nan, 1.0])
    assert e.value.status == Status.EINVAL
    with pytest.raises(Error) as e:
        nl.least_squares(rosenbrock, [-1.2, 1.0], jac=lambda x: np.zeros((3, 2)))
    assert e.value.status == Status.ESHAPE
    with pytest.raises(Error):
        nl.least_squares(rosenbrock, [-1.2, 1.0], ftol=-1)


# ====================================================================== NAV (P085)

TRUTH = np.array([10.0, 0.02, 0.005, 0.012, -0.003, 0.8, 0.15, 0.05, 1.6, 1.3, 2.5, 1000.3])


def nav_numpy(t, p):
    """An independent NumPy NAV model (Andronov 2012, shared half-width)."""
    u = (t - p[11]) / p[10]
    f1 = u - np.round(u)
    f2 = (u - 0.5) - np.round(u - 0.5)

    def H(z, b):
        a = np.abs(z)
        return np.where(a < 1, np.clip(1 - a ** b, 0, None) ** 1.5, 0.0)

    w = 2 * np.pi * u
    return (p[0] + p[1] * np.cos(w) + p[2] * np.sin(w) + p[3] * np.cos(2 * w)
            + p[4] * np.sin(2 * w) + p[5] * H(f1 / p[7], p[8]) + p[6] * H(f2 / p[7], p[9]))


def algol(n=400, sigma=0.01, seed=2024):
    rng = np.random.default_rng(seed)
    t = np.sort(1000 + 100 * rng.random(n))
    return t, nav_numpy(t, TRUTH) + sigma * rng.standard_normal(n)


def test_nav_model_matches_numpy_and_jacobian():
    t, _ = algol(300)
    mag, J = nl.nav_model(t, TRUTH, jac=True)
    np.testing.assert_allclose(mag, nav_numpy(t, TRUTH), rtol=0, atol=1e-12)
    for k in range(12):
        # T0 moves on the scale of P; P moves the phase by u h / P with u up to 40 cycles
        h = {10: 1e-8 * TRUTH[10], 11: 1e-6 * TRUTH[10]}.get(k, 1e-6 * max(abs(TRUTH[k]), 1e-2))
        e = np.zeros(12)
        e[k] = h
        fd = (nav_numpy(t, TRUTH + e) - nav_numpy(t, TRUTH - e)) / (2 * h)
        np.testing.assert_allclose(J[:, k], fd, atol=1e-6 * max(1, np.abs(fd).max()))


@pytest.mark.parametrize("fit_period", [False, True])
def test_nav_fit_matches_scipy(fit_period):
    t, y = algol()
    p, err, info = nl.nav_fit(t, y, TRUTH[10], TRUTH[11], fit_period=fit_period,
                              ftol=1e-12, xtol=1e-12, gtol=1e-12)
    k = 12 if fit_period else 10
    assert info["nparams"] == k
    # P085 check: every parameter within 3 estimated sigmas, rms within 5% of sigma
    assert np.all(np.abs(p - TRUTH)[:k] <= 3 * err[:k])
    assert abs(info["rms"] / 0.01 - 1) < 0.05

    def resid(q):
        full = TRUTH.copy()
        full[:k] = q
        return nav_numpy(t, full) - y

    # scipy from a generic start read off the data (no knowledge of the truth)
    q0 = np.array([np.median(y), 0, 0, 0, 0, y.max() - np.median(y), 0.2 * (y.max() - np.median(y)),
                   0.08, 2.0, 2.0, TRUTH[10], TRUTH[11]])[:k]
    ref = scipy_opt.least_squares(resid, q0, method="lm", ftol=1e-12, xtol=1e-12, gtol=1e-12)
    assert info["chi2"] / 2 == pytest.approx(ref.cost, rel=1e-7)
    np.testing.assert_allclose(p[:k], ref.x, rtol=1e-5, atol=1e-7)


def test_tp_fit_matches_numpy_and_catalog_check():
    t, y = algol()
    P, T0 = TRUTH[10], TRUTH[11]
    coef, info = nl.tp_fit(t, y, P, T0, s=5)
    u = 2 * np.pi * ((t - T0) / P)
    A = np.column_stack([np.ones_like(t)] + [f(j * u) for j in range(1, 6)
                                              for f in (np.cos, np.sin)])
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(coef, ref, rtol=1e-9, atol=1e-11)
    assert info["rms"] > 1.5 * 0.01  # P085: TP with <= 12 parameters
    best, binfo = nl.tp_fit(t, y, P, T0, s_max=60)
    _, _, nav = nl.nav_fit(t, y, P, T0)
    assert nav["bic"] < binfo["bic"]  # P085: BIC prefers NAV
    assert best.shape == (2 * binfo["order"] + 1,)
    with pytest.raises(Error):
        nl.tp_fit(t, y, P, T0)
    with pytest.raises(Error):
        nl.tp_fit(t, y, P, T0, s_max=5, criterion="aic")
    with pytest.raises(Error):
        nl.nav_fit(t, y[:-1], P, T0)
    with pytest.raises(Error):
        nl.nav_fit(t, y, -1.0, T0)


def test_tp_fisher_selection_matches_scipy_f_test():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(11)
    t = 30 * rng.random(200)
    u = 2 * np.pi * (t - 0.4) / 1.7
    y = 1 + 0.5 * np.cos(u) - 0.3 * np.sin(2 * u) + 0.08 * np.cos(3 * u) + 0.05 * rng.standard_normal(200)
    coef, info = nl.tp_fit(t, y, 1.7, 0.4, s_max=12, criterion="fisher", alpha=0.01)

    def rss(s):
        A = np.column_stack([np.ones_like(t)] + [f(j * u) for j in range(1, s + 1)
                                                  for f in (np.cos, np.sin)])
        r = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
        return r @ r

    s = 0  # forward Fisher tests with scipy's F distribution
    while s < 12:
        d = 200 - (2 * (s + 1) + 1)
        F = 0.5 * (rss(s) - rss(s + 1)) / (rss(s + 1) / d)
        if stats.f.sf(F, 2, d) >= 0.01:
            break
        s += 1
    assert info["order"] == s == 3
    assert info["chi2"] == pytest.approx(rss(s), rel=1e-10)


# ====================================================================== explanations (P042)


def _logistic_quadratic(d=5, seed=0):
    rng = np.random.default_rng(seed)
    a, B = rng.standard_normal(d), rng.standard_normal((d, d))
    Q = (B + B.T) / 2

    def f(X):
        X = np.atleast_2d(X)
        q = 0.3 + X @ a + 0.5 * np.einsum("ij,jk,ik->i", X, Q, X)
        return 1 / (1 + np.exp(-q))

    def grad(X):
        s = f(X)
        return (s * (1 - s))[:, None] * (X @ Q + a)

    return f, grad


def test_explain_linear_closed_forms():
    rng = np.random.default_rng(1)
    a, x0, base = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal(6)

    def f(X):
        return X @ a + 0.3

    for m in ("clime", "lime-gauss", "smoothgrad", "vg"):
        w, _ = nl.explain(f, x0, m)
        np.testing.assert_allclose(w, a, atol=1e-9)
    for m in ("lime", "occlusion", "kernelshap"):
        w, _ = nl.explain(f, x0, m, baseline=base)
        np.testing.assert_allclose(w, a * (x0 - base), atol=1e-9)
    w, b = nl.explain(f, x0, "ig", ig_steps=256)
    assert w.sum() == pytest.approx(f(x0[None])[0] - 0.3, abs=1e-6)


def test_kernelshap_exact_shapley_values():
    f, _ = _logistic_quadratic(5, 3)
    rng = np.random.default_rng(4)
    x0, base = rng.standard_normal(5), rng.standard_normal(5)
    w, b = nl.explain(f, x0, "kernelshap", baseline=base)
    d = 5
    phi = np.zeros(d)
    for j in range(d):
        others = [i for i in range(d) if i != j]
        for r in range(d):
            for S in itertools.combinations(others, r):
                xs = base.copy()
                xs[list(S)] = x0[list(S)]
                xj = xs.copy()
                xj[j] = x0[j]
                wt = math.factorial(r) * math.factorial(d - r - 1) / math.factorial(d)
                phi[j] += wt * (f(xj[None])[0] - f(xs[None])[0])
    np.testing.assert_allclose(w, phi, atol=1e-12)
    assert b == pytest.approx(f(base[None])[0])


def test_clime_matches_smoothgrad_and_no_free_lunch():
    f, grad = _logistic_quadratic(5, 7)
    x0 = 0.3 * np.random.default_rng(8).standard_normal(5)
    wc, _ = nl.explain(f, x0, "clime", sigma=0.3, n_samples=20000)
    ws, _ = nl.explain(f, x0, "smoothgrad", grad=grad, sigma=0.3, n_samples=20000)
    assert np.linalg.norm(wc - ws) < 0.02 * np.linalg.norm(ws)  # P042 (b)
    # P042 (c): on N(0, 0.5^2), C-LIME(0.5) is the most faithful
    losses = {}
    for name, m, s in [("clime0.5", "clime", 0.5), ("clime2", "clime", 2.0),
                       ("vg", "vg", 0.5), ("smoothgrad", "smoothgrad", 0.5)]:
        w, b = nl.explain(f, x0, m, grad=grad, sigma=s, n_samples=4000)
        losses[name] = nl.lfa_loss(f, x0, w, b, method="clime", sigma=0.5, n_eval=20000)
    assert min(losses, key=losses.get) == "clime0.5", losses


def _torch_mlp(torch, h, d, seed, bias):
    """A tanh MLP net(X) = tanh(X W1^T + b1) w2 in float64 and its (f, grad) callbacks."""
    g = torch.Generator().manual_seed(seed)
    W1 = torch.randn(h, d, generator=g, dtype=torch.float64)
    b1 = torch.randn(h, generator=g, dtype=torch.float64) if bias else torch.zeros(h, dtype=torch.float64)
    w2 = torch.randn(h, generator=g, dtype=torch.float64)

    def net(X):
        return torch.tanh(X @ W1.T + b1) @ w2

    return (net,) + nl.torch_callbacks(net)


def test_gradients_match_torch_autograd():
    torch = pytest.importorskip("torch")
    net, f, _ = _torch_mlp(torch, 8, 4, 0, True)
    x0 = np.array([0.3, -0.5, 0.8, 0.1])
    xt = torch.tensor(x0, requires_grad=True)
    net(xt[None])[0].backward()
    ref = xt.grad.numpy()
    w, b = nl.explain(f, x0, "vg")  # central differences through the black box
    np.testing.assert_allclose(w, ref, rtol=1e-7, atol=1e-9)
    w, _ = nl.explain(f, x0, "gxi")
    np.testing.assert_allclose(w, ref * x0, rtol=1e-7, atol=1e-9)


def test_ig_matches_captum():
    torch = pytest.importorskip("torch")
    captum_attr = pytest.importorskip("captum.attr")
    net, f, grad = _torch_mlp(torch, 6, 3, 1, False)
    x0 = np.array([0.5, -1.0, 0.7])
    ig = captum_attr.IntegratedGradients(net)
    ref = ig.attribute(torch.tensor(x0[None]), baselines=torch.zeros(1, 3, dtype=torch.float64),
                       n_steps=256, method="riemann_middle").numpy()[0]
    w, _ = nl.explain(f, x0, "ig", grad=grad, ig_steps=256)
    np.testing.assert_allclose(w, ref, rtol=1e-10, atol=1e-12)


def test_explain_errors():
    f, grad = _logistic_quadratic(3, 0)

    def bad(X):
        raise RuntimeError("model down")

    with pytest.raises(RuntimeError, match="model down"):
        nl.explain(bad, [0.1, 0.2, 0.3], "clime")
    with pytest.raises(Error):
        nl.explain(f, [0.1, 0.2, 0.3], "shap")
    with pytest.raises(Error):
        nl.explain(f, [0.1, np.nan, 0.3], "clime")
    with pytest.raises(Error) as e:
        nl.explain(lambda X: np.zeros(len(X) + 1), [0.1, 0.2, 0.3], "clime")
    assert e.value.status == Status.ESHAPE
    with pytest.raises(Error):
        nl.explain(f, [0.1, 0.2, 0.3], "clime", sigma=0)
    with pytest.raises(Error):
        nl.lfa_loss(f, [0.1, 0.2, 0.3], [1, 2, 3], 0.0, method="vg")
    w1, _ = nl.explain(f, [0.1, 0.2, 0.3], "lime", seed=5)
    w2, _ = nl.explain(f, [0.1, 0.2, 0.3], "lime", seed=5)
    assert np.array_equal(w1, w2)


# ====================================================================== the command line


def _apx_bin():
    import os
    from pathlib import Path
    path = os.environ.get("APX_BIN") or str(Path(__file__).resolve().parents[2] / "build" / "apx")
    if not os.access(path, os.X_OK):
        pytest.skip(f"no apx command at {path}")
    return path


def _run_json(*args):
    import json
    import subprocess
    r = subprocess.run([_apx_bin(), *args, "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_cli_explain_mlp_matches_python(tmp_path):
    rng = np.random.default_rng(3)
    W1, b1, w2 = rng.standard_normal((6, 4)), rng.standard_normal(6), rng.standard_normal(6)
    np.savez(tmp_path / "mlp.npz", W1=W1, b1=b1, w2=w2, b2=np.array(0.25))
    x0 = np.array([0.2, -0.4, 0.9, 0.1])
    np.save(tmp_path / "x0.npy", x0)

    def f(X):
        return np.tanh(X @ W1.T + b1) @ w2 + 0.25

    def grad(X):
        return (1 - np.tanh(X @ W1.T + b1) ** 2) * w2 @ W1

    out = _run_json("explain", str(tmp_path / "mlp.npz"), "--x0", str(tmp_path / "x0.npy"),
                    "-m", "vg")
    np.testing.assert_allclose(out["w"], grad(x0[None])[0], rtol=1e-12, atol=1e-14)
    assert out["f_x0"] == pytest.approx(f(x0[None])[0], rel=1e-13)
    out = _run_json("explain", str(tmp_path / "mlp.npz"), "--x0", str(tmp_path / "x0.npy"),
                    "-m", "kernelshap")
    w, b = nl.explain(f, x0, "kernelshap")
    np.testing.assert_allclose(out["w"], w, rtol=1e-10, atol=1e-12)
    out = _run_json("explain", str(tmp_path / "mlp.npz"), "--x0", str(tmp_path / "x0.npy"),
                    "-m", "clime", "--seed", "4", "--samples", "500")
    w, b = nl.explain(f, x0, "clime", grad=grad, seed=4, n_samples=500)
    np.testing.assert_allclose(out["w"], w, rtol=1e-9, atol=1e-12)


def test_cli_lightcurve_weighted_csv_matches_python(tmp_path):
    t, y = algol(250, seed=5)
    sigma = 0.01 * (1 + np.random.default_rng(6).random(250))
    np.savetxt(tmp_path / "lc.csv", np.column_stack([t, y, sigma]), delimiter=",", fmt="%.17g")
    out = _run_json("lightcurve", str(tmp_path / "lc.csv"), "--period", "2.5", "--epoch",
                    "1000.3", "--tp-max", "25")
    p, err, info = nl.nav_fit(t, y, 2.5, 1000.3, sigma=sigma)
    assert out["weighted"] is True
    got = np.array([out["nav"]["params"][k] for k in nl.NAV_PARAMS])
    np.testing.assert_allclose(got, p, rtol=1e-9, atol=1e-12)
    assert out["nav"]["bic"] == pytest.approx(info["bic"], rel=1e-10)
    coef, tinfo = nl.tp_fit(t, y, 2.5, 1000.3, s_max=25, sigma=sigma)
    assert out["tp"]["order"] == tinfo["order"]
    assert out["preferred"] == "nav"
