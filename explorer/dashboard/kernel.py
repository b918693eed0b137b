"""The served dashboard's kernel: ipykernel, which loads the dashboard right after saying hello.

With progressive rendering, Voila sends the top of the page, waits until the kernel answers its
first ``kernel_info_request``, then sends the rest; the browser spends about a second loading
Voila's JavaScript before it asks the kernel to run the notebook. This kernel answers that first
request at once and then, during that second, imports (in a thread) pandas, ipywidgets and the explorer and
reads the evidence (:func:`explorer.dashboard.preload.prepare`), so the notebook's ``app()`` finds
them done (``kernel.explorer_start``). ``explorer serve`` runs it (kernelspec ``explorer-dashboard`` in ``share/jupyter/
kernels``) in place of the notebook's ``python3``; the notebook itself is unchanged.
"""

from __future__ import annotations

from explorer.dashboard import preload


def main() -> None:
    from ipykernel.kernelapp import IPKernelApp

    kernel_app = IPKernelApp.instance()
    kernel_app.initialize()
    kernel = kernel_app.kernel
    answer = kernel.kernel_info_request
    pending = [True]

    async def answer_then_prepare(*args, **kwargs):
        result = await answer(*args, **kwargs)
        if pending:  # once, after the first reply has been sent
            pending.clear()
            # in a thread (the kernel stays free to answer); kept on the kernel for the page's app()
            kernel.explorer_start = preload.start(("explorer.dashboard.page",))
        return result

    for handlers in (kernel.shell_handlers, kernel.control_handlers):
        if "kernel_info_request" in handlers:
            handlers["kernel_info_request"] = answer_then_prepare
    kernel_app.start()


if __name__ == "__main__":
    main()
