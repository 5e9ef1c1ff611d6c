"""Loading the engagement YAML (`omo engagement load FILE`) into the database.

The file is composed into PyYAML nodes (so every error names its line), checked, and each top-level section is
handed to its loader, registered in `SECTIONS` below. A loader writes its section's rows so that they say what the
file says, and answers how many rows it changed: loading the same file twice changes nothing the second time.
A section the file leaves out is not touched. Everything runs in the caller's unit of work: an error anywhere
leaves the database as it was.

To add a section: write `load_<section>(session, node, now) -> int` and register it in `SECTIONS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.engagement.checkin_config import load_checkin
from bot.services.engagement.games_config import load_draws, load_scratch_cards
from bot.services.engagement.yaml_nodes import ConfigError, Node, compose, fields, line_of

SectionLoader = Callable[[Session, Node, datetime], object]


def _missions_loader() -> SectionLoader | None:
    """The missions helper's `bot.services.engagement.missions_config.load_missions`, when that module exists."""
    try:
        module = importlib.import_module("bot.services.engagement.missions_config")
    except ModuleNotFoundError as exc:
        if exc.name != "bot.services.engagement.missions_config":
            raise
        return None
    loader: SectionLoader = module.load_missions
    return loader


# Section → its loader, in the order they run (coupon templates and stamp cards are not configured here: sections
# name them by code).
SECTIONS: dict[str, Callable[[], SectionLoader | None]] = {
    "checkin": lambda: load_checkin,
    "draws": lambda: load_draws,
    "scratch_cards": lambda: load_scratch_cards,
    "missions": _missions_loader,
}


@dataclass
class LoadReport:
    """What a load did: rows changed per section (0 everywhere when the file was already loaded)."""

    changed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.changed.values())


def load_config(session: Session, text: str, now: datetime) -> LoadReport:
    """Validate the engagement configuration `text` (YAML) and store it; raises ConfigError (with the line) and
    changes nothing when any part of it is wrong."""
    root = compose(text)
    if root is None:
        raise ConfigError("檔案是空的", None)
    sections = fields(root, "設定檔", allowed=tuple(SECTIONS))
    report = LoadReport()
    for name, node in sections.items():
        loader = SECTIONS[name]()
        if loader is None:
            raise ConfigError(f"「{name}」這個區段目前還不能載入", line_of(node))
        with session.begin_nested():
            changed = loader(session, node, now)
        report.changed[name] = changed if isinstance(changed, int) else 0
    return report
