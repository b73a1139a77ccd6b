"""apx.kernels against scikit-learn (KernelRidge, Ridge, KNeighborsClassifier, pairwise
kernels), NumPy re-derivations of the NTK recursion, the Monte-Carlo NTK of width-10^4 ReLU
nets, and the P068 / P078 catalog checks."""
import numpy as np
import pytest

import apx
from apx import kernels

sk_kr = pytest.importorskip("sklearn.kernel_ridge")
sk_lin = pytest.importorskip("sklearn.linear_model")
sk_nb = pytest.importorskip("sklearn.neighbors")
sk_pw = pytest.importorskip("sklearn.metrics.pairwise")


def _rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=120)
    Y = np.c_[y, np.cos(X[:, 1])]
    Xt = rng.normal(size=(40, 5))
    return X, y, Y, Xt


@pytest.mark.parametrize("kernel,kw", [("rbf", {"gamma": 0.3}), ("rbf", {}),
                                       ("laplacian", {"gamma": 0.2}),
                                       ("polynomial", {"gamma": 0.1, "degree": 3, "coef0": 1.0}),
                                       ("polynomial", {"degree": 2})])
def test_kernel_ridge_matches_sklearn(data, kernel, kw):
    X, y, Y, Xt = data
    for target in (y, Y):
        ref = sk_kr.KernelRidge(alpha=0.5, kernel=kernel, **kw).fit(X, target)
        mine = kernels.KernelRidge(kernel=kernel, alpha=0.5, **kw).fit(X, target)
        assert mine.info_["method"] == "cholesky"
        assert _rel(mine.predict(Xt), ref.predict(Xt)) < 1e-8
        assert _rel(mine.dual_coef_, ref.dual_coef_) < 1e-8


@pytest.mark.parametrize("kernel,metric,kw", [("rbf", "rbf", {"gamma": 0.2}),
                                              ("laplace", "laplacian", {"gamma": 0.3}),
                                              ("poly", "polynomial", {"gamma": 0.5, "degree": 2,
                                                                      "coef0": 0.5})])
def test_kernel_matrix_matches_sklearn(data, kernel, metric, kw):
    X, _, _, Xt = data
    K = kernels.kernel_matrix(X, Xt, kernel=kernel, **kw)
    assert _rel(K, sk_pw.pairwise_kernels(X, Xt, metric=metric, **kw)) < 1e-12


def _relu_dual(r):
    r = np.clip(r, -1, 1)
    t = np.arccos(r)
    return (np.sqrt((1 - r) * (1 + r)) + (np.pi - t) * r) / np.pi, (np.pi - t) / np.pi


def _unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_ntk_recursion_and_arccos(data):
    X, _, _, Xt = data
    rho = np.clip(_unit(X) @ _unit(Xt).T, -1, 1)
    s, t = rho.copy(), rho.copy()
    for _ in range(4):
        r, dr = _relu_dual(s)
        t, s = t * dr + r, r
    assert _rel(kernels.ntk_kernel(X, Xt, depth=4), t) < 1e-10
    assert _rel(kernels.ntk_kernel(X, Xt, depth=4, nngp=True), s) < 1e-10
    th = np.arccos(rho)
    nx, nz = np.linalg.norm(X, axis=1), np.linalg.norm(Xt, axis=1)
    k1 = np.outer(nx, nz) * (np.sin(th) + (np.pi - th) * np.cos(th)) / np.pi
    assert _rel(kernels.kernel_matrix(X, Xt, kernel="arccos"), k1) < 1e-10
    assert _rel(kernels.kernel_matrix(X, Xt, kernel="arccos", degree=0), 1 - th / np.pi) < 1e-10
    r, dr = kernels.dual_activation(np.array([-0.5, 0.3, 1.0]), "sine", act_param=2.0)
    x = np.array([-0.5, 0.3, 1.0])
    assert np.allclose(r, np.sinh(2 * x) / np.sinh(2), rtol=1e-14)
    assert np.allclose(dr, 2 * np.cosh(2 * x) / np.sinh(2), rtol=1e-14)


