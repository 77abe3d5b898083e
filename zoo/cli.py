"""The ``zoo`` command. Listing commands import no torch; the rest import it when run.

Every ``ZooError`` becomes one line on stderr and exit status 1 (2 for usage errors).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from zoo import __version__
from zoo.errors import BadInputError, ZooError


class ZooGroup(click.Group):
    """Turns the zoo's own errors (and a full or read-only disk) into one clean line instead of a
    traceback, with control characters escaped; in the other processes of a launch (torchrun,
    accelerate launch) it prints nothing: the main process speaks for all. Gives the sampling
    commands a flag for every sampling option the installed models and samplers declare."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None and getattr(command, "takes_sampling_options", False):
            _add_sampling_flags(command)
        if command is not None and getattr(command, "takes_components", False):
            _add_component_flags(command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from zoo.safety import DISK_FULL, READ_ONLY, escape_control, is_main_process, output_error

        if not is_main_process():
            return _quiet_invoke(super().invoke, ctx)
        try:
            return super().invoke(ctx)
        except ZooError as err:
            raise click.ClickException(escape_control(str(err))) from None
        except OSError as err:
            if err.errno not in DISK_FULL + READ_ONLY:
                raise
            raise click.ClickException(escape_control(output_error(err, err.filename or "an output file"))) from None
        except KeyboardInterrupt:
            raise click.ClickException("interrupted") from None


def _quiet_invoke(invoke: Any, ctx: click.Context) -> Any:
    """Run a command with its standard output discarded and the zoo's errors left to the main process
    (exit status 1); anything unexpected still shows its traceback."""
    import contextlib
    import os

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        try:
            return invoke(ctx)
        except (ZooError, KeyboardInterrupt):
            ctx.exit(1)


@click.group(cls=ZooGroup)
@click.version_option(version=__version__, prog_name="zoo")
def cli() -> None:
    """A model zoo for generative image models.

    \b
      zoo list                         installed models
      zoo sample dcgan-fashion -o grid.png
      zoo train vae --data fashion-mnist --out runs/vae
    """


# --------------------------------------------------------------------------- listing


def _weights_label(spec: Any) -> str:
    from zoo.weights import weights_status

    return {"hub": "Hub", "cached": "Hub (cached)"}.get(status := weights_status(spec), status)


def _shape(spec: Any) -> str:
    c, h, w = spec.image_shape
    return f"{c}x{h}x{w}"


def _samplers(registry: Any, spec: Any) -> str:
    """The samplers that can run a sampler-driven model: every registered one of its family."""
    return ",".join(x.id for x in registry.samplers_for(spec.family)) if spec.samplers else "-"


def _print_failures() -> None:
    from zoo.plugins import failures
    from zoo.safety import escape_control

    for f in failures:
        line = f"warning: {f.error}" if f.stage == "conflict" else \
            f"warning: plugin '{f.name}' skipped ({f.stage} failed): {f.error}"
        click.secho(escape_control(line), err=True, fg="yellow")


@cli.command("list")
@click.argument("pattern", required=False)
@click.option("--family", help="Only this family (autoencoder, gan, diffusion, autoregressive).")
@click.option("--pretrained", is_flag=True, help="Only models with weights.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(pattern: str | None, family: str | None, pretrained: bool, as_json: bool) -> None:
    """List installed models, optionally filtered by a wildcard PATTERN ("*gan*")."""
    from zoo.plugins import get_registry
    from zoo.registry import FAMILIES

    if family and family not in FAMILIES:
        raise BadInputError(f"unknown family '{family}'; use one of {', '.join(FAMILIES)}")
    specs = get_registry().filter(pattern, family=family, pretrained=True if pretrained else None)
    _print_failures()
    if as_json:
        click.echo(json.dumps([{**s.to_dict(), "weights_status": _weights_label(s)} for s in specs], indent=2))
        return
    rows: list[tuple[str, ...]] = [("id", "family", "capabilities", "samplers", "dataset", "image", "weights",
                                    "plugin")]
    registry = get_registry()
    rows += [_escaped(s.id, s.family, ",".join(s.capabilities), _samplers(registry, s), s.dataset or "-",
                      _shape(s), _weights_label(s), s.plugin) for s in specs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
        click.echo(click.style(line, bold=True) if i == 0 else line)
    if not specs:
        click.echo("(no models match)" if (pattern or family or pretrained) else "(no models installed)")


def _escaped(*cells: Any) -> tuple[str, ...]:
    """Table cells with control characters escaped (names come from plugins and model folders)."""
    from zoo.safety import escape_control

    return tuple(escape_control(c) for c in cells)


@cli.command()
@click.argument("model_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(model_id: str, as_json: bool) -> None:
    """Show a model's spec and its model card."""
    from zoo.plugins import get_registry
    from zoo.weights import CARD_NAME, bundled_root

    spec = get_registry().get(model_id)
    card_path = Path(spec.path or bundled_root() / spec.id) / CARD_NAME
    card = card_path.read_text() if card_path.is_file() else ""
    if as_json:
        samplers = [x.id for x in get_registry().samplers_for(spec.family)] if spec.samplers else []
        click.echo(json.dumps({**spec.to_dict(), "samplers": samplers, "card": card}, indent=2))
        return
    fields = [("id", spec.id), ("aliases", ", ".join(spec.aliases)), ("architecture", spec.architecture),
              ("family", spec.family), ("capabilities", ", ".join(spec.capabilities)),
              ("image shape", _shape(spec)), ("dataset", spec.dataset), ("classes", ", ".join(spec.classes)),
              ("weights", _weights_label(spec)),
              ("hub repo", spec.hub_repo + (f" @ {spec.hub_revision}" if spec.hub_revision else "")),
              ("paper", spec.paper), ("license", spec.license), ("plugin", spec.plugin),
              ("description", spec.description)]
    from zoo.safety import escape_control

    for key, value in fields:
        if value:
            click.echo(f"{key + ':':14} {escape_control(value)}")
    if spec.config:
        click.echo(f"{'config:':14} {json.dumps(spec.config)}")
    if spec.options:
        click.echo("options:")
        for option in spec.options:
            click.echo(f"  {option.flag}{option.describe()[len(option.name):]}")
    runners = get_registry().samplers_for(spec.family) if spec.samplers else []
    if runners:
        click.echo("samplers (--sampler ID; any of them runs this model):")
        for runner in runners:
            click.echo(f"  {runner.id:12} {runner.description}" + (f" [{runner.plugin}]" if runner.plugin else ""))
            for option in runner.options:
                click.echo(f"  {'':12}   {option.flag}{option.describe()[len(option.name):]}")
    if card:
        click.echo("\n" + escape_control(card, multiline=True))
    elif spec.pretrained:
        click.echo(f"\n(no model card at {card_path})")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List loaded plugins with their versions and hooks, and any that failed."""
    from zoo.plugins import failures, get_registry, plugin_infos

    get_registry()
    infos = plugin_infos()
    if as_json:
        click.echo(json.dumps({
            "plugins": [{"name": i.name, "module": i.module, "distribution": i.distribution,
                         "version": i.version, "hooks": list(i.hooks)} for i in infos],
            "failures": [{"name": f.name, "stage": f.stage, "error": f.error} for f in failures],
        }, indent=2))
        return
    from zoo.safety import escape_control

    for i in infos:
        dist = f"{i.distribution} {i.version}".strip() or "(in-process)"
        click.echo(escape_control(f"{i.name:12} {dist:24} {', '.join(i.hooks)}"))
    for f in failures:
        click.echo(escape_control(f"{f.name:12} FAILED ({f.stage}): {f.error}"))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def datasets(as_json: bool) -> None:
    """List the data sets that --data takes by name, and whether each is installed.

    \b
    A data source is NAME, NAME:CLASS (fashion-mnist:sneaker), SOURCE@SIZE (digits@28),
    or the path of a folder of images or IDX files (./photos).
    """
    from zoo.plugins import get_registry
    from zoo.registry import import_object

    registry = get_registry()
    _print_failures()
    rows = []
    for spec in sorted(registry.datasets.values(), key=lambda d: d.id):
        status = import_object(spec.status)() if spec.status else ""
        rows.append((spec, status))
    if as_json:
        click.echo(json.dumps([{**spec.to_dict(), "installed": not status, "how_to_get": status}
                               for spec, status in rows], indent=2))
        return
    table: list[tuple[str, ...]] = [("id", "image", "classes", "splits", "installed", "plugin")]
    for spec, status in rows:
        splits = ", ".join(f"{k} {spec.num_images[k]:,}" if k in spec.num_images else k for k in spec.splits)
        table.append(_escaped(spec.id, _shape(spec), str(len(spec.classes)) if spec.classes else "-", splits,
                              "yes" if not status else f"no: {status}", spec.plugin))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for i, row in enumerate(table):
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
        click.echo(click.style(line, bold=True) if i == 0 else line)
    click.echo("\nAlso: NAME:CLASS (fashion-mnist:sneaker), SOURCE@SIZE (digits@28), or a folder path (./photos).")


# --------------------------------------------------------------------------- sampling
# device_option, force_option, load_for_command, write_outputs and check_outputs are public: a plugin's
# own commands (the register_commands hook) use them to behave like the zoo's (docs/plugin-guide.md).

device_option = click.option("--device", default=None, help="cpu (default), cuda, cuda:N.")
force_option = click.option("--force", is_flag=True, help="Overwrite existing output files.")


def load_for_command(model_id: str, device: str | None, role: str | None = None, **options: Any) -> Any:
    """``zoo.load``, then one clear line if the model lacks the ``role`` the command needs."""
    import zoo
    from zoo.interfaces import require_role

    model = zoo.load(model_id, device=device, **options)
    if role is not None:
        require_role(model, role, model_id)
    return model


def write_outputs(images: Any, output: str | None, out_dir: str | None, force: bool, nrow: int | None = None) -> None:
    """Write images ``(B, C, H, W)`` in ``[0, 1]`` as one grid PNG (``output``) and/or one PNG each
    (``out_dir``), and say where."""
    from zoo.images import save_grid, save_images

    if output:
        path = save_grid(images, output, nrow=nrow, force=force)
        click.echo(f"wrote {path} ({len(images)} images)")
    if out_dir:
        paths = save_images(images, out_dir, force=force)
        click.echo(f"wrote {len(paths)} PNGs to {out_dir}")


def check_outputs(output: str | None, out_dir: str | None, force: bool) -> None:
    """Validate output paths before any expensive work."""
    from zoo.images import check_output_path

    if not output and not out_dir:
        raise BadInputError("give -o FILE.png for a grid or --out-dir DIR for one PNG per image")
    if output:
        check_output_path(output, force=force)
    if out_dir and not Path(out_dir).parent.is_dir():
        raise BadInputError(f"output folder {Path(out_dir).parent} does not exist")


def _add_sampling_flags(command: click.Command) -> None:
    """A ``--name`` flag for each declared sampling option (``zoo.options``) the command lacks: values
    stay strings here and are converted and checked against the declaration by the model."""
    from zoo.plugins import get_registry

    have = {p.name for p in command.params}
    for option in get_registry().declared_options().values():
        if option.name not in have:
            command.params.append(click.Option([option.flag, option.name], default=None,
                                               help=option.describe().split(": ", 1)[-1], metavar=option.kind.upper()))


def _add_component_flags(command: click.Command) -> None:
    """A ``--NAME ID`` flag for each component a composite architecture declares (``--autoencoder``)."""
    from zoo.plugins import get_registry

    have = {p.name for p in command.params}
    for spec in sorted(get_registry().models.values(), key=lambda s: s.id):
        for name, role in spec.components:
            if name not in have:
                have.add(name)
                command.params.append(click.Option(
                    ["--" + name.replace("_", "-"), name], default=None, metavar="ID",
                    help=f"The {name} of a composite architecture ({role} role): a pretrained id, model folder, "
                         "hf-hub:org/name, or an architecture id."))


def component_command(command: click.Command) -> click.Command:
    """Mark a command as taking the components of composite architectures as flags (``--autoencoder``)."""
    command.takes_components = True  # type: ignore[attr-defined]
    return command


def sampling_command(command: click.Command) -> click.Command:
    """Mark a command as taking the declared sampling options (``--sampler``, ``--steps``, ``--eta``...)."""
    command.takes_sampling_options = True  # type: ignore[attr-defined]
    return command


def _sample_options(given: dict[str, Any]) -> dict[str, Any]:
    """The sampling options a user gave (flags left unset are None), for ``model.sample``, each
    text converted to the number it spells (the model's declaration checks it)."""
    from zoo.options import from_text

    return {k: from_text(v) if isinstance(v, str) else v for k, v in given.items() if v is not None}


def _with_options(options: list[Any]) -> Any:
    def decorate(f: Any) -> Any:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


@sampling_command
@cli.command()
@click.argument("model_id")
@click.option("-n", "--num", "n", default=16, type=int, show_default=True, help="Number of images.")
@click.option("--seed", default=None, type=int, help="Integer seed; the same seed gives the same images.")
@click.option("-o", "--output", help="Write one grid PNG here.")
@click.option("--out-dir", help="Write one PNG per image into this folder.")
@click.option("--nrow", type=int, default=None, help="Images per grid row.")
@click.option("--label", "labels", multiple=True, help="Class name or index (conditional models); repeatable.")
@click.option("--batch-size", default=256, show_default=True, type=int)
@device_option
@force_option
def sample(model_id: str, n: int, seed: int | None, output: str | None, out_dir: str | None,
           nrow: int | None, labels: tuple[str, ...], batch_size: int, device: str | None, force: bool,
           **sampling: Any) -> None:
    """Draw images from a pretrained model.

    Sampling options (--sampler, --steps, --eta, --truncation, ...) are those the model and its
    sampler declare: `zoo info MODEL_ID` lists them.
    """
    import torch

    from zoo.interfaces import check_count

    check_count(n)
    check_outputs(output, out_dir, force)
    options = _sample_options(sampling)
    model = load_for_command(model_id, device, "generator")
    if output:  # before any image is made: a grid that could not be written is refused now
        from zoo.images import check_grid

        check_grid(n, model.image_shape, nrow)
    batches = model.iter_samples(n, seed=seed, labels=list(labels) or None, batch_size=batch_size,
                                 progress=_progress(), **options)
    if output:  # a grid needs every image at once
        write_outputs(torch.cat(list(batches)), output, out_dir, force, nrow)
        return
    from zoo.images import image_paths, write_images

    assert out_dir is not None
    paths = image_paths(out_dir, n, force=force)
    done = 0
    for images in batches:  # one batch in memory at a time
        write_images(images, paths[done : done + len(images)])
        done += len(images)
    click.echo(f"wrote {done} PNGs to {out_dir}")


@cli.command()
@click.argument("model_id")
@click.argument("images", nargs=-1)
@click.option("--from-data", "from_data", type=click.Choice(["train", "test"]), default=None,
              help="Reconstruct images drawn from this split of --data instead of files.")
@click.option("--data", "source", default="fashion-mnist", show_default=True,
              help="Data source of --from-data (`zoo datasets`).")
@click.option("-n", "--num", "n", default=16, show_default=True, type=int, help="Images drawn with --from-data.")
@click.option("--seed", default=0, show_default=True, type=int, help="Which images --from-data draws.")
@click.option("-o", "--output", required=True, help="Grid PNG: a row of inputs, their reconstructions below.")
@device_option
@force_option
def reconstruct(model_id: str, images: tuple[str, ...], from_data: str | None, source: str, n: int, seed: int,
                output: str, device: str | None, force: bool) -> None:
    """Encode and decode IMAGES (files) with an encoder model (VAE, AE), or images drawn with --from-data."""
    import torch

    from zoo.interfaces import check_count, check_seed

    if bool(images) == bool(from_data):
        raise BadInputError("give image files to reconstruct, or --from-data train|test (not both)")
    check_count(n)
    check_seed(seed)
    check_outputs(output, None, force)
    model = load_for_command(model_id, device, "encoder")
    c, h, _ = model.image_shape
    if from_data:
        from zoo.data import draw_images

        x = draw_images(source, from_data, n, seed=seed)
        if tuple(x.shape[1:]) != tuple(model.image_shape):
            raise BadInputError(f"{source} has {tuple(x.shape[1:])} images; '{model_id}' encodes "
                                f"{tuple(model.image_shape)}")
    else:
        from zoo.images import load_image

        x = torch.stack([load_image(p, c, h) for p in images])
    recon = model.reconstruct(x.to(model.device)).cpu()
    from zoo.images import pairs_grid

    per_row = min(len(x), 8)
    write_outputs(pairs_grid(x, recon, per_row), output, None, force, nrow=per_row)


@cli.command()
@click.argument("model_id")
@click.option("--seeds", nargs=2, type=int, help="Two seeds: interpolate between their latents.")
@click.option("--images", "image_paths", nargs=2, help="Two image files (encoder models).")
@click.option("--steps", default=8, show_default=True, type=int, help="Images in the strip.")
@click.option("--label", default=None, help="Class of the strip (conditional models; default: seed A's).")
@click.option("-o", "--output", required=True, help="The strip as a PNG.")
@device_option
@force_option
def interpolate(model_id: str, seeds: tuple[int, int] | None, image_paths: tuple[str, str] | None,
                steps: int, label: str | None, output: str, device: str | None, force: bool) -> None:
    """A strip of images between two seeds (or two input images)."""
    import torch

    from zoo.interfaces import check_count

    check_count(steps, "--steps")
    if bool(seeds) == bool(image_paths):
        raise BadInputError("give exactly one of --seeds A B or --images A.png B.png")
    check_outputs(output, None, force)
    model = load_for_command(model_id, device)
    from zoo.images import check_grid

    check_grid(steps, model.image_shape, steps)
    if seeds:
        if not hasattr(model, "interpolate"):
            hint = " (it has an encoder: use --images A.png B.png)" if hasattr(model, "encode") else ""
            raise BadInputError(f"'{model_id}' cannot interpolate between seeds{hint}")
        strip = model.interpolate(seeds[0], seeds[1], steps, label=label)
    else:
        from zoo.images import load_image
        from zoo.interfaces import require_role

        require_role(model, "encoder", model_id)
        c, h, _ = model.image_shape
        assert image_paths is not None
        a, b = (load_image(p, c, h).to(model.device) for p in image_paths)
        strip = model.interpolate_images(a, b, steps).cpu()
    write_outputs(torch.as_tensor(strip), output, None, force, nrow=steps)


@cli.command()
@click.argument("model_id")
@click.argument("inputs", nargs=-1)
@click.option("--direction", default=None, help="a2b (default) or b2a; domain names work too (sneaker2ankle-boot).")
@click.option("--to", "to", default=None, help="The target domain by name (--to ankle-boot), instead of --direction.")
@click.option("--from-data", "from_data", type=click.Choice(["train", "test"]), default=None,
              help="Translate images drawn from the model's own data (this split of the source domain).")
@click.option("-n", "--num", "n", default=16, show_default=True, type=int, help="Images drawn with --from-data.")
@click.option("--seed", default=0, show_default=True, type=int, help="Which images --from-data draws.")
@click.option("-o", "--output", help="Grid PNG: a row of inputs, their translations below.")
@click.option("--out-dir", help="Write one PNG per translated image into this folder.")
@click.option("--nrow", type=int, default=None, help="Images per row of the grid (default: up to 8).")
@click.option("--batch-size", default=256, show_default=True, type=int)
@device_option
@force_option
def translate(model_id: str, inputs: tuple[str, ...], direction: str | None, to: str | None, from_data: str | None,
              n: int, seed: int, output: str | None, out_dir: str | None, nrow: int | None, batch_size: int,
              device: str | None, force: bool) -> None:
    """Translate images to the other domain with a translator (CycleGAN).

    INPUTS are image files (converted to the model's channels and resized to its size), or
    use --from-data to draw from the model's own data.
    """
    import torch

    from zoo.interfaces import check_count, check_seed

    if bool(inputs) == bool(from_data):
        raise BadInputError("give image files to translate, or --from-data train|test (not both)")
    check_count(n)
    check_seed(seed)
    if nrow is not None:
        check_count(nrow, "--nrow")
    check_outputs(output, out_dir, force)
    model = load_for_command(model_id, device, "translation")
    resolved = model.resolve_direction(direction, to=to)
    source, target = model.direction_domains(resolved)
    if from_data:
        x = model.draw_images(resolved, n, seed=seed, split=from_data)
    else:
        from zoo.images import load_image

        c, h, _ = model.image_shape
        x = torch.stack([load_image(p, c, h) for p in inputs])
    y = model.translate(x, resolved, batch_size=batch_size)
    if output:
        from zoo.images import pairs_grid, save_grid

        per_row = nrow or min(len(x), 8)
        path = save_grid(pairs_grid(x, y, per_row), output, nrow=per_row, force=force)
        click.echo(f"wrote {path} ({len(x)} {' → '.join(_escaped(source, target))})")
    if out_dir:
        from zoo.images import save_images

        paths = save_images(y, out_dir, force=force)
        click.echo(f"wrote {len(paths)} PNGs to {out_dir} ({' → '.join(_escaped(source, target))})")


# --------------------------------------------------------------------------- evaluation

SCORE_ROWS = (("fd", "fd"), ("kid", "kid"), ("precision", "precision"), ("recall", "recall"),
              ("density", "density"), ("coverage", "coverage"), ("class_acc", "class-acc"), ("bpd", "bits/dim"),
              ("bpd_se", "bits/dim SE"), ("recon_l1", "recon L1"), ("recon_mse", "recon MSE"), ("psnr", "PSNR (dB)"),
              ("recon_fd", "recon fd"), ("fid", "fid (Inception)"))
eval_options = [
    click.option("--metrics", default=None,
                 help="Comma-separated. Generators: fd, kid, pr, dc, class-acc, bpd, fid (default fd,kid,pr). "
                      "Encoders: recon (the default of an autoencoder that does not generate). "
                      "Translators: fd, target, cycle, class-kept (default: all that apply)."),
    click.option("--num-samples", default=10_000, show_default=True, type=int),
    click.option("--seed", default=0, show_default=True, type=int),
    click.option("--batch-size", default=500, show_default=True, type=int),
    click.option("--inception-weights", type=click.Path(), help="Local Inception weights file, for fid."),
    device_option,
]




def _progress() -> bool:
    """Progress bars (on stderr) only where someone watches: not in pipes, logs or CI."""
    return sys.stderr.isatty()


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


@sampling_command
@cli.command("eval")
@click.argument("model_id")
@_with_options(eval_options)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: scores, 'floor', reference, time.")
def eval_cmd(model_id: str, metrics: str | None, num_samples: int, seed: int, batch_size: int,
             inception_weights: str | None, device: str | None, as_json: bool, **sampling: Any) -> None:
    """Score a model's samples against Fashion-MNIST, with the real-vs-real floor beside each score."""
    from zoo.metrics.evaluate import evaluate, parse_metrics

    result = evaluate(model_id, parse_metrics(metrics) if metrics else None, num_samples=num_samples, seed=seed,
                      batch_size=batch_size,
                      device=device, inception_weights=inception_weights,
                      sample_options=_sample_options(sampling), progress=_progress())
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    if result.baseline or any("." in k for k in result.scores):
        _print_translation(result)
        return
    options = "".join(f", {k} {v}" for k, v in result.sample_options.items())
    sampled = {"fd", "kid", "precision", "density", "class_acc", "fid"} & set(result.scores)
    what = f"{result.num_samples} samples, seed {result.seed}{options}" if sampled else "test split"
    click.echo(f"model      {result.model}  ({what})")
    if result.reference:
        click.echo(f"reference  {result.reference}")
        click.echo(f"features   {result.extractor}")
    click.echo(f"\n{'metric':16} {'score':>10} {'floor (test vs train)':>22}")
    for key, label in SCORE_ROWS:
        if key in result.scores:
            click.echo(f"{label:16} {_fmt(result.scores[key]):>10} {_fmt(result.floor.get(key)):>22}")
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"\ntime {result.seconds:.1f} s")


TRANSLATION_ROWS = (("fd", "fd (to target)"), ("target", "target rate"), ("class_kept", "class kept"),
                    ("cycle", "cycle L1"))


def _print_translation(result: Any) -> None:
    """A table per direction: translated, source only (the untranslated inputs), floor (real target)."""
    click.echo(f"model      {result.model}  (seed {result.seed})")
    click.echo(f"features   {result.extractor}")
    for direction in ("a2b", "b2a"):
        click.echo(f"\n{direction:16} {'translated':>10} {'source only':>12} {'floor (real)':>13}")
        for key, label in TRANSLATION_ROWS:
            k = f"{direction}.{key}"
            if k in result.scores:
                click.echo(f"{label:16} {_fmt(result.scores[k]):>10} {_fmt(result.baseline.get(k)):>12} "
                           f"{_fmt(result.floor.get(k)):>13}")
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"\ntime {result.seconds:.1f} s")


@sampling_command
@cli.command()
@click.argument("model_ids", nargs=-1)
@_with_options(eval_options)
@click.option("--plot", type=click.Path(), help="Write a bar chart of the first metric to this PNG.")
@click.option("--json", "as_json", is_flag=True)
@force_option
def compare(model_ids: tuple[str, ...], metrics: str | None, num_samples: int, seed: int, batch_size: int,
            inception_weights: str | None, device: str | None, plot: str | None, as_json: bool,
            force: bool, **sampling: Any) -> None:
    """Evaluate several models against the same reference and print a leaderboard (all pretrained
    models when no MODEL_IDS are given)."""
    from zoo.metrics.evaluate import evaluate, parse_metrics
    from zoo.plugins import get_registry

    names = parse_metrics(metrics or "fd,kid,pr")
    if plot:
        from zoo.images import check_output_path

        check_output_path(plot, force=force)
    ids = list(model_ids) or [s.id for s in get_registry().filter(pretrained=True)
                              if s.image_shape == (1, 28, 28) and "generator" in s.capabilities]
    if not ids:
        raise BadInputError("no models to compare")
    options = _sample_options(sampling)
    results = [evaluate(i, names, num_samples=num_samples, seed=seed, batch_size=batch_size, device=device,
                        inception_weights=inception_weights, sample_options=options, progress=_progress())
               for i in ids]
    keys = [k for k, _ in SCORE_ROWS if any(k in r.scores for r in results)]
    lower_is_better = {"fd", "kid", "bpd", "fid"}
    rank_key = keys[0]
    results.sort(key=lambda r: r.scores[rank_key] * (1 if rank_key in lower_is_better else -1))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        labels = dict(SCORE_ROWS)
        click.echo(f"{'rank':4} {'model':20} " + " ".join(f"{labels[k]:>10}" for k in keys))
        for rank, r in enumerate(results, 1):
            click.echo(f"{rank:<4} {r.model:20} " + " ".join(f"{_fmt(r.scores.get(k)):>10}" for k in keys))
        floor = results[0].floor
        if floor:
            click.echo(f"{'':4} {'(real test vs train)':20} " + " ".join(f"{_fmt(floor.get(k)):>10}" for k in keys))
        click.echo(f"\n{num_samples} samples each, seed {seed}; sorted by {labels[rank_key]}")
    if plot:
        from zoo.images import bar_chart

        path = bar_chart([(r.model, r.scores[rank_key]) for r in results], f"{dict(SCORE_ROWS)[rank_key]} "
                         f"({'lower' if rank_key in lower_is_better else 'higher'} is better)", plot,
                         floor=results[0].floor.get(rank_key), force=force)
        click.echo(f"wrote {path}")


# --------------------------------------------------------------------------- weights


@cli.command()
@click.argument("model_id")
def pull(model_id: str) -> None:
    """Download a model's weights from the Hugging Face Hub into the local cache.

    MODEL_ID is a registered id (its pinned revision, sha256 checked) or hf-hub:org/name[@revision].
    """
    from zoo.api import HUB_PREFIX
    from zoo.plugins import get_registry
    from zoo.weights import fetch_hub_repo, hub_folder

    if model_id.startswith(HUB_PREFIX):
        repo, _, revision = model_id[len(HUB_PREFIX):].partition("@")
        folder = fetch_hub_repo(repo, revision=revision or None, pull_hint=f"zoo pull {model_id}")
        click.echo(f"{repo} is in the cache at {folder}")
        return
    spec = get_registry().get(model_id)
    if not spec.hub_repo:
        where = "bundled with the zoo" if spec.weights == "bundled" else "not published"
        raise BadInputError(f"'{spec.id}' has no Hub repo (its weights are {where})")
    folder = hub_folder(spec, allow_download=True)
    click.echo(f"{spec.id}: {spec.hub_repo} is in the cache at {folder}")


@cli.command()
@click.argument("folder_or_id")
@click.argument("repo_id", metavar="ORG/NAME")
@click.option("--private", is_flag=True, help="Create the repo private (an existing repo keeps its visibility).")
@click.option("--revision", default=None, metavar="BRANCH", help="Commit to this branch (created if missing).")
@click.option("--create-pr", is_flag=True, help="Open a pull request with the commit instead.")
@click.option("--dry-run", is_flag=True, help="Check, then print the files and card metadata; send nothing.")
@click.option("-m", "--message", default=None, help="Commit message (default: Upload FOLDER with zoo push).")
def push(folder_or_id: str, repo_id: str, private: bool, revision: str | None, create_pr: bool, dry_run: bool,
         message: str | None) -> None:
    """Upload a model folder (or a bundled model by id) to the Hugging Face Hub as ORG/NAME, in one commit.

    The folder is checked first: config.json names an installed architecture, the weights load and
    make images, the card's metadata is valid. Afterwards zoo.load("hf-hub:ORG/NAME") loads it back.
    """
    from zoo.publish import push as push_folder

    plan = push_folder(folder_or_id, repo_id, private=private, revision=revision, create_pr=create_pr,
                       dry_run=dry_run, commit_message=message)
    for line in plan.checked:
        click.echo(f"checked: {line}")
    if dry_run:
        target = f"{repo_id}" + (f" @ {revision}" if revision else "") + (" (as a pull request)" if create_pr else "")
        click.echo(f"would upload {len(plan.files)} files from {plan.folder} to {target} in one commit:")
        for path, local in plan.files:
            click.echo(f"  {path}  ({local.stat().st_size:,} bytes)")
        click.echo("card metadata:")
        click.echo("\n".join(f"  {line}" for line in plan.metadata.splitlines()))
        return
    click.echo(f"pushed {len(plan.files)} files to {repo_id}: {plan.url}")
    click.echo(f'load it with zoo.load("hf-hub:{repo_id}")')


@cli.command("new-plugin")
@click.argument("name")
@click.option("--dir", "parent", default=".", show_default=True, help="Where to make the zoo-NAME folder.")
def new_plugin(name: str, parent: str) -> None:
    """Make a working plugin distribution zoo-NAME: pyproject with the zoo entry point, a tiny model
    (architecture NAME), its training step, a README, and tests that run the conformance kit."""
    from zoo.scaffold import render

    folder = render(name, parent)
    click.echo(f"wrote {folder}")
    click.echo(f"next: pip install -e {folder} && (cd {folder} && pytest) && zoo list {name.replace('_', '-')}")


# --------------------------------------------------------------------------- training


def _parse_overrides(items: tuple[str, ...], what: str) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInputError(f"{what} takes KEY=VALUE, got '{item}'")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


@component_command
@cli.command()
@click.argument("arch")
@click.option("--data", multiple=True, default=("fashion-mnist",), show_default=True,
              help="Data source: a data set (`zoo datasets`), NAME:CLASS, SOURCE@SIZE, or a folder. "
                   "Twice for two-domain steps (CycleGAN): --data A --data B.")
@click.option("--out", required=True, help="Run folder (checkpoints, samples, log, exported model).")
@click.option("--epochs", default=10, show_default=True, type=int)
@click.option("--batch-size", default=128, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--ema-decay", default=0.999, show_default=True, type=float, help="0 disables the EMA.")
@click.option("--max-steps", default=0, type=int, help="Stop after this many steps (quick runs).")
@click.option("--checkpoint-every", default=500, show_default=True, type=int, help="Steps between checkpoints.")
@click.option("--config", "model_config", multiple=True, help="Architecture hyperparameter KEY=VALUE.")
@click.option("--step-config", multiple=True, help="Training-step option KEY=VALUE (lr=2e-4, ...).")
@click.option("--mixed-precision", type=click.Choice(["no", "fp16", "bf16"]), default="no")
@click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint.")
@device_option
def train(arch: str, data: tuple[str, ...], out: str, epochs: int, batch_size: int, seed: int, ema_decay: float,
          max_steps: int, checkpoint_every: int, model_config: tuple[str, ...], step_config: tuple[str, ...],
          mixed_precision: str, resume: bool, device: str | None, **components: str | None) -> None:
    """Train an architecture; exports the model folder to OUT/model.

    Composite architectures take their components as flags: `zoo train ldm --autoencoder ID`.
    """
    from zoo.interfaces import check_count

    check_count(epochs, "--epochs")
    check_count(batch_size, "--batch-size")
    if not 0 <= ema_decay < 1:
        raise BadInputError(f"--ema-decay must be in [0, 1), got {ema_decay}")
    from zoo.training import TrainConfig
    from zoo.training import train as run_training

    cfg = TrainConfig(arch=arch, data=data[0] if len(data) == 1 else list(data), out=out, epochs=epochs,
                      batch_size=batch_size, seed=seed,
                      ema_decay=ema_decay, max_steps=max_steps, checkpoint_every=checkpoint_every,
                      device=device, mixed_precision=mixed_precision,
                      model_config={**_parse_overrides(model_config, "--config"),
                                    **{k: v for k, v in components.items() if v is not None}},
                      step_config=_parse_overrides(step_config, "--step-config"))
    export = run_training(cfg, resume=resume, command=_command_line(click.get_current_context()))
    click.echo(f"exported {export}")


def _command_line(ctx: click.Context) -> str:
    """The command as a user would retype it: arguments, then options that differ from their defaults."""
    import shlex

    parts = ["zoo", ctx.command.name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if isinstance(param, click.Argument):
            parts.append(shlex.quote(str(value)))
        elif value != param.default and value is not None and value is not False and value != ():
            flag = max(param.opts, key=len)
            if isinstance(param, click.Option) and param.is_flag:
                parts.append(flag)
            else:
                for item in value if isinstance(value, tuple) else (value,):
                    parts += [flag, shlex.quote(str(item))]
    return " ".join(parts)


def main() -> None:
    from zoo.plugins import call_each

    call_each("register_commands", cli=cli)
    cli(prog_name="zoo")


if __name__ == "__main__":
    main()
