"""`build.py new cahier <slug> --title "…"`: a new cahier that builds at once.

Creates cahiers/NN-<slug>/ with the next number of the series: a publication.yml, a
cahier.md with the sections every cahier has (each says what belongs in it), a form page to
fill in with the case's working document, and a colophon. `make` builds it without any other
change; `build.py check` says what is still missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .errors import BuildError
from .sources import slug

ACCENTS = ("var(--c-hr)", "var(--c-management)", "var(--c-lijn)", "var(--c-medewerker)")

PUBLICATION = """\
# Cahier {number} of the Talenten Trotter series, made by `build.py new cahier`.
id: cahier-{nn}
kind: cahier
series: Talenten Trotter cahier
number: {number}
title: {title}
subtitle: {subtitle}
language: nl
trim: 210mm 297mm
template: cahier.html.j2
stylesheet: cahier.css
author: POM Oost-Vlaanderen
subject: Praktijkvoorbeeld competentiemanagement
keywords: [competentiemanagement, praktijkvoorbeeld, cahier]
accent: "{accent}"
summary: {summary}
pages: {{multiple: 4, max: 16}}
colophon: colofon.md
sources:
  - cahier.md
  - formulier.md
"""

CAHIER = """\
---
intro: Vat hier in twee zinnen samen wat de lezer uit dit praktijkvoorbeeld meeneemt.
---

# {title} {{#{slug}}}

Begin met een moment op de werkvloer dat de lezer meteen in de organisatie zet: wie, waar,
wanneer. Vertel daarna in een paar zinnen waar dit cahier over gaat.

## De organisatie {{#{slug}-organisatie}}

Wat doet de organisatie, hoeveel mensen werken er, hoe is het werk georganiseerd? Stel de
mensen voor die in het verhaal terugkomen.

## Waarom competentiemanagement? {{#{slug}-waarom}}

Welke vragen of problemen zetten de organisatie op weg: de arbeidsmarkt, verloop, nieuwe
technologie, een nieuwe opdracht?

::: wat Een begrip uit dit verhaal
Leg hier een begrip uit dat de lezer nodig heeft om het verhaal te volgen.
:::

## Zo pakten ze het aan {{#{slug}-aanpak}}

Vertel de aanpak in de volgorde die bij dit verhaal past: stap voor stap, als dagboek, of
rond één gesprek of één instrument.

::: citaat
Een uitspraak van iemand uit het verhaal, in zijn of haar eigen woorden.
— Naam, functie
:::

## Wat het opleverde {{#{slug}-resultaten}}

Wat veranderde er, in cijfers en in verhalen? Wat bleef moeilijk?

::: toppen Wat goed werkte
- Een eerste sterk punt.
:::

::: dalen Waar het schuurde
- Een eerste moeilijkheid.
:::

::: zeker-meenemen Voor wie zelf vertrekt
- Een eerste tip voor een organisatie die hetzelfde wil doen.
:::
"""

FORM = """\
---
intro: Het werkdocument uit dit verhaal, om te kopiëren en zelf te gebruiken.
---

# Om te kopiëren: het werkdocument {{#{slug}-formulier}}

::: formulier {title}
Naam: ____

Datum: ______________ Functie: ____

| Wat | Afspraak | Datum |
|---|---|---|
| | | |
| | | |

- [ ] Een eerste punt om af te vinken
:::
"""

COLOPHON = """\
"{title}" is cahier {number} in de reeks Talenten Trotter, een uitgave van de Provinciale
OntwikkelingsMaatschappij (POM) Oost-Vlaanderen. De organisatie en de mensen in dit cahier zijn
een samengesteld beeld; elke gelijkenis met bestaande bedrijven of personen berust op toeval.
"""


def next_number(cahiers: Path) -> int:
    """The next number of the series: above every number and folder in `cahiers`."""
    numbers = [0]
    for path in cahiers.glob("*/publication.yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("number"), int):
            numbers.append(data["number"])
        match = re.match(r"(\d+)-", path.parent.name)
        if match:
            numbers.append(int(match.group(1)))
    return max(numbers) + 1


def new_cahier(project, name: str, title: str, subtitle: str | None = None) -> Path:
    """Create cahiers/NN-<slug>/ in the project and return the folder."""
    cahiers = project.cahiers
    name = slug(name)
    if not name:
        raise BuildError("the cahier needs a name of letters or digits, e.g. `zorg-de-linde`")
    if not title.strip():
        raise BuildError("the cahier needs a title: --title \"…\"")
    if any(p.name.split("-", 1)[-1] == name for p in cahiers.glob("*-*") if p.is_dir()):
        raise BuildError(f"a cahier named `{name}` exists already in cahiers/")
    number = next_number(cahiers)
    folder = cahiers / f"{number:02d}-{name}"
    values = {"number": number, "nn": f"{number:02d}", "slug": name,
              "title": _yaml(title.strip()),
              "subtitle": _yaml(subtitle or "Een praktijkvoorbeeld van competentiemanagement"),
              "accent": ACCENTS[(number - 1) % len(ACCENTS)],
              "summary": _yaml(f"Hoe {title.strip()} met competenties aan de slag ging.")}
    folder.mkdir(parents=True)
    files = {"publication.yml": PUBLICATION, "cahier.md": CAHIER, "formulier.md": FORM,
             "colofon.md": COLOPHON}
    for file, template in files.items():
        text = template.format(**{**values, "title": title.strip()}
                               if file.endswith(".md") else values)
        (folder / file).write_text(text, encoding="utf-8")
    return folder


def _yaml(text: str) -> str:
    return yaml.safe_dump(text, allow_unicode=True, width=1000).strip().removesuffix("...") \
        .strip()
