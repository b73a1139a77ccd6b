"""Sparse recovery (include/apx/sparse.h): Lasso, elastic net, multi-task Lasso and their
paths by coordinate descent with gap-safe screening and working sets; orthogonal matching
pursuit; iterative hard thresholding; exact best-subset selection; sparse coding with the
l1, l0, lq and CEL0 penalties; non-negative and fully constrained least squares; robust
spectral unmixing.

Conventions (as apx.la): array-likes in, new float64 NumPy arrays out; inputs are never
modified; failures raise apx.Error with .status and the library's message (NaN/Inf,
alpha < 0 or l1_ratio outside [0, 1]: EINVAL; mismatched shapes: ESHAPE). Iterative
methods that stop before their tolerance raise Error(ENOCONV), or with strict=False return
the last iterate with info["converged"] False.

The elastic-net objective is scikit-learn's:
    1/(2n) ||y - X w - b||^2 + alpha (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)
and the stopping rule too: duality gap <= tol * ||y - mean(y)||^2 / n (info["gap"] is the
gap reached, normalized as scikit-learn's dual_gap_).
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _lib
from ._lib import Status, as_matrix, fail, fn, out_matrix, out_vector
from .solvers import Csr

__all__ = [
    "lasso", "enet", "lasso_path", "enet_path", "alpha_grid", "multitask_lasso",
    "multitask_enet", "omp", "iht", "best_subset", "sparse_code", "prox", "penalty",
    "l0_exact", "nnls", "fcls", "unmix", "mtrl_select", "mtrl_synth",
]

# ---------------------------------------------------------------- C structs


class EnetOpts(ctypes.Structure):
    _fields_ = [("fit_intercept", ctypes.c_int), ("positive", ctypes.c_int),
                ("tol", ctypes.c_double), ("max_epochs", ctypes.c_int),
                ("screening", ctypes.c_int), ("working_set", ctypes.c_int),
                ("solver", ctypes.c_int), ("warm_start", ctypes.c_int),
                ("progress", _lib.Progress)]


class EnetInfo(ctypes.Structure):
    _fields_ = [("gap", ctypes.c_double), ("gap_tol", ctypes.c_double),
                ("primal", ctypes.c_double), ("converged", ctypes.c_int),
                ("epochs", ctypes.c_int), ("outer", ctypes.c_int),
                ("nnz", ctypes.c_int64), ("screened", ctypes.c_int64),
                ("ws_size", ctypes.c_int64), ("gram", ctypes.c_int),
                ("seconds", ctypes.c_double)]


class GreedyOpts(ctypes.Structure):
    _fields_ = [("fit_intercept", ctypes.c_int), ("tol", ctypes.c_double),
                ("max_iters", ctypes.c_int), ("iht_tol", ctypes.c_double),
                ("debias", ctypes.c_int), ("swaps", ctypes.c_int)]


class GreedyInfo(ctypes.Structure):
    _fields_ = [("nnz", ctypes.c_int64), ("iterations", ctypes.c_int),
                ("rss", ctypes.c_double), ("converged", ctypes.c_int)]


class CodeOpts(ctypes.Structure):
    _fields_ = [("penalty", ctypes.c_int), ("q", ctypes.c_double), ("max_iters", ctypes.c_int),
                ("tol", ctypes.c_double), ("accelerate", ctypes.c_int),
                ("warm_start", ctypes.c_int), ("progress", _lib.Progress)]


class CodeInfo(ctypes.Structure):
    _fields_ = [("iterations", ctypes.c_int), ("converged", ctypes.c_int),
                ("objective", ctypes.c_double), ("rel_error", ctypes.c_double),
                ("nnz_mean", ctypes.c_double), ("step", ctypes.c_double),
                ("seconds", ctypes.c_double)]


class ClsOpts(ctypes.Structure):
    _fields_ = [("max_iters", ctypes.c_int), ("tol", ctypes.c_double)]


class ClsInfo(ctypes.Structure):
    _fields_ = [("iterations", ctypes.c_int), ("converged", ctypes.c_int),
                ("rnorm", ctypes.c_double)]


class UnmixOpts(ctypes.Structure):
    _fields_ = [("lam", ctypes.c_double), ("p", ctypes.c_double), ("max_iters", ctypes.c_int),
                ("tol", ctypes.c_double), ("eps", ctypes.c_double), ("l21", ctypes.c_int)]


class UnmixInfo(ctypes.Structure):
    _fields_ = [("iterations", ctypes.c_int), ("converged", ctypes.c_int),
                ("objective", ctypes.c_double), ("smoothed", ctypes.c_double),
                ("monotone", ctypes.c_int)]


class MtrlOpts(ctypes.Structure):
    _fields_ = [("k", ctypes.c_int64), ("n_stage1", ctypes.c_int64), ("budget", ctypes.c_int64),
                ("n_target", ctypes.c_int64), ("alpha", ctypes.c_double), ("rule", ctypes.c_int),
                ("tol", ctypes.c_double)]


class MtrlOut(ctypes.Structure):
    _fields_ = [("nu", _lib.c_dp), ("nu_l2", _lib.c_dp), ("W1", _lib.c_dp), ("w0_1", _lib.c_dp),
                ("alloc", _lib.c_i64p), ("B", _lib.c_dp), ("beta0", _lib.c_dp)]


class MtrlInfo(ctypes.Structure):
    _fields_ = [("nnz", ctypes.c_int64), ("lasso_gap", ctypes.c_double),
                ("samples", ctypes.c_int64)]


class MtrlSynth(ctypes.Structure):
    _fields_ = [("d", ctypes.c_int64), ("k", ctypes.c_int64), ("M", ctypes.c_int64),
                ("noise", ctypes.c_double), ("seed", ctypes.c_uint64), ("B", _lib.c_dp),
                ("W", _lib.c_dp), ("w0", _lib.c_dp), ("nu", _lib.c_dp)]


MtrlSampler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                               ctypes.c_int64, _lib.c_dp, _lib.c_dp)

_P = ctypes.POINTER
_S, _i, _d, _i64 = ctypes.c_int, ctypes.c_int, ctypes.c_double, ctypes.c_int64
_DM, _dp = _lib.Dmat, _lib.c_dp

for _name, _proto in {
    "apx_enet_opts_default": (EnetOpts, []),
    "apx_sparse_enet": (_S, [_DM, _dp, _d, _d, _P(EnetOpts), _dp, _dp, _P(EnetInfo)]),
    "apx_sparse_multitask_enet": (_S, [_DM, _DM, _d, _d, _P(EnetOpts), _DM, _dp,
                                       _P(EnetInfo)]),
    "apx_sparse_alpha_grid": (_S, [_DM, _DM, _d, _i, _d, _i64, _dp]),
    "apx_sparse_enet_path": (_S, [_DM, _dp, _d, _dp, _i64, _P(EnetOpts), _DM, _dp, _dp,
                                  _P(_i)]),
    "apx_sparse_enet_csr": (_S, [Csr, _dp, _d, _d, _P(EnetOpts), _dp, _dp, _P(EnetInfo)]),
    "apx_sparse_alpha_grid_csr": (_S, [Csr, _dp, _d, _i, _d, _i64, _dp]),
    "apx_sparse_enet_path_csr": (_S, [Csr, _dp, _d, _dp, _i64, _P(EnetOpts), _DM, _dp, _dp,
                                      _P(_i)]),
    "apx_mtrl_opts_default": (MtrlOpts, []),
    "apx_sparse_mtrl": (_S, [_i64, _i64, MtrlSampler, ctypes.c_void_p, _P(MtrlOpts),
                             _P(MtrlOut), _P(MtrlInfo)]),
    "apx_sparse_mtrl_synth_create": (_S, [_i64, _i64, _i64, _i64, _d, ctypes.c_uint64,
                                          _P(MtrlSynth)]),
    "apx_sparse_mtrl_synth_free": (None, [_P(MtrlSynth)]),
    "apx_sparse_mtrl_synth_risk": (_d, [_P(MtrlSynth), _dp]),
    "apx_greedy_opts_default": (GreedyOpts, []),
    "apx_sparse_omp": (_S, [_DM, _dp, _i64, _P(GreedyOpts), _dp, _dp, _P(GreedyInfo)]),
    "apx_sparse_iht": (_S, [_DM, _dp, _i64, _P(GreedyOpts), _dp, _dp, _P(GreedyInfo)]),
    "apx_sparse_best_subset": (_S, [_DM, _dp, _i64, _i, _DM, _dp]),
    "apx_sparse_prox": (_S, [_i, _d, _d, _d, _dp, _dp, _i64, _dp]),
    "apx_sparse_penalty": (_S, [_i, _d, _d, _dp, _dp, _i64, _dp]),
    "apx_code_opts_default": (CodeOpts, []),
    "apx_sparse_code": (_S, [_DM, _DM, _d, _P(CodeOpts), _DM, _P(CodeInfo)]),
    "apx_sparse_l0_exact": (_S, [_DM, _dp, _d, _dp, _dp]),
    "apx_cls_opts_default": (ClsOpts, []),
    "apx_sparse_nnls": (_S, [_DM, _DM, _P(ClsOpts), _DM, _P(ClsInfo)]),
    "apx_sparse_fcls": (_S, [_DM, _DM, _P(ClsOpts), _DM, _P(ClsInfo)]),
    "apx_unmix_opts_default": (UnmixOpts, []),
    "apx_sparse_unmix": (_S, [_DM, _DM, _dp, _P(UnmixOpts), _DM, _P(UnmixInfo)]),
}.items():
    _lib._PROTOTYPES.setdefault(_name, _proto)

_SOLVERS = {"auto": 0, "gram": 1, "covariance": 1, "residual": 2, "naive": 2}
_PENALTIES = {"l1": 0, "l0": 1, "lq": 2, "cel0": 3}

# ---------------------------------------------------------------- helpers


def _finite_float(v, where, name):
    try:
        f = float(v)
    except (TypeError, ValueError):
        fail(Status.EINVAL, f"{where}: {name} must be a number, got {v!r}")
    return f


def _enet_opts(where, fit_intercept, tol, max_epochs, positive, screening, working_set,
               solver, progress, guard):
    o = fn("apx_enet_opts_default")()
    o.fit_intercept = 1 if fit_intercept else 0
    o.tol = _finite_float(tol, where, "tol")
    if max_epochs is not None:
        o.max_epochs = _lib.c_int_range(max_epochs, where, "max_epochs")
    o.positive = 1 if positive else 0
    o.screening = 1 if screening else 0
    o.working_set = 1 if working_set else 0
    if solver not in _SOLVERS:
        fail(Status.EINVAL, f"{where}: solver must be one of {sorted(_SOLVERS)}, got {solver!r}")
    o.solver = _SOLVERS[solver]
    o.progress, cfn = _lib.make_progress(progress, guard)
    return o, cfn


def _enet_info(info, status):
    return {"gap": float(info.gap), "gap_tol": float(info.gap_tol),
            "primal": float(info.primal), "converged": bool(info.converged) and status == 0,
            "epochs": int(info.epochs), "outer": int(info.outer), "nnz": int(info.nnz),
            "screened": int(info.screened), "ws_size": int(info.ws_size),
            "solver": "gram" if info.gram else "residual", "seconds": float(info.seconds)}


def _finish(st, strict, guard, where):
    if not (st == Status.ENOCONV and not strict and guard.exc is None):
        guard.reraise(st, where)


def _is_sparse(X):
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


class _CsrDesign:
    """A scipy.sparse matrix as an apx_csr view (CSR/CSC/COO converted with .tocsr(), never
    densified); keeps the arrays alive. shape as NumPy's."""

    def __init__(self, X):
        M = X.tocsr()
        self.ip = np.ascontiguousarray(M.indptr, dtype=np.int64)
        self.ix = np.ascontiguousarray(M.indices, dtype=np.int64)
        self.v = np.ascontiguousarray(M.data, dtype=np.float64)
        self.shape = M.shape
        self.view = Csr(M.shape[0], M.shape[1], self.v.shape[0],
                        self.ip.ctypes.data_as(_lib.c_i64p), self.ix.ctypes.data_as(_lib.c_i64p),
                        self.v.ctypes.data_as(_lib.c_dp))


