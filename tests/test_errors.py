"""Every editor mistake gives `path:line: message` and a non-zero exit, never a traceback."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import PROJECT, ROOT
from trotter.errors import BuildError
from trotter.model import build_document
from trotter.sources import load_config

GOOD_YML = """\
id: proef
kind: book
title: Proef
language: nl
trim: 148mm 210mm
template: book.html.j2
stylesheet: book.css
sources:
  - a.md
"""


@pytest.fixture
def pub():
    """A throw-away publication folder inside the repository."""
    folder = Path(tempfile.mkdtemp(prefix="tmp-pub-", dir=ROOT / "tests"))

    def make(yml=GOOD_YML, **files):
        (folder / "publication.yml").write_text(yml, encoding="utf-8")
        files.setdefault("a.md", "# Titel {#titel}\n\nTekst.\n")
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
        return folder

    yield make
    shutil.rmtree(folder, ignore_errors=True)


def error_of(folder: Path) -> BuildError:
    with pytest.raises(BuildError) as info:
        build_document(load_config(PROJECT, folder / "publication.yml"))
    return info.value


def test_good_publication_builds_a_model(pub):
    doc = build_document(load_config(PROJECT, pub() / "publication.yml"))
    assert doc.chapters[0].id == "titel"


def test_a_memoised_publication_yml_is_read_as_a_parse_would(pub, monkeypatch, tmp_path):
    """publication.yml parses are memoised by content: the memo gives what a parse gives,
    lines included, and an edited text is parsed anew (its mistake at its line)."""
    from trotter import sources

    monkeypatch.setattr(sources, "PARSED", tmp_path / "memo.json")
    folder = pub(GOOD_YML + "keywords: [een, twee]\n")
    parsed = load_config(PROJECT, folder / "publication.yml")
    assert (tmp_path / "memo.json").is_file()
    monkeypatch.setattr(sources, "load_yaml", None)          # a second parse would fail
    memo = load_config(PROJECT, folder / "publication.yml")
    assert (memo.data, memo.lines) == (parsed.data, parsed.lines)
    assert memo.lines[("sources", 0)] == parsed.lines[("sources", 0)]
    monkeypatch.undo()
    monkeypatch.setattr(sources, "PARSED", tmp_path / "memo.json")
    (folder / "publication.yml").write_text(GOOD_YML + "trim: 1mm\ntrim: [\n")
    with pytest.raises(BuildError) as info:
        load_config(PROJECT, folder / "publication.yml")
    assert "invalid YAML" in info.value.message and info.value.line >= 10


def test_invalid_yaml_names_the_line(pub):
    err = error_of(pub(GOOD_YML + "keywords: [a, b\n"))
    assert err.path.name == "publication.yml" and err.line in (10, 11)
    assert "invalid YAML" in err.message


def test_unknown_key_suggests_the_right_one(pub):
    err = error_of(pub(GOOD_YML.replace("title:", "titel:")))
    assert err.line == 3
    assert "unknown key `titel`" in err.message and "did you mean `title`" in err.message


def test_missing_required_key(pub):
    err = error_of(pub(GOOD_YML.replace("language: nl\n", "")))
    assert "missing required key `language`" in err.message


def test_listed_source_missing(pub):
    err = error_of(pub(GOOD_YML.replace("a.md", "b.md")))
    assert err.line == 9 and "listed but missing" in err.message


def test_empty_publication(pub):
    err = error_of(pub(GOOD_YML.replace("  - a.md\n", "").replace("sources:", "sources: []")))
    assert "empty publication" in err.message


def test_not_utf8_names_the_byte_offset(pub):
    err = error_of(pub(**{"a.md": "# Titel {#titel}\n\nCaf\xe9".encode("latin-1")}))
    assert err.line == 3 and "byte offset 21" in err.message


def test_front_matter_yaml_error(pub):
    err = error_of(pub(**{"a.md": "---\nintro: a: b\n---\n# Titel {#titel}\n"}))
    assert err.line == 2 and "invalid YAML" in err.message


def test_unknown_box(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n::: aanradr\nx\n:::\n"}))
    assert err.line == 3 and "unknown box `aanradr`" in err.message
    assert "did you mean `aanrader`" in err.message


def test_unclosed_box(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n::: toppen\nx\n"}))
    assert err.line == 3 and "not closed" in err.message


def test_dangling_cross_reference(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\nZie [[#nergens]].\n"}))
    assert err.line == 3 and "unknown anchor `#nergens`" in err.message


def test_duplicate_anchor(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n## A {#x}\n\n## B {#x}\n"}))
    assert err.line == 5 and "duplicate anchor `#x`" in err.message


def test_include_missing(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n!include weg.md\n"}))
    assert err.line == 3 and "file not found" in err.message


def test_include_cycle(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n!include b.md\n", "b.md": "!include a.md\n"}))
    assert "include cycle" in err.message


def test_include_outside_repository(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n!include ../../../../etc/passwd\n"}))
    assert "outside the repository" in err.message


def test_missing_image(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n![kaart](kaart.png)\n"}))
    assert err.line == 3 and "not found" in err.message


def test_image_outside_repository(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n![x](../../../../../etc/hostname)\n"}))
    assert err.line == 3 and "outside the repository" in err.message


def test_file_url_image_never_becomes_an_image(pub):
    doc = build_document(load_config(PROJECT, pub(**{"a.md": "# T {#t}\n\n![x](file:///etc/passwd)\n"})
                                     / "publication.yml"))
    assert "<img" not in doc.chapters[0].html


def test_corrupt_image(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n![x](kapot.png)\n", "kapot.png": b"\x89PNGnope"}))
    assert "corrupt" in err.message


def test_unknown_publication_id_is_a_usage_error():
    run = subprocess.run([sys.executable, str(ROOT / "build.py"), "build", "bestaat-niet"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and "unknown publication bestaat-niet" in run.stderr
    assert "Traceback" not in run.stderr


def test_every_mistake_of_a_publication_at_once(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\n::: onbekend\nx\n:::\n\nZie [[#nergens]].\n\n"
                                  "![x](weg.png)\n"}))
    text = str(err)
    assert "a.md:3: unknown box `onbekend`" in text
    assert "a.md:7: cross-reference to unknown anchor `#nergens`" in text
    assert "a.md:9: image `weg.png` not found" in text


def test_footnotes_get_every_check_the_body_gets(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\nTekst.[^1] Meer.[^2]\n\n"
                                  "[^1]: Zie [[#nergens]].\n[^2]: Een ![beeld](weg.png).\n"}))
    text = str(err)
    assert "a.md:5: cross-reference to unknown anchor `#nergens`" in text
    assert "a.md:6: image `weg.png` not found" in text


def test_image_named_with_a_space_and_an_accent(pub):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
    doc = build_document(load_config(PROJECT, pub(**{"a.md": "# T {#t}\n\n![k](<beelden/café kaart.svg>)\n",
                                            "beelden/café kaart.svg": svg}) / "publication.yml"))
    assert "café kaart.svg" in doc.chapters[0].html


@pytest.mark.parametrize("html,hint", [("<br>", "backslash"), ("<b>vet</b>", "**vet**"),
                                       ("<div align=center>x</div>", "leave it out"),
                                       ('<img src="a.png">', "![beschrijving]")])
def test_raw_html_says_what_to_write_instead(pub, html, hint):
    err = error_of(pub(**{"a.md": f"# T {{#t}}\n\nTekst {html} meer.\n"}))
    assert err.line == 3 and "raw HTML" in err.message and hint in err.message


def test_headings_without_anchor_get_one_from_their_text(pub):
    doc = build_document(load_config(PROJECT, pub(**{
        "a.md": "# Wat is competentiemanagement?\n\n## Één stap\n\n## Één stap\n\n"
                "## Register\n\nZie [[#een-stap-2]] en [[#een-stap]].\n",
        "b.md": "# Tweede {#een-stap-3}\n"}, **{}) / "publication.yml"))
    assert doc.chapters[0].id == "wat-is-competentiemanagement"
    html = str(doc.chapters[0].html)
    assert 'id="een-stap"' in html and 'id="een-stap-2"' in html
    assert 'id="register"' not in html and 'id="register-2"' in html   # reserved: templates
    assert 'href="#een-stap-2"' in html


def test_a_second_level_one_heading_says_what_to_do(pub):
    err = error_of(pub(**{"a.md": "# Een {#een}\n\nTekst.\n\n# Twee\n"}))
    assert err.line == 5 and "use `## Titel`" in err.message


def test_character_missing_from_the_fonts(pub):
    err = error_of(pub(**{"a.md": "# T {#t}\n\nGoed zo ✓ klaar.\n"}))
    assert err.line == 3 and "U+2713" in err.message and "Literata" in err.message


CARD_YML = """\
id: kaart
kind: card
title: Kaart
language: nl
trim: 99mm 210mm
template: card.html.j2
stylesheet: card.css
pages: {exact: 2}
sources:
  - a.md
