"""Iterative solvers for linear systems (include/apx/solve.h).

    x, info = apx.cg(A, b, tol=1e-10)                  # A dense or scipy.sparse (CSR)
    x, info = apx.cg(A, b, precond="jacobi")           # or "ssor", or a callable r -> z
    x, info = apx.minres(A, b); apx.lsqr(A, b); apx.kaczmarz(A, b, seed=0)
    x, info = apx.sor(A, b, omega=1.6); apx.ssor(A, b, omega=1.3)

A is a 2-D array (dense), a scipy.sparse matrix (used as CSR, no densifying), or, for cg and
minres only, a symmetric operator: an object with .shape and .matvec (LinearOperator) or a
callable x -> A x with n=. info is a dict: iterations, converged, residual (relative,
||b - A x|| / ||b||), residual_norm, matvecs, seconds. Stopping: ||b - A x|| <=
max(tol ||b||, atol) (lsqr: as SciPy's lsqr with atol = btol = tol). When the tolerance is
not reached: apx.Error ENOCONV with the residual reached, or with strict=False the last
iterate and info["converged"] False.

Also: apx.halpern (P011, Halpern / variance-reduced Halpern iteration for finite-sum monotone
inclusions: lstsq=(A, b, n_blocks), bilinear=(B, a, c) or a comp(idx, x) callable) and
apx.alm_newton / apx.alm_logreg (P073, equality-constrained optimization by the augmented-
Lagrangian Newton method with sketched KKT solves), each returning info dicts.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _lib
from ._lib import Dmat, Status, c_dp, c_i64, c_i64p, c_u64, fail
from ._linop import Operator
from .sketching import _fn as _sketch_fn

__all__ = ["cg", "minres", "lsqr", "kaczmarz", "sketch_project", "sor", "ssor", "SorBandit",
           "halpern", "alm_newton", "alm_logreg"]

# ---------------------------------------------------------------- ctypes mirror


class Csr(ctypes.Structure):
    _fields_ = [("rows", c_i64), ("cols", c_i64), ("nnz", c_i64), ("indptr", c_i64p),
                ("indices", c_i64p), ("data", c_dp)]


class Op(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("dense", Dmat), ("csr", Csr), ("linop", _lib.Linop)]


PrecondFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_dp, c_dp)


class SolveOpts(ctypes.Structure):
    _fields_ = [("tol", ctypes.c_double), ("atol", ctypes.c_double), ("max_iters", c_i64),
                ("warm_start", ctypes.c_int), ("precond", ctypes.c_int),
                ("precond_fn", PrecondFn), ("precond_ctx", ctypes.c_void_p),
                ("omega", ctypes.c_double), ("seed", c_u64), ("block", c_i64),
                ("sp_sketch", ctypes.c_int), ("progress", _lib.Progress)]


class SolveInfo(ctypes.Structure):
    _fields_ = [("iterations", c_i64), ("converged", ctypes.c_int),
                ("residual", ctypes.c_double), ("residual_norm", ctypes.c_double),
                ("matvecs", c_i64), ("seconds", ctypes.c_double)]


class BanditOpts(ctypes.Structure):
    _fields_ = [("arms", c_i64), ("omega_lo", ctypes.c_double), ("omega_hi", ctypes.c_double),
                ("horizon", c_i64), ("cost_scale", ctypes.c_double), ("seed", c_u64)]


_S = ctypes.c_int
_P = ctypes.POINTER
_vp = ctypes.c_void_p
_SOLVER = (_S, [Op, c_dp, c_dp, _P(SolveOpts), _P(SolveInfo)])
_PROTOTYPES = {
    "apx_solve_opts_default": (SolveOpts, []),
    "apx_solve_cg": _SOLVER,
    "apx_solve_minres": _SOLVER,
    "apx_solve_lsqr": _SOLVER,
    "apx_solve_kaczmarz": _SOLVER,
    "apx_solve_sketch_project": _SOLVER,
    "apx_solve_sor": _SOLVER,
    "apx_solve_ssor": _SOLVER,
    "apx_sor_bandit_opts_default": (BanditOpts, []),
    "apx_sor_bandit_create": (_S, [_P(BanditOpts), _P(_vp)]),
    "apx_sor_bandit_solve": (_S, [_vp, Op, c_dp, c_dp, _P(SolveOpts), _P(ctypes.c_double),
                                  _P(SolveInfo)]),
    "apx_sor_bandit_stats": (_S, [_vp, _P(c_i64), c_dp, c_i64p, c_i64p]),
    "apx_sor_bandit_free": (None, [_vp]),
}


def _fn(name):
    return _sketch_fn(name, _PROTOTYPES)


# ---------------------------------------------------------------- operators


class _Operand:
    """An apx_op for A plus what must stay alive during the call."""

    def __init__(self, A, where, callbacks_ok, n=None):
        self.keep = []
        self.linop = None
        if hasattr(A, "tocsr") and hasattr(A, "nnz"):  # scipy.sparse
            self.op, self.shape = self._csr(A.tocsr(), where)
        elif isinstance(A, np.ndarray) or not (callable(A) or hasattr(A, "matvec")):
            a, view = _lib.as_matrix(A, where, "A")
            self.keep.append(a)
            self.op = Op(0, view, Csr(), _lib.Linop())
            self.shape = a.shape
        else:
            if not callbacks_ok:
                fail(Status.EINVAL, f"{where}: needs the entries of A (a dense array or a "
                                    f"scipy.sparse matrix), not a callback operator")
            self.linop = Operator(A, n, where)
            self.op = Op(2, Dmat(), Csr(), self.linop.linop)
            self.shape = (self.linop.n, self.linop.n)

    def _csr(self, M, where):
        ip = np.ascontiguousarray(M.indptr, dtype=np.int64)
        ix = np.ascontiguousarray(M.indices, dtype=np.int64)
        v = np.ascontiguousarray(M.data, dtype=np.float64)
        self.keep += [ip, ix, v]
        c = Csr(M.shape[0], M.shape[1], v.shape[0], ip.ctypes.data_as(c_i64p),
                ix.ctypes.data_as(c_i64p), v.ctypes.data_as(c_dp))
        return Op(1, Dmat(), c, _lib.Linop()), M.shape

    def finish(self, status, where, guard):
        if self.linop is not None and self.linop.guard.exc is not None:
            self.linop.finish(status, where)
        guard.reraise(status, where)


_PRECONDS = {None: 0, "none": 0, "jacobi": 1, "ssor": 2}


def _guarded(guard, body):
    """A ctypes trampoline running body(*args): 0 on success, EINVAL after an exception
    (held by the guard and re-raised after the C call)."""
    def tramp(*args):
        try:
            body(*args)
            return 0
        except BaseException as e:  # noqa: BLE001 - re-raised after the call
            guard.capture(e)
            return int(Status.EINVAL)
    return tramp


def _out(ptr, shape, value, where, name):
    """Write a callback's result into the C buffer `ptr` of `shape`, checking its size."""
    v = np.asarray(value, dtype=np.float64)
    if v.size != int(np.prod(shape)):
        raise _lib.Error(Status.ESHAPE, f"{where}: {name} returned shape {v.shape}, expected "
                                        f"{shape}")
    np.ctypeslib.as_array(ptr, shape=shape)[...] = v.reshape(shape)


