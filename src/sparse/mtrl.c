/* mtrl.c: active multi-task representation learning via the Lasso (P074; Wang, Chen,
 * Jamieson, Du 2023): stage-1 uniform sampling and the SVD estimate of the shared
 * representation, the stage-2 Lasso for the target's source weights nu, the stage-3
 * budget allocation (|nu|, nu^2 of Chen et al. 2022, or uniform), re-estimation and the
 * target fit (include/apx/sparse.h documents the estimator). Also the synthetic model of
 * the tests and of `apx mtrl`. */
#include <string.h>

#include "apx/la.h"
#include "sparse/sparse_internal.h"

static const char *FN = "mtrl";

apx_mtrl_opts apx_mtrl_opts_default(void) {
    apx_mtrl_opts o;
    memset(&o, 0, sizeof o);
    o.k = 3;
    o.n_stage1 = 100;
    o.budget = 4000;
    o.n_target = 100;
    o.alpha = 1e-2;
    o.rule = APX_MTRL_NU1;
    o.tol = 1e-10;
    return o;
}

static apx_status check_opts(int64_t d, int64_t M, const apx_mtrl_opts *o) {
    if (d < 1 || M < 1)
        return apx__err(APX_EINVAL, "%s: d = %lld and M = %lld must be >= 1", FN, (long long)d,
                        (long long)M);
    if (o->k < 1 || o->k > d || o->k > M)
        return apx__err(APX_EINVAL, "%s: opts.k = %lld must be in [1, min(d, M) = %lld]", FN,
                        (long long)o->k, (long long)APX__MIN(d, M));
    if (o->n_stage1 < d)
        return apx__err(APX_EINVAL, "%s: opts.n_stage1 = %lld must be >= d = %lld (a least-"
                        "squares fit per source)", FN, (long long)o->n_stage1, (long long)d);
    if (o->n_target < o->k)
        return apx__err(APX_EINVAL, "%s: opts.n_target = %lld must be >= k = %lld", FN,
                        (long long)o->n_target, (long long)o->k);
    if (o->budget < 0)
        return apx__err(APX_EINVAL, "%s: opts.budget = %lld must be >= 0", FN,
                        (long long)o->budget);
    if (!isfinite(o->alpha) || o->alpha < 0)
        return apx__err(APX_EINVAL, "%s: opts.alpha must be finite and >= 0, got %g", FN,
                        o->alpha);
    if (!isfinite(o->tol) || o->tol < 0)
        return apx__err(APX_EINVAL, "%s: opts.tol must be finite and >= 0, got %g", FN, o->tol);
    if (o->rule != APX_MTRL_NU1 && o->rule != APX_MTRL_NU2 && o->rule != APX_MTRL_UNIFORM)
        return apx__err(APX_EINVAL, "%s: opts.rule must be 0 (nu1), 1 (nu2) or 2 (uniform), "
                        "got %d", FN, (int)o->rule);
    return APX_OK;
}

/* ---------------------------------------------------------------- the run's state */

typedef struct {
    int64_t d, M, k, n1, nt;
    apx_mtrl_sampler sample;
    void *ctx;
    double *X1, *y1;   /* (M n1, d), (M n1): stage-1 samples, source by source */
    double *X3, *y3;   /* (budget, d), (budget): stage-3 samples, by source */
    int64_t *alloc;    /* (M) stage-3 samples per source */
    double *X0, *y0;   /* (nt, d), (nt): the target */
    double *A, *b;     /* (n1 + budget, max(d,...)) scratch rows, (n1 + budget) */
    double *Beta;      /* (d, M) scaled per-source solutions */
    double *s, *U, *Vt; /* SVD of Beta: (r), (d,r), (r,M), r = min(d,M) */
    double *B;         /* (d, k) */
    double *W1, *w0;   /* (k, M), (k) */
} mtrl_state;

static apx_status draw(mtrl_state *S, int64_t m, int64_t n, int64_t round, double *X,
                       double *y) {
    if (n == 0) return APX_OK;
    if (S->sample(S->ctx, m, n, round, X, y) != 0)
        return apx__err(APX_ECANCELED, "%s: the sampler stopped the run (task %lld)", FN,
                        (long long)m);
    apx_status st = apx__check_finite_vec(FN, "sampled X", X, n * S->d);
    if (st == APX_OK) st = apx__check_finite_vec(FN, "sampled y", y, n);
    return st;
}

