"""``python -m tools.flagship [--out PATH] [--check] [--repo DIR]``, from the repository root."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import build_trace, render

DEFAULT_OUT = Path("traces") / "cli_tool.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.flagship",
        description="Regenerate the flagship trace traces/cli_tool.json.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write the trace (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the file at --out differs from a fresh generation",
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=None,
        metavar="DIR",
        help="also keep the session's git repository (the commits the trace names) in DIR, which must not exist",
    )
    args = parser.parse_args(argv)
    if args.repo is not None and args.repo.exists():
        parser.error(f"--repo {args.repo}: already exists")

    text = render(build_trace(repo_out=args.repo) if args.repo is not None else build_trace())
    if args.check:
        try:
            current = args.out.read_text(encoding="utf-8")
        except FileNotFoundError:
            print(f"{args.out}: missing", file=sys.stderr)
            return 1
        if current != text:
            print(f"{args.out}: out of date; regenerate with python -m tools.flagship", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return 0

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
