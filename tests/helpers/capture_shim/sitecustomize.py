"""TEMPORARY test shim: a minimal pcapng/pcap writer installed as sniffer.capture.pcapfile.open_writer
only while the real writer (formats area) has not landed. Lets the capture tests exercise -w now;
does nothing once pcapfile has open_writer. Delete when main has the writer."""

from __future__ import annotations

import struct

try:
    import sniffer.capture.pcapfile as _pf
except Exception:  # pragma: no cover
    _pf = None

if _pf is not None and not hasattr(_pf, "open_writer"):

    class _Writer:
        def __init__(self, f, format="pcapng", linktype=1, snaplen=262144, interfaces=None):  # type: ignore[no-untyped-def]
            self.f, self.fmt = f, format
            if format == "pcap":
                f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, snaplen, linktype))
                return
            f.write(struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28))
            for name, lt in interfaces or [("", linktype)]:
                nb = name.encode()
                opt = struct.pack("<HH", 2, len(nb)) + nb + b"\0" * (-len(nb) % 4)
                opt += struct.pack("<HHB3x", 9, 1, 9) + b"\0\0\0\0"
                blen = 20 + len(opt)
                f.write(struct.pack("<IIHHI", 1, blen, lt, 0, snaplen) + opt + struct.pack("<I", blen))

        def write(self, fr):  # type: ignore[no-untyped-def]
            d = fr.data
            if self.fmt == "pcap":
                sec, ns = divmod(fr.ts_ns, 1_000_000_000)
                self.f.write(struct.pack("<IIII", sec, ns, len(d), fr.wirelen) + d)
                return
            pad = b"\0" * (-len(d) % 4)
            opt = struct.pack("<HHI", 2, 4, fr.direction) + b"\0\0\0\0"
            blen = 32 + len(d) + len(pad) + len(opt)
            hdr = struct.pack(
                "<IIIIIII", 6, blen, fr.interface, fr.ts_ns >> 32, fr.ts_ns & 0xFFFFFFFF, len(d), fr.wirelen
            )
            self.f.write(hdr + d + pad + opt + struct.pack("<I", blen))

        def flush(self):  # type: ignore[no-untyped-def]
            self.f.flush()

        def close(self):  # type: ignore[no-untyped-def]
            self.f.flush()

    _pf.open_writer = _Writer  # type: ignore[attr-defined]