/* x (c) = argmin ||A x - b||, A (n,c) */
static apx_status lstsq(double *A, double *b, int64_t n, int64_t c, double *x) {
    apx_dmat Av = apx_dmat_view(A, n, c), Bv = apx_dmat_view(b, n, 1), Xv = apx_dmat_view(x, c, 1);
    return apx_la_lstsq(Av, Bv, -1.0, Xv, NULL);
}

/* Rows of source m into S->A (N_m, d) and S->b: stage 1, then stage 3 (offset off). */
static int64_t gather_source(mtrl_state *S, int64_t m, int64_t off) {
    int64_t d = S->d, n1 = S->n1, a = S->alloc[m];
    memcpy(S->A, S->X1 + m * n1 * d, sizeof(double) * (size_t)(n1 * d));
    memcpy(S->b, S->y1 + m * n1, sizeof(double) * (size_t)n1);
    if (a > 0) {
        memcpy(S->A + n1 * d, S->X3 + off * d, sizeof(double) * (size_t)(a * d));
        memcpy(S->b + n1, S->y3 + off, sizeof(double) * (size_t)a);
    }
    return n1 + a;
}

/* B (d,k) = top-k left singular vectors of [sqrt(N_m) beta_m]_m (d,M) */
static apx_status estimate_B(mtrl_state *S) {
    int64_t d = S->d, M = S->M, k = S->k, r = APX__MIN(d, M), off = 0;
    for (int64_t m = 0; m < M; m++) {
        int64_t N = gather_source(S, m, off);
        off += S->alloc[m];
        double *x = S->s; /* (>= d) scratch for beta_m */
        APX__TRY(lstsq(S->A, S->b, N, d, x));
        for (int64_t i = 0; i < d; i++) S->Beta[i * M + m] = sqrt((double)N) * x[i];
    }
    apx_dmat U = apx_dmat_view(S->U, d, r), Vt = apx_dmat_view(S->Vt, r, M);
    APX__TRY(apx_la_svd(apx_dmat_view(S->Beta, d, M), S->s, &U, &Vt));
    for (int64_t i = 0; i < d; i++)
        for (int64_t c = 0; c < k; c++) S->B[i * k + c] = S->U[i * r + c];
    return APX_OK;
}

/* head (k) = argmin ||y - X B h||   // (n,k) = (n,d) x (d,k) */
static apx_status fit_head(mtrl_state *S, const double *X, const double *y, int64_t n,
                           double *head) {
    int64_t d = S->d, k = S->k;
    apx_dmat Xv = apx_dmat_view((double *)X, n, d), Bv = apx_dmat_view(S->B, d, k),
             Av = apx_dmat_view(S->A, n, k);
    apx__dgemm(0, 0, 1.0, Xv, Bv, 0.0, Av);
    memcpy(S->b, y, sizeof(double) * (size_t)n);
    return lstsq(S->A, S->b, n, k, head);
}

/* ---------------------------------------------------------------- stages */

static apx_status stage1(mtrl_state *S) {
    int64_t d = S->d, n1 = S->n1;
    for (int64_t m = 0; m < S->M; m++)
        APX__TRY(draw(S, m, n1, 0, S->X1 + m * n1 * d, S->y1 + m * n1));
    APX__TRY(draw(S, S->M, S->nt, 0, S->X0, S->y0));
    APX__TRY(estimate_B(S));
    double *h = S->s; /* (k) scratch */
    for (int64_t m = 0; m < S->M; m++) {
        APX__TRY(fit_head(S, S->X1 + m * n1 * d, S->y1 + m * n1, n1, h));
        for (int64_t c = 0; c < S->k; c++) S->W1[c * S->M + m] = h[c];
    }
    return fit_head(S, S->X0, S->y0, S->nt, S->w0);
}

