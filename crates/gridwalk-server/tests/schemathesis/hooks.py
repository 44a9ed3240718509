"""Schemathesis hooks for tests/schemathesis.rs.

A tus PATCH carries `application/offset+octet-stream` (raw bytes), a media type
schemathesis has no serializer for: it is sent as raw bytes like `application/octet-stream`.
"""

import schemathesis
from schemathesis.transport.serialization import serialize_binary


@schemathesis.serializer("application/offset+octet-stream")
def tus_chunk(ctx, value):
    return {"data": serialize_binary(value)}
