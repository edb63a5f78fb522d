"""The scripted session: what the agent says and which tool it calls, step by step.

The assistant text is written here (the task and the SEARCH/REPLACE edits
in ``texts/``); everything the tools return is produced for real by
:mod:`.workspace`.  Where the assistant refers to a result
(numbers printed by a command, a failing test), the text is computed from
that real result, and ``expect`` checks that the result is what the script
assumes, so that a change in the environment fails loudly instead of
producing an incoherent trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Union

from . import project_files as pf
from .data import prose

TASK = prose("task.md")

FOLLOWUP_ANSWER = (
    "Lowercase and strip punctuation for --top only. The normal counts should stay exactly like wc, "
    "so I can compare the two."
)


@dataclass
class Outcome:
    """What a tool call produced, as the script's callbacks see it."""

    tool: str
    text: str = ""
    exit_code: int | None = None
    output: str | None = None


@dataclass
class Context:
    """Results of the steps so far, by label."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def output(self, label: str) -> str:
        result = self.outcomes[label].output
        assert result is not None
        return result


Text = Union[str, Callable[[Context], str]]
Args = Union[dict, Callable[[Context], dict]]


@dataclass
class Step:
    thought: Text
    tool: str
    args: Args
    label: str | None = None
    expect: Callable[[Outcome], bool] | None = None
    #: Seconds a human spends before the next request (approval, answer, review).
    human_pause: float = 0.0
    #: For ask_followup_question: the user's answer.
    answer: str | None = None


def _numbers(line: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", line.split("samples/")[0])]


def _wc_vs_ours(ctx: Context) -> str:
    ours = _numbers(ctx.output("first_run").splitlines()[0])
    theirs = _numbers(ctx.output("wc").splitlines()[0])
    return (
        f"wc agrees on {theirs[0]} lines and {theirs[1]} words; its third column is bytes ({theirs[2]}), "
        f"while mine counts characters ({ours[2]}); the difference of {theirs[2] - ours[2]} comes from the two "
        "em dashes, three bytes each in UTF-8. Now I'll check --top and the total line with both sample files."
    )


def _pytest_failed(count: int) -> Callable[[Outcome], bool]:
    return lambda o: o.exit_code == 1 and re.search(rf"\b{count} failed\b", o.output or "") is not None


def _pytest_passed(o: Outcome) -> bool:
    return o.exit_code == 0 and re.search(r"\b\d+ passed\b", o.output or "") is not None and "failed" not in (o.output or "")


def _ok(o: Outcome) -> bool:
    return o.exit_code == 0


def _first_lines(text: str) -> str:
    return text.rstrip("\n")


def _passed(ctx: Context, label: str) -> str:
    match = re.search(r"(\d+) passed", ctx.output(label))
    assert match is not None
    return match.group(1)


STEPS: list[Step] = [
    Step(
        "The repository only has a placeholder README and two sample files. I'll read the README first to see "
        "whether it says anything about the intended tool.",
        "read_file",
        {"path": "README.md"},
    ),
    Step(
        "Nothing beyond a title. Let me look at one of the samples, so I know what kind of text the tool should "
        "handle.",
        "read_file",
        {"path": "samples/poem.txt"},
    ),
    Step(
        "The poem has punctuation and em dashes, so \"word\" needs a definition. wc treats any run of "
        "non-whitespace as a word; for a top-words list that would count \"rain;\" and \"rain.\" separately. "
        "This is a behaviour choice, so I'll ask.",
        "ask_followup_question",
        {
            "question": "How should words be counted? I plan to follow wc for the word count (any run of "
            "non-whitespace is a word). For --top, should words be normalised?",
            "options": [
                "Same as wc everywhere: count tokens exactly as they appear",
                "Lowercase and strip punctuation for --top only",
                "Lowercase and strip punctuation for all counts",
            ],
        },
        answer=FOLLOWUP_ANSWER,
        human_pause=47.3,
    ),
    Step(
        "Clear: wc semantics for the counts, normalised words for --top. I'll start with the project "
        "configuration: a pyproject.toml with the package and the pytest settings.",
        "write_to_file",
        {"path": "pyproject.toml", "content": pf.PYPROJECT},
    ),
    Step(
        "Now the package itself, starting with __init__.py, which holds the version.",
        "write_to_file",
        {"path": "wordstat/__init__.py", "content": pf.PACKAGE_INIT},
    ),
    Step(
        "Next the counting logic as plain functions, separate from the CLI so it is easy to test. Counts is a "
        "small dataclass that can be added up for the total line.",
        "write_to_file",
        {"path": "wordstat/counting.py", "content": pf.COUNTING},
    ),
    Step(
        "Now the command-line interface with argparse: -l, -w and -m select columns like wc, --top N adds the "
        "word list, and standard input is read when no file is given. JSON output comes once the basics work.",
        "write_to_file",
        {"path": "wordstat/cli.py", "content": pf.CLI},
    ),
    Step(
        "A __main__.py makes `python -m wordstat` work.",
        "write_to_file",
        {"path": "wordstat/__main__.py", "content": pf.MAIN_MODULE},
    ),
    Step(
        "The package is complete enough to run. Let me try it on the poem.",
        "execute_command",
        {"command": "python -m wordstat samples/poem.txt", "requires_approval": False},
        label="first_run",
        expect=_ok,
    ),
    Step(
        "It runs. To check the numbers against a trusted tool, I'll run wc on the same file.",
        "execute_command",
        {"command": "wc samples/poem.txt", "requires_approval": False},
        label="wc",
        expect=_ok,
    ),
    Step(
        _wc_vs_ours,
        "execute_command",
        {"command": "python -m wordstat --top 5 samples/poem.txt samples/notes.txt", "requires_approval": False},
        expect=_ok,
    ),
    Step(
        "The total line and the word list look right. Now the tests, starting with the counting functions; they "
        "pin down the wc rules and the normalisation for --top that was agreed, including punctuation such as "
        "the em dash.",
        "write_to_file",
        {"path": "tests/test_counting.py", "content": pf.TEST_COUNTING},
    ),
    Step(
        "And tests for the CLI itself, using tmp_path for input files, capsys for the output and monkeypatch "
        "for standard input.",
        "write_to_file",
        {"path": "tests/test_cli.py", "content": pf.TEST_CLI},
    ),
    Step(
        "Let me run the whole test suite.",
        "execute_command",
        {"command": "python -m pytest", "requires_approval": False},
        label="pytest_first",
        expect=_pytest_failed(1),
    ),
    Step(
        "The em dash survives as a \"word\": string.punctuation only contains ASCII punctuation, so strip() "
        "leaves it alone. Rather than stripping characters, I'll extract words with a Unicode-aware regular "
        "expression that keeps apostrophes inside words.",
        "replace_in_file",
        {
            "path": "wordstat/counting.py",
            "diff": prose("edits/counting_word_regex.txt"),
        },
    ),
    Step(
        "Running the tests again to confirm the fix.",
        "execute_command",
        {"command": "python -m pytest -q", "requires_approval": False},
        expect=_pytest_passed,
    ),
    Step(
        "All green. The user wants to compare with wc, and wc's default third column is bytes, so I'll add "
        "-c/--bytes. I'll also read inputs in binary: text mode turns \\r\\n into \\n, which would make the "
        "character and byte counts of Windows files wrong.",
        "replace_in_file",
        {
            "path": "wordstat/cli.py",
            "diff": prose("edits/cli_bytes_option.txt"),
        },
    ),
    Step(
        "A test for the new option, with a file that has CRLF line endings and a non-ASCII character, so that "
        "lines, characters and bytes all differ from a naive count.",
        "replace_in_file",
        {
            "path": "tests/test_cli.py",
            "diff": prose("edits/test_cli_bytes_option.txt"),
        },
    ),
    Step(
        "Running the suite.",
        "execute_command",
        {"command": "python -m pytest -q", "requires_approval": False},
        label="pytest_stdin",
        expect=_pytest_failed(1),
    ),
    Step(
        "The new test passes, but the stdin test broke: it replaces sys.stdin with a StringIO, which has no "
        "binary .buffer, unlike the real stdin. The code is right; the test double is not realistic, so I'll "
        "give the test a TextIOWrapper over a BytesIO, which behaves like real stdin.",
        "replace_in_file",
        {
            "path": "tests/test_cli.py",
            "diff": prose("edits/test_cli_fake_stdin.txt"),
        },
    ),
    Step(
        "Running the tests again.",
        "execute_command",
        {"command": "python -m pytest -q", "requires_approval": False},
        expect=_pytest_passed,
    ),
    Step(
        "Everything passes. Let me compare with wc on both sample files, with the same columns selected.",
        "execute_command",
        {
            "command": "wc samples/poem.txt samples/notes.txt && python -m wordstat -l -w -c samples/poem.txt samples/notes.txt",
            "requires_approval": False,
        },
        expect=_ok,
    ),
    Step(
        "The numbers match wc exactly, totals included. Before adding --json I'll look at where the CLI "
        "prints, since JSON output needs the results collected first and rendered at the end.",
        "search_files",
        {"path": "wordstat", "regex": r"print\(", "file_pattern": "*.py"},
    ),
    Step(
        "Printing happens inside the counting loop. I'll restructure main() to collect rows first, then render "
        "them either as the text table or as JSON, and add the --json flag.",
        "replace_in_file",
        {
            "path": "wordstat/cli.py",
            "diff": prose("edits/cli_json_output.txt"),
        },
    ),
    Step(
        "Now a test for the JSON output, parsed with json.loads so it does not depend on whitespace.",
        "replace_in_file",
        {
            "path": "tests/test_cli.py",
            "diff": prose("edits/test_cli_json_output.txt"),
        },
    ),
    Step(
        "Running the tests after the refactoring.",
        "execute_command",
        {"command": "python -m pytest -q", "requires_approval": False},
        expect=_pytest_passed,
    ),
    Step(
        "All pass. Let me see the JSON output on a real file.",
        "execute_command",
        {"command": "python -m wordstat --json --top 3 samples/notes.txt", "requires_approval": False},
        label="json_example",
        expect=_ok,
    ),
    Step(
        "The JSON looks good. Now standard input through a real pipe, with combined short options.",
        "execute_command",
        {"command": "printf 'one two\\nthree\\n' | python -m wordstat -lw", "requires_approval": False},
        label="stdin_example",
        expect=_ok,
    ),
    Step(
        "That works too. One case I have not handled yet is a file that does not exist; let me see what happens.",
        "execute_command",
        {"command": "python -m wordstat samples/missing.txt; echo \"exit status: $?\"", "requires_approval": False},
        expect=lambda o: "Traceback" in (o.output or "") and "FileNotFoundError" in (o.output or ""),
    ),
    Step(
        "A raw traceback is not acceptable for a CLI. Like wc, it should report the file on stderr, keep "
        "counting the other files and exit with status 1.",
        "replace_in_file",
        {
            "path": "wordstat/cli.py",
            "diff": prose("edits/cli_missing_file.txt"),
        },
    ),
    Step(
        "And a test for it: a missing file next to a readable one.",
        "replace_in_file",
        {
            "path": "tests/test_cli.py",
            "diff": prose("edits/test_cli_missing_file.txt"),
        },
    ),
    Step(
        "Running the tests.",
        "execute_command",
        {"command": "python -m pytest -q", "requires_approval": False},
        expect=_pytest_passed,
    ),
    Step(
        "Passing. Let me confirm the behaviour from the shell as well, with one missing and one real file.",
        "execute_command",
        {
            "command": "python -m wordstat samples/missing.txt samples/notes.txt; echo \"exit status: $?\"",
            "requires_approval": False,
        },
        expect=lambda o: "No such file or directory" in (o.output or "") and "exit status: 1" in (o.output or ""),
    ),
    Step(
        "Good. The remaining piece is the README. I'll get a real example for it from the sample files.",
        "execute_command",
        {"command": "python -m wordstat --top 3 samples/poem.txt samples/notes.txt", "requires_approval": False},
        label="top_example",
        expect=_ok,
    ),
    Step(
        "And the --help text, so that the options documented in the README match the real ones.",
        "execute_command",
        {"command": "python -m wordstat --help", "requires_approval": False},
        expect=_ok,
    ),
    Step(
        "Now the README, with the outputs pasted from the runs above.",
        "write_to_file",
        lambda ctx: {
            "path": "README.md",
            "content": pf.readme(
                top_example=_first_lines(ctx.output("top_example")),
                stdin_example=_first_lines(ctx.output("stdin_example")),
                json_example=_first_lines(ctx.output("json_example")),
            ),
        },
        human_pause=26.8,
    ),
    Step(
        "The README tells users to run `wordstat` after `pip install -e .`, which needs a console script entry "
        "point. I'll add it to pyproject.toml.",
        "replace_in_file",
        {
            "path": "pyproject.toml",
            "diff": prose("edits/pyproject_console_script.txt"),
        },
    ),
    Step(
        "Let me check the final layout of the project.",
        "list_files",
        {"path": ".", "recursive": True},
    ),
    Step(
        "The layout is as intended. A final verbose test run to see every test by name.",
        "execute_command",
        {"command": "python -m pytest -v", "requires_approval": False},
        label="pytest_final",
        expect=_pytest_passed,
    ),
    Step(
        lambda ctx: (
            f"All {_passed(ctx, 'pytest_final')} tests pass, and the tool "
            "behaves as asked on the samples, on standard input and on missing files. The work is complete."
        ),
        "attempt_completion",
        lambda ctx: {
            "result": "I built `wordstat`, a dependency-free Python CLI that counts lines, words and characters "
            "like `wc`, as a `wordstat` package runnable with `python -m wordstat` (and as a `wordstat` console "
            "script once installed).\n\n"
            "- `-l`, `-w`, `-m` and `-c` select lines, words, characters and bytes; without them lines, words "
            "and characters are shown, with a total line for several files and standard input when no file is "
            "given.\n"
            "- `--top N` lists the most frequent words, case-insensitively and ignoring punctuation, as you "
            "asked; the normal counts follow `wc` exactly and match it on the samples.\n"
            "- `--json` prints the same results as JSON.\n"
            "- Unreadable files are reported on stderr, the other files are still counted, and the exit status "
            "is 1.\n\n"
            f"The {_passed(ctx, 'pytest_final')} pytest tests in `tests/` "
            "all pass (`python -m pytest`), and README.md documents installation, usage with real output, the "
            "counting rules and the test command.",
            "command": "python -m wordstat --top 5 samples/poem.txt samples/notes.txt",
        },
    ),
]