def _options(where, tol, atol, max_iters, x0, precond, omega, seed, block, sp_sketch,
             progress, guard, n):
    o = _fn("apx_solve_opts_default")()
    o.tol, o.atol = float(tol), float(atol)
    if max_iters is not None:
        o.max_iters = _lib.check_int(max_iters, where, "max_iters")
    o.omega = float(omega)
    o.seed = _lib.c_seed(seed, where)
    if block is not None:
        o.block = _lib.check_int(block, where, "block")
    if sp_sketch not in ("rows", "gaussian"):
        fail(Status.EINVAL, f"{where}: sp_sketch must be 'rows' or 'gaussian', got {sp_sketch!r}")
    o.sp_sketch = 0 if sp_sketch == "rows" else 1
    keep = []
    if callable(precond):
        def body(ctx, rp, zp):
            r = np.ctypeslib.as_array(rp, shape=(n,)).copy()
            _out(zp, (n,), precond(r), where, "the preconditioner")
        tramp = _guarded(guard, body)
        cfn = PrecondFn(tramp)
        keep.append(cfn)
        o.precond, o.precond_fn = 3, cfn
    elif precond in _PRECONDS:
        o.precond = _PRECONDS[precond]
    else:
        fail(Status.EINVAL, f"{where}: precond must be None, 'jacobi', 'ssor' or a callable, "
                            f"got {precond!r}")
    o.progress, pcb = _lib.make_progress(progress, guard)
    keep.append(pcb)
    return o, keep


def _info(inf):
    return {"iterations": int(inf.iterations), "converged": bool(inf.converged),
            "residual": float(inf.residual), "residual_norm": float(inf.residual_norm),
            "matvecs": int(inf.matvecs), "seconds": float(inf.seconds)}


def _run(cname, where, A, b, *, tol=1e-8, atol=0.0, max_iters=None, x0=None, precond=None,
         omega=1.0, seed=0, block=None, sp_sketch="rows", progress=None, strict=True, n=None,
         callbacks_ok=False):
    A_ = _Operand(A, where, callbacks_ok, n)
    m, ncols = A_.shape
    bb, bp = _lib.as_vector(b, where, "b", m)
    guard = _lib.CallbackGuard()
    o, keep = _options(where, tol, atol, max_iters, x0, precond, omega, seed, block, sp_sketch,
                       progress, guard, ncols)
    x = np.zeros(ncols)
    if x0 is not None:
        x[:] = _lib.as_vector(x0, where, "x0", ncols)[0]
        o.warm_start = 1
    inf = SolveInfo()
    st = _fn(cname)(A_.op, bp, x.ctypes.data_as(c_dp), ctypes.byref(o), ctypes.byref(inf))
    del keep
    if not (st == Status.ENOCONV and not strict and guard.exc is None and
            (A_.linop is None or A_.linop.guard.exc is None)):
        A_.finish(st, where, guard)
    return x, _info(inf)


