"""apx.optim step for step against the peers on the same gradient sequences: torch.optim
(SGD incl. Nesterov, AdamW, Adagrad, Muon), lion-pytorch, and NumPy references written from
the papers (optim_ref.py) where no peer installs. Parameters agree to 1e-5 relative (plus a
1e-6 absolute floor for entries near zero) after 20 steps."""
import numpy as np
import pytest

import optim_ref
from apx import Error, Status
from apx import optim

torch = pytest.importorskip("torch")

SHAPES = [(6, 4), (5,), (3, 7)]
STEPS = 20


def problem(seed=0, shapes=SHAPES, steps=STEPS, gscale=1.0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[(gscale * rng.standard_normal(s)).astype(np.float32) for s in shapes]
             for _ in range(steps)]
    return params, grads


def torch_trace(make_opt, params, grads):
    ps = [torch.nn.Parameter(torch.tensor(p)) for p in params]
    opt = make_opt(ps)
    out = []
    for g in grads:
        for p, gi in zip(ps, g):
            p.grad = torch.tensor(gi)
        opt.step()
        out.append([p.detach().numpy().copy() for p in ps])
    return out


def assert_traces(a, b, rtol=1e-5, atol=1e-6):
    assert len(a) == len(b)
    for t, (x, y) in enumerate(zip(a, b)):
        for i, (xi, yi) in enumerate(zip(x, y)):
            assert xi.shape == np.shape(yi)
            err = np.abs(xi - yi) - (atol + rtol * np.abs(yi))
            assert np.all(err <= 0), f"step {t} param {i}: max excess {err.max():.3g}"


@pytest.mark.parametrize("settings", [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
])
def test_sgd_matches_torch(settings):
    params, grads = problem(1)
    mine = optim.optimizer_trace("sgd", params, grads, **settings)
    ref = torch_trace(lambda ps: torch.optim.SGD(ps, **settings), params, grads)
    assert_traces(mine, ref)


@pytest.mark.parametrize("settings", [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.0),
    dict(lr=0.02, amsgrad=True, weight_decay=0.1),
])
@pytest.mark.parametrize("foreach", [False, True])
def test_adamw_matches_torch(settings, foreach):
    params, grads = problem(2)
    mine_set = dict(settings)
    if "betas" in mine_set:
        mine_set["beta1"], mine_set["beta2"] = mine_set.pop("betas")
    mine = optim.optimizer_trace("adamw", params, grads, **mine_set)
    ref = torch_trace(lambda ps: torch.optim.AdamW(ps, foreach=foreach, **settings), params,
                      grads)
    assert_traces(mine, ref)


def test_adamw_schedule_and_group_scales_match_torch():
    params, grads = problem(3)
    lrs = optim.schedule_lr(STEPS, kind="cosine", lr=0.05, warmup_steps=5, total_steps=STEPS)
    scales = [1.0, 0.5, 2.0]
    mine = optim.optimizer_trace("adamw", params, grads, lrs=lrs, lr_scales=scales,
                                 wd_scales=[1, 0, 1], weight_decay=0.1)
    ps = [torch.nn.Parameter(torch.tensor(p)) for p in params]
    groups = [{"params": [p], "lr": 0.05 * s, "weight_decay": 0.1 if i != 1 else 0.0}
              for i, (p, s) in enumerate(zip(ps, scales))]
    opt = torch.optim.AdamW(groups)
    ref = []
    for t, g in enumerate(grads):
        for grp, s in zip(opt.param_groups, scales):
            grp["lr"] = lrs[t] * s
        for p, gi in zip(ps, g):
            p.grad = torch.tensor(gi)
        opt.step()
        ref.append([p.detach().numpy().copy() for p in ps])
    assert_traces(mine, ref)


@pytest.mark.parametrize("settings", [
    dict(lr=0.1),
    dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5),
    dict(lr=0.1, eps=0.01),
])
def test_adagrad_matches_torch(settings):
    params, grads = problem(4)
    mine = optim.optimizer_trace("adagrad", params, grads, **settings)
    ref = torch_trace(lambda ps: torch.optim.Adagrad(ps, **settings), params, grads)
    assert_traces(mine, ref)


