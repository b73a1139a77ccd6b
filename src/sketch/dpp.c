/* dpp.c: projection DPP and volume sampling over finite sets, and the four weighted
 * least-squares samplers of P001 (i.i.d. optimal density, projection DPP, volume-rescaled,
 * repeated DPP) on [-1,1] with the Legendre basis (exact rejection sampling) or on a finite
 * ground set given by basis values, with the weighted fit. */
#include <float.h>
#include <string.h>

#include "apx/la.h"
#include "sketch/sketch_internal.h"

/* ---------------------------------------------------------------- projections */

double apx__project_off(const double *E, int64_t k, int64_t m, double *v) {
    for (int pass = 0; pass < 2; pass++)
        for (int64_t l = 0; l < k; l++) {
            const double *e = E + l * m;
            double d = 0;
            for (int64_t j = 0; j < m; j++) d += e[j] * v[j];
            for (int64_t j = 0; j < m; j++) v[j] -= d * e[j];
        }
    double s = 0;
    for (int64_t j = 0; j < m; j++) s += v[j] * v[j];
    return s;
}

// an index drawn from non-negative weights p (n) with sum total > 0
static int64_t draw_index(apx_rng *r, const double *p, int64_t n, double total) {
    double u = apx_rng_uniform(r) * total, acc = 0;
    int64_t last = -1;
    for (int64_t i = 0; i < n; i++) {
        if (!(p[i] > 0)) continue;
        acc += p[i];
        last = i;
        if (u < acc) return i;
    }
    return last; // rounding: the last positive weight
}

/* ---------------------------------------------------------------- finite projection DPP */

// The chain rule on the rows of U (N,m), orthonormal columns: res (N) holds ||P_k u_i||^2,
// E (m,m) the orthonormalized chosen rows. Time O(N m^2).
static void dpp_chain(apx_dmat U, apx_rng *r, int64_t *idx, double *res, double *E) {
    int64_t N = U.rows, m = U.cols;
    for (int64_t i = 0; i < N; i++) {
        const double *u = U.data + i * U.ld;
        double s = 0;
        for (int64_t j = 0; j < m; j++) s += u[j] * u[j];
        res[i] = s;
    }
    for (int64_t k = 0; k < m; k++) {
        double total = 0;
        for (int64_t i = 0; i < N; i++) total += res[i] > 0 ? res[i] : 0;
        int64_t i = draw_index(r, res, N, total);
        idx[k] = i;
        double *e = E + k * m;
        memcpy(e, U.data + i * U.ld, sizeof(double) * (size_t)m);
        double nv = sqrt(apx__project_off(E, k, m, e));
        for (int64_t j = 0; j < m; j++) e[j] /= nv;
        // res_j -= (e . u_j)^2 : (N) = (N,m) x (m)
        for (int64_t j = 0; j < N; j++) {
            const double *u = U.data + j * U.ld;
            double d = 0;
            for (int64_t c = 0; c < m; c++) d += e[c] * u[c];
            res[j] -= d * d;
        }
        res[i] = 0;
    }
}

// max |U^T U - I| <= 1e-8
static apx_status check_orthonormal(const char *fn, apx_dmat U) {
    int64_t m = U.cols;
    apx_dmat G = {0};
    APX__TRY(apx_dmat_alloc(m, m, &G));
    // (m,m) = (N,m)^T x (N,m)
    apx__dgemm(1, 0, 1.0, U, U, 0.0, G);
    double worst = 0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < m; j++)
            worst = APX__MAX(worst, fabs(G.data[i * G.ld + j] - (i == j)));
    apx_dmat_free(&G);
    if (!(worst <= 1e-8))
        return apx__err(APX_EINVAL, "%s: U (%lld x %lld) must have orthonormal columns: "
                        "max |U^T U - I| = %.3g > 1e-8", fn, (long long)U.rows, (long long)m,
                        worst);
    return APX_OK;
}

