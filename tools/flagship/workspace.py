"""A real, throw-away project directory in which the scripted session runs.

Every tool call of the scripted agent is carried out here for real: files
are written to disk, SEARCH/REPLACE edits are applied (and fail loudly if
they do not match), commands run in ``bash`` with the interpreter that runs
the generator, and a git commit is made after every step that changed the
tree.  What ends up in the trace is the real result, with the few
machine-dependent details (temporary paths, durations, versions, object
addresses) rewritten to fixed values so that the trace is reproducible
byte for byte.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import git

#: Where the project appears to live, in every text the model sees.
PROJECT_DIR = "/home/dev/projects/wordstat"
HOME_DIR = "/home/dev"
SHELL = "/bin/bash"
OS_NAME = "Linux 6.8"

#: Fixed stand-ins for the versions the header lines of pytest report.
PYTEST_PLATFORM_LINE = "platform linux -- Python 3.11.9, pytest-8.3.4, pluggy-1.5.0"
PYTHON_PATH_SHOWN = "/home/dev/.venvs/wordstat/bin/python"

GIT_NAME = "Dana Whitfield"
GIT_EMAIL = "dana@example.invalid"

#: Directories list_files and search_files leave out.
_SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", ".venv", "node_modules", ".mypy_cache"}

#: Environment variables of the calling process that must not leak into the
#: commands the session runs (they would change what pytest or Python print).
_SCRUBBED_PREFIXES = ("PYTEST_", "PYTHON", "PY_", "GIT_", "COV_", "VIRTUAL_ENV")
_SCRUBBED_NAMES = {"COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TERM", "CI"}


class ScriptError(RuntimeError):
    """The scripted session and the real world disagree (a bug in the script)."""


@dataclass
class CommandResult:
    command: str
    exit_code: int
    output: str


def _epoch_git_date(moment: datetime) -> str:
    return f"{int(moment.timestamp())} +0000"


def parse_search_replace(diff: str) -> list[tuple[str, str]]:
    """Split a replace_in_file ``diff`` into (search, replace) pairs."""
    blocks: list[tuple[str, str]] = []
    lines = diff.split("\n")
    i = 0
    while i < len(lines):
        if lines[i] != "<<<<<<< SEARCH":
            if lines[i].strip():
                raise ScriptError(f"text outside a SEARCH/REPLACE block: {lines[i]!r}")
            i += 1
            continue
        i += 1
        search: list[str] = []
        while i < len(lines) and lines[i] != "=======":
            search.append(lines[i])
            i += 1
        i += 1
        replace: list[str] = []
        while i < len(lines) and lines[i] != ">>>>>>> REPLACE":
            replace.append(lines[i])
            i += 1
        if i >= len(lines):
            raise ScriptError("unterminated SEARCH/REPLACE block")
        i += 1
        blocks.append(("\n".join(search), "\n".join(replace)))
    if not blocks:
        raise ScriptError("diff without SEARCH/REPLACE blocks")
    return blocks


def apply_search_replace(content: str, diff: str) -> str:
    """Apply the blocks in order; each replaces the first match after the previous one."""
    position = 0
    for search, replace in parse_search_replace(diff):
        # Blocks are whole lines: match them with their line ending.
        needle = search + "\n" if search else ""
        found = content.find(needle, position)
        if not search or found < 0:
            raise ScriptError(f"SEARCH block does not match:\n{search}")
        replacement = replace + "\n" if replace else ""
        content = content[:found] + replacement + content[found + len(needle):]
        position = found + len(replacement)
    return content


class Workspace:
    """The temporary git repository plus the tool implementations."""

    def __init__(self) -> None:
        self._base = Path(tempfile.mkdtemp(prefix="replayer-flagship-"))
        self.root = self._base / "wordstat"
        self.root.mkdir()
        self._pytest_root = self._base / "pytest-tmp"
        self._pytest_root.mkdir()
        shim_dir = self._base / "bin"
        shim_dir.mkdir()
        shim = shim_dir / "python"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        self._env = self._command_env(shim_dir)
        self._git_env = {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_DIR": str(self.root / ".git"),
            "GIT_WORK_TREE": str(self.root),
            "GIT_INDEX_FILE": str(self.root / ".git" / "index"),
            "GIT_AUTHOR_NAME": GIT_NAME,
            "GIT_AUTHOR_EMAIL": GIT_EMAIL,
            "GIT_COMMITTER_NAME": GIT_NAME,
            "GIT_COMMITTER_EMAIL": GIT_EMAIL,
            "GIT_TERMINAL_PROMPT": "0",
        }
        self.repo: git.Repo | None = None
        self._address_map: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        shutil.rmtree(self._base, ignore_errors=True)

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _command_env(self, shim_dir: Path) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(_SCRUBBED_PREFIXES) and key not in _SCRUBBED_NAMES
        }
        env.update(
            {
                "PATH": f"{shim_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
                "LANG": "C.UTF-8",
                "LC_ALL": "C.UTF-8",
                "COLUMNS": "80",
                "LINES": "40",
                "TERM": "dumb",
                "NO_COLOR": "1",
                "PY_COLORS": "0",
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONHASHSEED": "0",
                "PYTHONIOENCODING": "utf-8",
                "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                "PYTEST_DEBUG_TEMPROOT": str(self._pytest_root),
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_CONFIG_NOSYSTEM": "1",
            }
        )
        return env

    # -- git -----------------------------------------------------------------

    def init_repo(self, files: dict[str, str], message: str, when: datetime) -> str:
        for path, content in files.items():
            self._write(path, content)
        # The explicit environment keeps a GIT_DIR or GIT_INDEX_FILE of the
        # calling process (a git hook, say) from redirecting any git command.
        self.repo = git.Repo.init(self.root, initial_branch="main", env=self._git_env)
        self.repo.git.update_environment(**self._git_env)
        return self.commit(message, when)

    def is_dirty(self) -> bool:
        assert self.repo is not None
        return self.repo.is_dirty(untracked_files=True)

    def commit(self, message: str, when: datetime) -> str:
        assert self.repo is not None
        self.repo.git.add("-A")
        date = _epoch_git_date(when)
        self.repo.git.commit(
            "-q",
            "--no-verify",
            "-m",
            message,
            env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        )
        return self.head()

    def head(self) -> str:
        assert self.repo is not None
        return self.repo.head.commit.hexsha

    # -- files ---------------------------------------------------------------

    def _resolve(self, path: str) -> Path:
        target = (self.root / path).resolve()
        if target != self.root.resolve() and self.root.resolve() not in target.parents:
            raise ScriptError(f"path outside the project: {path}")
        return target

    def _write(self, path: str, content: str) -> None:
        target = self._resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)

    def read(self, path: str) -> str:
        with open(self._resolve(path), encoding="utf-8", newline="") as handle:
            return handle.read()

    def write_file(self, path: str, content: str) -> str:
        self._write(path, content)
        return self.read(path)

    def replace_in_file(self, path: str, diff: str) -> str:
        updated = apply_search_replace(self.read(path), diff)
        self._write(path, updated)
        return self.read(path)

    def _walk(self, start: Path) -> list[tuple[str, bool]]:
        """All entries below ``start`` as (relative posix path, is_dir), sorted like a tree."""
        entries: list[tuple[str, bool]] = []

        def visit(directory: Path) -> None:
            children = sorted(directory.iterdir(), key=lambda p: p.name)
            for child in children:
                if child.is_dir():
                    if child.name in _SKIPPED_DIRS:
                        continue
                    entries.append((child.relative_to(self.root).as_posix(), True))
                    visit(child)
                else:
                    entries.append((child.relative_to(self.root).as_posix(), False))

        visit(start)
        return entries

    def list_files(self, path: str, recursive: bool) -> list[str]:
        start = self._resolve(path)
        lines = []
        for rel, is_dir in self._walk(start):
            shown = os.path.relpath(self.root / rel, start) if path not in (".", "") else rel
            if not recursive and "/" in shown:
                continue
            lines.append(shown + "/" if is_dir else shown)
        return lines

    def search_files(self, path: str, regex: str, file_pattern: str | None) -> tuple[int, str]:
        """Search like ripgrep with two lines of context; returns (match count, text)."""
        pattern = re.compile(regex)
        start = self._resolve(path)
        count = 0
        sections: list[str] = []
        for rel, is_dir in self._walk(start):
            if is_dir or (file_pattern and not fnmatch.fnmatch(rel.rsplit("/", 1)[-1], file_pattern)):
                continue
            lines = self.read(rel).split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            hits = [i for i, line in enumerate(lines) if pattern.search(line)]
            if not hits:
                continue
            count += len(hits)
            # Merge overlapping context windows, as ripgrep does.
            groups: list[list[int]] = []
            for i in hits:
                lo, hi = max(0, i - 2), min(len(lines) - 1, i + 2)
                if groups and lo <= groups[-1][1] + 1:
                    groups[-1][1] = hi
                else:
                    groups.append([lo, hi])
            parts = [rel]
            for lo, hi in groups:
                parts.append("│----")
                parts.extend(f"│{lines[j]}" for j in range(lo, hi + 1))
            parts.append("│----")
            sections.append("\n".join(parts))
        return count, "\n\n".join(sections)

    # -- commands --------------------------------------------------------------

    def run(self, command: str, *, step: int) -> CommandResult:
        proc = subprocess.run(
            [SHELL, "-c", command],
            cwd=self.root,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
        )
        output = proc.stdout.decode("utf-8", errors="replace")
        return CommandResult(command, proc.returncode, self.normalise(output, step=step))

    def normalise(self, text: str, *, step: int) -> str:
        """Rewrite the machine-dependent parts of command output to fixed values."""
        for real in {str(self.root), os.path.realpath(self.root)}:
            text = text.replace(real, PROJECT_DIR)
        for real in {str(self._pytest_root), os.path.realpath(self._pytest_root)}:
            text = text.replace(real, "/tmp")
        text = re.sub(r"/tmp/pytest-of-[^/\s]+/", "/tmp/pytest-of-dev/", text)
        text = re.sub(r"^platform .*? -- Python \S+, pytest-\S+, pluggy-\S+(?P<exe> -- \S+)?$",
                      lambda m: PYTEST_PLATFORM_LINE + (f" -- {PYTHON_PATH_SHOWN}" if m.group("exe") else ""),
                      text, flags=re.M)
        text = re.sub(r"^plugins: .*\n", "", text, flags=re.M)
        for real in {sys.executable, os.path.realpath(sys.executable)}:
            text = text.replace(real, PYTHON_PATH_SHOWN)

        # pytest's summary line: "==== 3 passed in 0.05s ====".  The duration
        # is replaced by a plausible value derived from the step number.
        def duration(match: re.Match[str]) -> str:
            digest = hashlib.sha256(f"pytest-duration:{step}".encode()).digest()
            fake = 0.04 + (digest[0] % 17) / 100
            # Same width as any real duration under 10 s, so the ==== line keeps its length.
            return f" in {fake:.2f}s"
        text = re.sub(r" in \d+\.\d\ds(?= =+$| \(|$)", duration, text, flags=re.M)

        # Object addresses in reprs ("object at 0x7f..."), stable per value.
        def address(match: re.Match[str]) -> str:
            real = match.group(0)
            if real not in self._address_map:
                digest = hashlib.sha256(f"addr:{len(self._address_map)}".encode()).hexdigest()
                self._address_map[real] = "0x7f" + digest[:10]
            return self._address_map[real]
        text = re.sub(r"0x[0-9a-f]{8,16}", address, text)
        return text
