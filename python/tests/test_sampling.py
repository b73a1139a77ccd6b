"""apx.sketching sampling (P001, P007) against NumPy/SciPy on the same data: exact l_p
sensitivities vs scipy.optimize.linprog (p = 1), the leverage scores (p = 2) and a smooth
minimizer (p = 3); the catalog check of P007 at n = 2000, d = 8; projection DPP and volume
sampling vs their exact subset probabilities; the P001 weighted least squares vs
numpy.linalg.lstsq and Gauss-Legendre quadrature; errors."""
import itertools

import numpy as np
import pytest

import apx
from apx import sketching as sk

optimize = pytest.importorskip("scipy.optimize")
stats = pytest.importorskip("scipy.stats")


def rng(seed=0):
    return np.random.default_rng(seed)


def coherent(N, d, seed=0, heavy=3, scale=30.0):
    A = rng(seed).standard_normal((N, d))
    A[:heavy] *= scale
    return A


def linprog_l1_sensitivity(A, i):
    """1 / min{||A x||_1 : a_i x = 1} as an LP over (x, t): min sum t, -t <= A x <= t."""
    N, d = A.shape
    c = np.r_[np.zeros(d), np.ones(N)]
    Aub = np.block([[A, -np.eye(N)], [-A, -np.eye(N)]])
    Aeq = np.r_[A[i], np.zeros(N)][None]
    r = optimize.linprog(c, A_ub=Aub, b_ub=np.zeros(2 * N), A_eq=Aeq, b_eq=[1.0],
                         bounds=[(None, None)] * d + [(0, None)] * N, method="highs")
    assert r.status == 0
    return 1.0 / r.fun


# ---------------------------------------------------------------- sensitivities (P007)


def test_l1_sensitivities_equal_linprog():
    A = coherent(50, 4, seed=1)
    s, info = sk.lp_sensitivities(A, 1.0, return_info=True)
    ref = np.array([linprog_l1_sensitivity(A, i) for i in range(50)])
    np.testing.assert_allclose(s, ref, rtol=1e-9, atol=0)  # HiGHS tolerances ~1e-9
    assert info["uncertified"] == 0 and info["max_gap"] < 1e-12
    assert info["total"] == pytest.approx(s.sum(), rel=1e-14)
    assert s.sum() <= 4 + 1e-12  # total l_1 sensitivity <= d


def test_l2_sensitivities_are_leverage_scores():
    A = coherent(80, 5, seed=2)
    Q, _ = np.linalg.qr(A)
    np.testing.assert_allclose(sk.lp_sensitivities(A, 2.0), (Q ** 2).sum(1), rtol=1e-12,
                               atol=1e-15)


def test_l3_sensitivities_match_smooth_minimizer():
    # min ||A x||_3^3 s.t. a_i x = 1, by eliminating x = a_i/|a_i|^2 + P z (P the null space
    # of a_i) and BFGS on the smooth convex objective
    A = coherent(40, 3, seed=3)
    s = sk.lp_sensitivities(A, 3.0)
    for i in (0, 5, 17):
        a = A[i]
        P = np.linalg.svd(a[None])[2][1:].T
        x0 = a / (a @ a)

        def f(z):
            r = A @ (x0 + P @ z)
            return np.sum(np.abs(r) ** 3), 3 * P.T @ (A.T @ (np.abs(r) * r))

        res = optimize.minimize(f, np.zeros(2), jac=True, method="BFGS",
                                options={"gtol": 1e-12})
        assert s[i] == pytest.approx(1.0 / res.fun, rel=1e-6)


def test_sensitivity_bounds_hold():
    A = coherent(300, 6, seed=4)
    for p in (1.0, 1.5, 3.0):
        s = sk.lp_sensitivities(A, p)
        for kind in ("lewis", "root-leverage"):
            ub = sk.sensitivity_bounds(A, p, kind)
            assert np.all(s <= ub * (1 + 1e-8)), (p, kind)


def l1_cost(A, b, x):
    return np.abs(A @ x - b).sum()


def coherent_regression(N, d, seed=21):
    """Gaussian A except the last column, non-zero only in two heavy rows; b = A x* +
    Laplace noise. A sample missing both heavy rows cannot fit the last coefficient."""
    g = rng(seed)
    A = g.standard_normal((N, d))
    A[:, -1] = 0
    A[:2, -1] = 50 + g.standard_normal(2)
    xs = np.ones(d)
    xs[-1] = 20
    return A, A @ xs + g.laplace(size=N)


