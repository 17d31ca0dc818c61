"""Orders, their time windows, transitions, recurring series and worker bookings."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText
from marketplace.common import created_at_field, json_dict_field, json_list_field, utc_field


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    SCHEDULED = "scheduled"
    EN_ROUTE = "en_route"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    SETTLED = "settled"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class OrderPriority(StrEnum):
    """Urgent orders are planned first and dropped last."""

    NORMAL = "normal"
    URGENT = "urgent"


class Frequency(StrEnum):
    """How often a recurring series repeats."""

    DAILY = "daily"
    WEEKLY = "weekly"


class Order(SQLModel, table=True):
    """One service for one recipient on one day, with the price it was quoted at."""

    __tablename__ = "service_order"
    __table_args__ = (
        UniqueConstraint("series_id", "service_date", name="uq_order_series_date"),
        CheckConstraint("duration_minutes > 0", name="duration"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("copay_fen + subsidy_fen + ltc_fen = list_price_fen", name="price_adds_up"),
        Index("ix_order_date_status", "service_date", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    recipient_member_id: int = Field(foreign_key="member.id", index=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    series_id: int | None = Field(default=None, foreign_key="order_series.id", index=True)
    ordered_by: str = Field(max_length=80)
    service_date: date
    duration_minutes: int
    quantity: int = 1
    status: OrderStatus = Field(
        default=OrderStatus.REQUESTED, sa_type=EnumText(OrderStatus, 16), index=True
    )
    priority: OrderPriority = Field(
        default=OrderPriority.NORMAL, sa_type=EnumText(OrderPriority, 8)
    )
    notes: str = Field(default="", max_length=500)
    # Price snapshot: what the household was shown and agreed to; never recomputed.
    currency: str = Field(default="CNY", max_length=3)
    list_price_fen: int = 0
    subsidy_fen: int = 0
    copay_fen: int = 0
    ltc_fen: int = 0  # long-term-care insurance's share
    price_breakdown: dict[str, Any] = json_dict_field()
    policy_version: str | None = Field(default=None, max_length=40)
    quoted_at: datetime | None = utc_field()
    free_cancel_until: datetime | None = utc_field()
    cancellation_fee_fen: int = 0
    cancel_reason: str = Field(default="", max_length=200)
    assigned_worker_id: int | None = Field(default=None, foreign_key="worker.id", index=True)
    scheduled_start: datetime | None = utc_field()
    scheduled_end: datetime | None = utc_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class OrderTimeWindow(SQLModel, table=True):
    """An interval in which the service may start."""

    __tablename__ = "order_time_window"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="order"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="service_order.id", index=True)
    starts_at: datetime = utc_field(nullable=False)
    ends_at: datetime = utc_field(nullable=False)


class OrderTransition(SQLModel, table=True):
    """One recorded change of an order's status: what, who, when, why."""

    __tablename__ = "order_transition"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="service_order.id", index=True)
    event: str = Field(max_length=24)
    from_status: str | None = Field(default=None, sa_type=String(16))
    to_status: str = Field(sa_type=String(16))
    actor: str = Field(max_length=80)
    reason: str = Field(default="", max_length=200)
    at: datetime = created_at_field()


class OrderSeries(SQLModel, table=True):
    """A recurring order (weekly care visits, daily lunch delivery) that generates orders."""

    __tablename__ = "order_series"
    __table_args__ = (
        CheckConstraint("window_end > window_start", name="window"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    recipient_member_id: int = Field(foreign_key="member.id", index=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    item_id: int = Field(foreign_key="item.id")
    frequency: Frequency = Field(sa_type=EnumText(Frequency, 8))
    weekdays: list[int] = json_list_field()
    window_start: time
    window_end: time
    duration_minutes: int = Field(gt=0)
    quantity: int = 1
    starts_on: date
    ends_on: date | None = None
    active: bool = True
    created_by: str = Field(max_length=80)
    created_at: datetime = created_at_field()


class WorkerBooking(SQLModel, table=True):
    """A worker's time reserved for an order.

    Active bookings of one worker never overlap: PostgreSQL enforces it with an exclusion
    constraint, SQLite with triggers under immediate transactions (migration 0002).
    """

    __tablename__ = "worker_booking"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="order"),
        Index(
            "uq_booking_active_order",
            "order_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="service_order.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    starts_at: datetime = utc_field(nullable=False)
    ends_at: datetime = utc_field(nullable=False)
    active: bool = True
    created_at: datetime = created_at_field()
    released_at: datetime | None = utc_field()


class OrderRating(SQLModel, table=True):
    """The household's rating of a service it received (once per order)."""

    __tablename__ = "order_rating"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="service_order.id", unique=True)
    stars: int
    comment: str = Field(default="", max_length=500)
    rated_by: str = Field(max_length=80)
    created_at: datetime = created_at_field()


__all__ = [
    "Frequency",
    "Order",
    "OrderPriority",
    "OrderRating",
    "OrderSeries",
    "OrderStatus",
    "OrderTimeWindow",
    "OrderTransition",
    "WorkerBooking",
]