// the chain rule with its own scratch
static apx_status dpp_run(const char *fn, apx_dmat U, apx_rng *r, int64_t *idx) {
    double *res = apx__alloc(fn, (size_t)(U.rows + U.cols * U.cols), sizeof(double));
    if (!res) return APX_ENOMEM;
    dpp_chain(U, r, idx, res, res + U.rows);
    apx_free(res);
    return APX_OK;
}

apx_status apx_sketch_dpp_sample(apx_dmat U, uint64_t seed, int64_t *idx) {
    const char *fn = "dpp_sample";
    APX__TRY(apx__check_dmat_nonempty(fn, "U", U));
    if (!idx) return apx__err(APX_EINVAL, "%s: idx is NULL", fn);
    if (U.rows < U.cols)
        return apx__err(APX_ESHAPE, "%s: U is %lld x %lld; a projection DPP needs N >= m", fn,
                        (long long)U.rows, (long long)U.cols);
    APX__TRY(apx__check_finite(fn, "U", U));
    APX__TRY(apx__blas_ensure(fn));
    APX__TRY(check_orthonormal(fn, U));
    apx_rng r;
    apx_rng_init(&r, seed, 0);
    return dpp_run(fn, U, &r, idx);
}

/* ---------------------------------------------------------------- volume sampling */

// Q (N,m) of A = Q R; APX_ENUMERIC when R has a diagonal entry <= N eps max |R_jj|
static apx_status orthonormal_basis(const char *fn, apx_dmat A, apx_dmat *Q) {
    int64_t N = A.rows, m = A.cols;
    apx_dmat R = {0};
    apx_status st = apx_dmat_alloc(N, m, Q);
    if (st == APX_OK) st = apx_dmat_alloc(m, m, &R);
    if (st == APX_OK) st = apx_la_qr(A, *Q, R);
    if (st == APX_OK) {
        double mx = 0, mn = INFINITY;
        for (int64_t j = 0; j < m; j++) {
            double d = fabs(R.data[j * R.ld + j]);
            mx = APX__MAX(mx, d), mn = APX__MIN(mn, d);
        }
        if (!(mn > (double)N * DBL_EPSILON * mx))
            st = apx__err(APX_ENUMERIC, "%s: A (%lld x %lld) is rank deficient (|R_jj| from "
                          "%.3g to %.3g)", fn, (long long)N, (long long)m, mn, mx);
    }
    apx_dmat_free(&R);
    if (st != APX_OK) apx_dmat_free(Q);
    return st;
}

// k - m further rows uniformly from those not in idx[0..m); flags (N) scratch
static apx_status add_uniform(const char *fn, apx_rng *r, int64_t N, int64_t m, int64_t k,
                              int64_t *idx) {
    if (k == m) return APX_OK;
    int64_t *rest = apx__alloc(fn, (size_t)(2 * N), sizeof(int64_t));
    if (!rest) return APX_ENOMEM;
    int64_t *pick = rest + N, nr = 0;
    for (int64_t i = 0; i < m; i++) pick[idx[i]] = 1;
    for (int64_t i = 0; i < N; i++)
        if (!pick[i]) rest[nr++] = i;
    apx_status st = apx_rng_sample(r, nr, k - m, pick);
    for (int64_t t = 0; st == APX_OK && t < k - m; t++) idx[m + t] = rest[pick[t]];
    apx_free(rest);
    return st;
}

