"""Random embeddings, leverage scores, Lewis weights and row sampling (include/apx/sketch.h).

    SA = apx.sketch(A, "srht", 400, seed=0)        # (400, n) = S A, E[S^T S] = I
    plan = apx.SketchPlan("sparse-sign", 400, A.shape[0], seed=0)
    SA, SB = plan.apply(A), plan.apply(B)           # the same S for both
    lev = apx.leverage_scores(A, method="approx")   # (m,), sums to rank(A)
    w = apx.lewis_weights(A, 1.0)                   # (m,), l_1 Lewis weights
    s = apx.lp_sensitivities(A, 1.0)                # (m,), exact l_1 sensitivities (P007)
    idx, wt = apx.sample_rows(A, 200, method="sensitivity", p=1.0, seed=0)
    idx = apx.dpp_sample(U, seed=0)                 # projection DPP, U orthonormal (P001)
    coef, info = apx.wls_sampling(f, 10, sampler="volume", seed=0)   # P001 on [-1, 1]

Kinds: "gaussian", "rademacher", "srht" (subsampled randomized Hadamard, rows <= the next
power of two >= m), "countsketch", "sparse-sign". Inputs as in apx.la: float64 C-order
arrays pass without a copy; outputs are new arrays; failures raise apx.Error. The same seed
gives bit-identical results for any thread count.
"""
from __future__ import annotations

import ctypes
import threading

import numpy as np

from . import _lib
from ._lib import Dmat, Status, as_matrix, c_dp, c_i64, c_i64p, c_u64, check, fail, out_matrix

__all__ = ["sketch", "SketchPlan", "sketch_kinds", "fwht", "leverage_scores", "lewis_weights",
           "sample_rows", "sample_methods", "dpp_sample", "volume_sample", "legendre_basis",
           "wls_sampling", "lp_sensitivities", "sensitivity_bounds", "sensitivity_sample",
           "sampled_lp_regression", "wls_fit"]

# ---------------------------------------------------------------- ctypes mirror


class SketchOpts(ctypes.Structure):
    _fields_ = [("nnz_per_col", c_i64), ("cache_limit", c_i64)]


class LeverageOpts(ctypes.Structure):
    _fields_ = [("rcond", ctypes.c_double), ("sketch", ctypes.c_int), ("sketch_rows", c_i64),
                ("jl_dim", c_i64), ("seed", c_u64)]


class LewisOpts(ctypes.Structure):
    _fields_ = [("max_iters", ctypes.c_int), ("tol", ctypes.c_double)]


class WlsOpts(ctypes.Structure):
    _fields_ = [("sampler", ctypes.c_int), ("n", c_i64), ("repeats", c_i64), ("seed", c_u64),
                ("max_proposals", c_i64)]


class WlsInfo(ctypes.Structure):
    _fields_ = [("points", c_i64), ("proposals", c_i64), ("gram_cond", ctypes.c_double)]


class SensOpts(ctypes.Structure):
    _fields_ = [("max_iters", ctypes.c_int), ("tol", ctypes.c_double),
                ("progress", _lib.Progress)]


class SensInfo(ctypes.Structure):
    _fields_ = [("total", ctypes.c_double), ("max_gap", ctypes.c_double),
                ("iterations", c_i64), ("uncertified", c_i64)]


class SampledLpInfo(ctypes.Structure):
    _fields_ = [("kept", c_i64), ("cost", ctypes.c_double), ("seconds", ctypes.c_double)]


