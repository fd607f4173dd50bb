"""The unified social credit code of a Chinese organisation (GB 32100-2015).

18 characters from 0-9 and the upper-case letters except I, O, Z, S, V:
registration authority (1), organisation type (1), administrative division
(6 digits), organisation code (9), and a check character computed from the
first 17 with weights 3^i mod 31. The caller page runs the same algorithm
(client_web/uscc.js) so a typing mistake is caught before calling.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    return "".join(code.split()).upper()


def is_valid(code: str) -> bool:
    code = normalise(code)
    if len(code) != 18 or any(ch not in ALPHABET for ch in code):
        return False
    if not code[2:8].isdigit():  # administrative division code
        return False
    return check_character(code[:17]) == code[17]
