"""The I/O styles a generator run can use: blocking, non-blocking with select / poll / epoll, asyncio."""

from __future__ import annotations

import selectors

from sniffer.errors import UsageError

BLOCKING = "blocking"
SELECT = "select"
POLL = "poll"
EPOLL = "epoll"
ASYNCIO = "asyncio"

STYLES = (BLOCKING, SELECT, POLL, EPOLL, ASYNCIO)

#: the selectors class behind each non-blocking style (the guide's select/poll/epoll examples)
SELECTORS: dict[str, type[selectors.BaseSelector]] = {
    SELECT: selectors.SelectSelector,
    POLL: selectors.PollSelector,
    EPOLL: selectors.EpollSelector,
}


def check_style(style: str) -> str:
    if style not in STYLES:
        raise UsageError(f"unknown I/O style {style!r}: choose one of {', '.join(STYLES)}")
    return style


def make_selector(style: str) -> selectors.BaseSelector:
    """A fresh selector for a non-blocking style."""
    return SELECTORS[style]()
