"""OpenAI Responses API (``POST /v1/responses``, what Codex CLI speaks) as chat completions.

llama-server answers the Responses API but returns neither ``timings`` nor token ids, so a
recorded Responses exchange is replayed as the equivalent chat-completions request:
``instructions`` becomes the system message, input items become messages (``function_call``
items an assistant message's tool calls, ``function_call_output`` tool messages, with their
call ids), function tools OpenAI function schemas, exactly. What has no chat equivalent
(``reasoning`` items, built-in tools, images) is left out and counted in ``Lost``. A field
of the wrong type is a WireShape naming it.
"""

from __future__ import annotations

from typing import Any

from replayer.sources.wire.common import Lost, Wire, chat_content, field, text_of

API = "responses"
_PARAMS = {"model": "model", "temperature": "temperature", "top_p": "top_p", "max_output_tokens": "max_tokens",
           "parallel_tool_calls": "parallel_tool_calls"}


def chat_request(body: dict[str, Any]) -> Wire:
    """The chat-completions request equivalent to a Responses request body."""
    lost = Lost()
    messages: list[dict[str, Any]] = []
    instructions = field(body, "instructions", str, "")
    if instructions:
        messages.append({"role": "system", "content": instructions})
    items = field(body, "input", (str, list), "", [])
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for i, item in enumerate(items):
        _add_item(messages, item, lost, f"input[{i}]")
    tools = [t for t in (_tool(t, lost, f"tools[{i}]") for i, t in enumerate(field(body, "tools", list, "", [])))
             if t is not None]
    params = {chat: body[ours] for ours, chat in _PARAMS.items() if ours in body}
    if "tool_choice" in body:
        params["tool_choice"] = _tool_choice(body["tool_choice"])
    return Wire(messages, tools or None, params, lost)


def _add_item(messages: list[dict[str, Any]], item: Any, lost: Lost, where: str) -> None:
    if not isinstance(item, dict):
        lost.add("input items that are not objects")
        return
    kind = field(item, "type", str, where, "message")
    if kind == "message":
        # developer messages stay developer messages: llama-server passes the role to the chat
        # template as it is, and so must replay for the prompt to be the same
        role = field(item, "role", str, where, "user")
        messages.append({"role": role, "content": chat_content(field(item, "content", (str, list), where, ""), lost)})
    elif kind == "function_call":
        call = _call(item, where)
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and "tool_calls" in last:
            last["tool_calls"].append(call)
        elif last is not None and last["role"] == "assistant":
            last["tool_calls"] = [call]  # the text the model wrote before calling
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = field(item, "output", (str, list), where, "")
        messages.append({"role": "tool", "tool_call_id": field(item, "call_id", str, where, ""),
                         "content": output if isinstance(output, str) else text_of(output, lost)})
    elif kind == "reasoning":
        lost.add("reasoning items (not sent in chat completions)")
    else:
        lost.add(f"{kind} items (no chat-completions equivalent)")


def _call(item: dict[str, Any], where: str) -> dict[str, Any]:
    call_id = field(item, "call_id", str, where) or field(item, "id", str, where, "")
    return {"id": call_id, "type": "function",
            "function": {"name": field(item, "name", str, where, ""), "arguments": field(item, "arguments", str, where,
                                                                                         "{}")}}


def _tool(tool: Any, lost: Lost, where: str) -> dict[str, Any] | None:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) and isinstance(tool.get("type"), str) else "not an object"
        lost.add(f"built-in tools ({kind})")
        return None
    function = {"name": field(tool, "name", str, where, "")}
    if "description" in tool:
        function["description"] = field(tool, "description", str, where, "")
    if "parameters" in tool:
        function["parameters"] = field(tool, "parameters", dict, where, {})
    if "strict" in tool:
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": field(choice, "name", str, "tool_choice", "")}}
    return choice


def chat_response(response: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int] | None, str | None]:
    """(assistant message, usage as prompt/completion tokens, finish reason) of a Responses answer."""
    texts: list[str] = []
    calls = []
    for i, item in enumerate(field(response, "output", list, "response", [])):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            texts.append(text_of(field(item, "content", (str, list), f"response.output[{i}]", ""), Lost()))
        elif item.get("type") == "function_call":
            calls.append(_call(item, f"response.output[{i}]"))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    usage = field(response, "usage", dict, "response", {})
    tokens = None
    prompt = field(usage, "input_tokens", int, "response.usage")
    if prompt is not None:
        tokens = {"prompt_tokens": prompt, "completion_tokens": field(usage, "output_tokens", int, "response.usage", 0)}
    finish = "tool_calls" if calls else ("length" if response.get("status") == "incomplete" else "stop")
    return message, tokens, finish
