"""Shared resolver plumbing: expected errors to union members, argument and
permission errors of nested fields, subject resolution."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from graphql import GraphQLError
from ledger import errors as E
from ledger.api.context import AppState, Context, run
from ledger.api.errors import to_error
from ledger.domain.subjects import HEX, lookup


def union_result(fn: Callable[..., Awaitable]):
    """Expected ledger errors become union members; anything else propagates
    (masked for the client, logged for the operator)."""

    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        try:
            return await fn(*args, **kwargs)
        except E.LedgerError as e:
            member = to_error(e)
            if member is None:
                raise
            return member

    return wrapper


class ArgumentError(GraphQLError):
    """A bad argument on a nested field (where no union result exists). Not masked."""

    def __init__(self, argument: str, rule: str):
        super().__init__(f"{argument}: {rule}", extensions={"code": "validation", "field": argument, "rule": rule})


class FieldForbidden(GraphQLError):
    """A nested field this token may not read (``history`` for a programme officer):
    the field is null and the error says why, code ``forbidden``; the rest of the
    answer stands. Root fields answer the ``Forbidden`` union member instead."""

    def __init__(self, message: str):
        super().__init__(message, extensions={"code": "forbidden"})


def page_size(ctx: Context, first: int, argument: str = "first") -> int:
    cap = ctx.state.limits.max_page
    if not 1 <= first <= cap:
        raise ArgumentError(argument, f"must be between 1 and {cap}")
    return first


def check_page(ctx: Context, first: int, argument: str = "first") -> None:
    """Root fields: the same rule, raised as a ValidationError (a union member)."""
    cap = ctx.state.limits.max_page
    if not 1 <= first <= cap:
        raise E.ValidationError([E.Problem(argument, f"must be between 1 and {cap}")])


def lookup_ref(state: AppState, text: str, field: str = "subject") -> str | None:
    """A subject reference from a reference or ``scheme:number`` (via the vault);
    None for a valid identifier no subject holds."""
    if len(text) == 64 and set(text) <= HEX:
        return text
    if state.vault is None:
        raise E.ValidationError([E.Problem(field, "must be a subject reference (no vault on this server)")])
    try:
        return lookup(state.engine, state.vault, text)
    except E.ValidationError as e:
        raise E.ValidationError([E.Problem(field, p.rule) for p in e.problems]) from e


def resolve_ref(state: AppState, text: str, field: str = "subject") -> str:
    """Like ``lookup_ref`` for operations that need a subject on record: NotFound otherwise."""
    ref = lookup_ref(state, text, field)
    if ref is None:
        raise E.NotFound(f"{field}: no subject with this identifier in the vault")
    return ref


async def lookup_ref_async(state: AppState, text: str, field: str = "subject") -> str | None:
    if len(text) == 64 and set(text) <= HEX:
        return text  # a reference already: no vault lookup, no thread hop
    return await run(lookup_ref, state, text, field)


async def resolve_ref_async(state: AppState, text: str, field: str = "subject") -> str:
    if len(text) == 64 and set(text) <= HEX:
        return text
    return await run(resolve_ref, state, text, field)
