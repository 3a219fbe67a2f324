"""msgen: scaffold and operate production-shaped FastAPI microservice systems.

The public surface is small on purpose: the CLI is the product, and these names are what
scripts and tests may import. Everything else is private and may change.
"""

from msgen.__about__ import __version__
from msgen.errors import MsgenError

__all__ = ["MsgenError", "__version__"]
