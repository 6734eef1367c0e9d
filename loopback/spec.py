"""Check REST requests against Discord's official OpenAPI 3.1 description of API v10.

The sandbox server calls `OpenAPISpec.validate` for every request the bot makes, so a request
Discord would reject (wrong type, missing field, bad enum value, unknown route) fails the test that
made it instead of passing silently against a lenient fake.

The spec file is not part of this repository. `OpenAPISpec.locate` finds it through the
DISCORD_OPENAPI_SPEC environment variable or at `<repo>/../shared/discord-api-spec/openapi.json`.

Choices, and where this deliberately differs from the letter of the spec:

* Snowflakes: the spec types them as strings only; Discord also accepts JSON integers and
  discord.py sends integers (channel ids, allowed-mention user ids...), so `SnowflakeType` is
  widened to "decimal string or non-negative 64-bit integer".
* Query parameters the spec does not list for the operation are reported. Discord ignores them,
  but here one is almost always a typo or a stale client, which a test should hear about.
* Query values arrive as strings and are read by the parameter's schema: integers and numbers
  are parsed, booleans accept true/false/1/0 (discord.py sends 1/0), arrays accept a repeated
  parameter or one comma-separated value (discord.py joins `sku_ids` with commas).
* `format` is asserted for date-time, uri (must have a scheme), snowflake (must fit 64 bits),
  int32 and int64 (ranges); other formats are annotations only. date-time is RFC 3339 except
  that the offset may be missing: Discord reads such a time as UTC and discord.py itself sends
  one (`utcnow().isoformat()` for `request_to_speak_timestamp`).
* multipart/form-data bodies are given as a mapping of part name to value (str for text parts,
  bytes for files). The object validated is the non-`payload_json` parts (files as a placeholder
  string) overlaid with the parsed `payload_json`, against the schema the spec gives for
  multipart/form-data (which for messages is the JSON body schema plus `files[0..9]`); if the
  operation has no multipart schema the JSON body schema is used. File parts whose names the
  multipart schema does not declare (e.g. `files[10]`) are reported when it declares any.
* application/x-www-form-urlencoded bodies are validated as given (discord.py never sends them).
"""

from __future__ import annotations

import json
import logging
import os
import re
import reprlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema import _keywords as standard_keywords
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["ENV_VAR", "OpenAPISpec", "default_spec_path"]

ENV_VAR = "DISCORD_OPENAPI_SPEC"
_API_PREFIX = "/api/v10"
# The document is registered under this URI so that `$ref`s like "#/components/schemas/X" inside
# any sub-schema resolve against the whole document, wherever validation starts.
_DOC_URI = "urn:discord-openapi-v10"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_MAX_PROBLEMS = 20
_UINT64_MAX = 2**64 - 1

_log = logging.getLogger(__name__)

_cache: dict[Path, OpenAPISpec] = {}
_cache_lock = threading.Lock()
_warned: set[tuple[str, ...]] = set()

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlist = 4
_short.maxdict = 4
_short.maxlevel = 2


def default_spec_path() -> Path:
    """Where the spec lives next to a checkout: <repo root>/../shared/discord-api-spec/openapi.json."""
    repo_root = Path(__file__).resolve().parents[1]
    return repo_root.parent / "shared" / "discord-api-spec" / "openapi.json"


# ---------------------------------------------------------------------------------------------
# Format checks. Each returns True for instances of other types, as JSON Schema formats must.

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")


def _is_date_time(instance: object) -> bool:
    """An RFC 3339 date-time, the offset optional (see the module docstring)."""
    if not isinstance(instance, str):
        return True
    if not _DATE_TIME.fullmatch(instance):
        return False
    try:
        datetime.fromisoformat(instance.upper())
    except ValueError:
        return False
    return True


def _is_uri(instance: object) -> bool:
    """A URI needs at least a scheme (Discord also takes attachment://name)."""
    return not isinstance(instance, str) or bool(urlsplit(instance).scheme)


def _is_snowflake(instance: object) -> bool:
    """A snowflake is an unsigned 64-bit integer (the pattern alone allows any length)."""
    if isinstance(instance, str) and instance.isdigit():
        return int(instance) <= _UINT64_MAX
    return True


