"""Shape checks of Run and Plan documents against their published JSON Schemas.

The schemas (JSON Schema draft 2020-12) ship inside the package, in
``exabench/documents/schemas/`` (``run.schema.json``, ``plan.schema.json``); docs/run-format.md
points at them. :func:`validate` checks a parsed document once, at load, with the
``jsonschema`` library, and turns the first problem into a one-line
:class:`~exabench.errors.UserError`: ``<file>: <JSON path>: expected <what>, got <value>``, for
example ``run.json: results[3].stats.median: expected a number or null, got 'fast'``. Every
reader (compare, history, report, export, plan --hardware RUN) then gets a well-formed document.

Speed: jsonschema walks arrays item by item (about 40 us an item: 4 s for one result of 10^5
samples), so a result's ``samples`` array is checked here instead, in one pass over the list
(:func:`_check_samples`, about 3 ms per 10^5), against the same rule the schema states for its
items (a number a float64 holds, or null).
"""

from __future__ import annotations

import copy
import json
import math
from collections import deque
from functools import cache
from importlib.resources import files
from numbers import Integral
from typing import Any

from exabench.errors import UserError

FLOAT_MAX = 1.7976931348623157e308
TYPE_WORDS = {"object": "an object", "array": "a list", "string": "a string",
              "number": "a number", "integer": "an integer", "boolean": "true or false",
              "null": "null"}
SHOWN_CHARS = 40
INFINITIES = (math.inf, -math.inf)


def schema_text(name: str) -> str:
    """The text of a shipped schema: ``run`` or ``plan``."""
    return files("exabench.documents").joinpath("schemas", f"{name}.schema.json").read_text(
        encoding="utf-8")


@cache
def schema(name: str) -> dict[str, Any]:
    """A shipped schema, parsed: ``run`` or ``plan``."""
    return json.loads(schema_text(name))


@cache
def _validator(name: str) -> Any:
    import jsonschema  # imported here: `exabench --help` and the planner need no validator

    checked = copy.deepcopy(schema(name))
    if name == "run":  # samples: checked by _check_samples, not item by item (module docstring)
        samples = checked["$defs"]["result"]["properties"]["samples"]
        samples.pop("items")
    jsonschema.Draft202012Validator.check_schema(checked)
    return jsonschema.Draft202012Validator(checked)


def validate(doc: Any, name: str, *, source: str) -> None:
    """Refuse ``doc`` unless it matches schema ``name`` (``run`` or ``plan``), in one line
    naming ``source``, the JSON path and what was expected."""
    validator = _validator(name)
    error = next(iter(sorted(validator.iter_errors(doc), key=_order)), None)
    if error is not None:
        raise UserError(f"{source}: {json_path(error.absolute_path)}: {_expected(error)}")
    if name == "run":
        for i, result in enumerate(doc["results"]):
            _check_samples(result["samples"], source=source, where=f"results[{i}].samples")


def _order(error: Any) -> tuple[int, list[str]]:
    """The first problem in document order, shallowest first: the same file gives the same
    message every time."""
    return (len(error.absolute_path), [str(p) for p in error.absolute_path])


def json_path(parts: deque[Any] | list[Any]) -> str:
    """``results[3].stats.median`` (``$`` for the whole document)."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "$"


def shown(value: Any) -> str:
    """A value as a message shows it: on one line, at most about 40 characters."""
    if isinstance(value, dict):
        return f"an object with {len(value)} field{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) > 10**SHOWN_CHARS:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _expected(error: Any) -> str:
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return (f"expected a field {missing[0]!r} (required: "
                f"{', '.join(error.validator_value)}), it is missing")
    if error.validator == "dependentRequired":
        for key, needs in error.validator_value.items():
            missing = [k for k in needs if key in error.instance and k not in error.instance]
            if missing:
                return (f"expected {', '.join([key, *needs])} together, "
                        f"got {key!r} without {missing[0]!r}")
    bounds = [e for e in error.context or () if e.validator in ("minimum", "maximum")]
    if error.validator == "anyOf" and bounds:  # a number, out of range: say which range
        return _expected(bounds[0])
    if error.validator in ("minimum", "maximum"):
        what = "a number a float64 holds (|x| <= 1.8e308)"
        if error.schema.get("type") == "integer":
            what = "a whole number >= 0" if error.validator == "minimum" else what
        return f"expected {what}, got {shown(error.instance)}"
    return f"expected {describe(error.schema, error.validator)}, got {shown(error.instance)}"


def describe(subschema: dict[str, Any], validator: str = "") -> str:
    """What a (sub)schema asks for, in words: ``a number or null``, ``one of ok, failed,
    skipped``."""
    if "$ref" in subschema and validator in ("", "$ref"):
        return describe(_resolve(subschema["$ref"]))
    if "anyOf" in subschema and validator in ("", "anyOf"):
        return " or ".join(dict.fromkeys(describe(alt) for alt in subschema["anyOf"]))
    if "enum" in subschema and validator in ("", "enum"):
        return "one of " + ", ".join(str(v) for v in subschema["enum"])
    if "const" in subschema and validator in ("", "const"):
        return repr(subschema["const"])
    if "type" in subschema:
        kinds = subschema["type"]
        kinds = [kinds] if isinstance(kinds, str) else kinds
        return " or ".join(TYPE_WORDS.get(k, k) for k in kinds)
    if "allOf" in subschema:
        return describe(subschema["allOf"][0])
    return f"a value that matches {validator or 'the schema'}"


def _resolve(ref: str) -> dict[str, Any]:
    """A local ``#/$defs/...`` reference, in either shipped schema (their $defs share names)."""
    _, _, name = ref.rpartition("/")
    for which in ("run", "plan"):
        found = schema(which).get("$defs", {}).get(name)
        if found is not None:
            return found
    return {}


def _check_samples(samples: list[Any], *, source: str, where: str) -> None:
    """Each sample a number a float64 holds, or null; NaN passes (the statistics drop it, as
    they drop null). One pass over the list: fast for the all-float list every writer writes."""
    bad = _first_bad_sample(samples)
    if bad is not None:
        raise UserError(f"{source}: {where}[{bad}]: expected a number a float64 holds or null, "
                        f"got {shown(samples[bad])}")


def _first_bad_sample(samples: list[Any]) -> int | None:
    for i, sample in enumerate(samples):
        if type(sample) is float:  # the common case, first
            if sample in INFINITIES:
                return i
        elif sample is None:
            continue
        elif isinstance(sample, float):  # numpy's float64, in documents built in memory
            if sample in INFINITIES:
                return i
        elif (not isinstance(sample, Integral) or isinstance(sample, bool)
              or not -FLOAT_MAX <= sample <= FLOAT_MAX):
            return i
    return None
