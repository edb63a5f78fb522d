"""OpenAI Responses API (``POST /v1/responses``, what Codex CLI speaks) as chat completions.

llama-server answers the Responses API but returns neither ``timings`` nor token ids, so a
recorded Responses exchange is replayed as the equivalent chat-completions request:
``instructions`` becomes the system message, input items become messages (``function_call``
items an assistant message's tool calls, ``function_call_output`` tool messages, with their
call ids), function tools OpenAI function schemas, exactly. What has no chat equivalent
(``reasoning`` items, built-in tools, images) is left out and counted in ``Lost``.
"""

from __future__ import annotations

from typing import Any

from replayer.sources.wire.common import Lost, Wire, chat_content, text_of

API = "responses"
_PARAMS = {"model": "model", "temperature": "temperature", "top_p": "top_p", "max_output_tokens": "max_tokens",
           "parallel_tool_calls": "parallel_tool_calls"}


def chat_request(body: dict[str, Any]) -> Wire:
    """The chat-completions request equivalent to a Responses request body."""
    lost = Lost()
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items if isinstance(items, list) else []:
        _add_item(messages, item, lost)
    tools = [t for t in (_tool(t, lost) for t in body.get("tools") or []) if t is not None]
    params = {chat: body[ours] for ours, chat in _PARAMS.items() if ours in body}
    if "tool_choice" in body:
        params["tool_choice"] = _tool_choice(body["tool_choice"])
    return Wire(messages, tools or None, params, lost)


def _add_item(messages: list[dict[str, Any]], item: Any, lost: Lost) -> None:
    if not isinstance(item, dict):
        lost.add("input items that are not objects")
        return
    kind = item.get("type", "message")
    if kind == "message":
        # developer messages stay developer messages: llama-server passes the role to the chat
        # template as it is, and so must replay for the prompt to be the same
        messages.append({"role": item.get("role", "user"), "content": chat_content(item.get("content"), lost)})
    elif kind == "function_call":
        call = {"id": item.get("call_id") or item.get("id"), "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"}}
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and "tool_calls" in last:
            last["tool_calls"].append(call)
        elif last is not None and last["role"] == "assistant":
            last["tool_calls"] = [call]  # the text the model wrote before calling
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output")
        messages.append({"role": "tool", "tool_call_id": item.get("call_id"),
                         "content": output if isinstance(output, str) else text_of(output, lost)})
    elif kind == "reasoning":
        lost.add("reasoning items (not sent in chat completions)")
    else:
        lost.add(f"{kind} items (no chat-completions equivalent)")


def _tool(tool: Any, lost: Lost) -> dict[str, Any] | None:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        lost.add(f"built-in tools ({tool.get('type') if isinstance(tool, dict) else 'not an object'})")
        return None
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return choice


def chat_response(response: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int] | None, str | None]:
    """(assistant message, usage as prompt/completion tokens, finish reason) of a Responses answer."""
    texts: list[str] = []
    calls = []
    for item in response.get("output") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            texts.append(text_of(item.get("content"), Lost()))
        elif item.get("type") == "function_call":
            calls.append({"id": item.get("call_id") or item.get("id"), "type": "function",
                          "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"}})
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    usage = response.get("usage")
    tokens = None
    if isinstance(usage, dict) and isinstance(usage.get("input_tokens"), int):
        tokens = {"prompt_tokens": usage["input_tokens"], "completion_tokens": usage.get("output_tokens", 0)}
    finish = "tool_calls" if calls else ("length" if response.get("status") == "incomplete" else "stop")
    return message, tokens, finish
