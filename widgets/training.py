"""Training widgets: live curves per epoch (:class:`TrainingView`) and the model's features and
preprocessing (:func:`model_summary`)."""

from __future__ import annotations

from typing import Any

import traitlets
from IPython.display import HTML, display

from workbench.widgets._base import COLORS, WorkbenchWidget, esc, fmt, png_img

__all__ = ["TrainingView", "model_summary", "tensorboard_panel"]


def _empty() -> dict[str, Any]:
    return {"epochs": [], "metrics": {}}


class TrainingView(WorkbenchWidget):
    """Loss and metrics per epoch, updated while the model trains.

    Display it with :meth:`show`, pass :meth:`add_epoch` as the training's ``on_epoch``
    callback, and call :meth:`finish` with the final history: the static picture kept in the
    executed notebook is then refreshed too.
    """

    _module = "training"
    _styles = ("model.css",)
    history = traitlets.Dict().tag(sync=True)
    planned = traitlets.Int(0).tag(sync=True)
    status = traitlets.Unicode("waiting").tag(sync=True)

    def __init__(self, history: dict[str, Any] | None = None, *, planned: int = 0,
                 **kwargs: Any) -> None:
        history = history or _empty()
        super().__init__(history=history,
                         planned=planned or int(history.get("epochs_planned") or 0),
                         status="finished" if history.get("epochs") else "waiting", **kwargs)
        self._handle: Any = None

    def show(self) -> None:
        """Display the widget with a handle, so :meth:`finish` can refresh its picture."""
        self._handle = display(self, display_id=True)

    def add_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        old = self.history or _empty()
        epochs = [*old.get("epochs", []), int(epoch)]
        metrics = {k: list(v) for k, v in old.get("metrics", {}).items()}
        for name in set(metrics) | set(logs):
            series = metrics.setdefault(name, [None] * (len(epochs) - 1))
            series.append(logs.get(name))
        self.history = {**old, "epochs": epochs, "metrics": metrics}
        self.status = "training"

    def finish(self, history: dict[str, Any]) -> None:
        self.history = dict(history)
        self.planned = int(history.get("epochs_planned") or self.planned)
        self.status = "finished"
        if self._handle is not None:
            self._handle.update(self)

    def static_html(self) -> str:
        h = self.history or _empty()
        epochs, metrics = h.get("epochs", []), h.get("metrics", {})
        if not epochs:
            return ("<div class='wb wb-training'><div class='wb-title'>Training</div>"
                    "<div class='wb-muted'>waiting for the first epoch</div></div>")
        names = sorted((k for k in metrics if not k.startswith("val_")),
                       key=lambda k: (k != "loss", k))

        def draw(fig: Any) -> None:
            axes = fig.subplots(1, len(names), squeeze=False)[0]
            for ax, name in zip(axes, names, strict=True):
                for i, key in enumerate((name, f"val_{name}")):
                    if key in metrics:
                        ax.plot(epochs, [v if v is not None else float("nan")
                                         for v in metrics[key]], marker="o", ms=3,
                                color=COLORS[i], label="validation" if i else "training")
                ax.set_title(name, fontsize=9)
                ax.set_xlabel("epoch", fontsize=8)
                ax.tick_params(labelsize=7)
            axes[0].legend(fontsize=7)

        picture = png_img(draw, width=min(3.2 * len(names), 12), height=2.6,
                          alt="training curves")
        last = {k: v[-1] for k, v in metrics.items() if v}
        cells = "".join(f"<tr><td>{esc(k)}</td><td class='wb-num'>{fmt(v)}</td></tr>"
                        for k, v in sorted(last.items()))
        status = (f"{self.status}: epoch {epochs[-1]} of {self.planned or len(epochs)}"
                  + (f" · best epoch {h['best_epoch']}" if h.get("best_epoch") else "")
                  + (" · stopped early" if h.get("stopped_early") else ""))
        return (f"<div class='wb wb-training'><div class='wb-title'>Training</div>"
                f"<div class='wb-muted'>{esc(status)}</div>{picture}"
                f"<table class='wb-table'><tr><th>last epoch</th><th>value</th></tr>{cells}"
                "</table></div>")


def _preprocessing(f: dict[str, Any]) -> str:
    if f["kind"] == "numeric":
        text = f"normalize (mean {fmt(f.get('mean'))}, variance {fmt(f.get('variance'))})"
        if f.get("missing_indicator"):
            text += f"; missing → {fmt(f.get('fill'))} + flag"
        if f.get("boundaries"):
            text += f"; {len(f['boundaries']) + 1} buckets"
        return text
    return (f"vocabulary of {f.get('vocabulary_size', 0):,} + {f.get('oov_buckets', 1)} "
            "out-of-vocabulary bucket(s)")


def model_summary(info: dict[str, Any]) -> HTML:
    """The model's task, output and features with their preprocessing, and dropped columns."""
    left = "style='text-align:left'"
    rows = "".join(
        f"<tr><td {left}>{esc(f['name'])}</td><td {left}>{esc(f['kind'])}</td>"
        f"<td {left}>{esc(f['dtype'])}</td><td {left}>{esc(_preprocessing(f))}</td></tr>"
        for f in info.get("features", []))
    dropped = "".join(f"<li><b>{esc(d['name'])}</b>: {esc(d['reason'])}</li>"
                      for d in info.get("dropped", []))
    classes = info.get("classes") or []
    head = (f"{esc(info.get('task'))} model of <b>{esc(info.get('label'))}</b>, builder "
            f"<code>{esc(info.get('builder'))}</code>; output {esc(info['output']['meaning'])}"
            if info.get("output") else "")
    return HTML(
        f"<div class='wb wb-model-summary'><div class='wb-title'>Model</div><div>{head}</div>"
        + (f"<div class='wb-muted'>classes: {esc(', '.join(map(str, classes)))}</div>"
           if classes else "")
        + f"<table class='wb-table'><tr><th {left}>feature</th><th {left}>kind</th>"
        f"<th {left}>input dtype</th><th {left}>preprocessing (inside the model)</th></tr>"
        f"{rows}</table>"
        + (f"<div class='wb-muted'>dropped columns:</div><ul>{dropped}</ul>" if dropped else "")
        + "</div>")


_SERVERS: list[Any] = []


def _stop_servers() -> None:
    for server in _SERVERS:
        server.stop()


def tensorboard_panel(step: Any, *, start: bool = False) -> HTML:
    """How to open this run in TensorBoard; in an interactive session with ``start``, start it
    (on 127.0.0.1, a free port, stopped with the kernel) and link it."""
    command = f"workbench tensorboard {step.run.id}"
    if start and step.computing and not step.headless:
        import atexit

        from workbench.train.tensorboard import TensorBoardServer, log_dirs

        server = TensorBoardServer(log_dirs([step.run], step.store)).start()
        if not _SERVERS:
            atexit.register(_stop_servers)
        _SERVERS.append(server)
        return HTML(f"<div class='wb'>TensorBoard for this run: <a href='{server.url}' "
                    f"target='_blank'>{server.url}</a> (stops with the kernel)</div>")
    return HTML(f"<div class='wb'>TensorBoard (scalars, weight and gradient histograms, "
                f"hparams): <code>{esc(command)}</code>; compare runs with "
                f"<code>workbench tensorboard RUN1 RUN2</code></div>")
