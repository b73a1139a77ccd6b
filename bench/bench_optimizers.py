"""bench/bench_optimizers.py: every optimizer kind of `apx optim --list` training the main
job's model, compared at a fixed token budget and at a fixed wall-clock budget.

    python bench/bench_optimizers.py [--quick] [--seeds 3] [--steps 600] [--seconds S]
                                     [--sweep] [--threads 2] [--corpus FILE] [--out DIR]

Model: the main job's (scripts/main_job.sh): 4 layers, d_model 128, 4 heads, context 128,
batch 8, cosine schedule with 5% warm-up, gradient clipping at 1, weight decay 0.1 on the
matrices (for the kinds that have one), on the fortunes corpus (or --corpus). Each kind
trains `--steps` steps (the token budget = steps x batch x context) for each seed, through
`apx train --optimizer KIND` (the CLI, so every kind is exercised end to end), validating
every `--eval-every` steps (eval_tokens 8192). Read from each run's log.jsonl:
  * the validation loss at the token budget (the last evaluation);
  * the validation loss at the wall-clock budget (`--seconds`, default: 60% of the median
    training time of AdamW's runs): the last evaluation whose training time (the
    "elapsed" of the log line at that step; evaluation excluded) is within the budget.
Learning rates: each kind's documented default (the "lr" setting of `apx optim --list`),
except AdamW's, which takes the main job's 0.002; --sweep instead picks, per kind, the best
of default x --sweep-factors (default 1/3, 1, 3) on seed 0 after --sweep-steps steps
(default: the token budget); the table says which was used, the JSON keeps every trial.
AdAdaGrad ("adadagrad") grows its batch: every run gets `apx train --max-tokens` = the token
budget, so it ends (with a final evaluation) after the step at which it has seen the budget,
in fewer steps than the others (its schedule still spans --steps).
--merge FILE adds the kinds of an earlier run's JSON (same model and budget) to the table
(the wall-clock budget is then taken from the merged AdamW runs unless --seconds is given).
Kinds that need extra inputs get them from the training loop (include/apx/train.h): MKOR
the layer statistics, Sophia a Gauss-Newton-Bartlett estimate every 10 steps.
Results: bench/results/optimizers.json and bench/results/optimizers.svg (--quick: in
$TMPDIR/apx-bench-quick/), and a markdown table on stdout. --quick: a tiny model, 1 seed,
a few steps: shows that the script works, measures nothing.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "python"))
sys.path.insert(0, str(HERE))

FORTUNES = Path("/usr/share/games/fortunes")
MAIN_MODEL = ["--layers", "4", "--d-model", "128", "--heads", "4", "--context", "128",
              "--batch", "8"]
QUICK_MODEL = ["--layers", "1", "--d-model", "32", "--heads", "2", "--context", "32",
               "--batch", "4"]
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
          "#7b4173", "#3182bd"]


def build_corpus(path):
    """The main job's corpus: the plain-text fortune files, concatenated in name order."""
    with open(path, "wb") as out:
        for f in sorted(FORTUNES.iterdir()):
            if f.is_file() and not f.is_symlink() and f.suffix != ".dat":
                data = f.read_bytes()
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                out.write(data)
    return path


def kinds_and_lrs():
    from apx import optim
    out = {}
    for k in optim.kinds():
        out[k["name"]] = next(s["default"] for s in k["settings"] if s["name"] == "lr")
    out["adamw"] = 0.002  # the main job's rate
    return out


def read_log(path):
    """(val points [(step, loss)], elapsed by step) from a run's log.jsonl."""
    vals, elapsed = [], {}
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            if "val_loss" in d:
                vals.append((d["step"], d["val_loss"]))
            elif "elapsed" in d:
                elapsed[d["step"]] = d["elapsed"]
    return vals, elapsed


def nominal_tokens(model, steps):
    """The token budget: steps x batch x context of the model flags."""
    f = dict(zip(model[::2], model[1::2]))
    return steps * int(f["--batch"]) * int(f["--context"])


