"""Loading libapx.so, the ctypes mirror of the C structs, and the call helpers.

Private module: the public API lives in apx.la, apx.io and apx (the package).

Library search order (first hit wins):
  1. the file named by the environment variable APX_LIBRARY (an error if it cannot be loaded);
  2. the library built in the checkout this package sits in: <repo>/build/libapx.so, where
     <repo> is two levels above this file's folder (python/apx/_lib.py -> <repo>);
  3. a copy installed next to the package by `pip install ./python` (apx/libapx.so);
  4. ctypes.util.find_library("apx"), then libapx.so in $PREFIX/lib, sys.prefix/lib,
     /usr/local/lib, /usr/lib.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import enum
import os
import sys
import threading
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------- status and errors


class Status(enum.IntEnum):
    """The library's status codes (apx_status in include/apx/core.h)."""

    OK = 0
    EINVAL = 1
    ESHAPE = 2
    ENOMEM = 3
    EIO = 4
    EFORMAT = 5
    ENOCONV = 6
    ENUMERIC = 7
    ECANCELED = 8
    EUNSUPPORTED = 9


class Error(Exception):
    """A failure reported by the apx library.

    Attributes:
        status:  the Status code (an int enum; Status.ESHAPE, Status.EINVAL, ...).
        message: the library's message from apx_last_error() ("rsvd: k = 500 ..."), or the
                 Python-side check's message for checks done before the call.
    """

    def __init__(self, status, message):
        try:
            status = Status(int(status))
        except ValueError:
            status = int(status)
        self.status = status
        self.message = message
        name = status.name if isinstance(status, Status) else str(status)
        super().__init__(f"{message} [{name}]")


# ---------------------------------------------------------------- finding the library

_PKG_DIR = Path(__file__).resolve().parent
_REPO_LIB = _PKG_DIR.parent.parent / "build" / "libapx.so"
_BUNDLED_LIB = _PKG_DIR / "libapx.so"


def _candidates():
    """(description, path or None) in search order, for the loader and its error message."""
    out = [("checkout build", str(_REPO_LIB)), ("installed with the package", str(_BUNDLED_LIB))]
    found = ctypes.util.find_library("apx")
    if found:
        out.append(("ctypes.util.find_library('apx')", found))
    dirs = []
    if os.environ.get("PREFIX"):
        dirs.append(Path(os.environ["PREFIX"]) / "lib")
    dirs += [Path(sys.prefix) / "lib", Path("/usr/local/lib"), Path("/usr/lib")]
    for d in dirs:
        out.append(("lib dir", str(d / "libapx.so")))
    return out


def _load():
    env = os.environ.get("APX_LIBRARY")
    if env:
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise ImportError(
                f"apx: APX_LIBRARY={env!r} could not be loaded: {e}. Unset APX_LIBRARY to use "
                f"the library built in the checkout, or point it at a libapx.so built by `make lib`."
            ) from None
    tried = ["APX_LIBRARY (not set)"]
    for what, path in _candidates():
        is_file = os.path.sep in path
        if is_file and not os.path.exists(path):
            tried.append(f"{path} ({what}: missing)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"{path} ({what}: {e})")
    raise ImportError(
        "apx: cannot find the apx shared library (libapx.so). Build it with `make lib` in the "
        "apx checkout, install it with `make install`, or set APX_LIBRARY=/path/to/libapx.so. "
        "Tried: " + "; ".join(tried)
    )


lib, lib_path = _load()

# ---------------------------------------------------------------- C types

c_i64 = ctypes.c_int64
c_u64 = ctypes.c_uint64
c_dp = ctypes.POINTER(ctypes.c_double)
c_i64p = ctypes.POINTER(ctypes.c_int64)


class Dmat(ctypes.Structure):
    """apx_dmat: row-major view, element (i,j) at data[i*ld + j]."""

    _fields_ = [("data", c_dp), ("rows", c_i64), ("cols", c_i64), ("ld", c_i64)]


ProgressFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_double, ctypes.c_char_p)


class Progress(ctypes.Structure):
    _fields_ = [("fn", ProgressFn), ("ctx", ctypes.c_void_p)]


class RsvdOpts(ctypes.Structure):
    _fields_ = [("oversample", c_i64), ("power_iters", ctypes.c_int), ("seed", c_u64),
                ("sketch", ctypes.c_int), ("progress", Progress)]


