"""Markdown dialect of Talenten Trotter, built on markdown-it-py.

CommonMark + tables, footnotes, front matter, definition lists, Dutch typographic quotes, and
our own syntax, each a small rule registered in one function:

- travel-guide boxes      ``::: aanrader Titel`` ... ``:::``
- heading anchors         ``## Titel {#anker}``
- page cross-references   ``[[#anker]]``           -> "p. 42"
- register (index) terms  ``{{term}}``, ``{{getoond|term}}``
- includes                ``!include pad/naar/bestand.md`` (a line on its own)
- fill-in lines           ``Naam: ____`` (four or more underscores): a line to write on

HTML comments are dropped wherever they stand. Any other raw HTML is not part of the dialect:
the parser recognises it (so the document model can name the file and line and say what to
write instead), and the renderer escapes it, so ``<script>``, ``<iframe>``, event attributes
and friends never reach the HTML. ``javascript:`` links are refused by markdown-it's link
validation. Headings without ``{#anker}`` are marked ``auto``: the model gives them an anchor
made from their text.
"""

from __future__ import annotations

import re
from html import escape

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

#: Box name -> label printed in the box head. Names not in here are an error.
BOXES = {
    "wat": "Wat?",
    "aanrader": "Aanrader",
    "toppen": "Toppen",
    "dalen": "Dalen",
    "zeker-meenemen": "Zeker meenemen",
    "handig-lijstje": "Handig lijstje",
    "praktijkvoorbeeld": "Praktijkvoorbeeld",
    "formulier": "Formulier",  # a working document to copy: ruled tables, fill-in lines
    "citaat": None,  # a pulled-out quote: no head, no icon
}

ANCHOR_RE = re.compile(r"\s*\{#([a-z0-9][a-z0-9-]*)\}\s*$")
INCLUDE_RE = re.compile(r"^!include\s+(\S+)\s*$")


def make_parser() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark",
        {"html": True, "typographer": True, "quotes": "“”‘’", "linkify": False},
    )
    md.enable(["table", "replacements", "smartquotes", "strikethrough"])
    md.use(front_matter_plugin)
    md.use(footnote_plugin, inline=False)
    md.use(deflist_plugin)
    md.use(container_plugin, name="box", validate=lambda params, *_: bool(params.strip()),
           render=_render_box)
    md.block.ruler.before("html_block", "html_comment", _comment_block,
                          {"alt": ["paragraph", "reference", "blockquote"]})
    md.inline.ruler.before("html_inline", "html_comment_inline", _comment_inline)
    md.block.ruler.before("paragraph", "include", _include_block)
    md.inline.ruler.before("link", "xref", _xref_inline)
    md.inline.ruler.before("emphasis", "index_term", _index_inline)
    md.inline.ruler.before("emphasis", "fill_in", _fill_inline)
    md.core.ruler.push("heading_anchor", _heading_anchor)
    md.core.ruler.push("checklist_item", _checklist_item)
    md.core.ruler.push("quote_source", _quote_source)
    md.core.ruler.push("figure_paragraph", _figure_paragraph)
    md.add_render_rule("xref", _render_xref)
    md.add_render_rule("index_term", _render_index)
    md.add_render_rule("fill_in", _render_fill)
    # the model stage renders each included file and puts its HTML in env["include_html"]
    md.add_render_rule("include", lambda self, t, i, o, e: e.get("include_html", {}).get(
        t[i].info, ""))
    md.add_render_rule("footnote_ref", _render_footnote_ref)
    md.add_render_rule("heading_open", _render_heading_open)
    md.add_render_rule("html_block", lambda self, t, i, o, e: escape(t[i].content))
    md.add_render_rule("html_inline", lambda self, t, i, o, e: escape(t[i].content))
    md.add_render_rule("paragraph_open", _render_paragraph_open)
    md.add_render_rule("paragraph_close", _render_paragraph_close)
    md.add_render_rule("code_block", _render_code_block)
    md.add_render_rule("fence", _render_code_block)
    md.add_render_rule("table_open", lambda self, t, i, o, e: '<div class="table">'
                       + self.renderToken(t, i, o, e))
    md.add_render_rule("table_close", lambda self, t, i, o, e: self.renderToken(t, i, o, e)
                       + "</div>\n")
    return md


def box_name(token: Token) -> tuple[str, str]:
    """(name, title) of a box opening token."""
    params = token.info.strip()
    name, _, title = params.partition(" ")
    return name.strip(), title.strip()


# -- block rules ---------------------------------------------------------------------------

