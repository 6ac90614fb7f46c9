"""The generator writes valid ZTF 4.02 alerts, deterministically, in a layout the replayer reads."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.validation import validate

from fink_common.avro import decode_alert
from fink_common.schema import load_avro_schema, parsed_schema
from fink_datasim.alert import AlertFactory
from fink_datasim.container import read_container
from fink_datasim.cutout import CutoutPool
from fink_datasim.errors import DatasimError, OutputExistsError
from fink_datasim.generate import MANIFEST, GenerateResult, generate, iter_alerts
from fink_datasim.plan import build_plan

SMALL_N = 1500  # size of the `small_night` fixture (conftest)


def _file_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_every_generated_record_validates(small_night: GenerateResult, small_alerts: list[dict[str, Any]]) -> None:
    schema = parsed_schema("ztf_4.02")
    assert len(small_alerts) == SMALL_N == small_night.alerts
    for record in small_alerts:
        assert validate(record, schema, raise_errors=True)


def test_files_carry_the_ztf_schema_one_record_per_block(small_night: GenerateResult) -> None:
    expected = fastavro.schema.to_parsing_canonical_form(parsed_schema("ztf_4.02"))
    for name in small_night.files:
        box = read_container((Path(small_night.out) / name).read_bytes(), name)
        writer = fastavro.schema.to_parsing_canonical_form(fastavro.parse_schema(json.loads(box.schema_text)))
        assert writer == expected
        assert box.codec == "null" and box.records == 500 and all(b.count == 1 for b in box.blocks)
        # A header + one block is a valid one-alert container message for the broker's decoder.
        alert = decode_alert(box.block_file(box.blocks[0]), "ztf_4.02")
        assert alert["schemavsn"] == "4.02"


def test_manifest_describes_the_output(small_night: GenerateResult) -> None:
    manifest = json.loads((Path(small_night.out) / MANIFEST).read_text())
    assert manifest["alerts"] == SMALL_N and manifest["schema"] == "ztf_4.02" and manifest["night"] == "20231018"
    assert [f["name"] for f in manifest["files"]] == list(small_night.files)
    assert sum(f["alerts"] for f in manifest["files"]) == SMALL_N
    assert sum(manifest["alerts_per_population"].values()) == SMALL_N


def test_same_seed_same_bytes_whatever_the_workers(tmp_path: Path) -> None:
    one = generate(tmp_path / "a", n=1200, seed=5, per_file=300, workers=1)
    two = generate(tmp_path / "b", n=1200, seed=5, per_file=300, workers=2)
    assert one.files == two.files and len(one.files) == 4
    assert _file_bytes(tmp_path / "a") == _file_bytes(tmp_path / "b")


def test_different_seed_different_alerts(tmp_path: Path) -> None:
    generate(tmp_path / "a", n=300, seed=5, workers=1)
    generate(tmp_path / "b", n=300, seed=6, workers=1)
    a, b = _file_bytes(tmp_path / "a"), _file_bytes(tmp_path / "b")
    assert a.keys() == b.keys()
    assert all(a[name] != b[name] for name in a)
    first_a = next(fastavro.reader(io.BytesIO(a["ztf_20231018_00000.avro"])))
    first_b = next(fastavro.reader(io.BytesIO(b["ztf_20231018_00000.avro"])))
    assert first_a["objectId"] != first_b["objectId"]


def test_encoder_matches_fastavro_byte_for_byte() -> None:
    """The compiled encoder used for speed writes exactly what fastavro writes for the same dict."""
    plan = build_plan(400, 3, "20231018")
    pool = CutoutPool.build(3)
    schema = load_avro_schema("ztf_4.02")
    as_dicts = AlertFactory(plan, pool, schema)
    as_bytes = AlertFactory(plan, pool, schema, encode=True)
    parsed = parsed_schema("ztf_4.02")
    for index in range(len(plan.alerts)):
        out = io.BytesIO()
        fastavro.schemaless_writer(out, parsed, as_dicts.alert(index))
        assert as_bytes.encoded(index) == out.getvalue(), f"alert {index} differs"


def test_iter_alerts_gives_the_records_of_the_files(small_alerts: list[dict[str, Any]]) -> None:
    plan = build_plan(SMALL_N, 11, "20231018")
    first = list(iter_alerts(plan))[:25]
    assert [a["candid"] for a in first] == [a["candid"] for a in small_alerts[:25]]


def test_existing_output_needs_force(tmp_path: Path) -> None:
    generate(tmp_path, n=50, seed=1, workers=1)
    with pytest.raises(OutputExistsError, match="--force"):
        generate(tmp_path, n=50, seed=1, workers=1)
    again = generate(tmp_path, n=20, seed=1, workers=1, overwrite=True)
    assert again.alerts == 20 and sorted(p.name for p in tmp_path.glob("*.avro")) == list(again.files)


@pytest.mark.parametrize("night", ["2023", "20231340", "tonight"])
def test_bad_night_is_a_clear_error(tmp_path: Path, night: str) -> None:
    with pytest.raises(DatasimError, match="YYYYMMDD"):
        generate(tmp_path, n=10, night=night)


@pytest.mark.parametrize("n", [1, 3, 7, 101])
def test_population_counts_always_add_up_to_n(n: int) -> None:
    from fink_datasim.plan import Population

    population = Population(variable=0.0, transient=0.5, asteroid=0.25, bogus=0.25)
    plan = build_plan(n, 1, "20231018", population)
    assert len(plan.alerts) == n
    assert all(plan.objects[a.obj].kind != "variable" for a in plan.alerts)
