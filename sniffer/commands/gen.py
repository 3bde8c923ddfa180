"""`sniffer gen`: traffic generators and their peers over every socket family, type and I/O style."""

from __future__ import annotations

import argparse
import sys
from typing import Any

GEN_HELP = """\
clients (without an address they start their own peer on loopback, in a child process):
  tcp-echo        TCP echo client (guide 5.1)        tcp-bulk   one-way bulk transfer (--bytes)
  tcp-conns       many short connections (-n)        udp-echo   UDP echo client (guide 5.2)
  udp-blast       paced/unpaced UDP datagrams        unix       AF_UNIX stream/dgram/seqpacket
  packet          AF_PACKET raw/cooked frames        rawip      SOCK_RAW IP protocol 253
  vsock           AF_VSOCK stream                    broadcast  UDP SO_BROADCAST on -i IFACE
  icmp            ICMP echo through the ping core    bluetooth  RFCOMM / L2CAP (where AF_BLUETOOTH is)
closed loop:
  verify FILE     generated flows in a capture file, and the sequence numbers that went missing
servers (bounded by -d seconds and -c connections/messages):
  tcp-echo-server tcp-server udp-echo-server udp-server unix-server packet-server rawip-server
  vsock-server bluetooth-server
  bluetooth-hci   events of a raw HCI socket on hciN (bounded by -c events and -d seconds)
every run: --style blocking|select|poll|epoll|asyncio, --json; payloads carry the tag of
sniffer/gen/core/payload.py (magic SnFg, flow id, sequence, timestamp) for the analyzer.
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "gen",
        help="traffic generators and peers (TCP, UDP, unix, packet, raw IP, vsock, broadcast, ICMP)",
        description="Generate tagged traffic over every socket family, type and I/O style.",
        epilog=GEN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gsub = p.add_subparsers(dest="gen_what", metavar="WHAT")
    p.set_defaults(func=_help(p))

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--style",
        default="blocking",
        choices=("blocking", "select", "poll", "epoll", "asyncio"),
        help="I/O style (default blocking)",
    )
    common.add_argument("--json", action="store_true", help="print the report as one JSON object")
    common.add_argument("-d", "--duration", type=float, default=None, help="stop after this many seconds")
    so = common.add_argument_group("socket options (set, then reported)")
    so.add_argument("--reuseaddr", type=_onoff, metavar="0|1")
    so.add_argument("--keepalive", type=_onoff, metavar="0|1")
    so.add_argument("--sndbuf", type=_size, metavar="BYTES")
    so.add_argument("--rcvbuf", type=_size, metavar="BYTES")
    so.add_argument("--nodelay", type=_onoff, metavar="0|1", help="TCP_NODELAY")
    so.add_argument("--linger", type=int, metavar="SECS", help="SO_LINGER on, with this timeout")
    so.add_argument("--ttl", type=int, help="IP_TTL / IPV6_UNICAST_HOPS")
    so.add_argument("--mcast-ttl", type=int, help="IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS")
    so.add_argument("--mcast-loop", type=_onoff, metavar="0|1", help="IP_MULTICAST_LOOP")

    client = argparse.ArgumentParser(add_help=False, parents=[common])
    client.add_argument("-c", "--count", type=int, default=None, help="messages to send")
    client.add_argument(
        "-s", "--size", type=_size, default=64, help="message size in bytes (>= 28, default 64)"
    )
    client.add_argument("--interval", type=float, default=0.0, help="pause between echo messages (s)")
    client.add_argument("--timeout", type=float, default=1.0, help="wait this long for each reply (s)")
    client.add_argument(
        "--flow", type=lambda s: int(s, 0), default=None, help="flow id in the tag (default random)"
    )
    client.add_argument(
        "--peer-style", default=None, help="I/O style of the self-started peer (default: same as --style)"
    )

    server = argparse.ArgumentParser(add_help=False, parents=[common])
    server.add_argument(
        "-c", "--count", type=int, default=None, help="stop after this many connections/messages"
    )
    server.add_argument(
        "--mode", choices=("echo", "sink"), default="echo", help="echo back, or count and discard"
    )

    ipfam = argparse.ArgumentParser(add_help=False)
    ipfam.add_argument(
        "--family", choices=("inet", "inet6"), default="inet", help="AF_INET (default) or AF_INET6"
    )

    def cmd(
        name: str, helptext: str, parents: list[argparse.ArgumentParser], func: Any
    ) -> argparse.ArgumentParser:
        sp = gsub.add_parser(name, help=helptext, description=helptext, parents=parents)
        sp.set_defaults(func=func, gen_what=name)
        return sp

    # TCP
    for name, mode in (("tcp-echo-server", "echo"), ("tcp-server", None)):
        sp = cmd(name, "TCP server: echo (guide 5.1) or sink", [server, ipfam], _run_server)
        sp.add_argument("--bind", default=None, help="HOST:PORT to listen on (default loopback:7007)")
        if mode:
            sp.set_defaults(mode=mode)
    sp = cmd(
        "tcp-echo",
        "TCP echo client (guide 5.1): tagged messages, round-trip times",
        [client, ipfam],
        _run_client,
    )
    sp.add_argument("--to", default=None, help="HOST:PORT of a running echo server (default: self-started)")
    sp = cmd("tcp-bulk", "TCP bulk transfer to a sink: throughput", [client, ipfam], _run_client)
    sp.add_argument("--to", default=None, help="HOST:PORT of a running sink (tcp-server --mode sink)")
    sp.add_argument("--bytes", type=_size, default=100 << 20, help="how much to send (default 100M)")
    sp.add_argument("--chunk", type=_size, default=1 << 20, help="bytes per send call (default 1M)")
    sp = cmd("tcp-conns", "many short TCP connections, one echo each", [client, ipfam], _run_client)
    sp.add_argument("--to", default=None, help="HOST:PORT of a running echo server")
    sp.add_argument("-n", "--conns", type=int, default=100, help="connections to open (default 100)")
    sp.add_argument(
        "--parallel", type=int, default=100, help="at most this many at once (non-blocking styles)"
    )

    # UDP
    for name, mode in (("udp-echo-server", "echo"), ("udp-server", None)):
        sp = cmd(name, "UDP server: echo (guide 5.2) or sink", [server, ipfam], _run_server)
        sp.add_argument(
            "--bind", default=None, help="HOST:PORT (default loopback:7007; 0.0.0.0 for broadcast)"
        )
        sp.add_argument("--group", default=None, help="join this multicast group (with -i)")
        sp.add_argument("-i", "--interface", default=None, help="interface for --group")
        if mode:
            sp.set_defaults(mode=mode)
    sp = cmd(
        "udp-echo",
        "UDP echo client (guide 5.2): tagged datagrams, round-trip times, loss",
        [client, ipfam],
        _run_client,
    )
    sp.add_argument("--to", default=None, help="HOST:PORT (a multicast group needs -i)")
    sp.add_argument("-i", "--interface", default=None, help="send multicast on this interface")
    sp = cmd("udp-blast", "UDP datagrams as fast as allowed (--pps paces)", [client, ipfam], _run_client)
    sp.add_argument("--to", default=None, help="HOST:PORT of a running sink (udp-server --mode sink)")
    sp.add_argument("--pps", type=float, default=None, help="packets per second (default: unpaced)")
    sp.add_argument("-i", "--interface", default=None, help="send multicast on this interface")

    # AF_UNIX
    unix_args = argparse.ArgumentParser(add_help=False)
    unix_args.add_argument("--type", choices=("stream", "dgram", "seqpacket"), default="stream")
    unix_args.add_argument("--path", default=None, help="socket file path")
    unix_args.add_argument("--abstract", default=None, help="abstract name (no file; shown as @NAME)")
    sp = cmd(
        "unix-server", "AF_UNIX echo/sink server on a path or abstract name", [server, unix_args], _run_server
    )
    sp.add_argument("--perm", type=lambda s: int(s, 8), default=None, help="chmod the socket file (octal)")
    sp = cmd("unix", "AF_UNIX client: echo, --bulk or --blast", [client, unix_args], _run_client)
    sp.add_argument(
        "--self-peer", action="store_true", help="start our own server at --path/--abstract first"
    )
    _add_unix_modes(sp)

    # AF_PACKET
    pkt = argparse.ArgumentParser(add_help=False)
    pkt.add_argument(
        "--type", choices=("raw", "dgram"), default="raw", help="raw: whole frames; dgram: cooked"
    )
    pkt.add_argument("-i", "--interface", default="lo", help="interface (default lo)")
    pkt.add_argument(
        "--ethertype", type=lambda s: int(s, 0), default=0x88B5, help="default 0x88b5 (experimental)"
    )
    cmd("packet-server", "AF_PACKET echo server (sets the tag's ECHO flag)", [server, pkt], _run_server)
    sp = cmd("packet", "AF_PACKET client: tagged frames, echoed by packet-server", [client, pkt], _run_client)
    sp.add_argument("--dst-mac", default=None, help="destination MAC (default: lo's, else broadcast)")
    sp.add_argument(
        "--external", action="store_true", help="a packet-server runs elsewhere: do not start one"
    )
    sp.add_argument("--blast", action="store_true", help="send without waiting for echoes")
    sp.add_argument("--pps", type=float, default=None)

    # raw IP
    raw = argparse.ArgumentParser(add_help=False)
    raw.add_argument("--proto", type=int, default=253, help="IP protocol number (default 253, experimental)")
    sp = cmd("rawip-server", "SOCK_RAW IP echo server", [server, ipfam, raw], _run_server)
    sp.add_argument("--bind", default=None, help="address to listen on (default loopback)")
    sp = cmd("rawip", "SOCK_RAW over IP: tagged packets of protocol 253", [client, ipfam, raw], _run_client)
    sp.add_argument(
        "--to", default=None, help="HOST running rawip-server (default: self-started on loopback)"
    )

    # vsock
    vs = argparse.ArgumentParser(add_help=False)
    vs.add_argument("--cid", type=int, default=1, help="peer CID (default 1 = VMADDR_CID_LOCAL, loopback)")
    vs.add_argument("--port", type=int, default=7007)
    cmd("vsock-server", "AF_VSOCK echo/sink server", [server, vs], _run_server)
    sp = cmd("vsock", "AF_VSOCK stream echo client", [client, vs], _run_client)
    sp.add_argument(
        "--self-peer", action="store_true", help="start our own server first (default when --cid 1)"
    )

    # Bluetooth (where Python and the kernel have AF_BLUETOOTH; else one line says which lacks it)
    bt = argparse.ArgumentParser(add_help=False)
    bt.add_argument("proto", choices=["rfcomm", "l2cap"], help="RFCOMM stream or L2CAP seqpacket")
    bt.add_argument("--bdaddr", default="00:00:00:00:00:00", help="peer (client) or local (server) address")
    bt.add_argument(
        "--port", type=int, default=None, help="RFCOMM channel (default 1) or L2CAP PSM (default 0x1001)"
    )
    cmd("bluetooth-server", "AF_BLUETOOTH RFCOMM/L2CAP echo/sink server", [server, bt], _run_server)
    sp = cmd("bluetooth", "AF_BLUETOOTH RFCOMM/L2CAP echo client", [client, bt], _run_client)

    sp = gsub.add_parser(
        "bluetooth-hci",
        help="print the events of a raw HCI socket (where AF_BLUETOOTH is)",
        description="Open a raw HCI socket on hciN (CAP_NET_RAW), receive every event and print one line "
        "per event, up to -c events within -d seconds.",
    )
    sp.add_argument("--dev", type=int, default=0, help="adapter number N of hciN (default 0)")
    sp.add_argument("-c", "--count", type=int, default=10, help="events at most (default 10)")
    sp.add_argument("-d", "--duration", type=float, default=10.0, help="seconds at most (default 10)")
    sp.set_defaults(func=_run_hci, gen_what="bluetooth-hci")

    # ICMP (the ping core)
    _add_icmp(cmd, client, ipfam)

    # closed loop over a capture file
    sp = gsub.add_parser(
        "verify",
        help="find generated flows in a capture file and the packets that went missing",
        description="Scan a pcap/pcapng for sniffer's payload tag; per flow: packets, missing sequence numbers. "
        "Exit status: 0 when every flow is complete, 1 when sequence numbers are missing or no flow is found.",
    )
    sp.add_argument("file", help="capture file ('-' for stdin)")
    sp.add_argument("--flow", type=lambda s: int(s, 0), default=None, help="only this flow id")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=_run_verify, gen_what="verify")

    # broadcast
    sp = cmd("broadcast", "UDP broadcast (SO_BROADCAST) on a named interface", [client], _run_client)
    sp.add_argument("-i", "--interface", required=True, help="interface to broadcast on (required)")
    sp.add_argument("--port", type=int, default=7007, help="destination port (default 7007)")
    sp.add_argument("--to", default=None, help="broadcast address (default: the interface's)")
    sp.add_argument("--self-peer", action="store_true", help="also answer locally (a server on this host)")


def _add_icmp(cmd: Any, client: argparse.ArgumentParser, ipfam: argparse.ArgumentParser) -> None:
    sp = cmd("icmp", "ICMP echo through the ping core, tagged payloads", [client, ipfam], _run_icmp)
    sp.add_argument("--to", default=None, help="host (default loopback)")
    sp.add_argument("--socket", choices=("auto", "raw", "dgram"), default="auto", help="ICMP socket kind")
    sp.set_defaults(interval=0.01, size=64)


def _add_unix_modes(sp: argparse.ArgumentParser) -> None:
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--bulk", action="store_true", help="one-way bulk to a sink (stream/seqpacket)")
    g.add_argument("--blast", action="store_true", help="datagrams without waiting (dgram)")
    sp.add_argument("--bytes", type=_size, default=100 << 20, help="for --bulk (default 100M)")
    sp.add_argument("--chunk", type=_size, default=None, help="for --bulk (default 1M, seqpacket 64K)")
    sp.add_argument("--pps", type=float, default=None, help="for --blast")


def _help(p: argparse.ArgumentParser) -> Any:
    def show(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    return show


def _onoff(text: str) -> bool:
    if text.lower() in ("1", "on", "yes", "true"):
        return True
    if text.lower() in ("0", "off", "no", "false"):
        return False
    raise argparse.ArgumentTypeError("use 0 or 1")


def _size(text: str) -> int:
    from sniffer.errors import UsageError
    from sniffer.gen.traffic.options import parse_size

    try:
        return parse_size(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _opts(args: argparse.Namespace) -> Any:
    from sniffer.gen.traffic.options import SockOpts

    return SockOpts(
        reuseaddr=args.reuseaddr,
        keepalive=args.keepalive,
        sndbuf=args.sndbuf,
        rcvbuf=args.rcvbuf,
        nodelay=args.nodelay,
        linger=args.linger,
        ttl=args.ttl,
        mcast_ttl=args.mcast_ttl,
        mcast_loop=args.mcast_loop,
    )


# --------------------------------------------------------------------------- endpoint + address per command


def _endpoint(args: argparse.Namespace, server: bool) -> tuple[Any, Any, bool]:
    """(endpoint, address or None, start-a-self-peer) for a command."""
    from sniffer.errors import UsageError
    from sniffer.gen.traffic import ipaddr

    what = args.gen_what
    opts = _opts(args)
    ep: Any
    if what.startswith("tcp"):
        from sniffer.gen.traffic.tcp import TcpEndpoint

        ep = TcpEndpoint(args.family, opts)
        text = args.bind if server else args.to
        addr = (
            ipaddr.sockaddr(args.family, *ipaddr.parse_hostport(text, args.family))
            if (text or server)
            else None
        )
        return ep, addr, addr is None
    if what.startswith("udp"):
        from sniffer.gen.traffic.udp import UdpEndpoint

        ep = UdpEndpoint(args.family, opts, iface=args.interface, group=getattr(args, "group", None))
        text = args.bind if server else args.to
        addr = (
            ipaddr.sockaddr(args.family, *ipaddr.parse_hostport(text, args.family))
            if (text or server)
            else None
        )
        return ep, addr, addr is None
    if what.startswith("unix"):
        from sniffer.gen.traffic.unix import UnixEndpoint, unix_address

        ep = UnixEndpoint(args.type, opts, abstract=bool(args.abstract))
        if server:
            ep.file_mode = args.perm
            return ep, unix_address(args.path, args.abstract), False
        if args.path or args.abstract:
            return ep, unix_address(args.path, args.abstract), args.self_peer
        return ep, None, True
    if what.startswith("packet"):
        from sniffer.gen.traffic.packet import PacketEndpoint, parse_mac

        dst = parse_mac(args.dst_mac) if getattr(args, "dst_mac", None) else None
        ep = PacketEndpoint(args.type, args.interface, opts, args.ethertype, dst)
        addr = (args.interface, args.ethertype)
        return ep, addr, not server and not args.external
    if what.startswith("rawip"):
        from sniffer.gen.traffic.rawip import RawIpEndpoint

        ep = RawIpEndpoint(args.family, opts, args.proto)
        text = args.bind if server else args.to
        if text:
            return ep, ipaddr.sockaddr(args.family, text.strip("[]"), 0), False
        addr = (ipaddr.LOOPBACK[args.family], 0)
        return ep, addr, not server
    if what.startswith("vsock"):
        from sniffer.gen.traffic.vsock import VMADDR_CID_ANY, VMADDR_CID_LOCAL, VsockEndpoint

        ep = VsockEndpoint(args.cid, opts)
        if server:
            return (
                ep,
                (VMADDR_CID_ANY if args.cid != VMADDR_CID_LOCAL else VMADDR_CID_LOCAL, args.port),
                False,
            )
        return ep, (args.cid, args.port), args.self_peer or args.cid == VMADDR_CID_LOCAL
    if what.startswith("bluetooth"):
        from sniffer.gen.traffic.bluetooth import BluetoothEndpoint, check_available

        check_available()  # before anything else: one line when AF_BLUETOOTH is not there
        port = args.port if args.port is not None else (1 if args.proto == "rfcomm" else 0x1001)
        return BluetoothEndpoint(args.proto, opts), (args.bdaddr, port), False
    if what == "broadcast":
        from sniffer.gen.traffic.broadcast import BroadcastEndpoint

        ep = BroadcastEndpoint(args.interface, opts, args.to)
        return ep, (ep.to, args.port), args.self_peer
    raise UsageError(f"unknown generator {what!r}")


def _settings(args: argparse.Namespace) -> Any:
    from sniffer.errors import UsageError
    from sniffer.gen.core.client import BLAST, BULK, CONNS, ECHO, RunSettings

    what = args.gen_what
    if what in ("tcp-bulk",) or getattr(args, "bulk", False):
        mode = BULK
    elif what == "tcp-conns":
        mode = CONNS
    elif what == "udp-blast" or getattr(args, "blast", False):
        mode = BLAST
    else:
        mode = ECHO
    rs = RunSettings(mode=mode, style=args.style)
    if args.flow is not None:
        rs.flow_id = args.flow & 0xFFFFFFFF
    rs.interval = args.interval
    rs.timeout = args.timeout
    rs.pps = getattr(args, "pps", None)
    if rs.pps is not None and rs.pps <= 0:
        raise UsageError("--pps must be positive")
    if mode == BULK:
        rs.total_bytes = args.bytes
        chunk = args.chunk or (64 << 10 if getattr(args, "type", "") == "seqpacket" else 1 << 20)
        rs.size = max(chunk, 28)
        rs.duration = args.duration or 30.0
    else:
        if args.size < 28:
            raise UsageError(f"--size {args.size} is too small: the tag alone takes 28 bytes")
        rs.size = args.size
    if mode == ECHO:
        rs.count = args.count if args.count is not None else 10
        rs.duration = args.duration or 30.0
    elif mode == BLAST:
        rs.count = args.count if args.count is not None else 100_000
        rs.duration = args.duration or 10.0
    elif mode == CONNS:
        rs.conns = args.conns
        rs.parallel = max(1, args.parallel)
        rs.duration = args.duration or 30.0
        rs.timeout = max(rs.timeout, 3.0)
    if rs.count is not None and rs.count < 0:
        raise UsageError("--count must not be negative")
    return rs


def _emit(obj: Any, as_json: bool, text: str) -> None:
    import json

    if as_json:
        print(json.dumps(obj))
    else:
        print(text)
    sys.stdout.flush()


def _run_client(args: argparse.Namespace) -> int:
    from sniffer.errors import NetworkError
    from sniffer.gen.core.client import BLAST, BULK, ECHO
    from sniffer.gen.traffic.run import run_client, self_peer

    rs = _settings(args)
    ep, addr, start_peer = _endpoint(args, server=False)
    if args.gen_what == "broadcast" and not start_peer:
        print(f"broadcasting on {args.interface} to {ep.describe(addr)}", file=sys.stderr)
    if start_peer:
        peer_mode = "sink" if rs.mode in (BULK, BLAST) else "echo"
        peer_addr = None if args.gen_what == "broadcast" else addr
        with self_peer(ep, args.peer_style or rs.style, peer_mode, rs.duration + 30, peer_addr) as peer:
            target = peer.address if addr is None or args.gen_what == "broadcast" else addr
            rep = run_client(ep, rs, target)
            _note_socket_file(rep, target)
            rep.server = peer.stats(grace=0.3 if rs.mode == BLAST else 0.0)
            if rep.server is not None:
                rep.server = {"self_started": True, "pid": peer.pid, **rep.server}
                if rs.mode == BLAST:
                    rep.received = int(rep.server.get("messages", 0))
                    rep.bytes_received = int(rep.server.get("bytes_received", 0))
                elif rs.mode == BULK:
                    rep.received = int(rep.server.get("messages", 0))
                    rep.bytes_received = int(rep.server.get("bytes_received", 0))
    else:
        rep = run_client(ep, rs, addr)
        _note_socket_file(rep, addr)
    _emit(rep.to_dict(), args.json, rep.to_text())
    if rs.mode == ECHO and rep.sent and not rep.echoed:
        raise NetworkError(
            f"no echo came back from {rep.peer} ({rep.sent} sent): is an echo server running there?"
        )
    return 0


def _note_socket_file(rep: Any, addr: Any) -> None:
    """AF_UNIX on a path: show the socket file's type, permissions and owner (what connect checks)."""
    if rep.family == "unix" and isinstance(addr, str) and addr and not addr.startswith("\0"):
        from sniffer.gen.traffic.unix import file_info

        rep.notes.append(f"socket file {addr}: {file_info(addr)}")


