"""A set of catalog row ids as a bitmap: what a run has seen, in a few bytes per thousand rows.

A listing run must remember every item it saw until finalize (instead of stamping each row). Item
ids are the catalog's own small autoincrement integers, so one bit per possible id is far smaller
than a Python set of ints (about 70 bytes per member): a 110,000-item catalog needs ~14 KB.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["IdSet", "KeySet"]


class IdSet:
    """Non-negative integer ids; grows to the largest id added."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._bits = bytearray()
        self._count = 0
        self.update(ids)

    def add(self, item_id: int) -> None:
        if item_id < 0:
            raise ValueError("ids are non-negative")
        byte, bit = divmod(item_id, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits) // 2)))
        mask = 1 << bit
        if not self._bits[byte] & mask:
            self._bits[byte] |= mask
            self._count += 1

    def update(self, ids: Iterable[int]) -> None:
        for item_id in ids:
            self.add(item_id)

    def discard(self, item_id: int) -> None:
        byte, bit = divmod(item_id, 8)
        mask = 1 << bit
        if 0 <= byte < len(self._bits) and self._bits[byte] & mask:
            self._bits[byte] &= ~mask & 0xFF
            self._count -= 1

    def __contains__(self, item_id: object) -> bool:
        if not isinstance(item_id, int) or item_id < 0:
            return False
        byte, bit = divmod(item_id, 8)
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << bit))

    def __len__(self) -> int:
        return self._count


class KeySet:
    """Rating keys, held as compactly as `IdSet` holds ids: the keys a first sync has listed.

    Plex rating keys are decimal numbers in practice, so those (written without a leading zero,
    below 2**27: a bitmap of at most 16 MB) are bits; any other key is kept as a string, so the set
    holds exactly the keys added whatever Plex sends.
    """

    BOUND = 1 << 27

    def __init__(self) -> None:
        self._numbers = IdSet()
        self._others: set[str] = set()

    @classmethod
    def _number(cls, key: str) -> int | None:
        if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") and len(key) < 10:
            number = int(key)
            if number < cls.BOUND:
                return number
        return None

    def add(self, key: str) -> None:
        number = self._number(key)
        if number is None:
            self._others.add(key)
        else:
            self._numbers.add(number)

    def update(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.add(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        number = self._number(key)
        return key in self._others if number is None else number in self._numbers

    def __len__(self) -> int:
        return len(self._numbers) + len(self._others)
