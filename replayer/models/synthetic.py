"""Synthetic tiny GGUF models for exercising llama-server's MTP speculative decoding on CPU.

Why this exists: replaying real agent sessions against a real model makes the draft
acceptance rate (and therefore every speculative-decoding figure) depend on the model's
behaviour. To test the replayer and the server's ``--spec-type draft-mtp`` code path in
isolation we need a model that

* uses an architecture whose graph implements the MTP/NextN draft head in llama.cpp
  (``qwen35``: Qwen3.5 dense hybrid, gated-delta-net + gated attention, one NextN block),
* is tiny (a few MB, loads in well under a second, prefill of thousands of tokens is cheap),
* has a draft acceptance rate chosen *by construction*:

  ``random``
      random weights; the MTP head and the trunk disagree almost always (~0 % acceptance).
  ``echo``
      the next token is a fixed function ``f`` of the current token only (a single
      cycle through printable-ASCII vocabulary pieces). The MTP block sees the token that
      was just sampled and predicts ``f`` of it, which is exactly what the trunk produces
      next, so every draft is accepted (100 %).
  ``echo`` with ``mtp_accuracy=P``
      the MTP block gets its own LM head in which the rows of a random (1 - P) share of
      the cycle tokens are rotated among themselves; the draft is wrong exactly when the
      true next token lies in that share, so the per-token draft accuracy is ~P.

* uses a real tokenizer (copied from a GPT-2/BPE style GGUF such as SmolLM2) so prompts
  recorded from real sessions tokenize to realistic lengths, and ships the project's own
  ChatML chat template with Hermes/Qwen style tool calling, so ``/v1/chat/completions``
  with ``tools`` works with a lazy ``<tool_call>`` grammar.

The file is byte-for-byte deterministic for the same :class:`SyntheticModelSpec` and tokenizer
file: all randomness comes from one seeded :class:`numpy.random.Generator`, and metadata
and tensors are written in a fixed order. The metadata marks the weights as synthetic
(``replayer.synthetic = true``, ``replayer.mode``, ``replayer.mtp_accuracy``) so that reports
can say so.

A trick used by both modes: embedding dimension 0 is a constant "bias" channel. Every
token embedding has the value :data:`_BIAS_VALUE` there and every projection that writes
into the residual stream has a zero row 0, so after the final RMS norm channel 0 is always
positive. LM-head rows of tokens that must never be produced (control tokens, EOS, byte
tokens that could form invalid UTF-8, ``<``...) are ``(-_BLOCK_LOGIT, 0, ..., 0)`` and
therefore always get a negative logit, while allowed rows have 0 in channel 0.
"""

from __future__ import annotations

import functools
import math
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHAT_TEMPLATE",
    "SyntheticModelSpec",
    "TokenizerData",
    "allowed_token_ids",
    "model_name",
    "read_tokenizer",
    "write_synthetic_model",
]

ARCH = "qwen35"

# Value of the constant bias channel (embedding dimension 0).
_BIAS_VALUE = 1.0
# How far below zero the LM head pushes forbidden tokens (times the normalised bias channel).
_BLOCK_LOGIT = 30.0
# Echo mode: gain of the LM-head rows (sharpens the softmax; does not change the argmax).
_ECHO_HEAD_GAIN = 4.0
# Echo mode: std of the layer weights; small so the real kernels run but cannot flip the argmax.
_ECHO_LAYER_STD = 0.02
# Random mode: std of the layer weights.
_RANDOM_LAYER_STD = 0.2

# Characters a vocabulary piece may consist of to be producible by the LM head: printable
# ASCII without the characters that start markup the server may react to ('<' could spell
# "<tool_call>" and trigger the lazy tool-call grammar, '{' '}' JSON wrappers), plus 'Ġ', the
# GPT-2 byte-level marker for a space. Pieces of this kind always decode to valid UTF-8.
_ALLOWED_PIECE_RE = re.compile(r"^[\u0120!-;=?-z|~]+$")

_TOKEN_TYPE_NORMAL = 1

