"""Integrity manifest and Ed25519 signatures of an export (no TensorFlow needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from workbench.errors import IntegrityError, WorkbenchError
from workbench.export.integrity import (
    MANIFEST_NAME,
    PASSPHRASE_ENV,
    SIGNATURE_NAME,
    SigningKeyError,
    generate_keypair,
    sign_manifest,
    verify_export,
    write_manifest,
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "variables").mkdir(parents=True)
    (root / "assets.extra").mkdir()
    (root / "saved_model.pb").write_bytes(b"graph")
    (root / "variables" / "variables.index").write_bytes(b"index")
    (root / "variables" / "variables.data-00000-of-00001").write_bytes(b"weights")
    (root / "assets.extra" / "workbench_metadata.json").write_text('{"run_id": "r"}')
    write_manifest(root)
    return root


def test_manifest_covers_every_other_file_and_is_deterministic(export: Path) -> None:
    doc = json.loads((export / MANIFEST_NAME).read_text())
    assert sorted(doc["files"]) == ["assets.extra/workbench_metadata.json", "saved_model.pb",
                                    "variables/variables.data-00000-of-00001",
                                    "variables/variables.index"]
    before = (export / MANIFEST_NAME).read_bytes()
    write_manifest(export)
    assert (export / MANIFEST_NAME).read_bytes() == before
    report = verify_export(export)
    assert report.files == 4 and not report.signed and not report.signature_checked


@pytest.mark.parametrize("tamper, word, name", [
    (lambda r: (r / "variables" / "variables.data-00000-of-00001").write_bytes(b"evil"),
     "changed", "variables/variables.data-00000-of-00001"),
    (lambda r: (r / "assets.extra" / "extra.txt").write_text("x"), "added",
     "assets.extra/extra.txt"),
    (lambda r: (r / "saved_model.pb").unlink(), "missing", "saved_model.pb"),
])
def test_tampering_is_refused_naming_the_file(export: Path, tamper, word: str,
                                              name: str) -> None:
    tamper(export)
    with pytest.raises(IntegrityError) as info:
        verify_export(export)
    assert f"{word}: {name}" in str(info.value)
    assert info.value.context["file"] == name


def test_symlink_and_missing_manifest_are_refused(export: Path, tmp_path: Path) -> None:
    (export / "variables" / "link").symlink_to(tmp_path)
    with pytest.raises(IntegrityError, match="symbolic link 'variables/link'"):
        verify_export(export)
    (export / "variables" / "link").unlink()
    (export / MANIFEST_NAME).unlink()
    with pytest.raises(IntegrityError, match="no integrity manifest"):
        verify_export(export)
    with pytest.raises(IntegrityError, match="not a directory"):
        verify_export(tmp_path / "nowhere")


def test_edited_manifest_is_refused(export: Path) -> None:
    (export / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(IntegrityError, match="not readable"):
        verify_export(export)


def test_sign_and_verify_with_the_public_key(export: Path, tmp_path: Path) -> None:
    private, public = generate_keypair(tmp_path / "signer")
    assert os.stat(private).st_mode & 0o777 == 0o600
    sign_manifest(export, private)
    report = verify_export(export, public)
    assert report.signed and report.signature_checked
    assert report.key_fingerprint.startswith("sha256:")
    # another key of the right kind does not verify, and the message says whose it is
    _, other_pub = generate_keypair(tmp_path / "other")
    with pytest.raises(IntegrityError, match="signed by key sha256:"):
        verify_export(export, other_pub)
    # re-writing the manifest (after a file changed) drops the stale signature
    (export / "saved_model.pb").write_bytes(b"graph2")
    write_manifest(export)
    assert not (export / SIGNATURE_NAME).exists()
    with pytest.raises(IntegrityError, match="is not signed"):
        verify_export(export, public)


def test_a_forged_manifest_fails_the_signature(export: Path, tmp_path: Path) -> None:
    private, public = generate_keypair(tmp_path / "signer")
    sign_manifest(export, private)
    # an attacker changes a file and rewrites the manifest's hash for it, keeping the .sig
    (export / "saved_model.pb").write_bytes(b"evil graph")
    sig = (export / SIGNATURE_NAME).read_bytes()
    write_manifest(export)
    (export / SIGNATURE_NAME).write_bytes(sig)
    verify_export(export)  # the hashes alone are consistent again ...
    with pytest.raises(IntegrityError, match="changed after signing"):
        verify_export(export, public)  # ... the signature is not


def test_signing_refuses_a_tampered_export(export: Path, tmp_path: Path) -> None:
    private, _ = generate_keypair(tmp_path / "signer")
    (export / "saved_model.pb").write_bytes(b"evil")
    with pytest.raises(IntegrityError, match="changed: saved_model.pb"):
        sign_manifest(export, private)


def _write_pem(path: Path, key) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


@pytest.mark.parametrize("make, kind", [
    (lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024), "RSA"),
    (lambda: ec.generate_private_key(ec.SECP256R1()), "ECDSA"),
])
def test_wrong_kind_of_key_is_a_clear_error(export: Path, tmp_path: Path, make,
                                            kind: str) -> None:
    path = _write_pem(tmp_path / "wrong.pem", make())
    with pytest.raises(SigningKeyError) as info:
        sign_manifest(export, path)
    assert f"key type: {kind}" in info.value.message and "keygen" in info.value.hint
    assert isinstance(info.value, WorkbenchError)


def test_missing_public_or_garbage_key_is_a_clear_error(export: Path, tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="does not exist"):
        sign_manifest(export, tmp_path / "absent")
    _, public = generate_keypair(tmp_path / "signer")
    with pytest.raises(SigningKeyError, match="it is a public key"):
        sign_manifest(export, public)
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key")
    with pytest.raises(SigningKeyError, match="not a private key"):
        sign_manifest(export, garbage)
    with pytest.raises(SigningKeyError, match="not a public key"):
        verify_export(export, garbage)


def test_openssh_keys_and_encrypted_keys(export: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    priv = tmp_path / "id_ed25519"
    priv.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.OpenSSH,
                                       serialization.NoEncryption()))
    pub = tmp_path / "id_ed25519.pub"
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                  serialization.PublicFormat.OpenSSH))
    sign_manifest(export, priv)
    assert verify_export(export, pub).signature_checked

    monkeypatch.setenv(PASSPHRASE_ENV, "s3cret")
    enc, enc_pub = generate_keypair(tmp_path / "enc")
    assert b"ENCRYPTED" in enc.read_bytes()
    sign_manifest(export, enc)
    assert verify_export(export, enc_pub).signature_checked
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(SigningKeyError, match=PASSPHRASE_ENV):
        sign_manifest(export, enc)


def test_keygen_refuses_to_overwrite(tmp_path: Path) -> None:
    generate_keypair(tmp_path / "k")
    with pytest.raises(SigningKeyError, match="already exists"):
        generate_keypair(tmp_path / "k")
    generate_keypair(tmp_path / "k", overwrite=True)