def _design(X, where):
    x, Xv = as_matrix(X, where, "X")
    return x, Xv


def _enet_design(X, where):
    """(array or _CsrDesign, C view): dense 2-D arrays as Dmat, scipy.sparse as Csr."""
    if _is_sparse(X):
        if len(X.shape) != 2:
            fail(Status.ESHAPE, f"{where}: X must be 2-D, got shape {X.shape}")
        d = _CsrDesign(X)
        return d, d.view
    x, Xv = as_matrix(X, where, "X")
    return x, Xv


# ====================================================================== Lasso / elastic net


def enet(X, y, alpha, l1_ratio=0.5, fit_intercept=True, tol=1e-6, max_epochs=None,
         positive=False, screening=True, working_set=True, solver="auto", coef_init=None,
         progress=None, strict=True):
    """Elastic net by coordinate descent with gap-safe screening and working sets.

    X: (n, p), a dense array or a scipy.sparse matrix (CSR, CSC or COO: used as CSR, never
    densified; the intercept is fitted by implicit centring); y: (n,); alpha >= 0;
    l1_ratio in [0, 1].  Minimizes scikit-learn's
    1/(2n) ||y - X w - b||^2 + alpha (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2).
    solver: "auto", "gram" (covariance updates on the working set) or "residual" (naive
    updates).  coef_init (p,) warm-starts.  Returns (coef (p,), intercept (float), info)
    with info a dict: gap (duality gap reached, as scikit-learn's dual_gap_), gap_tol,
    primal, converged, epochs, outer, nnz, screened, ws_size, solver, seconds.
    """
    where = "lasso" if l1_ratio == 1.0 else "enet"
    x, Xv = _enet_design(X, where)
    yv, yp = _lib.as_vector(y, where, "y", x.shape[0])
    alpha = _finite_float(alpha, where, "alpha")
    l1_ratio = _finite_float(l1_ratio, where, "l1_ratio")
    guard = _lib.CallbackGuard()
    o, _keep = _enet_opts(where, fit_intercept, tol, max_epochs, positive, screening,
                          working_set, solver, progress, guard)
    p = x.shape[1]
    if coef_init is not None:
        coef, cp = _lib.as_vector(np.array(coef_init, dtype=np.float64), where, "coef_init", p)
        coef = coef.copy()
        cp = coef.ctypes.data_as(_lib.c_dp)
        o.warm_start = 1
    else:
        coef, cp = out_vector(p)
    b = ctypes.c_double(0.0)
    info = EnetInfo()
    cname = "apx_sparse_enet_csr" if isinstance(x, _CsrDesign) else "apx_sparse_enet"
    st = fn(cname)(Xv, yp, alpha, l1_ratio, ctypes.byref(o), cp, ctypes.byref(b),
                   ctypes.byref(info))
    _finish(st, strict, guard, where)
    return coef, float(b.value), _enet_info(info, st)