# The project's own ChatML template with Hermes/Qwen style tools. Tools are listed in the
# system turn inside <tools></tools>; assistant tool calls are rendered as
# <tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>; tool results go into a user
# turn wrapped in <tool_response></tool_response>. Assistant messages with null content and
# tool_calls render. llama-server's template analyser recognises this as a tagged JSON
# tool-call format and builds a lazy grammar triggered by "<tool_call>".
CHAT_TEMPLATE = (
    "{%- set has_system = messages | length > 0 and messages[0].role == 'system' -%}\n"
    "{%- if tools or has_system -%}\n"
    "{{- '<|im_start|>system\\n' -}}\n"
    "{%- if has_system -%}{{- messages[0].content -}}{%- endif -%}\n"
    "{%- if tools -%}\n"
    "{%- if has_system -%}{{- '\\n\\n' -}}{%- endif -%}\n"
    "{{- '# Tools\\n\\nYou may call the functions described below. "
    "Their signatures are listed inside <tools></tools>:\\n<tools>' -}}\n"
    "{%- for tool in tools -%}{{- '\\n' -}}{{- tool | tojson -}}{%- endfor -%}\n"
    "{{- '\\n</tools>\\n\\nTo call a function, answer with a JSON object holding its name and "
    "arguments inside <tool_call></tool_call> tags:\\n<tool_call>\\n"
    "{\"name\": <function-name>, \"arguments\": <args-json-object>}\\n</tool_call>' -}}\n"
    "{%- endif -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endif -%}\n"
    "{%- for message in messages -%}\n"
    "{%- if message.role == 'system' -%}\n"
    "{%- if not loop.first -%}"
    "{{- '<|im_start|>system\\n' + message.content + '<|im_end|>\\n' -}}"
    "{%- endif -%}\n"
    "{%- elif message.role == 'user' -%}\n"
    "{{- '<|im_start|>user\\n' + message.content + '<|im_end|>\\n' -}}\n"
    "{%- elif message.role == 'assistant' -%}\n"
    "{{- '<|im_start|>assistant' -}}\n"
    "{%- if message.content -%}{{- '\\n' + message.content -}}{%- endif -%}\n"
    "{%- if message.tool_calls -%}\n"
    "{%- for call in message.tool_calls -%}\n"
    "{%- if call.function is defined -%}{%- set fn = call.function -%}"
    "{%- else -%}{%- set fn = call -%}{%- endif -%}\n"
    "{{- '\\n<tool_call>\\n{\"name\": \"' + fn.name + '\", \"arguments\": ' -}}\n"
    "{%- if fn.arguments is string -%}{{- fn.arguments -}}"
    "{%- else -%}{{- fn.arguments | tojson -}}{%- endif -%}\n"
    "{{- '}\\n</tool_call>' -}}\n"
    "{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- elif message.role == 'tool' -%}\n"
    "{%- if loop.first or messages[loop.index0 - 1].role != 'tool' -%}"
    "{{- '<|im_start|>user' -}}"
    "{%- endif -%}\n"
    "{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' -}}\n"
    "{%- if loop.last or messages[loop.index0 + 1].role != 'tool' -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endif -%}\n"
    "{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n"
)


