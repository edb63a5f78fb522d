"""Named models replayer can prepare by itself, into a cache directory.

A scenario's ``server.model`` is either one of these names or a path to a GGUF.
Synthetic models have generated weights: every report must say so.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path


from replayer.errors import InputError, ModelPrepareError
from replayer.models.smollm2 import Progress, prepare_smollm2, sha256_file

# Bump when the generator's output changes, so stale cached files are not reused.
SYNTHETIC_GENERATION = 1
_SYNTH_RE = re.compile(r"^synthetic-(echo|random|deep)(?:-mtp(\d{1,3}))?$")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    synthetic: bool


@dataclass(frozen=True)
class PreparedModel:
    name: str
    path: Path
    sha256: str
    synthetic: bool
    description: str


NAMED: dict[str, ModelInfo] = {
    "smollm2-135m": ModelInfo("smollm2-135m", "SmolLM2-135M-Instruct Q4_1 (real weights, llama arch, no MTP head)", False),
    "synthetic-echo": ModelInfo("synthetic-echo", "synthetic qwen35 + MTP head, echo weights: ~100% draft acceptance", True),
    "synthetic-echo-mtp70": ModelInfo("synthetic-echo-mtp70",
                                      "synthetic qwen35 + MTP head, echo weights, MTP head right for 70% of tokens", True),
    "synthetic-random": ModelInfo("synthetic-random", "synthetic qwen35 + MTP head, random weights: ~0% draft acceptance", True),
    "synthetic-deep-mtp80": ModelInfo("synthetic-deep-mtp80",
                                      "synthetic qwen35, 16-layer f16 trunk (265 MB) + MTP head right for 80% of tokens: "
                                      "MTP faster than no speculation on a CPU", True),
}

# The deep model: a trunk that costs far more per token than the MTP head, as on a real model, so
# that drafting pays on 2 CPU cores (docs/synthetic.md, "A model on which MTP wins on a CPU"): 16
# layers of n_ff 8192 in f16, the head's own embedding table instead of an LM head of its own.
DEEP_GEOMETRY: dict[str, object] = dict(
    n_embd=256, n_layer=16, n_ff=8192, n_head=4, n_head_kv=2, head_dim=64, n_rot=16, rope_sections=(4, 2, 2, 0),
    ssm_state_size=64, ssm_group_count=2, ssm_time_step_rank=4, full_attention_interval=4, layer_type="f16",
    mtp_wrong="embedding",
)


def cache_dir() -> Path:
    if os.environ.get("REPLAYER_CACHE_DIR"):
        return Path(os.environ["REPLAYER_CACHE_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "replayer"


def model_dir() -> Path:
    return cache_dir() / "models"


def describe(name: str) -> ModelInfo:
    if name in NAMED:
        return NAMED[name]
    m = _SYNTH_RE.match(name)
    if m and m.group(1) == "echo" and m.group(2):
        pct = int(m.group(2))
        return ModelInfo(name, f"synthetic qwen35 + MTP head, echo weights, MTP head right for {pct}% of tokens", True)
    if m and m.group(1) == "deep":
        pct = int(m.group(2)) if m.group(2) else 100
        return ModelInfo(name, f"synthetic qwen35, 16-layer f16 trunk + MTP head right for {pct}% of tokens", True)
    raise InputError(f"unknown model {name!r}: expected a path to a .gguf file or one of "
                     f"{', '.join(sorted(NAMED))} (or synthetic-echo-mtpNN for another MTP accuracy)")


def is_named(name: str) -> bool:
    return name in NAMED or bool(_SYNTH_RE.match(name))


def prepare(name_or_path: str, progress: Progress | None = None) -> PreparedModel:
    """Return a ready GGUF: a user's file as is, or a named model prepared into the cache."""
    if not is_named(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise InputError(f"model {name_or_path!r}: expected an existing .gguf file or a named model "
                             f"({', '.join(sorted(NAMED))})")
        _require_gguf(path)
        facts = _cached_facts(path, progress)
        synthetic = facts["synthetic"]
        return PreparedModel(path.name, path.resolve(), facts["sha256"], synthetic,
                             "synthetic weights (replayer generator)" if synthetic else "user model")
    info = describe(name_or_path)
    if name_or_path == "smollm2-135m":
        path = prepare_smollm2(model_dir(), progress)
    else:
        path = _prepare_synthetic(name_or_path, progress)
    return PreparedModel(info.name, path, _cached_facts(path, progress, info.synthetic)["sha256"], info.synthetic,
                         info.description)


def _require_gguf(path: Path) -> None:
    """Refuse a file that is not a GGUF before hashing it or writing facts beside it."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise InputError(f"model {path}: cannot read it: {exc.strerror or exc}") from None
    if magic != b"GGUF":
        raise InputError(f"model {path}: not a GGUF file (it does not start with the GGUF magic); expected a .gguf "
                         "model or a named model")


def _prepare_synthetic(name: str, progress: Progress | None) -> Path:
    from replayer.models.synthetic import SyntheticModelSpec, write_synthetic_model

    m = _SYNTH_RE.match(name)
    assert m is not None
    mode, geometry = (("echo", DEEP_GEOMETRY) if m.group(1) == "deep" else (m.group(1), {}))
    accuracy = int(m.group(2)) / 100 if m.group(2) else None
    if accuracy is not None and not 0 <= accuracy <= 1:
        raise InputError(f"model {name!r}: MTP accuracy must be between 0 and 100")
    dest = model_dir() / f"{name}.g{SYNTHETIC_GENERATION}.gguf"
    if dest.is_file():
        return dest
    tokenizer = prepare_smollm2(model_dir(), progress)
    if progress:
        progress(f"generate {name}", 0, 1)
    partial = dest.with_suffix(".partial")
    try:
        write_synthetic_model(SyntheticModelSpec(mode=mode, mtp_accuracy=accuracy, **geometry),  # type: ignore[arg-type]
                              partial, tokenizer_from=tokenizer)
    except Exception as exc:  # the generator is ours; any failure is a preparation failure with its reason
        partial.unlink(missing_ok=True)
        raise ModelPrepareError(f"cannot generate {name}: {exc}") from exc
    partial.replace(dest)
    if progress:
        progress(f"generate {name}", 1, 1)
    return dest


def _cached_facts(path: Path, progress: Progress | None = None, synthetic: bool | None = None) -> dict:
    """sha256 of a model file and whether its weights are synthetic, remembered beside it
    (keyed by size and mtime): hashing is slow for big models, and reading a GGUF's
    metadata with gguf's reader takes seconds for a 49k vocabulary."""
    stat = path.stat()
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = path.with_name(path.name + ".facts.json")
    try:
        saved = json.loads(sidecar.read_text())
        if saved.get("key") == key and "sha256" in saved and "synthetic" in saved:
            return saved
    except (OSError, ValueError):
        pass
    facts = {"key": key, "sha256": sha256_file(path, progress, f"sha256 {path.name}"),
             "synthetic": _is_synthetic_gguf(path) if synthetic is None else synthetic}
    try:
        sidecar.write_text(json.dumps(facts))
    except OSError:
        pass  # a read-only model directory only costs the work again next time
    return facts


def _is_synthetic_gguf(path: Path) -> bool:
    try:
        from gguf import GGUFReader

        reader = GGUFReader(str(path))
        field = reader.fields.get("replayer.synthetic")
        return bool(field is not None and field.parts[field.data[0]][0])
    except Exception:  # not a readable GGUF: llama-server will say why when it starts
        return False


def list_models() -> list[tuple[ModelInfo, Path | None]]:
    out: list[tuple[ModelInfo, Path | None]] = []
    for name, info in NAMED.items():
        if name == "smollm2-135m":
            p = model_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
        else:
            p = model_dir() / f"{name}.g{SYNTHETIC_GENERATION}.gguf"
        out.append((info, p if p.is_file() else None))
    return out


