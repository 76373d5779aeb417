"""Endpoints are not cores: many requests in flight, in-process models still one per core."""

from __future__ import annotations

import json
import time
from pathlib import Path

from faults import Fault, cycle, start_fault_server
from typer.testing import CliRunner

from smallagents.cli import app
from smallagents.models.llama import LlamaModel
from smallagents.models.pool import ModelPool, SharedInstances

ROLES = Path(__file__).resolve().parent / "sentiment_roles.py"
LATENCY = 1.0


def _job(tmp_path: Path, spec: str, workers: int, records: int, extra: str = "") -> float:
    """Run the sentiment role on ``records`` texts against ``spec``; records per second."""
    folder = tmp_path / f"w{workers}"
    folder.mkdir()
    source = folder / "in.jsonl"
    source.write_text("".join(json.dumps({"text": f"text {i}"}) + "\n" for i in range(records)))
    config = folder / "smallagents.toml"
    config.write_text(
        f'[run]\nmodel = "{spec}"\n'
        '[endpoints.default]\nstructured_output = "json_schema"\nretries = 0\n' + extra
    )
    started = time.perf_counter()
    result = CliRunner().invoke(
        app,
        [
            *("run", "sentiment", "--roles", str(ROLES), "--quiet", "--fresh"),
            *("--input", str(source), "--workers", str(workers)),
            *("--output", str(folder / "out.jsonl"), "--config", str(config)),
        ],
    )
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    lines = (folder / "out.jsonl").read_text().splitlines()
    rejects = folder / "out.rejects.jsonl"
    assert not rejects.exists() or not rejects.read_text(), rejects.read_text()[:500]
    assert len(lines) == records
    return records / seconds


def test_a_job_keeps_32_endpoint_requests_in_flight(tmp_path: Path) -> None:
    slow = cycle([Fault("slow", LATENCY)])
    with start_fault_server(slow, lambda _: '{"label":"positive"}') as server:
        one = _job(tmp_path, server.spec(), 1, 6)
        many = _job(tmp_path, server.spec(), 32, 96)
        starts = sorted(arrival.at for arrival in server.arrivals[6:])
    print(f"records per second at {LATENCY} s latency: 1 in flight {one:.1f}, 32 {many:.1f}")
    assert one < 1 / LATENCY * 1.1  # one at a time: the latency bounds it
    # Each request takes LATENCY: those that arrived within LATENCY of one another
    # were in flight together. Many were, far more than the 2 cores.
    assert _together(starts, LATENCY) >= 16
    assert many > 10 * one


def _together(starts: list[float], window: float) -> int:
    """The most requests that arrived within ``window`` of the first of them."""
    return max(sum(1 for t in starts[i:] if t - start < window) for i, start in enumerate(starts))


def test_max_concurrency_caps_the_requests_in_flight_to_an_endpoint(tmp_path: Path) -> None:
    slow = cycle([Fault("slow", LATENCY)])
    with start_fault_server(slow, lambda _: '{"label":"positive"}') as server:
        _job(tmp_path, server.spec(), 32, 16, extra="max_concurrency = 4\n")
        starts = sorted(arrival.at for arrival in server.arrivals)
    assert _together(starts, 0.9 * LATENCY) == 4


def test_workers_beyond_the_cores_share_in_process_instances() -> None:
    shared = SharedInstances(2)
    pools = [ModelPool(threads=1, shared=shared) for _ in range(5)]
    try:
        loaded = [pool.load("default") for pool in pools]
        assert all(isinstance(model, LlamaModel) for model in loaded)
        assert len({id(model) for model in loaded}) == 2 == len(shared)
        assert loaded[0] is loaded[2] is loaded[4] and loaded[1] is loaded[3]
        for pool in pools:
            pool.close()  # a pool does not close what it shares
        assert loaded[0].generate("Hi", max_tokens=2, seed=0).completion_tokens > 0
    finally:
        shared.close()
