"""The Trial page (page.py) and its parts: the promotion gate's form (gate_form.py) and tab
(gate_tab.py) with its verdict (verdict.py), the running trial (view.py), the history
(history.py), and the tables they fill (tables.py)."""
