"""LXD over https, for real: this host's LXD listening on 127.0.0.1 is the remote (fixture lxd_remote),
reached with client certificates made by openssl. Trust is given with the trust password or a join
token and checked in LXD's trust store (`lxc config trust list`); what must fail fails with a message
that says what to do, and adds nothing to the trust store."""

from __future__ import annotations

import base64
import json

from conftest import run_module
from lib.lxd import cert_fingerprint

MODULES = ["lxd_info"]  # every LXD module on main when this was written that reads without arguments


def info(remote, **args):
    return run_module("lxd_info", url=remote.url, gather=["profiles"], **args)


def ok(result):
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["server"]["auth"] == "trusted", result
    assert "default" in [p["name"] for p in result["profiles"]], result
    return result


def failed(result, *words):
    assert result.get("failed") is True, result
    assert result["changed"] is False and not result.get("actions"), result
    for word in words:
        assert word in result["msg"], (word, result["msg"])
    assert "\n" not in result["msg"].strip()
    return result["msg"]


def test_untrusted_certificate_without_a_secret_says_what_to_do(lxd_remote):
    client = lxd_remote.client("untrusted")
    msg = failed(info(lxd_remote, server_cert=lxd_remote.server_cert, **client),
                 "does not trust the client certificate", client["client_cert"], "trust_password", "trust_token",
                 "lxc config trust add")
    assert lxd_remote.url in msg
    assert not set(lxd_remote.trusted()) & lxd_remote.fingerprints


def test_trust_password_adds_the_certificate_once(lxd_remote):
    lxd_remote.password("vct-right-password")
    wrong = lxd_remote.client("wrongpw")
    failed(info(lxd_remote, server_cert=lxd_remote.server_cert, trust_password="vct-wrong-password", **wrong),
           "refused the trust_password", "core.trust_password")
    assert cert_fingerprint(wrong["client_cert"]) not in lxd_remote.trusted(), "a refused password added it"

    client = lxd_remote.client("pw")
    first = ok(info(lxd_remote, server_cert=lxd_remote.server_cert, trust_password="vct-right-password", **client))
    assert first["server"]["certificate_fingerprint"] == lxd_remote.server_fingerprint
    trusted = lxd_remote.trusted()
    assert trusted.get(cert_fingerprint(client["client_cert"])) == lxd_remote.prefix + "pw", trusted  # its CN
    # trusted now: the password is not needed again, and what it reads is what the local socket reads
    again = ok(info(lxd_remote, server_cert=lxd_remote.server_cert, **client))
    local = run_module("lxd_info", gather=["profiles"])
    assert again["profiles"] == local["profiles"]


def test_join_token_trusts_the_client_and_pins_the_server(lxd_remote):
    token = lxd_remote.token("tok")
    # LXD 5.0's token: base64 of JSON naming the client, the server's fingerprint and addresses, a secret
    data = json.loads(base64.b64decode(token))
    assert data["client_name"] == lxd_remote.prefix + "tok" and data["secret"]
    assert data["fingerprint"] == lxd_remote.server_fingerprint

    # a token that names another server's certificate: refused before the secret is sent
    forged = base64.b64encode(json.dumps(dict(data, fingerprint="ab" * 32)).encode()).decode()
    other = lxd_remote.client("forged")
    failed(info(lxd_remote, trust_token=forged, **other), "other than the fingerprint in trust_token")
    assert lxd_remote.prefix + "tok" in lxd_remote.tokens(), "the token was spent on the wrong server"

    failed(info(lxd_remote, trust_token="not-a-token", **other), "trust_token", "lxc config trust add")

    # LXD 5.0.2 has no explicit_trust_token extension: the client sends the token as the password.
    # No server_cert and validate_certs left true: the token's fingerprint pins the server
    client = lxd_remote.client("tokclient")
    ok(info(lxd_remote, trust_token=token, **client))
    assert lxd_remote.trusted().get(cert_fingerprint(client["client_cert"])) == lxd_remote.prefix + "tok"
    assert lxd_remote.prefix + "tok" not in lxd_remote.tokens(), "the token was not used up"
    ok(info(lxd_remote, server_cert=lxd_remote.server_cert, **client))  # trusted from now on

    # a token is good once
    late = lxd_remote.client("late")
    failed(info(lxd_remote, trust_token=token, **late), "refused the trust_token", "lxc config trust add")


def test_server_certificate_pinning_and_validation(lxd_remote):
    lxd_remote.password("vct-right-password")
    client = lxd_remote.client("pin")
    ok(info(lxd_remote, server_cert=lxd_remote.server_cert, trust_password="vct-right-password", **client))
    # the wrong certificate pinned: refused after the handshake, before any request
    msg = failed(info(lxd_remote, server_cert=client["client_cert"], **client),
                 "presented a certificate", "other than server_cert", lxd_remote.server_fingerprint)
    assert lxd_remote.url in msg
    # validate_certs without a pinned certificate: LXD's self-signed certificate cannot be verified
    failed(info(lxd_remote, **client), "cannot verify", "server_cert", "validate_certs")
    # validate_certs false: not checked at all
    ok(info(lxd_remote, validate_certs=False, **client))


def test_every_lxd_module_reaches_the_remote(lxd_remote):
    lxd_remote.password("vct-right-password")
    client = lxd_remote.client("all")
    for module in MODULES:
        result = run_module(module, url=lxd_remote.url, server_cert=lxd_remote.server_cert,
                            trust_password="vct-right-password", **client)
        assert result.get("failed") is not True, (module, result)
