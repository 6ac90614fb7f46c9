"""changes.py against a real, temporary git repository shaped like ours (no mocks)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from changes import (
    Git,
    collect,
    discover_packages,
    first_party_dependencies,
    last_release,
    main,
    parse_build_file,
    render,
    tag_version,
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A monorepo with fink-common, one stage (imports fink_common), a CLI (imports the stage) and datasim."""
    for key, value in {
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "repo"
    _package(root, "libs/fink-common", "fink_common", "fink-common", "0.1.0", "")
    _package(root, "stages/alpha", "fink_alpha", "fink-alpha", "0.1.0", "from fink_common.version import x\n")
    (root / "stages/alpha/src/fink_alpha/requires-fink-common").write_text(">=0.1,<0.2\n")
    (root / "stages/alpha/CHANGELOG.md").write_text("# fink-alpha\n\n## Unreleased\n\n## [0.1.0]\n- first\n")
    _package(root, "libs/fink-cli", "fink_cli", "fink-cli", "1.0.0", "import fink_alpha.job\nimport json\n")
    _package(root, "datasim", "fink_datasim", "fink-datasim", "0.3.0", "")
    _write(root / "3rdparty/python/requirements.txt", "pandas\n")
    _write(root / "libs/fink-common/tests/test_x.py", "")
    _write(root / ".gitignore", "dist/\n")
    _write(root / "dist/ignored/src/BUILD", 'fink_python_package(\n    "fink_ghost",\n    dist="fink-ghost",\n)\n')
    _git(root, "init", "-q", "-b", "main")
    _commit(root, "initial layout")
    return root


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _package(root: Path, folder: str, package: str, dist: str, version: str, code: str) -> None:
    _write(
        root / folder / "src/BUILD",
        f'fink_python_package(\n    "{package}",\n    dist="{dist}",\n    description="x",\n    service=True,\n)\n',
    )
    _write(root / folder / "src" / package / "VERSION", f"{version}\n")
    _write(root / folder / "src" / package / "__init__.py", code)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def _commit(root: Path, message: str) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD").strip()


def _by_dist(root: Path) -> dict:
    return {r.package.dist: r for r in collect(root)}


def test_parse_build_file_reads_package_and_dist() -> None:
    text = 'fink_python_package(\n    "fink_x",\n    dist="fink-x",\n    data=["a", "b"],\n)\n'
    assert parse_build_file(text) == [("fink_x", "fink-x")]
    with pytest.raises(ValueError, match="no dist="):
        parse_build_file('fink_python_package(\n    "fink_y",\n    description="y",\n)\n')


def test_tag_version_only_accepts_this_dists_release_tags() -> None:
    assert tag_version("fink-alpha-v0.2.10", "fink-alpha") == (0, 2, 10)
    assert tag_version("fink-alpha-beta-v1.0.0", "fink-alpha") is None  # another package sharing the prefix
    assert tag_version("fink-alpha-v0.2.0rc1", "fink-alpha") is None
    assert tag_version("fink-alpha-0.2.0", "fink-alpha") is None


def test_discovers_packages_and_their_transitive_first_party_dependencies(repo: Path) -> None:
    packages = discover_packages(repo)
    assert sorted(p.dist for p in packages) == ["fink-alpha", "fink-cli", "fink-common", "fink-datasim"]  # not dist/
    alpha = next(p for p in packages if p.dist == "fink-alpha")
    assert (alpha.folder, alpha.version_file) == ("stages/alpha", "stages/alpha/src/fink_alpha/VERSION")
    deps = first_party_dependencies(repo, packages)
    assert deps["fink-alpha"] == ["fink-common"]
    assert deps["fink-cli"] == ["fink-alpha", "fink-common"]  # fink-common through the stage
    assert deps["fink-common"] == [] and deps["fink-datasim"] == []


def test_never_released(repo: Path) -> None:
    alpha = _by_dist(repo)["fink-alpha"]
    assert alpha.last_tag is None and alpha.status == "never released"
    assert len(alpha.own) == 1 and alpha.via["fink-common"] == []  # the initial commit counts as its own
    text = render([alpha])
    assert "fink-alpha 0.1.0  (stages/alpha)  -- never released" in text
    assert "first tag will be fink-alpha-v0.1.0" in text
    assert "supports fink-common >=0.1,<0.2 (tree: 0.1.0, ok)" in text


def test_changes_since_the_tag_grouped_by_where_they_come_from(repo: Path) -> None:
    _git(repo, "tag", "fink-alpha-v0.1.0")
    _git(repo, "tag", "fink-common-v0.1.0")
    assert _by_dist(repo)["fink-alpha"].status == "unchanged since the tag"

    _write(repo / "libs/fink-common/src/fink_common/io.py", "x = 1\n")
    in_common = _commit(repo, "common: new io helper")
    _write(repo / "libs/fink-common/tests/test_x.py", "# only a test\n")
    _commit(repo, "common: test only (ships in no wheel)")
    _write(repo / "3rdparty/python/requirements.txt", "pandas>=2\n")
    in_lock = _commit(repo, "bump pandas")
    _write(repo / "stages/alpha/src/fink_alpha/job.py", "y = 2\n")
    _write(repo / "libs/fink-common/src/fink_common/io.py", "x = 2\n")
    in_both = _commit(repo, "alpha and common together")
    _write(repo / "datasim/src/fink_datasim/gen.py", "z = 3\n")
    _commit(repo, "datasim only")

    results = _by_dist(repo)
    alpha = results["fink-alpha"]
    assert alpha.last_tag == "fink-alpha-v0.1.0"
    assert [c.sha for c in alpha.own] == [in_both]  # a commit touching both counts once, as its own
    assert [c.sha for c in alpha.via["fink-common"]] == [in_common]  # not the test-only commit
    assert [c.sha for c in alpha.via["3rdparty"]] == [in_lock]
    assert (alpha.bumped, alpha.status) == (False, "changed since the tag: bump VERSION")
    cli = results["fink-cli"]
    assert cli.last_tag is None and [c.subject for c in cli.via["fink-alpha"]] == ["alpha and common together"]
    datasim = results["fink-datasim"]
    assert [c.subject for c in datasim.own] == ["datasim only", "initial layout"] and list(datasim.via) == ["3rdparty"]
    text = render([alpha])
    assert "VERSION: not bumped since fink-alpha-v0.1.0" in text
    assert "via fink-common: 1" in text and "common: new io helper" in text

    _write(repo / "stages/alpha/src/fink_alpha/VERSION", "0.2.0\n")
    alpha = _by_dist(repo)["fink-alpha"]
    assert alpha.uncommitted == ["stages/alpha/src/fink_alpha/VERSION"]
    assert (alpha.bumped, alpha.version_at_tag, alpha.status) == (True, "0.1.0", "VERSION bumped: ready to tag")
    assert alpha.changelog_has_version is False
    text = render([alpha])
    assert "VERSION: bumped 0.1.0 -> 0.2.0; tag: git tag fink-alpha-v0.2.0" in text
    assert "CHANGELOG.md: no section for 0.2.0 yet" in text
    _write(repo / "stages/alpha/CHANGELOG.md", "# fink-alpha\n\n## 0.2.0\n- io\n\n## [0.1.0]\n- first\n")
    assert _by_dist(repo)["fink-alpha"].changelog_has_version is True


def test_last_release_is_the_highest_version_reachable_from_the_revision(repo: Path) -> None:
    git = Git(repo)
    _git(repo, "tag", "fink-alpha-v0.9.0")
    _write(repo / "stages/alpha/src/fink_alpha/job.py", "y = 2\n")
    _commit(repo, "alpha change")
    _git(repo, "tag", "fink-alpha-v0.10.0")  # 0.10 > 0.9 as versions, not as text
    _git(repo, "tag", "fink-alpha-vnext")  # not a release tag: ignored
    assert last_release(git, "fink-alpha") == "fink-alpha-v0.10.0"
    assert last_release(git, "fink-alpha", "HEAD~1") == "fink-alpha-v0.9.0"  # the later tag is not reachable
    assert last_release(git, "fink-common") is None


def test_a_fink_common_outside_a_stage_range_is_flagged(repo: Path) -> None:
    _write(repo / "libs/fink-common/src/fink_common/VERSION", "0.2.0\n")
    alpha = _by_dist(repo)["fink-alpha"]
    assert (alpha.fink_common_range, alpha.fink_common_version, alpha.fink_common_ok) == (">=0.1,<0.2", "0.2.0", False)
    assert "supports fink-common >=0.1,<0.2 (tree: 0.2.0, OUTSIDE" in render([alpha])


def test_main_prints_text_or_json_for_the_packages_asked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(repo), "fink-alpha", "datasim"]) == 0
    out = capsys.readouterr().out
    assert "fink-alpha 0.1.0" in out and "fink-datasim 0.3.0" in out and "fink-common 0.1.0" not in out
    assert main(["--repo", str(repo), "--json", "fink_common"]) == 0
    (common,) = json.loads(capsys.readouterr().out)
    assert common["package"]["dist"] == "fink-common"
    assert (common["status"], common["version"]) == ("never released", "0.1.0")
    with pytest.raises(SystemExit, match="unknown package"):
        main(["--repo", str(repo), "fink-nope"])


def test_a_repository_without_commits_reports_every_package_as_never_released(tmp_path: Path) -> None:
    _package(tmp_path, "libs/fink-common", "fink_common", "fink-common", "0.1.0", "")
    _git(tmp_path, "init", "-q")
    (common,) = collect(tmp_path)
    assert (common.status, common.own, len(common.uncommitted)) == ("never released", [], 3)
