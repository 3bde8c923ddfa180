"""`sniffer ping`: crafted ICMP/ICMPv6 echo (and other types) with iputils-style output, fping-style multi-target, traceroute."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EPILOG = """examples (loopback):
  sniffer ping -c 3 127.0.0.1
  sniffer ping -c 1000 -i 0.001 -q 127.0.0.1 ::1
  sniffer ping -6 -c 3 -s 1200 -M do ::1
  sniffer ping -c 2 --type 13 127.0.0.1          (ICMP timestamp request)
  sniffer ping --trace -W 1 127.0.0.1
  sniffer ping -c 5 --json 127.0.0.1
"""


def _interval(text: str) -> float:
    v = float(text)
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def _pattern(text: str) -> bytes:
    t = text.removeprefix("0x")
    if not t or len(t) > 32:
        raise argparse.ArgumentTypeError("1 to 16 bytes of hex, e.g. -p ff00")
    try:
        return bytes.fromhex(t if len(t) % 2 == 0 else "0" + t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}") from None


def _int0(text: str) -> int:
    return int(text, 0)


def _hex(text: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ping",
        help="ICMP/ICMPv6 echo with iputils-style statistics; several targets, --trace, --type",
        description="Send crafted ICMP echo requests (or other ICMP types) and report exactly what came back. "
        "Uses a raw socket with CAP_NET_RAW, else an unprivileged ICMP datagram socket.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "targets", nargs="*", metavar="TARGET", help="address or name; IPv6 link-local as fe80::1%%eth0"
    )
    # options grouped by feature in --help (iputils' one flat list is hard to search)
    pace = p.add_argument_group("how many probes, how often, how long")
    wire = p.add_argument_group("what goes on the wire (size, payload, TTL, TOS, source, socket)")
    ipopt = p.add_argument_group("IPv4 options on every probe (raw socket)")
    out = p.add_argument_group("what is printed")
    trace = p.add_argument_group("--trace: traceroute with ICMP echo (sniffer traceroute has UDP/TCP and -N)")
    craft = p.add_argument_group("other ICMP types")
    pace.add_argument("-c", dest="count", type=int, help="stop after COUNT probes per target")
    pace.add_argument(
        "-i",
        dest="interval",
        type=_interval,
        default=None,
        help="seconds between probes (root: down to 0.001; 0 = back to back, needs -c or -w)",
    )
    pace.add_argument("-w", dest="deadline", type=float, help="stop after DEADLINE seconds whatever happens")
    pace.add_argument(
        "-W",
        dest="timeout",
        type=float,
        default=None,
        help="seconds to wait for each answer (default 10; 1 with --trace)",
    )
    wire.add_argument("-s", dest="size", type=int, default=56, help="payload bytes (default 56)")
    g = wire.add_mutually_exclusive_group()
    g.add_argument(
        "-p", dest="pattern", type=_pattern, help="fill the payload with this hex pattern (up to 16 bytes)"
    )
    g.add_argument("--random", action="store_true", help="fill the payload with random bytes")
    g.add_argument("--payload-file", metavar="FILE", help="payload from FILE (cut or repeated to -s)")
    wire.add_argument("-t", dest="ttl", type=int, help="IP TTL / IPv6 hop limit")
    wire.add_argument("-Q", dest="tos", type=_int0, help="IP TOS / IPv6 traffic class (decimal or 0x..)")
    wire.add_argument(
        "-M",
        dest="pmtu",
        choices=["do", "dont", "want", "probe"],
        help="path MTU discovery (do = set DF, never fragment)",
    )
    wire.add_argument(
        "--id",
        "-e",
        dest="ident",
        type=_int0,
        help="ICMP identifier (default random; datagram sockets: the bound port)",
    )
    pace.add_argument(
        "--seq", dest="first_seq", type=int, default=1, help="first sequence number (default 1)"
    )
    wire.add_argument(
        "-I",
        dest="source",
        metavar="ADDR|IFACE",
        help="source address, or interface to bind to (SO_BINDTODEVICE)",
    )
    fam = wire.add_mutually_exclusive_group()
    fam.add_argument("-4", dest="family", action="store_const", const=4, default=0, help="IPv4 only")
    fam.add_argument("-6", dest="family", action="store_const", const=6, help="IPv6 only")
    out.add_argument(
        "-n", dest="numeric", action="store_true", help="numeric output (the default: no reverse lookups)"
    )
    out.add_argument("-H", dest="reverse_dns", action="store_true", help="resolve reply addresses to names")
    out.add_argument("-q", dest="quiet", action="store_true", help="quiet: summary only")
    out.add_argument(
        "-v",
        dest="verbose",
        action="store_true",
        help="verbose: replies show their identifier (ident=N, as iputils) and ICMP errors the header "
        "they quote (addresses, ttl, id, seq)",
    )
    out.add_argument(
        "-O", dest="report_outstanding", action="store_true", help="report probes that got no answer in time"
    )
    out.add_argument(
        "-D", dest="timestamps", action="store_true", help="print the receive timestamp before each line"
    )
    out.add_argument("--json", action="store_true", help="one JSON document (probes and summary) on stdout")
    pace.add_argument(
        "-f",
        dest="flood",
        action="store_true",
        help="flood: a dot per probe sent, a backspace per reply (so the dots left are the losses); "
        "-i 0 unless -i is given; needs -c or -w and a raw socket",
    )
    pace.add_argument(
        "-l", dest="preload", type=int, default=1, help="send PRELOAD probes at once at the start"
    )
    wire.add_argument(
        "-m", dest="mark", type=_int0, help="SO_MARK every probe with MARK (policy routing, nftables)"
    )
    wire.add_argument("-F", dest="flowlabel", type=_hex, help="IPv6 flow label (hex, 20 bits)")
    pace.add_argument(
        "-A",
        dest="adaptive",
        action="store_true",
        help="adaptive: next probe when the last is answered, no closer than the smoothed rtt, at most -i apart",
    )
    out.add_argument(
        "-U",
        dest="user_latency",
        action="store_true",
        help="rtt from user space to user space (no kernel stamp)",
    )
    wire.add_argument(
        "-b", dest="broadcast", action="store_true", help="allow a broadcast target (only with -I IFACE)"
    )
    ipopt.add_argument(
        "-R",
        dest="record_route",
        action="store_true",
        help="IPv4 record route: print the route of each reply",
    )
    ipopt.add_argument(
        "-T",
        dest="timestamp",
        nargs="+",
        metavar=("tsonly|tsandaddr|tsprespec", "HOP"),
        help="IPv4 timestamp option on every probe, printed per reply; as iputils, with tsprespec the "
        "hosts before the target are the hops asked to stamp (at most 4)",
    )
    trace.add_argument(
        "--trace", action="store_true", help="traceroute with ICMP echo: rising TTL, one line per hop"
    )
    trace.add_argument("--max-hops", type=int, default=30, help="--trace: highest TTL (default 30)")
    trace.add_argument("--queries", type=int, default=3, help="--trace: probes per hop (default 3)")
    craft.add_argument(
        "--type",
        dest="icmp_type",
        type=int,
        help="craft this ICMP type instead of echo (13 timestamp, 15 information, 17 address mask, ...)",
    )
    craft.add_argument("--code", dest="icmp_code", type=int, default=0, help="ICMP code for --type")
    wire.add_argument(
        "--socket",
        dest="socket_kind",
        choices=["auto", "raw", "dgram"],
        default="auto",
        help="raw needs CAP_NET_RAW; dgram is the unprivileged ICMP socket (default auto)",
    )
    p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> Any:
    from sniffer.errors import SnifferError, UsageError
    from sniffer.gen.ping.engine import PingOptions

    data = None
    if args.payload_file:
        try:
            with open(args.payload_file, "rb") as f:
                data = f.read(65536)
        except OSError as exc:
            raise SnifferError(f"--payload-file {args.payload_file}: {exc.strerror}") from None
    if args.count is not None and args.count < 1:
        raise UsageError("-c must be at least 1")
    if args.ttl is not None and not 1 <= args.ttl <= 255:
        raise UsageError("-t must be 1..255")
    if args.tos is not None and not 0 <= args.tos <= 255:
        raise UsageError("-Q must be 0..255")
    if args.icmp_type is not None and not 0 <= args.icmp_type <= 255:
        raise UsageError("--type must be 0..255")
    if not 0 <= args.icmp_code <= 255:
        raise UsageError("--code must be 0..255")
    if args.ident is not None and not 0 <= args.ident <= 0xFFFF:
        raise UsageError("--id must be 0..65535")
    timeout = args.timeout if args.timeout is not None else (1.0 if args.trace else 10.0)
    if timeout <= 0:
        raise UsageError("-W must be > 0")
    if not 1 <= args.preload <= 65536:
        raise UsageError("-l must be 1..65536")
    if args.flowlabel is not None and not 0 <= args.flowlabel <= 0xFFFFF:
        raise UsageError("-F must be a 20-bit flow label (0..fffff)")
    if args.mark is not None and not 0 <= args.mark <= 0xFFFFFFFF:
        raise UsageError("-m must be 0..4294967295")
    interval = args.interval
    if args.flood and interval is None:
        interval = 0.0
    if interval is None:
        interval = 1.0
    return PingOptions(
        count=args.count,
        interval=interval,
        deadline=args.deadline,
        timeout=timeout,
        size=args.size,
        pattern=args.pattern,
        random_payload=args.random,
        payload_data=data,
        ttl=args.ttl,
        tos=args.tos,
        pmtu=args.pmtu,
        ident=args.ident,
        first_seq=args.first_seq,
        source=args.source,
        family=args.family,
        reverse_dns=args.reverse_dns,
        icmp_type=args.icmp_type,
        icmp_code=args.icmp_code,
        socket_kind=args.socket_kind,
        preload=args.preload,
        mark=args.mark,
        flowlabel=args.flowlabel,
        adaptive=args.adaptive,
        user_latency=args.user_latency,
        broadcast=args.broadcast,
        record_route=args.record_route,
        timestamp=args.timestamp,
        ts_hops=tuple(args.ts_hops),
        iputils_deadline=True,
    )


def _ts_lines(stamps: Any) -> list[str]:
    """iputils' TS: lines: the first stamp absolute (ms since midnight UT), the next ones as the
    difference from the one before; a stamp with the high bit set is 'not-standard' (its own series)."""
    out = []
    std = nonstd = None
    for addr, value in stamps.entries:
        if value & 0x80000000:
            v = value & 0x7FFFFFFF
            text = f"{v} absolute not-standard" if nonstd is None else f"{v - nonstd} not-standard"
            nonstd = v
        else:
            text = f"{value} absolute" if std is None else f"{value - std}"
            std = value
        out.append(f"{addr}\t{text}" if addr is not None else text)
    return out


def fmt_ms(ms: float) -> str:
    """iputils' precision: 3 decimals under 1 ms, fewer above."""
    if ms >= 100:
        return f"{ms:.0f}" if ms >= 1000 else f"{ms:.1f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def run(args: argparse.Namespace) -> int:
    from sniffer.errors import SnifferError

    try:
        return _run(args)
    except SnifferError as exc:
        exc.exit_status = 2  # iputils: 2 for every error (resolving, binding, options), 1 for no reply
        raise


