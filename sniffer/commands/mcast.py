"""`sniffer mcast`: join and receive, send test streams, show the kernel's memberships, diagnose."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DEFAULT_PORT = 1234  # same as sniffer.gen.mcast.stream.DEFAULT_PORT (kept here so --help stays light)


def _port(text: str) -> int:
    """argparse type: a UDP port number, 1-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text[:40]!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {text[:40]} is not in 1-65535")
    return port


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mcast",
        help="multicast: join/receive, send test streams, kernel memberships, doctor",
        description="Multicast tools. Without -i everything stays on loopback (lo); name an interface "
        "to join or send on a real network.",
    )
    msub = p.add_subparsers(dest="mcast_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda a: _no_sub(p))

    j = msub.add_parser("join", help="join groups (ASM or SSM), receive and report loss/delay per sender")
    j.add_argument("groups", nargs="+", metavar="GROUP")
    j.add_argument(
        "-s", "--source", action="append", default=[], help="source-specific join (S,G); repeatable"
    )
    j.add_argument("-i", "--iface", help="interface to join on (default: lo)")
    j.add_argument(
        "-p", "--port", type=_port, default=DEFAULT_PORT, help=f"UDP port (default {DEFAULT_PORT})"
    )
    j.add_argument("-c", "--count", type=int, default=0, help="stop after N datagrams (all groups)")
    j.add_argument("--duration", type=float, help="stop after S seconds")
    j.add_argument(
        "--until-end", action="store_true", help="stop once every group's senders sent their last datagram"
    )
    j.add_argument("--json", action="store_true", help="print the report as JSON")
    j.add_argument(
        "--progress", type=float, default=0, metavar="S", help="a status line per stream every S s (stderr)"
    )
    j.add_argument("--netns", help="run inside this network namespace")
    j.set_defaults(func=run_join)

    s = msub.add_parser("send", help="send sequence-numbered, timestamped test datagrams to a group")
    s.add_argument("group", metavar="GROUP")
    s.add_argument(
        "-p", "--port", type=_port, default=DEFAULT_PORT, help=f"UDP port (default {DEFAULT_PORT})"
    )
    s.add_argument("--ttl", type=int, default=1, help="multicast TTL / hop limit (default 1)")
    s.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True, help="IP_MULTICAST_LOOP")
    s.add_argument("-i", "--iface", help="interface to send on (default: lo; nothing else implicitly)")
    s.add_argument("--rate", type=float, default=10.0, help="datagrams per second (default 10)")
    s.add_argument("-c", "--count", type=int, help="datagrams to send (default 10 unless --duration)")
    s.add_argument("--duration", type=float, help="stop after S seconds")
    s.add_argument("--size", type=int, default=40, help="UDP payload bytes (>= 40, the header)")
    s.add_argument("-s", "--source", help="source address to send from")
    s.add_argument("--id", type=lambda v: int(v, 0), help="sender id (default random)")
    s.add_argument("--json", action="store_true", help="print the result as JSON")
    s.add_argument("--netns", help="run inside this network namespace")
    s.set_defaults(func=run_send)

    g = msub.add_parser("groups", help="the kernel's membership table (/proc/net/igmp, igmp6, mcfilter)")
    g.add_argument("-i", "--iface", help="only this interface")
    g.add_argument("--json", action="store_true")
    g.add_argument("--watch", action="store_true", help="keep printing joins and leaves as they happen")
    g.add_argument("--interval", type=float, default=0.5, help="--watch poll interval (s)")
    g.add_argument("--duration", type=float, help="--watch: stop after S seconds")
    g.add_argument("--netns", help="read the table of this network namespace")
    g.set_defaults(func=run_groups)

    w = msub.add_parser(
        "watch", help="live join/leave/query timeline: IGMP/MLD on the wire merged with the kernel's table"
    )
    w.add_argument("-i", "--iface", help="interface to capture on (default: any; capture is passive)")
    w.add_argument("--duration", type=float, help="stop after S seconds")
    w.add_argument("--json", action="store_true", help="JSON lines: one per event, then a summary")
    w.add_argument("--no-kernel", action="store_true", help="wire only: do not poll /proc/net/igmp*")
    w.add_argument("--netns", help="watch inside this network namespace")
    w.set_defaults(func=run_watch)

    d = msub.add_parser("doctor", help="check what usually breaks multicast reception and say what to change")
    d.add_argument("group", nargs="?", metavar="GROUP")
    d.add_argument("-i", "--iface", help="interface (default: lo)")
    d.add_argument("-s", "--source", help="the sender's address (checks the reverse path)")
    d.add_argument("-p", "--port", type=_port, default=DEFAULT_PORT)
    d.add_argument(
        "--listen", type=float, default=None, help="join GROUP for S seconds to see what arrives (default 1)"
    )
    d.add_argument("--json", action="store_true")
    d.add_argument("--netns", help="check this network namespace")
    d.set_defaults(func=run_doctor)


