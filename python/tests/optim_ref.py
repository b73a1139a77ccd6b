"""Reference optimizers written in NumPy (float64) from the papers' algorithms, for the
kinds with no installable peer. Each takes (params, grads per step, **settings) and returns
the parameters after every step, like apx.optim.optimizer_trace."""
import numpy as np


def adagrad_norm(params, grads, lr=0.1, weight_decay=0.0, initial_accumulator_value=1e-2,
                 eps=1e-10, per_group=False, lrs=None):
    """AdaGrad-Norm (Ward et al.; AdAdaGrad P061's base method): b^2 += |g|^2,
    x -= lr g / (b + eps), one b for all parameters (or one per parameter)."""
    p = [np.array(x, dtype=np.float64) for x in params]
    acc = np.full(len(p) if per_group else 1, float(initial_accumulator_value))
    out = []
    for t, g in enumerate(grads):
        lr_t = lr if lrs is None else lrs[t]
        d = [np.asarray(gi, np.float64) + weight_decay * pi for gi, pi in zip(g, p)]
        sq = [float(np.sum(di * di)) for di in d]
        if not per_group:
            acc[0] += sum(sq)
        for i in range(len(p)):
            if per_group:
                acc[i] += sq[i]
            p[i] = p[i] - lr_t * d[i] / (np.sqrt(acc[i if per_group else 0]) + eps)
        out.append([x.copy() for x in p])
    return out


def galore_fira(params, grads, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0,
                rank=8, update_proj_gap=200, alpha=0.25, fira=False, lrs=None):
    """GaLore (P031's projection) and Fira (P024) from the authors' algorithm (proj_type
    "std"), in float64: Adam on R = P^T G (m < n, P = U[:, :r]) or G P^T (P = V^T[:r]), the
    projector refreshed by SVD every update_proj_gap steps; Fira adds the residual
    (G - alpha back(R)) scaled per column/row by |N| / (|R| + 1e-8) with the 1.01 growth
    limiter. Matrices only (2-D params); others take the same Adam unprojected. Singular
    vectors get fixed signs (largest entry positive), as apx does."""
    p = [np.array(x, dtype=np.float64) for x in params]
    st = [dict(m=None, v=None, P=None, s=None) for _ in p]
    out = []
    for t, g in enumerate(grads):
        lr_t = lr if lrs is None else lrs[t]
        step = lr_t * np.sqrt(1 - beta2 ** (t + 1)) / (1 - beta1 ** (t + 1))
        for i, gi in enumerate(g):
            G = np.asarray(gi, np.float64)
            s = st[i]
            if G.ndim == 2:
                m, n = G.shape
                r = min(rank, m, n)
                left = m < n
                if t % update_proj_gap == 0:
                    U, _, Vt = np.linalg.svd(G, full_matrices=False)
                    V = U[:, :r] if left else Vt[:r, :].T  # vectors in columns
                    V = V * np.sign(V[np.argmax(np.abs(V), axis=0), np.arange(r)])
                    s["P"] = V if left else V.T  # signs fixed: largest entry positive
                P = s["P"]
                R = P.T @ G if left else G @ P.T
                back = (lambda X: alpha * (P @ X)) if left else (lambda X: alpha * (X @ P))
            else:
                R = G
                back = None
            if s["m"] is None:
                s["m"], s["v"] = np.zeros_like(R), np.zeros_like(R)
            s["m"] = beta1 * s["m"] + (1 - beta1) * R
            s["v"] = beta2 * s["v"] + (1 - beta2) * R * R
            N = s["m"] / (np.sqrt(s["v"]) + eps)
            if back is None:
                upd = N
            else:
                upd = back(N)
                if fira:
                    ax = 0 if N.shape[0] < N.shape[1] else 1
                    phi = np.linalg.norm(N, axis=ax) / (np.linalg.norm(R, axis=ax) + 1e-8)
                    S = (G - back(R)) * (phi[None, :] if ax == 0 else phi[:, None])
                    nS = np.linalg.norm(S)
                    if s["s"] is not None:
                        lim = max(nS / (s["s"] + 1e-8), 1.01) / 1.01
                        S = S / lim
                        s["s"] = nS / lim
                    else:
                        s["s"] = nS
                    upd = upd + S
            p[i] = p[i] - step * upd
            if weight_decay > 0:
                p[i] = p[i] - lr_t * weight_decay * p[i]
        out.append([x.copy() for x in p])
    return out


def _sm_ema(Li, v, gamma):
    """Sherman-Morrison: the inverse of gamma M + (1 - gamma) v v^T from Li = M^-1."""
    u = Li @ v
    return (Li - (1 - gamma) * np.outer(u, u) / (gamma + (1 - gamma) * (v @ u))) / gamma


