/* attention_ref.c: the plain reference of attention's forward-over-reverse rule (exact
 * Hessian-vector products), the oracle of the tiled kernels in attention.c. One query row at
 * a time in double: S_ij = scale q_i.k_j (j <= i when causal), P = softmax_j(S),
 * tS = scale (tq_i.k_j + q_i.tk_j), tP = P (tS - mu), mu_i = sum_j P_ij tS_ij,
 * O = P v, tO = tP v + P tv; for the backward, dP = dO v^T, D = rowsum(dO O),
 * dS = P (dP - D), and the tangents tdP = tdO v^T + dO tv^T, tD = rowsum(tdO O + dO tO),
 * tdS = tP (dP - D) + P (tdP - tD), tgv = tP^T dO + P^T tdO, tgq = scale (tdS k + dS tk),
 * tgk = scale (tdS^T q + dS^T tq). */
#include <math.h>

#include "ad_internal.h"

typedef struct {
    double *p, *tp, *ds, *tds; /* (Tk) rows          */
    double *o, *to;            /* (Dv)               */
    double *gk, *gv;           /* (Tk, Dk), (Tk, Dv) */
} ref_ws;

static double dot_f(int64_t n, const float *a, const float *b) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Pointers of head h of batch b in a (B, T, H*D) tensor: row t at base + t * H * D. */
static const float *head_of(const float *x, int64_t b, int64_t h, int64_t T, int64_t H,
                            int64_t D) {
    return x + b * T * H * D + h * D;
}

// p, tp (n) = softmax of scale q.k_j over the n visible keys and its tangent; o, to (Dv)
static void ref_row_fwd(const apx__attn_rop_in *a, const float *const hp[6], int64_t i,
                        int64_t n, ref_ws *w) {
    int64_t ck = a->H * a->Dk, cv = a->H * a->Dv;
    const float *q = hp[0] + i * ck, *tq = hp[3] + i * ck;
    double mx = -INFINITY, sum = 0, mu = 0;
    for (int64_t j = 0; j < n; j++) {
        w->p[j] = a->scale * dot_f(a->Dk, q, hp[1] + j * ck);
        w->tp[j] = a->scale * (dot_f(a->Dk, tq, hp[1] + j * ck) + dot_f(a->Dk, q, hp[4] + j * ck));
        mx = fmax(mx, w->p[j]);
    }
    for (int64_t j = 0; j < n; j++) sum += (w->p[j] = exp(w->p[j] - mx));
    for (int64_t j = 0; j < n; j++) mu += (w->p[j] /= sum) * w->tp[j];
    for (int64_t d = 0; d < a->Dv; d++) w->o[d] = w->to[d] = 0;
    for (int64_t j = 0; j < n; j++) {
        w->tp[j] = w->p[j] * (w->tp[j] - mu);
        for (int64_t d = 0; d < a->Dv; d++) {
            w->o[d] += w->p[j] * hp[2][j * cv + d];
            w->to[d] += w->tp[j] * hp[2][j * cv + d] + w->p[j] * hp[5][j * cv + d];
        }
    }
}

// one query row of the R-backward: tgq row i, and adds to w->gk, w->gv
static void ref_row_bwd(const apx__attn_rop_in *a, const float *const hp[6], const float *dO,
                        const float *tdO, int64_t i, int64_t n, ref_ws *w, float *tgq) {
    int64_t ck = a->H * a->Dk, cv = a->H * a->Dv, Dk = a->Dk, Dv = a->Dv;
    double D = 0, tD = 0;
    for (int64_t d = 0; d < Dv; d++) {
        D += dO[d] * w->o[d];
        tD += tdO[d] * w->o[d] + dO[d] * w->to[d];
    }
    for (int64_t j = 0; j < n; j++) {
        const float *v = hp[2] + j * cv, *tv = hp[5] + j * cv;
        double dp = dot_f(Dv, dO, v), tdp = dot_f(Dv, tdO, v) + dot_f(Dv, dO, tv);
        w->ds[j] = w->p[j] * (dp - D);
        w->tds[j] = w->tp[j] * (dp - D) + w->p[j] * (tdp - tD);
        for (int64_t d = 0; d < Dv; d++) w->gv[j * Dv + d] += w->tp[j] * dO[d] + w->p[j] * tdO[d];
    }
    const float *q = hp[0] + i * ck, *tq = hp[3] + i * ck;
    for (int64_t d = 0; d < Dk; d++) {
        double s = 0;
        for (int64_t j = 0; j < n; j++)
            s += w->tds[j] * hp[1][j * ck + d] + w->ds[j] * hp[4][j * ck + d];
        tgq[d] = (float)(a->scale * s);
        for (int64_t j = 0; j < n; j++)
            w->gk[j * Dk + d] += a->scale * (w->tds[j] * q[d] + w->ds[j] * tq[d]);
    }
}

