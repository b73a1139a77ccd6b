/* tests/ad/test_ad_check.h: the generic gradient checker of the autodiff tests.
 * A case gives the input shapes, a build function (the op in the engine, float) and a
 * reference forward in double written in the test. adc_run draws inputs (rounded to float
 * so both sides see the same values), checks the forward against the reference, seeds the
 * backward with a random dy and checks every analytic gradient against a central difference
 * of <dy, ref(x)> computed in double (step 1e-5 * max(1, |x|)). Tolerances:
 * |a - r| <= tol * (max|r| + |r|) with tol tied to float precision (forward 1e-5,
 * gradients 1e-4 by default). */
#ifndef APX_TEST_AD_CHECK_H
#define APX_TEST_AD_CHECK_H

#include "../test.h"
#include "apx/ad.h"

#define ADC_MAX_IN 6

/* Return a failing status from a build function. */
#define ADC_TRY(e)                      \
    do {                                \
        apx_status adc_s_ = (e);        \
        if (adc_s_ != APX_OK) return adc_s_; \
    } while (0)

typedef struct adc_case adc_case;
/* y = f(x[0], ..., x[n_in-1]) in double; y has the size of the engine's output. */
typedef void (*adc_ref_fn)(const adc_case *c, double *const *x, double *y);
/* Build the op from the input tensors; set *out. */
typedef apx_status (*adc_build_fn)(const adc_case *c, apx_graph *g, apx_tensor **in,
                                   apx_tensor **out);

struct adc_case {
    const char *name;
    int n_in;
    int ndim[ADC_MAX_IN];
    int64_t shape[ADC_MAX_IN][4];
    int grad[ADC_MAX_IN];    /* 1: check d/d(input); 0: constant input (no grad)   */
    double scale[ADC_MAX_IN];/* inputs ~ scale * N(0,1) + shift (scale 0 means 1)   */
    double shift[ADC_MAX_IN];
    double away;             /* push inputs with |x| < away to +-away (kinks)      */
    adc_ref_fn ref;
    adc_build_fn build;
    const void *ctx;         /* op parameters for ref/build                         */
    double fwd_tol, grad_tol;/* 0: 1e-5 and 1e-4                                     */
    uint64_t seed;
    /* filled by adc_run */
    double fwd_err, grad_err; /* worst error / allowed scale, for reporting           */
    double hvp_tol;           /* 0: 3e-5 (adc_hvp_run)                               */
    double hvp_err;           /* filled by adc_hvp_run                               */
};

/* Run the case; failures are reported with the caller's file and line. */
void adc_run_at(const char *file, int line, adc_case *c);
#define ADC_RUN(c) adc_run_at(__FILE__, __LINE__, (c))

/* The exact Hessian-vector product through the op: the inputs with grad[i] = 1 become
 * parameters, the loss is L = sum(w y + y^2 / 2) (w fixed random), and apx_ad_hvp with
 * APX_HVP_EXACT (which must not fall back) is checked against H v of the same loss on the
 * double reference, by mixed central second differences (step 1e-4: error ~1e-8):
 * max|hv - ref| <= hvp_tol max|ref|. */
void adc_hvp_run_at(const char *file, int line, adc_case *c);
#define ADC_HVP(c) adc_hvp_run_at(__FILE__, __LINE__, (c))

/* A model with an op that has no forward-over-reverse rule: APX_HVP_AUTO falls back to
 * differences (info: not exact, fallback_op = op, order + 1 gradients), APX_HVP_EXACT
 * fails with APX_EINVAL naming op. v, hv: apx_params_size(p) floats. */
void adc_hvp_fallback_at(const char *file, int line, apx_graph *g, apx_params *p,
                         apx_ad_loss_fn f, void *ctx, const float *v, float *hv, const char *op);
#define ADC_HVP_FALLBACK(g, p, f, ctx, v, hv, op) \
    adc_hvp_fallback_at(__FILE__, __LINE__, g, p, f, ctx, v, hv, op)

/* Numbers of elements of input i. */
int64_t adc_size(const adc_case *c, int i);

#endif
