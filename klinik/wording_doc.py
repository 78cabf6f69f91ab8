"""Write docs/wording.md: every word staff read, in one list, for a reviewer of the Indonesian to read as a whole.

The words live where their code is: the outputs' in klinik/wording.py, the data checks' in data/messages.py, each
feature's name and sentences in features/catalog.py, the staff page's own in serving/web/text.py. Run
``python -m klinik.wording_doc --out docs/wording.md`` after changing any of them; a test holds the committed page
equal to what this writes.
"""

from __future__ import annotations

from klinik.wording import WORDS

COMMAND = "python -m klinik.wording_doc --out docs/wording.md"
SECTIONS = (  # key prefix -> heading
    ("status.", "Status codes"),
    ("action.", "Recommendations"),
    ("clinic.", "Clinics"),
    ("category.", "Health categories"),
    ("disclaimer", "The advice"),
    ("reason.", "How reasons are read"),
    ("fact.", "What reasons say (models/facts.py fills in the numbers)"),
    ("why.", "Why a level above its band is unhealthy"),
    ("label.", "Short labels of reasons (charts count reasons by them)"),
    ("report.", "The report (report.html)"),
    ("chart.", "The report's charts"),
    ("sheet.", "The workbook's sheets"),
    ("col.", "The workbook's and report's column headers"),
    ("guide.", "The workbook's guide sheet (Petunjuk)"),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    from klinik.features.catalog import FEATURES

    lines = [
        "# Wording: every word staff read",
        "",
        f"<!-- Generated from klinik/wording.py and features/catalog.py by `{COMMAND}`; do not edit by hand. -->",
        "",
        "The Indonesian (and English) of the report, the workbook, the reasons, the codes and the data checks, in "
        "one list to be reviewed as a whole. `{name}` marks a value filled in when the words are used. Numbers are "
        "written the Indonesian way (`12,5%`, `1.250.000`).",
        "",
    ]
    done: set[str] = set()
    for prefix, heading in SECTIONS:
        keys = [k for k in WORDS if k.startswith(prefix) and k not in done]
        if not keys:
            continue
        lines += [f"## {heading}", "", "| key | Bahasa Indonesia | English |", "|---|---|---|"]
        lines += [f"| `{k}` | {_cell(WORDS[k][0])} | {_cell(WORDS[k][1])} |" for k in keys]
        lines.append("")
        done.update(keys)
    rest = [k for k in WORDS if k not in done]
    if rest:
        lines += ["## Other", "", "| key | Bahasa Indonesia | English |", "|---|---|---|"]
        lines += [f"| `{k}` | {_cell(WORDS[k][0])} | {_cell(WORDS[k][1])} |" for k in rest]
        lines.append("")
    from klinik.data.messages import CATALOGUE

    lines += [
        "## Messages of the data checks (data/messages.py)",
        "",
        "What `klinik validate`, `klinik template` and `klinik score` say about an office's data.",
        "",
        "| key | Bahasa Indonesia | English |",
        "|---|---|---|",
    ]
    for key, (english, indonesian) in CATALOGUE.items():
        english = " / ".join(english) if isinstance(english, tuple) else english
        lines.append(f"| `{key}` | {_cell(indonesian)} | {_cell(english)} |")
    lines += _page_words()
    lines += [
        "",
        "## Features (features/catalog.py)",
        "",
        "Each feature's name, and the sentences said of its value where it has its own.",
        "",
        "| feature | nama | name | kalimat (ya / tidak, nol) |",
        "|---|---|---|---|",
    ]
    for name, spec in FEATURES.items():
        said = " / ".join(w[0] for w in (spec.says, spec.says_off) if w)
        lines.append(f"| `{name}` | {_cell(spec.label_id)} | {_cell(spec.label_en)} | {_cell(said)} |")
    return "\n".join(lines).rstrip() + "\n"


def _page_words() -> list[str]:
    """The staff page's own words (serving/web/text.py); those it shares with the outputs are listed above."""
    from klinik.serving.web import text

    shared = set(WORDS.values())
    lines = [
        "",
        "## The staff page (serving/web/text.py)",
        "",
        "The page's own words; the codes, the lists' column headers and the reasons come from the lists above.",
        "",
        "| key | Bahasa Indonesia | English |",
        "|---|---|---|",
    ]
    for key, pair in text.T.items():
        if pair not in shared:
            lines.append(f"| `{key}` | {_cell(pair[0])} | {_cell(pair[1])} |")
    for slug, pair in text.LIST_INTRO.items():
        lines.append(f"| `list.{slug}` | {_cell(pair[0])} | {_cell(pair[1])} |")
    for kind, table in (("case", text.CASE_OUTCOME), ("event", text.EVENT_KIND), ("event_detail", text.EVENT_DETAIL)):
        lines += [f"| `{kind}.{code}` | {_cell(pair[0])} | {_cell(pair[1])} |" for code, pair in table.items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    from klinik.data.contract_doc import page_command

    return page_command(render, "python -m klinik.wording_doc", __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    raise SystemExit(main())
