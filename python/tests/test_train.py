"""apx.train, apx.Model, apx.Trainer (python/apx/train.py): a small run end to end, its
files, loading, evaluation (closed form: a zero model predicts 8 bits per byte), generation,
bit-identical resume, and errors. The model itself is compared with PyTorch in
test_train_vs_torch.py."""
import json
import math

import numpy as np
import pytest

import apx
from apx.train import Model, Trainer, train, train_resume

TEXT = ("the cat sat on the mat. dogs bark; birds sing.\n" * 150).encode()


def small(**kw):
    base = dict(layers=1, d_model=16, heads=2, context=16, batch=4, steps=12, eval_every=6,
                eval_tokens=256, log_every=3, lr=3e-3, seed=1)
    base.update(kw)
    return base


@pytest.fixture
def corpus(tmp_path):
    p = tmp_path / "corpus.txt"
    p.write_bytes(TEXT)
    return p


def test_train_writes_run_files_and_learns(tmp_path, corpus):
    out = tmp_path / "run"
    m = train(str(corpus), out, **small(steps=40, eval_every=20))
    r = m.result
    assert r["steps"] == 40 and not r["stopped"] and r["tokens"] == 40 * 4 * 16
    assert r["val_bpb"] == pytest.approx(r["val_loss"] / math.log(2), rel=1e-12)
    assert r["val_bpb"] < 8.0 and r["tokens_per_s"] > 0  # learned something beyond uniform
    for f in ("model.safetensors", "checkpoint.safetensors", "log.jsonl", "loss.svg",
              "summary.json"):
        assert (out / f).exists(), f
    lines = [json.loads(s) for s in (out / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "loss" in x] == list(range(3, 41, 3)) + [40]
    assert [x["step"] for x in lines if "val_loss" in x] == [20, 40]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["val_bpb"] == pytest.approx(r["val_bpb"], rel=1e-5)
    assert (out / "loss.svg").read_text().startswith("<svg")
    loaded = Model.load(out)
    assert loaded.config == m.config and loaded.num_params == m.num_params
    for n, v in m.parameters().items():
        np.testing.assert_array_equal(loaded.parameters()[n], v)


def test_evaluate_closed_form_and_generate():
    zero = Model(layers=1, d_model=8, heads=2, context=8, init_std=0.0)
    e = zero.evaluate(b"hello world, hello!")
    assert e["tokens"] == 18
    assert e["loss"] == pytest.approx(math.log(256), abs=1e-6)
    assert e["bpb"] == pytest.approx(8.0, abs=1e-6)
    m = Model(layers=1, d_model=8, heads=2, context=8, seed=3)
    a = m.generate("abc", 30, seed=4)
    assert a == m.generate("abc", 30, seed=4) and isinstance(a, str)
    assert len(m.generate_bytes(b"abc", 30, seed=4)) == 30
    assert m.generate_bytes("abc", 30, seed=5) != m.generate_bytes("abc", 30, seed=4)
    # greedy decoding (top_k=1) follows the argmax of the logits
    g = m.generate_bytes("abc", 1, top_k=1)
    logits, _ = m.forward(np.frombuffer(b"abc", np.uint8).astype(np.int64)[None, :])
    assert g[0] == int(np.argmax(logits[0, -1]))


def test_resume_is_bit_identical(tmp_path, corpus):
    a = train(str(corpus), tmp_path / "a", **small())
    b = train(str(corpus), tmp_path / "b", **small(stop_at=5))
    assert b.result["stopped"] and b.result["steps"] == 5
    r = train_resume(tmp_path / "b")
    assert r.result["steps"] == 12 and r.result["val_loss"] == a.result["val_loss"]
    for n, v in a.parameters().items():
        np.testing.assert_array_equal(r.parameters()[n], v)


def test_trainer_steps_and_progress_cancel(tmp_path, corpus):
    m = Model(layers=1, d_model=16, heads=2, context=16, seed=0)
    t = Trainer(m, lr=1e-2, grad_clip=0.5)
    ids = np.frombuffer(TEXT[:65], np.uint8).astype(np.int64)
    x, y = ids[:64].reshape(4, 16), ids[1:65].reshape(4, 16)
    first = t.step(x, y)["loss"]
    for _ in range(20):
        last = t.step(x, y)["loss"]
    assert last < first - 1.0  # memorises one batch
    calls = []

    def cancel(fraction, message):
        calls.append(message)
        return len(calls) >= 3

    with pytest.raises(apx.Error) as e:
        train(str(corpus), tmp_path / "c", progress=cancel, **small())
    assert e.value.status == apx.Status.ECANCELED and "step 3/12" in calls[-1]
    assert (tmp_path / "c" / "checkpoint.safetensors").exists()


def test_errors(tmp_path, corpus):
    with pytest.raises(apx.Error) as e:
        train(str(tmp_path / "missing.txt"), None, **small())
    assert e.value.status == apx.Status.EIO and "missing.txt" in e.value.message
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(apx.Error) as e:
        train(str(tmp_path / "empty.txt"), None, **small())
    assert e.value.status == apx.Status.EFORMAT and "empty" in e.value.message
    (tmp_path / "short.txt").write_bytes(b"x" * 40)
    with pytest.raises(apx.Error) as e:
        train(str(tmp_path / "short.txt"), None, **small())
    assert e.value.status == apx.Status.EFORMAT and "context + 1" in e.value.message
    with pytest.raises(apx.Error):
        train(str(corpus), None, **small(norm="groupnorm"))
    with pytest.raises(apx.Error):
        train(str(corpus), None, **small(bogus=1))
    with pytest.raises(apx.Error) as e:
        Model.load(tmp_path / "nothing")
    assert e.value.status == apx.Status.EIO
    with pytest.raises(apx.Error) as e:
        Model(heads=3)  # does not divide d_model 128
    assert "n_head" in e.value.message
    m = Model(layers=1, d_model=8, heads=2, context=8)
    with pytest.raises(apx.Error):
        m.forward(np.full((1, 9), 1))  # longer than the context
    with pytest.raises(apx.Error):
        m.forward(np.full((1, 4), 300))  # not a byte
    with pytest.raises(apx.Error):
        m.generate("", 5)
    with pytest.raises(apx.Error):
        m.generate("a", 5, temperature=0)
    with pytest.raises(apx.Error):
        m.evaluate(b"a")
    with pytest.raises(apx.Error):
        m.set_parameters({"wte": np.zeros((3, 3))})
    with pytest.raises(apx.Error):
        Trainer(m, optimizer="nosuch")
