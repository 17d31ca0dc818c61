"""Electronic visit verification (EVV): the record that a visit really happened."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText
from marketplace.common import created_at_field, json_list_field, utc_field


class CheckMethod(StrEnum):
    """How a check-in or check-out was captured."""

    GPS = "gps"  # worker's phone location
    QR = "qr"  # QR code at the home
    PHONE = "phone"  # call from the household's registered phone
    MANUAL = "manual"  # entered afterwards by staff (needs an edit reason)


class ConfirmationMethod(StrEnum):
    """How the household confirmed the visit."""

    CODE = "code"  # one-time code shown to the household
    SIGNATURE = "signature"
    PHONE = "phone"


class EditReason(StrEnum):
    """Why a visit record was changed after the fact."""

    DEVICE_FAILURE = "device_failure"
    NO_SIGNAL = "no_signal"
    FORGOT_CHECK_IN = "forgot_check_in"
    FORGOT_CHECK_OUT = "forgot_check_out"
    WRONG_WORKER = "wrong_worker"
    TIME_CORRECTION = "time_correction"
    TASKS_CORRECTION = "tasks_correction"
    OTHER = "other"


class Visit(SQLModel, table=True):
    """One visit: the six EVV elements, the check-in/out evidence, tasks and confirmation."""

    __tablename__ = "visit"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    order_id: int = Field(foreign_key="service_order.id", unique=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    recipient_member_id: int = Field(foreign_key="member.id", index=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    service_date: date = Field(index=True)
    location_lat: float
    location_lon: float
    scheduled_start: datetime | None = utc_field()
    scheduled_end: datetime | None = utc_field()
    check_in_at: datetime | None = utc_field()
    check_in_method: CheckMethod | None = Field(default=None, sa_type=EnumText(CheckMethod, 8))
    check_in_lat: float | None = None
    check_in_lon: float | None = None
    check_in_accuracy_m: float | None = None
    check_out_at: datetime | None = utc_field()
    check_out_method: CheckMethod | None = Field(default=None, sa_type=EnumText(CheckMethod, 8))
    check_out_lat: float | None = None
    check_out_lon: float | None = None
    check_out_accuracy_m: float | None = None
    tasks_done: list[str] = json_list_field()
    confirmation_code_hash: str | None = Field(default=None, max_length=64)
    household_confirmed_at: datetime | None = utc_field()
    confirmation_method: ConfirmationMethod | None = Field(
        default=None, sa_type=EnumText(ConfirmationMethod, 12)
    )
    created_at: datetime = created_at_field()


class VisitEdit(SQLModel, table=True):
    """A change to a visit record after capture; every edit carries a reason code."""

    __tablename__ = "visit_edit"

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    field: str = Field(max_length=40)
    old_value: str | None = Field(default=None, max_length=200)
    new_value: str | None = Field(default=None, max_length=200)
    reason_code: EditReason = Field(sa_type=EnumText(EditReason, 24))
    note: str = Field(default="", max_length=300)
    editor: str = Field(max_length=80)
    at: datetime = created_at_field()
