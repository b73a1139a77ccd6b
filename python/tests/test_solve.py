"""apx.solvers against scipy.sparse.linalg (cg, minres, lsqr) and direct solves on the same
data, CSR input without densifying, callbacks, errors, and the P128 bandit-SOR check; Halpern
iteration (P011) against numpy / scipy lsq_linear / direct saddle solves, and the ALM Newton
method (P073) against scipy.optimize SLSQP and trust-constr."""
import numpy as np
import pytest

import apx
from apx import solvers

sp = pytest.importorskip("scipy.sparse")
spla = pytest.importorskip("scipy.sparse.linalg")


def laplacian(g, shift=0.0):
    T = sp.diags([-np.ones(g - 1), 2 * np.ones(g), -np.ones(g - 1)], [-1, 0, 1])
    I = sp.eye(g)
    return (sp.kron(I, T) + sp.kron(T, I) + shift * sp.eye(g * g)).tocsr()


def scipy_cg(A, b, rtol, **kw):
    try:
        return spla.cg(A, b, rtol=rtol, **kw)
    except TypeError:  # SciPy < 1.12 spells it tol
        return spla.cg(A, b, tol=rtol, **kw)


def test_cg_vs_scipy_on_laplacian():
    A = laplacian(40)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    ref = spla.spsolve(A.tocsc(), b)
    x, info = solvers.cg(A, b, tol=1e-10)
    xs, code = scipy_cg(A, b, 1e-10, atol=0.0, maxiter=10 * A.shape[0])
    assert code == 0 and info["converged"]
    assert info["residual"] <= 1e-10 * 1.001
    cond = (4 + 4 * np.cos(np.pi / 41)) / (4 - 4 * np.cos(np.pi / 41))
    for y in (x, xs):
        assert np.linalg.norm(y - ref) <= cond * 1e-10 * np.linalg.norm(ref)
    # the same algorithm: the two agree to the tolerance, at about the same step count
    assert np.linalg.norm(x - xs) <= 2 * cond * 1e-10 * np.linalg.norm(ref)
    # dense and operator forms give the same iterations
    xd, infod = solvers.cg(A.toarray(), b, tol=1e-10)
    xo, infoo = solvers.cg(spla.aslinearoperator(A), b, tol=1e-10)
    assert infod["iterations"] == info["iterations"] == infoo["iterations"]


def test_pcg_jacobi_and_callback():
    # badly scaled SPD D L D: Jacobi cuts the iterations; the built-in Jacobi and the same
    # preconditioner as a Python callable take the same steps; SciPy's cg with it agrees
    A = laplacian(20)
    d = 10 ** np.linspace(0, 3, A.shape[0])
    A = (sp.diags(d) @ A @ sp.diags(d)).tocsr()
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    ref = spla.spsolve(A.tocsc(), b)
    _, i0 = solvers.cg(A, b, tol=1e-10, max_iters=20000, strict=False)
    x1, i1 = solvers.cg(A, b, tol=1e-10, precond="jacobi")
    diag = A.diagonal()
    x2, i2 = solvers.cg(A, b, tol=1e-10, precond=lambda r: r / diag)
    assert i1["iterations"] == i2["iterations"] and 3 * i1["iterations"] < i0["iterations"]
    M = spla.LinearOperator(A.shape, matvec=lambda r: r / diag)
    xs, code = scipy_cg(A, b, 1e-10, atol=0.0, M=M, maxiter=20000)
    assert code == 0
    # both stop at |b - A x| <= 1e-10 |b|; the error is bounded by cond(A) times that
    cond = np.linalg.cond(A.toarray())
    for y in (x1, xs):
        assert np.linalg.norm(y - ref) <= cond * 1e-10 * np.linalg.norm(ref)


def test_minres_vs_scipy_indefinite():
    A = laplacian(15, shift=-1.0)  # symmetric indefinite
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    ref = spla.spsolve(A.tocsc(), b)
    x, info = solvers.minres(A, b, tol=1e-10)
    try:
        xs, code = spla.minres(A, b, rtol=1e-10, maxiter=5000)
    except TypeError:
        xs, code = spla.minres(A, b, tol=1e-10, maxiter=5000)
    cond = np.linalg.cond(A.toarray())
    assert info["residual"] <= 1e-9
    assert np.linalg.norm(x - ref) <= 10 * cond * 1e-10 * np.linalg.norm(ref)
    assert np.linalg.norm(xs - ref) <= 10 * cond * 1e-9 * np.linalg.norm(ref)
    with pytest.raises(apx.Error) as e:
        solvers.cg(A, b)
    assert e.value.status == apx.Status.ENUMERIC