def _run_server(args: argparse.Namespace) -> int:
    import signal

    from sniffer.gen.traffic.run import deadline_stop, open_server, serve

    ep, addr, _ = _endpoint(args, server=True)
    stopped = {"flag": False}

    def on_term(signum: int, frame: Any) -> None:
        stopped["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    duration = args.duration if args.duration is not None else 300.0
    sock = open_server(ep, addr)
    where = ep.describe(ep.peer_address(sock))
    extra = ""
    if args.gen_what == "unix-server" and isinstance(addr, str) and not addr.startswith("\0"):
        from sniffer.gen.traffic.unix import file_info

        extra = f" ({file_info(addr)})"
    group = getattr(ep, "group", None)
    if group:  # the socket joined it when it opened (udp-echo-server/udp-server --group G -i IFACE)
        extra += f", joined group {group} on {ep.iface}"
    print(
        f"{args.gen_what}: {args.mode} on {where}{extra}, style {args.style}, for at most {duration:g} s"
        + (f" or {args.count} {'connections' if ep.connected else 'messages'}" if args.count else ""),
        file=sys.stderr,
        flush=True,
    )
    try:
        stats = serve(
            ep,
            sock,
            args.style,
            args.mode,
            deadline_stop(duration, lambda: stopped["flag"]),
            args.count,
            log=lambda line: print(f"{args.gen_what}: {line}", file=sys.stderr, flush=True),
        )
    except KeyboardInterrupt:
        stats = {"interrupted": True}
    finally:
        sock.close()
        ep.cleanup(addr)
    stats = {"server": args.gen_what, "address": where, **stats}
    text = " ".join(f"{k}={v}" for k, v in stats.items() if not k.startswith("options"))
    if "options" in stats:
        from sniffer.gen.core.report import side_by_side

        text += "\n  options " + side_by_side(stats["options"], stats.get("options_asked", {}))
    _emit(stats, args.json, text)
    return 0


def _run_icmp(args: argparse.Namespace) -> int:
    import random

    from sniffer.errors import NetworkError
    from sniffer.gen.ping.icmpgen import run_icmp
    from sniffer.gen.traffic.ipaddr import LOOPBACK

    rep = run_icmp(
        args.to or LOOPBACK[args.family],
        args.family,
        count=args.count if args.count is not None else 10,
        interval=args.interval,
        size=args.size,
        timeout=args.timeout,
        duration=args.duration or 30.0,
        flow_id=args.flow if args.flow is not None else random.getrandbits(32),
        kind=args.socket,
        ttl=args.ttl,
    )
    _emit(rep.to_dict(), args.json, rep.to_text())
    if rep.sent and not rep.echoed:
        raise NetworkError(f"no ICMP echo reply from {rep.peer} ({rep.sent} sent)")
    return 0


def _run_hci(args: argparse.Namespace) -> int:
    from sniffer.errors import UsageError
    from sniffer.gen.traffic.bluetooth import check_available, describe_hci, hci_events

    if args.count < 1 or not args.duration > 0:
        raise UsageError("bluetooth-hci: -c must be >= 1 and -d > 0")
    check_available()  # one line when AF_BLUETOOTH is not there
    n = 0
    for pkt in hci_events(args.dev, args.count, args.duration):
        n += 1
        print(describe_hci(pkt), flush=True)
    print(f"{n} HCI events from hci{args.dev}", file=sys.stderr)
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    import json

    from sniffer.capture.pcapfile import open_capture
    from sniffer.gen.core.verify import scan

    with open_capture(args.file) as reader:
        flows = scan(reader)
    rows = [f.as_dict() for fid, f in sorted(flows.items()) if args.flow is None or fid == args.flow]
    # like diff/cmp: 0 when every flow is complete, 1 when packets are missing or no flow was found
    rc = 0 if rows and not any(r["missing_count"] for r in rows) else 1
    if args.json:
        print(json.dumps({"flows": rows}))
        return rc
    if not rows:
        print("no generated (tagged) packets in this capture")
    for r in rows:
        exp = r["expected"] if r["expected"] is not None else "?"
        miss = f"missing {r['missing_count']}" + (f" {r['missing'][:10]}" if r["missing_count"] else "")
        print(
            f"flow {r['flow_id']:#010x}: {r['packets']} packets ({r['echo_packets']} echo-flagged), "
            f"{r['distinct_seqs']}/{exp} sequence numbers, {miss}, over {r['duration_s']} s"
        )
    return rc
