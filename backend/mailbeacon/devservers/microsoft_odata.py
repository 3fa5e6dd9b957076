"""The slice of OData v4 query syntax Graph's mail endpoints accept: $filter, $select, $expand, $orderby.

$filter is parsed into a small tree and evaluated against a message's *filter view*: a dict keyed by
Graph property names, where collections are lists (so `singleValueExtendedProperties/Any(ep: ...)` and
`categories/any(c: c eq 'x')` are ordinary lambdas). Exchange compares strings case-insensitively in
filters, and so does this.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class GraphError(Exception):
    """An error Graph reports as `{"error": {"code": ..., "message": ...}}` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def unknown_property(name: str, type_name: str = "microsoft.graph.message") -> GraphError:
    message = f"Could not find a property named '{name}' on type '{type_name}'."
    return GraphError(400, "RequestBroker--ParseUri", message)


def _invalid_filter(detail: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid filter clause: {detail}")


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<ident>[A-Za-z_$@][\w.@]*)
      | (?P<punct>[(),/:])
    )""",
    re.VERBOSE,
)

_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"startswith", "endswith", "contains"}


def parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise _invalid_filter(f"syntax error at position {pos} in '{text}'.")
        pos = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            tokens.append(("literal", raw[1:-1].replace("''", "'")))
        elif kind == "datetime":
            tokens.append(("literal", parse_datetime(raw)))
        elif kind == "number":
            tokens.append(("literal", float(raw) if "." in raw else int(raw)))
        elif kind == "ident" and raw in ("true", "false", "null"):
            tokens.append(("literal", {"true": True, "false": False, "null": None}[raw]))
        else:
            tokens.append((kind, raw))
    return tokens


Evaluator = Callable[[Mapping[str, Any], dict[str, Any]], Any]


@dataclass
class FilterExpr:
    """A parsed $filter; `matches(view)` says whether an entity's filter view satisfies it."""

    text: str
    _evaluate: Evaluator

    def matches(self, view: Mapping[str, Any]) -> bool:
        return bool(self._evaluate(view, {}))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.variables: list[str] = []

    def peek(self, offset: int = 0) -> tuple[str, Any] | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> Any:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            wanted = value or kind
            raise _invalid_filter(f"expected '{wanted}' in '{self.text}'.")
        self.pos += 1
        return token[1]

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "ident" and token[1] in words

    def parse(self) -> Evaluator:
        node = self.expression()
        if self.peek() is not None:
            raise _invalid_filter(f"unexpected '{self.peek()[1]}' in '{self.text}'.")  # type: ignore[index]
        return node

    def expression(self) -> Evaluator:
        left = self.conjunction()
        while self.at_word("or"):
            self.pos += 1
            right = self.conjunction()
            left = (lambda a, b: lambda v, env: bool(a(v, env)) or bool(b(v, env)))(left, right)
        return left

    def conjunction(self) -> Evaluator:
        left = self.negation()
        while self.at_word("and"):
            self.pos += 1
            right = self.negation()
            left = (lambda a, b: lambda v, env: bool(a(v, env)) and bool(b(v, env)))(left, right)
        return left

    def negation(self) -> Evaluator:
        if self.at_word("not"):
            self.pos += 1
            inner = self.negation()
            return lambda v, env: not inner(v, env)
        return self.comparison()

    def comparison(self) -> Evaluator:
        left = self.operand()
        if self.at_word(*_COMPARISONS):
            op = self.take("ident")
            right = self.operand()
            return lambda v, env: _compare(op, left(v, env), right(v, env))
        return left

    def operand(self) -> Evaluator:
        token = self.peek()
        if token is None:
            raise _invalid_filter(f"unexpected end of '{self.text}'.")
        kind, value = token
        if kind == "literal":
            self.pos += 1
            return lambda v, env: value
        if kind == "punct" and value == "(":
            self.pos += 1
            inner = self.expression()
            self.take("punct", ")")
            return inner
        if kind == "ident" and value.lower() in _FUNCTIONS and self._next_is("("):
            return self.function_call()
        if kind == "ident":
            return self.path()
        raise _invalid_filter(f"unexpected '{value}' in '{self.text}'.")

    def _next_is(self, punct: str) -> bool:
        token = self.peek(1)
        return token is not None and token == ("punct", punct)

    def function_call(self) -> Evaluator:
        name = self.take("ident").lower()
        self.take("punct", "(")
        first = self.operand()
        self.take("punct", ",")
        second = self.operand()
        self.take("punct", ")")

        def call(v: Mapping[str, Any], env: dict[str, Any]) -> bool:
            haystack, needle = first(v, env), second(v, env)
            if not isinstance(haystack, str) or not isinstance(needle, str):
                return False
            haystack, needle = haystack.casefold(), needle.casefold()
            return {"startswith": haystack.startswith, "endswith": haystack.endswith}.get(
                name, haystack.__contains__
            )(needle)

        return call

    def path(self) -> Evaluator:
        segments = [self.take("ident")]
        while self.peek() == ("punct", "/"):
            self.pos += 1
            if self.at_word("any", "Any", "all", "All") and self._next_is("("):
                return self.lambda_over(list(segments))
            segments.append(self.take("ident"))
        return lambda v, env: _resolve(segments, v, env)

    def lambda_over(self, collection: list[str]) -> Evaluator:
        quantifier = self.take("ident").lower()
        self.take("punct", "(")
        if self.peek() == ("punct", ")"):
            self.pos += 1
            return lambda v, env: bool(_resolve(collection, v, env))
        variable = self.take("ident")
        self.take("punct", ":")
        self.variables.append(variable)
        body = self.expression()
        self.variables.pop()
        self.take("punct", ")")
        combine = any if quantifier == "any" else all

        def evaluate(v: Mapping[str, Any], env: dict[str, Any]) -> bool:
            items = _resolve(collection, v, env) or []
            if not isinstance(items, list):
                raise _invalid_filter(f"'{'/'.join(collection)}' is not a collection.")
            return combine(body(v, {**env, variable: item}) for item in items)

        return evaluate


