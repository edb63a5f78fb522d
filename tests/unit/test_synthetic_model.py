"""Unit tests for replayer.models.synthetic (no llama-server needed).

The writer copies its tokenizer from a GPT-2/BPE GGUF (e.g. SmolLM2-135M-Instruct); point
``REPLAYER_TEST_TOKENIZER_GGUF`` at one. Tests that need it are skipped when it is unset.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from replayer.models.synthetic import (
    CHAT_TEMPLATE,
    SyntheticModelSpec,
    allowed_token_ids,
    model_name,
    read_tokenizer,
    write_synthetic_model,
)

gguf = pytest.importorskip("gguf")

_ENV = "REPLAYER_TEST_TOKENIZER_GGUF"


@pytest.fixture(scope="module")
def tokenizer_path() -> Path:
    value = os.environ.get(_ENV)
    if not value:
        pytest.skip(f"{_ENV} is not set (path to a GPT-2/BPE tokenizer GGUF, e.g. SmolLM2-135M)")
    path = Path(value)
    if not path.is_file():
        pytest.skip(f"{_ENV}={value} does not exist")
    return path


@pytest.fixture(scope="module")
def models(tokenizer_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("synthetic")
    specs = {
        "echo": SyntheticModelSpec("echo"),
        "echo_again": SyntheticModelSpec("echo"),
        "echo70": SyntheticModelSpec("echo", mtp_accuracy=0.7),
        "random": SyntheticModelSpec("random"),
    }
    paths = {}
    for name, spec in specs.items():
        paths[name] = out / f"{name}.gguf"
        write_synthetic_model(spec, paths[name], tokenizer_path)
    return paths


@pytest.fixture(scope="module")
def readers(models: dict[str, Path]) -> dict[str, Any]:
    return {name: gguf.GGUFReader(models[name]) for name in ("echo", "echo70", "random")}


def _value(reader: Any, key: str) -> Any:
    field = reader.fields[key]
    return field.contents()


# ---------------------------------------------------------------- spec validation (no file)


def test_spec_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        SyntheticModelSpec("bogus")
    with pytest.raises(ValueError):
        SyntheticModelSpec("random", mtp_accuracy=0.5)
    with pytest.raises(ValueError):
        SyntheticModelSpec("echo", mtp_accuracy=1.5)
    with pytest.raises(ValueError):
        SyntheticModelSpec("echo", n_embd=48)  # not a multiple of 32 for q8_0
    with pytest.raises(ValueError):
        SyntheticModelSpec("echo", vocab_type="q4_0")


def test_spec_defaults_and_names() -> None:
    spec = SyntheticModelSpec("echo")
    assert spec.context_length >= 65536
    assert spec.effective_mtp_accuracy == 1.0
    assert [spec.is_recurrent(i) for i in range(3)] == [True, False, False]
    assert model_name(spec) == "replayer-synthetic-echo-mtp1.00"
    assert model_name(SyntheticModelSpec("echo", mtp_accuracy=0.7)) == "replayer-synthetic-echo-mtp0.70"
    assert model_name(SyntheticModelSpec("random")) == "replayer-synthetic-random"


# ---------------------------------------------------------------- written files


def test_deterministic_bytes(models: dict[str, Path]) -> None:
    a = models["echo"].read_bytes()
    assert a == models["echo_again"].read_bytes()
    assert a != models["random"].read_bytes()


def test_file_sizes_small(models: dict[str, Path]) -> None:
    for name in ("echo", "echo70", "random"):
        assert models[name].stat().st_size < 16 * 1024 * 1024, name


def test_metadata(readers: dict[str, Any], tokenizer_path: Path) -> None:
    src_tokens = read_tokenizer(tokenizer_path).n_vocab
    for name, reader in readers.items():
        assert _value(reader, "general.architecture") == "qwen35"
        assert _value(reader, "qwen35.context_length") == 65536
        assert _value(reader, "qwen35.nextn_predict_layers") == 1
        assert _value(reader, "qwen35.block_count") == 3
        assert _value(reader, "qwen35.vocab_size") == src_tokens
        assert list(_value(reader, "qwen35.attention.recurrent_layers")) == [True, False, False]
        assert list(_value(reader, "qwen35.rope.dimension_sections")) == [2, 1, 1, 0]
        assert _value(reader, "replayer.synthetic") is True
        assert _value(reader, "tokenizer.ggml.model") == "gpt2"
        assert len(reader.fields["tokenizer.ggml.tokens"].data) == src_tokens
        assert "tokenizer.ggml.merges" in reader.fields
        assert _value(reader, "tokenizer.chat_template") == CHAT_TEMPLATE
    assert _value(readers["echo"], "replayer.mode") == "echo"
    assert _value(readers["random"], "replayer.mode") == "random"
    assert _value(readers["echo70"], "general.name") == "replayer-synthetic-echo-mtp0.70"
    assert _value(readers["echo70"], "replayer.mtp_accuracy") == pytest.approx(0.7)
    assert _value(readers["echo"], "replayer.mtp_accuracy") == pytest.approx(1.0)


def _expected_tensors(with_mtp_head: bool) -> list[str]:
    names = ["token_embd.weight"]
    names += [f"blk.0.{n}" for n in (
        "attn_norm.weight", "post_attention_norm.weight", "attn_qkv.weight", "attn_gate.weight",
        "ssm_conv1d.weight", "ssm_dt.bias", "ssm_a", "ssm_beta.weight", "ssm_alpha.weight",
        "ssm_norm.weight", "ssm_out.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight",
    )]
    attn = (
        "attn_norm.weight", "post_attention_norm.weight", "attn_q.weight", "attn_k.weight",
        "attn_v.weight", "attn_output.weight", "attn_q_norm.weight", "attn_k_norm.weight",
        "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight",
    )
    names += [f"blk.1.{n}" for n in attn]
    names += [f"blk.2.{n}" for n in attn]
    names += ["blk.2.nextn.eh_proj.weight", "blk.2.nextn.enorm.weight", "blk.2.nextn.hnorm.weight"]
    if with_mtp_head:
        names.append("blk.2.nextn.shared_head_head.weight")
    names += ["output_norm.weight", "output.weight"]
    return names


def test_tensor_list(readers: dict[str, Any]) -> None:
    for name, reader in readers.items():
        tensors = {t.name: t for t in reader.tensors}
        assert list(tensors) == _expected_tensors(with_mtp_head=(name == "echo70")), name
        n_vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
        for vocab_tensor in ("token_embd.weight", "output.weight"):
            t = tensors[vocab_tensor]
            assert t.tensor_type == gguf.GGMLQuantizationType.Q8_0
            assert [int(x) for x in t.shape] == [64, n_vocab]
        assert [int(x) for x in tensors["blk.2.nextn.eh_proj.weight"].shape] == [128, 64]
        assert [int(x) for x in tensors["blk.1.attn_q.weight"].shape] == [64, 128]


def _dequant(reader: Any, name: str) -> np.ndarray:
    t = next(t for t in reader.tensors if t.name == name)
    return gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1, 64)


def test_echo_head_cycles_through_printable_tokens(
    readers: dict[str, Any], tokenizer_path: Path
) -> None:
    """Ignoring the (tiny) layer perturbations, next(x) = argmax(W . norm(E[x])) is a
    deterministic printable token, and the separate MTP head agrees on ~70 % of them."""
    tok = read_tokenizer(tokenizer_path)
    allowed = set(allowed_token_ids(tok).tolist())
    reader = readers["echo70"]
    emb = _dequant(reader, "token_embd.weight")
    head = _dequant(reader, "output.weight")
    mtp = _dequant(reader, "blk.2.nextn.shared_head_head.weight")
    rng = np.random.default_rng(0)
    xs = rng.choice(len(emb), size=1000, replace=False)

    def nxt(w: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = emb[ids] / np.sqrt((emb[ids] ** 2).mean(axis=1, keepdims=True))
        logits = h @ w.T
        top2 = np.sort(logits, axis=1)[:, -2:]
        return logits.argmax(axis=1), top2[:, 1] - top2[:, 0]

    y, margin = nxt(head, xs)
    assert margin.min() > 2.0  # large enough that the layers cannot flip the argmax
    assert set(y.tolist()) <= allowed
    assert len(set(y.tolist())) > 750  # a permutation of the cycle, not a collapse
    assert not ({0, 1, 2} & set(y.tolist()))  # never EOS / control tokens
    # MTP head is evaluated on the token just produced
    y2, _ = nxt(head, y)
    m2, _ = nxt(mtp, y)
    agree = float((y2 == m2).mean())
    assert 0.6 < agree < 0.8

    y_perfect, _ = nxt(_dequant(readers["echo"], "output.weight"), xs)
    assert set(y_perfect.tolist()) <= allowed


def test_random_head_only_printable(readers: dict[str, Any], tokenizer_path: Path) -> None:
    tok = read_tokenizer(tokenizer_path)
    allowed = allowed_token_ids(tok)
    forbidden = np.setdiff1d(np.arange(tok.n_vocab), allowed)
    head = _dequant(readers["random"], "output.weight")
    # forbidden rows push logits down through the always-positive bias channel 0
    assert np.all(head[forbidden, 0] < -10) and np.all(head[forbidden, 1:] == 0)
    assert np.all(head[allowed, 0] == 0)


def test_layer_type_and_a_draft_made_wrong_by_its_own_embedding(tokenizer_path: Path, tmp_path: Path) -> None:
    """The deep model's options: f16 projections, and the MTP block's own input embedding table
    (rows rotated within the wrong share) instead of an LM head of its own."""
    spec = SyntheticModelSpec("echo", mtp_accuracy=0.7, layer_type="f16", mtp_wrong="embedding", n_layer=3)
    path = tmp_path / "deep.gguf"
    write_synthetic_model(spec, path, tokenizer_path)
    reader = gguf.GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    assert "blk.3.nextn.embed_tokens.weight" in tensors and "blk.3.nextn.shared_head_head.weight" not in tensors
    F16, F32 = gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.F32
    assert tensors["blk.1.ffn_up.weight"].tensor_type == F16
    assert tensors["blk.0.ssm_conv1d.weight"].tensor_type == F32  # elementwise in ggml: stays f32
    assert tensors["blk.3.nextn.eh_proj.weight"].tensor_type == F32  # [I | 0] kept exact
    assert tensors["blk.1.attn_norm.weight"].tensor_type == F32
    emb = gguf.quants.dequantize(tensors["token_embd.weight"].data, tensors["token_embd.weight"].tensor_type)
    mtp = gguf.quants.dequantize(tensors["blk.3.nextn.embed_tokens.weight"].data,
                                 tensors["blk.3.nextn.embed_tokens.weight"].tensor_type)
    cycle = allowed_token_ids(read_tokenizer(tokenizer_path))
    moved = np.mean(np.any(emb[cycle] != mtp[cycle], axis=1))
    assert moved == pytest.approx(0.3, abs=0.01)  # the draft is wrong for 30 % of the cycle's tokens
    with pytest.raises(ValueError):
        SyntheticModelSpec("echo", layer_type="q4_0")
    with pytest.raises(ValueError):
        SyntheticModelSpec("echo", mtp_wrong="both")
