"""Signed coefficient bundles: the archive, manifest, signatures, trust store, verification."""
