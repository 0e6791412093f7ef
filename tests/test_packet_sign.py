"""The packet signature configured in the settings (``CERTFLOW_SIGN_*``, keyed by the rest of the name)."""

from __future__ import annotations

import pytest

from certflow.packet import PacketError, SignerConfig, signer_from_settings
from certflow.settings import Settings
from test_packet_render import keypair  # noqa: F401


def signer_from_env(environ):
    """The way a deployment configures it: the environment, read once into the settings."""
    return signer_from_settings(Settings.from_env(environ).signing)


def test_no_variables_means_no_signature():
    assert signer_from_env({}) is None
    assert signer_from_settings({"KEY": " ", "CERT": ""}) is None


def test_relative_paths_are_made_absolute(keypair, monkeypatch):
    key, cert = keypair
    monkeypatch.chdir(key.parent)
    config = signer_from_settings({"KEY": key.name, "CERT": cert.name})
    assert (config.key_path, config.cert_path) == (key, cert)


def test_key_and_certificate_with_name_location_and_passphrase_file(keypair, tmp_path):
    key, cert = keypair
    secret = tmp_path / "kennwort"
    secret.write_text("geheim\n")
    with pytest.raises(PacketError, match="nicht lesbar"):  # the key is not encrypted: a passphrase is wrong
        signer_from_env({"CERTFLOW_SIGN_KEY": str(key), "CERTFLOW_SIGN_CERT": str(cert),
                         "CERTFLOW_SIGN_PASSPHRASE_FILE": str(secret)})
    config = signer_from_env({"CERTFLOW_SIGN_KEY": str(key), "CERTFLOW_SIGN_CERT": str(cert),
                              "CERTFLOW_SIGN_NAME": "Zertifizierungsstelle", "CERTFLOW_SIGN_LOCATION": "Köln"})
    assert config == SignerConfig(key_path=key, cert_path=cert, name="Zertifizierungsstelle", location="Köln")


@pytest.mark.parametrize(("env", "message"), [
    ({"CERTFLOW_SIGN_KEY": "/nirgends/key.pem"}, "CERTFLOW_SIGN_KEY=/nirgends/key.pem: Datei nicht gefunden"),
    ({"CERTFLOW_SIGN_KEY": "KEY"}, "CERTFLOW_SIGN_CERT fehlt"),
    ({"CERTFLOW_SIGN_CERT": "CERT"}, "CERTFLOW_SIGN_KEY fehlt"),
    ({"CERTFLOW_SIGN_PKCS12": "KEY", "CERTFLOW_SIGN_CERT": "CERT"}, "entweder CERTFLOW_SIGN_KEY"),
])
def test_unusable_settings_name_the_variable(keypair, env, message):
    key, cert = keypair
    env = {name: value.replace("KEY", str(key)).replace("CERT", str(cert)) for name, value in env.items()}
    with pytest.raises(PacketError, match=message):
        signer_from_env(env)
