"""Readability of the texts: sentences, words per sentence and the Flesch–Douma score per
chapter, and every sentence that is too long, with file and line (`build.py readability`).

**What a chapter is.** Every Markdown file listed under `sources` in publication.yml, with
what it includes (`!include`): an included text counts in the chapter, and so in the
publication, that includes it, but its sentences are reported at their own file and line.
The back cover (`backcover:`) is measured as one more chapter, because readers read it; the
colophon is not (it is the publisher's small print). The files are read as the document
model reads them: `sources.read_text`, the project's own Markdown parser
(`markup.make_parser`), includes resolved from the including file's folder.

**What is a sentence.** Only running text is measured:

- paragraphs of the body, of quotes, of boxes (every box, `citaat` and `formulier` too) and
  of footnotes, and a chapter's `intro:` from its front matter;
- list items (also checklists) and definitions only when they are written as sentences;
- left out: headings and box titles, table cells, code, images, a citaat's source line
  (`— Naam, functie`), fill-in lines (`Naam: ____`), raw HTML.

A text block (paragraph, list item) counts only when it ends like a sentence: with `.`, `!`,
`?`, `…` or `:` (a closing quote or bracket after it allowed). A list item "Veel formulieren,
weinig gesprekken" without a full stop, a label or a signature ("*Het projectteam*") is not a
sentence; a list item that ends with a full stop is read as one. A block ends a sentence.

Within a block a sentence ends at `.`, `!`, `?` or `…` (with any closing quotes or brackets)
followed by a space, except

- after an abbreviation: the Dutch ones in `ABBREVIATIONS` (`bv.`, `p.`, `enz.`, `nr.`, …),
  and any word of single letters with dots (`o.a.`, `d.w.z.`, `t.o.v.`); `enz.`, `etc.`,
  `e.a.` and `e.d.` do end a sentence when a capital follows;
- after an initial (`J. Peeters`);
- when the next word starts with a lower-case letter ("ca. tien", "… en dan").

Numbers never split a sentence by themselves: `3,5`, `1.200` and `2011.` read as words; a
number at the end of a sentence ends it. A page reference (`zie [[#anker]]`) reads as
"zie p. 42": two words. A word is a run of characters between spaces that holds a letter or
a digit (`e-mail`, `collega's`, `3,5`, `en/of` are one word each; a dash `—` is none).

**Syllables** are counted by Dutch vowel groups: a run of vowels (a, e, i, o, u, y, and the
`j` of `ij`) is read as the fewest Dutch vowel sounds that spell it — `aai`, `ooi`, `oei`,
`eeu`, `ieu`, `aa`, `ee`, `oo`, `uu`, `ie`, `oe`, `ou`, `au`, `ei`, `ij`, `ui`, `eu`, and
`ai`, `ay`, `ey` of loan words — each one syllable, longest first, so `mooi` has one,
`mooie` two (`ooi` + `e`), `sociaal` three (`o`, `i` + `aa`) and `situatie` four. A vowel
with a diaeresis starts a new syllable (`ideeën`, `geïnteresseerd`). Accents are otherwise
ignored (`één` is one syllable). An acronym in capitals of two to five letters is spelled out,
a syllable a letter (`VDAB` four); a number counts a syllable a digit; every word has at
least one. It is an estimate — English loan words (`team`, `coach`) and a few Dutch words
(`museum`) come out one syllable off — good enough for a score over hundreds of words.

**Flesch–Douma** (Douma 1960, the Dutch Flesch reading ease):
`206.835 − 0.93 × (words / sentences) − 77 × (syllables / words)`; higher is easier. The
usual reading of the scale: 0–30 very difficult, 30–45 difficult, 45–60 fairly difficult,
60–70 plain, 70–80 fairly easy, 80 and above easy.

**The level.** A publication can declare the level its chapters keep, in publication.yml:

    readability: {max_sentence_words: 25, max_average_words: 15}

(B1, klare taal: no sentence over 25 words, at most 15 words a sentence on average; either key
may be left out). `build.py readability --strict` fails and `build.py check` warns when a
chapter is above it. Without a level a sentence over 25 words is still listed.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from .errors import display_path
from .errors import BuildError, BuildErrors
from .sources import LEVEL_KEYS  # noqa: F401 - the keys publication.yml may hold

#: a sentence over this many words is listed when a publication declares no level
LONG_SENTENCE = 25
#: Dutch abbreviations that end in a full stop without ending the sentence (lower case, no
#: final dot). Words of single letters with dots (`o.a`, `d.w.z`) are recognised anyway.
ABBREVIATIONS = {
    "bv", "bijv", "vb", "enz", "etc", "p", "pp", "blz", "nr", "nrs", "art", "artt", "min",
    "max", "ca", "cf", "vgl", "vs", "resp", "incl", "excl", "evt", "mr", "dr", "drs", "mevr",
    "dhr", "prof", "ir", "ing", "lic", "st", "jl", "afd", "tel", "fig", "hfst", "zgn", "nl",
    "vnl", "mvg", "jr", "sr", "gem", "ong", "tov", "ipv", "mbt", "febr", "sept", "okt",
}
# (not `vzw`, `nv`, `hr`, `jan`, …: written without a dot or a name, they end sentences)
#: abbreviations that may also close a sentence: they end one when a capital follows
CLOSING_ABBREVIATIONS = {"enz", "etc", "e.a", "e.d"}
#: the vowel sounds of Dutch spelling that are one syllable, longest first
VOWEL_UNITS = ("aai", "ooi", "oei", "eeu", "ieu", "aa", "ee", "oo", "uu", "ie", "oe", "ou",
               "au", "ei", "ij", "ui", "eu", "ai", "ay", "ey")
VOWELS = set("aeiouy")

_END = re.compile(r"[.!?…]+[\"”’'»)\]]*(?=\s)")
_BLOCK_END = re.compile(r"[.!?…:][\"”’'»)\]]*\s*$")
_ACRONYM = re.compile(r"[A-Z]{2,5}")
_WORD = re.compile(r"\S*[^\W_]\S*")
_ALNUM = re.compile(r"[^\W_]")


# -- words, syllables, sentences -------------------------------------------------------------

def words(text: str) -> list[str]:
    """The words of `text`: runs between spaces that hold a letter or a digit."""
    return _WORD.findall(text)


@lru_cache(maxsize=None)
def syllables(word: str) -> int:
    """Dutch syllables of one word, by vowel groups (see the module docstring)."""
    core = word.strip("\"“”‘’'«»()[]{}.,;:!?…*_")
    if _ACRONYM.fullmatch(core):
        return len(core)
    digits = sum(c.isdigit() for c in core)
    groups: list[str] = []
    previous_vowel = False
    for char in unicodedata.normalize("NFD", core.lower()):
        if unicodedata.combining(char):
            if char == "\u0308" and groups and len(groups[-1]) > 1:
                last = groups.pop()               # a diaeresis: this vowel starts a syllable
                groups += [last[:-1], last[-1]]   # (and the vowels after it join it: naïef)
            continue
        vowel = char in VOWELS or (char == "j" and previous_vowel and groups
                                   and groups[-1].endswith("i"))
        if vowel:
            if previous_vowel and groups:
                groups[-1] += char
            else:
                groups.append(char)
        previous_vowel = vowel
    count = sum(_units(group) for group in groups if group)
    return max(1, count + digits)


_UNIT = re.compile("|".join(VOWEL_UNITS) + "|.")


def _units(group: str) -> int:
    """How many Dutch vowel sounds spell `group` (longest sound first)."""
    return len(_UNIT.findall(group))


def flesch_douma(n_words: int, n_sentences: int, n_syllables: int) -> float:
    """206.835 − 0.93 × words per sentence − 77 × syllables per word (0 for no text)."""
    if not n_words or not n_sentences:
        return 0.0
    return 206.835 - 0.93 * (n_words / n_sentences) - 77 * (n_syllables / n_words)


def split_sentences(text: str) -> list[tuple[int, str]]:
    """The sentences of one block of running text, each with its offset in `text`."""
    found, start = [], 0
    for match in _END.finditer(text):
        end = match.end()
        if not _ends_here(text, match.start(), end):
            continue
        sentence = text[start:end]
        if _ALNUM.search(sentence):
            found.append((start + len(sentence) - len(sentence.lstrip()), sentence.strip()))
        start = end
    rest = text[start:]
    if _ALNUM.search(rest):
        found.append((start + len(rest) - len(rest.lstrip()), rest.strip()))
    return found


def _ends_here(text: str, stop: int, end: int) -> bool:
    following = text[end:].lstrip()
    first = next((c for c in following if c.isalnum()), "")
    if first.islower():
        return False                               # "ca. tien", "… en dan"
    if text[stop] != "." or text[stop:stop + 2] == "..":
        return True
    before = text[:stop].split()
    word = before[-1].lstrip("\"“‘'«([") if before else ""
    key = word.lower()
    if key in CLOSING_ABBREVIATIONS:
        return first.isupper()
    if key in ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", key):
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False                               # an initial: "J. Peeters"
    return True


# -- reading a publication --------------------------------------------------------------------

@dataclass
class Sentence:
    path: Path
    line: int
    text: str
    words: int
    syllables: int

    def start(self, length: int = 60) -> str:
        """The first words, about `length` characters, with `…` when there is more."""
        if len(self.text) <= length:
            return self.text
        cut = self.text[:length].rsplit(" ", 1)[0]
        return cut.rstrip(",;:—– ") + "…"


@dataclass
class Chapter:
    path: Path                      # the source file listed in publication.yml
    title: str
    sentences: list[Sentence] = field(default_factory=list)
    line: int = 1                   # of its title

    @property
    def words(self) -> int:
        return sum(s.words for s in self.sentences)

    @property
    def syllables(self) -> int:
        return sum(s.syllables for s in self.sentences)

    @property
    def average(self) -> float:
        return self.words / len(self.sentences) if self.sentences else 0.0

    @property
    def score(self) -> float:
        return flesch_douma(self.words, len(self.sentences), self.syllables)

    def longest(self) -> int:
        return max((s.words for s in self.sentences), default=0)


@dataclass
class Level:
    max_sentence_words: int | None = None
    max_average_words: float | None = None

    @property
    def declared(self) -> bool:
        return self.max_sentence_words is not None or self.max_average_words is not None

    @property
    def long(self) -> int:
        """Sentences over this many words are listed."""
        return self.max_sentence_words or LONG_SENTENCE

    def describe(self) -> str:
        parts = []
        if self.max_sentence_words is not None:
            parts.append(f"at most {self.max_sentence_words} words a sentence")
        if self.max_average_words is not None:
            parts.append(f"at most {self.max_average_words:g} on average")
        return ", ".join(parts) if parts else "no level declared"

    def above(self, chapter: Chapter) -> list[str]:
        """What in `chapter` goes beyond this level (empty when nothing does)."""
        found = []
        if self.max_average_words is not None and chapter.average > self.max_average_words:
            found.append(f"{chapter.average:.1f} words a sentence on average "
                         f"(at most {self.max_average_words:g})")
        if self.max_sentence_words is not None:
            n = sum(s.words > self.max_sentence_words for s in chapter.sentences)
            if n:
                found.append(f"{n} sentence{'s' if n > 1 else ''} over "
                             f"{self.max_sentence_words} words")
        return found


def level_of(config) -> Level:
    """The level publication.yml declares (`readability:`, validated by sources.py)."""
    data = config.data.get("readability") or {}
    return Level(data.get("max_sentence_words"), data.get("max_average_words"))


@dataclass
class Report:
    config: object
    level: Level
    chapters: list[Chapter]

    @property
    def total(self) -> Chapter:
        return Chapter(self.config.path, "", [s for c in self.chapters for s in c.sentences])

    def long_sentences(self) -> list[Sentence]:
        return [s for c in self.chapters for s in c.sentences if s.words > self.level.long]

    def above(self) -> list[tuple[Chapter, list[str]]]:
        return [(c, found) for c in self.chapters if (found := self.level.above(c))]


def measure(config) -> Report:
    """Sentences of every chapter of the publication `config` (sources.PublicationConfig).
    A file that cannot be read, or an include that cannot be followed, raises BuildError
    (all of them at once)."""
    from .markup import make_parser

    md = make_parser()
    errors: list[BuildError] = []
    chapters = []
    files = list(config.all_sources())
    if config.data.get("backcover"):
        files.append((config.folder / config.data["backcover"]).resolve())
    for path in files:
        chapter = Chapter(path, "")
        _read(config.project, md, path, chapter, (), errors, ())
        chapters.append(chapter)
    if errors:
        raise BuildErrors(errors) if len(errors) > 1 else errors[0]
    return Report(config, level_of(config), chapters)


def _read(project, md, path: Path, chapter: Chapter, context: tuple, errors: list,
          stack: tuple) -> None:
    """Add the sentences of one file (and of what it includes) to `chapter`."""
    from .sources import read_text

    try:
        text = read_text(path)
    except BuildError as exc:
        errors.append(exc)
        return
    try:
        tokens = md.parse(text if text.endswith("\n") else text + "\n", {})
    except Exception as exc:  # noqa: BLE001 - the model reports it with more words
        errors.append(BuildError(f"the Markdown parser cannot read this file "
                                 f"({exc.__class__.__name__})", path))
        return
    _walk(project, md, tokens, path, chapter, list(context), errors, (*stack, path))


#: token types whose text is never running text
_SKIP = {"heading_open", "th_open", "td_open", "dt_open"}


def _walk(project, md, tokens, path: Path, chapter: Chapter, context: list, errors: list,
          stack: tuple) -> None:
    opened: list = list(context)
    for token in tokens:
        if token.type == "front_matter":
            _intro(token, path, chapter, errors)
        elif token.nesting == 1:
            opened.append(token)
        elif token.nesting == -1:
            if opened:
                opened.pop()
        elif token.type == "include":
            target = path.parent / unquote(token.info)
            line = token.map[0] + 1 if token.map else None
            if reason := project.refusal(target):
                errors.append(BuildError(f"include `{token.info}` may not be read: {reason}",
                                         path, line))
            elif target.resolve() in stack:
                errors.append(BuildError(f"include cycle: `{token.info}`", path, line))
            elif not target.is_file():
                errors.append(BuildError(f"include `{token.info}`: file not found", path,
                                         line))
            else:
                _read(project, md, target.resolve(), chapter, tuple(opened), errors,
                      stack)
        elif token.type == "inline":
            types = {t.type for t in opened}
            if types & _SKIP:
                if "heading_open" in types and not chapter.title and opened[-1].tag == "h1":
                    chapter.title = token.content
                    chapter.line = token.map[0] + 1 if token.map else 1
                continue
            paragraph = opened[-1] if opened else None
            if paragraph is not None and paragraph.attrGet("class") == "citaat-bron":
                continue
            _block(token, path, chapter)


def _intro(token, path: Path, chapter: Chapter, errors: list) -> None:
    from .sources import load_yaml

    try:
        data, lines = load_yaml(token.content, path, first_line=2)
    except BuildError as exc:
        errors.append(exc)
        return
    if isinstance(data, dict) and isinstance(data.get("intro"), str):
        _add(data["intro"], [(0, lines.get("intro", 2))], path, chapter)


def _block(token, path: Path, chapter: Chapter) -> None:
    """The sentences of one paragraph (its inline token), when it reads as running text."""
    line = token.map[0] + 1 if token.map else 1
    text, marks = "", [(0, line)]
    for child in token.children or []:
        kind = child.type
        if kind == "fill_in":
            return                                  # a line to write on: a form, not prose
        if kind in ("text", "code_inline", "index_term"):
            text += child.content
        elif kind == "xref":
            text += "p. 42"
        elif kind in ("softbreak", "hardbreak"):
            text += " "
            line += 1
            marks.append((len(text), line))
    if not _BLOCK_END.search(text):
        return                     # a label, a signature, a list item without a full stop
    _add(text, marks, path, chapter)


def _add(text: str, marks: list[tuple[int, int]], path: Path, chapter: Chapter) -> None:
    offsets = [offset for offset, _ in marks]
    for offset, sentence in split_sentences(text):
        line = marks[bisect.bisect_right(offsets, offset) - 1][1]
        found = words(sentence)
        chapter.sentences.append(Sentence(path, line, sentence, len(found),
                                          sum(syllables(w) for w in found)))


# -- reports ----------------------------------------------------------------------------------

def shown(path: Path) -> str:
    return display_path(path)


def table(report: Report) -> list[str]:
    """The table of one publication: a row per chapter and one for the whole, then its long
    sentences as `path:line: N words: …`."""
    config, level = report.config, report.level
    rows = [(shown(c.path), c) for c in report.chapters]
    width = max([len(name) for name, _ in rows] + [len("whole publication")])
    head = (f"{'chapter':<{width}}  {'sentences':>9}  {'words':>6}  {'words/sentence':>14}"
            f"  {'longest':>7}  {'Flesch-Douma':>12}")
    out = [f"{config.id} — {config.title} (level: {level.describe()})", head]
    above = [c for c, _ in report.above()]
    for name, chapter in [*rows, ("whole publication", report.total)]:
        flag = "  ABOVE LEVEL" if any(chapter is c for c in above) else ""
        out.append(f"{name:<{width}}  {len(chapter.sentences):>9}  {chapter.words:>6}  "
                   f"{chapter.average:>14.1f}  {chapter.longest():>7}  {chapter.score:>12.1f}"
                   f"{flag}")
    long = report.long_sentences()
    out.append(f"{len(long)} sentence{'' if len(long) == 1 else 's'} over {level.long} words"
               + (":" if long else ""))
    for sentence in long:
        out.append(f"{shown(sentence.path)}:{sentence.line}: {sentence.words} words: "
                   f"{sentence.start()}")
    return out


def warnings(report: Report) -> list[tuple[Path, int, str]]:
    """(path, line, message) for what goes beyond the declared level: every sentence over
    the maximum where it stands, and a chapter's average at its title."""
    level, found = report.level, []
    if not level.declared:
        return found
    for chapter in report.chapters:
        if level.max_sentence_words is not None:
            for s in chapter.sentences:
                if s.words > level.max_sentence_words:
                    found.append((s.path, s.line, f"readability: {s.words} words in one "
                                  f"sentence, the publication's level allows "
                                  f"{level.max_sentence_words}: {s.start(40)}"))
        if level.max_average_words is not None and chapter.average > level.max_average_words:
            found.append((chapter.path, chapter.line, f"readability: {chapter.average:.1f} words a "
                          f"sentence on average, the publication's level allows "
                          f"{level.max_average_words:g}"))
    return found