def _comment_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """`<!-- … -->` on lines of its own (over several lines too): dropped."""
    pos = state.bMarks[start] + state.tShift[start]
    if state.sCount[start] - state.blkIndent >= 4 or not state.src.startswith("<!--", pos):
        return False
    close = state.src.find("-->", pos + 4)
    if close < 0:
        return False
    last = start
    while last < end and state.eMarks[last] < close:
        last += 1
    if state.src[close + 3:state.eMarks[last]].strip():
        return False                      # text after the comment: an inline comment
    if not silent:
        state.line = last + 1
    return True

def _include_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    pos = state.bMarks[start] + state.tShift[start]
    line = state.src[pos:state.eMarks[start]]
    match = INCLUDE_RE.match(line)
    if not match or state.sCount[start] - state.blkIndent >= 4:
        return False
    if silent:
        return True
    token = state.push("include", "", 0)
    token.info = match.group(1)
    token.map = [start, start + 1]
    state.line = start + 1
    return True


def _render_box(self, tokens, idx, options, env):
    token = tokens[idx]
    if token.nesting == -1:
        return "</div></aside>\n"
    name, title = box_name(token)
    if name == "citaat":
        return '<aside class="box box-citaat"><div class="box-body">\n'
    label = BOXES.get(name) or name
    head = f'<span class="box-label">{escape(label)}</span>'
    if title:
        head += f' <span class="box-title">{escape(title)}</span>'
    return (f'<aside class="box box-{escape(name)}"><div class="box-head">'
            f'<span class="box-icon"></span>{head}</div><div class="box-body">\n')


# -- inline rules --------------------------------------------------------------------------