@pytest.mark.parametrize("settings", [
    dict(lr=0.01),
    dict(lr=0.003, betas=(0.5, 0.99), weight_decay=1.0),
])
def test_lion_matches_lion_pytorch(settings):
    lion = pytest.importorskip("lion_pytorch")
    params, grads = problem(5)
    mine_set = dict(settings)
    if "betas" in mine_set:
        mine_set["beta1"], mine_set["beta2"] = mine_set.pop("betas")
    mine = optim.optimizer_trace("lion", params, grads, **mine_set)
    ref = torch_trace(lambda ps: lion.Lion(ps, **settings), params, grads)
    assert_traces(mine, ref)


@pytest.mark.parametrize("settings", [
    dict(lr=0.5),
    dict(lr=0.5, per_group=True, weight_decay=0.2),
])
def test_adagrad_norm_matches_reference(settings):
    params, grads = problem(6)
    mine = optim.optimizer_trace("adagrad-norm", params, grads, **settings)
    ref = optim_ref.adagrad_norm(params, grads, **settings)
    assert_traces(mine, ref)


def test_kinds_and_bad_settings():
    names = [k["name"] for k in optim.kinds()]
    for want in ("sgd", "adamw", "lion", "adagrad", "adagrad-norm", "muon", "sophia", "nlr-gd",
                 "galore", "fira", "mfac", "mkor", "gradnormlorp", "adadagrad"):
        assert want in names
    flags = {k["name"]: k for k in optim.kinds()}
    assert flags["mkor"]["stats"] and flags["mkor"]["matrix"] and flags["adadagrad"]["batch"]
    for k in optim.kinds():
        assert k["settings"][0]["name"] == "lr"
    params, grads = problem(7, steps=1)
    with pytest.raises(Error) as e:
        optim.optimizer_trace("adamw", params, grads, lr=-0.1)
    assert e.value.status == Status.EINVAL and "lr = -0.1" in e.value.message
    with pytest.raises(Error) as e:
        optim.optimizer_trace("adamw", params, grads, beta1=1.0)
    assert e.value.status == Status.EINVAL and "beta1" in e.value.message
    with pytest.raises(Error) as e:
        optim.optimizer_trace("adamw", params, grads, momentum=0.9)
    assert "unknown setting 'momentum'" in e.value.message
    with pytest.raises(Error) as e:
        optim.optimizer_trace("nope", params, grads)
    assert "unknown optimizer kind" in e.value.message
    with pytest.raises(Error) as e:
        optim.optimizer_trace("sgd", params, [[g[0], g[1]] for g in grads])
    assert e.value.status == Status.ESHAPE
    with pytest.raises(Error) as e:
        optim.optimizer_trace("sgd", params, [[g[0].T, g[1], g[2]] for g in grads])
    assert e.value.status == Status.ESHAPE
    bad = [[g[0], g[1], np.full_like(g[2], np.nan)] for g in grads]
    with pytest.raises(Error) as e:
        optim.optimizer_trace("sgd", params, bad)
    assert e.value.status == Status.ENUMERIC and "'p2'" in e.value.message


def test_schedule_lr_matches_closed_form():
    lr = optim.schedule_lr(120, kind="cosine", lr=0.5, min_lr=0.05, warmup_steps=10,
                           total_steps=110)
    t = np.arange(120)
    u = np.clip((t - 10) / 100, 0, 1)
    want = np.where(t < 10, 0.5 * (t + 1) / 10, 0.05 + 0.45 * 0.5 * (1 + np.cos(np.pi * u)))
    np.testing.assert_allclose(lr, want, rtol=1e-14, atol=0)
    lin = optim.schedule_lr([0, 60, 200], kind="linear", lr=1.0, total_steps=120)
    np.testing.assert_allclose(lin, [1.0, 0.5, 0.0], rtol=1e-14, atol=1e-15)
    with pytest.raises(Error):
        optim.schedule_lr(3, kind="step")
    with pytest.raises(Error):
        optim.schedule_lr(3, lr=-1)


def _ns_float64(grad, ns_coefficients, ns_steps, eps):
    """torch.optim.Muon's Newton-Schulz iteration, the same steps in float64 (torch runs it
    in bfloat16, too coarse for a 1e-5 comparison; apx runs it in double)."""
    a, b, c = ns_coefficients
    x = grad.to(torch.float64)
    tall = grad.size(0) > grad.size(1)
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        A = x @ x.T
        B = b * A + c * A @ A
        x = a * x + B @ x
    if tall:
        x = x.T
    return x.to(grad.dtype)


