/* kinds.c: the table of optimizer kinds. Adding a kind: write its impl (settings table,
 * check, init, step) in its own file, declare it in optim_internal.h, list it here. */
#include "optim_internal.h"

static const apx__optim_impl *const table[] = {
    &apx__optim_sgd,
    &apx__optim_adamw,
    &apx__optim_lion,
    &apx__optim_adagrad,
    &apx__optim_adagrad_norm,
    &apx__optim_adadagrad,
    &apx__optim_muon,
    &apx__optim_sophia,
    &apx__optim_nlrgd,
    &apx__optim_galore,
    &apx__optim_fira,
    &apx__optim_mfac,
    &apx__optim_mkor,
    &apx__optim_gradnormlorp,
};

int apx__optim_impl_count(void) { return (int)(sizeof table / sizeof table[0]); }

const apx__optim_impl *apx__optim_impl_at(int i) {
    return i >= 0 && i < apx__optim_impl_count() ? table[i] : NULL;
}
