"""The auditor's findings: a filtered list and one finding with its evidence, the visits and
people involved (ID numbers masked unless civil-affairs) and its review history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.access import Owner
from api.deps import SessionDep
from api.pagination import decode_cursor, encode_cursor
from api.routers.households import member_public
from api.types import public_id_path
from api.web.access import PREFIX, page
from api.web.render import render
from audit import repository as audit_repo
from audit import service as audit_service
from audit.models import FindingStatus
from audit.rules import RULES
from marketplace.accounts.models import Role, UserAccount
from marketplace.households import service as households_service
from marketplace.orders import service as orders_service
from marketplace.visits import service as visits_service

router = APIRouter(prefix=PREFIX, include_in_schema=False)
# As the API's findings routes: auditors and administrators, every read logged.
FindingReader = Annotated[
    UserAccount, page(Role.AUDITOR, Role.ADMIN, owner=Owner.FINDING, personal_data=True)
]
FindingId = Annotated[str, public_id_path("a finding's public id")]
PAGE = 50
# The filter form sends empty fields for "any".
MONTH_OR_ANY = r"^(\d{4}-(0[1-9]|1[0-2]))?$"
STATUS_OR_ANY = "^(" + "|".join(s.value for s in FindingStatus) + ")?$"


@dataclass(frozen=True, slots=True)
class InvolvedVisit:
    """A visit a finding names, with the person served as this account may see them."""

    id: str
    order: str
    service_date: date
    subsidy_fen: int
    beneficiary: str
    id_number: str | None
    id_number_revealed: bool


def _blank(value: str | None) -> str | None:
    return value or None


@router.get("/findings")
def findings(
    request: Request,
    session: SessionDep,
    account: FindingReader,
    month: Annotated[str | None, Query(max_length=7, pattern=MONTH_OR_ANY)] = None,
    status: Annotated[str | None, Query(max_length=12, pattern=STATUS_OR_ANY)] = None,
    rule: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z0-9_]*$")] = None,
    after: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Findings, oldest first, a page at a time; optionally of one month, rule and status."""
    rows = list(
        audit_repo.list_findings(
            session,
            month=_blank(month),
            status=FindingStatus(status) if status else None,
            rule=_blank(rule),
            after_id=decode_cursor(after),
            limit=PAGE + 1,
        )
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return render(
        request,
        "findings.html",
        {
            "findings": rows,
            "rules": sorted(RULES),
            "statuses": [s.value for s in FindingStatus],
            "filters": {"month": month or "", "rule": rule or "", "status": status or ""},
            "next_page": encode_cursor(rows[-1].id or 0) if more and rows else None,
        },
    )


@router.get("/findings/{finding_id}")
def finding(
    request: Request, session: SessionDep, account: FindingReader, finding_id: FindingId
) -> Response:
    """One finding with its evidence, the visits and people involved, and its history."""
    found = audit_service.get_finding_or_raise(session, finding_id)
    involved: list[InvolvedVisit] = []
    for visit in visits_service.visits_by_public_ids(session, list(found.visit_refs)):
        order = orders_service.get_or_raise(session, visit.order_id)
        member = households_service.get_member_or_raise(session, order.recipient_member_id)
        shown = member_public(session, account, member)
        involved.append(
            InvolvedVisit(
                id=visit.public_id,
                order=order.public_id,
                service_date=visit.service_date,
                subsidy_fen=order.subsidy_fen,
                beneficiary=shown.name,
                id_number=shown.id_number,
                id_number_revealed=shown.id_number_revealed,
            )
        )
    return render(
        request,
        "finding.html",
        {
            "finding": found,
            "evidence": sorted(found.evidence.items()),
            "visits": involved,
            "history": audit_service.history(session, found),
        },
    )
