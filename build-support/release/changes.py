"""What changed since each package's last release: `./pants changes [--json] [PACKAGE ...]`.

A releasable package is every `fink_python_package(...)` call in a `src/BUILD` file. For each one it prints
the current VERSION, the last release tag reachable from HEAD (`<dist>-v<version>`, e.g.
`fink-raw2science-v0.1.0`), and the commits since that tag: those touching the package's own folder, then
those touching the `src/` of its first-party dependencies (found from its imports, transitively) or the
third-party lockfile, whichever each commit touches first. It also says whether VERSION was bumped since
the tag, whether the CHANGELOG has a section for it, and whether the fink-common in the tree is inside the
range the package declares in `requires-fink-common`. It only reads: it never tags or commits.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fink_common.version import FINK_COMMON_RANGE_FILE, parse_version, version_in_range

__all__ = [
    "THIRD_PARTY",
    "Commit",
    "Git",
    "GitError",
    "Package",
    "PackageChanges",
    "collect",
    "discover_packages",
    "first_party_dependencies",
    "last_release",
    "main",
    "parse_build_file",
    "render",
    "tag_version",
]

#: Pseudo-dependency of every package: the third-party lockfile (it changes what the PEX and image hold).
THIRD_PARTY = ("3rdparty", "3rdparty/python")

_MACRO_CALL = re.compile(r"fink_python_package\(\s*[\"'](?P<package>\w+)[\"']\s*,(?P<args>.*?)\n\)", re.S)
_DIST_ARG = re.compile(r"\bdist\s*=\s*[\"'](?P<dist>[\w.-]+)[\"']")
_FIELD_SEP = "\x1f"


class GitError(RuntimeError):
    """A git command failed; carries the command and git's own message."""


class Git:
    """Runs read-only git commands in one repository."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True, env=_git_env())
        if check and proc.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout if proc.returncode == 0 else ""

    def show(self, rev: str, path: str) -> str | None:
        """A file's contents at `rev`, or None when it did not exist there."""
        proc = subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=self.root, capture_output=True, text=True, env=_git_env()
        )
        return proc.stdout if proc.returncode == 0 else None


def _git_env() -> dict[str, str]:
    return {**os.environ, "GIT_PAGER": "cat", "LC_ALL": "C"}


@dataclass(frozen=True)
class Package:
    """One `fink_python_package` of the repo: `folder` holds `src/<package>/VERSION`."""

    dist: str  # the distribution name, also the tag prefix: `<dist>-v<version>`
    package: str  # the import name
    folder: str  # relative to the repo root, e.g. `stages/raw2science`

    @property
    def src(self) -> str:
        return f"{self.folder}/src"

    @property
    def version_file(self) -> str:
        return f"{self.src}/{self.package}/VERSION"

    @property
    def range_file(self) -> str:
        return f"{self.src}/{self.package}/{FINK_COMMON_RANGE_FILE}"

    @property
    def changelog(self) -> str:
        return f"{self.folder}/CHANGELOG.md"

    def tag(self, version: str) -> str:
        return f"{self.dist}-v{version}"


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:9]


@dataclass
class PackageChanges:
    """What `collect` found for one package."""

    package: Package
    version: str
    dependencies: list[str]  # dist names, transitive, in discovery order
    last_tag: str | None = None
    version_at_tag: str | None = None
    own: list[Commit] = field(default_factory=list)
    via: dict[str, list[Commit]] = field(default_factory=dict)  # dependency (or "3rdparty") -> commits
    uncommitted: list[str] = field(default_factory=list)  # paths with uncommitted changes in the folder
    changelog_has_version: bool | None = None  # None: no CHANGELOG.md
    fink_common_range: str | None = None
    fink_common_version: str | None = None
    fink_common_ok: bool | None = None

    @property
    def released(self) -> bool:
        return self.last_tag is not None

    @property
    def bumped(self) -> bool:
        return self.released and self.version != self.version_at_tag

    @property
    def changed(self) -> bool:
        return bool(self.own or any(self.via.values()))

    @property
    def status(self) -> str:
        if not self.released:
            return "never released"
        if self.bumped:
            return "VERSION bumped: ready to tag"
        if self.changed:
            return "changed since the tag: bump VERSION"
        return "unchanged since the tag"

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.update(status=self.status, released=self.released, bumped=self.bumped, changed=self.changed)
        return data