def test_ntk_depth2_matches_monte_carlo():
    """Empirical NTK of f(x) = v.s(h2)/sqrt(m), h2 = W2 s(W1 x)/sqrt(m), s = sqrt(2) relu, width
    m = 10^4 (sum over the layers of <df/dW, df/dW'>, the gradients by hand), within 2%."""
    rng = np.random.default_rng(1)
    m, d, p = 10000, 4, 5
    X = _unit(rng.normal(size=(p, d)))
    W1 = rng.normal(size=(m, d))
    v = rng.normal(size=m)
    h1 = X @ W1.T                                   # (p, m)
    a1 = np.sqrt(2) * np.maximum(h1, 0)
    h2 = np.zeros((p, m))
    W2_rows = []
    for i0 in range(0, m, 2000):                    # W2 (m, m) in row blocks, float32
        B = rng.standard_normal(size=(min(2000, m - i0), m), dtype=np.float32)
        W2_rows.append(B)
        h2[:, i0:i0 + B.shape[0]] = (a1.astype(np.float32) @ B.T) / np.sqrt(m)
    a2 = np.sqrt(2) * np.maximum(h2, 0)
    d2 = v * np.sqrt(2) * (h2 > 0) / np.sqrt(m)     # df/dh2 (p, m)
    g = np.zeros((p, m))
    for i0, B in zip(range(0, m, 2000), W2_rows):   # W2^T d2
        g += (d2[:, i0:i0 + B.shape[0]].astype(np.float32) @ B) / np.sqrt(m)
    d1 = g * np.sqrt(2) * (h1 > 0)                  # df/dh1
    mc = a2 @ a2.T / m + (d2 @ d2.T) * (a1 @ a1.T / m) + (d1 @ d1.T) * (X @ X.T)
    K = kernels.ntk_kernel(X, depth=2)
    err = np.linalg.norm(mc - K) / np.linalg.norm(K)
    assert err < 0.02, err


def test_random_features_readout_matches_sklearn_ridge(data):
    X, y, Y, Xt = data
    for n_features, lam in ((50, 1e-3), (400, 1e-2)):      # primal and dual forms
        rf = kernels.RandomFeatures(n_features, band=2.0, lam=lam, seed=3).fit(X, Y)
        Phi = rf.transform(X)
        W, b = rf.weights_
        assert np.all(np.abs(W) <= 2.0) and np.all(np.abs(b) <= 2.0)
        assert _rel(Phi, np.tanh(X @ W.T - b)) < 1e-13
        ref = sk_lin.Ridge(alpha=lam, fit_intercept=False, solver="cholesky").fit(Phi, Y)
        assert _rel(rf.coef_, ref.coef_.T) < 1e-8
        assert _rel(rf.predict(Xt), ref.predict(rf.transform(Xt))) < 1e-8
    rf = kernels.random_features(30, lam=0.0, activation="relu").fit(X, y)
    assert rf.info_["method"] == "gelsd"
    ref = np.linalg.lstsq(rf.transform(X), y, rcond=None)[0]
    assert _rel(rf.coef_, ref) < 1e-8


def test_random_fourier_features_approximate_rbf():
    rng = np.random.default_rng(2)
    X = 0.5 * rng.normal(size=(8, 3))
    Phi = kernels.RandomFeatures(20000, band=0.7, kind="fourier", seed=1).transform(X)
    K = sk_pw.rbf_kernel(X, gamma=0.7)
    assert np.max(np.abs(Phi @ Phi.T - K)) < 0.05


def test_p068_band_limited_floor():
    omega = 30.0
    x = np.linspace(-1, 1, 1000)[:, None]
    xt = np.random.default_rng(4).uniform(-1, 1, size=(500, 1))

    def err(A, N):
        rf = kernels.RandomFeatures(N, band=A, lam=1e-6, seed=21).fit(x, np.sin(omega * x[:, 0]))
        return np.sqrt(np.mean((rf.predict(xt) - np.sin(omega * xt[:, 0])) ** 2))

    lo = [err(2.0, 500), err(2.0, 2000)]
    hi = err(30.0, 2000)
    assert min(lo) > 0.3 and lo[1] > 0.5 * lo[0]     # a floor that more features keep
    assert hi < 1e-3 * lo[1]                         # gone once the band reaches omega


