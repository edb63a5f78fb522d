"""Run the scripted session in a real repository and assemble the trace."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import project_files as pf
from .script import STEPS, TASK, Context, Outcome, Step
from .system_prompt import build_system_prompt
from .tools import build_tools
from .workspace import HOME_DIR, OS_NAME, PROJECT_DIR, SHELL, ScriptError, Workspace

TRACE_NAME = "cli_tool"
SESSION_START = datetime(2026, 3, 2, 9, 14, 5, 120000, tzinfo=timezone.utc)
BASE_COMMIT_TIME = datetime(2026, 2, 27, 16, 42, 10, tzinfo=timezone.utc)
CREATED_AT = "2026-03-02T12:00:00.000Z"
SEED = 20260302
CONTEXT_WINDOW = 128_000
REQUEST_PARAMS = {
    "model": "local-model",
    "temperature": 0,
    "stream": True,
    "tool_choice": "auto",
    "parallel_tool_calls": False,
}
#: Average characters per cl100k token in this session's text, measured once
#: with tiktoken; used for the token estimates the agent shows and for the
#: latency model, so that generation does not need a tokenizer.
CHARS_PER_TOKEN = 4.0


def estimate_tokens(text: str) -> int:
    return max(1, round(len(text) / CHARS_PER_TOKEN))


def iso_ms(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def vscode_time(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year}, {hour}:{moment.minute:02d}:{moment.second:02d} {suffix} "
        "(UTC, UTC+0:00)"
    )


def call_id(index: int) -> str:
    return "call_" + hashlib.sha256(f"{TRACE_NAME}:{index}".encode()).hexdigest()[:24]


class Session:
    """Mutable state of the session while it is being generated."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.rng = random.Random(SEED)
        self.now = SESSION_START
        self.visible: str | None = "README.md"
        self.tabs: list[str] = ["README.md"]
        self.last_usage = 0  # tokens of the previous request plus its response
        self.ctx = Context()

    # -- environment details ---------------------------------------------------

    def environment_details(self, *, first: bool) -> str:
        parts = [
            "# VSCode Visible Files\n" + (self.visible or "(No visible files)"),
            "# VSCode Open Tabs\n" + ("\n".join(self.tabs) if self.tabs else "(No open tabs)"),
            "# Current Time\n" + vscode_time(self.now),
        ]
        if first:
            listing = "\n".join(self.ws.list_files(".", recursive=True))
            parts.append(f"# Current Working Directory ({PROJECT_DIR}) Files\n{listing}")
        percent = round(100 * self.last_usage / CONTEXT_WINDOW)
        parts.append(
            f"# Context Window Usage\n{self.last_usage:,} / {CONTEXT_WINDOW // 1000}K tokens used ({percent}%)"
        )
        parts.append("# Current Mode\nACT MODE")
        return "<environment_details>\n" + "\n\n".join(parts) + "\n</environment_details>"

    def touch(self, path: str) -> None:
        self.visible = path
        if path not in self.tabs:
            self.tabs.append(path)

    # -- tools -------------------------------------------------------------------

    def execute(self, index: int, step: Step, args: dict[str, Any]) -> tuple[str, Outcome, float]:
        """Carry out one tool call; return (tool message text, outcome, seconds it took)."""
        rng = self.rng
        tool = step.tool
        if tool == "read_file":
            text = self.ws.read(args["path"])
            return text, Outcome(tool, text), rng.uniform(0.05, 0.25)
        if tool in ("write_to_file", "replace_in_file"):
            path = args["path"]
            if tool == "write_to_file":
                final = self.ws.write_file(path, args["content"])
            else:
                final = self.ws.replace_in_file(path, args["diff"])
            self.touch(path)
            text = (
                f"The content was saved to {path}. The file on disk now reads:\n\n"
                f'<final_file_content path="{path}">\n{final}\n</final_file_content>\n\n'
                "Take this final content as the reference for any further SEARCH/REPLACE edits to this file: it "
                "reflects what was actually saved, including any formatting the editor applied."
            )
            return text, Outcome(tool, text), rng.uniform(0.7, 1.6)
        if tool == "execute_command":
            command = args["command"]
            result = self.ws.run(command, step=index)
            output = result.output
            text = (
                f"Command executed in terminal (exit code {result.exit_code}).\n"
                + (f"Output:\n{output}" if output.strip() else "Output: (none)")
            )
            if "pytest" in command:
                seconds = rng.uniform(1.3, 2.6)
            elif command.startswith("wc"):
                seconds = rng.uniform(0.1, 0.3) + (rng.uniform(0.3, 0.6) if "python" in command else 0.0)
            else:
                seconds = rng.uniform(0.3, 0.7)
            return text, Outcome(tool, text, result.exit_code, output), seconds
        if tool == "list_files":
            lines = self.ws.list_files(args["path"], bool(args.get("recursive")))
            text = "\n".join(lines) if lines else "No files found."
            return text, Outcome(tool, text), rng.uniform(0.08, 0.3)
        if tool == "search_files":
            count, found = self.ws.search_files(args["path"], args["regex"], args.get("file_pattern"))
            text = f"Found {count} result{'s' if count != 1 else ''}.\n\n{found}" if count else "Found 0 results."
            return text, Outcome(tool, text), rng.uniform(0.1, 0.35)
        if tool == "ask_followup_question":
            if step.answer is None:
                raise ScriptError("ask_followup_question without an answer")
            text = f"<answer>\n{step.answer}\n</answer>"
            return text, Outcome(tool, text), 0.0
        raise ScriptError(f"unknown tool {tool}")

    # -- timing ------------------------------------------------------------------

    def model_latency(self, new_prompt_tokens: int, output_tokens: int) -> float:
        rng = self.rng
        prefill_rate = rng.uniform(1700.0, 2300.0)
        decode_rate = rng.uniform(33.0, 39.0)
        overhead = rng.uniform(0.12, 0.3)
        return overhead + new_prompt_tokens / prefill_rate + output_tokens / decode_rate

    def advance(self, seconds: float) -> None:
        self.now = self.now + timedelta(milliseconds=round(seconds * 1000))


