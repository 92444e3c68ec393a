"""Offline preview: run the stack's program under Pulumi's mock engine and write its inventory.

    python -m tools.offline_preview --stack <dev|prod> [--config-file PATH] [--out DIR]

Writes DIR/resources.json and DIR/outputs.json (default DIR: out/<stack>) and prints a summary. Invalid config exits
2 with one message naming the key, the value and the rule; nothing is registered and nothing is written.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

from components.config import ConfigError
from tools import capture


def _write(path: Path, document: object) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.offline_preview", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml unless --config-file")
    parser.add_argument("--config-file", type=Path, help="stack config file to use instead of Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, help="output folder (default out/<stack>)")
    args = parser.parse_args(argv)

    config_file = args.config_file or capture.ROOT / f"Pulumi.{args.stack}.yaml"
    if not config_file.is_file():
        print(f"error: no stack config at {config_file}", file=sys.stderr)
        return 2
    config, secret_keys = capture.load_stack_config(config_file)
    started = time.perf_counter()
    try:
        result = capture.run(args.stack, config, secret_keys)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started

    out = args.out or capture.ROOT / "out" / args.stack
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "resources.json", [registration.as_json() for registration in result.resources])
    _write(out / "outputs.json", result.outputs)

    by_type = collections.Counter(r.type for r in result.resources if r.custom)
    components = sum(1 for r in result.resources if not r.custom)
    print(f"offline preview of stack {args.stack!r} ({config_file.name}) in {elapsed:.1f} s")
    for token, count in sorted(by_type.items()):
        print(f"  {count:4d}  {token}")
    print(f"  + {sum(by_type.values())} to create ({components} components)")
    print(f"wrote {out / 'resources.json'} and {out / 'outputs.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