@pytest.mark.parametrize("settings", [
    dict(lr=0.02),
    dict(lr=0.02, nesterov=False, momentum=0.9, weight_decay=0.0),
    dict(lr=0.01, adjust_lr_fn="match_rms_adamw"),
    dict(lr=0.01, adjust_lr_fn="spectral_unclamped", ns_steps=3),
])
def test_muon_matches_torch(settings, monkeypatch):
    if not hasattr(torch.optim, "Muon"):
        pytest.skip("this torch has no torch.optim.Muon")
    import torch.optim._muon as tm
    monkeypatch.setattr(tm, "_zeropower_via_newtonschulz", _ns_float64)
    shapes = [(6, 4), (3, 7), (5, 5)]
    params, grads = problem(8, shapes=shapes)
    mine_set = dict(settings)
    modes = {None: 0, "original": 0, "match_rms_adamw": 1, "spectral_unclamped": 2}
    mine_set["adjust_lr"] = modes[mine_set.pop("adjust_lr_fn", None)]
    mine = optim.optimizer_trace("muon", params, grads, **mine_set)
    ref = torch_trace(lambda ps: torch.optim.Muon(ps, **settings), params, grads)
    assert_traces(mine, ref)


def test_muon_rejects_vectors():
    params, grads = problem(9, steps=1)
    with pytest.raises(Error) as e:
        optim.optimizer_trace("muon", params, grads)
    assert e.value.status == Status.EINVAL and "'p1'" in e.value.message
    out = optim.optimizer_trace("muon", params, grads, adamw_others=True)
    assert all(np.all(np.isfinite(x)) for x in out[0])


@pytest.mark.parametrize("settings", [
    dict(lr=0.01, rho=0.04, weight_decay=0.1, bs=16),
    dict(lr=0.003, rho=0.5, weight_decay=0.0, bs=1, betas=(0.9, 0.95)),
])
def test_sophia_matches_sophia_opt(settings):
    sophia_opt = pytest.importorskip("sophia_opt")
    params, grads = problem(10)
    rng = np.random.default_rng(11)
    ghat = {t: [rng.standard_normal(p.shape).astype(np.float32) for p in params]
            for t in range(0, STEPS, 4)}  # a Gauss-Newton-Bartlett refresh every 4th step
    settings = dict(settings)
    bs = settings.pop("bs")
    mine_set = dict(settings, hess_scale=bs)
    if "betas" in mine_set:
        mine_set["beta1"], mine_set["beta2"] = mine_set.pop("betas")
    hessians = [[g * g for g in ghat[t]] if t in ghat else None for t in range(STEPS)]
    mine = optim.optimizer_trace("sophia", params, grads, hessians=hessians, **mine_set)
    ps = [torch.nn.Parameter(torch.tensor(p)) for p in params]
    opt = sophia_opt.SophiaG(ps, **settings)
    ref = []
    for t, g in enumerate(grads):
        if t in ghat:
            for p, gi in zip(ps, ghat[t]):
                p.grad = torch.tensor(gi)
            opt.update_hessian()
        for p, gi in zip(ps, g):
            p.grad = torch.tensor(gi)
        opt.step(bs=bs)
        ref.append([p.detach().numpy().copy() for p in ps])
    assert_traces(mine, ref)


def test_sophia_bad_hessian():
    params, grads = problem(12, steps=1)
    with pytest.raises(Error) as e:
        optim.optimizer_trace("sophia", params, grads,
                              hessians=[[np.full(p.shape, np.inf, np.float32) for p in params]])
    assert e.value.status == Status.EINVAL
    with pytest.raises(Error) as e:
        optim.optimizer_trace("adamw", params, grads, hessians=[[p for p in params]])
    assert "takes no Hessian" in e.value.message


def test_refine_schedule_constant_norms_is_linear_decay():
    w = optim.refine_schedule(np.full(50, 2.0), tau=0.1)
    np.testing.assert_allclose(w, (49 - np.arange(50)) / 49, rtol=0, atol=1e-12)
    with pytest.raises(Error):
        optim.refine_schedule([1.0, 0.0, 1.0])


