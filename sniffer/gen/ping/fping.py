"""fping's modes on top of the ping engine: alive checks with retries, -c / -C per-probe results,
target ranges (-g), and fping's output and exit status. Formatting is pure (strings in, strings out)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from sniffer.errors import UsageError
from sniffer.gen.ping.engine import PingOptions, PingSession, ProbeError, ProbeSent, ProbeTimeout, Reply

MAX_GENERATED = 4096  # -g never expands to more targets than this (a typo like /8 is refused)


def generate(spec: list[str]) -> list[str]:
    """fping -g: ``["10.0.0.0/30"]`` (network and broadcast left out, as fping) or ``[start, end]``."""
    try:
        if len(spec) == 1:
            net = ipaddress.ip_network(spec[0], strict=False)
            hosts = list(net.hosts()) if net.num_addresses <= MAX_GENERATED + 2 else None
            if hosts is None:
                raise UsageError(f"-g {spec[0]}: {net.num_addresses} addresses, more than {MAX_GENERATED}")
            return [str(h) for h in hosts]
        if len(spec) == 2:
            lo, hi = ipaddress.ip_address(spec[0]), ipaddress.ip_address(spec[1])
            if lo.version != hi.version or int(hi) < int(lo):
                raise UsageError(f"-g {spec[0]} {spec[1]}: the end must follow the start, same family")
            n = int(hi) - int(lo) + 1
            if n > MAX_GENERATED:
                raise UsageError(f"-g {spec[0]} {spec[1]}: {n} addresses, more than {MAX_GENERATED}")
            return [str(ipaddress.ip_address(int(lo) + i)) for i in range(n)]
    except ValueError as exc:
        raise UsageError(f"-g: {exc}") from None
    raise UsageError("-g takes a CIDR network (10.0.0.0/29) or a start and an end address")


@dataclass
class Result:
    """One target's outcome: fping's counters plus each probe's rtt (ms) or None when lost."""

    name: str
    rtts: list[float | None] = field(default_factory=list)
    sent: int = 0
    received: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.received > 0

    @property
    def loss_pct(self) -> int:
        return (self.sent - self.received) * 100 // self.sent if self.sent else 0


def fmt(ms: float) -> str:
    return f"{ms:.3f}"


def probe_line(name: str, width: int, index: int, nbytes: int, rtt_ms: float, r: Result) -> str:
    got = [x for x in r.rtts if x is not None]
    avg = sum(got) / len(got) if got else 0.0
    return (
        f"{name:<{width}} : [{index}], {nbytes} bytes, {fmt(rtt_ms)} ms ({fmt(avg)} avg, {r.loss_pct}% loss)"
    )


def timeout_line(name: str, width: int, index: int, r: Result) -> str:
    got = [x for x in r.rtts if x is not None]
    avg = fmt(sum(got) / len(got)) if got else "NaN"
    return f"{name:<{width}} : [{index}], timed out ({avg} avg, {r.loss_pct}% loss)"


def summary_line(r: Result, width: int) -> str:
    line = f"{r.name:<{width}} : xmt/rcv/%loss = {r.sent}/{r.received}/{r.loss_pct}%"
    got = [x for x in r.rtts if x is not None]
    if got:
        line += f", min/avg/max = {fmt(min(got))}/{fmt(sum(got) / len(got))}/{fmt(max(got))}"
    return line


def matrix_line(r: Result, width: int) -> str:
    return f"{r.name:<{width}} :" + "".join(f" {fmt(x)}" if x is not None else " -" for x in r.rtts)


