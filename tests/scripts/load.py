"""Import a script under scripts/ (their file names have hyphens) as a module, for its pure parts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
if str(SCRIPTS) not in sys.path:  # as when a script runs: its directory first, for what scripts share
    sys.path.insert(0, str(SCRIPTS))


def script(name: str) -> ModuleType:
    """scripts/<name>.py as a module, loaded once; registered first, as dataclasses need."""
    module_name = "script_" + name.replace("-", "_")
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None, name
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
