"""Integrity of an exported model: a sha256 manifest of every file, optionally signed (Ed25519).

The manifest and its signature live inside the export, where TF Serving ignores them::

    <model_dir>/assets.extra/workbench_integrity.json      {"files": {"saved_model.pb": "<sha256>", …}}
    <model_dir>/assets.extra/workbench_integrity.json.sig  {"algorithm": "ed25519", "signature": …}

The manifest covers every other file of the export (the signature file signs the manifest's
bytes). :func:`verify_export` refuses an export where a file changed, was added or is missing,
and names it; given a public key, it also refuses an unsigned export or a bad signature.

Keys are PEM (PKCS#8 private, SubjectPublicKeyInfo public) as written by :func:`generate_keypair`
(``workbench keygen``); OpenSSH ``ssh-ed25519`` keys are accepted too. An encrypted private key
is opened with the passphrase in ``$WORKBENCH_KEY_PASSPHRASE``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, IntegrityError
from workbench.runs.atomic import atomic_write_bytes, file_digest

__all__ = [
    "MANIFEST_NAME",
    "PASSPHRASE_ENV",
    "SIGNATURE_NAME",
    "IntegrityReport",
    "SigningKeyError",
    "generate_keypair",
    "key_fingerprint",
    "load_private_key",
    "load_public_key",
    "sign_manifest",
    "verify_export",
    "write_manifest",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "assets.extra/workbench_integrity.json"
SIGNATURE_NAME = MANIFEST_NAME + ".sig"
PASSPHRASE_ENV = "WORKBENCH_KEY_PASSPHRASE"
_FORMAT = "workbench-integrity/1"


class SigningKeyError(ConfigError):
    """A signing or verification key is missing, unreadable or not an Ed25519 key."""


@dataclass(frozen=True)
class IntegrityReport:
    """What :func:`verify_export` checked."""

    model_dir: str
    files: int
    signed: bool
    signature_checked: bool
    key_fingerprint: str | None = None
    manifest_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"model_dir": self.model_dir, "files": self.files, "signed": self.signed,
                "signature_checked": self.signature_checked,
                "key_fingerprint": self.key_fingerprint,
                "manifest_sha256": self.manifest_sha256}


# -- manifest ----------------------------------------------------------------------------------

def _covered_files(root: Path) -> dict[str, Path]:
    """Every file of the export except the manifest and its signature, by relative path."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel in (MANIFEST_NAME, SIGNATURE_NAME):
            continue
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            raise IntegrityError(
                f"{root} contains a symbolic link '{rel}'; an export must hold plain files only",
                hint="replace the link with the file it points to and re-export",
                path=str(path), file=rel)
        if stat.S_ISREG(mode):
            out[rel] = path
    return out


def _require_dir(model_dir: str | os.PathLike[str]) -> Path:
    root = Path(model_dir)
    if not root.is_dir():
        raise IntegrityError(f"{root} is not a directory holding an exported model",
                             hint="pass the SavedModel folder (the one with saved_model.pb)",
                             path=str(root))
    return root


def _manifest_bytes(files: dict[str, str]) -> bytes:
    doc = {"format": _FORMAT, "algorithm": "sha256", "files": dict(sorted(files.items()))}
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


def write_manifest(model_dir: str | os.PathLike[str]) -> Path:
    """Write ``assets.extra/workbench_integrity.json`` with the sha256 of every other file.

    Deterministic: the same files give the same bytes. A signature left from an earlier manifest
    no longer matches, so it is removed.
    """
    root = _require_dir(model_dir)
    files = {rel: file_digest(p) for rel, p in _covered_files(root).items()}
    path = atomic_write_bytes(root / MANIFEST_NAME, _manifest_bytes(files))
    (root / SIGNATURE_NAME).unlink(missing_ok=True)
    log.info("integrity manifest of %s: %d files", root, len(files))
    return path


def _read_manifest(root: Path) -> tuple[bytes, dict[str, str]]:
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise IntegrityError(
            f"{root} has no integrity manifest ({MANIFEST_NAME} is missing)",
            hint="export the model with the 04_export stage, or write one with "
                 "workbench.export.integrity.write_manifest",
            path=str(path), file=MANIFEST_NAME)
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
        files = doc["files"]
        if doc.get("format") != _FORMAT or not isinstance(files, dict):
            raise ValueError(f"format {doc.get('format')!r}")
    except (ValueError, KeyError, TypeError) as err:
        raise IntegrityError(f"the integrity manifest {path} is not readable: {err}",
                             hint="the manifest was edited or damaged; re-export the model",
                             path=str(path), file=MANIFEST_NAME) from err
    return raw, {str(k): str(v) for k, v in files.items()}


# -- keys --------------------------------------------------------------------------------------

def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


