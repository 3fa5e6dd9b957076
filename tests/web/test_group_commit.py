"""Group commit: every request's answer waits for its own hit's batch to be written (or spooled), concurrent hits
share a round trip, and a forked server worker gets a flusher of its own."""

import json
import multiprocessing
import os
import threading

from mailbeacon.jobs.handoff import GroupCommitter
from mailbeacon.jobs.spool import Spool

from ..factories import wait_until


class RecordingWriter:
    """Keeps each batch it is handed; can hold the first one back until told to go on."""

    def __init__(self, hold_first: bool = False) -> None:
        self.batches: list[list[dict]] = []
        self.written: set[int] = set()
        self.lock = threading.Lock()
        self.go_on = threading.Event()
        self.holding = threading.Event()
        if not hold_first:
            self.go_on.set()

    def __call__(self, batch: list[dict]) -> None:
        if not self.go_on.is_set():
            self.holding.set()
            self.go_on.wait(10)
        with self.lock:
            self.batches.append(list(batch))
            self.written.update(hit["n"] for hit in batch)


def test_each_request_returns_only_after_its_own_hit_is_written(tmp_path):
    writer = RecordingWriter()
    committer = GroupCommitter(writer, Spool(tmp_path / "spool"))
    seen_at_return: dict[int, bool] = {}

    def request(n: int) -> None:
        assert committer.submit({"n": n})
        with writer.lock:
            seen_at_return[n] = n in writer.written

    threads = [threading.Thread(target=request, args=(n,)) for n in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert seen_at_return == {n: True for n in range(64)}
    assert sorted(h["n"] for batch in writer.batches for h in batch) == list(range(64))


def test_hits_arriving_during_a_write_share_the_next_round_trip(tmp_path):
    writer = RecordingWriter(hold_first=True)
    committer = GroupCommitter(writer, Spool(tmp_path / "spool"))
    first = threading.Thread(target=committer.submit, args=({"n": 0},))
    first.start()
    writer.holding.wait(10)  # the first batch is being written and held there
    others = [threading.Thread(target=committer.submit, args=({"n": n},)) for n in range(1, 21)]
    for t in others:
        t.start()
    wait_until(lambda: len(committer._current.hits) == 20)
    writer.go_on.set()
    for t in [first, *others]:
        t.join()

    assert [sorted(h["n"] for h in batch) for batch in writer.batches] == [[0], list(range(1, 21))]
    assert committer.batches_written == 2 and committer.hits_written == 21


def test_a_batch_the_writer_refuses_is_spooled_before_the_answer(tmp_path):
    spool = Spool(tmp_path / "spool")

    def refuse(batch):
        raise ConnectionError("redis is down")

    committer = GroupCommitter(refuse, spool)
    assert committer.submit({"n": 7})
    spooled = [json.loads(path.read_bytes()) for path in spool.pending()]
    assert spooled == [[{"n": 7}]] and committer.hits_spooled == 1


def _submit_in_child(committer: GroupCommitter, writer: "FileWriter", out_path: str) -> None:
    writer.go_on.set()  # the child's copy of the writer holds nothing back
    ok = committer.submit({"n": "child"})
    with open(out_path, "w") as handle:
        handle.write("written" if ok else "timed out")


class FileWriter(RecordingWriter):
    """Writes each batch to a file of the writing process's own, so a forked child's batches can be told apart."""

    def __init__(self, directory) -> None:
        super().__init__(hold_first=True)
        self.directory = directory

    def __call__(self, batch: list[dict]) -> None:
        super().__call__(batch)
        with open(self.directory / f"batches.{os.getpid()}", "a") as handle:
            handle.write(json.dumps(batch) + "\n")


def test_a_forked_worker_flushes_its_own_hits_and_none_of_its_parents(tmp_path):
    writer = FileWriter(tmp_path)
    committer = GroupCommitter(writer, Spool(tmp_path / "spool"))
    parent_requests = [threading.Thread(target=committer.submit, args=({"n": n},)) for n in (0, 1)]
    parent_requests[0].start()
    writer.holding.wait(10)  # the parent's flusher is busy with hit 0 ...
    parent_requests[1].start()
    wait_until(lambda: len(committer._current.hits) == 1)  # ... and hit 1 waits for the next batch: then fork

    child = multiprocessing.get_context("fork").Process(target=_submit_in_child,
                                                         args=(committer, writer, str(tmp_path / "child.txt")))
    child.start()
    child.join(20)
    writer.go_on.set()
    for t in parent_requests:
        t.join()

    assert child.exitcode == 0 and (tmp_path / "child.txt").read_text() == "written"
    child_batches = (tmp_path / f"batches.{child.pid}").read_text().splitlines()
    assert [json.loads(line) for line in child_batches] == [[{"n": "child"}]]
    assert sorted(h["n"] for batch in writer.batches for h in batch) == [0, 1]
