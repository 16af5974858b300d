"""Write the student-edition config: _config.yml with sphinx-exercise's hide_solutions on.

Used by `make assignments`. Jupyter Book 1.x's `--config` replaces _config.yml
instead of merging, so this copies it and changes only what differs.
"""
import argparse
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def student_config(base: dict, cache: str | None = None) -> dict:
    cfg = dict(base)
    cfg["title"] = f"{base.get('title', 'Book')} (student edition)"
    sphinx = dict(cfg.get("sphinx") or {})
    conf = dict(sphinx.get("config") or {})
    conf["hide_solutions"] = True
    sphinx["config"] = conf
    # Jupyter Book resolves local extension folders against the config file's folder,
    # and this config is written elsewhere: make them absolute.
    if sphinx.get("local_extensions"):
        sphinx["local_extensions"] = {name: str((ROOT / path).resolve())
                                      for name, path in sphinx["local_extensions"].items()}
    cfg["sphinx"] = sphinx
    if cache:
        execute = dict(cfg.get("execute") or {})
        execute["cache"] = cache
        cfg["execute"] = execute
    return cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=None, help="jupyter-cache folder to reuse")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    base = yaml.safe_load((ROOT / "_config.yml").read_text())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(yaml.safe_dump(student_config(base, args.cache), sort_keys=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
