"""Statistics and validation on Apache Beam, for data that does not fit one machine.

The pipeline computes the same ``DatasetFeatureStatisticsList`` as the in-memory path
(:mod:`workbench.data.stats`), from the same partial statistics::

    shards ─ Reshuffle ─ ShardStatistics (a worker reads one shard in batches, as
    workbench.data.reading reads it, into a StatisticsAccumulator and per-slice accumulators)
           ─ CombineGlobally(MergeStatistics) (Chan's moments, merged quantile sketches,
             HyperLogLog and exact counts) ─ the proto ─ written, and validated on request.

A shard (one file of a folder or glob of CSV, Parquet or TFRecord part files) is the unit of
parallelism. How a file is read — dialect, column names, types — is decided once, on the first
shard's sample, as :func:`~workbench.data.reading.open_table` decides it; every worker applies
those decisions, so every shard gets the same types. Nothing here depends on the runner: the
DirectRunner (multi-process) runs it here, Dataflow, Flink or Spark by pipeline options
(``--runner``, ``--flink_master`` ...); the paths must be ones every worker can read (a shared
volume).
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from workbench.data.stats import (
    DEFAULT_MAX_SLICES,
    StatisticsAccumulator,
    StatsOptions,
    accumulate_statistics,
    top_slices,
)
from workbench.errors import DataError, ParameterError, WorkbenchError, carried_error, carry

__all__ = [
    "BEAM_EXTRA",
    "BeamStatistics",
    "Partial",
    "WriteStatistics",
    "beam_split_statistics",
    "beam_statistics",
    "import_beam",
    "pipeline_options",
    "run_pipeline",
    "shard_statistics",
]

log = logging.getLogger(__name__)

BEAM_EXTRA = "pip install 'tf-workbench[beam]'"
#: a shard keeps the statistics of at most this many of its most frequent slice values (times
#: max_slices); the merged statistics then keep the max_slices largest slices of all rows
SLICES_PER_SHARD = 4


def import_beam() -> Any:
    """``apache_beam``, or an error that says how to install it."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # Beam's import warns about Google Cloud clients it lacks
    try:
        import apache_beam
    except ImportError as err:
        raise ParameterError(
            "engine 'beam' needs Apache Beam, which is not installed",
            hint=f"install the beam extra: {BEAM_EXTRA} (from a checkout: "
            ".venv/bin/pip install -e '.[beam]'), or use engine 'local'",
            parameter="engine") from err
    finally:
        root.setLevel(level)
    return apache_beam


def _option_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text) if text else text
    except yaml.YAMLError:
        return text


def pipeline_options(options: Mapping[str, Any] | Iterable[str] | None = None) -> Any:
    """Beam ``PipelineOptions`` from ``{name: value}`` or ``["name=value", ...]``; an unknown
    name is refused (Beam itself would drop it with a warning). Without ``runner`` (or with
    ``DirectRunner``): the DirectRunner's batch engine (``FnApiRunner``) in multi-process mode,
    one worker per core."""
    beam = import_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    given: dict[str, Any] = {}
    if isinstance(options, Mapping):
        given = {str(k).lstrip("-"): v for k, v in options.items()}
    else:
        for item in options or ():
            name, sep, value = str(item).partition("=")
            if not sep:
                raise ParameterError(f"beam option '{item}' is not NAME=VALUE",
                                     hint="e.g. --beam-option runner=DirectRunner "
                                     "--beam-option direct_num_workers=2",
                                     parameter="beam_options")
            given[name.strip().lstrip("-")] = _option_value(value.strip())
    known = PipelineOptions([]).get_all_options()
    for name in given:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=3)
            raise ParameterError(
                f"'{name}' is not an Apache Beam {beam.__version__} pipeline option",
                hint=(f"did you mean {', '.join(close)}? " if close else "")
                + "see `python -m apache_beam.examples.wordcount --help` for the options of "
                "every runner", parameter="beam_options")
    # Beam 2.77's DirectRunner first tries Prism, which it downloads at run time; its batch
    # engine, the FnApiRunner, runs the same pipeline with nothing to fetch
    if str(given.get("runner", "DirectRunner")).rsplit(".", 1)[-1] == "DirectRunner":
        given["runner"] = "FnApiRunner"
        given.setdefault("direct_running_mode", "multi_processing")
        given.setdefault("direct_num_workers", os.cpu_count() or 1)
    # workers log INFO, and each failure as a traceback that the driver raises again anyway
    given.setdefault("default_sdk_harness_log_level", "CRITICAL")
    flags = []
    for name, value in given.items():
        if isinstance(value, bool):
            if value:
                flags.append(f"--{name}")
        elif isinstance(value, (list, tuple)):
            flags.extend(f"--{name}={v}" for v in value)
        else:
            flags.append(f"--{name}={value}")
    return PipelineOptions(flags)


