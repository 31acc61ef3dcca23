"""Stage unit tests in the markdown-it-py style: fixture files, Markdown in, HTML out."""

from pathlib import Path

import pytest
from markdown_it.utils import read_fixture_file

from trotter.markup import extract_footnotes, make_parser

FIXTURES = Path(__file__).parent / "fixtures" / "markup.md"


def render(text: str) -> str:
    md = make_parser()
    env = {"id_prefix": "t"}
    tokens = extract_footnotes(md, md.parse(text, env), env)
    return md.renderer.render(tokens, md.options, env)


@pytest.mark.parametrize("line,title,source,expected", read_fixture_file(FIXTURES),
                         ids=[f[1] for f in read_fixture_file(FIXTURES)])
def test_fixture(line, title, source, expected):
    assert render(source).rstrip() == expected.rstrip()
