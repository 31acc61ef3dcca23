"""Dutch spelling: every word of the sources is known to hunspell (nl_BE) or the word list."""

import pytest

from conftest import ROOT
from trotter import spelling

pytestmark = pytest.mark.skipif(not spelling.available(),
                                reason="hunspell-nl not installed (make test installs it)")


def test_no_unknown_words():
    assert spelling.unknown(ROOT) == []


def test_an_unknown_word_is_found_where_it_stands(tmp_path):
    text = tmp_path / "a.md"
    text.write_text("---\nintro: Een inleiding.\n---\n# Titel {#t}\n\nEen zin met kwispeldoodle.\n")
    assert spelling.findings([text], ROOT) == [(text, 6, "kwispeldoodle")]


def test_a_file_that_is_not_utf8_is_left_to_the_model(tmp_path):
    """Not a traceback in `check`: the model reports the bad byte with its line; the other
    files are still checked, and a byte-order mark is not text."""
    broken = tmp_path / "kapot.md"
    broken.write_bytes("# Caf\u00e9 {#c}\n".encode("latin-1"))
    marked = tmp_path / "bom.md"
    marked.write_bytes("\ufeff---\nintro: Een inleiding.\n---\n# T {#t}\n\nEen kwispeldoodle.\n"
                       .encode("utf-8"))
    assert spelling.findings([broken, marked], ROOT) == [(marked, 6, "kwispeldoodle")]