_S = ctypes.c_int
_P = ctypes.POINTER
_vp = ctypes.c_void_p
_PROTOTYPES = {
    "apx_embed_name": (ctypes.c_char_p, [ctypes.c_int]),
    "apx_sketch_opts_default": (SketchOpts, []),
    "apx_sketch_plan_create": (_S, [ctypes.c_int, c_i64, c_i64, c_u64, _P(SketchOpts), _P(_vp)]),
    "apx_sketch_apply": (_S, [_vp, Dmat, Dmat]),
    "apx_sketch_plan_matrix": (_S, [_vp, Dmat]),
    "apx_sketch_plan_free": (None, [_vp]),
    "apx_sketch": (_S, [ctypes.c_int, Dmat, c_u64, _P(SketchOpts), Dmat]),
    "apx_sketch_fwht": (_S, [Dmat]),
    "apx_leverage_opts_default": (LeverageOpts, []),
    "apx_sketch_leverage_scores": (_S, [Dmat, ctypes.c_int, _P(LeverageOpts), c_dp, c_i64p]),
    "apx_lewis_opts_default": (LewisOpts, []),
    "apx_sketch_lewis_weights": (_S, [Dmat, ctypes.c_double, _P(LewisOpts), c_dp]),
    "apx_sketch_sample_rows": (_S, [c_dp, c_i64, ctypes.c_double, c_u64, c_i64p, c_dp,
                                    c_i64p]),
    "apx_sketch_dpp_sample": (_S, [Dmat, c_u64, c_i64p]),
    "apx_sketch_volume_sample": (_S, [Dmat, c_i64, c_u64, c_i64p, c_dp]),
    "apx_wls_opts_default": (WlsOpts, []),
    "apx_wls_count": (c_i64, [c_i64, _P(WlsOpts)]),
    "apx_sketch_legendre": (_S, [c_dp, c_i64, Dmat]),
    "apx_sketch_wls_points": (_S, [c_i64, _P(WlsOpts), c_dp, c_dp, _P(WlsInfo)]),
    "apx_sketch_wls_grid_points": (_S, [Dmat, c_dp, _P(WlsOpts), c_i64p, c_dp, _P(WlsInfo)]),
    "apx_sketch_wls_fit": (_S, [Dmat, c_dp, c_dp, c_dp, c_dp]),
    "apx_sensitivity_opts_default": (SensOpts, []),
    "apx_sketch_lp_sensitivities": (_S, [Dmat, ctypes.c_double, _P(SensOpts), c_dp,
                                         _P(SensInfo)]),
    "apx_sketch_sensitivity_bounds": (_S, [Dmat, ctypes.c_double, ctypes.c_int, c_dp]),
    "apx_sketch_sample": (_S, [Dmat, ctypes.c_int, ctypes.c_double, ctypes.c_double, c_u64,
                               c_i64p, c_dp, c_i64p]),
    "apx_sketch_sampled_lp_regress": (_S, [Dmat, c_dp, ctypes.c_double, ctypes.c_int,
                                           ctypes.c_double, c_u64, c_dp,
                                           _P(SampledLpInfo)]),
}

_cache: dict = {}
_lock = threading.Lock()


def _fn(name, protos=None):
    """The C function `name` with its prototype (from `protos`, default this module's);
    Error(EUNSUPPORTED) when the loaded library predates it. Used by apx.solve and
    apx.regress too."""
    f = _cache.get(name)
    if f is not None:
        return f
    table = protos if protos is not None else _PROTOTYPES
    with _lock:
        if not _lib.has(name):
            raise _lib.Error(Status.EUNSUPPORTED,
                             f"{name}: not in the loaded library {_lib.lib_path} (rebuild it "
                             f"with `make lib`)")
        f = getattr(_lib.lib, name)
        f.restype, f.argtypes = table[name]
        _cache[name] = f
    return f


KINDS = {"gaussian": 0, "rademacher": 1, "srht": 2, "countsketch": 3, "sparse-sign": 4}
_ALIASES = {"sparse_sign": "sparse-sign", "sparse": "sparse-sign", "count": "countsketch",
            "count-sketch": "countsketch"}


def sketch_kinds():
    """The embedding kinds, as the library names them."""
    return list(KINDS)


def _kind(kind, where):
    k = _ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    if k not in KINDS:
        fail(Status.EINVAL, f"{where}: kind must be one of {sorted(KINDS)}, got {kind!r}")
    return KINDS[k]


def _opts(nnz_per_col, where):
    o = _fn("apx_sketch_opts_default")()
    if nnz_per_col is not None:
        o.nnz_per_col = _lib.check_int(nnz_per_col, where, "nnz_per_col")
    return o


def _rhs(B, where):
    b = _lib._to_array(B, where, "A")
    if b.ndim == 1:
        a, v = as_matrix(b.reshape(-1, 1), where, "A")
        return a, v, True
    a, v = as_matrix(b, where, "A")
    return a, v, False