def stats_block(results: list[Result], elapsed_s: float, unknown: int) -> str:
    """fping -s: the cumulative statistics on stderr at the end."""
    got = [x for r in results for x in r.rtts if x is not None]
    sent = sum(r.sent for r in results)
    recv = sum(r.received for r in results)
    errs = sum(len(r.errors) for r in results)
    lines = [
        "",
        f" {len(results) + unknown:7d} targets",
        f" {sum(r.alive for r in results):7d} alive",
        f" {sum(not r.alive for r in results):7d} unreachable",
        f" {unknown:7d} unknown addresses",
        "",
        f" {sent - recv - errs:7d} timeouts (waiting for response)",
        f" {sent:7d} ICMP Echos sent",
        f" {recv:7d} ICMP Echo Replies received",
        f" {errs:7d} other ICMP received",
        "",
    ]
    if got:
        lines += [
            f" {fmt(min(got))} ms (min round trip time)",
            f" {fmt(sum(got) / len(got))} ms (avg round trip time)",
            f" {fmt(max(got))} ms (max round trip time)",
        ]
    lines.append(f" {elapsed_s:12.3f} sec (elapsed real time)")
    return "\n".join(lines) + "\n\n"


def error_line(ev: ProbeError, dst: str) -> str:
    text = ev.text.removeprefix("Destination ")
    return f"ICMP {text} from {ev.src} for ICMP Echo sent to {dst}"


def run_count(
    targets: list[str],
    opts: PingOptions,
    on_reply: Callable[[int, Result, Reply], None],
    on_lost: Callable[[int, Result, int], None],
    on_error: Callable[[int, ProbeError], None],
    stop: Callable[[PingSession], None] | None = None,
) -> tuple[list[Result], float]:
    """-c / -C: ``opts.count`` probes per target, interleaved; callbacks per reply, loss and error."""
    session = PingSession(targets, opts)
    if stop is not None:
        stop(session)
    results = [Result(t) for t in targets]
    first = opts.first_seq

    def on_event(ev: object) -> None:
        if isinstance(ev, ProbeSent):
            r = results[ev.target]
            r.sent += 1
            r.rtts.append(None)
        elif isinstance(ev, Reply) and not ev.dup:
            r = results[ev.target]
            i = (ev.seq - first) & 0xFFFF
            if i < len(r.rtts):
                r.rtts[i] = ev.rtt_ns / 1e6
                r.received += 1
                on_reply(ev.target, r, ev)
        elif isinstance(ev, ProbeError):
            results[ev.target].errors.append(ev.text)
            reported.add((ev.target, (ev.seq - first) & 0xFFFF))
            on_error(ev.target, ev)
        elif isinstance(ev, ProbeTimeout):
            i = (ev.seq - first) & 0xFFFF
            reported.add((ev.target, i))
            on_lost(ev.target, results[ev.target], i)

    reported: set[tuple[int, int]] = set()
    with session:
        session.run(on_event)
    # the probes still unanswered when the run ended (fping reports them as timed out too)
    for ti, r in enumerate(results):
        for i, x in enumerate(r.rtts):
            if x is None and (ti, i) not in reported:
                on_lost(ti, r, i)
    return results, session.elapsed_ms / 1e3


def run_alive(
    targets: list[str], opts: PingOptions, retries: int, backoff: float = 1.5
) -> tuple[list[Result], float, list[tuple[int, ProbeError]]]:
    """Default mode: one probe per target, again (up to ``retries`` times, the timeout growing by
    ``backoff``) for those that did not answer; alive on the first reply."""
    results = [Result(t) for t in targets]
    errors: list[tuple[int, ProbeError]] = []
    pending = list(range(len(targets)))
    timeout = opts.timeout
    elapsed = 0.0
    for attempt in range(retries + 1):
        if not pending:
            break
        o = PingOptions(**{**opts.__dict__, "count": 1, "timeout": timeout, "deadline": None})
        o.first_seq = opts.first_seq + attempt
        with PingSession([targets[i] for i in pending], o) as session:

            def on_event(ev: object, pend: list[int] = pending) -> None:
                if isinstance(ev, ProbeError):
                    errors.append((pend[ev.target], ev))

            session.run(on_event)
            elapsed += session.elapsed_ms / 1e3
            for k, st in enumerate(session.stats):
                r = results[pending[k]]
                r.sent += st.transmitted
                r.received += st.received
                r.rtts.extend(list(st.rtts_ms) or [None])
        pending = [i for i in pending if not results[i].alive]
        timeout *= backoff
    return results, elapsed, errors
