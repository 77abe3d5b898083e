"""``zoo complete``: keep the top rows of images and let an autoregressive model draw the rest
(added to the ``zoo`` command through the ``register_commands`` hook; no torch until it runs)."""

from __future__ import annotations

import click

from zoo import check_outputs, device_option, force_option, load_for_command, write_outputs
from zoo.errors import BadInputError


def add_commands(cli: click.Group) -> None:
    cli.add_command(complete)


@click.command()
@click.argument("model_id")
@click.argument("images", nargs=-1, required=True)
@click.option("--rows", type=int, required=True, help="Rows kept from the top of each image (0 to its height).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the completions.")
@click.option("--label", "labels", multiple=True, help="Class name or index (conditional models); one or one each.")
@click.option("--temperature", default=None, help="Softmax temperature (> 0; 1: the model's own distribution).")
@click.option("--sampler", default=None, help="Pixel sampler (pixelcnn-fast, pixelcnn-naive, ...).")
@click.option("-o", "--output", required=True, help="Grid PNG: the inputs above, their completions below.")
@device_option
@force_option
def complete(model_id: str, images: tuple[str, ...], rows: int, seed: int, labels: tuple[str, ...],
             temperature: str | None, sampler: str | None, output: str, device: str | None, force: bool) -> None:
    """Complete IMAGES from their top --rows rows (the occluded completions of the PixelRNN paper)."""
    import torch

    from zoo.images import load_image

    check_outputs(output, None, force)
    model = load_for_command(model_id, device)
    if not hasattr(model, "complete"):
        raise BadInputError(f"'{model_id}' cannot complete images (autoregressive models such as pixelcnn-fashion can)")
    c, h, _ = model.image_shape
    x = torch.stack([load_image(p, c, h) for p in images])
    out = model.complete(x, rows, seed=seed, labels=list(labels) or None, sampler=sampler, temperature=temperature)
    shown = x.clone()
    shown[:, :, rows:] = 0.5  # the occluded part, grey
    write_outputs(torch.cat([shown, out]), output, None, force, nrow=len(images))
