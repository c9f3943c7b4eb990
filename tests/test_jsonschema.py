"""TypedDicts drawn as JSON Schema (app/jsonschema.py): what the OpenAPI document's
schemas are made of. This module postpones its annotations, as Depot's modules do:
Python 3.11 then files NotRequired keys as required, which the converter must not."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pytest
from jsonschema import Draft202012Validator

from app.jsonschema import Keywords, Time, components, object_schema, one_of, schema_of


class Colour(enum.Enum):
    red = "red"
    blue = "blue"


class Inner(TypedDict):
    n: Annotated[int, Keywords(minimum=0), "how many"]


class Outer(TypedDict):
    """what the test draws"""

    name: str
    note: NotRequired[str]
    kind: Literal["a", "b"]
    colour: Colour
    shade: Annotated[str | None, one_of(Colour)]
    maybe: str | None
    at: Time | None
    inner: Inner
    inners: list[Inner]
    tags: tuple[str, ...]
    counts: dict[str, int]
    extra: dict[str, Any]
    ratio: float
    flag: bool


class Base(TypedDict):
    id: int


class Derived(Base):
    label: str


def test_an_object_with_required_and_optional_keys() -> None:
    schema = object_schema(Outer)
    assert schema["type"] == "object" and schema["description"] == "what the test draws"
    assert "note" not in schema["required"] and "note" in schema["properties"]
    assert schema["required"] == [k for k in Outer.__annotations__ if k != "note"]
    assert "additionalProperties" not in schema  # open objects, as the API's always were


@pytest.mark.parametrize(("key", "expected"), [
    ("name", {"type": "string"}),
    ("note", {"type": "string"}),
    ("kind", {"type": "string", "enum": ["a", "b"]}),
    ("colour", {"type": "string", "enum": ["red", "blue"]}),
    ("shade", {"type": ["string", "null"], "enum": ["red", "blue", None]}),
    ("maybe", {"type": ["string", "null"]}),
    ("at", {"type": ["string", "null"], "format": "date-time"}),
    ("inner", {"type": "object", "required": ["n"], "properties": {
        "n": {"type": "integer", "minimum": 0, "description": "how many"}}}),
    ("tags", {"type": "array", "items": {"type": "string"}}),
    ("counts", {"type": "object", "additionalProperties": {"type": "integer"}}),
    ("extra", {"type": "object"}),
    ("ratio", {"type": "number"}),
    ("flag", {"type": "boolean"}),
])
def test_each_kind_of_field(key: str, expected: dict[str, Any]) -> None:
    assert object_schema(Outer)["properties"][key] == expected


def test_a_named_shape_is_a_ref_and_a_nullable_one_a_choice() -> None:
    refs = {Inner: "Inner"}
    assert schema_of(list[Inner], refs) == {
        "type": "array", "items": {"$ref": "#/components/schemas/Inner"}}
    assert schema_of(Inner | None, refs) == {
        "oneOf": [{"$ref": "#/components/schemas/Inner"}, {"type": "null"}]}


def test_a_single_literal_is_a_const() -> None:
    assert schema_of(Literal[100]) == {"type": "integer", "const": 100}
    assert schema_of(Literal["x"] | None) == {"oneOf": [{"type": "string", "const": "x"},
                                                        {"type": "null"}]}


def test_one_of_takes_a_constant_too() -> None:
    assert schema_of(Annotated[str, one_of({"x": 1, "y": 2})]) == {
        "type": "string", "enum": ["x", "y"]}


def test_components_draw_a_subclass_as_all_of_its_base() -> None:
    drawn = components({"Base": Base, "Derived": Derived, "Outer": Outer, "Inner": Inner},
                       bases={Derived: Base})
    assert drawn["Derived"] == {"allOf": [
        {"$ref": "#/components/schemas/Base"},
        {"type": "object", "required": ["label"], "properties": {"label": {"type": "string"}}},
    ]}
    assert drawn["Outer"]["properties"]["inner"] == {"$ref": "#/components/schemas/Inner"}
    with pytest.raises(TypeError, match="does not extend"):
        components({"Base": Base, "Inner": Inner}, bases={Inner: Base})


def test_what_the_schema_allows_is_what_the_type_allows() -> None:
    schema = {"$ref": "#/components/schemas/Outer",
              "components": {"schemas": components({"Outer": Outer, "Inner": Inner})}}
    # As the JSON holds it: an Enum by its value.
    good: dict[str, Any] = {"name": "x", "kind": "a", "colour": "red", "shade": None,
                            "maybe": "m", "at": "2024-01-02T03:04:05+00:00",
                            "inner": {"n": 1}, "inners": [], "tags": ["t"],
                            "counts": {"a": 1}, "extra": {"k": [1]}, "ratio": 0.5,
                            "flag": True}
    validator = Draft202012Validator(schema)
    assert list(validator.iter_errors(good)) == []
    for key, bad in (("kind", "c"), ("shade", "green"), ("inner", {"n": -1}),
                     ("maybe", 1), ("name", None)):
        assert list(validator.iter_errors({**good, key: bad})), key
    assert list(validator.iter_errors({k: v for k, v in good.items() if k != "name"}))


@pytest.mark.parametrize("hint", [int | str, set[str], dict[int, str], tuple[str, int],
                                  Literal["a", 1], bytes])
def test_what_json_cannot_say_is_refused(hint: Any) -> None:
    with pytest.raises(TypeError):
        schema_of(hint)
