#!/usr/bin/env python3
"""Offline check that a Dockerfile builds from exactly its build context.

No container engine is needed (none runs in CI). For each Dockerfile this
replays, in a temporary directory, what `docker build -f DOCKERFILE CONTEXT`
would see and do:

- The build context is CONTEXT filtered by `.dockerignore` with Docker's rules:
  patterns are anchored at the context root, `*` and `?` stay within one path
  element, `**` spans elements, a pattern that matches a directory excludes
  everything under it, `!` re-includes, and the last matching pattern wins.
  `<Dockerfile>.dockerignore` next to the Dockerfile takes precedence, as in
  BuildKit.
- Each stage gets a directory standing in for its root filesystem; the base
  image is not simulated (RUN uses the host's sh and cargo). COPY (from the
  context or --from an earlier stage, Docker's directory and file semantics),
  WORKDIR, ARG (defaults, --build-arg overrides, global ARGs) and ENV apply.
- RUN runs with `sh -c` in the stage's WORKDIR, with absolute paths outside the
  operating system's directories (/src, /skeleton, /out, ...) rewritten into
  the stage directory; a BuildKit cache mount inside the stage is emptied
  afterwards (its contents never reach the layer).
- `cargo build` is replaced by what runs offline without compiling anything:
  `cargo metadata --locked --offline` (loads the workspace: every member's
  manifest and explicit targets must exist and Cargo.lock must be up to date),
  a check that the requested package and binaries exist, and `cargo fetch
  --locked --offline` for the host platform (every locked dependency is in the
  local cargo cache); then a placeholder is written where cargo would put each
  binary, so later steps (install, COPY --from) run as in the real build.
- ENTRYPOINT's executable must exist in the final stage.

Prints every step and the context size; exits 1 at the first step that would
fail in a real build, with the reason. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Top-level directories RUN may use from the host as they are; every other
# absolute path in a RUN command is rewritten into the stage's directory.
OS_DIRS = {"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "sys", "usr"}
IGNORED_INSTRUCTIONS = {"LABEL", "USER", "EXPOSE", "CMD", "HEALTHCHECK", "STOPSIGNAL", "VOLUME", "MAINTAINER"}
# The host environment a RUN sees (Docker's RUN sees only the image's ENV and the ARGs); a
# Dockerfile ENV never overrides these, the host's toolchain is used as it is.
HOST_ENV = {"PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "TMPDIR", "LANG", "LC_ALL"}


class CheckFailed(Exception):
    pass


# --- .dockerignore (github.com/moby/patternmatcher semantics) ---------------------------------

@dataclass
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern


def compile_pattern(pattern: str) -> re.Pattern:
    out, i = "^", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1: i + 2] == "*":
                i += 1
                if pattern[i + 1: i + 2] == "/":
                    i += 1
                out += ".*" if i + 1 == len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif ch in ".+()|{}$":
            out += "\\" + ch
        else:
            out += ch
        i += 1
    return re.compile(out + "$")


def read_dockerignore(path: Path | None) -> list[Pattern]:
    patterns = []
    if path is None or not path.exists():
        return patterns
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        line = posixpath.normpath(line)
        if len(line) > 1 and line.startswith("/"):
            line = line.lstrip("/")
        patterns.append(Pattern(line, exclusion, compile_pattern(line)))
    return patterns


def ignored(patterns: list[Pattern], rel: str) -> bool:
    """MatchesOrParentMatches: is context path `rel` (no leading /) left out of the context?"""
    matched = False
    parent = posixpath.dirname(rel)
    parts = parent.split("/") if parent else []
    for p in patterns:
        if p.exclusion != matched:
            continue
        match = bool(p.regex.match(rel))
        if not match:
            match = any(p.regex.match("/".join(parts[: i + 1])) for i in range(len(parts)))
        if match:
            matched = not p.exclusion
    return matched


def may_reinclude_under(patterns: list[Pattern], rel_dir: str) -> bool:
    return any(p.exclusion and (p.text.startswith(rel_dir + "/") or "*" in p.text or "?" in p.text
                                or "[" in p.text) for p in patterns)


class Context:
    def __init__(self, root: Path, patterns: list[Pattern]):
        self.root, self.patterns = root, patterns

    def included(self, rel: str) -> bool:
        return rel in ("", ".") or not ignored(self.patterns, rel)

    def walk(self, rel_top: str = ""):
        """(rel path, is_dir) of every context entry under rel_top, as the context transfer sends them."""
        top = self.root / rel_top if rel_top else self.root
        for dirpath, dirnames, filenames in os.walk(top):
            rel_dir = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            rel_dir = "" if rel_dir == "." else rel_dir
            keep = []
            for d in sorted(dirnames):
                rel = posixpath.join(rel_dir, d) if rel_dir else d
                full = Path(dirpath) / d
                if full.is_symlink():
                    filenames.append(d)
                    continue
                if self.included(rel):
                    yield rel, True
                    keep.append(d)
                elif may_reinclude_under(self.patterns, rel):
                    keep.append(d)
            dirnames[:] = keep
            for f in sorted(filenames):
                rel = posixpath.join(rel_dir, f) if rel_dir else f
                if self.included(rel):
                    yield rel, False


# --- Dockerfile -------------------------------------------------------------------------------

@dataclass
class Instruction:
    line: int
    keyword: str
    args: str

    def short(self, width: int = 96) -> str:
        text = f"{self.keyword} {' '.join(self.args.split())}"
        return text if len(text) <= width else text[: width - 3] + "..."


CONTINUATION = re.compile(r"\\[ \t]*$")


def parse_dockerfile(text: str) -> list[Instruction]:
    out, buf, start = [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buf):
            continue  # comments (and parser directives); inside a continuation too
        if not buf:
            start = number
        if CONTINUATION.search(raw):  # Docker drops the backslash and newline, nothing else
            buf += CONTINUATION.sub("", raw)
            continue
        buf += raw
        keyword, _, rest = buf.strip().partition(" ")
        out.append(Instruction(start, keyword.upper(), rest.strip()))
        buf = ""
    if buf:
        raise CheckFailed(f"line {start}: the file ends inside a continued instruction")
    return out


VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(text: str, env: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(4)
        value = env.get(name)
        if m.group(2) == "-":
            return value if value else m.group(3)
        if m.group(2) == "+":
            return m.group(3) if value else ""
        return value or ""
    return VAR.sub(sub, text)


def split_flags(args: str) -> tuple[dict[str, list[str]], str]:
    flags: dict[str, list[str]] = {}
    rest = args.lstrip()
    while (m := re.match(r"--([A-Za-z-]+)(?:=(\S*))?\s*", rest)):
        flags.setdefault(m.group(1), []).append(m.group(2) or "")
        rest = rest[m.end():]
    return flags, rest


@dataclass
class Stage:
    name: str
    root: Path
    workdir: str = "/"
    args: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def path(self, abs_path: str) -> Path:
        return self.root / posixpath.normpath("/" + abs_path).lstrip("/")

    def resolve(self, dest: str) -> str:
        return posixpath.normpath(dest if dest.startswith("/") else posixpath.join(self.workdir, dest))

    def vars(self) -> dict[str, str]:
        return {**self.args, **self.env}


class Build:
    def __init__(self, dockerfile: Path, context: Context, build_args: dict[str, str], work: Path,
                 shim_dir: Path, log: Path):
        self.dockerfile, self.context, self.build_args = dockerfile, context, build_args
        self.work, self.shim_dir, self.log = work, shim_dir, log
        self.real_cargo = os.environ["CONTEXT_CHECK_REAL_CARGO"]
        self.stages: list[Stage] = []
        self.global_args: dict[str, str] = {}
        self.entrypoint: list[str] | None = None

    def say(self, stage: Stage | None, ins: Instruction, what: str = "") -> None:
        where = f"[{stage.name}] " if stage else ""
        print(f"  {ins.line:>3} {where}{ins.short()}" + (f"\n        -> {what}" if what else ""))

    def fail(self, ins: Instruction, why: str) -> None:
        raise CheckFailed(f"{self.dockerfile}:{ins.line}: {ins.short()}\n  {why}")

    def run(self) -> Stage:
        instructions = parse_dockerfile(self.dockerfile.read_text())
        stage: Stage | None = None
        for ins in instructions:
            handler = getattr(self, f"do_{ins.keyword.lower()}", None)
            if ins.keyword == "ARG" and stage is None:
                self.do_arg_global(ins)
            elif ins.keyword == "FROM":
                stage = self.do_from(ins)
            elif stage is None:
                self.fail(ins, "instruction before the first FROM")
            elif ins.keyword in IGNORED_INSTRUCTIONS:
                continue
            elif handler is None:
                self.fail(ins, f"{ins.keyword} is not supported by this check; extend {Path(__file__).name}")
            else:
                handler(stage, ins)
        if stage is None:
            raise CheckFailed(f"{self.dockerfile}: no FROM")
        return stage

    # ARG / FROM / WORKDIR / ENV / ENTRYPOINT

    def parse_arg(self, ins: Instruction) -> tuple[str, str | None]:
        name, eq, default = ins.args.partition("=")
        return name.strip(), (default.strip().strip('"') if eq else None)

    def do_arg_global(self, ins: Instruction) -> None:
        name, default = self.parse_arg(ins)
        self.global_args[name] = self.build_args.get(name, expand(default or "", self.global_args))

    def do_arg(self, stage: Stage, ins: Instruction) -> None:
        name, default = self.parse_arg(ins)
        if name in self.build_args:
            stage.args[name] = self.build_args[name]
        elif default is not None:
            stage.args[name] = expand(default, stage.vars())
        elif name in self.global_args:
            stage.args[name] = self.global_args[name]

    def do_from(self, ins: Instruction) -> Stage:
        _, rest = split_flags(ins.args)
        words = rest.split()
        image = expand(words[0], self.global_args)
        name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(self.stages))
        root = self.work / f"stage-{len(self.stages)}-{name}"
        parent = next((s for s in self.stages if s.name == image), None)
        if parent is not None:
            shutil.copytree(parent.root, root, symlinks=True)
            stage = Stage(name, root, parent.workdir, {}, dict(parent.env))
        else:
            root.mkdir()
            stage = Stage(name, root)
        self.stages.append(stage)
        self.say(None, ins, f"stage {name!r} from {image}" + (" (earlier stage)" if parent else
                                                               " (image not simulated)"))
        return stage

    def do_workdir(self, stage: Stage, ins: Instruction) -> None:
        stage.workdir = stage.resolve(expand(ins.args, stage.vars()))
        stage.path(stage.workdir).mkdir(parents=True, exist_ok=True)

    def do_env(self, stage: Stage, ins: Instruction) -> None:
        words = shlex.split(ins.args)
        if words and "=" not in words[0]:
            words = [f"{words[0]}={' '.join(words[1:])}"]
        for w in words:
            key, _, value = w.partition("=")
            stage.env[key] = expand(value, stage.vars())

    def do_entrypoint(self, stage: Stage, ins: Instruction) -> None:
        self.entrypoint = json.loads(ins.args) if ins.args.startswith("[") else shlex.split(ins.args)

    # COPY

    def do_copy(self, stage: Stage, ins: Instruction) -> None:
        flags, rest = split_flags(ins.args)
        unsupported = set(flags) - {"from", "chown", "chmod", "link"}
        if unsupported:
            self.fail(ins, f"COPY flags {sorted(unsupported)} are not supported by this check")
        words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        words = [expand(w, stage.vars()) for w in words]
        if len(words) < 2:
            self.fail(ins, "COPY needs a source and a destination")
        sources, dest = words[:-1], stage.resolve(words[-1])
        into_dir = words[-1].endswith("/") or len(sources) > 1
        from_name = flags.get("from", [None])[0]
        count = 0
        if from_name is None:
            for src in sources:
                count += self.copy_from_context(ins, stage, src, dest, into_dir)
            self.say(stage, ins, f"{count} file(s) from the build context")
        else:
            source_stage = next((s for s in self.stages if s.name == from_name), None)
            if source_stage is None:
                self.fail(ins, f"--from={from_name} is not an earlier stage (images are not simulated)")
            for src in sources:
                path = source_stage.path(src)
                if not path.exists():
                    self.fail(ins, f"{src} does not exist in stage {from_name!r}")
                count += copy_tree(path, stage.path(dest), into_dir)
            self.say(stage, ins, f"{count} file(s) from stage {from_name!r}")

    def copy_from_context(self, ins: Instruction, stage: Stage, src: str, dest: str, into_dir: bool) -> int:
        rel = posixpath.normpath("/" + src).lstrip("/")
        if any(c in rel for c in "*?["):
            matches = [r for r, _ in self.context.walk() if compile_pattern(rel).match(r)]
            if not matches:
                self.fail(ins, f"no file in the build context matches {src}")
            return sum(self.copy_from_context(ins, stage, m, dest, True) for m in matches)
        full = self.context.root / rel if rel else self.context.root
        if not full.exists() and not full.is_symlink():
            self.fail(ins, f"{src}: not found in the build context")
        if not self.context.included(rel):
            self.fail(ins, f"{src}: not found in the build context (excluded by .dockerignore)")
        target = stage.path(dest)
        if full.is_dir() and not full.is_symlink():
            target.mkdir(parents=True, exist_ok=True)
            count = 0
            for sub, is_dir in self.context.walk(rel):
                out = target / os.path.relpath(sub, rel if rel else ".")
                if is_dir:
                    out.mkdir(parents=True, exist_ok=True)
                else:
                    out.parent.mkdir(parents=True, exist_ok=True)
                    copy_entry(self.context.root / sub, out)
                    count += 1
            return count
        if into_dir or target.is_dir():
            target = target / posixpath.basename(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_entry(full, target)
        return 1

    # RUN

    def do_run(self, stage: Stage, ins: Instruction) -> None:
        flags, script = split_flags(ins.args)
        if script.startswith("<<"):
            self.fail(ins, "heredoc RUN is not supported by this check")
        if script.startswith("["):
            script = shlex.join(json.loads(script))
        unsupported = set(flags) - {"mount", "network"}
        if unsupported:
            self.fail(ins, f"RUN flags {sorted(unsupported)} are not supported by this check")
        cache_dirs = []
        for mount in flags.get("mount", []):
            opts = dict(kv.partition("=")[::2] for kv in mount.split(","))
            kind, target = opts.get("type", "bind"), opts.get("target") or opts.get("dst") or opts.get("destination")
            if kind not in ("cache", "tmpfs"):
                self.fail(ins, f"--mount=type={kind} is not supported by this check")
            top = target.strip("/").split("/")[0]
            if top not in OS_DIRS:  # inside the stage: starts empty, never reaches the layer
                path = stage.path(stage.resolve(target))
                aside = path.with_name(path.name + ".context-check-aside")
                if path.exists():
                    path.rename(aside)
                path.mkdir(parents=True)
                cache_dirs.append((path, aside))
        rewritten = rewrite_paths(script, stage.root)
        env = {k: v for k, v in os.environ.items() if k in HOST_ENV}
        env.update({k: v for k, v in stage.vars().items() if k not in HOST_ENV})
        env["PATH"] = f"{self.shim_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        env["CONTEXT_CHECK_LOG"] = str(self.log)
        env["CONTEXT_CHECK_REAL_CARGO"] = self.real_cargo
        cwd = stage.path(stage.workdir)
        cwd.mkdir(parents=True, exist_ok=True)
        before = self.log.read_text().count("\n") if self.log.exists() else 0
        proc = subprocess.run(["sh", "-c", rewritten], cwd=cwd, env=env, capture_output=True, text=True)
        for path, aside in cache_dirs:
            shutil.rmtree(path, ignore_errors=True)
            if aside.exists():
                aside.rename(path)
            else:
                path.mkdir(parents=True, exist_ok=True)
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).strip()
            self.fail(ins, f"exited {proc.returncode}:\n" + "\n".join("    " + l for l in output.splitlines()[-25:]))
        builds = self.log.read_text().splitlines()[before:] if self.log.exists() else []
        self.say(stage, ins, "\n        -> ".join(json.loads(b)["summary"] for b in builds) or "ok")


def copy_entry(src: Path, dst: Path) -> None:
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    else:
        shutil.copy2(src, dst)


def copy_tree(src: Path, dst: Path, into_dir: bool) -> int:
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
        return sum(len(files) for _, _, files in os.walk(src))
    if into_dir or dst.is_dir():
        dst = dst / src.name
    dst.parent.mkdir(parents=True, exist_ok=True)
    copy_entry(src, dst)
    return 1


ABSOLUTE = re.compile(r"(?<![\w.}$/\\*?\]~-])/([A-Za-z0-9_.-]+)")


def rewrite_paths(script: str, root: Path) -> str:
    return ABSOLUTE.sub(lambda m: m.group(0) if m.group(1) in OS_DIRS else f"{root}/{m.group(1)}", script)


# --- the cargo stand-in -----------------------------------------------------------------------

def host_triple() -> str:
    out = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    return next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("host:"))


def cargo_shim(argv: list[str]) -> int:
    real = os.environ["CONTEXT_CHECK_REAL_CARGO"]
    if not argv or argv[0] != "build":
        os.execv(real, [real, *argv])
    args = argv[1:]
    packages, bins, profile, target = [], [], "debug", None
    i = 0
    while i < len(args):
        a = args[i]
        value = args[i + 1] if i + 1 < len(args) else ""
        if a in ("-p", "--package", "--bin", "--profile", "--target"):
            i += 1
        elif "=" in a and a.startswith("--"):
            a, value = a.split("=", 1)
        if a in ("-p", "--package"):
            packages.append(value)
        elif a == "--bin":
            bins.append(value)
        elif a == "--release":
            profile = "release"
        elif a == "--profile":
            profile = "debug" if value == "dev" else value
        elif a == "--target":
            target = value
        i += 1
    host = host_triple()

    def cargo(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run([real, *cmd], capture_output=True, text=True)

    meta_cmd = ["metadata", "--locked", "--offline", "--format-version", "1", "--filter-platform", target or host]
    proc = cargo(*meta_cmd)
    if proc.returncode != 0:
        sys.stderr.write(f"cargo {' '.join(meta_cmd)} (standing in for cargo build):\n{proc.stderr}")
        return proc.returncode
    meta = json.loads(proc.stdout)
    members = {p["id"]: p for p in meta["packages"] if p["id"] in meta["workspace_members"]}
    selected = [p for p in members.values() if p["name"] in packages] if packages else list(members.values())
    missing = sorted(set(packages) - {p["name"] for p in selected})
    if missing:
        sys.stderr.write(f"package(s) {missing} are not workspace members\n")
        return 101
    bin_targets = {t["name"] for p in selected for t in p["targets"] if "bin" in t["kind"]}
    if set(bins) - bin_targets:
        sys.stderr.write(f"no bin target {sorted(set(bins) - bin_targets)} in {[p['name'] for p in selected]}\n")
        return 101
    fetch_cmd = ["fetch", "--locked", "--offline", "--target", target or host]
    proc = cargo(*fetch_cmd)
    if proc.returncode != 0:
        sys.stderr.write(f"cargo {' '.join(fetch_cmd)} (standing in for cargo build):\n{proc.stderr}"
                         "(the host's cargo cache lacks a locked dependency: run `cargo fetch --locked` first)\n")
        return proc.returncode
    out_dir = Path(meta["target_directory"]) / (target or "") / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    for b in bins:
        (out_dir / b).write_text("#!/bin/sh\necho 'placeholder written by deploy/docker/context-check.py'\n")
        (out_dir / b).chmod(0o755)
    revision_env = {k: v for k, v in os.environ.items() if k.startswith("AUTOINTEL_")}
    summary = (f"cargo build {' '.join(args)}: workspace of {len(members)} members loads, Cargo.lock up to date, "
               f"{len(meta['packages'])} packages for {target or host} available offline"
               + (f"; env {' '.join(f'{k}={v}' for k, v in sorted(revision_env.items()))}" if revision_env else ""))
    with open(os.environ["CONTEXT_CHECK_LOG"], "a") as log:
        log.write(json.dumps({"args": args, "env": revision_env, "summary": summary}) + "\n")
    return 0


# --- main -------------------------------------------------------------------------------------

def context_size(context: Context) -> tuple[int, int]:
    files = size = 0
    for rel, is_dir in context.walk():
        if not is_dir:
            files += 1
            size += (context.root / rel).lstat().st_size
    return files, size


def check(dockerfile: Path, context_root: Path, dockerignore: Path | None, build_args: dict[str, str],
          expect_env: dict[str, str]) -> None:
    if dockerignore is None:
        beside = dockerfile.with_name(dockerfile.name + ".dockerignore")
        dockerignore = beside if beside.exists() else context_root / ".dockerignore"
    patterns = read_dockerignore(dockerignore)
    context = Context(context_root, patterns)
    files, size = context_size(context)
    print(f"\n{dockerfile} (context {context_root}, {dockerignore}: {len(patterns)} patterns)")
    print(f"  build context after .dockerignore: {files} files, {size / 2**20:.1f} MiB")
    real_cargo = shutil.which("cargo")
    if real_cargo is None:
        raise CheckFailed("cargo is not on PATH")
    with tempfile.TemporaryDirectory(prefix="context-check-") as tmp:
        work = Path(tmp)
        shim_dir = work / "shim"
        shim_dir.mkdir()
        shim = shim_dir / "cargo"
        shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))}"
                        f" --cargo-shim \"$@\"\n")
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.environ["CONTEXT_CHECK_REAL_CARGO"] = real_cargo
        build = Build(dockerfile, context, build_args, work, shim_dir, work / "cargo-builds.jsonl")
        final = build.run()
        if build.entrypoint:
            exe = build.entrypoint[0]
            if exe.startswith("/") and not final.path(exe).exists():
                raise CheckFailed(f"{dockerfile}: ENTRYPOINT {exe} does not exist in the final stage")
            print(f"  final stage {final.name!r}: ENTRYPOINT {exe} present")
        builds = [json.loads(l) for l in (work / "cargo-builds.jsonl").read_text().splitlines()] \
            if (work / "cargo-builds.jsonl").exists() else []
        if expect_env:
            if not builds:
                raise CheckFailed(f"{dockerfile}: no cargo build step")
            last = builds[-1]["env"]
            wrong = {k: v for k, v in expect_env.items() if last.get(k) != v}
            if wrong:
                raise CheckFailed(f"{dockerfile}: the last cargo build ran with {last or 'no AUTOINTEL_* env'}, "
                                  f"expected {wrong}")
            print(f"  the last cargo build ran with {' '.join(f'{k}={v}' for k, v in expect_env.items())}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--cargo-shim":
        return cargo_shim(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dockerfiles", nargs="+", type=Path)
    parser.add_argument("--context", type=Path, default=Path("."), help="build context (default: .)")
    parser.add_argument("--dockerignore", type=Path, help="use this file instead of the context's .dockerignore")
    parser.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--expect-env", action="append", default=[], metavar="NAME=VALUE",
                        help="the last cargo build must run with this environment variable")
    args = parser.parse_args()
    pairs = lambda items: dict(i.split("=", 1) for i in items)  # noqa: E731
    try:
        for dockerfile in args.dockerfiles:
            check(dockerfile, args.context.resolve(), args.dockerignore, pairs(args.build_arg), pairs(args.expect_env))
            print(f"ok: {dockerfile} builds from its context (offline replay, cargo steps up to fetch)")
    except CheckFailed as e:
        sys.stdout.flush()
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
