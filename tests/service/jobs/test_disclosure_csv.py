"""The disclosure CSV never carries a spreadsheet formula from typed-in text (CSV injection)."""

from __future__ import annotations

import csv
import io

from service.conduct.disclosure import as_csv


def test_typed_in_text_cannot_become_a_spreadsheet_formula():
    body = {
        "community_name": "=HYPERLINK(\"http://x\")",
        "month": "2026-10",
        "rows": [
            {"date": "2026-10-02", "kind": "award", "name": "@*x", "volunteer_number": None,
             "indicator": "+cmd|' /C calc'!A0", "points": -5},
        ],
        "supermarkets": [
            {"name": "-2+3", "redemptions": 1, "coins_redeemed": 5, "refunds": 0, "coins_refunded": 0, "net_coins": 5},
        ],
        "flags": [
            {"flag_id": 1, "award_id": 2, "flagged_on": "2026-10-03", "reason": "=1+2", "status": "kept",
             "resolved_on": "2026-10-04", "resolution_note": "@SUM(A1)"},
        ],
    }
    cells = [cell for row in csv.reader(io.StringIO(as_csv(body).lstrip("\ufeff"))) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not c.lstrip("-").isdigit())]
    assert "'=1+2" in cells and "'@SUM(A1)" in cells and "'-2+3" in cells
    assert "-5" in cells  # numbers stay numbers