class RsvdInfo(ctypes.Structure):
    _fields_ = [("rank", c_i64), ("sketch_cols", c_i64), ("iterations", ctypes.c_int),
                ("err_est", ctypes.c_double), ("seconds", ctypes.c_double)]


LinopFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_dp, c_dp)


class Linop(ctypes.Structure):
    _fields_ = [("n", c_i64), ("apply", LinopFn), ("ctx", ctypes.c_void_p)]


class IterOpts(ctypes.Structure):
    _fields_ = [("max_iters", ctypes.c_int), ("tol", ctypes.c_double), ("seed", c_u64),
                ("progress", Progress)]


class IterInfo(ctypes.Structure):
    _fields_ = [("iterations", ctypes.c_int), ("converged", ctypes.c_int),
                ("residual", ctypes.c_double)]


class StreamEigOpts(ctypes.Structure):
    _fields_ = [("method", ctypes.c_int), ("max_heavy", c_i64), ("heavy_factor", ctypes.c_double),
                ("frob2", ctypes.c_double), ("block", c_i64), ("lr", ctypes.c_double),
                ("seed", c_u64)]


class NormProps(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("has_param", ctypes.c_int), ("help", ctypes.c_char_p)]


class NsOpts(ctypes.Structure):
    _fields_ = [("max_iters", ctypes.c_int), ("tol", ctypes.c_double)]


class CompleteOpts(ctypes.Structure):
    _fields_ = [("max_iters", ctypes.c_int), ("tol", ctypes.c_double), ("inexact", ctypes.c_int),
                ("cg_steps", ctypes.c_int), ("ridge", ctypes.c_double), ("seed", c_u64),
                ("progress", Progress)]


class CompleteInfo(ctypes.Structure):
    _fields_ = [("iterations", ctypes.c_int), ("converged", ctypes.c_int),
                ("rel_error", ctypes.c_double), ("seconds", ctypes.c_double),
                ("flops", ctypes.c_double)]


class BuildInfo(ctypes.Structure):
    _fields_ = [("version", ctypes.c_char_p), ("openmp", ctypes.c_int), ("cuda", ctypes.c_int),
                ("mpi", ctypes.c_int), ("blas_loaded", ctypes.c_int),
                ("blas_name", ctypes.c_char_p), ("blas_config", ctypes.c_char_p),
                ("blas_core", ctypes.c_char_p), ("blas_env_coretype", ctypes.c_char_p),
                ("threads", ctypes.c_int), ("cpu_avx512", ctypes.c_int)]


ARRAY_MAX_DIMS = 8


class Array(ctypes.Structure):
    """apx_array: an n-d array owning apx_malloc'd data, C order."""

    _fields_ = [("dtype", ctypes.c_int), ("ndim", ctypes.c_int),
                ("shape", c_i64 * ARRAY_MAX_DIMS), ("data", ctypes.c_void_p)]


class DtypeProps(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("size", ctypes.c_size_t),
                ("npy_descr", ctypes.c_char_p), ("st_name", ctypes.c_char_p)]


class Safetensors(ctypes.Structure):
    _fields_ = [("count", ctypes.c_int), ("names", ctypes.POINTER(ctypes.c_char_p)),
                ("tensors", ctypes.POINTER(Array)), ("meta_count", ctypes.c_int),
                ("meta_keys", ctypes.POINTER(ctypes.c_char_p)),
                ("meta_values", ctypes.POINTER(ctypes.c_char_p))]


class Mtx(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rows", c_i64), ("cols", c_i64), ("nnz", c_i64),
                ("row_idx", c_i64p), ("col_idx", c_i64p), ("values", c_dp), ("dense", c_dp)]


class CsvOpts(ctypes.Structure):
    _fields_ = [("delimiter", ctypes.c_char), ("skip_header", ctypes.c_int)]


# ---------------------------------------------------------------- prototypes

_S = ctypes.c_int  # apx_status
_P = ctypes.POINTER
_DM = Dmat
_PDM = _P(Dmat)
_vp = ctypes.c_void_p
_cs = ctypes.c_char_p
_i = ctypes.c_int
_d = ctypes.c_double

