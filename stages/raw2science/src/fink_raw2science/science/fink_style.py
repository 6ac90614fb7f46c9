"""Science modules written in fink-science's style, loaded by name as this broker's `ScienceModule`s.

fink-science's style: a function of pandas Series returning one value per alert (a Series; a DataFrame
for a struct output), usually wrapped by pyspark's `pandas_udf(<returnType>)`, whose `.func` is the plain
function. A history argument arrives as a Series of numpy arrays (history then current, nulls as NaN), a
scalar one as a Series. Here the parameter names choose the inputs, by fink-broker's column rule:

1. the candidate paths are the raw ZTF alert's flattened columns (every top-level column and, recursively,
   every struct field, `candidate.magpsf`, ...; not inside arrays), the history arrays `c<field>` (one per
   field of `prv_candidates`: `cmagpsf`, `cjd`, ...) and the `columns` option (earlier modules' outputs);
2. the paths that end with the name: if exactly one, that one; else those whose last dotted component is
   the name: if exactly one, that one; else the root-level one, if exactly one; else an error;
3. Fink's distribute-stage names `c<field>c` (`cmagpsfc`) read the same arrays as `c<field>`;
4. a name that matches nothing is taken as a top-level column (an earlier module's output, e.g. `roid`):
   the plan check (`registry.check_plan`) reports it if nothing provides it.

So `magpsf` reads `candidate.magpsf`, `cmagpsf` the light curve, `jd` `candidate.jd`.

Spec: `fink:<module>.<function>[(<input>, ...)][=<column>]`, e.g.
`fink:fink_science.ztf.nalerthist.processor.nalerthist(cmagpsf)=nalerthist_fink`: explicit inputs (input
paths, as fink-broker names them in its calls) replace the parameter-name resolution; the output column
defaults to the function's name. Options (the registry's per-module options):

| option | meaning |
|---|---|
| `inputs` | the input paths, instead of the parentheses or the parameter names |
| `column` | the output column (or struct) name, instead of `=<column>` or the function's name |
| `type` | Spark DDL type of a plain function's output (`double` when absent); for a pandas_udf it must agree with the returnType |
| `failed` | the output's value on a failed batch (default: -1 for integers, NaN for floats, "Fail" for strings, null for booleans) |
| `columns` | top-level column names earlier modules provide, that parameter names may resolve to |
| `version` | the module's version (default: the installed distribution's version) |

A pandas_udf returning a `StructType` gives one struct column whose fields are the struct's. Every problem
found is reported at once in one ScienceError.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import metadata
from typing import Any

from pyspark.sql import types as T

from fink_common.plugins import fink_path, import_attribute
from fink_common.schema import raw_alert_schema, spark_schema
from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.module import OutputField, ScienceModule

__all__ = ["OPTIONS", "PREFIX", "flat_names", "load_fink_module", "resolve_name"]

PREFIX = "fink:"
#: The options `load_fink_module` accepts.
OPTIONS = frozenset({"inputs", "column", "type", "failed", "columns", "version"})
_SPEC = re.compile(
    r"^(?P<path>[A-Za-z_]\w*(\.[A-Za-z_]\w*)+)(\((?P<inputs>[^()]*)\))?(=(?P<column>[A-Za-z_]\w*))?$"
)
_DDL: dict[type[T.DataType], str] = {
    T.IntegerType: "int", T.LongType: "bigint", T.DoubleType: "double", T.FloatType: "float",
    T.BooleanType: "boolean", T.StringType: "string",
}  # fmt: skip
_FAILED: dict[str, Any] = {"int": -1, "bigint": -1, "double": math.nan, "float": math.nan, "boolean": None, "string": "Fail"}
_SCALAR_PANDAS_UDF = 200  # pyspark's PythonEvalType.SQL_SCALAR_PANDAS_UDF
_HISTORY, _C_ARRAY = "prv_candidates", re.compile(r"^c(?P<field>\w+)c$")


def _flatten(schema: T.StructType, prefix: str = "") -> list[str]:
    out: list[str] = []
    for item in schema.fields:
        out.append(prefix + item.name)
        if isinstance(item.dataType, T.StructType):
            out.extend(_flatten(item.dataType, f"{prefix}{item.name}."))
    return out


@cache
def _alert_names() -> tuple[str, ...]:
    schema = spark_schema(raw_alert_schema("ztf"))
    history = schema[_HISTORY].dataType
    element = history.elementType if isinstance(history, T.ArrayType) else None
    fields = element.fieldNames() if isinstance(element, T.StructType) else []
    return tuple(dict.fromkeys([*_flatten(schema), *(f"c{name}" for name in fields)]))


def flat_names(columns: Sequence[str] = ()) -> tuple[str, ...]:
    """The names parameters resolve against: the raw ZTF alert's flattened paths, `c<field>`, `columns`."""
    return tuple(dict.fromkeys([*_alert_names(), *columns]))


def resolve_name(name: str, names: Sequence[str]) -> str:
    """fink-broker's rule (module docstring) for one parameter name; ScienceError when ambiguous."""
    if (match := _C_ARRAY.match(name)) and f"c{match.group('field')}" in names and name not in names:
        return f"c{match.group('field')}"
    path, candidates = fink_path(name, names)
    if path is not None:
        return path
    if not candidates:
        return name  # an earlier module's column, checked by the plan
    raise ScienceError(f"parameter {name!r} names no single column (candidates: {', '.join(candidates)})")


