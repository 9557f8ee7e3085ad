"""One prompt builder for training and generation, so the two never drift apart."""

from __future__ import annotations

from typing import Any, Protocol

from harness.records import Record


class ChatTokenizer(Protocol):
    chat_template: Any

    def apply_chat_template(self, conversation: list[dict[str, str]], **kwargs: Any) -> Any: ...


def chat_messages(record: Record, system_prompt: str | None = None) -> list[dict[str, str]]:
    """The conversation for one record: an optional system turn, then the record's input."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": record.input})
    return messages


def build_prompt(tokenizer: ChatTokenizer, record: Record, system_prompt: str | None = None) -> str:
    """The exact text fed to the model: the tokenizer's own chat template, ready for the answer."""
    if not getattr(tokenizer, "chat_template", None):
        # Base models without a template: the raw PromptCBLUE input already ends in "答：".
        return (system_prompt + "\n" if system_prompt else "") + record.input
    return tokenizer.apply_chat_template(
        chat_messages(record, system_prompt), tokenize=False, add_generation_prompt=True
    )
