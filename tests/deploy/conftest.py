"""Fixtures that load the Kubernetes manifests of deploy/k8s.

The objects come from two sources, and the tests that take `manifests` run on both:

- "files": the files that each kustomization.yaml lists, read here in Python, with the
  two transforms the kustomizations use (`namespace` and `images`) applied;
- "kustomize": the output of `kubectl kustomize`, which bundles kustomize. These cases
  are skipped when kubectl is not installed.

Both sources include the optional Celery worker component.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

Manifest = dict[str, Any]

K8S_DIR = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
WORKER_COMPONENT_DIR = K8S_DIR / "components" / "celery-worker"

# The kustomization fields that load_kustomization applies. A kustomization that uses
# another field is rejected, so that the "files" source never silently differs from
# kustomize's output.
_SUPPORTED_FIELDS = {"apiVersion", "kind", "namespace", "resources", "components", "images"}


def read_documents(path: Path) -> list[Manifest]:
    """Parse every non-empty YAML document of `path`."""
    with path.open(encoding="utf-8") as stream:
        documents = [document for document in yaml.safe_load_all(stream) if document]
    for document in documents:
        assert isinstance(document, dict), f"{path}: a document is not a mapping"
    return documents


def _split_image(image: str) -> tuple[str, str | None]:
    """Split `image` into its name and its tag or digest suffix (":tag" or "@sha256:...")."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, f"@{digest}"
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, None


def _apply_images(node: object, rules: list[dict[str, str]]) -> None:
    """Rewrite every `image` field below `node` by the rules of kustomize's `images`."""
    if isinstance(node, list):
        for item in node:
            _apply_images(item, rules)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "image" and isinstance(value, str):
            name, suffix = _split_image(value)
            for rule in rules:
                if rule["name"] != name:
                    continue
                new_name = rule.get("newName", name)
                if "digest" in rule:
                    suffix = f"@{rule['digest']}"
                elif "newTag" in rule:
                    suffix = f":{rule['newTag']}"
                node[key] = new_name + (suffix or "")
        else:
            _apply_images(value, rules)


def load_kustomization(directory: Path) -> list[Manifest]:
    """Read the objects that the kustomization (or component) in `directory` lists."""
    kustomization_path = directory / "kustomization.yaml"
    (kustomization,) = read_documents(kustomization_path)
    unsupported = sorted(set(kustomization) - _SUPPORTED_FIELDS)
    assert not unsupported, (
        f"{kustomization_path} uses {unsupported}, which load_kustomization does not "
        "apply; extend it so that the 'files' source still matches kustomize"
    )

    objects: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        objects += load_kustomization(path) if path.is_dir() else read_documents(path)
    for entry in kustomization.get("components", []):
        objects += load_kustomization(directory / entry)

    namespace = kustomization.get("namespace")
    if namespace:
        for manifest in objects:
            # kustomize renames a Namespace object to the kustomization's namespace.
            if manifest["kind"] == "Namespace":
                manifest["metadata"]["name"] = namespace
            else:
                manifest["metadata"]["namespace"] = namespace
    _apply_images(objects, kustomization.get("images", []))
    return objects


@pytest.fixture(scope="session")
def kubectl_kustomize() -> Callable[[Path], list[Manifest]]:
    """Return a function that renders a kustomization folder with `kubectl kustomize`."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed, so kustomize's own output is not checked")

    def render(directory: Path) -> list[Manifest]:
        completed = subprocess.run(
            [kubectl, "kustomize", str(directory)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert completed.returncode == 0, (
            f"kubectl kustomize {directory} failed with exit code {completed.returncode}: "
            f"{completed.stderr.strip()}"
        )
        return [document for document in yaml.safe_load_all(completed.stdout) if document]

    return render


@pytest.fixture(scope="session")
def overlay_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[dict[str, Any]], Path]:
    """Return a function that writes an overlay of the base and the worker component.

    The overlay lives in a temporary folder. kustomize accepts only relative paths to
    other kustomizations, so the paths to deploy/k8s are made relative to that folder.
    """

    def write(extra_fields: dict[str, Any]) -> Path:
        directory = tmp_path_factory.mktemp("overlay")
        kustomization: dict[str, Any] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(K8S_DIR, directory)],
            "components": [os.path.relpath(WORKER_COMPONENT_DIR, directory)],
            **extra_fields,
        }
        (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        return directory

    return write


@pytest.fixture
def files_manifests() -> list[Manifest]:
    """Every object of the base and the worker component, read by load_kustomization."""
    return load_kustomization(K8S_DIR) + load_kustomization(WORKER_COMPONENT_DIR)


@pytest.fixture(params=["files", "kustomize"])
def manifests(
    request: pytest.FixtureRequest,
    overlay_factory: Callable[[dict[str, Any]], Path],
) -> list[Manifest]:
    """Every object of the base and the worker component, from one of the two sources."""
    if request.param == "files":
        files_manifests: list[Manifest] = request.getfixturevalue("files_manifests")
        return files_manifests
    render: Callable[[Path], list[Manifest]] = request.getfixturevalue("kubectl_kustomize")
    return render(overlay_factory({}))
