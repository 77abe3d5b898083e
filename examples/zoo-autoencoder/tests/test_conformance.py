"""The zoo's conformance kit over everything this plugin registers (`pytest` in this folder): the
same checks the zoo runs over its own plugins, chosen by what each model can do."""

from zoo.testing import parametrize_with_checks


@parametrize_with_checks(plugin="autoencoder")  # the entry-point name in pyproject.toml
def test_zoo_conformance(check, tmp_path):
    check(tmp_path)
