"""One subset per font after merging units: the merged font programs and dictionaries draw
and read exactly as the units' own subsets did, and the subset tags follow the programs."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

import judges
from conftest import PROJECT
from trotter import finishing
from trotter.pipeline import build_publication
from trotter.workers import Pool

SAMPLE = Path(__file__).parent / "sample" / "publication.yml"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample laid out in units and merged, once with the subsets merged (as built) and
    once with each unit's subsets kept apart (the same laid-out units)."""
    out = tmp_path_factory.mktemp("subsets")
    with Pool(2) as pool:
        merged = build_publication(PROJECT, SAMPLE, "print", out=out / "merged.pdf", pool=pool,
                                   force=True, seed=False)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(finishing, "merge_font_subsets", lambda writer: 0)
            patch.setattr(finishing, "merge_font_dictionaries", lambda writer: 0)
            apart = build_publication(PROJECT, SAMPLE, "print", out=out / "apart.pdf", pool=pool,
                                      seed=False)
    assert merged.units > 2 and apart.rendered == 0          # the same units, merged twice
    return merged.output, apart.output


def programs(path) -> dict[str, set[bytes]]:
    """Font name without its tag -> the distinct programs embedded under it."""
    import pikepdf

    found: dict[str, set[bytes]] = {}
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor" \
                    and "/FontFile2" in obj:
                name = str(obj.FontName).split("+", 1)[-1]
                found.setdefault(name, set()).add(obj.FontFile2.read_bytes())
    return found


def test_one_program_and_one_dictionary_per_font(sample):
    merged, apart = sample
    assert any(len(p) > 1 for p in programs(apart).values())     # the units' own subsets
    assert all(len(p) == 1 for p in programs(merged).values())
    assert programs(merged).keys() == programs(apart).keys()
    fonts = [f for f in judges.embedded_fonts(merged)]
    assert len(fonts) == len(set(fonts)) == len(programs(merged))
    assert judges.subset_tag_problems(merged) == judges.subset_tag_problems(apart) == []


def test_merged_fonts_draw_and_read_like_the_units_subsets(sample):
    import pypdfium2 as pdfium

    merged, apart = (pdfium.PdfDocument(str(p)) for p in sample)
    assert len(merged) == len(apart)
    for a, b in zip(merged, apart):
        assert a.get_textpage().get_text_range() == b.get_textpage().get_text_range()
        assert a.render(scale=2).to_pil().tobytes() == b.render(scale=2).to_pil().tobytes()
    assert judges.pdfcpu_validate(sample[0]) == []
    assert judges.pdfx_problems(sample[0]) == []


def test_subset_tags_come_from_the_programs():
    assert finishing.subset_tag(b"one program") == finishing.subset_tag(b"one program")
    assert finishing.subset_tag(b"one program") != finishing.subset_tag(b"another program")
    assert finishing.subset_tag(b"x").isalpha() and finishing.subset_tag(b"x").isupper()
    assert len(finishing.subset_tag(b"x")) == 6


def test_a_group_that_is_not_one_font_is_left_alone(sample):
    """Two subsets under one name whose glyphs differ (two fonts) are not merged."""
    merged, _ = sample
    writer = PdfWriter(clone_from=PdfReader(merged))
    descriptors = [o for o in writer._objects if hasattr(o, "get")
                   and o.get("/Type") == "/FontDescriptor" and "/FontFile2" in o]
    first, second = descriptors[:2]
    second[finishing.NameObject("/FontName")] = first["/FontName"]      # one name, two fonts
    assert finishing.merge_font_subsets(writer) == 0
    out = io.BytesIO()
    writer.write(out)
    assert len({d["/FontFile2"].get_object().get_data() for d in (first, second)}) == 2