def _read_key_file(path: str | os.PathLike[str], what: str) -> tuple[Path, bytes]:
    key_path = Path(path).expanduser()
    if not str(path):
        raise SigningKeyError(f"no {what} key path given",
                              hint="generate a key pair with `workbench keygen --out PREFIX`")
    if not key_path.is_file():
        raise SigningKeyError(f"{what} key {key_path} does not exist",
                              hint="generate a key pair with `workbench keygen --out PREFIX` "
                                   "and pass its path", file=str(key_path))
    return key_path, key_path.read_bytes()


def load_private_key(path: str | os.PathLike[str]) -> Any:
    """The Ed25519 private key at ``path`` (PEM or OpenSSH), or a :class:`SigningKeyError`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key_path, data = _read_key_file(path, "private")
    try:
        if b"BEGIN OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, password=_passphrase())
        else:
            key = serialization.load_pem_private_key(data, password=_passphrase())
    except TypeError as err:  # encrypted without a passphrase, or a passphrase for a plain key
        raise SigningKeyError(f"private key {key_path} could not be opened: {err}",
                              hint=f"set ${PASSPHRASE_ENV} to the key's passphrase (or unset it "
                                   "for an unencrypted key)", file=str(key_path)) from err
    except (ValueError, UnicodeDecodeError) as err:
        public = b"PUBLIC KEY" in data or data.startswith(b"ssh-")
        raise SigningKeyError(
            f"{key_path} is not a private key"
            + (" (it is a public key)" if public else f": {err}"),
            hint="sign with the private key written by `workbench keygen --out PREFIX` "
                 "(the file PREFIX, not PREFIX.pub)", file=str(key_path)) from err
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"{key_path} is not an Ed25519 key (key type: {_kind(key)}); exports are signed "
            "with Ed25519 keys",
            hint="generate an Ed25519 key pair with `workbench keygen --out PREFIX`",
            file=str(key_path))
    return key


def load_public_key(path: str | os.PathLike[str]) -> Any:
    """The Ed25519 public key at ``path`` (PEM or ``ssh-ed25519``), or a SigningKeyError."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key_path, data = _read_key_file(path, "public")
    try:
        if data.lstrip().startswith(b"ssh-"):
            key = serialization.load_ssh_public_key(data.strip())
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, UnicodeDecodeError) as err:
        private = b"PRIVATE KEY" in data
        raise SigningKeyError(
            f"{key_path} is not a public key" + (" (it is a private key)" if private
                                                 else f": {err}"),
            hint="verify with the public key written by `workbench keygen --out PREFIX` "
                 "(the file PREFIX.pub)", file=str(key_path)) from err
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(
            f"{key_path} is not an Ed25519 key (key type: {_kind(key)}); export signatures "
            "are Ed25519",
            hint="use the PREFIX.pub file written by `workbench keygen --out PREFIX`",
            file=str(key_path))
    return key


def _kind(key: Any) -> str:
    """A readable name for the algorithm of a key that is not Ed25519."""
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa, x448, x25519

    kinds = ((rsa.RSAPrivateKey, "RSA"), (rsa.RSAPublicKey, "RSA"),
             (ec.EllipticCurvePrivateKey, "ECDSA"), (ec.EllipticCurvePublicKey, "ECDSA"),
             (dsa.DSAPrivateKey, "DSA"), (dsa.DSAPublicKey, "DSA"),
             (ed448.Ed448PrivateKey, "Ed448"), (ed448.Ed448PublicKey, "Ed448"),
             (x25519.X25519PrivateKey, "X25519"), (x25519.X25519PublicKey, "X25519"),
             (x448.X448PrivateKey, "X448"), (x448.X448PublicKey, "X448"))
    return next((name for cls, name in kinds if isinstance(key, cls)), type(key).__name__)


