"""Bulk import of residents and opening balances from an old scheme's spreadsheet."""

from ledger import Unit
from service.extensions import db
from service.imports.operations import import_opening_balances, import_residents, read_csv
from service.members.operations import get_member, member_balance

RESIDENTS = """\ufeffcommunity_code,name,phone,national_id,household,birth_date
{code},王秀英,13800000001,530102195001011234,王家,1950-01-01
{code},王小明,13800000002,,王家,2001-05-02
{code},李四,13800000003,12345,,1980-01-01
NOPE,赵五,13800000004,,,
{code},钱六,call-me,,,
"""


def _import(app, importer, text):
    with app.app_context():
        results = list(importer(db.session, read_csv(text)))
        db.session.commit()
        return results


def test_residents_import_row_by_row_and_a_second_run_creates_nothing(app, world):
    community = world.community()
    first = _import(app, import_residents, RESIDENTS.format(code=community.code))
    assert [r["status"] for r in first] == ["created", "created", "error", "error", "error"]
    assert first[2]["code"] == "invalid_national_id" and first[3]["code"] == "unknown_community"
    assert first[4]["code"] == "invalid_phone"
    again = _import(app, import_residents, RESIDENTS.format(code=community.code))
    assert [r["status"] for r in again] == ["exists", "exists", "error", "error", "error"]
    assert again[0]["member_id"] == first[0]["member_id"]
    with app.app_context():
        elder, son = get_member(db.session, first[0]["member_id"]), get_member(db.session, first[1]["member_id"])
        assert elder.household_id == son.household_id is not None
        assert elder.national_id_masked == "**************1234"  # the last four only (SPEC §2)


def test_opening_balances_keep_lifetime_hours_apart_from_banked_hours_and_post_once(app, world):
    community = world.community()
    spent, giver = world.member(community, name="张三"), world.member(community, name="李四")
    sheet = (
        "community_code,volunteer_number,coins,hours_minutes,lifetime_hours_minutes,note\n"
        f"{community.code},{spent.volunteer_number},120,600,6000,旧台账\n"
        f"{community.code},{giver.volunteer_number},0,300,0,家人赠送\n"
        f"{community.code},{giver.volunteer_number},1.5,0,0,\n"
        f"{community.code},V-NOBODY,5,0,0,\n"
    )
    first = _import(app, import_opening_balances, sheet)
    assert [r["status"] for r in first] == ["created", "created", "error", "error"]
    assert first[2]["code"] == "not_an_integer" and first[3]["code"] == "unknown_volunteer"
    with app.app_context():
        balance = member_balance(db.session, get_member(db.session, spent.id))
        assert (balance["coins"], balance["hours_minutes"], balance["lifetime_hours_minutes"]) == (120, 600, 6000)
        assert balance["star"] == 1  # 100 h lifetime
        other = member_balance(db.session, get_member(db.session, giver.id))
        assert (other["hours_minutes"], other["lifetime_hours_minutes"]) == (300, 0)

    again = _import(app, import_opening_balances, sheet)
    assert [r["status"] for r in again][:2] == ["exists", "exists"]
    assert world.balance(spent) == 120 and world.balance(spent, Unit.HOUR) == 600
    assert world.invariants() == {}


def test_an_opening_balance_changed_after_import_is_refused_not_posted_again(app, world):
    community = world.community()
    member = world.member(community)
    row = "community_code,volunteer_number,coins\n{code},{number},{coins}\n"
    _import(app, import_opening_balances, row.format(code=community.code, number=member.volunteer_number, coins=50))
    changed = _import(app, import_opening_balances, row.format(code=community.code, number=member.volunteer_number, coins=80))
    assert changed[0]["status"] == "error" and changed[0]["code"] == "idempotency_conflict"
    assert world.balance(member) == 50


def test_residents_import_takes_phones_by_the_registration_rule(app, world):
    """A mainland mobile as registration takes it (spaces, dashes, +86 dropped); a landline is refused."""
    community = world.community()
    sheet = (
        "community_code,name,phone,national_id,household,birth_date\n"
        f"{community.code},周一,+86 138 0000-0021,,,\n"
        f"{community.code},吴二,0871-6512345,,,\n"
        f"{community.code},郑三,12800000023,,,\n"
    )
    results = _import(app, import_residents, sheet)
    assert [r["status"] for r in results] == ["created", "error", "error"]
    assert results[1]["code"] == results[2]["code"] == "invalid_phone"
    with app.app_context():
        assert get_member(db.session, results[0]["member_id"]).phone == "13800000021"