def lasso(X, y, alpha, l1_ratio=1.0, fit_intercept=True, tol=1e-6, **kw):
    """The Lasso (elastic net with l1_ratio = 1 by default): see enet for the arguments.
    Returns (coef (p,), intercept, info) with the duality gap in info["gap"]."""
    return enet(X, y, alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=tol, **kw)


def multitask_enet(X, Y, alpha, l1_ratio=0.5, fit_intercept=True, tol=1e-6, max_epochs=None,
                   screening=True, working_set=True, solver="auto", progress=None,
                   strict=True):
    """Multi-task elastic net (scikit-learn's MultiTaskElasticNet objective):
    1/(2n) ||Y - X W - 1 b^T||_F^2 + alpha (l1_ratio ||W||_{2,1} + (1-l1_ratio)/2 ||W||_F^2).

    X: (n, p); Y: (n, T).  Returns (W (p, T), intercept (T,), info).  (scikit-learn's
    coef_ is W.T.)
    """
    where = "multitask_enet"
    if _is_sparse(X):
        fail(Status.EINVAL, f"{where}: X must be dense (the multi-task model has no CSR "
                            f"variant); got a scipy.sparse matrix")
    x, Xv = _design(X, where)
    yarr, Yv = as_matrix(Y, where, "Y")
    alpha = _finite_float(alpha, where, "alpha")
    l1_ratio = _finite_float(l1_ratio, where, "l1_ratio")
    guard = _lib.CallbackGuard()
    o, _keep = _enet_opts(where, fit_intercept, tol, max_epochs, False, screening, working_set,
                          solver, progress, guard)
    T = yarr.shape[1]
    W, Wv = out_matrix(x.shape[1], T)
    b, bp = out_vector(max(T, 1))
    info = EnetInfo()
    st = fn("apx_sparse_multitask_enet")(Xv, Yv, alpha, l1_ratio, ctypes.byref(o), Wv, bp,
                                         ctypes.byref(info))
    _finish(st, strict, guard, where)
    return W, b[:T], _enet_info(info, st)


