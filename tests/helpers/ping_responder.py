"""A misbehaving ICMP echo responder for ping tests: run inside a test namespace whose kernel does not
answer pings (net.ipv4.icmp_echo_ignore_all=1). Per sequence number it answers normally, twice (a
duplicate), with a broken checksum, with a changed payload byte, 0.4 s late, or not at all. Bounded by count and time.

usage: python ping_responder.py MAX_REQUESTS SECONDS [SEQ=dup|badsum|baddata|late|drop ...]
"""

from __future__ import annotations

import select
import socket
import struct
import sys
import time


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def main() -> int:
    limit, seconds = int(sys.argv[1]), float(sys.argv[2])
    plan = dict(a.split("=") for a in sys.argv[3:])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("ready", flush=True)
    end = time.monotonic() + seconds
    seen = 0
    while seen < limit and time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        data, (src, _) = s.recvfrom(65535)
        ihl = (data[0] & 15) * 4
        req = data[ihl:]
        if len(req) < 8 or req[0] != 8:
            continue
        seen += 1
        seq = struct.unpack_from("!H", req, 6)[0]
        how = plan.get(str(seq), "ok")
        if how == "drop":
            continue
        if how == "late":
            time.sleep(0.4)
        rep = bytearray(req)
        rep[0] = 0
        rep[2:4] = b"\0\0"
        if how == "baddata" and len(rep) > 30:
            rep[30] ^= 0xFF
        struct.pack_into("!H", rep, 2, _checksum(bytes(rep)))
        if how == "badsum":
            rep[2] ^= 0x5A
        for _ in range(2 if how == "dup" else 1):
            s.sendto(bytes(rep), (src, 0))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
