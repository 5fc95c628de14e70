"""Good-conduct indicators (积分指标): the community's list of what earns or costs points, with examples."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.access import Principal
from ..community.operations import get_community
from ..errors import Conflict
from ..rows import get_row
from .models import Indicator

# The default categories seen in the field (SPEC §2 "Good conduct"): code, 中文, English.
DEFAULT_CATEGORIES = [
    ("public_safety", "平安建设", "Public safety"),
    ("environment", "环境卫生", "Environment and hygiene"),
    ("public_welfare", "社会公益", "Public welfare"),
    ("neighbourliness", "邻里关系", "Neighbourliness"),
    ("family_harmony", "家庭和睦", "Family harmony"),
    ("elder_care", "孝老爱亲", "Caring for elders"),
    ("customs_reform", "移风易俗", "Reforming wasteful customs"),
]

# Example indicators a new community starts with (code, 名称, name, category, points, beneficiary,
# monthly cap in points); values follow the schemes in research/domain-rules.md, 1 point = 1 coin.
DEFAULT_INDICATORS = [
    ("PS-PATROL", "义务巡逻", "Voluntary patrol", "public_safety", 5, "member", 20),
    ("PS-REPORT", "举报安全隐患", "Reporting a hazard or crime", "public_safety", 10, "member", 30),
    ("PS-BRAVE", "见义勇为", "Acting bravely for others", "public_safety", 50, "member", None),
    ("PS-PACT", "违反村规民约", "Breaking the residents' pact", "public_safety", -50, "household", None),
    ("EN-TIDY", "家庭六齐", "A tidy household", "environment", 20, "household", 20),
    ("EN-SORT", "垃圾分类", "Sorting waste", "environment", 2, "household", 30),
    ("EN-DUMP", "乱倒垃圾", "Dumping rubbish", "environment", -20, "household", None),
    ("PW-BLOOD", "无偿献血", "Donating blood", "public_welfare", 20, "member", None),
    ("PW-DONATE", "爱心捐赠", "Charitable donation", "public_welfare", 10, "member", 30),
    ("NB-MEDIATE", "调解邻里纠纷", "Mediating a neighbours' dispute", "neighbourliness", 10, "member", 30),
    ("NB-MEETING", "参加村民会议", "Attending a village meeting", "neighbourliness", 2, "member", 4),
    ("FH-HARMONY", "和睦家庭", "A harmonious family", "family_harmony", 30, "household", 30),
    ("EC-CARE", "照料孤寡老人", "Caring for a lonely elder", "elder_care", 10, "member", 40),
    ("EC-NEGLECT", "不履行赡养义务", "Failing to support one's parents", "elder_care", -100, "household", None),
    ("CR-SIMPLE", "婚事新办丧事简办", "A simple wedding or funeral", "customs_reform", 30, "household", None),
    ("CR-BANQUET", "违规整酒", "A banned banquet", "customs_reform", -50, "household", None),
]


def seed_default_indicators(session: Session, community_id: int) -> list[Indicator]:
    """Give a community the example indicators, once (a community that has any keeps its own)."""
    get_community(session, community_id)
    if session.scalars(select(Indicator.id).where(Indicator.community_id == community_id).limit(1)).first():
        return []
    made = [
        Indicator(
            community_id=community_id, code=code, name=name, name_en=name_en, category=category,
            points=points, beneficiary=beneficiary, monthly_cap_points=cap, active=True,
        )
        for code, name, name_en, category, points, beneficiary, cap in DEFAULT_INDICATORS
    ]
    session.add_all(made)
    session.flush()
    return made


def get_indicator(session: Session, principal: Principal, indicator_id: int) -> Indicator:
    indicator = get_row(session, Indicator, indicator_id, what="indicator")
    principal.require_community(indicator.community_id, what="indicator")
    return indicator


def list_indicators(session: Session, principal: Principal, *, community_id=None, category=None, active=None):
    community_id = principal.listing_community(community_id)
    query = select(Indicator).order_by(Indicator.community_id, Indicator.id)
    for column, value in ((Indicator.community_id, community_id), (Indicator.category, category), (Indicator.active, active)):
        if value is not None:
            query = query.where(column == value)
    return session.scalars(query).all()


def create_indicator(session: Session, principal: Principal, *, community_id: int, code: str, **fields) -> Indicator:
    principal.require_admin_of(community_id)
    get_community(session, community_id)
    taken = select(Indicator.id).where(Indicator.community_id == community_id, Indicator.code == code)
    if session.scalars(taken).first():
        raise Conflict("the community already has an indicator with this code", code="indicator_code_taken")
    indicator = Indicator(community_id=community_id, code=code, **fields)
    session.add(indicator)
    session.flush()
    return indicator


def update_indicator(session: Session, principal: Principal, indicator_id: int, changes: dict) -> Indicator:
    """Change an indicator; past awards keep the points they were made with."""
    indicator = get_indicator(session, principal, indicator_id)
    principal.require_admin_of(indicator.community_id)
    for key in ("name", "name_en", "category", "points", "monthly_cap_points", "active", "beneficiary"):
        if key in changes:
            setattr(indicator, key, changes[key])
    session.flush()
    return indicator
