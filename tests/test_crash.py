"""Crash safety and full disks: a job killed anywhere, or starved of space, resumes exactly.

Every test compares with an uninterrupted run of the same job: after the kills
(or the failed writes) and a final run of the same command, the output and the
rejects files hold the same lines as the uninterrupted run's, each once, and
every line is valid JSON. Between runs the job state must be consistent: the
SQLite ledger's last row records lengths the files have reached, and the files
up to those lengths hold exactly the committed units, as whole lines.

Most runs use ``crash_fast`` (tests/crash_driver.py), a pipeline without a model
whose time goes to the job's own writes (append + fsync, SQLite commit), run by
the real CLI in children of a fork server, so 20+ kills take seconds. The
targeted faults patch the job's state classes in the child only (see the
driver's docstring): a torn output or rejects line, a kill between fsync and
SQLite commit, inside the SQLite transaction, right after it, and inside the
transaction that binds a new state. Disk full is the kernel's own EFBIG (a
``RLIMIT_FSIZE`` in the child), since mounting a small filesystem needs
privileges CI may lack. The last test kills the real default model's job at
random moments. Jobs write no LangGraph checkpoints (GraphPipeline compiles its
graph without one), so the SQLite ledger is the only checkpoint to kill.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyarrow import parquet as pq

DRIVER = Path(__file__).with_name("crash_driver.py")
SEED = int(os.environ.get("CRASH_SEED", "20261125"))  # the kill times; printed on failure


@dataclass(frozen=True)
class Ended:
    code: int | None
    signal: int | None
    seconds: float


class Driver:
    """The fork server of tests/crash_driver.py: one child at a time."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(DRIVER), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._started = 0.0

    def _answer(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        assert line, f"the crash driver died (exit code {self._process.poll()})"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def start(self, argv: list[str], *, log: Path, fault: str | None = None, at: int = 0) -> int:
        assert self._process.stdin is not None
        request = {"argv": argv, "stderr": str(log), "phase": str(log) + ".phase"}
        request |= {"fault": fault, "at": at}
        self._started = time.perf_counter()
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        pid: int = self._answer()["pid"]
        return pid

    def wait(self) -> Ended:
        answer = self._answer()
        return Ended(answer["code"], answer["signal"], time.perf_counter() - self._started)

    def run(self, argv: list[str], *, log: Path, fault: str | None = None, at: int = 0) -> Ended:
        self.start(argv, log=log, fault=fault, at=at)
        return self.wait()

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)


@pytest.fixture(scope="module")
def driver() -> Iterator[Driver]:
    server = Driver()
    yield server
    server.close()


@dataclass(frozen=True)
class Job:
    """One job folder: its input, output, rejects and state."""

    folder: Path

    @property
    def output(self) -> Path:
        return self.folder / "out.jsonl"

    @property
    def rejects(self) -> Path:
        return self.folder / "out.rejects.jsonl"

    @property
    def state(self) -> Path:
        return self.folder / "out.jsonl.state.sqlite"

    def argv(self, *extra: str, output: Path | None = None) -> list[str]:
        return ["run", "crash_fast", "--graphs", str(DRIVER),
                "--input", str(self.folder / "in.jsonl"), "--output", str(output or self.output),
                "--quiet", *extra]  # fmt: skip

    def lines(self) -> tuple[list[str], list[str]]:
        return _lines(self.output), _lines(self.rejects)

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.stderr"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def make_job(folder: Path, records: int, text_size: int = 8) -> Job:
    folder.mkdir(parents=True)
    with (folder / "in.jsonl").open("w") as handle:
        for index in range(records):
            text = f"record {index} " + "x" * text_size
            handle.write(json.dumps({"id": f"r{index}", "text": text}) + "\n")
    return Job(folder)


def uninterrupted(driver: Driver, folder: Path, records: int, text_size: int = 8) -> Ended:
    """Run a job once without faults; its files are the reference."""
    job = make_job(folder, records, text_size)
    ended = driver.run([*job.argv(), "--workers", "1"], log=job.log("reference"))
    assert ended.code == 0, job.log("reference").read_text()
    return ended


def ledger(job: Job) -> tuple[list[str], int, int]:
    """The committed unit ids, in order, and the file lengths after the last one."""
    if not job.state.exists():
        return [], 0, 0
    db = sqlite3.connect(job.state)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        query = "SELECT id, output_end, rejects_end FROM units ORDER BY seq"
        rows = db.execute(query).fetchall() if "units" in tables else []  # never created
    finally:
        db.close()
    if not rows:
        return [], 0, 0
    return [row[0] for row in rows], rows[-1][1], rows[-1][2]