apx_status apx_sketch_volume_sample(apx_dmat A, int64_t k, uint64_t seed, int64_t *idx,
                                    double *wt) {
    const char *fn = "volume_sample";
    APX__TRY(apx__check_dmat_nonempty(fn, "A", A));
    if (!idx) return apx__err(APX_EINVAL, "%s: idx is NULL", fn);
    int64_t N = A.rows, m = A.cols;
    if (N < m)
        return apx__err(APX_ESHAPE, "%s: A is %lld x %lld; volume sampling needs N >= m", fn,
                        (long long)N, (long long)m);
    if (k < m || k > N)
        return apx__err(APX_EINVAL, "%s: k = %lld must be in [m, N] = [%lld, %lld]", fn,
                        (long long)k, (long long)m, (long long)N);
    APX__TRY(apx__check_finite(fn, "A", A));
    APX__TRY(apx__blas_ensure(fn));
    apx_dmat Q = {0};
    APX__TRY(orthonormal_basis(fn, A, &Q));
    apx_rng r;
    apx_rng_init(&r, seed, 0);
    apx_status st = dpp_run(fn, Q, &r, idx);
    if (st == APX_OK) st = add_uniform(fn, &r, N, m, k, idx);
    for (int64_t t = 0; st == APX_OK && wt && t < k; t++) {
        const double *q = Q.data + idx[t] * Q.ld;
        double tau = 0;
        for (int64_t j = 0; j < m; j++) tau += q[j] * q[j];
        double frac = N > m ? (double)(k - m) / (double)(N - m) : 0.0;
        wt[t] = 1.0 / (tau + (1.0 - tau) * frac);
    }
    apx_dmat_free(&Q);
    return st;
}

/* ---------------------------------------------------------------- WLS options */

static const char *wls_names[APX_WLS_COUNT] = {"iid", "dpp", "volume", "repeated-dpp"};

const char *apx_wls_sampler_name(apx_wls_sampler s) {
    return (s >= 0 && s < APX_WLS_COUNT) ? wls_names[s] : NULL;
}

apx_status apx_wls_sampler_parse(const char *text, apx_wls_sampler *s) {
    if (!text || !s) return apx__err(APX_EINVAL, "wls_sampler_parse: NULL argument");
    for (int k = 0; k < APX_WLS_COUNT; k++)
        if (!strcmp(text, wls_names[k])) return *s = (apx_wls_sampler)k, APX_OK;
    if (!strcmp(text, "repeated")) return *s = APX_WLS_REPEATED, APX_OK;
    return apx__err(APX_EINVAL, "wls_sampler_parse: unknown sampler '%s' (iid, dpp, volume, "
                    "repeated-dpp)", text);
}

apx_wls_opts apx_wls_opts_default(void) {
    apx_wls_opts o = {APX_WLS_IID, 0, 2, 0, 100000000};
    return o;
}

static int64_t default_n(int64_t m) {
    int64_t n = (int64_t)ceil((double)m * log((double)m));
    return APX__MAX(n, m);
}

int64_t apx_wls_count(int64_t m, const apx_wls_opts *opts) {
    apx_wls_opts o = opts ? *opts : apx_wls_opts_default();
    if (m < 1) return 0;
    int64_t n = o.n > 0 ? o.n : default_n(m);
    switch (o.sampler) {
    case APX_WLS_IID: return n;
    case APX_WLS_DPP: return m;
    case APX_WLS_VOLUME: return n >= m ? n : 0;
    case APX_WLS_REPEATED: return o.repeats >= 1 && o.repeats <= INT64_MAX / m ? o.repeats * m : 0;
    default: return 0;
    }
}

static apx_status check_wls_opts(const char *fn, int64_t m, const apx_wls_opts *o) {
    if (m < 1) return apx__err(APX_EINVAL, "%s: m = %lld must be >= 1", fn, (long long)m);
    if (o->sampler < 0 || o->sampler >= APX_WLS_COUNT)
        return apx__err(APX_EINVAL, "%s: unknown sampler %d", fn, (int)o->sampler);
    if (o->max_proposals < 1)
        return apx__err(APX_EINVAL, "%s: max_proposals = %lld must be >= 1", fn,
                        (long long)o->max_proposals);
    if (apx_wls_count(m, o) == 0)
        return apx__err(APX_EINVAL, "%s: sampler %s with m = %lld, n = %lld, repeats = %lld: "
                        "volume needs n >= m and repeated-dpp repeats >= 1", fn,
                        wls_names[o->sampler], (long long)m, (long long)o->n,
                        (long long)o->repeats);
    return APX_OK;
}

