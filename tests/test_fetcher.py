"""WeasyPrint reads only repository files, the project's fonts and data: URLs."""

import pytest

from conftest import PROJECT, ROOT
from trotter.errors import BuildError
from trotter.pdf import render

ROUTES = {
    "image": '<img src="{url}" alt="x">',
    "css url()": '<div style="background: url({url})">x</div>',
    "@import": "<style>@import url({url});</style><p>x</p>",
    "@font-face": '<style>@font-face {{ font-family: X; src: url({url}) }}</style>'
                  '<p style="font-family: X">x</p>',
    "svg image": '<svg xmlns="http://www.w3.org/2000/svg" '
                 'xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
                 '<image xlink:href="{url}" width="10" height="10"/></svg>',
    "attachment": '<link rel="attachment" href="{url}"><p>x</p>',
    "stylesheet": '<link rel="stylesheet" href="{url}"><p>x</p>',
}


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/x.png"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_outside_resources_are_refused(route, url):
    html = f"<html><body>{ROUTES[route].format(url=url)}</body></html>"
    with pytest.raises(BuildError) as info:
        render(html, str(ROOT), ROOT / "test.html")
    # an <image> inside inline SVG fails the SVG as a whole; everything else names the refusal
    assert "refused" in str(info.value) or route == "svg image"


def test_repository_file_is_allowed():
    html = '<html><body><img src="styles/icons/wat.svg" alt="wat"></body></html>'
    assert render(html, str(ROOT), ROOT / "test.html")["pdf"].startswith(b"%PDF")


def test_hidden_folders_are_refused():
    html = '<html><body><link rel="attachment" href=".git/config"><p>x</p></body></html>'
    with pytest.raises(BuildError):
        render(html, str(ROOT), ROOT / "test.html")


@pytest.mark.parametrize("url,reason", [
    ("file://otherhost/work/main/styles/icons/wat.svg", "another host"),
    ("styles/icons/.hidden/x.svg", "hidden folder"),
    ("book/images/.cache/x.svg", "hidden folder"),
    ("dist/build.log", "dist/"),
])
def test_other_hosts_hidden_folders_and_dist_are_refused(url, reason, tmp_path):
    html = f'<html><body><link rel="attachment" href="{url}"><p>x</p></body></html>'
    with pytest.raises(BuildError) as info:
        render(html, str(ROOT), ROOT / "test.html")
    assert "refused" in str(info.value) and reason in str(info.value)


def test_what_the_fetcher_serves_is_recorded():
    html = '<html><body><img src="styles/icons/wat.svg" alt="wat"></body></html>'
    rows = render(html, str(ROOT), ROOT / "test.html")["inputs"]
    assert [row[0] for row in rows] == ["styles/icons/wat.svg"]
