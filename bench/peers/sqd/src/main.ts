import {TypeormDatabase} from '@subsquid/typeorm-store'
import {Transfer} from './model'
import * as erc20 from './abi/erc20'
import {processor, CONTRACT_ADDRESS} from './processor'

processor.run(new TypeormDatabase({supportHotBlocks: true}), async (ctx) => {
    const transfers: Transfer[] = []
    for (let block of ctx.blocks) {
        for (let log of block.logs) {
            if (log.address === CONTRACT_ADDRESS && log.topics[0] === erc20.events.Transfer.topic) {
                let {from, to, value} = erc20.events.Transfer.decode(log)
                transfers.push(new Transfer({
                    id: log.id,
                    from,
                    to,
                    value,
                    blockNumber: block.header.height,
                    logIndex: log.logIndex,
                    txHash: log.transactionHash,
                }))
            }
        }
    }
    await ctx.store.insert(transfers)
})
