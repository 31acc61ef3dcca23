"""`build.py readability`: sentences, words, syllables and Flesch–Douma per chapter, the long
sentences as `path:line`, the `readability:` level in publication.yml and `check`'s warning."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import PROJECT, ROOT
from trotter.errors import BuildError
from trotter.readability import flesch_douma, measure, split_sentences, syllables, words
from trotter.sources import load_config

YML = """\
id: proef
kind: brochure
title: Proef
language: nl
trim: 148mm 210mm
template: brochure.html.j2
stylesheet: brochure.css
{level}sources:
  - a.md
"""
B1 = "readability: {max_sentence_words: 25, max_average_words: 15}\n"
LONG = ("Wie in een kleine organisatie werkt en graag wil bijleren, kan met zijn "
        "leidinggevende afspreken welke opleiding hij volgt, wanneer hij die volgt en hoe "
        "hij wat hij leerde daarna op de werkvloer toont.")          # 34 words


@pytest.fixture
def pub():
    """A throw-away publication folder inside the repository (as in test_errors.py)."""
    folder = Path(tempfile.mkdtemp(prefix="tmp-pub-", dir=ROOT / "tests"))

    def make(level=B1, yml=None, **files):
        (folder / "publication.yml").write_text(yml or YML.format(level=level),
                                                encoding="utf-8")
        files.setdefault("a.md", "# Titel\n\nTekst.\n")
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder

    yield make
    shutil.rmtree(folder, ignore_errors=True)


def report_of(folder):
    return measure(load_config(PROJECT, folder / "publication.yml"))


# -- sentences, words, syllables ----------------------------------------------------------------

def texts(paragraph):
    return [s for _, s in split_sentences(paragraph)]


def test_abbreviations_and_numbers_do_not_end_a_sentence():
    assert texts("Neem bv. een attest mee. Dat helpt o.a. bij een sollicitatie, zie p. 12. "
                 "De score steeg van 3,5 naar 4. Een premie van 1.200 euro volgde.") == [
        "Neem bv. een attest mee.",
        "Dat helpt o.a. bij een sollicitatie, zie p. 12.",
        "De score steeg van 3,5 naar 4.",
        "Een premie van 1.200 euro volgde."]


def test_what_ends_a_sentence_and_what_does_not():
    assert texts("Ze leerden lassen, stapelen enz. Daarna volgde de proef. Ca. tien mensen "
                 "deden mee… en slaagden! J. Peeters zei: “Goed gedaan.” Klaar? Ja, d.w.z. "
                 "bijna.") == [
        "Ze leerden lassen, stapelen enz.", "Daarna volgde de proef.",
        "Ca. tien mensen deden mee… en slaagden!", "J. Peeters zei: “Goed gedaan.”",
        "Klaar?", "Ja, d.w.z. bijna."]
    assert texts("Eerst dit. 35 procent volgde.") == ["Eerst dit.", "35 procent volgde."]
    assert texts("Een zin zonder punt") == ["Een zin zonder punt"]


def test_words_hold_a_letter_or_a_digit():
    assert words("Een e-mail — aan collega’s, en/of 3,5 uur (zie p. 4).") == [
        "Een", "e-mail", "aan", "collega’s,", "en/of", "3,5", "uur", "(zie", "p.", "4)."]


@pytest.mark.parametrize("word,count", [
    ("kat", 1), ("mooi", 1), ("mooie", 2), ("leeuw", 1), ("nieuw", 1), ("draaien", 2),
    ("koeien", 2), ("bijvoorbeeld", 3), ("vrouw", 1), ("huis", 1), ("sociaal", 3),
    ("situatie", 4), ("individueel", 5), ("ideeën", 3), ("geïnteresseerd", 5),
    ("naïef", 2), ("financiële", 5), ("één", 1), ("zorgkundige", 4),
    ("competentiemanagement", 8), ("collega’s", 3), ("uitzendkracht", 3), ("VDAB", 4),
    ("2011", 4), ("'s", 1), ("Vraag.", 1),
])
def test_dutch_syllables_by_vowel_groups(word, count):
    assert syllables(word) == count


def test_flesch_douma_of_a_known_text(pub):
    # 9 words, 2 sentences, 16 syllables: De kat zit op de mat (6 words, 6 syllables) +
    # Competentiemanagement (8) is (1) leuk (1): 206.835 - 0.93 * 4.5 - 77 * 16 / 9 = 65.761
    report = report_of(pub(**{"a.md": "# Titel\n\nDe kat zit op de mat. "
                                      "Competentiemanagement is leuk.\n"}))
    (chapter,) = report.chapters
    assert (len(chapter.sentences), chapter.words, chapter.syllables) == (2, 9, 16)
    assert chapter.average == 4.5
    assert chapter.score == pytest.approx(65.761, abs=0.001)
    assert flesch_douma(9, 2, 16) == pytest.approx(65.761, abs=0.001)
    assert flesch_douma(6, 1, 6) == pytest.approx(206.835 - 0.93 * 6 - 77)


# -- what is read -------------------------------------------------------------------------------

CHAPTER = """\
---
intro: Een inleiding telt mee.
running: Kop
---
# Het hoofdstuk {#hoofdstuk}

