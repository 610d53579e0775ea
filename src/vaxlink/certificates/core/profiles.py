"""A small FHIR profile checker driven by data: cardinalities, fixed values, bindings and
reference targets, as listed in `vaxlink/standards/who_ddcc/profiles.json`.

Not a FHIR validator: structure and datatypes are fhir.resources' job; this checks what a profile
adds on top (the WHO DDCC IG's differential). Rules name an element by a dotted path whose steps
may carry a filter, `entry[resource.resourceType=Patient]` or
`extension[url=http://…/DDCCEventBrand]`; a rule with a `context` is checked once for every node
its context finds, so `1..1` means one per parent, as FHIR cardinalities do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

_STEP: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([^=\]]+)=([^\]]*)\])?")
#: Binding strengths whose violation is an error; the others are reported as warnings.
_STRICT: Final = frozenset({"required", "extensible"})


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding: `error` breaks the profile, `warning` misses a preferred binding."""

    severity: str
    profile: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.profile.rsplit('/', 1)[-1]} {self.path}: {self.message}"


def _steps(path: str) -> list[tuple[str, str | None, str | None]]:
    """`a.b[x.y=v].c` -> [(a, None, None), (b, x.y, v), (c, None, None)]; dots inside brackets
    stay in the filter."""
    steps: list[tuple[str, str | None, str | None]] = []
    depth, start = 0, 0
    for i, ch in enumerate(path + "."):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "." and depth == 0:
            match = _STEP.fullmatch(path[start:i])
            if match is None:
                raise ValueError(f"bad profile path {path!r}")
            steps.append((match[1], match[2], match[3]))
            start = i + 1
    return steps


def _children(node: Any, name: str) -> Iterator[Any]:
    if isinstance(node, Mapping) and name in node:
        value = node[name]
        if isinstance(value, list):
            yield from value
        elif value is not None:
            yield value


def select(node: Any, path: str) -> list[Any]:
    """The nodes `path` finds below `node` (lists flattened, filters applied)."""
    found = [node]
    for name, key, value in _steps(path):
        found = [child for parent in found for child in _children(parent, name)]
        if key is not None:
            found = [n for n in found if any(str(v) == value for v in select(n, key))]
    return found


def matches(node: Any, pattern: Any) -> bool:
    """FHIR pattern semantics: a mapping matches when each of its keys does, a list when each
    pattern item matches some node item, anything else by equality."""
    if isinstance(pattern, Mapping):
        return isinstance(node, Mapping) and all(
            k in node and matches(node[k], v) for k, v in pattern.items()
        )
    if isinstance(pattern, list):
        items = node if isinstance(node, list) else [node]
        return all(any(matches(n, p) for n in items) for p in pattern)
    return bool(node == pattern)


def _codings(node: Any) -> list[tuple[str | None, str]]:
    if isinstance(node, str):
        return [(None, node)]
    if isinstance(node, Mapping) and "coding" in node:
        return [(c.get("system"), str(c.get("code"))) for c in node["coding"]]
    if isinstance(node, Mapping) and "code" in node:
        return [(node.get("system"), str(node["code"]))]
    return []


class ProfileSet:
    """The profiles and value sets of one rules document (`profiles.json`)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.profiles: Mapping[str, Any] = document["profiles"]
        self.value_sets: Mapping[str, Mapping[str, Sequence[str]]] = document.get("valueSets", {})

    def _in_value_set(self, url: str, node: Any) -> bool | None:
        """Whether a code of `node` is in the value set; None when the set is not shipped."""
        members = self.value_sets.get(url)
        if members is None:
            return None
        for system, code in _codings(node):
            if system is None and any(code in codes for codes in members.values()):
                return True
            if system is not None and code in members.get(system, ()):
                return True
        return False

    def check(
        self, resource: Mapping[str, Any], profile: str, *, bundle: Mapping[str, Any] | None = None
    ) -> list[Issue]:
        """Every finding of `resource` against `profile`; references resolve inside `bundle`."""
        spec = self.profiles.get(profile)
        if spec is None:
            return [Issue("error", profile, "", "profile unknown to this checker")]
        issues: list[Issue] = []
        kind = resource.get("resourceType")
        if kind != spec["resourceType"]:
            issues.append(Issue("error", profile, "", f"is a {kind}, not a {spec['resourceType']}"))
            return issues
        if profile not in resource.get("meta", {}).get("profile", []):
            issues.append(Issue("error", profile, "meta.profile", "does not claim the profile"))
        resolver = _Resolver(bundle if bundle is not None else resource)
        for rule in spec["rules"]:
            contexts = select(resource, rule["context"]) if "context" in rule else [resource]
            where = f"{rule['context']}.{rule['path']}" if "context" in rule else rule["path"]
            for context in contexts:
                issues += self._rule(rule, select(context, rule["path"]), profile, where, resolver)
        return issues

    def _rule(
        self,
        rule: Mapping[str, Any],
        nodes: list[Any],
        profile: str,
        where: str,
        resolver: _Resolver,
    ) -> list[Issue]:
        out: list[Issue] = []
        low, high = rule.get("min", 0), rule.get("max")
        if len(nodes) < low or (high is not None and len(nodes) > high):
            bound = "*" if high is None else high
            out.append(
                Issue("error", profile, where, f"{len(nodes)} found, {low}..{bound} allowed")
            )
        for node in nodes:
            if "fixed" in rule and not matches(node, rule["fixed"]):
                out.append(Issue("error", profile, where, f"must be {rule['fixed']!r}"))
            if "binding" in rule:
                binding = rule["binding"]
                if self._in_value_set(binding["valueSet"], node) is False:
                    severity = "error" if binding["strength"] in _STRICT else "warning"
                    out.append(Issue(severity, profile, where,
                                     f"no code from {binding['valueSet']} ({binding['strength']})"))  # fmt: skip
            if "target" in rule:
                target = resolver.resolve(node)
                if target is None:
                    out.append(Issue("error", profile, where, "reference does not resolve"))
                elif rule["target"] not in target.get("meta", {}).get("profile", []):
                    out.append(Issue("error", profile, where, f"must point to a {rule['target']}"))
            if "profile" in rule:
                out += self.check(node, rule["profile"], bundle=resolver.bundle)
        return out

    def check_bundle(self, bundle: Mapping[str, Any], profile: str) -> list[Issue]:
        """The document Bundle against `profile`, its entries against the profiles it names."""
        return self.check(bundle, profile, bundle=bundle)


class _Resolver:
    """Resolves `Reference.reference` to the entry with that `fullUrl` in a Bundle."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self.bundle = bundle
        self._by_url = {
            e.get("fullUrl"): e.get("resource") for e in bundle.get("entry", []) if "resource" in e
        }

    def resolve(self, reference: Any) -> Mapping[str, Any] | None:
        if not isinstance(reference, Mapping):
            return None
        found = self._by_url.get(reference.get("reference"))
        return found if isinstance(found, Mapping) else None
