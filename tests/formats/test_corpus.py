"""Every corpus capture reads like the oracle: tshark's packets, libpcap's verdict on broken files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sniffer.capture.pcapfile import open_capture
from sniffer.errors import PcapFormatError

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CAPTURES = sorted((CORPUS / "captures").iterdir())
ORACLE = CORPUS / "oracle"


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


SUMMARY = {r["file"]: r for r in _tsv(ORACLE / "SUMMARY.tsv")}
LIBPCAP_ERRORS = {
    r["file"]: r["libpcap_expected_error (testprogs/TESTrun)"]
    for r in _tsv(ORACLE / "libpcap-expected-errors.tsv")
}
# A pcapng with a Section Header Block and nothing else: tshark shows 0 packets, libpcap refuses it
# exactly like libpcap-pr1704__pcapng-no-idb.pcapng. We give libpcap's verdict (after 0 packets).
NO_IDB = {
    "pcapng-tg__output_le__basic__test002.pcapng": "the capture file has no Interface Description Blocks"
}
# first protocol tshark shows -> link type
FIRST_PROTO_LT = {"eth": 1, "null": 0, "sll": 113, "raw": 101}


def _ns(epoch: str) -> int:
    sec, _, frac = epoch.partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])


def _read_all(path: Path) -> tuple[list, PcapFormatError | None]:
    frames = []
    try:
        with open_capture(path) as r:
            for fr in r:
                frames.append(fr)
    except PcapFormatError as e:
        return frames, e
    return frames, None


def test_corpus_is_complete() -> None:
    assert len(CAPTURES) == 81
    assert set(LIBPCAP_ERRORS) <= {p.name for p in CAPTURES}


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_capture_reads_like_the_oracle(path: Path) -> None:
    frames, err = _read_all(path)
    name = path.name
    if name in LIBPCAP_ERRORS:
        expected = LIBPCAP_ERRORS[name].removeprefix("Failed opening: ")
        assert err is not None, f"libpcap rejects this file: {expected}"
        assert frames == []
        if "BT_SHB_INSANE_MAX" in expected:
            # libpcap prints "invalid length 28 < _20_ < 1048576"; we say the same thing in words
            assert str(err).startswith("Section Header Block in pcapng dump file has invalid length 20 ")
            assert "28" in str(err) and "1048576" in str(err)
        else:
            assert str(err) == f"{expected} (at byte offset {err.offset})"
        return
    if name in NO_IDB:
        assert frames == []
        assert err is not None and str(err).startswith(NO_IDB[name])
        return
    assert err is None, str(err)
    oracle = _tsv(ORACLE / f"{name}.tsv")
    if name.endswith(".pcapng"):
        # tshark also lists non-packet records (custom blocks) as frames without an interface
        oracle = [row for row in oracle if row["frame.interface_id"] != ""]
    assert len(frames) == int(SUMMARY[name]["packets"]) == len(oracle)
    for i, (row, fr) in enumerate(zip(oracle, frames, strict=True), 1):
        assert len(fr.data) == int(row["frame.cap_len"]), f"packet {i}"
        assert fr.wirelen == int(row["frame.len"]), f"packet {i}"
        if row["frame.time_epoch"]:  # empty for Simple Packet Blocks (no timestamp)
            assert fr.ts_ns == _ns(row["frame.time_epoch"]), f"packet {i}"
        first = row["frame.protocols"].split(":")[0]
        if first in FIRST_PROTO_LT:
            assert fr.linktype == FIRST_PROTO_LT[first] or (first == "sll" and fr.linktype == 276), (
                f"packet {i}"
            )


def test_fcs_bits_masked_from_the_link_type() -> None:
    with open_capture(CORPUS / "captures" / "tcpdump__udp-length-heapoverflow.pcap") as r:
        assert r.linktype == 1
        # raw field 0x30000001: FCS length 3 in bits 28-31 but the "FCS length present" bit 0x04000000
        # is clear, so libpcap (LT_FCS_LENGTH_PRESENT) says nothing about an FCS
        assert r.fcs_len is None
        assert len(list(r)) == 1
