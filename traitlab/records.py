"""Record types for traitlab's JSONL files: chats (SFT), documents (midtraining), preferences.

One record per line, validated on read. Unknown fields are errors (a typo in a field name
should not silently drop data). Generation provenance (trait ids, stage outputs, models) lives
in `metadata`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Message(_Record):
    role: Literal["system", "user", "assistant", "tool"]
    content: str


class ChatRecord(_Record):
    """A conversation for SFT: messages (system prompts are stripped before training)."""

    id: str | None = None
    messages: list[Message] = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def turns(self, role: str) -> list[str]:
        """The contents of every message with `role`, in order."""
        return [m.content for m in self.messages if m.role == role]


class DocumentRecord(_Record):
    """A pretraining-style document for midtraining (forum thread, blog post, email, ...)."""

    id: str | None = None
    text: str = Field(min_length=1)
    doc_type: str = "document"
    trait_ids: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class PreferenceRecord(_Record):
    """A preference pair for DPO/BDPO: one prompt conversation, a chosen and a rejected reply."""

    id: str | None = None
    prompt: list[Message] = Field(min_length=1)
    chosen: str = Field(min_length=1)
    rejected: str = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("prompt")
    @classmethod
    def _ends_with_user(cls, prompt: list[Message]) -> list[Message]:
        if prompt[-1].role != "user":
            raise ValueError("the prompt must end with a user message")
        return prompt


Record = ChatRecord | DocumentRecord | PreferenceRecord
RecordKind = Literal["chat", "document", "preference"]

RECORD_TYPES: dict[RecordKind, type[_Record]] = {
    "chat": ChatRecord,
    "document": DocumentRecord,
    "preference": PreferenceRecord,
}


def record_kind(obj: dict[str, Any]) -> RecordKind | None:
    """Which record type a raw JSON object looks like (by its identifying field)."""
    if "messages" in obj:
        return "chat"
    if "chosen" in obj or "rejected" in obj:
        return "preference"
    if "text" in obj:
        return "document"
    return None
