"""``zoo mix``: the style-mixing grid of any model with ``mixing_grid`` (or ``mix``).

Imported when the ``zoo`` command starts: no torch here, only when the command runs.
"""

from __future__ import annotations

import re
from typing import Any

import click

from zoo import check_outputs, device_option, force_option, load_for_command, write_outputs
from zoo.errors import BadInputError

LIST_OPTIONS = ("--rows", "--cols", "--layers")
_LIST_ITEM = re.compile(r"^\d[\d,\-]*$")


def parse_int_list(text: str, what: str) -> list[int]:
    """``"1,2,3"``, ``"1 2 3"``, ``"0-3"`` or a mix (``"0-2,5"``) → ``[...]``; anything else → ``BadInputError``."""
    out: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise BadInputError(f"{what}: '{part}' is not a non-negative integer or a range like 0-3")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise BadInputError(f"{what}: range '{part}' runs backwards")
        out += range(lo, hi + 1)
    if not out:
        raise BadInputError(f"{what}: give at least one number")
    return out


class ListOptionsCommand(click.Command):
    """Lets ``--rows 1 2 3`` take several values: the numbers after a list option are joined
    into one comma-separated value before click parses the line (click options have a fixed
    number of values)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        joined: list[str] = []
        i = 0
        while i < len(args):
            joined.append(args[i])
            if args[i] in LIST_OPTIONS:
                values = []
                while i + 1 < len(args) and _LIST_ITEM.match(args[i + 1]):
                    values.append(args[i + 1])
                    i += 1
                if values:
                    joined.append(",".join(values))
            i += 1
        return super().parse_args(ctx, joined)


def _mixing_grid(model: Any, rows: list[int], cols: list[int], layers: list[int] | None,
                 options: dict[str, Any]) -> Any:
    """The model's own grid, or one built from ``mix`` and ``sample`` (same layout)."""
    import torch

    if hasattr(model, "mixing_grid"):
        return model.mixing_grid(rows, cols, layers=layers, **options)
    if layers is None:
        raise BadInputError("give --layers: this model has no default mixing layers")
    sources = [model.sample(1, seed=s, **options) for s in rows + cols]
    cells = [torch.zeros_like(sources[0]), *sources[len(rows):]]
    for r, seed_r in enumerate(rows):
        cells.append(sources[r])
        cells += [model.mix(seed_r, seed_c, layers=layers, **options) for seed_c in cols]
    return torch.cat(cells)


@click.command("mix", cls=ListOptionsCommand)
@click.argument("model_id")
@click.option("--rows", required=True, help="Seeds of the row sources: 1 2 3, 1,2,3 or 1-3.")
@click.option("--cols", required=True, help="Seeds of the column sources (whose --layers are copied).")
@click.option("--layers", default=None, help="Style layers taken from the column sources, 0 = coarsest: "
              "0-3 or 0,1,2 (default: the model's coarse layers).")
@click.option("--truncation", type=float, default=None, help="Truncation psi in [0, 1] (1: off).")
@click.option("-o", "--output", required=True, help="The grid as a PNG.")
@device_option
@force_option
def mix(model_id: str, rows: str, cols: str, layers: str | None, truncation: float | None, output: str,
        device: str | None, force: bool) -> None:
    """The style-mixing grid of StyleGAN (Fig. 3): column sources on top, row sources on the
    left, and in each cell the row's image with the --layers styles of the column's.

    \b
      zoo mix stylegan2-fashion --rows 1 2 3 --cols 4 5 6 -o grid.png
      zoo mix stylegan2-fashion --rows 1 2 --cols 3 4 --layers 4-7 --truncation 0.7 -o fine.png
    """
    row_seeds, col_seeds = parse_int_list(rows, "--rows"), parse_int_list(cols, "--cols")
    chosen = parse_int_list(layers, "--layers") if layers is not None else None
    check_outputs(output, None, force)
    model = load_for_command(model_id, device)
    if not (hasattr(model, "mixing_grid") or hasattr(model, "mix")):
        raise BadInputError(f"'{model_id}' has no style mixing (a StyleGAN has)")
    options = {} if truncation is None else {"truncation": truncation}
    grid = _mixing_grid(model, row_seeds, col_seeds, chosen, options)
    write_outputs(grid, output, None, force, nrow=len(col_seeds) + 1)


def add_commands(cli: click.Group) -> None:
    """Add ``zoo mix`` to the ``zoo`` group."""
    cli.add_command(mix)