/* ---------------------------------------------------------------- Legendre, continuous */

// phi (m) = sqrt(2j+1) P_j(x) by (j+1) P_{j+1} = (2j+1) x P_j - j P_{j-1}; returns
// K(x,x) = ||phi||^2
static double legendre_row(double x, int64_t m, double *phi) {
    double prev = 0, cur = 1, K = 0;
    for (int64_t j = 0; j < m; j++) {
        double dj = (double)j;
        phi[j] = sqrt(2.0 * dj + 1.0) * cur;
        K += phi[j] * phi[j];
        double next = ((2.0 * dj + 1.0) * x * cur - dj * prev) / (dj + 1.0);
        prev = cur, cur = next;
    }
    return K;
}

apx_status apx_sketch_legendre(const double *x, int64_t n, apx_dmat Phi) {
    const char *fn = "legendre";
    if (!x) return apx__err(APX_EINVAL, "%s: x is NULL", fn);
    if (n < 1 || Phi.cols < 1)
        return apx__err(APX_ESHAPE, "%s: n = %lld and m = %lld must be >= 1", fn, (long long)n,
                        (long long)Phi.cols);
    APX__TRY(apx__check_dmat_shape(fn, "Phi", Phi, n, Phi.cols));
    for (int64_t i = 0; i < n; i++)
        if (!(x[i] >= -1.0 && x[i] <= 1.0))
            return apx__err(APX_EINVAL, "%s: x[%lld] = %g is outside [-1, 1]", fn, (long long)i,
                            x[i]);
    for (int64_t i = 0; i < n; i++) legendre_row(x[i], Phi.cols, Phi.data + i * Phi.ld);
    return APX_OK;
}

typedef struct {
    int64_t m, proposals, cap;
    apx_rng *r;
    double *phi, *E; /* m, m*m */
} leg_sampler;

// one point from rho = K(x,x)/(2m) dx by rejection against uniform (K <= m^2); phi filled
static apx_status rho_draw(const char *fn, leg_sampler *L, double *x, double *K) {
    double bound = (double)(L->m * L->m);
    for (;;) {
        if (L->proposals++ >= L->cap)
            return apx__err(APX_ENOCONV, "%s: %lld rejection proposals reached max_proposals",
                            fn, (long long)L->cap);
        double t = 2.0 * apx_rng_uniform(L->r) - 1.0;
        double k = legendre_row(t, L->m, L->phi);
        if (apx_rng_uniform(L->r) * bound < k) return *x = t, *K = k, APX_OK;
    }
}

// m points of the projection DPP: step k accepts x ~ rho with probability
// ||P_k phi(x)||^2 / K(x,x)
static apx_status dpp_draw(const char *fn, leg_sampler *L, double *x, double *w) {
    int64_t m = L->m;
    for (int64_t k = 0; k < m; k++) {
        double t, K, res;
        do {
            APX__TRY(rho_draw(fn, L, &t, &K));
            memcpy(L->E + k * m, L->phi, sizeof(double) * (size_t)m);
            res = apx__project_off(L->E, k, m, L->E + k * m);
        } while (!(apx_rng_uniform(L->r) * K < res));
        double nv = sqrt(res);
        for (int64_t j = 0; j < m; j++) L->E[k * m + j] /= nv;
        x[k] = t, w[k] = (double)m / K;
    }
    return APX_OK;
}

static apx_status iid_draw(const char *fn, leg_sampler *L, int64_t n, double *x, double *w) {
    for (int64_t i = 0; i < n; i++) {
        double K;
        APX__TRY(rho_draw(fn, L, &x[i], &K));
        w[i] = (double)L->m / K;
    }
    return APX_OK;
}

// Fisher-Yates on the pairs (x, w) (n)
static void shuffle_pairs(apx_rng *r, double *x, double *w, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)apx_rng_below(r, (uint64_t)i + 1);
        double tx = x[i], tw = w[i];
        x[i] = x[j], w[i] = w[j], x[j] = tx, w[j] = tw;
    }
}