def _run(args: argparse.Namespace) -> int:
    from sniffer.errors import UsageError

    args.ts_hops = []
    if args.timestamp:  # -T MODE takes the hosts after it too (iputils reads them as arguments)
        args.timestamp, *more = args.timestamp
        args.targets = [*more, *args.targets]
        if args.timestamp == "tsprespec" and args.targets:
            # iputils: the hosts before the target are the hops asked to stamp
            from sniffer.gen.ping.engine import resolve

            args.ts_hops = [resolve(h, 4).address for h in args.targets[:-1]]
            args.targets = args.targets[-1:]
    if not args.targets:
        raise UsageError("no target: name an address or host to ping")

    if args.trace:
        if len(args.targets) != 1:
            raise UsageError("--trace takes one target")
        return _run_trace(args)
    if args.count is None and args.deadline is None and args.json:
        raise UsageError("--json prints at the end: bound the run with -c COUNT or -w DEADLINE")
    return _run_ping(args)


def _name_of(addr: str, want: bool, cache: dict[str, str]) -> str:
    if not want or not addr:
        return addr
    if addr not in cache:
        import socket

        try:
            cache[addr] = f"{socket.gethostbyaddr(addr.split('%')[0])[0]} ({addr})"
        except OSError:
            cache[addr] = addr
    return cache[addr]


