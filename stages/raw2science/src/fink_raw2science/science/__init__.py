"""Science modules of raw2science: pure, vectorised functions over pandas batches, plus their registry.

* `module`: what a module is (`ScienceModule`, `OutputField`);
* `registry`: the built-in modules by name, extra ones from `package.module:object` strings;
* `runner`: `run_modules`, the pure driver that isolates each module's failures;
* `adapter`: the Spark side (history columns, one pandas UDF per module); imported on demand, so the
  pure side does not load pyspark.

The science functions themselves live in `lightcurve` (history arrays, nalerthist), `asteroids`
(roid), `rates`, `features`, `anomaly`, `xmatch` and `classification`; for Rubin/LSST in `rubin`,
`lsst_features`, `lsst_anomaly` and `lsst_classification`.
"""

from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.module import OutputField, ScienceModule
from fink_raw2science.science.registry import BUILTINS, DEFAULT_MODULES, check_plan, load_entry_point, resolve_modules
from fink_raw2science.science.runner import ModuleFailure, nested_outputs, run_modules

__all__ = [
    "BUILTINS",
    "DEFAULT_MODULES",
    "ModuleFailure",
    "OutputField",
    "ScienceError",
    "ScienceModule",
    "check_plan",
    "load_entry_point",
    "nested_outputs",
    "resolve_modules",
    "run_modules",
]
