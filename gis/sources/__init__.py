"""Getting source files: from a local directory, an HTTP mirror, or the official URLs.

A mirror and an official download go through the same code (:func:`gis.sources.fetch.download`:
cached, resumable, atomic, hash-checked, one progress bar per file); a local directory is read
in place. :class:`Resolver` hides which of the three is in use from the layer builders.
"""

from gis.sources.resolve import Fetched, Resolver

__all__ = ["Fetched", "Resolver"]
