"""Validate deploy/k8s against the Kubernetes JSON schemas, offline.

kubernetes-validate ships the schemas of each Kubernetes minor version inside its
package, so no schema is downloaded. Validation is strict: a field that the schema does
not define fails, which catches misspelled or misplaced fields. Each manifest is checked
against 1.27, the first version in which CronJob's `timeZone` is stable, and against the
newest version the installed package ships.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

K8S_DIR = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
IMAGE_NAME = "ghcr.io/durban-valuations/durban-valuations"
SECRET_EXAMPLE = K8S_DIR / "secret.example.yaml"

OLDEST_SUPPORTED_VERSION = "1.27"
NEWEST_SHIPPED_VERSION = ".".join(kubernetes_validate.latest_version().split(".")[:2])
VERSIONS = sorted({OLDEST_SUPPORTED_VERSION, NEWEST_SHIPPED_VERSION})

KUSTOMIZATION_FILES = sorted(K8S_DIR.rglob("kustomization.yaml"))
MANIFEST_FILES = sorted(set(K8S_DIR.rglob("*.yaml")) - set(KUSTOMIZATION_FILES))


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        return [document for document in yaml.safe_load_all(stream) if document]


def _validate(manifest: dict[str, Any], version: str) -> None:
    """Validate `manifest` strictly against `version`, failing with the field's path."""
    name = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
    try:
        validated = kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        pytest.fail(f"{name} is invalid for Kubernetes {version} at {path}: {error.message}")
    except kubernetes_validate.SchemaNotFoundError as error:
        pytest.fail(f"{name}: {error.message}")
    # The package falls back to an older schema for a version it lacks, so check that it
    # used the requested one.
    assert validated == version, f"{name} was validated against {validated}, not {version}"


def _relative(path: Path) -> str:
    return str(path.relative_to(K8S_DIR))


def test_manifest_files_found() -> None:
    names = {_relative(path) for path in MANIFEST_FILES}
    assert "scrape-cronjob.yaml" in names
    assert "api-deployment.yaml" in names
    assert "secret.example.yaml" in names
    assert "components/celery-worker/worker-deployment.yaml" in names


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFEST_FILES, ids=_relative)
def test_manifest_file_matches_schema(path: Path, version: str) -> None:
    documents = _read(path)
    assert documents, f"{path} contains no YAML document"
    for manifest in documents:
        _validate(manifest, version)


def test_validator_rejects_misspelled_field() -> None:
    (cronjob,) = _read(K8S_DIR / "scrape-cronjob.yaml")
    broken = copy.deepcopy(cronjob)
    broken["spec"]["concurrencyPolicyy"] = broken["spec"].pop("concurrencyPolicy")
    with pytest.raises(kubernetes_validate.ValidationError, match="concurrencyPolicyy"):
        kubernetes_validate.validate(broken, OLDEST_SUPPORTED_VERSION, strict=True)


def test_validator_rejects_wrong_type() -> None:
    (hpa,) = _read(K8S_DIR / "api-hpa.yaml")
    broken = copy.deepcopy(hpa)
    broken["spec"]["maxReplicas"] = "six"
    with pytest.raises(kubernetes_validate.ValidationError, match="six"):
        kubernetes_validate.validate(broken, OLDEST_SUPPORTED_VERSION, strict=True)


def test_every_manifest_file_is_listed() -> None:
    listed: set[Path] = set()
    for kustomization_path in KUSTOMIZATION_FILES:
        (kustomization,) = _read(kustomization_path)
        for entry in kustomization.get("resources", []) + kustomization.get("components", []):
            target = (kustomization_path.parent / entry).resolve()
            assert target.exists(), f"{kustomization_path} lists {entry}, which does not exist"
            listed.add(target)
    unlisted = {path.resolve() for path in MANIFEST_FILES} - listed
    # The example Secret alone stays out, so that applying the kustomization never
    # overwrites the real Secret with placeholders.
    assert unlisted == {SECRET_EXAMPLE.resolve()}


def test_kustomizations_render(
    kubectl_kustomize: Callable[[Path], list[dict[str, Any]]],
    overlay_factory: Callable[[dict[str, Any]], Path],
) -> None:
    base = kubectl_kustomize(K8S_DIR)
    with_worker = kubectl_kustomize(overlay_factory({}))
    assert len(with_worker) == len(base) + 1


@pytest.mark.parametrize("version", VERSIONS)
def test_rendered_output_matches_schema(
    version: str,
    kubectl_kustomize: Callable[[Path], list[dict[str, Any]]],
    overlay_factory: Callable[[dict[str, Any]], Path],
) -> None:
    for manifest in kubectl_kustomize(overlay_factory({})):
        _validate(manifest, version)


def test_files_source_matches_kustomize(
    files_manifests: list[dict[str, Any]],
    kubectl_kustomize: Callable[[Path], list[dict[str, Any]]],
    overlay_factory: Callable[[dict[str, Any]], Path],
) -> None:
    def by_kind_and_name(manifest: dict[str, Any]) -> tuple[str, str]:
        return manifest["kind"], manifest["metadata"]["name"]

    rendered = sorted(kubectl_kustomize(overlay_factory({})), key=by_kind_and_name)
    loaded = sorted(files_manifests, key=by_kind_and_name)
    assert [by_kind_and_name(manifest) for manifest in loaded] == [
        by_kind_and_name(manifest) for manifest in rendered
    ]
    for loaded_manifest, rendered_manifest in zip(loaded, rendered, strict=True):
        assert loaded_manifest == rendered_manifest, by_kind_and_name(loaded_manifest)


def _images(node: object) -> list[str]:
    if isinstance(node, list):
        return [image for item in node for image in _images(item)]
    if isinstance(node, dict):
        found = [value for key, value in node.items() if key == "image"]
        return found + [image for value in node.values() for image in _images(value)]
    return []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"name": IMAGE_NAME, "newTag": "1.4.2"}, f"{IMAGE_NAME}:1.4.2"),
        (
            {"name": IMAGE_NAME, "newName": "registry.example.org/valuations", "newTag": "7"},
            "registry.example.org/valuations:7",
        ),
        (
            {"name": IMAGE_NAME, "digest": "sha256:" + "ab" * 32},
            f"{IMAGE_NAME}@sha256:{'ab' * 32}",
        ),
    ],
    ids=["tag", "name-and-tag", "digest"],
)
def test_image_override_reaches_every_container(
    override: dict[str, str],
    expected: str,
    kubectl_kustomize: Callable[[Path], list[dict[str, Any]]],
    overlay_factory: Callable[[dict[str, Any]], Path],
) -> None:
    rendered = kubectl_kustomize(overlay_factory({"images": [override]}))
    images = _images(rendered)
    # api and migrate, scrape and migrate, worker
    assert len(images) == 5
    assert set(images) == {expected}
