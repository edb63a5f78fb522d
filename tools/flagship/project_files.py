"""Files of the ``wordstat`` project: the starting repository and what the agent writes.

Their content lives, as real files, in ``texts/base/`` (the repository as the
user hands it over) and ``texts/written/`` (what the agent writes).  The
agent's edits to existing files are SEARCH/REPLACE diffs in ``texts/edits/``,
named by ``script.py``; they are applied to these files for real, so a diff
that does not match fails the generator.
"""

from __future__ import annotations

from .data import exact

# -- the repository as the user hands it over (the base commit) --------------

BASE_FILES = {
    path: exact(f"base/{path}")
    for path in (".gitignore", "README.md", "samples/notes.txt", "samples/poem.txt")
}

# -- files the agent creates ---------------------------------------------------

PYPROJECT = exact("written/pyproject.toml")
PACKAGE_INIT = exact("written/wordstat/__init__.py")
MAIN_MODULE = exact("written/wordstat/__main__.py")
COUNTING = exact("written/wordstat/counting.py")
CLI = exact("written/wordstat/cli.py")
TEST_COUNTING = exact("written/tests/test_counting.py")
TEST_CLI = exact("written/tests/test_cli.py")


def readme(*, top_example: str, stdin_example: str, json_example: str) -> str:
    """The README the agent writes, with outputs it has really seen pasted in."""
    return exact("written/README.md.in").format(
        top_example=top_example, stdin_example=stdin_example, json_example=json_example
    )
