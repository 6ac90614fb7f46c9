"""Chaos run: the real pipeline under SIGKILLs, then proof that nothing was lost and nothing doubled.

Kafka and HBase run as their own containers (`fink_cli.service_container`: never the shared local services) and
the four stages as separate processes (`python -m fink_<stage>`, no FINK_AVAILABLE_NOW, the demo's environment).
While alerts are replayed at a given rate, a seeded plan (`plan_kills`) kills a victim among the four stages,
Kafka and HBase every `gap_s` seconds: SIGKILL of the stage's whole process tree, or `docker kill` of the
service container. The victim is restarted after its planned delay; any other part that dies on its own
meanwhile (a stage that gave up while Kafka was down) is restarted too and logged as a collateral restart.
After the last kill, once every part is up again and the replay is over, the run waits until every stage's
checkpoint has committed all its input (`fink_cli.checkpoint`), stops the stages cleanly, and checks every sink
twice: the reconciliation report (`build_report`, must be exact) and the per-sink audit (`audit_run`: lost,
duplicated and unexpected candids, all must be 0).
"""

from __future__ import annotations

import json
import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition

from fink_cli.audit import Audit, audit_run
from fink_cli.checkpoint import committed_files, committed_kafka_offsets, in_flight, lake_files
from fink_cli.demo import STAGES, stage_env
from fink_cli.processes import StageFailed, StageProcess
from fink_cli.reconcile import RunContext, build_report
from fink_cli.service_container import ServiceContainer, hbase_service, kafka_service, remove_orphans
from fink_common.config import HBaseConfig, parse_host_port
from fink_common.errors import FinkError, ServiceUnavailableError
from fink_common.kafka import ensure_topics, make_consumer
from fink_datasim.framing import alert_files, iter_messages
from fink_datasim.replay import ReplayResult, replay

__all__ = ["VICTIMS", "ChaosError", "ChaosOptions", "ChaosResult", "PlannedKill", "plan_kills", "run_chaos"]

VICTIMS = ("stream2raw", "raw2science", "distribution", "archive", "kafka", "hbase")
#: seconds before a part that died on its own is started again (once Kafka and HBase are healthy)
COLLATERAL_DELAY_S = 3.0


def _print(text: str) -> None:
    print(text, flush=True)


class ChaosError(FinkError):
    """The chaos run could not go on: a part did not come back, crash-looped, or the replay failed."""


@dataclass(frozen=True)
class ChaosOptions:
    work: Path  # lake, logs and results of the run (emptied first)
    alerts: tuple[Path, ...]  # folders of alert files, replayed one after the other
    kafka_image: str
    hbase_image: str
    kills: int = 10
    seed: int = 1
    rate: float = 50.0  # alerts/s of the replay (0: as fast as possible)
    gap_s: tuple[float, float] = (10.0, 30.0)  # seconds between two kills (at least)
    restart_delay_s: tuple[float, float] = (1.0, 8.0)  # a victim stays down this long
    victims: tuple[str, ...] = VICTIMS
    up_timeout_s: float = 600.0  # for a part to come (back) up
    drain_timeout_s: float = 1800.0
    max_exits: int = 12  # unplanned exits of one stage before the run is declared a crash loop
    input_topic: str = "ztf_chaos_programid1"
    topic_prefix: str = "fink_chaos_"
    table_prefix: str = "chaos"
    progress: Callable[[str], None] = _print  # one line per event of the run


@dataclass(frozen=True)
class PlannedKill:
    gap_s: float  # after the previous kill (or the start of the replay)
    victim: str
    restart_delay_s: float


def plan_kills(n: int, seed: int, victims: tuple[str, ...], gap_s: tuple[float, float], delay_s: tuple[float, float]) -> list[PlannedKill]:
    """`n` kills drawn from `seed`: the victims in shuffled rounds (each one once per round), random gaps and delays."""
    rng = random.Random(seed)
    order: list[str] = []
    while len(order) < n:
        round_ = list(victims)
        rng.shuffle(round_)
        order += round_
    return [PlannedKill(round(rng.uniform(*gap_s), 2), v, round(rng.uniform(*delay_s), 2)) for v in order[:n]]


