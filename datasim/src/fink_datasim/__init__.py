"""fink-datasim: synthetic ZTF and Rubin alerts (`generate`) and a paced Kafka replayer (`replay`)."""

from fink_common.version import package_version
from fink_datasim.generate import GenerateResult, generate
from fink_datasim.plan import Population
from fink_datasim.replay import ReplayResult, replay

__all__ = ["GenerateResult", "Population", "ReplayResult", "__version__", "generate", "replay"]

__version__ = package_version("fink_datasim")
