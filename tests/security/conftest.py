"""The security suite runs its real workflows once (``scenario.run_scenario``, all tasks at once) and
lets many small tests assert on what they left behind."""

from __future__ import annotations

import pytest

from tests.security.scenario import Observations, run_scenario


@pytest.fixture(scope="package")
async def seen(tmp_path_factory: pytest.TempPathFactory, temporal_address: str, nats_url: str) -> Observations:
    return await run_scenario(tmp_path_factory.mktemp("security"), temporal_address, nats_url)
