"""The embedded reference server as a target: started on a free loopback port with a
generated dataset, with the credentials and the facts (sample data) that go with it.

Why the facts are computed here and not read from the server: they come from the same seeded
generator the server loaded, so the scenarios' variables name records the server holds.
"""
from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path

import yaml

from harness.dataset import generate
from harness.dataset.facts import collect_facts
from harness.http import ClientSettings, OAuth2Settings, RorHeaders
from harness.refserver.config import DEFAULT_CLIENTS, ServerConfig
from harness.refserver.runner import RunningServer, run_in_thread
from harness.scenario.target import TargetProfile

#: Values of the four Ror-* headers sent to the embedded server (it requires them present).
ROR_HEADERS = RorHeaders("CU22", "1.2.250.1.213.1.6.1.66", "AUTOMATE", "1.2.250.1.213.1.1.4.6")


@cache
def facts_of(dataset: str, seed: int) -> dict:
    """The facts of a generated dataset (computed once per process: the generator is seeded)."""
    return collect_facts(generate(dataset, seed))


class EmbeddedTarget:
    """A running reference server and the target profile that reaches it; `stop()` removes everything."""

    def __init__(self, dataset: str = "small", seed: int = 0, faults: frozenset[str] = frozenset()) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="ror-harness-embedded-"))
        try:
            self.server: RunningServer = run_in_thread(
                ServerConfig(db=self._folder / "ror.db", dataset=dataset, seed=seed, faults=faults))
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        client = DEFAULT_CLIENTS[0]
        settings = ClientSettings(base_url=self.server.base_url,
                                  oauth2=OAuth2Settings(self.server.token_url, client.client_id, client.secret or ""),
                                  ror_headers=ROR_HEADERS)
        label = f"serveur de référence embarqué ({self.server.base_url}, jeu {dataset}, graine {seed}"
        label += f", défauts : {', '.join(sorted(faults))})" if faults else ")"
        self.profile = TargetProfile(settings, facts_of(dataset, seed), label)

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def write_profile(self, path: Path) -> Path:
        """The target profile as a file (for pytest-xdist workers, and for a reader curious of the facts)."""
        s = self.profile.settings
        assert s.oauth2 is not None
        data = {"label": self.profile.label, "base_url": s.base_url,
                "auth": {"token_url": s.oauth2.token_url, "client_id": s.oauth2.client_id,
                         "client_secret": s.oauth2.client_secret},
                "ror_headers": {"profil_utilisateur_code": s.ror_headers.profil_utilisateur_code,
                                "profil_utilisateur_system": s.ror_headers.profil_utilisateur_system,
                                "role_metier_code": s.ror_headers.role_metier_code,
                                "role_metier_system": s.ror_headers.role_metier_system},
                "facts": self.profile.facts}
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path
