"""Follow stream screen: both directions of the selected packet's TCP/UDP stream, client and server coloured."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from sniffer.model.store import PacketStore
from sniffer.ui.panels.common import PanelScreen

CLIENT_STYLE = "#ff8f8f on #3a1414"  # node 0 (sent the first packet), Wireshark's red
SERVER_STYLE = "#9fb8ff on #141d3a"  # node 1, Wireshark's blue
MAX_SHOWN = 512 * 1024  # bytes rendered; the rest is summarised


def stream_of(store: PacketStore, index: int) -> tuple[str, int] | None:
    """("tcp"|"udp", stream number) of packet ``index``, numbered like Wireshark's tcp.stream/udp.stream."""
    from sniffer.model.flows import FlowIndex

    flows = FlowIndex(keep_numbers=False)
    hit = None
    for i in range(index + 1):
        hit = flows.add(i + 1, store.frame(i))
    return None if hit is None else (hit[0].proto, hit[0].index)


def follow_stream(store: PacketStore, proto: str, index: int) -> Any:
    """model.flows.follow over every packet of the store (a Followed, or None)."""
    from sniffer.model.flows import follow

    return follow(store.frames(range(store.count)), proto, index)


def _endpoint(ep: tuple[str, int]) -> str:
    addr, port = ep
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def ascii_text(data: bytes) -> str:
    """Printable ASCII, newlines kept, everything else '.', as tshark's follow ascii and Wireshark show it."""
    return "".join(chr(b) if 32 <= b < 127 or b in (9, 10, 13) else "." for b in data).replace("\r", "")


def hex_lines(data: bytes, offset: int) -> list[str]:
    out = []
    for i in range(0, len(data), 16):
        row = data[i : i + 16]
        hx = " ".join(f"{b:02x}" for b in row)
        hx = hx[:23] + " " + hx[23:] if len(row) > 8 else hx
        asc = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        out.append(f"{offset + i:08X}  {hx:<48}  {asc}")
    return out


def render_followed(
    f: Any, mode: str = "ascii", limit: int = MAX_SHOWN, direction: int | None = None
) -> Text:
    """The whole conversation as Rich text: each chunk in its direction's colour (hex mode indents node 1);
    ``direction`` 0 or 1: only what that node sent."""
    text = Text()
    shown = 0
    offsets = [0, 0]
    for d, data in f.chunks:
        if direction is not None and d != direction:
            continue
        if shown >= limit:
            rest = sum(len(c) for _, c in f.chunks) - shown
            text.append(f"\n… {rest} more bytes not shown\n", style="italic")
            break
        part = data[: limit - shown]
        shown += len(part)
        style = CLIENT_STYLE if d == 0 else SERVER_STYLE
        if mode == "hex":
            indent = "    " if d == 1 else ""
            for line in hex_lines(part, offsets[d]):
                text.append(indent + line, style=style)
                text.append("\n")
            offsets[d] += len(data)
        else:
            body = ascii_text(part)
            text.append(body, style=style)
            if not body.endswith("\n"):
                text.append("\n")
    return text


