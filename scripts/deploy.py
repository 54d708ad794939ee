"""``ape run deploy``: deploy the test token and the ledger, save the addresses (a thin wrapper over pylender).

Uses ``--rpc``-style settings from the environment: ``PYLENDER_RPC`` (else an embedded anvil, which
ends with the script), ``PYLENDER_PRIVATE_KEY`` or ``PYLENDER_KEYSTORE`` for real networks,
``PYLENDER_DEPLOYMENT`` for the output file (default ``.pylender/deployment.json``).
"""

from __future__ import annotations

import logging
import os

from pylender.client.session import DEFAULT_DEPLOYMENT_FILE, Pylender, save_deployment

log = logging.getLogger("scripts.deploy")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    keystore = os.environ.get("PYLENDER_KEYSTORE")
    chain_id = os.environ.get("PYLENDER_CHAIN_ID")
    with Pylender.connect(keystore=keystore, chain_id=int(chain_id) if chain_id else None) as session:
        ledger = session.deploy()
        path = save_deployment(ledger.deployment, os.environ.get("PYLENDER_DEPLOYMENT", DEFAULT_DEPLOYMENT_FILE))
        log.info(
            "ledger %s, token %s (chain %d) saved to %s",
            ledger.address,
            ledger.deployment.token,
            ledger.deployment.chain_id,
            path,
        )


if __name__ == "__main__":
    main()