def multitask_lasso(X, Y, alpha, fit_intercept=True, tol=1e-6, **kw):
    """Multi-task Lasso (l1_ratio = 1): returns (W (p, T), intercept (T,), info)."""
    return multitask_enet(X, Y, alpha, l1_ratio=1.0, fit_intercept=fit_intercept, tol=tol, **kw)


def alpha_grid(X, y, l1_ratio=1.0, fit_intercept=True, eps=1e-3, n_alphas=100):
    """scikit-learn's alpha grid: n_alphas values from alpha_max = max_j |x_j^T (y - ybar)| /
    (n l1_ratio) down to eps * alpha_max, log-spaced, descending. y may be (n,) or (n, T)
    (T = 1 for a scipy.sparse X, which is used as CSR without densifying)."""
    where = "alpha_grid"
    x, Xv = _enet_design(X, where)
    if isinstance(x, _CsrDesign):
        return _alpha_grid_csr(x, y, l1_ratio, fit_intercept, eps, n_alphas, where)
    yarr = _lib._to_array(y, where, "y")
    if yarr.ndim == 1:
        yarr = yarr.reshape(-1, 1)
    yarr, Yv = as_matrix(yarr, where, "y")
    n_alphas = _lib.check_int(n_alphas, where, "n_alphas")
    if n_alphas < 1:
        fail(Status.EINVAL, f"{where}: n_alphas must be >= 1, got {n_alphas}")
    out, op = out_vector(n_alphas)
    _lib.check(fn("apx_sparse_alpha_grid")(Xv, Yv, _finite_float(l1_ratio, where, "l1_ratio"),
                                           1 if fit_intercept else 0,
                                           _finite_float(eps, where, "eps"), n_alphas, op),
               where)
    return out


def _alpha_grid_csr(x, y, l1_ratio, fit_intercept, eps, n_alphas, where):
    yv, yp = _lib.as_vector(y, where, "y", x.shape[0])
    n_alphas = _lib.check_int(n_alphas, where, "n_alphas")
    if n_alphas < 1:
        fail(Status.EINVAL, f"{where}: n_alphas must be >= 1, got {n_alphas}")
    out, op = out_vector(n_alphas)
    _lib.check(fn("apx_sparse_alpha_grid_csr")(x.view, yp,
                                               _finite_float(l1_ratio, where, "l1_ratio"),
                                               1 if fit_intercept else 0,
                                               _finite_float(eps, where, "eps"), n_alphas, op),
               where)
    return out


def enet_path(X, y, l1_ratio=0.5, alphas=None, eps=1e-3, n_alphas=100, fit_intercept=True,
              tol=1e-6, max_epochs=None, positive=False, solver="auto", progress=None,
              strict=True):
    """Elastic-net regularization path, warm-started along alphas (default: alpha_grid).
    X dense or scipy.sparse (used as CSR, never densified; one column-major copy per path).

    Returns (alphas (k,), coefs (p, k), intercepts (k,), gaps (k,)): column i of coefs is
    the solution at alphas[i] (scikit-learn's enet_path layout); gaps are the duality gaps
    reached (normalized as dual_gap_).
    """
    where = "enet_path"
    x, Xv = _enet_design(X, where)
    yv, yp = _lib.as_vector(y, where, "y", x.shape[0])
    if alphas is None:
        alphas = alpha_grid(X if isinstance(x, _CsrDesign) else x, yv, l1_ratio, fit_intercept,
                            eps, n_alphas)
    al, ap = _lib.as_vector(np.array(alphas, dtype=np.float64).ravel(), where, "alphas")
    guard = _lib.CallbackGuard()
    o, _keep = _enet_opts(where, fit_intercept, tol, max_epochs, positive, True, True, solver,
                          progress, guard)
    k, p = al.shape[0], x.shape[1]
    C, Cv = out_matrix(k, p)
    b, bp = out_vector(max(k, 1))
    g, gp = out_vector(max(k, 1))
    cname = "apx_sparse_enet_path_csr" if isinstance(x, _CsrDesign) else "apx_sparse_enet_path"
    st = fn(cname)(Xv, yp, _finite_float(l1_ratio, where, "l1_ratio"), ap, k, ctypes.byref(o),
                   Cv, bp, gp, None)
    _finish(st, strict, guard, where)
    return al.copy(), C.T.copy(), b[:k].copy(), g[:k].copy()