_PROTOTYPES = {
    # core
    "apx_strerror": (_cs, [_i]),
    "apx_last_error": (_cs, []),
    "apx_clear_error": (None, []),
    "apx_set_threads": (None, [_i]),
    "apx_get_threads": (_i, []),
    "apx_get_build_info": (None, [_P(BuildInfo)]),
    "apx_free": (None, [_vp]),
    # la: dense
    "apx_la_svd": (_S, [_DM, c_dp, _PDM, _PDM]),
    "apx_la_eigh": (_S, [_DM, c_dp, _PDM]),
    "apx_la_qr": (_S, [_DM, _DM, _DM]),
    "apx_la_cholesky": (_S, [_DM, _DM]),
    "apx_la_solve": (_S, [_DM, _DM, _DM]),
    "apx_la_lstsq": (_S, [_DM, _DM, _d, _DM, c_i64p]),
    "apx_la_pinv": (_S, [_DM, _d, _DM]),
    # la: randomized
    "apx_rsvd_opts_default": (RsvdOpts, []),
    "apx_la_range_finder": (_S, [_DM, _P(RsvdOpts), _DM]),
    "apx_la_rsvd": (_S, [_DM, c_i64, _P(RsvdOpts), _DM, c_dp, _DM, _P(RsvdInfo)]),
    "apx_la_rsvd_tol": (_S, [_DM, _d, c_i64, c_i64, _P(RsvdOpts), _DM, c_dp, _DM,
                             _P(RsvdInfo)]),
    "apx_la_block_krylov_svd": (_S, [_DM, c_i64, _P(RsvdOpts), _DM, c_dp, _DM, _P(RsvdInfo)]),
    "apx_la_nystrom": (_S, [_DM, c_i64, _P(RsvdOpts), _DM, c_dp, _P(RsvdInfo)]),
    "apx_la_reigh": (_S, [_DM, c_i64, _P(RsvdOpts), c_dp, _DM, _P(RsvdInfo)]),
    # la: iterative spectra
    "apx_linop_dense": (Linop, [_PDM]),
    "apx_iter_opts_default": (IterOpts, []),
    "apx_la_power_iter": (_S, [_DM, _P(IterOpts), c_dp, c_dp, _P(IterInfo)]),
    "apx_la_lanczos": (_S, [Linop, c_i64, c_i64, _i, _P(IterOpts), c_dp, _PDM, _P(IterInfo)]),
    "apx_la_slq": (_S, [Linop, _i, _i, c_u64, c_dp, c_dp]),
    "apx_la_slq_density": (_S, [c_dp, c_dp, _i, _i, _d, c_dp, c_i64, c_dp]),
    "apx_la_hutchinson": (_S, [Linop, _i, c_u64, c_dp, c_dp]),
    "apx_la_hutchpp": (_S, [Linop, _i, c_u64, c_dp]),
    # la: streaming
    "apx_stream_eig_opts_default": (StreamEigOpts, []),
    "apx_stream_eig_create": (_S, [c_i64, _P(StreamEigOpts), _P(_vp)]),
    "apx_stream_eig_push": (_S, [_vp, _DM]),
    "apx_stream_eig_result": (_S, [_vp, c_dp]),
    "apx_stream_eig_stored": (c_i64, [_vp]),
    "apx_stream_eig_free": (None, [_vp]),
    # la: norms
    "apx_norm_info": (_P(NormProps), [_i]),
    "apx_norm_parse": (_S, [_cs, _P(_i), c_dp]),
    "apx_la_norm": (_S, [_DM, _i, _d, c_dp]),
    "apx_la_mnn": (_S, [_DM, c_dp, c_dp]),
    # la: Newton-Schulz
    "apx_ns_opts_default": (NsOpts, []),
    "apx_la_polar_ns": (_S, [_DM, _P(NsOpts), _DM, _P(IterInfo)]),
    "apx_la_sign_ns": (_S, [_DM, _P(NsOpts), _DM, _P(IterInfo)]),
    "apx_la_newton_pinv": (_S, [_DM, _P(NsOpts), _DM, _P(IterInfo)]),
    "apx_la_newton_regress": (_S, [_DM, c_dp, _i, _P(NsOpts), c_dp, _P(IterInfo)]),
    # la: completion
    "apx_complete_opts_default": (CompleteOpts, []),
    "apx_la_complete": (_S, [c_i64, c_i64, c_i64, c_i64p, c_i64p, c_dp, c_i64,
                             _P(CompleteOpts), _DM, _DM, _P(CompleteInfo)]),
    # io
    "apx_dtype_info": (_P(DtypeProps), [_i]),
    "apx_array_free": (None, [_P(Array)]),
    "apx_npy_read": (_S, [_cs, _P(Array)]),
    "apx_npy_write": (_S, [_cs, _P(Array)]),
    "apx_npz_read": (_S, [_cs, _cs, _P(Array)]),
    "apx_npz_list": (_S, [_cs, _P(_P(_cs)), _P(_i)]),
    "apx_npz_names_free": (None, [_P(_cs), _i]),
    "apx_safetensors_read": (_S, [_cs, _P(Safetensors)]),
    "apx_safetensors_free": (None, [_P(Safetensors)]),
    "apx_safetensors_write": (_S, [_cs, _i, _P(_cs), _P(Array), _i, _P(_cs), _P(_cs)]),
    "apx_mtx_read": (_S, [_cs, _P(Mtx)]),
    "apx_mtx_free": (None, [_P(Mtx)]),
    "apx_mtx_write_coo": (_S, [_cs, c_i64, c_i64, c_i64, c_i64p, c_i64p, c_dp]),
    "apx_mtx_write_dense": (_S, [_cs, _DM]),
    "apx_csv_opts_default": (CsvOpts, []),
    "apx_csv_read": (_S, [_cs, _P(CsvOpts), _PDM]),
    "apx_dmat_free": (None, [_PDM]),
}

