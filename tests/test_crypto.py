"""Stored tokens are encrypted and authenticated; signed values cannot be forged."""

import pytest

from mattermost_zoom.crypto import (
    DecryptionError,
    Keyring,
    SignatureError,
    Signer,
    TokenCipher,
    constant_time_in,
)

OLD = "o" * 32
NEW = "n" * 32


def test_encrypted_token_is_not_the_token_and_round_trips() -> None:
    cipher = TokenCipher([NEW])
    sealed = cipher.encrypt("zoom-access-token")
    assert "zoom-access-token" not in sealed
    assert cipher.decrypt(sealed) == "zoom-access-token"


def test_tampered_ciphertext_is_rejected() -> None:
    cipher = TokenCipher([NEW])
    sealed = cipher.encrypt("zoom-access-token")
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    with pytest.raises(DecryptionError):
        cipher.decrypt(flipped)


def test_rotation_keeps_old_values_readable_and_rewrites_them_under_the_new_key() -> None:
    old_sealed = TokenCipher([OLD]).encrypt("secret")
    both = TokenCipher([NEW, OLD])
    assert both.decrypt(old_sealed) == "secret"
    rotated = both.rotate(old_sealed)
    assert TokenCipher([NEW]).decrypt(rotated) == "secret"
    with pytest.raises(DecryptionError):
        TokenCipher([OLD]).decrypt(rotated)


def test_signature_keys_are_separate_per_purpose() -> None:
    keys = Keyring([NEW])
    signed = keys.connect_links.sign({"u": "user"})
    with pytest.raises(SignatureError):
        keys.post_actions.verify(signed, 60)
    assert keys.connect_links.verify(signed, 60) == {"u": "user"}


def test_signed_value_from_another_deployment_is_rejected() -> None:
    signed = Signer([OLD], "p").sign({"u": "user"})
    with pytest.raises(SignatureError):
        Signer([NEW], "p").verify(signed, 60)
    assert Signer([NEW, OLD], "p").verify(signed, 60) == {"u": "user"}


def test_constant_time_membership() -> None:
    assert constant_time_in("b", ["a", "b"])
    assert not constant_time_in("c", ["a", "b"])
    assert not constant_time_in("", ["a"])
