"""Sentinel secrets of the git tests (distinctive strings the hygiene tests look for) and key paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SENTINEL_USER = "alice"
SENTINEL_PASSWORD = "Sentinel-Passw0rd-7f3a91"
SENTINEL_TOKEN = "sentinel_tok_5b2e44c9d1"
SENTINEL_PASSPHRASE = "Sentinel-Passphrase-0c8d"


@dataclass(frozen=True)
class SshKeys:
    plain_path: Path
    encrypted_path: Path

    @property
    def plain_text(self) -> str:
        return self.plain_path.read_text()

    @property
    def encrypted_text(self) -> str:
        return self.encrypted_path.read_text()
