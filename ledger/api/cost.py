"""A GraphQL operation's cost, estimated from the parsed document before it runs
(docs/limits.md, Query cost), and the schema extension that refuses an
operation over budget without executing it.

Scope: the worst case of how much an answer can hold, from the document and
its variables alone. Not in scope: what the ledger actually holds (a subject
with two sanctions costs what one with a hundred would), time, and writes
(mutations are priced like queries; their rate is the rate limiter's concern).

The model follows the IBM GraphQL Cost Directives specification (§"@listSize":
slicing arguments, sized fields and an assumed size), as Shopify and GitHub
price their APIs:

- every object in the answer costs its type's weight (``WEIGHTS``, else 1);
  scalars, enums and ``__typename`` cost nothing;
- a field's slicing argument sizes the lists of the object it returns:
  ``first: N`` a connection's ``edges``, ``ids: [...]`` the subjects of a
  ``SubjectList``; a value outside 0..page cap counts as the nearest end (the
  resolver refuses it anyway); every other list is assumed to be a full page;
- aliases count separately (two aliases run twice), fragments are expanded,
  ``@skip``/``@include`` are ignored (both branches count);
- a union or interface costs as much as its most expensive member;
- introspection (``__schema``, ``__type``) costs nothing: its answer is the
  schema, not data (and it is off unless configured).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
)
from ledger.api.context import Context

# An Entry carries its body (up to 16 KiB: ledger/log/entry_types.py) three
# times (body, canonical text, canonical base64): with every field, 2.4 KB of
# JSON on the demo ledger and up to ~90 KB at the body limit, against ~0.6 KB
# for a Sanction (docs/limits.md, Query cost).
WEIGHTS: Mapping[str, int] = {"Entry": 10}

# Slicing arguments: the size they give the lists of the object a field returns.
SLICING: Mapping[str, Callable[[Any], int]] = {"first": int, "ids": len}


class OperationNameRequired(Exception):
    """A document of several operations, and no operationName to pick one."""

    def __init__(self, names: list[str]):
        super().__init__(f"the document holds {len(names)} operations ({', '.join(names)}): "
                         "give operationName to choose one")


def operation_of(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs; None when operation_name names none
    (execution reports that). Raises OperationNameRequired when the document
    holds several and no name is given (GraphQL spec §6.1 GetOperation)."""
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(ops) > 1:
            raise OperationNameRequired([op.name.value if op.name else "(anonymous)" for op in ops])
        return ops[0] if ops else None
    return next((op for op in ops if op.name and op.name.value == operation_name), None)


def estimate(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
             variables: dict[str, Any] | None, page_cap: int) -> int:
    """The operation's cost (module docstring). The document must be valid
    (run it after validation); variables that do not coerce cost 0, since
    execution refuses them before any resolver runs."""
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _Estimator(schema, fragments, coerced, page_cap).of_object(root, operation.selection_set, None)


