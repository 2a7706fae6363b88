"""torus-hw: torus embeddings taken down to integer search on real ISAs and RTL.

Pipeline: model (``torus_hw``) → codes (``torus_hw.codes``) → kernels
(``isa``) → execution and cost (``sim``), with the RTL unit in ``rtl`` and
the NumPy reference (``torus_hw.reference``) beside it all.
"""

from .errors import TorusInputError

__version__ = "0.1.0"
__all__ = ["TorusInputError", "__version__"]