def _no_sub(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An Event set by SIGINT/SIGTERM, so loops end cleanly (leaving groups, printing the report)."""
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_join(args: argparse.Namespace) -> int:
    from sniffer.errors import UsageError
    from sniffer.gen.mcast.stream import Receiver

    if args.count < 0 or (args.duration is not None and args.duration <= 0):
        raise UsageError("-c must be >= 0 and --duration > 0")
    rx = Receiver(args.groups, port=args.port, iface=args.iface, sources=args.source, ns=args.netns)
    with _stop_on_signals() as stop, rx:
        for m in rx.memberships:
            how = f"(S,G) from {', '.join(m.sources)}" if m.sources else "(*,G)"
            _note(f"joined {m.group} {how} on {m.ifname}, port {m.port}")

        def tick() -> None:
            now = time.time_ns()
            for st in rx.streams():
                d = st.to_dict(now)
                _note(
                    f"{time.strftime('%H:%M:%S')} {d['group']} from {_hp(d['source'], d['sport'])}: "
                    f"{d['packets']} pkts, lost {d['lost']}, gaps {d['gaps']}, dup {d['duplicates']}, "
                    f"{d['rate_pps']:.0f} pps"
                )
            if not rx.streams():
                _note(f"{time.strftime('%H:%M:%S')} nothing received yet")

        rx.run(
            count=args.count,
            duration=args.duration,
            stop=stop,
            until_last=args.until_end,
            on_tick=tick if args.progress > 0 else None,
            tick_s=args.progress or 1.0,
        )
    report = rx.report()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_join_report(report))
    _note(f"left {len(rx.memberships)} group(s) on {rx.ifname}")
    return 0


def format_join_report(report: dict[str, Any]) -> str:
    lines = [
        f"{'GROUP':<22} {'SENDER':<28} {'ID':>8} {'PKTS':>7} {'LOST':>6} {'LOSS%':>6} {'GAPS':>5} "
        f"{'DUP':>4} {'REORD':>5} {'DELAY ms min/avg/max':>22} {'TTL':>4} {'PPS':>8}"
    ]
    for g in report["groups"]:
        name = g["group"] + (" (S,G)" if g["sources"] else "")
        if not g["streams"]:
            lines.append(f"{name:<22} (nothing received)")
        for s in g["streams"]:
            d = s["delay_ms"]
            delay = f"{d['min']:.3f}/{d['avg']:.3f}/{d['max']:.3f}" if d else "-"
            ttl = str(s["ttl"]["min"]) if s["ttl"] else "-"
            sid = f"{s['sender_id']:08x}" if s["sender_id"] is not None else "-"
            lines.append(
                f"{name:<22} {s['source'] + ':' + str(s['sport']):<28} {sid:>8} {s['packets']:>7} "
                f"{s['lost']:>6} {s['loss_pct']:>6.2f} {s['gaps']:>5} {s['duplicates']:>4} "
                f"{s['reordered']:>5} {delay:>22} {ttl:>4} {s['rate_pps']:>8.1f}"
            )
    return "\n".join(lines)


def _hp(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def run_send(args: argparse.Namespace) -> int:
    from sniffer.gen.mcast.stream import send_stream

    count = args.count if args.count is not None else (0 if args.duration is not None else 10)
    with _stop_on_signals() as stop:
        res = send_stream(
            args.group,
            port=args.port,
            iface=args.iface,
            ttl=args.ttl,
            loop=args.loop,
            rate=args.rate,
            count=count,
            duration=args.duration,
            size=args.size,
            source=args.source,
            sender_id=args.id,
            stop=stop,
            ns=args.netns,
        )
    d = res.to_dict()
    if args.json:
        print(json.dumps(d, indent=2))
    else:
        print(
            f"sent {d['sent']} datagrams ({d['bytes']} bytes) to {_hp(d['group'], d['port'])} on {d['iface']} "
            f"from {d['source']}, TTL {d['ttl']}, id {d['sender_id']:08x}, {d['seconds']:.3f} s, "
            f"{d['rate_pps']:.1f} pps"
        )
    return 0


def run_groups(args: argparse.Namespace) -> int:
    from sniffer.gen.mcast.proc import format_table, read_memberships

    rows = read_memberships(args.iface, args.netns)
    if not args.watch:
        if args.json:
            print(json.dumps([m.to_dict() for m in rows], indent=2))
        else:
            print(format_table(rows))
        return 0
    # --watch: the table once, then one line per join / leave / change (JSON lines with --json)
    if args.json:
        for m in rows:
            print(json.dumps({"ts": time.time(), "event": "present", **m.to_dict()}), flush=True)
    else:
        print(format_table(rows), flush=True)
    prev = {(m.ifname, m.group): m.to_dict() for m in rows}
    deadline = None if args.duration is None else time.monotonic() + args.duration
    with _stop_on_signals() as stop:
        while not stop.wait(max(0.05, args.interval)):
            if deadline is not None and time.monotonic() >= deadline:
                break
            cur = {(m.ifname, m.group): m.to_dict() for m in read_memberships(args.iface, args.netns)}
            for key, now_row in cur.items():
                was = prev.get(key)
                if not now_row["sources_known"] and was is not None and was["users"] == now_row["users"]:
                    # the kernel's mcfilter listing stopped showing this group's sources (a newer group
                    # on the interface): nothing changed that we can see, keep what we knew
                    now_row.update(
                        mode=was["mode"], sources=was["sources"], sources_known=was["sources_known"]
                    )
            for key in sorted(set(prev) | set(cur)):
                a, b = prev.get(key), cur.get(key)
                if a == b or (a and b and _same(a, b)):
                    continue
                event = "join" if a is None else "leave" if b is None else "change"
                row = b or a
                assert row is not None
                _print_event(event, row, args.json)
            prev = cur
    return 0


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("users", "mode", "sources", "querier", "forced_version")
    return all(a[k] == b[k] for k in keys)


def _print_event(event: str, m: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ts": time.time(), "event": event, **m}), flush=True)
        return
    srcs = ",".join(s["address"] for s in m["sources"]) or "-"
    print(
        f"{time.strftime('%H:%M:%S')} {event:<6} {m['ifname']:<10} {m['group']:<28} users={m['users']} "
        f"mode={m['mode']} sources={srcs}",
        flush=True,
    )


def run_watch(args: argparse.Namespace) -> int:
    from sniffer.gen.mcast.watch import watch
    from sniffer.model.multicast import GroupState, TimelineEvent

    def show(g: GroupState, e: TimelineEvent) -> None:
        if args.json:
            d = {"ts": e.ts_ns / 1e9, "group": g.group, "event": e.event, "who": e.who, "detail": e.detail}
            print(json.dumps(d), flush=True)
            return
        t = time.strftime("%H:%M:%S", time.localtime(e.ts_ns / 1e9)) + f".{e.ts_ns // 1_000_000 % 1000:03d}"
        src = "kernel" if e.event.startswith("kernel") else "wire"
        print(f"{t} {src:<6} {e.event:<12} {g.group:<24} {e.who} {e.detail}".rstrip(), flush=True)

    with _stop_on_signals() as stop:
        view = watch(args.iface, args.netns, args.duration, stop, show, kernel=not args.no_kernel)
    now = time.time_ns()
    if args.json:
        summary = {
            "summary": view.rows(now),
            "queriers": [q.__dict__ for q in view.queriers()],
            "streams": [s.to_dict(now) for s in view.streams()],
        }
        print(json.dumps(summary), flush=True)
        return 0
    print()
    print(
        f"{'GROUP':<24} {'KERNEL':<16} {'MEMBERS':<7} {'VER':<4} {'REPORTS':>7} {'LEAVES':>6} {'PKTS':>7} {'LOST':>5}"
    )
    for r in view.rows(now):
        print(
            f"{r['group']:<24} {' '.join(r['kernel']) or '-':<16} {len(r['members']):<7} "
            f"{'v' + str(r['version']) if r['version'] else '-':<4} {r['reports']:>7} {r['leaves']:>6} "
            f"{r['packets']:>7} {r['lost']:>5}"
        )
    for q in view.queriers():
        print(f"querier {q.address} v{q.version} qrv={q.qrv} qqic={q.qqic} queries={q.queries}")
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    from sniffer.gen.mcast.doctor import FAIL, format_checks, run_checks

    checks = run_checks(
        group=args.group,
        iface=args.iface,
        source=args.source,
        port=args.port,
        listen=args.listen,
        ns=args.netns,
    )
    if args.json:
        print(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        print(format_checks(checks))
    return 1 if any(c.status == FAIL for c in checks) else 0