@dataclass(frozen=True)
class SyntheticModelSpec:
    """Everything that determines the synthetic model (together with the tokenizer file).

    The defaults are the geometry of the reference tiny model: 2 trunk layers (layer 0 a
    gated delta net, layer 1 gated full attention) plus one MTP block. Small enough that a
    49k vocabulary dominates the file size and compute stays negligible on 2 CPU cores.
    """

    mode: str
    """``"random"`` (~0 % draft acceptance) or ``"echo"`` (acceptance set by ``mtp_accuracy``)."""
    mtp_accuracy: float | None = None
    """Echo only: share of cycle tokens the MTP head predicts right. ``None`` means 1.0 and
    then no separate MTP head is written (the MTP block shares the trunk's LM head)."""
    context_length: int = 65536
    """Training context written to the GGUF; llama-server caps its slot context at this, and
    real sessions need 30k+ tokens."""
    seed: int = 0
    """Seed of the single numpy Generator all weights come from."""
    n_embd: int = 64
    """Embedding width. Must be a multiple of 32 when ``vocab_type`` is ``q8_0``."""
    n_layer: int = 2
    """Trunk layers (the MTP block comes on top as layer ``n_layer``)."""
    full_attention_interval: int = 2
    """Every ``interval``-th trunk layer is full attention, the others gated delta net."""
    n_head: int = 4
    n_head_kv: int = 2
    head_dim: int = 16
    n_rot: int = 8
    rope_sections: tuple[int, int, int, int] = (2, 1, 1, 0)
    """IMROPE sections; must sum to at most ``n_rot // 2``."""
    rope_freq_base: float = 10000.0
    n_ff: int = 128
    ssm_conv_kernel: int = 4
    ssm_state_size: int = 16
    ssm_group_count: int = 2
    ssm_time_step_rank: int = 4
    rms_norm_eps: float = 1e-6
    vocab_type: str = "q8_0"
    """Storage type of the vocabulary-sized tensors (token_embd, output, MTP head):
    ``q8_0`` (small file) or ``f16``."""
    layer_type: str = "f32"
    """Storage type of the layers' projection matrices: ``f32``, ``f16`` or ``q8_0``. A deep
    trunk in f32 reads four times the bytes per decoded token that q8_0 does; norms, biases
    and the convolution stay f32 whatever this says."""
    mtp_wrong: str = "head"
    """Echo with ``mtp_accuracy`` below 1: how the draft is made wrong for a share of tokens.
    ``head``: the MTP block gets an LM head of its own with rows rotated (one more
    vocabulary-sized matrix read per drafted token); ``embedding``: the MTP block gets its own
    input embedding table with rows rotated (``nextn.embed_tokens``: one row read per drafted
    token) and shares the trunk's LM head, as real MTP heads do."""

    def __post_init__(self) -> None:
        if self.mode not in ("random", "echo"):
            raise ValueError(f"mode must be 'random' or 'echo', got {self.mode!r}")
        if self.mtp_accuracy is not None:
            if self.mode != "echo":
                raise ValueError("mtp_accuracy only applies to mode 'echo'")
            if not 0.0 <= self.mtp_accuracy <= 1.0:
                raise ValueError(f"mtp_accuracy must be in [0, 1], got {self.mtp_accuracy}")
        if self.vocab_type not in ("q8_0", "f16"):
            raise ValueError(f"vocab_type must be 'q8_0' or 'f16', got {self.vocab_type!r}")
        if self.vocab_type == "q8_0" and self.n_embd % 32 != 0:
            raise ValueError("n_embd must be a multiple of 32 for q8_0 vocabulary tensors")
        if self.layer_type not in ("f32", "f16", "q8_0"):
            raise ValueError(f"layer_type must be 'f32', 'f16' or 'q8_0', got {self.layer_type!r}")
        if self.mtp_wrong not in ("head", "embedding"):
            raise ValueError(f"mtp_wrong must be 'head' or 'embedding', got {self.mtp_wrong!r}")
        if self.context_length < 1 or self.n_layer < 1 or self.n_embd < 2:
            raise ValueError("context_length, n_layer must be >= 1 and n_embd >= 2")
        if self.n_head % self.n_head_kv != 0:
            raise ValueError("n_head must be a multiple of n_head_kv")
        if self.n_rot > self.head_dim or self.n_rot % 2 != 0:
            raise ValueError("n_rot must be even and at most head_dim")
        if len(self.rope_sections) != 4 or sum(self.rope_sections) > self.n_rot // 2:
            raise ValueError("rope_sections needs 4 entries summing to at most n_rot // 2")
        if self.ssm_time_step_rank % self.ssm_group_count != 0:
            raise ValueError("ssm_time_step_rank must be a multiple of ssm_group_count")
        if self.full_attention_interval < 1:
            raise ValueError("full_attention_interval must be >= 1")

    @property
    def effective_mtp_accuracy(self) -> float:
        """Designed per-token accuracy of the MTP draft (random mode: 0 by design)."""
        if self.mode == "random":
            return 0.0
        return 1.0 if self.mtp_accuracy is None else float(self.mtp_accuracy)

    @property
    def ssm_inner_size(self) -> int:
        """Value dimension of the gated delta net: state size times value heads."""
        return self.ssm_state_size * self.ssm_time_step_rank

    def is_recurrent(self, layer: int) -> bool:
        """Whether trunk layer ``layer`` is a gated delta net (the MTP block never is)."""
        return layer < self.n_layer and (layer + 1) % self.full_attention_interval != 0


