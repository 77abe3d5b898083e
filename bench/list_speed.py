"""Cold start of `zoo list` against `timm.list_models()`, each in a fresh interpreter.

    python bench/list_speed.py [--repeat 10]

Both commands run alternately in one session on the same machine, so the ratio is
fair on a noisy machine; the medians and the ratio ours/timm are printed. timm is
installed by this script if missing (it is a peer, not a dependency of the zoo).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "zoo list": [sys.executable, "-c", "from zoo.cli import main; import sys; sys.argv=['zoo','list']; main()"],
    "timm.list_models()": [sys.executable, "-c", "import timm; timm.list_models()"],
    "python -c pass": [sys.executable, "-c", "pass"],
}


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    if importlib.util.find_spec("timm") is None:
        print("installing timm for the comparison ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "timm"], check=True)
    if shutil.which("zoo") is None:
        sys.exit("install the zoo first: pip install -e .")
    for cmd in COMMANDS.values():  # warm the OS file cache once; "cold" means a new process
        timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, cmd in COMMANDS.items():
            times[name].append(timed(cmd))
    med = {name: statistics.median(t) for name, t in times.items()}
    for name, m in med.items():
        print(f"{name:22} median {m:.3f} s  (min {min(times[name]):.3f}, {args.repeat} runs)")
    print(f"ratio zoo list / timm.list_models(): {med['zoo list'] / med['timm.list_models()']:.2f}")


if __name__ == "__main__":
    main()
