"""Order inputs."""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marketplace.orders.models import Frequency, OrderPriority


class TimeWindow(BaseModel):
    """An interval (aware datetimes) in which the service may start."""

    model_config = ConfigDict(frozen=True)

    starts_at: datetime
    ends_at: datetime

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must include a time zone")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class OrderCreate(BaseModel):
    """What is needed to request one service."""

    household_id: int
    recipient_member_id: int
    provider_id: int
    item_id: int
    service_date: date
    windows: list[TimeWindow] = Field(min_length=1, max_length=4)
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    quantity: int = Field(default=1, gt=0, le=50)
    priority: OrderPriority = OrderPriority.NORMAL
    notes: str = Field(default="", max_length=500)


class SeriesCreate(BaseModel):
    """A recurring order: weekly care visits or daily meal delivery."""

    household_id: int
    recipient_member_id: int
    provider_id: int
    item_id: int
    frequency: Frequency
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    window_start: time
    window_end: time
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    quantity: int = Field(default=1, gt=0, le=50)
    starts_on: date
    ends_on: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SeriesCreate:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        if self.frequency is Frequency.WEEKLY and not self.weekdays:
            raise ValueError("a weekly series needs at least one weekday")
        return self
