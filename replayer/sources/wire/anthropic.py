"""Anthropic Messages API (``POST /v1/messages``, what Claude Code speaks) as chat completions.

``system`` becomes the system message; content blocks become messages: ``tool_use`` blocks
an assistant message's tool calls (their ``input`` as JSON arguments, their ids kept),
``tool_result`` blocks tool messages, text blocks text. Tools become OpenAI function
schemas (``input_schema`` as ``parameters``), exactly. What has no chat equivalent
(``thinking`` blocks, ``cache_control`` markers, server tools, images) is left out and
counted in ``Lost``. A streamed answer is put back together from its SSE events.
"""

from __future__ import annotations

import json
from typing import Any

from replayer.sources.wire.common import Lost, Wire, chat_content, text_of

API = "messages"
_PARAMS = {"model": "model", "max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p",
           "top_k": "top_k", "stop_sequences": "stop"}


def chat_request(body: dict[str, Any]) -> Wire:
    """The chat-completions request equivalent to a Messages request body."""
    lost = Lost()
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        _count_cache_markers(system, lost)
        messages.append({"role": "system", "content": _joined(system, lost)})
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            _count_cache_markers(message.get("content"), lost)
            messages += _messages(message, lost)
        else:
            lost.add("messages that are not objects")
    tools = [t for t in (_tool(t, lost) for t in body.get("tools") or []) if t is not None]
    params = {chat: body[ours] for ours, chat in _PARAMS.items() if ours in body}
    if isinstance(body.get("tool_choice"), dict):
        params["tool_choice"] = _tool_choice(body["tool_choice"])
    if body.get("thinking"):
        lost.add("thinking settings (no chat-completions equivalent)")
    return Wire(messages, tools or None, params, lost)


def _joined(content: Any, lost: Lost) -> str:
    """System text: its blocks joined with nothing between them, as llama-server's own
    Messages endpoint joins them (the prompt token counts then agree with its usage)."""
    return text_of(content, lost)


def _content(blocks: list[dict[str, Any]], lost: Lost) -> Any:
    return chat_content(blocks, lost)


def _messages(message: dict[str, Any], lost: Lost) -> list[dict[str, Any]]:
    role, content = message.get("role", "user"), message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    if role == "assistant":
        return [_assistant(blocks, lost)]
    out = [_tool_message(b, lost) for b in blocks if b.get("type") == "tool_result"]
    rest = [b for b in blocks if b.get("type") != "tool_result"]
    if rest or not out:
        out.append({"role": role, "content": _content(_text_blocks(rest, lost), lost)})
    return out


def _assistant(blocks: list[dict[str, Any]], lost: Lost) -> dict[str, Any]:
    calls = [{"id": b.get("id"), "type": "function",
              "function": {"name": b.get("name"), "arguments": json.dumps(b.get("input") or {}, ensure_ascii=False)}}
             for b in blocks if b.get("type") == "tool_use"]
    text = _content(_text_blocks([b for b in blocks if b.get("type") != "tool_use"], lost), lost)
    out: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        out["tool_calls"] = calls
    return out


def _text_blocks(blocks: list[dict[str, Any]], lost: Lost) -> list[dict[str, Any]]:
    kept = []
    for b in blocks:
        if b.get("type") in ("thinking", "redacted_thinking"):
            lost.add("thinking blocks (not sent in chat completions)")
        else:
            kept.append(b)
    return kept


def _tool_message(block: dict[str, Any], lost: Lost) -> dict[str, Any]:
    content = block.get("content")
    text = content if isinstance(content, str) else text_of(content, lost)
    if block.get("is_error"):
        lost.add("tool results marked is_error (sent as plain tool messages)")
    return {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text}


def _tool(tool: Any, lost: Lost) -> dict[str, Any] | None:
    if not isinstance(tool, dict) or "input_schema" not in tool:
        lost.add(f"server tools ({tool.get('type') if isinstance(tool, dict) else 'not an object'})")
        return None
    if "cache_control" in tool:
        lost.add("cache_control markers")
    function = {"name": tool.get("name"), "description": tool.get("description"), "parameters": tool["input_schema"]}
    return {"type": "function", "function": {k: v for k, v in function.items() if v is not None}}


def _tool_choice(choice: dict[str, Any]) -> Any:
    kind = choice.get("type")
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return {"auto": "auto", "any": "required", "none": "none"}.get(kind, "auto")


def _count_cache_markers(content: Any, lost: Lost) -> None:
    if isinstance(content, list):
        n = sum(1 for b in content if isinstance(b, dict) and "cache_control" in b)
        if n:
            lost.add("cache_control markers", n)


def chat_response(response: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int] | None, str | None]:
    """(assistant message, usage as prompt/completion tokens, finish reason) of a Messages answer."""
    blocks = [b for b in response.get("content") or [] if isinstance(b, dict)]
    message = _assistant(blocks, Lost())
    usage = response.get("usage")
    tokens = None
    if isinstance(usage, dict) and isinstance(usage.get("input_tokens"), int):
        cached = sum(v for k, v in usage.items() if k.startswith("cache_") and isinstance(v, int))
        tokens = {"prompt_tokens": usage["input_tokens"] + cached, "completion_tokens": usage.get("output_tokens", 0)}
    finish = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}.get(
        response.get("stop_reason"), response.get("stop_reason"))
    return message, tokens, finish


def assemble_stream(events: list[Any]) -> dict[str, Any] | None:
    """The message a Messages SSE stream describes (message_start, content_block_start/delta/stop,
    message_delta), or None when the stream never started a message."""
    message: dict[str, Any] | None = None
    partial_json: dict[int, str] = {}
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            message = {**event["message"], "content": list(event["message"].get("content") or [])}
        elif message is None:
            continue
        elif kind == "content_block_start" and isinstance(event.get("content_block"), dict):
            message["content"].append(dict(event["content_block"]))
        elif kind == "content_block_delta" and message["content"]:
            index = event.get("index")
            at = index if isinstance(index, int) and 0 <= index < len(message["content"]) else len(message["content"]) - 1
            _apply_delta(message["content"][at], event.get("delta") or {}, partial_json, at)
        elif kind == "content_block_stop":
            index = event.get("index")
            _finish_block(message["content"], partial_json,
                          index if isinstance(index, int) else len(message["content"]) - 1)
        elif kind == "message_delta":
            message.update({k: v for k, v in (event.get("delta") or {}).items() if k in ("stop_reason",
                                                                                          "stop_sequence")})
            message["usage"] = {**(message.get("usage") or {}), **(event.get("usage") or {})}
    return message


def _apply_delta(block: dict[str, Any], delta: dict[str, Any], partial: dict[int, str], index: int) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + str(delta.get("text", ""))
    elif kind == "input_json_delta":
        partial[index] = partial.get(index, "") + str(delta.get("partial_json", ""))
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))


def _finish_block(content: list[dict[str, Any]], partial: dict[int, str], index: int) -> None:
    if index in partial and 0 <= index < len(content):
        try:
            content[index]["input"] = json.loads(partial.pop(index) or "{}")
        except json.JSONDecodeError:
            content[index]["input"] = {}
