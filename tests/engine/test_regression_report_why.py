"""The regression report explains every case, as the app's Why? panel does: per case its
prediction, the model's average score, and each input's exact contribution; they add up."""

import re

from engine.registry.registry import Registry
from engine.regression.report import render
from engine.services.explain import explain_row
from engine.services.regress import case_whys
from tests.engine.conftest import json_cli
from tests.engine.workspace_kit import DEMO_LABEL


def test_the_cli_report_explains_each_case_and_the_contributions_add_up(ws, tmp_path, capsys):
    code, doc, err = json_cli(ws.root, capsys)("regress", "--report", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "<h2>Why each case got its prediction</h2>" in page
    cases = doc["cases"]["total"] if "cases" in doc else None
    details = re.findall(r"<details><summary>Row (\d+)", page)
    assert cases is None or len(details) == cases
    first = page[page.index("<details>"):page.index("</details>")]
    score, base = map(float, re.search(r"score for class \S+ (-?[\d.]+) = average (-?[\d.]+)",
                                       first).groups())
    contributions = [float(v) for v in re.findall(r"<td class=(?:fail|down)>([+-][\d.]+)</td>",
                                                  first)]
    assert len(contributions) == 9  # the demo model's inputs
    assert abs(base + sum(contributions) - score) < 1e-3  # 4 decimals each, as shown


def test_case_whys_are_the_panels_explanations(ws):
    with Registry.open(ws.root) as registry:
        model, label = registry.load_model()[:2]
    from engine.services.regress import regress
    with Registry.open(ws.root) as registry:
        result = regress(registry).result
    whys = case_whys(result, ws.root)
    assert label == DEMO_LABEL and len(whys) == len(result.cases)
    assert whys[0] == explain_row(model, label, result.cases[0].inputs)
    assert "Why each case" not in render(result, "t", {})  # none given: no section
