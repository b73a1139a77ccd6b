"""Nonlinear least squares, NAV light curves and local explanations (include/apx/regress.h,
its nonlinear section).

    x, info = apx.least_squares(fun, x0, jac=None)       # Levenberg-Marquardt (MINPACK-style)
    p, err, info = apx.nav_fit(t, y, P, T0)               # NAV eclipsing-binary model (P085)
    mag = apx.nav_model(t, p)                             # the model (and its Jacobian)
    coef, info = apx.tp_fit(t, y, P, T0, s_max=40)        # trigonometric polynomial, BIC order
    w, b = apx.explain(f, x0, "kernelshap")               # local linear explanations (P042)
    loss = apx.lfa_loss(f, x0, w, b, method="clime")      # faithfulness on a neighbourhood

Python callables run as ctypes callbacks; an exception raised inside one stops the library
call and is re-raised unchanged to the caller.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _lib
from ._lib import Dmat, Status, c_dp, c_i64, c_u64, fail
from .sketching import _fn as _sketch_fn

__all__ = ["least_squares", "nav_model", "nav_fit", "tp_fit", "explain", "lfa_loss",
           "torch_callbacks", "EXPLAIN_METHODS", "NAV_PARAMS"]

_c_int, _c_d, _vp = ctypes.c_int, ctypes.c_double, ctypes.c_void_p
LmFun = ctypes.CFUNCTYPE(_c_int, _vp, c_dp, c_dp)
ExplainF = ctypes.CFUNCTYPE(_c_int, _vp, Dmat, c_dp)
ExplainGrad = ctypes.CFUNCTYPE(_c_int, _vp, Dmat, Dmat)


class LmProblem(ctypes.Structure):
    _fields_ = [("m", c_i64), ("n", c_i64), ("fun", LmFun), ("jac", LmFun), ("ctx", _vp)]


class LmOpts(ctypes.Structure):
    _fields_ = [("max_nfev", c_i64), ("ftol", _c_d), ("xtol", _c_d), ("gtol", _c_d),
                ("factor", _c_d), ("scale_diag", _c_int), ("progress", _lib.Progress)]


class LmInfo(ctypes.Structure):
    _fields_ = [("iterations", c_i64), ("nfev", c_i64), ("njev", c_i64), ("cost", _c_d),
                ("grad_norm", _c_d), ("stop", _c_int), ("s2", _c_d), ("rank", c_i64),
                ("seconds", _c_d)]


class NavOpts(ctypes.Structure):
    _fields_ = [("fit_period", _c_int), ("width0", _c_d), ("lm", LmOpts)]


class NavInfo(ctypes.Structure):
    _fields_ = [("nparams", _c_int), ("rms", _c_d), ("chi2", _c_d), ("bic", _c_d),
                ("lm", LmInfo)]


class TpInfo(ctypes.Structure):
    _fields_ = [("order", _c_int), ("rms", _c_d), ("chi2", _c_d), ("bic", _c_d)]


class ExplainModel(ctypes.Structure):
    _fields_ = [("d", c_i64), ("f", ExplainF), ("grad", ExplainGrad), ("ctx", _vp)]


class ExplainOpts(ctypes.Structure):
    _fields_ = [("n_samples", c_i64), ("sigma", _c_d), ("width", _c_d), ("ig_steps", _c_int),
                ("baseline", c_dp), ("seed", c_u64), ("batch", c_i64)]


_S, _P = ctypes.c_int, ctypes.POINTER
_PROTOTYPES = {
    "apx_lm_opts_default": (LmOpts, []),
    "apx_regress_lm": (_S, [LmProblem, c_dp, _P(LmOpts), _P(LmInfo), c_dp]),
    "apx_nav_model": (_S, [c_dp, c_i64, c_dp, c_dp, c_dp]),
    "apx_nav_opts_default": (NavOpts, []),
    "apx_nav_fit": (_S, [c_dp, c_dp, c_dp, c_i64, _c_d, _c_d, _P(NavOpts), c_dp, c_dp,
                         _P(NavInfo)]),
    "apx_tp_fit": (_S, [c_dp, c_dp, c_dp, c_i64, _c_d, _c_d, _c_int, c_dp, _P(TpInfo)]),
    "apx_tp_select": (_S, [c_dp, c_dp, c_dp, c_i64, _c_d, _c_d, _c_int, _c_int, _c_d, c_dp,
                           _P(TpInfo)]),
    "apx_explain_opts_default": (ExplainOpts, []),
    "apx_explain": (_S, [ExplainModel, c_dp, _c_int, _P(ExplainOpts), c_dp, c_dp]),
    "apx_explain_lfa_loss": (_S, [ExplainModel, c_dp, _c_int, _P(ExplainOpts), c_dp, _c_d,
                                  c_i64, c_u64, c_dp]),
}


def _fn(name):
    return _sketch_fn(name, _PROTOTYPES)


_STOPS = {0: "max_nfev", 1: "gtol", 2: "ftol", 3: "xtol", 4: "ftol+xtol"}

# ====================================================================== Levenberg-Marquardt


def _call_vector(f, x, m, what):
    """f(x) as a float64 vector of length m (ESHAPE otherwise)."""
    r = np.asarray(f(x), dtype=np.float64)
    if r.ndim != 1 or (m is not None and r.shape[0] != m):
        raise _lib.Error(Status.ESHAPE, f"least_squares: {what} returned shape {r.shape}, "
                                        f"expected ({m},)")
    return r


def _lm_callbacks(fun, jac, m, n, guard, memo):
    """ctypes callbacks; memo holds the last residual evaluated (x bytes -> r), seeded with
    the one at x0, so neither the start nor the final residual is computed twice."""
    def c_fun(ctx, xp, rp):
        try:
            x = np.ctypeslib.as_array(xp, shape=(n,)).copy()
            key = x.tobytes()
            r = memo.get(key)
            if r is None:
                r = _call_vector(fun, x, m, "fun")
                memo.clear()
                memo[key] = r
            np.ctypeslib.as_array(rp, shape=(m,))[:] = r
            return 0
        except BaseException as e:  # noqa: BLE001 - re-raised after the C call
            guard.capture(e)
            return int(Status.EINVAL)

    def c_jac(ctx, xp, jp):
        try:
            x = np.ctypeslib.as_array(xp, shape=(n,)).copy()
            J = np.asarray(jac(x), dtype=np.float64)
            if J.shape != (m, n):
                raise _lib.Error(Status.ESHAPE, f"least_squares: jac returned shape {J.shape}, "
                                                f"expected ({m}, {n})")
            np.ctypeslib.as_array(jp, shape=(m, n))[:] = J
            return 0
        except BaseException as e:  # noqa: BLE001
            guard.capture(e)
            return int(Status.EINVAL)

    return LmFun(c_fun), (LmFun(c_jac) if jac is not None else ctypes.cast(None, LmFun))


def _lm_opts(where, max_nfev, ftol, xtol, gtol, factor, scale_diag, progress, guard):
    o = _fn("apx_lm_opts_default")()
    if max_nfev is not None:
        o.max_nfev = _lib.check_int(max_nfev, where, "max_nfev")
    o.ftol, o.xtol, o.gtol, o.factor = float(ftol), float(xtol), float(gtol), float(factor)
    o.scale_diag = 1 if scale_diag else 0
    o.progress, keep = _lib.make_progress(progress, guard)
    return o, keep


def _lm_info(inf):
    return {"iterations": int(inf.iterations), "nfev": int(inf.nfev), "njev": int(inf.njev),
            "cost": float(inf.cost), "grad_norm": float(inf.grad_norm),
            "status": int(inf.stop), "stop": _STOPS.get(int(inf.stop), "?"),
            "s2": float(inf.s2), "rank": int(inf.rank), "seconds": float(inf.seconds)}


def least_squares(fun, x0, jac=None, max_nfev=None, ftol=1e-8, xtol=1e-8, gtol=1e-8,
                  factor=100.0, scale_diag=True, progress=None, strict=True):
    """Levenberg-Marquardt: minimize 0.5 ||fun(x)||^2. Returns (x, info).

    fun(x (n,)) -> r (m,); jac(x) -> J (m, n) (None: forward differences, step
    sqrt(eps) max(|x_j|, 1)). Moré's trust-region LM as MINPACK lmder (scipy's
    least_squares(method="lm")): More's diagonal scaling (scale_diag), initial radius
    factor * ||D x0||, ftol / xtol / gtol tests as scipy; each damped step from the SVD of the
    scaled Jacobian. max_nfev: residual evaluations (differences included; default 100 n
    with jac, 100 n (n + 1) without). fun(x0) is evaluated first to learn m (and reused).
    info: iterations, nfev, njev, cost (0.5 ||r||^2), grad_norm (||J^T r||_inf), status
    (scipy's numbers: 0 budget, 1 gtol, 2 ftol, 3 xtol, 4 ftol and xtol) and stop (its
    name), s2 (2 cost / (m - n)), rank, cov (s2 (J^T J)^+, (n, n)), stderr (sqrt of its
    diagonal), fun (r at x), seconds. Out of budget: Error ENOCONV, or with strict=False
    the best point. An exception raised by fun or jac propagates unchanged.
    """
    x = np.array(_lib.as_vector(x0, "least_squares", "x0")[0], dtype=np.float64, copy=True)
    n = x.shape[0]
    if n < 1:
        fail(Status.ESHAPE, "least_squares: x0 is empty")
    r0 = _call_vector(fun, x.copy(), None, "fun")
    m = r0.shape[0]
    memo = {x.tobytes(): r0}
    guard = _lib.CallbackGuard()
    cf, cj = _lm_callbacks(fun, jac, m, n, guard, memo)
    prob = LmProblem(m, n, cf, cj, None)
    o, _keep = _lm_opts("least_squares", max_nfev, ftol, xtol, gtol, factor, scale_diag,
                        progress, guard)
    cov = np.zeros((n, n))
    inf = LmInfo()
    st = _fn("apx_regress_lm")(prob, x.ctypes.data_as(c_dp), ctypes.byref(o), ctypes.byref(inf),
                               cov.ctypes.data_as(c_dp))
    if not (st == Status.ENOCONV and not strict and guard.exc is None):
        guard.reraise(st, "least_squares")
    info = _lm_info(inf)
    info["cov"] = cov
    info["stderr"] = np.sqrt(np.clip(np.diag(cov), 0, None))
    r = memo.get(x.tobytes())
    info["fun"] = r.copy() if r is not None else _call_vector(fun, x.copy(), m, "fun")
    return x, info


# ====================================================================== NAV and TP (P085)

NAV_PARAMS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "width", "beta1", "beta2", "P", "T0")


def _series(where, t, y, sigma):
    tt, tp = _lib.as_vector(t, where, "t")
    yy, yp = _lib.as_vector(y, where, "y", tt.shape[0])
    if sigma is None:
        return tt, tp, yy, yp, None, None
    ss, sp = _lib.as_vector(sigma, where, "sigma", tt.shape[0])
    return tt, tp, yy, yp, ss, sp


def nav_model(t, p, jac=False):
    """NAV light curve at times t (n,) for the 12 parameters p = [C1..C7, width, beta1,
    beta2, P, T0] (see apx.nonlinear.NAV_PARAMS). Returns mag (n,), and J (n, 12) too with
    jac=True."""
    tt, tp = _lib.as_vector(t, "nav_model", "t")
    pp, ppp = _lib.as_vector(p, "nav_model", "p", 12)
    mag = np.zeros(tt.shape[0])
    J = np.zeros((tt.shape[0], 12)) if jac else None
    _lib.check(_fn("apx_nav_model")(tp, tt.shape[0], ppp, mag.ctypes.data_as(c_dp),
                                    J.ctypes.data_as(c_dp) if jac else None), "nav_model")
    return (mag, J) if jac else mag


def nav_fit(t, y, P, T0, sigma=None, fit_period=False, width0=0.0, max_nfev=None,
            ftol=1e-8, xtol=1e-8, gtol=1e-8, strict=True):
    """Fit the NAV model (Andronov 2012) to a light curve. Returns (p (12,), err (12,), info).

    t, y: times and magnitudes (n,), n >= 14; sigma: errors (n,) or None; P, T0: period and
    epoch of a primary minimum, fixed (10 parameters) or, with fit_period, fitted (12).
    Starting values from the data: a grid of half-widths (or width0) and shared betas with
    C1..C7 by linear least squares; then Levenberg-Marquardt. err: standard errors
    sqrt(diag(s2 (J^T J)^-1)) (0 for fixed P, T0). info: nparams, rms, chi2, bic
    (n ln(chi2/n) + k ln n), and the LM run's fields under "lm".
    """
    tt, tp, yy, yp, ss, sp = _series("nav_fit", t, y, sigma)
    o = _fn("apx_nav_opts_default")()
    o.fit_period = 1 if fit_period else 0
    o.width0 = float(width0)
    if max_nfev is not None:
        o.lm.max_nfev = _lib.check_int(max_nfev, "nav_fit", "max_nfev")
    o.lm.ftol, o.lm.xtol, o.lm.gtol = float(ftol), float(xtol), float(gtol)
    p, err, inf = np.zeros(12), np.zeros(12), NavInfo()
    st = _fn("apx_nav_fit")(tp, yp, sp, tt.shape[0], float(P), float(T0), ctypes.byref(o),
                            p.ctypes.data_as(c_dp), err.ctypes.data_as(c_dp), ctypes.byref(inf))
    if not (st == Status.ENOCONV and not strict):
        _lib.check(st, "nav_fit")
    info = {"nparams": int(inf.nparams), "rms": float(inf.rms), "chi2": float(inf.chi2),
            "bic": float(inf.bic), "lm": _lm_info(inf.lm)}
    return p, err, info


_CRIT = {"bic": 0, "fisher": 1}


def tp_fit(t, y, P, T0, s=None, s_max=None, criterion="bic", alpha=0.01, sigma=None):
    """Trigonometric polynomial a0 + sum_k (a_k cos 2 pi k u + b_k sin 2 pi k u),
    u = (t - T0) / P, by least squares. Returns (coef, info), coef = [a0, a1, b1, ...].

    Give the order s, or s_max to choose it by criterion "bic" (smallest BIC) or "fisher"
    (raise s while the next two terms are significant at level alpha); coef then has the
    chosen order's 2s + 1 entries. info: order, rms, chi2, bic.
    """
    tt, tp, yy, yp, ss, sp = _series("tp_fit", t, y, sigma)
    inf = TpInfo()
    if (s is None) == (s_max is None):
        fail(Status.EINVAL, "tp_fit: give exactly one of s (the order) and s_max (select it)")
    if s is not None:
        s = _lib.c_int_range(s, "tp_fit", "s")
        coef = np.zeros(2 * max(s, 0) + 1)
        _lib.check(_fn("apx_tp_fit")(tp, yp, sp, tt.shape[0], float(P), float(T0), s,
                                     coef.ctypes.data_as(c_dp), ctypes.byref(inf)), "tp_fit")
    else:
        s_max = _lib.c_int_range(s_max, "tp_fit", "s_max")
        if criterion not in _CRIT:
            fail(Status.EINVAL, f"tp_fit: criterion must be 'bic' or 'fisher', got {criterion!r}")
        coef = np.zeros(2 * max(s_max, 0) + 1)
        _lib.check(_fn("apx_tp_select")(tp, yp, sp, tt.shape[0], float(P), float(T0), s_max,
                                        _CRIT[criterion], float(alpha),
                                        coef.ctypes.data_as(c_dp), ctypes.byref(inf)), "tp_fit")
        coef = coef[: 2 * inf.order + 1].copy()
    return coef, {"order": int(inf.order), "rms": float(inf.rms), "chi2": float(inf.chi2),
                  "bic": float(inf.bic)}


# ====================================================================== explanations (P042)

EXPLAIN_METHODS = {"clime": 0, "lime": 1, "lime-gauss": 2, "kernelshap": 3, "smoothgrad": 4,
                   "vg": 5, "gxi": 6, "ig": 7, "occlusion": 8}


class _Model:
    """The apx_explain_model for Python callables f(X (k,d)) -> (k,) and grad(X) -> (k,d)."""

    def __init__(self, f, grad, d, where):
        self.guard = _lib.CallbackGuard()
        guard = self.guard

        def c_f(ctx, X, yp):
            try:
                a = np.ctypeslib.as_array(X.data, shape=(X.rows, X.ld))[:, :X.cols].copy()
                y = np.asarray(f(a), dtype=np.float64).reshape(-1)
                if y.shape != (X.rows,):
                    raise _lib.Error(Status.ESHAPE, f"{where}: f returned {y.shape[0]} values "
                                                    f"for {X.rows} rows")
                np.ctypeslib.as_array(yp, shape=(X.rows,))[:] = y
                return 0
            except BaseException as e:  # noqa: BLE001
                guard.capture(e)
                return int(Status.EINVAL)

        def c_g(ctx, X, G):
            try:
                a = np.ctypeslib.as_array(X.data, shape=(X.rows, X.ld))[:, :X.cols].copy()
                g = np.asarray(grad(a), dtype=np.float64)
                if g.shape != (X.rows, X.cols):
                    raise _lib.Error(Status.ESHAPE, f"{where}: grad returned shape {g.shape}, "
                                                    f"expected {(X.rows, X.cols)}")
                np.ctypeslib.as_array(G.data, shape=(G.rows, G.ld))[:, :G.cols] = g
                return 0
            except BaseException as e:  # noqa: BLE001
                guard.capture(e)
                return int(Status.EINVAL)

        self._cf = ExplainF(c_f)
        self._cg = ExplainGrad(c_g) if grad is not None else ctypes.cast(None, ExplainGrad)
        self.model = ExplainModel(d, self._cf, self._cg, None)


def _explain_opts(where, d, n_samples, sigma, width, ig_steps, baseline, seed, batch):
    o = _fn("apx_explain_opts_default")()
    o.n_samples = _lib.check_int(n_samples, where, "n_samples")
    o.sigma = float(sigma)
    o.width = 0.0 if width is None else float(width)
    o.ig_steps = _lib.c_int_range(ig_steps, where, "ig_steps")
    o.seed = _lib.c_seed(seed, where)
    o.batch = _lib.check_int(batch, where, "batch")
    keep = None
    if baseline is not None:
        keep, o.baseline = _lib.as_vector(baseline, where, "baseline", d)
    return o, keep


def _method(method, where):
    if method not in EXPLAIN_METHODS:
        fail(Status.EINVAL, f"{where}: method must be one of {list(EXPLAIN_METHODS)}, got "
                            f"{method!r}")
    return EXPLAIN_METHODS[method]


def torch_callbacks(net):
    """(f, grad) for explain / lfa_loss from a PyTorch callable net(X (k, d)) -> (k,):
    f runs net without gradients, grad by autograd on the batch; float64 arrays in and out."""
    import torch

    def f(X):
        with torch.no_grad():
            return net(torch.from_numpy(np.ascontiguousarray(X))).double().numpy()

    def grad(X):
        xt = torch.from_numpy(np.array(X, dtype=np.float64)).requires_grad_(True)
        net(xt).sum().backward()
        return xt.grad.numpy()

    return f, grad


def explain(f, x0, method="clime", grad=None, n_samples=2000, sigma=0.1, width=None,
            ig_steps=64, baseline=None, seed=0, batch=1024):
    """Local linear explanation of a black box f at x0 (d,). Returns (w (d,), b).

    f(X (k, d)) -> (k,) is called on batches of perturbed points; grad(X) -> (k, d) its
    gradient (None: central differences). method:
      "clime"       least squares of f(x0 + xi) on xi ~ N(0, sigma^2 I);
      "lime"        binary masks z, x = z x0 + (1 - z) baseline, kernel exp(-|1-z|^2/width^2);
      "lime-gauss"  continuous LIME: Gaussian xi with the exponential kernel;
      "kernelshap"  Shapley kernel (exact Shapley values when 2^d - 2 <= n_samples);
      "smoothgrad"  mean gradient over x0 + xi;  "vg" gradient;  "gxi" x0 * gradient;
      "ig"          integrated gradients from the baseline (midpoint rule, ig_steps);
      "occlusion"   f(x0) - f(x0 with feature j at the baseline).
    width None: 0.75 sqrt(d); baseline None: zeros. b: the local model's intercept (f(x0)
    for the gradient methods, f(baseline) for kernelshap and ig). Same seed, same result.
    """
    m = _method(method, "explain")
    x, xp = _lib.as_vector(x0, "explain", "x0")
    d = x.shape[0]
    o, _keep = _explain_opts("explain", d, n_samples, sigma, width, ig_steps, baseline, seed,
                             batch)
    mdl = _Model(f, grad, d, "explain")
    w, b = np.zeros(d), ctypes.c_double(0)
    st = _fn("apx_explain")(mdl.model, xp, m, ctypes.byref(o), w.ctypes.data_as(c_dp),
                            ctypes.cast(ctypes.byref(b), c_dp))
    mdl.guard.reraise(st, "explain")
    return w, float(b.value)


def lfa_loss(f, x0, w, b, method="clime", n_eval=10000, seed=1, sigma=0.1, width=None,
             baseline=None, batch=1024):
    """LFA loss of the affine explanation (w, b) of f at x0: the kernel-weighted mean of
    (f(x) - b - w^T v)^2 over n_eval fresh draws of the neighbourhood of `method` ("clime",
    "lime", "lime-gauss" or "kernelshap"; v = xi or the mask z). Smaller is more faithful.
    """
    m = _method(method, "lfa_loss")
    x, xp = _lib.as_vector(x0, "lfa_loss", "x0")
    d = x.shape[0]
    ww, wp = _lib.as_vector(w, "lfa_loss", "w", d)
    o, _keep = _explain_opts("lfa_loss", d, 2000, sigma, width, 64, baseline, 0, batch)
    mdl = _Model(f, None, d, "lfa_loss")
    loss = ctypes.c_double(0)
    st = _fn("apx_explain_lfa_loss")(mdl.model, xp, m, ctypes.byref(o), wp, float(b),
                                     _lib.check_int(n_eval, "lfa_loss", "n_eval"),
                                     _lib.c_seed(seed, "lfa_loss"),
                                     ctypes.cast(ctypes.byref(loss), c_dp))
    mdl.guard.reraise(st, "lfa_loss")
    return float(loss.value)