def mkor(params, grads, stats, lr=1e-2, momentum=0.9, weight_decay=0.0, stat_decay=0.95,
         inv_freq=10, stabilization=0.1, reset_threshold=2.0, lrs=None):
    """MKOR (P098) from the paper's algorithm and the authors' safeguards, in float64: per
    matrix (out, in) inverse factors Linv, Rinv (identity at first) updated every inv_freq
    steps by Sherman-Morrison EMA rank-1 steps from the statistics (g, a) of that step
    (a blend (1 - zeta) M + zeta I instead after an entry exceeded reset_threshold);
    D = Linv G Rinv rescaled to |G|_F; then torch.optim.SGD's momentum step on D + wd p.
    stats[t][i] is None or (a, g) for param i at step t; vectors take plain SGD-momentum."""
    p = [np.array(x, dtype=np.float64) for x in params]
    st = [dict(L=np.eye(x.shape[0]), R=np.eye(x.size // x.shape[0]), reset=False, ab=None)
          if x.ndim >= 2 else None for x in p]
    buf = [None] * len(p)
    out = []
    for t, g in enumerate(grads):
        lr_t = lr if lrs is None else lrs[t]
        for i, gi in enumerate(g):
            G = np.asarray(gi, np.float64)
            s = st[i]
            if s is not None:
                if stats is not None and stats[t] is not None and stats[t][i] is not None:
                    s["ab"] = [np.asarray(v, np.float64).ravel() for v in stats[t][i]]
                if t % inv_freq == 0 and s["ab"] is not None:
                    a, gv = s["ab"]
                    if s["reset"]:
                        for key in ("L", "R"):
                            s[key] = (1 - stabilization) * s[key] + stabilization * np.eye(len(s[key]))
                        s["reset"] = False
                    else:
                        s["L"], s["R"] = _sm_ema(s["L"], gv, stat_decay), _sm_ema(s["R"], a, stat_decay)
                    big = max(np.abs(s["L"]).max(), np.abs(s["R"]).max())
                    if reset_threshold > 0 and big > reset_threshold:
                        s["reset"] = True
                    s["ab"] = None
                G2 = G.reshape(G.shape[0], -1)
                D = s["L"] @ G2 @ s["R"]
                dn = np.linalg.norm(D)
                D = (D * np.linalg.norm(G2) / dn if dn > 0 else G2).reshape(G.shape)
            else:
                D = G
            d = D + weight_decay * p[i]
            buf[i] = d if t == 0 else momentum * buf[i] + d
            p[i] = p[i] - lr_t * buf[i]
        out.append([x.copy() for x in p])
    return out


def gradnormlorp(params, grads, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0,
                 rank=8, update_proj_gap=200, alpha=1.0, lrs=None):
    """GradNormLoRP (P031) from the paper's algorithm, in float64: W_i = g_i V_i / |V_i| per
    row of each matrix (V = W, g = |W_i| at first); dL/dg and dL/dV by the chain rule; V's
    gradient projected as GaLore (signs fixed as apx does), Adam on the projection and on
    g; decoupled decay of g; W rebuilt after each step. Vectors take AdamW."""
    p = [np.array(x, dtype=np.float64) for x in params]
    st = []
    for x in p:
        if x.ndim >= 2:
            V = x.reshape(x.shape[0], -1).copy()
            st.append(dict(V=V, g=np.linalg.norm(V, axis=1), m=None, v=None, gm=0.0, gv=0.0,
                           P=None))
        else:
            st.append(dict(m=0.0, v=0.0))
    out = []
    for t, grad in enumerate(grads):
        lr_t = lr if lrs is None else lrs[t]
        step = lr_t * np.sqrt(1 - beta2 ** (t + 1)) / (1 - beta1 ** (t + 1))
        decay = 1 - lr_t * weight_decay
        for i, gi in enumerate(grad):
            s = st[i]
            G = np.asarray(gi, np.float64)
            if p[i].ndim < 2:
                s["m"] = beta1 * s["m"] + (1 - beta1) * G
                s["v"] = beta2 * s["v"] + (1 - beta2) * G * G
                p[i] = (p[i] - step * s["m"] / (np.sqrt(s["v"]) + eps)) * decay
                continue
            G = G.reshape(G.shape[0], -1)
            V, g = s["V"], s["g"]
            nv = np.linalg.norm(V, axis=1)
            vh = V / nv[:, None]
            dg = np.sum(G * vh, axis=1)
            dV = (g / nv)[:, None] * (G - vh * dg[:, None])
            s["gm"] = beta1 * s["gm"] + (1 - beta1) * dg
            s["gv"] = beta2 * s["gv"] + (1 - beta2) * dg * dg
            s["g"] = g = (g - step * s["gm"] / (np.sqrt(s["gv"]) + eps)) * decay
            m, n = dV.shape
            r = min(rank, m, n)
            left = m < n
            if t % update_proj_gap == 0:
                U, _, Vt = np.linalg.svd(dV, full_matrices=False)
                B = U[:, :r] if left else Vt[:r, :].T
                B = B * np.sign(B[np.argmax(np.abs(B), axis=0), np.arange(r)])
                s["P"] = B if left else B.T
            P = s["P"]
            R = P.T @ dV if left else dV @ P.T
            if s["m"] is None:
                s["m"], s["v"] = np.zeros_like(R), np.zeros_like(R)
            s["m"] = beta1 * s["m"] + (1 - beta1) * R
            s["v"] = beta2 * s["v"] + (1 - beta2) * R * R
            N = s["m"] / (np.sqrt(s["v"]) + eps)
            s["V"] = V = V - step * alpha * (P @ N if left else N @ P)
            p[i] = (g[:, None] * V / np.linalg.norm(V, axis=1)[:, None]).reshape(p[i].shape)
        out.append([x.copy() for x in p])
    return out
