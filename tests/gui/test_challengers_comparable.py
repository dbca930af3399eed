"""Challengers that cannot be compared with the champion (another model's target or classes,
no champion of their own, inputs the corpus lacks) are listed greyed with the reason and cannot
be ticked, on the Back-test page and in the Trial gate form; comparable ones stay offered."""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.progress import CancelToken, no_progress
from engine.registry.registry import Registry
from gui.tasks.models import snapshot
from tests.gui.kit import TIMEOUT_MS, build_test_bundles
from tests.gui.test_backtest_page import CHALLENGER, CHAMPION, choose_corpus
from tests.gui.test_backtest_page import challenger_bundle as challenger_bundle
from tests.gui.test_backtest_page import corpus as corpus
from tests.gui.test_backtest_page import flights as flights
from tests.gui.test_backtest_page import page as page


def install(ctx, *bundles, activate=False) -> None:
    registry = Registry.open(ctx.workspace)
    try:
        for bundle in bundles:
            registry.import_bundle(bundle.read_bytes(), activate=activate)
    finally:
        registry.close()


def test_back_test_greys_the_challengers_it_cannot_compare(
        page, ctx, qtbot, corpus, challenger_bundle, tmp_path, monkeypatch):
    trust, bundles, _ = build_test_bundles(tmp_path, versions=(1,))
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(trust))
    install(ctx, challenger_bundle, bundles[1])  # demo v2 and test-model v1, neither active
    page.set_snapshot(snapshot(ctx.workspace, progress=no_progress, cancel=CancelToken()))
    setup = page.setup
    assert setup.picker.label() == CHAMPION
    qtbot.waitUntil(lambda: "test-model@1" in setup.unavailable(), timeout=TIMEOUT_MS)
    items = {setup.challengers.item(i).data(Qt.ItemDataRole.UserRole):
             setup.challengers.item(i) for i in range(setup.challengers.count())}
    other, same = items["test-model@1"], items[CHALLENGER]
    assert not other.flags() & Qt.ItemFlag.ItemIsEnabled
    assert other.text() == ("test-model@1  (installed): cannot be compared, it predicts 'y', "
                            f"{CHAMPION} 'late'")
    assert same.flags() & Qt.ItemFlag.ItemIsEnabled and same.text() == \
        f"{CHALLENGER}  (installed)"
    other.setCheckState(Qt.CheckState.Checked)  # as a stray click would
    same.setCheckState(Qt.CheckState.Checked)
    choose_corpus(page, qtbot, corpus)  # the check runs again with the corpus's columns
    qtbot.waitUntil(lambda: setup._check_key is not None and setup._check_key[1] is not None
                    and "test-model@1" in setup.unavailable(), timeout=TIMEOUT_MS)
    assert setup.chosen_challengers() == [CHALLENGER]  # the greyed one is never chosen
    # a bundle file of another model, added by hand, is greyed too
    setup.add_bundle(bundles[1])
    qtbot.waitUntil(lambda: bundles[1] in setup.unavailable(), timeout=TIMEOUT_MS)
    assert setup.chosen_challengers() == [CHALLENGER]


def test_the_gate_form_greys_candidates_without_a_comparable_champion(ctx, qtbot, corpus,
                                                                     challenger_bundle,
                                                                     tmp_path, monkeypatch):
    from gui.pages.trial.gate_form import GateForm

    trust, bundles, _ = build_test_bundles(tmp_path, versions=(1,))
    monkeypatch.setenv("RATCHET_TRUST_STORE", str(trust))
    install(ctx, challenger_bundle, bundles[1])
    form = GateForm(ctx)
    qtbot.addWidget(form)
    form.set_candidates([CHALLENGER, "test-model@1"])
    qtbot.waitUntil(lambda: "test-model@1" in form.unavailable(), timeout=TIMEOUT_MS)
    combo = form.candidate_combo
    index = combo.findData("test-model@1")
    assert not combo.model().item(index).isEnabled()
    assert combo.itemText(index) == ("test-model@1  (installed, not active): cannot be "
                                     "compared, no version of test-model is active here, so it "
                                     "has no champion")
    assert combo.model().item(combo.findData(CHALLENGER)).isEnabled()
    form.set_candidate(CHALLENGER)
    assert form.candidate() == CHALLENGER
