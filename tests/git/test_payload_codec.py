"""The AES-GCM payload codec: round trips, no plaintext at rest, and a real Temporal workflow through it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from coding_agent.codec import EncryptionCodec, data_converter, decode_key, generate_key
from coding_agent.models import GitCredentials, GitCredentialsType

SECRET = "codec-sentinel-password-91f2"


def credentials() -> GitCredentials:
    return GitCredentials(credential_type=GitCredentialsType.USERNAME_PASSWORD, username="u", password=SECRET)


async def test_round_trip_and_ciphertext_has_no_plaintext() -> None:
    converter = data_converter(generate_key())
    payloads = await converter.encode([credentials()])
    assert SECRET.encode() not in payloads[0].SerializeToString()
    assert payloads[0].metadata["encoding"] == b"binary/encrypted"
    (decoded,) = await converter.decode(payloads, [GitCredentials])
    assert decoded == credentials()
    assert isinstance(converter.failure_converter, DefaultFailureConverterWithEncodedAttributes)


async def test_without_key_is_the_plain_pydantic_converter() -> None:
    assert data_converter(None) is pydantic_data_converter
    assert data_converter("") is pydantic_data_converter


async def test_wrong_key_and_tampering_fail_clearly() -> None:
    key = generate_key()
    payloads = await data_converter(key).encode(["hello"])
    with pytest.raises(ValueError, match="unknown key"):
        await data_converter(generate_key()).decode(payloads)
    payloads[0].data = payloads[0].data[:-1] + bytes([payloads[0].data[-1] ^ 1])
    with pytest.raises(ValueError, match="failed authentication"):
        await data_converter(key).decode(payloads)


async def test_key_rotation_reads_old_payloads() -> None:
    old, new = generate_key(), generate_key()
    payloads = await data_converter(old).encode(["kept"])
    assert await data_converter(new, [old]).decode(payloads, [str]) == ["kept"]
    codec = EncryptionCodec(decode_key(new))
    assert (await codec.decode(await codec.encode(payloads)))[0] == payloads[0]


@pytest.mark.parametrize("bad", ["not base64!!", "c2hvcnQ="])
def test_invalid_keys_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        data_converter(bad)
    assert bad not in str(caught.value)


@workflow.defn(sandboxed=False)
class EchoUsernameWorkflow:
    @workflow.run
    async def run(self, creds: GitCredentials) -> str:
        if creds.username == "fail":
            raise ApplicationError(f"failing with {creds.password}", non_retryable=True)
        return f"hello {creds.username}"


async def test_temporal_history_holds_only_ciphertext(temporal_address: str) -> None:
    converter = data_converter(generate_key())
    client = await Client.connect(temporal_address, data_converter=converter)
    queue = f"codec-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[EchoUsernameWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        ok = await client.execute_workflow(
            EchoUsernameWorkflow.run,
            credentials(),
            id=f"codec-ok-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )
        assert ok == "hello u"
        failing = credentials().model_copy(update={"username": "fail"})
        handle = await client.start_workflow(
            EchoUsernameWorkflow.run,
            failing,
            id=f"codec-fail-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
    # The codec's own client decodes the failure: the message survives the round trip.
    assert isinstance(caught.value.cause, ApplicationError) and SECRET in str(caught.value.cause)
    # A client without the codec sees what Temporal stored: ciphertext only, failure message included.
    raw = await Client.connect(temporal_address)
    history = await raw.get_workflow_handle(handle.id).fetch_history()
    # Raw protobuf bytes (JSON would show payload data base64-encoded and hide a plaintext match).
    stored = b"".join(event.SerializeToString() for event in history.events)
    assert SECRET.encode() not in stored and b"failing with" not in stored
    assert b"binary/encrypted" in stored


async def test_settings_rotate_the_key_for_the_products_client(temporal_address: str) -> None:
    """With the current key and the previous one in the settings, the client reads payloads written
    under either, and writes only under the current one."""
    from coding_agent.settings import Settings
    from coding_agent.temporal_client import connect

    old, new = generate_key(), generate_key()
    rotated = Settings(
        temporal_host=temporal_address, payload_encryption_key=new, payload_encryption_previous_keys=f" {old} ,"
    )
    client = await connect(rotated)
    codec = client.data_converter.payload_codec
    assert codec is not None
    before = await data_converter(old).payload_codec.encode(  # type: ignore[union-attr]
        [Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')]
    )
    assert (await codec.decode(before))[0].data == b'"hello"'
    fresh = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"again"')])
    with pytest.raises(ValueError, match="unknown key"):
        await data_converter(old).payload_codec.decode(fresh)  # type: ignore[union-attr]
