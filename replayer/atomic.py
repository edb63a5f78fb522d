"""Files written whole or not at all, and a write the machine refuses said in one line.

A reader (a browser, CI collecting junit.xml, a resumed run) never sees a half-written file:
the text goes to NAME.tmp, which replaces NAME only once complete. When the machine refuses
the write (a full disk, a read-only or vanished directory, no permission, no file descriptor
left), the .tmp is removed and a :class:`~replayer.errors.WriteError` names the file, the
cause and the fix, instead of an OSError traceback.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from replayer.errors import WriteError

_FIXES = {
    errno.ENOSPC: "free space on that disk, or give --out a directory on another",
    errno.EDQUOT: "free space within your quota, or give --out a directory elsewhere",
    errno.EROFS: "the filesystem is read-only: give --out a writable directory",
    errno.EACCES: "give --out a directory you may write to",
    errno.EPERM: "give --out a directory you may write to",
    errno.ENOENT: "its directory was removed while replayer ran",
    errno.EMFILE: "raise the limit of open files (ulimit -n)",
    errno.ENFILE: "the system is out of file descriptors: close other programs",
}


def refused(path: Path, exc: OSError, kept: str = "") -> WriteError:
    """The one line for a write of ``path`` the machine refused (``kept``: what is safe)."""
    cause = exc.strerror or str(exc)
    fix = _FIXES.get(exc.errno or 0)
    return WriteError(f"{path}: cannot write: {cause}" + (f"; {kept}" if kept else "") + (f" ({fix})" if fix else ""))


def write_atomically(path: Path, data: str | bytes) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise refused(path, exc) from None
    return path