"""


def test_card_text_that_does_not_fit_on_two_pages(pub):
    from trotter.pipeline import build_publication

    tips = "\n".join(f"{n}. **Tip {n}.** " + "Een lange zin over de reis. " * 12
                     for n in range(1, 11))
    folder = pub(CARD_YML, **{"a.md": "# TOP 10 {#top}\n\n" + tips + "\n"})
    with pytest.raises(BuildError) as info:
        build_publication(PROJECT, load_config(PROJECT, folder / "publication.yml"), "print",
                          out=folder / "out.pdf")
    assert "does not fit on 2 pages" in info.value.message and "a.md" in info.value.message
    assert "lines too many" in info.value.message
    assert info.value.line == 8            # the `pages:` rule in publication.yml
    assert not (folder / "out.pdf").exists()


def test_card_overflow_names_the_file_the_overflow_comes_from(pub):
    from trotter.pipeline import build_publication

    tips = "\n".join(f"{n}. **Tip {n}.** Een korte zin." for n in range(1, 11))
    colophon = "Deze kaart hoort bij een reeks. " + "Nog een zin in het colofon. " * 250
    yml = CARD_YML.replace("sources:", "colophon: colofon.md\nsources:")
    folder = pub(yml, **{"a.md": "# TOP 10 {#top}\n\n!include tips.md\n",
                         "tips.md": tips + "\n", "colofon.md": colophon + "\n"})
    with pytest.raises(BuildError) as info:
        build_publication(PROJECT, load_config(PROJECT, folder / "publication.yml"), "print",
                          out=folder / "out.pdf")
    message = info.value.message
    assert "the overflow starts in" in message and "colofon.md; shorten" in message
    for name in ("a.md", "tips.md", "colofon.md"):
        assert name in message


def test_brochure_that_cannot_reach_a_multiple_of_four(pub):
    from trotter.finishing import padding_pages

    config = load_config(PROJECT, pub(GOOD_YML + "pages: {multiple: 4, max: 24}\n") / "publication.yml")
    assert padding_pages(config, 21) == 3
    assert padding_pages(config, 24) == 0
    with pytest.raises(BuildError, match="cannot be padded to a multiple of 4 within"):
        padding_pages(config, 22 + 3)


def test_markdown_file_listed_nowhere_is_a_warning(pub, capsys):
    load_config(PROJECT, pub(**{"vergeten.md": "# Vergeten {#v}\n"}) / "publication.yml")
    assert "vergeten.md: not listed" in capsys.readouterr().err


def test_internal_error_is_one_line_and_exit_code_3(monkeypatch, capsys):
    from trotter import cli

    def broken():
        raise RuntimeError("kapot")

    monkeypatch.setattr(cli, "main", broken)
    with pytest.raises(SystemExit) as info:
        cli.run()
    assert info.value.code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: kapot" in err
    assert "build.log" in err and "Traceback" not in err


def test_metadata_is_escaped_in_the_pdf(pub, tmp_path):
    from pypdf import PdfReader

    from trotter.pipeline import build_publication

    title = "Proef <script>alert(1)</script> & co"
    folder = pub(GOOD_YML.replace("title: Proef", f'title: "{title}"'))
    result = build_publication(PROJECT, load_config(PROJECT, folder / "publication.yml"), "screen",
                               out=tmp_path / "p.pdf")
    assert PdfReader(result.output).metadata.title == title
