"""The domain stays pure: import-linter checks the contracts in pyproject.toml."""

import shutil
import subprocess

from conftest import ROOT


def test_import_contracts_hold():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extra: pip install '.[test]'"
    result = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_no_module_imports_itself_in_a_circle():
    """No import cycle in certflow (type-checking and function-level imports count too): the layers
    depend one way, the repositories on :class:`~certflow.db.repositories.base.Transaction`, not on the
    unit of work that builds them."""
    import grimp

    graph = grimp.build_graph("certflow")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(importer=imported, imported=module):
                cycles.append((module, imported))
    assert cycles == []


def test_shipped_files_are_found():
    from certflow.resources import default_catalogue, examples_dir, shipped_catalogues

    assert default_catalogue().is_file()
    assert {p.name for p in shipped_catalogues()} >= {"familienzentrum-nrw-2020.yaml", "familienzentrum-nrw-2010.yaml"}
    assert (examples_dir() / "assessment-pass.yaml").is_file()
