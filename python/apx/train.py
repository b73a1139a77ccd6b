"""Training, evaluating and sampling the byte-level GPT of apx (include/apx/nn.h, train.h).

    import apx
    model = apx.train("corpus.txt", "out/run", steps=500, layers=4, d_model=128)
    model.result                      # {'val_bpb': 2.31, 'tokens_per_s': 6100.0, ...}
    model = apx.Model.load("out/run")  # a run folder or a .safetensors model file
    model.evaluate("some text")        # {'loss': nats/byte, 'bpb': bits/byte, 'tokens': ...}
    model.generate("Once upon", 200)   # the continuation, a str

Conventions: texts are str (encoded as UTF-8) or bytes; token arrays are integer arrays of
shape (B, T) with values in [0, vocab); outputs are new NumPy arrays (float32 for model
values). Failures raise apx.Error with the library's message. progress= takes a callable
progress(fraction, message) -> bool (True cancels: apx.Error with status ECANCELED, after a
checkpoint is written).
"""
from __future__ import annotations

import ctypes
import math

import numpy as np

from . import _lib
from ._lib import CallbackGuard, Error, Status, check, fail, make_progress

__all__ = ["train", "train_resume", "Model", "Trainer", "NORMS", "ACTIVATIONS"]

NORMS = ("layernorm", "rmsnorm", "powernorm", "polynorm", "batchnorm")
ACTIVATIONS = ("gelu", "relu", "silu", "polyrelu")
SCHEDULES = ("constant", "cosine", "linear")

_i64 = ctypes.c_int64
_u64 = ctypes.c_uint64
_vp = ctypes.c_void_p
_P = ctypes.POINTER


class GptConfig(ctypes.Structure):
    _fields_ = [("n_layer", _i64), ("d_model", _i64), ("n_head", _i64), ("context", _i64),
                ("vocab", _i64), ("d_ff", _i64), ("norm", ctypes.c_int), ("act", ctypes.c_int),
                ("dropout", ctypes.c_float), ("tied", ctypes.c_int), ("bias", ctypes.c_int),
                ("norm_eps", ctypes.c_float), ("init_std", ctypes.c_float)]


class TrainOpts(ctypes.Structure):
    _fields_ = [("steps", _i64), ("batch", _i64), ("accum", _i64), ("lr", ctypes.c_double),
                ("min_lr", ctypes.c_double), ("warmup", _i64), ("schedule", ctypes.c_int),
                ("optimizer", ctypes.c_char_p), ("weight_decay", ctypes.c_double),
                ("beta1", ctypes.c_double), ("beta2", ctypes.c_double),
                ("grad_clip", ctypes.c_double), ("val_fraction", ctypes.c_double),
                ("eval_every", _i64), ("eval_tokens", _i64), ("ckpt_every", _i64),
                ("log_every", _i64), ("stop_at", _i64), ("time_budget", ctypes.c_double),
                ("seed", _u64), ("out_dir", ctypes.c_char_p), ("progress", _lib.Progress),
                ("opt_settings", ctypes.c_char * 512), ("max_tokens", _i64)]


class TrainResult(ctypes.Structure):
    _fields_ = [("steps", _i64), ("steps_planned", _i64), ("train_loss", ctypes.c_double),
                ("val_loss", ctypes.c_double), ("val_bpb", ctypes.c_double),
                ("tokens_per_s", ctypes.c_double), ("seconds", ctypes.c_double),
                ("tokens", _i64), ("stopped", ctypes.c_int), ("budget_reached", ctypes.c_int)]


class EvalResult(ctypes.Structure):
    _fields_ = [("loss", ctypes.c_double), ("bpb", ctypes.c_double), ("tokens", _i64),
                ("seconds", ctypes.c_double)]


class GenerateOpts(ctypes.Structure):
    _fields_ = [("temperature", ctypes.c_double), ("top_k", _i64), ("seed", _u64)]


class ForwardOpts(ctypes.Structure):
    _fields_ = [("training", ctypes.c_int), ("dropout_seed", _u64), ("dropout_stream", _u64),
                ("last_only", ctypes.c_int), ("record_stats", ctypes.c_int)]


class StepInfo(ctypes.Structure):
    _fields_ = [("loss", ctypes.c_double), ("grad_norm", ctypes.c_double),
                ("lr", ctypes.c_double), ("next_accum", ctypes.c_int64)]


class ParamInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("ndim", ctypes.c_int), ("shape", _i64 * 4),
                ("offset", _i64), ("size", _i64)]


class GptBuffer(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("size", _i64), ("data", _P(ctypes.c_float))]


class Tensor(ctypes.Structure):
    """apx_tensor (include/apx/ad.h): the public fields."""
    _fields_ = [("data", _P(ctypes.c_float)), ("grad", _P(ctypes.c_float)), ("shape", _i64 * 4),
                ("size", _i64), ("ndim", ctypes.c_int), ("requires_grad", ctypes.c_int)]


_S = ctypes.c_int
_i32p = _P(ctypes.c_int32)
_u8p = _P(ctypes.c_uint8)
_PROTO = {
    "apx_gpt_config_default": (GptConfig, []),
    "apx_gpt_config_check": (_S, [_P(GptConfig)]),
    "apx_gpt_create": (_S, [_P(GptConfig), _u64, _P(_vp)]),
    "apx_gpt_free": (None, [_vp]),
    "apx_gpt_get_config": (_P(GptConfig), [_vp]),
    "apx_gpt_params": (_vp, [_vp]),
    "apx_gpt_load": (_S, [ctypes.c_char_p, _P(_vp)]),
    "apx_gpt_save": (_S, [_vp, ctypes.c_char_p, ctypes.c_int, _vp, _vp, ctypes.c_int, _vp, _vp]),
    "apx_gpt_buffer_count": (_i64, [_vp]),
    "apx_gpt_buffer_get": (_S, [_vp, _i64, _P(GptBuffer)]),
    "apx_gpt_forward": (_S, [_vp, _vp, _i32p, _i32p, _i64, _i64, _P(ForwardOpts),
                             _P(_P(Tensor)), _P(_P(Tensor))]),
    "apx_gpt_evaluate": (_S, [_vp, _u8p, _i64, _i64, _i64, _P(_lib.Progress), _P(EvalResult)]),
    "apx_gpt_generate": (_S, [_vp, _u8p, _i64, _i64, _P(GenerateOpts), _P(_lib.Progress),
                              _u8p]),
    "apx_generate_opts_default": (GenerateOpts, []),
    "apx_train_opts_default": (TrainOpts, []),
    "apx_corpus_load": (_S, [ctypes.c_char_p, ctypes.c_double, _i64, _P(_vp)]),
    "apx_corpus_from_bytes": (_S, [_u8p, _i64, ctypes.c_char_p, ctypes.c_double, _i64,
                                   _P(_vp)]),
    "apx_corpus_free": (None, [_vp]),
    "apx_train": (_S, [_vp, _vp, _P(TrainOpts), _P(TrainResult)]),
    "apx_train_resume": (_S, [ctypes.c_char_p, _vp, _P(_lib.Progress), _P(_vp),
                              _P(TrainResult)]),
    "apx_trainer_create": (_S, [_vp, _P(TrainOpts), _P(_vp)]),
    "apx_trainer_free": (None, [_vp]),
    "apx_trainer_step": (_S, [_vp, _i32p, _i32p, _i64, _i64, _i64, ctypes.c_double, _u64,
                              _P(StepInfo)]),
    "apx_params_count": (_i64, [_vp]),
    "apx_params_size": (_i64, [_vp]),
    "apx_params_data": (_P(ctypes.c_float), [_vp]),
    "apx_params_grad": (_P(ctypes.c_float), [_vp]),
    "apx_params_info": (_S, [_vp, _i64, _P(ParamInfo)]),
    "apx_params_zero_grad": (None, [_vp]),
    "apx_graph_create": (_S, [_vp, _P(_vp)]),
    "apx_graph_free": (None, [_vp]),
    "apx_graph_reset": (None, [_vp]),
    "apx_graph_set_grad": (None, [_vp, ctypes.c_int]),
    "apx_ad_backward": (_S, [_vp, _P(Tensor)]),
    "apx_nn_norm_parse": (_S, [ctypes.c_char_p, _P(ctypes.c_int)]),
    "apx_nn_act_parse": (_S, [ctypes.c_char_p, _P(ctypes.c_int)]),
}
_cache: dict = {}