def _output(function: Any, column: str, options: Mapping[str, Any], where: str) -> tuple[tuple[OutputField, ...], str | None]:
    return_type = getattr(function, "returnType", None)
    wanted = options.get("type")
    if return_type is None:
        ddl = str(wanted or "double")
        if ddl not in _FAILED:
            raise ScienceError(f"{where}: type {ddl!r} is not one of {sorted(_FAILED)}")
        return (OutputField(column, ddl, options.get("failed", _FAILED[ddl])),), None
    if isinstance(return_type, T.StructType):
        typed = [(f.name, _DDL.get(type(f.dataType))) for f in return_type.fields]
        bad = [name for name, kind in typed if kind is None]
        if bad or not typed:
            raise ScienceError(f"{where}: struct fields {bad or '(none)'} are not of {sorted(_FAILED)}")
        if wanted is not None or "failed" in options:
            raise ScienceError(f"{where}: 'type'/'failed' options do not apply to a struct return type")
        return tuple(OutputField(name, kind, _FAILED[kind]) for name, kind in typed if kind), column
    scalar = _DDL.get(type(return_type))
    if scalar is None:
        raise ScienceError(f"{where}: return type {return_type.simpleString()} is not one of {sorted(_FAILED)}")
    ddl = scalar
    if wanted is not None and wanted != ddl:
        raise ScienceError(f"{where}: option type {wanted!r} differs from the pandas_udf's return type {ddl!r}")
    return (OutputField(column, ddl, options.get("failed", _FAILED[ddl])),), None


def _version(module_name: str) -> str:
    top = module_name.split(".", 1)[0]
    for dist in metadata.packages_distributions().get(top, []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "0+unknown"


def _function(spec: str, path: str) -> Any:
    module_name, _, attribute = path.rpartition(".")
    function = import_attribute(spec, module_name, attribute, ScienceError)
    if not callable(function):
        raise ScienceError(f"{spec!r}: {module_name}.{attribute} is not a function")
    if getattr(function, "evalType", _SCALAR_PANDAS_UDF) != _SCALAR_PANDAS_UDF:
        raise ScienceError(f"{spec!r}: {attribute} is not a scalar pandas_udf")
    return function


def _inputs(spec: str, plain: Any, explicit: Sequence[str] | None, names: Sequence[str]) -> tuple[str, ...]:
    code = getattr(plain, "__code__", None)
    if explicit is None:
        if code is None:
            raise ScienceError(f"{spec!r}: not a Python function; name its inputs")
        problems: list[str] = []
        resolved: list[str] = []
        for parameter in code.co_varnames[: code.co_argcount]:
            try:
                resolved.append(resolve_name(parameter, names))
            except ScienceError as exc:
                problems.extend(f"{spec!r}: {p}" for p in exc.problems)
        if problems:
            raise ScienceError(problems)
        inputs = tuple(resolved)
    else:
        inputs = tuple(p.strip() for p in explicit if p.strip())
        if code is not None and code.co_argcount != len(inputs) and not code.co_flags & 0x04:  # 0x04: *args
            raise ScienceError(f"{spec!r}: the function takes {code.co_argcount} columns, {len(inputs)} given")
    if not inputs:
        raise ScienceError(f"{spec!r}: the function reads no column")
    return inputs


def load_fink_module(spec: str, options: Mapping[str, Any] | None = None) -> ScienceModule:
    """The `ScienceModule` for `fink:<module>.<function>[(<input>, ...)][=<column>]` and its options."""
    options = dict(options or {})
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ScienceError(f"{spec!r}: unknown option(s) {unknown}; known: {sorted(OPTIONS)}")
    body = (spec[len(PREFIX) :] if spec.startswith(PREFIX) else spec).replace(" ", "")
    match = _SPEC.match(body)
    if not match:
        raise ScienceError(f"{spec!r} is not 'fink:<module>.<function>[(<input>,...)][=<column>]'")
    if match.group("inputs") is not None and "inputs" in options:
        raise ScienceError(f"{spec!r}: inputs given both in the name and as an option")
    function = _function(spec, match.group("path"))
    plain = getattr(function, "func", function)
    explicit = options.get("inputs")
    if match.group("inputs") is not None:
        explicit = match.group("inputs").split(",")
    if isinstance(explicit, str):
        explicit = explicit.split(",")
    inputs = _inputs(spec, plain, explicit, flat_names(tuple(options.get("columns", ()))))
    column = str(options.get("column") or match.group("column") or match.group("path").rpartition(".")[2])
    fields, struct = _output(function, column, options, repr(spec))
    doc = (plain.__doc__ or "").strip().splitlines()
    module_name = match.group("path").rpartition(".")[0]
    return ScienceModule(
        name=column,
        inputs=inputs,
        fields=fields,
        function=plain,
        version=str(options.get("version") or _version(module_name)),
        struct=struct,
        description=doc[0] if doc else f"fink-science style module {body}",
    )