def test_lsqr_vs_scipy():
    rng = np.random.default_rng(3)
    A = sp.random(400, 60, density=0.1, random_state=4, format="csr") + sp.eye(400, 60)
    A = A.tocsr()
    b = rng.standard_normal(400)
    x, info = solvers.lsqr(A, b, tol=1e-12, max_iters=2000)
    res = spla.lsqr(A, b, atol=1e-12, btol=1e-12, iter_lim=2000)
    xs, itn = res[0], res[2]
    ref = np.linalg.lstsq(A.toarray(), b, rcond=None)[0]
    cond = np.linalg.cond(A.toarray())
    assert np.linalg.norm(x - ref) <= cond ** 2 * 1e-12 * np.linalg.norm(ref) * 10
    assert np.linalg.norm(x - xs) <= cond ** 2 * 1e-12 * np.linalg.norm(ref) * 10
    assert abs(info["iterations"] - itn) <= 3  # the same recurrences and stopping rule


def test_kaczmarz_sketch_project_sor():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((300, 25))
    xs = rng.standard_normal(25)
    b = A @ xs
    for f, kw in ((solvers.kaczmarz, {}), (solvers.sketch_project, {"block": 8}),
                  (solvers.sketch_project, {"block": 8, "sketch": "gaussian"})):
        x, info = f(A, b, tol=1e-10, seed=1, **kw)
        assert info["converged"]
        np.testing.assert_allclose(x, xs, atol=1e-8 * np.abs(xs).max())
    L = laplacian(12)
    bl = rng.standard_normal(L.shape[0])
    ref = spla.spsolve(L.tocsc(), bl)
    rj = np.cos(np.pi / 13)
    wopt = 2 / (1 + np.sqrt(1 - rj * rj))
    _, igs = solvers.sor(L, bl)
    x, iopt = solvers.sor(L, bl, omega=wopt)
    x2, iss = solvers.ssor(L, bl, omega=1.3)
    for y in (x, x2):
        np.testing.assert_allclose(y, ref, atol=1e-6 * np.abs(ref).max())
    assert 3 * iopt["iterations"] < igs["iterations"]


def test_errors():
    A = laplacian(5)
    b = np.ones(25)
    with pytest.raises(apx.Error) as e:
        solvers.cg(A, np.ones(24))
    assert e.value.status == apx.Status.ESHAPE
    bb = b.copy()
    bb[3] = np.inf
    with pytest.raises(apx.Error) as e:
        solvers.minres(A, bb)
    assert e.value.status == apx.Status.EINVAL
    with pytest.raises(apx.Error):
        solvers.sor(A, b, omega=2.0)
    with pytest.raises(apx.Error):
        solvers.kaczmarz(lambda v: v, b)
    with pytest.raises(apx.Error):
        solvers.cg(A, b, precond="ilu")
    def failing(r):
        raise ZeroDivisionError("in the preconditioner")

    with pytest.raises(ZeroDivisionError):  # a failing callback's exception comes through
        solvers.cg(A, b, precond=failing)
    with pytest.raises(apx.Error) as e:
        solvers.cg(A, b, max_iters=2)
    assert e.value.status == apx.Status.ENOCONV and "residual" in e.value.message
    x, info = solvers.cg(A, b, max_iters=2, strict=False)
    assert not info["converged"] and 0 < info["residual"] < 1


def test_p128_bandit_sor():
    # P128: 10 x 10 Laplacian (delsq(numgrid('S', 12))) + c_t I, c_t = -0.15 + 0.6 Beta(2, 6),
    # SOR to 1e-8 from 0, T = 2000 systems (the catalog's T = 500 leaves the O(sqrt(K T))
    # exploration cost at ~30% of the total: see docs/solve.md), omega grid linspace(1, 1.9,
    # 10). Tsallis-INF within 15% of the best fixed omega in hindsight and >= 2x below
    # Gauss-Seidel.
    g, T = 10, 2000
    L = laplacian(g)
    rng = np.random.default_rng(2024)
    bandit = solvers.SorBandit(horizon=500, seed=1)
    grid = bandit.stats()["grid"]
    assert len(grid) == 10
    fixed = np.zeros(len(grid))
    total = 0
    for t in range(T):
        A = (L + (-0.15 + 0.6 * rng.beta(2, 6)) * sp.eye(g * g)).tocsr()
        b = rng.standard_normal(g * g)
        _, info, _ = bandit.solve(A, b, tol=1e-8)
        total += info["iterations"]
        for k, w in enumerate(grid):
            fixed[k] += solvers.sor(A, b, omega=w, tol=1e-8)[1]["iterations"]
    best = fixed.min()
    print(f"P128: bandit {total}, best fixed {best:.0f} ({total / best:.3f}x), GS {fixed[0]:.0f}")
    assert total <= 1.15 * best
    assert 2 * total <= fixed[0]
    assert bandit.stats()["pulls"].sum() == T


