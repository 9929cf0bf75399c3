#!/usr/bin/env python3
"""Writes the seed corpus in seeds/<target>/: real inputs of each kind, made here rather than
typed by hand. Run from anywhere: python3 fuzz/make_seeds.py"""

import json
import pathlib
import struct

SEEDS = pathlib.Path(__file__).resolve().parent / "seeds"


def msgpack(value):
    """The subset of msgpack Terraform sends: nil, bool, int, float, str, array, map, ext."""
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int):
        if 0 <= value < 128:
            return bytes([value])
        return b"\xd3" + struct.pack(">q", value)
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode()
        if len(data) < 32:
            return bytes([0xA0 | len(data)]) + data
        return b"\xd9" + bytes([len(data)]) + data
    if isinstance(value, Ext):
        if len(value.data) == 1:  # fixext 1, as Terraform writes a plain unknown
            return b"\xd4" + bytes([value.kind]) + value.data
        return b"\xc7" + bytes([len(value.data), value.kind]) + value.data
    if isinstance(value, list):
        return bytes([0x90 | len(value)]) + b"".join(msgpack(item) for item in value)
    if isinstance(value, dict):
        return bytes([0x80 | len(value)]) + b"".join(
            msgpack(key) + msgpack(item) for key, item in value.items()
        )
    raise TypeError(value)


class Ext:
    """An extension: Terraform's unknown value is type 0, a refined unknown type 12."""

    def __init__(self, kind, data):
        self.kind, self.data = kind, data


UNKNOWN = Ext(0, b"\x00")
# A refined unknown (Terraform 1.6+): refinement 1, "is null", is false.
REFINED_UNKNOWN = Ext(12, msgpack({1: False}))

DATA_SOURCE = {
    "connection_status": None,
    "delete_requested": None,
    "error_message": None,
    "id": None,
    "interface_endpoint_id": "vpce-08fb7e9319909ec7b",
    "private_link_id": "5f4d3c2b1a09876543210abc",
    "project_id": "5f4d3c2b1a09876543210fed",
    "wait_for_status": ["AVAILABLE", "REJECTED"],
    "wait_timeout": "20m",
}

MSGPACK = {
    "data_source_config": DATA_SOURCE,
    "data_source_unknowns": {**DATA_SOURCE, "private_link_id": UNKNOWN,
                             "wait_for_status": REFINED_UNKNOWN},
    "data_source_state": {**DATA_SOURCE, "connection_status": "AVAILABLE",
                          "delete_requested": False, "id": "5f4d3c2b1a09876543210fed/"
                          "5f4d3c2b1a09876543210abc/vpce-08fb7e9319909ec7b"},
    "provider_config": {
        "base_url": "https://cloud.mongodb.com",
        "ca_cert_file": None,
        "max_retries": 4,
        "private_key": "0d6b1c2e-3f4a-4b5c-8d9e-0f1a2b3c4d5e",
        "public_key": "abcdefgh",
        "request_timeout": "1m30s",
    },
    "float_number": {"max_retries": 2.5},
    "null": None,
    "unknown": UNKNOWN,
}

ATLAS_CHALLENGE = ('Digest realm="MMS Public API", domain="", '
                   'nonce="a7SrZ5xQ0bC2dE4fG6hJ8kL0mN2pQ4rS", algorithm=MD5, qop="auth", ')
CHALLENGES = {
    "atlas": ATLAS_CHALLENGE + "stale=false",
    "atlas_stale": ATLAS_CHALLENGE + "stale=true",
    "rfc7616": 'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
               'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
               'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    "rfc2069_plain": "Digest realm=testrealm,nonce=dcd98b7102dd2f0e8b11d0f600bfb0c093,opaque=5c",
    "escaped": r'Digest realm="a \"quoted\" realm", nonce="n\\1", charset=UTF-8, userhash=true',
}

ENDPOINT = {"interfaceEndpointId": "vpce-08fb7e9319909ec7b", "connectionStatus": "PENDING",
            "errorMessage": None, "deleteRequested": False}
BODIES = {
    "documented": json.dumps(ENDPOINT),
    "available_extra_fields": json.dumps({**ENDPOINT, "connectionStatus": "DEGRADED",
                                          "errorMessage": "AWS says no", "newField": {"a": [1]}}),
    "error_404": json.dumps({"detail": "No PrivateLink connection 5f found.", "error": 404,
                             "errorCode": "PRIVATELINK_NOT_FOUND", "parameters": ["5f"],
                             "reason": "Not Found"}),
    "error_401": json.dumps({"error": 401, "reason": "Unauthorized",
                             "detail": "You are not authorized for this resource."}),
    "html_502": "<html><body><h1>502 Bad Gateway</h1></body></html>\n",
}


def write(target, name, data):
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def main():
    for name, value in MSGPACK.items():
        write("msgpack_value", name, msgpack(value))
    for name, text in CHALLENGES.items():
        write("digest_challenge", name, text.encode())
    for name, text in BODIES.items():
        write("response_body", name, text.encode())


if __name__ == "__main__":
    main()
