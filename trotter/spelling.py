"""Dutch spelling of the sources: hunspell (nl_BE) and the project's word list
(tests/wordlist.nl.txt: names, abbreviations, sector terms, valid compounds).

`findings(paths, root)` gives `(path, line, word)` for every unknown word where it stands
(the word list of the project in `root`); `build.py check` reports them as `path:line: …`;
`python -m trotter.spelling` prints the unknown words of all sources of this checkout, one
per line.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

WORDLIST = Path("tests") / "wordlist.nl.txt"          # in the project
DICTIONARY = Path("/usr/share/hunspell/nl_BE.dic")
FOLDERS = ("book", "brochure", "card", "cahiers")
MARKUP = [
    (re.compile(r"^---\n.*?\n---\n", re.S), ""),          # front matter keys
    (re.compile(r"\{#[^}]*\}|\[\[#[^\]]*\]\]|\[\^[^\]]*\]:?"), " "),
    (re.compile(r"\{\{([^|}]*)\|[^}]*\}\}"), r"\1"),
    (re.compile(r"^(:::.*|!include .*|\|[-| :]+\|)$", re.M), " "),
    (re.compile(r"\]\([^)]*\)"), "] "),
]
WORD = re.compile(r"[A-Za-zÀ-ÿĳĲ][A-Za-zÀ-ÿĳĲ'’-]*[A-Za-zÀ-ÿĳĲ]|[A-Za-zÀ-ÿ]")


def plain(text: str) -> str:
    """The text of a Markdown file without our markup, line for line."""
    if text.startswith("---\n"):
        head, _, body = text[4:].partition("\n---\n")
        values = [" ".join(re.findall(r":\s*(.*)", line)) for line in head.splitlines()]
        text = "\n" + "\n".join(values) + "\n\n" + body     # the same line numbers
    for pattern, repl in MARKUP[1:]:
        text = pattern.sub(lambda m: repl if "\\" not in repl else m.expand(repl), text)
    return text


def wordlist(root: Path) -> Path:
    return root / WORDLIST


def sources(root: Path) -> list[Path]:
    """The Markdown sources of the project in `root`."""
    return sorted(p for folder in FOLDERS for p in (root / folder).rglob("*.md"))


def available() -> bool:
    return bool(shutil.which("hunspell")) and DICTIONARY.exists()


def _texts(paths) -> dict[Path, str]:
    """The text of each file as the build reads it (BOM dropped); a file that cannot be read
    is left out: the model reports it with its line."""
    from .errors import BuildError
    from .sources import read_text

    texts = {}
    for path in paths:
        try:
            texts[path] = plain(read_text(path))
        except BuildError:
            pass
    return texts


def _unknown_words(texts, root: Path) -> set[str]:
    found = set()
    for text in texts:
        found.update(WORD.findall(text))
    run = subprocess.run(["hunspell", "-d", "nl_BE", "-p", str(wordlist(root)), "-l"],
                         input="\n".join(sorted(found)), capture_output=True, text=True,
                         check=True)
    # a compound split at its hyphen ("peter- en meterschap") leaves halves hunspell checks
    return {w for w in run.stdout.split() if w}


def unknown(root: Path, paths=None) -> list[str]:
    """The words of `paths` (default: all sources of the project in `root`) hunspell and its
    word list do not know."""
    return sorted(_unknown_words(_texts(paths or sources(root)).values(), root))


def findings(paths, root: Path) -> list[tuple[Path, int, str]]:
    """(path, line, word) for every unknown word, where it stands (the word list of the
    project in `root`)."""
    texts = _texts(paths)
    bad = _unknown_words(texts.values(), root) if texts else set()
    found = []
    for path, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            for word in WORD.findall(line):
                if word in bad:
                    found.append((path, number, word))
    return found


if __name__ == "__main__":
    if not available():
        sys.exit("hunspell-nl is not installed: apt-get install hunspell hunspell-nl")
    from .project import Project

    print("\n".join(unknown(Project.of_checkout().root)))