# ---------------------------------------------------------------- Halpern (P011)


def _ls_data(N=1000, d=20, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N, d)) + rng.standard_normal(d)
    return A, rng.standard_normal(N)


def test_halpern_lstsq_vs_numpy_and_callback():
    A, b = _ls_data()
    N, d = A.shape
    ref = np.linalg.lstsq(A, b, rcond=None)[0]
    mu = np.linalg.svd(A, compute_uv=False)[-1] ** 2 / N
    x, info = solvers.halpern(lstsq=(A, b, N), tol=1e-4, seed=1)
    assert info["converged"] and info["residual"] <= 1e-4
    assert np.linalg.norm(A.T @ (A @ x - b)) / N <= 1e-4 * (1 + 1e-9)
    assert np.linalg.norm(x - ref) <= 1e-4 / mu
    # the same operator as a Python callable: same method, same seed, same answer
    def comp(idx, z):
        if idx is None:
            return A.T @ (A @ z - b)
        return A[idx].T @ (A[idx] @ z - b[idx])
    x2, info2 = solvers.halpern(comp, n=N, d=d, lipschitz=info["lipschitz"],
                                lipschitz_avg=info["lipschitz_avg"], tol=1e-4, seed=1)
    assert info2["evaluations"] == info["evaluations"]
    np.testing.assert_allclose(x2, x, rtol=0, atol=1e-9)
    # the residual history decays like 1/k
    k, r = info["history_iters"], info["residuals"]
    keep = k >= k.max() // 8 + 1
    assert np.polyfit(np.log(k[keep] + 1.0), np.log(r[keep]), 1)[0] <= -0.8


def test_halpern_box_vs_scipy_lsq_linear():
    opt = pytest.importorskip("scipy.optimize")
    A, b = _ls_data(N=200, d=8, seed=3)
    N = A.shape[0]
    lo, hi = -0.05 * np.ones(8), 0.05 * np.ones(8)
    ref = opt.lsq_linear(A, b, bounds=(lo, hi), tol=1e-14, lsmr_tol="auto").x
    mu = np.linalg.svd(A, compute_uv=False)[-1] ** 2 / N
    for vr in (False, True):
        x, info = solvers.halpern(lstsq=(A, b, N), lo=lo, hi=hi, tol=1e-5,
                                  variance_reduced=vr, max_evals=10 ** 8)
        assert np.all(x >= lo) and np.all(x <= hi)
        assert np.linalg.norm(x - ref) <= 1e-5 / mu * (1 + 1e-6) + 1e-9


def test_halpern_bilinear_saddle_vs_direct_solve():
    rng = np.random.default_rng(4)
    n, p, q = 200, 4, 4
    B = rng.standard_normal((p, q)) + 0.3 * rng.standard_normal((n, p, q))
    a, c = rng.standard_normal((n, p)), rng.standard_normal((n, q))
    Bm = B.mean(0)
    v = np.linalg.solve(Bm, -a.mean(0))
    u = np.linalg.solve(Bm.T, c.mean(0))
    smin = np.linalg.svd(Bm, compute_uv=False)[-1]
    evals = {}
    for vr in (False, True):
        x, info = solvers.halpern(bilinear=(B, a, c), setting="monotone", tol=1e-3,
                                  variance_reduced=vr, seed=2, max_evals=10 ** 8)
        assert info["converged"]
        assert np.linalg.norm(x - np.concatenate([u, v])) <= 1e-3 / smin * (1 + 1e-6)
        evals[vr] = info["evaluations"]
    assert evals[True] < evals[False]


