"""docs/api.md is the current OpenAPI document as Markdown (regenerate it when this fails)."""

from __future__ import annotations

from pathlib import Path

from service.apireference import current_markdown

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def test_the_api_reference_in_docs_is_up_to_date(app):
    expected = current_markdown(app)
    assert REFERENCE.read_text(encoding="utf-8") == expected, (
        "docs/api.md is out of date: run `.venv/bin/greencoin api-reference --output docs/api.md`"
    )


def test_the_reference_covers_every_operation_with_its_errors_and_links(app):
    text = current_markdown(app)
    assert "### `POST /api/v1/redemptions`" in text
    assert "operationId `postRedemptions` · bearer token" in text
    assert "operationId `postStaffToken` · public (no token)" in text
    assert "→ link `refund`: `postRedemptionRefund`" in text
    assert "| 503 | ServiceUnavailable | [ApiError](#schema-apierror) |" in text
    assert '<a id="schema-apierror"></a>' in text