/* nu: the Lasso on the k rows of W1; nu_l2 = pinv(W1) w0 */
static apx_status stage2(mtrl_state *S, const apx_mtrl_opts *o, double *nu, double *nu_l2,
                         apx_mtrl_info *info) {
    int64_t k = S->k, M = S->M;
    apx_enet_opts eo = apx_enet_opts_default();
    eo.fit_intercept = 0;
    eo.tol = o->tol;
    apx_enet_info ei;
    apx_status st = apx_sparse_lasso(apx_dmat_view(S->W1, k, M), S->w0, o->alpha, &eo, nu,
                                     NULL, &ei);
    if (st != APX_OK) return apx__sparse_rewrap(st, FN, "stage 2");
    info->nnz = ei.nnz;
    info->lasso_gap = ei.gap;
    double *P = S->Vt; /* (M,k) <= (r,M) */
    APX__TRY(apx_la_pinv(apx_dmat_view(S->W1, k, M), -1.0, apx_dmat_view(P, M, k)));
    for (int64_t m = 0; m < M; m++) {
        double v = 0;
        for (int64_t c = 0; c < k; c++) v += P[m * k + c] * S->w0[c];
        nu_l2[m] = v;
    }
    return APX_OK;
}

/* alloc (M) = the budget in proportion to wt (largest remainders, ties to the lower
 * index); all-zero weights: uniform. */
static void allocate(const double *wt, int64_t M, int64_t budget, int64_t *alloc,
                     double *frac) {
    double tot = 0;
    for (int64_t m = 0; m < M; m++) tot += wt[m];
    int64_t used = 0;
    for (int64_t m = 0; m < M; m++) {
        double share = tot > 0 ? (double)budget * wt[m] / tot : (double)budget / (double)M;
        alloc[m] = (int64_t)floor(share);
        frac[m] = share - (double)alloc[m];
        used += alloc[m];
    }
    for (; used < budget; used++) {
        int64_t best = 0;
        for (int64_t m = 1; m < M; m++)
            if (frac[m] > frac[best]) best = m;
        alloc[best]++;
        frac[best] = -1.0;
    }
}

static apx_status stage3(mtrl_state *S, const apx_mtrl_opts *o, const double *nu,
                         const double *nu_l2) {
    int64_t M = S->M, d = S->d, off = 0;
    /* wt, frac (M each): scratch in Beta (d M + 2 M doubles), overwritten by estimate_B */
    double *wt = S->Beta, *frac = S->Beta + M;
    for (int64_t m = 0; m < M; m++)
        wt[m] = o->rule == APX_MTRL_NU1   ? fabs(nu[m])
                : o->rule == APX_MTRL_NU2 ? nu_l2[m] * nu_l2[m]
                                          : 1.0;
    allocate(wt, M, o->budget, S->alloc, frac);
    for (int64_t m = 0; m < M; m++) {
        APX__TRY(draw(S, m, S->alloc[m], 1, S->X3 + off * d, S->y3 + off));
        off += S->alloc[m];
    }
    APX__TRY(estimate_B(S));
    return fit_head(S, S->X0, S->y0, S->nt, S->w0);
}

/* ---------------------------------------------------------------- the entry point */

