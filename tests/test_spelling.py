"""Dutch spelling: every word of the sources is known to hunspell (nl_BE) or the word list."""

import pytest

from trotter import spelling

pytestmark = pytest.mark.skipif(not spelling.available(),
                                reason="hunspell-nl not installed (make test installs it)")


def test_no_unknown_words():
    assert spelling.unknown() == []


def test_an_unknown_word_is_found_where_it_stands(tmp_path):
    text = tmp_path / "a.md"
    text.write_text("---\nintro: Een inleiding.\n---\n# Titel {#t}\n\nEen zin met kwispeldoodle.\n")
    assert spelling.findings([text]) == [(text, 6, "kwispeldoodle")]
