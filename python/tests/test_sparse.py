"""apx.sparse against scikit-learn (Lasso, ElasticNet, MultiTaskLasso, lasso_path,
OrthogonalMatchingPursuit) and scipy.optimize.nnls on the same data, plus the catalog
checks that need a peer or a larger run than the C tests (P030 at d = 200, P032's
sparsity at matched error, P004's robust unmixing). Peers are optional: each test skips
cleanly when its package is missing."""
import itertools
import warnings

import numpy as np
import pytest

import apx
from apx import sparse


def _design(rng, n, p, rho=0.0):
    """AR(1)-correlated Gaussian columns (correlation rho^|i-j|)."""
    z = rng.standard_normal((n, p))
    X = np.empty_like(z)
    X[:, 0] = z[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * z[:, j]
    return X


def _problem(seed, n, p, k=5, rho=0.5, noise=0.5, shift=2.0):
    rng = np.random.default_rng(seed)
    X = _design(rng, n, p, rho)
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.standard_normal(k) * 2
    y = X @ w + noise * rng.standard_normal(n) + shift
    return X, y


def _objective(X, y, coef, b, alpha, l1_ratio):
    r = y - X @ coef - b
    return (r @ r / (2 * len(y)) + alpha * (l1_ratio * np.abs(coef).sum()
                                            + 0.5 * (1 - l1_ratio) * coef @ coef))


# ====================================================================== Lasso and elastic net


@pytest.mark.parametrize("shape", [(200, 50), (60, 300)])
@pytest.mark.parametrize("alpha,l1_ratio", [(0.05, 1.0), (0.2, 1.0), (0.05, 0.5)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_enet_matches_sklearn(shape, alpha, l1_ratio, fit_intercept):
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = _problem(1, *shape)
    coef, b, info = sparse.enet(X, y, alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                                tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = lm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                          tol=1e-10, max_iter=100000).fit(X, y)
    f = _objective(X, y, coef, b, alpha, l1_ratio)
    fs = _objective(X, y, m.coef_, m.intercept_, alpha, l1_ratio)
    # both are within their duality gaps of the optimum
    assert abs(f - fs) <= info["gap"] + m.dual_gap_ + 1e-14 * fs
    assert info["converged"] and info["gap"] <= info["gap_tol"]
    big = np.abs(m.coef_) > 1e-6
    assert np.array_equal(np.abs(coef) > 1e-6, big)
    np.testing.assert_allclose(coef, m.coef_, atol=1e-5, rtol=1e-5)
    assert abs(f - info["primal"]) <= 1e-10 * f


def test_lasso_default_tolerance_same_support_and_objective_within_gap():
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = _problem(2, 500, 200, k=10, rho=0.8)
    coef, b, info = apx.sparse.lasso(X, y, 0.05)
    m = lm.Lasso(alpha=0.05).fit(X, y)  # tol = 1e-4 in scikit-learn, ours 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m6 = lm.Lasso(alpha=0.05, tol=1e-6, max_iter=10000).fit(X, y)
    assert set(np.flatnonzero(coef)) == set(np.flatnonzero(m6.coef_))
    f, f6 = _objective(X, y, coef, b, 0.05, 1), _objective(X, y, m6.coef_, m6.intercept_, 0.05, 1)
    assert abs(f - f6) <= info["gap"] + m6.dual_gap_
    assert f <= _objective(X, y, m.coef_, m.intercept_, 0.05, 1) + info["gap"]


@pytest.mark.parametrize("solver", ["gram", "residual"])
def test_lasso_positive_matches_sklearn(solver):
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = _problem(3, 150, 40)
    coef, b, info = sparse.lasso(X, y, 0.02, positive=True, solver=solver, tol=1e-12)
    m = lm.Lasso(alpha=0.02, positive=True, tol=1e-12, max_iter=100000).fit(X, y)
    assert coef.min() >= 0
    np.testing.assert_allclose(coef, m.coef_, atol=1e-6)
    assert abs(b - m.intercept_) <= 1e-6


def test_multitask_lasso_matches_sklearn():
    lm = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(4)
    X = _design(rng, 100, 40, 0.5)
    W0 = np.zeros((40, 3))
    W0[[2, 9, 30]] = rng.standard_normal((3, 3))
    Y = X @ W0 + 0.3 * rng.standard_normal((100, 3)) + [1, -1, 2]
    W, b, info = sparse.multitask_lasso(X, Y, 0.1, tol=1e-10)
    m = lm.MultiTaskLasso(alpha=0.1, tol=1e-10, max_iter=100000).fit(X, Y)
    np.testing.assert_allclose(W, m.coef_.T, atol=1e-6)
    np.testing.assert_allclose(b, m.intercept_, atol=1e-6)
    W, b, info = sparse.multitask_enet(X, Y, 0.1, l1_ratio=0.3, tol=1e-10)
    m = lm.MultiTaskElasticNet(alpha=0.1, l1_ratio=0.3, tol=1e-10, max_iter=100000).fit(X, Y)
    np.testing.assert_allclose(W, m.coef_.T, atol=1e-6)


def test_lasso_path_matches_sklearn():
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = _problem(5, 120, 60, rho=0.6)
    alphas, coefs, intercepts, gaps = sparse.lasso_path(X, y, n_alphas=20, tol=1e-10)
    Xc, yc = X - X.mean(0), y - y.mean()
    sal, scoefs, _ = lm.lasso_path(Xc, yc, alphas=alphas, tol=1e-10, max_iter=100000)
    np.testing.assert_allclose(alphas, sal, rtol=1e-15)
    np.testing.assert_allclose(coefs, scoefs, atol=1e-5)
    np.testing.assert_allclose(intercepts, y.mean() - X.mean(0) @ coefs, atol=1e-12)
    grid = sparse.alpha_grid(X, y, n_alphas=20)
    amax = np.max(np.abs(Xc.T @ yc)) / len(y)
    np.testing.assert_allclose(grid, np.geomspace(amax, amax * 1e-3, 20), rtol=1e-12)
    assert np.all(np.diff(grid) < 0) and np.all(gaps >= 0)


def test_enet_path_and_warm_start():
    X, y = _problem(6, 80, 30)
    alphas, coefs, intercepts, gaps = sparse.enet_path(X, y, l1_ratio=0.7, n_alphas=5)
    for k, a in enumerate(alphas):
        c, b, info = sparse.enet(X, y, a, l1_ratio=0.7, tol=1e-12)
        assert abs(_objective(X, y, coefs[:, k], intercepts[k], a, 0.7)
                   - _objective(X, y, c, b, a, 0.7)) <= gaps[k] + info["gap"] + 1e-14
    c2, b2, info2 = sparse.enet(X, y, alphas[-1], l1_ratio=0.7, coef_init=coefs[:, -2])
    assert info2["converged"]


def test_enet_info_and_noconv():
    X, y = _problem(7, 100, 50, rho=0.9)
    with pytest.raises(apx.Error) as e:
        sparse.lasso(X, y, 1e-4, tol=1e-15, max_epochs=1)
    assert e.value.status == apx.Status.ENOCONV
    coef, b, info = sparse.lasso(X, y, 1e-4, tol=1e-15, max_epochs=1, strict=False)
    assert not info["converged"] and info["gap"] > info["gap_tol"]
    assert {"gap", "gap_tol", "primal", "epochs", "nnz", "screened", "solver"} <= set(info)


def test_enet_bad_input():
    X, y = _problem(8, 20, 5)
    for args, kw, status in [
        ((X, y, -0.1), {}, apx.Status.EINVAL),
        ((X, y, float("nan")), {}, apx.Status.EINVAL),
        ((X, y, 0.1), {"l1_ratio": 1.5}, apx.Status.EINVAL),
        ((X, y[:-1], 0.1), {}, apx.Status.ESHAPE),
        ((X[:0], y[:0], 0.1), {}, apx.Status.ESHAPE),
        ((X, y, 0.1), {"solver": "fast"}, apx.Status.EINVAL),
    ]:
        with pytest.raises(apx.Error) as e:
            sparse.enet(*args, **kw)
        assert e.value.status == status and e.value.message
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(apx.Error, match="X\\[3,2\\]"):
        sparse.lasso(Xn, y, 0.1)
    yi = y.copy()
    yi[0] = np.inf
    with pytest.raises(apx.Error):
        sparse.lasso(X, yi, 0.1)
    with pytest.raises(apx.Error):
        sparse.multitask_lasso(X, np.ones((19, 2)), 0.1)


# ====================================================================== OMP, IHT, best subset


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_omp_matches_sklearn(fit_intercept):
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = _problem(9, 100, 60, k=6, noise=0.1)
    coef, b, info = sparse.omp(X, y, 8, fit_intercept=fit_intercept)
    m = lm.OrthogonalMatchingPursuit(n_nonzero_coefs=8, fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(coef, m.coef_, atol=1e-10)
    assert abs(b - m.intercept_) <= 1e-10
    coef, b, info = sparse.omp(X, y, tol=5.0)
    m = lm.OrthogonalMatchingPursuit(tol=5.0).fit(X, y)
    np.testing.assert_allclose(coef, m.coef_, atol=1e-10)
    assert info["rss"] <= 5.0
    coef, b, info = sparse.omp(X, y)  # scikit-learn's default: 10% of the features
    m = lm.OrthogonalMatchingPursuit().fit(X, y)
    np.testing.assert_allclose(coef, m.coef_, atol=1e-10)


def test_best_subset_is_exact():
    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((30, 9)), rng.standard_normal(30)
    C, rss = sparse.best_subset(X, y, 3)
    Xc, yc = X - X.mean(0), y - y.mean()
    for s in range(4):
        best = min((np.sum((yc - Xc[:, list(S)] @ np.linalg.lstsq(Xc[:, list(S)], yc,
                                                                   rcond=None)[0]) ** 2)
                    for S in itertools.combinations(range(9), s)), default=yc @ yc)
        assert abs(rss[s] - best) <= 1e-10 * best
        assert np.count_nonzero(C[s]) == s


def test_p030_random_supports_d200():
    """P030: Toeplitz(0.99) design, d = 200, k = 4, random supports, N = 2 k^2 log d. IHT with
    swap local search reaches the oracle (least squares on the true support) prediction
    error on every support, within eps = 8 sigma^2 k log(d) / N; plain IHT and OMP do not
    (recorded, not asserted: the contrast is the point of the check)."""
    d, k, sigma, rho = 200, 4, 0.1, 0.99
    N = int(2 * k * k * np.log(d))
    eps = 8 * sigma ** 2 * k * np.log(d) / N
    L = np.linalg.cholesky(rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d))))
    for seed in range(5):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((N, d)) @ L.T
        S = rng.choice(d, k, replace=False)
        w = np.zeros(d)
        w[S] = rng.choice([-1, 1], k) * (1 + rng.random(k))
        y = X @ w + sigma * rng.standard_normal(N)
        c, _, _ = sparse.iht(X, y, k, fit_intercept=False, swaps=50, strict=False)
        oracle = np.zeros(d)
        oracle[S] = np.linalg.lstsq(X[:, S], y, rcond=None)[0]
        err = np.mean((X @ (c - w)) ** 2)
        assert err <= eps
        assert err <= np.mean((X @ (oracle - w)) ** 2) * (1 + 1e-9)


# ====================================================================== NNLS and FCLS


def test_nnls_matches_scipy():
    opt = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(11)
    for t in range(30):
        m, n = rng.integers(5, 40), rng.integers(1, 25)
        A, b = rng.standard_normal((m, n)), rng.standard_normal(m)
        x, r = sparse.nnls(A, b)
        xs, rs = opt.nnls(A, b)
        assert abs(r - rs) <= 1e-10 * max(1.0, rs)
        if m >= n:
            np.testing.assert_allclose(x, xs, atol=1e-9)
        assert x.min() >= 0
    B = rng.standard_normal((20, 3))
    X, r = sparse.nnls(rng.standard_normal((20, 6)), B)
    assert X.shape == (6, 3)


def test_fcls_simplex_and_exact_mixture():
    rng = np.random.default_rng(12)
    M = rng.random((60, 4))
    a0 = np.array([0.6, 0.0, 0.4, 0.0])
    x, r = sparse.fcls(M, M @ a0)
    np.testing.assert_allclose(x, a0, atol=1e-12)
    Y = M @ rng.dirichlet(np.ones(4), 10).T + 0.02 * rng.standard_normal((60, 10))
    X, r = sparse.fcls(M, Y)
    assert X.shape == (4, 10) and X.min() >= 0
    np.testing.assert_allclose(X.sum(0), 1, atol=1e-13)
    with pytest.raises(apx.Error):
        sparse.fcls(M, np.ones(59))


# ====================================================================== penalties and coding


def test_prox_penalties_brute_force():
    z = np.linspace(-3, 3, 41)
    grid = np.linspace(-4, 4, 160001)
    for pen, q in [("l1", 0.5), ("l0", 0.5), ("lq", 0.5), ("lq", 0.3), ("cel0", 0.5)]:
        a = sparse.prox(z, pen, 0.6, step=0.9, q=q, norms=0.8)
        R = np.array([sparse.penalty([g], pen, 0.6, q=q, norms=0.8) for g in grid[::400]])
        # objective at the prox is no worse than anywhere on a coarse grid
        for zi, ai in zip(z, a):
            f = 0.5 * (ai - zi) ** 2 + 0.9 * sparse.penalty([ai], pen, 0.6, q=q, norms=0.8)
            fg = 0.5 * (grid[::400] - zi) ** 2 + 0.9 * R
            assert f <= fg.min() + 1e-12


def test_sparse_code_l1_matches_sklearn_lasso():
    lm = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(13)
    D = rng.standard_normal((30, 20))
    X = rng.standard_normal((4, 20))
    A = sparse.sparse_code(X, D, 0.5, tol=1e-12, max_iters=50000)
    for i in range(4):
        m = lm.Lasso(alpha=0.5 / 20, fit_intercept=False, tol=1e-14, max_iter=100000).fit(D.T, X[i])
        np.testing.assert_allclose(A[i], m.coef_, atol=1e-6)


def test_p032_nonconvex_codes_sparser_at_matched_error():
    """P032: dictionary 128 atoms in R^64, 5-sparse codes, noise 0.05. lambda is tuned by
    bisection so each penalty reaches the reconstruction error of the true codes; l0 and
    CEL0 codes then use <= 0.7x the non-zeros of l1 codes."""
    rng = np.random.default_rng(0)
    K, m, N, s, sigma = 128, 64, 50, 5, 0.05
    D = rng.standard_normal((K, m))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A0 = np.zeros((N, K))
    for i in range(N):
        A0[i, rng.choice(K, s, replace=False)] = rng.standard_normal(s)
    X = A0 @ D + sigma * rng.standard_normal((N, m))
    tau = np.linalg.norm(X - A0 @ D) / np.linalg.norm(X)

    def matched(pen):
        lo, hi, init = -6.0, 1.0, None
        for _ in range(22):
            mid = 0.5 * (lo + hi)
            A, info = sparse.sparse_code(X, D, 10 ** mid, penalty=pen, tol=1e-7, max_iters=3000,
                                         init=init, return_info=True, strict=False)
            init = A
            lo, hi = (lo, mid) if info["rel_error"] > tau else (mid, hi)
        return info

    l1 = matched("l1")
    for pen in ["l0", "cel0"]:
        info = matched(pen)
        assert abs(info["rel_error"] - tau) <= 0.02 * tau
        assert info["nnz_mean"] <= 0.7 * l1["nnz_mean"]


def test_l0_exact_and_cel0():
    rng = np.random.default_rng(14)
    D, x = rng.standard_normal((8, 6)), rng.standard_normal(6)
    a, obj = sparse.l0_exact(D, x, 0.2)
    best = np.inf
    for mask in range(256):
        S = [k for k in range(8) if mask >> k & 1]
        r = x - (np.linalg.lstsq(D[S].T, x, rcond=None)[0] @ D[S] if S else 0)
        best = min(best, 0.5 * r @ r + 0.2 * len(S))
    assert abs(obj - best) <= 1e-10
    A = sparse.sparse_code(x[None], D, 0.2, penalty="cel0", init=a[None], tol=1e-14,
                           max_iters=20000, strict=False)
    np.testing.assert_allclose(A[0], a, atol=1e-8)


def test_code_bad_input():
    D = np.eye(3)
    with pytest.raises(apx.Error):
        sparse.sparse_code(np.ones((2, 4)), D, 0.1)
    with pytest.raises(apx.Error):
        sparse.sparse_code(np.ones((2, 3)), D, 0.1, penalty="l3")
    with pytest.raises(apx.Error):
        sparse.prox([1.0], "cel0", 0.1)
    with pytest.raises(apx.Error):
        sparse.prox([1.0], "lq", 0.1, q=1.5)


# ====================================================================== unmixing (P004)


def test_p004_unmix_beats_squared_loss_with_corrupted_bands():
    """P004's scene: K = 4 random non-negative spectra, L = 100 bands, N = 500 pixels,
    Dirichlet abundances with pixel-varying sparsity, 5 corrupted bands. With the same
    known endmembers and the same l_1/2 penalty, the l_{2,1} loss gives abundance RMSE
    <= 0.8x the squared loss; the objective never increases; without outlier bands the
    result is close to FCLS."""
    rng = np.random.default_rng(15)
    L, K, N = 100, 4, 500
    M = rng.random((L, K))
    conc = np.where(np.arange(N) % 2 == 0, 0.2, 2.0)  # sparse and mixed pixels
    A0 = np.stack([rng.dirichlet(np.full(K, c)) for c in conc], axis=1)
    Y0 = M @ A0 + 0.01 * rng.standard_normal((L, N))
    Y = Y0.copy()
    Y[rng.choice(L, 5, replace=False)] += rng.standard_normal((5, N))
    A, info = sparse.unmix(Y, M, lam=1e-3, return_info=True)
    B, info2 = sparse.unmix(Y, M, lam=1e-3, l21=False, return_info=True)
    rmse = lambda Z: np.sqrt(np.mean((Z - A0) ** 2))
    assert info["monotone"] and info2["monotone"]
    assert rmse(A) <= 0.8 * rmse(B)
    F, _ = sparse.fcls(M, Y0)
    A1 = sparse.unmix(Y0, M, lam=1e-6)
    assert rmse(A1) <= 1.2 * rmse(F)


# ====================================================================== CSR designs


def _sparse_problem(seed, n, p, density, shift=1.5):
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, random_state=seed, format="csr",
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, 8, replace=False)] = 3 * rng.standard_normal(8)
    y = X @ w + 0.1 * rng.standard_normal(n) + shift
    return X, y


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_sparse_design_matches_sklearn_on_scipy_sparse(fit_intercept, l1_ratio):
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = _sparse_problem(1, 400, 200, 0.05)
    alpha = 0.01
    coef, b, info = sparse.enet(X, y, alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                                tol=1e-10)
    assert info["converged"]
    sk = lm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=1e-10,
                       max_iter=100000).fit(X, y)
    Xd = X.toarray()
    assert np.array_equal(coef != 0, sk.coef_ != 0)
    f_apx = _objective(Xd, y, coef, b, alpha, l1_ratio)
    f_sk = _objective(Xd, y, sk.coef_, sk.intercept_, alpha, l1_ratio)
    assert abs(f_apx - f_sk) <= info["gap"] + sk.dual_gap_ + 1e-15 * abs(f_sk)
    # the same iterates as the dense solver on the densified matrix, and CSC/COO as CSR
    cd, bd, _ = sparse.enet(Xd, y, alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                            tol=1e-10)
    np.testing.assert_allclose(coef, cd, atol=1e-9, rtol=1e-7)
    assert abs(b - bd) <= 1e-9 + 1e-7 * abs(bd)
    for other in (X.tocsc(), X.tocoo()):
        c2, b2, _ = sparse.enet(other, y, alpha, l1_ratio=l1_ratio,
                                fit_intercept=fit_intercept, tol=1e-10)
        np.testing.assert_array_equal(c2, coef)


