"""`sniffer export`: capture files -> a Parquet dataset (tables ``packets`` and ``flows``, hive-partitioned by
date and hour), one task per file or per byte range of a big pcap, run here or on a Dask cluster.

Layout of DATASET::

    _dataset.json                      schema version and the -e fields (a dataset has one schema)
    _manifest.jsonl                    one line per exported file: path, size, mtime, id, counts, error
    packets/date=YYYY-MM-DD/hour=HH/<file id>-<range>.parquet
    flows/date=YYYY-MM-DD/hour=HH/<file id>-<range>.parquet

A task writes its parts under temporary names and renames them when the file (or range) is done, so a
reader never sees half a part. Re-running skips files whose size and mtime match the manifest; a file that
changed (a ring file still growing) has its old parts removed and is exported again.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sniffer.errors import PcapFormatError, SnifferError

#: rows converted to Arrow and written at a time
BATCH_ROWS = 65536
#: pcap files bigger than this are exported as several byte ranges (one task each)
SPLIT_BYTES = 1 << 30
#: without --workers, inputs smaller than this are exported in this process (no local cluster)
AUTO_CLUSTER_BYTES = 64 << 20
HOUR_NS = 3_600_000_000_000
MANIFEST = "_manifest.jsonl"
META = "_dataset.json"


@dataclass(frozen=True)
class Task:
    """One unit of work: a whole file (start=0, end=-1) or the records starting in [start, end)."""

    path: str
    file_id: str
    out: str
    extra: tuple[str, ...] = ()
    part: int = 0
    start: int = 0
    end: int = -1
    first_number: int = 1


def file_id(path: str) -> str:
    """The stable id of a capture file in part names (from its absolute path)."""
    return hashlib.sha1(path.encode()).hexdigest()[:16]


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """FILE, DIR (every pcap/pcapng file under it, by magic number) or GLOB -> absolute paths, sorted."""
    from sniffer.capture.fileset import expand_inputs as expand

    return expand(inputs, "export")


# ---------------------------------------------------------------------------------------------------------
# writing one task's parts


class _PartWriter:
    """Writes one table's batches of one task into per-hour part files (temporary names until done).

    Dictionary encoding only for the columns of few distinct values (schema.DICTIONARY): on the others it
    cost time and space (on the bench's real traffic, 14 instead of 23 bytes a packet)."""

    def __init__(self, out: str, table: str, name: str, schema: Any) -> None:
        self.out, self.table, self.name, self.schema = out, table, name, schema
        self._writers: dict[int, Any] = {}
        self._paths: dict[int, str] = {}
        self.rows = 0

    def write(self, table: Any) -> None:
        """Append a pyarrow Table of this table's schema (rows of any hours)."""
        import pyarrow.compute as pc

        n = table.num_rows
        if not n:
            return
        hours = pc.divide(table.column("ts_ns"), HOUR_NS)
        lo, hi = pc.min_max(hours).values()
        if lo == hi:
            parts = [(lo.as_py(), table)]
        else:
            parts = [(h, table.filter(pc.equal(hours, h))) for h in pc.unique(hours).to_pylist()]
        for h, part in parts:
            w = self._writers.get(h)
            if w is None:
                import pyarrow.parquet as pq

                from sniffer.dataset.schema import DICTIONARY

                t = time.gmtime(h * 3600)
                d = os.path.join(
                    self.out, self.table, f"date={time.strftime('%Y-%m-%d', t)}", f"hour={t.tm_hour:02d}"
                )
                os.makedirs(d, exist_ok=True)
                path = os.path.join(d, self.name)
                self._paths[h] = path
                w = self._writers[h] = pq.ParquetWriter(
                    path + ".tmp",
                    self.schema,
                    compression="zstd",
                    use_dictionary=[c for c in DICTIONARY if c in self.schema.names],
                )
            w.write_table(part)
        self.rows += n

    def finish(self) -> int:
        for h, w in self._writers.items():
            w.close()
            os.replace(self._paths[h] + ".tmp", self._paths[h])
        return len(self._writers)

    def abort(self) -> None:
        for h, w in self._writers.items():
            try:
                w.close()
                os.unlink(self._paths[h] + ".tmp")
            except OSError:
                pass


def remove_parts(out: str, fid: str) -> None:
    """Delete every part (and leftover temporary) of file ``fid``."""
    for table in ("packets", "flows"):
        for p in glob.glob(os.path.join(out, table, "date=*", "hour=*", f"{fid}-*")):
            os.unlink(p)


def run_task(task: Task) -> dict[str, Any]:
    """Export one file or byte range; returns its counts (and the error text if the file is damaged:
    the packets before the damage are kept, like `sniffer read` prints them)."""
    import pyarrow as pa

    from sniffer.dataset.rows import PacketRows
    from sniffer.dataset.schema import FLOWS, packet_schema

    name = f"{task.file_id}-{task.part:04d}.parquet"
    pw = _PartWriter(task.out, "packets", name, packet_schema(task.extra))
    fw = _PartWriter(task.out, "flows", name, FLOWS)
    from sniffer.decode import legacyfs
    from sniffer.decode.core import UDP_CONVERSATIONS

    # each task decodes like `sniffer read` of its file: no binding from another, no RX call (AFS request)
    # of another file naming a reply of this one (legacyfs' call map, which read's native walker uses too)
    UDP_CONVERSATIONS.clear()
    legacyfs._RX_CALLS.clear()
    rows = PacketRows(task.path, task.extra, task.first_number)
    error = None
    t0 = time.process_time()
    try:
        try:
            add = rows.add
            left = BATCH_ROWS
            for off, fr in _records(task):
                add(off, fr)
                left -= 1
                if not left:
                    pw.write(rows.table())
                    rows.clear()
                    left = BATCH_ROWS
        except PcapFormatError as exc:
            error = f"{task.path}: {exc.args[0] if exc.args else exc}"
        except SnifferError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"{task.path}: {exc.strerror or exc}"
        pw.write(rows.table())
        rows.clear()
        fw.write(pa.Table.from_pydict(rows.flow_columns(), schema=FLOWS))
        pw.finish()
        fw.finish()
    except BaseException:
        pw.abort()
        fw.abort()
        raise
    return {
        "path": task.path,
        "part": task.part,
        "packets": pw.rows,
        "flows": fw.rows,
        "error": error,
        "cpu_s": round(time.process_time() - t0, 3),
    }


def _records(task: Task) -> Iterator[tuple[int, Any]]:
    if task.end < 0:
        from sniffer.capture.pcapfile import open_capture

        with open_capture(task.path) as rd:
            yield from rd.iter_with_offsets()
        return
    from sniffer.dataset import ranges

    with open(task.path, "rb") as f:
        h = ranges.pcap_header(f.read(24))
    assert h is not None
    yield from ranges.records(task.path, h, task.start, task.end)


def range_bounds(path: str, start: int, end: int) -> tuple[str, int, int, int, int]:
    """(path, start, end, first record boundary, records) of the byte range [start, end) of a pcap file
    (a task: the results come back in any order)."""
    from sniffer.dataset import ranges

    with open(path, "rb") as f:
        h = ranges.pcap_header(f.read(24))
    assert h is not None
    s = ranges.first_record(path, h, start)
    e = ranges.first_record(path, h, end) if end < os.path.getsize(path) else end
    return path, start, end, s, ranges.count(path, h, s, e)


# ---------------------------------------------------------------------------------------------------------
# the manifest


def read_manifest(out: str) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    try:
        with open(os.path.join(out, MANIFEST)) as f:
            for line in f:
                if line.strip():
                    e = json.loads(line)
                    entries[e["path"]] = e
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise SnifferError(
            f"export: {out}/{MANIFEST} is unreadable ({exc}): export into a new --out"
        ) from None
    return entries


def _check_meta(out: str, extra: Sequence[str]) -> None:
    from sniffer.dataset.schema import SCHEMA_VERSION

    path = os.path.join(out, META)
    want = {"schema_version": SCHEMA_VERSION, "extra": list(extra)}
    try:
        with open(path) as f:
            have = json.load(f)
    except FileNotFoundError:
        os.makedirs(out, exist_ok=True)
        with open(path, "w") as f:
            json.dump(want, f)
            f.write("\n")
        return
    except (OSError, ValueError) as exc:
        raise SnifferError(f"export: {path} is unreadable ({exc}): export into a new --out") from None
    if have.get("schema_version") != SCHEMA_VERSION:
        raise SnifferError(
            f"export: {out} has schema version {have.get('schema_version')}, this sniffer writes "
            f"{SCHEMA_VERSION}: export into a new --out"
        )
    if have.get("extra", []) != list(extra):
        had = " ".join(f"-e {x}" for x in have.get("extra", [])) or "no -e fields"
        raise SnifferError(f"export: {out} was made with {had}: give the same -e fields or a new --out")


# ---------------------------------------------------------------------------------------------------------
# running the tasks


@dataclass
class Result:
    files: int = 0
    skipped: int = 0
    packets: int = 0
    flows: int = 0
    errors: list[str] | None = None
    seconds: float = 0.0
    #: CPU seconds the tasks themselves took (summed over workers; the cluster's start is not in it)
    task_cpu_s: float = 0.0


def _split_points(size: int, split: int) -> list[tuple[int, int]]:
    n = max(1, -(-(size - 24) // split))
    step = -(-(size - 24) // n)
    return [(24 + i * step, min(size, 24 + (i + 1) * step)) for i in range(n)]


def _call(job: tuple[Callable[..., Any], tuple[Any, ...]]) -> Any:
    fn, a = job
    return fn(*a)


def _preload() -> None:
    """Import what a task needs before the pool forks: the workers inherit it instead of each importing
    the decoder and pyarrow again (about a CPU second per worker)."""
    import pyarrow.parquet  # noqa: F401

    import sniffer.capture.pcapfile
    import sniffer.dataset.ranges
    import sniffer.dataset.rows
    import sniffer.dataset.schema  # noqa: F401


class Runner:
    """Runs functions over arguments: in this process (one worker), in a pool of N forked worker
    processes, on a local Dask cluster (``scheduler="local"``) or on the Dask scheduler at ``scheduler``
    (tcp://HOST:8786).

    The local default is the fork pool, not a Dask LocalCluster: a task is a whole file or byte range and
    sends back a few counts, so Dask's scheduling buys nothing on one machine while its cluster costs
    (spawned workers that import distributed, the decoder and pyarrow again, a scheduler and heartbeats in
    the driver) were measured in bench/export.py (docs/dataset.md)."""

    def __init__(self, workers: int = 1, scheduler: str | None = None, min_bytes: int = 0) -> None:
        self.workers = workers
        self.scheduler = scheduler
        #: local workers only for inputs at least this big (below, one process is as quick)
        self.min_bytes = min_bytes
        self._client: Any = None
        self._cluster: Any = None

    def _dask(self) -> Any:
        if self._client is None:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                raise SnifferError("export: Dask is not installed: pip install 'dask[distributed]'") from None
            if self.scheduler and self.scheduler != "local":
                try:
                    self._client = Client(self.scheduler, timeout=5)
                except OSError as exc:
                    raise SnifferError(
                        f"export: cannot reach the Dask scheduler at {self.scheduler} ({exc}): is "
                        "`dask scheduler` running there?"
                    ) from None
            else:
                import dask.config

                # the workers' statistical profiler samples the task's stack every 10 ms, for a dashboard
                # nobody looks at here (its saving was below the noise of the shared test machine)
                with dask.config.set({"distributed.worker.profile.enabled": False}):
                    self._cluster = LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=50,
                    )
                self._client = Client(self._cluster)
        return self._client

    def map(self, fn: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        """fn(*a) for every a, yielded as they finish (in order when run here)."""
        if not args:
            return
        if self.scheduler is None and (self.workers <= 1 or len(args) == 1):
            for a in args:
                yield fn(*a)
            return
        if self.scheduler is None:
            import multiprocessing

            _preload()
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(min(self.workers, len(args))) as pool:
                # one task at a time per worker (chunksize 1): the workers stay busy to the last task
                yield from pool.imap_unordered(_call, [(fn, a) for a in args], chunksize=1)
            return
        from distributed import as_completed

        client = self._dask()
        futures = [client.submit(fn, *a, pure=False) for a in args]
        for fut in as_completed(futures):
            yield fut.result()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def export(
    inputs: Sequence[str],
    out: str,
    extra: Sequence[str] = (),
    runner: Runner | None = None,
    split_bytes: int = SPLIT_BYTES,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """Export ``inputs`` into the dataset at ``out`` (see the module docstring)."""
    runner = runner or Runner()
    t0 = time.monotonic()
    files = expand_inputs(inputs)
    out = os.path.abspath(out)
    _check_meta(out, extra)
    done = read_manifest(out)
    res = Result(errors=[])
    todo: list[tuple[str, os.stat_result]] = []
    for path in files:
        try:
            st = os.stat(path)
        except OSError as exc:
            res.errors.append(f"{path}: {exc.strerror or exc}")  # type: ignore[union-attr]
            continue
        e = done.get(path)
        if e is not None and e.get("size") == st.st_size and e.get("mtime_ns") == st.st_mtime_ns:
            res.skipped += 1
            continue
        remove_parts(out, file_id(path))
        todo.append((path, st))
    if runner.scheduler is None and sum(st.st_size for _p, st in todo) < runner.min_bytes:
        runner.workers = 1
    tasks: list[Task] = []
    big: list[tuple[str, os.stat_result, list[tuple[int, int]]]] = []
    from sniffer.dataset.ranges import pcap_header

    for path, st in todo:
        if st.st_size > split_bytes:
            with open(path, "rb") as f:
                h = pcap_header(f.read(24))
            if h is not None:
                big.append((path, st, _split_points(st.st_size, split_bytes)))
                continue
        tasks.append(Task(path, file_id(path), out, tuple(extra)))
    try:
        if big:
            args = [(p, a, b) for p, _st, pts in big for a, b in pts]
            bounds = {(r[0], r[1], r[2]): (r[3], r[4]) for r in runner.map(range_bounds, args)}
            for path, _st, pts in big:
                number = 1
                for i, (a, b) in enumerate(pts):
                    first, cnt = bounds[(path, a, b)]
                    stop = bounds[(path, *pts[i + 1])][0] if i + 1 < len(pts) else b
                    tasks.append(Task(path, file_id(path), out, tuple(extra), i, first, stop, number))
                    number += cnt
        parts: dict[str, list[dict[str, Any]]] = {}
        nparts = {p: sum(1 for t in tasks if t.path == p) for p in {t.path for t in tasks}}
        stats = dict(todo)
        # biggest first (longest-processing-time order): the last tasks to start are small ones, so no
        # worker sits idle while another finishes a big file
        tasks.sort(key=lambda t: -(t.end - t.start if t.end >= 0 else stats[t.path].st_size))
        with open(os.path.join(out, MANIFEST), "a") as man:
            for r in runner.map(run_task, [(t,) for t in tasks]):
                got = parts.setdefault(r["path"], [])
                got.append(r)
                res.task_cpu_s += r["cpu_s"]
                if len(got) < nparts[r["path"]]:
                    continue
                st = stats[r["path"]]
                err = "; ".join(x["error"] for x in got if x["error"]) or None
                entry = {
                    "path": r["path"],
                    "id": file_id(r["path"]),
                    "size": st.st_size,
                    "mtime_ns": st.st_mtime_ns,
                    "ranges": len(got),
                    "packets": sum(x["packets"] for x in got),
                    "flows": sum(x["flows"] for x in got),
                    "error": err,
                    "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
                man.write(json.dumps(entry) + "\n")
                man.flush()
                res.files += 1
                res.packets += entry["packets"]
                res.flows += entry["flows"]
                if err:
                    res.errors.append(err)  # type: ignore[union-attr]
                if progress is not None:
                    progress(f"{r['path']}: {entry['packets']} packets, {entry['flows']} flows")
    finally:
        runner.close()
    res.seconds = time.monotonic() - t0
    return res


def result_dict(res: Result) -> dict[str, Any]:
    return asdict(res)


def iter_parts(out: str, table: str) -> Iterable[str]:
    return sorted(glob.glob(os.path.join(out, table, "date=*", "hour=*", "*.parquet")))