# ---------------------------------------------------------------- solvers


def cg(A, b, tol=1e-8, atol=0.0, max_iters=None, x0=None, precond=None, omega=1.0,
       progress=None, strict=True, n=None):
    """Conjugate gradients for a symmetric positive definite A (n, n); b (n,).

    precond: None, "jacobi", "ssor" (with omega) or a callable r -> M^-1 r (M symmetric
    positive definite). max_iters default 10 n. Returns (x, info). Error ENUMERIC when A
    (or M) is not positive definite.
    """
    return _run("apx_solve_cg", "cg", A, b, tol=tol, atol=atol, max_iters=max_iters, x0=x0,
                precond=precond, omega=omega, progress=progress, strict=strict, n=n,
                callbacks_ok=True)


def minres(A, b, tol=1e-8, atol=0.0, max_iters=None, x0=None, precond=None, omega=1.0,
           progress=None, strict=True, n=None):
    """MINRES for a symmetric, possibly indefinite or singular A (n, n). With a
    preconditioner (positive definite) the test uses the M^-1 norm of the residual. A
    singular inconsistent system stops at a least-squares solution (||A r|| <= tol ||A||
    ||r||). Returns (x, info)."""
    return _run("apx_solve_minres", "minres", A, b, tol=tol, atol=atol, max_iters=max_iters,
                x0=x0, precond=precond, omega=omega, progress=progress, strict=strict, n=n,
                callbacks_ok=True)


def lsqr(A, b, tol=1e-8, max_iters=None, x0=None, progress=None, strict=True):
    """LSQR for min ||A x - b||, A (m, n) dense or sparse: stops as SciPy's lsqr with
    atol = btol = tol; from x0 = None the minimum-norm solution. Returns (x, info)."""
    return _run("apx_solve_lsqr", "lsqr", A, b, tol=tol, max_iters=max_iters, x0=x0,
                progress=progress, strict=strict)


def kaczmarz(A, b, tol=1e-8, atol=0.0, max_iters=None, x0=None, seed=0, progress=None,
             strict=True):
    """Randomized Kaczmarz (rows drawn with probability ||a_i||^2 / ||A||_F^2) for a
    consistent A x = b, A (m, n); residual checked every m steps; max_iters (row steps)
    default 1000 m. Returns (x, info)."""
    return _run("apx_solve_kaczmarz", "kaczmarz", A, b, tol=tol, atol=atol,
                max_iters=max_iters, x0=x0, seed=seed, progress=progress, strict=strict)


def sketch_project(A, b, tol=1e-8, atol=0.0, max_iters=None, x0=None, seed=0, block=None,
                   sketch="rows", progress=None, strict=True):
    """Sketch-and-project (Gower-Richtarik): x <- x + A^T S (S^T A A^T S)^+ S^T (b - A x)
    with S = `block` rows drawn by squared norm (sketch="rows") or a Gaussian (m, block)
    (sketch="gaussian"). Returns (x, info)."""
    return _run("apx_solve_sketch_project", "sketch_project", A, b, tol=tol, atol=atol,
                max_iters=max_iters, x0=x0, seed=seed, block=block, sp_sketch=sketch,
                progress=progress, strict=strict)


def sor(A, b, omega=1.0, tol=1e-8, atol=0.0, max_iters=None, x0=None, progress=None,
        strict=True):
    """Successive over-relaxation (forward sweeps), 0 < omega < 2 (1: Gauss-Seidel), A (n, n)
    with a non-zero diagonal; max_iters (sweeps) default 10000. Returns (x, info)."""
    return _run("apx_solve_sor", "sor", A, b, tol=tol, atol=atol, max_iters=max_iters, x0=x0,
                omega=omega, progress=progress, strict=strict)


def ssor(A, b, omega=1.0, tol=1e-8, atol=0.0, max_iters=None, x0=None, progress=None,
         strict=True):
    """Symmetric SOR: a forward and a backward sweep per iteration. Returns (x, info)."""
    return _run("apx_solve_ssor", "ssor", A, b, tol=tol, atol=atol, max_iters=max_iters,
                x0=x0, omega=omega, progress=progress, strict=strict)


