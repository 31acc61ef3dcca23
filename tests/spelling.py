"""Dutch spelling check of all publication sources with hunspell (nl_BE) and the project's
word list (tests/wordlist.nl.txt: names, abbreviations, sector terms, valid compounds).

Run: python tests/spelling.py  -> prints the words hunspell does not know, one per line.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDLIST = Path(__file__).parent / "wordlist.nl.txt"
FOLDERS = ("book", "brochure", "card", "cahiers")
MARKUP = [
    (re.compile(r"^---\n.*?\n---\n", re.S), ""),          # front matter keys
    (re.compile(r"\{#[^}]*\}|\[\[#[^\]]*\]\]|\[\^[^\]]*\]:?"), " "),
    (re.compile(r"\{\{([^|}]*)\|[^}]*\}\}"), r"\1"),
    (re.compile(r"^(:::.*|!include .*|\|[-| :]+\|)$", re.M), " "),
    (re.compile(r"\]\([^)]*\)"), "] "),
]
WORD = re.compile(r"[A-Za-zÀ-ÿĳĲ][A-Za-zÀ-ÿĳĲ'’-]*[A-Za-zÀ-ÿĳĲ]|[A-Za-zÀ-ÿ]")


def words() -> set[str]:
    found = set()
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.md"):
            text = path.read_text(encoding="utf-8")
            if text.startswith("---\n"):
                head, _, body = text[4:].partition("\n---\n")
                text = " ".join(re.findall(r":\s*(.*)", head)) + "\n" + body
            for pattern, repl in MARKUP[1:]:
                text = pattern.sub(repl, text)
            found.update(WORD.findall(text))
    return found


def unknown() -> list[str]:
    run = subprocess.run(["hunspell", "-d", "nl_BE", "-p", str(WORDLIST), "-l"],
                         input="\n".join(sorted(words())), capture_output=True, text=True,
                         check=True)
    # a compound split at its hyphen ("peter- en meterschap") leaves halves hunspell checks
    return sorted({w for w in run.stdout.split() if w})


if __name__ == "__main__":
    if not shutil.which("hunspell"):
        sys.exit("hunspell is not installed: apt-get install hunspell hunspell-nl")
    print("\n".join(unknown()))