# ---------------------------------------------------------------- embeddings


def sketch(A, kind, rows, seed=0, nnz_per_col=None):
    """S A for a random embedding S (rows, m) of the given kind.

    A: (m, n) or (m,).  Returns (rows, n) (or (rows,) for a vector).  nnz_per_col: the
    non-zeros per column of a "sparse-sign" sketch (default 8).
    """
    k = _kind(kind, "sketch")
    rows = _lib.check_int(rows, "sketch", "rows")
    a, Av, vec = _rhs(A, "sketch")
    if rows < 1:
        fail(Status.EINVAL, f"sketch: rows must be >= 1, got {rows}")
    o = _opts(nnz_per_col, "sketch")
    SA, Sv = out_matrix(rows, a.shape[1])
    check(_fn("apx_sketch")(k, Av, _lib.c_seed(seed, "sketch"), ctypes.byref(o), Sv), "sketch")
    return SA[:, 0].copy() if vec else SA


class SketchPlan(_lib.Handle):
    """A sketching plan: S (rows, n) fixed by (kind, rows, n, seed), applied to any number of
    matrices with n rows, like an FFTW plan. plan.apply(A) = S A; plan.matrix() = S (dense).
    """

    _free = "apx_sketch_plan_free"

    def __init__(self, kind, rows, n, seed=0, nnz_per_col=None):
        self._h = None
        self.kind = _ALIASES.get(kind, kind)
        k = _kind(kind, "SketchPlan")
        self.rows = _lib.check_int(rows, "SketchPlan", "rows")
        self.n = _lib.check_int(n, "SketchPlan", "n")
        o = _opts(nnz_per_col, "SketchPlan")
        h = _vp()
        check(_fn("apx_sketch_plan_create")(k, self.rows, self.n,
                                            _lib.c_seed(seed, "SketchPlan"), ctypes.byref(o),
                                            ctypes.byref(h)), "sketch_plan_create")
        self._h = h

    @property
    def shape(self):
        return (self.rows, self.n)

    def _handle(self):
        if not self._h:
            fail(Status.EINVAL, "SketchPlan: the plan is closed")
        return self._h

    def apply(self, A):
        """S A for A (n, d) or (n,): returns (rows, d) or (rows,)."""
        a, Av, vec = _rhs(A, "SketchPlan.apply")
        SA, Sv = out_matrix(self.rows, a.shape[1])
        check(_fn("apx_sketch_apply")(self._handle(), Av, Sv), "sketch_apply")
        return SA[:, 0].copy() if vec else SA

    __matmul__ = apply

    def matrix(self):
        """The dense S (rows, n)."""
        S, Sv = out_matrix(self.rows, self.n)
        check(_fn("apx_sketch_plan_matrix")(self._handle(), Sv), "sketch_plan_matrix")
        return S



def fwht(X):
    """Unnormalized fast Walsh-Hadamard transform H X of each column of X (N,) or (N, c),
    N a power of two (H[i, j] = (-1)^popcount(i & j)). Returns a new array."""
    x = np.array(X, dtype=np.float64, order="C", copy=True)
    vec = x.ndim == 1
    x2 = x.reshape(-1, 1) if vec else x
    if x2.ndim != 2:
        fail(Status.ESHAPE, f"fwht: X must be 1-D or 2-D, got shape {x.shape}")
    _, Xv = as_matrix(x2, "fwht", "X")
    check(_fn("apx_sketch_fwht")(Xv), "fwht")
    return x


# ---------------------------------------------------------------- leverage scores, weights

_LEV = {"exact": 0, "approx": 1}