def test_sparse_design_path_matches_sklearn():
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = _sparse_problem(2, 300, 120, 0.08)
    alphas, coefs, b, gaps = sparse.lasso_path(X, y, n_alphas=8, eps=1e-2, tol=1e-10)
    a_d, c_d, _, _ = sparse.lasso_path(X.toarray(), y, n_alphas=8, eps=1e-2, tol=1e-10)
    np.testing.assert_allclose(alphas, a_d, rtol=1e-12)
    np.testing.assert_allclose(coefs, c_d, atol=1e-9, rtol=1e-7)
    Xd = X.toarray()
    for i in (2, 5, 7):
        sk = lm.Lasso(alpha=alphas[i], tol=1e-10, max_iter=100000).fit(X, y)
        assert np.array_equal(coefs[:, i] != 0, sk.coef_ != 0)
        f_apx = _objective(Xd, y, coefs[:, i], b[i], alphas[i], 1.0)
        f_sk = _objective(Xd, y, sk.coef_, sk.intercept_, alphas[i], 1.0)
        assert abs(f_apx - f_sk) <= gaps[i] + sk.dual_gap_ + 1e-15 * abs(f_sk)


def test_sparse_design_bad_input():
    X, y = _sparse_problem(3, 50, 20, 0.2)
    bad = X.copy()
    bad.data[3] = np.nan
    with pytest.raises(apx.Error) as e:
        sparse.lasso(bad, y, 0.1)
    assert e.value.status == apx.Status.EINVAL and "data[3]" in str(e.value)
    bad = X.copy()
    bad.indices[0] = 25  # column out of range
    with pytest.raises(apx.Error) as e:
        sparse.lasso(bad, y, 0.1)
    assert "outside" in str(e.value)
    bad = X.copy()
    bad.indptr[5], bad.indptr[6] = bad.indptr[6] + 1, bad.indptr[5]  # decreasing
    with pytest.raises(apx.Error) as e:
        sparse.lasso(bad, y, 0.1)
    assert "indptr" in str(e.value)
    with pytest.raises(apx.Error) as e:
        sparse.lasso(X, y[:-1], 0.1)
    assert e.value.status == apx.Status.ESHAPE
    with pytest.raises(apx.Error):
        sparse.multitask_lasso(X, np.c_[y, y], 0.1)