class SorBandit(_lib.Handle):
    """Bandit-tuned SOR over a sequence of systems (P128): Tsallis-INF over a grid of omegas
    in [omega_lo, omega_hi] (arms: default floor((2 horizon)^(1/3))), fed the iteration
    count of each solve (scaled by cost_scale, or by the running mean cost when <= 0).

        bandit = apx.SorBandit(horizon=T, seed=0)
        for A_t, b_t in systems:
            x, info, omega = bandit.solve(A_t, b_t, tol=1e-8)
    """

    _free = "apx_sor_bandit_free"

    def __init__(self, arms=None, omega_lo=1.0, omega_hi=1.9, horizon=500, cost_scale=0.0,
                 seed=0):
        self._h = None
        o = _fn("apx_sor_bandit_opts_default")()
        if arms is not None:
            o.arms = _lib.check_int(arms, "SorBandit", "arms")
        o.omega_lo, o.omega_hi = float(omega_lo), float(omega_hi)
        o.horizon = _lib.check_int(horizon, "SorBandit", "horizon")
        o.cost_scale = float(cost_scale)
        o.seed = _lib.c_seed(seed, "SorBandit")
        h = _vp()
        _lib.check(_fn("apx_sor_bandit_create")(ctypes.byref(o), ctypes.byref(h)),
                   "sor_bandit_create")
        self._h = h

    def solve(self, A, b, tol=1e-8, atol=0.0, max_iters=None, strict=True):
        """Solve A x = b by SOR with the omega the bandit picks; returns (x, info, omega)."""
        if not self._h:
            fail(Status.EINVAL, "SorBandit: closed")
        A_ = _Operand(A, "SorBandit.solve", False)
        m, n = A_.shape
        bb, bp = _lib.as_vector(b, "SorBandit.solve", "b", m)
        guard = _lib.CallbackGuard()
        o, keep = _options("SorBandit.solve", tol, atol, max_iters, None, None, 1.0, 0, None,
                           "rows", None, guard, n)
        x = np.zeros(n)
        w = ctypes.c_double(0)
        inf = SolveInfo()
        st = _fn("apx_sor_bandit_solve")(self._h, A_.op, bp, x.ctypes.data_as(c_dp),
                                         ctypes.byref(o), ctypes.byref(w), ctypes.byref(inf))
        if not (st == Status.ENOCONV and not strict):
            _lib.check(st, "sor_bandit_solve")
        return x, _info(inf), float(w.value)

    def stats(self):
        """{"grid": omegas, "iterations": per arm, "pulls": per arm}."""
        k = c_i64(0)
        _lib.check(_fn("apx_sor_bandit_stats")(self._h, ctypes.byref(k), None, None, None),
                   "sor_bandit_stats")
        K = int(k.value)
        g, it, pu = np.zeros(K), np.zeros(K, dtype=np.int64), np.zeros(K, dtype=np.int64)
        _lib.check(_fn("apx_sor_bandit_stats")(self._h, ctypes.byref(k), g.ctypes.data_as(c_dp),
                                               it.ctypes.data_as(c_i64p),
                                               pu.ctypes.data_as(c_i64p)), "sor_bandit_stats")
        return {"grid": g, "iterations": it, "pulls": pu}



# ---------------------------------------------------------------- Halpern iteration (P011)

FsumFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_i64p, c_i64, c_dp, c_dp)
ResolventFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_double, c_dp, c_dp)


class HalpernProblem(ctypes.Structure):
    _fields_ = [("n", c_i64), ("d", c_i64), ("comp", FsumFn), ("comp_ctx", ctypes.c_void_p),
                ("resolvent", ResolventFn), ("resolvent_ctx", ctypes.c_void_p),
                ("lo", c_dp), ("hi", c_dp), ("lipschitz", ctypes.c_double),
                ("lipschitz_avg", ctypes.c_double)]


class FsumData(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("A", Dmat), ("b", c_dp), ("a", c_dp), ("c", c_dp),
                ("n", c_i64), ("p", c_i64), ("q", c_i64)]


class HalpernOpts(ctypes.Structure):
    _fields_ = [("setting", ctypes.c_int), ("variance_reduced", ctypes.c_int),
                ("eta", ctypes.c_double), ("prob", ctypes.c_double), ("batch", c_i64),
                ("inner_step", ctypes.c_double), ("tol", ctypes.c_double),
                ("max_evals", c_i64), ("max_iters", c_i64), ("inner_max_iters", c_i64),
                ("seed", c_u64), ("history", c_dp), ("history_iters", c_i64p),
                ("history_evals", c_i64p), ("history_cap", c_i64), ("progress", _lib.Progress)]


class HalpernInfo(ctypes.Structure):
    _fields_ = [("iterations", c_i64), ("inner_iterations", c_i64), ("evaluations", c_i64),
                ("full_passes", c_i64), ("residual", ctypes.c_double), ("eta", ctypes.c_double),
                ("converged", ctypes.c_int), ("stop", ctypes.c_int), ("history_len", c_i64),
                ("seconds", ctypes.c_double)]


_PROTOTYPES.update({
    "apx_halpern_opts_default": (HalpernOpts, []),
    "apx_halpern": (_S, [_P(HalpernProblem), c_dp, c_dp, _P(HalpernOpts), _P(HalpernInfo)]),
    "apx_fsum_lstsq": (_S, [Dmat, c_dp, c_i64, _P(FsumData), _P(HalpernProblem)]),
    "apx_fsum_bilinear": (_S, [Dmat, c_i64, c_dp, c_dp, _P(FsumData), _P(HalpernProblem)]),
})

