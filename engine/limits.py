"""Limits every layer shares, in a module that imports nothing (the light command-line paths read it)."""

#: The most pixels an image may have, anywhere: on the way in, in a project file, as an engine result.
MAX_IMAGE_PIXELS = 16384 * 16384

#: Consistency score at or above which a face counts as the reference's identity (distance <= 0.5).
IDENTITY_THRESHOLD = 0.5
