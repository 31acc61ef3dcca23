"""Dutch spelling: every word of the sources is known to hunspell (nl_BE) or the word list."""

import shutil
from pathlib import Path

import pytest

from spelling import unknown

pytestmark = pytest.mark.skipif(
    not shutil.which("hunspell") or not Path("/usr/share/hunspell/nl_BE.dic").exists(),
    reason="hunspell-nl not installed (.ci/run installs it)")


def test_no_unknown_words():
    assert unknown() == []