def model_name(spec: SyntheticModelSpec) -> str:
    """``general.name`` of the model, e.g. ``replayer-synthetic-echo-mtp0.70``."""
    if spec.mode == "random":
        return "replayer-synthetic-random"
    return f"replayer-synthetic-echo-mtp{spec.effective_mtp_accuracy:.2f}"


# --------------------------------------------------------------------------------------
# tokenizer


@dataclass(frozen=True)
class TokenizerData:
    """The ``tokenizer.ggml.*`` key/values of a GGUF, in file order, ready to re-write.

    Each entry is ``(key, value, value_type, sub_type)`` with the gguf-py value types, so
    the copy keeps the exact types of the source file.
    """

    entries: tuple[tuple[str, Any, Any, Any], ...]
    tokens: tuple[bytes, ...]
    token_types: tuple[int, ...]

    @property
    def n_vocab(self) -> int:
        return len(self.tokens)


def _field_value(field: Any) -> tuple[Any, Any, Any]:
    """Decode one GGUFReader field into (value, type, sub_type) for GGUFWriter."""
    from gguf import GGUFValueType

    main = field.types[0]
    if main == GGUFValueType.ARRAY:
        sub = field.types[-1]
        if sub == GGUFValueType.STRING:
            value: Any = [bytes(field.parts[i]) for i in field.data]
        else:
            value = [field.parts[i][0].item() for i in field.data]
        return value, main, sub
    if main == GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]), main, None
    return field.parts[field.data[0]][0].item(), main, None


@functools.lru_cache(maxsize=4)
def _read_tokenizer_cached(path: str, size: int, mtime_ns: int) -> TokenizerData:
    from gguf import GGUFReader

    reader = GGUFReader(path, "r")
    entries: list[tuple[str, Any, Any, Any]] = []
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer.ggml."):
            continue  # the chat template(s) are replaced by our own
        value, vtype, sub = _field_value(field)
        entries.append((key, value, vtype, sub))
    by_key = {e[0]: e[1] for e in entries}
    if by_key.get("tokenizer.ggml.model") != b"gpt2":
        raise ValueError(f"{path}: expected a GPT-2/BPE tokenizer (tokenizer.ggml.model = gpt2)")
    if "tokenizer.ggml.merges" not in by_key:
        raise ValueError(f"{path}: BPE tokenizer without tokenizer.ggml.merges")
    tokens = tuple(by_key["tokenizer.ggml.tokens"])
    token_types = tuple(int(t) for t in by_key["tokenizer.ggml.token_type"])
    if len(tokens) != len(token_types):
        raise ValueError(f"{path}: tokens and token_type lengths differ")
    return TokenizerData(entries=tuple(entries), tokens=tokens, token_types=token_types)


def read_tokenizer(tokenizer_from: Path) -> TokenizerData:
    """Read the tokenizer keys of a GGUF with ``gguf.GGUFReader``.

    GGUFReader needs several seconds for a 49k vocabulary, so results are cached per
    (path, size, mtime).
    """
    st = os.stat(tokenizer_from)
    return _read_tokenizer_cached(str(Path(tokenizer_from).resolve()), st.st_size, st.st_mtime_ns)


def allowed_token_ids(tok: TokenizerData) -> npt.NDArray[np.int64]:
    """Ids of the vocabulary pieces the LM head may produce (sorted).

    Normal tokens whose piece is made only of printable ASCII (without ``<``, ``>``, ``{``,
    ``}``) and the GPT-2 space marker ``Ġ``: any sequence of them decodes to valid UTF-8 and
    cannot spell a tool-call or reasoning tag.
    """
    ids = []
    for i, (piece, ttype) in enumerate(zip(tok.tokens, tok.token_types)):
        if ttype != _TOKEN_TYPE_NORMAL:
            continue
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if _ALLOWED_PIECE_RE.match(text):
            ids.append(i)
    if len(ids) < 2:
        raise ValueError("tokenizer has fewer than 2 printable ASCII pieces")
    return np.asarray(ids, dtype=np.int64)


