# BUILD-file prelude: helpers available in every BUILD file.
# A package's version is written once, in the `VERSION` file inside its Python package. The BUILD file reads it
# here (for the wheel and the image tag), and the code reads it at run time (fink_common.version), so the same
# string reaches the wheel, the image tag and the output rows. pants.toml restarts pantsd when a VERSION changes.


def read_version(path):
    """Contents of a VERSION file, given relative to the build root."""
    with open(path) as fh:
        version = fh.read().strip()
    if not version:
        raise ValueError(f"empty version file: {path}")
    return version
