"""Text people see: written in zh-TW (the source language) with English translations in a gettext catalogue.

The catalogue is `bot/translations/en/LC_MESSAGES/messages.po`, read with Babel at first use, so a translator edits
one .po file and no compile step is needed.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LANGUAGE = "zh-TW"
SUPPORTED = ("zh-TW", "en")


def language_for(line_language: str | None) -> str:
    """LINE reports languages like "zh-TW", "zh-Hant", "en", "ja": Chinese gets zh-TW, others English."""
    if not line_language or line_language.lower().startswith("zh"):
        return DEFAULT_LANGUAGE
    return "en"


@cache
def _catalogue(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    po_path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """Translate a zh-TW message into `language` and fill its {placeholders}."""
    text = _catalogue(language if language in SUPPORTED else "en").gettext(message)
    return text.format(**params) if params else text


_ = gettext
