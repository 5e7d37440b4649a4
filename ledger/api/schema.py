"""The schema and its protections (docs/limits.md): depth, token and alias limits,
the query cost budget (ledger/api/cost.py), masked unexpected errors,
introspection only when configured.

``python -m ledger.api.schema`` prints the SDL (``graphql/schema.graphql`` is
that output; a test fails when it is stale).
"""

from __future__ import annotations

import logging

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from graphql import GraphQLError
from ledger.api.context import Limits
from ledger.api.cost import QueryBudget
from ledger.api.errors import ERROR_TYPES
from ledger.api.mutation import Mutation
from ledger.api.query import Query
from ledger.api.scalars import SCALAR_MAP
from ledger.api.statements import StatementMutation, StatementQuery

log = logging.getLogger("ledger.api")


def should_mask(error: GraphQLError) -> bool:
    """Mask what we did not expect: an exception from a resolver that is not a
    GraphQLError of our own. Parse/validation errors (no original error) and
    argument errors (ArgumentError, with a code) stay readable."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError) or error.path is None:
        return False  # no path: the document or its literals were refused before execution
    log.error("unexpected error in %s", ".".join(map(str, error.path or [])), exc_info=original)
    return True


@strawberry.type(name="Query")
class FullQuery(Query, StatementQuery):
    """Reads, and the statement-signing helper and key registry (ledger/api/statements.py)."""


@strawberry.type(name="Mutation")
class FullMutation(Mutation, StatementMutation):
    """Writes: draft records (legacy, decision 0005), signed statements and key enrolment."""


class LedgerSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Expected errors (refused documents, bad arguments) at DEBUG; the
        unexpected ones are logged with their traceback by ``should_mask``."""
        for e in errors:
            log.debug("graphql error: %s", e.message)


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    limits = limits or Limits()
    # Build the depth and alias rules once: each limiter instance makes a new
    # rule class, and the rule classes are part of ValidationCache's key, so
    # per-request instances would make every request a cache miss (measured:
    # 0 hits in 350 requests, ~4 ms of validation each).
    rules = [*QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules]
    extensions = [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: QueryBudget(max_cost=limits.max_cost, page_cap=limits.max_page),
        lambda: MaskErrors(should_mask_error=should_mask, error_message="Unexpected error (logged)."),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    return LedgerSchema(query=FullQuery, mutation=FullMutation, types=list(ERROR_TYPES), extensions=extensions,
                             config=StrawberryConfig(auto_camel_case=False, scalar_map=SCALAR_MAP))


def sdl() -> str:
    return build_schema(Limits(introspection=True)).as_str() + "\n"


if __name__ == "__main__":
    print(sdl(), end="")