def _raw_public(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_fingerprint(public_key: Any) -> str:
    """``sha256:<hex>`` of the raw 32-byte Ed25519 public key."""
    return "sha256:" + hashlib.sha256(_raw_public(public_key)).hexdigest()


def generate_keypair(prefix: str | os.PathLike[str], *, overwrite: bool = False) -> tuple[Path,
                                                                                           Path]:
    """Write a new Ed25519 key pair: ``PREFIX`` (private, mode 0600) and ``PREFIX.pub``.

    The private key is encrypted with ``$WORKBENCH_KEY_PASSPHRASE`` when it is set.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_path = Path(prefix).expanduser()
    public_path = private_path.with_name(private_path.name + ".pub")
    for p in (private_path, public_path):
        if p.exists() and not overwrite:
            raise SigningKeyError(f"{p} already exists; refusing to overwrite a key",
                                  hint="choose another --out prefix, or pass --force",
                                  file=str(p))
    if private_path.parent and not private_path.parent.is_dir():
        raise SigningKeyError(f"folder {private_path.parent} does not exist",
                              hint="create it first or choose another --out prefix",
                              file=str(private_path))
    key = Ed25519PrivateKey.generate()
    passphrase = _passphrase()
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8, encryption)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    os.chmod(private_path, 0o600)
    public_path.write_bytes(public_pem)
    log.info("wrote Ed25519 key pair %s / %s (%s)", private_path, public_path,
             key_fingerprint(key.public_key()))
    return private_path, public_path


# -- signing and verifying ---------------------------------------------------------------------

def sign_manifest(model_dir: str | os.PathLike[str],
                  private_key_path: str | os.PathLike[str]) -> Path:
    """Sign the export's integrity manifest with an Ed25519 private key; returns the .sig path.

    The manifest must exist (:func:`write_manifest`) and still match the files, so a signature
    never vouches for a tampered export.
    """
    root = _require_dir(model_dir)
    key = load_private_key(private_key_path)
    verify_export(root)  # sign only what the manifest truly describes
    raw, _ = _read_manifest(root)
    sig = {"algorithm": "ed25519", "manifest": MANIFEST_NAME,
           "manifest_sha256": hashlib.sha256(raw).hexdigest(),
           "public_key": base64.b64encode(_raw_public(key.public_key())).decode("ascii"),
           "key_fingerprint": key_fingerprint(key.public_key()),
           "signature": base64.b64encode(key.sign(raw)).decode("ascii")}
    path = atomic_write_bytes(root / SIGNATURE_NAME,
                              (json.dumps(sig, indent=1, sort_keys=True) + "\n").encode())
    log.info("signed %s with %s", root / MANIFEST_NAME, sig["key_fingerprint"])
    return path


def _check_signature(root: Path, raw: bytes, public_key_path: str | os.PathLike[str]
                     ) -> str:
    from cryptography.exceptions import InvalidSignature

    public = load_public_key(public_key_path)
    sig_path = root / SIGNATURE_NAME
    if not sig_path.is_file():
        raise IntegrityError(
            f"{root} is not signed ({SIGNATURE_NAME} is missing) but a public key was given",
            hint="export with a signing_key parameter, or verify without --public-key",
            path=str(sig_path), file=SIGNATURE_NAME)
    try:
        doc = json.loads(sig_path.read_bytes())
        signature = base64.b64decode(doc["signature"], validate=True)
    except (ValueError, KeyError, TypeError) as err:
        raise IntegrityError(f"the signature file {sig_path} is not readable: {err}",
                             hint="re-sign the export", path=str(sig_path),
                             file=SIGNATURE_NAME) from err
    fingerprint = key_fingerprint(public)
    try:
        public.verify(signature, raw)
    except InvalidSignature as err:
        other = doc.get("key_fingerprint")
        why = (f"it was signed by key {other}, not {fingerprint}" if other and other !=
               fingerprint else "the manifest or the signature was changed after signing")
        raise IntegrityError(
            f"the signature of {root / MANIFEST_NAME} does not verify with "
            f"{public_key_path}: {why}",
            hint="do not serve this export; re-export it from its run, or verify with the key "
                 "that signed it", path=str(sig_path), file=MANIFEST_NAME) from err
    return fingerprint


def verify_export(model_dir: str | os.PathLike[str],
                  public_key_path: str | os.PathLike[str] | None = None, *,
                  full: bool = False, contents: bool = True) -> IntegrityReport:
    """Check every file of an export against its manifest (and the signature, given a key).
    A file this process already hashed, unchanged since (same inode, size, mtime and ctime), is
    not read again unless ``full`` (:func:`~workbench.runs.atomic.file_digest`). Without
    ``contents`` only the file list and the signature are checked: for a copy of an export
    whose bytes were verified already.

    Raises :class:`~workbench.errors.IntegrityError` naming every file that changed, was added
    or is missing (the first one in ``context['file']``).
    """
    root = _require_dir(model_dir)
    raw, recorded = _read_manifest(root)
    present = _covered_files(root)
    changed = sorted(rel for rel in recorded.keys() & present.keys()
                     if contents and file_digest(present[rel], full=full) != recorded[rel])
    added = sorted(present.keys() - recorded.keys())
    missing = sorted(recorded.keys() - present.keys())
    problems = ([f"changed: {r}" for r in changed] + [f"added: {r}" for r in added]
                + [f"missing: {r}" for r in missing])
    if problems:
        first = (changed or added or missing)[0]
        shown = "; ".join(problems[:10]) + (f"; … {len(problems) - 10} more"
                                            if len(problems) > 10 else "")
        raise IntegrityError(
            f"export {root} does not match its integrity manifest: {shown}",
            hint="do not serve this export; re-export the model from its run "
                 "(workbench run --from 04_export)",
            path=str(root / first), file=first, changed=",".join(changed) or None,
            added=",".join(added) or None, missing=",".join(missing) or None)
    signed = (root / SIGNATURE_NAME).is_file()
    fingerprint = None
    if public_key_path:
        fingerprint = _check_signature(root, raw, public_key_path)
    log.info("verified %s: %d files%s", root, len(recorded),
             ", signature ok" if fingerprint else "")
    return IntegrityReport(str(root), len(recorded), signed, fingerprint is not None,
                           fingerprint, hashlib.sha256(raw).hexdigest())
