"""Certificates for TLS tests, made with the openssl CLI: a CA, a server certificate for 127.0.0.1
(IP SAN), a client certificate signed by the CA, and a second CA with a client certificate of its
own, which a daemon trusting the first CA refuses. EC P-256 keys: made in milliseconds."""

from __future__ import annotations

import os
import subprocess


def _openssl(*argv, cwd):
    subprocess.run(["openssl", *argv], cwd=cwd, check=True, capture_output=True, timeout=60)


def _key_and_request(name, subject, cwd):
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + "-key.pem",
             "-out", name + ".csr", "-subj", subject, cwd=cwd)


def _sign(name, ca, extensions, cwd):
    with open(os.path.join(cwd, name + ".ext"), "w") as handle:
        handle.write(extensions)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + "-key.pem", "-CAcreateserial",
             "-days", "2", "-out", name + ".pem", "-extfile", name + ".ext", cwd=cwd)


def make_certs(directory):
    """Write the certificates into `directory`; return their paths: ca, server_cert, server_key,
    client_cert, client_key, other_ca, other_client_cert, other_client_key."""
    os.makedirs(directory, exist_ok=True)
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", ca + "-key.pem", "-out", ca + ".pem", "-days", "2", "-subj", "/CN=vct-test-" + ca,
                 cwd=directory)
    _key_and_request("server", "/CN=127.0.0.1", directory)
    _sign("server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", directory)
    for client, ca in (("client", "ca"), ("other-client", "other-ca")):
        _key_and_request(client, "/CN=vct-" + client, directory)
        _sign(client, ca, "extendedKeyUsage=clientAuth\n", directory)

    def path(name):
        return os.path.join(directory, name)

    return {"ca": path("ca.pem"), "server_cert": path("server.pem"), "server_key": path("server-key.pem"),
            "client_cert": path("client.pem"), "client_key": path("client-key.pem"), "other_ca": path("other-ca.pem"),
            "other_client_cert": path("other-client.pem"), "other_client_key": path("other-client-key.pem")}


def cert_dir(certs, directory):
    """A DOCKER_CERT_PATH directory (ca.pem, cert.pem, key.pem) made of `certs`' CA and client files."""
    os.makedirs(directory, exist_ok=True)
    for source, name in (("ca", "ca.pem"), ("client_cert", "cert.pem"), ("client_key", "key.pem")):
        with open(certs[source], "rb") as src, open(os.path.join(directory, name), "wb") as dst:
            dst.write(src.read())
    return directory