class FollowStreamScreen(PanelScreen):
    """Follow TCP/UDP stream: the reassembled payload of both directions, client red, server blue."""

    TITLE_TEXT = "Follow stream"
    BINDINGS = [
        Binding("a", "mode('ascii')", "ASCII"),
        Binding("h", "mode('hex')", "Hex"),
        Binding("n", "stream(1)", "Next stream"),
        Binding("p", "stream(-1)", "Previous stream"),
        Binding("d", "direction", "Both / A→B / B→A"),
        Binding("slash", "search", "Find"),
        Binding("w", "save", "Save"),
    ]
    DEFAULT_CSS = """
    FollowStreamScreen #follow-head { height: auto; padding: 0 1; }
    FollowStreamScreen VerticalScroll { height: 1fr; border: round $accent; }
    """

    def __init__(
        self, index: int | None = None, stream: tuple[str, int] | None = None, mode: str = "ascii"
    ) -> None:
        """Args:
        index: store index of a packet of the stream (default: the packet selected in the list).
        stream: ("tcp"|"udp", number) to show directly instead.
        """
        super().__init__()
        self.index = index
        self.stream = stream
        self.mode = mode
        self.followed: Any = None
        self.error = ""
        self.direction: int | None = None  # None: both; 0: what A sent; 1: what B sent
        self.last_find = ("", -1)  # (text, line of the last hit)

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield Static("", id="follow-head")
        with VerticalScroll():
            yield Static("", id="follow-body")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        if self.stream is None and self.index is None:
            plist = getattr(self.app, "plist", None)
            self.index = plist.selected_index if plist is not None else -1
        self.set_status("Reassembling…")
        self._load(self.index, self.stream)

    @work(thread=True, exclusive=True, group="follow")
    def _load(self, index: int | None, stream: tuple[str, int] | None) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        if stream is None:
            if index is None or index < 0:
                self.app.call_from_thread(self._fail, "no packet selected")
                return
            stream = stream_of(store, index)
            if stream is None:
                self.app.call_from_thread(
                    self._fail, f"packet {index + 1} is not TCP or UDP: nothing to follow"
                )
                return
        f = follow_stream(store, *stream)
        if f is None:
            self.app.call_from_thread(self._fail, f"there is no {stream[0]} stream {stream[1]}")
            return
        self.app.call_from_thread(self._show, stream, f)

    def _fail(self, msg: str) -> None:
        self.error = msg
        self.query_one("#follow-body", Static).update("")
        self.set_status(msg)
        self.notify(msg, severity="warning")

    def _show(self, stream: tuple[str, int], f: Any) -> None:
        self.stream, self.followed, self.error = stream, f, ""
        self.query_one("#panel-title", Static).update(f"Follow {f.proto.upper()} stream {f.index}")
        sizes = [sum(len(c) for d, c in f.chunks if d == k) for k in (0, 1)]
        head = Text()
        head.append(f" {_endpoint(f.a)} → {_endpoint(f.b)}: {sizes[0]} bytes ", style=CLIENT_STYLE)
        head.append("   ")
        head.append(f" {_endpoint(f.b)} → {_endpoint(f.a)}: {sizes[1]} bytes ", style=SERVER_STYLE)
        if any(f.gaps):
            head.append(f"   missing (not captured): {f.gaps[0]} / {f.gaps[1]} bytes", style="bold yellow")
        self.query_one("#follow-head", Static).update(head)
        self._redraw()

    def _redraw(self) -> None:
        if self.followed is None:
            return
        self.query_one("#follow-body", Static).update(
            render_followed(self.followed, self.mode, direction=self.direction)
        )
        f = self.followed
        way = {None: "both directions", 0: "A→B only", 1: "B→A only"}[self.direction]
        self.set_status(
            f"{f.proto} stream {f.index} · {len(f.chunks)} chunks · {self.mode} · {way} · "
            f"filter: {f.proto}.stream eq {f.index}"
        )

    def body_text(self) -> str:
        """The conversation as shown (plain text), for tests and copying."""
        if self.followed is None:
            return ""
        return render_followed(self.followed, self.mode, direction=self.direction).plain

    def raw_bytes(self) -> bytes:
        """The payload as shown (the chosen direction(s)), bytes as sent."""
        if self.followed is None:
            return b""
        return b"".join(c for d, c in self.followed.chunks if self.direction is None or d == self.direction)

    def action_direction(self) -> None:
        self.direction = {None: 0, 0: 1, 1: None}[self.direction]
        self._redraw()

    def action_search(self) -> None:
        from sniffer.ui.screens import PromptScreen

        self.app.push_screen(
            PromptScreen("Find in the stream (again: the next one)", "", self.last_find[0]), self._find_given
        )

    def _find_given(self, text: str | None) -> None:
        self.find(text)

    def _save_given(self, path: str | None) -> None:
        self.save(path)

    def find(self, text: str | None) -> int | None:
        """Scroll to the next line holding ``text`` (case-insensitive); returns its line, None if absent."""
        if not text:
            return None
        lines = self.body_text().lower().splitlines()
        needle = text.lower()
        start = self.last_find[1] + 1 if self.last_find[0] == text else 0
        order = list(range(start, len(lines))) + list(range(0, start))
        for k in order:
            if needle in lines[k]:
                self.last_find = (text, k)
                self.query_one(VerticalScroll).scroll_to(y=max(0, k - 2), animate=False)
                self.set_status(f"'{text}' at line {k + 1}")
                return k
        self.notify(f"not found: {text}", severity="warning")
        return None

    def action_save(self) -> None:
        from sniffer.ui.screens import PromptScreen

        if self.followed is None:
            return
        f = self.followed
        self.app.push_screen(
            PromptScreen(
                "Save the stream as shown: name.bin / .raw = the bytes as sent; any other name = the text",
                "",
                f"{f.proto}-stream-{f.index}.txt",
            ),
            self._save_given,
        )

    def save(self, path: str | None) -> bool:
        if not path:
            return False
        import os

        full = os.path.expanduser(path.strip())
        data = self.raw_bytes() if full.endswith((".bin", ".raw")) else self.body_text().encode()
        try:
            with open(full, "wb") as out:
                out.write(data)
        except OSError as exc:
            self.notify(f"cannot write {full}: {exc.strerror or exc}", severity="error")
            return False
        self.notify(f"saved {len(data)} bytes to {full}")
        return True

    def action_close(self) -> None:
        """Close, leaving the followed stream as the display filter (as Wireshark does)."""
        app: Any = self.app
        f = self.followed
        self.dismiss(None)
        if f is not None and hasattr(app, "apply_filter"):
            text = f"{f.proto}.stream eq {f.index}"
            if app.apply_filter(text):
                app.filter_input.value = text

    def action_mode(self, mode: str) -> None:
        self.mode = mode
        self._redraw()

    def action_stream(self, step: int) -> None:
        if self.stream is None:
            return
        proto, n = self.stream
        if n + step < 0:
            return
        self.set_status("Reassembling…")
        self._load(None, (proto, n + step))