def _int_range(bits: int) -> Any:
    """A format check that an integer fits a signed integer of the given width."""
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def check(instance: object) -> bool:
        if isinstance(instance, bool) or not isinstance(instance, int):
            return True
        return low <= instance <= high

    return check


def _format_checker() -> FormatChecker:
    """The formats this module asserts (see the module docstring)."""
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_is_date_time)
    checker.checks("uri")(_is_uri)
    checker.checks("snowflake")(_is_snowflake)
    checker.checks("int32")(_int_range(32))
    checker.checks("int64")(_int_range(64))
    return checker


# ---------------------------------------------------------------------------------------------


def _pointer(*parts: str | int) -> str:
    """A JSON pointer fragment, escaped per RFC 6901."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class _Param:
    """One path or query parameter of an operation."""

    name: str
    pointer: str
    required: bool
    types: frozenset[str]
    item_types: frozenset[str]
    validator: Draft202012Validator

    def coerce(self, values: list[str]) -> Any:
        """Read the raw string value(s) the way Discord would, by the parameter's schema."""
        if "array" in self.types and (len(values) > 1 or "string" not in self.types):
            items = values
            if len(values) == 1:
                items = [v.strip() for v in values[0].split(",")] if values[0] else []
            return [_coerce_scalar(v, self.item_types) for v in items]
        return _coerce_scalar(values[0], self.types)


def _coerce_scalar(value: str, types: frozenset[str]) -> Any:
    """A string from a URL as the JSON value the schema most plausibly means."""
    if "string" in types or not types:
        return value
    if "integer" in types and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if "number" in types:
        try:
            return float(value)
        except ValueError:
            pass
    if "boolean" in types:
        lowered = value.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    return value


@dataclass
class _Operation:
    """One method of one path template, with its lazily built validators."""

    method: str
    template: str
    pointer: str
    path_params: dict[str, _Param]
    query_params: dict[str, _Param]
    body_required: bool
    body_types: tuple[str, ...]
    body_validators: dict[str, Draft202012Validator] = field(default_factory=dict)
    file_fields: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class _Template:
    """A path template split into segments; None marks a parameter segment."""

    template: str
    segments: tuple[str | None, ...]
    param_names: tuple[str, ...]
    operations: dict[str, _Operation]


