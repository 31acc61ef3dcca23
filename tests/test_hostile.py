"""Hostile and random input: only clear user errors, never an internal error, bounded time."""

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PROJECT, ROOT
from trotter.errors import BuildError
from trotter.html import render_html
from trotter.model import build_document
from trotter.sources import load_config

from test_errors import GOOD_YML

YML = GOOD_YML.replace("title: Proef", "title: {title}")   # one minimal publication.yml
MARKUP = st.lists(st.sampled_from(list(
    "ab {}[]()#:!*_-|>^`\\\n.\"'<>/=&;é“") + ["::: wat\n", ":::\n", "{{", "}}", "[[#", "]]",
                                            "!include a.md\n", "[^1]", "---\n", "# T {#t}\n",
                                            "<script>", "[x](javascript:alert(1))"]),
    max_size=200).map("".join)


@pytest.fixture(scope="module")
def folder():
    path = Path(tempfile.mkdtemp(prefix="tmp-hostile-", dir=ROOT / "tests"))
    (path / "publication.yml").write_text(YML.format(title="Proef"), encoding="utf-8")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def build(folder: Path):
    doc = build_document(load_config(PROJECT, folder / "publication.yml"))
    return render_html(doc, "screen", 0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=MARKUP)
def test_random_markdown_gives_html_or_a_user_error(folder, body):
    (folder / "a.md").write_text("# Titel {#titel}\n\n" + body, encoding="utf-8")
    try:
        html = build(folder)
    except BuildError as exc:
        assert exc.path is not None and str(exc)
        return
    assert "<script" not in html.lower()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(yml=st.lists(st.sampled_from(list("idkn: -[]{}'\"\n\t#&*!|>%@`,?") + [
    "id: x\n", "kind: book\n", "sources:\n", "  - a.md\n", "trim: 1mm 2mm\n", "pages: {a: 1}\n",
    "template: book.html.j2\n", "stylesheet: book.css\n", "language: nl\n", "title: T\n"]),
    max_size=60).map("".join))
def test_random_publication_yml_gives_a_user_error(folder, yml):
    (folder / "a.md").write_text("# Titel {#titel}\n", encoding="utf-8")
    (folder / "publication.yml").write_text(yml, encoding="utf-8")
    try:
        load_config(PROJECT, folder / "publication.yml")
    except BuildError as exc:
        assert exc.path is not None
    finally:
        (folder / "publication.yml").write_text(YML.format(title="Proef"), encoding="utf-8")


@pytest.mark.parametrize("name,body", [
    ("5 MB of Markdown", ("Een {{term}} met *nadruk* en tekst. " * 20 + "\n\n::: wat\nx\n:::\n\n")
     * 6000),
    ("10,000 nested list levels", "- " * 10000 + "x\n"),
    ("10,000 nested quotes", "> " * 10000 + "x\n"),
    ("10,000 unclosed boxes", "::: wat\n" * 10000),
])
def test_huge_or_deep_input_is_bounded(folder, name, body):
    (folder / "a.md").write_text("# Titel {#titel}\n\n" + body, encoding="utf-8")
    start = time.perf_counter()
    try:
        build(folder)
    except BuildError:
        pass
    assert time.perf_counter() - start < 60, name


def test_metadata_is_escaped_in_html(folder):
    (folder / "publication.yml").write_text(
        YML.format(title='"<script>alert(1)</script> & co"'), encoding="utf-8")
    (folder / "a.md").write_text("# Titel {#titel}\n", encoding="utf-8")
    html = build(folder)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    (folder / "publication.yml").write_text(YML.format(title="Proef"), encoding="utf-8")