# -- the partial statistics of shards, and their merge -----------------------------------------

@dataclass
class Partial:
    """The statistics of some shards: the whole and per slice value."""

    whole: StatisticsAccumulator
    slices: dict[Any, StatisticsAccumulator] = field(default_factory=dict)

    def merge(self, other: Partial) -> Partial:
        self.whole.merge(other.whole)
        for value, acc in other.slices.items():
            mine = self.slices.get(value)
            self.slices[value] = acc if mine is None else mine.merge(acc)
        return self


def shard_statistics(part: str, data_path: str, overrides: Mapping[str, Any],
                     options: StatsOptions, slice_by: str | None, max_slices: int,
                     plain: bool = False) -> Partial:
    """The statistics of one shard, read as the whole source is read (``plain``: a file the
    workbench wrote, read as it is typed)."""
    from workbench.data.intake import timestamps_as_seconds
    from workbench.data.reading import open_table

    try:
        if plain:
            from workbench.data.readers import iter_batches

            batches = iter_batches(part, batch_rows=options.batch_rows)
        else:
            stream = open_table(data_path, **dict(overrides))
            batches = (timestamps_as_seconds(b) for b in stream.part_batches(Path(part)))
        whole, slices = accumulate_statistics(
            batches, options=options, slice_by=slice_by,
            max_slices=max_slices * SLICES_PER_SHARD, allow_empty=True, source=part)
    except WorkbenchError as err:
        err.context["file"] = part
        raise RuntimeError(carry(err)) from err
    return Partial(whole, slices)




def _merge_fn(beam: Any, options: StatsOptions) -> Any:
    class MergeStatistics(beam.CombineFn):
        """Merges the partial statistics of shards (every merge in the accumulator it made)."""

        def create_accumulator(self) -> Partial:
            return Partial(StatisticsAccumulator(options))

        def add_input(self, acc: Partial, part: Partial) -> Partial:
            return acc.merge(part)

        def merge_accumulators(self, accs: Iterable[Partial]) -> Partial:
            accs = iter(accs)
            first = next(accs)
            for acc in accs:
                first.merge(acc)
            return first

        def extract_output(self, acc: Partial) -> Partial:
            return acc

    return MergeStatistics()


def to_statistics(partial: Partial, *, name: str, slice_by: str | None, max_slices: int
                  ) -> statistics_pb2.DatasetFeatureStatisticsList:
    """The proto of merged partial statistics: the whole, then the ``max_slices`` largest
    slices (as :func:`workbench.data.stats.compute_statistics` names and orders them)."""
    if partial.whole.num_examples == 0:
        raise DataError("the shards hold no rows to compute statistics of",
                        hint="check the files the data path matches")
    out = partial.whole.to_list(name)
    if slice_by:
        for value, acc in top_slices(partial.slices, max_slices):
            out.datasets.append(acc.to_proto(f"{slice_by}_{value}"))
    return out


# -- the pipeline ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BeamStatistics:
    """What one pipeline run found: the statistics, the shards read, and how they were read."""

    statistics: statistics_pb2.DatasetFeatureStatisticsList
    shards: int
    dialect: Any
    warnings: list[str]


def _check_local(data_path: str) -> None:
    scheme = data_path.split("://", 1)[0] if "://" in data_path else ""
    if scheme and scheme != "file":
        raise DataError(f"data path {data_path}: {scheme}:// paths are not read by this "
                        "workbench yet", hint="copy the shards to a volume every worker "
                        "mounts (an NFS or Kubernetes volume) and give that path",
                        parameter="data_path")


