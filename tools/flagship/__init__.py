"""Generator of the flagship trace ``traces/cli_tool.json``.

A scripted Cline-style coding session (native tool calls) in which an agent
builds ``wordstat``, a small Python command-line tool with tests.  The
session really runs: files are written to a temporary git repository,
commands and pytest really execute, and every step that changes the tree is
committed with fixed identities and dates, so regenerating gives a
byte-identical trace.

It is a development tool of this repository, not part of the installed
``replayer`` package, and needs the ``test`` extra (it runs pytest).  Run
``python -m tools.flagship [--out PATH] [--check] [--repo DIR]`` from the
repository root.  The long texts are files under ``texts/`` (see
:mod:`.data`).
"""

from .build import build_trace, render

__all__ = ["build_trace", "render"]