def lasso_path(X, y, alphas=None, eps=1e-3, n_alphas=100, fit_intercept=True, tol=1e-6, **kw):
    """Lasso path (enet_path with l1_ratio = 1): (alphas, coefs (p, k), intercepts, gaps)."""
    return enet_path(X, y, l1_ratio=1.0, alphas=alphas, eps=eps, n_alphas=n_alphas,
                     fit_intercept=fit_intercept, tol=tol, **kw)


# ====================================================================== constrained least squares


def _cls(cname, where, A, b, max_iters, tol, return_info, strict):
    a, Av = as_matrix(A, where, "A")
    barr = _lib._to_array(b, where, "b")
    vec = barr.ndim == 1
    if barr.ndim not in (1, 2):
        fail(Status.ESHAPE, f"{where}: b must be 1-D or 2-D, got shape {barr.shape}")
    bm, Bv = as_matrix(barr.reshape(-1, 1) if vec else barr, where, "b")
    o = fn("apx_cls_opts_default")()
    if max_iters is not None:
        o.max_iters = _lib.c_int_range(max_iters, where, "max_iters")
    if tol is not None:
        o.tol = _finite_float(tol, where, "tol")
    X, Xv = out_matrix(a.shape[1], bm.shape[1])
    info = ClsInfo()
    st = fn(cname)(Av, Bv, ctypes.byref(o), Xv, ctypes.byref(info))
    if not (st == Status.ENOCONV and not strict):
        _lib.check(st, where)
    x = X[:, 0].copy() if vec else X
    d = {"iterations": int(info.iterations), "converged": bool(info.converged) and st == 0,
         "rnorm": float(info.rnorm)}
    return (x, float(info.rnorm), d) if return_info else (x, float(info.rnorm))


def nnls(A, b, max_iters=None, tol=None, return_info=False, strict=True):
    """Non-negative least squares min ||A x - b|| s.t. x >= 0 (Lawson-Hanson active set,
    each subproblem by QR-based least squares), as scipy.optimize.nnls.

    A: (m, n); b: (m,) or (m, r) (each column solved).  max_iters per column (default
    3 n).  Returns (x, rnorm) [+ info dict: iterations, converged, rnorm].
    """
    return _cls("apx_sparse_nnls", "nnls", A, b, max_iters, tol, return_info, strict)


def fcls(A, b, max_iters=None, tol=None, return_info=False, strict=True):
    """Fully constrained least squares min ||A x - b|| s.t. x >= 0, sum(x) = 1 (exact
    active set; spectral unmixing with endmembers in the columns of A).

    A: (m, n); b: (m,) or (m, r).  Returns (x, rnorm) [+ info dict].
    """
    return _cls("apx_sparse_fcls", "fcls", A, b, max_iters, tol, return_info, strict)


# ====================================================================== greedy and exact l0


def _greedy_opts(where, fit_intercept, tol=None, max_iters=None, iht_tol=None, debias=True,
                 swaps=0):
    o = fn("apx_greedy_opts_default")()
    o.fit_intercept = 1 if fit_intercept else 0
    if tol is not None:
        o.tol = _finite_float(tol, where, "tol")
    if max_iters is not None:
        o.max_iters = _lib.c_int_range(max_iters, where, "max_iters")
    if iht_tol is not None:
        o.iht_tol = _finite_float(iht_tol, where, "tol")
    o.debias = 1 if debias else 0
    o.swaps = _lib.c_int_range(swaps, where, "swaps")
    return o


def _greedy_info(info, st):
    return {"nnz": int(info.nnz), "iterations": int(info.iterations), "rss": float(info.rss),
            "converged": bool(info.converged) and st == 0}


def omp(X, y, n_nonzero_coefs=None, tol=None, fit_intercept=True):
    """Orthogonal matching pursuit (scikit-learn's OrthogonalMatchingPursuit): greedily
    select the column with the largest |x_j^T r| (columns are not rescaled), refit least
    squares on the selection (Cholesky updates), until n_nonzero_coefs atoms (default
    max(1, p // 10), as scikit-learn) or ||r||^2 <= tol (tol overrides n_nonzero_coefs).

    X: (n, p); y: (n,).  Returns (coef (p,), intercept, info) with info: nnz, iterations,
    rss, converged (False when it stopped on a linearly dependent atom).
    """
    where = "omp"
    x, Xv = _design(X, where)
    yv, yp = _lib.as_vector(y, where, "y", x.shape[0])
    p = x.shape[1]
    if n_nonzero_coefs is None:
        n_nonzero_coefs = max(int(0.1 * p), 1)
    k = _lib.check_int(n_nonzero_coefs, where, "n_nonzero_coefs")
    o = _greedy_opts(where, fit_intercept, tol=tol)
    coef, cp = out_vector(p)
    b = ctypes.c_double(0.0)
    info = GreedyInfo()
    st = fn("apx_sparse_omp")(Xv, yp, k, ctypes.byref(o), cp, ctypes.byref(b), ctypes.byref(info))
    _lib.check(st, where)
    return coef, float(b.value), _greedy_info(info, st)


