"""Account inputs."""

from __future__ import annotations

from pydantic import BaseModel, Field

from marketplace.accounts.models import Role


class AccountCreate(BaseModel):
    """A new account and the objects its role ties it to."""

    username: str = Field(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_.@+-]+$")
    password: str = Field(min_length=10, max_length=128)
    role: Role
    display_name: str = Field(default="", max_length=60)
    phone: str = Field(default="", max_length=32)
    household_id: int | None = None
    member_id: int | None = None
    provider_id: int | None = None
    worker_id: int | None = None
    civil_affairs: bool = False
