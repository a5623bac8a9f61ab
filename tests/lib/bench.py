"""What the side-by-side benchmarks share: one ansible-playbook run, timed; the median of runs; the
results each bench records, and the report `make bench` writes from them (docs/benchmarks.md and
docs/benchmarks.png)."""

from __future__ import annotations

import glob
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def play(venv, tmp_path, label, tasks, specs, python=None):
    """Run a play on localhost whose `tasks` (YAML under `tasks:`, "" for none) read the variable
    `specs`, with the ansible-playbook of `venv` and its Python for the modules (or `python`, e.g. one
    with libvirt-python); return (seconds, changed)."""
    path = tmp_path / ("play-%s.yml" % label)
    path.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:%s\n" % (tasks or " []"))
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps({"specs": specs}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    argv = [os.path.join(venv, "bin", "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "localhost.yml"),
            str(path), "-e", "@%s" % varfile, "-e", "ansible_python_interpreter=%s" % (python or os.path.join(venv, "bin", "python"))]
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode:
        raise AssertionError("%s failed:\n%s\n%s" % (label, proc.stdout[-4000:], proc.stderr[-2000:]))
    recap = re.search(r"changed=(\d+)", proc.stdout)  # a play with no task prints no recap
    return elapsed, int(recap.group(1)) if recap else 0


def peer_collection(venv, fqcn, ansible_release):
    """Make the peer collection `fqcn` (e.g. "openvswitch.openvswitch") available to the bench's
    playbooks when the `ansible` package in `venv` no longer carries it: unpack it from the wheel
    of the `ansible` release that last did (pip download, nothing installed) into the work tree's
    .collections, beside the link to this collection. Returns its directory."""
    namespace, name = fqcn.split(".")
    dest = os.path.join(ROOT, ".collections", "ansible_collections", namespace, name)
    if os.path.exists(os.path.join(dest, "MANIFEST.json")):
        return dest
    prefix = "ansible_collections/%s/%s/" % (namespace, name)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "-d", tmp, "ansible==%s" % ansible_release], check=True)
        with zipfile.ZipFile(glob.glob(os.path.join(tmp, "ansible-*.whl"))[0]) as wheel:
            members = [member for member in wheel.namelist() if member.startswith(prefix)]
            if not members:
                raise AssertionError("ansible %s does not carry %s" % (ansible_release, fqcn))
            shutil.rmtree(dest, ignore_errors=True)
            wheel.extractall(os.path.join(tmp, "x"), members)
        shutil.move(os.path.join(tmp, "x", prefix), dest)
    return dest


# ---------------------------------------------------------------- results and the report (issue 26)
# Each bench records its medians with record(); `make bench` then runs `python -m lib.bench report`
# (PYTHONPATH=tests), which writes docs/benchmarks.md and docs/benchmarks.png from them.
RESULTS = os.environ.get("VIRTCLOUD_BENCH_RESULTS", os.path.join(ROOT, "tests", "output", "bench-results"))
BENCH_VENV = os.environ.get("VIRTCLOUD_BENCH_VENV", os.path.join(ROOT, ".venv-bench"))
RUNS = 3  # every figure in the report is the median of at least this many runs
BENCHES = ("docker", "host-network", "libvirt-clones", "libvirt-domain", "lxd", "ova-export", "ova-import",
           "scale-docker", "scale-libvirt")  # the names tests/bench records under: the report says which did not run
PEERS = ("community.docker", "community.general", "community.libvirt", "openvswitch.openvswitch")
_STARTED = set()  # the benches that recorded in this process: their first record() starts their file afresh


def sizes_from_env(variable, default):
    """The integers a bench runs at: the environment variable's whitespace-separated list, else `default`."""
    return [int(n) for n in os.environ.get(variable, " ".join(map(str, default))).split()]


def median_of(call, runs=RUNS, before=None):
    """Call `call()` `runs` times (each after `before()` when given) and return the median of what it
    returned: a number, or a tuple of numbers taken element by element."""
    if runs < RUNS:
        raise ValueError("the report wants the median of at least %d runs" % RUNS)
    samples = []
    for dummy in range(runs):
        if before is not None:
            before()
        samples.append(call())
    if isinstance(samples[0], tuple):
        return tuple(statistics.median(column) for column in zip(*samples))
    return statistics.median(samples)