def assert_consistent(job: Job) -> tuple[int, int]:
    """The state after any kill or failed write; returns the bytes past the committed ends."""
    ids, output_end, rejects_end = ledger(job)
    committed: list[str] = []
    past = []
    for path, end in ((job.output, output_end), (job.rejects, rejects_end)):
        data = path.read_bytes() if path.exists() else b""
        assert len(data) >= end, f"{path.name} is shorter than the ledger says"
        head = data[:end]
        assert head == b"" or head.endswith(b"\n"), f"{path.name}: a partial committed line"
        committed += [json.loads(line)["id"] for line in head.splitlines()]
        past.append(len(data) - end)
    assert sorted(committed) == sorted(ids)  # the files hold exactly the committed units
    assert len(set(ids)) == len(ids)
    return past[0], past[1]


def assert_same_as(job: Job, reference: Job) -> None:
    """The finished job's files against the uninterrupted run's."""
    for path in (job.output, job.rejects):
        text = path.read_text(encoding="utf-8")
        assert text == "" or text.endswith("\n")
        for line in text.splitlines():
            json.loads(line)  # never a partial line
    output, rejects = job.lines()
    expected_output, expected_rejects = reference.lines()
    assert len(output) == len(set(output)) and len(rejects) == len(set(rejects))
    assert output == expected_output and rejects == expected_rejects
    ids = {json.loads(line)["id"] for line in output + rejects}
    assert ids == {json.loads(line)["id"] for line in expected_output + expected_rejects}


def _phase(log: Path) -> bytes:
    """What the child of ``log`` is doing (see tests/crash_driver.py); ``s`` before it says."""
    path = Path(str(log) + ".phase")
    return path.read_bytes()[:1] if path.exists() and path.stat().st_size else b"s"


def _wait_for_units(log: Path) -> float:
    """Wait until the child has started its units (or ended); return the seconds waited."""
    started = time.perf_counter()
    while _phase(log) == b"s":
        assert time.perf_counter() - started < 60, "the job never started a unit"
        time.sleep(0.001)
    return time.perf_counter() - started


def test_killed_at_random_moments_twenty_times_resumes_to_the_same_output(
    driver: Driver, tmp_path: Path
) -> None:
    records = 800
    reference = make_job(tmp_path / "reference", records)
    driver.start([*reference.argv(), "--workers", "1"], log=reference.log("reference"))
    startup = _wait_for_units(reference.log("reference"))
    ended = driver.wait()
    assert ended.code == 0, reference.log("reference").read_text()
    units_seconds = ended.seconds - startup
    job = make_job(tmp_path / "job", records)
    rng = random.Random(SEED)
    landed: Counter[str] = Counter()
    runs = 0
    while landed.total() < 24 and runs < 40:
        runs += 1
        log = job.log(f"run{runs}")
        pid = driver.start([*job.argv(), "--workers", rng.choice(["1", "2"])], log=log)
        if rng.random() < 1 / 3:  # while starting: imports, opening the state, binding it
            time.sleep(rng.uniform(0, startup))
        else:  # among the units; each kill costs the job about 1/80 of its units
            _wait_for_units(log)
            time.sleep(rng.uniform(0, units_seconds / 40))
        with contextlib.suppress(ProcessLookupError):  # it may have finished already
            os.kill(pid, signal.SIGKILL)
        ended = driver.wait()
        if ended.signal != signal.SIGKILL:
            assert ended.code == 0, log.read_text()
            break  # the job finished before this kill
        landed[_phase(log).decode()] += 1
        assert_consistent(job)
    context = f"CRASH_SEED={SEED}, kills by phase {dict(landed)}"
    print(context)  # shown with pytest -s
    assert landed.total() >= 20, context
    # Most of a unit's time goes to its writes: some kills must land inside one.
    assert landed["o"] + landed["r"] + landed["c"] >= 1, context
    final = driver.run([*job.argv(), "--workers", "1"], log=job.log("final"))
    assert final.code == 0, job.log("final").read_text()
    assert_same_as(job, reference)


def test_kills_inside_writes_and_the_sqlite_transaction(driver: Driver, tmp_path: Path) -> None:
    records = 60
    uninterrupted(driver, tmp_path / "reference", records)
    job = make_job(tmp_path / "job", records)
    committed = 0
    faults = [("torn_output", 3), ("torn_rejects", 2), ("before_commit", 4),
              ("in_transaction", 5), ("after_commit", 3), ("torn_output", 1)]  # fmt: skip
    for fault, at in faults:
        ended = driver.run(job.argv(), log=job.log(fault), fault=fault, at=at)
        assert ended.signal == signal.SIGKILL, f"{fault}: {job.log(fault).read_text()}"
        past_output, past_rejects = assert_consistent(job)
        ids = ledger(job)[0]
        if fault.startswith("torn_"):
            torn = job.output if fault == "torn_output" else job.rejects
            assert not torn.read_bytes().endswith(b"\n")  # half a line really is on disk
            assert (past_output if fault == "torn_output" else past_rejects) > 0
        elif fault == "before_commit":
            assert len(ids) == committed + at - 1 and past_output + past_rejects > 0
        elif fault == "in_transaction":
            assert len(ids) == committed + at - 1  # the row being written is not there
        else:  # after_commit: the row is there, and the files end where it says
            assert len(ids) == committed + at and (past_output, past_rejects) == (0, 0)
        committed = len(ids)
    final = driver.run(job.argv(), log=job.log("final"))
    assert final.code == 0, job.log("final").read_text()
    assert_same_as(job, Job(tmp_path / "reference"))