Eerste zin. Tweede zin
loopt door. Derde zin.

## Een kop telt niet

- een item zonder punt
- Een item dat een zin is.
- [ ] Een vinkje dat een zin is.

| kolom |
|---|
| Een cel telt niet. |

```
Code telt niet.
```

::: aanrader Een titel telt niet
Een kader telt.
:::

::: citaat
Een citaat telt.
— Kris, begeleider in de zorg.
:::

Je naam: ____.

Met een voetnoot[^1] en een verwijzing (zie [[#hoofdstuk]]).

!include erbij.md

*Het projectteam*

[^1]: De voetnoot telt ook.
"""


def test_running_text_is_read_and_the_rest_is_left_out(pub):
    folder = pub(**{"a.md": CHAPTER, "erbij.md": "Uit een ander bestand.\n\n- Ook hier.\n"})
    (chapter,) = report_of(folder).chapters
    assert (chapter.title, chapter.line) == ("Het hoofdstuk", 5)
    got = [(s.path.name, s.line, s.text) for s in chapter.sentences]
    assert got == [
        ("a.md", 2, "Een inleiding telt mee."),
        ("a.md", 7, "Eerste zin."),
        ("a.md", 7, "Tweede zin loopt door."),
        ("a.md", 8, "Derde zin."),
        ("a.md", 13, "Een item dat een zin is."),
        ("a.md", 14, "Een vinkje dat een zin is."),
        ("a.md", 25, "Een kader telt."),
        ("a.md", 29, "Een citaat telt."),
        ("a.md", 35, "Met een voetnoot en een verwijzing (zie p. 42)."),
        ("erbij.md", 1, "Uit een ander bestand."),
        ("erbij.md", 3, "Ook hier."),
        ("a.md", 41, "De voetnoot telt ook."),
    ]
    assert [s.words for s in chapter.sentences][8] == 9          # "zie p. 42": two words


def test_an_included_long_sentence_counts_in_the_including_chapter(pub):
    folder = pub(**{"a.md": "# Titel\n\nKort.\n\n!include lang.md\n",
                    "lang.md": f"Nog kort.\n\n{LONG}\n"})
    report = report_of(folder)
    (chapter,) = report.chapters
    assert len(chapter.sentences) == 3 and chapter.longest() == 34
    (long,) = report.long_sentences()
    assert (long.path.name, long.line, long.words) == ("lang.md", 3, 34)
    assert chapter.average == pytest.approx(37 / 3)  # (1 + 2 + 34) / 3: under 15
    assert report.above() == [(chapter, ["1 sentence over 25 words"])]


def test_a_missing_include_is_reported_with_its_line(pub):
    with pytest.raises(BuildError) as info:
        report_of(pub(**{"a.md": "# Titel\n\nTekst.\n\n!include weg.md\n"}))
    assert info.value.line == 5 and "weg.md" in info.value.message


# -- the level in publication.yml ---------------------------------------------------------------

@pytest.mark.parametrize("value,message", [
    ("25", "`readability` must be a mapping"),
    ("{max_sentence_words: -3}", "`readability: max_sentence_words` must be a whole number"),
    ("{max_sentence_words: lang}", "must be a whole number of words above 0, not `lang`"),
    ("{max_sentence_words: 12.5}", "must be a whole number"),
    ("{max_average_words: yes}", "`readability: max_average_words` must be a number"),
    ("{max_words: 25}", "unknown key `max_words` in readability"),
    ("{}", "`readability` needs max_sentence_words and/or max_average_words"),
])
def test_a_broken_level_names_the_line_in_publication_yml(pub, value, message):
    folder = pub(level=f"readability: {value}\n")
    with pytest.raises(BuildError) as info:
        load_config(PROJECT, folder / "publication.yml")
    assert info.value.line == 8, str(info.value)
    assert message in info.value.message
    assert str(info.value).startswith(f"{folder.relative_to(ROOT)}/publication.yml:8: ")


def test_a_level_in_block_style_and_with_one_key(pub):
    folder = pub(level="readability:\n  max_average_words: 12.5\n")
    report = report_of(folder)
    assert (report.level.max_sentence_words, report.level.max_average_words) == (None, 12.5)
    assert report.level.long == 25                  # sentences over 25 words still listed


# -- the command and check, in a scratch repository ---------------------------------------------

@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository with the code, a brochure that declares B1 and has one long sentence,
    and a cahier without a level."""
    repo = tmp_path_factory.mktemp("repo")
    for name in ("trotter", "templates", "styles", ".cache"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "build.py", repo / "build.py")
    (repo / "brochure").mkdir()
    (repo / "brochure" / "publication.yml").write_text(
        YML.format(level=B1).replace("id: proef", "id: folder"), encoding="utf-8")
    (repo / "brochure" / "a.md").write_text(f"# Folder\n\nEen korte zin.\n\n{LONG}\n",
                                            encoding="utf-8")
    cahier = repo / "cahiers" / "01-vrij"
    cahier.mkdir(parents=True)
    (cahier / "publication.yml").write_text(
        YML.format(level="").replace("id: proef", "id: vrij").replace(
            "kind: brochure", "kind: cahier").replace("brochure.", "cahier."),
        encoding="utf-8")
    (cahier / "a.md").write_text(f"# Vrij\n\n{LONG}\n", encoding="utf-8")
    return repo


def run(repo, *args):
    return subprocess.run([sys.executable, "build.py", *args], cwd=repo, capture_output=True,
                          text=True)


def test_the_command_prints_a_table_and_the_long_sentences(repo):
    done = run(repo, "readability", "folder")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("folder — Proef (level: at most 25 words a sentence, "
                        "at most 15 on average)")
    row = next(line for line in lines if line.startswith("brochure/a.md "))
    assert row.split()[1:5] == ["2", "37", "18.5", "34"] and row.endswith("ABOVE LEVEL")
    assert ("brochure/a.md:5: 34 words: Wie in een kleine organisatie werkt en graag wil "
            "bijleren…") in lines
    assert ("brochure/a.md: above the level: 18.5 words a sentence on average (at most 15); "
            "1 sentence over 25 words") in lines
    assert "vrij" not in done.stdout


def test_all_publications_without_ids_and_strict(repo):
    done = run(repo, "readability")
    assert done.returncode == 0
    assert "folder — Proef" in done.stdout and "vrij — Proef (level: no level declared)" \
        in done.stdout
    assert "cahiers/01-vrij/a.md:3: 34 words:" in done.stdout
    strict = run(repo, "readability", "--strict")
    assert strict.returncode == 1
    assert "1 chapter above the declared level (--strict)" in strict.stderr
    assert run(repo, "readability", "vrij", "--strict").returncode == 0   # no level: no limit


def test_strict_passes_once_the_text_keeps_the_level(repo):
    text = repo / "brochure" / "a.md"
    original = text.read_text(encoding="utf-8")
    try:
        text.write_text("# Folder\n\nEen korte zin. Nog een korte zin.\n", encoding="utf-8")
        done = run(repo, "readability", "folder", "--strict")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "0 sentences over 25 words" in done.stdout
    finally:
        text.write_text(original, encoding="utf-8")


def test_check_warns_without_failing(repo):
    done = run(repo, "check", "--no-spelling")
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in done.stdout.splitlines() if ": warning: " in line]
    assert warnings == [
        "brochure/a.md:1: warning: readability: 18.5 words a sentence on average, the "
        "publication's level allows 15",
        "brochure/a.md:5: warning: readability: 34 words in one sentence, the publication's "
        "level allows 25: Wie in een kleine organisatie werkt en…",
    ]
    assert "no problems, 2 warnings" in done.stderr


def test_a_broken_level_fails_the_command_with_its_line(repo):
    yml = repo / "brochure" / "publication.yml"
    original = yml.read_text(encoding="utf-8")
    try:
        yml.write_text(original.replace("max_sentence_words: 25", "max_sentence_words: veel"),
                       encoding="utf-8")
        done = run(repo, "readability")
        assert done.returncode == 1
        assert done.stderr.startswith("brochure/publication.yml:8: `readability: "
                                      "max_sentence_words` must be a whole number")
        assert "Traceback" not in done.stderr
        assert "vrij — Proef" in done.stdout                 # the others are still measured
        checked = run(repo, "check", "--no-spelling")
        assert checked.returncode == 1
        assert "brochure/publication.yml:8: `readability: max_sentence_words`" in checked.stdout
    finally:
        yml.write_text(original, encoding="utf-8")