static apx_status state_alloc(mtrl_state *S, const apx_mtrl_opts *o) {
    int64_t d = S->d, M = S->M, k = S->k, r = APX__MIN(d, M);
    /* the same count in floating point first: the sizes come from the caller, and the
     * int64 products below must not overflow */
    double fd = (double)d + 1, fM = (double)M, fr = (double)r;
    double est = fM * (double)S->n1 * fd + (double)o->budget * fd + (double)S->nt * fd +
                 fmax((double)S->n1 + (double)o->budget, (double)S->nt) * fd + 3 * fd * fM +
                 fd * fr + 2 * fr * fM + 2 * fd * (double)k + 2 * (double)k * fM + fd + 3 * fM;
    if (!(est < 0x1p60))
        return apx__err(APX_ENOMEM, "%s: d = %lld, M = %lld, n_stage1 = %lld, budget = %lld, "
                        "n_target = %lld need about %.3g doubles: too many", FN, (long long)d,
                        (long long)M, (long long)S->n1, (long long)o->budget,
                        (long long)S->nt, est);
    int64_t rows = APX__MAX(S->n1 + o->budget, S->nt);
    size_t total = (size_t)(M * S->n1 * (d + 1) + o->budget * (d + 1) + S->nt * (d + 1) +
                            rows * (d + 1) + d * M + APX__MAX(r, d) + d * r + r * M +
                            APX__MAX(r * M, M * k) + d * k + k * M + k + 2 * M);
    S->X1 = apx__alloc(FN, total, sizeof(double));
    S->alloc = apx__alloc(FN, (size_t)M, sizeof(int64_t));
    if (!S->X1 || !S->alloc) return APX_ENOMEM;
    S->y1 = S->X1 + M * S->n1 * d;
    S->X3 = S->y1 + M * S->n1;
    S->y3 = S->X3 + o->budget * d;
    S->X0 = S->y3 + o->budget;
    S->y0 = S->X0 + S->nt * d;
    S->A = S->y0 + S->nt;
    S->b = S->A + rows * d;
    S->Beta = S->b + rows;
    S->s = S->Beta + d * M + 2 * M;
    S->U = S->s + APX__MAX(r, d);
    S->Vt = S->U + d * r;
    S->B = S->Vt + APX__MAX(r * M, M * k);
    S->W1 = S->B + d * k;
    S->w0 = S->W1 + k * M;
    return APX_OK;
}

static void copy_out(const mtrl_state *S, const apx_mtrl_out *out) {
    int64_t d = S->d, M = S->M, k = S->k;
    if (out->alloc) memcpy(out->alloc, S->alloc, sizeof(int64_t) * (size_t)M);
    if (out->B) memcpy(out->B, S->B, sizeof(double) * (size_t)(d * k));
    if (out->beta0)
        for (int64_t i = 0; i < d; i++) {
            double v = 0;
            for (int64_t c = 0; c < k; c++) v += S->B[i * k + c] * S->w0[c];
            out->beta0[i] = v;
        }
}

apx_status apx_sparse_mtrl(int64_t d, int64_t M, apx_mtrl_sampler sample, void *ctx,
                           const apx_mtrl_opts *opts, const apx_mtrl_out *out,
                           apx_mtrl_info *info) {
    apx_mtrl_opts o = opts ? *opts : apx_mtrl_opts_default();
    if (!sample) return apx__err(APX_EINVAL, "%s: sampler is NULL", FN);
    APX__TRY(check_opts(d, M, &o));
    APX__TRY(apx__blas_ensure(FN));
    mtrl_state S;
    memset(&S, 0, sizeof S);
    S.d = d, S.M = M, S.k = o.k, S.n1 = o.n_stage1, S.nt = o.n_target;
    S.sample = sample, S.ctx = ctx;
    apx_mtrl_info li;
    memset(&li, 0, sizeof li);
    double *nu = apx__alloc(FN, (size_t)(2 * M), sizeof(double));
    apx_status st = nu ? state_alloc(&S, &o) : APX_ENOMEM;
    if (st == APX_OK) li.samples = M * o.n_stage1 + o.budget;
    if (st == APX_OK) st = stage1(&S);
    if (st == APX_OK && out && out->W1) memcpy(out->W1, S.W1, sizeof(double) * (size_t)(o.k * M));
    if (st == APX_OK && out && out->w0_1) memcpy(out->w0_1, S.w0, sizeof(double) * (size_t)o.k);
    if (st == APX_OK) st = stage2(&S, &o, nu, nu + M, &li);
    if (st == APX_OK) st = stage3(&S, &o, nu, nu + M);
    if (st == APX_OK && out) {
        if (out->nu) memcpy(out->nu, nu, sizeof(double) * (size_t)M);
        if (out->nu_l2) memcpy(out->nu_l2, nu + M, sizeof(double) * (size_t)M);
        copy_out(&S, out);
    }
    if (info) *info = li;
    apx_free(nu);
    apx_free(S.X1);
    apx_free(S.alloc);
    return st;
}

/* ---------------------------------------------------------------- the synthetic model */

/* Make nu (support S, signs sg) the unique minimum-l1 representation of W nu with a
 * margin: z = W_S (W_S^T W_S)^{-1} sg; every other head's component along z is clipped
 * so that |w_j^T z| <= 0.7. G: (r,r) scratch, c: (r). */
static apx_status certify(apx_mtrl_synth *s, const int64_t *sup, int64_t r, double *G,
                          double *c, double *z) {
    int64_t k = s->k, M = s->M;
    for (int64_t a = 0; a < r; a++) {
        for (int64_t b = 0; b < r; b++) {
            double v = 0;
            for (int64_t t = 0; t < k; t++) v += s->W[t * M + sup[a]] * s->W[t * M + sup[b]];
            G[a * r + b] = v;
        }
        c[a] = s->nu[sup[a]] > 0 ? 1.0 : -1.0;
    }
    if (apx__small_solve(G, c, r) != 0)
        return apx__err(APX_ENUMERIC, "mtrl_synth: the relevant heads are linearly dependent");
    double zz = 0;
    for (int64_t t = 0; t < k; t++) {
        z[t] = 0;
        for (int64_t a = 0; a < r; a++) z[t] += s->W[t * M + sup[a]] * c[a];
        zz += z[t] * z[t];
    }
    for (int64_t j = 0; j < M; j++) {
        if (s->nu[j] != 0) continue;
        double u = 0;
        for (int64_t t = 0; t < k; t++) u += s->W[t * M + j] * z[t];
        if (fabs(u) <= 0.7) continue;
        double f = ((u > 0 ? 0.7 : -0.7) - u) / zz;
        for (int64_t t = 0; t < k; t++) s->W[t * M + j] += f * z[t];
    }
    return APX_OK;
}

/* Scale the columns of W (k,M) to unit norm. */
static void unit_columns(double *W, int64_t k, int64_t M) {
    for (int64_t m = 0; m < M; m++) {
        double q = 0;
        for (int64_t t = 0; t < k; t++) q += W[t * M + m] * W[t * M + m];
        q = q > 0 ? 1.0 / sqrt(q) : 0.0;
        for (int64_t t = 0; t < k; t++) W[t * M + m] *= q;
    }
}

/* Gram-Schmidt on the columns sup[0..r) of W (k,M) (r <= k; Gaussian columns are
 * independent with probability 1; a dependent one is left as it is). */
static void orthonormalize(double *W, int64_t k, int64_t M, const int64_t *sup, int64_t r) {
    for (int64_t a = 0; a < r; a++) {
        int64_t j = sup[a];
        for (int64_t b = 0; b < a; b++) {
            double d = 0;
            for (int64_t t = 0; t < k; t++) d += W[t * M + j] * W[t * M + sup[b]];
            for (int64_t t = 0; t < k; t++) W[t * M + j] -= d * W[t * M + sup[b]];
        }
        double q = 0;
        for (int64_t t = 0; t < k; t++) q += W[t * M + j] * W[t * M + j];
        if (q > 0)
            for (int64_t t = 0; t < k; t++) W[t * M + j] /= sqrt(q);
    }
}

static apx_status synth_fill(apx_mtrl_synth *s, int64_t relevant) {
    int64_t d = s->d, k = s->k, M = s->M;
    double *buf = apx__alloc("mtrl_synth", (size_t)(d * k + k * k + relevant * relevant + relevant + k),
                             sizeof(double));
    int64_t *sup = apx__alloc("mtrl_synth", (size_t)relevant, sizeof(int64_t));
    apx_status st = buf && sup ? APX_OK : APX_ENOMEM;
    if (st == APX_OK) {
        double *G0 = buf, *R = G0 + d * k, *G = R + k * k, *c = G + relevant * relevant,
               *z = c + relevant;
        apx_rng_fill_normal(s->seed, 0, G0, d * k);
        st = apx_la_qr(apx_dmat_view(G0, d, k), apx_dmat_view(s->B, d, k),
                       apx_dmat_view(R, k, k));
        apx_rng_fill_normal(s->seed, 1, s->W, k * M);
        unit_columns(s->W, k, M);
        apx_rng rng;
        apx_rng_init(&rng, s->seed, 2);
        if (st == APX_OK) st = apx_rng_sample(&rng, M, relevant, sup);
        for (int64_t a = 0; st == APX_OK && a < relevant; a++) {
            double mag = 1.0 + apx_rng_uniform(&rng);
            s->nu[sup[a]] = apx_rng_uniform(&rng) < 0.5 ? -mag : mag;
        }
        if (st == APX_OK) orthonormalize(s->W, k, M, sup, relevant);
        if (st == APX_OK) st = certify(s, sup, relevant, G, c, z);
        for (int64_t t = 0; st == APX_OK && t < k; t++) {
            double v = 0;
            for (int64_t m = 0; m < M; m++) v += s->W[t * M + m] * s->nu[m];
            s->w0[t] = v;
        }
    }
    apx_free(buf);
    apx_free(sup);
    return st;
}