_SETTINGS = {"cocoercive": 0, "monotone": 1}
_STOPS = {0: "converged", 1: "max_evals", 2: "max_iters"}


def _py_comp(comp, n, d, guard):
    """A C component callback over a Python comp(idx, x) -> sum of F_i(x) over idx (idx
    None: all n components)."""
    def body(ctx, idxp, count, xp, outp):
        idx = None if not idxp else np.ctypeslib.as_array(idxp, shape=(count,)).copy()
        x = np.ctypeslib.as_array(xp, shape=(d,)).copy()
        _out(outp, (d,), comp(idx, x), "halpern", "comp")
    return FsumFn(_guarded(guard, body))


def _py_resolvent(resolvent, d, guard):
    def body(ctx, eta, zp, outp):
        z = np.ctypeslib.as_array(zp, shape=(d,)).copy()
        _out(outp, (d,), resolvent(z, float(eta)), "halpern", "resolvent")
    return ResolventFn(_guarded(guard, body))


def _halpern_problem(where, comp, n, d, lipschitz, lipschitz_avg, lstsq, bilinear, keep, guard):
    """The C problem for one of: comp (a callable), lstsq=(A, b, n_blocks), bilinear=(B, a, c)
    with B (n, p, q)."""
    P, data = HalpernProblem(), FsumData()
    given = [x is not None for x in (comp, lstsq, bilinear)]
    if sum(given) != 1:
        fail(Status.EINVAL, f"{where}: give exactly one of comp, lstsq=(A, b, n_blocks) or "
                            f"bilinear=(B, a, c)")
    if comp is not None:
        if n is None or d is None or lipschitz is None:
            fail(Status.EINVAL, f"{where}: a comp callable needs n, d and lipschitz")
        P.n, P.d = _lib.check_int(n, where, "n"), _lib.check_int(d, where, "d")
        cfn = _py_comp(comp, P.n, P.d, guard)
        keep.append(cfn)
        P.comp = cfn
        P.lipschitz = float(lipschitz)
        P.lipschitz_avg = float(lipschitz_avg) if lipschitz_avg is not None else 0.0
        return P, data
    if lstsq is not None:
        A, b, nb = lstsq
        a_, Av = _lib.as_matrix(A, where, "A")
        bb, bp = _lib.as_vector(b, where, "b", a_.shape[0])
        keep += [a_, bb]
        _lib.check(_fn("apx_fsum_lstsq")(Av, bp, _lib.check_int(nb, where, "n_blocks"),
                                         ctypes.byref(data), ctypes.byref(P)), where)
    else:
        B, a, c = bilinear
        B3 = np.asarray(B, dtype=np.float64)
        if B3.ndim != 3:
            fail(Status.ESHAPE, f"{where}: bilinear B must be (n, p, q), got shape {B3.shape}")
        nn, p, q = B3.shape
        b2, Bv = _lib.as_matrix(np.ascontiguousarray(B3).reshape(nn * p, q), where, "B")
        keep.append(b2)
        ap = cp = None
        if a is not None:
            aa, ap = _lib.as_vector(np.asarray(a, dtype=np.float64).reshape(-1), where, "a",
                                    nn * p)
            keep.append(aa)
        if c is not None:
            cc, cp = _lib.as_vector(np.asarray(c, dtype=np.float64).reshape(-1), where, "c",
                                    nn * q)
            keep.append(cc)
        _lib.check(_fn("apx_fsum_bilinear")(Bv, nn, ap, cp, ctypes.byref(data),
                                            ctypes.byref(P)), where)
    if lipschitz is not None:
        P.lipschitz = float(lipschitz)
    if lipschitz_avg is not None:
        P.lipschitz_avg = float(lipschitz_avg)
    return P, data