@pytest.mark.parametrize("kind", ["galore", "fira"])
@pytest.mark.parametrize("settings", [
    dict(lr=0.01, rank=2, update_proj_gap=50),
    dict(lr=0.01, rank=3, update_proj_gap=50, weight_decay=0.1, alpha=1.0),
    dict(lr=0.01, rank=2, update_proj_gap=7),
])
def test_galore_fira_match_reference(kind, settings):
    shapes = [(6, 10), (5,), (9, 4)]  # a wide (left) and a tall (right) projection
    params, grads = problem(13, shapes=shapes)
    mine = optim.optimizer_trace(kind, params, grads, **settings)
    ref = optim_ref.galore_fira(params, grads, fira=(kind == "fira"), **settings)
    assert_traces(mine, ref)


def layer_stats(shapes, steps, seed, every=1):
    """Random layer statistics (a, g) for the matrix params, given every `every` steps."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(steps):
        if t % every:
            out.append(None)
            continue
        out.append([(rng.standard_normal(s[1]).astype(np.float32),
                     rng.standard_normal(s[0]).astype(np.float32)) if len(s) == 2 else None
                    for s in shapes])
    return out


@pytest.mark.parametrize("settings,every", [
    (dict(lr=0.01), 1),
    (dict(lr=0.02, inv_freq=1, reset_threshold=0, stat_decay=0.9), 1),
    (dict(lr=0.01, inv_freq=3, weight_decay=0.1, reset_threshold=1.5, momentum=0.5), 2),
])
def test_mkor_matches_reference(settings, every):
    params, grads = problem(14)
    stats = layer_stats(SHAPES, STEPS, 15, every)
    mine = optim.optimizer_trace("mkor", params, grads, stats=stats, **settings)
    ref = optim_ref.mkor(params, grads, stats, **settings)
    assert_traces(mine, ref)


def test_mkor_resets_and_bad_input():
    params, grads = problem(16)
    stats = layer_stats(SHAPES, STEPS, 17)
    # large statistics push the factors past the threshold: the resets must match too
    big = [[None if s is None else (5 * s[0], 5 * s[1]) for s in st] for st in stats]
    mine = optim.optimizer_trace("mkor", params, grads, stats=big, inv_freq=1, lr=0.01)
    assert_traces(mine, optim_ref.mkor(params, grads, big, inv_freq=1, lr=0.01))
    one = params, grads[:1]
    with pytest.raises(Error) as e:
        optim.optimizer_trace("adamw", *one, stats=stats[:1])
    assert e.value.status == Status.EINVAL and "takes no layer statistics" in e.value.message
    with pytest.raises(Error) as e:  # a of the wrong length for p0 (6, 4)
        optim.optimizer_trace("mkor", *one, stats=[[(np.ones(5), np.ones(6)), None, None]])
    assert e.value.status == Status.EINVAL and "'p0'" in e.value.message
    with pytest.raises(Error) as e:
        optim.optimizer_trace("mkor", *one, stats=[[None, (np.ones(5), np.ones(5)), None]])
    assert "not a matrix" in e.value.message
    with pytest.raises(Error) as e:
        optim.optimizer_trace("mkor", *one, stats=[[(np.full(4, np.nan), np.ones(6)), None,
                                                    None]])
    assert e.value.status == Status.EINVAL and "nan" in e.value.message.lower()
    for bad in (dict(stat_decay=1.0), dict(stat_decay=0.0), dict(inv_freq=0),
                dict(momentum=-0.1), dict(stabilization=2.0)):
        with pytest.raises(Error) as e:
            optim.optimizer_trace("mkor", *one, **bad)
        assert e.value.status == Status.EINVAL and list(bad)[0] in e.value.message


@pytest.mark.parametrize("settings", [
    dict(lr=0.01, rank=2, update_proj_gap=50),
    dict(lr=0.01, rank=3, update_proj_gap=7, weight_decay=0.1, alpha=0.5),
])
def test_gradnormlorp_matches_reference(settings):
    shapes = [(6, 10), (5,), (9, 4)]  # a wide (left) and a tall (right) projection
    params, grads = problem(18, shapes=shapes)
    mine = optim.optimizer_trace("gradnormlorp", params, grads, **settings)
    ref = optim_ref.gradnormlorp(params, grads, **settings)
    assert_traces(mine, ref)


def _ls_problem(seed, din=20, dout=5, n=4096, cond=1e3):
    """Noiseless least squares Y = X W*^T with an input covariance of condition number cond."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((din, din)))
    ev = np.logspace(0, -np.log10(cond), din)
    X = rng.standard_normal((n, din)) * np.sqrt(ev) @ Q.T
    return X, X @ rng.standard_normal((dout, din)).T


