"""The packet index: columns, random access, spool, memory per packet, display-filter view."""

from __future__ import annotations

from pathlib import Path

from helpers.tui_pcapgen import mixed_frames, write_pcap

from sniffer.capture.pcapfile import open_capture
from sniffer.frame import Frame
from sniffer.model.store import LRU, PacketStore, View


def _load(path: Path) -> PacketStore:
    store = PacketStore(str(path))
    with open_capture(str(path)) as r:
        store.append_batch(list(r.iter_with_offsets()))
    return store


def test_index_reads_back_every_frame_exactly(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "a.pcap", 300)
    store = _load(path)
    with open_capture(str(path)) as r:
        originals = list(r)
    assert store.count == 300
    for i in (0, 1, 150, 299):
        f = store.frame(i)
        assert f.data == originals[i].data
        assert f.ts_ns == originals[i].ts_ns == 1_700_000_000 * 10**9 + i * 1_000_000
        assert store.wirelen[i] == originals[i].wirelen
    store.close()


def test_frame_range_equals_frame(tmp_path: Path) -> None:
    """The View reads a classic pcap in blocks (frame_range): the same frames as frame(i), also across
    block limits, from pcapng (one at a time) and from a live spool."""
    path = write_pcap(tmp_path / "a.pcap", 300)
    store = _load(path)
    want = [store.frame(i) for i in range(300)]
    assert list(store.frame_range(0, 300)) == want
    assert list(store.frame_range(17, 200)) == want[17:200]
    store.BLOCK_BYTES = 200  # a block per record or two
    assert list(store.frame_range(0, 300)) == want
    store.close()
    spool = PacketStore(spool=True)
    frames = [Frame(i, d, len(d) + 4, 1, 2, 1, "veth0") for i, d in enumerate(mixed_frames(20))]
    spool.append_batch(frames)
    assert list(spool.frame_range(0, 20)) == [spool.frame(i) for i in range(20)]
    spool.close()


def test_spool_store_keeps_bytes_on_disk(tmp_path: Path) -> None:
    store = PacketStore(spool=True)
    frames = [Frame(i, d, len(d) + 4, 1, 2, 1, "veth0") for i, d in enumerate(mixed_frames(50))]
    store.append_batch(frames[:20])
    store.append_batch(frames[20:])
    assert store.count == 50
    assert store.spool is not None and store.spool.size == sum(len(f.data) for f in frames)
    got = store.frame(33)
    assert got == frames[33]._replace(comment=None)
    store.close()


def test_index_memory_per_packet_is_small(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "b.pcap", 20000)
    store = _load(path)
    assert store.index_bytes() / store.count <= 32
    # summaries are computed on demand, not held per packet
    store.row(5)
    assert len(store._rows) == 1
    store.close()


def test_lru_evicts_oldest() -> None:
    lru: LRU[int, int] = LRU(2)
    calls: list[int] = []
    for k in (1, 2, 1, 3, 2):
        lru.get(k, lambda k=k: calls.append(k) or k)  # type: ignore[func-returns-value]
    assert calls == [1, 2, 3, 2]  # 2 was evicted by 3 (1 was used more recently)


def test_view_without_filter_is_identity(tmp_path: Path) -> None:
    store = _load(write_pcap(tmp_path / "c.pcap", 10))
    v = View(store)
    assert len(v) == 10 and v.packet(7) == 7 and v.row_of(7) == 7 and v.row_of(10) is None
    store.close()
