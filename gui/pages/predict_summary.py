"""The validation summary shown before a run, in plain words, from an engine Inspection."""

from __future__ import annotations

import html

from gui import colors
from gui.tasks.predict import Checked

RED, GREEN, AMBER = colors.RED.name(), colors.GREEN.name(), colors.AMBER.name()
SHOW_EXTRA = 6


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:SHOW_EXTRA])
    more = len(names) - SHOW_EXTRA
    return html.escape(shown + (f" and {more} more" if more > 0 else ""))


def _row(label: str, text: str) -> str:
    return f"<tr><td style='padding-right:12px'><b>{label}</b></td><td>{text}</td></tr>"


def summary_html(checked: Checked) -> tuple[str, bool]:
    """(rich text, ready): ready when the file can be scored (rows may still be rejected)."""
    i = checked.inspection
    needed = len(i.matched) + len(i.missing)
    rows = [_row("Rows", f"{i.rows:,}" + (" (header only: nothing to score)" if not i.rows
                                           else ""))]
    separator = " (separated by semicolons)" if i.delimiter == ";" else ""
    if i.missing:
        rows.append(_row("Columns", f"<span style='color:{RED}'>{len(i.missing)} of the "
                         f"{needed} columns the model needs are missing: "
                         f"<b>{_names(i.missing)}</b></span>{separator}"))
    else:
        used = f"all {needed} columns the model needs are present{separator}"
        if i.extra:
            used += f"; {len(i.extra)} more are kept in the output, unused ({_names(i.extra)})"
        rows.append(_row("Columns", used))
    if not i.missing and i.sample_rows:
        first = f"First {i.sample_rows:,} rows" if i.sample_rows < i.rows else "Every row"
        if i.sample_rejected == 0:
            rows.append(_row(first, f"<span style='color:{GREEN}'>all can be scored</span>"))
        else:
            examples = "".join(f"<li>{html.escape(p)}</li>" for p in i.sample_problems)
            rows.append(_row(first, f"<span style='color:{AMBER}'>{i.sample_rejected:,} cannot "
                             "be scored; they will be kept in the output and marked rejected"
                             f"</span><ul style='margin:0'>{examples}</ul>"))
    ready = i.ready and i.rows > 0
    how = " (chosen by the file's columns)" if checked.by_columns else ""
    if ready:
        verdict = f"<b style='color:{GREEN}'>Ready to run with {checked.model_label}{how}.</b>"
    elif i.missing:
        verdict = (f"<b style='color:{RED}'>This file cannot be scored with "
                   f"{checked.model_label}{how}.</b> Add the missing columns, or choose "
                   "another file or model.")
    else:
        verdict = f"<b style='color:{RED}'>There are no rows to score.</b>"
    return f"<table cellspacing='0'>{''.join(rows)}</table><p>{verdict}</p>", ready


def error_html(message: str) -> str:
    """A file that cannot be read at all (the engine's one-paragraph message)."""
    text = message[:1].upper() + message[1:]
    return f"<p style='color:{RED}'><b>This file cannot be used.</b> {html.escape(text)}</p>"


CHOICE_HEADINGS = {
    "E_MODEL_AMBIGUOUS": "Several models fit this file: choose one under “Model” above.",
    "E_NO_MODEL_FITS": "No installed model fits this file.",
}


def choice_html(code: str, message: str) -> str | None:
    """The header rule could not choose a model (engine.registry.choice): which models fit,
    or what each one lacks, and what to do; None for any other error."""
    heading = CHOICE_HEADINGS.get(code)
    if heading is None:
        return None
    text = message[:1].upper() + message[1:]
    return f"<p style='color:{AMBER if code == 'E_MODEL_AMBIGUOUS' else RED}'><b>{heading}</b> " \
           f"{html.escape(text)}</p>"