def _steps_to(kind, lr, X, Y, target=1e-3, max_steps=400, batch=32, **settings):
    """Steps of `kind` on 0.5 mean |W x - y|^2 (mini-batches of 32, the same draws for every
    optimizer) until the full loss is below target; max_steps + 1 if never."""
    rng = np.random.default_rng(1)
    W0 = np.zeros((Y.shape[1], X.shape[1]), np.float32)
    with optim.Optimizer(kind, [W0], lr=lr, **settings) as o:
        for t in range(max_steps):
            W = o.params[0].astype(np.float64)
            full = 0.5 * np.mean(np.sum((X @ W.T - Y) ** 2, axis=1))
            if full < target:
                return t
            if not np.isfinite(full) or full > 1e6:
                return max_steps + 1
            idx = rng.integers(0, len(X), batch)
            E = X[idx] @ W.T - Y[idx]  # per-row output gradients
            o.grads[0][...] = E.T @ X[idx] / batch
            stats = [(X[idx].mean(axis=0), E.mean(axis=0))] if kind == "mkor" else None
            o.step(stats=stats)
    return max_steps + 1


def test_mkor_catalog_ill_conditioned_least_squares():
    """P098 check (b): with input covariance of condition number 1e3, MKOR reaches loss
    1e-3 in fewer steps than SGD-momentum and than Adam, each at its best rate of a grid
    (MKOR refreshes its factors every step, inv_freq = 1, without resets)."""
    X, Y = _ls_problem(0)
    grid = [0.064, 0.128, 0.256, 0.512, 1.024]
    best = {}
    for kind, settings in (("sgd", dict(momentum=0.9)), ("adamw", dict(weight_decay=0.0)),
                           ("mkor", dict(inv_freq=1, reset_threshold=0))):
        best[kind] = min(_steps_to(kind, lr, X, Y, **settings) for lr in grid)
    print("steps to 1e-3:", best)
    assert best["mkor"] <= 400
    assert best["mkor"] < best["sgd"] and best["mkor"] < best["adamw"]


