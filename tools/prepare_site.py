"""Prepare a build of the website: vendored JavaScript and the configuration of one edition.

    python tools/prepare_site.py full      # the book: _build/config/full.yml
    python tools/prepare_site.py student   # the same site with every solution hidden: student.yml

Each call

1. installs the pinned npm packages of package.json/package-lock.json with ``npm ci`` (only
   when the lock file changed since the last install) and copies the files the site serves
   (MathJax 3, require.js, the Jupyter widgets HTML manager) into ``_build/vendor/_vendor/``.
   ``_config.yml`` lists ``_build/vendor`` in ``html_extra_path``, so they are served from
   ``<site>/_vendor/``: outside ``_static``, whose every ``.js`` Jupyter Book would inject
   into every page. If npm is missing, it says so loudly and the edition loads them from the
   public CDNs instead (the site then needs the internet);
2. writes ``_build/config/<edition>.yml``: ``_config.yml`` plus the edition's overrides, for
   ``jupyter-book build --config``. There is one book; the editions differ only by config.

Executed notebooks are cached in ``_build/.jupyter_cache/<key>``, where the key hashes the
engine (bptt_core), the pinned requirements and the build environment: jupyter-cache itself
re-executes a notebook whose code changed, and the key makes a change to the engine re-execute
every notebook. The student edition reuses the notebooks the book executed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
NODE_MODULES = ROOT / "node_modules"
STAMP = NODE_MODULES / ".bptt-lock-sha256"
VENDOR = BUILD / "vendor" / "_vendor"  # html_extra_path: _build/vendor -> <site>/_vendor
EDITIONS = ("full", "student")

# npm package -> [(path inside the package, path under _vendor/)]: only what the site loads.
FILES = {
    "mathjax": [
        ("LICENSE", "mathjax/LICENSE"),  # Apache-2.0
        ("package.json", "mathjax/package.json"),
        ("es5/tex-mml-chtml.js", "mathjax/tex-mml-chtml.js"),
        # loaded on demand next to the main script: fonts, TeX extensions, accessibility
        ("es5/output", "mathjax/output"),
        ("es5/input", "mathjax/input"),
        ("es5/a11y", "mathjax/a11y"),
        ("es5/sre", "mathjax/sre"),
        ("es5/ui", "mathjax/ui"),
        ("es5/adaptors", "mathjax/adaptors"),
    ],
    "requirejs": [("require.js", "requirejs/require.js"),  # licence (MIT) in its header
                  ("package.json", "requirejs/package.json")],
    "@jupyter-widgets/html-manager": [
        ("package.json", "html-manager/package.json"),  # version and licence (BSD-3-Clause)
        ("dist/embed-amd.js", "html-manager/embed-amd.js"),
        # + the fonts its CSS refers to, next to the script (webpack's public path): see
        # copy_vendor
    ],
}
FONT_SUFFIXES = (".woff", ".woff2", ".eot", ".ttf", ".svg")

# The fallback when npm is missing: the same pinned versions from public CDNs.
CDN = {
    "mathjax_path": "https://cdn.jsdelivr.net/npm/mathjax@{mathjax}/es5/tex-mml-chtml.js",
    "requirejs": "https://cdn.jsdelivr.net/npm/requirejs@{requirejs}/require.js",
    "html-manager": ("https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@"
                     "{html-manager}/dist/embed-amd.js"),
    "widgets_cdn": "https://cdn.jsdelivr.net/npm/",
}


def say(message: str) -> None:
    print(f"[site] {message}", flush=True)


def loud(message: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n{message}\n{bar}\n", flush=True)


def pinned_versions() -> dict[str, str]:
    import json

    deps = json.loads((ROOT / "package.json").read_text())["dependencies"]
    return {"mathjax": deps["mathjax"], "requirejs": deps["requirejs"],
            "html-manager": deps["@jupyter-widgets/html-manager"]}


def npm_install() -> bool:
    """``npm ci`` when the lock file changed since the last install; False if npm is missing."""
    npm = shutil.which("npm")
    if npm is None:
        return False
    lock = hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == lock:
        say("npm packages already installed (package-lock.json unchanged)")
        return True
    say("npm ci: installing the pinned MathJax, require.js and widget manager")
    done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                           "--loglevel=error"], cwd=ROOT)
    if done.returncode != 0:
        loud(f"npm ci FAILED (exit {done.returncode}; is the npm registry reachable?)")
        return False
    STAMP.write_text(lock + "\n")
    return True


def copy_vendor() -> None:
    """Copy the files the site serves from node_modules into _build/vendor/_vendor/."""
    stamp = VENDOR / ".source"
    source = STAMP.read_text() if STAMP.exists() else ""
    if stamp.exists() and stamp.read_text() == source:
        return
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    manager = NODE_MODULES / "@jupyter-widgets/html-manager/dist"
    fonts = [(f"dist/{p.name}", f"html-manager/{p.name}") for p in sorted(manager.iterdir())
             if p.suffix in FONT_SUFFIXES]
    for package, pairs in FILES.items():
        if package == "@jupyter-widgets/html-manager":
            pairs = pairs + fonts
        for inside, target in pairs:
            src, dst = NODE_MODULES / package / inside, VENDOR / target
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst)
            else:
                shutil.copy2(src, dst)
    stamp.write_text(source)
    size = sum(p.stat().st_size for p in VENDOR.rglob("*") if p.is_file())
    say(f"vendored assets: {size / 1e6:.1f} MB in {VENDOR.relative_to(ROOT)}")


def cache_key(static_widgets: str | None = None) -> str:
    """A hash of what a notebook's outputs depend on besides its own code (static_widgets: the
    value of BPTT_STATIC_WIDGETS to hash, None: this process's)."""
    digest = hashlib.sha256()
    files = sorted((ROOT / "bptt_core").rglob("*.py"))
    files += [ROOT / "requirements.txt", ROOT / "pyproject.toml"]
    # any data file a chapter might read (the notebooks themselves are hashed by jupyter-cache)
    files += sorted(p for p in (ROOT / "book").rglob("*") if p.is_file()
                    and p.suffix not in (".ipynb", ".md", ".bib")
                    and not {"_static", "_build", ".ipynb_checkpoints"} & set(p.parts))
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(f"{sys.version}|{platform.machine()}".encode())
    if static_widgets is None:
        static_widgets = os.environ.get("BPTT_STATIC_WIDGETS", "")
    digest.update(static_widgets.encode())
    return digest.hexdigest()[:16]