def record(bench, case, ours, peer=None, *, runs=RUNS, size=None, default_sizes=None,
           ours_label="", peer_label="", note=""):
    """Add one row to the bench's results (RESULTS/<bench>.json): median seconds of ours and of the
    peer (None when the bench has no peer) over `runs` runs, for `size` objects; `default_sizes` are
    the sizes the bench runs when no environment variable overrides them (the report says when a
    smaller run stands in for them). Returns the row."""
    if runs < RUNS:
        raise ValueError("%s/%s: a median of %d runs (at least %d)" % (bench, case, runs, RUNS))
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, "%s.json" % bench)
    data = {"bench": bench, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "rows": []}
    if bench in _STARTED and os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    _STARTED.add(bench)
    row = {"case": case, "size": size, "ours": ours, "peer": peer, "runs": runs, "ours_label": ours_label,
           "peer_label": peer_label, "note": note, "default_sizes": default_sizes,
           "ratio": ours / peer if peer else None}
    data["rows"].append(row)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    os.replace(path + ".tmp", path)
    return row


def record_side_by_side(bench, size, times, baseline, modes, phases, default_sizes=None, peer="a"):
    """Record the task times of a side-by-side playbook bench at `size`: `times` maps each of `modes`
    (key: label) to its median playbook seconds per phase (e.g. create, no-op); every mode but `peer`
    is a row per phase against the peer. Task time = playbook - `baseline` (the same playbook with no
    task), at least 0.01 s."""
    for index, phase in enumerate(phases):
        theirs = max(times[peer][index] - baseline, 0.01)
        for mode, label in modes.items():
            if mode != peer:
                record(bench, phase, max(times[mode][index] - baseline, 0.01), theirs, size=size,
                       default_sizes=default_sizes, ours_label=label, peer_label=modes[peer], note="task time")


def load_results(results=RESULTS):
    """Every bench's results in `results`, sorted by bench name."""
    out = []
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        with open(path, encoding="utf-8") as handle:
            out.append(json.load(handle))
    return out


def _first(path, pattern, default="unknown"):
    try:
        with open(path, encoding="utf-8") as handle:
            found = re.search(pattern, handle.read(), re.M)
    except OSError:
        return default
    return found.group(1).strip() if found else default


def _dist_version(python, name):
    if not os.path.exists(python):
        return "not installed"
    proc = subprocess.run([python, "-c", "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))", name],
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else "not installed"


def _collection_version(fqcn, venv=BENCH_VENV):
    namespace, name = fqcn.split(".")
    candidates = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "ansible_collections", namespace,
                                        name, "MANIFEST.json"))
    candidates.append(os.path.join(ROOT, ".collections", "ansible_collections", namespace, name, "MANIFEST.json"))
    for path in candidates:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)["collection_info"]["version"]
    return "not installed"


def machine(venv=BENCH_VENV):
    """The machine and software the benches ran on, as (label, value) pairs."""
    memory = _first("/proc/meminfo", r"^MemTotal:\s+(\d+)", "0")
    bench_python = os.path.join(venv, "bin", "python")
    return [
        ("CPU", "%s, %d cores" % (_first("/proc/cpuinfo", r"^model name\s*:\s*(.*)$"), os.cpu_count() or 0)),
        ("Memory", "%.1f GiB" % (int(memory) / (1 << 20))),
        ("Kernel", platform.release()),
        ("OS", "%s (Debian %s)" % (_first("/etc/os-release", r'^PRETTY_NAME="?([^"\n]*)'),
                                   _first("/etc/debian_version", r"(.+)"))),
        ("Python", platform.python_version()),
        ("ansible-core", "%s (project venv), %s (bench venv, which runs the peers and the playbook benches)"
         % (_dist_version(sys.executable, "ansible-core"), _dist_version(bench_python, "ansible-core"))),
        ("Peer collections", ", ".join("%s %s" % (fqcn, _collection_version(fqcn, venv)) for fqcn in PEERS)),
    ]


def _sizes_line(rows):
    run = sorted({row["size"] for row in rows if row["size"] is not None})
    defaults = next((row["default_sizes"] for row in rows if row.get("default_sizes")), None)
    text = "Sizes run: %s" % (", ".join("N=%s" % n for n in run) or "one fixed size")
    if defaults and sorted(defaults) != run:
        text += " -- NOT the default sizes (%s): a smaller run, to be regenerated by a full `make bench`" \
                % ", ".join("N=%s" % n for n in defaults)
    return text + "."


def _seconds(value):
    return "-" if value is None else "%.2f" % value