def _xref_inline(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if not src.startswith("[[#", pos):
        return False
    end = src.find("]]", pos + 3)
    if end < 0:
        return False
    target = src[pos + 3:end]
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", target):
        return False
    if not silent:
        token = state.push("xref", "", 0)
        token.meta = {"target": target}
    state.pos = end + 2
    return True


def _index_inline(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if not src.startswith("{{", pos):
        return False
    end = src.find("}}", pos + 2)
    if end < 0:
        return False
    body = src[pos + 2:end]
    if not body.strip() or "\n" in body or "{" in body:
        return False
    shown, _, term = body.partition("|")
    if not silent:
        token = state.push("index_term", "", 0)
        token.content = shown.strip()
        token.meta = {"term": (term or shown).strip()}
    state.pos = end + 2
    return True


def _comment_inline(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("<!--", state.pos):
        return False
    close = state.src.find("-->", state.pos + 4)
    if close < 0:
        return False
    state.pos = close + 3
    return True


def _fill_inline(state: StateInline, silent: bool) -> bool:
    """`____` (four or more underscores): a line to write on. At the end of a paragraph,
    list item or table cell it runs to the end of the line; elsewhere its length follows the
    number of underscores."""
    src, pos = state.src, state.pos
    if not src.startswith("____", pos) or (pos and src[pos - 1] in "_\\"):
        return False
    end = pos
    while end < state.posMax and src[end] == "_":
        end += 1
    if not silent:
        token = state.push("fill_in", "", 0)
        token.meta = {"length": end - pos, "last": not src[end:state.posMax].strip()}
    state.pos = end
    return True


def _heading_anchor(state) -> None:
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        inline = tokens[i + 1]
        if not inline.children:
            continue
        last = inline.children[-1]
        match = ANCHOR_RE.search(last.content) if last.type == "text" else None
        if match:
            token.attrSet("id", match.group(1))
            last.content = last.content[:match.start()]
            inline.content = ANCHOR_RE.sub("", inline.content)
        else:
            token.meta["auto"] = True     # the model gives it an anchor from its text


def _checklist_item(state) -> None:
    """`- [ ] tekst`: a list item to tick off (drawn as an empty box by the stylesheet)."""
    tokens = state.tokens
    for i, token in enumerate(tokens[:-2]):
        if token.type != "list_item_open" or tokens[i + 1].type != "paragraph_open":
            continue
        inline = tokens[i + 2]
        first = inline.children[0] if inline.children else None
        if first is not None and first.type == "text" and first.content[:4] in ("[ ] ", "[x] ",
                                                                               "[X] "):
            ticked = first.content[1] in "xX"
            first.content = first.content[4:]
            inline.content = inline.content[4:]
            token.attrJoin("class", "check checked" if ticked else "check")


def _figure_paragraph(state) -> None:
    """A paragraph that holds only an image is a figure: no indent, its own spacing."""
    tokens = state.tokens
    for i, token in enumerate(tokens[:-1]):
        inline = tokens[i + 1]
        if (token.type == "paragraph_open" and inline.type == "inline" and inline.children
                and len([c for c in inline.children if c.type != "softbreak"]) == 1
                and inline.children[0].type == "image"):
            token.attrSet("class", "figure")


def _quote_source(state) -> None:
    """In a `citaat` box, a last line `— Naam, functie` becomes its own paragraph."""
    tokens, out, in_quote = state.tokens, [], False
    for token in tokens:
        if token.type == "container_box_open":
            in_quote = box_name(token)[0] == "citaat"
        elif token.type == "container_box_close":
            in_quote = False
        if not (in_quote and token.type == "inline" and token.children):
            out.append(token)
            continue
        children = token.children
        split = next((i for i, child in enumerate(children[:-1])
                      if child.type in ("softbreak", "hardbreak")
                      and children[i + 1].type == "text"
                      and children[i + 1].content.lstrip()[:1] in ("—", "–")), None)
        if split is None:
            out.append(token)
            continue
        quote, source = Token("inline", "", 0), Token("inline", "", 0)
        quote.children, source.children = children[:split], children[split + 1:]
        quote.map = source.map = token.map
        close, open_ = Token("paragraph_close", "p", -1), Token("paragraph_open", "p", 1)
        close.block = open_.block = True
        open_.attrSet("class", "citaat-bron")
        out += [quote, close, open_, source]
    state.tokens = out


# -- render rules --------------------------------------------------------------------------

def _render_xref(self, tokens, idx, options, env):
    target = tokens[idx].meta["target"]
    return f'<a class="pageref" href="#{escape(target)}">p.&#160;</a>'


def _render_index(self, tokens, idx, options, env):
    token = tokens[idx]
    counter = env.setdefault("index_counter", [0])
    counter[0] += 1
    ident = f"{env.get('id_prefix', 'x')}-idx-{counter[0]}"
    env.setdefault("index_hits", []).append((token.meta["term"], ident))
    return f'<span class="ix" id="{escape(ident)}">{escape(token.content)}</span>'


def _render_fill(self, tokens, idx, options, env):
    meta = tokens[idx].meta
    if meta["last"]:
        return '<span class="fill fill-end"></span>'
    return f'<span class="fill" style="width: {min(meta["length"], 40) * 0.5:g}em"></span>'


def _render_footnote_ref(self, tokens, idx, options, env):
    body = env.get("footnote_bodies", {}).get(tokens[idx].meta["id"], "")
    return f'<span class="footnote">{body}</span>'


def _render_heading_open(self, tokens, idx, options, env):
    return self.renderToken(tokens, idx, options, env)


def _figure_image(tokens, idx):
    """The image of a figure paragraph that has a title (`![alt](pad "Bijschrift")`)."""
    if tokens[idx].attrGet("class") != "figure" or idx + 1 >= len(tokens):
        return None
    image = tokens[idx + 1].children[0]
    return image if image.attrGet("title") else None


def _render_paragraph_open(self, tokens, idx, options, env):
    """A figure whose image has a title is a <figure> with the title as its caption."""
    if _figure_image(tokens, idx) is not None:
        return '<figure class="figure">'
    return self.renderToken(tokens, idx, options, env)


def _render_paragraph_close(self, tokens, idx, options, env):
    opening = next((i for i in range(idx - 1, -1, -1)
                    if tokens[i].type == "paragraph_open" and tokens[i].level == tokens[idx].level),
                   None)
    image = _figure_image(tokens, opening) if opening is not None else None
    if image is not None:
        return f'<figcaption>{escape(str(image.attrGet("title")))}</figcaption></figure>\n'
    return self.renderToken(tokens, idx, options, env)


def _render_code_block(self, tokens, idx, options, env):
    token = tokens[idx]
    language = token.info.strip().split(" ")[0] if token.type == "fence" else ""
    css = f' class="language-{escape(language)}"' if language else ""
    return f"<pre><code{css}>{escape(token.content)}</code></pre>\n"


def extract_footnotes(md: MarkdownIt, tokens: list[Token], env: dict) -> list[Token]:
    """Render footnote bodies into env and drop the footnote block from the token stream.

    WeasyPrint places a footnote at the foot of the page when its body stands where it is
    called (`float: footnote`), so the body is rendered inline at the reference.
    """
    out: list[Token] = []
    bodies: dict[int, str] = {}
    current: list[Token] | None = None
    current_id = None
    for token in tokens:
        if token.type == "footnote_block_open" or token.type == "footnote_block_close":
            continue
        if token.type == "footnote_open":
            current, current_id = [], token.meta["id"]
            continue
        if token.type == "footnote_close":
            html = md.renderer.render(current, md.options, env).strip()
            html = re.sub(r"^<p>|</p>$", "", html)
            bodies[current_id] = html.replace("</p>\n<p>", " ")
            current = None
            continue
        if token.type == "footnote_anchor":
            continue
        if current is not None:
            current.append(token)
        else:
            out.append(token)
    env["footnote_bodies"] = bodies
    return out
