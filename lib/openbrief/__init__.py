"""openbrief: weekly policy briefs on open-weight AI adoption, from Hub data to PDF."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("openbrief")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"
