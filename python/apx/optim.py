"""Training optimizers and learning-rate schedules (include/apx/optim.h).

    import apx.optim as O
    O.kinds()                                     # every kind with its settings and defaults
    trace = O.optimizer_trace("adamw", [W, b], [[gW0, gb0], [gW1, gb1]], lr=1e-2)
    trace[t][i]                                   # parameter i after step t (float32, W's shape)

The library's parameters and optimizer states are float32; the traces come back as float32
arrays of the shapes given. Failures raise apx.Error (bad settings: EINVAL with the library's
message naming the setting and the value).
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _lib
from ._lib import Error, Status, check, fail

__all__ = ["kinds", "optimizer_trace", "schedule_lr", "refine_schedule", "Optimizer",
           "tract_grad"]

_c = ctypes
_vp = _c.c_void_p
_i64 = _c.c_int64
_fp = _c.POINTER(_c.c_float)


class _Setting(_c.Structure):
    _fields_ = [("name", _c.c_char_p), ("default", _c.c_double), ("min", _c.c_double),
                ("max", _c.c_double), ("flags", _c.c_uint), ("help", _c.c_char_p)]


class _Kind(_c.Structure):
    _fields_ = [("name", _c.c_char_p), ("help", _c.c_char_p), ("flags", _c.c_uint),
                ("n_settings", _c.c_int), ("settings", _c.POINTER(_Setting))]


class _Sched(_c.Structure):
    _fields_ = [("kind", _c.c_int), ("lr", _c.c_double), ("min_lr", _c.c_double),
                ("warmup_steps", _i64), ("total_steps", _i64),
                ("table", _c.POINTER(_c.c_double)), ("table_len", _i64)]


# The prototypes of the functions this module calls (the package's shared table in _lib
# does not list them yet).
_PROTOS = {
    "apx_optim_kind_count": (_c.c_int, []),
    "apx_optim_kind_at": (_c.POINTER(_Kind), [_c.c_int]),
    "apx_params_create": (_c.c_int, [_c.POINTER(_vp)]),
    "apx_params_free": (None, [_vp]),
    "apx_params_add": (_c.c_int, [_vp, _c.c_char_p, _c.c_int, _c.POINTER(_i64),
                                  _c.POINTER(_i64)]),
    "apx_params_finalize": (_c.c_int, [_vp]),
    "apx_params_size": (_i64, [_vp]),
    "apx_params_data": (_fp, [_vp]),
    "apx_params_grad": (_fp, [_vp]),
    "apx_optim_create_str": (_c.c_int, [_vp, _c.c_char_p, _c.c_int,
                                        _c.POINTER(_c.c_char_p), _c.POINTER(_vp)]),
    "apx_optim_free": (None, [_vp]),
    "apx_optim_step_hess": (_c.c_int, [_vp, _c.c_double, _fp]),
    "apx_optim_set_group_scale": (_c.c_int, [_vp, _i64, _c.c_double, _c.c_double]),
    "apx_optim_base_lr": (_c.c_double, [_vp]),
    "apx_optim_set_layer_stats": (_c.c_int, [_vp, _i64, _fp, _i64, _fp, _i64]),
    "apx_tract_grad": (_c.c_int, [_fp, _i64, _i64, _fp, _i64, _c.c_double, _fp]),
    "apx_sched_kind_parse": (_c.c_int, [_c.c_char_p, _c.POINTER(_c.c_int)]),
    "apx_sched_lr": (_c.c_int, [_c.POINTER(_Sched), _i64, _c.POINTER(_c.c_double)]),
    "apx_sched_refine": (_c.c_int, [_c.POINTER(_c.c_double), _i64, _c.c_double, _c.c_int,
                                    _c.POINTER(_c.c_double)]),
}
_cache: dict = {}

_FLAG_INT, _FLAG_BOOL = 1, 2
_KIND_ELEMENTWISE, _KIND_MATRIX, _KIND_HESSIAN, _KIND_STATS, _KIND_BATCH = 1, 2, 4, 16, 32


def _fn(name):
    f = _cache.get(name)
    if f is None:
        try:
            f = getattr(_lib.lib, name)
        except AttributeError:
            raise Error(Status.EUNSUPPORTED, f"{name}: not in the loaded library "
                        f"{_lib.lib_path} (rebuild it with `make lib`)") from None
        f.restype, f.argtypes = _PROTOS[name]
        _cache[name] = f
    return f


def kinds():
    """Every optimizer kind of the library's table, as a list of dicts: name, help,
    elementwise, matrix (reads parameter shapes), hessian (takes a Hessian-diagonal estimate
    per step), stats (takes layer statistics: MKOR), batch (apx train grows its batch:
    AdAdaGrad), settings: a list of dicts (name, default, min, max, type 'real'|'int'|'bool',
    help)."""
    out = []
    for i in range(_fn("apx_optim_kind_count")()):
        k = _fn("apx_optim_kind_at")(i).contents
        sets = []
        for j in range(k.n_settings):
            s = k.settings[j]
            typ = "bool" if s.flags & _FLAG_BOOL else "int" if s.flags & _FLAG_INT else "real"
            sets.append({"name": s.name.decode(), "default": s.default, "min": s.min,
                         "max": s.max, "type": typ, "help": s.help.decode()})
        out.append({"name": k.name.decode(), "help": k.help.decode(),
                    "elementwise": bool(k.flags & _KIND_ELEMENTWISE),
                    "matrix": bool(k.flags & _KIND_MATRIX),
                    "hessian": bool(k.flags & _KIND_HESSIAN),
                    "stats": bool(k.flags & _KIND_STATS), "batch": bool(k.flags & _KIND_BATCH),
                    "settings": sets})
    return out


def _setting_text(key, value):
    if isinstance(value, (bool, np.bool_)):
        value = int(value)
    if isinstance(value, (int, np.integer)):
        return f"{key}={int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"{key}={float(value)!r}"
    if isinstance(value, str):
        return f"{key}={value}"
    fail(Status.EINVAL, f"optimizer_trace: setting {key} must be a number, got {value!r}")


def _as_params(params, where):
    out = []
    for i, p in enumerate(params):
        a = np.asarray(p)
        if a.dtype.kind not in "biuf":
            fail(Status.EINVAL, f"{where}: params[{i}] must be real numbers, got {a.dtype}")
        if a.ndim > 4:
            fail(Status.ESHAPE, f"{where}: params[{i}] has {a.ndim} dims, at most 4")
        if a.size == 0:
            fail(Status.ESHAPE, f"{where}: params[{i}] is empty")
        out.append(np.ascontiguousarray(a, dtype=np.float32))
    if not out:
        fail(Status.EINVAL, f"{where}: params is empty")
    return out


def _flat(arrs, shapes, where, what):
    if len(arrs) != len(shapes):
        fail(Status.ESHAPE, f"{where}: {what} has {len(arrs)} arrays, params has {len(shapes)}")
    parts = []
    for i, (a, s) in enumerate(zip(arrs, shapes)):
        a = np.asarray(a, dtype=np.float32)
        if a.shape != s:
            fail(Status.ESHAPE, f"{where}: {what}[{i}] has shape {a.shape}, expected {s}")
        parts.append(a.ravel())
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


class _Table:
    """An apx_params table holding `params` (float32), freed on close."""

    def __init__(self, params, where):
        self.h = _vp()
        check(_fn("apx_params_create")(_c.byref(self.h)), where)
        self.shapes = [p.shape for p in params]
        for i, p in enumerate(params):
            shape = p.shape if p.ndim else (1,)
            dims = (_i64 * len(shape))(*shape)
            check(_fn("apx_params_add")(self.h, f"p{i}".encode(), len(shape), dims, None), where)
        check(_fn("apx_params_finalize")(self.h), where)
        self.n = _fn("apx_params_size")(self.h)
        self.data = np.ctypeslib.as_array(_fn("apx_params_data")(self.h), (self.n,))
        self.grad = np.ctypeslib.as_array(_fn("apx_params_grad")(self.h), (self.n,))
        self.data[:] = np.concatenate([p.ravel() for p in params])

    def close(self):
        if self.h:
            _fn("apx_params_free")(self.h)
            self.h = _vp()


class Optimizer(_lib.Handle):
    """An apx optimizer over its own parameter table (float32), for driving it from Python.

    opt = Optimizer("adamw", [W0, b0], lr=1e-3)
    opt.grads[0][...] = dW; opt.grads[1][...] = db   # views of the gradient buffer
    opt.step()                                        # or opt.step(lr), opt.step(lr, hess)
    opt.params[0]                                     # a view of parameter 0 (W0's shape)

    params: list of arrays (1 to 4 dims, or scalars), the starting values; settings: the
    kind's settings by name. Call close() (or use it as a context manager) to free it.
    """

    def __init__(self, kind, params, **settings):
        where = "Optimizer"
        ps = _as_params(params, where)
        texts = [_setting_text(k, v).encode() for k, v in settings.items()]
        argv = (_c.c_char_p * max(len(texts), 1))(*texts)
        self._tab = _Table(ps, where)
        self._h = _vp()
        try:
            check(_fn("apx_optim_create_str")(self._tab.h, str(kind).encode(), len(texts), argv,
                                              _c.byref(self._h)), where)
        except Exception:
            self._tab.close()
            raise
        self.kind = str(kind)
        self.shapes = self._tab.shapes
        self.params = self._views(self._tab.data)
        self.grads = self._views(self._tab.grad)
        self.base_lr = _fn("apx_optim_base_lr")(self._h)

    def _views(self, flat):
        out, off = [], 0
        for s in self.shapes:
            size = int(np.prod(s)) if len(s) else 1
            out.append(flat[off:off + size].reshape(s))
            off += size
        return out

    @property
    def flat_params(self):
        """The whole parameter buffer (a float32 view)."""
        return self._tab.data

    @property
    def flat_grads(self):
        """The whole gradient buffer (a writable float32 view)."""
        return self._tab.grad

    def set_scales(self, index, lr_scale=1.0, wd_scale=1.0):
        """Multipliers of the learning rate and weight decay of parameter `index`."""
        check(_fn("apx_optim_set_group_scale")(self._h, int(index), float(lr_scale),
                                               float(wd_scale)), "Optimizer.set_scales")

    def set_stats(self, index, a, g):
        """Layer statistics of matrix parameter `index` (out, in) for the next step, for
        kinds that use them (MKOR): a (in) the batch mean of the layer's input, g (out) the
        batch mean of the per-row loss gradient with respect to its output."""
        a = np.ascontiguousarray(a, dtype=np.float32).ravel()
        g = np.ascontiguousarray(g, dtype=np.float32).ravel()
        check(_fn("apx_optim_set_layer_stats")(self._h, int(index), a.ctypes.data_as(_fp),
                                               a.size, g.ctypes.data_as(_fp), g.size),
              "Optimizer.set_stats")

    def step(self, lr=None, hessian=None, stats=None):
        """One step with learning rate lr (default: the "lr" setting) from the gradient
        buffer; hessian: a list of arrays (the params' shapes) holding a Hessian-diagonal
        estimate, for kinds that take one (Sophia); stats: a list with one entry per
        parameter, None or a pair (a, g) of layer statistics (see set_stats), for kinds
        that take them (MKOR)."""
        if stats is not None:
            if len(stats) != len(self.shapes):
                fail(Status.ESHAPE, f"Optimizer.step: stats has {len(stats)} entries for "
                     f"{len(self.shapes)} params")
            for i, st in enumerate(stats):
                if st is not None:
                    self.set_stats(i, st[0], st[1])
        h = None
        if hessian is not None:
            hv = _flat(hessian, self.shapes, "Optimizer.step", "hessian")
            h = hv.ctypes.data_as(_fp)
        lr = self.base_lr if lr is None else float(lr)
        check(_fn("apx_optim_step_hess")(self._h, lr, h), "Optimizer.step")

    _free = "apx_optim_free"

    def close(self):
        super().close()
        tab = getattr(self, "_tab", None)
        if tab is not None:
            tab.close()


def optimizer_trace(kind, params, grads, *, hessians=None, stats=None, lrs=None,
                    lr_scales=None, wd_scales=None, **settings):
    """Run optimizer `kind` on a given sequence of gradients; return the parameters after
    every step.

    kind:      a kind name ("sgd", "adamw", "lion", ...; see kinds()).
    params:    list of arrays (1 to 4 dims, or scalars), the starting parameters; their
               shapes matter to matrix-aware kinds (Muon orthogonalizes 2-D ones).
    grads:     one list per step, each a list of arrays of the params' shapes.
    hessians:  for kinds taking a Hessian-diagonal estimate (Sophia): one list per step (an
               entry None keeps the previous estimate), else None.
    stats:     for kinds taking layer statistics (MKOR): one entry per step, None or a list
               over params of None or (a, g): a (in) the batch-mean input and g (out) the
               batch-mean output gradient of the layer whose weight is that (out, in) param.
    lrs:       learning rate of each step (default: the "lr" setting at every step).
    lr_scales, wd_scales: per-parameter multipliers of the learning rate and of the weight
               decay (apx_optim_set_group_scale), default 1.
    settings:  the kind's settings by name (lr=1e-3, beta1=0.9, nesterov=True, ...).

    Returns a list over steps of lists of float32 arrays (the params' shapes).
    """
    where = "optimizer_trace"
    grads = list(grads)
    if hessians is not None and len(hessians) != len(grads):
        fail(Status.ESHAPE, f"{where}: {len(hessians)} Hessian estimates for {len(grads)} steps")
    if stats is not None and len(stats) != len(grads):
        fail(Status.ESHAPE, f"{where}: {len(stats)} statistics entries for {len(grads)} steps")
    if lrs is not None and len(lrs) != len(grads):
        fail(Status.ESHAPE, f"{where}: {len(lrs)} learning rates for {len(grads)} steps")
    with Optimizer(kind, params, **settings) as opt:
        n = len(opt.shapes)
        for name, sc in (("lr_scales", lr_scales), ("wd_scales", wd_scales)):
            if sc is not None and len(sc) != n:
                fail(Status.ESHAPE, f"{where}: {name} has {len(sc)} entries for {n} params")
        for i in range(n):
            opt.set_scales(i, 1.0 if lr_scales is None else lr_scales[i],
                           1.0 if wd_scales is None else wd_scales[i])
        trace = []
        for t, g in enumerate(grads):
            opt.flat_grads[:] = _flat(g, opt.shapes, where, f"grads[{t}]")
            opt.step(None if lrs is None else lrs[t],
                     None if hessians is None else hessians[t],
                     None if stats is None else stats[t])
            trace.append([p.copy() for p in opt.params])
        return trace


def schedule_lr(steps, *, kind="cosine", lr=1e-3, min_lr=0.0, warmup_steps=0,
                total_steps=1000):
    """The learning rate at each of the 0-based `steps` (an int n means range(n)) of a
    warm-up + constant / cosine / linear schedule (apx_sched_lr). Returns a float64 array."""
    where = "schedule_lr"
    if isinstance(steps, (int, np.integer)):
        steps = range(int(steps))
    k = _c.c_int()
    check(_fn("apx_sched_kind_parse")(str(kind).encode(), _c.byref(k)), where)
    s = _Sched(k.value, float(lr), float(min_lr), int(warmup_steps), int(total_steps), None, 0)
    out, v = [], _c.c_double()
    for t in steps:
        check(_fn("apx_sched_lr")(_c.byref(s), int(t), _c.byref(v)), where)
        out.append(v.value)
    return np.array(out, dtype=np.float64)


def refine_schedule(grad_norms, tau=0.1, power=2):
    """P069's refined schedule from the gradient norms of a previous run (apx_sched_refine):
    multipliers w_t = h_t^-power * sum_{p>t} h_p^-power normalized to max 1, h the norms
    median-filtered over round(tau T) steps; power 2 for SGD (l2 norms), 1 for Adam (l1
    norms). Returns a float64 array of len(grad_norms) (multiply by the peak lr)."""
    g = np.ascontiguousarray(grad_norms, dtype=np.float64)
    if g.ndim != 1:
        fail(Status.ESHAPE, f"refine_schedule: grad_norms must be 1-D, got shape {g.shape}")
    out = np.zeros_like(g)
    dp = _c.POINTER(_c.c_double)
    check(_fn("apx_sched_refine")(g.ctypes.data_as(dp), g.size, float(tau), int(power),
                                  out.ctypes.data_as(dp)), "refine_schedule")
    return out


def tract_grad(dW, X, lam=0.1):
    """TrAct (P051, apx_tract_grad): the first layer's weight gradient dW (out, in) turned
    into dW (X^T X / b + lam I)^-1 for the layer's inputs X (b, in). Use it in place of dW
    (with any optimizer) for a first layer Z = X W^T. Returns float32 (out, in)."""
    where = "tract_grad"
    g = np.ascontiguousarray(dW, dtype=np.float32)
    x = np.ascontiguousarray(X, dtype=np.float32)
    if g.ndim != 2 or x.ndim != 2 or g.shape[1] != x.shape[1]:
        fail(Status.ESHAPE, f"{where}: dW {g.shape} and X {x.shape} must be (out, in) and "
             f"(b, in)")
    out = np.empty_like(g)
    check(_fn("apx_tract_grad")(g.ctypes.data_as(_fp), g.shape[0], g.shape[1],
                                x.ctypes.data_as(_fp), x.shape[0], float(lam),
                                out.ctypes.data_as(_fp)), where)
    return out
