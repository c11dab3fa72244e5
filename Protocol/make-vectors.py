#!/usr/bin/env python3
"""Writes the golden vectors of Protocol/vectors from the text of PROTOCOL.md alone.

This is a second, independent implementation of the EDTLP 2 writer (canonical JSON, vector
notation, frame numbers, `SIG` frames, END line with the XXH3-64 checksum), kept so the vectors
can be re-made and checked. It needs the `xxhash` and `cryptography` packages from PyPI. The Swift
tests then decode every vector, re-encode the valid ones byte for byte, and check each invalid one
fails with its code and line.

Every vector is signed with the **test key** (PROTOCOL.md §9): the Ed25519 private key whose
32-byte seed is the bytes 0x00, 0x01, ... 0x1f. Its public key, in hex, is TEST_PUBLIC_KEY below.
It plays every role in the vectors (the pushing device, the centre, the exporting laptop), so a
push's and a reply's `centre=` name it too. Ed25519 signatures are deterministic (RFC 8032), so
running this again writes the same bytes. The test key is public: never use it for anything else.

Each vector NAME.edtlp has NAME.expected beside it: `ok frames=N checksum=xxh3-64:HEX` or
`error CODE line N`. Files in vectors/ that this script does not write are deleted.
"""
import hashlib
import json
import os
import sys

import xxhash
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")

# The test key: seed 00 01 02 ... 1f. Public, documented, for vectors and tests only.
TEST_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
TEST_PUBLIC_KEY = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
# Another key (seed 20 21 ... 3f), for a stream signed by someone else.
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))

WRITTEN = set()