def _decoded(packet: bytes, ts_ns: int) -> dict[str, Any]:
    """The ICMP error through the shared decoder: Wireshark field names (outer, then quoted values)."""
    from sniffer.decode.fields import frame_fields
    from sniffer.frame import LINKTYPE_RAW, Frame

    fields = frame_fields(Frame(ts_ns, packet, len(packet), LINKTYPE_RAW))
    return {k: v for k, v in fields.items() if not k.startswith("frame.")}


def _run_ping(args: argparse.Namespace) -> int:
    import json
    import signal
    import socket
    import time

    from sniffer.gen.ping import icmp
    from sniffer.gen.ping.engine import PingSession, ProbeError, ProbeSent, ProbeTimeout, Reply

    opts = _options(args)
    session = PingSession(args.targets, opts)
    out = sys.stdout
    if session.kind == "dgram" and args.socket_kind == "auto":
        print(
            "sniffer: no CAP_NET_RAW: using an unprivileged ICMP datagram socket (net.ipv4.ping_group_range); "
            "the kernel sets the identifier and checks the replies",
            file=sys.stderr,
            flush=True,
        )
    multi = len(session.targets) > 1
    names: dict[str, str] = {}
    probes: list[list[dict[str, Any]]] = [[] for _ in session.targets]
    by_seq: list[dict[int, dict[str, Any]]] = [{} for _ in session.targets]
    quiet = args.quiet or args.json or args.flood
    flood_out = args.flood and not args.quiet and not args.json
    if any(session.broadcast) and not args.json:
        print("WARNING: pinging broadcast address", file=sys.stderr, flush=True)
    rdns = args.reverse_dns and not args.numeric
    write = out.write

    if not args.json:
        for ep in session.endpoints:
            t = ep.target
            v6 = t.family == socket.AF_INET6
            if opts.icmp_type is not None:
                tn = (icmp.ICMP6_TYPE_NAMES if v6 else icmp.ICMP_TYPE_NAMES).get(opts.icmp_type, "?")
                write(
                    f"PING {t.name} ({t.address}): ICMP{'v6' if v6 else ''} type {opts.icmp_type} ({tn}) code {opts.icmp_code}, {len(ep.payload)} data bytes\n"
                )
            else:
                if args.verbose:  # iputils -v: the resolver's answer first (the name as resolved)
                    write(f"ai->ai_family: AF_INET{'6' if v6 else ''}, ai->ai_canonname: '{t.name}'\n")
                # iputils: no space before the address of an IPv6 target; "from SRC IFACE:" with -I
                frm = ""
                if opts.source:
                    iface = "" if ":" in opts.source or opts.source[:1].isdigit() else opts.source
                    frm = f" from {ep.source_address()} {iface}:"
                if v6:
                    write(f"PING {t.name}({t.address}){frm} {opts.size} data bytes\n")
                else:
                    # -R / -T: 40 bytes of IP options, as iputils counts them
                    ipl = opts.size + 28 + (40 if opts.record_route or opts.timestamp else 0)
                    write(f"PING {t.name} ({t.address}){frm} {opts.size}({ipl}) bytes of data.\n")
        out.flush()

    last_route: dict[int, list[str]] = {}

    def prefix(ts_ns: int) -> str:
        return f"[{ts_ns / 1e9:.6f}] " if args.timestamps else ""

    def on_event(ev: Any) -> None:
        if flood_out:
            if isinstance(ev, ProbeSent):
                write(".")
            elif isinstance(ev, Reply) and not ev.dup:
                write("\b \b" if ev.checksum_ok is not False else "\bC")
            elif isinstance(ev, ProbeError):
                write("\bE" if not ev.local else "E")
            out.flush()
        if isinstance(ev, ProbeSent):
            if args.json:
                new: dict[str, Any] = {"seq": ev.seq, "sent_ns": ev.ts_ns, "status": "sent"}
                probes[ev.target].append(new)
                by_seq[ev.target][ev.seq] = new
            return
        if isinstance(ev, Reply):
            if args.json:
                rec: dict[str, Any] | None = by_seq[ev.target].get(ev.seq)
                r = {
                    "from": ev.src,
                    "rtt_ms": round(ev.rtt_ns / 1e6, 6),
                    "ttl": ev.ttl,
                    "bytes": ev.nbytes,
                    "checksum_ok": ev.checksum_ok,
                    "payload_error": ev.payload_error,
                    "type": ev.icmp_type,
                    "code": ev.icmp_code,
                }
                if ev.detail:
                    r["detail"] = ev.detail
                if ev.route is not None:
                    r["route"] = ev.route
                if ev.stamps is not None:
                    r["timestamps"] = [
                        {"address": a, "ms": v} if a else {"ms": v} for a, v in ev.stamps.entries
                    ]
                    r["timestamps_unrecorded"] = ev.stamps.overflow
                if ev.late:
                    r["late"] = True
                if rec is not None:
                    if ev.dup:
                        rec.setdefault("duplicates", []).append(r)
                    else:
                        rec.update(
                            r,
                            status="reply"
                            if not (ev.checksum_ok is False or ev.payload_error)
                            else "damaged",
                        )
            if quiet:
                return
            line = (
                f"{prefix(ev.ts_ns)}{ev.nbytes} bytes from {_name_of(ev.src, rdns, names)}: icmp_seq={ev.seq}"
            )
            if args.verbose:  # iputils -v: the identifier of the reply (ours: it matched)
                line += f" ident={session.endpoints[ev.target].ident}"
            if ev.ttl is not None:
                line += f" ttl={ev.ttl}"
            line += f" time={fmt_ms(ev.rtt_ns / 1e6)} ms"
            if ev.dup:
                line += " (DUP!)"
            if ev.late:
                line += " (late)"
            if ev.checksum_ok is False:
                line += " (BAD CHECKSUM!)"
            if ev.payload_error:
                line += f" ({ev.payload_error})"
            if ev.detail:
                line += f" {ev.detail}"
            if ev.route is not None:  # iputils: the route once, then "(same route)" while it holds
                if ev.route == last_route.get(ev.target):
                    line += "\t(same route)"
                else:
                    line += "\nRR: \t" + "\n\t".join(ev.route) + "\n"
                    last_route[ev.target] = ev.route
            if ev.stamps is not None and ev.stamps.entries:
                line += "\nTS: \t" + "\n\t".join(_ts_lines(ev.stamps)) + "\n"
                if ev.stamps.overflow:
                    line += f"Unrecorded hops: {ev.stamps.overflow}\n"
            write(line + "\n")
            out.flush()
            return
        if isinstance(ev, ProbeError):
            if args.json:
                rec = by_seq[ev.target].get(ev.seq)
                if rec is None:
                    rec = {"seq": ev.seq, "sent_ns": ev.ts_ns}
                    probes[ev.target].append(rec)
                rec.update(
                    status="local-error" if ev.local else "error",
                    error=ev.text,
                    type=ev.icmp_type,
                    code=ev.icmp_code,
                )
                rec["from"] = ev.src
                if ev.quoted is not None:
                    rec["quoted"] = ev.quoted.as_dict()
                if ev.packet:
                    rec["decoded"] = _decoded(ev.packet, ev.ts_ns)
            if quiet:
                return
            if ev.local:  # our own send failed: a diagnostic, so stderr (iputils ping does the same)
                tgt = session.targets[ev.target].address
                out.flush()
                sys.stderr.write(
                    f"{prefix(ev.ts_ns)}{'From ' + ev.src + ' ' if ev.src else ''}icmp_seq={ev.seq} {ev.text}"
                    + (f" (to {tgt})" if multi else "")
                    + "\n"
                )
                sys.stderr.flush()
            else:
                q = (
                    f" [quoted {ev.quoted.describe()}]"
                    if args.verbose and ev.quoted is not None and ev.quoted.src
                    else ""
                )
                write(
                    f"{prefix(ev.ts_ns)}From {_name_of(ev.src, rdns, names)} icmp_seq={ev.seq} {ev.text}{q}\n"
                )
            out.flush()
            return
        if isinstance(ev, ProbeTimeout):
            if args.json:
                rec = by_seq[ev.target].get(ev.seq)
                if rec is not None and rec.get("status") == "sent":
                    rec["status"] = "timeout"
            elif args.report_outstanding and not args.quiet:
                tgt = f" to {session.targets[ev.target].address}" if multi else ""
                write(f"no answer yet for icmp_seq={ev.seq}{tgt}\n")
                out.flush()

    def status(*_: object) -> None:
        """SIGQUIT (Ctrl-\\): iputils' status line on stderr, the run goes on."""
        for st in session.stats:
            loss = (st.transmitted - st.received) * 100 // st.transmitted if st.transmitted else 0
            line = f"\r{st.received}/{st.transmitted} packets, {loss}% loss"
            rtt = st.rtt
            if rtt:
                line += f", min/avg/ewma/max = {rtt['min']:.3f}/{rtt['avg']:.3f}/{st.rtt_ewma:.3f}/{rtt['max']:.3f} ms"
            print(line + (f" ({st.name})" if multi else ""), file=sys.stderr, flush=True)

    old = signal.signal(signal.SIGINT, lambda *_: session.stop())
    old_quit = signal.signal(signal.SIGQUIT, status)
    try:
        with session:
            session.run(on_event)
    finally:
        signal.signal(signal.SIGINT, old)
        signal.signal(signal.SIGQUIT, old_quit)
    elapsed = session.elapsed_ms
    # iputils' exit status: 1 when nothing came back, or (with -w) fewer replies than -c asked for
    ok = all(
        st.received > 0 and not (opts.deadline is not None and opts.count and st.received < opts.count)
        for st in session.stats
    )
    if args.json:
        doc: dict[str, Any] = {
            "socket": session.kind,
            "time_ms": round(elapsed, 3),
            "targets": [dict(st.as_dict(elapsed), probes=probes[i]) for i, st in enumerate(session.stats)],
        }
        for t in doc["targets"]:
            for rec in t["probes"]:
                if rec.get("status") == "sent":
                    rec["status"] = "no-answer"
        json.dump(doc, out, indent=1)
        write("\n")
        return 0 if ok else 1
    if multi:
        write("\n")
        width = max(len(st.name) for st in session.stats)
        for st in session.stats:
            line = f"{st.name:<{width}} : xmt/rcv/%loss = {st.transmitted}/{st.received}/{st.loss_pct:.0f}%"
            if st.duplicates:
                line += f", dup = {st.duplicates}"
            if st.errors:
                line += f", err = {st.errors}"
            rtt = st.rtt
            if rtt:
                line += f", min/avg/max = {rtt['min']:.3f}/{rtt['avg']:.3f}/{rtt['max']:.3f}"
            write(line + "\n")
        return 0 if ok else 1
    for st in session.stats:
        write(f"\n--- {st.name} ping statistics ---\n")
        line = f"{st.transmitted} packets transmitted, {st.received} received"
        if st.duplicates:
            line += f", +{st.duplicates} duplicates"
        if st.damaged:
            line += f", +{st.damaged} corrupted"
        if st.errors:
            line += f", +{st.errors} errors"
        line += f", {st.loss_pct:g}% packet loss, time {session.send_span_ms:.0f}ms"
        write(line + "\n")
        rtt = st.rtt
        tail = []
        if rtt:
            tail.append(
                f"rtt min/avg/max/mdev = {rtt['min']:.3f}/{rtt['avg']:.3f}/{rtt['max']:.3f}/{rtt['mdev']:.3f} ms"
            )
        if st.pipe > 1:
            tail.append(f"pipe {st.pipe}")
        if st.received and (opts.interval == 0 or args.flood or args.adaptive) and st.transmitted > 1:
            ipg = session.send_span_ms / (st.transmitted - 1)
            tail.append(f"ipg/ewma {ipg:.3f}/{st.rtt_ewma:.3f} ms")
        # iputils ends the summary with its rtt line, or an empty line when there is none
        write(", ".join(tail) + "\n")
    _ = time
    return 0 if ok else 1