def iht(X, y, k, fit_intercept=True, max_iters=None, tol=None, debias=True, swaps=0,
        strict=True):
    """Normalized iterative hard thresholding for min ||y - X w||^2 s.t. ||w||_0 <= k,
    then (debias) least squares on the support found, then (swaps > 0) up to `swaps`
    sweeps of swap local search (best single swap while it lowers the residual).

    X: (n, p); y: (n,); 1 <= k <= p.  Returns (coef (p,), intercept, info).
    """
    where = "iht"
    x, Xv = _design(X, where)
    yv, yp = _lib.as_vector(y, where, "y", x.shape[0])
    k = _lib.check_int(k, where, "k")
    o = _greedy_opts(where, fit_intercept, max_iters=max_iters, iht_tol=tol, debias=debias,
                     swaps=swaps)
    coef, cp = out_vector(x.shape[1])
    b = ctypes.c_double(0.0)
    info = GreedyInfo()
    st = fn("apx_sparse_iht")(Xv, yp, k, ctypes.byref(o), cp, ctypes.byref(b), ctypes.byref(info))
    if not (st == Status.ENOCONV and not strict):
        _lib.check(st, where)
    return coef, float(b.value), _greedy_info(info, st)


def best_subset(X, y, kmax, fit_intercept=True):
    """Exact best-subset selection by enumeration: for each size s = 0..kmax the subset
    minimizing the residual sum of squares.  Returns (coefs (kmax+1, p), rss (kmax+1,));
    row s holds the best s-sparse coefficients (inf rss: no independent subset of size s).
    """
    where = "best_subset"
    x, Xv = _design(X, where)
    yv, yp = _lib.as_vector(y, where, "y", x.shape[0])
    kmax = _lib.check_int(kmax, where, "kmax")
    if not 0 <= kmax <= x.shape[1]:
        fail(Status.EINVAL, f"{where}: kmax must be in 0..p = {x.shape[1]}, got {kmax}")
    C, Cv = out_matrix(kmax + 1, x.shape[1])
    rss, rp = out_vector(kmax + 1)
    _lib.check(fn("apx_sparse_best_subset")(Xv, yp, kmax, 1 if fit_intercept else 0, Cv, rp),
               where)
    return C, rss


def _penalty_args(where, penalty, lam, q):
    if penalty not in _PENALTIES:
        fail(Status.EINVAL, f"{where}: penalty must be one of {sorted(_PENALTIES)}, got "
                            f"{penalty!r}")
    return _PENALTIES[penalty], _finite_float(lam, where, "lam"), _finite_float(q, where, "q")


def prox(z, penalty, lam, step=1.0, q=0.5, norms=None):
    """Element-wise proximal operator argmin_a 1/2 (a - z)^2 + step * lam * R(a) for the
    penalty "l1", "l0", "lq" (|a|^q, 0 < q < 1) or "cel0" (needs the atom norms)."""
    where = "prox"
    pen, lam, q = _penalty_args(where, penalty, lam, q)
    zv, zp = _lib.as_vector(np.ravel(np.asarray(z, dtype=np.float64)), where, "z")
    n = zv.shape[0]
    nv, np_ = (None, None)
    if norms is not None:
        nv, np_ = _lib.as_vector(np.broadcast_to(np.asarray(norms, dtype=np.float64), (n,)).copy(),
                                 where, "norms", n)
    out, op = out_vector(n)
    _lib.check(fn("apx_sparse_prox")(pen, lam, q, _finite_float(step, where, "step"), np_, zp,
                                     n, op), where)
    return out.reshape(np.shape(z))


def penalty(a, penalty, lam, q=0.5, norms=None):
    """The penalty value sum_i lam * R(a_i) (see prox)."""
    where = "penalty"
    pen, lam, q = _penalty_args(where, penalty, lam, q)
    av, ap = _lib.as_vector(np.ravel(np.asarray(a, dtype=np.float64)), where, "a")
    n = av.shape[0]
    np_ = None
    if norms is not None:
        nv, np_ = _lib.as_vector(np.broadcast_to(np.asarray(norms, dtype=np.float64), (n,)).copy(),
                                 where, "norms", n)
    v = ctypes.c_double(0.0)
    _lib.check(fn("apx_sparse_penalty")(pen, lam, q, np_, ap, n, ctypes.byref(v)), where)
    return float(v.value)


