"""Evidence that arrives as text: a file, or the output of a command the params name.

Backup listings (``ls -l --time-style=full-iso``, ``pgbackrest info --output=json``,
``wal-g backup-list --json``, ``restic snapshots --json``), log samples and similar evidence are
either exported to a file next to the params or produced by a command the team already runs.
Both are read the same bounded way here: a file is read up to ``max_bytes`` (the head, since
listings and samples are read top down), a command runs through the commands area's runner (own
process group, timeout, whole group killed), never through a shell unless the params give a
string. The text is returned raw for parsing; whatever a check shows of it must still be
redacted by the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Most bytes read from a file or kept of a command's output.
MAX_BYTES = 5_000_000


class TextSource(BaseModel):
    """Where one piece of text evidence comes from: ``file`` or ``command`` (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    file: Path | None = Field(None, description="a file holding the evidence (relative to the params file)")
    command: list[str] | str | None = Field(
        None, description="a command printing the evidence: argv list (no shell), or a string for /bin/sh -c"
    )
    cwd: Path | None = Field(None, description="working directory of the command")
    timeout: float = Field(60.0, gt=0, le=3600, description="seconds before the command's process group is killed")

    @model_validator(mode="after")
    def _one_source(self) -> TextSource:
        if (self.file is None) == (self.command is None):
            raise ValueError("give exactly one of 'file' or 'command'")
        return self


@dataclass(frozen=True)
class SourceText:
    """The text read (empty when it could not be had), where it came from, and what went wrong."""

    text: str
    label: str
    problem: str = ""
    truncated: bool = False


def read_source(source: TextSource, max_bytes: int = MAX_BYTES) -> SourceText:
    """Read a file or run a command; any failure is a ``problem`` sentence, never an exception."""
    if source.file is not None:
        path = Path(source.file)
        label = path.name
        try:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except FileNotFoundError:
            return SourceText("", label, f"{path.name} does not exist")
        except IsADirectoryError:
            return SourceText("", label, f"{path.name} is a directory, not a file")
        except PermissionError:
            return SourceText("", label, f"{path.name} cannot be read (permission denied)")
        except OSError as exc:
            return SourceText("", label, f"{path.name} cannot be read ({exc.strerror or 'input/output error'})")
        return SourceText(data[:max_bytes].decode("utf-8", "replace"), label, truncated=len(data) > max_bytes)
    from harden_lib.checks.commands import CommandSpec, run_command

    assert source.command is not None
    spec = CommandSpec(name="evidence", run=source.command, cwd=source.cwd, timeout=source.timeout)
    result = run_command(spec, max_bytes=max_bytes)
    label = f"command `{result.command[:120]}`"
    if result.start_error:
        return SourceText("", label, result.start_error)
    if result.timed_out:
        return SourceText(result.output, label, f"the command did not finish within {source.timeout:g}s")
    if result.exit_code != 0:
        return SourceText(result.output, label, f"the command exited with code {result.exit_code}")
    return SourceText(result.output, label, truncated=result.truncated)