# ====================================================================== P074


def test_mtrl_catalog_lasso_support_and_sklearn():
    """P074's check, stage 2: d=50, k=3, M=20 sources, 3 relevant: the Lasso finds the
    relevant sources, and its coefficients equal scikit-learn's Lasso on the same stage-1
    heads to 1e-6."""
    lm = pytest.importorskip("sklearn.linear_model")
    for seed in range(5):
        r = sparse.mtrl_select(d=50, M=20, k=3, relevant=3, seed=seed, rule="nu1")
        truth = r["truth"]["nu"]
        assert np.array_equal(r["nu"] != 0, truth != 0)
        sk = lm.Lasso(alpha=1e-2, fit_intercept=False, tol=1e-12, max_iter=10 ** 6)
        sk.fit(r["W1"], r["w0_1"])
        np.testing.assert_allclose(r["nu"], sk.coef_, atol=1e-6, rtol=0)
        assert r["alloc"].sum() == 4000 and np.all(r["alloc"][truth == 0] == 0)
        # the min-norm estimate solves W1 nu = w0_1
        np.testing.assert_allclose(r["W1"] @ r["nu_l2"], r["w0_1"], atol=1e-10)


def test_mtrl_python_sampler_and_errors():
    syn = sparse.mtrl_synth(d=20, k=2, M=6, relevant=2, seed=4)
    assert np.count_nonzero(syn["nu"]) == 2
    np.testing.assert_allclose(syn["W"] @ syn["nu"], syn["w0"], atol=1e-12)

    def sampler(m, n, draw):
        rng = np.random.default_rng([m, draw])
        X = rng.standard_normal((n, 20))
        w = syn["W"][:, m] if m < 6 else syn["w0"]
        return X, X @ syn["B"] @ w + 0.05 * rng.standard_normal(n)

    r = sparse.mtrl_select(d=20, M=6, k=2, n_stage1=40, budget=600, n_target=40,
                           sampler=sampler)
    assert np.array_equal(r["nu"] != 0, syn["nu"] != 0)
    err = r["beta0"] - syn["B"] @ syn["w0"]
    assert err @ err < 1e-2

    def broken(m, n, draw):
        raise RuntimeError("no more data")

    with pytest.raises(RuntimeError, match="no more data"):
        sparse.mtrl_select(d=20, M=6, k=2, n_stage1=40, sampler=broken)
    with pytest.raises(apx.Error):
        sparse.mtrl_select(rule="nu3")
    with pytest.raises(apx.Error):
        sparse.mtrl_select(d=50, n_stage1=10)
    with pytest.raises(apx.Error):
        sparse.mtrl_synth(relevant=4)
