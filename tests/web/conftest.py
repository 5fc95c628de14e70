"""Page tests: the translations are compiled first (as ``./dev`` does), so the Chinese pages are
checked even when pytest runs alone."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "service" / "translations"


def compile_translations() -> None:
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parts[-3])
        fd, tmp = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, po_path.with_suffix(".mo"))  # atomic: parallel workers never read half a file


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    compile_translations()