def leverage_scores(A, method="exact", seed=0, sketch="sparse-sign", sketch_rows=None,
                    jl_dim=None, rcond=None, return_rank=False):
    """Leverage scores (m,) of the rows of A (m, n): the squared row norms of the left
    singular vectors of the numerical rank r, so they lie in [0, 1] and sum to r.

    method: "exact" (QR, then the SVD of R for the rank) or "approx" (Drineas et al. 2012:
    an embedding of sketch_rows rows, default 20 n, then a Gaussian JL projection to jl_dim
    columns, default ceil(8 ln m), skipped when jl_dim >= r). With return_rank=True returns
    (scores, rank).
    """
    if method not in _LEV:
        fail(Status.EINVAL, f"leverage_scores: method must be 'exact' or 'approx', got "
                            f"{method!r}")
    a, Av = as_matrix(A, "leverage_scores", "A")
    o = _fn("apx_leverage_opts_default")()
    o.sketch = _kind(sketch, "leverage_scores")
    o.seed = _lib.c_seed(seed, "leverage_scores")
    if sketch_rows is not None:
        o.sketch_rows = _lib.check_int(sketch_rows, "leverage_scores", "sketch_rows")
    if jl_dim is not None:
        o.jl_dim = _lib.check_int(jl_dim, "leverage_scores", "jl_dim")
    if rcond is not None:
        o.rcond = float(rcond)
    lev = np.zeros(a.shape[0])
    rank = c_i64(0)
    check(_fn("apx_sketch_leverage_scores")(Av, _LEV[method], ctypes.byref(o),
                                            lev.ctypes.data_as(c_dp), ctypes.byref(rank)),
          "leverage_scores")
    return (lev, int(rank.value)) if return_rank else lev


def lewis_weights(A, p, max_iters=100, tol=1e-10):
    """l_p Lewis weights (m,) of A (m, n), full column rank, 0 < p < 4: the fixed point
    w_i = (a_i^T (A^T W^(1-2/p) A)^-1 a_i)^(p/2) (Cohen-Peng iteration). They sum to n;
    p = 2 gives the leverage scores."""
    a, Av = as_matrix(A, "lewis_weights", "A")
    o = _fn("apx_lewis_opts_default")()
    o.max_iters = _lib.c_int_range(max_iters, "lewis_weights", "max_iters")
    o.tol = float(tol)
    w = np.zeros(a.shape[0])
    check(_fn("apx_sketch_lewis_weights")(Av, float(p), ctypes.byref(o),
                                          w.ctypes.data_as(c_dp)), "lewis_weights")
    return w


SAMPLE_METHODS = {"uniform": 0, "leverage": 1, "approx-leverage": 2, "lewis": 3,
                  "sensitivity": 4, "root-leverage": 5, "dpp": 6, "volume": 7, "mixed": 8}


def sample_methods():
    """The row-sampling methods of sample_rows(A, m, method=...), as the library names them."""
    return list(SAMPLE_METHODS)


def _method(method, where):
    k = method.replace("_", "-") if isinstance(method, str) else method
    if k not in SAMPLE_METHODS:
        fail(Status.EINVAL, f"{where}: method must be one of {sorted(SAMPLE_METHODS)}, got "
                            f"{method!r}")
    return SAMPLE_METHODS[k]


def sample_rows(scores, m, seed=0, method=None, p=1.0):
    """Row sampling (P007). Two forms:

    sample_rows(scores, m, seed=0): scores (N,) >= 0; row i kept independently with
      probability q_i = min(1, m s_i / sum s) and weighted 1/q_i.
    sample_rows(A, m, seed=0, method=..., p=1.0): A (N, n); the scores of `method`:
      "uniform", "leverage", "approx-leverage", "lewis" (l_p Lewis weights), "sensitivity"
      (exact l_p sensitivities), "root-leverage" (tau^(p/2)), "mixed" (p > 2 only:
      tau / sum tau + s / sum s, the leverage + sensitivity mixture); or "dpp" (projection
      DPP of A's column space: exactly n rows; m must be n or 0) and "volume" (volume
      sampling of exactly m rows), weighted by the inverse inclusion probabilities.

    Returns (idx, weights): the kept rows (ascending for the score methods, in drawn order
    for dpp and volume) and their weights, so that sum_kept w_i |a_i x|^p estimates
    ||A x||_p^p without bias (p = 2 for dpp and volume).
    """
    if method is None:
        s, sp = _lib.as_vector(scores, "sample_rows", "scores")
        n = s.shape[0]
        idx, wt, kept = _idx_out(n)
        check(_fn("apx_sketch_sample_rows")(sp, n, float(m), _lib.c_seed(seed, "sample_rows"),
                                            idx.ctypes.data_as(c_i64p), wt.ctypes.data_as(c_dp),
                                            ctypes.byref(kept)), "sample_rows")
        return _idx_cut(idx, wt, kept)
    meth = _method(method, "sample_rows")
    a, Av = as_matrix(scores, "sample_rows", "A")
    idx, wt, kept = _idx_out(a.shape[0])
    check(_fn("apx_sketch_sample")(Av, meth, float(m), float(p), _lib.c_seed(seed, "sample_rows"),
                                   idx.ctypes.data_as(c_i64p), wt.ctypes.data_as(c_dp),
                                   ctypes.byref(kept)), "sample_rows")
    return _idx_cut(idx, wt, kept)


