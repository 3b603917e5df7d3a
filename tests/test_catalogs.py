"""The sv, fr, sl, ro, ru catalogs are complete, consistent with the code, and compile."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
LANGUAGES = ["sv", "fr", "sl", "ro", "ru"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def load(language):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages in the code right now, extracted the way `make extract-messages` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "--no-location",
         "-o", str(pot), "."],
        cwd=ROOT, check=True,
    )
    with open(pot, "rb") as f:
        return {m.id for m in read_po(f) if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_in_the_code_is_in_the_catalog(language, extracted):
    catalog_ids = {m.id for m in load(language) if m.id}

    assert extracted - catalog_ids == set(), "run `make update-translations` and translate"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_is_empty_or_fuzzy(language):
    problems = []
    for message in load(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(message.id)
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_messages_have_every_form_the_language_needs(language):
    catalog = load(language)
    for message in catalog:
        if message.pluralizable:
            assert len(message.string) == catalog.num_plurals, message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_use_only_the_placeholders_of_the_original(language):
    for message in load(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        allowed = set(PLACEHOLDER.findall(" ".join(ids)))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) <= allowed, (message.id, string)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_compiles(language, tmp_path):
    catalog = load(language)
    errors = list(catalog.check())

    with open(tmp_path / "messages.mo", "wb") as mo:
        write_mo(mo, catalog)

    assert errors == []
    assert (tmp_path / "messages.mo").stat().st_size > 0