def _resolve(segments: list[str], view: Mapping[str, Any], env: dict[str, Any]) -> Any:
    head, rest = segments[0], segments[1:]
    if head in env:
        current = env[head]
    else:
        if head not in view:
            raise unknown_property(head)
        current = view[head]
    for segment in rest:
        if current is None:
            return None
        if not isinstance(current, Mapping) or segment not in current:
            raise unknown_property(segment)
        current = current[segment]
    return current


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, dt.datetime) and isinstance(right, str):
        right = parse_datetime(right)
    if isinstance(right, dt.datetime) and isinstance(left, str):
        left = parse_datetime(left)
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.casefold(), right.casefold()
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
    except TypeError as exc:
        raise _invalid_filter(f"cannot compare {left!r} with {right!r}.") from exc


def parse_filter(text: str) -> FilterExpr:
    return FilterExpr(text, _Parser(text).parse())


def parse_select(text: str | None, allowed: Iterable[str]) -> list[str] | None:
    """`$select=subject,body` -> ["subject", "body"]; None when absent. Unknown names are a 400."""
    if text is None:
        return None
    known = {name.lower(): name for name in allowed}
    chosen: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        if name.lower() not in known:
            raise unknown_property(name)
        chosen.append(known[name.lower()])
    return chosen


def _split_top_level(text: str, separator: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def parse_expand(text: str | None, allowed: Iterable[str]) -> dict[str, FilterExpr | None]:
    """`$expand=singleValueExtendedProperties($filter=id eq '...')` -> {name: filter or None}."""
    if not text:
        return {}
    known = {name.lower(): name for name in allowed}
    expanded: dict[str, FilterExpr | None] = {}
    for item in _split_top_level(text, ","):
        name, _, options = item.partition("(")
        name = name.strip()
        if name.lower() not in known:
            raise unknown_property(name)
        nested: FilterExpr | None = None
        if options:
            if not options.endswith(")"):
                raise GraphError(400, "BadRequest", f"Invalid $expand clause '{item}'.")
            for option in _split_top_level(options[:-1], ";"):
                key, _, value = option.partition("=")
                if key.strip().lower() != "$filter":
                    raise GraphError(400, "BadRequest", f"Query option '{key.strip()}' is not supported in $expand.")
                nested = parse_filter(value)
        expanded[known[name.lower()]] = nested
    return expanded


def parse_orderby(text: str | None, allowed: Iterable[str]) -> list[tuple[str, bool]]:
    """`$orderby=sentDateTime desc` -> [("sentDateTime", True)]."""
    if not text:
        return []
    known = {name.lower(): name for name in allowed}
    order: list[tuple[str, bool]] = []
    for clause in _split_top_level(text, ","):
        words = clause.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise GraphError(400, "BadRequest", f"Invalid $orderby clause '{clause}'.")
        if words[0].lower() not in known:
            raise unknown_property(words[0])
        order.append((known[words[0].lower()], len(words) == 2 and words[1].lower() == "desc"))
    return order


def parse_count(name: str, raw: str | None, default: int, maximum: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit():
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option '{name}'.")
    return min(int(raw), maximum)
