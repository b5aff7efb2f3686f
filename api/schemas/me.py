"""Response body of GET /me: who the API key belongs to."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Caller(BaseModel):
    subject: str = Field(description="Who the key is for; an agent's name in tasks and outcomes.")
    role: str = Field(description="admin, strategist, supervisor or agent.")
    queues: list[str] = Field(description="The agent queues this person works (agents).")