def test_classifiers_match_peers(data):
    X, _, _, Xt = data
    rng = np.random.default_rng(5)
    y = np.where(rng.uniform(size=X.shape[0]) < 0.4, 1.0, -1.0)
    nn = kernels.nearest_neighbor(X, y, Xt)
    ref = sk_nb.KNeighborsClassifier(n_neighbors=1).fit(X, y).predict(Xt)
    assert np.array_equal(nn, ref)
    mv = kernels.majority_vote(y, Xt)
    assert np.all(mv == np.sign(y.sum())) and mv.shape == (Xt.shape[0],)
    U, Ut = _unit(X), _unit(Xt)
    # the authors' form on the sphere: sum_i y_i (2 - 2 x.x_i)^(-(d-1)/2)
    ref_h = np.where(y @ (2 - 2 * U @ Ut.T) ** (-(5 - 1) / 2) < 0, -1.0, 1.0)
    assert np.array_equal(kernels.hilbert_estimate(U, y, Ut, 4.0), ref_h)


def _dirichlet(rng, n, a1, a2, prior=0.4):
    lab = np.where(rng.uniform(size=n) < prior, 1.0, -1.0)
    S = np.where(lab[:, None] > 0, rng.dirichlet(a1, n), rng.dirichlet(a2, n))
    return _unit(S), lab, S


def test_p078_opt3_hilbert_and_bayes():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(6)
    a1, a2 = np.array([0.5, 0.5, 2.5]), np.array([2.5, 0.1, 0.5])  # the authors' 3-D setting
    Xt, yt, St = _dirichlet(rng, 3000, a1, a2)
    bayes = np.where(stats.dirichlet.pdf(St.T, a1) * 0.4 > stats.dirichlet.pdf(St.T, a2) * 0.6,
                     1.0, -1.0)
    bayes_err = np.mean(bayes != yt)
    errs = []
    for n in (20, 1000):
        X, y, _ = _dirichlet(rng, n, a1, a2)
        c = kernels.KernelRidge("nngp", alpha=0.0, depth=50, activation="opt3").fit(X, y).classify(Xt)
        h = kernels.hilbert_estimate(X, y, Xt, 2.0)
        assert np.mean(c == h) >= 0.95
        errs.append(np.mean(c != yt))
    assert errs[1] < errs[0] and errs[1] - bayes_err < 0.03, (errs, bayes_err)


def test_p078_relu_ntk_majority_vote():
    rng = np.random.default_rng(7)
    X, Xt = _unit(rng.normal(size=(20, 3))), _unit(rng.normal(size=(300, 3)))
    y = np.where(rng.uniform(size=20) < 0.35, 1.0, -1.0)
    mv = kernels.majority_vote(y, Xt)
    agree = [np.mean(kernels.KernelRidge("ntk", alpha=0.0, depth=L).fit(X, y).classify(Xt) == mv)
             for L in (10, 1000)]
    assert agree[0] < 0.9 and agree[1] >= 0.98


def test_bad_input(data):
    X, y, _, Xt = data
    with pytest.raises(apx.Error) as e:
        kernels.kernel_matrix(X, Xt[:, :3])
    assert e.value.status == apx.Status.ESHAPE
    with pytest.raises(apx.Error):
        kernels.kernel_matrix(X, kernel="gauss")
    with pytest.raises(apx.Error) as e:
        kernels.kernel_matrix(X, kernel="arccos", degree=2)
    assert "degree" in str(e.value)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(apx.Error) as e:
        kernels.KernelRidge().fit(Xn, y)
    assert e.value.status == apx.Status.EINVAL
    with pytest.raises(apx.Error):
        kernels.KernelRidge(alpha=-1.0).fit(X, y)
    with pytest.raises(apx.Error):
        kernels.KernelRidge().fit(X, y[:-1])
    with pytest.raises(apx.Error):
        kernels.KernelRidge().predict(X)
    with pytest.raises(apx.Error):
        kernels.RandomFeatures(0).fit(X, y)
    with pytest.raises(apx.Error):
        kernels.RandomFeatures(10, band=-1.0).fit(X, y)
    with pytest.raises(apx.Error):
        kernels.RandomFeatures(10, kind="cauchy").fit(X, y)
    rf = kernels.RandomFeatures(10).fit(X, y)
    with pytest.raises(apx.Error):
        rf.predict(Xt[:, :2])
    with pytest.raises(apx.Error):
        kernels.hilbert_estimate(X, y, Xt, 2.0)               # labels not +-1
    with pytest.raises(apx.Error):
        kernels.hilbert_estimate(X, np.sign(y) + (y == 0), Xt, 0.0)
    with pytest.raises(apx.Error):
        kernels.majority_vote(np.array([]), 3)
    with pytest.raises(apx.Error):
        kernels.ntk_kernel(np.zeros((2, 3)))
