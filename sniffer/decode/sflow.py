"""sFlow (v2, v4, v5; sflow.org) datagram header on UDP 6343: the agent, sequence and sample count.

The samples themselves (flow samples carry a copy of a sampled frame) are left as data."""

from __future__ import annotations

from sniffer.decode.core import UDP_PORTS, Ctx, F, Header, data_layer

SFLOW_PORT = 6343

SFLOW_TOP = Header(
    (
        F("sflow_245.version", "Datagram version", 0, 4),
        F("sflow_245.agenttype", "Agent address type", 4, 4, names={1: "IPv4", 2: "IPv6"}),
    )
)
SFLOW_AGENT4 = Header((F("sflow_245.agent", "Agent address", 0, 4, "ip4"),))
SFLOW_AGENT6 = Header((F("sflow_245.agent.v6", "Agent address", 0, 16, "ip6"),))
SFLOW_V5_TAIL = Header(
    (
        F("sflow_245.sub_agent_id", "Sub-agent ID", 0, 4),
        F("sflow_245.sequence_number", "Sequence number", 4, 4),
        F("sflow_245.sysuptime", "SysUptime", 8, 4),
        F("sflow_245.numsamples", "NumSamples", 12, 4),
    )
)
SFLOW_V24_TAIL = Header(
    (
        F("sflow_245.sequence_number", "Sequence number", 0, 4),
        F("sflow_245.sysuptime", "SysUptime", 4, 4),
        F("sflow_245.numsamples", "NumSamples", 8, 4),
    )
)


@UDP_PORTS.register(SFLOW_PORT)
def dissect_sflow(ctx: Ctx, off: int, end: int) -> None:
    if not ctx.has(off, 8, end):
        data_layer(ctx, off, end)
        return
    ver = int.from_bytes(ctx.data[off : off + 4], "big")
    if ver not in (2, 4, 5):
        data_layer(ctx, off, end)
        return
    lim = min(end, len(ctx.data))
    ctx.push("sflow", "InMon sFlow", off, lim - off)
    ctx.proto = "sFlow"
    top = SFLOW_TOP.read(ctx, off, end)
    if top is None:
        return
    o = off + 8
    if top["sflow_245.agenttype"] == 2:
        agent_vals = SFLOW_AGENT6.read(ctx, o, end)
        key, size = "sflow_245.agent.v6", 16
    else:
        agent_vals = SFLOW_AGENT4.read(ctx, o, end)
        key, size = "sflow_245.agent", 4
    if agent_vals is None:
        return
    agent = agent_vals[key]
    o += size
    if ver == 5:
        tail = SFLOW_V5_TAIL.read(ctx, o, end)
        if tail is None:
            return
        ctx.info = (
            f"V5, agent {agent}, sub-agent ID {tail['sflow_245.sub_agent_id']}, "
            f"seq {tail['sflow_245.sequence_number']}, {tail['sflow_245.numsamples']} samples"
        )
    else:
        tail = SFLOW_V24_TAIL.read(ctx, o, end)
        if tail is None:
            return
        ctx.info = (
            f"V{ver}, agent {agent}, seq {tail['sflow_245.sequence_number']}, "
            f"{tail['sflow_245.numsamples']} samples"
        )