def parse_build_file(text: str) -> list[tuple[str, str]]:
    """`(package, dist)` of every `fink_python_package("pkg", dist="dist-name", ...)` call in a BUILD file."""
    found = []
    for call in _MACRO_CALL.finditer(text):
        dist = _DIST_ARG.search(call.group("args"))
        if dist is None:
            raise ValueError(f"fink_python_package({call.group('package')!r}) has no dist=\"...\" argument")
        found.append((call.group("package"), dist.group("dist")))
    return found


def discover_packages(root: Path, git: Git | None = None) -> list[Package]:
    """Every releasable package: a `fink_python_package` call in a `<folder>/src/BUILD` (tracked or new)."""
    git = git or Git(root)
    listing = git("ls-files", "--cached", "--others", "--exclude-standard", "--", "src/BUILD", "*/src/BUILD")
    packages = []
    for build in sorted(set(listing.split())):
        folder = str(Path(build).parent.parent)
        for package, dist in parse_build_file((root / build).read_text(encoding="utf-8")):
            packages.append(Package(dist=dist, package=package, folder="" if folder == "." else folder))
    return packages


def _imported_top_levels(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def first_party_dependencies(root: Path, packages: Sequence[Package]) -> dict[str, list[str]]:
    """dist -> the dists it imports from, directly or not (its sources only, tests excluded)."""
    by_import = {p.package: p for p in packages}
    direct: dict[str, list[str]] = {}
    for p in packages:
        imported: set[str] = set()
        for path in sorted((root / p.src).rglob("*.py")):
            imported |= _imported_top_levels(path.read_text(encoding="utf-8", errors="replace"))
        direct[p.dist] = [by_import[name].dist for name in sorted(imported) if name in by_import and name != p.package]
    closure: dict[str, list[str]] = {}
    for dist in direct:
        seen: list[str] = []
        todo = list(direct[dist])
        while todo:
            dep = todo.pop(0)
            if dep != dist and dep not in seen:
                seen.append(dep)
                todo.extend(direct.get(dep, []))
        closure[dist] = seen
    return closure


def tag_version(tag: str, dist: str) -> tuple[int, ...] | None:
    """The release version in `<dist>-v<version>`, or None if `tag` is not a release tag of `dist`."""
    prefix = f"{dist}-v"
    if not tag.startswith(prefix):
        return None
    try:
        return parse_version(tag[len(prefix) :])
    except ValueError:
        return None


def last_release(git: Git, dist: str, rev: str = "HEAD") -> str | None:
    """The release tag of `dist` with the highest version among those reachable from `rev`."""
    tags = git("tag", "--list", f"{dist}-v*", "--merged", rev).split()
    versioned = [(v, t) for t in tags if (v := tag_version(t, dist)) is not None]
    return max(versioned)[1] if versioned else None


def _log(git: Git, revs: str, paths: Iterable[str]) -> list[Commit]:
    fmt = _FIELD_SEP.join(["%H", "%ad", "%s"])
    out = git("log", f"--format={fmt}", "--date=short", revs, "--", *paths)
    commits = []
    for line in out.splitlines():
        sha, date, subject = line.split(_FIELD_SEP, 2)
        commits.append(Commit(sha=sha, date=date, subject=subject))
    return commits


def _read(root: Path, path: str) -> str | None:
    file = root / path
    return file.read_text(encoding="utf-8").strip() if file.is_file() else None


def collect(root: Path, rev: str = "HEAD", only: Sequence[str] = ()) -> list[PackageChanges]:
    """The changes of every package (or of those named in `only`: dist, import name or folder)."""
    git = Git(root)
    packages = discover_packages(root, git)
    unknown = [name for name in only if not any(name in (p.dist, p.package, p.folder) for p in packages)]
    if unknown:
        raise SystemExit(f"unknown package(s): {', '.join(unknown)} (known: {', '.join(p.dist for p in packages)})")
    deps = first_party_dependencies(root, packages)
    by_dist = {p.dist: p for p in packages}
    common = next((p for p in packages if p.package == "fink_common"), None)
    common_version = _read(root, common.version_file) if common else None
    has_commits = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False) != ""
    results = []
    for p in packages:
        if only and not any(name in (p.dist, p.package, p.folder) for name in only):
            continue
        version = _read(root, p.version_file) or "?"
        changes = PackageChanges(package=p, version=version, dependencies=deps[p.dist])
        changes.last_tag = last_release(git, p.dist, rev) if has_commits else None
        span = f"{changes.last_tag}..{rev}" if changes.last_tag else rev
        if changes.last_tag:
            at_tag = git.show(changes.last_tag, p.version_file)
            changes.version_at_tag = at_tag.strip() if at_tag is not None else None
        if has_commits:
            changes.own = _log(git, span, [p.folder or "."])
            seen = {c.sha for c in changes.own}
            groups = [(d, by_dist[d].src) for d in changes.dependencies] + [THIRD_PARTY]
            for name, path in groups:
                commits = [c for c in _log(git, span, [path]) if c.sha not in seen]
                seen.update(c.sha for c in commits)
                changes.via[name] = commits
        status = git("status", "--porcelain", "--untracked-files=all", "--", p.folder or ".")
        changes.uncommitted = [line[3:] for line in status.splitlines() if line.strip()]
        changelog = _read(root, p.changelog)
        if changelog is not None:
            heading = rf"^##+\s+\[?v?{re.escape(version)}(?![\w.])"  # `## 0.2.0`, `## [0.2.0] - date`, `## v0.2.0`
            changes.changelog_has_version = re.search(heading, changelog, re.M) is not None
        spec = _read(root, p.range_file)
        if spec is not None and common_version is not None:
            changes.fink_common_range, changes.fink_common_version = spec, common_version
            try:
                changes.fink_common_ok = version_in_range(common_version, spec)
            except ValueError:
                changes.fink_common_ok = False
        results.append(changes)
    return results


