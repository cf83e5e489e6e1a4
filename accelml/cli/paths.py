"""Checks on where a command will write, made before any time is spent fitting or predicting."""

from __future__ import annotations

from pathlib import Path

from accelml.exceptions import ConfigError

__all__ = ["check_model_folder", "check_output_file", "run_folder"]

MANIFEST = "manifest.json"  # what marks a folder as an accelml model (see accelml.export.artifact)


def check_model_folder(path: Path, force: bool) -> None:
    """Refuse a model folder that exists (unless ``force``) or that is not a model folder and not empty.

    Raises:
        ConfigError: ``path`` is a file, exists without ``force``, or holds something other than an accelml model.
    """
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise ConfigError(f"'{path}' is a file; give a folder to save the model in (--out)")
    if not force:
        raise ConfigError(f"'{path}' already exists; choose another folder with --out or pass --force to replace it")
    if not (path / MANIFEST).exists() and any(path.iterdir()):
        raise ConfigError(f"'{path}' is a non-empty folder that is not an accelml model; refusing to replace it")


def check_output_file(path: Path, force: bool) -> None:
    """Refuse an output file that exists (unless ``force``) or that is a folder.

    Raises:
        ConfigError: ``path`` is a folder, or exists without ``force``.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"'{path}' is a folder; give a file name for the predictions (--out)")
    if path.exists() and not force:
        raise ConfigError(f"'{path}' already exists; choose another file with --out or pass --force to replace it")


def run_folder(model: Path) -> Path:
    """Where ``accelml fit --out MODEL`` records its trials as they finish: ``MODEL.run`` beside the model folder.

    >>> run_folder(Path("out/model")).as_posix()
    'out/model.run'
    """
    model = Path(model)
    return model.with_name(model.name + ".run")