def test_killed_while_binding_a_new_state(driver: Driver, tmp_path: Path) -> None:
    uninterrupted(driver, tmp_path / "reference", 10)
    job = make_job(tmp_path / "job", 10)
    ended = driver.run(job.argv(), log=job.log("bind"), fault="in_bind")
    assert ended.signal == signal.SIGKILL
    assert ledger(job)[0] == []
    assert assert_consistent(job) == (0, 0)  # no unit ran: the job died before any
    final = driver.run(job.argv(), log=job.log("final"))
    assert final.code == 0, job.log("final").read_text()
    assert_same_as(job, Job(tmp_path / "reference"))


@pytest.mark.parametrize(
    ("full", "text_size", "limit", "message", "fix"),
    [
        # 40 kB lines: the output passes 200 kB at its fifth unit, the ledger stays small.
        ("output", 40_000, 200_000, "Cannot write {output}: File too large.", "free disk space"),
        # Short lines: the ledger's WAL (a few pages per commit) passes 120 kB first.
        ("state", 8, 120_000, "Cannot write the job state {state}: disk I/O error.", "free disk"),
        # No room for even a new ledger.
        ("everything", 8, 4_000, "Cannot open the job state {state}", "has free space"),
    ],
)
def test_disk_full_is_one_line_and_the_same_command_resumes(
    driver: Driver, tmp_path: Path, full: str, text_size: int, limit: int, message: str, fix: str
) -> None:
    records = 40
    uninterrupted(driver, tmp_path / "reference", records, text_size)
    job = make_job(tmp_path / "job", records, text_size)
    ended = driver.run(job.argv(), log=job.log("full"), fault="fsize", at=limit)
    stderr = job.log("full").read_text()
    assert ended.code == 2, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert message.format(output=job.output, state=job.state) in stderr, stderr
    assert "Fix:" in stderr and fix in stderr.partition("Fix:")[2]
    past_output, past_rejects = assert_consistent(job)
    ids = ledger(job)[0]
    if full == "output":
        assert 0 < len(ids) < records and past_output == 0  # the failed line was cut off
    elif full == "state":  # the unit's lines are on disk, its row is not: cut on resume
        assert 0 < len(ids) < records and past_output + past_rejects > 0
    else:
        assert ids == []
    again = driver.run(job.argv(), log=job.log("again"))  # "space is back"
    assert again.code == 0, job.log("again").read_text()
    assert_same_as(job, Job(tmp_path / "reference"))


def test_disk_full_while_writing_parquet_keeps_the_journal_and_resumes(
    driver: Driver, tmp_path: Path
) -> None:
    job = make_job(tmp_path / "job", 30, text_size=2_000)
    target = job.folder / "out.parquet"
    argv = job.argv(output=target)
    ended = driver.run(argv, log=job.log("full"), fault="fsize_parquet", at=1_000)
    stderr = job.log("full").read_text()
    assert ended.code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert f"Cannot write {target}:" in stderr and "Traceback" not in stderr
    assert not target.exists() and not (job.folder / "out.parquet.partial").exists()
    journal = job.folder / "out.parquet.jsonl"
    assert len(_lines(journal)) + len(_lines(job.rejects)) == 30  # every unit was kept
    again = driver.run(argv, log=job.log("again"))  # nothing left to run: only the Parquet
    assert again.code == 0, job.log("again").read_text()
    ids = pq.read_table(target).column("id").to_pylist()
    assert sorted(ids) == sorted(json.loads(line)["id"] for line in _lines(journal))


ROLES = (Path(__file__).resolve().parent / "sentiment_roles.py").read_text()
# Five records: after the first new row, at least three units are left, far more
# than the 0.2 s before the second kill takes on any machine.
TEXTS = ["I love this phone", "The food was cold", "It is a chair", "Best concert ever",
         "The train was late again"]  # fmt: skip