def train(apx, corpus, kind, lr, seed, a, model, work):
    run = work / f"{kind}-{seed}-{lr:g}"
    shutil.rmtree(run, ignore_errors=True)
    cmd = [apx, "train", "--corpus", str(corpus), "--out", str(run), *model,
           "--steps", str(a.steps), "--eval-every", str(a.eval_every), "--log-every",
           str(a.eval_every), "--eval-tokens", str(a.eval_tokens), "--optimizer", kind,
           "--lr", repr(lr), "--seed", str(seed), "--threads", str(a.threads),
           "--max-tokens", str(nominal_tokens(model, a.steps)), "--json", "-q"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        return {"kind": kind, "seed": seed, "lr": lr, "error": p.stderr.strip()[-400:]}
    summary = json.loads(p.stdout)
    vals, elapsed = read_log(run / "log.jsonl")
    res = {"kind": kind, "seed": seed, "lr": lr, "wall_s": wall,
           "train_s": max(elapsed.values()) if elapsed else None,
           "tokens_per_step": summary["tokens"] // max(summary["steps"], 1),
           "tokens": summary["tokens"],
           "val": [(s, v, elapsed.get(s)) for s, v in vals],
           "val_loss_tokens": vals[-1][1] if vals else None}
    if not a.keep:
        shutil.rmtree(run, ignore_errors=True)
    return res


def loss_at_time(run, seconds):
    best = None
    for step, v, el in run["val"]:
        if el is not None and el <= seconds:
            best = v
    return best


def svg_plot(path, series, xlabel, ylabel, title):
    """A line plot of series {label: [(x, y)]} (no matplotlib)."""
    W, H, L, R, T, B = 760, 460, 70, 190, 40, 50
    pts = [p for s in series.values() for p in s if p[1] is not None]
    if not pts:
        return
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    sx = lambda x: L + (x - x0) / (x1 - x0) * (W - L - R)
    sy = lambda y: H - B - (y - y0) / (y1 - y0) * (H - T - B)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
           f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">{xlabel}</text>',
           f'<text x="16" y="{(T + H - B) / 2}" text-anchor="middle" '
           f'transform="rotate(-90 16 {(T + H - B) / 2})">{ylabel}</text>']
    for i in range(5):
        yv, xv = y0 + (y1 - y0) * i / 4, x0 + (x1 - x0) * i / 4
        out.append(f'<text x="{L - 6}" y="{sy(yv) + 4:.1f}" text-anchor="end">{yv:.3g}</text>')
        out.append(f'<text x="{sx(xv):.1f}" y="{H - B + 16}" text-anchor="middle">{xv:.3g}</text>')
    for i, (label, s) in enumerate(series.items()):
        c = COLORS[i % len(COLORS)]
        line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s if y is not None)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{line}"/>')
        ly = T + 14 * i
        out.append(f'<line x1="{W - R + 10}" y1="{ly}" x2="{W - R + 30}" y2="{ly}" '
                   f'stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{W - R + 35}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")


def mean_curve(runs):
    """Mean validation loss over seeds at each evaluated token count."""
    by = {}
    for r in runs:
        for step, v, _ in r["val"]:
            by.setdefault(step * r["tokens_per_step"], []).append(v)
    return [(x, statistics.mean(v)) for x, v in sorted(by.items())]


def markdown(res):
    """The table of a result (also used by bench/run.py for bench/RESULTS.md)."""
    sec = res["time_budget_s"]
    sw = res.get("sweep")
    out = [f"Model {' '.join(res['model'])}; token budget {res['tokens']} "
           f"({res['steps']} steps), {res['seeds']} seeds, {res['threads']} thread(s); "
           f"wall-clock budget {sec:.1f} s of training (60% of AdamW's median time)."]
    if sw:
        out.append(f"Learning rates: per kind the best of its default x {sw['factors']} "
                   f"after {sw['steps']} steps on seed 0 (all trials in the JSON).")
    out += ["", f"| optimizer | lr (from) | val loss at {res['tokens']} tokens (mean ± sd) | "
            f"val loss at {sec:.1f} s | train s | tokens seen |", "|---|---|---|---|---|---|"]
    fmt = lambda v: "—" if v is None else f"{v:.4f}"
    for r in res["rows"]:
        out.append(f"| {r['kind']} | {r['lr']:g} ({r['lr_from']}) | {fmt(r['val_at_tokens'])} ± "
                   f"{r['val_at_tokens_sd']:.4f} | {fmt(r['val_at_time'])} | "
                   f"{fmt(r['train_s'])} | {r['tokens'] or 0:.0f} |" +
                   (f" error: {r['errors'][0]}" if r["errors"] else ""))
    for col, what in (("val_at_tokens", f"the token budget ({res['tokens']} tokens)"),
                      ("val_at_time", f"the wall-clock budget ({sec:.1f} s)")):
        ok = sorted((r for r in res["rows"] if r[col] is not None), key=lambda r: r[col])
        if len(ok) >= 2:
            a, b = ok[0], ok[1]
            out.append(f"\nAt {what} **{a['kind']}** wins: validation loss {a[col]:.4f} "
                       f"nats/byte, {b[col] - a[col]:.4f} ({100 * (b[col] - a[col]) / b[col]:.1f}%)"
                       f" below the next, {b['kind']} ({b[col]:.4f}).")
    edge = [r["kind"] for r in res["rows"] if sw and r["lr_from"] == "sweep" and
            any(abs(r["lr"] - lr) < 1e-12 * lr for lr, _ in sw["trials"].get(r["kind"], [])[-1:])]
    if edge:
        out.append(f"\nThe largest rate of the sweep was the best for {', '.join(edge)}: their "
                   "optimum may lie above it, so their losses are upper bounds of what they reach.")
    out.append("\n![validation loss against training tokens, mean of the seeds]"
               "(results/optimizers.svg)")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--eval-tokens", type=int, default=8192)
    p.add_argument("--seconds", type=float, default=0.0)
    p.add_argument("--sweep", action="store_true")
    p.add_argument("--sweep-steps", type=int, default=0,
                   help="steps of each sweep run (default: --steps)")
    p.add_argument("--sweep-factors", default="0.3333333333333333,1,3",
                   help="multiples of the default lr tried by --sweep")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--corpus")
    p.add_argument("--kinds", help="comma-separated subset of the kinds")
    p.add_argument("--apx", default=str(REPO / "build" / "apx"))
    p.add_argument("--out")
    p.add_argument("--keep", action="store_true", help="keep the run folders")
    p.add_argument("--merge", action="append", default=[],
                   help="an earlier optimizers.json whose kinds join the table")
    a = p.parse_args()
    model = MAIN_MODEL
    if a.quick:
        a.seeds, a.steps, a.eval_every, a.eval_tokens, model = 1, 4, 2, 512, QUICK_MODEL
    out_dir = Path(a.out or (Path(tempfile.gettempdir()) / "apx-bench-quick" if a.quick
                             else HERE / "results"))
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="apx-bench-optim-"))
    corpus = Path(a.corpus) if a.corpus else build_corpus(work / "corpus.txt")
    lrs = kinds_and_lrs()
    kinds = a.kinds.split(",") if a.kinds else list(lrs)
    chosen, runs, sweeps = {}, [], {}
    for path in a.merge:
        old = json.loads(Path(path).read_text())
        if old["model"] != model or old["steps"] != a.steps:
            sys.exit(f"--merge {path}: another model or step count")
        for r in old["rows"]:
            if r["kind"] not in kinds:
                chosen[r["kind"]] = (r["lr"], r["lr_from"])
        runs += [r for r in old["runs"] if r["kind"] not in kinds]
        sweeps.update({k: v for k, v in ((old.get("sweep") or {}).get("trials") or {}).items()
                       if k not in kinds})
    merged_kinds = list(dict.fromkeys(k for k in chosen))
    for k in kinds:
        if k in merged_kinds:
            continue
        lr, how = lrs[k], "default"
        if a.sweep and not a.quick:
            sa = argparse.Namespace(**{**vars(a), "steps": a.sweep_steps or a.steps})
            trials = [train(a.apx, corpus, k, lr * float(f), 0, sa, model, work)
                      for f in a.sweep_factors.split(",")]
            sweeps[k] = [(t["lr"], t.get("val_loss_tokens")) for t in trials]
            ok = [t for t in trials if t.get("val_loss_tokens") is not None]
            if ok:
                lr, how = min(ok, key=lambda t: t["val_loss_tokens"])["lr"], "sweep"
        chosen[k] = (lr, how)
        for seed in range(a.seeds):
            r = train(a.apx, corpus, k, lr, seed, a, model, work)
            runs.append(r)
            print(f"{k} seed {seed} lr {lr:g}: " + (r.get("error") or
                  f"val {r['val_loss_tokens']:.4f} in {r['train_s']:.1f} s"), file=sys.stderr)
    adam_t = [r["train_s"] for r in runs if r["kind"] == "adamw" and r.get("train_s")]
    seconds = a.seconds or (0.6 * statistics.median(adam_t) if adam_t else 0.0)
    rows = []
    kinds = merged_kinds + [k for k in kinds if k not in merged_kinds]
    for k in kinds:
        ks = [r for r in runs if r["kind"] == k and "error" not in r]
        tok = [r["val_loss_tokens"] for r in ks if r["val_loss_tokens"] is not None]
        tim = [v for v in (loss_at_time(r, seconds) for r in ks) if v is not None]
        rows.append({"kind": k, "lr": chosen[k][0], "lr_from": chosen[k][1], "runs": len(ks),
                     "errors": [r["error"] for r in runs if r["kind"] == k and "error" in r],
                     "val_at_tokens": statistics.mean(tok) if tok else None,
                     "val_at_tokens_sd": statistics.stdev(tok) if len(tok) > 1 else 0.0,
                     "val_at_time": statistics.mean(tim) if tim else None,
                     "tokens": statistics.mean([r["tokens"] for r in ks]) if ks else None,
                     "train_s": statistics.mean([r["train_s"] for r in ks]) if ks else None})
    rows.sort(key=lambda r: (r["val_at_tokens"] is None, r["val_at_tokens"] or 0))
    from bench_common import environment
    res = {"benchmark": "optimizers", "quick": a.quick, "model": model, "steps": a.steps,
           "seeds": a.seeds, "tokens": runs[0].get("tokens_per_step", 0) * a.steps if runs else 0,
           "time_budget_s": seconds, "threads": a.threads, "corpus": str(corpus),
           "environment": environment({}), "rows": rows, "runs": runs,
           "sweep": {"steps": a.sweep_steps or a.steps, "factors": a.sweep_factors,
                     "trials": sweeps} if a.sweep else None}
    (out_dir / "optimizers.json").write_text(json.dumps(res, indent=1) + "\n")
    curves = {k: mean_curve([r for r in runs if r["kind"] == k and "error" not in r])
              for k in kinds}
    svg_plot(out_dir / "optimizers.svg", curves, "training tokens",
             "validation loss (nats/byte)", f"apx train: every optimizer ({a.seeds} seeds)")
    print(markdown(res))
    print(f"\nwrote {out_dir / 'optimizers.json'} and {out_dir / 'optimizers.svg'}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
