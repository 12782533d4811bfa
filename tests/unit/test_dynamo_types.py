"""dal.dynamo's typed()/plain(): exactly boto3's TypeSerializer/TypeDeserializer, only faster."""

from decimal import Decimal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from authlayer.dal import dynamo

SCALARS = st.one_of(
    st.text(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.binary(),
    st.booleans(),
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, max_value=10**6, min_value=-(10**6)),
    st.sets(st.text(min_size=1), min_size=1, max_size=3),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=3))


class _Bytes(TypeDeserializer):  # the layer's choice: B as plain bytes
    def _deserialize_b(self, value):
        return bytes(value)


def outcome(function, value):
    try:
        return ("ok", function(value))
    except Exception as error:  # noqa: BLE001 - the exception type is what is compared
        return ("error", type(error))


def same(a, b):
    """Equal, and of the same types all the way down (Decimal stays Decimal, bytes stay bytes)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=300)
@given(VALUES)
def test_typed_is_boto3s_serializer(value):
    assert same(outcome(dynamo.typed, value), outcome(TypeSerializer().serialize, value))


@settings(max_examples=300)
@given(VALUES)
def test_plain_is_boto3s_deserializer_for_what_dynamodb_sends_back(value):
    serialized = outcome(TypeSerializer().serialize, value)
    if serialized[0] == "ok":
        assert same(dynamo.plain(serialized[1]), _Bytes().deserialize(serialized[1]))


def test_numbers_come_back_as_decimal_and_bytes_as_bytes():
    item = dynamo.to_item({"n": 1764000000, "b": b"\x00\x01", "l": [b"x", 2], "s": "é", "t": True, "gone": None})
    assert item == {"n": {"N": "1764000000"}, "b": {"B": b"\x00\x01"}, "l": {"L": [{"B": b"x"}, {"N": "2"}]},
                    "s": {"S": "é"}, "t": {"BOOL": True}}
    back = dynamo.from_item(item)
    assert back == {"n": Decimal(1764000000), "b": b"\x00\x01", "l": [b"x", Decimal(2)], "s": "é", "t": True}
    assert type(back["n"]) is Decimal and type(back["b"]) is bytes
