"""`mcast watch`: live join/leave/query timeline from the wire (IGMP/MLD) merged with the kernel's table."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sniffer.capture.live import LiveCapture
from sniffer.gen.mcast.proc import read_memberships
from sniffer.model.multicast import GroupState, MembershipView, TimelineEvent

#: capture filter: IGMP, ICMPv6 (MLD, directly or after a hop-by-hop header), UDP to multicast groups
WATCH_BPF = (
    "igmp or icmp6 or (ip6 and ip6[6] == 0 and ip6[40] == 58) or (udp and dst net 224.0.0.0/4)"
    " or (ip6 and udp and dst net ff00::/8)"
)


def watch(
    iface: str | None = None,
    ns: str | None = None,
    duration: float | None = None,
    stop: threading.Event | None = None,
    on_event: Callable[[GroupState, TimelineEvent], None] | None = None,
    kernel: bool = True,
    poll_s: float = 0.25,
) -> MembershipView:
    """Capture on ``iface`` ("any" if None: passive, nothing is sent) and poll the kernel's table every
    ``poll_s`` until ``duration`` or ``stop``; every new timeline event goes to ``on_event``."""
    view = MembershipView(listener=on_event)
    view.first_kernel_event = "kernel-present"  # joined before the watch began
    stop = stop or threading.Event()
    deadline = None if duration is None else time.monotonic() + duration
    next_poll = time.monotonic() + poll_s
    with LiveCapture(iface or "any", bpf=WATCH_BPF, netns=ns) as cap:
        if kernel:  # after the capture is open: the first events printed mean we are watching
            view.update_kernel(
                read_memberships(None if iface in (None, "any") else iface, ns), time.time_ns()
            )
        while not stop.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            batch = cap.get_batch(timeout=0.1)
            if batch is None:
                break
            for frame in batch:
                view.observe_frame(frame)
            if kernel and time.monotonic() >= next_poll:
                view.update_kernel(
                    read_memberships(None if iface in (None, "any") else iface, ns), time.time_ns()
                )
                next_poll = time.monotonic() + poll_s
        cap.stop()
        while (batch := cap.get_batch(timeout=0)) is not None and batch:
            for frame in batch:
                view.observe_frame(frame)
    return view
