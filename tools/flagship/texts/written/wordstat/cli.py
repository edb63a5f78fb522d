"""Command-line interface: ``wordstat [options] [FILE ...]``."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import __version__
from .counting import Counts, count_text, top_words

FIELDS = ("lines", "words", "chars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wordstat",
        description="Count lines, words and characters in text files.",
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="files to read; with no FILE, or when FILE is -, read standard input",
    )
    parser.add_argument("-l", "--lines", action="store_true", help="show the line count")
    parser.add_argument("-w", "--words", action="store_true", help="show the word count")
    parser.add_argument("-m", "--chars", action="store_true", help="show the character count")
    parser.add_argument(
        "--top",
        type=int,
        default=0,
        metavar="N",
        help="also list the N most frequent words",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def selected_fields(args: argparse.Namespace) -> list[str]:
    """Return the counts to show: the ones asked for, or all of them."""
    chosen = [name for name in FIELDS if getattr(args, name)]
    return chosen or list(FIELDS)


def read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def format_row(counts: Counts, fields: Sequence[str], label: str) -> str:
    numbers = " ".join(f"{getattr(counts, name):>7}" for name in fields)
    return f"{numbers} {label}".rstrip()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fields = selected_fields(args)
    paths = args.files or ["-"]

    total = Counts()
    texts = []
    for path in paths:
        text = read_text(path)
        counts = count_text(text)
        total += counts
        texts.append(text)
        print(format_row(counts, fields, "" if path == "-" else path))
    if len(paths) > 1:
        print(format_row(total, fields, "total"))

    if args.top > 0:
        print()
        for word, freq in top_words("\n".join(texts), args.top):
            print(f"{freq:>7} {word}")
    return 0