def test_catalog_p007_sensitivity_sampling_l1_regression():
    """n = 2000, d = 8, p = 1, coherent A: regression on m = c S^2 sensitivity-sampled rows
    costs <= 1.2 OPT; uniform sampling with the same m costs > 1.5 OPT (median)."""
    N, d = 2000, 8
    A, b = coherent_regression(N, d)
    # OPT by the exact LP (HiGHS): min sum t, -t <= A x - b <= t
    c = np.r_[np.zeros(d), np.ones(N)]
    Aub = np.block([[A, -np.eye(N)], [-A, -np.eye(N)]])
    r = optimize.linprog(c, A_ub=Aub, b_ub=np.r_[b, -b], bounds=[(None, None)] * d +
                         [(0, None)] * N, method="highs")
    opt = r.fun
    # apx's certified simplex on all rows (uniform with m = N keeps every row, weight 1)
    x_all, info = sk.sampled_lp_regression(A, b, 1.0, m=N, method="uniform")
    assert info["kept"] == N and info["cost"] == pytest.approx(opt, rel=1e-9)
    C = np.c_[A, b]
    s = sk.lp_sensitivities(C, 1.0)
    S = s.sum()
    assert S <= d + 1 + 1e-9
    m = int(np.ceil(4 * S * S))
    rs, ru = [], []
    for seed in range(5):
        idx, wt = sk.sample_rows(s, m, seed=seed)
        x, inf = sk.sampled_lp_regression(A[idx] * wt[:, None], b[idx] * wt, 1.0, m=len(idx),
                                          method="uniform")
        rs.append(l1_cost(A, b, x) / opt)
        idx, wt = sk.sample_rows(np.ones(N), m, seed=seed)
        x, inf = sk.sampled_lp_regression(A[idx] * wt[:, None], b[idx] * wt, 1.0, m=len(idx),
                                          method="uniform")
        ru.append(l1_cost(A, b, x) / opt)
    print(f"P007 n={N} d={d}: S = {S:.3f}, m = {m}, sensitivity ratios max {max(rs):.4f}, "
          f"uniform median {np.median(ru):.3f}")
    assert max(rs) <= 1.2
    assert np.median(ru) > 1.5