def _mlp_problem(seed=0, n=512, d=64, out=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    T1, T2 = rng.standard_normal((d, d)) / np.sqrt(d), rng.standard_normal((out, d)) / np.sqrt(d)
    Y = np.tanh(X @ T1.T) @ T2.T
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    W = [(rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32),
         (rng.standard_normal((out, d)) / np.sqrt(d)).astype(np.float32)]
    return X, Y, W


def _mlp_train(kind, lr, steps=300, **settings):
    """Full-batch training of a tanh MLP (d = 64) on a teacher's outputs; the final loss."""
    X, Y, W0 = _mlp_problem()

    def loss_grad(W):
        H = np.tanh(X @ W[0].T)  # float32 throughout: the test's cost is these products
        E = H @ W[1].T - Y
        dP = E / len(X)
        return 0.5 * np.mean(np.sum(E * E, 1)), [(dP @ W[1] * (1 - H * H)).T @ X, dP.T @ H]

    with optim.Optimizer(kind, W0, lr=lr, **settings) as o:
        for _ in range(steps):
            _, g = loss_grad(o.params)
            for a, b in zip(o.grads, g):
                a[...] = b
            o.step()
        return float(loss_grad(o.params)[0]), float(loss_grad(W0)[0])


def test_gradnormlorp_catalog_mlp_regression():
    """P031 on a synthetic MLP regression with r = d/8 (rates from a sweep over 1e-3..1e-1:
    AdamW 0.03, GradNormLoRP 0.1). The catalog's "final loss <= 1.2x full AdamW's" was not
    reproduced (docs/optim.md has the figures); checked here: the low-rank runs, with float
    and 8-bit states, train (loss below a fifth of the initial one). (The 8-bit states'
    own error, < 1%, is checked in tests/optim/test_optim_mkor.c.)"""
    adam, init = _mlp_train("adamw", 0.03, weight_decay=0.0)
    gn, _ = _mlp_train("gradnormlorp", 0.1, rank=8)
    gn8, _ = _mlp_train("gradnormlorp", 0.1, rank=8, quant8=True)
    print(f"initial {init:.4g} adamw {adam:.4g} gradnormlorp {gn:.4g} (8-bit {gn8:.4g}); "
          f"ratio to adamw {gn / adam:.3g}")
    assert gn < 0.2 * init and gn8 < 0.2 * init


def _contrast_images(lo, hi, seed=0, n=2000, d=64, K=10, noise=2.5):
    """Synthetic 'images': a class template plus noise, times a per-image contrast drawn
    log-uniformly from [lo, hi]."""
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((K, d))
    y = rng.integers(0, K, n)
    c = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    return (c[:, None] * (T[y] + noise * rng.standard_normal((n, d)))).astype(np.float32), y


def _steps_to_90(X, y, lr, tract, b=128, h=32, max_steps=400):
    """Linear first layer Z = X W^T (h = 32) + softmax head V; plain SGD on both (constant
    lr), TrAct on W's gradient when asked; steps until 90% training accuracy."""
    rng = np.random.default_rng(1)
    n, d = X.shape
    W = (rng.standard_normal((h, d)) / np.sqrt(d)).astype(np.float32)
    V = (rng.standard_normal((10, h)) / np.sqrt(h)).astype(np.float32)
    for t in range(max_steps):
        if np.mean(np.argmax(X @ W.T @ V.T, axis=1) == y) >= 0.9:
            return t
        idx = rng.integers(0, n, b)
        x = X[idx]
        Z = x @ W.T
        L = Z @ V.T
        P = np.exp(L - L.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        P[np.arange(b), y[idx]] -= 1
        P /= b
        dW = (P @ V).T @ x
        if tract:
            dW = optim.tract_grad(dW, x, 0.1)
        V -= lr * (P.T @ Z)
        W -= lr * dW
    return max_steps + 1


def test_tract_catalog_contrast_images():
    """P051 check (iii): steps to 90% training accuracy, plain SGD against SGD with TrAct's
    first-layer gradient, each at its best constant rate of a power-of-two grid (2^-10..2^6,
    found by a sweep; used here directly). Measured: contrasts in [0.01, 1] 32 vs 25 steps
    (1.28x fewer with TrAct), in [0.01, 10] 101 vs 118 (0.86x): the catalog's >= 1.25x is
    not robust (docs/optim.md). Checked: both reach 90%, the first case's ratio."""
    X, y = _contrast_images(0.01, 1.0)
    sgd, tr = _steps_to_90(X, y, 1.0, False), _steps_to_90(X, y, 1.0, True)
    X2, y2 = _contrast_images(0.01, 10.0)
    sgd2, tr2 = _steps_to_90(X2, y2, 0.125, False), _steps_to_90(X2, y2, 0.25, True)
    print(f"steps to 90%: [0.01, 1] sgd {sgd} tract {tr}; [0.01, 10] sgd {sgd2} tract {tr2}")
    assert max(sgd, tr, sgd2, tr2) <= 400
    assert sgd >= 1.25 * tr
    with pytest.raises(Error) as e:
        optim.tract_grad(np.ones((3, 4)), np.ones((5, 3)))
    assert e.value.status == Status.ESHAPE
    with pytest.raises(Error) as e:
        optim.tract_grad(np.ones((3, 4)), np.ones((5, 4)), lam=0.0)
    assert e.value.status == Status.EINVAL and "lambda" in e.value.message


def test_train_with_new_kinds_and_opt_settings():
    """apx.train with MKOR (layer statistics from the model), GradNormLoRP and AdAdaGrad, and
    opt_settings reaching the optimizer (a bad value is the library's EINVAL)."""
    import importlib
    T = importlib.import_module("apx.train")  # the package re-exports train() itself
    text = b"the quick brown fox jumps over the lazy dog. " * 60
    small = dict(layers=1, d_model=16, heads=2, context=8, steps=2, batch=2, eval_every=0,
                 eval_tokens=64)
    for kind, extra in (("mkor", {"inv_freq": 1}), ("gradnormlorp", "rank=2,quant8=1"),
                        ("adadagrad", {"max_accum": 4})):
        m = T.train(text, None, optimizer=kind, opt_settings=extra, **small)
        assert m.result["steps"] == 2 and np.isfinite(m.result["val_loss"])
    with pytest.raises(Error) as e:
        T.train(text, None, optimizer="mkor", opt_settings="inv_freq=0", **small)
    assert e.value.status == Status.EINVAL and "inv_freq" in e.value.message