class OpenAPISpec:
    """Discord's OpenAPI document, compiled into path matchers and JSON Schema validators."""

    def __init__(self, document: dict[str, Any], path: Path | None = None, *, fast_unions: bool = True) -> None:
        """Compile a parsed OpenAPI document (see `load` for the cached way in)."""
        self.path = path
        self._doc = _widen_permission_bitsets(_widen_snowflakes(document))
        resource = Resource.from_contents(self._doc, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_DOC_URI, resource)
        self._formats = _format_checker()
        # fast_unions=False keeps jsonschema's own oneOf/anyOf; tests use it to check the shortcut.
        self._unions, self._enums = self._plan_unions() if fast_unions else ({}, {})
        self._validator_class = _dispatching_validator(self._unions, self._enums)
        self._lock = threading.Lock()
        self._by_length: dict[int, list[_Template]] = {}
        for template, item in self._doc.get("paths", {}).items():
            compiled = self._compile_template(template, item)
            self._by_length.setdefault(len(compiled.segments), []).append(compiled)
        for candidates in self._by_length.values():
            # Literal segments beat parameters, earlier segments first: /users/@me before
            # /users/{user_id}, /channels/{id}/messages/pins before .../messages/{message_id}.
            candidates.sort(key=lambda t: tuple(seg is None for seg in t.segments))

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> OpenAPISpec:
        """Load and compile the spec at `path`, once per process."""
        key = Path(path).resolve()
        with _cache_lock:
            spec = _cache.get(key)
            if spec is None:
                with key.open(encoding="utf-8") as f:
                    spec = cls(json.load(f), key)
                _cache[key] = spec
            return spec

    @classmethod
    def locate(cls, environ: Mapping[str, str] | None = None) -> OpenAPISpec | None:
        """The spec from $DISCORD_OPENAPI_SPEC or beside the repo, or None with a warning."""
        env = os.environ if environ is None else environ
        configured = env.get(ENV_VAR)
        candidate = Path(configured) if configured else default_spec_path()
        if candidate.is_file():
            return cls.load(candidate)
        looked = (str(candidate),)
        # Tests start many sandboxes; one warning per place looked is enough.
        if looked not in _warned:
            _warned.add(looked)
            _log.warning(
                "Discord's OpenAPI spec was not found (looked in %s); REST requests will not be "
                "validated. Set %s to its path.",
                ", ".join(looked),
                ENV_VAR,
            )
        return None

    def _compile_template(self, template: str, item: dict[str, Any]) -> _Template:
        """Split a path template and collect its operations and parameters."""
        segments: list[str | None] = []
        names: list[str] = []
        for raw in template.strip("/").split("/"):
            if raw.startswith("{") and raw.endswith("}"):
                segments.append(None)
                names.append(raw[1:-1])
            else:
                segments.append(raw)
        path_params: dict[str, _Param] = {}
        for i, param in enumerate(item.get("parameters", [])):
            if param.get("in") == "path":
                path_params[param["name"]] = self._param(param, _pointer("paths", template, "parameters", i))
        operations: dict[str, _Operation] = {}
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            op_pointer = _pointer("paths", template, method)
            own_path = dict(path_params)
            query: dict[str, _Param] = {}
            for i, param in enumerate(op.get("parameters", [])):
                compiled = self._param(param, op_pointer + _pointer("parameters", i))
                if param.get("in") == "query":
                    query[param["name"]] = compiled
                elif param.get("in") == "path":
                    own_path[param["name"]] = compiled
            body = op.get("requestBody") or {}
            operations[method.upper()] = _Operation(
                method=method.upper(),
                template=template,
                pointer=op_pointer,
                path_params=own_path,
                query_params=query,
                body_required=bool(body.get("required")),
                body_types=tuple(body.get("content", {})),
            )
        return _Template(template, tuple(segments), tuple(names), operations)

    def _param(self, param: dict[str, Any], pointer: str) -> _Param:
        """Compile one parameter object."""
        schema = param.get("schema", {})
        items = self._deref(schema).get("items", {})
        return _Param(
            name=param["name"],
            pointer=pointer,
            required=bool(param.get("required")),
            types=self._types(schema),
            item_types=self._types(items),
            validator=self._validator(pointer + "/schema"),
        )

    def _validator(self, pointer: str) -> Draft202012Validator:
        """A validator for the sub-schema at `pointer` inside the whole document."""
        validator: Draft202012Validator = self._validator_class(
            {"$ref": f"{_DOC_URI}#{pointer}"}, registry=self._registry, format_checker=self._formats
        )
        return validator

    def _deref(self, schema: Any) -> dict[str, Any]:
        """Follow local `$ref`s until a schema with content is reached."""
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            target: Any = self._doc
            for part in ref.lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            schema = target
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def _types(self, schema: Any) -> frozenset[str]:
        """Every JSON type a schema (through refs and combinators) may take."""
        schema = self._deref(schema)
        found: set[str] = set()
        declared = schema.get("type")
        if isinstance(declared, str):
            found.add(declared)
        elif isinstance(declared, list):
            found.update(declared)
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key, []):
                found |= self._types(sub)
        found.discard("null")
        return frozenset(found)

    # -- discriminated unions ---------------------------------------------------------------------
    #
    # Discord's unions (message components, command options, interaction callbacks, scheduled events)
    # are told apart by a property such as `type` or `entity_type`. Plain oneOf evaluation tries every
    # member and then re-checks the rest for a second match, which made a bulk command overwrite cost
    # ~4 ms. Where each member pins that property to values no other member accepts, every member but
    # the one named by the instance must fail, so validating that one member alone gives the same
    # verdict; other instances still go through the standard keyword. Enumerations written as a
    # oneOf of bare consts are likewise answered by a set lookup when the value is one of them.

    def _plan_unions(self) -> tuple[_UnionPlans, _EnumPlans]:
        """For each oneOf/anyOf list in the document (by id): its dispatch plan or its const set."""
        plans: _UnionPlans = {}
        enums: _EnumPlans = {}
        stack: list[Any] = [self._doc]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key in ("oneOf", "anyOf"):
                    options = node.get(key)
                    if not isinstance(options, list):
                        continue
                    consts = _bare_consts(options)
                    if consts is not None:
                        enums[id(options)] = consts
                        continue
                    plan = self._plan_union(options)
                    if plan is not None:
                        plans[id(options)] = plan
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return plans, enums

    def _plan_union(self, options: list[Any]) -> tuple[str, dict[tuple[str, Any], int]] | None:
        """The discriminating property of one union and which member each of its values selects."""
        members: list[tuple[int, dict[str, frozenset[tuple[str, Any]] | None]]] = []
        for index, option in enumerate(options):
            schema = self._deref(option)
            declared = schema.get("type")
            types = {declared} if isinstance(declared, str) else set(declared or ())
            if types and "object" not in types:
                continue  # cannot match an object at all
            members.append((index, self._pinned_properties(schema)))
        if len(members) < 2:
            return None
        common = set.intersection(*({k for k, v in props.items() if v is not None} for _, props in members))
        for name in sorted(common, key=lambda n: (n != "type", n)):
            table: dict[tuple[str, Any], int] = {}
            shared: set[tuple[str, Any]] = set()
            for index, props in members:
                for value in props[name] or ():
                    if value in table:
                        shared.add(value)
                    table[value] = index
            for value in shared:
                del table[value]  # a value two members accept needs the full oneOf
            if table:
                return name, table
        return None

    def _pinned_properties(self, schema: dict[str, Any]) -> dict[str, frozenset[tuple[str, Any]] | None]:
        """Each property an object schema (with its allOf members) declares -> its finite values."""
        found: dict[str, frozenset[tuple[str, Any]] | None] = {}
        for part in [schema, *(self._deref(s) for s in schema.get("allOf", []))]:
            for name, prop in part.get("properties", {}).items():
                values = self._finite_values(prop)
                previous = found.get(name)
                if previous is not None and values is not None:
                    found[name] = previous & values
                elif values is not None or name not in found:
                    found[name] = values
        return found

    def _finite_values(self, schema: Any, depth: int = 0) -> frozenset[tuple[str, Any]] | None:
        """The values a schema allows when it allows only finitely many (const/enum), else None."""
        schema = self._deref(schema)
        if depth > 8:
            return None
        sets: list[frozenset[tuple[str, Any]]] = []
        try:
            if "const" in schema:
                sets.append(frozenset({_value_key(schema["const"])}))
            if isinstance(schema.get("enum"), list):
                sets.append(frozenset(_value_key(v) for v in schema["enum"]))
        except TypeError:  # an array or object const: not usable as a discriminator
            return None
        for sub in schema.get("allOf", []):
            inner = self._finite_values(sub, depth + 1)
            if inner is not None:
                sets.append(inner)
        options = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(options, list) and options:
            members = [self._finite_values(o, depth + 1) for o in options]
            if all(m is not None for m in members):
                sets.append(frozenset().union(*(m for m in members if m is not None)))
        if not sets:
            return None
        return frozenset.intersection(*sets)

    def _schema_properties(self, schema: Any) -> dict[str, Any]:
        """Properties declared by a schema and its allOf/anyOf/oneOf members."""
        schema = self._deref(schema)
        props = dict(schema.get("properties", {}))
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                props.update(self._schema_properties(sub))
        return props

    def _body_validator(self, op: _Operation, content_type: str) -> Draft202012Validator:
        """The (cached) validator for one content type of an operation's request body."""
        with self._lock:
            validator = op.body_validators.get(content_type)
            if validator is None:
                pointer = op.pointer + _pointer("requestBody", "content", content_type, "schema")
                validator = self._validator(pointer)
                op.body_validators[content_type] = validator
                if content_type == "multipart/form-data":
                    schema = self._doc["paths"][op.template][op.method.lower()]["requestBody"]["content"][content_type][
                        "schema"
                    ]
                    op.file_fields[content_type] = frozenset(
                        name
                        for name, prop in self._schema_properties(schema).items()
                        if isinstance(prop, dict) and prop.get("contentEncoding") == "binary"
                    )
            return validator

    # -- matching -------------------------------------------------------------------------------

    @property
    def templates(self) -> list[str]:
        """Every path template the spec describes."""
        return [t.template for ts in self._by_length.values() for t in ts]

    def _candidates(self, path: str) -> Iterator[tuple[_Template, dict[str, str]]]:
        """Templates whose literal segments match `path`, most specific first, with their params."""
        path = _strip_prefix(path)
        raw_segments = path.strip("/").split("/") if path.strip("/") else []
        if path != "/" + "/".join(raw_segments):
            return  # empty segments or a trailing slash match no template
        for template in self._by_length.get(len(raw_segments), []):
            values: list[str] = []
            for expected, raw in zip(template.segments, raw_segments, strict=True):
                if expected is None:
                    values.append(unquote(raw))
                elif unquote(raw) != expected:
                    break
            else:
                yield template, dict(zip(template.param_names, values, strict=True))

    def _param_problems(self, op: _Operation, params: Mapping[str, str]) -> list[str]:
        """Path parameters that do not satisfy their schemas."""
        problems: list[str] = []
        for name, value in params.items():
            param = op.path_params.get(name)
            if param is not None:
                for error in param.validator.iter_errors(param.coerce([value])):
                    problems.extend(_messages(error, f"path.{name}"))
        return problems

    def _match(self, method: str, path: str) -> tuple[_Operation | None, dict[str, str], list[str]]:
        """The operation for a request, its path parameters, or the reasons there is none."""
        method = method.upper()
        matched_templates: list[_Template] = []
        param_failures: list[str] = []
        for template, params in self._candidates(path):
            matched_templates.append(template)
            op = template.operations.get(method)
            if op is None:
                continue
            failures = self._param_problems(op, params)
            if not failures:
                return op, params, []
            param_failures.extend(f"{method} {template.template}: {p}" for p in failures)
        if param_failures:
            return None, {}, param_failures
        if matched_templates:
            allowed = sorted({m for t in matched_templates for m in t.operations})
            where = " or ".join(t.template for t in matched_templates)
            return None, {}, [f"{method} {where}: method not allowed (allowed: {', '.join(allowed)})"]
        return None, {}, [f"{method} {path}: no such route in Discord's API v10"]

    def route_template(self, method: str, path: str) -> str | None:
        """The spec's template for a concrete path after /api/v10, or None if none matches."""
        op, _, _ = self._match(method, path)
        return op.template if op else None

    # -- validation -----------------------------------------------------------------------------

    def validate(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]] | None = None,
        body: Any | None = None,
        content_type: str | None = None,
    ) -> list[str]:
        """Everything Discord's spec says is wrong with one request; empty when it is valid."""
        op, _, problems = self._match(method, path)
        if op is None:
            return problems
        where = f"{op.method} {op.template}"
        problems = [f"{where}: {p}" for p in self._query_problems(op, query or {})]
        problems += [f"{where}: {p}" for p in self._body_problems(op, body, content_type)]
        return problems[:_MAX_PROBLEMS]

    def _query_problems(self, op: _Operation, query: Mapping[str, list[str]]) -> list[str]:
        """Unknown, missing, repeated or invalid query parameters."""
        problems: list[str] = []
        for name, values in query.items():
            param = op.query_params.get(name)
            if param is None:
                known = ", ".join(sorted(op.query_params)) or "none"
                problems.append(f"query.{name}: not a query parameter of this route (known: {known})")
                continue
            if not values:
                continue
            if len(values) > 1 and "array" not in param.types:
                problems.append(f"query.{name}: given {len(values)} times but takes one value")
                continue
            for error in param.validator.iter_errors(param.coerce(list(values))):
                problems.extend(_messages(error, f"query.{name}"))
        for name, param in op.query_params.items():
            if param.required and name not in query:
                problems.append(f"query.{name}: required parameter is missing")
        return problems

    def _body_problems(self, op: _Operation, body: Any | None, content_type: str | None) -> list[str]:
        """Problems with the request body, by content type."""
        if body is None:
            return ["body: required but missing"] if op.body_required else []
        if not op.body_types:
            return ["body: this route takes no request body"]
        media = (content_type or "application/json").split(";")[0].strip().lower()
        if media not in op.body_types:
            return [f"body: content type {media!r} not accepted (accepted: {', '.join(op.body_types)})"]
        if media != "multipart/form-data":
            return _all_messages(self._body_validator(op, media).iter_errors(body), "body")
        return self._multipart_problems(op, body)

    def _multipart_problems(self, op: _Operation, parts: Any) -> list[str]:
        """Validate a multipart body: payload_json plus the other parts, as one object."""
        if not isinstance(parts, Mapping):
            return ["body: a multipart body must be given as a mapping of part name to value"]
        instance: dict[str, Any] = {}
        file_parts: list[str] = []
        for name, value in parts.items():
            if name == "payload_json":
                continue
            if isinstance(value, bytes | bytearray | memoryview):
                file_parts.append(name)
                instance[name] = "<binary>"
            else:
                instance[name] = value
        problems: list[str] = []
        if "payload_json" in parts:
            raw = parts["payload_json"]
            try:
                payload = json.loads(raw) if isinstance(raw, str | bytes | bytearray) else raw
            except ValueError as exc:
                return [f"body.payload_json: not valid JSON ({exc})"]
            if not isinstance(payload, dict):
                return [f"body.payload_json: must be a JSON object, not {type(payload).__name__}"]
            instance.update(payload)
        validator = self._body_validator(op, "multipart/form-data")
        problems += _all_messages(validator.iter_errors(instance), "body")
        declared = op.file_fields.get("multipart/form-data", frozenset())
        if declared:
            problems += [
                f"body.{name}: not a file part this route accepts (accepts: {_file_range(declared)})"
                for name in file_parts
                if name not in declared
            ]
        return problems


