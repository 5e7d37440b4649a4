"""The body of a POST to /graphql, checked before GraphQL sees it
(docs/limits.md, Malformed requests).

Accepted: ``Content-Type: application/json`` (a charset, if named, must be
UTF-8), a body of strict UTF-8 (RFC 8259 §8.1) holding one JSON object with
no NaN or Infinity (RFC 8259 §6), no lone surrogate in a string (RFC 8259
§8.2), no name repeated in one object at any depth (RFC 8259 §4, I-JSON RFC
7493 §2.3: else ``{"variables": …, "variables": …}`` means what the last one
says here and the first one elsewhere) and at most ``MAX_DEPTH`` levels of
nesting (``ledger.log.strict_json``, which counts it before parsing), of the form
``{"query": string, "variables": object|null, "operationName": string|null,
"extensions": object|null}`` (GraphQL over HTTP, §"Request parameters");
other keys are ignored. Everything else is a ``BadRequest`` with a code
(HTTP 400), so that no body, however broken, reaches a code path that fails
with a 500.

Not in scope: the GraphQL document itself (syntax, validation, cost): the
schema and its extensions judge it and answer with GraphQL errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.errors import ValidationError
from ledger.log import strict_json

# Variables nest a handful of levels (a record body and its scope): 32 is ample,
# and far below where Python's recursive JSON and GraphQL coercion give out.
MAX_DEPTH = 32


class BadRequest(Exception):
    """A body the API does not accept; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def decode(content_type: str | None, body: bytes) -> GraphQLRequest:
    """The request in ``body``, or BadRequest naming what is wrong."""
    _media_type(content_type)
    data = _json(body)
    if not isinstance(data, dict):
        kind = "an array (batched operations are not supported)" if isinstance(data, list) else type(data).__name__
        raise BadRequest("invalid_request", f"the body must be a JSON object, not {kind}")
    query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest("invalid_request", '"query" must be a non-empty string (the GraphQL document)')
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest("invalid_request", '"variables" must be a JSON object or null')
    if name is not None and not isinstance(name, str):
        raise BadRequest("invalid_request", '"operationName" must be a string or null')
    if data.get("extensions") is not None and not isinstance(data["extensions"], dict):
        raise BadRequest("invalid_request", '"extensions" must be a JSON object or null')
    return GraphQLRequest(query, variables, name)


def _media_type(content_type: str | None) -> None:
    kind, *params = [p.strip().lower() for p in (content_type or "").split(";")]
    charset = next((p.partition("=")[2].strip('"') for p in params if p.startswith("charset=")), "utf-8")
    if kind != "application/json" or charset not in ("utf-8", "utf8"):
        raise BadRequest("unsupported_media_type",
                         f"Content-Type must be application/json (UTF-8), not {content_type or 'missing'!r}")


def _json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest("invalid_json", f"the body is not UTF-8 (byte {e.start})") from None
    try:
        return strict_json.parse(text, max_depth=MAX_DEPTH)
    except ValidationError as e:
        raise BadRequest("invalid_json", f"the body is not accepted JSON: {e}") from None