def halpern(comp=None, *, n=None, d=None, lipschitz=None, lipschitz_avg=None, lstsq=None,
            bilinear=None, resolvent=None, lo=None, hi=None, x0=None, setting="cocoercive",
            variance_reduced=True, eta=None, prob=None, batch=None, inner_step=None, tol=1e-6,
            max_evals=None, max_iters=None, inner_max_iters=None, seed=0, history=10000,
            progress=None, strict=True):
    """Halpern / variance-reduced Halpern iteration (P011) for 0 in F(x) + G(x),
    F = (1/n) sum_i F_i, x (d,).

    The operator, exactly one of:
      comp(idx, x) -> (d,): the sum of F_i(x) over the int64 indices idx (None: all n),
          with n, d and lipschitz (L of F) given, lipschitz_avg optional;
      lstsq=(A, b, n_blocks): F_i(x) = A_i^T (A_i x - b_i) over n_blocks row blocks of A;
      bilinear=(B, a, c): B (n, p, q), a (n, p) or None, c (n, q) or None: the saddle point
          of (1/n) sum_i (u^T B_i v + a_i^T u - c_i^T v), x = (u, v).
    G: resolvent(z, eta) -> J_{eta G}(z), or the box lo <= x <= hi, or none.
    setting: "cocoercive" (forward-backward steps, PAGE estimator) or "monotone" (inexact
    Halpern, FBF / SVRG-FBF resolvent solves); variance_reduced=False: deterministic.
    Returns (x, info): info has iterations, inner_iterations, evaluations (component
    evaluations), full_passes, residual (||x - J(x - eta F(x))|| / eta of x, exact), eta,
    converged, stop, seconds and the history arrays residuals / history_iters /
    history_evals (up to `history` entries). Not converged: Error ENOCONV, or with
    strict=False the last iterate.
    """
    where = "halpern"
    guard = _lib.CallbackGuard()
    keep = []
    if setting not in _SETTINGS:
        fail(Status.EINVAL, f"{where}: setting must be 'cocoercive' or 'monotone', got "
                            f"{setting!r}")
    P, data = _halpern_problem(where, comp, n, d, lipschitz, lipschitz_avg, lstsq, bilinear,
                               keep, guard)
    dim = int(P.d)
    if resolvent is not None:
        rfn = _py_resolvent(resolvent, dim, guard)
        keep.append(rfn)
        P.resolvent = rfn
    for name, v in (("lo", lo), ("hi", hi)):
        if v is not None:
            arr, ptr = _lib.as_vector(np.broadcast_to(np.asarray(v, dtype=np.float64), (dim,))
                                      .copy(), where, name, dim)
            keep.append(arr)
            setattr(P, name, ptr)
    o = _fn("apx_halpern_opts_default")()
    o.setting = _SETTINGS[setting]
    o.variance_reduced = 1 if variance_reduced else 0
    for name, v in (("eta", eta), ("prob", prob), ("inner_step", inner_step)):
        if v is not None:
            setattr(o, name, float(v))
    for name, v in (("batch", batch), ("max_evals", max_evals), ("max_iters", max_iters),
                    ("inner_max_iters", inner_max_iters)):
        if v is not None:
            setattr(o, name, _lib.check_int(v, where, name))
    o.tol = float(tol)
    o.seed = _lib.c_seed(seed, where)
    cap = _lib.check_int(history, where, "history")
    h, hi_, he = np.zeros(max(cap, 1)), np.zeros(max(cap, 1), np.int64), np.zeros(max(cap, 1),
                                                                                 np.int64)
    if cap > 0:
        o.history, o.history_cap = h.ctypes.data_as(c_dp), cap
        o.history_iters, o.history_evals = hi_.ctypes.data_as(c_i64p), he.ctypes.data_as(c_i64p)
    o.progress, pcb = _lib.make_progress(progress, guard)
    keep.append(pcb)
    x = np.zeros(dim)
    x0p = None
    if x0 is not None:
        xa, x0p = _lib.as_vector(x0, where, "x0", dim)
        keep.append(xa)
    inf = HalpernInfo()
    st = _fn("apx_halpern")(ctypes.byref(P), x0p, x.ctypes.data_as(c_dp), ctypes.byref(o),
                            ctypes.byref(inf))
    if not (st == Status.ENOCONV and not strict and guard.exc is None):
        guard.reraise(st, where)
    L = int(inf.history_len)
    info = {"iterations": int(inf.iterations), "inner_iterations": int(inf.inner_iterations),
            "evaluations": int(inf.evaluations), "full_passes": int(inf.full_passes),
            "residual": float(inf.residual), "eta": float(inf.eta),
            "converged": bool(inf.converged), "stop": _STOPS.get(int(inf.stop), "?"),
            "seconds": float(inf.seconds), "residuals": h[:L].copy(),
            "history_iters": hi_[:L].copy(), "history_evals": he[:L].copy(),
            "lipschitz": float(P.lipschitz), "lipschitz_avg": float(P.lipschitz_avg)}
    return x, info


# ---------------------------------------------------------------- ALM Newton (P073)

FunFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_dp, c_dp, c_dp)
ConsFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_dp, c_dp, c_dp)
HessFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_dp, c_dp, c_dp)
HesspFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_dp, c_dp, c_dp, c_dp)


class AlmProblem(ctypes.Structure):
    _fields_ = [("n", c_i64), ("m", c_i64), ("fun", FunFn), ("cons", ConsFn), ("hess", HessFn),
                ("hessp", HesspFn), ("ctx", ctypes.c_void_p)]


class AlmOpts(ctypes.Structure):
    _fields_ = [("tol", ctypes.c_double), ("max_iters", c_i64), ("inner", ctypes.c_int),
                ("block", c_i64), ("inner_max_iters", c_i64), ("delta0", ctypes.c_double),
                ("mu0", ctypes.c_double), ("nu0", ctypes.c_double), ("rho", ctypes.c_double),
                ("beta", ctypes.c_double), ("xi_B", ctypes.c_double), ("seed", c_u64),
                ("kkt_history", c_dp), ("history_cap", c_i64), ("progress", _lib.Progress)]


