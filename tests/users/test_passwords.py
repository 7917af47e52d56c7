"""The password policy of Blend's 2025-11-17 changelog, and argon2id hashing."""

import pytest

from pestle.users.passwords import WeakPassword, check_policy, hash_password, verify_password


@pytest.mark.parametrize(
    "password", ["Abcdef!1", "aB$defgh", "all lower case twelve", "123456789012", "x" * 1024]
)
def test_accepted(password):
    check_policy(password)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab!1234", "A password needs at least 8 characters."),
        (
            "abcdefgh",
            "A password shorter than 12 characters needs an upper-case letter, "
            "a special character.",
        ),
        ("ABCDEFG!", "A password shorter than 12 characters needs a lower-case letter."),
        ("Abcdefgh1", "A password shorter than 12 characters needs a special character."),
        ("x" * 1025, "A password may have at most 1024 characters."),
    ],
)
def test_refused_with_the_rule_named(password, message):
    with pytest.raises(WeakPassword) as refused:
        check_policy(password)
    assert refused.value.message == message
    assert refused.value.status_code == 422


def test_hash_is_argon2id_and_verifies():
    hashed = hash_password("Correct-Horse-9")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Correct-Horse-9")
    assert not verify_password(hashed, "correct-horse-9")
    assert not verify_password(None, "Correct-Horse-9")
    assert not verify_password("not a hash", "Correct-Horse-9")
