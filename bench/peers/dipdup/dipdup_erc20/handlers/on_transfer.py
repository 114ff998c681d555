from dipdup.context import HandlerContext
from dipdup.models.evm import EvmEvent
from dipdup_erc20 import models
from dipdup_erc20.types.erc20.evm_events.transfer import TransferPayload


async def on_transfer(
    ctx: HandlerContext,
    event: EvmEvent[TransferPayload],
) -> None:
    await models.Transfer.create(
        id=f"{event.data.level}-{event.data.log_index}",
        from_=event.payload.from_,
        to=event.payload.to,
        value=event.payload.value,
        block_number=event.data.level,
        log_index=event.data.log_index,
        tx_hash=event.data.transaction_hash,
    )
