"""The EU DCC JSON schema, compiled once into plain Python checks, and the EU value sets.

Validation uses the shipped EU schema release chosen by the payload's `ver`, compiled into fused
closures (`jsonschema` costs ~0.3 ms a payload, more than signing; the tests hold the compiled
checks to jsonschema's verdict). Coded fields are checked against the EU value sets: unknown codes
are refused everywhere, inactive ones only for new issuance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import cache
from typing import Any, Final

from vaxlink.certificates.errors import SchemaInvalid, ValueSetInvalid
from vaxlink.standards import EU_DCC_DIR, eu_schema, eu_valueset

ENTRY_KINDS: Final = ("v", "t", "r")

Check = Callable[[Any], str | None]


class ValueSets(StrEnum):
    """How strictly coded fields are held to the EU value sets."""

    IGNORE = "ignore"  # schema only
    KNOWN = "known"  # the code must exist (verifiers: inactive codes are fine)
    ACTIVE = "active"  # the code must exist and be active (new issuance)


@cache
def schema_releases() -> tuple[str, ...]:
    """The shipped schema releases, oldest first."""
    found = (p.name for p in (EU_DCC_DIR / "schema" / "releases").iterdir() if p.is_dir())
    return tuple(sorted(found, key=lambda v: tuple(int(x) for x in v.split("."))))


def schema_version_for(ver: object) -> str:
    """The release to validate a payload of version `ver` with: same major, newest not above it."""
    releases = schema_releases()
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", ver) if isinstance(ver, str) else None
    if match is None:
        return releases[-1]
    wanted = tuple(int(x) for x in match.groups())
    same = [r for r in releases if int(r.split(".")[0]) == wanted[0]]
    lower = [r for r in same if tuple(int(x) for x in r.split(".")) <= wanted]
    return (lower or same or list(releases))[-1]


@cache
def _version_for(ver: str) -> str:
    return schema_version_for(ver)


_PY_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}
_NODE_KEYS: Final = frozenset(
    {"$ref", "type", "properties", "required", "items", "pattern", "maxLength", "minItems",
     "maxItems", "minimum", "maximum", "oneOf", "anyOf", "valueset-uri"}
)  # fmt: skip
_ANNOTATIONS: Final = frozenset(
    {"title", "description", "examples", "$comment", "$schema", "$id", "$defs", "format"}
)
_STRING_KEYS: Final = frozenset({"type", "pattern", "maxLength", "valueset-uri"})
_OBJECT_KEYS: Final = frozenset({"type", "required", "properties", "oneOf", "anyOf"})
_ARRAY_KEYS: Final = frozenset({"type", "items", "minItems", "maxItems"})


def _accept(v: Any) -> None:
    return None


def _integer(low: float | None, high: float | None) -> Check:
    """Fast path for integer nodes (JSON rules: no booleans; 2.0 counts as an integer)."""

    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not (
            isinstance(v, int) or (isinstance(v, float) and v.is_integer())
        ):
            return "is not of type integer"
        if low is not None and v < low:
            return f"is less than {low}"
        if high is not None and v > high:
            return f"is more than {high}"
        return None

    return check


def _type_test(names: list[str]) -> Callable[[Any], bool]:
    """JSON Schema type membership with JSON's rules (bools are not numbers; 1.0 is an integer)."""
    py: tuple[type, ...] = tuple(t for n in names for t in _PY_TYPES.get(n, ()))
    integer, number = "integer" in names, "number" in names
    if not (integer or number):
        return lambda v: isinstance(v, py)

    def test(v: Any) -> bool:
        if isinstance(v, py):
            return True
        if isinstance(v, bool) or not isinstance(v, int | float):
            return False
        return number or (integer and (isinstance(v, int) or v.is_integer()))

    return test