// head (b, h): tO and the gradient tangents
static void ref_head(const apx__attn_rop_in *a, int64_t b, int64_t h, ref_ws *w, float *tO,
                     float *tgq, float *tgk, float *tgv) {
    int64_t Tq = a->Tq, Tk = a->Tk, H = a->H, Dk = a->Dk, Dv = a->Dv, cv = H * Dv;
    const float *hp[6] = {head_of(a->q, b, h, Tq, H, Dk), head_of(a->k, b, h, Tk, H, Dk),
                          head_of(a->v, b, h, Tk, H, Dv), head_of(a->tq, b, h, Tq, H, Dk),
                          head_of(a->tk, b, h, Tk, H, Dk), head_of(a->tv, b, h, Tk, H, Dv)};
    const float *dO = head_of(a->dO, b, h, Tq, H, Dv), *tdO = head_of(a->tdO, b, h, Tq, H, Dv);
    int64_t oq = b * Tq * H * Dk + h * Dk, ov = b * Tq * cv + h * Dv;
    for (int64_t j = 0; j < Tk * Dk; j++) w->gk[j] = 0;
    for (int64_t j = 0; j < Tk * Dv; j++) w->gv[j] = 0;
    for (int64_t i = 0; i < Tq; i++) {
        int64_t n = a->causal ? APX__MIN(i + 1, Tk) : Tk;
        ref_row_fwd(a, hp, i, n, w);
        for (int64_t d = 0; d < Dv; d++) tO[ov + i * cv + d] = (float)w->to[d];
        ref_row_bwd(a, hp, dO + i * cv, tdO + i * cv, i, n, w, tgq + oq + i * H * Dk);
    }
    for (int64_t j = 0; j < Tk; j++) {
        for (int64_t d = 0; d < Dk; d++)
            tgk[b * Tk * H * Dk + j * H * Dk + h * Dk + d] = (float)w->gk[j * Dk + d];
        for (int64_t d = 0; d < Dv; d++) tgv[b * Tk * cv + j * cv + h * Dv + d] = (float)w->gv[j * Dv + d];
    }
}

apx_status apx__attention_rop_ref(const apx__attn_rop_in *a, float *tO, float *tgq, float *tgk,
                                  float *tgv) {
    int64_t Tk = a->Tk;
    size_t n = (size_t)(4 * Tk + 2 * a->Dv + Tk * a->Dk + Tk * a->Dv);
    double *buf = apx__alloc("attention_rop_ref", n, sizeof(double));
    if (!buf) return APX_ENOMEM;
    ref_ws w = {buf, buf + Tk, buf + 2 * Tk, buf + 3 * Tk, buf + 4 * Tk, buf + 4 * Tk + a->Dv,
                buf + 4 * Tk + 2 * a->Dv, buf + 4 * Tk + 2 * a->Dv + Tk * a->Dk};
    for (int64_t b = 0; b < a->B; b++)
        for (int64_t h = 0; h < a->H; h++) ref_head(a, b, h, &w, tO, tgq, tgk, tgv);
    apx_free(buf);
    return APX_OK;
}