def _run_trace(args: argparse.Namespace) -> int:
    import json

    from sniffer.errors import UsageError
    from sniffer.gen.ping.engine import resolve
    from sniffer.gen.ping.trace import Hop, trace

    opts = _options(args)
    if opts.icmp_type is not None:
        raise UsageError("--trace sends echo requests; drop --type")
    if not 1 <= args.max_hops <= 255 or not 1 <= args.queries <= 10:
        raise UsageError("--max-hops must be 1..255 and --queries 1..10")
    t = resolve(args.targets[0], opts.family)
    names: dict[str, str] = {}
    rdns = args.reverse_dns and not args.numeric
    if not args.json:
        print(
            f"trace to {t.name} ({t.address}), {args.max_hops} hops max, {opts.size} byte payload, ICMP echo",
            flush=True,
        )

    def on_hop(h: Hop) -> None:
        if args.json:
            return
        print(h.line(lambda addr: _name_of(addr, rdns, names), fmt_ms), flush=True)

    hops = trace(args.targets[0], opts, max_hops=args.max_hops, queries=args.queries, on_hop=on_hop)
    reached = bool(hops) and hops[-1].reached
    if args.json:
        doc = {
            "target": t.name,
            "address": t.address,
            "reached": reached,
            "hops": [
                {"ttl": h.ttl, "probes": [{"from": a, "rtt_ms": r, "note": n} for a, r, n in h.probes]}
                for h in hops
            ],
        }
        json.dump(doc, sys.stdout, indent=1)
        print()
    return 0 if reached else 1
