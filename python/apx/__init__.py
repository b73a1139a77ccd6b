"""apx: fast approximate computing for machine learning (Python binding of libapx).

    import apx
    U, S, Vt = apx.rsvd(A, 50)            # randomized SVD, A (m, n) -> (m,50), (50,), (50,n)
    apx.norm(A, "nuclear"); apx.lanczos(H, 5); apx.trace_estimate(op, 60, n=1000)
    apx.write_npy("A.npy", A); apx.read_npy("A.npy")

NumPy arrays in, new NumPy arrays out; the library's failures raise apx.Error (with .status
and the library's message).  The shared library is found through APX_LIBRARY, else the
checkout's build/libapx.so, else an installed copy (see apx._lib and docs/python.md).
"""
from __future__ import annotations

import ctypes

from . import _lib
from ._lib import Error, Status
from .io import (list_npz, read_csv, read_mtx, read_npy, read_npz, read_safetensors, write_mtx,
                 write_npy, write_safetensors)
from .la import (StreamEig, block_krylov_svd, cholesky, complete, eigh, hutchinson, hutchpp,
                 lanczos, lstsq, mnn, newton_pinv, newton_regress, norm, norm_kinds, nystrom,
                 pinv, polar, power_iter, qr, range_finder, reigh, rsvd, rsvd_tol, sign, slq,
                 slq_density, solve, svd, trace_estimate)

# The later modules. apx.lstsq is the least-squares front of apx.regress (method="qr" |
# "sketch" | ..., returning (x, info)); the dense LAPACK one stays as apx.la.lstsq.
from . import la, io, kernels, nonlinear, optim, regress, sketching, solvers, sparse  # noqa: E402
from . import train as _train_module  # noqa: E402
from .kernels import *  # noqa: E402,F401,F403
from .nonlinear import *  # noqa: E402,F401,F403
from .optim import *  # noqa: E402,F401,F403
from .regress import *  # noqa: E402,F401,F403
from .sketching import *  # noqa: E402,F401,F403
from .solvers import *  # noqa: E402,F401,F403
from .sparse import *  # noqa: E402,F401,F403
from .train import *  # noqa: E402,F401,F403

__version__ = "0.1.0"
library_path = _lib.lib_path

__all__ = [
    "Error", "Status", "info", "set_threads", "get_threads", "library_path", "__version__",
    # la
    "svd", "eigh", "qr", "cholesky", "solve", "lstsq", "pinv",
    "rsvd", "rsvd_tol", "block_krylov_svd", "nystrom", "reigh", "range_finder",
    "power_iter", "lanczos", "slq", "slq_density", "hutchinson", "hutchpp", "trace_estimate",
    "StreamEig", "norm", "norm_kinds", "mnn", "polar", "sign", "newton_pinv", "newton_regress",
    "complete",
    # io
    "read_npy", "write_npy", "read_npz", "list_npz", "read_safetensors", "write_safetensors",
    "read_mtx", "write_mtx", "read_csv",
]
for _m in (kernels, nonlinear, optim, regress, sketching, solvers, sparse, _train_module):
    __all__ += [n for n in _m.__all__ if n not in __all__]


def info():
    """Build and BLAS information (apx_get_build_info) as a dict: version, openmp, cuda, mpi,
    blas_loaded, blas_name, blas_config, blas_core (the OpenBLAS kernel set in use),
    blas_env_coretype (OPENBLAS_CORETYPE found in the environment), threads, cpu_avx512,
    plus library (the path of the loaded libapx)."""
    bi = _lib.BuildInfo()
    _lib.fn("apx_get_build_info")(ctypes.byref(bi))
    out = {}
    for name, ctype in bi._fields_:
        v = getattr(bi, name)
        if ctype is ctypes.c_char_p:
            out[name] = v.decode("utf-8", "replace") if v else ""
        elif name in ("threads",):
            out[name] = int(v)
        else:
            out[name] = bool(v)
    out["library"] = _lib.lib_path
    return out


def set_threads(n):
    """Set the threads apx uses (OpenMP and its BLAS together); n <= 0 restores the default
    (APX_THREADS if set, else the core count). Call it between computations."""
    _lib.fn("apx_set_threads")(_lib.c_int_range(n, "set_threads", "n"))


def get_threads():
    """The number of threads apx uses."""
    return int(_lib.fn("apx_get_threads")())
