"""电子印章: keys, certificates, seals, signing, verification, transparency log."""
