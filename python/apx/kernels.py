"""Random-feature regression (P068) and kernel / deep-NTK regression and classification (P078)
(include/apx/regress.h, its kernel section).

    rf = apx.RandomFeatures(2000, band=30.0, lam=1e-6, seed=0).fit(X, y)   # frozen a_j, b_j
    yhat = rf.predict(Xt)                                                  # Phi(Xt) c
    K = apx.kernel_matrix(X, Z, kernel="rbf", gamma=0.5)                   # (n, m)
    K = apx.ntk_kernel(X, Z, depth=10, activation="relu")                  # on the unit sphere
    kr = apx.KernelRidge(kernel="ntk", alpha=0.0, depth=100).fit(X, y)     # ridgeless
    labels = kr.classify(Xt)                                               # sign(f), 0 -> +1
    apx.hilbert_estimate(X, y, Xt, alpha=2)    apx.nearest_neighbor(X, y, Xt)
    apx.majority_vote(y, Xt)

Arrays are float64 (C order passes without a copy); y may be (n,) or (n, r); labels for the
classifiers are -1/+1. Failures raise apx.Error with the library's message.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _lib
from ._lib import Dmat, Status, c_dp, c_i64, c_u64, check, fail, out_matrix
from .sketching import _fn as _sketch_fn

__all__ = ["RandomFeatures", "random_features", "kernel_matrix", "ntk_kernel", "KernelRidge",
           "hilbert_estimate", "majority_vote", "nearest_neighbor", "dual_activation",
           "RF_KINDS", "RF_ACTIVATIONS", "KERNELS", "DUAL_ACTIVATIONS"]

RF_KINDS = {"uniform": 0, "gaussian": 1, "fourier": 2}
RF_ACTIVATIONS = {"tanh": 0, "relu": 1, "sigmoid": 2, "cos": 3}
KERNELS = {"rbf": 0, "laplace": 1, "laplacian": 1, "poly": 2, "polynomial": 2, "arccos": 3,
           "nngp": 4, "ntk": 5}
DUAL_ACTIVATIONS = {"relu": 0, "erf": 1, "sine": 2, "opt2": 3, "opt3": 4, "opt5": 5, "opt9": 6,
                    "hermite": 7}


class RfOpts(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("act", ctypes.c_int), ("band", ctypes.c_double),
                ("bias_band", ctypes.c_double), ("seed", c_u64)]


class RfInfo(ctypes.Structure):
    _fields_ = [("rank", c_i64), ("method", ctypes.c_int), ("train_rmse", ctypes.c_double),
                ("seconds", ctypes.c_double)]


class Kernel(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("gamma", ctypes.c_double), ("coef0", ctypes.c_double),
                ("degree", ctypes.c_int), ("depth", ctypes.c_int), ("act", ctypes.c_int),
                ("act_param", ctypes.c_double)]


class KridgeOpts(ctypes.Structure):
    _fields_ = [("lam", ctypes.c_double), ("rcond", ctypes.c_double),
                ("progress", _lib.Progress)]


class KridgeInfo(ctypes.Structure):
    _fields_ = [("method", ctypes.c_int), ("rank", c_i64), ("seconds", ctypes.c_double)]


_S = ctypes.c_int
_P = ctypes.POINTER
_vp = ctypes.c_void_p
_d = ctypes.c_double
_PROTOTYPES = {
    "apx_rf_opts_default": (RfOpts, []),
    "apx_rf_create": (_S, [c_i64, c_i64, _P(RfOpts), _P(_vp)]),
    "apx_rf_free": (None, [_vp]),
    "apx_rf_weights": (_S, [_vp, _P(c_i64), _P(c_i64), _P(Dmat), c_dp]),
    "apx_rf_transform": (_S, [_vp, Dmat, Dmat]),
    "apx_rf_fit": (_S, [_vp, Dmat, Dmat, _d, _d, Dmat, _P(RfInfo)]),
    "apx_rf_predict": (_S, [_vp, Dmat, Dmat, Dmat]),
    "apx_kernel_default": (Kernel, [ctypes.c_int]),
    "apx_kernel_dual": (_S, [ctypes.c_int, _d, ctypes.c_int, _d, c_dp, c_dp]),
    "apx_kernel_matrix": (_S, [_P(Kernel), Dmat, Dmat, Dmat]),
    "apx_kridge_opts_default": (KridgeOpts, []),
    "apx_kridge_fit": (_S, [_P(Kernel), Dmat, Dmat, _P(KridgeOpts), _P(_vp), _P(KridgeInfo)]),
    "apx_kridge_predict": (_S, [_vp, Dmat, Dmat]),
    "apx_kridge_coef": (_S, [_vp, _P(c_i64), _P(c_i64), _P(c_i64), _P(Dmat)]),
    "apx_kridge_free": (None, [_vp]),
    "apx_classify_nn": (_S, [Dmat, c_dp, Dmat, c_dp]),
    "apx_classify_majority": (_S, [c_dp, c_i64, c_i64, c_dp]),
    "apx_classify_hilbert": (_S, [Dmat, c_dp, Dmat, _d, c_dp]),
}


def _fn(name):
    return _sketch_fn(name, _PROTOTYPES)


def _pick(table, value, where, what):
    if value not in table:
        fail(Status.EINVAL, f"{where}: {what} must be one of {sorted(table)}, got {value!r}")
    return table[value]


def _targets(y, n, where):
    """(y as (n, r) array, Dmat, was 1-D)."""
    yy = _lib._to_array(y, where, "y")
    vec = yy.ndim == 1
    y2, Yv = _lib.as_matrix(yy.reshape(-1, 1) if vec else yy, where, "y")
    if y2.shape[0] != n:
        fail(Status.ESHAPE, f"{where}: X has {n} rows but y has {y2.shape[0]}")
    return y2, Yv, vec


_Handle = _lib.Handle


# ---------------------------------------------------------------- random features


class RandomFeatures(_Handle):
    """Random-feature regression f(x) = sum_j c_j act(a_j . x - b_j) with frozen weights.

    kind "uniform": a_j ~ U[-band, band]^d, b_j ~ U[-B, B] (the band-limited net of P068);
    "gaussian": a_j ~ N(0, band^2 I), b_j ~ N(0, B^2) (the unbounded baseline); "fourier":
    random Fourier features sqrt(2/N) cos(a . x + b) of exp(-band ||x - z||^2). B = bias_band
    (None: band). activation: "tanh", "relu", "sigmoid", "cos". fit() solves the ridge problem
    min ||Phi c - y||^2 + lam ||c||^2 (lam = 0: minimum-norm least squares by gelsd).
    Attributes after fit: coef_ (N,) or (N, r), info_ (dict), weights_ -> (W (N, d), b (N,)).
    """

    _free = "apx_rf_free"

    def __init__(self, n_features=1000, band=1.0, kind="uniform", activation="tanh",
                 bias_band=None, lam=0.0, rcond=None, seed=0):
        self.n_features = _lib.check_int(n_features, "RandomFeatures", "n_features")
        self.band, self.kind, self.activation = band, kind, activation
        self.bias_band, self.lam, self.rcond, self.seed = bias_band, lam, rcond, seed
        self._h = None
        self._d = None
        self.coef_ = None

    def _plan(self, d):
        if self._h is not None and self._d == d:
            return self._h
        self.close()
        o = _fn("apx_rf_opts_default")()
        o.kind = _pick(RF_KINDS, self.kind, "RandomFeatures", "kind")
        o.act = _pick(RF_ACTIVATIONS, self.activation, "RandomFeatures", "activation")
        o.band = float(self.band)
        o.bias_band = -1.0 if self.bias_band is None else float(self.bias_band)
        o.seed = _lib.c_seed(self.seed, "RandomFeatures")
        h = _vp()
        check(_fn("apx_rf_create")(d, self.n_features, ctypes.byref(o), ctypes.byref(h)),
              "rf_create")
        self._h, self._d = h, d
        return h

    def fit(self, X, y):
        x, Xv = _lib.as_matrix(X, "RandomFeatures.fit", "X")
        y2, Yv, vec = _targets(y, x.shape[0], "RandomFeatures.fit")
        h = self._plan(x.shape[1])
        C, Cv = out_matrix(self.n_features, y2.shape[1])
        inf = RfInfo()
        rc = -1.0 if self.rcond is None else float(self.rcond)
        check(_fn("apx_rf_fit")(h, Xv, Yv, float(self.lam), rc, Cv, ctypes.byref(inf)), "rf_fit")
        self.coef_ = C[:, 0].copy() if vec else C
        self._vec = vec
        self.info_ = {"rank": int(inf.rank), "method": ["primal", "dual", "gelsd"][inf.method],
                      "train_rmse": float(inf.train_rmse), "seconds": float(inf.seconds)}
        return self

    def _need_fit(self, where):
        if self.coef_ is None or self._h is None:
            fail(Status.EINVAL, f"{where}: call fit() first")

    def transform(self, X):
        """Phi(X) (n, N)."""
        x, Xv = _lib.as_matrix(X, "RandomFeatures.transform", "X")
        h = self._plan(x.shape[1]) if self._h is None else self._h
        P, Pv = out_matrix(x.shape[0], self.n_features)
        check(_fn("apx_rf_transform")(h, Xv, Pv), "rf_transform")
        return P

    def predict(self, X):
        self._need_fit("RandomFeatures.predict")
        x, Xv = _lib.as_matrix(X, "RandomFeatures.predict", "X")
        C = self.coef_.reshape(self.n_features, -1)
        c, Cv = _lib.as_matrix(C, "RandomFeatures.predict", "coef_")
        P, Pv = out_matrix(x.shape[0], c.shape[1])
        check(_fn("apx_rf_predict")(self._h, Xv, Cv, Pv), "rf_predict")
        return P[:, 0].copy() if self._vec else P

    @property
    def weights_(self):
        if self._h is None:
            fail(Status.EINVAL, "RandomFeatures.weights_: call fit() or transform() first")
        W, Wv = out_matrix(self.n_features, self._d)
        b = np.zeros(self.n_features)
        check(_fn("apx_rf_weights")(self._h, None, None, ctypes.byref(Wv), b.ctypes.data_as(c_dp)),
              "rf_weights")
        return W, b

random_features = RandomFeatures

# ---------------------------------------------------------------- kernels


def _kernel(kernel, gamma, coef0, degree, depth, activation, act_param, where):
    kind = _pick(KERNELS, kernel, where, "kernel")
    k = _fn("apx_kernel_default")(kind)
    k.gamma = 0.0 if gamma is None else float(gamma)
    k.coef0 = float(coef0)
    if degree is not None:
        k.degree = _lib.c_int_range(degree, where, "degree")
    k.depth = _lib.c_int_range(depth, where, "depth")
    k.act = _pick(DUAL_ACTIVATIONS, activation, where, "activation")
    k.act_param = float(act_param)
    return k


def kernel_matrix(X, Z=None, kernel="rbf", gamma=None, coef0=1.0, degree=None, depth=1,
                  activation="relu", act_param=1.0):
    """K (n, m) = k(X_i, Z_j) for X (n, d), Z (m, d) (Z = None: X).

    kernel: "rbf" exp(-gamma |x-z|^2); "laplace" exp(-gamma |x-z|_1) (sklearn's laplacian);
    "poly" (gamma x.z + coef0)^degree (degree 3); "arccos" Cho-Saul of degree 0 or 1 (default
    1); "nngp" / "ntk" the depth-L kernels of a fully connected net on the unit sphere for the
    dual activation `activation` ("relu", "erf", "sine" (act_param a), "opt2", "opt3", "opt5",
    "opt9", "hermite" (degree k)). gamma None: 1 / d as scikit-learn.
    """
    k = _kernel(kernel, gamma, coef0, degree, depth, activation, act_param, "kernel_matrix")
    x, Xv = _lib.as_matrix(X, "kernel_matrix", "X")
    z, Zv = (x, Xv) if Z is None else _lib.as_matrix(Z, "kernel_matrix", "Z")
    K, Kv = out_matrix(x.shape[0], z.shape[0])
    check(_fn("apx_kernel_matrix")(ctypes.byref(k), Xv, Zv, Kv), "kernel_matrix")
    return K


def ntk_kernel(X, Z=None, depth=1, activation="relu", act_param=1.0, degree=None, nngp=False):
    """The depth-L NTK Theta^(L) (or with nngp=True the NNGP Sigma^(L)) of a fully connected
    net with L hidden layers, rows projected onto the unit sphere: Sigma^(0) = Theta^(0) = rho,
    Sigma^(l) = r(Sigma^(l-1)), Theta^(l) = Theta^(l-1) r'(Sigma^(l-1)) + Sigma^(l)."""
    return kernel_matrix(X, Z, kernel="nngp" if nngp else "ntk", degree=degree, depth=depth,
                         activation=activation, act_param=act_param)


def dual_activation(rho, activation="relu", act_param=1.0, degree=1):
    """(r(rho), r'(rho)) of a normalized dual activation, elementwise for an array rho."""
    a = _pick(DUAL_ACTIVATIONS, activation, "dual_activation", "activation")
    rr = np.asarray(rho, dtype=np.float64)
    r, dr = np.empty_like(rr), np.empty_like(rr)
    f = _fn("apx_kernel_dual")
    o1, o2 = ctypes.c_double(), ctypes.c_double()
    deg = _lib.c_int_range(degree, "dual_activation", "degree")
    for i, v in enumerate(rr.flat):
        check(f(a, float(act_param), deg, float(v), ctypes.byref(o1), ctypes.byref(o2)),
              "kernel_dual")
        r.flat[i], dr.flat[i] = o1.value, o2.value
    return r, dr


class KernelRidge(_Handle):
    """Kernel ridge regression, fit once / predict many: alpha = (K + lam I)^-1 y by Cholesky
    (the same model as sklearn.kernel_ridge.KernelRidge(alpha=lam, kernel=...)); alpha=0 is
    ridgeless (the minimum-norm K^+ y by LAPACK gelsd). The kernel arguments are those of
    kernel_matrix. Attributes after fit: dual_coef_ (n,) or (n, r), info_ (dict).
    classify(X) = sign(predict(X)) with 0 -> +1."""

    _free = "apx_kridge_free"

    def __init__(self, kernel="rbf", alpha=1.0, gamma=None, degree=None, coef0=1.0, depth=1,
                 activation="relu", act_param=1.0, rcond=None):
        self.kernel, self.alpha, self.gamma, self.degree = kernel, alpha, gamma, degree
        self.coef0, self.depth, self.activation = coef0, depth, activation
        self.act_param, self.rcond = act_param, rcond
        self._h = None

    def fit(self, X, y, progress=None):
        k = _kernel(self.kernel, self.gamma, self.coef0, self.degree, self.depth,
                    self.activation, self.act_param, "KernelRidge")
        x, Xv = _lib.as_matrix(X, "KernelRidge.fit", "X")
        y2, Yv, vec = _targets(y, x.shape[0], "KernelRidge.fit")
        o = _fn("apx_kridge_opts_default")()
        o.lam = float(self.alpha)
        o.rcond = -1.0 if self.rcond is None else float(self.rcond)
        guard = _lib.CallbackGuard()
        o.progress, _keep = _lib.make_progress(progress, guard)
        self.close()
        h, inf = _vp(), KridgeInfo()
        st = _fn("apx_kridge_fit")(ctypes.byref(k), Xv, Yv, ctypes.byref(o), ctypes.byref(h),
                                   ctypes.byref(inf))
        guard.reraise(st, "kridge_fit")
        self._h, self._vec, self._r = h, vec, y2.shape[1]
        A, Av = out_matrix(x.shape[0], y2.shape[1])
        check(_fn("apx_kridge_coef")(h, None, None, None, ctypes.byref(Av)), "kridge_coef")
        self.dual_coef_ = A[:, 0].copy() if vec else A
        self.info_ = {"method": ["cholesky", "gelsd"][inf.method], "rank": int(inf.rank),
                      "seconds": float(inf.seconds)}
        return self

    def predict(self, X):
        if self._h is None:
            fail(Status.EINVAL, "KernelRidge.predict: call fit() first")
        x, Xv = _lib.as_matrix(X, "KernelRidge.predict", "X")
        P, Pv = out_matrix(x.shape[0], self._r)
        check(_fn("apx_kridge_predict")(self._h, Xv, Pv), "kridge_predict")
        return P[:, 0].copy() if self._vec else P

    def classify(self, X):
        return np.where(self.predict(X) < 0, -1.0, 1.0)



# ---------------------------------------------------------------- classifiers


def _train_test(X, y, Xt, where):
    x, Xv = _lib.as_matrix(X, where, "X")
    yy, yp = _lib.as_vector(np.asarray(y).reshape(-1) if np.ndim(y) == 2 and np.shape(y)[1] == 1
                            else y, where, "y", x.shape[0])
    xt, Xtv = _lib.as_matrix(Xt, where, "Xt")
    out = np.zeros(xt.shape[0])
    return (x, yy, xt), Xv, yp, Xtv, out


def nearest_neighbor(X, y, Xt):
    """Labels (m,) of the nearest training row (Euclidean; the first on ties) for Xt (m, d)."""
    keep, Xv, yp, Xtv, out = _train_test(X, y, Xt, "nearest_neighbor")
    check(_fn("apx_classify_nn")(Xv, yp, Xtv, out.ctypes.data_as(c_dp)), "classify_nn")
    return out


def hilbert_estimate(X, y, Xt, alpha):
    """Hilbert estimate sign(sum_i y_i |x - x_i|^-alpha) (m,), labels -1/+1 (0 -> +1); on the
    sphere S^(d-1) (data in R^d) the consistent alpha is d - 1."""
    keep, Xv, yp, Xtv, out = _train_test(X, y, Xt, "hilbert_estimate")
    check(_fn("apx_classify_hilbert")(Xv, yp, Xtv, float(alpha), out.ctypes.data_as(c_dp)),
          "classify_hilbert")
    return out


def majority_vote(y, Xt):
    """sign(sum y) (0 -> +1) for each of m test points: Xt an array (m rows) or the count m."""
    m = _lib.check_int(Xt, "majority_vote", "m") if np.ndim(Xt) == 0 else int(np.shape(Xt)[0])
    yy, yp = _lib.as_vector(np.asarray(y).reshape(-1), "majority_vote", "y")
    out = np.zeros(max(m, 0))
    check(_fn("apx_classify_majority")(yp, yy.shape[0], m, out.ctypes.data_as(c_dp)),
          "classify_majority")
    return out
