"""Dense, randomized and iterative linear algebra (include/apx/la.h).

Conventions for every function here:
  - Inputs are any array-like of real numbers. A float64 array whose rows are contiguous
    (C order, or a column slice of one) is passed without a copy; anything else is converted
    to a C-contiguous float64 copy. Inputs are never modified.
  - Outputs are new NumPy float64 arrays (C order).
  - Failures raise apx.Error with .status (apx.Status) and the library's message, e.g.
    wrong shapes (ESHAPE), NaN/Inf or k out of range (EINVAL), singular matrices (ENUMERIC),
    no convergence (ENOCONV; functions with strict=False return the last iterate instead).
  - Randomized functions take seed= (an integer in [0, 2**64)); the same seed gives
    bit-identical results for any thread count.
  - progress= takes a callable progress(fraction, message) -> bool; returning True cancels
    the computation (apx.Error with status ECANCELED). An exception raised in it is re-raised.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _lib
from ._lib import Status, as_matrix, check, fail, fn, out_matrix, out_vector
from ._linop import Operator

__all__ = [
    "svd", "eigh", "qr", "cholesky", "solve", "lstsq", "pinv",
    "rsvd", "rsvd_tol", "block_krylov_svd", "nystrom", "reigh", "range_finder",
    "power_iter", "lanczos", "slq", "slq_density", "hutchinson", "hutchpp", "trace_estimate",
    "StreamEig", "norm", "norm_kinds", "mnn", "polar", "sign", "newton_pinv", "newton_regress",
    "complete",
]

# ====================================================================== dense (LAPACK)


def svd(A, compute_uv=True):
    """Thin singular value decomposition A = U diag(S) Vt.

    A: (m, n).  Returns (U (m, r), S (r,), Vt (r, n)) with r = min(m, n) and S descending,
    or S alone when compute_uv is False.
    """
    a, Av = as_matrix(A, "svd", "A")
    r = min(a.shape)
    S, Sp = out_vector(r)
    if not compute_uv:
        check(fn("apx_la_svd")(Av, Sp, None, None), "svd")
        return S
    U, Uv = out_matrix(a.shape[0], r)
    Vt, Vv = out_matrix(r, a.shape[1])
    check(fn("apx_la_svd")(Av, Sp, ctypes.byref(Uv), ctypes.byref(Vv)), "svd")
    return U, S, Vt


def eigh(A, eigvals_only=False):
    """Eigendecomposition of a symmetric A (n, n); only its lower triangle is read.

    Returns (w (n,), V (n, n)): eigenvalues ascending, eigenvectors in the columns of V,
    so A = V diag(w) V^T; or w alone when eigvals_only is True.
    """
    a, Av = as_matrix(A, "eigh", "A")
    n = a.shape[0]
    w, wp = out_vector(n)
    if eigvals_only:
        check(fn("apx_la_eigh")(Av, wp, None), "eigh")
        return w
    V, Vv = out_matrix(n, n)
    check(fn("apx_la_eigh")(Av, wp, ctypes.byref(Vv)), "eigh")
    return w, V


def qr(A):
    """Thin QR: A (m, n) = Q (m, r) R (r, n), r = min(m, n); Q has orthonormal columns,
    R is upper triangular with a non-negative diagonal. Returns (Q, R)."""
    a, Av = as_matrix(A, "qr", "A")
    m, n = a.shape
    r = min(m, n)
    Q, Qv = out_matrix(m, r)
    R, Rv = out_matrix(r, n)
    check(fn("apx_la_qr")(Av, Qv, Rv), "qr")
    return Q, R


def cholesky(A):
    """Cholesky factor L (n, n), lower triangular, of a symmetric positive-definite
    A (n, n): A = L L^T. Error ENUMERIC if A is not positive definite."""
    a, Av = as_matrix(A, "cholesky", "A")
    L, Lv = out_matrix(a.shape[0], a.shape[1] if a.ndim == 2 else 0)
    check(fn("apx_la_cholesky")(Av, Lv), "cholesky")
    return L


def _rhs(B, where):
    """A right-hand side (n,) or (n, r) as a matrix view, and whether it was a vector."""
    b = _lib._to_array(B, where, "B")
    if b.ndim == 1:
        b2, Bv = as_matrix(b.reshape(-1, 1), where, "B")
        return b2, Bv, True
    b2, Bv = as_matrix(b, where, "B")
    return b2, Bv, False


def solve(A, B):
    """Solve A X = B for a square A (n, n) (LU with partial pivoting).

    B: (n,) or (n, r).  Returns X of B's shape. Error ENUMERIC if A is singular or
    numerically singular (reciprocal condition number below machine epsilon).
    """
    a, Av = as_matrix(A, "solve", "A")
    b, Bv, vec = _rhs(B, "solve")
    X, Xv = out_matrix(a.shape[1], b.shape[1])
    check(fn("apx_la_solve")(Av, Bv, Xv), "solve")
    return X[:, 0].copy() if vec else X


def lstsq(A, B, rcond=-1.0):
    """Minimum-norm least squares min ||A X - B||_F.

    A: (m, n); B: (m,) or (m, r).  Singular values below rcond * s_max count as zero
    (rcond < 0: machine epsilon).  Returns (X, rank) with X of shape (n,) or (n, r) and
    rank the effective rank of A.
    """
    a, Av = as_matrix(A, "lstsq", "A")
    b, Bv, vec = _rhs(B, "lstsq")
    X, Xv = out_matrix(a.shape[1], b.shape[1])
    rank = ctypes.c_int64(0)
    check(fn("apx_la_lstsq")(Av, Bv, float(rcond), Xv, ctypes.byref(rank)), "lstsq")
    return (X[:, 0].copy() if vec else X), int(rank.value)


def pinv(A, rcond=-1.0):
    """Moore-Penrose pseudo-inverse P (n, m) of A (m, n) through the SVD; singular values
    at or below rcond * s_max are dropped (rcond < 0: max(m, n) * machine epsilon)."""
    a, Av = as_matrix(A, "pinv", "A")
    P, Pv = out_matrix(a.shape[1], a.shape[0])
    check(fn("apx_la_pinv")(Av, float(rcond), Pv), "pinv")
    return P


# ====================================================================== randomized low rank

_SKETCHES = {"gaussian": 0, "rademacher": 1}


def _rsvd_opts(where, oversample, power_iters, seed, sketch, progress, guard):
    o = fn("apx_rsvd_opts_default")()
    if oversample is not None:
        o.oversample = _lib.check_int(oversample, where, "oversample")
    if power_iters is not None:
        o.power_iters = _lib.c_int_range(power_iters, where, "power_iters")
    o.seed = _lib.c_seed(seed, where)
    if sketch not in _SKETCHES:
        fail(Status.EINVAL, f"{where}: sketch must be one of {sorted(_SKETCHES)}, got {sketch!r}")
    o.sketch = _SKETCHES[sketch]
    o.progress, cfn = _lib.make_progress(progress, guard)
    return o, cfn


def _rsvd_info(info, converged=None):
    d = {"rank": int(info.rank), "sketch_cols": int(info.sketch_cols),
         "iterations": int(info.iterations), "err_est": float(info.err_est),
         "seconds": float(info.seconds)}
    if converged is not None:
        d["converged"] = converged
    return d


def _rank_arg(k, where, name="k"):
    return _lib.check_int(k, where, name)


def _check_rank(k, hi, where, name, shape):
    """Outputs are sized by k, so k is checked here before anything is allocated: an empty
    input is ESHAPE, k outside 1..hi is EINVAL (as the library reports them)."""
    if 0 in shape:
        fail(Status.ESHAPE, f"{where}: A is empty (shape {tuple(shape)})")
    if not 1 <= k <= hi:
        fail(Status.EINVAL, f"{where}: {name} = {k} is out of range 1..{hi} for A of shape "
                            f"{tuple(shape)}")


def rsvd(A, k, oversample=10, power_iters=2, seed=0, sketch="gaussian", progress=None,
         return_info=False):
    """Randomized SVD at fixed rank k (Halko-Martinsson-Tropp): A ~ U diag(S) Vt.

    A: (m, n); 1 <= k <= min(m, n).  Sketch width l = min(k + oversample, min(m, n));
    power_iters subspace iterations (re-orthonormalized).  sketch: "gaussian" or
    "rademacher".  Returns (U (m, k), S (k,), Vt (k, n)), S descending; with
    return_info=True a fourth item, a dict (rank, sketch_cols, iterations, err_est, seconds).
    """
    k = _rank_arg(k, "rsvd")
    a, Av = as_matrix(A, "rsvd", "A")
    guard = _lib.CallbackGuard()
    opts, _keep = _rsvd_opts("rsvd", oversample, power_iters, seed, sketch, progress, guard)
    _check_rank(k, min(a.shape), "rsvd", "k", a.shape)
    U, Uv = out_matrix(a.shape[0], k)
    S, Sp = out_vector(k)
    Vt, Vv = out_matrix(k, a.shape[1])
    info = _lib.RsvdInfo()
    st = fn("apx_la_rsvd")(Av, k, ctypes.byref(opts), Uv, Sp, Vv, ctypes.byref(info))
    guard.reraise(st, "rsvd")
    return (U, S, Vt, _rsvd_info(info)) if return_info else (U, S, Vt)


def rsvd_tol(A, tol, max_rank, block=0, oversample=10, power_iters=2, seed=0,
             sketch="gaussian", progress=None, return_info=False, strict=True):
    """Rank-adaptive randomized SVD (blocked randomized QB, Martinsson-Voronin).

    A: (m, n).  Grows the basis in blocks of `block` columns (<= 0: min(32, max_rank)) until
    ||A - U S Vt||_F <= tol * ||A||_F or the rank reaches max_rank.  Returns
    (U (m, r), S (r,), Vt (r, n)) with r the rank reached (plus the info dict, with
    "converged", when return_info).  If tol is not reached: Error ENOCONV, or with
    strict=False the rank-max_rank result.
    """
    max_rank = _rank_arg(max_rank, "rsvd_tol", "max_rank")
    a, Av = as_matrix(A, "rsvd_tol", "A")
    guard = _lib.CallbackGuard()
    opts, _keep = _rsvd_opts("rsvd_tol", oversample, power_iters, seed, sketch, progress, guard)
    _check_rank(max_rank, min(a.shape), "rsvd_tol", "max_rank", a.shape)
    r = max_rank
    U, Uv = out_matrix(a.shape[0], r)
    S, Sp = out_vector(r)
    Vt, Vv = out_matrix(r, a.shape[1])
    info = _lib.RsvdInfo()
    st = fn("apx_la_rsvd_tol")(Av, float(tol), max_rank, _lib.check_int(block, "rsvd_tol", "block"),
                               ctypes.byref(opts), Uv, Sp, Vv, ctypes.byref(info))
    converged = st == 0
    if not (st == Status.ENOCONV and not strict and guard.exc is None):
        guard.reraise(st, "rsvd_tol")
    rank = int(info.rank) if 0 <= info.rank <= r else r
    out = (U[:, :rank].copy(), S[:rank].copy(), Vt[:rank].copy())
    return out + (_rsvd_info(info, converged),) if return_info else out


def block_krylov_svd(A, k, oversample=10, power_iters=2, seed=0, sketch="gaussian",
                     progress=None, return_info=False):
    """Randomized block Krylov SVD (Musco-Musco 2015) at rank k.

    A: (m, n).  Krylov space [A W, (A A^T) A W, ..., (A A^T)^q A W] with block size
    b = k + oversample (capped so b (q+1) <= min(m, n)), q = max(power_iters, 1), then
    Rayleigh-Ritz.  Returns (U (m, k), S (k,), Vt (k, n)) [+ info dict].
    """
    k = _rank_arg(k, "block_krylov_svd")
    a, Av = as_matrix(A, "block_krylov_svd", "A")
    guard = _lib.CallbackGuard()
    opts, _keep = _rsvd_opts("block_krylov_svd", oversample, power_iters, seed, sketch,
                             progress, guard)
    _check_rank(k, min(a.shape), "block_krylov_svd", "k", a.shape)
    U, Uv = out_matrix(a.shape[0], k)
    S, Sp = out_vector(k)
    Vt, Vv = out_matrix(k, a.shape[1])
    info = _lib.RsvdInfo()
    st = fn("apx_la_block_krylov_svd")(Av, k, ctypes.byref(opts), Uv, Sp, Vv,
                                       ctypes.byref(info))
    guard.reraise(st, "block_krylov_svd")
    return (U, S, Vt, _rsvd_info(info)) if return_info else (U, S, Vt)


def nystrom(A, k, oversample=10, seed=0, sketch="gaussian", progress=None, return_info=False):
    """Nystrom approximation of a symmetric positive semi-definite A (n, n) at rank k
    (Tropp et al. 2017, shifted for stability): A ~ U diag(lam) U^T.

    Returns (U (n, k), lam (k,)), lam descending and >= 0 [+ info dict].
    """
    k = _rank_arg(k, "nystrom")
    a, Av = as_matrix(A, "nystrom", "A")
    guard = _lib.CallbackGuard()
    opts, _keep = _rsvd_opts("nystrom", oversample, None, seed, sketch, progress, guard)
    _check_rank(k, min(a.shape), "nystrom", "k", a.shape)
    U, Uv = out_matrix(a.shape[0], k)
    lam, lp = out_vector(k)
    info = _lib.RsvdInfo()
    st = fn("apx_la_nystrom")(Av, k, ctypes.byref(opts), Uv, lp, ctypes.byref(info))
    guard.reraise(st, "nystrom")
    return (U, lam, _rsvd_info(info)) if return_info else (U, lam)


def reigh(A, k, oversample=10, power_iters=2, seed=0, sketch="gaussian", progress=None,
          return_info=False):
    """Randomized eigendecomposition of a symmetric A (n, n): the k eigenpairs of largest
    magnitude (range finder, then Rayleigh-Ritz).

    Returns (w (k,), V (n, k)) with w in descending |w| [+ info dict].
    """
    k = _rank_arg(k, "reigh")
    a, Av = as_matrix(A, "reigh", "A")
    guard = _lib.CallbackGuard()
    opts, _keep = _rsvd_opts("reigh", oversample, power_iters, seed, sketch, progress, guard)
    _check_rank(k, min(a.shape), "reigh", "k", a.shape)
    w, wp = out_vector(k)
    V, Vv = out_matrix(a.shape[0], k)
    info = _lib.RsvdInfo()
    st = fn("apx_la_reigh")(Av, k, ctypes.byref(opts), wp, Vv, ctypes.byref(info))
    guard.reraise(st, "reigh")
    return (w, V, _rsvd_info(info)) if return_info else (w, V)


def range_finder(A, l, power_iters=2, seed=0, sketch="gaussian", progress=None):
    """Randomized range finder (Halko-Martinsson-Tropp Alg. 4.4).

    A: (m, n); 1 <= l <= min(m, n).  Returns Q (m, l) with orthonormal columns whose span
    approximates the range of A, after power_iters subspace iterations.
    """
    l = _rank_arg(l, "range_finder", "l")
    a, Av = as_matrix(A, "range_finder", "A")
    guard = _lib.CallbackGuard()
    opts, _keep = _rsvd_opts("range_finder", None, power_iters, seed, sketch, progress, guard)
    _check_rank(l, min(a.shape), "range_finder", "l", a.shape)
    Q, Qv = out_matrix(a.shape[0], l)
    st = fn("apx_la_range_finder")(Av, ctypes.byref(opts), Qv)
    guard.reraise(st, "range_finder")
    return Q


# ====================================================================== spectra by iteration


def _iter_opts(where, max_iters, tol, seed, progress, guard):
    o = fn("apx_iter_opts_default")()
    if max_iters is not None:
        o.max_iters = _lib.c_int_range(max_iters, where, "max_iters")
    if tol is not None:
        o.tol = float(tol)
    o.seed = _lib.c_seed(seed, where)
    o.progress, cfn = _lib.make_progress(progress, guard)
    return o, cfn


def _iter_info(info):
    return {"iterations": int(info.iterations), "converged": bool(info.converged),
            "residual": float(info.residual)}


def power_iter(A, max_iters=1000, tol=1e-10, seed=0, progress=None, return_info=False,
               strict=True):
    """Largest singular value of A (m, n) by power iteration on A^T A.

    Returns (sigma, v) with v (n,) the right singular vector [+ info dict with iterations,
    converged, residual].  If tol is not reached: Error ENOCONV, or with strict=False the
    last estimate.
    """
    a, Av = as_matrix(A, "power_iter", "A")
    guard = _lib.CallbackGuard()
    opts, _keep = _iter_opts("power_iter", max_iters, tol, seed, progress, guard)
    sigma = ctypes.c_double(0.0)
    v, vp = out_vector(a.shape[1])
    info = _lib.IterInfo()
    st = fn("apx_la_power_iter")(Av, ctypes.byref(opts), ctypes.byref(sigma), vp,
                                 ctypes.byref(info))
    if not (st == Status.ENOCONV and not strict and guard.exc is None):
        guard.reraise(st, "power_iter")
    out = (float(sigma.value), v)
    return out + (_iter_info(info),) if return_info else out


_WHICH = {"largest": 0, "smallest": 1}


def lanczos(A, k, steps=0, which="largest", n=None, tol=None, seed=0, progress=None,
            return_vectors=True, return_info=False):
    """k extreme eigenpairs of a symmetric operator by Lanczos with full
    reorthogonalization.

    A: a symmetric (n, n) array, a scipy LinearOperator or sparse matrix, or a callable
    f(x (n,)) -> y (n,) together with n=.  steps: Lanczos steps (k <= steps <= n; 0 picks
    min(n, max(2k + 20, 40))).  which: "largest" (w descending) or "smallest" (ascending).
    Returns (w (k,), V (n, k)) with Ritz vectors in the columns of V, or w alone when
    return_vectors is False [+ info dict: iterations, converged, residual = the largest
    Ritz residual].
    """
    op = Operator(A, n, "lanczos")
    k = _rank_arg(k, "lanczos")
    if which not in _WHICH:
        fail(Status.EINVAL, f"lanczos: which must be 'largest' or 'smallest', got {which!r}")
    opts, _keep = _iter_opts("lanczos", None, tol, seed, progress, op.guard)
    _check_rank(k, op.n, "lanczos", "k", (op.n, op.n))
    w, wp = out_vector(k)
    V, Vv = out_matrix(op.n, k)
    info = _lib.IterInfo()
    st = fn("apx_la_lanczos")(op.linop, k, _lib.check_int(steps, "lanczos", "steps"),
                              _WHICH[which], ctypes.byref(opts), wp,
                              ctypes.byref(Vv) if return_vectors else None, ctypes.byref(info))
    op.finish(st, "lanczos")
    out = (w, V) if return_vectors else (w,)
    if return_info:
        out = out + (_iter_info(info),)
    return out[0] if len(out) == 1 else out


def slq(A, probes, steps, seed=0, n=None):
    """Stochastic Lanczos quadrature (Ubaru-Chen-Saad 2017).

    A: symmetric operator as for lanczos.  probes Rademacher start vectors, steps Lanczos
    steps each.  Returns (nodes, weights), both (probes, steps): the spectral density is
    ~ (1/probes) sum weights[i, j] delta(lambda - nodes[i, j]); each row of weights sums
    to 1, so tr f(A) ~ n / probes * sum(weights * f(nodes)).
    """
    op = Operator(A, n, "slq")
    probes = _lib.c_int_range(probes, "slq", "probes")
    steps = _lib.c_int_range(steps, "slq", "steps")
    shape = (max(probes, 0), max(steps, 0))
    nodes = np.zeros(shape)
    weights = np.zeros(shape)
    st = fn("apx_la_slq")(op.linop, probes, steps, _lib.c_seed(seed, "slq"),
                          nodes.ctypes.data_as(_lib.c_dp), weights.ctypes.data_as(_lib.c_dp))
    op.finish(st, "slq")
    return nodes, weights


def slq_density(nodes, weights, grid, sigma):
    """Smoothed spectral density from slq output.

    nodes, weights: (probes, steps) from slq; grid: (g,).  Returns density (g,):
    density[t] = (1/probes) sum weights[i, j] N(grid[t]; nodes[i, j], sigma^2).
    """
    nd = _lib._to_array(nodes, "slq_density", "nodes")
    wt = _lib._to_array(weights, "slq_density", "weights")
    if nd.ndim != 2:
        fail(Status.ESHAPE, f"slq_density: nodes must be (probes, steps), got shape {nd.shape}")
    if wt.shape != nd.shape:
        fail(Status.ESHAPE, f"slq_density: weights has shape {wt.shape} but nodes {nd.shape}")
    nd = np.ascontiguousarray(nd, dtype=np.float64)
    wt = np.ascontiguousarray(wt, dtype=np.float64)
    g, gp = _lib.as_vector(grid, "slq_density", "grid")
    dens, dp = out_vector(g.shape[0])
    st = fn("apx_la_slq_density")(nd.ctypes.data_as(_lib.c_dp), wt.ctypes.data_as(_lib.c_dp),
                                  _lib.c_int_range(nd.shape[0], "slq_density", "probes"),
                                  _lib.c_int_range(nd.shape[1], "slq_density", "steps"),
                                  float(sigma), gp, g.shape[0], dp)
    check(st, "slq_density")
    return dens


def hutchinson(A, probes, seed=0, n=None):
    """Hutchinson trace estimate with `probes` Rademacher vectors.

    A: symmetric operator as for lanczos.  Returns (estimate, standard_error).
    """
    op = Operator(A, n, "hutchinson")
    est = ctypes.c_double(0.0)
    se = ctypes.c_double(0.0)
    st = fn("apx_la_hutchinson")(op.linop, _lib.c_int_range(probes, "hutchinson", "probes"),
                                 _lib.c_seed(seed, "hutchinson"), ctypes.byref(est),
                                 ctypes.byref(se))
    op.finish(st, "hutchinson")
    return float(est.value), float(se.value)


def hutchpp(A, matvecs, seed=0, n=None):
    """Hutch++ trace estimate (Meyer-Musco-Musco-Woodruff 2021) with a budget of `matvecs`
    operator products (>= 3).  A: symmetric operator as for lanczos.  Returns a float."""
    op = Operator(A, n, "hutchpp")
    est = ctypes.c_double(0.0)
    st = fn("apx_la_hutchpp")(op.linop, _lib.c_int_range(matvecs, "hutchpp", "matvecs"),
                              _lib.c_seed(seed, "hutchpp"), ctypes.byref(est))
    op.finish(st, "hutchpp")
    return float(est.value)


def trace_estimate(A, matvecs=100, method="hutchpp", seed=0, n=None):
    """Randomized estimate of tr(A) from `matvecs` products with a symmetric operator.

    A: symmetric (n, n) array, LinearOperator, sparse matrix, or callable with n=.
    method: "hutchpp" (Hutch++, the default: variance falls as 1/matvecs^2 for a decaying
    spectrum) or "hutchinson" (matvecs Rademacher probes).  Returns a float.
    """
    if method == "hutchpp":
        return hutchpp(A, matvecs, seed=seed, n=n)
    if method == "hutchinson":
        return hutchinson(A, matvecs, seed=seed, n=n)[0]
    fail(Status.EINVAL, f"trace_estimate: method must be 'hutchpp' or 'hutchinson', got {method!r}")


# ====================================================================== streaming

_STREAM_METHODS = {"heavy": 0, "oja": 1}


class StreamEig(_lib.Handle):
    """Streaming estimate of the top eigenvector of A^T A from the rows of A (d columns).

    method: "heavy" (Kacham-Woodruff random-order algorithm keeping heavy rows, P027) or
    "oja" (Oja's rule).  Other options default to the library's values (None):
    max_heavy, heavy_factor, frob2 (known ||A||_F^2), block (light rows per step), lr (Oja).

        s = apx.StreamEig(d); s.push(rows (b, d)); ...; v = s.result()  # (d,), unit norm

    Usable as a context manager; close() frees the C state (also done on garbage collection).
    """

    _free = "apx_stream_eig_free"

    def __init__(self, d, method="heavy", max_heavy=None, heavy_factor=None, frob2=None,
                 block=None, lr=None, seed=0):
        d = _lib.check_int(d, "stream_eig", "d")
        if method not in _STREAM_METHODS:
            fail(Status.EINVAL, f"stream_eig: method must be 'heavy' or 'oja', got {method!r}")
        o = fn("apx_stream_eig_opts_default")()
        o.method = _STREAM_METHODS[method]
        if max_heavy is not None:
            o.max_heavy = _lib.check_int(max_heavy, "stream_eig", "max_heavy")
        if heavy_factor is not None:
            o.heavy_factor = float(heavy_factor)
        if frob2 is not None:
            o.frob2 = float(frob2)
        if block is not None:
            o.block = _lib.check_int(block, "stream_eig", "block")
        if lr is not None:
            o.lr = float(lr)
        o.seed = _lib.c_seed(seed, "stream_eig")
        self._h = ctypes.c_void_p(None)
        self.d = d
        check(fn("apx_stream_eig_create")(d, ctypes.byref(o), ctypes.byref(self._h)),
              "stream_eig_create")

    def _handle(self, where):
        if not self._h:
            fail(Status.EINVAL, f"{where}: the StreamEig was closed")
        return self._h

    def push(self, rows):
        """Feed rows (b, d) (or one row (d,)) in stream order."""
        r = _lib._to_array(rows, "stream_eig_push", "rows")
        if r.ndim == 1:
            r = r.reshape(1, -1)
        r, Rv = as_matrix(r, "stream_eig_push", "rows")
        check(fn("apx_stream_eig_push")(self._handle("stream_eig_push"), Rv), "stream_eig_push")

    def result(self):
        """The current unit-norm estimate v (d,)."""
        v, vp = out_vector(self.d)
        check(fn("apx_stream_eig_result")(self._handle("stream_eig_result"), vp),
              "stream_eig_result")
        return v

    @property
    def stored(self):
        """Number of doubles the estimator keeps."""
        return int(fn("apx_stream_eig_stored")(self._handle("stream_eig_stored")))



# ====================================================================== norms


def norm_kinds():
    """The norm kinds as a dict name -> (has_param, description), from the library's table."""
    out = {}
    f = fn("apx_norm_info")
    for i in range(64):  # the table ends with a NULL entry (APX_NORM_COUNT)
        p = f(i)
        if not p:
            break
        out[p.contents.name.decode()] = (bool(p.contents.has_param), p.contents.help.decode())
    return out


def _parse_norm(kind, param):
    """(kind enum, param) from a name ("schatten:3", or "schatten" with param=3)."""
    text = str(kind)
    if param is None:
        kind_c, p = ctypes.c_int(0), ctypes.c_double(0.0)
        check(fn("apx_norm_parse")(text.encode(), ctypes.byref(kind_c), ctypes.byref(p)), "norm")
        return kind_c.value, p.value
    if ":" in text:
        fail(Status.EINVAL, f"norm: give the parameter in kind ({text!r}) or as param "
                            f"({param!r}), not both")
    f = fn("apx_norm_info")
    for i in range(64):
        props = f(i)
        if not props:
            break
        if props.contents.name.decode() == text:
            if not props.contents.has_param:
                fail(Status.EINVAL, f"norm: kind {text!r} takes no parameter, got param={param!r}")
            try:
                return i, float(param)
            except (TypeError, ValueError):
                fail(Status.EINVAL, f"norm: param must be a number, got {param!r}")
    kind_c, p = ctypes.c_int(0), ctypes.c_double(0.0)  # unknown name: the library's message
    check(fn("apx_norm_parse")(text.encode(), ctypes.byref(kind_c), ctypes.byref(p)), "norm")
    fail(Status.EINVAL, f"norm: unknown kind {text!r}")


def norm(A, kind="fro", param=None):
    """A matrix norm (or the matrix entropy) of A (m, n).

    kind: "fro", "spectral" (exact), "spectral-est" (power iteration), "nuclear",
    "schatten" (param p >= 1), "kyfan" (param k), "lp" (entrywise, param p), "l12"
    (sum of column 2-norms), "l21" (sum of row 2-norms), "entropy" (of the normalized
    squared singular values, nats), "mnn" / "mnn-exact" (P005; see mnn()).  The parameter
    may also be written in the kind: "schatten:3".  Returns a float.
    """
    a, Av = as_matrix(A, "norm", "A")
    kind_c, p = _parse_norm(kind, param)
    out = ctypes.c_double(0.0)
    check(fn("apx_la_norm")(Av, kind_c, p, ctypes.byref(out)), "norm")
    return float(out.value)


def mnn(R, exact=False):
    """Matrix Nuclear-Norm of P005 on hidden states R (T, h).

    Each column is centered, each row scaled to unit 2-norm, then
    approx = (sum of the min(T, h) largest column 2-norms) / T, an O(T h) stand-in for
    exact = nuclear norm / T (SVD).  Returns approx, or (approx, exact) when exact is True.
    """
    a, Rv = as_matrix(R, "mnn", "R")
    ap = ctypes.c_double(0.0)
    ex = ctypes.c_double(0.0)
    st = fn("apx_la_mnn")(Rv, ctypes.byref(ap), ctypes.byref(ex) if exact else None)
    check(st, "mnn")
    return (float(ap.value), float(ex.value)) if exact else float(ap.value)


# ====================================================================== Newton-Schulz


def _ns_opts(where, max_iters, tol):
    o = fn("apx_ns_opts_default")()
    if max_iters is not None:
        o.max_iters = _lib.c_int_range(max_iters, where, "max_iters")
    if tol is not None:
        o.tol = float(tol)
    return o


def _ns_call(cname, where, A, out_shape_fn, max_iters, tol, return_info, strict):
    a, Av = as_matrix(A, where, "A")
    X, Xv = out_matrix(*out_shape_fn(a.shape))
    opts = _ns_opts(where, max_iters, tol)
    info = _lib.IterInfo()
    st = fn(cname)(Av, ctypes.byref(opts), Xv, ctypes.byref(info))
    if not (st == Status.ENOCONV and not strict):
        check(st, where)
    return (X, _iter_info(info)) if return_info else X


def polar(A, max_iters=None, tol=None, return_info=False, strict=True):
    """Polar factor Q (m, n) of A (m, n), A = Q H, by the cubic Newton-Schulz iteration
    from A / ||A||_F (needs full rank).  Returns Q [+ info dict]; Error ENOCONV when not
    converged (strict=False: the last iterate)."""
    return _ns_call("apx_la_polar_ns", "polar", A, lambda s: s, max_iters, tol, return_info,
                    strict)


def sign(A, max_iters=None, tol=None, return_info=False, strict=True):
    """Matrix sign S (n, n) of A (n, n) (no eigenvalues on the imaginary axis) by
    Newton-Schulz X <- X (3 I - X^2) / 2 from A / ||A||_2.  Returns S [+ info dict]."""
    return _ns_call("apx_la_sign_ns", "sign", A, lambda s: s, max_iters, tol, return_info,
                    strict)


def newton_pinv(S, max_iters=None, tol=None, return_info=False, strict=True):
    """Pseudo-inverse M (d, d) of a symmetric PSD S (d, d) by the iterative Newton method
    M <- 2 M - M S M from M0 = S / ||S S^T||_2 (P080 uses 2 S / ||S S^T||_2, the boundary of
    convergence; see la.h).  Error EINVAL if S is not symmetric.  Returns M [+ info dict]."""
    return _ns_call("apx_la_newton_pinv", "newton_pinv", S, lambda s: (s[1], s[0]), max_iters,
                    tol, return_info, strict)


def newton_regress(X, y, iters=0, max_iters=None, tol=None, return_info=False):
    """Iterative-Newton regression (P080): w (d,) = M_k X^T y with M_k the Newton iterate
    for pinv(X^T X).  X: (n, d), y: (n,).  iters > 0 runs exactly that many Newton steps;
    iters <= 0 runs to tolerance (max_iters, tol).  Returns w [+ info dict]."""
    a, Xv = as_matrix(X, "newton_regress", "X")
    yv, yp = _lib.as_vector(y, "newton_regress", "y")
    if yv.shape[0] != a.shape[0]:
        fail(Status.ESHAPE, f"newton_regress: X has {a.shape[0]} rows but y has {yv.shape[0]}")
    w, wp = out_vector(a.shape[1])
    opts = _ns_opts("newton_regress", max_iters, tol)
    info = _lib.IterInfo()
    st = fn("apx_la_newton_regress")(Xv, yp, _lib.c_int_range(iters, "newton_regress", "iters"),
                                     ctypes.byref(opts), wp, ctypes.byref(info))
    check(st, "newton_regress")
    return (w, _iter_info(info)) if return_info else w


# ====================================================================== matrix completion


def complete(shape, rows, cols, vals, k, max_iters=None, tol=None, inexact=False,
             cg_steps=None, ridge=None, seed=0, progress=None, return_info=False, strict=True):
    """Low-rank matrix completion by alternating minimization (P103).

    shape: (m, n); rows, cols (nnz,) 0-based indices and vals (nnz,) the observed entries
    M[rows[t], cols[t]] = vals[t] (no duplicates); k the rank.  inexact=True uses the
    robust inexact variant (cg_steps conjugate-gradient steps per row solve); ridge adds
    a Tikhonov term.  Returns (U (m, k), V (n, k)) with M ~ U V^T [+ info dict:
    iterations, converged, rel_error, seconds, flops].  Error ENOCONV when tol is not reached
    (strict=False: the last iterate).
    """
    try:
        m, n = (int(s) for s in shape)
    except (TypeError, ValueError):
        fail(Status.EINVAL, f"complete: shape must be a pair (m, n), got {shape!r}")
    r, rp = _lib.as_index(rows, "complete", "rows")
    c, cp = _lib.as_index(cols, "complete", "cols", r.shape[0])
    v, vp = _lib.as_vector(vals, "complete", "vals", r.shape[0])
    k = _rank_arg(k, "complete")
    o = fn("apx_complete_opts_default")()
    if max_iters is not None:
        o.max_iters = _lib.c_int_range(max_iters, "complete", "max_iters")
    if tol is not None:
        o.tol = float(tol)
    o.inexact = 1 if inexact else 0
    if cg_steps is not None:
        o.cg_steps = _lib.c_int_range(cg_steps, "complete", "cg_steps")
    if ridge is not None:
        o.ridge = float(ridge)
    o.seed = _lib.c_seed(seed, "complete")
    guard = _lib.CallbackGuard()
    o.progress, _keep = _lib.make_progress(progress, guard)
    if m < 1 or n < 1:
        fail(Status.ESHAPE, f"complete: shape must be positive, got ({m}, {n})")
    if not 1 <= k <= min(m, n):
        fail(Status.ESHAPE, f"complete: k = {k} is out of range 1..min(m, n) = {min(m, n)}")
    U, Uv = out_matrix(m, k)
    V, Vv = out_matrix(n, k)
    info = _lib.CompleteInfo()
    st = fn("apx_la_complete")(m, n, r.shape[0], rp, cp, vp, k, ctypes.byref(o), Uv, Vv,
                               ctypes.byref(info))
    if not (st == Status.ENOCONV and not strict and guard.exc is None):
        guard.reraise(st, "complete")
    if return_info:
        return U, V, {"iterations": int(info.iterations), "converged": bool(info.converged),
                      "rel_error": float(info.rel_error), "seconds": float(info.seconds),
                      "flops": float(info.flops)}
    return U, V

