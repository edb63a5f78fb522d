"""Synthetic text of a chosen token length and kind, deterministic from a seed.

Three kinds, because draft acceptance depends on content: ``random`` (uniform token
ids: nothing to predict), ``prose`` (sentences from a small Zipf-weighted vocabulary)
and ``code`` (Python-like functions with repeated identifiers and idioms, the kind
of text speculative decoding predicts best). Lengths are cut in token space with
the tokenizer given (a server's /tokenize and /detokenize, or a stand-in), so a
prompt of N tokens is N tokens for the model that reads it, give or take the one or
two tokens re-tokenization may merge at the cut.
"""

from __future__ import annotations

import random
from typing import Callable, Protocol

KINDS = ("random", "prose", "code")


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...
    @property
    def vocab_size(self) -> int: ...


_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will more out up into do about than "
    "them can only other time new some could these two may first then any like my now over such our man me even "
    "most made after also did many before must through back years where much your way well down should because "
    "each just those people how too little state good very make world still own see men work long get here "
    "between both life being under never day same another know while last might us great old year off come "
    "since against go came right used take three system server model request cache token prompt branch commit"
).split()
_IDENTS = ("value", "items", "result", "path", "name", "count", "index", "config", "data", "text", "line", "key",
           "node", "parent", "child", "total", "buffer", "offset", "size", "limit", "request", "response")
_FUNCS = ("parse", "load", "save", "render", "update", "compute", "build", "check", "merge", "split", "read",
          "write", "format", "resolve", "collect")


def prose(rng: random.Random, approx_words: int) -> str:
    weights = [1.0 / (i + 1) for i in range(len(_WORDS))]  # Zipf: a few words dominate, as in English
    out: list[str] = []
    while len(out) < approx_words:
        sentence = rng.choices(_WORDS, weights, k=rng.randint(6, 18))
        sentence[0] = sentence[0].capitalize()
        out.append(" ".join(sentence) + rng.choice((".", ".", ".", ",", ";", "?")))
        if rng.random() < 0.12:
            out.append("\n\n")
    return " ".join(out).replace(" \n\n ", "\n\n")


def code(rng: random.Random, approx_lines: int) -> str:
    lines: list[str] = []
    while len(lines) < approx_lines:
        fn, arg, other = rng.choice(_FUNCS), rng.choice(_IDENTS), rng.choice(_IDENTS)
        name = f"{fn}_{arg}"
        lines += [f"def {name}({arg}, {other}=None):",
                  f'    """{fn.capitalize()} the {arg} with the given {other}."""',
                  f"    {'result'} = []"]
        for _ in range(rng.randint(1, 4)):
            a, b = rng.choice(_IDENTS), rng.choice(_IDENTS)
            lines += rng.choice((
                [f"    for {a} in {arg}:", f"        if {a} is not None:", f"            result.append({a})"],
                [f"    if {other} is None:", f"        {other} = {{}}", f"    {b} = {other}.get({a!r}, 0)"],
                [f"    {a} = len({arg}) + {rng.randint(0, 9)}", f"    result.append({a})"],
                [f"    with open({b}) as f:", f"        {a} = f.read().splitlines()"],
            ))
        lines += ["    return result", ""]
    return "\n".join(lines)


def random_ids(rng: random.Random, n: int, vocab_size: int) -> list[int]:
    # Skip the lowest ids: in most vocabularies they are control and special tokens.
    low = min(256, vocab_size // 4)
    return [rng.randrange(low, vocab_size) for _ in range(n)]


def text_of(kind: str, n_tokens: int, tok: Tokenizer, seed: int) -> str:
    """Text of about ``n_tokens`` tokens of ``kind`` (deterministic from ``seed``)."""
    if kind not in KINDS:
        raise ValueError(f"content kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if n_tokens <= 0:
        return ""
    rng = random.Random(f"{kind}:{seed}")
    if kind == "random":
        return tok.decode(random_ids(rng, n_tokens, tok.vocab_size))
    make: Callable[[random.Random, int], str] = prose if kind == "prose" else code
    # words or lines per token, a little under what the generators yield, doubled while short
    size = max(8, int(n_tokens * (0.8 if kind == "prose" else 0.12)))
    while True:
        text = make(rng, size)
        ids = tok.encode(text)
        if len(ids) >= n_tokens:
            return tok.decode(ids[:n_tokens])
        size *= 2