@dataclass
class ChaosResult:
    options: dict[str, Any]
    plan: list[dict[str, Any]]
    kills: list[dict[str, Any]] = field(default_factory=list)
    restarts: list[dict[str, Any]] = field(default_factory=list)
    exits: list[dict[str, Any]] = field(default_factory=list)  # stages that exited on their own
    replays: list[dict[str, Any]] = field(default_factory=list)
    alerts: dict[str, int] = field(default_factory=dict)
    timing_s: dict[str, float] = field(default_factory=dict)
    stop_codes: dict[str, int | str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    audit: Audit | None = None
    report_ok: bool = False
    error: str | None = None  # why the run stopped early (a part did not come back, no drain...)

    @property
    def ok(self) -> bool:
        return self.error is None and self.report_ok and self.audit is not None and self.audit.ok

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "audit"}
        out["audit"] = self.audit.to_json() if self.audit else None
        return {"ok": self.ok, **out}


class _StartCounter:
    """Counts a stage's `starting` log lines (its query started), reading only what was appended since."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.count = path, 0, 0

    def __call__(self) -> int:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return self.count
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            if line.startswith(b"{") and b"starting" in line:
                try:
                    self.count += json.loads(line).get("event") == "starting"
                except ValueError:
                    pass
        return self.count


class _Run:
    def __init__(self, opts: ChaosOptions) -> None:
        self.opts = opts
        self.work = opts.work.resolve()
        self.lake = self.work / "lake"
        tag = f"{int(time.time())}-{random.Random().randrange(1 << 16):04x}"
        self.services: dict[str, ServiceContainer] = {
            "kafka": kafka_service(f"fink-chaos-kafka-{tag}", opts.kafka_image),
            "hbase": hbase_service(f"fink-chaos-hbase-{tag}", opts.hbase_image),
        }
        env = stage_env(
            bootstrap=self.bootstrap, thrift=self.services["hbase"].address, table_prefix=opts.table_prefix,
            lake=self.lake, input_topic=opts.input_topic, topic_prefix=opts.topic_prefix, wait_s=opts.up_timeout_s,
        )  # fmt: skip
        logs = self.work / "logs"
        self.stages = {name: StageProcess(name, module, env, logs / f"{name}.log") for name, module in STAGES}
        self.started = {name: _StartCounter(s.log_path) for name, s in self.stages.items()}
        self.starts_before: dict[str, int] = dict.fromkeys(self.stages, 0)
        self.pending: dict[str, tuple[float, str]] = {}  # part -> (restart at, cause)
        self.health: dict[str, str] = {}
        self.exit_count: Counter[str] = Counter()
        self.plan = plan_kills(opts.kills, opts.seed, opts.victims, opts.gap_s, opts.restart_delay_s)
        self.result = ChaosResult(options=_jsonable(opts), plan=[asdict(k) for k in self.plan])
        self.t0 = time.monotonic()
        self.replay_error: BaseException | None = None

    @property
    def bootstrap(self) -> str:
        return self.services["kafka"].address

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 1)

    def say(self, text: str) -> None:
        self.opts.progress(f"[chaos {self.now():7.1f}s] {text}")

    # ------------------------------------------------------------------------------ supervision

    def is_up(self, part: str) -> bool:
        if part in self.services:
            return self.health.get(part) == "healthy"
        return self.stages[part].returncode is None and self.started[part]() > self.starts_before[part]

    def supervise(self) -> None:
        """Notice parts that died on their own, restart what is due, refresh the services' health."""
        self.health = {name: svc.health() for name, svc in self.services.items()}
        now = time.monotonic()
        for name, stage in self.stages.items():
            code = stage.returncode
            if code is not None and name not in self.pending:
                self.exit_count[name] += 1
                self.result.exits.append({"at_s": self.now(), "stage": name, "exit_code": code, "tail": stage.tail(6)})
                self.say(f"{name} exited on its own (code {code}): collateral restart")
                if self.exit_count[name] > self.opts.max_exits:
                    raise ChaosError(f"{name} exited {self.exit_count[name]} times on its own: crash loop\n{stage.tail(30)}")
                self.pending[name] = (now + COLLATERAL_DELAY_S, "collateral")
        for name in self.services:
            if self.health[name] == "down" and name not in self.pending:
                self.say(f"{name} container stopped on its own: collateral restart")
                self.pending[name] = (now + COLLATERAL_DELAY_S, "collateral")
        services_ok = all(h == "healthy" for h in self.health.values())
        for name, (when, cause) in sorted(self.pending.items()):
            if now < when or (name in self.stages and cause == "collateral" and not services_ok):
                continue
            del self.pending[name]
            if name in self.services:
                self.services[name].start()
            else:
                self.starts_before[name] = self.started[name]()
                self.stages[name].start()
            self.result.restarts.append({"at_s": self.now(), "part": name, "cause": cause})
            self.say(f"restarted {name} ({cause})")
        for kill in self.result.kills:
            if kill["up_again_after_s"] is None and kill["victim"] not in self.pending and self.is_up(kill["victim"]):
                kill["up_again_after_s"] = round(self.now() - kill["at_s"], 1)

    def wait(self, done: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 1.0) -> float:
        begin = time.monotonic()
        while True:
            self.supervise()
            if self.replay_error is not None:
                raise ChaosError(f"the replay failed: {self.replay_error!r}")
            if done():
                return time.monotonic() - begin
            if time.monotonic() - begin > timeout_s:
                down = [p for p in VICTIMS if not self.is_up(p)]
                raise ChaosError(f"{what}: not reached within {timeout_s:.0f} s (down: {down})")
            time.sleep(poll_s)

    def all_up(self) -> bool:
        return not self.pending and all(self.is_up(p) for p in VICTIMS)

    # ------------------------------------------------------------------------------ faults

    def kill(self, n: int, planned: PlannedKill) -> None:
        victim = planned.victim
        # the micro-batch each stage had started and not committed: what its restart must replay exactly once
        busy = {s: in_flight(self.lake / "checkpoints" / s / "main") for s in self.stages}
        if victim in self.services:
            self.services[victim].kill()
            detail: dict[str, Any] = {"container": self.services[victim].name}
        else:
            detail = {"pids": len(self.stages[victim].kill())}
        self.pending[victim] = (time.monotonic() + planned.restart_delay_s, f"kill #{n}")
        self.result.kills.append({
            "n": n, "at_s": self.now(), "victim": victim, "signal": "SIGKILL", "planned_gap_s": planned.gap_s,
            "restart_delay_s": planned.restart_delay_s, "up_again_after_s": None, **detail,
            "batches_in_flight": {s: b for s, b in busy.items() if b is not None},
        })  # fmt: skip
        self.say(f"kill #{n}: SIGKILL {victim}; restart in {planned.restart_delay_s:.1f} s")

    def replay_all(self) -> None:
        try:
            for folder in self.opts.alerts:
                for attempt in range(1, 31):
                    try:  # replay checks the topic first, before it sends anything: retried while Kafka is down
                        result = replay(folder, self.opts.input_topic, rate=self.opts.rate, bootstrap=self.bootstrap,
                                        progress=False, connect_timeout_s=20.0, delivery_timeout_s=900.0)  # fmt: skip
                        break
                    except ServiceUnavailableError:
                        if attempt == 30:
                            raise
                        time.sleep(5.0)
                self.result.replays.append(_replay_json(folder, result))
                if result.failed:
                    raise ChaosError(f"{result.failed} alerts of {folder} not acknowledged by Kafka: {result.error}")
        except BaseException as exc:  # noqa: BLE001 (reported by the main thread)
            self.replay_error = exc

    # ------------------------------------------------------------------------------ drain

    def drained(self, total: int) -> bool:
        checkpoints = self.lake / "checkpoints"
        ends = _topic_ends(self.bootstrap, self.opts.input_topic)
        if sum(ends.values()) < total or committed_kafka_offsets(checkpoints / "stream2raw" / "main").get(self.opts.input_topic) != ends:
            return False
        if not lake_files(self.lake / "raw") <= committed_files(checkpoints / "raw2science" / "main"):
            return False
        science = lake_files(self.lake / "science")
        return all(science <= committed_files(checkpoints / s / "main") for s in ("distribution", "archive"))

    # ------------------------------------------------------------------------------ the run

    def ready_to_kill(self, planned: PlannedKill, since: float) -> bool:
        return time.monotonic() - since >= planned.gap_s and planned.victim not in self.pending and self.is_up(planned.victim)

    def pipeline(self, sent_total: int) -> None:
        """Services, stages, replay and kills, then the drain; raises ChaosError when something does not come back."""
        opts, timing = self.opts, self.result.timing_s
        for svc in self.services.values():
            svc.run()
        self.say(f"Kafka on {self.bootstrap}, HBase Thrift on {self.services['hbase'].address}: waiting for health")
        healthy = lambda: self.is_up("kafka") and self.is_up("hbase")  # noqa: E731
        timing["services_up"] = round(self.wait(healthy, opts.up_timeout_s, "services healthy"), 1)
        ensure_topics(self.bootstrap, [opts.input_topic])
        for stage in self.stages.values():
            stage.start()
        timing["stream2raw_up"] = round(self.wait(lambda: self.is_up("stream2raw"), opts.up_timeout_s, "stream2raw up"), 1)
        replayer = threading.Thread(target=self.replay_all, name="replay", daemon=True)
        chaos_start = last = time.monotonic()
        self.say(f"replaying {sent_total} alerts at {opts.rate or 'max'}/s; {len(self.plan)} kills planned")
        replayer.start()
        for n, planned in enumerate(self.plan, 1):
            since = last
            self.wait(lambda: self.ready_to_kill(planned, since), opts.up_timeout_s + planned.gap_s, f"kill #{n}")  # noqa: B023
            self.kill(n, planned)
            last = time.monotonic()
        self.wait(self.all_up, opts.up_timeout_s, "every part up after the last kill")
        self.wait(lambda: not replayer.is_alive(), opts.drain_timeout_s, "replay finished", poll_s=2.0)
        timing["chaos"] = round(time.monotonic() - chaos_start, 1)
        self.say("all kills done, every part up, replay over: draining")
        drained = lambda: self.all_up() and self.drained(sent_total)  # noqa: E731
        timing["drain"] = round(self.wait(drained, opts.drain_timeout_s, "drained", poll_s=5.0), 1)
        self.say(f"drained in {timing['drain']:.0f} s: stopping the stages")

    def run(self) -> ChaosResult:
        result = self.result
        for sub in ("lake", "logs"):
            shutil.rmtree(self.work / sub, ignore_errors=True)
        sent = _candids(self.opts.alerts)
        result.alerts = {"sent": sum(sent.values()), "distinct": len(sent)}
        remove_orphans()
        try:
            try:
                self.pipeline(result.alerts["sent"])
            except ChaosError as exc:
                result.error = str(exc)
                self.say(f"run stopped early: {exc}")
            for name in reversed(list(self.stages)):
                try:
                    result.stop_codes[name] = self.stages[name].stop()
                except StageFailed as exc:
                    result.stop_codes[name] = str(exc)
            if all(svc.health() == "healthy" for svc in self.services.values()):
                self.verify(sent)
        finally:
            for stage in self.stages.values():
                stage.kill()
            for svc in self.services.values():
                svc.remove()
        result.timing_s["total"] = round(time.monotonic() - self.t0, 1)
        return result

    def verify(self, sent: Counter[Hashable]) -> None:
        begin = time.monotonic()
        host, port = parse_host_port(self.services["hbase"].address)
        hbase = HBaseConfig(host, port, self.opts.table_prefix)
        ctx = RunContext(self.lake, self.bootstrap, (self.opts.input_topic,), self.opts.topic_prefix, "ztf", hbase)
        report = build_report(ctx)
        self.result.report_ok = report.ok
        self.result.report = {
            "totals": report.totals, "filters": report.filters, "hbase_tables": report.hbase_tables,
            "failed_checks": [asdict(c) for c in report.checks if not c.ok], "checks": len(report.checks),
        }  # fmt: skip
        self.result.audit = audit_run(ctx, sent)
        self.result.timing_s["verify"] = round(time.monotonic() - begin, 1)
        self.say(f"report {'EXACT' if report.ok else 'MISMATCH'}; audit {self.result.audit.totals()}")


