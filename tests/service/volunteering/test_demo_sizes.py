"""The demo loads at any size it offers (``greencoin demo --residents N --months M``)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select


@pytest.mark.parametrize("residents, months", [(20, 1)])
def test_a_small_short_demo_loads(app, residents, months):
    """Its late paper record (补录) was put at 09:00 Shanghai, where a volunteer's own generated
    shift could already be: at 20 residents and one month that refused the whole demo."""
    from service.demo import load_demo
    from service.extensions import db
    from service.volunteering.models import ServiceRecord

    with app.app_context():
        load_demo(residents_per_community=residents, months=months)
        late = db.session.scalar(select(func.count()).select_from(ServiceRecord)
                                 .where(ServiceRecord.evidence == "补录：纸质签到表"))
    assert late > 0