static apx_status leg_points(const char *fn, leg_sampler *L, const apx_wls_opts *o,
                             int64_t count, double *x, double *w) {
    int64_t m = L->m;
    switch (o->sampler) {
    case APX_WLS_IID: return iid_draw(fn, L, count, x, w);
    case APX_WLS_DPP: return dpp_draw(fn, L, x, w);
    case APX_WLS_VOLUME:
        APX__TRY(dpp_draw(fn, L, x, w));
        APX__TRY(iid_draw(fn, L, count - m, x + m, w + m));
        shuffle_pairs(L->r, x, w, count);
        return APX_OK;
    default:
        for (int64_t t = 0; t < o->repeats; t++) APX__TRY(dpp_draw(fn, L, x + t * m, w + t * m));
        return APX_OK;
    }
}

apx_status apx_sketch_wls_points(int64_t m, const apx_wls_opts *opts, double *x, double *w,
                                 apx_wls_info *info) {
    const char *fn = "wls_points";
    apx_wls_opts o = opts ? *opts : apx_wls_opts_default();
    APX__TRY(check_wls_opts(fn, m, &o));
    if (!x || !w) return apx__err(APX_EINVAL, "%s: x or w is NULL", fn);
    if (m > (1 << 20)) return apx__err(APX_EINVAL, "%s: m = %lld is too large", fn, (long long)m);
    int64_t count = apx_wls_count(m, &o);
    apx_rng r;
    apx_rng_init(&r, o.seed, 0);
    leg_sampler L = {m, 0, o.max_proposals, &r, NULL, NULL};
    if (!(L.phi = apx__alloc(fn, (size_t)(m + m * m), sizeof(double)))) return APX_ENOMEM;
    L.E = L.phi + m;
    apx_status st = leg_points(fn, &L, &o, count, x, w);
    apx_free(L.phi);
    if (info) info->points = count, info->proposals = L.proposals, info->gram_cond = NAN;
    return st;
}

/* ---------------------------------------------------------------- finite ground set */

static apx_status check_mu(const char *fn, const double *mu, int64_t G) {
    if (!mu) return APX_OK;
    APX__TRY(apx__check_finite_vec(fn, "mu", mu, G));
    double s = 0;
    for (int64_t g = 0; g < G; g++) {
        if (mu[g] < 0)
            return apx__err(APX_EINVAL, "%s: mu[%lld] = %g is negative", fn, (long long)g,
                            mu[g]);
        s += mu[g];
    }
    if (!(fabs(s - 1.0) <= 1e-9))
        return apx__err(APX_EINVAL, "%s: mu sums to %.17g, not 1", fn, s);
    return APX_OK;
}

// Q (G,m): an L2(mu)-orthonormal basis scaled by sqrt(mu): Q = qr(diag(sqrt mu) Phi)
static apx_status grid_basis(const char *fn, apx_dmat Phi, const double *mu, apx_dmat *Q) {
    int64_t G = Phi.rows, m = Phi.cols;
    apx_dmat B = {0};
    APX__TRY(apx_dmat_alloc(G, m, &B));
    for (int64_t g = 0; g < G; g++) {
        double s = sqrt(mu ? mu[g] : 1.0 / (double)G);
        for (int64_t j = 0; j < m; j++) B.data[g * B.ld + j] = s * Phi.data[g * Phi.ld + j];
    }
    apx_status st = orthonormal_basis(fn, B, Q);
    apx_dmat_free(&B);
    return st;
}

