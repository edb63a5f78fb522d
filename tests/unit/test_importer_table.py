"""Every importer is in the one static table and has the protocol's names and signatures."""

import inspect
from pathlib import Path

from replayer.sources import importers
from replayer.sources.importers import IMPORTERS, formats


def test_every_importer_module_in_the_folder_is_in_the_table():
    folder = Path(importers.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_") and p.stem != "base"}
    assert modules == {m.__name__.rsplit(".", 1)[1] for m in IMPORTERS}


def test_each_importer_has_the_protocol():
    for mod in IMPORTERS:
        assert isinstance(mod.NAME, str) and isinstance(mod.READS_FOLDERS, bool), mod.__name__
        assert list(inspect.signature(mod.detect).parameters) == ["path", "head"], mod.__name__
        assert list(inspect.signature(mod.load).parameters) == ["path", "options"], mod.__name__
    assert len(formats()) == len(IMPORTERS)  # names are unique