def _idx_out(n):
    return np.zeros(max(n, 1), dtype=np.int64), np.zeros(max(n, 1)), c_i64(0)


def _idx_cut(idx, wt, kept):
    k = int(kept.value)
    return idx[:k].copy(), wt[:k].copy()


# ---------------------------------------------------------------- DPP, volume sampling (P001)


def dpp_sample(U, seed=0, orthonormalize=False):
    """Projection DPP over the rows of U (N, m) with orthonormal columns: m distinct rows S
    with P(S) = det(U_S)^2 (sequential chain rule). orthonormalize=True takes any U of full
    column rank and uses the Q of its QR. Returns the indices (m,) in the order drawn."""
    a, Uv = as_matrix(U, "dpp_sample", "U")
    if orthonormalize:
        if a.ndim == 2 and a.shape[0] >= a.shape[1] >= 1 and np.all(np.isfinite(a)):
            a, Uv = as_matrix(np.linalg.qr(a)[0], "dpp_sample", "U")
    idx = np.zeros(max(a.shape[1], 1), dtype=np.int64)
    check(_fn("apx_sketch_dpp_sample")(Uv, _lib.c_seed(seed, "dpp_sample"),
                                       idx.ctypes.data_as(c_i64p)), "dpp_sample")
    return idx[:a.shape[1]].copy()


def volume_sample(A, k, seed=0):
    """Volume sampling of k rows of A (N, m), m <= k <= N: P(S) proportional to
    det(A_S^T A_S) (projection DPP of A's column space plus k - m uniform rows). Returns
    (idx (k,), weights (k,)), the weights the inverse inclusion probabilities."""
    a, Av = as_matrix(A, "volume_sample", "A")
    k = _lib.check_int(k, "volume_sample", "k")
    n = max(k, 1)
    idx, wt = np.zeros(n, dtype=np.int64), np.zeros(n)
    check(_fn("apx_sketch_volume_sample")(Av, k, _lib.c_seed(seed, "volume_sample"),
                                          idx.ctypes.data_as(c_i64p), wt.ctypes.data_as(c_dp)),
          "volume_sample")
    return idx[:k].copy(), wt[:k].copy()


def legendre_basis(x, m):
    """The orthonormal Legendre basis of L2([-1, 1], dx/2) at x (n,): (n, m) with column j
    sqrt(2j + 1) P_j(x)."""
    xv, xp = _lib.as_vector(x, "legendre_basis", "x")
    m = _lib.check_int(m, "legendre_basis", "m")
    if m < 1:
        fail(Status.ESHAPE, f"legendre_basis: m = {m} must be >= 1")
    Phi, Pv = out_matrix(xv.shape[0], m)
    check(_fn("apx_sketch_legendre")(xp, xv.shape[0], Pv), "legendre_basis")
    return Phi


WLS_SAMPLERS = {"iid": 0, "dpp": 1, "volume": 2, "repeated-dpp": 3, "repeated": 3}


def _wls_opts(sampler, n, repeats, seed, where):
    if sampler not in WLS_SAMPLERS:
        fail(Status.EINVAL, f"{where}: sampler must be one of iid, dpp, volume, repeated-dpp, "
                            f"got {sampler!r}")
    o = _fn("apx_wls_opts_default")()
    o.sampler = WLS_SAMPLERS[sampler]
    if n is not None:
        o.n = _lib.check_int(n, where, "n")
    o.repeats = _lib.check_int(repeats, where, "repeats")
    o.seed = _lib.c_seed(seed, where)
    return o