def _fn(name):
    """The C function `name` with this module's prototype (EUNSUPPORTED if the loaded
    library predates it)."""
    f = _cache.get(name)
    if f is None:
        if not _lib.has(name):
            fail(Status.EUNSUPPORTED, f"{name}: not in the loaded library {_lib.lib_path} "
                                      f"(rebuild it with `make lib`)")
        f = getattr(_lib.lib, name)
        f.restype, f.argtypes = _PROTO[name]
        _cache[name] = f
    return f


def _as_bytes(text, where, name):
    if isinstance(text, str):
        return text.encode("utf-8")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    fail(Status.EINVAL, f"{where}: {name} must be str or bytes, got {type(text).__name__}")


def _u8(buf):
    a = np.frombuffer(buf, dtype=np.uint8) if len(buf) else np.zeros(1, np.uint8)
    return a, a.ctypes.data_as(_u8p)


def _tokens(x, where, name, shape=None):
    a = np.asarray(x)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        fail(Status.ESHAPE, f"{where}: {name} must be (B, T), got shape {a.shape}")
    if a.dtype.kind not in "iu":
        fail(Status.EINVAL, f"{where}: {name} must hold integers, got dtype {a.dtype}")
    if shape is not None and a.shape != shape:
        fail(Status.ESHAPE, f"{where}: {name} has shape {a.shape}, expected {shape}")
    if a.size and (a.min() < -(2 ** 31) or a.max() >= 2 ** 31):
        fail(Status.EINVAL, f"{where}: {name} has values outside int32")
    return np.ascontiguousarray(a, dtype=np.int32)


def _config(kw, where):
    """A GptConfig from keyword arguments (defaults from the library)."""
    c = _fn("apx_gpt_config_default")()
    names = {"layers": "n_layer", "d_model": "d_model", "heads": "n_head", "context": "context",
             "vocab": "vocab", "d_ff": "d_ff"}
    for k, f in names.items():
        if kw.get(k) is not None:
            setattr(c, f, _lib.check_int(kw[k], where, k))
    for k, table, f in (("norm", NORMS, "norm"), ("act", ACTIVATIONS, "act")):
        if kw.get(k) is not None:
            if kw[k] not in table:
                fail(Status.EINVAL, f"{where}: {k} = {kw[k]!r} is not one of {', '.join(table)}")
            setattr(c, f, table.index(kw[k]))
    for k in ("dropout", "norm_eps", "init_std"):
        if kw.get(k) is not None:
            setattr(c, k, float(kw[k]))
    if kw.get("tied") is not None:
        c.tied = 1 if kw["tied"] else 0
    if kw.get("bias") is not None:
        c.bias = 1 if kw["bias"] else 0
    check(_fn("apx_gpt_config_check")(ctypes.byref(c)), where)
    return c


def _config_dict(c):
    return {"layers": c.n_layer, "d_model": c.d_model, "heads": c.n_head,
            "context": c.context, "vocab": c.vocab, "d_ff": c.d_ff or 4 * c.d_model,
            "norm": NORMS[c.norm], "act": ACTIVATIONS[c.act], "dropout": float(c.dropout),
            "tied": bool(c.tied), "bias": bool(c.bias), "norm_eps": float(c.norm_eps),
            "init_std": float(c.init_std)}


def _result_dict(r):
    return {"steps": r.steps, "steps_planned": r.steps_planned, "train_loss": r.train_loss,
            "val_loss": r.val_loss, "val_bpb": r.val_bpb, "tokens_per_s": r.tokens_per_s,
            "seconds": r.seconds, "tokens": r.tokens, "stopped": bool(r.stopped),
            "budget_reached": bool(r.budget_reached)}


# ====================================================================== the model