// count points on the ground set: rho_g = ||Q_g||^2 / m, DPP chain rule on Q
static apx_status grid_draw(const char *fn, apx_dmat Q, const apx_wls_opts *o, int64_t count,
                            int64_t *idx, apx_rng *r) {
    int64_t G = Q.rows, m = Q.cols, ndpp = 0;
    double *rho = apx__alloc(fn, (size_t)G, sizeof(double));
    if (!rho) return APX_ENOMEM;
    for (int64_t g = 0; g < G; g++) {
        const double *q = Q.data + g * Q.ld;
        for (int64_t j = 0; j < m; j++) rho[g] += q[j] * q[j];
    }
    apx_status st = APX_OK;
    if (o->sampler == APX_WLS_DPP || o->sampler == APX_WLS_VOLUME) ndpp = m;
    if (o->sampler == APX_WLS_REPEATED) ndpp = count;
    for (int64_t t = 0; st == APX_OK && t < ndpp; t += m) st = dpp_run(fn, Q, r, idx + t);
    if (st == APX_OK && count > ndpp)
        st = apx_rng_categorical(r, rho, G, count - ndpp, idx + ndpp);
    if (st == APX_OK && o->sampler == APX_WLS_VOLUME)
        for (int64_t i = count - 1; i > 0; i--) {
            int64_t j = (int64_t)apx_rng_below(r, (uint64_t)i + 1), t = idx[i];
            idx[i] = idx[j], idx[j] = t;
        }
    apx_free(rho);
    return st;
}

apx_status apx_sketch_wls_grid_points(apx_dmat Phi, const double *mu,
                                      const apx_wls_opts *opts, int64_t *idx, double *w,
                                      apx_wls_info *info) {
    const char *fn = "wls_grid_points";
    apx_wls_opts o = opts ? *opts : apx_wls_opts_default();
    APX__TRY(apx__check_dmat_nonempty(fn, "Phi", Phi));
    int64_t G = Phi.rows, m = Phi.cols;
    APX__TRY(check_wls_opts(fn, m, &o));
    if (!idx || !w) return apx__err(APX_EINVAL, "%s: idx or w is NULL", fn);
    if (G < m)
        return apx__err(APX_ESHAPE, "%s: Phi is %lld x %lld; needs at least m points", fn,
                        (long long)G, (long long)m);
    APX__TRY(apx__check_finite(fn, "Phi", Phi));
    APX__TRY(check_mu(fn, mu, G));
    APX__TRY(apx__blas_ensure(fn));
    apx_dmat Q = {0};
    APX__TRY(grid_basis(fn, Phi, mu, &Q));
    int64_t count = apx_wls_count(m, &o);
    apx_rng r;
    apx_rng_init(&r, o.seed, 0);
    apx_status st = grid_draw(fn, Q, &o, count, idx, &r);
    for (int64_t i = 0; st == APX_OK && i < count; i++) {
        const double *q = Q.data + idx[i] * Q.ld;
        double s = 0;
        for (int64_t j = 0; j < m; j++) s += q[j] * q[j];
        w[i] = (double)m * (mu ? mu[idx[i]] : 1.0 / (double)G) / s; // m / K, K = s / mu
    }
    apx_dmat_free(&Q);
    if (info) info->points = count, info->proposals = 0, info->gram_cond = NAN;
    return st;
}

/* ---------------------------------------------------------------- the weighted fit */

// coef (m) = V S^+ U^T c for B = U S V^T (n,m), c (n); returns the rank kept
static int64_t svd_apply(apx_dmat U, const double *s, apx_dmat Vt, int64_t k, const double *c,
                         double *coef, double *tmp) {
    int64_t n = U.rows, m = Vt.cols;
    int64_t r = apx__rank_from_sv(s, k, (double)APX__MAX(n, m) * DBL_EPSILON);
    for (int64_t l = 0; l < r; l++) {
        double d = 0;
        for (int64_t i = 0; i < n; i++) d += U.data[i * U.ld + l] * c[i];
        tmp[l] = d / s[l];
    }
    for (int64_t j = 0; j < m; j++) {
        double v = 0;
        for (int64_t l = 0; l < r; l++) v += Vt.data[l * Vt.ld + j] * tmp[l];
        coef[j] = v;
    }
    return r;
}

