# pragma version ~=0.4.3
"""
@title ReentrantAttacker (test only, never deployed)
@notice A hostile account: it bids / sells / earns through `execute`, and when
        paid (ETH via `__default__`, or a token hook `on_token_received`) it
        tries once to re-enter `target` with `reenter_data`. It records whether
        the re-entry succeeded. With `reject_payments` it reverts every ETH
        payment, like a bidder trying to block being outbid.
"""

target: public(address)
reenter_data: public(Bytes[256])
reject_payments: public(bool)
reenter_attempts: public(uint256)
reenter_successes: public(uint256)
received: public(uint256)


@deploy
def __init__(target_: address):
    self.target = target_


@external
def configure(reenter_data_: Bytes[256], reject_payments_: bool):
    self.reenter_data = reenter_data_
    self.reject_payments = reject_payments_
    self.reenter_attempts = 0
    self.reenter_successes = 0


@external
@payable
def execute(data: Bytes[512], amount: uint256):
    """
    @notice Call `target` with `data` and `amount` wei (reverts if it reverts).
    """
    raw_call(self.target, data, value=amount)


@internal
def _reenter():
    if len(self.reenter_data) != 0 and self.reenter_attempts == 0:
        self.reenter_attempts += 1
        ok: bool = raw_call(self.target, self.reenter_data, revert_on_failure=False)
        if ok:
            self.reenter_successes += 1


@external
@payable
def __default__():
    assert not self.reject_payments, "attacker: payment rejected"
    self.received += msg.value
    self._reenter()


@external
def on_token_received():
    self._reenter()
