"""The issuer's keys: the certificate hierarchy, the key directory, PEM and PKCS#11 signers, the trust list."""