def sparse_code(X, dictionary, lam, penalty="l1", q=0.5, max_iters=None, tol=None,
                accelerate=True, init=None, progress=None, return_info=False, strict=True):
    """Sparse coding of the rows of X (N, m) on dictionary (K, m) (atoms as rows, as
    scikit-learn's SparseCoder): codes A (N, K) minimizing per sample
    1/2 ||x - a D||^2 + lam R(a) by proximal gradient (FISTA for l1).

    penalty: "l1", "l0", "lq" (exponent q) or "cel0".  init (N, K) warm-starts.  Returns A
    [+ info dict: iterations, converged, objective, rel_error, nnz_mean, step, seconds].
    """
    where = "sparse_code"
    xa, Xv = as_matrix(X, where, "X")
    da, Dv = as_matrix(dictionary, where, "dictionary")
    pen, lam, q = _penalty_args(where, penalty, lam, q)
    o = fn("apx_code_opts_default")()
    o.penalty, o.q = pen, q
    if max_iters is not None:
        o.max_iters = _lib.c_int_range(max_iters, where, "max_iters")
    if tol is not None:
        o.tol = _finite_float(tol, where, "tol")
    o.accelerate = 1 if accelerate else 0
    guard = _lib.CallbackGuard()
    o.progress, _keep = _lib.make_progress(progress, guard)
    A, Av = out_matrix(xa.shape[0], da.shape[0])
    if init is not None:
        ia = np.asarray(init, dtype=np.float64)
        if ia.shape != A.shape:
            fail(Status.ESHAPE, f"{where}: init must have shape {A.shape}, got {ia.shape}")
        A[...] = ia
        o.warm_start = 1
    info = CodeInfo()
    st = fn("apx_sparse_code")(Dv, Xv, lam, ctypes.byref(o), Av, ctypes.byref(info))
    _finish(st, strict, guard, where)
    if return_info:
        return A, {"iterations": int(info.iterations),
                   "converged": bool(info.converged) and st == 0,
                   "objective": float(info.objective), "rel_error": float(info.rel_error),
                   "nnz_mean": float(info.nnz_mean), "step": float(info.step),
                   "seconds": float(info.seconds)}
    return A


def l0_exact(dictionary, x, lam):
    """Exact min_a 1/2 ||x - a D||^2 + lam ||a||_0 by enumerating all 2^K supports
    (K <= 24 atoms, the rows of dictionary (K, m)).  Returns (a (K,), objective)."""
    where = "l0_exact"
    da, Dv = as_matrix(dictionary, where, "dictionary")
    xv, xp = _lib.as_vector(x, where, "x", da.shape[1])
    a, ap = out_vector(da.shape[0])
    obj = ctypes.c_double(0.0)
    _lib.check(fn("apx_sparse_l0_exact")(Dv, xp, _finite_float(lam, where, "lam"), ap,
                                         ctypes.byref(obj)), where)
    return a, float(obj.value)


def unmix(Y, M, lam=0.01, p=0.5, p_map=None, l21=True, max_iters=None, tol=None, eps=None,
          return_info=False, strict=True):
    """l_{2,1}-robust sparse spectral unmixing with known endmembers (P004): abundances
    A (K, N) >= 0, columns summing to one, minimizing
    sum_l ||(Y - M A)_{l,:}||_2 + lam sum_n sum_k |A_kn|^{p_n}  (l21=False: 1/2 ||Y - MA||_F^2
    + the same penalty) by majorize-minimize with exact FCLS steps.

    Y: (L, N) pixels in columns; M: (L, K) endmembers in columns; p_map (N,) per-pixel
    exponents in (0, 1] (default p everywhere).  Returns A [+ info dict: iterations,
    converged, objective, smoothed, monotone].
    """
    where = "unmix"
    ya, Yv = as_matrix(Y, where, "Y")
    ma, Mv = as_matrix(M, where, "M")
    o = fn("apx_unmix_opts_default")()
    o.lam = _finite_float(lam, where, "lam")
    o.p = _finite_float(p, where, "p")
    o.l21 = 1 if l21 else 0
    if max_iters is not None:
        o.max_iters = _lib.c_int_range(max_iters, where, "max_iters")
    if tol is not None:
        o.tol = _finite_float(tol, where, "tol")
    if eps is not None:
        o.eps = _finite_float(eps, where, "eps")
    pp = None
    if p_map is not None:
        pv, pp = _lib.as_vector(p_map, where, "p_map", ya.shape[1])
    A, Av = out_matrix(ma.shape[1], ya.shape[1])
    info = UnmixInfo()
    st = fn("apx_sparse_unmix")(Yv, Mv, pp, ctypes.byref(o), Av, ctypes.byref(info))
    if not (st == Status.ENOCONV and not strict):
        _lib.check(st, where)
    if return_info:
        return A, {"iterations": int(info.iterations),
                   "converged": bool(info.converged) and st == 0,
                   "objective": float(info.objective), "smoothed": float(info.smoothed),
                   "monotone": bool(info.monotone)}
    return A


# ====================================================================== P074: active MTRL

_MTRL_RULES = {"nu1": 0, "nu2": 1, "uniform": 2}


def _synth_dict(s):
    d, k, M = int(s.d), int(s.k), int(s.M)
    arr = lambda p, n: np.ctypeslib.as_array(p, shape=(n,)).copy()  # noqa: E731
    return {"B": arr(s.B, d * k).reshape(d, k), "W": arr(s.W, k * M).reshape(k, M),
            "w0": arr(s.w0, k), "nu": arr(s.nu, M)}


def mtrl_synth(d=50, k=3, M=20, relevant=3, noise=0.3, seed=0):
    """The synthetic multi-task model of apx.mtrl_select (include/apx/sparse.h): returns a
    dict with B (d, k) orthonormal, the source heads W (k, M), the target head w0 (k,) and
    nu (M,), the unique minimum-l1 representation w0 = W nu whose support (`relevant`
    sources) are the relevant sources."""
    where = "mtrl_synth"
    s = MtrlSynth()
    args = [_lib.check_int(v, where, n) for v, n in ((d, "d"), (k, "k"), (M, "M"),
                                                    (relevant, "relevant"))]
    _lib.check(fn("apx_sparse_mtrl_synth_create")(*args, _finite_float(noise, where, "noise"),
                                                  _lib.c_seed(seed, where), ctypes.byref(s)),
               where)
    try:
        return _synth_dict(s)
    finally:
        fn("apx_sparse_mtrl_synth_free")(ctypes.byref(s))