_fn_cache: dict = {}
_fn_lock = threading.Lock()


def fn(name):
    """The C function `name` with its prototype set. Functions are looked up on first use,
    so the package imports even when a module of the library is not built yet; a missing
    symbol raises Error(EUNSUPPORTED) naming the library file."""
    f = _fn_cache.get(name)
    if f is not None:
        return f
    with _fn_lock:
        try:
            f = getattr(lib, name)
        except AttributeError:
            raise Error(Status.EUNSUPPORTED,
                        f"{name}: not in the loaded library {lib_path} (it predates this "
                        f"function: rebuild it with `make lib`)") from None
        restype, argtypes = _PROTOTYPES[name]
        f.restype = restype
        f.argtypes = argtypes
        _fn_cache[name] = f
    return f


def has(name):
    """Whether the loaded library exports `name`."""
    return hasattr(lib, name)


# ---------------------------------------------------------------- calling


def last_error():
    msg = fn("apx_last_error")()
    return msg.decode("utf-8", "replace") if msg else ""


def check(status, where):
    """Raise Error for a non-zero status with the library's message (or the status text)."""
    if status == 0:
        return
    msg = last_error()
    if not msg:
        text = fn("apx_strerror")(int(status))
        msg = f"{where}: {text.decode() if text else 'failed'}"
    raise Error(status, msg)


def fail(status, message):
    """Raise Error for a check done on the Python side (before calling the library)."""
    raise Error(status, message)


# ---------------------------------------------------------------- arrays <-> views


def _ptr(a):
    return a.ctypes.data_as(c_dp)


def as_matrix(A, where, name):
    """(array, Dmat) for a 2-D float64 input. No copy when A is already float64 with a
    unit stride along rows and a row stride that is a multiple of 8 bytes (e.g. a column
    slice of a C-contiguous array): the view gets ld = row stride / 8. Otherwise a
    C-contiguous float64 copy is made."""
    if isinstance(A, np.ndarray):
        a = A
    else:
        a = _to_array(A, where, name)
    if a.ndim != 2:
        fail(Status.ESHAPE, f"{where}: {name} must be a 2-D array, got shape {a.shape}")
    if a.dtype != np.float64 or not _viewable(a):
        a = _ascontig(a, where, name)
    rows, cols = a.shape
    if a.size == 0:
        ld = max(cols, 1)
    else:
        ld = a.strides[0] // 8 if rows > 1 else cols
    return a, Dmat(_ptr(a), rows, cols, ld)


def _viewable(a):
    if a.size == 0:
        return True
    s0, s1 = a.strides
    rows, cols = a.shape
    if cols > 1 and s1 != 8:
        return False
    if rows > 1 and (s0 % 8 != 0 or s0 < 8 * cols):
        return False
    return a.ctypes.data % 8 == 0 and (a.dtype.byteorder in "=|" or
                                       a.dtype.byteorder == ("<" if sys.byteorder == "little"
                                                             else ">"))


def _to_array(x, where, name):
    try:
        return np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise Error(Status.EINVAL, f"{where}: {name} is not an array: {e}") from None


