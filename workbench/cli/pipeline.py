"""``workbench pipeline compile`` (Kubeflow Pipelines) and ``workbench pipeline manifests``
(multi-worker training on Kubernetes)."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.errors import ConfigError
from workbench.pipeline.kubeflow import DEFAULT_IMAGE, DEFAULT_MOUNT_PATH, DEFAULT_PVC
from workbench.pipeline.params import parse_assignments, plain, read_params_file
from workbench.project import Project

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.group("pipeline")
    def pipeline_group() -> None:
        """The pipeline beyond one machine: Kubeflow Pipelines, multi-worker training."""

    @pipeline_group.command("compile")
    @click.option("--to", "target", type=click.Choice(["kubeflow"]), required=True,
                  help="the orchestrator to compile for")
    @click.option("--image", default=DEFAULT_IMAGE, show_default=True,
                  help="image every step runs in (docker/workbench/Dockerfile)")
    @click.option("--out", default="pipeline.yaml", show_default=True,
                  type=click.Path(dir_okay=False), help="where to write the pipeline YAML")
    @click.option("--pvc", default=DEFAULT_PVC, show_default=True,
                  help="PersistentVolumeClaim holding the project folder")
    @click.option("--mount-path", default=DEFAULT_MOUNT_PATH, show_default=True,
                  help="where the steps mount it (the default of workbench_project)")
    @click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
                  help="default of a parameter, as in workbench run (repeatable)")
    @click.option("--params", "params_file", type=click.Path(dir_okay=False),
                  help="YAML file of parameter defaults (shape of workbench.yaml 'parameters')")
    @click.option("--with", "including", multiple=True, metavar="STAGE",
                  help="switch on an optional stage, as in workbench run (repeatable)")
    def compile_cmd(target: str, image: str, out: str, pvc: str, mount_path: str,
                    params: tuple[str, ...], params_file: str | None,
                    including: tuple[str, ...]) -> None:
        """Compile the project's pipeline into a Kubeflow Pipelines v2 YAML.

        Each step runs `workbench run --only STAGE --resume RUN` in IMAGE on the shared
        volume; every stage parameter is a typed pipeline parameter named STAGE__NAME.
        """
        from workbench.pipeline.kubeflow import compile_pipeline

        compiled = compile_pipeline(
            Project.find(), out, image=image, pvc=pvc, mount_path=mount_path,
            including=including, assignments=parse_assignments(params),
            params_file=read_params_file(params_file) if params_file else None)
        click.echo(f"wrote {compiled.path}: {len(compiled.stages)} steps "
                   f"({', '.join(compiled.stages)}), {len(compiled.parameters)} parameters, "
                   f"image {image}, volume {pvc} at {mount_path}")

    @pipeline_group.command("manifests")
    @click.option("--training-workers", "workers", type=int, required=True, metavar="N",
                  help="number of training workers (pods of the Indexed Job)")
    @click.option("--run", "run_id", metavar="RUN", help="run whose 01_data_validation "
                  "results the workers train on (default: the newest run that has them)")
    @click.option("--image", default=DEFAULT_IMAGE, show_default=True,
                  help="image every worker runs in")
    @click.option("--out", default="k8s-training", show_default=True,
                  type=click.Path(file_okay=False), help="folder to write the manifests to")
    @click.option("--name", default="workbench-train", show_default=True,
                  help="name of the Job and its headless Service")
    @click.option("--pvc", default=DEFAULT_PVC, show_default=True,
                  help="PersistentVolumeClaim holding the project folder")
    @click.option("--mount-path", default=DEFAULT_MOUNT_PATH, show_default=True,
                  help="where the workers mount it")
    @click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
                  help="training parameter for the workers (repeatable)")
    @click.option("--tfjob", is_flag=True, help="also write the workers as a Kubeflow TFJob "
                  "(kubeflow.org/v1), for clusters with the training operator")
    def manifests_cmd(workers: int, run_id: str | None, image: str, out: str, name: str,
                      pvc: str, mount_path: str, params: tuple[str, ...], tfjob: bool) -> None:
        """Write an Indexed Job and a headless Service for multi-worker training.

        Each of the N pods runs `python -m workbench.train.worker` with its own TF_CONFIG
        (worker index from the Job's completion index) on the shared volume.
        """
        from workbench.pipeline.manifests import check_workers, write_training_manifests
        from workbench.stages import DATA_VALIDATION as DATA

        check_workers(workers)
        project = Project.find()
        if run_id is None:
            found = project.store().latest_with(DATA)
            if found is None:
                raise ConfigError(f"no run of the project in {project.root} has finished {DATA}",
                                  hint="run it first (workbench run --to 01_data_validation) "
                                  "or pass --run RUN")
            run_id = found.id
        assignments = parse_assignments(params)
        nested = [k for k, v in assignments.items() if isinstance(v, dict)]
        if nested:
            raise ConfigError(f"-p {nested[0]}.…: the workers take training parameters only",
                              hint="write -p NAME=VALUE (e.g. -p epochs=5)")
        values = {k: str(plain(v)) for k, v in assignments.items()}
        runs_dir = project.config.get("runs_dir", "runs")
        paths = write_training_manifests(out, workers, run=run_id, image=image, name=name,
                                         pvc=pvc, mount_path=mount_path, runs_dir=runs_dir,
                                         params=values, tfjob=tfjob)
        for path in paths:
            click.echo(f"wrote {Path(path)}")
        click.echo(f"apply with: kubectl apply -f {out}  ({workers} worker(s) of run {run_id})")
        if tfjob:
            click.echo(f"or, with the Kubeflow training operator: kubectl apply -f {out}/tfjob")
