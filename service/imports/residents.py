"""Residents from a scheme's register, a batch at a time, with the rules and results of registering
them one by one (``members.operations.register_member``).

Python checks each row's own fields (community, name, phone, birth date, national ID number, which
it turns into its keyed digest and last-four mask at once: the number is never staged or stored);
the batch is COPYed into a staging table and one query finds, per row, the resident it names
already (same community, name and phone), the resident holding its national ID number and its
household. The rows are then decided in sheet order, so a sheet that names a resident twice creates
them once, and the new households, residents and wallets are written with INSERT … SELECT.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ledger import AccountType, utcnow
from ledger.lookups import draw_ids

from ..errors import Conflict, DomainError, Invalid, NotFound
from ..members.cards import new_card_code
from ..members.phones import MOBILE_ERROR, is_mobile, normalise_mobile
from ..privacy import mask_national_id, national_id_digest, normalise_national_id
from .staging import UNITS, execute, stage

ROWS, NEW_HOUSEHOLDS, NEW_MEMBERS = "import_resident_rows", "import_new_households", "import_new_members"


class RowError(Exception):
    """A rule the row breaks, with the column it is about."""

    def __init__(self, column: str, error: DomainError):
        super().__init__(error.message)
        self.column, self.error = column, error

    def result(self, number: int) -> dict:
        return {"row": number, "status": "error", "code": self.error.code, "message": self.error.message,
                "column": self.column}


@dataclass
class Candidate:
    """A row whose community, name and phone are valid: it names a resident, new or not."""

    number: int
    community_id: int
    name: str
    phone: str | None
    household: str | None
    born: dt.date | None
    digest: str | None
    masked: str | None
    broken: RowError | None  # the first rule a *new* resident of this row would break

    @property
    def key(self) -> tuple:
        return self.community_id, self.name, self.phone


def community_of(row: dict, communities: dict[str, int | None]) -> int:
    code = row.get("community_code")
    if not code:
        raise RowError("community_code", Invalid("community_code is required", code="community_required"))
    community_id = communities.get(code)
    if community_id is None:
        raise RowError("community_code", NotFound(f"no community with code {code}", code="unknown_community"))
    return community_id


def _candidate(number: int, row: dict, communities: dict) -> Candidate:
    community_id = community_of(row, communities)
    name = row.get("name")
    if not name or len(name) > 100:
        raise RowError("name", Invalid("name is required (at most 100 characters)", code="name_required"))
    phone = row.get("phone")
    if phone:  # the registration's rule (members.phones): a mainland mobile, stored as its 11 digits
        if not is_mobile(phone):
            raise RowError("phone", Invalid(f"phone must be {MOBILE_ERROR}", code="invalid_phone"))
        phone = normalise_mobile(phone)
    born = digest = masked = broken = None
    try:
        born = dt.date.fromisoformat(row["birth_date"]) if row.get("birth_date") else None
    except ValueError:
        broken = RowError("birth_date", Invalid("birth_date must be YYYY-MM-DD", code="invalid_birth_date"))
    if broken is None and row.get("national_id"):
        try:
            value = normalise_national_id(row["national_id"])
        except ValueError as exc:
            broken = RowError("national_id", Invalid(str(exc), code="invalid_national_id"))
        else:
            digest, masked = national_id_digest(value), mask_national_id(value)
    return Candidate(number, community_id, name, phone, row.get("household"), born, digest, masked, broken)


# Per staged row: the resident it names already (lowest id, as the old ``first()`` found one), the
# resident holding its national ID number, and its household.
_LOOKUP = f"""
SELECT s.row_no, found.id, found.volunteer_number, holder.id,
       (SELECT min(h.id) FROM households h WHERE h.community_id = s.community_id AND h.name = s.household)
FROM {ROWS} s
LEFT JOIN members found ON found.id = coalesce(
  (SELECT min(m.id) FROM members m
   WHERE m.community_id = s.community_id AND m.name = s.name AND m.phone = s.phone),
  (SELECT min(m.id) FROM members m
   WHERE s.phone IS NULL AND m.community_id = s.community_id AND m.name = s.name AND m.phone IS NULL))
LEFT JOIN members holder ON holder.national_id_digest = s.national_id_digest
"""
_WALLET_COLUMNS = "code, type, unit, community_id, owner_id, allow_negative, track_balance, balance, version, created_at"
_INSERT_HOUSEHOLDS = f"""
INSERT INTO households (id, community_id, name, address, created_at)
SELECT id, community_id, name, '', :now FROM {NEW_HOUSEHOLDS} ORDER BY id
"""
_INSERT_HOUSEHOLD_WALLETS = f"""
INSERT INTO ledger_accounts ({_WALLET_COLUMNS})
SELECT '{AccountType.HOUSEHOLD_WALLET.value}:' || id || '\\:COIN', '{AccountType.HOUSEHOLD_WALLET.value}', 'COIN',
       community_id, id, FALSE, TRUE, 0, 0, :now
