#!/usr/bin/env python3
"""Writes the golden vectors of Protocol/vectors from the text of PROTOCOL.md alone.

This is a second, independent implementation of the EDTLP 1 writer (canonical JSON, vector
notation, frame numbers, END line with the XXH3-64 checksum), kept so the vectors can be
re-made and checked. It needs the `xxhash` package from PyPI. The Swift tests then decode every
vector, re-encode the valid ones byte for byte, and check each invalid one fails with its code.

Each vector NAME.edtlp has NAME.expected beside it: `ok frames=N checksum=xxh3-64:HEX` or
`error CODE line N`.
"""
import json
import os
import sys

import xxhash

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")


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


def stream(header, frames):
    """frames: list of (VERB, rest-or-None). Returns the bytes with numbered frames and END.
    A ("+SUM", None) frame is a checkpoint: it gets the checksum of every byte before its line."""
    body = (header + "\n").encode("utf-8")
    for number, (verb, rest) in enumerate(frames, start=1):
        if verb == "+SUM" and rest is None:
            rest = "xxh3-64:" + xxhash.xxh3_64_hexdigest(body)
        body += (f"{verb} {number}" + (f" {rest}" if rest else "") + "\n").encode("utf-8")
    digest = xxhash.xxh3_64_hexdigest(body)
    return body + f"END {len(frames)} xxh3-64:{digest}\n".encode(), len(frames), f"xxh3-64:{digest}"


def write(name, data, expected):
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

    push = ok("valid-push", "EDTLP 1.0 push device=edt-laptop-a", [
        ("DELTA", "base=central:41 knowledge=central:41,edt-laptop-a:3"),
        ("REC", record(case, fields=[
            ("concern", "edt-laptop-a:1", [("edt-laptop-a:1", "Child (7) found alone at Reading station at 02:10.")]),
            ("hostAuthority", "edt-laptop-a:2", [("edt-laptop-a:2", "E06000038")]),
            ("children.c1.location", "edt-laptop-a:3", [("edt-laptop-a:3", "British Transport Police office")]),
        ])),
        ("PULL", "since=central:41,edt-laptop-a:3"),
    ])

    ok("valid-reply", "EDTLP 1.0 reply device=central", [
        ("ACK", f"{case} central:42,edt-laptop-a:3"),
        ("NAK", f"{other} invalid " + canonical("children.c1.nhsNumber: 9434765918 fails the Modulus 11 check")),
        ("DELTA", "base=central:41,edt-laptop-a:3 knowledge=central:43,edt-laptop-a:3"),
        ("REC", record(other, fields=[("referrer.phone", "central:43", [("central:43", "07700 900123")])])),
    ])

    ok("valid-bundle-conflict", "EDTLP 1.0 bundle device=edt-laptop-b", [
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

    ok("valid-push-noop", "EDTLP 1.0 push device=edt-laptop-a", [
        ("PULL", "since=central:43,edt-laptop-a:6"),
    ])

    checkpointed = ok("valid-push-checkpoint", "EDTLP 1.0 push device=edt-laptop-a", [
        ("DELTA", "base=central:41 knowledge=central:41,edt-laptop-a:4"),
        ("REC", record(case, fields=[("concern", "edt-laptop-a:1", [("edt-laptop-a:1", "Child (7) found alone at Reading station at 02:10.")]),
                                     ("hostAuthority", "edt-laptop-a:2", [("edt-laptop-a:2", "E06000038")])])),
        ("+SUM", None),
        ("REC", record(other, fields=[("concern", "edt-laptop-a:3", [("edt-laptop-a:3", "Sibling (4) with neighbour overnight.")]),
                                      ("hostAuthority", "edt-laptop-a:4", [("edt-laptop-a:4", "E06000038")])])),
        ("PULL", "since=central:41"),
    ])

    ok("valid-empty-bundle", "EDTLP 1.0 bundle device=edt-laptop-c", [])

    ok("valid-newer-minor", "EDTLP 1.3 bundle device=edt-laptop-a compression=none", [
        ("+HINT", "next-sync=later"),
        ("DELTA", "base=- knowledge=edt-laptop-a:1"),
        ("REC", record(case, entries=[("edt-laptop-a:1", "note", "Called back the referrer.")])),
    ])

    # Invalid vectors, each from a valid stream with one thing wrong.
    lines = push.split(b"\n")
    bad("invalid-truncated", push[: len(push) - 20], "truncated", 5)
    bad("invalid-missing-end", b"\n".join(lines[:4]) + b"\n", "missing-end", 5)
    bad("invalid-wrong-count", push.replace(b"END 3 ", b"END 4 "), "count-mismatch", 5)
    bad("invalid-wrong-digest", push.replace(b"alone at Reading", b"alone at Raading"), "digest-mismatch", 5)
    bad("invalid-unknown-verb", push.replace(b"PULL 3 ", b"PUSH 3 "), "unknown-verb", 4)
    bad("invalid-unknown-major", push.replace(b"EDTLP 1.0 push", b"EDTLP 2.0 push"), "unsupported-version", 1)
    bad("invalid-utf8", push.replace("alone at Reading".encode(), b"alone at R\xc3\x28ading"), "invalid-utf8", 3)
    bad("invalid-raw-newline-in-payload", push.replace(b"at 02:10.", b"at\n02:10."), "invalid-payload", 3)
    bad("invalid-duplicated-frame", b"\n".join(lines[:3] + lines[2:]), "bad-sequence", 4)
    bad("invalid-crlf", push.replace(b"\n", b"\r\n"), "crlf", 1)
    long_line = b"REC 2 " + case.encode() + b' {"entries":[],"fields":[{"context":"edt-laptop-a:1","path":"concern","values":[{"dot":"edt-laptop-a:1","value":"' + b"x" * (1 << 20) + b'"}]}]}'
    bad("invalid-over-long-line", b"\n".join([lines[0], lines[1], long_line] + lines[3:]), "line-too-long", 3)
    bad("invalid-trailing-data", push + b"REC 4 more\n", "trailing-data", 6)
    bad("invalid-not-edtlp", b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n", "not-edtlp", 1)
    bad("invalid-empty", b"", "empty-input", 1)
    bad("invalid-record-before-delta", b"\n".join([lines[0]] + [lines[2].replace(b"REC 2", b"REC 1")]) + b"\n", "unexpected-frame", 2)
    bad("invalid-checkpoint-mismatch", checkpointed.replace(b"alone at Reading", b"alone at Raading"), "digest-mismatch", 4)
    bad("invalid-ack-in-push", push.replace(b"PULL 3 since=central:41,edt-laptop-a:3", b"ACK 3 " + case.encode() + b" central:42"), "unexpected-frame", 4)
    bad("invalid-bad-record-id", push.replace(case.encode(), b"case/../etc"), "invalid-identifier", 3)
    bad("invalid-json-whitespace", push.replace(b'{"entries":[],', b'{"entries": [],'), "invalid-payload", 3)
    bad("invalid-json-duplicate-key", push.replace(b'{"entries":[],', b'{"entries":[],"entries":[],'), "invalid-payload", 3)
    deep = b"[" * 40 + b"]" * 40
    bad("invalid-json-too-deep", push.replace(b'{"entries":[],', b'{"entries":[],"x":' + deep + b","), "invalid-payload", 3)
    bad("invalid-unsorted-vector", push.replace(b"knowledge=central:41,edt-laptop-a:3", b"knowledge=edt-laptop-a:3,central:41"), "invalid-identifier", 2)
    print(f"wrote vectors to {HERE}")


if __name__ == "__main__":
    sys.exit(main())
