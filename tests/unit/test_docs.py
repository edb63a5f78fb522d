"""docs/architecture.md and docs/api.md name real modules and importable names, so they
cannot silently drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("doc", ["api.md", "architecture.md"])
def test_every_import_in_the_docs_resolves(doc):
    imports = [line.strip() for block in _python_blocks((DOCS / doc).read_text(encoding="utf-8"))
               for line in block.splitlines() if line.startswith(("from replayer", "import replayer"))]
    if doc == "api.md":
        assert len(imports) >= 8
    for line in imports:
        exec(line, {})  # noqa: S102  (our own docs: an ImportError names the stale line)


def test_every_module_the_architecture_names_exists():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    named = {m for line in table for m in re.findall(r"`((?:[a-z_]+/)+(?:[a-z_]+\.py)?)`", line)}
    assert len(named) > 20
    for rel in sorted(named):
        candidates = [ROOT / "replayer" / rel, ROOT / "replayer" / "analysis" / rel]
        assert any(c.exists() for c in candidates), f"docs/architecture.md names {rel}, which does not exist"


def test_the_api_example_uses_the_real_signatures():
    import inspect

    from replayer.api import run_scenario
    from replayer.pipeline.prepare import Overrides

    assert list(inspect.signature(run_scenario).parameters)[:3] == ["scenario", "overrides", "reporter_factory"]
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    listed = text.split("`Overrides` mirrors the command line:")[1].split(".\n")[0]
    fields = re.findall(r"`(\w+)`", listed)
    assert set(fields) == set(Overrides.__dataclass_fields__), fields


def test_every_json_block_in_the_docs_parses():
    import json

    blocks = [(doc.name, block) for doc in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
              for block in re.findall(r"```json\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)]
    assert blocks  # the trace format's turn, at least
    for name, block in blocks:
        try:
            json.loads(block)
        except json.JSONDecodeError as exc:
            pytest.fail(f"{name}: a ```json block that is not JSON ({exc}); a sketch belongs in ```text")


def test_the_trace_formats_example_turn_is_a_valid_turn():
    import json

    from replayer.trace.load import validate_trace_document

    text = (DOCS / "trace-format.md").read_text(encoding="utf-8")
    turn = json.loads(re.findall(r"```json\n(.*?)```", text, flags=re.S)[0])
    doc = json.loads((ROOT / "tests" / "fixtures" / "tiny_trace.json").read_text(encoding="utf-8"))
    while len(doc["conversation"]) < turn["request"]["conversation_prefix"]:
        doc["conversation"].append({"role": "user", "content": "and then?"})
    validate_trace_document({**doc, "turns": [turn]}, "docs/trace-format.md")