apx_status apx_sketch_wls_fit(apx_dmat Phi, const double *y, const double *w, double *coef,
                              double *gram_cond) {
    const char *fn = "wls_fit";
    APX__TRY(apx__check_dmat_nonempty(fn, "Phi", Phi));
    if (!y || !w || !coef) return apx__err(APX_EINVAL, "%s: y, w or coef is NULL", fn);
    int64_t n = Phi.rows, m = Phi.cols, k = APX__MIN(n, m);
    APX__TRY(apx__check_finite(fn, "Phi", Phi));
    APX__TRY(apx__check_finite_vec(fn, "y", y, n));
    APX__TRY(apx__check_finite_vec(fn, "w", w, n));
    for (int64_t i = 0; i < n; i++)
        if (w[i] < 0)
            return apx__err(APX_EINVAL, "%s: w[%lld] = %g is negative", fn, (long long)i, w[i]);
    APX__TRY(apx__blas_ensure(fn));
    apx_dmat B = {0}, U = {0}, Vt = {0};
    double *buf = apx__alloc(fn, (size_t)(2 * n + 2 * k), sizeof(double));
    apx_status st = buf ? apx_dmat_alloc(n, m, &B) : APX_ENOMEM;
    if (st == APX_OK) st = apx_dmat_alloc(n, k, &U);
    if (st == APX_OK) st = apx_dmat_alloc(k, m, &Vt);
    if (st != APX_OK) goto done;
    double *c = buf, *s = buf + n, *tmp = s + k;
    for (int64_t i = 0; i < n; i++) {
        double sq = sqrt(w[i]);
        for (int64_t j = 0; j < m; j++) B.data[i * B.ld + j] = sq * Phi.data[i * Phi.ld + j];
        c[i] = sq * y[i];
    }
    if ((st = apx_la_svd(B, s, &U, &Vt)) != APX_OK) goto done;
    int64_t r = svd_apply(U, s, Vt, k, c, coef, tmp);
    if (gram_cond) *gram_cond = r == m ? (s[0] / s[m - 1]) * (s[0] / s[m - 1]) : INFINITY;
done:
    apx_free(buf);
    apx_dmat_free(&B);
    apx_dmat_free(&U);
    apx_dmat_free(&Vt);
    return st;
}

apx_status apx_sketch_wls_legendre(int64_t m, apx_wls_func f, void *ctx,
                                   const apx_wls_opts *opts, double *coef,
                                   apx_wls_info *info) {
    const char *fn = "wls_legendre";
    apx_wls_opts o = opts ? *opts : apx_wls_opts_default();
    APX__TRY(check_wls_opts(fn, m, &o));
    if (!f || !coef) return apx__err(APX_EINVAL, "%s: f or coef is NULL", fn);
    int64_t n = apx_wls_count(m, &o);
    if (!((double)n * (double)(m + 3) < 0x1p56)) // the n (m + 3) buffers, before int64 wraps
        return apx__err(APX_ENOMEM, "%s: n = %lld points in dimension m = %lld: too many", fn,
                        (long long)n, (long long)m);
    apx_wls_info inf = {0};
    apx_dmat Phi = {0};
    double *buf = apx__alloc(fn, (size_t)(3 * n), sizeof(double));
    apx_status st = buf ? apx_dmat_alloc(n, m, &Phi) : APX_ENOMEM;
    if (st != APX_OK) goto done;
    double *x = buf, *w = buf + n, *y = w + n;
    if ((st = apx_sketch_wls_points(m, &o, x, w, &inf)) != APX_OK) goto done;
    for (int64_t i = 0; i < n && st == APX_OK; i++) {
        y[i] = f(ctx, x[i]);
        if (!isfinite(y[i]))
            st = apx__err(APX_EINVAL, "%s: f(%.17g) = %g is not finite", fn, x[i], y[i]);
    }
    if (st == APX_OK) st = apx_sketch_legendre(x, n, Phi);
    if (st == APX_OK) st = apx_sketch_wls_fit(Phi, y, w, coef, &inf.gram_cond);
done:
    apx_free(buf);
    apx_dmat_free(&Phi);
    if (info) *info = inf;
    return st;
}