# --------------------------------------------------------------------------------------
# weights


def _unit_rows(rng: np.random.Generator, n: int, dim: int) -> npt.NDArray[np.float32]:
    v = rng.standard_normal((n, dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def _build_vocab_tensors(
    spec: SyntheticModelSpec, rng: np.random.Generator, n_vocab: int, allowed: npt.NDArray[np.int64]
) -> dict[str, npt.NDArray[np.float32]]:
    """token_embd, output and (echo with mtp_accuracy) the MTP head, as (n_vocab, n_embd)."""
    d = spec.n_embd
    emb = np.zeros((n_vocab, d), dtype=np.float32)
    head = np.zeros((n_vocab, d), dtype=np.float32)
    emb[:, 0] = _BIAS_VALUE
    head[:, 0] = -_BLOCK_LOGIT  # forbidden by default
    out: dict[str, npt.NDArray[np.float32]] = {}

    if spec.mode == "random":
        emb[:, 1:] = rng.standard_normal((n_vocab, d - 1), dtype=np.float32)
        head[allowed, 0] = 0.0
        head[allowed, 1:] = rng.standard_normal((len(allowed), d - 1), dtype=np.float32)
        out["token_embd"] = emb
        out["output"] = head
        return out

    # echo: cycle through the allowed tokens in a seeded order; f(cycle[i]) = cycle[i+1].
    cycle = allowed[rng.permutation(len(allowed))]
    nxt = np.roll(cycle, -1)
    scale = math.sqrt(d - 1)  # rms of each embedding row stays ~1
    u = _unit_rows(rng, len(cycle), d - 1)
    emb[cycle, 1:] = scale * u
    # every other token behaves like a random cycle token (so its successor is printable too)
    others = np.setdiff1d(np.arange(n_vocab), cycle)
    alias = rng.integers(0, len(cycle), size=len(others))
    emb[others, 1:] = scale * u[alias]
    # head row of f(x) is the direction of E[x]: by Cauchy-Schwarz the argmax is f(x)
    head[nxt, 0] = 0.0
    head[nxt, 1:] = _ECHO_HEAD_GAIN * u
    out["token_embd"] = emb
    out["output"] = head

    acc = spec.effective_mtp_accuracy
    if acc < 1.0:
        n_wrong = int(round((1.0 - acc) * len(cycle)))
        if n_wrong == 1:
            n_wrong = 2  # a single row cannot be rotated
        wrong = cycle[rng.permutation(len(cycle))[:n_wrong]]
        if spec.mtp_wrong == "embedding":
            # the MTP block reads its own embedding of the token just sampled: rotated within the
            # wrong subset, it predicts f of another token exactly when that token is in the subset
            mtp_embd = emb.copy()
            mtp_embd[wrong] = emb[np.roll(wrong, -1)]
            out["mtp_embd"] = mtp_embd
            return out
        mtp_head = head.copy()
        # rotate the rows within the wrong subset: the MTP head then predicts a different
        # token exactly when the true next token is in the subset
        mtp_head[wrong] = head[np.roll(wrong, -1)]
        out["mtp_head"] = mtp_head
    return out


def _zero_bias_row(w: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Keep the constant bias channel intact: projections into the residual do not write it."""
    w[0, :] = 0.0
    return w


_Tensors = list[tuple[str, npt.NDArray[np.float32]]]
_Normal = Callable[..., npt.NDArray[np.float32]]


def _ones(n: int) -> npt.NDArray[np.float32]:
    return np.ones(n, dtype=np.float32)


def _build_layer_tensors(spec: SyntheticModelSpec, rng: np.random.Generator) -> _Tensors:
    """All per-layer tensors (numpy shapes are (ne1, ne0) of the ggml shapes)."""
    std = _ECHO_LAYER_STD if spec.mode == "echo" else _RANDOM_LAYER_STD

    def normal(*shape: int) -> npt.NDArray[np.float32]:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(std)

    # the helpers draw from rng in tensor order: the order of these calls fixes the weights
    tensors: _Tensors = []
    for il in range(spec.n_layer):
        p = f"blk.{il}"
        tensors += _layer_norms(p, spec)
        tensors += _recurrent_tensors(p, spec, normal) if spec.is_recurrent(il) else _attention_tensors(p, spec, normal)
        tensors += _ffn_tensors(p, spec, normal)
    tensors += _mtp_block_tensors(spec, normal)
    return tensors


def _layer_norms(prefix: str, spec: SyntheticModelSpec) -> _Tensors:
    return [
        (f"{prefix}.attn_norm.weight", _ones(spec.n_embd)),
        (f"{prefix}.post_attention_norm.weight", _ones(spec.n_embd)),
    ]


def _attention_tensors(prefix: str, spec: SyntheticModelSpec, normal: _Normal) -> _Tensors:
    d, hd = spec.n_embd, spec.head_dim
    return [
        (f"{prefix}.attn_q.weight", normal(2 * hd * spec.n_head, d)),
        (f"{prefix}.attn_k.weight", normal(hd * spec.n_head_kv, d)),
        (f"{prefix}.attn_v.weight", normal(hd * spec.n_head_kv, d)),
        (f"{prefix}.attn_output.weight", _zero_bias_row(normal(d, hd * spec.n_head))),
        (f"{prefix}.attn_q_norm.weight", _ones(hd)),
        (f"{prefix}.attn_k_norm.weight", _ones(hd)),
    ]


def _recurrent_tensors(prefix: str, spec: SyntheticModelSpec, normal: _Normal) -> _Tensors:
    """The gated delta net of a recurrent trunk layer."""
    d = spec.n_embd
    key_dim = spec.ssm_state_size * spec.ssm_group_count
    value_dim = spec.ssm_inner_size
    conv_dim = 2 * key_dim + value_dim
    dt_rank = spec.ssm_time_step_rank
    return [
        (f"{prefix}.attn_qkv.weight", normal(conv_dim, d)),
        (f"{prefix}.attn_gate.weight", normal(value_dim, d)),
        (f"{prefix}.ssm_conv1d.weight", normal(conv_dim, spec.ssm_conv_kernel)),
        (f"{prefix}.ssm_dt.bias", np.zeros(dt_rank, dtype=np.float32)),
        # stored as -exp(A_log); A_log = 0 gives a decay rate of 1
        (f"{prefix}.ssm_a", -np.ones(dt_rank, dtype=np.float32)),
        (f"{prefix}.ssm_beta.weight", normal(dt_rank, d)),
        (f"{prefix}.ssm_alpha.weight", normal(dt_rank, d)),
        (f"{prefix}.ssm_norm.weight", _ones(spec.ssm_state_size)),
        (f"{prefix}.ssm_out.weight", _zero_bias_row(normal(d, value_dim))),
    ]


def _ffn_tensors(prefix: str, spec: SyntheticModelSpec, normal: _Normal) -> _Tensors:
    d, ff = spec.n_embd, spec.n_ff
    return [
        (f"{prefix}.ffn_gate.weight", normal(ff, d)),
        (f"{prefix}.ffn_up.weight", normal(ff, d)),
        (f"{prefix}.ffn_down.weight", _zero_bias_row(normal(d, ff))),
    ]


def _mtp_block_tensors(spec: SyntheticModelSpec, normal: _Normal) -> _Tensors:
    """The MTP / NextN block, layer ``n_layer``."""
    d = spec.n_embd
    p = f"blk.{spec.n_layer}"
    tensors = _layer_norms(p, spec) + _attention_tensors(p, spec, normal) + _ffn_tensors(p, spec, normal)
    if spec.mode == "echo":
        # [I | 0]: keep the embedding of the token just sampled, drop the hidden state, so
        # the block predicts f(that token), which is what the trunk produces next.
        eh = np.zeros((d, 2 * d), dtype=np.float32)
        eh[:, :d] = np.eye(d, dtype=np.float32)
    else:
        eh = normal(d, 2 * d)
        eh[0, :] = 0.0
        eh[0, 0] = 1.0  # carry the positive bias channel of the normalised embedding
    tensors.append((f"{p}.nextn.eh_proj.weight", eh))
    tensors.append((f"{p}.nextn.enorm.weight", _ones(d)))
    tensors.append((f"{p}.nextn.hnorm.weight", _ones(d)))
    return tensors


# --------------------------------------------------------------------------------------
# writing


def write_synthetic_model(spec: SyntheticModelSpec, out_path: Path, tokenizer_from: Path) -> None:
    """Write the synthetic ``qwen35`` GGUF described by ``spec`` to ``out_path``.

    ``tokenizer_from`` is a GGUF with a GPT-2/BPE tokenizer (e.g. SmolLM2-135M-Instruct);
    its ``tokenizer.ggml.*`` keys are copied verbatim, its chat template is not (the
    project's own :data:`CHAT_TEMPLATE` is written instead). The output is written to a
    temporary file next to ``out_path`` and renamed, so readers never see a partial file.
    """
    out_path = Path(out_path)
    tok = read_tokenizer(Path(tokenizer_from))
    allowed = allowed_token_ids(tok)
    rng = np.random.default_rng(spec.seed)
    # vocabulary first, then layers: both draw from the one generator, so this order is part of the file
    vocab = _build_vocab_tensors(spec, rng, tok.n_vocab, allowed)
    layers = _build_layer_tensors(spec, rng)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    # a sibling temp file opened by GGUFWriter itself, so it gets the usual umask permissions
    tmp_name = str(out_path.with_name(f".{out_path.name}.{os.getpid()}.{threading.get_ident()}.tmp"))
    try:
        _write_gguf(tmp_name, spec, tok, vocab, layers)
        os.replace(tmp_name, out_path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def _write_gguf(path: str, spec: SyntheticModelSpec, tok: TokenizerData,
                vocab: dict[str, npt.NDArray[np.float32]], layers: _Tensors) -> None:
    """Metadata and tensors in the fixed order that makes the file deterministic."""
    from gguf import GGUFValueType, GGUFWriter

    writer = GGUFWriter(path, ARCH)  # writes general.architecture first
    _add_general_kv(writer, spec)
    _add_arch_kv(writer, spec, tok.n_vocab)
    for key, value, vtype, sub in tok.entries:
        writer.add_key_value(key, value, vtype, sub)
    writer.add_key_value("tokenizer.chat_template", CHAT_TEMPLATE, GGUFValueType.STRING)
    writer.add_key_value("general.quantization_version", 2, GGUFValueType.UINT32)
    _add_tensors(writer, spec, vocab, layers)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _add_general_kv(writer: Any, spec: SyntheticModelSpec) -> None:
    """``general.*`` and the ``replayer.*`` keys that mark the weights as synthetic."""
    from gguf import GGUFValueType

    kv = writer.add_key_value
    U32, F32, STR, BOOL = GGUFValueType.UINT32, GGUFValueType.FLOAT32, GGUFValueType.STRING, GGUFValueType.BOOL
    kv("general.type", "model", STR)
    kv("general.name", model_name(spec), STR)
    kv("general.file_type", 7 if spec.vocab_type == "q8_0" else 1, U32)
    kv("replayer.synthetic", True, BOOL)
    kv("replayer.mode", spec.mode, STR)
    kv("replayer.mtp_accuracy", spec.effective_mtp_accuracy, F32)
    kv("replayer.seed", spec.seed, U32)


def _add_arch_kv(writer: Any, spec: SyntheticModelSpec, n_vocab: int) -> None:
    """The ``qwen35.*`` hyperparameters llama.cpp reads to build the graph."""
    from gguf import GGUFValueType

    kv = writer.add_key_value
    U32, F32, BOOL, ARR, I32 = (GGUFValueType.UINT32, GGUFValueType.FLOAT32, GGUFValueType.BOOL,
                                GGUFValueType.ARRAY, GGUFValueType.INT32)
    n_layer_all = spec.n_layer + 1
    kv(f"{ARCH}.vocab_size", n_vocab, U32)
    kv(f"{ARCH}.context_length", spec.context_length, U32)
    kv(f"{ARCH}.embedding_length", spec.n_embd, U32)
    kv(f"{ARCH}.block_count", n_layer_all, U32)
    kv(f"{ARCH}.nextn_predict_layers", 1, U32)
    kv(f"{ARCH}.feed_forward_length", spec.n_ff, U32)
    kv(f"{ARCH}.attention.head_count", spec.n_head, U32)
    kv(f"{ARCH}.attention.head_count_kv", spec.n_head_kv, U32)
    kv(f"{ARCH}.attention.key_length", spec.head_dim, U32)
    kv(f"{ARCH}.attention.value_length", spec.head_dim, U32)
    kv(f"{ARCH}.attention.layer_norm_rms_epsilon", spec.rms_norm_eps, F32)
    kv(f"{ARCH}.attention.recurrent_layers", [spec.is_recurrent(i) for i in range(n_layer_all)], ARR, BOOL)
    kv(f"{ARCH}.full_attention_interval", spec.full_attention_interval, U32)
    kv(f"{ARCH}.rope.dimension_count", spec.n_rot, U32)
    kv(f"{ARCH}.rope.dimension_sections", list(spec.rope_sections), ARR, I32)
    kv(f"{ARCH}.rope.freq_base", spec.rope_freq_base, F32)
    kv(f"{ARCH}.ssm.conv_kernel", spec.ssm_conv_kernel, U32)
    kv(f"{ARCH}.ssm.inner_size", spec.ssm_inner_size, U32)
    kv(f"{ARCH}.ssm.state_size", spec.ssm_state_size, U32)
    kv(f"{ARCH}.ssm.time_step_rank", spec.ssm_time_step_rank, U32)
    kv(f"{ARCH}.ssm.group_count", spec.ssm_group_count, U32)


def _add_tensors(writer: Any, spec: SyntheticModelSpec, vocab: dict[str, npt.NDArray[np.float32]],
                 layers: _Tensors) -> None:
    from gguf import GGMLQuantizationType
    from gguf.quants import quantize

    vocab_qtype = GGMLQuantizationType.Q8_0 if spec.vocab_type == "q8_0" else GGMLQuantizationType.F16

    def add_vocab(name: str, arr: npt.NDArray[np.float32]) -> None:
        data = quantize(arr, vocab_qtype)
        if vocab_qtype == GGMLQuantizationType.F16:
            writer.add_tensor(name, data)
        else:
            writer.add_tensor(name, data, raw_dtype=vocab_qtype)  # shape from byte shape

    add_vocab("token_embd.weight", vocab["token_embd"])
    for name, arr in layers:
        _add_layer_tensor(writer, spec.layer_type, name, np.ascontiguousarray(arr, dtype=np.float32))
    if "mtp_head" in vocab:
        add_vocab(f"blk.{spec.n_layer}.nextn.shared_head_head.weight", vocab["mtp_head"])
    if "mtp_embd" in vocab:
        add_vocab(f"blk.{spec.n_layer}.nextn.embed_tokens.weight", vocab["mtp_embd"])
    writer.add_tensor("output_norm.weight", np.ones(spec.n_embd, dtype=np.float32))
    add_vocab("output.weight", vocab["output"])


def _add_layer_tensor(writer: Any, layer_type: str, name: str, arr: npt.NDArray[np.float32]) -> None:
    """A projection matrix in the spec's layer type; vectors and the convolution stay f32
    (ggml multiplies them elementwise, where a quantized type is not accepted)."""
    from gguf import GGMLQuantizationType
    from gguf.quants import quantize

    matrix = arr.ndim == 2 and not name.endswith(("ssm_conv1d.weight", "nextn.eh_proj.weight"))
    if layer_type == "f32" or not matrix or arr.shape[1] % 32 != 0:
        writer.add_tensor(name, arr)
    elif layer_type == "f16":
        writer.add_tensor(name, arr.astype(np.float16))
    else:
        writer.add_tensor(name, quantize(arr, GGMLQuantizationType.Q8_0), raw_dtype=GGMLQuantizationType.Q8_0)