@dataclass(frozen=True)
class _Input:
    """One dataset of a pipeline: its shards, read as ``open_table`` decided."""

    key: str
    data_path: str
    parts: tuple[str, ...]
    stream: Any  # None: plain files, read as they are typed
    slice_by: str | None

    @property
    def source(self) -> str:
        return self.stream.source if self.stream is not None else self.data_path


def _open(key: str, data_path: str | os.PathLike[str], overrides: Mapping[str, Any],
          slice_by: str | None, plain: bool = False) -> _Input:
    from workbench.data.reading import open_table

    data_path = str(data_path)
    _check_local(data_path)
    if plain:  # files the workbench wrote (the splits): typed already, nothing to decide
        from workbench.data.sources import resolve_source

        parts = tuple(str(p) for p in resolve_source(data_path).parts)
        return _Input(key, data_path, parts, None, slice_by or None)
    stream = open_table(data_path, **dict(overrides))  # decides the reading once; errors early
    stream.check_parts()
    if slice_by and slice_by not in {c.safe for c in stream.columns}:
        shown = ", ".join(c.original for c in stream.columns)
        raise ParameterError(f"cannot slice by '{slice_by}': {stream.source} has no such "
                             "column", hint=f"use one of: {shown}", parameter="slice_by")
    return _Input(key, data_path, tuple(str(p) for p in stream.parts), stream, slice_by or None)


def beam_statistics(data_path: str | os.PathLike[str], stats_out: str | os.PathLike[str], *,
                    overrides: Mapping[str, Any] | None = None,
                    beam_options: Mapping[str, Any] | Iterable[str] | None = None,
                    options: StatsOptions | None = None, name: str = "All Examples",
                    slice_by: str | None = None, max_slices: int = DEFAULT_MAX_SLICES,
                    schema: schema_pb2.Schema | None = None,
                    previous: statistics_pb2.DatasetFeatureStatisticsList | None = None,
                    anomalies_out: str | os.PathLike[str] | None = None,
                    environment: str | None = None) -> BeamStatistics:
    """Statistics of a file, folder or glob of shards computed by a Beam pipeline, written to
    ``stats_out``; with ``anomalies_out``, the pipeline also validates them against ``schema``
    (and ``previous`` statistics for drift) and writes the ``Anomalies``."""
    if anomalies_out is not None and schema is None:
        raise ParameterError("anomalies need a schema to validate against",
                             hint="give a schema (--schema schema.pbtxt)", parameter="schema")
    source = _open(name, data_path, overrides or {}, slice_by)
    stats_out = Path(stats_out)
    emit = _WriteAndValidate(str(stats_out), str(data_path), schema, previous, environment,
                             str(anomalies_out) if anomalies_out is not None else None)
    _pipeline([source], dict(overrides or {}), beam_options, options or StatsOptions(),
              max_slices, emit)
    from workbench.data.stats import read_statistics

    return BeamStatistics(read_statistics(stats_out), len(source.parts), source.stream.dialect,
                          list(source.stream.warnings))


def beam_split_statistics(splits: Mapping[str, str | os.PathLike[str]], *,
                          overrides: Mapping[str, Any] | None = None,
                          beam_options: Mapping[str, Any] | Iterable[str] | None = None,
                          options: StatsOptions | None = None, slice_by: str | None = None,
                          slice_split: str = "train", max_slices: int = DEFAULT_MAX_SLICES,
                          union: str = "all", plain: bool = False
                          ) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """The statistics of each split (``{name: data path}``, each dataset named as its split;
    ``slice_split`` with its slices) and of all their rows (``union``), in one pipeline
    (``plain``: files the workbench wrote, read as they are typed)."""
    import tempfile

    inputs = [_open(key, path, overrides or {}, slice_by if key == slice_split else None,
                    plain) for key, path in splits.items()]
    with tempfile.TemporaryDirectory(prefix="workbench-beam-") as tmp:
        out = Path(tmp)  # on a cluster: a folder on the shared volume
        _pipeline(inputs, dict(overrides or {}), beam_options, options or StatsOptions(),
                  max_slices, WriteStatistics(tmp), union=union)
        from workbench.data.stats import read_statistics

        return {key: read_statistics(out / f"{key}.pb") for key in [*splits, union]}


