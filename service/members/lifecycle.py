"""The lifecycle of a resident's account and card (SPEC §2, issue #9 §6), each step audit-logged.

- **PIN reset** at the desk after checking the person: the number typed from their ID card must
  match the keyed digest on file, or (no number on file, or no ID card with them) the document that
  was checked is named. A new random PIN is returned once and never stored in clear; the resident's
  tokens (signed-in phones) stop working. Each call makes a new PIN (a retry simply resets again).
- **Lost card**: a new card code is issued; the old one matches nothing from that moment (counter,
  sign-in, sign-in sheets all look the code up), the resident's tokens are revoked, and the history
  (wallets, records, awards) stays with the resident, who is the same row.
- **Deactivation** (moved away, died): no sign-in, no earning, no spending from then on. What the
  resident held is moved by one explicit ledger posting (kind ``member_departure``): coins to the
  household wallet when there is a household (or ``coins_to="community"``), otherwise back to the
  community's issuance account; time-bank minutes back to the community's HOUR issuance (hours are
  personal; a family that wants them gives them first with an hour transfer). Lifetime hours (stars)
  are unchanged. Idempotent by its ledger key; deactivating twice is a 409.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import ledger
from ledger import Unit
from ledger.models import utcnow

from ..audit.operations import record_audit
from ..auth.access import Principal
from ..auth.models import ApiToken, Role
from ..auth.operations import hash_secret
from ..community.operations import issuance_account
from ..errors import Conflict, Forbidden, Invalid
from ..privacy import national_id_digest, normalise_national_id
from ..rows import get_row
from .cards import card_ending, new_card_code
from .models import Household, Member
from .operations import check_birth_date, household_wallet, member_wallet, new_pin, protect_national_id

IDENTITY_CHECKS = ("national_id", "document")
COINS_TO = ("household", "community")
DEPARTURE_KIND = "member_departure"


def _member_for_desk(session: Session, principal: Principal, member_id: int) -> Member:
    """The resident, locked, if the caller works at the desk or the office of their community."""
    member = get_row(session, Member, member_id, what="member", lock=True)
    principal.require_community(member.community_id, what="member")
    if principal.role not in (Role.ADMIN, Role.STATION_STAFF):
        raise Forbidden("only the desk and administrators manage residents' accounts")
    return member


def require_active(member: Member) -> None:
    """Deactivated residents neither earn nor spend (and cannot sign in)."""
    if not member.active:
        raise Conflict("this resident is deactivated", code="member_inactive")


def revoke_member_tokens(session: Session, member_id: int) -> int:
    result = session.execute(
        update(ApiToken).where(ApiToken.member_id == member_id, ApiToken.revoked.is_(False)).values(revoked=True)
    )
    return result.rowcount or 0


def check_identity(member: Member, *, identity: str, national_id: str | None, document: str | None) -> str:
    """How the person at the desk was identified; refuses a number that is not the one on file."""
    if identity == "national_id":
        if member.national_id_digest is None:
            raise Invalid("no ID number is on file for this resident: name the document checked",
                          code="no_national_id_on_file")
        try:
            value = normalise_national_id(national_id or "")
        except ValueError as exc:
            raise Invalid(str(exc), code="invalid_national_id") from None
        if national_id_digest(value) != member.national_id_digest:
            raise Conflict("the ID number does not match the one on file", code="identity_mismatch")
        return "national_id"
    if identity == "document":
        if not (document or "").strip():
            raise Invalid("name the document that was checked", code="identity_document_required")
        return "document"
    raise Invalid("identity is national_id or document", code="identity_required")


EDITABLE = ("name", "phone", "birth_date", "national_id")


def update_member(session: Session, principal: Principal, member_id: int, **changes) -> Member:
    """Correct a resident's name, phone, birth date or ID number (through the keyed digest: the
    number is checked for duplicates and kept only as digest and last four). Audit-logged with
    before → after; the phone and the ID number only as "(changed)". Households: ``/households``."""
    member = _member_for_desk(session, principal, member_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid(f"not editable here: {', '.join(sorted(unknown))}", code="not_editable")
    before = {"name": member.name, "phone": member.phone, "birth_date": member.birth_date,
              "national_id": member.national_id_digest}
    if "name" in changes:
        if not (changes["name"] or "").strip():
            raise Invalid("the name is required", code="name_required")
        member.name = changes["name"].strip()
    if "phone" in changes:
        member.phone = changes["phone"] or None
    if "birth_date" in changes:
        check_birth_date(changes["birth_date"])
        member.birth_date = changes["birth_date"]
    if "national_id" in changes:
        if changes["national_id"]:
            member.national_id_digest, member.national_id_masked = protect_national_id(
                session, changes["national_id"], member_id=member.id
            )
        else:
            member.national_id_digest = member.national_id_masked = None
    after = {"name": member.name, "phone": member.phone, "birth_date": member.birth_date,
             "national_id": member.national_id_digest}
    if before != after:
        record_audit(session, principal=principal, action="member.updated", target_type="member",
                     target_id=member.id, community_id=member.community_id, before=before, after=after)
    session.flush()
    return member


def reset_pin(
    session: Session, principal: Principal, member_id: int, *, identity: str, national_id=None, document=None
) -> tuple[Member, str]:
    """A new PIN for a resident whose identity the desk checked; returns it once."""
    member = _member_for_desk(session, principal, member_id)
    require_active(member)
    how = check_identity(member, identity=identity, national_id=national_id, document=document)
    pin = new_pin()
    member.pin_hash = hash_secret(pin)
    revoked = revoke_member_tokens(session, member.id)
    record_audit(
        session, principal=principal, action="member.pin_reset", target_type="member", target_id=member.id,
        community_id=member.community_id, before=None,
        after={"pin": "new", "identity_checked_by": how, "document": (document or "").strip()[:100] or None,
               "tokens_revoked": revoked},
    )
    session.flush()
    return member, pin


def replace_lost_card(session: Session, principal: Principal, member_id: int, *, reason: str) -> tuple[Member, str]:
    """A new card code; the old one is refused everywhere from the commit on."""
    member = _member_for_desk(session, principal, member_id)
    require_active(member)
    old = member.card_code
    code = new_card_code()
    while session.scalars(select(Member.id).where(Member.card_code == code)).first():  # 2^-80, but cheap
        code = new_card_code()
    member.card_code = code
    revoked = revoke_member_tokens(session, member.id)
    record_audit(
        session, principal=principal, action="member.card_replaced", target_type="member", target_id=member.id,
        community_id=member.community_id,
        before={"card_ending": card_ending(old)},
        after={"card_ending": card_ending(code), "reason": reason, "tokens_revoked": revoked},
    )
    session.flush()
    return member, code


def deactivate_member(
    session: Session,
    principal: Principal,
    member_id: int,
    *,
    reason: str,
    idempotency_key: str,
    coins_to: str | None = None,
) -> dict:
    """Deactivate a resident and post what they held, in one unit of work; returns a summary."""
    member = _member_for_desk(session, principal, member_id)
    require_active(member)
    coins_to = coins_to or ("household" if member.household_id else "community")
    if coins_to not in COINS_TO:
        raise Invalid("coins_to is household or community", code="invalid_coins_to")
    if coins_to == "household" and member.household_id is None:
        raise Invalid("this resident belongs to no household", code="no_household")
    coin_wallet = member_wallet(session, member, Unit.COIN)
    hour_wallet = member_wallet(session, member, Unit.HOUR)
    held = ledger.lock_accounts(session, [coin_wallet.id, hour_wallet.id])
    coins, minutes = held[coin_wallet.id], held[hour_wallet.id]
    coin_target = (
        household_wallet(session, get_row(session, Household, member.household_id, what="household"))
        if coins_to == "household"
        else issuance_account(session, member.community_id, Unit.COIN)
    )
    lines = []
    if coins:
        lines += [ledger.Line(coin_wallet.id, -coins), ledger.Line(coin_target.id, coins)]
    if minutes:
        hour_target = issuance_account(session, member.community_id, Unit.HOUR)
        lines += [ledger.Line(hour_wallet.id, -minutes), ledger.Line(hour_target.id, minutes)]
    transaction_id = None
    if lines:
        posted = ledger.post(
            session,
            lines=lines,
            idempotency_key=idempotency_key,
            kind=DEPARTURE_KIND,
            community_id=member.community_id,
            memo=reason,
            actor_id=principal.staff_id,
            details={"member_id": member.id, "coins": coins, "hours_minutes": minutes, "coins_to": coins_to},
        )
        transaction_id = posted.transaction_id
    member.active = False
    member.deactivated_at = utcnow()
    member.deactivation_reason = reason
    revoked = revoke_member_tokens(session, member.id)
    summary = {
        "member_id": member.id,
        "active": False,
        "reason": reason,
        "coins": coins,
        "hours_minutes": minutes,
        "coins_to": coins_to,
        "hours_to": "community",
        "transaction_id": transaction_id,
    }
    record_audit(
        session, principal=principal, action="member.deactivated", target_type="member", target_id=member.id,
        community_id=member.community_id, before={"active": True},
        after={**summary, "tokens_revoked": revoked},
    )
    session.flush()
    return summary