def _bar_label(result, row):
    """What a bar of the chart is: the bench, the case, N, our side, and the peer when the bench has several."""
    peers = {other["peer_label"] for other in result["rows"] if other["ratio"]}
    label = "%s, %s%s: %s" % (result["bench"], row["case"], "" if row["size"] is None else " (N=%s)" % row["size"],
                              re.sub(r"^virtcloud\.core[. ]", "", row["ours_label"]))
    return label + (" vs %s" % row["peer_label"] if len(peers) > 1 else "")


def chart(results, path):
    """A PNG of every row's ratio (ours / peer) on a log scale; False when no row has a peer."""
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    from matplotlib import pyplot, ticker  # pylint: disable=import-outside-toplevel

    bars = [(_bar_label(result, row), row["ratio"]) for result in results for row in result["rows"] if row["ratio"]]
    if not bars:
        return False
    figure, axes = pyplot.subplots(figsize=(11, 1.4 + 0.3 * len(bars)))
    labels, ratios = zip(*reversed(bars))
    axes.barh(range(len(bars)), ratios, color=["tab:green" if r <= 1 else "tab:red" for r in ratios])
    for index, ratio in enumerate(ratios):
        axes.annotate("%.3g" % ratio, (ratio, index), xytext=(3, 0), textcoords="offset points", va="center",
                      fontsize=7)
    axes.set_yticks(range(len(bars)), labels, fontsize=7)
    axes.set_xscale("log")
    low, high = min(min(ratios) / 1.5, 0.5), max(max(ratios) * 1.5, 2.0)
    axes.set_xlim(low, high)
    axes.set_xticks([tick * 10 ** power for power in range(-3, 3) for tick in (1, 2, 5) if low <= tick * 10 ** power <= high])
    axes.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    axes.xaxis.set_minor_formatter(ticker.NullFormatter())
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xlabel("our median time / the peer's (log scale; below 1 = faster than the peer)")
    axes.set_title("virtcloud.core against its peers (docs/benchmarks.md)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return True


def report(results_dir=RESULTS, out_dir=os.path.join(ROOT, "docs"), venv=BENCH_VENV):
    """Write out_dir/benchmarks.md and out_dir/benchmarks.png from the results in results_dir;
    return the two paths (the PNG's None when no row has a peer)."""
    results = load_results(results_dir)
    if not results:
        raise SystemExit("no bench results in %s: run the benches first (make bench)" % results_dir)
    os.makedirs(out_dir, exist_ok=True)
    png = os.path.join(out_dir, "benchmarks.png")
    has_chart = chart(results, png)
    lines = ["# Benchmarks", "",
             "Generated by `make bench` (tests/bench, tests/lib/bench.py) on %s; do not edit by hand."
             % time.strftime("%Y-%m-%d"), "",
             "Every time is the median of at least %d runs, in seconds; ratio = our time / the peer's "
             "(below 1: faster than the peer). Where a bench says *task*, it is the playbook's time minus the "
             "same playbook with no task. docs/performance.md explains where the time goes." % RUNS, ""]
    lines += ["| Machine | |", "|---|---|"] + ["| %s | %s |" % pair for pair in machine(venv)] + [""]
    missing = sorted(set(BENCHES) - {result["bench"] for result in results})
    if missing:
        lines += ["Not run for this report: %s." % ", ".join(missing), ""]
    if has_chart:
        lines += ["![ratio of our time to the peer's](benchmarks.png)", ""]
    for result in results:
        rows = result["rows"]
        lines += ["## %s" % result["bench"], "", "Run %s. %s" % (result["date"], _sizes_line(rows)), "",
                  "| Case | N | Ours | s | Peer | s | Ratio | Runs | Note |", "|---|---|---|---|---|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s | %s | %s | %s | %d | %s |"
                  % (row["case"], "-" if row["size"] is None else row["size"], row["ours_label"],
                     _seconds(row["ours"]), row["peer_label"] or "-", _seconds(row["peer"]),
                     "-" if row["ratio"] is None else "%.3f" % row["ratio"], row["runs"], row["note"])
                  for row in rows]
        lines.append("")
    path = os.path.join(out_dir, "benchmarks.md")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return path, png if has_chart else None


def main(argv=None):
    """python -m lib.bench report [--results DIR] [--out DIR] (PYTHONPATH=tests)."""
    import argparse  # pylint: disable=import-outside-toplevel

    parser = argparse.ArgumentParser(prog="python -m lib.bench")
    parser.add_argument("command", choices=["report"])
    parser.add_argument("--results", default=RESULTS)
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    args = parser.parse_args(argv)
    for path in report(args.results, args.out):
        if path:
            print(path)


if __name__ == "__main__":
    main()
