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


def fink_python_package(package, dist, description, console_script=None, entry_point=None, data=(), service=False):
    """The targets of one of our Python packages, in its `src/` BUILD file: its sources and data files,
    the wheel (`:dist`, versioned from `<package>/VERSION`) and, for a service, a PEX (`:bin`) and a
    console script, both running `entry_point` (default `<package>.__main__:main`)."""
    here = build_file_dir()
    resources(name="data", sources=[f"{package}/VERSION", *data])
    python_sources(name="lib", sources=[f"{package}/**/*.py"], dependencies=[":data"])
    entry_point = entry_point or f"{package}.__main__:main"
    if service:
        pex_binary(name="bin", entry_point=entry_point, dependencies=[":lib"])
    python_distribution(
        name="dist",
        dependencies=[":lib", ":data"],
        provides=python_artifact(
            name=dist,
            version=read_version(f"{here}/{package}/VERSION"),
            description=description,
            python_requires="==3.11.*",
        ),
        entry_points={"console_scripts": {console_script: entry_point}} if console_script else {},
        generate_setup=True,
    )