def test_halpern_errors():
    A, b = _ls_data(N=50, d=3)
    with pytest.raises(apx.Error) as e:
        solvers.halpern(lstsq=(A, b[:-1], 50))
    assert e.value.status == apx.Status.ESHAPE
    with pytest.raises(apx.Error):
        solvers.halpern(lstsq=(A, b, 51))
    with pytest.raises(apx.Error):
        solvers.halpern(lstsq=(A, b, 50), setting="strong")
    with pytest.raises(apx.Error):
        solvers.halpern(lambda i, x: x, n=3, d=3)  # no lipschitz
    with pytest.raises(apx.Error):
        solvers.halpern()
    with pytest.raises(apx.Error):
        solvers.halpern(lstsq=(A, b, 50), lo=np.ones(3), hi=np.zeros(3))

    def bad(idx, x):
        raise KeyError("in the operator")

    with pytest.raises(KeyError):
        solvers.halpern(bad, n=3, d=3, lipschitz=1.0)
    with pytest.raises(apx.Error) as e:
        solvers.halpern(lstsq=(A, b, 50), tol=1e-12, max_evals=500)
    assert e.value.status == apx.Status.ENOCONV
    x, info = solvers.halpern(lstsq=(A, b, 50), tol=1e-12, max_evals=500, strict=False)
    assert not info["converged"] and info["stop"] == "max_evals"


# ---------------------------------------------------------------- ALM Newton (P073)

