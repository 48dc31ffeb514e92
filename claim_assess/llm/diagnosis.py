"""What an endpoint's refusal means for the operator: the provider's own words, and the flag or variable to change.

One wording for the preflight (before any claim) and for a stop part-way through a run, so a user sees the same
advice whichever way the mistake shows. Pure: it reads an attempt's status and error body, nothing else.
"""

from __future__ import annotations

from claim_assess.llm.retry import error_fields

MESSAGE_CHARS = 400  # enough for any provider's message; a proxy's HTML page is cut short


def provider_said(status: int | str, body: str | None, error: str | None = None) -> str:
    """'HTTP 401 invalid_api_key: "Incorrect API key provided: sk-t***9c2e."' (or the connection error's words)."""
    if isinstance(status, str):
        return (error or status)[:MESSAGE_CHARS]
    fields = error_fields(body)
    code = fields.get("code") or fields.get("type")
    message = str(fields.get("message") or (body or "").strip() or "no message")[:MESSAGE_CHARS]
    return f"HTTP {status}{f' {code}' if code else ''}: {message!r}"


def what_to_change(status: int | str, body: str | None, *, base_url: str, model: str) -> str:
    """The operator's next step for a refusal or an unreachable endpoint."""
    fields = error_fields(body)
    code, param = str(fields.get("code") or "").lower(), str(fields.get("param") or "")
    message = str(fields.get("message") or body or "").lower()
    if status == "connection_error":
        return (f"cannot reach {base_url}: check --base-url (or OPENAI_BASE_URL) and that the server is running and "
                "reachable from this machine")
    if status == "timeout":
        return f"{base_url} did not answer within the attempt timeout: check the endpoint, or raise --timeout"
    if status == 401 or code == "invalid_api_key":
        return "the endpoint rejected the API key: set OPENAI_API_KEY to a key this endpoint accepts"
    if status == 403:
        return ("the key may not use this model or endpoint (project, organisation or region): use a key that may, "
                "or another --model")
    if code == "model_not_found" or (status == 404 and "model" in message):
        return f"the endpoint does not serve model {model!r}: pass --model with one it serves ({base_url}/models)"
    if status == 404:
        return (f"{base_url}/chat/completions does not exist: check --base-url (or OPENAI_BASE_URL); an "
                "OpenAI-compatible base URL usually ends in /v1")
    if param == "response_format" or any(w in message for w in ("response_format", "json_schema", "structured")):
        return ("claim-assess needs Structured Outputs (a strict json_schema response format): use a --model and "
                "--base-url that support it")
    if isinstance(status, int) and status >= 500:
        return "the endpoint is failing (a server error): try again later, or check its status page"
    field = f"the request's {param!r}" if param else "the request"
    return f"the endpoint refuses {field}, which every request of the run sends: use a --model and --base-url that accept it"