def _pipeline(inputs: list[_Input], overrides: dict[str, Any],
              beam_options: Mapping[str, Any] | Iterable[str] | None, options: StatsOptions,
              max_slices: int, emit: Any, union: str | None = None) -> None:
    """Statistics of each input's shards, merged per input (and over all, as ``union``)."""
    slicing = {i.key: i.slice_by for i in inputs}
    statistics_of = _ShardsOf({i.key: i.data_path for i in inputs}, overrides, options,
                              slicing, max_slices, {i.key: i.stream is None for i in inputs})
    run_pipeline([(i.key, p) for i in inputs for p in i.parts], statistics_of, slicing,
                 beam_options=beam_options, options=options, max_slices=max_slices, emit=emit,
                 union=union, what=", ".join(i.source for i in inputs))


@dataclass(frozen=True)
class _ShardsOf:
    """A ``shard_fn`` for :func:`run_pipeline`: the statistics of one shard of an input."""

    paths: dict[str, str]
    overrides: dict[str, Any]
    options: StatsOptions
    slicing: dict[str, str | None]
    max_slices: int
    plain: dict[str, bool]

    def __call__(self, element: tuple[str, str]) -> list[tuple[str, Partial]]:
        key, part = element
        return [(key, shard_statistics(part, self.paths[key], self.overrides, self.options,
                                       self.slicing[key], self.max_slices, self.plain[key]))]


@dataclass(frozen=True)
class _WriteAndValidate:
    """The ``emit`` of :func:`beam_statistics`: the statistics to ``stats_out``, and with
    ``anomalies_out`` the anomalies against ``schema`` (drift against ``previous``)."""

    stats_out: str
    source: str
    schema: Any
    previous: Any
    environment: str | None
    anomalies_out: str | None

    def __call__(self, key: str, stats: statistics_pb2.DatasetFeatureStatisticsList) -> None:
        from workbench.data.stats import write_statistics

        write_statistics(stats, self.stats_out)
        if self.anomalies_out is not None:
            from workbench.data.validate import validate_statistics

            report = validate_statistics(stats, self.schema, environment=self.environment,
                                         source=self.source, previous=self.previous,
                                         previous_name="the baseline" if self.previous else "")
            write_anomalies(report.anomalies, self.anomalies_out)


@dataclass(frozen=True)
class WriteStatistics:
    """An ``emit`` for :func:`run_pipeline`: each dataset's statistics to ``<folder>/<key>.pb``."""

    folder: str

    def __call__(self, key: str, stats: statistics_pb2.DatasetFeatureStatisticsList) -> None:
        from workbench.data.stats import write_statistics

        write_statistics(stats, Path(self.folder) / f"{key}.pb")


def run_pipeline(elements: list[Any], shard_fn: Any, slicing: Mapping[str, str | None], *,
                 beam_options: Mapping[str, Any] | Iterable[str] | None,
                 options: StatsOptions, max_slices: int, emit: Any,
                 union: str | None = None, what: str = "the data") -> None:
    """The statistics pipeline: ``shard_fn(element)`` gives ``[(dataset key, Partial)]`` for
    one shard on a worker; the partials are merged per key, ``emit(key, proto)`` gets each
    dataset's statistics (``slicing[key]`` names its slice column) and, with ``union``, those
    of all rows. A workbench error a worker raised is raised here as itself. From a notebook,
    the driver runs in a child process, so the arguments must pickle."""
    if _in_ipython():
        return _in_child(run_pipeline, elements, shard_fn, slicing, beam_options=beam_options,
                         options=options, max_slices=max_slices, emit=emit, union=union,
                         what=what)
    beam = import_beam()
    pipeline_opts = pipeline_options(beam_options)
    log.info("beam statistics of %s: %d shards, runner %s", what, len(elements),
             pipeline_opts.get_all_options().get("runner"))
    beam_log = logging.getLogger("apache_beam")
    level = beam_log.level
    beam_log.setLevel(logging.CRITICAL)  # a worker's failure is raised below, once
    try:
        with _workers_log() as worker_log:
            _run(beam, pipeline_opts, elements, shard_fn, slicing, options, max_slices, emit,
                 union)
    except Exception as err:
        carried = carried_error(err)
        if carried is None:
            log.error("the Beam pipeline failed; its workers wrote:\n%s", worker_log.read())
            raise
        raise carried from None
    finally:
        beam_log.setLevel(level)