class Model:
    """A byte-level GPT (include/apx/nn.h): pre-norm decoder blocks with causal multi-head
    attention, parameters named as in GPT-2 ("wte", "h.0.attn.wqkv", ...).

    Model(layers=4, d_model=128, heads=4, context=128, vocab=256, d_ff=0 (4 d_model),
    norm="layernorm" | "rmsnorm" | "powernorm" | "polynorm" | "batchnorm", act="gelu" | "relu" |
    "silu" | "polyrelu", dropout=0, tied=True, bias=True, norm_eps=1e-5, init_std=0.02, seed=0)
    initialises a new model; Model.load(path) reads a saved one.
    """

    def __init__(self, seed=0, **config):
        self._h = None
        c = _config(config, "Model")
        h = _vp()
        check(_fn("apx_gpt_create")(ctypes.byref(c), _lib.c_seed(seed, "Model"),
                                    ctypes.byref(h)), "Model")
        self._h = h
        self.result = None

    @classmethod
    def _wrap(cls, handle):
        m = cls.__new__(cls)
        m._h = handle
        m.result = None
        return m

    @classmethod
    def load(cls, path):
        """Read a model file, a training checkpoint, or a run folder (its model.safetensors,
        else its checkpoint.safetensors)."""
        h = _vp()
        check(_fn("apx_gpt_load")(str(path).encode(), ctypes.byref(h)), "Model.load")
        return cls._wrap(h)

    def __del__(self):
        h = getattr(self, "_h", None)
        if h:
            _fn("apx_gpt_free")(h)
            self._h = None

    def _handle(self):
        if not self._h:
            fail(Status.EINVAL, "Model: the model has been freed")
        return self._h

    @property
    def config(self):
        """The configuration as a dict (layers, d_model, heads, context, vocab, d_ff, norm,
        act, dropout, tied, bias, norm_eps, init_std)."""
        return _config_dict(_fn("apx_gpt_get_config")(self._handle()).contents)

    def _params(self):
        return _fn("apx_gpt_params")(self._handle())

    @property
    def num_params(self):
        return int(_fn("apx_params_size")(self._params()))

    def _groups(self):
        p = self._params()
        out = []
        for i in range(_fn("apx_params_count")(p)):
            pi = ParamInfo()
            check(_fn("apx_params_info")(p, i, ctypes.byref(pi)), "Model")
            out.append((pi.name.decode(), tuple(pi.shape[:pi.ndim]), pi.offset, pi.size))
        return out

    def _flat(self, which):
        p = self._params()
        n = _fn("apx_params_size")(p)
        ptr = _fn("apx_params_data" if which == "data" else "apx_params_grad")(p)
        return np.ctypeslib.as_array(ptr, shape=(n,))

    def parameters(self):
        """{name: float32 array (a copy)} for every parameter group, in table order."""
        flat = self._flat("data")
        return {n: flat[o:o + s].reshape(sh).copy() for n, sh, o, s in self._groups()}

    def set_parameters(self, values):
        """Overwrite parameter groups from {name: array} (shapes must match)."""
        flat = self._flat("data")
        groups = {n: (sh, o, s) for n, sh, o, s in self._groups()}
        for name, v in values.items():
            if name not in groups:
                fail(Status.EINVAL, f"set_parameters: no parameter named {name!r}")
            sh, o, s = groups[name]
            a = np.asarray(v, dtype=np.float32)
            if a.shape != sh:
                fail(Status.ESHAPE, f"set_parameters: {name} has shape {sh}, got {a.shape}")
            if not np.all(np.isfinite(a)):
                fail(Status.EINVAL, f"set_parameters: {name} holds NaN or Inf")
            flat[o:o + s] = a.ravel()

    def buffers(self):
        """{name: float32 array (a copy)} of the non-trainable state (PowerNorm)."""
        out = {}
        for i in range(_fn("apx_gpt_buffer_count")(self._handle())):
            b = GptBuffer()
            check(_fn("apx_gpt_buffer_get")(self._handle(), i, ctypes.byref(b)), "Model")
            out[b.name.decode()] = np.ctypeslib.as_array(b.data, shape=(b.size,)).copy()
        return out

    def save(self, path):
        """Write the model (parameters, buffers, configuration) as safetensors, atomically."""
        check(_fn("apx_gpt_save")(self._handle(), str(path).encode(), 0, None, None, 0, None,
                                  None), "Model.save")

    # ------------------------------------------------------------------ forward

    def _run(self, ids, targets, grad, training=False, dropout_seed=0):
        ids = _tokens(ids, "Model.forward", "ids")
        tg = None if targets is None else _tokens(targets, "Model.forward", "targets", ids.shape)
        g = _vp()
        check(_fn("apx_graph_create")(None, ctypes.byref(g)), "Model.forward")
        try:
            _fn("apx_graph_set_grad")(g, 1 if grad else 0)
            fo = ForwardOpts(1 if training else 0, int(dropout_seed), 0, 0)
            lg, ls = _P(Tensor)(), _P(Tensor)()
            if grad:
                _fn("apx_params_zero_grad")(self._params())
            B, T = ids.shape
            check(_fn("apx_gpt_forward")(self._handle(), g, ids.ctypes.data_as(_i32p),
                                         None if tg is None else tg.ctypes.data_as(_i32p), B, T,
                                         ctypes.byref(fo), ctypes.byref(lg),
                                         None if tg is None else ctypes.byref(ls)),
                  "Model.forward")
            t = lg.contents
            logits = np.ctypeslib.as_array(t.data, shape=tuple(t.shape[:t.ndim])).copy()
            loss = None if tg is None else float(ls.contents.data[0])
            grads = None
            if grad:
                check(_fn("apx_ad_backward")(g, ls), "Model.loss_and_grad")
                flat = self._flat("grad")
                grads = {n: flat[o:o + s].reshape(sh).copy() for n, sh, o, s in self._groups()}
            return logits, loss, grads
        finally:
            _fn("apx_graph_free")(g)

    def forward(self, ids, targets=None, training=False, dropout_seed=0):
        """Logits (B, T, vocab) float32 for ids (B, T), and the mean cross-entropy when
        targets (B, T) are given: returns (logits, loss or None). training=True applies
        dropout (masks from dropout_seed) and PowerNorm's training mode."""
        logits, loss, _ = self._run(ids, targets, False, training, dropout_seed)
        return logits, loss

    def loss_and_grad(self, ids, targets, training=False, dropout_seed=0):
        """(loss, logits, {name: gradient}) of the mean cross-entropy on one batch."""
        logits, loss, grads = self._run(ids, targets, True, training, dropout_seed)
        return loss, logits, grads

    # ------------------------------------------------------------------ evaluate, generate

    def evaluate(self, text, batch=16, max_tokens=0, progress=None):
        """Mean loss of the model on a text (str or bytes, >= 2 bytes): windows of context + 1
        bytes with stride context. Returns {'loss' (nats/byte), 'bpb' (bits/byte), 'tokens',
        'seconds'}."""
        buf = _as_bytes(text, "evaluate", "text")
        a, ptr = _u8(buf)
        guard = CallbackGuard()
        prog, keep = make_progress(progress, guard)
        r = EvalResult()
        st = _fn("apx_gpt_evaluate")(self._handle(), ptr, len(buf),
                                     _lib.check_int(batch, "evaluate", "batch"),
                                     _lib.check_int(max_tokens, "evaluate", "max_tokens"),
                                     ctypes.byref(prog), ctypes.byref(r))
        guard.reraise(st, "evaluate")
        return {"loss": r.loss, "bpb": r.bpb, "tokens": r.tokens, "seconds": r.seconds}

    def generate_bytes(self, prompt, n, temperature=0.8, top_k=40, seed=0, progress=None):
        """n bytes sampled after the prompt (str or bytes, non-empty), as bytes."""
        buf = _as_bytes(prompt, "generate", "prompt")
        n = _lib.check_int(n, "generate", "n")
        if n < 0:
            fail(Status.EINVAL, f"generate: n = {n} must be >= 0")
        a, ptr = _u8(buf)
        out = np.zeros(max(n, 1), dtype=np.uint8)
        o = GenerateOpts(float(temperature), _lib.check_int(top_k, "generate", "top_k"),
                         _lib.c_seed(seed, "generate"))
        guard = CallbackGuard()
        prog, keep = make_progress(progress, guard)
        st = _fn("apx_gpt_generate")(self._handle(), ptr, len(buf), n, ctypes.byref(o),
                                     ctypes.byref(prog), out.ctypes.data_as(_u8p))
        guard.reraise(st, "generate")
        return out[:n].tobytes()

    def generate(self, prompt, n, temperature=0.8, top_k=40, seed=0, progress=None):
        """The continuation of `prompt` by n sampled bytes, decoded as UTF-8 (invalid
        sequences replaced). Same seed, same text."""
        return self.generate_bytes(prompt, n, temperature, top_k, seed,
                                   progress).decode("utf-8", "replace")