FROM {NEW_HOUSEHOLDS} ORDER BY id
"""
_INSERT_MEMBERS = f"""
INSERT INTO members (id, community_id, household_id, name, phone, national_id_digest, national_id_masked,
                     birth_date, volunteer_number, card_code, active, created_at)
SELECT id, community_id, household_id, name, phone, national_id_digest, national_id_masked,
       birth_date, volunteer_number, card_code, TRUE, :now
FROM {NEW_MEMBERS} ORDER BY id
"""
_INSERT_MEMBER_WALLETS = f"""
INSERT INTO ledger_accounts ({_WALLET_COLUMNS})
SELECT '{AccountType.MEMBER_WALLET.value}:' || m.id || ':' || u.unit, '{AccountType.MEMBER_WALLET.value}', u.unit,
       m.community_id, m.id, FALSE, TRUE, 0, 0, :now
FROM {NEW_MEMBERS} m CROSS JOIN {UNITS} u ORDER BY m.id, u.unit
"""


def import_batch(session: Session, batch: list[tuple[int, dict]], communities: dict) -> list[dict]:
    """Results of one batch of numbered rows, in sheet order; new residents written."""
    results, candidates = [], []
    for number, row in batch:
        try:
            candidates.append(_candidate(number, row, communities))
        except RowError as exc:
            results.append(exc.result(number))
    stage(session, ROWS, (("row_no", "BIGINT"), ("community_id", "BIGINT"), ("name", "TEXT"), ("phone", "TEXT"),
                          ("national_id_digest", "TEXT"), ("household", "TEXT")),
          [(c.number, c.community_id, c.name, c.phone, c.digest, c.household) for c in candidates])
    found = {row[0]: row[1:] for row in execute(session, _LOOKUP)}

    created: dict[tuple, list] = {}  # key -> the new resident's row, for a later row naming them again
    households: dict[tuple, int | None] = {}  # (community, name) -> id, None until drawn
    digests: set[str] = set()
    today = dt.date.today()
    for c in candidates:
        existing_id, existing_number, holder, household_id = found[c.number]
        if existing_id is not None:
            results.append({"row": c.number, "status": "exists", "member_id": existing_id,
                            "volunteer_number": existing_number})
            continue
        if c.key in created:
            results.append({"row": c.number, "status": "exists", "resident": created[c.key]})
            continue
        broken = c.broken
        if broken is None and c.digest and (holder is not None or c.digest in digests):
            broken = RowError("national_id", Conflict("a resident with this national ID number is registered",
                                                      code="national_id_taken"))
        if broken is None and c.born and c.born > today:
            broken = RowError("birth_date", Invalid("the birth date is in the future", code="invalid_birth_date"))
        if broken is not None:
            results.append(broken.result(c.number))
            continue
        if c.digest:
            digests.add(c.digest)
        if c.household:
            households.setdefault((c.community_id, c.household), household_id)
        created[c.key] = resident = [c, None, None]  # the candidate, its id and volunteer number
        results.append({"row": c.number, "status": "created", "resident": resident})

    _write(session, list(created.values()), households)
    for result in results:
        resident = result.pop("resident", None)
        if resident is not None:
            result["member_id"], result["volunteer_number"] = resident[1], resident[2]
    return results


def _write(session: Session, residents: list[list], households: dict[tuple, int | None]) -> None:
    """New households (with their coin wallet), residents (with coin and hour wallets)."""
    now = utcnow()
    new = [key for key, household_id in households.items() if household_id is None]
    for key, household_id in zip(new, draw_ids(session, "households", len(new)), strict=True):
        households[key] = household_id
    if new:
        stage(session, NEW_HOUSEHOLDS, (("id", "BIGINT"), ("community_id", "BIGINT"), ("name", "TEXT")),
              [(households[key], *key) for key in new])
        execute(session, _INSERT_HOUSEHOLDS, now=now)
        execute(session, _INSERT_HOUSEHOLD_WALLETS, now=now)
    if not residents:
        return
    rows = []
    for resident, member_id in zip(residents, draw_ids(session, "members", len(residents)), strict=True):
        c = resident[0]
        resident[1], resident[2] = member_id, f"V{c.community_id:04d}{member_id:08d}"
        household_id = households[(c.community_id, c.household)] if c.household else None
        rows.append((member_id, c.community_id, household_id, c.name, c.phone, c.digest, c.masked, c.born,
                     resident[2], new_card_code()))
    stage(session, NEW_MEMBERS, (("id", "BIGINT"), ("community_id", "BIGINT"), ("household_id", "BIGINT"),
                                 ("name", "TEXT"), ("phone", "TEXT"), ("national_id_digest", "TEXT"),
                                 ("national_id_masked", "TEXT"), ("birth_date", "DATE"),
                                 ("volunteer_number", "TEXT"), ("card_code", "TEXT")), rows)
    execute(session, _INSERT_MEMBERS, now=now)
    execute(session, _INSERT_MEMBER_WALLETS, now=now)
