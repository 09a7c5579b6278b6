"""The encrypted source of truth: cells sealed with age (pyrage), opened in memory only.

Identities and recipients are real age X25519 keys made by pyrage; a DEV identity is a
recipient of DEV cells only, the PROD identity of both columns, as a team would set it up.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

from deploycheck.config import load_config
from deploycheck.sot import PAD, is_sealed, load_sot, parse_sot

from .conftest import EXAMPLE_SOT, REPO, Project, fingerprints, platform_values

PROD = ("--mode=deploy-prod", "--env", "sandbox")


class Keys:
    """A DEV and a PROD age identity and their public keys."""

    def __init__(self) -> None:
        self.dev = x25519.Identity.generate()
        self.prod = x25519.Identity.generate()

    def section(self) -> str:
        """The encryption: section of deploycheck.yaml for these keys."""
        dev_pub, prod_pub = str(self.dev.to_public()), str(self.prod.to_public())
        return f"\nencryption:\n  recipients:\n    dev: [{dev_pub}, {prod_pub}]\n    prod: [{prod_pub}]\n"


@pytest.fixture
def keys(project: Project, monkeypatch: pytest.MonkeyPatch) -> Keys:
    """Fresh keys, configured as recipients in the project's deploycheck.yaml; no identity set yet."""
    made = Keys()
    with project.config_path.open("a", encoding="utf-8") as handle:
        handle.write(made.section())
    for name in ("DEPLOYCHECK_AGE_KEY", "DEPLOYCHECK_AGE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(project.root / "home"))  # no key file of the real user
    return made


@pytest.fixture
def sealed_sot(project: Project, keys: Keys, cli) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the example table, sealed with `deploycheck sot encrypt`."""
    path = project.root / "app.env"
    path.write_text(EXAMPLE_SOT.read_text())
    run = cli(["sot", "encrypt", "--config", str(project.config_path), "--sot", str(path)])
    assert run.code == 0, run.err
    return path


def prod_values() -> list[str]:
    """Needles for a disk scan: 8-character pieces of every PROD secret of the example table, and
    every plain PROD value of 6 or more characters as a whole, except what deploycheck.yaml and the
    table's comments hold."""
    public = (REPO / "deploycheck.yaml").read_text() + EXAMPLE_SOT.read_text().split("| TARGET")[0]
    needles: set[str] = set()
    for entry in load_sot(EXAMPLE_SOT).entries:
        if entry.prod and entry.secret:
            needles |= {p for p in pieces(entry.prod) if p not in public}
        elif entry.prod and entry.prod not in public and len(entry.prod) >= 6:
            # a plain value of a few characters (RATE_LIMIT_PER_MINUTE=120) also occurs in any
            # HTML (``&#120;`` is an "x"): such a needle finds text, not a leaked value
            needles.add(entry.prod)
    return sorted(needles)


def pieces(value: str) -> set[str]:
    """Every 8-character piece of ``value`` (the size the redactor masks); short values whole."""
    return {value[i : i + 8] for i in range(max(1, len(value) - 7))}


def scan(folder: Path, values: list[str]) -> list[str]:
    """Files under ``folder`` that hold any 8-character piece of any of ``values``."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes().decode("utf-8", "replace")
            if any(needle in data for needle in values):
                found.append(str(path))
    return found


def test_encrypt_seals_every_value_and_keeps_names_readable(sealed_sot: Path, project: Project) -> None:
    """After `sot encrypt` every value cell is age:..., TARGET/GROUP/KEY are as before, no PROD value remains."""
    entries, problems = parse_sot(sealed_sot.read_text(), sealed_sot)
    original, _ = parse_sot(EXAMPLE_SOT.read_text(), EXAMPLE_SOT)
    assert problems == []
    assert [(e.targets, e.group, e.key) for e in entries] == [(e.targets, e.group, e.key) for e in original]
    assert all(is_sealed(e.prod) for e in entries)
    assert all(is_sealed(e.dev) == bool(o.dev) for e, o in zip(entries, original, strict=True))
    assert scan(project.root, prod_values()) == []
    plain_copy = project.root.parent / "plain"
    plain_copy.mkdir()
    (plain_copy / "app.env").write_text(EXAMPLE_SOT.read_text())
    assert scan(plain_copy, prod_values()) == [str(plain_copy / "app.env")]  # the scan does find values
    text = sealed_sot.read_text()
    assert text.splitlines()[:9] == EXAMPLE_SOT.read_text().splitlines()[:9]  # comments and header kept


def test_same_value_seals_differently_and_lengths_are_padded(sealed_sot: Path, keys: Keys) -> None:
    """Two cells with one value do not look alike; what is sealed is padded to PAD-byte steps."""
    entries, _ = parse_sot(sealed_sot.read_text(), sealed_sot)
    app_url = next(e for e in entries if e.key == "NEXT_PUBLIC_APP_URL")
    origins = next(e for e in entries if e.key == "ALLOWED_ORIGINS")
    assert app_url.prod != origins.prod  # both hold https://app.example.com
    sizes = {}
    for entry in entries:
        assert entry.prod is not None
        sizes[entry.key] = len(pyrage.decrypt(base64.b64decode(entry.prod[4:]), [keys.prod]))
    assert sizes["LOG_LEVEL"] == sizes["APP_ENV"] == PAD  # "info" and "production"
    assert all(size % PAD == 0 for size in sizes.values())


def test_decrypt_prints_the_table_and_refuses_files(sealed_sot: Path, project: Project, keys: Keys, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`sot decrypt --to -` with the PROD identity prints the original values; --to FILE is refused, exit 2."""
    monkeypatch.setenv("DEPLOYCHECK_AGE_KEY", str(keys.prod))
    base = ["sot", "decrypt", "--config", str(project.config_path), "--sot", str(sealed_sot)]
    run = cli([*base, "--to", "-"])
    assert run.code == 0, run.err
    opened, _ = parse_sot(run.out, sealed_sot)
    original, _ = parse_sot(EXAMPLE_SOT.read_text(), EXAMPLE_SOT)
    assert [(e.key, e.dev, e.prod) for e in opened] == [(e.key, e.dev, e.prod) for e in original]
    refused = cli([*base, "--to", str(project.root / "plain.env")])
    assert refused.code == 2 and "never written to a file" in refused.err
    assert not (project.root / "plain.env").exists()


def test_dev_identity_reads_dev_but_not_prod(sealed_sot: Path, project: Project, keys: Keys, cli, monkeypatch, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """A developer's identity syncs local files from DEV values; deploy-prod exits 2 naming the PROD recipients."""
    monkeypatch.setenv("DEPLOYCHECK_AGE_KEY", str(keys.dev))
    monkeypatch.chdir(project.root)
    run = cli(project.args(*PROD, "--yes", sot=sealed_sot))
    assert run.code == 2, run.out + run.err
    assert str(keys.prod.to_public()) in run.err
    assert "environment(s) production, sandbox cannot be read" in run.err
    assert "PROD_VALUE" in run.err and "DEPLOYCHECK_AGE_KEY" in run.err
    assert str(keys.dev) not in run.err and str(keys.dev)[15:23] not in run.err
    assert sandbox_admin.writes() == [] and not project.state_dir.exists()
    config = load_config(project.config_path)
    sot = load_sot(sealed_sot, config, columns=("dev",))
    assert next(e for e in sot.entries if e.key == "APP_ENV").dev == "development"


def test_missing_identity_names_recipients_and_writes_nothing(sealed_sot: Path, project: Project, keys: Keys, cli, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """With no identity at all, drift and sync exit 2, say where an identity is looked for, and write nothing."""
    run = cli(["drift", "--config", str(project.config_path), "--sot", str(sealed_sot), "--env", "sandbox", "--state-dir", str(project.state_dir)])
    assert run.code == 2, run.out + run.err
    assert "DEPLOYCHECK_AGE_KEY (unset) or the key file" in run.err and str(keys.prod.to_public()) in run.err
    assert sandbox_admin.requests() == [] and not project.state_dir.exists()


def test_sync_and_drift_from_the_sealed_table_leave_no_prod_value_on_disk(sealed_sot: Path, project: Project, keys: Keys, cli, monkeypatch, sandbox_env, sandbox_admin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With the PROD identity, sync-env and drift work from the sealed table; no file under tmp holds a PROD value."""
    monkeypatch.setenv("DEPLOYCHECK_AGE_KEY", str(keys.prod))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    run = cli(project.args(*PROD, "--yes", sot=sealed_sot))
    assert run.code == 0, run.err
    expected = {t: {e.key: e.prod for e in load_sot(EXAMPLE_SOT).for_target(t)} for t in ("NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB")}
    assert fingerprints(platform_values(sandbox_admin.state())) == fingerprints(expected)  # type: ignore[arg-type]
    drift = cli(["drift", "--config", str(project.config_path), "--sot", str(sealed_sot), "--env", "sandbox", "--state-dir", str(project.state_dir)])
    assert drift.code == 0, drift.out + drift.err
    assert scan(tmp_path, prod_values()) == []


def test_set_seals_a_value_from_stdin(sealed_sot: Path, project: Project, keys: Keys, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`sot set KEY --target T --prod-value-stdin` seals the piped value into that row and prints nothing of it."""
    value = "sk_live_brand-new-value-from-stdin-0001"
    monkeypatch.setattr(sys, "stdin", _Stdin(value + "\n"))
    before = sealed_sot.read_text().splitlines()
    run = cli(["sot", "set", "CLERK_SECRET_KEY", "--target", "CONVEX", "--prod-value-stdin", "--config", str(project.config_path), "--sot", str(sealed_sot)])
    assert run.code == 0, run.err
    assert value not in run.out + run.err and value not in sealed_sot.read_text()
    after = sealed_sot.read_text().splitlines()
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [next(i for i, line in enumerate(before) if "CLERK_SECRET_KEY" in line)]
    monkeypatch.setenv("DEPLOYCHECK_AGE_KEY", str(keys.prod))
    sot = load_sot(sealed_sot, load_config(project.config_path))
    assert next(e for e in sot.entries if e.key == "CLERK_SECRET_KEY").prod == value


def test_rekey_lets_a_new_recipient_read(sealed_sot: Path, project: Project, keys: Keys, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """After a PROD recipient is added to deploycheck.yaml, `sot rekey` re-seals every cell so it can read them."""
    newcomer = x25519.Identity.generate()
    text = project.config_path.read_text()
    project.config_path.write_text(text.replace(f"prod: [{keys.prod.to_public()}]", f"prod: [{keys.prod.to_public()}, {newcomer.to_public()}]"))
    monkeypatch.setenv("DEPLOYCHECK_AGE_KEY", str(newcomer))
    with pytest.raises(Exception, match="cannot be opened"):
        load_sot(sealed_sot, load_config(project.config_path), columns=("prod",))
    monkeypatch.setenv("DEPLOYCHECK_AGE_KEY", str(keys.prod))
    run = cli(["sot", "rekey", "--config", str(project.config_path), "--sot", str(sealed_sot)])
    assert run.code == 0, run.err
    monkeypatch.setenv("DEPLOYCHECK_AGE_KEY", str(newcomer))
    sot = load_sot(sealed_sot, load_config(project.config_path), columns=("prod",))
    assert next(e for e in sot.entries if e.key == "APP_ENV").prod == "production"


def test_edit_uses_a_private_temp_file_reseals_changes_only_and_shreds_it(sealed_sot: Path, project: Project, keys: Keys, cli, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`sot edit`: $EDITOR gets a 0600 copy; only the edited row changes; the copy is gone afterwards."""
    log = tmp_path / "editor.log"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import os, stat, sys\n"
        f"log = open({str(log)!r}, 'w')\n"
        "path = sys.argv[1]\n"
        "log.write(path + '\\n' + oct(stat.S_IMODE(os.stat(path).st_mode)) + '\\n')\n"
        "text = open(path).read().replace('| 120 ', '| 240 ', 1)\n"
        "open(path, 'w').write(text)\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.setenv("DEPLOYCHECK_AGE_KEY", str(keys.prod))
    before = sealed_sot.read_text().splitlines()
    run = cli(["sot", "edit", "--config", str(project.config_path), "--sot", str(sealed_sot)])
    assert run.code == 0, run.err
    temp, mode = log.read_text().split()
    assert mode == "0o600" and not Path(temp).exists() and not Path(temp).parent.exists()
    after = sealed_sot.read_text().splitlines()
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [next(i for i, line in enumerate(before) if "RATE_LIMIT_PER_MINUTE" in line)]
    sot = load_sot(sealed_sot, load_config(project.config_path))
    assert next(e for e in sot.entries if e.key == "RATE_LIMIT_PER_MINUTE").prod == "240"


def test_edit_that_breaks_the_table_writes_nothing(sealed_sot: Path, project: Project, keys: Keys, cli, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An edit that leaves an invalid table exits 2 with the problem and leaves the sealed file as it was."""
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'a').write('| NOPE | x | BROKEN\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.setenv("DEPLOYCHECK_AGE_KEY", str(keys.prod))
    before = sealed_sot.read_bytes()
    run = cli(["sot", "edit", "--config", str(project.config_path), "--sot", str(sealed_sot)])
    assert run.code == 2 and "does not end with '|'" in run.err
    assert sealed_sot.read_bytes() == before
    assert stat.S_IMODE(os.stat(sealed_sot).st_mode) in (0o644, 0o600, 0o664)


class _Stdin:
    """A stand-in stdin holding ``text`` (what a pipe would give)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self) -> str:
        return self.text

    def isatty(self) -> bool:
        return False


@pytest.mark.sandbox
def test_pytest_env_sandbox_runs_from_the_sealed_table(sealed_sot: Path, keys: Keys, tmp_path: Path) -> None:
    """`pytest --env=sandbox` with DEPLOYCHECK_AGE_KEY verifies from the sealed table; no PROD value lands on disk."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(temp),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "DEPLOYCHECK_SOT": str(sealed_sot),
        "DEPLOYCHECK_AGE_KEY": str(keys.prod),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--env=sandbox", "-q", "-p", "no:cacheprovider", f"--report-dir={tmp_path / 'reports'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Verification PASSED" in done.stdout
    assert (tmp_path / "reports" / "report.html").is_file()
    assert scan(tmp_path, prod_values()) == []