def wls_sampling(f, m, sampler="iid", n=None, repeats=2, seed=0, grid=None, mu=None):
    """Weighted least-squares approximation from random samples (P001).

    The space V_m: the Legendre polynomials of degree < m on [-1, 1] (grid=None; f a
    callable, applied to a 1-D array of points), or the span of the columns of grid (G, m),
    the basis values at G points with probabilities mu (G,) (default 1/G each; f then the
    values (G,) of the function at the points, or a callable taking the point indices).
    sampler: "iid" (n points from the optimal density K(x,x) dmu / m), "dpp" (the m points
    of the projection DPP), "volume" (m DPP points plus n - m i.i.d.), "repeated-dpp"
    (repeats independent DPPs). n defaults to ceil(m ln m). The weights are m / K(x,x).

    Returns (coef (m,), info): coef in the Legendre basis legendre_basis(x, m) (grid: in
    the columns of grid); info: points (x, or the grid indices), weights, gram_cond (of
    (1/n) sum w phi phi^T), proposals (rejection proposals, Legendre only).
    """
    o = _wls_opts(sampler, n, repeats, seed, "wls_sampling")
    if grid is None:
        m = _lib.check_int(m, "wls_sampling", "m")
        cnt = int(_fn("apx_wls_count")(m, ctypes.byref(o)))
        x, w = np.zeros(max(cnt, 1)), np.zeros(max(cnt, 1))
        inf = WlsInfo()
        check(_fn("apx_sketch_wls_points")(m, ctypes.byref(o), x.ctypes.data_as(c_dp),
                                           w.ctypes.data_as(c_dp), ctypes.byref(inf)),
              "wls_sampling")
        x, w = x[:cnt].copy(), w[:cnt].copy()
        y = np.asarray(f(x), dtype=np.float64).reshape(-1)
        Phi = legendre_basis(x, m)
        pts = x
    else:
        g, Gv = as_matrix(grid, "wls_sampling", "grid")
        m = g.shape[1]
        cnt = int(_fn("apx_wls_count")(m, ctypes.byref(o)))
        mp = None
        if mu is not None:
            _mu, mp = _lib.as_vector(mu, "wls_sampling", "mu", g.shape[0])
        idx, w = np.zeros(max(cnt, 1), dtype=np.int64), np.zeros(max(cnt, 1))
        inf = WlsInfo()
        check(_fn("apx_sketch_wls_grid_points")(Gv, mp, ctypes.byref(o),
                                                idx.ctypes.data_as(c_i64p),
                                                w.ctypes.data_as(c_dp), ctypes.byref(inf)),
              "wls_sampling")
        idx, w = idx[:cnt].copy(), w[:cnt].copy()
        y = (np.asarray(f(idx), dtype=np.float64) if callable(f)
             else np.asarray(f, dtype=np.float64)[idx]).reshape(-1)
        Phi = np.ascontiguousarray(g[idx])
        pts = idx
    coef, cond = wls_fit(Phi, y, w)
    return coef, {"points": pts, "weights": w, "gram_cond": cond,
                  "proposals": int(inf.proposals)}


def wls_fit(Phi, y, w):
    """coef = argmin sum_i w_i (y_i - Phi[i] coef)^2 (SVD; minimum norm when rank
    deficient) and the Gram condition number (inf when singular). Returns (coef, cond)."""
    P, Pv = as_matrix(Phi, "wls_fit", "Phi")
    yv, yp = _lib.as_vector(y, "wls_fit", "y", P.shape[0])
    wv, wp = _lib.as_vector(w, "wls_fit", "w", P.shape[0])
    coef = np.zeros(max(P.shape[1], 1))
    cond = ctypes.c_double(0)
    check(_fn("apx_sketch_wls_fit")(Pv, yp, wp, coef.ctypes.data_as(c_dp), ctypes.byref(cond)),
          "wls_fit")
    return coef[:P.shape[1]].copy(), float(cond.value)


# ---------------------------------------------------------------- l_p sensitivities (P007)


