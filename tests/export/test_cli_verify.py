"""`workbench keygen` and `workbench verify`, run as a user runs them."""

from __future__ import annotations

from pathlib import Path

from workbench.export.integrity import sign_manifest, write_manifest


def _export(root: Path) -> Path:
    (root / "variables").mkdir(parents=True)
    (root / "saved_model.pb").write_bytes(b"graph")
    (root / "variables" / "variables.index").write_bytes(b"index")
    write_manifest(root)
    return root


def test_keygen_verify_and_tamper(workbench, project: Path) -> None:
    result = workbench("keygen", "--out", "signer")
    assert result.code == 0, result.text
    assert "fingerprint: sha256:" in result.out
    assert (project / "signer").is_file() and (project / "signer.pub").is_file()
    again = workbench("keygen", "--out", "signer")
    assert again.code == 1 and "already exists" in again.err

    model = _export(project / "model")
    sign_manifest(model, project / "signer")
    ok = workbench("verify", str(model), "--public-key", "signer.pub")
    assert ok.code == 0, ok.text
    assert "signature: valid" in ok.out

    wrong = workbench("verify", str(model), "--public-key", "signer")
    assert wrong.code == 1 and "it is a private key" in wrong.err

    (model / "variables" / "variables.index").write_bytes(b"evil")
    bad = workbench("verify", str(model))
    assert bad.code == 1
    assert "changed: variables/variables.index" in bad.err
    assert "re-export" in bad.err

    missing = workbench("verify", str(project / "nowhere"))
    assert missing.code != 0
