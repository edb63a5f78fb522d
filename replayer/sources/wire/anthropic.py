"""Anthropic Messages API (``POST /v1/messages``, what Claude Code speaks) as chat completions.

``system`` becomes the system message; content blocks become messages: ``tool_use`` blocks
an assistant message's tool calls (their ``input`` as JSON arguments, their ids kept),
``tool_result`` blocks tool messages, text blocks text. Tools become OpenAI function
schemas (``input_schema`` as ``parameters``), exactly. What has no chat equivalent
(``thinking`` blocks, ``cache_control`` markers, server tools, images) is left out and
counted in ``Lost``. A streamed answer is put back together from its SSE events. A field of
the wrong type is a WireShape naming it.
"""

from __future__ import annotations

import json
from typing import Any

from replayer.sources.wire.common import Lost, Wire, chat_content, field, text_of

API = "messages"
_PARAMS = {"model": "model", "max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p",
           "top_k": "top_k", "stop_sequences": "stop"}


def chat_request(body: dict[str, Any]) -> Wire:
    """The chat-completions request equivalent to a Messages request body."""
    lost = Lost()
    messages: list[dict[str, Any]] = []
    system = field(body, "system", (str, list), "")
    if system:
        _count_cache_markers(system, lost)
        messages.append({"role": "system", "content": _joined(system, lost)})
    for i, message in enumerate(field(body, "messages", list, "", [])):
        if isinstance(message, dict):
            _count_cache_markers(message.get("content"), lost)
            messages += _messages(message, lost, f"messages[{i}]")
        else:
            lost.add("messages that are not objects")
    tools = [t for t in (_tool(t, lost, f"tools[{i}]") for i, t in enumerate(field(body, "tools", list, "", [])))
             if t is not None]
    params = {chat: body[ours] for ours, chat in _PARAMS.items() if ours in body}
    choice = field(body, "tool_choice", dict, "")
    if choice is not None:
        params["tool_choice"] = _tool_choice(choice)
    if body.get("thinking"):
        lost.add("thinking settings (no chat-completions equivalent)")
    return Wire(messages, tools or None, params, lost)


def _joined(content: Any, lost: Lost) -> str:
    """System text: its blocks joined with nothing between them, as llama-server's own
    Messages endpoint joins them (the prompt token counts then agree with its usage)."""
    return text_of(content, lost)


def _content(blocks: list[dict[str, Any]], lost: Lost) -> Any:
    return chat_content(blocks, lost)


def _messages(message: dict[str, Any], lost: Lost, where: str) -> list[dict[str, Any]]:
    role = field(message, "role", str, where, "user")
    content = field(message, "content", (str, list), where, "")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = [b for b in content if isinstance(b, dict)]
    if role == "assistant":
        return [_assistant(blocks, lost, where)]
    out = [_tool_message(b, lost, where) for b in blocks if b.get("type") == "tool_result"]
    rest = [b for b in blocks if b.get("type") != "tool_result"]
    if rest or not out:
        out.append({"role": role, "content": _content(_text_blocks(rest, lost), lost)})
    return out


def _assistant(blocks: list[dict[str, Any]], lost: Lost, where: str) -> dict[str, Any]:
    calls = [{"id": field(b, "id", str, where, ""), "type": "function",
              "function": {"name": field(b, "name", str, where, ""),
                           "arguments": json.dumps(field(b, "input", dict, where, {}), ensure_ascii=False)}}
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


def _tool_message(block: dict[str, Any], lost: Lost, where: str) -> dict[str, Any]:
    content = field(block, "content", (str, list), where, "")
    text = content if isinstance(content, str) else text_of(content, lost)
    if block.get("is_error"):
        lost.add("tool results marked is_error (sent as plain tool messages)")
    return {"role": "tool", "tool_call_id": field(block, "tool_use_id", str, where, ""), "content": text}


def _tool(tool: Any, lost: Lost, where: str) -> dict[str, Any] | None:
    if not isinstance(tool, dict) or "input_schema" not in tool:
        kind = tool.get("type") if isinstance(tool, dict) and isinstance(tool.get("type"), str) else "not an object"
        lost.add(f"server tools ({kind})")
        return None
    if "cache_control" in tool:
        lost.add("cache_control markers")
    function = {"name": field(tool, "name", str, where, ""), "description": field(tool, "description", str, where),
                "parameters": field(tool, "input_schema", dict, where, {})}
    return {"type": "function", "function": {k: v for k, v in function.items() if v is not None}}


def _tool_choice(choice: dict[str, Any]) -> Any:
    kind = field(choice, "type", str, "tool_choice", "auto")
    if kind == "tool":
        return {"type": "function", "function": {"name": field(choice, "name", str, "tool_choice", "")}}
    return {"auto": "auto", "any": "required", "none": "none"}.get(kind, "auto")


def _count_cache_markers(content: Any, lost: Lost) -> None:
    if isinstance(content, list):
        n = sum(1 for b in content if isinstance(b, dict) and "cache_control" in b)
        if n:
            lost.add("cache_control markers", n)


def chat_response(response: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int] | None, str | None]:
    """(assistant message, usage as prompt/completion tokens, finish reason) of a Messages answer."""
    content = field(response, "content", (str, list), "response", [])
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else [b for b in content if isinstance(b, dict)]
    message = _assistant(blocks, Lost(), "response.content")
    usage = field(response, "usage", dict, "response", {})
    tokens = None
    prompt = field(usage, "input_tokens", int, "response.usage")
    if prompt is not None:
        cached = sum(v for k, v in usage.items() if k.startswith("cache_") and isinstance(v, int)
                     and not isinstance(v, bool))
        tokens = {"prompt_tokens": prompt + cached, "completion_tokens": field(usage, "output_tokens", int,
                                                                               "response.usage", 0)}
    reason = field(response, "stop_reason", str, "response")
    finish = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}.get(
        reason, reason)
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
            content = event["message"].get("content")
            message = {**event["message"], "content": [dict(b) for b in content if isinstance(b, dict)]
                       if isinstance(content, list) else []}
        elif message is None:
            continue
        elif kind == "content_block_start" and isinstance(event.get("content_block"), dict):
            message["content"].append(dict(event["content_block"]))
        elif kind == "content_block_delta" and message["content"]:
            index = event.get("index")
            at = index if isinstance(index, int) and 0 <= index < len(message["content"]) else len(message["content"]) - 1
            delta = event.get("delta")
            _apply_delta(message["content"][at], delta if isinstance(delta, dict) else {}, partial_json, at)
        elif kind == "content_block_stop":
            index = event.get("index")
            _finish_block(message["content"], partial_json,
                          index if isinstance(index, int) else len(message["content"]) - 1)
        elif kind == "message_delta":
            delta = event.get("delta")
            message.update({k: v for k, v in (delta if isinstance(delta, dict) else {}).items()
                            if k in ("stop_reason", "stop_sequence")})
            usage = event.get("usage")
            message["usage"] = {**(message.get("usage") if isinstance(message.get("usage"), dict) else {}),
                                **(usage if isinstance(usage, dict) else {})}
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