def _real_job(folder: Path) -> subprocess.Popen[bytes]:
    folder.mkdir(exist_ok=True)
    if not (folder / "in.jsonl").exists():
        (folder / "roles.py").write_text(ROLES)
        lines = [json.dumps({"id": f"t{i}", "text": text}) for i, text in enumerate(TEXTS)]
        (folder / "in.jsonl").write_text("\n".join(lines) + "\n")
    command = [sys.executable, "-m", "smallagents", "run", "sentiment",
               "--roles", str(folder / "roles.py"), "--input", str(folder / "in.jsonl"),
               "--output", str(folder / "out.jsonl"), "--workers", "1", "--quiet"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_real_model_job_killed_at_random_moments(tmp_path: Path) -> None:
    """The real path: `python -m smallagents` on the embedded default model, no patches.

    tests/test_jobs.py compares a real job killed four times, between units, with
    its uninterrupted output line for line; here the kills fall at random moments:
    one while the process starts (imports, model load), one inside a generation.
    """
    job = Job(tmp_path / "job")
    rng = random.Random(SEED)
    first = _real_job(job.folder)
    with contextlib.suppress(subprocess.TimeoutExpired):
        first.wait(timeout=rng.uniform(0.2, 1.5))
    first.kill()  # SIGKILL (nothing happens if it is gone)
    first.wait(timeout=30)
    assert_consistent(job)
    before = len(ledger(job)[0])
    second = _real_job(job.folder)
    deadline = time.monotonic() + 300
    while len(ledger(job)[0]) == before and second.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(rng.uniform(0, 0.2))  # into the next unit's generation
    assert second.poll() is None, "the job ended before its second kill"
    second.kill()
    second.wait(timeout=30)
    assert_consistent(job)
    assert len(ledger(job)[0]) < len(TEXTS)
    final = _real_job(job.folder)
    assert final.wait(timeout=300) == 0, final.stderr.read() if final.stderr else ""
    output, rejects = job.lines()
    records = [json.loads(line) for line in output + rejects]  # each line valid JSON
    assert sorted(r["id"] for r in records) == sorted(f"t{i}" for i in range(len(TEXTS)))
    assert all(json.loads(line)["label"] in {"positive", "negative", "neutral"} for line in output)


def _flaky_job(folder: Path, records: int) -> tuple[list[str], Path]:
    """A job of ``crash_flaky`` whose every third record fails for an unreachable model
    until the returned marker file exists; returns its command line and the marker."""
    folder.mkdir(parents=True)
    marker = folder / "endpoint-is-up"
    with (folder / "in.jsonl").open("w") as handle:
        for index in range(records):
            text = ("down " if index % 3 == 0 else "") + f"record {index}"
            handle.write(json.dumps({"id": f"r{index}", "text": text, "marker": str(marker)}))
            handle.write("\n")
    argv = ["run", "crash_flaky", "--graphs", str(DRIVER), "--input", str(folder / "in.jsonl"),
            "--output", str(folder / "out.jsonl"), "--quiet", "--workers", "1"]  # fmt: skip
    return argv, marker


@pytest.mark.parametrize(
    "fault", ["forget_copy", "forget_txn", "forget_rename", "forget_after_rename"]
)
def test_a_retry_killed_anywhere_in_its_rewrite_ends_with_each_record_once(
    driver: Driver, tmp_path: Path, fault: str
) -> None:
    """--retry-failed takes the failed units' lines out of the rejects file (copy, fsync,
    one SQLite transaction, rename): killed at each step, the same command finishes it
    and the files equal an uninterrupted retry's."""
    records = 30
    argv, marker = _flaky_job(tmp_path / "reference", records)
    reference = Job(tmp_path / "reference")
    assert driver.run(argv, log=reference.log("first")).code == 0
    marker.write_text("up")
    assert driver.run([*argv, "--retry-failed"], log=reference.log("retry")).code == 0
    assert reference.lines()[1] == []  # every failed record was retried and kept

    argv, marker = _flaky_job(tmp_path / "job", records)
    job = Job(tmp_path / "job")
    assert driver.run(argv, log=job.log("first")).code == 0
    assert len(job.lines()[1]) == records // 3
    marker.write_text("up")
    killed = driver.run([*argv, "--retry-failed"], log=job.log("killed"), fault=fault)
    assert killed.signal == signal.SIGKILL, job.log("killed").read_text()
    copy = job.folder / "out.rejects.jsonl.retry.partial"
    committed = len(ledger(job)[0])
    if fault in ("forget_copy", "forget_txn"):  # before the transaction: nothing changed
        assert committed == records and len(job.lines()[1]) == records // 3
    elif fault == "forget_rename":  # committed, the copy waits for its rename
        assert committed == records - records // 3 and copy.exists()
    else:  # renamed: the rejects file is the copy already
        assert committed == records - records // 3 and not copy.exists()
        assert job.lines()[1] == []
    final = driver.run([*argv, "--retry-failed"], log=job.log("final"))
    assert final.code == 0, job.log("final").read_text()
    assert_consistent(job)
    assert_same_as(job, reference)
    assert not (job.folder / "out.rejects.jsonl.retry.partial").exists()
