"""Atomic writes of model and weights files: a temporary file beside the target, renamed over
it once complete, so a crash or a full disk leaves either the old file or the new one.

Note [Temporary save files]
A temporary file or directory is named ``.<target name>.corten-tmp-<pid>-<random>``. A process
killed while saving (kill -9, a power cut) leaves it behind; the next save to that directory
removes the ones that are stale: named so, owned by this user, written by a process that is no
longer running, and last modified before the saving process started. A save in progress in
another process is never touched. An OSError while writing (a full disk) names the target.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator

__all__ = ["atomic_file", "atomic_path", "temp_dir", "clean_stale", "replace", "TEMP_MARK"]

TEMP_MARK = ".corten-tmp-"
# Earlier than any temporary file this process creates.
_PROCESS_START = time.time()


def _temp_name(target: str) -> str:
    base = os.path.basename(target.rstrip(os.sep)) or "model"
    return f".{base}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def clean_stale(directory: str) -> list[str]:
    """Removes the stale temporary files and directories of `directory` (Note [Temporary save
    files]); returns their paths. Never raises."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        name = entry.name
        if not name.startswith(".") or TEMP_MARK not in name:
            continue
        try:
            pid = int(name.rsplit(TEMP_MARK, 1)[1].split("-", 1)[0])
            st = entry.stat(follow_symlinks=False)
        except (ValueError, IndexError, OSError):
            continue
        if (pid == os.getpid() or (uid is not None and st.st_uid != uid)
                or st.st_mtime >= _PROCESS_START or _pid_alive(pid)):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.path)
        except OSError:
            pass
    return removed


def _umask() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # not thread-safe, hence the /proc route first
    os.umask(mask)
    return mask


def replace(tmp: str, target: str) -> None:
    """Gives `tmp` (mode 0600) the mode a plain ``open`` would have, or the existing target's,
    then renames it over `target`."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    os.chmod(tmp, mode)
    os.replace(tmp, target)


def _named(e: OSError, target: str) -> OSError:
    """`e` naming the target instead of a temporary file (ENOSPC: "No space left on device")."""
    return type(e)(e.errno, f"{e.strerror or e} (while saving)", target)


@contextlib.contextmanager
def atomic_file(target: str) -> Iterator[object]:
    """An open binary file that becomes `target` when the block ends without an error."""
    target = os.fspath(target)
    directory = os.path.dirname(os.path.abspath(target))
    clean_stale(directory)
    path = os.path.join(directory, _temp_name(target))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise _named(e, target) from e
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        replace(path, target)
    except OSError as e:
        _discard(path)
        raise _named(e, target) from e
    except BaseException:
        _discard(path)
        raise


def temp_dir(target: str) -> str:
    """A new temporary directory beside `target` (Note [Temporary save files])."""
    parent = os.path.dirname(os.path.abspath(target))
    clean_stale(parent)
    path = os.path.join(parent, _temp_name(target))
    try:
        os.mkdir(path, 0o700)
    except OSError as e:
        raise _named(e, target) from e
    return path


def _discard(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)



@contextlib.contextmanager
def atomic_path(target: str) -> Iterator[str]:
    """The path of a new temporary file beside `target` that becomes `target` when the block
    ends without an error (for writers that open files by name, such as HDF5's); removed
    otherwise."""
    target = os.fspath(target)
    directory = os.path.dirname(os.path.abspath(target))
    clean_stale(directory)
    path = os.path.join(directory, _temp_name(target))
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as e:
        raise _named(e, target) from e
    try:
        yield path
        with open(path, "rb+") as f:
            os.fsync(f.fileno())
        replace(path, target)
    except OSError as e:
        _discard(path)
        raise _named(e, target) from e
    except BaseException:
        _discard(path)
        raise
