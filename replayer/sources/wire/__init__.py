"""Other agent APIs (Responses, Anthropic Messages) as the chat completions replay sends."""