_UnionPlans = dict[int, tuple[str, dict[tuple[str, Any], int]]]
_EnumPlans = dict[int, frozenset[tuple[str, Any]]]
# Keywords that only annotate: a member made of these and `const` matches exactly its value.
_ANNOTATIONS = frozenset({"title", "description", "deprecated", "examples", "const"})


def _bare_consts(options: list[Any]) -> frozenset[tuple[str, Any]] | None:
    """The values of a union of distinct bare consts (an enumeration), else None."""
    keys: list[tuple[str, Any]] = []
    for option in options:
        if not isinstance(option, dict) or "const" not in option:
            return None
        if any(k not in _ANNOTATIONS and not k.startswith("x-") for k in option):
            return None
        try:
            keys.append(_value_key(option["const"]))
        except TypeError:
            return None
    values = frozenset(keys)
    return values if len(values) == len(keys) and values else None


def _value_key(value: Any) -> tuple[str, Any]:
    """A dict key that keeps JSON's true apart from 1, as JSON Schema's equality does.

    Raises TypeError for unhashable values (arrays, objects), which callers treat as "no shortcut".
    """
    hash(value)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    return (type(value).__name__, value)


def _dispatching_validator(plans: _UnionPlans, enums: _EnumPlans) -> Any:
    """Draft 2020-12 whose oneOf/anyOf take the shortcuts described above where they apply."""

    def union(standard: Any) -> Any:
        def keyword(validator: Any, options: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
            consts = enums.get(id(options))
            if consts is not None:
                try:
                    if _value_key(instance) in consts:
                        return
                except TypeError:  # unhashable: certainly not one of the consts
                    pass
                yield from standard(validator, options, instance, schema)
                return
            plan = plans.get(id(options)) if isinstance(instance, dict) else None
            if plan is not None and plan[0] in instance:
                try:
                    index = plan[1].get(_value_key(instance[plan[0]]))
                except TypeError:  # an unhashable discriminator value (list, object)
                    index = None
                if index is not None:
                    yield from validator.descend(instance, options[index], schema_path=index)
                    return
            yield from standard(validator, options, instance, schema)

        return keyword

    return validators.extend(
        Draft202012Validator,
        {"oneOf": union(standard_keywords.oneOf), "anyOf": union(standard_keywords.anyOf)},
    )


def _file_range(names: Iterable[str]) -> str:
    """files[0]..files[9] instead of ten names."""
    ordered = sorted(names, key=lambda n: (len(n), n))
    return f"{ordered[0]}..{ordered[-1]}" if len(ordered) > 2 else ", ".join(ordered)


def _strip_prefix(path: str) -> str:
    """Accept paths with or without the /api/v10 prefix, and without a query string."""
    path = path.split("?", 1)[0]
    if path.startswith(_API_PREFIX + "/") or path == _API_PREFIX:
        path = path[len(_API_PREFIX) :]
    return path or "/"


def _widen_snowflakes(document: dict[str, Any]) -> dict[str, Any]:
    """A shallow-copied document whose SnowflakeType also accepts integers, as Discord does."""
    schemas = document.get("components", {}).get("schemas", {})
    original = schemas.get("SnowflakeType")
    if original is None:
        return document
    widened = {
        "anyOf": [original, {"type": "integer", "minimum": 0, "maximum": _UINT64_MAX}],
    }
    components = {**document["components"], "schemas": {**schemas, "SnowflakeType": widened}}
    return {**document, "components": components}


# Properties that hold a permission bit set. The spec types several as integers, but Discord
# documents them as strings ("serialized" bit sets, since they exceed 53 bits) and discord.py sends
# strings; Discord accepts both, so both are accepted here.
_PERMISSION_PROPERTIES = frozenset({"allow", "deny", "permissions"})
_BITSET_STRING = {"type": "string", "pattern": "^[0-9]{1,20}$"}


def _widen_permission_bitsets(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document whose integer permission properties also accept digit strings."""

    def widen(node: Any) -> Any:
        if isinstance(node, list):
            return [widen(item) for item in node]
        if not isinstance(node, dict):
            return node
        copied = {key: widen(value) for key, value in node.items()}
        properties = copied.get("properties")
        if isinstance(properties, dict):
            for name in _PERMISSION_PROPERTIES & properties.keys():
                schema = properties[name]
                types = schema.get("type") if isinstance(schema, dict) else None
                if types == "integer" or (isinstance(types, list) and "integer" in types):
                    properties[name] = {"anyOf": [schema, _BITSET_STRING]}
        return copied

    return {**document, "paths": widen(document.get("paths", {})), "components": widen(document.get("components", {}))}


# ---------------------------------------------------------------------------------------------
# Turning jsonschema errors into one readable line each.


_FORMAT_WORDS = {
    "date-time": "an RFC 3339 date-time (e.g. 2025-01-31T17:00:00+00:00)",
    "uri": "a URI with a scheme",
    "int32": "within the 32-bit integer range",
    "int64": "within the 64-bit integer range",
    "snowflake": "a snowflake (too large for 64 bits)",
}


def _location(prefix: str, error: ValidationError) -> str:
    """body.allowed_mentions.parse[0] for an error's absolute path."""
    out = prefix
    for part in error.absolute_path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def _all_messages(errors: Iterable[ValidationError], prefix: str) -> list[str]:
    """Readable lines for every error, in document order, without duplicates."""
    seen: dict[str, None] = {}
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        for line in _messages(error, prefix):
            seen.setdefault(line, None)
    return list(seen)


def _messages(error: ValidationError, prefix: str) -> list[str]:
    """Readable lines for one error, descending into the union branch the instance meant."""
    if error.validator in ("oneOf", "anyOf") and isinstance(error.validator_value, list):
        options = error.validator_value
        consts = _const_options(error)
        if consts is not None:
            return [f"{_location(prefix, error)}: {_short.repr(error.instance)} is not one of {consts}"]
        explained = _explain_union(error, prefix)
        if explained:
            return explained
        if error.context:
            names = [_schema_name(o) for o in options]
            return [f"{_location(prefix, error)}: {_short.repr(error.instance)} matches none of {', '.join(names)}"]
    if error.validator == "format" and error.validator_value in _FORMAT_WORDS:
        words = _FORMAT_WORDS[error.validator_value]
        return [f"{_location(prefix, error)}: {_short.repr(error.instance)} is not {words}"]
    message = error.message
    full = repr(error.instance)
    if message.startswith(full):
        message = _short.repr(error.instance) + message[len(full) :]
    return [f"{_location(prefix, error)}: {message}"]


def _schema_name(schema: Any) -> str:
    """A union member's name: the component it references, else its type."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return str(schema["$ref"]).rsplit("/", 1)[-1]
        if "type" in schema:
            return str(schema["type"])
    return "schema"


def _const_options(error: ValidationError) -> list[Any] | None:
    """The values of an enumeration written as a oneOf/anyOf of consts, else None."""
    options = error.validator_value
    if (
        error.validator in ("oneOf", "anyOf")
        and isinstance(options, list)
        and options
        and all(isinstance(o, dict) and "const" in o for o in options)
    ):
        return [o["const"] for o in options]
    return None


def _allowed_values(error: ValidationError) -> list[Any] | None:
    """The finite values an enum-like error says were allowed, else None."""
    if error.validator == "const":
        return [error.validator_value]
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return list(error.validator_value)
    return _const_options(error)


def _explain_union(error: ValidationError, prefix: str) -> list[str]:
    """Explain a failed oneOf/anyOf by the member the instance most resembles; [] if unclear.

    Members whose type does not fit the instance at all are out. A property that every remaining
    member rejects as a wrong value (an unknown `type`, a `privacy_level` no member takes) is
    reported once with the values any member allows. Of the rest, the member with the fewest
    other wrong values, then the fewest errors, contributes its remaining errors.
    """
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        index = sub.relative_schema_path[0] if sub.relative_schema_path else -1
        branches.setdefault(int(index), []).append(sub)
    fitting = {
        i: errs for i, errs in branches.items() if not any(e.validator == "type" and not e.relative_path for e in errs)
    }
    if not fitting:
        return []
    # Per member: each property it rejects by value -> the values it allows there, or the first
    # type error when the value is not even of the right type.
    wrong: list[dict[str, list[Any] | ValidationError]] = []
    for errs in fitting.values():
        keys: dict[str, list[Any] | ValidationError] = {}
        for e in errs:
            if len(e.relative_path) != 1 or not isinstance(e.relative_path[0], str):
                continue
            key, allowed = e.relative_path[0], _allowed_values(e)
            known = keys.get(key)
            if e.validator == "type" and not isinstance(known, ValidationError):
                keys[key] = e
            elif allowed is not None and known is None:
                keys[key] = allowed
            elif allowed is not None and isinstance(known, list):
                keys[key] = [v for v in known if v in allowed]
        wrong.append(keys)
    common = set.intersection(*(set(w) for w in wrong))
    lines: list[str] = []
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key in sorted(common):
        type_errors = [w[key] for w in wrong if isinstance(w[key], ValidationError)]
        if type_errors:
            lines.extend(_messages(type_errors[0], prefix))
            continue
        anywhere: list[Any] = []
        for w in wrong:
            anywhere += [v for v in w[key] if v not in anywhere]
        anywhere = _sorted_if_possible(anywhere)
        where = _location(prefix, error) + (f".{key}" if re.fullmatch(r"[A-Za-z_]\w*", key) else f"[{key!r}]")
        lines.append(f"{where}: {_short.repr(instance.get(key))} is not one of {anywhere}")

    def rest(errs: list[ValidationError]) -> list[ValidationError]:
        return [e for e in errs if not (len(e.relative_path) == 1 and e.relative_path[0] in common)]

    scores = {
        i: (sum(1 for e in rest(errs) if len(e.relative_path) == 1 and _is_shape_error(e)), len(rest(errs)))
        for i, errs in fitting.items()
    }
    best = min(scores.values())
    winners = [i for i, score in scores.items() if score == best]
    if len(winners) == 1:
        for sub in rest(fitting[winners[0]]):
            lines.extend(_messages(sub, prefix))
    elif not lines:
        return []
    return lines


def _sorted_if_possible(values: list[Any]) -> list[Any]:
    """Values in order when they compare (all numbers or all strings), else as found."""
    try:
        return sorted(values)
    except TypeError:
        return values


def _is_shape_error(error: ValidationError) -> bool:
    """An error that says a value is of another kind than this member describes."""
    return error.validator == "type" or _allowed_values(error) is not None
