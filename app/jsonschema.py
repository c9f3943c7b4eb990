"""JSON Schema drawn from TypedDicts, so that a JSON answer's shape is written once: as
the type its builder returns (mypy checks the builder against it) and, through
``components``, as the OpenAPI document's schema (app/api/openapi.py).

A key is required unless it is ``NotRequired``; ``X | None`` is nullable; ``Literal``
and ``Enum`` types give an ``enum``; ``list``, ``tuple[X, ...]`` and ``dict[str, X]``
are arrays and maps. ``Annotated`` adds what a type cannot say: a plain string is the
field's description, ``Keywords(...)`` any other JSON Schema keywords (a minimum, a
format, the values of a constant). A TypedDict's docstring is its schema's description,
so a shape with nothing to tell the API's readers has a comment instead.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Iterable, Mapping
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

REF = "#/components/schemas/"
_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean",
                          type(None): "null"}


class Keywords:
    """JSON Schema keywords for one field, in ``Annotated[T, Keywords(minimum=0)]``; hashed
    by identity, as ``X | None`` needs its metadata hashable and an ``enum`` is a list."""

    def __init__(self, **values: Any) -> None:
        self.values = values

    def __repr__(self) -> str:
        return f"Keywords({self.values!r})"


def one_of(choices: type[enum.Enum] | Iterable[Any]) -> Keywords:
    """An ``enum`` of a field the code keeps as a plain value: an Enum's values, or a
    constant's (a mapping's keys), so the list is the code's own."""
    if isinstance(choices, type) and issubclass(choices, enum.Enum):
        return Keywords(enum=[member.value for member in choices])
    return Keywords(enum=list(choices))


# An RFC 3339 time, as the API's iso() writes it.
Time = Annotated[str, Keywords(format="date-time")]


def components(named: Mapping[str, type], bases: Mapping[type, type] | None = None,
               ) -> dict[str, Any]:
    """``components.schemas``: each named TypedDict, where a TypedDict named here appears
    inside another as a ``$ref``. ``bases`` maps a shape to the named one it extends (a
    TypedDict keeps no record of its bases at run time): it is drawn as ``allOf`` the
    base and its own keys."""
    refs = {shape: name for name, shape in named.items()}
    out: dict[str, Any] = {}
    for name, shape in named.items():
        base = (bases or {}).get(shape)
        if base is None:
            out[name] = object_schema(shape, refs)
            continue
        inherited = set(get_type_hints(base))
        if not inherited <= set(get_type_hints(shape)):
            raise TypeError(f"{shape.__name__} does not extend {base.__name__}")
        out[name] = {"allOf": [{"$ref": REF + refs[base]},
                               object_schema(shape, refs, skip=inherited)]}
    return out


def object_schema(shape: type, refs: Mapping[type, str] | None = None,
                  skip: Iterable[str] = ()) -> dict[str, Any]:
    """A TypedDict as an object schema, its keys in ``skip`` left out."""
    hints = get_type_hints(shape, include_extras=True)
    properties: dict[str, Any] = {}
    required: list[str] = []
    total: frozenset[str] = getattr(shape, "__required_keys__", frozenset())
    for key, hint in hints.items():
        if key in skip:
            continue
        # From the hint itself: with postponed annotations, Python 3.11 files a
        # NotRequired key under __required_keys__.
        wrapper = get_origin(hint)
        if wrapper in (Required, NotRequired):
            hint = get_args(hint)[0]
        if wrapper is Required or (wrapper is not NotRequired and key in total):
            required.append(key)
        properties[key] = schema_of(hint, refs)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    if shape.__doc__:
        out["description"] = " ".join(shape.__doc__.split())  # one line, as JSON has it
    return out


def schema_of(hint: Any, refs: Mapping[type, str] | None = None) -> dict[str, Any]:
    """The schema of one annotation; a TypedDict in ``refs`` becomes a ``$ref``."""
    refs = refs or {}
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        out = schema_of(args[0], refs)
        for extra in args[1:]:
            if isinstance(extra, str):
                out["description"] = extra
            elif isinstance(extra, Keywords):
                out.update(extra.values)
        return _with_null(out) if isinstance(out.get("type"), list) else out
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(rest) == len(args):
            raise TypeError(f"only X | None is drawn, not {hint}")
        return _with_null(schema_of(rest[0], refs))
    if origin is Literal:
        return _literal(list(args))
    if origin in (list, tuple):
        if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            raise TypeError(f"only tuple[X, ...] is drawn, not {hint}")
        return {"type": "array", "items": schema_of(args[0], refs)}
    if origin is dict:
        if args[0] is not str:
            raise TypeError(f"JSON keys are strings: {hint}")
        values = schema_of(args[1], refs)
        return {"type": "object", **({"additionalProperties": values} if values else {})}
    if origin is not None:
        raise TypeError(f"no JSON Schema for {hint!r}")
    if hint is Any:
        return {}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _literal([member.value for member in hint])
    if is_typeddict(hint):
        return {"$ref": REF + refs[hint]} if hint in refs else object_schema(hint, refs)
    if hint in _TYPES:
        return {"type": _TYPES[hint]}
    raise TypeError(f"no JSON Schema for {hint!r}")


def _literal(values: list[Any]) -> dict[str, Any]:
    kinds = {_TYPES[type(v)] for v in values}
    if len(kinds) != 1:
        raise TypeError(f"values of one JSON type only: {values}")
    if len(values) == 1:
        return {"type": kinds.pop(), "const": values[0]}
    return {"type": kinds.pop(), "enum": values}


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null: a second type when it has one type, else ``oneOf``."""
    kind = schema.get("type")
    if isinstance(kind, str) and "const" not in schema:
        schema = {**schema, "type": [kind, "null"]}
    elif not (isinstance(kind, list) and "null" in kind):
        return {"oneOf": [schema, {"type": "null"}]}
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema
