"""`ror-harness serve`: command-line options to a ServerConfig, and the foreground run.

Kept out of harness/cli.py so that the CLI stays thin and `validate` never imports the server.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

from harness.refserver.config import DEFAULT_CLIENTS, SecurityConfig, ServerConfig
from harness.refserver.loading import DatasetError

EXIT_OK, EXIT_USAGE = 0, 2


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """A ServerConfig from the parsed `serve` options; ValueError names a bad combination."""
    clients = DEFAULT_CLIENTS
    if args.client_id or args.client_secret:
        main = dataclasses.replace(DEFAULT_CLIENTS[0], client_id=args.client_id or DEFAULT_CLIENTS[0].client_id,
                                   secret=args.client_secret or DEFAULT_CLIENTS[0].secret)
        clients = (main, *DEFAULT_CLIENTS[1:])
    security = SecurityConfig(
        clients=clients,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        client_ca=Path(args.client_ca) if args.client_ca else None,
        require_client_cert=args.require_client_cert)
    for path in (security.tls_cert, security.tls_key, security.client_ca):
        if path is not None and not path.is_file():
            raise ValueError(f"{path}: no such file")
    db = Path(args.db) if args.db else Path(tempfile.mkdtemp(prefix="ror-refserver-")) / "ror.db"
    return ServerConfig(db=db, dataset=args.dataset, seed=args.seed, host=args.host, port=args.port,
                        faults=frozenset(args.fault), security=security)


def run(config: ServerConfig, *, temporary_db: bool = False) -> int:
    """Serve until interrupted; print the base URL and the token endpoint once listening.

    `temporary_db`: the database folder was made for this run and is removed at the end.
    """
    from harness.refserver.runner import serve  # late: starlette/uvicorn only when serving

    def ready(final: ServerConfig, state: object) -> None:
        print(f"ror-harness reference server: {final.base_url}", flush=True)
        print(f"  token endpoint: {final.base_url}/token (client_credentials; clients: "
              f"{', '.join(c.client_id for c in final.security.clients)})", flush=True)
        if final.faults:
            print(f"  faults: {', '.join(sorted(final.faults))}", flush=True)

    try:
        serve(config, on_ready=ready)
    except DatasetError as exc:
        print(f"ror-harness serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # address in use, unreadable certificate
        print(f"ror-harness serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    finally:
        if temporary_db:
            shutil.rmtree(config.db.parent, ignore_errors=True)
    return EXIT_OK
