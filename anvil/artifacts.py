"""Regenerates ``core/chain/artifacts/<Name>.json`` (abi + deployment bytecode) from ``contracts/``.

``python -m anvil.artifacts`` runs ``ape compile`` and copies each deployable contract's ABI
and bytecode; the services and the deploy script read only these committed files. Contracts
under ``contracts/contracts/test/`` are test helpers and are not exported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.chain.manifest import ARTIFACTS_DIR
from core.settings import ROOT

CONTRACTS = ROOT / "contracts"


def compile_contracts() -> dict[str, dict[str, object]]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([Path(sys.executable).parent / "ape", "compile"], cwd=CONTRACTS, check=True, env=env)
    built = json.loads((CONTRACTS / ".build" / "__local__.json").read_text())
    types: dict[str, dict[str, object]] = built["contractTypes"]
    return types


def export(types: dict[str, dict[str, object]], out: Path = ARTIFACTS_DIR) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, contract_type in sorted(types.items()):
        source = str(contract_type.get("sourceId", ""))
        if "/test/" in source or source.startswith("test/"):
            continue
        bytecode = contract_type["deploymentBytecode"]
        assert isinstance(bytecode, dict)
        artifact = {
            "contractName": name,
            "sourceId": source,
            "abi": contract_type["abi"],
            "bytecode": bytecode["bytecode"],
        }
        (out / f"{name}.json").write_text(json.dumps(artifact, indent=1) + "\n")
        written.append(name)
    return written


def main() -> None:
    names = export(compile_contracts())
    print(f"wrote {len(names)} artifacts to {ARTIFACTS_DIR.relative_to(ROOT)}: {', '.join(names)}")  # noqa: T201 (CLI output)


if __name__ == "__main__":
    main()
