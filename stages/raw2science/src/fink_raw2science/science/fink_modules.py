"""Science modules written in fink-science's pandas style, loaded unchanged as this broker's modules.

fink-science's style: a function of pandas Series (history arrays arrive as a Series of numpy arrays,
nulls as NaN) returning one value per alert, usually wrapped by pyspark's `pandas_udf(<type>)`; fink-broker
calls it with explicit column names, e.g. `nalerthist("cmagpsf")`, where `c<field>` is the alert's
history followed by the current candidate, exactly this broker's `c<field>` input arrays.

Named in `FINK_SCIENCE_MODULES` / `FINK_EXTRA_MODULES` as

    fink:<module>.<function>(<input>, ...)=<column>

e.g. `fink:fink_science.ztf.nalerthist.processor.nalerthist(cmagpsf)=nalerthist_fink`. The inputs are
input paths (`c<field>`, `candidate.<field>`, a column of the science table or of an earlier module); without
the parentheses, the function's parameter names are used as the paths. The output column defaults to the
function's name; its Spark type is the pandas_udf's return type (int, bigint, double, float, boolean,
string), or `double` for a plain function. The module's version is the installed package's version.
"""

from __future__ import annotations

import importlib
import math
import re
from importlib import metadata
from typing import Any

from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.module import OutputField, ScienceModule

__all__ = ["PREFIX", "fink_module"]

PREFIX = "fink:"
_SPEC = re.compile(
    r"^(?P<path>[A-Za-z_]\w*(\.[A-Za-z_]\w*)+)"
    r"(\((?P<inputs>[^()]*)\))?"
    r"(=(?P<column>[A-Za-z_]\w*))?$"
)
_TYPES = {
    "IntegerType": "int", "LongType": "bigint", "DoubleType": "double", "FloatType": "float",
    "BooleanType": "boolean", "StringType": "string",
}  # fmt: skip
_FAILED: dict[str, Any] = {"int": -1, "bigint": -1, "double": math.nan, "float": math.nan, "boolean": None, "string": "Fail"}


def _ddl(function: Any, spec: str) -> str:
    return_type = getattr(function, "returnType", None)
    if return_type is None:
        return "double"
    name = type(return_type).__name__
    if name not in _TYPES:
        raise ScienceError(f"{spec!r}: return type {name} is not one of {sorted(_TYPES)}")
    return _TYPES[name]


def _version(module_name: str) -> str:
    top = module_name.split(".", 1)[0]
    for dist in metadata.packages_distributions().get(top, []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "0+unknown"


def fink_module(spec: str) -> ScienceModule:
    """The module named by `fink:<module>.<function>[(<inputs>)][=<column>]` (ScienceError otherwise)."""
    body = spec[len(PREFIX) :] if spec.startswith(PREFIX) else spec
    match = _SPEC.match(body.replace(" ", ""))
    if not match:
        raise ScienceError(f"{spec!r} is not 'fink:<module>.<function>[(<input>,...)][=<column>]'")
    module_name, _, attribute = match.group("path").rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a third-party import can fail with anything
        raise ScienceError(f"{spec!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})") from exc
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ScienceError(f"{spec!r}: {module_name!r} has no function {attribute!r}")
    plain = getattr(function, "func", function)
    code = getattr(plain, "__code__", None)
    if match.group("inputs") is not None:
        inputs = tuple(p for p in match.group("inputs").split(",") if p)
    elif code is not None:
        inputs = tuple(code.co_varnames[: code.co_argcount])
    else:
        raise ScienceError(f"{spec!r}: name the inputs, e.g. {attribute}(cmagpsf)")
    if code is not None and code.co_argcount != len(inputs) and not code.co_flags & 0x04:  # 0x04: *args
        raise ScienceError(f"{spec!r}: {attribute} takes {code.co_argcount} columns, {len(inputs)} given")
    ddl = _ddl(function, spec)
    column = match.group("column") or attribute
    doc = (plain.__doc__ or "").strip().splitlines()
    return ScienceModule(
        name=column,
        inputs=inputs,
        fields=(OutputField(column, ddl, _FAILED[ddl]),),
        function=plain,
        version=_version(module_name),
        description=doc[0] if doc else f"fink-science style module {body}",
    )
