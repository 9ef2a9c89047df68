"""User models: what a client may send, what we store and return, and list options."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Deliberately simple (email-validator is not a dependency): one "@", a dot in the domain.
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# A user id, as User.new makes them: str(uuid.uuid4()), lower case.
USER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class UserCreate(BaseModel):
    """The JSON body of POST /users."""

    # strict: "30" is not an age; forbid: unknown fields (e.g. a client-chosen user_id) are errors.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    name: str = Field(min_length=1, max_length=100)
    email: str = Field(max_length=254)
    age: int | None = Field(default=None, ge=0, le=150)

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        if not EMAIL_PATTERN.fullmatch(value):
            raise ValueError("must be a valid email address")
        return value.lower()


class User(BaseModel):
    """A stored user, as returned by the API."""

    user_id: str
    name: str
    email: str
    age: int | None = None
    created_at: str

    @classmethod
    def new(cls, data: UserCreate) -> User:
        """A new user with a fresh id and the current UTC time."""
        return cls(
            user_id=str(uuid.uuid4()),
            created_at=datetime.now(UTC).isoformat(),
            **data.model_dump(),
        )

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item (no null attributes)."""
        return self.model_dump(exclude_none=True)


class ListQuery(BaseModel):
    """Query string of GET /users. Values arrive as strings: "10" is parsed to 10."""

    # Other query parameters (cache busters, tracking ids) are ignored, not rejected.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    limit: int = Field(default=10, ge=1, le=100)
    next: str | None = None  # the cursor of a page: the last user id of the previous one

    @field_validator("next")
    @classmethod
    def _a_user_id(cls, value: str | None) -> str | None:
        if value is not None and not USER_ID.fullmatch(value):
            raise ValueError("must be the 'next' value of an earlier page")
        return value