HS = {
    7: dict(f=lambda x: np.log(1 + x[0] ** 2) - x[1],
            g=lambda x: np.array([2 * x[0] / (1 + x[0] ** 2), -1.0]),
            c=lambda x: np.array([(1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4]),
            J=lambda x: np.array([[4 * x[0] * (1 + x[0] ** 2), 2 * x[1]]]),
            H=lambda x, l: np.diag([2 * (1 - x[0] ** 2) / (1 + x[0] ** 2) ** 2
                                    + l[0] * (4 + 12 * x[0] ** 2), 2 * l[0]]),
            x0=[2.0, 2.0], xs=[0.0, np.sqrt(3.0)]),
    28: dict(f=lambda x: (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2,
             g=lambda x: np.array([2 * (x[0] + x[1]), 2 * (x[0] + 2 * x[1] + x[2]),
                                   2 * (x[1] + x[2])]),
             c=lambda x: np.array([x[0] + 2 * x[1] + 3 * x[2] - 1]),
             J=lambda x: np.array([[1.0, 2.0, 3.0]]),
             H=lambda x, l: np.array([[2.0, 2, 0], [2, 4, 2], [0, 2, 2]]),
             x0=[-4.0, 1, 1], xs=[0.5, -0.5, 0.5]),
    48: dict(f=lambda x: (x[0] - 1) ** 2 + (x[1] - x[2]) ** 2 + (x[3] - x[4]) ** 2,
             g=lambda x: np.array([2 * (x[0] - 1), 2 * (x[1] - x[2]), -2 * (x[1] - x[2]),
                                   2 * (x[3] - x[4]), -2 * (x[3] - x[4])]),
             c=lambda x: np.array([x.sum() - 5, x[2] - 2 * (x[3] + x[4]) + 3]),
             J=lambda x: np.array([[1.0, 1, 1, 1, 1], [0, 0, 1, -2, -2]]),
             H=lambda x, l: 2 * np.array([[1.0, 0, 0, 0, 0], [0, 1, -1, 0, 0], [0, -1, 1, 0, 0],
                                          [0, 0, 0, 1, -1], [0, 0, 0, -1, 1]]),
             x0=[3.0, 5, -3, 2, -2], xs=[1.0, 1, 1, 1, 1]),
}


@pytest.mark.filterwarnings("ignore:delta_grad")
@pytest.mark.parametrize("pid", sorted(HS))
def test_alm_hs_vs_scipy(pid):
    opt = pytest.importorskip("scipy.optimize")
    h = HS[pid]
    x, lam, info = solvers.alm_newton(h["f"], h["g"], h["H"], h["c"], h["J"], h["x0"])
    assert info["converged"] and info["kkt"] <= 1e-8 and info["last_unit_step"]
    np.testing.assert_allclose(x, h["xs"], atol=1e-6)
    con = {"type": "eq", "fun": h["c"], "jac": h["J"]}
    ref = opt.minimize(h["f"], h["x0"], jac=h["g"], constraints=[con], method="SLSQP",
                       options={"ftol": 1e-14, "maxiter": 500}).x
    np.testing.assert_allclose(x, ref, atol=1e-6)
    nlc = opt.NonlinearConstraint(h["c"], 0, 0, jac=h["J"])
    tc = opt.minimize(h["f"], h["x0"], jac=h["g"], constraints=[nlc], method="trust-constr",
                      options={"gtol": 1e-12, "xtol": 1e-14, "maxiter": 5000}).x
    np.testing.assert_allclose(x, tc, atol=1e-6)
    # the Hessian-vector-product interface gives the same point
    xp, _, _ = solvers.alm_newton(h["f"], h["g"], None, h["c"], h["J"], h["x0"],
                                  hessp=lambda z, l, v: h["H"](z, l) @ v)
    np.testing.assert_allclose(xp, x, atol=1e-9)


def _logreg_data(N=200, d=20, m=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d))
    w0 = rng.standard_normal(d)
    y = np.where(X @ w0 + rng.standard_normal(N) >= 0, 1.0, -1.0)
    C = rng.standard_normal((m, d))
    return X, y, C, 0.5 * C @ w0


def test_alm_constrained_logreg_vs_slsqp():
    opt = pytest.importorskip("scipy.optimize")
    X, y, C, e = _logreg_data()
    N, reg = X.shape[0], 0.1

    def f(w):
        return np.mean(np.logaddexp(0, -y * (X @ w))) + 0.5 * reg * w @ w

    def g(w):
        s = 1 / (1 + np.exp(y * (X @ w)))
        return -(X.T @ (y * s)) / N + reg * w

    def H(w, lam):
        s = 1 / (1 + np.exp(-(X @ w)))
        return (X.T * (s * (1 - s))) @ X / N + reg * np.eye(X.shape[1])

    w, lam, info = solvers.alm_logreg(X, y, C, e, reg=reg)
    assert info["kkt"] <= 1e-8 and info["last_unit_step"]
    ratios = info["kkt_history"][1:] / info["kkt_history"][:-1]
    assert ratios[-1] < ratios[-2] < 1e-2  # superlinear: the ratios go to 0
    w2, lam2, _ = solvers.alm_newton(f, g, H, lambda w: C @ w - e, lambda w: C, np.zeros(20),
                                     inner="kaczmarz")
    np.testing.assert_allclose(w2, w, atol=1e-8)
    np.testing.assert_allclose(lam2, lam, atol=1e-8)
    con = {"type": "eq", "fun": lambda w: C @ w - e, "jac": lambda w: C}
    ref = opt.minimize(f, np.zeros(20), jac=g, constraints=[con], method="SLSQP",
                       options={"ftol": 1e-15, "maxiter": 1000}).x
    np.testing.assert_allclose(w, ref, atol=1e-6)
    nlc = opt.LinearConstraint(C, e, e)
    tc = opt.minimize(f, np.zeros(20), jac=g, hess=lambda w: H(w, None), constraints=[nlc],
                      method="trust-constr", options={"gtol": 1e-12, "xtol": 1e-15,
                                                      "maxiter": 5000}).x
    np.testing.assert_allclose(w, tc, atol=1e-6)


def test_alm_errors():
    h = HS[28]
    with pytest.raises(apx.Error):
        solvers.alm_newton(h["f"], h["g"], None, h["c"], h["J"], h["x0"])  # no Hessian
    with pytest.raises(apx.Error):
        solvers.alm_newton(h["f"], h["g"], h["H"], h["c"], h["J"], h["x0"], inner="lu")
    with pytest.raises(apx.Error):
        solvers.alm_newton(h["f"], h["g"], h["H"], h["c"], h["J"], h["x0"], beta=0.9)
    with pytest.raises(apx.Error):
        solvers.alm_newton(h["f"], h["g"], h["H"], h["c"], h["J"], [np.nan, 0, 0])
    with pytest.raises(apx.Error) as e:  # a Jacobian of the wrong shape
        solvers.alm_newton(h["f"], h["g"], h["H"], h["c"], lambda x: np.ones((2, 3)), h["x0"])
    assert e.value.status == apx.Status.ESHAPE

    def boom(x):
        raise ArithmeticError("in f")

    with pytest.raises(ArithmeticError):
        solvers.alm_newton(boom, h["g"], h["H"], h["c"], h["J"], h["x0"])
    with pytest.raises(apx.Error) as e:
        solvers.alm_newton(h["f"], h["g"], h["H"], h["c"], h["J"], h["x0"], max_iters=1)
    assert e.value.status == apx.Status.ENOCONV
    x, lam, info = solvers.alm_newton(h["f"], h["g"], h["H"], h["c"], h["J"], h["x0"],
                                      max_iters=1, strict=False)
    assert not info["converged"] and info["iterations"] == 1
    X, y, C, e_ = _logreg_data(N=20, d=4, m=2)
    with pytest.raises(apx.Error):
        solvers.alm_logreg(X, np.abs(y) * 2, C, e_)
    with pytest.raises(apx.Error):
        solvers.alm_logreg(X, y, C[:, :3], e_)
