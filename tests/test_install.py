"""harden installed from a real wheel, outside the checkout (issue 14, item 7).

The wheel is built from a copy of the source (``pip wheel --no-deps --no-build-isolation
--no-index``: offline, with this venv's setuptools) and installed, non-editable, into a fresh
venv in a temp folder. That venv reaches the runtime dependencies through a ``.pth`` line naming
this venv's site-packages (a plain path: the editable install's finder there is not activated),
so nothing is downloaded and ``harden_lib`` can only come from the wheel. ``JUPYTER_PATH``
names this venv's Jupyter data folder, where ``pip install`` of nbconvert would have put its
templates in the new venv.

Every command then runs from a temp folder that holds nothing but ``params/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import read_demo_banner

ROOT = Path(__file__).resolve().parent.parent
#: What a source distribution carries (MANIFEST.in); the wheel is built from a copy of these.
SOURCE = ("harden_lib", "notebooks", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "requirements.txt")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    python: Path
    harden: Path
    env: dict[str, str]

    def run(self, *args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.harden), *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    source = base / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", "build")
    for name in SOURCE:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(path, source / name)
    wheels = base / "wheels"
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(wheels), str(source))
    (wheel,) = wheels.glob("harden-*.whl")

    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    Path(purelib, "harden-test-deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    _pip("--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "HARDEN_DEMO_LOG")}
    env["JUPYTER_PATH"] = str(Path(sys.prefix, "share", "jupyter"))
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return Installed(wheel, venv, python, venv / "bin" / "harden", env)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with nothing but a copy of the checkout's params/ (the demo and the profiles)."""
    work = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "params", work / "params")
    return work


def _tracked(*paths: str) -> list[str]:
    """The files git tracks under ``paths`` (what a fresh clone has), else every file on disk."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["git", "ls-files", *paths], cwd=ROOT, capture_output=True, text=True, timeout=30)
        if done.returncode == 0 and done.stdout.strip():
            return [line for line in done.stdout.splitlines() if (ROOT / line).is_file()]
    return [
        str(p.relative_to(ROOT))
        for name in paths
        for p in (ROOT / name).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def test_the_wheel_carries_every_file_of_the_package_and_the_notebooks(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    library = _tracked("harden_lib")
    notebooks = [n for n in _tracked("notebooks") if n.endswith(".ipynb")]
    assert any(n.startswith("harden_lib/catalog/") for n in library) and len(notebooks) >= 10
    missing = [n for n in library if n not in names]
    missing += [n for n in notebooks if f"harden_lib/{n}" not in names]
    assert not missing, f"not in the wheel: {missing}"
    # Data, not only code: the templates, the catalog, the demo's site and its dotfiles.
    for wanted in ("harden_lib/templates/", "harden_lib/catalog/", "harden_lib/demo/site/", "harden_lib/schemas/"):
        assert any(n.startswith(wanted) and not n.endswith(".py") for n in names), wanted
    assert "harden_lib/demo/sample-repo/.env.example" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed, tmp_path: Path) -> None:
    probe = (
        "import json, harden_lib, harden_lib.runner as r; n = r.notebooks_dir();"
        "print(json.dumps([harden_lib.__file__, str(n), sorted(p.name for p in n.glob('*.ipynb'))]))"
    )
    done = subprocess.run(
        [str(installed.python), "-c", probe], cwd=tmp_path, env=installed.env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    module, notebooks, names = json.loads(done.stdout)
    assert Path(module).is_relative_to(installed.venv), module
    assert Path(notebooks).is_relative_to(installed.venv) and Path(notebooks).name == "notebooks", notebooks
    assert {"summary.ipynb", "headers.ipynb", "config.ipynb"} <= set(names)
    version = installed.run("--version", cwd=tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"harden \S+\n", version.stdout), version


def test_harden_run_works_from_a_folder_with_only_params(installed: Installed, project: Path) -> None:
    done = installed.run("run", "--env", "demo", "--areas", "headers,surface", cwd=project, timeout=300)
    run = (project / "reports" / "demo" / "latest").resolve()
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]  # the demo is NO-GO on purpose
    execution = json.loads((run / "execution.json").read_text(encoding="utf-8"))["areas"]
    assert {a: v["ok"] for a, v in execution.items()} == {"headers": True, "surface": True}, execution
    for page in ("index.html", "headers.html", "surface.html", "summary.html"):
        assert (run / page).stat().st_size > 1000, page
    findings = json.loads((run / "findings.json").read_text(encoding="utf-8"))["findings"]
    areas = {f["check_id"].split(".")[0] for f in findings if f["status"] != "error"}
    assert {"headers", "surface"} <= areas, areas
    assert not [f for f in findings if f["check_id"].endswith(".execution") and f["status"] == "error"]
    # Nothing was written next to the installed package (reports, notebooks' outputs).
    assert not list((installed.venv / "lib").rglob("reports"))
    assert not [p for p in installed.venv.rglob("*.ipynb") if p.parent.name != "notebooks"]


def test_harden_demo_server_starts_serves_and_stops(installed: Installed, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [str(installed.harden), "demo-server"],
        cwd=tmp_path,
        env=installed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        text = read_demo_banner(process, 30)
        https = re.search(r"HTTPS\s+(https://127\.0\.0\.1:\d+)/", text)
        ca = re.search(r"CA\s+(\S+ca\.pem)", text)
        assert https and ca, text + (process.stderr.read() if process.poll() is not None and process.stderr else "")
        with httpx.Client(verify=ssl.create_default_context(cafile=ca.group(1)), timeout=10) as client:
            assert client.get(https.group(1) + "/api/health").json() == {"status": "ok"}
            assert "Acme Live" in client.get(https.group(1) + "/").text  # the site's templates shipped
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_harden_validate_and_coverage_from_a_folder_with_only_params(installed: Installed, project: Path) -> None:
    done = installed.run("validate", "params/demo.yaml", "params/checklists", cwd=project)
    assert done.returncode == 2, done.stdout + done.stderr
    demo = (project / "params" / "demo.yaml").resolve()
    # The demo's params point at files of a checkout: each is named with its key, as written.
    for key, written in (
        ("config.env_file", "../harden_lib/demo/demo.env"),
        ("secrets.repo_path", "../harden_lib/demo/sample-repo"),
        ("containers.compose_files[0]", "../harden_lib/demo/infra/docker-compose.yml"),
        ("dependencies.reports[0]", "../harden_lib/demo/infra/audits/npm-audit.json"),
    ):
        assert f"INVALID {demo}: {key}: '{written}' (relative to that file's folder) does not exist" in done.stderr
    profiles = sorted(p.name for p in (project / "params" / "checklists").glob("*.yaml"))
    assert len(profiles) >= 4
    for name in profiles:
        assert re.search(rf"^OK params/checklists/{re.escape(name)}: checklist profile ", done.stdout, re.M), name
    coverage = installed.run("coverage", *(f"params/checklists/{n}" for n in profiles[:2]), cwd=project)
    assert coverage.returncode in (0, 1), coverage.stderr
    assert all(f"(params/checklists/{n})" in coverage.stdout for n in profiles[:2]), coverage.stdout[:500]