class _Compiler:
    """Turns the DCC schema (the JSON Schema 2020-12 keywords it uses) into fused Python closures."""

    def __init__(self, root: Mapping[str, Any], value_sets: ValueSets) -> None:
        self.root = root
        self.value_sets = value_sets
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if not pointer.startswith("#/$defs/"):
            raise ValueError(f"only local $defs references are supported, not {pointer!r}")
        if pointer not in self.refs:
            target: list[Check] = []  # the indirection lets a definition refer to itself
            self.refs[pointer] = lambda v: target[0](v)
            target.append(self.compile(self.root["$defs"][pointer.removeprefix("#/$defs/")]))
            self.refs[pointer] = target[0]
        return self.refs[pointer]

    def values(self, uri: str) -> Mapping[str, Any] | None:
        name = uri.rpartition("/")[2].removesuffix(".json")
        if self.value_sets is ValueSets.IGNORE:
            return None
        if not (EU_DCC_DIR / "valuesets" / f"{name}.json").is_file():
            return None  # e.g. test-manf: the real list lives in the JRC database, not here
        values: Mapping[str, Any] = eu_valueset(name)["valueSetValues"]
        return values

    def compile(self, node: Mapping[str, Any]) -> Check:
        unknown = set(node) - _NODE_KEYS - _ANNOTATIONS
        if unknown:
            raise ValueError(f"schema keywords {sorted(unknown)} are not supported")
        keys = set(node) & _NODE_KEYS
        if not keys:
            return _accept
        if keys == {"$ref"}:
            return self.ref(node["$ref"])
        if node.get("type") == "string" and keys <= _STRING_KEYS:
            return self.string(node)
        if node.get("type") == "object" and keys <= _OBJECT_KEYS:
            return self.object(node)
        if node.get("type") == "array" and keys <= _ARRAY_KEYS:
            return self.array(node)
        if node.get("type") == "integer" and keys <= {"type", "minimum", "maximum"}:
            return _integer(node.get("minimum"), node.get("maximum"))
        if keys == {"required"}:  # the branches of oneOf/anyOf
            needed = frozenset(node["required"])
            message = f"lacks one of {', '.join(node['required'])}"
            return lambda v: message if isinstance(v, dict) and not needed <= v.keys() else None
        ref = self.ref(node["$ref"]) if "$ref" in node else None
        type_ok = (
            _type_test(t if isinstance(t := node["type"], list) else [t])
            if "type" in node
            else None
        )
        type_name = node.get("type")
        search = re.compile(node["pattern"]).search if "pattern" in node else None
        pattern, max_length = node.get("pattern"), node.get("maxLength")
        minimum, maximum = node.get("minimum"), node.get("maximum")
        min_items, max_items = node.get("minItems"), node.get("maxItems")
        required = tuple(node.get("required", ()))
        props = tuple((n, self.compile(sub)) for n, sub in node.get("properties", {}).items())
        props = tuple((n, c) for n, c in props if c is not _accept)
        items = self.compile(node["items"]) if "items" in node else None
        one_of = tuple(self.compile(sub) for sub in node.get("oneOf", ()))
        any_of = tuple(self.compile(sub) for sub in node.get("anyOf", ()))
        values = self.values(node["valueset-uri"]) if "valueset-uri" in node else None
        need_active = self.value_sets is ValueSets.ACTIVE

        def check(v: Any) -> str | None:
            if type_ok is not None and not type_ok(v):
                return f"is not of type {type_name}"
            if isinstance(v, str):
                if search is not None and not search(v):
                    return f"does not match {pattern!r}"
                if max_length is not None and len(v) > max_length:
                    return f"is longer than {max_length}"
                if values is not None:
                    entry = values.get(v)
                    if entry is None:
                        return f"{v!r} is not in the EU value set"
                    if need_active and not entry.get("active", False):
                        return f"{v!r} is inactive in the EU value set"
            elif isinstance(v, dict):
                for name in required:
                    if name not in v:
                        return f"lacks required {name}"
                for name, sub in props:
                    if name in v and (error := sub(v[name])) is not None:
                        return f"/{name}{error}" if error[0] == "/" else f"/{name}: {error}"
            elif isinstance(v, list):
                if min_items is not None and len(v) < min_items:
                    return f"has fewer than {min_items} items"
                if max_items is not None and len(v) > max_items:
                    return f"has more than {max_items} items"
                if items is not None:
                    for i, item in enumerate(v):
                        if (error := items(item)) is not None:
                            return f"/{i}{error}" if error[0] == "/" else f"/{i}: {error}"
            elif isinstance(v, int | float) and not isinstance(v, bool):
                if minimum is not None and v < minimum:
                    return f"is less than {minimum}"
                if maximum is not None and v > maximum:
                    return f"is more than {maximum}"
            if one_of and sum(1 for sub in one_of if sub(v) is None) != 1:
                return "does not match exactly one of the oneOf alternatives"
            if any_of and all(sub(v) is not None for sub in any_of):
                return "matches none of the anyOf alternatives"
            return ref(v) if ref is not None else None

        return check

    def string(self, node: Mapping[str, Any]) -> Check:
        """Fast path for the many plain string nodes (codes, names, dates)."""
        pattern, max_length = node.get("pattern"), node.get("maxLength", -1)
        search = re.compile(pattern).search if pattern is not None else None
        values = self.values(node["valueset-uri"]) if "valueset-uri" in node else None
        need_active = self.value_sets is ValueSets.ACTIVE

        def check(v: Any) -> str | None:
            if not isinstance(v, str):
                return "is not of type string"
            if search is not None and not search(v):
                return f"does not match {pattern!r}"
            if max_length >= 0 and len(v) > max_length:
                return f"is longer than {max_length}"
            if values is not None:
                entry = values.get(v)
                if entry is None:
                    return f"{v!r} is not in the EU value set"
                if need_active and not entry.get("active", False):
                    return f"{v!r} is inactive in the EU value set"
            return None

        return check

    def object(self, node: Mapping[str, Any]) -> Check:
        """Fast path for objects: `required`, `properties`, and `oneOf`/`anyOf` alternatives."""
        required = frozenset(node.get("required", ()))
        compiled = ((n, self.compile(sub)) for n, sub in node.get("properties", {}).items())
        props = tuple((n, c) for n, c in compiled if c is not _accept)
        branches = node.get("oneOf", ())
        # oneOf of plain `required` lists (the DCC root: exactly one of v, t, r) as key-set tests
        one_of_keys = (
            tuple(frozenset(sub["required"]) for sub in branches)
            if branches and all(set(sub) & _NODE_KEYS == {"required"} for sub in branches)
            else ()
        )
        one_of = () if one_of_keys else tuple(self.compile(sub) for sub in branches)
        any_of = tuple(self.compile(sub) for sub in node.get("anyOf", ()))

        def check(v: Any) -> str | None:
            if not isinstance(v, dict):
                return "is not of type object"
            keys = v.keys()
            if not required <= keys:
                return f"lacks required {', '.join(sorted(required - keys))}"
            if one_of_keys and [need <= keys for need in one_of_keys].count(True) != 1:
                return "does not match exactly one of the oneOf alternatives"
            if one_of and sum(1 for sub in one_of if sub(v) is None) != 1:
                return "does not match exactly one of the oneOf alternatives"
            if any_of and all(sub(v) is not None for sub in any_of):
                return "matches none of the anyOf alternatives"
            for name, sub in props:
                if name in v and (error := sub(v[name])) is not None:
                    return f"/{name}{error}" if error[0] == "/" else f"/{name}: {error}"
            return None

        return check

    def array(self, node: Mapping[str, Any]) -> Check:
        """Fast path for arrays: `items`, `minItems`, `maxItems`."""
        items = self.compile(node.get("items", {}))
        low, high = node.get("minItems", 0), node.get("maxItems")

        def check(v: Any) -> str | None:
            if not isinstance(v, list):
                return "is not of type array"
            if len(v) < low:
                return f"has fewer than {low} items"
            if high is not None and len(v) > high:
                return f"has more than {high} items"
            for i, item in enumerate(v):
                if (error := items(item)) is not None:
                    return f"/{i}{error}" if error[0] == "/" else f"/{i}: {error}"
            return None

        return check


