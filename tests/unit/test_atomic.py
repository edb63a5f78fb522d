"""A write the machine refuses (a full disk: /dev/full refuses every write with ENOSPC, as a
full filesystem does) is one line naming the file and the fix, leaves no .tmp behind, and
keeps every turn already written."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from replayer.atomic import refused, write_atomically
from replayer.errors import WriteError
from replayer.results import ResultsWriter, read_results

from test_html import build, records

FULL = Path("/dev/full")
pytestmark = pytest.mark.skipif(not FULL.exists(), reason="/dev/full (a device that is always full) is absent")


def test_a_full_disk_leaves_the_old_file_and_no_tmp(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("the last good report")
    (tmp_path / "report.html.tmp").symlink_to(FULL)  # the next write lands on a full device
    with pytest.raises(WriteError) as info:
        write_atomically(target, "<html>" * 1000)
    assert str(info.value) == (f"{target}: cannot write: No space left on device (free space on that disk, or "
                               "give --out a directory on another)")
    assert info.value.exit_code == 1 and "\n" not in str(info.value)
    assert target.read_text() == "the last good report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_results_kept_before_the_disk_filled_are_read_back(tmp_path):
    path = tmp_path / "results.jsonl"
    first, second = records()[:2]
    with ResultsWriter(path) as writer:
        writer.write(first)
    full = ResultsWriter(FULL)
    with pytest.raises(WriteError) as info:
        full.write(second)
    full.close()
    assert "cannot write: No space left on device; the 0 turn(s) before it are kept" in str(info.value)
    assert read_results(path) == [first]


def test_each_refusal_names_its_fix():
    for code, fix in ((errno.EROFS, "read-only"), (errno.EACCES, "you may write to"), (errno.EMFILE, "ulimit -n")):
        said = str(refused(Path("/run/x.json"), OSError(code, "refused")))
        assert said.startswith("/run/x.json: cannot write: refused (") and fix in said


def test_the_cli_says_the_first_refused_write_not_the_summary_that_failed_after_it(tmp_path, capsys):
    from replayer import cli

    run = tmp_path / "run"
    run.mkdir()
    from replayer.results.summary import write_summary

    write_summary(run / "summary.json", build(records()))
    (run / "report.md.tmp").symlink_to(FULL)
    assert cli.main(["report", str(run)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"Error: {run / 'report.md'}: cannot write: No space left on device (free space on that disk, "
                   "or give --out a directory on another)")
    assert not (run / "report.md.tmp").exists()
    try:
        try:
            raise refused(run / "results.jsonl", OSError(errno.ENOSPC, "No space left on device"), "the 6 turn(s) "
                          "before it are kept")
        finally:
            raise refused(run / "summary.json", OSError(errno.ENOSPC, "No space left on device"))
    except WriteError as exc:
        assert "results.jsonl" in str(cli._first_refusal(exc)) and "6 turn(s)" in str(cli._first_refusal(exc))