def test_sensitivity_progress_and_cancel():
    A = coherent(300, 4, seed=9)
    seen = []
    s = sk.lp_sensitivities(A, 1.0, progress=lambda f, msg: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    np.testing.assert_array_equal(s, sk.lp_sensitivities(A, 1.0))
    with pytest.raises(apx.Error, match="canceled"):
        sk.lp_sensitivities(A, 1.0, progress=lambda f, msg: True)


def test_sample_rows_methods():
    A = coherent(400, 4, seed=5)
    lev = (np.linalg.qr(A)[0] ** 2).sum(1)
    for meth in sk.sample_methods():
        m = 4 if meth == "dpp" else 60
        idx, wt = sk.sample_rows(A, m, seed=3, method=meth, p=3.0 if meth == "mixed" else 1.0)
        assert len(idx) == len(wt) and np.all(wt >= 1) and np.all((idx >= 0) & (idx < 400))
        if meth in ("dpp", "volume"):
            assert len(idx) == m and len(set(idx)) == m
    # leverage sampling: q = min(1, m lev / sum lev), weights 1/q
    idx, wt = sk.sample_rows(A, 60, seed=3, method="leverage")
    q = np.minimum(1, 60 * lev / lev.sum())
    np.testing.assert_allclose(wt, 1 / q[idx], rtol=1e-10)
    # the same as sampling the scores directly
    idx2, wt2 = sk.sample_rows(lev, 60, seed=3)
    np.testing.assert_array_equal(idx, idx2)
    i3, w3 = sk.sensitivity_sample(A, 60, p=1.0, seed=3)
    i4, w4 = sk.sample_rows(A, 60, seed=3, method="sensitivity", p=1.0)
    np.testing.assert_array_equal(i3, i4)


def test_mixed_scores_are_leverage_plus_sensitivity():
    """method "mixed" (p > 2): q = min(1, m sc / sum sc) with sc = tau / sum tau + s / sum s,
    tau from NumPy's QR, s the l_3 sensitivities (checked against BFGS above)."""
    A = coherent(300, 4, seed=6)
    tau = (np.linalg.qr(A)[0] ** 2).sum(1)
    s = sk.lp_sensitivities(A, 3.0)
    sc = tau / tau.sum() + s / s.sum()
    idx, wt = sk.sample_rows(A, 50, seed=2, method="mixed", p=3.0)
    q = np.minimum(1, 50 * sc / sc.sum())
    np.testing.assert_allclose(wt, 1 / q[idx], rtol=1e-9)
    idx2, _ = sk.sample_rows(sc, 50, seed=2)
    np.testing.assert_array_equal(idx, idx2)
    assert {0, 1, 2} <= set(idx.tolist())  # the heavy rows have q = 1


def test_mixed_sampling_l3_regression_beats_uniform():
    """p = 3, coherent A: regression on a mixed sample of m rows costs <= 1.2 OPT (OPT by
    SciPy's BFGS on the smooth convex ||A x - b||_3^3); uniform with the same m does not."""
    N, d = 1000, 5
    A, b = coherent_regression(N, d, seed=23)
    b = A @ np.r_[np.ones(d - 1), 20.0] + rng(24).uniform(-1, 1, N)

    def cost3(x):
        return np.sum(np.abs(A @ x - b) ** 3) ** (1 / 3)

    def f(x):
        r = A @ x - b
        return np.sum(np.abs(r) ** 3), 3 * A.T @ (np.abs(r) * r)

    x0 = np.linalg.lstsq(A, b, rcond=None)[0]
    opt = cost3(optimize.minimize(f, x0, jac=True, method="BFGS", options={"gtol": 1e-10}).x)
    _, full = sk.sampled_lp_regression(A, b, 3.0, m=N, method="uniform")
    assert full["cost"] == pytest.approx(opt, rel=1e-6)
    m = 80
    rm, ru = [], []
    for seed in range(5):
        _, im = sk.sampled_lp_regression(A, b, 3.0, m=m, method="mixed", seed=seed)
        rm.append(im["cost"] / opt)
        try:
            _, iu = sk.sampled_lp_regression(A, b, 3.0, m=m, method="uniform", seed=seed)
            ru.append(iu["cost"] / opt)
        except apx.Error:  # a sample without the heavy rows is rank deficient
            ru.append(np.inf)
    print(f"P007 mixed p=3 n={N} d={d}: m = {m}, mixed ratios max {max(rm):.4f}, uniform "
          f"median {np.median(ru):.3f}")
    assert max(rm) <= 1.2
    assert np.median(ru) > 1.5


# ---------------------------------------------------------------- DPP and volume (P001)


def test_dpp_sample_matches_det_squared():
    U, _ = np.linalg.qr(rng(6).standard_normal((6, 2)))
    pairs = list(itertools.combinations(range(6), 2))
    prob = np.array([np.linalg.det(U[list(S)]) ** 2 for S in pairs])
    assert prob.sum() == pytest.approx(1.0, rel=1e-12)
    counts = dict.fromkeys(pairs, 0)
    draws = 6000
    for t in range(draws):
        counts[tuple(sorted(sk.dpp_sample(U, seed=t)))] += 1
    chi2 = stats.chisquare([counts[S] for S in pairs], prob * draws)
    assert chi2.pvalue > 1e-3


def test_volume_sample_matches_det_gram():
    A = rng(7).standard_normal((6, 2))
    subsets = list(itertools.combinations(range(6), 3))
    prob = np.array([np.linalg.det(A[list(S)].T @ A[list(S)]) for S in subsets])
    prob /= prob.sum()
    counts = dict.fromkeys(subsets, 0)
    draws = 6000
    for t in range(draws):
        idx, wt = sk.volume_sample(A, 3, seed=t)
        counts[tuple(sorted(idx))] += 1
    chi2 = stats.chisquare([counts[S] for S in subsets], prob * draws)
    assert chi2.pvalue > 1e-3
    # weights: 1 / inclusion probability
    pi = np.zeros(6)
    for S, p in zip(subsets, prob):
        pi[list(S)] += p
    idx, wt = sk.volume_sample(A, 3, seed=0)
    np.testing.assert_allclose(wt, 1 / pi[idx], rtol=1e-10)


def test_legendre_basis_matches_numpy():
    x = np.linspace(-1, 1, 33)
    V = np.polynomial.legendre.legvander(x, 7) * np.sqrt(2 * np.arange(8) + 1)
    np.testing.assert_allclose(sk.legendre_basis(x, 8), V, rtol=1e-13, atol=1e-13)


def runge(x):
    return 1 / (1 + 25 * x ** 2)


@pytest.mark.parametrize("sampler", ["iid", "dpp", "volume", "repeated-dpp"])
def test_wls_sampling_equals_weighted_lstsq(sampler):
    coef, info = sk.wls_sampling(runge, 10, sampler=sampler, seed=2)
    x, w = info["points"], info["weights"]
    Phi = sk.legendre_basis(x, 10)
    np.testing.assert_allclose(w, 10 / (Phi ** 2).sum(1), rtol=1e-13)
    sw = np.sqrt(w)
    ref = np.linalg.lstsq(Phi * sw[:, None], runge(x) * sw, rcond=None)[0]
    np.testing.assert_allclose(coef, ref, rtol=1e-8, atol=1e-10)
    assert len(x) == {"iid": 24, "dpp": 10, "volume": 24, "repeated-dpp": 20}[sampler]


def test_catalog_p001_quasi_optimality():
    """Legendre m = 10, f = 1/(1+25x^2): mean L2 error over 200 trials <= 3x the error of the
    quadrature L2 projection for the volume-rescaled sampler (and repeated DPP with 20
    points no worse than 1.25x i.i.d. with 24)."""
    gx, gw = np.polynomial.legendre.leggauss(200)
    Pq = sk.legendre_basis(gx, 10)
    fq = runge(gx)
    best_c = Pq.T @ (0.5 * gw * fq)
    best = np.sqrt(0.5 * gw @ (fq - Pq @ best_c) ** 2)

    def mean_err(sampler, n=None):
        e = []
        for t in range(200):
            c, _ = sk.wls_sampling(runge, 10, sampler=sampler, n=n, seed=500 + t)
            e.append(np.sqrt(0.5 * gw @ (fq - Pq @ c) ** 2))
        return np.mean(e)

    vol, rep, iid = mean_err("volume", 24), mean_err("repeated-dpp"), mean_err("iid", 24)
    print(f"P001: best {best:.4g}, mean/best: volume {vol / best:.3f}, repeated {rep / best:.3f},"
          f" iid {iid / best:.3f}")
    assert vol <= 3 * best
    assert rep <= 1.25 * iid and rep <= 3 * best


def test_wls_grid_sampling():
    # a grid with a monomial basis: weights m / K(x,x) for the discrete orthonormal basis
    x = np.linspace(-1, 1, 1001)
    V = np.vander(x, 6, increasing=True)
    Q, _ = np.linalg.qr(V / np.sqrt(len(x)))
    K = (Q ** 2).sum(1) * len(x)
    coef, info = sk.wls_sampling(runge(x), 6, sampler="volume", seed=1, grid=V)
    np.testing.assert_allclose(info["weights"], 6 / K[info["points"]], rtol=1e-9)
    sw = np.sqrt(info["weights"])
    ref = np.linalg.lstsq(V[info["points"]] * sw[:, None], runge(x)[info["points"]] * sw,
                          rcond=None)[0]
    np.testing.assert_allclose(coef, ref, rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------- errors


def test_sampling_errors():
    A = coherent(20, 3, seed=8)
    with pytest.raises(apx.Error, match="p = 0.5"):
        sk.lp_sensitivities(A, 0.5)
    with pytest.raises(apx.Error):
        sk.lp_sensitivities(A[:2], 1.0)
    B = A.copy()
    B[:, 2] = 2 * B[:, 1]
    with pytest.raises(apx.Error, match="rank"):
        sk.lp_sensitivities(B, 1.0)
    B = A.copy()
    B[3, 1] = np.nan
    with pytest.raises(apx.Error):
        sk.lp_sensitivities(B, 1.0)
    with pytest.raises(apx.Error):
        sk.sensitivity_bounds(A, 4.0, "lewis")
    with pytest.raises(apx.Error):
        sk.sensitivity_bounds(A, 1.0, "sqrt")
    with pytest.raises(apx.Error, match="method"):
        sk.sample_rows(A, 5, method="gaussian")
    with pytest.raises(apx.Error, match="p > 2"):
        sk.sample_rows(A, 5, method="mixed", p=2.0)
    with pytest.raises(apx.Error, match="p > 2"):
        sk.sampled_lp_regression(A[:, :2], A[:, 2], 1.0, m=10, method="mixed")
    with pytest.raises(apx.Error):
        sk.sample_rows(A, 5, method="dpp")
    with pytest.raises(apx.Error):
        sk.volume_sample(A, 2)
    with pytest.raises(apx.Error, match="orthonormal"):
        sk.dpp_sample(A)
    assert len(sk.dpp_sample(A, orthonormalize=True)) == 3
    with pytest.raises(apx.Error):
        sk.wls_sampling(runge, 10, sampler="christoffel")
    with pytest.raises(apx.Error):
        sk.wls_sampling(runge, 10, sampler="volume", n=5)
    with pytest.raises(apx.Error):
        sk.legendre_basis([2.0], 3)
    with pytest.raises(apx.Error):
        sk.wls_fit(np.ones((3, 2)), np.ones(3), -np.ones(3))
