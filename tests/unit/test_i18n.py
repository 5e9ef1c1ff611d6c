"""Every zh-TW text the bot shows has its English translation."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

from bot.chat.base import MEMBER_MENU_ACTIONS, MENU_ACTIONS
from bot.i18n import TRANSLATIONS_DIR, gettext, language_for

ROOT = Path(__file__).resolve().parents[2]


TRANSLATING_FUNCTIONS = {"_", "gettext", "t"}
# A template's text goes through t("…") (the back office) the same way.
TEMPLATE_CALL = re.compile(r"""\bt\(\s*(["'])(.+?)\1""")


def _module_constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _translatable_literals() -> set[str]:
    """Every text given to a translating function: a literal, or a module constant named in the call."""
    found: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in TRANSLATING_FUNCTIONS
                and node.args
            ):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
            elif isinstance(first, ast.Name) and first.id in constants:
                found.add(constants[first.id])
    for template in ROOT.glob("bot/templates/**/*.html"):
        found.update(match[1] for match in TEMPLATE_CALL.findall(template.read_text(encoding="utf-8")))
    return found | {label for _, label in (*MENU_ACTIONS, *MEMBER_MENU_ACTIONS)} | _back_office_labels()


def _back_office_labels() -> set[str]:
    from bot.web.backoffice import NAV_PAGES, ROLE_NAMES

    return {label for _, label, _ in NAV_PAGES} | set(ROLE_NAMES.values())


def test_every_text_in_the_code_has_an_english_translation():
    with (TRANSLATIONS_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po)
    translated = {message.id for message in catalogue if message.id and message.string}

    missing = _translatable_literals() - translated

    assert not missing, f"add English for: {sorted(missing)}"


def test_placeholders_are_filled_in_both_languages():
    assert gettext("{name}，歡迎回來！很高興再見到您。", "zh-TW", name="阿明") == "阿明，歡迎回來！很高興再見到您。"
    assert (
        gettext("{name}，歡迎回來！很高興再見到您。", "en", name="Amy") == "Welcome back, Amy! Good to see you again."
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


def test_the_catalogue_holds_each_text_once():
    msgids = re.findall(
        r"^msgid (\".+\")$", (TRANSLATIONS_DIR / "en" / "LC_MESSAGES" / "messages.po").read_text("utf-8"), re.M
    )

    duplicated = sorted({msgid for msgid in msgids if msgids.count(msgid) > 1})

    assert not duplicated, f"entries given twice (the later one wins silently): {duplicated}"


def test_shoppers_and_staff_are_addressed_as_nin_not_ni():
    shown = [text for text in _translatable_literals() if "你" in text.replace("你好", "")]

    assert not shown, f"use 您: {shown}"