class _WorkerLog:
    def __init__(self) -> None:
        self.text = ""

    def read(self) -> str:
        return self.text[-20000:]


@contextlib.contextmanager
def _workers_log() -> Iterator[_WorkerLog]:
    """Descriptor 2 into a temporary file while the pipeline runs: the DirectRunner's worker
    processes inherit it and write their start-up lines and tracebacks there, not into the
    user's terminal or notebook. The text is kept for a failure that carries no workbench
    error."""
    import tempfile

    got = _WorkerLog()
    with tempfile.TemporaryFile() as file:
        try:
            sys.stderr.flush()
        except (AttributeError, ValueError):
            pass
        saved = os.dup(2)
        os.dup2(file.fileno(), 2)
        try:
            yield got
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            file.seek(0)
            got.text = file.read().decode("utf-8", "replace")


def _run(beam: Any, pipeline_opts: Any, elements: list[Any], shard_fn: Any,
         slicing: Mapping[str, str | None], options: StatsOptions, max_slices: int, emit: Any,
         union: str | None) -> None:
    def proto(item: tuple[str, Partial]) -> None:
        key, partial = item
        emit(key, to_statistics(partial, name=key, slice_by=slicing.get(key),
                                max_slices=max_slices))

    with beam.Pipeline(options=pipeline_opts) as pipeline:
        merged = (pipeline
                  | "Shards" >> beam.Create(elements)
                  | "Spread" >> beam.Reshuffle()
                  | "ShardStatistics" >> beam.FlatMap(shard_fn)
                  | "Merge" >> beam.CombinePerKey(_merge_fn(beam, options)))
        _ = merged | "Write" >> beam.Map(proto)
        if union is not None:
            _ = (merged
                 | "Wholes" >> beam.Map(lambda kv: Partial(copy.deepcopy(kv[1].whole)))
                 | "MergeAll" >> beam.CombineGlobally(_merge_fn(beam, options))
                 | "KeyAll" >> beam.Map(lambda partial: (union, partial))
                 | "WriteAll" >> beam.Map(proto))


# -- from a notebook: the driver in a child process ----------------------------------------------

def _in_ipython() -> bool:
    """In a Jupyter kernel Beam labels every transform with the cell number, and that code path
    imports ``apache_beam.dataframe``, which fails with pandas 3 (Beam 2.77); a notebook runs
    the pipeline's driver in a child process instead."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    return get_ipython() is not None


def _in_child(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a child Python process; its workbench error raised here."""
    import pickle
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="workbench-beam-driver-") as tmp:
        call = Path(tmp) / "call.pickle"
        call.write_bytes(pickle.dumps((fn.__name__, args, kwargs)))
        done = subprocess.run([sys.executable, "-m", "workbench.data.beam_stats", str(call)],
                              capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return pickle.loads(call.read_bytes())
    carried = carried_error(RuntimeError(done.stderr))
    if carried is not None:
        raise carried
    raise RuntimeError(f"the Beam pipeline's driver failed:\n{done.stderr[-20000:]}")


def _child_main(call: str) -> None:
    import pickle

    from workbench import _quiet

    _quiet.install()
    name, args, kwargs = pickle.loads(Path(call).read_bytes())
    try:
        result = globals()[name](*args, **kwargs)
    except WorkbenchError as err:
        sys.stderr.write(carry(err))
        raise SystemExit(1) from None
    Path(call).write_bytes(pickle.dumps(result))


def write_anomalies(anomalies: Any, path: str | os.PathLike[str]) -> None:
    """An ``Anomalies`` proto, as text (``.pbtxt``) or binary, written atomically."""
    from google.protobuf import text_format

    from workbench.runs.atomic import atomic_write_bytes

    out = Path(path)
    atomic_write_bytes(out, text_format.MessageToString(anomalies).encode()
                       if out.suffix == ".pbtxt"
                       else anomalies.SerializeToString(deterministic=True))



if __name__ == "__main__":  # the classes must be the module's, not __main__'s, to pickle
    from workbench.data import beam_stats

    beam_stats._child_main(sys.argv[1])
