"""How papermill runs a brief's kernel, made cheaper: one notebook write per run, the kernel's
interpreter started ahead of time (:class:`KernelManager`, :mod:`.prewarm`), and the renderer
loaded while the kernel works.

papermill's stock engine writes (validates and serialises) the whole output notebook at the start
and end of every cell, charts included: about 70 writes for the weekly brief. :data:`ENGINE` writes
it once, when the run ends, whether it completed, failed in a cell or was interrupted (papermill
calls ``notebook_complete`` in a ``finally``), so ``_failed/`` still gets the notebook as far as it
ran. :func:`warm_renderer` imports WeasyPrint and nbconvert's HTML exporter, and exports a one-cell
notebook, in a thread while the kernel runs cells: the parent process only waits for the kernel
then, and a second core is free. (WeasyPrint itself never renders in that thread.)
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

from openbrief.render import prewarm

#: The papermill engine name openbrief registers (``papermill.execute_notebook(engine_name=...)``).
ENGINE = "openbrief"


class _SaveAtEnd(NotebookExecutionManager):
    """papermill's bookkeeping of a run, writing the notebook only once the run has ended."""

    def save(self, **kwargs):
        if self.end_time is not None:  # set by notebook_complete, which papermill always calls
            super().save(**kwargs)

    def autosave_cell(self):
        return None


class _Engine(NBClientEngine):
    """papermill's nbclient engine with :class:`_SaveAtEnd` as its execution manager."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                         autosave_cell_every=30, **kwargs):
        manager = _SaveAtEnd(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                             autosave_cell_every=autosave_cell_every)
        manager.notebook_start()
        try:
            cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
        finally:
            manager.cleanup_pbar()
            manager.notebook_complete()
        return manager.nb


papermill_engines.register(ENGINE, _Engine)


def _load_renderer() -> None:
    """Imports, and the process-wide caches a first HTML export fills (nbconvert's markdown
    parser, BeautifulSoup's tables, the CSS selectors nbconvert compiles), on a one-cell notebook."""
    import nbformat
    import weasyprint  # noqa: F401 - loaded now, used by the render after the kernel

    from openbrief.render.pdf import exported_html, postprocess_html

    cell = nbformat.v4.new_markdown_cell("warm-up")
    postprocess_html(exported_html(nbformat.v4.new_notebook(cells=[cell])))


def warm_renderer() -> threading.Thread:
    """Import the renderer (WeasyPrint, nbconvert's exporter and its template) in a daemon thread.

    Any error is left to the render itself, which imports the same modules and reports it."""
    def load() -> None:
        try:
            _load_renderer()
        except Exception:  # noqa: BLE001 - the render raises it again, as a RenderError
            pass

    thread = threading.Thread(target=load, name="openbrief-warm-renderer", daemon=True)
    thread.start()
    return thread


class KernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager (papermill's ``kernel_manager_class``), taking over the
    interpreter :func:`prewarm.start` left waiting when :func:`prewarm.adopt` can, then starting
    :func:`warm_renderer` once the kernel is launched, so it takes no time from the launch itself."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        provisioner = self.provisioner
        proc = prewarm.adopt(kernel_cmd, kw) if type(provisioner) is LocalProvisioner else None
        if proc is None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        else:  # what LocalProvisioner.launch_kernel records of the process it starts
            provisioner.process, provisioner.pid, provisioner.pgid = proc, proc.pid, os.getpgid(proc.pid)
            provisioner.cwd = kw.get("cwd", Path.cwd())
            self._reconcile_connection_info(provisioner.connection_info)
        warm_renderer()