class _Estimator:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: VariableValues, page_cap: int):
        self.schema, self.fragments, self.variables, self.cap = schema, fragments, variables, page_cap
        self.memo: dict[tuple[str, int, int | None], int] = {}

    def of_value(self, type_: Any, selection: SelectionSetNode, sliced: int | None) -> int:
        """One value of a composite type: its weight plus its fields; the
        dearest member for a union or interface."""
        if is_abstract_type(type_):
            return max((self.of_object(t, selection, sliced) for t in self.schema.get_possible_types(type_)),
                       default=0)
        return self.of_object(type_, selection, sliced)

    def of_object(self, type_: GraphQLObjectType, selection: SelectionSetNode, sliced: int | None) -> int:
        key = (type_.name, id(selection), sliced)
        if key not in self.memo:
            self.memo[key] = WEIGHTS.get(type_.name, 1) + sum(
                self.of_field(type_.fields[f.name.value], f, sliced)
                for f in self.fields(type_, selection) if f.name.value in type_.fields)
        return self.memo[key]

    def of_field(self, field: GraphQLField, node: FieldNode, sliced: int | None) -> int:
        """The field's answer in one parent: items times the cost of each."""
        named = get_named_type(field.type)
        if is_leaf_type(named) or node.selection_set is None:
            return 0
        items, type_ = 1, get_nullable_type(field.type)
        while is_list_type(type_):
            items *= sliced if sliced is not None else self.cap
            type_ = get_nullable_type(type_.of_type)
        return items * self.of_value(named, node.selection_set, self.slice_of(field, node))

    def slice_of(self, field: GraphQLField, node: FieldNode) -> int | None:
        """The size a slicing argument gives the lists below this field, clamped to 0..page cap."""
        names = [a for a in SLICING if a in field.args]
        if not names:
            return None
        try:
            args = get_argument_values(field, node, self.variables)
        except GraphQLError:  # validation let it through, execution will refuse it
            return self.cap
        size = next((SLICING[a](args[a]) for a in names if args.get(a) is not None), self.cap)
        return min(max(size, 0), self.cap)

    def fields(self, type_: GraphQLObjectType, selection: SelectionSetNode) -> Iterator[FieldNode]:
        """The fields selected on an object of this type, fragments expanded
        (validation has ruled out fragment cycles)."""
        for s in selection.selections:
            if isinstance(s, FieldNode):
                if not s.name.value.startswith("__"):
                    yield s
            elif isinstance(s, InlineFragmentNode):
                if s.type_condition is None or self.applies(s.type_condition.name.value, type_):
                    yield from self.fields(type_, s.selection_set)
            elif isinstance(s, FragmentSpreadNode):
                fragment = self.fragments.get(s.name.value)
                if fragment is not None and self.applies(fragment.type_condition.name.value, type_):
                    yield from self.fields(type_, fragment.selection_set)

    def applies(self, condition: str, type_: GraphQLObjectType) -> bool:
        wanted = self.schema.get_type(condition)
        if wanted is None:
            return False
        return wanted is type_ or (is_abstract_type(wanted) and self.schema.is_sub_type(wanted, type_))


def _refusal(message: str, code: str, **details: Any) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code, **details})])


class QueryBudget(SchemaExtension):
    """Before execution: pick the operation (refusing several without
    operationName, HTTP 400), estimate its cost, refuse it over ``max_cost``
    (code ``cost_exceeded``) and charge the cost to the token's bucket (an
    operation refused for its cost is charged ``max_cost``: refusals are not
    free to send over and over). Nothing runs when it refuses."""

    def __init__(self, *, max_cost: int | None, page_cap: int):
        self.max_cost, self.page_cap = max_cost, page_cap

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None:
            ctx.result = self.refusal(ctx.graphql_document)  # None: run it
        yield

    def refusal(self, document: DocumentNode) -> ExecutionResult | None:
        ctx = self.execution_context
        sent = ctx.context.operation_name if isinstance(ctx.context, Context) else ctx.operation_name
        try:
            operation = operation_of(document, sent)
        except OperationNameRequired as e:
            if isinstance(ctx.context, Context) and ctx.context.get("response") is not None:
                ctx.context["response"].status_code = 400
            return _refusal(str(e), "operation_name_required", field="operationName")
        if operation is None:
            return None
        cost = estimate(ctx.schema._schema, document, operation, ctx.variables, self.page_cap)
        if self.max_cost is None or cost <= self.max_cost:
            if isinstance(ctx.context, Context):
                ctx.context.charge(cost)
            return None
        if isinstance(ctx.context, Context):
            ctx.context.charge(self.max_cost)
        return _refusal(f"query cost {cost} is over the limit of {self.max_cost}: ask for smaller pages "
                        "(first, ids), fewer aliases or fewer nested lists (docs/limits.md)",
                        "cost_exceeded", cost=cost, limit=self.max_cost)
