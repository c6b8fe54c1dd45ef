"""Optional encryption of everything the product stores in Temporal (AES-256-GCM payload codec).

Temporal's history keeps workflow inputs, so a request's git credentials would sit there in clear.
With a key set (``CODING_AGENT_PAYLOAD_ENCRYPTION_KEY``, base64 of 32 random bytes), every payload
is encrypted before it leaves the client or the worker, and failure messages and stack traces are
encoded into payloads too (``DefaultFailureConverterWithEncodedAttributes``) so they are encrypted
as well. Every client that reads or starts these workflows (the platform's too) must use the same
converter; a payload encrypted under an unknown key fails to decode with a clear error.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
_NONCE_BYTES = 12


def generate_key() -> str:
    """A new random AES-256 key, base64-encoded, for ``CODING_AGENT_PAYLOAD_ENCRYPTION_KEY``."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


def decode_key(encoded: str) -> bytes:
    """The raw key from its base64 form; raises ValueError (without echoing the key) when malformed."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the payload encryption key is not valid base64") from None
    if len(key) != 32:
        raise ValueError(f"the payload encryption key must be 32 bytes (AES-256), got {len(key)}")
    return key


def key_id(key: bytes) -> str:
    """A short, non-secret fingerprint telling which key encrypted a payload."""
    return hashlib.sha256(b"coding-agent-payload-key:" + key).hexdigest()[:16]


class EncryptionCodec(PayloadCodec):
    """Encrypts whole serialized payloads with AES-GCM; older keys can still decrypt (rotation)."""

    def __init__(self, key: bytes, previous_keys: Iterable[bytes] = ()) -> None:
        self._key_id = key_id(key)
        self._encryptor = AESGCM(key)
        self._decryptors = {key_id(k): AESGCM(k) for k in (key, *previous_keys)}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={"encoding": ENCODING, KEY_ID_METADATA: self._key_id.encode()},
                data=self._encrypt(payload.SerializeToString()),
            )
            for payload in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)  # written before encryption was turned on
                continue
            kid = payload.metadata.get(KEY_ID_METADATA, b"").decode()
            aes = self._decryptors.get(kid)
            if aes is None:
                raise ValueError(f"payload was encrypted with an unknown key (id {kid or '?'})")
            try:
                plain = aes.decrypt(payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:], None)
            except InvalidTag:
                raise ValueError("payload failed authentication (tampered, or wrong key)") from None
            decoded.append(Payload.FromString(plain))
        return decoded

    def _encrypt(self, data: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._encryptor.encrypt(nonce, data, None)


def data_converter(encryption_key_b64: str | None, previous_keys_b64: Sequence[str] = ()) -> DataConverter:
    """The product's converter: pydantic models as JSON, encrypted when a key is given."""
    if not encryption_key_b64:
        return pydantic_data_converter
    codec = EncryptionCodec(decode_key(encryption_key_b64), [decode_key(k) for k in previous_keys_b64])
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