class AlmInfo(ctypes.Structure):
    _fields_ = [("iterations", c_i64), ("inner_iterations", c_i64), ("unit_steps", c_i64),
                ("last_unit_step", ctypes.c_int), ("hess_mods", c_i64), ("mu_increases", c_i64),
                ("fun_evals", c_i64), ("kkt", ctypes.c_double), ("f", ctypes.c_double),
                ("mu", ctypes.c_double), ("nu", ctypes.c_double), ("converged", ctypes.c_int),
                ("history_len", c_i64), ("seconds", ctypes.c_double)]


class AlmLogreg(ctypes.Structure):
    _fields_ = [("X", Dmat), ("C", Dmat), ("y", c_dp), ("e", c_dp), ("reg", ctypes.c_double),
                ("work", c_dp)]


_PROTOTYPES.update({
    "apx_alm_opts_default": (AlmOpts, []),
    "apx_alm_newton": (_S, [_P(AlmProblem), c_dp, c_dp, c_dp, c_dp, _P(AlmOpts), _P(AlmInfo)]),
    "apx_alm_logreg_setup": (_S, [Dmat, c_dp, Dmat, c_dp, ctypes.c_double, _P(AlmLogreg),
                                  _P(AlmProblem)]),
    "apx_alm_logreg_free": (None, [_P(AlmLogreg)]),
})

_INNER = {"kaczmarz": 0, "sketch": 1, "sketch_rows": 1, "gaussian": 2, "direct": 3}


def _alm_callbacks(where, fun, grad, hess, hessp, cons, jac, n, m, guard):
    """ctypes trampolines over the Python callables; exceptions are held by the guard."""
    def wrap(body):
        return _guarded(guard, body)

    vec = lambda p, k: np.ctypeslib.as_array(p, shape=(k,)).copy()  # noqa: E731

    def f_body(ctx, xp, fp, gp):
        x = vec(xp, n)
        fp[0] = float(fun(x))
        if gp:
            _out(gp, (n,), grad(x), where, "grad")

    def c_body(ctx, xp, cp, Jp):
        x = vec(xp, n)
        _out(cp, (m,), cons(x), where, "cons")
        if Jp:
            _out(Jp, (m, n), jac(x), where, "jac")

    def h_body(ctx, xp, lp, Hp):
        _out(Hp, (n, n), hess(vec(xp, n), vec(lp, m)), where, "hess")

    def hp_body(ctx, xp, lp, vp, Hvp):
        _out(Hvp, (n,), hessp(vec(xp, n), vec(lp, m), vec(vp, n)), where, "hessp")

    fns = [FunFn(wrap(f_body)), ConsFn(wrap(c_body)),
           HessFn(wrap(h_body)) if hess is not None else HessFn(),
           HesspFn(wrap(hp_body)) if hessp is not None else HesspFn()]
    return fns


def _alm_opts(where, tol, max_iters, inner, block, inner_max_iters, delta0, mu0, nu0, rho, beta,
              xi_B, seed, hist, progress, guard):
    if inner not in _INNER:
        fail(Status.EINVAL, f"{where}: inner must be one of {sorted(_INNER)}, got {inner!r}")
    o = _fn("apx_alm_opts_default")()
    o.tol, o.inner = float(tol), _INNER[inner]
    o.max_iters = _lib.check_int(max_iters, where, "max_iters")
    if block is not None:
        o.block = _lib.check_int(block, where, "block")
    if inner_max_iters is not None:
        o.inner_max_iters = _lib.check_int(inner_max_iters, where, "inner_max_iters")
    o.delta0, o.mu0, o.nu0, o.rho = float(delta0), float(mu0), float(nu0), float(rho)
    o.beta, o.xi_B = float(beta), float(xi_B)
    o.seed = _lib.c_seed(seed, where)
    o.kkt_history, o.history_cap = hist.ctypes.data_as(c_dp), hist.shape[0]
    o.progress, pcb = _lib.make_progress(progress, guard)
    return o, pcb


def _alm_run(where, P, n, m, x0, lam0, o, guard, strict):
    xa, x0p = _lib.as_vector(x0, where, "x0", n)
    lp = None
    if lam0 is not None:
        la, lp = _lib.as_vector(lam0, where, "lam0", m)
    x, lam, inf = np.zeros(n), np.zeros(m), AlmInfo()
    st = _fn("apx_alm_newton")(ctypes.byref(P), x0p, lp, x.ctypes.data_as(c_dp),
                               lam.ctypes.data_as(c_dp), ctypes.byref(o), ctypes.byref(inf))
    if not (st == Status.ENOCONV and not strict and guard.exc is None):
        guard.reraise(st, where)
    L = int(inf.history_len)
    hist = np.ctypeslib.as_array(o.kkt_history, shape=(max(L, 1),))[:L].copy()
    info = {k: (float(getattr(inf, k)) if k in ("kkt", "f", "mu", "nu", "seconds")
                else int(getattr(inf, k)))
            for k, _ in AlmInfo._fields_ if k != "history_len"}
    info["converged"] = bool(inf.converged)
    info["last_unit_step"] = bool(inf.last_unit_step)
    info["kkt_history"] = hist
    return x, lam, info


