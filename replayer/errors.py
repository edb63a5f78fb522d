"""The one exception family of replayer.

    ReplayerError                 exit code 1 unless a subclass says otherwise
    ├── InputError                bad user input: exit code 2, one located line
    │   ├── TraceError            FILE: $.json.path: what was expected
    │   ├── ScenarioError         FILE:LINE: what was expected
    │   └── SweepError            sweep.PATH: what was expected (scenario/sweep.py; the loader locates it by line)
    ├── ServerStartError          a managed llama-server did not become healthy (log tail attached)
    ├── SpecNotLiveError          the "on" arm did not speculate, or the "off" arm did
    ├── ModelPrepareError         a model could not be prepared (download, checksum, generation)
    ├── WriteError                the machine refused a write (full disk, read-only, permissions): exit 1, one line
    ├── UnitFailed                a Ray unit that cannot run on its node (missing binary or model): not retried
    ├── NodeMismatch              Ray nodes whose servers differ in build or model: their pairs cannot be pooled
    └── RunFailed                 a distributed run that could not go on (no cluster, every retry spent)

The CLI prints ``Error: <str(exc)>`` to stderr and exits with ``exc.exit_code``;
no traceback is shown for any of these. An InputError is always one printable line:
the user's own text in it (a key with a line break, a file name that is not UTF-8)
is escaped, never printed raw.
"""

from __future__ import annotations

import re


class ReplayerError(Exception):
    exit_code = 1


# What would break the line or cannot be written to a UTF-8 terminal: line breaks (every
# character str.splitlines splits on), other control characters, and lone surrogates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    """``text`` with every character that is not printable on one line written as its escape."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class InputError(ReplayerError):
    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(one_line(str(message)))


class TraceError(InputError):
    def __init__(self, path: str, location: str, message: str) -> None:
        self.path, self.location, self.message = str(path), location, message
        super().__init__(f"{path}: {location}: {message}" if location else f"{path}: {message}")


class ScenarioError(InputError):
    def __init__(self, path: str, location: str, message: str) -> None:
        self.path, self.location, self.message = str(path), location, message
        super().__init__(f"{path}:{location}: {message}" if location else f"{path}: {message}")


class ServerStartError(ReplayerError):
    def __init__(self, message: str, log_tail: str = "") -> None:
        self.log_tail = log_tail
        text = message
        if log_tail:
            text += "\n--- last lines of the server log ---\n" + log_tail
        super().__init__(text)


class SpecNotLiveError(ReplayerError):
    pass


class ModelPrepareError(ReplayerError):
    pass


class WriteError(ReplayerError):
    """A file the machine would not let replayer write; finished turns already on disk stay."""


class UnitFailed(ReplayerError):
    """A unit that cannot run on its node (a missing binary or model, a bad plan): not retried."""


class NodeMismatch(ReplayerError):
    """Nodes whose servers are not the same build or model: their pairs cannot be pooled."""


class RunFailed(ReplayerError):
    """A distributed run that cannot go on."""