def render(results: Sequence[PackageChanges], limit: int = 10) -> str:
    """The human report: one block per package."""
    lines: list[str] = []
    for r in results:
        p = r.package
        lines.append(f"{p.dist} {r.version}  ({p.folder or '.'})  -- {r.status}")
        if not r.released:
            via = sum(len(c) for c in r.via.values())
            lines.append(f"  last release: never released (first tag will be {p.tag(r.version)})")
            lines.append(f"  history: {len(r.own)} commit(s) in its folder, {via} more in its dependencies")
        else:
            lines.append(f"  last release: {r.last_tag}")
            if r.bumped:
                before = r.version_at_tag or "(none)"
                lines.append(f"  VERSION: bumped {before} -> {r.version}; tag: git tag {p.tag(r.version)}")
            else:
                lines.append(f"  VERSION: not bumped since {r.last_tag}")
            lines.append(f"  own commits since {r.last_tag}: {len(r.own)}")
            lines.extend(_commit_lines(r.own, limit))
            for name, commits in r.via.items():
                if commits:
                    lines.append(f"  via {name}: {len(commits)}")
                    lines.extend(_commit_lines(commits, limit))
        if r.dependencies:
            lines.append(f"  first-party dependencies: {', '.join(r.dependencies)}")
        if r.fink_common_range is not None:
            verdict = "ok" if r.fink_common_ok else "OUTSIDE: widen the range after testing, or keep fink-common back"
            lines.append(f"  supports fink-common {r.fink_common_range} (tree: {r.fink_common_version}, {verdict})")
        if r.changelog_has_version is False:
            lines.append(f"  CHANGELOG.md: no section for {r.version} yet")
        if r.uncommitted:
            lines.append(f"  uncommitted: {len(r.uncommitted)} path(s), not counted above")
        lines.append("")
    return "\n".join(lines)


def _commit_lines(commits: Sequence[Commit], limit: int) -> list[str]:
    shown = [f"    {c.short} {c.date} {c.subject}" for c in commits[:limit]]
    if len(commits) > limit:
        shown.append(f"    ... and {len(commits) - limit} more")
    return shown


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./pants changes", description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help="dist names, import names or folders (default: all)")
    parser.add_argument("--repo", type=Path, default=None, help="repository root (default: the one around cwd)")
    parser.add_argument("--rev", default="HEAD", help="compare tags with this revision (default: HEAD)")
    parser.add_argument("--limit", type=int, default=10, help="commits listed per group (default: 10)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
        root = args.repo or Path(Git(Path.cwd())("rev-parse", "--show-toplevel").strip())
        results = collect(root.resolve(), rev=args.rev, only=args.packages)
    except GitError as exc:
        print(f"changes: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2))
    else:
        print(render(results, limit=args.limit), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
