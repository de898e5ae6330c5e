"""The pytest plugin (entry point `ror-harness`): scenario files become test items.

Inert unless asked: only `ROR-*.yaml` files under the configured scenario folders are
collected (`--ror-scenarios`, ini `ror_scenario_dirs`, default: the bundled `scenarios/`), so
other YAML files and other test suites are never touched, and nothing below runs for them.

Two event hubs, because the outputs live in different processes under pytest-xdist: the
item hub (Allure, which files steps under the running test) lives where the item runs; the
run hub (console table, JSON summary, JUnit) lives in the controller, fed by the results each
test report carries (serialize.py). The exit status is the harness's: 0 / 1 (gated failures) /
2 (a broken scenario file or usage) / 3 (target unreachable), unless other tests failed too.
"""
from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.outcomes import Outcome, ScenarioResult, platines_score
from harness.report.events import EventHub, RunFinished, RunStarted, ScenarioFinished

if TYPE_CHECKING:  # the engine is imported only once a scenario file is collected
    from harness.mock.session import ConsumerRun
    from harness.pytest_plugin.items import ScenarioFile
    from harness.pytest_plugin.session import RunContext
    from harness.scenario.target import TargetProfile

#: The scenario catalogue shipped with the harness (a source checkout or an editable install).
BUNDLED_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
EXIT_OK, EXIT_GATED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ror-harness", "ROR conformance scenarios")
    group.addoption("--ror-target", metavar="URL", help="FHIR base URL of the candidate server "
                    "(default: the embedded reference server, started on a free loopback port)")
    group.addoption("--ror-target-config", metavar="FILE", help="target profile: base URL, auth, TLS, facts")
    group.addoption("--ror-scenarios", metavar="DIR", action="append", default=[],
                    help="folder of scenario files (repeatable; default: ini ror_scenario_dirs, else the bundled catalogue)")
    group.addoption("--ror-priority", type=int, choices=(1, 2, 3), help="run scenarios of this priority or a more critical one")
    group.addoption("--ror-scenario", metavar="ID", action="append", default=[], help="run only this scenario (repeatable)")
    group.addoption("--ror-role", choices=("server", "consumer"), help="run only scenarios of this role")
    group.addoption("--ror-fail-on", default="1,2", metavar="1,2",
                    help="priorities whose failures make the run fail (exit 1); default 1,2")
    group.addoption("--ror-json", metavar="FILE", help="write the JSON summary here")
    group.addoption("--ror-junit", metavar="FILE", help="write the JUnit XML report here")
    group.addoption("--ror-client-cert", metavar="PEM", help="client certificate for mutual TLS")
    group.addoption("--ror-client-key", metavar="PEM", help="private key of the client certificate")
    group.addoption("--ror-ca-bundle", metavar="PEM", help="CA certificates to trust for the target")
    group.addoption("--ror-ig", metavar="IG", help="IG package to validate against (default: ROR 0.7.0)")
    group.addoption("--ror-consumer-cmd", metavar="CMD", help="consumer scenarios: the command that runs the "
                    "consumer under test, once per scenario ({base_url} is replaced; instructions in ROR_* variables)")
    group.addoption("--ror-consumer-interactive", action="store_true",
                    help="consumer scenarios: print what to do and wait for the requests of an application run by hand")
    group.addoption("--ror-consumer-wait", type=float, default=300.0, metavar="S",
                    help="interactive mode: seconds to wait for the first request of each scenario (default 300)")
    group.addoption("--ror-consumer-example", action="store_true",
                    help="consumer scenarios: drive the example consumer of the repository (the default without a target)")
    parser.addini("ror_scenario_dirs", "folders of ROR scenario files", type="paths", default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(RorRun(config), "ror-harness-run")


def fail_on(text: str) -> set[int]:
    """`--fail-on 1,2` -> {1, 2}; ValueError on anything else."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    levels = {int(part) for part in parts if part.isdigit()}
    if len(levels) != len(set(parts)) or not levels <= {1, 2, 3}:
        raise ValueError(f"--fail-on takes priorities among 1,2,3, not {text!r}")
    return levels


def _scenario_item_class() -> type | None:
    """ScenarioItem if any scenario file was collected in this process (else the module is not loaded)."""
    module = sys.modules.get("harness.pytest_plugin.items")
    return module.ScenarioItem if module else None


def gated_exit(results: list[ScenarioResult], levels: set[int]) -> int:
    return EXIT_GATED if any(r.outcome is Outcome.FAILED and r.priority in levels for r in results) else EXIT_OK


class RorRun:
    """The plugin's state for one pytest process."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        dirs = [Path(d) for d in config.getoption("ror_scenarios")] or list(config.getini("ror_scenario_dirs")) \
            or [BUNDLED_SCENARIOS]
        self.scenario_dirs = [d.resolve() for d in dirs]
        self.item_hub = EventHub()
        self.run_hub = EventHub()
        self.results: list[ScenarioResult] = []
        self.other_failures = 0
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._clock = time.monotonic()
        self._context: RunContext | None = None
        self._consumer: ConsumerRun | None = None
        self._consumer_folder: tempfile.TemporaryDirectory | None = None
        self._embedded = None
        self._run_started = False
        try:
            self.fail_on = fail_on(config.getoption("ror_fail_on"))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        if config.getoption("ror_consumer_interactive") and config.getoption("numprocesses", None):
            raise pytest.UsageError("--ror-consumer-interactive talks to one person: run it without -n (pytest-xdist)")
        if config.getoption("ror_consumer_interactive") and config.getoption("ror_consumer_cmd"):
            raise pytest.UsageError("--ror-consumer-cmd and --ror-consumer-interactive: choose one")
        if config.getoption("ror_consumer_cmd"):
            from harness.mock.drivers import command_problem

            problem = command_problem(config.getoption("ror_consumer_cmd"))
            if problem:
                raise pytest.UsageError(problem)
        self._add_item_handlers()

    # -- outputs ---------------------------------------------------------------------------
    @property
    def is_controller(self) -> bool:
        return not hasattr(self.config, "workerinput")

    def _add_item_handlers(self) -> None:
        if self.config.pluginmanager.has_plugin("allure_pytest") and self.config.getoption("allure_report_dir", None):
            from harness.report.allure import AllureReporter

            self.item_hub.add(AllureReporter())

    def _add_run_handlers(self) -> None:
        from harness.report.console import ConsoleReporter
        from harness.report.json_summary import JsonSummaryWriter
        from harness.report.junit import JUnitWriter

        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            self.run_hub.add(ConsoleReporter(stream=_TerminalStream(terminal)))
        if self.config.getoption("ror_json"):
            self.run_hub.add(JsonSummaryWriter(self.config.getoption("ror_json")))
        if self.config.getoption("ror_junit"):
            self.run_hub.add(JUnitWriter(self.config.getoption("ror_junit")))

    # -- target ----------------------------------------------------------------------------
    def explicit_target(self) -> bool:
        return bool(self.config.getoption("ror_target") or self.config.getoption("ror_target_config"))

    def target_label(self) -> str:
        profile = self.profile()
        label = profile.name if profile else "serveur de référence embarqué (jeu small)"
        if self.config.getoption("ror_role") == "consumer":
            label = self.consumer_label()
        elif self.config.getoption("ror_role") is None and self.consumer_label() != "aucun":
            label += f" ; consommateur testé : {self.consumer_label()}"
        return label

    def consumer_label(self) -> str:
        from harness.mock.session import consumer_label

        option = self.config.getoption
        return consumer_label(option("ror_consumer_cmd"), option("ror_consumer_interactive"), self._uses_example_consumer())

    def _uses_example_consumer(self) -> bool:
        return bool(self.config.getoption("ror_consumer_example") or not self.explicit_target())

    def consumer(self) -> ConsumerRun | None:
        """The consumer side of this process, built on first use (None: no consumer named, the
        consumer scenarios are skipped)."""
        if self._consumer is None and self._consumer_folder is None:  # decided once
            from harness.mock.session import ConsumerRun, consumer_driver

            option = self.config.getoption
            self._consumer_folder = tempfile.TemporaryDirectory(prefix="ror-harness-consumer-")
            driver = consumer_driver(option("ror_consumer_cmd"), option("ror_consumer_interactive"),
                                     self._uses_example_consumer(), Path(self._consumer_folder.name),
                                     write=self._to_terminal, wait_s=option("ror_consumer_wait"))
            if driver is None:
                return None
            self._consumer = ConsumerRun(driver, option("ror_ig"))
        return self._consumer

    def _to_terminal(self, text: str) -> None:
        """Interactive mode talks to the person at the terminal, past pytest's output capture."""
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            sys.stderr.write(text)
            sys.stderr.flush()

    def profile(self) -> TargetProfile | None:
        """The target given by the options (None: the embedded server); usage error if broken."""
        from harness.scenario import FileError
        from harness.scenario.target import build_profile

        option = self.config.getoption
        try:
            return build_profile(option("ror_target"), option("ror_target_config"), client_cert=option("ror_client_cert"),
                                 client_key=option("ror_client_key"), ca_bundle=option("ror_ca_bundle"))
        except (FileError, ValueError) as exc:
            raise pytest.UsageError(str(exc)) from None

    def context(self) -> RunContext:
        """The target of this process, built on first use (the embedded server is started then)."""
        if self._context is None:
            profile = self.profile()
            if profile is None:
                from harness.pytest_plugin.embedded import EmbeddedTarget

                self._embedded = EmbeddedTarget()
                profile = self._embedded.profile
            from harness.pytest_plugin.session import RunContext

            self._context = RunContext(profile, self.config.getoption("ror_ig"))
        return self._context

    # -- hooks -----------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.is_controller and self.explicit_target():
            from harness.http import preflight

            profile = self.profile()
            problem = preflight(profile.settings) if profile else None
            if problem:
                pytest.exit(problem, returncode=EXIT_UNREACHABLE)

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
        if file_path.suffix in (".yaml", ".yml") and file_path.name.startswith("ROR-") and any(
                file_path.resolve().is_relative_to(d) for d in self.scenario_dirs):
            from harness.pytest_plugin.items import ScenarioFile

            return ScenarioFile.from_parent(parent, path=file_path)
        return None

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        item_class = _scenario_item_class()
        if item_class is None:
            return
        from harness.pytest_plugin.catalogue import is_selected

        criteria = {"priority": config.getoption("ror_priority"), "role": config.getoption("ror_role"),
                    "ids": config.getoption("ror_scenario")}
        kept, dropped = [], []
        for item in items:
            if isinstance(item, item_class) and not is_selected(item.scenario, **criteria):
                dropped.append(item)
            else:
                kept.append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
        outcome = yield
        report = outcome.get_result()
        item_class = _scenario_item_class()
        if item_class is None or not isinstance(item, item_class) or call.when != "call" or item.result is None:
            return
        from harness.pytest_plugin import serialize
        from harness.pytest_plugin.items import ScenarioInconclusive

        report.ror_result = serialize.to_data(item.result)
        if call.excinfo is not None and isinstance(call.excinfo.value, ScenarioInconclusive):
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.scenario.line, f"non concluant : {item.result.reason}")
        elif report.skipped:  # located in the scenario file, not where the plugin raised the skip
            report.longrepr = (str(item.path), item.scenario.line, item.result.reason)

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        data = getattr(report, "ror_result", None)
        if data and data["outcome"] == Outcome.INCONCLUSIVE.value:
            return "inconclusive", "I", "INCONCLUSIVE"
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "ror_result", None)
        if data is None:
            if report.failed:
                self.other_failures += 1
            return
        if not self._run_started:
            self._run_started = True
            self._add_run_handlers()
            self.run_hub.emit(RunStarted(self.target_label(), self.config.getoption("ror_ig") or "ans.fhir.fr.ror#0.7.0",
                                         self.config.getoption("ror_role") or "server+consumer", self.started_at))
        from harness.pytest_plugin import serialize

        result = serialize.from_data(data)
        self.results.append(result)
        self.run_hub.emit(ScenarioFinished(result))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._context is not None:
            self._context.close()
        if self._consumer is not None:
            self._consumer.close()
        if self._consumer_folder is not None:
            self._consumer_folder.cleanup()
        if self._embedded is not None:
            self._embedded.stop()
        if not self.is_controller or not self._run_started:
            return
        if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.USAGE_ERROR):
            code = EXIT_USAGE  # a broken scenario file stops nothing else, but the run is not valid
        elif self.other_failures:
            code = EXIT_GATED  # tests other than scenarios failed: pytest's verdict stands
        else:
            code = gated_exit(self.results, self.fail_on)
        self.run_hub.emit(RunFinished(tuple(self.results), platines_score(self.results),
                                      time.monotonic() - self._clock, code))
        session.exitstatus = code


class _TerminalStream:
    """Lets the console reporter write through pytest's terminal (not captured, not interleaved)."""

    def __init__(self, terminal: object) -> None:
        self.terminal = terminal

    def write(self, text: str) -> None:
        self.terminal.ensure_newline()  # type: ignore[attr-defined]
        self.terminal.write(text)  # type: ignore[attr-defined]

    def flush(self) -> None:
        self.terminal.flush()  # type: ignore[attr-defined]