# ====================================================================== training


def _opts(kw, out, progress_struct):
    o = _fn("apx_train_opts_default")()
    ints = ("steps", "batch", "accum", "eval_every", "eval_tokens", "ckpt_every", "log_every",
            "stop_at", "max_tokens")
    for k in ints:
        if kw.get(k) is not None:
            setattr(o, k, _lib.check_int(kw[k], "train", k))
    for k in ("lr", "weight_decay", "beta1", "beta2", "grad_clip", "val_fraction"):
        if kw.get(k) is not None:
            setattr(o, k, float(kw[k]))
    if kw.get("min_lr") is not None:
        o.min_lr = float(kw["min_lr"])
    if kw.get("warmup") is not None:
        o.warmup = _lib.check_int(kw["warmup"], "train", "warmup")
    if kw.get("minutes"):
        o.time_budget = 60.0 * float(kw["minutes"])
    if kw.get("opt_settings"):
        text = kw["opt_settings"]
        if isinstance(text, dict):
            text = ",".join(f"{k}={v}" for k, v in text.items())
        text = str(text).encode()
        if len(text) >= 512:
            fail(Status.EINVAL, f"train: opt_settings has {len(text)} bytes, at most 511")
        o.opt_settings = text
    if kw.get("schedule") is not None:
        if kw["schedule"] not in SCHEDULES:
            fail(Status.EINVAL, f"train: schedule {kw['schedule']!r} is not one of "
                                f"{', '.join(SCHEDULES)}")
        o.schedule = SCHEDULES.index(kw["schedule"])
    o._optimizer = (kw.get("optimizer") or "adamw").encode()
    o.optimizer = o._optimizer
    o.seed = _lib.c_seed(kw.get("seed", 0), "train")
    o._out = None if out is None else str(out).encode()
    o.out_dir = o._out
    o.progress = progress_struct
    return o