def _candids(folders: tuple[Path, ...]) -> Counter[Hashable]:
    """The candid of every message the replay of `folders` sends (the message keys), with multiplicity."""
    return Counter(int(m.key) for folder in folders for m in iter_messages(alert_files(folder)) if m.key)


def _topic_ends(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = make_consumer(bootstrap, "fink-chaos-probe", {"socket.connection.setup.timeout.ms": 5000})
    try:
        meta = consumer.list_topics(topic, timeout=10)
        parts = meta.topics[topic].partitions if topic in meta.topics else {}
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    except Exception:  # noqa: BLE001 (Kafka down right now: not drained)
        return {}
    finally:
        consumer.close()


def _replay_json(folder: Path, result: ReplayResult) -> dict[str, Any]:
    return {"folder": str(folder), "sent": result.sent, "failed": result.failed, "elapsed_s": round(result.elapsed_s, 1),
            "rate": round(result.rate, 1)}  # fmt: skip


def _jsonable(opts: ChaosOptions) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else [str(p) for p in v] if k == "alerts" else v)
            for k, v in asdict(opts).items() if k != "progress"}  # fmt: skip


def run_chaos(opts: ChaosOptions) -> ChaosResult:
    """Run the pipeline under the kill plan of `opts`, then verify every sink (see the module docstring)."""
    return _Run(opts).run()
