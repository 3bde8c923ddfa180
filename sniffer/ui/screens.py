"""Modal dialogs: help (every key), go to packet, search, save, yes/no, a small menu."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 72; height: auto; max-height: 90%;
    border: thick $accent; background: $surface; padding: 1 2;
}}
{name} Label.title {{ text-style: bold; margin-bottom: 1; width: 100%; }}
{name} Static.err {{ color: $error; height: auto; }}
{name} RadioSet {{ width: 100%; margin-bottom: 1; }}
"""


class HelpScreen(ModalScreen[None]):
    """Every key the TUI understands."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; height: 90%; border: thick $accent; background: $surface; padding: 0 2;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss_help", "Close help")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        from rich.console import Group
        from rich.table import Table

        # a grid, so that a description too long for a narrow screen wraps in its own column
        table = Table.grid(padding=(0, 2, 0, 0))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for k, d in self.keys:
            table.add_row(k, d)
        title = Text.assemble(("sniffer keys", "bold"), "  (Esc closes)\n")
        with VerticalScroll():
            yield Static(Group(title, table), id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


class PromptScreen(ModalScreen[str | None]):
    """One-line prompt; returns the text or None when cancelled."""

    DEFAULT_CSS = DIALOG_CSS.format(name="PromptScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt")
            yield Static("", classes="err", id="prompt-err")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


SEARCH_MODES = ("string", "hex", "filter")


class SearchScreen(ModalScreen[tuple[str, str] | None]):
    """Search: a string in the packet bytes or Info column, hex bytes, or a display filter (field value)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="SearchScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, mode: str = "string", value: str = "") -> None:
        super().__init__()
        self.mode = mode
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Find packet (Enter searches forward from the selection)", classes="title")
            with RadioSet(id="search-mode"):
                yield RadioButton("String (bytes and Info)", value=self.mode == "string", id="mode-string")
                yield RadioButton("Hex bytes, e.g. de ad be ef", value=self.mode == "hex", id="mode-hex")
                yield RadioButton(
                    "Field value (display filter, e.g. ip.ttl == 64)",
                    value=self.mode == "filter",
                    id="mode-filter",
                )
            yield Input(value=self.value, placeholder="search for…", id="search")
            yield Static("", classes="err", id="search-err")

    def on_mount(self) -> None:
        self.query_one("#search", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        rs = self.query_one(RadioSet)
        idx = rs.pressed_index if rs.pressed_index >= 0 else 0
        self.dismiss((SEARCH_MODES[idx], event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)


SAVE_WHICH = ("all", "displayed", "marked")


class ChoiceSet(RadioSet):
    """A RadioSet where Enter takes the highlighted choice and moves on to the next field."""

    BINDINGS = [Binding("enter", "choose", "Choose", show=False)]

    def action_choose(self) -> None:
        selected = self._selected
        if selected is not None:
            button = self._nodes[selected]
            if isinstance(button, RadioButton) and not button.value:
                button.value = True
        self.screen.focus_next()

    def highlight_pressed(self) -> None:
        """Highlight the pressed choice (a RadioSet highlights its first one when mounted)."""
        if self.pressed_index >= 0:
            self._selected = self.pressed_index


class ConfirmScreen(ModalScreen[bool]):
    """A yes / no question: y or Enter answers yes, n or Esc no."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="title", id="confirm-question")
            yield Static("y / Enter: yes    n / Esc: no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class SaveScreen(ModalScreen[tuple[str, str] | None]):
    """Save all / displayed / marked packets to a pcapng file."""

    DEFAULT_CSS = DIALOG_CSS.format(name="SaveScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, path: str, counts: dict[str, int], which: str = "displayed") -> None:
        super().__init__()
        self.path = path
        self.counts = counts
        self.which = which

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Save packets as pcapng (Enter saves)", classes="title")
            with ChoiceSet(id="save-which"):
                for w in SAVE_WHICH:
                    yield RadioButton(
                        f"{w.capitalize()} ({self.counts.get(w, 0)})", value=w == self.which, id=f"save-{w}"
                    )
            yield Input(value=self.path, id="save-path")
            yield Static("", classes="err", id="save-err")

    def on_mount(self) -> None:
        choices = self.query_one(ChoiceSet)
        choices.focus()  # the choice first (Enter takes it and moves to the name; Enter there saves)
        self.call_after_refresh(choices.highlight_pressed)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        rs = self.query_one(RadioSet)
        idx = rs.pressed_index if rs.pressed_index >= 0 else 1
        if not event.value.strip():
            self.query_one("#save-err", Static).update("give a file name")
            return
        self.dismiss((SAVE_WHICH[idx], event.value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class MenuScreen(ModalScreen[str | None]):
    """A small menu: ↑↓ and Enter, or an entry's key; returns the chosen action (None: Esc)."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="MenuScreen")
        + """
    MenuScreen OptionList { height: auto; max-height: 20; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, entries: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.entries = entries  # (key, action, label)

    def compose(self) -> ComposeResult:
        from textual.widgets import OptionList
        from textual.widgets.option_list import Option

        with Vertical():
            yield Label(self.title_text, classes="title")
            yield OptionList(*(Option(f"{k}  {label}", id=action) for k, action, label in self.entries))

    def on_key(self, event: events.Key) -> None:
        for k, action, _ in self.entries:
            if event.character == k:
                event.stop()
                self.dismiss(action)
                return

    def on_option_list_option_selected(self, event: Any) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
