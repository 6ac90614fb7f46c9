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


def fink_python_package(
    package, dist, description, console_script=None, entry_point=None, data=(), service=False, image=None,
    dependencies=(),
):
    """The targets of one of our Python packages, in its `src/` BUILD file: its sources and data files,
    the wheel (`:dist`, versioned from `<package>/VERSION`) and, for a service, a PEX (`:bin`) and a
    console script, both running `entry_point` (default `<package>.__main__:main`).

    `image="spark"` adds `:image`, the Docker image `fink/<name>:<VERSION>`: FROM the shared Spark runtime
    image (third-party deps in a venv + the Spark jars), plus `:image-bin`, a PEX of our own code only.
    `image="python"` adds an image FROM the plain runtime layer with the full `:bin` PEX in it."""
    here = str(build_file_dir())
    resources(name="data", sources=[f"{package}/VERSION", *data])
    # `dependencies`: what inference cannot see (a distribution read as data, never imported)
    python_sources(name="lib", sources=[f"{package}/**/*.py"], dependencies=[":data", *dependencies])
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
    if image:
        _fink_image(package, here, read_version(f"{here}/{package}/VERSION"), entry_point, image)


def _fink_image(package, here, version, entry_point, kind):
    """`:image` for a package (see fink_python_package). The image logs JSON to stdout, runs as `fink`,
    and its HEALTHCHECK reads the heartbeat file that fink_common.entrypoint touches every second."""
    name = package[len("fink_"):] if package.startswith("fink_") else package
    context_dir = here.replace("/", ".")
    if kind == "spark":
        pex_binary(
            name="image-bin",
            entry_point=entry_point,
            dependencies=[":lib"],
            include_requirements=False,  # the deps live in the Spark runtime image's venv
            inherit_path="fallback",
        )
        base, pex, python = "deploy/docker/spark:image", "image-bin.pex", "/opt/fink/venv/bin/python"
    elif kind == "python":
        base, pex, python = "deploy/docker/runtime:image", "bin.pex", "python3"
    else:
        raise ValueError(f"image must be 'spark' or 'python', not {kind!r}")
    health = "/tmp/fink/health"
    check = (
        "import os,sys,time; p=os.environ['FINK_HEALTH_FILE']; "
        "sys.exit(0 if os.path.exists(p) and time.time()-os.path.getmtime(p) < 30 else 1)"
    )
    docker_image(
        name="image",
        repository=f"fink/{name}",
        image_tags=[version, "latest"],  # compose uses latest unless a FINK_<STAGE>_TAG pins a release
        instructions=[
            f"ARG BASE_IMAGE={base}",
            "FROM $BASE_IMAGE",
            f"COPY --chown=fink:fink {context_dir}/{pex} /opt/fink/{name}.pex",
            f"ENV FINK_HEALTH_FILE={health} FINK_IMAGE=fink/{name}:{version}",
            f"LABEL org.opencontainers.image.title=fink-{name} org.opencontainers.image.version={version}",
            "USER fink",
            f'HEALTHCHECK --interval=10s --timeout=5s --start-period=180s --retries=3 CMD ["{python}", "-c", "{check}"]',
            f'ENTRYPOINT ["tini", "--", "{python}", "/opt/fink/{name}.pex"]',
        ],
    )