_MODEL_KEYS = ("layers", "d_model", "heads", "context", "vocab", "d_ff", "norm", "act",
               "dropout", "tied", "bias", "norm_eps", "init_std")
_TRAIN_KEYS = ("steps", "batch", "accum", "lr", "min_lr", "warmup", "schedule", "optimizer",
               "weight_decay", "beta1", "beta2", "grad_clip", "val_fraction", "eval_every",
               "eval_tokens", "ckpt_every", "log_every", "stop_at", "minutes", "seed",
               "opt_settings", "max_tokens")


def train(corpus, out=None, *, progress=None, **kw):
    """Train a new model on a text file (corpus: a path; or the text itself as bytes) and
    return it; model.result holds {'steps', 'train_loss', 'val_loss', 'val_bpb',
    'tokens_per_s', 'seconds', 'tokens', 'stopped', 'budget_reached', 'steps_planned'}.

    out: folder for checkpoint.safetensors, model.safetensors, log.jsonl, loss.svg and
    summary.json (None: no files). Model options as Model(); training options: steps=1000,
    batch=16, accum=1, lr=1e-3, min_lr=lr/10, warmup=steps/20, schedule="cosine",
    optimizer="adamw", weight_decay=0.1, beta1=0.9, beta2=0.95, grad_clip=1.0,
    val_fraction=0.1, eval_every=100, eval_tokens=32768, ckpt_every=0, log_every=10,
    stop_at=0, minutes=0 (a time budget), max_tokens=0 (a token budget: the run ends after
    the step at which this many training tokens were seen), seed=0 (initialisation and data
    order),
    opt_settings: more settings of the optimizer kind, "k=v,k=v" or a dict
    ({"inv_freq": 5}).
    """
    unknown = set(kw) - set(_MODEL_KEYS) - set(_TRAIN_KEYS)
    if unknown:
        fail(Status.EINVAL, f"train: unknown option(s) {', '.join(sorted(unknown))}")
    model = Model(seed=kw.get("seed", 0), **{k: kw[k] for k in _MODEL_KEYS if k in kw})
    ctx = model.config["context"]
    guard = CallbackGuard()
    prog, keep = make_progress(progress, guard)
    o = _opts(kw, out, prog)
    c = _vp()
    if isinstance(corpus, (bytes, bytearray, memoryview)):
        buf = _as_bytes(corpus, "train", "corpus")
        a, ptr = _u8(buf)
        st = _fn("apx_corpus_from_bytes")(ptr, len(buf), b"<text>", o.val_fraction, ctx,
                                          ctypes.byref(c))
    else:
        st = _fn("apx_corpus_load")(str(corpus).encode(), o.val_fraction, ctx, ctypes.byref(c))
    check(st, "train")
    try:
        r = TrainResult()
        st = _fn("apx_train")(model._handle(), c, ctypes.byref(o), ctypes.byref(r))
        guard.reraise(st, "train")
    finally:
        _fn("apx_corpus_free")(c)
    model.result = _result_dict(r)
    return model