def execution_cache() -> Path:
    """The cache of executed notebooks for the current engine; older caches are removed."""
    base = BUILD / ".jupyter_cache"
    path = base / cache_key()
    if base.exists():
        for old in base.iterdir():
            if old != path:
                shutil.rmtree(old, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


def set_in(config: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        config = config.setdefault(key, {})
    config[last] = value


def edition_config(edition: str, local_assets: bool) -> Path:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    set_in(config, "execute.execute_notebooks", "cache")
    set_in(config, "execute.cache", str(execution_cache()))
    # paths in the config are relative to _config.yml; the edition's config lives elsewhere
    local = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in local.items():
        local[name] = str((ROOT / folder).resolve())
    if edition == "student":
        set_in(config, "sphinx.config.hide_solutions", True)
        config["title"] = f"{config['title']} (student edition)"
    if not local_assets:
        versions = pinned_versions()
        sphinx = config["sphinx"]["config"]
        sphinx["mathjax_path"] = CDN["mathjax_path"].format(**versions)
        sphinx["nb_ipywidgets_js"] = {
            CDN["requirejs"].format(**versions): {},
            CDN["html-manager"].format(**versions): {
                "data-jupyter-widgets-cdn": CDN["widgets_cdn"]},
        }
        sphinx["html_extra_path"] = [p for p in sphinx.get("html_extra_path", [])
                                     if p != "_build/vendor"]
    out = BUILD / "config" / f"{edition}.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# GENERATED by tools/prepare_site.py from _config.yml for the {edition} "
              "edition: edit _config.yml instead.\n")
    out.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in EDITIONS:
        print(f"usage: python tools/prepare_site.py {{{'|'.join(EDITIONS)}}}",
              file=sys.stderr)
        return 2
    local = npm_install()
    if local:
        copy_vendor()
    else:
        loud("npm NOT FOUND or FAILED: this build loads MathJax, require.js and the Jupyter "
             "widgets\nmanager from public CDNs (cdn.jsdelivr.net): the site will NOT work "
             "offline.\nInstall npm (e.g. apt-get install npm) and rebuild for a self-contained "
             "site.")
    path = edition_config(argv[0], local)
    say(f"{argv[0]} edition: {path.relative_to(ROOT)} "
        f"({'self-contained assets' if local else 'CDN assets'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