def lp_sensitivities(A, p=1.0, max_iters=None, tol=None, return_info=False, progress=None):
    """Exact l_p sensitivities (N,) of the rows of A (N, n), full column rank, p >= 1:
    s_i = sup_x |a_i x|^p / ||A x||_p^p. p = 1: a certified simplex per row (exact); p = 2:
    the leverage scores; other p: l_p regression by IRLS per row (to tol, default 1e-12).
    With return_info=True returns (s, info) with total, max_gap, iterations, uncertified.
    progress(fraction, message) -> truthy cancels (Error ECANCELED)."""
    a, Av = as_matrix(A, "lp_sensitivities", "A")
    o = _fn("apx_sensitivity_opts_default")()
    if max_iters is not None:
        o.max_iters = _lib.c_int_range(max_iters, "lp_sensitivities", "max_iters")
    if tol is not None:
        o.tol = float(tol)
    guard = _lib.CallbackGuard()
    o.progress, _keep = _lib.make_progress(progress, guard)
    s = np.zeros(max(a.shape[0], 1))
    inf = SensInfo()
    st = _fn("apx_sketch_lp_sensitivities")(Av, float(p), ctypes.byref(o),
                                            s.ctypes.data_as(c_dp), ctypes.byref(inf))
    guard.reraise(st, "lp_sensitivities")
    s = s[:a.shape[0]].copy()
    if not return_info:
        return s
    return s, {"total": float(inf.total), "max_gap": float(inf.max_gap),
               "iterations": int(inf.iterations), "uncertified": int(inf.uncertified)}


_BOUNDS = {"lewis": 0, "root-leverage": 1}


def sensitivity_bounds(A, p=1.0, kind="lewis"):
    """Upper bounds (N,) on the l_p sensitivities, capped at 1: "lewis" (p < 2: the Lewis
    weights; 2 <= p < 4: n^(p/2-1) times them) or "root-leverage" (tau^(p/2) for p <= 2,
    N^(p/2-1) tau^(p/2) above)."""
    k = kind.replace("_", "-") if isinstance(kind, str) else kind
    if k not in _BOUNDS:
        fail(Status.EINVAL, f"sensitivity_bounds: kind must be 'lewis' or 'root-leverage', got "
                            f"{kind!r}")
    a, Av = as_matrix(A, "sensitivity_bounds", "A")
    ub = np.zeros(max(a.shape[0], 1))
    check(_fn("apx_sketch_sensitivity_bounds")(Av, float(p), _BOUNDS[k],
                                               ub.ctypes.data_as(c_dp)), "sensitivity_bounds")
    return ub[:a.shape[0]].copy()


def sensitivity_sample(A, m, p=1.0, seed=0):
    """l_p sensitivity sampling (P007): rows kept with q_i = min(1, m s_i / S) and weighted
    1/q_i, s the exact sensitivities. Returns (idx, weights)."""
    return sample_rows(A, m, seed=seed, method="sensitivity", p=p)


def sampled_lp_regression(A, b, p=1.0, m=None, method="sensitivity", seed=0):
    """min ||A x - b||_p solved on a row sample of [A b] (sample_rows with `method`, m rows
    expected, default 4 (n+1)^2) with the weights 1/q_i. Returns (x, info): kept, cost (on
    all rows), seconds."""
    a, Av = as_matrix(A, "sampled_lp_regression", "A")
    bv, bp = _lib.as_vector(b, "sampled_lp_regression", "b", a.shape[0])
    meth = _method(method, "sampled_lp_regression")
    if m is None:
        m = 4 * (a.shape[1] + 1) ** 2
    x = np.zeros(max(a.shape[1], 1))
    inf = SampledLpInfo()
    check(_fn("apx_sketch_sampled_lp_regress")(Av, bp, float(p), meth, float(m),
                                               _lib.c_seed(seed, "sampled_lp_regression"),
                                               x.ctypes.data_as(c_dp), ctypes.byref(inf)),
          "sampled_lp_regression")
    return x[:a.shape[1]].copy(), {"kept": int(inf.kept), "cost": float(inf.cost),
                                   "seconds": float(inf.seconds)}
