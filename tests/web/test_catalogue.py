"""The dashboard's catalogue (``static/i18n/<section>.json``): whole in every language, no key twice, every key used.

Fast and without a browser: each section holds the same keys in English, Spanish and
Korean, no key sits in two sections, no string is empty, each string names the same
``{placeholders}`` in every language (over all of a plural's forms), every section the
loader reads exists, and every ``t("key")`` / ``tHtml("key")`` written literally in the
dashboard's modules is a key of the catalogue.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "groundshare" / "web" / "static"
LANGUAGES = ("en", "es", "ko")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
KEY_USE = re.compile(r"""\b(?:t|tHtml)\(\s*["']([\w.\-]+)["']""")
DATA_I18N = re.compile(r"""data-i18n(?:-label)?=["']([\w.\-]+)["']""")


def sections() -> dict[str, dict[str, dict[str, Any]]]:
    paths = sorted((STATIC / "i18n").glob("*.json"))
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in paths}


def forms(entry: Any) -> list[str]:
    """The strings of an entry: itself, or each form of a plural ({"one": ..., "other": ...})."""
    return list(entry.values()) if isinstance(entry, dict) else [entry]


def test_the_loader_reads_every_section_and_only_those() -> None:
    source = (STATIC / "js" / "i18n.js").read_text(encoding="utf-8")
    listed = re.search(r"export const SECTIONS = \[([^\]]*)\]", source)
    assert listed, "i18n.js lists its sections in SECTIONS"
    assert sorted(re.findall(r'"(\w+)"', listed.group(1))) == sorted(sections())


@pytest.mark.parametrize("name", sorted(sections()))
def test_a_section_has_the_same_keys_in_every_language(name: str) -> None:
    section = sections()[name]
    assert sorted(section) == sorted(LANGUAGES), f"{name}.json holds {sorted(section)}"
    keys = {lang: set(section[lang]) for lang in LANGUAGES}
    for lang in LANGUAGES[1:]:
        assert keys[lang] == keys["en"], (f"{name}.json: missing in {lang}: {sorted(keys['en'] - keys[lang])}; "
                                          f"only in {lang}: {sorted(keys[lang] - keys['en'])}")


@pytest.mark.parametrize("name", sorted(sections()))
def test_no_string_is_empty_and_placeholders_agree(name: str) -> None:
    section = sections()[name]
    problems = []
    for key, english in section["en"].items():
        wanted = {p for text in forms(english) for p in PLACEHOLDER.findall(text)}
        for lang in LANGUAGES:
            entry = section[lang].get(key)
            if entry is None:
                continue  # the test above says so
            texts = forms(entry)
            if isinstance(entry, dict) and "other" not in entry:
                problems.append(f"{lang} {key}: a plural without its 'other' form")
            if any(not isinstance(text, str) or not text.strip() for text in texts):
                problems.append(f"{lang} {key}: empty")
                continue
            found = {p for text in texts for p in PLACEHOLDER.findall(text)}
            if found != wanted:
                problems.append(f"{lang} {key}: placeholders {sorted(found)}, English has {sorted(wanted)}")
    assert problems == []


def test_no_key_is_in_two_sections() -> None:
    owner: dict[str, str] = {}
    twice = []
    for name, section in sections().items():
        for key in section["en"]:
            if key in owner:
                twice.append(f"{key}: {owner[key]}.json and {name}.json")
            owner[key] = name
    assert twice == []


def test_every_key_the_dashboard_names_is_in_the_catalogue() -> None:
    known = {key for section in sections().values() for key in section["en"]}
    used: dict[str, set[str]] = {}
    for path in sorted((STATIC / "js").glob("*.js")):
        for key in KEY_USE.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, set()).add(path.name)
    for key in DATA_I18N.findall((STATIC / "index.html").read_text(encoding="utf-8")):
        used.setdefault(key, set()).add("index.html")
    assert used, "the modules name their strings with t(\"key\")"
    missing = {key: sorted(files) for key, files in used.items() if key not in known}
    assert missing == {}