def canonical(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def record(rid, fields=(), entries=()):
    """fields: (path, context, [(dot, value)...]); entries: (dot, kind, payload)."""
    payload = {
        "entries": [{"dot": d, "kind": k, "payload": p} for d, k, p in sorted(entries, key=lambda e: dot_key(e[0]))],
        "fields": [
            {"context": ctx, "path": path, "values": [{"dot": d, "value": v} for d, v in sorted(vals, key=lambda s: dot_key(s[0]))]}
            for path, ctx, vals in sorted(fields, key=lambda f: f[0].encode())
        ],
    }
    return f"{rid} {canonical(payload)}"


def dot_key(text):
    device, counter = text.rsplit(":", 1)
    return (device.encode(), int(counter))


def public_hex(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def signature_frame(key, kind, role, body):
    """The arguments of a SIG frame: `role`'s signature, by `key`, of every byte before its line."""
    signed = f"edt-stream-2 {kind} {role} sha256:{hashlib.sha256(body).hexdigest()}".encode("ascii")
    return f"{role} ed25519:{key.sign(signed).hex()}"


def end_line(body, count):
    return f"END {count} xxh3-64:{xxhash.xxh3_64_hexdigest(body)}\n".encode()


def stream(header, frames, key=TEST_KEY, final=True):
    """frames: list of (VERB, rest-or-None). Returns the bytes with numbered frames, the `SIG final`
    (unless `final` is false) and END, the frame count and END's checksum.
    A ("+SUM", None) frame is a checkpoint: it gets the XXH3-64 of every byte before its line.
    A ("SIG", "part") frame is a signed checkpoint: `key`'s signature of every byte before its line."""
    kind = header.split(" ")[2]
    frames = list(frames) + ([("SIG", "final")] if final else [])
    body = (header + "\n").encode("utf-8")
    for number, (verb, rest) in enumerate(frames, start=1):
        if verb == "+SUM" and rest is None:
            rest = "xxh3-64:" + xxhash.xxh3_64_hexdigest(body)
        elif verb == "SIG":
            rest = signature_frame(key, kind, rest, body)
        body += (f"{verb} {number}" + (f" {rest}" if rest else "") + "\n").encode("utf-8")
    digest = xxhash.xxh3_64_hexdigest(body)
    return body + end_line(body, len(frames)), len(frames), f"xxh3-64:{digest}"


def with_end(lines):
    """Joins complete frame lines (header first, no END) and adds a correct END line for them."""
    body = b"".join(line + b"\n" for line in lines)
    return body + end_line(body, len(lines) - 1)


def write(name, data, expected):
    WRITTEN.update({name + ".edtlp", name + ".expected"})
    with open(os.path.join(HERE, name + ".edtlp"), "wb") as f:
        f.write(data)
    with open(os.path.join(HERE, name + ".expected"), "w") as f:
        f.write(expected + "\n")


def ok(name, header, frames):
    data, count, digest = stream(header, frames)
    write(name, data, f"ok frames={count} checksum={digest}")
    return data


def bad(name, data, code, line):
    write(name, data, f"error {code} line {line}")


def main():
    os.makedirs(HERE, exist_ok=True)
    case = "3f2a9c1e-5b7d-4e10-8a6c-2d9e4f7b1a05"
    other = "8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f"
    centre = TEST_PUBLIC_KEY  # the test key plays the centre too
    assert public_hex(TEST_KEY) == TEST_PUBLIC_KEY

    push_header = f"EDTLP 2.0 push device=edt-laptop-a centre={centre} counter=7"
    push_frames = [
        ("DELTA", "base=central:41 knowledge=central:41,edt-laptop-a:3"),
        ("REC", record(case, fields=[
            ("concern", "edt-laptop-a:1", [("edt-laptop-a:1", "Child (7) found alone at Reading station at 02:10.")]),
            ("hostAuthority", "edt-laptop-a:2", [("edt-laptop-a:2", "E06000038")]),
            ("children.c1.location", "edt-laptop-a:3", [("edt-laptop-a:3", "British Transport Police office")]),
        ])),
        ("PULL", "since=central:41,edt-laptop-a:3"),
    ]
    # Lines: 1 header, 2 DELTA 1, 3 REC 2, 4 PULL 3, 5 SIG 4 final, 6 END 4.
    push = ok("valid-push", push_header, push_frames)

    ok("valid-reply", f"EDTLP 2.0 reply device=central centre={centre} counter=7", [
        ("ACK", f"{case} central:42,edt-laptop-a:3"),
        ("NAK", f"{other} invalid " + canonical("children.c1.nhsNumber: 9434765918 fails the Modulus 11 check")),
        ("DELTA", "base=central:41,edt-laptop-a:3 knowledge=central:43,edt-laptop-a:3"),
        ("REC", record(other, fields=[("referrer.phone", "central:43", [("central:43", "07700 900123")])])),
    ])

    ok("valid-bundle-conflict", f"EDTLP 2.0 bundle device=edt-laptop-b key={TEST_PUBLIC_KEY}", [
        ("DELTA", "base=- knowledge=edt-laptop-a:6,edt-laptop-b:4"),
        ("REC", record(case, fields=[
            ("children.c1.location", "edt-laptop-a:5,edt-laptop-b:3", [
                ("edt-laptop-a:5", "Foster carer, 12 Oak Road, Reading"),
                ("edt-laptop-b:3", "Grandmother's home, 4 Elm Close, Slough"),
            ]),
            ("children.c1.name", "edt-laptop-a:1", [("edt-laptop-a:1", "Zoë \"Zo\" Nowak-Łukasiewicz")]),
            ("concern", "edt-laptop-a:2", [("edt-laptop-a:2", "Said: \"mum didn't come home\".\nSecond line;\ttab, back\\slash, bell\u0007.")]),
            ("children.c1.age", "edt-laptop-b:1", [("edt-laptop-b:1", 7)]),
            ("children.c1.heightMetres", "edt-laptop-b:2", [("edt-laptop-b:2", 1.25)]),
            ("immediateProtection", "edt-laptop-b:4", [("edt-laptop-b:4", True)]),
            ("homeAuthority", "edt-laptop-a:4", [("edt-laptop-a:4", None)]),
        ], entries=[
            ("edt-laptop-a:6", "decision", {"by": "J. Okafor", "role": "EDT social worker", "reason": "No safe adult; placement tonight.", "signature": "ed25519:AAAA", "at": "2027-03-27T02:40:00Z"}),
            ("edt-laptop-a:3", "conversation", {"start": "2027-03-27T02:10:00Z", "end": "2027-03-27T02:24:00Z", "present": ["EDT social worker", "BTP officer 4471"], "said": [-3, 0, 2.5, [], {}]}),
        ])),
    ])

    ok("valid-push-noop", f"EDTLP 2.0 push device=edt-laptop-a centre={centre} counter=8", [
        ("PULL", "since=central:43,edt-laptop-a:6"),
    ])

    # Lines: 1 header, 2 DELTA 1, 3 REC 2, 4 SIG 3 part, 5 REC 4, 6 +SUM 5, 7 PULL 6,
    # 8 SIG 7 final, 9 END 7. The SIG part lets the centre store the first record early; the
    # +SUM (no longer written by edt) is still checked.
    checkpointed = ok("valid-push-checkpoint", f"EDTLP 2.0 push device=edt-laptop-a centre={centre} counter=9", [
        ("DELTA", "base=central:41 knowledge=central:41,edt-laptop-a:4"),
        ("REC", record(case, fields=[("concern", "edt-laptop-a:1", [("edt-laptop-a:1", "Child (7) found alone at Reading station at 02:10.")]),
                                     ("hostAuthority", "edt-laptop-a:2", [("edt-laptop-a:2", "E06000038")])])),
        ("SIG", "part"),
        ("REC", record(other, fields=[("concern", "edt-laptop-a:3", [("edt-laptop-a:3", "Sibling (4) with neighbour overnight.")]),
                                      ("hostAuthority", "edt-laptop-a:4", [("edt-laptop-a:4", "E06000038")])])),
        ("+SUM", None),
        ("PULL", "since=central:41"),
    ])

    ok("valid-empty-bundle", f"EDTLP 2.0 bundle device=edt-laptop-c key={TEST_PUBLIC_KEY}", [])

    ok("valid-newer-minor", f"EDTLP 2.3 bundle device=edt-laptop-a key={TEST_PUBLIC_KEY} compression=none", [
        ("+HINT", "next-sync=later"),
        ("DELTA", "base=- knowledge=edt-laptop-a:1"),
        ("REC", record(case, entries=[("edt-laptop-a:1", "note", "Called back the referrer.")])),
    ])

    # Invalid vectors, each from a valid stream with one thing wrong. `lines` are valid-push's
    # lines without their LFs: [0] header, [1] DELTA, [2] REC, [3] PULL, [4] SIG final, [5] END.
    lines = push.split(b"\n")[:-1]
    bad("invalid-truncated", push[: len(push) - 20], "truncated", 6)
    bad("invalid-missing-end", b"\n".join(lines[:5]) + b"\n", "missing-end", 6)
    bad("invalid-wrong-count", push.replace(b"END 4 ", b"END 5 "), "count-mismatch", 6)
    # Any byte changed before the SIG line fails its signature first; only END's own checksum
    # can be wrong alone.
    wrong_digit = b"0" if push[-2:-1] != b"0" else b"1"
    bad("invalid-wrong-digest", push[:-2] + wrong_digit + b"\n", "digest-mismatch", 6)
    bad("invalid-unknown-verb", push.replace(b"PULL 3 ", b"PUSH 3 "), "unknown-verb", 4)
    bad("invalid-unknown-major", push.replace(b"EDTLP 2.0 push", b"EDTLP 3.0 push"), "unsupported-version", 1)
    # An EDTLP 1 stream (unsigned, as edt 1 wrote it) is refused by its version alone.
    v1, _, _ = stream("EDTLP 1.0 push device=edt-laptop-a", push_frames, final=False)
    bad("invalid-unsupported-version", v1, "unsupported-version", 1)
    bad("invalid-utf8", push.replace("alone at Reading".encode(), b"alone at R\xc3\x28ading"), "invalid-utf8", 3)
    bad("invalid-raw-newline-in-payload", push.replace(b"at 02:10.", b"at\n02:10."), "invalid-payload", 3)
    bad("invalid-duplicated-frame", b"\n".join(lines[:3] + lines[2:]) + b"\n", "bad-sequence", 4)
    bad("invalid-crlf", push.replace(b"\n", b"\r\n"), "crlf", 1)
    long_line = b"REC 2 " + case.encode() + b' {"entries":[],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"' + b"x" * (1 << 20) + b'"}]}]}'
    bad("invalid-over-long-line", b"\n".join([lines[0], lines[1], long_line] + lines[3:]) + b"\n", "line-too-long", 3)
    bad("invalid-trailing-data", push + b"REC 5 more\n", "trailing-data", 7)
    bad("invalid-not-edtlp", b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n", "not-edtlp", 1)
    bad("invalid-empty", b"", "empty-input", 1)
    bad("invalid-record-before-delta", b"\n".join([lines[0]] + [lines[2].replace(b"REC 2", b"REC 1")]) + b"\n", "unexpected-frame", 2)
    bad("invalid-ack-in-push", push.replace(b"PULL 3 since=central:41,edt-laptop-a:3", b"ACK 3 " + case.encode() + b" central:42"), "unexpected-frame", 4)
    bad("invalid-bad-record-id", push.replace(case.encode(), b"case/../etc"), "invalid-identifier", 3)
    bad("invalid-json-whitespace", push.replace(b'{"entries":[],', b'{"entries": [],'), "invalid-payload", 3)
    bad("invalid-json-duplicate-key", push.replace(b'{"entries":[],', b'{"entries":[],"entries":[],'), "invalid-payload", 3)
    deep = b"[" * 40 + b"]" * 40
    bad("invalid-json-too-deep", push.replace(b'{"entries":[],', b'{"entries":[],"x":' + deep + b","), "invalid-payload", 3)
    bad("invalid-unsorted-vector", push.replace(b"knowledge=central:41,edt-laptop-a:3", b"knowledge=edt-laptop-a:3,central:41"), "invalid-identifier", 2)

    # Checkpoints. valid-push-checkpoint's lines: [0] header, [1] DELTA 1, [2] REC 2, [3] SIG 3 part,
    # [4] REC 4, [5] +SUM 5, [6] PULL 6, [7] SIG 7 final, [8] END 7.
    cp = checkpointed.split(b"\n")[:-1]
    # A byte of the second record changed: the SIG part (line 4) still verifies; the +SUM
    # (line 6) catches it before the final signature would.
    bad("invalid-checkpoint-mismatch", checkpointed.replace(b"neighbour overnight", b"neighbour ovarnight"), "digest-mismatch", 6)
    # Cut after the signed checkpoint and closed with a correct END: not the sender's whole stream.
    bad("invalid-ends-at-part-signature", with_end(cp[:4]), "unsigned", 5)
    # The same, with the checkpoint's role changed to pass it off as the final signature.
    bad("invalid-part-signature-as-final", with_end(cp[:3] + [cp[3].replace(b"SIG 3 part ", b"SIG 3 final ")]), "bad-signature", 4)

    # Signatures, from valid-push.
    # A byte changed after signing, END's count and checksum made right again: only the
    # signature catches it, on the SIG final line.
    bad("invalid-bad-signature", with_end([line.replace(b"alone at Reading", b"alone at Raading") for line in lines[:5]]), "bad-signature", 5)
    # No SIG final: END (line 5) is reached without the stream's final signature.
    unsigned, _, _ = stream(push_header, push_frames, final=False)
    bad("invalid-unsigned", unsigned, "unsigned", 5)
    # A record appended after the final signature (with a correct END): refused on its own line.
    appended = b"REC 5 " + record(other, fields=[("concern", "edt-laptop-a:4", [("edt-laptop-a:4", "Added later.")])]).encode()
    bad("invalid-frame-after-final-signature", with_end(lines[:5] + [appended]), "unsigned", 6)
    # Well formed and whole, but signed by another key than the sender's.
    by_other, _, _ = stream(push_header, push_frames, key=OTHER_KEY)
    bad("invalid-signature-by-another-key", by_other, "bad-signature", 5)
    # The signature in uppercase hex: not `part|final ed25519:<128 lowercase hex>`.
    role, signature = lines[4].split(b" ")[2:]
    bad("invalid-malformed-signature", with_end(lines[:4] + [b"SIG 4 " + role + b" " + signature.upper().replace(b"ED25519:", b"ed25519:")]), "malformed-frame", 5)

    for file in sorted(os.listdir(HERE)):
        if file not in WRITTEN:
            os.remove(os.path.join(HERE, file))
            print(f"deleted obsolete {file}")
    print(f"wrote {len(WRITTEN) // 2} vectors to {HERE}")


if __name__ == "__main__":
    sys.exit(main())
