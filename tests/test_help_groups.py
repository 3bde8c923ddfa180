"""--help groups commands and options by feature, and the grouping stays true to what exists."""

from __future__ import annotations

import re

from sniffer.cli import COMMANDS_BY_FEATURE, build_parser


def _subcommands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices)  # type: ignore[arg-type]


def test_every_command_is_in_one_feature_group_and_only_real_ones() -> None:
    named: list[str] = []
    for line in COMMANDS_BY_FEATURE.splitlines()[1:]:
        listed = re.sub(r"\([^)]*\)", "", line[23:])  # drop the option notes
        named += [w for w in re.split(r"[ ,|]+", listed) if w and w.islower() and w not in ("file",)]
    commands = _subcommands()
    mcast_subs = {"join", "send", "groups", "watch", "doctor"}
    assert set(named) - mcast_subs <= commands, set(named) - mcast_subs - commands
    assert commands <= set(named), commands - set(named)


def test_ping_and_traceroute_options_are_grouped_by_feature() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for cmd, groups in (
        ("ping", {"-c": "how many", "-s": "on the wire", "-R": "IPv4 options", "-T": "IPv4 options",
                  "-q": "printed", "--max-hops": "--trace", "--type": "ICMP types"}),
        ("traceroute", {"-I": "probe method", "-N": "which hops", "-i": "where", "--json": "printed"}),
    ):  # fmt: skip
        p = sub.choices[cmd]  # type: ignore[index]
        where = {o: g.title for g in p._action_groups for a in g._group_actions for o in a.option_strings}
        for opt, title in groups.items():
            assert title in (where.get(opt) or ""), (cmd, opt, where.get(opt))
