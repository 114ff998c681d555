import {
    BlockHeader,
    DataHandlerContext,
    EvmBatchProcessor,
    EvmBatchProcessorFields,
    Log as _Log,
    Transaction as _Transaction,
} from '@subsquid/evm-processor'
import * as erc20 from './abi/erc20'

export const CONTRACT_ADDRESS = process.env.ERC20_ADDRESS!.toLowerCase()

export const processor = new EvmBatchProcessor()
    .setRpcEndpoint({
        url: process.env.RPC_ETH_HTTP!,
        // The processor paces itself; a provider's plan sets the figure (every call of a batch counts).
        rateLimit: process.env.RPC_RATE_LIMIT ? Number(process.env.RPC_RATE_LIMIT) : undefined,
    })
    .setFinalityConfirmation(10)
    .setFields({
        log: {
            transactionHash: true,
        },
    })
    .setBlockRange({
        from: Number(process.env.START_BLOCK),
    })
    .addLog({
        address: [CONTRACT_ADDRESS],
        topic0: [erc20.events.Transfer.topic],
    })

export type Fields = EvmBatchProcessorFields<typeof processor>
export type Block = BlockHeader<Fields>
export type Log = _Log<Fields>
export type Transaction = _Transaction<Fields>
export type ProcessorContext<Store> = DataHandlerContext<Store, Fields>