def _py_sampler(sampler, d, guard):
    def tramp(ctx, m, n, draw, Xp, yp):
        try:
            X, y = sampler(int(m), int(n), int(draw))
            X = np.asarray(X, dtype=np.float64).reshape(n, d)
            y = np.asarray(y, dtype=np.float64).reshape(n)
            if n:
                np.ctypeslib.as_array(Xp, shape=(n * d,))[:] = X.ravel()
                np.ctypeslib.as_array(yp, shape=(n,))[:] = y
            return 0
        except BaseException as e:  # re-raised after the C call returns
            guard.capture(e)
            return 1
    return MtrlSampler(tramp)


def mtrl_select(d=50, M=20, k=3, relevant=3, noise=0.3, seed=0, rule="nu1", n_stage1=100,
                budget=4000, n_target=100, alpha=1e-2, tol=1e-10, sampler=None):
    """Active multi-task representation learning via the Lasso (P074), three stages at a
    fixed budget (the estimator is documented in include/apx/sparse.h, apx_sparse_mtrl):
    stage 1 samples every source (n_stage1 each) and the target (n_target), estimates the
    shared representation (SVD of the stacked per-source least-squares solutions) and the
    heads W1 (k, M), w0_1 (k,); stage 2 solves the Lasso
    nu = argmin 1/(2k) ||w0_1 - W1 nu||^2 + alpha ||nu||_1 (scikit-learn's Lasso on the k
    rows of W1, fit_intercept=False) and the minimum-norm nu_l2 = pinv(W1) w0_1; stage 3
    spends `budget` source samples in proportion to |nu| (rule "nu1"), nu_l2^2 ("nu2",
    Chen et al. 2022) or uniformly ("uniform"), re-estimates B and refits the target.

    sampler: None for the synthetic model (mtrl_synth(d, k, M, relevant, noise, seed)), or a
    callable sampler(m, n, draw) -> (X (n, d), y (n,)) for task m (0..M-1 sources, M the
    target; draw counts the calls for that task).
    Returns a dict: nu (M,), nu_l2 (M,), W1 (k, M), w0_1 (k,), alloc (M,) int, B (d, k),
    beta0 (d,) (the target predictor), nnz, lasso_gap, samples; for the synthetic model
    also risk (the target excess risk ||beta0 - B w0||^2) and truth (mtrl_synth's dict).
    """
    where = "mtrl"
    if rule not in _MTRL_RULES:
        fail(Status.EINVAL, f"{where}: rule must be one of {sorted(_MTRL_RULES)}, got {rule!r}")
    d, M, k = (_lib.check_int(v, where, n) for v, n in ((d, "d"), (M, "M"), (k, "k")))
    o = fn("apx_mtrl_opts_default")()
    o.k, o.rule = k, _MTRL_RULES[rule]
    o.n_stage1 = _lib.check_int(n_stage1, where, "n_stage1")
    o.budget = _lib.check_int(budget, where, "budget")
    o.n_target = _lib.check_int(n_target, where, "n_target")
    o.alpha, o.tol = _finite_float(alpha, where, "alpha"), _finite_float(tol, where, "tol")
    if d < 1 or M < 1 or k < 1:
        fail(Status.EINVAL, f"{where}: d = {d}, M = {M} and k = {k} must be >= 1")
    res = {"nu": np.zeros(M), "nu_l2": np.zeros(M), "W1": np.zeros((k, M)),
           "w0_1": np.zeros(k), "alloc": np.zeros(M, dtype=np.int64), "B": np.zeros((d, k)),
           "beta0": np.zeros(d)}
    out = MtrlOut(*(res[n].ctypes.data_as(_lib.c_i64p if n == "alloc" else _lib.c_dp)
                    for n in ("nu", "nu_l2", "W1", "w0_1", "alloc", "B", "beta0")))
    info = MtrlInfo()
    guard = _lib.CallbackGuard()
    synth = None
    if sampler is None:
        synth = MtrlSynth()
        _lib.check(fn("apx_sparse_mtrl_synth_create")(
            d, k, M, _lib.check_int(relevant, where, "relevant"),
            _finite_float(noise, where, "noise"), _lib.c_seed(seed, where),
            ctypes.byref(synth)), "mtrl_synth")
        cb = ctypes.cast(_lib.lib.apx_sparse_mtrl_synth_sample, MtrlSampler)
        ctx = ctypes.cast(ctypes.byref(synth), ctypes.c_void_p)
    else:
        cb, ctx = _py_sampler(sampler, d, guard), None
    try:
        st = fn("apx_sparse_mtrl")(d, M, cb, ctx, ctypes.byref(o), ctypes.byref(out),
                                   ctypes.byref(info))
        guard.reraise(st, where)
        res.update(nnz=int(info.nnz), lasso_gap=float(info.lasso_gap),
                   samples=int(info.samples))
        if synth is not None:
            res["risk"] = float(fn("apx_sparse_mtrl_synth_risk")(
                ctypes.byref(synth), res["beta0"].ctypes.data_as(_lib.c_dp)))
            res["truth"] = _synth_dict(synth)
    finally:
        if synth is not None:
            fn("apx_sparse_mtrl_synth_free")(ctypes.byref(synth))
    return res
