"""Every zh-TW text the bot shows has its English translation."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

from bot.chat.base import MEMBER_MENU_ACTIONS, MENU_ACTIONS
from bot.i18n import TRANSLATIONS_DIR, gettext, language_for

ROOT = Path(__file__).resolve().parents[2]


def _translatable_literals() -> set[str]:
    found: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"_", "gettext"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found | {label for _, label in (*MENU_ACTIONS, *MEMBER_MENU_ACTIONS)}


def test_every_text_in_the_code_has_an_english_translation():
    with (TRANSLATIONS_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po)
    translated = {message.id for message in catalogue if message.id and message.string}

    missing = _translatable_literals() - translated

    assert not missing, f"add English for: {sorted(missing)}"


def test_placeholders_are_filled_in_both_languages():
    assert gettext("{name}，歡迎回來！很高興再見到你。", "zh-TW", name="阿明") == "阿明，歡迎回來！很高興再見到你。"
    assert (
        gettext("{name}，歡迎回來！很高興再見到你。", "en", name="Amy") == "Welcome back, Amy! Good to see you again."
    )


def test_chinese_variants_get_zh_tw_and_other_languages_english():
    assert [language_for(code) for code in ("zh-TW", "zh-Hant", "zh", None, "en", "ja")] == [
        "zh-TW",
        "zh-TW",
        "zh-TW",
        "zh-TW",
        "en",
        "en",
    ]
