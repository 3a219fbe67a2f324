"""The development issuer's container: its build context under ``deploy/issuer/``.

With ``auth.provider: dev``, ``msgen compose generate`` writes a Dockerfile, its
requirements and copies of the few msgen modules that ``python -m msgen.issuer`` needs
(:data:`msgen.issuer.STANDALONE_MODULES`: not the whole package, not the templates), so
Compose runs the very issuer that ``msgen dev up`` runs, on pyjwt[crypto] alone.

The modules are read from the msgen that generates (its own package files, not the
workspace), so the image follows an upgrade of msgen at the next ``compose generate``.
"""

from __future__ import annotations

from importlib import resources

from msgen.manifests.common import GeneratedFile, text_file

__all__ = [
    "CONTAINER_ROOT",
    "IMAGE_UID",
    "ISSUER_CONTEXT_DIR",
    "REQUIREMENTS",
    "context_files",
    "dockerfile",
]

ISSUER_CONTEXT_DIR = "deploy/issuer"
CONTAINER_ROOT = "/workspace"
"""``--root`` in the container: the keys are mounted on ``/workspace/.msgen/issuer``."""
IMAGE_UID = 10001
IMAGE_USER = f"{IMAGE_UID}:{IMAGE_UID}"
"""The image's own user; Compose runs it as the owner of the keys instead (never root)."""
REQUIREMENTS = (
    "pyjwt[crypto]>=2.13,<3",
    "cryptography>=42,<51",
)
"""What ``msgen.issuer`` imports besides the standard library, in compatible ranges."""
_APP_DIR = "/opt/issuer"


def dockerfile(base_image: str, index_url: str) -> str:
    """The Dockerfile: a slim Python, a virtualenv with :data:`REQUIREMENTS`, non-root."""
    return f"""\
# msgen's development OpenID issuer (python -m msgen.issuer), for docker-compose.yml only:
# never deploy it (docs/auth.md). Its keys are mounted read-only from .msgen/issuer/.

# The same base image as the services' (BASE_IMAGE in .env).
ARG BASE_IMAGE={base_image}
FROM ${{BASE_IMAGE}}

ENV PATH="/opt/venv/bin:${{PATH}}" \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PYTHONPATH={_APP_DIR}

# The package index (or a mirror of it), as for the services.
ARG PIP_INDEX_URL={index_url}

COPY requirements.txt {_APP_DIR}/requirements.txt
RUN python -m venv /opt/venv \\
    && pip install --no-cache-dir --requirement {_APP_DIR}/requirements.txt
# Only the msgen modules the issuer imports (see requirements.txt for the rest).
COPY msgen/ {_APP_DIR}/msgen/

WORKDIR {CONTAINER_ROOT}
# docker-compose.yml runs it as the owner of the keys (ISSUER_UID:ISSUER_GID in .env).
USER {IMAGE_USER}

ENTRYPOINT ["python", "-m", "msgen.issuer"]
CMD ["--root", "{CONTAINER_ROOT}", "--host", "0.0.0.0", "--read-only"]
"""


def _requirements() -> str:
    return "".join(f"{line}\n" for line in REQUIREMENTS)


def _module(name: str) -> str:
    return resources.files("msgen").joinpath(name).read_text(encoding="utf-8")


def context_files(base_image: str, index_url: str, *, regenerate: str) -> list[GeneratedFile]:
    """The build context: Dockerfile, requirements.txt and ``msgen/<module>`` copies."""
    from msgen.issuer import STANDALONE_MODULES

    base = ISSUER_CONTEXT_DIR
    files = [
        text_file(f"{base}/Dockerfile", dockerfile(base_image, index_url), regenerate=regenerate),
        text_file(f"{base}/requirements.txt", _requirements(), regenerate=regenerate),
    ]
    files += [
        text_file(f"{base}/msgen/{name}", _module(name), regenerate=regenerate)
        for name in STANDALONE_MODULES
    ]
    return files
