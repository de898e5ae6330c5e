"""Redaction of everything allure-pytest writes, not only what the harness attaches.

allure-pytest also writes things on its own: the failure message and traceback of the test,
the parametrize values, the captured stdout and log of the item. Any of them could carry a
secret the engine let slip. This plugin of allure's own hook system redacts test results and
containers in place just before the file logger writes them (`tryfirst`), and rewrites text
attachments just after they are written (`trylast`), using only allure-commons' public hooks.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import allure_commons
import attr

from harness.report.wording import safe_text

PLUGIN_NAME = "ror-harness-allure-redaction"


def _redact_in_place(item: Any) -> None:
    """Redact every string field of an allure model object (attrs classes), recursively."""
    for field in attr.fields(type(item)):
        value = getattr(item, field.name)
        if isinstance(value, str):
            setattr(item, field.name, safe_text(value))
        elif isinstance(value, list):
            for index, element in enumerate(value):
                if isinstance(element, str):
                    value[index] = safe_text(element)
                elif attr.has(type(element)):
                    _redact_in_place(element)
        elif attr.has(type(value)):
            _redact_in_place(value)


class AllureRedaction:
    """Registered once per process on allure-commons' plugin manager, for one results directory."""

    def __init__(self, results_dir: str | os.PathLike[str]) -> None:
        self.results_dir = Path(results_dir)

    @allure_commons.hookimpl(tryfirst=True)
    def report_result(self, result: Any) -> None:
        _redact_in_place(result)

    @allure_commons.hookimpl(tryfirst=True)
    def report_container(self, container: Any) -> None:
        _redact_in_place(container)

    def _rewrite(self, file_name: str) -> None:
        path = self.results_dir / file_name
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return  # binary attachments (screenshots) hold no text to redact
        redacted = safe_text(text)
        if redacted != text:
            partial = path.with_name(path.name + ".partial")
            partial.write_text(redacted, encoding="utf-8")
            os.replace(partial, path)

    @allure_commons.hookimpl(trylast=True)
    def report_attached_data(self, body: Any, file_name: str) -> None:
        self._rewrite(file_name)

    @allure_commons.hookimpl(trylast=True)
    def report_attached_file(self, source: Any, file_name: str) -> None:
        self._rewrite(file_name)


def install(results_dir: str | os.PathLike[str]) -> None:
    """Make every allure-pytest output of this process redacted (idempotent)."""
    if allure_commons.plugin_manager.get_plugin(PLUGIN_NAME) is None:
        allure_commons.plugin_manager.register(AllureRedaction(results_dir), name=PLUGIN_NAME)
