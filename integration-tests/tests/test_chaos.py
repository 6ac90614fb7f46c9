"""Faults: nothing lost, nothing doubled. The real pipeline (Kafka and HBase containers of our images, the four
stages as processes) ingests 1,000 generated alerts and the 300 real ZTF ones while a seeded plan SIGKILLs each
of the six parts (each stage, Kafka, HBase) once, in a seeded order; every victim is restarted
after a short random delay. Once everything is back and drained, every sink must hold every alert exactly once:
the reconciliation report is exact and the per-sink audit counts 0 lost, 0 duplicated, 0 unexpected.

The engine is `fink_cli.chaos`. The full-size runs (10,000 alerts and 10 kills; 100,000 alerts and 12 kills) are
`bench/chaos.py`: in the test suite, a fresh machine spent 18.6 of its 49.5 minutes on the 3,300-alert version.
"""

from __future__ import annotations

import json
from pathlib import Path

from containers import image_name

from fink_cli.chaos import VICTIMS, ChaosOptions, run_chaos
from fink_common.datasets import sample_dir
from fink_datasim.generate import generate

N_GENERATED = 1000
N_REAL, REAL_DISTINCT = 300, 297  # the real sample holds 3 alerts twice
KILLS = 6  # one per victim
SEED = 2026


def test_every_alert_once_in_every_sink_after_a_sigkill_of_each_part(tmp_path: Path) -> None:
    generated = tmp_path / "alerts"
    generate(generated, n=N_GENERATED, seed=SEED)
    opts = ChaosOptions(
        work=tmp_path / "run",
        alerts=(generated, sample_dir("ztf_4.02")),
        kafka_image=image_name("kafka"),
        hbase_image=image_name("hbase"),
        kills=KILLS,
        seed=SEED,
        rate=15.0,
        gap_s=(6.0, 14.0),
        restart_delay_s=(1.0, 6.0),
    )
    result = run_chaos(opts)
    summary = json.dumps(result.to_json(), indent=1, default=str)
    (tmp_path / "chaos.json").write_text(summary)
    print(summary)

    assert result.error is None, result.error
    # the plan ran: a SIGKILL of every part, each victim restarted and up again
    assert [k["victim"] for k in result.kills] == [k["victim"] for k in result.plan]
    assert len(result.kills) == KILLS and {k["victim"] for k in result.kills} == set(VICTIMS)
    assert all(k["signal"] == "SIGKILL" and k["up_again_after_s"] is not None for k in result.kills)
    causes = [r["cause"] for r in result.restarts]
    assert all(f"kill #{n}" in causes for n in range(1, KILLS + 1))
    assert result.alerts == {"sent": N_GENERATED + N_REAL, "distinct": N_GENERATED + REAL_DISTINCT}
    assert result.stop_codes == dict.fromkeys(("archive", "distribution", "raw2science", "stream2raw"), 0)

    # the reconciliation is exact ...
    assert result.report_ok, result.report["failed_checks"]
    assert result.report["totals"]["raw"] == N_GENERATED + N_REAL
    assert result.report["totals"]["science"] + result.report["totals"]["rejected"] == N_GENERATED + REAL_DISTINCT
    # ... and every sink, counted candid by candid, lost nothing and doubled nothing
    assert result.audit is not None
    assert result.audit.totals() == {"lost": 0, "duplicated": 0, "unexpected": 0}, result.audit.render()
    sinks = {s.sink: s for s in result.audit.sinks}
    assert sinks["raw"].found == N_GENERATED + N_REAL
    assert sinks["science+rejected"].found == N_GENERATED + REAL_DISTINCT
    assert sinks["hbase:ztf"].found == result.report["totals"]["science"]
    assert sum(s.found for name, s in sinks.items() if name.startswith("kafka:")) > 0
    assert result.audit.ok, result.audit.render()
