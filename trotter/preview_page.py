"""The live preview's page: publication list, build status, build errors, spreads.

Rendered by `trotter.serve` for every request of `/`; plain HTML with a little script that
listens to the server-sent events and swaps in the new pages when a build finishes.
"""

from __future__ import annotations

import html
import re
import time

from .proof import page_side, spreads

ERROR_LINE = re.compile(r"^(?P<path>[^\s:][^:\n]*):(?P<line>\d+): (?P<message>.+)$", re.M)

def render(preview, pub_id: str | None) -> str:
    """The preview page of one publication: navigation, build status, errors, spreads."""
    esc = html.escape
    st = preview.state
    current = preview.find(pub_id) if pub_id else None
    current = current or (preview.publications[0] if preview.publications else None)
    nav = []
    for pub in preview.publications:
        mark = " failed" if pub.id in st.failed else ""
        here = " current" if current and pub.id == current.id else ""
        nav.append(f"<li class='pub{mark}{here}'><a href='/?pub={esc(pub.id)}'>"
                   f"<b>{esc(pub.id)}</b> <span>{esc(pub.title)}</span></a></li>")
    body = [_status_html(preview)]
    if not st.ok and st.returncode is not None:
        body.append(_error_html(preview))
    if current is None:
        body.append("<p class='empty'>No publications found.</p>")
    elif not preview.showable(current):
        body.append(f"<p class='hidden-pages'>The pages of <b>{esc(current.id)}</b> are "
                    "hidden until the build succeeds: the last good PDF is stale.</p>")
    else:
        body.append(_spreads_html(preview, current))
    return _PAGE.format(generation=st.generation, nav="\n".join(nav),
                        building=("building" if st.building else "")
                        + (" waiting" if st.waiting else ""),
                        title=esc(current.title if current else "Preview"),
                        main="\n".join(body))

def _status_html(preview) -> str:
    st = preview.state
    if st.waiting:
        text = "waiting for another build (make, build.py) to finish…"
    elif st.returncode is None:
        text = "building…" if st.building else "waiting for the first build"
    else:
        when = time.strftime("%H:%M:%S", time.localtime(st.finished))
        text = (f"built at {when} in {st.seconds:.1f} s" if st.ok
                else f"build FAILED at {when}")
    return f"<p id='status'>{html.escape(text)}</p>"

def _error_html(preview) -> str:
    esc = html.escape
    output = preview.state.output
    items = [f"<li><code class='where'>{esc(m['path'])}:{esc(m['line'])}</code> "
             f"{esc(m['message'])}</li>" for m in ERROR_LINE.finditer(output)]
    listed = f"<ul class='errors'>{''.join(items)}</ul>" if items else ""
    return (f"<section class='build-error'><h2>Build failed</h2>{listed}"
            f"<pre>{esc(output or 'no output')}</pre></section>")

def _spreads_html(preview, pub) -> str:
    esc = html.escape
    found = preview.pages(pub)
    if not found:
        return (f"<p class='empty'>{esc(pub.id)}: no PDF yet"
                f"{' (building…)' if preview.state.building else ''}.</p>")
    version, sizes = found
    bound = pub.kind != "card"
    rows = [f"<h1>{esc(pub.title)} <small>{esc(pub.id)} · {len(sizes)} pages</small></h1>",
            "<div class='spreads'>"]
    for left, right in spreads(len(sizes)):
        cells = []
        for number in (left, right):
            if not number:
                cells.append("<div class='blank'></div>")
                continue
            side = page_side(number, bound) or "none"
            width, height = sizes[number - 1]
            src = f"/page/{esc(pub.id)}/{number}.png?v={version}&amp;side={side}"
            cells.append(f"<figure class='{side}'><img class='page' src='{src}' "
                         f"width='{width}' height='{height}' alt='page {number}' "
                         f"data-page='{number}' loading='lazy'>"
                         f"<figcaption>{number}</figcaption></figure>")
        rows.append(f"<div class='spread'>{''.join(cells)}</div>")
    rows.append("</div>")
    return "\n".join(rows)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · preview</title>
<style>
body {{ margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #283038; background: #e9ebee;
       display: grid; grid-template-columns: 15rem 1fr; min-height: 100vh; }}
nav {{ background: #283038; color: #fff; padding: 1rem; position: sticky; top: 0;
      height: 100vh; box-sizing: border-box; overflow: auto; }}
nav ul {{ list-style: none; margin: 0; padding: 0; }}
nav a {{ display: block; color: #dfe3e8; text-decoration: none; padding: .35rem .5rem;
        border-radius: 4px; }}
nav a span {{ display: block; font-size: 12px; color: #9aa3ad; }}
nav li.current a {{ background: #3c4652; color: #fff; }}
nav li.failed b::after {{ content: " ✗"; color: #ff6b81; }}
main {{ padding: 1rem 2rem 4rem; }}
#status {{ margin: 0 0 .5rem; color: #606670; }}
body.building #status::after {{ content: " · rebuilding…"; color: #b06000; }}
body.waiting #status::after {{ content: " · waiting for another build to finish…";
                              color: #b06000; }}
h1 small {{ font-size: 14px; color: #606670; font-weight: normal; }}
.build-error {{ background: #fff0f2; border: 2px solid #d0103a; border-radius: 6px;
               padding: .5rem 1rem; }}
.build-error h2 {{ color: #b00030; margin: .3rem 0; }}
.build-error code.where {{ font-weight: bold; }}
.build-error pre {{ white-space: pre-wrap; color: #606670; }}
.spreads {{ display: flex; flex-direction: column; align-items: center; gap: 2rem; }}
.spread {{ display: grid; grid-template-columns: 1fr 1fr; max-width: 100%; }}
.spread figure {{ margin: 0; display: flex; flex-direction: column; }}
.spread figure.left {{ align-items: flex-end; }}
.spread figure.right {{ align-items: flex-start; }}
.spread figure.none {{ align-items: center; padding: 0 .3rem; }}
.spread img {{ max-width: 100%; max-height: calc(100vh - 5rem); width: auto; height: auto;
               box-shadow: 0 2px 8px rgba(0,0,0,.25); }}
figcaption {{ color: #606670; align-self: center; padding-top: .2rem; }}
</style></head>
<body data-generation="{generation}" class="{building}">
<nav><ul>
{nav}
</ul></nav>
<main id="main">
{main}
</main>
<script>
// Refresh by itself: the server says when a build finished; fetch the page, swap the content.
(function () {{
  function refresh() {{
    fetch(location.href, {{cache: "no-store"}}).then(function (r) {{ return r.text(); }})
      .then(function (text) {{
        var doc = new DOMParser().parseFromString(text, "text/html");
        document.getElementById("main").replaceWith(doc.getElementById("main"));
        document.querySelector("nav").replaceWith(doc.querySelector("nav"));
        document.body.dataset.generation = doc.body.dataset.generation;
      }});
  }}
  var events = new EventSource("/events");
  events.onmessage = function (e) {{
    var state = JSON.parse(e.data);
    document.body.classList.toggle("building", state.building);
    document.body.classList.toggle("waiting", state.waiting);
    // a new generation: the specimens were rebuilt (a publication may still be building)
    if (String(state.generation) !== document.body.dataset.generation) {{
      refresh();
    }}
  }};
}})();
</script>
</body></html>
"""
