"""The error raised on purpose by the science modules: a bad module name, plan or input frame."""

from __future__ import annotations

from fink_common.errors import FinkError

__all__ = ["ScienceError"]


class ScienceError(FinkError):
    """A science module cannot be resolved, planned or fed. Carries every problem found, not just the first."""

    def __init__(self, problems: list[str] | str, *, what: str = "science modules") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{what}: {len(self.problems)} problem(s):\n{lines}")