def alm_newton(fun, grad, hess, cons, jac, x0, lam0=None, *, hessp=None, tol=1e-8,
               max_iters=200, inner="sketch", block=None, inner_max_iters=None, delta0=0.1,
               mu0=1.0, nu0=0.1, rho=1.5, beta=0.1, xi_B=0.1, seed=0, progress=None,
               strict=True):
    """min fun(x) s.t. cons(x) = 0 by the exact augmented-Lagrangian Newton method with
    randomized sketching KKT solves (P073, AdaSketch-Newton).

    fun(x) -> float, grad(x) -> (n,), cons(x) -> (m,), jac(x) -> (m, n),
    hess(x, lam) -> (n, n): the Hessian of the Lagrangian f + lam^T c (or hess=None and
    hessp(x, lam, v) -> H v). inner: "sketch" (row-block sketch-and-project, default),
    "kaczmarz", "gaussian" (Gaussian sketch-and-project) or "direct" (LU, the exact
    Newton-KKT baseline). Returns (x, lam, info) with info: iterations, inner_iterations,
    unit_steps, last_unit_step, hess_mods, mu_increases, fun_evals, kkt, f, mu, nu,
    converged, seconds, kkt_history.
    """
    where = "alm_newton"
    x0a = np.asarray(x0, dtype=np.float64).reshape(-1)
    n = x0a.shape[0]
    m = int(np.asarray(cons(x0a.copy()), dtype=np.float64).reshape(-1).shape[0])
    if hess is None and hessp is None:
        fail(Status.EINVAL, f"{where}: give hess(x, lam) or hessp(x, lam, v)")
    guard = _lib.CallbackGuard()
    fns = _alm_callbacks(where, fun, grad, hess, hessp, cons, jac, n, m, guard)
    P = AlmProblem(n, m, *fns, None)
    hist = np.zeros(max(_lib.check_int(max_iters, where, "max_iters"), 0) + 2)
    o, pcb = _alm_opts(where, tol, max_iters, inner, block, inner_max_iters, delta0, mu0, nu0,
                       rho, beta, xi_B, seed, hist, progress, guard)
    return _alm_run(where, P, n, m, x0a, lam0, o, guard, strict)


def alm_logreg(X, y, C, e, reg=0.0, x0=None, **kw):
    """Equality-constrained logistic regression with the built-in C problem:
    min (1/N) sum_j log(1 + exp(-y_j x_j^T w)) + (reg/2)||w||^2 s.t. C w = e; X (N, n),
    y (N,) in {-1, +1}, C (m, n), e (m,). Keyword options as alm_newton. Returns
    (w, lam, info)."""
    where = "alm_logreg"
    xa, Xv = _lib.as_matrix(X, where, "X")
    ya, yp = _lib.as_vector(y, where, "y", xa.shape[0])
    ca, Cv = _lib.as_matrix(C, where, "C")
    ea, ep = _lib.as_vector(e, where, "e", ca.shape[0])
    data, P = AlmLogreg(), AlmProblem()
    _lib.check(_fn("apx_alm_logreg_setup")(Xv, yp, Cv, ep, float(reg), ctypes.byref(data),
                                           ctypes.byref(P)), where)
    try:
        guard = _lib.CallbackGuard()
        max_iters = kw.pop("max_iters", 200)
        hist = np.zeros(max(_lib.check_int(max_iters, where, "max_iters"), 0) + 2)
        strict = kw.pop("strict", True)
        lam0 = kw.pop("lam0", None)
        args = dict(tol=1e-8, inner="sketch", block=None, inner_max_iters=None, delta0=0.1,
                    mu0=1.0, nu0=0.1, rho=1.5, beta=0.1, xi_B=0.1, seed=0, progress=None)
        unknown = set(kw) - set(args)
        if unknown:
            fail(Status.EINVAL, f"{where}: unknown options {sorted(unknown)}")
        args.update(kw)
        o, pcb = _alm_opts(where, args["tol"], max_iters, args["inner"], args["block"],
                           args["inner_max_iters"], args["delta0"], args["mu0"], args["nu0"],
                           args["rho"], args["beta"], args["xi_B"], args["seed"], hist,
                           args["progress"], guard)
        w0 = np.zeros(xa.shape[1]) if x0 is None else x0
        return _alm_run(where, P, xa.shape[1], ca.shape[0], w0, lam0, o, guard, strict)
    finally:
        _fn("apx_alm_logreg_free")(ctypes.byref(data))