def _ascontig(a, where, name):
    if a.dtype.kind not in "biuf":
        fail(Status.EINVAL, f"{where}: {name} must be real numbers, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float64)


def as_vector(x, where, name, n=None):
    """(array, pointer) for a 1-D float64 input of length n (when given); copies only if
    x is not already a contiguous float64 vector."""
    a = _to_array(x, where, name)
    if a.ndim != 1:
        fail(Status.ESHAPE, f"{where}: {name} must be a 1-D array, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        fail(Status.ESHAPE, f"{where}: {name} has length {a.shape[0]}, expected {n}")
    if a.dtype != np.float64 or not a.flags.c_contiguous:
        a = _ascontig(a, where, name)
    return a, _ptr(a)


def as_index(x, where, name, n=None):
    """(array, pointer) for a 1-D int64 index vector."""
    a = _to_array(x, where, name)
    if a.ndim != 1:
        fail(Status.ESHAPE, f"{where}: {name} must be a 1-D array, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        fail(Status.ESHAPE, f"{where}: {name} has length {a.shape[0]}, expected {n}")
    if a.size and a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            pass
        else:
            fail(Status.EINVAL, f"{where}: {name} must hold integers, got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.int64)
    return a, a.ctypes.data_as(c_i64p)


def out_matrix(rows, cols):
    """A new C-contiguous (rows, cols) float64 array and its Dmat view."""
    a = np.zeros((rows, cols), dtype=np.float64)
    return a, Dmat(_ptr(a), rows, cols, max(cols, 1))


def out_vector(n):
    a = np.zeros(n, dtype=np.float64)
    return a, _ptr(a)


def check_int(v, where, name):
    """An int from a Python/NumPy integer, else Error(EINVAL)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return int(v)
        fail(Status.EINVAL, f"{where}: {name} must be an integer, got {v!r}")
    return int(v)


def c_int_range(v, where, name):
    """Check an integer fits a C int (the library's int parameters)."""
    v = check_int(v, where, name)
    if not -(2 ** 31) <= v < 2 ** 31:
        fail(Status.EINVAL, f"{where}: {name} = {v} does not fit a 32-bit int")
    return v


def c_seed(v, where):
    v = check_int(v, where, "seed")
    if not 0 <= v < 2 ** 64:
        fail(Status.EINVAL, f"{where}: seed = {v} must be in [0, 2**64)")
    return v


# ---------------------------------------------------------------- owned C handles


class Handle:
    """Base of the classes that own a C handle (a plan, a fitted model, a solver state):
    self._h is the handle (None or a null pointer: closed), the class attribute _free names
    the C function that frees it. close() frees it once; the object is also a context
    manager, and garbage collection closes it."""

    _free = None
    _h = None
    _free_fns: dict = {}

    def close(self):
        h = self._h
        if h is not None and (getattr(h, "value", h) is not None):
            self._h = None
            f = Handle._free_fns.get(self._free)
            if f is None:  # void free(void *): its own function object, no shared prototype
                f = ctypes.CFUNCTYPE(None, ctypes.c_void_p)((self._free, lib))
                Handle._free_fns[self._free] = f
            f(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


# ---------------------------------------------------------------- Python callbacks


class CallbackGuard:
    """Holds a Python exception raised inside a ctypes callback so the C code can see an
    error status instead, and the caller can re-raise the original afterwards."""

    def __init__(self):
        self.exc = None

    def capture(self, e):
        if self.exc is None:
            self.exc = e

    def reraise(self, status, where):
        """After the C call: re-raise a captured exception (chained to the library's error),
        else turn a non-zero status into Error."""
        if self.exc is not None:
            exc, self.exc = self.exc, None
            lib_err = None
            if status != 0:
                lib_err = Error(status, last_error() or f"{where}: failed in a callback")
            raise exc from lib_err
        check(status, where)


def make_progress(callback, guard):
    """A Progress struct for a Python callable progress(fraction, message) -> bool
    (truthy: cancel). None gives the empty struct (no progress)."""
    p = Progress()
    if callback is None:
        return p, None

    def trampoline(ctx, fraction, message):
        try:
            msg = message.decode("utf-8", "replace") if message else ""
            return 1 if callback(float(fraction), msg) else 0
        except BaseException as e:  # noqa: BLE001 - re-raised by the guard after the call
            guard.capture(e)
            return 1

    cfn = ProgressFn(trampoline)
    p.fn = cfn
    return p, cfn