def _message_tokens(message: dict[str, Any]) -> int:
    tokens = 4 + estimate_tokens(message.get("content") or "")
    for call in message.get("tool_calls", []):
        tokens += 8 + estimate_tokens(call["function"]["name"] + call["function"]["arguments"])
    return tokens


def build_trace(repo_out: Path | None = None) -> dict[str, Any]:
    """Generate the trace; deterministic for a given environment.

    With ``repo_out``, the session's git repository (whose commits the trace
    names) is copied there before the temporary directory is removed.
    """
    with Workspace() as ws:
        base_commit = ws.init_repo(pf.BASE_FILES, "Add sample texts and a placeholder README", BASE_COMMIT_TIME)
        session = Session(ws)
        system_prompt = build_system_prompt(cwd=PROJECT_DIR, os_name=OS_NAME, shell=SHELL, home=HOME_DIR)
        tools = build_tools(PROJECT_DIR)
        tools_tokens = estimate_tokens(json.dumps(tools))

        conversation: list[dict[str, Any]] = [
            {"role": "system", "content": system_prompt},
            {
                "role": "user",
                "content": f"<task>\n{TASK}\n</task>\n\n" + session.environment_details(first=True),
            },
        ]
        turns: list[dict[str, Any]] = []
        cached_tokens = 0  # prompt tokens the server already holds from the previous turn

        for index, step in enumerate(STEPS, start=1):
            ctx = session.ctx
            thought = step.thought(ctx) if callable(step.thought) else step.thought
            args = step.args(ctx) if callable(step.args) else step.args
            message = {
                "role": "assistant",
                "content": thought,
                "tool_calls": [
                    {
                        "id": call_id(index),
                        "type": "function",
                        "function": {"name": step.tool, "arguments": json.dumps(args, ensure_ascii=False)},
                    }
                ],
            }

            prompt_tokens = tools_tokens + sum(_message_tokens(m) for m in conversation)
            output_tokens = _message_tokens(message)
            requested_at = session.now
            session.advance(session.model_latency(prompt_tokens - cached_tokens, output_tokens))
            responded_at = session.now
            cached_tokens = prompt_tokens + output_tokens
            session.last_usage = prompt_tokens + output_tokens

            turns.append(
                {
                    "request": {
                        "conversation_prefix": len(conversation),
                        "tools": True,
                        "params": dict(REQUEST_PARAMS),
                    },
                    "response": {"message": message, "finish_reason": "tool_calls"},
                    "requested_at": iso_ms(requested_at),
                    "responded_at": iso_ms(responded_at),
                    "repo": {"commit": ws.head(), "dirty": ws.is_dirty()},
                }
            )
            conversation.append(message)

            if step.tool == "attempt_completion":
                if index != len(STEPS):
                    raise ScriptError("attempt_completion before the last step")
                break

            text, outcome, tool_seconds = session.execute(index, step, args)
            if step.expect is not None and not step.expect(outcome):
                raise ScriptError(f"step {index} ({step.tool}) gave an unexpected result:\n{text}")
            if step.label:
                ctx.outcomes[step.label] = outcome

            # Time passes: the agent's own bookkeeping, the tool, and any human.
            session.advance(session.rng.uniform(0.25, 0.7) + tool_seconds + step.human_pause)
            if ws.is_dirty():
                target = args.get("path") or args.get("command", "")
                ws.commit(f"Checkpoint after step {index}: {step.tool} {target}", session.now)

            conversation.append({"role": "tool", "tool_call_id": call_id(index), "content": text})
            conversation.append({"role": "user", "content": session.environment_details(first=False)})
        else:
            raise ScriptError("the script does not end with attempt_completion")

        if repo_out is not None:
            shutil.copytree(ws.root, repo_out, symlinks=True)

    return {
        "format": "replayer.trace",
        "version": 1,
        "name": TRACE_NAME,
        "description": (
            "A Cline-style agent in native tool-calling mode builds a small Python command-line tool "
            "(wordstat) with tests, hits real test failures, fixes them and documents the result."
        ),
        "provenance": {
            "agent": "replayer flagship generator (Cline-style, native tools)",
            "agent_version": "1",
            "model": None,
            # Where the generator lived when the committed trace was made (now tools/flagship/);
            # kept as it is, since the trace must stay byte-identical.
            "source": "replayer/sources/flagship",
            "importer": None,
            "created_at": CREATED_AT,
            "fidelity": {
                "exact": [
                    "system prompt, tool definitions and request parameters as a replay sends them",
                    "tool results: file contents, command outputs, listings and search results were produced "
                    "by really running each tool call in a git repository",
                    "repository state: each turn's commit is the real tree at the time of the request",
                ],
                "reconstructed": [
                    "assistant messages are scripted, not generated by a model",
                    "timestamps: model latency estimated from prompt and output size, tool and human time drawn "
                    "from a seeded random generator",
                    "context window usage in the environment details is an estimate",
                    "machine-dependent parts of command output (paths, pytest durations and versions, object "
                    "addresses) are normalised to fixed values",
                ],
                "missing": [
                    "usage and timings (no model produced the responses)",
                    "streaming chunk boundaries",
                ],
            },
            "notes": [
                "scripted session: the assistant text is written by the generator, file contents/command "
                "outputs/commits are real",
            ],
        },
        "repository": {
            "remote": "https://example.invalid/dev/wordstat.git",
            "branch": "main",
            "base_commit": base_commit,
        },
        "tools": tools,
        "conversation": conversation,
        "turns": turns,
    }


def render(trace: dict[str, Any]) -> str:
    return json.dumps(trace, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