@cache
def compiled_schema(version: str, value_sets: ValueSets = ValueSets.IGNORE) -> Check:
    """The compiled checks of schema release `version`; returns an error message or None."""
    return _Compiler(eu_schema(version), value_sets).compile(eu_schema(version))


def entry_kind(payload: Mapping[str, Any]) -> str:
    """'v', 't' or 'r'; raises `SchemaInvalid` unless exactly one entry group is present."""
    kinds = [k for k in ENTRY_KINDS if k in payload]
    if len(kinds) != 1:
        raise SchemaInvalid(f"a DCC holds exactly one of v, t, r; this one holds {kinds or 'none'}")
    return kinds[0]


def validate_payload(payload: Any, *, value_sets: ValueSets = ValueSets.IGNORE) -> str:
    """Check `payload` against the schema release for its `ver`; returns that release."""
    ver = payload.get("ver") if isinstance(payload, Mapping) else None
    version = _version_for(ver) if isinstance(ver, str) else schema_releases()[-1]
    error = compiled_schema(version, value_sets)(payload)
    if error is not None:
        schema_error = compiled_schema(version, ValueSets.IGNORE)(payload)
        if schema_error is None:
            raise ValueSetInvalid(f"coded field {error.lstrip('/ ')}")
        raise SchemaInvalid(
            f"the DCC does not follow schema {version}: {schema_error.lstrip('/ ')}"
        )
    entry_kind(payload)
    return version