apx_status apx_sparse_mtrl_synth_create(int64_t d, int64_t k, int64_t M, int64_t relevant,
                                        double noise, uint64_t seed, apx_mtrl_synth *s) {
    const char *fn = "mtrl_synth";
    if (!s) return apx__err(APX_EINVAL, "%s: s is NULL", fn);
    memset(s, 0, sizeof *s);
    if (d < 1 || M < 1 || k < 1 || k > d || k > M)
        return apx__err(APX_EINVAL, "%s: need 1 <= k <= min(d, M), got d = %lld, k = %lld, "
                        "M = %lld", fn, (long long)d, (long long)k, (long long)M);
    if (relevant < 1 || relevant > k)
        return apx__err(APX_EINVAL, "%s: relevant = %lld must be in [1, k = %lld]", fn,
                        (long long)relevant, (long long)k);
    if (!isfinite(noise) || noise < 0)
        return apx__err(APX_EINVAL, "%s: noise must be finite and >= 0, got %g", fn, noise);
    if (!((double)d * (double)k + (double)k * (double)M + (double)M < 0x1p60))
        return apx__err(APX_ENOMEM, "%s: d = %lld, k = %lld, M = %lld: the model is too large",
                        fn, (long long)d, (long long)k, (long long)M);
    APX__TRY(apx__blas_ensure(fn));
    s->d = d, s->k = k, s->M = M, s->noise = noise, s->seed = seed;
    s->B = apx__alloc(fn, (size_t)(d * k + k * M + k + M), sizeof(double));
    if (!s->B) return APX_ENOMEM;
    s->W = s->B + d * k;
    s->w0 = s->W + k * M;
    s->nu = s->w0 + k;
    apx_status st = synth_fill(s, relevant);
    if (st != APX_OK) apx_sparse_mtrl_synth_free(s);
    return st;
}

void apx_sparse_mtrl_synth_free(apx_mtrl_synth *s) {
    if (!s) return;
    apx_free(s->B);
    memset(s, 0, sizeof *s);
}

int apx_sparse_mtrl_synth_sample(void *ctx, int64_t m, int64_t n, int64_t draw, double *X,
                                 double *y) {
    const apx_mtrl_synth *s = ctx;
    if (!s || !s->B || m < 0 || m > s->M || n < 0 || draw < 0 || (n > 0 && (!X || !y)))
        return 1;
    int64_t d = s->d, k = s->k, M = s->M;
    uint64_t stream = 16 + ((uint64_t)m << 24) + 2 * (uint64_t)draw;
    apx_rng_fill_normal(s->seed, stream, X, n * d);
    apx_rng_fill_normal(s->seed, stream + 1, y, n);
    for (int64_t i = 0; i < n; i++) {
        double v = s->noise * y[i];
        for (int64_t c = 0; c < k; c++) { // x^T B[:,c] head_c
            double t = 0, h = m < M ? s->W[c * M + m] : s->w0[c];
            for (int64_t j = 0; j < d; j++) t += X[i * d + j] * s->B[j * k + c];
            v += t * h;
        }
        y[i] = v;
    }
    return 0;
}

double apx_sparse_mtrl_synth_risk(const apx_mtrl_synth *s, const double *beta0) {
    if (!s || !s->B || !beta0) return NAN;
    double r = 0;
    for (int64_t j = 0; j < s->d; j++) {
        double t = beta0[j];
        for (int64_t c = 0; c < s->k; c++) t -= s->B[j * s->k + c] * s->w0[c];
        r += t * t;
    }
    return r;
}