def train_resume(out, corpus=None, progress=None):
    """Continue the run saved in folder `out` (bit-identically to an uninterrupted run) to
    its planned step count; returns the trained Model. corpus: the text file when it has
    moved (it must be the same bytes), else the path stored in the checkpoint."""
    guard = CallbackGuard()
    prog, keep = make_progress(progress, guard)
    c = _vp()
    if corpus is not None:
        # the split comes from the checkpoint; the library compares size and CRC-32
        st = _fn("apx_corpus_load")(str(corpus).encode(), _resume_val_fraction(out), 1,
                                    ctypes.byref(c))
        check(st, "train_resume")
    try:
        h = _vp()
        r = TrainResult()
        st = _fn("apx_train_resume")(str(out).encode(), c if corpus is not None else None,
                                     ctypes.byref(prog), ctypes.byref(h), ctypes.byref(r))
        guard.reraise(st, "train_resume")
    finally:
        if corpus is not None:
            _fn("apx_corpus_free")(c)
    m = Model._wrap(h)
    m.result = _result_dict(r)
    return m


def _resume_val_fraction(out):
    """The val_fraction stored in DIR/checkpoint.safetensors (read from its JSON header)."""
    import json
    import os
    import struct
    path = os.path.join(str(out), "checkpoint.safetensors")
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            meta = json.loads(f.read(min(n, 100 << 20)))["__metadata__"]
        return float(meta["apx.train.val_fraction"])
    except (OSError, ValueError, KeyError, struct.error):
        return 0.1  # the library reports the real problem with the checkpoint


class Trainer:
    """One optimizer step at a time on your own batches (apx_trainer): the optimizer of
    apx train (AdamW by default; weight decay on the matrices only), gradient clipping and
    accumulation.

    Trainer(model, optimizer="adamw", lr=1e-3, weight_decay=0.1, beta1=0.9, beta2=0.95,
    grad_clip=1.0, seed=0); step(ids, targets, lr=None, accum=1) -> {'loss', 'grad_norm',
    'lr', 'next_accum'} where ids, targets hold accum * B rows of T tokens (next_accum:
    the micro-batches the next step should use, grown by the norm test for 'adadagrad').
    """

    def __init__(self, model, optimizer="adamw", lr=1e-3, weight_decay=0.1, beta1=0.9,
                 beta2=0.95, grad_clip=1.0, seed=0):
        self._h = None
        self.model = model
        self.lr = float(lr)
        o = _opts({"optimizer": optimizer, "lr": lr, "weight_decay": weight_decay,
                   "beta1": beta1, "beta2": beta2, "grad_clip": grad_clip, "seed": seed},
                  None, _lib.Progress())
        h = _vp()
        check(_fn("apx_trainer_create")(model._handle(), ctypes.byref(o), ctypes.byref(h)),
              "Trainer")
        self._h = h
        self._steps = 0

    def __del__(self):
        h = getattr(self, "_h", None)
        if h:
            _fn("apx_trainer_free")(h)
            self._h = None

    def step(self, ids, targets, lr=None, accum=1):
        ids = _tokens(ids, "Trainer.step", "ids")
        tg = _tokens(targets, "Trainer.step", "targets", ids.shape)
        accum = _lib.check_int(accum, "Trainer.step", "accum")
        if accum < 1 or ids.shape[0] % accum:
            fail(Status.EINVAL, f"Trainer.step: accum = {accum} must divide the {ids.shape[0]} "
                                f"rows")
        lr = self.lr if lr is None else float(lr)
        if not math.isfinite(lr):
            fail(Status.EINVAL, f"Trainer.step: lr = {lr}")
        info = StepInfo()
        check(_fn("apx_trainer_step")(self._h, ids.ctypes.data_as(_i32p),
                                      tg.ctypes.data_as(_i32p), accum, ids.shape[0] // accum,
                                      ids.shape[1], lr, self._steps, ctypes.byref(info)),
              "Trainer.step")
        self._steps += 1
        return {"loss": info.loss, "grad_norm": info.grad_norm, "lr": info.lr,
                "next_accum": info.next_accum}
