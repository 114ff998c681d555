# pragma version ~=0.4.3
"""
@title LogEmitter (tests only)
@notice Emits any log its caller asks for: hostile event content for the indexer's tests (also
        run, through anvil_setCode, at a deployed contract's address).
"""


@external
def emit1(t0: bytes32, data: Bytes[262144]):
    raw_log([t0], data)


@external
def emit2(t0: bytes32, t1: bytes32, data: Bytes[262144]):
    raw_log([t0, t1], data)


@external
def emit3(t0: bytes32, t1: bytes32, t2: bytes32, data: Bytes[262144]):
    raw_log([t0, t1, t2], data)
