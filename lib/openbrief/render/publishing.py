"""Publishing a brief: papermill executes a notebook, nbconvert renders the PDF.

This module knows notebooks, kernels, files and checksums; it knows no metric and no brief
(the data-aware checks happen before, in ``openbrief.cli.build``).
A build works in a temporary folder inside ``briefs/`` and renames it into
place (``briefs/<name>-<snapshot>-<built>/``) only when the executed notebook,
the PDF and ``manifest.json`` are all written. On failure, SIGINT and SIGTERM
included, the executed notebook is kept under ``briefs/_failed/`` next to
``error.txt``; no earlier brief is ever touched.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import platform
import re
import shutil
import sys
import zlib
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import nbformat

from openbrief.i18n import SOURCE_LANG
from openbrief.render import params as params_mod
from openbrief.render.prewarm import SECRET_VARS
from openbrief.render.translate import localized
from openbrief.errors import ExecutionError, OpenbriefError, RenderError, UsageError, WriteError
from openbrief.store.snapshot import (ID_PATTERN, REPO_ROOT, acquire, checked_folder, remove_stale_temps,
                                sha256_file, temp_dir)
from filelock import FileLock, Timeout

KERNEL_NAME = "openbrief"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
META_MIME = "application/vnd.openbrief+json"
#: OSError numbers that mean the disk is full or read-only: a write failure (exit 7) at any stage.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
PACKAGES = ("openbrief", "huggingface_hub", "papermill", "nbconvert", "nbclient", "pandas", "pyarrow",
            "matplotlib", "weasyprint", "ipykernel")


def default_briefs_dir(arg: str | os.PathLike | None = None, *, writable: bool = False) -> Path:
    """``--briefs``, else ``OPENBRIEF_BRIEFS``, else ``briefs/`` in the repository (see ``snapshot.checked_folder``)."""
    raw = arg or os.environ.get("OPENBRIEF_BRIEFS") or REPO_ROOT / "briefs"
    return checked_folder(raw, "the briefs folder", writable=writable)


def notebook_path(name: str, notebooks_dir: Path = NOTEBOOKS_DIR) -> Path:
    params_mod.specs(name)  # unknown names fail here, before any path is built
    if name in params_mod.SANDBOXES:
        raise UsageError(f"{name} is an analyst's sandbox, never rendered as a brief: open it with 'make lab'")
    path = notebooks_dir / f"{name}.ipynb"
    if not path.is_file():
        raise UsageError(f"notebook {path} is missing: is this an openbrief checkout?")
    return path


KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]  # no transport warnings in cron logs


def ensure_kernel() -> str:
    """Register the ``openbrief`` kernel for this Python if it is missing or points elsewhere."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(KERNEL_NAME)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve() and spec.argv[-1] == KERNEL_ARGS[-1]:
            return KERNEL_NAME
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import write_kernel_spec

    folder = write_kernel_spec(overrides={"display_name": "Python (openbrief)"}, extra_arguments=KERNEL_ARGS)
    try:
        manager.install_kernel_spec(folder, kernel_name=KERNEL_NAME, prefix=sys.prefix, replace=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return KERNEL_NAME


@contextlib.contextmanager
def without_secrets():
    """Hide credentials from kernels started inside this block: the token variables and the Hub's token file."""
    from huggingface_hub import constants  # noqa: F401 - fix this process's own token path before hiding it

    saved = {k: os.environ.pop(k) for k in SECRET_VARS if k in os.environ}
    token_path = os.environ.get("HF_TOKEN_PATH")
    os.environ["HF_TOKEN_PATH"] = os.devnull  # a kernel's huggingface_hub then finds no token file
    try:
        yield
    finally:
        if token_path is None:
            os.environ.pop("HF_TOKEN_PATH", None)
        else:
            os.environ["HF_TOKEN_PATH"] = token_path
        os.environ.update(saved)


def secret_values() -> list[str]:
    """Credential values that must never appear in an artifact."""
    values = [os.environ.get(k) for k in SECRET_VARS]
    try:
        from huggingface_hub import get_token

        values.append(get_token())
    except Exception:  # noqa: BLE001 - a broken token file is not our problem here
        pass
    return sorted({v for v in values if v and len(v) >= 8})


_PDF_STREAM = re.compile(rb"(?<!end)stream\r?\n")


def holds_secret(path: Path, secrets: list[str]) -> bool:
    """Whether the file holds one of ``secrets``: in its bytes or, for a PDF, in any decompressed stream.

    WeasyPrint compresses every PDF stream with FlateDecode (page content, object
    streams, embedded files), so a credential in an attachment never shows in the
    raw bytes; each stream is inflated with zlib (no PDF library needed for that).
    """
    data = path.read_bytes()
    blobs = [data]
    if data.startswith(b"%PDF"):
        view = memoryview(data)
        for match in _PDF_STREAM.finditer(data):
            end = data.find(b"endstream", match.end())
            try:
                blobs.append(zlib.decompressobj().decompress(view[match.end():end if end >= 0 else None]))
            except zlib.error:
                continue  # not Flate data (an image, say)
    return any(s.encode() in blob for s in secrets for blob in blobs)


def assert_no_secrets(folder: Path) -> None:
    """Refuse to publish ``folder`` when any file in it holds a credential (:func:`holds_secret`)."""
    secrets = secret_values()
    for path in folder.rglob("*"):
        if path.is_file() and holds_secret(path, secrets):
            raise RenderError(f"{path.name} would contain a credential; the brief was not published")


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def execute(source: Path, target: Path, parameters: dict, cwd: Path, progress: bool = False) -> nbformat.NotebookNode:
    import papermill

    from openbrief.render import engine

    with without_secrets():
        try:
            executed = papermill.execute_notebook(
                localized(source, parameters.get("lang", SOURCE_LANG)), str(target), parameters=parameters,
                kernel_name=ensure_kernel(), engine_name=engine.ENGINE,  # one notebook write, at the end
                kernel_manager_class=engine.KernelManager,  # takes over prewarm.start()'s interpreter, warms the renderer
                progress_bar=progress, cwd=str(cwd), start_timeout=120,
                # stop the kernel at once when done or interrupted (a graceful stop of a busy kernel logs tracebacks)
                shutdown_kernel="immediate",
            )
        except papermill.PapermillExecutionError as err:
            raise ExecutionError(
                f"notebook {source.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}"
            ) from err
        except Exception as err:  # noqa: BLE001 - kernel died, could not start, ...
            if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:
                raise  # disk full while saving the executed notebook: a write failure, not a broken notebook
            raise ExecutionError(f"notebook {source.name} could not be executed: {type(err).__name__}: {err}") from err
    return executed  # what papermill wrote to ``target``, not read and validated again


def page_meta(nb: nbformat.NotebookNode) -> dict:
    """The title, as-of and notice a notebook published with ``brief.publish_meta``."""
    meta = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if META_MIME in data:
                meta.update(data[META_MIME])
    return meta


def publish(name: str, values: dict, provenance: dict, *, briefs_dir: Path, lock_timeout: float = 600,
            notebooks_dir: Path = NOTEBOOKS_DIR, quiet: bool = True) -> Path:
    """Execute notebook ``name`` with ``values`` (already checked) and publish its PDF; return the PDF's path.

    ``values["snapshot"]`` is the snapshot id the brief is named after; ``provenance`` is what
    ``manifest.json`` records about the data besides the parameters (the snapshot, every snapshot the
    figures read, the registry version). ``quiet``: one line per stage on stderr (for cron);
    otherwise a progress bar while the notebook runs, when stderr is a terminal.
    """
    bar = not quiet and sys.stderr.isatty()

    def stage(text: str) -> None:
        if not bar:
            print(f"openbrief build: {text}", file=sys.stderr, flush=True)

    source = notebook_path(name, notebooks_dir)
    snapshot_id = values["snapshot"]
    if not ID_PATTERN.fullmatch(snapshot_id):  # output folders are named only from validated pieces
        raise UsageError(f"{snapshot_id!r} is not a snapshot id")
    try:
        briefs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise WriteError(f"could not create the briefs folder {briefs_dir}: {err}") from err
    with _briefs_lock(briefs_dir, lock_timeout):
        remove_stale_temps(briefs_dir)
        built = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        try:
            work = temp_dir(briefs_dir, name)
        except OSError as err:
            raise WriteError(f"could not write the brief into {briefs_dir}: {err}; earlier briefs are intact") from err
        try:
            stage(f"executing {name} on snapshot {snapshot_id}")
            executed = execute(source, work / f"{name}.ipynb", values, cwd=work, progress=bar)
            stage(f"rendering {name}.pdf")
            _render(executed, work / f"{name}.pdf")
            _write_manifest(work, name, values, provenance, built)
            assert_no_secrets(work)
            final = _unique(briefs_dir / f"{name}-{snapshot_id}-{built}")
            os.rename(work, final)
        except OpenbriefError as err:
            _keep_failed(work, briefs_dir, name, built, err)
            raise
        except OSError as err:
            _keep_failed(work, briefs_dir, name, built, err)
            raise WriteError(f"could not write the brief into {briefs_dir}: {err}; earlier briefs are intact") from err
        except KeyboardInterrupt as err:  # errors.Interrupted: SIGINT or SIGTERM, the kernel is already shut down
            _keep_failed(work, briefs_dir, name, built, err)
            raise
    return final / f"{name}.pdf"


@contextlib.contextmanager
def _briefs_lock(briefs_dir: Path, timeout: float):
    """Hold ``briefs/.lock``; say so on stderr when another build holds it and this one waits."""
    lock = FileLock(str(briefs_dir / ".lock"), timeout=timeout)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if timeout != 0:
            limit = f"up to {timeout:g} s" if timeout > 0 else "until it finishes"
            print(f"openbrief: another build holds {lock.lock_file}; waiting {limit} (--lock-timeout)",
                  file=sys.stderr, flush=True)
        acquire(lock, f"briefs folder {briefs_dir}")  # LockedError when the wait runs out
    try:
        yield lock
    finally:
        lock.release()


def _render(executed: nbformat.NotebookNode, pdf: Path) -> None:
    from openbrief.render.pdf import notebook_to_pdf

    meta = page_meta(executed)
    executed.metadata["openbrief"] = {**executed.metadata.get("openbrief", {}), **meta}
    try:
        notebook_to_pdf(executed, pdf)
    except Exception as err:  # noqa: BLE001
        if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:
            raise  # disk full while writing the PDF: a write failure (exit 7), not a rendering failure
        raise RenderError(f"rendering {pdf.name} failed: {type(err).__name__}: {err}") from err


def _write_manifest(work: Path, name: str, values: dict, provenance: dict, built: str) -> None:
    files = {p.name: sha256_file(p) for p in sorted(work.iterdir()) if p.is_file()}
    manifest = {"notebook": name, "built_at": built, "parameters": values, **provenance,
                "versions": package_versions(), "files": files}
    with open(work / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")


def _unique(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _keep_failed(work: Path, briefs_dir: Path, name: str, built: str, err: BaseException) -> None:
    """Move a failed build's files to ``_failed/`` with an error summary, for diagnosis."""
    try:
        failed = _unique(briefs_dir / "_failed" / f"{name}-{built}")
        failed.parent.mkdir(parents=True, exist_ok=True)
        for pdf in work.glob("*.pdf"):
            pdf.unlink()  # never leave a PDF that looks publishable
        (work / "error.txt").write_text(f"{type(err).__name__}: {err}\n", encoding="utf-8")
        secrets = secret_values()
        for path in work.iterdir():
            if path.is_file() and holds_secret(path, secrets):
                path.unlink()
        os.rename(work, failed)
        print(f"openbrief: the failed run's notebook and error are in {failed}", file=sys.stderr)
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
